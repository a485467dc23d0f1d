// Two-layer model benchmark (issue 4 targets): building all derived tables vs ingest time of the
// same traces, and follow latency, on
//   1. the real QEMU recordings of this machine when present (/tmp/rec/twolayer-a, -b: host.dat +
//      guest.dat), else the committed 3 s fixture (test/model/fixtures);
//   2. a simulator set scaled by size (main/sim generate, scenario noisy-neighbour, tracefs text):
//      VCPUSCOPE_BENCH_MODEL_BYTES (default 1.5e9 bytes of text, ~10M events; 7.3e9 is ~50M).
// Ingest = openIndexed from scratch into a fresh cache (worker threads as the CLI uses them); model
// = buildModel over the opened traces (reads the cached batches); follow = followThread on the model
// (p50/max over every thread). The machine is shared: numbers are noisy; CPU time (process.cpuUsage:
// all threads, ingest workers and GC included) is printed too.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchContext } from './bench-types.ts';
import { openIndexed } from '../../main/engine/index/open.ts';
import type { IndexedTrace } from '../../main/engine/index/indexed-trace.ts';
import { buildModel, type ModelInputFile, type TwoLayerModel } from '../../main/engine/model/model.ts';
import { buildModelParallel, PARALLEL_MIN_ROWS } from '../../main/engine/model/parallel.ts';
import { followThread } from '../../main/engine/query/follow.ts';
import { coreToThreads, vmPlacement } from '../../main/engine/query/cross-layer.ts';
import { generate, type Truth } from '../../main/sim/index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The model worker as the app runs it (bench.ts builds dist/ first); from source through tsx it would compile the model in the worker first. */
const workerBundle = path.join(here, '..', '..', 'dist', 'model-worker.js');

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function ingest(files: string[], cacheDir: string): Promise<{ traces: IndexedTrace[]; ms: number; cpu: number; events: number }> {
  const t0 = performance.now();
  const c0 = cpuMs();
  const traces: IndexedTrace[] = [];
  for (const f of files) traces.push(await openIndexed(f, { cacheDir, rebuild: true }));
  return { traces, ms: performance.now() - t0, cpu: cpuMs() - c0, events: traces.reduce((s, t) => s + t.rowCount, 0) };
}

/** One build: buildModelParallel (a worker thread for large inputs, what the engine uses) or, `serial`, buildModel on this thread. */
async function timeModel(inputs: ModelInputFile[], serial = false): Promise<{ model: TwoLayerModel; ms: number; cpu: number; phases: Array<[string, number]> }> {
  const phases: Array<[string, number]> = [];
  const t0 = performance.now();
  const c0 = cpuMs();
  const model = serial ? buildModel(inputs, { phases }) : await buildModelParallel(inputs, { phases, ...(fs.existsSync(workerBundle) ? { workerBundle: pathToFileURL(workerBundle) } : {}) });
  return { model, ms: performance.now() - t0, cpu: cpuMs() - c0, phases };
}

/** "scan host 680, scan guest 735, ..." (CPU ms per build phase; same-named phases summed). */
function phaseLine(phases: Array<[string, number]>): string {
  const sum = new Map<string, number>();
  for (const [n, ms] of phases) sum.set(n, (sum.get(n) ?? 0) + ms);
  return [...sum].map(([n, ms]) => `${n} ${ms.toFixed(0)}`).join(', ');
}

/**
 * sha256 (first 16 hex digits) of every derived table: typed arrays by their bytes, the rest as
 * JSON, keys sorted, input files by name only; the alignment's details, clock map, notes and the
 * alignment inputs left out (offsets and the tables built with them are in). Equal before and
 * after a performance change means the same model (2026-12-03: twolayer-a 75587ad420880fac, -b
 * 7c83edf0f0c06f50, the 1.5 GB simulator set fa8fe5c30d99fc4e; with the full paths, from /tmp/rec
 * and /tmp/m-work/sim10, as the model's earlier commits computed it: acc94ddf467c3e39,
 * 97183541c1d6c5d0, 8a55b5eefe5e7221).
 */
