// Side cache of a single-file session's derived arrays (batch summaries, run lanes, migrations,
// thread counts) beside its Arrow cache, so a cached trace opens without the full prepare pass
// (10M rows: ~2.5 s of the first screen). Written to a temp name and renamed; read back only when
// the version, row and batch counts, length and a word sum all match — else recomputed.

import { closeSync, existsSync, fstatSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open as openAsync } from 'node:fs/promises';
import type { IndexedTrace } from '../index/indexed-trace.ts';
import type { LaneLod, LodLevel, SessionLod } from './lod.ts';
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

/**
 * The checksum's inner loop: s + sum of u[i] * (1 + (i & 7)) over [i0, i1), mod 2^32. Int32 lanes
 * (Math.imul, | 0) unrolled by 8 where i is a multiple of 8: 3-4x faster than the double
 * arithmetic of the plain formula (22M words of a 10M-event trace's side file: ~35 vs ~125 ms),
 * same value (congruent mod 2^32; session-cache.test.ts checks it against the formula).
 */
function sumWords(u: Uint32Array, i0: number, i1: number, s0: number): number {
  let s = s0 | 0;
  let i = i0;
  for (; i < i1 && (i & 7) !== 0; i++) s = (s + Math.imul(u[i]!, 1 + (i & 7))) | 0;
  const end8 = i + ((i1 - i) & ~7);
  for (; i < end8; i += 8) {
    s =
      (s +
        (u[i]! | 0) +
        Math.imul(u[i + 1]!, 2) +
        Math.imul(u[i + 2]!, 3) +
        Math.imul(u[i + 3]!, 4) +
        Math.imul(u[i + 4]!, 5) +
        Math.imul(u[i + 5]!, 6) +
        Math.imul(u[i + 6]!, 7) +
        Math.imul(u[i + 7]!, 8)) |
      0;
  }
  for (; i < i1; i++) s = (s + Math.imul(u[i]!, 1 + (i & 7))) | 0;
  return s >>> 0;
}

/** Checksum of the arrays: per array, the sum of word i times 1 + (i & 7), mod 2^32. */
export function wordSum(parts: ArrayBufferView[]): number {
  let s = 0;
  for (const p of parts) {
    const n = Math.floor(p.byteLength / 4);
    s = sumWords(new Uint32Array(p.buffer, p.byteOffset, n), 0, n, s);
  }
  return s;
}

/** wordSum in slices of about a million words, yielding to the event loop between them (same sum). */
async function wordSumAsync(parts: ArrayBufferView[], cancelled: () => boolean): Promise<number | null> {
  const SLICE = 1 << 20;
  let s = 0;
  for (const p of parts) {
    const n = Math.floor(p.byteLength / 4);
    const u = new Uint32Array(p.buffer, p.byteOffset, n);
    for (let i0 = 0; i0 < n; i0 += SLICE) {
      s = sumWords(u, i0, Math.min(n, i0 + SLICE), s);
      await new Promise((r) => setImmediate(r));
      if (cancelled()) return null;
    }
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

/** Best effort: a failure to write only costs the next open a prepare pass. The file's checksum, or null. */
export function writeSideCache(path: string, d: SessionData): number | null {
  if (d.files.length !== 1) return null;
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
  return writeHeaderAndArrays(path, header, parts) ? header.sum : null;
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

/** The whole file in an array of our own (offset 0), or null. */
function readWhole(path: string): Uint8Array<ArrayBuffer> | null {
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
  return buf;
}

/** The header, checked against `tr` and for types and ranges, and where the body starts; or null. */
function parseHeader(buf: Uint8Array, size: number, tr: IndexedTrace): { h: Header; start: number } | null {
  if (buf.length < 8) return null;
  const jsonLen = new DataView(buf.buffer, buf.byteOffset).getUint32(0, true);
  if (jsonLen > MAX_HEADER_BYTES || 8 + jsonLen > buf.length) return null;
  let h: Header;
  try {
    h = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + jsonLen))) as Header;
  } catch {
    return null;
  }
  if (!h || h.version !== VERSION || h.rowCount !== tr.rowCount || h.batchCount !== tr.batchCount || !Array.isArray(h.lanes) || !Array.isArray(h.threads)) return null;
  // Every header field used below has the right type and range before it sizes anything.
  if (!isCount(h.migrations) || !isNum(h.startNs) || !isNum(h.endNs) || !isNum(h.sum)) return null;
  if (!h.lanes.every((l) => l && isCount(l.cpu) && l.cpu <= 0xffff && isCount(l.n) && isNum(l.endNs))) return null;
  if (!h.threads.every((t) => Array.isArray(t) && t.length === 3 && t.every((x) => typeof x === 'number' && Number.isInteger(x)))) return null;
  const start = 8 + jsonLen + ((8 - ((8 + jsonLen) % 8)) % 8);
  if (start > size) return null;
  return { h, start };
}

