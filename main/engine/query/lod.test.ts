// The timeline's level-of-detail pyramid against the exact per-pixel answer, on real recordings
// (the 1 s schedmix trace.dat and the tracefs fixture): busy time and run starts per bucket are
// exact, the dominant thread is exact at level 0, and zoomed-out tiles drawn from it stay within
// the bound of their bucket width of the exact busy time per pixel and never show a thread that did
// not run in the pixel. Also: short runs that sampling would hide are drawn with their share.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tableFromIPC } from 'apache-arrow';
import { EventKind } from '../../../shared/schema.ts';
import { EventColumnsBuilder } from '../index/event-columns.ts';
import { MemoryIndexedTrace } from '../index/indexed-trace.ts';
import { openIndexed } from '../index/open.ts';
import { SummaryAccumulator } from '../index/summary.ts';
import { buildSessionLod, exactPixels, pickLevel, summarize, type PixelSummary } from './lod.ts';
import { prepareSession, type Lane, type SessionData } from './session-data.ts';
import { sessionLod, timelineTile } from './timeline.ts';

const FIXTURES = ['../../formats/ftrace-text/testdata/schedmix-1s/trace.dat', '../../formats/ftrace-text/testdata/tracefs-schedmix.txt'].map((p) => fileURLToPath(new URL(p, import.meta.url)));

async function session(file: string): Promise<SessionData> {
  const t = await openIndexed(file, { cacheDir: mkdtempSync(join(tmpdir(), 'vcpuscope-lod-')) });
  return prepareSession([t], { cancelled: false }, () => undefined);
}

/** Brute force over every run: busy ns and per-thread ns in [a, b). */
function brute(L: Lane, a: number, b: number): { busy: number; starts: number; byTid: Map<number, number> } {
  let busy = 0;
  let starts = 0;
  const byTid = new Map<number, number>();
  const n = L.startNs.length;
  for (let i = 0; i < n; i++) {
    const s = L.startNs[i]!;
    const e = Math.min(i + 1 < n ? L.startNs[i + 1]! : L.endNs, L.endNs);
    if (s >= a && s < b) starts++;
    const ov = Math.min(e, b) - Math.max(s, a);
    if (L.tid[i] === 0 || ov <= 0) continue;
    busy += ov;
    byTid.set(L.tid[i]!, (byTid.get(L.tid[i]!) ?? 0) + ov);
  }
  return { busy, starts, byTid };
}

const scratch = (): [PixelSummary, Int32Array, Float64Array, Int32Array] => [{ busyNs: 0, starts: 0, domRun: -1 }, new Int32Array(32), new Float64Array(32), new Int32Array(32)];

