// `npm run fuzz -- [--seconds N] [--seed S] [--iterations K] [--timeout-ms T] [--corpus DIR]`
// Long runs: `npm run fuzz -- --seconds 3600 --seed $RANDOM`. Failing inputs go to the corpus
// folder (default test/fuzz/corpus-failures) with a .txt naming the seed file and mutation.

import * as path from 'node:path';
import { REPO_ROOT, collectSeeds, fuzz } from './fuzz-core.ts';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v)) {
    console.error(`--${name} expects a number`);
    process.exit(2);
  }
  return v;
}
function strArg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

const seconds = arg('seconds', 60);
const seed = arg('seed', 1);
const seeds = collectSeeds();
console.error(`fuzz: ${seeds.length} seed files, seed ${seed}, ${seconds} s`);
let last = Date.now();
const report = await fuzz(seeds, {
  seed,
  seconds,
  iterations: arg('iterations', Number.MAX_SAFE_INTEGER),
  timeoutMs: arg('timeout-ms', 15000),
  fullEvery: arg('full-every', 10),
  corpusDir: path.resolve(strArg('corpus', path.join(REPO_ROOT, 'test', 'fuzz', 'corpus-failures'))),
  maxOldGenerationSizeMb: arg('max-heap-mb', 1024),
  log: (l) => {
    console.error(l);
    last = Date.now();
  },
});
void last;
console.log(JSON.stringify({ inputs: report.inputs, parsed: report.parsed, rejected: report.rejected, failures: report.failures.length, byFormat: report.byFormat }));
process.exitCode = report.failures.length ? 1 : 0;
