// Side cache of a single-file session's derived arrays (batch summaries, run lanes, migrations,
// thread counts) beside its Arrow cache, so a cached trace opens without the full prepare pass
// (10M rows: ~2.5 s of the first screen). Written to a temp name and renamed; read back only when
// the version, row and batch counts, length and a word sum all match — else recomputed.

import { closeSync, existsSync, fstatSync, openSync, readSync, renameSync, writeSync } from 'node:fs';
import type { IndexedTrace } from '../index/indexed-trace.ts';
import { BatchSummaries, type Lane, type SessionData } from './session-data.ts';

const VERSION = 1;
const MAX_HEADER_BYTES = 64 << 20;

interface Header {
  version: number;
  rowCount: number;
  batchCount: number;
  startNs: number;
  endNs: number;
  lanes: { cpu: number; n: number; endNs: number }[];
  migrations: number;
  threads: [number, number, number][]; // tid, comm, events
  sum: number;
}

/** Where the side file of an Arrow-cached trace goes (null: the trace has no Arrow cache). */
export function sideCachePath(tr: IndexedTrace): string | null {
  const p = (tr as { arrowPath?: unknown }).arrowPath;
  return typeof p === 'string' ? `${p}.view-v${VERSION}.bin` : null;
}

function wordSum(parts: ArrayBufferView[]): number {
  let s = 0;
  for (const p of parts) {
    const n = Math.floor(p.byteLength / 4);
    const u = new Uint32Array(p.buffer, p.byteOffset, n);
    for (let i = 0; i < n; i++) s = (s + u[i]! * (1 + (i & 7))) >>> 0;
  }
  return s;
}

function payload(d: SessionData): ArrayBufferView[] {
  const b = d.batches[0]!;
  const out: ArrayBufferView[] = [b.minTs, b.maxTs, b.cpuBits, b.tidBits];
  for (const L of d.lanes) out.push(L.startNs, L.tid, L.comm, L.endState);
  const m = d.migrations;
  out.push(m.tsNs, m.tid, m.fromCpu, m.toCpu);
  return out;
}

