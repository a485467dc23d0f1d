// Browser-mode server security: token on every request and on the WebSocket, Host and Origin
// checks (DNS rebinding), path traversal (plain and encoded) refused, 127.0.0.1 only, CSP sent.
// Runs against a throwaway renderer folder and a fake TraceApi (no trace needed).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import type { TraceApi } from '../../shared/contract.ts';
import { ok } from '../../shared/result.ts';
import { decodeMessage, encodeMessage, type RpcResponse } from '../../shared/wire.ts';
import { startServer, type RunningServer } from './server.ts';

const dir = mkdtempSync(join(tmpdir(), 'vcpuscope-srv-'));
writeFileSync(join(dir, 'index.html'), '<!doctype html><p>app</p>');
writeFileSync(join(dir, 'app.js'), 'console.log(1)');
// A secret outside the served folder that traversal would reach.
const secretDir = mkdtempSync(join(tmpdir(), 'vcpuscope-secret-'));
writeFileSync(join(secretDir, 'secret.txt'), 'TOP SECRET');

const fakeApi = {
  async loadStatus(req: { loadId: string }) {
    return ok({ loadId: req.loadId, state: 'ready', phase: 'index', files: [], elapsedMs: 0 });
  },
} as unknown as TraceApi;

let srv: RunningServer;
before(async () => {
  srv = await startServer({ api: fakeApi, paths: ['/x/trace.dat'], port: 0, rendererDir: dir });
});
after(async () => {
  await srv.close();
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Raw HTTP (the path is sent exactly as given, no client-side normalisation). */
function get(path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: srv.port, path, method: 'GET', headers: { host: `127.0.0.1:${srv.port}`, ...headers } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const tok = (): string => `token=${srv.token}`;

test('the URL carries a long random token and points at 127.0.0.1', () => {
  assert.match(srv.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}$/);
});

test('every route refuses requests without the token', async () => {
  for (const p of ['/', '/index.html', '/app.js', '/bootstrap.json', '/nope']) {
    const r = await get(p);
    assert.equal(r.status, 403, p);
    assert.ok(!r.body.includes('app'), p);
  }
  assert.equal((await get(`/?token=${'x'.repeat(srv.token.length)}`)).status, 403);
  assert.equal((await get('/', { cookie: `vcpuscope_${srv.port}=wrong` })).status, 403);
});

test('with the token: the page, a CSP without unsafe-eval, and an HttpOnly cookie that works alone', async () => {
  const r = await get(`/?${tok()}`);
  assert.equal(r.status, 200);
  assert.match(r.body, /app/);
  const csp = String(r.headers['content-security-policy']);
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'/);
  assert.ok(!csp.includes('unsafe-eval') && !csp.includes('unsafe-inline'));
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  const cookie = String(r.headers['set-cookie']);
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  const c = cookie.split(';')[0]!;
  const js = await get('/app.js', { cookie: c });
  assert.equal(js.status, 200);
  assert.equal(js.body, 'console.log(1)');
  const boot = await get('/bootstrap.json', { cookie: c });
  assert.deepEqual(JSON.parse(boot.body), { paths: ['/x/trace.dat'], guests: [] });
});

test('a foreign Host header is refused even with the token (DNS rebinding)', async () => {
  for (const host of ['evil.example:80', `evil.example:${srv.port}`, `127.0.0.1.evil.example:${srv.port}`, '127.0.0.1', `0.0.0.0:${srv.port}`]) {
    const r = await get(`/?${tok()}`, { host });
    assert.equal(r.status, 421, host);
  }
  assert.equal((await get(`/?${tok()}`, { host: `localhost:${srv.port}` })).status, 200);
});

test('path traversal, plain and encoded, never reaches files outside the bundle', async () => {
  const rel = `..${secretDir}/secret.txt`;
  const attempts = [
    `/../../../../../../etc/passwd`,
    `/${rel}`,
    `/%2e%2e/%2e%2e/%2e%2e/etc/passwd`,
    `/%2e%2e%2f%2e%2e%2fetc%2fpasswd`,
    `/..%2f..%2f..%2fetc%2fpasswd`,
    `/%252e%252e/etc/passwd`,
    `/..\\..\\etc\\passwd`,
    `/app.js/../../etc/passwd`,
    `//etc/passwd`,
    `/.%2e/.%2e/etc/passwd`,
    `/index.html%00.js`,
    `/${encodeURIComponent(join(secretDir, 'secret.txt'))}`,
  ];
  for (const a of attempts) {
    const r = await get(`${a}?${tok()}`);
    assert.ok(r.status === 404 || r.status === 400, `${a} -> ${r.status}`);
    assert.ok(!r.body.includes('root:') && !r.body.includes('TOP SECRET'), a);
  }
});

test('only GET and HEAD are served', async () => {
  const status = await new Promise<number>((resolve) => {
    const req = request({ host: '127.0.0.1', port: srv.port, path: `/?${tok()}`, method: 'POST', headers: { host: `127.0.0.1:${srv.port}` } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.end('x');
  });
  assert.equal(status, 405);
});

function wsTry(path: string, headers: Record<string, string>): Promise<'open' | number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${srv.port}${path}`, { headers });
    ws.on('open', () => {
      ws.close();
      resolve('open');
    });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => resolve(-1));
  });
}

test('the WebSocket needs the token, our Origin and a loopback Host', async () => {
  const origin = `http://127.0.0.1:${srv.port}`;
  assert.equal(await wsTry('/rpc', { origin }), 403);
  assert.equal(await wsTry(`/rpc?${tok()}`, { origin: 'http://evil.example' }), 403);
  assert.equal(await wsTry(`/rpc?${tok()}`, {}), 403); // no Origin at all
  assert.equal(await wsTry(`/rpc?${tok()}`, { origin, host: `evil.example:${srv.port}` }), 421);
  assert.equal(await wsTry(`/other?${tok()}`, { origin }), 404);
  assert.equal(await wsTry(`/rpc?${tok()}`, { origin }), 'open');
  assert.equal(await wsTry('/rpc', { origin, cookie: `vcpuscope_${srv.port}=${srv.token}` }), 'open');
});

test('RPC over the WebSocket: a valid call answers, an invalid one gets a bad-request error', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/rpc?${tok()}`, { origin: `http://127.0.0.1:${srv.port}` });
  await new Promise((r) => ws.once('open', r));
  const call = (msg: Uint8Array): Promise<RpcResponse> =>
    new Promise((resolve) => {
      ws.once('message', (d: Buffer) => resolve(decodeMessage(new Uint8Array(d)) as RpcResponse));
      ws.send(msg);
    });
  const good = await call(encodeMessage({ id: 1, method: 'loadStatus', req: { loadId: 'abc' } }));
  assert.equal(good.id, 1);
  assert.ok(good.result.ok);
  const bad = await call(encodeMessage({ id: 2, method: 'loadStatus', req: { loadId: '../../etc' } }));
  assert.equal(bad.result.ok, false);
  assert.ok(!bad.result.ok && bad.result.error.code === 'bad-request');
  const unknown = await call(encodeMessage({ id: 3, method: 'constructor', req: {} }));
  assert.ok(!unknown.result.ok && unknown.result.error.code === 'bad-request');
  // a text frame closes the connection instead of being parsed
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  ws.send('{"id":4}');
  assert.equal(await closed, 1003);
});

test('listens on 127.0.0.1 only (not on other local addresses)', async () => {
  const { networkInterfaces } = await import('node:os');
  const others = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && a.family === 'IPv4' && !a.address.startsWith('127.'))
    .map((a) => a!.address);
  for (const addr of others) {
    const res = await new Promise<string>((resolve) => {
      const s = connect({ host: addr, port: srv.port });
      s.setTimeout(1000, () => {
        s.destroy();
        resolve('timeout');
      });
      s.on('connect', () => {
        s.destroy();
        resolve('connected');
      });
      s.on('error', () => resolve('refused'));
    });
    assert.notEqual(res, 'connected', addr);
  }
  const v6 = await new Promise<string>((resolve) => {
    const s = connect({ host: '::1', port: srv.port });
    s.on('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.on('error', () => resolve('refused'));
  });
  assert.equal(v6, 'refused');
});

test('clients that reset the connection in the middle of a refused upgrade do not crash the server', async () => {
  const attempts = 200;
  await Promise.all(
    Array.from(
      { length: attempts },
      () =>
        new Promise<void>((resolve) => {
          const s = connect(srv.port, '127.0.0.1', () => {
            s.write(`GET /rpc HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
            setImmediate(() => s.resetAndDestroy());
          });
          s.on('error', () => {});
          s.on('close', () => resolve());
        }),
    ),
  );
  // Still serving.
  const r = await get(`/?${tok()}`);
  assert.equal(r.status, 200);
});

/** A fake engine that records the calls of the startup-load protocol. */
function recordingApi(): { api: TraceApi; calls: string[] } {
  const calls: string[] = [];
  let n = 0;
  const api = {
    async open(req: { paths: string[] }) {
      calls.push(`open ${req.paths.join(',')}`);
      return ok({ loadId: `load${++n}` });
    },
    async loadStatus(req: { loadId: string }) {
      calls.push(`loadStatus ${req.loadId}`);
      return ok({ loadId: req.loadId, state: 'loading', phase: 'lanes', files: [], elapsedMs: 0, sessionId: `s-${req.loadId}` });
    },
    async closeSession(req: { sessionId: string }) {
      calls.push(`closeSession ${req.sessionId}`);
      return ok({ closed: true });
    },
    async cancelLoad(req: { loadId: string }) {
      calls.push(`cancelLoad ${req.loadId}`);
      return ok({ cancelled: true });
    },
  } as unknown as TraceApi;
  return { api, calls };
}

async function rpcClient(s: RunningServer): Promise<{ call: (method: string, req: unknown) => Promise<RpcResponse>; close: () => void }> {
  const ws = new WebSocket(`ws://127.0.0.1:${s.port}/rpc?token=${s.token}`, { origin: `http://127.0.0.1:${s.port}` });
  await new Promise((r) => ws.once('open', r));
  let id = 0;
  return {
    call: (method, req) =>
      new Promise((resolve) => {
        ws.once('message', (d: Buffer) => resolve(decodeMessage(new Uint8Array(d)) as RpcResponse));
        ws.send(encodeMessage({ id: ++id, method, req }));
      }),
    close: () => ws.close(),
  };
}

test('startup load: started before any page connects, handed to the first open of the same files only', async () => {
  const { api, calls } = recordingApi();
  const s = await startServer({ api, paths: ['/x/host.dat', '/x/guest.dat'], guests: [{ path: '/x/guest.dat', vm: '1234' }], port: 0, rendererDir: dir, startupLoad: true });
  try {
    assert.deepEqual(calls, ['open /x/host.dat,/x/guest.dat']); // before any client
    const c = await rpcClient(s);
    // other files, or the same files without the guest hint, are not the startup load
    const other = await c.call('open', { paths: ['/x/host.dat'] });
    assert.ok(other.result.ok && (other.result.value as { loadId: string }).loadId === 'load2');
    const first = await c.call('open', { paths: ['/x/host.dat', '/x/guest.dat'], guests: [{ path: '/x/guest.dat', vm: '1234' }] });
    assert.ok(first.result.ok && (first.result.value as { loadId: string }).loadId === 'load1');
    // once claimed, the next open of the same files (a reload, "Open again") is a new load
    const again = await c.call('open', { paths: ['/x/host.dat', '/x/guest.dat'], guests: [{ path: '/x/guest.dat', vm: '1234' }] });
    assert.ok(again.result.ok && (again.result.value as { loadId: string }).loadId === 'load3');
    // a malformed open still gets the validator's answer
    const bad = await c.call('open', { paths: 'nope' });
    assert.ok(!bad.result.ok && bad.result.error.code === 'bad-request');
    c.close();
  } finally {
    await s.close();
  }
  // claimed: closing the server does not touch the page's load
  assert.ok(!calls.some((x) => x.startsWith('closeSession') || x.startsWith('cancelLoad')), calls.join('; '));
});

test('startup load: released (session closed, load cancelled) when no page claims it in time', async () => {
  const { api, calls } = recordingApi();
  const s = await startServer({ api, paths: ['/x/trace.dat'], port: 0, rendererDir: dir, startupLoad: true, startupReleaseMs: 30 });
  try {
    for (let i = 0; i < 100 && !calls.includes('cancelLoad load1'); i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(calls, ['open /x/trace.dat', 'loadStatus load1', 'closeSession s-load1', 'cancelLoad load1']);
    // a page that comes later opens the files itself
    const c = await rpcClient(s);
    const late = await c.call('open', { paths: ['/x/trace.dat'] });
    assert.ok(late.result.ok && (late.result.value as { loadId: string }).loadId === 'load2');
    c.close();
  } finally {
    await s.close();
  }
});

test('startup load: off unless asked for; a server closed before any page releases it', async () => {
  const off = recordingApi();
  const s1 = await startServer({ api: off.api, paths: ['/x/trace.dat'], port: 0, rendererDir: dir });
  await s1.close();
  assert.deepEqual(off.calls, []);
  const on = recordingApi();
  const s2 = await startServer({ api: on.api, paths: ['/x/trace.dat'], port: 0, rendererDir: dir, startupLoad: true });
  await s2.close();
  assert.deepEqual(on.calls, ['open /x/trace.dat', 'loadStatus load1', 'closeSession s-load1', 'cancelLoad load1']);
});

test('inlineBoot: the boot script and the bootstrap go into the page, allowed by the script hash only', async () => {
  const { createHash } = await import('node:crypto');
  const { inlineBoot } = await import('./server.ts');
  const html = `<head><meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'self'" /><script src="boot.js"></script><script type="module" src="app.js"></script></head>`;
  const js = 'window.x=1;';
  const hostile = JSON.stringify({ paths: ['/t/</script><script>alert(1)</script>.dat'], guests: [] });
  const r = inlineBoot(html, js, hostile)!;
  const hash = `sha256-${createHash('sha256').update(js).digest('base64')}`;
  assert.equal(r.hash, hash);
  assert.ok(r.html.includes(`script-src 'self' '${hash}'`), 'the meta CSP allows that script');
  assert.ok(!r.html.includes('src="boot.js"'));
  assert.ok(r.html.indexOf(`<script>${js}</script>`) < r.html.indexOf('app.js'), 'still ahead of app.js');
  // the file name cannot close the data block: exactly the two script elements we put, plus app.js
  assert.equal(r.html.match(/<script/g)!.length, 3);
  const data = /<script type="application\/json" id="vcpuscope-bootstrap">(.*?)<\/script>/.exec(r.html)![1]!;
  assert.deepEqual(JSON.parse(data), JSON.parse(hostile));
  assert.equal(inlineBoot(html, 'a="</script>"', hostile), null, 'a script that would end its element is not inlined');
  assert.equal(inlineBoot('<p>no tag</p>', js, hostile), null);
});

test('the served page has the boot script inlined and the CSP header allows its hash, no other inline script', async () => {
  const d = mkdtempSync(join(tmpdir(), 'vcpuscope-srv-inline-'));
  writeFileSync(join(d, 'index.html'), `<!doctype html><meta http-equiv="Content-Security-Policy" content="script-src 'self'"><script src="boot.js"></script><script type="module" src="app.js"></script>`);
  writeFileSync(join(d, 'boot.js'), 'window.booted=1;');
  writeFileSync(join(d, 'app.js'), '');
  const s = await startServer({ api: fakeApi, paths: ['/x/a.dat'], port: 0, rendererDir: d, token: 't'.repeat(32) });
  try {
    const body = await new Promise<{ csp: string; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: s.port, path: `/?token=${s.token}`, headers: { host: `127.0.0.1:${s.port}` } }, (res) => {
        let b = '';
        res.on('data', (x: Buffer) => (b += x.toString()));
        res.on('end', () => resolve({ csp: String(res.headers['content-security-policy']), body: b }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.ok(body.body.includes('<script>window.booted=1;</script>'));
    assert.ok(body.body.includes('{"paths":["/x/a.dat"],"guests":[]}'));
    assert.match(body.csp, /script-src 'self' 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    assert.ok(!body.csp.includes('unsafe-inline'));
  } finally {
    await s.close();
  }
});
