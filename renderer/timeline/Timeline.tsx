// The timeline canvas: one lane per core (host / single-layer) or vCPU (guest) showing which
// thread runs, from level-of-detail tiles the engine computes for the visible range at pixel
// resolution. Wheel zooms around the cursor (Shift+wheel pans), drag selects a range, + / - /
// arrows / 0 zoom and pan from the keyboard, hover shows the run, click picks its thread.

import { useCallback, useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent, type MouseEvent, type WheelEvent } from 'react';
import type { FilterSpec, LaneInfo, SessionInfo, ThreadRef, TraceApi } from '../../shared/contract.ts';
import { decodeWindow } from '../api/arrow.ts';
import { TIMELINE_GUTTER_PX, timelinePlotPx, timelineWidthPx } from '../api/first-requests.ts';
import { axisTicks, formatDuration, formatTime, threadColor, vmColor, type TimeUnit } from '../format.ts';

export interface TimeRange {
  t0Ns: number;
  t1Ns: number;
}

export interface TimelineProps {
  api: TraceApi;
  session: SessionInfo;
  filter: FilterSpec;
  view: TimeRange;
  onView: (v: TimeRange) => void;
  selection: TimeRange | null;
  onSelection: (r: TimeRange | null) => void;
  followed: ThreadRef | null;
  onPickThread: (t: ThreadRef & { comm: string }) => void;
  onPickLane: (lane: LaneInfo) => void;
  dark: boolean;
  fontPx: number;
  unit: TimeUnit;
  /** Time of the table's selected row (drawn as a cursor line), if any. */
  cursorNs: number | null;
  /** Double-click: show the table at this time. */
  onJumpTime: (tsNs: number) => void;
}

interface Tile {
  key: string;
  lane: Uint16Array;
  startNs: Float64Array;
  endNs: Float64Array;
  tid: Int32Array;
  comm: Int32Array;
  switches: Uint32Array;
  match: Uint8Array;
  /** Fraction of the segment's time something ran (1 for single runs; less for dense pixels). */
  busy: Float32Array;
  strings: string[];
  markers: { lane: number; tsNs: number; tid: number; from: number; to: number }[];
  drawMs: number;
}

const GUTTER_PX = TIMELINE_GUTTER_PX;
const AXIS_PX = 22;

/** Lanes passing the filter's machine / cpu parts; physical cores (host) first, then each VM's vCPUs. */
export function visibleLanes(session: SessionInfo, filter: FilterSpec): LaneInfo[] {
  const rank = (l: LaneInfo): number => (session.files[l.file]?.layer === 'host' ? 0 : 1);
  return session.lanes
    .filter((l) => (!filter.files?.length || filter.files.includes(l.file)) && (!filter.cpus?.length || filter.cpus.some((c) => c.file === l.file && c.cpu === l.cpu)))
    .sort((a, b) => rank(a) - rank(b) || a.lane - b.lane);
}

