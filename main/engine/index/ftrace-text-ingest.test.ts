// Integration: the parallel, cached pipeline on a REAL recording through the ftrace-text reader
// (fixture and its provenance: main/formats/ftrace-text/testdata/schedmix-1s). Differential: the
// rows and summary must equal the single-threaded readInline() of the same reader.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { openIndexed } from './open.ts';
import { readInline } from './read-inline.ts';
import { FileSource } from '../io/byte-source.ts';
import { formatById } from '../../formats/registry.ts';
import type { EventColumns } from './event-columns.ts';
import type { ArrowCacheTrace } from './cached-trace.ts';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../formats/ftrace-text/testdata/schedmix-1s/tracefs.txt.gz');

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

test('ftrace text: worker pipeline with many units == readInline, and the cache returns the same', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-ftrace-ingest-'));
  const file = path.join(dir, 'tracefs.txt');
  fs.writeFileSync(file, zlib.gunzipSync(fs.readFileSync(FIXTURE)));
  const format = formatById('ftrace-text');
  assert.ok(format, 'ftrace-text is registered');
  const src = new FileSource(file);
  const inline = readInline(format, src);
  src.close();
  const want = rowStrings(inline.columns);
  assert.ok(want.length > 10000, `fixture has ${want.length} events`);

  const cacheDir = path.join(dir, 'cache');
  // 64 KiB units (the reader's minimum): dozens of units over 2 workers, 4096-row batches.
  const t = await openIndexed(file, { cacheDir, inlineBelowBytes: 0, workers: 2, unitBytes: 64 * 1024, batchRows: 4096 });
  assert.ok(t.batchCount > 3);
  assert.deepEqual(rowStrings(t.readRows(0, t.rowCount)), want);
  assert.equal(t.summary.events, want.length);
  t.close();
  const again = (await openIndexed(file, { cacheDir, batchRows: 4096 })) as ArrowCacheTrace;
  assert.equal(again.fromCache, true);
  assert.deepEqual(rowStrings(again.readRows(0, again.rowCount)), want);
  assert.deepEqual(again.summary.byEvent, t.summary.byEvent);
  again.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
