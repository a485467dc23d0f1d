// Electron main process: one window (bounds restored), native menu, open dialog, Open Recent,
// drag-and-drop and command-line files, and the engine in a utilityProcess connected to the
// renderer by a MessagePort. The only code importing 'electron'. Security: contextIsolation,
// sandbox, no nodeIntegration, CSP (renderer/public/index.html meta + header), navigation and
// window.open blocked, permissions denied, IPC sender checked, paths from the renderer checked.

import { app, BrowserWindow, dialog, ipcMain, Menu, MessageChannelMain, session, shell, utilityProcess, type IpcMainInvokeEvent, type MenuItemConstructorOptions, type UtilityProcess } from 'electron';
import { existsSync, readFileSync, realpathSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { OpenRequest } from '../../shared/contract.ts';
import { err, type Result } from '../../shared/result.ts';
import { StartupLoad, type StartupApi } from '../../shared/startup-load.ts';
import type { RpcResponse } from '../../shared/wire.ts';
import { unpackedPath } from './paths.ts';

const here = dirname(fileURLToPath(import.meta.url)); // dist/app
const rendererIndex = join(here, '..', 'renderer', 'index.html');
const rendererUrl = pathToFileURL(rendererIndex).href;
// Packaged: the engine (and the ingest workers it starts beside itself) run from app.asar.unpacked.
const engineEntry = unpackedPath(join(here, '..', 'engine-process.js'));
const MAX_RECENT = 10;

let win: BrowserWindow | null = null;
let engine: UtilityProcess | null = null;
let initialPaths: string[] = [];
/** `--guest=FILE@VM` on the command line: which VM of the host trace a guest trace belongs to. */
let initialGuests: { path: string; vm: string }[] = [];
/** The command-line files' load, started with the engine (shared/startup-load.ts); the window's first ask takes it. */
let startup: StartupLoad | null = null;

// ---- state files (window bounds, recent files) in the user data folder ----
function stateFile(name: string): string {
  return join(app.getPath('userData'), name);
}
function readJson<T>(name: string, fallback: T): T {
  try {
    return JSON.parse(readFileSync(stateFile(name), 'utf8')) as T;
  } catch {
    return fallback;
  }
}
function writeJson(name: string, v: unknown): void {
  try {
    mkdirSync(app.getPath('userData'), { recursive: true });
    writeFileSync(stateFile(name), JSON.stringify(v));
  } catch {
    /* state is a convenience; never fail the app for it */
  }
}

interface Bounds {
  x?: number;
  y?: number;
  width: number;
  height: number;
  maximized?: boolean;
}

/** A regular, existing file given as an absolute path; its real path, or null. */
function checkedPath(p: unknown): string | null {
  if (typeof p !== 'string' || p.length === 0 || p.length > 4096 || p.includes('\0') || !isAbsolute(p)) return null;
  try {
    const rp = realpathSync(p);
    return statSync(rp).isFile() ? rp : null;
  } catch {
    return null;
  }
}

function grant(paths: string[]): string[] {
  const ok = paths.map(checkedPath).filter((p): p is string => p !== null);
  for (const p of ok) engine?.postMessage({ type: 'allow', path: p });
  if (ok.length) {
    const recent = readJson<string[]>('recent.json', []).filter((r) => !ok.includes(r));
    writeJson('recent.json', [...ok, ...recent].slice(0, MAX_RECENT));
    for (const p of ok) app.addRecentDocument(p);
    buildMenu();
  }
  return ok;
}

function openInWindow(paths: string[]): void {
  const ok = grant(paths);
  if (ok.length && win) win.webContents.send('vcpuscope:open-paths', ok);
}

async function pickFiles(): Promise<string[] | null> {
  if (!win) return null;
  const r = await dialog.showOpenDialog(win, {
    title: 'Open traces (host and/or guest)',
    properties: ['openFile', 'multiSelections'],
    filters: [
      { name: 'Traces', extensions: ['dat', 'txt', 'trace', 'xentrace', 'gz', 'html'] },
      { name: 'All files', extensions: ['*'] },
    ],
  });
  if (r.canceled) return null;
  return grant(r.filePaths);
}

// ---- engine ----
/** Times (ms) of the engine's restarts after unexpected exits: at most MAX_RESTARTS a minute (no crash loop). */
let restarts: number[] = [];
const MAX_RESTARTS = 3;
let shuttingDown = false;

function startEngine(): void {
  const e = utilityProcess.fork(engineEntry, [], { serviceName: 'vcpuscope engine', stdio: 'inherit' });
  engine = e;
  e.on('exit', () => {
    if (engine !== e) return;
    engine = null;
    // The startup load lived in that engine: nothing can claim it any more.
    startup = null;
    if (!win || shuttingDown) return;
    // It stopped on its own (crash, out of memory, killed): start a new one and give the window its
    // port, so the app keeps working (the renderer's pending calls are answered 'disconnected').
    const now = Date.now();
    restarts = restarts.filter((t) => now - t < 60_000);
    const restarting = restarts.length < MAX_RESTARTS;
    win.webContents.send('vcpuscope:engine-exit', { restarting });
    if (restarting) {
      restarts.push(now);
      connectEngine();
    }
  });
}

/** The main process's own TraceApi client on a MessagePort to the engine (only what the startup load needs). */
function engineClient(): StartupApi {
  const { port1, port2 } = new MessageChannelMain();
  engine!.postMessage({ type: 'port' }, [port1]);
  const pending = new Map<number, (r: Result<unknown>) => void>();
  let next = 1;
  // an engine that stops never answers: a claim in flight (the window's startupLoad()) must not wait forever
  engine!.on('exit', () => {
    for (const cb of pending.values()) cb(err({ code: 'disconnected', message: 'the engine process stopped' }));
    pending.clear();
  });
  port2.on('message', (e) => {
    const r = e.data as RpcResponse;
    const cb = typeof r?.id === 'number' ? pending.get(r.id) : undefined;
    if (!cb) return;
    pending.delete(r.id);
    cb(r.result);
  });
  port2.start();
  const call = (method: string) => (req: unknown) =>
    new Promise<Result<unknown>>((resolve) => {
      const id = next++;
      pending.set(id, resolve);
      port2.postMessage({ id, method, req });
    });
  return { open: call('open'), loadStatus: call('loadStatus'), cancelLoad: call('cancelLoad'), closeSession: call('closeSession') } as unknown as StartupApi;
}

function connectEngine(): void {
  if (!win) return;
  if (!engine) startEngine();
  const { port1, port2 } = new MessageChannelMain();
  engine!.postMessage({ type: 'port' }, [port1]);
  // Grants survive a renderer reload: re-send what this window may open.
  for (const p of readJson<string[]>('recent.json', [])) if (checkedPath(p)) engine!.postMessage({ type: 'allow', path: p });
  for (const p of initialPaths) engine!.postMessage({ type: 'allow', path: p });
  win.webContents.postMessage('vcpuscope:engine-port', null, [port2]);
}

// ---- IPC (only from our own page) ----
function fromOurPage(e: IpcMainInvokeEvent): boolean {
  return win !== null && e.sender === win.webContents && e.senderFrame?.url === rendererUrl;
}

ipcMain.handle('vcpuscope:initial-paths', (e) => (fromOurPage(e) ? initialPaths : []));
ipcMain.handle('vcpuscope:initial-guests', (e) => (fromOurPage(e) ? initialGuests : []));
// The load started at launch for the command-line files: its loadId, once (a reload opens them itself).
ipcMain.handle('vcpuscope:startup-load', async (e) => {
  if (!fromOurPage(e) || !startup) return null;
  const r = await startup.claim(startup.request);
  return r?.ok ? r.value.loadId : null;
});
ipcMain.handle('vcpuscope:pick-files', (e) => (fromOurPage(e) ? pickFiles() : null));
ipcMain.handle('vcpuscope:drop-files', (e, paths: unknown) => {
  if (!fromOurPage(e) || !Array.isArray(paths) || paths.length > 16) return [];
  return grant(paths as unknown[] as string[]);
});

// ---- window and menu ----
function createWindow(): void {
  const b = readJson<Bounds>('window-state.json', { width: 1400, height: 900 });
  win = new BrowserWindow({
    ...(b.x !== undefined && b.y !== undefined ? { x: b.x, y: b.y } : {}),
    width: Math.max(800, b.width),
    height: Math.max(500, b.height),
    title: 'vcpuscope',
    show: false,
    webPreferences: {
      preload: join(here, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  });
  if (b.maximized) win.maximize();
  win.once('ready-to-show', () => win?.show());
  win.on('close', () => {
    if (!win) return;
    writeJson('window-state.json', { ...win.getNormalBounds(), maximized: win.isMaximized() });
  });
  win.on('closed', () => {
    win = null;
  });
  win.webContents.on('did-finish-load', () => connectEngine());
  void win.loadFile(rendererIndex);
}

function buildMenu(): void {
  const recent = readJson<string[]>('recent.json', []).filter((p) => existsSync(p));
  const send = (what: string) => () => win?.webContents.send('vcpuscope:menu', what);
  const template: MenuItemConstructorOptions[] = [
    {
      label: 'File',
      submenu: [
        { label: 'Open…', accelerator: 'CmdOrCtrl+O', click: () => void pickFiles().then((p) => p?.length && win?.webContents.send('vcpuscope:open-paths', p)) },
        {
          label: 'Open Recent',
          submenu: recent.length
            ? [...recent.map((p) => ({ label: p, click: () => openInWindow([p]) })), { type: 'separator' as const }, { label: 'Clear', click: () => (writeJson('recent.json', []), buildMenu()) }]
            : [{ label: '(none)', enabled: false }],
        },
        { label: 'Close', accelerator: 'CmdOrCtrl+W', click: () => win?.close() },
        { type: 'separator' },
        { label: 'Export view…', accelerator: 'CmdOrCtrl+E', click: send('export') },
        { type: 'separator' },
        { role: 'quit' },
      ],
    },
    {
      label: 'View',
      submenu: [
        { label: 'Larger text', accelerator: 'CmdOrCtrl+=', click: send('font+') },
        { label: 'Smaller text', accelerator: 'CmdOrCtrl+-', click: send('font-') },
        { label: 'Toggle dark theme', accelerator: 'CmdOrCtrl+Shift+D', click: send('theme') },
        { type: 'separator' },
        { role: 'togglefullscreen' },
        ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' as const }]),
      ],
    },
    {
      label: 'Help',
      submenu: [
        { label: 'About vcpuscope', click: () => void dialog.showMessageBox({ message: `vcpuscope ${app.getVersion()}`, detail: 'Threads on vCPUs, vCPUs on physical cores: both scheduling layers at once.' }) },
        { label: 'Documentation', click: () => void shell.openExternal('https://github.com/vcpuscope/vcpuscope#readme') },
      ],
    },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

// Every web contents: no navigation, no new windows, no webviews.
app.on('web-contents-created', (_e, contents) => {
  contents.on('will-navigate', (ev) => ev.preventDefault());
  contents.on('will-redirect', (ev) => ev.preventDefault());
  contents.on('will-attach-webview', (ev) => ev.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
});

function argvGuests(argv: string[]): { path: string; vm: string }[] {
  const out: { path: string; vm: string }[] = [];
  for (const a of argv) {
    if (!a.startsWith('--guest=')) continue;
    const v = a.slice('--guest='.length);
    const at = v.lastIndexOf('@');
    const p = at > 0 ? checkedPath(isAbsolute(v.slice(0, at)) ? v.slice(0, at) : join(process.cwd(), v.slice(0, at))) : null;
    if (p) out.push({ path: p, vm: v.slice(at + 1, at + 65) });
  }
  return out;
}

// Files from the command line: `vcpuscope-app file...` (packaged) or `electron dist/app/main.js file...`.
function argvFiles(argv: string[]): string[] {
  const args = argv.slice(app.isPackaged ? 1 : 2).filter((a) => !a.startsWith('-'));
  return args.map((a) => checkedPath(isAbsolute(a) ? a : join(process.cwd(), a))).filter((p): p is string => p !== null);
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', (_e, argv) => {
    const files = argvFiles(argv);
    if (files.length) openInWindow(files);
    win?.focus();
  });
  app.on('open-file', (e, p) => {
    e.preventDefault();
    if (win) openInWindow([p]);
    else initialPaths.push(p);
  });
  void app.whenReady().then(() => {
    session.defaultSession.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));
    session.defaultSession.webRequest.onHeadersReceived((details, cb) => {
      cb({
        responseHeaders: {
          ...details.responseHeaders,
          'Content-Security-Policy': ["default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'"],
        },
      });
    });
    initialGuests = argvGuests(process.argv);
    initialPaths = [...initialPaths, ...argvFiles(process.argv), ...initialGuests.map((g) => g.path)].filter((p, i, a) => a.indexOf(p) === i);
    startEngine();
    for (const p of initialPaths) engine?.postMessage({ type: 'allow', path: p });
    // Start loading the command-line files now, while the window and the renderer bundle load (as
    // `vcpuscope serve` does: main/cli/commands/serve.ts startupLoadMode; VCPUSCOPE_STARTUP_LOAD=0 turns it off).
    const startupOn = process.env.VCPUSCOPE_STARTUP_LOAD !== '0';
    if (startupOn && initialPaths.length && engine) {
      const req: OpenRequest = initialGuests.length ? { paths: initialPaths, guests: initialGuests } : { paths: initialPaths };
      startup = new StartupLoad(engineClient(), req);
    }
    buildMenu();
    createWindow();
  });
  app.on('window-all-closed', () => {
    shuttingDown = true;
    engine?.postMessage({ type: 'shutdown' });
    app.quit();
  });
}
