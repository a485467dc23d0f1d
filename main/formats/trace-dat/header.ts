// Reads a trace.dat's metadata (v6 sequential layout, v7 sections + options chain) into a
// structured-cloneable TraceDatShared: page layout, event formats, cmdlines, buffers with their
// per-CPU data (and chunk tables when compressed), and the host/guest options.
// Sources of truth: trace-cmd Documentation/trace-cmd/trace-cmd.dat.v6.5.txt and .v7.5.txt, and
// trace-cmd lib/trace-cmd/trace-input.c for what the documents leave out (the BUFFER option's page
// size field, TIME_SHIFT's trailing fraction bits, the 8-byte section size).

import type { ByteSource } from '../../engine/io/byte-source.ts';
import { TraceFormatError, type DiagnosticSink } from '../types.ts';
import { Cursor } from './bytes.ts';
import { codecFromName, decompressExact, MAX_DECOMPRESSED_BYTES, type Codec } from './decompress.ts';
import { parseEventFormat, parseFieldLine, type EventFormat } from './event-format.ts';

export const MAGIC = [0x17, 0x08, 0x44, 0x74, 0x72, 0x61, 0x63, 0x69, 0x6e, 0x67]; // \x17\x08D "tracing"

/** Bound on any metadata block we read into memory (formats, cmdlines, options). */
const MAX_META_BYTES = 256 * 1024 * 1024;
/** Bounds on counts read from the file, checked before any loop or allocation. */
const MAX_CPUS = 8192;
const MAX_EVENT_FILES = 100_000;
const MAX_SECTIONS = 10_000;

export const Option = {
  DONE: 0, DATE: 1, CPUSTAT: 2, BUFFER: 3, TRACECLOCK: 4, UNAME: 5, HOOK: 6, OFFSET: 7, CPUCOUNT: 8,
  VERSION: 9, PROCMAPS: 10, TRACEID: 11, TIME_SHIFT: 12, GUEST: 13, TSC2NSEC: 14,
  HEADER_INFO: 16, FTRACE_EVENTS: 17, EVENT_FORMATS: 18, KALLSYMS: 19, PRINTK: 20, CMDLINES: 21,
  BUFFER_TEXT: 22,
} as const;

export interface CpuData {
  cpu: number;
  /** file offset and size of this CPU's data as stored (compressed: the chunk list) */
  offsetBytes: number;
  sizeBytes: number;
  /** compressed: chunks [chunkFirst, chunkFirst + chunkCount) of TraceDatShared.chunks */
  chunkFirst: number;
  chunkCount: number;
}

export interface BufferInfo {
  /** '' = the top-level buffer */
  name: string;
  clock: string;
  pageSize: number;
  compressed: boolean;
  cpus: CpuData[];
}

/** Compressed per-CPU data, all buffers and CPUs in one table (parallel arrays). */
export interface ChunkTable {
  /** file offset of the chunk's 8-byte header */
  fileOffset: number[];
  compBytes: number[];
  uncompBytes: number[];
  /** start of this chunk in the virtual offset space (see README: offsets of compressed records) */
  virtStart: number[];
}

export interface TimeShift {
  peerTraceId: string;
  flags: number;
  interpolate: boolean;
  /** per guest CPU, samples sorted by time, equal times dropped (as trace-cmd does) */
  cpus: { times: number[]; offsets: number[]; scalings: number[]; fractions: number[] }[];
}

export interface Guest {
  name: string;
  traceId: string;
  vcpus: { vcpu: number; hostPid: number }[];
}

export interface TraceDatHeader {
  version: number;
  littleEndian: boolean;
  longSize: number;
  pageSize: number;
  codec: Codec;
  compressionName: string;
  compressionVersion: string;
  /** header_page: where the commit word and the data start in a page */
  commitOffset: number;
  commitSize: number;
  dataOffset: number;
  formats: EventFormat[];
  /** pid -> comm from saved cmdlines */
  cmdlinePids: number[];
  cmdlineComms: string[];
  cpuCountHeader: number;
  buffers: BufferInfo[];
  chunks: ChunkTable;
  /** options, JSON-safe */
  traceClock?: string;
  uname?: string;
  traceCmdVersion?: string;
  traceId?: string;
  cpuCount?: number;
  date?: string;
  offsetNs?: number;
  tsc2nsec?: { mult: number; shift: number; offset: string };
  timeShift?: TimeShift;
  guests: Guest[];
  optionIds: number[];
  latencyBuffers: string[];
}

