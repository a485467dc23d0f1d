// A load shows a partial session while its first file is indexed: the rows so far, filters over
// them (extended as rows arrive, including comms first seen later), timeline tiles, then the
// complete session under the same id. Cancel or close while partial leaves nothing behind.
// Indexing is simulated batch by batch (a test-controlled gate between batches) over the real
// recorded tracefs fixture, through the same GrowingTrace the indexer hands out.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tableFromIPC } from 'apache-arrow';
import type { FilterSpec } from '../../../shared/contract.ts';
import type { Result } from '../../../shared/result.ts';
import { GrowingTrace } from '../index/cached-trace.ts';
import type { EventColumns } from '../index/event-columns.ts';
import { MemoryIndexedTrace } from '../index/indexed-trace.ts';
import { openIndexed, type OpenOptions } from '../index/open.ts';
import { TraceService } from './trace-service.ts';

const FIXTURE = realpathSync(fileURLToPath(new URL('../../formats/ftrace-text/testdata/tracefs-schedmix.txt', import.meta.url)));
const cacheDir = mkdtempSync(join(tmpdir(), 'vcpuscope-partial-'));
const BATCH = 40;

function value<T>(r: Result<T>): T {
  if (!r.ok) assert.fail(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

async function reference(): Promise<EventColumns> {
  const t = await openIndexed(FIXTURE, { cacheDir });
  const c = t.readRows(0, t.rowCount);
  t.close();
  return c;
}

/** Rows [s, e) of the reference as a batch. */
function slice(c: EventColumns, s: number, e: number): EventColumns {
  const out = { ...c, length: e - s } as EventColumns;
  for (const k of ['ts', 'cpu', 'kind', 'event', 'pid', 'tid', 'comm', 'prevTid', 'prevComm', 'prevState', 'arg0', 'arg1', 'offset', 'input'] as const) {
    (out as unknown as Record<string, unknown>)[k] = (c[k] as Float64Array).slice(s, e);
  }
  return out;
}

/** An indexer that hands out one batch per `step()`; string tables grow as the batches need them. */
function gatedIndexer(ref: EventColumns) {
  let release: (() => void) | null = null;
  let waiting: (() => void) | null = null;
  const gate = (): Promise<void> =>
    new Promise((r) => {
      release = r;
      waiting?.();
      waiting = null;
    });
  const ctl = {
    started: false,
    batchesSent: 0,
    /** Let one more batch through and wait until the indexer is waiting again (or done). */
    async step(n = 1): Promise<void> {
      for (let i = 0; i < n; i++) {
        while (!release) await new Promise((r) => setTimeout(r, 1));
        const r = release as () => void;
        release = null;
        const next = new Promise<void>((w) => (waiting = w));
        r();
        await Promise.race([next, new Promise((w) => setTimeout(w, 200))]);
      }
    },
  };
  const open = async (path: string, opts: OpenOptions) => {
    ctl.started = true;
    const batches: EventColumns[] = [];
    const info = { format: 'test', entity: 'tid' as const };
    const summary = { file: path, sizeBytes: 1, formatId: 'ftrace-text', format: 'test', entity: 'tid' as const, events: 0, byEvent: {}, cpus: [], threads: 0, startNs: null, endNs: null, sorted: true, diagnostics: [], diagnosticsTotal: 0 };
    const growing = new GrowingTrace(path, info, summary, BATCH, { kind: 'memory', batches });
    let begun = false;
    for (let s = 0; s < ref.length; s += BATCH) {
      await gate();
      if (opts.signal?.cancelled) {
        growing.retire();
        throw new Error('cancelled');
      }
      const b = slice(ref, s, Math.min(ref.length, s + BATCH));
      // Tables as an indexer has them after this batch: only the comms used so far.
      let maxComm = -1;
      for (let i = 0; i < s + b.length; i++) maxComm = Math.max(maxComm, ref.comm[i]!, ref.prevComm[i]!);
      b.comms = ref.comms.slice(0, maxComm + 1);
      batches.push(b);
      if (!begun) {
        begun = true;
        opts.observer?.begin(growing);
      }
      growing.grow(b.length, b);
      opts.observer?.batch(b, b.length, ctl.batchesSent++);
    }
    growing.retire();
    return new MemoryIndexedTrace(path, ref, summary, info, BATCH);
  };
  return { ctl, open };
}

async function countNow(svc: TraceService, sessionId: string, filter: FilterSpec): Promise<{ matched: number; done: boolean; totalRows: number }> {
  // Step the job until it has scanned every row there is (done stays false while partial).
  for (let i = 0; i < 1000; i++) {
    const c = value(await svc.count({ sessionId, filter }));
    if (c.scannedRows >= c.totalRows) return c;
    await new Promise((r) => setTimeout(r, 2));
  }
  assert.fail('filter job did not catch up');
}

function countRef(ref: EventColumns, n: number, pass: (i: number) => boolean): number {
  let k = 0;
  for (let i = 0; i < n; i++) if (pass(i)) k++;
  return k;
}

test('partial session while indexing: rows so far, growing filters and tiles, then complete under the same id', async () => {
  const ref = await reference();
  assert.ok(ref.length > 6 * BATCH, 'the fixture spans several batches');
  const { ctl, open } = gatedIndexer(ref);
  const svc = new TraceService({ cacheDir, openTrace: open, pathAllowed: (p) => p === FIXTURE, partialRefreshMs: 0 });
  const { loadId } = value(await svc.open({ paths: [FIXTURE] }));
  while (!ctl.started) await new Promise((r) => setTimeout(r, 1));
  await new Promise((r) => setTimeout(r, 5));
  let st = value(await svc.loadStatus({ loadId }));
  assert.equal(st.state, 'loading');
  assert.equal(st.sessionId, undefined, 'no session before the first batch');

  await ctl.step(2);
  st = value(await svc.loadStatus({ loadId }));
  assert.equal(st.state, 'loading');
  const sessionId = st.sessionId!;
  assert.ok(sessionId, 'a session as soon as a batch is in');
  let info = value(await svc.sessionInfo({ sessionId }));
  assert.equal(info.complete, false);
  assert.equal(info.rowCount, 2 * BATCH);
  assert.equal(info.startNs, ref.ts[0]);
  assert.equal(info.endNs, ref.ts[2 * BATCH - 1]);
  // rows so far are the first rows of the trace, with their comm names
  const w = tableFromIPC(value(await svc.rows({ sessionId, filter: {}, start: 0, count: 1000 })));
  assert.equal(w.numRows, 2 * BATCH);
  assert.deepEqual(Array.from(w.getChild('ts')!.toArray() as Float64Array), Array.from(ref.ts.subarray(0, 2 * BATCH)));
  const strings = JSON.parse(w.schema.metadata.get('strings')!) as string[];
  const comm = w.getChild('comm')!.toArray() as Int32Array;
  for (let i = 0; i < w.numRows; i++) assert.equal(comm[i] === -1 ? undefined : strings[comm[i]!], ref.comm[i]! >= 0 ? ref.comms[ref.comm[i]!] : undefined);
  // no filter: all rows so far, not done while indexing
  const all = value(await svc.count({ sessionId, filter: {} }));
  assert.deepEqual(all, { matched: 2 * BATCH, scannedRows: 2 * BATCH, totalRows: 2 * BATCH, done: false });
  // a filter over the rows so far
  const cpu1 = { cpus: [{ file: 0, cpu: 1 }] };
  let c = await countNow(svc, sessionId, cpu1);
  assert.equal(c.matched, countRef(ref, 2 * BATCH, (i) => ref.cpu[i] === 1));
  assert.equal(c.done, false);
  // a comm that first appears after the rows so far: no match yet, found once its rows arrive
  let late = -1;
  for (let i = 4 * BATCH; i < ref.length && late < 0; i++) {
    const id = ref.comm[i]!;
    let before = false;
    for (let j = 0; j < 2 * BATCH && !before; j++) before = ref.comm[j] === id || ref.prevComm[j] === id;
    if (id >= 0 && !before) late = id;
  }
  assert.ok(late >= 0, 'the fixture has a comm first seen after batch 4');
  const lateName = ref.comms[late]!;
  const byComm = { comms: [lateName] };
  const passComm = (i: number): boolean => ref.comms[ref.comm[i]!] === lateName || ref.comms[ref.prevComm[i]!] === lateName;
  c = await countNow(svc, sessionId, byComm);
  assert.equal(c.matched, countRef(ref, 2 * BATCH, passComm));
  // a timeline tile of the range so far
  const tile = tableFromIPC(value(await svc.timeline({ sessionId, filter: {}, t0Ns: info.startNs, t1Ns: info.endNs, widthPx: 2000 })));
  assert.ok(tile.numRows > 0);
  const ends = tile.getChild('endNs')!.toArray() as Float64Array;
  assert.ok(ends.every((e) => e <= info.endNs), 'runs end at the last row indexed');

  // more rows arrive: the same filter jobs go on over them
  await ctl.step(4);
  info = value(await svc.sessionInfo({ sessionId }));
  assert.equal(info.complete, false);
  assert.equal(info.rowCount, 6 * BATCH);
  c = await countNow(svc, sessionId, cpu1);
  assert.equal(c.matched, countRef(ref, 6 * BATCH, (i) => ref.cpu[i] === 1));
  c = await countNow(svc, sessionId, byComm);
  assert.equal(c.matched, countRef(ref, 6 * BATCH, passComm));
  const threads = value(await svc.threads({ sessionId, query: '', limit: 5 }));
  assert.ok(threads.length > 0);

  // the rest: ready, same session, complete, filters done over every row
  const batches = Math.ceil(ref.length / BATCH);
  await ctl.step(batches - 6);
  for (let i = 0; i < 200 && st.state === 'loading'; i++) {
    await new Promise((r) => setTimeout(r, 5));
    st = value(await svc.loadStatus({ loadId }));
  }
  assert.equal(st.state, 'ready');
  assert.equal(st.sessionId, sessionId);
  info = value(await svc.sessionInfo({ sessionId }));
  assert.equal(info.complete, true);
  assert.equal(info.rowCount, ref.length);
  for (;;) {
    const d = value(await svc.count({ sessionId, filter: cpu1 }));
    if (!d.done) {
      await new Promise((r) => setTimeout(r, 2));
      continue;
    }
    assert.equal(d.matched, countRef(ref, ref.length, (i) => ref.cpu[i] === 1));
    break;
  }
  const done = value(await svc.count({ sessionId, filter: {} }));
  assert.deepEqual(done, { matched: ref.length, scannedRows: ref.length, totalRows: ref.length, done: true });
  svc.close();
});

test('cancel while a partial session is shown: the session goes away, the load says cancelled', async () => {
  const ref = await reference();
  const { ctl, open } = gatedIndexer(ref);
  const svc = new TraceService({ cacheDir, openTrace: open, pathAllowed: () => true, partialRefreshMs: 0 });
  const { loadId } = value(await svc.open({ paths: [FIXTURE] }));
  await ctl.step(1);
  const sessionId = value(await svc.loadStatus({ loadId })).sessionId!;
  assert.ok(sessionId);
  assert.deepEqual(value(await svc.cancelLoad({ loadId })), { cancelled: true });
  await ctl.step(1);
  let st = value(await svc.loadStatus({ loadId }));
  for (let i = 0; i < 100 && st.state === 'loading'; i++) {
    await new Promise((r) => setTimeout(r, 5));
    st = value(await svc.loadStatus({ loadId }));
  }
  assert.equal(st.state, 'cancelled');
  assert.equal(st.sessionId, undefined);
  const gone = await svc.sessionInfo({ sessionId });
  assert.ok(!gone.ok && gone.error.code === 'not-found');
  svc.close();
});

test('closing a partial session cancels its load', async () => {
  const ref = await reference();
  const { ctl, open } = gatedIndexer(ref);
  const svc = new TraceService({ cacheDir, openTrace: open, pathAllowed: () => true, partialRefreshMs: 0 });
  const { loadId } = value(await svc.open({ paths: [FIXTURE] }));
  await ctl.step(1);
  const sessionId = value(await svc.loadStatus({ loadId })).sessionId!;
  assert.deepEqual(value(await svc.closeSession({ sessionId })), { closed: true });
  await ctl.step(1);
  let st = value(await svc.loadStatus({ loadId }));
  for (let i = 0; i < 100 && st.state === 'loading'; i++) {
    await new Promise((r) => setTimeout(r, 5));
    st = value(await svc.loadStatus({ loadId }));
  }
  assert.equal(st.state, 'cancelled');
  svc.close();
});

test('two files: the first file shows while it is indexed, then the merged session replaces it', async () => {
  const ref = await reference();
  const { ctl, open } = gatedIndexer(ref);
  let second = false;
  // The second file is the same fixture under another name, opened without a gate.
  const svc = new TraceService({
    cacheDir,
    pathAllowed: () => true,
    partialRefreshMs: 0,
    openTrace: async (p, opts) => {
      if (!second) {
        second = true;
        return open(p, opts);
      }
      const info = { format: 'test', entity: 'tid' as const };
      const summary = { file: p, sizeBytes: 1, formatId: 'ftrace-text', format: 'test', entity: 'tid' as const, events: ref.length, byEvent: {}, cpus: [0, 1], threads: 0, startNs: ref.ts[0]!, endNs: ref.ts[ref.length - 1]!, sorted: true, diagnostics: [], diagnosticsTotal: 0 };
      return new MemoryIndexedTrace(p, ref, summary, info, BATCH);
    },
  });
  const copy = join(mkdtempSync(join(tmpdir(), 'vcpuscope-partial2-')), 'other.txt');
  const { writeFileSync, readFileSync } = await import('node:fs');
  writeFileSync(copy, readFileSync(FIXTURE));
  const { loadId } = value(await svc.open({ paths: [FIXTURE, copy] }));
  await ctl.step(3);
  const sessionId = value(await svc.loadStatus({ loadId })).sessionId!;
  let info = value(await svc.sessionInfo({ sessionId }));
  assert.equal(info.complete, false);
  assert.equal(info.files.length, 1);
  assert.equal(info.rowCount, 3 * BATCH);
  const cpu1 = { cpus: [{ file: 0, cpu: 1 }] };
  assert.equal((await countNow(svc, sessionId, cpu1)).matched, countRef(ref, 3 * BATCH, (i) => ref.cpu[i] === 1));
  await ctl.step(Math.ceil(ref.length / BATCH) - 3);
  let st = value(await svc.loadStatus({ loadId }));
  for (let i = 0; i < 400 && st.state === 'loading'; i++) {
    await new Promise((r) => setTimeout(r, 5));
    st = value(await svc.loadStatus({ loadId }));
  }
  assert.equal(st.state, 'ready', st.error);
  assert.equal(st.sessionId, sessionId);
  info = value(await svc.sessionInfo({ sessionId }));
  assert.equal(info.complete, true);
  assert.equal(info.files.length, 2);
  assert.equal(info.rowCount, 2 * ref.length);
  // the merged table: rows of both files in time order; the earlier job was dropped, not extended
  const w = tableFromIPC(value(await svc.rows({ sessionId, filter: {}, start: 0, count: 4 })));
  assert.deepEqual(Array.from(w.getChild('file')!.toArray() as Uint8Array), [0, 1, 0, 1]);
  for (;;) {
    const d = value(await svc.count({ sessionId, filter: cpu1 }));
    if (!d.done) {
      await new Promise((r) => setTimeout(r, 2));
      continue;
    }
    assert.equal(d.matched, countRef(ref, ref.length, (i) => ref.cpu[i] === 1));
    assert.equal(d.totalRows, 2 * ref.length);
    break;
  }
  svc.close();
});

test('a partial session is rebuilt at a bounded rate; completion shows every row at once', async () => {
  const ref = await reference();
  const { ctl, open } = gatedIndexer(ref);
  const svc = new TraceService({ cacheDir, openTrace: open, pathAllowed: () => true, partialRefreshMs: 60_000 });
  const { loadId } = value(await svc.open({ paths: [FIXTURE] }));
  await ctl.step(2);
  const sessionId = value(await svc.loadStatus({ loadId })).sessionId!;
  assert.equal(value(await svc.sessionInfo({ sessionId })).rowCount, 2 * BATCH);
  await ctl.step(2);
  // within the refresh interval: the rows of the last rebuild
  assert.equal(value(await svc.sessionInfo({ sessionId })).rowCount, 2 * BATCH);
  await ctl.step(Math.ceil(ref.length / BATCH) - 4);
  let st = value(await svc.loadStatus({ loadId }));
  for (let i = 0; i < 200 && st.state === 'loading'; i++) {
    await new Promise((r) => setTimeout(r, 5));
    st = value(await svc.loadStatus({ loadId }));
  }
  assert.equal(st.state, 'ready');
  const info = value(await svc.sessionInfo({ sessionId }));
  assert.equal(info.complete, true);
  assert.equal(info.rowCount, ref.length);
  svc.close();
});
