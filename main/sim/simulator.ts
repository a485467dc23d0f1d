// The two-layer scheduling simulator: a seeded discrete-event model of guest schedulers (one per
// VM: per-vCPU run queues, slices, wakeup placement, load balancing) on top of a host scheduler
// (fair or co-scheduling, pinning, host tasks), streaming both layers as tracefs text.
// Realism rule: guest code (and so every guest line) only runs while its vCPU is on a core, after
// kvm_entry and before kvm_exit; guest timers of a descheduled vCPU fire when it runs again.
// Leaves out: priorities/nice, NUMA, interrupts other than timers and IPIs, fork/exit.

import { EventQueue } from './event-queue.ts';
import { Prng } from './prng.ts';
import type { HostTaskSpec, SimConfig, ThreadGroupSpec } from './scenarios.ts';
import { EXIT_REASON, PREV_STATE, TaskText, TracefsWriter, idleTask } from './tracefs-writer.ts';
import { TruthAccumulator } from './truth.ts';
import { XentraceWriter } from './xentrace-writer.ts';

/** What the simulator needs from a host trace writer (tracefs text or xentrace). */
export interface HostWriter {
  readonly bytes: number;
  lastHostNs: number;
  close(): void;
  switch(hostNs: number, cpu: number, prev: TaskText, prevState: Uint8Array, next: TaskText): void;
  waking(hostNs: number, cpu: number, line: TaskText, woken: TaskText, targetCpu: number, fromIrq: boolean): void;
  wakeup(hostNs: number, cpu: number, line: TaskText, woken: TaskText, targetCpu: number, fromIrq: boolean): void;
  migrate(hostNs: number, cpu: number, line: TaskText, task: TaskText, origCpu: number, destCpu: number): void;
  kvmEntry(hostNs: number, cpu: number, vcpuThread: TaskText, vcpuId: number, ripLow32: number): void;
  kvmExit(hostNs: number, cpu: number, vcpuThread: TaskText, vcpuId: number, reason: Uint8Array, ripLow32: number): void;
}

const XEN_IDLE_DOMAIN = 0x7fff;

// Event types.
const EV_VCPU_STEP = 1;
const EV_VCPU_ENTER = 2;
const EV_VCPU_HALT = 3;
const EV_HOST_SWITCH = 4;
const EV_HOST_SLICE = 5;
const EV_GANG_TICK = 6;
const EV_VCPU_TIMER = 7;
const EV_HOG_STEP = 8;
const EV_HOG_WAKE = 9;
const EV_END = 10;

// Latencies (ns) of the hardware/hypervisor paths; small and fixed so that guest lines always fall
// strictly inside the host interval where their vCPU is on a core.
const ENTRY_LAT = 1200; // host switch-in -> kvm_entry (guest resumes)
const EXIT_LAT = 900; // kvm_exit -> host switch-out
const HALT_LAT = 2500; // guest idle -> HLT exit
const IPI_LAT = 1500; // guest IPI -> target vCPU notices
const RESUME_LAT = 400; // kvm_entry -> first guest work
const WAKE_LAT = 3000; // host wakeup of a thread -> switch on an idle core
const BALANCE_NS = 4_000_000; // guest periodic load balance
const GUEST_RIP = 0x81e0_0000; // low 32 bits of a guest kernel address (informational)

// Guest thread states.
const T_RUNNING = 0;
const T_RUNNABLE = 1;
const T_SLEEP = 2;
const T_BLOCKED = 3;
const T_UNBORN = 4;
const T_DEAD = 5;

// advance() results.
const ADV_CONTINUE = 0;
const ADV_BLOCKED = 1;
const ADV_EXITED = 2;

// Host entity states.
const H_BLOCKED = 0;
const H_RUNNABLE = 1;
const H_RUNNING = 2;

const KIND = { lock: 0, barrier: 1, hog: 2, daemon: 3, spawner: 4, child: 5 } as const;

/** Order-changing O(1) removal (the order of a sleeper list does not matter). */
function removeAt(a: number[], i: number): void {
  a[i] = a[a.length - 1]!;
  a.pop();
}

interface GThread {
  vm: number;
  local: number;
  task: TaskText;
  kind: number;
  spec: ThreadGroupSpec;
  group: number;
  state: number;
  vcpu: number; // global vCPU index it runs on / is queued on / last ran on
  phase: number;
  remaining: number;
  spinning: boolean;
  wakeAt: number;
  /** spawner: its pre-allocated children (global indices); child: its parent. */
  children: number[] | null;
  nextChild: number;
  parent: number;
}

interface GVcpu {
  g: number;
  vm: number;
  v: number;
  ent: number;
  idle: TaskText;
  cur: number;
  rq: number[];
  sleepers: number[];
  sliceEnd: number;
  nextBalance: number;
  executing: boolean;
  halting: boolean;
  kickPending: boolean;
  progressSince: number;
  stepAt: number;
  stepGen: number;
  enterGen: number;
  haltGen: number;
  timerGen: number;
}

interface HostEnt {
  task: TaskText;
  vcpu: number; // global vCPU index, or -1 for a host task
  hog: HostTaskSpec | null;
  state: number;
  core: number;
  lastCore: number;
  allowed: number[] | null;
  assigned: number; // co-scheduling: core reserved for it this slot
  blocking: boolean;
  remaining: number;
  progressSince: number;
  stepGen: number;
  wakeGen: number;
}

interface Core {
  idle: TaskText;
  cur: number;
  rq: number[];
  switching: boolean;
  switchAt: number;
  switchGen: number;
  sliceGen: number;
  assign: number;
  reserved: boolean;
}

interface Lock {
  holder: number;
  spinners: number[];
}
interface Barrier {
  parties: number;
  waiting: number[];
}

/** What happened inside the workload (not visible in any trace; for teaching, not for tests of the model). */
export interface WorkloadStats {
  /** Critical sections completed (lock threads). */
  criticalSections: number;
  /** Time lock threads spent spinning while their vCPU was running (wasted CPU). */
  spinNs: number;
  /** Barrier rounds completed. */
  barrierRounds: number;
  /** Short-lived processes forked. */
  forks: number;
}

