// Micro-benchmark of the bare ftrace text parser (no index, no cache): generates a big tracefs
// text by concatenating copies of a real recording with shifted timestamps (not committed), then
// reads it with plan + readUnit into a column sink that is reset per chunk, and prints MB/s.
// `npm run bench ftrace-text` (a bench module, bench-types.ts), or directly:
//   npx tsx test/bench/ftrace-text.bench.ts [SOURCE_TRACEFS_TXT] [TARGET_MB]
// Env: FTRACE_BENCH_FILE=/tmp/x.txt chooses where the generated file goes (kept and reused);
// without it the file goes into the bench's temp folder. FTRACE_BENCH_MB (default 500) its size.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './bench-types.ts';
import { FileSource } from '../../main/engine/io/byte-source.ts';
import { EventColumnsBuilder } from '../../main/engine/index/event-columns.ts';
import { DiagnosticCollector } from '../../main/engine/index/diagnostics.ts';
import { ftraceText } from '../../main/formats/ftrace-text/index.ts';

const DEFAULT_SOURCE = '/tmp/rec/single-schedmix/tracefs.txt';

function generate(source: string, out: string, targetMb: number): void {
  const text = fs.readFileSync(source, 'latin1');
  const lines = text.split('\n').filter((l) => l.length > 0 && !l.startsWith('#'));
  const tsRe = /(\] [^ ]* +| )(\d+)\.(\d+):/;
  const first = tsRe.exec(lines[0]!);
  const last = tsRe.exec(lines[lines.length - 1]!);
  if (!first || !last) throw new Error(`${source}: no timestamps found`);
  const spanSecs = Number(last[2]) - Number(first[2]) + 1;
  const fd = fs.openSync(`${out}.tmp`, 'w');
  fs.writeSync(fd, text.slice(0, text.indexOf(lines[0]!)));
  let written = 0;
  for (let copy = 0; written < targetMb * 1e6; copy++) {
    const shift = copy * spanSecs;
    const chunk = lines.map((l) => l.replace(tsRe, (_m, pre: string, s: string, f: string) => `${pre}${Number(s) + shift}.${f}:`)).join('\n') + '\n';
    fs.writeSync(fd, chunk, null, 'latin1');
    written += chunk.length;
  }
  fs.closeSync(fd);
  fs.renameSync(`${out}.tmp`, out);
}

/**
 * Reference measured in the same process right before each round: read the file in 8 MiB chunks
 * and touch every byte once in a JS loop (a "bare byte-scanning parser"). The machine is shared,
 * so the ratio parser/reference says more than either number alone.
 */
function referenceMbPerSec(path: string): string {
  const fd = fs.openSync(path, 'r');
  const buf = new Uint8Array(8 << 20);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let pos = 0;
  let colons = 0;
  for (;;) {
    const n = fs.readSync(fd, buf, 0, buf.length, pos);
    if (n === 0) break;
    pos += n;
    for (let i = 0; i < n; i++) if (buf[i] === 0x3a) colons++;
  }
  fs.closeSync(fd);
  if (colons < 0) console.log(colons);
  const cpu = process.cpuUsage(cpu0);
  const wall = pos / 1e6 / ((performance.now() - t0) / 1000);
  return `${wall.toFixed(0)} MB/s (${(pos / 1e6 / ((cpu.user + cpu.system) / 1e6)).toFixed(0)} MB per CPU-second)`;
}

export default async function ftraceTextBench(ctx: BenchContext, opts: { source?: string; targetMb?: number } = {}): Promise<void> {
  const source = opts.source ?? DEFAULT_SOURCE;
  const targetMb = opts.targetMb ?? Number(process.env.FTRACE_BENCH_MB ?? 500);
  const out = process.env.FTRACE_BENCH_FILE ?? path.join(ctx.tmpDir, `ftrace-text-bench-${targetMb}mb.txt`);
  if (!fs.existsSync(source)) {
    ctx.log(`skipped: no source recording ${source} (record one with /work/shared/tools/record)`);
    return;
  }
  if (!fs.existsSync(out)) {
    ctx.log(`generating ${out} (${targetMb} MB) from ${source} ...`);
    generate(source, out, targetMb);
  }
  const src = new FileSource(out);
  const diag = new DiagnosticCollector(out);
  const sink = new EventColumnsBuilder(1 << 16);
  for (let round = 0; round < 3; round++) {
    const ref = referenceMbPerSec(out);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const plan = ftraceText.plan(src, diag, { unitBytes: 64 * 1024 * 1024 });
    let events = 0;
    for (let u = 0; u < plan.units.length; u++) {
      ftraceText.readUnit(src, plan, u, sink, diag, { cancelled: false }, () => {
        events += sink.length;
        sink.reset();
      });
    }
    events += sink.length;
    sink.reset();
    const secs = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSecs = (cpu.user + cpu.system) / 1e6;
    const mb = src.sizeBytes / 1e6;
    ctx.log(
      `round ${round}: ${mb.toFixed(0)} MB, ${events} events in ${secs.toFixed(2)} s = ${(mb / secs).toFixed(0)} MB/s, ` +
        `${(events / secs / 1e6).toFixed(2)} M events/s (1 thread; diagnostics ${diag.total}); ` +
        `per CPU-second ${(mb / cpuSecs).toFixed(0)} MB; ` +
        `reference byte loop ${ref}`,
    );
  }
  src.close();
}

// Run directly (npx tsx test/bench/ftrace-text.bench.ts [SOURCE] [MB]): the file goes to /tmp and is kept.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const targetMb = Number(process.argv[3] ?? 500);
  await ftraceTextBench({ tmpDir: '/tmp', log: (l) => console.log(l) }, { source: process.argv[2] ?? DEFAULT_SOURCE, targetMb });
}
