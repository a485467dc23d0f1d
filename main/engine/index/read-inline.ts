// Read a whole source into one EventColumns on the calling thread: plan, every unit in order, and
// (for per-CPU formats) a stable merge by time. For tests, small files and the fuzz harness; the
// indexer (ingest.ts) does the same in parallel, streaming to the cache.

import type { ByteSource } from '../io/byte-source.ts';
import type { CancelSignal, FormatInfo, ReadOptions, TraceFormat } from '../../formats/types.ts';
import { DiagnosticCollector } from './diagnostics.ts';
import { EventColumnsBuilder, type EventColumns } from './event-columns.ts';
import { permuteColumns, sortColumnsByTime } from './sort.ts';
import type { TieRankedPlan } from './ingest.ts';
import { timeRankOrder } from './ingest-unit.ts';

export interface InlineReadResult {
  columns: EventColumns;
  info: FormatInfo;
  diagnostics: DiagnosticCollector;
}

export function readInline(
  format: TraceFormat,
  src: ByteSource,
  opts: ReadOptions = {},
  signal: CancelSignal = { cancelled: false },
): InlineReadResult {
  const diagnostics = new DiagnosticCollector(src.path);
  const plan = format.plan(src, diagnostics, opts);
  const sink = new EventColumnsBuilder(1024);
  sink.attachDiagnostics(diagnostics);
  const runStarts: number[] = [];
  for (let u = 0; u < plan.units.length; u++) {
    if (signal.cancelled) break;
    runStarts.push(sink.length);
    format.readUnit(src, plan, u, sink, diagnostics, signal);
  }
  let columns = sink.finishCopy();
  const ranks = (plan as TieRankedPlan).cpuTieRank;
  if (plan.order === 'merge-by-time') {
    columns = Array.isArray(ranks) && ranks.length > 0 ? mergeRankedRuns(columns, ranks) : sortColumnsByTime(columns, runStarts);
  }
  return { columns, info: plan.info, diagnostics };
}

/**
 * The indexer's order for plans with cpuTieRank (see ingest.ts): every row by (ts, cpuTieRank[cpu]),
 * each CPU's rows keeping their order (the units continue each CPU's sequence).
 */
function mergeRankedRuns(c: EventColumns, ranks: readonly number[]): EventColumns {
  const order = timeRankOrder(c.ts, c.cpu, c.length, ranks);
  return permuteColumns(c, new Uint32Array(order.buffer, order.byteOffset, order.length));
}
