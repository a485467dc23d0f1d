// Which rows the event table draws: @tanstack/react-virtual's Virtualizer, used headless (its
// range logic, our row pool's drawing: no React render per scroll frame), over a bounded window of
// rows around the first row on screen. The virtualizer keeps one measurement per item, so it never
// sees the whole table (100M rows): its items are a window of WINDOW_ROWS rows that moves with the
// first row (windowBase), and the offset it is told is the first row's position inside that window.
// Its scroll element is a stand-in: the table handles the scrollbar, the wheel and the keys itself
// (EventTable, scroll-map.ts) and reports where it is; the virtualizer never scrolls anything.

import { Virtualizer, type Rect } from '@tanstack/react-virtual';

/** Items the virtualizer holds at most. */
export const WINDOW_ROWS = 4096;
/** Rows drawn beyond each edge of the viewport: none (the ones partly shown are in the range; every row drawn costs layout and paint in every frame that changes it). */
const OVERSCAN = 0;

/** First row of the window that holds `firstRow`: moves in half-window steps, so a scroll back and forth does not move it every time. */
export function windowBase(firstRow: number, rowCount: number, size: number): number {
  const step = Math.max(1, Math.floor(size / 2));
  const base = Math.floor(firstRow / step) * step - step / 2;
  return Math.max(0, Math.min(Math.floor(base), Math.max(0, rowCount - size)));
}

export interface DrawRange {
  /** First row to draw. */
  first: number;
  /** Rows to draw from `first`. */
  count: number;
}

export class RowRange {
  private readonly v: Virtualizer<Element, Element>;
  private offsetCb: ((offset: number, isScrolling: boolean) => void) | null = null;
  private rectCb: ((rect: Rect) => void) | null = null;
  private rowH = 1;
  private count = 0;
  private viewportPx = 0;

  constructor() {
    // a stand-in scroll element: no listeners are added to it, nothing is scrolled
    const stand = {} as Element;
    this.v = new Virtualizer<Element, Element>({
      count: 0,
      getScrollElement: () => stand,
      estimateSize: () => this.rowH,
      overscan: OVERSCAN,
      scrollToFn: () => undefined,
      observeElementRect: (_v, cb) => {
        this.rectCb = cb;
        cb({ width: 1, height: this.viewportPx });
        return () => (this.rectCb = null);
      },
      observeElementOffset: (_v, cb) => {
        this.offsetCb = cb;
        cb(0, false);
        return () => (this.offsetCb = null);
      },
    });
    this.unmount = this.v._didMount();
    this.v._willUpdate();
  }

  private readonly unmount: () => void;

  /** The rows to draw when `first` (fractional) is the first visible row. */
  range(first: number, rowCount: number, rowH: number, viewportPx: number): DrawRange {
    if (rowCount <= 0) return { first: 0, count: 0 };
    const base = windowBase(Math.floor(first), rowCount, WINDOW_ROWS);
    const count = Math.min(WINDOW_ROWS, rowCount - base);
    if (count !== this.count || rowH !== this.rowH) {
      this.count = count;
      this.rowH = rowH;
      this.v.setOptions({ ...this.v.options, count });
      this.v.measure();
      this.v._willUpdate();
    }
    if (viewportPx !== this.viewportPx) {
      this.viewportPx = viewportPx;
      this.rectCb?.({ width: 1, height: viewportPx });
    }
    this.offsetCb?.((first - base) * rowH, false);
    const items = this.v.getVirtualItems();
    if (items.length === 0) return { first: base, count: 0 };
    return { first: base + items[0]!.index, count: items.length };
  }

  dispose(): void {
    this.unmount();
  }
}
