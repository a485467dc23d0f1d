// `vcpuscope stats FILE... [--json]`: the summary of each input (from the cache when it is valid)
// and aggregates over all of them; --json prints one JSON object (see the issue 2 contract), which
// the model extends through stats-extensions.ts. Reads no event rows itself.

import type { CliCommand } from '../command.ts';
import type { TraceSummary } from '../../../shared/summary.ts';
import type { Diagnostic } from '../../../shared/result.ts';
import { CancelledError } from '../../engine/index/open.ts';
import { MODEL_OPTIONS, extendStats, modelRoles } from '../stats-extensions.ts';
import { EXIT_CANCELLED, OPEN_OPTIONS, openAll } from './index.ts';
import { formatBytes } from '../progress.ts';

export interface StatsJson extends Record<string, unknown> {
  events: number;
  byEvent: Record<string, number>;
  cpus: number[];
  /** Sum over files: each file is one machine (guest or host), so their tids are distinct threads. */
  threads: number;
  startNs: number | null;
  endNs: number | null;
  diagnostics: Diagnostic[];
  diagnosticsTotal: number;
  format: string | undefined;
  compression: string | undefined;
  clock: string | undefined;
  files: TraceSummary[];
}

export function aggregateStats(files: TraceSummary[]): StatsJson {
  const byEvent: Record<string, number> = {};
  const cpus = new Set<number>();
  let events = 0;
  let threads = 0;
  let startNs: number | null = null;
  let endNs: number | null = null;
  const diagnostics: Diagnostic[] = [];
  let diagnosticsTotal = 0;
  for (const s of files) {
    events += s.events;
    threads += s.threads;
    for (const [k, v] of Object.entries(s.byEvent)) byEvent[k] = (byEvent[k] ?? 0) + v;
    for (const c of s.cpus) cpus.add(c);
    if (s.startNs !== null && (startNs === null || s.startNs < startNs)) startNs = s.startNs;
    if (s.endNs !== null && (endNs === null || s.endNs > endNs)) endNs = s.endNs;
    diagnostics.push(...s.diagnostics);
    diagnosticsTotal += s.diagnosticsTotal;
  }
  const first = files[0];
  return {
    events,
    byEvent,
    cpus: [...cpus].sort((a, b) => a - b),
    threads,
    startNs,
    endNs,
    diagnostics,
    diagnosticsTotal,
    format: first?.format,
    compression: first?.compression,
    clock: first?.clock,
    files,
  };
}

function humanTable(out: StatsJson): string {
  const lines: string[] = [];
  for (const s of out.files) {
    const span = s.startNs !== null && s.endNs !== null ? `${((s.endNs - s.startNs) / 1e9).toFixed(6)} s` : '-';
    lines.push(`${s.file}`);
    lines.push(`  format      ${s.format}${s.variant ? ` (${s.variant})` : ''}${s.compression ? `, ${s.compression}` : ''}${s.clock ? `, clock ${s.clock}` : ''}`);
    lines.push(`  size        ${formatBytes(s.sizeBytes)}`);
    lines.push(`  events      ${s.events}`);
    lines.push(`  cpus        ${s.cpus.length} (${compactRanges(s.cpus)})`);
    lines.push(`  threads     ${s.threads}`);
    lines.push(`  time        ${s.startNs ?? '-'} .. ${s.endNs ?? '-'} ns (${span})`);
    const top = Object.entries(s.byEvent).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    lines.push('  by event');
    const w = Math.max(10, ...top.map(([k]) => k.length));
    for (const [k, v] of top) lines.push(`    ${k.padEnd(w)} ${String(v).padStart(12)}`);
    if (s.diagnosticsTotal > 0) {
      lines.push(`  diagnostics ${s.diagnosticsTotal}${s.diagnosticsTotal > s.diagnostics.length ? ` (first ${s.diagnostics.length} shown)` : ''}`);
      for (const d of s.diagnostics.slice(0, 20)) lines.push(`    ${d.severity} ${d.line !== undefined ? `line ${d.line}` : `offset ${d.offset}`}: ${d.message}`);
      if (s.diagnostics.length > 20) lines.push(`    ... (--json lists all ${s.diagnostics.length} kept)`);
    }
  }
  if (out.files.length > 1) lines.push(`total: ${out.events} events in ${out.files.length} files, ${out.cpus.length} distinct cpu ids, ${out.threads} threads`);
  return `${lines.join('\n')}\n`;
}

function compactRanges(xs: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < xs.length; ) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j]! + 1) j++;
    parts.push(i === j ? `${xs[i]}` : `${xs[i]}-${xs[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

export const statsCommand: CliCommand = {
  name: 'stats',
  summary: 'summarize traces: events per kind, CPUs, threads, time range, diagnostics',
  usage: 'FILE... [--json] [--host FILE] [--guest FILE[@VM]] [--guest-offset NS] [--no-cache] [--format ID] [--cpu-hz HZ] [--cache-dir DIR]',
  details:
    'With --json, prints one JSON object: events, byEvent, cpus, threads, startNs, endNs,\n' +
    'diagnostics (each with file and byte offset or line), files (per-file summaries), and the\n' +
    'format/compression/clock of the first file. Exit status: 0 ok, 1 unreadable input, 2 usage error.',
  options: [{ name: 'json', type: 'flag', help: 'print one JSON object on stdout' }, ...OPEN_OPTIONS, ...MODEL_OPTIONS],
  async run(args, io) {
    try {
      // --host/--guest FILE also name inputs (as with follow and report)
      const traces = await openAll(modelRoles(args).files, args, io);
      try {
        const out = aggregateStats(traces.map((t) => t.summary));
        await extendStats(traces, args, out);
        io.stdout.write(args.flags.has('json') ? `${JSON.stringify(out)}\n` : humanTable(out));
      } finally {
        for (const t of traces) t.close();
      }
      return 0;
    } catch (e) {
      if (e instanceof CancelledError) {
        io.stderr.write(`vcpuscope stats: cancelled\n`);
        return EXIT_CANCELLED;
      }
      throw e;
    }
  },
};
