// IndexedTrace backed by a cache entry: record batches are read on demand from the .arrow file by
// positional reads (sync: the engine runs off the UI thread), checked against the checksum in the
// meta, decoded zero-copy, and kept in a small LRU. Also BatchListTrace for uncached opens, and
// GrowingTrace: the batches indexed so far while indexing goes on (the app's early first screen).

import * as fs from 'node:fs';
import { Message } from 'apache-arrow';
import { EVENT_COLUMNS, type EventColumnName } from '../../../shared/schema.ts';
import type { TraceSummary } from '../../../shared/summary.ts';
import type { FormatInfo } from '../../formats/types.ts';
import { CacheLayout, batchMessageFrame, checksumColumns, decodeBatchFrame, type BatchBlock } from './arrow-cache.ts';
import { invalidateEntry, type CacheMeta } from './cache-store.ts';
import { allocEventColumns, type EventColumns } from './event-columns.ts';
import type { IndexedTrace } from './indexed-trace.ts';

/** Decoded batches kept per trace (4 x 3.4 MB): enough for a window straddling two batches twice. */
const LRU_BATCHES = 4;

/**
 * A batch read in part (readBatchRows, a page of the table) is checksummed later, whole, once the
 * trace has had no page read for this long: a jump costs ~14 small reads instead of reading,
 * decoding and checksumming 3.4 MB (8-15 ms CPU+IO on the 10M-event trace), and a damaged batch
 * still makes the entry invalid and every later read of it fail.
 */
export const LAZY_VERIFY_DELAY_MS = 400;

type ColumnCtor = Float64ArrayConstructor | Int32ArrayConstructor | Uint32ArrayConstructor | Uint16ArrayConstructor | Uint8ArrayConstructor;
const CTOR_OF: Record<string, ColumnCtor> = { f64: Float64Array, i32: Int32Array, u32: Uint32Array, u16: Uint16Array, u8: Uint8Array };

export class CacheCorruptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CacheCorruptError';
  }
}

const COPY_KEYS = ['ts', 'cpu', 'kind', 'event', 'pid', 'tid', 'comm', 'prevTid', 'prevComm', 'prevState', 'arg0', 'arg1', 'offset', 'input'] as const;

/** Rows [start, end) from batches of `batchRows` rows, copied into new arrays. */
function copyRows(t: IndexedTrace, start: number, count: number): EventColumns {
  const s = Math.max(0, Math.min(start, t.rowCount));
  const e = Math.max(s, Math.min(t.rowCount, s + Math.max(0, count)));
  const n = e - s;
  const out: EventColumns = allocEventColumns(n, { inputs: t.inputs ? t.inputs.slice() : [], comms: t.comms as string[], events: t.events as string[] });
  let row = s;
  while (row < e) {
    const b = Math.floor(row / t.batchRows);
    const batch = t.readBatch(b);
    const from = row - b * t.batchRows;
    const take = Math.min(e - row, batch.length - from);
    if (take <= 0) break;
    for (const k of COPY_KEYS) (out[k] as Float64Array).set((batch[k] as Float64Array).subarray(from, from + take), row - s);
    row += take;
  }
  return out;
}

/**
 * readBatchBorrow's frame buffer, one per thread for every trace: scans run one after another, and
 * a fresh 3.4 MB buffer per trace cost ~12 ms of page faults each (the model scans two or three
 * traces per build). A borrowed batch is valid until the next readBatchBorrow of any trace.
 */
let scanFrame = new Uint8Array(0);
/** readBatchColumns' buffers, one per column (and per derived column), reused like scanFrame. */
const columnRoom = new Map<string, ArrayBuffer>();
const derivedRoom = new Map<string, ArrayBuffer>();
/** readBatchBorrow's derived columns (compact layout), reused like scanFrame. */
const borrowRoom = new Map<string, ArrayBuffer>();
const EMPTY_COLUMNS = EVENT_COLUMNS.map((c) => new CTOR_OF[c.type]!(0));

