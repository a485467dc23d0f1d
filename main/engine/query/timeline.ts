// Timeline tiles with level of detail: for each visible lane, the runs in [t0, t1) — exact when
// there are few per pixel, else one sample per pixel (the run under the pixel's middle) with the
// number of switches inside it. Cost is O(lanes x min(runs, width) x log runs), independent of
// trace size, which keeps a redraw within a frame at any zoom.

import type { FilterSpec } from '../../../shared/contract.ts';
import { encodeWindow, WindowStrings } from './arrow-window.ts';
import { compileFilter } from './filter.ts';
import { lowerBound, upperBound, type SessionData } from './session-data.ts';

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
  const push = (l: number, s: number, e: number, t: number, c: number, sw: number, m: number): void => {
    if (n === cap) {
      cap *= 2;
      const g = <T extends Float64Array | Int32Array | Uint16Array | Uint32Array | Uint8Array>(a: T, make: (k: number) => T): T => {
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
    }
    lane[n] = l;
    start[n] = s;
    end[n] = e;
    tid[n] = t;
    comm[n] = c;
    switches[n] = sw;
    match[n] = m;
    n++;
  };

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
    if (runs === 0) continue;
    const i0 = Math.max(0, upperBound(L.startNs, t0Ns) - 1);
    const i1 = lowerBound(L.startNs, t1Ns);
    if (i1 - i0 <= 2 * width) {
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
    // Dense: one sample per pixel, adjacent equal samples merged.
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
      const busy = sw > 1 ? 1 : 0;
      if (open >= 0 && busy === 0 && switches[open]! <= 1 && tid[open] === t) {
        end[open] = b;
        continue;
      }
      push(L.lane, a, b, t, strings.id(L.file, cId), Math.max(1, sw), matches(t, cId));
      open = busy ? -1 : n - 1;
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
    },
    { strings: strings.list, markers: migrationsInView <= MAX_MARKERS ? markers : [], migrationsInView },
  );
}
