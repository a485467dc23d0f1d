// Clock alignment on synthetic data with a known offset: the FFT coarse step must find the peak far
// from any starting guess, and the exact refinement must land within the consistent plateau.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { autoAlign, scoreOffset, type AlignInput } from './align.ts';

/** Deterministic PRNG (mulberry32) so the test is reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function synth(offsetNs: number, noise: number): AlignInput {
  const r = rng(42);
  const vcpus = [];
  const hostStart = 1_000_000_000_000;
  const hostEnd = hostStart + 3e9;
  for (let v = 0; v < 3; v++) {
    const hs: number[] = [];
    const he: number[] = [];
    const g: number[] = [];
    let t = hostStart + r() * 1e6;
    while (t < hostEnd - 5e6) {
      const on = 50_000 + r() * 3e6;
      hs.push(Math.round(t));
      he.push(Math.round(t + on));
      // guest events while the vCPU is on a core (guest clock = host - offset)
      const k = 1 + Math.floor(r() * 6);
      for (let i = 0; i < k; i++) g.push(Math.round(t + 1000 + r() * (on - 2000)) - offsetNs);
      t += on + 20_000 + r() * 4e6;
    }
    const nNoise = Math.round(g.length * noise);
    for (let i = 0; i < nNoise; i++) g.push(Math.round(hostStart + r() * 3e9) - offsetNs);
    g.sort((a, b) => a - b);
    vcpus.push({ guestTs: Float64Array.from(g), hostStart: Float64Array.from(hs), hostEnd: Float64Array.from(he) });
  }
  return { vcpus, hostStartNs: hostStart, hostEndNs: hostEnd };
}

test('auto alignment finds a known offset to within the consistent plateau', () => {
  const truth = 987_654_321_000;
  const inp = synth(truth, 0.1);
  const { offsetNs, info } = autoAlign(inp);
  const atTruth = scoreOffset(inp, truth);
  const found = scoreOffset(inp, offsetNs);
  assert.ok(found.consistent >= atTruth.consistent, `found ${found.consistent} < truth ${atTruth.consistent}`);
  assert.ok(Math.abs(offsetNs - truth) < 2_000, `offset error ${offsetNs - truth} ns`);
  assert.ok(info.quality > 0.88 && info.quality < 0.95, `quality ${info.quality}`);
  assert.ok(Math.abs(info.driftNsPerS ?? 0) < 1000, `drift ${info.driftNsPerS}`);
  // a wrong offset (by 1.5 ms) scores clearly worse
  assert.ok(scoreOffset(inp, truth + 1_500_000).consistent < 0.8 * atTruth.consistent);
});
