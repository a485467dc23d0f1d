// Two layers: host + two guest traces from the simulator (generated in setup, 2 s of the default
// scenario), opened together: host core lanes coloured by VM, guest vCPU lanes, the VM panel, and
// following a guest thread shows its vCPU and physical-core tracks with a steal total.
import { expect, test } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARTIFACTS, ROOT, serve, type Served } from './serve-helper.ts';

let s: Served;
let dir = '';
test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vcpuscope-e2e-sim-'));
  const g = spawnSync(process.execPath, [join(ROOT, 'bin', 'vcpuscope.mjs'), 'generate', '--out', dir, '--seconds', '2', '--seed', '1', '--force'], { encoding: 'utf8' });
  expect(g.status, g.stderr).toBe(0);
  const truth = JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8')) as { hostFile: string; vms: { guestFile: string; vcpus: { hostTid: number }[] }[] };
  const guestArgs = truth.vms.flatMap((vm) => ['--guest', `${join(dir, vm.guestFile)}@vm-${vm.vcpus[0]!.hostTid}`]);
  s = await serve([join(dir, truth.hostFile)], {}, guestArgs);
});
test.afterAll(async () => {
  await s?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('host + guests: VM model, core and vCPU lanes, follow a guest thread across both layers', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(s.url);
  await expect(page.getByTestId('event-table').locator('.table-row').first()).toContainText(/sched_/, { timeout: 60_000 });
  const vm = page.getByTestId('vm-panel');
  await expect(vm).toContainText(/Two-layer model: vm-\d+, vm-\d+/);
  await vm.locator('summary').click();
  await expect(vm).toContainText(/alignment \d+\.\d% of guest events/);
  // statistics: vCPU x core residency per VM (rows add up to 100 %), steal per guest thread
  await expect(vm.getByTestId('migration-rate').first().locator('.rate-bar.host')).toHaveCount(60);
  const heat = vm.getByTestId('residency').first();
  await expect(heat.locator('tbody tr')).toHaveCount(4);
  const firstRow = (await heat.locator('tbody tr').first().locator('td').allTextContents()).map((t) => Number(t.replace('%', '')));
  expect(Math.abs(firstRow.reduce((a, b) => a + b, 0) - 100)).toBeLessThanOrEqual(firstRow.length);
  await expect(vm.getByTestId('steal-histogram').first()).toContainText(/\d+(\.\d+)? (ms|s|µs) \(\d+% of its current time\)/);
  await page.getByTestId('thread-search').fill('lockbench');
  await page.locator('.thread-search .hits button').first().click();
  const panel = page.getByTestId('follow-panel');
  await expect(panel.getByTestId('steal')).toHaveText(/^steal \d/);
  await expect(panel).toContainText(/Migrations \(\d+\)/);
  // the placement track has vCPU rows and physical-core rows
  const h = (await panel.getByTestId('placement-track').locator('canvas').boundingBox())!.height;
  expect(h).toBeGreaterThan(40);
  await page.screenshot({ path: join(ARTIFACTS, 'two-layer-follow.png') });
  await vm.screenshot({ path: join(ARTIFACTS, 'two-layer-stats.png') });
  // follow a core: click the first lane's label (host core 0): chip + who ran on it, both layers
  const canvas = page.locator('.timeline canvas');
  const box = (await canvas.boundingBox())!;
  await page.mouse.click(box.x + 20, box.y + 32);
  await expect(page.getByTestId('chips')).toContainText('core 0');
  const core = page.getByTestId('core-panel');
  await expect(core).toContainText('Core 0');
  await expect(core.locator('.bar').first()).toContainText(/vm-\d+ \S+:\d+/);
  // with every panel open, the timeline still shows its (one) lane and the table some rows
  expect((await page.locator('.timeline').boundingBox())!.height).toBeGreaterThan(40);
  expect(await page.getByTestId('event-table').locator('.table-row').count()).toBeGreaterThan(3);
  await page.screenshot({ path: join(ARTIFACTS, 'two-layer-core.png') });
  expect(errors).toEqual([]);
});
