// Request/result types of the two-layer model queries (follow a thread, placement of a VM, cross-layer
// filters) and of the per-VM summary. JSON-safe or typed-array columns (Arrow-friendly); no classes.
// Definitions of every number here: main/engine/model/README.md (shared with the simulator's truth.json).

/** How a guest trace's clock was mapped onto the host timeline (host ns = guest ns + offsetNs). */
export interface AlignmentInfo {
  method: 'recorded' | 'user' | 'auto';
  /**
   * Fraction (0..1) of the guest's events that fall inside a host run interval of their own vCPU's
   * thread at the chosen offset (events outside the host trace's time span are not counted).
   */
  quality: number;
  /** Guest events counted for `quality` (inside the host trace's span). */
  eventsChecked: number;
  /** Auto only: least-squares drift of per-window offsets, ns of offset per s of guest time. */
  driftNsPerS?: number;
  /**
   * Auto only: true when the drift is significant and applied — guest time then maps to host time
   * piecewise-linearly through `clockKnots` (see main/engine/model/README.md, "Drift").
   */
  driftApplied?: boolean;
  /** When drift is applied: host = guest + offset, the offset interpolated linearly between knots (guest ns), constant outside. */
  clockKnots?: Array<{ guestNs: number; offsetNs: number }>;
  /** Auto only: the applied offset (host - guest) at the guest trace's first and last event. */
  offsetAtStartNs?: number;
  offsetAtEndNs?: number;
  /** Auto only: per-window best offsets (drift check). */
  windows?: Array<{ guestStartNs: number; guestEndNs: number; events: number; offsetNs: number; quality: number }>;
}

export interface MigrationCounts {
  /** Thread moved between vCPUs (consecutive guest run intervals on different vCPUs). */
  guest: number;
  /** Core changed under the thread while its vCPU stayed the same (thread totals) / vCPU moved core (VM totals). */
  host: number;
  /** The physical core under the thread changed, for either reason. */
  physical: number;
}

/** One VM as `stats --json` prints it in `vms`. */
export interface VmSummary {
  /** `qemu-<pid>` (KVM/QEMU), the trace.dat GUEST name when known, or `dom<ID>` (Xen). */
  name: string;
  /** QEMU process id (KVM/QEMU) when known. */
  pid?: number;
  /** Xen domain id. */
  domid?: number;
  /** vCPU ids with their host thread (absent for Xen). */
  vcpus: Array<{ vcpu: number; hostTid?: number }>;
  /** How the VM's vCPUs were grouped: 'tgid' | 'fork' | 'guest-option' | 'tid-range' | 'xen' | 'kvm-events'. */
  grouping: string;
  guestFile: string | null;
  /** host ns = guest ns + offsetNs; null without a guest trace. With drift applied (alignment.driftApplied): the offset at the guest trace's start. */
  offsetNs: number | null;
  alignment: AlignmentInfo | null;
  migrations: MigrationCounts;
  /** Fraction of the VM's span with exactly k vCPUs on cores, k = 0..vcpus.length. */
  coScheduling: { fractions: number[] };
  /** ns each vCPU spent on cores (thread current) and, when kvm_entry/kvm_exit exist, in guest mode. */
  vcpuTime: Array<{ vcpu: number; onCoreNs: number; guestModeNs: number | null; coreNs: Record<string, number>; hostMigrations: number }>;
  lhpCandidates: number;
}

/** Placement segments as columns (core -1 = the vCPU was on no core). Times on the host timeline. */
export interface PlacementColumns {
  length: number;
  startNs: Float64Array;
  endNs: Float64Array;
  vcpu: Int32Array;
  core: Int32Array;
  /** Present where a result mixes threads. */
  tid?: Int32Array;
}

/** Migration events: layer 0 = guest (from/to are vCPUs), 1 = host (cores, vCPU unchanged), 2 = physical (cores). */
export interface MigrationColumns {
  length: number;
  tsNs: Float64Array;
  layer: Uint8Array;
  from: Int32Array;
  to: Int32Array;
}

