// Follow a physical core: who ran on it in the visible range across both layers (the guest threads
// through whichever vCPU was on the core), from the model. Shown while a host core chip is set.

import { useEffect, useState } from 'react';
import type { CoreThreadsResult, SessionInfo, ThreadRef, TraceApi } from '../../shared/contract.ts';
import { formatDuration } from '../format.ts';
import type { TimeRange } from '../timeline/Timeline.tsx';

export function CorePanel(p: { api: TraceApi; session: SessionInfo; core: number; view: TimeRange; onFollow: (t: ThreadRef) => void }) {
  const [res, setRes] = useState<CoreThreadsResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const { t0Ns, t1Ns } = p.view;
  useEffect(() => {
    let live = true;
    void p.api.coreThreads({ sessionId: p.session.sessionId, core: p.core, t0Ns, t1Ns }).then((r) => {
      if (!live) return;
      if (r.ok) {
        setRes(r.value);
        setError(null);
      } else setError(r.error.message);
    });
    return () => {
      live = false;
    };
  }, [p.api, p.session.sessionId, p.core, t0Ns, t1Ns]);
  const span = t1Ns - t0Ns;
  return (
    <section className="core-panel" data-testid="core-panel">
      <strong>Core {p.core}</strong> <span className="muted">— guest threads on it in the visible range (through their vCPUs)</span>
      {error && <div className="muted">{error}</div>}
      {res && (
        <div className="core-threads">
          {res.threads.slice(0, 12).map((t) => (
            <div className="bar" key={`${t.vm}:${t.tid}`}>
              <button type="button" className="link bar-label wide" onClick={() => t.file >= 0 && p.onFollow({ file: t.file, tid: t.tid })} title="follow this thread">
                {t.vm} {t.comm}:{t.tid}
              </button>
              <span className="bar-fill" style={{ width: `${Math.min(60, (t.ns / span) * 60).toFixed(1)}%` }} />
              <span className="bar-value">
                {formatDuration(t.ns)} ({((100 * t.ns) / span).toFixed(1)}%)
              </span>
            </div>
          ))}
          {res.threads.length === 0 && <div className="muted">No guest thread ran on this core in the visible range.</div>}
          <div className="muted">vCPUs with no known guest thread (guest idle or no guest trace): {formatDuration(res.unattributedVcpuNs)}</div>
        </div>
      )}
    </section>
  );
}
