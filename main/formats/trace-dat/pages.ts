// The hot path: walks ring-buffer pages (sub-buffers) of one CPU and writes each event's columns
// into the sink. Page and event-header layout per libtraceevent src/kbuffer-parse.c:
// page = u64 timestamp, commit word (long: flags in bits 30/31, size in bits 0..26), data;
// event header u32 = type_len (5 bits) + time delta (27 bits) — low bits on little-endian, high
// bits on big-endian; type_len 1..28 data words, 0 length word, 29 padding, 30 time extend,
// 31 absolute timestamp. Nothing is allocated per event.

import { EventKind, NO_STATE, TaskState } from '../../../shared/schema.ts';
import type { DiagnosticSink, EventSink } from '../types.ts';
import { readU64 } from './bytes.ts';
import { mapPrevState } from './event-format.ts';
import type { TraceDatShared } from './plan.ts';
import { convertTs, needsConversion, type TimeConversion } from './time.ts';
import type { CompiledEvent, CompiledEvents } from './compile.ts';

const TWO27 = 134217728;
const TWO32 = 4294967296;
const TWO59 = 576460752303423488;
const COMMIT_MASK = TWO27 - 1;
const MISSING_EVENTS = 0x80000000;
const MISSING_STORED = 0x40000000;

/** Reads a number field of 1/2/4/8 bytes (8-byte values above 2^53 lose low bits). */
function num(view: DataView, pos: number, size: number, signed: boolean, le: boolean): number {
  switch (size) {
    case 4: return signed ? view.getInt32(pos, le) : view.getUint32(pos, le);
    case 8: {
      if (!signed) return readU64(view, pos, le);
      const lo = view.getUint32(le ? pos : pos + 4, le);
      const hi = view.getInt32(le ? pos + 4 : pos, le);
      return hi * TWO32 + lo;
    }
    case 2: return signed ? view.getInt16(pos, le) : view.getUint16(pos, le);
    case 1: return signed ? view.getInt8(pos) : view.getUint8(pos);
    default: return 0;
  }
}

/** Clamp to the i32 columns (pids, cpus, prios all fit; garbage from corrupt records must not wrap oddly). */
function i32(v: number): number {
  return v > 2147483647 || v < -2147483648 ? -1 : v;
}

export class PageDecoder {
  private readonly sink: EventSink;
  private readonly diag: DiagnosticSink;
  private readonly le: boolean;
  private readonly commitOffset: number;
  private readonly commitSize: number;
  private readonly dataOffset: number;
  private readonly compiled: CompiledEvents;
  private readonly cpu: number;
  private readonly time: TimeConversion;
  private readonly convert: boolean;
  private readonly eventIds: Int32Array;
  private readonly lineComms = new Map<number, number>();
  private cmdlines: Map<number, string> | undefined;
  private readonly shared: TraceDatShared;
  private readonly unknownIds = new Set<number>();
  private unknownEventId = -1;
  private invalidEventId = -1;
  /** diagnostics about records in this unit (beyond the collector's own bound, keep strings cheap) */
  private recordProblems = 0;
  lostEvents = 0;
  pagesWithLoss = 0;

  constructor(shared: TraceDatShared, sink: EventSink, diag: DiagnosticSink, cpu: number) {
    this.shared = shared;
    this.sink = sink;
    this.diag = diag;
    const h = shared.header;
    this.le = h.littleEndian;
    this.commitOffset = h.commitOffset;
    this.commitSize = h.commitSize;
    this.dataOffset = h.dataOffset;
    this.compiled = shared.compiled;
    this.cpu = cpu;
    this.time = shared.time;
    this.convert = needsConversion(shared.time);
    this.eventIds = new Int32Array(shared.compiled.index.length).fill(-1);
  }

