// `vcpuscope export FILE --out OUT.csv [--from NS --to NS]`: the event table of one trace as CSV
// (names decoded, one row per event, streamed batch by batch). For Arrow, use the cache file
// directly (main/engine/index/CACHE.md).

import * as fs from 'node:fs';
import { EVENT_KIND_NAMES, NO_STATE, formatTaskState } from '../../../shared/schema.ts';
import { UsageError, numberOption } from '../args.ts';
import type { CliCommand } from '../command.ts';
import { OPEN_OPTIONS, openAll, EXIT_CANCELLED } from './index.ts';
import { CancelledError } from '../../engine/index/ingest.ts';

/** Same inode (hard links and bind mounts included), not only the same path. */
function sameFile(a: string, b: string): boolean {
  try {
    const x = fs.statSync(a);
    const y = fs.statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const exportCommand: CliCommand = {
  name: 'export',
  summary: 'write the events of a trace as CSV (names decoded), optionally a time range',
  usage: 'FILE --out OUT.csv [--from NS] [--to NS]',
  options: [
    ...OPEN_OPTIONS,
    { name: 'out', type: 'string', valueName: 'FILE', help: "output CSV file ('-' = stdout); never the trace itself" },
    { name: 'from', type: 'string', valueName: 'NS', help: 'first timestamp to export (ns, trace clock)' },
    { name: 'to', type: 'string', valueName: 'NS', help: 'last timestamp to export (ns, trace clock)' },
  ],
  async run(args, io) {
    if (args.positionals.length !== 1) throw new UsageError('export takes exactly one trace file');
    const out = args.values.get('out');
    if (!out) throw new UsageError('--out FILE is required');
    const file = args.positionals[0]!;
    if (out !== '-' && sameFile(out, file)) throw new UsageError('--out must not be the trace file');
    const from = numberOption(args, 'from') ?? -Infinity;
    const to = numberOption(args, 'to') ?? Infinity;
    let traces;
    try {
      traces = await openAll([file], args, io);
    } catch (e) {
      if (e instanceof CancelledError) return EXIT_CANCELLED;
      throw e;
    }
    const t = traces[0]!;
    // Written to a temporary name and renamed: an existing --out is replaced as a directory entry,
    // never rewritten in place (so even a link to some other file is never truncated).
    const tmp = out === '-' ? '' : `${out}.${process.pid}.tmp`;
    const fd = out === '-' ? -1 : fs.openSync(tmp, 'wx');
    const write = (text: string): void => {
      if (fd < 0) io.stdout.write(text);
      else fs.writeSync(fd, text);
    };
    let buf = 'ts_ns,cpu,kind,event,pid,tid,comm,prev_tid,prev_comm,prev_state,arg0,arg1,input,offset\n';
    const flush = (force: boolean): void => {
      if (buf.length > (force ? 0 : 1 << 20)) {
        write(buf);
        buf = '';
      }
    };
    let rows = 0;
    let ok = false;
    // Batches are skipped by their first/last timestamp only when the trace is in time order.
    const sorted = t.summary.sorted;
    try {
      const comms = t.comms;
      const events = t.events;
      for (let b = 0; b < t.batchCount; b++) {
        const c = t.readBatch(b);
        if (sorted && (c.length === 0 || c.ts[c.length - 1]! < from)) continue;
        if (sorted && c.length > 0 && c.ts[0]! > to) break;
        for (let i = 0; i < c.length; i++) {
          const ts = c.ts[i]!;
          if (ts < from || ts > to) continue;
          const comm = c.comm[i]!;
          const prevComm = c.prevComm[i]!;
          const st = c.prevState[i]!;
          buf += `${ts},${c.cpu[i]},${EVENT_KIND_NAMES[c.kind[i]!] ?? ''},${csvField(events[c.event[i]!] ?? '')},${c.pid[i]},${c.tid[i]},${comm >= 0 ? csvField(comms[comm] ?? '') : ''},${c.prevTid[i]},${prevComm >= 0 ? csvField(comms[prevComm] ?? '') : ''},${st === NO_STATE ? '' : formatTaskState(st)},${c.arg0[i]},${c.arg1[i]},${c.input[i]},${c.offset[i]}\n`;
          rows++;
          flush(false);
        }
      }
      flush(true);
      ok = true;
    } finally {
      if (fd >= 0) {
        fs.closeSync(fd);
        if (ok) fs.renameSync(tmp, out);
        else fs.rmSync(tmp, { force: true });
      }
      t.close();
    }
    io.stderr.write(`vcpuscope export: ${rows} events -> ${out === '-' ? 'stdout' : out}\n`);
    return 0;
  },
};
