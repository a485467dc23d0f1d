// Differential tests against trace-cmd: runs `trace-cmd report` (plain, -R, -t, two inputs) on the
// committed real trace.dat, reads the output with this reader and compares per-event counts with
// an independent count of the report's lines; then compares the tracefs text captured by the same
// run at the same time with the report, row by row per CPU in the common time window.

import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { EVENT_KIND_NAMES, TaskState } from '../../../shared/schema.ts';
import { MemorySource } from '../../engine/io/byte-source.ts';
import { readInline } from '../../engine/index/read-inline.ts';
import { ftraceText } from './index.ts';
import { countsByEvent, type ReadResult } from './test-helpers.ts';

function readBytes(bytes: Uint8Array, name: string): ReadResult {
  return readInline(ftraceText, new MemorySource(name, bytes));
}

const here = path.dirname(fileURLToPath(import.meta.url));
const DIR = path.join(here, 'testdata', 'schedmix-1s');
const DAT = path.join(DIR, 'trace.dat');

const probe = spawnSync('trace-cmd', ['report', '-i', DAT], { stdio: ['ignore', 'ignore', 'ignore'] });
const skip = probe.error || probe.status !== 0 ? 'trace-cmd is not installed (apt-get install trace-cmd); differential tests skipped' : false;

function report(args: string[]): Buffer {
  const r = spawnSync('trace-cmd', ['report', ...args], { maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'pipe'] });
  assert.equal(r.status, 0, `trace-cmd report ${args.join(' ')}: ${r.stderr?.toString()}`);
  return r.stdout;
}

/** Independent count: the event token after the timestamp, by a plain regex per line. */
function countLines(text: string, prefixed = false): { byEvent: Record<string, number>; byInput: Record<string, number> } {
  const byEvent: Record<string, number> = {};
  const byInput: Record<string, number> = {};
  const re = prefixed ? /^\s*([^:]+): .*\s\d+\.\d+: +(?:\([-+]?\d+\) +)?(\w+):/ : /^().*\s\d+\.\d+: +(?:\([-+]?\d+\) +)?(\w+):/;
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    byEvent[m[2]!] = (byEvent[m[2]!] ?? 0) + 1;
    byInput[m[1]!] = (byInput[m[1]!] ?? 0) + 1;
  }
  return { byEvent: Object.fromEntries(Object.entries(byEvent).sort((a, b) => (a[0] < b[0] ? -1 : 1))), byInput };
}

test('trace-cmd report (plugin, -R, -t, -l, --ts-diff): per-event counts equal an independent count of the lines', { skip }, () => {
  let first: Record<string, number> | undefined;
  for (const args of [[], ['-R'], ['-t'], ['-l'], ['--ts-diff']]) {
    const out = report([...args, '-i', DAT]);
    const r = readBytes(new Uint8Array(out), `report ${args.join(' ')}`);
    const independent = countLines(out.toString('latin1')).byEvent;
    assert.deepEqual(countsByEvent(r), independent, `report ${args.join(' ')}`);
    assert.equal(r.diagnostics.total, 0, JSON.stringify(r.diagnostics.kept.slice(0, 3)));
    const cpus = new Set(r.columns.cpu);
    assert.deepEqual([...cpus].sort(), [0, 1], `report ${args.join(' ')}: CPU column`);
    first ??= independent;
    assert.deepEqual(independent, first, 'all three forms hold the same events');
  }
  // the recorder's own count for this file (stats.md of the recording): 22173 events
  assert.equal(Object.values(first!).reduce((s, n) => s + n, 0), 22173);
});

