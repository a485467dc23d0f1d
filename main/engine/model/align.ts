// Automatic clock alignment of a guest trace to the host timeline: the offset (host = guest + offset)
// that puts the most guest events of vCPU v inside host run intervals of v's thread. Coarse step: an
// FFT cross-correlation of binned guest event counts with binned host on-core coverage over the whole
// plausible range; fine: exact counts on a 100 ns grid (difference array over the offset intervals
// each event allows) around the best coarse peaks; then per-window estimates for drift, applied as a
// piecewise-linear clock map when significant (see DRIFT_* below).

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

/**
 * Guest clock -> host clock: host = guest + offset, the offset constant (`knots` null) or
 * piecewise-linear in guest time through the knots (constant before the first and after the last).
 */
export interface ClockMap {
  offsetNs: number;
  knots: { guestNs: Float64Array; offsetNs: Float64Array } | null;
}

export const constantClock = (offsetNs: number): ClockMap => ({ offsetNs, knots: null });

/** The offset (host - guest, ns) at guest time g. */
export function offsetAt(m: ClockMap, g: number): number {
  const k = m.knots;
  if (!k) return m.offsetNs;
  const x = k.guestNs;
  const o = k.offsetNs;
  const n = x.length;
  if (g <= x[0]!) return o[0]!;
  if (g >= x[n - 1]!) return o[n - 1]!;
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (x[mid]! <= g) lo = mid;
    else hi = mid;
  }
  return Math.round(o[lo]! + ((o[hi]! - o[lo]!) * (g - x[lo]!)) / (x[hi]! - x[lo]!));
}

/** Host time of guest time g. */
export function toHostNs(m: ClockMap, g: number): number {
  return m.knots ? g + offsetAt(m, g) : g + m.offsetNs;
}

/** out[i] = toHostNs(m, src[i]) (out may be a new array or src itself). */
export function mapTimes(m: ClockMap, src: Float64Array, out: Float64Array = new Float64Array(src.length)): Float64Array {
  if (!m.knots) {
    const off = m.offsetNs;
    for (let i = 0; i < src.length; i++) out[i] = src[i]! + off;
  } else for (let i = 0; i < src.length; i++) out[i] = toHostNs(m, src[i]!);
  return out;
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
    const i = gLo === -Infinity ? 0 : lowerBound(g, gLo);
    const iEnd = gHi === Infinity ? g.length : lowerBound(g, gHi);
    consistent += countInside(g, i, iEnd, offsetNs, v.hostStart, v.hostEnd, inp.hostStartNs, inp.hostEndNs);
    checked += insideChecked;
  }
  return { consistent, checked };
}

/** countInside's second result. */
let insideChecked = 0;

/** scoreOffset's loop over one vCPU's events [i, iEnd): the consistent count (the checked count in `insideChecked`). */
function countInside(g: Float64Array, i: number, iEnd: number, offsetNs: number, s: Float64Array, e: Float64Array, hostStartNs: number, hostEndNs: number): number {
  let consistent = 0;
  let checked = 0;
  // first interval that could contain the first event
  let j = i < iEnd ? lowerBound(e, g[i]! + offsetNs) : 0;
  for (; i < iEnd; i++) {
    const x = g[i]! + offsetNs;
    if (x < hostStartNs || x > hostEndNs) continue;
    checked++;
    if (j < e.length && e[j]! < x) j = gallopLower(e, x, j + 1);
    if (j < e.length && s[j]! <= x) consistent++;
  }
  insideChecked = checked;
  return consistent;
}

