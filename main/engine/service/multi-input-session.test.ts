// A multi-input `trace-cmd report -i host.dat -i guest.dat` file in the app: the session has one
// file per input (named FILE#<input>), the host input with the host layer and the guest input with
// the guest layer and the model's clock offset, separate lanes for host cores and guest vCPUs, rows
// equal to the input's own rows shifted by the offset, and the original line readable.
// Fixture: the model's combined-b.cut.txt.gz (a real two-layer recording, 3 s cut).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { tableFromIPC } from 'apache-arrow';
import { openIndexed } from '../index/open.ts';
import { buildModel } from '../model/model.ts';
import { splitInputs } from '../model/inputs.ts';
import type { Result } from '../../../shared/result.ts';
import { TraceService } from './trace-service.ts';
import { splitSessionInputs } from './input-split.ts';

const FIXTURE = fileURLToPath(new URL('../../../test/model/fixtures/combined-b.cut.txt.gz', import.meta.url));

function value<T>(r: Result<T>): T {
  if (!r.ok) assert.fail(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

test('multi-input report file: one session file per input, each with its layer and clock offset', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-multi-svc-'));
  try {
    const file = path.join(dir, 'combined.txt');
    fs.writeFileSync(file, gunzipSync(fs.readFileSync(FIXTURE)));
    // Reference: the model on the file (it splits the inputs itself), and each input's rows.
    const tr = await openIndexed(file, { workers: 0 });
    assert.ok((tr.inputs?.length ?? 0) >= 2, 'the fixture has two inputs');
    const model = buildModel([{ trace: tr }]);
    assert.equal(model.vms.length, 1);
    const vm = model.vms[0]!;
    assert.ok(vm.guestFile && vm.offsetNs !== null, 'the model found the guest input and its offset');
    const refViews = splitInputs(tr);
    const guestRef = refViews.find((v) => v.path === vm.guestFile)!;
    const hostRef = refViews.find((v) => v.path === model.hostFile)!;

    // The session views have whole batches (except the last) and the same rows as the model's views.
    const views = splitSessionInputs(tr);
    for (const v of views) {
      const ref = refViews.find((r) => r.path === v.path)!;
      assert.ok(ref, v.path);
      assert.equal(v.rowCount, ref.rowCount);
      assert.deepEqual(v.summary.cpus, ref.summary.cpus);
      assert.deepEqual(v.summary.byEvent, ref.summary.byEvent);
      for (let b = 0; b + 1 < v.batchCount; b++) assert.equal(v.readBatch(b).length, v.batchRows);
      const a = v.readRows(0, v.rowCount);
      const r = ref.readRows(0, ref.rowCount);
      assert.deepEqual(a.ts, r.ts);
      assert.deepEqual(a.offset, r.offset);
      assert.deepEqual(a.tid, r.tid);
      assert.deepEqual(a.cpu, r.cpu);
    }

    const svc = new TraceService({ cacheDir: path.join(dir, 'cache'), pathAllowed: () => true, batchRows: 4096 });
    const { loadId } = value(await svc.open({ paths: [file] }));
    let sessionId = '';
    for (let i = 0; i < 3000 && !sessionId; i++) {
      const s = value(await svc.loadStatus({ loadId }));
      if (s.state === 'ready') sessionId = s.sessionId!;
      else {
        assert.equal(s.state, 'loading', s.error);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    assert.ok(sessionId, 'load did not finish');
    const info = value(await svc.sessionInfo({ sessionId }));
    assert.equal(info.files.length, 2);
    const hi = info.files.findIndex((f) => f.path === hostRef.path);
    const gi = info.files.findIndex((f) => f.path === guestRef.path);
    assert.ok(hi >= 0 && gi >= 0, info.files.map((f) => f.path).join(', '));
    assert.equal(info.files[hi]!.layer, 'host');
    assert.equal(info.files[gi]!.layer, 'guest');
    assert.equal(info.twoLayer, true);
    assert.equal(info.rowCount, tr.rowCount);
    assert.equal(info.vms.length, 1);
    assert.equal(info.vms[0]!.guestFile, gi);
    assert.equal(info.vms[0]!.hostFile, hi);
    assert.equal(info.vms[0]!.offsetNs, vm.offsetNs);
    // host cores and guest vCPUs are separate lanes
    const guestLanes = info.lanes.filter((l) => l.file === gi);
    const hostLanes = info.lanes.filter((l) => l.file === hi);
    assert.ok(guestLanes.length > 0 && hostLanes.length > 0);
    assert.ok(guestLanes.every((l) => /vCPU/.test(l.label)), guestLanes.map((l) => l.label).join(', '));

    // The guest input's rows in the table: its own rows, shifted by the offset (a constant one here).
    const want = guestRef.readRows(0, guestRef.rowCount);
    for (const start of [0, Math.max(0, want.length - 2000)]) {
      const t = tableFromIPC(value(await svc.rows({ sessionId, filter: { files: [gi] }, start, count: 2000 })));
      const ts = t.getChild('ts')!.toArray() as Float64Array;
      const off = t.getChild('offset')!.toArray() as Float64Array;
      assert.ok(ts.length > 0);
      for (let k = 0; k < ts.length; k++) {
        assert.equal(ts[k], want.ts[start + k]! + vm.offsetNs!, `guest row ${start + k}`);
        assert.equal(off[k], want.offset[start + k]);
      }
      // the original line of a guest row is read from the file itself
      const text = value(await svc.record({ sessionId, file: gi, offsetBytes: off[0]! }));
      assert.ok(text.text.length > 0, 'original line');
    }
    // Whole table in time order across both inputs.
    const all = tableFromIPC(value(await svc.rows({ sessionId, filter: {}, start: 0, count: 5000 })));
    const ts = all.getChild('ts')!.toArray() as Float64Array;
    for (let k = 1; k < ts.length; k++) assert.ok(ts[k]! >= ts[k - 1]!, `time order at ${k}`);
    await svc.closeSession({ sessionId });
    tr.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
