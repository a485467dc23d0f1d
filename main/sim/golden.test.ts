// Golden for a small scenario: per file a short SHA-256, line count, per-event counts and the
// first lines, plus truth.json in full. Any change of the simulator's output shows up here as a
// readable diff; rewrite deliberately with VCPUSCOPE_UPDATE_GOLDENS=1.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from './index.ts';

const GOLDEN = join(import.meta.dirname, 'testdata', 'lock-holder-preemption-cosched-0.1s-seed1.golden.json');

test('golden: lock-holder-preemption, cosched, 0.1 s, seed 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vcpuscope-simgold-'));
  try {
    await generate({ out: dir, scenario: 'lock-holder-preemption', policy: 'cosched', seconds: 0.1, seed: 1 });
    const files: Record<string, unknown> = {};
    for (const f of readdirSync(dir).sort()) {
      const bytes = readFileSync(join(dir, f));
      if (f === 'truth.json') {
        files[f] = JSON.parse(bytes.toString('utf8'));
        continue;
      }
      const lines = bytes.toString('latin1').split('\n').filter((l) => l.length > 0);
      const body = lines.filter((l) => !l.startsWith('#'));
      const counts: Record<string, number> = {};
      for (const l of body) {
        const m = /: ([a-z_]+): /.exec(l);
        const k = m ? m[1]! : '?';
        counts[k] = (counts[k] ?? 0) + 1;
      }
      files[f] = {
        sha256: createHash('sha256').update(bytes).digest('hex').slice(0, 16),
        bytes: bytes.length,
        lines: lines.length,
        counts: Object.fromEntries(Object.entries(counts).sort()),
        head: lines.slice(0, 20),
      };
    }
    const actual = JSON.parse(JSON.stringify(files)) as unknown;
    if (process.env.VCPUSCOPE_UPDATE_GOLDENS === '1' || !existsSync(GOLDEN)) {
      writeFileSync(GOLDEN, `${JSON.stringify(actual, null, 1)}\n`);
      if (process.env.VCPUSCOPE_UPDATE_GOLDENS !== '1') assert.fail(`golden ${GOLDEN} was missing and has been written: check it and commit`);
    }
    assert.deepEqual(actual, JSON.parse(readFileSync(GOLDEN, 'utf8')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
