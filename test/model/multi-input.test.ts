// A single `trace-cmd report -i host.dat -i guest.dat` file (fixtures/combined-b.cut.txt.gz, a real
// recording; fixtures/README.md) holds both layers, each line prefixed by its input. The model takes
// each input as its own trace with its role detected, so follow / stats / report on the one file
// answer as on the two files given separately (made here from the same lines, prefix removed).

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openIndexed } from '../../main/engine/index/open.ts';
import { buildModel } from '../../main/engine/model/model.ts';
import { splitInputs } from '../../main/engine/model/inputs.ts';
import { followThread } from '../../main/engine/query/follow.ts';
import { vmSummary } from '../../main/cli/stats-extensions.ts';
import { runCli } from '../../main/cli/main.ts';
import type { CliIo } from '../../main/cli/command.ts';

const fx = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

function captureIo(cacheDir: string): { io: CliIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const io = {
    stdout: { write: (s: string) => ((out += s), true) } as unknown as NodeJS.WriteStream,
    stderr: { write: (s: string) => ((err += s), true) } as unknown as NodeJS.WriteStream,
    env: { ...process.env, VCPUSCOPE_CACHE_DIR: cacheDir },
  };
  return { io, out: () => out, err: () => err };
}

test('multi-input trace-cmd report: each input is its own trace; results equal the two files', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-multi-'));
  try {
    const text = gunzipSync(fs.readFileSync(path.join(fx, 'combined-b.cut.txt.gz'))).toString('latin1');
    const combined = path.join(dir, 'combined.txt');
    fs.writeFileSync(combined, text, 'latin1');
    // the same lines as two single-input reports: "<input>:" prefix removed, one "cpus=" header each
    const lines = text.split('\n');
    const only = (prefix: RegExp): string => ['cpus=2', ...lines.filter((l) => prefix.test(l) && !/cpus=/.test(l)).map((l) => l.replace(prefix, ''))].join('\n') + '\n';
    const hostPath = path.join(dir, 'host.txt');
    const guestPath = path.join(dir, 'guest.txt');
    fs.writeFileSync(hostPath, only(/^ *host\.dat:/), 'latin1');
    fs.writeFileSync(guestPath, only(/^ *guest\.dat:/), 'latin1');

    const c = await openIndexed(combined, { workers: 0 });
    const h = await openIndexed(hostPath, { workers: 0 });
    const g = await openIndexed(guestPath, { workers: 0 });
    try {
      assert.deepEqual(c.inputs, ['host.dat', 'guest.dat']);
      const parts = splitInputs(c);
      assert.equal(parts.length, 2);
      assert.equal(parts[0]!.rowCount, h.rowCount);
      assert.equal(parts[1]!.rowCount, g.rowCount);
      assert.equal(parts[0]!.rowCount + parts[1]!.rowCount, c.rowCount);
      assert.deepEqual(parts[1]!.summary.byEvent, g.summary.byEvent);
      assert.deepEqual(parts[0]!.summary.cpus, h.summary.cpus);
      // rows read back through the view equal the single file's (time, CPU, kind, tids)
      const a = parts[1]!.readRows(100, 500);
      const b = g.readRows(100, 500);
      for (const col of ['ts', 'cpu', 'kind', 'tid', 'prevTid', 'prevState'] as const) assert.deepEqual(a[col], b[col], col);

      const one = buildModel([{ trace: c }]);
      const two = buildModel([{ trace: g }, { trace: h }]);
      assert.equal(one.hostFile, `${combined}#host.dat`);
      assert.equal(one.vms.length, 1);
      assert.equal(two.vms.length, 1);
      const s1 = vmSummary(one, one.vms[0]!);
      const s2 = vmSummary(two, two.vms[0]!);
      assert.equal(s1.guestFile, `${combined}#guest.dat`);
      assert.ok(s1.alignment!.quality > 0.95, `quality ${s1.alignment!.quality}`);
      assert.deepEqual({ ...s1, guestFile: null }, { ...s2, guestFile: null });
      const G = one.vms[0]!.guest!;
      assert.ok(G.tids.length > 50);
      for (const tid of G.tids) assert.deepEqual(followThread(one, { tid }), followThread(two, { tid }), `tid ${tid}`);
      assert.equal(one.lhp.length, two.lhp.length);
      assert.ok(one.lhp.length > 0);
      assert.deepEqual(one.lhp.startNs, two.lhp.startNs);
    } finally {
      for (const t of [c, h, g]) t.close();
    }

    // the CLI on the one file (cached model: the second run reads it back) and on the two files
    const cache = path.join(dir, 'cache');
    const run = async (args: string[]): Promise<string> => {
      const r = captureIo(cache);
      assert.equal(await runCli(args, r.io), 0, r.err());
      return r.out();
    };
    const st1 = JSON.parse(await run(['stats', combined, '--json', '--quiet'])) as { vms: Array<Record<string, unknown>> };
    const st1again = JSON.parse(await run(['stats', combined, '--json', '--quiet'])) as { vms: Array<Record<string, unknown>> };
    const st2 = JSON.parse(await run(['stats', hostPath, guestPath, '--json', '--quiet'])) as { vms: Array<Record<string, unknown>> };
    assert.equal(st1.vms.length, 1);
    assert.deepEqual(st1again.vms, st1.vms);
    assert.deepEqual({ ...st1.vms[0], guestFile: null }, { ...st2.vms[0], guestFile: null });
    const tid = '111';
    assert.equal(await run(['follow', combined, '--tid', tid, '--json']), await run(['follow', hostPath, guestPath, '--tid', tid, '--json']));
    // file names differ, and the one file has a note saying it was split
    const strip = (s: string): string => s.split('\n').filter((l) => !/host trace|guest trace|note:/.test(l)).join('\n');
    assert.equal(strip(await run(['report', combined])), strip(await run(['report', hostPath, guestPath])));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
