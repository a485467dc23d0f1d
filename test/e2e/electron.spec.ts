// Electron smoke test: the packaged-shape app (dist/app/main.js) opens a real trace and shows rows,
// with the security settings in force. Runs only where an Electron binary exists; here (installed
// with ELECTRON_SKIP_BINARY_DOWNLOAD=1) it skips and says why.
import { _electron as electron, expect, test } from '@playwright/test';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ARTIFACTS, ROOT } from './serve-helper.ts';

function electronBinary(): string | null {
  try {
    const p = createRequire(import.meta.url)('electron') as unknown;
    return typeof p === 'string' && existsSync(p) ? p : null;
  } catch {
    return null;
  }
}

const binary = electronBinary();

test('Electron: opens a trace from the command line, sandboxed renderer without Node', async () => {
  test.skip(binary === null, 'no Electron binary installed (node_modules/electron was installed with ELECTRON_SKIP_BINARY_DOWNLOAD=1): Electron smoke test skipped');
  const trace = join(ROOT, 'main/formats/ftrace-text/testdata/schedmix-1s/trace.dat');
  const app = await electron.launch({ executablePath: binary!, args: [join(ROOT, 'dist', 'app', 'main.js'), trace] });
  try {
    const win = await app.firstWindow();
    await expect(win.getByTestId('event-table').locator('.table-row').first()).toContainText(/sched_/, { timeout: 60_000 });
    // the page has no Node and only the contract bridge
    expect(await win.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');
    expect(await win.evaluate(() => Object.keys((window as unknown as { vcpuscope: object }).vcpuscope).sort())).toEqual(
      ['call', 'dropFiles', 'initialGuests', 'initialPaths', 'onMenu', 'onOpenPaths', 'pickFiles', 'startupLoad'],
    );
    expect(await win.evaluate(() => typeof (globalThis as { process?: unknown }).process)).toBe('undefined');
    // navigation away is blocked
    await win.evaluate(() => {
      window.location.href = 'https://example.com/';
    });
    await win.waitForTimeout(500);
    expect(win.url()).toMatch(/^file:/);
    await win.screenshot({ path: join(ARTIFACTS, 'electron.png') });
  } finally {
    await app.close();
  }
});
