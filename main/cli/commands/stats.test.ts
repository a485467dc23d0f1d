// `vcpuscope index` / `stats` through runCli in-process: the --json contract, cache reuse, exit
// statuses 0/1/2 with one-line messages. Input: a real tracefs recording from the ftrace-text
// reader's testdata (see its README for how it was made).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { runCli } from '../main.ts';
import { captureIo, type CapturedIo } from '../test-io.ts';

const TESTDATA = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../formats/ftrace-text/testdata');
const TRACEFS = path.join(TESTDATA, 'tracefs-schedmix.txt');
const TGID = path.join(TESTDATA, 'tracefs-tgid-stressng.txt');

const io = (): CapturedIo => captureIo();

test('stats --json: one object with the aggregate fields, per-file summaries, same from the cache', async () => {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-stats-test-'));
  const a = io();
  assert.equal(await runCli(['index', TRACEFS, '--cache-dir', cacheDir], a), 0, a.err());
  assert.match(a.err(), /tracefs-schedmix\.txt: .* events, .* indexed in/);
  const b = io();
  assert.equal(await runCli(['stats', TRACEFS, TGID, '--json', '--cache-dir', cacheDir], b), 0, b.err());
  const j = JSON.parse(b.out()) as Record<string, unknown> & { files: Array<{ events: number; file: string }>; byEvent: Record<string, number> };
  for (const k of ['events', 'byEvent', 'cpus', 'threads', 'startNs', 'endNs', 'diagnostics', 'files', 'format']) assert.ok(k in j, k);
  assert.equal(j.files.length, 2);
  assert.equal(j.events, j.files[0]!.events + j.files[1]!.events);
  assert.equal(Object.values(j.byEvent).reduce((s, v) => s + v, 0), j.events);
  assert.equal(j.files[0]!.file, TRACEFS);
  const c = io();
  assert.equal(await runCli(['index', TRACEFS, '--cache-dir', cacheDir], c), 0);
  assert.match(c.err(), /cache is up to date/);
  const d = io();
  assert.equal(await runCli(['stats', TRACEFS, TGID, '--json', '--no-cache'], d), 0, d.err());
  assert.deepEqual(JSON.parse(d.out()), j);
  fs.rmSync(cacheDir, { recursive: true, force: true });
});

test('exit statuses: 1 for unreadable input (one line, file and offset), 2 for usage errors', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-stats-test-'));
  const garbage = path.join(dir, 'garbage.bin');
  fs.writeFileSync(garbage, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) & 0xff)));
  const cases: Array<[string[], number, RegExp]> = [
    [['stats', garbage, '--cache-dir', dir], 1, /^vcpuscope stats: .*garbage\.bin: .*offset 0\)?\n$/],
    [['stats', path.join(dir, 'nope.txt'), '--cache-dir', dir], 1, /^vcpuscope stats: .*nope\.txt: cannot open/],
    [['stats', '--cache-dir', dir], 2, /no trace file given/],
    [['stats', TRACEFS, '--cpu-hz', 'fast'], 2, /--cpu-hz expects a number/],
    [['index', TRACEFS, '--format', 'no-such-format'], 2, /unknown format 'no-such-format'/],
    [['index', '--bogus'], 2, /unknown option --bogus/],
  ];
  for (const [argv, code, re] of cases) {
    const r = io();
    assert.equal(await runCli(argv, r), code, `${argv.join(' ')}: ${r.err()}`);
    assert.match(r.err(), re);
    assert.doesNotMatch(r.err(), /\n\s+at /, 'no stack trace');
  }
  const h = io();
  assert.equal(await runCli(['stats', '--help'], h), 0);
  assert.match(h.out(), /--json/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('index: Ctrl-C while indexing exits 130 and leaves no cache (progress bar on a terminal)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-index-sigint-'));
  const file = path.join(dir, 'tracefs.txt');
  fs.writeFileSync(file, zlib.gunzipSync(fs.readFileSync(path.join(TESTDATA, 'schedmix-1s/tracefs.txt.gz'))));
  const cacheDir = path.join(dir, 'cache');
  let err = '';
  let interrupted = false;
  // A terminal whose first progress line "presses Ctrl-C" (the handler openAll installs).
  const stderr = {
    isTTY: true,
    columns: 100,
    write: (s: string) => {
      err += s;
      if (!interrupted && s.includes('%')) {
        interrupted = true;
        process.emit('SIGINT');
      }
      return true;
    },
  } as unknown as NodeJS.WriteStream;
  const stdout = { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;
  const code = await runCli(['index', file, '--cache-dir', cacheDir], { stdout, stderr, env: {} });
  assert.ok(interrupted, 'a progress line was drawn');
  assert.equal(code, 130, err);
  assert.match(err, /cancelled/);
  assert.deepEqual(fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir) : [], []);
  assert.equal(process.listenerCount('SIGINT'), 0, 'handler removed');
  fs.rmSync(dir, { recursive: true, force: true });
});
