// A reused read window over a byte source, viewed as little-endian u32 words (xentrace records are
// whole u32 words from 4-aligned file offsets). Leaves out big-endian hosts: Node runs on LE only.

import type { ByteSource } from '../../engine/io/byte-source.ts';

/** 4 MiB: large enough that syscalls vanish from the profile, small enough to stay in L2/L3-ish reuse. */
export const WINDOW_BYTES = 4 << 20;

export class WordWindow {
  readonly src: ByteSource;
  private bytes: Uint8Array;
  /** Words of [startOffset, endOffset). Valid until the next load(). */
  words: Uint32Array;
  startOffset = 0;
  endOffset = 0;

  /** `buffer`: reuse this one (its whole length, a multiple of 4) instead of allocating capacityBytes. */
  constructor(src: ByteSource, capacityBytes = WINDOW_BYTES, buffer?: Uint8Array) {
    this.src = src;
    this.bytes = buffer ?? new Uint8Array(capacityBytes);
    this.words = new Uint32Array(this.bytes.buffer, this.bytes.byteOffset, this.bytes.length >>> 2);
  }

  /**
   * Load [offset, min(offset + capacity, limit)) where offset is 4-aligned. Returns the number of
   * bytes now available from offset (a multiple of 4 except at EOF).
   */
  load(offset: number, limit: number): number {
    const want = Math.max(0, Math.min(this.bytes.length, limit - offset, this.src.sizeBytes - offset));
    const n = want > 0 ? this.src.readInto(this.bytes, 0, want, offset) : 0;
    this.startOffset = offset;
    this.endOffset = offset + n;
    return n;
  }

  /** Word at a file offset inside the loaded range (4-aligned). */
  wordAt(offset: number): number {
    return this.words[(offset - this.startOffset) >>> 2]!;
  }
}
