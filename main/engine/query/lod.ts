// Level-of-detail summaries of the timeline's run lanes: per lane, a pyramid of fixed-width time
// buckets (level 0 holds about 8 runs per bucket; each level above merges 4 buckets) with the busy
// time (non-idle), the number of run starts and the dominant thread of each bucket. Zoomed-out
// tiles are drawn from it: every pixel shows how busy its lane was and who ran most, instead of
// sampling one run under the pixel (which hides short runs and aliases). Built once per session in
// the background (time-sliced, so the engine keeps answering), kept beside the session's data;
// about 3.4 bytes per run (a 42M-run lane set: ~140 MB).
//
// Exactness: busy time and run starts are exact per bucket. The dominant thread is exact at level 0
// (the thread with the most busy time in the bucket, among the first 64 distinct threads of the
// bucket); above level 0 it is the thread whose level-0 dominance adds up to the most among the
// merged buckets, an approximation (a thread that is second everywhere is never shown dominant).

import type { Lane, SessionData } from './session-data.ts';

const RUNS_PER_BUCKET = 8;
const FANOUT = 4;
/** Levels stop once a level has at most this many buckets (a whole-lane view needs no coarser one). */
const TOP_BUCKETS = 64;
const SCRATCH = 64;

export interface LodLevel {
  /** Bucket width in ns. */
  width: number;
  n: number;
  /** Busy (non-idle) ns in the bucket. */
  busy: Float32Array;
  /** Run starts (switches) in the bucket, idle runs included. */
  starts: Uint32Array;
  /** A run of the bucket's dominant thread (its tid and comm), -1 when the bucket is idle. */
  domRun: Int32Array;
  /** Busy ns credited to the dominant thread. */
  domNs: Float32Array;
}

export interface LaneLod {
  /** Bucket 0 of every level starts here (the lane's first run). */
  originNs: number;
  endNs: number;
  levels: LodLevel[];
}

export interface SessionLod {
  /** By lane index; null for a lane too small to need one. */
  lanes: (LaneLod | null)[];
}

function level(width: number, n: number): LodLevel {
  return { width, n, busy: new Float32Array(n), starts: new Uint32Array(n), domRun: new Int32Array(n).fill(-1), domNs: new Float32Array(n) };
}

/** Level 0 of one lane, in one pass over its runs; `budget` lets the caller slice the work. */
export class LaneLodBuilder {
  readonly lod: LaneLod | null;
  private i = 0;
  private readonly l0: LodLevel | null;
  private readonly w: number;
  // scratch: threads of the bucket being filled
  private cur = -1;
  private k = 0;
  private readonly sTid = new Int32Array(SCRATCH);
  private readonly sNs = new Float64Array(SCRATCH);
  private readonly sRun = new Int32Array(SCRATCH);
  private busyAcc = 0;

  constructor(private readonly L: Lane) {
    const runs = L.startNs.length;
    const origin = runs > 0 ? L.startNs[0]! : 0;
    const span = L.endNs - origin;
    if (runs < RUNS_PER_BUCKET * 4 || !(span > 0)) {
      this.lod = null;
      this.l0 = null;
      this.w = 1;
      return;
    }
    // power-of-two ns width: bucket edges are exact in float64
    this.w = 2 ** Math.ceil(Math.log2(Math.max(1, (span / runs) * RUNS_PER_BUCKET)));
    this.l0 = level(this.w, Math.max(1, Math.ceil(span / this.w)));
    this.lod = { originNs: origin, endNs: L.endNs, levels: [this.l0] };
  }

  get done(): boolean {
    return this.l0 === null || this.i >= this.L.startNs.length;
  }

  private flush(): void {
    const l0 = this.l0!;
    const b = this.cur;
    if (b < 0) return;
    l0.busy[b] = this.busyAcc;
    let best = -1;
    for (let j = 0; j < this.k; j++) if (best < 0 || this.sNs[j]! > this.sNs[best]!) best = j;
    if (best >= 0) {
      l0.domRun[b] = this.sRun[best]!;
      l0.domNs[b] = this.sNs[best]!;
    }
    this.k = 0;
    this.busyAcc = 0;
  }

