// Guest traces whose vCPU count matches several VMs are paired by clock alignment (the assignment
// under which their events fall inside their own vCPUs' host runs), checked against the simulator's
// truth; a guest that fits no VM well is still refused with a message asking for --guest.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { generate } from '../../main/sim/index.ts';
import { openIndexed } from '../../main/engine/index/open.ts';
import { buildModel, ModelError } from '../../main/engine/model/model.ts';

test('two VMs with the same vCPU count: each guest trace is paired with its own VM without --guest', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-pairing-'));
  try {
    const { truth } = await generate({ out: dir, scenario: 'lock-holder-preemption', seconds: 1, seed: 3, force: true });
    assert.equal(truth.vms.length, 2);
    assert.equal(truth.vms[0]!.vcpus.length, truth.vms[1]!.vcpus.length, 'the scenario has two VMs of the same size');
    const host = await openIndexed(path.join(dir, truth.hostFile), { workers: 0 });
    const guests = await Promise.all(truth.vms.map((vm) => openIndexed(path.join(dir, vm.guestFile), { workers: 0 })));
    // Both orders of the inputs give the truth's pairing.
    for (const order of [guests, [...guests].reverse()]) {
      const model = buildModel([{ trace: host }, ...order.map((g) => ({ trace: g }))]);
      for (const tv of truth.vms) {
        const vm = model.vms.find((v) => v.hostIds.join(',') === tv.vcpus.map((x) => x.hostTid).join(','))!;
        assert.equal(vm.guestFile, path.join(dir, tv.guestFile));
        assert.ok(Math.abs(vm.offsetNs! - tv.guestOffsetNs) < 1e6, `${tv.name}: offset ${vm.offsetNs} vs truth ${tv.guestOffsetNs}`);
      }
    }
    // The same guest twice cannot both fit: still refused with a message that names --guest.
    assert.throws(
      () => buildModel([{ trace: host }, { trace: guests[0]! }, { trace: guests[0]! }]),
      (e: unknown) => e instanceof ModelError && /--guest/.test(e.message),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
