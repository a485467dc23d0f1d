// Clock drift: a simulator run whose guest clocks lose 150 µs per second (truth.json gives the exact
// linear map), read with the real text reader. The automatic alignment must find the drift, apply
// it (guest time mapped piecewise-linearly / by the fitted line through the per-window offsets),
// and the placement must then match the truth; a single offset could not.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { generate } from '../../main/sim/index.ts';
import { openIndexed } from '../../main/engine/index/open.ts';
import { buildModel } from '../../main/engine/model/model.ts';
import { offsetAt, scoreMap, scoreOffset, type ClockMap } from '../../main/engine/model/align.ts';
import { followThread } from '../../main/engine/query/follow.ts';

const DRIFT = 150_000;

test('clock drift: found, applied, and the placement matches the truth', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-drift-'));
  const { truth } = await generate({ out: dir, scenario: 'noisy-neighbour', seconds: 4, seed: 7, force: true, clockDriftNsPerS: DRIFT });
  const host = await openIndexed(path.join(dir, truth.hostFile), { workers: 0 });
  const guests = await Promise.all(truth.vms.map((v) => openIndexed(path.join(dir, v.guestFile), { workers: 0 })));
  try {
    const hostOnly = buildModel([{ trace: host }]);
    const names = truth.vms.map((tv) => hostOnly.vms.find((v) => v.hostIds.join(',') === tv.vcpus.map((x) => x.hostTid).join(','))!.name);
    const model = buildModel([{ trace: host }, ...guests.map((g, i) => ({ trace: g, vm: names[i]! }))]);
    let checked = 0;
    truth.vms.forEach((tv, i) => {
      assert.ok(tv.guestDriftNsPerS !== undefined && tv.guestClockRefNs !== undefined);
      const truthOffset = (g: number): number => tv.guestOffsetNs + (tv.guestDriftNsPerS! * (g - tv.guestClockRefNs!)) / 1e9;
      const vm = model.vms.find((v) => v.name === names[i])!;
      const a = vm.alignment!;
      const where = `${tv.name}: drift ${a.driftNsPerS} ns/s (truth ${tv.guestDriftNsPerS!.toFixed(1)}), applied ${a.driftApplied}`;
      assert.equal(a.method, 'auto');
      assert.equal(a.driftApplied, true, where);
      assert.ok(Math.abs(a.driftNsPerS! - tv.guestDriftNsPerS!) <= 0.1 * DRIFT, where);
      // the applied map stays within 100 µs of the truth's over the whole guest trace (the estimates
      // are plateau middles: where vCPUs stay on cores long, many offsets fit equally well)
      const g0 = guests[i]!.summary.startNs!;
      const g1 = guests[i]!.summary.endNs!;
      for (let k = 0; k <= 20; k++) {
        const g = g0 + ((g1 - g0) * k) / 20;
        assert.ok(Math.abs(offsetAt(vm.clock!, g) - truthOffset(g)) <= 100_000, `${where}: offset at guest ${g}: ${offsetAt(vm.clock!, g)} vs truth ${truthOffset(g)}`);
      }
      assert.ok(Math.abs(vm.offsetNs! - truthOffset(g0)) <= 100_000, `${where}: offsetNs (at the start) ${vm.offsetNs} vs ${truthOffset(g0)}`);
      // as consistent as the true map, and clearly better than any single offset
      const truthMap: ClockMap = { offsetNs: tv.guestOffsetNs, knots: { guestNs: Float64Array.of(g0, g1), offsetNs: Float64Array.of(truthOffset(g0), truthOffset(g1)) } };
      const qt = scoreMap(vm.alignInput!, truthMap);
      assert.ok(a.quality >= qt.consistent / qt.checked - 0.01, `${where}: quality ${a.quality} vs the true map's ${qt.consistent / qt.checked}`);
      let bestConst = 0;
      for (let o = truthOffset(g0) - 100_000; o <= truthOffset(g1) + 100_000; o += 10_000) {
        const s = scoreOffset(vm.alignInput!, o);
        bestConst = Math.max(bestConst, s.consistent / s.checked);
      }
      if (tv.name === 'app') assert.ok(a.quality > bestConst + 0.05, `${where}: quality ${a.quality}, best single offset ${bestConst} (the scenario must need the drift)`);
      // placement against the truth: each boundary may move by the map's error (measured: <= 1 µs in total per thread)
      for (const tt of tv.threads) {
        if (tt.runNs === 0) continue;
        const f = followThread(model, { tid: tt.tid, vm: vm.name });
        assert.ok(f, `${tv.name} tid ${tt.tid} missing`);
        const tol = 5_000 * (f.segments.length + 1);
        const w = `${tv.name} tid ${tt.tid} (${tt.comm}), ${f.segments.length} segments`;
        assert.ok(Math.abs(f.runNs - tt.runNs) <= tol, `${w}: runNs ${f.runNs} vs ${tt.runNs}`);
        assert.ok(Math.abs(f.stealNs - tt.stealNs) <= tol, `${w}: stealNs ${f.stealNs} vs ${tt.stealNs}`);
        for (const c of new Set([...Object.keys(f.coreNs), ...Object.keys(tt.coreNs)])) assert.ok(Math.abs((f.coreNs[c] ?? 0) - (tt.coreNs[c] ?? 0)) <= tol, `${w}: core ${c}`);
        assert.deepEqual(f.migrations, tt.migrations, w);
        checked++;
      }
    });
    assert.ok(checked > 50, `only ${checked} threads compared`);
  } finally {
    host.close();
    for (const g of guests) g.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('generate rejects an absurd clock drift', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-drift-bad-'));
  try {
    await assert.rejects(generate({ out: dir, scenario: 'pinned', seconds: 0.1, force: true, clockDriftNsPerS: 5e6 }), /clock drift/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
