// The column builder never truncates silently: values the typed columns cannot hold become
// "unknown" with one diagnostic per kind of value, naming the byte offset.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventColumnsBuilder } from './event-columns.ts';
import { DiagnosticCollector } from './diagnostics.ts';
import { EventKind } from '../../../shared/schema.ts';

test('out-of-range CPU and pid values are stored as unknown and reported once each', () => {
  const b = new EventColumnsBuilder(16);
  const d = new DiagnosticCollector('t.txt');
  b.attachDiagnostics(d);
  b.append(EventKind.switch, 0, 1, 70000, 5, 99999999999, -1, 5, -1, 1, 120, 120, 100);
  b.append(EventKind.switch, 0, 2, 70001, 5, 6, -1, 5, -1, 1, 120, 120, 200);
  b.append(EventKind.migrate, 0, 3, 1, 5, 6, -1, -1, -1, -1, 2 ** 40, 1, 300);
  b.append(EventKind.switch, 0, 4, 65535, 5, 6, -1, 5, -1, 1, 120, 120, 400);
  const c = b.columnsBorrow();
  assert.deepEqual([...c.cpu], [0xffff, 0xffff, 1, 0xffff]);
  assert.deepEqual([...c.tid], [-2, 6, 6, 6]);
  assert.deepEqual([...c.arg0], [120, 120, -2, 120]);
  assert.equal(b.outOfRangeValues, 4);
  assert.deepEqual(
    d.kept.map((x) => [x.offset, x.message]),
    [
      [100, 'CPU 70000 is out of range (stored as unknown; later ones are not reported)'],
      [100, 'pid 99999999999 is out of range (stored as unknown; later ones are not reported)'],
      [300, 'argument 1099511627776 is out of range (stored as unknown; later ones are not reported)'],
    ],
  );
});

test('timestamps a double cannot hold exactly (overflowing seconds fields, NaN) keep the previous time, with a diagnostic', () => {
  const b = new EventColumnsBuilder(16);
  const d = new DiagnosticCollector('t.txt');
  b.attachDiagnostics(d);
  b.append(EventKind.other, 0, 1000, 0, 5, 5, -1, -1, -1, -1, -1, -1, 0);
  b.append(EventKind.other, 0, Infinity, 0, 5, 5, -1, -1, -1, -1, -1, -1, 50);
  b.append(EventKind.other, 0, NaN, 0, 5, 5, -1, -1, -1, -1, -1, -1, 90);
  b.append(EventKind.other, 0, 2000, 0, 5, 5, -1, -1, -1, -1, -1, -1, 120);
  assert.deepEqual([...b.columnsBorrow().ts], [1000, 1000, 1000, 2000]);
  assert.deepEqual(d.kept.map((x) => [x.offset, x.message]), [[50, 'timestamp Infinity is out of range (kept the previous time; later ones are not reported)']]);
});
