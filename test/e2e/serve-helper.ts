// Starts `vcpuscope serve` (the built CLI) on a free port and returns the URL it prints.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ARTIFACTS = join(ROOT, 'test-results', 'e2e-screens');

export interface Served {
  url: string;
  origin: string;
  token: string;
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** The browser tests' own cache folder (emptied by global-setup), never the user's cache. */
export const CACHE_DIR = join(ROOT, 'test-results', 'e2e-cache');

export async function serve(files: string[], env: NodeJS.ProcessEnv = {}, extraArgs: string[] = []): Promise<Served> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'vcpuscope.mjs'), 'serve', ...files, ...extraArgs, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, VCPUSCOPE_CACHE_DIR: CACHE_DIR, ...env },
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`serve did not print a URL in 30 s; stderr: ${err}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
  });
  const u = new URL(url);
  return {
    url,
    origin: u.origin,
    token: u.searchParams.get('token')!,
    port: Number(u.port),
    child,
    stop: async () => {
      if (child.exitCode !== null) return;
      const done = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      await done;
    },
  };
}
