// Browser mode: serves the renderer bundle and the TraceApi over a WebSocket on 127.0.0.1 only.
// Every HTTP request and the WebSocket upgrade need the per-run token (query or cookie); the Host
// header must name the loopback listener (DNS rebinding), the upgrade's Origin must be ours, only
// files listed at startup are served (no path is ever joined from a URL), and a strict CSP is sent.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import type { OpenRequest, TraceApi } from '../../shared/contract.ts';
import { StartupLoad } from '../../shared/startup-load.ts';
import { decodeMessage, encodeMessage, MAX_REQUEST_BYTES, type RpcRequest, type RpcResponse } from '../../shared/wire.ts';
import { dispatch } from '../engine/service/dispatch.ts';
import { validateRequest } from '../engine/service/validate.ts';

export interface ServerOptions {
  api: TraceApi;
  /** Files the page opens at start (already granted to the service). */
  paths: string[];
  /** Guest trace -> VM hints passed on to open(). */
  guests?: { path: string; vm: string }[];
  /** 0 = any free port. */
  port: number;
  /** Folder with index.html and the bundle (default: dist/renderer). */
  rendererDir?: string;
  /** Fixed token (tests); default random per run. */
  token?: string;
  /**
   * Start loading `paths` now, while the page loads, and answer the first page's `open` of the
   * same files with that load (shared/startup-load.ts). Default false.
   */
  startupLoad?: boolean | 'page';
  /** An unclaimed startup load is released after this long (ms; default STARTUP_RELEASE_MS). */
  startupReleaseMs?: number;
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
};

/** dist/renderer beside the CLI bundle, or the repository's dist/renderer when run from source. */
export function defaultRendererDir(): string {
  const here = import.meta.url;
  return fileURLToPath(here.endsWith('.ts') ? new URL('../../dist/renderer/', here) : new URL('./renderer/', here));
}

