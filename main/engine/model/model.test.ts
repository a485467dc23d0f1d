// Unit tests of the model's definitions (README.md) on hand-built two-layer traces; small batch
// sizes so that every loop crosses batch boundaries.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventKind } from '../../../shared/schema.ts';
import type { FormatInfo } from '../../formats/types.ts';
import { coreToThreads, lhpInRange, threadsToCores, vmPlacement } from '../query/cross-layer.ts';
import { followThread } from '../query/follow.ts';
import { buildModel, ModelError } from './model.ts';
import { TraceBuilder } from './test-traces.ts';

function hostTrace(path = 'host.txt', info?: FormatInfo) {
  const h = new TraceBuilder(path, info);
  h.event(EventKind.fork, 'sched_process_fork', 0, 0, 100, 101, 'qemu-system-x86', -1, 100);
  h.event(EventKind.fork, 'sched_process_fork', 0, 0, 100, 102, 'qemu-system-x86', -1, 100);
  h.switch(0, 0, 0, 'swapper/0', 101, 'CPU 0/KVM');
  h.switch(0, 1, 0, 'swapper/1', 102, 'CPU 1/KVM');
  h.switch(100, 0, 101, 'CPU 0/KVM', 0, 'swapper/0');
  h.switch(150, 1, 102, 'CPU 1/KVM', 101, 'CPU 0/KVM');
  h.switch(300, 1, 101, 'CPU 0/KVM', 102, 'CPU 1/KVM');
  h.switch(400, 0, 0, 'swapper/0', 101, 'CPU 0/KVM');
  h.switch(600, 0, 101, 'CPU 0/KVM', 0, 'swapper/0');
  h.switch(600, 1, 102, 'CPU 1/KVM', 0, 'swapper/1');
  return h.build();
}

function guestTrace(path = 'guest.txt', info?: FormatInfo) {
  const g = new TraceBuilder(path, info);
  g.switch(20, 1, 0, 'swapper/1', 9, 'waiter');
  g.switch(50, 0, 0, 'swapper/0', 7, 'holder');
  g.switch(120, 1, 9, 'waiter', 0, 'swapper/1', 'S');
  g.event(EventKind.waking, 'sched_waking', 160, 0, 7, 9, 'waiter');
  g.switch(350, 0, 7, 'holder', 0, 'swapper/0', 'S');
  g.switch(380, 1, 0, 'swapper/1', 7, 'holder');
  g.switch(400, 0, 0, 'swapper/0', 8, 'other');
  g.switch(500, 1, 7, 'holder', 0, 'swapper/1', 'S');
  g.switch(550, 0, 8, 'other', 0, 'swapper/0', 'S');
  return g.build();
}

const segs = (f: NonNullable<ReturnType<typeof followThread>>) =>
  Array.from({ length: f.segments.length }, (_, i) => [f.segments.startNs[i], f.segments.endNs[i], f.segments.vcpu[i], f.segments.core[i]]);

test('placement, steal and migrations follow the shared definitions', () => {
  const m = buildModel([{ trace: guestTrace() }, { trace: hostTrace() }], { guestOffsetNs: 0, lhp: { minGapNs: 10 } });
  assert.equal(m.vms.length, 1);
  const vm = m.vms[0]!;
  assert.deepEqual([vm.name, vm.grouping, vm.vcpuIds, vm.hostIds, vm.guestFile], ['qemu-100', 'fork', [0, 1], [101, 102], 'guest.txt']);
  const f = followThread(m, { tid: 7 })!;
  assert.deepEqual(segs(f), [
    [50, 100, 0, 0],
    [100, 150, 0, -1],
    [150, 300, 0, 1],
    [300, 350, 0, -1],
    [380, 500, 1, 1],
  ]);
  assert.deepEqual([f.comm, f.runNs, f.stealNs, f.coreNs, f.migrations], ['holder', 420, 100, { '0': 50, '1': 270 }, { guest: 1, host: 1, physical: 1 }]);
  const f8 = followThread(m, { tid: 8 })!;
  assert.deepEqual([segs(f8), f8.stealNs, f8.migrations], [[[400, 550, 0, 0]], 0, { guest: 0, host: 0, physical: 0 }]);
  assert.deepEqual(vm.migrations, { guest: 1, host: 2, physical: 1 });
  assert.deepEqual(vm.coScheduling.fractions, [0, 0.5, 0.5]);
  assert.equal(followThread(m, { tid: 0 }), null);
  assert.equal(followThread(m, { tid: 12345 }), null);
  // window: only segments overlapping [120, 320)
  assert.deepEqual(segs(followThread(m, { tid: 7, startNs: 120, endNs: 320 })!), [
    [100, 150, 0, -1],
    [150, 300, 0, 1],
    [300, 350, 0, -1],
  ]);
});

