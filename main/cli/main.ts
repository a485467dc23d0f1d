// The vcpuscope CLI: dispatch to commands, --version/--help, and the exit-status contract
// (0 ok, 1 bad input with a message naming the file and offset/line, 2 usage error).

import { COMMON_OPTIONS, InputError, UsageError, formatOptions, parseArgs } from './args.ts';
import type { CliCommand, CliIo } from './command.ts';
import { indexCommand } from './commands/index.ts';
import { statsCommand } from './commands/stats.ts';
import { followCommand } from './commands/follow.ts';
import { reportCommand } from './commands/report.ts';
import { generateCommand } from './commands/generate.ts';
import { demoCommand } from './commands/demo.ts';
import { serveCommand } from './commands/serve.ts';
import { exportCommand } from './commands/export.ts';
import { VERSION } from '../../shared/version.ts';

export const COMMANDS: CliCommand[] = [
  indexCommand,
  statsCommand,
  followCommand,
  reportCommand,
  exportCommand,
  serveCommand,
  demoCommand,
  generateCommand,
];

function mainHelp(): string {
  const rows = COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`).join('\n');
  return `vcpuscope ${VERSION} - two-layer (guest/host) scheduling trace explorer

Usage: vcpuscope <command> [options]

Commands:
${rows}

Options:
  --version                      print the version
  --help                         show help (also: vcpuscope <command> --help)

Run 'vcpuscope <command> --help' for a command's options.
`;
}

export function commandHelp(c: CliCommand): string {
  return `Usage: vcpuscope ${c.name} ${c.usage}\n\n${c.summary}\n${c.details ? `\n${c.details}\n` : ''}\nOptions:\n${formatOptions(c.options)}\n`;
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const target = first === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    io.stdout.write(target ? commandHelp(target) : mainHelp());
    return 0;
  }
  if (first === '--version' || first === '-V' || first === 'version') {
    io.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === first);
  if (!cmd) {
    io.stderr.write(`vcpuscope: unknown command '${first}'\n\n${mainHelp()}`);
    return 2;
  }
  try {
    const args = parseArgs(rest, cmd.options);
    if (args.flags.has('help')) {
      io.stdout.write(commandHelp(cmd));
      return 0;
    }
    return await cmd.run(args, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`vcpuscope ${cmd.name}: ${e.message}\nUsage: vcpuscope ${cmd.name} ${cmd.usage}\n(see 'vcpuscope ${cmd.name} --help')\n`);
      return 2;
    }
    if (e instanceof InputError) {
      io.stderr.write(`vcpuscope ${cmd.name}: ${e.message}\n`);
      return 1;
    }
    const msg = e instanceof Error ? e.message : String(e);
    io.stderr.write(`vcpuscope ${cmd.name}: internal error: ${msg}\n`);
    if (io.env.VCPUSCOPE_DEBUG && e instanceof Error && e.stack) io.stderr.write(`${e.stack}\n`);
    return 3;
  }
}

void COMMON_OPTIONS;

// Run when executed as the bundle entry (dist/cli.js) or directly through tsx.
const isEntry = (() => {
  const argv1 = process.argv[1] ?? '';
  return /(?:^|[\\/])(cli\.js|main\.ts)$/.test(argv1);
})();
if (isEntry) {
  runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`vcpuscope: ${String(e)}\n`);
      process.exitCode = 3;
    },
  );
}
