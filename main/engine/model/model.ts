// The two-layer model: pairs guest traces with the host's VMs, aligns their clocks, and builds the
// derived tables as typed-array columns: vCPU on-core intervals (host layer), guest run intervals on
// the host timeline, placement segments per thread, migrations per layer, steal, co-scheduling and
// lock-holder-preemption candidates. Definitions: ./README.md. Leaves out caching (model-cache.ts).

import type { AlignmentInfo, LhpColumns, LhpParams, MigrationCounts } from '../../../shared/model-contract.ts';
import { LHP_DEFAULTS } from '../../../shared/model-contract.ts';
import { TaskState } from '../../../shared/schema.ts';
import type { EventColumns } from '../index/event-columns.ts';
import type { IndexedTrace } from '../index/indexed-trace.ts';
import { autoAlign, constantClock, mapTimes, offsetAt, scoreOffset, toHostNs, type AlignInput, type AutoAlignOptions, type ClockMap } from './align.ts';
import { fit, GrowF64, GrowI32, groupByKey, upperBound } from './grow.ts';
import { splitInputs } from './inputs.ts';
import { scanLayer, type LayerScan, type RunTable, type ScanOptions } from './runs.ts';
import { hostTopology, looksLikeHost, VCPU_THREAD_RE, type TopoVm } from './topology.ts';

/** maxSampledEvents for a trace that needs no sampled event times (a host). */
const ALIGN_SAMPLE_NONE = 0;

/** Bump when any derived table's meaning or layout changes (part of the cache key). */
export const MODEL_VERSION = 3;

export interface ModelInputFile {
  trace: IndexedTrace;
  role?: 'host' | 'guest';
  /** Guest only: which VM (QEMU pid, `dom<ID>`, or VM name). */
  vm?: string;
  /** Guest only: this guest's clock offset (host ns = guest ns + offsetNs), overriding guestOffsetNs. */
  offsetNs?: number;
}

export interface BuildModelOptions {
  /** User clock offset for the guest(s): host ns = guest ns + offset. */
  guestOffsetNs?: number;
  lhp?: Partial<LhpParams>;
  align?: AutoAlignOptions;
  /** Filled with [phase, CPU ms of this thread's process] per build phase (benchmarks). */
  phases?: Array<[string, number]>;
}

/** The inputs cannot be combined (no host, ambiguous pairing...): the message says what to pass. */
export class ModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelError';
  }
}

/** Host layer per global vCPU index g (VMs' vCPUs numbered consecutively). */
export interface HostVcpus {
  count: number;
  vmOf: Int32Array;
  vcpuId: Int32Array;
  /** Host thread id (KVM/QEMU) or Xen entity id. */
  hostId: Int32Array;
  /** On-core intervals of vCPU g are rows groupStart[g] .. groupStart[g+1], in time order. */
  groupStart: Uint32Array;
  startNs: Float64Array;
  endNs: Float64Array;
  core: Int32Array;
  /** Rows per core c: coreOrder[coreStart[c] .. coreStart[c+1]] index the rows above, time order. */
  coreStart: Uint32Array;
  coreOrder: Uint32Array;
  /** kvm_entry..kvm_exit ns per vCPU; NaN when the host trace has no such events. */
  guestModeNs: Float64Array;
  /** Where "on core" came from: 'sched_switch' or 'kvm_entry/kvm_exit' or 'xen'. */
  source: string;
  /** Rows still open at the end of the host trace (closed at the last event of all inputs). */
  openRows: Int32Array;
  /** Physical CPUs of the host trace (max core + 1). */
  coreCount: number;
}

/** One VM's guest layer on the host timeline. Thread index = position in `tids`. */
export interface GuestLayer {
  file: string;
  tids: Int32Array;
  comms: string[];
  indexOfTid: Map<number, number>;
  /** Guest run intervals in host time; cpu = vCPU id. */
  runs: RunTable;
  /** Runs of thread k: runs rows runByThread[runThreadStart[k] .. runThreadStart[k+1]] (time order). */
  runByThread: Uint32Array;
  runThreadStart: Uint32Array;
  /** Runs on vCPU id v: runByVcpu[runVcpuStart[v] .. runVcpuStart[v+1]] (time order, disjoint). */
  runByVcpu: Uint32Array;
  runVcpuStart: Uint32Array;
  /** Placement segments grouped by thread (segThreadStart), time order within a thread. */
  segThreadStart: Uint32Array;
  segStartNs: Float64Array;
  segEndNs: Float64Array;
  segVcpu: Int32Array;
  segCore: Int32Array;
  runNs: Float64Array;
  stealNs: Float64Array;
  /** ns of thread k on core c at [k * coreCount + c]; null when threads x cores is too large (then sum the segments). */
  coreNsFlat: Float64Array | null;
  coreCount: number;
  migGuest: Int32Array;
  migHost: Int32Array;
  migPhysical: Int32Array;
  /** Migration events grouped by thread (migThreadStart); layer 0 guest, 1 host, 2 physical. */
  migThreadStart: Uint32Array;
  migTsNs: Float64Array;
  migLayer: Uint8Array;
  migFrom: Int32Array;
  migTo: Int32Array;
  /** Guest events lost in the switch sequence (prev did not match). */
  switchMismatches: number;
}

export interface ModelVm extends TopoVm {
  index: number;
  /** Global vCPU index of vcpuIds[0]; vcpu i is global firstGlobal + i. */
  firstGlobal: number;
  /** vCPU id -> local index (-1 absent). */
  localOfVcpuId: Int32Array;
  guestFile: string | null;
  /** host ns = guest ns + offsetNs (with drift applied: the offset at the guest trace's start). */
  offsetNs: number | null;
  /** The guest -> host clock map applied (constant offset, or piecewise-linear when drift is applied). */
  clock: ClockMap | null;
  alignment: AlignmentInfo | null;
  guest: GuestLayer | null;
  /** What the clock alignment scored (sampled guest event times per vCPU + on-core intervals); lets a UI re-score another offset. */
  alignInput: AlignInput | null;
  migrations: MigrationCounts;
  coScheduling: { fractions: number[] };
}

export interface TwoLayerModel {
  hostFile: string;
  hostStartNs: number;
  hostEndNs: number;
  coreCount: number;
  vcpus: HostVcpus;
  vms: ModelVm[];
  lhp: LhpColumns;
  lhpParams: LhpParams;
  /** Notes for the user (how roles/grouping/alignment were decided). */
  notes: string[];
}

interface GuestCandidate {
  trace: IndexedTrace;
  scan: LayerScan;
  vm?: string;
  offsetNs?: number;
}

/** Host on-core rows as the per-VM steps read them (the whole table, or one VM's rows with firstGlobal 0). */
export type VcpuRows = Pick<HostVcpus, 'startNs' | 'endNs' | 'core' | 'groupStart' | 'coreCount'>;
/** What the per-VM steps need of a VM. */
export type VmRef = Pick<ModelVm, 'index' | 'vcpuIds' | 'localOfVcpuId' | 'firstGlobal'>;

/** Scan one trace (scanLayer). */
export interface ScanJob {
  trace: IndexedTrace;
  opts: ScanOptions;
}

/** Align one guest to its VM: a recorded/user offset scored, or the automatic search. */
export interface AlignJob {
  /** Pair index (the same in the layer step). */
  id: number;
  vm: VmRef;
  scan: LayerScan;
  rows: VcpuRows;
  hostSpan: { startNs: number; endNs: number };
  fixed: { method: 'recorded' | 'user'; offsetNs: number } | null;
  align: AutoAlignOptions | undefined;
}
export interface AlignResult {
  clock: ClockMap;
  alignment: AlignmentInfo;
}

/** One VM's guest layer (placement, migrations, steal) and its LHP candidates. */
export interface LayerJob {
  id: number;
  vm: VmRef;
  /** The same scan object as the pair's align job (a parallel driver may still hold it elsewhere). */
  scan: LayerScan;
  file: string;
  rows: VcpuRows;
  clock: ClockMap;
  /** Where runs still open at the end of the guest trace are closed (host clock). */
  stopNs: number;
  lhp: LhpParams;
}
export interface LayerResult {
  guest: GuestLayer;
  lhp: LhpColumns;
  /** The job's scan (handed back: a worker may have held it). */
  scan: LayerScan;
}

/**
 * The build as a sequence of steps whose jobs are independent of each other (scans of the input
 * traces; per-VM alignment; per-VM guest layers + LHP, with `alongside` = the host-side per-VM
 * tables to compute meanwhile). buildModel runs every job inline; buildModelParallel
 * (parallel.ts) runs some on a worker thread. The results are the same either way.
 */
