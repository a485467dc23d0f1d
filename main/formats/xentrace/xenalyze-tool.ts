// Test support: makes Debian's `xenalyze` (package xen-utils-common, needs only libc) available as
// an independent reference, by `apt-get download` + `dpkg -x` into a cache folder under os.tmpdir().
// No root, no Xen hypervisor. Returns a reason to skip when the package cannot be obtained.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const PACKAGE = 'xen-utils-common';

export type XenalyzeLookup = { path: string } | { skip: string };

function runs(bin: string): boolean {
  if (!fs.existsSync(bin)) return false;
  const r = spawnSync(bin, ['--help'], { encoding: 'utf8', timeout: 10_000 });
  return r.error === undefined && /xenalyze/.test(`${r.stdout}${r.stderr}`);
}

/** Find or fetch xenalyze. Cached in $TMPDIR/vcpuscope-xenalyze/<arch>/usr/bin/xenalyze. */
export function findXenalyze(): XenalyzeLookup {
  const fromEnv = process.env.VCPUSCOPE_XENALYZE;
  if (fromEnv) return runs(fromEnv) ? { path: fromEnv } : { skip: `VCPUSCOPE_XENALYZE=${fromEnv} does not run` };
  const root = path.join(os.tmpdir(), 'vcpuscope-xenalyze', os.arch());
  const bin = path.join(root, 'usr', 'bin', 'xenalyze');
  if (runs(bin)) return { path: bin };
  fs.mkdirSync(path.dirname(root), { recursive: true });
  const work = fs.mkdtempSync(path.join(path.dirname(root), 'download-'));
  try {
    const dl = spawnSync('apt-get', ['download', PACKAGE], { cwd: work, encoding: 'utf8', timeout: 120_000 });
    if (dl.error || dl.status !== 0) {
      return { skip: `xenalyze unavailable: 'apt-get download ${PACKAGE}' failed (${dl.error?.message ?? dl.stderr.trim().split('\n').pop()}); on Debian, 'apt-get update' may be needed first` };
    }
    const deb = fs.readdirSync(work).find((f) => f.startsWith(`${PACKAGE}_`) && f.endsWith('.deb'));
    if (!deb) return { skip: `xenalyze unavailable: apt-get download left no ${PACKAGE} .deb` };
    const tree = path.join(work, 'tree');
    const x = spawnSync('dpkg', ['-x', path.join(work, deb), tree], { encoding: 'utf8', timeout: 60_000 });
    if (x.error || x.status !== 0) return { skip: `xenalyze unavailable: dpkg -x failed (${x.error?.message ?? x.stderr.trim()})` };
    if (!runs(path.join(tree, 'usr', 'bin', 'xenalyze'))) return { skip: `xenalyze from ${deb} does not run here` };
    try {
      fs.renameSync(tree, root); // atomic: a concurrent test either sees the whole tree or none
    } catch {
      if (!runs(bin)) return { skip: `could not install xenalyze into ${root}` };
    }
    return { path: bin };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Run xenalyze; stdout as text (throws with stderr's tail on failure). */
export function runXenalyze(bin: string, args: readonly string[]): string {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 120_000, maxBuffer: 256 << 20 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`xenalyze ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-500)}`);
  return r.stdout;
}

export interface XenalyzeRunstate {
  count: number;
  /** count x the printed average: the total within count cycles (xenalyze truncates the average). */
  cyclesApprox: number;
}

export interface XenalyzeSummary {
  /** pCPU -> class name (gen, sched, hvm, ...) -> bytes of records ('Log volume summary'). */
  volumeBytes: Map<number, Map<string, number>>;
  /** 'd<dom>v<vcpu>' -> runstate name (running, runnable, blocked, offline) -> count / cycles. */
  vcpuRunstates: Map<string, Map<string, XenalyzeRunstate>>;
  /** pCPU -> 'running' | 'idle' -> count / cycles (--report-pcpu). */
  pcpu: Map<number, Map<string, XenalyzeRunstate>>;
  /** 'd<dom>v<vcpu>' -> VMX/SVM exit reason name (EXTERNAL_INTERRUPT, HLT, ...) -> count. */
  exitReasons: Map<string, Map<string, number>>;
}

/** Parse the parts of `xenalyze --summary --report-pcpu` output that the tests compare. */
export function parseXenalyzeSummary(text: string): XenalyzeSummary {
  const volumeBytes = new Map<number, Map<string, number>>();
  const vcpuRunstates = new Map<string, Map<string, XenalyzeRunstate>>();
  const pcpu = new Map<number, Map<string, XenalyzeRunstate>>();
  const exitReasons = new Map<string, Map<string, number>>();
  let inExits = false;
  let section: 'volume' | 'domain' | 'pcpu' | undefined;
  let volCpu = -1;
  let dom = -1;
  let vcpuKey: string | undefined;
  let inRunstates = false;
  let pcpuId = -1;
  for (const line of text.split('\n')) {
    let m: RegExpMatchArray | null;
    if (line.startsWith('--- Log volume summary')) section = 'volume';
    else if ((m = line.match(/^\|-- Domain (\d+) --\|/))) {
      section = 'domain';
      dom = Number(m[1]);
      vcpuKey = undefined;
      inExits = false;
    } else if ((m = line.match(/^pcpu (\d+)$/))) {
      section = 'pcpu';
      pcpuId = Number(m[1]);
      pcpu.set(pcpuId, new Map());
    } else if (section === 'volume' && (m = line.match(/^ - cpu (\d+) -/))) {
      volCpu = Number(m[1]);
      volumeBytes.set(volCpu, new Map());
    } else if (section === 'volume' && (m = line.match(/^ (\w+)\s*:\s*(\d+)$/))) {
      volumeBytes.get(volCpu)?.set(m[1]!, Number(m[2]));
    } else if (section === 'domain' && (m = line.match(/^-- v(\d+) --/))) {
      vcpuKey = `d${dom}v${m[1]}`;
      vcpuRunstates.set(vcpuKey, new Map());
      inRunstates = false;
      inExits = false;
    } else if (section === 'domain' && vcpuKey !== undefined && line.startsWith(' Runstates:')) {
      inRunstates = true;
      inExits = false;
    } else if (section === 'domain' && vcpuKey !== undefined && line.startsWith('Exit reasons:')) {
      inExits = true;
      exitReasons.set(vcpuKey, new Map());
    } else if (inExits && vcpuKey !== undefined && (m = line.match(/^ ([A-Z][A-Z0-9_]+)\s+(\d+)\s+[\d.]+s/))) {
      exitReasons.get(vcpuKey)!.set(m[1]!, Number(m[2]));
    } else if (inExits && !/^\s/.test(line)) {
      inExits = false;
    } else if (section === 'domain' && vcpuKey !== undefined && inRunstates && (m = line.match(/^\s+(running|runnable|blocked|offline|lost):\s+(\d+)\s+[\d.]+s\s+(\d+)/))) {
      vcpuRunstates.get(vcpuKey)!.set(m[1]!, { count: Number(m[2]), cyclesApprox: Number(m[2]) * Number(m[3]) });
    } else if (section === 'domain' && inRunstates && /^ \S/.test(line) && !line.startsWith(' Runstates')) {
      inRunstates = false;
    } else if (section === 'pcpu' && (m = line.match(/^\s+(running|idle):\s+(\d+)\s+[\d.]+s\s+(\d+)/))) {
      pcpu.get(pcpuId)!.set(m[1]!, { count: Number(m[2]), cyclesApprox: Number(m[2]) * Number(m[3]) });
    }
  }
  return { volumeBytes, vcpuRunstates, pcpu, exitReasons };
}

/** Records per event id from `xenalyze --dump-raw-process` (every processed record but CPU_CHANGE). */
export function countRawProcess(text: string): Map<number, number> {
  const counts = new Map<number, number>();
  const re = /^\*\s+([0-9a-f]+) \d /gm;
  for (const m of text.matchAll(re)) {
    const ev = parseInt(m[1]!, 16);
    counts.set(ev, (counts.get(ev) ?? 0) + 1);
  }
  return counts;
}

/** Distinct file offsets of TRC_TRACE_CPU_CHANGE records in `xenalyze --dump-raw-reads` output. */
export function cpuChangeOffsets(text: string): Set<number> {
  const offsets = new Set<number>();
  const re = /^R p\s*\d+ o([0-9a-f]+)\s+1f003 /gm;
  for (const m of text.matchAll(re)) offsets.add(parseInt(m[1]!, 16));
  return offsets;
}
