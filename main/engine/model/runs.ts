// One pass over a trace's event batches: run intervals from sched_switch (per layer), kvm_entry..
// kvm_exit intervals, fork parents, last comm per thread, sampled event times per CPU (for clock
// alignment) and wakeups (for the lock-holder heuristic). Reads through readBatch only.

import { EventKind, NO_STATE, XEN_IDLE_DOMAIN, type EventColumnName } from '../../../shared/schema.ts';
import type { IndexedTrace } from '../index/indexed-trace.ts';
import { fit, GrowI32 } from './grow.ts';

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
  /**
   * kvm_entry..kvm_exit on the same CPU and thread; `endState` holds the vCPU id. Empty when absent,
   * and when the scan was asked not to keep the rows (`guestModeRows: false`).
   */
  guestMode: RunTable;
  /** Σ kvm_entry..kvm_exit ns per host thread (always kept). */
  guestModeNsByTid: Map<number, number>;
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
  /**
   * Keep the kvm_entry..kvm_exit rows (default true). The model needs them only when no vCPU thread
   * is ever switched in (then they say when a vCPU is on a core); otherwise only the per-thread sums
   * (guestModeNsByTid), and the rows were 1.7M of the 10M-event simulator set's host writes.
   */
  guestModeRows?: boolean;
}

/**
 * tid -> an int (last comm id, vCPU id), as a Map<number, number> would keep it (forEach in
 * first-set order), with tids below PID_MAX_LIMIT in a growable Int32Array: the scan sets it on
 * every switch (and kvm event), and the Map's set/has were ~20% of the scan (10M-row simulator
 * set). Other ids (Xen entities, negative) go to a Map. Values must be >= 0.
 */
class DenseTidMap {
  private static readonly DENSE_LIMIT = 1 << 22;
  private dense = new Int32Array(1024).fill(-1);
  private readonly sparse = new Map<number, number>();
  /** tids in first-set order. */
  private readonly order = new GrowI32();

  has(t: number): boolean {
    if (t >= 0 && t < this.dense.length) return this.dense[t]! >= 0;
    if (t >= 0 && t < DenseTidMap.DENSE_LIMIT) return false;
    return this.sparse.has(t);
  }

  set(t: number, id: number): void {
    if (t >= 0 && t < this.dense.length) {
      // the common case first: a known thread
      const old = this.dense[t]!;
      if (old === id) return;
      if (old < 0) this.order.push(t);
      this.dense[t] = id;
      return;
    }
    if (t >= 0 && t < DenseTidMap.DENSE_LIMIT) {
      const grown = new Int32Array(Math.min(DenseTidMap.DENSE_LIMIT, Math.max(t + 1, this.dense.length * 2))).fill(-1);
      grown.set(this.dense);
      this.dense = grown;
      this.order.push(t);
      this.dense[t] = id;
      return;
    }
    if (!this.sparse.has(t)) this.order.push(t);
    this.sparse.set(t, id);
  }

  forEach(fn: (t: number, id: number) => void): void {
    for (let k = 0; k < this.order.n; k++) {
      const t = this.order.a[k]!;
      fn(t, t >= 0 && t < DenseTidMap.DENSE_LIMIT ? this.dense[t]! : this.sparse.get(t)!);
    }
  }
}

/** tid -> a running sum of ns (dense below PID_MAX_LIMIT, a Map otherwise). */
class DenseTidSum {
  private static readonly DENSE_LIMIT = 1 << 22;
  private dense = new Float64Array(1024).fill(NaN);
  private readonly sparse = new Map<number, number>();

  add(t: number, x: number): void {
    if (t >= 0 && t < DenseTidSum.DENSE_LIMIT) {
      if (t >= this.dense.length) {
        const grown = new Float64Array(Math.min(DenseTidSum.DENSE_LIMIT, Math.max(t + 1, this.dense.length * 2))).fill(NaN);
        grown.set(this.dense);
        this.dense = grown;
      }
      const old = this.dense[t]!;
      this.dense[t] = (old !== old ? 0 : old) + x;
      return;
    }
    this.sparse.set(t, (this.sparse.get(t) ?? 0) + x);
  }

