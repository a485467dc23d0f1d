// Runs the real Electron main bundle (dist/app/main.js) against fake-electron.mjs, the real preload
// bundle (dist/app/preload.cjs) against a renderer-side stand-in, and the real engine bundle in a
// child process, then drives them as a user would: argv files, the engine port, RPCs through the
// preload's window.vcpuscope, the menu, the open dialog, dropped files, IPC from a foreign sender,
// window state, an engine crash, and closing the window. Started by electron-standin.test.ts as
// `node --import ./register.mjs driver.mjs <json>`; prints one line `STANDIN-RESULT <json>` and
// exits 0, or exits 1 with the failed check on stderr.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import Module from 'node:module';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { app } from 'electron'; // fake-electron.mjs, through register.mjs

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..');
const DIST_MAIN = join(ROOT, 'dist', 'app', 'main.js');
const PRELOAD = join(ROOT, 'dist', 'app', 'preload.cjs');
const cfg = JSON.parse(process.argv[2]);
// the stand-in's record (created when fake-electron.mjs was imported above)
const S = globalThis.__standin;
S.userData = cfg.userData;
S.dialogAnswer = null;
let releaseReady;
S.ready = new Promise((r) => (releaseReady = r));

const checks = [];
const check = (name, fn) => {
  fn();
  checks.push(name);
};
const until = async (what, pred, ms = 60_000) => {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

// ---- renderer side: the preload with a stand-in for contextBridge / ipcRenderer / webUtils ----
const exposed = {};
const rendererListeners = new Map();
S.toRenderer = (channel, event, ...args) => {
  for (const cb of rendererListeners.get(channel) ?? []) cb(event, ...args);
};
S.onPreload = (win) => {
  const fakeRendererElectron = {
    contextBridge: {
      exposeInMainWorld(key, api) {
        exposed[key] = api;
      },
    },
    ipcRenderer: {
      on(channel, cb) {
        if (!rendererListeners.has(channel)) rendererListeners.set(channel, []);
        rendererListeners.get(channel).push(cb);
      },
      async invoke(channel, ...args) {
        const h = S.ipcHandlers.get(channel);
        if (!h) throw new Error(`No handler registered for '${channel}'`);
        return h({ sender: win.webContents, senderFrame: { url: win.webContents.url } }, ...args);
      },
    },
    webUtils: { getPathForFile: (f) => f.path },
  };
  const load = Module._load;
  Module._load = function (request, ...rest) {
    if (request === 'electron') return fakeRendererElectron;
    return load.call(this, request, ...rest);
  };
  try {
    createRequire(import.meta.url)(PRELOAD);
  } finally {
    Module._load = load;
  }
};

const [host, guest, other, never] = cfg.files.map((f) => realpathSync(f));
process.argv = [process.execPath, DIST_MAIN, ...cfg.argv];
await import(pathToFileURL(DIST_MAIN).href);
releaseReady();
await until('the window', () => S.windows.length === 1);
const win = S.windows[0];
await until('the engine port in the renderer', () => (rendererListeners.get('vcpuscope:engine-port') ?? []).length > 0 && S.utilities.length === 1 && S.utilities[0].received.some((m) => m?.type === 'port'));
const engine = S.utilities[0];
const api = exposed.vcpuscope;
const result = { phase: cfg.phase };

check('window: secure webPreferences, the bundled preload, the renderer file', () => {
  const wp = win.opts.webPreferences;
  assert.equal(wp.contextIsolation, true);
  assert.equal(wp.sandbox, true);
  assert.equal(wp.nodeIntegration, false);
  assert.equal(wp.webSecurity, true);
  assert.equal(wp.preload, PRELOAD);
  assert.ok(existsSync(wp.preload));
  assert.equal(win.loadedFile, join(ROOT, 'dist', 'renderer', 'index.html'));
  assert.ok(win.shown, 'shown on ready-to-show');
});
check('preload exposes only the typed contract and the shell file actions', () => {
  assert.deepEqual(Object.keys(exposed), ['vcpuscope']);
  const required = ['call', 'dropFiles', 'initialGuests', 'initialPaths', 'onMenu', 'onOpenPaths', 'pickFiles'];
  const optional = ['startupLoad'];
  for (const k of required) assert.equal(typeof api[k], 'function', k);
  for (const k of Object.keys(api)) assert.ok(required.includes(k) || optional.includes(k), `unexpected member ${k} on window.vcpuscope`);
  for (const v of Object.values(api)) assert.equal(typeof v, 'function');
});
check('engine: the unpacked bundle in a utility process, granted the argv files before the renderer port', () => {
  assert.equal(engine.entry, join(ROOT, 'dist', 'engine-process.js'));
  const firstPort = engine.received.findIndex((m) => m?.type === 'port');
  for (const f of [host, guest]) {
    const i = engine.received.findIndex((m) => m?.type === 'allow' && m.path === f);
    assert.ok(i >= 0 && i < firstPort, `allow ${f} before the port`);
  }
});
check('security: CSP header, permissions denied, navigation and new windows blocked', () => {
  let headers = null;
  S.headersHandler({ responseHeaders: { 'X-Test': ['1'] } }, (r) => (headers = r.responseHeaders));
  assert.match(headers['Content-Security-Policy'][0], /default-src 'none'; script-src 'self'/);
  assert.deepEqual(headers['X-Test'], ['1']);
  let granted = null;
  S.permissionHandler(win.webContents, 'media', (g) => (granted = g));
  assert.equal(granted, false);
  for (const ev of ['will-navigate', 'will-redirect', 'will-attach-webview']) {
    let prevented = false;
    win.webContents.emit(ev, { preventDefault: () => (prevented = true) });
    assert.ok(prevented, `${ev} prevented`);
  }
  assert.deepEqual(win.webContents.windowOpenHandler({ url: 'https://example.org' }), { action: 'deny' });
});

const initial = await api.initialPaths();
check('initialPaths: the command-line files (real paths)', () => assert.deepEqual(initial.slice(0, 2), [host, guest]));

// IPC from anything but our page gets nothing.
const foreign = { sender: { id: 'other' }, senderFrame: { url: 'https://evil.example/' } };
const foreignAnswers = [
  await S.ipcHandlers.get('vcpuscope:initial-paths')(foreign),
  await S.ipcHandlers.get('vcpuscope:drop-files')(foreign, [other]),
  await S.ipcHandlers.get('vcpuscope:initial-paths')({ sender: win.webContents, senderFrame: { url: 'file:///tmp/other.html' } }),
];
check('IPC from a foreign sender or frame is refused', () => assert.deepEqual(foreignAnswers, [[], [], []]));

// RPCs through the preload to the real engine.
const bad = await api.call('deleteEverything', {});
check('unknown methods are refused in the preload', () => assert.equal(bad.ok, false));
const opened = await api.call('open', { paths: [host, guest] });
assert.equal(opened.ok, true, JSON.stringify(opened));
let status;
for (const t0 = Date.now(); ; ) {
  status = await api.call('loadStatus', { loadId: opened.value.loadId });
  assert.equal(status.ok, true, JSON.stringify(status));
  if (status.value.state !== 'loading') break;
  if (Date.now() - t0 > 120_000) throw new Error('load did not finish');
  await new Promise((r) => setTimeout(r, 50));
}
check('open of the argv files through the preload: ready', () => assert.equal(status.value.state, 'ready', JSON.stringify(status.value)));
const info = await api.call('sessionInfo', { sessionId: status.value.sessionId });
assert.equal(info.ok, true);
const rows = await api.call('rows', { sessionId: status.value.sessionId, filter: {}, start: 0, count: 40 });
check('sessionInfo and rows answered by the engine (two files, a VM, Arrow bytes)', () => {
  assert.equal(info.value.complete, true);
  assert.equal(info.value.files.length, 2);
  assert.ok(info.value.rowCount > 1000, `rowCount ${info.value.rowCount}`);
  assert.ok((info.value.vms ?? []).length >= 1, 'a VM paired');
  assert.equal(rows.ok, true);
  assert.ok(rows.value instanceof Uint8Array && rows.value.byteLength > 1000, 'Arrow IPC bytes arrive as a Uint8Array');
});
result.rowCount = info.value.rowCount;

// A file the user never chose cannot be opened; dropping it grants it.
const refused = await api.call('open', { paths: [never] });
check('a file not chosen by the user is refused by the engine', () => assert.equal(refused.ok === false && refused.error.code, 'forbidden'));
if (cfg.phase === 2) {
  const recentOpen = await api.call('open', { paths: [other] });
  check('a recent file (dropped in the previous run) is granted again', () => assert.equal(recentOpen.ok, true, JSON.stringify(recentOpen)));
}
const dropped = await api.dropFiles([{ path: other }, { path: 'relative/path.dat' }, { path: '/nonexistent/x.dat' }]);
check('dropped files: checked, granted, recorded as recent', () => {
  assert.deepEqual(dropped, [other]);
  assert.ok(S.recentDocs.includes(other));
  assert.ok(engine.received.some((m) => m?.type === 'allow' && m.path === other));
});
assert.deepEqual(await api.dropFiles(Array.from({ length: 17 }, () => ({ path: other }))), [], 'more than 16 dropped files are refused');
const reopened = await api.call('open', { paths: [other] });
check('a dropped file opens', () => assert.equal(reopened.ok, true, JSON.stringify(reopened)));

// Menu: File / View / Help, Open… through the dialog, Export through the renderer.
const labels = (items) => items.map((i) => i.label ?? i.role ?? i.type);
const file = S.menu.find((m) => m.label === 'File');
check('menu: File (Open…, Open Recent, Close, Export view…), View, Help', () => {
  assert.deepEqual(labels(S.menu), ['File', 'View', 'Help']);
  for (const l of ['Open…', 'Open Recent', 'Close', 'Export view…']) assert.ok(labels(file.submenu).includes(l), l);
  const recent = file.submenu.find((i) => i.label === 'Open Recent').submenu;
  assert.ok(labels(recent).includes(other), 'Open Recent lists the dropped file');
  if (cfg.phase === 2) assert.ok(labels(recent).includes(cfg.recentFromPhase1), 'Open Recent remembers the previous run');
});
const menuEvents = [];
api.onMenu((w) => menuEvents.push(w));
const openedPaths = [];
api.onOpenPaths((p) => openedPaths.push(p));
file.submenu.find((i) => i.label === 'Export view…').click();
S.dialogAnswer = { canceled: false, filePaths: [host] };
file.submenu.find((i) => i.label === 'Open…').click();
await until('menu events in the renderer', () => menuEvents.length === 1 && openedPaths.length === 1);
check('menu clicks reach the renderer (export, Open… via the dialog)', () => {
  assert.deepEqual(menuEvents, ['export']);
  assert.deepEqual(openedPaths, [[host]]);
  assert.deepEqual(S.lastOpenDialog.properties, ['openFile', 'multiSelections']);
});

if (cfg.phase === 1) {
  // The engine dies: pending and later calls must not hang.
  const pending = api.call('sessionInfo', { sessionId: status.value.sessionId });
  engine.kill();
  const afterCrash = await Promise.race([pending, new Promise((r) => setTimeout(() => r('hung'), 10_000))]);
  check('an engine crash answers the pending call with disconnected', () => assert.equal(afterCrash !== 'hung' && afterCrash.ok === false && afterCrash.error.code, 'disconnected'));
  const later = await Promise.race([api.call('loadStatus', { loadId: opened.value.loadId }), new Promise((r) => setTimeout(() => r('hung'), 20_000))]);
  result.callAfterCrash = later === 'hung' ? 'hung' : later.ok ? 'answered' : later.error.code;
  if (later !== 'hung') {
    // a new engine: the argv files open again
    const again = await api.call('open', { paths: [host, guest] });
    assert.equal(again.ok, true, JSON.stringify(again));
    let st;
    for (const t0 = Date.now(); ; ) {
      st = await api.call('loadStatus', { loadId: again.value.loadId });
      if (!st.ok || st.value.state !== 'loading' || Date.now() - t0 > 120_000) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    check('after an engine crash a new engine serves the window (the files open again)', () => assert.equal(st.ok && st.value.state, 'ready', JSON.stringify(st)));
    // a crash loop: the main process stops restarting, and calls are answered at once instead of waiting
    for (let k = 0; k < 3; k++) {
      const n = S.utilities.length;
      S.utilities[n - 1].kill();
      await until('the engine exit', () => S.utilities[n - 1].exitCode !== undefined, 20_000);
      await new Promise((r) => setTimeout(r, 50));
    }
    const gone = await Promise.race([api.call('sessionInfo', { sessionId: 'x' }), new Promise((r) => setTimeout(() => r('hung'), 10_000))]);
    check('an engine that keeps crashing is restarted 3 times a minute at most, then calls fail at once', () => {
      assert.equal(S.utilities.length, 4, 'the first engine and 3 restarts; the 4th exit within a minute is not restarted');
      assert.equal(gone !== 'hung' && gone.ok === false && gone.error.code, 'disconnected');
    });
  }
}

// Window state: the user resized it; closing saves it (the next run restores it), and closing the
// last window shuts the engine down and quits.
win.standinSetBounds(cfg.bounds);
win.close();
check('closing saves the window state', () => assert.deepEqual(JSON.parse(readFileSync(join(cfg.userData, 'window-state.json'), 'utf8')), { ...cfg.bounds, maximized: false }));
if (cfg.phase === 2) {
  check('the window opens with the saved bounds', () => assert.deepEqual(win.opts.width === cfg.restored.width && win.opts.height === cfg.restored.height && win.opts.x === cfg.restored.x && win.opts.y === cfg.restored.y, true));
  await until('the engine to exit after shutdown', () => S.utilities.every((u) => u.exitCode !== undefined), 20_000);
  check('closing the last window stops the engine and quits', () => {
    assert.ok(S.utilities.every((u) => u.exitCode === 0), 'the engine exits 0 on shutdown');
    assert.ok(app.quitCalled, 'app.quit()');
  });
}
for (const u of S.utilities) if (u.exitCode === undefined) u.kill();
result.checks = checks;
process.stdout.write(`STANDIN-RESULT ${JSON.stringify(result)}\n`);
process.exit(0);
