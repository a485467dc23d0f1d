// FilterJob on a real fixture split into small batches: batches that the summaries rule out are
// skipped without being read, and the result equals a plain scan; stepping is incremental.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryIndexedTrace } from '../index/indexed-trace.ts';
import { openIndexed } from '../index/open.ts';
import { compileFilter, FilterJob } from './filter.ts';
import { prepareSession } from './session-data.ts';

const FIXTURE = fileURLToPath(new URL('../../formats/ftrace-text/testdata/tracefs-schedmix.txt', import.meta.url));

async function data(batchRows: number) {
  const t = await openIndexed(FIXTURE, { cacheDir: mkdtempSync(join(tmpdir(), 'vcpuscope-filter-')) });
  const cols = t.readRows(0, t.rowCount);
  t.close();
  const tr = new MemoryIndexedTrace(FIXTURE, cols, t.summary, t.info, batchRows);
  return { cols, d: await prepareSession([tr], { cancelled: false }, () => undefined) };
}

test('a time filter skips the batches outside it and matches a plain scan', async () => {
  const { cols, d } = await data(20);
  const t0 = cols.ts[100]!;
  const t1 = cols.ts[140]!;
  const job = new FilterJob(d, compileFilter({ t0Ns: t0, t1Ns: t1 }, d));
  job.step(1000);
  assert.ok(job.done);
  const want: number[] = [];
  for (let i = 0; i < cols.length; i++) if (cols.ts[i]! >= t0 && cols.ts[i]! < t1) want.push(i);
  assert.deepEqual(Array.from({ length: job.matched }, (_, i) => job.at(i)), want);
  // 40 rows of ~380 in batches of 20: all but about 3 batches are ruled out by their time range
  assert.ok(job.skippedBatches >= Math.floor(cols.length / 20) - 4, `skipped ${job.skippedBatches}`);
});

test('a thread filter skips batches whose tid summary rules the thread out', async () => {
  const { cols, d } = await data(8);
  // the least frequent thread that appears at all
  const counts = new Map<number, number>();
  for (let i = 0; i < cols.length; i++) counts.set(cols.tid[i]!, (counts.get(cols.tid[i]!) ?? 0) + 1);
  const tid = [...counts].filter(([t]) => t > 0).sort((a, b) => a[1] - b[1])[0]![0];
  const job = new FilterJob(d, compileFilter({ threads: [{ file: 0, tid }] }, d));
  job.step(1000);
  let want = 0;
  for (let i = 0; i < cols.length; i++) if (cols.tid[i] === tid || cols.pid[i] === tid || cols.prevTid[i] === tid) want++;
  assert.equal(job.matched, want);
  assert.ok(job.skippedBatches > 0);
});

test('a zero time budget still makes progress, a slice at a time', async () => {
  const { cols, d } = await data(20);
  const job = new FilterJob(d, compileFilter({ kinds: [1] }, d));
  let steps = 0;
  while (!job.done && steps < 10_000) {
    job.step(0);
    steps++;
  }
  assert.ok(job.done);
  assert.ok(steps > 1);
  assert.equal(job.matched, cols.kind.filter((k) => k === 1).length);
});
