// Parses one ftrace text line from bytes and appends one row to an EventSink. No string, regex or
// object per line. Line layout: kernel/trace/trace_output.c (trace_print_context,
// trace_print_lat_fmt); event bodies: the print formats in include/trace/events/sched.h and
// arch/x86/kvm/trace.h, libtraceevent's plugin_sched_switch.c (trace-cmd report's
// `comm:pid [prio] S ==> ...` form) and `trace-cmd report -R` (raw field=value, numeric states).
// Also `perf script` lines (`comm tid [cpu] ts: sys:event: ...`). Header lines are recognised
// and skipped; everything else that does not parse is reported to the caller.

import { EventKind, NO_STATE } from '../../../shared/schema.ts';
import type { EventSink } from '../types.ts';
import { NameCache } from './name-cache.ts';
import { mapNumericState, parsePluginStateLetters, parseStateLetters, type NumericStateEncoding } from './task-state.ts';

const SP = 0x20;
const NL = 0x0a;
const COLON = 0x3a;
const LBRACK = 0x5b;
const RBRACK = 0x5d;
const LPAREN = 0x28;
const RPAREN = 0x29;
const DASH = 0x2d;
const DOT = 0x2e;
const SLASH = 0x2f;
const D0 = 0x30;
const D9 = 0x39;

const enc = new TextEncoder();
const lit = (s: string): Uint8Array => enc.encode(s);

const K_PREV_COMM = lit('prev_comm=');
const K_PREV_PID = lit(' prev_pid=');
const K_PREV_PRIO = lit(' prev_prio=');
const K_PREV_STATE = lit(' prev_state=');
const K_NEXT_COMM = lit('next_comm=');
const K_NEXT_PID = lit(' next_pid=');
const K_NEXT_PRIO = lit(' next_prio=');
const K_ARROW = lit(' ==> ');
const K_COMM = lit('comm=');
const K_PARENT_COMM = lit('parent_comm=');
const K_PID = lit(' pid=');
const K_PARENT_PID = lit(' parent_pid=');
const K_PRIO = lit(' prio=');
const K_TARGET_CPU = lit(' target_cpu=');
const K_CPU_COLON = lit(' CPU:');
const K_ORIG_CPU = lit(' orig_cpu=');
const K_DEST_CPU = lit(' dest_cpu=');
const K_CHILD_COMM = lit(' child_comm=');
const K_CHILD_PID = lit(' child_pid=');
const K_OLD_PID = lit(' old_pid=');
const K_VCPU_SP = lit('vcpu ');
const K_VCPU_ID = lit('vcpu_id=');
const K_REASON_SP = lit('reason ');
const K_EXIT_REASON = lit('exit_reason=');
const K_LOST = lit('LOST');

/** Event names that decode into columns; everything else is kind `other`. */
const KIND_BY_NAME = new Map<string, EventKind>([
  ['sched_switch', EventKind.switch],
  ['sched_wakeup', EventKind.wakeup],
  ['sched_wakeup_new', EventKind.wakeupNew],
  ['sched_waking', EventKind.waking],
  ['sched_migrate_task', EventKind.migrate],
  ['sched_process_fork', EventKind.fork],
  ['sched_process_exec', EventKind.exec],
  ['sched_process_exit', EventKind.exit],
  ['kvm_entry', EventKind.vmEntry],
  ['kvm_exit', EventKind.vmExit],
]);

/** What parseLine did with a line. */
export const LineResult = {
  event: 0,
  /** Blank line, `#` comment/legend, report header (`cpus=2`, `version = 6`, `CPU 1 is empty`). */
  header: 1,
  /** `CPU:N [LOST M EVENTS]`: the kernel dropped events here. */
  lost: 2,
  /** Not an ftrace line at all. */
  unparsable: 3,
  /** A known event whose fields did not decode; kept as an `invalid` row. */
  badFields: 4,
  /** Longer than the line cap: not parsed. */
  tooLong: 5,
} as const;
export type LineResult = (typeof LineResult)[keyof typeof LineResult];

export interface LineParserOptions {
  /** `trace-cmd report -i a -i b`: every line starts with `<input name>: `. */
  multiInputNames?: readonly string[];
  numericStates: NumericStateEncoding;
  /** Lines are JS string-literal lines ending in `\n\` (oldest systrace HTML). */
  jsStringLines?: boolean;
}

/**
 * The line prefix, parsed once into reused scalar fields (no object per line). `parsePrefix`
 * fills them; readers use them right away.
 */
export class PrefixFields {
  commStart = 0;
  commEnd = 0;
  pid = -1;
  cpu = -1;
  tsNs = 0;
  /** Digits after the decimal point of the timestamp; 0 for raw counter clocks. */
  tsDecimals = 0;
  nameStart = 0;
  nameEnd = 0;
  bodyStart = 0;
  /** Line start after the multi-input name and leading blanks. */
  lineStart = 0;
  /** The prefix carried a `(tgid)` column / a flags column. */
  hasTgid = false;
  hasFlags = false;
  /** perf script shape (`comm tid [cpu]`), as opposed to ftrace's `comm-pid [cpu]`. */
  perfShape = false;
  /** Position of the `[` of the CPU column, -1 when there is none. */
  bracketPos = -1;
}

/** Longest comm interned (longer ones are cut); kernel comms have at most 15 bytes. */
export const MAX_COMM_BYTES = 64;
/** Longest event name accepted; longer tokens make the line unparsable. */
export const MAX_EVENT_NAME_BYTES = 128;

const POW10 = [1e9, 1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 1e2, 1e1, 1];

function isDigit(c: number): boolean {
  return c >= D0 && c <= D9;
}

/**
 * Parse `[name: ]comm-pid [(tgid)] [cpu] [flags] ts: event: ` (ftrace) or
 * `comm tid [[cpu]] ts: sys:event: ` (perf) in buf[s, e). Returns false when the line has no such
 * prefix. `f.lineStart` must be set by the caller (after any multi-input name).
 */
