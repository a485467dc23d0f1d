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
  TRC_SCHED_RUNSTATE_CHANGE, TRC_SCHED_SWITCH, TRC_SCHED_SWITCH_INFNEXT, TRC_SCHED_SWITCH_INFPREV,
  TRC_TRACE_WRAP_BUFFER, classIndex, entityName,
} from './records.ts';
import { WordWindow } from './word-window.ts';

/** xenalyze's assumption when not told (DEFAULT_CPU_HZ in tools/xentrace/xenalyze.c). */
export const DEFAULT_CPU_HZ = 2_400_000_000;
/** Xen's NR_CPUS tops out at 4096 on x86; anything larger in a CPU_CHANGE record is corruption. */
export const MAX_PCPUS = 4096;
/** A unit (a contiguous range of windows, all pCPUs) ends past this many bytes of the file. */
export const DEFAULT_UNIT_BYTES = 16 << 20;
/**
 * Upper bound on a unit's bytes whatever ReadOptions.unitBytes says: the reader holds a whole unit's
 * rows (~46 B of input -> 52 B of columns + 4 B of merge order per record) before it merges them.
 */
export const MAX_UNIT_BYTES = 4 << 20;
/** Bound on reported diagnostics of one kind (the rest are counted in info.extra). */
const MAX_DIAG_PER_KIND = 20;
/** Bound on distinct (domain, vCPU) pairs remembered for info.extra (corrupt files invent many). */
const MAX_ENTITIES = 1 << 16;

// Module-local copies of imported constants and a class table: under tsx every imported binding is
// a getter call, and classIndex() loops; both showed at the top of the profile of this pass.
const CPU_CHANGE_HDR = CPU_CHANGE_HEADER;
const ID_MASK = EVENT_MASK;
const SWITCH = TRC_SCHED_SWITCH;
const INFPREV = TRC_SCHED_SWITCH_INFPREV;
const INFNEXT = TRC_SCHED_SWITCH_INFNEXT;
const LOST = TRC_LOST_RECORDS;
const WRAP = TRC_TRACE_WRAP_BUFFER;
const RUNSTATE_CHANGE = TRC_SCHED_RUNSTATE_CHANGE;
const IDLE_DOMAIN = XEN_IDLE_DOMAIN;
const N_CLASSES = CLASS_NAMES.length;
const HVM_CLASS = CLASS_NAMES.findIndex(([, name]) => name === 'HVM');
/** Bits 16-27 of an id -> index into CLASS_NAMES (N_CLASSES when no class). */
const CLASS_OF_MAIN = new Uint8Array(4096).map((_, main) => classIndex(main << 16));
const entity = (dom: number, vcpu: number): number => ((dom & 0x7fff) << 16) | (vcpu & 0xffff);

/**
 * A contiguous range of the file's windows (of any pCPUs), with the reader state of each pCPU in it
 * as the previous windows of that pCPU left it, so a unit reads exactly the rows the pCPU's whole
 * sequence of windows gives there, wherever the unit boundaries fall. Per-pCPU fields are arrays
 * indexed by the pCPU's slot in `cpus`.
 */
export interface XenUnit {
  /** File offsets of the CPU_CHANGE records that open this unit's windows, in file order. */
  windowStarts: number[];
  /** End of the whole records of each window (clipped where the window is truncated or corrupt). */
  windowEnds: number[];
  /** Slot (index into cpus) of each window's pCPU. */
  windowSlots: number[];
  /** The pCPUs with windows in this unit, in order of their first window in it. */
  cpus: number[];
  /** Entity (xenEntity) running on the pCPU when the unit starts; -1 when unknown. */
  enteringEntity: number[];
  /** TSC (cycles after the time base) the pCPU's clock is at when the unit starts. */
  enteringCycles: number[];
  /** SWITCH_INFPREV / INFNEXT seen since the pCPU's last switch: entity (-1 none) and µs. */
  infPrevEntity: number[];
  infPrevUs: number[];
  infNextEntity: number[];
  infNextUs: number[];
  /**
   * A switch that was the pCPU's last record before this unit (its row waits for the next record,
   * which gives prev's state): its offset (-1: none), prev, next, run and wait µs. Its time is the
   * entering time.
   */
  pendingOffset: number[];
  pendingPrev: number[];
  pendingNext: number[];
  pendingRunUs: number[];
  pendingWaitUs: number[];
  /** 1 when no later unit has windows of the pCPU: a switch still pending at the end is written then. */
  lastOfCpu: number[];
}

