// Task-state text and numbers as ftrace prints them -> canonical TaskState bits (shared/schema.ts).
// Letters: kernel include/trace/events/sched.h (__print_flags of prev_state) and libtraceevent's
// plugin_sched_switch.c; numbers: the same file's TASK_REPORT encoding (kernel >= 4.14) or the raw
// task->state bits of older kernels (include/linux/sched.h before 4.14), chosen per file in plan().

import { TaskState } from '../../../shared/schema.ts';

/** Map one state letter to its bit; -1 when the letter is not a known state. */
function letterBit(c: number): number {
  switch (c) {
    case 0x52: return TaskState.running; // R
    case 0x53: return TaskState.interruptible; // S
    case 0x44: return TaskState.uninterruptible; // D
    case 0x54: return TaskState.stopped; // T
    case 0x74: return TaskState.traced; // t
    case 0x58: return TaskState.dead; // X
    case 0x78: return TaskState.dead; // x (TASK_DEAD in old kernels)
    case 0x5a: return TaskState.zombie; // Z
    case 0x50: return TaskState.parked; // P
    case 0x49: return TaskState.idle; // I
    case 0x4b: return TaskState.wakekill; // K
    case 0x57: return TaskState.waking; // W
    case 0x4e: return TaskState.noload; // N
    default: return -1;
  }
}

/**
 * `S`, `R+`, `D|K`, `S|W` ... in buf[start, end) -> TaskState bits. Unknown letters set the
 * `unknown` bit instead of failing: the row is still useful.
 */
export function parseStateLetters(buf: Uint8Array, start: number, end: number): number {
  let bits = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c === 0x7c) continue; // '|'
    if (c === 0x2b) {
      bits |= TaskState.preempted; // '+'
      continue;
    }
    const b = letterBit(c);
    bits |= b < 0 ? TaskState.unknown : b;
  }
  return bits;
}

/** How numeric `prev_state=N` values (trace-cmd report -R, old kernels) are encoded. */
export type NumericStateEncoding = 'task-report' | 'legacy';

// TASK_REPORT order (kernel >= 4.14): state index i>0 is printed as 1 << (i - 1); TASK_REPORT_MAX
// (0x100) marks preemption.
const REPORT_BITS = [
  TaskState.interruptible, TaskState.uninterruptible, TaskState.stopped, TaskState.traced,
  TaskState.dead, TaskState.zombie, TaskState.parked, TaskState.idle,
];
// Raw task->state bits before 4.14: S D T t X Z x(TASK_DEAD) K W P N n(TASK_NEW).
const LEGACY_BITS = [
  TaskState.interruptible, TaskState.uninterruptible, TaskState.stopped, TaskState.traced,
  TaskState.dead, TaskState.zombie, TaskState.dead, TaskState.wakekill, TaskState.waking,
  TaskState.parked, TaskState.noload, TaskState.unknown,
];

export function mapNumericState(value: number, encoding: NumericStateEncoding): number {
  if (value === 0) return TaskState.running;
  if (value < 0 || !Number.isFinite(value)) return TaskState.unknown;
  if (encoding === 'task-report') {
    if (value === 0x100) return TaskState.running | TaskState.preempted;
    let bits = 0;
    for (let i = 0; i < REPORT_BITS.length; i++) if (value & (1 << i)) bits |= REPORT_BITS[i]!;
    if (value & ~0x1ff) bits |= TaskState.unknown;
    if (value & 0x100) bits |= TaskState.preempted;
    return bits;
  }
  // Legacy kernels report preemption as TASK_STATE_MAX, a power of two >= 1024 (1024 in 3.x,
  // 2048 in 4.2-4.7, 4096 in 4.8-4.13) on its own.
  if (value >= 1024 && (value & (value - 1)) === 0) return TaskState.running | TaskState.preempted;
  let bits = 0;
  for (let i = 0; i < LEGACY_BITS.length; i++) if (value & (1 << i)) bits |= LEGACY_BITS[i]!;
  if (value & ~0xfff) bits |= TaskState.unknown;
  return bits;
}

/**
 * Decide the numeric encoding from values seen in a file's head: TASK_REPORT values are 0, one
 * bit of 0x1..0x80, or 0x100 alone; anything else (0x82 = TASK_KILLABLE, 4096 = TASK_STATE_MAX)
 * only occurs with raw legacy states.
 */
export function isTaskReportValue(value: number): boolean {
  return value === 0 || value === 0x100 || (value > 0 && value <= 0x80 && (value & (value - 1)) === 0);
}

/**
 * `trace-cmd report`'s sched_switch plugin (libtraceevent plugins/plugin_sched_switch.c,
 * write_state) prints bit i of the raw prev_state as "SDTtZXxW"[i] and `R` when no bit is set,
 * whatever the kernel's encoding: on a >= 4.14 kernel its `W` is 0x80 = idle (I) and its `Z` is
 * 0x10 = dead (X); the preemption bit (0x100) is not printed. So the letters are turned back into
 * the number and mapped like a numeric state.
 */
export function parsePluginStateLetters(buf: Uint8Array, start: number, end: number, encoding: NumericStateEncoding): number {
  let value = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    let bit: number;
    switch (c) {
      case 0x53: bit = 1; break; // S
      case 0x44: bit = 2; break; // D
      case 0x54: bit = 4; break; // T
      case 0x74: bit = 8; break; // t
      case 0x5a: bit = 16; break; // Z
      case 0x58: bit = 32; break; // X
      case 0x78: bit = 64; break; // x
      case 0x57: bit = 128; break; // W
      case 0x52: case 0x7c: bit = 0; break; // R, '|'
      case 0x2b: return mapNumericState(value, encoding) | TaskState.preempted; // '+' (not printed by 3.x)
      default: return TaskState.unknown;
    }
    value |= bit;
  }
  return mapNumericState(value, encoding);
}
