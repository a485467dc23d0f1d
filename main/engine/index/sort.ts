// Stable sort of event columns by timestamp (per-CPU formats, out-of-order text). In-memory; the
// streaming indexer merges per-unit outputs instead.

import type { EventColumns } from './event-columns.ts';

export function isSortedByTime(ts: Float64Array): boolean {
  for (let i = 1; i < ts.length; i++) if (ts[i]! < ts[i - 1]!) return false;
  return true;
}

export function sortColumnsByTime(c: EventColumns): EventColumns {
  if (isSortedByTime(c.ts)) return c;
  const n = c.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const ts = c.ts;
  // Stable: ties keep input order (index as secondary key).
  order.sort((a, b) => ts[a]! - ts[b]! || a - b);
  return permuteColumns(c, order);
}

export function permuteColumns(c: EventColumns, order: Uint32Array): EventColumns {
  const n = order.length;
  const pick = <T extends Float64Array | Int32Array | Uint16Array | Uint8Array>(a: T, make: (n: number) => T): T => {
    const out = make(n);
    for (let i = 0; i < n; i++) out[i] = a[order[i]!]!;
    return out;
  };
  return {
    length: n,
    ts: pick(c.ts, (k) => new Float64Array(k)),
    cpu: pick(c.cpu, (k) => new Uint16Array(k)),
    kind: pick(c.kind, (k) => new Uint8Array(k)),
    event: pick(c.event, (k) => new Uint16Array(k)),
    pid: pick(c.pid, (k) => new Int32Array(k)),
    tid: pick(c.tid, (k) => new Int32Array(k)),
    comm: pick(c.comm, (k) => new Int32Array(k)),
    prevTid: pick(c.prevTid, (k) => new Int32Array(k)),
    prevComm: pick(c.prevComm, (k) => new Int32Array(k)),
    prevState: pick(c.prevState, (k) => new Uint16Array(k)),
    arg0: pick(c.arg0, (k) => new Int32Array(k)),
    arg1: pick(c.arg1, (k) => new Int32Array(k)),
    offset: pick(c.offset, (k) => new Float64Array(k)),
    input: pick(c.input, (k) => new Uint8Array(k)),
    inputs: c.inputs,
    comms: c.comms,
    events: c.events,
  };
}
