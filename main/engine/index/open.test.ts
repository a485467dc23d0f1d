// The index pipeline end to end on the test-only record format (test-format.ts): worker ingest in
// unit order and merged by time, string remapping, batch boundaries, the cache (hit without parsing,
// invalidation, corruption, cancellation, concurrent writers, unwritable folder) and bad input.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { tableFromIPC } from 'apache-arrow';
import { openIndexed, OpenError, CancelledError, CacheCorruptError, type CacheEvent, type OpenOptions } from './open.ts';
import { encodeTestTrace, testFormatStats, type TestRecord } from './test-format.ts';
import type { IndexedTrace } from './indexed-trace.ts';
import { ArrowCacheTrace } from './cached-trace.ts';
import { cacheWriteFaults } from './arrow-cache.ts';
import { entryKey, lookupEntry, sourceIdentity } from './cache-store.ts';
import { ingest } from './ingest.ts';
import { DiagnosticCollector } from './diagnostics.ts';
import { FileSource } from '../io/byte-source.ts';
import { format as testFormat } from './test-format.ts';

const FORMAT_URL = new URL('./test-format.ts', import.meta.url).href;

const tmpDirs: string[] = [];
after(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-index-test-'));
  tmpDirs.push(d);
  return d;
}

/** Records in units of `unitRecords`; every unit uses its own comm names so local ids differ per unit. */
function makeRecords(n: number, unitRecords: number, tsOf: (i: number) => number): TestRecord[] {
  const out: TestRecord[] = [];
  for (let i = 0; i < n; i++) {
    const unit = Math.floor(i / unitRecords);
    out.push({
      ts: tsOf(i),
      cpu: i % 3,
      kind: i % 5 === 0 ? 1 : 0,
      tid: 100 + (i % 17),
      pid: 100 + (i % 17),
      // Per unit a different first-seen order of the same names, plus a name only this unit has.
      comm: i % 4 === 3 ? `u${unit}` : `c${(i + unit) % 3}`,
      event: i % 7 === 0 ? 'evA' : i % 7 === 1 ? `e${unit % 4}` : 'evB',
    });
  }
  return out;
}

function writeTrace(dir: string, name: string, records: TestRecord[], order: 'concat' | 'merge-by-time' | 'merge-with-bounds', unitRecords: number): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, encodeTestTrace(records, { order, unitRecords }));
  return p;
}

/** Rows as comparable tuples with the strings resolved (so remapping mistakes show). */
function rowsOf(t: IndexedTrace): string[] {
  const c = t.readRows(0, t.rowCount);
  const out: string[] = [];
  for (let i = 0; i < c.length; i++) {
    out.push(`${c.ts[i]} ${c.cpu[i]} ${c.tid[i]} ${c.comms[c.comm[i]!]} ${c.prevComm[i]! >= 0 ? c.comms[c.prevComm[i]!] : '-'} ${c.events[c.event[i]!]} ${c.offset[i]}`);
  }
  return out;
}

function expectRows(records: TestRecord[], order: number[]): string[] {
  return order.map((i) => {
    const r = records[i]!;
    const prev = r.kind === 1 ? r.comm : '-';
    return `${r.ts} ${r.cpu} ${r.tid} ${r.comm} ${prev} ${r.event} ${16 + i * 40}`;
  });
}

const base = (extra: OpenOptions = {}): OpenOptions => ({ formatModuleUrl: FORMAT_URL, inlineBelowBytes: 0, workers: 2, batchRows: 1000, ...extra });

