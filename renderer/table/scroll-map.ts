// Scaled scrolling for tables taller than a browser allows: Chromium caps an element's height at
// 33,554,428 px, so beyond SPACER_CAP_PX the spacer is capped and scrollTop maps linearly onto
// the first visible row (exact at both ends): the scrollbar (thumb drag, a click in the track, a
// jump) reaches every row. The wheel, a touchpad and the keys move the rows by their own pixels
// instead (wheelRows; EventTable keeps the first row and puts the thumb where it belongs), so that
// a wheel notch at 100M rows moves a few rows, not the ~700 rows of its 100 px of a scaled bar.
// Pure functions; no DOM.

/** Well below Chromium's cap, and below Firefox's (~17.9M px) too. */
export const SPACER_CAP_PX = 15_000_000;

export interface ScrollMap {
  rowCount: number;
  rowHeightPx: number;
  viewportPx: number;
  /** Height of the scroll spacer. */
  spacerPx: number;
  /** True when rows are not 1:1 with pixels. */
  scaled: boolean;
}

export function makeScrollMap(rowCount: number, rowHeightPx: number, viewportPx: number): ScrollMap {
  const natural = rowCount * rowHeightPx;
  const scaled = natural > SPACER_CAP_PX;
  return { rowCount, rowHeightPx, viewportPx, spacerPx: scaled ? SPACER_CAP_PX : natural, scaled };
}

/** Rows that fit in the viewport (fractional). */
function visibleRows(m: ScrollMap): number {
  return m.viewportPx / m.rowHeightPx;
}

/** Largest first row (fractional): the last row ends at the viewport's bottom. */
export function maxFirstRow(m: ScrollMap): number {
  return Math.max(0, m.rowCount - visibleRows(m));
}

function maxScrollTop(m: ScrollMap): number {
  return Math.max(0, m.spacerPx - m.viewportPx);
}

/** First visible row (fractional) for a scrollTop. */
export function scrollTopToRow(m: ScrollMap, scrollTop: number): number {
  const top = Math.max(0, Math.min(scrollTop, maxScrollTop(m)));
  if (!m.scaled) return top / m.rowHeightPx;
  const span = maxScrollTop(m);
  return span === 0 ? 0 : (top / span) * maxFirstRow(m);
}

/** scrollTop that shows `row` as the first visible row (clamped). */
export function rowToScrollTop(m: ScrollMap, row: number): number {
  const r = Math.max(0, Math.min(row, maxFirstRow(m)));
  if (!m.scaled) return r * m.rowHeightPx;
  const maxRow = maxFirstRow(m);
  return maxRow === 0 ? 0 : (r / maxRow) * maxScrollTop(m);
}

/** The first row (fractional) clamped to the rows there are. */
export function clampFirstRow(m: ScrollMap, first: number): number {
  return Math.max(0, Math.min(first, maxFirstRow(m)));
}

/** The first row that brings `row` into view with the least movement from `firstRow` (null: it is in view). */
export function revealFirstRow(m: ScrollMap, firstRow: number, row: number): number | null {
  const vis = Math.floor(visibleRows(m));
  if (row < firstRow) return clampFirstRow(m, row);
  if (row > firstRow + vis - 1) return clampFirstRow(m, row - vis + 1);
  return null;
}

/** scrollTop that brings `row` into view with the least movement from `firstRow`. */
export function revealRow(m: ScrollMap, firstRow: number, row: number): number | null {
  const first = revealFirstRow(m, firstRow, row);
  return first === null ? null : rowToScrollTop(m, first);
}

/** WheelEvent.deltaMode values. */
const DELTA_LINE = 1;
const DELTA_PAGE = 2;

/** The rows a wheel event moves the table by (deltaY in pixels, lines = rows, or pages of the viewport). */
export function wheelRows(m: ScrollMap, deltaY: number, deltaMode: number): number {
  if (!Number.isFinite(deltaY)) return 0;
  if (deltaMode === DELTA_LINE) return deltaY;
  if (deltaMode === DELTA_PAGE) return deltaY * Math.max(1, Math.floor(visibleRows(m)) - 1);
  return deltaY / m.rowHeightPx;
}