export function parsePrefix(buf: Uint8Array, s: number, e: number, f: PrefixFields): boolean {
  // The timestamp is the first blank-preceded token of digits (with at most one dot) ending in
  // ': ' (or ':' at the end). Comms may contain ':' and spaces, but not such a token followed by
  // the CPU column, which the backward pass below checks.
  let p = s;
  while (p < e && buf[p] === SP) p++;
  const start = p;
  let tsEnd = -1;
  let tsStart = -1;
  for (let i = p + 1; i < e; i++) {
    if (buf[i] !== COLON) continue;
    if (i + 1 < e && buf[i + 1] !== SP) continue;
    let j = i - 1;
    let dots = 0;
    while (j > start) {
      const c = buf[j]!;
      if (isDigit(c)) j--;
      else if (c === DOT && dots === 0) {
        dots++;
        j--;
      } else break;
    }
    if (j === i - 1 || buf[j] !== SP || buf[j + 1] === DOT) continue;
    tsStart = j + 1;
    tsEnd = i;
    break;
  }
  if (tsEnd < 0) return false;

  // Timestamp: integer ns from "secs.frac" as secs * 1e9 + frac * 10^(9 - digits), exact while
  // the result is below 2^53 ns (104 days of uptime); beyond that doubles round to a few ns.
  let secs = 0;
  let q = tsStart;
  while (q < tsEnd && buf[q] !== DOT) {
    secs = secs * 10 + (buf[q]! - D0);
    q++;
  }
  let tsNs: number;
  if (q < tsEnd) {
    q++;
    let frac = 0;
    let nd = 0;
    while (q < tsEnd && nd < 9) {
      frac = frac * 10 + (buf[q]! - D0);
      q++;
      nd++;
    }
    tsNs = secs * 1e9 + frac * POW10[nd]!;
    f.tsDecimals = nd;
  } else {
    tsNs = secs;
    f.tsDecimals = 0;
  }
  f.tsNs = tsNs;

  // Backward: [flags] [cpu] [(tgid)] pid, then the comm.
  let t = tsStart - 1;
  while (t > start && buf[t] === SP) t--;
  f.hasFlags = false;
  f.hasTgid = false;
  f.cpu = -1;
  if (buf[t] !== RBRACK) {
    // Either ftrace flags (`d..2.`, never all digits) before `[cpu]`, or perf's tid (no CPU column).
    let k = t;
    let allDigits = true;
    while (k > start && buf[k] !== SP) {
      const c = buf[k]!;
      if (!isDigit(c) && c !== SLASH && c !== DASH) allDigits = false;
      k--;
    }
    if (allDigits) {
      return perfTail(buf, start, t, tsEnd, e, f);
    }
    f.hasFlags = true;
    const flagsStart = k + 1;
    t = k;
    while (t > start && buf[t] === SP) t--;
    if (buf[t] !== RBRACK) {
      // `trace-cmd report -l`: the CPU number glued to the flags (`comm-pid   0d..2.  ts:`)
      let q = flagsStart;
      let cpu = 0;
      while (q < tsStart && isDigit(buf[q]!)) cpu = cpu * 10 + (buf[q++]! - D0);
      if (q === flagsStart) return false;
      f.cpu = cpu;
      f.bracketPos = -1;
      return pidAndComm(buf, start, t, e, tsEnd, f);
    }
  }
  // [cpu]
  let cpu = 0;
  let mul = 1;
  f.bracketPos = -1;
  t--;
  const cpuEnd = t;
  while (t > start && isDigit(buf[t]!)) {
    cpu += (buf[t]! - D0) * mul;
    mul *= 10;
    t--;
  }
  if (buf[t] !== LBRACK || t === cpuEnd) return false;
  f.cpu = cpu;
  f.bracketPos = t;
  t--;
  while (t > start && buf[t] === SP) t--;
  return pidAndComm(buf, start, t, e, tsEnd, f);
}

/** Backwards from t (last byte before the CPU column): [(tgid)] pid, then the comm. */
function pidAndComm(buf: Uint8Array, start: number, t: number, e: number, tsEnd: number, f: PrefixFields): boolean {
  if (buf[t] === RPAREN) {
    while (t > start && buf[t] !== LPAREN) t--;
    if (t <= start) return false;
    f.hasTgid = true;
    t--;
    while (t > start && buf[t] === SP) t--;
  }
  // pid digits (ftrace: preceded by '-'; perf: by ' ' or 'pid/')
  let pid = 0;
  let mul = 1;
  const pidEnd = t;
  while (t > start && isDigit(buf[t]!)) {
    pid += (buf[t]! - D0) * mul;
    mul *= 10;
    t--;
  }
  if (t === pidEnd) return false;
  let sep = buf[t];
  if (sep === DASH && buf[t - 1] === SP) {
    // perf's unknown thread: `:-1    -1 [001]`
    pid = -pid;
    t--;
    sep = SP;
  }
  if (sep === DASH) {
    f.perfShape = false;
    f.commStart = start;
    f.commEnd = t;
  } else if (sep === SP || sep === SLASH) {
    // perf `comm tid [cpu]` or `comm pid/tid [cpu]`
    f.perfShape = true;
    if (sep === SLASH) {
      t--;
      while (t > start && isDigit(buf[t]!)) t--;
    }
    while (t > start && buf[t] === SP) t--;
    f.commStart = start;
    f.commEnd = t + 1;
    if (t < start || buf[t] === SP) f.commEnd = start;
  } else {
    return false;
  }
  f.pid = pid;
  return eventName(buf, tsEnd, e, f);
}

/**
 * The common case, checked at a known column: the `[` of the CPU column sits at the same offset
 * in every line of a file as long as comm and pid fit their padded widths (trace_output.c prints
 * `%16s-%-7d`; trace-cmd `%16s-%-5d`). Parses nothing before the comm end: `commStart` is left at
 * -1 and found only when a row needs the line's comm. Returns false to fall back to parsePrefix.
 */
export function fastPrefix(buf: Uint8Array, s: number, e: number, bracketOffset: number, f: PrefixFields): boolean {
  const lb = s + bracketOffset;
  if (lb + 8 >= e || buf[lb] !== LBRACK || buf[lb - 1] !== SP) return false;
  let q = lb + 1;
  let cpu = 0;
  let c = buf[q]!;
  while (c >= D0 && c <= D9) {
    cpu = cpu * 10 + (c - D0);
    c = buf[++q]!;
  }
  if (c !== RBRACK || q === lb + 1 || buf[q + 1] !== SP) return false;
  q += 2;
  c = buf[q]!;
  let hasFlags = false;
  if (c !== SP && (c < D0 || c > D9)) {
    hasFlags = true;
    // 5 flag characters since 5.x (irqs-off, need-resched, hardirq, preempt, migrate-disable)
    if (buf[q + 5] === SP && buf[q + 1] !== NL && buf[q + 2] !== NL && buf[q + 3] !== NL && buf[q + 4] !== NL) q += 5;
    else while (q < e && buf[q] !== SP && buf[q] !== NL) q++;
  }
  while (q < e && buf[q] === SP) q++;
  let secs = 0;
  const ts0 = q;
  c = buf[q]!;
  while (c >= D0 && c <= D9) {
    secs = secs * 10 + (c - D0);
    c = buf[++q]!;
  }
  if (q === ts0) return false;
  let tsNs: number;
  if (c === DOT) {
    let frac = 0;
    const f0 = ++q;
    c = buf[q]!;
    while (c >= D0 && c <= D9) {
      frac = frac * 10 + (c - D0);
      c = buf[++q]!;
    }
    const nd = q - f0;
    if (nd === 0 || nd > 9) return false;
    tsNs = secs * 1e9 + frac * POW10[nd]!;
    f.tsDecimals = nd;
  } else {
    tsNs = secs;
    f.tsDecimals = 0;
  }
  if (c !== COLON || q + 1 >= e || buf[q + 1] !== SP) return false;
  const tsEnd = q;
  // backwards from the `[`: blanks, optional (tgid), pid, '-'
  let t = lb - 2;
  while (t > s && buf[t] === SP) t--;
  let hasTgid = false;
  if (buf[t] === RPAREN) {
    while (t > s && buf[t] !== LPAREN && buf[t] !== NL) t--;
    if (buf[t] !== LPAREN) return false;
    t--;
    while (t > s && buf[t] === SP) t--;
    hasTgid = true;
  }
  let pid = 0;
  let mul = 1;
  const pidEnd = t;
  c = buf[t]!;
  while (t > s && c >= D0 && c <= D9) {
    pid += (c - D0) * mul;
    mul *= 10;
    c = buf[--t]!;
  }
  if (t === pidEnd || c !== DASH || t <= s || buf[t - 1] === SP) return false;
  // The comm [s, t) must not hold a newline (a line shorter than the column would put the next
  // line's bytes there); the same pass finds where the comm starts.
  let cs = s;
  while (buf[cs] === SP) cs++;
  for (let k = cs; k < t; k++) if (buf[k] === NL) return false;
  f.tsNs = tsNs;
  f.cpu = cpu;
  f.pid = pid;
  f.hasFlags = hasFlags;
  f.hasTgid = hasTgid;
  f.perfShape = false;
  f.bracketPos = lb;
  f.lineStart = s;
  f.commStart = cs;
  f.commEnd = t;
  return eventName(buf, tsEnd, e, f);
}

