// The events table as an Arrow IPC *file* (apache-arrow's writer, so pyarrow/polars/DuckDB read
// it; see CACHE.md): batches are written one by one straight to a file descriptor, and read back one
// batch at a time by positional reads. String tables live in the side file, not here.

import * as fs from 'node:fs';
import * as os from 'node:os';
import {
  AsyncByteQueue,
  Field,
  Float64,
  Int32,
  RecordBatch,
  RecordBatchFileWriter,
  RecordBatchReader,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  Uint16,
  Uint32,
  Uint8,
  makeData,
  type DataType,
} from 'apache-arrow';
import { EVENT_COLUMNS, EventKind, type EventColumnName } from '../../../shared/schema.ts';
import type { EventColumns } from './event-columns.ts';
import { CacheWriterThread } from './cache-writer.ts';

type TypedColumn = Float64Array | Int32Array | Uint32Array | Uint16Array | Uint8Array;

/** A column as stored in the Arrow file (the compact layout stores `offset` as u32). */
export interface StoredColumn {
  readonly name: EventColumnName;
  readonly type: 'f64' | 'i32' | 'u32' | 'u16' | 'u8';
}

function arrowType(t: StoredColumn['type']): DataType {
  switch (t) {
    case 'f64':
      return new Float64();
    case 'i32':
      return new Int32();
    case 'u32':
      return new Uint32();
    case 'u16':
      return new Uint16();
    case 'u8':
      return new Uint8();
  }
}

export const EVENT_FIELDS: Field[] = EVENT_COLUMNS.map((c) => new Field(c.name, arrowType(c.type), false));
export const EVENT_SCHEMA = new Schema(EVENT_FIELDS, new Map([['vcpuscope.table', 'events']]));

/** Bytes per row over all columns (52 today): sizes batches and the RSS budget. */
export const ROW_BYTES = EVENT_COLUMNS.reduce((s, c) => s + (c.type === 'f64' ? 8 : c.type === 'i32' ? 4 : c.type === 'u16' ? 2 : 1), 0);

const BYTES_OF: Record<StoredColumn['type'], number> = { f64: 8, i32: 4, u32: 4, u16: 2, u8: 1 };

/**
 * Open-addressing map of int32 keys to int32 values (no object per entry; a lookup is a multiply
 * and a probe or two): the compact layout's tid -> comm id table.
 */
export class IntMap {
  private keys = new Int32Array(64);
  private vals = new Int32Array(64);
  private used = new Uint8Array(64);
  private shift = 26;
  size = 0;

  /** Value of `k`, or `missing`. */
  get(k: number, missing: number): number {
    const mask = this.keys.length - 1;
    for (let h = Math.imul(k, 0x9e3779b1) >>> this.shift; ; h = (h + 1) & mask) {
      if (this.used[h] === 0) return missing;
      if (this.keys[h] === k) return this.vals[h]!;
    }
  }

  /** Set `k` to `v` unless it is set; returns the value `k` has afterwards. */
  getOrSet(k: number, v: number): number {
    const mask = this.keys.length - 1;
    let h = Math.imul(k, 0x9e3779b1) >>> this.shift;
    for (; this.used[h] !== 0; h = (h + 1) & mask) if (this.keys[h] === k) return this.vals[h]!;
    this.used[h] = 1;
    this.keys[h] = k;
    this.vals[h] = v;
    if (++this.size * 2 > this.keys.length) this.rehash();
    return v;
  }

  private rehash(): void {
    const { keys, vals, used } = this;
    const cap = keys.length * 2;
    this.keys = new Int32Array(cap);
    this.vals = new Int32Array(cap);
    this.used = new Uint8Array(cap);
    this.shift--;
    this.size = 0;
    for (let i = 0; i < keys.length; i++) if (used[i]) this.getOrSet(keys[i]!, vals[i]!);
  }

  /** [key, value, key, value, ...] in key order (what the meta stores). */
  pairs(): number[] {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < this.keys.length; i++) if (this.used[i]) out.push([this.keys[i]!, this.vals[i]!]);
    out.sort((a, b) => a[0] - b[0]);
    return out.flat();
  }

  static fromPairs(pairs: readonly number[]): IntMap {
    const m = new IntMap();
    for (let i = 0; i + 1 < pairs.length; i += 2) m.getOrSet(pairs[i]! | 0, pairs[i + 1]! | 0);
    return m;
  }
}

