// Arrow windows from the engine decoded into plain typed-array columns plus the metadata lists
// (string tables, markers). The engine writes each window with apache-arrow's tableToIPC
// (main/engine/query/arrow-window.ts): an IPC stream of one schema (fixed-width Int / FloatingPoint
// fields, JSON strings in the schema's custom metadata) and record batches without nulls. This is
// a reader of exactly that, instead of apache-arrow in the renderer bundle (~210 KB of the 530 KB
// that every page load parses and runs before the first screen). Anything else (compression,
// dictionaries, nulls, other types, big-endian) is refused with a message naming the byte offset;
// arrow.test.ts compares it with apache-arrow's tableFromIPC on the engine's windows.

export interface DecodedWindow {
  length: number;
  col<T extends ArrayLike<number>>(name: string): T;
  meta<T>(key: string, fallback: T): T;
}

type ColumnCtor = Int8ArrayConstructor | Uint8ArrayConstructor | Int16ArrayConstructor | Uint16ArrayConstructor | Int32ArrayConstructor | Uint32ArrayConstructor | BigInt64ArrayConstructor | BigUint64ArrayConstructor | Float32ArrayConstructor | Float64ArrayConstructor;
type Column = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array | Float32Array | Float64Array;

class ArrowError extends Error {}

/** Bounds-checked reads of a flatbuffer (little-endian) inside the message bytes. */
class Fb {
  private readonly dv: DataView;
  constructor(
    readonly bytes: Uint8Array,
    /** Where these bytes start in the whole window (for messages). */
    private readonly base: number,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  fail(at: number, what: string): never {
    throw new ArrowError(`arrow window: ${what} at byte offset ${this.base + at}`);
  }
  private need(at: number, n: number): void {
    if (!(at >= 0 && at + n <= this.bytes.length)) this.fail(Math.min(Math.max(at, 0), this.bytes.length), `a reference points ${at < 0 ? 'before' : 'past'} its message (${n}-byte read)`);
  }
  u8(at: number): number {
    this.need(at, 1);
    return this.dv.getUint8(at);
  }
  u16(at: number): number {
    this.need(at, 2);
    return this.dv.getUint16(at, true);
  }
  i16(at: number): number {
    this.need(at, 2);
    return this.dv.getInt16(at, true);
  }
  i32(at: number): number {
    this.need(at, 4);
    return this.dv.getInt32(at, true);
  }
  u32(at: number): number {
    this.need(at, 4);
    return this.dv.getUint32(at, true);
  }
  /** int64 as a number; refuses values beyond 2^53. */
  i64(at: number): number {
    this.need(at, 8);
    const v = this.dv.getBigInt64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) this.fail(at, '64-bit value out of range');
    return Number(v);
  }
  /** Position of the table an offset field at `at` points to. */
  ref(at: number): number {
    return at + this.u32(at);
  }
  /** Position of field `i` of the table at `t`, or 0 when absent. */
  field(t: number, i: number): number {
    const vt = t - this.i32(t);
    const vtSize = this.u16(vt);
    if (vtSize < 4 || vtSize % 2) this.fail(vt, 'bad vtable');
    const slot = 4 + 2 * i;
    if (slot + 2 > vtSize) return 0;
    const off = this.u16(vt + slot);
    return off === 0 ? 0 : t + off;
  }
  /** A vector field: [position of element 0, length], or null when absent. */
  vector(t: number, i: number, elemBytes: number): [number, number] | null {
    const f = this.field(t, i);
    if (!f) return null;
    const v = this.ref(f);
    const n = this.u32(v);
    this.need(v + 4, n * elemBytes);
    return [v + 4, n];
  }
  str(at: number): string {
    const n = this.u32(at);
    this.need(at + 4, n);
    return new TextDecoder().decode(this.bytes.subarray(at + 4, at + 4 + n));
  }
  strField(t: number, i: number): string | null {
    const f = this.field(t, i);
    return f ? this.str(this.ref(f)) : null;
  }
}

