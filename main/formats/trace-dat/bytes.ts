// Bounds-checked, endian-aware cursor over a byte array that lives at a known file offset, for the
// header/section/option parsers (not the per-event hot path, which uses DataView directly).
// Every failure is a TraceFormatError naming the absolute file offset.

import { TraceFormatError } from '../types.ts';

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8', { fatal: false });

export class Cursor {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly le: boolean;
  /** File offset of bytes[0] (for compressed sections: the section's offset, see `what`). */
  readonly baseOffset: number;
  /** What these bytes are, for messages ("options section", "decompressed headers section"). */
  readonly what: string;
  pos = 0;

  constructor(bytes: Uint8Array, le: boolean, baseOffset: number, what: string) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.le = le;
    this.baseOffset = baseOffset;
    this.what = what;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  /** File offset of the cursor (meaningful for uncompressed data). */
  get fileOffset(): number {
    return this.baseOffset + this.pos;
  }

  fail(message: string): never {
    throw new TraceFormatError(`${message} (in ${this.what}, at byte ${this.pos} of it)`, this.fileOffset);
  }

  need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.bytes.length) {
      this.fail(`truncated: ${what} needs ${n} bytes, ${this.remaining} left`);
    }
  }

  u8(what = 'byte'): number {
    this.need(1, what);
    return this.bytes[this.pos++]!;
  }

  u16(what = 'u16'): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos, this.le);
    this.pos += 2;
    return v;
  }

  u32(what = 'u32'): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, this.le);
    this.pos += 4;
    return v;
  }

  /** u64 as a JS number (exact below 2^53; larger values lose low bits). */
  u64(what = 'u64'): number {
    this.need(8, what);
    const v = readU64(this.view, this.pos, this.le);
    this.pos += 8;
    return v;
  }

  /** u64 as a bigint (ids, tsc offsets: kept exact for the summary as strings). */
  u64Big(what = 'u64'): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, this.le);
    this.pos += 8;
    return v;
  }

  i64Big(what = 'i64'): bigint {
    this.need(8, what);
    const v = this.view.getBigInt64(this.pos, this.le);
    this.pos += 8;
    return v;
  }

  /** NUL-terminated string (latin1: names, versions, clocks). Fails if no NUL within maxBytes. */
  cstring(what: string, maxBytes = 4096): string {
    const end = Math.min(this.bytes.length, this.pos + maxBytes);
    let i = this.pos;
    while (i < end && this.bytes[i] !== 0) i++;
    if (i >= end) this.fail(`${what}: no NUL terminator within ${maxBytes} bytes`);
    const s = latin1.decode(this.bytes.subarray(this.pos, i));
    this.pos = i + 1;
    return s;
  }

  /** `n` bytes as a view (borrowed from the underlying array). */
  take(n: number, what: string): Uint8Array {
    this.need(n, what);
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  text(n: number, what: string): string {
    return utf8.decode(this.take(n, what));
  }

  skip(n: number, what: string): void {
    this.need(n, what);
    this.pos += n;
  }
}

export function readU64(view: DataView, pos: number, le: boolean): number {
  const a = view.getUint32(pos, le);
  const b = view.getUint32(pos + 4, le);
  return le ? b * 4294967296 + a : a * 4294967296 + b;
}

/** Text of a NUL-terminated (or full) byte field. */
export function cstringAt(bytes: Uint8Array, start: number, end: number): string {
  let i = start;
  while (i < end && bytes[i] !== 0) i++;
  return utf8.decode(bytes.subarray(start, i));
}
