// The event table's rows on screen: a pool of row elements reused in place (no React render per
// scroll frame, no element created or removed while scrolling through the same number of rows).
// Slot i shows the i-th row on screen, so the DOM order is the visual order (screen readers,
// `.table-row:nth`), each slot at a fixed offset in the scrolled layer: a scroll step moves the
// layer by the fraction of a row and rewrites the text nodes whose text changed (one text node per
// cell; the row's class only when selection/parity/loading changed). Rows are `contain: strict`
// with fixed cell widths (styles.css), so a text change lays out and paints that row alone.

export const CELL_CLASSES = ['c-time', 'c-layer', 'c-machine', 'c-cpu', 'c-event', 'c-thread', 'c-details'] as const;

export interface PoolFrame<D> {
  /** First visible row, fractional (scroll-map.ts scrollTopToRow). */
  first: number;
  rowCount: number;
  rowH: number;
  viewportPx: number;
  /** Selected row (-1: none) and the selected range [lo, hi]. */
  selected: number;
  lo: number;
  hi: number;
  /** The row's data, or null while its page is loading. */
  get: (row: number) => D | null;
  /** The seven cell texts of a row. */
  text: (d: D) => string[];
  /** Changes when the texts of the same data change (units, session): compared by identity. */
  format: object;
  /** The rows to draw (row-range.ts: the virtualizer's range, which may start above the first visible row); default: the visible rows. */
  range?: { first: number; count: number };
}

interface Slot<D> {
  el: HTMLDivElement;
  spans: HTMLSpanElement[];
  cells: Text[];
  row: number;
  data: D | null;
  format: object | null;
  cls: string;
  loading: boolean;
}

export class RowPool<D> {
  private readonly slots: Slot<D>[] = [];
  /** Slots attached to the layer (the first `shown` of slots). */
  private shown = 0;
  private rowH = -1;
  private shift = '';

  constructor(private readonly layer: HTMLElement) {}

  /** Rows on screen now: [first, first + count). */
  range = { first: 0, count: 0 };

  draw(f: PoolFrame<D>): void {
    const top = f.range ? f.range.first : Math.max(0, Math.floor(f.first));
    const n = f.range ? f.range.count : Math.max(0, Math.min(Math.ceil(f.viewportPx / f.rowH) + 1, f.rowCount - top));
    this.range = { first: top, count: n };
    if (f.rowH !== this.rowH) {
      this.rowH = f.rowH;
      for (let i = 0; i < this.slots.length; i++) this.place(this.slots[i]!, i);
    }
    const shift = `translateY(${(-(f.first - top) * f.rowH).toFixed(2)}px)`;
    if (shift !== this.shift) {
      this.shift = shift;
      this.layer.style.transform = shift;
    }
    while (this.slots.length < n) this.slots.push(this.make(this.slots.length));
    // Attach or detach slots at the end only: the ones that stay keep their layout objects.
    for (; this.shown < n; this.shown++) this.layer.appendChild(this.slots[this.shown]!.el);
    for (; this.shown > n; this.shown--) this.slots[this.shown - 1]!.el.remove();
    for (let i = 0; i < n; i++) this.update(this.slots[i]!, top + i, f);
  }

  private make(i: number): Slot<D> {
    const doc = this.layer.ownerDocument;
    const el = doc.createElement('div');
    el.setAttribute('role', 'row');
    const cells: Text[] = [];
    const spans: HTMLSpanElement[] = [];
    for (const c of CELL_CLASSES) {
      const span = doc.createElement('span');
      span.className = c;
      const t = doc.createTextNode('');
      span.appendChild(t);
      el.appendChild(span);
      cells.push(t);
      spans.push(span);
    }
    const slot: Slot<D> = { el, spans, cells, row: -1, data: null, format: null, cls: '', loading: false };
    this.place(slot, i);
    return slot;
  }

  private place(s: Slot<D>, i: number): void {
    s.el.style.top = `${i * this.rowH}px`;
    s.el.style.height = `${this.rowH}px`;
  }

  private update(s: Slot<D>, row: number, f: PoolFrame<D>): void {
    if (s.row !== row) {
      s.row = row;
      s.el.setAttribute('aria-rowindex', String(row + 1));
      s.el.dataset.row = String(row);
    }
    const cls = `table-row${row === f.selected ? ' selected' : row >= f.lo && row <= f.hi ? ' in-range' : ''}${row % 2 ? ' odd' : ''}`;
    if (cls !== s.cls) {
      s.cls = cls;
      s.el.className = cls;
    }
    const d = f.get(row);
    if (d === null) {
      // A loading row has no data cells (no .c-time, .c-cpu …: what reads the table sees only
      // rows that are there), just `row N …` in a .c-loading cell.
      if (!s.loading) {
        s.loading = true;
        for (let c = 0; c < s.cells.length; c++) {
          s.spans[c]!.className = c === 0 ? 'c-loading' : '';
          if (c > 0 && s.cells[c]!.data !== '') s.cells[c]!.data = '';
        }
      }
      s.data = null;
      const t = `row ${row + 1} …`;
      if (s.cells[0]!.data !== t) s.cells[0]!.data = t;
      return;
    }
    if (s.data === d && s.format === f.format && !s.loading) return;
    if (s.loading) {
      s.loading = false;
      for (let c = 0; c < s.spans.length; c++) s.spans[c]!.className = CELL_CLASSES[c]!;
    }
    s.data = d;
    s.format = f.format;
    const texts = f.text(d);
    for (let c = 0; c < s.cells.length; c++) if (s.cells[c]!.data !== texts[c]) s.cells[c]!.data = texts[c] ?? '';
  }
}
