// What the views query, built in one pass over every batch of a session's indexed files: per-batch
// summaries (time range, cpu and tid hash bitsets, used to skip batches when filtering), one run
// lane per (file, cpu) from sched_switch, migrations, per-thread counts, and the merged time order
// across files. Two-layer joins (placement, steal) are the model's, not built here.

import { EventKind, NO_STATE } from '../../../shared/schema.ts';
import type { CancelSignal } from '../../formats/types.ts';
import type { EventColumns } from '../index/event-columns.ts';
import type { IndexedTrace } from '../index/indexed-trace.ts';
import { GrowF64, GrowI32 } from '../model/grow.ts';

/** Bits per hash set in a batch summary. 256 keeps a summary at 64 bytes per set per batch. */
const HASH_BITS = 256;
const HASH_WORDS = HASH_BITS / 32;

export function hashBit(v: number): number {
  // Multiplicative hash so that consecutive tids spread over the words.
  return (Math.imul(v | 0, 0x9e3779b1) >>> 24) & (HASH_BITS - 1);
}

/** Per file, per batch: min/max ts and hash sets of cpu and of tid/pid/prevTid. */
export class BatchSummaries {
  readonly minTs: Float64Array;
  readonly maxTs: Float64Array;
  readonly cpuBits: Uint32Array;
  readonly tidBits: Uint32Array;
  constructor(readonly count: number) {
    this.minTs = new Float64Array(count);
    this.maxTs = new Float64Array(count);
    this.cpuBits = new Uint32Array(count * HASH_WORDS);
    this.tidBits = new Uint32Array(count * HASH_WORDS);
  }
  mayHaveCpu(batch: number, cpu: number): boolean {
    const b = hashBit(cpu);
    return (this.cpuBits[batch * HASH_WORDS + (b >>> 5)]! & (1 << (b & 31))) !== 0;
  }
  mayHaveTid(batch: number, tid: number): boolean {
    const b = hashBit(tid);
    return (this.tidBits[batch * HASH_WORDS + (b >>> 5)]! & (1 << (b & 31))) !== 0;
  }
}

/** Runs on one (file, cpu): run i is [startNs[i], startNs[i+1]) (the last ends at the file's end). */
export interface Lane {
  lane: number;
  file: number;
  cpu: number;
  startNs: Float64Array;
  tid: Int32Array;
  comm: Int32Array;
  /** prev_state of the switch that ended the run (NO_STATE for the last). */
  endState: Int32Array;
  endNs: number;
}

export interface Migrations {
  file: Uint8Array;
  tsNs: Float64Array;
  tid: Int32Array;
  fromCpu: Int32Array;
  toCpu: Int32Array;
}

export interface ThreadCount {
  file: number;
  tid: number;
  comm: number;
  events: number;
}

export interface SessionData {
  files: IndexedTrace[];
  /** Per file: added to its timestamps to put them on the session timeline (guest -> host clock). */
  offsetsNs: number[];
  rowCount: number;
  startNs: number;
  endNs: number;
  batches: BatchSummaries[];
  lanes: Lane[];
  /** lane index by file then cpu */
  laneOf: Map<number, number>[];
  migrations: Migrations;
  threads: ThreadCount[];
  /** Merged order across files (null for a single file: global row = file row). */
  mergeFile: Uint8Array | null;
  mergeRow: Uint32Array | null;
}

export interface PrepareProgress {
  rowsDone: number;
  rowsTotal: number;
}

/** Linux pid_max is at most 2^22. */
const DENSE_TIDS = 1 << 22;

const yieldNow = (): Promise<void> => new Promise((r) => setImmediate(r));

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

interface LaneBuilder {
  file: number;
  cpu: number;
  start: GrowF64;
  tid: GrowI32;
  comm: GrowI32;
  endState: GrowI32;
}

function summarizeBatch(s: BatchSummaries, b: number, c: EventColumns, off: number): void {
  let lo = Infinity;
  let hi = -Infinity;
  const base = b * HASH_WORDS;
  const n = c.length;
  for (let i = 0; i < n; i++) {
    const t = c.ts[i]!;
    if (t < lo) lo = t;
    if (t > hi) hi = t;
    let h = hashBit(c.cpu[i]!);
    s.cpuBits[base + (h >>> 5)]! |= 1 << (h & 31);
    h = hashBit(c.tid[i]!);
    s.tidBits[base + (h >>> 5)]! |= 1 << (h & 31);
    h = hashBit(c.pid[i]!);
    s.tidBits[base + (h >>> 5)]! |= 1 << (h & 31);
    const p = c.prevTid[i]!;
    if (p !== -1) {
      h = hashBit(p);
      s.tidBits[base + (h >>> 5)]! |= 1 << (h & 31);
    }
  }
  s.minTs[b] = lo + off;
  s.maxTs[b] = hi + off;
}

