// Scaled scrolling for tables taller than a browser allows: Chromium caps an element's height at
// 33,554,428 px, so beyond SPACER_CAP_PX the spacer is capped and scrollTop maps linearly onto
// the first visible row (exact at both ends). Pure functions; no DOM.

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

/** scrollTop that brings `row` into view with the least movement from `firstRow`. */
export function revealRow(m: ScrollMap, firstRow: number, row: number): number | null {
  const vis = Math.floor(visibleRows(m));
  if (row < firstRow) return rowToScrollTop(m, row);
  if (row > firstRow + vis - 1) return rowToScrollTop(m, row - vis + 1);
  return null;
}
