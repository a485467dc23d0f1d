// Runs every *.test.ts under shared/, main/, renderer/, test/ (not test/e2e) with Node's test
// runner through tsx. Extra arguments are passed as file filters (substring match).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['shared', 'main', 'renderer', 'test', 'scripts'];
const files = [];
function walk(dir) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'dist' || p === join('test', 'e2e')) continue;
    const st = statSync(p);
    if (st.isDirectory()) walk(p);
    else if (name.endsWith('.test.ts')) files.push(p);
  }
}
for (const r of roots) walk(r);
const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const selected = filters.length ? files.filter((f) => filters.some((x) => f.includes(x))) : files;
selected.sort();
if (selected.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const reporter = process.env.VCPUSCOPE_TEST_REPORTER ?? 'spec';
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-reporter=${reporter}`, '--test-concurrency=2', ...selected],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
