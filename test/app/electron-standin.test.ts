// The Electron layer without Electron (no Electron runtime can be installed on the build machines):
// the real main bundle (dist/app/main.js) runs against a stand-in for Electron's main-process API
// (test/app/standin/fake-electron.mjs), the real preload bundle against a stand-in renderer, and the
// real engine bundle in a child process with Electron's parentPort modelled over IPC. Two runs of
// the app share one user-data folder: the second must restore what the first saved. What this
// cannot check: Electron itself (its sandbox, contextBridge cloning, real windows and menus); the
// Electron smoke test in test/e2e/electron.spec.ts does, where a binary exists.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const STANDIN = path.join(ROOT, 'test', 'app', 'standin');

interface StandinResult {
  phase: number;
  rowCount: number;
  checks: string[];
  callAfterCrash?: string;
}

function runApp(cfg: Record<string, unknown>): StandinResult {
  const r = spawnSync(process.execPath, ['--import', path.join(STANDIN, 'register.mjs'), path.join(STANDIN, 'driver.mjs'), JSON.stringify(cfg)], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, VCPUSCOPE_CACHE_DIR: String(cfg.cacheDir) },
  });
  assert.equal(r.status, 0, `the stand-in run ${String(cfg.phase)} failed (status ${r.status}, signal ${r.signal}):\n${r.stderr}\n${r.stdout}`);
  const line = r.stdout.split('\n').find((l) => l.startsWith('STANDIN-RESULT '));
  assert.ok(line, `no result line:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(line.slice('STANDIN-RESULT '.length)) as StandinResult;
}

test('Electron main + preload + engine bundles, on a stand-in for Electron: window, security, IPC, engine RPCs, menu, drops, state, crash, shutdown', { timeout: 600_000 }, () => {
  for (const f of ['dist/app/main.js', 'dist/app/preload.cjs', 'dist/engine-process.js', 'dist/renderer/index.html'])
    assert.ok(fs.existsSync(path.join(ROOT, f)), `${f} is missing: run npm run build first`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-standin-'));
  try {
    // A real two-layer recording (test/model/fixtures, see its README) and a second, unrelated trace.
    const host = path.join(tmp, 'host.report.txt');
    const guest = path.join(tmp, 'guest.tracefs.txt');
    const other = path.join(tmp, 'other.txt');
    fs.writeFileSync(host, gunzipSync(fs.readFileSync(path.join(ROOT, 'test/model/fixtures/host.report.cut.txt.gz'))));
    fs.writeFileSync(guest, gunzipSync(fs.readFileSync(path.join(ROOT, 'test/model/fixtures/guest_tracefs.cut.txt.gz'))));
    const never = path.join(tmp, 'never-chosen.txt');
    fs.copyFileSync(path.join(ROOT, 'main/formats/ftrace-text/testdata/report-raw.txt'), other);
    fs.copyFileSync(path.join(ROOT, 'main/formats/ftrace-text/testdata/report-raw.txt'), never);
    const userData = path.join(tmp, 'user-data');
    fs.mkdirSync(userData);
    const common = { userData, cacheDir: path.join(tmp, 'cache'), files: [host, guest, other, never], argv: [host, guest] };

    const first = runApp({ ...common, phase: 1, bounds: { x: 5, y: 6, width: 1234, height: 777 } });
    assert.ok(first.checks.length >= 15, `phase 1 ran ${first.checks.length} checks: ${first.checks.join('; ')}`);
    assert.ok(first.rowCount > 1000);
    // After the engine process died, a later call must be answered (a new engine, or an error), not hang.
    assert.notEqual(first.callAfterCrash, 'hung', 'a call after an engine crash never got an answer');

    const second = runApp({ ...common, phase: 2, bounds: { x: 50, y: 60, width: 1000, height: 600 }, restored: { x: 5, y: 6, width: 1234, height: 777 }, recentFromPhase1: fs.realpathSync(other) });
    for (const c of ['the window opens with the saved bounds', 'a recent file (dropped in the previous run) is granted again', 'closing the last window stops the engine and quits', 'menu: File (Open…, Open Recent, Close, Export view…), View, Help'])
      assert.ok(second.checks.includes(c), `phase 2 did not check: ${c}`);
    assert.equal(second.rowCount, first.rowCount, 'the same session from the cache in the second run');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
