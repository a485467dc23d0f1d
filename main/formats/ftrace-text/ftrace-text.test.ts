// Tests of the ftrace text reader: goldens of real traces per variant (testdata/README.md says
// where each came from), sniffing under unknown names, unit splitting, describeRecord, line shapes
// that no fixture has (KVM: documented print formats), and malformed input (hand-built bytes,
// truncated and mutated copies of real fixtures with fixed seeds).

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { EventKind, NO_STATE, TaskState } from '../../../shared/schema.ts';
import { MemorySource } from '../../engine/io/byte-source.ts';
import { DiagnosticCollector } from '../../engine/index/diagnostics.ts';
import { detectFormat } from '../registry.ts';
import { SNIFF_BYTES, TraceFormatError } from '../types.ts';
import { ftraceText, sniffFtraceText, MAX_LINE_BYTES, setChunkBytesForTests } from './index.ts';
import { MAX_COMM_BYTES } from './line-parser.ts';
import { mapNumericState } from './task-state.ts';
import { readInline } from '../../engine/index/read-inline.ts';
import type { ReadOptions } from '../types.ts';
import { assertGolden, columnsHash, countsByEvent, goldenOf, rowOf, type ReadResult } from './test-helpers.ts';

function readBytes(bytes: Uint8Array, name: string, opts: ReadOptions = {}): ReadResult {
  return readInline(ftraceText, new MemorySource(name, bytes), opts);
}

const here = path.dirname(fileURLToPath(import.meta.url));
const DATA = path.join(here, 'testdata');
const enc = new TextEncoder();

const FIXTURES = fs
  .readdirSync(DATA)
  .filter((f) => (f.endsWith('.txt') || f.endsWith('.html')) && f !== 'README.md')
  .sort();

function fixture(name: string): Uint8Array {
  return new Uint8Array(fs.readFileSync(path.join(DATA, name)));
}

function schedmixTracefs(): Uint8Array {
  return new Uint8Array(gunzipSync(fs.readFileSync(path.join(DATA, 'schedmix-1s', 'tracefs.txt.gz'))));
}

test('fixtures: there is one per variant', () => {
  assert.ok(FIXTURES.length >= 15, `only ${FIXTURES.length} fixtures`);
});

for (const name of FIXTURES) {
  test(`golden: ${name}`, () => {
    const r = readBytes(fixture(name), name);
    assert.ok(r.columns.length > 0, 'no events');
    assertGolden(path.join(DATA, `${name}.golden.json`), goldenOf(r, name));
  });

  test(`sniff: ${name} under an unknown name with a .dat extension`, () => {
    const bytes = fixture(name);
    const f = detectFormat(new MemorySource('/tmp/unknown-name.dat', bytes.subarray(0, Math.min(bytes.length, SNIFF_BYTES))));
    assert.equal(f?.id, 'ftrace-text');
  });
}

test('variants are recognised as such', () => {
  const v = (name: string): string => String(readBytes(fixture(name), name).info.variant);
  assert.equal(v('tracefs-schedmix.txt'), 'tracefs');
  assert.equal(v('tracefs-tgid-stressng.txt'), 'tracefs, with tgid');
  assert.equal(v('tracefs-x86tsc.txt'), 'tracefs, raw counter timestamps');
  assert.equal(v('report-plugin.txt'), 'trace-cmd report');
  assert.equal(v('report-ns.txt'), 'trace-cmd report, -t');
  assert.equal(v('report-raw.txt'), 'trace-cmd report, -R');
  assert.equal(v('report-multi-twolayer.txt'), 'trace-cmd report, 2 inputs');
  assert.equal(v('perf-script.txt'), 'perf script');
  assert.equal(v('perf-script-nocpu.txt'), 'perf script');
  const tsc = readBytes(fixture('tracefs-x86tsc.txt'), 'x');
  assert.equal(tsc.info.clock, 'counter');
  assert.equal(tsc.columns.ts[0], 531008022348, 'raw counter kept as is');
  const multi = readBytes(fixture('report-multi-twolayer.txt'), 'x');
  assert.deepEqual(multi.info.extra?.inputs, ['host.dat', 'guest.dat']);
  assert.deepEqual(multi.columns.inputs, ['host.dat', 'guest.dat']);
  const perInput = [0, 0];
  for (let i = 0; i < multi.columns.length; i++) perInput[multi.columns.input[i]!]!++;
  assert.deepEqual(perInput, [200, 200]);
});

