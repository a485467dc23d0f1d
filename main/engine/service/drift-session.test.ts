// Clock drift in the raw views: on a simulator set whose guest clocks lose 150 µs/s the model maps
// guest time to host time through a piecewise-linear clock map (drift applied); the session's table,
// time filters and lanes must use that map, not the constant offset at the guest's start.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { generate } from '../../sim/index.ts';
import { openIndexed } from '../index/open.ts';
import { buildModel } from '../model/model.ts';
import { toHostNs } from '../model/align.ts';
import { EventKind } from '../../../shared/schema.ts';
import type { Result } from '../../../shared/result.ts';
import { TraceService } from './trace-service.ts';

function value<T>(r: Result<T>): T {
  if (!r.ok) assert.fail(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

test('guest rows, time filters and lanes follow the model clock map when drift is applied', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-drift-svc-'));
  try {
    const { truth } = await generate({ out: dir, scenario: 'noisy-neighbour', seconds: 4, seed: 7, force: true, clockDriftNsPerS: 150_000 });
    const hostPath = path.join(dir, truth.hostFile);
    const guestPaths = truth.vms.map((v) => path.join(dir, v.guestFile));
    // The reference: the model built directly on the same files (deterministic), and the raw guest rows.
    const host = await openIndexed(hostPath, { workers: 0 });
    const guests = await Promise.all(guestPaths.map((p) => openIndexed(p, { workers: 0 })));
    const hostOnly = buildModel([{ trace: host }]);
    const names = truth.vms.map((tv) => hostOnly.vms.find((v) => v.hostIds.join(',') === tv.vcpus.map((x) => x.hostTid).join(','))!.name);
    const model = buildModel([{ trace: host }, ...guests.map((g, i) => ({ trace: g, vm: names[i]! }))]);
    const gi = truth.vms.findIndex((v) => v.name === 'app');
    const vm = model.vms.find((v) => v.name === names[gi])!;
    assert.equal(vm.alignment?.driftApplied, true, 'the scenario must need the drift');
    const clock = vm.clock!;
    const raw = guests[gi]!.readRows(0, guests[gi]!.rowCount);

    const svc = new TraceService({ cacheDir: path.join(dir, 'cache'), pathAllowed: () => true });
    const { loadId } = value(await svc.open({ paths: [hostPath, ...guestPaths], guests: guestPaths.map((p, i) => ({ path: p, vm: names[i]! })) }));
    let sessionId = '';
    for (let i = 0; i < 3000 && !sessionId; i++) {
      const s = value(await svc.loadStatus({ loadId }));
      if (s.state === 'ready') sessionId = s.sessionId!;
      else {
        assert.equal(s.state, 'loading', s.error);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    assert.ok(sessionId, 'load did not finish');
    const info = value(await svc.sessionInfo({ sessionId }));
    const fi = 1 + gi; // files in the order given
    assert.equal(info.files[fi]?.layer, 'guest');
    assert.equal(info.vms.find((v) => v.guestFile === fi)?.offsetNs, vm.offsetNs);

    // Table: the guest file's rows (filter files=[fi] keeps its order) at the start and at the end.
    const only = { files: [fi] };
    let farFromConstant = 0;
    for (const start of [0, raw.length - 3000]) {
      const t = tableFromIPC(value(await svc.rows({ sessionId, filter: only, start, count: 3000 })));
      const ts = t.getChild('ts')!.toArray() as Float64Array;
      assert.equal(ts.length, 3000);
      for (let k = 0; k < ts.length; k++) {
        const g = raw.ts[start + k]!;
        assert.equal(ts[k], toHostNs(clock, g), `row ${start + k}`);
        if (Math.abs(ts[k]! - (g + vm.offsetNs!)) > 50_000) farFromConstant++;
      }
    }
    assert.ok(farFromConstant > 1000, `the end of the guest trace must be > 50 µs away from the constant offset (${farFromConstant} rows)`);

    // Time filter over the last 0.2 s of the guest trace: counted on mapped times.
    const gEnd = raw.ts[raw.length - 1]!;
    const t0Ns = toHostNs(clock, gEnd - 200_000_000);
    const t1Ns = toHostNs(clock, gEnd - 50_000_000);
    let want = 0;
    let wantConstant = 0;
    for (let i = 0; i < raw.length; i++) {
      const h = toHostNs(clock, raw.ts[i]!);
      if (h >= t0Ns && h < t1Ns) want++;
      const c = raw.ts[i]! + vm.offsetNs!;
      if (c >= t0Ns && c < t1Ns) wantConstant++;
    }
    let matched = -1;
    for (let i = 0; i < 2000; i++) {
      const c = value(await svc.count({ sessionId, filter: { files: [fi], t0Ns, t1Ns } }));
      if (c.done) {
        matched = c.matched;
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(matched, want);
    assert.notEqual(want, wantConstant, 'the window must tell the map from the constant offset');

    // Lanes: the guest vCPU lanes' run starts are the mapped switch times (timeline tile of one vCPU lane).
    const firstSwitch = Array.from({ length: raw.length }, (_, i) => i).find((i) => raw.kind[i] === EventKind.switch && i > raw.length - 5000)!;
    const cpu = raw.cpu[firstSwitch]!;
    const at = toHostNs(clock, raw.ts[firstSwitch]!);
    const tile = tableFromIPC(value(await svc.timeline({ sessionId, filter: {}, t0Ns: at - 1, t1Ns: at + 2, widthPx: 3 })));
    const laneCol = tile.getChild('lane')?.toArray() as Int32Array | Uint32Array | Uint16Array | undefined;
    const startCol = tile.getChild('startNs')?.toArray() as Float64Array | undefined;
    assert.ok(laneCol && startCol, `timeline tile columns: ${tile.schema.fields.map((f) => f.name).join(',')}`);
    const lane = info.lanes.find((l) => l.file === fi && l.cpu === cpu)!;
    let found = false;
    for (let k = 0; k < laneCol.length; k++) if (laneCol[k] === lane.lane && startCol[k] === at) found = true;
    assert.ok(found, `a run of guest cpu ${cpu} starting at the mapped time ${at}`);
    await svc.closeSession({ sessionId });
    host.close();
    for (const g of guests) g.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
