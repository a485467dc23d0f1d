// Automatic clock alignment of a guest trace to the host timeline: the offset (host = guest + offset)
// that puts the most guest events of vCPU v inside host run intervals of v's thread. Coarse step: an
// FFT cross-correlation of binned guest event counts with binned host on-core coverage over the whole
// plausible range; fine steps: exact two-pointer counts around the best coarse peaks; then per-window
// estimates for drift. Leaves out applying drift (reported only).

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
      while (j < e.length && e[j]! < x) j++;
      if (j < e.length && s[j]! <= x) consistent++;
    }
  }
  return { consistent, checked };
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
  const gRe = new Float64Array(N);
  const gIm = new Float64Array(N);
  const hRe = new Float64Array(N);
  const hIm = new Float64Array(N);
  for (const v of inp.vcpus) {
    if (v.guestTs.length === 0 || v.hostStart.length === 0) continue;
    gRe.fill(0);
    gIm.fill(0);
    hRe.fill(0);
    hIm.fill(0);
    for (let i = 0; i < v.guestTs.length; i++) {
      const b = Math.floor((v.guestTs[i]! - guestStart) / binNs);
      if (b >= 0 && b < N) gRe[b]! += 1;
    }
    for (let j = 0; j < v.hostStart.length; j++) {
      // coverage of bins by [s, e), in bin units relative to the host start
      const s = (v.hostStart[j]! - inp.hostStartNs) / binNs;
      const e = (v.hostEnd[j]! - inp.hostStartNs) / binNs;
      let b = Math.max(0, Math.floor(s));
      const bEnd = Math.min(N - 1, Math.floor(e));
      for (; b <= bEnd; b++) hRe[b]! += Math.min(e, b + 1) - Math.max(s, b);
    }
    fft(gRe, gIm, false);
    fft(hRe, hIm, false);
    for (let k = 0; k < N; k++) {
      // conj(G) * H
      accRe[k]! += gRe[k]! * hRe[k]! + gIm[k]! * hIm[k]!;
      accIm[k]! += gRe[k]! * hIm[k]! - gIm[k]! * hRe[k]!;
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
  const cand: number[] = [];
  for (let t = 0; t < lagCount; t++) {
    const x = score[t]!;
    if ((t === 0 || x >= score[t - 1]!) && (t === lagCount - 1 || x > score[t + 1]!)) cand.push(t);
  }
  cand.sort((a, b) => score[b]! - score[a]!);
  const offsets = cand.slice(0, peaks).map((t) => inp.hostStartNs + (t - ng) * binNs - guestStart);
  return { offsets, binNs };
}

/** Search [center - halfRange, center + halfRange] from step `step` down to `minStep`; returns the middle of the best plateau. */
export function refineOffset(inp: AlignInput, centerNs: number, halfRangeNs: number, step: number, minStep: number, gLo = -Infinity, gHi = Infinity): { offsetNs: number; score: ScoreResult } {
  let lo = centerNs - halfRangeNs;
  let hi = centerNs + halfRangeNs;
  let best = centerNs;
  let bestScore = scoreOffset(inp, centerNs, gLo, gHi);
  for (;;) {
    let plateauLo = NaN;
    let plateauHi = NaN;
    for (let o = lo; o <= hi + 1e-9; o += step) {
      const s = scoreOffset(inp, o, gLo, gHi);
      if (s.consistent > bestScore.consistent) {
        bestScore = s;
        plateauLo = plateauHi = o;
      } else if (s.consistent === bestScore.consistent) {
        if (Number.isNaN(plateauLo) || o - plateauHi > step * 1.5) plateauLo = o;
        plateauHi = o;
      }
    }
    if (!Number.isNaN(plateauLo)) best = Math.round((plateauLo + plateauHi) / 2);
    if (step <= minStep) break;
    lo = (Number.isNaN(plateauLo) ? best : plateauLo) - step;
    hi = (Number.isNaN(plateauHi) ? best : plateauHi) + step;
    step = Math.max(minStep, step / 10);
  }
  return { offsetNs: best, score: scoreOffset(inp, best, gLo, gHi) };
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
  const { offsets, binNs } = coarsePeaks(inp, guestStart, guestEnd, opts.peaks ?? 4, opts.maxBins ?? 1 << 18);
  let best = { offsetNs: 0, score: { consistent: -1, checked: 0 } };
  for (const o of offsets) {
    const r = refineOffset(inp, o, 2 * binNs, binNs / 8, 100);
    if (r.score.consistent > best.score.consistent) best = r;
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
    const r = refineOffset(inp, offsetNs, Math.max(200_000, 4 * binNs), 2_000, 100, w0, w1);
    if (r.score.checked === 0) continue;
    windows.push({ guestStartNs: w0, guestEndNs: w1, events: r.score.checked, offsetNs: r.offsetNs, quality: r.score.consistent / r.score.checked });
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


