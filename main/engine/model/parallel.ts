// buildModelParallel: buildModel's steps with some jobs on a worker thread (model-worker.ts), so
// that a build uses both cores of a small machine the way ingest does. Same results as buildModel
// (the jobs are the same functions; only where they run differs). What goes where:
//   - scans: the input traces split between the worker and this thread by estimated cost (rows;
//     a host scan keeps no samples or wakeups, ~0.6 of a guest's per row); the worker opens its
//     traces' cache files itself. Traces without a cache file (memory, split multi-input views) stay here.
//   - with two or more VM pairs: each VM's clock alignment, then its guest layer + LHP search, on
//     one side or the other (balanced by guest run rows; this thread also computes the VM spans,
//     host migrations and co-scheduling alongside). The worker keeps its VMs' scans between the two.
// Small inputs (< PARALLEL_MIN_ROWS events in all) are built inline: a worker costs ~60 ms to start.

import type { Worker } from 'node:worker_threads';
import { ArrowCacheTrace, CacheCorruptError } from '../index/cached-trace.ts';
import type { CacheMeta } from '../index/cache-store.ts';
import type { IndexedTrace } from '../index/indexed-trace.ts';
import { startWorker, workerEntry } from '../io/worker-url.ts';
import {
  appendLhp,
  buildModel,
  buildSteps,
  lhpBound,
  ModelError,
  runLayerJobsInline,
  runStepInline,
  type AlignJob,
  type AlignResult,
  type BuildModelOptions,
  type BuildStep,
  type LayerJob,
  type LayerResult,
  type ModelInputFile,
  type ScanJob,
  type StepResult,
  type TwoLayerModel,
  type VcpuRows,
} from './model.ts';
import { scanLayer, type LayerScan } from './runs.ts';
import { threadCpuMs, transferListOf, type AlignReply, type CacheFileRef, type WorkerReply, type WorkerRequest, type WorkerRequestBody } from './parallel-protocol.ts';

/** Below this many events over all inputs the build runs inline (worker start-up would dominate). */
export const PARALLEL_MIN_ROWS = 1_000_000;
/** Per-row scan cost of a host (no sampled times, no wakeups) relative to a guest's. */
const HOST_SCAN_WEIGHT = 0.6;
/** The worker's start-up, in rows of scan work (it starts while this thread already scans). */
const WORKER_START_ROWS = 300_000;

export interface ParallelOptions extends BuildModelOptions {
  /** 'auto' (default): a worker when the inputs are large enough; 'never': buildModel; 'always': a worker whenever a job can go to it (tests). */
  parallel?: 'auto' | 'never' | 'always';
  /** The worker's bundle (default: dist/model-worker.js beside the running bundle, or the source under tsx). */
  workerBundle?: URL;
  /** Called at the end of a build that used the worker: how many jobs it ran. */
  onPlan?: (plan: ParallelPlan) => void;
}

export interface ParallelPlan {
  /** Input traces scanned on the worker. */
  scansOnWorker: number;
  /** VMs aligned and built (guest layer, LHP) on the worker. */
  vmsOnWorker: number;
  /** The host vCPU table was built as soon as the host's scan was ready (before the other scans ended). */
  hostTableEarly: boolean;
}

/** The cache file behind a trace, when it has one the worker can open (an ArrowCacheTrace). */
function cacheFileOf(t: IndexedTrace): CacheFileRef | null {
  if (!(t instanceof ArrowCacheTrace)) return null;
  // ArrowCacheTrace keeps how it was opened in private fields; the worker opens the same entry.
  const p = t as unknown as { meta?: CacheMeta; cacheDir?: unknown; key?: unknown };
  if (!p.meta || typeof p.cacheDir !== 'string' || typeof p.key !== 'string') return null;
  return { arrowPath: t.arrowPath, meta: p.meta, cacheDir: p.cacheDir, key: p.key, trusted: t.trusted };
}