export class ArrowCacheTrace implements IndexedTrace {
  readonly path: string;
  readonly summary: TraceSummary;
  readonly info: FormatInfo;
  readonly rowCount: number;
  readonly batchRows: number;
  readonly batchCount: number;
  readonly comms: readonly string[];
  readonly events: readonly string[];
  readonly inputs: string[];
  /** Where the events live (for tools that want the Arrow file itself). */
  readonly arrowPath: string;
  /** True when this open read the cache instead of parsing the input. */
  readonly fromCache: boolean;
  private fd: number;
  private readonly meta: CacheMeta;
  /** Which columns the events file stores (the others are filled on read). */
  private readonly cacheLayout: CacheLayout;
  private readonly cacheDir: string;
  private readonly key: string;
  private readonly lru = new Map<number, EventColumns>();
  /** Per batch: 1 = checksum matched once in this open (re-reads after LRU eviction skip it), 2 = damaged. */
  private readonly verified: Uint8Array;
  /** Per batch: file offset of each column's values (from the message header), once read. */
  private readonly layouts = new Map<number, Float64Array>();
  /** Batches read in part and not yet checksummed (oldest first). */
  private readonly unverified = new Set<number>();
  private verifyTimer: ReturnType<typeof setTimeout> | null = null;

  /**
   * The batches were written by this process in this open (a fresh ingest; or a worker given such
   * a trace): each batch's checksum was computed from the very columns written, so reads do not
   * check it again (a model build read 535 MB of batches right after indexing the 10M-event set:
   * ~170 ms CPU of checksums). An entry read from the cache is always checked.
   */
  readonly trusted: boolean;

  constructor(arrowPath: string, meta: CacheMeta, where: { cacheDir: string; key: string; fromCache: boolean; fd?: number; trusted?: boolean }) {
    this.arrowPath = arrowPath;
    this.meta = meta;
    this.cacheDir = where.cacheDir;
    this.key = where.key;
    this.fromCache = where.fromCache;
    this.fd = where.fd ?? fs.openSync(arrowPath, 'r');
    this.path = meta.summary.file;
    this.summary = meta.summary;
    this.info = meta.info;
    this.rowCount = meta.rowCount;
    this.batchRows = meta.batchRows;
    this.batchCount = meta.blocks.length;
    this.comms = meta.comms;
    this.events = meta.events;
    this.inputs = meta.inputs;
    this.verified = new Uint8Array(meta.blocks.length);
    this.cacheLayout = CacheLayout.of(meta);
    this.trusted = where.trusted === true;
    if (this.trusted) this.verified.fill(1);
  }

  readBatch(i: number): EventColumns {
    const hit = this.lru.get(i);
    if (hit) {
      this.lru.delete(i);
      this.lru.set(i, hit);
      return hit;
    }
    const cols = this.load(i, undefined);
    this.lru.set(i, cols);
    if (this.lru.size > LRU_BATCHES) this.lru.delete(this.lru.keys().next().value as number);
    return cols;
  }

  readBatchBorrow(i: number): EventColumns {
    const hit = this.lru.get(i);
    if (hit) return hit;
    // One frame buffer for the whole scan: a model build over 10M rows allocated (and collected)
    // 157 x 3.4 MB; GC was ~20% of it.
    const block = this.meta.blocks[i];
    const need = (block?.bytes ?? 0) + 4096;
    if (scanFrame.length < need) scanFrame = new Uint8Array(need);
    return this.load(i, scanFrame);
  }