export function Timeline(p: TimelineProps) {
  const wrapRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  // 0 until the wrapper is measured (a layout effect, before the first tile is asked for).
  const [widthPx, setWidthPx] = useState(0);
  const [tile, setTile] = useState<Tile | null>(null);
  const [hover, setHover] = useState<{ x: number; y: number; text: string } | null>(null);
  const drag = useRef<{ x0: number; moved: boolean } | null>(null);
  const [dragPx, setDragPx] = useState<[number, number] | null>(null);
  const seq = useRef(0);
  // A tile drawn by sampling while the engine builds its level-of-detail summaries: ask again soon.
  const [retry, setRetry] = useState(0);
  const laneH = Math.round(p.fontPx * 1.5);
  const lanes = visibleLanes(p.session, p.filter);
  const laneRow = new Map<number, number>();
  lanes.forEach((l, i) => laneRow.set(l.lane, i));
  const heightPx = AXIS_PX + Math.max(1, lanes.length) * laneH;
  // Host lanes: a vCPU thread is drawn in its VM's colour and labelled with its vCPU.
  const vcpuOf = new Map<number, { vm: number; name: string; vcpu: number }>();
  p.session.vms.forEach((vm, vi) => vm.vcpus.forEach((v) => vcpuOf.set(vm.hostFile * 2 ** 32 + v.hostTid, { vm: vi, name: vm.name, vcpu: v.vcpu })));
  const plotW = timelinePlotPx(widthPx);

  // Measured at mount, before paint: the first tile is asked for at the real width (with a
  // placeholder width until the ResizeObserver's first callback, every first screen asked for two
  // whole-trace tiles and waited for the second).
  useLayoutEffect(() => {
    const el = wrapRef.current;
    if (!el) return undefined;
    const measure = (): void => setWidthPx(timelineWidthPx(el.clientWidth));
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // Fetch the tile for the visible range (latest request wins).
  const { t0Ns, t1Ns } = p.view;
  const filterJson = JSON.stringify(p.filter);
  const viewKey = `${t0Ns}|${t1Ns}|${plotW}|${filterJson}`;
  useEffect(() => {
    if (widthPx === 0) return;
    const my = ++seq.current;
    const key = `${t0Ns}|${t1Ns}|${plotW}|${filterJson}`;
    void p.api
      .timeline({ sessionId: p.session.sessionId, filter: JSON.parse(filterJson) as FilterSpec, t0Ns, t1Ns, widthPx: Math.min(8192, plotW) })
      .then((r) => {
        if (my !== seq.current || !r.ok) return;
        const w = decodeWindow(r.value);
        if (w.meta<boolean>('approx', false)) setTimeout(() => my === seq.current && setRetry((x) => x + 1), 300);
        setTile({
          key,
          lane: w.col('lane'),
          startNs: w.col('startNs'),
          endNs: w.col('endNs'),
          tid: w.col('tid'),
          comm: w.col('comm'),
          switches: w.col('switches'),
          match: w.col('match'),
          busy: w.col('busy'),
          strings: w.meta<string[]>('strings', []),
          markers: w.meta('markers', []),
          drawMs: 0,
        });
      });
  }, [p.api, p.session.sessionId, t0Ns, t1Ns, plotW, filterJson, retry, widthPx]);

  const xOf = useCallback((ts: number) => GUTTER_PX + ((ts - t0Ns) / (t1Ns - t0Ns)) * plotW, [t0Ns, t1Ns, plotW]);
  const tsOf = useCallback((x: number) => t0Ns + ((x - GUTTER_PX) / plotW) * (t1Ns - t0Ns), [t0Ns, t1Ns, plotW]);

  // Draw.
  useEffect(() => {
    const cv = canvasRef.current;
    if (!cv) return;
    const t = performance.now();
    const dpr = window.devicePixelRatio || 1;
    // resizing reallocates (and clears) the backing store: only when the size changed
    const bw = Math.floor(widthPx * dpr);
    const bh0 = Math.floor(heightPx * dpr);
    if (cv.width !== bw || cv.height !== bh0) {
      cv.width = bw;
      cv.height = bh0;
      cv.style.width = `${widthPx}px`;
      cv.style.height = `${heightPx}px`;
    }
    const g = cv.getContext('2d');
    if (!g) return;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    const css = getComputedStyle(cv);
    const fg = css.getPropertyValue('--fg').trim() || '#222';
    const bg = css.getPropertyValue('--bg').trim() || '#fff';
    const grid = css.getPropertyValue('--grid').trim() || '#ddd';
    g.fillStyle = bg;
    g.fillRect(0, 0, widthPx, heightPx);
    g.font = `${Math.round(p.fontPx * 0.85)}px system-ui, sans-serif`;
    g.textBaseline = 'middle';
    // axis
    g.fillStyle = fg;
    // Round ticks (1/2/5 x 10^k) with the digits their step needs; a label that would run into the
    // previous one or off the right edge is left out (its tick mark stays).
    const ax = axisTicks(t0Ns, t1Ns, { unit: p.unit, originNs: p.session.startNs, maxTicks: Math.max(2, Math.min(10, Math.floor(plotW / 140))) });
    let freeX = GUTTER_PX;
    for (let i = 0; i < ax.ns.length; i++) {
      const x = Math.round(xOf(ax.ns[i]!));
      if (x < GUTTER_PX || x > widthPx) continue;
      g.fillRect(x, AXIS_PX - 5, 1, 5);
      const label = ax.labels[i]!;
      const lw = g.measureText(label).width;
      if (x + 2 >= freeX && x + 2 + lw <= widthPx - 2) {
        g.fillText(label, x + 2, AXIS_PX / 2);
        freeX = x + 2 + lw + 8;
      }
    }
    lanes.forEach((l, i) => {
      const y = AXIS_PX + i * laneH;
      g.fillStyle = grid;
      g.fillRect(0, y + laneH - 1, widthPx, 1);
      g.fillStyle = fg;
      g.fillText(l.label, 4, y + laneH / 2, GUTTER_PX - 8);
    });
    if (tile) {
      const n = tile.lane.length;
      for (let k = 0; k < n; k++) {
        const row = laneRow.get(tile.lane[k]!);
        if (row === undefined) continue;
        const x0 = Math.max(GUTTER_PX, xOf(tile.startNs[k]!));
        const x1 = Math.min(widthPx, xOf(tile.endNs[k]!));
        if (x1 <= GUTTER_PX || x0 >= widthPx) continue;
        // a dense pixel's bar is as tall as the share of its time something ran
        const h = laneH - 5;
        const bh = Math.max(1, Math.round(h * Math.min(1, tile.busy[k] ?? 1)));
        const y = AXIS_PX + row * laneH + 2 + (h - bh);
        const tid = tile.tid[k]!;
        const file = p.session.lanes[tile.lane[k]!]?.file ?? 0;
        g.globalAlpha = tile.match[k] ? 1 : 0.2;
        const vc = vcpuOf.get(file * 2 ** 32 + tid);
        g.fillStyle = vc ? vmColor(vc.vm, vc.vcpu, p.dark) : threadColor(tid, p.dark);
        g.fillRect(x0, y, Math.max(1, x1 - x0), bh);
        if (p.followed && p.followed.tid === tid && p.followed.file === file) {
          g.globalAlpha = 1;
          g.strokeStyle = fg;
          g.lineWidth = 2;
          g.strokeRect(x0, y, Math.max(1, x1 - x0), bh);
        }
        if (x1 - x0 > 50 && tile.switches[k]! <= 1 && bh === h) {
          g.globalAlpha = 1;
          g.fillStyle = p.dark ? '#000' : '#fff';
          const label = vc ? `${vc.name} vCPU ${vc.vcpu}` : `${tile.strings[tile.comm[k]!] ?? '?'}:${tid}`;
          g.fillText(label, x0 + 3, y + (laneH - 5) / 2, x1 - x0 - 6);
        }
      }
      g.globalAlpha = 1;
      g.fillStyle = fg;
      for (const m of tile.markers) {
        const row = laneRow.get(m.lane);
        if (row === undefined) continue;
        const x = xOf(m.tsNs);
        const y = AXIS_PX + row * laneH;
        g.beginPath();
        g.moveTo(x - 4, y);
        g.lineTo(x + 4, y);
        g.lineTo(x, y + 6);
        g.closePath();
        g.fill();
      }
    }
    const sel = p.selection;
    if (sel || dragPx) {
      const a = dragPx ? Math.min(...dragPx) : xOf(sel!.t0Ns);
      const b = dragPx ? Math.max(...dragPx) : xOf(sel!.t1Ns);
      g.fillStyle = 'rgba(80,140,255,0.18)';
      g.fillRect(a, AXIS_PX, Math.max(1, b - a), heightPx - AXIS_PX);
    }
    if (p.cursorNs !== null) {
      const cx = xOf(p.cursorNs);
      if (cx >= GUTTER_PX && cx <= widthPx) {
        g.fillStyle = p.dark ? '#fbbf24' : '#b45309';
        g.fillRect(Math.round(cx) - 1, AXIS_PX - 4, 2, heightPx - AXIS_PX + 4);
      }
    }
    if (tile) tile.drawMs = performance.now() - t;
    cv.dataset.drawMs = (performance.now() - t).toFixed(2);
    cv.dataset.segments = String(tile?.lane.length ?? 0);
    // For tests and benchmarks: the view asked for and the view the drawn tile answers.
    cv.dataset.view = viewKey;
    cv.dataset.tile = tile?.key ?? '';
    // Everything the drawing reads: a render for anything else (a page of table rows arriving, a
    // count poll) does not redraw the canvas (getComputedStyle + every segment, up to ~6 ms).
  }, [tile, widthPx, heightPx, plotW, t0Ns, t1Ns, viewKey, laneH, p.fontPx, p.unit, p.dark, p.session, filterJson, p.followed?.file, p.followed?.tid, p.selection?.t0Ns, p.selection?.t1Ns, dragPx, p.cursorNs]);

  const segmentAt = (x: number, y: number): number => {
    if (!tile) return -1;
    const row = Math.floor((y - AXIS_PX) / laneH);
    const lane = lanes[row];
    if (!lane) return -1;
    const ts = tsOf(x);
    const slack = (t1Ns - t0Ns) / plotW;
    for (let k = 0; k < tile.lane.length; k++) {
      if (tile.lane[k] !== lane.lane) continue;
      if (tile.startNs[k]! - slack <= ts && ts < tile.endNs[k]! + slack) return k;
    }
    return -1;
  };

  const local = (e: MouseEvent): { x: number; y: number } => {
    const r = canvasRef.current!.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  };

  const zoom = (factor: number, centerTs: number): void => {
    const span = t1Ns - t0Ns;
    const full = p.session.endNs - p.session.startNs || 1;
    const next = Math.min(full * 1.05, Math.max(1000, span * factor));
    const frac = (centerTs - t0Ns) / span;
    let a = centerTs - frac * next;
    a = Math.max(p.session.startNs - full * 0.025, Math.min(a, p.session.endNs + full * 0.025 - next));
    p.onView({ t0Ns: a, t1Ns: a + next });
  };
  const pan = (frac: number): void => {
    const d = (t1Ns - t0Ns) * frac;
    p.onView({ t0Ns: t0Ns + d, t1Ns: t1Ns + d });
  };

  const onWheel = (e: WheelEvent): void => {
    const { x } = local(e);
    if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) pan((e.deltaX || e.deltaY) / 1000);
    else zoom(Math.exp(e.deltaY / 400), x > GUTTER_PX ? tsOf(x) : (t0Ns + t1Ns) / 2);
  };
  const onKey = (e: KeyboardEvent): void => {
    const mid = (t0Ns + t1Ns) / 2;
    if (e.key === '+' || e.key === '=') zoom(0.5, mid);
    else if (e.key === '-') zoom(2, mid);
    else if (e.key === 'ArrowLeft') pan(-0.2);
    else if (e.key === 'ArrowRight') pan(0.2);
    else if (e.key === '0') p.onView({ t0Ns: p.session.startNs, t1Ns: Math.max(p.session.endNs, p.session.startNs + 1000) });
    else return;
    e.preventDefault();
  };
  const onDown = (e: MouseEvent): void => {
    const { x, y } = local(e);
    if (x < GUTTER_PX) {
      const lane = lanes[Math.floor((y - AXIS_PX) / laneH)];
      if (lane) p.onPickLane(lane);
      return;
    }
    drag.current = { x0: x, moved: false };
  };
  const onMove = (e: MouseEvent): void => {
    const { x, y } = local(e);
    const d = drag.current;
    if (d) {
      if (Math.abs(x - d.x0) > 4) d.moved = true;
      if (d.moved) setDragPx([d.x0, Math.max(GUTTER_PX, Math.min(widthPx, x))]);
      return;
    }
    const k = segmentAt(x, y);
    if (k < 0 || !tile) {
      setHover(null);
      return;
    }
    const s = tile.startNs[k]!;
    const en = tile.endNs[k]!;
    const sw = tile.switches[k]!;
    const text =
      sw > 1 || (tile.busy[k] ?? 1) < 0.999
        ? `${sw} runs start here, busy ${Math.round((tile.busy[k] ?? 1) * 100)}%, mostly ${tile.strings[tile.comm[k]!] ?? '?'}:${tile.tid[k]}${vcHover(k)} — zoom in for single runs`
        : `${tile.strings[tile.comm[k]!] ?? '?'}:${tile.tid[k]}${vcHover(k)}  ${formatTime(s, { unit: p.unit, originNs: p.session.startNs })} +${formatDuration(en - s)}`;
    setHover({ x, y, text });
  };
  function vcHover(k: number): string {
    const lane = tile ? p.session.lanes[tile.lane[k]!] : undefined;
    const vc = lane && tile ? vcpuOf.get(lane.file * 2 ** 32 + tile.tid[k]!) : undefined;
    return vc ? ` (${vc.name} vCPU ${vc.vcpu})` : '';
  }
  const onUp = (e: MouseEvent): void => {
    const d = drag.current;
    drag.current = null;
    if (!d) return;
    const { x, y } = local(e);
    if (d.moved) {
      const a = tsOf(Math.min(d.x0, x));
      const b = tsOf(Math.max(d.x0, x));
      setDragPx(null);
      p.onSelection({ t0Ns: Math.max(a, p.session.startNs), t1Ns: b });
      return;
    }
    const k = segmentAt(x, y);
    if (k >= 0 && tile) {
      const lane = p.session.lanes[tile.lane[k]!];
      if (lane) p.onPickThread({ file: lane.file, tid: tile.tid[k]!, comm: tile.strings[tile.comm[k]!] ?? '' });
    } else p.onSelection(null);
  };

  return (
    <div className="timeline" ref={wrapRef} data-testid="timeline">
      <canvas
        ref={canvasRef}
        tabIndex={0}
        onWheel={onWheel}
        onKeyDown={onKey}
        onMouseDown={onDown}
        onMouseMove={onMove}
        onMouseUp={onUp}
        onDoubleClick={(e) => {
          const { x } = local(e);
          if (x > GUTTER_PX) p.onJumpTime(tsOf(x));
        }}
        onMouseLeave={() => {
          setHover(null);
          drag.current = null;
          setDragPx(null);
        }}
        aria-label="timeline: wheel to zoom, shift+wheel to pan, drag to select a time range, double-click to show that time in the table"
      />
      {lanes.length === 0 && <div className="timeline-empty">No scheduler lanes: this trace (or filter) has no sched_switch events.</div>}
      {hover && (
        <div className="tooltip" style={{ left: Math.min(hover.x + 12, widthPx - 320), top: hover.y + 14 }}>
          {hover.text}
        </div>
      )}
    </div>
  );
}
