// The session side cache round-trips exactly and is refused (recomputed) when damaged or stale.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryIndexedTrace } from '../index/indexed-trace.ts';
import { openIndexed } from '../index/open.ts';
import { readSideCache, sideCachePath, writeSideCache } from './session-cache.ts';
import { prepareSession } from './session-data.ts';

const FIXTURE = fileURLToPath(new URL('../../formats/ftrace-text/testdata/tracefs-schedmix.txt', import.meta.url));

test('write then read gives the same session data; a flipped byte or another trace is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vcpuscope-side-'));
  const t = await openIndexed(FIXTURE, { cacheDir: dir });
  const cols = t.readRows(0, t.rowCount);
  t.close();
  const tr = Object.assign(new MemoryIndexedTrace(FIXTURE, cols, t.summary, t.info, 30), { arrowPath: join(dir, 'x.arrow') });
  const path = sideCachePath(tr)!;
  assert.ok(path.startsWith(dir));
  const d = await prepareSession([tr], { cancelled: false }, () => undefined);
  assert.ok(d.lanes.length > 0 && d.migrations.tsNs.length > 0);
  writeSideCache(path, d);
  const back = readSideCache(path, tr);
  assert.ok(back);
  assert.deepEqual(back.lanes, d.lanes);
  assert.deepEqual(back.threads, d.threads);
  assert.deepEqual(back.batches[0]!.tidBits, d.batches[0]!.tidBits);
  assert.deepEqual(back.migrations.tsNs, d.migrations.tsNs);
  assert.equal(back.startNs, d.startNs);

  const bytes = readFileSync(path);
  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 3]! ^= 0x40;
  writeFileSync(path, flipped);
  assert.equal(readSideCache(path, tr), null);
  writeFileSync(path, bytes.subarray(0, bytes.length - 8));
  assert.equal(readSideCache(path, tr), null);
  writeFileSync(path, bytes);
  const other = Object.assign(new MemoryIndexedTrace(FIXTURE, t.readRows(0, 0), t.summary, t.info, 30), { arrowPath: join(dir, 'x.arrow') });
  assert.equal(readSideCache(path, other), null);
  assert.ok(readSideCache(path, tr));
  // Header fields with wrong types or ranges (not covered by the arrays' checksum) are refused,
  // never thrown: the load recomputes.
  const jsonLen = bytes.readUInt32LE(0);
  const header = JSON.parse(bytes.subarray(8, 8 + jsonLen).toString('utf8')) as Record<string, unknown>;
  for (const [field, value] of [['migrations', -1], ['migrations', 1e12], ['threads', [[1, 'x']]], ['lanes', [{ cpu: -3, n: 1, endNs: 0 }]], ['startNs', 'now']] as const) {
    const h = Buffer.from(JSON.stringify({ ...header, [field]: value }), 'utf8');
    const len = Buffer.alloc(8);
    len.writeUInt32LE(h.length, 0);
    const pad = Buffer.alloc((8 - ((8 + h.length) % 8)) % 8);
    writeFileSync(path, Buffer.concat([len, h, pad, bytes.subarray(8 + jsonLen + ((8 - ((8 + jsonLen) % 8)) % 8))]));
    assert.equal(readSideCache(path, tr), null, `${field} = ${JSON.stringify(value)}`);
  }
});
