// SummaryAccumulator over several batches: counts, CPUs, distinct tids (incl. negative and huge
// ids, bitmap growth), time range and the sorted flag, against a naive computation.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventColumnsBuilder } from './event-columns.ts';
import { SummaryAccumulator } from './summary.ts';

test('summary over batches equals a naive computation', () => {
  const rows: Array<[number, number, number, number, number]> = []; // ts, cpu, event, pid, tid
  for (let i = 0; i < 3000; i++) rows.push([1000 + i * 3 - (i === 1500 ? 10 : 0), i % 5, i % 4, i % 7 === 0 ? -1 : 10 + (i % 50), i % 11 === 0 ? 200000 + i : i % 13 === 0 ? -5 - (i % 3) : i % 90]);
  rows.push([50, 9, 1, 0x7fffffff, 2 ** 31 - 2]);
  const acc = new SummaryAccumulator();
  const names = ['a', 'b', 'c', 'd'];
  for (let start = 0; start < rows.length; start += 1000) {
    const b = new EventColumnsBuilder(16);
    for (const [ts, cpu, ev, pid, tid] of rows.slice(start, start + 1000)) b.append(0, ev, ts, cpu, pid, tid, -1, -1, -1, -1, -1, -1, 0);
    acc.add(b.columnsBorrow());
  }
  const s = acc.finish('f', 1, 'x', { format: 'x', entity: 'tid' }, names, [], 0);
  const tids = new Set<number>();
  for (const r of rows) for (const t of [r[3], r[4]]) if (t !== -1) tids.add(t); // every id counts, huge ones too (Xen entities are (domid << 16) | vcpu)
  const byEvent: Record<string, number> = {};
  for (const r of rows) byEvent[names[r[2]]!] = (byEvent[names[r[2]]!] ?? 0) + 1;
  assert.deepEqual(
    { events: s.events, byEvent: s.byEvent, cpus: s.cpus, threads: s.threads, startNs: s.startNs, endNs: s.endNs, sorted: s.sorted },
    { events: rows.length, byEvent, cpus: [0, 1, 2, 3, 4, 9], threads: tids.size, startNs: 50, endNs: Math.max(...rows.map((r) => r[0])), sorted: false },
  );
});

test('Xen entities (the idle domain is 0x7fff << 16) count as threads; out-of-range ids never size an allocation', () => {
  const acc = new SummaryAccumulator();
  const b = new EventColumnsBuilder(16);
  const idle = (0x7fff << 16) | 3;
  for (const tid of [idle, idle, (14 << 16) | 1, 5, 0x7ffffffe]) b.append(0, 0, 1, 0, -1, tid, -1, -1, -1, -1, -1, -1, 0);
  acc.add(b.columnsBorrow());
  const s = acc.finish('f', 1, 'x', { format: 'x', entity: 'xen-vcpu' }, ['e'], [], 0);
  assert.equal(s.threads, 4);
  assert.equal(s.diagnostics.length, 0);
  // Past the cap of distinct sparse ids the count is a lower bound, said in a diagnostic.
  const many = new SummaryAccumulator();
  const c = new EventColumnsBuilder(1 << 16);
  for (let i = 0; i < (1 << 20) + 10; i++) c.append(0, 0, 1, 0, -1, (1 << 22) + i, -1, -1, -1, -1, -1, -1, 0);
  many.add(c.columnsBorrow());
  const t = many.finish('g', 1, 'x', { format: 'x', entity: 'tid' }, ['e'], [], 0);
  assert.equal(t.threads, 1 << 20);
  assert.equal(t.diagnosticsTotal, 1);
  assert.match(t.diagnostics[0]!.message, /lower bound/);
});
