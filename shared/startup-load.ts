// The load of the files an app was launched with (`vcpuscope serve FILE...`, `vcpuscope-app FILE...`),
// started by the host as soon as the engine is up, in parallel with the page load, and handed to
// the first page that opens the same files (instead of that page starting a second load). The
// user's action is launching the app with a file: the load starts then, not when the page asks.
// A load no page claims is released (cancelled, its session closed) after `releaseAfterMs`, so a
// page that never connects leaves nothing behind; a page that comes later opens the files itself.
// Pure logic over the TraceApi (no I/O of its own): the server and the Electron main process use it.

import type { OpenRequest, TraceApi } from './contract.ts';
import { err, type Result } from './result.ts';

export type StartupApi = Pick<TraceApi, 'open' | 'loadStatus' | 'cancelLoad' | 'closeSession'>;

/** Default time a startup load waits for a page to claim it. */
export const STARTUP_RELEASE_MS = 120_000;

/** Same files and guest hints, in the same order (the page sends back what it was told). */
export function sameOpenRequest(a: OpenRequest, b: OpenRequest): boolean {
  const ga = a.guests ?? [];
  const gb = b.guests ?? [];
  return (
    a.paths.length === b.paths.length &&
    a.paths.every((p, i) => p === b.paths[i]) &&
    ga.length === gb.length &&
    ga.every((g, i) => g.path === gb[i]!.path && g.vm === gb[i]!.vm)
  );
}

export class StartupLoad {
  /** The answer of the host's own `open` (pending until the engine answers). */
  private readonly opened: Promise<Result<{ loadId: string }>>;
  private state: 'offered' | 'claimed' | 'released' = 'offered';
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly api: StartupApi,
    readonly request: OpenRequest,
    releaseAfterMs = STARTUP_RELEASE_MS,
  ) {
    this.opened = api.open(request).catch((e: unknown) => err({ code: 'internal', message: `open: ${(e as Error).message}` }));
    this.timer = setTimeout(() => void this.release(), releaseAfterMs);
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** Whether the startup load is still waiting for a page. */
  get offered(): boolean {
    return this.state === 'offered';
  }

  /**
   * The startup load's `open` answer for the first request of the same files (the caller then owns
   * the load like any other: status, cancel, close); null for any other request or once claimed.
   */
  claim(req: OpenRequest): Promise<Result<{ loadId: string }>> | null {
    if (this.state !== 'offered' || !sameOpenRequest(req, this.request)) return null;
    this.state = 'claimed';
    this.clearTimer();
    return this.opened;
  }

  /** Unclaimed: cancel the load (or close its session). Called by the timer and on shutdown. */
  async release(): Promise<void> {
    if (this.state !== 'offered') return;
    this.state = 'released';
    this.clearTimer();
    const o = await this.opened;
    if (!o.ok) return;
    const loadId = o.value.loadId;
    const st = await this.api.loadStatus({ loadId });
    if (!st.ok) return;
    // Closing a partial session cancels its load; a load without a session yet is cancelled.
    if (st.value.sessionId) await this.api.closeSession({ sessionId: st.value.sessionId });
    if (st.value.state === 'loading') await this.api.cancelLoad({ loadId });
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
