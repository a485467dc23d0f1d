// The first screen's requests, built here for both the boot script (renderer/boot.ts), which sends
// them as soon as it has the session, and the app, which makes the same requests when it mounts
// and gets the boot script's answers for them (early-answers.ts matches requests by content).
// Kept free of the app's code: the boot script is inlined in the page.

import type { SessionInfo } from '../../shared/contract.ts';

/** Rows per table page (row-pages.ts). */
export const PAGE_ROWS = 256;
/** Thread search hits shown (App.tsx). */
export const THREAD_HITS = 12;
/** The timeline's label column, px (Timeline.tsx). */
export const TIMELINE_GUTTER_PX = 110;

/** The whole trace as the timeline first shows it. */
export function fullRange(s: Pick<SessionInfo, 'startNs' | 'endNs'>): { t0Ns: number; t1Ns: number } {
  return { t0Ns: s.startNs, t1Ns: Math.max(s.endNs, s.startNs + 1000) };
}

/** The timeline wrapper's width as Timeline.tsx measures it (at least 200 px). */
export function timelineWidthPx(clientWidth: number): number {
  return Math.max(200, Math.floor(clientWidth));
}

/** Plot width for a timeline width: the canvas minus the label column. */
export function timelinePlotPx(widthPx: number): number {
  return Math.max(10, widthPx - TIMELINE_GUTTER_PX);
}

/**
 * What the app asks first for a session it has just been given: page 0 of the table, the whole
 * trace's timeline tile (only when the session's range no longer grows: a complete session, or a
 * cached one whose lanes are still being read, load phase 'lanes'; the width is the page's width,
 * which is the timeline's unless its lanes need a vertical scrollbar: a wrong guess is a tile
 * nobody takes), the row count and the thread search's first hits.
 */
export function firstRequests(info: SessionInfo, pageWidthPx: number, rangeFinal = info.complete): [string, unknown][] {
  const sessionId = info.sessionId;
  const out: [string, unknown][] = [['rows', { sessionId, filter: {}, start: 0, count: PAGE_ROWS }]];
  if (rangeFinal) out.push(['timeline', { sessionId, filter: {}, ...fullRange(info), widthPx: Math.min(8192, timelinePlotPx(timelineWidthPx(pageWidthPx))) }]);
  out.push(['count', { sessionId, filter: {} }], ['threads', { sessionId, query: '', limit: THREAD_HITS }]);
  return out;
}
