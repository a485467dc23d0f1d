// Reads one xentrace unit (a run of one pCPU's windows, see plan.ts) into an EventSink: one row per
// record, scheduler and HVM entry/exit records decoded into the common columns (shared/schema.ts).
// Payload layouts: xen `xen/common/sched/core.c` (switch, infprev/infnext, runstate, wake/block),
// `credit.c`/`null.c` (migrations), `xen/common/trace.c` (lost records), `tools/xentrace/xenalyze.c`.

import { EventKind, NO_STATE, TaskState } from '../../../shared/schema.ts';
import type { ByteSource } from '../../engine/io/byte-source.ts';
import type { CancelSignal, DiagnosticSink, EventSink } from '../types.ts';
import type { XenShared } from './plan.ts';
import {
  CPU_CHANGE_BYTES, EVENT_MASK, TRC_CSCHED_STOLEN_UNIT, TRC_LOST_RECORDS, TRC_SCHED_BLOCK,
  TRC_SCHED_CONTINUE_RUNNING, TRC_SCHED_SLEEP, TRC_SCHED_SWITCH, TRC_SCHED_SWITCH_INFNEXT,
  TRC_SCHED_SWITCH_INFPREV, TRC_SCHED_WAKE, TRC_SCHED_YIELD, TRC_SNULL_MIGRATE, TRC_TRACE_CPU_CHANGE,
  TRC_SCHED_RUNSTATE_CHANGE, entityName, eventName,
} from './records.ts';
import { WINDOW_BYTES, WordWindow } from './word-window.ts';

// Module-local copies of imported constants: under tsx (tests, benchmarks) every imported binding
// is a getter call, which cost ~45% of the hot loop (profiled on 100 MB of the public recording).
const SWITCH = TRC_SCHED_SWITCH;
const INFPREV = TRC_SCHED_SWITCH_INFPREV;
const INFNEXT = TRC_SCHED_SWITCH_INFNEXT;
const WAKE = TRC_SCHED_WAKE;
const BLOCK = TRC_SCHED_BLOCK;
const SLEEP = TRC_SCHED_SLEEP;
const YIELD = TRC_SCHED_YIELD;
const CONTINUE_RUNNING = TRC_SCHED_CONTINUE_RUNNING;
const STOLEN = TRC_CSCHED_STOLEN_UNIT;
const SNULL_MIGRATE = TRC_SNULL_MIGRATE;
const LOST = TRC_LOST_RECORDS;
const DOM_ADD = 0x00028001; // TRC_SCHED_DOM_ADD: domid
const DOM_REM = 0x00028002; // TRC_SCHED_DOM_REM: domid
const DOM0_DOM_ADD = 0x00041001;
const DOM0_DOM_REM = 0x00041002;
const SHUTDOWN = 0x00028007; // TRC_SCHED_SHUTDOWN: domid, vcpuid, reason
const SHUTDOWN_CODE = 0x00028010;
const CPU_CHANGE = TRC_TRACE_CPU_CHANGE;
const RUNSTATE_CHANGE = TRC_SCHED_RUNSTATE_CHANGE;
const ID_MASK = EVENT_MASK;
const K_OTHER: EventKind = EventKind.other;
const K_SWITCH: EventKind = EventKind.switch;
const K_RUNSTATE: EventKind = EventKind.runstate;
const K_WAKEUP: EventKind = EventKind.wakeup;
const K_MIGRATE: EventKind = EventKind.migrate;
const K_VM_ENTRY: EventKind = EventKind.vmEntry;
const K_VM_EXIT: EventKind = EventKind.vmExit;
const NONE = NO_STATE;
const STATE_UNKNOWN: number = TaskState.unknown;
/**
 * x + 1.5*2^52 - 1.5*2^52 rounds x to the nearest integer (ties to even) for 0 <= x < 2^52 ns
 * (52 days). Math.round here cost 15% of the unit loop (profiled, 100 MB of the public recording).
 */
const ROUND_MAGIC = 6755399441055744;
/** xenEntity() inlined: (domid & 0x7fff) << 16 | vcpuid & 0xffff. */
const entity = (dom: number, vcpu: number): number => ((dom & 0x7fff) << 16) | (vcpu & 0xffff);