function readCopy(src: ByteSource, offset: number, length: number, what: string): Uint8Array {
  if (!Number.isFinite(offset) || offset < 0 || length < 0 || offset + length > src.sizeBytes) {
    throw new TraceFormatError(`truncated: ${what} needs ${length} bytes at offset ${offset}, file has ${src.sizeBytes}`, Math.min(offset, src.sizeBytes));
  }
  if (length > MAX_META_BYTES) throw new TraceFormatError(`${what}: size ${length} exceeds the ${MAX_META_BYTES}-byte limit`, offset);
  const buf = new Uint8Array(length);
  src.readInto(buf, 0, length, offset);
  return buf;
}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Read the file's metadata. Throws TraceFormatError when nothing can be read. */
export function readHeader(src: ByteSource, diag: DiagnosticSink): TraceDatHeader {
  const head = src.readBorrow(0, 64).slice();
  if (head.length < 10 || MAGIC.some((b, i) => head[i] !== b)) {
    throw new TraceFormatError('not a trace-cmd trace.dat file: bad magic (expected \\x17\\x08Dtracing)', 0);
  }
  let p = 10;
  while (p < head.length && head[p] !== 0) p++;
  if (p >= head.length) throw new TraceFormatError('truncated or corrupt header: no version string', 10);
  const versionText = latin1.decode(head.subarray(10, p));
  const version = Number(versionText);
  if (version !== 6 && version !== 7) {
    throw new TraceFormatError(`unsupported trace.dat version "${versionText}" (this reader supports 6 and 7)`, 10);
  }
  p++;
  if (p + 6 > head.length) throw new TraceFormatError('truncated header: endianness/long size/page size missing', p);
  const endian = head[p]!;
  const longSize = head[p + 1]!;
  if (endian > 1) throw new TraceFormatError(`corrupt header: endianness byte ${endian} (expected 0 or 1)`, p);
  if (longSize !== 4 && longSize !== 8) throw new TraceFormatError(`corrupt header: long size ${longSize} (expected 4 or 8)`, p + 1);
  const le = endian === 0;
  const hv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const pageSize = hv.getUint32(p + 2, le);
  if (pageSize < 64 || pageSize > 16 * 1024 * 1024 || (pageSize & (pageSize - 1)) !== 0) {
    throw new TraceFormatError(`corrupt header: page size ${pageSize}`, p + 2);
  }
  p += 6;
  const h: TraceDatHeader = {
    version, littleEndian: le, longSize, pageSize, codec: 'none', compressionName: 'none', compressionVersion: '',
    commitOffset: 8, commitSize: 8, dataOffset: 16, formats: [], cmdlinePids: [], cmdlineComms: [],
    cpuCountHeader: 0, buffers: [], chunks: { fileOffset: [], compBytes: [], uncompBytes: [], virtStart: [] },
    guests: [], optionIds: [], latencyBuffers: [],
  };
  if (version === 6) readV6(src, diag, h, p);
  else readV7(src, diag, h, p);
  return h;
}

// ---- shared pieces ----------------------------------------------------------------------------

function parseHeaderPage(h: TraceDatHeader, text: string): void {
  for (const line of text.split('\n')) {
    const f = parseFieldLine(line.trim());
    if (!f) continue;
    if (f.name === 'commit') {
      h.commitOffset = f.offset;
      h.commitSize = f.size;
    } else if (f.name === 'data') h.dataOffset = f.offset;
  }
  if (h.commitSize !== 4 && h.commitSize !== 8) h.commitSize = h.longSize;
  if (h.dataOffset < h.commitOffset + h.commitSize || h.dataOffset >= h.pageSize) h.dataOffset = h.commitOffset + h.commitSize;
}

/** "header_page\0" size8 data "header_event\0" size8 data */
function readHeaders(c: Cursor, h: TraceDatHeader): void {
  const tag = c.cstring('header_page tag', 32);
  if (tag !== 'header_page') c.fail(`expected "header_page", found "${tag}"`);
  const n = c.u64('header_page size');
  c.need(n, 'header_page');
  parseHeaderPage(h, c.text(n, 'header_page'));
  const tag2 = c.cstring('header_event tag', 32);
  if (tag2 !== 'header_event') c.fail(`expected "header_event", found "${tag2}"`);
  c.skip(c.u64('header_event size'), 'header_event');
}

