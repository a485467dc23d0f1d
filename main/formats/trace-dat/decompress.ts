// Decompression of trace.dat v7 sections and per-CPU chunks: zlib (Node's built-in, the format
// trace-cmd's zlib plugin writes with compress2()) and zstd. zstd uses zstddec (the reference
// libzstd compiled to WASM): 210-270 MB/s against fzstd's (pure JS) 15-26 MB/s on the 1412 chunks
// (57.8 MB) of a 40 s schedmix recording, measured on this 2-core machine while others worked.
// fzstd stays as the fallback when WebAssembly is unavailable (and for chunks over 64 MB). Output size is always the size the
// file declares, bounded by the caller, so a corrupt header cannot make us allocate without limit.

import * as zlib from 'node:zlib';
import { decompress as fzstdDecompress } from 'fzstd';
import { createWasmZstd } from './wasm-zstd.ts';

/** Created once per thread, synchronously (see wasm-zstd.ts); undefined without WebAssembly. */
const wasmZstd = createWasmZstd();

/** Kept for callers written against the async set-up: the decoder is ready at import now. */
export function whenZstdReady(): Promise<void> {
  return Promise.resolve();
}
/** Chunks bigger than this go to fzstd: the WASM heap grows to the largest chunk and never shrinks. */
const WASM_MAX_BYTES = 64 * 1024 * 1024;

export function zstdBackend(): string {
  return wasmZstd ? 'libzstd (WASM, from zstddec)' : 'fzstd (JS)';
}

export type Codec = 'none' | 'zlib' | 'zstd';

/** Largest decompressed section or chunk we accept (trace-cmd writes chunks of a few pages). */
export const MAX_DECOMPRESSED_BYTES = 512 * 1024 * 1024;

export function codecFromName(name: string): Codec | undefined {
  if (name === 'none' || name === '') return 'none';
  if (name === 'zlib') return 'zlib';
  if (name === 'zstd') return 'zstd';
  return undefined;
}

export interface DecompressOptions {
  /** reused output buffer (between chunks); used when large enough */
  out?: Uint8Array;
  /** 'js' forces fzstd (tests compare both decoders) */
  zstd?: 'auto' | 'js';
}

/**
 * Decompress `input` that must yield exactly `expectedBytes`, into `opts.out` when it is large
 * enough, else a new array. Throws Error with a short reason.
 */
export function decompressExact(codec: Codec, input: Uint8Array, expectedBytes: number, opts: DecompressOptions = {}): Uint8Array {
  const out = opts.out;
  if (expectedBytes < 0 || expectedBytes > MAX_DECOMPRESSED_BYTES) {
    throw new Error(`declared decompressed size ${expectedBytes} is out of range`);
  }
  if (codec === 'none') {
    if (input.length !== expectedBytes) throw new Error(`stored size ${input.length} != declared ${expectedBytes}`);
    return input;
  }
  const target = out && out.length >= expectedBytes ? out.subarray(0, expectedBytes) : new Uint8Array(expectedBytes);
  if (codec === 'zlib') {
    let res: Buffer;
    try {
      // maxOutputLength bounds the allocation even when the stream lies about its size.
      res = zlib.inflateSync(input, { maxOutputLength: Math.max(1, expectedBytes) });
    } catch (e) {
      throw new Error(`zlib: ${(e as Error).message}`);
    }
    if (res.length !== expectedBytes) throw new Error(`zlib: got ${res.length} bytes, expected ${expectedBytes}`);
    target.set(res);
    return target;
  }
  let res: Uint8Array;
  try {
    if (wasmZstd && opts.zstd !== 'js' && expectedBytes <= WASM_MAX_BYTES) {
      wasmZstd.decodeInto(input, expectedBytes, target);
      res = target;
    } else res = fzstdDecompress(input, target);
  } catch (e) {
    throw new Error(`zstd: ${(e as Error).message}`);
  }
  if (res.length !== expectedBytes) throw new Error(`zstd: got ${res.length} bytes, expected ${expectedBytes}`);
  return res;
}
