// Open a trace file as an IndexedTrace. This is the entry point every consumer uses.
// TEMPORARY implementation: reads inline (one thread, whole file into memory columns, no cache).
// The streaming, parallel, cached implementation replaces the body; the signature stays.

import { FileSource } from '../io/byte-source.ts';
import { detectFormat, formatById } from '../../formats/registry.ts';
import { TraceFormatError, type CancelSignal, type ReadOptions } from '../../formats/types.ts';
import { readInline } from './read-inline.ts';
import { MemoryIndexedTrace, type IndexedTrace } from './indexed-trace.ts';
import { SummaryAccumulator } from './summary.ts';

export interface OpenProgress {
  bytesDone: number;
  bytesTotal: number;
  events: number;
}

export interface OpenOptions extends ReadOptions {
  /** Cache folder (resolveCacheDir); undefined = do not cache. */
  cacheDir?: string;
  /** Force a format instead of sniffing. */
  formatId?: string;
  signal?: CancelSignal;
  onProgress?: (p: OpenProgress) => void;
  /** Ignore an existing cache and re-index. */
  rebuild?: boolean;
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

export async function openIndexed(path: string, opts: OpenOptions = {}): Promise<IndexedTrace> {
  let src: FileSource;
  try {
    src = new FileSource(path);
  } catch (e) {
    throw new OpenError(`${path}: cannot open: ${(e as Error).message}`, path);
  }
  try {
    const format = opts.formatId ? formatById(opts.formatId) : detectFormat(src);
    if (!format) throw new OpenError(`${path}: not a trace format vcpuscope knows (checked the first bytes at offset 0)`, path, 0);
    const { columns, info, diagnostics } = readInline(format, src, opts, opts.signal);
    const acc = new SummaryAccumulator();
    acc.add(columns);
    const summary = acc.finish(path, src.sizeBytes, format.id, info, columns.events, diagnostics.kept, diagnostics.total);
    return new MemoryIndexedTrace(path, columns, summary, info);
  } catch (e) {
    if (e instanceof TraceFormatError) {
      const where = e.line !== undefined ? `line ${e.line}` : `byte offset ${e.offsetBytes}`;
      throw new OpenError(`${path}: ${where}: ${e.message}`, path, e.offsetBytes, e.line);
    }
    throw e;
  } finally {
    src.close();
  }
}
