// Boundary validation of TraceApi requests: every field typed and ranged, unknown methods and
// extra-large lists refused, before anything reaches the service. Errors come back as data
// (code 'bad-request') naming the field.

import {
  MAX_PATHS,
  MAX_TIMELINE_WIDTH_PX,
  MAX_WINDOW_ROWS,
  type ApiMethod,
  type CpuRef,
  type FilterSpec,
  type ThreadRef,
} from '../../../shared/contract.ts';
import { err, ok, type Result } from '../../../shared/result.ts';

class Invalid extends Error {}

const MAX_LIST = 4096;
const MAX_STRING = 4096;
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

function obj(v: unknown, at: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Invalid(`${at} must be an object`);
  return v as Record<string, unknown>;
}
function int(v: unknown, at: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new Invalid(`${at} must be an integer in [${min}, ${max}]`);
  return v;
}
function finite(v: unknown, at: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Invalid(`${at} must be a finite number`);
  return v;
}
function str(v: unknown, at: string, maxLen = MAX_STRING): string {
  if (typeof v !== 'string' || v.length > maxLen) throw new Invalid(`${at} must be a string of at most ${maxLen} characters`);
  if (v.includes('\0')) throw new Invalid(`${at} must not contain NUL`);
  return v;
}
function id(v: unknown, at: string): string {
  const s = str(v, at, 64);
  if (!ID_RE.test(s)) throw new Invalid(`${at} is not a valid id`);
  return s;
}
function list<T>(v: unknown, at: string, each: (x: unknown, at: string) => T, maxLen = MAX_LIST): T[] {
  if (!Array.isArray(v) || v.length > maxLen) throw new Invalid(`${at} must be an array of at most ${maxLen} items`);
  return v.map((x, i) => each(x, `${at}[${i}]`));
}
function only(o: Record<string, unknown>, at: string, keys: readonly string[]): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw new Invalid(`${at} has unknown field '${k}'`);
}

const fileIdx = (v: unknown, at: string): number => int(v, at, 0, 254);
function cpuRef(v: unknown, at: string): CpuRef {
  const o = obj(v, at);
  only(o, at, ['file', 'cpu']);
  return { file: fileIdx(o.file, `${at}.file`), cpu: int(o.cpu, `${at}.cpu`, 0, 65535) };
}
function threadRef(v: unknown, at: string): ThreadRef {
  const o = obj(v, at);
  only(o, at, ['file', 'tid']);
  return { file: fileIdx(o.file, `${at}.file`), tid: int(o.tid, `${at}.tid`, -(2 ** 31), 2 ** 31 - 1) };
}

export function validateFilter(v: unknown, at = 'filter'): FilterSpec {
  const o = obj(v, at);
  only(o, at, ['files', 'cpus', 'threads', 'comms', 'kinds', 't0Ns', 't1Ns', 'text']);
  const f: FilterSpec = {};
  if (o.files !== undefined) f.files = list(o.files, `${at}.files`, fileIdx);
  if (o.cpus !== undefined) f.cpus = list(o.cpus, `${at}.cpus`, cpuRef);
  if (o.threads !== undefined) f.threads = list(o.threads, `${at}.threads`, threadRef);
  if (o.comms !== undefined) f.comms = list(o.comms, `${at}.comms`, (x, a) => str(x, a, 256));
  if (o.kinds !== undefined) f.kinds = list(o.kinds, `${at}.kinds`, (x, a) => int(x, a, 0, 255));
  if (o.t0Ns !== undefined) f.t0Ns = finite(o.t0Ns, `${at}.t0Ns`);
  if (o.t1Ns !== undefined) f.t1Ns = finite(o.t1Ns, `${at}.t1Ns`);
  if (f.t0Ns !== undefined && f.t1Ns !== undefined && f.t1Ns < f.t0Ns) throw new Invalid(`${at}.t1Ns must not be before t0Ns`);
  if (o.text !== undefined) f.text = str(o.text, `${at}.text`, 256);
  return f;
}

type Validator = (o: Record<string, unknown>) => unknown;

