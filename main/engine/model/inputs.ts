// Multi-input files (`trace-cmd report -i host.dat -i guest.dat` prints both, each line prefixed by
// its input; the reader keeps that in the `input` column): one IndexedTrace view per input, so the
// model detects each one's role (host or guest) as if the files had been given separately. A view
// filters each batch of the underlying trace to its input's rows (copied into new columns); its
// summary (events, CPUs, span) is counted in one pass when the view is made.

import type { TraceSummary } from '../../../shared/summary.ts';
import type { FormatInfo } from '../../formats/types.ts';
import { allocEventColumns, copyEventRow, type EventColumns } from '../index/event-columns.ts';
import type { IndexedTrace } from '../index/indexed-trace.ts';
import { InputStats } from '../index/input-stats.ts';

/** The file's inputs as separate traces, or [trace] when it has fewer than two. */
export function splitInputs(trace: IndexedTrace): IndexedTrace[] {
  const names = trace.inputs ?? [];
  if (names.length < 2) return [trace];
  const counts = countInputs(trace, names.length);
  return names.map((name, k) => new InputView(trace, k, name, counts));
}

interface InputCounts {
  /** rows of input k in batch b at [b * inputs + k] */
  perBatch: Uint32Array;
  rows: Float64Array;
  stats: InputStats;
}

function countInputs(trace: IndexedTrace, inputs: number): InputCounts {
  const perBatch = new Uint32Array(trace.batchCount * inputs);
  const rows = new Float64Array(inputs);
  const stats = new InputStats(inputs, trace.events.length);
  for (let b = 0; b < trace.batchCount; b++) {
    const c = trace.readBatchBorrow ? trace.readBatchBorrow(b) : trace.readBatch(b);
    const { input, event, cpu, ts } = c;
    for (let i = 0; i < c.length; i++) {
      const k = input[i]!;
      if (k >= inputs) continue;
      perBatch[b * inputs + k]!++;
      stats.add(k, ts[i]!, event[i]!, cpu[i]!);
    }
  }
  for (let k = 0; k < inputs; k++) for (let b = 0; b < trace.batchCount; b++) rows[k]! += perBatch[b * inputs + k]!;
  return { perBatch, rows, stats };
}

class InputView implements IndexedTrace {
  readonly path: string;
  readonly summary: TraceSummary;
  readonly info: FormatInfo;
  readonly rowCount: number;
  readonly batchRows: number;
  readonly batchCount: number;
  readonly comms: readonly string[];
  readonly events: readonly string[];
  readonly inputs: readonly string[] = [];
  /** The multi-input file and this view's input index in it. */
  readonly splitOf: { path: string; input: number; name: string };
  private readonly base: IndexedTrace;
  private readonly k: number;
  private readonly perBatch: Uint32Array;
  private readonly nInputs: number;

  constructor(base: IndexedTrace, k: number, name: string, counts: InputCounts) {
    this.base = base;
    this.k = k;
    this.nInputs = base.inputs!.length;
    this.perBatch = counts.perBatch;
    this.path = `${base.path}#${name}`;
    this.splitOf = { path: base.path, input: k, name };
    this.rowCount = counts.rows[k]!;
    this.batchRows = base.batchRows;
    this.batchCount = base.batchCount;
    this.comms = base.comms;
    this.events = base.events;
    const d = counts.stats.describe(base, k, name, this.rowCount, this.path);
    this.info = d.info;
    this.summary = d.summary;
  }

  readBatch(i: number): EventColumns {
    return this.filter(this.base.readBatch(i), i);
  }

  readBatchBorrow(i: number): EventColumns {
    return this.filter(this.base.readBatchBorrow ? this.base.readBatchBorrow(i) : this.base.readBatch(i), i);
  }

  /** The rows of this input (copied: the source may be a borrowed batch). */
  private filter(c: EventColumns, b: number): EventColumns {
    const m = this.perBatch[b * this.nInputs + this.k]!;
    const out = emptyColumns(c, m);
    const k = this.k;
    const input = c.input;
    let o = 0;
    for (let i = 0; i < c.length && o < m; i++) {
      if (input[i] !== k) continue;
      copyEventRow(c, i, out, o);
      o++;
    }
    return out;
  }

  readRows(start: number, count: number): EventColumns {
    // rows [start, start + count) of this input, batch by batch
    const parts: EventColumns[] = [];
    let skip = Math.max(0, start);
    let want = Math.max(0, Math.min(count, this.rowCount - skip));
    for (let b = 0; b < this.batchCount && want > 0; b++) {
      const m = this.perBatch[b * this.nInputs + this.k]!;
      if (skip >= m) {
        skip -= m;
        continue;
      }
      const c = this.readBatch(b);
      const take = Math.min(want, m - skip);
      parts.push(sliceColumns(c, skip, skip + take));
      want -= take;
      skip = 0;
    }
    return concatColumns(parts, this.base);
  }

  close(): void {
    // the underlying trace belongs to the caller
  }
}

function emptyColumns(like: Pick<EventColumns, 'comms' | 'events'>, n: number): EventColumns {
  return allocEventColumns(n, { inputs: [], comms: like.comms, events: like.events });
}

const COLS = ['ts', 'cpu', 'kind', 'event', 'pid', 'tid', 'comm', 'prevTid', 'prevComm', 'prevState', 'arg0', 'arg1', 'offset', 'input'] as const;

function sliceColumns(c: EventColumns, a: number, b: number): EventColumns {
  const out = emptyColumns(c, b - a);
  for (const name of COLS) (out[name] as { set(x: ArrayLike<number>): void }).set(c[name].subarray(a, b));
  return out;
}

function concatColumns(parts: EventColumns[], like: IndexedTrace): EventColumns {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = emptyColumns({ comms: like.comms as string[], events: like.events as string[] }, n);
  let o = 0;
  for (const p of parts) {
    for (const name of COLS) (out[name] as { set(x: ArrayLike<number>, at: number): void }).set(p[name], o);
    o += p.length;
  }
  return out;
}
