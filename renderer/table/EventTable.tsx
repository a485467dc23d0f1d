// The event table: fixed row height, scaled scrolling past the browser's element-height cap
// (scroll-map.ts), virtualized with @tanstack/react-virtual (row-range.ts: its Virtualizer, headless,
// picks the rows to draw from a bounded window of rows), and a pool of row elements (row-pool.ts)
// that shows those rows: a
// scroll event draws its frame's rows at once, in place, without a React render (React renders
// the table when its props change). Rows come from the engine a page at a time (row-pages.ts),
// the next page asked for before it scrolls into view while scrolling; pages arriving are drawn at the next
// animation frame, together. Keyboard: arrows, Page Up/Down, Home/End (Shift extends a range, as
// does Shift+click); Ctrl+C copies the selected rows.

import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent, type MouseEvent } from 'react';
import type { SessionInfo } from '../../shared/contract.ts';
import { details, formatTime, kindName, thread, type TimeUnit } from '../format.ts';
import type { RowData, RowPages } from './row-pages.ts';
import { RowPool } from './row-pool.ts';
import { RowRange } from './row-range.ts';
import { clampFirstRow, makeScrollMap, revealFirstRow, rowToScrollTop, scrollTopToRow, wheelRows } from './scroll-map.ts';

/** Rows ahead of the screen whose page is asked for before they scroll into view. */
const PREFETCH_ROWS = 96;
/** A draw that moved the first row further than this is a jump, not scrolling: no prefetch. */
const PREFETCH_MAX_STEP = 1024;

export interface TableSettings {
  unit: TimeUnit;
  relative: boolean;
}

export interface EventTableProps {
  session: SessionInfo;
  pages: RowPages;
  /** Bumped when pages were dropped or cleared (page arrivals come through pages.subscribe). */
  version: number;
  rowCount: number;
  rowHeightPx: number;
  settings: TableSettings;
  selected: number | null;
  onSelect: (row: number, data: RowData | null) => void;
  /** Scroll so that this row is visible (seq changes on each request). */
  reveal: { row: number; seq: number } | null;
  /** Copy rows [first, last] as text (the caller reads them from the engine; bounded there). */
  onCopy: (first: number, last: number) => void;
  /** A new value (e.g. another filter) scrolls back to the first row. */
  scrollResetKey: string;
}

export function rowText(r: RowData, session: SessionInfo, s: TableSettings): string[] {
  const f = session.files[r.file];
  return [
    formatTime(r.ts, { unit: s.unit, originNs: s.relative ? session.startNs : 0 }),
    f?.layer && f.layer !== 'unknown' ? f.layer : '—',
    f?.name ?? '',
    String(r.cpu),
    r.event ?? kindName(r.kind),
    thread(r.comm, r.tid),
    details(r),
  ];
}