  /**
   * Batch i for one pass, only the named columns (the others empty), read column by column into
   * buffers reused by the next call (of any trace on this thread), without decoding the Arrow
   * message: for a batch whose checksum needs no check (a trusted trace, or checked earlier in
   * this open), else null (then readBatchBorrow, which checks it). The model's scans read 10 of
   * the 14 columns (33-37 of 52 bytes per row).
   */
  readBatchColumns(i: number, names: readonly EventColumnName[]): EventColumns | null {
    const hit = this.lru.get(i);
    if (hit) return hit;
    const block = this.meta.blocks[i];
    if (!block || this.verified[i] !== 1) return null;
    if (this.fd < 0) throw new Error(`${this.path}: trace is closed`);
    const starts = this.layout(i);
    const out: Record<string, unknown> = { length: block.rows, inputs: this.inputs, comms: this.comms, events: this.events };
    for (let j = 0; j < EVENT_COLUMNS.length; j++) out[EVENT_COLUMNS[j]!.name] = EMPTY_COLUMNS[j];
    const lay = this.cacheLayout;
    // (a column the file does not store is filled from the stored ones it derives from)
    const read = lay.sourcesOf(names);
    for (let j = 0; j < lay.columns.length; j++) {
      const spec = lay.columns[j]!;
      if (!read.has(spec.name)) continue;
      const bytes = block.rows * lay.bytesOf(j);
      let room = columnRoom.get(spec.name);
      if (room === undefined || room.byteLength < bytes) columnRoom.set(spec.name, (room = new ArrayBuffer(bytes)));
      const u8 = new Uint8Array(room, 0, bytes);
      let got = 0;
      while (got < bytes) {
        const r = fs.readSync(this.fd, u8, got, bytes - got, starts[j]! + got);
        if (r === 0) break;
        got += r;
      }
      if (got !== bytes) this.damaged(i, block.offset, `short read of column ${spec.name}`);
      out[spec.name] = new CTOR_OF[spec.type]!(room, 0, block.rows);
    }
    lay.expand(out, block.rows, names, derivedRoom);
    return out as unknown as EventColumns;
  }

  /**
   * Rows [from, from + count) of batch i (clipped to it) as columns of their own, read column by
   * column from the file without the rest of the batch (a page of the table after a jump). From the
   * LRU when the batch is there; a batch not yet checksummed is checksummed whole later (see
   * LAZY_VERIFY_DELAY_MS). Throws CacheCorruptError like readBatch.
   */
  readBatchRows(i: number, from: number, count: number): EventColumns {
    const block = this.meta.blocks[i];
    if (!block) throw new RangeError(`batch ${i} out of range (0..${this.batchCount - 1})`);
    const s = Math.max(0, Math.min(from, block.rows));
    const n = Math.max(0, Math.min(count, block.rows - s));
    const hit = this.lru.get(i);
    if (hit) return sliceColumns(hit, s, n);
    if (this.fd < 0) throw new Error(`${this.path}: trace is closed`);
    if (this.verified[i] === 2) return sliceColumns(this.readBatch(i), s, n); // throws CacheCorruptError
    const starts = this.layout(i);
    const out: Record<string, unknown> = { length: n, inputs: this.inputs, comms: this.comms, events: this.events };
    const lay = this.cacheLayout;
    for (let j = 0; j < lay.columns.length; j++) {
      const size = lay.bytesOf(j);
      const arr = new CTOR_OF[lay.columns[j]!.type]!(n);
      const u8 = new Uint8Array(arr.buffer);
      const pos = starts[j]! + s * size;
      let got = 0;
      while (got < u8.length) {
        const r = fs.readSync(this.fd, u8, got, u8.length - got, pos + got);
        if (r === 0) break;
        got += r;
      }
      if (got !== u8.length) this.damaged(i, block.offset, `short read of column ${lay.columns[j]!.name}`);
      out[lay.columns[j]!.name] = arr;
    }
    lay.expand(out, n);
    if (!this.verified[i]) {
      this.unverified.add(i);
      this.armVerify();
    }
    return out as unknown as EventColumns;
  }

