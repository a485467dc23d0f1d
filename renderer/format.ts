// Display formatting for times, sizes and rates, and row details text. Not used in hot loops
// beyond the rows on screen.

import { EVENT_KIND_NAMES, EventKind, formatTaskState } from '../shared/schema.ts';

export type TimeUnit = 's' | 'ms' | 'us' | 'ns';
export const TIME_UNITS: TimeUnit[] = ['s', 'ms', 'us', 'ns'];
const UNIT_NS: Record<TimeUnit, number> = { s: 1e9, ms: 1e6, us: 1e3, ns: 1 };
const UNIT_DIGITS: Record<TimeUnit, number> = { s: 9, ms: 6, us: 3, ns: 0 };
const UNIT_LABEL: Record<TimeUnit, string> = { s: 's', ms: 'ms', us: 'µs', ns: 'ns' };

export function formatTime(tsNs: number, opts: { unit: TimeUnit; originNs: number }): string {
  const v = (tsNs - opts.originNs) / UNIT_NS[opts.unit];
  return v.toFixed(UNIT_DIGITS[opts.unit]);
}

/**
 * Axis ticks for the view [t0Ns, t1Ns]: at round multiples (1, 2 or 5 x 10^k ns) of the round step
 * nearest to span / `maxTicks` (so about maxTicks ticks: between maxTicks / 2 and 2 maxTicks + 1), counted from `originNs` (what the labels are relative to), each labelled in
 * `unit` with just the digits the step needs (e.g. 200,000 ms steps label "200000", 0.05 ms steps
 * "1.35"). Labels are what `formatTime` would show, rounded to the step.
 */
export function axisTicks(t0Ns: number, t1Ns: number, opts: { unit: TimeUnit; originNs: number; maxTicks: number }): { ns: number[]; labels: string[] } {
  const span = t1Ns - t0Ns;
  const ns: number[] = [];
  const labels: string[] = [];
  if (!(span > 0) || !Number.isFinite(span) || opts.maxTicks < 1) return { ns, labels };
  const raw = span / opts.maxTicks;
  const pow = 10 ** Math.floor(Math.log10(raw));
  // the round step nearest (by ratio) to span / maxTicks
  let step = pow;
  for (const m of [2, 5, 10]) if (Math.abs(Math.log(m * pow / raw)) < Math.abs(Math.log(step / raw))) step = m * pow;
  step = Math.max(1, step);
  const unitNs = UNIT_NS[opts.unit];
  // digits after the point: enough to tell ticks apart, never more than the unit has down to 1 ns
  const digits = Math.min(UNIT_DIGITS[opts.unit], Math.max(0, Math.ceil(-Math.log10(step / unitNs) - 1e-9)));
  const first = Math.ceil((t0Ns - opts.originNs) / step);
  const last = Math.floor((t1Ns - opts.originNs) / step);
  for (let k = first; k <= last && ns.length <= 2 * opts.maxTicks + 1; k++) {
    const rel = k * step;
    ns.push(opts.originNs + rel);
    const v = rel / unitNs;
    labels.push((Object.is(v, -0) ? 0 : v).toFixed(digits));
  }
  return { ns, labels };
}

export function unitLabel(u: TimeUnit): string {
  return UNIT_LABEL[u];
}

/** Parse a time typed in `unit` (relative to originNs) back to ns; null when not a number. */
export function parseTime(text: string, opts: { unit: TimeUnit; originNs: number }): number | null {
  const v = Number(text.trim());
  if (!Number.isFinite(v) || text.trim() === '') return null;
  return opts.originNs + v * UNIT_NS[opts.unit];
}

export function formatDuration(ns: number): string {
  const a = Math.abs(ns);
  if (a >= 1e9) return `${(ns / 1e9).toFixed(3)} s`;
  if (a >= 1e6) return `${(ns / 1e6).toFixed(3)} ms`;
  if (a >= 1e3) return `${(ns / 1e3).toFixed(1)} µs`;
  return `${Math.round(ns)} ns`;
}

export function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

let countFormat: Intl.NumberFormat | null = null;

/**
 * n.toLocaleString('en-US'): integers with thousands separators by hand (Chromium spent ~55 ms of
 * the first screen's main thread in toLocaleString, which builds ICU formatting on every call),
 * anything else through one cached Intl.NumberFormat (format.test.ts compares both).
 */
export function formatCount(n: number): string {
  if (Number.isSafeInteger(n) && !Object.is(n, -0)) {
    const digits = String(n < 0 ? -n : n);
    let out = digits.length > 3 ? '' : digits;
    if (digits.length > 3) {
      const head = digits.length % 3 || 3;
      out = digits.slice(0, head);
      for (let i = head; i < digits.length; i += 3) out += `,${digits.slice(i, i + 3)}`;
    }
    return n < 0 ? `-${out}` : out;
  }
  return (countFormat ??= new Intl.NumberFormat('en-US')).format(n);
}

export function kindName(kind: number): string {
  return EVENT_KIND_NAMES[kind] ?? `kind ${kind}`;
}

export function thread(comm: string | undefined, tid: number): string {
  return `${comm ?? '?'}:${tid}`;
}

/** The details column for one row. */
export function details(r: { kind: number; tid: number; pid: number; comm: string | undefined; prevTid: number; prevComm: string | undefined; prevState: number; arg0: number; arg1: number }): string {
  const by = r.pid >= 0 && r.pid !== r.tid ? ` (by pid ${r.pid})` : '';
  switch (r.kind) {
    case EventKind.switch:
      return `${thread(r.prevComm, r.prevTid)} [${formatTaskState(r.prevState)}] → ${thread(r.comm, r.tid)}`;
    case EventKind.wakeup:
    case EventKind.waking:
    case EventKind.wakeupNew:
      return `${thread(r.comm, r.tid)} target_cpu=${r.arg0}${by}`;
    case EventKind.migrate:
      return `${thread(r.comm, r.tid)} cpu ${r.arg0} → ${r.arg1}${by}`;
    case EventKind.fork:
      return `${thread(r.prevComm, r.prevTid)} → child ${thread(r.comm, r.tid)}`;
    case EventKind.vmEntry:
      return `vcpu=${r.arg0}`;
    case EventKind.vmExit:
      return `vcpu=${r.arg0}${r.arg1 >= 0 ? ` reason=${r.arg1}` : ''}`;
    case EventKind.exec:
    case EventKind.exit:
      return thread(r.comm, r.tid);
    default:
      return '';
  }
}

/** A stable colour per thread (hue from a hash), idle stays grey. */
export function threadColor(tid: number, dark: boolean): string {
  if (tid === 0) return dark ? '#444' : '#ccc';
  const h = (Math.imul(tid, 0x9e3779b1) >>> 0) % 360;
  return dark ? `hsl(${h} 55% 52%)` : `hsl(${h} 65% 58%)`;
}

const VM_HUES = [210, 30, 130, 280, 0, 175, 55, 320];

/** One hue per VM, lightness stepping per vCPU (host lanes of a two-layer session). */
export function vmColor(vm: number, vcpu: number, dark: boolean): string {
  const h = VM_HUES[vm % VM_HUES.length]!;
  const l = (dark ? 40 : 45) + ((vcpu * 9) % 30);
  return `hsl(${h} 70% ${l}%)`;
}