/** Bytes of the batch summaries at the start of the body (minTs, maxTs, cpuBits, tidBits). */
const summaryBytes = (bc: number): number => bc * (8 + 8 + 8 * 4 + 8 * 4);

/** The session data of a side file's bytes and the arrays its checksum covers (not yet checked), or null. */
function decodeSide(buf: Uint8Array<ArrayBuffer>, tr: IndexedTrace): { data: SessionData; parts: ArrayBufferView[]; sum: number } | null {
  const ph = parseHeader(buf, buf.length, tr);
  if (!ph) return null;
  const { h, start } = ph;
  const body = buf.subarray(start);
  const rd = new ArrayReader(body);
  const take = rd.take;
  const bc = h.batchCount;
  const sums = new BatchSummaries(bc);
  sums.minTs.set(take(Float64Array, bc));
  sums.maxTs.set(take(Float64Array, bc));
  sums.cpuBits.set(take(Uint32Array, bc * 8));
  sums.tidBits.set(take(Uint32Array, bc * 8));
  const lanes: Lane[] = [];
  const laneOf = new Map<number, number>();
  for (const l of h.lanes) {
    if (rd.bad) return null;
    const lane = lanes.length;
    laneOf.set(l.cpu, lane);
    lanes.push({ lane, file: 0, cpu: l.cpu, startNs: take(Float64Array, l.n), tid: take(Int32Array, l.n), comm: take(Int32Array, l.n), endState: take(Int32Array, l.n), endNs: l.endNs });
  }
  const m = h.migrations;
  if (m * 8 > body.length) return null;
  const migrations = { file: new Uint8Array(m), tsNs: take(Float64Array, m), tid: take(Int32Array, m), fromCpu: take(Int32Array, m), toCpu: take(Int32Array, m) };
  if (rd.bad || rd.off !== body.length) return null;
  const parts: ArrayBufferView[] = [sums.minTs, sums.maxTs, sums.cpuBits, sums.tidBits];
  for (const L of lanes) parts.push(L.startNs, L.tid, L.comm, L.endState);
  parts.push(migrations.tsNs, migrations.tid, migrations.fromCpu, migrations.toCpu);
  return { data: sessionOf(h, tr, sums, lanes, laneOf, migrations), parts, sum: h.sum };
}

