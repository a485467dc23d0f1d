// The packaged app's layout, checked without an Electron runtime (none can be downloaded here):
// electron-builder packs the real dist/ into an unpacked Linux app (`--linux dir`) around a stand-in
// Electron folder (`electronDist`), then this test checks what the app would load and runs the
// packaged engine bundle — from resources/app.asar.unpacked, as main/app/main.ts starts it — under
// plain Node on a generated host + guest pair large enough that ingest starts worker threads from
// files beside the engine. What it cannot check: Electron itself (utilityProcess, the window, IPC).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { unpackedPath } from '../../main/app/paths.ts';
import { INLINE_BELOW_BYTES } from '../../main/engine/index/ingest.ts';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);

test('unpackedPath maps app.asar members to app.asar.unpacked and leaves other paths alone', () => {
  const s = path.sep;
  assert.equal(unpackedPath(`${s}opt${s}vcpuscope${s}resources${s}app.asar${s}dist${s}engine-process.js`), `${s}opt${s}vcpuscope${s}resources${s}app.asar.unpacked${s}dist${s}engine-process.js`);
  assert.equal(unpackedPath(`${s}work${s}main${s}dist${s}engine-process.js`), `${s}work${s}main${s}dist${s}engine-process.js`);
  assert.equal(unpackedPath(`${s}x${s}app.asar.unpacked${s}dist${s}a.js`), `${s}x${s}app.asar.unpacked${s}dist${s}a.js`);
});

interface Rpc {
  rpc?: { id: number; result: { ok: boolean; value?: unknown; error?: { message: string } } };
}

