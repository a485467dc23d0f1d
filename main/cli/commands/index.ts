// `vcpuscope index FILE...`: build or refresh the cache of each input (progress on stderr when it is
// a terminal; Ctrl-C cancels and leaves no half cache). Also exports the options and the openAll()
// helper that every command opening traces reuses (stats, follow, report, serve...).

import type { CliCommand, CliIo } from '../command.ts';
import { InputError, UsageError, numberOption, type OptionSpec, type ParsedArgs } from '../args.ts';
import { ProgressBar, formatBytes, formatCount } from '../progress.ts';
import { openIndexed, OpenError, CancelledError, type CacheEvent, type OpenOptions } from '../../engine/index/open.ts';
import type { IndexedTrace } from '../../engine/index/indexed-trace.ts';
import { resolveCacheDir } from '../../engine/index/cache-dir.ts';
import { allFormats, formatById } from '../../formats/registry.ts';

/** Options of every command that opens traces (--cache-dir is common to all commands). */
export const OPEN_OPTIONS: OptionSpec[] = [
  { name: 'no-cache', type: 'flag', help: 'do not read or write the cache (index in memory)' },
  { name: 'format', type: 'string', valueName: 'ID', help: `read as this format instead of detecting it (${allFormats().map((f) => f.id).join(', ')})` },
  { name: 'cpu-hz', type: 'string', valueName: 'HZ', help: 'CPU/TSC frequency for traces that record cycles (xentrace)' },
  { name: 'quiet', type: 'flag', help: 'no progress bar or cache messages on stderr' },
  { name: 'workers', type: 'string', valueName: 'N', help: 'parser threads (default: min(2, cores); 0 = parse on the main thread)' },
];
export const INDEX_OPTIONS: OptionSpec[] = [...OPEN_OPTIONS, { name: 'rebuild', type: 'flag', help: 'ignore an existing cache entry and index again' }];

/** Exit status of a command interrupted by Ctrl-C (128 + SIGINT). */
export const EXIT_CANCELLED = 130;

export interface OpenAllOptions {
  /** Re-index even when the cache is valid. */
  rebuild?: boolean;
  /** Called per file after it opened (index prints its line here). */
  onOpened?: (t: IndexedTrace, info: { file: string; seconds: number; fromCache: boolean }) => void;
}

/** The OpenOptions that the common options describe (throws UsageError on bad values). */
export function openOptionsFromArgs(args: ParsedArgs, io: CliIo): OpenOptions {
  const o: OpenOptions = {};
  if (!args.flags.has('no-cache')) o.cacheDir = resolveCacheDir(args.values.get('cache-dir'), io.env);
  const fmt = args.values.get('format');
  if (fmt !== undefined) {
    if (!formatById(fmt)) throw new UsageError(`unknown format '${fmt}' (known: ${allFormats().map((f) => f.id).join(', ')})`);
    o.formatId = fmt;
  }
  const hz = numberOption(args, 'cpu-hz');
  if (hz !== undefined) {
    if (!(hz > 0)) throw new UsageError(`--cpu-hz expects a positive frequency in Hz, got '${args.values.get('cpu-hz')}'`);
    o.cpuHz = hz;
  }
  const workers = numberOption(args, 'workers');
  if (workers !== undefined) {
    if (!(Number.isInteger(workers) && workers >= 0 && workers <= 64)) throw new UsageError(`--workers expects an integer 0..64, got '${args.values.get('workers')}'`);
    o.workers = workers;
    if (workers === 0) o.inlineBelowBytes = Number.MAX_SAFE_INTEGER;
  }
  return o;
}

/**
 * Open every file (cache first), with a progress bar on a terminal and Ctrl-C cancelling cleanly.
 * Throws UsageError (no files / bad option), InputError (a file cannot be read: one line naming
 * the file and offset/line) or CancelledError (Ctrl-C; exit with EXIT_CANCELLED).
 */
