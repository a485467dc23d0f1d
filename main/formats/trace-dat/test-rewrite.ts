// Test helper: rewrites a real little-endian v7 trace.dat by appending re-encoded copies of its
// sections and CPU data and a new options chain that points at them. Used to make zlib-compressed
// files (Debian's trace-cmd cannot) and files with extra options (TIME_SHIFT, GUEST, TSC2NSEC)
// from real recordings. Written independently of the reader (its own little parsing).

import * as zlib from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';

export interface RewriteOptions {
  /** re-encode compressed sections and chunks with this codec */
  codec?: 'zlib' | 'keep';
  /** extra options appended to the first options section: [id, payload] */
  extraOptions?: [number, Uint8Array][];
}

class Out {
  parts: Uint8Array[] = [];
  size = 0;
  append(b: Uint8Array): number {
    const at = this.size;
    this.parts.push(b);
    this.size += b.length;
    return at;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let p = 0;
    for (const b of this.parts) {
      out.set(b, p);
      p += b.length;
    }
    return out;
  }
}

function u16(v: number): Uint8Array {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, v, true);
  return b;
}
function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
}
function u64(v: number | bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
  return b;
}
export function concat(...bs: Uint8Array[]): Uint8Array {
  const o = new Out();
  for (const b of bs) o.append(b);
  return o.bytes();
}

export function rewriteV7(orig: Uint8Array, opts: RewriteOptions): Uint8Array {
  const dv = new DataView(orig.buffer, orig.byteOffset, orig.byteLength);
  let p = 10;
  while (orig[p] !== 0) p++;
  p += 1 + 1 + 1 + 4; // version NUL, endian, long size, page size
  const nameStart = p;
  while (orig[p] !== 0) p++;
  const codecName = new TextDecoder().decode(orig.subarray(nameStart, p));
  p++;
  while (orig[p] !== 0) p++;
  p++;
  const optOffsetPos = p;
  const out = new Out();
  const head = orig.slice();
  out.append(head);
  const recode = opts.codec === 'zlib' && codecName !== 'none';
  const unz = (data: Uint8Array): Uint8Array => zstdDecompress(data);
  const enc = (data: Uint8Array): Uint8Array => new Uint8Array(zlib.deflateSync(data));

  const section = (off: number): number => {
    if (!recode) return off;
    const id = dv.getUint16(off, true);
    const flags = dv.getUint16(off + 2, true);
    const desc = dv.getUint32(off + 4, true);
    const size = Number(dv.getBigUint64(off + 8, true));
    if ((flags & 1) === 0) return off;
    const comp = dv.getUint32(off + 16, true);
    const data = unz(orig.subarray(off + 24, off + 24 + comp));
    const z = enc(data);
    void size;
    return out.append(concat(u16(id), u16(flags), u32(desc), u64(8 + z.length), u32(z.length), u32(data.length), z));
  };

  const buffer = (data: Uint8Array): Uint8Array => {
    if (!recode) return data;
    const bv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const secOff = Number(bv.getBigUint64(0, true));
    let q = 8;
    while (data[q] !== 0) q++;
    q++;
    while (data[q] !== 0) q++;
    q++;
    q += 4; // page size
    const cpus = bv.getUint32(q, true);
    q += 4;
    const copy = data.slice();
    const cv = new DataView(copy.buffer);
    // flyrecord section header: copied as is (its flags say "compressed")
    const newSec = out.append(orig.slice(secOff, secOff + 16));
    cv.setBigUint64(0, BigInt(newSec), true);
    for (let i = 0; i < cpus; i++, q += 20) {
      const off = Number(bv.getBigUint64(q + 4, true));
      const size = Number(bv.getBigUint64(q + 12, true));
      if (size === 0) continue;
      const count = dv.getUint32(off, true);
      let r = off + 4;
      const chunks: Uint8Array[] = [u32(count)];
      for (let k = 0; k < count; k++) {
        const c = dv.getUint32(r, true);
        const u = dv.getUint32(r + 4, true);
        const raw = zstdDecompress(orig.subarray(r + 8, r + 8 + c), new Uint8Array(u));
        const z = enc(raw);
        chunks.push(u32(z.length), u32(u), z);
        r += 8 + c;
      }
      const blob = concat(...chunks);
      const at = out.append(blob);
      cv.setBigUint64(q + 4, BigInt(at), true);
      cv.setBigUint64(q + 12, BigInt(blob.length - 4), true); // trace-cmd's size excludes the count
    }
    return copy;
  };

  const options = (off: number, first: boolean): number => {
    const flags = dv.getUint16(off + 2, true);
    const size = Number(dv.getBigUint64(off + 8, true));
    if (flags & 1) throw new Error('compressed options sections are not handled by this helper');
    let q = off + 16;
    const end = off + 16 + size;
    const items: Uint8Array[] = [];
    let next = 0;
    while (q < end) {
      const id = dv.getUint16(q, true);
      const sz = dv.getUint32(q + 2, true);
      let data: Uint8Array = orig.slice(q + 6, q + 6 + sz);
      q += 6 + sz;
      if (id === 0) {
        next = Number(new DataView(data.buffer).getBigUint64(0, true));
        break;
      }
      if (id >= 16 && id <= 21) data = u64(section(Number(new DataView(data.buffer).getBigUint64(0, true))));
      else if (id === 3) data = buffer(data);
      items.push(concat(u16(id), u32(data.length), data));
    }
    if (first) for (const [id, payload] of opts.extraOptions ?? []) items.push(concat(u16(id), u32(payload.length), payload));
    const nextNew = next ? options(next, false) : 0;
    items.push(concat(u16(0), u32(8), u64(nextNew)));
    const body = concat(...items);
    return out.append(concat(u16(0), u16(0), u32(0), u64(body.length), body));
  };

  const firstOpt = Number(dv.getBigUint64(optOffsetPos, true));
  const newFirst = options(firstOpt, true);
  const hv = new DataView(head.buffer);
  hv.setBigUint64(optOffsetPos, BigInt(newFirst), true);
  if (recode) head.set(new TextEncoder().encode('zlib'), nameStart); // same length as "zstd"
  return out.bytes();
}

export const le = { u16, u32, u64 };
