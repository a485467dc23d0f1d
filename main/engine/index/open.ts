// Open a trace file as an IndexedTrace: the entry point every consumer uses. With a cache folder,
// an unchanged input is served from its cache entry without parsing; otherwise the input is
// sniffed, planned and ingested in worker threads, streaming record batches into a new entry that
// is committed atomically. Without a cache (or when it cannot be written) the batches stay in memory.
// An observer sees the batches as they are indexed, readable at once through a GrowingTrace.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileSource } from '../io/byte-source.ts';
import { detectFormat, formatById } from '../../formats/registry.ts';
import { TraceFormatError, type CancelSignal, type ReadOptions, type ReadPlan, type TraceFormat } from '../../formats/types.ts';
import { VERSION } from '../../../shared/version.ts';
import type { TraceSummary } from '../../../shared/summary.ts';
import { ArrowStreamFileWriter, cacheLayoutFor } from './arrow-cache.ts';
import { ArrowCacheTrace, BatchListTrace, GrowingTrace, type GrowingSource } from './cached-trace.ts';
import { CACHE_FORMAT_VERSION, PendingEntry, entryKey, lookupEntry, sourceIdentity, type CacheMeta, type CacheReadOptions, type SourceIdentity } from './cache-store.ts';
import { DiagnosticCollector } from './diagnostics.ts';
import type { EventColumns } from './event-columns.ts';
import type { IndexedTrace } from './indexed-trace.ts';
import { loadFormatModule } from './ingest-unit.ts';
import { SummaryAccumulator } from './summary.ts';
import { BATCH_ROWS, CancelledError, INLINE_BELOW_BYTES, IngestError, ingest, type BatchConsumer, type IngestResult } from './ingest.ts';

/** Background fdatasync of the events file every this many bytes (16 batches of 65536 rows). */
const SYNC_EVERY_BYTES = 16 * 65536 * 52;

export { CancelledError } from './ingest.ts';
export { CacheCorruptError } from './cached-trace.ts';

export interface OpenProgress {
  bytesDone: number;
  bytesTotal: number;
  events: number;
}

/** What the cache did for one open (for the CLI's messages and for tests). */
export type CacheEvent =
  | { kind: 'hit'; file: string }
  | { kind: 'miss'; file: string; reason: string }
  | { kind: 'written'; file: string; arrowPath: string }
  | { kind: 'unavailable'; file: string; reason: string };

export interface OpenOptions extends ReadOptions {
  /** Cache folder (resolveCacheDir); undefined = do not cache. */
  cacheDir?: string;
  /** Force a format instead of sniffing. */
  formatId?: string;
  signal?: CancelSignal;
  onProgress?: (p: OpenProgress) => void;
  /** Ignore an existing cache and re-index. */
  rebuild?: boolean;
  onCache?: (e: CacheEvent) => void;
  /** Worker threads for ingest (default min(2, cores); 0 = on this thread). */
  workers?: number;
  /** Inputs smaller than this are ingested on this thread (default INLINE_BELOW_BYTES, 48 MiB). */
  inlineBelowBytes?: number;
  /** Module URL exporting `format`, or `URL#exportName` (a format outside the registry; tests). */
  formatModuleUrl?: string;
  /** Rows per record batch (default BATCH_ROWS). */
  batchRows?: number;
  /** Sees the batches while they are indexed (not called on a cache hit). */
  observer?: IndexingObserver;
}

/**
 * Rows while indexing goes on. `begin` once per indexing pass with a trace that grows as batches
 * arrive (again, with a new trace, when a cache write fails and the pass restarts in memory); then
 * `batch` after each batch became readable from it. The trace is retired when the pass ends:
 * openIndexed's result replaces it. Not called when the indexer cannot give the string tables
 * with each batch (rows could not be shown).
 */
export interface IndexingObserver {
  begin(trace: GrowingTrace): void;
  /** Batch `index`: rows [0, rows) of `c` (global ids; the arrays are reused after the call). */
  batch(c: EventColumns, rows: number, index: number): void;
}

/** A trace that cannot be opened: the message names the file and the byte offset or line. */
export class OpenError extends Error {
  readonly file: string;
  readonly offsetBytes: number | undefined;
  readonly line: number | undefined;
  constructor(message: string, file: string, offsetBytes?: number, line?: number) {
    super(message);
    this.name = 'OpenError';
    this.file = file;
    this.offsetBytes = offsetBytes;
    this.line = line;
  }
}

