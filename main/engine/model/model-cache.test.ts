// The derived-table cache: written once, read back equal, keyed by the inputs (a touched input or
// other options miss), and a corrupt file is rebuilt, never trusted.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { EventKind } from '../../../shared/schema.ts';
import { MemoryIndexedTrace } from '../index/indexed-trace.ts';
import { followThread } from '../query/follow.ts';
import { buildModelCached, buildModelCachedParallel, modelCacheKey } from './model-cache.ts';
import { TraceBuilder } from './test-traces.ts';

function traces(dir: string): { host: MemoryIndexedTrace; guest: MemoryIndexedTrace } {
  // the cache keys on real files: write placeholders for the in-memory traces' paths
  const hp = path.join(dir, 'host.txt');
  const gp = path.join(dir, 'guest.txt');
  if (!fs.existsSync(hp)) fs.writeFileSync(hp, 'h');
  if (!fs.existsSync(gp)) fs.writeFileSync(gp, 'g');
  const h = new TraceBuilder(hp);
  h.event(EventKind.fork, 'sched_process_fork', 0, 0, 100, 101, 'qemu-system-x86', -1, 100);
  h.switch(0, 0, 0, 'swapper/0', 101, 'CPU 0/KVM').switch(100, 0, 101, 'CPU 0/KVM', 0, 'swapper/0');
  h.switch(150, 1, 0, 'swapper/1', 101, 'CPU 0/KVM').switch(300, 1, 101, 'CPU 0/KVM', 0, 'swapper/1');
  const g = new TraceBuilder(gp);
  g.switch(50, 0, 0, 'swapper/0', 7, 'worker').switch(250, 0, 7, 'worker', 0, 'swapper/0');
  return { host: h.build(), guest: g.build() };
}

test('model cache: written, then read back equal; keyed by inputs and options; corrupt -> rebuilt', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-model-cache-'));
  try {
    const cacheDir = path.join(dir, 'cache');
    const { host, guest } = traces(dir);
    const inputs = [{ trace: host }, { trace: guest }];
    const opts = { guestOffsetNs: 0 };
    const a = buildModelCached(inputs, opts, cacheDir);
    assert.equal(a.cache, 'written');
    const b = buildModelCached(inputs, opts, cacheDir);
    assert.equal(b.cache, 'hit');
    const fa = followThread(a.model, { tid: 7 })!;
    const fb = followThread(b.model, { tid: 7 })!;
    assert.deepEqual(fb, fa);
    assert.deepEqual(Array.from(fb.segments.core), [0, -1, 1]);
    assert.deepEqual(b.model.vms[0]!.alignment, a.model.vms[0]!.alignment);
    assert.ok(Number.isNaN(b.model.vcpus.guestModeNs[0]!));
    // other options: another key
    assert.notEqual(modelCacheKey(inputs, { guestOffsetNs: 5 }), modelCacheKey(inputs, opts));
    // a changed input file: another key
    const k0 = modelCacheKey(inputs, opts);
    fs.appendFileSync(host.path, 'x');
    assert.notEqual(modelCacheKey(inputs, opts), k0);
    assert.equal(buildModelCached(inputs, opts, cacheDir).cache, 'written');
    // corrupt every cache file: rebuilt, same answers
    for (const f of fs.readdirSync(cacheDir)) {
      const p = path.join(cacheDir, f);
      const buf = fs.readFileSync(p);
      buf.fill(0x7b, 20, Math.min(buf.length, 400));
      fs.writeFileSync(p, buf.subarray(0, buf.length - 3));
    }
    const c = buildModelCached(inputs, opts, cacheDir);
    assert.equal(c.cache, 'written');
    assert.deepEqual(followThread(c.model, { tid: 7 }), fa);
    // in-memory traces without a file: no cache
    const mem = new MemoryIndexedTrace('no/such/file', guest.readRows(0, 10), guest.summary, guest.info);
    assert.equal(modelCacheKey([{ trace: host }, { trace: mem }], opts), null);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('model cache: an in-place edit keeping size and mtime misses; a non-ASCII folder hits; a flipped byte is caught', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-model-cache-ü-'));
  try {
    const cacheDir = path.join(dir, 'cäche');
    const { host, guest } = traces(dir);
    const inputs = [{ trace: host }, { trace: guest }];
    const opts = { guestOffsetNs: 0 };
    assert.equal(buildModelCached(inputs, opts, cacheDir).cache, 'written');
    assert.equal(buildModelCached(inputs, opts, cacheDir).cache, 'hit');
    // Same size, same mtime, other content: the key changes.
    const k0 = modelCacheKey(inputs, opts);
    const st = fs.statSync(guest.path);
    fs.writeFileSync(guest.path, 'G');
    fs.utimesSync(guest.path, st.atime, st.mtime);
    assert.notEqual(modelCacheKey(inputs, opts), k0);
    assert.equal(buildModelCached(inputs, opts, cacheDir).cache, 'written');
    // One flipped bit anywhere in the file (here in the arrays, past the JSON header) is caught.
    for (const f of fs.readdirSync(cacheDir)) {
      const p = path.join(cacheDir, f);
      const buf = fs.readFileSync(p);
      buf[buf.length - 100]! ^= 1;
      fs.writeFileSync(p, buf);
    }
    assert.equal(buildModelCached(inputs, opts, cacheDir).cache, 'written');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('model cache: the parallel build writes under the same key (the thread options are not part of it)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-model-cache-'));
  try {
    const cacheDir = path.join(dir, 'cache');
    const { host, guest } = traces(dir);
    const inputs = [{ trace: host }, { trace: guest }];
    const a = await buildModelCachedParallel(inputs, { guestOffsetNs: 0, parallel: 'always', onPlan: () => undefined }, cacheDir);
    assert.equal(a.cache, 'written');
    const b = buildModelCached(inputs, { guestOffsetNs: 0 }, cacheDir);
    assert.equal(b.cache, 'hit');
    assert.deepEqual(followThread(b.model, { tid: 7 }), followThread(a.model, { tid: 7 }));
    assert.equal((await buildModelCachedParallel(inputs, { guestOffsetNs: 0 }, cacheDir)).cache, 'hit');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