/** One worker, requests answered in any order by sequence number. */
class ModelWorker {
  private readonly worker: Worker;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (x: unknown) => void; reject: (e: Error) => void }>();
  private failed: Error | null = null;

  get dead(): boolean {
    return this.failed !== null;
  }

  constructor(bundle: URL | undefined) {
    this.worker = startWorker(bundle ? { url: bundle, execArgv: [], fromSource: false } : workerEntry(import.meta.url, 'model-worker', './model-worker.ts'));
    this.worker.on('message', (r: WorkerReply) => {
      const p = this.pending.get(r.seq);
      if (!p) return;
      this.pending.delete(r.seq);
      if (r.ok) p.resolve(r.result);
      else p.reject(r.name === 'CacheCorruptError' ? new CacheCorruptError(r.message) : r.name === 'ModelError' ? new ModelError(r.message) : Object.assign(new Error(r.message), { name: r.name }));
    });
    const fail = (e: Error): void => {
      this.failed = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on('error', (e) => fail(new Error(`model worker failed: ${e.message}`)));
    this.worker.on('exit', (code) => fail(new Error(`model worker exited (code ${code})`)));
  }

  request(m: WorkerRequestBody, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.failed) return Promise.reject(this.failed);
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      this.worker.postMessage({ ...m, seq } as WorkerRequest, transfer);
    });
  }

  close(): void {
    this.worker.removeAllListeners('exit');
    void this.worker.terminate();
  }
}

/** Greedy split of weighted jobs into (worker, here): heaviest first, each to the side with less work so far. */
function split(weights: number[], eligible: boolean[], workerStart: number, hereStart: number): boolean[] {
  const onWorker = weights.map(() => false);
  const order = weights.map((_, i) => i).sort((a, b) => weights[b]! - weights[a]! || a - b);
  let w = workerStart;
  let h = hereStart;
  for (const i of order) {
    if (eligible[i] && w < h) {
      onWorker[i] = true;
      w += weights[i]!;
    } else h += weights[i]!;
  }
  return onWorker;
}

/**
 * One VM's rows of the host table, rebased (vCPU i of the VM is group i): what its per-VM steps read.
 * Views when the table is in shared memory (buildHostVcpus allocates it so: the worker reads the
 * rows in place; the copies were ~14 MB of fresh pages on the 10M-event set), else copies.
 */
function vmRows(rows: VcpuRows, firstGlobal: number, nv: number): VcpuRows {
  const lo = rows.groupStart[firstGlobal]!;
  const hi = rows.groupStart[firstGlobal + nv]!;
  const groupStart = new Uint32Array(nv + 1);
  for (let i = 0; i <= nv; i++) groupStart[i] = rows.groupStart[firstGlobal + i]! - lo;
  const part = <T extends Float64Array | Int32Array>(a: T): T => (a.buffer instanceof ArrayBuffer ? a.slice(lo, hi) : a.subarray(lo, hi)) as T;
  return { startNs: part(rows.startNs), endNs: part(rows.endNs), core: part(rows.core), groupStart, coreCount: rows.coreCount };
}

/**
 * buildModel with both cores: some jobs of each step run on a worker thread. Same model as
 * buildModel (falls back to it for small inputs, `parallel: 'never'`, or when no job can move).
 */