test('the same data in three shapes decodes to the same rows (tracefs vs perf vs report -t)', () => {
  // perf with and without the CPU column: same recording, same events
  const a = readBytes(fixture('perf-script.txt'), 'a');
  const b = readBytes(fixture('perf-script-nocpu.txt'), 'b');
  assert.equal(a.columns.length, b.columns.length);
  for (let i = 0; i < a.columns.length; i++) {
    const ra = rowOf(a, i);
    const rb = rowOf(b, i);
    for (const k of ['cpu', 'offset']) {
      delete ra[k];
      delete rb[k];
    }
    assert.deepEqual(rb, ra, `row ${i}`);
  }
  // report -t (ns) and -R (µs) of the same trace.dat: same events and fields, ts within 1 µs
  const ns = readBytes(fixture('report-ns.txt'), 'ns');
  const raw = readBytes(fixture('report-raw.txt'), 'raw');
  assert.equal(ns.columns.length, raw.columns.length);
  for (let i = 0; i < ns.columns.length; i++) {
    const x = rowOf(ns, i);
    const y = rowOf(raw, i);
    assert.ok(Math.abs((x.ts as number) - (y.ts as number)) < 1000, `row ${i} ts`);
    assert.equal(Number.isInteger(x.ts), true);
    for (const k of ['ts', 'offset', 'comm', 'prevComm', ...(x.kind === 'exec' ? ['prevTid'] : [])]) {
      delete x[k];
      delete y[k];
    }
    // report's plugin does not print the preemption bit that -R shows as 256 (R+)
    if (typeof y.prevState === 'string') y.prevState = y.prevState.replace('+', '');
    assert.deepEqual(y, x, `row ${i}`);
  }
});

test('units: a split read gives the same columns as one unit, and lines are numbered in unit 0', () => {
  const bytes = schedmixTracefs();
  const one = readBytes(bytes, 'one');
  const many = readBytes(bytes, 'many', { unitBytes: 64 * 1024 });
  const src = new MemorySource('x', bytes);
  const plan = ftraceText.plan(src, new DiagnosticCollector('x'), { unitBytes: 64 * 1024 });
  assert.ok(plan.units.length > 20, `${plan.units.length} units`);
  for (let u = 1; u < plan.units.length; u++) {
    assert.equal(plan.units[u]!.start, plan.units[u - 1]!.end);
    assert.equal(bytes[plan.units[u]!.start - 1], 10, 'units start after a newline');
  }
  assert.equal(plan.units.at(-1)!.end, bytes.length);
  assert.equal(many.columns.length, one.columns.length);
  assert.equal(columnsHash(many), columnsHash(one));
  assert.ok(one.columns.length > 20000);
  // HTML: units inside the embedded block
  for (const name of ['trappy-surfaceflinger.html', 'catapult-systrace-js-excerpt.html']) {
    const html = fixture(name);
    const a = readBytes(html, name);
    const b = readBytes(html, name, { unitBytes: 64 * 1024 });
    assert.equal(b.columns.length, a.columns.length, name);
    assert.equal(columnsHash(b), columnsHash(a), name);
  }
});

