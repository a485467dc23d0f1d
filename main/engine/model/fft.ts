// In-place iterative radix-2 complex FFT on Float64Array pairs, used by the clock alignment's coarse
// cross-correlation. Plain textbook Cooley-Tukey; sizes are powers of two.

export function fft(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  if (n !== im.length || (n & (n - 1)) !== 0) throw new Error(`fft: size ${n} is not a power of two`);
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      const tr = re[i]!;
      re[i] = re[j]!;
      re[j] = tr;
      const ti = im[i]!;
      im[i] = im[j]!;
      im[j] = ti;
    }
  }
  const sign = inverse ? 1 : -1;
  // twiddles of one stage, computed once per stage by the same recurrence every block used to repeat
  const twR = new Float64Array(Math.max(1, n >> 1));
  const twI = new Float64Array(Math.max(1, n >> 1));
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (sign * 2 * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    const half = len >> 1;
    let cr = 1;
    let ci = 0;
    for (let k = 0; k < half; k++) {
      twR[k] = cr;
      twI[k] = ci;
      const ncr = cr * wr - ci * wi;
      ci = cr * wi + ci * wr;
      cr = ncr;
    }
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < half; k++) {
        const a = i + k;
        const b = a + half;
        const c = twR[k]!;
        const d = twI[k]!;
        const br = re[b]!;
        const bi = im[b]!;
        const xr = br * c - bi * d;
        const xi = br * d + bi * c;
        const ar = re[a]!;
        const ai = im[a]!;
        re[b] = ar - xr;
        im[b] = ai - xi;
        re[a] = ar + xr;
        im[a] = ai + xi;
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