for (const file of FIXTURES) {
  const name = file.split('/testdata/')[1]!;

  test(`${name}: the exact per-pixel reference equals a brute-force sum`, async () => {
    const d = await session(file);
    const L = [...d.lanes].sort((x, y) => y.startNs.length - x.startNs.length)[0]!;
    const width = 37;
    const t0 = L.startNs[0]! + 12_345.5;
    const pxNs = (L.endNs - t0) / width;
    let checked = 0;
    exactPixels(L, t0, pxNs, width, (px, busyNs, starts, domRun) => {
      const r = brute(L, t0 + px * pxNs, t0 + (px + 1) * pxNs);
      assert.ok(Math.abs(busyNs - r.busy) <= 1e-6 * pxNs, `pixel ${px}: busy ${busyNs} vs ${r.busy}`);
      assert.equal(starts, r.starts, `pixel ${px}: starts`);
      const max = Math.max(0, ...r.byTid.values());
      assert.equal(domRun < 0 ? 0 : r.byTid.get(L.tid[domRun]!), max, `pixel ${px}: dominant`);
      checked++;
    });
    assert.ok(checked >= width - 1);
  });

  test(`${name}: LOD buckets equal the exact sums (busy, starts at every level; dominant at level 0)`, async () => {
    const d = await session(file);
    const lod = buildSessionLod(d);
    let lanes = 0;
    for (const L of d.lanes) {
      const ll = lod.lanes[L.lane];
      if (!ll) continue;
      lanes++;
      if (ll.levels[0]!.n > 64) assert.ok(ll.levels.length >= 2, 'a pyramid, not one level');
      const total = brute(L, -Infinity, Infinity);
      for (let k = 0; k < ll.levels.length; k++) {
        const lv = ll.levels[k]!;
        let busy = 0;
        let starts = 0;
        for (let j = 0; j < lv.n; j++) {
          busy += lv.busy[j]!;
          starts += lv.starts[j]!;
        }
        assert.equal(starts, L.startNs.length, `level ${k}: every run start counted once`);
        assert.ok(Math.abs(busy - total.busy) <= 1e-5 * total.busy, `level ${k}: busy ${busy} vs ${total.busy}`);
        // pixels aligned on this level's buckets, one or four buckets each
        for (const per of k === 0 ? [1, 4] : [4]) {
          const pxNs = lv.width * per;
          const width = Math.ceil(lv.n / per);
          const [out, a1, a2, a3] = scratch();
          exactPixels(L, ll.originNs, pxNs, width, (px, busyNs, st, domRun) => {
            const a = ll.originNs + px * pxNs;
            summarize(ll, L, k, a, a + pxNs, out, a1, a2, a3);
            assert.ok(Math.abs(out.busyNs - busyNs) <= 1e-5 * pxNs + 1, `level ${k} x${per} pixel ${px}: busy ${out.busyNs} vs ${busyNs}`);
            assert.equal(out.starts, st, `level ${k} x${per} pixel ${px}: starts`);
            if (k === 0 && per === 1) assert.equal(out.domRun < 0 ? -1 : L.tid[out.domRun], domRun < 0 ? -1 : L.tid[domRun], `pixel ${px}: dominant thread`);
          });
        }
      }
    }
    assert.ok(lanes > 0, 'the fixture has lanes dense enough for a LOD');
  });

  // the tracefs fixture has too few runs per lane for a view to need the LOD
  if (!name.endsWith('.dat')) continue;
  test(`${name}: zoomed-out tiles from the LOD stay within their bucket bound of the exact pixel and show only threads that ran there`, async () => {
    const d = await session(file);
    const lod = buildSessionLod(d);
    let lodLanes = 0;
    for (const width of [40, 97]) {
      for (const [f0, f1] of [
        [0, 1],
        [0.1037, 0.8813],
      ] as const) {
        const t0 = d.startNs + (d.endNs - d.startNs) * f0;
        const t1 = d.startNs + (d.endNs - d.startNs) * f1;
        const pxNs = (t1 - t0) / width;
        const t = tableFromIPC(timelineTile(d, {}, t0, t1, width));
        assert.equal(JSON.parse(t.schema.metadata.get('approx') ?? 'true'), false, 'built synchronously for a small session');
        const lane = t.getChild('lane')!.toArray() as Uint16Array;
        const start = t.getChild('startNs')!.toArray() as Float64Array;
        const end = t.getChild('endNs')!.toArray() as Float64Array;
        const tid = t.getChild('tid')!.toArray() as Int32Array;
        const busy = t.getChild('busy')!.toArray() as Float32Array;
        for (const L of d.lanes) {
          const ll = lod.lanes[L.lane];
          const runsInView = L.startNs.filter((s) => s >= t0 && s < t1).length;
          if (!ll || runsInView <= 64 * width) continue; // drawn exactly (runs or exact pixels)
          const k = pickLevel(ll, pxNs);
          if (k < 0) continue;
          const W = ll.levels[k]!.width;
          lodLanes++;
          let sumTile = 0;
          let sumExact = 0;
          for (let px = 0; px < width; px++) {
            const a = t0 + px * pxNs;
            const b = a + pxNs;
            if (a >= L.endNs) break;
            const r = brute(L, a, b);
            let seg = -1;
            for (let s = 0; s < lane.length; s++) if (lane[s] === L.lane && start[s]! <= a + 1e-3 && end[s]! >= b - 1e-3) seg = s;
            const tileBusy = seg < 0 ? 0 : busy[seg]! * (Math.min(b, L.endNs) - a);
            sumTile += tileBusy;
            sumExact += r.busy;
            assert.ok(Math.abs(tileBusy - r.busy) <= 2 * W + pxNs / 16, `lane ${L.lane} px ${px}: tile busy ${tileBusy} vs exact ${r.busy} (bucket ${W}, pixel ${pxNs})`);
            if (seg >= 0) assert.ok((r.byTid.get(tid[seg]!) ?? 0) > 0, `lane ${L.lane} px ${px}: thread ${tid[seg]} shown but did not run there`);
          }
          assert.ok(Math.abs(sumTile - sumExact) <= 0.03 * sumExact + 2 * W, `lane ${L.lane}: view busy ${sumTile} vs ${sumExact}`);
        }
      }
    }
    assert.ok(lodLanes >= 4, `views drawn from the LOD: ${lodLanes}`);
  });
}