test('describeRecord returns the original line at a row offset (bounded)', () => {
  for (const name of ['tracefs-schedmix.txt', 'report-multi-twolayer.txt', 'catapult-systrace-js-excerpt.html', 'trappy-surfaceflinger.html']) {
    const bytes = fixture(name);
    const r = readBytes(bytes, name);
    const src = new MemorySource(name, bytes);
    const plan = ftraceText.plan(src, new DiagnosticCollector(name), {});
    for (const i of [0, 1, r.columns.length >> 1, r.columns.length - 1]) {
      const off = r.columns.offset[i]!;
      const line = ftraceText.describeRecord!(src, plan, off);
      let expected = new TextDecoder().decode(bytes.subarray(off, bytes.indexOf(10, off))).replace(/\r$/, '');
      if (name.includes('-js-')) expected = expected.replace(/(\\n)?\\?$/, '').replace(/\\n";$/, '');
      assert.equal(line, expected, `${name} row ${i}`);
      assert.match(line, /\d+\.\d+: /);
    }
  }
  const huge = enc.encode(`x-1 [000] .... 1.000000: e: ${'y'.repeat(100_000)}\n`);
  const src = new MemorySource('h', huge);
  const plan = ftraceText.plan(src, new DiagnosticCollector('h'), {});
  assert.ok(ftraceText.describeRecord!(src, plan, 0).length <= 4097);
});

// ---- line shapes without a real fixture ------------------------------------------------------

function readText(text: string, name = 'shapes.txt'): ReturnType<typeof readBytes> {
  return readBytes(enc.encode(`${text}\n`), name);
}

test('KVM shapes (print formats of arch/x86/kvm/trace.h, old and new kernels, and -R)', () => {
  const r = readText(
    [
      ' CPU 0/KVM-6816    [001] d..1.   100.000001: kvm_entry: vcpu 0, rip 0xffffffff81b0f3d4',
      ' CPU 0/KVM-6816    [001] d..1.   100.000002: kvm_exit: vcpu 0 reason EXTERNAL_INTERRUPT rip 0xffffffff81b0f3d4 info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x800000ec error_code 0x00000000',
      ' CPU 1/KVM-6817    [000] d..1.   100.000003: kvm_entry: vcpu 1',
      ' CPU 1/KVM-6817    [000] d..1.   100.000004: kvm_exit: reason MSR_WRITE rip 0xffffffff8106b5a8 info 0 0',
      ' CPU 1/KVM-6817    [000] d..1.   100.000005: kvm_exit: vcpu_id=1 exit_reason=48 guest_rip=0xffffffff8106b5a8 isa=1 info1=0 info2=0',
      ' CPU 1/KVM-6817    [000] d..1.   100.000006: kvm_entry: vcpu_id=1 rip=0xffffffff8106b5a8',
    ].join('\n'),
  );
  const c = r.columns;
  assert.equal(c.length, 6);
  assert.deepEqual([...c.kind], [EventKind.vmEntry, EventKind.vmExit, EventKind.vmEntry, EventKind.vmExit, EventKind.vmExit, EventKind.vmEntry]);
  assert.deepEqual([...c.arg0], [0, 0, 1, -1, 1, 1]);
  assert.deepEqual([...c.arg1], [-1, -1, -1, -1, 48, -1]);
  assert.deepEqual([...c.tid], [6816, 6816, 6817, 6817, 6817, 6817]);
  assert.equal(c.comms[c.comm[0]!], 'CPU 0/KVM');
  assert.equal(r.diagnostics.total, 0);
});

test('comm with spaces and dashes, <...>, tgid (-----), 4-char flags, no flags, ns timestamps', () => {
  const r = readText(
    [
      ' npm install ele-2784    [000] d..2.   191.215002: sched_waking: comm=my-tool x pid=2787 prio=120 target_cpu=001',
      '           <...>-4083  [004] ....   395.705673: sys_rt_sigprocmask -> 0x0',
      '          <idle>-0     (-----) [000] d..2   538.802663: cpu_idle: state=0 cpu_id=0',
      '   a-b-c-12 [003] 5.000000001: sched_switch: prev_comm=a-b-c prev_pid=12 prev_prio=120 prev_state=D|K ==> next_comm=swapper/3 next_pid=0 next_prio=120',
    ].join('\n'),
  );
  const rows = [0, 1, 2, 3].map((i) => rowOf(r, i));
  assert.deepEqual(
    rows.map((x) => [x.ts, x.cpu, x.kind, x.event, x.pid, x.tid, x.comm, x.prevComm, x.prevState, x.arg0]),
    [
      [191215002000, 0, 'waking', 'sched_waking', 2784, 2787, 'my-tool x', null, null, 1],
      [395705673000, 4, 'other', 'sys_rt_sigprocmask', 4083, 4083, '<...>', null, null, -1],
      [538802663000, 0, 'other', 'cpu_idle', 0, 0, '<idle>', null, null, -1],
      [5000000001, 3, 'switch', 'sched_switch', 12, 0, 'swapper/3', 'a-b-c', 'D|K', 120],
    ],
  );
});

test('report plugin forms: wakeup with success=, switch with W and R+ states, negative prio', () => {
  const r = readText(
    [
      'cpus=2',
      '          <idle>-0     [000]   191.428473: sched_switch:         swapper/0:0 [120] R+ ==> a b:4124 [-1]',
      '     rcu_preempt-15    [002]     6.174947: sched_switch:         rcu_preempt:15 [120] W ==> swapper/2:0 [120]',
      '        schedmix-4123  [001]   191.428437: sched_wakeup:         foo:bar:4124 [120] success=1 CPU:003',
      '        schedmix-4123  [001]   191.428438: sched_wakeup_new:     schedmix:4125 [120] CPU:000',
    ].join('\n'),
  );
  const c = r.columns;
  assert.equal(r.diagnostics.total, 0, JSON.stringify(r.diagnostics.kept));
  assert.deepEqual([c.tid[0], c.comms[c.comm[0]!], c.prevState[0], c.arg0[0], c.arg1[0]], [4124, 'a b', TaskState.running | TaskState.preempted, 120, -1]);
  // the plugin prints bit 0x80 as `W`; on kernels >= 4.14 that bit is TASK_REPORT_IDLE (I)
  assert.equal(c.prevState[1], TaskState.idle);
  assert.deepEqual([c.tid[2], c.comms[c.comm[2]!], c.arg0[2], c.arg1[2], c.pid[2]], [4124, 'foo:bar', 3, 120, 4123]);
  assert.deepEqual([c.kind[3], c.tid[3], c.arg0[3]], [EventKind.wakeupNew, 4125, 0]);
});

test('numeric prev_state: TASK_REPORT order (>= 4.14) and legacy raw states', () => {
  assert.equal(mapNumericState(0, 'task-report'), TaskState.running);
  assert.equal(mapNumericState(1, 'task-report'), TaskState.interruptible);
  assert.equal(mapNumericState(2, 'task-report'), TaskState.uninterruptible);
  assert.equal(mapNumericState(0x40, 'task-report'), TaskState.parked);
  assert.equal(mapNumericState(0x80, 'task-report'), TaskState.idle);
  assert.equal(mapNumericState(0x100, 'task-report'), TaskState.running | TaskState.preempted);
  assert.equal(mapNumericState(4096, 'legacy'), TaskState.running | TaskState.preempted);
  assert.equal(mapNumericState(130, 'legacy'), TaskState.uninterruptible | TaskState.wakekill);
  assert.equal(mapNumericState(64, 'legacy'), TaskState.dead);
  // the file decides: lisa's 4.19 Android kernel prints raw states (4096 = preempted)
  const r = readBytes(fixture('lisa-report-raw-legacy.txt'), 'lisa');
  assert.equal(r.info.extra?.numericStates, 'legacy');
  const c = r.columns;
  const states = new Set<number>();
  for (let i = 0; i < c.length; i++) if (c.kind[i] === EventKind.switch) states.add(c.prevState[i]!);
  assert.ok(states.has(TaskState.running | TaskState.preempted));
  assert.ok(!states.has(NO_STATE));
});

// ---- sniffing ---------------------------------------------------------------------------------

test('sniff rejects binary formats, random text, empty input', () => {
  const dat = fs.readFileSync(path.join(DATA, 'schedmix-1s', 'trace.dat')).subarray(0, SNIFF_BYTES);
  assert.equal(dat[0], 0x17);
  assert.equal(sniffFtraceText(new Uint8Array(dat)), false);
  const xen = path.join(here, '..', 'xentrace', 'testdata', 'xentrace-head.bin');
  if (fs.existsSync(xen)) assert.equal(sniffFtraceText(new Uint8Array(fs.readFileSync(xen)).subarray(0, SNIFF_BYTES)), false);
  const xenLike = new Uint8Array(4096);
  new DataView(xenLike.buffer).setUint32(0, 0x0001f003 | (2 << 28), true);
  assert.equal(sniffFtraceText(xenLike), false);
  assert.equal(sniffFtraceText(new Uint8Array(0)), false);
  const lorem = 'Lorem ipsum dolor sit amet: consectetur [1] adipiscing elit.\nSed do eiusmod: tempor 12.5: incididunt\n'.repeat(200);
  assert.equal(sniffFtraceText(enc.encode(lorem)), false);
  assert.equal(sniffFtraceText(enc.encode('{"traceEvents": []}\n')), false);
  assert.equal(sniffFtraceText(enc.encode('<!DOCTYPE html><html><body>hello</body></html>')), false);
  let seed = 7;
  const noise = new Uint8Array(SNIFF_BYTES).map(() => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) & 0xff);
  assert.equal(sniffFtraceText(noise), false);
});

