// The event table's columns, event kinds and task-state bits: the one schema that readers,
// the index, the model, the CLI and the renderer agree on. No runtime dependencies.

/** What an event row means. Stored as Uint8 in the `kind` column. */
export const EventKind = {
  other: 0,
  switch: 1,
  wakeup: 2,
  waking: 3,
  wakeupNew: 4,
  migrate: 5,
  fork: 6,
  exec: 7,
  exit: 8,
  vmEntry: 9,
  vmExit: 10,
  /** Xen runstate change or similar hypervisor bookkeeping. */
  runstate: 11,
  /** A record the reader could not decode (corrupt payload); kept so nothing is dropped silently. */
  invalid: 12,
} as const;
export type EventKind = (typeof EventKind)[keyof typeof EventKind];

export const EVENT_KIND_NAMES: readonly string[] = [
  'other', 'switch', 'wakeup', 'waking', 'wakeup_new', 'migrate', 'fork', 'exec', 'exit',
  'vm_entry', 'vm_exit', 'runstate', 'invalid',
];

/**
 * Column meanings per kind (absent values are -1; `comm`/`prevComm` are ids into the comm table):
 *
 * | kind        | pid (current task) | tid (subject)  | comm        | prevTid     | prevComm  | prevState  | arg0        | arg1      |
 * |-------------|--------------------|----------------|-------------|-------------|-----------|------------|-------------|-----------|
 * | switch      | prev_pid           | next_pid       | next_comm   | prev_pid    | prev_comm | prev_state | prev_prio   | next_prio |
 * | wakeup*     | waker (line pid)   | woken pid      | woken comm  | -1          | -1        | -1         | target_cpu  | prio      |
 * | migrate     | line pid           | migrated pid   | its comm    | -1          | -1        | -1         | orig_cpu    | dest_cpu  |
 * | fork        | parent pid         | child pid      | child comm  | parent pid  | parent comm | -1       | -1          | -1        |
 * | exec        | pid                | pid            | new comm    | old_pid     | -1        | -1         | -1          | -1        |
 * | exit        | pid                | pid            | comm        | -1          | -1        | -1         | prio        | -1        |
 * | vm_entry    | vCPU thread        | vCPU thread    | line comm   | -1          | -1        | -1         | vcpu id     | -1        |
 * | vm_exit     | vCPU thread        | vCPU thread    | line comm   | -1          | -1        | -1         | vcpu id     | exit reason (numeric, -1 if text only) |
 * | other       | line pid           | line pid       | line comm   | -1          | -1        | -1         | -1          | -1        |
 *
 * For the Xen host layer (entity "xen-vcpu") tids are (domid << 16) | vcpuid, see xenEntity().
 */
export interface ColumnSpec {
  readonly name: string;
  readonly type: 'f64' | 'i32' | 'u16' | 'u8';
}

export const EVENT_COLUMNS = [
  { name: 'ts', type: 'f64' }, // ns on the source's clock (aligned by the model); exact below 2^53
  { name: 'cpu', type: 'u16' }, // vCPU for a guest source, physical core for a host source
  { name: 'kind', type: 'u8' },
  { name: 'event', type: 'u16' }, // id into the event-name table
  { name: 'pid', type: 'i32' },
  { name: 'tid', type: 'i32' },
  { name: 'comm', type: 'i32' },
  { name: 'prevTid', type: 'i32' },
  { name: 'prevComm', type: 'i32' },
  { name: 'prevState', type: 'u16' }, // TaskState bits; NO_STATE when absent
  { name: 'arg0', type: 'i32' },
  { name: 'arg1', type: 'i32' },
  { name: 'offset', type: 'f64' }, // byte offset of the record/line in its source file
  { name: 'input', type: 'u8' }, // input index within a multi-input file (trace-cmd report -i ... -i ...), else 0
] as const satisfies readonly ColumnSpec[];

export type EventColumnName = (typeof EVENT_COLUMNS)[number]['name'];

/** Canonical task-state bits (independent of kernel version; readers translate). */
export const TaskState = {
  running: 0, // R
  interruptible: 1, // S
  uninterruptible: 2, // D
  stopped: 4, // T
  traced: 8, // t
  dead: 16, // X
  zombie: 32, // Z
  parked: 64, // P
  idle: 128, // I
  wakekill: 256, // K
  waking: 512, // W
  noload: 1024, // N
  /** `+` suffix: the task was preempted while runnable. */
  preempted: 2048,
  /** The state is a raw kernel value that could not be mapped. */
  unknown: 4096,
} as const;
export const NO_STATE = 0xffff;
/** `cpu` column value when the CPU is not known (perf script without a CPU column, out of range). */
export const UNKNOWN_CPU = 0xffff;

const STATE_LETTERS: ReadonlyArray<readonly [number, string]> = [
  [TaskState.interruptible, 'S'], [TaskState.uninterruptible, 'D'], [TaskState.stopped, 'T'],
  [TaskState.traced, 't'], [TaskState.dead, 'X'], [TaskState.zombie, 'Z'], [TaskState.parked, 'P'],
  [TaskState.idle, 'I'], [TaskState.wakekill, 'K'], [TaskState.waking, 'W'], [TaskState.noload, 'N'],
];

/** `S`, `D|K`, `R+` ... for display (not used in hot paths). */
export function formatTaskState(bits: number): string {
  if (bits === NO_STATE) return '';
  if (bits & TaskState.unknown) return '?';
  const parts: string[] = [];
  for (const [bit, letter] of STATE_LETTERS) if (bits & bit) parts.push(letter);
  const base = parts.length === 0 ? 'R' : parts.join('|');
  return bits & TaskState.preempted ? `${base}+` : base;
}

/** Xen scheduled entity (domain, vCPU) packed into the tid column. */
export function xenEntity(domid: number, vcpuid: number): number {
  return ((domid & 0x7fff) << 16) | (vcpuid & 0xffff);
}
export const XEN_IDLE_DOMAIN = 0x7fff;

export type Layer = 'guest' | 'host' | 'unknown';
export type EntityKind = 'tid' | 'xen-vcpu';