export function EventTable(props: EventTableProps) {
  const { session, pages, version, rowCount, rowHeightPx: rowH, settings, selected, onSelect, reveal, onCopy, scrollResetKey } = props;
  // The other end of a Shift-selected range (null: just the selected row).
  const [anchor, setAnchor] = useState<number | null>(null);
  const lo = selected === null ? -1 : Math.min(selected, anchor ?? selected);
  const hi = selected === null ? -1 : Math.max(selected, anchor ?? selected);
  const outerRef = useRef<HTMLDivElement>(null);
  const layerRef = useRef<HTMLDivElement>(null);
  const [viewportPx, setViewportPx] = useState(400);
  const map = useMemo(() => makeScrollMap(rowCount, rowH, viewportPx), [rowCount, rowH, viewportPx]);
  const format = useMemo(() => ({ session, settings: { unit: settings.unit, relative: settings.relative } }), [session, settings.unit, settings.relative]);

  // What a frame draws, read by the scroll listener and the frame callback (latest props).
  const live = useRef({ map, format, pages, selected: selected ?? -1, lo, hi, first: 0 });
  live.current = { ...live.current, map, format, pages, selected: selected ?? -1, lo, hi };
  const poolRef = useRef<RowPool<RowData> | null>(null);
  const rangeRef = useRef<RowRange | null>(null);
  useEffect(
    () => () => {
      rangeRef.current?.dispose();
      rangeRef.current = null;
    },
    [],
  );
  const lastFirst = useRef(0);
  const draw = useCallback((): void => {
    const layer = layerRef.current;
    if (!layer) return;
    const v = live.current;
    const pool = (poolRef.current ??= new RowPool<RowData>(layer));
    const rows = (rangeRef.current ??= new RowRange());
    pool.draw({
      range: rows.range(v.first, v.map.rowCount, v.map.rowHeightPx, v.map.viewportPx),
      first: v.first,
      rowCount: v.map.rowCount,
      rowH: v.map.rowHeightPx,
      viewportPx: v.map.viewportPx,
      selected: v.selected,
      lo: v.lo,
      hi: v.hi,
      get: (row) => v.pages.get(row),
      text: (d) => rowText(d, v.format.session, v.format.settings),
      format: v.format,
    });
    // While scrolling (not after a jump, nor at rest), the next page in the direction of motion is
    // asked for before it comes into view. After a jump a prefetch would only make the next jump's
    // page wait behind it in the engine.
    const { first, count } = pool.range;
    const moved = first - lastFirst.current;
    lastFirst.current = first;
    if (count > 0 && moved !== 0 && Math.abs(moved) <= PREFETCH_MAX_STEP) {
      if (moved > 0 && first + count + PREFETCH_ROWS < v.map.rowCount) v.pages.prefetch(first + count + PREFETCH_ROWS);
      if (moved < 0 && first >= PREFETCH_ROWS) v.pages.prefetch(first - PREFETCH_ROWS);
    }
  }, []);
  // Pages arriving are drawn at the next frame, together (never a frame of their own mid-scroll).
  const frameRef = useRef(0);
  useEffect(() => {
    const un = pages.subscribe(() => {
      if (frameRef.current === 0)
        frameRef.current = requestAnimationFrame(() => {
          frameRef.current = 0;
          draw();
        });
    });
    return () => {
      un();
      cancelAnimationFrame(frameRef.current);
      frameRef.current = 0;
    };
  }, [pages, draw]);

  useLayoutEffect(() => {
    const el = outerRef.current;
    if (!el) return undefined;
    const ro = new ResizeObserver(() => setViewportPx(Math.max(rowH, el.clientHeight)));
    ro.observe(el);
    return () => ro.disconnect();
  }, [rowH]);

  // The first row on screen is kept here (live.current.first). The scrollbar's own moves (thumb,
  // track, a jump from outside) map its position onto the rows (scroll-map.ts); the wheel, the keys
  // and reveals move the rows themselves and put the scrollbar where that row maps. `lastTop` is
  // the position this table set last: the scroll event of that position changes nothing.
  const lastTop = useRef(0);
  const scrollToFirst = useCallback(
    (first: number): void => {
      const el = outerRef.current;
      const m = live.current.map;
      live.current.first = clampFirstRow(m, first);
      if (el) {
        el.scrollTop = rowToScrollTop(m, live.current.first);
        lastTop.current = el.scrollTop;
      }
      draw();
    },
    [draw],
  );
  // Scrolling draws in the scroll event itself: the frame that applies the scroll shows its rows.
  const onScroll = useCallback((): void => {
    const el = outerRef.current;
    if (!el) return;
    if (el.scrollTop !== lastTop.current) {
      lastTop.current = el.scrollTop;
      live.current.first = scrollTopToRow(live.current.map, el.scrollTop);
    }
    draw();
  }, [draw]);
  useLayoutEffect(() => {
    const el = outerRef.current;
    if (!el) return undefined;
    // Above the height cap the wheel moves rows by its own pixels (scroll-map.ts wheelRows); below
    // it the browser scrolls 1:1 and the scroll event maps exactly. Ctrl+wheel stays the browser's zoom.
    const onWheel = (e: WheelEvent): void => {
      const m = live.current.map;
      if (!m.scaled || e.ctrlKey || e.deltaY === 0) return;
      e.preventDefault();
      scrollToFirst(live.current.first + wheelRows(m, e.deltaY, e.deltaMode));
    };
    el.addEventListener('scroll', onScroll, { passive: true });
    el.addEventListener('wheel', onWheel, { passive: false });
    return () => {
      el.removeEventListener('scroll', onScroll);
      el.removeEventListener('wheel', onWheel);
    };
  }, [onScroll, scrollToFirst]);
  // Another row count or viewport: the same first row, the scrollbar where it now maps (unless a
  // scroll of the user's is not yet seen: that one wins).
  useLayoutEffect(() => {
    const el = outerRef.current;
    if (el && el.scrollTop !== lastTop.current) onScroll();
    else scrollToFirst(live.current.first);
  }, [onScroll, scrollToFirst, map]);
  // Any render (selection, settings, new counts, pages dropped: `version`) draws the rows again;
  // unchanged rows cost a comparison.
  useLayoutEffect(() => onScroll(), [onScroll, format, selected, lo, hi, version]);

  useEffect(() => {
    scrollToFirst(0);
    setAnchor(null);
  }, [scrollResetKey, scrollToFirst]);

  useEffect(() => {
    if (!reveal) return;
    const first = revealFirstRow(live.current.map, live.current.first, reveal.row);
    if (first !== null) scrollToFirst(first);
  }, [reveal, scrollToFirst]);

  const select = (row: number, extend = false): void => {
    const r = Math.max(0, Math.min(rowCount - 1, row));
    if (rowCount === 0) return;
    if (extend) setAnchor((a) => a ?? selected ?? r);
    else setAnchor(null);
    onSelect(r, pages.get(r));
    const first = revealFirstRow(map, live.current.first, r);
    if (first !== null) scrollToFirst(first);
  };

  const onKey = (e: KeyboardEvent<HTMLDivElement>): void => {
    const page = Math.max(1, Math.floor(viewportPx / rowH) - 1);
    const cur = selected ?? Math.floor(live.current.first);
    let next: number | null = null;
    if (e.key === 'ArrowDown') next = cur + 1;
    else if (e.key === 'ArrowUp') next = cur - 1;
    else if (e.key === 'PageDown') next = cur + page;
    else if (e.key === 'PageUp') next = cur - page;
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = rowCount - 1;
    else if ((e.ctrlKey || e.metaKey) && e.key === 'c' && selected !== null) {
      onCopy(lo, hi);
      e.preventDefault();
      return;
    }
    if (next !== null) {
      e.preventDefault();
      select(next, e.shiftKey);
    }
  };

  // One listener for all rows (the pool's elements carry their row in data-row).
  const onRowMouseDown = (e: MouseEvent<HTMLDivElement>): void => {
    const el = (e.target as Element).closest<HTMLElement>('.table-row');
    const row = el ? Number(el.dataset.row) : NaN;
    if (Number.isSafeInteger(row)) select(row, e.shiftKey);
  };

  return (
    <div className="table">
      <div className="table-head" role="row">
        <span className="c-time">Time ({settings.relative ? 'rel' : 'abs'}, {settings.unit === 'us' ? 'µs' : settings.unit})</span>
        <span className="c-layer">Layer</span>
        <span className="c-machine">Machine/VM</span>
        <span className="c-cpu">CPU</span>
        <span className="c-event">Event</span>
        <span className="c-thread">Thread</span>
        <span className="c-details">Details</span>
      </div>
      <div className="table-scroll" ref={outerRef} tabIndex={0} onKeyDown={onKey} role="grid" aria-rowcount={rowCount} data-testid="event-table">
        <div className="table-body" style={{ height: viewportPx }}>
          {/* The rows on screen (row-pool.ts, not React children): the layer moves by the
              fraction of a row; the rows' text is rewritten in place. */}
          <div className="table-rows" ref={layerRef} onMouseDown={onRowMouseDown} />
        </div>
        {/* after the sticky body: together they are as tall as the (capped) table */}
        <div className="table-spacer" style={{ height: Math.max(0, map.spacerPx - viewportPx) }} />
      </div>
    </div>
  );
}

export async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const ta = document.createElement('textarea');
    ta.value = text;
    document.body.appendChild(ta);
    ta.select();
    document.execCommand('copy');
    ta.remove();
  }
}
