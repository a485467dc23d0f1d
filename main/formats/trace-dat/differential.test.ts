// Differential tests: what this reader decodes from real trace.dat files must equal what
// `trace-cmd report -R -t` prints for them (event counts per name, and every sched event's fields,
// timestamp in ns, CPU and buffer), and the prev_state letters must equal the guest kernel's own
// tracefs text recorded at the same time. The report parser below is independent of the reader.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { FileSource } from '../../engine/io/byte-source.ts';
import { readInline } from '../../engine/index/read-inline.ts';
import type { EventColumns } from '../../engine/index/event-columns.ts';
import { EventKind, formatTaskState } from '../../../shared/schema.ts';
import { traceDat } from './index.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../../..');
const TESTDATA = path.join(HERE, 'testdata');
const PUBLIC = path.resolve(REPO, '../shared/traces/public/trace-dat');

function hasTraceCmd(): boolean {
  // `trace-cmd --version` exits non-zero; only "not found" means absent.
  return spawnSync('trace-cmd', ['--version'], { stdio: 'ignore' }).error === undefined;
}
const TRACE_CMD = hasTraceCmd();

/** Kernel prev_state bits -> letters, from each kernel's include/trace/events/sched.h. */
interface StateTable {
  letters: [number, string][];
  preempt: number;
}
const STATE_6X: StateTable = { letters: [[1, 'S'], [2, 'D'], [4, 'T'], [8, 't'], [16, 'X'], [32, 'Z'], [64, 'P'], [128, 'I']], preempt: 256 };
const STATE_OLD = (preempt: number): StateTable => ({
  letters: [[1, 'S'], [2, 'D'], [4, 'T'], [8, 't'], [16, 'Z'], [32, 'X'], [64, 'x'], [128, 'K'], [256, 'W'], [512, 'P'], [1024, 'N']].filter(([v]) => (v as number) < preempt) as [number, string][],
  preempt,
});

interface Case {
  file: string;
  states: StateTable;
  /** trace-cmd report can read it (Debian's 3.1.6 has zstd but no zlib) */
}
const CASES: Case[] = [
  { file: path.join(TESTDATA, 'schedmix-kvm-2buf.v7zstd.dat'), states: STATE_6X },
  { file: path.join(TESTDATA, 'schedmix-kvm-2buf.v7.dat'), states: STATE_6X },
  { file: path.join(TESTDATA, 'schedmix-kvm-2buf.v6.dat'), states: STATE_6X },
  // Guest kernel 6.1 (same bit values as 6.x above: TASK_REPORT_MAX 0x100).
  { file: path.join(TESTDATA, 'qemu-guest-4vcpu.v7zstd.dat'), states: STATE_6X },
  { file: path.join(PUBLIC, 'lisa_sched_load_trace.dat'), states: STATE_OLD(4096) },
  { file: path.join(PUBLIC, 'trappy_raw_trace.dat'), states: STATE_OLD(1024) },
  { file: path.join(PUBLIC, 'trappy_trace_idle.dat'), states: STATE_OLD(1024) },
];

function lettersOf(raw: number, t: StateTable): string {
  const parts: string[] = [];
  for (const [v, l] of t.letters) if (raw & v) parts.push(l === 'x' ? 'X' : l);
  const base = parts.length ? [...new Set(parts)].sort().join('|') : 'R';
  return raw & t.preempt ? `${base}+` : base;
}

function normalizeLetters(s: string): string {
  const plus = s.endsWith('+');
  const core = plus ? s.slice(0, -1) : s;
  const base = core === 'R' || core === '' ? 'R' : [...new Set(core.split('|').map((l) => (l === 'x' ? 'X' : l)))].sort().join('|');
  return plus ? `${base}+` : base;
}

interface ReportLine {
  buffer: string;
  comm: string;
  pid: number;
  cpu: number;
  tsNs: number;
  event: string;
  fields: Map<string, string>;
}

