// Read one unit of a plan into fixed-size column chunks and hand each chunk out as a message
// (transferable typed arrays + the strings the unit interned since the previous chunk). Used by
// the ingest worker and, for small inputs, inline on the coordinator thread. Units of plans with
// cpuTieRank (several CPUs per unit, e.g. xentrace) are merged by time here, in the worker.

import type { Diagnostic } from '../../../shared/result.ts';
import type { ByteSource } from '../io/byte-source.ts';
import { TraceFormatError, type CancelSignal, type ReadPlan, type TraceFormat } from '../../formats/types.ts';
import { DiagnosticCollector } from './diagnostics.ts';
import { allocEventColumns, EventColumnsBuilder, type ColumnArrays, type EventColumns } from './event-columns.ts';

export interface ChunkMessage {
  type: 'chunk';
  unit: number;
  /** Columns with rows [0, length) valid; ids are unit-local (see newComms/newEvents). */
  cols: EventColumns;
  /** Strings the unit interned since its previous chunk, in id order (local ids continue). */
  newComms: string[];
  newEvents: string[];
  /** Bytes of the unit read so far (from the reader's progress callback; 0 if it gives none). */
  unitBytesDone: number;
}

export interface UnitDoneMessage {
  type: 'unit-done';
  unit: number;
  diagnostics: Diagnostic[];
  diagnosticsTotal: number;
  diagnosticsErrors: number;
}

export interface UnitErrorMessage {
  type: 'unit-error';
  unit: number;
  message: string;
  /** Set for TraceFormatError (bad input); absent for internal failures. */
  offsetBytes?: number;
  line?: number;
  badInput: boolean;
}

export type UnitMessage = ChunkMessage | UnitDoneMessage | UnitErrorMessage;

/**
 * A format from a module URL (formats outside the registry: tests, plugins): the export named by
 * the URL's `#fragment`, else the export `format`.
 */
export async function loadFormatModule(url: string): Promise<TraceFormat | undefined> {
  const hash = url.indexOf('#');
  const name = hash >= 0 ? url.slice(hash + 1) : 'format';
  const mod = (await import(hash >= 0 ? url.slice(0, hash) : url)) as Record<string, TraceFormat | undefined>;
  return mod[name];
}

export function transferList(c: ColumnArrays): ArrayBuffer[] {
  return [c.ts, c.cpu, c.kind, c.event, c.pid, c.tid, c.comm, c.prevTid, c.prevComm, c.prevState, c.arg0, c.arg1, c.offset, c.input].map(
    (a) => a.buffer as ArrayBuffer,
  );
}

/**
 * Plans whose units hold several CPUs' rows (each CPU's rows in time order, CPUs interleaved) give
 * each CPU a tie rank (see ingest.ts TieRankedPlan): such a unit is read whole, then ordered here.
 */
interface TieRanked {
  cpuTieRank?: readonly number[];
}

let orderA = new Int32Array(0);
let orderB = new Int32Array(0);
let keyA = new Float64Array(0);
let keyB = new Float64Array(0);
const rankOfCpu = new Int32Array(65536);

/**
 * The order of rows [0, n) by (ts, ranks[cpu]), rows of one CPU keeping their order (each CPU's
 * rows must be in time order). Groups the rows by CPU (stable), then merges the groups pairwise,
 * bottom up: log2(CPUs) sequential passes over (ts, row) pairs; a heap per row was ~3x slower (runs
 * of one CPU are 1-2 rows long in xentrace). Returns a view of a reused buffer.
 */