export type BuildStep =
  | {
      kind: 'scan';
      jobs: ScanJob[];
      phase: (name: string) => void;
      /**
       * Job i's scan is ready (a parallel runner calls it as each scan arrives, while the others
       * still run): the host vCPU table of a likely host is built then instead of after the step
       * (returns whether it was).
       */
      ready?: (i: number, scan: LayerScan) => boolean;
    }
  | {
      kind: 'align';
      jobs: AlignJob[];
      phase: (name: string) => void;
      /**
       * The host-side per-VM tables (spans, host migrations, co-scheduling): a parallel runner may
       * compute them here while the worker aligns (else the layers step's `alongside` does; once).
       */
      meanwhile?: () => void;
    }
  | { kind: 'layers'; jobs: LayerJob[]; alongside: () => void; hostOpenRows: Int32Array; phase: (name: string) => void };
export type StepResult = LayerScan[] | AlignResult[] | LayerResult[];

export function buildModel(inputs: readonly ModelInputFile[], opts: BuildModelOptions = {}): TwoLayerModel {
  const it = buildSteps(inputs, opts);
  let r = it.next();
  while (!r.done) r = it.next(runStepInline(r.value));
  return r.value;
}

/** Run every job of a step on this thread, in order. */
export function runStepInline(step: BuildStep): StepResult {
  switch (step.kind) {
    case 'scan':
      return step.jobs.map((j) => scanLayer(j.trace, j.opts));
    case 'align':
      return step.jobs.map(runAlignJob);
    case 'layers': {
      const out = runLayerJobsInline(step.jobs, step.phase);
      step.alongside();
      step.phase('VM spans, host migrations, co-scheduling');
      return out;
    }
  }
}

export function runAlignJob(j: AlignJob): AlignResult {
  const ai = alignInput(j.vm, j.scan, j.rows, j.hostSpan);
  if (j.fixed) {
    const clock = constantClock(j.fixed.offsetNs);
    const s = scoreOffset(ai, clock.offsetNs);
    return { clock, alignment: { method: j.fixed.method, quality: s.checked ? s.consistent / s.checked : 0, eventsChecked: s.checked } };
  }
  const r = autoAlign(ai, j.align);
  return { clock: r.clock, alignment: r.info };
}

/**
 * runLayerJob for each job on this thread, with every VM's LHP candidates written into one set of
 * columns sized for all of them: each job's columns are adjacent views, which concatLhp then joins
 * without a copy (20 MB of fresh pages on the 10M-event set).
 */
export function runLayerJobsInline(jobs: LayerJob[], phase: (name: string) => void, lhpRoom = 0): LayerResult[] {
  const guests = jobs.map((j) => {
    const g = buildGuestLayer(j.vm, j.scan, j.file, j.rows, j.clock, j.stopNs);
    phase('guest layers (placement, migrations, steal)');
    return g;
  });
  const out = new LhpOut();
  out.reserve(guests.reduce((sum, g, i) => sum + lhpGapCount(g, jobs[i]!.lhp), 0) + lhpRoom);
  return jobs.map((j, i) => {
    const from = out.oVm.n;
    lhpOfVm(j.vm, guests[i]!, j.scan, j.clock, j.rows, j.lhp, out);
    phase('lock-holder preemption');
    return { guest: guests[i]!, lhp: out.finish(from), scan: j.scan };
  });
}

/** `lhpRoom`: spare rows after this VM's LHP candidates (appendLhp can put the other VMs' there). */
export function runLayerJob(j: LayerJob, phase?: (name: string) => void, lhpRoom = 0): LayerResult {
  const guest = buildGuestLayer(j.vm, j.scan, j.file, j.rows, j.clock, j.stopNs);
  phase?.('guest layers (placement, migrations, steal)');
  const out = new LhpOut();
  out.reserve(lhpGapCount(guest, j.lhp) + lhpRoom);
  lhpOfVm(j.vm, guest, j.scan, j.clock, j.rows, j.lhp, out);
  phase?.('lock-holder preemption');
  return { guest, lhp: out.finish(), scan: j.scan };
}

