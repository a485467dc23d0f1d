// Arrow IPC encoding of a window: typed-array columns (zero copy into vectors) plus JSON schema
// metadata (the window's string table and small side lists). One table per response.

import { makeTable, RecordBatch, Schema, Table, tableToIPC } from 'apache-arrow';

type TypedArray = Float64Array | Float32Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array;

export function encodeWindow(columns: Record<string, TypedArray>, metadata: Record<string, unknown>): Uint8Array {
  const t = makeTable(columns);
  const meta = new Map<string, string>();
  for (const [k, v] of Object.entries(metadata)) meta.set(k, JSON.stringify(v));
  const schema = new Schema(t.schema.fields, meta);
  const withMeta = new Table(schema, t.batches.map((b) => new RecordBatch(schema, b.data)));
  return tableToIPC(withMeta, 'stream');
}

/** Window-local string table: (file, id) -> index into `list`. */
export class WindowStrings {
  readonly list: string[] = [];
  private readonly map = new Map<number, number>();
  constructor(private readonly tables: readonly (readonly string[])[]) {}
  /** -1 stays -1. */
  id(file: number, id: number): number {
    if (id < 0) return -1;
    const key = id * 256 + file;
    let v = this.map.get(key);
    if (v === undefined) {
      v = this.list.length;
      this.list.push(this.tables[file]?.[id] ?? '?');
      this.map.set(key, v);
    }
    return v;
  }
}
