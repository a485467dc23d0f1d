// Test helper: re-encodes a real little-endian, 64-bit v6 trace.dat as big-endian and/or with a
// 4-byte page commit word (a 32-bit kernel's layout), walking the v6 layout from the trace-cmd
// v6 document: every number in the metadata, page headers, record headers (type_len moves to the
// top 5 bits on big-endian) and every number field of every record (per the file's own formats).
// No such real files can be recorded on this machine; this checks those code paths against the
// real little-endian reading of the same data.

import { parseEventFormat, FieldKind, type EventFormat } from './event-format.ts';

export interface ConvertOptions {
  bigEndian: boolean;
  /** rewrite the ring-buffer pages for a 4-byte commit word (data at offset 12) */
  commit4: boolean;
}

const td = new TextDecoder('latin1');

export function convertV6(orig: Uint8Array, opts: ConvertOptions): Uint8Array {
  const src = new DataView(orig.buffer, orig.byteOffset, orig.byteLength);
  const parts: Uint8Array[] = [];
  let outLen = 0;
  const emit = (b: Uint8Array): void => {
    parts.push(b);
    outLen += b.length;
  };
  const be = opts.bigEndian;
  const w16 = (v: number): Uint8Array => { const b = new Uint8Array(2); new DataView(b.buffer).setUint16(0, v, !be); return b; };
  const w32 = (v: number): Uint8Array => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v, !be); return b; };
  const w64 = (v: bigint): Uint8Array => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, v, !be); return b; };
  let p = 0;
  const copy = (n: number): Uint8Array => { const b = orig.slice(p, p + n); p += n; emit(b); return b; };
  const r32 = (): number => { const v = src.getUint32(p, true); p += 4; emit(w32(v)); return v; };
  const r64 = (): bigint => { const v = src.getBigUint64(p, true); p += 8; emit(w64(v)); return v; };
  const cstr = (): string => { let e = p; while (orig[e] !== 0) e++; const s = td.decode(orig.subarray(p, e)); copy(e - p + 1); return s; };

  copy(10); // magic
  cstr(); // "6"
  p++; emit(new Uint8Array([be ? 1 : 0]));
  p++; // long size (user space): a 32-bit kernel's files say 4
  emit(new Uint8Array([opts.commit4 ? 4 : orig[p - 1]!]));
  const pageSize = r32();
  // header_page: rewrite the commit/data layout for commit4
  copy(12);
  const hpSize = Number(src.getBigUint64(p, true)); p += 8;
  let hp = td.decode(orig.subarray(p, p + hpSize)); p += hpSize;
  if (opts.commit4) {
    hp = hp.replace(/(field: local_t commit;\toffset:8;\tsize:)8;/, '$14;').replace(/(field: char data;\toffset:)16;(\tsize:)(\d+);/, (_m, a: string, b: string, n: string) => `${a}12;${b}${Number(n) + 4};`);
  }
  const hpBytes = new TextEncoder().encode(hp);
  emit(w64(BigInt(hpBytes.length))); emit(hpBytes);
  copy(13);
  const heSize = r64(); copy(Number(heSize));
  const formats: EventFormat[] = [];
  const nFtrace = r32();
  for (let i = 0; i < nFtrace; i++) { const n = Number(r64()); const f = parseEventFormat(td.decode(copy(n)), 'ftrace'); if (f) formats.push(f); }
  const nSys = r32();
  for (let s = 0; s < nSys; s++) {
    const sys = cstr();
    const n = r32();
    for (let i = 0; i < n; i++) { const sz = Number(r64()); const f = parseEventFormat(td.decode(copy(sz)), sys); if (f) formats.push(f); }
  }
  copy(r32()); // kallsyms
  copy(r32()); // printk
  copy(Number(r64())); // cmdlines
  const cpus = r32();
  const byId = new Map(formats.map((f) => [f.id, f]));
  // options and flyrecord; remember CPU tables to patch after the data is written
  const cpuTables: { at: number; entries: { off: number; size: number }[] }[] = [];
  const bufferOffsets: { at: number; orig: number }[] = [];
  for (;;) {
    const tag = td.decode(orig.subarray(p, p + 10));
    copy(10);
    if (tag === 'options  \0') {
      for (;;) {
        const id = src.getUint16(p, true); p += 2; emit(w16(id));
        if (id === 0) break;
        const size = src.getUint32(p, true); p += 4; emit(w32(size));
        const data = orig.slice(p, p + size); p += size;
        const dv = new DataView(data.buffer);
        const out = data.slice();
        const ov = new DataView(out.buffer);
        if (id === 8) ov.setUint32(0, dv.getUint32(0, true), !be); // CPUCOUNT
        if (id === 11) ov.setBigUint64(0, dv.getBigUint64(0, true), !be); // TRACEID
        if (id === 3) bufferOffsets.push({ at: outLen, orig: Number(dv.getBigUint64(0, true)) }); // BUFFER: patched below
        emit(out);
      }
      continue;
    }
    if (tag !== 'flyrecord\0') throw new Error(`unexpected ${tag}`);
    const t = { at: outLen, entries: [] as { off: number; size: number }[] };
    for (let c = 0; c < cpus; c++) {
      t.entries.push({ off: Number(src.getBigUint64(p, true)), size: Number(src.getBigUint64(p + 8, true)) });
      p += 16;
      emit(new Uint8Array(16));
    }
    cpuTables.push(t);
    break;
  }
  // Everything from here to the end: CPU data of the top buffer and of instances (v6 BUFFER data
  // is "flyrecord\0" + its own CPU table + pages). Copy byte for byte, converting pages in place.
  const rest = orig.slice(p);
  const restBase = p;
  const out = new Uint8Array(outLen + rest.length);
  let q = 0;
  for (const b of parts) { out.set(b, q); q += b.length; }
  const delta = outLen - restBase; // header rewrites may shift the rest
  out.set(rest, outLen);
  const ov = new DataView(out.buffer);
  const writeTable = (at: number, entries: { off: number; size: number }[]): void => {
    entries.forEach((e, i) => {
      ov.setBigUint64(at + i * 16, BigInt(e.size ? e.off + delta : 0), !be);
      ov.setBigUint64(at + i * 16 + 8, BigInt(e.size), !be);
    });
  };
  for (const t of cpuTables) writeTable(t.at, t.entries);
  for (const b of bufferOffsets) {
    ov.setBigUint64(b.at, BigInt(b.orig + delta), !be);
    const tableAt = b.orig + 10;
    const entries: { off: number; size: number }[] = [];
    for (let c = 0; c < cpus; c++) entries.push({ off: Number(src.getBigUint64(tableAt + c * 16, true)), size: Number(src.getBigUint64(tableAt + c * 16 + 8, true)) });
    writeTable(tableAt + delta, entries);
    cpuTables.push({ at: tableAt + delta, entries });
  }
  for (const t of cpuTables) for (const e of t.entries) for (let pg = e.off; pg < e.off + e.size; pg += pageSize) convertPage(orig, src, out, ov, pg, pg + delta, Math.min(pageSize, e.off + e.size - pg), byId, opts);
  return out;
}

