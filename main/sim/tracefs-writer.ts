// Streams one tracefs `trace` text file (the kernel's print layout) through a large reused Buffer
// with hand-written number formatting: no string per line. Leaves the simulation to simulator.ts.
// Source of truth for the layout: kernel/trace/trace_output.c (`%16s-%-7d [%03d] flags %5lu.%0Nlu: `),
// kernel/trace/trace.c print_event_info (header) and include/trace/events/sched.h (field text);
// checked against a real tracefs capture (/tmp/rec/single-schedmix/tracefs.txt).

import { closeSync, openSync, writeSync } from 'node:fs';

const enc = (s: string): Uint8Array => Buffer.from(s, 'latin1');

/** Precomputed text of one task, so that a line is a few memory copies. */
export class TaskText {
  /** `<comm right-aligned in 16>-<pid left-aligned in 7> [` */
  readonly head: Uint8Array;
  /** The same with the record-tgid column: `... (<tgid right-aligned in 7>) [` */
  readonly headTgid: Uint8Array;
  readonly prevFrag: Uint8Array;
  readonly nextFrag: Uint8Array;
  /** `comm=C pid=P prio=120 ` (wakeups, migrations, exit) */
  readonly subjFrag: Uint8Array;
  /** `comm=C pid=P ` (parent of a fork) and `child_comm=C child_pid=P\n` */
  readonly parentFrag: Uint8Array;
  readonly childFrag: Uint8Array;
  /** Set once the task appears in any line of its file. */
  seen = false;
  /** Xen host traces: the scheduled entity, (domid << 16) | vcpu. */
  xen = -1;

  constructor(
    readonly tid: number,
    readonly comm: string,
    /** The comm printed in the line head (`<idle>` for pid 0). */
    headComm: string = comm,
    /** VM index for host vCPU threads (used for the truth's VM span), else -1. */
    readonly vm: number = -1,
    /** Thread-group id for the optional tgid column; -1 prints `-------` (idle). */
    tgid: number = tid,
  ) {
    const pidText = String(tid);
    this.head = enc(`${headComm.padStart(16)}-${pidText.padEnd(7)} [`);
    this.headTgid = enc(`${headComm.padStart(16)}-${pidText.padEnd(7)} (${tgid < 0 ? '-------' : String(tgid).padStart(7)}) [`);
    this.prevFrag = enc(`prev_comm=${comm} prev_pid=${tid} prev_prio=120 prev_state=`);
    this.nextFrag = enc(` ==> next_comm=${comm} next_pid=${tid} next_prio=120\n`);
    this.subjFrag = enc(`comm=${comm} pid=${tid} prio=120 `);
    this.parentFrag = enc(`comm=${comm} pid=${tid} `);
    this.childFrag = enc(`child_comm=${comm} child_pid=${tid}\n`);
  }
}

export function idleTask(cpu: number): TaskText {
  return new TaskText(0, `swapper/${cpu}`, '<idle>', -1, -1);
}

// Irq/preempt flag columns as the kernel prints them for each kind of record (typical values seen
// in real captures; they carry no meaning for vcpuscope).
const F_SWITCH = enc('] d..2. ');
const F_WAKING = enc('] d..2. ');
const F_WAKING_IRQ = enc('] d.h2. ');
const F_WAKEUP = enc('] d..3. ');
const F_WAKEUP_IRQ = enc('] dNh3. ');
const F_MIGRATE = enc('] d..2. ');
const F_KVM = enc('] d..1. ');
const F_NONE = enc('] ..... ');
const N_FORK = enc(': sched_process_fork: ');
const N_WAKEUP_NEW = enc(': sched_wakeup_new: ');
const N_EXIT = enc(': sched_process_exit: ');
const T_GROUP_DEAD = enc('group_dead=true\n');
const N_SWITCH = enc(': sched_switch: ');
const N_WAKING = enc(': sched_waking: ');
const N_WAKEUP = enc(': sched_wakeup: ');
const N_MIGRATE = enc(': sched_migrate_task: ');
const N_KVM_ENTRY = enc(': kvm_entry: vcpu ');
const N_KVM_EXIT = enc(': kvm_exit: vcpu ');
const T_TARGET = enc('target_cpu=');
const T_ORIG = enc('orig_cpu=');
const T_DEST = enc(' dest_cpu=');
const T_RIP = enc(', rip 0x');
const T_REASON = enc(' reason ');
const T_EXIT_TAIL = enc(' info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x00000000 error_code 0x00000000\n');
const T_EXIT_RIP = enc(' rip 0x');
const HEX = enc('0123456789abcdef');