/** Independent parser of `trace-cmd report -R -t` lines: "[buf: ]comm-pid [cpu] s.ns: event: k=v ..." */
function parseReport(text: string, bufferNames: string[]): ReportLine[] {
  const out: ReportLine[] = [];
  const re = /^\s*(.*)-(\d+)\s+\[(\d+)\]\s+(\d+)\.(\d{9}):\s+(\w+):\s?(.*)$/;
  for (let line of text.split('\n')) {
    if (!line || line.startsWith('cpus=')) continue;
    let buffer = '';
    for (const b of bufferNames) {
      if (b && line.startsWith(`${b}: `)) {
        buffer = b;
        line = line.slice(b.length + 2);
        break;
      }
    }
    const m = re.exec(line);
    if (!m) throw new Error(`unparsed report line: ${line}`);
    const fields = new Map<string, string>();
    const body = m[7]!;
    const keys = [...body.matchAll(/(?:^|\s)([a-z_][a-z0-9_]*)=/g)];
    for (let k = 0; k < keys.length; k++) {
      const start = keys[k]!.index! + keys[k]![0].length;
      const end = k + 1 < keys.length ? keys[k + 1]!.index! : body.length;
      fields.set(keys[k]![1]!, body.slice(start, end).trim());
    }
    out.push({ buffer, comm: m[1]!.trim(), pid: Number(m[2]), cpu: Number(m[3]), tsNs: Number(BigInt(m[4]!) * 1_000_000_000n + BigInt(m[5]!)), event: m[6]!, fields });
  }
  return out;
}

function num(v: string | undefined): number {
  return v === undefined ? NaN : parseInt(v, 10);
}

/** Canonical key per sched event from the report (other events: line pid and comm). */
function reportKey(r: ReportLine, states: StateTable): string {
  const f = r.fields;
  const head = `${r.buffer}|${r.tsNs}|${r.cpu}|${r.event}`;
  switch (r.event) {
    case 'sched_switch':
      return `${head}|${num(f.get('prev_pid'))}|${num(f.get('prev_prio'))}|${f.get('prev_comm')}|${lettersOf(num(f.get('prev_state')), states)}|${num(f.get('next_pid'))}|${num(f.get('next_prio'))}|${f.get('next_comm')}`;
    case 'sched_wakeup':
    case 'sched_waking':
    case 'sched_wakeup_new':
      return `${head}|${r.pid}|${num(f.get('pid'))}|${num(f.get('prio'))}|${f.get('comm')}|${num(f.get('target_cpu'))}`;
    case 'sched_migrate_task':
      return `${head}|${r.pid}|${num(f.get('pid'))}|${f.get('comm')}|${num(f.get('orig_cpu'))}|${num(f.get('dest_cpu'))}`;
    case 'sched_process_fork':
      return `${head}|${num(f.get('parent_pid'))}|${f.get('parent_comm')}|${num(f.get('child_pid'))}|${f.get('child_comm')}`;
    case 'sched_process_exec':
      return `${head}|${num(f.get('pid'))}|${num(f.get('old_pid'))}|${r.comm}`;
    case 'sched_process_exit':
      return `${head}|${num(f.get('pid'))}|${num(f.get('prio'))}|${f.get('comm')}`;
    default:
      return `${head}|${r.pid}|${r.comm}`;
  }
}

/** The same key from the reader's columns. */
function columnKey(c: EventColumns, i: number): string {
  const input = c.inputs.length ? (c.inputs[c.input[i]!] === 'top' ? '' : c.inputs[c.input[i]!]!) : '';
  const head = `${input}|${c.ts[i]}|${c.cpu[i]}|${c.events[c.event[i]!]}`;
  const comm = (id: number): string => c.comms[id] ?? '?';
  switch (c.kind[i]) {
    case EventKind.switch:
      return `${head}|${c.prevTid[i]}|${c.arg0[i]}|${comm(c.prevComm[i]!)}|${normalizeLetters(formatTaskState(c.prevState[i]!))}|${c.tid[i]}|${c.arg1[i]}|${comm(c.comm[i]!)}`;
    case EventKind.wakeup:
    case EventKind.waking:
    case EventKind.wakeupNew:
      return `${head}|${c.pid[i]}|${c.tid[i]}|${c.arg1[i]}|${comm(c.comm[i]!)}|${c.arg0[i]}`;
    case EventKind.migrate:
      return `${head}|${c.pid[i]}|${c.tid[i]}|${comm(c.comm[i]!)}|${c.arg0[i]}|${c.arg1[i]}`;
    case EventKind.fork:
      return `${head}|${c.prevTid[i]}|${comm(c.prevComm[i]!)}|${c.tid[i]}|${comm(c.comm[i]!)}`;
    case EventKind.exec:
      return `${head}|${c.tid[i]}|${c.prevTid[i]}|${comm(c.comm[i]!)}`;
    case EventKind.exit:
      return `${head}|${c.tid[i]}|${c.arg0[i]}|${comm(c.comm[i]!)}`;
    default:
      return `${head}|${c.pid[i]}|${comm(c.comm[i]!)}`;
  }
}