/** perf script without a CPU column: `comm tid ts:` (t = last byte of the tid token). */
function perfTail(buf: Uint8Array, start: number, t: number, tsEnd: number, e: number, f: PrefixFields): boolean {
  let pid = 0;
  let mul = 1;
  const pidEnd = t;
  while (t > start && isDigit(buf[t]!)) {
    pid += (buf[t]! - D0) * mul;
    mul *= 10;
    t--;
  }
  if (t === pidEnd) return false;
  if (buf[t] === DASH) {
    pid = -pid;
    t--;
  }
  if (buf[t] === SLASH) {
    t--;
    while (t > start && isDigit(buf[t]!)) t--;
  }
  if (buf[t] !== SP) return false;
  while (t > start && buf[t] === SP) t--;
  f.perfShape = true;
  f.bracketPos = -1;
  f.pid = pid;
  f.commStart = start;
  f.commEnd = t + 1;
  return eventName(buf, tsEnd, e, f);
}

/** The event token after `ts: `: ends at ': ', a blank or '(' (syscall tracer lines). */
function eventName(buf: Uint8Array, tsEnd: number, e: number, f: PrefixFields): boolean {
  let p = tsEnd + 1;
  while (p < e && buf[p] === SP) p++;
  if (buf[p] === LPAREN) {
    // `trace-cmd report --ts-diff`: `(+602)` before the event name
    while (p < e && buf[p] !== RPAREN && buf[p] !== NL) p++;
    p++;
    while (p < e && buf[p] === SP) p++;
  }
  const tokenStart = p;
  let seg = p;
  let body = -1;
  for (; p < e; p++) {
    const c = buf[p]!;
    if (c > COLON) continue; // letters and '_': most of the name
    if (c === COLON) {
      if (p + 1 < e && buf[p + 1] !== SP) {
        seg = p + 1; // perf `sched:sched_switch:`: keep the event, drop the subsystem
        continue;
      }
      body = p + 1;
      break;
    }
    if (c === SP || c === LPAREN) {
      body = p;
      break;
    }
    if (c === NL) return false;
  }
  // kernels always print `name: `; a token running to the end of the line is a cut line
  if (body < 0 || p === tokenStart || p - seg > MAX_EVENT_NAME_BYTES) return false;
  f.nameStart = seg;
  f.nameEnd = p;
  while (body < e && buf[body] === SP) body++;
  f.bodyStart = body;
  return true;
}

// ---- body field helpers (cursor in `cur`, no allocation) -------------------------------------

let cur = 0;

function matchAt(buf: Uint8Array, p: number, e: number, key: Uint8Array): boolean {
  const n = key.length;
  if (p + n > e) return false;
  for (let k = 0; k < n; k++) if (buf[p + k] !== key[k]) return false;
  return true;
}

function findLit(buf: Uint8Array, p: number, e: number, key: Uint8Array): number {
  const n = key.length;
  const k0 = key[0]!;
  const last = e - n;
  for (let i = p; i <= last; i++) {
    if (buf[i] !== k0) continue;
    let k = 1;
    while (k < n && buf[i + k] === key[k]) k++;
    if (k === n) return i;
  }
  return -1;
}

/** Position after `key` if it is at p, else after its first occurrence in [from, e); -1 if absent. */
function keyAfter(buf: Uint8Array, p: number, from: number, e: number, key: Uint8Array): number {
  if (matchAt(buf, p, e, key)) return p + key.length;
  const i = findLit(buf, from, e, key);
  return i < 0 ? -1 : i + key.length;
}

/** Signed decimal at p; sets `cur` after it. NaN when there are no digits. */
function intAt(buf: Uint8Array, p: number, e: number): number {
  let neg = false;
  if (p < e && buf[p] === DASH) {
    neg = true;
    p++;
  }
  const s = p;
  let v = 0;
  while (p < e) {
    const c = buf[p]!;
    if (c < D0 || c > D9) break;
    v = v * 10 + (c - D0);
    p++;
  }
  cur = p;
  if (p === s) return NaN;
  return neg ? -v : v;
}

/** Signed decimal ending at t (inclusive), read backwards; sets `cur` to the byte before it. */
function intBack(buf: Uint8Array, t: number, lo: number): number {
  let v = 0;
  let mul = 1;
  const end = t;
  while (t >= lo && isDigit(buf[t]!)) {
    v += (buf[t]! - D0) * mul;
    mul *= 10;
    t--;
  }
  if (t === end) {
    cur = t;
    return NaN;
  }
  if (t >= lo && buf[t] === DASH) {
    v = -v;
    t--;
  }
  cur = t;
  return v;
}

function orNeg(v: number): number {
  return v === v ? v : -1;
}

// ---- the parser ------------------------------------------------------------------------------

export class LineParser {
  private readonly sink: EventSink;
  private readonly f = new PrefixFields();
  /** sink event id -> EventKind (+1; 0 = not classified yet). */
  private readonly kindById = new Uint8Array(0x10000);
  private readonly numericStates: NumericStateEncoding;
  private readonly jsStringLines: boolean;
  private readonly multiNames: Uint8Array[];
  private readonly multiNameStrings: readonly string[];
  private currentInput = -1;
  private pluginCommStart = 0;
  private pluginCommEnd = 0;
  private pluginPid = 0;
  private pluginPrio = 0;
  private readonly commCache = new NameCache();
  private readonly eventCache = new NameCache();
  /** Column of the CPU `[` in the last line that needed the slow prefix parse; -1 = none yet. */
  private bracketOffset = -1;
  /** The column learned before the current one: pids wider than the padding shift the column by
   * a byte or two, and such lines interleave with the others. */
  private bracketOffset2 = -1;
  private markerId = -1;
  private functionId = -1;
  /** Timestamp digits seen on the last event line (6 = µs, 9 = ns, 0 = raw counter). */
  lastTsDecimals = -1;
  /** Outcome of the last parseLineFrom. */
  result: LineResult = LineResult.event;
  /** Kind of the event found by the last eventOf. */
  private kind: EventKind = EventKind.other;
  /** parseLineFrom may parse before finding the newline (not for JS string lines). */
  private readonly streamFast: boolean;
  /** When a line is `CPU:N [LOST M EVENTS]`: the cpu and count (NaN if unreadable). */
  lostCpu = -1;
  lostCount = NaN;
  /** Index of a multi-input name that was not in the header (for a diagnostic), else -1. */
  unknownInputAt = -1;

