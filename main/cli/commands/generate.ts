// `vcpuscope generate`: write simulated two-layer traces (host + one guest per VM, tracefs text)
// and truth.json into a folder, from a named scenario (main/sim).

import type { CliCommand } from '../command.ts';
import { UsageError, numberOption } from '../args.ts';
import { GenerateError, SCENARIOS, DEFAULT_SCENARIO, generate, type HostPolicy } from '../../sim/index.ts';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1 << 20, g: 1e9, gb: 1e9, gib: 1 << 30 };

export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new UsageError(`--size expects a size such as 500MB or 2GB, got '${text}'`);
  const n = Number(m[1]) * unit;
  if (!(n >= 1)) throw new UsageError(`--size must be at least 1 byte`);
  return Math.round(n);
}

function intOption(values: Map<string, string>, name: string): number | undefined {
  const v = values.get(name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} expects a non-negative integer, got '${v}'`);
  return Number(v);
}

export const generateCommand: CliCommand = {
  name: 'generate',
  summary: 'simulate a virtualized system and write host + guest traces (tracefs text) and truth.json',
  usage: '--out DIR [--scenario NAME] [--seconds S] [--seed N] [--policy fair|cosched] [--size 2GB] [--clock-drift NS] [--force]',
  options: [
    { name: 'out', type: 'string', valueName: 'DIR', help: 'output folder (created; must be empty unless --force)' },
    { name: 'scenario', type: 'string', valueName: 'NAME', help: `scenario (default ${DEFAULT_SCENARIO}; see below)` },
    { name: 'seconds', type: 'string', valueName: 'S', help: 'simulated seconds (default: the scenario\'s)' },
    { name: 'seed', type: 'string', valueName: 'N', help: 'PRNG seed; the same seed gives byte-identical files' },
    { name: 'policy', type: 'string', valueName: 'P', help: 'host scheduler: fair (credit-like, default) or cosched (gang)' },
    { name: 'size', type: 'string', valueName: 'SIZE', help: 'keep going until the files hold SIZE bytes in total (e.g. 2GB); ignores --seconds' },
    { name: 'cores', type: 'string', valueName: 'C', help: 'physical cores' },
    { name: 'vms', type: 'string', valueName: 'K', help: 'number of VMs (the scenario\'s VMs repeated)' },
    { name: 'vcpus', type: 'string', valueName: 'V', help: 'vCPUs of every VM' },
    { name: 'threads', type: 'string', valueName: 'T', help: 'threads of the main workload of every VM' },
    { name: 'clock-drift', type: 'string', valueName: 'NS', help: 'guest clock drift: host - guest time grows by NS ns per host second (e.g. 150000; negative: the guest runs fast; default 0)' },
    { name: 'host-format', type: 'string', valueName: 'F', help: 'host trace format: tracefs (KVM/QEMU text, default) or xentrace (Xen binary, 2.4 GHz TSC)' },
    { name: 'tgid', type: 'flag', help: 'print the record-tgid column in tracefs files' },
    { name: 'force', type: 'flag', help: 'write into a non-empty folder' },
    { name: 'quiet', type: 'flag', help: 'no progress on stderr' },
  ],
  details: `Scenarios:\n${SCENARIOS.map((s) => `  ${s.name.padEnd(24)} ${s.title}`).join('\n')}\n\nFiles: host.txt (host tracefs text; host.xentrace with --host-format xentrace), guest-<vm>.txt (one per VM), truth.json (ground truth: see main/sim/TRUTH.md).\nEach guest has its own clock offset (and, with --clock-drift, rate), recorded only in truth.json.`,
  async run(args, io) {
    const out = args.values.get('out') ?? args.positionals[0];
    if (!out) throw new UsageError('--out DIR is required');
    const policy = args.values.get('policy');
    if (policy !== undefined && policy !== 'fair' && policy !== 'cosched') throw new UsageError(`--policy must be fair or cosched, got '${policy}'`);
    const hostFormat = args.values.get('host-format');
    if (hostFormat !== undefined && hostFormat !== 'tracefs' && hostFormat !== 'xentrace') throw new UsageError(`--host-format must be tracefs or xentrace, got '${hostFormat}'`);
    const sizeText = args.values.get('size');
    const sizeBytes = sizeText === undefined ? undefined : parseSize(sizeText);
    const quiet = args.flags.has('quiet');
    let lastPct = -1;
    const started = Date.now();
    // Ctrl-C stops cleanly: the files so far are closed (cut short) and the command says so.
    const abort = new AbortController();
    const onSigint = (): void => abort.abort();
    process.once('SIGINT', onSigint);
    try {
      const { truth } = await generate({
        out,
        scenario: args.values.get('scenario'),
        seconds: numberOption(args, 'seconds'),
        seed: intOption(args.values, 'seed'),
        policy: policy as HostPolicy | undefined,
        cores: intOption(args.values, 'cores'),
        vms: intOption(args.values, 'vms'),
        vcpus: intOption(args.values, 'vcpus'),
        threads: intOption(args.values, 'threads'),
        sizeBytes,
        force: args.flags.has('force'),
        hostFormat: hostFormat as 'tracefs' | 'xentrace' | undefined,
        clockDriftNsPerS: numberOption(args, 'clock-drift'),
        signal: abort.signal,
        tgid: args.flags.has('tgid'),
        onProgress: quiet
          ? undefined
          : (f, bytes) => {
              const pct = Math.floor(f * 20) * 5;
              if (pct === lastPct || Date.now() - started < 1000) return;
              lastPct = pct;
              io.stderr.write(`generate: ${pct}% (${(bytes / 1e6).toFixed(0)} MB)\n`);
            },
      });
      const secs = (Date.now() - started) / 1000;
      const mb = truth.generator.bytes / 1e6;
      io.stdout.write(`wrote ${out}: ${truth.hostFile}, ${truth.vms.map((v) => v.guestFile).join(', ')}, truth.json (${mb.toFixed(1)} MB in ${secs.toFixed(1)} s, scenario ${truth.generator.scenario}, policy ${truth.generator.policy}, seed ${truth.generator.seed})\n`);
      return 0;
    } catch (e) {
      if (e instanceof GenerateError) {
        if (abort.signal.aborted) {
          io.stderr.write(`vcpuscope generate: ${e.message}\n`);
          return 130;
        }
        throw new UsageError(e.message);
      }
      throw e;
    } finally {
      process.off('SIGINT', onSigint);
    }
  },
};
