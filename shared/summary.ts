// The per-file summary: what `vcpuscope stats --json` prints for one file and what the renderer's
// first screen shows. JSON-safe. Later capabilities add optional fields (vms, alignment...).

import type { Diagnostic } from './result.ts';

export interface TraceSummary {
  file: string;
  sizeBytes: number;
  /** Format id in the registry, e.g. 'ftrace-text', 'trace-dat', 'xentrace'. */
  formatId: string;
  /** Human-readable format, e.g. 'ftrace text (tracefs)', 'trace.dat v7'. */
  format: string;
  variant?: string;
  compression?: string;
  clock?: string;
  layerHint?: 'guest' | 'host' | 'unknown';
  entity: 'tid' | 'xen-vcpu';
  cpuHz?: number;
  /** Number of event records read, all kinds. */
  events: number;
  /** Event name as the trace spells it -> count. */
  byEvent: Record<string, number>;
  /** Distinct CPUs seen (sorted). */
  cpus: number[];
  /** Number of distinct tids (subjects and current tasks; 0 = idle counts). */
  threads: number;
  startNs: number | null;
  endNs: number | null;
  /** True when timestamps never go backwards in file order. */
  sorted: boolean;
  diagnostics: Diagnostic[];
  /** Diagnostics found in all (the list above is capped). */
  diagnosticsTotal: number;
  /** Format-specific facts (trace.dat options, xentrace cpu-hz, ...). */
  extra?: Record<string, unknown>;
}