  constructor(sink: EventSink, opts: LineParserOptions) {
    this.sink = sink;
    this.numericStates = opts.numericStates;
    this.jsStringLines = opts.jsStringLines === true;
    this.multiNameStrings = opts.multiInputNames ?? [];
    this.multiNames = this.multiNameStrings.map((n) => enc.encode(n));
    this.streamFast = !this.jsStringLines;
  }

  /** The prefix fields of the last parsed line. Borrowed: overwritten by the next parseLine. */
  get prefix(): Readonly<PrefixFields> {
    return this.f;
  }

  get multiInput(): boolean {
    return this.multiNames.length > 0;
  }

  /** Parse buf[s, e) (no newline) found at file offset `offsetBytes`; appends at most one row. */
  parseLine(buf: Uint8Array, s: number, e: number, offsetBytes: number): LineResult {
    if (e > s && buf[e - 1] === 0x0d) e--;
    if (this.jsStringLines) e = trimJsLineEnd(buf, s, e);
    const f = this.f;
    let p = s;
    if (this.multiNames.length > 0) {
      if (buf[s] === 0x23) return LineResult.header; // '#'
      p = this.parseInputName(buf, s, e);
      if (p < 0) return this.headerOrJunk(buf, s, e);
    }
    if (this.bracketOffset < 0 || !this.fastPrefixAny(buf, p, e)) {
      let q = p;
      while (q < e && (buf[q] === SP || buf[q] === 0x09)) q++;
      if (q === e || buf[q] === 0x23) return LineResult.header; // blank or '#'
      if (!parsePrefix(buf, q, e, f)) return this.headerOrJunk(buf, q, e);
      f.lineStart = p;
      if (f.bracketPos >= 0 && !f.perfShape && f.bracketPos - p !== this.bracketOffset) {
        this.bracketOffset2 = this.bracketOffset;
        this.bracketOffset = f.bracketPos - p;
      }
    }
    this.lastTsDecimals = f.tsDecimals;
    const eventId = this.eventOf(buf);
    return this.body(this.kind, eventId, buf, e, offsetBytes);
  }

  /**
   * Streaming entry: parse the line starting at `s` in buf[s, limit) without first looking for
   * its newline. The common lines (known CPU column, kernel-format sched_switch/wakeups) are
   * parsed in one pass that ends on the newline; everything else finds the newline and goes
   * through parseLine. Returns the index of the line's newline (or `limit` for a last line
   * without one when `atEnd`), or -1 when the line is not complete before `limit` (nothing was
   * appended). The outcome is in `result`; lines longer than `maxLineBytes` are not parsed
   * (`result` = tooLong).
   */
  parseLineFrom(buf: Uint8Array, s: number, limit: number, atEnd: boolean, offsetBytes: number, maxLineBytes: number): number {
    const f = this.f;
    let p = s;
    if (this.multiNames.length > 0 && this.streamFast && this.bracketOffset >= 0) p = buf[s] === 0x23 ? -1 : this.parseInputName(buf, s, limit);
    if (this.streamFast && p >= 0 && this.bracketOffset >= 0 && this.fastPrefixAny(buf, p, limit)) {
      this.lastTsDecimals = f.tsDecimals;
      const eventId = this.eventOf(buf);
      const kind = this.kind;
      const cpu = f.cpu;
      if (kind === EventKind.switch) {
        if (this.switchFast(buf, f.bodyStart, limit, eventId, f.tsNs, cpu, offsetBytes, true) ||
          this.switchPluginFast(buf, f.bodyStart, limit, eventId, f.tsNs, cpu, offsetBytes)) {
          this.result = LineResult.event;
          return cur;
        }
      } else if (kind === EventKind.wakeup || kind === EventKind.waking || kind === EventKind.wakeupNew) {
        if (this.wakeupFast(kind, buf, f.bodyStart, limit, eventId, f.tsNs, cpu, offsetBytes, true) ||
          this.wakeupPluginFast(kind, buf, f.bodyStart, limit, eventId, f.tsNs, cpu, offsetBytes)) {
          this.result = LineResult.event;
          return cur;
        }
      }
      let nl = buf.indexOf(10, f.bodyStart);
      if (nl < 0 || nl >= limit) {
        if (!atEnd) return -1;
        nl = limit;
      }
      if (nl - s > maxLineBytes) {
        this.result = LineResult.tooLong;
        return nl;
      }
      let e = nl;
      if (e > s && buf[e - 1] === 0x0d) e--;
      this.result = this.body(kind, eventId, buf, e, offsetBytes);
      return nl;
    }
    let nl = buf.indexOf(10, s);
    if (nl < 0 || nl >= limit) {
      if (!atEnd || s >= limit) return -1;
      nl = limit;
    }
    if (nl - s > maxLineBytes) {
      this.result = LineResult.tooLong;
      return nl;
    }
    this.result = this.parseLine(buf, s, nl, offsetBytes);
    return nl;
  }

  private fastPrefixAny(buf: Uint8Array, p: number, e: number): boolean {
    if (fastPrefix(buf, p, e, this.bracketOffset, this.f)) return true;
    return this.bracketOffset2 >= 0 && fastPrefix(buf, p, e, this.bracketOffset2, this.f);
  }

  /** Intern the event name of the current prefix; sets `kind`. */
  private eventOf(buf: Uint8Array): number {
    const f = this.f;
    let eventId: number;
    if (isMarkerName(buf, f.nameStart, f.nameEnd)) {
      // Old kernels print trace_marker writes with the ip as the "event" (`0: B|pid|name`).
      if (this.markerId < 0) this.markerId = this.sink.eventId('tracing_mark_write');
      eventId = this.markerId;
    } else if (buf[f.nameEnd] === SP && buf[f.nameEnd + 1] === 0x3c && buf[f.nameEnd + 2] === DASH) {
      // function tracer `func <-parent`: one event ("function", as ftrace names it), not one
      // name per kernel function (there are tens of thousands; the name table holds 65534)
      if (this.functionId < 0) this.functionId = this.sink.eventId('function');
      eventId = this.functionId;
    } else {
      eventId = this.eventCache.get(buf, f.nameStart, f.nameEnd);
      if (eventId < 0) {
        eventId = this.sink.eventIdBytes(buf, f.nameStart, f.nameEnd);
        this.eventCache.put(buf, f.nameStart, f.nameEnd, eventId);
      }
    }
    let kind1 = this.kindById[eventId]!;
    if (kind1 === 0) {
      kind1 = classify(buf, f.nameStart, f.nameEnd - f.nameStart) + 1;
      if (eventId < 0xfffe) this.kindById[eventId] = kind1;
    }
    this.kind = (kind1 - 1) as EventKind;
    return eventId;
  }

