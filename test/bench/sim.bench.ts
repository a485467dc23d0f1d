// Simulator throughput: generate ~1 GB of two-layer tracefs text (--size mode) and print MB/s,
// simulated seconds, MB per CPU-second (less sensitive to a busy machine than wall time) and peak RSS.
// Numbers are noisy on a shared machine; say so when you quote them.

import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from '../../main/sim/index.ts';
import type { BenchContext } from './bench-types.ts';

export default async function (ctx: BenchContext): Promise<void> {
  const targetBytes = Number(process.env.VCPUSCOPE_SIM_BENCH_BYTES ?? 1e9);
  const runs: Array<{ scenario: string; hostFormat?: 'xentrace' }> = [
    { scenario: 'lock-holder-preemption' },
    { scenario: 'noisy-neighbour' },
    { scenario: 'noisy-neighbour', hostFormat: 'xentrace' },
  ];
  for (const { scenario, hostFormat } of runs) {
    const dir = mkdtempSync(join(ctx.tmpDir, 'sim-bench-'));
    try {
      let peakRss = process.memoryUsage().rss;
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const { truth } = await generate({
        out: dir,
        scenario,
        seed: 1,
        sizeBytes: targetBytes,
        hostFormat,
        onProgress: () => {
          peakRss = Math.max(peakRss, process.memoryUsage().rss);
        },
      });
      const s = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const cpuS = (cpu.user + cpu.system) / 1e6;
      const mb = truth.generator.bytes / 1e6;
      ctx.log(
        `sim ${scenario}${hostFormat ? ` (host ${hostFormat})` : ''}: ${mb.toFixed(0)} MB in ${s.toFixed(2)} s = ${(mb / s).toFixed(0)} MB/s wall, ` +
          `${(mb / cpuS).toFixed(0)} MB per CPU-second (${cpuS.toFixed(2)} s CPU) ` +
          `(${truth.generator.seconds.toFixed(0)} simulated s, peak RSS ${(peakRss / 1e6).toFixed(0)} MB)`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