test('concat: workers keep unit order, remap strings per unit, readRows crosses batches, cache reads it back', async () => {
  const dir = tmpDir();
  const cacheDir = path.join(dir, 'cache');
  const records = makeRecords(5300, 700, (i) => 1000 + i * 10);
  const file = writeTrace(dir, 'concat.bin', records, 'concat', 700);
  const t = await openIndexed(file, base({ cacheDir }));
  const want = expectRows(records, records.map((_, i) => i));
  assert.equal(t.rowCount, 5300);
  assert.equal(t.batchCount, 6);
  assert.deepEqual(rowsOf(t), want);
  // A window that straddles two batch boundaries.
  const w = t.readRows(990, 1020);
  assert.equal(w.length, 1020);
  assert.equal(w.ts[0], records[990]!.ts);
  assert.equal(w.ts[1019], records[2009]!.ts);
  assert.equal(t.summary.events, 5300);
  assert.equal(t.summary.byEvent.evA, records.filter((r) => r.event === 'evA').length);
  assert.deepEqual(t.summary.cpus, [0, 1, 2]);
  t.close();
  // Same rows from the cache, and the Arrow file is a plain Arrow IPC file.
  const plans = testFormatStats.plans;
  const t2 = await openIndexed(file, base({ cacheDir }));
  assert.equal(testFormatStats.plans, plans, 'a cache hit must not parse');
  assert.ok(t2 instanceof ArrowCacheTrace && t2.fromCache);
  assert.deepEqual(rowsOf(t2), want);
  const table = tableFromIPC(fs.readFileSync((t2 as ArrowCacheTrace).arrowPath));
  assert.equal(table.numRows, 5300);
  assert.equal(table.getChild('ts')!.get(4321), records[4321]!.ts);
  t2.close();
});

test('merge-by-time: per-unit sorted runs are merged by time, ties in unit order', async () => {
  const dir = tmpDir();
  // 4 units of 900 records, each sorted; units overlap in time and share timestamps (ties).
  const unitRecords = 900;
  const records = makeRecords(3600, unitRecords, (i) => {
    const u = Math.floor(i / unitRecords);
    const k = i % unitRecords;
    return 5000 + Math.floor(k * (u + 1) * 0.7) * 3;
  });
  const file = writeTrace(dir, 'merge.bin', records, 'merge-by-time', unitRecords);
  const t = await openIndexed(file, base({ cacheDir: path.join(dir, 'cache') }));
  const order = records.map((_, i) => i).sort((a, b) => records[a]!.ts - records[b]!.ts || a - b);
  assert.deepEqual(rowsOf(t), expectRows(records, order));
  assert.equal(t.summary.sorted, true);
  t.close();
});

test('inline ingest (small input) gives the same rows as the worker pool', async () => {
  const dir = tmpDir();
  const records = makeRecords(2500, 300, (i) => i * 2);
  const file = writeTrace(dir, 'inline.bin', records, 'merge-by-time', 300);
  const a = await openIndexed(file, base({ workers: 0 }));
  const b = await openIndexed(file, base({}));
  assert.deepEqual(rowsOf(a), rowsOf(b));
  assert.equal(a.rowCount, 2500);
});

test('a changed input (content at equal size and mtime, or size) is re-indexed', async () => {
  const dir = tmpDir();
  const cacheDir = path.join(dir, 'cache');
  const records = makeRecords(500, 200, (i) => i);
  const file = writeTrace(dir, 'change.bin', records, 'concat', 200);
  const opts = base({ cacheDir, workers: 0 });
  (await openIndexed(file, opts)).close();
  const st = fs.statSync(file);
  records[0] = { ...records[0]!, tid: 4242 };
  fs.writeFileSync(file, encodeTestTrace(records, { order: 'concat', unitRecords: 200 }));
  fs.utimesSync(file, st.atime, st.mtime); // same size and mtime: only the head hash differs
  const events: CacheEvent[] = [];
  const t = await openIndexed(file, { ...opts, onCache: (e) => events.push(e) });
  assert.deepEqual(events.map((e) => e.kind), ['miss', 'written']);
  assert.equal(t.readRows(0, 1).tid[0], 4242);
  records.push({ ts: 9999, cpu: 0, tid: 1, comm: 'late', event: 'evX' });
  fs.writeFileSync(file, encodeTestTrace(records, { order: 'concat', unitRecords: 200 }));
  const t2 = await openIndexed(file, opts);
  assert.equal(t2.rowCount, 501);
  assert.ok(!(t2 as ArrowCacheTrace).fromCache);
});

