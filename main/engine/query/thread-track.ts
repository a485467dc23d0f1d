// One thread's placement within its own file (which cpu it ran on, when), its migrations
// between runs, run/wait totals, and thread search. The two-layer join (vCPU -> physical core,
// steal) comes from the model (follow*.ts); this is the single-layer part every trace has.

import type { FollowResult, ThreadInfo, ThreadRef } from '../../../shared/contract.ts';
import { NO_STATE, TaskState } from '../../../shared/schema.ts';
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
  // Runs of the thread in every lane of its file, as columns (no object per run).
  let n = 0;
  for (const L of d.lanes) if (L.file === t.file) for (let i = 0; i < L.tid.length; i++) if (L.tid[i] === t.tid) n++;
  const s0 = new Float64Array(n);
  const e0 = new Float64Array(n);
  const c0 = new Int32Array(n);
  const p0 = new Uint8Array(n);
  let k = 0;
  for (const L of d.lanes) {
    if (L.file !== t.file) continue;
    const runs = L.startNs.length;
    for (let i = 0; i < runs; i++) {
      if (L.tid[i] !== t.tid) continue;
      const st = L.endState[i]!;
      s0[k] = L.startNs[i]!;
      e0[k] = i + 1 < runs ? L.startNs[i + 1]! : L.endNs;
      c0[k] = L.cpu;
      p0[k] = st === TaskState.running || (st !== NO_STATE && (st & TaskState.preempted) !== 0) ? 1 : 0;
      k++;
    }
  }
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => s0[a]! - s0[b]! || a - b);
  const startNs = new Float64Array(n);
  const endNs = new Float64Array(n);
  const cpu = new Int32Array(n);
  let runNs = 0;
  let waitNs = 0;
  let migrations = 0;
  for (let j = 0; j < n; j++) {
    const i = order[j]!;
    startNs[j] = s0[i]!;
    endNs[j] = e0[i]!;
    cpu[j] = c0[i]!;
    runNs += e0[i]! - s0[i]!;
    if (j > 0) {
      const prev = order[j - 1]!;
      if (p0[prev]) waitNs += Math.max(0, s0[i]! - e0[prev]!);
      if (c0[prev] !== c0[i]) migrations++;
    }
  }
  const mTs = new Float64Array(migrations);
  const mFrom = new Int32Array(migrations);
  const mTo = new Int32Array(migrations);
  for (let j = 1, m = 0; j < n; j++) {
    if (cpu[j - 1] === cpu[j]) continue;
    mTs[m] = startNs[j]!;
    mFrom[m] = cpu[j - 1]!;
    mTo[m] = cpu[j]!;
    m++;
  }
  const placement = encodeWindow({ startNs, endNs, cpu, core: new Int32Array(n).fill(-1) }, {});
  const migrationsBytes = encodeWindow({ tsNs: mTs, layer: new Uint8Array(migrations), fromCpu: mFrom, toCpu: mTo }, {});
  return {
    totals: {
      runNs,
      waitNs,
      stealNs: null,
      runs: n,
      migrations,
      firstNs: n ? startNs[0]! : null,
      lastNs: n ? endNs[n - 1]! : null,
    },
    placement,
    migrations: migrationsBytes,
  };
}