/** The cache could not be written (disk full, permissions): the open continues uncached. */
class CacheWriteError extends Error {}

function withFile(s: TraceSummary, file: string): TraceSummary {
  if (s.file === file) return s;
  return { ...s, file, diagnostics: s.diagnostics.map((d) => ({ ...d, file })) };
}

async function loadFormat(file: string, opts: OpenOptions, src: FileSource): Promise<TraceFormat> {
  let format: TraceFormat | undefined;
  if (opts.formatModuleUrl) format = await loadFormatModule(opts.formatModuleUrl);
  else if (opts.formatId) {
    format = formatById(opts.formatId);
    if (!format) throw new OpenError(`${file}: unknown format '${opts.formatId}'`, file);
  } else format = detectFormat(src);
  if (!format) throw new OpenError(`${file}: not a trace format vcpuscope knows (checked the first bytes at offset 0)`, file, 0);
  return format;
}

function toOpenError(file: string, e: unknown): unknown {
  if (e instanceof TraceFormatError || (e instanceof IngestError && e.badInput)) {
    const line = e.line;
    const offset = e.offsetBytes;
    const where = line !== undefined ? `line ${line}` : `byte offset ${offset ?? 0}`;
    return new OpenError(`${file}: ${where}: ${e.message}`, file, offset, line);
  }
  return e;
}

