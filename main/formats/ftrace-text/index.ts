// The ftrace text format: tracefs `trace` files, `trace-cmd report` (plugin, -R, -t, multi-input),
// `perf script` sched lines and legacy systrace/atrace HTML. plan() probes the head once and cuts
// the text at line boundaries; readUnit() streams a unit in 8 MiB chunks through LineParser.
// Line layout: kernel/trace/trace_output.c; see line-parser.ts for the event bodies.

import type { ByteSource } from '../../engine/io/byte-source.ts';
import type {
  CancelSignal, DiagnosticSink, EventSink, FormatInfo, ReadOptions, ReadPlan, ReadUnit, TraceFormat,
} from '../types.ts';
import { TraceFormatError } from '../types.ts';
import { findHtmlRegions, type TextRegion } from './html.ts';
import { LineParser, LineResult } from './line-parser.ts';
import { latin1, looksBinary, probeHead, type HeadProbe } from './probe.ts';
import type { NumericStateEncoding } from './task-state.ts';

export interface FtraceTextShared {
  variant: 'tracefs' | 'trace-cmd report' | 'perf script';
  container: 'text' | 'systrace-html' | 'systrace-html-js';
  /** Multi-input `trace-cmd report` names (line prefixes), in header order; empty otherwise. */
  inputs: string[];
  numericStates: NumericStateEncoding;
  /** Per unit: 1-based line number of its first line when known (plan counted), else 0. */
  unitFirstLine: number[];
}

/** Lines longer than this are skipped with a diagnostic (real lines are < 1 KiB). */
export const MAX_LINE_BYTES = 64 * 1024;
/** Read size per chunk: large enough that syscalls cost nothing next to parsing. */
const CHUNK_BYTES = 8 * 1024 * 1024;
let chunkBytes = CHUNK_BYTES;

/** Tests only: a small read size puts chunk boundaries (partial-line carries) inside small files. */
export function setChunkBytesForTests(bytes: number | undefined): void {
  chunkBytes = bytes === undefined ? CHUNK_BYTES : Math.max(1, bytes | 0);
}
const DEFAULT_UNIT_BYTES = 64 * 1024 * 1024;
const PROBE_BYTES = 1 << 20;
/** What the registry hands to sniff (SNIFF_BYTES); a shorter head is the whole file. */
const SNIFF_HEAD_BYTES = 64 * 1024;
/** Per unit, messages for unparsable lines are built for the first ones only; the rest are counted. */
const MAX_LINE_DIAGNOSTICS = 100;

export const ftraceText: TraceFormat<FtraceTextShared> = {
  id: 'ftrace-text',
  displayName: 'ftrace text (tracefs / trace-cmd report / perf script / systrace)',
  sniff: (head) => sniffFtraceText(head),
  plan: planFtraceText,
  readUnit: readFtraceTextUnit,
  describeRecord: describeFtraceTextRecord,
};

// ---- sniff -----------------------------------------------------------------------------------

export function sniffFtraceText(head: Uint8Array): boolean {
  if (head.length === 0 || looksBinary(head)) return false;
  if (isHtml(head)) {
    const text = latin1(head, 0, head.length);
    return /class="trace-data"|linuxPerfData|<title>[^<]*(System Trace|systrace)/i.test(text);
  }
  const probe = probeHead(head, head.length, { atEnd: head.length < SNIFF_HEAD_BYTES });
  if (probe.events > 0) return probe.unparsable <= probe.events;
  // a recording without events still has the tracefs header
  return probe.tracer !== undefined && probe.unparsable === 0;
}

function isHtml(head: Uint8Array): boolean {
  let i = 0;
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) i = 3;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x09)) i++;
  if (head[i] !== 0x3c) return false;
  const t = latin1(head, i, Math.min(head.length, i + 64)).toLowerCase();
  return t.startsWith('<!doctype html') || t.startsWith('<html') || t.startsWith('<!--');
}

// ---- plan ------------------------------------------------------------------------------------

