// Generated traces through the real ftrace-text reader: no diagnostics, every line an event, and
// truth.json recomputed independently (offline, from the parsed columns, with the definitions of
// main/sim/TRUTH.md) must match what the simulator computed online. Also checks the realism rule:
// every guest event falls strictly inside an interval where its vCPU is on a core.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate, type Truth } from '../../main/sim/index.ts';
import { ftraceText } from '../../main/formats/ftrace-text/index.ts';
import { xentrace } from '../../main/formats/xentrace/index.ts';
import { FileSource } from '../../main/engine/io/byte-source.ts';
import { readInline } from '../../main/engine/index/read-inline.ts';
import type { EventColumns } from '../../main/engine/index/event-columns.ts';
import { EventKind } from '../../shared/schema.ts';

function readXen(path: string): EventColumns {
  const src = new FileSource(path);
  try {
    const r = readInline(xentrace, src);
    assert.equal(r.diagnostics.total, 0, `${path}: ${JSON.stringify(r.diagnostics.kept.slice(0, 3))}`);
    assert.ok(r.columns.length > 100);
    return r.columns;
  } finally {
    src.close?.();
  }
}

function read(path: string): EventColumns {
  if (path.endsWith('.xentrace')) return readXen(path);
  const src = new FileSource(path);
  try {
    const r = readInline(ftraceText, src);
    assert.equal(r.diagnostics.total, 0, `${path}: ${JSON.stringify(r.diagnostics.kept.slice(0, 3))}`);
    const text = readFileSync(path, 'latin1');
    const header = /^# entries-in-buffer\/entries-written: (\d+)\/(\d+) {3}#P:\d+ *$/m.exec(text);
    assert.ok(header && header[1] === header[2], `${path}: entries header`);
    const entries = Number(header[1]);
    assert.equal(r.columns.length, entries, `${path}: events vs header entries`);
    const kinds: Record<string, [number, RegExp]> = {
      [EventKind.switch]: [0, /: sched_switch: /g],
      [EventKind.wakeup]: [0, /: sched_wakeup: /g],
      [EventKind.waking]: [0, /: sched_waking: /g],
      [EventKind.migrate]: [0, /: sched_migrate_task: /g],
      [EventKind.vmEntry]: [0, /: kvm_entry: /g],
      [EventKind.vmExit]: [0, /: kvm_exit: /g],
      [EventKind.fork]: [0, /: sched_process_fork: /g],
      [EventKind.wakeupNew]: [0, /: sched_wakeup_new: /g],
      [EventKind.exit]: [0, /: sched_process_exit: /g],
    };
    for (let i = 0; i < r.columns.length; i++) {
      const k = kinds[r.columns.kind[i]!];
      assert.ok(k, `${path}: unexpected kind ${r.columns.kind[i]} at row ${i}`);
      k[0]++;
    }
    for (const [kind, [n, re]] of Object.entries(kinds)) assert.equal(n, text.match(re)?.length ?? 0, `${path}: count of kind ${kind}`);
    return r.columns;
  } finally {
    src.close?.();
  }
}

interface Interval { start: number; end: number; where: number; openAtEnd: boolean }

/** Intervals per subject from switch events (prev out / next in), checking prev = current. */
function intervals(c: EventColumns, offsetNs: number, endNs: number, file: string): Map<number, Interval[]> {
  const current = new Map<number, number>();
  const open = new Map<number, Interval>();
  const out = new Map<number, Interval[]>();
  for (let i = 0; i < c.length; i++) {
    if (c.kind[i] !== EventKind.switch) continue;
    const t = c.ts[i]! + offsetNs;
    const cpu = c.cpu[i]!;
    const prev = c.prevTid[i]!;
    const next = c.tid[i]!;
    const cur = current.get(cpu);
    if (cur !== undefined) assert.equal(prev, cur, `${file}: switch at row ${i} switches out ${prev} but ${cur} is current on cpu ${cpu}`);
    const o = open.get(prev);
    if (prev !== 0 && o) {
      o.end = t;
      open.delete(prev);
    }
    current.set(cpu, next);
    if (next !== 0) {
      assert.ok(!open.has(next), `${file}: ${next} switched in on cpu ${cpu} while already running`);
      const iv = { start: t, end: NaN, where: cpu, openAtEnd: false };
      open.set(next, iv);
      if (!out.has(next)) out.set(next, []);
      out.get(next)!.push(iv);
    }
  }
  for (const iv of open.values()) {
    iv.end = endNs;
    iv.openAtEnd = true;
  }
  return out;
}

function lastTs(c: EventColumns, offsetNs: number): number {
  let m = -Infinity;
  for (let i = 0; i < c.length; i++) m = Math.max(m, c.ts[i]! + offsetNs);
  return m;
}