/** Distinct unnamed event ids given their own name per unit; more share one name (corrupt input). */
const MAX_UNNAMED_IDS = 1024;

/** Xen runstate a vCPU left the pCPU in (RUNSTATE_* 0..3) -> TaskState bits of the switch row. */
const PREV_STATE_OF_RUNSTATE: readonly number[] = [
  TaskState.running, // running -> running: not expected after a switch
  TaskState.preempted, // runnable: preempted ("R+")
  TaskState.interruptible, // blocked: waiting for an event ("S")
  TaskState.stopped, // offline: down or paused ("T")
];

const clampI32 = (v: number): number => (v > 0x7fffffff ? 0x7fffffff : v);

let readBuffer: Uint8Array | null = null;

/**
 * Read unit `unitIndex`: its windows in file order, each pCPU continuing from the state its earlier
 * windows left (plan.ts snapshots it at the unit start). The rows are those of reading each pCPU's
 * windows as one sequence, whatever the unit boundaries; each pCPU's rows are in time order, the
 * pCPUs interleave window by window (the indexer merges them by (ts, cpuTieRank): ingest-unit.ts).
 */
export function readXenUnit(
  src: ByteSource,
  shared: XenShared,
  unitIndex: number,
  sink: EventSink,
  diag: DiagnosticSink,
  signal: CancelSignal,
  progress?: (bytesDone: number) => void,
): void {
  const unit = shared.units[unitIndex];
  if (unit === undefined) throw new RangeError(`xentrace: no unit ${unitIndex}`);
  const baseHi = shared.baseTscHi;
  const baseLo = shared.baseTscLo;
  const nsPerCycle = 1e9 / shared.cpuHz;
  // One read buffer per thread: a fresh 4 MiB per unit was zeroed for every unit (~0.5 s of CPU
  // per 500 MB with 1 MiB units).
  readBuffer ??= new Uint8Array(WINDOW_BYTES);
  const win = new WordWindow(src, WINDOW_BYTES, readBuffer);
  const nSlots = unit.cpus.length;
  const nWindows = unit.windowStarts.length;
  // Read ahead within this unit only (its windows are one contiguous file range).
  let unitEnd = 0;
  for (let w = 0; w < nWindows; w++) unitEnd = Math.max(unitEnd, unit.windowEnds[w]!);
  win.readAheadLimit = unitEnd;

  const eventIds = new Map<number, number>();
  // Direct-mapped cache in front of the map: a unit sees a few dozen ids, most records hit here.
  const cacheKeys = new Int32Array(1024).fill(-1);
  const cacheIds = new Int32Array(1024);
  let unnamed = 0;
  const eventIdOf = (ev: number): number => {
    const slot = (ev ^ (ev >>> 10)) & 1023;
    if (cacheKeys[slot] === ev) return cacheIds[slot]!;
    let id = eventIds.get(ev);
    if (id === undefined) {
      let name = eventName(ev);
      if (name.startsWith('0x') && ++unnamed > MAX_UNNAMED_IDS) name = 'unknown (too many distinct event ids)';
      id = sink.eventId(name);
      eventIds.set(ev, id);
    }
    cacheKeys[slot] = ev;
    cacheIds[slot] = id;
    return id;
  };
  const commIds = new Map<number, number>();
  const commKeys = new Int32Array(256).fill(-1);
  const commVals = new Int32Array(256);
  const commOf = (e: number): number => {
    if (e < 0) return -1;
    const slot = (e ^ (e >>> 13)) & 255;
    if (commKeys[slot] === e) return commVals[slot]!;
    let id = commIds.get(e);
    if (id === undefined) {
      id = sink.commId(entityName(e));
      commIds.set(e, id);
    }
    commKeys[slot] = e;
    commVals[slot] = id;
    return id;
  };
  const evSwitch = eventIdOf(SWITCH);
  const evCpuChange = eventIdOf(CPU_CHANGE);

  // Per-pCPU reader state (slot = index in unit.cpus), loaded into locals for each window.
  const sCurrent = new Int32Array(nSlots);
  const sCurrentComm = new Int32Array(nSlots);
  const sCycles = new Float64Array(nSlots);
  const sNs = new Float64Array(nSlots);
  const sPending = new Uint8Array(nSlots);
  const sPNs = new Float64Array(nSlots);
  const sPPrev = new Int32Array(nSlots);
  const sPNext = new Int32Array(nSlots);
  const sPRun = new Int32Array(nSlots);
  const sPWait = new Int32Array(nSlots);
  const sPOffset = new Float64Array(nSlots);
  const sPPrevComm = new Int32Array(nSlots);
  const sPNextComm = new Int32Array(nSlots);
  const sInfPrevE = new Int32Array(nSlots);
  const sInfPrevUs = new Int32Array(nSlots);
  const sInfNextE = new Int32Array(nSlots);
  const sInfNextUs = new Int32Array(nSlots);
  for (let s = 0; s < nSlots; s++) {
    sCurrent[s] = unit.enteringEntity[s]!;
    sCurrentComm[s] = commOf(unit.enteringEntity[s]!);
    sCycles[s] = unit.enteringCycles[s]!;
    sNs[s] = unit.enteringCycles[s]! * nsPerCycle + ROUND_MAGIC - ROUND_MAGIC;
    sInfPrevE[s] = unit.infPrevEntity[s]!;
    sInfPrevUs[s] = unit.infPrevUs[s]!;
    sInfNextE[s] = unit.infNextEntity[s]!;
    sInfNextUs[s] = unit.infNextUs[s]!;
    if (unit.pendingOffset[s]! >= 0) {
      // A switch that ended the pCPU's previous window (in an earlier unit): its row is written here,
      // after the record that follows it, as one reader of the whole pCPU would.
      sPending[s] = 1;
      sPNs[s] = sNs[s]!;
      sPPrev[s] = unit.pendingPrev[s]!;
      sPNext[s] = unit.pendingNext[s]!;
      sPRun[s] = unit.pendingRunUs[s]!;
      sPWait[s] = unit.pendingWaitUs[s]!;
      sPOffset[s] = unit.pendingOffset[s]!;
      sPPrevComm[s] = commOf(unit.pendingPrev[s]!);
      sPNextComm[s] = commOf(unit.pendingNext[s]!);
    }
  }

  // Time state in a typed array, as plan.ts keeps its TSC halves (there double locals were boxed per
  // record and this doubled the pass; here it measured neutral, kept for the same reason).
  const time = new Float64Array(2); // [last cycles, last ns]

  let bytesDone = 0;
  for (let w = 0; w < nWindows; w++) {
    if (signal.cancelled) return;
    const start = unit.windowStarts[w]!;
    const end = unit.windowEnds[w]!;
    const slot = unit.windowSlots[w]!;
    const cpu = unit.cpus[slot]!;
    let n = win.load(start, end);
    let words = win.words;
    let base = start;
    let loadedEnd = start + n;
    if (n < CPU_CHANGE_BYTES) {
      diag.error(start, `pCPU ${cpu}: window record at offset ${start} could not be read`);
      continue;
    }
    let current = sCurrent[slot]!;
    let currentComm = sCurrentComm[slot]!;
    time[0] = sCycles[slot]!;
    time[1] = sNs[slot]!;
    let pending = sPending[slot] === 1;
    let pNs = sPNs[slot]!;
    let pPrev = sPPrev[slot]!;
    let pNext = sPNext[slot]!;
    let pRuntimeUs = sPRun[slot]!;
    let pWaitUs = sPWait[slot]!;
    let pOffset = sPOffset[slot]!;
    let pPrevComm = sPPrevComm[slot]!;
    let pNextComm = sPNextComm[slot]!;
    // INFPREV / INFNEXT come just before their switch; kept to fill its arg0/arg1.
    let infPrevEntity = sInfPrevE[slot]!;
    let infPrevUs = sInfPrevUs[slot]!;
    let infNextEntity = sInfNextE[slot]!;
    let infNextUs = sInfNextUs[slot]!;

    // A switch still pending keeps waiting: its runstate record may open this window.
    sink.append(K_OTHER, evCpuChange, time[1]!, cpu, current, current, currentComm, -1, -1, NONE,
      words[1]! & 0xffff, clampI32(words[2]!), start);

    let r = start + CPU_CHANGE_BYTES;
    while (r < end) {
      if (r + 4 > loadedEnd) {
        n = win.load(r, end);
        words = win.words;
        base = r;
        loadedEnd = r + n;
        if (n < 4) break;
      }
      const i = (r - base) >>> 2;
      const hw = words[i]!;
      const extra = (hw >>> 28) & 7;
      const tscFlag = hw >>> 31;
      const bytes = 4 + tscFlag * 8 + extra * 4;
      if (r + bytes > loadedEnd) {
        if (base === r || r + bytes > end) break; // plan.ts reported it; never read past the window
        n = win.load(r, end);
        words = win.words;
        base = r;
        loadedEnd = r + n;
        continue;
      }
      let d = i + 1;
      if (tscFlag) {
        const cycles = (words[i + 2]! - baseHi) * 4294967296 + (words[i + 1]! - baseLo);
        d = i + 3;
        // Keep each pCPU in time order for the merge (plan.ts reported any regression).
        if (cycles > time[0]!) {
          time[0] = cycles;
          time[1] = cycles * nsPerCycle + ROUND_MAGIC - ROUND_MAGIC;
        }
      }
      const ev = hw & ID_MASK;

      if (pending) {
        let state = NONE;
        if ((ev & ~0xff0) === RUNSTATE_CHANGE && extra >= 1 && ((ev >>> 8) & 0xf) === 0) {
          const wd = words[d]!;
          if (entity(wd >>> 16, wd & 0xffff) === pPrev) state = PREV_STATE_OF_RUNSTATE[(ev >>> 4) & 0xf] ?? STATE_UNKNOWN;
        }
        sink.append(K_SWITCH, evSwitch, pNs, cpu, pPrev, pNext, pNextComm, pPrev, pPrevComm, state, pRuntimeUs, pWaitUs, pOffset);
        pending = false;
      }

      if (ev === SWITCH && extra >= 4) {
        const prev = entity(words[d]!, words[d + 1]!);
        const next = entity(words[d + 2]!, words[d + 3]!);
        pending = true;
        pNs = time[1]!;
        pPrev = prev;
        pNext = next;
        pRuntimeUs = infPrevEntity === prev ? infPrevUs : -1;
        pWaitUs = infNextEntity === next ? infNextUs : -1;
        pOffset = r;
        pPrevComm = commOf(prev);
        pNextComm = commOf(next);
        infPrevEntity = infNextEntity = -1;
        current = next;
        currentComm = pNextComm;
      } else {
        let kind = K_OTHER;
        let tid = current;
        let tidComm = currentComm;
        let arg0 = -1;
        let arg1 = -1;
        if ((ev & ~0xff0) === RUNSTATE_CHANGE) {
          if (extra >= 1) {
            const wd = words[d]!;
            tid = entity(wd >>> 16, wd & 0xffff);
            tidComm = commOf(tid);
            kind = K_RUNSTATE;
            arg0 = (ev >>> 8) & 0xf;
            arg1 = (ev >>> 4) & 0xf;
          }
        } else if (ev === CONTINUE_RUNNING) {
          if (extra >= 1) {
            const wd = words[d]!;
            tid = entity(wd >>> 16, wd & 0xffff);
            tidComm = commOf(tid);
            kind = K_RUNSTATE;
            arg0 = 0;
            arg1 = 0;
          }
        } else if (ev === INFPREV || ev === INFNEXT) {
          if (extra >= 3) {
            tid = entity(words[d]!, words[d + 1]!);
            tidComm = commOf(tid);
            arg0 = Math.floor(words[d + 2]! / 1000);
            if (ev === INFPREV) {
              infPrevEntity = tid;
              infPrevUs = arg0;
            } else {
              infNextEntity = tid;
              infNextUs = arg0;
              const sliceNs = extra >= 4 ? words[d + 3]! | 0 : -1;
              if (sliceNs > 0) arg1 = Math.floor(sliceNs / 1000); // -1 = no slice (as xenalyze reads it)
            }
          }
        } else if (ev === WAKE || ev === BLOCK || ev === SLEEP || ev === YIELD) {
          if (extra >= 2) {
            tid = entity(words[d]!, words[d + 1]!);
            tidComm = commOf(tid);
            if (ev === WAKE) kind = K_WAKEUP;
          }
        } else if (ev === STOLEN) {
          if (extra >= 3) {
            tid = entity(words[d + 1]!, words[d + 2]!);
            tidComm = commOf(tid);
            kind = K_MIGRATE;
            arg0 = clampI32(words[d]!);
            arg1 = cpu;
          }
        } else if (ev === SNULL_MIGRATE) {
          if (extra >= 2) {
            const a = words[d]!;
            const b = words[d + 1]!;
            tid = entity(a >>> 16, a & 0xffff);
            tidComm = commOf(tid);
            kind = K_MIGRATE;
            arg0 = b & 0xffff;
            arg1 = b >>> 16;
          }
        } else if ((ev & 0x0ffff000) === 0x00081000) {
          // TRC_HVM_ENTRYEXIT; the nested and 64-bit flags do not change the meaning.
          const base = ev & ~0x500;
          if (base === 0x00081001 && (ev & 0x100) === 0) {
            kind = K_VM_ENTRY;
            arg0 = current >= 0 ? current & 0xffff : -1;
          } else if (base === 0x00081002 || base === 0x00081003) {
            kind = K_VM_EXIT;
            arg0 = current >= 0 ? current & 0xffff : -1;
            if (extra >= 1) arg1 = clampI32(words[d]!);
          }
        } else if (ev === DOM_ADD || ev === DOM_REM || ev === DOM0_DOM_ADD || ev === DOM0_DOM_REM) {
          if (extra >= 1) arg0 = words[d]! & 0x7fff;
        } else if (ev === SHUTDOWN || ev === SHUTDOWN_CODE) {
          if (extra >= 3) {
            tid = entity(words[d]!, words[d + 1]!);
            tidComm = commOf(tid);
            arg0 = clampI32(words[d + 2]!);
          }
        } else if (ev === LOST) {
          if (extra >= 2) {
            const wd = words[d + 1]!;
            tid = entity(wd & 0xffff, wd >>> 16);
            tidComm = commOf(tid);
            arg0 = clampI32(words[d]!);
          }
        } else if (ev === CPU_CHANGE && extra >= 2) {
          arg0 = words[d]! & 0xffff;
          arg1 = clampI32(words[d + 1]!);
        }
        sink.append(kind, eventIdOf(ev), time[1]!, cpu, current, tid, tidComm, -1, -1, NONE, arg0, arg1, r);
        if (ev === LOST) {
          // Xen lost track of what ran: rows until the next switch have no current vCPU.
          current = -1;
          currentComm = -1;
        }
      }
      r += bytes;
    }
    sCurrent[slot] = current;
    sCurrentComm[slot] = currentComm;
    sCycles[slot] = time[0]!;
    sNs[slot] = time[1]!;
    sPending[slot] = pending ? 1 : 0;
    sPNs[slot] = pNs;
    sPPrev[slot] = pPrev;
    sPNext[slot] = pNext;
    sPRun[slot] = pRuntimeUs;
    sPWait[slot] = pWaitUs;
    sPOffset[slot] = pOffset;
    sPPrevComm[slot] = pPrevComm;
    sPNextComm[slot] = pNextComm;
    sInfPrevE[slot] = infPrevEntity;
    sInfPrevUs[slot] = infPrevUs;
    sInfNextE[slot] = infNextEntity;
    sInfNextUs[slot] = infNextUs;
    bytesDone += end - start;
    if (progress) progress(bytesDone);
  }
  // A switch that ends the pCPU's last window of the file has no record after it.
  for (let s = 0; s < nSlots; s++) {
    if (sPending[s] !== 1 || unit.lastOfCpu[s] !== 1) continue;
    sink.append(K_SWITCH, evSwitch, sPNs[s]!, unit.cpus[s]!, sPPrev[s]!, sPNext[s]!, sPNextComm[s]!, sPPrev[s]!, sPPrevComm[s]!, NONE, sPRun[s]!, sPWait[s]!, sPOffset[s]!);
  }
}