function firstDifference(a: string[], b: string[]): string {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return `#${i}: reader ${a[i]} | report ${b[i]}`;
  return '';
}

for (const cs of CASES) {
  const name = path.basename(cs.file);
  const skip = !fs.existsSync(cs.file) ? `${cs.file} is absent (CI copies ../shared beside the clone)` : !TRACE_CMD ? 'trace-cmd is not installed' : false;
  test(`trace.dat differential vs trace-cmd report: ${name}`, { skip }, () => {
    const src = new FileSource(cs.file);
    try {
      const r = readInline(traceDat, src);
      assert.equal(r.diagnostics.errors, 0, JSON.stringify(r.diagnostics.kept.slice(0, 5)));
      const c = r.columns;
      const buffers = ((r.info.extra?.buffers ?? []) as { name: string }[]).map((b) => b.name);
      const text = execFileSync('trace-cmd', ['report', '-R', '-t', '-i', cs.file], { maxBuffer: 1 << 30, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const lines = parseReport(text, buffers);
      assert.ok(lines.length > 0, 'trace-cmd report printed no events');
      // Counts per event name.
      const mine = new Map<string, number>();
      for (let i = 0; i < c.length; i++) mine.set(c.events[c.event[i]!]!, (mine.get(c.events[c.event[i]!]!) ?? 0) + 1);
      const theirs = new Map<string, number>();
      for (const l of lines) theirs.set(l.event, (theirs.get(l.event) ?? 0) + 1);
      assert.deepEqual([...mine].sort(), [...theirs].sort());
      // Every row, field by field (sorted canonical keys: equal multisets).
      const a: string[] = [];
      for (let i = 0; i < c.length; i++) a.push(columnKey(c, i));
      const b = lines.map((l) => reportKey(l, cs.states));
      a.sort();
      b.sort();
      assert.equal(a.length, b.length);
      assert.equal(firstDifference(a, b), '', 'first row that differs');
      // Rows come out in time order (the merge of per-CPU units).
      for (let i = 1; i < c.length; i++) assert.ok(c.ts[i]! >= c.ts[i - 1]!, `row ${i} out of time order`);
    } finally {
      src.close();
    }
  });
}

test('trace.dat prev_state letters equal the guest kernel\'s own tracefs text of the same events', () => {
  const dat = path.join(TESTDATA, 'qemu-guest-4vcpu.v7zstd.dat');
  const txt = zlib.gunzipSync(fs.readFileSync(path.join(TESTDATA, 'qemu-guest-4vcpu.tracefs.txt.gz'))).toString('utf8');
  const src = new FileSource(dat);
  try {
    const c = readInline(traceDat, src).columns;
    const mine: string[] = [];
    for (let i = 0; i < c.length; i++) {
      if (c.kind[i] !== EventKind.switch) continue;
      // The kernel prints microseconds rounded to nearest (ns2usecs adds 500).
      mine.push(`${Math.floor((c.ts[i]! + 500) / 1000)}|${c.cpu[i]}|${c.prevTid[i]}|${normalizeLetters(formatTaskState(c.prevState[i]!))}|${c.tid[i]}`);
    }
    const kernel: string[] = [];
    const re = /\[(\d+)\]\s+\S*\s*(\d+)\.(\d{6}): sched_switch: .*prev_pid=(\d+) .*prev_state=(\S+) ==> .*next_pid=(\d+) /;
    for (const line of txt.split('\n')) {
      const m = re.exec(line);
      if (!m) continue;
      kernel.push(`${Number(m[2]) * 1_000_000 + Number(m[3])}|${Number(m[1])}|${m[4]}|${normalizeLetters(m[5]!)}|${m[6]}`);
    }
    assert.ok(kernel.length > 9000, `parsed only ${kernel.length} kernel sched_switch lines`);
    mine.sort();
    kernel.sort();
    assert.equal(mine.length, kernel.length);
    assert.equal(firstDifference(mine, kernel), '');
    // The text has more than R and S: the table is exercised.
    assert.ok(new Set(kernel.map((k) => k.split('|')[3])).size >= 3);
  } finally {
    src.close();
  }
});
