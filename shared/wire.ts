// RPC messages of the TraceApi and their byte encoding for the WebSocket transport (the
// MessagePort transport posts the same messages by structured clone). Uint8Array values (Arrow
// bytes) travel as raw binary after a JSON header, never as JSON arrays. No I/O here.

import type { Result } from './result.ts';

export interface RpcRequest {
  id: number;
  method: string;
  req: unknown;
}

export interface RpcResponse {
  id: number;
  result: Result<unknown>;
}

/** Bound on one encoded message: a request never needs more; a response window stays far below. */
export const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;
export const MAX_REQUEST_BYTES = 1024 * 1024;

interface BinRef {
  $bin: number;
}

function isBinRef(v: unknown): v is BinRef {
  return typeof v === 'object' && v !== null && typeof (v as { $bin?: unknown }).$bin === 'number' && Object.keys(v).length === 1;
}

/** Replace Uint8Arrays (at depth <= 2: the value or a field of it) with references into `bins`. */
function extract(v: unknown, bins: Uint8Array[], depth: number): unknown {
  if (v instanceof Uint8Array) {
    bins.push(v);
    return { $bin: bins.length - 1 } satisfies BinRef;
  }
  if (depth >= 2 || typeof v !== 'object' || v === null || Array.isArray(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = extract(x, bins, depth + 1);
  return out;
}

function restore(v: unknown, bins: Uint8Array[], depth: number): unknown {
  if (isBinRef(v)) {
    const b = bins[v.$bin];
    if (!b) throw new Error(`wire: reference to missing binary part ${v.$bin}`);
    return b;
  }
  if (depth >= 2 || typeof v !== 'object' || v === null || Array.isArray(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = restore(x, bins, depth + 1);
  return out;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Frame: u32le header length, UTF-8 JSON header, then per binary part u32le length + bytes. */
export function encodeMessage(msg: RpcRequest | RpcResponse): Uint8Array {
  const bins: Uint8Array[] = [];
  const head = 'method' in msg
    ? { id: msg.id, method: msg.method, req: extract(msg.req, bins, 0) }
    : { id: msg.id, result: msg.result.ok ? { ok: true, value: extract(msg.result.value, bins, 0) } : msg.result };
  const json = enc.encode(JSON.stringify(head));
  let total = 4 + json.length;
  for (const b of bins) total += 4 + b.length;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, json.length, true);
  out.set(json, 4);
  let p = 4 + json.length;
  for (const b of bins) {
    dv.setUint32(p, b.length, true);
    out.set(b, p + 4);
    p += 4 + b.length;
  }
  return out;
}

/** Throws a plain Error with the byte offset on a malformed frame (the caller turns it into a reply). */
export function decodeMessage(bytes: Uint8Array, limitBytes = MAX_MESSAGE_BYTES): RpcRequest | RpcResponse {
  if (bytes.length > limitBytes) throw new Error(`wire: message of ${bytes.length} bytes exceeds the limit of ${limitBytes}`);
  if (bytes.length < 4) throw new Error('wire: message shorter than its 4-byte header');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const jsonLen = dv.getUint32(0, true);
  if (4 + jsonLen > bytes.length) throw new Error(`wire: header length ${jsonLen} runs past the message end (${bytes.length} bytes)`);
  let head: unknown;
  try {
    head = JSON.parse(dec.decode(bytes.subarray(4, 4 + jsonLen)));
  } catch {
    throw new Error('wire: header is not valid JSON (at byte offset 4)');
  }
  const bins: Uint8Array[] = [];
  let p = 4 + jsonLen;
  while (p < bytes.length) {
    if (p + 4 > bytes.length) throw new Error(`wire: truncated binary part length at byte offset ${p}`);
    const n = dv.getUint32(p, true);
    if (p + 4 + n > bytes.length) throw new Error(`wire: binary part at byte offset ${p} runs past the message end`);
    bins.push(bytes.slice(p + 4, p + 4 + n));
    p += 4 + n;
  }
  if (typeof head !== 'object' || head === null) throw new Error('wire: header is not an object');
  const h = head as Record<string, unknown>;
  if (typeof h.id !== 'number' || !Number.isSafeInteger(h.id)) throw new Error('wire: header has no numeric id');
  if (typeof h.method === 'string') return { id: h.id, method: h.method, req: restore(h.req, bins, 0) };
  const r = h.result as Record<string, unknown> | undefined;
  if (typeof r !== 'object' || r === null || typeof r.ok !== 'boolean') throw new Error('wire: header has neither method nor result');
  if (r.ok) return { id: h.id, result: { ok: true, value: restore(r.value, bins, 0) } };
  return { id: h.id, result: r as unknown as Result<unknown> };
}
