// TraceService and the contract end to end on a real recorded tracefs fixture: load with
// progress, filters checked against an independent count over the raw columns, row windows,
// jump to time, timeline tiles, follow, cancel, path policy — and the same calls through the
// client/transport/dispatch path (encode -> validate -> service -> encode -> decode).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tableFromIPC } from 'apache-arrow';
import type { TraceApi } from '../../../shared/contract.ts';
import type { Result } from '../../../shared/result.ts';
import { EventKind } from '../../../shared/schema.ts';
import { decodeMessage, encodeMessage } from '../../../shared/wire.ts';
import { createClient, SocketTransport, type SocketLike } from '../../../renderer/api/client.ts';
import { MemoryIndexedTrace, type IndexedTrace } from '../index/indexed-trace.ts';
import { openIndexed } from '../index/open.ts';
import { dispatch } from './dispatch.ts';
import { TraceService } from './trace-service.ts';

const FIXTURE = realpathSync(fileURLToPath(new URL('../../formats/ftrace-text/testdata/tracefs-schedmix.txt', import.meta.url)));
const cacheDir = mkdtempSync(join(tmpdir(), 'vcpuscope-svc-'));
const BATCH = 50; // many small batches so that batch skipping and page joins are exercised

async function openSmallBatches(path: string): Promise<IndexedTrace> {
  const t = await openIndexed(path, { cacheDir });
  const cols = t.readRows(0, t.rowCount);
  t.close();
  return new MemoryIndexedTrace(path, cols, t.summary, t.info, BATCH);
}

function service(): TraceService {
  return new TraceService({ cacheDir, openTrace: (p) => openSmallBatches(p), pathAllowed: (p) => p === FIXTURE });
}

