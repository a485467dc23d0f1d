// `vcpuscope export`: one CSV row per event (all kinds), time-range filter, refuses to overwrite
// the trace. Input: a real tracefs recording from the ftrace-text testdata.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../main.ts';
import { captureIo, type CapturedIo } from '../test-io.ts';

const TRACE = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../formats/ftrace-text/testdata/tracefs-schedmix.txt');

const io = (): CapturedIo => captureIo();

test('export writes every event as CSV, filters by time, never overwrites the trace', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-export-test-'));
  try {
    const s = io();
    assert.equal(await runCli(['stats', TRACE, '--json', '--no-cache'], s), 0, s.err());
    const stats = JSON.parse(s.out()) as { events: number; byEvent: Record<string, number>; startNs: number; endNs: number };
    const out = path.join(dir, 'all.csv');
    const a = io();
    assert.equal(await runCli(['export', TRACE, '--out', out, '--no-cache'], a), 0, a.err());
    const lines = fs.readFileSync(out, 'utf8').trimEnd().split('\n');
    assert.equal(lines[0], 'ts_ns,cpu,kind,event,pid,tid,comm,prev_tid,prev_comm,prev_state,arg0,arg1,input,offset');
    assert.equal(lines.length - 1, stats.events);
    const perEvent: Record<string, number> = {};
    for (const l of lines.slice(1)) {
      const ev = l.split(',')[3]!;
      perEvent[ev] = (perEvent[ev] ?? 0) + 1;
    }
    assert.deepEqual(perEvent, stats.byEvent);
    const mid = Math.floor((stats.startNs + stats.endNs) / 2);
    const b = io();
    assert.equal(await runCli(['export', TRACE, '--out', '-', '--from', String(mid), '--no-cache'], b), 0, b.err());
    const part = b.out().trimEnd().split('\n').slice(1);
    assert.ok(part.length > 0 && part.length < stats.events);
    for (const l of part) assert.ok(Number(l.split(',')[0]) >= mid);
    const c = io();
    assert.equal(await runCli(['export', TRACE, '--out', TRACE, '--no-cache'], c), 2);
    assert.match(c.err(), /must not be the trace file/);
    // A hard link to the trace is the trace too: refused, and the trace is untouched.
    const copy = path.join(dir, 'trace.txt');
    fs.copyFileSync(TRACE, copy);
    const link = path.join(dir, 'link.csv');
    fs.linkSync(copy, link);
    const before = fs.readFileSync(copy);
    const d = io();
    assert.equal(await runCli(['export', copy, '--out', link, '--no-cache'], d), 2);
    assert.deepEqual(fs.readFileSync(copy), before);
    // Rows out of time order are still filtered row by row.
    const lines2 = fs.readFileSync(copy, 'utf8').split('\n');
    const header = lines2.filter((l) => l.startsWith('#'));
    const body = lines2.filter((l) => l && !l.startsWith('#'));
    const unsorted = path.join(dir, 'unsorted.txt');
    fs.writeFileSync(unsorted, [...header, ...body.slice(-50), ...body.slice(0, -50)].join('\n') + '\n');
    const e = io();
    assert.equal(await runCli(['export', unsorted, '--out', '-', '--from', String(mid), '--no-cache'], e), 0, e.err());
    assert.equal(e.out().trimEnd().split('\n').length - 1, part.length);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
