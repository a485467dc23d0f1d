// Row pages are requested a few at a time, the most recently wanted first, and pages wanted long
// ago (scrolled past) are never sent: a jump after a fast scroll does not wait behind them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TraceApi } from '../../shared/contract.ts';
import type { Result } from '../../shared/result.ts';
import { PAGE_ROWS, RowPages } from './row-pages.ts';

function fakeApi(): { api: TraceApi; sent: number[]; answer: () => void } {
  const sent: number[] = [];
  const waiting: ((r: Result<Uint8Array>) => void)[] = [];
  const api = {
    rows: (req: { start: number }) =>
      new Promise<Result<Uint8Array>>((resolve) => {
        sent.push(req.start / PAGE_ROWS);
        waiting.push(resolve);
      }),
  } as unknown as TraceApi;
  // answers the oldest request (an error: the scheduling is what is tested here)
  const answer = (): void => waiting.shift()!({ ok: false, error: { code: 'internal', message: 'test' } } as Result<Uint8Array>);
  return { api, sent, answer };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('at most 3 page requests in flight; the newest wanted page goes first', async () => {
  const { api, sent, answer } = fakeApi();
  const pages = new RowPages(api, 's', {}, () => undefined);
  for (let p = 0; p < 10; p++) assert.equal(pages.get(p * PAGE_ROWS), null);
  assert.deepEqual(sent, [0, 1, 2]);
  assert.equal(pages.waiting, 7);
  answer();
  await tick();
  assert.deepEqual(sent, [0, 1, 2, 9], 'the last page asked for, not the next in order');
  // a jump: its page is wanted now and is sent before the older ones
  pages.get(5000 * PAGE_ROWS);
  answer();
  await tick();
  assert.equal(sent[4], 5000);
});

test('pages asked for long ago and not since are dropped, never sent', async () => {
  const { api, sent, answer } = fakeApi();
  const pages = new RowPages(api, 's', {}, () => undefined);
  for (let p = 0; p < 3; p++) pages.get(p * PAGE_ROWS); // fill the 3 slots
  pages.get(100 * PAGE_ROWS); // wanted, then scrolled past
  // the view stays on page 200 for a while (every render asks for its rows again)
  for (let k = 0; k < 300; k++) pages.get(200 * PAGE_ROWS + (k % PAGE_ROWS));
  for (let i = 0; i < 3; i++) {
    answer();
    await tick();
  }
  assert.ok(sent.includes(200), 'the page on screen is sent');
  assert.ok(!sent.includes(100), `page 100 was dropped (sent: ${sent.join(',')})`);
  assert.equal(pages.waiting, 0);
});

test('a prefetch never takes a request slot from a wanted page', async () => {
  const { api, sent, answer } = fakeApi();
  const pages = new RowPages(api, 's', {}, () => undefined);
  pages.prefetch(7 * PAGE_ROWS + 3);
  assert.deepEqual(sent, [7], 'sent when nothing is wanted and a slot is free');
  pages.prefetch(7 * PAGE_ROWS); // in flight already
  pages.prefetch(-1); // before the first row
  assert.deepEqual(sent, [7]);
  for (let p = 0; p < 3; p++) pages.get(p * PAGE_ROWS);
  assert.deepEqual(sent, [7, 0, 1], 'the two free slots go to wanted pages');
  pages.prefetch(20 * PAGE_ROWS);
  assert.deepEqual(sent, [7, 0, 1], 'page 2 is still waiting: no prefetch');
  answer();
  await tick();
  assert.deepEqual(sent, [7, 0, 1, 2], 'the freed slot goes to the wanted page, not the prefetch');
  answer();
  await tick();
  pages.prefetch(20 * PAGE_ROWS);
  assert.deepEqual(sent, [7, 0, 1, 2, 20]);
});
