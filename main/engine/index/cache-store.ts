// The on-disk cache entry of one input: `<key>.meta.json` (identity, summary, string tables, batch
// directory, checksummed) + `<key>-<nonce>.arrow` (the events). Validation, atomic commit (write to a
// temp name, fsync, rename; the meta rename is the commit point) and cleanup. No parsing here.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TraceSummary } from '../../../shared/summary.ts';
import { VERSION } from '../../../shared/version.ts';
import type { FormatInfo } from '../../formats/types.ts';
import { ROW_BYTES, type BatchBlock, type CacheLayoutId } from './arrow-cache.ts';

/** Bump when the cache layout or the meaning of any column changes: old entries are then rebuilt. */
export const CACHE_FORMAT_VERSION = 3;
/** Bytes hashed at each end of the input to notice in-place edits that keep size and mtime. */
export const IDENTITY_EDGE_BYTES = 64 * 1024;
const META_PREFIX = '{"checksum":"';
/** Largest batch a cache may declare (the writer uses BATCH_ROWS = 65536). */
const MAX_BATCH_ROWS = 1 << 22;
// Temp files of a crashed indexer are removed after this long (a live indexer renames well before).
const STALE_TEMP_MS = 60 * 60 * 1000;
// Arrow files no meta points at (lost a commit race) are removed after this long.
const ORPHAN_MS = 10 * 60 * 1000;

export interface SourceIdentity {
  path: string;
  sizeBytes: number;
  mtimeMs: number;
  /** sha256 of the first and last IDENTITY_EDGE_BYTES (hex). */
  edgeHash: string;
}

export interface CacheReadOptions {
  formatId?: string;
  cpuHz?: number;
}

export interface CacheMeta {
  cacheVersion: number;
  engineVersion: string;
  source: SourceIdentity;
  options: CacheReadOptions;
  formatId: string;
  info: FormatInfo;
  summary: TraceSummary;
  arrowFile: string;
  arrowBytes: number;
  batchRows: number;
  rowCount: number;
  blocks: BatchBlock[];
  comms: string[];
  events: string[];
  inputs: string[];
  /** Which columns the events file stores (absent: all of them; see CacheLayout in arrow-cache.ts). */
  layout?: CacheLayoutId;
  /** compact layout: [tid, comm id, tid, comm id, ...] (comm and prevComm are filled from it). */
  tidComm?: number[];
}

/** Identity of an input as the cache sees it (stat + hash of both ends; reads <= 128 KiB). */
export function sourceIdentity(file: string): SourceIdentity {
  const abs = path.resolve(file);
  const fd = fs.openSync(abs, 'r');
  try {
    const st = fs.fstatSync(fd);
    const h = crypto.createHash('sha256');
    const headLen = Math.min(st.size, IDENTITY_EDGE_BYTES);
    const buf = Buffer.alloc(IDENTITY_EDGE_BYTES);
    let n = fs.readSync(fd, buf, 0, headLen, 0);
    h.update(buf.subarray(0, n));
    const tailStart = Math.max(headLen, st.size - IDENTITY_EDGE_BYTES);
    n = fs.readSync(fd, buf, 0, st.size - tailStart, tailStart);
    h.update(buf.subarray(0, n));
    h.update(String(st.size));
    return { path: abs, sizeBytes: st.size, mtimeMs: st.mtimeMs, edgeHash: h.digest('hex') };
  } finally {
    fs.closeSync(fd);
  }
}

/** One entry per input path and output-changing options; the identity is checked inside. */
export function entryKey(absPath: string, opts: CacheReadOptions): string {
  const h = crypto.createHash('sha256');
  h.update(JSON.stringify([absPath, opts.formatId ?? null, opts.cpuHz ?? null, CACHE_FORMAT_VERSION]));
  return `${path.basename(absPath).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 40)}-${h.digest('hex').slice(0, 24)}`;
}

export function metaPath(cacheDir: string, key: string): string {
  return path.join(cacheDir, `${key}.meta.json`);
}

export type CacheLookup = { meta: CacheMeta; arrowPath: string } | { meta: null; reason: string };