  private add(b: number, tid: number, run: number, ns: number): void {
    if (b !== this.cur) {
      this.flush();
      this.cur = b;
    }
    this.busyAcc += ns;
    for (let j = 0; j < this.k; j++) {
      if (this.sTid[j] === tid) {
        this.sNs[j]! += ns;
        this.sRun[j] = run;
        return;
      }
    }
    if (this.k < SCRATCH) {
      this.sTid[this.k] = tid;
      this.sNs[this.k] = ns;
      this.sRun[this.k] = run;
      this.k++;
    }
  }

  /** Processes up to `maxRuns` runs; returns true when level 0 is complete (then call finish). */
  step(maxRuns: number): boolean {
    const l0 = this.l0;
    if (!l0) return true;
    const L = this.L;
    const runs = L.startNs.length;
    const origin = this.lod!.originNs;
    const w = this.w;
    const last = l0.n - 1;
    const stop = Math.min(runs, this.i + maxRuns);
    for (let i = this.i; i < stop; i++) {
      const s = L.startNs[i]!;
      const e = Math.min(i + 1 < runs ? L.startNs[i + 1]! : L.endNs, L.endNs);
      const bs = Math.min(last, Math.floor((s - origin) / w));
      l0.starts[bs]!++;
      const tid = L.tid[i]!;
      if (tid === 0 || !(e > s)) continue; // idle: not busy, never dominant
      const be = Math.min(last, Math.max(bs, Math.ceil((e - origin) / w) - 1));
      if (be === bs) {
        this.add(bs, tid, i, e - s);
        continue;
      }
      this.add(bs, tid, i, origin + (bs + 1) * w - s);
      for (let b = bs + 1; b < be; b++) this.add(b, tid, i, w);
      this.add(be, tid, i, e - (origin + be * w));
    }
    this.i = stop;
    if (stop >= runs) this.flush();
    return stop >= runs;
  }

  /** The levels above 0, each from the one below. */
  finish(): LaneLod | null {
    const lod = this.lod;
    if (!lod) return null;
    let below = lod.levels[0]!;
    while (below.n > TOP_BUCKETS) {
      const up = level(below.width * FANOUT, Math.ceil(below.n / FANOUT));
      const tids = new Int32Array(FANOUT);
      const ns = new Float64Array(FANOUT);
      const run = new Int32Array(FANOUT);
      for (let j = 0; j < up.n; j++) {
        let busy = 0;
        let starts = 0;
        let k = 0;
        const c1 = Math.min(below.n, (j + 1) * FANOUT);
        for (let c = j * FANOUT; c < c1; c++) {
          busy += below.busy[c]!;
          starts += below.starts[c]!;
          const r = below.domRun[c]!;
          if (r < 0) continue;
          const t = this.L.tid[r]!;
          let m = 0;
          while (m < k && tids[m] !== t) m++;
          if (m === k) {
            tids[k] = t;
            ns[k] = 0;
            k++;
          }
          ns[m]! += below.domNs[c]!;
          run[m] = r;
        }
        up.busy[j] = busy;
        up.starts[j] = starts;
        let best = -1;
        for (let m = 0; m < k; m++) if (best < 0 || ns[m]! > ns[best]!) best = m;
        if (best >= 0) {
          up.domRun[j] = run[best]!;
          up.domNs[j] = ns[best]!;
        }
      }
      lod.levels.push(up);
      below = up;
    }
    return lod;
  }
}

/** Builds every lane's LOD synchronously (tests, small sessions). */
export function buildSessionLod(d: SessionData): SessionLod {
  return {
    lanes: d.lanes.map((L) => {
      const b = new LaneLodBuilder(L);
      b.step(Infinity);
      return b.finish();
    }),
  };
}

/** Builds in slices of about `sliceMs`, yielding to the event loop between them. */
export async function buildSessionLodAsync(d: SessionData, isCancelled: () => boolean, sliceMs = 8): Promise<SessionLod | null> {
  const lanes: (LaneLod | null)[] = [];
  for (const L of d.lanes) {
    const b = new LaneLodBuilder(L);
    let chunk = 65536;
    for (;;) {
      if (isCancelled()) return null;
      const t0 = performance.now();
      const done = b.step(chunk);
      const ms = performance.now() - t0;
      if (ms < sliceMs / 2) chunk *= 2;
      else if (ms > sliceMs * 2 && chunk > 4096) chunk >>= 1;
      if (done) break;
      await new Promise((r) => setImmediate(r));
    }
    lanes.push(b.finish());
    await new Promise((r) => setImmediate(r));
  }
  return { lanes };
}

