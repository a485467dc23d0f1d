// WordWindow serves loads from what an earlier read fetched ahead: the words seen at every load are
// exactly the file's, never past the asked limit or the read-ahead limit, and sequential small loads
// (a window header, then its records) take one read per buffer, not one per load.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { MemorySource } from '../../engine/io/byte-source.ts';
import { WordWindow } from './word-window.ts';

class CountingSource extends MemorySource {
  reads = 0;
  bytesRead = 0;
  override readInto(buf: Uint8Array, bufOffset: number, length: number, position: number): number {
    this.reads++;
    const n = super.readInto(buf, bufOffset, length, position);
    this.bytesRead += n;
    return n;
  }
}

function fileOf(bytes: number): { data: Uint8Array; words: Uint32Array } {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 7 + (i >>> 8)) & 255;
  return { data, words: new Uint32Array(data.buffer, 0, bytes >>> 2) };
}

test('every load sees exactly the file words of [offset, min(offset + capacity, limit, EOF)), whatever was read before', () => {
  const size = 10_000;
  const { data, words } = fileOf(size);
  const src = new CountingSource('f', data);
  const win = new WordWindow(src, 1024);
  let seed = 12345;
  const rnd = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
  for (let k = 0; k < 5000; k++) {
    // Mostly forward steps (as the plan and the reader go), sometimes jumps back or far.
    const offset = (k % 7 === 0 ? rnd(size + 64) : (win.startOffset + rnd(300))) & ~3;
    const limit = offset + rnd(1500);
    win.readAheadLimit = k % 11 === 0 ? offset + rnd(2000) : Infinity;
    const n = win.load(offset, limit);
    const expect = Math.max(0, Math.min(1024, limit - offset, size - offset));
    assert.equal(n, expect, `load(${offset}, ${limit})`);
    assert.equal(win.startOffset, offset);
    assert.equal(win.endOffset, offset + n);
    for (let i = 0; i < n >>> 2; i++) {
      if (win.words[i] !== words[(offset >>> 2) + i]) assert.fail(`word ${i} of load(${offset}, ${limit})`);
      if (win.wordAt(offset + i * 4) !== words[(offset >>> 2) + i]) assert.fail(`wordAt ${offset + i * 4}`);
    }
  }
});

test('sequential window loads are served from one read per buffer, and never read past readAheadLimit', () => {
  const size = 64 * 1024;
  const { data } = fileOf(size);
  const src = new CountingSource('f', data);
  const win = new WordWindow(src, 16 * 1024);
  win.readAheadLimit = 40_000;
  // 12-byte headers followed by 500-byte bodies, as xentrace windows.
  let loads = 0;
  for (let pos = 0; pos + 512 <= 40_000; pos += 512) {
    win.load(pos, pos + 12);
    win.load(pos + 12, pos + 512);
    loads += 2;
  }
  assert.ok(src.reads <= 4, `${src.reads} reads for ${loads} loads`);
  assert.ok(src.bytesRead <= 40_000, `read ${src.bytesRead} bytes, past the read-ahead limit`);
});