/** Read and validate an entry against the input's identity. Never trusts a damaged entry. */
export function lookupEntry(cacheDir: string, key: string, id: SourceIdentity, opts: CacheReadOptions): CacheLookup {
  const mp = metaPath(cacheDir, key);
  let text: string;
  try {
    text = fs.readFileSync(mp, 'utf8');
  } catch {
    return { meta: null, reason: 'no cache entry' };
  }
  const meta = parseMeta(text);
  if (!meta) return { meta: null, reason: 'cache meta is damaged (checksum)' };
  if (meta.cacheVersion !== CACHE_FORMAT_VERSION || meta.engineVersion !== VERSION) return { meta: null, reason: 'cache from another version' };
  const s = meta.source;
  if (s.path !== id.path || s.sizeBytes !== id.sizeBytes || s.mtimeMs !== id.mtimeMs || s.edgeHash !== id.edgeHash) {
    return { meta: null, reason: 'input changed since it was indexed' };
  }
  if ((meta.options.formatId ?? null) !== (opts.formatId ?? null) || (meta.options.cpuHz ?? null) !== (opts.cpuHz ?? null)) {
    return { meta: null, reason: 'read options differ' };
  }
  if (path.basename(meta.arrowFile) !== meta.arrowFile) return { meta: null, reason: 'cache meta is damaged (arrow file name)' };
  if (meta.layout !== undefined && !(meta.layout === 'compact' && Array.isArray(meta.tidComm) && meta.tidComm.length % 2 === 0 && meta.tidComm.every((v) => Number.isInteger(v) && (v | 0) === v))) {
    return { meta: null, reason: 'cache meta is damaged (layout)' };
  }
  const arrowPath = path.join(cacheDir, meta.arrowFile);
  const problem = checkArrowFile(arrowPath, meta);
  if (problem) return { meta: null, reason: problem };
  return { meta, arrowPath };
}

function parseMeta(text: string): CacheMeta | null {
  if (!text.startsWith(META_PREFIX) || !text.endsWith('}')) return null;
  const sumEnd = META_PREFIX.length + 64;
  const rest = text.slice(sumEnd);
  const bodyLead = '","body":';
  if (!rest.startsWith(bodyLead)) return null;
  const body = rest.slice(bodyLead.length, -1);
  const sum = text.slice(META_PREFIX.length, sumEnd);
  if (crypto.createHash('sha256').update(body).digest('hex') !== sum) return null;
  try {
    return JSON.parse(body) as CacheMeta;
  } catch {
    return null;
  }
}

export function serializeMeta(meta: CacheMeta): string {
  const body = JSON.stringify(meta);
  const sum = crypto.createHash('sha256').update(body).digest('hex');
  return `${META_PREFIX}${sum}","body":${body}}`;
}

