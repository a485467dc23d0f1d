// Where a worker entry lives: next to the bundle (dist/<name>.js) when running built code, or the
// TypeScript source (loaded through tsx) when running from source in tests. startWorker() hides
// the difference (Node 20 workers do not inherit tsx's loader, so from source a small eval shim
// registers tsx inside the worker first).

import { Worker, type WorkerOptions } from 'node:worker_threads';

export interface WorkerEntry {
  url: URL;
  execArgv: string[];
  /** True when `url` is TypeScript source (needs tsx inside the worker). */
  fromSource: boolean;
}

/** `fromUrl` is the caller's import.meta.url; `sourceRel` is the worker's .ts path relative to it. */
export function workerEntry(fromUrl: string, bundleName: string, sourceRel: string): WorkerEntry {
  if (fromUrl.endsWith('.ts')) return { url: new URL(sourceRel, fromUrl), execArgv: [], fromSource: true };
  return { url: new URL(`./${bundleName}.js`, fromUrl), execArgv: [], fromSource: false };
}

/** Start the worker for an entry; `options.workerData` etc. pass through. */
export function startWorker(entry: WorkerEntry, options: WorkerOptions = {}): Worker {
  if (!entry.fromSource) return new Worker(entry.url, { ...options, execArgv: [...entry.execArgv, ...(options.execArgv ?? [])] });
  // Resolved here (the parent runs under tsx, so the package is there).
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry.url.href)}); })`;
  return new Worker(code, { ...options, eval: true });
}
