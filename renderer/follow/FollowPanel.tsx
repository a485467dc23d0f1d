// Follow a thread: its placement track pinned under the timeline (one row per cpu it used, over
// the same visible range), run / wait / steal totals and its migrations. The two-layer part
// (physical core under each vCPU, steal) shows as a marked placeholder until the model is wired.

import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { FollowResult, SessionInfo, ThreadRef, TraceApi } from '../../shared/contract.ts';
import { decodeWindow } from '../api/arrow.ts';
import { formatDuration, formatTime, threadColor, type TimeUnit } from '../format.ts';
import type { TimeRange } from '../timeline/Timeline.tsx';

interface Track {
  startNs: Float64Array;
  endNs: Float64Array;
  cpu: Int32Array;
  core: Int32Array;
  cpus: number[];
  /** Physical cores under the thread (two-layer only; empty otherwise). */
  cores: number[];
  migTs: Float64Array;
  migLayer: Uint8Array;
  migFrom: Int32Array;
  migTo: Int32Array;
}

export interface FollowPanelProps {
  api: TraceApi;
  session: SessionInfo;
  thread: ThreadRef;
  view: TimeRange;
  unit: TimeUnit;
  dark: boolean;
  fontPx: number;
  onClose: () => void;
  onJump: (tsNs: number) => void;
}

const GUTTER_PX = 110;

