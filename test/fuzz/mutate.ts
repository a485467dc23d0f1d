// Mutation operators for the fuzz harness: deterministic given the PRNG state. Each returns a new
// buffer (the seed inputs, real fixtures, are never modified).

export class Prng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  /** xorshift32 */
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  below(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
}

export const MUTATIONS = ['bitflip', 'truncate', 'truncate-aligned', 'length-zero', 'length-max', 'duplicate-chunk', 'shuffle-chunks', 'random-after-magic', 'splice-text'] as const;
export type Mutation = (typeof MUTATIONS)[number];

export function mutate(input: Uint8Array, kind: Mutation, rng: Prng): Uint8Array {
  const n = input.length;
  // Buffer#slice is a view, not a copy: copy explicitly so that a Buffer seed is never modified.
  const copy = (): Uint8Array => new Uint8Array(input);
  switch (kind) {
    case 'bitflip': {
      const out = copy();
      const flips = 1 + rng.below(16);
      for (let i = 0; i < flips && n > 0; i++) out[rng.below(n)]! ^= 1 << rng.below(8);
      return out;
    }
    case 'truncate':
      return new Uint8Array(input.subarray(0, rng.below(n + 1)));
    case 'truncate-aligned': {
      // Section/page boundaries of binary formats sit on 4 KiB or 8-byte multiples.
      const unit = rng.below(2) ? 4096 : 8;
      const cuts = Math.max(1, Math.floor(n / unit));
      return new Uint8Array(input.subarray(0, rng.below(cuts) * unit));
    }
    case 'length-zero':
    case 'length-max': {
      const out = copy();
      const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
      const writes = 1 + rng.below(8);
      for (let i = 0; i < writes && n >= 8; i++) {
        const at = rng.below(Math.floor(n / 4)) * 4;
        if (at + 4 <= n) dv.setUint32(at, kind === 'length-zero' ? 0 : 0xffffffff, rng.below(2) === 0);
      }
      return out;
    }
    case 'duplicate-chunk': {
      if (n < 2) return copy();
      const a = rng.below(n);
      const len = 1 + rng.below(Math.min(65536, n - a));
      const at = rng.below(n);
      const out = new Uint8Array(n + len);
      out.set(input.subarray(0, at), 0);
      out.set(input.subarray(a, a + len), at);
      out.set(input.subarray(at), at + len);
      return out;
    }
    case 'shuffle-chunks': {
      const chunk = 512 << rng.below(5);
      const count = Math.ceil(n / chunk);
      const order = Array.from({ length: count }, (_, i) => i);
      // Keep the first chunk (magic/header) so the format is still recognised.
      for (let i = count - 1; i > 1; i--) {
        const j = 1 + rng.below(i);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const out = new Uint8Array(n);
      let pos = 0;
      for (const c of order) {
        const part = input.subarray(c * chunk, Math.min(n, (c + 1) * chunk));
        out.set(part, pos);
        pos += part.length;
      }
      return out;
    }
    case 'random-after-magic': {
      const keep = Math.min(n, 16 + rng.below(512));
      const out = new Uint8Array(Math.min(n, keep + rng.below(1 << 16)));
      out.set(input.subarray(0, keep));
      for (let i = keep; i < out.length; i++) out[i] = rng.below(256);
      return out;
    }
    case 'splice-text': {
      // Text formats: insert a very long line and NUL bytes at a random point.
      const at = rng.below(n + 1);
      const junkLen = rng.below(2) ? 200_000 : 1 + rng.below(64);
      const junk = new Uint8Array(junkLen);
      for (let i = 0; i < junkLen; i++) junk[i] = rng.below(3) === 0 ? 0 : 0x41 + rng.below(26);
      const out = new Uint8Array(n + junkLen);
      out.set(input.subarray(0, at), 0);
      out.set(junk, at);
      out.set(input.subarray(at), at + junkLen);
      return out;
    }
  }
}
