// `vcpuscope serve FILE... [--port P] [--open]`: browser mode. Grants the given files to the
// engine, serves the renderer on 127.0.0.1, prints the tokened URL on stdout and runs until killed.

import { spawn } from 'node:child_process';
import { realpathSync, statSync } from 'node:fs';
import { InputError, numberOption, UsageError } from '../args.ts';
import type { CliCommand } from '../command.ts';
import { resolveCacheDir } from '../../engine/index/cache-dir.ts';
import { TraceService } from '../../engine/service/trace-service.ts';
import { startServer } from '../../server/server.ts';

/** Try the desktop's opener; without a browser or display, printing the URL is enough. */
function openInBrowser(url: string, io: { stderr: NodeJS.WriteStream }): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    const child = spawn(cmd, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => io.stderr.write(`vcpuscope serve: could not start a browser (${cmd}); open the URL above yourself\n`));
    child.unref();
  } catch {
    io.stderr.write(`vcpuscope serve: could not start a browser; open the URL above yourself\n`);
  }
}

/**
 * Whether the files start loading before the page asks (shared/startup-load.ts): yes by default, so
 * the load runs beside the browser's page load. A cached trace's background work (lanes read, levels
 * of detail: ~0.7 CPU-s for 10M events) waits until the first screen was served
 * (TraceServiceOptions.firstScreenWaitMs), so on 2 cores it no longer delays that first screen:
 * cached 1.4 GB trace, interleaved A/B (README app-scale row). VCPUSCOPE_STARTUP_LOAD=1 / 0 / page
 * (at the page's first request) forces a mode.
 */
export function startupLoadMode(env: NodeJS.ProcessEnv): boolean | 'page' {
  const v = env.VCPUSCOPE_STARTUP_LOAD;
  if (v === 'page') return 'page';
  return v !== '0';
}

export const serveCommand: CliCommand = {
  name: 'serve',
  summary: 'open traces in a browser (serves the app on 127.0.0.1 with a per-run token)',
  usage: 'FILE... [--guest FILE@VM]... [--port P] [--open]',
  options: [
    { name: 'port', type: 'string', valueName: 'P', help: 'port on 127.0.0.1 (0 = any free port; default 0)' },
    { name: 'open', type: 'flag', help: 'open the URL in the default browser' },
    { name: 'guest', type: 'list', valueName: 'FILE@VM', help: 'a guest trace and its VM in the host trace (QEMU pid, dom<ID> or VM name)' },
  ],
  details:
    'Only the files given here can be opened from the page. They start loading at once and the first page ' +
    'to open them gets that load (dropped if no page asks within 2 minutes). Stop with Ctrl-C.',
  async run(args, io) {
    const guests: { path: string; vm: string }[] = [];
    for (const g of args.lists.get('guest') ?? []) {
      const at = g.lastIndexOf('@');
      if (at <= 0 || at === g.length - 1) throw new UsageError(`--guest expects FILE@VM, got '${g}'`);
      guests.push({ path: g.slice(0, at), vm: g.slice(at + 1) });
    }
    const positionals = [...args.positionals, ...guests.map((g) => g.path).filter((p) => !args.positionals.includes(p))];
    if (positionals.length === 0) throw new UsageError('give at least one trace file');
    const port = numberOption(args, 'port') ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be an integer in [0, 65535]');
    const real: string[] = [];
    for (const p of positionals) {
      try {
        const rp = realpathSync(p);
        if (!statSync(rp).isFile()) throw new Error('not a regular file');
        real.push(rp);
      } catch (e) {
        throw new InputError(`${p}: cannot open: ${(e as Error).message}`);
      }
    }
    const granted = new Set(real);
    const service = new TraceService({ cacheDir: resolveCacheDir(args.values.get('cache-dir'), io.env), pathAllowed: (p) => granted.has(p) });
    const realGuests = guests.map((g) => ({ path: realpathSync(g.path), vm: g.vm }));
    let server: Awaited<ReturnType<typeof startServer>>;
    try {
      server = await startServer({ api: service, paths: real, guests: realGuests, port, startupLoad: startupLoadMode(io.env) });
    } catch (e) {
      service.close();
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new UsageError(`port ${port} on 127.0.0.1 is in use: pick another with --port, or --port 0 for any free one`);
      if (code === 'EACCES') throw new UsageError(`port ${port} needs privileges: use a port above 1023, or --port 0`);
      throw new InputError((e as Error).message);
    }
    io.stdout.write(`${server.url}\n`);
    if (args.flags.has('open')) openInBrowser(server.url, io);
    await new Promise<void>((resolve) => {
      const stop = (): void => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await server.close();
    service.close();
    return 0;
  },
};