const V: Record<ApiMethod, { keys: readonly string[]; check: Validator }> = {
  open: {
    keys: ['paths', 'guests'],
    check: (o) => ({
      paths: list(o.paths, 'paths', (x, a) => str(x, a), MAX_PATHS),
      ...(o.guests !== undefined
        ? {
            guests: list(
              o.guests,
              'guests',
              (x, a) => {
                const g = obj(x, a);
                only(g, a, ['path', 'vm']);
                return { path: str(g.path, `${a}.path`), vm: str(g.vm, `${a}.vm`, 64) };
              },
              MAX_PATHS,
            ),
          }
        : {}),
    }),
  },
  loadStatus: { keys: ['loadId'], check: (o) => ({ loadId: id(o.loadId, 'loadId') }) },
  cancelLoad: { keys: ['loadId'], check: (o) => ({ loadId: id(o.loadId, 'loadId') }) },
  sessionInfo: { keys: ['sessionId'], check: (o) => ({ sessionId: id(o.sessionId, 'sessionId') }) },
  closeSession: { keys: ['sessionId'], check: (o) => ({ sessionId: id(o.sessionId, 'sessionId') }) },
  count: { keys: ['sessionId', 'filter'], check: (o) => ({ sessionId: id(o.sessionId, 'sessionId'), filter: validateFilter(o.filter) }) },
  rows: {
    keys: ['sessionId', 'filter', 'start', 'count'],
    check: (o) => ({
      sessionId: id(o.sessionId, 'sessionId'),
      filter: validateFilter(o.filter),
      start: int(o.start, 'start', 0, Number.MAX_SAFE_INTEGER),
      count: int(o.count, 'count', 0, MAX_WINDOW_ROWS),
    }),
  },
  rowAtTime: {
    keys: ['sessionId', 'filter', 'tsNs'],
    check: (o) => ({ sessionId: id(o.sessionId, 'sessionId'), filter: validateFilter(o.filter), tsNs: finite(o.tsNs, 'tsNs') }),
  },
  record: {
    keys: ['sessionId', 'file', 'offsetBytes'],
    check: (o) => ({ sessionId: id(o.sessionId, 'sessionId'), file: fileIdx(o.file, 'file'), offsetBytes: int(o.offsetBytes, 'offsetBytes', 0, Number.MAX_SAFE_INTEGER) }),
  },
  timeline: {
    keys: ['sessionId', 'filter', 't0Ns', 't1Ns', 'widthPx'],
    check: (o) => {
      const r = {
        sessionId: id(o.sessionId, 'sessionId'),
        filter: validateFilter(o.filter),
        t0Ns: finite(o.t0Ns, 't0Ns'),
        t1Ns: finite(o.t1Ns, 't1Ns'),
        widthPx: int(o.widthPx, 'widthPx', 1, MAX_TIMELINE_WIDTH_PX),
      };
      if (r.t1Ns <= r.t0Ns) throw new Invalid('t1Ns must be after t0Ns');
      return r;
    },
  },
  threads: {
    keys: ['sessionId', 'query', 'limit'],
    check: (o) => ({ sessionId: id(o.sessionId, 'sessionId'), query: str(o.query, 'query', 256), limit: int(o.limit, 'limit', 1, 1000) }),
  },
  followThread: { keys: ['sessionId', 'thread'], check: (o) => ({ sessionId: id(o.sessionId, 'sessionId'), thread: threadRef(o.thread, 'thread') }) },
  coreThreads: {
    keys: ['sessionId', 'core', 't0Ns', 't1Ns'],
    check: (o) => {
      const r = { sessionId: id(o.sessionId, 'sessionId'), core: int(o.core, 'core', 0, 65535), t0Ns: finite(o.t0Ns, 't0Ns'), t1Ns: finite(o.t1Ns, 't1Ns') };
      if (r.t1Ns <= r.t0Ns) throw new Invalid('t1Ns must be after t0Ns');
      return r;
    },
  },
};

export function isApiMethod(m: unknown): m is ApiMethod {
  return typeof m === 'string' && Object.prototype.hasOwnProperty.call(V, m);
}

export function validateRequest(method: unknown, req: unknown): Result<{ method: ApiMethod; req: unknown }> {
  if (!isApiMethod(method)) return err({ code: 'bad-request', message: `unknown method ${JSON.stringify(String(method).slice(0, 64))}` });
  try {
    const o = obj(req, 'request');
    const spec = V[method];
    only(o, 'request', spec.keys);
    return ok({ method, req: spec.check(o) });
  } catch (e) {
    if (e instanceof Invalid) return err({ code: 'bad-request', message: `${method}: ${e.message}` });
    throw e;
  }
}
