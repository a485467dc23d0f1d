// Read one unit of a plan into fixed-size column chunks and hand each chunk out as a message
// (transferable typed arrays + the strings the unit interned since the previous chunk). Used by
// the ingest worker and, for small inputs, inline on the coordinator thread. No merging here.

import type { Diagnostic } from '../../../shared/result.ts';
import type { ByteSource } from '../io/byte-source.ts';
import { TraceFormatError, type CancelSignal, type ReadPlan, type TraceFormat } from '../../formats/types.ts';
import { DiagnosticCollector } from './diagnostics.ts';
import { EventColumnsBuilder, type ColumnArrays, type EventColumns } from './event-columns.ts';

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
  const sink = new EventColumnsBuilder(chunkRows);
  const diag = new DiagnosticCollector(src.path);
  sink.attachDiagnostics(diag);
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
  sink.onFull = flush;
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
  const u = plan.units[unit];
  bytesDone = u ? u.end - u.start : bytesDone;
  if (sink.length > 0 || sink.comms.size > sentComms || sink.events.size > sentEvents) flush();
  emit({ type: 'unit-done', unit, diagnostics: diag.kept, diagnosticsTotal: diag.total, diagnosticsErrors: diag.errors });
}
