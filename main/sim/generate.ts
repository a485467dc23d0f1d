// generate(): run a scenario into a folder (host trace, one guest trace per VM, truth.json).
// generateDemo(): the small default scenario used by `vcpuscope demo`.

import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SCENARIO, type HostPolicy, SCENARIOS, findScenario } from './scenarios.ts';
import { Simulation, type WorkloadStats } from './simulator.ts';
import { XEN_CPU_HZ, XentraceWriter } from './xentrace-writer.ts';
import type { CoschedulingTruth, ThreadTruth } from './truth.ts';

export interface GenerateOptions {
  out: string;
  scenario?: string;
  seconds?: number;
  seed?: number;
  policy?: HostPolicy;
  cores?: number;
  vms?: number;
  vcpus?: number;
  threads?: number;
  /** Keep simulating until the files hold this many bytes (seconds is then ignored). */
  sizeBytes?: number;
  /** Write into a non-empty folder (replacing files of the same names). */
  force?: boolean;
  /** Host trace as tracefs text (KVM/QEMU, default) or xentrace binary (Xen domains). */
  hostFormat?: 'tracefs' | 'xentrace';
  /** Print the record-tgid column in tracefs files. */
  tgid?: boolean;
  /**
   * Guest clock drift: host − guest grows by this many ns per host second (default 0). truth.json
   * then gives guestDriftNsPerS and guestClockRefNs besides guestOffsetNs.
   */
  clockDriftNsPerS?: number;
  /** Output buffer per file; default 4 MiB. */
  bufferBytes?: number;
  onProgress?: (fraction: number, bytes: number) => void;
  /** Stop early: generate() then rejects with GenerateError('cancelled'); the files written so far stay. */
  signal?: AbortSignal;
}

export interface Truth {
  version: 1;
  generator: {
    scenario: string; seed: number; seconds: number; policy: HostPolicy; cores: number; bytes: number;
    hostFormat: 'tracefs' | 'xentrace';
    /** xentrace only: the TSC rate the file was written with (read it with this --cpu-hz). */
    cpuHz?: number;
  };
  hostFile: string;
  vms: Array<{
    name: string;
    guestFile: string;
    /** host − guest at guest time guestClockRefNs (without drift: always). */
    guestOffsetNs: number;
    /**
     * Only with clock drift: host = guest + guestOffsetNs + guestDriftNsPerS · (guest − guestClockRefNs) / 1e9
     * (guestClockRefNs = the guest time at the simulation's start), exact up to the 1 ns rounding of timestamps.
     */
    guestDriftNsPerS?: number;
    guestClockRefNs?: number;
    /** hostTid: the QEMU vCPU thread; for xentrace the entity (domid << 16) | vcpu. */
    vcpus: Array<{ vcpu: number; hostTid: number }>;
    /** tracefs host only: the QEMU process whose `CPU n/KVM` threads are the vCPUs. */
    qemuPid?: number;
    /** xentrace only. */
    domid?: number;
    threads: ThreadTruth[];
    coscheduling: CoschedulingTruth;
    /** Inside the simulated workload; no trace shows these (see TRUTH.md). */
    workload: WorkloadStats;
  }>;
}

export class GenerateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GenerateError';
  }
}

export const HOST_FILE = 'host.txt';
export const HOST_FILE_XEN = 'host.xentrace';
export const guestFileName = (vm: string): string => `guest-${vm}.txt`;

const LIMITS = { cores: 256, vms: 64, vcpus: 64, threads: 512, seconds: 86_400 };

function checkInt(name: string, v: number | undefined, min: number, max: number): void {
  if (v === undefined) return;
  if (!Number.isInteger(v) || v < min || v > max) throw new GenerateError(`${name} must be an integer in ${min}..${max}, got ${v}`);
}