export function* buildSteps(inputs: readonly ModelInputFile[], opts: BuildModelOptions): Generator<BuildStep, TwoLayerModel, StepResult> {
  const notes: string[] = [];
  const phase = phaseTimer(opts.phases);
  const hosts: Array<{ trace: IndexedTrace; scan: LayerScan }> = [];
  const guests: GuestCandidate[] = [];
  // A multi-input file (trace-cmd report -i host.dat -i guest.dat) counts as one file per input, each
  // with its role detected (a role or VM given for the whole file cannot apply to both).
  const expanded: ModelInputFile[] = [];
  const split = new Set<ModelInputFile>();
  for (const inp of inputs) {
    const parts = splitInputs(inp.trace);
    if (parts.length === 1) expanded.push(inp);
    else {
      for (const trace of parts) {
        const part = { trace };
        split.add(part);
        expanded.push(part);
      }
      notes.push(`${inp.trace.path}: ${parts.length} inputs (${parts.map((p) => p.path).join(', ')}), each taken as its own trace`);
      phase('split multi-input file');
    }
  }
  inputs = expanded;
  const scanJobs: ScanJob[] = inputs.map((inp) => {
    const xen = inp.trace.info.entity === 'xen-vcpu';
    // A host is usually recognisable from its comm table alone: skip what only guests need.
    // (not for one input of a multi-input file: its comm table is the whole file's)
    const likelyHost = inp.role === 'host' || (inp.role === undefined && (xen || (!split.has(inp) && inp.trace.comms.some((c) => VCPU_THREAD_RE.test(c)))));
    // kvm_entry..kvm_exit rows only matter when no vCPU thread is switched in (buildHostVcpus rescans then)
    return { trace: inp.trace, opts: { xen, collectWakeups: !likelyHost, guestModeRows: !likelyHost, ...(likelyHost ? { maxSampledEvents: ALIGN_SAMPLE_NONE } : {}) } };
  });
  // The host vCPU table depends only on the host's scan: a parallel runner has it built as soon as
  // that scan is ready (on the main thread, while the worker still scans the guests). Kept only if
  // this scan turns out to be the one host; anything it throws is left to the normal order below.
  let early: { scan: LayerScan; topo: TopoVm[]; options: GuestOption[]; vcpus: HostVcpus } | null = null;
  const ready = (i: number, scan: LayerScan): boolean => {
    const inp = inputs[i]!;
    if (early || scanJobs[i]!.opts.maxSampledEvents !== ALIGN_SAMPLE_NONE) return false;
    try {
      if ((inp.role ?? (looksLikeHost(inp.trace, scan) ? 'host' : 'guest')) !== 'host') return false;
      const topo = hostTopology(inp.trace, scan);
      const options = guestOptions(inp.trace);
      applyGuestOptions(topo, options);
      early = { scan, topo, options, vcpus: buildHostVcpus(inp.trace, scan, topo) };
      return true;
    } catch {
      early = null;
      return false;
    }
  };
  const scans = (yield { kind: 'scan', jobs: scanJobs, phase, ready }) as LayerScan[];
  inputs.forEach((inp, i) => {
    const scan = scans[i]!;
    const role = inp.role ?? (looksLikeHost(inp.trace, scan) ? 'host' : 'guest');
    if (role === 'host') hosts.push({ trace: inp.trace, scan });
    else guests.push({ trace: inp.trace, scan, ...(inp.vm !== undefined ? { vm: inp.vm } : {}), ...(inp.offsetNs !== undefined ? { offsetNs: inp.offsetNs } : {}) });
  });
  phase('layer scans');
  if (hosts.length === 0) {
    throw new ModelError(
      `no host trace among ${inputs.map((i) => i.trace.path).join(', ')}: none has QEMU vCPU threads ('CPU <n>/KVM' or '/TCG'), kvm_entry/kvm_exit or Xen records; name it with --host FILE`,
    );
  }
  if (hosts.length > 1) throw new ModelError(`several host traces (${hosts.map((h) => h.trace.path).join(', ')}): give one, or mark the others with --guest FILE`);
  const host = hosts[0]!;
  const pre = early as { scan: LayerScan; topo: TopoVm[]; options: GuestOption[]; vcpus: HostVcpus } | null;
  const done = pre && pre.scan === host.scan ? pre : null;
  const topo = done ? done.topo : hostTopology(host.trace, host.scan);
  const options = done ? done.options : guestOptions(host.trace);
  if (!done) applyGuestOptions(topo, options);
  if (topo.length === 0) notes.push(`${host.trace.path}: no vCPU threads found in the host trace`);
  const vcpus = done ? done.vcpus : buildHostVcpus(host.trace, host.scan, topo);
  phase('host vCPU table');
  const vms: ModelVm[] = [];
  let g = 0;
  for (const t of topo) {
    const maxId = Math.max(...t.vcpuIds);
    const localOfVcpuId = new Int32Array(maxId + 1).fill(-1);
    t.vcpuIds.forEach((id, i) => (localOfVcpuId[id] = i));
    vms.push({
      ...t,
      index: vms.length,
      firstGlobal: g,
      localOfVcpuId,
      guestFile: null,
      offsetNs: null,
      clock: null,
      alignment: null,
      guest: null,
      alignInput: null,
      migrations: { guest: 0, host: 0, physical: 0 },
      coScheduling: { fractions: [] },
    });
    g += t.vcpuIds.length;
  }
  if (topo.length) notes.push(`vCPU grouping: ${topo.map((t) => `${t.name} by ${t.grouping}`).join(', ')}; on-core from ${vcpus.source}`);
  const pairs = pairGuests(guests, vms, options, (gc, vm) => alignmentQuality(vm, gc, vcpus, host.scan, opts));
  const hostSpan = { startNs: host.scan.startNs, endNs: host.scan.endNs };
  const alignJobs: AlignJob[] = pairs.map(([gc, vm], id) => {
    const rec = recordedOffsetNs(gc.trace);
    const userOffset = gc.offsetNs ?? opts.guestOffsetNs;
    const fixed = rec !== undefined ? { method: 'recorded' as const, offsetNs: rec } : userOffset !== undefined ? { method: 'user' as const, offsetNs: userOffset } : null;
    return { id, vm, scan: gc.scan, rows: vcpus, hostSpan, fixed, align: opts.align };
  });
  // Host-side per-VM tables. They read the host table's ends before the end-of-recording rule
  // closes its open rows (below) and give the same values: the open rows are each vCPU's last, and
  // their ends (the host trace's last event, or later) are at or after the VM's span end, where
  // co-scheduling's sweep clips every later event.
  let alongsideDone = false;
  const alongside = (): void => {
    if (alongsideDone) return;
    alongsideDone = true;
    const spans = vmSpans(host.trace, vms);
    for (const vm of vms) {
      vm.migrations.host = hostMigrations(vm, vcpus);
      const span = spans[vm.index]!;
      vm.coScheduling = coScheduling(vm, vcpus, span[0], span[1]);
    }
  };
  const aligned = (yield { kind: 'align', jobs: alignJobs, phase, meanwhile: alongside }) as AlignResult[];
  pairs.forEach(([gc, vm], i) => {
    const { clock, alignment } = aligned[i]!;
    if (alignment.driftApplied) {
      notes.push(
        `${gc.trace.path}: clock drift ${alignment.driftNsPerS} ns/s applied (offset ${alignment.offsetAtStartNs} ns at the guest's start, ${alignment.offsetAtEndNs} ns at its end, through ${alignment.clockKnots?.length} per-window estimates)`,
      );
    }
    if (gc.scan.sampleStride > 1) notes.push(`${gc.trace.path}: alignment used every ${gc.scan.sampleStride}th guest event`);
    vm.guestFile = gc.trace.path;
    vm.clock = clock;
    vm.offsetNs = offsetAt(clock, gc.scan.startNs);
    vm.alignment = alignment;
  });
  phase('pairing + clock alignment');
  // What still runs at the end of a trace runs until the recording stopped. Taken as the last event
  // of all inputs (host clock), unless this trace went silent much earlier than that (more than
  // 100 of its mean event gaps): then it stopped recording on its own, at its own last event.
  let allEndNs = host.scan.endNs;
  for (const [gc, vm] of pairs) allEndNs = Math.max(allEndNs, toHostNs(vm.clock!, gc.scan.endNs));
  const stopNs = (endNs: number, startNs: number, events: number): number =>
    allEndNs - endNs <= (100 * (endNs - startNs)) / Math.max(1, events) ? allEndNs : endNs;
  const hostStop = stopNs(host.scan.endNs, host.scan.startNs, host.trace.rowCount);
  for (let i = 0; i < vcpus.openRows.length; i++) vcpus.endNs[vcpus.openRows[i]!] = hostStop;
  if (hostStop !== allEndNs) notes.push(`${host.trace.path}: the host trace stops ${((allEndNs - hostStop) / 1e9).toFixed(3)} s before a guest trace; vCPUs still on cores end at its last event`);
  const lhpParams = { ...LHP_DEFAULTS, ...opts.lhp };
  const layerJobs: LayerJob[] = pairs.map(([gc, vm], id) => {
    const own = toHostNs(vm.clock!, gc.scan.endNs);
    const stop = stopNs(own, toHostNs(vm.clock!, gc.scan.startNs), gc.trace.rowCount);
    if (stop !== allEndNs) notes.push(`${gc.trace.path}: the guest trace stops ${((allEndNs - stop) / 1e9).toFixed(3)} s before the others; its threads still running end at its last event`);
    return { id, vm, scan: gc.scan, file: gc.trace.path, rows: vcpus, clock: vm.clock!, stopNs: stop, lhp: lhpParams };
  });
  const layers = (yield { kind: 'layers', jobs: layerJobs, alongside, hostOpenRows: vcpus.openRows, phase }) as LayerResult[];
  const lhpParts: LhpColumns[] = [];
  pairs.forEach(([gc, vm], i) => {
    const r = layers[i]!;
    gc.scan = r.scan;
    vm.guest = r.guest;
    vm.alignInput = alignInput(vm, r.scan, vcpus, hostSpan);
    let gm = 0, pm = 0;
    for (let k = 0; k < r.guest.tids.length; k++) {
      gm += r.guest.migGuest[k]!;
      pm += r.guest.migPhysical[k]!;
    }
    vm.migrations.guest = gm;
    vm.migrations.physical = pm;
    lhpParts.push(r.lhp);
  });
  const lhp = concatLhp(lhpParts);
  return { hostFile: host.trace.path, hostStartNs: host.scan.startNs, hostEndNs: host.scan.endNs, coreCount: host.scan.cpuCount, vcpus, vms, lhp, lhpParams, notes };
}

/** Adds [name, CPU ms since the previous call] to `out` (a no-op without it). */
function phaseTimer(out: Array<[string, number]> | undefined): (name: string) => void {
  if (!out) return () => {};
  const cpuMs = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  let last = cpuMs();
  return (name) => {
    const now = cpuMs();
    out.push([name, now - last]);
    last = now;
  };
}

function buildHostVcpus(trace: IndexedTrace, scan: LayerScan, topo: TopoVm[]): HostVcpus {
  const gOfHost = new Map<number, number>();
  const vmOf = new GrowI32();
  const vcpuId = new GrowI32();
  const hostId = new GrowI32();
  topo.forEach((vm, vi) =>
    vm.hostIds.forEach((h, i) => {
      gOfHost.set(h, vmOf.n);
      vmOf.push(vi);
      vcpuId.push(vm.vcpuIds[i]!);
      hostId.push(h);
    }),
  );
  const count = vmOf.n;
  // host thread id -> global vCPU index as a dense table when the ids are small (thread ids are
  // below PID_MAX_LIMIT), -1 for other threads; the Map otherwise
  let maxHost = -1;
  let minHost = 0;
  for (let i = 0; i < hostId.n; i++) {
    maxHost = Math.max(maxHost, hostId.a[i]!);
    minHost = Math.min(minHost, hostId.a[i]!);
  }
  let dense: Int32Array | null = null;
  if (minHost >= 0 && maxHost < 1 << 22) {
    dense = new Int32Array(maxHost + 1).fill(-1);
    for (const [h, gg] of gOfHost) dense[h] = gg;
  }
  const vcpuOfTid = (t: number): number => {
    if (dense) return t >= 0 && t < dense.length ? dense[t]! : -1;
    return gOfHost.get(t) ?? -1;
  };
  // vCPU "on core": thread-current (sched_switch) when the host trace has switches of vCPU
  // threads; otherwise kvm_entry..kvm_exit.
  const keyCount = Math.max(1, scan.cpuCount);
  // rows per vCPU and per core of the rows of vCPU threads (two counting sorts in one pass: no
  // per-row index, key or permutation arrays, which were half of this table's fresh memory)
  const countRows = (table: RunTable): { groupStart: Uint32Array; coreStart: Uint32Array; n: number } => {
    const groupStart = new Uint32Array(count + 1);
    const coreStart = new Uint32Array(keyCount + 1);
    const tid = table.tid;
    const cpu = table.cpu;
    let n = 0;
    for (let i = 0; i < table.length; i++) {
      const gg = vcpuOfTid(tid[i]!);
      if (gg >= 0) {
        groupStart[gg + 1]!++;
        coreStart[cpu[i]! + 1]!++;
        n++;
      }
    }
    for (let k = 0; k < count; k++) groupStart[k + 1]! += groupStart[k]!;
    for (let k = 0; k < keyCount; k++) coreStart[k + 1]! += coreStart[k]!;
    return { groupStart, coreStart, n };
  };
  let table = scan.runs;
  let sel = countRows(table);
  let source = trace.info.entity === 'xen-vcpu' ? 'xen' : 'sched_switch';
  if (sel.n === 0 && scan.guestModeNsByTid.size > 0 && scan.guestMode.length === 0) {
    // no vCPU thread was ever switched in: on-core time comes from kvm_entry..kvm_exit, whose rows the first scan left out
    scan = { ...scan, guestMode: scanLayer(trace, { xen: trace.info.entity === 'xen-vcpu', maxSampledEvents: 0 }).guestMode };
  }
  if (sel.n === 0 && scan.guestMode.length > 0) {
    table = scan.guestMode;
    sel = countRows(table);
    source = 'kvm_entry/kvm_exit';
  }
  // Rows are in end-time order; per vCPU (and per core) they are disjoint, so end order = start order.
  // Stable: each vCPU's rows and each core's rows keep the table's (end-time) order.
  const { groupStart, coreStart, n } = sel;
  // in shared memory: a parallel build hands a VM's rows to the worker as views, not copies
  const startNs = new Float64Array(sharedBytes(8 * n));
  const endNs = new Float64Array(sharedBytes(8 * n));
  const core = new Int32Array(sharedBytes(4 * n));
  const coreOrder = new Uint32Array(n);
  const fill = groupStart.slice(0, count);
  const coreFill = coreStart.slice(0, keyCount);
  const openRows = new GrowI32(8);
  const firstOpen = table.length - table.openCount;
  const tid = table.tid;
  const cpu = table.cpu;
  for (let r = 0; r < table.length; r++) {
    const gg = vcpuOfTid(tid[r]!);
    if (gg < 0) continue;
    const i = fill[gg]!++;
    const c = cpu[r]!;
    startNs[i] = table.startNs[r]!;
    endNs[i] = table.endNs[r]!;
    core[i] = c;
    coreOrder[coreFill[c]!++] = i;
    if (r >= firstOpen) openRows.push(i);
  }
  // ascending, as the old loop over grouped positions pushed them
  const openSorted = openRows.finish().sort();
  const guestModeNs = new Float64Array(count).fill(NaN);
  for (const [t, ns] of scan.guestModeNsByTid) {
    const gg = vcpuOfTid(t);
    if (gg >= 0) guestModeNs[gg] = ns;
  }
  return {
    count,
    vmOf: vmOf.finish(),
    vcpuId: vcpuId.finish(),
    hostId: hostId.finish(),
    groupStart,
    startNs,
    endNs,
    core,
    coreStart,
    coreOrder,
    guestModeNs,
    source,
    openRows: openSorted,
    coreCount: Math.max(1, scan.cpuCount),
  };
}