function csp(port: number, inlineScript: string | null): string {
  return [
    "default-src 'none'",
    // An inline script is allowed by its hash only (the boot script inlined by inlineBoot).
    inlineScript ? `script-src 'self' '${inlineScript}'` : "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self' ws://127.0.0.1:${port} ws://localhost:${port}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The tag index.html loads the boot script with (renderer/public/index.html). */
const BOOT_TAG = '<script src="boot.js"></script>';

/**
 * The page as served: the boot script (renderer/boot.ts) and the bootstrap (the files to open)
 * inlined in place of the boot script's tag, so that the page connects and sends its first
 * requests while it parses the head, without waiting for two more round trips (boot.js,
 * /bootstrap.json) to a server that may be busy starting the load. The script stays classic and
 * ahead of the module app.js, so it still always runs first. The inline script is allowed by its
 * sha256 in the CSP (header and the page's meta tag), nothing else inline is; the bootstrap is a
 * JSON data block (never run) with '<' escaped, so a file name cannot close the element. Returns
 * null (serve index.html as it is) when the page or the script is not as expected.
 */
export function inlineBoot(html: string, bootJs: string, bootstrapJson: string): { html: string; hash: string } | null {
  if (!html.includes(BOOT_TAG) || /<\/script/i.test(bootJs) || !html.includes("script-src 'self'")) return null;
  const hash = `sha256-${createHash('sha256').update(bootJs, 'utf8').digest('base64')}`;
  const data = bootstrapJson.replace(/</g, '\\u003c');
  const page = html
    .replace("script-src 'self'", `script-src 'self' '${hash}'`)
    .replace(BOOT_TAG, () => `<script type="application/json" id="vcpuscope-bootstrap">${data}</script><script>${bootJs}</script>`);
  return { html: page, hash };
}

function sameToken(a: string | null | undefined, b: string): boolean {
  if (!a) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const dir = opts.rendererDir ?? defaultRendererDir();
  // The served set is fixed at startup: plain file names of the bundle folder, nothing joined from a URL.
  const files = new Map<string, { body: Buffer; type: string }>();
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch {
    throw new Error(`the renderer bundle is missing (${dir}): run \`npm run build\` first`);
  }
  for (const name of entries) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) continue;
    const p = join(dir, name);
    if (!statSync(p).isFile()) continue;
    files.set(`/${name}`, { body: readFileSync(p), type: MIME[extname(name)] ?? 'application/octet-stream' });
  }
  if (!files.has('/index.html')) throw new Error(`the renderer bundle has no index.html (${dir}): run \`npm run build\` first`);
  const bootstrap = Buffer.from(JSON.stringify({ paths: opts.paths, guests: opts.guests ?? [] }));
  const boot = files.get('/boot.js');
  const index = files.get('/index.html')!;
  const inlined = boot ? inlineBoot(index.body.toString('utf8'), boot.body.toString('utf8'), bootstrap.toString('utf8')) : null;
  if (inlined) files.set('/index.html', { body: Buffer.from(inlined.html), type: index.type });
  const scriptHash = inlined?.hash ?? null;
  // The page opens exactly what the bootstrap tells it (renderer/App.tsx startLoad).
  const guests = opts.guests ?? [];
  const startupRequest: OpenRequest = guests.length ? { paths: opts.paths, guests } : { paths: opts.paths };
  let startup = opts.startupLoad === true && opts.paths.length ? new StartupLoad(opts.api, startupRequest, opts.startupReleaseMs) : null;
  // 'page': started by the first tokened request of the page instead.
  const startOnPage = (): void => {
    if (opts.startupLoad === 'page' && !startup && opts.paths.length) startup = new StartupLoad(opts.api, startupRequest, opts.startupReleaseMs);
  };

  let port = 0;
  const cookieName = (): string => `vcpuscope_${port}`;
  const hostOk = (h: string | undefined): boolean => h === `127.0.0.1:${port}` || h === `localhost:${port}`;
  const originOk = (o: string | undefined): boolean => o === `http://127.0.0.1:${port}` || o === `http://localhost:${port}`;
  const authorized = (req: IncomingMessage, url: URL): boolean =>
    sameToken(url.searchParams.get('token'), token) || sameToken(cookieValue(req.headers.cookie, cookieName()), token);

  const security = (res: ServerResponse): void => {
    res.setHeader('Content-Security-Policy', csp(port, scriptHash));
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('X-Frame-Options', 'DENY');
  };
  const refuse = (res: ServerResponse, status: number, text: string): void => {
    security(res);
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(`${text}\n`);
  };

  const server: Server = createServer((req, res) => {
    if (!hostOk(req.headers.host)) return refuse(res, 421, 'vcpuscope: wrong Host (only 127.0.0.1 / localhost on this port)');
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'vcpuscope: method not allowed');
    let url: URL;
    try {
      url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    } catch {
      return refuse(res, 400, 'vcpuscope: bad request');
    }
    if (!authorized(req, url)) return refuse(res, 403, 'vcpuscope: token required: open the URL that `vcpuscope serve` printed');
    // The raw request path (not a decoded one) must equal a served name exactly.
    const raw = (req.url ?? '/').split('?')[0]!;
    if (url.searchParams.has('token')) {
      res.setHeader('Set-Cookie', `${cookieName()}=${token}; HttpOnly; SameSite=Strict; Path=/`);
    }
    if (raw === '/bootstrap.json') {
      security(res);
      res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' });
      res.end(req.method === 'HEAD' ? undefined : bootstrap);
      return;
    }
    if (raw === '/' || raw === '/index.html') startOnPage();
    const f = files.get(raw === '/' ? '/index.html' : raw);
    if (!f) return refuse(res, 404, 'vcpuscope: not found');
    security(res);
    res.writeHead(200, { 'Content-Type': f.type, 'Content-Length': f.body.length });
    res.end(req.method === 'HEAD' ? undefined : f.body);
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_REQUEST_BYTES });
  server.on('upgrade', (req, socket, head) => {
    // Node drops its own socket error listener once a socket is handed to 'upgrade': a client that
    // resets the connection mid-reply would otherwise crash the server with an unhandled error.
    socket.on('error', () => socket.destroy());
    const deny = (status: string): void => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    let url: URL;
    try {
      url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    } catch {
      return deny('400 Bad Request');
    }
    if (!hostOk(req.headers.host)) return deny('421 Misdirected Request');
    if (!originOk(req.headers.origin)) return deny('403 Forbidden');
    if (url.pathname !== '/rpc' || (req.url ?? '').split('?')[0] !== '/rpc') return deny('404 Not Found');
    if (!authorized(req, url)) return deny('403 Forbidden');
    wss.handleUpgrade(req, socket, head, (ws) => onClient(ws));
  });

  function onClient(ws: WebSocket): void {
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        ws.close(1003, 'binary frames only');
        return;
      }
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      let msg: RpcRequest;
      try {
        const m = decodeMessage(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), MAX_REQUEST_BYTES);
        if (!('method' in m)) throw new Error('wire: expected a request');
        msg = m;
      } catch (e) {
        ws.close(1007, (e as Error).message.slice(0, 120));
        return;
      }
      const reply = (res: RpcResponse | null): void => {
        if (res && ws.readyState === ws.OPEN) ws.send(encodeMessage(res));
      };
      // The first `open` of the command-line files gets the load started at startup.
      if (startup?.offered && msg.method === 'open' && Number.isSafeInteger(msg.id)) {
        const v = validateRequest('open', msg.req);
        const claimed = v.ok ? startup.claim(v.value.req as OpenRequest) : null;
        if (claimed) {
          const id = msg.id;
          void claimed.then((result) => reply({ id, result }));
          return;
        }
      }
      void dispatch(opts.api, msg).then(reply);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    close: async () => {
      await startup?.release();
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