  /**
   * Decode one page at bytes[pageStart, pageStart + pageLen). `offsetBase` is the offset number
   * of bytes[0] (a file offset, or a virtual offset for decompressed data).
   */
  page(bytes: Uint8Array, view: DataView, pageStart: number, pageLen: number, offsetBase: number): void {
    const le = this.le;
    const dataStart = pageStart + this.dataOffset;
    if (pageLen < this.dataOffset) {
      this.problem(offsetBase + pageStart, `page of ${pageLen} bytes is shorter than its header (${this.dataOffset} bytes): truncated data`);
      return;
    }
    let ts = readU64(view, pageStart, le);
    const commitLo = this.commitSize === 8 && !le ? view.getUint32(pageStart + this.commitOffset + 4, false) : view.getUint32(pageStart + this.commitOffset, le);
    const size = commitLo & COMMIT_MASK;
    const room = pageLen - this.dataOffset;
    if (commitLo & MISSING_EVENTS) {
      let lost = -1;
      if (commitLo & MISSING_STORED && size + this.commitSize <= room) {
        lost = this.commitSize === 8 ? readU64(view, dataStart + size, le) : view.getUint32(dataStart + size, le);
      }
      this.pagesWithLoss++;
      if (lost > 0) this.lostEvents += lost;
      if (this.pagesWithLoss <= 20) {
        this.diag.warning(offsetBase + pageStart, `cpu ${this.cpu}: the kernel dropped ${lost >= 0 ? lost : 'an unknown number of'} events before this page (ring buffer overrun)`);
      }
    }
    if (size > room) {
      this.problem(offsetBase + pageStart, `cpu ${this.cpu}: page commit size ${size} exceeds the page's ${room} data bytes (corrupt page); page skipped`);
      return;
    }
    const end = dataStart + size;
    let p = dataStart;
    while (p + 4 <= end) {
      const word = view.getUint32(p, le);
      let typeLen: number;
      let delta: number;
      if (le) {
        typeLen = word & 31;
        delta = word >>> 5;
      } else {
        typeLen = word >>> 27;
        delta = word & COMMIT_MASK;
      }
      if (typeLen >= 29) {
        if (p + 8 > end) {
          this.problem(offsetBase + p, `cpu ${this.cpu}: record header at the end of the page is cut off (corrupt page)`);
          return;
        }
        const ext = view.getUint32(p + 4, le);
        if (typeLen === 29) {
          // padding: the length word counts from after the header
          ts += delta;
          const next = p + 4 + ext;
          if (next <= p || next > end) return; // rest of the page is padding
          p = next;
        } else if (typeLen === 30) {
          ts += ext * TWO27 + delta;
          p += 8;
        } else {
          // absolute timestamp: 59 bits; the top 5 come from the current time
          ts = ext * TWO27 + delta + (ts >= TWO59 ? Math.floor(ts / TWO59) * TWO59 : 0);
          p += 8;
        }
        continue;
      }
      let len: number;
      let data: number;
      if (typeLen === 0) {
        if (p + 8 > end) {
          this.problem(offsetBase + p, `cpu ${this.cpu}: record length word is cut off (corrupt page)`);
          return;
        }
        const lw = view.getUint32(p + 4, le);
        if (lw < 4) {
          this.problem(offsetBase + p, `cpu ${this.cpu}: record length ${lw} is invalid (corrupt page); rest of page skipped`);
          return;
        }
        // Round the payload up to 4 bytes without 32-bit bitwise ops (lw may exceed 2^31 in a corrupt page).
        len = Math.floor((lw - 1) / 4) * 4;
        data = p + 8;
      } else {
        len = typeLen * 4;
        data = p + 4;
      }
      ts += delta;
      if (data + len > end) {
        this.problem(offsetBase + p, `cpu ${this.cpu}: record of ${len} bytes runs past the page's commit size (corrupt page); rest of page skipped`);
        return;
      }
      this.event(bytes, view, data, len, this.convert ? convertTs(ts, this.cpu, this.time) : ts, offsetBase + p);
      p = data + len;
    }
  }

  private problem(offset: number, message: string): void {
    this.recordProblems++;
    this.diag.error(offset, message);
  }

  private eventNameId(ce: CompiledEvent): number {
    let id = this.eventIds[ce.id]!;
    if (id < 0) {
      id = this.sink.eventId(ce.name);
      this.eventIds[ce.id] = id;
    }
    return id;
  }

