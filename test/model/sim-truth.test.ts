// Property test against the simulator's ground truth (main/sim, truth.json, same definitions as
// main/engine/model/README.md): for each scenario, generate traces, read them with the real text
// reader, build the model and compare per-thread placement time per core, steal and migrations,
// the vCPU map and co-scheduling. Also: the automatic clock offset is as consistent as the truth's.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { generate, SCENARIOS, type Truth } from '../../main/sim/index.ts';
import type { IndexedTrace } from '../../main/engine/index/indexed-trace.ts';
import { openIndexed } from '../../main/engine/index/open.ts';
import { buildModel, type ModelInputFile } from '../../main/engine/model/model.ts';
import { followThread } from '../../main/engine/query/follow.ts';
import { scoreOffset } from '../../main/engine/model/align.ts';
import type { ModelVm } from '../../main/engine/model/model.ts';

async function openSet(dir: string, truth: Truth): Promise<{ host: IndexedTrace; guests: IndexedTrace[] }> {
  const host = await openIndexed(path.join(dir, truth.hostFile), { workers: 0 });
  const guests: IndexedTrace[] = [];
  for (const vm of truth.vms) guests.push(await openIndexed(path.join(dir, vm.guestFile), { workers: 0 }));
  return { host, guests };
}

let informativeTotal = 0;

for (const scenario of SCENARIOS.map((s) => s.name)) {
  test(`simulator truth: ${scenario}`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `vcpuscope-sim-${scenario}-`));
    let informativeCount = 0;
    const { truth } = await generate({ out: dir, scenario, seconds: 0.6, seed: 7, force: true });
    const { host, guests } = await openSet(dir, truth);
    try {
      // VMs of the host alone, matched to the truth's by their vCPU threads
      const hostOnly = buildModel([{ trace: host }]);
      const vmFor = truth.vms.map((tv) => {
        const want = tv.vcpus.map((v) => v.hostTid).join(',');
        const m = hostOnly.vms.find((v) => v.hostIds.join(',') === want);
        assert.ok(m, `${scenario}: no model VM with vCPU threads ${want}; model: ${hostOnly.vms.map((v) => v.hostIds.join(',')).join(' | ')}`);
        assert.deepEqual(m.vcpuIds, tv.vcpus.map((v) => v.vcpu));
        return m.name;
      });
      const inputs: ModelInputFile[] = [{ trace: host }, ...guests.map((g, i) => ({ trace: g, vm: vmFor[i]!, offsetNs: truth.vms[i]!.guestOffsetNs }))];
      const model = buildModel(inputs);
      let compared = 0;
      truth.vms.forEach((tv, i) => {
        const vm = model.vms.find((v) => v.name === vmFor[i])!;
        assert.equal(vm.guestFile, guests[i]!.path);
        let gSum = 0;
        let pSum = 0;
        for (const tt of tv.threads) {
          gSum += tt.migrations.guest;
          pSum += tt.migrations.physical;
          const f = followThread(model, { tid: tt.tid, vm: vm.name });
          if (tt.runNs === 0) {
            assert.ok(f === null || f.runNs === 0, `${scenario} ${tv.name} tid ${tt.tid}: ran ${f?.runNs} ns, truth 0`);
            continue;
          }
          assert.ok(f, `${scenario} ${tv.name} tid ${tt.tid} (${tt.comm}) missing`);
          const tol = 1000 * (f.segments.length + 1); // 1 µs per segment boundary
          const where = `${scenario} ${tv.name} tid ${tt.tid} (${tt.comm})`;
          assert.equal(f.comm, tt.comm, where);
          assert.ok(Math.abs(f.runNs - tt.runNs) <= tol, `${where}: runNs ${f.runNs} vs ${tt.runNs}`);
          assert.ok(Math.abs(f.stealNs - tt.stealNs) <= tol, `${where}: stealNs ${f.stealNs} vs ${tt.stealNs}`);
          const cores = new Set([...Object.keys(f.coreNs), ...Object.keys(tt.coreNs)]);
          for (const c of cores) assert.ok(Math.abs((f.coreNs[c] ?? 0) - (tt.coreNs[c] ?? 0)) <= tol, `${where}: core ${c}: ${f.coreNs[c]} vs ${tt.coreNs[c]}`);
          assert.deepEqual(f.migrations, tt.migrations, where);
          compared++;
        }
        assert.equal(vm.migrations.guest, gSum);
        assert.equal(vm.migrations.physical, pSum);
        const fr = vm.coScheduling.fractions;
        assert.equal(fr.length, tv.coscheduling.fractions.length);
        fr.forEach((x, k) => assert.ok(Math.abs(x - tv.coscheduling.fractions[k]!) < 1e-6, `${scenario} ${tv.name} co-scheduling[${k}] ${x} vs ${tv.coscheduling.fractions[k]}`));
      });
      assert.ok(compared > 0);
      // Automatic alignment (no offsets given) is at least as consistent as the true offset.
      const alignInputOf = (vm: ModelVm) => vm.alignInput!;
      const auto = buildModel([{ trace: host }, ...guests.map((g, i) => ({ trace: g, vm: vmFor[i]! }))]);
      truth.vms.forEach((tv, i) => {
        const vm = auto.vms.find((v) => v.name === vmFor[i])!;
        const ref = model.vms.find((v) => v.name === vmFor[i])!;
        assert.equal(vm.alignment!.method, 'auto');
        // these traces have no clock drift: it must not be "found" (drift.test.ts has the other case)
        assert.equal(vm.alignment!.driftApplied, false, `${scenario} ${tv.name}: drift ${vm.alignment!.driftNsPerS} ns/s applied to a drift-free guest`);
        assert.ok(vm.alignment!.quality >= ref.alignment!.quality - 1e-9, `${scenario} ${tv.name}: auto quality ${vm.alignment!.quality} < truth offset's ${ref.alignment!.quality} (auto ${vm.offsetNs}, truth ${tv.guestOffsetNs})`);
        // When a 2 ms shift visibly hurts, the data pins the offset down: auto must be within 1 ms of
        // the truth. (A VM whose vCPUs are always on cores is consistent at any offset.)
        const q = (o: number) => {
          const s = scoreOffset(alignInputOf(ref), o);
          return s.checked ? s.consistent / s.checked : 0;
        };
        const informative = Math.max(q(tv.guestOffsetNs + 2e6), q(tv.guestOffsetNs - 2e6)) < ref.alignment!.quality - 0.05;
        if (informative) assert.ok(Math.abs(vm.offsetNs! - tv.guestOffsetNs) < 1_000_000, `${scenario} ${tv.name}: auto offset ${vm.offsetNs} vs truth ${tv.guestOffsetNs}`);
        informativeCount += informative ? 1 : 0;
      });
      informativeTotal += informativeCount;
    } finally {
      host.close();
      for (const g of guests) g.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('simulator truth: most VMs pin the clock offset down (the offset check above is not vacuous)', () => {
  assert.ok(informativeTotal >= SCENARIOS.length, `only ${informativeTotal} informative VMs`);
});
