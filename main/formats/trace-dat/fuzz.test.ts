// Fixed-seed structural fuzzing of the trace.dat reader on real fixtures: flipped bytes, extreme
// 32-bit words and truncations in the metadata and in the page data. Every input must either be
// rejected with a TraceFormatError or read (with diagnostics) quickly; never throw anything else,
// hang, or allocate without bound. (test/fuzz runs all formats in workers with hard limits.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemorySource } from '../../engine/io/byte-source.ts';
import { readInline } from '../../engine/index/read-inline.ts';
import { DiagnosticCollector } from '../../engine/index/diagnostics.ts';
import { TraceFormatError } from '../types.ts';
import { traceDat } from './index.ts';

const TD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata');

/** xorshift32: deterministic for a seed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

const EXTREMES = [0, 1, 4, 0xffffffff, 0x7fffffff, 0x07ffffff, 0x80000000, 0xc0000000, 29, 30, 31, 0x1d];

function mutate(orig: Uint8Array, rand: () => number, dataStart: number): { bytes: Uint8Array; what: string } {
  const r = rand();
  // Half the mutations hit the metadata (first options/sections), half the CPU data.
  const inMeta = rand() < 0.5;
  const lo = inMeta ? 0 : dataStart;
  const hi = inMeta ? Math.min(orig.length, dataStart) : orig.length;
  const at = lo + Math.floor(rand() * Math.max(1, hi - lo - 4));
  if (r < 0.25) return { bytes: orig.subarray(0, at), what: `truncate at ${at}` };
  const b = orig.slice();
  if (r < 0.6) {
    const n = 1 + Math.floor(rand() * 8);
    for (let k = 0; k < n; k++) {
      const p = lo + Math.floor(rand() * Math.max(1, hi - lo));
      b[p] = b[p]! ^ (1 << Math.floor(rand() * 8));
    }
    return { bytes: b, what: `flip ${n} bits near ${at}` };
  }
  const v = EXTREMES[Math.floor(rand() * EXTREMES.length)]!;
  new DataView(b.buffer).setUint32(at & ~3, v, true);
  return { bytes: b, what: `word ${v} at ${at & ~3}` };
}

for (const [file, iterations, seed] of [['schedmix-kvm-2buf.v7zstd.dat', 100, 11], ['schedmix-kvm-2buf.v6.dat', 50, 12], ['schedmix-kvm-2buf.v7.dat', 50, 13]] as const) {
  test(`mutated copies of ${file} never crash or hang (seed ${seed}, ${iterations} inputs)`, { timeout: 120_000 }, () => {
    const orig = new Uint8Array(fs.readFileSync(path.join(TD, file)));
    const probe = new MemorySource('p', orig);
    const p = traceDat.plan(probe, new DiagnosticCollector('p'), {});
    const dataStart = Math.min(...p.units.map((u) => u.start));
    const rand = rng(seed);
    let rejected = 0;
    let read = 0;
    for (let i = 0; i < iterations; i++) {
      const { bytes, what } = mutate(orig, rand, dataStart);
      const src = new MemorySource('fuzz.dat', bytes);
      const t0 = performance.now();
      try {
        const r = readInline(traceDat, src);
        read++;
        // Every row's offset can be described without throwing.
        if (r.columns.length > 0) {
          const plan = traceDat.plan(src, new DiagnosticCollector('d'), {});
          const s = traceDat.describeRecord!(src, plan, r.columns.offset[Math.floor(rand() * r.columns.length)]!);
          assert.equal(typeof s, 'string');
        }
      } catch (e) {
        if (!(e instanceof TraceFormatError)) assert.fail(`${what}: ${(e as Error).stack}`);
        rejected++;
      }
      const ms = performance.now() - t0;
      assert.ok(ms < 5000, `${what}: took ${ms.toFixed(0)} ms`);
    }
    // Both outcomes happen: the mutations reach the metadata and the data.
    assert.ok(read > 0 && rejected > 0, `read ${read}, rejected ${rejected}`);
  });
}
