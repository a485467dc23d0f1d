// Timestamp conversion applied while reading, in trace-cmd's order (trace-input.c timestamp_calc):
// guest->host correction from TIME_SHIFT samples (interpolated when the INTERPOLATE flag is set),
// then TSC2NSEC (mult/shift), then the OFFSET option. Doubles, not 64-bit integers: exact below
// 2^53, within a nanosecond above (documented in README.md).

import type { TimeShift } from './header.ts';

export interface TimeConversion {
  timeShift?: TimeShift;
  tsc2nsec?: { mult: number; shift: number };
  offsetNs: number;
}

export function needsConversion(t: TimeConversion): boolean {
  return t.timeShift !== undefined || t.tsc2nsec !== undefined || t.offsetNs !== 0;
}

/** C's `a / b` on integers (truncates toward zero). */
function cdiv(a: number, b: number): number {
  return Math.trunc(a / b);
}

function correction(ts: number, interpolate: boolean, s: TimeShift['cpus'][number], lo: number, hi: number): number {
  let tscor: number;
  const minOffset = s.offsets[lo]!;
  if (interpolate) {
    const delta = s.times[hi]! - s.times[lo]!;
    const off = (ts - s.times[lo]!) * (s.offsets[hi]! - minOffset);
    tscor = delta === 0 ? minOffset : minOffset + cdiv(off + cdiv(delta, 2), delta);
  } else tscor = minOffset;
  const scaling = s.scalings[lo]!;
  const fraction = s.fractions[lo]!;
  const scaled = scaling === 1 && fraction === 0 ? ts : Math.floor((ts * scaling) / 2 ** fraction);
  return scaled + tscor;
}

/** Guest clock -> host clock for one guest CPU (trace-input.c timestamp_host_sync). */
export function guestToHost(ts: number, cpu: number, t: TimeShift): number {
  const s = t.cpus[cpu];
  if (!s) return ts;
  const n = s.times.length;
  if (n === 0) return ts;
  if (n === 1) return ts + s.offsets[0]!;
  if (n === 2 || ts <= s.times[0]!) return correction(ts, t.interpolate, s, 0, 1);
  if (ts >= s.times[n - 1]!) return correction(ts, t.interpolate, s, n - 2, n - 1);
  // Largest i with times[i] <= ts (then i + 1 < n because ts < times[n - 1]).
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (s.times[mid]! <= ts) lo = mid;
    else hi = mid;
  }
  return correction(ts, t.interpolate, s, lo, lo + 1);
}

export function convertTs(raw: number, cpu: number, t: TimeConversion): number {
  let ts = raw;
  if (t.timeShift) ts = guestToHost(ts, cpu, t.timeShift);
  if (t.tsc2nsec) ts = Math.floor((ts * t.tsc2nsec.mult) / 2 ** t.tsc2nsec.shift);
  return ts + t.offsetNs;
}
