// Growable event columns (typed arrays, doubled on demand) implementing EventSink, plus the
// immutable EventColumns view that the index, model and queries read. No object per event.

import { NO_STATE, UNKNOWN_CPU, type EventKind } from '../../../shared/schema.ts';

/** 2^53: above it a double no longer holds every integer ns. */
const MAX_EXACT_NS = 9007199254740992;
import type { DiagnosticSink, EventSink } from '../../formats/types.ts';
import { Interner } from './interner.ts';

/** A set of event columns of equal length, with its string tables. Structured-cloneable. */
export interface EventColumns {
  length: number;
  ts: Float64Array;
  cpu: Uint16Array;
  kind: Uint8Array;
  event: Uint16Array;
  pid: Int32Array;
  tid: Int32Array;
  comm: Int32Array;
  prevTid: Int32Array;
  prevComm: Int32Array;
  prevState: Uint16Array;
  arg0: Int32Array;
  arg1: Int32Array;
  offset: Float64Array;
  /** input index within a multi-input file (see EventSink.setInput), else 0 */
  input: Uint8Array;
  /** input index -> name (empty for single-input files) */
  inputs: string[];
  /** comm id -> string */
  comms: string[];
  /** event id -> name as the trace spells it */
  events: string[];
}

export const MAX_EVENT_NAMES = 0xfffe;

/** Row `i` of `src` into row `o` of `dst`, every column but `input` (small: V8 inlines it in copy loops). */
export function copyEventRow(src: EventColumns, i: number, dst: EventColumns, o: number): void {
  dst.ts[o] = src.ts[i]!;
  dst.cpu[o] = src.cpu[i]!;
  dst.kind[o] = src.kind[i]!;
  dst.event[o] = src.event[i]!;
  dst.pid[o] = src.pid[i]!;
  dst.tid[o] = src.tid[i]!;
  dst.comm[o] = src.comm[i]!;
  dst.prevTid[o] = src.prevTid[i]!;
  dst.prevComm[o] = src.prevComm[i]!;
  dst.prevState[o] = src.prevState[i]!;
  dst.arg0[o] = src.arg0[i]!;
  dst.arg1[o] = src.arg1[i]!;
  dst.offset[o] = src.offset[i]!;
}

/** `n` zero-filled rows of every column, with the given string tables (shared, not copied). */
export function allocEventColumns(n: number, strings: Pick<EventColumns, 'inputs' | 'comms' | 'events'>): EventColumns {
  return {
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
    inputs: strings.inputs,
    comms: strings.comms,
    events: strings.events,
  };
}

/** The typed arrays of a set of columns, without length or string tables (buffer recycling). */
export type ColumnArrays = Omit<EventColumns, 'length' | 'inputs' | 'comms' | 'events'>;

export class EventColumnsBuilder implements EventSink {
  private cap: number;
  private n = 0;
  ts: Float64Array;
  cpu: Uint16Array;
  kind: Uint8Array;
  event: Uint16Array;
  pid: Int32Array;
  tid: Int32Array;
  comm: Int32Array;
  prevTid: Int32Array;
  prevComm: Int32Array;
  prevState: Uint16Array;
  arg0: Int32Array;
  arg1: Int32Array;
  offset: Float64Array;
  input: Uint8Array;
  private currentInput = 0;
  readonly inputs: string[] = [];
  readonly comms = new Interner();
  readonly events = new Interner();
  /**
   * When set, called instead of growing when the columns are full (the streaming indexer hands
   * full columns to its consumer with detachColumns() and keeps a fixed capacity).
   */
  onFull: (() => void) | null = null;
  /** Where out-of-range values are reported (see attachDiagnostics). */
  private diag: DiagnosticSink | null = null;
  private readonly rangeReported = new Set<string>();
  /** Rows that held a value the columns cannot represent (stored as unknown). */
  outOfRangeValues = 0;

  /** Report values the columns cannot hold (first of each kind) to `diag`, with the byte offset. */
  attachDiagnostics(diag: DiagnosticSink): void {
    this.diag = diag;
  }

  private outOfRange(what: string, value: number, offsetBytes: number, replacement: number, stored = 'stored as unknown'): number {
    this.outOfRangeValues++;
    if (this.diag && !this.rangeReported.has(what)) {
      this.rangeReported.add(what);
      this.diag.warning(offsetBytes, `${what} ${value} is out of range (${stored}; later ones are not reported)`);
    }
    return replacement;
  }

