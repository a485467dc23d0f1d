// The compact cache layout (arrow-cache.ts CacheLayout, CACHE.md "Layouts"): a xentrace cache stores
// 10 of the 14 columns and every read path (whole batch, borrowed batch, named columns, page of
// rows, the growing view while indexing) fills the other 4 back to exactly the rows of an uncached
// open; an external Arrow reader sees the 10 columns and the documented rules give the rest; the
// writer refuses rows that break the rules (the open then goes on uncached).

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tableFromIPC } from 'apache-arrow';
import { EVENT_COLUMNS, EventKind, type EventColumnName } from '../../../shared/schema.ts';
import { ArrowStreamFileWriter, CacheLayout } from './arrow-cache.ts';
import { CacheCorruptError, type ArrowCacheTrace, type GrowingTrace } from './cached-trace.ts';
import { allocEventColumns, type EventColumns } from './event-columns.ts';
import { openIndexed, type CacheEvent } from './open.ts';

const HEAD = fileURLToPath(new URL('../../formats/xentrace/testdata/xentrace-head.bin', import.meta.url));
const NAMES = EVENT_COLUMNS.map((c) => c.name);
const tmpDirs: string[] = [];
after(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-cache-layout-'));
  tmpDirs.push(d);
  return d;
}

function sameRows(got: EventColumns, from: number, want: EventColumns, wantFrom: number, n: number, what: string, names: readonly EventColumnName[] = NAMES): void {
  for (const name of names) {
    const x = got[name] as ArrayLike<number>;
    const y = want[name] as ArrayLike<number>;
    for (let k = 0; k < n; k++) if (x[from + k] !== y[wantFrom + k]) assert.fail(`${what}: ${name} row ${wantFrom + k}: ${x[from + k]} != ${y[wantFrom + k]}`);
  }
}

test('xentrace cache: 10 stored columns, and every read path gives the 14 columns of the uncached rows', async () => {
  const uncached = await openIndexed(HEAD, {});
  const want = uncached.readRows(0, uncached.rowCount);
  uncached.close();
  assert.ok(want.length > 10000);
  // the reader fills what the file leaves out: the test means something only if those vary
  assert.ok(new Set(want.comm).size > 3 && want.prevComm.some((c) => c >= 0) && want.prevTid.some((t) => t >= 0));

  const cacheDir = tmpDir();
  const events: CacheEvent[] = [];
  const batchRows = 4096;
  const grown: EventColumns[] = [];
  let growing: GrowingTrace | null = null;
  const fresh = (await openIndexed(HEAD, {
    cacheDir,
    batchRows,
    onCache: (e) => events.push(e),
    observer: {
      begin: (g) => (growing = g),
      // read back from the cache file being written, through the growing view
      batch: (_c, rows, index) => {
        const b = growing!.readBatch(index);
        assert.equal(b.length, rows);
        grown.push(growing!.readRows(index * batchRows, rows));
      },
    },
  })) as ArrowCacheTrace;
  assert.deepEqual(events.map((e) => e.kind), ['miss', 'written'], 'the compact write must not fall back to memory');
  sameRows(fresh.readRows(0, fresh.rowCount), 0, want, 0, want.length, 'fresh');
  for (let b = 0; b < grown.length; b++) sameRows(grown[b]!, 0, want, b * batchRows, grown[b]!.length, `growing batch ${b}`);
  assert.equal(grown.reduce((s, g) => s + g.length, 0), want.length);
  const meta = JSON.parse(fs.readFileSync(path.join(cacheDir, fs.readdirSync(cacheDir).find((n) => n.endsWith('.meta.json'))!), 'utf8')).body;
  assert.equal(meta.layout, 'compact');
  fresh.close();

  // An independent reader of the file (apache-arrow's own): 10 columns, offset as uint32; the rules
  // CACHE.md gives turn them into the 14 columns.
  const table = tableFromIPC(fs.readFileSync(fresh.arrowPath));
  assert.deepEqual(table.schema.fields.map((f) => f.name), ['ts', 'cpu', 'kind', 'event', 'pid', 'tid', 'prevState', 'arg0', 'arg1', 'offset']);
  assert.equal(String(table.schema.fields[9]!.type), 'Uint32');
  assert.equal(table.numRows, want.length);
  const tidComm = new Map<number, number>();
  for (let i = 0; i < meta.tidComm.length; i += 2) tidComm.set(meta.tidComm[i], meta.tidComm[i + 1]);
  for (let i = 0; i < want.length; i += 97) {
    const kind = table.getChild('kind')!.get(i) as number;
    const pid = table.getChild('pid')!.get(i) as number;
    const tid = table.getChild('tid')!.get(i) as number;
    const prevTid = kind === EventKind.switch ? pid : -1;
    assert.equal(prevTid, want.prevTid[i], `prevTid row ${i}`);
    assert.equal(tidComm.get(tid) ?? -1, want.comm[i], `comm row ${i}`);
    assert.equal(tidComm.get(prevTid) ?? -1, want.prevComm[i], `prevComm row ${i}`);
    assert.equal(table.getChild('offset')!.get(i), want.offset[i], `offset row ${i}`);
    assert.equal(table.getChild('ts')!.get(i), want.ts[i], `ts row ${i}`);
  }

  // From the cache (checksums checked): whole, page, borrowed and named-column reads.
  const t = (await openIndexed(HEAD, { cacheDir, batchRows })) as ArrowCacheTrace;
  assert.ok(t.fromCache);
  for (let b = 0; b < t.batchCount; b++) {
    const base = b * batchRows;
    const rows = Math.min(batchRows, want.length - base);
    const page = t.readBatchRows(b, 100, 300);
    sameRows(page, 0, want, base + 100, Math.min(300, rows - 100), `page of batch ${b}`);
    sameRows(t.readBatchBorrow(b), 0, want, base, rows, `borrowed batch ${b}`);
    for (const names of [NAMES, ['comm'], ['prevComm', 'ts'], ['prevTid'], ['offset', 'input']] as EventColumnName[][]) {
      const cols = t.readBatchColumns(b, names);
      assert.ok(cols, 'checked batches are read by column');
      sameRows(cols, 0, want, base, rows, `columns ${names.join(',')} of batch ${b}`, names);
    }
    sameRows(t.readBatch(b), 0, want, base, rows, `batch ${b}`);
  }
  t.close();

  // A damaged stored byte is still caught (the checksum covers the stored columns).
  const bytes = fs.readFileSync(fresh.arrowPath);
  const at = Math.floor(bytes.length / 2);
  bytes[at] = bytes[at]! ^ 0x40;
  fs.writeFileSync(fresh.arrowPath, bytes);
  const bad = (await openIndexed(HEAD, { cacheDir, batchRows })) as ArrowCacheTrace;
  assert.throws(() => bad.readRows(0, bad.rowCount), CacheCorruptError);
  bad.close();
});

