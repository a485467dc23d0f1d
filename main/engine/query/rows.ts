// Row windows of the filtered, time-ordered table (Arrow bytes, see shared/contract.ts rows())
// and the jump-to-time search. Reads only the batches the window touches.

import { MAX_WINDOW_ROWS } from '../../../shared/contract.ts';
import { encodeWindow, WindowStrings } from './arrow-window.ts';
import type { EventColumns } from '../index/event-columns.ts';
import type { FilterJob } from './filter.ts';
import type { BatchCache} from './session-data.ts';
import { sessionTs, type SessionData } from './session-data.ts';

/** Filtered view: positions come from a job (null = every row). */
export interface RowView {
  data: SessionData;
  job: FilterJob | null;
  cache: BatchCache;
}

export function viewLength(v: RowView): number {
  return v.job ? v.job.matched : v.data.rowCount;
}

function globalAt(v: RowView, i: number): number {
  return v.job ? v.job.at(i) : i;
}

function locate(d: SessionData, g: number): { f: number; r: number } {
  if (d.mergeFile && d.mergeRow) return { f: d.mergeFile[g]!, r: d.mergeRow[g]! };
  return { f: 0, r: g };
}

export function tsOfGlobal(v: RowView, g: number): number {
  const { f, r } = locate(v.data, g);
  const tr = v.data.files[f]!;
  const b = Math.floor(r / tr.batchRows);
  return sessionTs(v.data, f, v.cache.get(f, b).ts[r - b * tr.batchRows]!);
}

export function rowsWindow(v: RowView, start: number, count: number): Uint8Array {
  const len = viewLength(v);
  const s = Math.max(0, Math.min(start, len));
  const n = Math.max(0, Math.min(count, MAX_WINDOW_ROWS, len - s));
  const d = v.data;
  const strings = new WindowStrings(d.files.map((f) => f.comms));
  const events = new WindowStrings(d.files.map((f) => f.events));
  const cols = {
    row: new Float64Array(n),
    ts: new Float64Array(n),
    file: new Uint8Array(n),
    cpu: new Uint16Array(n),
    kind: new Uint8Array(n),
    tid: new Int32Array(n),
    pid: new Int32Array(n),
    prevTid: new Int32Array(n),
    prevState: new Uint16Array(n),
    arg0: new Int32Array(n),
    arg1: new Int32Array(n),
    offset: new Float64Array(n),
    comm: new Int32Array(n),
    prevComm: new Int32Array(n),
    event: new Int32Array(n),
  };
  // Where each row lives, then one read per (file, batch) span: a page after a jump reads its
  // rows, not the batches around them.
  const fileOf = new Uint8Array(n);
  const rowOf = new Float64Array(n);
  const spans = new Map<number, { lo: number; hi: number; cols: EventColumns | null; base: number }>();
  for (let k = 0; k < n; k++) {
    const g = globalAt(v, s + k);
    const { f, r } = locate(d, g);
    fileOf[k] = f;
    rowOf[k] = r;
    const tr = d.files[f]!;
    const b = Math.floor(r / tr.batchRows);
    const i = r - b * tr.batchRows;
    const key = b * 256 + f;
    const sp = spans.get(key);
    if (!sp) spans.set(key, { lo: i, hi: i, cols: null, base: 0 });
    else {
      if (i < sp.lo) sp.lo = i;
      if (i > sp.hi) sp.hi = i;
    }
  }
  for (const [key, sp] of spans) {
    const got = v.cache.span(key & 255, Math.floor(key / 256), sp.lo, sp.hi - sp.lo + 1);
    sp.cols = got.cols;
    sp.base = got.base - sp.lo;
  }
  for (let k = 0; k < n; k++) {
    const f = fileOf[k]!;
    const r = rowOf[k]!;
    const tr = d.files[f]!;
    const b = Math.floor(r / tr.batchRows);
    const sp = spans.get(b * 256 + f)!;
    const c = sp.cols!;
    const i = r - b * tr.batchRows + sp.base;
    cols.row[k] = s + k;
    cols.ts[k] = sessionTs(d, f, c.ts[i]!);
    cols.file[k] = f;
    cols.cpu[k] = c.cpu[i]!;
    cols.kind[k] = c.kind[i]!;
    cols.tid[k] = c.tid[i]!;
    cols.pid[k] = c.pid[i]!;
    cols.prevTid[k] = c.prevTid[i]!;
    cols.prevState[k] = c.prevState[i]!;
    cols.arg0[k] = c.arg0[i]!;
    cols.arg1[k] = c.arg1[i]!;
    cols.offset[k] = c.offset[i]!;
    cols.comm[k] = strings.id(f, c.comm[i]!);
    cols.prevComm[k] = strings.id(f, c.prevComm[i]!);
    cols.event[k] = events.id(f, c.event[i]!);
  }
  return encodeWindow(cols, { strings: strings.list, events: events.list });
}

/**
 * tsOfGlobal(v, g) < tsNs, answered from the batch's time range when that decides it (most probes
 * of a jump to time), else from the row (reads its batch).
 */
function tsBelow(v: RowView, g: number, tsNs: number): boolean {
  const { f, r } = locate(v.data, g);
  const sums = v.data.batches[f];
  const b = Math.floor(r / v.data.files[f]!.batchRows);
  if (sums && b < sums.count) {
    if (sums.maxTs[b]! < tsNs) return true;
    if (sums.minTs[b]! >= tsNs) return false;
  }
  return tsOfGlobal(v, g) < tsNs;
}

/** First position in the view whose ts >= tsNs (clamped to the last row; 0 when empty). */
export function rowAtTime(v: RowView, tsNs: number): number {
  const len = viewLength(v);
  let lo = 0;
  let hi = len;
  while (lo < hi) {
    const m = Math.floor((lo + hi) / 2);
    if (tsBelow(v, globalAt(v, m), tsNs)) lo = m + 1;
    else hi = m;
  }
  return Math.max(0, Math.min(lo, len - 1));
}
