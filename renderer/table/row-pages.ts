// Pages of table rows fetched from the engine on demand (Arrow windows), kept in a small LRU so
// the renderer's memory does not grow with the trace. Rows are read from the page columns only
// for the rows on screen.

import type { FilterSpec, TraceApi } from '../../shared/contract.ts';
import { decodeWindow, type DecodedWindow } from '../api/arrow.ts';
import { PAGE_ROWS } from '../api/first-requests.ts';

export { PAGE_ROWS };
const MAX_PAGES = 48;
/**
 * Page requests in flight at once. A fast scroll over a 100M-row table asks for a new page every
 * frame; sent as asked, they queued in the engine (each may decode a 65,536-row batch) and a jump
 * made after waited behind hundreds of pages nobody looked at any more (1.7 s). Pages wait here
 * instead, newest first, and the ones asked for long ago are dropped.
 */
const MAX_INFLIGHT = 3;
/** A wanted page not asked for again within this many asks is no longer on screen. */
const STALE_ASKS = 256;

export interface RowData {
  row: number;
  ts: number;
  file: number;
  cpu: number;
  kind: number;
  tid: number;
  pid: number;
  prevTid: number;
  prevState: number;
  arg0: number;
  arg1: number;
  offset: number;
  comm: string | undefined;
  prevComm: string | undefined;
  event: string | undefined;
}

interface Page {
  w: DecodedWindow;
  strings: string[];
  events: string[];
  /** Rows read so far (get returns the same object for a row while its page is held). */
  rows?: (RowData | undefined)[];
}

export class RowPages {
  private readonly pages = new Map<number, Page>();
  private readonly inflight = new Set<number>();
  /** page -> sequence number of the last ask for it (not yet requested) */
  private readonly wanted = new Map<number, number>();
  private asks = 0;
  private generation = 0;
  private readonly listeners = new Set<() => void>();
  error: string | null = null;

  constructor(
    private readonly api: TraceApi,
    private readonly sessionId: string,
    private filter: FilterSpec,
    private readonly onChange: () => void,
  ) {}

  /**
   * Called when a page arrives (or fails), besides the constructor's onChange. The table listens
   * here so that a page arriving re-renders the table alone, not the views around it.
   */
  subscribe(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  private changed(): void {
    this.onChange();
    for (const cb of this.listeners) cb();
  }

  setFilter(f: FilterSpec): void {
    this.filter = f;
    this.clear();
  }

  /** Forget pages (the filter changed or its result grew). */
  clear(): void {
    this.pages.clear();
    this.inflight.clear();
    this.wanted.clear();
    this.generation++;
  }

  /** Drop pages at or after `row` (their rows may have changed as a filter job advanced). */
  invalidateFrom(row: number): void {
    const p0 = Math.floor(row / PAGE_ROWS);
    for (const k of [...this.pages.keys()]) if (k >= p0) this.pages.delete(k);
  }

  /** All rows of one rows() answer (export); `start` is the first row's position. */
  static decode(bytes: Uint8Array, start: number): RowData[] {
    const w = decodeWindow(bytes);
    const page: Page = { w, strings: w.meta<string[]>('strings', []), events: w.meta<string[]>('events', []) };
    const out: RowData[] = [];
    for (let i = 0; i < w.length; i++) out.push(rowOf(page, i, start + i));
    return out;
  }

  get(row: number): RowData | null {
    const p = Math.floor(row / PAGE_ROWS);
    const page = this.pages.get(p);
    if (!page) {
      this.want(p);
      return null;
    }
    const i = row - p * PAGE_ROWS;
    if (i >= page.w.length) {
      // A page read while a filter was still growing is short: read it again.
      if (page.w.length < PAGE_ROWS) {
        this.pages.delete(p);
        this.want(p);
      }
      return null;
    }
    const rows = (page.rows ??= []);
    return (rows[i] ??= rowOf(page, i, row));
  }

  /**
   * Asks for the page of `row` ahead of need (the table's next page in either direction), only
   * when nothing on screen is waiting and a request slot is free: it never delays a wanted page.
   */
  prefetch(row: number): void {
    if (row < 0) return;
    const p = Math.floor(row / PAGE_ROWS);
    if (this.pages.has(p) || this.inflight.has(p) || this.wanted.size > 0 || this.inflight.size >= MAX_INFLIGHT) return;
    this.fetch(p);
  }

  private want(p: number): void {
    if (this.inflight.has(p)) return;
    this.wanted.set(p, ++this.asks);
    this.pump();
  }

  /** Sends the most recently asked-for pages while fewer than MAX_INFLIGHT are out. */
  private pump(): void {
    while (this.inflight.size < MAX_INFLIGHT && this.wanted.size > 0) {
      let best = -1;
      let bestAsk = -1;
      for (const [p, a] of this.wanted) {
        if (a < this.asks - STALE_ASKS) this.wanted.delete(p);
        else if (a > bestAsk) {
          best = p;
          bestAsk = a;
        }
      }
      if (best < 0) return;
      this.wanted.delete(best);
      if (!this.pages.has(best)) this.fetch(best);
    }
  }

  /** Pages asked for and not yet sent (tests). */
  get waiting(): number {
    return this.wanted.size;
  }

  private fetch(p: number): void {
    if (this.inflight.has(p)) return;
    this.inflight.add(p);
    const gen = this.generation;
    void this.api.rows({ sessionId: this.sessionId, filter: this.filter, start: p * PAGE_ROWS, count: PAGE_ROWS }).then((r) => {
      if (gen !== this.generation) return;
      this.inflight.delete(p);
      this.pump();
      if (!r.ok) {
        this.error = r.error.message;
        this.changed();
        return;
      }
      const w = decodeWindow(r.value);
      // A short page at the end of a still-growing filter result is not kept (it would go stale).
      if (w.length === 0) return;
      this.pages.set(p, { w, strings: w.meta<string[]>('strings', []), events: w.meta<string[]>('events', []) });
      if (this.pages.size > MAX_PAGES) this.pages.delete(this.pages.keys().next().value as number);
      this.changed();
    });
  }
}

function rowOf(page: Page, i: number, row: number): RowData {
  const w = page.w;
  const c = (n: string): ArrayLike<number> => w.col(n);
  const comm = c('comm')[i]!;
  const prevComm = c('prevComm')[i]!;
  const ev = c('event')[i]!;
  return {
    row,
    ts: c('ts')[i]!,
    file: c('file')[i]!,
    cpu: c('cpu')[i]!,
    kind: c('kind')[i]!,
    tid: c('tid')[i]!,
    pid: c('pid')[i]!,
    prevTid: c('prevTid')[i]!,
    prevState: c('prevState')[i]!,
    arg0: c('arg0')[i]!,
    arg1: c('arg1')[i]!,
    offset: c('offset')[i]!,
    comm: comm >= 0 ? page.strings[comm] : undefined,
    prevComm: prevComm >= 0 ? page.strings[prevComm] : undefined,
    event: ev >= 0 ? page.events[ev] : undefined,
  };
}
