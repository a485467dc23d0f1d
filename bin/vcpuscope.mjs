#!/usr/bin/env node
// Launcher: runs the built CLI (dist/cli.js), building it first when a checkout has no dist yet.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli.js');
if (!existsSync(cli)) {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0 || !existsSync(cli)) {
    process.stderr.write('vcpuscope: the CLI is not built and building it failed; run `npm install` in the checkout\n');
    process.exit(3);
  }
}
process.argv[1] = cli;
await import(pathToFileURL(cli).href);