export async function openIndexed(file: string, opts: OpenOptions = {}): Promise<IndexedTrace> {
  const abs = path.resolve(file);
  let id: SourceIdentity;
  try {
    const st = fs.statSync(abs);
    if (!st.isFile()) throw new Error('not a regular file');
    id = sourceIdentity(abs);
  } catch (e) {
    throw new OpenError(`${file}: cannot open: ${(e as Error).message}`, file);
  }
  const readOpts: CacheReadOptions = {};
  if (opts.formatModuleUrl) readOpts.formatId = `module:${opts.formatModuleUrl}`;
  else if (opts.formatId !== undefined) readOpts.formatId = opts.formatId;
  if (opts.cpuHz !== undefined) readOpts.cpuHz = opts.cpuHz;
  const key = entryKey(abs, readOpts);
  const emit = (e: CacheEvent): void => opts.onCache?.(e);

  if (opts.cacheDir && !opts.rebuild) {
    const look = lookupEntry(opts.cacheDir, key, id, readOpts);
    if (look.meta) {
      emit({ kind: 'hit', file });
      const meta = { ...look.meta, summary: withFile(look.meta.summary, file) };
      return new ArrowCacheTrace(look.arrowPath, meta, { cacheDir: opts.cacheDir, key, fromCache: true });
    }
    emit({ kind: 'miss', file, reason: look.reason });
  }

  let src: FileSource;
  try {
    src = new FileSource(file);
  } catch (e) {
    throw new OpenError(`${file}: cannot open: ${(e as Error).message}`, file);
  }
  try {
    const format = await loadFormat(file, opts, src);
    const diagnostics = new DiagnosticCollector(file);
    let plan: ReadPlan;
    try {
      plan = format.plan(src, diagnostics, { ...opts, unitBytes: opts.unitBytes ?? defaultUnitBytes(src.sizeBytes, opts) });
    } catch (e) {
      throw toOpenError(file, e);
    }
    const batchRows = opts.batchRows ?? BATCH_ROWS;
    /** A consumer that also feeds the observer through a GrowingTrace over `source`. */
    const observed = (inner: BatchConsumer, source: GrowingSource): { consumer: BatchConsumer; retire: () => void } => {
      const obs = opts.observer;
      if (!obs) return { consumer: inner, retire: () => undefined };
      const provisional = new SummaryAccumulator().finish(file, src.sizeBytes, format.id, plan.info, [], diagnostics.kept, diagnostics.total);
      provisional.sorted = true;
      const growing = new GrowingTrace(file, plan.info, provisional, batchRows, source);
      let begun = false;
      let index = 0;
      return {
        consumer: {
          batch(c, rows) {
            inner.batch(c, rows);
            // Without the string tables on the batch (an indexer that does not pass them), rows cannot be shown.
            if (rows > 0 && c.events.length === 0) return;
            if (!begun) {
              begun = true;
              obs.begin(growing);
            }
            growing.grow(rows, c);
            provisional.events = growing.rowCount;
            if (rows > 0) {
              if (provisional.startNs === null || c.ts[0]! < provisional.startNs) provisional.startNs = c.ts[0]!;
              if (provisional.endNs === null || c.ts[rows - 1]! > provisional.endNs) provisional.endNs = c.ts[rows - 1]!;
            }
            obs.batch(c, rows, index++);
          },
        },
        retire: () => growing.retire(),
      };
    };
    const run = async (consumer: BatchConsumer, planDiag: DiagnosticCollector): Promise<IngestResult> => {
      try {
        const o: Parameters<typeof ingest>[1] = { format, plan, diagnostics: planDiag, consumer };
        if (opts.formatModuleUrl) o.formatModuleUrl = opts.formatModuleUrl;
        if (opts.signal) o.signal = opts.signal;
        if (opts.onProgress) o.onProgress = opts.onProgress;
        if (opts.workers !== undefined) o.workers = opts.workers;
        if (opts.inlineBelowBytes !== undefined) o.inlineBelowBytes = opts.inlineBelowBytes;
        o.batchRows = opts.batchRows ?? BATCH_ROWS;
        // The cache folder is on a real disk; /tmp may be RAM (tmpfs), which spilling must avoid.
        if (opts.cacheDir) o.spillDir = opts.cacheDir;
        return await ingest(src, o);
      } catch (e) {
        throw toOpenError(file, e);
      }
    };
    const copyOfPlanDiag = (): DiagnosticCollector => {
      const d = new DiagnosticCollector(file);
      d.absorb(diagnostics.kept, diagnostics.total, diagnostics.errors);
      return d;
    };
    const checkUnchanged = (): void => {
      let now: SourceIdentity | null = null;
      try {
        now = sourceIdentity(abs);
      } catch {
        now = null;
      }
      if (!now || now.sizeBytes !== id.sizeBytes || now.mtimeMs !== id.mtimeMs || now.edgeHash !== id.edgeHash) {
        throw new OpenError(`${file}: the file changed while it was being read (size ${id.sizeBytes} -> ${now?.sizeBytes ?? 'gone'}); open it again when it is complete`, file, 0);
      }
    };

    if (opts.cacheDir) {
      let pending: PendingEntry | null = null;
      let readFd = -1;
      try {
        pending = new PendingEntry(opts.cacheDir, key);
        readFd = fs.openSync(pending.tempArrowPath, 'r');
      } catch (e) {
        pending?.abort();
        pending = null;
        emit({ kind: 'unavailable', file, reason: `cannot create a cache file in ${opts.cacheDir}: ${(e as Error).message}` });
      }
      if (pending) {
        // Writes on a writer thread, but not while an observer may read blocks back as they come.
        // (xentrace: the compact layout, 35 instead of 52 bytes per row; see CACHE.md)
        const layout = cacheLayoutFor(format.id, src.sizeBytes);
        const writer = new ArrowStreamFileWriter(pending.fd, opts.observer ? { layout } : { path: pending.tempArrowPath, layout });
        // Flush written batches to disk in the background while parsing goes on: otherwise nothing
        // reaches the disk before the commit's fsync, which then wrote the whole file at the end
        // (~150 ms of the 1.1 GB text bench's wall time, 421 MB of Arrow). fdatasync runs on a
        // libuv thread; the commit still fsyncs (after waiting for this) before its rename.
        const syncFd = pending.fd;
        let syncing: Promise<void> | null = null;
        let syncedBytes = 0;
        const fileConsumer: BatchConsumer = {
          batch(c, rows) {
            try {
              writer.writeBatch(c, rows);
            } catch (e) {
              throw new CacheWriteError((e as Error).message);
            }
            if (writer.bytesWritten - syncedBytes >= SYNC_EVERY_BYTES && syncing === null) {
              syncedBytes = writer.bytesWritten;
              syncing = new Promise<void>((resolve) => fs.fdatasync(syncFd, () => resolve())).then(() => {
                syncing = null;
              });
            }
          },
        };
        // Batches are read back from the file being written (positional reads of whole blocks).
        const { consumer, retire } = observed(fileConsumer, { kind: 'file', fd: readFd, blocks: writer.blocks, layout });
        try {
          const r = await run(consumer, copyOfPlanDiag());
          let arrowBytes: number;
          try {
            arrowBytes = writer.finish();
          } catch (e) {
            throw new CacheWriteError((e as Error).message);
          }
          checkUnchanged();
          await (syncing as Promise<void> | null);
          const meta: CacheMeta = {
            cacheVersion: CACHE_FORMAT_VERSION,
            engineVersion: VERSION,
            source: id,
            options: readOpts,
            formatId: format.id,
            info: r.info,
            summary: r.summary,
            arrowFile: pending.arrowFile,
            arrowBytes,
            batchRows,
            rowCount: r.rowCount,
            blocks: writer.blocks,
            comms: r.comms,
            events: r.events,
            inputs: r.inputs,
            ...writer.layout.metaFields(),
          };
          let arrowPath: string;
          try {
            arrowPath = pending.commit(meta);
          } catch (e) {
            throw new CacheWriteError((e as Error).message);
          }
          emit({ kind: 'written', file, arrowPath });
          const fd = readFd;
          readFd = -1;
          retire();
          // written by this open: the blocks' checksums were computed from the columns written
          return new ArrowCacheTrace(arrowPath, meta, { cacheDir: opts.cacheDir, key, fromCache: false, fd, trusted: true });
        } catch (e) {
          retire();
          writer.abort();
          await (syncing as Promise<void> | null)?.catch(() => undefined);
          pending.abort();
          if (readFd >= 0) fs.closeSync(readFd);
          readFd = -1;
          if (!(e instanceof CacheWriteError)) throw e;
          emit({ kind: 'unavailable', file, reason: `cannot write the cache in ${opts.cacheDir}: ${e.message}` });
        }
      }
    }

    const batches: EventColumns[] = [];
    const memory: BatchConsumer = {
      batch(c, rows) {
        batches.push(sliceColumns(c, rows));
      },
    };
    const { consumer, retire } = observed(memory, { kind: 'memory', batches });
    try {
      const r = await run(consumer, copyOfPlanDiag());
      checkUnchanged();
      return new BatchListTrace(file, batches, batchRows, r);
    } finally {
      retire();
    }
  } finally {
    src.close();
  }
}