// ---- malformed input --------------------------------------------------------------------------

test('empty file and binary garbage: a TraceFormatError from plan naming the file', () => {
  const d = new DiagnosticCollector('e');
  assert.throws(() => ftraceText.plan(new MemorySource('/x/empty.txt', new Uint8Array(0)), d, {}), (e: unknown) => e instanceof TraceFormatError && /empty\.txt: empty file/.test(e.message));
  let seed = 1;
  const garbage = new Uint8Array(100_000).map(() => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) & 0xff);
  assert.throws(() => ftraceText.plan(new MemorySource('/x/garbage.txt', garbage), d, {}), (e: unknown) => e instanceof TraceFormatError && /garbage\.txt/.test(e.message));
  assert.throws(() => ftraceText.plan(new MemorySource('/x/words.txt', enc.encode('hello\nworld\n')), d, {}), (e: unknown) => e instanceof TraceFormatError && (e as TraceFormatError).offsetBytes === 0);
});

test('truncated last line: complete lines read, the cut one reported with its line and offset', () => {
  const full = fixture('tracefs-schedmix.txt');
  const whole = readBytes(full, 'whole');
  const n = whole.columns.length;
  const lastStart = full.lastIndexOf(10, full.length - 2) + 1;
  for (const [cutAt, rows, kinds] of [
    [10, n - 1, ['the input ends without a newline', 'not an ftrace event line']], // in the comm
    [60, n - 1, ['the input ends without a newline', 'not an ftrace event line']], // in the event name
    [96, n, ['the input ends without a newline']], // in the fields: the row is kept, with a warning
  ] as const) {
    const r = readBytes(full.subarray(0, lastStart + cutAt), `cut${cutAt}`);
    assert.equal(r.columns.length, rows, `cut at ${cutAt}`);
    for (const i of [0, n - 2]) assert.deepEqual(rowOf(r, i), rowOf(whole, i));
    assert.deepEqual(r.diagnostics.kept.map((d) => [d.offset, d.line, d.message.split(':')[0]]), kinds.map((k) => [lastStart, 400, k]));
  }
});