  /** Decode the body [bodyStart, e) of an event of `kind` and append its row. */
  private body(kind: EventKind, eventId: number, buf: Uint8Array, e: number, offsetBytes: number): LineResult {
    const f = this.f;
    const sink = this.sink;
    const b = f.bodyStart;
    const ts = f.tsNs;
    const cpu = f.cpu < 0 ? 0xffff : f.cpu;
    let ok = true;
    switch (kind) {
      case EventKind.switch:
        ok = this.sched_switch(buf, b, e, eventId, ts, cpu, offsetBytes);
        break;
      case EventKind.wakeup:
      case EventKind.wakeupNew:
      case EventKind.waking:
        ok = this.wakeup(kind, buf, b, e, eventId, ts, cpu, offsetBytes);
        break;
      case EventKind.migrate:
        ok = this.migrate(buf, b, e, eventId, ts, cpu, offsetBytes);
        break;
      case EventKind.fork:
        ok = this.fork(buf, b, e, eventId, ts, cpu, offsetBytes);
        break;
      case EventKind.exec:
        ok = this.exec(buf, b, e, eventId, ts, cpu, offsetBytes);
        break;
      case EventKind.exit:
        ok = this.exit(buf, b, e, eventId, ts, cpu, offsetBytes);
        break;
      case EventKind.vmEntry:
      case EventKind.vmExit:
        this.kvm(kind, buf, b, e, eventId, ts, cpu, offsetBytes);
        break;
      default: {
        const comm = this.lineCommId(buf);
        sink.append(EventKind.other, eventId, ts, cpu, f.pid, f.pid, comm, -1, -1, NO_STATE, -1, -1, offsetBytes);
      }
    }
    if (ok) return LineResult.event;
    const comm = this.lineCommId(buf);
    sink.append(EventKind.invalid, eventId, ts, cpu, f.pid, f.pid, comm, -1, -1, NO_STATE, -1, -1, offsetBytes);
    return LineResult.badFields;
  }

  private commIdOf(buf: Uint8Array, s: number, e: number): number {
    // Kernel comms are <= 15 bytes (TASK_COMM_LEN); a longer one is damage, and interning it
    // whole would let a hostile file grow the comm table by up to a line per row.
    if (e - s > MAX_COMM_BYTES) e = s + MAX_COMM_BYTES;
    let id = this.commCache.get(buf, s, e);
    if (id < 0) {
      id = this.sink.commIdBytes(buf, s, e);
      this.commCache.put(buf, s, e, id);
    }
    return id;
  }

  private lineCommId(buf: Uint8Array): number {
    const f = this.f;
    let cs = f.commStart;
    if (cs < 0) {
      cs = f.lineStart;
      while (cs < f.commEnd && (buf[cs] === SP || buf[cs] === 0x09)) cs++;
      f.commStart = cs;
    }
    return this.commIdOf(buf, cs, f.commEnd);
  }

  /** `<name>: ` of multi-input report lines; returns the position after it or -1. */
  private parseInputName(buf: Uint8Array, p: number, e: number): number {
    let q = p;
    while (q < e - 1 && !(buf[q] === COLON && buf[q + 1] === SP) && buf[q] !== NL) q++;
    if (q >= e - 1 || buf[q] === NL) return -1;
    this.unknownInputAt = -1;
    const cur = this.currentInput;
    const names = this.multiNames;
    let idx = -1;
    const prev = cur >= 0 ? names[cur] : undefined;
    if (prev !== undefined && sameBytes(buf, p, q, prev)) idx = cur;
    else {
      for (let i = 0; i < names.length; i++) {
        if (sameBytes(buf, p, q, names[i]!)) {
          idx = i;
          break;
        }
      }
    }
    if (idx < 0) {
      this.unknownInputAt = p;
      return -1;
    }
    if (idx !== cur) {
      this.currentInput = idx;
      this.sink.setInput(idx, this.multiNameStrings[idx]!);
    }
    return q + 2;
  }

  private headerOrJunk(buf: Uint8Array, p: number, e: number): LineResult {
    while (p < e && buf[p] === SP) p++;
    // CPU:3 [LOST 120 EVENTS]  (tracefs and trace-cmd report)
    if (e - p >= 6 && buf[p] === 0x43 && buf[p + 1] === 0x50 && buf[p + 2] === 0x55) {
      if (buf[p + 3] === COLON) {
        const cpu = intAt(buf, p + 4, e);
        const lost = findLit(buf, cur, e, K_LOST);
        if (lost >= 0) {
          this.lostCpu = orNeg(cpu);
          this.lostCount = intAt(buf, lost + 5, e);
          return LineResult.lost;
        }
      }
      if (buf[p + 3] === SP) return LineResult.header; // "CPU 1 is empty", "CPU0 data recorded at offset"
    }
    // trace-cmd report headers: `version = 6`, `cpus=2`, `<name>: cpus=2`, `trace-cmd: ...`
    if (startsWithAscii(buf, p, e, 'version') || startsWithAscii(buf, p, e, 'cpus=')) return LineResult.header;
    const colon = findLit(buf, p, e, COLON_CPUS);
    if (colon >= 0 && isDigit(buf[colon + COLON_CPUS.length] ?? 0)) return LineResult.header;
    return LineResult.unparsable;
  }