function convertPage(orig: Uint8Array, src: DataView, out: Uint8Array, ov: DataView, from: number, to: number, len: number, byId: Map<number, EventFormat>, opts: ConvertOptions): void {
  const be = opts.bigEndian;
  ov.setBigUint64(to, src.getBigUint64(from, true), !be);
  const commit = src.getBigUint64(from + 8, true);
  const size = Number(commit & 0x7ffffffn);
  let d = to + 16;
  if (opts.commit4) {
    ov.setUint32(to + 8, Number(commit & 0xffffffffn), !be);
    out.set(orig.subarray(from + 16, from + len), to + 12);
    out.fill(0, to + 12 + len - 16, to + len);
    d = to + 12;
  } else ov.setBigUint64(to + 8, commit, !be);
  let p = 0;
  const s0 = from + 16;
  while (p + 4 <= size) {
    const word = src.getUint32(s0 + p, true);
    const typeLen = word & 31;
    const tdelta = word >>> 5;
    ov.setUint32(d + p, be ? ((typeLen << 27) | tdelta) >>> 0 : word, !be);
    if (typeLen >= 29) {
      const ext = src.getUint32(s0 + p + 4, true);
      ov.setUint32(d + p + 4, ext, !be);
      if (typeLen === 29) { if (ext === 0) return; p += 4 + ext; } else p += 8;
      continue;
    }
    let dataAt: number;
    let dlen: number;
    if (typeLen === 0) {
      const lw = src.getUint32(s0 + p + 4, true);
      ov.setUint32(d + p + 4, lw, !be);
      dataAt = p + 8;
      dlen = Math.floor((lw - 1) / 4) * 4;
    } else {
      dataAt = p + 4;
      dlen = typeLen * 4;
    }
    const type = src.getUint16(s0 + dataAt, true);
    const f = byId.get(type);
    if (f) {
      for (const fd of f.fields) {
        if (fd.offset + fd.size > dlen) continue;
        const a = s0 + dataAt + fd.offset;
        const b = d + dataAt + fd.offset;
        if (fd.kind === FieldKind.number || fd.kind === FieldKind.dataLoc || fd.kind === FieldKind.relLoc) {
          if (fd.size === 2) ov.setUint16(b, src.getUint16(a, true), !be);
          else if (fd.size === 4) ov.setUint32(b, src.getUint32(a, true), !be);
          else if (fd.size === 8) ov.setBigUint64(b, src.getBigUint64(a, true), !be);
        }
      }
    }
    p = dataAt + dlen;
  }
}
