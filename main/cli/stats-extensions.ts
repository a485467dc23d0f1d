// Extension point for `vcpuscope stats --json`: the two-layer model adds `vms` (one object per VM,
// shared/model-contract.ts VmSummary). Also the model's CLI options and opening helpers, shared by
// the follow and report commands. Leaves out the per-file fields (stats.ts).

import type { VmSummary } from '../../shared/model-contract.ts';
import type { IndexedTrace } from '../engine/index/indexed-trace.ts';
import { ModelError, type ModelInputFile, type ModelVm, type TwoLayerModel } from '../engine/model/model.ts';
import { VCPU_THREAD_RE } from '../engine/model/topology.ts';
import { buildModelCachedParallel } from '../engine/model/model-cache.ts';
import { resolveCacheDir } from '../engine/index/cache-dir.ts';
import { InputError, UsageError, type OptionSpec, type ParsedArgs } from './args.ts';
import type { CliIo } from './command.ts';
import { openAll } from './commands/index.ts';

export const MODEL_OPTIONS: OptionSpec[] = [
  { name: 'host', type: 'string', valueName: 'FILE', help: 'the host trace (default: the input with QEMU vCPU threads, kvm events or Xen records)' },
  { name: 'guest', type: 'list', valueName: 'FILE[@VM]', help: 'a guest trace and optionally its VM: @PID (QEMU pid), @dom<ID> (Xen) or @NAME; repeatable' },
  { name: 'guest-offset', type: 'string', valueName: 'NS', help: 'guest clock offset, host ns = guest ns + NS (default: recorded in the trace, else automatic)' },
];

/** Role overrides from --host / --guest FILE[@VM]. File paths compare as given. */
export function modelRoles(args: ParsedArgs): { files: string[]; role: Map<string, { role: 'host' | 'guest'; vm?: string }> } {
  const role = new Map<string, { role: 'host' | 'guest'; vm?: string }>();
  const files = [...args.positionals];
  const host = args.values.get('host');
  if (host !== undefined) {
    role.set(host, { role: 'host' });
    if (!files.includes(host)) files.push(host);
  }
  for (const g of args.lists.get('guest') ?? []) {
    // FILE@VM: the last '@' splits, unless what follows looks like part of a path
    const at = g.lastIndexOf('@');
    const file = at > 0 && !g.slice(at + 1).includes('/') ? g.slice(0, at) : g;
    const vm = at > 0 && file !== g ? g.slice(at + 1) : undefined;
    role.set(file, { role: 'guest', ...(vm ? { vm } : {}) });
    if (!files.includes(file)) files.push(file);
  }
  return { files, role };
}

export function guestOffsetArg(args: ParsedArgs): number | undefined {
  const s = args.values.get('guest-offset');
  if (s === undefined) return undefined;
  if (!/^[-+]?\d+$/.test(s.trim())) throw new UsageError(`--guest-offset needs an integer number of ns, got '${s}'`);
  return Number(s);
}

/** Build the model over already opened traces; ModelError becomes InputError (exit 1). */
export async function modelFromTraces(traces: readonly IndexedTrace[], args: ParsedArgs, env: NodeJS.ProcessEnv = process.env): Promise<TwoLayerModel> {
  const { role } = modelRoles(args);
  const inputs: ModelInputFile[] = traces.map((trace) => {
    const r = role.get(trace.path) ?? role.get(trace.summary.file);
    return { trace, ...(r ? { role: r.role, ...(r.vm !== undefined ? { vm: r.vm } : {}) } : {}) };
  });
  const off = guestOffsetArg(args);
  // the derived tables are cached beside the index (same folder, same --no-cache switch)
  const cacheDir = args.flags.has('no-cache') ? undefined : resolveCacheDir(args.values.get('cache-dir'), env);
  try {
    // a worker thread takes independent steps of large builds (same model, same cache entry)
    return (await buildModelCachedParallel(inputs, off !== undefined ? { guestOffsetNs: off } : {}, cacheDir)).model;
  } catch (e) {
    if (e instanceof ModelError) throw new InputError(e.message);
    throw e;
  }
}

/**
 * Open the positional and --host/--guest files (openAll: cache, progress, Ctrl-C) and build the
 * model. Caller closes the traces. Commands using it declare OPEN_OPTIONS and MODEL_OPTIONS.
 */
