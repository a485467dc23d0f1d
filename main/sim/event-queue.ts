// Binary min-heap of simulation events in parallel typed arrays (time, sequence, type, target,
// generation): no object per event. Ties in time pop in insertion order, so runs are deterministic.

export class EventQueue {
  private timeNs: Float64Array = new Float64Array(1024);
  private seq: Float64Array = new Float64Array(1024);
  private type: Uint8Array = new Uint8Array(1024);
  private target: Int32Array = new Int32Array(1024);
  private gen: Int32Array = new Int32Array(1024);
  private n = 0;
  private nextSeq = 0;
  // The popped event, read by the caller right after pop().
  topType = 0;
  topTarget = 0;
  topGen = 0;
  topTimeNs = 0;

  get size(): number {
    return this.n;
  }

  private grow(): void {
    const cap = this.timeNs.length * 2;
    const f = (a: Float64Array): Float64Array => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    this.timeNs = f(this.timeNs);
    this.seq = f(this.seq);
    const t = new Uint8Array(cap);
    t.set(this.type);
    this.type = t;
    const g = new Int32Array(cap);
    g.set(this.target);
    this.target = g;
    const h = new Int32Array(cap);
    h.set(this.gen);
    this.gen = h;
  }

  private less(i: number, j: number): boolean {
    const a = this.timeNs[i]!;
    const b = this.timeNs[j]!;
    return a < b || (a === b && this.seq[i]! < this.seq[j]!);
  }

  private swap(i: number, j: number): void {
    let t = this.timeNs[i]!;
    this.timeNs[i] = this.timeNs[j]!;
    this.timeNs[j] = t;
    t = this.seq[i]!;
    this.seq[i] = this.seq[j]!;
    this.seq[j] = t;
    t = this.type[i]!;
    this.type[i] = this.type[j]!;
    this.type[j] = t;
    t = this.target[i]!;
    this.target[i] = this.target[j]!;
    this.target[j] = t;
    t = this.gen[i]!;
    this.gen[i] = this.gen[j]!;
    this.gen[j] = t;
  }

  push(timeNs: number, type: number, target: number, gen: number): void {
    if (this.n === this.timeNs.length) this.grow();
    let i = this.n++;
    this.timeNs[i] = timeNs;
    this.seq[i] = this.nextSeq++;
    this.type[i] = type;
    this.target[i] = target;
    this.gen[i] = gen;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  /** Removes the earliest event into top*; false when empty. */
  pop(): boolean {
    if (this.n === 0) return false;
    this.topTimeNs = this.timeNs[0]!;
    this.topType = this.type[0]!;
    this.topTarget = this.target[0]!;
    this.topGen = this.gen[0]!;
    this.n--;
    if (this.n > 0) {
      this.swap(0, this.n);
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= this.n) break;
        const r = l + 1;
        const m = r < this.n && this.less(r, l) ? r : l;
        if (!this.less(m, i)) break;
        this.swap(m, i);
        i = m;
      }
    }
    return true;
  }
}