/** Sizes, block directory and the footer magic; the body bytes are checked per batch on read. */
function checkArrowFile(arrowPath: string, meta: CacheMeta): string | null {
  let fd: number;
  try {
    fd = fs.openSync(arrowPath, 'r');
  } catch {
    return 'cache events file is missing';
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size !== meta.arrowBytes) return `cache events file has ${size} bytes, expected ${meta.arrowBytes}`;
    const head = Buffer.alloc(6);
    const tail = Buffer.alloc(6);
    fs.readSync(fd, head, 0, 6, 0);
    fs.readSync(fd, tail, 0, 6, Math.max(0, size - 6));
    if (head.toString('latin1') !== 'ARROW1' || tail.toString('latin1') !== 'ARROW1') return 'cache events file lacks the Arrow magic';
    if (!(Number.isInteger(meta.batchRows) && meta.batchRows > 0 && meta.batchRows <= MAX_BATCH_ROWS)) return 'cache batch size is out of range';
    let rows = 0;
    let prevEnd = 8;
    for (const b of meta.blocks) {
      // A batch message is its rows' bytes plus small metadata and padding: bound what a read allocates.
      const maxBytes = b.rows * ROW_BYTES + 64 * 1024;
      if (!(b.offset >= prevEnd && b.bytes > 0 && b.bytes <= maxBytes && b.offset + b.bytes <= size && b.rows > 0 && b.rows <= meta.batchRows)) {
        return 'cache batch directory does not fit the events file';
      }
      prevEnd = b.offset + b.bytes;
      rows += b.rows;
    }
    if (rows !== meta.rowCount) return 'cache batch directory does not add up';
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

/** A new entry being written: the events go to a temp file; commit() makes it visible atomically. */
export class PendingEntry {
  readonly cacheDir: string;
  readonly key: string;
  readonly arrowFile: string;
  readonly tempArrowPath: string;
  fd: number;
  private done = false;

  constructor(cacheDir: string, key: string) {
    this.cacheDir = cacheDir;
    this.key = key;
    fs.mkdirSync(cacheDir, { recursive: true });
    removeStaleFiles(cacheDir, key);
    const nonce = `${process.pid}-${crypto.randomBytes(6).toString('hex')}`;
    this.arrowFile = `${key}-${nonce}.arrow`;
    this.tempArrowPath = path.join(cacheDir, `${this.arrowFile}.tmp`);
    this.fd = fs.openSync(this.tempArrowPath, 'wx');
  }

  /**
   * fsync + rename the events file, then write the meta under a temp name and rename it over the
   * old one (the commit point). Returns the final events path (the caller may keep reading it).
   */
  commit(meta: CacheMeta): string {
    const finalArrow = path.join(this.cacheDir, this.arrowFile);
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = -1;
    fs.renameSync(this.tempArrowPath, finalArrow);
    const mp = metaPath(this.cacheDir, this.key);
    const tmpMeta = `${mp}.${process.pid}-${crypto.randomBytes(4).toString('hex')}.tmp`;
    try {
      const mfd = fs.openSync(tmpMeta, 'wx');
      try {
        fs.writeFileSync(mfd, serializeMeta(meta));
        fs.fsyncSync(mfd);
      } finally {
        fs.closeSync(mfd);
      }
      // The entry this commit replaces, read as late as possible: only its events file is removed.
      // (Removing every other events file of the key would race with a concurrent indexer that has
      // renamed its events file but not yet its meta: its commit would then point at nothing.)
      let previous: string | null = null;
      try {
        previous = parseMeta(fs.readFileSync(mp, 'utf8'))?.arrowFile ?? null;
      } catch {
        previous = null;
      }
      fs.renameSync(tmpMeta, mp);
      this.done = true;
      // Readers that opened it keep their descriptor (POSIX unlink semantics). Files no meta points
      // at (a damaged meta, a lost race) are swept by removeStaleFiles after ORPHAN_MS.
      if (previous && previous !== this.arrowFile && path.basename(previous) === previous) tryUnlink(path.join(this.cacheDir, previous));
    } catch (e) {
      tryUnlink(tmpMeta);
      if (!this.done) tryUnlink(finalArrow);
      throw e;
    }
    syncDir(this.cacheDir);
    return finalArrow;
  }

  /** Drop the temp file (cancel, failure). Safe to call more than once. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    if (this.fd >= 0) {
      try {
        fs.closeSync(this.fd);
      } catch {
        /* already closed */
      }
      this.fd = -1;
    }
    tryUnlink(this.tempArrowPath);
  }
}

/** Delete an entry whose contents proved corrupt while reading (the next open rebuilds it). */
export function invalidateEntry(cacheDir: string, key: string, arrowFile: string): void {
  const mp = metaPath(cacheDir, key);
  try {
    const cur = parseMeta(fs.readFileSync(mp, 'utf8'));
    if (!cur || cur.arrowFile === arrowFile) tryUnlink(mp);
  } catch {
    /* gone already */
  }
}

function removeStaleFiles(cacheDir: string, key: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(cacheDir);
  } catch {
    return;
  }
  let current: string | null = null;
  try {
    current = parseMeta(fs.readFileSync(metaPath(cacheDir, key), 'utf8'))?.arrowFile ?? null;
  } catch {
    current = null;
  }
  const now = Date.now();
  for (const name of names) {
    if (!name.startsWith(`${key}`)) continue;
    const isTemp = name.endsWith('.tmp');
    // Side files named after an events file (`<file>.arrow.view-v1.bin`, written by the query
    // layer) go with it: orphaned once their .arrow is no longer the current one.
    const sideOf = /^(.*\.arrow)\.[\w.-]+\.bin$/.exec(name)?.[1];
    const isOrphan = (name.endsWith('.arrow') && name !== current) || (sideOf !== undefined && sideOf !== current);
    if (!isTemp && !isOrphan) continue;
    const p = path.join(cacheDir, name);
    try {
      const age = now - fs.statSync(p).mtimeMs;
      if (age > (isTemp ? STALE_TEMP_MS : ORPHAN_MS)) fs.unlinkSync(p);
    } catch {
      /* raced with another process */
    }
  }
}

function tryUnlink(p: string): void {
  try {
    fs.unlinkSync(p);
  } catch {
    /* not there */
  }
}

function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    /* not supported on every platform; the renames are still atomic */
  }
}
