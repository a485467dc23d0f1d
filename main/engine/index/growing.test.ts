// openIndexed's observer: while a real trace is indexed, every batch is readable at once through
// the GrowingTrace (from the cache file being written, or from memory without a cache), with the
// string tables as of that batch; the finished trace has the same batches; the growing view is
// retired when indexing ends; a cache hit indexes nothing and calls no observer.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GrowingTrace } from './cached-trace.ts';
import type { EventColumns } from './event-columns.ts';
import { openIndexed } from './open.ts';

const TRACE_DAT = fileURLToPath(new URL('../../formats/trace-dat/testdata/schedmix-kvm-2buf.v7zstd.dat', import.meta.url));
const KEYS = ['ts', 'cpu', 'kind', 'event', 'pid', 'tid', 'comm', 'prevTid', 'prevComm', 'prevState', 'arg0', 'arg1', 'offset', 'input'] as const;

function sameRows(a: EventColumns, b: EventColumns, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (const k of KEYS) assert.deepEqual(Array.from(a[k] as Float64Array).slice(0, a.length), Array.from(b[k] as Float64Array).slice(0, b.length), `${what}: ${k}`);
}

for (const cached of [true, false]) {
  test(`observer sees every batch readable while indexing goes on (${cached ? 'from the cache file being written' : 'in memory, no cache'})`, async () => {
    const cacheDir = cached ? mkdtempSync(join(tmpdir(), 'vcpuscope-growing-')) : undefined;
    let growing: GrowingTrace | null = null;
    let begins = 0;
    const seen: EventColumns[] = [];
    const tr = await openIndexed(TRACE_DAT, {
      ...(cacheDir ? { cacheDir } : {}),
      batchRows: 4096,
      observer: {
        begin(t) {
          begins++;
          growing = t;
        },
        batch(c, rows, index) {
          const g = growing!;
          assert.equal(index, seen.length);
          assert.equal(g.batchCount, index + 1);
          // readable now, equal to what the indexer just produced, names resolvable
          const back = g.readBatch(index);
          const copy = { ...c, length: rows } as EventColumns;
          sameRows(back, copy, `batch ${index}`);
          for (let i = 0; i < rows; i++) {
            if (back.comm[i]! >= 0) assert.equal(typeof g.comms[back.comm[i]!], 'string');
            assert.equal(typeof g.events[back.event[i]!], 'string');
          }
          seen.push(back);
          assert.equal(g.rowCount, seen.reduce((a, b) => a + b.length, 0));
          assert.equal(g.summary.events, g.rowCount);
        },
      },
    });
    assert.equal(begins, 1);
    assert.ok(seen.length >= 3, `several batches (${seen.length})`);
    assert.equal(tr.batchCount, seen.length);
    for (let i = 0; i < tr.batchCount; i++) sameRows(tr.readBatch(i), seen[i]!, `final batch ${i}`);
    assert.deepEqual([...growing!.comms], [...tr.comms]);
    assert.throws(() => growing!.readBatch(0), /replaced/);
    tr.close();
    if (cacheDir) {
      let called = false;
      const again = await openIndexed(TRACE_DAT, { cacheDir, observer: { begin: () => (called = true), batch: () => (called = true) } });
      assert.equal((again as { fromCache?: boolean }).fromCache, true);
      assert.equal(called, false, 'a cache hit indexes nothing');
      again.close();
    }
  });
}
