// Module resolve hook for the Electron stand-in: `import … from 'electron'` in dist/app/main.js
// resolves to fake-electron.mjs (no Electron runtime can be installed on the build machines).
const FAKE = new URL('./fake-electron.mjs', import.meta.url).href;

export async function resolve(specifier, context, next) {
  if (specifier === 'electron') return { url: FAKE, format: 'module', shortCircuit: true };
  return next(specifier, context);
}
