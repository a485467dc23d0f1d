// Streams a host trace in Xen's xentrace binary format instead of tracefs text: per-pCPU buffers
// written as windows (TRC_TRACE_CPU_CHANGE + that pCPU's records), like xentrace itself. Same
// method surface as TracefsWriter's host part, so the simulator does not care which it writes.
// Source of truth: xen/include/public/trace.h (t_rec layout, ids), xen/common/sched/core.c
// (SWITCH payload dom/vcpu words, runstate-change ids (old << 8 | new << 4) with a dom:vcpu word),
// tools/xentrace/xentrace.c (windows). Time: TSC at 2.4 GHz (xenalyze's and our reader's default).

import { closeSync, openSync, writeSync } from 'node:fs';
import { EXIT_REASON, PREV_STATE, type TaskText } from './tracefs-writer.ts';

const CPU_CHANGE_HEADER = 0x2001f003;
const TRC_SCHED_RUNSTATE_CHANGE = 0x00021001;
const TRC_SCHED_WAKE = 0x00028004;
const TRC_SCHED_SWITCH = 0x0002800a;
const TRC_CSCHED_STOLEN_UNIT = 0x00022004;
const TRC_HVM_VMENTRY = 0x00081001;
const TRC_HVM_VMEXIT = 0x00081002;
const RUNNING = 0;
const RUNNABLE = 1;
const BLOCKED = 2;
// VMX basic exit reasons (Intel SDM appendix C).
const VMX_EXTERNAL_INTERRUPT = 1;
const VMX_HLT = 12;
const VMX_MSR_WRITE = 32;

export const XEN_CPU_HZ = 2_400_000_000;
/** An arbitrary, realistic TSC at the first record (~5.8 h of uptime at 2.4 GHz). */
const TSC_AT_FIRST = 50_475_882_825_885;
const TWO32 = 4294967296;

export interface XentraceWriterOptions {
  path: string;
  cpus: number;
  /** Bytes per pCPU buffer (one window each time it fills). */
  bufferBytes: number;
}

export class XentraceWriter {
  private readonly fd: number;
  private readonly bufs: Buffer[] = [];
  private readonly pos: number[] = [];
  private fileBytes = 0;
  entries = 0;
  lastHostNs = -1;
  /** Simulation ns of the first record: the reader's time base (its ts 0). */
  firstHostNs = -1;
  readonly path: string;

  constructor(opts: XentraceWriterOptions) {
    this.path = opts.path;
    this.fd = openSync(opts.path, 'wx');
    for (let c = 0; c < opts.cpus; c++) {
      this.bufs.push(Buffer.allocUnsafe(Math.max(4096, opts.bufferBytes)));
      this.pos.push(12); // room for the window's CPU_CHANGE record
    }
  }

  get bytes(): number {
    let b = this.fileBytes;
    for (const p of this.pos) b += p - 12;
    return b;
  }

  private flushCpu(cpu: number): void {
    const buf = this.bufs[cpu]!;
    const end = this.pos[cpu]!;
    if (end === 12) return;
    buf.writeUInt32LE(CPU_CHANGE_HEADER, 0);
    buf.writeUInt32LE(cpu, 4);
    buf.writeUInt32LE(end - 12, 8);
    let off = 0;
    while (off < end) off += writeSync(this.fd, buf, off, end - off, this.fileBytes + off);
    this.fileBytes += end;
    this.pos[cpu] = 12;
  }

  close(): void {
    for (let c = 0; c < this.bufs.length; c++) this.flushCpu(c);
    closeSync(this.fd);
  }

  /** One record with TSC and up to 4 words (nWords of w0..w3). */
  private rec(cpu: number, hostNs: number, id: number, nWords: number, w0: number, w1: number, w2: number, w3: number): void {
    let p = this.pos[cpu]!;
    let buf = this.bufs[cpu]!;
    if (p + 28 > buf.length) {
      this.flushCpu(cpu);
      p = 12;
      buf = this.bufs[cpu]!;
    }
    if (this.firstHostNs < 0) this.firstHostNs = hostNs;
    this.entries++;
    this.lastHostNs = hostNs;
    const tsc = TSC_AT_FIRST + Math.round(((hostNs - this.firstHostNs) * XEN_CPU_HZ) / 1e9);
    buf.writeUInt32LE((0x80000000 | (nWords << 28) | id) >>> 0, p);
    buf.writeUInt32LE(tsc % TWO32, p + 4);
    buf.writeUInt32LE(Math.floor(tsc / TWO32), p + 8);
    p += 12;
    if (nWords > 0) buf.writeUInt32LE(w0 >>> 0, p);
    if (nWords > 1) buf.writeUInt32LE(w1 >>> 0, p + 4);
    if (nWords > 2) buf.writeUInt32LE(w2 >>> 0, p + 8);
    if (nWords > 3) buf.writeUInt32LE(w3 >>> 0, p + 12);
    this.pos[cpu] = p + 4 * nWords;
  }

  private runstate(cpu: number, hostNs: number, task: TaskText, from: number, to: number): void {
    this.rec(cpu, hostNs, TRC_SCHED_RUNSTATE_CHANGE | (from << 8) | (to << 4), 1, task.xen >>> 0, 0, 0, 0);
  }

  switch(hostNs: number, cpu: number, prev: TaskText, prevState: Uint8Array, next: TaskText): void {
    prev.seen = true;
    next.seen = true;
    this.rec(cpu, hostNs, TRC_SCHED_SWITCH, 4, prev.xen >>> 16, prev.xen & 0xffff, next.xen >>> 16, next.xen & 0xffff);
    this.runstate(cpu, hostNs, prev, RUNNING, prevState === PREV_STATE.S ? BLOCKED : RUNNABLE);
    this.runstate(cpu, hostNs, next, RUNNABLE, RUNNING);
  }

  /** Xen traces no separate "waking": the wake record is written by wakeup(). */
  waking(_hostNs: number, _cpu: number, _line: TaskText, _woken: TaskText, _targetCpu: number, _fromIrq: boolean): void {}

  wakeup(hostNs: number, cpu: number, _line: TaskText, woken: TaskText, _targetCpu: number, _fromIrq: boolean): void {
    woken.seen = true;
    this.rec(cpu, hostNs, TRC_SCHED_WAKE, 2, woken.xen >>> 16, woken.xen & 0xffff, 0, 0);
    this.runstate(cpu, hostNs, woken, BLOCKED, RUNNABLE);
  }

  /** credit's STOLEN_UNIT is written by the pCPU that takes the vCPU; other moves show in switches only. */
  migrate(hostNs: number, cpu: number, _line: TaskText, task: TaskText, origCpu: number, destCpu: number): void {
    if (destCpu !== cpu) return;
    this.rec(cpu, hostNs, TRC_CSCHED_STOLEN_UNIT, 3, origCpu, task.xen >>> 16, task.xen & 0xffff, 0);
  }

  kvmEntry(hostNs: number, cpu: number, _vcpuThread: TaskText, _vcpuId: number, _ripLow32: number): void {
    this.rec(cpu, hostNs, TRC_HVM_VMENTRY, 0, 0, 0, 0, 0);
  }

  kvmExit(hostNs: number, cpu: number, _vcpuThread: TaskText, _vcpuId: number, reason: Uint8Array, ripLow32: number): void {
    const code = reason === EXIT_REASON.hlt ? VMX_HLT : reason === EXIT_REASON.msrWrite ? VMX_MSR_WRITE : VMX_EXTERNAL_INTERRUPT;
    this.rec(cpu, hostNs, TRC_HVM_VMEXIT, 2, code, ripLow32, 0, 0);
  }
}
