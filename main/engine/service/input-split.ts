// A multi-input file (`trace-cmd report -i host.dat -i guest.dat`: each line prefixed by its
// input, kept in the `input` column) as one session file per input, so each gets its own layer,
// clock offset and lanes (host core 0 and guest vCPU 0 are different lanes). Unlike the model's
// InputView (which filters batch by batch and so has uneven batches), a view here keeps the
// IndexedTrace contract the session relies on: every batch but the last has batchRows rows. It
// holds the base row of each of its rows (4 bytes per row, made in one pass over the `input`
// column) and gathers its batches from the base trace. Paths are `FILE#<input>`, as the model
// names the split traces, so the model's host/guest files match the session's.

import type { TraceSummary } from '../../../shared/summary.ts';
import type { FormatInfo } from '../../formats/types.ts';
import { allocEventColumns, copyEventRow, type EventColumns } from '../index/event-columns.ts';
import type { IndexedTrace } from '../index/indexed-trace.ts';
import { InputStats } from '../index/input-stats.ts';

const KEYS = ['ts', 'cpu', 'kind', 'event', 'pid', 'tid', 'comm', 'prevTid', 'prevComm', 'prevState', 'arg0', 'arg1', 'offset', 'input'] as const;

/** The file's inputs as session files, or [trace] when it has fewer than two inputs. */
export function splitSessionInputs(trace: IndexedTrace): IndexedTrace[] {
  const names = trace.inputs ?? [];
  if (names.length < 2) return [trace];
  const k = names.length;
  const count = new Float64Array(k);
  for (let b = 0; b < trace.batchCount; b++) {
    const c = trace.readBatchBorrow ? trace.readBatchBorrow(b) : trace.readBatch(b);
    for (let i = 0; i < c.length; i++) {
      const x = c.input[i]!;
      if (x < k) count[x]!++;
    }
  }
  const rows = Array.from({ length: k }, (_, x) => new Uint32Array(count[x]!));
  const at = new Float64Array(k);
  const stats = new InputStats(k, trace.events.length);
  for (let b = 0; b < trace.batchCount; b++) {
    const c = trace.readBatchBorrow ? trace.readBatchBorrow(b) : trace.readBatch(b);
    const base = b * trace.batchRows;
    for (let i = 0; i < c.length; i++) {
      const x = c.input[i]!;
      if (x >= k) continue;
      rows[x]![at[x]!++] = base + i;
      stats.add(x, c.ts[i]!, c.event[i]!, c.cpu[i]!);
    }
  }
  return names.map((name, x) => {
    const { summary, info } = stats.describe(trace, x, name, rows[x]!.length, `${trace.summary.file}#${name}`);
    delete summary.layerHint; // the whole file's guess; the model decides each input's role
    return new InputSessionTrace(trace, name, rows[x]!, summary, info);
  });
}

export class InputSessionTrace implements IndexedTrace {
  readonly path: string;
  readonly rowCount: number;
  readonly batchRows: number;
  readonly batchCount: number;
  readonly comms: readonly string[];
  readonly events: readonly string[];
  readonly inputs: readonly string[] = [];
  /** The file the rows (and their byte offsets) are in. */
  readonly sourcePath: string;

  constructor(
    private readonly base: IndexedTrace,
    readonly inputName: string,
    /** Base row of each of this input's rows, ascending. */
    private readonly rows: Uint32Array,
    readonly summary: TraceSummary,
    readonly info: FormatInfo,
  ) {
    this.path = `${base.path}#${inputName}`;
    this.sourcePath = base.path;
    this.rowCount = rows.length;
    this.batchRows = base.batchRows;
    this.batchCount = Math.ceil(rows.length / base.batchRows);
    this.comms = base.comms;
    this.events = base.events;
  }

  readBatch(i: number): EventColumns {
    if (i < 0 || i >= this.batchCount) throw new RangeError(`batch ${i} out of range (0..${this.batchCount - 1})`);
    return this.readRows(i * this.batchRows, this.batchRows);
  }

  readRows(start: number, count: number): EventColumns {
    const s = Math.max(0, Math.min(start, this.rowCount));
    const e = Math.max(s, Math.min(this.rowCount, s + Math.max(0, count)));
    const n = e - s;
    const out: EventColumns = allocEventColumns(n, { inputs: [], comms: this.comms as string[], events: this.events as string[] });
    // Runs of consecutive base rows in the same base batch are copied with one set() per column.
    const br = this.base.batchRows;
    let k = s;
    while (k < e) {
      const r0 = this.rows[k]!;
      const b = Math.floor(r0 / br);
      const batchEnd = (b + 1) * br;
      let m = k + 1;
      while (m < e && this.rows[m]! === r0 + (m - k) && this.rows[m]! < batchEnd) m++;
      const c = this.base.readBatch(b);
      const from = r0 - b * br;
      if (m - k >= 32) {
        for (const key of KEYS) (out[key] as Float64Array).set((c[key] as Float64Array).subarray(from, from + (m - k)), k - s);
      } else {
        for (let j = 0; j < m - k; j++) {
          const i = from + j;
          const o = k - s + j;
          copyEventRow(c, i, out, o);
          out.input[o] = c.input[i]!;
        }
      }
      k = m;
    }
    return out;
  }

  /** The base trace is shared by the views of its inputs; closing it twice is harmless. */
  close(): void {
    this.base.close();
  }
}