/** One lane: thread 7 runs 10 µs of every 1 ms (1% busy), idle the rest; 2 runs per cycle. */
async function shortRuns(cycles: number): Promise<SessionData> {
  const b = new EventColumnsBuilder(1 << 16);
  const a = b.commId('short');
  const idle = b.commId('swapper/0');
  const ev = b.eventId('sched_switch');
  for (let k = 0; k < cycles; k++) {
    const t = k * 1_000_000;
    b.append(EventKind.switch, ev, t, 0, 7, 7, a, 0, idle, 1, 120, 120, 2 * k);
    b.append(EventKind.switch, ev, t + 10_000, 0, 0, 0, idle, 7, a, 1, 120, 120, 2 * k + 1);
  }
  const cols = b.finishCopy();
  const acc = new SummaryAccumulator();
  acc.add(cols);
  const info = { format: 'test', entity: 'tid' as const };
  const tr = new MemoryIndexedTrace('short', cols, acc.finish('short', 1, 'test', info, cols.events, [], 0), info);
  return prepareSession([tr], { cancelled: false }, () => undefined);
}

test('short runs that sampling would hide are drawn with their share of the pixel', async () => {
  const d = await shortRuns(100_000);
  const width = 800;
  const t = tableFromIPC(timelineTile(d, {}, d.startNs, d.endNs, width));
  const tid = t.getChild('tid')!.toArray() as Int32Array;
  const busy = t.getChild('busy')!.toArray() as Float32Array;
  const start = t.getChild('startNs')!.toArray() as Float64Array;
  const end = t.getChild('endNs')!.toArray() as Float64Array;
  assert.ok(tid.length > 0, 'the busy thread is drawn');
  let covered = 0;
  for (let s = 0; s < tid.length; s++) {
    assert.equal(tid[s], 7);
    assert.ok(busy[s]! > 0.008 && busy[s]! < 0.012, `busy ${busy[s]} ~ 1%`);
    covered += end[s]! - start[s]!;
  }
  // every pixel shows it (sampling the middle of each pixel would land on idle almost always)
  assert.ok(covered >= 0.99 * (d.endNs - d.startNs), `covered ${covered} of ${d.endNs - d.startNs}`);
});

test('one background LOD build at a time: a second session waits while the first is asked for, then builds', async () => {
  // above the synchronous threshold: built in the background
  const d1 = await shortRuns(150_000);
  const d2 = await shortRuns(150_000);
  assert.equal(sessionLod(d1).lod, null);
  assert.equal(sessionLod(d2).lod, null);
  // nothing is built for data asked for once (a partial session's passing snapshot)
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  assert.equal(sessionLod(d1).lod, null, 'not built before it settles');
  await new Promise((r) => setTimeout(r, 300));
  const s1 = sessionLod(d1);
  assert.equal(s1.building, true);
  const s2 = sessionLod(d2);
  assert.equal(s2.lod, null);
  assert.equal(s2.building, true, 'the tile says approximate');
  // 750 runs per pixel: too many to sum exactly, so sampled (and marked approximate) until the LOD is there
  const tile = tableFromIPC(timelineTile(d2, {}, d2.startNs, d2.endNs, 400));
  assert.equal(JSON.parse(tile.schema.metadata.get('approx')!), true);
  for (let i = 0; i < 2000 && sessionLod(d1).building; i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(sessionLod(d1).lod, 'the first build finished');
  assert.equal(sessionLod(d2).building, true, 'the second starts once the first is done');
  for (let i = 0; i < 2000 && sessionLod(d2).building; i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(sessionLod(d2).lod, 'the second build finished');
  assert.deepEqual(sessionLod(d2).lod!.lanes[0]!.levels[0]!.busy, buildSessionLod(d2).lanes[0]!.levels[0]!.busy, 'same LOD as a synchronous build');
  const t2 = tableFromIPC(timelineTile(d2, {}, d2.startNs, d2.endNs, 400));
  assert.equal(JSON.parse(t2.schema.metadata.get('approx')!), false);
  const busy = t2.getChild('busy')!.toArray() as Float32Array;
  assert.ok(busy.length > 0 && busy.every((b) => b > 0.008 && b < 0.012), 'drawn from the LOD: 1% busy everywhere');
});

test('a settled (complete) session starts its background LOD build at the first call', async () => {
  const d = await shortRuns(150_000);
  const s = sessionLod(d, true);
  assert.equal(s.lod, null);
  assert.equal(s.building, true, 'started without waiting to be asked again');
  for (let i = 0; i < 2000 && sessionLod(d).building; i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(sessionLod(d).lod, 'built');
  assert.deepEqual(sessionLod(d).lod!.lanes[0]!.levels[0]!.busy, buildSessionLod(d).lanes[0]!.levels[0]!.busy);
});
