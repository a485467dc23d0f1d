// The table's row pool on a minimal stand-in DOM (no browser here): rows in visual order, reused
// in place while scrolling (no element created), text written only where it changed, loading rows
// marked, and selection/parity classes per row.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CELL_CLASSES, RowPool, type PoolFrame } from './row-pool.ts';

const ops = { created: 0, textWrites: 0, classWrites: 0 };

class FakeText {
  private v: string;
  constructor(v: string) {
    this.v = v;
  }
  get data(): string {
    return this.v;
  }
  set data(s: string) {
    ops.textWrites++;
    this.v = s;
  }
}

class FakeEl {
  children: FakeEl[] = [];
  texts: FakeText[] = [];
  parent: FakeEl | null = null;
  attrs = new Map<string, string>();
  dataset: Record<string, string> = {};
  style: Record<string, string> = {};
  private cls = '';
  constructor(
    readonly tag: string,
    readonly ownerDocument: FakeDoc,
  ) {}
  get className(): string {
    return this.cls;
  }
  set className(c: string) {
    ops.classWrites++;
    this.cls = c;
  }
  setAttribute(k: string, v: string): void {
    this.attrs.set(k, v);
  }
  appendChild(c: FakeEl | FakeText): void {
    if (c instanceof FakeText) this.texts.push(c);
    else {
      c.parent = this;
      this.children.push(c);
    }
  }
  remove(): void {
    if (!this.parent) return;
    this.parent.children = this.parent.children.filter((x) => x !== this);
    this.parent = null;
  }
  /** The text of each cell (span) of this row. */
  cellTexts(): string[] {
    return this.children.map((s) => s.texts.map((t) => t.data).join(''));
  }
}

class FakeDoc {
  createElement(tag: string): FakeEl {
    ops.created++;
    return new FakeEl(tag, this);
  }
  createTextNode(v: string): FakeText {
    return new FakeText(v);
  }
}

interface Row {
  row: number;
}
const data = new Map<number, Row>();
const rowData = (r: number): Row => {
  let d = data.get(r);
  if (!d) data.set(r, (d = { row: r }));
  return d;
};

function frame(first: number, over: Partial<PoolFrame<Row>> = {}): PoolFrame<Row> {
  return {
    first,
    rowCount: 1000,
    rowH: 20,
    viewportPx: 100,
    selected: -1,
    lo: -1,
    hi: -1,
    get: rowData,
    text: (d) => CELL_CLASSES.map((c) => `${c}:${d.row}`),
    format: FORMAT,
    ...over,
  };
}
const FORMAT = {};

function setup(): { layer: FakeEl; pool: RowPool<Row> } {
  const layer = new FakeDoc().createElement('div');
  return { layer, pool: new RowPool<Row>(layer as unknown as HTMLElement) };
}

const rowsOf = (layer: FakeEl): number[] => layer.children.map((c) => Number(c.attrs.get('aria-rowindex')) - 1);

test('rows on screen in visual order, the layer shifted by the fraction of a row', () => {
  const { layer, pool } = setup();
  pool.draw(frame(10.5));
  // 100 px / 20 px = 5 rows, one more for the partly shown row
  assert.deepEqual(rowsOf(layer), [10, 11, 12, 13, 14, 15]);
  assert.equal(layer.style.transform, 'translateY(-10.00px)');
  assert.deepEqual(layer.children.map((c) => c.style.top), ['0px', '20px', '40px', '60px', '80px', '100px']);
  assert.deepEqual(layer.children[0]!.cellTexts(), CELL_CLASSES.map((c) => `${c}:10`));
  assert.equal(layer.children[0]!.dataset.row, '10');
  assert.deepEqual(pool.range, { first: 10, count: 6 });
});

test('a given range (one row above the screen too) is drawn from its first row', () => {
  const { layer, pool } = setup();
  pool.draw(frame(10.5, { range: { first: 9, count: 8 } }));
  assert.deepEqual(rowsOf(layer), [9, 10, 11, 12, 13, 14, 15, 16]);
  assert.equal(layer.style.transform, 'translateY(-30.00px)');
  assert.deepEqual(pool.range, { first: 9, count: 8 });
});

test('scrolling reuses the same elements; only changed text is written', () => {
  const { layer, pool } = setup();
  pool.draw(frame(0));
  const els = [...layer.children];
  ops.created = 0;
  ops.textWrites = 0;
  pool.draw(frame(3.25));
  assert.equal(ops.created, 0, 'no element created while scrolling');
  assert.deepEqual(layer.children, els, 'the same elements, in the same order');
  assert.deepEqual(rowsOf(layer), [3, 4, 5, 6, 7, 8]);
  assert.equal(ops.textWrites, 6 * CELL_CLASSES.length);
  ops.textWrites = 0;
  ops.classWrites = 0;
  pool.draw(frame(3.5)); // same rows, another fraction
  assert.equal(ops.textWrites, 0, 'unchanged rows are not written');
  assert.equal(ops.classWrites, 0);
  assert.equal(layer.style.transform, 'translateY(-10.00px)');
});

test('a loading row is marked and then filled in place', () => {
  const { layer, pool } = setup();
  let ready = false;
  const get = (r: number): Row | null => (r === 2 && !ready ? null : rowData(r));
  pool.draw(frame(0, { get }));
  const slot = layer.children[2]!;
  // no data cells while loading (readers of .c-time, .c-cpu … see only rows that are there)
  assert.deepEqual(
    slot.children.map((c) => c.className),
    ['c-loading', '', '', '', '', '', ''],
  );
  assert.deepEqual(slot.cellTexts(), ['row 3 …', '', '', '', '', '', '']);
  assert.equal(layer.children[1]!.children[0]!.className, 'c-time');
  ready = true;
  pool.draw(frame(0, { get }));
  assert.equal(layer.children[2], slot);
  assert.deepEqual(
    slot.children.map((c) => c.className),
    [...CELL_CLASSES],
  );
  assert.deepEqual(slot.cellTexts(), CELL_CLASSES.map((c) => `${c}:2`));
});

test('selection, range and parity classes; a new format rewrites the text', () => {
  const { layer, pool } = setup();
  pool.draw(frame(0, { selected: 3, lo: 1, hi: 3 }));
  assert.deepEqual(
    layer.children.map((c) => c.className),
    ['table-row', 'table-row in-range odd', 'table-row in-range', 'table-row selected odd', 'table-row', 'table-row odd'],
  );
  ops.textWrites = 0;
  pool.draw(frame(0, { selected: 3, lo: 1, hi: 3, format: {}, text: (d) => CELL_CLASSES.map((c) => `${c}=${d.row}`) }));
  assert.equal(ops.textWrites, 6 * CELL_CLASSES.length);
  assert.equal(layer.children[4]!.cellTexts()[0], 'c-time=4');
});

test('fewer rows (end of the table, a smaller viewport) detach slots from the end only', () => {
  const { layer, pool } = setup();
  pool.draw(frame(0));
  const first = layer.children[0];
  pool.draw(frame(997, { rowCount: 1000 }));
  assert.deepEqual(rowsOf(layer), [997, 998, 999]);
  assert.equal(layer.children[0], first);
  ops.created = 0;
  pool.draw(frame(0, { viewportPx: 60 }));
  assert.deepEqual(rowsOf(layer), [0, 1, 2, 3]);
  pool.draw(frame(0));
  assert.equal(ops.created, 0, 'detached slots come back');
  assert.deepEqual(rowsOf(layer), [0, 1, 2, 3, 4, 5]);
  pool.draw(frame(0, { rowCount: 0 }));
  assert.deepEqual(rowsOf(layer), []);
});