const COMPACT_COLUMNS: readonly StoredColumn[] = [
  { name: 'ts', type: 'f64' },
  { name: 'cpu', type: 'u16' },
  { name: 'kind', type: 'u8' },
  { name: 'event', type: 'u16' },
  { name: 'pid', type: 'i32' },
  { name: 'tid', type: 'i32' },
  { name: 'prevState', type: 'u16' },
  { name: 'arg0', type: 'i32' },
  { name: 'arg1', type: 'i32' },
  { name: 'offset', type: 'u32' },
];
const EVENT_COLUMN_NAMES: readonly string[] = EVENT_COLUMNS.map((c) => c.name);
const K_SWITCH: number = EventKind.switch;

export type CacheLayoutId = 'full' | 'compact';

/**
 * Which columns the Arrow file stores (CACHE.md "Layouts"). `full`: all of EVENT_COLUMNS. `compact`
 * (formats whose comm is a function of the tid, e.g. xentrace: one name per (domain, vCPU)): the
 * file leaves out `comm` and `prevComm` (the comm id of tid / prevTid, from the meta's `tidComm`
 * table), `prevTid` (pid on switch rows, else -1) and `input` (0), and stores `offset` as u32
 * (inputs < 4 GiB): 35 instead of 52 bytes per row. The writer checks every row against these rules
 * (a row that breaks one fails the write, and the open goes on uncached); readers fill the columns
 * back, so every reader of the cache sees the same 14 columns either way.
 */
export class CacheLayout {
  readonly id: CacheLayoutId;
  readonly columns: readonly StoredColumn[];
  readonly fields: Field[];
  readonly schema: Schema;
  /** compact: tid -> comm id (also prevTid -> prevComm); -1 -> -1. Grows while writing. */
  readonly tidComm: IntMap;
  /** Column name -> index in `columns` (-1: not stored). */
  private readonly index: Map<string, number>;
  private prefix: Uint8Array | null = null;

  private constructor(id: CacheLayoutId, tidComm: IntMap) {
    this.id = id;
    this.columns = id === 'full' ? EVENT_COLUMNS : COMPACT_COLUMNS;
    this.fields = id === 'full' ? EVENT_FIELDS : this.columns.map((c) => new Field(c.name, arrowType(c.type), false));
    this.schema =
      id === 'full'
        ? EVENT_SCHEMA
        : new Schema(
            this.fields,
            new Map([
              ['vcpuscope.table', 'events'],
              ['vcpuscope.layout', 'compact'],
              ['vcpuscope.derived', 'comm = meta tidComm[tid]; prevComm = tidComm[prevTid]; prevTid = pid where kind = 1 (switch) else -1; input = 0; offset stored as uint32'],
            ]),
          );
    this.tidComm = tidComm;
    this.index = new Map(this.columns.map((c, i) => [c.name, i]));
    tidComm.getOrSet(-1, -1);
  }

  static readonly FULL = new CacheLayout('full', new IntMap());

  /** A compact layout to write (empty table), or to read with the meta's `tidComm` pairs. */
  static compact(tidCommPairs: readonly number[] = []): CacheLayout {
    return new CacheLayout('compact', IntMap.fromPairs(tidCommPairs));
  }

  /** The layout of a cache meta (`layout` absent: full). */
  static of(meta: { layout?: CacheLayoutId; tidComm?: number[] }): CacheLayout {
    return meta.layout === 'compact' ? CacheLayout.compact(meta.tidComm ?? []) : CacheLayout.FULL;
  }

  /** What the meta records of this layout. */
  metaFields(): { layout?: CacheLayoutId; tidComm?: number[] } {
    return this.id === 'full' ? {} : { layout: this.id, tidComm: this.tidComm.pairs() };
  }

  /** Index of a column in the file (-1: derived). */
  storedIndex(name: string): number {
    return this.index.get(name) ?? -1;
  }

  /** Bytes per row of the stored columns. */
  get rowBytes(): number {
    return this.columns.reduce((s, c) => s + BYTES_OF[c.type], 0);
  }

