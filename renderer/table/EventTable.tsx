// The event table: fixed row height, scaled scrolling past the browser's element-height cap
// (scroll-map.ts), and @tanstack/react-virtual over a bounded window of rows around the scaled
// position. Rows come from the engine a page at a time (row-pages.ts). Keyboard: arrows, Page
// Up/Down, Home/End (Shift extends a range, as does Shift+click); Ctrl+C copies the selected rows.

import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useReducer, useRef, useState, type KeyboardEvent } from 'react';
import type { SessionInfo } from '../../shared/contract.ts';
import { details, formatTime, kindName, thread, type TimeUnit } from '../format.ts';
import type { RowData, RowPages } from './row-pages.ts';
import { makeScrollMap, revealRow, rowToScrollTop, scrollTopToRow, windowBase } from './scroll-map.ts';

const WINDOW_ROWS = 4000;

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
  const { session, pages, rowCount, rowHeightPx: rowH, settings, selected, onSelect, reveal, onCopy, scrollResetKey } = props;
  // The other end of a Shift-selected range (null: just the selected row).
  const [anchor, setAnchor] = useState<number | null>(null);
  const lo = selected === null ? -1 : Math.min(selected, anchor ?? selected);
  const hi = selected === null ? -1 : Math.max(selected, anchor ?? selected);
  const outerRef = useRef<HTMLDivElement>(null);
  // Pages arriving re-render this table only (the explorer around it does not listen).
  const [, pageArrived] = useReducer((x: number) => x + 1, 0);
  useEffect(() => pages.subscribe(pageArrived), [pages]);
  const [viewportPx, setViewportPx] = useState(400);
  const [firstRow, setFirstRow] = useState(0);
  const map = useMemo(() => makeScrollMap(rowCount, rowH, viewportPx), [rowCount, rowH, viewportPx]);
  const mapRef = useRef(map);
  mapRef.current = map;
  const base = windowBase(Math.floor(firstRow), rowCount, WINDOW_ROWS);
  const baseRef = useRef(base);
  baseRef.current = base;

  useLayoutEffect(() => {
    const el = outerRef.current;
    if (!el) return undefined;
    const ro = new ResizeObserver(() => setViewportPx(Math.max(rowH, el.clientHeight)));
    ro.observe(el);
    return () => ro.disconnect();
  }, [rowH]);

  const onScroll = useCallback(() => {
    const el = outerRef.current;
    if (el) setFirstRow(scrollTopToRow(mapRef.current, el.scrollTop));
  }, []);
  useEffect(() => onScroll(), [map, onScroll]);

  const virtualizer = useVirtualizer({
    count: Math.max(0, Math.min(WINDOW_ROWS, rowCount - base)),
    getScrollElement: () => outerRef.current,
    estimateSize: () => rowH,
    overscan: 8,
    initialRect: { width: 800, height: viewportPx },
    // Offsets inside the bounded window, derived from the scaled scroll position.
    observeElementOffset: (_inst, cb) => {
      const el = outerRef.current;
      if (!el) return undefined;
      const h = (): void => cb((scrollTopToRow(mapRef.current, el.scrollTop) - baseRef.current) * rowH, false);
      el.addEventListener('scroll', h, { passive: true });
      h();
      return () => el.removeEventListener('scroll', h);
    },
    scrollToFn: (offset) => {
      const el = outerRef.current;
      if (el) el.scrollTop = rowToScrollTop(mapRef.current, baseRef.current + offset / rowH);
    },
  });
  // The window moved: let react-virtual re-read the offset for the new base.
  useEffect(() => {
    outerRef.current?.dispatchEvent(new Event('scroll'));
  }, [base]);

  useEffect(() => {
    const el = outerRef.current;
    if (el) el.scrollTop = 0;
    setAnchor(null);
  }, [scrollResetKey]);

  useEffect(() => {
    if (!reveal) return;
    const el = outerRef.current;
    if (!el) return;
    const top = revealRow(mapRef.current, scrollTopToRow(mapRef.current, el.scrollTop), reveal.row);
    if (top !== null) el.scrollTop = top;
  }, [reveal]);

  const select = (row: number, extend = false): void => {
    const r = Math.max(0, Math.min(rowCount - 1, row));
    if (rowCount === 0) return;
    if (extend) setAnchor((a) => a ?? selected ?? r);
    else setAnchor(null);
    onSelect(r, pages.get(r));
    const el = outerRef.current;
    if (!el) return;
    const top = revealRow(mapRef.current, scrollTopToRow(mapRef.current, el.scrollTop), r);
    if (top !== null) el.scrollTop = top;
  };

  const onKey = (e: KeyboardEvent<HTMLDivElement>): void => {
    const page = Math.max(1, Math.floor(viewportPx / rowH) - 1);
    const cur = selected ?? Math.floor(firstRow);
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

  // Rows are memoized (TableRow): a scroll step renders the rows that came into view, not all of them.
  const selectRef = useRef(select);
  selectRef.current = select;
  const pick = useCallback((row: number, extend: boolean) => selectRef.current(row, extend), []);

  const offsetPx = (firstRow - base) * rowH;
  const items = virtualizer.getVirtualItems();
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
      <div
        className="table-scroll"
        ref={outerRef}
        onScroll={onScroll}
        tabIndex={0}
        onKeyDown={onKey}
        role="grid"
        aria-rowcount={rowCount}
        data-testid="event-table"
      >
        <div className="table-body" style={{ height: viewportPx }}>
          {/* Rows sit at fixed offsets in the window; scrolling moves only this layer (a transform:
              no row is restyled or laid out again unless it enters or leaves the view). */}
          <div className="table-rows" style={{ transform: `translateY(${-offsetPx}px)` }}>
          {items.map((it) => {
            const row = base + it.index;
            if (row >= rowCount) return null;
            const top = it.start - offsetPx;
            if (top < -rowH || top > viewportPx + rowH) return null;
            return (
              <TableRow
                key={row}
                row={row}
                data={pages.get(row)}
                mark={row === selected ? 2 : row >= lo && row <= hi ? 1 : 0}
                at={it.start}
                rowH={rowH}
                session={session}
                unit={settings.unit}
                relative={settings.relative}
                pick={pick}
              />
            );
          })}
          </div>
        </div>
        {/* after the sticky body: together they are as tall as the (capped) table */}
        <div className="table-spacer" style={{ height: Math.max(0, map.spacerPx - viewportPx) }} />
      </div>
    </div>
  );
}

