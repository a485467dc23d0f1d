// fft(): bit-identical to the textbook iterative radix-2 loop (twiddles by the per-block
// recurrence), forward and inverse, for sizes in any order (the twiddle tables are kept between
// calls and the inverse one is derived from the forward one).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fft } from './fft.ts';

function textbook(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  const sign = inverse ? 1 : -1;
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (sign * 2 * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    const half = len >> 1;
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < half; k++) {
        const a = i + k;
        const b = a + half;
        const xr = re[b]! * cr - im[b]! * ci;
        const xi = re[b]! * ci + im[b]! * cr;
        const ar = re[a]!;
        const ai = im[a]!;
        re[b] = ar - xr;
        im[b] = ai - xi;
        re[a] = ar + xr;
        im[a] = ai + xi;
        const ncr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = ncr;
      }
    }
  }
  if (inverse) {
    for (let i = 0; i < n; i++) {
      re[i] = re[i]! / n;
      im[i] = im[i]! / n;
    }
  }
}

function same(a: Float64Array, b: Float64Array, what: string): void {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) assert.fail(`${what}: index ${i}: ${a[i]} vs ${b[i]}`);
}

test('fft equals the textbook loop bit for bit (forward and inverse, sizes in any order, with zeros)', () => {
  let seed = 12345;
  const rnd = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) | 0;
    return ((seed >>> 8) % 2001) - 1000;
  };
  for (const n of [1 << 13, 1, 2, 8, 1 << 9, 1 << 12, 1 << 15, 4]) {
    for (const inverse of [true, false]) {
      const re = new Float64Array(n);
      const im = new Float64Array(n);
      // sparse integer-valued input: exact zeros and cancellations occur
      for (let i = 0; i < n; i++) {
        re[i] = i % 3 === 0 ? 0 : rnd();
        im[i] = i % 5 === 0 ? 0 : rnd() / 4;
      }
      const r2 = re.slice();
      const i2 = im.slice();
      fft(re, im, inverse);
      textbook(r2, i2, inverse);
      same(re, r2, `n ${n} ${inverse ? 'inverse' : 'forward'} re`);
      same(im, i2, `n ${n} ${inverse ? 'inverse' : 'forward'} im`);
    }
  }
});