test('a 10 MB line and a 100 KB line are skipped with an error naming offset and line; reading goes on', () => {
  const head = ['# tracer: nop', ...Array.from({ length: 5 }, (_, i) => ` a-1 [000] .... 1.00000${i}: e: x=${i}`)].join('\n') + '\n';
  const tail = Array.from({ length: 5 }, (_, i) => ` a-1 [000] .... 2.00000${i}: e: y=${i}`).join('\n') + '\n';
  const big = 10 * 1024 * 1024;
  const mid = 100 * 1024;
  const parts = [enc.encode(head), new Uint8Array(big).fill(0x41), enc.encode('\n'), enc.encode(tail), new Uint8Array(mid).fill(0x42), enc.encode('\n'), enc.encode(tail)];
  const total = parts.reduce((s, p) => s + p.length, 0);
  const bytes = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    bytes.set(p, o);
    o += p.length;
  }
  const r = readBytes(bytes, 'long');
  assert.equal(r.columns.length, 15);
  const errs = r.diagnostics.kept.filter((d) => d.severity === 'error');
  assert.equal(errs.length, 2, JSON.stringify(r.diagnostics.kept));
  assert.equal(errs[0]!.offset, head.length);
  assert.equal(errs[0]!.line, 7);
  assert.match(errs[0]!.message, new RegExp(`longer than ${MAX_LINE_BYTES}`));
  assert.equal(errs[1]!.offset, head.length + big + 1 + tail.length);
  assert.equal(errs[1]!.line, 13);
  // a long line running to the end of the input
  const open = new Uint8Array(head.length + 200_000);
  open.set(enc.encode(head));
  open.fill(0x43, head.length);
  const r2 = readBytes(open, 'open');
  assert.equal(r2.columns.length, 5);
  assert.equal(r2.diagnostics.kept.filter((d) => d.severity === 'error').length, 1);
});