test('a damaged cache is never trusted: bad meta, truncated events, flipped body byte', async () => {
  const dir = tmpDir();
  const cacheDir = path.join(dir, 'cache');
  const records = makeRecords(3000, 1000, (i) => i);
  const file = writeTrace(dir, 'corrupt.bin', records, 'concat', 1000);
  const opts = base({ cacheDir, workers: 0 });
  const first = (await openIndexed(file, opts)) as ArrowCacheTrace;
  const want = rowsOf(first);
  first.close();
  const metaFile = fs.readdirSync(cacheDir).find((n) => n.endsWith('.meta.json'))!;
  const kinds = async (): Promise<string[]> => {
    const ev: CacheEvent[] = [];
    const t = await openIndexed(file, { ...opts, onCache: (e) => ev.push(e) });
    assert.deepEqual(rowsOf(t), want);
    t.close();
    return ev.map((e) => (e.kind === 'miss' ? `miss:${e.reason}` : e.kind));
  };
  // 1. meta edited (checksum no longer matches)
  const mp = path.join(cacheDir, metaFile);
  fs.writeFileSync(mp, fs.readFileSync(mp, 'utf8').replace('"rowCount":3000', '"rowCount":3001'));
  assert.deepEqual(await kinds(), ['miss:cache meta is damaged (checksum)', 'written']);
  // 2. events file truncated
  // The events file the current meta points at (a replaced entry's file may linger as an orphan).
  const arrow = (): string => {
    const text = fs.readFileSync(path.join(cacheDir, fs.readdirSync(cacheDir).find((n) => n.endsWith('.meta.json'))!), 'utf8');
    return path.join(cacheDir, (JSON.parse(text) as { body: { arrowFile: string } }).body.arrowFile);
  };
  fs.truncateSync(arrow(), fs.statSync(arrow()).size - 100);
  const k2 = await kinds();
  assert.match(k2[0]!, /^miss:cache events file has \d+ bytes/);
  assert.equal(k2[1], 'written');
  // 3. one byte flipped inside a batch body: detected on read, entry dropped, next open rebuilds.
  const a = arrow();
  const bytes = fs.readFileSync(a);
  bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
  fs.writeFileSync(a, bytes);
  const t = await openIndexed(file, opts);
  assert.ok((t as ArrowCacheTrace).fromCache);
  assert.throws(() => t.readRows(0, t.rowCount), CacheCorruptError);
  t.close();
  assert.deepEqual(await kinds(), ['miss:no cache entry', 'written']);
});

test('cancelling leaves no cache entry and no temp files', async () => {
  const dir = tmpDir();
  const cacheDir = path.join(dir, 'cache');
  const records = makeRecords(20000, 2000, (i) => i);
  const file = writeTrace(dir, 'cancel.bin', records, 'concat', 2000);
  for (const workers of [0, 2]) {
    const signal = { cancelled: false };
    await assert.rejects(
      openIndexed(file, base({ cacheDir, workers, signal, onProgress: () => (signal.cancelled = true) })),
      CancelledError,
    );
    assert.deepEqual(fs.readdirSync(cacheDir), [], `workers=${workers}`);
  }
});

test('bad input: the error names the file and byte offset; an unwritable cache folder still opens', async () => {
  const dir = tmpDir();
  const records = makeRecords(3000, 1000, (i) => i);
  records[1500] = { ...records[1500]!, corrupt: true };
  const file = writeTrace(dir, 'bad.bin', records, 'concat', 1000);
  await assert.rejects(openIndexed(file, base({ cacheDir: path.join(dir, 'c') })), (e: unknown) => {
    assert.ok(e instanceof OpenError);
    assert.equal(e.offsetBytes, 16 + 1500 * 40);
    assert.match(e.message, /bad\.bin: byte offset 60016: corrupt record/);
    return true;
  });
  assert.deepEqual(fs.readdirSync(path.join(dir, 'c')), []);
  await assert.rejects(openIndexed(path.join(dir, 'missing.bin'), base()), /missing\.bin: cannot open/);
  const good = writeTrace(dir, 'good.bin', makeRecords(100, 50, (i) => i), 'concat', 50);
  const notADir = path.join(dir, 'plain-file');
  fs.writeFileSync(notADir, 'x');
  const ev: CacheEvent[] = [];
  const t = await openIndexed(good, base({ cacheDir: notADir, workers: 0, onCache: (e) => ev.push(e) }));
  assert.equal(t.rowCount, 100);
  assert.deepEqual(ev.map((e) => e.kind), ['miss', 'unavailable']);
});

