// Open a real trace.dat in browser mode: rows, timeline, details with the original record.
import { expect, test } from '@playwright/test';
import { join } from 'node:path';
import { ARTIFACTS, serve, type Served } from './serve-helper.ts';

const TRACE = '/tmp/rec/single-schedmix/trace.dat';
let s: Served;
test.beforeAll(async () => {
  s = await serve([TRACE]);
});
test.afterAll(async () => {
  await s?.stop();
});

test('opens a real trace and shows rows, lanes and the original record', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(s.url);
  const table = page.getByTestId('event-table');
  await expect(table.locator('.table-row').first()).toContainText(/sched_/, { timeout: 60_000 });
  await expect(page.getByTestId('count')).toContainText('82,162 events');
  // the timeline drew runs on both CPUs
  await expect(page.locator('.timeline canvas')).not.toHaveAttribute('data-segments', '0');
  await table.locator('.table-row').nth(3).click();
  await expect(page.getByTestId('record')).not.toHaveText('…');
  await expect(page.getByTestId('record')).toContainText(/^sched_\w+: \w+=/);
  await page.screenshot({ path: join(ARTIFACTS, 'open-trace-dat.png') });
  expect(errors).toEqual([]);
});
