// The fuzz harness: mutation-based over the real fixtures of every format, each input run in a
// worker with a time and memory limit. A crash (any error but a clean format rejection), a hang,
// or running out of memory is a failure and its input is written to the corpus folder.

import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../main/engine/io/worker-url.ts';
import { MemorySource } from '../../main/engine/io/byte-source.ts';
import { detectFormat } from '../../main/formats/registry.ts';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MUTATIONS, Prng, mutate, type Mutation } from './mutate.ts';
import type { FuzzReply, FuzzRequest } from './fuzz-worker.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Seed {
  name: string;
  bytes: Uint8Array;
}

/** Real fixtures: every format's testdata plus the team's public traces (when present). */
export function collectSeeds(maxBytes = 4 * 1024 * 1024): Seed[] {
  const dirs: string[] = [];
  const formatsDir = path.join(REPO_ROOT, 'main', 'formats');
  for (const f of safeList(formatsDir)) {
    const td = path.join(formatsDir, f, 'testdata');
    if (fs.existsSync(td)) dirs.push(td);
  }
  const pub = path.resolve(REPO_ROOT, '..', 'shared', 'traces', 'public');
  for (const f of safeList(pub)) if (f !== 'LICENSES') dirs.push(path.join(pub, f));
  const seeds: Seed[] = [];
  const walk = (d: string): void => {
    for (const name of safeList(d)) {
      const p = path.join(d, name);
      const st = fs.statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.size > 0 && st.size <= maxBytes && !/\.(md|json|golden\.json)$/i.test(name)) seeds.push({ name: path.relative(REPO_ROOT, p), bytes: new Uint8Array(fs.readFileSync(p)) });
    }
  };
  for (const d of dirs) walk(d);
  seeds.sort((a, b) => a.name.localeCompare(b.name));
  // Only files some reader claims as they are (not READMEs, scripts, gzipped copies...): mutating
  // anything else would only exercise the sniffers.
  return seeds.filter((s) => detectFormat(new MemorySource(s.name, s.bytes)) !== undefined);
}

function safeList(d: string): string[] {
  try {
    return fs.readdirSync(d).sort();
  } catch {
    return [];
  }
}

export interface FuzzOptions {
  seed: number;
  /** Stop after this many inputs (whichever of iterations/seconds comes first). */
  iterations: number;
  seconds: number;
  /** Per-input time limit. */
  timeoutMs: number;
  /** Every Nth input also runs the real indexer with a cache (0 = never). */
  fullEvery: number;
  corpusDir: string;
  maxOldGenerationSizeMb: number;
  log: (line: string) => void;
}

export interface FuzzFailure {
  input: string;
  seedName: string;
  mutation: Mutation;
  reason: string;
  savedAs: string;
}

export interface FuzzReport {
  inputs: number;
  parsed: number;
  rejected: number;
  failures: FuzzFailure[];
  byFormat: Record<string, number>;
}

export async function fuzz(seeds: readonly Seed[], opts: FuzzOptions): Promise<FuzzReport> {
  if (seeds.length === 0) throw new Error('no fuzz seeds found (no testdata folders and no ../shared/traces/public)');
  const rng = new Prng(opts.seed);
  const report: FuzzReport = { inputs: 0, parsed: 0, rejected: 0, failures: [], byFormat: {} };
  const deadline = Date.now() + opts.seconds * 1000;
  let worker = spawn(opts);
  try {
    for (let i = 0; i < opts.iterations && Date.now() < deadline; i++) {
      const s = seeds[rng.below(seeds.length)]!;
      const mutation = MUTATIONS[rng.below(MUTATIONS.length)]!;
      const bytes = mutate(s.bytes, mutation, rng);
      const req: FuzzRequest = { id: i, name: `fuzz-${i}-${path.basename(s.name)}`, bytes, full: opts.fullEvery > 0 && i % opts.fullEvery === 0 };
      const reply = await runOne(worker, req, opts.timeoutMs);
      report.inputs++;
      let reason: string | undefined;
      if (reply.kind === 'timeout') reason = `hang: no answer within ${opts.timeoutMs} ms`;
      else if (reply.kind === 'exit') reason = `worker died: ${reply.message}`;
      else if (reply.reply.outcome === 'crash') reason = `crash: ${reply.reply.message ?? ''}`;
      if (reason) {
        const saved = saveFailure(opts.corpusDir, req, s.name, mutation, reason);
        report.failures.push({ input: req.name, seedName: s.name, mutation, reason, savedAs: saved });
        opts.log(`FAIL ${req.name} (${mutation} of ${s.name}): ${reason.split('\n')[0]} -> ${saved}`);
        if (reply.kind !== 'reply') {
          await worker.terminate();
          worker = spawn(opts);
        }
        continue;
      }
      if (reply.kind === 'reply') {
        if (reply.reply.outcome === 'parsed') report.parsed++;
        else report.rejected++;
        const f = reply.reply.formatId ?? 'none';
        report.byFormat[f] = (report.byFormat[f] ?? 0) + 1;
      }
    }
  } finally {
    await worker.terminate();
  }
  return report;
}

function spawn(opts: FuzzOptions): Worker {
  // Node 20 workers do not inherit tsx's loader; startWorker registers it inside the worker.
  return startWorker(
    { url: new URL('./fuzz-worker.ts', import.meta.url), execArgv: [], fromSource: true },
    { resourceLimits: { maxOldGenerationSizeMb: opts.maxOldGenerationSizeMb } },
  );
}

type RunResult = { kind: 'reply'; reply: FuzzReply } | { kind: 'timeout' } | { kind: 'exit'; message: string };

function runOne(worker: Worker, req: FuzzRequest, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (r: FuzzReply): void => {
      if (r.id !== req.id) return;
      cleanup();
      resolve({ kind: 'reply', reply: r });
    };
    const onError = (e: Error): void => {
      cleanup();
      resolve({ kind: 'exit', message: `${e.name}: ${e.message}` });
    };
    const onExit = (code: number): void => {
      cleanup();
      resolve({ kind: 'exit', message: `exit code ${code}` });
    };
    const timer = setTimeout(() => {
      cleanup();
      resolve({ kind: 'timeout' });
    }, timeoutMs);
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage(req);
  });
}

function saveFailure(dir: string, req: FuzzRequest, seedName: string, mutation: Mutation, reason: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const base = path.join(dir, req.name);
  fs.writeFileSync(base, req.bytes);
  fs.writeFileSync(`${base}.txt`, `seed: ${seedName}\nmutation: ${mutation}\n\n${reason}\n`);
  return base;
}
