// TraceService: the engine side of the TraceApi. Loads (openIndexed per file; the session data is
// built from the batches as they are indexed) with progress and cancellation, a partial session
// as soon as the first batch of the first file is in (it grows until the load ends), sessions,
// incremental filter jobs stepped in the background, and the queries. Requests arrive already validated (validate.ts); paths are
// checked against a policy the host process sets (CLI arguments, dialog or drop in Electron).

import { realpathSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { randomBytes } from 'node:crypto';
import type {
  ArrowIpcBytes,
  CoreThreadsRequest,
  CoreThreadsResult,
  CountRequest,
  FileProgress,
  FilterCount,
  FilterSpec,
  FollowRequest,
  FollowResult,
  LoadRequest,
  LoadStatus,
  OpenRequest,
  RecordRequest,
  RowAtTimeRequest,
  RowsRequest,
  SessionInfo,
  SessionRequest,
  ThreadInfo,
  ThreadsRequest,
  TimelineRequest,
  TraceApi,
} from '../../../shared/contract.ts';
import { err, ok, type Result } from '../../../shared/result.ts';
import { formatById } from '../../formats/registry.ts';
import type { ReadPlan } from '../../formats/types.ts';
import { DiagnosticCollector } from '../index/diagnostics.ts';
import type { IndexedTrace } from '../index/indexed-trace.ts';
import type { GrowingTrace } from '../index/cached-trace.ts';
import { FileSource } from '../io/byte-source.ts';
import { openIndexed, type OpenOptions } from '../index/open.ts';
import { compileFilter, filterKey, FilterJob, type CompiledFilter } from '../query/filter.ts';
import { rowAtTime, rowsWindow, viewLength, type RowView } from '../query/rows.ts';
import { BatchCache, CancelledError, FileSessionBuilder, prepareSession, sessionFromBuilders, type SessionData } from '../query/session-data.ts';
import { followSingleLayer, searchThreads, threadInfo } from '../query/thread-track.ts';
import { followThread as followModelThread } from '../query/follow.ts';
import { coreToThreads } from '../query/cross-layer.ts';
import type { TwoLayerModel } from '../model/model.ts';
import { buildModelParallel } from '../model/parallel.ts';
import type { ClockMap } from '../model/align.ts';
import { encodeWindow } from '../query/arrow-window.ts';
import { previewPath, readPreview, readSideCache, readSideCacheAsync, readSideHead, sideCachePath, writePreview, writeSideCache } from '../query/session-cache.ts';
import type { LayerName, VmInfo } from '../../../shared/contract.ts';
import { sessionLod, timelineTile, whenLodBuilt } from '../query/timeline.ts';
import { splitSessionInputs } from './input-split.ts';

export type OpenTraceFn = (path: string, opts: OpenOptions) => Promise<IndexedTrace>;

export interface TraceServiceOptions {
  cacheDir?: string;
  /** Replaces openIndexed (tests). */
  openTrace?: OpenTraceFn;
  /** Which real paths `open` may read. Default: none (the host must grant paths). */
  pathAllowed?: (realPath: string) => boolean;
  /** Time slice for one background filter step (ms). */
  stepBudgetMs?: number;
  /** Rows per record batch of the traces this service indexes (default APP_BATCH_ROWS). */
  batchRows?: number;
  /**
   * A partial session's data is rebuilt at most this often (ms, default 200) while batches arrive:
   * each rebuild makes new SessionData, which per-session caches (timeline levels of detail) then
   * recompute over the rows so far. 0 = on every request after a batch (tests).
   */
  partialRefreshMs?: number;
  /** Reads a cached trace's side file in the background (tests hold it to see the session before). */
  readSide?: typeof readSideCacheAsync;
  /**
   * A cached trace's background work (reading its lanes, then building their levels of detail:
   * ~0.7 CPU-s for 10M events) waits until its session's first rows and first timeline tile have
   * been answered, or at most this long (ms, default FIRST_SCREEN_WAIT_MS): on a 2-core machine it
   * otherwise competes with the browser drawing that first screen.
   */
  firstScreenWaitMs?: number;
}

export const FIRST_SCREEN_WAIT_MS = 1500;

/**
 * Rows per batch when the app indexes: the first screen waits for the first whole batch (and the
 * table grows a batch at a time), and the indexer's per-unit column buffers are this size. On the
 * real 1.1M-event trace.dat (test/bench/app.bench.ts; APP_BENCH_BATCH_ROWS=65536 adds the other
 * size): engine peak RSS 86 MB at the first screen and 112 MB complete, against 98 and 139 MB with
 * 65536-row batches, for the same CPU time to complete (1340 vs 1350 ms). VCPUSCOPE_BATCH_ROWS
 * overrides it (benchmarks).
 */
export const APP_BATCH_ROWS = Number(process.env.VCPUSCOPE_BATCH_ROWS) || 16384;

interface LoadJob {
  loadId: string;
  state: LoadStatus['state'];
  phase: string;
  files: FileProgress[];
  startedMs: number;
  endedMs: number | null;
  signal: { cancelled: boolean };
  sessionId?: string;
  error?: string;
  /** Someone asked this load's status (a page following it; a startup load nobody claimed yet has not). */
  watched?: boolean;
}

/** A session shown while its load indexes the first file: rows so far, rebuilt lazily when asked. */
interface Partial {
  trace: IndexedTrace;
  builder: FileSessionBuilder;
  /** Batches arrived since `data` was made. */
  dirty: boolean;
  loadId: string;
  /** performance.now() when `data` was last rebuilt. */
  madeMs?: number;
}

interface Session {
  id: string;
  /** Current data: read through TraceService.dataOf (refreshes a partial session). */
  data: SessionData;
  complete: boolean;
  partial: Partial | null;
  paths: string[];
  cache: BatchCache;
  jobs: Map<string, FilterJob>;
  plans: Map<number, ReadPlan | null>;
  model: TwoLayerModel | null;
  layers: LayerName[];
  vms: VmInfo[];
  notes: string[];
  /** A cached session before its lanes are read: which first-screen requests were answered. */
  firstScreen?: { rows: boolean; timeline: boolean; release: () => void; arm: () => void };
}

const MAX_FILTER_JOBS = 6;
const MAX_LOADS_KEPT = 32;

const newId = (): string => randomBytes(12).toString('hex');

export class TraceService implements TraceApi {
  private readonly loads = new Map<string, LoadJob>();
  private readonly sessions = new Map<string, Session>();
  private readonly opts: TraceServiceOptions;
  private stepping = false;
  private closed = false;

  constructor(opts: TraceServiceOptions = {}) {
    this.opts = opts;
  }

  async open(req: OpenRequest): Promise<Result<{ loadId: string }>> {
    if (req.paths.length === 0) return err({ code: 'bad-request', message: 'open: give at least one file' });
    const real: string[] = [];
    for (const p of req.paths) {
      let rp: string;
      try {
        rp = realpathSync(p);
        if (!statSync(rp).isFile()) return err({ code: 'bad-input', message: `${p}: not a regular file`, file: p });
      } catch (e) {
        return err({ code: 'not-found', message: `${p}: cannot open: ${(e as Error).message}`, file: p });
      }
      if (!(this.opts.pathAllowed?.(rp) ?? false)) return err({ code: 'forbidden', message: `${p}: this file was not opened by the user (use Open or give it on the command line)`, file: p });
      real.push(rp);
    }
    const job: LoadJob = {
      loadId: newId(),
      state: 'loading',
      phase: 'index',
      files: real.map((path) => ({ path, bytesDone: 0, bytesTotal: statSync(path).size, events: 0 })),
      startedMs: performance.now(),
      endedMs: null,
      signal: { cancelled: false },
    };
    this.loads.set(job.loadId, job);
    if (this.loads.size > MAX_LOADS_KEPT) {
      for (const [k, l] of this.loads) {
        if (l.state !== 'loading') {
          this.loads.delete(k);
          break;
        }
      }
    }
    const vmOf = new Map<string, string>();
    for (const g of req.guests ?? []) {
      try {
        vmOf.set(realpathSync(g.path), g.vm);
      } catch {
        /* a guest hint for a missing file: the file itself was checked above */
      }
    }
    void this.runLoad(job, real, vmOf);
    return ok({ loadId: job.loadId });
  }

  private async runLoad(job: LoadJob, paths: string[], vmOf: Map<string, string>): Promise<void> {
    const opened: IndexedTrace[] = [];
    const openFn = this.opts.openTrace ?? openIndexed;
    let session: Session | null = null;
    /** File 0's builder when it saw every batch of the pass that produced opened[0]. */
    let firstBuilder: FileSessionBuilder | null = null;
    try {
      for (let i = 0; i < paths.length; i++) {
        const fp = job.files[i]!;
        // Let a cancel that arrived before this file starts take effect.
        await new Promise((r) => setImmediate(r));
        if (job.signal.cancelled) throw new CancelledError();
        let builder: FileSessionBuilder | null = null;
        const tr = await openFn(paths[i]!, {
          cacheDir: this.opts.cacheDir,
          batchRows: this.opts.batchRows ?? APP_BATCH_ROWS,
          signal: job.signal,
          onProgress: (p) => {
            fp.bytesDone = p.bytesDone;
            fp.bytesTotal = p.bytesTotal;
            fp.events = p.events;
          },
          // The first file's batches build its session data as they arrive (no second pass over
          // the cache afterwards) and, meanwhile, a partial session the app can show.
          ...(i === 0
            ? {
                observer: {
                  begin: (t: GrowingTrace) => {
                    builder = new FileSessionBuilder(0, 0);
                    if (session?.partial) {
                      // The pass restarted (the cache could not be written): start over in memory.
                      session.partial = { trace: t, builder, dirty: true, loadId: job.loadId };
                      session.jobs.clear();
                    } else if (!job.signal.cancelled) {
                      session = this.newPartialSession(job, t, builder, paths);
                    }
                  },
                  batch: (c) => {
                    builder!.add(c);
                    if (session?.partial) session.partial.dirty = true;
                  },
                },
              }
            : {}),
        });
        opened.push(tr);
        fp.bytesDone = fp.bytesTotal;
        fp.events = tr.rowCount;
        if (job.signal.cancelled) throw new CancelledError();
        if (i === 0) {
          const b = builder as FileSessionBuilder | null;
          if (b && b.rows === tr.rowCount && b.batchCount === tr.batchCount) firstBuilder = b;
          // The growing view is retired: the partial session reads the finished file from now on.
          const sp = (session as Session | null)?.partial;
          if (sp) {
            sp.trace = tr;
            sp.dirty = true;
          }
        }
      }
      // Two files or more: the two-layer model decides host / guest roles and the guest clock offsets.
      let model: TwoLayerModel | null = null;
      const notes: string[] = [];
      // A multi-input file (trace-cmd report -i host.dat -i guest.dat) is one session file per input.
      const files = opened.flatMap((t) => splitSessionInputs(t));
      const offsets = files.map(() => 0);
      // The model's guest -> host clock maps: piecewise-linear when it applied drift (then the
      // table, lanes and filters map guest times through it, as the model's own tables do).
      const clocks: (ClockMap | null)[] = files.map(() => null);
      const layers: LayerName[] = files.map((t) => t.summary.layerHint ?? 'unknown');
      if (files.length >= 2) {
        job.phase = 'model';
        await new Promise((r) => setImmediate(r));
        try {
          // a worker thread takes independent steps of large builds (same model as buildModel)
          model = await buildModelParallel(opened.map((trace) => ({ trace, ...(vmOf.has(trace.path) ? { vm: vmOf.get(trace.path)!, role: 'guest' as const } : {}) })));
          notes.push(...model.notes);
          files.forEach((t, i) => {
            if (t.path === model!.hostFile) layers[i] = 'host';
          });
          for (const vm of model.vms) {
            const fi = files.findIndex((t) => t.path === vm.guestFile);
            if (fi >= 0) {
              layers[fi] = 'guest';
              offsets[fi] = vm.offsetNs ?? 0;
              clocks[fi] = vm.clock;
            }
          }
        } catch (e) {
          notes.push(`Two-layer views are off: ${(e as Error).message}`);
        }
        if (job.signal.cancelled) throw new CancelledError();
      }
      job.phase = 'prepare';
      // One cached file: its lanes and summaries may be cached beside its events.
      const side = files.length === 1 ? sideCachePath(files[0]!) : null;
      let data: SessionData | null = null;
      /** The side file's checksum once it holds this data; whether its preview is there too. */
      let sideSum: number | null = null;
      let previewed = false;
      if (files.length === 1 && firstBuilder) {
        // Built while indexing: the same data as the pass below (session-data tests), without it.
        data = sessionFromBuilders(files, [firstBuilder], true);
        if (side) sideSum = writeSideCache(side, data);
      } else {
        // A cached trace: its session is shown at once from the side file's header and batch
        // summaries (rows, filters, jump to time), its lanes read in the background (90 MB for 10M
        // events); complete when they are read and their checksum holds.
        // With its preview (checked, tied to this side file) the first tiles need no lane either.
        const head = side && !session && !job.signal.cancelled ? readSideHead(side, files[0]!) : null;
        if (head && side) {
          job.phase = 'lanes';
          const pre = readPreview(previewPath(side), files[0]!, head.sum);
          session = this.newCachedSession(job, pre?.data ?? head.data, paths, layers);
          await this.firstScreenServed(session, job);
          if (job.signal.cancelled) throw new CancelledError();
          data = await (this.opts.readSide ?? readSideCacheAsync)(side, files[0]!, () => job.signal.cancelled);
          if (job.signal.cancelled) throw new CancelledError();
          // Refused (damaged): what was derived from the unchecked summaries goes (filter jobs).
          if (!data) (session as Session).jobs.clear();
          else {
            sideSum = head.sum;
            previewed = pre !== null;
          }
        } else {
          data = side ? readSideCache(side, files[0]!) : null;
        }
        if (!data) {
          data = await prepareSession(files, job.signal, () => undefined, offsets, clocks);
          if (side) sideSum = writeSideCache(side, data);
        }
      }
      const vms: VmInfo[] = (model?.vms ?? []).map((vm) => {
        const gi = files.findIndex((t) => t.path === vm.guestFile);
        return {
          name: vm.name,
          hostFile: files.findIndex((t) => t.path === model!.hostFile),
          guestFile: gi >= 0 ? gi : null,
          vcpus: vm.vcpuIds.map((vcpu, i) => ({ vcpu, hostTid: vm.hostIds[i] ?? -1 })),
          offsetNs: vm.offsetNs,
          alignmentQuality: vm.alignment?.quality ?? null,
          migrations: { ...vm.migrations },
          coScheduling: [...vm.coScheduling.fractions],
          residencyNs: residency(model!, vm.firstGlobal, vm.vcpuIds.length),
          migrationBins: migrationBins(model!, vm.firstGlobal, vm.vcpuIds.length, vm.guest, data!.startNs, data!.endNs, MIGRATION_BINS),
          steal: topSteal(vm.guest, 20),
        };
      });
      if (job.signal.cancelled) throw new CancelledError();
      const done: Session = (session as Session | null) ?? { id: newId(), data, paths, cache: new BatchCache(files, 16), jobs: new Map(), plans: new Map(), model, layers, vms, notes, complete: true, partial: null };
      this.complete(done, data, { model, layers, vms, notes });
      if (side && sideSum !== null && !previewed) {
        // The preview of the next open: written once this session's levels of detail are built.
        const d = data;
        const sum = sideSum;
        void whenLodBuilt(d).then((lod) => {
          if (lod) writePreview(previewPath(side), d, lod, sum);
        });
      }
      this.sessions.set(done.id, done);
      job.sessionId = done.id;
      job.state = 'ready';
    } catch (e) {
      const sess = session as Session | null;
      if (sess) this.sessions.delete(sess.id);
      delete job.sessionId;
      for (const t of opened) t.close();
      if (e instanceof CancelledError || job.signal.cancelled) {
        job.state = 'cancelled';
      } else {
        job.state = 'failed';
        job.error = (e as Error).message;
      }
    } finally {
      job.endedMs = performance.now();
    }
  }

  /** The session of a load whose first batch just arrived: the rows of the first file so far. */
  private newPartialSession(job: LoadJob, trace: IndexedTrace, builder: FileSessionBuilder, paths: string[]): Session {
    const data = sessionFromBuilders([trace], [builder], false);
    const s: Session = {
      id: newId(),
      data,
      complete: false,
      partial: { trace, builder, dirty: true, loadId: job.loadId },
      paths,
      cache: new BatchCache([trace], 16),
      jobs: new Map(),
      plans: new Map(),
      model: null,
      layers: [trace.summary.layerHint ?? 'unknown'],
      vms: [],
      notes: [],
    };
    this.sessions.set(s.id, s);
    job.sessionId = s.id;
    return s;
  }

  /**
   * Resolves once `s`'s first rows and first timeline tile were answered, or firstScreenWaitMs after
   * its load was first watched (loadStatus): a startup load waits for a page to claim it, however
   * long the window or browser takes to come up (an unclaimed one is cancelled, which releases this).
   */
  private firstScreenServed(s: Session, job: LoadJob): Promise<void> {
    const waitMs = this.opts.firstScreenWaitMs ?? FIRST_SCREEN_WAIT_MS;
    if (waitMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | null = null;
      const release = (): void => {
        if (timer) clearTimeout(timer);
        delete s.firstScreen;
        resolve();
      };
      const arm = (): void => {
        timer ??= setTimeout(release, waitMs);
      };
      s.firstScreen = { rows: false, timeline: false, release, arm };
      if (job.watched) arm();
    });
  }

  /** A first-screen request of `s` was answered (see firstScreenServed). */
  private answered(s: Session, what: 'rows' | 'timeline'): void {
    const f = s.firstScreen;
    if (!f) return;
    f[what] = true;
    // after this answer is sent: the background work starts on a later turn
    if (f.rows && f.timeline) setImmediate(f.release);
  }

  /** The session of a cached trace before its lanes are read: rows, batch summaries, threads. */
  private newCachedSession(job: LoadJob, data: SessionData, paths: string[], layers: LayerName[]): Session {
    const s: Session = {
      id: newId(),
      data,
      complete: false,
      partial: null,
      paths,
      cache: new BatchCache(data.files, 16),
      jobs: new Map(),
      plans: new Map(),
      model: null,
      layers: [...layers],
      vms: [],
      notes: [],
    };
    this.sessions.set(s.id, s);
    job.sessionId = s.id;
    return s;
  }

  /** The load ended: the session gets its final data (all files, model); filter jobs follow. */
  private complete(s: Session, data: SessionData, m: { model: TwoLayerModel | null; layers: LayerName[]; vms: VmInfo[]; notes: string[] }): void {
    const sameRows = data.files.length === 1 && s.data.files.length === 1 && data.rowCount >= s.data.rowCount;
    s.data = data;
    s.cache = new BatchCache(data.files, 16);
    s.model = m.model;
    s.layers = m.layers;
    s.vms = m.vms;
    s.notes = m.notes;
    s.partial = null;
    s.complete = true;
    s.plans.clear();
    if (sameRows) this.extendJobs(s);
    else s.jobs.clear(); // several files: rows are re-ordered by the merge
    // Final data: the timeline's levels of detail are built now (in the background above 250k runs),
    // not when the view first asks for a tile of it.
    sessionLod(data, true);
  }

  /** Filter jobs go on over the rows appended since (the spec compiled against the grown tables). */
  private extendJobs(s: Session): void {
    for (const [key, j] of s.jobs) {
      if (j.data === s.data) continue;
      j.extend(s.data, compileFilter(JSON.parse(key) as FilterSpec, s.data) as CompiledFilter);
    }
    if (s.jobs.size) this.scheduleSteps();
  }

  /** The session's data, a partial session's rebuilt first when batches arrived since. */
  private dataOf(s: Session): SessionData {
    const p = s.partial;
    // A new trace (the finished file, or a restarted pass) is taken at once; new rows at a bounded rate.
    const fresh = p && (p.madeMs === undefined || s.data.files[0] !== p.trace || performance.now() - p.madeMs >= (this.opts.partialRefreshMs ?? 200));
    if (p?.dirty && fresh) {
      p.dirty = false;
      p.madeMs = performance.now();
      const old = s.data;
      s.data = sessionFromBuilders([p.trace], [p.builder], false);
      if (old.files[0] !== p.trace) s.cache = new BatchCache(s.data.files, 16);
      if (s.data.rowCount < old.rowCount) s.jobs.clear();
      this.extendJobs(s);
    }
    return s.data;
  }

  async loadStatus(req: LoadRequest): Promise<Result<LoadStatus>> {
    const j = this.loads.get(req.loadId);
    if (!j) return err({ code: 'not-found', message: 'no such load' });
    if (!j.watched) {
      j.watched = true;
      if (j.sessionId) this.sessions.get(j.sessionId)?.firstScreen?.arm();
    }
    const status: LoadStatus = {
      loadId: j.loadId,
      state: j.state,
      phase: j.phase,
      files: j.files.map((f) => ({ ...f })),
      elapsedMs: (j.endedMs ?? performance.now()) - j.startedMs,
    };
    if (j.sessionId) status.sessionId = j.sessionId;
    if (j.error) status.error = j.error;
    return ok(status);
  }

  async cancelLoad(req: LoadRequest): Promise<Result<{ cancelled: boolean }>> {
    const j = this.loads.get(req.loadId);
    if (!j) return err({ code: 'not-found', message: 'no such load' });
    if (j.state !== 'loading') return ok({ cancelled: false });
    j.signal.cancelled = true;
    // a cached session waiting for its first screen stops waiting (the load then ends cancelled)
    if (j.sessionId) this.sessions.get(j.sessionId)?.firstScreen?.release();
    return ok({ cancelled: true });
  }

  private session(id: string): Session | null {
    return this.sessions.get(id) ?? null;
  }

  async sessionInfo(req: SessionRequest): Promise<Result<SessionInfo>> {
    const s = this.session(req.sessionId);
    if (!s) return noSession();
    const d = this.dataOf(s);
    const files = d.files.map((f, index) => ({
      index,
      path: f.path,
      name: basename(f.path),
      layer: s.layers[index] ?? 'unknown',
      summary: f.summary,
    }));
    const vmOfGuest = new Map(s.vms.filter((v) => v.guestFile !== null).map((v) => [v.guestFile!, v.name]));
    const layers = new Set(files.map((f) => f.layer));
    return ok({
      sessionId: s.id,
      complete: s.complete,
      files,
      rowCount: d.rowCount,
      startNs: d.startNs,
      endNs: d.endNs,
      lanes: d.lanes.map((L) => ({
        lane: L.lane,
        file: L.file,
        cpu: L.cpu,
        label:
          files[L.file]!.layer === 'guest'
            ? `${vmOfGuest.get(L.file) ?? basename(d.files[L.file]!.path)} vCPU ${L.cpu}`
            : `${d.files.length > 1 ? `${files[L.file]!.layer === 'host' ? 'host' : basename(d.files[L.file]!.path)} ` : ''}${files[L.file]!.layer === 'host' ? 'core' : 'CPU'} ${L.cpu}`,
        runs: L.startNs.length,
      })),
      twoLayer: layers.has('guest') && layers.has('host'),
      modelAvailable: s.model !== null,
      vms: s.vms,
      notes: s.notes,
    });
  }

  async closeSession(req: SessionRequest): Promise<Result<{ closed: boolean }>> {
    const s = this.session(req.sessionId);
    if (!s) return ok({ closed: false });
    this.sessions.delete(s.id);
    if (s.firstScreen) {
      // A cached session whose lanes were not read yet: its load stops here.
      for (const l of this.loads.values()) if (l.sessionId === s.id && l.state === 'loading') l.signal.cancelled = true;
      s.firstScreen.release();
    }
    if (s.partial) {
      // Closing a session that is still loading cancels its load (which closes its files).
      const load = this.loads.get(s.partial.loadId);
      if (load) load.signal.cancelled = true;
      return ok({ closed: true });
    }
    for (const f of s.data.files) f.close();
    return ok({ closed: true });
  }

  /** The filter job for a spec (created and scheduled on first use); null = no filter. */
  private job(s: Session, filter: FilterSpec): FilterJob | null {
    const key = filterKey(filter);
    if (key === '{}') return null;
    let j = s.jobs.get(key);
    if (j) {
      s.jobs.delete(key);
      s.jobs.set(key, j);
      return j;
    }
    const d = this.dataOf(s);
    j = new FilterJob(d, compileFilter(filter, d));
    // A first slice right away, so a small trace answers in the same request.
    j.step(this.opts.stepBudgetMs ?? 15);
    s.jobs.set(key, j);
    if (s.jobs.size > MAX_FILTER_JOBS) s.jobs.delete(s.jobs.keys().next().value as string);
    this.scheduleSteps();
    return j;
  }

  /** Step unfinished filter jobs a slice at a time between requests. */
  private scheduleSteps(): void {
    if (this.stepping || this.closed) return;
    this.stepping = true;
    const tick = (): void => {
      let pending = false;
      for (const s of this.sessions.values()) {
        for (const j of s.jobs.values()) {
          if (j.done) continue;
          j.step(this.opts.stepBudgetMs ?? 15);
          if (!j.done) pending = true;
          break; // one job per tick: the newest requests come first through job()
        }
      }
      if (!pending) {
        for (const s of this.sessions.values()) for (const j of s.jobs.values()) if (!j.done) pending = true;
      }
      if (pending && !this.closed) setImmediate(tick);
      else this.stepping = false;
    };
    setImmediate(tick);
  }

  private view(s: Session, filter: FilterSpec): RowView {
    const job = this.job(s, filter);
    return { data: this.dataOf(s), job, cache: s.cache };
  }

  async count(req: CountRequest): Promise<Result<FilterCount>> {
    const s = this.session(req.sessionId);
    if (!s) return noSession();
    const j = this.job(s, req.filter);
    const d = this.dataOf(s);
    if (!j) return ok({ matched: d.rowCount, scannedRows: d.rowCount, totalRows: d.rowCount, done: s.complete });
    return ok({ matched: j.matched, scannedRows: j.scanned, totalRows: j.total, done: j.done && s.complete });
  }

  async rows(req: RowsRequest): Promise<Result<ArrowIpcBytes>> {
    const s = this.session(req.sessionId);
    if (!s) return noSession();
    const w = rowsWindow(this.view(s, req.filter), req.start, req.count);
    this.answered(s, 'rows');
    return ok(w);
  }

  async rowAtTime(req: RowAtTimeRequest): Promise<Result<{ index: number }>> {
    const s = this.session(req.sessionId);
    if (!s) return noSession();
    const v = this.view(s, req.filter);
    if (viewLength(v) === 0) return ok({ index: 0 });
    return ok({ index: rowAtTime(v, req.tsNs) });
  }

  async record(req: RecordRequest): Promise<Result<{ text: string }>> {
    const s = this.session(req.sessionId);
    if (!s) return noSession();
    const tr = this.dataOf(s).files[req.file];
    if (!tr) return err({ code: 'not-found', message: `no file ${req.file} in this session` });
    const format = formatById(tr.summary.formatId);
    if (!format?.describeRecord) return ok({ text: `(the ${tr.summary.format} reader cannot show original records)` });
    let src: FileSource | null = null;
    try {
      // A multi-input file's per-input view reads its lines from the file itself.
      src = new FileSource((tr as { sourcePath?: string }).sourcePath ?? tr.path);
      // No bound against the file size here: compressed formats (trace.dat v7) give offsets into
      // their decompressed stream; describeRecord checks its own bounds.
      let plan = s.plans.get(req.file);
      if (plan === undefined) {
        plan = format.plan(src, new DiagnosticCollector(tr.path), {});
        s.plans.set(req.file, plan);
      }
      if (!plan) return ok({ text: '' });
      return ok({ text: format.describeRecord(src, plan, req.offsetBytes) });
    } catch (e) {
      return err({ code: 'bad-input', message: `${tr.path}: byte offset ${req.offsetBytes}: ${(e as Error).message}`, file: tr.path, offset: req.offsetBytes });
    } finally {
      src?.close();
    }
  }

  async timeline(req: TimelineRequest): Promise<Result<ArrowIpcBytes>> {
    const s = this.session(req.sessionId);
    if (!s) return noSession();
    const t = timelineTile(this.dataOf(s), req.filter, req.t0Ns, req.t1Ns, req.widthPx);
    this.answered(s, 'timeline');
    return ok(t);
  }

  async threads(req: ThreadsRequest): Promise<Result<ThreadInfo[]>> {
    const s = this.session(req.sessionId);
    if (!s) return noSession();
    return ok(searchThreads(this.dataOf(s), req.query, req.limit));
  }

  async followThread(req: FollowRequest): Promise<Result<FollowResult>> {
    const s = this.session(req.sessionId);
    if (!s) return noSession();
    const info = threadInfo(this.dataOf(s), req.thread);
    if (!info) return err({ code: 'not-found', message: `no thread ${req.thread.tid} in file ${req.thread.file}` });
    const single = followSingleLayer(this.dataOf(s), req.thread);
    const vm = s.vms.find((v) => v.guestFile === req.thread.file);
    if (s.model && vm) {
      const m = followModelThread(s.model, { tid: req.thread.tid, vm: vm.name });
      if (m) {
        const g = m.segments;
        const e = m.migrationEvents;
        let runs = 0;
        for (let i = 0; i < g.length; i++) if (i === 0 || g.startNs[i] !== g.endNs[i - 1] || g.vcpu[i] !== g.vcpu[i - 1]) runs++;
        return ok({
          thread: info,
          totals: { ...single.totals, runNs: m.runNs, stealNs: m.stealNs, runs, migrations: m.migrations.guest + m.migrations.host },
          placement: encodeWindow({ startNs: g.startNs, endNs: g.endNs, cpu: g.vcpu, core: g.core }, { vm: vm.name, migrations: m.migrations }),
          migrations: encodeWindow({ tsNs: e.tsNs, layer: e.layer, fromCpu: e.from, toCpu: e.to }, {}),
        });
      }
    }
    const layer = s.layers[req.thread.file];
    const note =
      layer === 'guest'
        ? `Physical cores and steal need the host trace of this VM (${s.notes.find((n) => n.startsWith('Two-layer')) ?? 'not matched to a host trace'}): shown is the vCPU placement only.`
        : s.vms.length > 0 && layer === 'host'
          ? 'This is a host thread: its cores are shown. Follow a guest thread to see vCPU and core together.'
          : undefined;
    return ok({ thread: info, ...single, ...(note ? { note } : {}) });
  }

  async coreThreads(req: CoreThreadsRequest): Promise<Result<CoreThreadsResult>> {
    const s = this.session(req.sessionId);
    if (!s) return noSession();
    if (!s.model) return err({ code: 'not-available', message: 'who ran on a core across both layers needs a host trace and its guest traces opened together' });
    const r = coreToThreads(s.model, { core: req.core, startNs: req.t0Ns, endNs: req.t1Ns });
    const fileOf = new Map(s.vms.map((v) => [v.name, v.guestFile ?? -1]));
    return ok({
      threads: r.threads.map((t) => ({ vm: t.vm, file: fileOf.get(t.vm) ?? -1, tid: t.tid, comm: t.comm, ns: t.ns })).sort((a, b) => b.ns - a.ns).slice(0, 200),
      unattributedVcpuNs: r.unattributedVcpuNs,
    });
  }

  /** Stop background work and close every session (engine shutdown). */
  close(): void {
    this.closed = true;
    for (const j of this.loads.values()) j.signal.cancelled = true;
    for (const s of this.sessions.values()) {
      s.firstScreen?.release();
      for (const f of s.data.files) f.close();
    }
    this.sessions.clear();
  }
}