export const PREV_STATE = {
  S: enc('S'),
  R: enc('R'),
  Rplus: enc('R+'),
  Z: enc('Z'),
  D: enc('D'),
} as const;

export const EXIT_REASON = {
  hlt: enc('HLT'),
  extint: enc('EXTERNAL_INTERRUPT'),
  msrWrite: enc('MSR_WRITE'),
} as const;

const LEGEND_TGID = [
  '#',
  '#                                          _-----=> irqs-off/BH-disabled',
  '#                                         / _----=> need-resched',
  '#                                        | / _---=> hardirq/softirq',
  '#                                        || / _--=> preempt-depth',
  '#                                        ||| / _-=> migrate-disable',
  '#                                        |||| /     delay',
  '#           TASK-PID       TGID    CPU#  |||||  TIMESTAMP  FUNCTION',
  '#              | |           |       |   |||||     |         |',
].join('\n');

const LEGEND = [
  '#',
  '#                                _-----=> irqs-off/BH-disabled',
  '#                               / _----=> need-resched',
  '#                              | / _---=> hardirq/softirq',
  '#                              || / _--=> preempt-depth',
  '#                              ||| / _-=> migrate-disable',
  '#                              |||| /     delay',
  '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION',
  '#              | |         |   |||||     |         |',
].join('\n');

/** Width reserved for `N/N   #P:C` when the counts are not known before the first flush. */
const COUNTS_RESERVE = 48;

export interface WriterOptions {
  path: string;
  cpus: number;
  /** File timestamp = simulation (host) ns − clockOffsetNs (− the drift below). */
  clockOffsetNs: number;
  /**
   * Clock drift: the file clock loses this many ns per host second from driftRefNs on (file
   * timestamp = host − clockOffsetNs − round(driftNsPerS · (host − driftRefNs) / 1e9)). Default 0.
   */
  driftNsPerS?: number;
  driftRefNs?: number;
  bufferBytes: number;
  /** Print the record-tgid column (tracefs `options/record-tgid`). */
  tgid?: boolean;
}

export class TracefsWriter {
  private readonly fd: number;
  private readonly buf: Buffer;
  private pos = 0;
  private fileBytes = 0;
  private headerWritten = false;
  entries = 0;
  /** Host-clock ns of the last line, -1 before the first. */
  lastHostNs = -1;
  readonly clockOffsetNs: number;
  private readonly driftNsPerS: number;
  private readonly driftRefNs: number;
  readonly cpus: number;
  readonly path: string;
  private readonly tgid: boolean;

  constructor(opts: WriterOptions) {
    this.path = opts.path;
    this.tgid = opts.tgid ?? false;
    this.cpus = opts.cpus;
    this.clockOffsetNs = opts.clockOffsetNs;
    this.driftNsPerS = opts.driftNsPerS ?? 0;
    this.driftRefNs = opts.driftRefNs ?? 0;
    this.buf = Buffer.allocUnsafe(opts.bufferBytes);
    this.fd = openSync(opts.path, 'wx');
  }

  /** Bytes written so far, including what is still buffered. */
  get bytes(): number {
    return this.fileBytes + this.pos + (this.headerWritten ? 0 : 700);
  }

  private header(counts: string): Buffer {
    return Buffer.from(`# tracer: nop\n#\n# entries-in-buffer/entries-written: ${counts}\n${this.tgid ? LEGEND_TGID : LEGEND}\n`, 'latin1');
  }

  private countsText(): string {
    return `${this.entries}/${this.entries}   #P:${this.cpus}`;
  }