  constructor(initialCapacity = 1024) {
    this.cap = Math.max(16, initialCapacity);
    const c = this.cap;
    this.ts = new Float64Array(c);
    this.cpu = new Uint16Array(c);
    this.kind = new Uint8Array(c);
    this.event = new Uint16Array(c);
    this.pid = new Int32Array(c);
    this.tid = new Int32Array(c);
    this.comm = new Int32Array(c);
    this.prevTid = new Int32Array(c);
    this.prevComm = new Int32Array(c);
    this.prevState = new Uint16Array(c);
    this.arg0 = new Int32Array(c);
    this.arg1 = new Int32Array(c);
    this.offset = new Float64Array(c);
    this.input = new Uint8Array(c);
  }

  get length(): number {
    return this.n;
  }

  commIdBytes(buf: Uint8Array, start: number, end: number): number {
    return this.comms.internBytes(buf, start, end);
  }

  commId(name: string): number {
    return this.comms.intern(name);
  }

  eventIdBytes(buf: Uint8Array, start: number, end: number): number {
    const id = this.events.internBytes(buf, start, end);
    return id < MAX_EVENT_NAMES ? id : MAX_EVENT_NAMES;
  }

  setInput(index: number, name: string): void {
    const i = Math.max(0, Math.min(255, index | 0));
    this.currentInput = i;
    while (this.inputs.length <= i) this.inputs.push('');
    this.inputs[i] = name;
  }