test('two processes indexing the same file at once both succeed and leave a valid cache', async () => {
  const dir = tmpDir();
  const cacheDir = path.join(dir, 'cache');
  const records = makeRecords(60000, 6000, (i) => i * 3);
  const file = writeTrace(dir, 'race.bin', records, 'concat', 6000);
  const openUrl = new URL('./open.ts', import.meta.url).href;
  const script = `import { openIndexed } from ${JSON.stringify(openUrl)};
const t = await openIndexed(${JSON.stringify(file)}, { cacheDir: ${JSON.stringify(cacheDir)}, formatModuleUrl: ${JSON.stringify(FORMAT_URL)}, workers: 0 });
const c = t.readRows(0, t.rowCount); let s = 0; for (let i = 0; i < c.length; i++) s += c.ts[i];
console.log(JSON.stringify({ rows: t.rowCount, sum: s }));`;
  const runChild = () =>
    new Promise<string>((resolve, reject) => {
      const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let errText = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr.on('data', (d: Buffer) => (errText += d.toString()));
      p.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`child exit ${code}: ${errText}`))));
    });
  const [a, b] = await Promise.all([runChild(), runChild()]);
  const expected = JSON.stringify({ rows: 60000, sum: records.reduce((s, r) => s + r.ts, 0) });
  assert.equal(a, expected);
  assert.equal(b, expected);
  const ev: CacheEvent[] = [];
  const t = await openIndexed(file, base({ cacheDir, workers: 0, onCache: (e) => ev.push(e) }));
  assert.deepEqual(ev.map((e) => e.kind), ['hit']);
  assert.equal(t.rowCount, 60000);
  assert.equal(t.readRows(59999, 1).ts[0], records[59999]!.ts);
  const names = fs.readdirSync(cacheDir);
  assert.equal(names.filter((n) => n.endsWith('.tmp')).length, 0, names.join(','));
});

test('disk full while writing the cache: a clear warning, no cache left, the trace opens in memory', async () => {
  const dir = tmpDir();
  const cacheDir = path.join(dir, 'cache');
  const records = makeRecords(5000, 1000, (i) => i * 7);
  const file = writeTrace(dir, 'full.bin', records, 'concat', 1000);
  const ev: CacheEvent[] = [];
  cacheWriteFaults.failAfterBytes = 100_000;
  let t: IndexedTrace;
  try {
    t = await openIndexed(file, base({ cacheDir, onCache: (e) => ev.push(e) }));
  } finally {
    cacheWriteFaults.failAfterBytes = -1;
  }
  assert.deepEqual(ev.map((e) => e.kind), ['miss', 'unavailable']);
  assert.match((ev[1] as { reason: string }).reason, /ENOSPC/);
  assert.deepEqual(rowsOf(t), expectRows(records, records.map((_, i) => i)));
  assert.deepEqual(fs.readdirSync(cacheDir), []);
});

test('a file that changes while it is read is reported, and no cache is committed', async () => {
  const dir = tmpDir();
  const cacheDir = path.join(dir, 'cache');
  const records = makeRecords(4000, 500, (i) => i);
  const file = writeTrace(dir, 'growing.bin', records, 'concat', 500);
  let appended = false;
  const onProgress = (): void => {
    if (appended) return;
    appended = true;
    fs.appendFileSync(file, encodeTestTrace([{ ts: 1e9, cpu: 0, tid: 1, comm: 'x', event: 'y' }], { order: 'concat', unitRecords: 1 }).subarray(16));
  };
  await assert.rejects(openIndexed(file, base({ cacheDir, workers: 0, onProgress })), /growing\.bin: the file changed while it was being read/);
  assert.deepEqual(fs.readdirSync(cacheDir), []);
});

