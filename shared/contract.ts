// The one contract between the renderer and the engine (TraceApi). Every method takes one request
// object and resolves to a Result; bulk data crosses as Arrow IPC bytes for a window the view asked
// for (a row range, or a time range at a pixel resolution) — never whole traces, never JSON rows.
// Transport (MessagePort or WebSocket) and validation live elsewhere (shared/wire.ts, the service).

import type { Result } from './result.ts';
import type { TraceSummary } from './summary.ts';

/** Arrow IPC stream bytes. Schema metadata carries the window's string tables (see each method). */
export type ArrowIpcBytes = Uint8Array;

/** A (file, cpu) pair: for a guest file the cpu is a vCPU, for a host or single-layer file a core. */
export interface CpuRef {
  file: number;
  cpu: number;
}

/** A thread is only unique within one file (machine / VM). */
export interface ThreadRef {
  file: number;
  tid: number;
}

/**
 * Which events a view shows. Within one field the values are alternatives (OR); fields combine
 * with AND. An empty or absent field does not restrict.
 */
export interface FilterSpec {
  /** Machines / VMs: file indexes within the session. */
  files?: number[];
  /** Cores (host or single-layer file) and vCPUs (guest file). */
  cpus?: CpuRef[];
  /** Events that involve the thread: subject, current task, or previous task of a switch. */
  threads?: ThreadRef[];
  /** Process name (comm) exact match, on subject, current or previous task. */
  comms?: string[];
  /** EventKind values (shared/schema.ts). */
  kinds?: number[];
  /** Inclusive start, exclusive end, ns on the session timeline. */
  t0Ns?: number;
  t1Ns?: number;
  /** Case-insensitive substring of comm, previous comm or event name. */
  text?: string;
}

export type LoadState = 'loading' | 'ready' | 'failed' | 'cancelled';

export interface FileProgress {
  path: string;
  bytesDone: number;
  bytesTotal: number;
  events: number;
}

export interface LoadStatus {
  loadId: string;
  state: LoadState;
  /**
   * Which step is running: 'index' (reading the files), 'model' (the two-layer model), 'prepare'
   * (lanes, merge) or 'lanes' (a cached trace's lanes read in the background; its rows are ready).
   */
  phase: string;
  files: FileProgress[];
  elapsedMs: number;
  /**
   * Set when state is 'ready', and already while 'loading' as soon as the first part of the first
   * file is indexed: that session is partial (SessionInfo.complete false) and grows until the load
   * ends; it is closed when the load fails or is cancelled.
   */
  sessionId?: string;
  /** Set when state is 'failed': names the file and the byte offset or line. */
  error?: string;
}

export type LayerName = 'guest' | 'host' | 'unknown';

export interface SessionFile {
  index: number;
  path: string;
  /** Short display name of the machine (file name without folders). */
  name: string;
  layer: LayerName;
  summary: TraceSummary;
}

/** One timeline lane: a core of a host / single-layer file, or a vCPU of a guest file. */
export interface LaneInfo {
  lane: number;
  file: number;
  cpu: number;
  label: string;
  runs: number;
}

/** A VM found by the two-layer model (host file + optional guest file). */
export interface VmInfo {
  name: string;
  /** File index of the host trace. */
  hostFile: number;
  /** File index of this VM's guest trace, or null (host-only view of the VM). */
  guestFile: number | null;
  /** vCPU id -> host thread id (KVM/QEMU; Xen: the packed entity). */
  vcpus: { vcpu: number; hostTid: number }[];
  /** host ns = guest ns + offsetNs (null without a guest trace). */
  offsetNs: number | null;
  /** Fraction of guest events inside their vCPU's host runs at that offset (0..1), null if unknown. */
  alignmentQuality: number | null;
  migrations: { guest: number; host: number; physical: number };
  /** Fraction of the VM's span with exactly k vCPUs on cores, k = 0..vcpus. */
  coScheduling: number[];
  /** ns vCPU i (index into vcpus) spent on core c: residencyNs[i][c]. */
  residencyNs: number[][];
  /** Migrations per time bin over [startNs, endNs) of the session: guest (thread changed vCPU) and host (vCPU changed core). */
  migrationBins: { startNs: number; binNs: number; guest: number[]; host: number[] };
  /** Guest threads with the most steal (current on a vCPU that was on no core), largest first. */
  steal: { tid: number; comm: string; stealNs: number; runNs: number }[];
}

export interface SessionInfo {
  sessionId: string;
  /**
   * False while the load is still indexing: the session shows the rows of the first file indexed
   * so far. rowCount, endNs, lanes (and their runs) and the file's summary grow; rows are only
   * appended, so row positions stay valid; count() covers the rows so far and is not done; the
   * two-layer model and the other files come with completion. When it becomes true with several
   * files, the table is the merge of all files: rows are re-ordered (read the windows again).
   */
  complete: boolean;
  files: SessionFile[];
  /** Rows of the merged (time-ordered) event table (indexed so far while not complete). */
  rowCount: number;
  startNs: number;
  endNs: number;
  lanes: LaneInfo[];
  /** True when the session has a guest and a host file (two-layer views apply). */
  twoLayer: boolean;
  /** Whether the two-layer model (placement, steal) was built for this session. */
  modelAvailable: boolean;
  /** VMs of the two-layer model (empty without it). Guest timestamps are shifted onto the host clock. */
  vms: VmInfo[];
  /** Why the model is missing, how roles / alignment were decided. */
  notes: string[];
}

export interface FilterCount {
  /** Rows matching so far (all rows when the filter is empty). */
  matched: number;
  /** Rows examined so far. */
  scannedRows: number;
  totalRows: number;
  /** True when every row has been examined (never while the session is not complete). */
  done: boolean;
}