export async function buildModelParallel(inputs: readonly ModelInputFile[], opts: ParallelOptions = {}): Promise<TwoLayerModel> {
  const mode = opts.parallel ?? 'auto';
  const rows = inputs.reduce((s, i) => s + i.trace.rowCount, 0);
  if (mode === 'never' || (mode === 'auto' && rows < PARALLEL_MIN_ROWS) || inputs.every((i) => cacheFileOf(i.trace) === null)) return buildModel(inputs, opts);
  const worker = new ModelWorker(opts.workerBundle);
  // pair ids whose scan and rows live in the worker between the align and layers steps
  const vmOnWorker = new Set<number>();
  // the whole host table (for the open-row patch of the layers step)
  let hostRows: VcpuRows | null = null;
  let scansOnWorker = 0;
  let hostTableEarly = false;
  try {
    const it = buildSteps(inputs, opts);
    let r = it.next();
    const T0 = performance.now();
    const dbg = process.env.VCPUSCOPE_MODEL_DEBUG ? (s: string): void => console.error(`[model ${(performance.now() - T0).toFixed(0)} ms, main thread CPU ${threadCpuMs()} ms] ${s}`) : null;
    while (!r.done) {
      const step: BuildStep = r.value;
      dbg?.(`step ${step.kind} starts`);
      let res: StepResult;
      if (step.kind === 'scan') {
        const s = await scanStep(worker, step.jobs, mode === 'always' ? -1 : WORKER_START_ROWS, step.ready);
        res = s.scans;
        scansOnWorker = s.onWorker;
        hostTableEarly = s.early;
      }
      else if (step.kind === 'align') {
        if (step.jobs.length >= 2 && !worker.dead) {
          hostRows = step.jobs[0]!.rows;
          res = await alignStep(worker, step.jobs, vmOnWorker, step.meanwhile);
        } else res = runStepInline(step);
      } else {
        res = vmOnWorker.size > 0 ? await layersStep(worker, step.jobs, step.alongside, vmOnWorker, hostRows!, step.hostOpenRows) : runStepInline(step);
        // (with the worker aligning, VM spans and co-scheduling ran in the alignment step)
        step.phase(vmOnWorker.size > 0 ? 'guest layers, LHP (two threads)' : 'guest layers, LHP, VM spans, co-scheduling');
      }
      r = it.next(res);
    }
    dbg?.('done');
    if (scansOnWorker + vmOnWorker.size > 0) opts.onPlan?.({ scansOnWorker, vmsOnWorker: vmOnWorker.size, hostTableEarly });
    return r.value;
  } finally {
    worker.close();
  }
}

async function scanStep(worker: ModelWorker, jobs: ScanJob[], workerStart: number, ready?: (i: number, scan: LayerScan) => boolean): Promise<{ scans: LayerScan[]; onWorker: number; early: boolean }> {
  const weights = jobs.map((j) => j.trace.rowCount * (j.opts.maxSampledEvents === 0 ? HOST_SCAN_WEIGHT : 1));
  const files = jobs.map((j) => cacheFileOf(j.trace));
  const onWorker = jobs.length >= 2 ? split(weights, files.map((f) => f !== null), workerStart, 0) : jobs.map(() => false);
  const remote = jobs.map((j, i) => (onWorker[i] ? (worker.request({ type: 'scan', file: files[i]!, opts: j.opts }) as Promise<LayerScan>) : null));
  // keep a rejected remote promise from being reported as unhandled while this thread scans
  for (const p of remote) p?.catch(() => undefined);
  const out: LayerScan[] = [];
  for (let i = 0; i < jobs.length; i++) if (!onWorker[i]) out[i] = scanLayer(jobs[i]!.trace, jobs[i]!.opts);
  // the host's vCPU table from a scan done here, while the worker still scans (buildSteps' `ready`)
  let early = false;
  for (let i = 0; i < jobs.length; i++) if (!onWorker[i] && ready?.(i, out[i]!)) early = true;
  let n = remote.filter((p) => p !== null).length;
  for (let i = 0; i < jobs.length; i++) {
    if (!remote[i]) continue;
    try {
      out[i] = await remote[i]!;
    } catch (e) {
      // the worker could not start or died (not a problem of the trace): scan here
      if (!worker.dead) throw e;
      out[i] = scanLayer(jobs[i]!.trace, jobs[i]!.opts);
      n--;
    }
    // (a host scanned by the worker: its table here while other scans may still run there)
    if (ready?.(i, out[i]!)) early = true;
  }
  return { scans: out, onWorker: n, early };
}

