// What the views query, built in one pass over every batch of a session's indexed files: per-batch
// summaries (time range, cpu and tid hash bitsets, used to skip batches when filtering), one run
// lane per (file, cpu) from sched_switch, migrations, per-thread counts, and the merged time order
// across files. Two-layer joins (placement, steal) are the model's, not built here.

import { EventKind, NO_STATE } from '../../../shared/schema.ts';
import type { CancelSignal } from '../../formats/types.ts';
import type { EventColumns } from '../index/event-columns.ts';
import type { IndexedTrace } from '../index/indexed-trace.ts';
import { toHostNs, type ClockMap } from '../model/align.ts';
import { GrowF64, GrowI32 } from '../model/grow.ts';
import type { SessionLod } from './lod.ts';

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
  /** Fresh zeroed arrays for `count` batches, or views of a builder's arrays (the first `count` batches). */
  constructor(
    readonly count: number,
    arrays?: { minTs: Float64Array; maxTs: Float64Array; cpuBits: Uint32Array; tidBits: Uint32Array },
  ) {
    this.minTs = arrays ? arrays.minTs.subarray(0, count) : new Float64Array(count);
    this.maxTs = arrays ? arrays.maxTs.subarray(0, count) : new Float64Array(count);
    this.cpuBits = arrays ? arrays.cpuBits.subarray(0, count * HASH_WORDS) : new Uint32Array(count * HASH_WORDS);
    this.tidBits = arrays ? arrays.tidBits.subarray(0, count * HASH_WORDS) : new Uint32Array(count * HASH_WORDS);
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
  /**
   * Per file: the model's guest -> host clock map when it is piecewise-linear (drift applied), which
   * then replaces offsetsNs[f] (the offset at the guest's start); null/absent = the constant offset.
   */
  clocks?: (ClockMap | null)[];
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
  /**
   * A cached trace's session before its lanes are read: the coarse LOD levels the timeline draws
   * its first tiles from (session-cache.ts readPreview); absent otherwise.
   */
  preview?: { lod: SessionLod; lanes: Lane[] };
}

/** The clock map of file f when it is not a constant offset (see SessionData.clocks), else null. */
export function driftClock(d: SessionData, f: number): ClockMap | null {
  const c = d.clocks?.[f];
  return c && c.knots ? c : null;
}

/** Session time of file f's timestamp ts. */
export function sessionTs(d: SessionData, f: number, ts: number): number {
  const c = d.clocks?.[f];
  return c && c.knots ? toHostNs(c, ts) : ts + (d.offsetsNs[f] ?? 0);
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
  cpu: number;
  start: GrowF64;
  tid: GrowI32;
  comm: GrowI32;
  endState: GrowI32;
}