export interface SimVm {
  name: string;
  /** Xen domain id (host traces in xentrace format). */
  domid: number;
  /** The QEMU process (tgid of the `CPU n/KVM` threads) in tracefs host traces. */
  qemuPid: number;
  stats: WorkloadStats;
  clockOffsetNs: number;
  vcpuTids: number[];
  threads: { index: number; tid: number; comm: string; task: TaskText }[];
}

export interface SimOptions {
  config: SimConfig;
  seed: number;
  /** Simulated host time; ignored (unbounded) when stopAtBytes is set. */
  durationNs: number;
  /** Stop once the files hold at least this many bytes in total. */
  stopAtBytes?: number;
  hostPath: string;
  /** tracefs text (default, KVM/QEMU naming) or xentrace binary (Xen domains). */
  hostFormat?: 'tracefs' | 'xentrace';
  /** tracefs files print the record-tgid column. */
  tgid?: boolean;
  guestPaths: string[];
  bufferBytes: number;
  /** Guest clocks drift: host − guest grows by this many ns per host second (0 = none). */
  clockDriftNsPerS?: number;
  onProgress?: (fraction: number) => void;
}

export class Simulation {
  private readonly cfg: SimConfig;
  private readonly rng: Prng;
  private readonly q = new EventQueue();
  private readonly threads: GThread[] = [];
  private readonly vcpus: GVcpu[] = [];
  private readonly ents: HostEnt[] = [];
  private readonly cores: Core[] = [];
  private readonly locks: Lock[] = [];
  private readonly barriers: Barrier[] = [];
  readonly vms: SimVm[] = [];
  private readonly vmVcpus: number[][] = [];
  private readonly hogs: number[] = [];
  readonly host: HostWriter;
  readonly guests: TracefsWriter[] = [];
  readonly truth: TruthAccumulator;
  readonly startNs: number;
  private gangRr = 0;
  private hogRr = 0;

  constructor(private readonly opts: SimOptions) {
    const cfg = opts.config;
    this.cfg = cfg;
    this.rng = new Prng(opts.seed);
    const rng = this.rng;
    // Host uptime 1-3 h at the start of the trace; each guest booted 5-65 s before it.
    this.startNs = (3600 + rng.int(7200)) * 1e9 + rng.int(1e9);
    this.host =
      opts.hostFormat === 'xentrace'
        ? new XentraceWriter({ path: opts.hostPath, cpus: cfg.cores, bufferBytes: Math.min(opts.bufferBytes, 1 << 20) })
        : new TracefsWriter({ path: opts.hostPath, cpus: cfg.cores, clockOffsetNs: 0, bufferBytes: opts.bufferBytes, tgid: opts.tgid });
    for (let c = 0; c < cfg.cores; c++) {
      const idle = idleTask(c);
      idle.xen = (XEN_IDLE_DOMAIN << 16) | c;
      this.cores.push({ idle, cur: -1, rq: [], switching: false, switchAt: -1, switchGen: 0, sliceGen: 0, assign: -1, reserved: false });
    }
    // Host pids above every guest pid, so no tid means two things in a trace set.
    let hostPid = 20000 + rng.int(500);
    cfg.vms.forEach((spec, vm) => {
      const guestUptimeNs = (5 + rng.int(60)) * 1e9 + rng.int(1e9);
      const clockOffsetNs = this.startNs - guestUptimeNs;
      const drift = opts.clockDriftNsPerS ?? 0;
      this.guests.push(
        new TracefsWriter({ path: opts.guestPaths[vm]!, cpus: spec.vcpus, clockOffsetNs, ...(drift !== 0 ? { driftNsPerS: drift, driftRefNs: this.startNs } : {}), bufferBytes: opts.bufferBytes, tgid: opts.tgid }),
      );
      const qemuPid = hostPid;
      hostPid += 10 + spec.vcpus + rng.int(40);
      const simVm: SimVm = { name: spec.name, domid: vm + 1, qemuPid, stats: { criticalSections: 0, spinNs: 0, barrierRounds: 0, forks: 0 }, clockOffsetNs, vcpuTids: [], threads: [] };
      const list: number[] = [];
      for (let v = 0; v < spec.vcpus; v++) {
        const tid = qemuPid + 3 + v;
        simVm.vcpuTids.push(tid);
        const g = this.vcpus.length;
        const ent = this.ents.length;
        const pin = spec.pin?.[v];
        const vtask = new TaskText(tid, `CPU ${v}/KVM`, `CPU ${v}/KVM`, vm, qemuPid);
        vtask.xen = ((vm + 1) << 16) | v;
        this.ents.push({
          task: vtask,
          vcpu: g, hog: null, state: H_BLOCKED, core: -1,
          lastCore: pin ?? (g % cfg.cores), allowed: pin === undefined ? null : [pin],
          assigned: -1, blocking: false, remaining: 0, progressSince: 0, stepGen: 0, wakeGen: 0,
        });
        this.vcpus.push({
          g, vm, v, ent, idle: idleTask(v), cur: -1, rq: [], sleepers: [], sliceEnd: 0, nextBalance: 0,
          executing: false, halting: false, kickPending: false, progressSince: 0, stepAt: Infinity,
          stepGen: 0, enterGen: 0, haltGen: 0, timerGen: 0,
        });
        list.push(g);
      }
      this.vmVcpus.push(list);
      let pid = 300 + rng.int(700);
      let childPid = 4000 + rng.int(1000);
      for (const group of spec.groups) {
        const groupId = group.kind === 'lock' ? this.locks.length : group.kind === 'barrier' ? this.barriers.length : -1;
        if (group.kind === 'lock') this.locks.push({ holder: -1, spinners: [] });
        if (group.kind === 'barrier') this.barriers.push({ parties: group.count, waiting: [] });
        for (let i = 0; i < group.count; i++) {
          // Threads of one process share the comm and have consecutive tids; daemons are processes.
          const tid = group.kind === 'daemon' ? pid + i * (3 + rng.int(20)) : pid + i;
          const local = simVm.threads.length;
          const task = new TaskText(tid, group.comm, group.comm, -1, group.kind === 'daemon' || group.kind === 'spawner' ? tid : pid);
          simVm.threads.push({ index: local, tid, comm: group.comm, task });
          const home = list[local % list.length]!;
          const self = this.threads.length;
          this.threads.push({
            vm, local, task, kind: KIND[group.kind], spec: group, group: groupId, state: T_SLEEP,
            vcpu: home, phase: 0, remaining: rng.around(group.computeNs), spinning: false,
            wakeAt: this.startNs + 1000 + rng.int(group.kind === 'daemon' || group.kind === 'spawner' ? (group.sleepNs ?? 1e6) : 3_000_000),
            children: null, nextChild: 0, parent: -1,
          });
          this.vcpus[home]!.sleepers.push(self);
          if (group.kind === 'spawner') {
            const children: number[] = [];
            const childSpec: ThreadGroupSpec = { kind: 'daemon', comm: group.comm, count: 1, computeNs: group.childNs ?? 1_000_000 };
            for (let k = 0; k < (group.maxChildren ?? 50); k++) {
              childPid += 1 + rng.int(6);
              const ctask = new TaskText(childPid, group.comm);
              const clocal = simVm.threads.length;
              simVm.threads.push({ index: clocal, tid: childPid, comm: group.comm, task: ctask });
              children.push(this.threads.length);
              this.threads.push({
                vm, local: clocal, task: ctask, kind: KIND.child, spec: childSpec, group: -1, state: T_UNBORN,
                vcpu: home, phase: 0, remaining: 0, spinning: false, wakeAt: 0, children: null, nextChild: 0, parent: self,
              });
            }
            this.threads[self]!.children = children;
          }
        }
        pid += group.kind === 'daemon' ? group.count * 30 : group.count + 5 + rng.int(50);
      }
      this.vms.push(simVm);
    });
    let taskPid = hostPid + 500 + rng.int(1000);
    for (const spec of cfg.hostTasks) {
      for (let i = 0; i < spec.count; i++) {
        const e = this.ents.length;
        const htask = new TaskText(taskPid++, spec.comm);
        htask.xen = this.hogs.length; // dom0's vCPUs play the host tasks under Xen
        this.ents.push({
          task: htask, vcpu: -1, hog: spec, state: H_BLOCKED, core: -1,
          lastCore: e % cfg.cores, allowed: null, assigned: -1, blocking: false,
          remaining: rng.around(spec.burstNs), progressSince: 0, stepGen: 0, wakeGen: 0,
        });
        this.hogs.push(e);
      }
    }
    this.truth = new TruthAccumulator(cfg.vms.map((v, i) => ({ vcpus: v.vcpus, threads: this.vms[i]!.threads.length })), cfg.cores);
  }