/** A SharedArrayBuffer where the runtime has one (zero-filled like an ArrayBuffer), else an ArrayBuffer. */
function sharedBytes(bytes: number): ArrayBufferLike {
  return typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
}

function selectorMatches(vm: ModelVm, sel: string): boolean {
  if (/^\d+$/.test(sel)) return vm.pid === Number(sel) || vm.domid === Number(sel);
  const dom = /^dom(\d+)$/.exec(sel);
  if (dom) return vm.domid === Number(dom[1]);
  return vm.name === sel;
}

/** How a user names this VM on the command line. */
function example(vm: ModelVm): string {
  if (vm.domid !== undefined) return `dom${vm.domid}`;
  return vm.pid !== undefined ? String(vm.pid) : vm.name;
}

function guestCpuCount(gc: GuestCandidate): number {
  return gc.scan.cpuCount;
}

/** Guest traces -> VMs: explicit selectors, the trace.dat GUEST name, one-to-one, matching vCPU counts. */
/** How well a guest trace fits a VM: the automatic alignment's quality (recorded/user offsets used as given). */
function alignmentQuality(vm: ModelVm, gc: GuestCandidate, vcpus: HostVcpus, hostScan: LayerScan, opts: BuildModelOptions): number {
  const ai = alignInput(vm, gc.scan, vcpus, hostScan);
  const fixed = recordedOffsetNs(gc.trace) ?? gc.offsetNs ?? opts.guestOffsetNs;
  if (fixed !== undefined) {
    const sc = scoreOffset(ai, fixed);
    return sc.checked ? sc.consistent / sc.checked : 0;
  }
  return autoAlign(ai, opts.align).info.quality;
}

/**
 * Guest traces whose vCPU count matches several VMs: pair them by clock alignment, the assignment
 * under which the most guest events fall inside their own vCPU's host runs. Taken only when it is
 * clear: every pair fits well (quality >= MIN_PAIR_QUALITY) and the best assignment beats every
 * other by PAIR_MARGIN per guest; else null (the caller asks the user).
 */
const MIN_PAIR_QUALITY = 0.6;
const PAIR_MARGIN = 0.1;
const MAX_PAIR_GROUP = 5;
function pairByAlignment(gs: GuestCandidate[], cands: ModelVm[], quality: (gc: GuestCandidate, vm: ModelVm) => number): ModelVm[] | null {
  const k = gs.length;
  if (k < 2 || k !== cands.length || k > MAX_PAIR_GROUP) return null;
  const q = gs.map((gc) => cands.map((vm) => quality(gc, vm)));
  let best = -1;
  let second = -1;
  let bestPerm: number[] = [];
  const perm: number[] = [];
  const used = new Array<boolean>(k).fill(false);
  const walk = (i: number, sum: number): void => {
    if (i === k) {
      if (sum > best) {
        second = best;
        best = sum;
        bestPerm = perm.slice();
      } else if (sum > second) second = sum;
      return;
    }
    for (let j = 0; j < k; j++) {
      if (used[j]) continue;
      used[j] = true;
      perm.push(j);
      walk(i + 1, sum + q[i]![j]!);
      perm.pop();
      used[j] = false;
    }
  };
  walk(0, 0);
  if (bestPerm.some((j, i) => q[i]![j]! < MIN_PAIR_QUALITY)) return null;
  if (best - second < PAIR_MARGIN * k) return null;
  return bestPerm.map((j) => cands[j]!);
}

function pairGuests(
  guests: GuestCandidate[],
  vms: ModelVm[],
  options: GuestOption[],
  quality: (gc: GuestCandidate, vm: ModelVm) => number,
): Array<[GuestCandidate, ModelVm]> {
  const pairs: Array<[GuestCandidate, ModelVm]> = [];
  const taken = new Set<ModelVm>();
  const vmList = () => vms.map((v) => `${v.name} (${v.vcpuIds.length} vCPUs${v.pid !== undefined ? `, pid ${v.pid}` : ''})`).join(', ');
  const rest: GuestCandidate[] = [];
  for (const gc of guests) {
    const sel = gc.vm ?? guestOptionName(gc.trace, options);
    if (sel === undefined) {
      rest.push(gc);
      continue;
    }
    const vm = vms.find((v) => selectorMatches(v, sel));
    if (!vm) {
      if (gc.vm === undefined) {
        rest.push(gc);
        continue;
      }
      throw new ModelError(`--guest ${gc.trace.path}@${sel}: no such VM in the host trace; VMs: ${vmList() || 'none'}`);
    }
    if (taken.has(vm)) throw new ModelError(`two guest traces for VM ${vm.name}: ${pairs.find((p) => p[1] === vm)![0].trace.path} and ${gc.trace.path}`);
    taken.add(vm);
    pairs.push([gc, vm]);
  }
  const free = () => vms.filter((v) => !taken.has(v));
  if (rest.length === 1 && free().length === 1) {
    const vm = free()[0]!;
    taken.add(vm);
    pairs.push([rest[0]!, vm]);
    return pairs;
  }
  const pairedByAlignment = new Set<GuestCandidate>();
  for (const gc of rest) {
    if (pairedByAlignment.has(gc)) continue;
    const n = guestCpuCount(gc);
    const cands = free().filter((v) => Math.max(...v.vcpuIds) + 1 === n);
    const rivals = rest.filter((o) => guestCpuCount(o) === n);
    if (cands.length === 1 && rivals.length === 1) {
      taken.add(cands[0]!);
      pairs.push([gc, cands[0]!]);
      continue;
    }
    const byAlignment = pairByAlignment(rivals, cands, quality);
    if (byAlignment) {
      rivals.forEach((o, i) => {
        taken.add(byAlignment[i]!);
        pairs.push([o, byAlignment[i]!]);
        pairedByAlignment.add(o);
      });
      continue;
    }
    if (free().length === 0) throw new ModelError(`${gc.trace.path}: a guest trace but no VM left in the host trace to pair it with; VMs: ${vmList() || 'none'}`);
    throw new ModelError(
      `${gc.trace.path}: cannot tell which VM this guest trace (${n} vCPUs) belongs to; VMs: ${vmList()}. Say it with --guest ${gc.trace.path}@PID (QEMU pid), @dom<ID> (Xen) or @NAME, e.g. --guest ${gc.trace.path}@${example(free()[0] ?? vms[0]!)}`,
    );
  }
  return pairs;
}

/** The trace.dat GUEST options of the host file: {name, traceId, vcpus: [{vcpu, hostPid}]}. */
interface GuestOption {
  name: string;
  traceId: string;
  vcpus: Array<{ vcpu: number; hostPid: number }>;
}