const HEADER_SCHEMA = 1;
const HEADER_DICTIONARY = 2;
const HEADER_RECORD_BATCH = 3;
const TYPE_INT = 2;
const TYPE_FLOAT = 3;

function intCtor(bits: number, signed: boolean): ColumnCtor | null {
  if (bits === 8) return signed ? Int8Array : Uint8Array;
  if (bits === 16) return signed ? Int16Array : Uint16Array;
  if (bits === 32) return signed ? Int32Array : Uint32Array;
  if (bits === 64) return signed ? BigInt64Array : BigUint64Array;
  return null;
}

interface Field {
  name: string;
  ctor: ColumnCtor;
}

function readSchema(fb: Fb, t: number, meta: Map<string, string>): Field[] {
  const endian = fb.field(t, 0);
  if (endian && fb.i16(endian) !== 0) fb.fail(endian, 'big-endian windows are not supported');
  const fields: Field[] = [];
  const fv = fb.vector(t, 1, 4);
  for (let k = 0; fv && k < fv[1]; k++) {
    const f = fb.ref(fv[0] + 4 * k);
    const name = fb.strField(f, 0) ?? '';
    const typeTypeAt = fb.field(f, 2);
    const typeType = typeTypeAt ? fb.u8(typeTypeAt) : 0;
    const typeAt = fb.field(f, 3);
    if (fb.field(f, 4)) fb.fail(f, `column ${name}: dictionary-encoded columns are not supported`);
    const kids = fb.vector(f, 5, 4);
    if (kids && kids[1] > 0) fb.fail(f, `column ${name}: nested columns are not supported`);
    let ctor: ColumnCtor | null = null;
    if (typeType === TYPE_INT && typeAt) {
      const it = fb.ref(typeAt);
      const bw = fb.field(it, 0);
      const sg = fb.field(it, 1);
      ctor = intCtor(bw ? fb.i32(bw) : 0, sg ? fb.u8(sg) !== 0 : false);
    } else if (typeType === TYPE_FLOAT && typeAt) {
      const ft = fb.ref(typeAt);
      const pr = fb.field(ft, 0);
      const p = pr ? fb.i16(pr) : 0;
      ctor = p === 1 ? Float32Array : p === 2 ? Float64Array : null;
    }
    if (!ctor) fb.fail(f, `column ${name}: type ${typeType} is not a fixed-width integer or float`);
    fields.push({ name, ctor });
  }
  const mv = fb.vector(t, 2, 4);
  for (let k = 0; mv && k < mv[1]; k++) {
    const kv = fb.ref(mv[0] + 4 * k);
    const key = fb.strField(kv, 0);
    if (key !== null) meta.set(key, fb.strField(kv, 1) ?? '');
  }
  return fields;
}

/** One record batch's columns, as views of the window's bytes where aligned (copies otherwise). */
function readBatch(fb: Fb, t: number, fields: Field[], body: Uint8Array, bodyAt: number): { length: number; cols: Column[] } {
  const lenAt = fb.field(t, 0); // absent = 0 (flatbuffers omit default values)
  const length = lenAt ? fb.i64(lenAt) : 0;
  if (fb.field(t, 3)) fb.fail(t, 'compressed record batches are not supported');
  const nodes = fb.vector(t, 1, 16);
  const bufs = fb.vector(t, 2, 16);
  if (!nodes || nodes[1] !== fields.length) fb.fail(t, `record batch has ${nodes?.[1] ?? 0} field nodes for ${fields.length} columns`);
  if (!bufs || bufs[1] !== 2 * fields.length) fb.fail(t, `record batch has ${bufs?.[1] ?? 0} buffers for ${fields.length} columns`);
  const cols: Column[] = [];
  for (let c = 0; c < fields.length; c++) {
    const { name, ctor } = fields[c]!;
    const n = fb.i64(nodes[0] + 16 * c);
    const nulls = fb.i64(nodes[0] + 16 * c + 8);
    if (n !== length) fb.fail(nodes[0] + 16 * c, `column ${name} has ${n} values in a batch of ${length}`);
    if (nulls !== 0) fb.fail(nodes[0] + 16 * c + 8, `column ${name} has nulls (not supported)`);
    const off = fb.i64(bufs[0] + 16 * (2 * c + 1));
    const len = fb.i64(bufs[0] + 16 * (2 * c + 1) + 8);
    const need = n * ctor.BYTES_PER_ELEMENT;
    if (len < need || off < 0 || off + need > body.length) fb.fail(bufs[0] + 16 * (2 * c + 1), `column ${name}: values buffer out of the message body (body offset ${bodyAt})`);
    const at = body.byteOffset + off;
    cols.push(at % ctor.BYTES_PER_ELEMENT === 0 ? new ctor(body.buffer as ArrayBuffer, at, n) : new ctor(body.slice(off, off + need).buffer, 0, n));
  }
  return { length, cols };
}