export interface ThreadInfo {
  file: number;
  tid: number;
  comm: string;
  events: number;
}

export interface FollowTotals {
  runNs: number;
  /** Runnable (woken or preempted) but not running. */
  waitNs: number;
  /** Current in the guest while its vCPU was on no core (two-layer only; null otherwise). */
  stealNs: number | null;
  runs: number;
  migrations: number;
  firstNs: number | null;
  lastNs: number | null;
}

export interface FollowResult {
  thread: ThreadInfo;
  totals: FollowTotals;
  /** Arrow: placement segments startNs f64, endNs f64, cpu i32 (vCPU or core), core i32 (-1 unknown). */
  placement: ArrowIpcBytes;
  /** Arrow: migrations tsNs f64, layer u8 (0 guest/single, 1 host), fromCpu i32, toCpu i32. */
  migrations: ArrowIpcBytes;
  /** Note for the view when part of the answer is not available (e.g. no host layer). */
  note?: string;
}

// ---- requests ----

export interface OpenRequest {
  paths: string[];
  /** Which VM of the host trace a guest trace belongs to (QEMU pid, dom<ID> or VM name), when ambiguous. */
  guests?: { path: string; vm: string }[];
}
export interface LoadRequest {
  loadId: string;
}
export interface SessionRequest {
  sessionId: string;
}
export interface CountRequest {
  sessionId: string;
  filter: FilterSpec;
}
/** At most MAX_WINDOW_ROWS rows of the filtered, time-ordered table starting at `start`. */
export interface RowsRequest {
  sessionId: string;
  filter: FilterSpec;
  start: number;
  count: number;
}
export interface RowAtTimeRequest {
  sessionId: string;
  filter: FilterSpec;
  tsNs: number;
}
export interface RecordRequest {
  sessionId: string;
  file: number;
  offsetBytes: number;
}
/** Lanes drawn for [t0Ns, t1Ns) at widthPx resolution; runs shorter than a pixel are merged. */
export interface TimelineRequest {
  sessionId: string;
  filter: FilterSpec;
  t0Ns: number;
  t1Ns: number;
  widthPx: number;
}
export interface ThreadsRequest {
  sessionId: string;
  /** Substring of comm or decimal tid; empty = the busiest threads. */
  query: string;
  limit: number;
}
export interface FollowRequest {
  sessionId: string;
  thread: ThreadRef;
}
/** Who ran on a physical core of the host trace in [t0Ns, t1Ns): guest threads through their vCPUs. */
export interface CoreThreadsRequest {
  sessionId: string;
  core: number;
  t0Ns: number;
  t1Ns: number;
}
export interface CoreThreadsResult {
  /** Guest threads (file = their guest trace), most time first. */
  threads: { vm: string; file: number; tid: number; comm: string; ns: number }[];
  /** Time the core ran vCPUs whose guest thread is unknown (guest idle or no guest trace). */
  unattributedVcpuNs: number;
}

export const MAX_WINDOW_ROWS = 5000;
export const MAX_TIMELINE_WIDTH_PX = 8192;
export const MAX_PATHS = 16;

/**
 * rows(): Arrow columns row f64 (position in the filtered table), ts f64, file u8, cpu u16, kind u8,
 * tid i32, pid i32, prevTid i32, prevState u16, arg0 i32, arg1 i32, offset f64, comm i32, prevComm i32,
 * event i32 — comm/prevComm/event index the window's string table, JSON in schema metadata 'strings'.
 *
 * timeline(): Arrow columns lane u16, startNs f64, endNs f64, tid i32, comm i32 (into 'strings'),
 * switches u32 (runs merged into this segment; > 1 = busier than one pixel), match u8 (1 when the
 * segment's thread passes the filter's thread/comm/text parts). Metadata 'markers': JSON
 * {lane, tsNs, kind: 'migrate', tid, from, to}[] (capped), 'strings'.
 */
export interface TraceApi {
  open(req: OpenRequest): Promise<Result<{ loadId: string }>>;
  loadStatus(req: LoadRequest): Promise<Result<LoadStatus>>;
  cancelLoad(req: LoadRequest): Promise<Result<{ cancelled: boolean }>>;
  sessionInfo(req: SessionRequest): Promise<Result<SessionInfo>>;
  closeSession(req: SessionRequest): Promise<Result<{ closed: boolean }>>;
  count(req: CountRequest): Promise<Result<FilterCount>>;
  rows(req: RowsRequest): Promise<Result<ArrowIpcBytes>>;
  rowAtTime(req: RowAtTimeRequest): Promise<Result<{ index: number }>>;
  record(req: RecordRequest): Promise<Result<{ text: string }>>;
  timeline(req: TimelineRequest): Promise<Result<ArrowIpcBytes>>;
  threads(req: ThreadsRequest): Promise<Result<ThreadInfo[]>>;
  followThread(req: FollowRequest): Promise<Result<FollowResult>>;
  /** Two-layer sessions only ('not-available' otherwise). */
  coreThreads(req: CoreThreadsRequest): Promise<Result<CoreThreadsResult>>;
}

export type ApiMethod = keyof TraceApi;
export const API_METHODS: readonly ApiMethod[] = [
  'open', 'loadStatus', 'cancelLoad', 'sessionInfo', 'closeSession', 'count', 'rows', 'rowAtTime',
  'record', 'timeline', 'threads', 'followThread', 'coreThreads',
];
export type ApiRequest<M extends ApiMethod> = Parameters<TraceApi[M]>[0];
export type ApiValue<M extends ApiMethod> = Awaited<ReturnType<TraceApi[M]>> extends Result<infer V> ? V : never;
