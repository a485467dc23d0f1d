// Model-backed cross-layer queries for the renderer: placement of all threads of a VM in a time
// range; a set of guest threads -> the vCPUs they used -> the cores those vCPUs used; a core -> the
// guest threads that ran on it. Each walks sorted per-vCPU / per-core / per-thread indexes from a
// binary-searched start, so the cost follows the size of the answer, not of the trace.

import type {
  CoreToThreadsRequest,
  LhpColumns,
  CoreToThreadsResult,
  ThreadsToCoresRequest,
  ThreadsToCoresResult,
  VmPlacementRequest,
  VmPlacementResult,
} from '../../../shared/model-contract.ts';
import { GrowF64, GrowI32, upperBound } from '../model/grow.ts';
import type { GuestLayer, ModelVm, TwoLayerModel } from '../model/model.ts';

/** First position p in [lo, hi) of index array `order` with a[order[p]] > x (a sorted along order). */
function firstEndAfterIndirect(a: Float64Array, order: Uint32Array, x: number, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[order[mid]!]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function findVm(model: TwoLayerModel, name: string): ModelVm | null {
  return model.vms.find((v) => v.name === name) ?? null;
}

/** Visit the parts of thread k's segments that overlap [a, b), clipped. */
function forSegments(G: GuestLayer, k: number, a: number, b: number, fn: (s: number, e: number, vcpu: number, core: number) => void): void {
  const s0 = G.segThreadStart[k]!;
  const s1 = G.segThreadStart[k + 1]!;
  for (let s = upperBound(G.segEndNs, a, s0, s1); s < s1 && G.segStartNs[s]! < b; s++) {
    const x = Math.max(a, G.segStartNs[s]!);
    const y = Math.min(b, G.segEndNs[s]!);
    if (y > x) fn(x, y, G.segVcpu[s]!, G.segCore[s]!);
  }
}

export function vmPlacement(model: TwoLayerModel, req: VmPlacementRequest): VmPlacementResult | null {
  const vm = findVm(model, req.vm);
  if (!vm) return null;
  const S = new GrowF64();
  const E = new GrowF64();
  const V = new GrowI32();
  const C = new GrowI32();
  const T = new GrowI32();
  const comms: Record<string, string> = {};
  const seen = new Set<number>();
  const G = vm.guest;
  if (G) {
    for (let v = 0; v + 1 < G.runVcpuStart.length; v++) {
      const lo = G.runVcpuStart[v]!;
      const hi = G.runVcpuStart[v + 1]!;
      for (let p = firstEndAfterIndirect(G.runs.endNs, G.runByVcpu, req.startNs, lo, hi); p < hi; p++) {
        const r = G.runByVcpu[p]!;
        const rs = G.runs.startNs[r]!;
        if (rs >= req.endNs) break;
        const tid = G.runs.tid[r]!;
        const k = G.indexOfTid.get(tid)!;
        seen.add(k);
        forSegments(G, k, Math.max(req.startNs, rs), Math.min(req.endNs, G.runs.endNs[r]!), (s, e, vc, c) => {
          S.push(s);
          E.push(e);
          V.push(vc);
          C.push(c);
          T.push(tid);
        });
      }
    }
  }
  if (G) for (const k of seen) comms[String(G.tids[k])] = G.comms[k] ?? '';
  return { vm: vm.name, segments: { length: S.n, startNs: S.finish(), endNs: E.finish(), vcpu: V.finish(), core: C.finish(), tid: T.finish() }, comms };
}

export function threadsToCores(model: TwoLayerModel, req: ThreadsToCoresRequest): ThreadsToCoresResult | null {
  const vm = findVm(model, req.vm);
  if (!vm || !vm.guest) return null;
  const G = vm.guest;
  const vcpuNs = new Map<number, number>();
  const coreNs = new Map<number, number>();
  for (const tid of req.tids) {
    const k = G.indexOfTid.get(tid);
    if (k === undefined) continue;
    forSegments(G, k, req.startNs, req.endNs, (s, e, v, c) => {
      vcpuNs.set(v, (vcpuNs.get(v) ?? 0) + e - s);
      if (c >= 0) coreNs.set(c, (coreNs.get(c) ?? 0) + e - s);
    });
  }
  const vcpuCores: ThreadsToCoresResult['vcpuCores'] = [];
  const H = model.vcpus;
  for (const v of [...vcpuNs.keys()].sort((a, b) => a - b)) {
    const local = v < vm.localOfVcpuId.length ? vm.localOfVcpuId[v]! : -1;
    if (local < 0) continue;
    const g = vm.firstGlobal + local;
    const per = new Map<number, number>();
    const hi = H.groupStart[g + 1]!;
    for (let j = upperBound(H.endNs, req.startNs, H.groupStart[g]!, hi); j < hi && H.startNs[j]! < req.endNs; j++) {
      const d = Math.min(req.endNs, H.endNs[j]!) - Math.max(req.startNs, H.startNs[j]!);
      if (d > 0) per.set(H.core[j]!, (per.get(H.core[j]!) ?? 0) + d);
    }
    for (const [core, ns] of [...per].sort((a, b) => a[0] - b[0])) vcpuCores.push({ vcpu: v, core, ns });
  }
  return {
    vcpus: [...vcpuNs].sort((a, b) => a[0] - b[0]).map(([vcpu, threadNs]) => ({ vcpu, threadNs })),
    vcpuCores,
    threadCores: [...coreNs].sort((a, b) => a[0] - b[0]).map(([core, ns]) => ({ core, ns })),
  };
}

export function coreToThreads(model: TwoLayerModel, req: CoreToThreadsRequest): CoreToThreadsResult {
  const H = model.vcpus;
  const acc = new Map<string, { vm: string; tid: number; comm: string; ns: number }>();
  let unattributed = 0;
  if (req.core < 0 || req.core + 1 >= H.coreStart.length) return { threads: [], unattributedVcpuNs: 0 };
  const lo = H.coreStart[req.core]!;
  const hi = H.coreStart[req.core + 1]!;
  for (let p = firstEndAfterIndirect(H.endNs, H.coreOrder, req.startNs, lo, hi); p < hi; p++) {
    const j = H.coreOrder[p]!;
    if (H.startNs[j]! >= req.endNs) break;
    const a = Math.max(req.startNs, H.startNs[j]!);
    const b = Math.min(req.endNs, H.endNs[j]!);
    if (b <= a) continue;
    const g = findGlobal(H.groupStart, j);
    const vm = model.vms[H.vmOf[g]!]!;
    const vcpu = H.vcpuId[g]!;
    let attributed = 0;
    const G = vm.guest;
    if (G && vcpu + 1 < G.runVcpuStart.length) {
      const rlo = G.runVcpuStart[vcpu]!;
      const rhi = G.runVcpuStart[vcpu + 1]!;
      for (let q = firstEndAfterIndirect(G.runs.endNs, G.runByVcpu, a, rlo, rhi); q < rhi; q++) {
        const r = G.runByVcpu[q]!;
        if (G.runs.startNs[r]! >= b) break;
        const d = Math.min(b, G.runs.endNs[r]!) - Math.max(a, G.runs.startNs[r]!);
        if (d <= 0) continue;
        attributed += d;
        const tid = G.runs.tid[r]!;
        const key = `${vm.index}:${tid}`;
        const cur = acc.get(key);
        if (cur) cur.ns += d;
        else acc.set(key, { vm: vm.name, tid, comm: G.comms[G.indexOfTid.get(tid)!] ?? '', ns: d });
      }
    }
    unattributed += b - a - attributed;
  }
  return { threads: [...acc.values()].sort((x, y) => y.ns - x.ns || x.tid - y.tid), unattributedVcpuNs: unattributed };
}

/** The global vCPU whose row group contains host row j. */
function findGlobal(groupStart: Uint32Array, j: number): number {
  let lo = 0;
  let hi = groupStart.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (groupStart[mid]! <= j) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Lock-holder-preemption candidates of a VM overlapping [startNs, endNs) (a pass over the candidates, not the events). */
export function lhpInRange(model: TwoLayerModel, req: { vm: string; startNs: number; endNs: number }): LhpColumns | null {
  const vm = findVm(model, req.vm);
  if (!vm) return null;
  const L = model.lhp;
  const pick: number[] = [];
  for (let i = 0; i < L.length; i++) if (L.vm[i] === vm.index && L.endNs[i]! > req.startNs && L.startNs[i]! < req.endNs) pick.push(i);
  const take = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
    const out = make(pick.length);
    pick.forEach((i, j) => (out[j] = a[i]!));
    return out;
  };
  return {
    length: pick.length,
    vm: take(L.vm, (n) => new Int32Array(n)),
    tid: take(L.tid, (n) => new Int32Array(n)),
    vcpu: take(L.vcpu, (n) => new Int32Array(n)),
    startNs: take(L.startNs, (n) => new Float64Array(n)),
    endNs: take(L.endNs, (n) => new Float64Array(n)),
    siblingsOnCoreNs: take(L.siblingsOnCoreNs, (n) => new Float64Array(n)),
    waiterTid: take(L.waiterTid, (n) => new Int32Array(n)),
  };
}
