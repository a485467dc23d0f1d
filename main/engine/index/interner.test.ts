import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Interner } from './interner.ts';

test('interns byte ranges and strings to the same ids, across rehashes', () => {
  const it = new Interner();
  const enc = new TextEncoder();
  const ids: number[] = [];
  for (let i = 0; i < 5000; i++) ids.push(it.intern(`comm-${i}`));
  assert.equal(it.size, 5000);
  for (let i = 0; i < 5000; i += 97) {
    const b = enc.encode(`xx comm-${i} yy`);
    assert.equal(it.internBytes(b, 3, b.length - 3), ids[i]);
    assert.equal(it.get(ids[i]!), `comm-${i}`);
  }
  assert.equal(it.intern(''), 5000);
  assert.equal(it.internBytes(new Uint8Array(0), 0, 0), 5000);
  // UTF-8 comms survive.
  const u = it.intern('kworker/ü:1');
  assert.equal(it.get(u), 'kworker/ü:1');
});