function planFtraceText(src: ByteSource, diag: DiagnosticSink, opts: ReadOptions): ReadPlan<FtraceTextShared> {
  if (src.sizeBytes === 0) throw new TraceFormatError(`${src.path}: empty file`, 0);
  const head = src.readBorrow(0, PROBE_BYTES).slice();
  if (looksBinary(head)) throw new TraceFormatError(`${src.path}: binary data, not ftrace text (byte offset 0)`, 0);

  let regions: TextRegion[];
  let container: FtraceTextShared['container'] = 'text';
  if (isHtml(head)) {
    regions = findHtmlRegions(src, diag);
    if (regions.length === 0) throw new TraceFormatError(`${src.path}: HTML without embedded ftrace text (no trace-data block)`, 0);
    container = regions[0]!.jsString ? 'systrace-html-js' : 'systrace-html';
  } else {
    regions = [{ start: 0, end: src.sizeBytes, jsString: false }];
  }

  const first = regions[0]!;
  const probeLen = Math.min(PROBE_BYTES, first.end - first.start);
  const probeBuf = src.readBorrow(first.start, probeLen).slice();
  const probe = probeHead(probeBuf, probeBuf.length, { atEnd: first.start + probeLen >= first.end, jsString: first.jsString });
  if (probe.events === 0 && probe.tracer !== undefined && probe.unparsable === 0 && probeLen === first.end - first.start) {
    diag.warning(first.start, 'the trace holds a tracefs header but no events');
  } else if (probe.events === 0) {
    throw new TraceFormatError(
      `${src.path}: no ftrace event line in the first ${probeLen} bytes` + (first.start > 0 ? ` after byte ${first.start}` : ''),
      first.start,
    );
  }

  const unitBytes = Math.max(64 * 1024, opts.unitBytes ?? DEFAULT_UNIT_BYTES);
  const units: ReadUnit[] = [];
  const unitFirstLine: number[] = [];
  for (const r of regions) {
    let start = r.start;
    const firstLine = container === 'text' ? 1 : countLines(src, 0, r.start) + 1;
    unitFirstLine.push(firstLine);
    while (r.end - start > unitBytes) {
      const cut = nextLineStart(src, start + unitBytes, r.end);
      if (cut >= r.end) break;
      units.push({ start, end: cut });
      unitFirstLine.push(0);
      start = cut;
    }
    units.push({ start, end: r.end });
  }
  unitFirstLine.length = units.length;

  const variant: FtraceTextShared['variant'] = probe.perf ? 'perf script' : probe.reportHeader ? 'trace-cmd report' : 'tracefs';
  const inputs = probe.inputs.length > 1 ? probe.inputs : [];
  const info: FormatInfo = {
    format: container === 'text' ? 'ftrace text' : 'systrace HTML (ftrace text)',
    variant: describeVariant(variant, probe, inputs.length),
    entity: 'tid',
    layerHint: 'unknown',
    extra: {
      container,
      timestampDecimals: probe.tsDecimals,
      hasTgid: probe.hasTgid,
      hasFlags: probe.hasFlags,
      ...(probe.cpus !== undefined ? { cpus: probe.cpus } : {}),
      ...(probe.entriesInBuffer !== undefined ? { entriesInBuffer: probe.entriesInBuffer, entriesWritten: probe.entriesWritten } : {}),
      ...(probe.tracer !== undefined ? { tracer: probe.tracer } : {}),
      ...(probe.numericStateSeen ? { numericStates: probe.numericStates } : {}),
      ...(inputs.length > 0 ? { inputs } : {}),
    },
  };
  // Integer timestamps come from raw counter clocks (trace_clock x86-tsc / counter): the values are
  // kept as they are (ticks, not ns); the text does not say which clock it was.
  if (probe.tsDecimals === 0) info.clock = 'counter';
  if (probe.entriesInBuffer !== undefined && probe.entriesWritten !== undefined && probe.entriesWritten > probe.entriesInBuffer) {
    diag.warning(0, `the ring buffer overflowed while recording: ${probe.entriesWritten - probe.entriesInBuffer} of ${probe.entriesWritten} events were overwritten (header entries-in-buffer/entries-written)`, 3);
  }
  return {
    units,
    shared: { variant, container, inputs, numericStates: probe.numericStates, unitFirstLine },
    info,
    order: 'concat',
  };
}