export function timeRankOrder(ts: Float64Array, cpu: Uint16Array, n: number, ranks: readonly number[]): Int32Array {
  if (orderA.length < n) {
    const cap = Math.max(n, orderA.length * 2);
    orderA = new Int32Array(cap);
    orderB = new Int32Array(cap);
    keyA = new Float64Array(cap);
    keyB = new Float64Array(cap);
  }
  // Counting sort by CPU (first-appearance order of the CPUs), stable.
  const slotOf = new Map<number, number>();
  const counts: number[] = [];
  const cpus: number[] = [];
  let lastCpu = -1;
  let lastSlot = -1;
  const slotRow = orderB; // scratch: slot of each row
  for (let i = 0; i < n; i++) {
    const c = cpu[i]!;
    if (c !== lastCpu) {
      let sl = slotOf.get(c);
      if (sl === undefined) {
        sl = counts.length;
        slotOf.set(c, sl);
        counts.push(0);
        cpus.push(c);
      }
      lastCpu = c;
      lastSlot = sl;
    }
    counts[lastSlot]!++;
    slotRow[i] = lastSlot;
  }
  const nSlots = counts.length;
  const fill = new Int32Array(nSlots);
  const bounds: number[] = [];
  for (let s = 0, acc = 0; s < nSlots; s++) {
    fill[s] = acc;
    bounds.push(acc);
    acc += counts[s]!;
  }
  bounds.push(n);
  let order = orderA;
  let key = keyA;
  let order2 = orderB;
  let key2 = keyB;
  for (let i = 0; i < n; i++) {
    const o = fill[slotRow[i]!]!++;
    order[o] = i;
    key[o] = ts[i]!;
  }
  for (let s = 0; s < nSlots; s++) rankOfCpu[cpus[s]!] = ranks[cpus[s]!] ?? 0;
  let b = bounds;
  while (b.length > 2) {
    const next: number[] = [];
    for (let g = 0; g + 1 < b.length; g += 2) {
      const a0 = b[g]!;
      const a1 = b[g + 1]!;
      next.push(a0);
      if (g + 2 >= b.length) {
        order2.set(order.subarray(a0, a1), a0);
        key2.set(key.subarray(a0, a1), a0);
        continue;
      }
      const b1 = b[g + 2]!;
      let i = a0;
      let j = a1;
      let o = a0;
      while (i < a1 && j < b1) {
        const ki = key[i]!;
        const kj = key[j]!;
        // Equal times: the lower rank first (the two sides never share a CPU).
        if (ki < kj || (ki === kj && rankOfCpu[cpu[order[i]!]!]! < rankOfCpu[cpu[order[j]!]!]!)) {
          order2[o] = order[i]!;
          key2[o++] = ki;
          i++;
        } else {
          order2[o] = order[j]!;
          key2[o++] = kj;
          j++;
        }
      }
      for (; i < a1; i++, o++) {
        order2[o] = order[i]!;
        key2[o] = key[i]!;
      }
      for (; j < b1; j++, o++) {
        order2[o] = order[j]!;
        key2[o] = key[j]!;
      }
    }
    next.push(n);
    b = next;
    const t = order;
    order = order2;
    order2 = t;
    const tk = key;
    key = key2;
    key2 = tk;
  }
  return order.subarray(0, n);
}

/**
 * A merged unit is read whole before it is ordered: one growable builder per thread, reused for
 * every merged unit (a fresh one per unit zeroed and collected ~14 MB per 4 MiB unit: about as much
 * CPU as the merge itself). Its string tables carry over between units, so each unit's first chunk
 * sends the whole table (local ids stay valid); it is replaced when the tables grow past a bound.
 */
let sharedMergeSink: EventColumnsBuilder | null = null;
const MERGE_SINK_MAX_STRINGS = 4096;

function mergeSink(): EventColumnsBuilder {
  const s = sharedMergeSink;
  if (s === null || s.comms.size + s.events.size > MERGE_SINK_MAX_STRINGS) {
    sharedMergeSink = new EventColumnsBuilder(1 << 18);
    return sharedMergeSink;
  }
  s.reset();
  return s;
}

// out[k] = src[order[from + k]] for k < count. One function per array type: a generic one saw four
// types and its element accesses went megamorphic (~1 s of CPU per 23M rows in the profile).
function gatherF64(src: Float64Array, out: Float64Array, order: Int32Array, from: number, count: number): void {
  for (let k = 0; k < count; k++) out[k] = src[order[from + k]!]!;
}
function gatherI32(src: Int32Array, out: Int32Array, order: Int32Array, from: number, count: number): void {
  for (let k = 0; k < count; k++) out[k] = src[order[from + k]!]!;
}
function gatherU16(src: Uint16Array, out: Uint16Array, order: Int32Array, from: number, count: number): void {
  for (let k = 0; k < count; k++) out[k] = src[order[from + k]!]!;
}
function gatherU8(src: Uint8Array, out: Uint8Array, order: Int32Array, from: number, count: number): void {
  for (let k = 0; k < count; k++) out[k] = src[order[from + k]!]!;
}

function freshArrays(rows: number): ColumnArrays {
  const { length: _length, inputs: _inputs, comms: _comms, events: _events, ...arrays } = allocEventColumns(rows, { inputs: [], comms: [], events: [] });
  return arrays;
}

