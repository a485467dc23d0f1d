// Acceptance on a real two-layer QEMU recording (fixtures/README.md): the topology matches the
// recorder's vCPU map, the automatic clock offset beats the ping-based one and agrees with an
// independent consistency count written here, and follow/report/stats answer through the CLI.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EventKind } from '../../shared/schema.ts';
import type { IndexedTrace } from '../../main/engine/index/indexed-trace.ts';
import { openIndexed } from '../../main/engine/index/open.ts';
import { buildModel, type TwoLayerModel } from '../../main/engine/model/model.ts';
import { runCli } from '../../main/cli/main.ts';
import type { CliIo } from '../../main/cli/command.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const fx = path.join(here, 'fixtures');
const vcpuMap = JSON.parse(fs.readFileSync(path.join(fx, 'vcpu_map.json'), 'utf8')) as { qemu_pid: number; vcpus: Record<string, number> };
const ping = JSON.parse(fs.readFileSync(path.join(fx, 'clock_alignment.json'), 'utf8')) as { recommended_offset_ns: number };
const toolCheck = JSON.parse(fs.readFileSync(path.join(fx, 'alignment_check.json'), 'utf8')) as { trace_derived_offset_ns: number };

let dir = '';
let hostPath = '';
let guestPath = '';
let host: IndexedTrace;
let guest: IndexedTrace;
let model: TwoLayerModel;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-model-'));
  hostPath = path.join(dir, 'host.report.txt');
  guestPath = path.join(dir, 'guest_tracefs.txt');
  fs.writeFileSync(hostPath, gunzipSync(fs.readFileSync(path.join(fx, 'host.report.cut.txt.gz'))));
  fs.writeFileSync(guestPath, gunzipSync(fs.readFileSync(path.join(fx, 'guest_tracefs.cut.txt.gz'))));
  host = await openIndexed(hostPath, { workers: 0 });
  guest = await openIndexed(guestPath, { workers: 0 });
  // guest first: roles must be detected, not taken from the order
  model = buildModel([{ trace: guest }, { trace: host }]);
});

