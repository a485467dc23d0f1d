// One thread's placement within its own file (which cpu it ran on, when), its migrations
// between runs, run/wait totals, and thread search. The two-layer join (vCPU -> physical core,
// steal) comes from the model (follow*.ts); this is the single-layer part every trace has.

import type { FollowResult, ThreadInfo, ThreadRef } from '../../../shared/contract.ts';
import { TaskState } from '../../../shared/schema.ts';
import { encodeWindow } from './arrow-window.ts';
import type { SessionData } from './session-data.ts';

export function threadInfo(d: SessionData, t: ThreadRef): ThreadInfo | null {
  const tc = d.threads.find((x) => x.file === t.file && x.tid === t.tid);
  if (!tc) return null;
  return { file: t.file, tid: t.tid, comm: d.files[t.file]?.comms[tc.comm] ?? '', events: tc.events };
}

export function searchThreads(d: SessionData, query: string, limit: number): ThreadInfo[] {
  const q = query.trim().toLowerCase();
  const asTid = /^\d+$/.test(q) ? Number(q) : null;
  const out: ThreadInfo[] = [];
  const sorted = [...d.threads].sort((a, b) => b.events - a.events);
  for (const t of sorted) {
    const comm = d.files[t.file]?.comms[t.comm] ?? '';
    if (q && !(asTid !== null && t.tid === asTid) && !comm.toLowerCase().includes(q) && !`${comm}:${t.tid}`.includes(q)) continue;
    out.push({ file: t.file, tid: t.tid, comm, events: t.events });
    if (out.length >= limit) break;
  }
  return out;
}

export function followSingleLayer(d: SessionData, t: ThreadRef): Omit<FollowResult, 'thread'> {
  const segs: { s: number; e: number; cpu: number; preempted: boolean }[] = [];
  for (const L of d.lanes) {
    if (L.file !== t.file) continue;
    const n = L.startNs.length;
    for (let i = 0; i < n; i++) {
      if (L.tid[i] !== t.tid) continue;
      const st = L.endState[i]!;
      segs.push({ s: L.startNs[i]!, e: i + 1 < n ? L.startNs[i + 1]! : L.endNs, cpu: L.cpu, preempted: st === TaskState.running || (st & TaskState.preempted) !== 0 });
    }
  }
  segs.sort((a, b) => a.s - b.s);
  let runNs = 0;
  let waitNs = 0;
  const mTs: number[] = [];
  const mFrom: number[] = [];
  const mTo: number[] = [];
  for (let i = 0; i < segs.length; i++) {
    const g = segs[i]!;
    runNs += g.e - g.s;
    const prev = segs[i - 1];
    if (prev) {
      if (prev.preempted) waitNs += Math.max(0, g.s - prev.e);
      if (prev.cpu !== g.cpu) {
        mTs.push(g.s);
        mFrom.push(prev.cpu);
        mTo.push(g.cpu);
      }
    }
  }
  const n = segs.length;
  const placement = encodeWindow(
    {
      startNs: Float64Array.from(segs, (x) => x.s),
      endNs: Float64Array.from(segs, (x) => x.e),
      cpu: Int32Array.from(segs, (x) => x.cpu),
      core: new Int32Array(n).fill(-1),
    },
    {},
  );
  const migrations = encodeWindow(
    { tsNs: Float64Array.from(mTs), layer: new Uint8Array(mTs.length), fromCpu: Int32Array.from(mFrom), toCpu: Int32Array.from(mTo) },
    {},
  );
  return {
    totals: {
      runNs,
      waitNs,
      stealNs: null,
      runs: n,
      migrations: mTs.length,
      firstNs: n ? segs[0]!.s : null,
      lastNs: n ? segs[n - 1]!.e : null,
    },
    placement,
    migrations,
  };
}
