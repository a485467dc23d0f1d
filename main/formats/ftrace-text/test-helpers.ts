// Test helpers for the ftrace text reader: dump a read as a stable golden, compare with a diff. Test-only (imported by *.test.ts beside it); not used by the reader.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { EVENT_KIND_NAMES, NO_STATE, formatTaskState } from '../../../shared/schema.ts';
import type { Diagnostic } from '../../../shared/result.ts';
import type { FormatInfo } from '../types.ts';

export const UPDATE_GOLDENS = process.env.UPDATE_GOLDENS === '1' || process.env.VCPUSCOPE_UPDATE_GOLDENS === '1';

/**
 * What the tests read: the shape of engine/index's ReadResult, restated here because the
 * layer rule keeps this (non-test) module from importing engine/index; the tests pass the real one.
 */
export interface ReadResult {
  columns: {
    length: number; ts: Float64Array; cpu: Uint16Array; kind: Uint8Array; event: Uint16Array; pid: Int32Array;
    tid: Int32Array; comm: Int32Array; prevTid: Int32Array; prevComm: Int32Array; prevState: Uint16Array;
    arg0: Int32Array; arg1: Int32Array; offset: Float64Array; input: Uint8Array; inputs: string[];
    comms: string[]; events: string[];
  };
  info: FormatInfo;
  diagnostics: { kept: readonly Diagnostic[]; total: number };
}

export function countsByEvent(r: ReadResult): Record<string, number> {
  const c = r.columns;
  const m = new Map<string, number>();
  for (let i = 0; i < c.length; i++) {
    const n = c.events[c.event[i]!]!;
    m.set(n, (m.get(n) ?? 0) + 1);
  }
  return Object.fromEntries([...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}

export function rowOf(r: ReadResult, i: number): Record<string, unknown> {
  const c = r.columns;
  const comm = (id: number): string | null => (id < 0 ? null : (c.comms[id] ?? `?${id}`));
  return {
    ts: c.ts[i], cpu: c.cpu[i], kind: EVENT_KIND_NAMES[c.kind[i]!], event: c.events[c.event[i]!],
    pid: c.pid[i], tid: c.tid[i], comm: comm(c.comm[i]!), prevTid: c.prevTid[i], prevComm: comm(c.prevComm[i]!),
    prevState: c.prevState[i] === NO_STATE ? null : formatTaskState(c.prevState[i]!),
    arg0: c.arg0[i], arg1: c.arg1[i], offset: c.offset[i], input: c.input[i],
  };
}

/** FNV-1a over every column value of every row: catches a change anywhere, not only in the rows shown. */
export function columnsHash(r: ReadResult): string {
  const c = r.columns;
  let h = 0x811c9dc5;
  const mix = (v: number): void => {
    const s = String(v);
    for (let k = 0; k < s.length; k++) h = Math.imul(h ^ s.charCodeAt(k), 0x01000193);
    h = Math.imul(h ^ 0x2c, 0x01000193);
  };
  const mixStr = (s: string): void => {
    for (let k = 0; k < s.length; k++) h = Math.imul(h ^ s.charCodeAt(k), 0x01000193);
  };
  for (let i = 0; i < c.length; i++) {
    mix(c.ts[i]!); mix(c.cpu[i]!); mix(c.kind[i]!); mixStr(c.events[c.event[i]!]!); mix(c.pid[i]!); mix(c.tid[i]!);
    mixStr(c.comm[i]! < 0 ? '' : c.comms[c.comm[i]!]!); mix(c.prevTid[i]!);
    mixStr(c.prevComm[i]! < 0 ? '' : c.comms[c.prevComm[i]!]!); mix(c.prevState[i]!); mix(c.arg0[i]!); mix(c.arg1[i]!);
    mix(c.offset[i]!); mix(c.input[i]!);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

export function goldenOf(r: ReadResult, fileName: string): unknown {
  const c = r.columns;
  const n = c.length;
  const kinds: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const k = EVENT_KIND_NAMES[c.kind[i]!]!;
    kinds[k] = (kinds[k] ?? 0) + 1;
  }
  const first: unknown[] = [];
  for (let i = 0; i < Math.min(n, 12); i++) first.push(rowOf(r, i));
  const last: unknown[] = [];
  for (let i = Math.max(12, n - 5); i < n; i++) last.push(rowOf(r, i));
  return {
    file: fileName,
    info: r.info,
    events: n,
    byEvent: countsByEvent(r),
    byKind: Object.fromEntries(Object.entries(kinds).sort()),
    inputs: c.inputs,
    startNs: n > 0 ? c.ts[0] : null,
    endNs: n > 0 ? c.ts[n - 1] : null,
    columnsHash: columnsHash(r),
    diagnostics: r.diagnostics.kept.map((d) => ({ severity: d.severity, offset: d.offset, line: d.line ?? null, message: d.message })),
    diagnosticsTotal: r.diagnostics.total,
    firstRows: first,
    lastRows: last,
  };
}

/** Compare `actual` with the golden file (or rewrite it with UPDATE_GOLDENS=1); prints a line diff. */
export function assertGolden(goldenPath: string, actual: unknown): void {
  const text = `${JSON.stringify(actual, null, 2)}\n`;
  if (UPDATE_GOLDENS || !fs.existsSync(goldenPath)) {
    if (!UPDATE_GOLDENS) assert.fail(`golden missing: ${goldenPath} (run with UPDATE_GOLDENS=1 to create it)`);
    fs.writeFileSync(goldenPath, text);
    return;
  }
  const expected = fs.readFileSync(goldenPath, 'utf8');
  if (expected === text) return;
  const a = expected.split('\n');
  const b = text.split('\n');
  const diff: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length) && diff.length < 60; i++) {
    if (a[i] !== b[i]) {
      if (a[i] !== undefined) diff.push(`${i + 1}: - ${a[i]}`);
      if (b[i] !== undefined) diff.push(`${i + 1}: + ${b[i]}`);
    }
  }
  assert.fail(`${goldenPath} differs (UPDATE_GOLDENS=1 rewrites it after review):\n${diff.join('\n')}`);
}
