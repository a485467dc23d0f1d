// Online ground truth for generated traces, computed from exactly the switch lines the writers
// emit (host-clock ns), with the definitions in TRUTH.md. Keeps O(threads + vCPUs) state, nothing
// per event.

export interface ThreadTruth {
  tid: number;
  comm: string;
  runNs: number;
  stealNs: number;
  /** Core number (as a string key) → ns on that core. */
  coreNs: Record<string, number>;
  migrations: { guest: number; host: number; physical: number };
}

export interface CoschedulingTruth {
  /** fractions[k] = share of the VM's span with exactly k of its vCPUs on cores. */
  fractions: number[];
  /** ns per k, same order as fractions. */
  timeNs: number[];
  /** [first, last] host event (host clock ns) that involves one of the VM's vCPU threads. */
  spanNs: [number, number];
  /** Time-weighted mean number of the VM's vCPUs on cores over the span. */
  meanOnCore: number;
}

class VmAccumulator {
  readonly curThread: Int32Array;
  readonly vcpuCore: Int32Array;
  readonly segStart: Float64Array;
  readonly runNs: Float64Array;
  readonly runStart: Float64Array;
  readonly stealNs: Float64Array;
  readonly coreNs: Float64Array; // thread * cores + core
  readonly lastRunVcpu: Int32Array;
  readonly lastPlacedCore: Int32Array;
  readonly lastPlacedVcpu: Int32Array;
  readonly migGuest: Int32Array;
  readonly migHost: Int32Array;
  readonly migPhysical: Int32Array;
  readonly timeAtK: Float64Array;
  onCore = 0;
  lastKChangeNs = -1;
  firstNs = -1;
  lastNs = -1;

  constructor(
    readonly vcpus: number,
    readonly threads: number,
    readonly cores: number,
  ) {
    this.curThread = new Int32Array(vcpus).fill(-1);
    this.vcpuCore = new Int32Array(vcpus).fill(-1);
    this.segStart = new Float64Array(vcpus);
    this.runNs = new Float64Array(threads);
    this.runStart = new Float64Array(threads);
    this.stealNs = new Float64Array(threads);
    this.coreNs = new Float64Array(threads * cores);
    this.lastRunVcpu = new Int32Array(threads).fill(-1);
    this.lastPlacedCore = new Int32Array(threads).fill(-1);
    this.lastPlacedVcpu = new Int32Array(threads).fill(-1);
    this.migGuest = new Int32Array(threads);
    this.migHost = new Int32Array(threads);
    this.migPhysical = new Int32Array(threads);
    this.timeAtK = new Float64Array(vcpus + 1);
  }

  /** Close the current (thread, core) segment of vCPU v at tNs. */
  flush(v: number, tNs: number): void {
    const th = this.curThread[v]!;
    const start = this.segStart[v]!;
    this.segStart[v] = tNs;
    if (tNs < start) throw new Error(`truth: time went backwards on vCPU ${v}: ${tNs} < ${start}`);
    if (th < 0 || tNs <= start) return;
    const len = tNs - start;
    const core = this.vcpuCore[v]!;
    if (core < 0) {
      this.stealNs[th]! += len;
      return;
    }
    this.coreNs[th * this.cores + core]! += len;
    const lastCore = this.lastPlacedCore[th]!;
    if (lastCore >= 0 && lastCore !== core) {
      this.migPhysical[th]!++;
      if (this.lastPlacedVcpu[th] === v) this.migHost[th]!++;
    }
    this.lastPlacedCore[th] = core;
    this.lastPlacedVcpu[th] = v;
  }

  guestSwitch(v: number, next: number, tNs: number): void {
    this.flush(v, tNs);
    const prev = this.curThread[v]!;
    if (prev >= 0) this.runNs[prev]! += tNs - this.runStart[prev]!;
    this.curThread[v] = next;
    if (next >= 0) {
      this.runStart[next] = tNs;
      const last = this.lastRunVcpu[next]!;
      if (last >= 0 && last !== v) this.migGuest[next]!++;
      this.lastRunVcpu[next] = v;
    }
  }

  setCore(v: number, core: number, tNs: number, countForSpan: boolean): void {
    this.flush(v, tNs);
    const old = this.vcpuCore[v]!;
    if (countForSpan && this.lastKChangeNs >= 0) {
      this.timeAtK[this.onCore]! += tNs - this.lastKChangeNs;
      this.lastKChangeNs = tNs;
    }
    this.onCore += (core >= 0 ? 1 : 0) - (old >= 0 ? 1 : 0);
    this.vcpuCore[v] = core;
  }

  touch(tNs: number): void {
    if (this.firstNs < 0) {
      this.firstNs = tNs;
      this.lastKChangeNs = tNs;
    }
    this.lastNs = tNs;
  }
}

export class TruthAccumulator {
  private readonly vms: VmAccumulator[];

  constructor(vms: ReadonlyArray<{ vcpus: number; threads: number }>, readonly cores: number) {
    this.vms = vms.map((v) => new VmAccumulator(v.vcpus, v.threads, cores));
  }

  /** Guest sched_switch on vCPU v of VM vm to thread `next` (-1 = idle), host-clock ns. */
  guestSwitch(vm: number, v: number, next: number, tNs: number): void {
    this.vms[vm]!.guestSwitch(v, next, tNs);
  }

  /** Host sched_switch moving vCPU v of VM vm onto `core` (-1 = off). Call touch() first. */
  vcpuCore(vm: number, v: number, core: number, tNs: number): void {
    this.vms[vm]!.setCore(v, core, tNs, true);
  }

  /** A host line involving one of the VM's vCPU threads. */
  touch(vm: number, tNs: number): void {
    this.vms[vm]!.touch(tNs);
  }

  /**
   * Close what is still open (run intervals, on-core intervals) at endNs: the last line of all the
   * files together, on the host clock.
   */
  finish(endNs: number): void {
    for (const a of this.vms) {
      if (a.lastKChangeNs >= 0) a.timeAtK[a.onCore]! += a.lastNs - a.lastKChangeNs;
      a.lastKChangeNs = -1;
      for (let v = 0; v < a.vcpus; v++) if (a.curThread[v]! >= 0) a.guestSwitch(v, -1, endNs);
      for (let v = 0; v < a.vcpus; v++) if (a.vcpuCore[v]! >= 0) a.setCore(v, -1, endNs, false);
    }
  }

  threads(vm: number, list: ReadonlyArray<{ index: number; tid: number; comm: string }>): ThreadTruth[] {
    const a = this.vms[vm]!;
    return list.map(({ index: th, tid, comm }) => {
      const coreNs: Record<string, number> = {};
      for (let c = 0; c < this.cores; c++) {
        const ns = a.coreNs[th * this.cores + c]!;
        if (ns > 0) coreNs[String(c)] = ns;
      }
      return {
        tid,
        comm,
        runNs: a.runNs[th]!,
        stealNs: a.stealNs[th]!,
        coreNs,
        migrations: { guest: a.migGuest[th]!, host: a.migHost[th]!, physical: a.migPhysical[th]! },
      };
    });
  }

  coscheduling(vm: number): CoschedulingTruth {
    const a = this.vms[vm]!;
    const span = a.firstNs >= 0 ? a.lastNs - a.firstNs : 0;
    const timeNs = Array.from(a.timeAtK);
    const fractions = timeNs.map((t) => (span > 0 ? t / span : 0));
    const meanOnCore = fractions.reduce((s, f, k) => s + f * k, 0);
    return { fractions, timeNs, spanNs: [a.firstNs, a.lastNs], meanOnCore };
  }
}
