// Browser mode on a real committed trace.dat: rows, lanes, the original record, filter by a core
// and by a thread (chips, counts, rows obey), follow a thread (placement track), themes.
import { expect, test, type Page } from '@playwright/test';
import { join } from 'node:path';
import { ARTIFACTS, ROOT, serve, type Served } from './serve-helper.ts';

const TRACE = join(ROOT, 'main/formats/ftrace-text/testdata/schedmix-1s/trace.dat');
const EVENTS = '22,173'; // vcpuscope stats --json of the same file (see the fixture README)
let s: Served;
test.beforeAll(async () => {
  s = await serve([TRACE]);
});
test.afterAll(async () => {
  await s?.stop();
});

function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  return errors;
}

async function open(page: Page): Promise<void> {
  await page.goto(s.url);
  await expect(page.getByTestId('event-table').locator('.table-row').first()).toContainText(/sched_/, { timeout: 60_000 });
  await expect(page.getByTestId('count')).toHaveText(`${EVENTS} events`);
}

/** The text of one column for every row on screen. */
async function column(page: Page, cls: string): Promise<string[]> {
  return page.getByTestId('event-table').locator(`.table-row .${cls}`).allTextContents();
}

test('opens a real trace: rows, timeline lanes, original record of the selected row', async ({ page }) => {
  const errors = watchErrors(page);
  // The boot script (renderer/boot.ts) sends the initial open; the app adopts it and opens nothing again.
  await page.addInitScript(() => {
    const sent: string[] = ((window as unknown as { __sent: string[] }).__sent = []);
    const orig = WebSocket.prototype.send;
    WebSocket.prototype.send = function (d: Parameters<WebSocket['send']>[0]) {
      if (d instanceof Uint8Array) {
        const n = new DataView(d.buffer, d.byteOffset).getUint32(0, true);
        sent.push((JSON.parse(new TextDecoder().decode(d.subarray(4, 4 + n))) as { method: string }).method);
      }
      return orig.call(this, d);
    };
  });
  await open(page);
  const sent = (await page.evaluate(() => (window as unknown as { __sent: string[] }).__sent)) as string[];
  // (then sessionInfo, or more loadStatus polls while the trace is indexed to its first part)
  expect(sent.slice(0, 2)).toEqual(['open', 'loadStatus']);
  expect(sent.filter((m) => m === 'open')).toHaveLength(1);
  expect(await page.evaluate(() => typeof (window as unknown as { __vcpuscopeEarly?: unknown }).__vcpuscopeEarly)).toBe('object');
  await expect(page.locator('.timeline canvas')).not.toHaveAttribute('data-segments', '0');
  await page.getByTestId('event-table').locator('.table-row').nth(3).click();
  await expect(page.getByTestId('record')).toContainText(/^sched_\w+: \w+=/);
  await page.screenshot({ path: join(ARTIFACTS, 'open-trace-dat.png') });
  // Shift+click selects a range; Ctrl+C copies it as tab-separated rows
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  const times = await column(page, 'c-time');
  await page.getByTestId('event-table').locator('.table-row').nth(5).click({ modifiers: ['Shift'] });
  await page.getByTestId('event-table').press('Control+c');
  await expect(page.locator('.notice')).toContainText('Copied 3 rows');
  const copied = (await page.evaluate(() => navigator.clipboard.readText())).split('\n');
  expect(copied).toHaveLength(3);
  expect(copied.map((l) => l.split('\t')[0])).toEqual(times.slice(3, 6));
  expect(errors).toEqual([]);
});

test('filter by a core, then also by a thread: chips, counts and rows follow', async ({ page }) => {
  const errors = watchErrors(page);
  await open(page);
  const table = page.getByTestId('event-table');
  // the core of the third row on screen
  const cpu = (await column(page, 'c-cpu'))[2]!;
  await table.locator('.table-row').nth(2).click();
  await page.getByTestId('filter-cpu').click();
  await expect(page.getByTestId('chips')).toContainText(`core ${cpu}`);
  await expect(page.getByTestId('count')).toHaveText(new RegExp(`^[\\d,]+ of ${EVENTS} events$`));
  await expect(table.locator('.table-row .c-cpu').first()).toHaveText(cpu);
  expect(new Set(await column(page, 'c-cpu'))).toEqual(new Set([cpu]));
  const coreCount = Number((await page.getByTestId('count').textContent())!.split(' ')[0]!.replaceAll(',', ''));
  expect(coreCount).toBeLessThan(22173);

  // now a thread: pick a row whose thread is not idle
  const threads = await column(page, 'c-thread');
  const t = threads.findIndex((x) => !x.endsWith(':0'));
  await table.locator('.table-row').nth(t).click();
  const tid = threads[t]!.split(':').pop()!;
  await page.getByTestId('filter-thread').click();
  await expect(page.getByTestId('chips')).toContainText(`thread ${tid}`);
  await expect(async () => {
    const n = Number((await page.getByTestId('count').textContent())!.split(' ')[0]!.replaceAll(',', ''));
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(coreCount);
  }).toPass();
  // every row on screen is on that core and involves the thread (subject, waker, or previous task of a switch)
  for (const r of await table.locator('.table-row').all()) {
    await expect(r.locator('.c-cpu')).toHaveText(cpu);
    const text = `${await r.locator('.c-thread').textContent()} ${await r.locator('.c-details').textContent()}`;
    expect(text).toMatch(new RegExp(`(:|pid )${tid}\\b`));
  }
  await page.screenshot({ path: join(ARTIFACTS, 'filter-core-thread.png') });
  // removing the chips brings every row back
  await page.getByRole('button', { name: /remove filter thread/ }).click();
  await page.getByRole('button', { name: new RegExp(`remove filter core ${cpu}`) }).click();
  await expect(page.getByTestId('count')).toHaveText(`${EVENTS} events`);
  expect(errors).toEqual([]);
});