function growF64(a: Float64Array<ArrayBuffer>, need: number): Float64Array<ArrayBuffer> {
  if (need <= a.length) return a;
  const b = new Float64Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

function growU32(a: Uint32Array<ArrayBuffer>, need: number): Uint32Array<ArrayBuffer> {
  if (need <= a.length) return a;
  const b = new Uint32Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

/**
 * The per-file part of the session pass, fed one batch at a time: from the indexer while the file
 * is being indexed (no second pass over the cache; the app shows a partial session meanwhile), or
 * from the batches of an indexed file (prepareSession). Timestamps are shifted by `offsetNs`.
 */
export class FileSessionBuilder {
  rows = 0;
  batchCount = 0;
  /** Own time range (session clock) over non-empty batches. */
  startNs = Infinity;
  endNs = -Infinity;
  private minTs = new Float64Array(64);
  private maxTs = new Float64Array(64);
  private cpuBits = new Uint32Array(64 * HASH_WORDS);
  private tidBits = new Uint32Array(64 * HASH_WORDS);
  /** Lane builders in order of the cpu's first switch. */
  private readonly lanes: LaneBuilder[] = [];
  /** cpu (u16) -> index in lanes, -1 before its first switch. */
  private readonly laneOfCpu = new Int32Array(65536).fill(-1);
  private readonly migTs = new GrowF64();
  private readonly migTid = new GrowI32();
  private readonly migFrom = new GrowI32();
  private readonly migTo = new GrowI32();
  // Per-thread counts in typed arrays for the usual tid range (a Map per event cost ~1 s per 1M
  // events under load), grown to the largest tid seen (a fixed 2^22 pair was 32 MB per file);
  // tids outside it (Xen entities, negative) go to the maps.
  private tidCounts = new Int32Array(1 << 16);
  private tidComm = new Int32Array(1 << 16).fill(-1);
  private readonly sparseCounts = new Map<number, number>();
  private readonly sparseComm = new Map<number, number>();

  /** Non-null when the file's clock map is piecewise-linear (then used instead of offsetNs). */
  readonly clock: ClockMap | null;

  constructor(
    readonly file: number,
    readonly offsetNs = 0,
    clock: ClockMap | null = null,
  ) {
    this.clock = clock && clock.knots ? clock : null;
  }

  private growTids(tid: number): void {
    const n = Math.min(DENSE_TIDS, Math.max(tid + 1, this.tidCounts.length * 2));
    const counts = new Int32Array(n);
    counts.set(this.tidCounts);
    const comm = new Int32Array(n).fill(-1);
    comm.set(this.tidComm);
    this.tidCounts = counts;
    this.tidComm = comm;
  }

  /** Add the next batch of the file (its rows in file order). */
  add(c: EventColumns): void {
    const b = this.batchCount++;
    const off = this.offsetNs;
    const clock = this.clock;
    this.minTs = growF64(this.minTs, b + 1);
    this.maxTs = growF64(this.maxTs, b + 1);
    this.cpuBits = growU32(this.cpuBits, (b + 1) * HASH_WORDS);
    this.tidBits = growU32(this.tidBits, (b + 1) * HASH_WORDS);
    this.summarize(b, c);
    if (c.length > 0) {
      if (this.minTs[b]! < this.startNs) this.startNs = this.minTs[b]!;
      if (this.maxTs[b]! > this.endNs) this.endNs = this.maxTs[b]!;
    }
    const n = c.length;
    const kinds = c.kind;
    const tids = c.tid;
    const comms = c.comm;
    const cpus = c.cpu;
    const ts = c.ts;
    // The dense arrays sized for this batch's largest tid first, so the row loop keeps them in locals.
    let maxTid = -1;
    for (let i = 0; i < n; i++) {
      const t = tids[i]!;
      if (t > maxTid && t < DENSE_TIDS) maxTid = t;
    }
    if (maxTid >= this.tidCounts.length) this.growTids(maxTid);
    const counts = this.tidCounts;
    const tidComm = this.tidComm;
    const laneOfCpu = this.laneOfCpu;
    for (let i = 0; i < n; i++) {
      const kind = kinds[i]!;
      const tid = tids[i]!;
      const dense = tid >= 0 && tid < DENSE_TIDS;
      if (dense) counts[tid]!++;
      else this.sparseCounts.set(tid, (this.sparseCounts.get(tid) ?? 0) + 1);
      const comm = comms[i]!;
      if (kind === EventKind.switch) {
        const cpu = cpus[i]!;
        let li = laneOfCpu[cpu]!;
        if (li < 0) {
          li = this.lanes.length;
          laneOfCpu[cpu] = li;
          this.lanes.push({ cpu, start: new GrowF64(), tid: new GrowI32(), comm: new GrowI32(), endState: new GrowI32() });
        }
        const lb = this.lanes[li]!;
        if (lb.endState.n > 0) lb.endState.a[lb.endState.n - 1] = c.prevState[i]!;
        lb.start.push(clock ? toHostNs(clock, ts[i]!) : ts[i]! + off);
        lb.tid.push(tid);
        lb.comm.push(comm);
        lb.endState.push(NO_STATE);
        if (comm >= 0) {
          if (dense) tidComm[tid] = comm;
          else this.sparseComm.set(tid, comm);
        }
      } else if (kind === EventKind.migrate) {
        this.migTs.push(clock ? toHostNs(clock, ts[i]!) : ts[i]! + off);
        this.migTid.push(tid);
        this.migFrom.push(c.arg0[i]!);
        this.migTo.push(c.arg1[i]!);
      } else if (comm >= 0) {
        if (dense) {
          if (tidComm[tid] === -1) tidComm[tid] = comm;
        } else if (!this.sparseComm.has(tid)) this.sparseComm.set(tid, comm);
      }
    }
    this.rows += n;
  }

  private summarize(b: number, c: EventColumns): void {
    let lo = Infinity;
    let hi = -Infinity;
    const base = b * HASH_WORDS;
    const cpuBits = this.cpuBits;
    const tidBits = this.tidBits;
    const n = c.length;
    for (let i = 0; i < n; i++) {
      const t = c.ts[i]!;
      if (t < lo) lo = t;
      if (t > hi) hi = t;
      let h = hashBit(c.cpu[i]!);
      cpuBits[base + (h >>> 5)]! |= 1 << (h & 31);
      h = hashBit(c.tid[i]!);
      tidBits[base + (h >>> 5)]! |= 1 << (h & 31);
      h = hashBit(c.pid[i]!);
      tidBits[base + (h >>> 5)]! |= 1 << (h & 31);
      const p = c.prevTid[i]!;
      if (p !== -1) {
        h = hashBit(p);
        tidBits[base + (h >>> 5)]! |= 1 << (h & 31);
      }
    }
    // The clock map is increasing, so the mapped range is the range's image.
    this.minTs[b] = this.clock ? toHostNs(this.clock, lo) : lo + this.offsetNs;
    this.maxTs[b] = this.clock ? toHostNs(this.clock, hi) : hi + this.offsetNs;
  }

  /** Batch summaries so far: views (copy = true: exact-size copies, for a finished file). */
  summaries(copy = false): BatchSummaries {
    const n = this.batchCount;
    const a = { minTs: this.minTs, maxTs: this.maxTs, cpuBits: this.cpuBits, tidBits: this.tidBits };
    if (!copy) return new BatchSummaries(n, a);
    const s = new BatchSummaries(n);
    s.minTs.set(a.minTs.subarray(0, n));
    s.maxTs.set(a.maxTs.subarray(0, n));
    s.cpuBits.set(a.cpuBits.subarray(0, n * HASH_WORDS));
    s.tidBits.set(a.tidBits.subarray(0, n * HASH_WORDS));
    return s;
  }

  /** Lanes so far, by cpu (views; copy = true: exact-size copies), ending at `endNs`. */
  laneParts(copy: boolean): { cpu: number; startNs: Float64Array; tid: Int32Array; comm: Int32Array; endState: Int32Array }[] {
    return this.lanes.map((lb) => ({
      cpu: lb.cpu,
      startNs: copy ? lb.start.finish() : lb.start.a.subarray(0, lb.start.n),
      tid: copy ? lb.tid.finish() : lb.tid.a.subarray(0, lb.tid.n),
      comm: copy ? lb.comm.finish() : lb.comm.a.subarray(0, lb.comm.n),
      endState: copy ? lb.endState.finish() : lb.endState.a.subarray(0, lb.endState.n),
    }));
  }

  /** Migrations so far, in file order (views; copy = true: copies). */
  migrationParts(copy: boolean): { tsNs: Float64Array; tid: Int32Array; fromCpu: Int32Array; toCpu: Int32Array } {
    const v = <T extends Float64Array | Int32Array>(g: { a: T; n: number; finish(): T }): T => (copy ? g.finish() : (g.a.subarray(0, g.n) as T));
    return { tsNs: v(this.migTs), tid: v(this.migTid), fromCpu: v(this.migFrom), toCpu: v(this.migTo) };
  }

  /** Per-thread event counts: dense tids ascending, then the others in first-seen order. */
  threads(): ThreadCount[] {
    const out: ThreadCount[] = [];
    const counts = this.tidCounts;
    for (let tid = 0; tid < counts.length; tid++) if (counts[tid]! > 0) out.push({ file: this.file, tid, comm: this.tidComm[tid]!, events: counts[tid]! });
    for (const [tid, events] of this.sparseCounts) out.push({ file: this.file, tid, comm: this.sparseComm.get(tid) ?? -1, events });
    return out;
  }
}

/**
 * Session data from per-file builders (in file order). `final`: exact-size copies and migrations
 * sorted as prepareSession does; otherwise views of the builders' arrays (a partial session while
 * indexing; valid until the next add), migrations sorted only when they are out of order.
 */
export function sessionFromBuilders(files: IndexedTrace[], builders: FileSessionBuilder[], final: boolean): SessionData {
  let startNs = Infinity;
  let endNs = -Infinity;
  for (const b of builders) {
    if (b.startNs < startNs) startNs = b.startNs;
    if (b.endNs > endNs) endNs = b.endNs;
  }
  if (startNs === Infinity) {
    startNs = 0;
    endNs = 0;
  }
  // Lanes sorted by file then cpu so that the timeline lists cores in order.
  const lanes: Lane[] = [];
  const laneOf: Map<number, number>[] = [];
  for (const b of builders) {
    const m = new Map<number, number>();
    laneOf.push(m);
    const parts = b.laneParts(final).sort((x, y) => x.cpu - y.cpu);
    const laneEnd = b.endNs > -Infinity ? b.endNs : endNs;
    for (const p of parts) {
      const lane = lanes.length;
      m.set(p.cpu, lane);
      lanes.push({ lane, file: b.file, ...p, endNs: laneEnd });
    }
  }
  let nMig = 0;
  const migs = builders.map((b) => {
    const m = b.migrationParts(final);
    nMig += m.tsNs.length;
    return m;
  });
  let migrations: Migrations;
  if (builders.length === 1) {
    const m = migs[0]!;
    migrations = { file: new Uint8Array(m.tsNs.length).fill(builders[0]!.file), ...m };
  } else {
    migrations = { file: new Uint8Array(nMig), tsNs: new Float64Array(nMig), tid: new Int32Array(nMig), fromCpu: new Int32Array(nMig), toCpu: new Int32Array(nMig) };
    let at = 0;
    migs.forEach((m, k) => {
      migrations.file.fill(builders[k]!.file, at, at + m.tsNs.length);
      migrations.tsNs.set(m.tsNs, at);
      migrations.tid.set(m.tid, at);
      migrations.fromCpu.set(m.fromCpu, at);
      migrations.toCpu.set(m.toCpu, at);
      at += m.tsNs.length;
    });
  }
  if (final || !isSorted(migrations.tsNs)) migrations = sortMigrations(migrations);
  return {
    files,
    offsetsNs: builders.map((b) => b.offsetNs),
    ...(builders.some((b) => b.clock) ? { clocks: builders.map((b) => b.clock) } : {}),
    rowCount: builders.reduce((a, b) => a + b.rows, 0),
    startNs,
    endNs,
    batches: builders.map((b) => b.summaries(final)),
    lanes,
    laneOf,
    migrations,
    threads: builders.flatMap((b) => b.threads()),
    mergeFile: null,
    mergeRow: null,
  };
}

function isSorted(a: Float64Array): boolean {
  for (let i = 1; i < a.length; i++) if (a[i]! < a[i - 1]!) return false;
  return true;
}

/** One pass over every batch; yields to the event loop between batches so the engine answers. */
export async function prepareSession(
  files: IndexedTrace[],
  signal: CancelSignal,
  onProgress: (p: PrepareProgress) => void,
  offsetsNs: number[] = files.map(() => 0),
  clocks: (ClockMap | null)[] = [],
): Promise<SessionData> {
  const rowsTotal = files.reduce((a, f) => a + f.rowCount, 0);
  let rowsDone = 0;
  const builders: FileSessionBuilder[] = [];
  for (let f = 0; f < files.length; f++) {
    const tr = files[f]!;
    const b = new FileSessionBuilder(f, offsetsNs[f] ?? 0, clocks[f] ?? null);
    builders.push(b);
    for (let i = 0; i < tr.batchCount; i++) {
      if (signal.cancelled) throw new CancelledError();
      const c = tr.readBatch(i);
      b.add(c);
      rowsDone += c.length;
      onProgress({ rowsDone, rowsTotal });
      await yieldNow();
    }
  }
  const d = sessionFromBuilders(files, builders, true);
  if (files.length > 1) {
    ({ mergeFile: d.mergeFile, mergeRow: d.mergeRow } = await mergeByTime(files, signal, d));
  }
  return d;
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
async function mergeByTime(files: IndexedTrace[], signal: CancelSignal, d: SessionData): Promise<{ mergeFile: Uint8Array; mergeRow: Uint32Array }> {
  const total = files.reduce((a, f) => a + f.rowCount, 0);
  if (files.length > 255) throw new Error('at most 255 files per session');
  const mergeFile = new Uint8Array(total);
  const mergeRow = new Uint32Array(total);
  const k = files.length;
  const cur: (EventColumns | null)[] = files.map((f) => (f.batchCount > 0 ? f.readBatch(0) : null));
  const batchIdx = new Int32Array(k);
  const pos = new Int32Array(k);
  const offsetsNs = d.offsetsNs;
  const clocks = files.map((_, f) => driftClock(d, f));
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
        const cl = clocks[f];
        const t = cl ? toHostNs(cl, c.ts[pos[f]!]!) : c.ts[pos[f]!]! + (offsetsNs[f] ?? 0);
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
/** Spans of a batch up to this many rows are read alone (readBatchRows) when the batch is not cached. */
export const PAGE_READ_MAX_ROWS = 8192;

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
  /**
   * Rows [from, from+count) of a batch: `cols` holds row from+k at index base+k. A cached batch is
   * used whole; otherwise a short span is read alone when the trace can (a jump reads a page, not
   * 3.4 MB), else the batch is read and cached.
   */
  span(file: number, batch: number, from: number, count: number): { cols: EventColumns; base: number } {
    const hit = this.map.get(batch * 256 + file);
    if (hit) return { cols: hit, base: from };
    const tr = this.files[file]!;
    if (tr.readBatchRows && count <= PAGE_READ_MAX_ROWS) return { cols: tr.readBatchRows(batch, from, count), base: 0 };
    return { cols: this.get(file, batch), base: from };
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
