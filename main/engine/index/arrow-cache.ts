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
  Uint8,
  makeData,
  type DataType,
} from 'apache-arrow';
import { EVENT_COLUMNS, type ColumnSpec } from '../../../shared/schema.ts';
import type { EventColumns } from './event-columns.ts';
import { CacheWriterThread } from './cache-writer.ts';

type TypedColumn = Float64Array | Int32Array | Uint16Array | Uint8Array;

function arrowType(t: ColumnSpec['type']): DataType {
  switch (t) {
    case 'f64':
      return new Float64();
    case 'i32':
      return new Int32();
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

/** Wrap `n` rows of columns as a RecordBatch without copying (makeData over the typed arrays). */
export function toRecordBatch(c: EventColumns, n: number): RecordBatch {
  const children = EVENT_COLUMNS.map((spec, i) => {
    const arr = (c as unknown as Record<string, TypedColumn>)[spec.name]!;
    return makeData({ type: EVENT_FIELDS[i]!.type, length: n, nullCount: 0, data: arr.length === n ? arr : arr.subarray(0, n) });
  });
  const data = makeData({ type: new Struct(EVENT_FIELDS), length: n, nullCount: 0, children });
  return new RecordBatch(EVENT_SCHEMA, data);
}

/**
 * Checksum of a batch's column values (Fletcher-style sums over little-endian 32-bit words in four
 * lanes, then the tail bytes), computed on the arrays written and on the arrays decoded, so it
 * does not depend on how the IPC writer chunks its output. ~1.4 ms per 65536-row batch (3.4 MB) on
 * the 2-core bench machine under load 6, i.e. < 5% of the ingest time of the same rows.
 */
export function checksumColumns(c: Omit<EventColumns, 'comms' | 'events' | 'inputs'>, rows: number): string {
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
  for (const spec of EVENT_COLUMNS) {
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

  constructor(fd: number, options: { path?: string } = {}) {
    this.sink = new FdSink(fd, options.path);
    this.writer = new RecordBatchFileWriter();
    this.writer.reset(this.sink as unknown as AsyncByteQueue, EVENT_SCHEMA);
  }

  get bytesWritten(): number {
    return this.sink.position;
  }

  writeBatch(c: EventColumns, rows: number): void {
    if (rows === 0) return;
    const start = this.sink.position;
    const checksum = checksumColumns(c, rows);
    this.writer.write(toRecordBatch(c, rows));
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

/** The schema message as an IPC stream prefix (to decode a single batch message read from the file). */
function schemaStreamPrefix(): Uint8Array {
  const w = new RecordBatchStreamWriter();
  w.reset(undefined, EVENT_SCHEMA);
  return w.toUint8Array(true).slice();
}

const EOS = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
let prefixCache: Uint8Array | null = null;

/** The columns of one batch message (bytes exactly as in BatchBlock). Views into a fresh buffer. */
export function decodeBatchMessage(message: Uint8Array, expectRows: number): Omit<EventColumns, 'comms' | 'events' | 'inputs'> {
  const framed = batchMessageFrame(message.length);
  framed.message.set(message);
  return decodeBatchFrame(framed.buf, expectRows);
}

/**
 * A buffer for one batch message with the schema prefix and end-of-stream marker around it: read the
 * message's bytes straight into `message`, then decodeBatchFrame(buf). Saves decodeBatchMessage's
 * copy of each 3.4 MB batch (and its garbage) on every cached read. `reuse`: a buffer to frame in
 * when it is large enough (the frame is then a view of it; decoded columns alias it).
 */
export function batchMessageFrame(messageBytes: number, reuse?: Uint8Array): { buf: Uint8Array; message: Uint8Array } {
  prefixCache ??= schemaStreamPrefix();
  const pre = prefixCache;
  const total = pre.length + messageBytes + EOS.length;
  const buf = reuse && reuse.length >= total ? reuse.subarray(0, total) : new Uint8Array(total);
  buf.set(pre, 0);
  buf.set(EOS, pre.length + messageBytes);
  return { buf, message: buf.subarray(pre.length, pre.length + messageBytes) };
}

/** decodeBatchMessage on a batchMessageFrame() buffer whose message has been filled in. */
export function decodeBatchFrame(buf: Uint8Array, expectRows: number): Omit<EventColumns, 'comms' | 'events' | 'inputs'> {
  const reader = RecordBatchReader.from(buf);
  const r = reader.next();
  if (r.done || !r.value) throw new Error('no record batch in message');
  const batch = r.value as RecordBatch;
  if (batch.numRows !== expectRows) throw new Error(`batch has ${batch.numRows} rows, expected ${expectRows}`);
  const out: Record<string, unknown> = { length: batch.numRows };
  for (const spec of EVENT_COLUMNS) {
    const child = batch.getChild(spec.name);
    const d = child?.data[0];
    if (!child || !d || child.data.length !== 1) throw new Error(`batch lacks column ${spec.name}`);
    const values = d.values as TypedColumn;
    out[spec.name] = values.length === batch.numRows ? values : values.subarray(0, batch.numRows);
  }
  return out as unknown as Omit<EventColumns, 'comms' | 'events' | 'inputs'>;
}
