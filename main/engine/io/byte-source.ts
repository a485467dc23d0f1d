// Byte sources: positional reads of a file in large chunks into reused buffers. The whole file is
// never held in memory (mmap is not an option: npm addons cap at 2 GiB and Electron's V8 memory
// cage forbids external buffers). Reads are synchronous: they run in worker threads.

import * as fs from 'node:fs';

export interface ByteSource {
  readonly path: string;
  readonly sizeBytes: number;
  /** Read up to `length` bytes at `position` into `buf[bufOffset..]`; returns bytes read (0 at EOF). */
  readInto(buf: Uint8Array, bufOffset: number, length: number, position: number): number;
  /**
   * Read [position, position + length) (clipped at EOF) into an internal buffer and return a view.
   * Valid until the next call on this source. Copy it if you keep it.
   */
  readBorrow(position: number, length: number): Uint8Array;
  close(): void;
}

/** A file opened read-only (the user's trace is never written). */
export class FileSource implements ByteSource {
  readonly path: string;
  readonly sizeBytes: number;
  private fd: number;
  private scratch: Uint8Array = new Uint8Array(0);

  constructor(path: string) {
    this.path = path;
    this.fd = fs.openSync(path, 'r');
    this.sizeBytes = fs.fstatSync(this.fd).size;
  }

  readInto(buf: Uint8Array, bufOffset: number, length: number, position: number): number {
    let done = 0;
    while (done < length) {
      const n = fs.readSync(this.fd, buf, bufOffset + done, length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  readBorrow(position: number, length: number): Uint8Array {
    const want = Math.max(0, Math.min(length, this.sizeBytes - position));
    if (this.scratch.length < want) this.scratch = new Uint8Array(Math.max(want, this.scratch.length * 2));
    const n = this.readInto(this.scratch, 0, want, position);
    return this.scratch.subarray(0, n);
  }

  close(): void {
    if (this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }
}

/** An in-memory source (tests, small generated inputs). */
export class MemorySource implements ByteSource {
  readonly path: string;
  readonly sizeBytes: number;
  private readonly data: Uint8Array;

  constructor(path: string, data: Uint8Array) {
    this.path = path;
    this.data = data;
    this.sizeBytes = data.length;
  }

  readInto(buf: Uint8Array, bufOffset: number, length: number, position: number): number {
    const end = Math.min(this.data.length, position + length);
    if (position >= end) return 0;
    buf.set(this.data.subarray(position, end), bufOffset);
    return end - position;
  }

  readBorrow(position: number, length: number): Uint8Array {
    return this.data.subarray(Math.min(position, this.data.length), Math.min(this.data.length, position + length));
  }

  close(): void {}
}
