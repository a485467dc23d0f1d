// Benchmark of the xentrace reader (no index, no cache). Builds a ~500 MB xentrace file in tmpDir by
// repeating the real recording's windows with TSCs shifted past the previous copy (not committed),
// then prints MB/s and records/s for: the planning pass alone; plan + every unit into a column sink
// reset after each window (the streaming indexer's shape); readInline (columns + sort) on 64 MB.
// Target (issue 7): >= 300 MB/s. Numbers are noisy on the shared 2-core machine.
// Standalone: npx tsx test/bench/xentrace.bench.ts [SOURCE.bin] [TARGET_MB]

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { FileSource } from '../../main/engine/io/byte-source.ts';
import { DiagnosticCollector } from '../../main/engine/index/diagnostics.ts';
import { EventColumnsBuilder } from '../../main/engine/index/event-columns.ts';
import { readInline } from '../../main/engine/index/read-inline.ts';
import { xentrace } from '../../main/formats/xentrace/index.ts';
import type { BenchContext } from './bench-types.ts';

const DEFAULT_SOURCE = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../shared/traces/public/vm-xentrace/xentrace-parser-rs_xentrace.bin');
const FALLBACK_SOURCE = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../main/formats/xentrace/testdata/xentrace-head.bin');

/** Write `targetBytes` of copies of `source` (whole windows), each copy's TSCs shifted past the last. */
function generate(source: Uint8Array, out: string, targetBytes: number): void {
  const dv = new DataView(source.buffer, source.byteOffset, source.byteLength);
  // TSC span of the source, to shift each copy after the previous one.
  let minTsc = Infinity;
  let maxTsc = 0;
  const walk = (visit: (recOffset: number, header: number) => void): void => {
    let pos = 0;
    while (pos + 12 <= source.length) {
      const size = dv.getUint32(pos + 8, true);
      const end = Math.min(source.length, pos + 12 + size);
      for (let r = pos + 12; r + 4 <= end; ) {
        const h = dv.getUint32(r, true);
        visit(r, h);
        r += 4 + (h >>> 31) * 8 + ((h >>> 28) & 7) * 4;
      }
      pos = end;
    }
  };
  walk((r, h) => {
    if (!(h >>> 31)) return;
    const t = dv.getUint32(r + 8, true) * 4294967296 + dv.getUint32(r + 4, true);
    if (t < minTsc) minTsc = t;
    if (t > maxTsc) maxTsc = t;
  });
  const span = maxTsc - minTsc + 1_000_000;
  const copy = new Uint8Array(source);
  const cdv = new DataView(copy.buffer);
  const fd = fs.openSync(`${out}.tmp`, 'w');
  try {
    for (let k = 0, written = 0; written < targetBytes; k++, written += copy.length) {
      if (k > 0) {
        walk((r, h) => {
          if (!(h >>> 31)) return;
          const t = cdv.getUint32(r + 8, true) * 4294967296 + cdv.getUint32(r + 4, true) + span;
          cdv.setUint32(r + 4, t % 4294967296, true);
          cdv.setUint32(r + 8, Math.floor(t / 4294967296), true);
        });
      }
      fs.writeSync(fd, copy);
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(`${out}.tmp`, out);
}

/** CPU time of this process in ms (wall time is meaningless while other engineers load the machine). */
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

function streamingPass(file: string): { plannedMs: number; totalMs: number; planCpuMs: number; totalCpuMs: number; rows: number; units: number; diagnostics: number } {
  const src = new FileSource(file);
  try {
    const diag = new DiagnosticCollector(file);
    const t0 = performance.now();
    const c0 = cpuMs();
    const plan = xentrace.plan(src, diag, {});
    const plannedMs = performance.now() - t0;
    const planCpuMs = cpuMs() - c0;
    const sink = new EventColumnsBuilder(1 << 16);
    let rows = 0;
    for (let u = 0; u < plan.units.length; u++) {
      xentrace.readUnit(src, plan, u, sink, diag, { cancelled: false }, () => {
        rows += sink.length;
        sink.reset();
      });
    }
    rows += sink.length;
    sink.reset();
    return { plannedMs, totalMs: performance.now() - t0, planCpuMs, totalCpuMs: cpuMs() - c0, rows, units: plan.units.length, diagnostics: diag.total };
  } finally {
    src.close();
  }
}

export default async function bench(ctx: BenchContext, sourcePath?: string, targetMb = 500): Promise<void> {
  const sourceFile = sourcePath ?? (fs.existsSync(DEFAULT_SOURCE) ? DEFAULT_SOURCE : FALLBACK_SOURCE);
  const source = fs.readFileSync(sourceFile);
  const big = path.join(ctx.tmpDir, `xentrace-${targetMb}mb.bin`);
  const small = path.join(ctx.tmpDir, 'xentrace-64mb.bin');
  let t0 = performance.now();
  generate(source, big, targetMb * 1e6);
  generate(source, small, 64e6);
  ctx.log(`generated ${(fs.statSync(big).size / 1e6).toFixed(0)} MB and ${(fs.statSync(small).size / 1e6).toFixed(0)} MB from ${path.basename(sourceFile)} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const mb = fs.statSync(big).size / 1e6;
  ctx.log(`load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores`);
  for (let round = 0; round < 3; round++) {
    const s = streamingPass(big);
    ctx.log(
      `round ${round + 1}: ${mb.toFixed(0)} MB, ${(s.rows / 1e6).toFixed(2)} M records in ${s.units} units: ` +
        `plan ${(mb / (s.plannedMs / 1000)).toFixed(0)} MB/s; plan+read ${(mb / (s.totalMs / 1000)).toFixed(0)} MB/s, ` +
        `${(s.rows / (s.totalMs / 1000) / 1e6).toFixed(1)} M records/s (${(s.totalMs / 1000).toFixed(2)} s, ${s.diagnostics} diagnostics); ` +
        `by CPU time: plan ${(mb / (s.planCpuMs / 1000)).toFixed(0)} MB/s, plan+read ${(mb / (s.totalCpuMs / 1000)).toFixed(0)} MB/s`,
    );
  }
  const smallMb = fs.statSync(small).size / 1e6;
  for (let round = 0; round < 2; round++) {
    const src = new FileSource(small);
    t0 = performance.now();
    const r = readInline(xentrace, src, {});
    const secs = (performance.now() - t0) / 1000;
    src.close();
    ctx.log(`readInline ${smallMb.toFixed(0)} MB: ${(smallMb / secs).toFixed(0)} MB/s, ${(r.columns.length / secs / 1e6).toFixed(1)} M records/s (${secs.toFixed(2)} s, columns + sort), rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-bench-xentrace-'));
  try {
    await bench({ tmpDir, log: (l) => console.log(l) }, process.argv[2], Number(process.argv[3] ?? 500));
  } finally {
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
}
