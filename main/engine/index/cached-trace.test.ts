// Page reads of a cached trace (ArrowCacheTrace.readBatchRows): the rows equal the whole-batch
// read, and a batch read only in part is still checksummed (later, whole): a damaged one
// invalidates the entry and its reads fail from then on.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openIndexed, CacheCorruptError, type CacheEvent, type OpenOptions } from './open.ts';
import { encodeTestTrace, type TestRecord } from './test-format.ts';
import { LAZY_VERIFY_DELAY_MS, type ArrowCacheTrace } from './cached-trace.ts';
import type { EventColumns } from './event-columns.ts';
import { EVENT_COLUMNS } from '../../../shared/schema.ts';

const FORMAT_URL = new URL('./test-format.ts', import.meta.url).href;
const tmpDirs: string[] = [];
after(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

function setup(): { file: string; opts: OpenOptions; cacheDir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-cached-trace-test-'));
  tmpDirs.push(dir);
  const records: TestRecord[] = [];
  for (let i = 0; i < 3500; i++) {
    records.push({ ts: 1000 + i * 7, cpu: i % 3, kind: i % 5 === 0 ? 1 : 0, tid: 100 + (i % 17), pid: 100 + (i % 17), comm: `c${i % 4}`, event: i % 7 === 0 ? 'evA' : 'evB' });
  }
  const file = path.join(dir, 'pages.bin');
  fs.writeFileSync(file, encodeTestTrace(records, { order: 'concat', unitRecords: 700 }));
  const cacheDir = path.join(dir, 'cache');
  return { file, cacheDir, opts: { formatModuleUrl: FORMAT_URL, inlineBelowBytes: 0, workers: 0, batchRows: 1000, cacheDir } };
}

function sameRows(a: EventColumns, aFrom: number, b: EventColumns, bFrom: number, n: number): void {
  for (const spec of EVENT_COLUMNS) {
    const x = (a as unknown as Record<string, ArrayLike<number>>)[spec.name]!;
    const y = (b as unknown as Record<string, ArrayLike<number>>)[spec.name]!;
    for (let k = 0; k < n; k++) assert.equal(x[aFrom + k], y[bFrom + k], `${spec.name} row ${k}`);
  }
}

/** File offset of batch i's `ts` values (read from the message header like readBatchRows does). */
function tsColumnAt(t: ArrowCacheTrace, i: number): number {
  return (t as unknown as { layout(i: number): Float64Array }).layout(i)[0]!;
}

test('page reads equal the whole batch (not cached, cached, clipped at the batch end)', async () => {
  const { file, opts } = setup();
  await openIndexed(file, opts).then((t) => t.close());
  const t = (await openIndexed(file, opts)) as ArrowCacheTrace;
  assert.ok(t.fromCache);
  assert.equal(t.batchCount, 4);
  const page = t.readBatchRows(2, 250, 100);
  assert.equal(page.length, 100);
  assert.equal(page.comms, t.comms);
  const all = t.readRows(0, t.rowCount);
  sameRows(page, 0, all, 2250, 100);
  // Clipped to the batch (the last batch has 500 rows).
  const tail = t.readBatchRows(3, 450, 100);
  assert.equal(tail.length, 50);
  sameRows(tail, 0, all, 3450, 50);
  // A batch now in the LRU answers from it.
  t.readBatch(1);
  sameRows(t.readBatchRows(1, 10, 20), 0, all, 1010, 20);
  assert.equal(t.verifySome(Infinity), 0);
  t.close();
});

test('a damaged batch read only in part is found by the later checksum: entry dropped, reads refused, rebuilt on the next open', async () => {
  const { file, opts } = setup();
  await openIndexed(file, opts).then((t) => t.close());
  let t = (await openIndexed(file, opts)) as ArrowCacheTrace;
  const at = tsColumnAt(t, 1) + 8 * 500 + 3; // a byte of row 1500's ts
  const arrowPath = t.arrowPath;
  t.close();
  const fd = fs.openSync(arrowPath, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, at);
  b[0]! ^= 0x5a;
  fs.writeSync(fd, b, 0, 1, at);
  fs.closeSync(fd);

  t = (await openIndexed(file, opts)) as ArrowCacheTrace;
  assert.ok(t.fromCache);
  // The page read itself does not checksum (that is the point)...
  const page = t.readBatchRows(1, 490, 20);
  assert.equal(page.length, 20);
  // ...the deferred check does, whole batch, and from then on the batch is refused.
  assert.equal(t.verifySome(Infinity), 0);
  assert.throws(() => t.readBatchRows(1, 0, 10), (e: unknown) => e instanceof CacheCorruptError && /damaged at byte offset \d+ \(batch 1: checksum mismatch\)/.test(e.message));
  assert.throws(() => t.readBatch(1), CacheCorruptError);
  // Other batches still read.
  assert.equal(t.readBatchRows(0, 0, 10).length, 10);
  t.close();
  const ev: CacheEvent[] = [];
  const t2 = await openIndexed(file, { ...opts, onCache: (e) => ev.push(e) });
  assert.deepEqual(ev.map((e) => (e.kind === 'miss' ? `miss:${e.reason}` : e.kind)), ['miss:no cache entry', 'written']);
  t2.close();
});

test('the deferred checksum runs by itself once page reads stop', async () => {
  const { file, opts } = setup();
  await openIndexed(file, opts).then((t) => t.close());
  let t = (await openIndexed(file, opts)) as ArrowCacheTrace;
  const at = tsColumnAt(t, 2) + 1;
  const arrowPath = t.arrowPath;
  t.close();
  const bytes = fs.readFileSync(arrowPath);
  bytes[at]! ^= 0x01;
  fs.writeFileSync(arrowPath, bytes);
  t = (await openIndexed(file, opts)) as ArrowCacheTrace;
  t.readBatchRows(2, 100, 10);
  t.readBatchRows(0, 100, 10);
  await new Promise((r) => setTimeout(r, LAZY_VERIFY_DELAY_MS * 3 + 200));
  assert.throws(() => t.readBatchRows(2, 100, 10), CacheCorruptError);
  assert.equal(t.readBatchRows(0, 100, 10).length, 10);
  t.close();
});

test('a damaged message header is refused at the page read', async () => {
  const { file, opts } = setup();
  await openIndexed(file, opts).then((t) => t.close());
  let t = (await openIndexed(file, opts)) as ArrowCacheTrace;
  const arrowPath = t.arrowPath;
  const meta = (t as unknown as { meta: { blocks: { offset: number }[] } }).meta;
  const at = meta.blocks[1]!.offset + 4; // metadata length
  t.close();
  const bytes = fs.readFileSync(arrowPath);
  bytes.writeInt32LE(0x7fffff00, at);
  fs.writeFileSync(arrowPath, bytes);
  t = (await openIndexed(file, opts)) as ArrowCacheTrace;
  assert.throws(() => t.readBatchRows(1, 0, 10), (e: unknown) => e instanceof CacheCorruptError && /batch 1: bad metadata length/.test(e.message));
  t.close();
});