function guestOptions(host: IndexedTrace): GuestOption[] {
  const g = host.info.extra?.['guests'];
  if (!Array.isArray(g)) return [];
  return g.filter((x): x is GuestOption => !!x && typeof x === 'object' && typeof (x as GuestOption).name === 'string' && Array.isArray((x as GuestOption).vcpus));
}

/**
 * The VM name a guest file names through the host's GUEST options: a guest trace.dat records its
 * trace id (info.extra.traceId), the host's GUEST option maps that id to a guest name (which
 * applyGuestOptions gave the VM). Else a name the reader reports directly (info.extra.guestName).
 */
function guestOptionName(trace: IndexedTrace, options: GuestOption[]): string | undefined {
  const id = trace.info.extra?.['traceId'];
  if (id !== undefined) {
    const o = options.find((x) => String(x.traceId) === String(id));
    if (o) return o.name;
  }
  const n = trace.info.extra?.['guestName'];
  return typeof n === 'string' && n ? n : undefined;
}

/** Rename VMs after the host's GUEST options whose vCPU -> host pid map matches their threads. */
function applyGuestOptions(vms: TopoVm[], options: GuestOption[]): void {
  for (const o of options) {
    const pids = new Set(o.vcpus.map((v) => v.hostPid));
    const vm = vms.find((v) => v.hostIds.some((h) => pids.has(h)));
    if (vm) {
      vm.name = o.name;
      vm.grouping = `${vm.grouping}+guest-option`;
    }
  }
}

/**
 * A clock mapping recorded in the guest file. The trace.dat reader applies TIME_SHIFT itself
 * (info.extra.timeShift.applied): its timestamps are then already host time (offset 0). A reader
 * may also report a plain offset (info.extra.guestOffsetNs).
 */
function recordedOffsetNs(trace: IndexedTrace): number | undefined {
  const ts = trace.info.extra?.['timeShift'];
  if (ts && typeof ts === 'object' && (ts as { applied?: unknown }).applied === true) return 0;
  const o = trace.info.extra?.['guestOffsetNs'];
  return typeof o === 'number' && Number.isFinite(o) ? o : undefined;
}

function alignInput(vm: VmRef, scan: LayerScan, vcpus: VcpuRows, hostSpan: { startNs: number; endNs: number }): AlignInput {
  const list = [];
  for (let p = 0; p < scan.eventTsByCpu.length; p++) {
    const local = p < vm.localOfVcpuId.length ? vm.localOfVcpuId[p]! : -1;
    if (local < 0) continue;
    const gg = vm.firstGlobal + local;
    const a = vcpus.groupStart[gg]!;
    const b = vcpus.groupStart[gg + 1]!;
    list.push({ guestTs: scan.eventTsByCpu[p]!, hostStart: vcpus.startNs.subarray(a, b), hostEnd: vcpus.endNs.subarray(a, b) });
  }
  return { vcpus: list, hostStartNs: hostSpan.startNs, hostEndNs: hostSpan.endNs };
}

/** Placement segment columns, appended to by buildGuestLayer (grown by doubling). */
class SegCols {
  n = 0;
  start: Float64Array;
  end: Float64Array;
  vcpu: Int32Array;
  core: Int32Array;
  constructor(cap: number) {
    this.start = new Float64Array(cap);
    this.end = new Float64Array(cap);
    this.vcpu = new Int32Array(cap);
    this.core = new Int32Array(cap);
  }
  add(a: number, b: number, v: number, c: number): void {
    const n = this.n;
    if (n === this.start.length) {
      const cap = n * 2;
      const s = new Float64Array(cap); s.set(this.start); this.start = s;
      const e = new Float64Array(cap); e.set(this.end); this.end = e;
      const vv = new Int32Array(cap); vv.set(this.vcpu); this.vcpu = vv;
      const cc = new Int32Array(cap); cc.set(this.core); this.core = cc;
    }
    this.start[n] = a;
    this.end[n] = b;
    this.vcpu[n] = v;
    this.core[n] = c;
    this.n = n + 1;
  }
}

/** Migration event columns (layer 0 guest, 1 host, 2 physical). */
class MigCols {
  n = 0;
  ts: Float64Array;
  layer: Uint8Array;
  from: Int32Array;
  to: Int32Array;
  constructor(cap: number) {
    this.ts = new Float64Array(cap);
    this.layer = new Uint8Array(cap);
    this.from = new Int32Array(cap);
    this.to = new Int32Array(cap);
  }
  add(t: number, layer: number, from: number, to: number): void {
    const n = this.n;
    if (n === this.ts.length) {
      const cap = n * 2;
      const a = new Float64Array(cap); a.set(this.ts); this.ts = a;
      const l = new Uint8Array(cap); l.set(this.layer); this.layer = l;
      const f = new Int32Array(cap); f.set(this.from); this.from = f;
      const o = new Int32Array(cap); o.set(this.to); this.to = o;
    }
    this.ts[n] = t;
    this.layer[n] = layer;
    this.from[n] = from;
    this.to[n] = to;
    this.n = n + 1;
  }
}