  /** Checksum batches read in part, one per timer tick, after LAZY_VERIFY_DELAY_MS without page reads. */
  private armVerify(): void {
    if (this.verifyTimer) clearTimeout(this.verifyTimer);
    this.verifyTimer = setTimeout(() => {
      this.verifyTimer = null;
      this.verifySome(1);
      if (this.unverified.size > 0) this.armVerify();
    }, LAZY_VERIFY_DELAY_MS);
    this.verifyTimer.unref?.();
  }

  /**
   * Checksum up to `max` batches read in part (all with Infinity); returns how many are left. A
   * damaged one has invalidated the cache entry; its reads throw CacheCorruptError from then on.
   */
  verifySome(max: number): number {
    for (const i of this.unverified) {
      if (max-- <= 0) break;
      this.unverified.delete(i);
      if (this.verified[i] || this.fd < 0) continue;
      try {
        // through the thread's reused frame: a fresh 3.4 MB buffer per batch was ~60% of a check
        this.readBatchBorrow(i);
      } catch {
        // Recorded: readBatch invalidated the entry and keeps throwing for this batch.
      }
    }
    return this.unverified.size;
  }

  /** File offsets of batch i's column values, from its message header (checked against the block). */
  private layout(i: number): Float64Array {
    const have = this.layouts.get(i);
    if (have) return have;
    const block = this.meta.blocks[i]!;
    const head = new Uint8Array(8);
    if (fs.readSync(this.fd, head, 0, 8, block.offset) !== 8) this.damaged(i, block.offset, 'short read of the message header');
    const dv = new DataView(head.buffer);
    const cont = dv.getInt32(0, true) === -1;
    const metaLen = cont ? dv.getInt32(4, true) : dv.getInt32(0, true);
    const metaAt = cont ? 8 : 4;
    if (!(metaLen > 0) || metaAt + metaLen > block.bytes) this.damaged(i, block.offset, `bad metadata length ${metaLen}`);
    const metaBytes = new Uint8Array(metaLen);
    if (fs.readSync(this.fd, metaBytes, 0, metaLen, block.offset + metaAt) !== metaLen) this.damaged(i, block.offset, 'short read of the message header');
    const bodyAt = block.offset + metaAt + metaLen;
    const lay = this.cacheLayout;
    const starts = new Float64Array(lay.columns.length);
    let problem = '';
    try {
      const msg = Message.decode(metaBytes);
      if (!msg.isRecordBatch()) throw new Error('not a record batch message');
      const h = msg.header();
      if (Number(h.length) !== block.rows) throw new Error(`batch has ${Number(h.length)} rows, expected ${block.rows}`);
      if (h.compression) throw new Error('compressed batch');
      if (h.buffers.length !== 2 * lay.columns.length) throw new Error(`${h.buffers.length} buffers, expected ${2 * lay.columns.length}`);
      const bodyLen = Number(msg.bodyLength);
      if (metaAt + metaLen + bodyLen > block.bytes) throw new Error('body runs past the block');
      for (let j = 0; j < lay.columns.length; j++) {
        const b = h.buffers[2 * j + 1]!;
        const off = Number(b.offset);
        const bytes = block.rows * lay.bytesOf(j);
        if (Number(b.length) < bytes || off + bytes > bodyLen) throw new Error(`column ${lay.columns[j]!.name} out of the body`);
        starts[j] = bodyAt + off;
      }
    } catch (e) {
      problem = (e as Error).message;
    }
    if (problem) this.damaged(i, block.offset, problem);
    this.layouts.set(i, starts);
    return starts;
  }

  private damaged(i: number, at: number, why: string): never {
    invalidateEntry(this.cacheDir, this.key, this.meta.arrowFile);
    throw new CacheCorruptError(`${this.path}: cache file ${this.arrowPath} is damaged at byte offset ${at} (batch ${i}: ${why}); re-open the trace to rebuild it`);
  }

