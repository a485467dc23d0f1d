// Where caches go: --cache-dir, else $VCPUSCOPE_CACHE_DIR, else the user's cache directory
// (XDG_CACHE_HOME or ~/.cache on Linux, ~/Library/Caches on macOS, %LOCALAPPDATA% on Windows).
// Never next to the user's trace.

import * as os from 'node:os';
import * as path from 'node:path';

export function resolveCacheDir(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return path.resolve(explicit);
  if (env.VCPUSCOPE_CACHE_DIR) return path.resolve(env.VCPUSCOPE_CACHE_DIR);
  const home = os.homedir();
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Caches', 'vcpuscope');
  if (process.platform === 'win32') return path.join(env.LOCALAPPDATA ?? path.join(home, 'AppData', 'Local'), 'vcpuscope', 'Cache');
  return path.join(env.XDG_CACHE_HOME ?? path.join(home, '.cache'), 'vcpuscope');
}