/** endNs: where runs still open at the end of the guest trace are closed (host clock). */
function buildGuestLayer(vm: VmRef, scan: LayerScan, file: string, vcpus: VcpuRows, clock: ClockMap, endNs: number): GuestLayer {
  const src = scan.runs;
  // threads: dense index in order of first appearance
  const indexOfTid = new Map<number, number>();
  const tidList = new GrowI32();
  const threadKey = new Int32Array(src.length);
  // tid -> index through a dense table for tids below PID_MAX_LIMIT (a Map.get per run otherwise)
  let dense = new Int32Array(1024).fill(-1);
  for (let i = 0; i < src.length; i++) {
    const t = src.tid[i]!;
    let k: number;
    if (t >= 0 && t < 1 << 22) {
      if (t >= dense.length) {
        const grown = new Int32Array(Math.min(1 << 22, Math.max(t + 1, dense.length * 2))).fill(-1);
        grown.set(dense);
        dense = grown;
      }
      k = dense[t]!;
      if (k < 0) {
        k = tidList.n;
        dense[t] = k;
        indexOfTid.set(t, k);
        tidList.push(t);
      }
    } else {
      const known = indexOfTid.get(t);
      if (known === undefined) {
        k = tidList.n;
        indexOfTid.set(t, k);
        tidList.push(t);
      } else k = known;
    }
    threadKey[i] = k;
  }
  const tids = tidList.finish();
  const nThreads = tids.length;
  const runs: RunTable = {
    length: src.length,
    tid: src.tid,
    cpu: src.cpu,
    // mapped in place: the scan is this build's own and nothing reads its guest-clock run times
    // after this (fresh pages cost ~4.4 ms CPU per MB on the bench machine)
    startNs: mapTimes(clock, src.startNs, src.startNs),
    endNs: mapTimes(clock, src.endNs, src.endNs),
    endState: src.endState,
    openCount: src.openCount,
  };
  for (let r = src.length - src.openCount; r < src.length; r++) runs.endNs[r] = endNs;
  const byThread = groupByKey(threadKey, nThreads);
  const byVcpu = groupByKey(src.cpu, Math.max(1, scan.cpuCount));
  const segThreadStart = new Uint32Array(nThreads + 1);
  // Segment and migration columns written directly (one capacity check per row, no call per row),
  // allocated at an upper bound of their rows (memory never written costs no pages; growing by
  // doubling copied ~100 MB on the 10M-event set): a run interval is cut into at most 2 pieces per
  // on-core row of its vCPU that it overlaps, plus a tail, and the run intervals and the on-core rows
  // of one vCPU are each disjoint, so they overlap in at most (runs + rows) pairs per vCPU.
  // Migration events: at most one guest migration per run and two (physical, host) per segment;
  // sized at runs + segBound (room to spare in practice: 1.19M events for 0.79M runs and 1.02M
  // segments in the 10M-event set's larger VM), grown by doubling beyond (a moderate reservation).
  const nvm = vm.vcpuIds.length;
  const rowsOfVm = vcpus.groupStart[vm.firstGlobal + nvm]! - vcpus.groupStart[vm.firstGlobal]!;
  const segBound = 3 * src.length + 2 * rowsOfVm + 16;
  const seg = new SegCols(segBound);
  const mig = new MigCols(src.length + segBound);
  const runNs = new Float64Array(nThreads);
  const stealNs = new Float64Array(nThreads);
  const coreCount = vcpus.coreCount;
  // per-thread time per core, so that follow answers without summing a long thread's segments
  const coreNsFlat = nThreads * coreCount <= 4_000_000 ? new Float64Array(nThreads * coreCount) : null;
  const migGuest = new Int32Array(nThreads);
  const migHost = new Int32Array(nThreads);
  const migPhysical = new Int32Array(nThreads);
  const migThreadStart = new Uint32Array(nThreads + 1);
  const { startNs: hS, endNs: hE, core: hC, groupStart: hG } = vcpus;
  const rStart = runs.startNs;
  const rEnd = runs.endNs;
  const rCpu = runs.cpu;
  const order = byThread.order;
  const localOf = vm.localOfVcpuId;
  for (let k = 0; k < nThreads; k++) {
    segThreadStart[k] = seg.n;
    migThreadStart[k] = mig.n;
    let lastVcpu = -1;
    let lastPlacedCore = -1;
    let lastPlacedVcpu = -1;
    let run = 0;
    let steal = 0;
    for (let q = byThread.groupStart[k]!; q < byThread.groupStart[k + 1]!; q++) {
      const r = order[q]!;
      const s = rStart[r]!;
      const e = rEnd[r]!;
      const v = rCpu[r]!;
      run += e - s;
      if (lastVcpu >= 0 && v !== lastVcpu) {
        migGuest[k]!++;
        mig.add(s, 0, lastVcpu, v);
      }
      lastVcpu = v;
      const local = v < localOf.length ? localOf[v]! : -1;
      const firstSeg = seg.n;
      // pieces of [s, e): (a, b, core) in time order, core -1 while the vCPU is on no core; a piece
      // continues the previous one of this run interval when contiguous on the same core
      let lo = 0;
      let hi = 0;
      let j = 0;
      if (local >= 0) {
        const gg = vm.firstGlobal + local;
        lo = hG[gg]!;
        hi = hG[gg + 1]!;
        j = upperBound(hE, s, lo, hi);
      }
      let cursor = s;
      // one extra step after the host rows: the steal tail [cursor, e)
      for (;;) {
        let a: number;
        let b: number;
        let c: number;
        if (j < hi && hS[j]! < e) {
          const hs = hS[j]!;
          if (hs > cursor) {
            // gap before this on-core row: steal, then the row next time round
            a = cursor;
            b = hs;
            c = -1;
            cursor = hs;
          } else {
            a = cursor;
            b = Math.min(hE[j]!, e);
            c = hC[j]!;
            cursor = Math.max(cursor, b);
            j++;
          }
        } else if (cursor < e) {
          a = cursor;
          b = e;
          c = -1;
          cursor = e;
        } else break;
        if (b <= a) continue;
        const n = seg.n;
        if (n > firstSeg && seg.core[n - 1] === c && seg.end[n - 1] === a) seg.end[n - 1] = b;
        else seg.add(a, b, v, c);
        if (c < 0) {
          steal += b - a;
          continue;
        }
        if (coreNsFlat && c < coreCount) coreNsFlat[k * coreCount + c]! += b - a;
        if (lastPlacedCore >= 0 && c !== lastPlacedCore) {
          migPhysical[k]!++;
          mig.add(a, 2, lastPlacedCore, c);
          if (lastPlacedVcpu === v) {
            migHost[k]!++;
            mig.add(a, 1, lastPlacedCore, c);
          }
        }
        lastPlacedCore = c;
        lastPlacedVcpu = v;
      }
    }
    runNs[k] = run;
    stealNs[k] = steal;
  }
  segThreadStart[nThreads] = seg.n;
  migThreadStart[nThreads] = mig.n;
  const comms: string[] = [];
  for (let k = 0; k < nThreads; k++) comms.push(scan.commOf.get(tids[k]!) ?? '');
  return {
    file,
    tids,
    comms,
    indexOfTid,
    runs,
    runByThread: byThread.order,
    runThreadStart: byThread.groupStart,
    runByVcpu: byVcpu.order,
    runVcpuStart: byVcpu.groupStart,
    segThreadStart,
    segStartNs: fit(seg.start, seg.n),
    segEndNs: fit(seg.end, seg.n),
    segVcpu: fit(seg.vcpu, seg.n),
    segCore: fit(seg.core, seg.n),
    runNs,
    stealNs,
    coreNsFlat,
    coreCount,
    migGuest,
    migHost,
    migPhysical,
    migThreadStart,
    migTsNs: fit(mig.ts, mig.n),
    migLayer: fit(mig.layer, mig.n),
    migFrom: fit(mig.from, mig.n),
    migTo: fit(mig.to, mig.n),
    switchMismatches: scan.switchMismatches,
  };
}

/**
 * Per VM: [first, last] host event that involves one of its vCPU threads (as current task, subject
 * or switched-out task). Reads batches from each end only until every VM is found.
 */
const SPAN_COLUMNS = ['ts', 'pid', 'tid', 'prevTid'] as const;
function vmSpans(trace: IndexedTrace, vms: ModelVm[]): Array<[number, number]> {
  const vmOfHost = new Map<number, number>();
  for (const vm of vms) for (const h of vm.hostIds) vmOfHost.set(h, vm.index);
  const first = new Float64Array(vms.length).fill(NaN);
  const last = new Float64Array(vms.length).fill(NaN);
  let missing = vms.length;
  // a row may involve two VMs (a switch from one VM's vCPU thread to another's): check all three columns
  const mark = (arr: Float64Array, id: number, ts: number): void => {
    const v = vmOfHost.get(id);
    if (v !== undefined && Number.isNaN(arr[v]!)) {
      arr[v] = ts;
      missing--;
    }
  };
  // borrowed batches (the scan's reused frame; readBatch would read each into fresh memory), only
  // the four columns read here when the trace can
  const read = (b: number): EventColumns => trace.readBatchColumns?.(b, SPAN_COLUMNS) ?? (trace.readBatchBorrow ? trace.readBatchBorrow(b) : trace.readBatch(b));
  for (let b = 0; b < trace.batchCount && missing > 0; b++) {
    const c = read(b);
    for (let i = 0; i < c.length && missing > 0; i++) {
      mark(first, c.pid[i]!, c.ts[i]!);
      mark(first, c.tid[i]!, c.ts[i]!);
      mark(first, c.prevTid[i]!, c.ts[i]!);
    }
  }
  missing = vms.length;
  for (let b = trace.batchCount - 1; b >= 0 && missing > 0; b--) {
    const c = read(b);
    for (let i = c.length - 1; i >= 0 && missing > 0; i--) {
      mark(last, c.pid[i]!, c.ts[i]!);
      mark(last, c.tid[i]!, c.ts[i]!);
      mark(last, c.prevTid[i]!, c.ts[i]!);
    }
  }
  return vms.map((_, v) => (Number.isNaN(first[v]!) ? [0, 0] : [first[v]!, last[v]!]));
}

/** Consecutive on-core intervals of each of the VM's vCPUs on different cores. */
function hostMigrations(vm: ModelVm, vcpus: HostVcpus): number {
  let n = 0;
  for (let i = 0; i < vm.vcpuIds.length; i++) {
    const gg = vm.firstGlobal + i;
    for (let r = vcpus.groupStart[gg]! + 1; r < vcpus.groupStart[gg + 1]!; r++) if (vcpus.core[r] !== vcpus.core[r - 1]) n++;
  }
  return n;
}

/** Fraction of [spanStart, spanEnd] (first to last host event involving the VM's vCPU threads) with exactly k vCPUs on cores. */
function coScheduling(vm: ModelVm, vcpus: HostVcpus, spanStart: number, spanEnd: number): { fractions: number[] } {
  const nv = vm.vcpuIds.length;
  if (nv <= CO_SCHED_STREAM_MAX && groupsSorted(vcpus, vm.firstGlobal, nv)) return coSchedulingStreamed(vm, vcpus, spanStart, spanEnd);
  const starts = mergeSorted(vcpus.startNs, vcpus.groupStart, vm.firstGlobal, nv);
  const ends = mergeSorted(vcpus.endNs, vcpus.groupStart, vm.firstGlobal, nv);
  const dur = new Float64Array(nv + 1);
  let i = 0;
  let j = 0;
  let k = 0;
  let t = spanStart;
  while (i < starts.length || j < ends.length) {
    // ends before starts at equal times: a vCPU switching cores at one instant is not counted twice
    const takeEnd = j < ends.length && (i >= starts.length || ends[j]! <= starts[i]!);
    const x = takeEnd ? ends[j]! : starts[i]!;
    const xc = Math.min(Math.max(x, spanStart), spanEnd);
    if (xc > t) dur[Math.min(nv, Math.max(0, k))]! += xc - t;
    t = Math.max(t, xc);
    if (takeEnd) {
      k--;
      j++;
    } else {
      k++;
      i++;
    }
  }
  if (spanEnd > t) dur[Math.min(nv, Math.max(0, k))]! += spanEnd - t;
  const total = spanEnd - spanStart;
  return { fractions: Array.from(dur, (d) => (total > 0 ? d / total : 0)) };
}

/** VMs with at most this many vCPUs: co-scheduling from the vCPUs' columns directly (nv-way minimum per event). */
const CO_SCHED_STREAM_MAX = 8;

