// The xentrace planning pass: one sequential walk over every record header (payloads only for
// scheduler records) that finds each pCPU's windows, the time base, per-class counts, the domains
// and vCPUs, lost/wrap markers, TSC regressions and run-sequence breaks. Decoding rows is reader.ts.
// Source of truth: xen `tools/xentrace/xentrace.c` (window = CPU_CHANGE record + window_size bytes
// of whole t_rec records of one pCPU), `xen/include/public/trace.h`, `tools/xentrace/xenalyze.c`.

import { XEN_IDLE_DOMAIN } from '../../../shared/schema.ts';
import type { ByteSource } from '../../engine/io/byte-source.ts';
import { TraceFormatError, type DiagnosticSink, type FormatInfo, type ReadPlan } from '../types.ts';
import {
  CLASS_NAMES, CLASS_UNKNOWN, CPU_CHANGE_BYTES, CPU_CHANGE_HEADER, EVENT_MASK, TRC_LOST_RECORDS,
  TRC_SCHED_RUNSTATE_CHANGE, TRC_SCHED_SWITCH, TRC_TRACE_WRAP_BUFFER, classIndex, entityName,
} from './records.ts';
import { WordWindow } from './word-window.ts';

/** xenalyze's assumption when not told (DEFAULT_CPU_HZ in tools/xentrace/xenalyze.c). */
export const DEFAULT_CPU_HZ = 2_400_000_000;
/** Xen's NR_CPUS tops out at 4096 on x86; anything larger in a CPU_CHANGE record is corruption. */
export const MAX_PCPUS = 4096;
/** A pCPU's windows are split into several units past this many bytes (parallel reading). */
export const DEFAULT_UNIT_BYTES = 64 << 20;
/** Bound on reported diagnostics of one kind (the rest are counted in info.extra). */
const MAX_DIAG_PER_KIND = 20;
/** Bound on distinct (domain, vCPU) pairs remembered for info.extra (corrupt files invent many). */
const MAX_ENTITIES = 1 << 16;

// Module-local copies of imported constants and a class table: under tsx every imported binding is
// a getter call, and classIndex() loops; both showed at the top of the profile of this pass.
const CPU_CHANGE_HDR = CPU_CHANGE_HEADER;
const ID_MASK = EVENT_MASK;
const SWITCH = TRC_SCHED_SWITCH;
const LOST = TRC_LOST_RECORDS;
const WRAP = TRC_TRACE_WRAP_BUFFER;
const RUNSTATE_CHANGE = TRC_SCHED_RUNSTATE_CHANGE;
const IDLE_DOMAIN = XEN_IDLE_DOMAIN;
const N_CLASSES = CLASS_NAMES.length;
const HVM_CLASS = CLASS_NAMES.findIndex(([, name]) => name === 'HVM');
/** Bits 16-27 of an id -> index into CLASS_NAMES (N_CLASSES when no class). */
const CLASS_OF_MAIN = new Uint8Array(4096).map((_, main) => classIndex(main << 16));
const entity = (dom: number, vcpu: number): number => ((dom & 0x7fff) << 16) | (vcpu & 0xffff);

export interface XenUnit {
  cpu: number;
  /** File offsets of the CPU_CHANGE records that open this unit's windows, in file order. */
  windowStarts: number[];
  /** End of the whole records of each window (clipped where the window is truncated or corrupt). */
  windowEnds: number[];
  /** Entity (xenEntity) running on the pCPU when the unit starts; -1 when unknown. */
  enteringEntity: number;
  /** TSC (cycles after the time base) to give records without a TSC before the unit's first one. */
  enteringCycles: number;
}

export interface XenShared {
  /** Time base: the earliest first-TSC of any pCPU, as two u32 halves. ts = (tsc - base) / cpuHz. */
  baseTscHi: number;
  baseTscLo: number;
  cpuHz: number;
  units: XenUnit[];
}

interface PcpuState {
  cpu: number;
  windows: number;
  records: number;
  bytes: number;
  hasTsc: boolean;
  firstHi: number;
  firstLo: number;
  lastHi: number;
  lastLo: number;
  current: number;
  currentSince: number;
  firstSwitchPrev: number;
  sawSwitch: boolean;
  unit: XenUnit | undefined;
  unitBytes: number;
  /** Units whose entering TSC is the pCPU's state at their start: [unit, hi, lo, hasTsc]. */
  pendingEnter: Array<{ unit: XenUnit; hi: number; lo: number; hasTsc: boolean }>;
}

