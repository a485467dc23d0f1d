// The cache file's writes on a thread of their own. The coordinating thread still encodes each
// record batch (Arrow framing, checksums) and copies its bytes into one of a few shared slots; a
// writer thread writes each slot at its file position and marks it free. The copy is a memcpy
// (~0.2 s per GB); the kernel's write of the same bytes (page-cache allocation and copy) measured
// ~2 CPU-s per 1.2 GB on the coordinating thread, which was the critical path of `index`.
//
// Back-pressure: at most SLOTS batches are in flight; submit() blocks (Atomics.wait) until a slot is
// free. drain() blocks until every submitted byte is written; errors of the thread (ENOSPC, EIO) are
// thrown by the next submit() or drain(). The thread opens the file by its path (its own
// descriptor): closing or unlinking the caller's descriptor can never redirect its writes.

import { Worker } from 'node:worker_threads';

/** Slots in flight (each a batch message: ~3.4 MB at 65536 rows). */
export const SLOTS = 4;

// ctrl: [0] slots submitted, [1] slots written, [2] error (0 none), [3] thread ready, [4] closed,
// [5] error message length (bytes in the msg buffer).
const SUBMITTED = 0;
const WRITTEN = 1;
const ERROR = 2;
const READY = 3;
const CLOSED = 4;
const MSG_LEN = 5;
const MSG_BYTES = 1024;


// The thread's code: CommonJS evaluated by the Worker (no bundle or loader needed, so the same
// code runs from source under tsx, from dist/, and from a packaged app).
const THREAD_SOURCE = `
const fs = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const ctrl = new Int32Array(workerData.ctrl);
const msg = new Uint8Array(workerData.msg);
let fd = -1;
let failed = false;
let failAfter = workerData.failAfterBytes;
function fail(e) {
  failed = true;
  const text = new TextEncoder().encode(String((e && e.message) || e)).subarray(0, ${MSG_BYTES});
  msg.set(text);
  Atomics.store(ctrl, ${MSG_LEN}, text.length);
  Atomics.store(ctrl, ${ERROR}, 1);
}
try {
  fd = fs.openSync(workerData.path, 'r+');
} catch (e) {
  fail(e);
}
Atomics.store(ctrl, ${READY}, 1);
Atomics.notify(ctrl, ${READY});
parentPort.on('message', (m) => {
  if (m.type === 'close') {
    if (fd >= 0) { try { fs.closeSync(fd); } catch {} }
    fd = -1;
    Atomics.store(ctrl, ${CLOSED}, 1);
    Atomics.notify(ctrl, ${CLOSED});
    parentPort.close();
    return;
  }
  if (!failed) {
    try {
      const u = new Uint8Array(m.buf, 0, m.bytes);
      if (failAfter >= 0 && m.position + m.bytes > failAfter) {
        throw Object.assign(new Error('ENOSPC: no space left on device, write (simulated, writer thread)'), { code: 'ENOSPC' });
      }
      let done = 0;
      while (done < m.bytes) done += fs.writeSync(fd, u, done, m.bytes - done, m.position + done);
    } catch (e) {
      fail(e);
    }
  }
  Atomics.add(ctrl, ${WRITTEN}, 1);
  Atomics.notify(ctrl, ${WRITTEN});
});
`;

/**
 * Fault injection for tests: when >= 0, the writer thread fails a write that would pass this many
 * bytes of the file with ENOSPC (the real error path of the thread). Never set outside tests.
 */
export const cacheWriterThreadFaults = { failAfterBytes: -1, neverReady: false };

/** A thread that starts but never says it is ready (tests: a thread that cannot start). */
const NEVER_READY_SOURCE = `setInterval(() => {}, 1 << 30);`;

export class CacheWriterThread {
  private readonly worker: Worker;
  private readonly ctrl: Int32Array;
  private readonly msg: Uint8Array;
  private readonly slots: (SharedArrayBuffer | null)[] = new Array<SharedArrayBuffer | null>(SLOTS).fill(null);
  private submitted = 0;
  private closed = false;
  /** Time (ms) the caller spent blocked waiting for a free slot or the final drain. */
  waitMs = 0;