function addFormat(h: TraceDatHeader, diag: DiagnosticSink, text: string, system: string, at: number): void {
  const ev = parseEventFormat(text, system);
  if (!ev) {
    diag.warning(at, `event format file in system "${system}" has no name or ID; its events will show as unknown`);
    return;
  }
  h.formats.push(ev);
}

function readFtraceFormats(c: Cursor, h: TraceDatHeader, diag: DiagnosticSink): void {
  const count = c.u32('ftrace format count');
  if (count > MAX_EVENT_FILES) c.fail(`ftrace format count ${count} is implausible`);
  for (let i = 0; i < count; i++) {
    const at = c.fileOffset;
    const n = c.u64('ftrace format size');
    addFormat(h, diag, c.text(n, 'ftrace format'), 'ftrace', at);
  }
}

function readEventFormats(c: Cursor, h: TraceDatHeader, diag: DiagnosticSink): void {
  const systems = c.u32('event system count');
  if (systems > MAX_EVENT_FILES) c.fail(`event system count ${systems} is implausible`);
  for (let s = 0; s < systems; s++) {
    const system = c.cstring('event system name', 1024);
    const count = c.u32('event count');
    if (count > MAX_EVENT_FILES) c.fail(`event count ${count} in system "${system}" is implausible`);
    for (let i = 0; i < count; i++) {
      const at = c.fileOffset;
      const n = c.u64('event format size');
      addFormat(h, diag, c.text(n, 'event format'), system, at);
    }
  }
}

function parseCmdlines(h: TraceDatHeader, bytes: Uint8Array): void {
  const text = utf8.decode(bytes);
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    h.cmdlinePids.push(Number(m[1]));
    h.cmdlineComms.push(m[2]!.replace(/\0+$/, ''));
  }
}

function hex64(v: bigint): string {
  return '0x' + v.toString(16).toUpperCase().padStart(16, '0');
}

/** One option's payload (both versions). Returns false for DONE (handled by the caller). */
function handleOption(h: TraceDatHeader, diag: DiagnosticSink, id: number, data: Cursor, src: ByteSource, sectionData: Map<number, number>): void {
  h.optionIds.push(id);
  const str = (): string => latin1.decode(data.bytes).replace(/\0[\s\S]*$/, '');
  try {
    switch (id) {
      case Option.DATE: h.date = str(); break;
      case Option.OFFSET: {
        const v = Number(str());
        if (Number.isFinite(v)) h.offsetNs = (h.offsetNs ?? 0) + v;
        break;
      }
      case Option.TRACECLOCK: h.traceClock = str().trim(); break;
      case Option.UNAME: h.uname = str(); break;
      case Option.VERSION: h.traceCmdVersion = str(); break;
      case Option.CPUCOUNT: h.cpuCount = data.u32('CPUCOUNT'); break;
      case Option.TRACEID: h.traceId = hex64(data.u64Big('TRACEID')); break;
      case Option.TSC2NSEC: {
        const mult = data.u32('TSC2NSEC mult');
        const shift = data.u32('TSC2NSEC shift');
        const offset = data.u64Big('TSC2NSEC offset');
        if (shift > 32) data.fail(`TSC2NSEC shift ${shift} > 32`);
        h.tsc2nsec = { mult, shift, offset: offset.toString() };
        break;
      }
      case Option.TIME_SHIFT: h.timeShift = parseTimeShift(data); break;
      case Option.GUEST: h.guests.push(parseGuest(data)); break;
      case Option.BUFFER:
      case Option.BUFFER_TEXT:
        readBufferOption(h, diag, id, data, src);
        break;
      case Option.HEADER_INFO:
      case Option.FTRACE_EVENTS:
      case Option.EVENT_FORMATS:
      case Option.KALLSYMS:
      case Option.PRINTK:
      case Option.CMDLINES:
        sectionData.set(id, data.u64('section offset'));
        break;
      default:
        break; // CPUSTAT, HOOK, PROCMAPS and unknown ids: not needed for reading
    }
  } catch (e) {
    if (!(e instanceof TraceFormatError)) throw e;
    diag.warning(e.offsetBytes, `option ${id} ignored: ${e.message}`);
  }
}