export async function generate(opts: GenerateOptions): Promise<{ dir: string; truth: Truth }> {
  const name = opts.scenario ?? DEFAULT_SCENARIO;
  const info = findScenario(name);
  if (!info) throw new GenerateError(`unknown scenario '${name}' (known: ${SCENARIOS.map((s) => s.name).join(', ')})`);
  checkInt('cores', opts.cores, 1, LIMITS.cores);
  checkInt('vms', opts.vms, 1, LIMITS.vms);
  checkInt('vcpus', opts.vcpus, 1, LIMITS.vcpus);
  checkInt('threads', opts.threads, 1, LIMITS.threads);
  checkInt('seed', opts.seed, 0, 0xffffffff);
  if (opts.clockDriftNsPerS !== undefined && !(Number.isFinite(opts.clockDriftNsPerS) && Math.abs(opts.clockDriftNsPerS) <= 1e6)) {
    throw new GenerateError(`clock drift must be a number of ns per s in -1000000..1000000, got ${opts.clockDriftNsPerS}`);
  }
  const seconds = opts.seconds ?? info.defaults.seconds;
  if (!(seconds > 0 && seconds <= LIMITS.seconds)) throw new GenerateError(`seconds must be in (0, ${LIMITS.seconds}], got ${seconds}`);
  if (opts.sizeBytes !== undefined && !(opts.sizeBytes > 0)) throw new GenerateError(`size must be positive`);
  const seed = opts.seed ?? info.defaults.seed;
  const config = info.build({ seconds, seed, policy: opts.policy, cores: opts.cores, vms: opts.vms, vcpus: opts.vcpus, threads: opts.threads });
  const names = new Set<string>();
  for (const vm of config.vms) {
    if (names.has(vm.name)) throw new GenerateError(`duplicate VM name '${vm.name}'`);
    names.add(vm.name);
  }

  const dir = opts.out;
  mkdirSync(dir, { recursive: true });
  const existing = readdirSync(dir);
  if (existing.length > 0 && !opts.force) throw new GenerateError(`output folder ${dir} is not empty (use --force to write into it)`);
  const xen = opts.hostFormat === 'xentrace';
  const hostFile = xen ? HOST_FILE_XEN : HOST_FILE;
  const files = [hostFile, ...config.vms.map((v) => guestFileName(v.name)), 'truth.json'];
  for (const f of files) rmSync(join(dir, f), { force: true });

  const sim = new Simulation({
    config,
    seed,
    durationNs: Math.round(seconds * 1e9),
    stopAtBytes: opts.sizeBytes,
    hostPath: join(dir, hostFile),
    hostFormat: opts.hostFormat,
    tgid: opts.tgid,
    guestPaths: config.vms.map((v) => join(dir, guestFileName(v.name))),
    // 4 MiB per file, but at most ~64 MiB in all when there are many VMs.
    ...(opts.clockDriftNsPerS ? { clockDriftNsPerS: opts.clockDriftNsPerS } : {}),
    bufferBytes: opts.bufferBytes ?? Math.max(256 << 10, Math.min(4 << 20, Math.floor((64 << 20) / (config.vms.length + 1)))),
    onProgress: opts.onProgress ? (f) => opts.onProgress!(f, sim.bytesWritten()) : undefined,
  });
  const completed = await sim.run(opts.signal);
  if (!completed) throw new GenerateError(`cancelled; the files in ${dir} are cut short (no truth.json)`);
  const bytes = sim.bytesWritten();
  // xentrace time is relative to the first record (the reader's time base): shift absolute times.
  const originNs = sim.host instanceof XentraceWriter ? Math.max(0, sim.host.firstHostNs) : 0;
  const truth: Truth = {
    version: 1,
    generator: {
      scenario: info.name, seed, seconds: opts.sizeBytes === undefined ? seconds : (sim.host.lastHostNs - sim.startNs) / 1e9,
      policy: config.policy, cores: config.cores, bytes, hostFormat: xen ? 'xentrace' : 'tracefs', ...(xen ? { cpuHz: XEN_CPU_HZ } : {}),
    },
    hostFile,
    vms: sim.vms.map((vm, i) => {
      const cos = sim.truth.coscheduling(i);
      return {
        name: vm.name,
        guestFile: guestFileName(vm.name),
        guestOffsetNs: vm.clockOffsetNs - originNs,
        ...(opts.clockDriftNsPerS
          ? { guestDriftNsPerS: (opts.clockDriftNsPerS * 1e9) / (1e9 - opts.clockDriftNsPerS), guestClockRefNs: sim.startNs - vm.clockOffsetNs }
          : {}),
        vcpus: vm.vcpuTids.map((hostTid, vcpu) => ({ vcpu, hostTid: xen ? (vm.domid << 16) | vcpu : hostTid })),
        ...(xen ? { domid: vm.domid } : { qemuPid: vm.qemuPid }),
        threads: sim.truth.threads(i, vm.threads.filter((t) => t.task.seen)),
        coscheduling: { ...cos, spanNs: [cos.spanNs[0] - originNs, cos.spanNs[1] - originNs] as [number, number] },
        workload: vm.stats,
      };
    }),
  };
  writeFileSync(join(dir, 'truth.json'), `${JSON.stringify(truth, null, 1)}\n`);
  return { dir, truth };
}

/**
 * The default scenario, small (2 s, ~1 MB, well under a second): what `vcpuscope demo` shows.
 * Writes into outDir even if it holds files (replacing only the generator's own file names).
 * `overrides` e.g. { policy: 'cosched' } for the other half of the lock-holder story.
 */
export async function generateDemo(outDir: string, overrides: Partial<Omit<GenerateOptions, 'out'>> = {}): Promise<{ dir: string; truth: Truth }> {
  return generate({ scenario: DEFAULT_SCENARIO, seconds: 2, seed: 1, force: true, ...overrides, out: outDir });
}