export function FollowPanel(p: FollowPanelProps) {
  const [res, setRes] = useState<{ r: FollowResult; track: Track } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);

  useEffect(() => {
    setRes(null);
    setError(null);
    void p.api.followThread({ sessionId: p.session.sessionId, thread: p.thread }).then((r) => {
      if (!r.ok) {
        setError(r.error.message);
        return;
      }
      const pl = decodeWindow(r.value.placement);
      const mg = decodeWindow(r.value.migrations);
      const cpu = pl.col<Int32Array>('cpu');
      const core = pl.col<Int32Array>('core');
      setRes({
        r: r.value,
        track: {
          startNs: pl.col('startNs'),
          endNs: pl.col('endNs'),
          cpu,
          core,
          cpus: [...new Set(cpu)].sort((a, b) => a - b),
          cores: [...new Set(core)].filter((c) => c >= 0).sort((a, b) => a - b),
          migTs: mg.col('tsNs'),
          migLayer: mg.col('layer'),
          migFrom: mg.col('fromCpu'),
          migTo: mg.col('toCpu'),
        },
      });
    });
  }, [p.api, p.session.sessionId, p.thread.file, p.thread.tid]);

  const laneH = Math.round(p.fontPx * 1.3);
  // The track's width, followed by a ResizeObserver: the canvas is redrawn when what it shows
  // changes (track, view, theme, size), not on every render of the explorer.
  const [widthPx, setWidthPx] = useState(0);
  useLayoutEffect(() => {
    const el = canvasRef.current?.parentElement;
    if (!el) return undefined;
    const measure = (): void => setWidthPx(Math.floor(el.clientWidth) || 800);
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, [res !== null]);
  const layerName = p.session.files[p.thread.file]?.layer;
  useEffect(() => {
    const cv = canvasRef.current;
    if (!cv || !res || widthPx === 0) return;
    const w = widthPx;
    const tk = res.track;
    const nV = tk.cpus.length;
    const rows = Math.max(1, nV + tk.cores.length);
    const h = rows * laneH + 4;
    const dpr = window.devicePixelRatio || 1;
    cv.width = Math.floor(w * dpr);
    cv.height = Math.floor(h * dpr);
    cv.style.width = `${w}px`;
    cv.style.height = `${h}px`;
    const g = cv.getContext('2d');
    if (!g) return;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    const css = getComputedStyle(cv);
    g.fillStyle = css.getPropertyValue('--bg').trim() || '#fff';
    g.fillRect(0, 0, w, h);
    g.font = `${Math.round(p.fontPx * 0.85)}px system-ui, sans-serif`;
    g.textBaseline = 'middle';
    const fg = css.getPropertyValue('--fg').trim() || '#222';
    const grid = css.getPropertyValue('--grid').trim() || '#ddd';
    const layer = layerName === 'guest' ? 'vCPU' : 'CPU';
    const vRow = new Map(tk.cpus.map((c, i) => [c, i]));
    const cRow = new Map(tk.cores.map((c, i) => [c, nV + i]));
    tk.cpus.forEach((c, i) => {
      g.fillStyle = fg;
      g.fillText(`${layer} ${c}`, 4, i * laneH + laneH / 2, GUTTER_PX - 8);
    });
    tk.cores.forEach((c, i) => {
      g.fillStyle = fg;
      g.fillText(`core ${c}`, 4, (nV + i) * laneH + laneH / 2, GUTTER_PX - 8);
    });
    if (tk.cores.length) {
      g.fillStyle = grid;
      g.fillRect(0, nV * laneH, w, 1);
    }
    const plotW = w - GUTTER_PX;
    const { t0Ns, t1Ns } = p.view;
    const x = (t: number): number => GUTTER_PX + ((t - t0Ns) / (t1Ns - t0Ns)) * plotW;
    const color = threadColor(p.thread.tid, p.dark);
    const steal = p.dark ? '#f87171' : '#dc2626';
    const n = tk.startNs.length;
    for (let i = 0; i < n; i++) {
      const a = Math.max(GUTTER_PX, x(tk.startNs[i]!));
      const b = Math.min(w, x(tk.endNs[i]!));
      if (b < GUTTER_PX || a > w) continue;
      const wd = Math.max(1, b - a);
      const core = tk.core[i]!;
      // On its vCPU; red where that vCPU was on no core (steal) in a two-layer session.
      g.fillStyle = tk.cores.length && core < 0 ? steal : color;
      g.fillRect(a, (vRow.get(tk.cpu[i]!) ?? 0) * laneH + 2, wd, laneH - 4);
      const cr = cRow.get(core);
      if (cr !== undefined) {
        g.fillStyle = color;
        g.fillRect(a, cr * laneH + 2, wd, laneH - 4);
      }
    }
    g.strokeStyle = fg;
    for (let i = 0; i < tk.migTs.length; i++) {
      const mx = x(tk.migTs[i]!);
      if (mx < GUTTER_PX || mx > w) continue;
      const lay = tk.migLayer[i]!;
      if (lay === 2) continue; // 'physical' repeats a guest or host move on the core rows
      const rows2 = lay === 0 ? vRow : cRow;
      const r0 = rows2.get(tk.migFrom[i]!);
      const r1 = rows2.get(tk.migTo[i]!);
      if (r0 === undefined || r1 === undefined) continue;
      g.beginPath();
      g.moveTo(mx, r0 * laneH + laneH / 2);
      g.lineTo(mx, r1 * laneH + laneH / 2);
      g.stroke();
    }
  }, [res, widthPx, laneH, p.fontPx, p.view.t0Ns, p.view.t1Ns, p.dark, p.thread.tid, layerName]);

  const t = res?.r.totals;
  // A host thread that is a VM's vCPU: following it follows the vCPU (its cores over time).
  const vcpu = p.session.vms
    .filter((v) => v.hostFile === p.thread.file)
    .flatMap((v) => v.vcpus.filter((x) => x.hostTid === p.thread.tid).map((x) => `${v.name} vCPU ${x.vcpu}`))[0];
  return (
    <section className="follow" data-testid="follow-panel">
      <header>
        <strong>
          Following {vcpu ? `${vcpu} — ` : ''}
          {res ? `${res.r.thread.comm}:${res.r.thread.tid}` : `tid ${p.thread.tid}`}
        </strong>{' '}
        {vcpu && <span className="muted">(the vCPU's host thread: its physical cores over time)</span>}
        <span className="muted">({p.session.files[p.thread.file]?.name})</span>
        <button type="button" onClick={p.onClose} aria-label="stop following">
          ✕
        </button>
      </header>
      {error && <div className="error">{error}</div>}
      {!res && !error && <div className="muted">Computing placement…</div>}
      {res && t && (
        <>
          <div className="follow-totals">
            <span>runs {t.runs}</span>
            <span>running {formatDuration(t.runNs)}</span>
            <span>waiting (runnable) {formatDuration(t.waitNs)}</span>
            <span data-testid="steal">steal {t.stealNs === null ? 'n/a (needs host + guest traces and the two-layer model)' : formatDuration(t.stealNs)}</span>
            <span>migrations {t.migrations}</span>
          </div>
          <div className="follow-track" data-testid="placement-track">
            <canvas ref={canvasRef} />
          </div>
          {res.r.note && <div className="placeholder">{res.r.note}</div>}
          <details className="follow-migrations">
            <summary>Migrations ({res.track.migTs.length})</summary>
            <ol>
              {Array.from(res.track.migTs.subarray(0, 200), (ts, i) => (
                <li key={i}>
                  <button type="button" className="link" onClick={() => p.onJump(ts)}>
                    {formatTime(ts, { unit: p.unit, originNs: p.session.startNs })}
                  </button>{' '}
                  {['guest: vCPU', 'host: core', 'physical: core'][res.track.migLayer[i]!] ?? 'cpu'} {res.track.migFrom[i]} → {res.track.migTo[i]}
                </li>
              ))}
            </ol>
          </details>
        </>
      )}
    </section>
  );
}
