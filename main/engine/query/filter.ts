// Filters over a session's merged event table: a FilterSpec compiled to per-file lookup tables,
// evaluated incrementally (a time budget per step) into a list of matching global row positions.
// Batches whose summaries rule out the cpu / thread / time parts are skipped without being read.

import type { FilterSpec } from '../../../shared/contract.ts';
import { EVENT_KIND_NAMES } from '../../../shared/schema.ts';
import type { EventColumns } from '../index/event-columns.ts';
import { toHostNs, type ClockMap } from '../model/align.ts';
import { BatchCache, driftClock, type SessionData } from './session-data.ts';

interface FileFilter {
  /** false: no row of this file passes. */
  allowed: boolean;
  cpus: Set<number> | null;
  tids: Set<number> | null;
  /** comm id -> 1 when the comm is one of the spec's process names. */
  commOk: Uint8Array | null;
  /** comm id / event id -> 1 when it contains the search text. */
  textComm: Uint8Array | null;
  textEvent: Uint8Array | null;
  /** Added to the file's timestamps (session timeline)... */
  offsetNs: number;
  /** ...unless its clock map is piecewise-linear (drift applied). */
  clock: ClockMap | null;
}

export interface CompiledFilter {
  empty: boolean;
  files: FileFilter[];
  kinds: Uint8Array | null;
  t0Ns: number;
  t1Ns: number;
}

export function normalizeFilter(f: FilterSpec): FilterSpec {
  const out: FilterSpec = {};
  if (f.files?.length) out.files = [...new Set(f.files)].sort((a, b) => a - b);
  if (f.cpus?.length) out.cpus = [...f.cpus].sort((a, b) => a.file - b.file || a.cpu - b.cpu);
  if (f.threads?.length) out.threads = [...f.threads].sort((a, b) => a.file - b.file || a.tid - b.tid);
  if (f.comms?.length) out.comms = [...new Set(f.comms)].sort();
  if (f.kinds?.length) out.kinds = [...new Set(f.kinds)].sort((a, b) => a - b);
  if (f.t0Ns !== undefined) out.t0Ns = f.t0Ns;
  if (f.t1Ns !== undefined) out.t1Ns = f.t1Ns;
  if (f.text) out.text = f.text;
  return out;
}

export function filterKey(f: FilterSpec): string {
  return JSON.stringify(normalizeFilter(f));
}

export function compileFilter(spec: FilterSpec, data: SessionData): CompiledFilter {
  const s = normalizeFilter(spec);
  const empty = Object.keys(s).length === 0;
  const needle = s.text?.toLowerCase();
  const files: FileFilter[] = data.files.map((tr, f) => {
    const cpus = s.cpus ? new Set(s.cpus.filter((c) => c.file === f).map((c) => c.cpu)) : null;
    const tids = s.threads ? new Set(s.threads.filter((t) => t.file === f).map((t) => t.tid)) : null;
    let commOk: Uint8Array | null = null;
    if (s.comms) {
      const want = new Set(s.comms);
      commOk = new Uint8Array(tr.comms.length);
      tr.comms.forEach((c, i) => (commOk![i] = want.has(c) ? 1 : 0));
    }
    let textComm: Uint8Array | null = null;
    let textEvent: Uint8Array | null = null;
    if (needle) {
      textComm = new Uint8Array(tr.comms.length);
      tr.comms.forEach((c, i) => (textComm![i] = c.toLowerCase().includes(needle) ? 1 : 0));
      textEvent = new Uint8Array(tr.events.length);
      tr.events.forEach((e, i) => (textEvent![i] = e.toLowerCase().includes(needle) ? 1 : 0));
    }
    let allowed = !s.files || s.files.includes(f);
    // A cpu or thread list that names other files only excludes this file entirely.
    if (cpus && cpus.size === 0) allowed = false;
    if (tids && tids.size === 0) allowed = false;
    return { allowed, cpus, tids, commOk, textComm, textEvent, offsetNs: data.offsetsNs[f] ?? 0, clock: driftClock(data, f) };
  });
  let kinds: Uint8Array | null = null;
  if (s.kinds) {
    kinds = new Uint8Array(Math.max(256, EVENT_KIND_NAMES.length));
    for (const k of s.kinds) if (k >= 0 && k < kinds.length) kinds[k] = 1;
  }
  return { empty, files, kinds, t0Ns: s.t0Ns ?? -Infinity, t1Ns: s.t1Ns ?? Infinity };
}

