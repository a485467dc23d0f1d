// Finds the ftrace text embedded in legacy systrace/atrace HTML: `<script class="trace-data">`
// blocks (catapult's systrace, 2015+) and the older `var linuxPerfData = "...";` JS string literal
// with `\n\` line continuations. Compressed (base64/zlib) and JSON blocks are reported, not read.
// Source of truth: catapult systrace/systrace/ (trace-data blocks), real files in
// /work/shared/traces/public/systrace-html.

import type { ByteSource } from '../../engine/io/byte-source.ts';
import type { DiagnosticSink } from '../types.ts';

export interface TextRegion {
  start: number;
  end: number;
  /** Lines are JS string-literal lines ending in `\n\`. */
  jsString: boolean;
}

const WINDOW = 1 << 20;
const enc = new TextEncoder();

/** First offset >= from of `pattern` in src (streamed in 1 MiB windows), or -1. */
export function findInSource(src: ByteSource, pattern: Uint8Array, from: number, limit = src.sizeBytes): number {
  const buf = new Uint8Array(WINDOW + pattern.length);
  let pos = from;
  while (pos < limit) {
    const want = Math.min(WINDOW + pattern.length, limit - pos);
    const n = src.readInto(buf, 0, want, pos);
    if (n < pattern.length) return -1;
    const view = buf.subarray(0, n);
    const i = indexOfBytes(view, pattern, 0);
    if (i >= 0) return pos + i;
    if (pos + n >= limit) return -1;
    pos += n - pattern.length + 1;
  }
  return -1;
}

function indexOfBytes(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0]!;
  let i = hay.indexOf(first, from);
  while (i >= 0 && i + needle.length <= hay.length) {
    let k = 1;
    while (k < needle.length && hay[i + k] === needle[k]) k++;
    if (k === needle.length) return i;
    i = hay.indexOf(first, i + 1);
  }
  return -1;
}

const TRACE_DATA = enc.encode('class="trace-data"');
const GT = enc.encode('>');
const END_SCRIPT = enc.encode('</script>');
const JS_VAR = enc.encode('linuxPerfData = "');

/** Embedded ftrace text regions of an HTML file, in file order. */
export function findHtmlRegions(src: ByteSource, diag: DiagnosticSink): TextRegion[] {
  const regions: TextRegion[] = [];
  let pos = 0;
  for (;;) {
    const tag = findInSource(src, TRACE_DATA, pos);
    if (tag < 0) break;
    const open = findInSource(src, GT, tag);
    if (open < 0) break;
    const start = open + 1;
    const close = findInSource(src, END_SCRIPT, start);
    const end = close < 0 ? src.sizeBytes : close;
    if (close < 0) diag.warning(tag, 'trace-data block has no closing </script>; read to the end of the file');
    const first = firstNonBlank(src, start, end);
    if (first === 0x7b || first === 0x5b) {
      diag.info(start, 'JSON trace-data block (systrace metadata) skipped');
    } else if (first !== -1 && first !== 0x23 && !looksLikeTraceLine(src, start, end)) {
      diag.warning(start, 'trace-data block is not ftrace text (compressed or unknown encoding); skipped');
    } else if (first !== -1) {
      regions.push({ start, end, jsString: false });
    }
    pos = end;
  }
  if (regions.length > 0) return regions;
  const v = findInSource(src, JS_VAR, 0);
  if (v >= 0) {
    // The string starts after `"`, usually with `\` + newline; it ends at the first unescaped `"`.
    const start = v + JS_VAR.length;
    const end = findStringEnd(src, start);
    regions.push({ start, end, jsString: true });
  }
  return regions;
}

function firstNonBlank(src: ByteSource, start: number, end: number): number {
  const b = src.readBorrow(start, Math.min(4096, end - start));
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return c;
  }
  return -1;
}

/** A trace-data block without `#` header: does it contain `[ddd]` within its first lines? */
function looksLikeTraceLine(src: ByteSource, start: number, end: number): boolean {
  const b = src.readBorrow(start, Math.min(4096, end - start));
  for (let i = 0; i + 4 < b.length; i++) {
    if (b[i] === 0x5b && b[i + 1]! >= 0x30 && b[i + 1]! <= 0x39) return true;
  }
  return false;
}

function findStringEnd(src: ByteSource, start: number): number {
  const buf = new Uint8Array(WINDOW);
  let pos = start;
  let prevBackslash = false;
  while (pos < src.sizeBytes) {
    const n = src.readInto(buf, 0, WINDOW, pos);
    if (n === 0) break;
    for (let i = 0; i < n; i++) {
      const c = buf[i]!;
      if (c === 0x22 && !prevBackslash) return pos + i;
      prevBackslash = c === 0x5c && !prevBackslash;
    }
    pos += n;
  }
  return src.sizeBytes;
}
