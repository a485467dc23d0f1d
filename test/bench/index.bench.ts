// Ingest benchmark (issue 2 targets): generates >= 1 GB of tracefs text from a real recording
// (gen-text.ts), then in fresh child processes running the bundled CLI (dist/cli.js):
//   1. `vcpuscope index FILE` from scratch: wall time -> MB/s and events/s; peak RSS of the process
//      (all threads: workers included) from process.resourceUsage().maxRSS;
//   2. `vcpuscope index FILE` again (cache valid): time to the first summary (open = identity check +
//      meta + Arrow footer, no event read); 3. `vcpuscope stats FILE --json` (adds the model's
//      stats extension, which reads the events).
// Env: VCPUSCOPE_BENCH_BYTES (default 1.1e9), VCPUSCOPE_BENCH_SOURCE (the recording to splice).
// The generated file is in the page cache when indexing starts (warm read), as after a copy.

import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchContext } from './bench-types.ts';
import { generateTracefsText } from './gen-text.ts';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI_URL = pathToFileURL(path.join(root, 'dist', 'cli.js')).href;

interface ChildResult {
  code: number;
  ms: number;
  /** CPU time of all the child's threads (user + system) during the command. */
  cpuMs: number;
  maxRssKiB: number;
  stdout: string;
  wallMs: number;
}

/** Run the bundled CLI in a fresh process and time the command inside it (no node startup). */
function runChild(args: string[]): ChildResult {
  const script = `
const { runCli } = await import(${JSON.stringify(CLI_URL)});
let out = '';
const stdout = { write(s) { out += s; return true; }, isTTY: false };
const u0 = process.resourceUsage();
const t0 = performance.now();
const code = await runCli(${JSON.stringify(args)}, { stdout, stderr: process.stderr, env: process.env });
const ms = performance.now() - t0;
const u1 = process.resourceUsage();
const cpuMs = (u1.userCPUTime - u0.userCPUTime + u1.systemCPUTime - u0.systemCPUTime) / 1000;
process.stdout.write(JSON.stringify({ code, ms, cpuMs, maxRssKiB: u1.maxRSS, stdout: out }));
`;
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
  const parsed = JSON.parse(r.stdout) as Omit<ChildResult, 'wallMs'>;
  if (parsed.code !== 0) throw new Error(`vcpuscope ${args.join(' ')} exited ${parsed.code}: ${r.stderr}`);
  return { ...parsed, wallMs };
}

export default async function indexBench(ctx: BenchContext): Promise<void> {
  const target = Number(process.env.VCPUSCOPE_BENCH_BYTES ?? 1.1e9);
  const file = path.join(ctx.tmpDir, 'bench-tracefs.txt');
  const cacheDir = path.join(ctx.tmpDir, 'cache');
  const g0 = performance.now();
  const gen = generateTracefsText(file, target);
  ctx.log(`generated ${(gen.bytes / 1e6).toFixed(0)} MB, ${gen.lines} lines (${gen.copies} copies of ${gen.source}) in ${((performance.now() - g0) / 1000).toFixed(1)} s`);

  const idx = runChild(['index', file, '--cache-dir', cacheDir, '--quiet']);
  const reopen = runChild(['index', file, '--cache-dir', cacheDir, '--quiet']);
  const reopen2 = runChild(['index', file, '--cache-dir', cacheDir, '--quiet']);
  const statsRun = runChild(['stats', file, '--cache-dir', cacheDir, '--json']);
  const stats = JSON.parse(statsRun.stdout) as { events: number };
  const secs = idx.ms / 1000;
  const mbps = gen.bytes / 1e6 / secs;
  const rssMB = idx.maxRssKiB / 1024;
  const budgetMB = 200 + (40 * stats.events) / 2 ** 20;
  ctx.log(`index from scratch: ${secs.toFixed(2)} s for ${(gen.bytes / 1e6).toFixed(0)} MB, ${stats.events} events -> ${mbps.toFixed(0)} MB/s, ${(stats.events / secs / 1e6).toFixed(2)} M events/s (target >= 350 MB/s)`);
  // CPU time is much less sensitive than wall time to other load on the shared machine.
  const perCpuSec = gen.bytes / 1e6 / (idx.cpuMs / 1000);
  ctx.log(`CPU time of the indexing process: ${(idx.cpuMs / 1000).toFixed(2)} s -> ${perCpuSec.toFixed(0)} MB per CPU-second (2 idle cores: <= ${(2 * perCpuSec).toFixed(0)} MB/s); machine load ${os.loadavg()[0]!.toFixed(1)}`);
  ctx.log(`peak RSS while indexing: ${rssMB.toFixed(0)} MiB (budget 200 MiB + 40 B/event = ${budgetMB.toFixed(0)} MiB)`);
  ctx.log(`re-open from cache to first summary: ${reopen.ms.toFixed(0)} ms, again ${reopen2.ms.toFixed(0)} ms (target <= 500 ms; whole process incl. node start ${reopen.wallMs.toFixed(0)} ms)`);
  ctx.log(`stats --json from cache (summary + model extension reading the events): ${statsRun.ms.toFixed(0)} ms`);
}
