// sortColumnsByTime with run boundaries (pairwise merge of sorted runs) must give exactly the
// order of the stable comparator sort, including ties across runs and unsorted runs (fallback).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventColumnsBuilder } from './event-columns.ts';
import { sortColumnsByTime } from './sort.ts';

function columns(ts: number[]): ReturnType<EventColumnsBuilder['finishCopy']> {
  const b = new EventColumnsBuilder(16);
  // offset = input row, so the result shows which row went where
  ts.forEach((t, i) => b.append(0, 0, t, 0, 1, 1, -1, -1, -1, 0xffff, -1, -1, i));
  return b.finishCopy();
}

test('merging sorted runs equals the stable sort (random runs with ties; unsorted run falls back)', () => {
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  for (let round = 0; round < 200; round++) {
    const runs = 1 + rand(9);
    const ts: number[] = [];
    const starts: number[] = [];
    for (let r = 0; r < runs; r++) {
      starts.push(ts.length);
      const len = rand(20);
      let t = rand(10);
      for (let i = 0; i < len; i++) {
        ts.push(t);
        t += rand(3); // ties within and across runs
      }
    }
    if (round % 10 === 9 && ts.length > 2) ts.reverse(); // runs no longer sorted: the fallback
    const plain = sortColumnsByTime(columns(ts));
    const merged = sortColumnsByTime(columns(ts), starts);
    assert.deepEqual([...merged.offset], [...plain.offset], `round ${round}`);
    assert.deepEqual([...merged.ts], [...plain.ts]);
  }
});
