// A trace large enough that indexing takes a while (the 10M-event text trace big.spec.ts uses,
// indexed from scratch in a fresh cache folder): the first rows and timeline lanes are on screen
// while the progress bar and Cancel are still shown, the table grows, then the load completes and
// the whole trace is there. States only, no timing assertions.
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

/** The number in the count chip ("1,234 events (loading…)"). */
function countOf(text: string | null): number {
  const m = /^([\d,]+)/.exec(text ?? '');
  return m ? Number(m[1]!.replaceAll(',', '')) : -1;
}

test('rows and lanes show while indexing goes on, the table grows, then the load completes', async ({ page }) => {
  test.setTimeout(300_000);
  const cache = mkdtempSync(join(tmpdir(), 'vcpuscope-e2e-partial-'));
  const s = await serve([big.path], { VCPUSCOPE_CACHE_DIR: cache });
  try {
    await page.goto(s.url);
    // One instant where the indexing bar (progress + Cancel) and the first rows and lanes are all on screen.
    await page.waitForFunction(
      () => {
        const banner = document.querySelector('[data-testid="indexing-banner"]');
        const row = document.querySelector('[data-testid="event-table"] .table-row .c-event');
        const canvas = document.querySelector('.timeline canvas');
        return (
          !!banner &&
          !!banner.querySelector('[role="progressbar"]') &&
          !!banner.querySelector('[data-testid="cancel-load"]') &&
          !!row &&
          /sched_/.test(row.textContent ?? '') &&
          !!canvas &&
          Number(canvas.getAttribute('data-segments') ?? '0') > 0
        );
      },
      undefined,
      { timeout: 120_000, polling: 50 },
    );
    await page.screenshot({ path: join(ARTIFACTS, 'partial-load.png') });
    const explorer = page.locator('.explorer');
    const countChip = page.getByTestId('count');
    const first = countOf(await countChip.textContent());
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(big.events);
    // the table grows while indexing goes on (or the load is complete by now: then it has every row)
    await expect
      .poll(async () => ((await explorer.getAttribute('data-complete')) === 'true' ? big.events : countOf(await countChip.textContent())), { timeout: 120_000 })
      .toBeGreaterThan(first);
    // then the load completes: no bar, every event, the same table
    await expect(page.getByTestId('indexing-banner')).toBeHidden({ timeout: 280_000 });
    await expect(explorer).toHaveAttribute('data-complete', 'true');
    await expect(countChip).toHaveText(`${big.events.toLocaleString('en-US')} events`);
    await expect(page.getByTestId('event-table').locator('.table-row').first()).toContainText(/sched_/);
    await page.screenshot({ path: join(ARTIFACTS, 'partial-load-complete.png') });
  } finally {
    await s.stop();
    rmSync(cache, { recursive: true, force: true });
  }
});
