// A stand-in for the parts of Electron's main-process API that main/app/main.ts uses, recording what
// the app does into globalThis.__standin for the driver (driver.mjs) to check. utilityProcess.fork
// starts a real child process (the real engine bundle) with engine-shim.mjs providing parentPort;
// MessageChannelMain ports are entangled in this process or carried to that child over IPC.
import { EventEmitter } from 'node:events';
import { fork } from 'node:child_process';
import { pathToFileURL } from 'node:url';

const S = (globalThis.__standin ??= {});
S.windows ??= [];
S.ipcHandlers ??= new Map();
S.utilities ??= [];
S.recentDocs ??= [];
S.externalUrls ??= [];
S.ready ??= Promise.resolve();

class FakeApp extends EventEmitter {
  isPackaged = false;
  quitCalled = false;
  getPath(name) {
    if (name !== 'userData') throw new Error(`stand-in: app.getPath(${name}) not modelled`);
    return S.userData;
  }
  getVersion() {
    return '0.0.0-standin';
  }
  addRecentDocument(p) {
    S.recentDocs.push(p);
  }
  requestSingleInstanceLock() {
    return true;
  }
  whenReady() {
    return S.ready;
  }
  quit() {
    this.quitCalled = true;
  }
}
export const app = new FakeApp();

let nextPortId = 1;
class FakePortMain extends EventEmitter {
  partner = null;
  /** Set when this port's partner was transferred to a utility process: {child: FakeUtility, id}. */
  remote = null;
  onmessage = null;
  started = false;
  postMessage(data) {
    if (this.remote) this.remote.child.send({ k: 'port', id: this.remote.id, data });
    else {
      const p = this.partner;
      setImmediate(() => p.deliver(data));
    }
  }
  deliver(data) {
    this.emit('message', { data });
    this.onmessage?.({ data });
  }
  start() {
    this.started = true;
  }
  close() {}
}

export class MessageChannelMain {
  constructor() {
    this.port1 = new FakePortMain();
    this.port2 = new FakePortMain();
    this.port1.partner = this.port2;
    this.port2.partner = this.port1;
  }
}

class FakeUtility extends EventEmitter {
  constructor(entry, args, opts) {
    super();
    this.entry = entry;
    this.opts = opts;
    this.received = [];
    this.ports = new Map();
    this.child = fork(entry, args, {
      execArgv: ['--import', new URL('./engine-shim.mjs', import.meta.url).href],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, ...(S.engineEnv ?? {}) },
    });
    this.child.on('message', (m) => {
      if (m.k === 'port') this.ports.get(m.id)?.deliver(m.data);
    });
    this.child.on('exit', (code, signal) => {
      this.exitCode = code ?? signal;
      this.emit('exit', code ?? 1);
    });
  }
  postMessage(data, transfer = []) {
    const portIds = [];
    for (const port of transfer) {
      // The transferred port lives in the child now; its partner stays here and talks over IPC.
      const id = nextPortId++;
      this.ports.set(id, port.partner);
      port.partner.remote = { child: this, id };
      portIds.push(id);
    }
    this.received.push(data);
    if (this.child.connected) this.child.send({ k: 'parent', data, portIds });
  }
  send(m) {
    if (this.child.connected) this.child.send(m);
  }
  kill() {
    return this.child.kill('SIGKILL');
  }
}

export const utilityProcess = {
  fork(entry, args, opts) {
    const u = new FakeUtility(entry, args ?? [], opts ?? {});
    S.utilities.push(u);
    return u;
  },
};

class FakeWebContents extends EventEmitter {
  url = '';
  windowOpenHandler = null;
  constructor(win) {
    super();
    this.win = win;
  }
  send(channel, ...args) {
    S.toRenderer?.(channel, { ports: [] }, ...args);
  }
  postMessage(channel, message, transfer = []) {
    S.toRenderer?.(channel, { ports: transfer }, message);
  }
  setWindowOpenHandler(h) {
    this.windowOpenHandler = h;
  }
}

export class BrowserWindow extends EventEmitter {
  constructor(opts) {
    super();
    this.opts = opts;
    this.bounds = { x: opts.x ?? 0, y: opts.y ?? 0, width: opts.width, height: opts.height };
    this.maximized = false;
    this.shown = false;
    this.destroyed = false;
    this.webContents = new FakeWebContents(this);
    S.windows.push(this);
    app.emit('web-contents-created', {}, this.webContents);
  }
  loadFile(file) {
    this.loadedFile = file;
    this.webContents.url = pathToFileURL(file).href;
    // As Electron: the preload runs before the page, then the page loads.
    setImmediate(() => {
      S.onPreload?.(this);
      this.webContents.emit('did-finish-load');
      this.emit('ready-to-show');
    });
    return Promise.resolve();
  }
  maximize() {
    this.maximized = true;
  }
  isMaximized() {
    return this.maximized;
  }
  show() {
    this.shown = true;
  }
  focus() {}
  getNormalBounds() {
    return { ...this.bounds };
  }
  /** Stand-in only: the user moved / resized the window. */
  standinSetBounds(b) {
    this.bounds = { ...b };
  }
  close() {
    const ev = { defaultPrevented: false, preventDefault() { this.defaultPrevented = true; } };
    this.emit('close', ev);
    if (ev.defaultPrevented) return;
    this.destroyed = true;
    this.emit('closed');
    S.windows = S.windows.filter((w) => w !== this);
    if (S.windows.length === 0) app.emit('window-all-closed');
  }
}

export const ipcMain = {
  handle(channel, fn) {
    if (S.ipcHandlers.has(channel)) throw new Error(`stand-in: a second handler for ${channel}`);
    S.ipcHandlers.set(channel, fn);
  },
};

export const dialog = {
  async showOpenDialog(_win, opts) {
    S.lastOpenDialog = opts;
    return S.dialogAnswer ?? { canceled: true, filePaths: [] };
  },
  async showMessageBox(opts) {
    S.lastMessageBox = opts;
    return { response: 0 };
  },
};

export const Menu = {
  buildFromTemplate(template) {
    return { template };
  },
  setApplicationMenu(menu) {
    S.menu = menu.template;
  },
};

export const session = {
  defaultSession: {
    setPermissionRequestHandler(fn) {
      S.permissionHandler = fn;
    },
    webRequest: {
      onHeadersReceived(fn) {
        S.headersHandler = fn;
      },
    },
  },
};

export const shell = {
  async openExternal(url) {
    S.externalUrls.push(url);
  },
};

export default { app, BrowserWindow, dialog, ipcMain, Menu, MessageChannelMain, session, shell, utilityProcess };
