// Tests of the xentrace reader: sniffing, goldens of real recordings, differential checks against
// Debian's xenalyze and the file's provenance notes, run-sequence consistency, and malformed input
// (hand-built windows, truncated and mutated copies of the real file).

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EVENT_KIND_NAMES, EventKind, NO_STATE, TaskState, formatTaskState, xenEntity } from '../../../shared/schema.ts';
import { MemorySource } from '../../engine/io/byte-source.ts';
import { readInline, type InlineReadResult } from '../../engine/index/read-inline.ts';
import { openIndexed } from '../../engine/index/open.ts';
import type { EventColumns } from '../../engine/index/event-columns.ts';
import * as os from 'node:os';
import { detectFormat } from '../registry.ts';
import { SNIFF_BYTES } from '../types.ts';
import { xentrace } from './index.ts';
import { CLASS_NAMES, EVENT_MASK, classIndex, entityName } from './records.ts';
import { countRawProcess, cpuChangeOffsets, findXenalyze, parseXenalyzeSummary, runXenalyze } from './xenalyze-tool.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');
const REAL = path.resolve(repoRoot, '../shared/traces/public/vm-xentrace/xentrace-parser-rs_xentrace.bin');
const HEAD = path.join(here, 'testdata', 'xentrace-head.bin');
const UPDATE = process.env.VCPUSCOPE_UPDATE_GOLDENS === '1';
const realAbsent = fs.existsSync(REAL) ? false : `real trace absent (${REAL}); clone beside ../shared to run this`;

function read(bytes: Uint8Array, name: string, cpuHz?: number): InlineReadResult {
  return readInline(xentrace, new MemorySource(name, bytes), cpuHz === undefined ? {} : { cpuHz });
}

