// plan() and readUnit() for trace.dat: headers -> compiled events + one or more units per CPU
// of every buffer (instance), each unit a run of whole pages (or whole compressed chunks) in time
// order; the index merges units by time. Also describeRecord() (a record's fields as text).

import type { ByteSource } from '../../engine/io/byte-source.ts';
import type { CancelSignal, DiagnosticSink, EventSink, FormatInfo, ReadOptions, ReadPlan, ReadUnit } from '../types.ts';
import { cstringAt, readU64 } from './bytes.ts';
import { compileEvents, type CompiledEvents } from './compile.ts';
import { decompressExact } from './decompress.ts';
import { FieldKind, type EventFormat } from './event-format.ts';
import { clockFromTraceClock, readHeader, type TraceDatHeader } from './header.ts';
import { PageDecoder } from './pages.ts';
import type { TimeConversion } from './time.ts';
import { convertTs } from './time.ts';

export interface UnitSpec {
  buffer: number;
  cpu: number;
  compressed: boolean;
  /** uncompressed: file byte range (whole pages); compressed: chunk index range */
  first: number;
  last: number;
}

export interface TraceDatShared {
  header: TraceDatHeader;
  compiled: CompiledEvents;
  units: UnitSpec[];
  time: TimeConversion;
  /** more than one buffer: rows carry the buffer index in the input column (sink.setInput) */
  multiInput: boolean;
}

/** Default unit size: large enough to amortise per-unit setup, small enough to spread over workers. */
export const DEFAULT_UNIT_BYTES = 8 * 1024 * 1024;
/**
 * The first units of each CPU ramp up to the unit size: 1/8, 1/4, 1/2 of it, then whole. The
 * indexer starts units in time order and emits rows once every CPU has read past them, so small
 * first units give the first rows (the app's first screen) after a fraction of the work: on the
 * real 1.1M-event trace.dat, 1 MiB units gave the first 16384-row batch after ~38K events parsed.
 * It adds three units per CPU; the rows are the same for any split (reader tests).
 */
const RAMP_UNITS = 3;
const MIN_UNIT_BYTES = 64 * 1024;
function unitBudget(unitBytes: number, part: number): number {
  return part >= RAMP_UNITS ? unitBytes : Math.max(MIN_UNIT_BYTES, Math.floor(unitBytes / 2 ** (RAMP_UNITS - part)));
}
/** Uncompressed data is read in blocks of this many bytes (whole pages). */
const READ_BLOCK_BYTES = 1024 * 1024;

export function planTraceDat(src: ByteSource, diag: DiagnosticSink, opts: ReadOptions): ReadPlan<TraceDatShared> {
  const h = readHeader(src, diag);
  const compiled = compileEvents(h.formats);
  const unitBytes = Math.max(MIN_UNIT_BYTES, opts.unitBytes ?? DEFAULT_UNIT_BYTES);
  const units: UnitSpec[] = [];
  const readUnits: ReadUnit[] = [];
  const multi = h.buffers.length > 1;
  h.buffers.forEach((b, bi) => {
    const prefix = multi ? `${b.name || 'top'}/` : '';
    for (const cd of b.cpus) {
      if (cd.sizeBytes <= 0) continue;
      if (!b.compressed) {
        // Whole pages per unit; a trailing partial page is read (and reported) by the last unit.
        const end = cd.offsetBytes + cd.sizeBytes;
        let part = 0;
        for (let s = cd.offsetBytes, step = 0; s < end; s += step, part++) {
          step = Math.max(1, Math.floor(unitBudget(unitBytes, part) / b.pageSize)) * b.pageSize;
          const e = Math.min(end, s + step);
          units.push({ buffer: bi, cpu: cd.cpu, compressed: false, first: s, last: e });
          readUnits.push({ start: s, end: e, label: `${prefix}cpu ${cd.cpu}${part || e < end ? ` part ${part + 1}` : ''}` });
        }
      } else {
        const t = h.chunks;
        let i = cd.chunkFirst;
        const stop = cd.chunkFirst + cd.chunkCount;
        let part = 0;
        while (i < stop) {
          const first = i;
          let bytes = 0;
          const budget = unitBudget(unitBytes, part);
          while (i < stop && (i === first || bytes + t.uncompBytes[i]! <= budget)) bytes += t.uncompBytes[i++]!;
          units.push({ buffer: bi, cpu: cd.cpu, compressed: true, first, last: i });
          const fs = t.fileOffset[first]!;
          const fe = t.fileOffset[i - 1]! + 8 + t.compBytes[i - 1]!;
          readUnits.push({ start: fs, end: fe, label: `${prefix}cpu ${cd.cpu}${part || i < stop ? ` part ${part + 1}` : ''}` });
          part++;
        }
      }
    }
  });
  const time: TimeConversion = { offsetNs: h.offsetNs ?? 0 };
  if (h.timeShift && h.timeShift.cpus.length > 0) time.timeShift = h.timeShift;
  if (h.tsc2nsec && h.tsc2nsec.mult > 0) time.tsc2nsec = { mult: h.tsc2nsec.mult, shift: h.tsc2nsec.shift };
  const shared: TraceDatShared = { header: h, compiled, units, time, multiInput: multi };
  setMinTs(src, h, units, readUnits, time);
  return { units: readUnits, shared, info: buildInfo(h, src), order: 'merge-by-time' };
}

