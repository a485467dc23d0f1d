// xentrace record layout, event ids and their names. Source of truth: xen `xen/include/public/trace.h`
// (ids, classes, t_rec), the per-scheduler TRC_*_ defines in `xen/common/sched/{credit,credit2,rt,null}.c`
// and `tools/xentrace/xentrace.c` (CPU_CHANGE window records). Read for facts; no code copied.

/** Record header: event id in bits 0-27, extra u32 count in bits 28-30, TSC present in bit 31. */
export const EVENT_MASK = 0x0fffffff;

/** The header word xentrace writes before every per-CPU window: CPU_CHANGE with 2 extra words, no TSC. */
export const CPU_CHANGE_HEADER = 0x2001f003;
export const CPU_CHANGE_BYTES = 12;

export const TRC_LOST_RECORDS = 0x0001f001;
export const TRC_TRACE_WRAP_BUFFER = 0x0001f002;
export const TRC_TRACE_CPU_CHANGE = 0x0001f003;

export const TRC_SCHED_RUNSTATE_CHANGE = 0x00021001;
export const TRC_SCHED_CONTINUE_RUNNING = 0x00021002;
export const TRC_SCHED_DOM_ADD = 0x00028001;
export const TRC_SCHED_DOM_REM = 0x00028002;
export const TRC_SCHED_SLEEP = 0x00028003;
export const TRC_SCHED_WAKE = 0x00028004;
export const TRC_SCHED_YIELD = 0x00028005;
export const TRC_SCHED_BLOCK = 0x00028006;
export const TRC_SCHED_SWITCH = 0x0002800a;
export const TRC_SCHED_SWITCH_INFPREV = 0x0002800e;
export const TRC_SCHED_SWITCH_INFNEXT = 0x0002800f;

/** TRC_SCHED_CLASS_EVT(CSCHED, 4): credit1 stole a unit from peer_cpu (words: peer_cpu, domid, unit). */
export const TRC_CSCHED_STOLEN_UNIT = 0x00022004;
/** TRC_SCHED_CLASS_EVT(SNULL, 4): null scheduler moved a unit (words: unit|dom<<16, cpu|new_cpu<<16). */
export const TRC_SNULL_MIGRATE = 0x00022a04;

export const TRC_HVM_VMENTRY = 0x00081001;
export const TRC_HVM_NESTEDFLAG = 0x400;
export const TRC_64_FLAG = 0x100;

/** Xen RUNSTATE_* values (xen/include/public/vcpu.h), as they appear in runstate-change ids. */
export const XEN_RUNSTATE_NAMES = ['running', 'runnable', 'blocked', 'offline'] as const;

/** Size in bytes of a record with header word `h`. */
export function recordBytes(h: number): number {
  return 4 + (h >>> 31) * 8 + ((h >>> 28) & 7) * 4;
}

/** Runstate change ids carry old state in bits 8-11 and new state in bits 4-7 (core.c). */
export function isRunstateChange(ev: number): boolean {
  return (ev & ~0xff0) === TRC_SCHED_RUNSTATE_CHANGE;
}

/** Top-level classes (trace.h TRC_GEN ... TRC_GUEST): bits 16-27 of the id, one bit set. */
export const CLASS_NAMES: ReadonlyArray<readonly [number, string]> = [
  [0x001, 'GEN'], [0x002, 'SCHED'], [0x004, 'DOM0OP'], [0x008, 'HVM'], [0x010, 'MEM'],
  [0x020, 'PV'], [0x040, 'SHADOW'], [0x080, 'HW'], [0x800, 'GUEST'],
];
/** Index into CLASS_NAMES for an event id, or CLASS_NAMES.length for ids outside any class. */
export function classIndex(ev: number): number {
  const main = (ev >>> 16) & 0xfff;
  for (let i = 0; i < CLASS_NAMES.length; i++) if (CLASS_NAMES[i]![0] === main) return i;
  return CLASS_NAMES.length;
}
export const CLASS_UNKNOWN = 'unknown';

const sched = (id: number, e: number): number => 0x00022000 + ((id << 9) & 0xe00) + e;