function countsByName(r: InlineReadResult): Record<string, number> {
  const c = r.columns;
  const counts = new Map<string, number>();
  for (let i = 0; i < c.length; i++) {
    const n = c.events[c.event[i]!]!;
    counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  return Object.fromEntries([...counts.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}

const who = (e: number): string | number => (e < 0 ? e : entityName(e));

function row(r: InlineReadResult, i: number): Record<string, unknown> {
  const c = r.columns;
  return {
    ts: c.ts[i], cpu: c.cpu[i], kind: EVENT_KIND_NAMES[c.kind[i]!], event: c.events[c.event[i]!],
    pid: who(c.pid[i]!), tid: who(c.tid[i]!), comm: c.comms[c.comm[i]!] ?? null,
    prevTid: who(c.prevTid[i]!), prevComm: c.comms[c.prevComm[i]!] ?? null,
    prevState: c.prevState[i] === NO_STATE ? null : formatTaskState(c.prevState[i]!),
    arg0: c.arg0[i], arg1: c.arg1[i], offset: c.offset[i],
  };
}

/** Stable JSON of what the reader made of a file: compared with testdata/<name>.golden.json. */
function goldenOf(r: InlineReadResult): unknown {
  const c = r.columns;
  const n = c.length;
  const kinds: Record<string, number> = {};
  for (let i = 0; i < n; i++) kinds[EVENT_KIND_NAMES[c.kind[i]!]!] = (kinds[EVENT_KIND_NAMES[c.kind[i]!]!] ?? 0) + 1;
  const firstSwitch = c.kind.indexOf(EventKind.switch);
  return {
    rows: n,
    info: r.info,
    kinds,
    events: countsByName(r),
    diagnostics: { total: r.diagnostics.total, first: r.diagnostics.kept.slice(0, 5).map((d) => ({ ...d, file: path.basename(d.file) })) },
    first: Array.from({ length: Math.min(6, n) }, (_, i) => row(r, i)),
    firstSwitch: firstSwitch >= 0 ? row(r, firstSwitch) : null,
    last: Array.from({ length: Math.min(4, n) }, (_, i) => row(r, n - Math.min(4, n) + i)),
  };
}

function checkGolden(name: string, actual: unknown): void {
  const file = path.join(here, 'testdata', `${name}.golden.json`);
  const text = `${JSON.stringify(actual, null, 2)}\n`;
  if (UPDATE || !fs.existsSync(file)) {
    fs.writeFileSync(file, text);
    if (!UPDATE) assert.fail(`golden ${file} was missing and has been written: check it and commit it`);
    return;
  }
  assert.deepEqual(JSON.parse(text), JSON.parse(fs.readFileSync(file, 'utf8')), `golden ${name} differs (VCPUSCOPE_UPDATE_GOLDENS=1 rewrites it)`);
}

/** Per-id record counts and per-(pCPU, class) bytes, from the header of each row's record. */
function recordStats(bytes: Uint8Array, r: InlineReadResult): { perId: Map<number, number>; classBytes: Map<string, number> } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const c = r.columns;
  const perId = new Map<number, number>();
  const classBytes = new Map<string, number>();
  for (let i = 0; i < c.length; i++) {
    const h = dv.getUint32(c.offset[i]!, true);
    const ev = h & EVENT_MASK;
    perId.set(ev, (perId.get(ev) ?? 0) + 1);
    if (ev === 0x1f003) continue; // xenalyze's volume leaves out the window records
    const ci = classIndex(ev);
    const key = `${c.cpu[i]}:${ci < CLASS_NAMES.length ? CLASS_NAMES[ci]![1].toLowerCase() : 'unknown'}`;
    classBytes.set(key, (classBytes.get(key) ?? 0) + 4 + (h >>> 31) * 8 + ((h >>> 28) & 7) * 4);
  }
  return { perId, classBytes };
}

/**
 * Run intervals per entity and per pCPU from our switch rows, in TSC cycles read at each row's
 * offset. Defined as xenalyze does: a pCPU's first vCPU runs from the pCPU's first TSC, its last
 * to the pCPU's last TSC; CONTINUE_RUNNING counts as a new running interval (not a new time span).
 */
function runsFromSwitches(bytes: Uint8Array, r: InlineReadResult): {
  byEntity: Map<string, { count: number; cycles: number }>;
  byPcpu: Map<number, { running: { count: number; cycles: number }; idle: { count: number; cycles: number } }>;
} {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tscAt = (off: number): number => dv.getUint32(off + 8, true) * 4294967296 + dv.getUint32(off + 4, true);
  const c = r.columns;
  const byEntity = new Map<string, { count: number; cycles: number }>();
  const byPcpu = new Map<number, { running: { count: number; cycles: number }; idle: { count: number; cycles: number } }>();
  const cur = new Map<number, { entity: number; since: number }>();
  const firstTsc = new Map<number, number>();
  const lastTsc = new Map<number, number>();
  const add = (cpu: number, entity: number, cycles: number, count: number, nextEntity: number): void => {
    const k = entityName(entity).replace(/^idle v/, 'd32767v');
    const e = byEntity.get(k) ?? { count: 0, cycles: 0 };
    e.count += count;
    e.cycles += cycles;
    byEntity.set(k, e);
    // A pCPU is 'running' from leaving its idle vCPU until returning to it: guest-to-guest
    // switches do not start a new interval there.
    const p = byPcpu.get(cpu) ?? { running: { count: 0, cycles: 0 }, idle: { count: 0, cycles: 0 } };
    const idle = entity >>> 16 === 0x7fff;
    const slot = idle ? p.idle : p.running;
    slot.cycles += cycles;
    if (count && (idle || nextEntity < 0 || nextEntity >>> 16 === 0x7fff)) slot.count += count;
    byPcpu.set(cpu, p);
  };
  for (let i = 0; i < c.length; i++) {
    const off = c.offset[i]!;
    const cpu = c.cpu[i]!;
    if (dv.getUint32(off, true) >>> 31) {
      const t = tscAt(off);
      if (!firstTsc.has(cpu)) firstTsc.set(cpu, t);
      lastTsc.set(cpu, t);
    }
    if (c.kind[i] === EventKind.switch) {
      const t = tscAt(off);
      const was = cur.get(cpu) ?? { entity: c.prevTid[i]!, since: firstTsc.get(cpu)! };
      add(cpu, was.entity, t - was.since, 1, c.tid[i]!);
      cur.set(cpu, { entity: c.tid[i]!, since: t });
    } else if (c.kind[i] === EventKind.runstate && c.arg0[i] === 0 && c.arg1[i] === 0) {
      add(cpu, c.tid[i]!, 0, 1, c.tid[i]!); // CONTINUE_RUNNING: a new interval for the vCPU only
    }
  }
  for (const [cpu, { entity, since }] of cur) add(cpu, entity, lastTsc.get(cpu)! - since, 0, -1);
  return { byEntity, byPcpu };
}

/** Every pCPU's switches chain: the next of one is the prev of the following one. */
function runSequenceBreaks(r: InlineReadResult): number {
  const c = r.columns;
  const current = new Map<number, number>();
  let breaks = 0;
  for (let i = 0; i < c.length; i++) {
    if (c.kind[i] !== EventKind.switch) continue;
    const cur = current.get(c.cpu[i]!);
    if (cur !== undefined && cur !== c.prevTid[i]) breaks++;
    current.set(c.cpu[i]!, c.tid[i]!);
  }
  return breaks;
}

// ---------------------------------------------------------------------------------------------
// Hand-built records for malformed-input tests (the only bytes not from a real recording).

function rec(ev: number, tsc: number | undefined, words: number[]): number[] {
  const h = (ev & EVENT_MASK) | (words.length << 28) | (tsc === undefined ? 0 : 0x80000000);
  return tsc === undefined ? [h >>> 0, ...words] : [h >>> 0, tsc % 4294967296, Math.floor(tsc / 4294967296), ...words];
}
function windowOf(cpu: number, records: number[][], declaredBytes?: number): number[] {
  const body = records.flat();
  return [0x2001f003, cpu, declaredBytes ?? body.length * 4, ...body];
}
function bytesOf(words: number[]): Uint8Array {
  const out = new Uint8Array(words.length * 4);
  const dv = new DataView(out.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w >>> 0, true));
  return out;
}
const T0 = 50_000_000_000_000; // a TSC like the real file's (~5e13 cycles)
const sw = (tsc: number, pd: number, pv: number, nd: number, nv: number): number[] => rec(0x2800a, tsc, [pd, pv, nd, nv]);
const runstate = (tsc: number, dom: number, vcpu: number, from: number, to: number): number[] =>
  rec(0x21001 | (from << 8) | (to << 4), tsc, [((dom << 16) | vcpu) >>> 0]);

// ---------------------------------------------------------------------------------------------

test('sniff claims the real prefix and nothing else', () => {
  const head = fs.readFileSync(HEAD);
  assert.equal(xentrace.sniff(head.subarray(0, SNIFF_BYTES), { path: HEAD, sizeBytes: head.length }), true);
  assert.equal(detectFormat(new MemorySource('x.bin', head))?.id, 'xentrace');
  // trace.dat magic, text, random bytes, a CPU_CHANGE header followed by garbage, empty
  const traceDat = new Uint8Array([0x17, 0x08, 0x44, ...Buffer.from('tracing6\0'), 1, 8, 0, 16, 0, 0]);
  const text = Buffer.from('# tracer: nop\n#\n# entries-in-buffer/entries-written: 1/1   #P:4\n');
  let seed = 12345;
  const random = new Uint8Array(4096).map(() => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 24));
  const garbage = new Uint8Array(head.subarray(0, 4096));
  for (let i = 12; i < garbage.length; i++) garbage[i] = random[i]!;
  for (const [name, bytes] of [['trace.dat', traceDat], ['text', text], ['random', random], ['garbage after header', garbage], ['empty', new Uint8Array(0)]] as const) {
    assert.equal(xentrace.sniff(bytes, { path: name, sizeBytes: bytes.length }), false, name);
  }
  // A truncated recording is still claimed (the reader reports the truncation).
  assert.equal(xentrace.sniff(head.subarray(0, 5000), { path: 'cut', sizeBytes: 5000 }), true);
});