  bytesOf(j: number): number {
    return BYTES_OF[this.columns[j]!.type];
  }

  /** The stored columns the named ones need (a derived column needs its sources). */
  sourcesOf(names: readonly string[]): Set<string> {
    const out = new Set<string>();
    for (const n of names) {
      if (this.id === 'full' || this.index.has(n)) out.add(n);
      else if (n === 'comm') out.add('tid');
      else if (n === 'prevTid' || n === 'prevComm') {
        out.add('kind');
        out.add('pid');
      }
    }
    return out;
  }

  /** The schema message as an IPC stream prefix (to decode a single batch message read from the file). */
  streamPrefix(): Uint8Array {
    if (this.prefix === null) {
      const w = new RecordBatchStreamWriter();
      w.reset(undefined, this.schema);
      this.prefix = w.toUint8Array(true).slice();
    }
    return this.prefix;
  }

  /**
   * Fill the derived columns named in `names` (all by default) from the stored ones in `c` (a
   * record of column arrays of `rows` rows; the compact file's u32 `offset` is widened to f64),
   * into arrays from `room` when given (reused per name) or fresh ones. Returns `c` completed.
   */
  expand(c: Record<string, unknown>, rows: number, names: readonly string[] = EVENT_COLUMN_NAMES, room?: Map<string, ArrayBuffer>): Record<string, unknown> {
    if (this.id === 'full') return c;
    const take = <T extends TypedColumn>(name: string, Ctor: { new (b: ArrayBuffer, o: number, n: number): T; BYTES_PER_ELEMENT: number }): T => {
      const bytes = rows * Ctor.BYTES_PER_ELEMENT;
      let buf = room?.get(name);
      if (buf === undefined || buf.byteLength < bytes) {
        buf = new ArrayBuffer(bytes);
        room?.set(name, buf);
      }
      return new Ctor(buf, 0, rows);
    };
    const want = new Set(names);
    const kind = c['kind'] as Uint8Array | undefined;
    const pid = c['pid'] as Int32Array | undefined;
    let prevTid: Int32Array | null = null;
    if ((want.has('prevTid') || want.has('prevComm')) && kind && pid) {
      prevTid = take('prevTid', Int32Array);
      fillPrevTid(kind, pid, prevTid, rows);
      if (want.has('prevTid')) c['prevTid'] = prevTid;
    }
    if (want.has('comm') && c['tid']) {
      const comm = take('comm', Int32Array);
      fillComm(this.tidComm, c['tid'] as Int32Array, comm, rows);
      c['comm'] = comm;
    }
    if (want.has('prevComm') && prevTid) {
      const prevComm = take('prevComm', Int32Array);
      fillComm(this.tidComm, prevTid, prevComm, rows);
      c['prevComm'] = prevComm;
    }
    if (want.has('input')) c['input'] = take('input', Uint8Array).fill(0);
    if (want.has('offset') && c['offset'] instanceof Uint32Array) {
      const off = c['offset'];
      const wide = take('offset', Float64Array);
      for (let i = 0; i < rows; i++) wide[i] = off[i]!;
      c['offset'] = wide;
    }
    return c;
  }
}

function fillPrevTid(kind: Uint8Array, pid: Int32Array, out: Int32Array, rows: number): void {
  for (let i = 0; i < rows; i++) out[i] = kind[i] === K_SWITCH ? pid[i]! : -1;
}

function fillComm(m: IntMap, tid: Int32Array, out: Int32Array, rows: number): void {
  let lastTid = -1;
  let lastComm = m.get(-1, -1);
  for (let i = 0; i < rows; i++) {
    const t = tid[i]!;
    if (t !== lastTid) {
      lastTid = t;
      lastComm = m.get(t, -1);
    }
    out[i] = lastComm;
  }
}

/** The layout the cache of a format's input uses: compact for xentrace inputs below 4 GiB. */
export function cacheLayoutFor(formatId: string, inputBytes: number): CacheLayout {
  return formatId === 'xentrace' && inputBytes <= 0xffffffff ? CacheLayout.compact() : CacheLayout.FULL;
}

