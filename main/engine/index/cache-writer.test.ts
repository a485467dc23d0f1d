// The cache file written from a writer thread (cache-writer.ts): same bytes as the writes on the
// calling thread; finish() returns only when every byte is in the file; errors of the thread (disk
// full, simulated inside the thread) and cancellation leave no cache and no temp file; the thread
// starts from a parent running with --input-type=module (the bench's and CLI child's situation).

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ArrowStreamFileWriter, cacheWriterConfig, cacheWriteFaults } from './arrow-cache.ts';
import { cacheWriterThreadFaults, SLOTS } from './cache-writer.ts';
import { openIndexed, CancelledError, type CacheEvent, type OpenOptions } from './open.ts';
import { encodeTestTrace, type TestRecord } from './test-format.ts';
import { allocEventColumns, type EventColumns } from './event-columns.ts';

const FORMAT_URL = new URL('./test-format.ts', import.meta.url).href;
const tmpDirs: string[] = [];
after(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-cache-writer-test-'));
  tmpDirs.push(d);
  return d;
}

function columns(n: number, seed: number): EventColumns {
  const c = allocEventColumns(n, { inputs: [], comms: [], events: [] });
  for (let i = 0; i < n; i++) {
    c.ts[i] = seed * 1e6 + i;
    c.cpu[i] = (i + seed) & 7;
    c.tid[i] = i * 31 + seed;
    c.arg0[i] = i ^ seed;
    c.offset[i] = i * 12 + seed;
  }
  return c;
}

/** Write `batches` batches (the same arrays refilled per batch, as the Rechunker does) and return the file. */
function writeFile(p: string, batches: number, rows: number, thread: boolean): { bytes: Buffer; size: number; used: boolean } {
  const fd = fs.openSync(p, 'w+');
  try {
    const w = new ArrowStreamFileWriter(fd, thread ? { path: p } : {});
    const c = columns(rows, 0);
    for (let b = 0; b < batches; b++) {
      const next = columns(rows, b + 1);
      for (const k of ['ts', 'cpu', 'tid', 'arg0', 'offset'] as const) (c[k] as Float64Array).set(next[k] as Float64Array);
      w.writeBatch(c, rows - (b % 3));
    }
    const size = w.finish();
    // finish() returned: every byte must be in the file already (the thread wrote it).
    return { bytes: fs.readFileSync(p), size, used: w.threadStats.used };
  } finally {
    fs.closeSync(fd);
  }
}

test('writes from the writer thread give the same file as writes on the calling thread, complete when finish() returns', () => {
  const dir = tmpDir();
  const saved = cacheWriterConfig.threadAfterBytes;
  cacheWriterConfig.threadAfterBytes = 100_000; // a few batches on this thread first, then the thread
  cacheWriterConfig.awaitThreadMs = 20_000; // the thread takes every batch from then on
  try {
    const batches = SLOTS * 3 + 1; // more than the slots in flight: back-pressure and slot reuse
    const a = writeFile(path.join(dir, 'sync.arrow'), batches, 5000, false);
    const b = writeFile(path.join(dir, 'thread.arrow'), batches, 5000, true);
    assert.equal(a.used, false);
    assert.equal(b.used, true);
    assert.equal(b.size, a.size);
    assert.equal(b.bytes.length, b.size);
    assert.ok(a.bytes.equals(b.bytes), 'file bytes differ');
  } finally {
    cacheWriterConfig.threadAfterBytes = saved;
    cacheWriterConfig.awaitThreadMs = 0;
  }
});

test('a writer thread that never starts costs nothing: every batch is written on the calling thread, same file', { timeout: 20_000 }, () => {
  const dir = tmpDir();
  const saved = cacheWriterConfig.threadAfterBytes;
  cacheWriterConfig.threadAfterBytes = 0;
  cacheWriterThreadFaults.neverReady = true;
  try {
    const a = writeFile(path.join(dir, 'sync.arrow'), 9, 5000, false);
    const b = writeFile(path.join(dir, 'never.arrow'), 9, 5000, true);
    assert.equal(b.used, false, 'nothing went through a thread that never said it was ready');
    assert.ok(a.bytes.equals(b.bytes), 'file bytes differ');
    // a bounded wait for it (what tests use) gives up and writes here too
    cacheWriterConfig.awaitThreadMs = 200;
    const c = writeFile(path.join(dir, 'never-waited.arrow'), 9, 5000, true);
    assert.equal(c.used, false);
    assert.ok(a.bytes.equals(c.bytes), 'file bytes differ after a bounded wait');
  } finally {
    cacheWriterConfig.threadAfterBytes = saved;
    cacheWriterConfig.awaitThreadMs = 0;
    cacheWriterThreadFaults.neverReady = false;
  }
});

function makeRecords(n: number): TestRecord[] {
  const out: TestRecord[] = [];
  for (let i = 0; i < n; i++) out.push({ ts: i * 3, cpu: i % 3, kind: i % 5 === 0 ? 1 : 0, tid: 100 + (i % 17), pid: 100 + (i % 17), comm: `c${i % 3}`, event: i % 7 === 0 ? 'evA' : 'evB' });
  return out;
}
const base = (extra: OpenOptions = {}): OpenOptions => ({ formatModuleUrl: FORMAT_URL, inlineBelowBytes: 0, workers: 2, batchRows: 1000, ...extra });

