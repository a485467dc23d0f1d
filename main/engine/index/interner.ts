// String table that interns byte ranges without creating a string per lookup: an open-addressing
// hash table over FNV-1a hashes with the bytes kept in one growing arena. Strings are decoded
// only when a new entry is added (distinct comms/event names are few compared to events).

const decoder = new TextDecoder('utf-8', { fatal: false });
const encoder = new TextEncoder();

export class Interner {
  private arena: Uint8Array = new Uint8Array(4096);
  private arenaLen = 0;
  private starts: Int32Array = new Int32Array(64);
  private ends: Int32Array = new Int32Array(64);
  private hashes: Int32Array = new Int32Array(64);
  private slots: Int32Array = new Int32Array(128).fill(-1);
  private mask = 127;
  private readonly strings: string[] = [];

  get size(): number {
    return this.strings.length;
  }

  /** The interned strings in id order. Borrowed: do not modify. */
  valuesBorrow(): readonly string[] {
    return this.strings;
  }

  get(id: number): string {
    return this.strings[id] ?? '';
  }

  internBytes(buf: Uint8Array, start: number, end: number): number {
    let h = 0x811c9dc5 | 0;
    for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    let slot = h & this.mask;
    const len = end - start;
    for (;;) {
      const id = this.slots[slot]!;
      if (id < 0) break;
      if (this.hashes[id] === h && this.ends[id]! - this.starts[id]! === len) {
        const s = this.starts[id]!;
        let same = true;
        for (let k = 0; k < len; k++) {
          if (this.arena[s + k] !== buf[start + k]) {
            same = false;
            break;
          }
        }
        if (same) return id;
      }
      slot = (slot + 1) & this.mask;
    }
    return this.add(buf, start, end, h, slot);
  }

  intern(value: string): number {
    const bytes = encoder.encode(value);
    return this.internBytes(bytes, 0, bytes.length);
  }

  private add(buf: Uint8Array, start: number, end: number, h: number, slot: number): number {
    const id = this.strings.length;
    const len = end - start;
    if (this.arenaLen + len > this.arena.length) {
      const grown = new Uint8Array(Math.max(this.arena.length * 2, this.arenaLen + len));
      grown.set(this.arena.subarray(0, this.arenaLen));
      this.arena = grown;
    }
    this.arena.set(buf.subarray(start, end), this.arenaLen);
    if (id >= this.starts.length) {
      this.starts = growI32(this.starts);
      this.ends = growI32(this.ends);
      this.hashes = growI32(this.hashes);
    }
    this.starts[id] = this.arenaLen;
    this.ends[id] = this.arenaLen + len;
    this.hashes[id] = h;
    this.arenaLen += len;
    this.strings.push(decoder.decode(buf.subarray(start, end)));
    this.slots[slot] = id;
    if (this.strings.length * 2 > this.mask) this.rehash();
    return id;
  }

  private rehash(): void {
    const size = (this.mask + 1) * 2;
    this.slots = new Int32Array(size).fill(-1);
    this.mask = size - 1;
    for (let id = 0; id < this.strings.length; id++) {
      let slot = this.hashes[id]! & this.mask;
      while (this.slots[slot]! >= 0) slot = (slot + 1) & this.mask;
      this.slots[slot] = id;
    }
  }
}

function growI32(a: Int32Array): Int32Array {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}