const INLINE_UNIT_BYTES = 512 << 10;

/**
 * Units small enough that every worker gets ~8 (the last unit then runs alone for at most ~1/8 of
 * the time: worker CPU profiles on 200 MB of text showed 13-24% idle with 4 units per worker), large
 * enough that per-unit costs (a read buffer, messages, string-table deltas) stay negligible.
 */
function defaultUnitBytes(sizeBytes: number, opts: OpenOptions): number {
  // Read on this thread (small inputs): the thread yields to its event loop only between units, so
  // a unit is the longest a service waits to answer while it indexes (the app's queries during a
  // load). 512 KiB (~10K trace.dat events, decompressed bytes): on the 1.1M-event trace.dat the
  // app's first screen took 590 instead of 670 ms of engine CPU, the whole load the same (1500 vs
  // 1540 ms); 256 KiB saved as much up front but cost ~140 ms more in all.
  if (opts.workers === 0 || sizeBytes < (opts.inlineBelowBytes ?? INLINE_BELOW_BYTES)) return INLINE_UNIT_BYTES;
  const w = Math.max(1, opts.workers ?? 2);
  return Math.min(32 << 20, Math.max(1 << 20, Math.ceil(sizeBytes / (w * 8))));
}

function sliceColumns(c: EventColumns, n: number): EventColumns {
  return {
    length: n,
    ts: c.ts.slice(0, n),
    cpu: c.cpu.slice(0, n),
    kind: c.kind.slice(0, n),
    event: c.event.slice(0, n),
    pid: c.pid.slice(0, n),
    tid: c.tid.slice(0, n),
    comm: c.comm.slice(0, n),
    prevTid: c.prevTid.slice(0, n),
    prevComm: c.prevComm.slice(0, n),
    prevState: c.prevState.slice(0, n),
    arg0: c.arg0.slice(0, n),
    arg1: c.arg1.slice(0, n),
    offset: c.offset.slice(0, n),
    input: c.input.slice(0, n),
    inputs: c.inputs,
    comms: c.comms,
    events: c.events,
  };
}

void CancelledError;
