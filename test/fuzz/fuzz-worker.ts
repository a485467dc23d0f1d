// Fuzz worker: runs one input through the whole pipeline (sniff, plan, read every unit, summary,
// the two-layer model, and every Nth input the real indexer with its cache) and reports how it ended. Runs in a
// worker thread with memory limits so that a hang or unbounded growth is caught by the parent.

import { parentPort } from 'node:worker_threads';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MemorySource } from '../../main/engine/io/byte-source.ts';
import { detectFormat } from '../../main/formats/registry.ts';
import { TraceFormatError } from '../../main/formats/types.ts';
import { readInline } from '../../main/engine/index/read-inline.ts';
import { SummaryAccumulator } from '../../main/engine/index/summary.ts';
import { openIndexed, OpenError } from '../../main/engine/index/open.ts';
import { MemoryIndexedTrace } from '../../main/engine/index/indexed-trace.ts';
import { buildModel, ModelError } from '../../main/engine/model/model.ts';

export interface FuzzRequest {
  id: number;
  name: string;
  bytes: Uint8Array;
  full: boolean;
}

export interface FuzzReply {
  id: number;
  outcome: 'parsed' | 'rejected' | 'crash';
  formatId?: string;
  events?: number;
  diagnostics?: number;
  message?: string;
}

function run(req: FuzzRequest): FuzzReply {
  const src = new MemorySource(req.name, req.bytes);
  try {
    const format = detectFormat(src);
    if (!format) return { id: req.id, outcome: 'rejected', message: 'no format' };
    const r = readInline(format, src, { cpuHz: 2.4e9 });
    const acc = new SummaryAccumulator();
    acc.add(r.columns);
    const s = acc.finish(req.name, req.bytes.length, format.id, r.info, r.columns.events, r.diagnostics.kept, r.diagnostics.total);
    JSON.stringify(s); // the summary must be serialisable (no bigints, no cycles)
    for (const d of s.diagnostics) {
      if (typeof d.offset !== 'number' || !Number.isFinite(d.offset)) throw new Error(`diagnostic without a byte offset: ${d.message}`);
    }
    // The two-layer model over the mutated trace as a host layer: it must build or refuse cleanly.
    try {
      buildModel([{ trace: new MemoryIndexedTrace(req.name, r.columns, s, r.info), role: 'host' }]);
    } catch (e) {
      if (!(e instanceof ModelError)) throw e;
    }
    return { id: req.id, outcome: 'parsed', formatId: format.id, events: s.events, diagnostics: s.diagnosticsTotal };
  } catch (e) {
    if (e instanceof TraceFormatError) return { id: req.id, outcome: 'rejected', message: e.message };
    return { id: req.id, outcome: 'crash', message: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e) };
  }
}

async function runFull(req: FuzzRequest): Promise<FuzzReply> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcpuscope-fuzz-'));
  const file = path.join(dir, req.name.replace(/[^\w.-]/g, '_'));
  try {
    fs.writeFileSync(file, req.bytes);
    const t = await openIndexed(file, { cacheDir: path.join(dir, 'cache'), cpuHz: 2.4e9 });
    // Read every batch back: the cache must be readable and consistent with the summary.
    let rows = 0;
    for (let b = 0; b < t.batchCount; b++) rows += t.readBatch(b).length;
    t.close();
    if (rows !== t.summary.events) throw new Error(`cache rows ${rows} != summary events ${t.summary.events}`);
    return { id: req.id, outcome: 'parsed', events: rows };
  } catch (e) {
    if (e instanceof OpenError || e instanceof TraceFormatError) return { id: req.id, outcome: 'rejected', message: e.message };
    return { id: req.id, outcome: 'crash', message: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

parentPort?.on('message', (req: FuzzRequest) => {
  const first = run(req);
  if (first.outcome !== 'crash' && req.full) {
    void runFull(req).then((r) => parentPort?.postMessage(r.outcome === 'crash' ? r : first));
    return;
  }
  parentPort?.postMessage(first);
});