  toMap(): Map<number, number> {
    const m = new Map<number, number>();
    for (let t = 0; t < this.dense.length; t++) if (!Number.isNaN(this.dense[t]!)) m.set(t, this.dense[t]!);
    for (const [t, x] of this.sparse) m.set(t, x);
    return m;
  }
}

/**
 * Run-table columns written by the scan loop directly (no call per row): `n` rows, capacity
 * `tid.length`; `grow()` when full. Arrays are replaced on growth, so the loop re-reads them.
 */
class RunCols {
  n = 0;
  tid: Int32Array;
  cpu: Int32Array;
  start: Float64Array;
  end: Float64Array;
  state: Uint16Array;
  constructor(cap: number) {
    cap = Math.max(16, cap);
    this.tid = new Int32Array(cap);
    this.cpu = new Int32Array(cap);
    this.start = new Float64Array(cap);
    this.end = new Float64Array(cap);
    this.state = new Uint16Array(cap);
  }
  grow(): void {
    const cap = this.tid.length * 2;
    const t = new Int32Array(cap); t.set(this.tid); this.tid = t;
    const c = new Int32Array(cap); c.set(this.cpu); this.cpu = c;
    const s = new Float64Array(cap); s.set(this.start); this.start = s;
    const e = new Float64Array(cap); e.set(this.end); this.end = e;
    const st = new Uint16Array(cap); st.set(this.state); this.state = st;
  }
  finish(openCount = 0): RunTable {
    const n = this.n;
    return {
      openCount,
      length: n,
      tid: fit(this.tid, n),
      cpu: fit(this.cpu, n),
      startNs: fit(this.start, n),
      endNs: fit(this.end, n),
      endState: fit(this.state, n),
    };
  }
}


/** The columns the scan loop reads. */
const SCAN_COLUMNS: readonly EventColumnName[] = ['ts', 'cpu', 'kind', 'tid', 'prevTid', 'prevState', 'comm', 'pid', 'arg0', 'prevComm'];

