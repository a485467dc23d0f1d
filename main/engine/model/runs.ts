// One pass over a trace's event batches: run intervals from sched_switch (per layer), kvm_entry..
// kvm_exit intervals, fork parents, last comm per thread, sampled event times per CPU (for clock
// alignment) and wakeups (for the lock-holder heuristic). Reads through readBatch only.

import { EventKind, NO_STATE, XEN_IDLE_DOMAIN } from '../../../shared/schema.ts';
import type { IndexedTrace } from '../index/indexed-trace.ts';
import { GrowF64, GrowI32 } from './grow.ts';

/**
 * Run intervals as columns: `tid` ran on `cpu` from the switch that switched it in to the one that
 * switched it out. A task still current at the end of the trace gets an interval closed at the
 * trace's last event (the last `openCount` rows; the model may extend them to the last event of all
 * inputs); a task running before the first switch of its CPU gets none. Rows are in order of end time.
 */
export interface RunTable {
  length: number;
  tid: Int32Array;
  cpu: Int32Array;
  startNs: Float64Array;
  endNs: Float64Array;
  /** TaskState bits of the switch-out (prev_state); NO_STATE for the open rows. */
  endState: Uint16Array;
  /** The last openCount rows were still open at the end of the trace. */
  openCount: number;
}

export interface LayerScan {
  runs: RunTable;
  /** kvm_entry..kvm_exit on the same CPU and thread; `endState` holds the vCPU id. Empty when absent. */
  guestMode: RunTable;
  /** host thread -> vCPU id, from kvm_entry/kvm_exit. */
  kvmVcpuOfTid: Map<number, number>;
  /** tid -> comm (the last name the trace gave it). */
  commOf: Map<number, string>;
  /** child tid -> parent tid, from fork events. */
  forkParent: Map<number, number>;
  /** Sampled event times per CPU (every `sampleStride`-th event), ascending. */
  eventTsByCpu: Float64Array[];
  sampleStride: number;
  /** Wakeups with a known waker (waking / wakeup / wakeup_new with pid > 0). */
  wakeTsNs: Float64Array;
  wakeWaker: Int32Array;
  wakeWoken: Int32Array;
  switchCount: number;
  /** Switches whose prev did not match the task switched in before on that CPU (lost events). */
  switchMismatches: number;
  startNs: number;
  endNs: number;
  cpuCount: number;
}

export interface ScanOptions {
  /** Keep at most this many sampled event times overall (alignment cost). */
  maxSampledEvents?: number;
  /** Xen host: entity ids are (domid<<16)|vcpu and the idle domain is skipped like tid 0. */
  xen?: boolean;
  collectWakeups?: boolean;
}

/**
 * tid -> last comm id, as a Map<number, number> would keep it (forEach in first-set order), with
 * tids below PID_MAX_LIMIT in a growable Int32Array: the scan sets it on every switch, and the
 * Map's set/has were ~20% of the scan (10M-row simulator set). Other ids (Xen entities,
 * negative) go to a Map.
 */
class LastComm {
  private static readonly DENSE_LIMIT = 1 << 22;
  private dense = new Int32Array(1024).fill(-1);
  private readonly sparse = new Map<number, number>();
  /** tids in first-set order. */
  private readonly order = new GrowI32();

  has(t: number): boolean {
    if (t >= 0 && t < this.dense.length) return this.dense[t]! >= 0;
    if (t >= 0 && t < LastComm.DENSE_LIMIT) return false;
    return this.sparse.has(t);
  }

  set(t: number, id: number): void {
    if (t >= 0 && t < LastComm.DENSE_LIMIT) {
      if (t >= this.dense.length) {
        const grown = new Int32Array(Math.min(LastComm.DENSE_LIMIT, Math.max(t + 1, this.dense.length * 2))).fill(-1);
        grown.set(this.dense);
        this.dense = grown;
      }
      if (this.dense[t]! < 0) this.order.push(t);
      this.dense[t] = id;
      return;
    }
    if (!this.sparse.has(t)) this.order.push(t);
    this.sparse.set(t, id);
  }

