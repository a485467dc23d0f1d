// Topology of the host layer: which host threads (KVM/QEMU) or Xen entities are vCPUs, grouped into
// VMs, and the role of each input (host or guest). Grouping sources, in order: the reader's tgid map
// (info.extra.tgids), fork events (vCPU threads share the creating thread), contiguous tid ranges with
// restarting vCPU numbers; Xen: the (domid, vcpuid) entity ids. Leaves out the guest pairing (model.ts).

import { XEN_IDLE_DOMAIN, xenEntity } from '../../../shared/schema.ts';
import type { IndexedTrace } from '../index/indexed-trace.ts';
import type { LayerScan } from './runs.ts';

/** QEMU names its vCPU threads `CPU <n>/KVM` (also TCG, HVF, WHPX accelerators). */
export const VCPU_THREAD_RE = /^CPU (\d+)\/(KVM|TCG|HVF|WHPX|NVMM)$/;

/** vCPU ids above this are not believed (KVM's limit is 4096): tables are indexed by vCPU id. */
export const MAX_VCPU_ID = 4095;

export interface TopoVm {
  name: string;
  pid?: number;
  domid?: number;
  grouping: string;
  /** vCPU ids (ascending) and their host entity (thread id, or the Xen entity id). */
  vcpuIds: number[];
  hostIds: number[];
}

/** True when the scan shows vCPU threads or hypervisor events: a host trace. */
export function looksLikeHost(trace: IndexedTrace, scan: LayerScan): boolean {
  if (trace.info.entity === 'xen-vcpu') return true;
  if (scan.kvmVcpuOfTid.size > 0) return true;
  for (const comm of scan.commOf.values()) if (VCPU_THREAD_RE.test(comm)) return true;
  return false;
}

function tgidMap(trace: IndexedTrace): Map<number, number> | null {
  const t = trace.info.extra?.['tgids'];
  if (!t || typeof t !== 'object') return null;
  const m = new Map<number, number>();
  for (const [k, v] of Object.entries(t as Record<string, unknown>)) if (typeof v === 'number') m.set(Number(k), v);
  return m.size ? m : null;
}

export function hostTopology(trace: IndexedTrace, scan: LayerScan): TopoVm[] {
  if (trace.info.entity === 'xen-vcpu') return xenTopology(trace, scan);
  // vCPU threads and their ids
  const vcpuOf = new Map<number, number>();
  for (const [tid, comm] of scan.commOf) {
    const m = VCPU_THREAD_RE.exec(comm);
    if (m && Number(m[1]) <= MAX_VCPU_ID) vcpuOf.set(tid, Number(m[1]));
  }
  for (const [tid, v] of scan.kvmVcpuOfTid) if (v >= 0 && v <= MAX_VCPU_ID) vcpuOf.set(tid, v);
  const tids = [...vcpuOf.keys()].sort((a, b) => a - b);
  if (tids.length === 0) return [];
  const groups = new Map<number, number[]>(); // key -> tids
  let grouping: string;
  const tg = tgidMap(trace);
  if (tg && tids.every((t) => tg.has(t))) {
    grouping = 'tgid';
    for (const t of tids) push(groups, tg.get(t)!, t);
  } else if (tids.every((t) => scan.forkParent.has(t))) {
    grouping = 'fork';
    for (const t of tids) push(groups, scan.forkParent.get(t)!, t);
  } else {
    // QEMU creates a VM's vCPU threads one after another: ids ascend with the vCPU number; a
    // repeated or lower vCPU number starts the next VM.
    grouping = 'tid-range';
    let key = -1;
    let last = -1;
    let seen = new Set<number>();
    for (const t of tids) {
      const v = vcpuOf.get(t)!;
      if (key === -1 || v < last || seen.has(v)) {
        key = t;
        seen = new Set();
      }
      push(groups, key, t);
      seen.add(v);
      last = v;
    }
  }
  const vms: TopoVm[] = [];
  for (const [key, members] of groups) {
    members.sort((a, b) => vcpuOf.get(a)! - vcpuOf.get(b)!);
    // tgid / fork: the key is QEMU's pid (fork: the creating thread, which is QEMU's main thread).
    const pid: number | undefined = grouping === 'tid-range' ? guessQemuPid(scan, members[0]!) : key;
    vms.push({
      name: pid !== undefined ? `qemu-${pid}` : `vm-${members[0]}`,
      ...(pid !== undefined ? { pid } : {}),
      grouping,
      vcpuIds: members.map((t) => vcpuOf.get(t)!),
      hostIds: members,
    });
  }
  vms.sort((a, b) => a.hostIds[0]! - b.hostIds[0]!);
  return vms;
}

function push(m: Map<number, number[]>, k: number, v: number): void {
  const a = m.get(k);
  if (a) a.push(v);
  else m.set(k, [v]);
}

/**
 * QEMU's main thread (its pid) is the lowest of its threads, created just before the vCPU threads:
 * the lowest tid named qemu* within 64 ids below the first vCPU thread, else undefined.
 */
function guessQemuPid(scan: LayerScan, firstVcpuTid: number): number | undefined {
  let best: number | undefined;
  for (const [tid, comm] of scan.commOf) {
    if (tid < firstVcpuTid && tid >= firstVcpuTid - 64 && /^qemu/.test(comm) && (best === undefined || tid < best)) best = tid;
  }
  return best;
}

/** Xen: domains and vCPUs from the reader (info.extra.xen.domains) and from the entities that ran. */
function xenTopology(trace: IndexedTrace, scan: LayerScan): TopoVm[] {
  const byDom = new Map<number, number[]>();
  const seen = new Set<number>();
  const r = scan.runs;
  for (let i = 0; i < r.length; i++) seen.add(r.tid[i]!);
  const xen = trace.info.extra?.['xen'] as { domains?: Array<{ domid?: unknown; vcpus?: unknown }> } | undefined;
  for (const d of Array.isArray(xen?.domains) ? xen.domains : []) {
    if (typeof d.domid !== 'number' || !Array.isArray(d.vcpus)) continue;
    for (const v of d.vcpus) if (typeof v === 'number') seen.add(xenEntity(d.domid, v));
  }
  for (const e of seen) {
    const dom = e >>> 16;
    if (dom === XEN_IDLE_DOMAIN) continue;
    push(byDom, dom, e);
  }
  const vms: TopoVm[] = [];
  for (const [dom, ents] of [...byDom].sort((a, b) => a[0] - b[0])) {
    ents.sort((a, b) => a - b);
    vms.push({ name: `dom${dom}`, domid: dom, grouping: 'xen', vcpuIds: ents.map((e) => e & 0xffff), hostIds: ents });
  }
  return vms;
}