test('the compact writer refuses rows that break its rules (nothing is guessed)', () => {
  const dir = tmpDir();
  const base = (): EventColumns => {
    const c = allocEventColumns(4, { inputs: [], comms: ['a', 'b'], events: ['e'] });
    c.tid.set([5, 6, 5, -1]);
    c.comm.set([0, 1, 0, -1]);
    c.pid.set([5, 5, 6, 6]);
    c.kind.set([EventKind.switch, 0, 0, 0]);
    c.prevTid.set([5, -1, -1, -1]);
    c.prevComm.set([0, -1, -1, -1]);
    c.offset.set([0, 16, 32, 4294967295]);
    return c;
  };
  const bad: Array<[string, (c: EventColumns) => void, RegExp]> = [
    ['comm of a tid changes', (c) => (c.comm[2] = 1), /comm 1 of tid 5/],
    ['prevTid on a row that is no switch', (c) => (c.prevTid[1] = 5), /prevTid 5/],
    ['switch prevTid is not its pid', (c) => (c.prevTid[0] = 6), /prevTid 6/],
    ['prevComm not the comm of prevTid', (c) => (c.prevComm[0] = 1), /prevComm 1/],
    ['input', (c) => (c.input[3] = 1), /input 1/],
    ['input on a switch row', (c) => (c.input[0] = 2), /input 2/],
    ['prevComm on a row that is no switch', (c) => (c.prevComm[2] = 0), /prevComm 0/],
    ['offset past 32 bits', (c) => (c.offset[3] = 2 ** 32), /offset 4294967296/],
    ['fractional offset', (c) => (c.offset[1] = 1.5), /offset 1.5/],
  ];
  for (const [what, spoil, msg] of bad) {
    const fd = fs.openSync(path.join(dir, 'x.arrow'), 'w');
    try {
      const w = new ArrowStreamFileWriter(fd, { layout: CacheLayout.compact() });
      w.writeBatch(base(), 4); // fine
      const c = base();
      spoil(c);
      assert.throws(() => w.writeBatch(c, 4), msg, what);
      assert.equal(w.blocks.length, 1, `${what}: nothing of the refused batch is recorded`);
    } finally {
      fs.closeSync(fd);
    }
  }
});
