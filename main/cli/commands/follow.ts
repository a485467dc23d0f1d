// `vcpuscope follow FILE... --tid N [--json]`: where one guest thread really ran — its placement
// segments (thread -> vCPU -> physical core, host timeline), migrations per layer, steal.

import { InputError, UsageError } from '../args.ts';
import type { CliCommand } from '../command.ts';
import { followThread } from '../../engine/query/follow.ts';
import { OPEN_OPTIONS } from './index.ts';
import { MODEL_OPTIONS, openModel } from '../stats-extensions.ts';

const fmtS = (ns: number): string => (ns / 1e9).toFixed(6);

export const followCommand: CliCommand = {
  name: 'follow',
  summary: 'follow a guest thread across vCPUs and physical cores (host timeline)',
  usage: 'FILE... --tid N [--vm NAME] [--json] [--host FILE] [--guest FILE[@VM]] [--guest-offset NS]',
  options: [
    { name: 'tid', type: 'string', valueName: 'N', help: 'the guest thread id to follow (required)' },
    { name: 'vm', type: 'string', valueName: 'NAME', help: 'the VM, when several guests have this tid' },
    { name: 'json', type: 'flag', help: 'print one JSON object {tid, comm, runNs, stealNs, coreNs, migrations, segments}' },
    { name: 'limit', type: 'string', valueName: 'N', help: 'text output: print at most N segments (default 200; 0 = all)' },
    ...MODEL_OPTIONS,
    ...OPEN_OPTIONS,
  ],
  details: 'Segments: the thread\'s guest run intervals cut wherever its vCPU\'s core changes; core "-" (null in JSON) while the vCPU was on no core (steal).',
  async run(args, io) {
    const tidS = args.values.get('tid');
    if (tidS === undefined || !/^\d+$/.test(tidS)) throw new UsageError('--tid N (a guest thread id) is required');
    const tid = Number(tidS);
    if (tid === 0) throw new UsageError('--tid 0 is the idle task; it is never followed');
    const { traces, model } = await openModel(args, io);
    try {
      const vm = args.values.get('vm');
      const r = followThread(model, { tid, ...(vm !== undefined ? { vm } : {}) });
      if (!r) {
        const guests = model.vms.filter((v) => v.guest).map((v) => `${v.name} (${v.guestFile})`);
        throw new InputError(`thread ${tid} never ran in ${guests.length ? `the guest trace(s) ${guests.join(', ')}` : 'any guest trace (no guest trace was paired with a VM)'}`);
      }
      if (args.flags.has('json')) {
        const segments = [];
        for (let i = 0; i < r.segments.length; i++) {
          const c = r.segments.core[i]!;
          segments.push({ startNs: r.segments.startNs[i]!, endNs: r.segments.endNs[i]!, vcpu: r.segments.vcpu[i]!, core: c < 0 ? null : c });
        }
        io.stdout.write(`${JSON.stringify({ tid: r.tid, comm: r.comm, vm: r.vm, runNs: r.runNs, stealNs: r.stealNs, coreNs: r.coreNs, migrations: r.migrations, segments })}\n`);
        return 0;
      }
      const limitS = args.values.get('limit') ?? '200';
      if (!/^\d+$/.test(limitS)) throw new UsageError(`--limit needs a number, got '${limitS}'`);
      const limit = Number(limitS) || Infinity;
      const vmRec = model.vms.find((v) => v.name === r.vm)!;
      const lines: string[] = [];
      lines.push(`thread ${r.tid} (${r.comm}) in VM ${r.vm}, guest trace ${vmRec.guestFile}, offset ${vmRec.offsetNs} ns (${vmRec.alignment?.method}, quality ${((vmRec.alignment?.quality ?? 0) * 100).toFixed(1)}%)`);
      const steal = r.runNs > 0 ? ((100 * r.stealNs) / r.runNs).toFixed(1) : '0.0';
      lines.push(`run ${fmtS(r.runNs)} s on vCPUs, steal ${fmtS(r.stealNs)} s (${steal}%)`);
      const cores = Object.entries(r.coreNs).sort((a, b) => Number(a[0]) - Number(b[0]));
      lines.push(`on cores: ${cores.length ? cores.map(([c, ns]) => `core ${c} ${fmtS(ns)} s`).join(', ') : 'none'}`);
      lines.push(`migrations: guest (vCPU changed) ${r.migrations.guest}, host (core changed under the same vCPU) ${r.migrations.host}, physical (core changed) ${r.migrations.physical}`);
      lines.push(`segments: ${r.segments.length}${r.segments.length > limit ? ` (first ${limit}; --limit 0 for all)` : ''}`);
      lines.push(`${'start (s)'.padStart(18)} ${'end (s)'.padStart(18)} ${'dur (us)'.padStart(12)} vcpu core`);
      for (let i = 0; i < Math.min(limit, r.segments.length); i++) {
        const s = r.segments.startNs[i]!;
        const e = r.segments.endNs[i]!;
        const c = r.segments.core[i]!;
        lines.push(`${fmtS(s).padStart(18)} ${fmtS(e).padStart(18)} ${((e - s) / 1e3).toFixed(1).padStart(12)} ${String(r.segments.vcpu[i]).padStart(4)} ${c < 0 ? '   -' : String(c).padStart(4)}`);
      }
      io.stdout.write(`${lines.join('\n')}\n`);
      return 0;
    } finally {
      for (const t of traces) t.close();
    }
  },
};
