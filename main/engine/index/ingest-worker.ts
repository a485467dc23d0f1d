// Ingest worker thread: opens its own read-only FileSource, reads the units the coordinator
// assigns (one at a time) and posts their column chunks back as transferred typed arrays.
// Protocol: ingest.ts (InitMessage, then { type: 'unit', unit } ...; replies are UnitMessage).

import { parentPort, workerData } from 'node:worker_threads';
import { FileSource } from '../io/byte-source.ts';
import { formatById } from '../../formats/registry.ts';
import type { CancelSignal, ReadPlan, TraceFormat } from '../../formats/types.ts';
import { runUnit, transferList, type UnitMessage } from './ingest-unit.ts';

export interface WorkerInit {
  path: string;
  formatId: string;
  /** Module exporting `format` (test formats that are not in the registry). */
  formatModuleUrl?: string;
  plan: ReadPlan;
  chunkRows: number;
  /** Int32 flag: non-zero = cancelled. */
  cancelFlag: SharedArrayBuffer;
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const init = workerData as WorkerInit;
  let format: TraceFormat | undefined;
  if (init.formatModuleUrl) {
    const mod = (await import(init.formatModuleUrl)) as { format?: TraceFormat };
    format = mod.format;
  } else format = formatById(init.formatId);
  const flag = new Int32Array(init.cancelFlag);
  const signal: CancelSignal = {
    get cancelled() {
      return Atomics.load(flag, 0) !== 0;
    },
  };
  const src = new FileSource(init.path);
  const emit = (m: UnitMessage): void => {
    if (m.type === 'chunk') port.postMessage(m, transferList(m.cols));
    else port.postMessage(m);
  };
  port.on('message', (msg: { type: 'unit'; unit: number } | { type: 'close' }) => {
    if (msg.type === 'close') {
      src.close();
      port.close();
      return;
    }
    if (!format) {
      emit({ type: 'unit-error', unit: msg.unit, message: `format ${init.formatId} is not available in the worker`, badInput: false });
      return;
    }
    runUnit(format, src, init.plan, msg.unit, init.chunkRows, signal, emit);
  });
  port.postMessage({ type: 'ready' });
}

void main();