test('trace-cmd report with two inputs: rows tagged per input, each input complete', { skip }, () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-ftt-'));
  try {
    fs.copyFileSync(DAT, path.join(tmp, 'a.dat'));
    fs.copyFileSync(DAT, path.join(tmp, 'b.dat'));
    const out = report(['-i', path.join(tmp, 'a.dat'), '-i', path.join(tmp, 'b.dat')]);
    const r = readBytes(new Uint8Array(out), 'multi');
    assert.equal(r.diagnostics.total, 0, JSON.stringify(r.diagnostics.kept.slice(0, 3)));
    const independent = countLines(out.toString('latin1'), true);
    assert.deepEqual(countsByEvent(r), independent.byEvent);
    assert.deepEqual(r.columns.inputs, ['a.dat', 'b.dat']);
    const perInput = [0, 0];
    for (let i = 0; i < r.columns.length; i++) perInput[r.columns.input[i]!]!++;
    assert.deepEqual(perInput, [independent.byInput['a.dat'], independent.byInput['b.dat']]);
    assert.deepEqual(perInput, [22173, 22173]);
    // split into units of 64 KiB: every unit tags its rows with the right input
    const split = readInline(ftraceText, new MemorySource('multi', new Uint8Array(out)), { unitBytes: 64 * 1024 });
    assert.deepEqual([...split.columns.input], [...r.columns.input]);
    assert.deepEqual(countsByEvent(split), countsByEvent(r));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

/** Rows inside [loNs, hiNs] as text, grouped per CPU (cross-CPU order of equal-ish times differs). */
function rowsPerCpu(r: ReadResult, loNs: number, hiNs: number, stateMask: number): string[] {
  const c = r.columns;
  const perCpu = new Map<number, string[]>();
  for (let i = 0; i < c.length; i++) {
    const t = c.ts[i]!;
    if (t < loNs || t > hiNs) continue;
    const comm = c.comm[i]! < 0 ? '' : c.comms[c.comm[i]!];
    const row = `${EVENT_KIND_NAMES[c.kind[i]!]} ${c.events[c.event[i]!]} pid=${c.pid[i]} tid=${c.tid[i]} comm=${comm} prevTid=${c.prevTid[i]} state=${c.prevState[i]! & stateMask} ${c.arg0[i]} ${c.arg1[i]}`;
    let list = perCpu.get(c.cpu[i]!);
    if (!list) perCpu.set(c.cpu[i]!, (list = []));
    list.push(row);
  }
  return [...perCpu.entries()].sort((a, b) => a[0] - b[0]).flatMap(([cpu, rows]) => rows.map((x) => `cpu${cpu} ${x}`));
}

test('tracefs text captured at the same time equals trace-cmd report in the common window, row by row', { skip }, () => {
  const text = readBytes(new Uint8Array(gunzipSync(fs.readFileSync(path.join(DIR, 'tracefs.txt.gz')))), 'tracefs.txt');
  assert.equal(text.info.variant, 'tracefs');
  for (const args of [[], ['-R']]) {
    const rep = readBytes(new Uint8Array(report([...args, '-i', DAT])), `report ${args.join(' ')}`);
    const a = rep.columns;
    const b = text.columns;
    // the two ring buffers start and stop at different moments; 1 ms margins keep partial edges out
    const lo = Math.max(a.ts[0]!, b.ts[0]!) + 1e6;
    const hi = Math.min(a.ts[a.length - 1]!, b.ts[b.length - 1]!) - 1e6;
    assert.ok(hi - lo > 0.9e9, 'the window covers most of the 1 s run');
    // the plain report's sched_switch plugin drops the preemption bit (R+ prints as R)
    const mask = args.length === 0 ? ~TaskState.preempted : ~0;
    const ra = rowsPerCpu(rep, lo, hi, mask);
    const rb = rowsPerCpu(text, lo, hi, mask);
    assert.ok(ra.length > 20000, `${ra.length} rows in the window`);
    assert.equal(ra.length, rb.length, `report ${args.join(' ')}: row count in the window`);
    for (let i = 0; i < ra.length; i++) {
      if (ra[i] !== rb[i]) assert.fail(`report ${args.join(' ')} vs tracefs, row ${i} of the window:\n  report:  ${ra[i]}\n  tracefs: ${rb[i]}`);
    }
  }
});