async function withThreadAlways<T>(f: () => Promise<T>): Promise<T> {
  const saved = cacheWriterConfig.threadAfterBytes;
  cacheWriterConfig.threadAfterBytes = 0;
  cacheWriterConfig.awaitThreadMs = 20_000;
  try {
    return await f();
  } finally {
    cacheWriterConfig.threadAfterBytes = saved;
    cacheWriterConfig.awaitThreadMs = 0;
  }
}

test('openIndexed with the writer thread: the entry is committed and reads back the same rows as without a cache', async () => {
  const dir = tmpDir();
  const cacheDir = path.join(dir, 'cache');
  const file = path.join(dir, 'ok.bin');
  const records = makeRecords(20000);
  fs.writeFileSync(file, encodeTestTrace(records, { order: 'concat', unitRecords: 2000 }));
  const ev: CacheEvent[] = [];
  const t = await withThreadAlways(() => openIndexed(file, base({ cacheDir, onCache: (e) => ev.push(e) })));
  assert.deepEqual(ev.map((e) => e.kind), ['miss', 'written']);
  const mem = await openIndexed(file, base({}));
  assert.equal(t.rowCount, 20000);
  const a = t.readRows(0, t.rowCount);
  const b = mem.readRows(0, mem.rowCount);
  assert.deepEqual(Array.from(a.ts), Array.from(b.ts));
  assert.deepEqual(Array.from(a.tid), Array.from(b.tid));
  t.close();
  mem.close();
  // A fresh open validates the committed file (size, magics, every batch checksum on read).
  const ev2: CacheEvent[] = [];
  const again = await openIndexed(file, base({ cacheDir, onCache: (e) => ev2.push(e) }));
  assert.deepEqual(ev2.map((e) => e.kind), ['hit']);
  assert.deepEqual(Array.from(again.readRows(0, again.rowCount).ts), Array.from(b.ts));
  again.close();
  assert.deepEqual(fs.readdirSync(cacheDir).filter((n) => n.endsWith('.tmp')), []);
});

test('disk full inside the writer thread: a clear warning, no cache left, the trace opens in memory', async () => {
  const dir = tmpDir();
  const cacheDir = path.join(dir, 'cache');
  const file = path.join(dir, 'full.bin');
  const records = makeRecords(20000);
  fs.writeFileSync(file, encodeTestTrace(records, { order: 'concat', unitRecords: 2000 }));
  for (const failAt of [0, 100_000]) {
    const ev: CacheEvent[] = [];
    cacheWriterThreadFaults.failAfterBytes = failAt;
    let t;
    try {
      t = await withThreadAlways(() => openIndexed(file, base({ cacheDir, onCache: (e) => ev.push(e) })));
    } finally {
      cacheWriterThreadFaults.failAfterBytes = -1;
    }
    assert.deepEqual(ev.map((e) => e.kind), ['miss', 'unavailable'], `failAt ${failAt}`);
    assert.match((ev[1] as { reason: string }).reason, /ENOSPC.*writer thread/);
    assert.equal(t.rowCount, 20000);
    assert.deepEqual(Array.from(t.readRows(0, 3).ts), [0, 3, 6]);
    t.close();
    assert.deepEqual(fs.readdirSync(cacheDir), [], `failAt ${failAt}`);
  }
  // The calling thread's own fault (before the bytes reach a slot) still gives the same outcome.
  const ev: CacheEvent[] = [];
  cacheWriteFaults.failAfterBytes = 100_000;
  try {
    const t = await withThreadAlways(() => openIndexed(file, base({ cacheDir, onCache: (e) => ev.push(e) })));
    t.close();
  } finally {
    cacheWriteFaults.failAfterBytes = -1;
  }
  assert.deepEqual(ev.map((e) => e.kind), ['miss', 'unavailable']);
  assert.deepEqual(fs.readdirSync(cacheDir), []);
});

test('cancelling while the writer thread writes leaves no cache entry and no temp files', async () => {
  const dir = tmpDir();
  const cacheDir = path.join(dir, 'cache');
  const file = path.join(dir, 'cancel.bin');
  fs.writeFileSync(file, encodeTestTrace(makeRecords(40000), { order: 'concat', unitRecords: 2000 }));
  for (const workers of [0, 2]) {
    const signal = { cancelled: false };
    let progress = 0;
    await assert.rejects(
      withThreadAlways(() => openIndexed(file, base({ cacheDir, workers, signal, onProgress: () => (signal.cancelled = ++progress > 5) }))),
      CancelledError,
    );
    assert.deepEqual(fs.readdirSync(cacheDir), [], `workers=${workers}`);
  }
});

test('the writer thread starts under a parent run with --input-type=module (does not inherit it)', () => {
  const dir = tmpDir();
  const p = path.join(dir, 'esm.arrow');
  const writer = new URL('./cache-writer.ts', import.meta.url).href;
  const script = `
const { CacheWriterThread } = await import(${JSON.stringify(writer)});
const fs = await import('node:fs');
fs.writeFileSync(${JSON.stringify(p)}, '');
const t = new CacheWriterThread(${JSON.stringify(p)});
if (!t.awaitReady(20000)) throw new Error('the writer thread did not start');
t.submit([new Uint8Array([1, 2, 3]), new Uint8Array([4, 5])], 5, 0);
t.drain();
t.close();
process.stdout.write(JSON.stringify([...fs.readFileSync(${JSON.stringify(p)})]));
`;
  const r = spawnSync(process.execPath, [...process.execArgv, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '[1,2,3,4,5]');
});