  // -- sched_switch: kernel `prev_comm=.. ==> next_comm=..`, -R (no arrow, numeric state), plugin.
  private sched_switch(buf: Uint8Array, b: number, e: number, ev: number, ts: number, cpu: number, off: number): boolean {
    const sink = this.sink;
    if (this.switchFast(buf, b, e, ev, ts, cpu, off, false)) return true;
    if (matchAt(buf, b, e, K_PREV_COMM)) {
      const cs = b + K_PREV_COMM.length;
      const ce = findLit(buf, cs, e, K_PREV_PID);
      if (ce < 0) return false;
      const prevPid = intAt(buf, ce + K_PREV_PID.length, e);
      let p = keyAfter(buf, cur, ce, e, K_PREV_PRIO);
      if (p < 0) return false;
      const prevPrio = intAt(buf, p, e);
      p = keyAfter(buf, cur, cur, e, K_PREV_STATE);
      if (p < 0) return false;
      let se = p;
      while (se < e && buf[se] !== SP) se++;
      const state = this.state(buf, p, se);
      p = se;
      if (matchAt(buf, p, e, K_ARROW)) p += K_ARROW.length;
      else p++;
      let ns: number;
      if (matchAt(buf, p, e, K_NEXT_COMM)) ns = p + K_NEXT_COMM.length;
      else {
        const i = findLit(buf, se, e, K_NEXT_COMM);
        if (i < 0) return false;
        ns = i + K_NEXT_COMM.length;
      }
      const ne = findLit(buf, ns, e, K_NEXT_PID);
      if (ne < 0) return false;
      const nextPid = intAt(buf, ne + K_NEXT_PID.length, e);
      p = keyAfter(buf, cur, ne, e, K_NEXT_PRIO);
      const nextPrio = p < 0 ? NaN : intAt(buf, p, e);
      if (prevPid !== prevPid || nextPid !== nextPid) return false;
      const prevComm = this.commIdOf(buf, cs, ce);
      const nextComm = this.commIdOf(buf, ns, ne);
      sink.append(EventKind.switch, ev, ts, cpu, prevPid, nextPid, nextComm, prevPid, prevComm, state, orNeg(prevPrio), orNeg(nextPrio), off);
      return true;
    }
    // plugin: `prev:pid [prio] S ==> next:pid [prio]`
    const arrow = findLit(buf, b, e, K_ARROW);
    if (arrow < 0) return false;
    let t = arrow - 1;
    let st = t;
    while (st > b && buf[st] !== SP) st--;
    const state = isDigit(buf[st + 1]!) ? this.state(buf, st + 1, t + 1) : parsePluginStateLetters(buf, st + 1, t + 1, this.numericStates);
    t = st;
    while (t > b && buf[t] === SP) t--;
    if (buf[t] !== RBRACK) return false;
    const prevPrio = intBack(buf, t - 1, b);
    t = cur;
    if (buf[t] !== LBRACK) return false;
    t--;
    while (t > b && buf[t] === SP) t--;
    const prevPid = intBack(buf, t, b);
    if (prevPid !== prevPid || buf[cur] !== COLON) return false;
    const prevCommEnd = cur;
    let r = e - 1;
    while (r > arrow && buf[r] === SP) r--;
    if (buf[r] !== RBRACK) return false;
    const nextPrio = intBack(buf, r - 1, arrow);
    r = cur;
    if (buf[r] !== LBRACK) return false;
    r--;
    while (r > arrow && buf[r] === SP) r--;
    const nextPid = intBack(buf, r, arrow);
    if (nextPid !== nextPid || buf[cur] !== COLON) return false;
    const ns = arrow + K_ARROW.length;
    const prevComm = this.commIdOf(buf, b, prevCommEnd);
    const nextComm = this.commIdOf(buf, ns, cur);
    sink.append(EventKind.switch, ev, ts, cpu, prevPid, nextPid, nextComm, prevPid, prevComm, state, orNeg(prevPrio), orNeg(nextPrio), off);
    return true;
  }

  /**
   * Kernel-format sched_switch with the fields in print-format order, checking a few key bytes
   * instead of whole keys (measured: whole-key compares cost ~15% of parse time on tracefs text).
   * Any surprise returns false (nothing appended) and the keyed parser decides. With
   * `newlineRequired`, `e` is only the end of valid data: every scan also stops at a newline and
   * the line must end right after next_prio; on success `cur` is that newline's index.
   */
  private switchFast(buf: Uint8Array, b: number, e: number, ev: number, ts: number, cpu: number, off: number, newlineRequired: boolean): boolean {
    // prev_comm=
    if (buf[b] !== 0x70 || buf[b + 4] !== 0x5f || buf[b + 9] !== 0x3d) return false;
    const cs = b + 10;
    // " prev_pid=": a blank followed by 'p' ... '=' 9 bytes later
    let i = cs;
    for (;;) {
      let c = buf[i];
      while (c! > SP && i < e) c = buf[++i]; // blank, newline, control bytes and stale data all stop
      if (c !== SP || i + 10 >= e) return false;
      if (buf[i + 1] === 0x70 && buf[i + 6] === 0x70 && buf[i + 9] === 0x3d) break;
      i++;
    }
    const ce = i;
    const prevPid = intAt(buf, ce + 10, e);
    let p = cur; // " prev_prio=" (= at +10)
    if (p + 12 >= e || buf[p + 10] !== 0x3d || buf[p + 6] !== 0x70) return false;
    const prevPrio = intAt(buf, p + 11, e);
    p = cur; // " prev_state=" (= at +11)
    if (p + 13 >= e || buf[p + 11] !== 0x3d || buf[p + 6] !== 0x73) return false;
    const ss = p + 12;
    let se = ss;
    let c = buf[se];
    while (c! > SP && se < e) c = buf[++se];
    if (c !== SP || se + 15 >= e) return false;
    // " ==> next_comm=" (= at +14) or -R's " next_comm=" (= at +10)
    let ns: number;
    if (buf[se + 1] === 0x3d && buf[se + 14] === 0x3d) ns = se + 15;
    else if (buf[se + 1] === 0x6e && buf[se + 10] === 0x3d) ns = se + 11;
    else return false;
    i = ns;
    for (;;) {
      let d = buf[i];
      while (d! > SP && i < e) d = buf[++i];
      if (d !== SP || i + 10 >= e) return false;
      if (buf[i + 1] === 0x6e && buf[i + 6] === 0x70 && buf[i + 9] === 0x3d) break;
      i++;
    }
    const ne = i;
    const nextPid = intAt(buf, ne + 10, e);
    p = cur; // " next_prio="
    if (p + 11 >= e || buf[p + 10] !== 0x3d || buf[p + 6] !== 0x70) return false;
    const nextPrio = intAt(buf, p + 11, e);
    if (prevPid !== prevPid || nextPid !== nextPid) return false;
    if (newlineRequired ? cur >= e || buf[cur] !== NL : cur !== e) return false;
    const lineEnd = cur; // the numeric state parse below moves `cur`
    let state: number;
    const sc = buf[ss]!;
    // single-letter states dominate; avoid the general parser for them
    if (se === ss + 1 && sc !== 0x2b && (sc < D0 || sc > D9)) state = parseStateLetters(buf, ss, se);
    else state = this.state(buf, ss, se);
    const sink = this.sink;
    const prevComm = this.commIdOf(buf, cs, ce);
    const nextComm = this.commIdOf(buf, ns, ne);
    sink.append(EventKind.switch, ev, ts, cpu, prevPid, nextPid, nextComm, prevPid, prevComm, state, orNeg(prevPrio), orNeg(nextPrio), off);
    cur = lineEnd;
    return true;
  }

  /**
   * `comm:pid [prio]` forward from p, stopping at newlines: the comm runs to the last ':' before
   * the first ` [`. Sets pluginComm*, pluginPid, pluginPrio and `cur` (after the `]`); false if
   * the shape is not there.
   */
  private commPidPrio(buf: Uint8Array, p: number, e: number): boolean {
    let i = p;
    let c = buf[i];
    for (;;) {
      while (c! > SP && i < e) c = buf[++i]; // blank, newline, control bytes and stale data all stop
      if (c !== SP || i + 3 >= e) return false;
      if (buf[i + 1] === LBRACK) break;
      c = buf[++i];
    }
    // pid digits back to ':'
    let t = i - 1;
    let pid = 0;
    let mul = 1;
    let d = buf[t]!;
    while (t > p && d >= D0 && d <= D9) {
      pid += (d - D0) * mul;
      mul *= 10;
      d = buf[--t]!;
    }
    if (d !== COLON || t === i - 1) return false;
    const prio = intAt(buf, i + 2, e);
    if (prio !== prio || cur >= e || buf[cur] !== RBRACK) return false;
    this.pluginCommStart = p;
    this.pluginCommEnd = t;
    this.pluginPid = pid;
    this.pluginPrio = prio;
    cur++;
    return true;
  }

