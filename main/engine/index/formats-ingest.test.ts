// Differential test of the parallel, cached pipeline against the single-threaded readInline() on
// REAL recordings of every binary format (per-CPU 'merge-by-time' units, compressed and not): same
// rows in the same order, same summary, from the workers and from the cache. Fixtures and how they
// were made: the README.md in each format's testdata folder.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openIndexed } from './open.ts';
import { readInline } from './read-inline.ts';
import { loadFormatModule } from './ingest-unit.ts';
import { FileSource } from '../io/byte-source.ts';
import { SummaryAccumulator } from './summary.ts';
import type { EventColumns } from './event-columns.ts';
import type { ArrowCacheTrace } from './cached-trace.ts';

const FORMATS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../formats');

// [format module (relative to main/formats), export name, fixture (relative to main/formats)]
const CASES: Array<[string, string, string]> = [
  ['trace-dat/index.ts', 'traceDat', 'trace-dat/testdata/schedmix-kvm-2buf.v7.dat'],
  ['trace-dat/index.ts', 'traceDat', 'trace-dat/testdata/qemu-guest-4vcpu.v7zstd.dat'],
  ['xentrace/index.ts', 'xentrace', 'xentrace/testdata/xentrace-head.bin'],
];

function rowStrings(c: EventColumns): string[] {
  const out: string[] = [];
  for (let i = 0; i < c.length; i++) {
    const comm = c.comm[i]! >= 0 ? c.comms[c.comm[i]!] : '';
    const prevComm = c.prevComm[i]! >= 0 ? c.comms[c.prevComm[i]!] : '';
    out.push(
      `${c.ts[i]}|${c.cpu[i]}|${c.kind[i]}|${c.events[c.event[i]!]}|${c.pid[i]}|${c.tid[i]}|${comm}|${c.prevTid[i]}|${prevComm}|${c.prevState[i]}|${c.arg0[i]}|${c.arg1[i]}|${c.offset[i]}|${c.input[i]}`,
    );
  }
  return out;
}

for (const [mod, exportName, fixture] of CASES) {
  test(`${fixture}: workers + merge + cache == readInline`, async () => {
    const url = `${pathToFileURL(path.join(FORMATS_DIR, mod)).href}#${exportName}`;
    const format = await loadFormatModule(url);
    assert.ok(format, url);
    const file = path.join(FORMATS_DIR, fixture);
    const src = new FileSource(file);
    const inline = readInline(format, src, { unitBytes: 64 * 1024 });
    src.close();
    const want = rowStrings(inline.columns);
    assert.ok(want.length > 1000, `${want.length} events`);
    const acc = new SummaryAccumulator();
    acc.add(inline.columns);
    const wantSummary = acc.finish(file, 0, format.id, inline.info, inline.columns.events, [], 0);

    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-formats-ingest-'));
    const opts = { cacheDir, formatModuleUrl: url, inlineBelowBytes: 0, workers: 2, unitBytes: 64 * 1024, batchRows: 5000 };
    const t = await openIndexed(file, opts);
    assert.deepEqual(rowStrings(t.readRows(0, t.rowCount)), want);
    assert.deepEqual(t.summary.byEvent, wantSummary.byEvent);
    assert.deepEqual([t.summary.events, t.summary.cpus, t.summary.threads, t.summary.startNs, t.summary.endNs], [wantSummary.events, wantSummary.cpus, wantSummary.threads, wantSummary.startNs, wantSummary.endNs]);
    t.close();
    const again = (await openIndexed(file, opts)) as ArrowCacheTrace;
    assert.equal(again.fromCache, true);
    assert.deepEqual(rowStrings(again.readRows(0, again.rowCount)), want);
    again.close();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });
}