/** Best effort: a failure to write only costs the next open a prepare pass. */
export function writeSideCache(path: string, d: SessionData): void {
  if (d.files.length !== 1) return;
  const parts = payload(d);
  const header: Header = {
    version: VERSION,
    rowCount: d.rowCount,
    batchCount: d.batches[0]!.count,
    startNs: d.startNs,
    endNs: d.endNs,
    lanes: d.lanes.map((L) => ({ cpu: L.cpu, n: L.startNs.length, endNs: L.endNs })),
    migrations: d.migrations.tsNs.length,
    threads: d.threads.map((t) => [t.tid, t.comm, t.events]),
    sum: wordSum(parts),
  };
  const json = Buffer.from(JSON.stringify(header));
  const tmp = `${path}.${process.pid}.tmp`;
  let fd = -1;
  try {
    fd = openSync(tmp, 'w');
    const len = Buffer.alloc(8);
    len.writeUInt32LE(json.length, 0);
    writeSync(fd, len);
    writeSync(fd, json);
    // pad to 8 so every array starts aligned
    const pad = (8 - ((8 + json.length) % 8)) % 8;
    if (pad) writeSync(fd, Buffer.alloc(pad));
    // each array padded to 8 bytes so that the next one (maybe f64) starts aligned
    const zeros = Buffer.alloc(8);
    for (const p of parts) {
      writeSync(fd, new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
      const padBytes = (8 - (p.byteLength % 8)) % 8;
      if (padBytes) writeSync(fd, zeros, 0, padBytes);
    }
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch {
    if (fd >= 0) closeSync(fd);
  }
}

/** The session data from the side file, or null when absent or not matching this trace. */
/** The side cache for `tr`, or null when absent, stale or damaged in any way (never throws). */
export function readSideCache(path: string, tr: IndexedTrace): SessionData | null {
  try {
    return readSideCacheChecked(path, tr);
  } catch {
    return null; // a damaged file is recomputed, never trusted
  }
}

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0;
const isNum = (n: unknown): n is number => typeof n === 'number' && !Number.isNaN(n);

function readSideCacheChecked(path: string, tr: IndexedTrace): SessionData | null {
  if (!existsSync(path)) return null;
  // Read into an array of our own (offset 0): the body starts at a multiple of 8, so the columns
  // are views of it (a pooled Buffer from readFileSync needed a copy of the whole body first).
  let buf: Uint8Array<ArrayBuffer>;
  try {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      buf = new Uint8Array(size);
      let got = 0;
      while (got < size) {
        const n = readSync(fd, buf, got, size - got, got);
        if (n === 0) break;
        got += n;
      }
      if (got !== size) return null;
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
  if (buf.length < 8) return null;
  const jsonLen = new DataView(buf.buffer).getUint32(0, true);
  if (jsonLen > MAX_HEADER_BYTES || 8 + jsonLen > buf.length) return null;
  let h: Header;
  try {
    h = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + jsonLen))) as Header;
  } catch {
    return null;
  }
  if (h.version !== VERSION || h.rowCount !== tr.rowCount || h.batchCount !== tr.batchCount || !Array.isArray(h.lanes) || !Array.isArray(h.threads)) return null;
  // Every header field used below has the right type and range before it sizes anything.
  if (!isCount(h.migrations) || !isNum(h.startNs) || !isNum(h.endNs)) return null;
  if (!h.lanes.every((l) => l && isCount(l.cpu) && l.cpu <= 0xffff && isCount(l.n) && isNum(l.endNs))) return null;
  if (!h.threads.every((t) => Array.isArray(t) && t.length === 3 && t.every((x) => typeof x === 'number' && Number.isInteger(x)))) return null;
  const start = 8 + jsonLen + ((8 - ((8 + jsonLen) % 8)) % 8);
  if (start > buf.length) return null;
  const body = buf.subarray(start);
  let off = 0;
  let bad = false;
  const take = <T extends Float64Array | Int32Array | Uint32Array>(Ctor: { new (b: ArrayBuffer, o: number, n: number): T; BYTES_PER_ELEMENT: number }, n: number): T => {
    const bytes = n * Ctor.BYTES_PER_ELEMENT;
    if (!Number.isInteger(n) || n < 0 || off + bytes > body.length) {
      bad = true;
      return new Ctor(new ArrayBuffer(0), 0, 0);
    }
    const v = new Ctor(body.buffer, body.byteOffset + off, n);
    off += bytes + ((8 - (bytes % 8)) % 8);
    return v;
  };
  const bc = h.batchCount;
  const sums = new BatchSummaries(bc);
  sums.minTs.set(take(Float64Array, bc));
  sums.maxTs.set(take(Float64Array, bc));
  sums.cpuBits.set(take(Uint32Array, bc * 8));
  sums.tidBits.set(take(Uint32Array, bc * 8));
  const lanes: Lane[] = [];
  const laneOf = new Map<number, number>();
  for (const l of h.lanes) {
    if (bad) return null;
    const lane = lanes.length;
    laneOf.set(l.cpu, lane);
    lanes.push({ lane, file: 0, cpu: l.cpu, startNs: take(Float64Array, l.n), tid: take(Int32Array, l.n), comm: take(Int32Array, l.n), endState: take(Int32Array, l.n), endNs: l.endNs });
  }
  const m = h.migrations;
  if (m * 8 > body.length) return null;
  const migrations = { file: new Uint8Array(m), tsNs: take(Float64Array, m), tid: take(Int32Array, m), fromCpu: take(Int32Array, m), toCpu: take(Int32Array, m) };
  if (bad || off !== body.length) return null;
  const parts: ArrayBufferView[] = [sums.minTs, sums.maxTs, sums.cpuBits, sums.tidBits];
  for (const L of lanes) parts.push(L.startNs, L.tid, L.comm, L.endState);
  parts.push(migrations.tsNs, migrations.tid, migrations.fromCpu, migrations.toCpu);
  if (wordSum(parts) !== h.sum) return null;
  return {
    files: [tr],
    offsetsNs: [0],
    rowCount: h.rowCount,
    startNs: h.startNs,
    endNs: h.endNs,
    batches: [sums],
    lanes,
    laneOf: [laneOf],
    migrations,
    threads: h.threads.map(([tid, comm, events]) => ({ file: 0, tid, comm, events })),
    mergeFile: null,
    mergeRow: null,
  };
}
