// Automatic clock alignment of a guest trace to the host timeline: the offset (host = guest + offset)
// that puts the most guest events of vCPU v inside host run intervals of v's thread. Coarse step: an
// FFT cross-correlation of binned guest event counts with binned host on-core coverage over the whole
// plausible range; fine: exact counts on a 100 ns grid (difference array over the offset intervals
// each event allows) around the best coarse peaks; then per-window estimates for drift. Leaves out
// applying drift (reported only).

import type { AlignmentInfo } from '../../../shared/model-contract.ts';
import { fft } from './fft.ts';
import { lowerBound } from './grow.ts';

/** Per-vCPU input: guest event times (guest clock, ascending) and host on-core intervals (host clock, ascending, disjoint). */
export interface AlignVcpu {
  guestTs: Float64Array;
  hostStart: Float64Array;
  hostEnd: Float64Array;
}

export interface AlignInput {
  vcpus: AlignVcpu[];
  hostStartNs: number;
  hostEndNs: number;
}

export interface ScoreResult {
  consistent: number;
  checked: number;
}

/** Exact count at one offset, optionally restricted to guest times [gLo, gHi). O(G + H) per vCPU. */
export function scoreOffset(inp: AlignInput, offsetNs: number, gLo = -Infinity, gHi = Infinity): ScoreResult {
  let consistent = 0;
  let checked = 0;
  for (const v of inp.vcpus) {
    const g = v.guestTs;
    let i = gLo === -Infinity ? 0 : lowerBound(g, gLo);
    const iEnd = gHi === Infinity ? g.length : lowerBound(g, gHi);
    const s = v.hostStart;
    const e = v.hostEnd;
    // first interval that could contain the first event
    let j = i < iEnd ? lowerBound(e, g[i]! + offsetNs) : 0;
    for (; i < iEnd; i++) {
      const x = g[i]! + offsetNs;
      if (x < inp.hostStartNs || x > inp.hostEndNs) continue;
      checked++;
      if (j < e.length && e[j]! < x) j = gallopLower(e, x, j + 1);
      if (j < e.length && s[j]! <= x) consistent++;
    }
  }
  return { consistent, checked };
}