  // ---------------------------------------------------------------------------------------------
  // Driver

  /**
   * Runs to the end (or the byte target), yielding to the event loop every ~50 ms so a host
   * process stays responsive. Returns false when `signal` aborted it (files are closed, complete
   * up to that point, and the truth covers what they hold).
   */
  async run(signal?: AbortSignal): Promise<boolean> {
    const t0 = this.startNs;
    const q = this.q;
    for (let g = 0; g < this.vcpus.length; g++) this.armTimer(this.vcpus[g]!, t0);
    for (const h of this.hogs) {
      const e = this.ents[h]!;
      e.wakeGen++;
      q.push(t0 + this.rng.int(2_000_000), EV_HOG_WAKE, h, e.wakeGen);
    }
    if (this.cfg.policy === 'cosched') q.push(t0, EV_GANG_TICK, 0, 0);
    const stopAtBytes = this.opts.stopAtBytes;
    const endNs = stopAtBytes === undefined ? t0 + this.opts.durationNs : Infinity;
    if (endNs !== Infinity) q.push(endNs, EV_END, 0, 0);
    let n = 0;
    let lastReport = -1;
    let lastYield = performance.now();
    let completed = true;
    while (q.pop()) {
      const t = q.topTimeNs;
      const id = q.topTarget;
      const gen = q.topGen;
      const type = q.topType;
      if (type === EV_END) break;
      this.dispatch(type, id, gen, t);
      if ((++n & 4095) === 0) {
        let frac: number;
        if (stopAtBytes !== undefined) {
          const bytes = this.bytesWritten();
          if (bytes >= stopAtBytes) break;
          frac = bytes / stopAtBytes;
        } else frac = (t - t0) / this.opts.durationNs;
        const pct = Math.floor(frac * 100);
        if (pct !== lastReport && this.opts.onProgress) {
          lastReport = pct;
          this.opts.onProgress(frac);
        }
        if (performance.now() - lastYield > 50) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          lastYield = performance.now();
        }
        if (signal?.aborted) {
          completed = false;
          break;
        }
      }
    }
    this.host.close();
    for (const g of this.guests) g.close();
    this.truth.finish(Math.max(this.host.lastHostNs, ...this.guests.map((g) => g.lastHostNs)));
    return completed;
  }

  bytesWritten(): number {
    let b = this.host.bytes;
    for (const g of this.guests) b += g.bytes;
    return b;
  }

  private dispatch(type: number, id: number, gen: number, t: number): void {
    switch (type) {
      case EV_VCPU_STEP: {
        const vc = this.vcpus[id]!;
        if (gen === vc.stepGen && vc.executing) {
          vc.stepAt = Infinity;
          this.guestStep(vc, t);
        }
        break;
      }
      case EV_VCPU_ENTER: {
        const vc = this.vcpus[id]!;
        if (gen === vc.enterGen) this.vcpuEnter(vc, t);
        break;
      }
      case EV_VCPU_HALT: {
        const vc = this.vcpus[id]!;
        if (gen === vc.haltGen) this.vcpuHalt(vc, t);
        break;
      }
      case EV_HOST_SWITCH: {
        const c = this.cores[id]!;
        if (gen === c.switchGen) {
          c.switchAt = -1;
          this.hostSwitch(id, t);
        }
        break;
      }
      case EV_HOST_SLICE:
        if (gen === this.cores[id]!.sliceGen) this.hostSlice(id, t);
        break;
      case EV_GANG_TICK:
        this.gangTick(t);
        break;
      case EV_VCPU_TIMER: {
        const vc = this.vcpus[id]!;
        const e = this.ents[vc.ent]!;
        if (gen === vc.timerGen && e.state === H_BLOCKED && !vc.halting) this.hostWake(vc.ent, t, e.lastCore, -1);
        break;
      }
      case EV_HOG_STEP: {
        const e = this.ents[id]!;
        if (gen === e.stepGen && e.state === H_RUNNING) this.hogStep(id, t);
        break;
      }
      case EV_HOG_WAKE: {
        const e = this.ents[id]!;
        if (gen === e.wakeGen && e.state === H_BLOCKED) this.hostWake(id, t, e.lastCore, -1);
        break;
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Line helpers (host lines also feed the truth's VM spans)

  private coreTask(c: number): TaskText {
    const core = this.cores[c]!;
    return core.cur >= 0 ? this.ents[core.cur]!.task : core.idle;
  }

  private vcpuTask(vc: GVcpu): TaskText {
    return vc.cur >= 0 ? this.threads[vc.cur]!.task : vc.idle;
  }

  private touch(task: TaskText, t: number): void {
    if (task.vm >= 0) this.truth.touch(task.vm, t);
  }

  // ---------------------------------------------------------------------------------------------
  // Host layer

  private scheduleSwitch(c: number, at: number): void {
    const core = this.cores[c]!;
    core.switchGen++;
    core.switchAt = at;
    this.q.push(at, EV_HOST_SWITCH, c, core.switchGen);
  }

  private hostSliceLen(): number {
    const s = this.cfg.hostSliceNs;
    return s - (s >> 3) + this.rng.int(s >> 2);
  }

  private allowedOn(e: HostEnt, c: number): boolean {
    return e.allowed === null || e.allowed.includes(c);
  }

  private coreIdle(c: number): boolean {
    const core = this.cores[c]!;
    return core.cur < 0 && core.rq.length === 0 && core.switchAt < 0;
  }

  /** Wake a blocked host entity; the lines go to core `wakerCore` (its current task is the waker). */
  private hostWake(id: number, t: number, wakerCore: number, ipiFromVcpu: number): void {
    const e = this.ents[id]!;
    if (e.vcpu >= 0) {
      const vc = this.vcpus[e.vcpu]!;
      if (vc.halting) {
        vc.kickPending = true;
        return;
      }
    }
    if (e.state !== H_BLOCKED) return;
    e.state = H_RUNNABLE;
    const H = this.host;
    const line = this.coreTask(wakerCore);
    const irq = ipiFromVcpu < 0;
    if (ipiFromVcpu >= 0) {
      H.kvmExit(t, wakerCore, line, this.vcpus[ipiFromVcpu]!.v, EXIT_REASON.msrWrite, GUEST_RIP + 0x1a2b);
      this.touch(line, t);
    }
    H.waking(t, wakerCore, line, e.task, e.lastCore, irq);
    this.touch(line, t);
    this.touch(e.task, t);
    let target: number;
    if (this.cfg.policy === 'cosched') target = e.assigned >= 0 ? e.assigned : e.lastCore;
    else target = this.placeFair(e);
    if (target !== e.lastCore) {
      H.migrate(t, wakerCore, line, e.task, e.lastCore, target);
      e.lastCore = target;
    }
    H.wakeup(t, wakerCore, line, e.task, target, irq);
    if (ipiFromVcpu >= 0) H.kvmEntry(t, wakerCore, line, this.vcpus[ipiFromVcpu]!.v, GUEST_RIP + 0x1a2b);
    if (this.cfg.policy === 'cosched') {
      if (e.assigned >= 0 || e.vcpu < 0) this.offer(id, t + WAKE_LAT);
    } else {
      this.cores[target]!.rq.push(id);
      const core = this.cores[target]!;
      if (core.cur < 0 && core.switchAt < 0) this.scheduleSwitch(target, t + WAKE_LAT);
    }
  }

  private placeFair(e: HostEnt): number {
    const n = this.cores.length;
    if (this.allowedOn(e, e.lastCore) && this.coreIdle(e.lastCore)) return e.lastCore;
    for (let i = 1; i < n; i++) {
      const c = (e.lastCore + i) % n;
      if (this.allowedOn(e, c) && this.coreIdle(c)) return c;
    }
    let best = -1;
    let bestLoad = Infinity;
    for (let i = 0; i < n; i++) {
      const c = (e.lastCore + i) % n;
      if (!this.allowedOn(e, c)) continue;
      const core = this.cores[c]!;
      const load = core.rq.length + (core.cur >= 0 ? 1 : 0);
      if (load < bestLoad) {
        bestLoad = load;
        best = c;
      }
    }
    return best < 0 ? e.lastCore : best;
  }

  /** Co-scheduling: a runnable entity may take its reserved core (or a free one for host tasks). */
  private offer(id: number, at: number): void {
    const e = this.ents[id]!;
    let c = e.assigned;
    if (c < 0 && e.vcpu < 0) {
      for (let i = 0; i < this.cores.length; i++) {
        const core = this.cores[i]!;
        if (!core.reserved && core.cur < 0 && core.switchAt < 0 && this.allowedOn(e, i)) {
          c = i;
          break;
        }
      }
    }
    if (c < 0) return;
    const core = this.cores[c]!;
    if (core.cur === id || core.switching || core.switchAt >= 0) return;
    if (core.cur < 0 || (this.ents[core.cur]!.vcpu < 0 && e.assigned === c)) this.scheduleSwitch(c, at);
  }

  private hostSlice(c: number, t: number): void {
    const core = this.cores[c]!;
    if (core.cur < 0 || core.switching) return;
    let from = -1;
    if (core.rq.length === 0) {
      // Periodic balance: take a waiting entity from a core with two or more waiting.
      for (let o = 0; o < this.cores.length; o++) {
        if (o !== c && this.cores[o]!.rq.length >= 2 && (from < 0 || this.cores[o]!.rq.length > this.cores[from]!.rq.length)) from = o;
      }
    }
    // Load fluctuations make real balancers move tasks between equally loaded cores now and then.
    if (from < 0 && this.rng.float() < 0.15) {
      const o = this.rng.int(this.cores.length);
      if (o !== c && this.cores[o]!.rq.length > 0 && this.cores[o]!.rq.length >= core.rq.length) from = o;
    }
    if (from >= 0) {
      const id = this.pullFrom(from, c, t);
      if (id >= 0) core.rq.push(id);
    }
    if (core.rq.length === 0) {
      core.sliceGen++;
      this.q.push(t + this.hostSliceLen(), EV_HOST_SLICE, c, core.sliceGen);
      return;
    }
    this.preemptCore(c, t);
  }

  /** Take the core away from its current entity (two phases for a vCPU: kvm_exit, then switch). */
  private preemptCore(c: number, t: number): void {
    const core = this.cores[c]!;
    if (core.cur < 0) {
      if (core.switchAt < 0) this.scheduleSwitch(c, t);
      return;
    }
    if (core.switching) return;
    const e = this.ents[core.cur]!;
    if (e.vcpu >= 0) {
      const vc = this.vcpus[e.vcpu]!;
      if (vc.halting) return;
      core.switching = true;
      if (vc.executing) {
        this.syncProgress(vc, t);
        vc.executing = false;
        vc.stepGen++;
        vc.stepAt = Infinity;
        vc.haltGen++;
        this.host.kvmExit(t, c, e.task, vc.v, EXIT_REASON.extint, GUEST_RIP);
        this.touch(e.task, t);
        this.scheduleSwitch(c, t + EXIT_LAT);
      } else {
        vc.enterGen++; // switched in but not entered yet
        this.scheduleSwitch(c, t);
      }
    } else this.hostSwitch(c, t);
  }

  private syncHog(e: HostEnt, t: number): void {
    e.remaining -= t - e.progressSince;
    e.progressSince = t;
  }

  private hogStep(id: number, t: number): void {
    const e = this.ents[id]!;
    const spec = e.hog!;
    e.progressSince = t;
    if (spec.sleepNs === 0) {
      e.remaining = this.rng.around(spec.burstNs);
      e.stepGen++;
      this.q.push(t + e.remaining, EV_HOG_STEP, id, e.stepGen);
      return;
    }
    e.remaining = this.rng.around(spec.burstNs);
    e.blocking = true;
    e.stepGen++;
    this.hostSwitch(e.core, t);
    e.wakeGen++;
    this.q.push(t + this.rng.around(spec.sleepNs), EV_HOG_WAKE, id, e.wakeGen);
  }

  private hostSwitch(c: number, t: number): void {
    const core = this.cores[c]!;
    const H = this.host;
    // Switching now makes any switch still scheduled on this core moot.
    core.switchGen++;
    core.switchAt = -1;
    const prevId = core.cur;
    let prevState = PREV_STATE.R;
    const fair = this.cfg.policy !== 'cosched';
    if (prevId >= 0) {
      const p = this.ents[prevId]!;
      if (p.vcpu >= 0) {
        const vc = this.vcpus[p.vcpu]!;
        if (vc.halting) {
          vc.halting = false;
          if (vc.kickPending || this.dueTimer(vc) <= t) {
            // Woken while exiting on HLT: it never really blocks, the guest goes on.
            vc.kickPending = false;
            core.switching = false;
            vc.enterGen++;
            this.q.push(t, EV_VCPU_ENTER, p.vcpu, vc.enterGen);
            return;
          }
          p.state = H_BLOCKED;
          prevState = PREV_STATE.S;
        } else {
          // Normally the guest already stopped at kvm_exit; if it has not (switched in, not yet
          // entered), make sure it neither enters nor keeps executing.
          vc.enterGen++;
          if (vc.executing) {
            this.syncProgress(vc, t);
            vc.executing = false;
            vc.stepGen++;
            vc.stepAt = Infinity;
            vc.haltGen++;
          }
          p.state = H_RUNNABLE;
          prevState = PREV_STATE.Rplus;
          if (fair) core.rq.push(prevId);
        }
      } else if (p.blocking) {
        // (progress already settled by hogStep)
        p.blocking = false;
        p.state = H_BLOCKED;
        prevState = PREV_STATE.S;
      } else {
        this.syncHog(p, t);
        p.stepGen++;
        p.state = H_RUNNABLE;
        prevState = PREV_STATE.Rplus;
        if (fair) core.rq.push(prevId);
      }
    }
    const nextId = fair ? this.pickFair(c, t) : this.pickCosched(c);
    core.switching = false;
    if (nextId === prevId && nextId >= 0) {
      // Nobody else to run: the same vCPU/task continues without a switch.
      const n = this.ents[nextId]!;
      n.state = H_RUNNING;
      this.startOnCore(c, nextId, t);
      return;
    }
    const prevTask = this.coreTask(c);
    const n = nextId >= 0 ? this.ents[nextId]! : null;
    if (n && n.lastCore !== c) {
      H.migrate(t, c, prevTask, n.task, n.lastCore, c);
      this.touch(prevTask, t);
      this.touch(n.task, t);
    }
    const nextTask = n ? n.task : core.idle;
    H.switch(t, c, prevTask, prevState, nextTask);
    this.touch(prevTask, t);
    this.touch(nextTask, t);
    if (prevId >= 0) {
      const p = this.ents[prevId]!;
      p.core = -1;
      if (p.vcpu >= 0) {
        const vc = this.vcpus[p.vcpu]!;
        this.truth.vcpuCore(vc.vm, vc.v, -1, t);
        if (p.state === H_BLOCKED) this.armTimer(vc, t);
        else if (!fair) this.offer(prevId, t);
      } else if (!fair && p.state === H_RUNNABLE) this.offer(prevId, t);
    }
    core.cur = nextId;
    if (n) {
      n.state = H_RUNNING;
      n.core = c;
      n.lastCore = c;
      if (n.vcpu >= 0) {
        const vc = this.vcpus[n.vcpu]!;
        this.truth.vcpuCore(vc.vm, vc.v, c, t);
      }
      this.startOnCore(c, nextId, t);
    }
  }

  private startOnCore(c: number, id: number, t: number): void {
    const e = this.ents[id]!;
    const core = this.cores[c]!;
    if (e.vcpu >= 0) {
      const vc = this.vcpus[e.vcpu]!;
      vc.enterGen++;
      this.q.push(t + ENTRY_LAT, EV_VCPU_ENTER, e.vcpu, vc.enterGen);
    } else {
      e.progressSince = t;
      e.stepGen++;
      this.q.push(t + Math.max(e.remaining, 1000), EV_HOG_STEP, id, e.stepGen);
    }
    if (this.cfg.policy !== 'cosched') {
      core.sliceGen++;
      this.q.push(t + this.hostSliceLen(), EV_HOST_SLICE, c, core.sliceGen);
    }
  }

  private pickFair(c: number, t: number): number {
    const core = this.cores[c]!;
    const head = core.rq.shift();
    if (head !== undefined) return head;
    // Newly idle: pull a waiting entity from the busiest other core.
    let from = -1;
    for (let o = 0; o < this.cores.length; o++) {
      if (o === c) continue;
      const rq = this.cores[o]!.rq;
      if (rq.length === 0 || (from >= 0 && rq.length <= this.cores[from]!.rq.length)) continue;
      for (let i = 0; i < rq.length; i++) {
        if (this.allowedOn(this.ents[rq[i]!]!, c)) {
          from = o;
          break;
        }
      }
    }
    if (from < 0) return -1;
    return this.pullFrom(from, c, t);
  }

  /**
   * Host-layer migration: take the last waiting entity of core `from`'s run queue that may run on
   * core `c` (affinity), log sched_migrate_task on `c`, and return it (-1 when none may move).
   */
  private pullFrom(from: number, c: number, t: number): number {
    const rq = this.cores[from]!.rq;
    for (let i = rq.length - 1; i >= 0; i--) {
      const id = rq[i]!;
      const e = this.ents[id]!;
      if (!this.allowedOn(e, c)) continue;
      rq.splice(i, 1);
      const line = this.coreTask(c);
      this.host.migrate(t, c, line, e.task, e.lastCore, c);
      this.touch(line, t);
      this.touch(e.task, t);
      e.lastCore = c;
      return id;
    }
    return -1;
  }

  private pickCosched(c: number): number {
    const core = this.cores[c]!;
    if (core.assign >= 0) {
      const e = this.ents[core.assign]!;
      if ((e.state === H_RUNNABLE && e.core < 0) || (e.state === H_RUNNING && e.core === c)) return core.assign;
      if (core.reserved) return -1;
    }
    if (core.reserved) return -1;
    for (let i = 0; i < this.hogs.length; i++) {
      const id = this.hogs[(this.hogRr + i) % this.hogs.length]!;
      const e = this.ents[id]!;
      if (((e.state === H_RUNNABLE && e.core < 0) || e.core === c) && this.allowedOn(e, c)) return id;
    }
    return -1;
  }

  /** Co-scheduling slot: all vCPUs of one VM (rotating) get cores together; the rest fill in. */
  private gangTick(t: number): void {
    const n = this.cores.length;
    for (const e of this.ents) e.assigned = -1;
    for (const core of this.cores) {
      core.assign = -1;
      core.reserved = false;
    }
    let free = n;
    const nVm = this.vmVcpus.length;
    const start = this.gangRr;
    this.gangRr = (this.gangRr + 1) % Math.max(1, nVm);
    let first = true;
    for (let k = 0; k < nVm; k++) {
      const list = this.vmVcpus[(start + k) % nVm]!;
      if (!list.some((g) => this.ents[this.vcpus[g]!.ent]!.state !== H_BLOCKED)) continue;
      if (list.length > free && !first) continue;
      first = false;
      for (const g of list) {
        const id = this.vcpus[g]!.ent;
        const e = this.ents[id]!;
        let c = -1;
        if (this.allowedOn(e, e.lastCore) && this.cores[e.lastCore]!.assign < 0) c = e.lastCore;
        else for (let i = 0; i < n; i++) if (this.cores[i]!.assign < 0 && this.allowedOn(e, i)) {
          c = i;
          break;
        }
        if (c < 0) continue;
        this.cores[c]!.assign = id;
        this.cores[c]!.reserved = true;
        e.assigned = c;
        free--;
      }
      if (free === 0) break;
    }
    this.hogRr = (this.hogRr + 1) % Math.max(1, this.hogs.length);
    for (let c = 0; c < n; c++) {
      const core = this.cores[c]!;
      if (core.switching) continue;
      const cur = core.cur;
      if (cur >= 0 && (core.assign === cur || (!core.reserved && this.ents[cur]!.vcpu < 0))) continue;
      if (cur < 0) {
        if (this.pickCosched(c) >= 0 && core.switchAt < 0) this.scheduleSwitch(c, t);
        continue;
      }
      this.preemptCore(c, t);
    }
    this.q.push(t + this.cfg.hostSliceNs, EV_GANG_TICK, 0, 0);
  }

  // ---------------------------------------------------------------------------------------------
  // Guest layer

  private syncProgress(vc: GVcpu, t: number): void {
    if (vc.cur >= 0 && vc.executing) {
      const th = this.threads[vc.cur]!;
      if (!th.spinning) th.remaining -= t - vc.progressSince;
      else this.vms[vc.vm]!.stats.spinNs += t - vc.progressSince;
    }
    vc.progressSince = t;
  }

  private dueTimer(vc: GVcpu): number {
    let m = Infinity;
    for (const s of vc.sleepers) {
      const w = this.threads[s]!.wakeAt;
      if (w < m) m = w;
    }
    return m;
  }

  private armTimer(vc: GVcpu, t: number): void {
    const due = this.dueTimer(vc);
    if (due === Infinity) return;
    vc.timerGen++;
    this.q.push(Math.max(due, t), EV_VCPU_TIMER, vc.g, vc.timerGen);
  }

  private vcpuEnter(vc: GVcpu, t: number): void {
    const e = this.ents[vc.ent]!;
    vc.executing = true;
    vc.progressSince = t;
    this.host.kvmEntry(t, e.core, e.task, vc.v, GUEST_RIP);
    this.touch(e.task, t);
    vc.stepGen++;
    vc.stepAt = t + RESUME_LAT;
    this.q.push(vc.stepAt, EV_VCPU_STEP, vc.g, vc.stepGen);
  }

  private vcpuHalt(vc: GVcpu, t: number): void {
    if (!vc.executing || vc.cur >= 0 || vc.rq.length > 0) return;
    if (this.dueTimer(vc) <= t) {
      this.guestStep(vc, t);
      return;
    }
    const e = this.ents[vc.ent]!;
    this.syncProgress(vc, t);
    vc.executing = false;
    vc.stepGen++;
    vc.stepAt = Infinity;
    vc.halting = true;
    vc.kickPending = false;
    this.host.kvmExit(t, e.core, e.task, vc.v, EXIT_REASON.hlt, GUEST_RIP + 0x3e);
    this.touch(e.task, t);
    const core = this.cores[e.core]!;
    core.switching = true;
    this.scheduleSwitch(e.core, t + EXIT_LAT);
  }

  private guestSwitch(vc: GVcpu, next: number, t: number, prevState: Uint8Array): void {
    const W = this.guests[vc.vm]!;
    const prevTask = this.vcpuTask(vc);
    const nextTask = next >= 0 ? this.threads[next]!.task : vc.idle;
    W.switch(t, vc.v, prevTask, prevState, nextTask);
    this.truth.guestSwitch(vc.vm, vc.v, next >= 0 ? this.threads[next]!.local : -1, t);
    vc.cur = next;
    vc.sliceEnd = t + this.cfg.guestSliceNs;
    vc.progressSince = t;
    if (next >= 0) {
      const th = this.threads[next]!;
      th.state = T_RUNNING;
      if (th.spinning) this.tryAcquire(th, vc, t);
    }
  }

  private guestStep(vc: GVcpu, t: number): void {
    this.syncProgress(vc, t);
    const g = vc.g;
    if (vc.sleepers.length > 0) {
      for (let i = 0; i < vc.sleepers.length; ) {
        const id = vc.sleepers[i]!;
        if (this.threads[id]!.wakeAt <= t) {
          removeAt(vc.sleepers, i);
          this.wakeThread(id, vc, t, true);
        } else i++;
      }
    }
    for (let guard = 0; guard < 8 && vc.cur >= 0; guard++) {
      const th = this.threads[vc.cur]!;
      if (th.spinning) this.tryAcquire(th, vc, t);
      if (th.spinning || th.remaining > 0) break;
      const r = this.advance(vc.cur, vc, t);
      if (r !== ADV_CONTINUE) {
        // The thread blocked or exited: run the next one (or go idle).
        const next = this.pickGuest(vc, t);
        this.guestSwitch(vc, next, t, r === ADV_EXITED ? PREV_STATE.Z : PREV_STATE.S);
      }
    }
    if (vc.cur >= 0 && t >= vc.sliceEnd) {
      if (vc.rq.length > 0) {
        const cur = vc.cur;
        this.threads[cur]!.state = T_RUNNABLE;
        vc.rq.push(cur);
        this.guestSwitch(vc, vc.rq.shift()!, t, PREV_STATE.Rplus);
      } else vc.sliceEnd = t + this.cfg.guestSliceNs;
    }
    if (t >= vc.nextBalance) {
      vc.nextBalance = t + BALANCE_NS;
      if (vc.cur >= 0) this.periodicBalance(vc, t);
    }
    if (vc.cur < 0) {
      const next = this.pickGuest(vc, t);
      if (next >= 0) this.guestSwitch(vc, next, t, PREV_STATE.R);
    }
    if (vc.cur < 0) {
      vc.haltGen++;
      this.q.push(t + HALT_LAT, EV_VCPU_HALT, g, vc.haltGen);
    }
    this.scheduleStep(vc, g, t);
  }

  private scheduleStep(vc: GVcpu, g: number, t: number): void {
    let next = this.dueTimer(vc);
    if (vc.cur >= 0) {
      const th = this.threads[vc.cur]!;
      if (!th.spinning && t + th.remaining < next) next = t + th.remaining;
      if (vc.sliceEnd < next) next = vc.sliceEnd;
      if (vc.nextBalance < next) next = vc.nextBalance;
    }
    if (next === Infinity) {
      vc.stepGen++;
      vc.stepAt = Infinity;
      return;
    }
    if (next <= t) next = t + 1;
    if (next === vc.stepAt) return; // the pending step event is still valid
    vc.stepGen++;
    vc.stepAt = next;
    this.q.push(next, EV_VCPU_STEP, g, vc.stepGen);
  }

  /** Run queue head, or (newly idle) a thread pulled from the busiest sibling. */
  private pickGuest(vc: GVcpu, t: number): number {
    const head = vc.rq.shift();
    if (head !== undefined) return head;
    let from: GVcpu | null = null;
    for (const g of this.vmVcpus[vc.vm]!) {
      const u = this.vcpus[g]!;
      if (u !== vc && u.rq.length > 0 && (from === null || u.rq.length > from.rq.length)) from = u;
    }
    if (from === null) return -1;
    const id = from.rq.pop()!;
    this.guestMigrate(vc, id, vc, t);
    return id;
  }

  private guestMigrate(lineVc: GVcpu, id: number, dest: GVcpu, t: number): void {
    const th = this.threads[id]!;
    const orig = this.vcpus[th.vcpu]!.v;
    this.guests[lineVc.vm]!.migrate(t, lineVc.v, this.vcpuTask(lineVc), th.task, orig, dest.v);
    th.vcpu = dest.g;
  }

  private periodicBalance(vc: GVcpu, t: number): void {
    const mine = (vc.cur >= 0 ? 1 : 0) + vc.rq.length;
    let busiest: GVcpu | null = null;
    let busiestLoad = -1;
    let idle: GVcpu | null = null;
    for (const g of this.vmVcpus[vc.vm]!) {
      const u = this.vcpus[g]!;
      if (u === vc) continue;
      const load = (u.cur >= 0 ? 1 : 0) + u.rq.length;
      if (u.rq.length > 0 && load > busiestLoad) {
        busiest = u;
        busiestLoad = load;
      }
      if (idle === null && u.cur < 0 && u.rq.length === 0) idle = u;
    }
    if (busiest !== null && busiestLoad - mine >= 2) {
      const id = busiest.rq.pop()!;
      this.guestMigrate(vc, id, vc, t);
      vc.rq.push(id);
    } else if (vc.rq.length > 0 && idle !== null) {
      // Kick an idle sibling and hand it a waiting thread (nohz idle balance).
      const id = vc.rq.pop()!;
      this.guestMigrate(vc, id, idle, t);
      idle.rq.push(id);
      this.kick(idle, vc, t);
    }
  }

  private selectVcpu(th: GThread): GVcpu {
    const prev = this.vcpus[th.vcpu]!;
    if (prev.cur < 0 && prev.rq.length === 0) return prev;
    const list = this.vmVcpus[th.vm]!;
    const n = list.length;
    const at = list.indexOf(th.vcpu);
    for (let i = 1; i < n; i++) {
      const u = this.vcpus[list[(at + i) % n]!]!;
      if (u.cur < 0 && u.rq.length === 0) return u;
    }
    return prev;
  }

  private wakeThread(id: number, waker: GVcpu, t: number, fromTimer: boolean): void {
    const th = this.threads[id]!;
    const W = this.guests[waker.vm]!;
    const line = this.vcpuTask(waker);
    const target = this.selectVcpu(th);
    const prevV = this.vcpus[th.vcpu]!.v;
    W.waking(t, waker.v, line, th.task, prevV, fromTimer);
    if (target.v !== prevV) this.guestMigrate(waker, id, target, t);
    W.wakeup(t, waker.v, line, th.task, target.v, fromTimer);
    th.state = T_RUNNABLE;
    target.rq.push(id);
    if (target !== waker && target.cur < 0) this.kick(target, waker, t);
  }

  /** Make vCPU w notice new work: IPI to a running one, host wakeup of a halted one. */
  private kick(w: GVcpu, from: GVcpu, t: number): void {
    if (w.executing) {
      if (t + IPI_LAT < w.stepAt) {
        w.stepGen++;
        w.stepAt = t + IPI_LAT;
        this.q.push(t + IPI_LAT, EV_VCPU_STEP, w.g, w.stepGen);
      }
      return;
    }
    if (w.halting) {
      w.kickPending = true;
      return;
    }
    const e = this.ents[w.ent]!;
    if (e.state === H_BLOCKED) this.hostWake(w.ent, t, this.ents[from.ent]!.core, from.g);
  }

  /** The thread finished its current compute phase: continue, blocked or exited. */
  private advance(id: number, vc: GVcpu, t: number): number {
    const th = this.threads[id]!;
    const spec = th.spec;
    const rng = this.rng;
    switch (th.kind) {
      case KIND.lock: {
        const lock = this.locks[th.group]!;
        if (th.phase === 0) {
          if (lock.holder < 0) {
            lock.holder = id;
            th.phase = 1;
            th.remaining = rng.around(spec.critNs ?? 100_000);
          } else {
            th.spinning = true;
            lock.spinners.push(id);
          }
          return ADV_CONTINUE;
        }
        this.release(lock, t);
        this.vms[th.vm]!.stats.criticalSections++;
        th.phase = 0;
        th.remaining = rng.around(spec.computeNs);
        if (rng.float() < (spec.sleepProb ?? 0)) return this.sleep(id, vc, t, spec.sleepNs ?? 1_000_000);
        return ADV_CONTINUE;
      }
      case KIND.barrier: {
        const b = this.barriers[th.group]!;
        th.remaining = rng.around(spec.computeNs);
        if (b.waiting.length + 1 >= b.parties) {
          for (const w of b.waiting) this.wakeThread(w, vc, t, false);
          b.waiting.length = 0;
          this.vms[th.vm]!.stats.barrierRounds++;
          return ADV_CONTINUE;
        }
        b.waiting.push(id);
        th.state = T_BLOCKED;
        return ADV_BLOCKED;
      }
      case KIND.hog:
        th.remaining = rng.around(spec.computeNs);
        return ADV_CONTINUE;
      case KIND.spawner: {
        th.remaining = rng.around(spec.computeNs);
        const children = th.children!;
        if (th.phase === 0 && th.nextChild < children.length) {
          // fork + wait4(): the parent sleeps until the child exits.
          this.fork(id, children[th.nextChild++]!, vc, t);
          this.vms[th.vm]!.stats.forks++;
          th.phase = 1;
          th.state = T_BLOCKED;
          return ADV_BLOCKED;
        }
        th.phase = 0;
        return this.sleep(id, vc, t, spec.sleepNs ?? 10_000_000);
      }
      case KIND.child: {
        this.guests[vc.vm]!.exit(t, vc.v, th.task);
        th.state = T_DEAD;
        const parent = this.threads[th.parent]!;
        if (parent.state === T_BLOCKED) this.wakeThread(th.parent, vc, t, false);
        return ADV_EXITED;
      }
      default:
        th.remaining = rng.around(spec.computeNs);
        return this.sleep(id, vc, t, spec.sleepNs ?? 10_000_000);
    }
  }

  private sleep(id: number, vc: GVcpu, t: number, meanNs: number): number {
    const th = this.threads[id]!;
    th.state = T_SLEEP;
    th.wakeAt = t + this.rng.around(meanNs, 20_000);
    vc.sleepers.push(id);
    return ADV_BLOCKED;
  }

  /** sched_process_fork + sched_wakeup_new on the parent's vCPU; the child starts on an idle vCPU if any. */
  private fork(parentId: number, childId: number, vc: GVcpu, t: number): void {
    const parent = this.threads[parentId]!;
    const child = this.threads[childId]!;
    const W = this.guests[vc.vm]!;
    child.vcpu = vc.g;
    child.remaining = this.rng.around(child.spec.computeNs);
    W.fork(t, vc.v, parent.task, child.task);
    const target = this.selectVcpu(child);
    child.vcpu = target.g;
    W.wakeupNew(t, vc.v, parent.task, child.task, target.v);
    child.state = T_RUNNABLE;
    target.rq.push(childId);
    if (target !== vc && target.cur < 0) this.kick(target, vc, t);
  }

  private release(lock: Lock, t: number): void {
    lock.holder = -1;
    for (let i = 0; i < lock.spinners.length; i++) {
      const id = lock.spinners[i]!;
      const th = this.threads[id]!;
      const vc = this.vcpus[th.vcpu]!;
      if (th.state === T_RUNNING && vc.cur === id && vc.executing) {
        this.tryAcquire(th, vc, t);
        this.scheduleStep(vc, th.vcpu, t);
        return;
      }
    }
  }

  private tryAcquire(th: GThread, vc: GVcpu, t: number): void {
    const lock = this.locks[th.group]!;
    if (lock.holder >= 0) return;
    const id = vc.cur;
    if (vc.executing) this.vms[th.vm]!.stats.spinNs += t - vc.progressSince;
    lock.holder = id;
    const i = lock.spinners.indexOf(id);
    if (i >= 0) lock.spinners.splice(i, 1); // keeps FIFO order: the next waiter in line gets it
    th.spinning = false;
    th.phase = 1;
    th.remaining = this.rng.around(th.spec.critNs ?? 100_000);
    vc.progressSince = t;
  }
}