function parseTimeShift(c: Cursor): TimeShift {
  const peer = c.u64Big('TIME_SHIFT peer id');
  const flags = c.u32('TIME_SHIFT flags');
  const cpuCount = c.u32('TIME_SHIFT cpu count');
  if (cpuCount > MAX_CPUS) c.fail(`TIME_SHIFT cpu count ${cpuCount} is implausible`);
  const cpus: TimeShift['cpus'] = [];
  const counts: number[] = [];
  for (let i = 0; i < cpuCount; i++) {
    const n = c.u32('TIME_SHIFT sample count');
    c.need(n * 24, 'TIME_SHIFT samples');
    const times: number[] = [];
    const offsets: number[] = [];
    const scalings: number[] = [];
    for (let k = 0; k < n; k++) times.push(c.u64('time'));
    for (let k = 0; k < n; k++) offsets.push(Number(c.i64Big('offset')));
    for (let k = 0; k < n; k++) scalings.push(Number(c.i64Big('scaling')));
    cpus.push({ times, offsets, scalings, fractions: new Array<number>(n).fill(0) });
    counts.push(n);
  }
  // Fraction bits follow for all CPUs when present (trace-cmd >= 2.9.2 writes them).
  if (c.remaining > 0) {
    for (let i = 0; i < cpuCount; i++) {
      const cpu = cpus[i]!;
      for (let k = 0; k < counts[i]!; k++) cpu.fractions[k] = Number(c.i64Big('fraction'));
    }
  }
  for (const cpu of cpus) {
    // Sort by time and drop samples with equal times, as trace-cmd's tsync_cpu_offsets_load does.
    const idx = cpu.times.map((_, i) => i).sort((a, b) => cpu.times[a]! - cpu.times[b]!);
    const t: number[] = [], o: number[] = [], s: number[] = [], f: number[] = [];
    for (const i of idx) {
      if (t.length > 0 && t[t.length - 1] === cpu.times[i]) continue;
      t.push(cpu.times[i]!); o.push(cpu.offsets[i]!); s.push(cpu.scalings[i]!); f.push(cpu.fractions[i]!);
    }
    cpu.times = t; cpu.offsets = o; cpu.scalings = s; cpu.fractions = f;
  }
  return { peerTraceId: hex64(peer), flags, interpolate: (flags & 1) !== 0, cpus };
}

function parseGuest(c: Cursor): Guest {
  const name = c.cstring('GUEST name', 4096);
  const traceId = hex64(c.u64Big('GUEST trace id'));
  const n = c.u32('GUEST vcpu count');
  if (n > MAX_CPUS) c.fail(`GUEST vcpu count ${n} is implausible`);
  c.need(n * 8, 'GUEST vcpus');
  const vcpus: Guest['vcpus'] = [];
  for (let i = 0; i < n; i++) vcpus.push({ vcpu: c.u32('vcpu'), hostPid: c.u32('host pid') });
  return { name, traceId, vcpus };
}

