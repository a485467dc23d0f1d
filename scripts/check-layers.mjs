// The layer rule of ARCHITECTURE.md as an explicit allowlist: every relative import of a file in
// one layer must land in a layer that the table allows. Also: only main/app imports 'electron'.
// Test files (*.test.ts) beside the code are exempt from the layer table: they exercise a layer
// through the ones above it (a reader's test reads through the indexer). They still may not
// import 'electron'. Prints the violations and exits 1 when there are any.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

// Longest matching prefix wins. A layer may always import itself.
const LAYERS = {
  'shared': [],
  'main/engine/io': ['shared'],
  'main/formats': ['shared', 'main/engine/io', 'main/formats'],
  'main/engine/index': ['shared', 'main/engine/io', 'main/formats'],
  'main/engine/model': ['shared', 'main/engine/io', 'main/formats', 'main/engine/index'],
  'main/engine/query': ['shared', 'main/engine/io', 'main/formats', 'main/engine/index', 'main/engine/model'],
  'main/engine/service': ['shared', 'main/engine/io', 'main/formats', 'main/engine/index', 'main/engine/model', 'main/engine/query', 'main/sim'],
  'main/sim': ['shared'],
  'main/server': ['shared', 'main/engine/io', 'main/engine/service'],
  'main/cli': ['shared', 'main/engine', 'main/formats', 'main/sim', 'main/server'],
  'main/app': ['shared'],
  'renderer': ['shared'],
  'test': ['shared', 'main', 'renderer', 'test'],
  'scripts': ['shared', 'main', 'test', 'scripts'],
};
const prefixes = Object.keys(LAYERS).sort((a, b) => b.length - a.length);
const layerOf = (file) => prefixes.find((p) => file === p || file.startsWith(`${p}/`));

const files = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (/\.(ts|tsx|mts)$/.test(name)) files.push(p);
  }
}
for (const top of ['shared', 'main', 'renderer', 'test', 'scripts']) {
  try {
    walk(top);
  } catch {
    /* folder absent */
  }
}

const problems = [];
const importRe = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
for (const f of files) {
  const src = readFileSync(f, 'utf8');
  const from = layerOf(f.replaceAll('\\', '/'));
  if (!from) continue;
  for (const m of src.matchAll(importRe)) {
    const spec = m[1] ?? m[2];
    if (!spec) continue;
    if (spec === 'electron' && !f.startsWith('main/app/') && !f.startsWith('test/')) problems.push(`${f}: imports 'electron' (only main/app may)`);
    if (!spec.startsWith('.') || /\.test\.tsx?$/.test(f)) continue;
    const target = relative('.', normalize(join(dirname(f), spec))).replaceAll('\\', '/');
    const to = layerOf(target);
    if (!to || to === from) continue;
    const allowed = LAYERS[from];
    if (!allowed.some((a) => to === a || to.startsWith(`${a}/`))) problems.push(`${f}: ${from} may not import ${to} ('${spec}')`);
  }
}
if (problems.length) {
  console.error(`layer rule: ${problems.length} violation(s)\n${problems.join('\n')}`);
  process.exit(1);
}
console.error(`layer rule: ${files.length} files checked, no violations`);
