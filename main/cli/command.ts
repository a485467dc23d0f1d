// The shape of a CLI command; each lives in main/cli/commands/<name>.ts.

import type { OptionSpec, ParsedArgs } from './args.ts';

export interface CliIo {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

export interface CliCommand {
  name: string;
  summary: string;
  /** e.g. 'FILE... [--json]' */
  usage: string;
  options: OptionSpec[];
  /** Longer help text shown by --help (optional). */
  details?: string;
  /** Returns the exit status. Throw UsageError (2) or InputError (1) for clean failures. */
  run(args: ParsedArgs, io: CliIo): Promise<number>;
}
