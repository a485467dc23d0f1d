// In-place iterative radix-2 complex FFT on Float64Array pairs, used by the clock alignment's coarse
// cross-correlation. Plain textbook Cooley-Tukey; sizes are powers of two.

export function fft(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  if (n !== im.length || (n & (n - 1)) !== 0) throw new Error(`fft: size ${n} is not a power of two`);
  bitReverse(re, im);
  const { twR, twI } = twiddles(n, inverse);
  // Stages up to BLOCK points only combine values inside one BLOCK-aligned block: run them block by
  // block (cache-resident), then the wider stages over the whole array. Same butterflies, same order
  // within each block, so the result is bit-identical to stage-by-stage.
  const block = Math.min(n, 4096);
  for (let b0 = 0; b0 < n; b0 += block) stages(re, im, twR, twI, b0, b0 + block, 2, block);
  stages(re, im, twR, twI, 0, n, block * 2, n);
  if (inverse) scaleDown(re, im);
}

// The loops below are functions of their own, like `stages`: a cold process runs each long loop in
// the interpreter until V8 compiles it on the spot (OSR), and compiled code that then reaches a
// statement never run before (no type feedback) is thrown away again ("insufficient type
// feedback" deopts: fft and the coarse search did that several times per first alignment, boxing
// every double meanwhile — ~130 MB of heap numbers and ~0.3 s CPU on a 17k-event recording).

/** Bit-reversal permutation of the last size asked for (the model's transforms are all one size per alignment). */
let revTable: Int32Array = new Int32Array(0);

function bitReverse(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  if (revTable.length !== n) revTable = bitReversal(n);
  const rev = revTable;
  for (let i = 1; i < n; i++) {
    const j = rev[i]!;
    if (i < j) {
      const tr = re[i]!;
      re[i] = re[j]!;
      re[j] = tr;
      const ti = im[i]!;
      im[i] = im[j]!;
      im[j] = ti;
    }
  }
}

/** rev[i] = i with its log2(n) bits reversed (the textbook loop's j at step i). */
function bitReversal(n: number): Int32Array {
  const rev = new Int32Array(n);
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    rev[i] = j;
  }
  return rev;
}

function scaleDown(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 0; i < n; i++) {
    re[i] = re[i]! / n;
    im[i] = im[i]! / n;
  }
}

/**
 * Twiddles of every stage up to `n` points (stage with half-length h at [h, 2h)), each by the same
 * recurrence the textbook loop runs per block, so every butterfly computes exactly the same values.
 * A stage's twiddles do not depend on n: one table per direction, kept for the process and extended
 * when a larger transform comes (the model aligns a guest with ~5 transforms of up to 2^18 points:
 * fresh tables per call were 34 MB of fresh pages per build on the 10M-event set).
 */
const tables: Twiddles[] = [
  { n: 0, twR: new Float64Array(2), twI: new Float64Array(2) },
  { n: 0, twR: new Float64Array(2), twI: new Float64Array(2) },
];
interface Twiddles {
  n: number;
  twR: Float64Array;
  twI: Float64Array;
}
function twiddles(n: number, inverse: boolean): Twiddles {
  const t = tables[inverse ? 1 : 0]!;
  if (t.n >= n) return t;
  if (inverse) {
    // The inverse recurrence runs on the negated sine: every value is the forward one's with the
    // imaginary part negated (checked bit for bit up to 2^18; an exact zero stays +0).
    const f = twiddles(n, false);
    const twI = negated(f.twI);
    t.n = f.n;
    t.twR = f.twR;
    t.twI = twI;
    return t;
  }
  const twR = new Float64Array(Math.max(2, n));
  const twI = new Float64Array(Math.max(2, n));
  fillTwiddles(twR, twI, n);
  t.n = n;
  t.twR = twR;
  t.twI = twI;
  return t;
}

function fillTwiddles(twR: Float64Array, twI: Float64Array, n: number): void {
  const sign = -1;
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (sign * 2 * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    const half = len >> 1;
    let cr = 1;
    let ci = 0;
    for (let k = 0; k < half; k++) {
      twR[half + k] = cr;
      twI[half + k] = ci;
      const ncr = cr * wr - ci * wi;
      ci = cr * wi + ci * wr;
      cr = ncr;
    }
  }
}

function negated(src: Float64Array): Float64Array {
  const out = new Float64Array(src.length);
  for (let i = 0; i < out.length; i++) {
    const x = src[i]!;
    out[i] = x === 0 ? 0 : -x;
  }
  return out;
}

function stages(re: Float64Array, im: Float64Array, twR: Float64Array, twI: Float64Array, from: number, to: number, lenLo: number, lenHi: number): void {
  for (let len = lenLo; len <= lenHi; len <<= 1) {
    const half = len >> 1;
    for (let i = from; i < to; i += len) {
      for (let k = 0; k < half; k++) {
        const a = i + k;
        const b = a + half;
        const c = twR[half + k]!;
        const d = twI[half + k]!;
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
}