function recompute(dir: string, truth: Truth): void {
  const host = read(join(dir, truth.hostFile));
  const guests = truth.vms.map((vm) => read(join(dir, vm.guestFile)));
  const endNs = Math.max(lastTs(host, 0), ...guests.map((g, i) => lastTs(g, truth.vms[i]!.guestOffsetNs)));
  const onCore = intervals(host, 0, endNs, 'host');
  truth.vms.forEach((vm, vmIdx) => {
    const g = guests[vmIdx]!;
    const off = vm.guestOffsetNs;
    const vcpuIv = vm.vcpus.map((v) => onCore.get(v.hostTid) ?? []);
    // Realism rule: each guest event strictly inside an on-core interval of its vCPU.
    for (let i = 0; i < g.length; i++) {
      const t = g.ts[i]! + off;
      const ivs = vcpuIv[g.cpu[i]!]!;
      assert.ok(ivs.some((iv) => iv.start < t && (t < iv.end || iv.openAtEnd)), `${vm.name}: guest event row ${i} at ${t} on vCPU ${g.cpu[i]} while the vCPU is on no core`);
    }
    const runs = intervals(g, off, endNs, vm.guestFile);
    const byTid = new Map(vm.threads.map((t) => [t.tid, t]));
    const seen = new Set<number>();
    for (let i = 0; i < g.length; i++) for (const x of [g.pid[i]!, g.tid[i]!, g.prevTid[i]!]) if (x > 0) seen.add(x);
    assert.deepEqual([...seen].sort((a, b) => a - b), vm.threads.map((t) => t.tid).sort((a, b) => a - b), `${vm.name}: thread list`);
    for (const [tid, list] of runs) {
      const exp = byTid.get(tid)!;
      let runNs = 0;
      let guestMig = 0;
      let phys = 0;
      let hostMig = 0;
      const coreNs: Record<string, number> = {};
      let lastCore = -1;
      let lastVcpu = -1;
      list.forEach((r, k) => {
        runNs += r.end - r.start;
        if (k > 0 && list[k - 1]!.where !== r.where) guestMig++;
        for (const iv of vcpuIv[r.where]!) {
          const s = Math.max(iv.start, r.start);
          const e = Math.min(iv.end, r.end);
          if (e <= s) continue;
          coreNs[String(iv.where)] = (coreNs[String(iv.where)] ?? 0) + (e - s);
          if (lastCore >= 0 && lastCore !== iv.where) {
            phys++;
            if (lastVcpu === r.where) hostMig++;
          }
          lastCore = iv.where;
          lastVcpu = r.where;
        }
      });
      const onCores = Object.values(coreNs).reduce((s, v) => s + v, 0);
      const got = { runNs, stealNs: runNs - onCores, coreNs, migrations: { guest: guestMig, host: hostMig, physical: phys } };
      const want = { runNs: exp.runNs, stealNs: exp.stealNs, coreNs: exp.coreNs, migrations: exp.migrations };
      assert.deepEqual(got, want, `${vm.name}: thread ${tid}`);
    }
    // Co-scheduling fractions over the VM's span.
    const tids = new Set(vm.vcpus.map((v) => v.hostTid));
    let first = Infinity;
    let last = -Infinity;
    for (let i = 0; i < host.length; i++) {
      // xentrace window markers (TRC_TRACE_CPU_CHANGE) carry no time of their own: not events of a VM.
      if (host.kind[i] === EventKind.other && truth.hostFile.endsWith('.xentrace')) continue;
      if (tids.has(host.pid[i]!) || tids.has(host.tid[i]!) || tids.has(host.prevTid[i]!)) {
        first = Math.min(first, host.ts[i]!);
        last = Math.max(last, host.ts[i]!);
      }
    }
    const edges: Array<[number, number]> = [];
    for (const ivs of vcpuIv) for (const iv of ivs) edges.push([iv.start, 1], [Math.min(iv.end, last), -1]);
    edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const timeNs = new Array<number>(vm.vcpus.length + 1).fill(0);
    let k = 0;
    let at = first;
    for (const [t, d] of edges) {
      const tt = Math.min(Math.max(t, first), last);
      timeNs[k]! += tt - at;
      at = tt;
      k += d;
    }
    timeNs[k]! += last - at;
    assert.deepEqual(vm.coscheduling.timeNs, timeNs, `${vm.name}: co-scheduling time per k`);
    assert.deepEqual(vm.coscheduling.spanNs, [first, last]);
  });
}

const CASES: ReadonlyArray<readonly [string, 'fair' | 'cosched', number, ('tracefs' | 'xentrace' | 'tracefs+tgid')?]> = [
  ['lock-holder-preemption', 'fair', 4 << 20],
  ['lock-holder-preemption', 'cosched', 4 << 20],
  ['overcommit', 'fair', 4 << 20],
  ['pinned', 'fair', 4 << 20, 'tracefs+tgid'],
  // A small write buffer forces the streaming path: header written first, counts patched at close.
  ['noisy-neighbour', 'cosched', 64 << 10],
  // Xen host layer (xentrace binary, several windows per pCPU) under the same guests.
  ['overcommit', 'fair', 16 << 10, 'xentrace'],
  ['lock-holder-preemption', 'cosched', 4 << 20, 'xentrace'],
];
for (const [scenario, policy, bufferBytes, hostFormat] of CASES) {
  test(`${scenario} (${policy}, ${bufferBytes >> 10} KiB buffer, host ${hostFormat ?? 'tracefs'}): reader accepts every line and the truth recomputed from the parsed events matches`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vcpuscope-simrt-'));
    try {
      const tgid = hostFormat === 'tracefs+tgid';
      // A different seed per case widens what the suite covers at no cost.
      const seed = 11 + CASES.findIndex((c) => c[0] === scenario && c[1] === policy && c[2] === bufferBytes && c[3] === hostFormat);
      const { truth } = await generate({ out: dir, scenario, policy, seconds: 0.5, seed, bufferBytes, hostFormat: tgid ? 'tracefs' : hostFormat, tgid });
      if (tgid) assert.match(readFileSync(join(dir, truth.hostFile), 'latin1'), /CPU 0\/KVM-\d+ +\( *\d+\) \[/);
      recompute(dir, truth);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
