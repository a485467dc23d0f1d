// Lanes of a file end at that file's last event (session clock), not at the end of the session:
// a guest trace that stops before the host must not be drawn running until the host's end.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventColumnsBuilder } from '../index/event-columns.ts';
import { MemoryIndexedTrace } from '../index/indexed-trace.ts';
import { SummaryAccumulator } from '../index/summary.ts';
import { EventKind } from '../../../shared/schema.ts';
import { prepareSession } from './session-data.ts';

function trace(path: string, lastTs: number): MemoryIndexedTrace {
  const b = new EventColumnsBuilder(16);
  const a = b.commId('a');
  const c = b.commId('b');
  const ev = b.eventId('sched_switch');
  for (let t = 0; t <= lastTs; t += 100) b.append(EventKind.switch, ev, t, 0, t % 200 ? 1 : 2, t % 200 ? 2 : 1, t % 200 ? c : a, t % 200 ? 1 : 2, t % 200 ? a : c, 1, 120, 120, t);
  const cols = b.finishCopy();
  const acc = new SummaryAccumulator();
  acc.add(cols);
  const info = { format: 'test', entity: 'tid' as const };
  return new MemoryIndexedTrace(path, cols, acc.finish(path, 1, 'test', info, cols.events, [], 0), info);
}

test('each file\'s lanes end at its own last event', async () => {
  const host = trace('host', 10_000);
  const guest = trace('guest', 3_000);
  const d = await prepareSession([host, guest], { cancelled: false }, () => undefined, [0, 500]);
  const hostLane = d.lanes.find((l) => l.file === 0)!;
  const guestLane = d.lanes.find((l) => l.file === 1)!;
  assert.equal(hostLane.endNs, 10_000);
  assert.equal(guestLane.endNs, 3_500);
});
