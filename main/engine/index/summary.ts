// Summary of event columns (counts per event, CPUs, threads, time range). One pass over typed
// arrays; the streaming indexer feeds it batch by batch through SummaryAccumulator.

import type { Diagnostic } from '../../../shared/result.ts';
import type { TraceSummary } from '../../../shared/summary.ts';
import type { FormatInfo } from '../../formats/types.ts';
import type { EventColumns } from './event-columns.ts';

export class SummaryAccumulator {
  events = 0;
  private readonly eventCounts: number[] = [];
  private readonly cpuSeen = new Uint8Array(65536);
  private tidSeen = new Uint8Array(1 << 16);
  private negTids = new Set<number>();
  threads = 0;
  startNs = Infinity;
  endNs = -Infinity;
  sorted = true;
  private lastTs = -Infinity;

  /** Add rows of columns whose `event` ids refer to `eventNames` (global ids). */
  add(c: EventColumns): void {
    const n = c.length;
    this.events += n;
    const ev = c.event;
    const counts = this.eventCounts;
    for (let i = 0; i < n; i++) {
      const e = ev[i]!;
      counts[e] = (counts[e] ?? 0) + 1;
    }
    const cpu = c.cpu;
    for (let i = 0; i < n; i++) this.cpuSeen[cpu[i]!] = 1;
    this.markTids(c.tid, n);
    this.markTids(c.pid, n);
    const ts = c.ts;
    let last = this.lastTs;
    let sorted = this.sorted;
    let lo = this.startNs;
    let hi = this.endNs;
    for (let i = 0; i < n; i++) {
      const t = ts[i]!;
      if (t < last) sorted = false;
      last = t;
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    }
    this.lastTs = last;
    this.sorted = sorted;
    this.startNs = lo;
    this.endNs = hi;
  }

  private markTids(a: Int32Array, n: number): void {
    for (let i = 0; i < n; i++) {
      const t = a[i]!;
      if (t < 0) {
        if (t !== -1) this.negTids.add(t);
        continue;
      }
      if (t >= this.tidSeen.length) {
        if (t > 0x3fffffff) continue; // not a tid; bounded memory
        const grown = new Uint8Array(Math.max(t + 1, this.tidSeen.length * 2));
        grown.set(this.tidSeen);
        this.tidSeen = grown;
      }
      if (this.tidSeen[t] === 0) {
        this.tidSeen[t] = 1;
        this.threads++;
      }
    }
  }

  finish(
    file: string,
    sizeBytes: number,
    formatId: string,
    info: FormatInfo,
    eventNames: readonly string[],
    diagnostics: Diagnostic[],
    diagnosticsTotal: number,
  ): TraceSummary {
    const byEvent: Record<string, number> = {};
    for (let e = 0; e < this.eventCounts.length; e++) {
      const count = this.eventCounts[e];
      if (count) byEvent[eventNames[e] ?? `event#${e}`] = count;
    }
    const cpus: number[] = [];
    for (let c = 0; c < this.cpuSeen.length; c++) if (this.cpuSeen[c]) cpus.push(c);
    const s: TraceSummary = {
      file,
      sizeBytes,
      formatId,
      format: info.format,
      entity: info.entity,
      events: this.events,
      byEvent,
      cpus,
      threads: this.threads + this.negTids.size,
      startNs: this.events ? this.startNs : null,
      endNs: this.events ? this.endNs : null,
      sorted: this.sorted,
      diagnostics,
      diagnosticsTotal,
    };
    if (info.variant !== undefined) s.variant = info.variant;
    if (info.compression !== undefined) s.compression = info.compression;
    if (info.clock !== undefined) s.clock = info.clock;
    if (info.layerHint !== undefined) s.layerHint = info.layerHint;
    if (info.cpuHz !== undefined) s.cpuHz = info.cpuHz;
    if (info.extra !== undefined) s.extra = info.extra;
    return s;
  }
}