  private flush(): void {
    if (!this.headerWritten) {
      // Counts are unknown until the end: reserve room, patched in close() (trailing spaces).
      const h = this.header(''.padEnd(COUNTS_RESERVE));
      writeSync(this.fd, h, 0, h.length, 0);
      this.fileBytes = h.length;
      this.headerWritten = true;
    }
    let off = 0;
    while (off < this.pos) off += writeSync(this.fd, this.buf, off, this.pos - off, this.fileBytes + off);
    this.fileBytes += this.pos;
    this.pos = 0;
  }

  close(): void {
    if (!this.headerWritten) {
      const h = this.header(this.countsText());
      writeSync(this.fd, h, 0, h.length, 0);
      this.fileBytes = h.length;
      this.headerWritten = true;
      this.flush();
    } else {
      this.flush();
      const counts = Buffer.from(this.countsText().padEnd(COUNTS_RESERVE), 'latin1');
      const at = Buffer.byteLength('# tracer: nop\n#\n# entries-in-buffer/entries-written: ', 'latin1');
      writeSync(this.fd, counts, 0, counts.length, at);
    }
    closeSync(this.fd);
  }

  private put(src: Uint8Array): void {
    // TypedArray.set is a memcpy; a byte loop only wins for a handful of bytes.
    const n = src.length;
    if (n > 8) {
      this.buf.set(src, this.pos);
      this.pos += n;
      return;
    }
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) b[p++] = src[i]!;
    this.pos = p;
  }

  private uint(n: number): void {
    const b = this.buf;
    if (n < 10) {
      b[this.pos++] = 48 + n;
      return;
    }
    let digits = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
    let p = this.pos + digits;
    this.pos = p;
    while (n >= 10) {
      const q = Math.floor(n / 10);
      b[--p] = 48 + (n - q * 10);
      n = q;
    }
    b[--p] = 48 + n;
  }

  private cpu3(n: number): void {
    const b = this.buf;
    if (n >= 1000) {
      this.uint(n);
      return;
    }
    b[this.pos++] = 48 + Math.floor(n / 100);
    b[this.pos++] = 48 + (Math.floor(n / 10) % 10);
    b[this.pos++] = 48 + (n % 10);
  }

  /** Kernel text addresses: `ffffffff` then the low 32 bits as 8 hex digits. */
  private kernelAddr(lo32: number): void {
    const b = this.buf;
    for (let i = 0; i < 8; i++) b[this.pos++] = 102;
    for (let s = 28; s >= 0; s -= 4) b[this.pos++] = HEX[(lo32 >>> s) & 15]!;
  }

  /** `%5lu.%09lu` of the file-clock time. */
  private ts(hostNs: number): void {
    const ns = hostNs - this.clockOffsetNs - (this.driftNsPerS !== 0 ? Math.round((this.driftNsPerS * (hostNs - this.driftRefNs)) / 1e9) : 0);
    const sec = Math.floor(ns / 1e9);
    let frac = ns - sec * 1e9;
    const b = this.buf;
    if (sec < 10000) {
      const pad = sec < 10 ? 4 : sec < 100 ? 3 : sec < 1000 ? 2 : 1;
      for (let i = 0; i < pad; i++) b[this.pos++] = 32;
    }
    this.uint(sec);
    b[this.pos++] = 46;
    let p = this.pos + 9;
    this.pos = p;
    for (let i = 0; i < 9; i++) {
      const q = Math.floor(frac / 10);
      b[--p] = 48 + (frac - q * 10);
      frac = q;
    }
  }

  private begin(task: TaskText, cpu: number, flags: Uint8Array, hostNs: number, name: Uint8Array): void {
    if (this.pos + 1024 > this.buf.length) this.flush();
    this.entries++;
    this.lastHostNs = hostNs;
    task.seen = true;
    this.put(this.tgid ? task.headTgid : task.head);
    this.cpu3(cpu);
    this.put(flags);
    this.ts(hostNs);
    this.put(name);
  }

  switch(hostNs: number, cpu: number, prev: TaskText, prevState: Uint8Array, next: TaskText): void {
    this.begin(prev, cpu, F_SWITCH, hostNs, N_SWITCH);
    next.seen = true;
    this.put(prev.prevFrag);
    this.put(prevState);
    this.put(next.nextFrag);
  }

  /** sched_waking; `fromIrq` picks the hardirq flag column (timer expiry). */
  waking(hostNs: number, cpu: number, line: TaskText, woken: TaskText, targetCpu: number, fromIrq: boolean): void {
    this.wake(fromIrq ? F_WAKING_IRQ : F_WAKING, N_WAKING, hostNs, cpu, line, woken, targetCpu);
  }

  wakeup(hostNs: number, cpu: number, line: TaskText, woken: TaskText, targetCpu: number, fromIrq: boolean): void {
    this.wake(fromIrq ? F_WAKEUP_IRQ : F_WAKEUP, N_WAKEUP, hostNs, cpu, line, woken, targetCpu);
  }

  /** sched_waking / sched_wakeup: the same line but for the event name (`flags`, `name`). */
  private wake(flags: Uint8Array, name: Uint8Array, hostNs: number, cpu: number, line: TaskText, woken: TaskText, targetCpu: number): void {
    this.begin(line, cpu, flags, hostNs, name);
    woken.seen = true;
    this.put(woken.subjFrag);
    this.put(T_TARGET);
    this.cpu3(targetCpu);
    this.buf[this.pos++] = 10;
  }

  migrate(hostNs: number, cpu: number, line: TaskText, task: TaskText, origCpu: number, destCpu: number): void {
    this.begin(line, cpu, F_MIGRATE, hostNs, N_MIGRATE);
    task.seen = true;
    this.put(task.subjFrag);
    this.put(T_ORIG);
    this.uint(origCpu);
    this.put(T_DEST);
    this.uint(destCpu);
    this.buf[this.pos++] = 10;
  }

  /** sched.h sched_process_fork: `comm=%s pid=%d child_comm=%s child_pid=%d` */
  fork(hostNs: number, cpu: number, parent: TaskText, child: TaskText): void {
    this.begin(parent, cpu, F_NONE, hostNs, N_FORK);
    child.seen = true;
    this.put(parent.parentFrag);
    this.put(child.childFrag);
  }

  wakeupNew(hostNs: number, cpu: number, line: TaskText, child: TaskText, targetCpu: number): void {
    this.begin(line, cpu, F_SWITCH, hostNs, N_WAKEUP_NEW);
    this.put(child.subjFrag);
    this.put(T_TARGET);
    this.cpu3(targetCpu);
    this.buf[this.pos++] = 10;
  }

  /** sched.h sched_process_exit (6.x): `comm=%s pid=%d prio=%d group_dead=%s` */
  exit(hostNs: number, cpu: number, task: TaskText): void {
    this.begin(task, cpu, F_NONE, hostNs, N_EXIT);
    this.put(task.subjFrag);
    this.put(T_GROUP_DEAD);
  }

  /** arch/x86/kvm/trace.h: `vcpu %u, rip 0x%lx` */
  kvmEntry(hostNs: number, cpu: number, vcpuThread: TaskText, vcpuId: number, ripLow32: number): void {
    this.begin(vcpuThread, cpu, F_KVM, hostNs, N_KVM_ENTRY);
    this.uint(vcpuId);
    this.put(T_RIP);
    this.kernelAddr(ripLow32);
    this.buf[this.pos++] = 10;
  }

  /** arch/x86/kvm/trace.h: `vcpu %u reason %s rip 0x%lx info1 0x%016llx info2 ... error_code 0x%08x` */
  kvmExit(hostNs: number, cpu: number, vcpuThread: TaskText, vcpuId: number, reason: Uint8Array, ripLow32: number): void {
    this.begin(vcpuThread, cpu, F_KVM, hostNs, N_KVM_EXIT);
    this.uint(vcpuId);
    this.put(T_REASON);
    this.put(reason);
    this.put(T_EXIT_RIP);
    this.kernelAddr(ripLow32);
    this.put(T_EXIT_TAIL);
  }
}