test('lock-holder-preemption candidates: steal gaps with running siblings, and the waiter', () => {
  const m = buildModel([{ trace: hostTrace() }, { trace: guestTrace() }], { guestOffsetNs: 0, lhp: { minGapNs: 10 } });
  const l = m.lhp;
  const rows = Array.from({ length: l.length }, (_, i) => [l.tid[i], l.vcpu[i], l.startNs[i], l.endNs[i], l.siblingsOnCoreNs[i], l.waiterTid[i]]);
  assert.deepEqual(rows, [
    [7, 0, 100, 150, 50, 9],
    [7, 0, 300, 350, 50, -1],
  ]);
  assert.deepEqual(Array.from(lhpInRange(m, { vm: 'qemu-100', startNs: 200, endNs: 400 })!.startNs), [300]);
  assert.equal(lhpInRange(m, { vm: 'nope', startNs: 0, endNs: 1 }), null);
  const strict = buildModel([{ trace: hostTrace() }, { trace: guestTrace() }], { guestOffsetNs: 0, lhp: { minGapNs: 51 } });
  assert.equal(strict.lhp.length, 0);
});

test('cross-layer queries answer from the indexes', () => {
  const m = buildModel([{ trace: hostTrace() }, { trace: guestTrace() }], { guestOffsetNs: 0 });
  assert.deepEqual(coreToThreads(m, { core: 1, startNs: 0, endNs: 600 }), {
    threads: [
      { vm: 'qemu-100', tid: 7, comm: 'holder', ns: 270 },
      { vm: 'qemu-100', tid: 9, comm: 'waiter', ns: 100 },
    ],
    unattributedVcpuNs: 230,
  });
  assert.deepEqual(threadsToCores(m, { vm: 'qemu-100', tids: [7], startNs: 0, endNs: 600 }), {
    vcpus: [
      { vcpu: 0, threadNs: 300 },
      { vcpu: 1, threadNs: 120 },
    ],
    vcpuCores: [
      { vcpu: 0, core: 0, ns: 300 },
      { vcpu: 0, core: 1, ns: 150 },
      { vcpu: 1, core: 1, ns: 450 },
    ],
    threadCores: [
      { core: 0, ns: 50 },
      { core: 1, ns: 270 },
    ],
  });
  const p = vmPlacement(m, { vm: 'qemu-100', startNs: 90, endNs: 160 })!;
  const rows = Array.from({ length: p.segments.length }, (_, i) => [p.segments.tid[i], p.segments.startNs[i], p.segments.endNs[i], p.segments.vcpu[i], p.segments.core[i]]);
  assert.deepEqual(rows, [
    [7, 90, 100, 0, 0],
    [7, 100, 150, 0, -1],
    [7, 150, 160, 0, 1],
    [9, 90, 120, 1, 1],
  ]);
  assert.deepEqual(p.comms, { '7': 'holder', '9': 'waiter' });
});

test('kvm_entry/kvm_exit only: the vCPU is on a core from entry to exit', () => {
  const h = new TraceBuilder('kvm.txt');
  h.event(EventKind.vmEntry, 'kvm_entry', 10, 0, 201, 201, 'CPU 0/KVM', 0);
  h.event(EventKind.vmExit, 'kvm_exit', 90, 0, 201, 201, 'CPU 0/KVM', 0);
  h.event(EventKind.vmEntry, 'kvm_entry', 100, 1, 201, 201, 'CPU 0/KVM', 0);
  h.event(EventKind.vmExit, 'kvm_exit', 200, 1, 201, 201, 'CPU 0/KVM', 0);
  const g = new TraceBuilder('g.txt');
  g.switch(0, 0, 0, 'swapper/0', 5, 't');
  g.switch(300, 0, 5, 't', 0, 'swapper/0');
  const m = buildModel([{ trace: h.build() }, { trace: g.build() }], { guestOffsetNs: 0 });
  assert.equal(m.vcpus.source, 'kvm_entry/kvm_exit');
  assert.deepEqual(segs(followThread(m, { tid: 5 })!), [
    [0, 10, 0, -1],
    [10, 90, 0, 0],
    [90, 100, 0, -1],
    [100, 200, 0, 1],
    [200, 300, 0, -1],
  ]);
  assert.deepEqual(followThread(m, { tid: 5 })!.migrations, { guest: 0, host: 1, physical: 1 });
  assert.equal(m.vcpus.guestModeNs[0], 180);
});

