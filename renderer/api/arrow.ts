// Arrow windows from the engine decoded into plain typed-array columns plus the metadata lists
// (string tables, markers). Reading columns with toArray() is zero-copy for fixed-width types.

import { tableFromIPC } from 'apache-arrow';

export interface DecodedWindow {
  length: number;
  col<T extends ArrayLike<number>>(name: string): T;
  meta<T>(key: string, fallback: T): T;
}

export function decodeWindow(bytes: Uint8Array): DecodedWindow {
  const t = tableFromIPC(bytes);
  const cols = new Map<string, ArrayLike<number>>();
  for (const f of t.schema.fields) {
    const v = t.getChild(f.name);
    if (v) cols.set(f.name, v.toArray() as ArrayLike<number>);
  }
  const metaRaw = t.schema.metadata;
  return {
    length: t.numRows,
    col<T extends ArrayLike<number>>(name: string): T {
      const c = cols.get(name);
      if (!c) throw new Error(`window has no column ${name}`);
      return c as T;
    },
    meta<T>(key: string, fallback: T): T {
      const s = metaRaw.get(key);
      if (s === undefined) return fallback;
      try {
        return JSON.parse(s) as T;
      } catch {
        return fallback;
      }
    },
  };
}
