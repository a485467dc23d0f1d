// Timeline tiles with level of detail: for each visible lane, the runs in [t0, t1) — exact when
// there are few per pixel, else one value per pixel from the lane's LOD pyramid (lod.ts: busy
// fraction, run starts and dominant thread of the pixel). Until the session's LOD is built (in the
// background, started by the first tile) a dense lane falls back to one sample per pixel (the run
// under the pixel's middle), and the tile says so (`approx`) so that the view asks again.
// Cost is O(lanes x min(runs, width x 16)) plus binary searches, independent of trace size.

import type { FilterSpec } from '../../../shared/contract.ts';
import { encodeWindow, WindowStrings } from './arrow-window.ts';
import { compileFilter } from './filter.ts';
import { buildSessionLod, buildSessionLodAsync, exactPixels, pickLevel, summarize, type LaneLod, type PixelSummary, type SessionLod } from './lod.ts';
import { lowerBound, upperBound, type Lane, type SessionData } from './session-data.ts';

/** Up to this many runs per pixel in view, dense pixels are summed exactly from the runs. */
const EXACT_PIXELS_RUNS_PER_PX = 64;
/** Where the LOD has no level fine enough (a locally dense stretch), up to this many. */
const EXACT_PIXELS_MAX_RUNS_PER_PX = 512;

/** Sessions with at most this many runs get their LOD built synchronously (~10 ms). */
const SYNC_LOD_RUNS = 250_000;

interface LodState {
  lod: SessionLod | null;
  building: boolean;
  /** When a tile last asked for it (a build nobody asks for any more gives way to a newer one). */
  askedMs: number;
  /** When a tile first asked for it. */
  firstMs: number;
}
/** Beside each session's data: its LOD, built once. */
const lods = new WeakMap<SessionData, LodState>();
/** At most one background build at a time: a partial (growing) session hands out a new data
 * snapshot on each refresh, and a build per snapshot would pile up. */
let inFlight: LodState | null = null;
const STALE_MS = 1000;
/**
 * A build starts once the same data is asked for again this long after its first tile: while a
 * trace is indexed, each refresh of the partial session is a new snapshot, and building for each
 * would take CPU from the indexing for summaries nobody sees (the view asks again within ~300 ms
 * while its tile is approximate, so a settled session starts its build then).
 */
const SETTLE_MS = 250;

/**
 * The session's LOD, or null while it is built in the background (the first call starts it).
 * `settled`: the data is final (a complete session), so the build starts at once instead of on the
 * next ask SETTLE_MS later.
 */
export function sessionLod(d: SessionData, settled = false): LodState {
  const now = performance.now();
  let st = lods.get(d);
  if (st?.lod) return st;
  if (!st) {
    let runs = 0;
    for (const L of d.lanes) runs += L.startNs.length;
    if (runs <= SYNC_LOD_RUNS) {
      st = { lod: buildSessionLod(d), building: false, askedMs: now, firstMs: now };
      lods.set(d, st);
      return st;
    }
    st = { lod: null, building: false, askedMs: now, firstMs: now };
    lods.set(d, st);
  }
  st.askedMs = now;
  if (st.building) return st;
  if (!settled && now - st.firstMs < SETTLE_MS) return { lod: null, building: true, askedMs: now, firstMs: st.firstMs };
  // Another session's build runs and was asked for lately: wait for it (tiles are sampled meanwhile).
  if (inFlight && inFlight !== st && now - inFlight.askedMs < STALE_MS && !settled) {
    return { lod: null, building: true, askedMs: now, firstMs: st.firstMs };
  }
  const state = st;
  state.building = true;
  inFlight = state;
  const done = (l: SessionLod | null): void => {
    state.lod = l;
    state.building = false;
    if (inFlight === state) inFlight = null;
    const w = waiters.get(d);
    waiters.delete(d);
    for (const f of w ?? []) f(l);
  };
  // cancelled when a newer build took over; it restarts if its data is asked for again
  void buildSessionLodAsync(d, () => inFlight !== state).then(done, () => done(null));
  return state;
}

const waiters = new WeakMap<SessionData, ((l: SessionLod | null) => void)[]>();

/** The complete session's LOD once built (its build started if need be); null if a newer build took over. */
export function whenLodBuilt(d: SessionData): Promise<SessionLod | null> {
  const st = sessionLod(d, true);
  if (st.lod) return Promise.resolve(st.lod);
  return new Promise((r) => {
    const w = waiters.get(d) ?? [];
    w.push(r);
    waiters.set(d, w);
  });
}

const MAX_MARKERS = 400;