// BUFFER (v6): offset8 name. BUFFER (v7): offset8 name clock pagesize4 cpus4 {cpu4 offset8 size8}.
// BUFFER_TEXT (v7): offset8 name clock (latency text, not read).
function readBufferOption(h: TraceDatHeader, diag: DiagnosticSink, id: number, c: Cursor, src: ByteSource): void {
  const offset = c.u64('buffer offset');
  const name = c.cstring('buffer name', 4096);
  if (h.version === 6) {
    // v6 instance: at `offset`, "flyrecord\0" then (offset8, size8) per CPU of the file's CPU count.
    const buf: BufferInfo = { name, clock: '', pageSize: h.pageSize, compressed: false, cpus: [] };
    const at = offset;
    const tag = readCopy(src, at, 10, `buffer "${name}" tag`);
    if (latin1.decode(tag) !== 'flyrecord\0') {
      diag.warning(at, `buffer "${name}": no flyrecord data at offset ${at}; instance skipped`);
      return;
    }
    readFlyrecordCpus(h, buf, src, at + 10, h.cpuCountHeader);
    h.buffers.push(buf);
    return;
  }
  const clock = c.cstring('buffer clock', 4096);
  if (id === Option.BUFFER_TEXT) {
    h.latencyBuffers.push(name);
    diag.warning(c.fileOffset, `buffer "${name}" holds latency-tracer text, which this reader does not read`);
    return;
  }
  const pageSize = c.u32('buffer page size');
  const cpus = c.u32('buffer cpu count');
  if (cpus > MAX_CPUS) c.fail(`buffer "${name}": cpu count ${cpus} is implausible`);
  if (pageSize !== h.pageSize) diag.warning(c.fileOffset, `buffer "${name}": page size ${pageSize} differs from the file's ${h.pageSize}; using the buffer's`);
  if (pageSize < 64 || pageSize > 16 * 1024 * 1024 || (pageSize & (pageSize - 1)) !== 0) c.fail(`buffer "${name}": page size ${pageSize}`);
  // The section header at `offset` says whether the CPU data is compressed.
  const sec = readCopy(src, offset, 16, `buffer "${name}" section header`);
  const sv = new DataView(sec.buffer);
  const flags = sv.getUint16(2, h.littleEndian);
  const compressed = (flags & 1) !== 0;
  const buf: BufferInfo = { name, clock, pageSize, compressed, cpus: [] };
  for (let i = 0; i < cpus; i++) {
    const cpu = c.u32('cpu id');
    const off = c.u64('cpu data offset');
    const size = c.u64('cpu data size');
    if (cpu >= MAX_CPUS) c.fail(`buffer "${name}": cpu id ${cpu} is implausible`);
    if (size > 0 && off + size > src.sizeBytes) {
      diag.error(off, `buffer "${name}" cpu ${cpu}: data [${off}, ${off + size}) runs past the end of the file (${src.sizeBytes} bytes): file truncated; reading what is there`);
    }
    const cd: CpuData = { cpu, offsetBytes: off, sizeBytes: Math.max(0, Math.min(size, src.sizeBytes - off)), chunkFirst: 0, chunkCount: 0 };
    if (compressed && cd.sizeBytes > 0) readChunkTable(h, diag, src, cd, name);
    buf.cpus.push(cd);
  }
  h.buffers.push(buf);
}

function readFlyrecordCpus(h: TraceDatHeader, buf: BufferInfo, src: ByteSource, at: number, cpus: number): void {
  if (cpus > MAX_CPUS) throw new TraceFormatError(`cpu count ${cpus} is implausible`, at);
  const bytes = readCopy(src, at, cpus * 16, 'flyrecord cpu table');
  const c = new Cursor(bytes, h.littleEndian, at, 'flyrecord cpu table');
  for (let cpu = 0; cpu < cpus; cpu++) {
    const off = c.u64('cpu data offset');
    const size = c.u64('cpu data size');
    buf.cpus.push({ cpu, offsetBytes: off, sizeBytes: size, chunkFirst: 0, chunkCount: 0 });
  }
}

/** Compressed CPU data: count4, then per chunk comp4 uncomp4 data. Reads headers only. */
function readChunkTable(h: TraceDatHeader, diag: DiagnosticSink, src: ByteSource, cd: CpuData, name: string): void {
  const t = h.chunks;
  cd.chunkFirst = t.fileOffset.length;
  // The size trace-cmd stores excludes the 4-byte chunk count (seen in trace-cmd 3.1.6 files).
  const end = Math.min(src.sizeBytes, cd.offsetBytes + 4 + cd.sizeBytes);
  const hdr = new Uint8Array(8);
  if (src.readInto(hdr, 0, 4, cd.offsetBytes) < 4) {
    diag.error(cd.offsetBytes, `buffer "${name}" cpu ${cd.cpu}: chunk count missing (file truncated)`);
    return;
  }
  const hv = new DataView(hdr.buffer);
  const count = hv.getUint32(0, h.littleEndian);
  let pos = cd.offsetBytes + 4;
  let virt = t.virtStart.length ? t.virtStart[t.virtStart.length - 1]! + t.uncompBytes[t.uncompBytes.length - 1]! : src.sizeBytes;
  for (let i = 0; i < count; i++) {
    // Every chunk takes at least 8 bytes, so `count` is bounded by the data size.
    if (pos + 8 > end || src.readInto(hdr, 0, 8, pos) < 8) {
      diag.error(pos, `buffer "${name}" cpu ${cd.cpu}: chunk ${i} of ${count} starts past the end of its data (truncated); ${i} chunks read`);
      break;
    }
    const comp = hv.getUint32(0, h.littleEndian);
    const uncomp = hv.getUint32(4, h.littleEndian);
    if (pos + 8 + comp > end) {
      diag.error(pos, `buffer "${name}" cpu ${cd.cpu}: chunk ${i} (${comp} bytes) runs past the end of its data (truncated); ${i} chunks read`);
      break;
    }
    if (uncomp > MAX_DECOMPRESSED_BYTES) {
      diag.error(pos, `buffer "${name}" cpu ${cd.cpu}: chunk ${i} declares ${uncomp} decompressed bytes (limit ${MAX_DECOMPRESSED_BYTES}); skipped`);
    } else {
      t.fileOffset.push(pos);
      t.compBytes.push(comp);
      t.uncompBytes.push(uncomp);
      t.virtStart.push(virt);
      virt += uncomp;
    }
    pos += 8 + comp;
  }
  cd.chunkCount = t.fileOffset.length - cd.chunkFirst;
}