export function runUnit(
  format: TraceFormat,
  src: ByteSource,
  plan: ReadPlan,
  unit: number,
  chunkRows: number,
  signal: CancelSignal,
  emit: (m: UnitMessage) => void,
  /** Recycled column arrays (chunkRows capacity) the consumer is done with, if any. */
  takeFree?: () => ColumnArrays | undefined,
): void {
  const ranks = (plan as TieRanked).cpuTieRank;
  const merge = plan.order === 'merge-by-time' && Array.isArray(ranks) && ranks.length > 0;
  const u = plan.units[unit];
  const sink = merge ? mergeSink() : new EventColumnsBuilder(chunkRows);
  const diag = new DiagnosticCollector(src.path);
  sink.attachDiagnostics(diag);
  // (A reused merge builder's tables may hold earlier units' strings: sent again, in id order.)
  let sentComms = 0;
  let sentEvents = 0;
  let bytesDone = 0;
  const flush = (): void => {
    const comms = sink.comms.valuesBorrow();
    const events = sink.events.valuesBorrow();
    const newComms = comms.slice(sentComms);
    const newEvents = events.slice(sentEvents);
    sentComms = comms.length;
    sentEvents = events.length;
    const cols = sink.detachColumns(takeFree?.());
    // Drop the table references: the receiver gets only the deltas above.
    cols.comms = [];
    cols.events = [];
    emit({ type: 'chunk', unit, cols, newComms, newEvents, unitBytesDone: bytesDone });
  };
  if (!merge) sink.onFull = flush;
  try {
    format.readUnit(src, plan, unit, sink, diag, signal, (b) => {
      bytesDone = b;
    });
  } catch (e) {
    if (e instanceof TraceFormatError) {
      const m: UnitErrorMessage = { type: 'unit-error', unit, message: e.message, offsetBytes: e.offsetBytes, badInput: true };
      if (e.line !== undefined) m.line = e.line;
      emit(m);
    } else {
      emit({ type: 'unit-error', unit, message: e instanceof Error ? e.message : String(e), badInput: false });
    }
    return;
  }
  bytesDone = u ? u.end - u.start : bytesDone;
  if (merge && sink.length > 0) {
    // Chunks of the unit's rows in (ts, rank) order, gathered column by column.
    const n = sink.length;
    const order = timeRankOrder(sink.ts, sink.cpu, n, ranks);
    for (let from = 0; from < n; from += chunkRows) {
      const count = Math.min(chunkRows, n - from);
      const free = takeFree?.();
      const a = free && free.ts.length >= chunkRows ? free : freshArrays(chunkRows);
      gatherF64(sink.ts, a.ts, order, from, count);
      gatherU16(sink.cpu, a.cpu, order, from, count);
      gatherU8(sink.kind, a.kind, order, from, count);
      gatherU16(sink.event, a.event, order, from, count);
      gatherI32(sink.pid, a.pid, order, from, count);
      gatherI32(sink.tid, a.tid, order, from, count);
      gatherI32(sink.comm, a.comm, order, from, count);
      gatherI32(sink.prevTid, a.prevTid, order, from, count);
      gatherI32(sink.prevComm, a.prevComm, order, from, count);
      gatherU16(sink.prevState, a.prevState, order, from, count);
      gatherI32(sink.arg0, a.arg0, order, from, count);
      gatherI32(sink.arg1, a.arg1, order, from, count);
      gatherF64(sink.offset, a.offset, order, from, count);
      gatherU8(sink.input, a.input, order, from, count);
      const comms = sink.comms.valuesBorrow();
      const events = sink.events.valuesBorrow();
      const newComms = comms.slice(sentComms);
      const newEvents = events.slice(sentEvents);
      sentComms = comms.length;
      sentEvents = events.length;
      const cols: EventColumns = { ...a, length: count, inputs: sink.inputs.slice(), comms: [], events: [] };
      emit({ type: 'chunk', unit, cols, newComms, newEvents, unitBytesDone: bytesDone });
    }
  } else if (sink.length > 0 || sink.comms.size > sentComms || sink.events.size > sentEvents) flush();
  emit({ type: 'unit-done', unit, diagnostics: diag.kept, diagnosticsTotal: diag.total, diagnosticsErrors: diag.errors });
}