  private load(i: number, reuse: Uint8Array | undefined): EventColumns {
    const block = this.meta.blocks[i];
    if (!block) throw new RangeError(`batch ${i} out of range (0..${this.batchCount - 1})`);
    if (this.fd < 0) throw new Error(`${this.path}: trace is closed`);
    const lay = this.cacheLayout;
    const frame = batchMessageFrame(block.bytes, reuse, lay);
    const buf = frame.message;
    let got = 0;
    while (got < block.bytes) {
      const n = fs.readSync(this.fd, buf, got, block.bytes - got, block.offset + got);
      if (n === 0) break;
      got += n;
    }
    let cols: EventColumns;
    try {
      if (got !== block.bytes) throw new Error(`short read (${got} of ${block.bytes} bytes)`);
      const decoded = decodeBatchFrame(frame.buf, block.rows, lay);
      if (this.verified[i] !== 1) {
        if (checksumColumns(decoded, block.rows, lay) !== block.checksum) throw new Error('checksum mismatch');
        this.verified[i] = 1;
      }
      // a borrowed batch (reuse) fills its derived columns into reused buffers too
      lay.expand(decoded as unknown as Record<string, unknown>, block.rows, undefined, reuse ? borrowRoom : undefined);
      cols = { ...decoded, inputs: this.inputs, comms: this.comms as string[], events: this.events as string[] };
    } catch (e) {
      // Never trust it again: the next open rebuilds the entry; page reads of it fail from now on.
      this.verified[i] = 2;
      invalidateEntry(this.cacheDir, this.key, this.meta.arrowFile);
      throw new CacheCorruptError(`${this.path}: cache file ${this.arrowPath} is damaged at byte offset ${block.offset} (batch ${i}: ${(e as Error).message}); re-open the trace to rebuild it`);
    }
    return cols;
  }

  readRows(start: number, count: number): EventColumns {
    return copyRows(this, start, count);
  }

  close(): void {
    if (this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
    this.lru.clear();
    this.unverified.clear();
    if (this.verifyTimer) clearTimeout(this.verifyTimer);
    this.verifyTimer = null;
  }
}

/** Views of rows [s, s + n) of decoded columns. */
function sliceColumns(c: EventColumns, s: number, n: number): EventColumns {
  const out: Record<string, unknown> = { length: n, inputs: c.inputs, comms: c.comms, events: c.events };
  for (const k of COPY_KEYS) out[k] = (c[k] as Float64Array).subarray(s, s + n);
  return out as unknown as EventColumns;
}

/** Uncached trace (--no-cache, or the cache could not be written): the batches stay in memory. */
export class BatchListTrace implements IndexedTrace {
  readonly path: string;
  readonly summary: TraceSummary;
  readonly info: FormatInfo;
  readonly rowCount: number;
  readonly batchRows: number;
  readonly batchCount: number;
  readonly comms: readonly string[];
  readonly events: readonly string[];
  readonly inputs: string[];
  readonly fromCache = false;
  private readonly batches: EventColumns[];

  constructor(path: string, batches: EventColumns[], batchRows: number, r: { summary: TraceSummary; info: FormatInfo; comms: string[]; events: string[]; inputs: string[] }) {
    this.path = path;
    this.batches = batches;
    this.batchRows = batchRows;
    this.batchCount = batches.length;
    this.rowCount = batches.reduce((s, b) => s + b.length, 0);
    this.summary = r.summary;
    this.info = r.info;
    this.comms = r.comms;
    this.events = r.events;
    this.inputs = r.inputs;
    for (const b of batches) {
      b.comms = r.comms;
      b.events = r.events;
      b.inputs = r.inputs;
    }
  }

  readBatch(i: number): EventColumns {
    const b = this.batches[i];
    if (!b) throw new RangeError(`batch ${i} out of range (0..${this.batchCount - 1})`);
    return b;
  }

  readRows(start: number, count: number): EventColumns {
    return copyRows(this, start, count);
  }

