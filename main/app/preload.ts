// Electron preload (sandboxed, CommonJS bundle): receives the engine's MessagePort from the main
// process and exposes ONLY the typed contract plus the shell's file actions on window.vcpuscope.
// Method names are checked against the contract's list; nothing else of Electron or Node leaks.

import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { API_METHODS, type ApiMethod } from '../../shared/contract.ts';
import { err, type Result } from '../../shared/result.ts';
import type { RpcResponse } from '../../shared/wire.ts';

let port: MessagePort | null = null;
/** The engine stopped and the main process gave up restarting it: calls are answered at once. */
let engineGone = false;
const queue: unknown[] = [];
let nextId = 1;
const pending = new Map<number, (r: Result<unknown>) => void>();

ipcRenderer.on('vcpuscope:engine-port', (e) => {
  const p = e.ports[0];
  if (!p) return;
  port = p;
  engineGone = false;
  p.onmessage = (m: MessageEvent) => {
    const res = m.data as RpcResponse;
    const cb = typeof res?.id === 'number' ? pending.get(res.id) : undefined;
    if (!cb) return;
    pending.delete(res.id);
    cb(res.result);
  };
  p.start();
  for (const msg of queue.splice(0)) p.postMessage(msg);
});

const disconnected = (restarting: boolean): Result<never> =>
  err({ code: 'disconnected', message: restarting ? 'the engine process stopped and was restarted: open the trace again (File > Open Recent)' : 'the engine process stopped and could not be restarted: restart vcpuscope' });

ipcRenderer.on('vcpuscope:engine-exit', (_e, info: unknown) => {
  port = null;
  const restarting = typeof info === 'object' && info !== null && (info as { restarting?: unknown }).restarting === true;
  engineGone = !restarting;
  for (const cb of pending.values()) cb(disconnected(restarting));
  pending.clear();
});

const menuListeners: ((what: string) => void)[] = [];
ipcRenderer.on('vcpuscope:menu', (_e, what: unknown) => {
  if (typeof what === 'string') for (const cb of menuListeners) cb(what);
});

const openListeners: ((paths: string[]) => void)[] = [];
ipcRenderer.on('vcpuscope:open-paths', (_e, paths: unknown) => {
  if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string')) return;
  for (const cb of openListeners) cb(paths as string[]);
});

contextBridge.exposeInMainWorld('vcpuscope', {
  call(method: string, req: unknown): Promise<Result<unknown>> {
    if (!API_METHODS.includes(method as ApiMethod)) return Promise.resolve(err({ code: 'bad-request', message: `unknown method ${method}` }));
    const id = nextId++;
    const msg = { id, method, req };
    return new Promise((resolve) => {
      if (!port && engineGone) return resolve(disconnected(false));
      pending.set(id, resolve);
      if (port) port.postMessage(msg);
      else queue.push(msg);
    });
  },
  initialPaths: (): Promise<string[]> => ipcRenderer.invoke('vcpuscope:initial-paths') as Promise<string[]>,
  initialGuests: (): Promise<{ path: string; vm: string }[]> => ipcRenderer.invoke('vcpuscope:initial-guests') as Promise<{ path: string; vm: string }[]>,
  /** The loadId of the load the main process started for the command-line files (once; then null). */
  startupLoad: (): Promise<string | null> => ipcRenderer.invoke('vcpuscope:startup-load') as Promise<string | null>,
  pickFiles: (): Promise<string[] | null> => ipcRenderer.invoke('vcpuscope:pick-files') as Promise<string[] | null>,
  onOpenPaths(cb: (paths: string[]) => void): void {
    openListeners.push(cb);
  },
  onMenu(cb: (what: string) => void): void {
    menuListeners.push(cb);
  },
  /** Dropped files: the main process checks and grants the paths, returns those it accepted. */
  dropFiles(files: File[]): Promise<string[]> {
    const paths = files.map((f) => webUtils.getPathForFile(f)).filter((p) => typeof p === 'string' && p.length > 0);
    return ipcRenderer.invoke('vcpuscope:drop-files', paths) as Promise<string[]>;
  },
});
