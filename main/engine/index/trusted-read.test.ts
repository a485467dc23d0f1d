// ArrowCacheTrace.trusted: the trace an indexing open returns reads its batches without checking
// their checksums again (they were computed from the columns this process just wrote); an entry
// opened from the cache is never trusted: a damaged batch is still refused there.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openIndexed, CacheCorruptError, type OpenOptions } from './open.ts';
import { encodeTestTrace, type TestRecord } from './test-format.ts';
import type { ArrowCacheTrace } from './cached-trace.ts';
import { EVENT_COLUMNS } from '../../../shared/schema.ts';

const FORMAT_URL = new URL('./test-format.ts', import.meta.url).href;
const tmpDirs: string[] = [];
after(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

function setup(): { file: string; opts: OpenOptions } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-trusted-test-'));
  tmpDirs.push(dir);
  const records: TestRecord[] = [];
  for (let i = 0; i < 2500; i++) records.push({ ts: 1000 + i * 7, cpu: i % 3, kind: i % 5 === 0 ? 1 : 0, tid: 100 + (i % 17), pid: 100 + (i % 17), comm: `c${i % 4}`, event: 'evA' });
  const file = path.join(dir, 'trusted.bin');
  fs.writeFileSync(file, encodeTestTrace(records, { order: 'concat', unitRecords: 700 }));
  return { file, opts: { formatModuleUrl: FORMAT_URL, inlineBelowBytes: 0, workers: 0, batchRows: 1000, cacheDir: path.join(dir, 'cache') } };
}

test('the indexing open is trusted and reads the same rows as the cached entry; a cache hit is not trusted', async () => {
  const { file, opts } = setup();
  const fresh = (await openIndexed(file, opts)) as ArrowCacheTrace;
  assert.equal(fresh.fromCache, false);
  assert.equal(fresh.trusted, true);
  const cached = (await openIndexed(file, opts)) as ArrowCacheTrace;
  assert.equal(cached.fromCache, true);
  assert.equal(cached.trusted, false);
  assert.equal(fresh.batchCount, 3);
  for (let b = 0; b < fresh.batchCount; b++) {
    const x = fresh.readBatchBorrow(b);
    const y = cached.readBatch(b);
    assert.equal(x.length, y.length);
    for (const spec of EVENT_COLUMNS) assert.deepEqual(Array.from((x as unknown as Record<string, ArrayLike<number>>)[spec.name]!), Array.from((y as unknown as Record<string, ArrayLike<number>>)[spec.name]!), `batch ${b} ${spec.name}`);
  }
  fresh.close();
  cached.close();
});

test('a damaged batch is still refused when the entry is opened from the cache', async () => {
  const { file, opts } = setup();
  const fresh = (await openIndexed(file, opts)) as ArrowCacheTrace;
  const arrowPath = fresh.arrowPath;
  // a byte in the middle of the last batch's values
  const at = Math.floor(fs.statSync(arrowPath).size * 0.8);
  fresh.close();
  const bytes = fs.readFileSync(arrowPath);
  bytes[at]! ^= 0x01;
  fs.writeFileSync(arrowPath, bytes);
  const t = (await openIndexed(file, opts)) as ArrowCacheTrace;
  assert.equal(t.trusted, false);
  assert.throws(() => {
    for (let b = 0; b < t.batchCount; b++) t.readBatchBorrow(b);
  }, CacheCorruptError);
  t.close();
});

test('readBatchColumns: the named columns as readBatch reads them, the others empty; null while a batch still needs its checksum check', async () => {
  const { file, opts } = setup();
  const fresh = (await openIndexed(file, opts)) as ArrowCacheTrace;
  const ref = (await openIndexed(file, opts)) as ArrowCacheTrace;
  const names = ['ts', 'tid', 'prevState', 'kind'] as const;
  const same = (c: EventColumnsLike, b: number, what: string): void => {
    const r = ref.readBatch(b) as unknown as EventColumnsLike;
    assert.equal(c.length, r.length);
    for (const spec of EVENT_COLUMNS) {
      const got = Array.from(c[spec.name] as ArrayLike<number>);
      if ((names as readonly string[]).includes(spec.name)) assert.deepEqual(got, Array.from(r[spec.name] as ArrayLike<number>), `${what}: batch ${b} ${spec.name}`);
      else assert.equal(got.length, 0, `${what}: batch ${b} ${spec.name} not read`);
    }
  };
  for (let b = 0; b < fresh.batchCount; b++) {
    const c = fresh.readBatchColumns(b, names);
    assert.ok(c, `batch ${b}: a trusted trace reads by columns`);
    same(c as unknown as EventColumnsLike, b, 'trusted');
  }
  const cached = (await openIndexed(file, opts)) as ArrowCacheTrace;
  for (let b = 0; b < cached.batchCount; b++) assert.equal(cached.readBatchColumns(b, names), null, `batch ${b} not checked yet in this open`);
  cached.readBatchBorrow(1);
  const c1 = cached.readBatchColumns(1, names);
  assert.ok(c1, 'batch 1 checked by the whole read: by columns now');
  same(c1 as unknown as EventColumnsLike, 1, 'checked');
  assert.equal(cached.readBatchColumns(2, names), null);
  for (const t of [fresh, ref, cached]) t.close();
});

type EventColumnsLike = { length: number } & Record<string, unknown>;
