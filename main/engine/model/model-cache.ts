// Cache of the model's derived tables beside the index cache: one file per trace set, keyed by the
// inputs' identity (path, size, mtime), their roles/VM selectors/offsets, the options and
// MODEL_VERSION. Typed arrays are stored raw after a JSON header; written to a temporary name and
// renamed, so a crash never leaves a file that reads as valid. Leaves out eviction (the index's).

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildModelParallel, type ParallelOptions } from './parallel.ts';
import { buildModel, MODEL_VERSION, type BuildModelOptions, type ModelInputFile, type TwoLayerModel } from './model.ts';

const MAGIC = 'vcpuscope-model\n';

type TypedArray = Float64Array | Int32Array | Uint32Array | Uint16Array | Uint8Array;
const CTORS = { Float64Array, Int32Array, Uint32Array, Uint16Array, Uint8Array } as const;
type CtorName = keyof typeof CTORS;

/** The cache key of a trace set, or null when an input is not a regular file (in-memory tests). */
export function modelCacheKey(inputs: readonly ModelInputFile[], opts: BuildModelOptions): string | null {
  const h = createHash('sha256');
  h.update(`v${MODEL_VERSION}\n${JSON.stringify(opts)}\n`);
  for (const inp of inputs) {
    let st: fs.Stats;
    try {
      st = fs.statSync(inp.trace.path);
    } catch {
      return null;
    }
    if (!st.isFile()) return null;
    // Size and mtime can survive an in-place edit: also hash the head and tail, as the index does.
    h.update(edgeHash(inp.trace.path, st.size));
    h.update(`${inp.trace.path}\0${path.resolve(inp.trace.path)}\0${st.size}\0${st.mtimeMs}\0${inp.trace.rowCount}\0${inp.role ?? ''}\0${inp.vm ?? ''}\0${inp.offsetNs ?? ''}\n`);
  }
  return h.digest('hex').slice(0, 32);
}

const EDGE_BYTES = 64 * 1024;

function edgeHash(file: string, size: number): string {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(Math.min(EDGE_BYTES, size));
    h.update(buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0)));
    h.update(buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, Math.max(0, size - buf.length))));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

const DIGEST_BYTES = 32;

function encode(model: TwoLayerModel): Buffer {
  const arrays: TypedArray[] = [];
  const json = JSON.stringify(model, (_k, v: unknown) => {
    if (ArrayBuffer.isView(v)) {
      arrays.push(v as TypedArray);
      return { $ta: (v as TypedArray).constructor.name, i: arrays.length - 1 };
    }
    if (v instanceof Map) return { $map: [...v.entries()] };
    if (typeof v === 'number' && !Number.isFinite(v)) return { $num: String(v) };
    return v;
  });
  const header = Buffer.from(`${MAGIC}${Buffer.byteLength(json, 'utf8')}\n${json}`, 'utf8');
  const parts: Buffer[] = [header];
  let off = header.length;
  const index: Array<[number, number]> = [];
  for (const a of arrays) {
    const pad = (8 - (off % 8)) % 8; // keep every array aligned for zero-copy views
    if (pad) parts.push(Buffer.alloc(pad));
    off += pad;
    index.push([off, a.length]);
    parts.push(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
    off += a.byteLength;
  }
  const tail = Buffer.from(JSON.stringify(index), 'utf8');
  const tailLen = Buffer.alloc(8);
  tailLen.writeBigUInt64LE(BigInt(tail.length));
  const body = Buffer.concat([...parts, tail, tailLen]);
  // A digest of everything before it: a truncated or corrupted cache file is rebuilt, never used.
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

function decode(file: Buffer): TwoLayerModel | null {
  if (file.length < DIGEST_BYTES + MAGIC.length + 8) return null;
  const buf = file.subarray(0, file.length - DIGEST_BYTES);
  if (!createHash('sha256').update(buf).digest().equals(file.subarray(file.length - DIGEST_BYTES))) return null;
  if (buf.length < MAGIC.length + 8 || buf.toString('utf8', 0, MAGIC.length) !== MAGIC) return null;
  const nl = buf.indexOf(10, MAGIC.length);
  const jsonLen = Number(buf.toString('utf8', MAGIC.length, nl));
  const json = buf.toString('utf8', nl + 1, nl + 1 + jsonLen);
  const tailLen = Number(buf.readBigUInt64LE(buf.length - 8));
  const index = JSON.parse(buf.toString('utf8', buf.length - 8 - tailLen, buf.length - 8)) as Array<[number, number]>;
  // copy into one aligned ArrayBuffer so the views below are aligned whatever Buffer's pool offset
  const ab = new ArrayBuffer(buf.length);
  new Uint8Array(ab).set(buf);
  return JSON.parse(json, (_k, v: unknown) => {
    if (v && typeof v === 'object') {
      const o = v as { $ta?: CtorName; i?: number; $map?: Array<[unknown, unknown]>; $num?: string };
      if (o.$ta !== undefined && o.i !== undefined) {
        const C = CTORS[o.$ta];
        const [off, len] = index[o.i]!;
        return new C(ab, off, len);
      }
      if (o.$map) return new Map(o.$map);
      if (o.$num !== undefined) return Number(o.$num);
    }
    return v;
  }) as TwoLayerModel;
}

export interface CachedModelResult {
  model: TwoLayerModel;
  cache: 'hit' | 'written' | 'off' | 'unavailable';
  reason?: string;
}

/** buildModel with the derived tables read from / written to cacheDir (undefined = no cache). */
export function buildModelCached(inputs: readonly ModelInputFile[], opts: BuildModelOptions, cacheDir: string | undefined): CachedModelResult {
  const file = cacheDir ? cachedModelFile(inputs, opts, cacheDir) : null;
  if (!cacheDir || !file) return { model: buildModel(inputs, opts), cache: 'off' };
  return readCached(file) ?? storeModel(buildModel(inputs, opts), cacheDir, file);
}

/** buildModelCached with buildModelParallel (a worker thread for large inputs; same model). */
export async function buildModelCachedParallel(inputs: readonly ModelInputFile[], opts: ParallelOptions, cacheDir: string | undefined): Promise<CachedModelResult> {
  // the cache key covers what the model depends on: not how many threads built it
  const { parallel: _p, onPlan: _o, workerBundle: _w, ...buildOpts } = opts;
  const file = cacheDir ? cachedModelFile(inputs, buildOpts, cacheDir) : null;
  if (!cacheDir || !file) return { model: await buildModelParallel(inputs, opts), cache: 'off' };
  return readCached(file) ?? storeModel(await buildModelParallel(inputs, opts), cacheDir, file);
}

function cachedModelFile(inputs: readonly ModelInputFile[], opts: BuildModelOptions, cacheDir: string): string | null {
  const key = modelCacheKey(inputs, opts);
  return key ? path.join(cacheDir, `model-${key}.bin`) : null;
}

function readCached(file: string): CachedModelResult | null {
  try {
    const m = decode(fs.readFileSync(file));
    if (m && Array.isArray(m.vms) && m.vcpus) return { model: m, cache: 'hit' };
  } catch {
    /* absent or unreadable: rebuild */
  }
  return null;
}

function storeModel(model: TwoLayerModel, cacheDir: string, file: string): CachedModelResult {
  try {
    fs.mkdirSync(cacheDir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, encode(model));
    fs.renameSync(tmp, file);
    return { model, cache: 'written' };
  } catch (e) {
    return { model, cache: 'unavailable', reason: (e as Error).message };
  }
}