async function alignStep(worker: ModelWorker, jobs: AlignJob[], vmOnWorker: Set<number>, meanwhile?: () => void): Promise<AlignResult[]> {
  const weights = jobs.map((j) => j.scan.runs.length + j.scan.eventTsByCpu.reduce((s, c) => s + c.length, 0));
  // this thread also has the host-side per-VM tables to do meanwhile (VM spans, co-scheduling): the worker takes the heaviest VM first
  const onWorker = split(weights, jobs.map(() => true), 0, 1);
  const remote = jobs.map((j, i) => {
    if (!onWorker[i]) return null;
    vmOnWorker.add(j.id);
    const nv = j.vm.vcpuIds.length;
    const rows = vmRows(j.rows, j.vm.firstGlobal, nv);
    const vm = { index: j.vm.index, vcpuIds: j.vm.vcpuIds, localOfVcpuId: j.vm.localOfVcpuId, firstGlobal: 0 };
    const transfer = [...transferListOf(j.scan), ...transferListOf({ s: rows.startNs, e: rows.endNs, c: rows.core, g: rows.groupStart })];
    const p = worker.request({ type: 'align', id: j.id, vm, scan: j.scan, rows, hostSpan: j.hostSpan, fixed: j.fixed, align: j.align }, transfer) as Promise<AlignReply>;
    p.catch(() => undefined);
    return p;
  });
  const out: AlignResult[] = [];
  for (let i = 0; i < jobs.length; i++) if (!onWorker[i]) out[i] = runStepInline({ kind: 'align', jobs: [jobs[i]!], phase: () => {} })[0] as AlignResult;
  // the host-side per-VM tables while the worker still aligns the larger VM (the layers step skips them then)
  meanwhile?.();
  for (let i = 0; i < jobs.length; i++) if (remote[i]) out[i] = await remote[i]!;
  return out;
}

async function layersStep(worker: ModelWorker, jobs: LayerJob[], alongside: () => void, vmOnWorker: Set<number>, hostRows: VcpuRows, openRows: Int32Array): Promise<LayerResult[]> {
  // Two VMs, one on each side: the first VM's LHP columns get room for the second's, which is then
  // copied after them (the model's LHP columns are one view instead of a copy of both: 20 MB of
  // fresh pages on the 10M-event set). Room: an upper bound of the second VM's candidates.
  const pairOfTwo = jobs.length === 2 && vmOnWorker.has(jobs[0]!.id) !== vmOnWorker.has(jobs[1]!.id);
  const room = pairOfTwo ? lhpBound(jobs[1]!) : 0;
  const remote = jobs.map((j, ji) => {
    if (!vmOnWorker.has(j.id)) return null;
    // the host rows of this VM still open at the end of the host trace: their end as the model set it
    const lo = hostRows.groupStart[j.vm.firstGlobal]!;
    const hi = hostRows.groupStart[j.vm.firstGlobal + j.vm.vcpuIds.length]!;
    const idx: number[] = [];
    let end = NaN;
    for (let i = 0; i < openRows.length; i++) {
      const r = openRows[i]!;
      if (r >= lo && r < hi) {
        idx.push(r - lo);
        end = hostRows.endNs[r]!;
      }
    }
    const p = worker.request({ type: 'layers', id: j.id, file: j.file, clock: j.clock, stopNs: j.stopNs, lhp: j.lhp, openRows: Int32Array.from(idx), openEndNs: end, lhpRoom: ji === 0 ? room : 0 }) as Promise<LayerResult>;
    p.catch(() => undefined);
    return p;
  });
  const out: LayerResult[] = [];
  for (let i = 0; i < jobs.length; i++) if (!remote[i]) out[i] = runLayerJobsInline([jobs[i]!], () => {}, i === 0 ? room : 0)[0]!;
  alongside();
  for (let i = 0; i < jobs.length; i++) if (remote[i]) out[i] = await remote[i]!;
  if (pairOfTwo) {
    const [a, b] = appendLhp([out[0]!.lhp, out[1]!.lhp]);
    out[0] = { ...out[0]!, lhp: a! };
    out[1] = { ...out[1]!, lhp: b! };
  }
  return out;
}