function modelHash(model: TwoLayerModel): string {
  const h = createHash('sha256');
  const skip = /\.(alignInput|alignment|clock|notes)$/;
  const walk = (x: unknown, key: string): void => {
    if (skip.test(key)) return;
    if (ArrayBuffer.isView(x)) {
      h.update(key);
      h.update(new Uint8Array(x.buffer as ArrayBuffer, x.byteOffset, x.byteLength));
    } else if (x instanceof Map) h.update(key + JSON.stringify([...x]));
    else if (Array.isArray(x)) x.forEach((y, i) => walk(y, `${key}.${i}`));
    else if (x && typeof x === 'object') for (const k of Object.keys(x).sort()) walk((x as Record<string, unknown>)[k], `${key}.${k}`);
    // file names without their folder: the simulator set is written to a fresh temporary folder per run
    else h.update(`${key}=${JSON.stringify(/\.(hostFile|guestFile|file)$/.test(key) && typeof x === 'string' ? path.basename(x) : x)}`);
  };
  walk(model, '');
  return h.digest('hex').slice(0, 16);
}

function followStats(model: TwoLayerModel): string {
  const times: number[] = [];
  let segs = 0;
  for (const vm of model.vms) {
    const G = vm.guest;
    if (!G) continue;
    for (let k = 0; k < G.tids.length; k++) {
      const t0 = performance.now();
      const f = followThread(model, { tid: G.tids[k]!, vm: vm.name });
      times.push(performance.now() - t0);
      segs = Math.max(segs, f?.segments.length ?? 0);
    }
  }
  times.sort((a, b) => a - b);
  const p50 = times[Math.floor(times.length / 2)] ?? 0;
  return `follow: ${times.length} threads, p50 ${p50.toFixed(3)} ms, max ${(times[times.length - 1] ?? 0).toFixed(3)} ms (largest answer ${segs} segments)`;
}

function rangeQueries(model: TwoLayerModel): string {
  const span = model.hostEndNs - model.hostStartNs;
  const a = model.hostStartNs + span / 2;
  const b = a + 1e9;
  const vm = model.vms.find((v) => v.guest);
  let t0 = performance.now();
  const p = vm ? vmPlacement(model, { vm: vm.name, startNs: a, endNs: b }) : null;
  const vmMs = performance.now() - t0;
  t0 = performance.now();
  const c = coreToThreads(model, { core: 0, startNs: a, endNs: b });
  const coreMs = performance.now() - t0;
  return `1 s window mid-trace: vmPlacement ${vmMs.toFixed(2)} ms (${p?.segments.length ?? 0} segments), coreToThreads ${coreMs.toFixed(2)} ms (${c.threads.length} threads)`;
}

