// Messages between buildModelParallel (parallel.ts) and the model worker (model-worker.ts).

import { readFileSync } from 'node:fs';
import type { AlignmentInfo, LhpParams } from '../../../shared/model-contract.ts';
import type { CacheMeta } from '../index/cache-store.ts';
import type { AutoAlignOptions, ClockMap } from './align.ts';
import type { VcpuRows, VmRef } from './model.ts';
import type { LayerScan, ScanOptions } from './runs.ts';

/** What the worker needs to open a trace's cache file itself (an ArrowCacheTrace of its own). */
export interface CacheFileRef {
  arrowPath: string;
  meta: CacheMeta;
  cacheDir: string;
  key: string;
  /** The main thread's trace was written by this process's ingest (ArrowCacheTrace.trusted): batches not checked again. */
  trusted: boolean;
}

/** A request without its sequence number (ModelWorker.request adds it). */
export type WorkerRequestBody =
  | { type: 'scan'; file: CacheFileRef; opts: ScanOptions }
  | {
      type: 'align';
      id: number;
      vm: VmRef;
      scan: LayerScan;
      rows: VcpuRows;
      hostSpan: { startNs: number; endNs: number };
      fixed: { method: 'recorded' | 'user'; offsetNs: number } | null;
      align: AutoAlignOptions | undefined;
    }
  | { type: 'layers'; id: number; file: string; clock: ClockMap; stopNs: number; lhp: LhpParams; openRows: Int32Array; openEndNs: number; lhpRoom: number };

export type WorkerRequest = WorkerRequestBody & { seq: number };

export type WorkerReply = { seq: number; ok: true; result: unknown } | { seq: number; ok: false; name: string; message: string };

export type AlignReply = { clock: ClockMap; alignment: AlignmentInfo };

/** This thread's CPU ms from /proc/thread-self/stat (Linux; NaN elsewhere): VCPUSCOPE_MODEL_DEBUG output only. */
export function threadCpuMs(): number {
  try {
    const st = readFileSync('/proc/thread-self/stat', 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

/** Every ArrayBuffer under `x` (typed arrays in objects, arrays and Map values), once each: the transfer list of a message. */
export function transferListOf(x: unknown): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const seen = new Set<object>();
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== 'object') return;
    if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof ArrayBuffer) out.add(v.buffer);
      return;
    }
    if (seen.has(v)) return;
    seen.add(v);
    if (v instanceof Map) {
      for (const y of v.values()) walk(y);
      return;
    }
    if (Array.isArray(v)) {
      for (const y of v) walk(y);
      return;
    }
    for (const y of Object.values(v)) walk(y);
  };
  walk(x);
  return [...out];
}