after(() => {
  host?.close();
  guest?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Fraction of guest events whose vCPU thread is current on some host CPU at (ts + offset), by a plain state machine. */
function independentConsistency(offsetNs: number): number {
  const tidOfVcpu = new Map(Object.entries(vcpuMap.vcpus).map(([v, t]) => [Number(v), t]));
  const starts = new Map<number, number[]>();
  const ends = new Map<number, number[]>();
  const cur = new Map<number, { tid: number; ts: number }>();
  let hostStart = Infinity;
  let hostEnd = -Infinity;
  for (let b = 0; b < host.batchCount; b++) {
    const c = host.readBatch(b);
    for (let i = 0; i < c.length; i++) {
      hostStart = Math.min(hostStart, c.ts[i]!);
      hostEnd = Math.max(hostEnd, c.ts[i]!);
      if (c.kind[i] !== EventKind.switch) continue;
      const prev = cur.get(c.cpu[i]!);
      if (prev && prev.tid === c.prevTid[i]) {
        (starts.get(prev.tid) ?? starts.set(prev.tid, []).get(prev.tid)!).push(prev.ts);
        (ends.get(prev.tid) ?? ends.set(prev.tid, []).get(prev.tid)!).push(c.ts[i]!);
      }
      cur.set(c.cpu[i]!, { tid: c.tid[i]!, ts: c.ts[i]! });
    }
  }
  let inside = 0;
  let checked = 0;
  for (let b = 0; b < guest.batchCount; b++) {
    const c = guest.readBatch(b);
    for (let i = 0; i < c.length; i++) {
      const x = c.ts[i]! + offsetNs;
      if (x < hostStart || x > hostEnd) continue;
      checked++;
      const tid = tidOfVcpu.get(c.cpu[i]!)!;
      const s = starts.get(tid) ?? [];
      const e = ends.get(tid) ?? [];
      let lo = 0;
      let hi = e.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (e[mid]! < x) lo = mid + 1;
        else hi = mid;
      }
      if (lo < e.length && s[lo]! <= x) inside++;
    }
  }
  return inside / checked;
}

test('topology: one VM with the recorder\'s vCPU -> host thread map and QEMU pid', () => {
  assert.equal(model.vms.length, 1);
  const vm = model.vms[0]!;
  assert.equal(model.hostFile, hostPath);
  assert.equal(vm.pid, vcpuMap.qemu_pid);
  assert.deepEqual(Object.fromEntries(vm.vcpuIds.map((v, i) => [String(v), vm.hostIds[i]])), vcpuMap.vcpus);
  assert.equal(vm.guestFile, guestPath);
});

test('automatic clock offset: beats the ping-based one, matches an independent count and the recorder\'s own sweep', () => {
  const vm = model.vms[0]!;
  const a = vm.alignment!;
  assert.equal(a.method, 'auto');
  const auto = independentConsistency(vm.offsetNs!);
  const pinged = independentConsistency(ping.recommended_offset_ns);
  assert.ok(Math.abs(auto - a.quality) < 0.005, `model quality ${a.quality} vs independent ${auto}`);
  assert.ok(auto > 0.9, `auto offset consistency ${auto}`);
  assert.ok(auto > pinged + 0.2, `auto ${auto} vs ping ${pinged}`);
  // the text has µs timestamps: the plateau is a few µs wide
  assert.ok(Math.abs(vm.offsetNs! - toolCheck.trace_derived_offset_ns) < 5_000, `offset ${vm.offsetNs} vs recorder ${toolCheck.trace_derived_offset_ns}`);
});

test('placement invariants on every thread: segments ordered and disjoint, run = Σ cores + steal', () => {
  const G = model.vms[0]!.guest!;
  let threads = 0;
  for (let k = 0; k < G.tids.length; k++) {
    let sum = 0;
    let placed = 0;
    for (let s = G.segThreadStart[k]!; s < G.segThreadStart[k + 1]!; s++) {
      assert.ok(G.segEndNs[s]! > G.segStartNs[s]!);
      if (s > G.segThreadStart[k]!) assert.ok(G.segStartNs[s]! >= G.segEndNs[s - 1]!);
      sum += G.segEndNs[s]! - G.segStartNs[s]!;
      if (G.segCore[s]! >= 0) placed += G.segEndNs[s]! - G.segStartNs[s]!;
    }
    assert.ok(Math.abs(sum - G.runNs[k]!) < 1e-3 * Math.max(1, G.runNs[k]!), `thread ${G.tids[k]}`);
    assert.ok(Math.abs(G.runNs[k]! - placed - G.stealNs[k]!) < 1);
    assert.ok(G.migHost[k]! <= G.migPhysical[k]!);
    threads++;
  }
  assert.ok(threads > 20);
  const f = model.vms[0]!.coScheduling.fractions;
  assert.ok(Math.abs(f.reduce((x, y) => x + y, 0) - 1) < 1e-9);
  // 2 host cores: never 3 or 4 vCPUs on cores at once
  assert.equal(f[3], 0);
  assert.equal(f[4], 0);
});

function captureIo(): { io: CliIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const io = {
    stdout: { write: (s: string) => ((out += s), true) } as unknown as NodeJS.WriteStream,
    stderr: { write: (s: string) => ((err += s), true) } as unknown as NodeJS.WriteStream,
    env: { ...process.env, VCPUSCOPE_CACHE_DIR: path.join(dir, 'cache') },
  };
  return { io, out: () => out, err: () => err };
}

test('CLI: follow --json, report, report --csv and stats --json vms on the recording', async () => {
  const G = model.vms[0]!.guest!;
  // the busiest thread
  let k = 0;
  for (let i = 1; i < G.tids.length; i++) if (G.runNs[i]! > G.runNs[k]!) k = i;
  const tid = G.tids[k]!;
  const c = captureIo();
  assert.equal(await runCli(['follow', hostPath, guestPath, '--tid', String(tid), '--json', '--no-cache'], c.io), 0, c.err());
  const j = JSON.parse(c.out()) as { tid: number; comm: string; runNs: number; stealNs: number; coreNs: Record<string, number>; migrations: { guest: number; host: number; physical: number }; segments: Array<{ startNs: number; endNs: number; vcpu: number; core: number | null }> };
  assert.equal(j.tid, tid);
  assert.equal(j.comm, G.comms[k]);
  assert.equal(j.segments.length, G.segThreadStart[k + 1]! - G.segThreadStart[k]!);
  const onCores = Object.values(j.coreNs).reduce((x, y) => x + y, 0);
  const segSum = j.segments.filter((s) => s.core !== null).reduce((x, s) => x + s.endNs - s.startNs, 0);
  assert.ok(Math.abs(onCores - segSum) < 1);
  assert.ok(Math.abs(j.runNs - onCores - j.stealNs) < 1);
  assert.ok(j.segments.some((s) => s.core === null) === j.stealNs > 0);
  const r = captureIo();
  assert.equal(await runCli(['report', hostPath, '--guest', `${guestPath}@${vcpuMap.qemu_pid}`, '--no-cache'], r.io), 0, r.err());
  assert.match(r.out(), /VM qemu-6810: 4 vCPUs, QEMU pid 6810/);
  assert.match(r.out(), new RegExp(`\\n\\s+${tid} `));
  const csv = captureIo();
  assert.equal(await runCli(['report', hostPath, guestPath, '--csv', '--no-cache'], csv.io), 0, csv.err());
  const lines = csv.out().trim().split('\n');
  assert.equal(lines[0], 'level,vm,vcpu,tid,comm,run_ns,steal_ns,core0_ns,core1_ns,mig_guest,mig_host,mig_physical');
  assert.equal(lines.filter((l) => l.startsWith('thread,')).length, G.tids.length);
  const st = captureIo();
  assert.equal(await runCli(['stats', hostPath, guestPath, '--json', '--no-cache', '--quiet'], st.io), 0, st.err());
  const vms = (JSON.parse(st.out()) as { vms: Array<{ name: string; vcpus: Array<{ vcpu: number; hostTid: number }>; guestFile: string; offsetNs: number; alignment: { method: string; quality: number }; migrations: { guest: number; host: number; physical: number } }> }).vms;
  assert.equal(vms.length, 1);
  assert.deepEqual(Object.fromEntries(vms[0]!.vcpus.map((v) => [String(v.vcpu), v.hostTid])), vcpuMap.vcpus);
  assert.deepEqual([vms[0]!.name, vms[0]!.guestFile, vms[0]!.offsetNs, vms[0]!.alignment.method], ['qemu-6810', guestPath, model.vms[0]!.offsetNs, 'auto']);
  assert.deepEqual(vms[0]!.migrations, model.vms[0]!.migrations);
  // the two-layer flags work with stats too: roles given, files named only by the flags
  const st2 = captureIo();
  assert.equal(await runCli(['stats', '--host', hostPath, '--guest', `${guestPath}@${vcpuMap.qemu_pid}`, '--json', '--no-cache', '--quiet'], st2.io), 0, st2.err());
  const j2 = JSON.parse(st2.out()) as { files: unknown[]; vms: typeof vms };
  assert.equal(j2.files.length, 2);
  assert.deepEqual(j2.vms, vms);
  // the guest alone has no host: no VM, decided without building the model
  const st3 = captureIo();
  assert.equal(await runCli(['stats', guestPath, '--json', '--no-cache', '--quiet'], st3.io), 0, st3.err());
  assert.deepEqual((JSON.parse(st3.out()) as { vms: unknown[] }).vms, []);
  const bad = captureIo();
  assert.equal(await runCli(['follow', hostPath, guestPath, '--tid', '999999', '--no-cache'], bad.io), 1);
  assert.match(bad.err(), /thread 999999 never ran/);
});
