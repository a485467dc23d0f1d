// Named simulator scenarios (the classroom stories) and the configuration they expand to. The
// SCENARIOS table is what the CLI lists and the UI shows; build() turns options into a SimConfig.

export type HostPolicy = 'fair' | 'cosched';

export interface ThreadGroupSpec {
  /**
   * lock: compute, take the group's spinlock, critical section, release (sometimes sleep);
   * barrier: compute, wait at the group's barrier; hog: compute forever; daemon: sleep, short work;
   * spawner: like a shell, fork a child that computes childNs and exits, wait for it, sleep.
   */
  kind: 'lock' | 'barrier' | 'hog' | 'daemon' | 'spawner';
  comm: string;
  count: number;
  /** Mean compute per iteration (outside the critical section for `lock`). */
  computeNs: number;
  critNs?: number;
  sleepNs?: number;
  /** lock: probability of a sleep after each critical section. */
  sleepProb?: number;
  /** spawner: compute of each child and the number of children (bounded so memory stays bounded). */
  childNs?: number;
  maxChildren?: number;
}

export interface VmSpec {
  name: string;
  vcpus: number;
  /** pin[v] = the only host core vCPU v may run on. */
  pin?: number[];
  groups: ThreadGroupSpec[];
}

export interface HostTaskSpec {
  comm: string;
  count: number;
  burstNs: number;
  /** 0 = never sleeps. */
  sleepNs: number;
}

export interface SimConfig {
  cores: number;
  policy: HostPolicy;
  hostSliceNs: number;
  guestSliceNs: number;
  vms: VmSpec[];
  hostTasks: HostTaskSpec[];
}

export interface ScenarioOptions {
  seconds: number;
  seed: number;
  policy?: HostPolicy;
  cores?: number;
  vms?: number;
  vcpus?: number;
  threads?: number;
}

export interface ScenarioInfo {
  name: string;
  title: string;
  /** One paragraph for the UI and `generate --help`. */
  explanation: string;
  defaults: { seconds: number; seed: number; policy: HostPolicy; cores: number };
  build(opts: ScenarioOptions): SimConfig;
}

const US = 1000;
const MS = 1_000_000;

const lockVm = (name: string, vcpus: number): VmSpec => ({
  name,
  vcpus,
  groups: [
    { kind: 'lock', comm: 'lockbench', count: vcpus, computeNs: 700 * US, critNs: 100 * US, sleepNs: 2 * MS, sleepProb: 0.03 },
    { kind: 'daemon', comm: 'kworker/u8:2', count: 1, computeNs: 30 * US, sleepNs: 8 * MS },
  ],
});
const hogVm = (name: string, vcpus: number, comm = 'cruncher'): VmSpec => ({
  name,
  vcpus,
  groups: [
    { kind: 'hog', comm, count: vcpus, computeNs: 20 * MS },
    { kind: 'daemon', comm: 'kworker/u8:1', count: 1, computeNs: 20 * US, sleepNs: 12 * MS },
  ],
});
const barrierVm = (name: string, vcpus: number, threads: number): VmSpec => ({
  name,
  vcpus,
  groups: [
    { kind: 'barrier', comm: 'omp-worker', count: threads, computeNs: 1500 * US },
    { kind: 'daemon', comm: 'sshd', count: 1, computeNs: 50 * US, sleepNs: 15 * MS },
    { kind: 'spawner', comm: 'bash', count: 1, computeNs: 80 * US, sleepNs: 40 * MS, childNs: 600 * US, maxChildren: 100 },
  ],
});

function base(opts: ScenarioOptions, info: ScenarioInfo, vms: VmSpec[], hostTasks: HostTaskSpec[]): SimConfig {
  const cfg: SimConfig = {
    cores: opts.cores ?? info.defaults.cores,
    policy: opts.policy ?? info.defaults.policy,
    hostSliceNs: 6 * MS,
    guestSliceNs: 3 * MS,
    vms,
    hostTasks,
  };
  return applyOverrides(cfg, opts);
}

/** --vms K (repeat/truncate the VM list), --vcpus V (every VM), --threads T (first group of each VM). */
export function applyOverrides(cfg: SimConfig, opts: ScenarioOptions): SimConfig {
  let vms = cfg.vms;
  if (opts.vms !== undefined) {
    const out: VmSpec[] = [];
    for (let i = 0; i < opts.vms; i++) {
      const t = vms[i % vms.length]!;
      out.push({ ...t, name: i < vms.length ? t.name : `${t.name}${Math.floor(i / vms.length) + 1}`, groups: t.groups.map((g) => ({ ...g })) });
    }
    vms = out;
  }
  if (opts.vcpus !== undefined) {
    const v = opts.vcpus;
    vms = vms.map((vm) => ({ ...vm, vcpus: v, pin: vm.pin ? Array.from({ length: v }, (_, i) => vm.pin![i % vm.pin!.length]!) : undefined }));
  }
  if (opts.threads !== undefined) {
    const t = opts.threads;
    vms = vms.map((vm) => ({ ...vm, groups: vm.groups.map((g, i) => (i === 0 ? { ...g, count: t } : g)) }));
  }
  const cores = cfg.cores;
  vms = vms.map((vm) => (vm.pin ? { ...vm, pin: vm.pin.map((c) => c % cores) } : vm));
  return { ...cfg, vms };
}