/** Event id -> Xen's macro name. Ids with flag variants that trace.h names get their own entry. */
export const EVENT_NAMES: ReadonlyMap<number, string> = new Map<number, string>([
  [TRC_LOST_RECORDS, 'TRC_LOST_RECORDS'],
  [TRC_TRACE_WRAP_BUFFER, 'TRC_TRACE_WRAP_BUFFER'],
  [TRC_TRACE_CPU_CHANGE, 'TRC_TRACE_CPU_CHANGE'],
  [TRC_SCHED_CONTINUE_RUNNING, 'TRC_SCHED_CONTINUE_RUNNING'],
  [TRC_SCHED_DOM_ADD, 'TRC_SCHED_DOM_ADD'],
  [TRC_SCHED_DOM_REM, 'TRC_SCHED_DOM_REM'],
  [TRC_SCHED_SLEEP, 'TRC_SCHED_SLEEP'],
  [TRC_SCHED_WAKE, 'TRC_SCHED_WAKE'],
  [TRC_SCHED_YIELD, 'TRC_SCHED_YIELD'],
  [TRC_SCHED_BLOCK, 'TRC_SCHED_BLOCK'],
  [0x00028007, 'TRC_SCHED_SHUTDOWN'],
  [0x00028008, 'TRC_SCHED_CTL'],
  [0x00028009, 'TRC_SCHED_ADJDOM'],
  [TRC_SCHED_SWITCH, 'TRC_SCHED_SWITCH'],
  [0x0002800b, 'TRC_SCHED_S_TIMER_FN'],
  [0x0002800c, 'TRC_SCHED_T_TIMER_FN'],
  [0x0002800d, 'TRC_SCHED_DOM_TIMER_FN'],
  [TRC_SCHED_SWITCH_INFPREV, 'TRC_SCHED_SWITCH_INFPREV'],
  [TRC_SCHED_SWITCH_INFNEXT, 'TRC_SCHED_SWITCH_INFNEXT'],
  [0x00028010, 'TRC_SCHED_SHUTDOWN_CODE'],
  [0x00028011, 'TRC_SCHED_SWITCH_INFCONT'],
  // credit (xen/common/sched/credit.c)
  [sched(0, 1), 'TRC_CSCHED_SCHED_TASKLET'],
  [sched(0, 2), 'TRC_CSCHED_ACCOUNT_START'],
  [sched(0, 3), 'TRC_CSCHED_ACCOUNT_STOP'],
  [sched(0, 4), 'TRC_CSCHED_STOLEN_UNIT'],
  [sched(0, 5), 'TRC_CSCHED_PICKED_CPU'],
  [sched(0, 6), 'TRC_CSCHED_TICKLE'],
  [sched(0, 7), 'TRC_CSCHED_BOOST_START'],
  [sched(0, 8), 'TRC_CSCHED_BOOST_END'],
  [sched(0, 9), 'TRC_CSCHED_SCHEDULE'],
  [sched(0, 10), 'TRC_CSCHED_RATELIMIT'],
  [sched(0, 11), 'TRC_CSCHED_STEAL_CHECK'],
  // credit2 (xen/common/sched/credit2.c)
  [sched(1, 1), 'TRC_CSCHED2_TICK'],
  [sched(1, 2), 'TRC_CSCHED2_RUNQ_POS'],
  [sched(1, 3), 'TRC_CSCHED2_CREDIT_BURN'],
  [sched(1, 4), 'TRC_CSCHED2_CREDIT_ADD'],
  [sched(1, 5), 'TRC_CSCHED2_TICKLE_CHECK'],
  [sched(1, 6), 'TRC_CSCHED2_TICKLE'],
  [sched(1, 7), 'TRC_CSCHED2_CREDIT_RESET'],
  [sched(1, 8), 'TRC_CSCHED2_SCHED_TASKLET'],
  [sched(1, 9), 'TRC_CSCHED2_UPDATE_LOAD'],
  [sched(1, 10), 'TRC_CSCHED2_RUNQ_ASSIGN'],
  [sched(1, 11), 'TRC_CSCHED2_UPDATE_UNIT_LOAD'],
  [sched(1, 12), 'TRC_CSCHED2_UPDATE_RUNQ_LOAD'],
  [sched(1, 13), 'TRC_CSCHED2_TICKLE_NEW'],
  [sched(1, 14), 'TRC_CSCHED2_RUNQ_MAX_WEIGHT'],
  [sched(1, 15), 'TRC_CSCHED2_MIGRATE'],
  [sched(1, 16), 'TRC_CSCHED2_LOAD_CHECK'],
  [sched(1, 17), 'TRC_CSCHED2_LOAD_BALANCE'],
  [sched(1, 19), 'TRC_CSCHED2_PICKED_CPU'],
  [sched(1, 20), 'TRC_CSCHED2_RUNQ_CANDIDATE'],
  [sched(1, 21), 'TRC_CSCHED2_SCHEDULE'],
  [sched(1, 22), 'TRC_CSCHED2_RATELIMIT'],
  [sched(1, 23), 'TRC_CSCHED2_RUNQ_CAND_CHECK'],
  // RTDS (xen/common/sched/rt.c)
  [sched(4, 1), 'TRC_RTDS_TICKLE'],
  [sched(4, 2), 'TRC_RTDS_RUNQ_PICK'],
  [sched(4, 3), 'TRC_RTDS_BUDGET_BURN'],
  [sched(4, 4), 'TRC_RTDS_BUDGET_REPLENISH'],
  [sched(4, 5), 'TRC_RTDS_SCHED_TASKLET'],
  [sched(4, 6), 'TRC_RTDS_SCHEDULE'],
  // null (xen/common/sched/null.c)
  [sched(5, 1), 'TRC_SNULL_PICKED_CPU'],
  [sched(5, 2), 'TRC_SNULL_UNIT_ASSIGN'],
  [sched(5, 3), 'TRC_SNULL_UNIT_DEASSIGN'],
  [sched(5, 4), 'TRC_SNULL_MIGRATE'],
  [sched(5, 5), 'TRC_SNULL_SCHEDULE'],
  [sched(5, 6), 'TRC_SNULL_TASKLET'],
  [0x00041001, 'TRC_DOM0_DOM_ADD'],
  [0x00041002, 'TRC_DOM0_DOM_REM'],
  [0x0010f001, 'TRC_MEM_PAGE_GRANT_MAP'],
  [0x0010f002, 'TRC_MEM_PAGE_GRANT_UNMAP'],
  [0x0010f003, 'TRC_MEM_PAGE_GRANT_TRANSFER'],
  [0x0010f004, 'TRC_MEM_SET_P2M_ENTRY'],
  [0x0010f005, 'TRC_MEM_DECREASE_RESERVATION'],
  [0x0010f010, 'TRC_MEM_POD_POPULATE'],
  [0x0010f011, 'TRC_MEM_POD_ZERO_RECLAIM'],
  [0x0010f012, 'TRC_MEM_POD_SUPERPAGE_SPLINTER'],
  [0x00201001, 'TRC_PV_HYPERCALL'],
  [0x00201003, 'TRC_PV_TRAP'],
  [0x00201004, 'TRC_PV_PAGE_FAULT'],
  [0x00201005, 'TRC_PV_FORCED_INVALID_OP'],
  [0x00201006, 'TRC_PV_EMULATE_PRIVOP'],
  [0x00201007, 'TRC_PV_EMULATE_4GB'],
  [0x00201008, 'TRC_PV_MATH_STATE_RESTORE'],
  [0x00201009, 'TRC_PV_PAGING_FIXUP'],
  [0x0020100a, 'TRC_PV_GDT_LDT_MAPPING_FAULT'],
  [0x0020100b, 'TRC_PV_PTWR_EMULATION'],
  [0x0020100c, 'TRC_PV_PTWR_EMULATION_PAE'],
  [0x0020100d, 'TRC_PV_HYPERCALL_V2'],
  [0x0020200e, 'TRC_PV_HYPERCALL_SUBCALL'],
  ...[
    'NOT_SHADOW', 'FAST_PROPAGATE', 'FAST_MMIO', 'FALSE_FAST_PATH', 'MMIO', 'FIXUP', 'DOMF_DYING', 'EMULATE',
    'EMULATE_UNSHADOW_USER', 'EMULATE_UNSHADOW_EVTINJ', 'EMULATE_UNSHADOW_UNHANDLED', 'WRMAP_BF',
    'PREALLOC_UNPIN', 'RESYNC_FULL', 'RESYNC_ONLY',
  ].map((n, i): [number, string] => [0x0040f000 + i + 1, `TRC_SHADOW_${n}`]),
  [TRC_HVM_VMENTRY, 'TRC_HVM_VMENTRY'],
  [0x00081002, 'TRC_HVM_VMX_EXIT'],
  [0x00081102, 'TRC_HVM_VMX_EXIT64'],
  [0x00081003, 'TRC_HVM_SVM_EXIT'],
  [0x00081103, 'TRC_HVM_SVM_EXIT64'],
  ...hvmHandlerNames(),
  ...[
    'HPET_START_TIMER', 'PIT_START_TIMER', 'RTC_START_TIMER', 'LAPIC_START_TIMER', 'HPET_STOP_TIMER',
    'PIT_STOP_TIMER', 'RTC_STOP_TIMER', 'LAPIC_STOP_TIMER', 'PIT_TIMER_CB', 'LAPIC_TIMER_CB',
    'PIC_INT_OUTPUT', 'PIC_KICK', 'PIC_INTACK', 'PIC_POSEDGE', 'PIC_NEGEDGE', 'PIC_PEND_IRQ_CALL',
    'LAPIC_PIC_INTR',
  ].map((n, i): [number, string] => [0x00084000 + i + 1, `TRC_HVM_EMUL_${n}`]),
  [0x00801001, 'TRC_PM_FREQ_CHANGE'],
  [0x00801002, 'TRC_PM_IDLE_ENTRY'],
  [0x00801003, 'TRC_PM_IDLE_EXIT'],
  ...[
    'MOVE_CLEANUP_DELAY', 'MOVE_CLEANUP', 'BIND_VECTOR', 'CLEAR_VECTOR', 'MOVE_FINISH', 'ASSIGN_VECTOR',
    'UNMAPPED_VECTOR', 'HANDLED',
  ].map((n, i): [number, string] => [0x00802000 + i + 1, `TRC_HW_IRQ_${n}`]),
]);

