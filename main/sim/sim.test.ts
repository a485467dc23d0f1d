// Simulator tests without the readers: determinism, truth invariants, scenario behaviour and the
// generate() contract (folder rules, limits). Reader round trips live in test/sim/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SCENARIO, generate, generateDemo, GenerateError, SCENARIOS, type Truth } from './index.ts';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'vcpuscope-sim-'));

function filesOf(dir: string): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const f of readdirSync(dir).sort()) out[f] = readFileSync(join(dir, f));
  return out;
}

test('same seed gives byte-identical files; another seed gives different ones', async () => {
  const a = tmp();
  const b = tmp();
  const c = tmp();
  try {
    await generate({ out: a, scenario: 'overcommit', seconds: 0.3, seed: 7 });
    await generate({ out: b, scenario: 'overcommit', seconds: 0.3, seed: 7 });
    await generate({ out: c, scenario: 'overcommit', seconds: 0.3, seed: 8 });
    const fa = filesOf(a);
    const fb = filesOf(b);
    assert.deepEqual(Object.keys(fa), ['guest-build.txt', 'guest-db.txt', 'guest-web.txt', 'host.txt', 'truth.json']);
    for (const k of Object.keys(fa)) assert.ok(fa[k]!.equals(fb[k]!), `${k} differs between two runs with the same seed`);
    assert.ok(!fa['host.txt']!.equals(readFileSync(join(c, 'host.txt'))), 'seed 8 wrote the same host trace as seed 7');
  } finally {
    for (const d of [a, b, c]) rmSync(d, { recursive: true, force: true });
  }
});

function checkTruth(truth: Truth, label: string): void {
  for (const vm of truth.vms) {
    assert.ok(vm.guestOffsetNs > 0, `${label}/${vm.name}: guest offset must be non-zero`);
    assert.ok(vm.threads.length > 0, `${label}/${vm.name}: no threads`);
    for (const th of vm.threads) {
      const onCores = Object.values(th.coreNs).reduce((s, v) => s + v, 0);
      assert.equal(onCores + th.stealNs, th.runNs, `${label}/${vm.name}/${th.tid}: sum(coreNs) + stealNs != runNs`);
      assert.ok(th.stealNs >= 0 && th.runNs >= 0);
      for (const k of Object.keys(th.coreNs)) assert.ok(Number(k) < truth.generator.cores, `core ${k} out of range`);
      assert.ok(th.migrations.host <= th.migrations.physical, `${label}/${th.tid}: host migrations > physical`);
    }
    const f = vm.coscheduling.fractions;
    assert.equal(f.length, vm.vcpus.length + 1);
    assert.ok(Math.abs(f.reduce((s, x) => s + x, 0) - 1) < 1e-9, `${label}/${vm.name}: fractions sum to ${f.reduce((s, x) => s + x, 0)}`);
  }
}

test('every scenario: truth invariants hold (sum of core time + steal = run time, fractions sum to 1)', async () => {
  for (const s of SCENARIOS) {
    for (const policy of ['fair', 'cosched'] as const) {
      const d = tmp();
      try {
        const { truth } = await generate({ out: d, scenario: s.name, seconds: 0.4, seed: 3, policy });
        checkTruth(truth, `${s.name}/${policy}`);
        const busy = truth.vms.flatMap((v) => v.threads).filter((t) => t.runNs > 0);
        assert.ok(busy.length >= 2, `${s.name}/${policy}: almost nothing ran`);
      } finally {
        rmSync(d, { recursive: true, force: true });
      }
    }
  }
});

test('lock-holder-preemption: co-scheduling keeps the VM\'s vCPUs together, fair scheduling does not', async () => {
  const d1 = tmp();
  const d2 = tmp();
  try {
    const fair = (await generate({ out: d1, scenario: 'lock-holder-preemption', seconds: 1, seed: 1, policy: 'fair' })).truth;
    const gang = (await generate({ out: d2, scenario: 'lock-holder-preemption', seconds: 1, seed: 1, policy: 'cosched' })).truth;
    const db = (t: Truth) => t.vms.find((v) => v.name === 'db')!.coscheduling.fractions;
    // With gang scheduling the VM is mostly either fully on (4) or fully off (0).
    const allOrNothing = (f: number[]) => f[0]! + f[4]!;
    assert.ok(allOrNothing(db(gang)) > 0.75, `cosched all-or-nothing share ${allOrNothing(db(gang))}`);
    assert.ok(allOrNothing(db(fair)) < 0.5, `fair all-or-nothing share ${allOrNothing(db(fair))}`);
    // The paper's point: without co-scheduling, spinners burn CPU while the holder is preempted.
    const w = (t: Truth) => t.vms.find((v) => v.name === 'db')!.workload;
    assert.ok(w(gang).spinNs < w(fair).spinNs / 2, `spin ${w(gang).spinNs} (cosched) vs ${w(fair).spinNs} (fair)`);
    assert.ok(w(gang).criticalSections > w(fair).criticalSections, `critical sections ${w(gang).criticalSections} vs ${w(fair).criticalSections}`);
    // Overcommitted 2:1, so lockbench threads see steal under both policies.
    const steal = (t: Truth) => t.vms[0]!.threads.filter((x) => x.comm === 'lockbench').every((x) => x.stealNs > 0.2 * x.runNs);
    assert.ok(steal(fair) && steal(gang));
  } finally {
    rmSync(d1, { recursive: true, force: true });
    rmSync(d2, { recursive: true, force: true });
  }
});