/** Whether the start and the end columns of each of groups first..first+n-1 are ascending (rows of a vCPU are disjoint unless events were lost). */
function groupsSorted(vcpus: HostVcpus, first: number, n: number): boolean {
  const { startNs: s, endNs: e, groupStart: gs } = vcpus;
  for (let g = first; g < first + n; g++) {
    for (let r = gs[g]! + 1; r < gs[g + 1]!; r++) if (s[r]! < s[r - 1]! || e[r]! < e[r - 1]!) return false;
  }
  return true;
}

/**
 * coScheduling when every vCPU's start and end columns are ascending: the merged starts and the
 * merged ends are then the sorted values whatever the merge, so the sweep reads the next smallest
 * start and end straight from the vCPUs' columns (a cursor each) and sees the same two sequences as
 * mergeSorted would give, without the four copies of the VM's rows (40 MB on the 10M-event set).
 */
function coSchedulingStreamed(vm: ModelVm, vcpus: HostVcpus, spanStart: number, spanEnd: number): { fractions: number[] } {
  const nv = vm.vcpuIds.length;
  const S = vcpus.startNs;
  const E = vcpus.endNs;
  const si = new Uint32Array(nv);
  const ei = new Uint32Array(nv);
  const hi = new Uint32Array(nv);
  for (let g = 0; g < nv; g++) {
    si[g] = ei[g] = vcpus.groupStart[vm.firstGlobal + g]!;
    hi[g] = vcpus.groupStart[vm.firstGlobal + g + 1]!;
  }
  // the group holding the next smallest start / end (-1: none left)
  const nextOf = (col: Float64Array, at: Uint32Array): number => {
    let best = -1;
    let x = Infinity;
    for (let g = 0; g < nv; g++) {
      const r = at[g]!;
      if (r < hi[g]! && (best < 0 || col[r]! < x)) {
        best = g;
        x = col[r]!;
      }
    }
    return best;
  };
  const dur = new Float64Array(nv + 1);
  let gs = nextOf(S, si);
  let ge = nextOf(E, ei);
  let k = 0;
  let t = spanStart;
  while (gs >= 0 || ge >= 0) {
    // ends before starts at equal times: a vCPU switching cores at one instant is not counted twice
    const takeEnd = ge >= 0 && (gs < 0 || E[ei[ge]!]! <= S[si[gs]!]!);
    const x = takeEnd ? E[ei[ge]!]! : S[si[gs]!]!;
    const xc = Math.min(Math.max(x, spanStart), spanEnd);
    if (xc > t) dur[Math.min(nv, Math.max(0, k))]! += xc - t;
    t = Math.max(t, xc);
    if (takeEnd) {
      k--;
      ei[ge]!++;
      ge = nextOf(E, ei);
    } else {
      k++;
      si[gs]!++;
      gs = nextOf(S, si);
    }
  }
  if (spanEnd > t) dur[Math.min(nv, Math.max(0, k))]! += spanEnd - t;
  const total = spanEnd - spanStart;
  return { fractions: Array.from(dur, (d) => (total > 0 ? d / total : 0)) };
}

/** Merge the sorted runs values[groupStart[g] .. groupStart[g+1]) of groups first..first+n-1 (pairwise, log2(n) passes). */
function mergeSorted(values: Float64Array, groupStart: Uint32Array, first: number, n: number): Float64Array {
  const base = groupStart[first]!;
  let src = values.slice(base, groupStart[first + n]!);
  if (n <= 1) return src;
  let dst = new Float64Array(src.length);
  // run boundaries relative to base
  let bounds: number[] = [];
  for (let g = 0; g <= n; g++) bounds.push(groupStart[first + g]! - base);
  while (bounds.length > 2) {
    const next: number[] = [0];
    for (let r = 0; r + 1 < bounds.length; r += 2) {
      const lo = bounds[r]!;
      const mid = bounds[r + 1]!;
      const hi = r + 2 < bounds.length ? bounds[r + 2]! : mid;
      let a = lo;
      let b = mid;
      let o = lo;
      while (a < mid && b < hi) {
        const x = src[a]!;
        const y = src[b]!;
        if (y < x) {
          dst[o++] = y;
          b++;
        } else {
          dst[o++] = x;
          a++;
        }
      }
      while (a < mid) dst[o++] = src[a++]!;
      while (b < hi) dst[o++] = src[b++]!;
      next.push(hi);
    }
    bounds = next;
    const t = src;
    src = dst;
    dst = t;
  }
  return src;
}

/** See LHP_HEURISTIC in shared/model-contract.ts. */
/** LHP candidate columns being appended to (one VM after another), and the scratch room of the search. */
class LhpOut {
  readonly oVm = new GrowI32();
  readonly oTid = new GrowI32();
  readonly oVcpu = new GrowI32();
  readonly oS = new GrowF64();
  readonly oE = new GrowF64();
  readonly oSib = new GrowF64();
  readonly oWait = new GrowI32();
  readonly scratchS = new GrowF64();
  readonly scratchE = new GrowF64();
  /** Room for `extra` more candidates in all seven output columns. */
  reserve(extra: number): void {
    for (const c of [this.oVm, this.oTid, this.oVcpu, this.oS, this.oE, this.oSib, this.oWait]) c.reserve(extra);
  }
  /** Rows [from, n) as views (reserve() sizes the columns at an upper bound: the rest was never written). */
  finish(from = 0): LhpColumns {
    const n = this.oVm.n;
    return {
      length: n - from,
      vm: this.oVm.a.subarray(from, n),
      tid: this.oTid.a.subarray(from, n),
      vcpu: this.oVcpu.a.subarray(from, n),
      startNs: this.oS.a.subarray(from, n),
      endNs: this.oE.a.subarray(from, n),
      siblingsOnCoreNs: this.oSib.a.subarray(from, n),
      waiterTid: this.oWait.a.subarray(from, n),
    };
  }
}

/** The VMs' LHP columns one after another (in VM pair order, as one search over all pairs appends them). */
const LHP_KEYS = ['vm', 'tid', 'vcpu', 'startNs', 'endNs', 'siblingsOnCoreNs', 'waiterTid'] as const;

/**
 * An upper bound of a layer job's LHP candidates, known before its guest layer is built: at most
 * one per steal segment, and a VM's segments are at most 3 per guest run + 2 per on-core row.
 */
export function lhpBound(j: LayerJob): number {
  const nv = j.vm.vcpuIds.length;
  const rowsOfVm = j.rows.groupStart[j.vm.firstGlobal + nv]! - j.rows.groupStart[j.vm.firstGlobal]!;
  return 3 * j.scan.runs.length + 2 * rowsOfVm + 16;
}

/**
 * Parts in pair order -> the same parts, the later ones copied into the first part's spare room
 * right after it (so that concatLhp joins them without a copy), when it has that room; else as given.
 */
export function appendLhp(parts: LhpColumns[]): LhpColumns[] {
  if (parts.length < 2) return parts;
  const first = parts[0]!;
  const rest = parts.slice(1).reduce((sum, p) => sum + p.length, 0);
  const room = (c: Int32Array | Float64Array): number => c.buffer.byteLength / c.BYTES_PER_ELEMENT - c.byteOffset / c.BYTES_PER_ELEMENT - first.length;
  if (!LHP_KEYS.every((k) => room(first[k]) >= rest)) return parts;
  const out = [first];
  let at = first.length;
  for (const p of parts.slice(1)) {
    const view = <T extends Int32Array | Float64Array>(base: T, src: T): T => {
      const v = new (base.constructor as new (b: ArrayBufferLike, o: number, l: number) => T)(base.buffer, base.byteOffset + at * base.BYTES_PER_ELEMENT, p.length);
      v.set(src);
      return v;
    };
    out.push({
      length: p.length,
      vm: view(first.vm, p.vm),
      tid: view(first.tid, p.tid),
      vcpu: view(first.vcpu, p.vcpu),
      startNs: view(first.startNs, p.startNs),
      endNs: view(first.endNs, p.endNs),
      siblingsOnCoreNs: view(first.siblingsOnCoreNs, p.siblingsOnCoreNs),
      waiterTid: view(first.waiterTid, p.waiterTid),
    });
    at += p.length;
  }
  return out;
}
function concatLhp(parts: LhpColumns[]): LhpColumns {
  if (parts.length === 1) return parts[0]!;
  // adjacent views of the same columns (runLayerJobsInline): one view over all of them
  const adjacent = parts.length > 1 && parts.every((p, i) => i === 0 || LHP_KEYS.every((k) => p[k].buffer === parts[0]![k].buffer && p[k].byteOffset === parts[i - 1]![k].byteOffset + parts[i - 1]![k].byteLength));
  if (adjacent) {
    const a = parts[0]!;
    const n = parts.reduce((sum, p) => sum + p.length, 0);
    const whole = <T extends Int32Array | Float64Array>(x: T): T => new (x.constructor as new (b: ArrayBufferLike, o: number, l: number) => T)(x.buffer, x.byteOffset, n);
    return { length: n, vm: whole(a.vm), tid: whole(a.tid), vcpu: whole(a.vcpu), startNs: whole(a.startNs), endNs: whole(a.endNs), siblingsOnCoreNs: whole(a.siblingsOnCoreNs), waiterTid: whole(a.waiterTid) };
  }
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out: LhpColumns = {
    length: n,
    vm: new Int32Array(n),
    tid: new Int32Array(n),
    vcpu: new Int32Array(n),
    startNs: new Float64Array(n),
    endNs: new Float64Array(n),
    siblingsOnCoreNs: new Float64Array(n),
    waiterTid: new Int32Array(n),
  };
  let o = 0;
  for (const p of parts) {
    out.vm.set(p.vm.subarray(0, p.length), o);
    out.tid.set(p.tid.subarray(0, p.length), o);
    out.vcpu.set(p.vcpu.subarray(0, p.length), o);
    out.startNs.set(p.startNs.subarray(0, p.length), o);
    out.endNs.set(p.endNs.subarray(0, p.length), o);
    out.siblingsOnCoreNs.set(p.siblingsOnCoreNs.subarray(0, p.length), o);
    out.waiterTid.set(p.waiterTid.subarray(0, p.length), o);
    o += p.length;
  }
  return out;
}

