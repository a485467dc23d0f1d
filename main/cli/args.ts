// Minimal argument parsing for the CLI: declared options only, `--name value` / `--name=value`,
// repeatable options collected in order; anything undeclared is a usage error (exit 2).

export interface OptionSpec {
  name: string; // without dashes
  /** 'flag' takes no value; 'string' one; 'list' one per occurrence (repeatable). */
  type: 'flag' | 'string' | 'list';
  help: string;
  valueName?: string;
}

export interface ParsedArgs {
  positionals: string[];
  flags: Set<string>;
  values: Map<string, string>;
  lists: Map<string, string[]>;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Bad input (a trace that cannot be read); exit status 1. Message names file and offset/line. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

export const COMMON_OPTIONS: OptionSpec[] = [
  { name: 'help', type: 'flag', help: 'show this help' },
  { name: 'cache-dir', type: 'string', valueName: 'DIR', help: 'cache folder (default: $VCPUSCOPE_CACHE_DIR or the user cache directory)' },
];

export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[]): ParsedArgs {
  const all = [...COMMON_OPTIONS, ...specs];
  const out: ParsedArgs = { positionals: [], flags: new Set(), values: new Map(), lists: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('--') || a === '-') {
      if (a.startsWith('-') && a !== '-' && a !== '-h') throw new UsageError(`unknown option ${a}`);
      if (a === '-h') out.flags.add('help');
      else out.positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    const spec = all.find((s) => s.name === name);
    if (!spec) throw new UsageError(`unknown option --${name}`);
    if (spec.type === 'flag') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      out.flags.add(name);
      continue;
    }
    let value: string;
    if (eq >= 0) value = a.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`--${name} needs a value`);
      value = next;
      i++;
    }
    if (spec.type === 'string') out.values.set(name, value);
    else out.lists.set(name, [...(out.lists.get(name) ?? []), value]);
  }
  return out;
}

export function formatOptions(specs: readonly OptionSpec[]): string {
  const rows = [...specs, ...COMMON_OPTIONS].map((s) => {
    const left = `  --${s.name}${s.type === 'flag' ? '' : ` ${s.valueName ?? 'VALUE'}`}`;
    return `${left.padEnd(30)} ${s.help}`;
  });
  return rows.join('\n');
}

/** Parse a number option; usage error when it is not a finite number. */
export function numberOption(args: ParsedArgs, name: string): number | undefined {
  const v = args.values.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} expects a number, got '${v}'`);
  return n;
}
