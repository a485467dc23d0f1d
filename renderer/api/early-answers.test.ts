// The boot script's early answers: taken by an equal request (fields in any order), once, while
// fresh; other requests go to the engine.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SessionInfo } from '../../shared/contract.ts';
import { ok, type Result } from '../../shared/result.ts';
import { EarlyAnswers, requestKey, withEarlyAnswers } from './early-answers.ts';
import { firstRequests, fullRange, PAGE_ROWS, timelinePlotPx, timelineWidthPx } from './first-requests.ts';

test('requestKey ignores field order and undefined fields, not values', () => {
  assert.equal(requestKey('rows', { sessionId: 's', filter: {}, start: 0, count: 256 }), requestKey('rows', { count: 256, start: 0, filter: {}, sessionId: 's' }));
  assert.equal(requestKey('count', { sessionId: 's', filter: { t0Ns: undefined } }), requestKey('count', { filter: {}, sessionId: 's' }));
  assert.notEqual(requestKey('rows', { sessionId: 's', start: 0 }), requestKey('rows', { sessionId: 's', start: 256 }));
  assert.notEqual(requestKey('rows', { sessionId: 's' }), requestKey('count', { sessionId: 's' }));
  assert.notEqual(requestKey('x', { cpus: [{ file: 0, cpu: 1 }] }), requestKey('x', { cpus: [{ file: 0, cpu: 2 }] }));
});

test('an early answer is taken once by an equal request; others go to the transport', async () => {
  let clock = 0;
  const early = new EarlyAnswers(5000, () => clock);
  const sent: string[] = [];
  const t = withEarlyAnswers({ call: async (m, req) => (sent.push(requestKey(m, req)), ok('engine')) }, early);
  early.put('rows', { sessionId: 's', start: 0, count: 256, filter: {} }, Promise.resolve(ok('early')));
  assert.deepEqual(await t.call('rows', { filter: {}, count: 256, start: 0, sessionId: 's' }), ok('early'));
  assert.equal(early.taken, 1);
  assert.deepEqual(await t.call('rows', { filter: {}, count: 256, start: 0, sessionId: 's' }), ok('engine'), 'once only');
  assert.deepEqual(await t.call('rows', { filter: {}, count: 256, start: 256, sessionId: 's' }), ok('engine'));
  assert.equal(sent.length, 2);
  // stale: asked for too long ago
  early.put('count', { sessionId: 's', filter: {} }, Promise.resolve(ok('old') as Result<unknown>));
  clock = 5001;
  assert.deepEqual(await t.call('count', { sessionId: 's', filter: {} }), ok('engine'));
  assert.equal(early.taken, 1);
});

test("the first requests are the app's: page 0, the whole trace's tile at the page width (complete sessions), count, threads", () => {
  const info = { sessionId: 's1', startNs: 1000, endNs: 1000, complete: true } as SessionInfo;
  const reqs = firstRequests(info, 1400.7);
  assert.deepEqual(
    reqs.map(([m]) => m),
    ['rows', 'timeline', 'count', 'threads'],
  );
  assert.deepEqual(reqs[0], ['rows', { sessionId: 's1', filter: {}, start: 0, count: PAGE_ROWS }]);
  // Timeline.tsx: widthPx = timelineWidthPx(clientWidth); the request's width is min(8192, plot width)
  assert.deepEqual(reqs[1], ['timeline', { sessionId: 's1', filter: {}, t0Ns: 1000, t1Ns: 2000, widthPx: timelinePlotPx(timelineWidthPx(1400.7)) }]);
  assert.equal(timelinePlotPx(timelineWidthPx(1400.7)), 1290);
  assert.deepEqual(fullRange(info), { t0Ns: 1000, t1Ns: 2000 });
  assert.deepEqual(
    firstRequests({ ...info, complete: false }, 1400).map(([m]) => m),
    ['rows', 'count', 'threads'],
    'a growing session: no tile (its range still grows)',
  );
  assert.deepEqual(
    firstRequests({ ...info, complete: false }, 1400, true).map(([m]) => m),
    ['rows', 'timeline', 'count', 'threads'],
    "a cached session reading its lanes (phase 'lanes'): its range is final",
  );
});