/** The window's columns (concatenated over its record batches) and schema metadata. */
export function readArrowStream(bytes: Uint8Array): { length: number; columns: Map<string, Column>; metadata: Map<string, string> } {
  const all = new Fb(bytes, 0);
  const meta = new Map<string, string>();
  let fields: Field[] | null = null;
  const batches: { length: number; cols: Column[] }[] = [];
  let p = 0;
  while (p + 4 <= bytes.length) {
    let len = all.i32(p);
    let head = p + 4;
    if (len === -1) {
      len = p + 8 <= bytes.length ? all.i32(p + 4) : 0;
      head = p + 8;
    }
    if (len === 0) break; // end of stream
    if (len < 0 || head + len > bytes.length) all.fail(p, `message length ${len} runs past the end (${bytes.length} bytes)`);
    const fb = new Fb(bytes.subarray(head, head + len), head);
    const m = fb.ref(0);
    const htAt = fb.field(m, 1);
    const hAt = fb.field(m, 2);
    const blAt = fb.field(m, 3);
    const bodyLength = blAt ? fb.i64(blAt) : 0;
    const bodyAt = head + len;
    if (bodyLength < 0 || bodyAt + bodyLength > bytes.length) all.fail(p, `message body of ${bodyLength} bytes runs past the end`);
    const ht = htAt ? fb.u8(htAt) : 0;
    if (!hAt) fb.fail(0, 'message without a header');
    const h = fb.ref(hAt);
    if (ht === HEADER_SCHEMA) {
      if (fields) fb.fail(0, 'a second schema');
      fields = readSchema(fb, h, meta);
    } else if (ht === HEADER_RECORD_BATCH) {
      batches.push(readBatch(fb, h, fields ?? fb.fail(0, 'record batch before the schema'), bytes.subarray(bodyAt, bodyAt + bodyLength), bodyAt));
    } else if (ht === HEADER_DICTIONARY) {
      fb.fail(0, 'dictionary batches are not supported');
    } else {
      fb.fail(0, `message type ${ht} is not supported`);
    }
    p = bodyAt + bodyLength;
  }
  if (!fields) throw new ArrowError(`arrow window: no schema in ${bytes.length} bytes`);
  const columns = new Map<string, Column>();
  let length = 0;
  for (const b of batches) length += b.length;
  fields.forEach((f, c) => {
    if (batches.length === 1) columns.set(f.name, batches[0]!.cols[c]!);
    else {
      const out = new f.ctor(length);
      let o = 0;
      for (const b of batches) {
        (out as { set(a: ArrayLike<number | bigint>, o: number): void }).set(b.cols[c]!, o);
        o += b.length;
      }
      columns.set(f.name, out);
    }
  });
  return { length, columns, metadata: meta };
}

export function decodeWindow(bytes: Uint8Array): DecodedWindow {
  const { length, columns, metadata } = readArrowStream(bytes);
  return {
    length,
    col<T extends ArrayLike<number>>(name: string): T {
      const c = columns.get(name);
      if (!c) throw new Error(`window has no column ${name}`);
      return c as unknown as T;
    },
    meta<T>(key: string, fallback: T): T {
      const s = metadata.get(key);
      if (s === undefined) return fallback;
      try {
        return JSON.parse(s) as T;
      } catch {
        return fallback;
      }
    },
  };
}