/**
 * Each unit's lower time bound for the merge (ReadUnit.minTsNs): the time stamp of its first page
 * header, which every event of a page adds its delta to (kernel ring_buffer.c; PageDecoder.page).
 * With a bound on every unit the indexer starts units in time order and emits while later units are
 * still unread, instead of holding every CPU's earlier units until the last CPU's first one came.
 * A compressed unit's first chunk is decompressed once more here (one chunk of each 8 MiB unit).
 * Left out when TIME_SHIFT applies (its per-CPU piecewise correction need not be monotonic) or when
 * a first page cannot be read: a missing bound is safe, a wrong one breaks the time order.
 */
function setMinTs(src: ByteSource, h: TraceDatHeader, units: UnitSpec[], readUnits: ReadUnit[], time: TimeConversion): void {
  if (time.timeShift) return;
  const head = new Uint8Array(8);
  const headView = new DataView(head.buffer);
  let comp = new Uint8Array(0);
  for (let u = 0; u < units.length; u++) {
    const spec = units[u]!;
    let raw: number;
    if (!spec.compressed) {
      if (spec.last - spec.first < 8 || src.readInto(head, 0, 8, spec.first) < 8) continue;
      raw = readU64(headView, 0, h.littleEndian);
    } else {
      const t = h.chunks;
      const i = spec.first;
      const cb = t.compBytes[i]!;
      const ub = t.uncompBytes[i]!;
      if (ub < 8) continue;
      if (comp.length < cb) comp = new Uint8Array(cb);
      if (src.readInto(comp, 0, cb, t.fileOffset[i]! + 8) < cb) continue;
      let data: Uint8Array;
      try {
        data = decompressExact(h.codec, comp.subarray(0, cb), ub);
      } catch {
        continue; // the unit reports it when it reads the chunk
      }
      raw = readU64(new DataView(data.buffer, data.byteOffset, data.byteLength), 0, h.littleEndian);
    }
    readUnits[u]!.minTsNs = convertTs(raw, spec.cpu, time);
  }
}