export interface XenShared {
  /** Time base: the earliest first-TSC of any pCPU, as two u32 halves. ts = (tsc - base) / cpuHz. */
  baseTscHi: number;
  baseTscLo: number;
  cpuHz: number;
  units: XenUnit[];
  /**
   * pCPU -> order of its first window in the file: rows of equal time are ordered by it (then by
   * file order within the pCPU), in the unit reader's merge and in the indexer's (plan.cpuTieRank).
   */
  cpuTieRank: number[];
}

/** Marker for an entering entity that is "the prev of the pCPU's first switch" (resolved at the end). */
const FIRST_SWITCH_PREV = -2;

interface EnterSnapshot {
  unit: XenUnit;
  slot: number;
  hi: number;
  lo: number;
  hasTsc: boolean;
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
  /** A LOST_RECORDS marker before the first switch (the reader's vCPU is then unknown, -1). */
  lostBeforeSwitch: boolean;
  rank: number;
  /** Unit that last had a window of this pCPU, and the pCPU's slot in it. */
  unit: XenUnit | undefined;
  slot: number;
  infPrevEntity: number;
  infPrevUs: number;
  infNextEntity: number;
  infNextUs: number;
  pendingOffset: number;
  pendingPrev: number;
  pendingNext: number;
  pendingRunUs: number;
  pendingWaitUs: number;
  /** Units whose entering TSC is the pCPU's state at their start (resolved once the base is known). */
  pendingEnter: EnterSnapshot[];
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

export function planXentrace(src: ByteSource, diag: DiagnosticSink, opts: { cpuHz?: number; unitBytes?: number }): XenPlan {
  const cpuHzGiven = opts.cpuHz !== undefined;
  const cpuHz = opts.cpuHz ?? DEFAULT_CPU_HZ;
  // Outside 1 MHz..1 THz the ns of a long trace stop being finite or meaningful: refuse, naming it.
  if (!(cpuHz >= 1e6 && cpuHz <= 1e12)) throw new TraceFormatError(`--cpu-hz ${cpuHz} is outside 1e6..1e12 Hz (a TSC frequency, e.g. 2.4e9)`, 0);
  const unitBytesMax = Math.min(MAX_UNIT_BYTES, Math.max(1 << 16, opts.unitBytes ?? DEFAULT_UNIT_BYTES));
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
  const swState = new Int32Array(8);
  let unit: XenUnit | undefined;
  let unitStart = 0;
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
        current: -1, currentSince: -1, firstSwitchPrev: -1, sawSwitch: false, lostBeforeSwitch: false, rank: pcpus.size,
        unit: undefined, slot: -1, infPrevEntity: -1, infPrevUs: -1, infNextEntity: -1, infNextUs: -1,
        pendingOffset: -1, pendingPrev: -1, pendingNext: -1, pendingRunUs: -1, pendingWaitUs: -1, pendingEnter: [],
      };
      pcpus.set(cpu, p);
    }
    // Units are contiguous ranges of the file (every pCPU's windows in it): the unit reader merges
    // its pCPUs by time itself, so the indexer merges a few long sorted runs instead of runs of 1-2
    // rows from per-pCPU units (the coordinator thread's merge was ~1/3 of the index CPU time).
    if (unit === undefined || pos - unitStart >= unitBytesMax) {
      unit = {
        windowStarts: [], windowEnds: [], windowSlots: [], cpus: [], enteringEntity: [], enteringCycles: [],
        infPrevEntity: [], infPrevUs: [], infNextEntity: [], infNextUs: [],
        pendingOffset: [], pendingPrev: [], pendingNext: [], pendingRunUs: [], pendingWaitUs: [], lastOfCpu: [],
      };
      unitStart = pos;
      units.push(unit);
    }
    if (p.unit !== unit) {
      // The pCPU's first window in this unit: snapshot the reader state its earlier windows left.
      if (p.unit !== undefined) p.unit.lastOfCpu[p.slot] = 0;
      p.unit = unit;
      p.slot = unit.cpus.length;
      unit.cpus.push(cpu);
      unit.enteringEntity.push(p.sawSwitch ? p.current : p.lostBeforeSwitch ? -1 : FIRST_SWITCH_PREV);
      unit.enteringCycles.push(0);
      unit.infPrevEntity.push(p.infPrevEntity);
      unit.infPrevUs.push(p.infPrevUs);
      unit.infNextEntity.push(p.infNextEntity);
      unit.infNextUs.push(p.infNextUs);
      unit.pendingOffset.push(p.pendingOffset);
      unit.pendingPrev.push(p.pendingPrev);
      unit.pendingNext.push(p.pendingNext);
      unit.pendingRunUs.push(p.pendingRunUs);
      unit.pendingWaitUs.push(p.pendingWaitUs);
      unit.lastOfCpu.push(1);
      p.pendingEnter.push({ unit, slot: p.slot, hi: p.lastHi, lo: p.lastLo, hasTsc: p.hasTsc });
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
    // Where the window's last switch ends: when the window's records end there, the switch stays
    // pending (no per-record bookkeeping: this loop is the plan's whole cost).
    let lastSwitch = -1;
    let lastSwitchEnd = -1;
    // The pCPU's INFPREV/INFNEXT (entity, µs) and last switch (prev, next, run µs, wait µs), as
    // Int32 slots: as object fields or locals, entities past 2^30 were boxed per switch.
    const sw = swState;
    sw[0] = p.infPrevEntity;
    sw[1] = p.infPrevUs;
    sw[2] = p.infNextEntity;
    sw[3] = p.infNextUs;
    sw[4] = p.pendingPrev;
    sw[5] = p.pendingNext;
    sw[6] = p.pendingRunUs;
    sw[7] = p.pendingWaitUs;
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
        // As reader.ts fills the switch row: INFPREV/INFNEXT of the same vCPUs just before it.
        sw[4] = prev;
        sw[5] = next;
        sw[6] = sw[0] === prev ? sw[1]! : -1;
        sw[7] = sw[2] === next ? sw[3]! : -1;
        sw[0] = sw[2] = -1;
        lastSwitch = r;
        lastSwitchEnd = r + bytes;
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
      } else if ((ev === INFPREV || ev === INFNEXT) && extra >= 3) {
        const k = ev === INFPREV ? 0 : 2;
        sw[k] = entity(words[d]!, words[d + 1]!);
        sw[k + 1] = Math.floor(words[d + 2]! / 1000);
      } else if (ev === LOST) {
        if (!p.sawSwitch) p.lostBeforeSwitch = true;
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
    if (r > dataStart) p.pendingOffset = lastSwitchEnd === r ? lastSwitch : -1;
    p.infPrevEntity = sw[0]!;
    p.infPrevUs = sw[1]!;
    p.infNextEntity = sw[2]!;
    p.infNextUs = sw[3]!;
    p.pendingPrev = sw[4]!;
    p.pendingNext = sw[5]!;
    p.pendingRunUs = sw[6]!;
    p.pendingWaitUs = sw[7]!;
    p.current = current;
    p.lastHi = last[0]!;
    p.lastLo = last[1]!;
    p.hasTsc = hasTsc;
    p.records += records - recordsBefore;
    p.bytes += r - pos;
    unit.windowStarts.push(pos);
    unit.windowEnds.push(r);
    unit.windowSlots.push(p.slot);
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
  const cpuTieRank: number[] = [];
  for (const p of pcpus.values()) {
    cpuTieRank[p.cpu] = p.rank;
    for (const e of p.pendingEnter) {
      e.unit.enteringCycles[e.slot] = e.hasTsc ? rel(e.hi, e.lo) : p.hasTsc ? rel(p.firstHi, p.firstLo) : 0;
      // Before a pCPU's first switch, the vCPU it switches out is the one that was running.
      if (e.unit.enteringEntity[e.slot] === FIRST_SWITCH_PREV) e.unit.enteringEntity[e.slot] = p.sawSwitch ? p.firstSwitchPrev : -1;
    }
    p.pendingEnter.length = 0;
    p.unit = undefined;
  }
  for (let c = 0; c < cpuTieRank.length; c++) cpuTieRank[c] ??= 0;

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
  const nsPerCycle = 1e9 / cpuHz;
  const plan: XenPlan = {
    units: units.map((u, k) => {
      // The reader starts each pCPU's clock at its enteringCycles and only moves it forward, so the
      // smallest is a lower bound on the unit's rows' times (rounded as reader.ts rounds them): the
      // indexer can start the units in time order and merge while later ones are unread.
      let minCycles = Infinity;
      for (const c of u.enteringCycles) if (c < minCycles) minCycles = c;
      const minTsNs = (minCycles === Infinity ? 0 : minCycles) * nsPerCycle + ROUND_MAGIC - ROUND_MAGIC;
      return { start: u.windowStarts[0] ?? 0, end: u.windowEnds[u.windowEnds.length - 1] ?? 0, label: `part ${k + 1} (${u.cpus.length} pCPUs)`, minTsNs };
    }),
    shared: { baseTscHi: baseHi, baseTscLo: baseLo, cpuHz, units, cpuTieRank },
    info,
    order: 'merge-by-time',
    cpuTieRank,
  };
  return plan;
}

/**
 * The plan, plus the tie order for the indexer's merge: rows of equal time from different units
 * are ordered by cpuTieRank[row's cpu] before unit order (ingest.ts reads it when present).
 */
export type XenPlan = ReadPlan<XenShared> & { cpuTieRank: number[] };
