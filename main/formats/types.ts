// The contract every trace format implements: a bounded sniff, a plan (headers, split into
// independent units), and a unit reader that writes scalars into an EventSink. No I/O policy here.

import type { EntityKind, EventKind, Layer } from '../../shared/schema.ts';
import type { ByteSource } from '../engine/io/byte-source.ts';

/** Where readers write events. Implementations keep columns; nothing per event is allocated. */
export interface EventSink {
  /** Intern a comm given as bytes [start, end) of buf (UTF-8); returns its id. */
  commIdBytes(buf: Uint8Array, start: number, end: number): number;
  /** Intern a comm given as a string (binary readers with few distinct names). */
  commId(name: string): number;
  /** Intern an event name given as bytes [start, end) of buf; returns its id. */
  eventIdBytes(buf: Uint8Array, start: number, end: number): number;
  /** Intern an event name given as a string. */
  eventId(name: string): number;
  /**
   * Append one event. See shared/schema.ts for what each column means per kind; absent = -1
   * (prevState absent = NO_STATE).
   */
  append(
    kind: EventKind,
    event: number,
    tsNs: number,
    cpu: number,
    pid: number,
    tid: number,
    comm: number,
    prevTid: number,
    prevComm: number,
    prevState: number,
    arg0: number,
    arg1: number,
    offsetBytes: number,
  ): void;
  /**
   * Multi-input files (`trace-cmd report -i a.dat -i b.dat`): rows appended after this call belong
   * to input `index` (0..255) named `name`. Single-input readers never call it (input 0).
   */
  setInput(index: number, name: string): void;
  /** Number of events appended so far. */
  readonly length: number;
}

/** Problems found while reading; the driver attaches the file name. Bounded by the implementation. */
export interface DiagnosticSink {
  error(offsetBytes: number, message: string, line?: number): void;
  warning(offsetBytes: number, message: string, line?: number): void;
  info(offsetBytes: number, message: string, line?: number): void;
}

/** Thrown by a reader when the input cannot be read at all (wrong format, unrecoverable header). */
export class TraceFormatError extends Error {
  readonly offsetBytes: number;
  readonly line: number | undefined;
  constructor(message: string, offsetBytes: number, line?: number) {
    super(message);
    this.name = 'TraceFormatError';
    this.offsetBytes = offsetBytes;
    this.line = line;
  }
}

/** Cooperative cancellation, checked between chunks. */
export interface CancelSignal {
  readonly cancelled: boolean;
}

/** Facts about a trace that the format knows (structured-cloneable: crosses to workers). */
export interface FormatInfo {
  /** Human-readable format, e.g. 'ftrace text (tracefs)', 'trace.dat v7'. */
  format: string;
  /** Finer variant where useful, e.g. 'trace-cmd report -R', 'perf script'. */
  variant?: string;
  compression?: string;
  clock?: string;
  layerHint?: Layer;
  entity: EntityKind;
  /** CPU frequency used for counter -> ns conversion, when the reader needed one. */
  cpuHz?: number;
  /** Format-specific facts for the summary (host/guest options, page size, ...). JSON-safe. */
  extra?: Record<string, unknown>;
}

export interface ReadUnit {
  /** Byte range this unit reads (for progress): [start, end). */
  start: number;
  end: number;
  label?: string;
  /**
   * 'merge-by-time' plans: a lower bound (ns, same clock as the rows) on the unit's first event
   * time, e.g. the timestamp of its first ring-buffer page. Optional; when every unit has one, the
   * indexer starts units in time order and merges while later units are still unread, so memory
   * stays bounded. Leave it out rather than guess: a wrong bound breaks the time order.
   */
  minTsNs?: number;
}

export interface ReadPlan<Shared = unknown> {
  units: ReadUnit[];
  /** Format state every unit needs (parsed headers, event formats). Structured-cloneable. */
  shared: Shared;
  info: FormatInfo;
  /**
   * 'concat': units' outputs in unit order are in time order (text files).
   * 'merge-by-time': each unit is in time order on its own; the index merges them (per-CPU data).
   */
  order: 'concat' | 'merge-by-time';
}

export interface ReadOptions {
  /** Target unit size for splittable formats. */
  unitBytes?: number;
  /** TSC frequency for formats that record counters only (xentrace). */
  cpuHz?: number;
}

export interface TraceFormat<Shared = unknown> {
  readonly id: string;
  readonly displayName: string;
  /** Decide from a bounded prefix (<= SNIFF_BYTES) whether this reader applies. Never throws. */
  sniff(head: Uint8Array, ctx: { path: string; sizeBytes: number }): boolean;
  /** Coordinator side: read headers and split the file into independently readable units. */
  plan(src: ByteSource, diag: DiagnosticSink, opts: ReadOptions): ReadPlan<Shared>;
  /** Read one unit into the sink (runs in a worker thread for large files). */
  readUnit(
    src: ByteSource,
    plan: ReadPlan<Shared>,
    unitIndex: number,
    sink: EventSink,
    diag: DiagnosticSink,
    signal: CancelSignal,
    progress?: (bytesDone: number) => void,
  ): void;
  /** The original record at a byte offset, as text (for the details pane). */
  describeRecord?(src: ByteSource, plan: ReadPlan<Shared>, offsetBytes: number): string;
}

export const SNIFF_BYTES = 64 * 1024;