test('pinned: the pinned VM\'s threads change core only through guest migrations', async () => {
  const d = tmp();
  try {
    const { truth } = await generate({ out: d, scenario: 'pinned', seconds: 1, seed: 2 });
    const rt = truth.vms.find((v) => v.name === 'rt')!;
    const workers = rt.threads.filter((t) => t.comm === 'omp-worker');
    assert.ok(workers.some((t) => t.migrations.guest > 0), 'expected guest migrations with 3 threads on 2 vCPUs');
    for (const t of workers) {
      assert.equal(t.migrations.host, 0, `thread ${t.tid} has host migrations although its vCPUs are pinned`);
      for (const k of Object.keys(t.coreNs)) assert.ok(k === '0' || k === '1', `thread ${t.tid} ran on core ${k}`);
    }
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('guest lines are time-ordered, inside the header counts, and use the guest clock', async () => {
  const d = tmp();
  try {
    const { truth } = await generate({ out: d, scenario: 'noisy-neighbour', seconds: 0.3, seed: 5 });
    for (const f of [truth.hostFile, ...truth.vms.map((v) => v.guestFile)]) {
      const lines = readFileSync(join(d, f), 'latin1').split('\n');
      const m = /^# entries-in-buffer\/entries-written: (\d+)\/(\d+) {3}#P:(\d+)$/.exec(lines[2]!);
      assert.ok(m, `${f}: header line 3 is '${lines[2]}'`);
      const body = lines.filter((l) => l.length > 0 && !l.startsWith('#'));
      assert.equal(body.length, Number(m[1]), `${f}: entries count`);
      let last = -1;
      for (const l of body) {
        const ts = /\] \S{5} +(\d+)\.(\d{9}): /.exec(l);
        assert.ok(ts, `${f}: unexpected line shape: ${l}`);
        const ns = Number(ts[1]) * 1e9 + Number(ts[2]);
        assert.ok(ns >= last, `${f}: time goes backwards at ${l}`);
        last = ns;
      }
    }
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('generate refuses a non-empty folder without force, unknown scenarios and silly sizes', async () => {
  const d = tmp();
  try {
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'keep.txt'), 'user data');
    await assert.rejects(generate({ out: d, seconds: 0.1 }), GenerateError);
    // Options are checked before anything is created: these folders must not appear.
    await assert.rejects(generate({ out: join(d, 'a'), scenario: 'nope' }), /unknown scenario 'nope'/);
    await assert.rejects(generate({ out: join(d, 'b'), vcpus: 0 }), /vcpus must be an integer/);
    await assert.rejects(generate({ out: join(d, 'c'), seconds: -1 }), /seconds must be/);
    assert.deepEqual(readdirSync(d), ['keep.txt']);
    const { truth } = await generate({ out: d, seconds: 0.1, force: true });
    assert.equal(readFileSync(join(d, 'keep.txt'), 'utf8'), 'user data', 'force must not delete unrelated files');
    assert.equal(truth.hostFile, 'host.txt');
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('a 2 s scenario is generated quickly enough for other tests to call (prints its time)', async () => {
  const d = tmp();
  try {
    const t0 = performance.now();
    const { truth } = await generate({ out: d, scenario: 'lock-holder-preemption', seconds: 2, seed: 1 });
    const ms = performance.now() - t0;
    process.stdout.write(`# 2 s lock-holder-preemption: ${ms.toFixed(0)} ms, ${(truth.generator.bytes / 1e6).toFixed(2)} MB\n`);
    assert.ok(truth.generator.bytes > 100_000);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('odd shapes (1 core, more vCPUs than cores under co-scheduling, many VMs, 1 vCPU) still satisfy the invariants', async () => {
  const shapes = [
    { scenario: 'overcommit', cores: 1 },
    { scenario: 'lock-holder-preemption', policy: 'cosched' as const, vcpus: 8, cores: 3 },
    { scenario: 'noisy-neighbour', vms: 5 },
    { scenario: 'pinned', vcpus: 1, threads: 6, policy: 'cosched' as const },
  ];
  for (const shape of shapes) {
    const d = tmp();
    try {
      const { truth } = await generate({ out: d, seconds: 0.3, seed: 9, ...shape });
      checkTruth(truth, JSON.stringify(shape));
      assert.equal(truth.vms.length, shape.vms ?? truth.vms.length);
      assert.ok(truth.vms.flatMap((v) => v.threads).filter((t) => t.runNs > 0).length >= 2, `${JSON.stringify(shape)}: almost nothing ran`);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  }
});

test('an aborted generate stops early with a clear error and writes no truth.json', async () => {
  const d = tmp();
  try {
    const ac = new AbortController();
    const run = generate({ out: d, scenario: 'noisy-neighbour', sizeBytes: 5e9, signal: ac.signal, onProgress: (_f, bytes) => {
      if (bytes > 2e6) ac.abort();
    } });
    await assert.rejects(run, /cancelled/);
    assert.ok(!readdirSync(d).includes('truth.json'));
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('generateDemo: the default scenario, into a folder that already holds files, with overrides', async () => {
  const d = tmp();
  try {
    writeFileSync(join(d, 'notes.txt'), 'keep');
    const a = await generateDemo(d);
    assert.equal(a.truth.generator.scenario, DEFAULT_SCENARIO);
    assert.equal(a.truth.generator.policy, 'fair');
    const b = await generateDemo(d, { policy: 'cosched' });
    assert.equal(b.truth.generator.policy, 'cosched');
    assert.deepEqual(readdirSync(d).sort(), ['guest-batch.txt', 'guest-db.txt', 'host.txt', 'notes.txt', 'truth.json']);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
