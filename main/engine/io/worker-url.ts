// Where a worker entry lives: next to the bundle (dist/<name>.js) when running built code, or the
// TypeScript source (loaded through tsx) when running from source in tests.

export interface WorkerEntry {
  url: URL;
  execArgv: string[];
}

/** `fromUrl` is the caller's import.meta.url; `sourceRel` is the worker's .ts path relative to it. */
export function workerEntry(fromUrl: string, bundleName: string, sourceRel: string): WorkerEntry {
  if (fromUrl.endsWith('.ts')) return { url: new URL(sourceRel, fromUrl), execArgv: ['--import', 'tsx'] };
  return { url: new URL(`./${bundleName}.js`, fromUrl), execArgv: [] };
}
