// A reused read window over a byte source, viewed as little-endian u32 words (xentrace records are
// whole u32 words from 4-aligned file offsets). Leaves out big-endian hosts: Node runs on LE only.

import type { ByteSource } from '../../engine/io/byte-source.ts';

/** 4 MiB: large enough that syscalls vanish from the profile, small enough to stay in L2/L3-ish reuse. */
export const WINDOW_BYTES = 4 << 20;

export class WordWindow {
  readonly src: ByteSource;
  private readonly bytes: Uint8Array;
  private readonly all: Uint32Array;
  /** File range held in `bytes` (read ahead past what load() was asked for). */
  private bufStart = 0;
  private bufEnd = 0;
  /**
   * Reads ahead up to this file offset (default: the end of the file). A unit's reader sets its
   * unit's end, so reading ahead never fetches the next unit's bytes.
   */
  readAheadLimit = Infinity;
  /** Words of [startOffset, endOffset): words[0] is the word at startOffset. Valid until the next load(). */
  words: Uint32Array;
  startOffset = 0;
  endOffset = 0;

  /** `buffer`: reuse this one (its whole length, a multiple of 4) instead of allocating capacityBytes. */
  constructor(src: ByteSource, capacityBytes = WINDOW_BYTES, buffer?: Uint8Array) {
    this.src = src;
    this.bytes = buffer ?? new Uint8Array(capacityBytes);
    this.all = new Uint32Array(this.bytes.buffer, this.bytes.byteOffset, this.bytes.length >>> 2);
    this.words = this.all;
  }

  /**
   * Make [offset, min(offset + capacity, limit)) available, offset 4-aligned. Returns the number of
   * bytes now available from offset (a multiple of 4 except at EOF). Served from what an earlier
   * load read ahead when it holds that range (xentrace windows are a few hundred bytes: one read
   * per window header and per window was ~70k syscalls per 500 MB), else one read of up to the
   * capacity from offset.
   */
  load(offset: number, limit: number): number {
    const cap = this.bytes.length;
    const want = Math.max(0, Math.min(cap, limit - offset, this.src.sizeBytes - offset));
    if (!(offset >= this.bufStart && offset + want <= this.bufEnd && ((offset - this.bufStart) & 3) === 0)) {
      const ahead = Math.max(want, Math.min(cap, this.readAheadLimit - offset, this.src.sizeBytes - offset));
      const n = ahead > 0 ? this.src.readInto(this.bytes, 0, ahead, offset) : 0;
      this.bufStart = offset;
      this.bufEnd = offset + n;
    }
    const n = Math.max(0, Math.min(want, this.bufEnd - offset));
    const skip = (offset - this.bufStart) >>> 2;
    this.words = skip === 0 ? this.all : this.all.subarray(skip);
    this.startOffset = offset;
    this.endOffset = offset + n;
    return n;
  }

  /** Word at a file offset inside the loaded range (4-aligned). */
  wordAt(offset: number): number {
    return this.words[(offset - this.startOffset) >>> 2]!;
  }
}
