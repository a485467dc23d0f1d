// `vcpuscope report FILE... [--csv]`: per-VM, per-vCPU and per-thread summary of the two-layer model
// (run time per physical core, migrations per layer, steal, co-scheduling, lock-holder-preemption
// candidates) — what the Process Migration Tracing Engine printed, and more. --csv: one table.

import { LHP_HEURISTIC } from '../../../shared/model-contract.ts';
import { UsageError } from '../args.ts';
import type { CliCommand } from '../command.ts';
import type { TwoLayerModel } from '../../engine/model/model.ts';
import { OPEN_OPTIONS } from './index.ts';
import { MODEL_OPTIONS, openModel, vmSummary } from '../stats-extensions.ts';

const ms = (ns: number): string => (ns / 1e6).toFixed(3);
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

function csvCell(s: string | number): string {
  const t = String(s);
  return /[",\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}

export function reportCsv(model: TwoLayerModel): string {
  const cores = Array.from({ length: model.coreCount }, (_, c) => c);
  const header = ['level', 'vm', 'vcpu', 'tid', 'comm', 'run_ns', 'steal_ns', ...cores.map((c) => `core${c}_ns`), 'mig_guest', 'mig_host', 'mig_physical'];
  const rows: Array<Array<string | number>> = [header];
  for (const vm of model.vms) {
    const s = vmSummary(model, vm);
    rows.push(['vm', vm.name, '', '', '', '', '', ...cores.map(() => ''), s.migrations.guest, s.migrations.host, s.migrations.physical]);
    for (const v of s.vcpuTime) rows.push(['vcpu', vm.name, v.vcpu, '', '', v.onCoreNs, '', ...cores.map((c) => v.coreNs[String(c)] ?? 0), '', v.hostMigrations, '']);
    const G = vm.guest;
    if (!G) continue;
    for (let k = 0; k < G.tids.length; k++) {
      const per = new Float64Array(model.coreCount);
      for (let q = G.segThreadStart[k]!; q < G.segThreadStart[k + 1]!; q++) {
        const c = G.segCore[q]!;
        if (c >= 0 && c < per.length) per[c]! += G.segEndNs[q]! - G.segStartNs[q]!;
      }
      rows.push(['thread', vm.name, '', G.tids[k]!, G.comms[k] ?? '', G.runNs[k]!, G.stealNs[k]!, ...Array.from(per), G.migGuest[k]!, G.migHost[k]!, G.migPhysical[k]!]);
    }
  }
  return rows.map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

export function reportText(model: TwoLayerModel, top: number): string {
  const out: string[] = [];
  const cores = Array.from({ length: model.coreCount }, (_, c) => c);
  out.push(`host trace ${model.hostFile}: ${model.coreCount} cores, ${ms(model.hostEndNs - model.hostStartNs)} ms`);
  for (const n of model.notes) out.push(`note: ${n}`);
  for (const vm of model.vms) {
    const s = vmSummary(model, vm);
    out.push('');
    out.push(`VM ${vm.name}: ${vm.vcpuIds.length} vCPUs${vm.pid !== undefined ? `, QEMU pid ${vm.pid}` : ''}${vm.domid !== undefined ? `, domain ${vm.domid}` : ''} (grouped by ${vm.grouping})`);
    if (vm.guestFile) {
      const a = vm.alignment!;
      out.push(`  guest trace ${vm.guestFile}: host = guest + ${vm.offsetNs} ns (${a.method}; ${pct(a.quality)} of ${a.eventsChecked} guest events inside their vCPU's host run intervals${a.driftNsPerS !== undefined ? `; drift ${a.driftNsPerS} ns/s over ${a.windows?.length ?? 0} windows, ${a.driftApplied ? `applied: offset ${a.offsetAtStartNs} ns at the guest's start, ${a.offsetAtEndNs} ns at its end` : 'not applied (not significant)'}` : ''})`);
    } else out.push('  no guest trace for this VM (host layer only)');
    out.push(`  migrations: guest ${s.migrations.guest}, host ${s.migrations.host}, physical ${s.migrations.physical}`);
    out.push(`  co-scheduling (share of the host trace with k vCPUs on cores): ${s.coScheduling.fractions.map((f, k) => `${k}: ${pct(f)}`).join('  ')}`);
    out.push('');
    out.push(`  ${'vCPU'.padEnd(5)} ${'host'.padStart(8)} ${'on-core ms'.padStart(12)} ${cores.map((c) => `core${c} ms`.padStart(11)).join(' ')} ${'core moves'.padStart(10)} ${'guest-mode ms'.padStart(14)}`);
    for (const v of s.vcpuTime) {
      const host = s.vcpus.find((x) => x.vcpu === v.vcpu)?.hostTid;
      out.push(`  ${String(v.vcpu).padEnd(5)} ${String(host ?? '-').padStart(8)} ${ms(v.onCoreNs).padStart(12)} ${cores.map((c) => ms(v.coreNs[String(c)] ?? 0).padStart(11)).join(' ')} ${String(v.hostMigrations).padStart(10)} ${(v.guestModeNs === null ? '-' : ms(v.guestModeNs)).padStart(14)}`);
    }
    const G = vm.guest;
    if (G) {
      const order = Array.from(G.tids.keys()).sort((a, b) => G.runNs[b]! - G.runNs[a]!);
      const shown = top > 0 ? order.slice(0, top) : order;
      out.push('');
      out.push(`  threads (${G.tids.length}${shown.length < order.length ? `, top ${shown.length} by run time; --top 0 for all` : ''}):`);
      out.push(`  ${'tid'.padStart(7)} ${'comm'.padEnd(16)} ${'run ms'.padStart(10)} ${'steal ms'.padStart(10)} ${'steal'.padStart(6)} ${cores.map((c) => `core${c} ms`.padStart(11)).join(' ')}  mig g/h/p`);
      for (const k of shown) {
        const per = new Float64Array(model.coreCount);
        for (let q = G.segThreadStart[k]!; q < G.segThreadStart[k + 1]!; q++) {
          const c = G.segCore[q]!;
          if (c >= 0 && c < per.length) per[c]! += G.segEndNs[q]! - G.segStartNs[q]!;
        }
        const run = G.runNs[k]!;
        out.push(`  ${String(G.tids[k]).padStart(7)} ${(G.comms[k] ?? '').slice(0, 16).padEnd(16)} ${ms(run).padStart(10)} ${ms(G.stealNs[k]!).padStart(10)} ${(run > 0 ? pct(G.stealNs[k]! / run) : '-').padStart(6)} ${Array.from(per, (x) => ms(x).padStart(11)).join(' ')}  ${G.migGuest[k]}/${G.migHost[k]}/${G.migPhysical[k]}`);
      }
      let waited = 0;
      let n = 0;
      for (let i = 0; i < model.lhp.length; i++) {
        if (model.lhp.vm[i] !== vm.index) continue;
        n++;
        if (model.lhp.waiterTid[i]! >= 0) waited++;
      }
      out.push('');
      out.push(`  lock-holder-preemption candidates: ${n} (${waited} with a sibling thread that waited for the preempted one)`);
    }
  }
  out.push('');
  out.push(`LHP heuristic (minGapNs ${model.lhpParams.minGapNs}, minSiblingFraction ${model.lhpParams.minSiblingFraction}, waitWindowNs ${model.lhpParams.waitWindowNs}): ${LHP_HEURISTIC}`);
  return out.join('\n') + '\n';
}

export const reportCommand: CliCommand = {
  name: 'report',
  summary: 'per-VM, per-vCPU and per-thread summary: time per core, migrations per layer, steal, co-scheduling',
  usage: 'FILE... [--csv] [--top N] [--host FILE] [--guest FILE[@VM]] [--guest-offset NS]',
  options: [
    { name: 'csv', type: 'flag', help: 'one CSV table (level = vm | vcpu | thread) for spreadsheets' },
    { name: 'top', type: 'string', valueName: 'N', help: 'text output: the N threads with the most run time per VM (default 30; 0 = all)' },
    ...MODEL_OPTIONS,
    ...OPEN_OPTIONS,
  ],
  async run(args, io) {
    const topS = args.values.get('top') ?? '30';
    if (!/^\d+$/.test(topS)) throw new UsageError(`--top needs a number, got '${topS}'`);
    const { traces, model } = await openModel(args, io);
    try {
      io.stdout.write(args.flags.has('csv') ? reportCsv(model) : reportText(model, Number(topS)));
      return 0;
    } finally {
      for (const t of traces) t.close();
    }
  },
};