test('killing an indexing process at random points leaves the previous valid cache or none', async () => {
  const dir = tmpDir();
  const cacheDir = path.join(dir, 'cache');
  const records = makeRecords(200000, 20000, (i) => i);
  const file = writeTrace(dir, 'kill.bin', records, 'concat', 20000);
  const openUrl = new URL('./open.ts', import.meta.url).href;
  const script = `import { openIndexed } from ${JSON.stringify(openUrl)};
process.stdout.write('start\\n');
await openIndexed(${JSON.stringify(file)}, { cacheDir: ${JSON.stringify(cacheDir)}, formatModuleUrl: ${JSON.stringify(FORMAT_URL)}, workers: 0, rebuild: true, batchRows: 4096 });
process.stdout.write('done\\n');`;
  const key = entryKey(path.resolve(file), { formatId: `module:${FORMAT_URL}` });
  const id = sourceIdentity(file);
  let valid = 0;
  // Deterministic "random" delays after the child reports it started indexing.
  for (const delayMs of [10, 80, 200]) {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise((r) => child.once('exit', r));
    await Promise.race([new Promise<void>((resolve) => child.stdout.once('data', () => resolve())), exited]);
    await new Promise((r) => setTimeout(r, delayMs));
    child.kill('SIGKILL');
    await exited;
    const look = lookupEntry(cacheDir, key, id, { formatId: `module:${FORMAT_URL}` });
    if (look.meta) {
      valid++;
      const t = new ArrowCacheTrace(look.arrowPath, look.meta, { cacheDir, key, fromCache: true });
      const c = t.readRows(0, t.rowCount);
      assert.equal(c.length, 200000);
      assert.equal(c.ts[123456], records[123456]!.ts);
      t.close();
    } else assert.equal(look.reason, 'no cache entry');
  }
  // Whatever the kills left, an open now gives the right rows.
  const t = await openIndexed(file, base({ cacheDir, workers: 0, batchRows: 4096 }));
  assert.equal(t.rowCount, 200000);
  assert.equal(t.readRows(199999, 1).ts[0], records[199999]!.ts);
  void valid;
});

test('merge-by-time with unit lower bounds: units start in time order and memory stays bounded', async () => {
  const dir = tmpDir();
  // 4 CPUs x 6 parts of 500 records; plan order is cpu0 part1..6, cpu1 part1..6, ... (as trace.dat
  // plans per-CPU data); the CPUs interleave in time, with ties across CPUs.
  const cpus = 4;
  const parts = 6;
  const per = 500;
  const records: TestRecord[] = [];
  for (let c = 0; c < cpus; c++) {
    for (let k = 0; k < parts * per; k++) records.push({ ts: 1000 + k * 4 + (c % 2) * 2, cpu: c, tid: c * 10 + (k % 3), comm: `t${c}`, event: 'ev' });
  }
  const order = records.map((_, i) => i).sort((a, b) => records[a]!.ts - records[b]!.ts || a - b);
  const want = expectRows(records, order);
  const peaks: number[] = [];
  for (const mode of ['merge-by-time', 'merge-with-bounds'] as const) {
    const file = writeTrace(dir, `${mode}.bin`, records, mode, per);
    const t = await openIndexed(file, base({ batchRows: 777 }));
    assert.deepEqual(rowsOf(t), want, mode);
    const src = new FileSource(file);
    const diagnostics = new DiagnosticCollector(file);
    const plan = testFormat.plan(src, diagnostics, {});
    let rows = 0;
    const r = await ingest(src, { format: testFormat, plan, diagnostics, consumer: { batch: (_c, n) => (rows += n) }, workers: 0, batchRows: 777 });
    src.close();
    assert.equal(rows, records.length);
    assert.equal(diagnostics.total, 0);
    peaks.push(r.peakQueuedRows);
  }
  // Without bounds and a small memory budget, the waiting chunks go to the spill file instead.
  const file = path.join(dir, 'merge-by-time.bin');
  const src = new FileSource(file);
  const diagnostics = new DiagnosticCollector(file);
  const plan = testFormat.plan(src, diagnostics, {});
  const offsets: number[] = [];
  const r = await ingest(src, {
    format: testFormat,
    plan,
    diagnostics,
    consumer: { batch: (c, n) => offsets.push(...c.offset.subarray(0, n)) },
    workers: 0,
    batchRows: 777,
    spillAboveRows: 1200,
    spillDir: dir,
  });
  src.close();
  assert.deepEqual(offsets, order.map((i) => 16 + i * 40));
  assert.ok(r.spilledRows > records.length / 2, `spilled ${r.spilledRows}`);
  assert.ok(r.peakQueuedRows <= 1200 + per * cpus * parts / 6, `spill: peak ${r.peakQueuedRows}`);
  assert.deepEqual(fs.readdirSync(dir).filter((n) => n.includes('spill')), [], 'spill file removed');
  // Without bounds nothing can be merged before the last unit starts: ~all rows wait in memory.
  assert.ok(peaks[0]! >= records.length * 0.7, `no bounds: peak ${peaks[0]}`);
  // With bounds the merge drains as units arrive in time order: about one part per CPU waits.
  assert.ok(peaks[1]! <= per * (cpus + 1), `bounds: peak ${peaks[1]}`);
});

