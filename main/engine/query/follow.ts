// followThread: one guest thread's placement track (thread -> vCPU -> core over host time), its
// migrations per layer and its totals, answered from the model's per-thread segment index (views
// of its columns found by binary search; no scan of events, no copy). Definitions: main/engine/model/README.md.

import type { FollowRequest, FollowResult } from '../../../shared/model-contract.ts';
import type { ModelVm, TwoLayerModel } from '../model/model.ts';

/** The VM that has guest thread `tid` (the named one, else the first), with the thread's index. */
export function findThread(model: TwoLayerModel, tid: number, vmName?: string): { vm: ModelVm; k: number } | null {
  for (const vm of model.vms) {
    if (vmName !== undefined && vm.name !== vmName) continue;
    const k = vm.guest?.indexOfTid.get(tid);
    if (k !== undefined) return { vm, k };
  }
  return null;
}

/** First index i in [lo, hi) with a[i] > x. */
function firstEndAfter(a: Float64Array, x: number, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Null when no guest trace has the thread (or tid is the idle task 0). */
export function followThread(model: TwoLayerModel, req: FollowRequest): FollowResult | null {
  if (req.tid === 0) return null;
  const found = findThread(model, req.tid, req.vm);
  if (!found) return null;
  const { vm, k } = found;
  const G = vm.guest!;
  const s0 = G.segThreadStart[k]!;
  const s1 = G.segThreadStart[k + 1]!;
  const coreNs: Record<string, number> = {};
  if (G.coreNsFlat) {
    for (let c = 0; c < G.coreCount; c++) {
      const ns = G.coreNsFlat[k * G.coreCount + c]!;
      if (ns > 0) coreNs[String(c)] = ns;
    }
  } else {
    for (let s = s0; s < s1; s++) {
      const c = G.segCore[s]!;
      if (c < 0) continue;
      const key = String(c);
      coreNs[key] = (coreNs[key] ?? 0) + G.segEndNs[s]! - G.segStartNs[s]!;
    }
  }
  // Window: segments are disjoint and in time order per thread, so their ends are sorted.
  const lo = req.startNs !== undefined ? firstEndAfter(G.segEndNs, req.startNs, s0, s1) : s0;
  let hi = s1;
  if (req.endNs !== undefined) {
    hi = lo;
    while (hi < s1 && G.segStartNs[hi]! < req.endNs) hi++;
  }
  const m0 = G.migThreadStart[k]!;
  const m1 = G.migThreadStart[k + 1]!;
  let ma = m0;
  let mb = m1;
  if (req.startNs !== undefined) while (ma < mb && G.migTsNs[ma]! < req.startNs) ma++;
  if (req.endNs !== undefined) while (mb > ma && G.migTsNs[mb - 1]! >= req.endNs) mb--;
  return {
    tid: req.tid,
    comm: G.comms[k] ?? '',
    vm: vm.name,
    runNs: G.runNs[k]!,
    stealNs: G.stealNs[k]!,
    coreNs,
    migrations: { guest: G.migGuest[k]!, host: G.migHost[k]!, physical: G.migPhysical[k]! },
    // Views of the model's columns, not copies (read-only for callers): the largest thread of the
    // 50M-event set has 1.87M segments, and copying them (45 MB of fresh pages, ~3.6 ms CPU per MB
    // on the bench machine) was most of its answer time (237 ms at load ~5); whoever serialises
    // the answer (the service's Arrow window, the CLI's JSON) copies it once anyway.
    segments: {
      length: hi - lo,
      startNs: G.segStartNs.subarray(lo, hi),
      endNs: G.segEndNs.subarray(lo, hi),
      vcpu: G.segVcpu.subarray(lo, hi),
      core: G.segCore.subarray(lo, hi),
    },
    migrationEvents: {
      length: mb - ma,
      tsNs: G.migTsNs.subarray(ma, mb),
      layer: G.migLayer.subarray(ma, mb),
      from: G.migFrom.subarray(ma, mb),
      to: G.migTo.subarray(ma, mb),
    },
  };
}
