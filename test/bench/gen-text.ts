// Generates a big tracefs-format text trace for the benchmarks (never committed: written into a
// temp dir). It splices the event lines of a small REAL recording over and over, rewriting only
// the timestamp of each line: copy k is shifted by k x (the recording's span + 1 ms), so the output
// stays in time order and every line is a line the kernel really printed (same comms, pids, CPUs,
// fields). The recording's `#` header is written once at the top.
// Sources, first found: $VCPUSCOPE_BENCH_SOURCE, /tmp/rec/single-schedmix/tracefs.txt (recorded on
// this machine with /work/shared/tools/record: schedmix 3 s, 87k events, 11 MB),
// /work/shared/traces/public/ftrace-text/tcincubator_atrace-test.txt (public, see its PROVENANCE.md).

import * as fs from 'node:fs';

export const DEFAULT_SOURCES = [
  '/tmp/rec/single-schedmix/tracefs.txt',
  '/work/shared/traces/public/ftrace-text/tcincubator_atrace-test.txt',
];

export function pickSource(env: NodeJS.ProcessEnv = process.env): string {
  const list = env.VCPUSCOPE_BENCH_SOURCE ? [env.VCPUSCOPE_BENCH_SOURCE, ...DEFAULT_SOURCES] : DEFAULT_SOURCES;
  const found = list.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`no source recording for the text generator (tried ${list.join(', ')}); set VCPUSCOPE_BENCH_SOURCE`);
  return found;
}

export interface GeneratedText {
  path: string;
  bytes: number;
  lines: number;
  copies: number;
  source: string;
}

interface Piece {
  prefix: Buffer;
  /** Timestamp in units of 10^-decimals s, relative to the recording's first event. */
  rel: number;
  decimals: number;
  suffix: Buffer;
}

// `<comm>-<pid> [cpu] flags <secs.frac>: ` — the timestamp is the first `digits.digits:` after `]`.
const TS_RE = /\] (?:[^ ]+ +)?(\d+)\.(\d+): /;

/** Write at least `targetBytes` of tracefs text to `outPath` (via a temp name, then renamed). */
export function generateTracefsText(outPath: string, targetBytes: number, source = pickSource()): GeneratedText {
  const text = fs.readFileSync(source, 'latin1');
  const all = text.split('\n');
  const header: string[] = [];
  const pieces: Piece[] = [];
  let base = -1;
  let last = 0;
  let decimals = 6;
  for (const line of all) {
    if (line.startsWith('#')) {
      if (pieces.length === 0) header.push(line);
      continue;
    }
    const m = TS_RE.exec(line);
    if (!m) continue;
    decimals = m[2]!.length;
    const value = Number(m[1]) * 10 ** decimals + Number(m[2]);
    if (base < 0) base = value;
    if (value < last) continue; // keep the output sorted even if the source is not
    last = value;
    const tsStart = m.index + m[0].length - 2 - m[1]!.length - 1 - m[2]!.length;
    const tsEnd = m.index + m[0].length - 2;
    pieces.push({ prefix: Buffer.from(line.slice(0, tsStart), 'latin1'), rel: value - base, decimals, suffix: Buffer.from(`${line.slice(tsEnd)}\n`, 'latin1') });
  }
  if (pieces.length === 0) throw new Error(`${source}: no event lines with timestamps`);
  const scale = 10 ** decimals;
  const period = last - base + scale / 1000; // span + 1 ms
  const tmp = `${outPath}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  const buf = Buffer.alloc(8 << 20);
  let used = 0;
  let bytes = 0;
  let lines = 0;
  const flush = (): void => {
    let done = 0;
    while (done < used) done += fs.writeSync(fd, buf, done, used - done);
    bytes += used;
    used = 0;
  };
  const head = Buffer.from(`${header.join('\n')}\n`, 'latin1');
  head.copy(buf, 0);
  used = head.length;
  let copies = 0;
  try {
    while (bytes + used < targetBytes) {
      const shift = base + copies * period;
      for (const p of pieces) {
        if (used + p.prefix.length + p.suffix.length + 32 > buf.length) flush();
        used += p.prefix.copy(buf, used);
        const v = shift + p.rel;
        const secs = Math.floor(v / scale);
        const frac = v - secs * scale;
        used += buf.write(String(secs), used, 'latin1');
        buf[used++] = 0x2e; // '.'
        used += buf.write(String(frac).padStart(decimals, '0'), used, 'latin1');
        used += p.suffix.copy(buf, used);
        lines++;
      }
      copies++;
    }
    flush();
    // Flush the generated GB to disk now, so that the kernel's write-back of it does not throttle
    // the cache writes of the indexing that is measured next.
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, outPath);
  return { path: outPath, bytes, lines, copies, source };
}
