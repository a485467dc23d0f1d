// The renderer's Arrow window reader against apache-arrow's tableFromIPC, on windows written by the
// engine's encodeWindow (every column type it writes, empty windows, several batches, metadata),
// and its refusals: damaged bytes give an Error naming a byte offset, never a hang or a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTable, RecordBatch, Schema, Table, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { encodeWindow } from '../../main/engine/query/arrow-window.ts';
import { decodeWindow, readArrowStream } from './arrow.ts';

function reference(bytes: Uint8Array): { length: number; cols: Map<string, number[]>; types: Map<string, string>; meta: Map<string, string> } {
  const t = tableFromIPC(bytes);
  const cols = new Map<string, number[]>();
  const types = new Map<string, string>();
  for (const f of t.schema.fields) {
    const a = t.getChild(f.name)!.toArray() as ArrayLike<number>;
    cols.set(f.name, Array.from(a));
    types.set(f.name, a.constructor.name);
  }
  return { length: t.numRows, cols, types, meta: new Map(t.schema.metadata) };
}

function same(bytes: Uint8Array): void {
  const ref = reference(bytes);
  const got = readArrowStream(bytes);
  assert.equal(got.length, ref.length);
  assert.deepEqual([...got.columns.keys()], [...ref.cols.keys()]);
  for (const [name, values] of ref.cols) {
    const c = got.columns.get(name)!;
    assert.equal(c.constructor.name, ref.types.get(name), name);
    assert.deepEqual(Array.from(c as ArrayLike<number>), values, name);
  }
  assert.deepEqual(got.metadata, ref.meta);
}

let seed = 99;
const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;

function columns(n: number) {
  const f64 = new Float64Array(n);
  const f32 = new Float32Array(n);
  const i32 = new Int32Array(n);
  const u32 = new Uint32Array(n);
  const i16 = new Int16Array(n);
  const u16 = new Uint16Array(n);
  const i8 = new Int8Array(n);
  const u8 = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    f64[i] = 1.7e18 + rnd() * 1e12;
    f32[i] = rnd() * 1000 - 500;
    i32[i] = Math.floor(rnd() * 2 ** 32) - 2 ** 31;
    u32[i] = Math.floor(rnd() * 2 ** 32);
    i16[i] = Math.floor(rnd() * 65536) - 32768;
    u16[i] = Math.floor(rnd() * 65536);
    i8[i] = Math.floor(rnd() * 256) - 128;
    u8[i] = Math.floor(rnd() * 256);
  }
  return { ts: f64, busy: f32, tid: i32, starts: u32, cpu: i16, lane: u16, kind: i8, file: u8 };
}

test('the engine windows decode as apache-arrow decodes them: every column type, metadata, empty and odd sizes', () => {
  for (const n of [0, 1, 3, 7, 256, 1000, 16384]) {
    same(encodeWindow(columns(n), { strings: ['a', 'bé', ''], markers: [{ t: 1, x: [1, 2] }], n }));
  }
  same(encodeWindow({ only: new Int32Array([5, -6, 7]) }, {}));
  const w = decodeWindow(encodeWindow({ tid: new Int32Array([1, 2, 3]) }, { strings: ['x', 'y'] }));
  assert.equal(w.length, 3);
  assert.deepEqual(Array.from(w.col<Int32Array>('tid')), [1, 2, 3]);
  assert.deepEqual(w.meta('strings', []), ['x', 'y']);
  assert.deepEqual(w.meta('missing', 'fallback'), 'fallback');
  assert.throws(() => w.col('nope'), /no column nope/);
});

test('several record batches are concatenated like tableFromIPC does', () => {
  const a = makeTable(columns(100));
  const b = makeTable(columns(37));
  const meta = new Map([['strings', JSON.stringify(['s'])]]);
  const schema = new Schema(a.schema.fields, meta);
  const t = new Table(schema, [...a.batches, ...b.batches].map((x) => new RecordBatch(schema, x.data)));
  same(tableToIPC(t, 'stream'));
});

test('damaged windows: an Error naming a byte offset (or the missing schema), never a hang', () => {
  const good = encodeWindow(columns(300), { strings: ['abc'] });
  assert.throws(() => readArrowStream(new Uint8Array(0)), /no schema/);
  let refused = 0;
  const t0 = performance.now();
  for (let k = 0; k < 3000; k++) {
    const b = good.slice(0, k % 3 === 0 ? Math.floor(rnd() * good.length) : good.length);
    for (let j = 0; j < 1 + (k % 4); j++) {
      const at = Math.floor(rnd() * Math.min(b.length, 700));
      if (b.length) b[at] = b[at]! ^ (1 << Math.floor(rnd() * 8));
    }
    try {
      readArrowStream(b);
    } catch (e) {
      assert.ok(e instanceof Error);
      assert.match((e as Error).message, /arrow window: .*(byte offset \d+|no schema)/);
      refused++;
    }
  }
  assert.ok(refused > 100, `only ${refused} of 3000 damaged windows were refused`);
  assert.ok(performance.now() - t0 < 60_000);
});

test('what the engine never writes is refused by name: nulls, other types', () => {
  // a window re-encoded by apache-arrow (its own writer's choices) still reads the same
  same(tableToIPC(tableFromIPC(tableToIPC(makeTable({ x: new Int32Array([1, 2]) }))), 'stream'));
  // a string column (dictionary-encoded by vectorFromArray)
  const s = new Table({ name: vectorFromArray(['a', 'b']) });
  assert.throws(() => readArrowStream(tableToIPC(s, 'stream')), /column name: (dictionary-encoded columns are not supported|type \d+ is not a fixed-width integer or float) at byte offset \d+/);
  const nul = new Table({ v: vectorFromArray([1, null, 3]) });
  assert.throws(() => readArrowStream(tableToIPC(nul, 'stream')), /has nulls|type/);
});
