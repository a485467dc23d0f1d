// The drawn range from @tanstack/react-virtual's Virtualizer over a moving window: every visible
// row (and one beyond each edge) at any position of a 100M-row table, the window bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RowRange, WINDOW_ROWS, windowBase } from './row-range.ts';

const H = 22;
const VIEW = 660; // 30 rows

function check(r: RowRange, first: number, rows: number): void {
  const d = r.range(first, rows, H, VIEW);
  const top = Math.floor(first);
  const lastVisible = Math.min(rows - 1, Math.ceil(first + VIEW / H) - 1);
  assert.ok(d.first <= top && d.first >= Math.max(0, top - 1), `first ${d.first} for ${first}`);
  const end = d.first + d.count - 1;
  assert.ok(end >= lastVisible && end <= Math.min(rows - 1, lastVisible + 1), `last ${end} for ${first} (visible to ${lastVisible})`);
}

test('every visible row is drawn, at most one more at each edge, anywhere in 100M rows', () => {
  const r = new RowRange();
  const rows = 100_000_000;
  for (const f of [0, 0.5, 1, 29.99, 2047.3, 2048, 4095.5, 4096, 123_456.25, 50_000_000, rows - 31, rows - 30]) check(r, f, rows);
  let x = 7;
  for (let i = 0; i < 2000; i++) {
    x = (x * 48271) % 2147483647;
    check(r, (x / 2147483647) * (rows - 30), rows);
  }
  // scrolling one pixel at a time through window moves
  for (let f = 2000; f < 2100; f += 1 / H) check(r, f, rows);
});

test('small tables, the end of the table, an empty table', () => {
  const r = new RowRange();
  check(r, 0, 10);
  assert.deepEqual(r.range(0, 10, H, VIEW), { first: 0, count: 10 });
  check(r, 970, 1000);
  assert.deepEqual(r.range(0, 0, H, VIEW), { first: 0, count: 0 });
  check(r, 5, 100);
});

test('the window never holds more than WINDOW_ROWS items and always holds the first row', () => {
  for (const f of [0, 1, 2047, 2048, 3000, 99_999_999]) {
    const b = windowBase(f, 100_000_000, WINDOW_ROWS);
    assert.ok(b <= f && f < b + WINDOW_ROWS, `${f} in [${b}, ${b + WINDOW_ROWS})`);
  }
});
