// libzstd in WASM (the build that the zstddec package ships), instantiated synchronously so that
// the synchronous readUnit can use it from the first chunk. zstddec only offers an async init()
// (it fetches its inlined module from a data: URL); we let that call hand us the module's bytes
// and instantiate them ourselves, with our own small glue (malloc/ZSTD_decompress/free, buffers
// reused between chunks). Returns undefined when any of that is not possible; the caller then
// uses fzstd.

import { ZSTDDecoder } from 'zstddec';

interface ZstdExports {
  memory: WebAssembly.Memory;
  malloc(bytes: number): number;
  free(ptr: number): void;
  ZSTD_decompress(dst: number, dstCapacity: number, src: number, srcSize: number): number;
}

export class WasmZstd {
  private readonly ex: ZstdExports;
  private inPtr = 0;
  private inCap = 0;
  private outPtr = 0;
  private outCap = 0;

  constructor(ex: ZstdExports) {
    this.ex = ex;
  }

  private reserve(which: 'in' | 'out', bytes: number): number {
    const cap = which === 'in' ? this.inCap : this.outCap;
    if (cap >= bytes) return which === 'in' ? this.inPtr : this.outPtr;
    const old = which === 'in' ? this.inPtr : this.outPtr;
    if (old) this.ex.free(old);
    const size = Math.max(bytes, cap * 2, 64 * 1024);
    const ptr = this.ex.malloc(size);
    if (!ptr) throw new Error(`zstd: WASM heap cannot hold ${size} bytes`);
    if (which === 'in') {
      this.inPtr = ptr;
      this.inCap = size;
    } else {
      this.outPtr = ptr;
      this.outCap = size;
    }
    return ptr;
  }

  /** Decompress `input` into target[0, expectedBytes); throws unless exactly that many bytes result. */
  decodeInto(input: Uint8Array, expectedBytes: number, target: Uint8Array): void {
    const inPtr = this.reserve('in', input.length);
    const outPtr = this.reserve('out', Math.max(1, expectedBytes));
    // Views after malloc: the memory may have grown (which detaches older views).
    new Uint8Array(this.ex.memory.buffer).set(input, inPtr);
    const n = this.ex.ZSTD_decompress(outPtr, expectedBytes, inPtr, input.length) >>> 0;
    if (n !== expectedBytes) {
      // libzstd returns (size_t)-errorCode on failure: far above any expected size.
      throw new Error(n > expectedBytes ? `libzstd error ${2 ** 32 - n}` : `got ${n} bytes, expected ${expectedBytes}`);
    }
    target.set(new Uint8Array(this.ex.memory.buffer, outPtr, expectedBytes));
  }
}

/** The module bytes zstddec would instantiate, captured from its (async) init call. */
function zstddecModuleBytes(): Uint8Array<ArrayBuffer> | undefined {
  const g = globalThis as unknown as { fetch?: unknown };
  const wa = WebAssembly as unknown as { instantiate: unknown };
  const realFetch = g.fetch;
  const realInstantiate = wa.instantiate;
  let bytes: Uint8Array<ArrayBuffer> | undefined;
  const never = (): Promise<never> => new Promise<never>(() => {});
  g.fetch = (url: unknown): Promise<never> => {
    const s = String(url);
    const comma = s.indexOf(',');
    if (s.startsWith('data:application/wasm;base64,') && comma > 0) bytes = new Uint8Array(Buffer.from(s.slice(comma + 1), 'base64'));
    return never();
  };
  wa.instantiate = (source: unknown): Promise<never> => {
    if (source instanceof Uint8Array) bytes = new Uint8Array(source);
    return never();
  };
  try {
    void new ZSTDDecoder().init().catch(() => undefined);
  } catch {
    bytes = undefined;
  } finally {
    g.fetch = realFetch;
    wa.instantiate = realInstantiate;
  }
  return bytes;
}

export function createWasmZstd(): WasmZstd | undefined {
  try {
    const bytes = zstddecModuleBytes();
    if (!bytes) return undefined;
    const module = new WebAssembly.Module(bytes);
    const instance = new WebAssembly.Instance(module, { env: { emscripten_notify_memory_growth: () => {} } });
    const ex = instance.exports as unknown as ZstdExports;
    if (typeof ex.malloc !== 'function' || typeof ex.free !== 'function' || typeof ex.ZSTD_decompress !== 'function' || !(ex.memory instanceof WebAssembly.Memory)) return undefined;
    return new WasmZstd(ex);
  } catch {
    return undefined;
  }
}