function sessionOf(h: Header, tr: IndexedTrace, sums: BatchSummaries, lanes: Lane[], laneOf: Map<number, number>, migrations: SessionData['migrations']): SessionData {
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

function readSideCacheChecked(path: string, tr: IndexedTrace): SessionData | null {
  if (!existsSync(path)) return null;
  const buf = readWhole(path);
  const dec = buf ? decodeSide(buf, tr) : null;
  if (!dec || wordSum(dec.parts) !== dec.sum) return null;
  return dec.data;
}

/**
 * The start of the side file only: header and batch summaries, with every lane present but empty
 * and no migrations, for a session shown (rows, filters, jump to time) while readSideCacheAsync
 * reads the lanes. Not checksummed yet: the caller must drop what it derived from these summaries
 * when the whole file is then refused. Null when absent, stale or malformed; never throws.
 */
export function readSideHead(path: string, tr: IndexedTrace): { data: SessionData; sum: number } | null {
  try {
    if (!existsSync(path)) return null;
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const pre = new Uint8Array(8);
      if (readSync(fd, pre, 0, 8, 0) !== 8) return null;
      const jsonLen = new DataView(pre.buffer).getUint32(0, true);
      if (jsonLen > MAX_HEADER_BYTES || 8 + jsonLen > size) return null;
      const head = new Uint8Array(8 + jsonLen + 8);
      const got = readSync(fd, head, 0, head.length, 0);
      const ph = parseHeader(head.subarray(0, got), size, tr);
      if (!ph) return null;
      const { h, start } = ph;
      const bc = h.batchCount;
      if (start + summaryBytes(bc) > size) return null;
      const body = new Uint8Array(summaryBytes(bc));
      if (readSync(fd, body, 0, body.length, start) !== body.length) return null;
      const f = new Float64Array(body.buffer, 0, bc * 2);
      const u = new Uint32Array(body.buffer, bc * 16, bc * 16);
      const sums = new BatchSummaries(bc, { minTs: f.subarray(0, bc), maxTs: f.subarray(bc), cpuBits: u.subarray(0, bc * 8), tidBits: u.subarray(bc * 8) });
      const lanes: Lane[] = [];
      const laneOf = new Map<number, number>();
      for (const l of h.lanes) {
        laneOf.set(l.cpu, lanes.length);
        lanes.push({ lane: lanes.length, file: 0, cpu: l.cpu, startNs: new Float64Array(0), tid: new Int32Array(0), comm: new Int32Array(0), endState: new Int32Array(0), endNs: l.endNs });
      }
      const migrations = { file: new Uint8Array(0), tsNs: new Float64Array(0), tid: new Int32Array(0), fromCpu: new Int32Array(0), toCpu: new Int32Array(0) };
      return { data: sessionOf(h, tr, sums, lanes, laneOf, migrations), sum: h.sum };
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
}

/**
 * readSideCache without blocking the engine: the file is read by the I/O threads in 16 MiB pieces
 * and its checksum taken in slices between other requests. Null when absent, stale, damaged or
 * cancelled (never throws).
 */
export async function readSideCacheAsync(path: string, tr: IndexedTrace, cancelled: () => boolean = () => false): Promise<SessionData | null> {
  try {
    if (!existsSync(path)) return null;
    const fh = await openAsync(path, 'r');
    let buf: Uint8Array<ArrayBuffer>;
    try {
      const size = (await fh.stat()).size;
      buf = new Uint8Array(size);
      const PIECE = 16 << 20;
      let got = 0;
      while (got < size) {
        const { bytesRead } = await fh.read(buf, got, Math.min(PIECE, size - got), got);
        if (bytesRead === 0) break;
        got += bytesRead;
        if (cancelled()) return null;
      }
      if (got !== size) return null;
    } finally {
      await fh.close();
    }
    const dec = decodeSide(buf, tr);
    if (!dec) return null;
    const sum = await wordSumAsync(dec.parts, cancelled);
    return sum === dec.sum ? dec.data : null;
  } catch {
    return null;
  }
}

// ---- Preview: the first screen of a cached trace without its lanes ----
//
// Beside the side file, a small file with what a session needs before its lanes are read: the
// header (times, lanes, threads), the batch summaries and the coarse levels of the timeline's LOD
// (levels of at most PREVIEW_BUCKETS buckets per lane, the dominant thread of each bucket resolved
// to its tid and comm), all under one checksum, and tied to the side file by its checksum. A whole-
// trace tile is drawn from it (marked approximate, the view asks again until the lanes are read).
// ~20 bytes per bucket: ~0.7 MB for a 2-lane 10M-event trace, read in a few ms.

const PREVIEW_VERSION = 1;
/** Levels with at most this many buckets are kept (a 4000 px whole-trace view uses ~16k). */
export const PREVIEW_BUCKETS = 16384;

interface PreviewHeader {
  version: number;
  kind: 'preview';
  rowCount: number;
  batchCount: number;
  sideSum: number;
  startNs: number;
  endNs: number;
  lanes: { cpu: number; n: number; endNs: number; lod: { originNs: number; endNs: number; levels: { width: number; n: number }[] } | null }[];
  threads: [number, number, number][];
  sum: number;
}

export const previewPath = (sidePath: string): string => `${sidePath}.preview-v${PREVIEW_VERSION}.bin`;

/** The preview's lanes for the timeline: per lane its coarse LOD and the tid/comm table its domRun indexes. */
export interface SessionPreview {
  lod: SessionLod;
  /** Same lane, file, cpu and endNs as the session's; no runs; tid/comm: the dominant threads' table. */
  lanes: Lane[];
}

/** Writes the preview of a complete single-file session whose side file has checksum `sideSum` (best effort). */
export function writePreview(path: string, d: SessionData, lod: SessionLod, sideSum: number): boolean {
  if (d.files.length !== 1) return false;
  const b = d.batches[0]!;
  const parts: ArrayBufferView[] = [b.minTs, b.maxTs, b.cpuBits, b.tidBits];
  const lanes: PreviewHeader['lanes'] = [];
  d.lanes.forEach((L, li) => {
    const ll = lod.lanes[li] ?? null;
    const keep = ll ? ll.levels.filter((lv) => lv.n <= PREVIEW_BUCKETS) : [];
    lanes.push({ cpu: L.cpu, n: L.startNs.length, endNs: L.endNs, lod: ll && keep.length ? { originNs: ll.originNs, endNs: ll.endNs, levels: keep.map((lv) => ({ width: lv.width, n: lv.n })) } : null });
    if (!ll || !keep.length) return;
    const total = keep.reduce((a, lv) => a + lv.n, 0);
    const tid = new Int32Array(total);
    const comm = new Int32Array(total);
    let at = 0;
    for (const lv of keep) {
      const dom = new Int32Array(lv.n);
      for (let j = 0; j < lv.n; j++) {
        const r = lv.domRun[j]!;
        if (r < 0) dom[j] = -1;
        else {
          dom[j] = at + j;
          tid[at + j] = L.tid[r]!;
          comm[at + j] = L.comm[r]!;
        }
      }
      parts.push(lv.busy, lv.starts, lv.domNs, dom);
      at += lv.n;
    }
    parts.push(tid, comm);
  });
  const header: PreviewHeader = {
    version: PREVIEW_VERSION,
    kind: 'preview',
    rowCount: d.rowCount,
    batchCount: b.count,
    sideSum,
    startNs: d.startNs,
    endNs: d.endNs,
    lanes,
    threads: d.threads.map((t) => [t.tid, t.comm, t.events]),
    sum: wordSum(parts),
  };
  return writeHeaderAndArrays(path, header, parts);
}

/** Typed-array views, one after the other, of a side or preview file's body (each padded to 8 bytes). */
class ArrayReader {
  off = 0;
  /** Set when an array would run past the body: the file is refused. */
  bad = false;
  constructor(private readonly body: Uint8Array<ArrayBuffer>) {}
  readonly take = <T extends Float64Array | Float32Array | Int32Array | Uint32Array>(Ctor: { new (b: ArrayBuffer, o: number, n: number): T; BYTES_PER_ELEMENT: number }, n: number): T => {
    const bytes = n * Ctor.BYTES_PER_ELEMENT;
    if (!Number.isInteger(n) || n < 0 || this.off + bytes > this.body.length) {
      this.bad = true;
      return new Ctor(new ArrayBuffer(0), 0, 0);
    }
    const v = new Ctor(this.body.buffer, this.body.byteOffset + this.off, n);
    this.off += bytes + ((8 - (bytes % 8)) % 8);
    return v;
  };
}

/**
 * Write `[u32 json length, 4 zero bytes][json][pad to 8][each array, padded to 8]` to a temp file
 * and rename it over `path` (every array starts 8-aligned, so an f64 view of it works in place).
 * False when it could not be written (the caller goes on without the file).
 */
function writeHeaderAndArrays(path: string, header: object, parts: readonly ArrayBufferView[]): boolean {
  const json = Buffer.from(JSON.stringify(header));
  const tmp = `${path}.${process.pid}.tmp`;
  let fd = -1;
  try {
    fd = openSync(tmp, 'w');
    const len = Buffer.alloc(8);
    len.writeUInt32LE(json.length, 0);
    writeSync(fd, len);
    writeSync(fd, json);
    const pad = (8 - ((8 + json.length) % 8)) % 8;
    if (pad) writeSync(fd, Buffer.alloc(pad));
    const zeros = Buffer.alloc(8);
    for (const p of parts) {
      writeSync(fd, new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
      const padBytes = (8 - (p.byteLength % 8)) % 8;
      if (padBytes) writeSync(fd, zeros, 0, padBytes);
    }
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
    return true;
  } catch {
    if (fd >= 0) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* never created */
    }
    return false;
  }
}

/**
 * The session before its lanes are read (lanes listed, no runs, no migrations; batch summaries and
 * threads checked) with the preview for its first tiles, or null when the preview is absent, stale,
 * not of the side file with checksum `sideSum`, or damaged in any way (never throws).
 */
export function readPreview(path: string, tr: IndexedTrace, sideSum: number): { data: SessionData; preview: SessionPreview } | null {
  try {
    return readPreviewChecked(path, tr, sideSum);
  } catch {
    return null;
  }
}

function readPreviewChecked(path: string, tr: IndexedTrace, sideSum: number): { data: SessionData; preview: SessionPreview } | null {
  if (!existsSync(path)) return null;
  const buf = readWhole(path);
  if (!buf || buf.length < 8) return null;
  const jsonLen = new DataView(buf.buffer).getUint32(0, true);
  if (jsonLen > MAX_HEADER_BYTES || 8 + jsonLen > buf.length) return null;
  const h = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + jsonLen))) as PreviewHeader;
  if (!h || h.version !== PREVIEW_VERSION || h.kind !== 'preview' || h.sideSum !== sideSum || h.rowCount !== tr.rowCount || h.batchCount !== tr.batchCount) return null;
  if (!isNum(h.startNs) || !isNum(h.endNs) || !isNum(h.sum) || !Array.isArray(h.lanes) || !Array.isArray(h.threads)) return null;
  if (!h.threads.every((t) => Array.isArray(t) && t.length === 3 && t.every((x) => typeof x === 'number' && Number.isInteger(x)))) return null;
  const okLod = (l: PreviewHeader['lanes'][number]['lod']): boolean =>
    l === null || (typeof l === 'object' && isNum(l.originNs) && isNum(l.endNs) && Array.isArray(l.levels) && l.levels.every((v) => v && isCount(v.n) && v.n <= PREVIEW_BUCKETS && isNum(v.width) && v.width > 0));
  if (!h.lanes.every((l) => l && isCount(l.cpu) && l.cpu <= 0xffff && isCount(l.n) && isNum(l.endNs) && okLod(l.lod))) return null;
  const body = buf.subarray(8 + jsonLen + ((8 - ((8 + jsonLen) % 8)) % 8));
  const rd = new ArrayReader(body);
  const take = rd.take;
  const bc = h.batchCount;
  const arrays = { minTs: take(Float64Array, bc), maxTs: take(Float64Array, bc), cpuBits: take(Uint32Array, bc * 8), tidBits: take(Uint32Array, bc * 8) };
  if (rd.bad) return null;
  const sums = new BatchSummaries(bc, arrays);
  const parts: ArrayBufferView[] = [sums.minTs, sums.maxTs, sums.cpuBits, sums.tidBits];
  const lanes: Lane[] = [];
  const laneOf = new Map<number, number>();
  const pLanes: Lane[] = [];
  const pLod: (LaneLod | null)[] = [];
  const domChecks: [Int32Array, number][] = [];
  for (const l of h.lanes) {
    const lane = lanes.length;
    laneOf.set(l.cpu, lane);
    const none = { startNs: new Float64Array(0), tid: new Int32Array(0), comm: new Int32Array(0), endState: new Int32Array(0) };
    lanes.push({ lane, file: 0, cpu: l.cpu, ...none, endNs: l.endNs });
    if (!l.lod) {
      pLanes.push({ lane, file: 0, cpu: l.cpu, ...none, endNs: l.endNs });
      pLod.push(null);
      continue;
    }
    const levels: LodLevel[] = [];
    let total = 0;
    for (const v of l.lod.levels) {
      const lv: LodLevel = { width: v.width, n: v.n, busy: take(Float32Array, v.n), starts: take(Uint32Array, v.n), domNs: take(Float32Array, v.n), domRun: take(Int32Array, v.n) };
      parts.push(lv.busy, lv.starts, lv.domNs, lv.domRun);
      levels.push(lv);
      total += v.n;
    }
    const tid = take(Int32Array, total);
    const comm = take(Int32Array, total);
    if (rd.bad) return null;
    parts.push(tid, comm);
    for (const lv of levels) domChecks.push([lv.domRun, total]);
    pLanes.push({ lane, file: 0, cpu: l.cpu, startNs: none.startNs, tid, comm, endState: none.endState, endNs: l.endNs });
    pLod.push({ originNs: l.lod.originNs, endNs: l.lod.endNs, levels });
  }
  if (rd.bad || rd.off !== body.length) return null;
  if (wordSum(parts) !== h.sum) return null;
  for (const [dom, total] of domChecks) for (let j = 0; j < dom.length; j++) if (dom[j]! < -1 || dom[j]! >= total) return null;
  const migrations = { file: new Uint8Array(0), tsNs: new Float64Array(0), tid: new Int32Array(0), fromCpu: new Int32Array(0), toCpu: new Int32Array(0) };
  const data = sessionOf({ ...h, version: VERSION, batchCount: bc, lanes: [], migrations: 0 } as Header, tr, sums, lanes, laneOf, migrations);
  const preview: SessionPreview = { lod: { lanes: pLod }, lanes: pLanes };
  data.preview = preview;
  return { data, preview };
}