  /** Comm id for a task known only by pid (the current task of a record): saved cmdlines. */
  lineComm(pid: number): number {
    let id = this.lineComms.get(pid);
    if (id !== undefined) return id;
    if (!this.cmdlines) {
      this.cmdlines = new Map();
      const h = this.shared.header;
      for (let i = 0; i < h.cmdlinePids.length; i++) this.cmdlines.set(h.cmdlinePids[i]!, h.cmdlineComms[i]!);
    }
    const name = pid === 0 ? '<idle>' : (this.cmdlines.get(pid) ?? '<...>');
    id = this.sink.commId(name);
    this.lineComms.set(pid, id);
    return id;
  }

  private strId(bytes: Uint8Array, view: DataView, data: number, len: number, off: number, size: number, flags: number): number {
    let s: number;
    let e: number;
    if (flags & 8) {
      const v = view.getUint32(data + off, this.le);
      s = data + (v & 0xffff) + (flags & 4 ? off + size : 0);
      e = s + (v >>> 16);
      const limit = data + len;
      if (s > limit) return -1;
      if (e > limit) e = limit;
    } else {
      s = data + off;
      e = s + size;
    }
    let i = s;
    while (i < e && bytes[i] !== 0) i++;
    return this.sink.commIdBytes(bytes, s, i);
  }