export function scanLayer(trace: IndexedTrace, opts: ScanOptions = {}): LayerScan {
  const maxCpu = trace.summary.cpus.length ? Math.max(...trace.summary.cpus) : 0;
  const cpuCount = maxCpu + 1;
  const curTid = new Int32Array(cpuCount).fill(-1);
  const curStart = new Float64Array(cpuCount).fill(NaN);
  const entryTid = new Int32Array(cpuCount).fill(-1);
  const entryVcpu = new Int32Array(cpuCount).fill(-1);
  const entryTs = new Float64Array(cpuCount);
  // Columns are sized from the summary's counts (at most one interval per switch / kvm_exit, one
  // wakeup per wakeup event): no doubling copies; the loop writes them directly.
  let switches = 0;
  let exits = 0;
  let wakeups = 0;
  for (const [name, n] of Object.entries(trace.summary.byEvent)) {
    if (/switch/.test(name)) switches += n;
    if (/exit/.test(name)) exits += n;
    if (/wak/.test(name)) wakeups += n;
  }
  const runs = new RunCols(Math.min(switches + cpuCount, 1 << 27));
  const keepGuestMode = opts.guestModeRows ?? true;
  const gm = new RunCols(keepGuestMode ? Math.min(exits + 16, 1 << 27) : 16);
  const gmSum = new DenseTidSum();
  const kvmVcpu = new DenseTidMap();
  const commIdOf = new DenseTidMap();
  const forkParent = new Map<number, number>();
  const maxSampled = opts.maxSampledEvents ?? 2_000_000;
  // 0 = sample nothing (a host trace)
  const sampleStride = maxSampled > 0 ? Math.max(1, Math.ceil(trace.rowCount / maxSampled)) : Number.MAX_SAFE_INTEGER;
  // Sampled times per CPU: one column per CPU, each with room for every sampled row, or 4x an even
  // share with many CPUs (memory never written costs no pages; sized for an even spread, the
  // busiest CPUs' columns grew by doubling and were copied again to fit: 45 MB of fresh pages on
  // the 10M-event set); grown by doubling beyond.
  const samples = maxSampled > 0 ? Math.ceil(trace.rowCount / sampleStride) : 0;
  const perCpu = maxSampled > 0 ? Math.min(samples, 4 * Math.ceil(samples / Math.max(1, trace.summary.cpus.length))) + 16 : 0;
  const sampled: Float64Array[] = [];
  const sampledN = new Int32Array(cpuCount);
  for (let c = 0; c < cpuCount; c++) sampled.push(new Float64Array(Math.min(perCpu, 1 << 24)));
  const collectWakeups = opts.collectWakeups ?? false;
  let wakeCap = collectWakeups ? Math.min(wakeups + 16, 1 << 26) : 16;
  let wakeTs = new Float64Array(wakeCap);
  let wakeWaker = new Int32Array(wakeCap);
  let wakeWoken = new Int32Array(wakeCap);
  let wakeN = 0;
  const xen = opts.xen ?? false;
  let switchCount = 0;
  let mismatches = 0;
  let startNs = Infinity;
  let endNs = -Infinity;
  // rows until the next sampled one (every sampleStride-th row of the trace, starting with row 0)
  let toSample = maxSampled > 0 ? 0 : -1;
  const SWITCH = EventKind.switch;
  const ENTRY = EventKind.vmEntry;
  const EXIT = EventKind.vmExit;
  const FORK = EventKind.fork;
  const EXEC = EventKind.exec;
  const WAKING = EventKind.waking;
  const WAKEUP = EventKind.wakeup;
  const WAKEUP_NEW = EventKind.wakeupNew;

  for (let b = 0; b < trace.batchCount; b++) {
    // one pass: borrowed, and only the columns read below when the trace can (a batch needing no checksum check)
    const c = trace.readBatchColumns?.(b, SCAN_COLUMNS) ?? (trace.readBatchBorrow ? trace.readBatchBorrow(b) : trace.readBatch(b));
    const { ts, cpu, kind, tid, prevTid, prevState, comm, pid, arg0, prevComm } = c;
    const n = c.length;
    if (n > 0) {
      if (ts[0]! < startNs) startNs = ts[0]!;
      if (ts[n - 1]! > endNs) endNs = ts[n - 1]!;
    }
    for (let i = 0; i < n; i++) {
      if (toSample === 0) {
        toSample = sampleStride;
        const p = cpu[i]!;
        if (p < cpuCount) {
          let col = sampled[p]!;
          const m = sampledN[p]!;
          if (m === col.length) {
            const g = new Float64Array(Math.max(16, m * 2));
            g.set(col);
            sampled[p] = col = g;
          }
          col[m] = ts[i]!;
          sampledN[p] = m + 1;
        }
      }
      if (toSample > 0) toSample--;
      const k = kind[i]!;
      if (k === SWITCH) {
        const p = cpu[i]!;
        if (p >= cpuCount) continue;
        const t = ts[i]!;
        switchCount++;
        const prev = prevTid[i]!;
        const cur = curTid[p]!;
        if (cur >= 0 && cur === prev) {
          if (xen ? !(prev >>> 16 === XEN_IDLE_DOMAIN || prev < 0) : prev > 0) {
            let r = runs.n;
            if (r === runs.tid.length) runs.grow();
            runs.tid[r] = prev;
            runs.cpu[r] = p;
            runs.start[r] = curStart[p]!;
            runs.end[r] = t;
            runs.state[r] = prevState[i]!;
            runs.n = ++r;
          }
        } else if (cur >= 0) {
          mismatches++;
        }
        const next = tid[i]!;
        curTid[p] = next;
        curStart[p] = t;
        const cm = comm[i]!;
        if (cm >= 0) commIdOf.set(next, cm);
        // A prev_comm names the task being switched out: it helps when a task never switched in.
        const pc = prevComm[i]!;
        if (pc >= 0 && !commIdOf.has(prev)) commIdOf.set(prev, pc);
      } else if (k === ENTRY) {
        const p = cpu[i]!;
        if (p >= cpuCount) continue;
        const th = tid[i]!;
        const v = arg0[i]!;
        entryTid[p] = th;
        entryVcpu[p] = v;
        entryTs[p] = ts[i]!;
        if (v >= 0) kvmVcpu.set(th, v);
      } else if (k === EXIT) {
        const p = cpu[i]!;
        if (p >= cpuCount) continue;
        const th = tid[i]!;
        if (entryTid[p] === th && th >= 0) {
          const t0 = entryTs[p]!;
          const t1 = ts[i]!;
          gmSum.add(th, t1 - t0);
          if (!keepGuestMode) {
            entryTid[p] = -1;
            const v = arg0[i]!;
            if (v >= 0) kvmVcpu.set(th, v);
            continue;
          }
          let r = gm.n;
          if (r === gm.tid.length) gm.grow();
          gm.tid[r] = th;
          gm.cpu[r] = p;
          gm.start[r] = t0;
          gm.end[r] = t1;
          gm.state[r] = entryVcpu[p]! & 0xffff;
          gm.n = ++r;
        }
        entryTid[p] = -1;
        const v = arg0[i]!;
        if (v >= 0) kvmVcpu.set(th, v);
      } else if (k === FORK) {
        forkParent.set(tid[i]!, prevTid[i]!);
        if (comm[i]! >= 0) commIdOf.set(tid[i]!, comm[i]!);
      } else if (k === EXEC) {
        if (comm[i]! >= 0) commIdOf.set(tid[i]!, comm[i]!);
      } else if (collectWakeups && (k === WAKING || k === WAKEUP || k === WAKEUP_NEW)) {
        const waker = pid[i]!;
        if (waker > 0) {
          if (wakeN === wakeCap) {
            wakeCap *= 2;
            const a = new Float64Array(wakeCap); a.set(wakeTs); wakeTs = a;
            const w = new Int32Array(wakeCap); w.set(wakeWaker); wakeWaker = w;
            const o = new Int32Array(wakeCap); o.set(wakeWoken); wakeWoken = o;
          }
          wakeTs[wakeN] = ts[i]!;
          wakeWaker[wakeN] = waker;
          wakeWoken[wakeN++] = tid[i]!;
        }
      }
    }
  }
  // Close what is still running at the trace's last event (in end order: all at the same time).
  let openCount = 0;
  for (let p = 0; p < cpuCount; p++) {
    const t = curTid[p]!;
    const idle = xen ? t >>> 16 === XEN_IDLE_DOMAIN || t < 0 : t <= 0;
    if (t >= 0 && !idle && curStart[p]! <= endNs) {
      let r = runs.n;
      if (r === runs.tid.length) runs.grow();
      runs.tid[r] = t;
      runs.cpu[r] = p;
      runs.start[r] = curStart[p]!;
      runs.end[r] = endNs;
      runs.state[r] = NO_STATE;
      runs.n = ++r;
      openCount++;
    }
  }
  const commOf = new Map<number, string>();
  commIdOf.forEach((t, id) => commOf.set(t, trace.comms[id] ?? ''));
  const kvmVcpuOfTid = new Map<number, number>();
  kvmVcpu.forEach((t, v) => kvmVcpuOfTid.set(t, v));
  return {
    runs: runs.finish(openCount),
    guestMode: gm.finish(),
    guestModeNsByTid: gmSum.toMap(),
    kvmVcpuOfTid,
    commOf,
    forkParent,
    eventTsByCpu: sampled.map((col, p) => fit(col, sampledN[p]!)),
    sampleStride,
    wakeTsNs: fit(wakeTs, wakeN),
    wakeWaker: fit(wakeWaker, wakeN),
    wakeWoken: fit(wakeWoken, wakeN),
    switchCount,
    switchMismatches: mismatches,
    startNs: startNs === Infinity ? 0 : startNs,
    endNs: endNs === -Infinity ? 0 : endNs,
    cpuCount,
  };
}
