// Ingest worker thread: opens its own read-only FileSource, reads the units the coordinator
// assigns (one at a time) and posts their column chunks back as transferred typed arrays.
// Protocol: ingest.ts (InitMessage, then { type: 'unit', unit } ...; replies are UnitMessage).

import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { FileSource } from '../io/byte-source.ts';
import { formatById } from '../../formats/registry.ts';
import type { CancelSignal, ReadPlan, TraceFormat } from '../../formats/types.ts';
import type { ColumnArrays } from './event-columns.ts';
import { loadFormatModule, runUnit, transferList, type UnitMessage } from './ingest-unit.ts';

export interface WorkerInit {
  path: string;
  formatId: string;
  /** Module exporting `format` (test formats that are not in the registry). */
  formatModuleUrl?: string;
  plan: ReadPlan;
  chunkRows: number;
  /** Int32 flag: non-zero = cancelled. */
  cancelFlag: SharedArrayBuffer;
  /** The coordinator sends chunk arrays it is done with back here (polled synchronously). */
  recyclePort: MessagePort;
}

/** Recycled sets kept at most (each is one chunk: 3.4 MB at 65536 rows). */
const MAX_FREE = 4;

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const init = workerData as WorkerInit;
  let format: TraceFormat | undefined;
  if (init.formatModuleUrl) {
    format = await loadFormatModule(init.formatModuleUrl);
  } else format = formatById(init.formatId);
  const flag = new Int32Array(init.cancelFlag);
  const signal: CancelSignal = {
    get cancelled() {
      return Atomics.load(flag, 0) !== 0;
    },
  };
  const src = new FileSource(init.path);
  const free: ColumnArrays[] = [];
  // Polled inside the synchronous readUnit (messages to parentPort would wait for the unit's end).
  const takeFree = (): ColumnArrays | undefined => {
    for (;;) {
      const m = receiveMessageOnPort(init.recyclePort) as { message: ColumnArrays } | undefined;
      if (!m) break;
      if (free.length < MAX_FREE) free.push(m.message);
    }
    return free.pop();
  };
  const emit = (m: UnitMessage): void => {
    if (m.type === 'chunk') port.postMessage(m, transferList(m.cols));
    else port.postMessage(m);
  };
  port.on('message', (msg: { type: 'unit'; unit: number } | { type: 'close' }) => {
    if (msg.type === 'close') {
      src.close();
      init.recyclePort.close();
      port.close();
      return;
    }
    if (!format) {
      emit({ type: 'unit-error', unit: msg.unit, message: `format ${init.formatId} is not available in the worker`, badInput: false });
      return;
    }
    runUnit(format, src, init.plan, msg.unit, init.chunkRows, signal, emit, takeFree);
  });
  port.postMessage({ type: 'ready' });
}

void main();