test('unknown events are kept as rows; junk lines, LOST lines and bad fields give diagnostics with line numbers', () => {
  const r = readText(
    [
      '# tracer: nop',
      '    vendor-77    [001] d..1.   10.000001: my_vendor_event: x=1 y=2',
      'this is not a trace line',
      'CPU:1 [LOST 42 EVENTS]',
      '    vendor-77    [001] d..1.   10.000002: sched_switch: garbage',
      '    vendor-77    [001] d..1.   10.000003: sched_migrate_task: comm=a pid=5 prio=120 orig_cpu=1 dest_cpu=0',
      '',
    ].join('\n'),
  );
  const c = r.columns;
  assert.deepEqual(countsByEvent(r), { my_vendor_event: 1, sched_migrate_task: 1, sched_switch: 1 });
  assert.deepEqual([...c.kind], [EventKind.other, EventKind.invalid, EventKind.migrate]);
  assert.deepEqual([c.tid[0], c.comms[c.comm[0]!], c.offset[0]], [77, 'vendor', 14]);
  assert.deepEqual([c.tid[2], c.arg0[2], c.arg1[2]], [5, 1, 0]);
  const d = r.diagnostics.kept.map((x) => [x.line, x.message.split(':')[0]]);
  assert.deepEqual(d, [
    [3, 'not an ftrace event line'],
    [4, 'CPU 1 lost 42 events here (ring buffer overrun)'],
    [5, 'sched_switch'],
  ]);
});

test('mutated and truncated copies of real fixtures: only TraceFormatError, never a hang (fixed seeds)', () => {
  const names = ['tracefs-tgid-stressng.txt', 'report-plugin.txt', 'report-multi-twolayer.txt', 'perf-script.txt', 'lisa-report-raw-legacy.txt', 'catapult-systrace-js-excerpt.html', 'report-raw.txt'];
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  let runs = 0;
  let rowsTotal = 0;
  for (const name of names) {
    const orig = fixture(name);
    for (let k = 0; k < 25; k++) {
      let m: Uint8Array = orig.slice();
      const op = k % 5;
      if (op === 0) m = m.subarray(0, rnd(m.length));
      else if (op === 1) for (let j = 0; j < 50; j++) m[rnd(m.length)] = rnd(256);
      else if (op === 2) for (let j = 0; j < 30; j++) m[rnd(m.length)] = [0x0a, 0x20, 0x3a, 0x5b, 0x5d, 0x2d, 0x3d, 0x2e][rnd(8)]!;
      else if (op === 3) {
        const at = rnd(m.length);
        const len = rnd(4000);
        m = new Uint8Array([...m.subarray(0, at), ...m.subarray(Math.min(m.length, at + len))]);
      } else {
        const at = rnd(m.length);
        m = new Uint8Array([...m.subarray(0, at), ...m.subarray(rnd(m.length)), ...m.subarray(at)]);
      }
      try {
        const r = readBytes(m, `${name}#${k}`, { unitBytes: 64 * 1024 });
        rowsTotal += r.columns.length;
      } catch (e) {
        if (!(e instanceof TraceFormatError)) throw new Error(`${name} mutation ${k}: ${(e as Error).stack}`);
      }
      runs++;
    }
  }
  assert.equal(runs, names.length * 25);
  assert.ok(rowsTotal > 0);
});

test('a UTF-8 byte order mark before the first line is skipped', () => {
  const plain = fixture('tracefs-schedmix.txt');
  const bom = new Uint8Array(plain.length + 3);
  bom.set([0xef, 0xbb, 0xbf]);
  bom.set(plain, 3);
  const a = readBytes(plain, 'plain');
  const b = readBytes(bom, 'bom');
  assert.equal(b.diagnostics.total, 0, JSON.stringify(b.diagnostics.kept));
  assert.equal(b.columns.length, a.columns.length);
  assert.equal(b.columns.offset[0], a.columns.offset[0]! + 3);
});

test('CRLF line ends (a trace copied through Windows) decode to the same rows', () => {
  for (const name of ['tracefs-schedmix.txt', 'report-plugin.txt', 'perf-script.txt']) {
    const lf = fixture(name);
    const text = new TextDecoder('latin1').decode(lf).replace(/\n/g, '\r\n');
    const crlf = Uint8Array.from(text, (ch) => ch.charCodeAt(0));
    const a = readBytes(lf, 'lf');
    const b = readBytes(crlf, 'crlf');
    assert.equal(b.columns.length, a.columns.length, name);
    assert.equal(b.diagnostics.total, a.diagnostics.total, JSON.stringify(b.diagnostics.kept.slice(0, 2)));
    for (let i = 0; i < a.columns.length; i++) {
      const x = rowOf(a, i);
      const y = rowOf(b, i);
      assert.equal(y.offset, (x.offset as number) + i + (name.startsWith('tracefs') ? 12 : name.startsWith('report') ? 1 : 0), `${name} row ${i} offset`);
      delete x.offset;
      delete y.offset;
      assert.deepEqual(y, x, `${name} row ${i}`);
    }
  }
});

