// Renderer entry: picks the transport (Electron preload bridge, else the browser-mode WebSocket),
// builds the TraceApi client and the Host, and mounts the app.

import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { bridgeTransport, createClient, openWebSocket, SocketTransport, type Host, type PreloadBridge } from './api/client.ts';

async function makeHost(): Promise<Host> {
  const bridge = (window as unknown as { vcpuscope?: PreloadBridge }).vcpuscope;
  if (bridge) {
    return {
      kind: 'electron',
      api: createClient(bridgeTransport(bridge)),
      initialPaths: () => bridge.initialPaths(),
      pickFiles: () => bridge.pickFiles(),
      onOpenPaths: (cb) => bridge.onOpenPaths(cb),
      onMenu: (cb) => bridge.onMenu(cb),
      dropFiles: (files) => bridge.dropFiles(files),
    };
  }
  const socket = await openWebSocket(window.location);
  return {
    kind: 'browser',
    api: createClient(new SocketTransport(socket)),
    initialPaths: async () => {
      const r = await fetch('/bootstrap.json', { credentials: 'same-origin' });
      if (!r.ok) return [];
      const b = (await r.json()) as { paths?: unknown };
      return Array.isArray(b.paths) ? b.paths.filter((p): p is string => typeof p === 'string') : [];
    },
  };
}

const rootEl = document.getElementById('root');
if (rootEl) {
  makeHost().then(
    (host) => createRoot(rootEl).render(<App host={host} />),
    (e: unknown) => {
      rootEl.textContent = `vcpuscope: ${(e as Error).message}`;
      rootEl.className = 'state error';
      rootEl.setAttribute('data-testid', 'fatal');
    },
  );
}
