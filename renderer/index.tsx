// Renderer entry: picks the transport (Electron preload bridge, else the browser-mode WebSocket),
// builds the TraceApi client and the Host, and mounts the app.

import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { bridgeTransport, createClient, socketLike, SocketTransport, type FirstLoad, type Host, type PreloadBridge } from './api/client.ts';
import { withEarlyAnswers } from './api/early-answers.ts';
import { earlyStart, type EarlyStart } from './boot.ts';

/** The boot script's early start (renderer/boot.ts), or the same steps from here when it did not run. */
function takeEarlyStart(): EarlyStart {
  const e = window.__vcpuscopeEarly;
  if (e) return e;
  window.__vcpuscopeAppStarted = true;
  return earlyStart(window.location);
}

async function makeHost(): Promise<Host> {
  const bridge = (window as unknown as { vcpuscope?: PreloadBridge }).vcpuscope;
  if (bridge) {
    let startup: Promise<FirstLoad | null> | null = null;
    return {
      kind: 'electron',
      api: createClient(bridgeTransport(bridge)),
      initialPaths: () => bridge.initialPaths(),
      initialGuests: () => bridge.initialGuests(),
      // The load the main process started for the command-line files (main/app/main.ts).
      startupLoad: () =>
        (startup ??= Promise.all([bridge.startupLoad?.() ?? Promise.resolve(null), bridge.initialPaths(), bridge.initialGuests()]).then(([loadId, paths, guests]) =>
          loadId ? { request: guests.length ? { paths, guests } : { paths }, open: { ok: true, value: { loadId } } } : null,
        )),
      pickFiles: () => bridge.pickFiles(),
      onOpenPaths: (cb) => bridge.onOpenPaths(cb),
      onMenu: (cb) => bridge.onMenu(cb),
      dropFiles: (files) => bridge.dropFiles(files),
    };
  }
  const early = takeEarlyStart();
  const socket = await early.socket;
  let given = false;
  return {
    kind: 'browser',
    api: createClient(withEarlyAnswers(new SocketTransport(socketLike(socket), early.firstFreeId), early.answers)),
    initialPaths: async () => (await early.bootstrap).paths,
    initialGuests: async () => (await early.bootstrap).guests,
    startupLoad: async () => {
      if (given) return null;
      given = true;
      return early.first.catch(() => null);
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
