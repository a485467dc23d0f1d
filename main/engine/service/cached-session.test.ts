// A cached trace opens to a session at once (rows, filters, lanes listed but empty) while its side
// file of lanes is read in the background, then completes under the same id with the same lanes and
// tiles as a fresh build. A damaged side file is refused, the session rebuilt and the file rewritten.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tableFromIPC } from 'apache-arrow';
import type { FilterSpec } from '../../../shared/contract.ts';
import type { Result } from '../../../shared/result.ts';
import { openIndexed } from '../index/open.ts';
import { previewPath, readSideCacheAsync } from '../query/session-cache.ts';
import { TraceService } from './trace-service.ts';

const FIXTURE = realpathSync(fileURLToPath(new URL('../../formats/ftrace-text/testdata/tracefs-schedmix.txt', import.meta.url)));
const cacheDir = mkdtempSync(join(tmpdir(), 'vcpuscope-cached-session-'));

function value<T>(r: Result<T>): T {
  if (!r.ok) assert.fail(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

async function until(svc: TraceService, loadId: string, ok: (s: { state: string; sessionId?: string }) => boolean): Promise<{ state: string; sessionId?: string }> {
  for (let i = 0; i < 1000; i++) {
    const s = value(await svc.loadStatus({ loadId }));
    if (ok(s)) return s;
    assert.ok(s.state === 'loading' || s.state === 'ready', s.error);
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('load did not get there');
}

/** The load's state once it is `want`, or its last state after ~2 s of polling (any state allowed). */
async function stateAfter(svc: TraceService, loadId: string, want: string): Promise<string> {
  let st = '';
  for (let i = 0; i < 400 && st !== want; i++) {
    st = value(await svc.loadStatus({ loadId })).state;
    if (st !== want) await new Promise((r) => setTimeout(r, 5));
  }
  return st;
}

/** The count once every row was scanned (`done` also waits for the session to be complete). */
async function countAll(svc: TraceService, sessionId: string, filter: FilterSpec, complete = true): Promise<number> {
  for (let i = 0; i < 2000; i++) {
    const c = value(await svc.count({ sessionId, filter }));
    if (complete ? c.done : c.scannedRows === c.totalRows) return c.matched;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('count did not finish');
}

const sidePath = (): string => {
  const f = readdirSync(cacheDir).filter((n) => n.endsWith('.view-v1.bin'));
  assert.equal(f.length, 1, `one side file in ${cacheDir}: ${f.join(', ')}`);
  return join(cacheDir, f[0]!);
};

async function snapshot(svc: TraceService, sessionId: string) {
  const info = value(await svc.sessionInfo({ sessionId }));
  const tile = value(await svc.timeline({ sessionId, filter: {}, t0Ns: info.startNs, t1Ns: info.endNs, widthPx: 4000 }));
  const rows = value(await svc.rows({ sessionId, filter: {}, start: 0, count: 50 }));
  return { info, tile: Buffer.from(tile), rows: Buffer.from(rows as Uint8Array) };
}

test('cached open: session before the lanes are read, complete afterwards; a damaged side file is rebuilt', async () => {
  const ref = await openIndexed(FIXTURE, { cacheDir });
  const cpu0 = ref.readRows(0, ref.rowCount).cpu.filter((c) => c === 0).length;
  ref.close();
  // First open: the side file is written from the indexing pass.
  const first = new TraceService({ cacheDir, pathAllowed: () => true });
  const l1 = value(await first.open({ paths: [FIXTURE] })).loadId;
  const s1 = (await until(first, l1, (s) => s.state === 'ready')).sessionId!;
  const want = await snapshot(first, s1);
  assert.ok(want.info.lanes.every((l) => l.runs > 0));
  first.close();
  const side = sidePath();
  const good = readFileSync(side);
  // ... and, once the levels of detail are built, the preview for the next open's first tiles.
  for (let i = 0; i < 200 && !existsSync(previewPath(side)); i++) await new Promise((r) => setTimeout(r, 10));
  const goodPreview = readFileSync(previewPath(side));

  // Cached open with the background read held: rows and filters work, lanes listed with no runs yet.
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let reads = 0;
  const second = new TraceService({
    cacheDir,
    pathAllowed: () => true,
    readSide: async (...a) => {
      reads++;
      await held;
      return readSideCacheAsync(...a);
    },
  });
  const l2 = value(await second.open({ paths: [FIXTURE] })).loadId;
  const early = await until(second, l2, (s) => s.sessionId !== undefined);
  assert.equal(early.state, 'loading');
  const s2 = early.sessionId!;
  const part = value(await second.sessionInfo({ sessionId: s2 }));
  assert.equal(part.complete, false);
  assert.equal(part.rowCount, want.info.rowCount);
  assert.deepEqual([part.startNs, part.endNs], [want.info.startNs, want.info.endNs]);
  assert.deepEqual(part.lanes.map((l) => [l.cpu, l.runs]), want.info.lanes.map((l) => [l.cpu, 0]));
  assert.ok(Buffer.from(value(await second.rows({ sessionId: s2, filter: {}, start: 0, count: 50 })) as Uint8Array).equals(want.rows));
  assert.equal(await countAll(second, s2, { cpus: [{ file: 0, cpu: 0 }] }, false), cpu0);
  // The lanes are read once the first screen (rows and a timeline tile) has been answered.
  assert.equal(reads, 0, 'the background read waits for the first screen');
  // The whole-trace tile from the preview: drawn, approximate, only threads that ran on each lane.
  const ptile = tableFromIPC(value(await second.timeline({ sessionId: s2, filter: {}, t0Ns: part.startNs, t1Ns: part.endNs, widthPx: 2 })));
  assert.equal(JSON.parse(ptile.schema.metadata.get('approx')!), true);
  assert.ok(ptile.numRows > 0, 'preview tile has segments');
  const ran = await lanesThreads();
  const pl = ptile.getChild('lane')!.toArray() as Uint16Array;
  const pt = ptile.getChild('tid')!.toArray() as Int32Array;
  assert.deepEqual(new Set(pl), new Set(want.info.lanes.map((l) => l.lane)));
  for (let i = 0; i < pl.length; i++) assert.ok(ran[pl[i]!]!.has(pt[i]!), `tid ${pt[i]} ran on lane ${pl[i]}`);
  for (let k = 0; k < 100 && reads === 0; k++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(reads, 1, 'the background read starts after the first rows and tile (well before the 1.5 s fallback)');
  release();
  assert.equal((await until(second, l2, (s) => s.state === 'ready')).sessionId, s2);
  const got = await snapshot(second, s2);
  assert.equal(got.info.complete, true);
  assert.deepEqual(got.info.lanes, want.info.lanes);
  assert.ok(got.tile.equals(want.tile), 'same tile as the fresh build');
  assert.equal(await countAll(second, s2, { cpus: [{ file: 0, cpu: 0 }] }), cpu0);
  second.close();

  // A damaged preview is not used (the session still shows at once, its tiles wait for the lanes).
  const badPreview = Buffer.from(goodPreview);
  badPreview[badPreview.length - 5]! ^= 0x01;
  writeFileSync(previewPath(side), badPreview);
  let release2!: () => void;
  const held2 = new Promise<void>((r) => (release2 = r));
  const fifth = new TraceService({ cacheDir, pathAllowed: () => true, readSide: async (...a) => (await held2, readSideCacheAsync(...a)) });
  const l5 = value(await fifth.open({ paths: [FIXTURE] })).loadId;
  const s5 = (await until(fifth, l5, (s) => s.sessionId !== undefined)).sessionId!;
  const t5 = tableFromIPC(value(await fifth.timeline({ sessionId: s5, filter: {}, t0Ns: part.startNs, t1Ns: part.endNs, widthPx: 2 })));
  assert.equal(t5.numRows, 0, 'no tile from a damaged preview');
  release2();
  await until(fifth, l5, (s) => s.state === 'ready');
  fifth.close();
  writeFileSync(previewPath(side), goodPreview);

  // Cancelled while it waits for its first screen (a minute here): it stops waiting and ends cancelled.
  const sixth = new TraceService({ cacheDir, pathAllowed: () => true, firstScreenWaitMs: 60_000 });
  const l6 = value(await sixth.open({ paths: [FIXTURE] })).loadId;
  await until(sixth, l6, (s) => s.sessionId !== undefined);
  assert.equal(value(await sixth.cancelLoad({ loadId: l6 })).cancelled, true);
  assert.equal(await stateAfter(sixth, l6, 'cancelled'), 'cancelled');
  // Opened by a host that has not looked at it yet (a startup load before any page claims it): the
  // fallback wait starts only when its status is first asked, then the lanes are read.
  let reads7 = 0;
  const seventh = new TraceService({ cacheDir, pathAllowed: () => true, firstScreenWaitMs: 50, readSide: async (...a) => (reads7++, readSideCacheAsync(...a)) });
  const l7 = value(await seventh.open({ paths: [FIXTURE] })).loadId;
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(reads7, 0, 'not read before anyone watched the load');
  assert.equal((await until(seventh, l7, (s) => s.state === 'ready')).state, 'ready');
  assert.equal(reads7, 1);
  // Closing such a session before its first screen ends its load (cancelled), without waiting.
  const l8 = value(await seventh.open({ paths: [FIXTURE] })).loadId;
  await new Promise((r) => setTimeout(r, 100));
  const s8 = seventh['loads'].get(l8)?.sessionId;
  assert.ok(s8, 'the cached session exists before anyone asked');
  assert.equal(value(await seventh.closeSession({ sessionId: s8 })).closed, true);
  assert.equal(await stateAfter(seventh, l8, 'cancelled'), 'cancelled');
  assert.equal(reads7, 1, 'the closed session was never read');
  seventh.close();
  sixth.close();

  // A flipped byte in the lanes: refused in the background, rebuilt, the file rewritten as it was.
  const bad = Buffer.from(good);
  bad[bad.length - 100]! ^= 0x10;
  writeFileSync(side, bad);
  const third = new TraceService({ cacheDir, pathAllowed: () => true });
  const l3 = value(await third.open({ paths: [FIXTURE] })).loadId;
  const s3 = (await until(third, l3, (s) => s.state === 'ready')).sessionId!;
  const re = await snapshot(third, s3);
  assert.deepEqual(re.info.lanes, want.info.lanes);
  assert.ok(re.tile.equals(want.tile), 'rebuilt tile equals the fresh build');
  assert.equal(await countAll(third, s3, { cpus: [{ file: 0, cpu: 0 }] }), cpu0);
  assert.ok(readFileSync(side).equals(good), 'the side file is rewritten');
  for (let i = 0; i < 200 && !readFileSync(previewPath(side)).equals(goodPreview); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(readFileSync(previewPath(side)).equals(goodPreview), 'and its preview');
  third.close();

  // A damaged header (the batch summaries' sizes) is refused before any session is shown from it.
  const h = Buffer.from(good);
  h.writeUInt32LE(1 << 30, 0);
  writeFileSync(side, h);
  const fourth = new TraceService({ cacheDir, pathAllowed: () => true });
  const l4 = value(await fourth.open({ paths: [FIXTURE] })).loadId;
  const s4 = (await until(fourth, l4, (s) => s.state === 'ready')).sessionId!;
  assert.deepEqual(value(await fourth.sessionInfo({ sessionId: s4 })).lanes, want.info.lanes);
  assert.ok(readFileSync(side).equals(good));
  fourth.close();
});

/** Per lane (cpu order, as the session's lanes), the tids of the fixture's switches into that cpu. */
async function lanesThreads(): Promise<Set<number>[]> {
  const t = await openIndexed(FIXTURE, { cacheDir });
  const c = t.readRows(0, t.rowCount);
  t.close();
  const out: Set<number>[] = [new Set(), new Set()];
  for (let i = 0; i < c.length; i++) out[c.cpu[i]!]?.add(c.tid[i]!);
  return out;
}