function value<T>(r: Result<T>): T {
  if (!r.ok) assert.fail(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

async function load(api: TraceApi): Promise<string> {
  const { loadId } = value(await api.open({ paths: [FIXTURE] }));
  for (let i = 0; i < 500; i++) {
    const s = value(await api.loadStatus({ loadId }));
    if (s.state === 'ready') return s.sessionId!;
    assert.equal(s.state, 'loading', s.error);
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('load did not finish');
}

async function countAll(api: TraceApi, sessionId: string, filter: Parameters<TraceApi['count']>[0]['filter']): Promise<number> {
  for (;;) {
    const c = value(await api.count({ sessionId, filter }));
    if (c.done) return c.matched;
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Independent reference: the raw columns of the same fixture. */
async function reference() {
  const t = await openIndexed(FIXTURE, { cacheDir });
  const c = t.readRows(0, t.rowCount);
  t.close();
  return c;
}

test('load, session info, filters by core / thread / kind / text match an independent count', async () => {
  const svc = service();
  const sessionId = await load(svc);
  const info = value(await svc.sessionInfo({ sessionId }));
  const ref = await reference();
  assert.equal(info.rowCount, ref.length);
  assert.ok(info.rowCount > 300);
  assert.deepEqual(info.lanes.map((l) => l.cpu), [0, 1]);

  const onCpu0 = ref.cpu.filter((c) => c === 0).length;
  assert.ok(onCpu0 > 0 && onCpu0 < ref.length);
  assert.equal(await countAll(svc, sessionId, { cpus: [{ file: 0, cpu: 0 }] }), onCpu0);

  const tid = 2787;
  let involving = 0;
  for (let i = 0; i < ref.length; i++) if (ref.tid[i] === tid || ref.pid[i] === tid || ref.prevTid[i] === tid) involving++;
  assert.ok(involving > 0);
  assert.equal(await countAll(svc, sessionId, { threads: [{ file: 0, tid }] }), involving);

  const switches = ref.kind.filter((k) => k === EventKind.switch).length;
  assert.equal(await countAll(svc, sessionId, { kinds: [EventKind.switch] }), switches);
  // AND across fields
  let both = 0;
  for (let i = 0; i < ref.length; i++) if (ref.kind[i] === EventKind.switch && ref.cpu[i] === 1) both++;
  assert.equal(await countAll(svc, sessionId, { kinds: [EventKind.switch], cpus: [{ file: 0, cpu: 1 }] }), both);
  // text over event names, case-insensitive
  assert.equal(await countAll(svc, sessionId, { text: 'SCHED_SWITCH' }) >= switches, true);
  // time range: half-open
  const mid = ref.ts[Math.floor(ref.length / 2)]!;
  const before = ref.ts.filter((t) => t < mid).length;
  assert.equal(await countAll(svc, sessionId, { t1Ns: mid }), before);
  assert.equal(await countAll(svc, sessionId, { t0Ns: mid }), ref.length - before);
  svc.close();
});

test('row windows are the filtered rows in time order; rowAtTime finds the first row at or after a time', async () => {
  const svc = service();
  const sessionId = await load(svc);
  const ref = await reference();
  const filter = { cpus: [{ file: 0, cpu: 1 }] };
  const n = await countAll(svc, sessionId, filter);
  const t = tableFromIPC(value(await svc.rows({ sessionId, filter, start: 3, count: 120 })));
  assert.equal(t.numRows, Math.min(120, n - 3));
  const cpu = t.getChild('cpu')!.toArray() as Uint16Array;
  assert.ok(cpu.every((c) => c === 1));
  const ts = t.getChild('ts')!.toArray() as Float64Array;
  const want = Array.from(ref.ts).filter((_, i) => ref.cpu[i] === 1).slice(3, 123);
  assert.deepEqual(Array.from(ts), want);
  const strings = JSON.parse(t.schema.metadata.get('strings')!) as string[];
  const comm = t.getChild('comm')!.toArray() as Int32Array;
  assert.ok(strings.length > 0 && comm.every((c) => c === -1 || strings[c] !== undefined));

  const target = want[50]!;
  const at = value(await svc.rowAtTime({ sessionId, filter, tsNs: target }));
  assert.equal(at.index, 53);
  const first = value(await svc.rowAtTime({ sessionId, filter: {}, tsNs: -1 }));
  assert.equal(first.index, 0);
  svc.close();
});

test('timeline tiles: exact runs when zoomed in, one sample per pixel when zoomed out', async () => {
  const svc = service();
  const sessionId = await load(svc);
  const info = value(await svc.sessionInfo({ sessionId }));
  const ref = await reference();
  const wide = tableFromIPC(value(await svc.timeline({ sessionId, filter: {}, t0Ns: info.startNs, t1Ns: info.endNs, widthPx: 4000 })));
  // 4000 px is more than 2 x the runs: every non-idle run appears exactly once
  let nonIdleSwitches = 0;
  for (let i = 0; i < ref.length; i++) if (ref.kind[i] === EventKind.switch && ref.tid[i] !== 0) nonIdleSwitches++;
  assert.equal(wide.numRows, nonIdleSwitches);
  const narrow = tableFromIPC(value(await svc.timeline({ sessionId, filter: {}, t0Ns: info.startNs, t1Ns: info.endNs, widthPx: 5 })));
  // 2 lanes with far more than 2 x 5 runs each: sampled, at most one segment per pixel per lane
  assert.ok(narrow.numRows > 0 && narrow.numRows <= 2 * 5, `LOD bounded by width: ${narrow.numRows}`);
  const sw = narrow.getChild('switches')!.toArray() as Uint32Array;
  assert.ok(sw.some((x) => x > 1));
  // a lane filter hides the other cpu's lane
  const one = tableFromIPC(value(await svc.timeline({ sessionId, filter: { cpus: [{ file: 0, cpu: 0 }] }, t0Ns: info.startNs, t1Ns: info.endNs, widthPx: 4000 })));
  const lanes = one.getChild('lane')!.toArray() as Uint16Array;
  assert.ok(lanes.length > 0 && lanes.every((l) => l === 0));
  svc.close();
});

test('follow a thread: its runs and totals agree with the switches into it', async () => {
  const svc = service();
  const sessionId = await load(svc);
  const ref = await reference();
  const tid = 2787;
  let into = 0;
  for (let i = 0; i < ref.length; i++) if (ref.kind[i] === EventKind.switch && ref.tid[i] === tid) into++;
  const f = value(await svc.followThread({ sessionId, thread: { file: 0, tid } }));
  assert.equal(f.totals.runs, into);
  assert.ok(f.totals.runNs > 0);
  assert.equal(f.thread.comm, 'node');
  assert.equal(tableFromIPC(f.placement).numRows, into);
  const missing = await svc.followThread({ sessionId, thread: { file: 0, tid: 999999 } });
  assert.equal(missing.ok, false);
  svc.close();
});

test('cancel: a load waiting on a slow reader ends as cancelled; nothing is kept', async () => {
  let started = false;
  const svc = new TraceService({
    pathAllowed: () => true,
    openTrace: async (_p, opts) => {
      started = true;
      while (!opts.signal?.cancelled) await new Promise((r) => setTimeout(r, 5));
      throw new Error('cancelled by signal');
    },
  });
  const { loadId } = value(await svc.open({ paths: [FIXTURE] }));
  while (!started) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(value(await svc.cancelLoad({ loadId })), { cancelled: true });
  for (let i = 0; i < 100; i++) {
    const s = value(await svc.loadStatus({ loadId }));
    if (s.state !== 'loading') {
      assert.equal(s.state, 'cancelled');
      assert.equal(s.sessionId, undefined);
      svc.close();
      return;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail('load did not end after cancel');
});

test('paths not granted by the host are refused; missing files name the file', async () => {
  const svc = new TraceService({ pathAllowed: () => false });
  const r = await svc.open({ paths: [FIXTURE] });
  assert.ok(!r.ok && r.error.code === 'forbidden');
  const m = await service().open({ paths: ['/nonexistent/trace.dat'] });
  assert.ok(!m.ok && m.error.code === 'not-found' && m.error.message.includes('/nonexistent/trace.dat'));
  const d = await service().open({ paths: [tmpdir()] });
  assert.ok(!d.ok && d.error.code === 'bad-input');
});

/** A socket pair: the client side encodes, the "server" side decodes, dispatches and encodes. */
function loopback(api: TraceApi): SocketLike {
  let onMsg: (d: Uint8Array) => void = () => undefined;
  return {
    send: (bytes) => {
      const req = decodeMessage(bytes);
      void dispatch(api, req).then((res) => {
        if (res) onMsg(encodeMessage(res));
      });
    },
    onMessage: (cb) => (onMsg = cb),
    onClose: () => undefined,
  };
}

test('contract client over the wire: same answers as direct calls; invalid requests are refused at the boundary', async () => {
  const svc = service();
  const client = createClient(new SocketTransport(loopback(svc)));
  const sessionId = await load(client);
  const direct = value(await svc.sessionInfo({ sessionId }));
  const remote = value(await client.sessionInfo({ sessionId }));
  assert.deepEqual(remote, direct);
  const rows = value(await client.rows({ sessionId, filter: {}, start: 0, count: 10 }));
  assert.ok(rows instanceof Uint8Array);
  assert.equal(tableFromIPC(rows).numRows, 10);
  const follow = value(await client.followThread({ sessionId, thread: { file: 0, tid: 2787 } }));
  assert.ok(follow.placement instanceof Uint8Array && tableFromIPC(follow.placement).numRows > 0);

  const bad = (req: unknown): Promise<Result<unknown>> => (client.rows as (r: unknown) => Promise<Result<unknown>>)(req);
  for (const req of [
    { sessionId, filter: {}, start: -1, count: 10 },
    { sessionId, filter: {}, start: 0, count: 1e9 },
    { sessionId, filter: {}, start: 0.5, count: 10 },
    { sessionId, filter: { cpus: [{ file: 0, cpu: 'x' }] }, start: 0, count: 10 },
    { sessionId, filter: { extra: 1 }, start: 0, count: 10 },
    { sessionId: '../x', filter: {}, start: 0, count: 10 },
    { sessionId, filter: {}, start: 0, count: 10, more: true },
    null,
  ]) {
    const r = await bad(req);
    assert.ok(!r.ok && r.error.code === 'bad-request', JSON.stringify(req));
  }
  const tl = await (client.timeline as (r: unknown) => Promise<Result<unknown>>)({ sessionId, filter: {}, t0Ns: 5, t1Ns: 5, widthPx: 100 });
  assert.ok(!tl.ok && tl.error.code === 'bad-request');
  const tooMany = await client.open({ paths: Array.from({ length: 100 }, () => FIXTURE) });
  assert.ok(!tooMany.ok && tooMany.error.code === 'bad-request');
  svc.close();
});

test('wire codec: binary parts round-trip; truncated or lying frames are errors, not crashes', () => {
  const bin = new Uint8Array([1, 2, 3, 250]);
  const msg = encodeMessage({ id: 7, result: { ok: true, value: { a: bin, b: 'x', nested: { c: 1 } } } });
  const back = decodeMessage(msg) as { id: number; result: { ok: true; value: { a: Uint8Array; b: string } } };
  assert.equal(back.id, 7);
  assert.deepEqual(Array.from(back.result.value.a), [1, 2, 3, 250]);
  assert.throws(() => decodeMessage(msg.subarray(0, 3)), /shorter/);
  assert.throws(() => decodeMessage(msg.subarray(0, msg.length - 1)), /byte offset/);
  const lying = msg.slice();
  new DataView(lying.buffer).setUint32(0, 0xffffffff, true);
  assert.throws(() => decodeMessage(lying), /runs past/);
  assert.throws(() => decodeMessage(new Uint8Array(10), 5), /exceeds the limit/);
});

test('client transport: a closed socket fails pending and later calls with a clear error, never hangs', async () => {
  let close: (reason: string) => void = () => undefined;
  const socket: SocketLike = { send: () => undefined, onMessage: () => undefined, onClose: (cb) => (close = cb) };
  const client = createClient(new SocketTransport(socket));
  const pending = client.loadStatus({ loadId: 'abc' });
  close('server stopped');
  const r = await pending;
  assert.ok(!r.ok && r.error.code === 'disconnected' && r.error.message.includes('server stopped'));
  const later = await client.sessionInfo({ sessionId: 'x' });
  assert.ok(!later.ok && later.error.code === 'disconnected');
});