function describeVariant(variant: FtraceTextShared['variant'], p: HeadProbe, inputs: number): string {
  const parts: string[] = [variant];
  if (variant === 'trace-cmd report') {
    if (p.numericStateSeen) parts.push('-R');
    if (p.tsDecimals === 9) parts.push('-t');
    if (inputs > 0) parts.push(`${inputs} inputs`);
  } else {
    if (p.hasTgid) parts.push('with tgid');
    if (p.tsDecimals === 9) parts.push('ns timestamps');
  }
  if (p.tsDecimals === 0) parts.push('raw counter timestamps');
  return parts.join(', ');
}

/** Offset just after the first newline at or after `from` (or `limit`). Reads 64 KiB windows. */
function nextLineStart(src: ByteSource, from: number, limit: number): number {
  let pos = from;
  while (pos < limit) {
    const win = src.readBorrow(pos, Math.min(64 * 1024, limit - pos));
    if (win.length === 0) return limit;
    const i = win.indexOf(10);
    if (i >= 0) return pos + i + 1;
    pos += win.length;
  }
  return limit;
}

function countLines(src: ByteSource, from: number, to: number): number {
  let n = 0;
  const buf = new Uint8Array(1 << 20);
  for (let pos = from; pos < to; ) {
    const got = src.readInto(buf, 0, Math.min(buf.length, to - pos), pos);
    if (got === 0) break;
    for (let i = buf.indexOf(10); i >= 0 && i < got; i = buf.indexOf(10, i + 1)) n++;
    pos += got;
  }
  return n;
}

// ---- readUnit --------------------------------------------------------------------------------

function readFtraceTextUnit(
  src: ByteSource,
  plan: ReadPlan<FtraceTextShared>,
  unitIndex: number,
  sink: EventSink,
  diag: DiagnosticSink,
  signal: CancelSignal,
  progress?: (bytesDone: number) => void,
): void {
  const unit = plan.units[unitIndex];
  if (!unit) throw new TraceFormatError(`${src.path}: no read unit ${unitIndex}`, 0);
  const shared = plan.shared;
  const parser = new LineParser(sink, {
    numericStates: shared.numericStates,
    multiInputNames: shared.inputs.length > 0 ? shared.inputs : undefined,
    jsStringLines: shared.container === 'systrace-html-js',
  });
  const firstLine = shared.unitFirstLine[unitIndex] ?? 0;
  let lineNo = firstLine; // 0 = unknown
  const buf = new Uint8Array(Math.min(chunkBytes, unit.end - unit.start) + MAX_LINE_BYTES + 1);
  let bufPos = unit.start; // file offset of buf[0]
  let filled = 0;
  let skipping = false; // inside an over-long line
  let skipStart = 0;
  let reported = 0;
  let unreported = 0;
  let tsDecimals = -1;

  const lineDiag = (res: LineResult, offset: number, s: number, e: number): void => {
    if (reported >= MAX_LINE_DIAGNOSTICS) {
      unreported++;
      return;
    }
    reported++;
    const line = lineNo > 0 ? lineNo : undefined;
    if (res === LineResult.lost) {
      diag.warning(offset, `CPU ${parser.lostCpu} lost ${Number.isNaN(parser.lostCount) ? 'some' : parser.lostCount} events here (ring buffer overrun)`, line);
    } else if (res === LineResult.badFields) {
      const name = latin1(buf, parser.prefix.nameStart, parser.prefix.nameEnd);
      diag.warning(offset, `${name}: fields did not decode, kept as an invalid row: ${quote(buf, s, e)}`, line);
    } else if (parser.unknownInputAt >= 0) {
      diag.warning(offset, `line names an input that is not in the report header: ${quote(buf, s, e)}`, line);
    } else {
      diag.warning(offset, `not an ftrace event line: ${quote(buf, s, e)}`, line);
    }
  };

  for (;;) {
    if (signal.cancelled) return;
    const want = Math.min(chunkBytes, buf.length - filled, unit.end - (bufPos + filled));
    const n = want > 0 ? src.readInto(buf, filled, want, bufPos + filled) : 0;
    const dataEnd = filled + n;
    const atEnd = bufPos + dataEnd >= unit.end || n === 0;
    let p = 0;
    // a UTF-8 byte order mark (editors on Windows add one) is not part of the first line
    if (bufPos === 0 && dataEnd >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) p = 3;
    if (skipping) {
      const nl = buf.indexOf(10, 0);
      if (nl < 0 || nl >= dataEnd) {
        bufPos += dataEnd;
        filled = 0;
        if (atEnd) break;
        continue;
      }
      skipping = false;
      diag.error(skipStart, `line longer than ${MAX_LINE_BYTES} bytes (${bufPos + nl - skipStart} bytes) skipped`, lineNo > 0 ? lineNo : undefined);
      if (lineNo > 0) lineNo++;
      p = nl + 1;
    }
    while (p < dataEnd) {
      const offset = bufPos + p;
      const nl = parser.parseLineFrom(buf, p, dataEnd, atEnd, offset, MAX_LINE_BYTES);
      if (nl < 0) break;
      if (nl >= dataEnd && unit.end === src.sizeBytes && shared.container === 'text') {
        diag.warning(offset, 'the input ends without a newline: its last line may be cut short', lineNo > 0 ? lineNo : undefined);
      }
      const res = parser.result;
      if (res === LineResult.event) {
        if (tsDecimals !== parser.lastTsDecimals) {
          if (tsDecimals >= 0 && (tsDecimals === 0) !== (parser.lastTsDecimals === 0)) {
            diag.warning(offset, 'timestamps switch between raw counter values and seconds here', lineNo > 0 ? lineNo : undefined);
          }
          tsDecimals = parser.lastTsDecimals;
        }
      } else if (res === LineResult.tooLong) {
        diag.error(offset, `line longer than ${MAX_LINE_BYTES} bytes (${nl - p} bytes) skipped`, lineNo > 0 ? lineNo : undefined);
      } else if (res !== LineResult.header) {
        lineDiag(res, offset, p, nl);
      }
      if (lineNo > 0) lineNo++;
      p = nl + 1;
    }
    if (progress) progress(bufPos + Math.min(p, dataEnd) - unit.start);
    if (atEnd) break;
    // carry the partial line to the front
    const rest = dataEnd - p;
    if (rest > MAX_LINE_BYTES) {
      skipping = true;
      skipStart = bufPos + p;
      bufPos += dataEnd;
      filled = 0;
    } else {
      if (rest > 0) buf.copyWithin(0, p, dataEnd);
      bufPos += p;
      filled = rest;
    }
  }
  if (skipping) {
    diag.error(skipStart, `line longer than ${MAX_LINE_BYTES} bytes runs to the end of the input; skipped`, lineNo > 0 ? lineNo : undefined);
  }
  if (unreported > 0) {
    diag.warning(unit.end, `${unreported} more problem lines in bytes ${unit.start}-${unit.end} (only the first ${MAX_LINE_DIAGNOSTICS} are listed)`);
  }
}

