// Browser mode's first step, a small script the page runs before the app bundle: `vcpuscope
// serve` inlines it in the page with the bootstrap (the files to open; main/server inlineBoot),
// else index.html loads it as boot.js ahead of app.js. It connects the WebSocket and sends the
// first RPCs of the initial load (open, its first loadStatus and, once there is a session,
// sessionInfo, then the first screen's rows, timeline tile, count and thread hits:
// api/first-requests.ts) while the browser is still fetching, compiling and running the ~0.3 MB
// app bundle. renderer/index.tsx adopts the socket and these answers (takeEarlyStart; the app's
// equal requests take the early answers: api/early-answers.ts). In Electron (a preload bridge)
// it does nothing. Kept to the wire encoding and nothing else, so that it is small and runs early.

import type { LoadStatus, OpenRequest, SessionInfo } from '../shared/contract.ts';
import type { Result } from '../shared/result.ts';
import { decodeMessage, encodeMessage, type RpcResponse } from '../shared/wire.ts';
import type { FirstLoad } from './api/client.ts';
import { EarlyAnswers } from './api/early-answers.ts';
import { firstRequests } from './api/first-requests.ts';

export interface Bootstrap {
  paths: string[];
  guests: { path: string; vm: string }[];
}

export interface EarlyStart {
  /** The open socket; rejects with a message for the user when it cannot connect. */
  socket: Promise<WebSocket>;
  bootstrap: Promise<Bootstrap>;
  /** The initial load's first answers; null when the page was given no files. */
  first: Promise<FirstLoad | null>;
  /** Request ids below this one are the boot script's: the app's transport starts here. */
  firstFreeId: number;
  /** Answers to the first screen's requests, made before the app ran. */
  answers: EarlyAnswers;
}

declare global {
  interface Window {
    __vcpuscopeEarly?: EarlyStart;
    /** Set by the app bundle when it starts without an early start (the boot script then does nothing). */
    __vcpuscopeAppStarted?: boolean;
  }
}

export const FIRST_FREE_ID = 16;

/** The bootstrap JSON, checked field by field (a missing or malformed one is an empty list). */
export function parseBootstrap(b: unknown): Bootstrap {
  const o = (typeof b === 'object' && b !== null ? b : {}) as { paths?: unknown; guests?: unknown };
  const paths = Array.isArray(o.paths) ? o.paths.filter((p): p is string => typeof p === 'string') : [];
  const guests = Array.isArray(o.guests)
    ? o.guests.filter((g): g is { path: string; vm: string } => typeof g === 'object' && g !== null && typeof g.path === 'string' && typeof g.vm === 'string')
    : [];
  return { paths, guests };
}

/** The bootstrap inlined in the page by the server, else /bootstrap.json. */
export function fetchBootstrap(doc: { getElementById(id: string): { textContent: string | null } | null } | null = typeof document === 'undefined' ? null : document): Promise<Bootstrap> {
  const inline = doc?.getElementById('vcpuscope-bootstrap')?.textContent;
  if (inline) {
    try {
      return Promise.resolve(parseBootstrap(JSON.parse(inline)));
    } catch {
      /* malformed: ask the server */
    }
  }
  return fetch('/bootstrap.json', { credentials: 'same-origin' }).then(async (r) => (r.ok ? parseBootstrap(await r.json()) : { paths: [], guests: [] }));
}

/** The WebSocket at /rpc on the page's own origin (the token cookie rides along). */
export function connectSocket(location: { host: string; search: string }): Promise<WebSocket> {
  const token = new URLSearchParams(location.search).get('token');
  const ws = new WebSocket(`ws://${location.host}/rpc${token ? `?token=${encodeURIComponent(token)}` : ''}`);
  ws.binaryType = 'arraybuffer';
  return new Promise((resolve, reject) => {
    ws.addEventListener('open', () => resolve(ws), { once: true });
    ws.addEventListener('error', () => reject(new Error('cannot connect to the vcpuscope engine: is `vcpuscope serve` still running?')), { once: true });
  });
}

/** Starts the socket, the bootstrap and the initial load's first RPCs. */
export function earlyStart(location: { host: string; search: string }, pageWidthPx = typeof document === 'undefined' ? 0 : document.documentElement.clientWidth): EarlyStart {
  const answers = new EarlyAnswers();
  const socket = connectSocket(location);
  const bootstrap = fetchBootstrap().catch(() => ({ paths: [], guests: [] }));
  const first = Promise.all([socket, bootstrap]).then(async ([ws, b]): Promise<FirstLoad | null> => {
    if (b.paths.length === 0) return null;
    let nextId = 1;
    const pending = new Map<number, (r: Result<unknown>) => void>();
    const onMessage = (e: MessageEvent): void => {
      try {
        const m = decodeMessage(new Uint8Array(e.data as ArrayBuffer));
        const cb = pending.get(m.id);
        if (cb && 'result' in m) {
          pending.delete(m.id);
          cb((m as RpcResponse).result);
        }
      } catch {
        /* not ours to judge: the app's transport sees the same message */
      }
    };
    const onClose = (): void => {
      for (const cb of pending.values()) cb({ ok: false, error: { code: 'disconnected', message: 'lost the connection to the engine; reload the page' } });
      pending.clear();
    };
    ws.addEventListener('message', onMessage);
    ws.addEventListener('close', onClose);
    // Listens until its last answer came (the first screen's requests outlive `first`).
    let sending = true;
    const unlisten = (): void => {
      if (sending || pending.size > 0) return;
      ws.removeEventListener('message', onMessage);
      ws.removeEventListener('close', onClose);
    };
    const call = <T>(method: string, req: unknown): Promise<Result<T>> =>
      new Promise<Result<T>>((resolve) => {
        const id = nextId++;
        pending.set(id, resolve as (r: Result<unknown>) => void);
        ws.send(encodeMessage({ id, method, req }));
      }).finally(unlisten);
    try {
      // The page opens exactly what the bootstrap names (the server hands this `open` its startup load).
      const request: OpenRequest = b.guests.length ? { paths: b.paths, guests: b.guests } : { paths: b.paths };
      const open = await call<{ loadId: string }>('open', request);
      if (!open.ok) return { request, open };
      const status = await call<LoadStatus>('loadStatus', { loadId: open.value.loadId });
      if (!status.ok || !status.value.sessionId) return { request, open, status };
      const info = await call<SessionInfo>('sessionInfo', { sessionId: status.value.sessionId });
      if (info.ok) for (const [method, req] of firstRequests(info.value, pageWidthPx, info.value.complete || status.value.phase === 'lanes')) if (nextId < FIRST_FREE_ID) answers.put(method, req, call(method, req));
      return { request, open, status, info };
    } finally {
      sending = false;
      unlisten();
    }
  });
  // Unhandled until the app takes them: keep the console quiet (the app reports failures).
  socket.catch(() => undefined);
  first.catch(() => undefined);
  return { socket, bootstrap, first, firstFreeId: FIRST_FREE_ID, answers };
}

/** Run as the boot script: only in a browser page without the Electron bridge, and only once. */
export function bootMain(): void {
  if (typeof window === 'undefined' || (window as { vcpuscope?: unknown }).vcpuscope || window.__vcpuscopeAppStarted || window.__vcpuscopeEarly) return;
  window.__vcpuscopeEarly = earlyStart(window.location);
}
