// Errors as data across the engine boundary (contract methods never throw to the caller).

export interface ErrorInfo {
  /** Stable machine-readable code, e.g. 'bad-input', 'cancelled', 'not-found', 'usage'. */
  readonly code: string;
  readonly message: string;
  /** The file the problem is in, when there is one. */
  readonly file?: string;
  /** Byte offset in `file`, or line number (1-based) when `line` is set. */
  readonly offset?: number;
  readonly line?: number;
}

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ErrorInfo };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function err<T = never>(error: ErrorInfo): Result<T> {
  return { ok: false, error };
}

/** A diagnostic: a problem found in an input that did not stop reading it. */
export interface Diagnostic {
  readonly severity: 'error' | 'warning' | 'info';
  readonly file: string;
  /** Byte offset of the problem in `file` (always present; for text formats also `line`). */
  readonly offset: number;
  readonly line?: number;
  readonly message: string;
}
