// Parses the ftrace event format files stored in a trace.dat ("name:", "ID:", "field:... offset:N;
// size:N; signed:N;", "print fmt:") and the prev_state flag table of sched_switch's print fmt.
// Source of truth: libtraceevent src/event-parse.c (event_read_format, __print_flags) and the
// kernel's include/trace/events/sched.h. Leaves out print-fmt evaluation beyond prev_state.

import { TaskState } from '../../../shared/schema.ts';

export const FieldKind = {
  number: 0,
  /** fixed char array (comm) */
  chars: 1,
  /** fixed array of other elements */
  array: 2,
  /** __data_loc: u32 = (length << 16) | offset from record start */
  dataLoc: 3,
  /** __rel_loc: like __data_loc, offset relative to the end of this field */
  relLoc: 4,
} as const;
export type FieldKind = (typeof FieldKind)[keyof typeof FieldKind];

export interface FieldDef {
  name: string;
  type: string;
  offset: number;
  size: number;
  signed: boolean;
  kind: FieldKind;
  /** pointer type: printed in hex */
  pointer: boolean;
  /** element is char (for __data_loc char[] and char arrays) */
  charElem: boolean;
}

export interface EventFormat {
  id: number;
  system: string;
  name: string;
  fields: FieldDef[];
  printFmt: string;
}

const FIELD_RE = /field:\s*([^;]*?);\s*offset:\s*(\d+);\s*size:\s*(\d+);(?:\s*signed:\s*(\d+);)?/;

/** Parse one field declaration line; undefined when it is not one. */
export function parseFieldLine(line: string): FieldDef | undefined {
  const m = FIELD_RE.exec(line);
  if (!m) return undefined;
  const decl = m[1]!.trim();
  const offset = Number(m[2]);
  const size = Number(m[3]);
  const signed = m[4] === '1';
  // Name: the last identifier, optionally followed by [N] / [].
  const nm = /([A-Za-z_][A-Za-z0-9_]*)\s*(\[[^\]]*\])?\s*$/.exec(decl);
  if (!nm) return undefined;
  const name = nm[1]!;
  const arrayPart = nm[2];
  const type = decl.slice(0, nm.index).trim();
  let kind: FieldKind = FieldKind.number;
  const charElem = /\bchar\b/.test(type);
  if (/^__data_loc\b/.test(type)) kind = FieldKind.dataLoc;
  else if (/^__rel_loc\b/.test(type)) kind = FieldKind.relLoc;
  else if (arrayPart !== undefined) kind = charElem ? FieldKind.chars : FieldKind.array;
  return { name, type, offset, size, signed, kind, pointer: type.includes('*'), charElem };
}

/**
 * Parse a format file. `system` comes from the file structure (not the text). Returns undefined
 * (and the caller reports) when the text has no name or no numeric ID.
 */
export function parseEventFormat(text: string, system: string): EventFormat | undefined {
  let name = '';
  let id = -1;
  const fields: FieldDef[] = [];
  let printFmt = '';
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const t = line.trimStart();
    if (t.startsWith('name:')) name = t.slice(5).trim();
    else if (t.startsWith('ID:')) {
      const v = Number(t.slice(3).trim());
      if (Number.isInteger(v) && v >= 0 && v <= 0xffff) id = v;
    } else if (t.startsWith('field:')) {
      const f = parseFieldLine(t);
      if (f) fields.push(f);
    } else if (t.startsWith('print fmt:')) {
      printFmt = lines.slice(i).join('\n').slice(line.indexOf('print fmt:') + 10).trim();
      break;
    }
  }
  if (!name || id < 0) return undefined;
  return { id, system, name, fields, printFmt };
}

export function fieldByName(ev: EventFormat, name: string): FieldDef | undefined {
  return ev.fields.find((f) => f.name === name);
}

// ---- sched_switch prev_state ----------------------------------------------------------------

/** Kernel prev_state value -> TaskState bits, as the trace's own print fmt defines it. */
export interface StateMap {
  /** flag values in print order, with the TaskState bit for each */
  values: number[];
  bits: number[];
  /** mask applied before __print_flags (TASK_REPORT_MAX - 1 etc.); 0 = none found */
  reportMask: number;
  /** the "+" (preempted) bit; 0 = none found */
  preemptMask: number;
  /** true when the print fmt was understood */
  fromFormat: boolean;
}

const LETTER_BITS: Record<string, number> = {
  S: TaskState.interruptible,
  D: TaskState.uninterruptible,
  T: TaskState.stopped,
  t: TaskState.traced,
  X: TaskState.dead,
  // Kernels before 4.14 print TASK_DEAD as 'x' (EXIT_DEAD is 'X'): both mean "dead".
  x: TaskState.dead,
  Z: TaskState.zombie,
  P: TaskState.parked,
  I: TaskState.idle,
  K: TaskState.wakekill,
  W: TaskState.waking,
  N: TaskState.noload,
};