  eventId(name: string): number {
    const id = this.events.intern(name);
    return id < MAX_EVENT_NAMES ? id : MAX_EVENT_NAMES;
  }

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
  ): void {
    // Values the columns cannot hold (a CPU past 65535, a tid past int32) would be truncated
    // silently by the typed arrays: mark them unknown instead and say so once per kind of value.
    if (!(tsNs <= MAX_EXACT_NS && tsNs >= -MAX_EXACT_NS) || cpu >>> 0 !== cpu || cpu > 0xffff || (pid | 0) !== pid || (tid | 0) !== tid || (prevTid | 0) !== prevTid || (arg0 | 0) !== arg0 || (arg1 | 0) !== arg1) {
      // A timestamp doubles cannot hold exactly (or not a number at all): keep the previous time.
      if (!(tsNs <= MAX_EXACT_NS && tsNs >= -MAX_EXACT_NS)) tsNs = this.outOfRange('timestamp', tsNs, offsetBytes, this.n > 0 ? this.ts[this.n - 1]! : 0, 'kept the previous time');
      if (cpu >>> 0 !== cpu || cpu > 0xffff) cpu = this.outOfRange('CPU', cpu, offsetBytes, UNKNOWN_CPU);
      if ((pid | 0) !== pid) pid = this.outOfRange('pid', pid, offsetBytes, -2);
      if ((tid | 0) !== tid) tid = this.outOfRange('pid', tid, offsetBytes, -2);
      if ((prevTid | 0) !== prevTid) prevTid = this.outOfRange('pid', prevTid, offsetBytes, -2);
      if ((arg0 | 0) !== arg0) arg0 = this.outOfRange('argument', arg0, offsetBytes, -2);
      if ((arg1 | 0) !== arg1) arg1 = this.outOfRange('argument', arg1, offsetBytes, -2);
    }
    let i = this.n;
    if (i === this.cap) {
      if (this.onFull) {
        this.onFull();
        i = this.n;
        if (i === this.cap) this.grow();
      } else this.grow();
    }
    this.ts[i] = tsNs;
    this.cpu[i] = cpu;
    this.kind[i] = kind;
    this.event[i] = event;
    this.pid[i] = pid;
    this.tid[i] = tid;
    this.comm[i] = comm;
    this.prevTid[i] = prevTid;
    this.prevComm[i] = prevComm;
    this.prevState[i] = prevState < 0 ? NO_STATE : prevState;
    this.arg0[i] = arg0;
    this.arg1[i] = arg1;
    this.offset[i] = offsetBytes;
    this.input[i] = this.currentInput;
    this.n = i + 1;
  }

  /**
   * Hand over the current arrays (rows [0, length) valid; capacity may be larger) and continue with
   * `next` (recycled arrays; used only if each has this builder's capacity) or fresh arrays of the
   * same capacity. String tables are kept. No copy.
   */
  detachColumns(next?: ColumnArrays): EventColumns {
    const out: EventColumns = {
      length: this.n,
      ts: this.ts,
      cpu: this.cpu,
      kind: this.kind,
      event: this.event,
      pid: this.pid,
      tid: this.tid,
      comm: this.comm,
      prevTid: this.prevTid,
      prevComm: this.prevComm,
      prevState: this.prevState,
      arg0: this.arg0,
      arg1: this.arg1,
      offset: this.offset,
      input: this.input,
      inputs: this.inputs.slice(),
      comms: this.comms.valuesBorrow() as string[],
      events: this.events.valuesBorrow() as string[],
    };
    const c = this.cap;
    const reuse =
      next !== undefined &&
      [next.ts, next.cpu, next.kind, next.event, next.pid, next.tid, next.comm, next.prevTid, next.prevComm, next.prevState, next.arg0, next.arg1, next.offset, next.input].every(
        (a) => a.length === c,
      );
    this.ts = reuse ? next.ts : new Float64Array(c);
    this.cpu = reuse ? next.cpu : new Uint16Array(c);
    this.kind = reuse ? next.kind : new Uint8Array(c);
    this.event = reuse ? next.event : new Uint16Array(c);
    this.pid = reuse ? next.pid : new Int32Array(c);
    this.tid = reuse ? next.tid : new Int32Array(c);
    this.comm = reuse ? next.comm : new Int32Array(c);
    this.prevTid = reuse ? next.prevTid : new Int32Array(c);
    this.prevComm = reuse ? next.prevComm : new Int32Array(c);
    this.prevState = reuse ? next.prevState : new Uint16Array(c);
    this.arg0 = reuse ? next.arg0 : new Int32Array(c);
    this.arg1 = reuse ? next.arg1 : new Int32Array(c);
    this.offset = reuse ? next.offset : new Float64Array(c);
    this.input = reuse ? next.input : new Uint8Array(c);
    this.n = 0;
    return out;
  }

  /** Drop all rows (string tables are kept). */
  reset(): void {
    this.n = 0;
  }

  private grow(): void {
    const c = this.cap * 2;
    this.ts = growF64(this.ts, c);
    this.cpu = growU16(this.cpu, c);
    this.kind = growU8(this.kind, c);
    this.event = growU16(this.event, c);
    this.pid = growI32(this.pid, c);
    this.tid = growI32(this.tid, c);
    this.comm = growI32(this.comm, c);
    this.prevTid = growI32(this.prevTid, c);
    this.prevComm = growI32(this.prevComm, c);
    this.prevState = growU16(this.prevState, c);
    this.arg0 = growI32(this.arg0, c);
    this.arg1 = growI32(this.arg1, c);
    this.offset = growF64(this.offset, c);
    this.input = growU8(this.input, c);
    this.cap = c;
  }

  /** Exact-length copies of the columns plus the string tables (safe to transfer to another thread). */
  finishCopy(): EventColumns {
    const n = this.n;
    return {
      length: n,
      ts: this.ts.slice(0, n),
      cpu: this.cpu.slice(0, n),
      kind: this.kind.slice(0, n),
      event: this.event.slice(0, n),
      pid: this.pid.slice(0, n),
      tid: this.tid.slice(0, n),
      comm: this.comm.slice(0, n),
      prevTid: this.prevTid.slice(0, n),
      prevComm: this.prevComm.slice(0, n),
      prevState: this.prevState.slice(0, n),
      arg0: this.arg0.slice(0, n),
      arg1: this.arg1.slice(0, n),
      offset: this.offset.slice(0, n),
      input: this.input.slice(0, n),
      inputs: this.inputs.slice(),
      comms: this.comms.valuesBorrow().slice(),
      events: this.events.valuesBorrow().slice(),
    };
  }

  /** Views of the live columns (no copy). Valid until the next append. Copy it if you keep it. */
  columnsBorrow(): EventColumns {
    const n = this.n;
    return {
      length: n,
      ts: this.ts.subarray(0, n),
      cpu: this.cpu.subarray(0, n),
      kind: this.kind.subarray(0, n),
      event: this.event.subarray(0, n),
      pid: this.pid.subarray(0, n),
      tid: this.tid.subarray(0, n),
      comm: this.comm.subarray(0, n),
      prevTid: this.prevTid.subarray(0, n),
      prevComm: this.prevComm.subarray(0, n),
      prevState: this.prevState.subarray(0, n),
      arg0: this.arg0.subarray(0, n),
      arg1: this.arg1.subarray(0, n),
      offset: this.offset.subarray(0, n),
      input: this.input.subarray(0, n),
      inputs: this.inputs,
      comms: this.comms.valuesBorrow() as string[],
      events: this.events.valuesBorrow() as string[],
    };
  }
}

function growF64(a: Float64Array, c: number): Float64Array {
  const b = new Float64Array(c);
  b.set(a);
  return b;
}
function growI32(a: Int32Array, c: number): Int32Array {
  const b = new Int32Array(c);
  b.set(a);
  return b;
}
function growU16(a: Uint16Array, c: number): Uint16Array {
  const b = new Uint16Array(c);
  b.set(a);
  return b;
}
function growU8(a: Uint8Array, c: number): Uint8Array {
  const b = new Uint8Array(c);
  b.set(a);
  return b;
}
