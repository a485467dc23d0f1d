// Scaled scroll mapping at 100M rows: ends exact, monotonic, round trip within one row, spacer capped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clampFirstRow, makeScrollMap, maxFirstRow, revealFirstRow, revealRow, rowToScrollTop, scrollTopToRow, SPACER_CAP_PX, wheelRows } from './scroll-map.ts';

const ROWS = 100_000_000;
const H = 22;
const VIEW = 660; // 30 rows

test('100M rows: spacer stays under the Chromium cap and scrolling is scaled', () => {
  const m = makeScrollMap(ROWS, H, VIEW);
  assert.equal(m.scaled, true);
  assert.equal(m.spacerPx, SPACER_CAP_PX);
  assert.ok(m.spacerPx < 33_554_428);
});

test('100M rows: top shows row 0, bottom shows the last row at the bottom edge', () => {
  const m = makeScrollMap(ROWS, H, VIEW);
  assert.equal(scrollTopToRow(m, 0), 0);
  const last = scrollTopToRow(m, m.spacerPx - VIEW);
  assert.equal(last, ROWS - VIEW / H);
  assert.equal(Math.floor(last) + Math.ceil(VIEW / H) - 1, ROWS - 1);
  // past the end clamps
  assert.equal(scrollTopToRow(m, 1e12), last);
});

test('100M rows: rowToScrollTop and scrollTopToRow round-trip within a row, and are monotonic', () => {
  const m = makeScrollMap(ROWS, H, VIEW);
  let prev = -1;
  for (const row of [0, 1, 2, 12_345, 49_999_999, 50_000_000, 77_777_777, maxFirstRow(m) - 1, maxFirstRow(m)]) {
    const top = rowToScrollTop(m, row);
    assert.ok(top >= prev, `monotonic at row ${row}`);
    prev = top;
    assert.ok(Math.abs(scrollTopToRow(m, top) - row) < 1e-3, `round trip at row ${row}`);
  }
  // one pixel of scroll moves about rows-per-pixel rows, never backwards
  const a = scrollTopToRow(m, 1000);
  const b = scrollTopToRow(m, 1001);
  assert.ok(b > a && b - a < ROWS / (SPACER_CAP_PX - VIEW) + 1);
});

test('small tables are not scaled: one row per row height', () => {
  const m = makeScrollMap(1000, H, VIEW);
  assert.equal(m.scaled, false);
  assert.equal(m.spacerPx, 1000 * H);
  assert.equal(scrollTopToRow(m, 220), 10);
  assert.equal(rowToScrollTop(m, 10), 220);
});

test('revealRow scrolls only when the row is outside the viewport', () => {
  const m = makeScrollMap(ROWS, H, VIEW);
  assert.equal(revealRow(m, 100, 110), null);
  const down = revealRow(m, 100, 200)!;
  assert.ok(Math.abs(scrollTopToRow(m, down) - (200 - 29)) < 1e-3);
  const up = revealRow(m, 100, 50)!;
  assert.ok(Math.abs(scrollTopToRow(m, up) - 50) < 1e-3);
});

test('the wheel moves rows by its own pixels (lines are rows, pages a viewport less a row); reveals give a first row', () => {
  const m = makeScrollMap(ROWS, H, VIEW);
  assert.equal(wheelRows(m, 66, 0), 3);
  assert.equal(wheelRows(m, -22, 0), -1);
  assert.equal(wheelRows(m, 3, 1), 3);
  assert.equal(wheelRows(m, 1, 2), 29);
  assert.equal(wheelRows(m, NaN, 0), 0);
  // a notch (100 px) is under 5 rows, where the scaled scrollbar's 100 px are hundreds of rows
  assert.ok(wheelRows(m, 100, 0) < 5);
  assert.ok(scrollTopToRow(m, 100) > 500);
  assert.equal(clampFirstRow(m, -3), 0);
  assert.equal(clampFirstRow(m, 1e12), maxFirstRow(m));
  assert.equal(revealFirstRow(m, 100, 110), null);
  assert.equal(revealFirstRow(m, 100, 200), 200 - 29);
  assert.equal(revealFirstRow(m, 100, 50), 50);
  assert.equal(revealFirstRow(m, 0, ROWS - 1), ROWS - 30); // the last row at the bottom edge
});
