// Test helper: build small in-memory traces (MemoryIndexedTrace) from scheduler rows written by hand,
// for unit tests of the model's algorithms. Not for acceptance tests (those use real recordings).

import { EventKind, NO_STATE, TaskState } from '../../../shared/schema.ts';
import type { FormatInfo } from '../../formats/types.ts';
import { EventColumnsBuilder } from '../index/event-columns.ts';
import { MemoryIndexedTrace } from '../index/indexed-trace.ts';
import { SummaryAccumulator } from '../index/summary.ts';

export class TraceBuilder {
  readonly b = new EventColumnsBuilder(64);
  private readonly sw = this.b.eventId('sched_switch');
  constructor(readonly path: string, readonly info: FormatInfo = { format: 'test', entity: 'tid' }) {}

  /** prev -> next on cpu at tsNs; prevState 'S' (blocked) or 'R' (preempted). */
  switch(tsNs: number, cpu: number, prevTid: number, prevComm: string, nextTid: number, nextComm: string, prevState: 'S' | 'R' = 'R'): this {
    const st = prevState === 'S' ? TaskState.interruptible : TaskState.running | TaskState.preempted;
    this.b.append(EventKind.switch, this.sw, tsNs, cpu, prevTid, nextTid, this.b.commId(nextComm), prevTid, this.b.commId(prevComm), st, 120, 120, 0);
    return this;
  }

  event(kind: EventKind, name: string, tsNs: number, cpu: number, pid: number, tid: number, comm: string, arg0 = -1, prevTid = -1): this {
    this.b.append(kind, this.b.eventId(name), tsNs, cpu, pid, tid, this.b.commId(comm), prevTid, -1, NO_STATE, arg0, -1, 0);
    return this;
  }

  /** Rows must have been added in time order (or call with sort). */
  build(batchRows = 4): MemoryIndexedTrace {
    const cols = this.b.finishCopy();
    const order = Array.from({ length: cols.length }, (_, i) => i).sort((x, y) => cols.ts[x]! - cols.ts[y]! || x - y);
    for (const key of ['ts', 'cpu', 'kind', 'event', 'pid', 'tid', 'comm', 'prevTid', 'prevComm', 'prevState', 'arg0', 'arg1', 'offset', 'input'] as const) {
      const a = cols[key];
      const copy = a.slice();
      for (let i = 0; i < order.length; i++) a[i] = copy[order[i]!]!;
    }
    const acc = new SummaryAccumulator();
    acc.add(cols);
    const summary = acc.finish(this.path, 0, 'test', this.info, cols.events, [], 0);
    return new MemoryIndexedTrace(this.path, cols, summary, this.info, batchRows);
  }
}