/**
 * Check rows [0, rows) of `c` against the compact layout's rules, learning tid -> comm into `m`, and
 * write the u32 offsets into `off32`. Returns a description of the first row that breaks a rule,
 * or null.
 */
function fitCompact(c: EventColumns, rows: number, m: IntMap, off32: Uint32Array): string | null {
  const { tid, comm, kind, pid, prevTid, prevComm, input, offset } = c;
  // Three tight loops (one check each) ran faster than one loop with all of them. The (tid, comm)
  // table is probed only where the pair differs from the row before, and for prevTid only on
  // switch rows (elsewhere prevTid and prevComm must be -1).
  let lastTid = -1;
  let lastComm = -1;
  for (let i = 0; i < rows; i++) {
    const t = tid[i]!;
    const cm = comm[i]!;
    if (t !== lastTid || cm !== lastComm) {
      if (m.getOrSet(t, cm) !== cm) return `row ${i}: comm ${cm} of tid ${t} differs from an earlier row's`;
      lastTid = t;
      lastComm = cm;
    }
  }
  let bad = -1;
  for (let i = 0; i < rows; i++) {
    if (kind[i] === K_SWITCH) {
      const pt = prevTid[i]!;
      if (pt !== pid[i] || m.getOrSet(pt, prevComm[i]!) !== prevComm[i]) {
        bad = i;
        break;
      }
    } else if ((prevTid[i]! & prevComm[i]!) !== -1 || input[i] !== 0) {
      bad = i;
      break;
    }
  }
  for (let i = 0; i < rows && bad < 0; i++) if (kind[i] === K_SWITCH && input[i] !== 0) bad = i;
  if (bad >= 0) {
    const i = bad;
    if (input[i] !== 0) return `row ${i}: input ${input[i]} is not 0`;
    const pt = prevTid[i]!;
    if (kind[i] === K_SWITCH ? pt !== pid[i] : pt !== -1) return `row ${i}: prevTid ${pt} is not the switch's pid`;
    return `row ${i}: prevComm ${prevComm[i]} of tid ${pt} differs from an earlier row's`;
  }
  for (let i = 0; i < rows; i++) {
    const o = offset[i]!;
    if (o >>> 0 !== o) return `row ${i}: offset ${o} does not fit 32 bits`;
    off32[i] = o;
  }
  return null;
}

/** Wrap `n` rows of columns as a RecordBatch without copying (makeData over the typed arrays). */
export function toRecordBatch(c: EventColumns, n: number, layout: CacheLayout = CacheLayout.FULL): RecordBatch {
  const children = layout.columns.map((spec, i) => {
    const arr = (c as unknown as Record<string, TypedColumn>)[spec.name]!;
    return makeData({ type: layout.fields[i]!.type, length: n, nullCount: 0, data: arr.length === n ? arr : arr.subarray(0, n) });
  });
  const data = makeData({ type: new Struct(layout.fields), length: n, nullCount: 0, children });
  return new RecordBatch(layout.schema, data);
}

/**
 * Checksum of a batch's column values (Fletcher-style sums over little-endian 32-bit words in four
 * lanes, then the tail bytes), computed on the arrays written and on the arrays decoded, so it
 * does not depend on how the IPC writer chunks its output. ~1.4 ms per 65536-row batch (3.4 MB) on
 * the 2-core bench machine under load 6, i.e. < 5% of the ingest time of the same rows.
 */