  forEach(fn: (t: number, id: number) => void): void {
    for (let k = 0; k < this.order.n; k++) {
      const t = this.order.a[k]!;
      fn(t, t >= 0 && t < LastComm.DENSE_LIMIT ? this.dense[t]! : this.sparse.get(t)!);
    }
  }
}

class RunBuilder {
  tid: GrowI32;
  cpu: GrowI32;
  start: GrowF64;
  end: GrowF64;
  state: GrowI32;
  constructor(cap = 256) {
    this.tid = new GrowI32(cap);
    this.cpu = new GrowI32(cap);
    this.start = new GrowF64(cap);
    this.end = new GrowF64(cap);
    this.state = new GrowI32(cap);
  }
  push(tid: number, cpu: number, s: number, e: number, st: number): void {
    this.tid.push(tid);
    this.cpu.push(cpu);
    this.start.push(s);
    this.end.push(e);
    this.state.push(st);
  }
  finish(openCount = 0): RunTable {
    return {
      openCount,
      length: this.tid.n,
      tid: this.tid.finish(),
      cpu: this.cpu.finish(),
      startNs: this.start.finish(),
      endNs: this.end.finish(),
      endState: Uint16Array.from(this.state.finish()),
    };
  }
}

export function scanLayer(trace: IndexedTrace, opts: ScanOptions = {}): LayerScan {
  const maxCpu = trace.summary.cpus.length ? Math.max(...trace.summary.cpus) : 0;
  const cpuCount = maxCpu + 1;
  const curTid = new Int32Array(cpuCount).fill(-1);
  const curStart = new Float64Array(cpuCount).fill(NaN);
  const entryTid = new Int32Array(cpuCount).fill(-1);
  const entryVcpu = new Int32Array(cpuCount).fill(-1);
  const entryTs = new Float64Array(cpuCount);
  // one interval per switch at most: size the columns from the summary's counts (no doubling copies)
  let switches = 0;
  for (const [name, n] of Object.entries(trace.summary.byEvent)) if (/switch/.test(name)) switches += n;
  const runs = new RunBuilder(Math.min(switches + cpuCount, 1 << 27));
  const gm = new RunBuilder();
  const kvmVcpuOfTid = new Map<number, number>();
  const commIdOf = new LastComm();
  const forkParent = new Map<number, number>();
  const maxSampled = opts.maxSampledEvents ?? 2_000_000;
  // 0 = sample nothing (a host trace); the stride then never matches a row
  const sampleStride = maxSampled > 0 ? Math.max(1, Math.ceil(trace.rowCount / maxSampled)) : Number.MAX_SAFE_INTEGER;
  const sampled: GrowF64[] = [];
  const perCpu = maxSampled > 0 ? Math.ceil(trace.rowCount / sampleStride / Math.max(1, trace.summary.cpus.length)) + 16 : 16;
  for (let c = 0; c < cpuCount; c++) sampled.push(new GrowF64(Math.min(perCpu, 1 << 24)));
  let wakeups = 0;
  for (const [name, n] of Object.entries(trace.summary.byEvent)) if (/wak/.test(name)) wakeups += n;
  const wakeCap = opts.collectWakeups ? Math.min(wakeups + 16, 1 << 26) : 16;
  const wakeTs = new GrowF64(wakeCap);
  const wakeWaker = new GrowI32(wakeCap);
  const wakeWoken = new GrowI32(wakeCap);
  const collectWakeups = opts.collectWakeups ?? false;
  const xen = opts.xen ?? false;
  let switchCount = 0;
  let mismatches = 0;
  let startNs = Infinity;
  let endNs = -Infinity;
  let row = 0;
  const isIdle = (tid: number): boolean => (xen ? tid >>> 16 === XEN_IDLE_DOMAIN || tid < 0 : tid <= 0);

  for (let b = 0; b < trace.batchCount; b++) {
    const c = trace.readBatchBorrow ? trace.readBatchBorrow(b) : trace.readBatch(b); // one pass: borrowed
    const { ts, cpu, kind, tid, prevTid, prevState, comm, pid, arg0, prevComm } = c;
    const n = c.length;
    if (n > 0) {
      if (ts[0]! < startNs) startNs = ts[0]!;
      if (ts[n - 1]! > endNs) endNs = ts[n - 1]!;
    }
    for (let i = 0; i < n; i++, row++) {
      const t = ts[i]!;
      const p = cpu[i]!;
      if (row % sampleStride === 0 && maxSampled > 0 && p < cpuCount) sampled[p]!.push(t);
      const k = kind[i]!;
      if (k === EventKind.switch) {
        if (p >= cpuCount) continue;
        switchCount++;
        const prev = prevTid[i]!;
        const cur = curTid[p]!;
        if (cur >= 0 && cur === prev) {
          if (!isIdle(prev)) runs.push(prev, p, curStart[p]!, t, prevState[i]!);
        } else if (cur >= 0) {
          mismatches++;
        }
        const next = tid[i]!;
        curTid[p] = next;
        curStart[p] = t;
        if (comm[i]! >= 0) commIdOf.set(next, comm[i]!);
      } else if (k === EventKind.vmEntry) {
        if (p >= cpuCount) continue;
        entryTid[p] = tid[i]!;
        entryVcpu[p] = arg0[i]!;
        entryTs[p] = t;
        if (arg0[i]! >= 0) kvmVcpuOfTid.set(tid[i]!, arg0[i]!);
      } else if (k === EventKind.vmExit) {
        if (p >= cpuCount) continue;
        if (entryTid[p] === tid[i]! && entryTid[p]! >= 0) gm.push(tid[i]!, p, entryTs[p]!, t, entryVcpu[p]! & 0xffff);
        entryTid[p] = -1;
        if (arg0[i]! >= 0) kvmVcpuOfTid.set(tid[i]!, arg0[i]!);
      } else if (k === EventKind.fork) {
        forkParent.set(tid[i]!, prevTid[i]!);
        if (comm[i]! >= 0) commIdOf.set(tid[i]!, comm[i]!);
      } else if (k === EventKind.exec) {
        if (comm[i]! >= 0) commIdOf.set(tid[i]!, comm[i]!);
      } else if (collectWakeups && (k === EventKind.waking || k === EventKind.wakeup || k === EventKind.wakeupNew)) {
        if (pid[i]! > 0) {
          wakeTs.push(t);
          wakeWaker.push(pid[i]!);
          wakeWoken.push(tid[i]!);
        }
      }
      // A prev_comm names the task being switched out: it helps when a task never switched in.
      if (k === EventKind.switch && prevComm[i]! >= 0 && !commIdOf.has(prevTid[i]!)) commIdOf.set(prevTid[i]!, prevComm[i]!);
    }
  }
  // Close what is still running at the trace's last event (in end order: all at the same time).
  let openCount = 0;
  for (let p = 0; p < cpuCount; p++) {
    const t = curTid[p]!;
    if (t >= 0 && !isIdle(t) && curStart[p]! <= endNs) {
      runs.push(t, p, curStart[p]!, endNs, NO_STATE);
      openCount++;
    }
  }
  const commOf = new Map<number, string>();
  commIdOf.forEach((t, id) => commOf.set(t, trace.comms[id] ?? ''));
  return {
    runs: runs.finish(openCount),
    guestMode: gm.finish(),
    kvmVcpuOfTid,
    commOf,
    forkParent,
    eventTsByCpu: sampled.map((g) => g.finish()),
    sampleStride,
    wakeTsNs: wakeTs.finish(),
    wakeWaker: wakeWaker.finish(),
    wakeWoken: wakeWoken.finish(),
    switchCount,
    switchMismatches: mismatches,
    startNs: startNs === Infinity ? 0 : startNs,
    endNs: endNs === -Infinity ? 0 : endNs,
    cpuCount,
  };
}