const MIGRATION_BINS = 60;

/** Guest migrations (the model's per-thread events, layer 0) and host ones (a vCPU's next on-core interval on another core) per bin. */
function migrationBins(model: TwoLayerModel, first: number, n: number, guest: TwoLayerModel['vms'][number]['guest'], startNs: number, endNs: number, bins: number): VmInfo['migrationBins'] {
  const binNs = Math.max(1, (endNs - startNs) / bins);
  const g = new Array<number>(bins).fill(0);
  const h = new Array<number>(bins).fill(0);
  const bin = (t: number): number => Math.min(bins - 1, Math.max(0, Math.floor((t - startNs) / binNs)));
  if (guest) for (let i = 0; i < guest.migTsNs.length; i++) if (guest.migLayer[i] === 0) g[bin(guest.migTsNs[i]!)]!++;
  const v = model.vcpus;
  for (let k = first; k < first + n; k++) {
    for (let r = v.groupStart[k]! + 1; r < v.groupStart[k + 1]!; r++) if (v.core[r] !== v.core[r - 1]) h[bin(v.startNs[r]!)]!++;
  }
  return { startNs, binNs, guest: g, host: h };
}

/** vCPU x core on-core ns for the VM's global vCPUs [first, first + n). */
function residency(model: TwoLayerModel, first: number, n: number): number[][] {
  const v = model.vcpus;
  const out: number[][] = [];
  for (let i = 0; i < n; i++) {
    const row = new Array<number>(Math.max(1, model.coreCount)).fill(0);
    const g = first + i;
    for (let r = v.groupStart[g]!; r < v.groupStart[g + 1]!; r++) {
      const c = v.core[r]!;
      if (c >= 0 && c < row.length) row[c]! += v.endNs[r]! - v.startNs[r]!;
    }
    out.push(row);
  }
  return out;
}

function topSteal(guest: TwoLayerModel['vms'][number]['guest'], limit: number): { tid: number; comm: string; stealNs: number; runNs: number }[] {
  if (!guest) return [];
  const idx = Array.from(guest.tids, (_, k) => k).filter((k) => guest.tids[k] !== 0 && guest.stealNs[k]! > 0);
  idx.sort((a, b) => guest.stealNs[b]! - guest.stealNs[a]!);
  return idx.slice(0, limit).map((k) => ({ tid: guest.tids[k]!, comm: guest.comms[k] ?? '', stealNs: guest.stealNs[k]!, runNs: guest.runNs[k]! }));
}

function noSession<T>(): Result<T> {
  return err({ code: 'not-found', message: 'no such session (it was closed or the engine restarted): open the trace again' });
}