interface TableRowProps {
  row: number;
  /** The same object while its page is held (RowPages caches it), so unchanged rows skip rendering. */
  data: RowData | null;
  /** 2 selected, 1 in the selected range, 0 neither. */
  mark: number;
  at: number;
  rowH: number;
  session: SessionInfo;
  unit: TimeUnit;
  relative: boolean;
  pick: (row: number, extend: boolean) => void;
}

const TableRow = memo(function TableRow({ row, data, mark, at, rowH, session, unit, relative, pick }: TableRowProps) {
  const cells = data ? rowText(data, session, { unit, relative }) : null;
  return (
    <div
      className={`table-row${mark === 2 ? ' selected' : mark === 1 ? ' in-range' : ''}${row % 2 ? ' odd' : ''}`}
      style={{ top: at, height: rowH }}
      role="row"
      aria-rowindex={row + 1}
      data-row={row}
      onMouseDown={(e) => pick(row, e.shiftKey)}
    >
      {cells ? (
        <>
          <span className="c-time">{cells[0]}</span>
          <span className="c-layer">{cells[1]}</span>
          <span className="c-machine">{cells[2]}</span>
          <span className="c-cpu">{cells[3]}</span>
          <span className="c-event">{cells[4]}</span>
          <span className="c-thread">{cells[5]}</span>
          <span className="c-details">{cells[6]}</span>
        </>
      ) : (
        <span className="c-loading">row {row + 1} …</span>
      )}
    </div>
  );
});

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
