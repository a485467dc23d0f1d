// Xen as the host layer (real xentrace fixture of the xentrace reader): domains become VMs named
// dom<ID> with their vCPUs, `stats --json` prints them without hostTid, and a guest trace is paired
// with a domain by --guest FILE@dom<ID> (the guest here is hand-built: no real guest trace exists
// for that recording).

import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openIndexed } from '../../main/engine/index/open.ts';
import { buildModel } from '../../main/engine/model/model.ts';
import { TraceBuilder } from '../../main/engine/model/test-traces.ts';
import { followThread } from '../../main/engine/query/follow.ts';
import { vmSummary } from '../../main/cli/stats-extensions.ts';

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'main', 'formats', 'xentrace', 'testdata', 'xentrace-head.bin');

test('xentrace host: domains are VMs dom<ID>; a guest pairs by @dom<ID>', async () => {
  const host = await openIndexed(fixture, { workers: 0 });
  try {
    const hostOnly = buildModel([{ trace: host }]);
    const names = hostOnly.vms.map((v) => `${v.name}:${v.vcpuIds.join(',')}`);
    assert.ok(names.includes('dom0:0,1,2,3,4,5,6,7'), names.join(' '));
    assert.ok(names.some((n) => n.startsWith('dom14:')), names.join(' '));
    const dom14 = hostOnly.vms.find((v) => v.name === 'dom14')!;
    const s = vmSummary(hostOnly, dom14);
    assert.equal(s.domid, 14);
    assert.ok(s.vcpus.every((v) => !('hostTid' in v)));
    assert.ok(s.vcpuTime.some((v) => v.onCoreNs > 0));
    // a hand-built guest for dom14 whose thread runs on vCPU 0 across the whole host span
    const H = hostOnly.vcpus;
    const g0 = dom14.firstGlobal + dom14.vcpuIds.indexOf(0);
    const firstOn = H.startNs[H.groupStart[g0]!]!;
    const lastOff = H.endNs[H.groupStart[g0 + 1]! - 1]!;
    const g = new TraceBuilder('guest-dom14.txt');
    g.switch(firstOn - 1000, 0, 0, 'swapper/0', 42, 'worker');
    g.switch(lastOff, 0, 42, 'worker', 0, 'swapper/0');
    const m = buildModel([{ trace: host }, { trace: g.build(), vm: 'dom14', offsetNs: 0 }]);
    const f = followThread(m, { tid: 42 })!;
    assert.equal(f.vm, 'dom14');
    // on cores exactly when vCPU 0 of dom14 was: the sum of its on-core time
    const on = s.vcpuTime.find((v) => v.vcpu === 0)!.onCoreNs;
    assert.ok(Math.abs(f.runNs - f.stealNs - on) < 1, `${f.runNs - f.stealNs} vs ${on}`);
    assert.throws(() => buildModel([{ trace: host }, { trace: g.build(), vm: 'dom99' }]), /no such VM.*dom0.*dom14/);
  } finally {
    host.close();
  }
});