// ---- version 6 --------------------------------------------------------------------------------

function readV6(src: ByteSource, diag: DiagnosticSink, h: TraceDatHeader, start: number): void {
  // The metadata before kallsyms is small: read it through a growing window.
  let pos = start;
  const region = (len: number, what: string): Cursor => {
    const c = new Cursor(readCopy(src, pos, len, what), h.littleEndian, pos, what);
    return c;
  };
  const u32At = (what: string): number => {
    const v = region(4, what).u32(what);
    pos += 4;
    return v;
  };
  const u64At = (what: string): number => {
    const v = region(8, what).u64(what);
    pos += 8;
    return v;
  };
  const block = (len: number, what: string): Cursor => {
    const c = region(len, what);
    pos += len;
    return c;
  };
  // header_page / header_event
  const tag1 = block(12, 'header_page tag');
  if (latin1.decode(tag1.bytes) !== 'header_page\0') tag1.fail('expected "header_page"');
  parseHeaderPage(h, utf8.decode(block(u64At('header_page size'), 'header_page').bytes));
  const tag2 = block(13, 'header_event tag');
  if (latin1.decode(tag2.bytes) !== 'header_event\0') tag2.fail('expected "header_event"');
  const headerEventBytes = u64At('header_event size');
  pos += headerEventBytes;
  // ftrace formats
  const nFtrace = u32At('ftrace format count');
  if (nFtrace > MAX_EVENT_FILES) throw new TraceFormatError(`ftrace format count ${nFtrace} is implausible`, pos - 4);
  for (let i = 0; i < nFtrace; i++) {
    const at = pos;
    const n = u64At('ftrace format size');
    addFormat(h, diag, utf8.decode(block(n, 'ftrace format').bytes), 'ftrace', at);
  }
  const nSys = u32At('event system count');
  if (nSys > MAX_EVENT_FILES) throw new TraceFormatError(`event system count ${nSys} is implausible`, pos - 4);
  for (let s = 0; s < nSys; s++) {
    const nameBytes = src.readBorrow(pos, 1024);
    let e = 0;
    while (e < nameBytes.length && nameBytes[e] !== 0) e++;
    if (e >= nameBytes.length) throw new TraceFormatError('event system name: no NUL terminator (corrupt or truncated)', pos);
    const system = latin1.decode(nameBytes.subarray(0, e));
    pos += e + 1;
    const count = u32At('event count');
    if (count > MAX_EVENT_FILES) throw new TraceFormatError(`event count ${count} in system "${system}" is implausible`, pos - 4);
    for (let i = 0; i < count; i++) {
      const at = pos;
      const n = u64At('event format size');
      addFormat(h, diag, utf8.decode(block(n, 'event format').bytes), system, at);
    }
  }
  // kallsyms and printk formats: skipped (not needed for the event columns)
  const kallsymsBytes = u32At('kallsyms size');
  pos += kallsymsBytes;
  const printkBytes = u32At('printk size');
  pos += printkBytes;
  parseCmdlines(h, block(u64At('cmdlines size'), 'cmdlines').bytes);
  h.cpuCountHeader = u32At('cpu count');
  if (h.cpuCountHeader > MAX_CPUS) throw new TraceFormatError(`cpu count ${h.cpuCountHeader} is implausible`, pos - 4);
  const sectionData = new Map<number, number>();
  const deferredBuffers: { data: Uint8Array; at: number }[] = [];
  for (let guard = 0; guard < MAX_SECTIONS; guard++) {
    const tag = latin1.decode(block(10, 'data section tag').bytes);
    if (tag === 'options  \0') {
      for (let n = 0; ; n++) {
        if (n > 100_000) throw new TraceFormatError('too many options', pos);
        const id = region(2, 'option id').u16();
        pos += 2;
        if (id === Option.DONE) break;
        const size = u32At('option size');
        const at = pos;
        const data = block(size, `option ${id}`);
        // BUFFER options refer to data after the main flyrecord; parse them once the CPU count is known.
        if (id === Option.BUFFER) deferredBuffers.push({ data: data.bytes, at });
        else handleOption(h, diag, id, data, src, sectionData);
      }
      continue;
    }
    if (tag === 'latency  \0') {
      h.latencyBuffers.push('');
      throw new TraceFormatError('this trace.dat holds latency-tracer text (trace-cmd record of a latency tracer), not per-CPU event data; not supported', pos - 10);
    }
    if (tag === 'flyrecord\0') {
      const top: BufferInfo = { name: '', clock: '', pageSize: h.pageSize, compressed: false, cpus: [] };
      readFlyrecordCpus(h, top, src, pos, h.cpuCountHeader);
      for (const cd of top.cpus) clipCpu(h, diag, src, cd, '');
      h.buffers.unshift(top);
      break;
    }
    throw new TraceFormatError(`expected "options", "latency" or "flyrecord" after the CPU count, found ${JSON.stringify(tag)}`, pos - 10);
  }
  for (const b of deferredBuffers) {
    const before = h.buffers.length;
    handleOption(h, diag, Option.BUFFER, new Cursor(b.data, h.littleEndian, b.at, 'BUFFER option'), src, sectionData);
    for (let i = before; i < h.buffers.length; i++) for (const cd of h.buffers[i]!.cpus) clipCpu(h, diag, src, cd, h.buffers[i]!.name);
  }
  const clock = clockFromTraceClock(h.traceClock);
  for (const b of h.buffers) b.clock = clock;
}

