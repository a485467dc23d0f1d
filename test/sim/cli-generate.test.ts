// `vcpuscope generate` through the CLI dispatcher: exit statuses, folder rule, --size parsing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { runCli } from '../../main/cli/main.ts';
import type { CliIo } from '../../main/cli/command.ts';

function io(): { io: CliIo; out: () => string; err: () => string } {
  const o = new PassThrough();
  const e = new PassThrough();
  let so = '';
  let se = '';
  o.on('data', (d: Buffer) => (so += d.toString()));
  e.on('data', (d: Buffer) => (se += d.toString()));
  return { io: { stdout: o as unknown as NodeJS.WriteStream, stderr: e as unknown as NodeJS.WriteStream, env: {} }, out: () => so, err: () => se };
}

test('generate: writes the files, refuses a non-empty folder (2), accepts --force, checks options', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vcpuscope-simcli-'));
  try {
    const a = io();
    assert.equal(await runCli(['generate', '--out', dir, '--scenario', 'pinned', '--seconds', '0.2', '--seed', '4', '--quiet'], a.io), 0, a.err());
    assert.match(a.out(), /wrote .*host\.txt, guest-rt\.txt, guest-batch\.txt, truth\.json/);
    const truth = JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8')) as { generator: { seed: number; scenario: string } };
    assert.deepEqual([truth.generator.scenario, truth.generator.seed], ['pinned', 4]);
    const b = io();
    assert.equal(await runCli(['generate', '--out', dir, '--seconds', '0.1'], b.io), 2);
    assert.match(b.err(), /not empty/);
    const c = io();
    assert.equal(await runCli(['generate', '--out', dir, '--seconds', '0.1', '--force', '--quiet'], c.io), 0, c.err());
    for (const bad of [['--policy', 'round-robin'], ['--size', '2 parsecs'], ['--scenario', 'nope'], ['--vcpus', 'x']]) {
      const d = io();
      assert.equal(await runCli(['generate', '--out', join(dir, 'sub'), ...bad], d.io), 2, `expected a usage error for ${bad.join(' ')}`);
    }
    const e = io();
    assert.equal(await runCli(['generate', '--out', join(dir, 'sized'), '--size', '300KB', '--quiet'], e.io), 0, e.err());
    const bytes = ['host.txt', 'guest-db.txt', 'guest-batch.txt'].reduce((s, f) => s + statSync(join(dir, 'sized', f)).size, 0);
    assert.ok(bytes >= 300_000 && bytes < 600_000, `--size 300KB wrote ${bytes} bytes`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('generate --clock-drift: truth.json records the drift and `stats --json` finds and applies it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vcpuscope-simcli-drift-'));
  try {
    const drift = 150_000;
    const a = io();
    assert.equal(await runCli(['generate', '--out', dir, '--scenario', 'noisy-neighbour', '--seconds', '4', '--seed', '7', '--clock-drift', String(drift), '--quiet'], a.io), 0, a.err());
    const truth = JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8')) as { hostFile: string; vms: { name: string; guestFile: string; guestDriftNsPerS?: number }[] };
    for (const v of truth.vms) assert.ok(v.guestDriftNsPerS !== undefined && Math.abs(v.guestDriftNsPerS - drift) < 100, `${v.name}: truth drift ${v.guestDriftNsPerS}`);
    const s = io();
    const files = [truth.hostFile, ...truth.vms.map((v) => v.guestFile)].map((f) => join(dir, f));
    assert.equal(await runCli(['stats', ...files, '--json', '--cache-dir', join(dir, 'cache')], s.io), 0, s.err());
    const stats = JSON.parse(s.out()) as { vms: { guestFile?: string; alignment?: { driftNsPerS?: number; driftApplied?: boolean } }[] };
    const paired = stats.vms.filter((v) => v.guestFile);
    assert.equal(paired.length, truth.vms.length);
    for (const v of paired) {
      const where = `${v.guestFile}: ${JSON.stringify(v.alignment)}`;
      assert.equal(v.alignment?.driftApplied, true, where);
      assert.ok(Math.abs(v.alignment.driftNsPerS! - drift) <= 0.1 * drift, where);
    }
    for (const bad of ['fast', '5000000']) {
      const d = io();
      assert.equal(await runCli(['generate', '--out', join(dir, 'bad'), '--clock-drift', bad, '--quiet'], d.io), 2, `expected a usage error for --clock-drift ${bad}`);
      assert.match(d.err(), /clock.drift/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