/** Parse sched_switch's print fmt. Unparseable → fromFormat false and every non-zero state unknown. */
export function parseStateMap(printFmt: string): StateMap {
  const map: StateMap = { values: [], bits: [], reportMask: 0, preemptMask: 0, fromFormat: false };
  const pf = printFmt.indexOf('__print_flags(');
  if (pf < 0) return map;
  // First argument of __print_flags: "REC->prev_state & (MASK)".
  const args = splitTopLevelArgs(printFmt, pf + '__print_flags('.length);
  if (!args || args.length < 3) return map;
  const first = args[0]!;
  const amp = first.indexOf('&');
  if (amp >= 0) {
    const v = evalConstExpr(first.slice(amp + 1));
    if (v !== undefined) map.reportMask = v;
  }
  for (let i = 2; i < args.length; i++) {
    const m = /^\s*\{\s*([^,]+?)\s*,\s*"([^"]*)"\s*\}\s*$/.exec(args[i]!);
    if (!m) continue;
    const value = evalConstExpr(m[1]!);
    if (value === undefined) continue;
    let bits = 0;
    for (const ch of m[2]!) bits |= LETTER_BITS[ch] ?? TaskState.unknown;
    map.values.push(value);
    map.bits.push(bits);
  }
  // The "+" suffix: `REC->prev_state & EXPR ? "+" : ""`.
  const plus = printFmt.indexOf('? "+"');
  if (plus > 0) {
    const before = printFmt.slice(0, plus);
    const at = before.lastIndexOf('REC->prev_state');
    if (at >= 0) {
      const rest = before.slice(at + 'REC->prev_state'.length);
      const a = rest.indexOf('&');
      if (a >= 0) {
        const v = evalConstExpr(rest.slice(a + 1));
        if (v !== undefined) map.preemptMask = v;
      }
    }
  }
  map.fromFormat = map.values.length > 0;
  return map;
}

/** Map a raw prev_state to TaskState bits, following __print_flags semantics. */
export function mapPrevState(map: StateMap, raw: number): number {
  if (!map.fromFormat) return raw === 0 ? TaskState.running : TaskState.unknown;
  let out = 0;
  if (map.preemptMask !== 0 && (raw & map.preemptMask) !== 0) out |= TaskState.preempted;
  let v = map.reportMask !== 0 ? raw & map.reportMask : raw & ~map.preemptMask;
  for (let i = 0; i < map.values.length && v !== 0; i++) {
    const f = map.values[i]!;
    if (f !== 0 && (v & f) === f) {
      out |= map.bits[i]!;
      v &= ~f;
    }
  }
  if (v !== 0) out |= TaskState.unknown;
  return out;
}

/** Split "a, b, {c, d}, e)" at top-level commas up to the closing paren; undefined if unbalanced. */
function splitTopLevelArgs(s: string, start: number): string[] | undefined {
  const out: string[] = [];
  let depth = 0;
  let inStr = false;
  let cur = start;
  for (let i = start; i < s.length; i++) {
    const c = s[i]!;
    if (inStr) {
      if (c === '\\') i++;
      else if (c === '"') inStr = false;
      continue;
    }
    if (c === '"') inStr = true;
    else if (c === '(' || c === '{' || c === '[') depth++;
    else if (c === ')' || c === '}' || c === ']') {
      if (depth === 0) {
        out.push(s.slice(cur, i));
        return out;
      }
      depth--;
    } else if (c === ',' && depth === 0) {
      out.push(s.slice(cur, i));
      cur = i + 1;
    }
  }
  return undefined;
}

/**
 * Evaluate a constant C integer expression of numbers, ( ), |, &, +, -, <<, >> (the shapes the
 * kernel's TASK_REPORT_MAX macros expand to). Undefined if anything else appears.
 */
export function evalConstExpr(src: string): number | undefined {
  const toks = src.match(/0[xX][0-9a-fA-F]+|\d+|<<|>>|[()|&+\-~]|\S/g);
  if (!toks) return undefined;
  let i = 0;
  const peek = (): string | undefined => toks[i];
  const prim = (): number | undefined => {
    const t = toks[i++];
    if (t === undefined) return undefined;
    if (t === '(') {
      const v = orExpr();
      if (toks[i++] !== ')') return undefined;
      return v;
    }
    if (t === '~') {
      const v = prim();
      return v === undefined ? undefined : ~v;
    }
    if (/^(0[xX][0-9a-fA-F]+|\d+)$/.test(t)) return Number(t);
    return undefined;
  };
  const add = (): number | undefined => {
    let v = prim();
    while (v !== undefined && (peek() === '+' || peek() === '-')) {
      const op = toks[i++];
      const r = prim();
      if (r === undefined) return undefined;
      v = op === '+' ? v + r : v - r;
    }
    return v;
  };
  const shift = (): number | undefined => {
    let v = add();
    while (v !== undefined && (peek() === '<<' || peek() === '>>')) {
      const op = toks[i++];
      const r = add();
      if (r === undefined) return undefined;
      v = op === '<<' ? v * 2 ** r : Math.floor(v / 2 ** r);
    }
    return v;
  };
  const andExpr = (): number | undefined => {
    let v = shift();
    while (v !== undefined && peek() === '&') {
      i++;
      const r = shift();
      if (r === undefined) return undefined;
      v = v & r;
    }
    return v;
  };
  function orExpr(): number | undefined {
    let v = andExpr();
    while (v !== undefined && peek() === '|') {
      i++;
      const r = andExpr();
      if (r === undefined) return undefined;
      v = v | r;
    }
    return v;
  }
  const v = orExpr();
  if (i !== toks.length) return undefined;
  return v;
}
