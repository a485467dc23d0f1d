// The xentrace format (Xen hypervisor trace, as written by `xentrace`): sniff, plan, unit reader and
// record description. xentrace files have no magic: sniff checks that the prefix is a chain of
// consistent per-CPU windows. Layout and decoding: see plan.ts, reader.ts, records.ts and README.md.

import type { ByteSource } from '../../engine/io/byte-source.ts';
import type { ReadPlan, TraceFormat } from '../types.ts';
import { MAX_PCPUS, planXentrace, type XenShared } from './plan.ts';
import { readXenUnit } from './reader.ts';
import {
  CLASS_NAMES, CPU_CHANGE_BYTES, CPU_CHANGE_HEADER, EVENT_MASK, TRC_SCHED_SWITCH, XEN_RUNSTATE_NAMES,
  classIndex, entityName, eventName, isRunstateChange, recordBytes,
} from './records.ts';

/** Claims a prefix whose windows and records chain up exactly, with (nearly) all ids in Xen's classes. */
export function looksLikeXentrace(head: Uint8Array, sizeBytes: number): boolean {
  if (head.length < CPU_CHANGE_BYTES) return false;
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const limit = head.length - (head.length % 4);
  let pos = 0;
  let records = 0;
  let classified = 0;
  let windows = 0;
  while (pos + CPU_CHANGE_BYTES <= limit) {
    if (dv.getUint32(pos, true) !== CPU_CHANGE_HEADER) return false;
    const cpu = dv.getUint32(pos + 4, true);
    const bytes = dv.getUint32(pos + 8, true);
    if (cpu >= MAX_PCPUS || bytes % 4 !== 0) return false;
    windows++;
    const end = pos + CPU_CHANGE_BYTES + bytes;
    let r = pos + CPU_CHANGE_BYTES;
    while (r + 4 <= limit && r < end) {
      const h = dv.getUint32(r, true);
      const size = recordBytes(h);
      if (r + size > end) return false; // a record must end inside its window
      records++;
      if (classIndex(h & EVENT_MASK) < CLASS_NAMES.length) classified++;
      r += size;
    }
    if (r < end) break; // the window runs past the prefix
    pos = end;
  }
  if (pos + CPU_CHANGE_BYTES > limit && pos < limit && pos !== sizeBytes) {
    // Fewer than 12 bytes of the next window in the prefix: must at least start like one.
    if (pos + 4 <= limit && dv.getUint32(pos, true) !== CPU_CHANGE_HEADER) return false;
  }
  if (windows === 0) return false;
  if (records === 0) return sizeBytes === pos; // only empty windows: claim just an exact file
  return classified >= records * 0.9;
}

function describeXenRecord(src: ByteSource, plan: ReadPlan<XenShared>, offsetBytes: number): string {
  const buf = src.readBorrow(offsetBytes, 36).slice();
  if (buf.length < 4) return `offset ${offsetBytes}: beyond the end of the file`;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const h = dv.getUint32(0, true);
  const size = recordBytes(h);
  if (buf.length < size) return `offset ${offsetBytes}: truncated record (header 0x${h.toString(16)})`;
  const ev = h & EVENT_MASK;
  let p = 4;
  let tsc = '';
  if (h >>> 31) {
    const t = (BigInt(dv.getUint32(8, true)) << 32n) | BigInt(dv.getUint32(4, true));
    const base = (BigInt(plan.shared.baseTscHi) << 32n) | BigInt(plan.shared.baseTscLo);
    tsc = ` tsc=${t} (+${t - base} cycles)`;
    p = 12;
  }
  const words: number[] = [];
  for (; p + 4 <= size; p += 4) words.push(dv.getUint32(p, true));
  const hex = words.map((w) => `0x${w.toString(16).padStart(8, '0')}`).join(' ');
  let detail = '';
  if (ev === TRC_SCHED_SWITCH && words.length >= 4) {
    detail = ` prev ${entityName(((words[0]! & 0x7fff) << 16) | (words[1]! & 0xffff))} next ${entityName(((words[2]! & 0x7fff) << 16) | (words[3]! & 0xffff))}`;
  } else if (isRunstateChange(ev) && words.length >= 1) {
    const w = words[0]!;
    detail = ` ${entityName(((w >>> 16) & 0x7fff) << 16 | (w & 0xffff))} ${XEN_RUNSTATE_NAMES[(ev >>> 8) & 3]}->${XEN_RUNSTATE_NAMES[(ev >>> 4) & 3]}`;
  }
  return `0x${ev.toString(16).padStart(8, '0')} ${eventName(ev)}${tsc} [${hex}]${detail}`;
}

export const xentrace: TraceFormat<XenShared> = {
  id: 'xentrace',
  displayName: 'xentrace (Xen hypervisor trace)',
  sniff: (head, ctx) => looksLikeXentrace(head, ctx.sizeBytes),
  plan: (src, diag, opts) => planXentrace(src, diag, opts),
  readUnit: (src, plan, unitIndex, sink, diag, signal, progress) =>
    readXenUnit(src, plan.shared, unitIndex, sink, diag, signal, progress),
  describeRecord: describeXenRecord,
};