export const SCENARIOS: readonly ScenarioInfo[] = [
  {
    name: 'lock-holder-preemption',
    title: 'Lock-holder preemption: credit scheduling vs co-scheduling',
    explanation:
      'VM "db" runs four threads of one process that share a spinlock; VM "batch" keeps four vCPUs busy on the same four cores, so the host must time-share eight vCPUs. With the default fair (credit-like) host policy each vCPU is scheduled on its own: when the thread holding the lock is descheduled together with its vCPU, its siblings keep running and spin, burning whole host time slices without progress (look for lockbench threads that are "running" in the guest while their vCPU is on no core - steal - and the siblings spinning meanwhile). Run it again with --policy cosched: the host gang-schedules all vCPUs of a VM together (as the co-scheduler of Zhang, Bai and Wei, 2010), so the holder and the spinners are preempted and resumed at the same time and the co-scheduling fraction of "db" moves to "all 4 vCPUs on cores". The spinning itself never shows in a trace (it is user code); the "workload" section of truth.json reports it: with seed 1 over 2 s, about 0.7 s of spinning under fair scheduling against 0.1 s under co-scheduling, and about 16% more critical sections completed.',
    defaults: { seconds: 2, seed: 1, policy: 'fair', cores: 4 },
    build(opts) {
      return base(opts, this, [lockVm('db', 4), hogVm('batch', 4)], []);
    },
  },
  {
    name: 'overcommit',
    title: 'Overcommit: more vCPUs than physical cores',
    explanation:
      'Three VMs with two vCPUs each share two physical cores: a build VM that always wants both of its vCPUs, a web VM with bursty request threads and short-lived CGI processes (fork/exit), and a database VM with lock-protected work. Every vCPU waits for a core part of the time, so guest threads accumulate steal time, vCPUs move between cores (host migrations) and guest load balancing moves threads between vCPUs (guest migrations). Compare a thread\'s guest view (its vCPU) with the physical view (the cores it really ran on).',
    defaults: { seconds: 2, seed: 1, policy: 'fair', cores: 2 },
    build(opts) {
      return base(opts, this, [
        hogVm('build', 2, 'cc1'),
        {
          name: 'web',
          vcpus: 2,
          groups: [
            { kind: 'daemon', comm: 'nginx', count: 4, computeNs: 400 * US, sleepNs: 3 * MS },
            { kind: 'spawner', comm: 'cgi-launcher', count: 1, computeNs: 100 * US, sleepNs: 20 * MS, childNs: 1500 * US, maxChildren: 200 },
          ],
        },
        { name: 'db', vcpus: 2, groups: [{ kind: 'lock', comm: 'postgres', count: 3, computeNs: 500 * US, critNs: 100 * US, sleepNs: 1 * MS, sleepProb: 0.2 }] },
      ], []);
    },
  },
  {
    name: 'pinned',
    title: 'Pinned vCPUs: guest migrations without host migrations',
    explanation:
      'Each vCPU of VM "rt" is pinned to its own core (0 and 1), and the vCPUs of VM "batch" to cores 2 and 3. The host never moves these vCPUs, so every change of physical core that a guest thread sees comes from the guest scheduler moving it to another vCPU (guest migration = physical migration, host migrations stay zero). Three barrier-synchronised threads on two vCPUs keep the guest balancer busy; a periodic host task ("backup") still preempts pinned vCPUs, which shows up as steal.',
    defaults: { seconds: 2, seed: 1, policy: 'fair', cores: 4 },
    build(opts) {
      return base(opts, this, [
        { ...barrierVm('rt', 2, 3), pin: [0, 1] },
        { ...hogVm('batch', 2), pin: [2, 3] },
      ], [{ comm: 'backup', count: 1, burstNs: 4 * MS, sleepNs: 16 * MS }]);
    },
  },
  {
    name: 'noisy-neighbour',
    title: 'Noisy neighbour: a CPU-bound VM and a host task slow a parallel job',
    explanation:
      'VM "app" runs a parallel job whose four threads meet at a barrier after each step; VM "noisy" has four vCPUs that never stop computing, and a host task ("backup") wakes up periodically. Whenever one of app\'s vCPUs is preempted, the whole step waits for the thread on it: look at the steal of the omp-worker threads, the host migrations of app\'s vCPUs and the co-scheduling fractions of both VMs.',
    defaults: { seconds: 2, seed: 1, policy: 'fair', cores: 4 },
    build(opts) {
      return base(opts, this, [barrierVm('app', 4, 4), hogVm('noisy', 4, 'miner')], [{ comm: 'backup', count: 1, burstNs: 8 * MS, sleepNs: 12 * MS }]);
    },
  },
];

export const DEFAULT_SCENARIO = 'lock-holder-preemption';

export function findScenario(name: string): ScenarioInfo | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