function buildInfo(h: TraceDatHeader, src: ByteSource): FormatInfo {
  const top = h.buffers[0];
  const clock = (top?.clock || clockFromTraceClock(h.traceClock)) || undefined;
  const info: FormatInfo = {
    format: `trace.dat v${h.version}`,
    compression: h.version === 7 ? (h.codec === 'none' ? 'none' : `${h.compressionName} ${h.compressionVersion}`.trim()) : 'none',
    entity: 'tid',
    layerHint: h.guests.length > 0 ? 'host' : h.timeShift ? 'guest' : 'unknown',
  };
  if (clock) info.clock = clock;
  info.extra = {
    fileVersion: h.version,
    endian: h.littleEndian ? 'little' : 'big',
    longSize: h.longSize,
    pageSize: h.pageSize,
    compression: { name: h.compressionName, version: h.compressionVersion },
    cpus: h.cpuCountHeader,
    ...(h.cpuCount !== undefined ? { cpuCount: h.cpuCount } : {}),
    ...(h.traceClock !== undefined ? { traceClock: h.traceClock } : {}),
    ...(h.uname !== undefined ? { uname: h.uname } : {}),
    ...(h.traceCmdVersion !== undefined ? { traceCmdVersion: h.traceCmdVersion } : {}),
    ...(h.traceId !== undefined ? { traceId: h.traceId } : {}),
    ...(h.date !== undefined ? { date: h.date } : {}),
    ...(h.offsetNs !== undefined ? { offsetNs: h.offsetNs } : {}),
    ...(h.tsc2nsec ? { tsc2nsec: { ...h.tsc2nsec, applied: true } } : {}),
    ...(h.timeShift ? { timeShift: { ...h.timeShift, applied: true } } : {}),
    guests: h.guests,
    buffers: h.buffers.map((b, i) => ({
      name: b.name,
      input: i,
      clock: b.clock,
      pageSize: b.pageSize,
      compressed: b.compressed,
      cpus: b.cpus.map((c) => ({ cpu: c.cpu, offsetBytes: c.offsetBytes, sizeBytes: c.sizeBytes, ...(b.compressed ? { chunks: c.chunkCount } : {}) })),
    })),
    ...(h.latencyBuffers.length ? { latencyBuffersNotRead: h.latencyBuffers } : {}),
    eventFormats: h.formats.length,
    pageHeader: { commitOffset: h.commitOffset, commitSize: h.commitSize, dataOffset: h.dataOffset },
    offsets: h.codec === 'none' || h.buffers.every((b) => !b.compressed) ? 'file' : `file below ${src.sizeBytes}; virtual (fileSize + position in the decompressed CPU data) from ${src.sizeBytes}`,
  };
  return info;
}

export function readTraceDatUnit(
  src: ByteSource,
  plan: ReadPlan<TraceDatShared>,
  unitIndex: number,
  sink: EventSink,
  diag: DiagnosticSink,
  signal: CancelSignal,
  progress?: (bytesDone: number) => void,
): void {
  const sh = plan.shared;
  const spec = sh.units[unitIndex];
  if (!spec) throw new RangeError(`unit ${unitIndex} out of range`);
  const buf = sh.header.buffers[spec.buffer]!;
  if (sh.multiInput) sink.setInput(spec.buffer, buf.name || 'top');
  const dec = new PageDecoder(sh, sink, diag, spec.cpu);
  const pageSize = buf.pageSize;
  if (!spec.compressed) {
    const blockLen = Math.max(pageSize, Math.floor(READ_BLOCK_BYTES / pageSize) * pageSize);
    const block = new Uint8Array(Math.min(blockLen, spec.last - spec.first));
    const view = new DataView(block.buffer);
    for (let pos = spec.first; pos < spec.last; pos += blockLen) {
      if (signal.cancelled) return;
      const want = Math.min(blockLen, spec.last - pos);
      const got = src.readInto(block, 0, want, pos);
      for (let p = 0; p < got; p += pageSize) dec.page(block, view, p, Math.min(pageSize, got - p), pos);
      if (got < want) {
        diag.error(pos + got, `cpu ${spec.cpu}: file ends inside the CPU data (truncated)`);
        return;
      }
      progress?.(pos + got - spec.first);
    }
    return;
  }
  const t = sh.header.chunks;
  let comp = new Uint8Array(0);
  let out = new Uint8Array(0);
  for (let i = spec.first; i < spec.last; i++) {
    if (signal.cancelled) return;
    const cb = t.compBytes[i]!;
    const ub = t.uncompBytes[i]!;
    if (comp.length < cb) comp = new Uint8Array(Math.max(cb, comp.length * 2));
    if (out.length < ub) out = new Uint8Array(Math.max(ub, out.length * 2));
    const got = src.readInto(comp, 0, cb, t.fileOffset[i]! + 8);
    if (got < cb) {
      diag.error(t.fileOffset[i]!, `cpu ${spec.cpu}: compressed chunk ${i - spec.first} is cut off by the end of the file`);
      return;
    }
    let data: Uint8Array;
    try {
      data = decompressExact(sh.header.codec, comp.subarray(0, cb), ub, { out });
    } catch (e) {
      diag.error(t.fileOffset[i]!, `cpu ${spec.cpu}: compressed chunk at offset ${t.fileOffset[i]} failed to decompress (${(e as Error).message}); its ${ub} bytes of events are skipped`);
      continue;
    }
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const base = t.virtStart[i]!;
    for (let p = 0; p < ub; p += pageSize) dec.page(data, view, p, Math.min(pageSize, ub - p), base);
    progress?.(t.fileOffset[i]! + 8 + cb - (t.fileOffset[spec.first] ?? 0));
  }
}