export async function openAll(files: readonly string[], args: ParsedArgs, io: CliIo, extra: OpenAllOptions = {}): Promise<IndexedTrace[]> {
  if (files.length === 0) throw new UsageError('no trace file given');
  const base = openOptionsFromArgs(args, io);
  const quiet = args.flags.has('quiet');
  const stderr = io.stderr;
  const showBar = !quiet && stderr.isTTY === true;
  const signal = { cancelled: false };
  const onSigint = (): void => {
    // A second Ctrl-C quits at once (temp files are named *.tmp and swept later; nothing is committed).
    if (signal.cancelled) process.exit(EXIT_CANCELLED);
    signal.cancelled = true;
  };
  process.on('SIGINT', onSigint);
  const out: IndexedTrace[] = [];
  try {
    for (const file of files) {
      const bar = showBar ? new ProgressBar(stderr, file) : null;
      const started = Date.now();
      const opts: OpenOptions = {
        ...base,
        signal,
        onCache: (e: CacheEvent) => {
          if (e.kind === 'unavailable' && !quiet) {
            bar?.done();
            stderr.write(`vcpuscope: warning: ${e.file}: ${e.reason}; continuing without the cache\n`);
          }
        },
      };
      if (extra.rebuild) opts.rebuild = true;
      if (bar) opts.onProgress = (p) => bar.update(p.bytesDone, p.bytesTotal, p.events);
      let t: IndexedTrace;
      try {
        t = await openIndexed(file, opts);
      } catch (e) {
        bar?.done();
        if (e instanceof OpenError) throw new InputError(e.message);
        throw e;
      }
      bar?.done();
      out.push(t);
      extra.onOpened?.(t, { file, seconds: (Date.now() - started) / 1000, fromCache: (t as { fromCache?: boolean }).fromCache === true });
    }
    return out;
  } catch (e) {
    for (const t of out) t.close();
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export const indexCommand: CliCommand = {
  name: 'index',
  summary: 'build or refresh the cache of each trace (Arrow IPC; re-opening is then instant)',
  usage: 'FILE... [--rebuild] [--quiet] [--no-cache] [--format ID] [--cpu-hz HZ] [--cache-dir DIR]',
  details:
    'Each input is read in parallel worker threads and written as an Arrow IPC file into the cache\n' +
    'folder (default: $VCPUSCOPE_CACHE_DIR or the user cache directory). An unchanged input\n' +
    '(same path, size, mtime and head/tail hash) is not read again. Ctrl-C cancels without leaving\n' +
    'a partial cache. Exit status: 0 ok, 1 unreadable input, 2 usage error, 130 cancelled.',
  options: INDEX_OPTIONS,
  async run(args, io) {
    const quiet = args.flags.has('quiet');
    try {
      const traces = await openAll(args.positionals, args, io, {
        rebuild: args.flags.has('rebuild'),
        onOpened: (t, info) => {
          if (quiet) return;
          const rate = info.fromCache || info.seconds <= 0 ? '' : `, ${formatBytes(t.summary.sizeBytes / info.seconds)}/s`;
          io.stderr.write(
            `${info.file}: ${formatCount(t.rowCount)} events, ${formatBytes(t.summary.sizeBytes)} ${t.summary.format}` +
              `${info.fromCache ? ' (cache is up to date)' : ` indexed in ${info.seconds.toFixed(2)} s${rate}`}` +
              `${t.summary.diagnosticsTotal ? `, ${t.summary.diagnosticsTotal} diagnostics (see 'vcpuscope stats')` : ''}\n`,
          );
        },
      });
      for (const t of traces) t.close();
      return 0;
    } catch (e) {
      if (e instanceof CancelledError) {
        io.stderr.write(`vcpuscope index: cancelled (${e.message}); no cache was written for it\n`);
        return EXIT_CANCELLED;
      }
      throw e;
    }
  },
};