export async function openModel(args: ParsedArgs, io: CliIo): Promise<{ traces: IndexedTrace[]; model: TwoLayerModel }> {
  const { files } = modelRoles(args);
  if (files.length === 0) throw new UsageError('give the trace files (host and guest) as arguments');
  const traces = await openAll(files, args, io);
  try {
    return { traces, model: await modelFromTraces(traces, args, io.env) };
  } catch (e) {
    for (const t of traces) t.close();
    throw e;
  }
}

export function vmSummary(model: TwoLayerModel, vm: ModelVm): VmSummary {
  const H = model.vcpus;
  const vcpuTime: VmSummary['vcpuTime'] = [];
  for (let i = 0; i < vm.vcpuIds.length; i++) {
    const g = vm.firstGlobal + i;
    const coreNs: Record<string, number> = {};
    let on = 0;
    let mig = 0;
    for (let r = H.groupStart[g]!; r < H.groupStart[g + 1]!; r++) {
      const d = H.endNs[r]! - H.startNs[r]!;
      on += d;
      const key = String(H.core[r]);
      coreNs[key] = (coreNs[key] ?? 0) + d;
      if (r > H.groupStart[g]! && H.core[r] !== H.core[r - 1]) mig++;
    }
    const gm = H.guestModeNs[g]!;
    vcpuTime.push({ vcpu: vm.vcpuIds[i]!, onCoreNs: on, guestModeNs: Number.isNaN(gm) ? null : gm, coreNs, hostMigrations: mig });
  }
  let lhp = 0;
  for (let i = 0; i < model.lhp.length; i++) if (model.lhp.vm[i] === vm.index) lhp++;
  const xen = vm.domid !== undefined;
  return {
    name: vm.name,
    ...(vm.pid !== undefined ? { pid: vm.pid } : {}),
    ...(vm.domid !== undefined ? { domid: vm.domid } : {}),
    vcpus: vm.vcpuIds.map((vcpu, i) => (xen ? { vcpu } : { vcpu, hostTid: vm.hostIds[i]! })),
    grouping: vm.grouping,
    guestFile: vm.guestFile,
    offsetNs: vm.offsetNs,
    alignment: vm.alignment,
    migrations: vm.migrations,
    coScheduling: vm.coScheduling,
    vcpuTime,
    lhpCandidates: lhp,
  };
}

/**
 * `stats --json` gains `vms`. Without a host trace among the inputs it is an empty list; when the
 * inputs cannot be combined (ambiguous guest), `vms` is empty and `vmsError` says why.
 */
export async function extendStats(traces: readonly IndexedTrace[], args: ParsedArgs, out: Record<string, unknown>): Promise<void> {
  // Without a possible host the model would read every event only to find none (1-7 s on a
  // single-layer 1.1 GB trace, and a failed build is not cached): decide from the tables first.
  guestOffsetArg(args); // a malformed --guest-offset is a usage error even when no model is built
  if (!mayHaveHost(traces, args)) {
    out.vms = [];
    return;
  }
  let model: TwoLayerModel;
  try {
    model = await modelFromTraces(traces, args);
  } catch (e) {
    if (e instanceof InputError) {
      out.vms = [];
      if (!/^no host trace/.test(e.message)) out.vmsError = e.message;
      return;
    }
    throw e;
  }
  out.vms = model.vms.map((vm) => vmSummary(model, vm));
}

/**
 * False only when no input can be the model's host: none is named with --host, none is a Xen trace,
 * none has a QEMU vCPU thread in its comm table or kvm_entry/kvm_exit in its counts. This is a
 * superset of what the model's looksLikeHost() accepts (it looks at the comms and kvm events the
 * scan saw, all of which are in these tables), so skipping the model loses no VM.
 */
export function mayHaveHost(traces: readonly IndexedTrace[], args: ParsedArgs): boolean {
  const { role } = modelRoles(args);
  for (const r of role.values()) if (r.role === 'host') return true;
  for (const t of traces) {
    if (t.info.entity === 'xen-vcpu') return true;
    if ((t.summary.byEvent['kvm_entry'] ?? 0) > 0 || (t.summary.byEvent['kvm_exit'] ?? 0) > 0) return true;
    for (const c of t.comms) if (VCPU_THREAD_RE.test(c)) return true;
  }
  return false;
}
