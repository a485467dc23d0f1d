// buildModelParallel: the same model as buildModel, with jobs really run on the worker thread
// (scans from the cache files, per-VM alignment, guest layers and LHP), on a simulator set of two
// VMs read through the cache (ArrowCacheTrace) as the engine reads it.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { generate } from '../../sim/index.ts';
import { openIndexed } from '../index/open.ts';
import { buildModel, type ModelInputFile, type TwoLayerModel } from './model.ts';
import { buildModelParallel, type ParallelPlan } from './parallel.ts';
import { MemoryIndexedTrace } from '../index/indexed-trace.ts';

/** Every value of the model, typed arrays by content, in key order (so two builds compare as strings). */
function flatten(m: TwoLayerModel): string[] {
  const out: string[] = [];
  const walk = (x: unknown, key: string): void => {
    if (ArrayBuffer.isView(x)) {
      out.push(`${key}=${x.constructor.name}[${Array.from(x as unknown as ArrayLike<number>).join(',')}]`);
      return;
    }
    if (x instanceof Map) {
      out.push(`${key}=${JSON.stringify([...x])}`);
      return;
    }
    if (Array.isArray(x)) {
      x.forEach((y, i) => walk(y, `${key}.${i}`));
      return;
    }
    if (x && typeof x === 'object') {
      for (const k of Object.keys(x).sort()) walk((x as Record<string, unknown>)[k], `${key}.${k}`);
      return;
    }
    out.push(`${key}=${JSON.stringify(x)}`);
  };
  walk(m, '');
  return out;
}

test('buildModelParallel: the worker scans, aligns and builds guest layers + LHP; the model equals buildModel', { timeout: 240_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-par-'));
  const cacheDir = path.join(dir, 'cache');
  try {
    const { truth } = await generate({ out: dir, scenario: 'noisy-neighbour', seconds: 3, seed: 11, force: true });
    const host = await openIndexed(path.join(dir, truth.hostFile), { cacheDir, workers: 0 });
    const guests = await Promise.all(truth.vms.map((v) => openIndexed(path.join(dir, v.guestFile), { cacheDir, workers: 0 })));
    const hostOnly = buildModel([{ trace: host }]);
    const inputs: ModelInputFile[] = [
      { trace: host },
      ...guests.map((g, i) => ({ trace: g, vm: hostOnly.vms.find((v) => v.hostIds.join(',') === truth.vms[i]!.vcpus.map((x) => x.hostTid).join(','))!.name })),
    ];
    const one = buildModel(inputs, { lhp: { minGapNs: 20_000 } });
    assert.equal(one.vms.filter((v) => v.guest).length, 2);
    assert.ok(one.lhp.length > 0, 'the scenario has LHP candidates (the comparison covers them)');
    let plan: ParallelPlan | null = null;
    const two = await buildModelParallel(inputs, { parallel: 'always', lhp: { minGapNs: 20_000 }, onPlan: (p) => (plan = p) });
    assert.ok(plan, 'the worker was used');
    const p = plan as ParallelPlan;
    assert.ok(p.scansOnWorker >= 1 && p.scansOnWorker < 3, `scans on the worker: ${p.scansOnWorker} of 3`);
    assert.equal(p.vmsOnWorker, 1, 'one of the two VMs aligned and built on the worker');
    assert.equal(p.hostTableEarly, true, 'the host vCPU table was built from the host scan as it arrived (the model below equals the one-thread build)');
    const a = flatten(one);
    const b = flatten(two);
    assert.equal(b.length, a.length);
    for (let i = 0; i < a.length; i++) assert.equal(b[i], a[i]);
    // inputs that the worker cannot open (memory traces) are built inline, with the same result
    let used = false;
    const mem = (t: typeof host): MemoryIndexedTrace => new MemoryIndexedTrace(t.path, t.readRows(0, t.rowCount), t.summary, t.info);
    const three = await buildModelParallel(
      inputs.map((i) => ({ ...i, trace: mem(i.trace) })),
      { parallel: 'always', lhp: { minGapNs: 20_000 }, onPlan: () => (used = true) },
    );
    assert.equal(used, false);
    assert.deepEqual(flatten(three), a);
    for (const t of [host, ...guests]) t.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
