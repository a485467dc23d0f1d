// The engine as its own process: run by Electron's utilityProcess (messages on
// process.parentPort; the main process sends one MessagePort for the renderer and 'allow'
// grants for paths the user chose) or by child_process.fork (messages on process). No electron import.

import type { RpcResponse } from '../../../shared/wire.ts';
import { resolveCacheDir } from '../index/cache-dir.ts';
import { dispatch } from './dispatch.ts';
import { TraceService } from './trace-service.ts';

/** The part of Electron's MessagePortMain / parentPort this process uses. */
interface PortLike {
  on(event: 'message', cb: (e: { data: unknown; ports?: PortLike[] }) => void): void;
  postMessage(msg: unknown): void;
  start?(): void;
}

const allowed = new Set<string>();
const service = new TraceService({ cacheDir: resolveCacheDir(undefined), pathAllowed: (p) => allowed.has(p) });

function control(msg: unknown): void {
  if (typeof msg !== 'object' || msg === null) return;
  const m = msg as { type?: unknown; path?: unknown };
  if (m.type === 'allow' && typeof m.path === 'string') allowed.add(m.path);
  if (m.type === 'shutdown') {
    service.close();
    process.exit(0);
  }
}

function serve(port: PortLike): void {
  port.on('message', (e) => {
    void dispatch(service, e.data).then((res: RpcResponse | null) => {
      if (res) port.postMessage(res);
    });
  });
  port.start?.();
}

const parentPort = (process as unknown as { parentPort?: PortLike }).parentPort;
if (parentPort) {
  parentPort.on('message', (e) => {
    const port = e.ports?.[0];
    if (port) serve(port);
    else control(e.data);
  });
} else if (process.send) {
  process.on('message', (msg: unknown) => {
    const m = msg as { rpc?: unknown };
    if (m && typeof m === 'object' && 'rpc' in m) {
      void dispatch(service, m.rpc).then((res) => {
        if (res) process.send!({ rpc: res });
      });
    } else control(msg);
  });
}
