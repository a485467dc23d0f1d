// Checks that the bundles exist (npm test builds first), makes the screenshot folder, empties the cache folder.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, CACHE_DIR, ROOT } from './serve-helper.ts';

export default function globalSetup(): void {
  for (const f of ['dist/cli.js', 'dist/renderer/app.js', 'dist/renderer/index.html']) {
    if (!existsSync(join(ROOT, f))) throw new Error(`${f} is missing: run \`npm run build\` before the browser tests`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  // Every run indexes from scratch into its own cache: no test reads a cache made by other code.
  rmSync(CACHE_DIR, { recursive: true, force: true });
  mkdirSync(CACHE_DIR, { recursive: true });
}