/** scoreOffset for a clock map (drift applied). */
export function scoreMap(inp: AlignInput, m: ClockMap, gLo = -Infinity, gHi = Infinity): ScoreResult {
  if (!m.knots) return scoreOffset(inp, m.offsetNs, gLo, gHi);
  let consistent = 0;
  let checked = 0;
  for (const v of inp.vcpus) {
    const g = v.guestTs;
    let i = gLo === -Infinity ? 0 : lowerBound(g, gLo);
    const iEnd = gHi === Infinity ? g.length : lowerBound(g, gHi);
    const s = v.hostStart;
    const e = v.hostEnd;
    let j = i < iEnd ? lowerBound(e, toHostNs(m, g[i]!)) : 0;
    for (; i < iEnd; i++) {
      const x = toHostNs(m, g[i]!);
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

/**
 * Scratch arrays kept between calls (this thread): the coarse search's four transform-sized arrays
 * (up to 8 MB) and the exact search's difference array (~400 KB, ~60 calls per alignment). Fresh
 * pages cost ~3.6 ms CPU per MB on the bench machine; a build aligns one guest per VM, and pairing
 * several same-sized guests by alignment runs it for every guest x VM.
 */
let f64Room = new Float64Array(0);
let i32Room = new Int32Array(0);
function scratchF64(n: number): Float64Array {
  if (f64Room.length < n) f64Room = new Float64Array(n);
  return f64Room.subarray(0, n);
}
function scratchI32Zeroed(n: number): Int32Array {
  if (i32Room.length < n) i32Room = new Int32Array(n);
  return i32Room.subarray(0, n).fill(0);
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
  const room = scratchF64(4 * N);
  const accRe = room.subarray(0, N).fill(0);
  const accIm = room.subarray(N, 2 * N).fill(0);
  // One complex FFT per vCPU: z = g + i·h, then G[k] = (Z[k] + conj(Z[-k])) / 2 and
  // H[k] = (Z[k] - conj(Z[-k])) / 2i (both signals are real).
  const zRe = room.subarray(2 * N, 3 * N);
  const zIm = room.subarray(3 * N, 4 * N);
  for (const v of inp.vcpus) {
    if (v.guestTs.length === 0 || v.hostStart.length === 0) continue;
    zRe.fill(0);
    zIm.fill(0);
    binEvents(zRe, v.guestTs, guestStart, binNs);
    binCoverage(zIm, v.hostStart, v.hostEnd, inp.hostStartNs, binNs);
    fft(zRe, zIm, false);
    accumulateCross(zRe, zIm, accRe, accIm);
  }
  fft(accRe, accIm, true);
  // lag d (host bin - guest bin) in [-ng, N - ng); score at index d mod N
  // (in zRe's room: the transforms are done)
  const score = zRe;
  lagScores(score, accRe, ng);
  const cand = topPeaks(score, peaks);
  const offsets = cand.map((t) => inp.hostStartNs + (t - ng) * binNs - guestStart);
  return { offsets, binNs };
}

// The coarse search's loops are functions of their own (see fft.ts: a long loop compiled on the
// spot in a cold process is thrown away when it reaches code that never ran).

/** zRe[b] += 1 for each guest event in bin b (relative to guestStart). */
function binEvents(zRe: Float64Array, ts: Float64Array, guestStart: number, binNs: number): void {
  const N = zRe.length;
  for (let i = 0; i < ts.length; i++) {
    const b = Math.floor((ts[i]! - guestStart) / binNs);
    if (b >= 0 && b < N) zRe[b]! += 1;
  }
}

/** zIm[b] += coverage of bin b by the intervals [s, e), in bin units relative to hostStart. */
function binCoverage(zIm: Float64Array, starts: Float64Array, ends: Float64Array, hostStart: number, binNs: number): void {
  const N = zIm.length;
  for (let j = 0; j < starts.length; j++) {
    const s = (starts[j]! - hostStart) / binNs;
    const e = (ends[j]! - hostStart) / binNs;
    let b = Math.max(0, Math.floor(s));
    const bEnd = Math.min(N - 1, Math.floor(e));
    for (; b <= bEnd; b++) zIm[b]! += Math.min(e, b + 1) - Math.max(s, b);
  }
}

/** acc += conj(G) * H, with Z = FFT(g + i·h): G[k] = (Z[k] + conj(Z[-k])) / 2, H[k] = (Z[k] - conj(Z[-k])) / 2i. */
function accumulateCross(zRe: Float64Array, zIm: Float64Array, accRe: Float64Array, accIm: Float64Array): void {
  const N = zRe.length;
  for (let k = 0; k < N; k++) {
    const m = (N - k) & (N - 1);
    const gr = (zRe[k]! + zRe[m]!) / 2;
    const gi = (zIm[k]! - zIm[m]!) / 2;
    const hr = (zIm[k]! + zIm[m]!) / 2;
    const hi = (zRe[m]! - zRe[k]!) / 2;
    accRe[k]! += gr * hr + gi * hi;
    accIm[k]! += gr * hi - gi * hr;
  }
}

/** score[t] = the correlation at lag t - ng (circular index (t - ng) mod N). */
function lagScores(score: Float64Array, accRe: Float64Array, ng: number): void {
  const N = accRe.length;
  for (let t = 0; t < N; t++) {
    const d = t - ng;
    score[t] = accRe[((d % N) + N) % N]!;
  }
}

/** Indices of the `peaks` highest local maxima, ties in index order (what a stable sort by score would keep). */
function topPeaks(score: Float64Array, peaks: number): number[] {
  const lagCount = score.length;
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
  return cand;
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
  const diff = scratchI32Zeroed(cells + 1);
  for (const v of inp.vcpus) {
    const g = v.guestTs;
    const i0 = gLo === -Infinity ? 0 : lowerBound(g, gLo);
    const i1 = gHi === Infinity ? g.length : lowerBound(g, gHi);
    addOffsetRanges(diff, g, i0, i1, stride, v.hostStart, v.hostEnd, lo, hi, step, cells);
  }
  const best = longestMaxRun(diff, cells);
  return { offsetNs: Math.round(lo + (runStartOut + (runLenOut - 1) / 2) * step), consistent: Math.max(0, best) };
}

/** diff[a]++, diff[b + 1]-- for the grid cells [a, b] of offsets that put guest event i (i0 <= i < i1, every `stride`-th) inside an interval [s, e]. */
function addOffsetRanges(diff: Int32Array, g: Float64Array, i0: number, i1: number, stride: number, s: Float64Array, e: Float64Array, lo: number, hi: number, step: number, cells: number): void {
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

/** longestMaxRun's first cell and length of the run (no object per call). */
let runStartOut = 0;
let runLenOut = 0;

/**
 * The maximum of the prefix sums of diff over [0, cells), and (in runStartOut, runLenOut) the
 * longest run of cells at it. The loop alone: code after a long loop that is compiled on the spot
 * had no type feedback yet, and the compiled code was thrown away at the return of every call
 * ('insufficient type feedback' deopt loop: ~60 calls per alignment, each compiled again).
 */
function longestMaxRun(diff: Int32Array, cells: number): number {
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
  runStartOut = bestStart;
  runLenOut = bestLen;
  return best;
}

export interface AutoAlignOptions {
  /** FFT size cap (coarse resolution = (guest span + host span) / maxBins). */
  maxBins?: number;
  peaks?: number;
  windowNs?: number;
}

/** Per-window search range around the neighbouring window's offset. */
const DRIFT_SEARCH_NS = 500_000;
/** Drift windows: 1/16 of the guest trace, at least this long. */
const DRIFT_MIN_WINDOW_NS = 250e6;
/** Windows fitting worse than this are not used as drift knots (nor followed). */
const DRIFT_MIN_WINDOW_QUALITY = 0.5;
/** Drift is applied only when the offset moves at least this much over the trace... */
export const DRIFT_MIN_NS = 10_000;
/** ...and following it makes at least this fraction more of the guest events consistent. */
export const DRIFT_MIN_GAIN = 0.002;

/** The automatic alignment: `offsetNs` the best single offset, `clock` what to apply (drift when significant). */
export function autoAlign(inp: AlignInput, opts: AutoAlignOptions = {}): { offsetNs: number; clock: ClockMap; info: AlignmentInfo } {
  let guestStart = Infinity;
  let guestEnd = -Infinity;
  for (const v of inp.vcpus) {
    if (v.guestTs.length === 0) continue;
    guestStart = Math.min(guestStart, v.guestTs[0]!);
    guestEnd = Math.max(guestEnd, v.guestTs[v.guestTs.length - 1]!);
  }
  if (guestStart === Infinity) return { offsetNs: 0, clock: constantClock(0), info: { method: 'auto', quality: 0, eventsChecked: 0 } };
  let total = 0;
  for (const v of inp.vcpus) total += v.guestTs.length;
  // Bins: at most 2^18, and not many more than 2 per guest event (finer bins only add FFT time; the
  // exact search around each coarse peak covers +-2 bins).
  const maxBins = opts.maxBins ?? Math.min(1 << 18, Math.max(1 << 12, nextPow2(2 * total)));
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
  // Per-window estimates (drift). Windows with enough events; each searched +-500 us around its
  // neighbour's estimate, starting from the window the global offset fits best and walking
  // outwards, so that a drift larger than the search range over the whole trace is still followed.
  // (and long enough for ~400 guest events on average: a window's estimate needs events)
  const windowNs = opts.windowNs ?? Math.max(DRIFT_MIN_WINDOW_NS, (guestEnd - guestStart) / 16, ((guestEnd - guestStart) * 400) / total);
  const spans: Array<{ w0: number; w1: number; events: number }> = [];
  for (let w0 = guestStart; w0 < guestEnd; w0 += windowNs) {
    const w1 = Math.min(guestEnd + 1, w0 + windowNs);
    let events = 0;
    for (const v of inp.vcpus) events += lowerBound(v.guestTs, w1) - lowerBound(v.guestTs, w0);
    if (events >= 100) spans.push({ w0, w1, events });
  }
  type Win = NonNullable<AlignmentInfo['windows']>[number];
  const est: Array<Win | null> = spans.map(() => null);
  const search = (i: number, center: number): void => {
    const { w0, w1, events } = spans[i]!;
    const r = exactBest(inp, center - DRIFT_SEARCH_NS, center + DRIFT_SEARCH_NS, Math.max(1, Math.floor(events / 20_000)), w0, w1);
    const sc = scoreOffset(inp, r.offsetNs, w0, w1);
    if (sc.checked > 0) est[i] = { guestStartNs: w0, guestEndNs: w1, events: sc.checked, offsetNs: r.offsetNs, quality: sc.consistent / sc.checked };
  };
  if (spans.length > 0) {
    let start = 0;
    let startQ = -1;
    spans.forEach((w, i) => {
      const sc = scoreOffset(inp, offsetNs, w.w0, w.w1);
      const q = sc.checked ? sc.consistent / sc.checked : 0;
      if (q > startQ) {
        startQ = q;
        start = i;
      }
    });
    search(start, offsetNs);
    for (const dir of [1, -1]) {
      let center = est[start]?.offsetNs ?? offsetNs;
      for (let i = start + dir; i >= 0 && i < spans.length; i += dir) {
        search(i, center);
        const e = est[i];
        if (e && e.quality >= DRIFT_MIN_WINDOW_QUALITY) center = e.offsetNs;
      }
    }
  }
  const windows = est.filter((w): w is Win => w !== null);
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
  // Apply the drift when it is significant: the windows' offsets move by >= DRIFT_MIN_NS over the
  // trace (least-squares line) and following them puts >= DRIFT_MIN_GAIN more of the guest events
  // inside their vCPU's on-core intervals than the single offset does. Two maps through the
  // per-window estimates are tried, the one with more consistent events kept: piecewise-linear
  // through each window's offset (at its middle; the end segments extended to the trace's ends),
  // and the least-squares line (per-window estimates scatter by tens of µs where on-core intervals
  // are long and leave wide plateaus; the line averages that out).
  let clock = constantClock(offsetNs);
  let sc = best.score;
  const good = windows.filter((w) => w.quality >= DRIFT_MIN_WINDOW_QUALITY);
  if (good.length >= 3 && Math.abs(driftNsPerS) * ((guestEnd - guestStart) / 1e9) >= DRIFT_MIN_NS) {
    // The least-squares line through the windows' offsets; then the guest times with that drift
    // taken out (each window's events are then consistent at one offset: a window's own search
    // cannot resolve drift within it) are searched again, globally and per window, for the
    // line's exact intercept and the piecewise-linear knots.
    const n0 = good.length;
    let sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (const w of good) {
      const x = ((w.guestStartNs + w.guestEndNs) / 2 - guestStart) / 1e9;
      sx += x;
      sy += w.offsetNs;
      sxx += x * x;
      sxy += x * w.offsetNs;
    }
    const slope = (n0 * sxy - sx * sy) / (n0 * sxx - sx * sx);
    const icept = (sy - slope * sx) / n0;
    const drift = (g: number): number => (slope * (g - guestStart)) / 1e9;
    const flat: AlignInput = { ...inp, vcpus: inp.vcpus.map((v) => ({ ...v, guestTs: v.guestTs.map((g) => g + drift(g)) })) };
    const c = exactBest(flat, icept - DRIFT_SEARCH_NS, icept + DRIFT_SEARCH_NS, Math.max(1, Math.floor(total / 20_000)));
    const c2 = exactBest(flat, c.offsetNs - 50_000, c.offsetNs + 50_000, 1);
    const line: ClockMap = {
      offsetNs,
      knots: { guestNs: Float64Array.from([guestStart, guestEnd]), offsetNs: Float64Array.from([c2.offsetNs, Math.round(c2.offsetNs + drift(guestEnd))]) },
    };
    const mid: number[] = [];
    const off: number[] = [];
    for (const w of spans) {
      const w0 = w.w0 + drift(w.w0);
      const w1 = w.w1 + drift(w.w1);
      const r = exactBest(flat, c2.offsetNs - DRIFT_SEARCH_NS / 5, c2.offsetNs + DRIFT_SEARCH_NS / 5, Math.max(1, Math.floor(w.events / 20_000)), w0, w1);
      const q = scoreOffset(flat, r.offsetNs, w0, w1);
      if (q.checked === 0 || q.consistent / q.checked < DRIFT_MIN_WINDOW_QUALITY) continue;
      const m = (w.w0 + w.w1) / 2;
      mid.push(m);
      off.push(Math.round(r.offsetNs + drift(m)));
    }
    const candidates = [line];
    const n = mid.length;
    if (n >= 2) {
      // piecewise-linear through the windows' middles, the end segments extended to the trace's ends
      const headSlope = (off[1]! - off[0]!) / (mid[1]! - mid[0]!);
      const tailSlope = (off[n - 1]! - off[n - 2]!) / (mid[n - 1]! - mid[n - 2]!);
      candidates.push({
        offsetNs,
        knots: {
          guestNs: Float64Array.from([guestStart, ...mid, guestEnd]),
          offsetNs: Float64Array.from([Math.round(off[0]! - headSlope * (mid[0]! - guestStart)), ...off, Math.round(off[n - 1]! + tailSlope * (guestEnd - mid[n - 1]!))]),
        },
      });
    }
    for (const cand of candidates) {
      const sm = scoreMap(inp, cand);
      if (sm.consistent - sc.consistent >= (clock.knots ? 1 : Math.max(1, DRIFT_MIN_GAIN * sc.checked))) {
        clock = cand;
        sc = sm;
      }
    }
  }
  const applied = clock.knots !== null;
  return {
    offsetNs,
    clock,
    info: {
      method: 'auto',
      quality: sc.checked ? sc.consistent / sc.checked : 0,
      eventsChecked: sc.checked,
      driftNsPerS: Math.round(driftNsPerS * 10) / 10,
      driftApplied: applied,
      ...(applied ? { clockKnots: Array.from(clock.knots!.guestNs, (g, i) => ({ guestNs: g, offsetNs: clock.knots!.offsetNs[i]! })) } : {}),
      offsetAtStartNs: offsetAt(clock, guestStart),
      offsetAtEndNs: offsetAt(clock, guestEnd),
      windows,
    },
  };
}