function hvmHandlerNames(): Array<[number, string]> {
  const h = 0x00082000;
  const plain: Array<[number, string]> = [
    [0x01, 'PF_XEN'], [0x02, 'PF_INJECT'], [0x03, 'INJ_EXC'], [0x04, 'INJ_VIRQ'], [0x05, 'REINJ_VIRQ'],
    [0x06, 'IO_READ'], [0x07, 'IO_WRITE'], [0x08, 'CR_READ'], [0x09, 'CR_WRITE'], [0x0a, 'DR_READ'],
    [0x0b, 'DR_WRITE'], [0x0c, 'MSR_READ'], [0x0d, 'MSR_WRITE'], [0x0e, 'CPUID'], [0x0f, 'INTR'],
    [0x10, 'NMI'], [0x11, 'SMI'], [0x12, 'VMMCALL'], [0x13, 'HLT'], [0x14, 'INVLPG'], [0x15, 'MCE'],
    [0x16, 'IOPORT_READ'], [0x17, 'IOMEM_READ'], [0x18, 'CLTS'], [0x19, 'LMSW'], [0x1a, 'RDTSC'],
    [0x20, 'INTR_WINDOW'], [0x21, 'NPF'], [0x22, 'REALMODE_EMULATE'], [0x23, 'TRAP'], [0x24, 'TRAP_DEBUG'],
    [0x25, 'VLAPIC'], [0x216, 'IOPORT_WRITE'], [0x217, 'IOMEM_WRITE'],
  ];
  const with64: Array<[number, string]> = [
    [0x01, 'PF_XEN64'], [0x02, 'PF_INJECT64'], [0x08, 'CR_READ64'], [0x09, 'CR_WRITE64'], [0x14, 'INVLPG64'],
    [0x19, 'LMSW64'], [0x26, 'XCR_READ64'], [0x27, 'XCR_WRITE64'],
  ];
  return [
    ...plain.map(([e, n]): [number, string] => [h + e, `TRC_HVM_${n}`]),
    ...with64.map(([e, n]): [number, string] => [h + TRC_64_FLAG + e, `TRC_HVM_${n}`]),
  ];
}

/** The name shown for an event id: Xen's macro name, else 0x%08x of the 28-bit id. */
export function eventName(ev: number): string {
  const known = EVENT_NAMES.get(ev);
  if (known !== undefined) return known;
  if (isRunstateChange(ev)) return 'TRC_SCHED_RUNSTATE_CHANGE';
  return `0x${(ev >>> 0).toString(16).padStart(8, '0')}`;
}

/** Display name of a scheduled entity (xenEntity): `d<dom>v<vcpu>`, or `idle v<n>` (idle vCPU of pCPU n). */
export function entityName(entity: number): string {
  const dom = entity >>> 16;
  const v = entity & 0xffff;
  return dom === 0x7fff ? `idle v${v}` : `d${dom}v${v}`;
}
