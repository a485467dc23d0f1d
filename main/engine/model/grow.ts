// Growable typed-array columns for the model's derived tables (doubling, like EventColumnsBuilder),
// and the small sorted-array helpers the model and queries share. No object per row.
// GrowF64 and GrowI32 are two classes on purpose, not one generic over the array type: each push
// site then sees one typed-array kind (monomorphic in V8); these pushes run per host/guest run.

export class GrowF64 {
  a: Float64Array;
  n = 0;
  constructor(cap = 256) {
    this.a = new Float64Array(Math.max(16, cap));
  }
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  /** Room for at least `extra` more values (then `a` can be written directly up to n + extra). */
  reserve(extra: number): void {
    if (this.n + extra <= this.a.length) return;
    let cap = this.a.length;
    while (cap < this.n + extra) cap *= 2;
    const b = new Float64Array(cap);
    b.set(this.a.subarray(0, this.n));
    this.a = b;
  }
  finish(): Float64Array {
    return this.a.slice(0, this.n);
  }
}

export class GrowI32 {
  a: Int32Array;
  n = 0;
  constructor(cap = 256) {
    this.a = new Int32Array(Math.max(16, cap));
  }
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Int32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  /** Room for at least `extra` more values (then `a` can be written directly up to n + extra). */
  reserve(extra: number): void {
    if (this.n + extra <= this.a.length) return;
    let cap = this.a.length;
    while (cap < this.n + extra) cap *= 2;
    const b = new Int32Array(cap);
    b.set(this.a.subarray(0, this.n));
    this.a = b;
  }
  finish(): Int32Array {
    return this.a.slice(0, this.n);
  }
}

/**
 * The first n values, as a view (no copy). Columns are allocated with room to spare (an upper bound
 * of their rows, or doubled while growing) and written from the start: the spare room is never
 * written, so it costs no memory pages, while a copy would touch as many fresh pages again (fresh
 * pages cost ~3.6 ms CPU per MB on the 2-core bench machine; the model build's page faults were a
 * third of its CPU time).
 */
export function fit<T extends Int32Array | Float64Array | Uint16Array | Uint8Array>(a: T, n: number): T {
  if (n === a.length) return a;
  return a.subarray(0, n) as T;
}

/** First index i in [lo, hi) with a[i] > x (a sorted ascending). */
export function upperBound(a: Float64Array, x: number, lo = 0, hi = a.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index i in [lo, hi) with a[i] >= x (a sorted ascending). */
export function lowerBound(a: Float64Array, x: number, lo = 0, hi = a.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Stable counting sort of rows by a small non-negative key: returns (order, groupStart) where rows of
 * key k are order[groupStart[k] .. groupStart[k+1]) in their original order.
 */
export function groupByKey(keys: Int32Array, keyCount: number): { order: Uint32Array; groupStart: Uint32Array } {
  const groupStart = new Uint32Array(keyCount + 1);
  for (let i = 0; i < keys.length; i++) groupStart[keys[i]! + 1]!++;
  for (let k = 0; k < keyCount; k++) groupStart[k + 1]! += groupStart[k]!;
  const fill = groupStart.slice(0, keyCount);
  const order = new Uint32Array(keys.length);
  for (let i = 0; i < keys.length; i++) order[fill[keys[i]!]!++] = i;
  return { order, groupStart };
}