test('follow a thread from the search box: placement track, totals, highlighted runs', async ({ page }) => {
  const errors = watchErrors(page);
  await open(page);
  await page.getByTestId('thread-search').fill('schedmix');
  const hit = page.locator('.thread-search .hits button').first();
  await expect(hit).toBeVisible();
  await hit.click();
  const panel = page.getByTestId('follow-panel');
  await expect(panel).toContainText(/Following schedmix:\d+/);
  await expect(panel).toContainText(/runs \d+/);
  await expect(panel.getByTestId('placement-track').locator('canvas')).toBeVisible();
  const box = await panel.getByTestId('placement-track').locator('canvas').boundingBox();
  expect(box!.height).toBeGreaterThan(10);
  await page.screenshot({ path: join(ARTIFACTS, 'follow-thread.png') });
  // dark theme + larger font for a projector
  await page.getByTestId('theme').click();
  await page.getByRole('button', { name: 'A+' }).click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await page.screenshot({ path: join(ARTIFACTS, 'follow-thread-dark.png') });
  expect(errors).toEqual([]);
});

test('drag on the timeline selects a time range; it becomes a filter chip and the rows obey it', async ({ page }) => {
  const errors = watchErrors(page);
  await open(page);
  const canvas = page.locator('.timeline canvas');
  const box = (await canvas.boundingBox())!;
  // double-click shows that time in the table: later on the timeline = later row
  const selTime = async (): Promise<number> => Number(await page.getByTestId('event-table').locator('.table-row.selected .c-time').textContent());
  await canvas.dblclick({ position: { x: 110 + (box.width - 110) * 0.3, y: 10 } });
  await expect(page.getByTestId('event-table').locator('.table-row.selected')).toBeVisible();
  const t30 = await selTime();
  await canvas.dblclick({ position: { x: 110 + (box.width - 110) * 0.7, y: 10 } });
  await expect.poll(selTime).toBeGreaterThan(t30);
  expect(t30).toBeGreaterThan(0);
  // Raw mouse coordinates: measured again now (a status that came and went since would have moved a stale box).
  const at = (await canvas.boundingBox())!;
  const y = at.y + 40;
  await page.mouse.move(at.x + at.width * 0.4, y);
  await page.mouse.down();
  await page.mouse.move(at.x + at.width * 0.45, y, { steps: 5 });
  await page.mouse.move(at.x + at.width * 0.5, y, { steps: 5 });
  await page.mouse.up();
  await page.getByTestId('filter-selection').click();
  const chip = page.getByTestId('chips').locator('.chip', { hasText: /^time / });
  await expect(chip).toBeVisible();
  const [a, b] = (await chip.textContent())!.match(/[\d.]+/g)!.map(Number);
  await expect(page.getByTestId('count')).toHaveText(new RegExp(`^[\\d,]+ of ${EVENTS} events$`));
  // the new filter's rows arrive after its count (on a loaded machine the table was read while empty)
  await expect.poll(async () => (await column(page, 'c-time')).filter((x) => x.trim() !== '').length).toBeGreaterThan(0);
  const times = (await column(page, 'c-time')).filter((x) => x.trim() !== '').map(Number);
  expect(times.length).toBeGreaterThan(0);
  // a new filter starts at its first row
  await expect(page.getByTestId('event-table').locator('[aria-rowindex="1"]')).toBeVisible();
  for (const t of times) {
    expect(t).toBeGreaterThanOrEqual(a! - 1e-6);
    expect(t).toBeLessThan(b! + 1e-6);
  }
  await page.screenshot({ path: join(ARTIFACTS, 'time-range-filter.png') });
  expect(errors).toEqual([]);
});