test('huge fields: comms are cut to MAX_COMM_BYTES, over-long event names make the line unparsable', () => {
  const lines: string[] = [];
  for (let i = 0; i < 50; i++) {
    lines.push(` x-${i} [000] .... 1.${String(i).padStart(6, '0')}: sched_wakeup: comm=${String(i).repeat(5000)} pid=${i} prio=120 target_cpu=000`);
  }
  lines.push(` x-1 [000] .... 2.000000: ${'e'.repeat(5000)}: y=1`);
  const r = readText(lines.join('\n'));
  assert.equal(r.columns.length, 50);
  for (const comm of r.columns.comms) assert.ok(comm.length <= MAX_COMM_BYTES, `comm of ${comm.length} bytes`);
  assert.equal(r.diagnostics.total, 1);
  assert.equal(r.diagnostics.kept[0]!.line, 51);
});

test('chunk boundaries anywhere in a line (small read sizes) give the same rows and diagnostics', () => {
  const bytes = schedmixTracefs().subarray(0, 400_000);
  const cutAt = bytes.lastIndexOf(10) + 1;
  const text = bytes.subarray(0, cutAt);
  // add junk, a LOST line and an over-long line so every path meets a boundary
  const extra = enc.encode(`junk line\nCPU:0 [LOST 3 EVENTS]\n${'z'.repeat(70_000)}\n`);
  const all = new Uint8Array(text.length + extra.length + text.length);
  all.set(text, 0);
  all.set(extra, text.length);
  all.set(text, text.length + extra.length);
  const ref = readBytes(all, 'ref');
  const refDiags = JSON.stringify(ref.diagnostics.kept.map((d) => [d.offset, d.line, d.message]));
  assert.equal(ref.diagnostics.kept.length, 3, refDiags);
  try {
    for (const chunk of [4093, 8192, 65_521, 100_003]) {
      setChunkBytesForTests(chunk);
      const r = readBytes(all, `chunk${chunk}`);
      assert.equal(r.columns.length, ref.columns.length, `chunk ${chunk}`);
      assert.equal(columnsHash(r), columnsHash(ref), `chunk ${chunk}`);
      assert.equal(JSON.stringify(r.diagnostics.kept.map((d) => [d.offset, d.line, d.message])), refDiags, `chunk ${chunk}`);
    }
  } finally {
    setChunkBytesForTests(undefined);
  }
});

// The function tracer cannot be enabled on this machine (its control files are blocked, see the
// recorder's env.txt), so this shape follows trace_fn_trace() in kernel/trace/trace_output.c.
test('function tracer lines are one event named "function", not one name per kernel function', () => {
  const r = readText(
    [
      '# tracer: function',
      '            bash-1977    [000] ...1.  1013.281536: do_sys_openat2 <-__x64_sys_openat',
      '            bash-1977    [000] ...1.  1013.281537: getname <-do_sys_openat2',
      '            bash-1977    [000] d..2.  1013.281538: sched_waking: comm=a pid=5 prio=120 target_cpu=001',
    ].join('\n'),
  );
  assert.deepEqual(countsByEvent(r), { function: 2, sched_waking: 1 });
  assert.equal(r.diagnostics.total, 0);
});

test('a tracefs file with a header and no events: sniffed, zero rows and a warning', () => {
  const head = fixture('tracefs-schedmix.txt');
  const headerOnly = head.subarray(0, Buffer.from(head).indexOf(' npm install'));
  assert.ok(headerOnly.length > 500 && headerOnly.length < 1000);
  assert.equal(sniffFtraceText(headerOnly), true);
  const r = readBytes(headerOnly, 'no-events.txt');
  assert.equal(r.columns.length, 0);
  assert.deepEqual(r.diagnostics.kept.map((d) => d.message), ['the trace holds a tracefs header but no events']);
});
