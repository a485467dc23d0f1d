// Collects diagnostics for one file, bounded: the first MAX_KEPT are kept, the rest only counted
// (a corrupt multi-GB file must not produce a multi-GB diagnostics list).

import type { Diagnostic } from '../../../shared/result.ts';
import type { DiagnosticSink } from '../../formats/types.ts';

export const MAX_KEPT_DIAGNOSTICS = 200;

export class DiagnosticCollector implements DiagnosticSink {
  readonly file: string;
  readonly kept: Diagnostic[] = [];
  /** All diagnostics reported, including those not kept. */
  total = 0;
  errors = 0;

  constructor(file: string) {
    this.file = file;
  }

  error(offsetBytes: number, message: string, line?: number): void {
    this.errors++;
    this.add('error', offsetBytes, message, line);
  }

  warning(offsetBytes: number, message: string, line?: number): void {
    this.add('warning', offsetBytes, message, line);
  }

  info(offsetBytes: number, message: string, line?: number): void {
    this.add('info', offsetBytes, message, line);
  }

  /** Merge diagnostics that a worker collected for the same file. */
  absorb(list: readonly Diagnostic[], total: number, errors: number): void {
    for (const d of list) if (this.kept.length < MAX_KEPT_DIAGNOSTICS) this.kept.push(d);
    this.total += total;
    this.errors += errors;
  }

  private add(severity: Diagnostic['severity'], offset: number, message: string, line?: number): void {
    this.total++;
    if (this.kept.length >= MAX_KEPT_DIAGNOSTICS) return;
    const d: Diagnostic = line === undefined ? { severity, file: this.file, offset, message } : { severity, file: this.file, offset, line, message };
    this.kept.push(d);
  }
}