function quote(buf: Uint8Array, s: number, e: number): string {
  const cut = Math.min(e, s + 80);
  let t = '';
  for (let i = s; i < cut; i++) {
    const c = buf[i]!;
    t += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.';
  }
  return JSON.stringify(cut < e ? `${t}...` : t);
}

// ---- describeRecord --------------------------------------------------------------------------

const DESCRIBE_MAX_BYTES = 4096;
const utf8 = new TextDecoder('utf-8', { fatal: false });

function describeFtraceTextRecord(src: ByteSource, plan: ReadPlan<FtraceTextShared>, offsetBytes: number): string {
  if (!(offsetBytes >= 0 && offsetBytes < src.sizeBytes)) return '';
  const b = src.readBorrow(offsetBytes, DESCRIBE_MAX_BYTES);
  let e = b.indexOf(10);
  const cut = e < 0;
  if (e < 0) e = b.length;
  if (e > 0 && b[e - 1] === 0x0d) e--;
  if (plan.shared.container === 'systrace-html-js') {
    if (e > 1 && b[e - 2] === 0x22 && b[e - 1] === 0x3b) e -= 2; // last line: `...\n";`
    if (e > 0 && b[e - 1] === 0x5c) e--;
    if (e > 1 && b[e - 2] === 0x5c && b[e - 1] === 0x6e) e -= 2;
  }
  const text = utf8.decode(b.subarray(0, e));
  return cut && b.length === DESCRIBE_MAX_BYTES ? `${text}…` : text;
}