// ---- describeRecord -----------------------------------------------------------------------------

/** Locate the page holding `offsetBytes`; returns the page bytes and where the record header is. */
function pageAt(src: ByteSource, sh: TraceDatShared, offsetBytes: number): { bytes: Uint8Array; pageStart: number; pageLen: number; target: number; cpu: number } | undefined {
  const h = sh.header;
  if (offsetBytes < src.sizeBytes) {
    for (const b of h.buffers) {
      if (b.compressed) continue;
      for (const cd of b.cpus) {
        if (offsetBytes < cd.offsetBytes || offsetBytes >= cd.offsetBytes + cd.sizeBytes) continue;
        const pageStart = cd.offsetBytes + Math.floor((offsetBytes - cd.offsetBytes) / b.pageSize) * b.pageSize;
        const len = Math.min(b.pageSize, cd.offsetBytes + cd.sizeBytes - pageStart);
        const bytes = new Uint8Array(len);
        src.readInto(bytes, 0, len, pageStart);
        return { bytes, pageStart: 0, pageLen: len, target: offsetBytes - pageStart, cpu: cd.cpu };
      }
    }
    return undefined;
  }
  const t = h.chunks;
  // Chunks are appended in virtual order: binary search.
  let lo = 0;
  let hi = t.virtStart.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (t.virtStart[mid]! <= offsetBytes) lo = mid;
    else hi = mid - 1;
  }
  if (lo >= t.virtStart.length || offsetBytes < t.virtStart[lo]! || offsetBytes >= t.virtStart[lo]! + t.uncompBytes[lo]!) return undefined;
  let cpu = 0;
  let pageSize = h.pageSize;
  for (const b of h.buffers) for (const cd of b.cpus) if (lo >= cd.chunkFirst && lo < cd.chunkFirst + cd.chunkCount) { cpu = cd.cpu; pageSize = b.pageSize; }
  const comp = new Uint8Array(t.compBytes[lo]!);
  src.readInto(comp, 0, comp.length, t.fileOffset[lo]! + 8);
  const data = decompressExact(h.codec, comp, t.uncompBytes[lo]!);
  const rel = offsetBytes - t.virtStart[lo]!;
  const pageStart = Math.floor(rel / pageSize) * pageSize;
  return { bytes: data, pageStart, pageLen: Math.min(pageSize, data.length - pageStart), target: rel, cpu };
}

export function describeTraceDatRecord(src: ByteSource, plan: ReadPlan<TraceDatShared>, offsetBytes: number): string {
  try {
    return describeUnchecked(src, plan, offsetBytes);
  } catch (e) {
    // A corrupt page or chunk: say so instead of failing the details pane.
    return `could not decode the record at offset ${offsetBytes}: ${(e as Error).message}`;
  }
}

