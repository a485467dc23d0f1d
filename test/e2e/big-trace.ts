// A ≥10M-event tracefs text trace for the browser tests, made by repeating the real recorded
// fixture main/formats/ftrace-text/testdata/tracefs-schedmix.txt with timestamps shifted by the
// fixture's span each time (header kept once). Reused when already present with the right size.

import { closeSync, existsSync, openSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './serve-helper.ts';

export const FIXTURE = join(ROOT, 'main/formats/ftrace-text/testdata/tracefs-schedmix.txt');

export interface BigTrace {
  path: string;
  events: number;
  /** Timestamp of the last event as the table prints it relative to the first (ms, 6 decimals). */
  lastRelMs: string;
}

export function makeBigTrace(dir: string, minEvents: number): BigTrace {
  const text = readFileSync(FIXTURE, 'utf8');
  const header: string[] = [];
  const rows: { pre: string; tsUs: number; post: string }[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) {
      if (rows.length === 0) header.push(line);
      continue;
    }
    const m = /^(.*?\]\s+\S+\s+)(\d+)\.(\d{6})(: .*)$/.exec(line);
    if (m) rows.push({ pre: m[1]!, tsUs: Number(m[2]) * 1e6 + Number(m[3]), post: m[4]! });
  }
  const firstUs = rows[0]!.tsUs;
  const spanUs = rows[rows.length - 1]!.tsUs - firstUs + 1;
  const reps = Math.ceil(minEvents / rows.length);
  const events = reps * rows.length;
  const lastUs = rows[rows.length - 1]!.tsUs + (reps - 1) * spanUs;
  const lastRelMs = ((lastUs - firstUs) / 1000).toFixed(6);
  const path = join(dir, `big-${events}.txt`);
  const sizeMarker = `${path}.size`;
  if (existsSync(path) && existsSync(sizeMarker) && readFileSync(sizeMarker, 'utf8') === String(statSync(path).size)) return { path, events, lastRelMs };

  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  let buf = `${header.join('\n')}\n`;
  for (let k = 0; k < reps; k++) {
    const shift = k * spanUs;
    for (const r of rows) {
      const us = r.tsUs + shift;
      const s = Math.floor(us / 1e6);
      buf += `${r.pre}${s}.${String(us - s * 1e6).padStart(6, '0')}${r.post}\n`;
    }
    if (buf.length > 4 << 20) {
      writeSync(fd, buf);
      buf = '';
    }
  }
  writeSync(fd, buf);
  closeSync(fd);
  renameSync(tmp, path);
  writeFileSync(sizeMarker, String(statSync(path).size));
  return { path, events, lastRelMs };
}
