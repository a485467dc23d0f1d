// Scale: a ≥10M-event trace (the real fixture repeated with shifted timestamps, made in setup):
// cancel its first load, then open it, scroll to the very end and see the last event, jump to a time.
import { expect, test } from '@playwright/test';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBigTrace, type BigTrace } from './big-trace.ts';
import { ARTIFACTS, ROOT, serve } from './serve-helper.ts';

let big: BigTrace;
test.beforeAll(() => {
  const dir = join(ROOT, 'test-results', 'e2e-big');
  mkdirSync(dir, { recursive: true });
  big = makeBigTrace(dir, 10_000_000);
});

test.describe.configure({ mode: 'serial' });

test('cancel a load: the progress shows bytes and events, Cancel ends it and says so', async ({ page }) => {
  // a fresh cache folder: this load must index from scratch
  const cancelCache = mkdtempSync(join(tmpdir(), 'vcpuscope-e2e-cancel-'));
  const s = await serve([big.path], { VCPUSCOPE_CACHE_DIR: cancelCache });
  try {
    await page.goto(s.url);
    const loading = page.getByTestId('loading-state');
    await expect(loading).toBeVisible();
    await expect(loading).toContainText(/[1-9][\d,]* events/, { timeout: 30_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'loading-progress.png') });
    await page.getByTestId('cancel-load').click();
    await expect(page.getByTestId('empty-state')).toContainText('cancelled', { timeout: 30_000 });
    await expect(page.getByTestId('open-again')).toContainText(/Open big-\d+\.txt again/);
    await page.screenshot({ path: join(ARTIFACTS, 'load-cancelled.png') });
  } finally {
    await s.stop();
    rmSync(cancelCache, { recursive: true, force: true });
  }
});

test('scroll to the end of a 10M-event trace and see the last event; jump to a time', async ({ page }) => {
  test.setTimeout(240_000);
  const s = await serve([big.path]);
  try {
    await page.goto(s.url);
    const table = page.getByTestId('event-table');
    await expect(table.locator('.table-row').first()).toContainText(/sched_/, { timeout: 200_000 });
    // The first rows show while indexing goes on (partial-load.spec.ts): the whole trace once it ends.
    await expect(page.getByTestId('indexing-banner')).toBeHidden({ timeout: 200_000 });
    const total = big.events.toLocaleString('en-US');
    await expect(page.getByTestId('count')).toHaveText(`${total} events`);
    expect(big.events).toBeGreaterThanOrEqual(10_000_000);
    // the whole-trace timeline is drawn from a tile of the current view (level-of-detail pixels)
    const canvas = page.locator('.timeline canvas');
    await expect
      .poll(async () => canvas.evaluate((c: HTMLCanvasElement) => c.dataset.tile !== '' && c.dataset.tile === c.dataset.view && Number(c.dataset.segments) > 0), { timeout: 30_000 })
      .toBe(true);
    await page.locator('.timeline').screenshot({ path: join(ARTIFACTS, 'big-timeline-whole.png') });
    // the spacer stays under Chromium's element-height cap
    const scrollHeight = await table.evaluate((el) => el.scrollHeight);
    expect(scrollHeight).toBeLessThan(33_554_428);
    // drag the scrollbar to the bottom: the last row is on screen
    await table.evaluate((el) => (el.scrollTop = el.scrollHeight));
    const last = table.locator(`[aria-rowindex="${big.events}"]`);
    await expect(last).toBeVisible();
    await expect(last.locator('.c-time')).toHaveText(big.lastRelMs);
    const lastBox = (await last.boundingBox())!;
    const tableBox = (await table.boundingBox())!;
    expect(lastBox.y + lastBox.height).toBeLessThanOrEqual(tableBox.y + tableBox.height + 1);
    await page.screenshot({ path: join(ARTIFACTS, 'big-table-end.png') });
    // keyboard: Home then End selects the first and the last row
    await table.focus();
    await page.keyboard.press('Home');
    await expect(table.locator('[aria-rowindex="1"]')).toHaveClass(/selected/);
    await page.keyboard.press('End');
    await expect(last).toHaveClass(/selected/);
    // jump to the middle in time: the selected row's time is the first at or after it
    await page.getByTestId('jump').fill('662250');
    await page.getByTestId('jump').press('Enter');
    const sel = table.locator('.table-row.selected');
    await expect(sel.locator('.c-time')).not.toHaveText(big.lastRelMs);
    const t = Number(await sel.locator('.c-time').textContent());
    expect(t).toBeGreaterThanOrEqual(662250);
    expect(t).toBeLessThan(662250 + 10);
    // the row before it is earlier than the requested time
    const prevRow = Number(await sel.getAttribute('aria-rowindex')) - 1;
    const prev = table.locator(`[aria-rowindex="${prevRow}"] .c-time`);
    if (await prev.count()) expect(Number(await prev.textContent())).toBeLessThan(662250);
    await page.screenshot({ path: join(ARTIFACTS, 'big-table-jump.png') });
    // The wheel moves the rows by its own pixels (5 rows' worth: 5 rows), not by what the same
    // pixels of the scaled scrollbar would be (~70 rows each at 10M rows); the scrollbar follows.
    const rowH = (await table.locator('.table-row').first().boundingBox())!.height;
    const topRow = (): Promise<number> =>
      table.evaluate((el, h) => {
        const b = el.getBoundingClientRect();
        const r = document.elementFromPoint(b.left + 20, b.top + h / 2)?.closest('.table-row');
        return r ? Number(r.getAttribute('aria-rowindex')) : -1;
      }, rowH);
    const row0 = await topRow();
    const top0 = await table.evaluate((el) => el.scrollTop);
    const tb = (await table.boundingBox())!;
    await page.mouse.move(tb.x + 200, tb.y + 100);
    await page.mouse.wheel(0, 5 * rowH);
    await expect.poll(topRow).toBe(row0 + 5);
    const top1 = await table.evaluate((el) => el.scrollTop);
    expect(top1).toBeGreaterThan(top0);
    expect(top1 - top0).toBeLessThan(5 * rowH);
    await page.mouse.wheel(0, -5 * rowH);
    await expect.poll(topRow).toBe(row0);
  } finally {
    await s.stop();
  }
});
