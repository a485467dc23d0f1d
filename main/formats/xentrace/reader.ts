// Reads one xentrace unit (a run of one pCPU's windows, see plan.ts) into an EventSink: one row per
// record, scheduler and HVM entry/exit records decoded into the common columns (shared/schema.ts).
// Payload layouts: xen `xen/common/sched/core.c` (switch, infprev/infnext, runstate, wake/block),
// `credit.c`/`null.c` (migrations), `xen/common/trace.c` (lost records), `tools/xentrace/xenalyze.c`.

import { EventKind, NO_STATE, TaskState, XEN_IDLE_DOMAIN, xenEntity } from '../../../shared/schema.ts';
import type { ByteSource } from '../../engine/io/byte-source.ts';
import type { CancelSignal, DiagnosticSink, EventSink } from '../types.ts';
import type { XenShared } from './plan.ts';
import {
  CPU_CHANGE_BYTES, EVENT_MASK, TRC_CSCHED_STOLEN_UNIT, TRC_LOST_RECORDS, TRC_SCHED_BLOCK,
  TRC_SCHED_CONTINUE_RUNNING, TRC_SCHED_SLEEP, TRC_SCHED_SWITCH, TRC_SCHED_SWITCH_INFNEXT,
  TRC_SCHED_SWITCH_INFPREV, TRC_SCHED_WAKE, TRC_SCHED_YIELD, TRC_SNULL_MIGRATE, TRC_TRACE_CPU_CHANGE,
  entityName, eventName, hvmEntryExit, isRunstateChange,
} from './records.ts';
import { WordWindow } from './word-window.ts';

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
  const cpu = unit.cpu;
  const baseHi = shared.baseTscHi;
  const baseLo = shared.baseTscLo;
  const nsPerCycle = 1e9 / shared.cpuHz;
  const win = new WordWindow(src);

  const eventIds = new Map<number, number>();
  let unnamed = 0;
  const eventIdOf = (ev: number): number => {
    let id = eventIds.get(ev);
    if (id === undefined) {
      let name = eventName(ev);
      if (name.startsWith('0x') && ++unnamed > MAX_UNNAMED_IDS) name = 'unknown (too many distinct event ids)';
      id = sink.eventId(name);
      eventIds.set(ev, id);
    }
    return id;
  };
  const commIds = new Map<number, number>();
  const commOf = (entity: number): number => {
    if (entity < 0) return -1;
    let id = commIds.get(entity);
    if (id === undefined) {
      id = sink.commId(entityName(entity));
      commIds.set(entity, id);
    }
    return id;
  };
  const evSwitch = eventIdOf(TRC_SCHED_SWITCH);

  let current = unit.enteringEntity;
  let currentComm = commOf(current);
  let lastCycles = unit.enteringCycles;
  let lastNs = Math.round(lastCycles * nsPerCycle);

  // A switch row waits for the record after it: Xen traces prev's runstate change right after the
  // switch (sched_switch_units in core.c), which gives the state prev was left in.
  let pending = false;
  let pNs = 0;
  let pPrev = -1;
  let pNext = -1;
  let pRuntimeUs = -1;
  let pWaitUs = -1;
  let pOffset = 0;
  // INFPREV / INFNEXT come just before their switch; kept to fill its arg0/arg1.
  let infPrevEntity = -1;
  let infPrevUs = -1;
  let infNextEntity = -1;
  let infNextUs = -1;
  const flush = (prevState: number): void => {
    sink.append(EventKind.switch, evSwitch, pNs, cpu, pPrev, pNext, commOf(pNext), pPrev, commOf(pPrev), prevState, pRuntimeUs, pWaitUs, pOffset);
    pending = false;
  };

  let bytesDone = 0;
  const nWindows = unit.windowStarts.length;
  for (let w = 0; w < nWindows; w++) {
    if (signal.cancelled) return;
    const start = unit.windowStarts[w]!;
    const end = unit.windowEnds[w]!;
    let n = win.load(start, end);
    let words = win.words;
    let base = start;
    let loadedEnd = start + n;
    if (n < CPU_CHANGE_BYTES) {
      diag.error(start, `pCPU ${cpu}: window record at offset ${start} could not be read`);
      continue;
    }
    // A switch still pending keeps waiting: its runstate record may open this window.
    sink.append(EventKind.other, eventIdOf(TRC_TRACE_CPU_CHANGE), lastNs, cpu, current, current, currentComm, -1, -1, NO_STATE,
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
        // Keep each unit in time order for the merge (plan.ts reported any regression).
        if (cycles > lastCycles) {
          lastCycles = cycles;
          lastNs = Math.round(cycles * nsPerCycle);
        }
      }
      const ev = hw & EVENT_MASK;

      if (pending) {
        let state = NO_STATE;
        if (isRunstateChange(ev) && extra >= 1 && ((ev >>> 8) & 0xf) === 0) {
          const wd = words[d]!;
          if (xenEntity(wd >>> 16, wd & 0xffff) === pPrev) state = PREV_STATE_OF_RUNSTATE[(ev >>> 4) & 0xf] ?? (TaskState.unknown as number);
        }
        flush(state);
      }

      if (ev === TRC_SCHED_SWITCH && extra >= 4) {
        const prev = xenEntity(words[d]!, words[d + 1]!);
        const next = xenEntity(words[d + 2]!, words[d + 3]!);
        pending = true;
        pNs = lastNs;
        pPrev = prev;
        pNext = next;
        pRuntimeUs = infPrevEntity === prev ? infPrevUs : -1;
        pWaitUs = infNextEntity === next ? infNextUs : -1;
        pOffset = r;
        infPrevEntity = infNextEntity = -1;
        current = next;
        currentComm = commOf(next);
      } else {
        let kind: EventKind = EventKind.other;
        let tid = current;
        let tidComm = currentComm;
        let arg0 = -1;
        let arg1 = -1;
        if (isRunstateChange(ev)) {
          if (extra >= 1) {
            const wd = words[d]!;
            tid = xenEntity(wd >>> 16, wd & 0xffff);
            tidComm = commOf(tid);
            kind = EventKind.runstate;
            arg0 = (ev >>> 8) & 0xf;
            arg1 = (ev >>> 4) & 0xf;
          }
        } else if (ev === TRC_SCHED_CONTINUE_RUNNING) {
          if (extra >= 1) {
            const wd = words[d]!;
            tid = xenEntity(wd >>> 16, wd & 0xffff);
            tidComm = commOf(tid);
            kind = EventKind.runstate;
            arg0 = 0;
            arg1 = 0;
          }
        } else if (ev === TRC_SCHED_SWITCH_INFPREV || ev === TRC_SCHED_SWITCH_INFNEXT) {
          if (extra >= 3) {
            tid = xenEntity(words[d]!, words[d + 1]!);
            tidComm = commOf(tid);
            arg0 = Math.floor(words[d + 2]! / 1000);
            if (ev === TRC_SCHED_SWITCH_INFPREV) {
              infPrevEntity = tid;
              infPrevUs = arg0;
            } else {
              infNextEntity = tid;
              infNextUs = arg0;
              if (extra >= 4) arg1 = Math.trunc((words[d + 3]! | 0) / 1000);
            }
          }
        } else if (ev === TRC_SCHED_WAKE || ev === TRC_SCHED_BLOCK || ev === TRC_SCHED_SLEEP || ev === TRC_SCHED_YIELD) {
          if (extra >= 2) {
            tid = xenEntity(words[d]!, words[d + 1]!);
            tidComm = commOf(tid);
            if (ev === TRC_SCHED_WAKE) kind = EventKind.wakeup;
          }
        } else if (ev === TRC_CSCHED_STOLEN_UNIT) {
          if (extra >= 3) {
            tid = xenEntity(words[d + 1]!, words[d + 2]!);
            tidComm = commOf(tid);
            kind = EventKind.migrate;
            arg0 = clampI32(words[d]!);
            arg1 = cpu;
          }
        } else if (ev === TRC_SNULL_MIGRATE) {
          if (extra >= 2) {
            const a = words[d]!;
            const b = words[d + 1]!;
            tid = xenEntity(a >>> 16, a & 0xffff);
            tidComm = commOf(tid);
            kind = EventKind.migrate;
            arg0 = b & 0xffff;
            arg1 = b >>> 16;
          }
        } else if ((ev & 0x0fff0000) === 0x00080000) {
          const hvm = hvmEntryExit(ev);
          if (hvm !== undefined) {
            kind = hvm === 'entry' ? EventKind.vmEntry : EventKind.vmExit;
            arg0 = current >= 0 ? current & 0xffff : -1;
            if (hvm === 'exit' && extra >= 1) arg1 = clampI32(words[d]!);
          }
        } else if (ev === TRC_LOST_RECORDS) {
          if (extra >= 2) {
            const wd = words[d + 1]!;
            tid = xenEntity(wd & 0xffff, wd >>> 16);
            tidComm = commOf(tid);
            arg0 = clampI32(words[d]!);
          }
        } else if (ev === TRC_TRACE_CPU_CHANGE && extra >= 2) {
          arg0 = words[d]! & 0xffff;
          arg1 = clampI32(words[d + 1]!);
        }
        sink.append(kind, eventIdOf(ev), lastNs, cpu, current, tid, tidComm, -1, -1, NO_STATE, arg0, arg1, r);
        if (ev === TRC_LOST_RECORDS) {
          // Xen lost track of what ran: rows until the next switch have no current vCPU.
          current = -1;
          currentComm = -1;
        }
      }
      r += bytes;
    }
    bytesDone += end - start;
    if (progress) progress(bytesDone);
  }
  if (pending) flush(NO_STATE);
}

/** True when the entity is the idle vCPU of a pCPU. */
export function isIdleEntity(entity: number): boolean {
  return entity >>> 16 === XEN_IDLE_DOMAIN;
}
