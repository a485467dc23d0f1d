// Answers to requests the boot script made before the app ran (first-requests.ts). The app's
// transport looks here first: a request equal to one of them (same method, same fields, in any
// order) takes that answer, once, instead of asking the engine again. Answers are taken only
// while fresh (ttlMs after they were asked for): later the same request could have another answer
// (a growing session's count), and it is asked anew.

import type { Result } from '../../shared/result.ts';
import type { Transport } from './client.ts';

/** Canonical text of a request: keys sorted at every level. */
export function requestKey(method: string, req: unknown): string {
  const canon = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canon);
    if (v && typeof v === 'object') {
      const o: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) {
        const x = (v as Record<string, unknown>)[k];
        if (x !== undefined) o[k] = canon(x);
      }
      return o;
    }
    return v;
  };
  return `${method} ${JSON.stringify(canon(req))}`;
}

export class EarlyAnswers {
  private readonly answers = new Map<string, { at: number; answer: Promise<Result<unknown>> }>();
  /** Answers taken by the app (tests, diagnostics). */
  taken = 0;

  constructor(
    private readonly ttlMs = 5000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  put(method: string, req: unknown, answer: Promise<Result<unknown>>): void {
    this.answers.set(requestKey(method, req), { at: this.now(), answer });
  }

  /** The early answer to this request, if there is a fresh one (it is then gone). */
  take(method: string, req: unknown): Promise<Result<unknown>> | undefined {
    if (this.answers.size === 0) return undefined;
    const k = requestKey(method, req);
    const e = this.answers.get(k);
    if (!e) return undefined;
    this.answers.delete(k);
    if (this.now() - e.at > this.ttlMs) return undefined;
    this.taken++;
    return e.answer;
  }
}

/** A transport that answers from `early` when it can. */
export function withEarlyAnswers(t: Transport, early: EarlyAnswers): Transport {
  return { call: (method, req) => early.take(method, req) ?? t.call(method, req) };
}
