// What consumers (model, queries, CLI) read: one indexed trace file as fixed-size row batches of
// event columns plus its summary and string tables. The cache-backed implementation reads batches
// from the Arrow IPC cache by positional reads; MemoryIndexedTrace wraps in-memory columns (tests).

import type { EventColumnName } from '../../../shared/schema.ts';
import type { TraceSummary } from '../../../shared/summary.ts';
import type { FormatInfo } from '../../formats/types.ts';
import type { EventColumns } from './event-columns.ts';

export interface IndexedTrace {
  readonly path: string;
  readonly summary: TraceSummary;
  readonly info: FormatInfo;
  readonly rowCount: number;
  /** Rows per batch (every batch but the last has exactly this many). */
  readonly batchRows: number;
  readonly batchCount: number;
  /** comm id -> string; event id -> name. */
  readonly comms: readonly string[];
  readonly events: readonly string[];
  /** Input index -> name for multi-input files (trace-cmd report -i a -i b); empty otherwise. */
  readonly inputs?: readonly string[];
  /** Batch i (rows [i*batchRows, ...)). The returned columns' comms/events are the tables above. */
  readBatch(i: number): EventColumns;
  /**
   * Batch i for one pass over the trace (a scan): valid until the next readBatchBorrow call (of any
   * trace on this thread: cached traces share one buffer), not kept in the batch cache, and its
   * bytes land in a buffer reused by the next call. Optional: callers fall back to readBatch.
   */
  readBatchBorrow?(i: number): EventColumns;
  /**
   * readBatchBorrow with only the named columns (the others empty) when the trace can read them
   * alone (a cached batch that needs no checksum check); null otherwise. Optional.
   */
  readBatchColumns?(i: number, names: readonly EventColumnName[]): EventColumns | null;
  /**
   * Rows [from, from+count) of batch i (clipped to the batch) without reading the rest of it (a page
   * of the table). Optional: callers fall back to readBatch.
   */
  readBatchRows?(i: number, from: number, count: number): EventColumns;
  /** Rows [start, start+count) clipped to the trace, copied into new columns. */
  readRows(start: number, count: number): EventColumns;
  close(): void;
}

export class MemoryIndexedTrace implements IndexedTrace {
  readonly path: string;
  readonly summary: TraceSummary;
  readonly info: FormatInfo;
  readonly rowCount: number;
  readonly batchRows: number;
  readonly batchCount: number;
  readonly comms: readonly string[];
  readonly events: readonly string[];
  private readonly cols: EventColumns;

  constructor(path: string, cols: EventColumns, summary: TraceSummary, info: FormatInfo, batchRows = 65536) {
    this.path = path;
    this.cols = cols;
    this.summary = summary;
    this.info = info;
    this.rowCount = cols.length;
    this.batchRows = batchRows;
    this.batchCount = Math.ceil(cols.length / batchRows);
    this.comms = cols.comms;
    this.events = cols.events;
  }

  readBatch(i: number): EventColumns {
    return this.readRows(i * this.batchRows, this.batchRows);
  }

  readRows(start: number, count: number): EventColumns {
    const s = Math.max(0, Math.min(start, this.rowCount));
    const e = Math.max(s, Math.min(this.rowCount, s + count));
    const c = this.cols;
    return {
      length: e - s,
      ts: c.ts.slice(s, e),
      cpu: c.cpu.slice(s, e),
      kind: c.kind.slice(s, e),
      event: c.event.slice(s, e),
      pid: c.pid.slice(s, e),
      tid: c.tid.slice(s, e),
      comm: c.comm.slice(s, e),
      prevTid: c.prevTid.slice(s, e),
      prevComm: c.prevComm.slice(s, e),
      prevState: c.prevState.slice(s, e),
      arg0: c.arg0.slice(s, e),
      arg1: c.arg1.slice(s, e),
      offset: c.offset.slice(s, e),
      input: c.input.slice(s, e),
      inputs: c.inputs,
      comms: c.comms,
      events: c.events,
    };
  }

  close(): void {}
}