function clipCpu(_h: TraceDatHeader, diag: DiagnosticSink, src: ByteSource, cd: CpuData, name: string): void {
  if (cd.sizeBytes > 0 && cd.offsetBytes + cd.sizeBytes > src.sizeBytes) {
    diag.error(cd.offsetBytes, `buffer "${name}" cpu ${cd.cpu}: data [${cd.offsetBytes}, ${cd.offsetBytes + cd.sizeBytes}) runs past the end of the file (${src.sizeBytes} bytes): file truncated; reading what is there`);
    cd.sizeBytes = Math.max(0, src.sizeBytes - cd.offsetBytes);
  }
}

/** "local global [mono] ..." -> "mono" */
export function clockFromTraceClock(text: string | undefined): string {
  if (!text) return '';
  const m = /\[([^\]]+)\]/.exec(text);
  return m ? m[1]! : text.trim();
}

// ---- version 7 --------------------------------------------------------------------------------

interface SectionRead {
  id: number;
  flags: number;
  /** decompressed (or stored) contents */
  data: Cursor;
}

function readSection(src: ByteSource, h: TraceDatHeader, offset: number, expectId: number | undefined, what: string): SectionRead {
  const hdr = new Cursor(readCopy(src, offset, 16, `${what} section header`), h.littleEndian, offset, `${what} section header`);
  const id = hdr.u16();
  const flags = hdr.u16();
  hdr.u32(); // description string id
  const size = hdr.u64();
  if (expectId !== undefined && id !== expectId) {
    throw new TraceFormatError(`${what}: expected section id ${expectId} at offset ${offset}, found ${id}`, offset);
  }
  const body = readCopy(src, offset + 16, size, `${what} section`);
  if ((flags & 1) === 0) return { id, flags, data: new Cursor(body, h.littleEndian, offset + 16, `${what} section`) };
  const bc = new Cursor(body, h.littleEndian, offset + 16, `${what} section`);
  const comp = bc.u32('compressed size');
  const uncomp = bc.u32('decompressed size');
  const payload = bc.take(comp, 'compressed data');
  if (uncomp > MAX_META_BYTES) throw new TraceFormatError(`${what} section: declared decompressed size ${uncomp} exceeds the limit`, offset + 16);
  let out: Uint8Array;
  try {
    out = decompressExact(h.codec, payload, uncomp);
  } catch (e) {
    throw new TraceFormatError(`${what} section at offset ${offset} failed to decompress (${h.compressionName}): ${(e as Error).message}`, offset + 24);
  }
  return { id, flags, data: new Cursor(out, h.littleEndian, offset + 24, `decompressed ${what} section at offset ${offset}`) };
}

