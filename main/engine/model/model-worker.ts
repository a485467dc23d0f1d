// Model worker thread (buildModelParallel, parallel.ts): scans traces from their cache files and
// runs per-VM steps (clock alignment, then guest layer + LHP) while the main thread does the others.
// Protocol: WorkerRequest in, WorkerReply out (same `seq`); results' typed arrays are transferred.
// A VM's scan and host rows stay here between its 'align' and 'layers' requests (keyed by id).

import { parentPort } from 'node:worker_threads';
import { ArrowCacheTrace } from '../index/cached-trace.ts';
import { runAlignJob, runLayerJob, type AlignJob, type LayerJob, type VcpuRows, type VmRef } from './model.ts';
import { scanLayer, type LayerScan } from './runs.ts';
import { threadCpuMs, transferListOf, type WorkerReply, type WorkerRequest } from './parallel-protocol.ts';

const held = new Map<number, { vm: VmRef; scan: LayerScan; rows: VcpuRows }>();

function handle(m: WorkerRequest): { result: unknown; transfer: ArrayBuffer[] } {
  switch (m.type) {
    case 'scan': {
      const t = new ArrowCacheTrace(m.file.arrowPath, m.file.meta, { cacheDir: m.file.cacheDir, key: m.file.key, fromCache: true, trusted: m.file.trusted });
      try {
        const scan = scanLayer(t, m.opts);
        return { result: scan, transfer: transferListOf(scan) };
      } finally {
        t.close();
      }
    }
    case 'align': {
      const job: AlignJob = { id: m.id, vm: m.vm, scan: m.scan, rows: m.rows, hostSpan: m.hostSpan, fixed: m.fixed, align: m.align };
      held.set(m.id, { vm: m.vm, scan: m.scan, rows: m.rows });
      return { result: runAlignJob(job), transfer: [] };
    }
    case 'layers': {
      const h = held.get(m.id);
      if (!h) throw new Error(`model worker: no aligned VM ${m.id}`);
      held.delete(m.id);
      // the host rows still open at the end of the host trace, closed where the model decided
      for (let i = 0; i < m.openRows.length; i++) h.rows.endNs[m.openRows[i]!] = m.openEndNs;
      const job: LayerJob = { id: m.id, vm: h.vm, scan: h.scan, file: m.file, rows: h.rows, clock: m.clock, stopNs: m.stopNs, lhp: m.lhp };
      // room after its LHP candidates for the other VM's (the main thread appends them: no concatenation copy)
      const r = runLayerJob(job, undefined, m.lhpRoom);
      return { result: r, transfer: transferListOf(r) };
    }
  }
}

const port = parentPort;
port?.on('message', (m: WorkerRequest) => {
  let reply: WorkerReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const t0 = performance.now();
    const c0 = threadCpuMs();
    const out = handle(m);
    if (process.env.VCPUSCOPE_MODEL_DEBUG) console.error(`[model worker] ${m.type} ${(performance.now() - t0).toFixed(0)} ms wall, ${(threadCpuMs() - c0).toFixed(0)} ms thread CPU`);
    reply = { seq: m.seq, ok: true, result: out.result };
    transfer = out.transfer;
  } catch (e) {
    const err = e as Error;
    reply = { seq: m.seq, ok: false, name: err?.name ?? 'Error', message: err?.message ?? String(e) };
  }
  port.postMessage(reply, transfer);
});
