// One RPC message in, one response out: validates the request at the boundary, calls the
// TraceService, turns anything thrown into an 'internal' error value (the transport never dies).

import type { ApiMethod, TraceApi } from '../../../shared/contract.ts';
import { err, type Result } from '../../../shared/result.ts';
import type { RpcResponse } from '../../../shared/wire.ts';
import { validateRequest } from './validate.ts';

export async function dispatch(api: TraceApi, msg: unknown): Promise<RpcResponse | null> {
  if (typeof msg !== 'object' || msg === null) return null;
  const m = msg as { id?: unknown; method?: unknown; req?: unknown };
  if (typeof m.id !== 'number' || !Number.isSafeInteger(m.id)) return null;
  const v = validateRequest(m.method, m.req);
  if (!v.ok) return { id: m.id, result: v };
  try {
    const fn = api[v.value.method as ApiMethod] as (req: unknown) => Promise<Result<unknown>>;
    return { id: m.id, result: await fn.call(api, v.value.req) };
  } catch (e) {
    return { id: m.id, result: err({ code: 'internal', message: `${v.value.method}: ${(e as Error).message}` }) };
  }
}