/** First index i >= from with a[i] >= x (a ascending; every index before `from` is known to be < x): exponential steps, then a binary search. */
function gallopLower(a: Float64Array, x: number, from: number): number {
  const n = a.length;
  if (from >= n || a[from]! >= x) return from;
  let prev = from;
  let step = 1;
  while (prev + step < n && a[prev + step]! < x) {
    prev += step;
    step *= 2;
  }
  return lowerBound(a, x, prev + 1, Math.min(n, prev + step));
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Coarse scores over offsets by cross-correlation. Returns offsets of the best `peaks` local maxima. */
function coarsePeaks(inp: AlignInput, guestStart: number, guestEnd: number, peaks: number, maxBins: number): { offsets: number[]; binNs: number } {
  const gSpan = Math.max(1, guestEnd - guestStart);
  const hSpan = Math.max(1, inp.hostEndNs - inp.hostStartNs);
  const N = Math.min(maxBins, nextPow2(Math.ceil((gSpan + hSpan) / 10_000) + 2));
  const binNs = (gSpan + hSpan) / (N - 2);
  const ng = Math.ceil(gSpan / binNs) + 1;
  const accRe = new Float64Array(N);
  const accIm = new Float64Array(N);
  // One complex FFT per vCPU: z = g + i·h, then G[k] = (Z[k] + conj(Z[-k])) / 2 and
  // H[k] = (Z[k] - conj(Z[-k])) / 2i (both signals are real).
  const zRe = new Float64Array(N);
  const zIm = new Float64Array(N);
  for (const v of inp.vcpus) {
    if (v.guestTs.length === 0 || v.hostStart.length === 0) continue;
    zRe.fill(0);
    zIm.fill(0);
    for (let i = 0; i < v.guestTs.length; i++) {
      const b = Math.floor((v.guestTs[i]! - guestStart) / binNs);
      if (b >= 0 && b < N) zRe[b]! += 1;
    }
    for (let j = 0; j < v.hostStart.length; j++) {
      // coverage of bins by [s, e), in bin units relative to the host start
      const s = (v.hostStart[j]! - inp.hostStartNs) / binNs;
      const e = (v.hostEnd[j]! - inp.hostStartNs) / binNs;
      let b = Math.max(0, Math.floor(s));
      const bEnd = Math.min(N - 1, Math.floor(e));
      for (; b <= bEnd; b++) zIm[b]! += Math.min(e, b + 1) - Math.max(s, b);
    }
    fft(zRe, zIm, false);
    for (let k = 0; k < N; k++) {
      const m = (N - k) & (N - 1);
      const gr = (zRe[k]! + zRe[m]!) / 2;
      const gi = (zIm[k]! - zIm[m]!) / 2;
      const hr = (zIm[k]! + zIm[m]!) / 2;
      const hi = (zRe[m]! - zRe[k]!) / 2;
      // conj(G) * H
      accRe[k]! += gr * hr + gi * hi;
      accIm[k]! += gr * hi - gi * hr;
    }
  }
  fft(accRe, accIm, true);
  // lag d (host bin - guest bin) in [-ng, N - ng); score at index d mod N
  const lagCount = N;
  const score = new Float64Array(lagCount);
  for (let t = 0; t < lagCount; t++) {
    const d = t - ng;
    score[t] = accRe[((d % N) + N) % N]!;
  }
  // the `peaks` highest local maxima, ties in lag order (what a stable sort by score would keep)
  const cand: number[] = [];
  for (let t = 0; t < lagCount; t++) {
    const x = score[t]!;
    if ((t === 0 || x >= score[t - 1]!) && (t === lagCount - 1 || x > score[t + 1]!)) {
      if (cand.length === peaks && !(x > score[cand[peaks - 1]!]!)) continue;
      let at = cand.length;
      while (at > 0 && score[cand[at - 1]!]! < x) at--;
      cand.splice(at, 0, t);
      if (cand.length > peaks) cand.pop();
    }
  }
  const offsets = cand.map((t) => inp.hostStartNs + (t - ng) * binNs - guestStart);
  return { offsets, binNs };
}

/**
 * The best offset in [lo, hi] on a grid of `stepNs` (default: 100 ns or finer than 1/100000 of the
 * range): guest event t on vCPU v is consistent for every offset in [s - t, e - t] of each on-core
 * interval [s, e] of v, so the count as a function of the offset is the coverage of those offset
 * intervals, computed exactly at every grid point with a difference array (no sort). Uses every
 * `stride`-th guest event. Returns the middle of the longest run of grid points with the maximum.
 */
export function exactBest(inp: AlignInput, lo: number, hi: number, stride = 1, gLo = -Infinity, gHi = Infinity, stepNs?: number): { offsetNs: number; consistent: number } {
  const step = stepNs ?? Math.max(100, Math.ceil((hi - lo) / 100_000 / 100) * 100);
  // grid on multiples of the step, so that whole-µs offsets (µs text timestamps) are on it
  lo = Math.floor(lo / step) * step;
  const cells = Math.floor((hi - lo) / step) + 1;
  const diff = new Int32Array(cells + 1);
  for (const v of inp.vcpus) {
    const g = v.guestTs;
    const s = v.hostStart;
    const e = v.hostEnd;
    const i0 = gLo === -Infinity ? 0 : lowerBound(g, gLo);
    const i1 = gHi === Infinity ? g.length : lowerBound(g, gHi);
    let j0 = 0;
    for (let i = i0; i < i1; i += stride) {
      const t = g[i]!;
      // intervals overlapping [t + lo, t + hi]; e is ascending, so start from the first e >= t + lo
      if (j0 < e.length && e[j0]! < t + lo) j0 = gallopLower(e, t + lo, j0 + 1);
      for (let j = j0; j < e.length && s[j]! <= t + hi; j++) {
        const a = Math.max(0, Math.ceil((s[j]! - t - lo) / step));
        const b = Math.min(cells - 1, Math.floor((e[j]! - t - lo) / step));
        if (b < a) continue;
        diff[a]!++;
        diff[b + 1]!--;
      }
    }
  }
  let best = -1;
  let bestStart = 0;
  let bestLen = 0;
  let k = 0;
  let runStart = 0;
  let prevWasMax = false;
  for (let c = 0; c < cells; c++) {
    k += diff[c]!;
    if (k > best) {
      best = k;
      bestStart = runStart = c;
      bestLen = 1;
      prevWasMax = true;
    } else if (k === best) {
      if (!prevWasMax) runStart = c;
      if (c - runStart + 1 > bestLen) {
        bestStart = runStart;
        bestLen = c - runStart + 1;
      }
      prevWasMax = true;
    } else prevWasMax = false;
  }
  return { offsetNs: Math.round(lo + (bestStart + (bestLen - 1) / 2) * step), consistent: Math.max(0, best) };
}

export interface AutoAlignOptions {
  /** FFT size cap (coarse resolution = (guest span + host span) / maxBins). */
  maxBins?: number;
  peaks?: number;
  windowNs?: number;
}

export function autoAlign(inp: AlignInput, opts: AutoAlignOptions = {}): { offsetNs: number; info: AlignmentInfo } {
  let guestStart = Infinity;
  let guestEnd = -Infinity;
  for (const v of inp.vcpus) {
    if (v.guestTs.length === 0) continue;
    guestStart = Math.min(guestStart, v.guestTs[0]!);
    guestEnd = Math.max(guestEnd, v.guestTs[v.guestTs.length - 1]!);
  }
  if (guestStart === Infinity) return { offsetNs: 0, info: { method: 'auto', quality: 0, eventsChecked: 0 } };
  let total = 0;
  for (const v of inp.vcpus) total += v.guestTs.length;
  // Bins: at most 2^18, and not many more than 8 per guest event (finer bins only add FFT time).
  const maxBins = opts.maxBins ?? Math.min(1 << 18, Math.max(1 << 12, nextPow2(8 * total)));
  const { offsets, binNs } = coarsePeaks(inp, guestStart, guestEnd, opts.peaks ?? 16, maxBins);
  // Rank the coarse peaks by an exact search on a subsample (<= 20k events), then refine the best two.
  const stride = Math.max(1, Math.floor(total / 20_000));
  const halfNs = Math.max(2 * binNs, 250_000);
  const ranked = offsets
    .map((o) => ({ o, r: exactBest(inp, o - halfNs, o + halfNs, stride) }))
    .sort((x, y) => y.r.consistent - x.r.consistent)
    .slice(0, stride > 1 ? 2 : offsets.length);
  // All events, but only around the subsample's answer (a wide window times many events is costly).
  const stepA = Math.max(100, Math.ceil((2 * halfNs) / 100_000 / 100) * 100);
  const halfB = Math.max(50_000, 8 * stepA);
  let best = { offsetNs: 0, score: { consistent: -1, checked: 0 } };
  for (const { r } of ranked) {
    const full = stride > 1 ? exactBest(inp, r.offsetNs - halfB, r.offsetNs + halfB, 1) : r;
    const score = scoreOffset(inp, full.offsetNs);
    if (score.consistent > best.score.consistent) best = { offsetNs: full.offsetNs, score };
  }
  const offsetNs = best.offsetNs;
  // Per-window estimates around the global offset (drift check).
  const windowNs = opts.windowNs ?? Math.max(1e9, (guestEnd - guestStart) / 16);
  const windows: NonNullable<AlignmentInfo['windows']> = [];
  for (let w0 = guestStart; w0 < guestEnd; w0 += windowNs) {
    const w1 = Math.min(guestEnd + 1, w0 + windowNs);
    let events = 0;
    for (const v of inp.vcpus) events += lowerBound(v.guestTs, w1) - lowerBound(v.guestTs, w0);
    if (events < 100) continue;
    // ±500 µs around the global offset, at most ~20k events per window
    const r = exactBest(inp, offsetNs - 500_000, offsetNs + 500_000, Math.max(1, Math.floor(events / 20_000)), w0, w1);
    const sc = scoreOffset(inp, r.offsetNs, w0, w1);
    if (sc.checked === 0) continue;
    windows.push({ guestStartNs: w0, guestEndNs: w1, events: sc.checked, offsetNs: r.offsetNs, quality: sc.consistent / sc.checked });
  }
  let driftNsPerS = 0;
  if (windows.length >= 2) {
    let sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (const w of windows) {
      const x = ((w.guestStartNs + w.guestEndNs) / 2 - guestStart) / 1e9;
      sx += x;
      sy += w.offsetNs;
      sxx += x * x;
      sxy += x * w.offsetNs;
    }
    const m = windows.length;
    const den = m * sxx - sx * sx;
    if (den > 0) driftNsPerS = (m * sxy - sx * sy) / den;
  }
  const sc = best.score;
  return {
    offsetNs,
    info: {
      method: 'auto',
      quality: sc.checked ? sc.consistent / sc.checked : 0,
      eventsChecked: sc.checked,
      driftNsPerS: Math.round(driftNsPerS * 10) / 10,
      windows,
    },
  };
}


