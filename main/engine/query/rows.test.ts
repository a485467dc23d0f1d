// Jump to time (rowAtTime) decides most probes from the batch time ranges: the answer must equal
// the plain binary search over the rows' times, for one file, merged files and an unsorted file.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventColumnsBuilder } from '../index/event-columns.ts';
import { MemoryIndexedTrace } from '../index/indexed-trace.ts';
import { SummaryAccumulator } from '../index/summary.ts';
import { EventKind } from '../../../shared/schema.ts';
import { BatchCache, prepareSession } from './session-data.ts';
import { rowAtTime, tsOfGlobal, type RowView } from './rows.ts';

function trace(path: string, times: number[]): MemoryIndexedTrace {
  const b = new EventColumnsBuilder(16);
  const a = b.commId('a');
  const ev = b.eventId('sched_switch');
  times.forEach((t, i) => b.append(EventKind.switch, ev, t, i % 2, 1, 1, a, 2, a, 1, 120, 120, i));
  const cols = b.finishCopy();
  const acc = new SummaryAccumulator();
  acc.add(cols);
  const info = { format: 'test', entity: 'tid' as const };
  return new MemoryIndexedTrace(path, cols, acc.finish(path, 1, 'test', info, cols.events, [], 0), info, 37);
}

function plain(v: RowView, n: number, tsNs: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const m = Math.floor((lo + hi) / 2);
    if (tsOfGlobal(v, m) < tsNs) lo = m + 1;
    else hi = m;
  }
  return Math.max(0, Math.min(lo, n - 1));
}

test('rowAtTime equals the binary search over row times (sorted, merged with an offset, unsorted)', async () => {
  let seed = 5;
  const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const sorted = Array.from({ length: 1000 }, (_, i) => i * 10);
  const other = Array.from({ length: 700 }, (_, i) => 5 + i * 13);
  const unsorted = Array.from({ length: 900 }, (_, i) => i * 10 + (i % 50 === 0 ? 4000 : 0) - (i % 97 === 0 ? 3000 : 0));
  for (const files of [[trace('a', sorted)], [trace('a', sorted), trace('b', other)], [trace('u', unsorted)]]) {
    const d = await prepareSession(files, { cancelled: false }, () => undefined, files.map((_, i) => i * 333));
    const v: RowView = { data: d, job: null, cache: new BatchCache(files) };
    for (let k = 0; k < 400; k++) {
      const t = Math.floor(rnd() * 12000) - 500;
      assert.equal(rowAtTime(v, t), plain(v, d.rowCount, t), `${files.length} file(s), t ${t}`);
    }
  }
});
