// Summary of event columns (counts per event, CPUs, threads, time range). One pass over typed
// arrays; the streaming indexer feeds it batch by batch through SummaryAccumulator.

import { UNKNOWN_CPU } from '../../../shared/schema.ts';
import type { Diagnostic } from '../../../shared/result.ts';
import type { TraceSummary } from '../../../shared/summary.ts';
import type { FormatInfo } from '../../formats/types.ts';
import type { EventColumns } from './event-columns.ts';

/** Linux PID_MAX_LIMIT: tids below it are counted in a bitmap (at most 4 MiB). */
const DENSE_TID_LIMIT = 1 << 22;
const MAX_SPARSE_TIDS = 1 << 20;

export class SummaryAccumulator {
  events = 0;
  /** Per event id (ids are u16). */
  private readonly eventCounts = new Float64Array(65536);
  private readonly cpuSeen = new Uint8Array(65536);
  private tidSeen = new Uint8Array(1 << 16);
  private negTids = new Set<number>();
  private sparseTids = new Set<number>();
  /** More distinct out-of-range tids than MAX_SPARSE_TIDS: `threads` is a lower bound. */
  threadsCapped = false;
  threads = 0;
  startNs = Infinity;
  endNs = -Infinity;
  sorted = true;
  private lastTs = -Infinity;

  /**
   * Add rows of columns whose `event` ids refer to `eventNames` (global ids). One fused pass with
   * the rare cases (negative or huge tids) out of line: ~1.7x faster than one pass per statistic
   * (2.0 -> 1.1 ms per 65536-row batch, 2-core bench machine under load), and it runs on the
   * coordinator thread, whose time bounds the ingest rate.
   */
  add(c: EventColumns): void {
    const n = c.length;
    this.events += n;
    const ev = c.event;
    const counts = this.eventCounts;
    const cpu = c.cpu;
    const cpuSeen = this.cpuSeen;
    const tid = c.tid;
    const pid = c.pid;
    const ts = c.ts;
    let seen = this.tidSeen;
    let threads = this.threads;
    let last = this.lastTs;
    let sorted = this.sorted;
    let lo = this.startNs;
    let hi = this.endNs;
    // Xen entities ((domid << 16) | vcpu) are past the bitmap: each went through rareTid's set
    // (~90 ms per 14M rows); the same one repeats row after row, so remember the last one seen.
    let lastRare = -1;
    for (let i = 0; i < n; i++) {
      counts[ev[i]!]!++;
      cpuSeen[cpu[i]!] = 1;
      const t = ts[i]!;
      if (t < last) sorted = false;
      last = t;
      if (t < lo) lo = t;
      if (t > hi) hi = t;
      const a = tid[i]!;
      if (a >= 0 && a < seen.length) {
        if (seen[a] === 0) {
          seen[a] = 1;
          threads++;
        }
      } else if (a !== lastRare && a !== -1) {
        if (this.rareTid(a)) {
          threads++;
          seen = this.tidSeen;
        }
        lastRare = a;
      }
      const b = pid[i]!;
      if (b >= 0 && b < seen.length) {
        if (seen[b] === 0) {
          seen[b] = 1;
          threads++;
        }
      } else if (b !== lastRare && b !== -1) {
        if (this.rareTid(b)) {
          threads++;
          seen = this.tidSeen;
        }
        lastRare = b;
      }
    }
    this.threads = threads;
    this.lastTs = last;
    this.sorted = sorted;
    this.startNs = lo;
    this.endNs = hi;
  }

  /**
   * A negative tid (other than -1) or one past the bitmap: true when it is new. The bitmap grows
   * only up to Linux's PID_MAX_LIMIT (2^22); larger values (Xen entities (domid << 16) | vcpu, or
   * garbage in a corrupt file) go to a set capped at MAX_SPARSE_TIDS, so a hostile tid never sizes
   * an allocation. Past the cap the count is a lower bound (threadsCapped).
   */
  private rareTid(t: number): boolean {
    if (t < 0) {
      if (t === -1 || this.negTids.has(t)) return false;
      if (this.negTids.size >= MAX_SPARSE_TIDS) {
        this.threadsCapped = true;
        return false;
      }
      this.negTids.add(t);
      return false; // counted at finish()
    }
    if (t < DENSE_TID_LIMIT) {
      if (t >= this.tidSeen.length) {
        const grown = new Uint8Array(Math.min(DENSE_TID_LIMIT, Math.max(t + 1, this.tidSeen.length * 2)));
        grown.set(this.tidSeen);
        this.tidSeen = grown;
      }
      if (this.tidSeen[t] !== 0) return false;
      this.tidSeen[t] = 1;
      return true;
    }
    if (this.sparseTids.has(t)) return false;
    if (this.sparseTids.size >= MAX_SPARSE_TIDS) {
      this.threadsCapped = true;
      return false;
    }
    this.sparseTids.add(t);
    return true;
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
    for (let c = 0; c < UNKNOWN_CPU; c++) if (this.cpuSeen[c]) cpus.push(c); // the unknown-CPU marker is not a CPU
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
      diagnostics: this.threadsCapped
        ? [...diagnostics, { severity: 'warning', file, offset: 0, message: `more than ${MAX_SPARSE_TIDS} distinct thread ids outside 0..${DENSE_TID_LIMIT - 1}: the thread count is a lower bound` }]
        : diagnostics,
      diagnosticsTotal: diagnosticsTotal + (this.threadsCapped ? 1 : 0),
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