export function checksumColumns(c: Omit<EventColumns, 'comms' | 'events' | 'inputs'>, rows: number, layout: CacheLayout = CacheLayout.FULL): string {
  // Four interleaved lanes (word i goes to lane i % 4): independent add chains run in parallel.
  let a0 = 1;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  let b0 = 0;
  let b1 = 0;
  let b2 = 0;
  let b3 = 0;
  let tail = 0;
  for (const spec of layout.columns) {
    const arr = (c as unknown as Record<string, TypedColumn>)[spec.name]!;
    const bytes = Math.min(arr.byteLength, rows * arr.BYTES_PER_ELEMENT);
    const words = bytes >>> 2;
    const w32 = (arr.byteOffset & 3) === 0 ? new Int32Array(arr.buffer, arr.byteOffset, words) : new Int32Array(new Uint8Array(arr.buffer, arr.byteOffset, words * 4).slice().buffer);
    const quads = words & ~3;
    for (let i = 0; i < quads; i += 4) {
      a0 = (a0 + w32[i]!) | 0;
      a1 = (a1 + w32[i + 1]!) | 0;
      a2 = (a2 + w32[i + 2]!) | 0;
      a3 = (a3 + w32[i + 3]!) | 0;
      b0 = (b0 + a0) | 0;
      b1 = (b1 + a1) | 0;
      b2 = (b2 + a2) | 0;
      b3 = (b3 + a3) | 0;
    }
    for (let i = quads; i < words; i++) {
      a0 = (a0 + w32[i]!) | 0;
      b0 = (b0 + a0) | 0;
    }
    const u8 = new Uint8Array(arr.buffer, arr.byteOffset, bytes);
    for (let i = words * 4; i < bytes; i++) tail = (Math.imul(tail, 31) + u8[i]!) | 0;
  }
  const a = (a0 ^ Math.imul(a1, 3) ^ Math.imul(a2, 5) ^ Math.imul(a3, 7) ^ tail) >>> 0;
  const b = (b0 ^ Math.imul(b1, 3) ^ Math.imul(b2, 5) ^ Math.imul(b3, 7)) >>> 0;
  return `${a.toString(16).padStart(8, '0')}${b.toString(16).padStart(8, '0')}`;
}

export interface BatchBlock {
  /** Byte offset of the batch's IPC message (continuation marker) in the .arrow file. */
  offset: number;
  /** Message length including metadata, padding and body. */
  bytes: number;
  rows: number;
  /** checksumColumns() of the batch's values. */
  checksum: string;
}

/**
 * Fault injection for tests (disk full while writing the cache): when >= 0, a write that would
 * pass this many bytes of one file fails with ENOSPC. Never set outside tests.
 */
export const cacheWriteFaults = { failAfterBytes: -1 };

/**
 * When the writer is given the file's path, its writes move to a CacheWriterThread once this many
 * bytes were written (below it, ~30 ms of CPU to start a thread is not worth it). Tests set 0.
 * Only with a core to spare beside the ingest workers (min(2, cores)) and the coordinating thread:
 * on the 2-core bench machine all threads together already used both cores (503 MB xentrace, load
 * ~3, A/B x3: wall 3.9-5.6 s with the thread vs 3.8-6.3 s without, CPU 6.7-7.6 vs 6.3-6.9 s: the
 * slot copy and a third thread), so there the writes stay on the coordinating thread.
 */
export const cacheWriterConfig = {
  threadAfterBytes: writerThreadWanted() ? 16 << 20 : Infinity,
  /**
   * How long flush() may block for a new writer thread to start (ms). 0: never; batches are written
   * on this thread until the writer thread is ready (or forever if it cannot start). Tests that must
   * see the thread take writes set it.
   */
  awaitThreadMs: 0,
};

/** VCPUSCOPE_WRITER_THREAD=1 / 0 forces the writer thread on / off (to measure both on one machine). */
function writerThreadWanted(): boolean {
  const env = process.env['VCPUSCOPE_WRITER_THREAD'];
  if (env === '1' || env === '0') return env === '1';
  return os.availableParallelism() > 2;
}

/**
 * A byte sink for apache-arrow's writer. Arrow hands over ~45 pieces per batch, most of them views
 * of the caller's column arrays (reused after the batch): they are gathered and, per batch, either
 * written with one writev (no staging copy) or copied into a slot of the writer thread.
 */
class FdSink extends AsyncByteQueue {
  private readonly fd: number;
  private readonly path: string | undefined;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Bytes written (or handed to the thread) so far; the next flush starts here. */
  private flushed = 0;
  thread: CacheWriterThread | null = null;
  private threadFailed = false;
  /** Bytes written on the calling thread, and through the writer thread. */
  callerBytes = 0;
  threadBytes = 0;
  position = 0;

  constructor(fd: number, path?: string) {
    super();
    this.fd = fd;
    this.path = path;
  }