  close(): void {}
}

/** Where a GrowingTrace finds batch i: a block of the cache file being written, or a batch in memory. */
export type GrowingSource = { kind: 'file'; fd: number; blocks: readonly BatchBlock[]; layout?: CacheLayout } | { kind: 'memory'; batches: readonly EventColumns[] };

/**
 * The part of a trace indexed so far, while indexing goes on: rowCount and batchCount grow as
 * batches arrive (only whole batches, which never change once written), comms / events are the
 * indexer's tables as of the last batch. `retire()` (the indexing pass ended, or failed) makes every
 * later read fail: the cache file's descriptor is then owned by the finished trace or closed.
 */
export class GrowingTrace implements IndexedTrace {
  readonly path: string;
  readonly info: FormatInfo;
  readonly batchRows: number;
  rowCount = 0;
  batchCount = 0;
  comms: readonly string[] = [];
  events: readonly string[] = [];
  inputs: string[] = [];
  summary: TraceSummary;
  private readonly source: GrowingSource;
  private readonly lru = new Map<number, EventColumns>();
  private retired = false;

  constructor(path: string, info: FormatInfo, summary: TraceSummary, batchRows: number, source: GrowingSource) {
    this.path = path;
    this.info = info;
    this.summary = summary;
    this.batchRows = batchRows;
    this.source = source;
  }

  /** Batch `index` (with `rows` rows) is readable from the source; the tables are as of it. */
  grow(rows: number, tables: { comms: readonly string[]; events: readonly string[]; inputs: readonly string[] }): void {
    this.batchCount++;
    this.rowCount += rows;
    this.comms = tables.comms;
    this.events = tables.events;
    this.inputs = tables.inputs as string[];
  }

  retire(): void {
    this.retired = true;
    this.lru.clear();
  }

  readBatch(i: number): EventColumns {
    if (this.retired) throw new Error(`${this.path}: this partial view of the trace was replaced (indexing ended)`);
    if (i < 0 || i >= this.batchCount) throw new RangeError(`batch ${i} out of range (0..${this.batchCount - 1})`);
    const src = this.source;
    if (src.kind === 'memory') {
      const b = src.batches[i]!;
      return { ...b, inputs: this.inputs, comms: this.comms as string[], events: this.events as string[] };
    }
    const hit = this.lru.get(i);
    if (hit) {
      this.lru.delete(i);
      this.lru.set(i, hit);
      return { ...hit, inputs: this.inputs, comms: this.comms as string[], events: this.events as string[] };
    }
    const block = src.blocks[i]!;
    const lay = src.layout ?? CacheLayout.FULL;
    const frame = batchMessageFrame(block.bytes, undefined, lay);
    let got = 0;
    while (got < block.bytes) {
      const n = fs.readSync(src.fd, frame.message, got, block.bytes - got, block.offset + got);
      if (n === 0) break;
      got += n;
    }
    if (got !== block.bytes) throw new CacheCorruptError(`${this.path}: cache file being written ended early at byte offset ${block.offset + got} (batch ${i})`);
    const decoded = decodeBatchFrame(frame.buf, block.rows, lay);
    if (checksumColumns(decoded, block.rows, lay) !== block.checksum) throw new CacheCorruptError(`${this.path}: cache file being written is damaged at byte offset ${block.offset} (batch ${i}: checksum mismatch)`);
    lay.expand(decoded as unknown as Record<string, unknown>, block.rows);
    const cols: EventColumns = { ...decoded, inputs: this.inputs, comms: this.comms as string[], events: this.events as string[] };
    this.lru.set(i, cols);
    if (this.lru.size > LRU_BATCHES) this.lru.delete(this.lru.keys().next().value as number);
    return cols;
  }

  readRows(start: number, count: number): EventColumns {
    return copyRows(this, start, count);
  }

  /** The descriptor belongs to the indexer (it becomes the finished trace's): nothing to close. */
  close(): void {
    this.lru.clear();
  }
}