/** See LHP_HEURISTIC in shared/model-contract.ts. Appends one VM's candidates to `out`. */
function lhpOfVm(vm: VmRef, G: GuestLayer, wk: LayerScan, clock: ClockMap, vcpus: VcpuRows, p: LhpParams, out: LhpOut): void {
  const { oVm, oTid, oVcpu, oS, oE, oSib, oWait, scratchS, scratchE } = out;
  const vStart = vcpus.startNs;
  const vEnd = vcpus.endNs;
  if (vm.vcpuIds.length < 2) return;
  const nv = vm.vcpuIds.length;
  // per sibling vCPU: a cursor into its on-core rows; a thread's gaps come in time order, so the
  // first row ending after the gap's start is found by galloping forward from the previous one
  const cursor = new Uint32Array(nv);
  // scratch room for every sibling row (a gap can overlap at most all of them)
  const rowsOfVm = vcpus.groupStart[vm.firstGlobal + nv]! - vcpus.groupStart[vm.firstGlobal]!;
  scratchS.reserve(rowsOfVm);
  scratchE.reserve(rowsOfVm);
  const sA = scratchS.a;
  const eA = scratchE.a;
  // wakeups grouped by waker thread index
  const threadOf = denseThreadIndex(G);
  const wKeys = new Int32Array(wk.wakeTsNs.length);
  for (let i = 0; i < wKeys.length; i++) {
    const t = threadOf(wk.wakeWaker[i]!);
    wKeys[i] = t >= 0 ? t : G.tids.length;
  }
  const byWaker = groupByKey(wKeys, G.tids.length + 1);
  // at most one candidate per steal segment of at least minGapNs: the output columns at that size
  out.reserve(lhpGapCount(G, p));
  for (let k = 0; k < G.tids.length; k++) {
    let wq = byWaker.groupStart[k]!;
    for (let i = 0; i < nv; i++) cursor[i] = vcpus.groupStart[vm.firstGlobal + i]!;
    for (let s = G.segThreadStart[k]!; s < G.segThreadStart[k + 1]!; s++) {
      if (G.segCore[s] !== -1) continue;
      const a = G.segStartNs[s]!;
      const b = G.segEndNs[s]!;
      if (b - a < p.minGapNs) continue;
      const v = G.segVcpu[s]!;
      // union of sibling on-core time within [a, b]
      let n = 0;
      for (let i = 0; i < nv; i++) {
        if (vm.vcpuIds[i] === v) continue;
        const hi = vcpus.groupStart[vm.firstGlobal + i + 1]!;
        const j0 = gallopUpper(vEnd, a, cursor[i]!, hi);
        cursor[i] = j0;
        for (let j = j0; j < hi && vStart[j]! < b; j++) {
          sA[n] = Math.max(a, vStart[j]!);
          eA[n] = Math.min(b, vEnd[j]!);
          n++;
        }
      }
      scratchS.n = n;
      scratchE.n = n;
      const sib = unionLength(scratchS, scratchE);
      if (sib < p.minSiblingFraction * (b - a)) continue;
      let waiter = -1;
      const wh = byWaker.groupStart[k + 1]!;
      // wakeups by this thread from the gap's end to waitWindowNs later (guest clock -> host);
      // the thread's gaps come in time order, so the start pointer only moves forward
      const order = byWaker.order;
      while (wq < wh && toHostNs(clock, wk.wakeTsNs[order[wq]!]!) < b) wq++;
      for (let q = wq; q < wh && waiter < 0; q++) {
        const wi = order[q]!;
        const wt = toHostNs(clock, wk.wakeTsNs[wi]!);
        if (wt > b + p.waitWindowNs) break;
        const wIdx = threadOf(wk.wakeWoken[wi]!);
        if (wIdx < 0) continue;
        // the woken thread's last run interval before the wakeup must have ended (blocked) inside the gap on a sibling vCPU
        const rl = G.runThreadStart[wIdx]!;
        const rh = G.runThreadStart[wIdx + 1]!;
        let lo = rl;
        let hi = rh;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (G.runs.endNs[G.runByThread[mid]!]! <= wt) lo = mid + 1;
          else hi = mid;
        }
        if (lo === rl) continue;
        const r = G.runByThread[lo - 1]!;
        const endT = G.runs.endNs[r]!;
        const st = G.runs.endState[r]!;
        if (endT >= a && endT <= b && G.runs.cpu[r] !== v && st !== TaskState.running && (st & TaskState.preempted) === 0) waiter = G.tids[wIdx]!;
      }
      // all seven columns have the same length: one capacity check, then direct writes
      const o = oVm.n;
      if (o === oVm.a.length) for (const c of [oVm, oTid, oVcpu, oS, oE, oSib, oWait]) c.reserve(o);
      oVm.a[o] = vm.index;
      oTid.a[o] = G.tids[k]!;
      oVcpu.a[o] = v;
      oS.a[o] = a;
      oE.a[o] = b;
      oSib.a[o] = sib;
      oWait.a[o] = waiter;
      oVm.n = oTid.n = oVcpu.n = oS.n = oE.n = oSib.n = oWait.n = o + 1;
    }
  }
}

/** Steal segments of at least minGapNs: an upper bound of a VM's LHP candidates. */
function lhpGapCount(G: GuestLayer, p: LhpParams): number {
  let gaps = 0;
  for (let s = 0; s < G.segCore.length; s++) if (G.segCore[s] === -1 && G.segEndNs[s]! - G.segStartNs[s]! >= p.minGapNs) gaps++;
  return gaps;
}

/** tid -> thread index of a guest layer (-1 absent): a dense table when the tids are small, else the Map. */
function denseThreadIndex(G: GuestLayer): (tid: number) => number {
  let max = -1;
  let min = 0;
  for (let k = 0; k < G.tids.length; k++) {
    max = Math.max(max, G.tids[k]!);
    min = Math.min(min, G.tids[k]!);
  }
  if (min < 0 || max >= 1 << 22) return (t) => G.indexOfTid.get(t) ?? -1;
  const dense = new Int32Array(max + 1).fill(-1);
  for (let k = 0; k < G.tids.length; k++) dense[G.tids[k]!] = k;
  return (t) => (t >= 0 && t <= max ? dense[t]! : -1);
}

/** upperBound(a, x, lo, hi) when the answer is known to be >= lo: exponential steps from lo, then a binary search. */
function gallopUpper(a: Float64Array, x: number, lo: number, hi: number): number {
  if (lo >= hi || a[lo]! > x) return lo;
  // a[lo] <= x: find a bound with a[lo + step] > x
  let step = 1;
  let prev = lo;
  while (prev + step < hi && a[prev + step]! <= x) {
    prev += step;
    step *= 2;
  }
  return upperBound(a, x, prev + 1, Math.min(hi, prev + step));
}

/** Total length of the union of intervals [s[i], e[i]) (few: the siblings' overlaps with one gap). In-place insertion sort by start. */
function unionLength(s: GrowF64, e: GrowF64): number {
  const n = s.n;
  if (n === 0) return 0;
  const a = s.a;
  const b = e.a;
  for (let i = 1; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    let j = i - 1;
    for (; j >= 0 && a[j]! > x; j--) {
      a[j + 1] = a[j]!;
      b[j + 1] = b[j]!;
    }
    a[j + 1] = x;
    b[j + 1] = y;
  }
  let total = 0;
  let cs = a[0]!;
  let ce = b[0]!;
  for (let i = 1; i < n; i++) {
    if (a[i]! > ce) {
      total += ce - cs;
      cs = a[i]!;
      ce = b[i]!;
    } else if (b[i]! > ce) ce = b[i]!;
  }
  return total + ce - cs;
}


