// `npm run bench [NAME...]`: runs every test/bench/*.bench.ts module in sequence (or those whose
// file name contains one of the NAMEs), each with its own temp folder, and prints their numbers.
// Builds dist/ first (the index benchmark measures the bundled CLI, as users run it).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchFn } from '../test/bench/bench-types.ts';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = path.join(root, 'test', 'bench');
const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const modules = fs
  .readdirSync(benchDir)
  .filter((n) => n.endsWith('.bench.ts'))
  .filter((n) => filters.length === 0 || filters.some((f) => n.includes(f)))
  .sort();

const build = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

console.log(`vcpuscope bench: ${modules.length} module(s) on ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
let failed = 0;
for (const name of modules) {
  const label = name.replace(/\.bench\.ts$/, '');
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), `vcpuscope-bench-${label}-`));
  const log = (line: string): void => console.log(`[${label}] ${line}`);
  const t0 = performance.now();
  try {
    const mod = (await import(pathToFileURL(path.join(benchDir, name)).href)) as { default?: unknown };
    if (typeof mod.default !== 'function') {
      log('skipped: no default export (see test/bench/bench-types.ts)');
      continue;
    }
    await (mod.default as BenchFn)({ tmpDir, log });
    log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } catch (e) {
    failed++;
    log(`FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  } finally {
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
}
process.exit(failed ? 1 : 0);