  /** trace-cmd's plugin sched_switch `a:1 [120] S ==> b:2 [120]` ending on a newline (streaming). */
  private switchPluginFast(buf: Uint8Array, b: number, e: number, ev: number, ts: number, cpu: number, off: number): boolean {
    if (!this.commPidPrio(buf, b, e)) return false;
    const prevCs = this.pluginCommStart;
    const prevCe = this.pluginCommEnd;
    const prevPid = this.pluginPid;
    const prevPrio = this.pluginPrio;
    let p = cur;
    if (buf[p] !== SP) return false;
    const ss = ++p;
    let c = buf[p];
    while (c! > SP && p < e) c = buf[++p];
    const se = p;
    // " ==> "
    if (c !== SP || p + 5 >= e || buf[p + 1] !== 0x3d || buf[p + 2] !== 0x3d || buf[p + 3] !== 0x3e || buf[p + 4] !== SP) return false;
    if (!this.commPidPrio(buf, p + 5, e)) return false;
    if (cur >= e || buf[cur] !== NL) return false;
    const lineEnd = cur;
    const state = isDigit(buf[ss]!) ? this.state(buf, ss, se) : parsePluginStateLetters(buf, ss, se, this.numericStates);
    const prevComm = this.commIdOf(buf, prevCs, prevCe);
    const nextComm = this.commIdOf(buf, this.pluginCommStart, this.pluginCommEnd);
    this.sink.append(EventKind.switch, ev, ts, cpu, prevPid, this.pluginPid, nextComm, prevPid, prevComm, state, prevPrio, this.pluginPrio, off);
    cur = lineEnd;
    return true;
  }

  /** trace-cmd's plugin wakeups `foo:123 [120] [success=1 ]CPU:003` ending on a newline (streaming). */
  private wakeupPluginFast(kind: EventKind, buf: Uint8Array, b: number, e: number, ev: number, ts: number, cpu: number, off: number): boolean {
    if (!this.commPidPrio(buf, b, e)) return false;
    let p = cur;
    if (buf[p] !== SP) return false;
    p++;
    if (buf[p] === 0x73) {
      // success=1
      while (p < e && buf[p] !== SP && buf[p] !== NL) p++;
      if (buf[p] !== SP) return false;
      p++;
    }
    if (p + 4 >= e || buf[p] !== 0x43 || buf[p + 1] !== 0x50 || buf[p + 2] !== 0x55 || buf[p + 3] !== COLON) return false;
    const target = intAt(buf, p + 4, e);
    if (target !== target || cur >= e || buf[cur] !== NL) return false;
    const comm = this.commIdOf(buf, this.pluginCommStart, this.pluginCommEnd);
    this.sink.append(kind, ev, ts, cpu, this.f.pid, this.pluginPid, comm, -1, -1, NO_STATE, target, this.pluginPrio, off);
    return true;
  }

  /** Kernel-format wakeups `comm=X pid=N prio=N target_cpu=NNN` (fields in order; see switchFast). */
  private wakeupFast(kind: EventKind, buf: Uint8Array, b: number, e: number, ev: number, ts: number, cpu: number, off: number, newlineRequired: boolean): boolean {
    if (buf[b] !== 0x63 || buf[b + 4] !== 0x3d) return false; // comm=
    const cs = b + 5;
    let i = cs;
    for (;;) {
      let c = buf[i];
      while (c! > SP && i < e) c = buf[++i]; // blank, newline, control bytes and stale data all stop
      if (c !== SP || i + 5 >= e) return false;
      if (buf[i + 1] === 0x70 && buf[i + 2] === 0x69 && buf[i + 4] === 0x3d) break; // " pid="
      i++;
    }
    const ce = i;
    const pid = intAt(buf, ce + 5, e);
    let p = cur; // " prio="
    if (p + 6 >= e || buf[p + 5] !== 0x3d || buf[p + 2] !== 0x72) return false;
    const prio = intAt(buf, p + 6, e);
    p = cur; // " target_cpu=" (= at +11)
    if (p + 12 >= e || buf[p + 11] !== 0x3d || buf[p + 1] !== 0x74) return false;
    const target = intAt(buf, p + 12, e);
    if (pid !== pid || target !== target) return false;
    if (newlineRequired ? cur >= e || buf[cur] !== NL : cur !== e) return false;
    const sink = this.sink;
    sink.append(kind, ev, ts, cpu, this.f.pid, pid, this.commIdOf(buf, cs, ce), -1, -1, NO_STATE, target, orNeg(prio), off);
    return true;
  }

  private state(buf: Uint8Array, s: number, e: number): number {
    if (s >= e) return NO_STATE;
    if (isDigit(buf[s]!)) return mapNumericState(intAt(buf, s, e), this.numericStates);
    return parseStateLetters(buf, s, e);
  }

  // -- wakeup family: `comm=X pid=N prio=N [success=1] target_cpu=NNN` or plugin
  //    `comm:pid [prio] [success=1] CPU:NNN`.
  private wakeup(kind: EventKind, buf: Uint8Array, b: number, e: number, ev: number, ts: number, cpu: number, off: number): boolean {
    const sink = this.sink;
    if (this.wakeupFast(kind, buf, b, e, ev, ts, cpu, off, false)) return true;
    if (matchAt(buf, b, e, K_COMM)) {
      const cs = b + K_COMM.length;
      const ce = findLit(buf, cs, e, K_PID);
      if (ce < 0) return false;
      const pid = intAt(buf, ce + K_PID.length, e);
      if (pid !== pid) return false;
      let p = keyAfter(buf, cur, cur, e, K_PRIO);
      const prio = p < 0 ? NaN : intAt(buf, p, e);
      p = keyAfter(buf, p < 0 ? ce : cur, ce, e, K_TARGET_CPU);
      const target = p < 0 ? NaN : intAt(buf, p, e);
      sink.append(kind, ev, ts, cpu, this.f.pid, pid, this.commIdOf(buf, cs, ce), -1, -1, NO_STATE, orNeg(target), orNeg(prio), off);
      return true;
    }
    const cpuAt = findLit(buf, b, e, K_CPU_COLON);
    const target = cpuAt < 0 ? NaN : intAt(buf, cpuAt + K_CPU_COLON.length, e);
    let t = (cpuAt < 0 ? e : cpuAt) - 1;
    while (t > b && buf[t] !== RBRACK) t--;
    if (buf[t] !== RBRACK) return false;
    const prio = intBack(buf, t - 1, b);
    t = cur;
    if (buf[t] !== LBRACK) return false;
    t--;
    while (t > b && buf[t] === SP) t--;
    const pid = intBack(buf, t, b);
    if (pid !== pid || buf[cur] !== COLON) return false;
    sink.append(kind, ev, ts, cpu, this.f.pid, pid, this.commIdOf(buf, b, cur), -1, -1, NO_STATE, orNeg(target), orNeg(prio), off);
    return true;
  }