async function measure(ctx: BenchContext, label: string, files: string[], inputsOf: (traces: IndexedTrace[]) => ModelInputFile[]): Promise<void> {
  const cacheDir = path.join(ctx.tmpDir, `cache-${label}`);
  const ing = await ingest(files, cacheDir);
  const bytes = files.reduce((s, f) => s + fs.statSync(f).size, 0);
  ctx.log(`${label}: ${files.length} files, ${(bytes / 1e6).toFixed(1)} MB, ${ing.events} events; ingest ${ing.ms.toFixed(0)} ms wall (${ing.cpu.toFixed(0)} ms CPU, all threads of this process)`);
  try {
    const threads = ing.events >= PARALLEL_MIN_ROWS ? 'worker + main thread' : 'inline: below the worker threshold';
    const m = await timeModel(inputsOf(ing.traces));
    ctx.log(
      `${label}: model ${m.ms.toFixed(0)} ms wall, ${m.cpu.toFixed(0)} ms CPU (${threads}) = ${((100 * m.ms) / ing.ms).toFixed(1)}% of ingest wall time (target <= 25%), ${((100 * m.cpu) / ing.cpu).toFixed(1)}% of its CPU time; ${(ing.events / (m.ms / 1000) / 1e6).toFixed(1)} M events/s`,
    );
    ctx.log(`${label}: model phases, CPU ms of the process (both threads): ${phaseLine(m.phases)} (nothing of the model runs during ingest)`);
    if (ing.events >= PARALLEL_MIN_ROWS) {
      // the same build on one thread, for comparison (phases per job); it runs second, with this
      // thread's code and the allocator's pages warm, so it is cheaper than a first build would be
      const s1 = await timeModel(inputsOf(ing.traces), true);
      ctx.log(`${label}: model on one thread (second build in this process: warm) ${s1.ms.toFixed(0)} ms wall, ${s1.cpu.toFixed(0)} ms CPU = ${((100 * s1.ms) / ing.ms).toFixed(1)}% of ingest wall; phases: ${phaseLine(s1.phases)}`);
    }
    if (ing.events < 5e6) {
      // small inputs: the first build pays for JIT compilation; a second one shows the steady cost
      const w = await timeModel(inputsOf(ing.traces));
      ctx.log(`${label}: model again (warm) ${w.ms.toFixed(0)} ms wall, ${w.cpu.toFixed(0)} ms CPU = ${((100 * w.ms) / ing.ms).toFixed(1)}% of ingest`);
    }
    for (const vm of m.model.vms) {
      if (!vm.alignment) continue;
      ctx.log(`${label}: ${vm.name}: offset ${vm.offsetNs} ns (${vm.alignment.method}, quality ${(vm.alignment.quality * 100).toFixed(1)}%), ${vm.guest?.tids.length ?? 0} threads, ${vm.guest?.segStartNs.length ?? 0} placement segments`);
    }
    ctx.log(`${label}: sha256 of the derived tables ${modelHash(m.model)}`);
    ctx.log(`${label}: ${followStats(m.model)}`);
    ctx.log(`${label}: ${rangeQueries(m.model)}`);
    ctx.log(`${label}: rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
  } finally {
    for (const t of ing.traces) t.close();
  }
}

/** Pair each simulated guest with its VM through truth.json (two VMs of equal size are ambiguous otherwise). */
function simInputs(truth: Truth, traces: IndexedTrace[]): ModelInputFile[] {
  const host = traces.find((t) => path.basename(t.path) === truth.hostFile)!;
  const hostOnly = buildModel([{ trace: host }]);
  const out: ModelInputFile[] = [{ trace: host }];
  for (const tv of truth.vms) {
    const want = tv.vcpus.map((v) => v.hostTid).join(',');
    const vm = hostOnly.vms.find((v) => v.hostIds.join(',') === want);
    const trace = traces.find((t) => path.basename(t.path) === tv.guestFile)!;
    out.push({ trace, ...(vm ? { vm: vm.name } : {}) });
  }
  return out;
}

export default async function modelBench(ctx: BenchContext): Promise<void> {
  ctx.log(`machine: ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (shared: expect noise)`);
  let real = ['/tmp/rec/twolayer-a', '/tmp/rec/twolayer-b'].filter((d) => fs.existsSync(path.join(d, 'host.dat')) && fs.existsSync(path.join(d, 'guest.dat')));
  if (real.length === 0) {
    const d = path.join(ctx.tmpDir, 'fixture');
    fs.mkdirSync(d);
    const fx = path.join(here, '..', 'model', 'fixtures');
    fs.writeFileSync(path.join(d, 'host.report.txt'), gunzipSync(fs.readFileSync(path.join(fx, 'host.report.cut.txt.gz'))));
    fs.writeFileSync(path.join(d, 'guest_tracefs.txt'), gunzipSync(fs.readFileSync(path.join(fx, 'guest_tracefs.cut.txt.gz'))));
    await measure(ctx, 'fixture', [path.join(d, 'host.report.txt'), path.join(d, 'guest_tracefs.txt')], (t) => t.map((trace) => ({ trace })));
    real = [];
  }
  for (const d of real) await measure(ctx, path.basename(d), [path.join(d, 'host.dat'), path.join(d, 'guest.dat')], (t) => t.map((trace) => ({ trace })));

  const sizeBytes = Number(process.env.VCPUSCOPE_BENCH_MODEL_BYTES ?? 1.5e9);
  const simDir = path.join(ctx.tmpDir, 'sim');
  const g0 = performance.now();
  const { truth } = await generate({ out: simDir, scenario: 'noisy-neighbour', sizeBytes, seed: 3, force: true });
  ctx.log(`simulator: ${(truth.generator.bytes / 1e6).toFixed(0)} MB of text (${truth.generator.seconds.toFixed(1)} s simulated) in ${((performance.now() - g0) / 1000).toFixed(1)} s`);
  const files = [truth.hostFile, ...truth.vms.map((v) => v.guestFile)].map((f) => path.join(simDir, f));
  await measure(ctx, 'sim', files, (traces) => simInputs(truth, traces));
  for (const f of files) fs.rmSync(f, { force: true });
}