/** One pass over every batch; yields to the event loop between batches so the engine answers. */
export async function prepareSession(
  files: IndexedTrace[],
  signal: CancelSignal,
  onProgress: (p: PrepareProgress) => void,
  offsetsNs: number[] = files.map(() => 0),
): Promise<SessionData> {
  const rowsTotal = files.reduce((a, f) => a + f.rowCount, 0);
  let rowsDone = 0;
  const batches: BatchSummaries[] = [];
  const laneBuilders: LaneBuilder[] = [];
  const laneOf: Map<number, number>[] = [];
  const mig = { file: [] as number[], ts: new GrowF64(), tid: new GrowI32(), from: new GrowI32(), to: new GrowI32() };
  const threads: ThreadCount[] = [];
  let startNs = Infinity;
  let endNs = -Infinity;
  /** Per file: its last timestamp (session clock): its lanes end there, not at the session's end. */
  const fileEndNs: number[] = [];

  for (let f = 0; f < files.length; f++) {
    let ownEndNs = -Infinity;
    const tr = files[f]!;
    const off = offsetsNs[f] ?? 0;
    const sums = new BatchSummaries(tr.batchCount);
    batches.push(sums);
    const lanesHere = new Map<number, number>();
    laneOf.push(lanesHere);
    // per-cpu index of the open run in its lane builder, to fill endState at the next switch
    // Per-thread counts in typed arrays for the usual tid range (a Map per event cost ~1 s per
    // 1M events under load); tids outside it (Xen entities, negative) go to the maps.
    const tidCountsDense = new Int32Array(DENSE_TIDS);
    const tidCommDense = new Int32Array(DENSE_TIDS).fill(-1);
    const tidCounts = new Map<number, number>();
    const tidComm = new Map<number, number>();
    for (let b = 0; b < tr.batchCount; b++) {
      if (signal.cancelled) throw new CancelledError();
      const c = tr.readBatch(b);
      summarizeBatch(sums, b, c, off);
      if (c.length > 0) {
        if (sums.minTs[b]! < startNs) startNs = sums.minTs[b]!;
        if (sums.maxTs[b]! > endNs) endNs = sums.maxTs[b]!;
        if (sums.maxTs[b]! > ownEndNs) ownEndNs = sums.maxTs[b]!;
      }
      for (let i = 0; i < c.length; i++) {
        const kind = c.kind[i]!;
        const tid = c.tid[i]!;
        const dense = tid >= 0 && tid < DENSE_TIDS;
        if (dense) tidCountsDense[tid]!++;
        else tidCounts.set(tid, (tidCounts.get(tid) ?? 0) + 1);
        if (kind === EventKind.switch) {
          const cpu = c.cpu[i]!;
          let li = lanesHere.get(cpu);
          if (li === undefined) {
            li = laneBuilders.length;
            lanesHere.set(cpu, li);
            laneBuilders.push({ file: f, cpu, start: new GrowF64(), tid: new GrowI32(), comm: new GrowI32(), endState: new GrowI32() });
          }
          const lb = laneBuilders[li]!;
          if (lb.endState.n > 0) lb.endState.a[lb.endState.n - 1] = c.prevState[i]!;
          lb.start.push(c.ts[i]! + off);
          lb.tid.push(tid);
          lb.comm.push(c.comm[i]!);
          lb.endState.push(NO_STATE);
          if (c.comm[i]! >= 0) {
            if (dense) tidCommDense[tid] = c.comm[i]!;
            else tidComm.set(tid, c.comm[i]!);
          }
        } else if (kind === EventKind.migrate) {
          mig.file.push(f);
          mig.ts.push(c.ts[i]! + off);
          mig.tid.push(tid);
          mig.from.push(c.arg0[i]!);
          mig.to.push(c.arg1[i]!);
        } else if (c.comm[i]! >= 0) {
          if (dense) {
            if (tidCommDense[tid] === -1) tidCommDense[tid] = c.comm[i]!;
          } else if (!tidComm.has(tid)) tidComm.set(tid, c.comm[i]!);
        }
      }
      rowsDone += c.length;
      onProgress({ rowsDone, rowsTotal });
      await yieldNow();
    }
    fileEndNs.push(ownEndNs);
    for (let tid = 0; tid < DENSE_TIDS; tid++) if (tidCountsDense[tid]! > 0) threads.push({ file: f, tid, comm: tidCommDense[tid]!, events: tidCountsDense[tid]! });
    for (const [tid, events] of tidCounts) threads.push({ file: f, tid, comm: tidComm.get(tid) ?? -1, events });
  }
  if (startNs === Infinity) {
    startNs = 0;
    endNs = 0;
  }

  // Lanes sorted by file then cpu so that the timeline lists cores in order.
  const order = laneBuilders.map((_, i) => i).sort((a, b) => laneBuilders[a]!.file - laneBuilders[b]!.file || laneBuilders[a]!.cpu - laneBuilders[b]!.cpu);
  const lanes: Lane[] = [];
  for (const m of laneOf) m.clear();
  for (const i of order) {
    const lb = laneBuilders[i]!;
    const lane = lanes.length;
    laneOf[lb.file]!.set(lb.cpu, lane);
    const laneEnd = fileEndNs[lb.file]!;
    lanes.push({ lane, file: lb.file, cpu: lb.cpu, startNs: lb.start.finish(), tid: lb.tid.finish(), comm: lb.comm.finish(), endState: lb.endState.finish(), endNs: laneEnd > -Infinity ? laneEnd : endNs });
  }

  let mergeFile: Uint8Array | null = null;
  let mergeRow: Uint32Array | null = null;
  if (files.length > 1) {
    ({ mergeFile, mergeRow } = await mergeByTime(files, signal, offsetsNs));
  }

  return {
    files,
    offsetsNs: files.map((_, f) => offsetsNs[f] ?? 0),
    rowCount: rowsTotal,
    startNs,
    endNs,
    batches,
    lanes,
    laneOf,
    migrations: sortMigrations({ file: Uint8Array.from(mig.file), tsNs: mig.ts.finish(), tid: mig.tid.finish(), fromCpu: mig.from.finish(), toCpu: mig.to.finish() }),
    threads,
    mergeFile,
    mergeRow,
  };
}

