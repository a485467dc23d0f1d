// Where the packaged app's files are. electron-builder puts dist/ into resources/app.asar, except
// the files listed under `asarUnpack` in electron-builder.yml (the engine process, the ingest
// worker and dist/package.json), which land in resources/app.asar.unpacked/ with the same relative
// paths. The engine runs as a utilityProcess and starts worker_threads from files beside itself;
// both are given real files, not asar members, so nothing depends on asar support inside workers.
// No 'electron' import here: unit-tested under plain Node.

import { sep } from 'node:path';

/** The unpacked twin of a path inside an app.asar archive; other paths unchanged. */
export function unpackedPath(p: string): string {
  const inside = `${sep}app.asar${sep}`;
  const i = p.indexOf(inside);
  if (i < 0) return p;
  return `${p.slice(0, i)}${sep}app.asar.unpacked${sep}${p.slice(i + inside.length)}`;
}
