// A fixed-seed short fuzz run over every format's real fixtures: no crash, hang or OOM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { collectSeeds, fuzz } from './fuzz-core.ts';
import { mutate, Prng, MUTATIONS } from './mutate.ts';

test('mutations are deterministic for a seed and never modify the input', () => {
  // A Buffer, as fs.readFileSync returns: Buffer#slice is a view, so a careless copy would write through.
  const input = Buffer.from(new Uint8Array(10000).map((_, i) => i & 0xff));
  const copy = Uint8Array.from(input);
  for (const m of MUTATIONS) {
    const a = mutate(input, m, new Prng(7));
    const b = mutate(input, m, new Prng(7));
    assert.deepEqual(a, b, m);
  }
  assert.deepEqual(new Uint8Array(input), copy);
});

test('fixed-seed fuzz run over real fixtures finds no crash, hang or memory blow-up', { timeout: 300_000 }, async () => {
  const seeds = collectSeeds(2 * 1024 * 1024);
  assert.ok(seeds.length > 0, 'no seeds: testdata folders and ../shared/traces/public are both missing');
  const corpus = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-fuzz-corpus-'));
  const report = await fuzz(seeds, {
    seed: 20261125,
    iterations: Number(process.env.VCPUSCOPE_FUZZ_ITERATIONS ?? 400),
    seconds: 240,
    timeoutMs: 20000,
    fullEvery: 15,
    corpusDir: corpus,
    maxOldGenerationSizeMb: 1024,
    log: () => {},
  });
  assert.ok(report.inputs > 0);
  assert.ok(report.parsed > 0, 'no mutated input parsed at all: are the readers registered in main/formats/all.ts?');
  assert.deepEqual(
    report.failures.map((f) => `${f.input} (${f.mutation} of ${f.seedName}): ${f.reason.split('\n').slice(0, 3).join(' | ')}`),
    [],
  );
  fs.rmSync(corpus, { recursive: true, force: true });
});