/** Each file's migrations are in time order; across files they are merged so views can bisect. */
function sortMigrations(m: Migrations): Migrations {
  const n = m.tsNs.length;
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  idx.sort((a, b) => m.tsNs[a]! - m.tsNs[b]! || a - b);
  const out: Migrations = { file: new Uint8Array(n), tsNs: new Float64Array(n), tid: new Int32Array(n), fromCpu: new Int32Array(n), toCpu: new Int32Array(n) };
  for (let k = 0; k < n; k++) {
    const i = idx[k]!;
    out.file[k] = m.file[i]!;
    out.tsNs[k] = m.tsNs[i]!;
    out.tid[k] = m.tid[i]!;
    out.fromCpu[k] = m.fromCpu[i]!;
    out.toCpu[k] = m.toCpu[i]!;
  }
  return out;
}

/** k-way merge of per-file time orders; ties keep file order (stable). */
async function mergeByTime(files: IndexedTrace[], signal: CancelSignal, offsetsNs: number[]): Promise<{ mergeFile: Uint8Array; mergeRow: Uint32Array }> {
  const total = files.reduce((a, f) => a + f.rowCount, 0);
  if (files.length > 255) throw new Error('at most 255 files per session');
  const mergeFile = new Uint8Array(total);
  const mergeRow = new Uint32Array(total);
  const k = files.length;
  const cur: (EventColumns | null)[] = files.map((f) => (f.batchCount > 0 ? f.readBatch(0) : null));
  const batchIdx = new Int32Array(k);
  const pos = new Int32Array(k);
  let out = 0;
  while (out < total) {
    if (signal.cancelled) throw new CancelledError();
    const stop = Math.min(total, out + 262144);
    while (out < stop) {
      let best = -1;
      let bestTs = Infinity;
      for (let f = 0; f < k; f++) {
        const c = cur[f];
        if (!c) continue;
        const t = c.ts[pos[f]!]! + (offsetsNs[f] ?? 0);
        if (best === -1 || t < bestTs) {
          best = f;
          bestTs = t;
        }
      }
      if (best === -1) break;
      const tr = files[best]!;
      mergeFile[out] = best;
      mergeRow[out] = batchIdx[best]! * tr.batchRows + pos[best]!;
      out++;
      pos[best]!++;
      if (pos[best]! >= cur[best]!.length) {
        batchIdx[best]!++;
        pos[best] = 0;
        cur[best] = batchIdx[best]! < tr.batchCount ? tr.readBatch(batchIdx[best]!) : null;
      }
    }
    if (out < stop) break;
    await yieldNow();
  }
  return { mergeFile, mergeRow };
}

/** Small LRU of decoded batches, keyed by file and batch index. */
export class BatchCache {
  private readonly map = new Map<number, EventColumns>();
  constructor(private readonly files: IndexedTrace[], private readonly capacity = 8) {}
  get(file: number, batch: number): EventColumns {
    const key = batch * 256 + file;
    const hit = this.map.get(key);
    if (hit) {
      this.map.delete(key);
      this.map.set(key, hit);
      return hit;
    }
    const c = this.files[file]!.readBatch(batch);
    this.map.set(key, c);
    if (this.map.size > this.capacity) {
      const first = this.map.keys().next().value as number;
      this.map.delete(first);
    }
    return c;
  }
}

/** First index i in sorted a[0..n) with a[i] > v. */
export function upperBound(a: Float64Array, v: number, n = a.length): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (a[m]! <= v) lo = m + 1;
    else hi = m;
  }
  return lo;
}

/** First index i in sorted a[0..n) with a[i] >= v. */
export function lowerBound(a: Float64Array, v: number, n = a.length): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (a[m]! < v) lo = m + 1;
    else hi = m;
  }
  return lo;
}