test('electron-builder packs dist/ into app.asar with the engine and worker unpacked, and the packaged engine indexes with workers', { timeout: 300_000 }, async () => {
  for (const f of ['dist/app/main.js', 'dist/app/preload.cjs', 'dist/engine-process.js', 'dist/ingest-worker.js', 'dist/package.json', 'dist/renderer/index.html'])
    assert.ok(fs.existsSync(path.join(ROOT, f)), `${f} is missing: run npm run build first`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-pkg-'));
  try {
    // A stand-in for Electron's unpacked distribution: electron-builder copies it and renames `electron`.
    const fake = path.join(tmp, 'electron-dist');
    fs.mkdirSync(path.join(fake, 'resources'), { recursive: true });
    fs.writeFileSync(path.join(fake, 'electron'), '#!/bin/sh\necho "stand-in for Electron (package test)"\n', { mode: 0o755 });
    const out = path.join(tmp, 'release');
    const eb = spawnSync(process.execPath, [require.resolve('electron-builder/cli.js'), '--linux', 'dir', '--config', 'electron-builder.yml', `-c.electronDist=${fake}`, `-c.directories.output=${out}`], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1', CI: 'true' },
    });
    assert.equal(eb.status, 0, `electron-builder failed:\n${eb.stdout}\n${eb.stderr}`);
    const resources = path.join(out, 'linux-unpacked', 'resources');
    assert.ok(fs.existsSync(path.join(out, 'linux-unpacked', 'vcpuscope')), 'the executable is named after productName');

    // What is inside the archive: the whole app, no node_modules (every entry is a bundle).
    const asar = require('@electron/asar') as { listPackage(p: string): string[] };
    const members = asar.listPackage(path.join(resources, 'app.asar')).map((m) => m.split(path.sep).join('/'));
    for (const m of ['/package.json', '/dist/app/main.js', '/dist/app/preload.cjs', '/dist/renderer/index.html', '/dist/renderer/app.js', '/dist/renderer/styles.css'])
      assert.ok(members.includes(m), `app.asar lacks ${m}`);
    assert.ok(!members.some((m) => m.startsWith('/node_modules')), 'app.asar carries node_modules although every entry is bundled');
    const pkg = JSON.parse(asarExtract(asar, path.join(resources, 'app.asar'), 'package.json')) as { main?: string; type?: string };
    assert.equal(pkg.main, 'dist/app/main.js');
    assert.equal(pkg.type, 'module');

    // The engine as main.ts resolves it: beside dist/app/main.js inside the archive, mapped to the unpacked twin.
    const engine = unpackedPath(path.join(resources, 'app.asar', 'dist', 'app', '..', 'engine-process.js'));
    assert.ok(engine.includes(`app.asar.unpacked${path.sep}`), engine);
    for (const f of ['engine-process.js', 'ingest-worker.js', 'package.json']) assert.ok(fs.existsSync(path.join(path.dirname(engine), f)), `app.asar.unpacked/dist/${f} missing`);

    // A host + guest pair, the host larger than the inline threshold so that ingest uses worker threads.
    const gen = path.join(tmp, 'gen');
    const g = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), 'generate', '--out', gen, '--scenario', 'noisy-neighbour', '--size', '150MB', '--seed', '7', '--quiet'], { encoding: 'utf8' });
    assert.equal(g.status, 0, g.stderr);
    const host = path.join(gen, 'host.txt');
    const guests = fs.readdirSync(gen).filter((f) => f.startsWith('guest-')).map((f) => path.join(gen, f));
    assert.ok(fs.statSync(host).size > INLINE_BELOW_BYTES, `host.txt is ${fs.statSync(host).size} B: too small to make ingest use workers`);
    assert.ok(guests.length >= 1);

    // Run the packaged engine (child_process.fork: the same message protocol as Electron's parentPort).
    const child = fork(engine, [], { serialization: 'advanced', env: { ...process.env, VCPUSCOPE_CACHE_DIR: path.join(tmp, 'cache') }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const pending = new Map<number, (r: NonNullable<Rpc['rpc']>['result']) => void>();
    child.on('message', (m: Rpc) => {
      if (!m.rpc) return;
      pending.get(m.rpc.id)?.(m.rpc.result);
      pending.delete(m.rpc.id);
    });
    let exited: Error | null = null;
    const waiting = new Set<(e: Error) => void>();
    child.on('exit', (code) => {
      exited = new Error(`packaged engine exited (${code}): ${stderr}`);
      for (const w of waiting) w(exited);
    });
    let next = 1;
    const call = async <T>(method: string, req: unknown): Promise<T> => {
      const id = next++;
      const r = await new Promise<NonNullable<Rpc['rpc']>['result']>((resolve, reject) => {
        if (exited) return reject(exited);
        waiting.add(reject);
        pending.set(id, (v) => {
          waiting.delete(reject);
          resolve(v);
        });
        child.send({ rpc: { id, method, req } });
      });
      if (!r.ok) throw new Error(`${method}: ${r.error?.message}`);
      return r.value as T;
    };
    try {
      const files = [host, ...guests];
      for (const f of files) child.send({ type: 'allow', path: f });
      const { loadId } = await call<{ loadId: string }>('open', { paths: files });
      let status: { state: string; sessionId?: string; error?: string };
      const deadline = Date.now() + 240_000;
      for (;;) {
        status = await call('loadStatus', { loadId });
        if (status.state === 'failed' || status.state === 'cancelled') break;
        if (status.state === 'ready') {
          const info = await call<{ complete?: boolean }>('sessionInfo', { sessionId: status.sessionId });
          if (info.complete !== false) break;
        }
        assert.ok(Date.now() < deadline, 'the packaged engine did not finish loading in 240 s');
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(status.state, 'ready', `load ended ${status.state}: ${status.error ?? ''} ${stderr}`);
      const info = await call<{ rowCount: number; vms?: unknown[] }>('sessionInfo', { sessionId: status.sessionId });
      assert.ok(info.rowCount > 1_000_000, `rowCount ${info.rowCount}`);
      assert.ok((info.vms?.length ?? 0) >= 1, 'the two-layer model found no VM');
      assert.ok(!/Error|Cannot find module|ERR_/.test(stderr), stderr);
    } finally {
      child.kill();
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

function asarExtract(asar: unknown, archive: string, member: string): string {
  return (asar as { extractFile(a: string, f: string): Buffer }).extractFile(archive, member).toString('utf8');
}