  /** Throws when a thread cannot be started (the caller then writes on its own thread). */
  constructor(path: string) {
    const ctrlBuf = new SharedArrayBuffer(8 * 4);
    const msgBuf = new SharedArrayBuffer(MSG_BYTES);
    this.ctrl = new Int32Array(ctrlBuf);
    this.msg = new Uint8Array(msgBuf);
    this.worker = new Worker(cacheWriterThreadFaults.neverReady ? NEVER_READY_SOURCE : THREAD_SOURCE, { eval: true, execArgv: [], workerData: { path, ctrl: ctrlBuf, msg: msgBuf, failAfterBytes: cacheWriterThreadFaults.failAfterBytes } });
    // execArgv: [] because the code is CommonJS: a parent started with --input-type=module (or a
    // loader) would otherwise pass that on and the thread would never start.
    // Never keeps the process alive; a crash of the thread shows as an error at the next wait.
    this.worker.unref();
    this.worker.on('error', () => this.markFailed('cache writer thread failed'));
    this.worker.on('exit', () => {
      if (Atomics.load(this.ctrl, CLOSED) === 0) this.markFailed('cache writer thread exited');
    });
  }

  private markFailed(text: string): void {
    if (Atomics.load(this.ctrl, ERROR) !== 0) return;
    const t = new TextEncoder().encode(text);
    this.msg.set(t);
    Atomics.store(this.ctrl, MSG_LEN, t.length);
    Atomics.store(this.ctrl, ERROR, 1);
  }

  private throwIfFailed(): void {
    if (Atomics.load(this.ctrl, ERROR) === 0) return;
    const text = new TextDecoder().decode(this.msg.slice(0, Atomics.load(this.ctrl, MSG_LEN)));
    const code = /^([A-Z]+):/.exec(text)?.[1];
    throw Object.assign(new Error(text), code ? { code } : {});
  }

  /**
   * The thread runs and takes writes. Never blocks: until it is ready (or if it never starts) the
   * caller writes on its own thread, so a thread that cannot start costs nothing (the caller used to
   * wait up to 30 s for it, blocked, so that even its 'error' event could not arrive).
   */
  started(): boolean {
    return Atomics.load(this.ctrl, READY) === 1;
  }

  /** Started and without an error so far. */
  ready(): boolean {
    return this.started() && Atomics.load(this.ctrl, ERROR) === 0;
  }

  /** Block until the thread is ready, at most `ms` (tests; the writer does not wait by default). */
  awaitReady(ms: number): boolean {
    const t0 = performance.now();
    while (Atomics.load(this.ctrl, READY) === 0 && performance.now() - t0 < ms) Atomics.wait(this.ctrl, READY, 0, 20);
    return this.ready();
  }

  /** Block until at most `inFlight` submitted slots are unwritten (or the thread failed). */
  private waitWritten(inFlight: number): void {
    if (this.submitted === 0) return; // nothing was handed over (the thread may never have started)
    const t0 = performance.now();
    for (;;) {
      this.throwIfFailed();
      const written = Atomics.load(this.ctrl, WRITTEN);
      if (this.submitted - written <= inFlight) break;
      Atomics.wait(this.ctrl, WRITTEN, written, 100);
    }
    this.waitMs += performance.now() - t0;
  }

  /** Copy `pieces` (`bytes` in total) into a free slot and hand it to the thread to write at `position` (only once ready()). */
  submit(pieces: readonly Uint8Array[], bytes: number, position: number): void {
    if (this.closed) throw new Error('cache writer thread already closed');
    if (Atomics.load(this.ctrl, READY) !== 1) throw new Error('cache writer thread not ready');
    if (bytes === 0) return;
    this.throwIfFailed();
    if (this.submitted >= SLOTS) this.waitWritten(SLOTS - 1);
    const k = this.submitted % SLOTS;
    let buf = this.slots[k];
    if (!buf || buf.byteLength < bytes) {
      // Sized for this batch plus headroom (the next batch's metadata may be a little larger).
      buf = new SharedArrayBuffer(bytes + (bytes >>> 6) + 4096);
      this.slots[k] = buf;
    }
    const u = new Uint8Array(buf);
    let at = 0;
    for (const p of pieces) {
      u.set(p, at);
      at += p.byteLength;
    }
    this.submitted++;
    Atomics.store(this.ctrl, SUBMITTED, this.submitted);
    this.worker.postMessage({ type: 'write', buf, bytes, position });
  }

  /** Every submitted byte is written (throws the thread's error if one failed). */
  drain(): void {
    this.waitWritten(0);
  }

  /**
   * Stop the thread: waits for the writes in flight (bounded), then closes its descriptor. Idempotent;
   * never throws (used on the abort path as well as after a successful drain).
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (Atomics.load(this.ctrl, READY) !== 1) {
      // never started (or not yet): nothing of ours to wait for
      void this.worker.terminate();
      return;
    }
    const t0 = performance.now();
    this.worker.postMessage({ type: 'close' });
    // Handled after the writes queued before it; the thread closes its descriptor.
    while (Atomics.load(this.ctrl, CLOSED) === 0 && performance.now() - t0 < 10_000) Atomics.wait(this.ctrl, CLOSED, 0, 100);
    void this.worker.terminate();
  }
}