/** The finest level whose buckets fit `perBucket` times in a pixel of `pxNs`, or -1. */
export function pickLevel(lod: LaneLod, pxNs: number, perBucket = 4): number {
  let best = -1;
  for (let k = 0; k < lod.levels.length; k++) if (lod.levels[k]!.width * perBucket <= pxNs) best = k;
  return best;
}

export interface PixelSummary {
  busyNs: number;
  starts: number;
  /** A run of the dominant thread, -1 if nothing ran. */
  domRun: number;
}

/**
 * Busy ns, run starts and dominant thread in [a, b) from level `k`. Buckets cut by the range edges
 * count in proportion to their overlap (busy, dominance); a bucket's run starts count in the pixel
 * holding the bucket's start, so that adjacent pixels add up to the exact total.
 */
export function summarize(lod: LaneLod, lane: Lane, k: number, a: number, b: number, out: PixelSummary, tids: Int32Array, ns: Float64Array, runs: Int32Array): void {
  const lv = lod.levels[k]!;
  const w = lv.width;
  const o = lod.originNs;
  const j0 = Math.max(0, Math.floor((a - o) / w));
  const j1 = Math.min(lv.n, Math.ceil((b - o) / w));
  let busy = 0;
  let starts = 0;
  let m = 0;
  for (let j = j0; j < j1; j++) {
    const bs = o + j * w;
    const be = bs + w;
    if (bs >= a && bs < b) starts += lv.starts[j]!;
    const f = (Math.min(be, b) - Math.max(bs, a)) / w;
    if (f <= 0) continue;
    busy += lv.busy[j]! * f;
    const r = lv.domRun[j]!;
    if (r < 0) continue;
    const t = lane.tid[r]!;
    let q = 0;
    while (q < m && tids[q] !== t) q++;
    if (q === m) {
      if (m === tids.length) continue;
      tids[m] = t;
      ns[m] = 0;
      runs[m] = r;
      m++;
    }
    ns[q]! += lv.domNs[j]! * f;
  }
  let best = -1;
  for (let q = 0; q < m; q++) if (best < 0 || ns[q]! > ns[best]!) best = q;
  out.busyNs = busy;
  out.starts = starts;
  out.domRun = best >= 0 ? runs[best]! : -1;
}

/**
 * The exact per-pixel summary, by walking the runs of the view (for views with up to a few dozen
 * runs per pixel, and as the reference the LOD is tested against): pixel px covers
 * [t0 + px * pxNs, t0 + (px + 1) * pxNs); emit gets its busy ns, run starts and dominant run
 * (the thread with the most busy ns; -1 if idle), for every pixel up to the lane's end.
 */
export function exactPixels(L: Lane, t0Ns: number, pxNs: number, width: number, emit: (px: number, busyNs: number, starts: number, domRun: number) => void): void {
  const runs = L.startNs.length;
  const tids = new Int32Array(SCRATCH);
  const ns = new Float64Array(SCRATCH);
  const rs = new Int32Array(SCRATCH);
  let i = Math.max(0, upperBoundF64(L.startNs, t0Ns) - 1);
  for (let px = 0; px < width; px++) {
    const a = t0Ns + px * pxNs;
    const b = a + pxNs;
    if (a >= L.endNs) break;
    let busy = 0;
    let starts = 0;
    let m = 0;
    // i: first run that may overlap [a, b)
    for (let j = i; j < runs; j++) {
      const s = L.startNs[j]!;
      if (s >= b) break;
      if (s >= a) starts++;
      const e = Math.min(j + 1 < runs ? L.startNs[j + 1]! : L.endNs, L.endNs);
      const ov = Math.min(e, b) - Math.max(s, a);
      const t = L.tid[j]!;
      if (t === 0 || !(ov > 0)) continue;
      busy += ov;
      let q = 0;
      while (q < m && tids[q] !== t) q++;
      if (q === m) {
        if (m === SCRATCH) continue;
        tids[m] = t;
        ns[m] = 0;
        m++;
      }
      ns[q]! += ov;
      rs[q] = j;
    }
    // the next pixel starts with the run under b
    while (i + 1 < runs && L.startNs[i + 1]! <= b) i++;
    let best = -1;
    for (let q = 0; q < m; q++) if (best < 0 || ns[q]! > ns[best]!) best = q;
    emit(px, busy, starts, best >= 0 ? rs[best]! : -1);
  }
}

function upperBoundF64(a: Float64Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (a[m]! <= v) lo = m + 1;
    else hi = m;
  }
  return lo;
}