test('pairing: an ambiguous guest gets a message naming --guest FILE@PID; a selector resolves it', () => {
  const h = new TraceBuilder('two-vms.txt');
  h.switch(0, 0, 0, 'swapper/0', 301, 'CPU 0/KVM');
  h.switch(5, 0, 301, 'CPU 0/KVM', 401, 'CPU 0/KVM');
  h.switch(10, 0, 401, 'CPU 0/KVM', 0, 'swapper/0');
  h.switch(1, 1, 0, 'swapper/1', 300, 'qemu-system-x86');
  h.switch(2, 1, 300, 'qemu-system-x86', 400, 'qemu-system-x86');
  h.switch(3, 1, 400, 'qemu-system-x86', 0, 'swapper/1');
  const host = h.build();
  const g = new TraceBuilder('g.txt');
  g.switch(0, 0, 0, 'swapper/0', 5, 't');
  g.switch(8, 0, 5, 't', 0, 'swapper/0');
  const guest = g.build();
  assert.throws(() => buildModel([{ trace: host }, { trace: guest }], { guestOffsetNs: 0 }), (e: unknown) => e instanceof ModelError && /--guest g\.txt@PID/.test(e.message) && /qemu-300/.test(e.message) && /qemu-400/.test(e.message));
  const m = buildModel([{ trace: host }, { trace: guest, vm: '400' }], { guestOffsetNs: 0 });
  assert.deepEqual(m.vms.map((v) => [v.name, v.grouping, v.guestFile]), [
    ['qemu-300', 'tid-range', null],
    ['qemu-400', 'tid-range', 'g.txt'],
  ]);
  assert.throws(() => buildModel([{ trace: guest }]), (e: unknown) => e instanceof ModelError && /no host trace/.test(e.message));
  assert.throws(() => buildModel([{ trace: host }, { trace: guest, vm: '999' }]), /no such VM/);
});

test('trace.dat options: GUEST names the VM and pairs the guest by trace id; an applied TIME_SHIFT is a recorded offset', () => {
  const hostInfo: FormatInfo = { format: 'trace.dat v7', entity: 'tid', extra: { guests: [{ name: 'debian', traceId: '42', vcpus: [{ vcpu: 0, hostPid: 101 }, { vcpu: 1, hostPid: 102 }] }] } };
  const guestInfo: FormatInfo = { format: 'trace.dat v7', entity: 'tid', extra: { traceId: '42', timeShift: { applied: true } } };
  // a second, unrelated VM makes the pairing ambiguous without the option
  const h = new TraceBuilder('host.dat', hostInfo);
  h.switch(0, 0, 0, 'swapper/0', 101, 'CPU 0/KVM').switch(0, 1, 0, 'swapper/1', 102, 'CPU 1/KVM');
  h.switch(10, 0, 101, 'CPU 0/KVM', 501, 'CPU 0/KVM').switch(20, 0, 501, 'CPU 0/KVM', 502, 'CPU 1/KVM');
  h.switch(600, 0, 502, 'CPU 1/KVM', 0, 'swapper/0').switch(600, 1, 102, 'CPU 1/KVM', 0, 'swapper/1');
  const m = buildModel([{ trace: h.build() }, { trace: guestTrace('guest.dat', guestInfo) }]);
  const vm = m.vms.find((v) => v.guestFile === 'guest.dat')!;
  assert.deepEqual([vm.name, vm.grouping, vm.offsetNs, vm.alignment?.method], ['debian', 'tid-range+guest-option', 0, 'recorded']);
  assert.deepEqual(m.vms.map((v) => v.name).sort(), ['debian', 'vm-501']);
});

test('hostile names: a vCPU id beyond 4095 is not a vCPU (no table sized by it)', () => {
  const h = new TraceBuilder('h.txt');
  h.switch(0, 0, 0, 'swapper/0', 101, 'CPU 2000000000/KVM');
  h.switch(10, 0, 101, 'CPU 2000000000/KVM', 102, 'CPU 1/KVM');
  h.switch(20, 0, 102, 'CPU 1/KVM', 0, 'swapper/0');
  const m = buildModel([{ trace: h.build() }]);
  assert.deepEqual(m.vms.map((v) => [v.vcpuIds, v.hostIds]), [[[1], [102]]]);
});