function readV7(src: ByteSource, diag: DiagnosticSink, h: TraceDatHeader, start: number): void {
  const hc = new Cursor(readCopy(src, start, Math.min(src.sizeBytes - start, 4096 + 8), 'compression header'), h.littleEndian, start, 'file header');
  h.compressionName = hc.cstring('compression name', 256);
  h.compressionVersion = hc.cstring('compression version', 256);
  const codec = codecFromName(h.compressionName);
  if (!codec) throw new TraceFormatError(`unsupported compression "${h.compressionName}" (supported: none, zlib, zstd)`, start);
  h.codec = codec;
  let optOffset = hc.u64('first options section offset');
  const sectionData = new Map<number, number>();
  const seen = new Set<number>();
  let firstError: TraceFormatError | undefined;
  for (let n = 0; optOffset !== 0; n++) {
    if (n >= MAX_SECTIONS || seen.has(optOffset)) {
      diag.error(optOffset, 'options sections form a loop; stopped following them');
      break;
    }
    seen.add(optOffset);
    let sec: SectionRead;
    try {
      sec = readSection(src, h, optOffset, 0, 'options');
    } catch (e) {
      if (!(e instanceof TraceFormatError)) throw e;
      if (n === 0) throw e;
      diag.error(e.offsetBytes, e.message);
      firstError ??= e;
      break;
    }
    const c = sec.data;
    let next = 0;
    try {
      while (c.remaining > 0) {
        const id = c.u16('option id');
        const size = c.u32('option size');
        const at = c.fileOffset;
        const data = new Cursor(c.take(size, `option ${id}`), h.littleEndian, at, `option ${id}`);
        if (id === Option.DONE) {
          next = data.u64('next options offset');
          break;
        }
        handleOption(h, diag, id, data, src, sectionData);
      }
    } catch (e) {
      if (!(e instanceof TraceFormatError)) throw e;
      diag.error(e.offsetBytes, `options section at offset ${optOffset}: ${e.message}`);
    }
    optOffset = next;
  }
  // Metadata sections the options pointed at.
  const sectionOr = (id: number, what: string, fn: (c: Cursor) => void, required: boolean): void => {
    const off = sectionData.get(id);
    if (off === undefined) {
      if (required) throw new TraceFormatError(`no ${what} section (option ${id} missing)`, 0);
      return;
    }
    try {
      fn(readSection(src, h, off, id, what).data);
    } catch (e) {
      if (!(e instanceof TraceFormatError) || required) throw e;
      diag.error(e.offsetBytes, `${what}: ${e.message}`);
    }
  };
  sectionOr(Option.HEADER_INFO, 'headers', (c) => readHeaders(c, h), true);
  sectionOr(Option.FTRACE_EVENTS, 'ftrace events', (c) => readFtraceFormats(c, h, diag), false);
  sectionOr(Option.EVENT_FORMATS, 'event formats', (c) => readEventFormats(c, h, diag), false);
  sectionOr(Option.CMDLINES, 'cmdlines', (c) => parseCmdlines(h, c.take(c.u64('cmdlines size'), 'cmdlines')), false);
  h.cpuCountHeader = h.cpuCount ?? Math.max(0, ...h.buffers.map((b) => b.cpus.length));
  // The top buffer first.
  h.buffers.sort((a, b) => (a.name === '' ? 0 : 1) - (b.name === '' ? 0 : 1));
  if (h.buffers.length === 0 && firstError) throw firstError;
}
