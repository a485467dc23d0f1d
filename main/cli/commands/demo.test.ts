// `vcpuscope demo --headless`: generates the default scenario into the cache folder, pairs both
// guests with their VMs, aligns clocks and prints the two-layer report; a second run reuses it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../main.ts';
import { captureIo, type CapturedIo } from '../test-io.ts';

const io = (): CapturedIo => captureIo();

test('demo --headless prints the two-layer report of the generated scenario, and reuses it', async () => {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-demo-test-'));
  try {
    const a = io();
    assert.equal(await runCli(['demo', '--headless', '--seconds', '0.5', '--cache-dir', cacheDir], a), 0, a.err());
    assert.match(a.err(), /generating 'lock-holder-preemption'/);
    const report = a.out();
    // Both VMs of the scenario, each paired with its guest trace and aligned automatically.
    const vms = report.match(/^VM vm-\d+: 4 vCPUs/gm) ?? [];
    assert.equal(vms.length, 2, report);
    assert.equal((report.match(/host = guest \+ -?\d+ ns \(auto; /g) ?? []).length, 2, report);
    assert.match(report, /co-scheduling/);
    assert.match(report, /lockbench/);
    const b = io();
    assert.equal(await runCli(['demo', '--headless', '--seconds', '0.5', '--cache-dir', cacheDir], b), 0, b.err());
    assert.doesNotMatch(b.err(), /generating/);
    assert.equal(b.out(), report);
    const c = io();
    assert.equal(await runCli(['demo', '--scenario', 'nope', '--cache-dir', cacheDir], c), 2);
    assert.match(c.err(), /unknown scenario 'nope'/);
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
});
