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
      initialGuests: () => bridge.initialGuests(),
      pickFiles: () => bridge.pickFiles(),
      onOpenPaths: (cb) => bridge.onOpenPaths(cb),
      onMenu: (cb) => bridge.onMenu(cb),
      dropFiles: (files) => bridge.dropFiles(files),
    };
  }
  let boot: Promise<{ paths: string[]; guests: { path: string; vm: string }[] }> | null = null;
  const bootstrap = (): Promise<{ paths: string[]; guests: { path: string; vm: string }[] }> =>
    (boot ??= fetch('/bootstrap.json', { credentials: 'same-origin' }).then(async (r) => {
      if (!r.ok) return { paths: [], guests: [] };
      const b = (await r.json()) as { paths?: unknown; guests?: unknown };
      const paths = Array.isArray(b.paths) ? b.paths.filter((p): p is string => typeof p === 'string') : [];
      const guests = Array.isArray(b.guests)
        ? b.guests.filter((g): g is { path: string; vm: string } => typeof g === 'object' && g !== null && typeof g.path === 'string' && typeof g.vm === 'string')
        : [];
      return { paths, guests };
    }));
  // The file list is fetched while the socket connects (the first `open` waited for both in turn).
  void bootstrap().catch(() => undefined);
  const socket = await openWebSocket(window.location);
  return {
    kind: 'browser',
    api: createClient(new SocketTransport(socket)),
    initialPaths: async () => (await bootstrap()).paths,
    initialGuests: async () => (await bootstrap()).guests,
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