test('real prefix (testdata/xentrace-head.bin): golden, run sequence, cpu-hz', () => {
  const bytes = fs.readFileSync(HEAD);
  const r = read(bytes, 'xentrace-head.bin');
  checkGolden('xentrace-head', goldenOf(r));
  assert.equal(runSequenceBreaks(r), 0);
  assert.equal(r.diagnostics.errors, 0);
  // --cpu-hz scales every timestamp; the TSC base stays.
  const r2 = read(bytes, 'xentrace-head.bin', 1.2e9);
  const last = r.columns.length - 1;
  assert.ok(Math.abs(r2.columns.ts[last]! - 2 * r.columns.ts[last]!) <= 1);
  assert.equal(r2.info.cpuHz, 1.2e9);
  assert.equal((r2.info.extra as { cpuHzSource: string }).cpuHzSource, 'option');
  assert.throws(() => read(bytes, 'xentrace-head.bin', 5), /--cpu-hz 5 is outside/);
});

test('real trace: counts and domains match PROVENANCE.md; run sequence is consistent', { skip: realAbsent }, () => {
  const bytes = fs.readFileSync(REAL);
  const r = read(bytes, REAL);
  checkGolden('xentrace-parser-rs', goldenOf(r));
  assert.equal(r.columns.length, 180680);
  const extra = r.info.extra as {
    records: number; classes: Record<string, number>; pcpus: Array<{ cpu: number }>;
    xen: { domains: Array<{ domid: number; vcpus: number[]; hvm: boolean }>; idle: { vcpus: number[] } };
  };
  assert.equal(extra.records, 180680);
  assert.deepEqual(extra.classes, { GEN: 214, SCHED: 153601, HVM: 26865 });
  const n = countsByName(r);
  for (const name of ['TRC_SCHED_SWITCH', 'TRC_SCHED_SWITCH_INFPREV', 'TRC_SCHED_SWITCH_INFNEXT']) assert.equal(n[name], 10082, name);
  assert.equal(n.TRC_SCHED_WAKE, 5116);
  assert.equal(n.TRC_SCHED_BLOCK, 4982);
  assert.equal(n.TRC_HVM_VMENTRY, 5873);
  assert.equal(n.TRC_HVM_VMX_EXIT64, 5873);
  assert.deepEqual(extra.xen.domains.map((d) => [d.domid, d.vcpus, d.hvm]), [[0, [0, 1, 2, 3, 4, 5, 6, 7], false], [14, [0, 1, 2, 3], true]]);
  assert.deepEqual(extra.xen.idle.vcpus, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(extra.pcpus.map((p) => p.cpu), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(runSequenceBreaks(r), 0);
  assert.equal((r.info.extra as { runSequenceBreaks: number }).runSequenceBreaks, 0);
  // Idle vCPU n only ever runs on pCPU n.
  const c = r.columns;
  for (let i = 0; i < c.length; i++) if (c.kind[i] === EventKind.switch && c.tid[i]! >>> 16 === 0x7fff) assert.equal(c.tid[i]! & 0xffff, c.cpu[i]);
  // Counted per kind: every switch row, every vm entry/exit row.
  let switches = 0;
  let entries = 0;
  for (let i = 0; i < c.length; i++) {
    if (c.kind[i] === EventKind.switch) switches++;
    if (c.kind[i] === EventKind.vmEntry) entries++;
  }
  assert.equal(switches, 10082);
  assert.equal(entries, 5873);
});

test('real trace against xenalyze: records per id, bytes per pCPU and class, run time per vCPU and pCPU', { skip: realAbsent }, (t) => {
  const x = findXenalyze();
  if ('skip' in x) {
    t.skip(x.skip);
    return;
  }
  const bytes = fs.readFileSync(REAL);
  const cpuHz = 2.4e9;
  const r = read(bytes, REAL, cpuHz);
  const ours = recordStats(bytes, r);

  // Records per event id: xenalyze processes every record but the window records (lost records
  // twice; there are none here), and reads every window record once at its own offset.
  const theirs = countRawProcess(runXenalyze(x.path, ['--dump-raw-process', `--cpu-hz=${cpuHz}`, REAL]));
  theirs.set(0x1f003, cpuChangeOffsets(runXenalyze(x.path, ['--dump-raw-reads', `--cpu-hz=${cpuHz}`, REAL])).size);
  const sortMap = (m: Map<number, number>): Array<[string, number]> =>
    [...m.entries()].sort((a, b) => a[0] - b[0]).map(([k, v]) => [k.toString(16), v]);
  assert.deepEqual(sortMap(ours.perId), sortMap(theirs));

  const summary = parseXenalyzeSummary(runXenalyze(x.path, ['--summary', '--report-pcpu', `--cpu-hz=${cpuHz}`, REAL]));
  // Bytes per pCPU and class ('Log volume summary').
  const theirBytes = new Map<string, number>();
  for (const [cpu, m] of summary.volumeBytes) for (const [cls, b] of m) theirBytes.set(`${cpu}:${cls}`, b);
  assert.deepEqual(new Map([...ours.classBytes].sort()), new Map([...theirBytes].sort()));

  // Decoded scheduler records against `--dump-all`: every switch (time, prev, next), runstate change
  // (time, vCPU, old->new), wake, block and sleep (time, vCPU). xenalyze prints ns as
  // ((tsc - first) << 10) / floor((hz << 10) / 1e9); the same formula is applied to the TSC of each
  // of our rows, read at its offset, so the comparison is exact.
  const dump = runXenalyze(x.path, ['--dump-all', `--cpu-hz=${cpuHz}`, REAL]);
  const theirEvents: string[] = [];
  const dumpRe = /^\s*(\d+)\.(\d{9}) .*? (sched_switch prev d\d+v\d+ next d\d+v\d+|runstate_change d\d+v\d+ \w+->\w+|vcpu_(?:wake|block|sleep) d\d+v\d+)$/gm;
  for (const m of dump.matchAll(dumpRe)) theirEvents.push(`${BigInt(m[1]!) * 1_000_000_000n + BigInt(m[2]!)} ${m[3]}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const base = BigInt((r.info.extra as { timeBase: { tsc: string } }).timeBase.tsc);
  const qhz = (BigInt(cpuHz) << 10n) / 1_000_000_000n;
  const xenNs = (off: number): bigint => (((BigInt(dv.getUint32(off + 8, true)) << 32n) | BigInt(dv.getUint32(off + 4, true))) - base << 10n) / qhz;
  const dn = (e: number): string => `d${e >>> 16}v${e & 0xffff}`;
  const runstateNames = ['running', 'runnable', 'blocked', 'offline'];
  const ourEvents: string[] = [];
  const c = r.columns;
  for (let i = 0; i < c.length; i++) {
    const ev = c.events[c.event[i]!];
    const t = xenNs(c.offset[i]!);
    if (c.kind[i] === EventKind.switch) ourEvents.push(`${t} sched_switch prev ${dn(c.prevTid[i]!)} next ${dn(c.tid[i]!)}`);
    else if (ev === 'TRC_SCHED_RUNSTATE_CHANGE') ourEvents.push(`${t} runstate_change ${dn(c.tid[i]!)} ${runstateNames[c.arg0[i]!]}->${runstateNames[c.arg1[i]!]}`);
    else if (ev === 'TRC_SCHED_WAKE' || ev === 'TRC_SCHED_BLOCK' || ev === 'TRC_SCHED_SLEEP') {
      // xenalyze leaves the time blank at exactly the first TSC; so does this list.
      if (t > 0n) ourEvents.push(`${t} vcpu_${ev.slice(10).toLowerCase()} ${dn(c.tid[i]!)}`);
    }
  }
  assert.equal(ourEvents.length, 10082 + 25156 + 5116 + 4982 + 28 - 1);
  assert.deepEqual(ourEvents.sort(), theirEvents.sort());

  // VM exits per vCPU and reason (vm_exit rows: tid = vCPU running on the pCPU, arg1 = reason).
  // xenalyze counts an exit when the vCPU re-enters, so an exit still open at the end of the trace
  // (a vCPU halted in HLT) is one more here.
  const VMX_REASONS: Record<string, number> = {
    EXTERNAL_INTERRUPT: 1, PENDING_INTERRUPT: 7, CPUID: 10, HLT: 12, VMCALL: 18, IO_INSTRUCTION: 30,
    APIC_ACCESS: 44, EPT_VIOLATION: 48,
  };
  const exits = new Map<string, number>();
  for (let i = 0; i < c.length; i++) {
    if (c.kind[i] !== EventKind.vmExit) continue;
    const k = `${dn(c.tid[i]!)} ${c.arg1[i]}`;
    exits.set(k, (exits.get(k) ?? 0) + 1);
  }
  assert.equal(summary.exitReasons.size, 4);
  let openExits = 0;
  let theirExits = 0;
  for (const [vcpu, reasons] of summary.exitReasons) {
    for (const [name, count] of reasons) {
      const ours = exits.get(`${vcpu} ${VMX_REASONS[name]}`) ?? 0;
      assert.ok(ours === count || ours === count + 1, `${vcpu} ${name}: ${ours} exits, xenalyze ${count}`);
      openExits += ours - count;
      theirExits += count;
    }
  }
  assert.ok(openExits <= 4, `${openExits} exits open at the end (at most one per vCPU)`);
  assert.equal(theirExits + openExits, 5873);

  // Run time per vCPU. xenalyze measures between runstate-change records, which Xen writes a few
  // hundred cycles after the switch record we measure from: totals agree within 0.5%, counts within 1.
  const runs = runsFromSwitches(bytes, r);
  assert.equal(summary.vcpuRunstates.size, 20); // dom0 v0-7, dom14 v0-3, idle v0-7
  for (const [vcpu, states] of summary.vcpuRunstates) {
    const theirsRun = states.get('running');
    const oursRun = runs.byEntity.get(vcpu);
    assert.ok(theirsRun && oursRun, `${vcpu} runs in both`);
    assert.ok(Math.abs(oursRun.count - theirsRun.count) <= 1, `${vcpu}: ${oursRun.count} running intervals, xenalyze ${theirsRun.count}`);
    const rel = Math.abs(oursRun.cycles - theirsRun.cyclesApprox) / theirsRun.cyclesApprox;
    assert.ok(rel < 0.005, `${vcpu}: ${oursRun.cycles} cycles running, xenalyze ~${theirsRun.cyclesApprox} (${(rel * 100).toFixed(3)}%)`);
  }
  // Per pCPU: time in the idle vCPU and in guest vCPUs (--report-pcpu).
  assert.equal(summary.pcpu.size, 8);
  for (const [cpu, m] of summary.pcpu) {
    const o = runs.byPcpu.get(cpu)!;
    for (const slot of ['idle', 'running'] as const) {
      const th = m.get(slot)!;
      assert.ok(Math.abs(o[slot].count - th.count) <= 2, `pCPU ${cpu} ${slot}: ${o[slot].count} intervals, xenalyze ${th.count}`);
      const rel = Math.abs(o[slot].cycles - th.cyclesApprox) / th.cyclesApprox;
      assert.ok(rel < 0.005, `pCPU ${cpu} ${slot}: ${o[slot].cycles} cycles, xenalyze ~${th.cyclesApprox} (${(rel * 100).toFixed(3)}%)`);
    }
  }
});

test('switch rows: prev state from the runstate record that follows, runtime from INFPREV', () => {
  const bytes = bytesOf(windowOf(3, [
    rec(0x2800e, T0, [0, 1, 1_500_000]), // INFPREV d0v1 ran 1.5 ms
    rec(0x2800f, T0, [5, 2, 20_000, 30_000_000]), // INFNEXT d5v2 waited 20 us
    sw(T0 + 10, 0, 1, 5, 2),
    runstate(T0 + 20, 0, 1, 0, 1), // d0v1 running -> runnable: preempted
    runstate(T0 + 30, 5, 2, 1, 0),
    rec(0x81102, T0 + 40, [1, 0xdead, 0]), // VMEXIT64 reason 1 while d5v2 runs
    rec(0x81001, T0 + 50, []),
    sw(T0 + 2400, 5, 2, 0x7fff, 3),
    runstate(T0 + 2410, 5, 2, 0, 2), // blocked
    rec(0x28004, T0 + 2500, [0, 1]), // wake d0v1
    rec(0x22004, T0 + 2600, [1, 0, 1]), // credit1 stole d0v1 from pCPU 1
    rec(0x28001, T0 + 2700, [9]), // DOM_ADD d9
    rec(0x28007, T0 + 2800, [5, 1, 3]), // SHUTDOWN d5v1 reason 3
    rec(0x22a04, T0 + 2900, [(4 << 16) | 2, (6 << 16) | 1]), // null: d4v2 from pCPU 1 to 6
  ]));
  const r = read(bytes, 'built');
  const c = r.columns;
  const kinds = Array.from(c.kind, (k) => EVENT_KIND_NAMES[k]);
  assert.deepEqual(kinds, ['other', 'other', 'other', 'switch', 'runstate', 'runstate', 'vm_exit', 'vm_entry', 'switch', 'runstate', 'wakeup', 'migrate', 'other', 'other', 'migrate']);
  assert.deepEqual([c.events[c.event[12]!], c.arg0[12]], ['TRC_SCHED_DOM_ADD', 9]);
  assert.deepEqual([c.events[c.event[13]!], c.tid[13], c.arg0[13]], ['TRC_SCHED_SHUTDOWN', xenEntity(5, 1), 3]);
  assert.deepEqual([c.events[c.event[14]!], c.tid[14], c.arg0[14], c.arg1[14]], ['TRC_SNULL_MIGRATE', xenEntity(4, 2), 1, 6]);
  assert.deepEqual([c.arg0[2], c.arg1[2]], [20, 30_000]); // INFNEXT: waited 20 us, slice 30 ms
  const s1 = 3;
  assert.equal(c.prevTid[s1], xenEntity(0, 1));
  assert.equal(c.tid[s1], xenEntity(5, 2));
  assert.equal(c.prevState[s1], TaskState.preempted);
  assert.equal(c.arg0[s1], 1500);
  assert.equal(c.arg1[s1], 20);
  assert.equal(c.comms[c.comm[s1]!], 'd5v2');
  assert.equal(c.ts[s1], Math.round(10 / 2.4)); // ns after the earliest TSC, at 2.4 GHz
  assert.equal(c.prevState[8], TaskState.interruptible);
  assert.equal(c.comms[c.comm[8]!], 'idle v3');
  assert.equal(c.tid[6], xenEntity(5, 2));
  assert.equal(c.arg0[6], 2);
  assert.equal(c.arg1[6], 1);
  assert.equal(c.tid[10], xenEntity(0, 1));
  assert.equal(c.pid[10], xenEntity(0x7fff, 3));
  assert.deepEqual([c.tid[11], c.arg0[11], c.arg1[11]], [xenEntity(0, 1), 1, 3]);
  assert.equal(r.diagnostics.total, 0);
  const dom = (r.info.extra as { xen: { domains: Array<{ domid: number; hvm: boolean }> } }).xen.domains;
  assert.deepEqual(dom.map((d) => [d.domid, d.hvm]), [[0, false], [5, true]]);
});

test('malformed windows: truncated, crossing records, garbage, lost records, TSC regressions, broken run sequences', () => {
  // A window that claims more bytes than the file has.
  const w = windowOf(0, [sw(T0, 0x7fff, 0, 1, 0), runstate(T0 + 1, 1, 0, 1, 0)]);
  const truncated = bytesOf(windowOf(0, [sw(T0, 0x7fff, 0, 1, 0)], 4000));
  let r = read(truncated, 'truncated');
  assert.equal(r.columns.length, 2);
  assert.match(r.diagnostics.kept[0]!.message, /declares 4000 bytes.*truncated/);
  assert.equal(r.diagnostics.kept[0]!.offset, 0);

  // A record that crosses the end of its window.
  const crossing = bytesOf([...windowOf(1, [rec(0x28004, T0, [0, 0])], 12), ...windowOf(1, [rec(0x28004, T0 + 1, [0, 0])])]);
  r = read(crossing, 'crossing');
  assert.ok(r.diagnostics.kept.some((d) => /crosses the end/.test(d.message) && d.offset === 12), JSON.stringify(r.diagnostics.kept));
  assert.equal(r.columns.length, 3);

  // Garbage between windows: skipped to the next window, offset and length named.
  const garbage = bytesOf([...w, 0xdeadbeef, 0x12345678, 0x0badf00d, ...w]);
  r = read(garbage, 'garbage');
  const skipped = r.diagnostics.kept.find((d) => /skipped 12 bytes/.test(d.message));
  assert.equal(skipped?.offset, w.length * 4);
  assert.equal(r.columns.length, 6);

  // Lost records: a warning with the offset, a row, and the run sequence restarts without a break.
  const lost = bytesOf(windowOf(2, [
    sw(T0, 0x7fff, 2, 1, 0),
    rec(0x1f001, T0 + 5, [77, (3 << 16) | 1, 0, 0]),
    sw(T0 + 10, 4, 4, 0x7fff, 2),
  ]));
  r = read(lost, 'lost');
  const lostDiag = r.diagnostics.kept.find((d) => /dropped 77 trace records/.test(d.message));
  assert.equal(lostDiag?.offset, 12 + 28);
  assert.equal(r.diagnostics.kept.filter((d) => /switches out/.test(d.message)).length, 0);
  assert.deepEqual((r.info.extra as { lost: unknown }).lost, { markers: 1, records: 77 });
  assert.equal(r.columns.tid[2], xenEntity(1, 3));

  // A broken run sequence is reported with both offsets; a TSC regression keeps time monotonic.
  const broken = bytesOf(windowOf(0, [sw(T0, 0x7fff, 0, 1, 0), sw(T0 + 100, 2, 0, 0x7fff, 0), sw(T0 + 50, 0x7fff, 0, 3, 0)]));
  r = read(broken, 'broken');
  const msgs = r.diagnostics.kept.map((d) => `${d.offset}: ${d.message}`);
  assert.ok(msgs.some((m) => /^40: pCPU 0: switch at offset 40 switches out d2v0, but d1v0 was running \(switched in at offset 12\)/.test(m)), msgs.join('\n'));
  assert.ok(msgs.some((m) => /^68: pCPU 0: TSC goes backwards/.test(m)), msgs.join('\n'));
  const ts = Array.from(r.columns.ts);
  assert.deepEqual(ts, [...ts].sort((a, b) => a - b));
  assert.equal((r.info.extra as { runSequenceBreaks: number }).runSequenceBreaks, 1);

  // Nothing but a few bytes.
  r = read(bytesOf([0x2001f003]), 'tiny');
  assert.equal(r.columns.length, 0);
  assert.match(r.diagnostics.kept[0]!.message, /trailing bytes/);
});

test('truncated and mutated copies of the real prefix never crash or hang', () => {
  const head = fs.readFileSync(HEAD).subarray(0, 120_000);
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  const inputs: Array<[string, Uint8Array]> = [];
  for (const cut of [1, 4, 11, 12, 13, 16, 8495, 8496, 8497, 50_001]) inputs.push([`cut ${cut}`, head.subarray(0, cut)]);
  for (let k = 0; k < 12; k++) inputs.push([`cut random ${k}`, head.subarray(0, rand(head.length))]);
  for (let k = 0; k < 24; k++) {
    const m = new Uint8Array(head);
    const dv = new DataView(m.buffer);
    const flips = 1 + rand(40);
    for (let f = 0; f < flips; f++) {
      const at = rand(m.length - 4) & ~3;
      switch (rand(4)) {
        case 0: m[at] = rand(256); break;
        case 1: dv.setUint32(at, 0xffffffff, true); break;
        case 2: dv.setUint32(at, 0x2001f003, true); break; // a fake window header
        default: m.fill(0, at, Math.min(m.length, at + rand(4096)));
      }
    }
    inputs.push([`mutated ${k}`, m]);
  }
  // Plausible-looking window headers everywhere (each one probed while resynchronising).
  const fake: number[] = [0xdeadbeef];
  while (fake.length < 400_000) fake.push(0x2001f003, 1 + rand(7), 4 * (1 + rand(1 << 18)));
  inputs.push(['fake headers everywhere', bytesOf(fake)]);
  for (const [name, bytes] of inputs) {
    const t0 = performance.now();
    const r = read(bytes, name);
    const ms = performance.now() - t0;
    assert.ok(ms < 5000, `${name}: ${ms.toFixed(0)} ms (hang guard)`);
    assert.ok(r.columns.length <= bytes.length / 4 + 1, `${name}: ${r.columns.length} rows from ${bytes.length} bytes`);
    assert.ok(r.diagnostics.kept.length <= 200);
    for (let i = 0; i < r.columns.length; i++) assert.ok(Number.isFinite(r.columns.ts[i]!), `${name}: finite ts`);
    // describeRecord answers for any row
    if (r.columns.length > 0) {
      const plan = xentrace.plan(new MemorySource(name, bytes), { error() {}, warning() {}, info() {} }, {});
      assert.equal(typeof xentrace.describeRecord!(new MemorySource(name, bytes), plan, r.columns.offset[r.columns.length - 1]!), 'string');
    }
  }
});

test('the rows do not depend on where units end (pCPU state, pending switch and ties carried over)', () => {
  const bytes = fs.readFileSync(HEAD);
  const whole = read(bytes, 'whole');
  const planOf = (unitBytes: number): number => xentrace.plan(new MemorySource('p', bytes), { error() {}, warning() {}, info() {} }, { unitBytes }).units.length;
  assert.equal(planOf(1 << 30), 1);
  for (const unitBytes of [1, 100_000]) {
    const units = planOf(unitBytes);
    assert.ok(units > 1, `${units} units`);
    const split = readInline(xentrace, new MemorySource('split', bytes), { unitBytes });
    const a = whole.columns;
    const b = split.columns;
    assert.equal(b.length, a.length);
    for (let i = 0; i < a.length; i++) {
      for (const col of ['ts', 'cpu', 'kind', 'pid', 'tid', 'prevTid', 'prevState', 'arg0', 'arg1', 'offset'] as const) {
        assert.equal(b[col][i], a[col][i], `unitBytes ${unitBytes}: row ${i} ${col}`);
      }
      assert.equal(b.comms[b.comm[i]!], a.comms[a.comm[i]!]);
      assert.equal(b.prevComm[i]! >= 0 ? b.comms[b.prevComm[i]!] : b.prevComm[i], a.prevComm[i]! >= 0 ? a.comms[a.prevComm[i]!] : a.prevComm[i]);
      assert.equal(b.events[b.event[i]!], a.events[a.event[i]!]);
    }
  }
});

/** Every column of every row, string ids resolved (ids differ between runs of the indexer). */
function rowKeys(c: EventColumns): string[] {
  const out: string[] = [];
  for (let i = 0; i < c.length; i++) {
    const comm = c.comm[i]! >= 0 ? c.comms[c.comm[i]!] : c.comm[i];
    const prevComm = c.prevComm[i]! >= 0 ? c.comms[c.prevComm[i]!] : c.prevComm[i];
    out.push(`${c.ts[i]}|${c.cpu[i]}|${c.kind[i]}|${c.events[c.event[i]!]}|${c.pid[i]}|${c.tid[i]}|${comm}|${c.prevTid[i]}|${prevComm}|${c.prevState[i]}|${c.arg0[i]}|${c.arg1[i]}|${c.offset[i]}|${c.input[i]}`);
  }
  return out;
}

test('real trace: workers + unit merge + indexer merge + cache give the rows of one pass per pCPU, for any unit size', { skip: realAbsent }, async () => {
  const bytes = fs.readFileSync(REAL);
  // One unit: each pCPU's windows read as one sequence and merged by (ts, first-window order of the pCPU).
  const want = rowKeys(readInline(xentrace, new MemorySource('whole', bytes), { unitBytes: 1 << 30 }).columns);
  assert.equal(want.length, 180680);
  for (const unitBytes of [1 << 16, 1 << 20]) {
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-xentrace-ingest-'));
    try {
      const t = await openIndexed(REAL, { cacheDir, workers: 2, inlineBelowBytes: 0, unitBytes, batchRows: 7000 });
      const got = rowKeys(t.readRows(0, t.rowCount));
      t.close();
      assert.equal(got.length, want.length);
      for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) assert.fail(`unitBytes ${unitBytes}: row ${i}: ${got[i]} != ${want[i]}`);
    } finally {
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  }
});

test('sniff claims no other format\'s fixture, and every xentrace fixture', () => {
  const dirs = [path.join(repoRoot, 'main', 'formats'), path.resolve(repoRoot, '../shared/traces/public')];
  const files: string[] = [];
  const walk = (d: string): void => {
    if (!fs.existsSync(d)) return;
    for (const name of fs.readdirSync(d)) {
      const p = path.join(d, name);
      if (fs.statSync(p).isDirectory()) walk(p);
      else if (!/\.(ts|md|json)$/.test(name)) files.push(p);
    }
  };
  for (const d of dirs) walk(d);
  assert.ok(files.length > 5, `${files.length} fixtures`);
  for (const f of files) {
    const fd = fs.openSync(f, 'r');
    const head = new Uint8Array(SNIFF_BYTES);
    const n = fs.readSync(fd, head, 0, SNIFF_BYTES, 0);
    const size = fs.fstatSync(fd).size;
    fs.closeSync(fd);
    const isXentrace = /xentrace.*\.bin$/.test(path.basename(f));
    assert.equal(xentrace.sniff(head.subarray(0, n), { path: 'unknown.bin', sizeBytes: size }), isXentrace, f);
  }
});
