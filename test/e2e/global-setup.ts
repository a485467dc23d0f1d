// Checks that the bundles exist (npm test builds first) and makes the screenshot folder.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, ROOT } from './serve-helper.ts';

export default function globalSetup(): void {
  for (const f of ['dist/cli.js', 'dist/renderer/app.js', 'dist/renderer/index.html']) {
    if (!existsSync(join(ROOT, f))) throw new Error(`${f} is missing: run \`npm run build\` before the browser tests`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
}
