// Head analysis shared by sniff() and plan(): runs the real line parser over a bounded prefix into
// a counting sink and reads the header lines. Works on at most a few MiB once per file, so it may
// use strings and regexes; the per-line hot path (line-parser.ts) does not.

import type { EventKind } from '../../../shared/schema.ts';
import type { EventSink } from '../types.ts';
import { LineParser, LineResult } from './line-parser.ts';
import { isTaskReportValue, type NumericStateEncoding } from './task-state.ts';

/** Counts rows and interns names in a Map: enough for probing, far too slow for reading. */
class ProbeSink implements EventSink {
  length = 0;
  private readonly names = new Map<string, number>();
  commIdBytes(): number {
    return 0;
  }
  commId(): number {
    return 0;
  }
  eventIdBytes(buf: Uint8Array, start: number, end: number): number {
    return this.eventId(latin1(buf, start, end));
  }
  eventId(name: string): number {
    let id = this.names.get(name);
    if (id === undefined) {
      id = this.names.size;
      this.names.set(name, id);
    }
    return id;
  }
  append(_kind: EventKind): void {
    this.length++;
  }
  setInput(): void {}
}

const latin1Decoder = new TextDecoder('latin1');

/** Bytes as a latin1 string (probing and messages only). */
export function latin1(buf: Uint8Array, start: number, end: number): string {
  return latin1Decoder.decode(buf.subarray(start, end));
}

export interface HeadProbe {
  /** Complete lines looked at. */
  lines: number;
  events: number;
  headers: number;
  unparsable: number;
  /** Multi-input `trace-cmd report` names from `<name>: cpus=N` header lines, in order. */
  inputs: string[];
  /** `#P:N` (tracefs) or `cpus=N` (report) when present. */
  cpus: number | undefined;
  entriesInBuffer: number | undefined;
  entriesWritten: number | undefined;
  reportHeader: boolean;
  tracer: string | undefined;
  /** Shape of the first event line. */
  perf: boolean;
  hasTgid: boolean;
  hasFlags: boolean;
  tsDecimals: number;
  /** `prev_state=N` numbers seen: their encoding. */
  numericStates: NumericStateEncoding;
  numericStateSeen: boolean;
}

/** True when the prefix holds control bytes that text traces never contain (NUL, most C0). */
export function looksBinary(head: Uint8Array, limit = 4096): boolean {
  const n = Math.min(head.length, limit);
  let odd = 0;
  for (let i = 0; i < n; i++) {
    const c = head[i]!;
    if (c === 0) return true;
    if (c < 0x09 || (c > 0x0d && c < 0x20 && c !== 0x1b)) odd++;
  }
  return odd > 0 && odd * 100 > n;
}

const CPUS_NAMED = /^\s*(\S(?:.*\S)?): cpus=(\d+)\s*$/;

/**
 * Analyse complete lines of buf[0, len) (plus the last partial line when `atEnd`). `jsString`:
 * lines of the oldest systrace HTML (`...\n\`).
 */
export function probeHead(buf: Uint8Array, len: number, opts: { atEnd: boolean; jsString?: boolean }): HeadProbe {
  const r: HeadProbe = {
    lines: 0, events: 0, headers: 0, unparsable: 0, inputs: [], cpus: undefined,
    entriesInBuffer: undefined, entriesWritten: undefined, reportHeader: false, tracer: undefined,
    perf: false, hasTgid: false, hasFlags: false, tsDecimals: -1, numericStates: 'task-report',
    numericStateSeen: false,
  };
  // Pass 1: header lines (strings; bounded by the probe window).
  const lineEnds: number[] = [];
  let p = 0;
  while (p < len) {
    let nl = buf.indexOf(10, p);
    if (nl < 0 || nl >= len) {
      if (!opts.atEnd) break;
      nl = len;
    }
    lineEnds.push(nl);
    if (nl - p < 512) {
      let line = latin1(buf, p, nl);
      if (opts.jsString) line = line.replace(/(\\n)?\\?\r?$/, '');
      let m: RegExpMatchArray | null;
      if ((m = /#P:(\d+)/.exec(line)) && line.startsWith('#')) r.cpus = Number(m[1]);
      if ((m = /entries-in-buffer\/entries-written:\s*(\d+)\/(\d+)/.exec(line))) {
        r.entriesInBuffer = Number(m[1]);
        r.entriesWritten = Number(m[2]);
      }
      if ((m = /^#\s*tracer:\s*(\S+)/.exec(line))) r.tracer = m[1];
      if ((m = /^\s*cpus=(\d+)\s*$/.exec(line))) {
        r.cpus = Number(m[1]);
        r.reportHeader = true;
      }
      if (/^\s*version = \d+/.test(line)) r.reportHeader = true;
      if ((m = CPUS_NAMED.exec(line)) && !line.startsWith('#')) {
        r.inputs.push(m[1]!);
        r.reportHeader = true;
      }
    }
    p = nl + 1;
  }
  // Numeric prev_state values (trace-cmd report -R and old raw output).
  const text = latin1(buf, 0, Math.min(len, 1 << 20));
  let legacy = false;
  for (const m of text.matchAll(/prev_state=(\d+)/g)) {
    r.numericStateSeen = true;
    if (!isTaskReportValue(Number(m[1]))) {
      legacy = true;
      break;
    }
  }
  r.numericStates = legacy ? 'legacy' : 'task-report';

  // Pass 2: the real parser into a counting sink.
  const parser = new LineParser(new ProbeSink(), {
    numericStates: r.numericStates,
    multiInputNames: r.inputs.length > 1 ? r.inputs : undefined,
    jsStringLines: opts.jsString,
  });
  let s = 0;
  for (const e of lineEnds) {
    r.lines++;
    const res = parser.parseLine(buf, s, e, s);
    if (res === LineResult.event || res === LineResult.badFields) {
      if (r.events === 0) {
        const f = parser.prefix;
        r.perf = f.perfShape;
        r.hasTgid = f.hasTgid;
        r.hasFlags = f.hasFlags;
        r.tsDecimals = f.tsDecimals;
      }
      r.events++;
    } else if (res === LineResult.unparsable) r.unparsable++;
    else r.headers++;
    s = e + 1;
  }
  return r;
}
