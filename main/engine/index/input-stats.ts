// Per-input statistics of a multi-input file (`trace-cmd report -i host.dat -i guest.dat`: the
// `input` column says which input a row came from), gathered row by row into dense tables, and the
// summary + format info of one input as a file of its own. Used by the model's per-input views
// (model/inputs.ts) and the session's per-input files (service/input-split.ts).

import { UNKNOWN_CPU } from '../../../shared/schema.ts';
import type { TraceSummary } from '../../../shared/summary.ts';
import type { FormatInfo } from '../../formats/types.ts';
import type { IndexedTrace } from './indexed-trace.ts';

export class InputStats {
  readonly startNs: Float64Array;
  readonly endNs: Float64Array;
  /** per input: event id -> rows */
  private readonly ev: Float64Array[];
  /** per input: CPU -> seen */
  private readonly cpuSeen: Uint8Array[];

  constructor(inputs: number, eventNames: number) {
    this.startNs = new Float64Array(inputs).fill(Infinity);
    this.endNs = new Float64Array(inputs).fill(-Infinity);
    this.ev = Array.from({ length: inputs }, () => new Float64Array(eventNames + 1));
    this.cpuSeen = Array.from({ length: inputs }, () => new Uint8Array(65536));
  }

  /** One row of input k. */
  add(k: number, ts: number, event: number, cpu: number): void {
    if (ts < this.startNs[k]!) this.startNs[k] = ts;
    if (ts > this.endNs[k]!) this.endNs[k] = ts;
    const ev = this.ev[k]!;
    if (event < ev.length) ev[event]!++;
    this.cpuSeen[k]![cpu] = 1;
  }

  /**
   * Input k (named `name`, `rows` rows) as a file of its own: `trace`'s summary and info with this
   * input's counts, CPUs and span, `file` as its name, and `input: name` in place of the inputs list.
   */
  describe(trace: IndexedTrace, k: number, name: string, rows: number, file: string): { summary: TraceSummary; info: FormatInfo } {
    const byEvent: Record<string, number> = {};
    this.ev[k]!.forEach((n, e) => {
      if (n > 0) {
        const en = trace.events[e] ?? `event ${e}`;
        byEvent[en] = (byEvent[en] ?? 0) + n;
      }
    });
    // the reader's "unknown CPU" marker is not a CPU (as in the file's own summary)
    const cpus: number[] = [];
    this.cpuSeen[k]!.forEach((seen, p) => {
      if (seen && p !== UNKNOWN_CPU) cpus.push(p);
    });
    const extra = { ...(trace.info.extra ?? {}) };
    delete extra['inputs'];
    const info: FormatInfo = { ...trace.info, extra: { ...extra, input: name } };
    const has = rows > 0;
    const summary: TraceSummary = { ...trace.summary, file, events: rows, byEvent, cpus, startNs: has ? this.startNs[k]! : null, endNs: has ? this.endNs[k]! : null, extra: info.extra };
    return { summary, info };
  }
}
