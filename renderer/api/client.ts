// The renderer's TraceApi: one client over either transport — the Electron preload bridge
// (which owns the MessagePort to the engine) or the browser-mode WebSocket. Views get a TraceApi
// and a Host and never learn which transport is behind them.

import { API_METHODS, type ApiMethod, type LoadStatus, type OpenRequest, type SessionInfo, type TraceApi } from '../../shared/contract.ts';
import { err, type Result } from '../../shared/result.ts';
import { decodeMessage, encodeMessage, type RpcResponse } from '../../shared/wire.ts';

/**
 * The load of the files the app was started with, already asked for by the host (browser mode:
 * the boot script's first RPCs, renderer/boot.ts; Electron: the load the main process started).
 */
export interface FirstLoad {
  request: OpenRequest;
  open: Result<{ loadId: string }>;
  /** The load's first status, when the host asked for it. */
  status?: Result<LoadStatus>;
  /** The session's info, when that status named a session. */
  info?: Result<SessionInfo>;
}

export interface Transport {
  call(method: ApiMethod, req: unknown): Promise<Result<unknown>>;
}

/** What the desktop shell adds (file dialogs, files from the command line or a drop). */
export interface Host {
  kind: 'electron' | 'browser';
  api: TraceApi;
  /** Files to open at start (command line / `vcpuscope serve FILE...`). */
  initialPaths(): Promise<string[]>;
  /** Guest trace -> VM hints given with them (`vcpuscope serve --guest FILE@VM`). */
  initialGuests?(): Promise<{ path: string; vm: string }[]>;
  /** The initial files' load when the host already started it (given once; then null): the app does not open them again. */
  startupLoad?(): Promise<FirstLoad | null>;
  /** Native open dialog (Electron only); resolves to granted paths, or null when cancelled. */
  pickFiles?(): Promise<string[] | null>;
  /** Paths the shell asks to open later (menu, Open Recent, drag-and-drop). */
  onOpenPaths?(cb: (paths: string[]) => void): void;
  /** Files dropped on the window (Electron only): the granted paths. */
  dropFiles?(files: File[]): Promise<string[]>;
  /** Menu commands from the shell: 'export', 'font+', 'font-', 'theme'. */
  onMenu?(cb: (what: string) => void): void;
}

/** Typed facade over a transport: one function per contract method. */
export function createClient(t: Transport): TraceApi {
  const api: Record<string, (req: unknown) => Promise<Result<unknown>>> = {};
  for (const m of API_METHODS) api[m] = (req: unknown) => t.call(m, req);
  return api as unknown as TraceApi;
}

/** The surface the Electron preload exposes on window.vcpuscope (contract calls + shell). */
export interface PreloadBridge {
  call(method: string, req: unknown): Promise<Result<unknown>>;
  initialPaths(): Promise<string[]>;
  initialGuests(): Promise<{ path: string; vm: string }[]>;
  /** The loadId of the load the main process started for the command-line files (once; then null). Absent in older shells. */
  startupLoad?(): Promise<string | null>;
  pickFiles(): Promise<string[] | null>;
  onOpenPaths(cb: (paths: string[]) => void): void;
  onMenu(cb: (what: string) => void): void;
  dropFiles(files: File[]): Promise<string[]>;
}

export function bridgeTransport(b: PreloadBridge): Transport {
  return { call: (method, req) => b.call(method, req) };
}

/** Something that sends and receives binary messages (a WebSocket, or a fake in tests). */
export interface SocketLike {
  send(data: Uint8Array): void;
  onMessage(cb: (data: Uint8Array) => void): void;
  onClose(cb: (reason: string) => void): void;
}

/** Request/response over a socket: ids matched, everything pending fails when the socket closes. */
export class SocketTransport implements Transport {
  private nextId: number;
  private readonly pending = new Map<number, (r: Result<unknown>) => void>();
  private closedReason: string | null = null;

  /** firstId: request ids below it belong to someone else on the same socket (the boot script). */
  constructor(
    private readonly socket: SocketLike,
    firstId = 1,
  ) {
    this.nextId = firstId;
    socket.onMessage((bytes) => {
      let msg: ReturnType<typeof decodeMessage>;
      try {
        msg = decodeMessage(bytes);
      } catch {
        return; // a malformed reply cannot be matched to a request; the request times out with the socket
      }
      if (!('result' in msg)) return;
      const res = msg as RpcResponse;
      const cb = this.pending.get(res.id);
      if (!cb) return;
      this.pending.delete(res.id);
      cb(res.result);
    });
    socket.onClose((reason) => {
      this.closedReason = reason;
      for (const cb of this.pending.values()) cb(err({ code: 'disconnected', message: `lost the connection to the engine (${reason}); reload the page` }));
      this.pending.clear();
    });
  }

  call(method: ApiMethod, req: unknown): Promise<Result<unknown>> {
    if (this.closedReason !== null) {
      return Promise.resolve(err({ code: 'disconnected', message: `lost the connection to the engine (${this.closedReason}); reload the page` }));
    }
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.socket.send(encodeMessage({ id, method, req }));
    });
  }
}

/** A connected browser WebSocket (binaryType 'arraybuffer') as a SocketLike. */
export function socketLike(ws: WebSocket): SocketLike {
  return {
    send: (d) => ws.send(d),
    onMessage: (cb) => ws.addEventListener('message', (e) => cb(new Uint8Array(e.data as ArrayBuffer))),
    onClose: (cb) => {
      // A socket that closed before the app attached is reported at once.
      if (ws.readyState === WebSocket.CLOSING || ws.readyState === WebSocket.CLOSED) cb('closed');
      else ws.addEventListener('close', (e) => cb(e.reason || `code ${e.code}`));
    },
  };
}