function describeUnchecked(src: ByteSource, plan: ReadPlan<TraceDatShared>, offsetBytes: number): string {
  const sh = plan.shared;
  const h = sh.header;
  const loc = pageAt(src, sh, offsetBytes);
  if (!loc) return `no trace.dat record at offset ${offsetBytes}`;
  const { bytes, pageStart, pageLen, target } = loc;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = h.littleEndian;
  // Walk the page with the same rules as the reader until the record at `target`.
  let ts = readU64(view, pageStart, le);
  const commitLo = h.commitSize === 8 && !le ? view.getUint32(pageStart + h.commitOffset + 4, false) : view.getUint32(pageStart + h.commitOffset, le);
  const end = Math.min(pageStart + pageLen, pageStart + h.dataOffset + (commitLo & 0x7ffffff));
  let p = pageStart + h.dataOffset;
  while (p + 4 <= end && p <= target) {
    const word = view.getUint32(p, le);
    const typeLen = le ? word & 31 : word >>> 27;
    const delta = le ? word >>> 5 : word & 0x7ffffff;
    if (typeLen >= 29) {
      if (p + 8 > end) break;
      const ext = view.getUint32(p + 4, le);
      if (typeLen === 29) {
        ts += delta;
        if (ext === 0) break;
        p += 4 + ext;
      } else if (typeLen === 30) {
        ts += ext * 134217728 + delta;
        p += 8;
      } else {
        ts = ext * 134217728 + delta;
        p += 8;
      }
      continue;
    }
    if (typeLen === 0 && p + 8 > end) break;
    const len = typeLen === 0 ? Math.floor((view.getUint32(p + 4, le) - 1) / 4) * 4 : typeLen * 4;
    const data = typeLen === 0 ? p + 8 : p + 4;
    ts += delta;
    if (p === target) {
      if (data + len > end) return `record at offset ${offsetBytes} is cut off (corrupt page)`;
      const tsNs = convertTs(ts, loc.cpu, sh.time);
      const c = sh.compiled;
      const type = c.typeSize === 2 ? view.getUint16(data + c.typeOffset, le) : view.getUint32(data + c.typeOffset, le);
      const fmt = h.formats.find((f) => f.id === type);
      if (!fmt) return `[cpu ${loc.cpu}] ${tsNs} ns: event id ${type} (no format in this trace), ${len} bytes`;
      return formatRecord(fmt, bytes, view, data, len, le);
    }
    if (len < 0) break;
    p = data + len;
  }
  return `no record starts at offset ${offsetBytes}`;
}

/** `name: field=value ...` over the non-common fields, like `trace-cmd report -R`. */
export function formatRecord(fmt: EventFormat, bytes: Uint8Array, view: DataView, data: number, len: number, le: boolean): string {
  const parts: string[] = [];
  for (const f of fmt.fields) {
    if (f.name.startsWith('common_')) continue;
    if (f.offset + f.size > len) {
      parts.push(`${f.name}=<cut off>`);
      continue;
    }
    const at = data + f.offset;
    let v: string;
    switch (f.kind) {
      case FieldKind.chars:
        v = cstringAt(bytes, at, at + f.size);
        break;
      case FieldKind.dataLoc:
      case FieldKind.relLoc: {
        const w = view.getUint32(at, le);
        const s = data + (w & 0xffff) + (f.kind === FieldKind.relLoc ? f.offset + f.size : 0);
        const e = Math.min(data + len, s + (w >>> 16));
        v = f.charElem ? cstringAt(bytes, s, e) : `ARRAY[${Array.from(bytes.subarray(s, e), (b) => b.toString(16).padStart(2, '0')).join(', ')}]`;
        break;
      }
      case FieldKind.array:
        v = `ARRAY[${Array.from(bytes.subarray(at, at + Math.min(f.size, 64)), (b) => b.toString(16).padStart(2, '0')).join(', ')}]`;
        break;
      default: {
        if (f.size === 8) {
          const big = f.signed ? view.getBigInt64(at, le) : view.getBigUint64(at, le);
          v = f.pointer ? `0x${BigInt.asUintN(64, big).toString(16)}` : big.toString();
        } else {
          const n = f.size === 4 ? (f.signed ? view.getInt32(at, le) : view.getUint32(at, le))
            : f.size === 2 ? (f.signed ? view.getInt16(at, le) : view.getUint16(at, le))
            : f.size === 1 ? (f.signed ? view.getInt8(at) : view.getUint8(at)) : NaN;
          v = Number.isNaN(n) ? `<size ${f.size}>` : f.pointer ? `0x${(n >>> 0).toString(16)}` : String(n);
        }
      }
    }
    parts.push(`${f.name}=${v}`);
  }
  return `${fmt.name}: ${parts.join(' ')}`;
}