  override write(value: ArrayBufferView | ArrayBuffer | Uint8Array | string): void {
    let u: Uint8Array;
    if (value instanceof Uint8Array) u = value;
    else if (ArrayBuffer.isView(value)) u = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    else if (value instanceof ArrayBuffer) u = new Uint8Array(value);
    else u = new TextEncoder().encode(value);
    if (u.byteLength === 0) return;
    if (cacheWriteFaults.failAfterBytes >= 0 && this.position + u.byteLength > cacheWriteFaults.failAfterBytes) {
      throw Object.assign(new Error('ENOSPC: no space left on device, write (simulated)'), { code: 'ENOSPC' });
    }
    this.position += u.byteLength;
    this.pending.push(u);
    this.pendingBytes += u.byteLength;
  }

  /** Write everything gathered so far (must run before the caller reuses its column arrays). */
  flush(): void {
    if (this.pendingBytes === 0) return;
    if (this.thread === null && !this.threadFailed && this.path !== undefined && this.flushed >= cacheWriterConfig.threadAfterBytes) {
      try {
        this.thread = new CacheWriterThread(this.path);
        if (cacheWriterConfig.awaitThreadMs > 0) this.thread.awaitReady(cacheWriterConfig.awaitThreadMs);
      } catch {
        this.threadFailed = true; // no thread here: keep writing on this one
      }
    }
    // once started, every batch goes to the thread (submit() throws the thread's write error, e.g. ENOSPC)
    if (this.thread !== null && this.thread.started()) {
      // Copied into a slot: the pieces may be reused as soon as this returns.
      this.thread.submit(this.pending, this.pendingBytes, this.flushed);
      this.threadBytes += this.pendingBytes;
      this.flushed += this.pendingBytes;
      this.pending = [];
      this.pendingBytes = 0;
      return;
    }
    // On this thread (no writer thread, or it has not started yet): at explicit positions, as the
    // thread writes, so batches written here and there can alternate.
    let list = this.pending;
    let left = this.pendingBytes;
    let at = this.flushed;
    this.flushed += left;
    this.pending = [];
    this.pendingBytes = 0;
    this.callerBytes += left;
    while (left > 0) {
      // IOV_MAX is 1024 on Linux; a batch has ~45 pieces.
      const n = fs.writevSync(this.fd, list.length > 1024 ? list.slice(0, 1024) : list, at);
      left -= n;
      at += n;
      if (left <= 0) break;
      // Partial write: drop what went out and continue with the rest.
      let skip = n;
      let k = 0;
      while (k < list.length && skip >= list[k]!.byteLength) skip -= list[k++]!.byteLength;
      list = list.slice(k);
      if (skip > 0) list[0] = list[0]!.subarray(skip);
    }
  }
}

/**
 * Writes record batches to an open descriptor; `finish()` writes the footer. Errors (ENOSPC) throw,
 * from writeBatch() or finish(). With `options.path` (the file `fd` is open on) the writes go to a
 * writer thread once the file passes cacheWriterConfig.threadAfterBytes: a block in `blocks` may then
 * not be on disk yet until finish() returns (do not read blocks back while writing), and a writer
 * that is not finished must be abort()ed before its descriptor is closed.
 */
export class ArrowStreamFileWriter {
  private readonly sink: FdSink;
  private readonly writer: RecordBatchFileWriter;
  readonly blocks: BatchBlock[] = [];
  /** Which columns the file stores (options.layout; full by default). */
  readonly layout: CacheLayout;
  /** compact: the u32 offsets of the batch being written (reused). */
  private off32 = new Uint32Array(0);

  constructor(fd: number, options: { path?: string; layout?: CacheLayout } = {}) {
    this.sink = new FdSink(fd, options.path);
    this.layout = options.layout ?? CacheLayout.FULL;
    this.writer = new RecordBatchFileWriter();
    this.writer.reset(this.sink as unknown as AsyncByteQueue, this.layout.schema);
  }

  get bytesWritten(): number {
    return this.sink.position;
  }