  private event(bytes: Uint8Array, view: DataView, data: number, len: number, tsNs: number, offset: number): void {
    const c = this.compiled;
    const le = this.le;
    const sink = this.sink;
    if (len < c.pidOffset + c.pidSize || len < c.typeOffset + c.typeSize) {
      this.invalid(tsNs, offset, `record of ${len} bytes is too short for the common fields`);
      return;
    }
    const type = num(view, data + c.typeOffset, c.typeSize, false, le);
    const linePid = i32(num(view, data + c.pidOffset, c.pidSize, true, le));
    const idx = type < c.index.length ? c.index[type]! : -1;
    if (idx < 0) {
      if (!this.unknownIds.has(type)) {
        this.unknownIds.add(type);
        this.diag.warning(offset, `cpu ${this.cpu}: event id ${type} has no format in this trace; its records are kept as "unknown" rows`);
      }
      if (this.unknownEventId < 0) this.unknownEventId = sink.eventId('<unknown event>');
      sink.append(EventKind.invalid, this.unknownEventId, tsNs, this.cpu, linePid, linePid, this.lineComm(linePid), -1, -1, NO_STATE, type, -1, offset);
      return;
    }
    const ce = c.events[idx]!;
    const ev = this.eventNameId(ce);
    if (len < ce.minBytes) {
      this.invalid(tsNs, offset, `${ce.name} record of ${len} bytes is shorter than its format (${ce.minBytes} bytes)`);
      return;
    }
    const r = ce.roles;
    switch (ce.kind) {
      case EventKind.switch: {
        const prevComm = this.strId(bytes, view, data, len, r[0]!, r[1]!, r[2]!);
        const prevPid = i32(num(view, data + r[3]!, r[4]!, (r[5]! & 1) === 1, le));
        const prevPrio = i32(num(view, data + r[6]!, r[7]!, (r[8]! & 1) === 1, le));
        const rawState = num(view, data + r[9]!, r[10]!, false, le);
        const nextComm = this.strId(bytes, view, data, len, r[12]!, r[13]!, r[14]!);
        const nextPid = i32(num(view, data + r[15]!, r[16]!, (r[17]! & 1) === 1, le));
        const nextPrio = i32(num(view, data + r[18]!, r[19]!, (r[20]! & 1) === 1, le));
        const state = rawState === 0 ? TaskState.running : mapPrevState(ce.stateMap!, rawState);
        sink.append(EventKind.switch, ev, tsNs, this.cpu, prevPid, nextPid, nextComm, prevPid, prevComm, state, prevPrio, nextPrio, offset);
        return;
      }
      case EventKind.wakeup:
      case EventKind.waking:
      case EventKind.wakeupNew: {
        const comm = this.strId(bytes, view, data, len, r[0]!, r[1]!, r[2]!);
        const pid = i32(num(view, data + r[3]!, r[4]!, (r[5]! & 1) === 1, le));
        const prio = i32(num(view, data + r[6]!, r[7]!, (r[8]! & 1) === 1, le));
        const target = i32(num(view, data + r[9]!, r[10]!, (r[11]! & 1) === 1, le));
        sink.append(ce.kind, ev, tsNs, this.cpu, linePid, pid, comm, -1, -1, NO_STATE, target, prio, offset);
        return;
      }
      case EventKind.migrate: {
        const comm = this.strId(bytes, view, data, len, r[0]!, r[1]!, r[2]!);
        const pid = i32(num(view, data + r[3]!, r[4]!, (r[5]! & 1) === 1, le));
        const orig = i32(num(view, data + r[9]!, r[10]!, (r[11]! & 1) === 1, le));
        const dest = i32(num(view, data + r[12]!, r[13]!, (r[14]! & 1) === 1, le));
        sink.append(EventKind.migrate, ev, tsNs, this.cpu, linePid, pid, comm, -1, -1, NO_STATE, orig, dest, offset);
        return;
      }
      case EventKind.fork: {
        const parentComm = this.strId(bytes, view, data, len, r[0]!, r[1]!, r[2]!);
        const parentPid = i32(num(view, data + r[3]!, r[4]!, (r[5]! & 1) === 1, le));
        const childComm = this.strId(bytes, view, data, len, r[6]!, r[7]!, r[8]!);
        const childPid = i32(num(view, data + r[9]!, r[10]!, (r[11]! & 1) === 1, le));
        sink.append(EventKind.fork, ev, tsNs, this.cpu, parentPid, childPid, childComm, parentPid, parentComm, NO_STATE, -1, -1, offset);
        return;
      }
      case EventKind.exec: {
        const pid = i32(num(view, data + r[3]!, r[4]!, (r[5]! & 1) === 1, le));
        const oldPid = i32(num(view, data + r[6]!, r[7]!, (r[8]! & 1) === 1, le));
        // The exec record has no comm; like the text line, use the pid's saved comm.
        sink.append(EventKind.exec, ev, tsNs, this.cpu, pid, pid, this.lineComm(pid), oldPid, -1, NO_STATE, -1, -1, offset);
        return;
      }
      case EventKind.exit: {
        const comm = this.strId(bytes, view, data, len, r[0]!, r[1]!, r[2]!);
        const pid = i32(num(view, data + r[3]!, r[4]!, (r[5]! & 1) === 1, le));
        const prio = i32(num(view, data + r[6]!, r[7]!, (r[8]! & 1) === 1, le));
        sink.append(EventKind.exit, ev, tsNs, this.cpu, pid, pid, comm, -1, -1, NO_STATE, prio, -1, offset);
        return;
      }
      case EventKind.vmEntry: {
        const vcpu = i32(num(view, data + r[0]!, r[1]!, (r[2]! & 1) === 1, le));
        sink.append(EventKind.vmEntry, ev, tsNs, this.cpu, linePid, linePid, this.lineComm(linePid), -1, -1, NO_STATE, vcpu, -1, offset);
        return;
      }
      case EventKind.vmExit: {
        const reason = i32(num(view, data + r[0]!, r[1]!, (r[2]! & 1) === 1, le));
        const vcpu = r[3]! >= 0 ? i32(num(view, data + r[3]!, r[4]!, (r[5]! & 1) === 1, le)) : -1;
        sink.append(EventKind.vmExit, ev, tsNs, this.cpu, linePid, linePid, this.lineComm(linePid), -1, -1, NO_STATE, vcpu, reason, offset);
        return;
      }
      default:
        sink.append(EventKind.other, ev, tsNs, this.cpu, linePid, linePid, this.lineComm(linePid), -1, -1, NO_STATE, -1, -1, offset);
    }
  }

  private invalid(tsNs: number, offset: number, message: string): void {
    this.problem(offset, `cpu ${this.cpu}: ${message}`);
    if (this.invalidEventId < 0) this.invalidEventId = this.sink.eventId('<invalid record>');
    this.sink.append(EventKind.invalid, this.invalidEventId, tsNs, this.cpu, -1, -1, -1, -1, -1, NO_STATE, -1, -1, offset);
  }
}