class Bounded {
  private counts = new Map<string, number>();
  constructor(private readonly diag: DiagnosticSink) {}
  /**
   * Count one problem; true when it is still within the bound and should be reported. Callers build
   * the message only then (and without a closure: a closure in the record loop made V8 allocate a
   * context per record, 10% of the pass in GC).
   */
  allow(kind: string, severity: 'error' | 'warning' | 'info', offset: number): boolean {
    const n = (this.counts.get(kind) ?? 0) + 1;
    this.counts.set(kind, n);
    if (n === MAX_DIAG_PER_KIND + 1) this.diag[severity](offset, `further '${kind}' problems are counted in the summary only`);
    return n <= MAX_DIAG_PER_KIND;
  }
  count(kind: string): number {
    return this.counts.get(kind) ?? 0;
  }
}

/** 1.5 x 2^52: adding and subtracting it rounds a double to an integer (the same as reader.ts). */
const ROUND_MAGIC = 6755399441055744;

export function planXentrace(src: ByteSource, diag: DiagnosticSink, opts: { cpuHz?: number; unitBytes?: number }): ReadPlan<XenShared> {
  const cpuHzGiven = opts.cpuHz !== undefined;
  const cpuHz = opts.cpuHz ?? DEFAULT_CPU_HZ;
  // Outside 1 MHz..1 THz the ns of a long trace stop being finite or meaningful: refuse, naming it.
  if (!(cpuHz >= 1e6 && cpuHz <= 1e12)) throw new TraceFormatError(`--cpu-hz ${cpuHz} is outside 1e6..1e12 Hz (a TSC frequency, e.g. 2.4e9)`, 0);
  const unitBytesMax = Math.max(1 << 16, opts.unitBytes ?? DEFAULT_UNIT_BYTES);
  const size = src.sizeBytes;
  const win = new WordWindow(src);
  const problems = new Bounded(diag);
  const pcpus = new Map<number, PcpuState>();
  const units: XenUnit[] = [];
  const classCounts = new Float64Array(CLASS_NAMES.length + 1);
  const entities = new Set<number>();
  const hvmDomains = new Set<number>();
  let entitiesTruncated = false;
  let records = 0;
  let lostMarkers = 0;
  let lostRecords = 0;
  let wraps = 0;
  let skippedBytes = 0;

  const seenKeys = new Int32Array(256).fill(-1);
  const seeEntity = (e: number): void => {
    const slot = (e ^ (e >>> 13)) & 255;
    if (seenKeys[slot] === e) return; // most switch/runstate records repeat a recent entity
    seenKeys[slot] = e;
    if (entities.size < MAX_ENTITIES) entities.add(e);
    else if (!entities.has(e)) entitiesTruncated = true;
  };

  /** Is there a plausible window header at a 4-aligned offset (and, when it fits, another after it)? */
  const probe = new WordWindow(src, 16); // small reads that leave the scan window in place
  const windowHeaderAt = (off: number): boolean => {
    if (off + CPU_CHANGE_BYTES > size) return false;
    if (probe.load(off, off + CPU_CHANGE_BYTES) < CPU_CHANGE_BYTES) return false;
    if (probe.wordAt(off) !== CPU_CHANGE_HDR) return false;
    const cpu = probe.wordAt(off + 4);
    const bytes = probe.wordAt(off + 8);
    if (cpu >= MAX_PCPUS || bytes % 4 !== 0) return false;
    const next = off + CPU_CHANGE_BYTES + bytes;
    if (next >= size) return next === size || bytes > 0;
    if (next + 4 > size) return false;
    probe.load(next, next + 4);
    return probe.wordAt(next) === CPU_CHANGE_HDR;
  };

  /** Scan forward (4-byte steps) for the next plausible window; size when there is none. Linear. */
  const resync = (from: number): number => {
    let off = (from + 3) & ~3;
    while (off + CPU_CHANGE_BYTES <= size) {
      const n = win.load(off, size);
      const end = win.startOffset + (n & ~3);
      for (let o = off; o < end; o += 4) {
        if (win.wordAt(o) === CPU_CHANGE_HDR && windowHeaderAt(o)) return o;
      }
      if (end <= off) break;
      off = end;
    }
    return size;
  };

  const lastTsc = new Float64Array(2);
  let pos = 0;
  while (pos + CPU_CHANGE_BYTES <= size) {
    win.load(pos, pos + CPU_CHANGE_BYTES);
    const h = win.wordAt(pos);
    const cpu = win.wordAt(pos + 4);
    const declared = win.wordAt(pos + 8);
    if (h !== CPU_CHANGE_HDR || cpu >= MAX_PCPUS || declared % 4 !== 0) {
      const what = h !== CPU_CHANGE_HDR
        ? `expected a TRC_TRACE_CPU_CHANGE window record (0x${CPU_CHANGE_HDR.toString(16)}), found 0x${h.toString(16).padStart(8, '0')}`
        : `TRC_TRACE_CPU_CHANGE with impossible pCPU ${cpu} or window size ${declared}`;
      const next = resync(pos + 4);
      skippedBytes += next - pos;
      if (problems.allow('corrupt window', 'error', pos)) diag.error(pos, `${what}; skipped ${next - pos} bytes to offset ${next}`);
      pos = next;
      continue;
    }
    const dataStart = pos + CPU_CHANGE_BYTES;
    let dataEnd = dataStart + declared;
    if (dataEnd > size) {
      if (problems.allow('truncated', 'error', pos)) diag.error(pos, `pCPU ${cpu} window declares ${declared} bytes but the file ends ${size - dataStart} bytes later (truncated file)`);
      dataEnd = size;
    }
    let p = pcpus.get(cpu);
    if (p === undefined) {
      p = {
        cpu, windows: 0, records: 0, bytes: 0, hasTsc: false, firstHi: 0, firstLo: 0, lastHi: 0, lastLo: 0,
        current: -1, currentSince: -1, firstSwitchPrev: -1, sawSwitch: false, unit: undefined, unitBytes: 0, pendingEnter: [],
      };
      pcpus.set(cpu, p);
    }
    // A unit also ends once its windows span unitBytesMax of the FILE: the pCPUs' windows interleave,
    // so a unit bounded only by its own bytes spans the whole trace, and the merge had to hold (and
    // spill) everything the first units read until every pCPU's unit had started (300 MB of the
    // public recording copied, 8 pCPUs, 2 workers: 950 MB peak RSS). Units that cover one slice of
    // the file each, started in time order (minTsNs), let the merge emit as they arrive.
    if (p.unit === undefined || p.unitBytes >= unitBytesMax || pos - p.unit.windowStarts[0]! >= unitBytesMax) {
      p.unit = { cpu, windowStarts: [], windowEnds: [], enteringEntity: p.current, enteringCycles: 0 };
      p.unitBytes = 0;
      p.pendingEnter.push({ unit: p.unit, hi: p.lastHi, lo: p.lastLo, hasTsc: p.hasTsc });
      units.push(p.unit);
    }
    p.windows++;
    const recordsBefore = records;
    records++; // the CPU_CHANGE record itself
    classCounts[0]!++;

    // Walk the window's records.
    let r = dataStart;
    let wordsBase = 0;
    let words = win.words;
    let loadedEnd = 0;
    let current = p.current;
    // TSC halves live in a typed array: as locals V8 boxed them (u32 above 2^30 is no Smi), one
    // allocation per record.
    const last = lastTsc;
    last[0] = p.lastHi;
    last[1] = p.lastLo;
    let hasTsc = p.hasTsc;
    let hvmDomain = -1;
    while (r < dataEnd) {
      if (r + 4 > loadedEnd) {
        win.load(r, dataEnd);
        words = win.words;
        wordsBase = r;
        loadedEnd = win.endOffset;
        if (r + 4 > loadedEnd) break;
      }
      const hw = words[(r - wordsBase) >>> 2]!;
      const bytes = 4 + (hw >>> 31) * 8 + ((hw >>> 28) & 7) * 4;
      if (r + bytes > dataEnd) {
        if (problems.allow('record crosses window', 'error', r)) diag.error(r, `record of ${bytes} bytes at offset ${r} crosses the end of its pCPU ${cpu} window at ${dataEnd}`);
        break;
      }
      if (r + bytes > loadedEnd) {
        if (wordsBase === r) break; // the source returned less than a whole record
        win.load(r, dataEnd);
        words = win.words;
        wordsBase = r;
        loadedEnd = win.endOffset;
        continue;
      }
      const i = (r - wordsBase) >>> 2;
      const ev = hw & ID_MASK;
      let d = i + 1;
      if (hw >>> 31) {
        const lo = words[i + 1]!;
        const hi = words[i + 2]!;
        d = i + 3;
        if (!hasTsc) {
          hasTsc = true;
          p.firstHi = hi;
          p.firstLo = lo;
          last[0] = hi;
          last[1] = lo;
        } else if (hi < last[0]! || (hi === last[0] && lo < last[1]!)) {
          if (problems.allow('tsc backwards', 'warning', r)) diag.warning(r, `pCPU ${cpu}: TSC goes backwards at offset ${r}; the record keeps the previous time`);
        } else {
          last[0] = hi;
          last[1] = lo;
        }
      }
      records++;
      const cls = CLASS_OF_MAIN[(ev >>> 16) & 0xfff]!;
      classCounts[cls]!++;
      const extra = (hw >>> 28) & 7;
      if (ev === SWITCH && extra >= 4) {
        const prev = entity(words[d]!, words[d + 1]!);
        const next = entity(words[d + 2]!, words[d + 3]!);
        seeEntity(prev);
        seeEntity(next);
        if (!p.sawSwitch) {
          p.sawSwitch = true;
          p.firstSwitchPrev = prev;
        }
        if (current !== -1 && current !== prev) {
          if (problems.allow('run sequence', 'warning', r)) diag.warning(r, `pCPU ${cpu}: switch at offset ${r} switches out ${entityName(prev)}, but ${entityName(current)} was running (switched in at offset ${p.currentSince})`);
        }
        current = next;
        p.currentSince = r;
      } else if ((ev & ~0xff0) === RUNSTATE_CHANGE && extra >= 1) {
        const w = words[d]!;
        seeEntity(entity(w >>> 16, w & 0xffff));
      } else if (cls === HVM_CLASS && current !== -1 && (ev & 0xf000) !== 0x4000) {
        // HVM_EMUL records appear in any context (xenalyze.c hvm_process); the rest belong to the guest.
        if (current >>> 16 !== hvmDomain) {
          hvmDomain = current >>> 16;
          hvmDomains.add(hvmDomain);
        }
      } else if (ev === LOST) {
        lostMarkers++;
        const n = extra >= 1 ? words[d]! : 0;
        lostRecords += n;
        if (problems.allow('lost records', 'warning', r)) diag.warning(r, `pCPU ${cpu}: Xen dropped ${n} trace records here (trace buffer full); the run sequence restarts`);
        current = -1; // the switches that were lost make the next one unverifiable
      } else if (ev === WRAP) {
        wraps++;
        if (problems.allow('wrap', 'info', r)) diag.info(r, `pCPU ${cpu}: trace buffer wrap marker`);
      }
      r += bytes;
    }
    p.current = current;
    p.lastHi = last[0]!;
    p.lastLo = last[1]!;
    p.hasTsc = hasTsc;
    p.records += records - recordsBefore;
    p.bytes += r - pos;
    p.unitBytes += r - pos;
    p.unit.windowStarts.push(pos);
    p.unit.windowEnds.push(r);
    pos = dataStart + declared;
  }
  if (pos < size) {
    if (problems.allow('trailing', 'error', pos)) diag.error(pos, `${size - pos} trailing bytes at offset ${pos} are too short for a window record (truncated file)`);
  }
  if (records === 0) diag.warning(0, 'no xentrace records found');

  // Time base: the earliest first TSC over pCPUs (each pCPU's records are in TSC order).
  let baseHi = 0;
  let baseLo = 0;
  let haveBase = false;
  for (const p of pcpus.values()) {
    if (!p.hasTsc) continue;
    if (!haveBase || p.firstHi < baseHi || (p.firstHi === baseHi && p.firstLo < baseLo)) {
      baseHi = p.firstHi;
      baseLo = p.firstLo;
      haveBase = true;
    }
  }
  const rel = (hi: number, lo: number): number => (hi - baseHi) * 4294967296 + (lo - baseLo);
  for (const p of pcpus.values()) {
    for (const e of p.pendingEnter) {
      e.unit.enteringCycles = e.hasTsc ? rel(e.hi, e.lo) : p.hasTsc ? rel(p.firstHi, p.firstLo) : 0;
      // Before a pCPU's first switch, the vCPU it switches out is the one that was running.
      if (e === p.pendingEnter[0] && e.unit.enteringEntity === -1 && p.sawSwitch) e.unit.enteringEntity = p.firstSwitchPrev;
    }
    p.pendingEnter.length = 0;
    p.unit = undefined;
  }

  // Domains and vCPUs for the model (vms named dom<ID>); the idle domain separately.
  const byDomain = new Map<number, number[]>();
  const idleVcpus: number[] = [];
  for (const e of entities) {
    const dom = e >>> 16;
    const v = e & 0xffff;
    if (dom === IDLE_DOMAIN) idleVcpus.push(v);
    else {
      let l = byDomain.get(dom);
      if (!l) byDomain.set(dom, (l = []));
      l.push(v);
    }
  }
  const domains = [...byDomain.entries()].sort((a, b) => a[0] - b[0]).map(([domid, vcpus]) => ({
    domid,
    name: `dom${domid}`,
    vcpus: vcpus.sort((a, b) => a - b),
    hvm: hvmDomains.has(domid),
  }));
  idleVcpus.sort((a, b) => a - b);

  const classes: Record<string, number> = {};
  for (let c = 0; c < classCounts.length; c++) {
    if (classCounts[c]) classes[c < N_CLASSES ? CLASS_NAMES[c]![1] : CLASS_UNKNOWN] = classCounts[c]!;
  }
  const cpuList = [...pcpus.values()].sort((a, b) => a.cpu - b.cpu);
  const baseTsc = haveBase ? ((BigInt(baseHi) << 32n) | BigInt(baseLo)).toString() : null;
  const info: FormatInfo = {
    format: 'xentrace',
    clock: 'tsc',
    layerHint: 'host',
    entity: 'xen-vcpu',
    cpuHz,
    extra: {
      cpuHz,
      cpuHzSource: cpuHzGiven ? 'option' : 'default',
      cpuHzNote: 'xentrace files do not record the TSC frequency: times assume cpuHz (set it with --cpu-hz; 2.4 GHz is xenalyze\'s default)',
      timeBase: { tsc: baseTsc, note: 'ts ns = (record TSC - timeBase.tsc) * 1e9 / cpuHz' },
      records,
      classes,
      pcpus: cpuList.map((p) => ({ cpu: p.cpu, windows: p.windows, records: p.records, bytes: p.bytes })),
      lost: { markers: lostMarkers, records: lostRecords },
      wraps,
      tscBackwards: problems.count('tsc backwards'),
      runSequenceBreaks: problems.count('run sequence'),
      skippedBytes,
      xen: {
        domains,
        idle: { domid: XEN_IDLE_DOMAIN, vcpus: idleVcpus },
        ...(entitiesTruncated ? { truncated: true } : {}),
      },
    },
  };
  const partOfCpu = new Map<number, number>();
  const nsPerCycle = 1e9 / cpuHz;
  return {
    units: units.map((u) => {
      const part = (partOfCpu.get(u.cpu) ?? 0) + 1;
      partOfCpu.set(u.cpu, part);
      // The reader starts the unit's clock at enteringCycles and only moves it forward, so this is a
      // lower bound on its rows' times (rounded as reader.ts rounds them): the merge can start the
      // units in time order and emit while later ones are unread.
      const minTsNs = u.enteringCycles * nsPerCycle + ROUND_MAGIC - ROUND_MAGIC;
      return { start: u.windowStarts[0] ?? 0, end: u.windowEnds[u.windowEnds.length - 1] ?? 0, label: `pCPU ${u.cpu} part ${part}`, minTsNs };
    }),
    shared: { baseTscHi: baseHi, baseTscLo: baseLo, cpuHz, units },
    info,
    order: 'merge-by-time',
  };
}
