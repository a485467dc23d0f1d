// IndexedTrace backed by a cache entry: record batches are read on demand from the .arrow file by
// positional reads (sync: the engine runs off the UI thread), checked against the checksum in the
// meta, decoded zero-copy, and kept in a small LRU. Also BatchListTrace for uncached opens, and
// GrowingTrace: the batches indexed so far while indexing goes on (the app's early first screen).

import * as fs from 'node:fs';
import type { TraceSummary } from '../../../shared/summary.ts';
import type { FormatInfo } from '../../formats/types.ts';
import { batchMessageFrame, checksumColumns, decodeBatchFrame, type BatchBlock } from './arrow-cache.ts';
import { invalidateEntry, type CacheMeta } from './cache-store.ts';
import type { EventColumns } from './event-columns.ts';
import type { IndexedTrace } from './indexed-trace.ts';

/** Decoded batches kept per trace (4 x 3.4 MB): enough for a window straddling two batches twice. */
const LRU_BATCHES = 4;

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
  const out: EventColumns = {
    length: n,
    ts: new Float64Array(n),
    cpu: new Uint16Array(n),
    kind: new Uint8Array(n),
    event: new Uint16Array(n),
    pid: new Int32Array(n),
    tid: new Int32Array(n),
    comm: new Int32Array(n),
    prevTid: new Int32Array(n),
    prevComm: new Int32Array(n),
    prevState: new Uint16Array(n),
    arg0: new Int32Array(n),
    arg1: new Int32Array(n),
    offset: new Float64Array(n),
    input: new Uint8Array(n),
    inputs: t.inputs ? t.inputs.slice() : [],
    comms: t.comms as string[],
    events: t.events as string[],
  };
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
  private readonly cacheDir: string;
  private readonly key: string;
  private readonly lru = new Map<number, EventColumns>();
  /** Batches whose checksum matched once in this open (re-reads after LRU eviction skip it). */
  private readonly verified: Uint8Array;
  /** readBatchBorrow's reused frame buffer. */
  private scanFrame: Uint8Array | null = null;

  constructor(arrowPath: string, meta: CacheMeta, where: { cacheDir: string; key: string; fromCache: boolean; fd?: number }) {
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
    if (!this.scanFrame || this.scanFrame.length < need) this.scanFrame = new Uint8Array(need);
    return this.load(i, this.scanFrame);
  }

  private load(i: number, reuse: Uint8Array | undefined): EventColumns {
    const block = this.meta.blocks[i];
    if (!block) throw new RangeError(`batch ${i} out of range (0..${this.batchCount - 1})`);
    if (this.fd < 0) throw new Error(`${this.path}: trace is closed`);
    const frame = batchMessageFrame(block.bytes, reuse);
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
      const decoded = decodeBatchFrame(frame.buf, block.rows);
      if (!this.verified[i]) {
        if (checksumColumns(decoded, block.rows) !== block.checksum) throw new Error('checksum mismatch');
        this.verified[i] = 1;
      }
      cols = { ...decoded, inputs: this.inputs, comms: this.comms as string[], events: this.events as string[] };
    } catch (e) {
      // Never trust it again: the next open rebuilds the entry.
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
    this.scanFrame = null;
  }
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
export type GrowingSource = { kind: 'file'; fd: number; blocks: readonly BatchBlock[] } | { kind: 'memory'; batches: readonly EventColumns[] };

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
    const frame = batchMessageFrame(block.bytes);
    let got = 0;
    while (got < block.bytes) {
      const n = fs.readSync(src.fd, frame.message, got, block.bytes - got, block.offset + got);
      if (n === 0) break;
      got += n;
    }
    if (got !== block.bytes) throw new CacheCorruptError(`${this.path}: cache file being written ended early at byte offset ${block.offset + got} (batch ${i})`);
    const decoded = decodeBatchFrame(frame.buf, block.rows);
    if (checksumColumns(decoded, block.rows) !== block.checksum) throw new CacheCorruptError(`${this.path}: cache file being written is damaged at byte offset ${block.offset} (batch ${i}: checksum mismatch)`);
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
