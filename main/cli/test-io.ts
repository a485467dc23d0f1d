// For CLI tests: a CliIo that collects stdout and stderr into strings (not a TTY).

import type { CliIo } from './command.ts';

export interface CapturedIo extends CliIo {
  out: () => string;
  err: () => string;
}

export function captureIo(env: NodeJS.ProcessEnv = {}): CapturedIo {
  let out = '';
  let err = '';
  const stdout = { write: (s: string) => ((out += s), true), isTTY: false } as unknown as NodeJS.WriteStream;
  const stderr = { write: (s: string) => ((err += s), true), isTTY: false } as unknown as NodeJS.WriteStream;
  return { stdout, stderr, env, out: () => out, err: () => err };
}