  private migrate(buf: Uint8Array, b: number, e: number, ev: number, ts: number, cpu: number, off: number): boolean {
    if (!matchAt(buf, b, e, K_COMM)) return false;
    const cs = b + K_COMM.length;
    const ce = findLit(buf, cs, e, K_PID);
    if (ce < 0) return false;
    const pid = intAt(buf, ce + K_PID.length, e);
    let p = keyAfter(buf, cur, cur, e, K_PRIO);
    if (p >= 0) intAt(buf, p, e);
    const from = p < 0 ? ce : cur;
    p = keyAfter(buf, from, ce, e, K_ORIG_CPU);
    const orig = p < 0 ? NaN : intAt(buf, p, e);
    p = keyAfter(buf, p < 0 ? from : cur, ce, e, K_DEST_CPU);
    const dest = p < 0 ? NaN : intAt(buf, p, e);
    if (pid !== pid || dest !== dest) return false;
    const sink = this.sink;
    sink.append(EventKind.migrate, ev, ts, cpu, this.f.pid, pid, this.commIdOf(buf, cs, ce), -1, -1, NO_STATE, orNeg(orig), dest, off);
    return true;
  }

  // `comm=P pid=N child_comm=C child_pid=M` (kernel) / `parent_comm=P parent_pid=N ...` (-R)
  private fork(buf: Uint8Array, b: number, e: number, ev: number, ts: number, cpu: number, off: number): boolean {
    let cs: number;
    let pidKey: Uint8Array;
    if (matchAt(buf, b, e, K_COMM)) {
      cs = b + K_COMM.length;
      pidKey = K_PID;
    } else if (matchAt(buf, b, e, K_PARENT_COMM)) {
      cs = b + K_PARENT_COMM.length;
      pidKey = K_PARENT_PID;
    } else return false;
    const ce = findLit(buf, cs, e, pidKey);
    if (ce < 0) return false;
    const parentPid = intAt(buf, ce + pidKey.length, e);
    const p = keyAfter(buf, cur, ce, e, K_CHILD_COMM);
    if (p < 0) return false;
    const ccs = p;
    const cce = findLit(buf, ccs, e, K_CHILD_PID);
    if (cce < 0) return false;
    const childPid = intAt(buf, cce + K_CHILD_PID.length, e);
    if (parentPid !== parentPid || childPid !== childPid) return false;
    const sink = this.sink;
    const parentComm = this.commIdOf(buf, cs, ce);
    const childComm = this.commIdOf(buf, ccs, cce);
    sink.append(EventKind.fork, ev, ts, cpu, parentPid, childPid, childComm, parentPid, parentComm, NO_STATE, -1, -1, off);
    return true;
  }

  // `filename=/bin/x pid=N old_pid=M`; the line's comm is already the new one (the tracepoint
  // fires after begin_new_exec() set it).
  private exec(buf: Uint8Array, b: number, e: number, ev: number, ts: number, cpu: number, off: number): boolean {
    const oldAt = findLit(buf, b, e, K_OLD_PID);
    const pidAt = findLit(buf, b, oldAt < 0 ? e : oldAt, K_PID);
    const pid = pidAt < 0 ? this.f.pid : intAt(buf, pidAt + K_PID.length, e);
    const oldPid = oldAt < 0 ? NaN : intAt(buf, oldAt + K_OLD_PID.length, e);
    if (pid !== pid) return false;
    const sink = this.sink;
    sink.append(EventKind.exec, ev, ts, cpu, pid, pid, this.lineCommId(buf), orNeg(oldPid), -1, NO_STATE, -1, -1, off);
    return true;
  }

  // `comm=X pid=N prio=N [group_dead=...]`
  private exit(buf: Uint8Array, b: number, e: number, ev: number, ts: number, cpu: number, off: number): boolean {
    if (!matchAt(buf, b, e, K_COMM)) return false;
    const cs = b + K_COMM.length;
    const ce = findLit(buf, cs, e, K_PID);
    if (ce < 0) return false;
    const pid = intAt(buf, ce + K_PID.length, e);
    if (pid !== pid) return false;
    const p = keyAfter(buf, cur, cur, e, K_PRIO);
    const prio = p < 0 ? NaN : intAt(buf, p, e);
    const sink = this.sink;
    sink.append(EventKind.exit, ev, ts, cpu, pid, pid, this.commIdOf(buf, cs, ce), -1, -1, NO_STATE, orNeg(prio), -1, off);
    return true;
  }

  // kvm_entry `vcpu 0, rip 0x...` / -R `vcpu_id=0 rip=...`; kvm_exit `vcpu 0 reason NAME rip ...`,
  // older kernels `reason NAME rip ...` (no vcpu), -R `exit_reason=N ... vcpu_id=0`. Never fails:
  // unknown parts become -1.
  private kvm(kind: EventKind, buf: Uint8Array, b: number, e: number, ev: number, ts: number, cpu: number, off: number): void {
    let vcpu = NaN;
    let p = keyAfter(buf, b, b, e, K_VCPU_SP);
    if (p < 0) p = keyAfter(buf, b, b, e, K_VCPU_ID);
    if (p >= 0) vcpu = intAt(buf, p, e);
    let reason = NaN;
    if (kind === EventKind.vmExit) {
      p = keyAfter(buf, b, b, e, K_REASON_SP);
      if (p < 0) p = keyAfter(buf, b, b, e, K_EXIT_REASON);
      if (p >= 0) reason = intAt(buf, p, e);
    }
    const sink = this.sink;
    const f = this.f;
    sink.append(kind, ev, ts, cpu, f.pid, f.pid, this.lineCommId(buf), -1, -1, NO_STATE, orNeg(vcpu), orNeg(reason), off);
  }
}

const COLON_CPUS = lit(': cpus=');

function startsWithAscii(buf: Uint8Array, p: number, e: number, s: string): boolean {
  if (p + s.length > e) return false;
  for (let i = 0; i < s.length; i++) if (buf[p + i] !== s.charCodeAt(i)) return false;
  return true;
}

function sameBytes(buf: Uint8Array, s: number, e: number, name: Uint8Array): boolean {
  // names in the header are right-aligned: compare after leading blanks
  while (s < e && buf[s] === SP) s++;
  if (e - s !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (buf[s + i] !== name[i]) return false;
  return true;
}

/** `0` or `0x...`: the ip printed in place of the event name by old kernels' print event. */
function isMarkerName(buf: Uint8Array, s: number, e: number): boolean {
  if (buf[s] !== D0) return false;
  if (e - s === 1) return true;
  return buf[s + 1] === 0x78 && e - s > 2;
}

function classify(buf: Uint8Array, s: number, n: number): EventKind {
  // only names starting with "sched_" or "kvm_" can decode; skip the Map lookup for the rest
  if (n < 8 || n > 18) return EventKind.other;
  const c = buf[s];
  if (c !== 0x73 && c !== 0x6b) return EventKind.other;
  let name = '';
  for (let i = 0; i < n; i++) name += String.fromCharCode(buf[s + i]!);
  return KIND_BY_NAME.get(name) ?? EventKind.other;
}

/** A JS string-literal line `...\n\` (or the last one, `...\n";`) without its escapes. */
function trimJsLineEnd(buf: Uint8Array, s: number, e: number): number {
  if (e > s && buf[e - 1] === 0x5c) e--; // continuation backslash
  if (e - s >= 2 && buf[e - 2] === 0x5c && buf[e - 1] === 0x6e) e -= 2; // literal \n
  return e;
}
