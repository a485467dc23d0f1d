// Binary min-heap of simulation events: payloads live in slot arrays (time, sequence, type,
// target, generation) and the heap orders slot numbers, so a sift moves one int. No object per
// event. Ties in time pop in insertion order, so runs are deterministic.

export class EventQueue {
  private timeNs: Float64Array = new Float64Array(1024);
  private seq: Float64Array = new Float64Array(1024);
  private type: Uint8Array = new Uint8Array(1024);
  private target: Int32Array = new Int32Array(1024);
  private gen: Int32Array = new Int32Array(1024);
  private heap: Int32Array = new Int32Array(1024);
  private free: Int32Array = new Int32Array(1024);
  private nFree = 0;
  private nSlots = 0;
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
    const t = new Float64Array(cap);
    t.set(this.timeNs);
    this.timeNs = t;
    const s = new Float64Array(cap);
    s.set(this.seq);
    this.seq = s;
    const ty = new Uint8Array(cap);
    ty.set(this.type);
    this.type = ty;
    const ta = new Int32Array(cap);
    ta.set(this.target);
    this.target = ta;
    const g = new Int32Array(cap);
    g.set(this.gen);
    this.gen = g;
    const h = new Int32Array(cap);
    h.set(this.heap);
    this.heap = h;
    const f = new Int32Array(cap);
    f.set(this.free);
    this.free = f;
  }

  push(timeNs: number, type: number, target: number, gen: number): void {
    let slot: number;
    if (this.nFree > 0) slot = this.free[--this.nFree]!;
    else {
      if (this.nSlots === this.timeNs.length) this.grow();
      slot = this.nSlots++;
    }
    const seq = this.nextSeq++;
    this.timeNs[slot] = timeNs;
    this.seq[slot] = seq;
    this.type[slot] = type;
    this.target[slot] = target;
    this.gen[slot] = gen;
    const heap = this.heap;
    const times = this.timeNs;
    const seqs = this.seq;
    let i = this.n++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const ps = heap[p]!;
      const pt = times[ps]!;
      if (pt < timeNs || (pt === timeNs && seqs[ps]! < seq)) break;
      heap[i] = ps;
      i = p;
    }
    heap[i] = slot;
  }

  /** Removes the earliest event into top*; false when empty. */
  pop(): boolean {
    if (this.n === 0) return false;
    const heap = this.heap;
    const times = this.timeNs;
    const seqs = this.seq;
    const top = heap[0]!;
    this.topTimeNs = times[top]!;
    this.topType = this.type[top]!;
    this.topTarget = this.target[top]!;
    this.topGen = this.gen[top]!;
    this.free[this.nFree++] = top;
    const n = --this.n;
    if (n > 0) {
      const last = heap[n]!;
      const lt = times[last]!;
      const ls = seqs[last]!;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        let m = l;
        let ms = heap[l]!;
        let mt = times[ms]!;
        const r = l + 1;
        if (r < n) {
          const rs = heap[r]!;
          const rt = times[rs]!;
          if (rt < mt || (rt === mt && seqs[rs]! < seqs[ms]!)) {
            m = r;
            ms = rs;
            mt = rt;
          }
        }
        if (lt < mt || (lt === mt && ls < seqs[ms]!)) break;
        heap[i] = ms;
        i = m;
      }
      heap[i] = last;
    }
    return true;
  }
}