test('merge-by-time property: random units, ties, bounds, chunk sizes == stable sort by time', async () => {
  const dir = tmpDir();
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  for (let round = 0; round < 12; round++) {
    const nUnits = 1 + rand(9);
    const per = 1 + rand(300);
    const records: TestRecord[] = [];
    for (let u = 0; u < nUnits; u++) {
      let t = rand(50);
      for (let k = 0; k < per; k++) {
        t += rand(4); // steps of 0 make ties inside and across units
        records.push({ ts: t, cpu: u, tid: u, comm: `c${u}`, event: 'e' });
      }
    }
    const mode = round % 2 === 0 ? 'merge-by-time' : 'merge-with-bounds';
    const file = writeTrace(dir, `prop-${round}.bin`, records, mode, per);
    const src = new FileSource(file);
    const diagnostics = new DiagnosticCollector(file);
    const plan = testFormat.plan(src, diagnostics, {});
    const offsets: number[] = [];
    const batchRows = 1 + rand(200);
    await ingest(src, {
      format: testFormat,
      plan,
      diagnostics,
      consumer: { batch: (c, n) => offsets.push(...c.offset.subarray(0, n)) },
      workers: 0,
      batchRows,
      spillAboveRows: round % 3 === 0 ? 1 + rand(100) : undefined,
      spillDir: dir,
    });
    src.close();
    const order = records.map((_, i) => i).sort((a, b) => records[a]!.ts - records[b]!.ts || a - b);
    assert.deepEqual(offsets, order.map((i) => 16 + i * 40), `round ${round}: ${nUnits} units x ${per}, batch ${batchRows}, ${mode}`);
  }
});

test('side files of a replaced events file are swept with it (old enough), those of the current one stay', async () => {
  const dir = tmpDir();
  const cacheDir = path.join(dir, 'cache');
  const records = makeRecords(300, 100, (i) => i);
  const file = writeTrace(dir, 'side.bin', records, 'concat', 100);
  const opts = base({ cacheDir, workers: 0 });
  const first = (await openIndexed(file, opts)) as ArrowCacheTrace;
  const oldArrow = path.basename(first.arrowPath);
  first.close();
  const oldSide = path.join(cacheDir, `${oldArrow}.view-v1.bin`);
  fs.writeFileSync(oldSide, 'side');
  const old = new Date(Date.now() - 3600_000);
  fs.utimesSync(oldSide, old, old);
  // A new version of the trace replaces the entry; the next commit sweeps the old side file.
  records.push({ ts: 5000, cpu: 0, tid: 1, comm: 'late', event: 'evX' });
  fs.writeFileSync(file, encodeTestTrace(records, { order: 'concat', unitRecords: 100 }));
  const second = (await openIndexed(file, opts)) as ArrowCacheTrace;
  const curSide = path.join(cacheDir, `${path.basename(second.arrowPath)}.view-v1.bin`);
  fs.writeFileSync(curSide, 'side');
  fs.utimesSync(curSide, old, old);
  second.close();
  records.push({ ts: 6000, cpu: 0, tid: 1, comm: 'later', event: 'evX' });
  fs.writeFileSync(file, encodeTestTrace(records, { order: 'concat', unitRecords: 100 }));
  (await openIndexed(file, opts)).close();
  assert.ok(!fs.existsSync(oldSide), 'side file of a replaced events file is swept');
  // (A commit sweeps against the entry it replaces, so each generation goes one commit later.)
  records.push({ ts: 7000, cpu: 0, tid: 1, comm: 'latest', event: 'evX' });
  fs.writeFileSync(file, encodeTestTrace(records, { order: 'concat', unitRecords: 100 }));
  (await openIndexed(file, opts)).close();
  assert.ok(!fs.existsSync(curSide), 'and so is the one of the version after it');
  // The current entry's side file is kept.
  const live = (await openIndexed(file, opts)) as ArrowCacheTrace;
  live.close();
  assert.ok(live.fromCache);
  const liveSide = path.join(cacheDir, `${path.basename(live.arrowPath)}.view-v1.bin`);
  fs.writeFileSync(liveSide, 'side');
  fs.utimesSync(liveSide, old, old);
  (await openIndexed(file, { ...opts, rebuild: false })).close();
  assert.ok(fs.existsSync(liveSide));
});
