// Build with esbuild: the CLI and engine workers (Node ESM), the Electron main + preload, and the
// renderer bundle. Entries whose source does not exist yet are skipped with a note.
import { build } from 'esbuild';
import { existsSync, mkdirSync, copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const watch = process.argv.includes('--watch');
void watch;

// Node-side bundles. Each worker entry is emitted flat into dist/ next to cli.js, so that
// `new URL('./<name>.js', import.meta.url)` finds it from the bundle (see main/engine/io/worker-url.ts).
const nodeEntries = [
  ['main/cli/main.ts', 'dist/cli.js'],
  ['main/engine/index/ingest-worker.ts', 'dist/ingest-worker.js'],
  ['main/engine/model/model-worker.ts', 'dist/model-worker.js'],
  ['main/engine/service/engine-process.ts', 'dist/engine-process.js'],
];
const requireShim =
  "import { createRequire as __vcpuscopeCreateRequire } from 'node:module'; const require = __vcpuscopeCreateRequire(import.meta.url);";

const jobs = [];
for (const [src, out] of nodeEntries) {
  if (!existsSync(src)) continue;
  jobs.push(
    build({
      entryPoints: [src],
      outfile: out,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'linked',
      banner: { js: requireShim },
      external: ['electron'],
      logLevel: 'warning',
    }),
  );
}

// Electron main (ESM) and preload (CommonJS: sandboxed preloads cannot be ESM).
if (existsSync('main/app/main.ts')) {
  jobs.push(
    build({
      entryPoints: ['main/app/main.ts'],
      outfile: 'dist/app/main.js',
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      banner: { js: requireShim },
      external: ['electron'],
      logLevel: 'warning',
    }),
  );
}
if (existsSync('main/app/preload.ts')) {
  jobs.push(
    build({
      entryPoints: ['main/app/preload.ts'],
      outfile: 'dist/app/preload.cjs',
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: ['electron'],
      logLevel: 'warning',
    }),
  );
}

// Renderer: one browser bundle + static files from renderer/public.
if (existsSync('renderer/index.tsx')) {
  jobs.push(
    build({
      entryPoints: ['renderer/index.tsx'],
      outfile: 'dist/renderer/app.js',
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'chrome120',
      sourcemap: 'linked',
      minify: process.env.VCPUSCOPE_BUILD_DEBUG !== "1", // =1: readable names in profiles
      define: { 'process.env.NODE_ENV': '"production"' },
      loader: { '.css': 'css' },
      logLevel: 'warning',
    }),
  );
  // The boot script (renderer/boot.ts): connects and sends the first RPCs while app.js loads.
  jobs.push(
    build({
      entryPoints: ['renderer/boot-main.ts'],
      outfile: 'dist/renderer/boot.js',
      bundle: true,
      platform: 'browser',
      format: 'iife',
      target: 'chrome120',
      minify: true,
      logLevel: 'warning',
    }),
  );
  if (existsSync('renderer/public')) {
    mkdirSync('dist/renderer', { recursive: true });
    for (const f of readdirSync('renderer/public')) copyFileSync(join('renderer/public', f), join('dist/renderer', f));
  }
}

await Promise.all(jobs);
// dist/ says for itself that its .js files are ES modules: in a packaged app the engine and worker
// bundles run from resources/app.asar.unpacked/dist/, where the project's package.json is not above them.
writeFileSync('dist/package.json', `${JSON.stringify({ type: 'module', private: true })}\n`);
console.error(`vcpuscope build: ${jobs.length} bundles -> dist/`);
