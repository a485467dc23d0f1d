// The format registry: every reader is one entry; detection sniffs a bounded prefix in order.
// Order matters only where two formats could claim the same prefix (binary magics first).

import type { TraceFormat } from './types.ts';
import { SNIFF_BYTES } from './types.ts';
import type { ByteSource } from '../engine/io/byte-source.ts';
import { FORMATS } from './all.ts';

export function allFormats(): readonly TraceFormat[] {
  return FORMATS;
}

export function formatById(id: string): TraceFormat | undefined {
  return FORMATS.find((f) => f.id === id);
}

/** Sniff the head of a source; undefined when no reader claims it. */
export function detectFormat(src: ByteSource): TraceFormat | undefined {
  const head = src.readBorrow(0, SNIFF_BYTES).slice();
  for (const f of FORMATS) {
    let claims = false;
    try {
      claims = f.sniff(head, { path: src.path, sizeBytes: src.sizeBytes });
    } catch {
      claims = false; // a sniffer must not throw; treat it as "not mine"
    }
    if (claims) return f;
  }
  return undefined;
}