export const MIGRATION_LAYER_NAMES = ['guest', 'host', 'physical'] as const;

export interface FollowRequest {
  /** Guest thread id. */
  tid: number;
  /** VM name when several guests have this tid; omitted = the first VM that has it. */
  vm?: string;
  /** Optional time window (host ns); totals are always over the whole trace. */
  startNs?: number;
  endNs?: number;
}

export interface FollowResult {
  tid: number;
  comm: string;
  vm: string;
  runNs: number;
  stealNs: number;
  /** core number as a string -> ns */
  coreNs: Record<string, number>;
  migrations: MigrationCounts;
  segments: PlacementColumns;
  migrationEvents: MigrationColumns;
}

export interface VmPlacementRequest {
  vm: string;
  startNs: number;
  endNs: number;
}

/** Segments of all threads of a VM overlapping [startNs, endNs) (clipped), grouped by vCPU, time order within. */
export interface VmPlacementResult {
  vm: string;
  segments: PlacementColumns & { tid: Int32Array };
  /** tid -> comm for the tids in `segments`. */
  comms: Record<string, string>;
}

/** Cross-layer filter: a set of guest threads (a process) -> the vCPUs they used -> the cores those vCPUs used. */
export interface ThreadsToCoresRequest {
  vm: string;
  tids: number[];
  startNs: number;
  endNs: number;
}

export interface ThreadsToCoresResult {
  /** ns the threads were current on each vCPU in the range. */
  vcpus: Array<{ vcpu: number; threadNs: number }>;
  /** ns those vCPUs (whoever they ran) were on each core in the range. */
  vcpuCores: Array<{ vcpu: number; core: number; ns: number }>;
  /** ns the threads themselves were on each core (placement) in the range. */
  threadCores: Array<{ core: number; ns: number }>;
}

/** Cross-layer filter: a physical core -> the guest threads that ran on it in the range. */
export interface CoreToThreadsRequest {
  core: number;
  startNs: number;
  endNs: number;
}

export interface CoreToThreadsResult {
  threads: Array<{ vm: string; tid: number; comm: string; ns: number }>;
  /** ns the core ran vCPU threads whose guest thread is unknown (guest idle or no guest trace). */
  unattributedVcpuNs: number;
}

/** Lock-holder-preemption candidates as columns; see LHP_HEURISTIC for the definition. */
export interface LhpColumns {
  length: number;
  /** index into the model's VM list */
  vm: Int32Array;
  tid: Int32Array;
  vcpu: Int32Array;
  startNs: Float64Array;
  endNs: Float64Array;
  /** ns during the gap that at least one sibling vCPU was on a core */
  siblingsOnCoreNs: Float64Array;
  /** a guest thread that blocked on a sibling vCPU during the gap and was woken by `tid` after it, else -1 */
  waiterTid: Int32Array;
}

/** Thresholds of the lock-holder-preemption heuristic (defaults in LHP_DEFAULTS). */
export interface LhpParams {
  minGapNs: number;
  minSiblingFraction: number;
  waitWindowNs: number;
}
export const LHP_DEFAULTS: LhpParams = { minGapNs: 50_000, minSiblingFraction: 0.5, waitWindowNs: 10_000_000 };

/** The heuristic in words, for the UI and the report. */
export const LHP_HEURISTIC =
  'Lock-holder-preemption candidate: a guest thread T is current on vCPU v while the hypervisor has v ' +
  'on no core (a steal gap) for at least minGapNs, and during that gap sibling vCPUs of the same VM are on ' +
  'cores for at least minSiblingFraction of it (they keep running while T cannot). It is marked "waited" ' +
  '(waiterTid) when a guest thread on a sibling vCPU switched out blocked during the gap and was next woken ' +
  'by T within waitWindowNs after the gap ended (it waited for T). Scheduling traces do not show locks: ' +
  'these are candidates, not proof; spinning inside a still-running sibling is only visible as its on-core time.';