export interface Marker {
  lane: number;
  tsNs: number;
  kind: 'migrate';
  tid: number;
  from: number;
  to: number;
}

export function timelineTile(d: SessionData, spec: FilterSpec, t0Ns: number, t1Ns: number, widthPx: number): Uint8Array {
  const cf = compileFilter({ ...spec, t0Ns: undefined, t1Ns: undefined, kinds: undefined }, d);
  const strings = new WindowStrings(d.files.map((f) => f.comms));
  const width = Math.max(1, Math.floor(widthPx));
  const span = Math.max(1e-9, t1Ns - t0Ns);
  const pxNs = span / width;
  let cap = 1024;
  let n = 0;
  let lane = new Uint16Array(cap);
  let start = new Float64Array(cap);
  let end = new Float64Array(cap);
  let tid = new Int32Array(cap);
  let comm = new Int32Array(cap);
  let switches = new Uint32Array(cap);
  let match = new Uint8Array(cap);
  let busy = new Float32Array(cap);
  const push = (l: number, s: number, e: number, t: number, c: number, sw: number, m: number, bz = 1): void => {
    if (n === cap) {
      cap *= 2;
      const g = <T extends Float64Array | Float32Array | Int32Array | Uint16Array | Uint32Array | Uint8Array>(a: T, make: (k: number) => T): T => {
        const b = make(cap);
        b.set(a);
        return b;
      };
      lane = g(lane, (k) => new Uint16Array(k));
      start = g(start, (k) => new Float64Array(k));
      end = g(end, (k) => new Float64Array(k));
      tid = g(tid, (k) => new Int32Array(k));
      comm = g(comm, (k) => new Int32Array(k));
      switches = g(switches, (k) => new Uint32Array(k));
      match = g(match, (k) => new Uint8Array(k));
      busy = g(busy, (k) => new Float32Array(k));
    }
    lane[n] = l;
    start[n] = s;
    end[n] = e;
    tid[n] = t;
    comm[n] = c;
    switches[n] = sw;
    match[n] = m;
    busy[n] = bz;
    n++;
  };
  const lodState = sessionLod(d);
  let approx = false;
  const sum: PixelSummary = { busyNs: 0, starts: 0, domRun: -1 };
  const sTids = new Int32Array(32);
  const sNs = new Float64Array(32);
  const sRuns = new Int32Array(32);

  const visible = new Uint8Array(d.lanes.length);
  for (const L of d.lanes) {
    const ff = cf.files[L.file]!;
    if (!ff.allowed) continue;
    if (ff.cpus && !ff.cpus.has(L.cpu)) continue;
    visible[L.lane] = 1;
    const ff2 = ff;
    const matches = (t: number, c: number): number => {
      if (ff2.tids && !ff2.tids.has(t)) return 0;
      if (ff2.commOk && !(c >= 0 && ff2.commOk[c] === 1)) return 0;
      if (ff2.textComm && !(c >= 0 && ff2.textComm[c] === 1)) return 0;
      return 1;
    };
    const runs = L.startNs.length;
    // A cached session before its lanes are read: its preview's coarse levels (approximate: the
    // view asks again until the lanes are there); nothing where the view is finer than they go.
    const P = runs === 0 ? d.preview?.lanes[L.lane] : undefined;
    const plod = P ? d.preview!.lod.lanes[L.lane] : null;
    if (runs === 0 && d.preview) approx = true;
    if (runs === 0 && !(P && plod)) continue;
    const src = P ?? L;
    const i0 = Math.max(0, upperBound(L.startNs, t0Ns) - 1);
    const i1 = lowerBound(L.startNs, t1Ns);
    if (!P && i1 - i0 <= 2 * width) {
      for (let i = i0; i < i1; i++) {
        const t = L.tid[i]!;
        if (t === 0) continue; // idle: drawn as background
        const s = L.startNs[i]!;
        const e = i + 1 < runs ? L.startNs[i + 1]! : L.endNs;
        if (e <= t0Ns) continue;
        push(L.lane, s, e, t, strings.id(L.file, L.comm[i]!), 1, matches(t, L.comm[i]!));
      }
      continue;
    }
    // Dense: one value per pixel (busy fraction, run starts, dominant thread); adjacent pixels
    // with the same thread and (to 1/16) the same busy fraction merged.
    let openPx = -1;
    let openQ = -1;
    const pixel = (a: number, b: number, busyNs: number, starts: number, domRun: number): void => {
      if (domRun < 0 || !(busyNs > 0)) {
        openPx = -1;
        return;
      }
      const frac = Math.min(1, busyNs / (Math.min(b, L.endNs) - a));
      const q = Math.round(frac * 16);
      const t = src.tid[domRun]!;
      const cId = src.comm[domRun]!;
      if (openPx >= 0 && openQ === q && tid[openPx] === t) {
        end[openPx] = b;
        switches[openPx]! += starts;
        return;
      }
      push(L.lane, a, b, t, strings.id(L.file, cId), Math.max(1, starts), matches(t, cId), frac);
      openPx = n - 1;
      openQ = q;
    };
    /** Every pixel from level k of a lane's levels of detail (the session's, or its preview's). */
    const fromLod = (lod: LaneLod, lodLane: Lane, k: number): void => {
      for (let px = 0; px < width; px++) {
        const a = t0Ns + px * pxNs;
        const b = a + pxNs;
        if (a >= L.endNs) break;
        summarize(lod, lodLane, k, a, b, sum, sTids, sNs, sRuns);
        pixel(a, b, sum.busyNs, sum.starts, sum.domRun);
      }
    };
    if (P && plod) {
      // a bucket per pixel at the least (the preview stops at its coarse levels)
      let k = pickLevel(plod, pxNs);
      if (k < 0) k = pickLevel(plod, pxNs, 1);
      if (k < 0) continue;
      fromLod(plod, P, k);
      continue;
    }
    if (i1 - i0 <= EXACT_PIXELS_RUNS_PER_PX * width) {
      exactPixels(L, t0Ns, pxNs, width, (px, busyNs, starts, domRun) => pixel(t0Ns + px * pxNs, t0Ns + (px + 1) * pxNs, busyNs, starts, domRun));
      continue;
    }
    const lod = lodState.lod?.lanes[L.lane];
    const k = lod ? pickLevel(lod, pxNs) : -1;
    if (lod && k >= 0) {
      fromLod(lod, L, k);
      continue;
    }
    if (i1 - i0 <= EXACT_PIXELS_MAX_RUNS_PER_PX * width) {
      // locally denser than the LOD's finest level serves: still cheap enough to walk
      exactPixels(L, t0Ns, pxNs, width, (px, busyNs, starts, domRun) => pixel(t0Ns + px * pxNs, t0Ns + (px + 1) * pxNs, busyNs, starts, domRun));
      continue;
    }
    if (lodState.building) approx = true;
    // Dense, no LOD (yet): one sample per pixel, adjacent equal samples merged.
    let open = -1;
    for (let px = 0; px < width; px++) {
      const a = t0Ns + px * pxNs;
      const b = a + pxNs;
      const mid = a + pxNs / 2;
      if (mid >= L.endNs) break; // past this lane's trace: nothing ran there as far as it knows
      const r = upperBound(L.startNs, mid) - 1;
      const sw = lowerBound(L.startNs, b) - lowerBound(L.startNs, a);
      const t = r >= 0 ? L.tid[r]! : 0;
      if (t === 0 && sw === 0) {
        open = -1;
        continue;
      }
      const cId = r >= 0 ? L.comm[r]! : -1;
      const multi = sw > 1;
      if (open >= 0 && !multi && switches[open]! <= 1 && tid[open] === t) {
        end[open] = b;
        continue;
      }
      push(L.lane, a, b, t, strings.id(L.file, cId), Math.max(1, sw), matches(t, cId));
      open = multi ? -1 : n - 1;
    }
  }

  const markers: Marker[] = [];
  const m = d.migrations;
  const k0 = lowerBound(m.tsNs, t0Ns);
  const k1 = lowerBound(m.tsNs, t1Ns);
  let migrationsInView = 0;
  // Too many to draw one by one: no markers (the count is still reported), and no O(migrations) loop.
  const dense = k1 - k0 > MAX_MARKERS * 8;
  if (dense) migrationsInView = k1 - k0;
  for (let k = dense ? k1 : k0; k < k1; k++) {
    const f = m.file[k]!;
    const l = d.laneOf[f]?.get(m.toCpu[k]!);
    if (l === undefined || !visible[l]) continue;
    migrationsInView++;
    if (markers.length < MAX_MARKERS) markers.push({ lane: l, tsNs: m.tsNs[k]!, kind: 'migrate', tid: m.tid[k]!, from: m.fromCpu[k]!, to: m.toCpu[k]! });
  }
  return encodeWindow(
    {
      lane: lane.slice(0, n),
      startNs: start.slice(0, n),
      endNs: end.slice(0, n),
      tid: tid.slice(0, n),
      comm: comm.slice(0, n),
      switches: switches.slice(0, n),
      match: match.slice(0, n),
      busy: busy.slice(0, n),
    },
    { strings: strings.list, markers: migrationsInView <= MAX_MARKERS ? markers : [], migrationsInView, approx },
  );
}
