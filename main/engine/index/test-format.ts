// TEST-ONLY trace format for the index pipeline's tests (not registered in main/formats/all.ts):
// fixed 40-byte records after a 16-byte header, so tests can build inputs of any shape without
// depending on a real reader's internals. Loaded by the ingest workers via OpenOptions.formatModuleUrl.
//
// Header: 'VSTEST01', u32 order (0 concat, 1 merge-by-time, 2 merge-by-time with each unit's
//         minTsNs = its first record's ts), u32 records per unit.
// Record: f64 ts, u16 cpu, u8 kind, u8 flags (1 = corrupt: the reader throws TraceFormatError),
//         i32 pid, i32 tid, char[8] comm, char[8] event name, i32 arg0 (all little-endian).

import { TraceFormatError, type TraceFormat } from '../../formats/types.ts';

export const HEADER_BYTES = 16;
export const RECORD_BYTES = 40;
const MAGIC = 'VSTEST01';

export interface TestRecord {
  ts: number;
  cpu: number;
  kind?: number;
  pid?: number;
  tid: number;
  comm: string;
  event: string;
  arg0?: number;
  corrupt?: boolean;
}

/** Counts plan() calls in this process: a cache hit must not plan (i.e. parse) again. */
export const testFormatStats = { plans: 0 };

interface Shared {
  unitRecords: number;
}

export const format: TraceFormat<Shared> = {
  id: 'vcpuscope-test',
  displayName: 'vcpuscope test records',
  sniff(head) {
    return head.length >= 8 && new TextDecoder().decode(head.subarray(0, 8)) === MAGIC;
  },
  plan(src) {
    testFormatStats.plans++;
    const h = src.readBorrow(0, HEADER_BYTES);
    if (h.length < HEADER_BYTES || new TextDecoder().decode(h.subarray(0, 8)) !== MAGIC) throw new TraceFormatError('not a test trace (bad magic)', 0);
    const dv = new DataView(h.buffer, h.byteOffset, h.byteLength);
    const mode = dv.getUint32(8, true);
    const order = mode >= 1 ? 'merge-by-time' : 'concat';
    const unitRecords = Math.max(1, dv.getUint32(12, true));
    const records = Math.floor((src.sizeBytes - HEADER_BYTES) / RECORD_BYTES);
    const units = [];
    for (let r = 0; r < records; r += unitRecords) {
      const end = Math.min(records, r + unitRecords);
      const unit: { start: number; end: number; minTsNs?: number } = { start: HEADER_BYTES + r * RECORD_BYTES, end: HEADER_BYTES + end * RECORD_BYTES };
      if (mode === 2) {
        const first = src.readBorrow(unit.start, 8);
        unit.minTsNs = new DataView(first.buffer, first.byteOffset, 8).getFloat64(0, true);
      }
      units.push(unit);
    }
    return { units, shared: { unitRecords }, info: { format: 'vcpuscope test records', entity: 'tid' }, order };
  },
  readUnit(src, plan, unitIndex, sink, diag, signal, progress) {
    const u = plan.units[unitIndex]!;
    const buf = src.readBorrow(u.start, u.end - u.start).slice();
    const dv = new DataView(buf.buffer);
    for (let p = 0; p + RECORD_BYTES <= buf.length; p += RECORD_BYTES) {
      if (signal.cancelled) return;
      const off = u.start + p;
      if (dv.getUint8(p + 11) & 1) throw new TraceFormatError('corrupt record', off);
      const nameEnd = (s: number): number => {
        let e = s;
        while (e < s + 8 && buf[e] !== 0) e++;
        return e;
      };
      const comm = sink.commIdBytes(buf, p + 20, nameEnd(p + 20));
      const event = sink.eventIdBytes(buf, p + 28, nameEnd(p + 28));
      const pid = dv.getInt32(p + 12, true);
      const tid = dv.getInt32(p + 16, true);
      const kind = dv.getUint8(p + 10);
      // switch rows carry a prev comm too, so remapping of both comm columns is exercised.
      sink.append(kind as 0, event, dv.getFloat64(p, true), dv.getUint16(p + 8, true), pid, tid, comm, kind === 1 ? pid : -1, kind === 1 ? comm : -1, -1, dv.getInt32(p + 36, true), -1, off);
      if (((p / RECORD_BYTES) & 1023) === 0) progress?.(p);
    }
    if (buf.length % RECORD_BYTES !== 0) diag.warning(u.end, 'trailing bytes');
  },
};

/** Encode a test trace (the tests write it to a temp file). */
export function encodeTestTrace(records: readonly TestRecord[], opts: { order: 'concat' | 'merge-by-time' | 'merge-with-bounds'; unitRecords: number }): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + records.length * RECORD_BYTES);
  const dv = new DataView(out.buffer);
  out.set(new TextEncoder().encode(MAGIC), 0);
  dv.setUint32(8, opts.order === 'merge-with-bounds' ? 2 : opts.order === 'merge-by-time' ? 1 : 0, true);
  dv.setUint32(12, opts.unitRecords, true);
  const enc = new TextEncoder();
  records.forEach((r, i) => {
    const p = HEADER_BYTES + i * RECORD_BYTES;
    dv.setFloat64(p, r.ts, true);
    dv.setUint16(p + 8, r.cpu, true);
    dv.setUint8(p + 10, r.kind ?? 0);
    dv.setUint8(p + 11, r.corrupt ? 1 : 0);
    dv.setInt32(p + 12, r.pid ?? r.tid, true);
    dv.setInt32(p + 16, r.tid, true);
    out.set(enc.encode(r.comm).subarray(0, 8), p + 20);
    out.set(enc.encode(r.event).subarray(0, 8), p + 28);
    dv.setInt32(p + 36, r.arg0 ?? i, true);
  });
  return out;
}
