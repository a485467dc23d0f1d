// The session side cache round-trips exactly and is refused (recomputed) when damaged or stale.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryIndexedTrace } from '../index/indexed-trace.ts';
import { openIndexed } from '../index/open.ts';
import { buildSessionLod } from './lod.ts';
import { PREVIEW_BUCKETS, previewPath, readPreview, readSideCache, sideCachePath, wordSum, writePreview, writeSideCache } from './session-cache.ts';
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

test('preview: the coarse LOD levels round-trip with their dominant threads; stale or damaged is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vcpuscope-preview-'));
  const t = await openIndexed(FIXTURE, { cacheDir: dir });
  const d = await prepareSession([t], { cancelled: false }, () => undefined);
  const side = sideCachePath(t)!;
  const sum = writeSideCache(side, d);
  assert.equal(typeof sum, 'number');
  const lod = buildSessionLod(d);
  assert.ok(lod.lanes.some((l) => l && l.levels.length > 0));
  const pp = previewPath(side);
  assert.ok(writePreview(pp, d, lod, sum!));
  const back = readPreview(pp, t, sum!);
  assert.ok(back);
  assert.equal(back.data.rowCount, d.rowCount);
  assert.deepEqual([back.data.startNs, back.data.endNs], [d.startNs, d.endNs]);
  assert.deepEqual(back.data.threads, d.threads);
  assert.deepEqual(back.data.batches[0]!.cpuBits, d.batches[0]!.cpuBits);
  assert.deepEqual(back.data.batches[0]!.minTs, d.batches[0]!.minTs);
  assert.deepEqual(back.data.lanes.map((l) => [l.lane, l.cpu, l.endNs, l.startNs.length]), d.lanes.map((l) => [l.lane, l.cpu, l.endNs, 0]));
  assert.equal(back.data.preview, back.preview);
  d.lanes.forEach((L, i) => {
    const full = lod.lanes[i];
    const got = back.preview.lod.lanes[i];
    if (!full) return assert.equal(got, null);
    const keep = full.levels.filter((lv) => lv.n <= PREVIEW_BUCKETS);
    assert.equal(got!.levels.length, keep.length);
    assert.equal(got!.originNs, full.originNs);
    keep.forEach((lv, k) => {
      const g = got!.levels[k]!;
      assert.deepEqual([g.width, g.n], [lv.width, lv.n]);
      assert.deepEqual(g.busy, lv.busy);
      assert.deepEqual(g.starts, lv.starts);
      assert.deepEqual(g.domNs, lv.domNs);
      const P = back.preview.lanes[i]!;
      for (let j = 0; j < lv.n; j++) {
        const r = lv.domRun[j]!;
        if (r < 0) assert.equal(g.domRun[j], -1);
        else assert.deepEqual([P.tid[g.domRun[j]!], P.comm[g.domRun[j]!]], [L.tid[r], L.comm[r]]);
      }
    });
  });
  // another side file (checksum), a flipped byte, a cut file: refused
  assert.equal(readPreview(pp, t, (sum! + 1) >>> 0), null);
  const bytes = readFileSync(pp);
  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 7]! ^= 0x02;
  writeFileSync(pp, flipped);
  assert.equal(readPreview(pp, t, sum!), null);
  writeFileSync(pp, bytes.subarray(0, bytes.length - 8));
  assert.equal(readPreview(pp, t, sum!), null);
  writeFileSync(pp, bytes);
  assert.ok(readPreview(pp, t, sum!));
  t.close();
});

test('the checksum equals its formula (sum of word i times 1 + (i & 7) per array, mod 2^32) for any lengths and offsets', () => {
  const reference = (parts: ArrayBufferView[]): number => {
    let s = 0;
    for (const p of parts) {
      const u = new Uint32Array(p.buffer, p.byteOffset, Math.floor(p.byteLength / 4));
      for (let i = 0; i < u.length; i++) s = (s + u[i]! * (1 + (i & 7))) >>> 0;
    }
    return s;
  };
  let seed = 12345;
  const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  const buf = new Uint32Array(10000);
  for (let i = 0; i < buf.length; i++) buf[i] = i % 3 === 0 ? 0xffffffff - (rnd() & 0xff) : rnd();
  for (const lens of [[0], [1], [7], [8], [9], [1000, 3, 17], [4096, 4095]]) {
    let off = 0;
    const parts: ArrayBufferView[] = lens.map((n) => {
      const v = new Uint32Array(buf.buffer, off * 4, n);
      off += n + 1;
      return v;
    });
    // a view whose byte length is not a multiple of 4 (the tail bytes do not count)
    parts.push(new Uint8Array(buf.buffer, 8, 23));
    assert.equal(wordSum(parts), reference(parts), `lengths ${lens.join(',')}`);
  }
});