/** Does row i of c (from file filter ff) pass? Scalars only; called per row. */
export function rowPasses(cf: CompiledFilter, ff: FileFilter, c: EventColumns, i: number): boolean {
  const ts = ff.clock ? toHostNs(ff.clock, c.ts[i]!) : c.ts[i]! + ff.offsetNs;
  if (ts < cf.t0Ns || ts >= cf.t1Ns) return false;
  if (cf.kinds && cf.kinds[c.kind[i]!] !== 1) return false;
  if (ff.cpus && !ff.cpus.has(c.cpu[i]!)) return false;
  if (ff.tids) {
    const p = c.prevTid[i]!;
    if (!ff.tids.has(c.tid[i]!) && !ff.tids.has(c.pid[i]!) && !(p !== -1 && ff.tids.has(p))) return false;
  }
  if (ff.commOk) {
    const a = c.comm[i]!;
    const b = c.prevComm[i]!;
    if (!((a >= 0 && ff.commOk[a] === 1) || (b >= 0 && ff.commOk[b] === 1))) return false;
  }
  if (ff.textComm && ff.textEvent) {
    const a = c.comm[i]!;
    const b = c.prevComm[i]!;
    if (!((a >= 0 && ff.textComm[a] === 1) || (b >= 0 && ff.textComm[b] === 1) || ff.textEvent[c.event[i]!] === 1)) return false;
  }
  return true;
}

/** Can any row of batch b of file f pass (from the batch summaries)? */
function batchMayPass(cf: CompiledFilter, data: SessionData, f: number, b: number): boolean {
  const ff = cf.files[f]!;
  if (!ff.allowed) return false;
  const s = data.batches[f]!;
  if (s.maxTs[b]! < cf.t0Ns || s.minTs[b]! >= cf.t1Ns) return false;
  if (ff.cpus) {
    let any = false;
    for (const cpu of ff.cpus) if (s.mayHaveCpu(b, cpu)) any = true;
    if (!any) return false;
  }
  if (ff.tids) {
    let any = false;
    for (const t of ff.tids) if (s.mayHaveTid(b, t)) any = true;
    if (!any) return false;
  }
  return true;
}

/** Matching global positions, computed a slice at a time so the engine keeps answering. */
export class FilterJob {
  private pos = new Uint32Array(1024);
  matched = 0;
  scanned = 0;
  total: number;
  /** Batches skipped thanks to their summaries (reported by the benchmark). */
  skippedBatches = 0;
  private cache: BatchCache;

  constructor(
    public data: SessionData,
    public cf: CompiledFilter,
  ) {
    this.total = data.rowCount;
    this.cache = new BatchCache(data.files, 4);
  }

  /**
   * The session grew by appended rows (a partial session while its file is indexed): go on over
   * the new rows. `cf` is the same spec compiled against the grown string tables (new comm ids).
   * Rows already matched keep their positions, so nothing is scanned twice.
   */
  extend(data: SessionData, cf: CompiledFilter): void {
    if (data.rowCount < this.total || data.mergeFile) throw new Error('a filter job extends over appended rows of one file only');
    this.data = data;
    this.cf = cf;
    this.total = data.rowCount;
    this.cache = new BatchCache(data.files, 4);
  }

  get done(): boolean {
    return this.scanned >= this.total;
  }

  /** Global row position of the i-th match (i < matched). */
  at(i: number): number {
    return this.pos[i]!;
  }

  private push(g: number): void {
    if (this.matched === this.pos.length) {
      const b = new Uint32Array(this.pos.length * 2);
      b.set(this.pos);
      this.pos = b;
    }
    this.pos[this.matched++] = g;
  }

  /** Work until `budgetMs` has passed or everything is scanned (at least one batch per call). */
  step(budgetMs: number): void {
    const until = performance.now() + budgetMs;
    const d = this.data;
    if (!d.mergeFile || !d.mergeRow) {
      const tr = d.files[0];
      if (!tr) {
        this.scanned = this.total;
        return;
      }
      const ff = this.cf.files[0]!;
      let first = true;
      while (this.scanned < this.total && (first || performance.now() < until)) {
        first = false;
        const b = Math.floor(this.scanned / tr.batchRows);
        const rowStart = b * tr.batchRows;
        const rowEnd = Math.min(this.total, rowStart + tr.batchRows);
        if (!batchMayPass(this.cf, d, 0, b)) {
          this.skippedBatches++;
          this.scanned = rowEnd;
          continue;
        }
        const c = this.cache.get(0, b);
        for (let i = this.scanned - rowStart; i < c.length; i++) if (rowPasses(this.cf, ff, c, i)) this.push(rowStart + i);
        this.scanned = rowEnd;
      }
      return;
    }
    const mf = d.mergeFile;
    const mr = d.mergeRow;
    let first = true;
    while (this.scanned < this.total && (first || performance.now() < until)) {
      first = false;
      const stop = Math.min(this.total, this.scanned + 65536);
      for (let g = this.scanned; g < stop; g++) {
        const f = mf[g]!;
        const ff = this.cf.files[f]!;
        if (!ff.allowed) continue;
        const r = mr[g]!;
        const tr = d.files[f]!;
        const b = Math.floor(r / tr.batchRows);
        const c = this.cache.get(f, b);
        if (rowPasses(this.cf, ff, c, r - b * tr.batchRows)) this.push(g);
      }
      this.scanned = stop;
    }
  }
}