  /**
   * Rows [0, rows) of `c`. With the compact layout, a row that breaks its rules throws (nothing of
   * the batch is written; the caller drops the file).
   */
  writeBatch(c: EventColumns, rows: number): void {
    if (rows === 0) return;
    const start = this.sink.position;
    const layout = this.layout;
    if (layout.id === 'compact') {
      if (this.off32.length < rows) this.off32 = new Uint32Array(rows);
      const problem = fitCompact(c, rows, layout.tidComm, this.off32);
      if (problem !== null) throw new Error(`rows do not fit the compact cache layout (batch ${this.blocks.length}, ${problem})`);
      c = { ...c, offset: this.off32 as unknown as Float64Array };
    }
    const checksum = checksumColumns(c, rows, layout);
    this.writer.write(toRecordBatch(c, rows, layout));
    this.sink.flush();
    this.blocks.push({ offset: start, bytes: this.sink.position - start, rows, checksum });
  }

  /** Whether writes went to a writer thread (bytes each way), and how long this thread waited for it (ms). */
  get threadStats(): { used: boolean; waitMs: number; threadBytes: number; callerBytes: number } {
    return { used: this.sink.threadBytes > 0, waitMs: this.sink.thread?.waitMs ?? 0, threadBytes: this.sink.threadBytes, callerBytes: this.sink.callerBytes };
  }

  /** Footer + flush; returns the file size once every byte is written (not synced: the caller fsyncs). */
  finish(): number {
    try {
      this.writer.finish();
      this.sink.flush();
      this.sink.thread?.drain();
    } finally {
      this.sink.thread?.close();
    }
    return this.sink.position;
  }

  /** Stop the writer thread (waits for writes in flight) without finishing; never throws. */
  abort(): void {
    this.sink.thread?.close();
  }
}

const EOS = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

/**
 * The columns of one batch message (bytes exactly as in BatchBlock). Views into a fresh buffer. With
 * a compact layout: the stored columns only (`offset` as u32); CacheLayout.expand() fills the rest.
 */
export function decodeBatchMessage(message: Uint8Array, expectRows: number, layout: CacheLayout = CacheLayout.FULL): Omit<EventColumns, 'comms' | 'events' | 'inputs'> {
  const framed = batchMessageFrame(message.length, undefined, layout);
  framed.message.set(message);
  return decodeBatchFrame(framed.buf, expectRows, layout);
}

/**
 * A buffer for one batch message with the schema prefix and end-of-stream marker around it: read the
 * message's bytes straight into `message`, then decodeBatchFrame(buf). Saves decodeBatchMessage's
 * copy of each 3.4 MB batch (and its garbage) on every cached read. `reuse`: a buffer to frame in
 * when it is large enough (the frame is then a view of it; decoded columns alias it).
 */
export function batchMessageFrame(messageBytes: number, reuse?: Uint8Array, layout: CacheLayout = CacheLayout.FULL): { buf: Uint8Array; message: Uint8Array } {
  const pre = layout.streamPrefix();
  const total = pre.length + messageBytes + EOS.length;
  const buf = reuse && reuse.length >= total ? reuse.subarray(0, total) : new Uint8Array(total);
  buf.set(pre, 0);
  buf.set(EOS, pre.length + messageBytes);
  return { buf, message: buf.subarray(pre.length, pre.length + messageBytes) };
}

/** decodeBatchMessage on a batchMessageFrame() buffer whose message has been filled in. */
export function decodeBatchFrame(buf: Uint8Array, expectRows: number, layout: CacheLayout = CacheLayout.FULL): Omit<EventColumns, 'comms' | 'events' | 'inputs'> {
  const reader = RecordBatchReader.from(buf);
  const r = reader.next();
  if (r.done || !r.value) throw new Error('no record batch in message');
  const batch = r.value as RecordBatch;
  if (batch.numRows !== expectRows) throw new Error(`batch has ${batch.numRows} rows, expected ${expectRows}`);
  const out: Record<string, unknown> = { length: batch.numRows };
  for (const spec of layout.columns) {
    const child = batch.getChild(spec.name);
    const d = child?.data[0];
    if (!child || !d || child.data.length !== 1) throw new Error(`batch lacks column ${spec.name}`);
    const values = d.values as TypedColumn;
    out[spec.name] = values.length === batch.numRows ? values : values.subarray(0, batch.numRows);
  }
  return out as unknown as Omit<EventColumns, 'comms' | 'events' | 'inputs'>;
}
