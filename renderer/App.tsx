// The app shell: empty / loading (progress, rate, ETA, Cancel) / error states, then the explorer
// (toolbar, filter chips, timeline, follow panel, event table, details). The explorer opens on a
// partial session as soon as the engine has indexed the first part (the progress and Cancel stay
// on top, the table and timeline grow) and becomes complete when the load ends. Talks only to
// the TraceApi and the Host it is given.

import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type DragEvent, type ReactNode } from 'react';
import { EVENT_KIND_NAMES } from '../shared/schema.ts';
import { MAX_WINDOW_ROWS, type FilterSpec, type LaneInfo, type LoadStatus, type SessionInfo, type ThreadInfo, type ThreadRef, type TraceApi } from '../shared/contract.ts';
import type { FirstLoad, Host } from './api/client.ts';
import { fullRange, THREAD_HITS } from './api/first-requests.ts';
import { FollowPanel } from './follow/FollowPanel.tsx';
import { formatBytes, formatCount, formatDuration, formatTime, kindName, parseTime, TIME_UNITS, unitLabel, type TimeUnit } from './format.ts';
import { copyText, EventTable, rowText, type TableSettings } from './table/EventTable.tsx';
import { RowPages, type RowData } from './table/row-pages.ts';
import { Timeline, type TimeRange } from './timeline/Timeline.tsx';
import { VmPanel } from './stats/VmPanel.tsx';
import { CorePanel } from './stats/CorePanel.tsx';

type Phase =
  | { kind: 'boot' }
  | { kind: 'empty'; message?: string }
  | { kind: 'loading'; loadId: string; status: LoadStatus | null; paths: string[] }
  | { kind: 'error'; message: string; paths: string[] }
  | { kind: 'ready'; session: SessionInfo; loading?: { loadId: string; status: LoadStatus; paths: string[] } };

interface Prefs {
  dark: boolean;
  fontPx: number;
  unit: TimeUnit;
  relative: boolean;
}

function loadPrefs(): Prefs {
  const d: Prefs = { dark: window.matchMedia?.('(prefers-color-scheme: dark)').matches ?? false, fontPx: 14, unit: 'ms', relative: true };
  try {
    const s = JSON.parse(localStorage.getItem('vcpuscope.prefs') ?? '{}') as Partial<Prefs>;
    return {
      dark: typeof s.dark === 'boolean' ? s.dark : d.dark,
      fontPx: typeof s.fontPx === 'number' && s.fontPx >= 10 && s.fontPx <= 32 ? s.fontPx : d.fontPx,
      unit: TIME_UNITS.includes(s.unit as TimeUnit) ? (s.unit as TimeUnit) : d.unit,
      relative: typeof s.relative === 'boolean' ? s.relative : d.relative,
    };
  } catch {
    return d;
  }
}

export function App({ host }: { host: Host }) {
  const api = host.api;
  const [phase, setPhase] = useState<Phase>({ kind: 'boot' });
  const [prefs, setPrefs] = useState<Prefs>(loadPrefs);
  const current = useRef<{ sessionId?: string; loadId?: string }>({});
  const lastOpen = useRef<{ paths: string[]; guests: { path: string; vm: string }[] } | null>(null);

  // A layout effect: the theme's CSS variables are in place before the views' (passive) effects
  // draw their canvases with them.
  useLayoutEffect(() => {
    localStorage.setItem('vcpuscope.prefs', JSON.stringify(prefs));
    document.documentElement.dataset.theme = prefs.dark ? 'dark' : 'light';
    document.documentElement.style.setProperty('--font-px', `${prefs.fontPx}px`);
  }, [prefs]);

  const startLoad = useCallback(
    async (paths: string[], guests: { path: string; vm: string }[] = [], first: FirstLoad | null = null) => {
      lastOpen.current = { paths, guests };
      if (current.current.sessionId) {
        void api.closeSession({ sessionId: current.current.sessionId });
        current.current.sessionId = undefined;
      }
      // The host may have opened the initial files already (and asked for the first status and session info).
      const r = first ? first.open : await api.open(guests.length ? { paths, guests } : { paths });
      if (!r.ok) {
        setPhase({ kind: 'error', message: r.error.message, paths });
        return;
      }
      const loadId = r.value.loadId;
      current.current.loadId = loadId;
      setPhase({ kind: 'loading', loadId, status: null, paths });
      let shown: SessionInfo | null = null;
      let early = first;
      for (;;) {
        const s = early?.status ?? (await api.loadStatus({ loadId }));
        const earlyInfo = early?.info;
        early = null;
        if (current.current.loadId !== loadId) return;
        if (!s.ok) {
          setPhase({ kind: 'error', message: s.error.message, paths });
          return;
        }
        const st = s.value;
        if ((st.state === 'ready' || st.state === 'loading') && st.sessionId) {
          // A session exists (partial while loading): show it, refreshed as it grows.
          const info = earlyInfo?.ok && earlyInfo.value.sessionId === st.sessionId ? earlyInfo : await api.sessionInfo({ sessionId: st.sessionId });
          if (current.current.loadId !== loadId) return;
          if (!info.ok) {
            if (st.state === 'ready') {
              setPhase({ kind: 'error', message: info.error.message, paths });
              return;
            }
            // The partial session went away (the load failed or was cancelled): the status says which.
          } else {
            current.current.sessionId = st.sessionId;
            const v = info.value;
            const same = shown !== null && shown.sessionId === v.sessionId && shown.complete === v.complete && shown.rowCount === v.rowCount && shown.lanes.length === v.lanes.length;
            if (!same) shown = v;
            if (st.state === 'ready') {
              setPhase({ kind: 'ready', session: shown! });
              return;
            }
            setPhase({ kind: 'ready', session: shown!, loading: { loadId, status: st, paths } });
            await new Promise((res) => setTimeout(res, 150));
            continue;
          }
        }
        if (st.state === 'failed') {
          current.current.sessionId = undefined;
          setPhase({ kind: 'error', message: st.error ?? 'the trace could not be read', paths });
          return;
        }
        if (st.state === 'cancelled') {
          current.current.sessionId = undefined;
          setPhase({ kind: 'empty', message: 'Loading was cancelled. Nothing was kept; open the trace again when you are ready.' });
          return;
        }
        if (st.state === 'ready') {
          setPhase({ kind: 'error', message: 'the engine finished the load without a session', paths });
          return;
        }
        setPhase({ kind: 'loading', loadId, status: st, paths });
        // Quick polls until the first part can be shown, then the usual pace.
        await new Promise((res) => setTimeout(res, st.elapsedMs < 2000 ? 50 : 150));
      }
    },
    [api],
  );

  useEffect(() => {
    void (async () => {
      const first = (await host.startupLoad?.()) ?? null;
      if (first) {
        void startLoad(first.request.paths, first.request.guests ?? [], first);
        return;
      }
      const [paths, guests] = await Promise.all([host.initialPaths(), host.initialGuests?.() ?? Promise.resolve([])]);
      if (paths.length) void startLoad(paths, guests);
      else setPhase({ kind: 'empty' });
    })();
    host.onOpenPaths?.((paths) => void startLoad(paths));
  }, [host, startLoad]);

  const prefsRef = useRef(prefs);
  prefsRef.current = prefs;
  useEffect(() => {
    host.onMenu?.((what) => {
      const p = prefsRef.current;
      if (what === 'font+') setPrefs({ ...p, fontPx: Math.min(32, p.fontPx + 2) });
      else if (what === 'font-') setPrefs({ ...p, fontPx: Math.max(10, p.fontPx - 1) });
      else if (what === 'theme') setPrefs({ ...p, dark: !p.dark });
      else if (what === 'export') window.dispatchEvent(new Event('vcpuscope-export'));
    });
  }, [host]);

  const [dropNote, setDropNote] = useState<string | null>(null);
  const onDrop = (e: DragEvent): void => {
    e.preventDefault();
    const files = Array.from(e.dataTransfer.files);
    if (files.length === 0) return;
    if (!host.dropFiles) {
      setDropNote('In browser mode only the files given to `vcpuscope serve` can be opened: restart it with the dropped files.');
      return;
    }
    void host.dropFiles(files).then((paths) => {
      if (paths.length) void startLoad(paths);
      else setDropNote('Those files could not be opened (not regular files?).');
    });
  };

  const cancel = async (loadId: string): Promise<void> => {
    await api.cancelLoad({ loadId });
  };
  const pick = host.pickFiles
    ? async (): Promise<void> => {
        const paths = await host.pickFiles!();
        if (paths?.length) void startLoad(paths);
      }
    : undefined;

  const prefsBar = (
    <div className="prefs">
      <button type="button" onClick={() => setPrefs({ ...prefs, dark: !prefs.dark })} title="light / dark theme" data-testid="theme">
        {prefs.dark ? '☀ Light' : '☾ Dark'}
      </button>
      <button type="button" onClick={() => setPrefs({ ...prefs, fontPx: Math.max(10, prefs.fontPx - 1) })} title="smaller text">
        A−
      </button>
      <button type="button" onClick={() => setPrefs({ ...prefs, fontPx: Math.min(32, prefs.fontPx + 2) })} title="larger text (projector)">
        A+
      </button>
    </div>
  );

  let body;
  if (phase.kind === 'boot') body = <div className="state">Starting…</div>;
  else if (phase.kind === 'empty')
    body = (
      <div className="state" data-testid="empty-state">
        <h1>vcpuscope</h1>
        {phase.message && <p className="notice">{phase.message}</p>}
        {lastOpen.current && (
          <button type="button" className="primary" data-testid="open-again" onClick={() => void startLoad(lastOpen.current!.paths, lastOpen.current!.guests)}>
            Open {lastOpen.current.paths.map((p) => p.split(/[\\/]/).pop()).join(', ')} again
          </button>
        )}
        <p>Open a host trace, a guest trace, or both (trace.dat, ftrace text, xentrace).</p>
        {pick ? (
          <button type="button" className="primary" onClick={() => void pick()}>
            Open trace…
          </button>
        ) : (
          <p className="muted">In browser mode, start with the files to explore: <code>vcpuscope serve host.dat guest.dat</code></p>
        )}
        {host.kind === 'electron' && <p className="muted">You can also drop trace files on this window.</p>}
      </div>
    );
  else if (phase.kind === 'loading') body = <LoadingView status={phase.status} paths={phase.paths} onCancel={() => void cancel(phase.loadId)} />;
  else if (phase.kind === 'error')
    body = (
      <div className="state" data-testid="error-state">
        <h1>Could not open the trace</h1>
        <pre className="error">{phase.message}</pre>
        <p>Check that the file is a complete trace (trace-cmd record, tracefs text, xentrace). A truncated file still opens up to the damage when its header is intact.</p>
        <button type="button" onClick={() => void startLoad(phase.paths, lastOpen.current?.guests ?? [])}>
          Try again
        </button>
        {pick && (
          <button type="button" onClick={() => void pick()}>
            Open another…
          </button>
        )}
      </div>
    );
  else {
    const ld = phase.loading;
    body = (
      <Explorer
        key={phase.session.sessionId}
        api={api}
        session={phase.session}
        prefs={prefs}
        setPrefs={setPrefs}
        loading={ld ? <LoadingView status={ld.status} paths={ld.paths} onCancel={() => void cancel(ld.loadId)} partialRows={phase.session.rowCount} /> : null}
      />
    );
  }

  return (
    <div className="app" onDragOver={(e) => e.preventDefault()} onDrop={onDrop}>
      {dropNote && (
        <div className="notice" role="status">
          {dropNote}{' '}
          <button type="button" className="link" onClick={() => setDropNote(null)}>
            dismiss
          </button>
        </div>
      )}
      <div className="topbar">
        <span className="brand">vcpuscope</span>
        {phase.kind === 'ready' && (
          <span className="files muted">
            {phase.session.files.map((f) => `${f.name} (${f.layer}, ${f.summary.format})`).join(' · ')}
          </span>
        )}
        <span className="spacer" />
        {pick && phase.kind !== 'loading' && (
          <button type="button" onClick={() => void pick()}>
            Open…
          </button>
        )}
        {prefsBar}
      </div>
      {body}
    </div>
  );
}

/** The load's progress and Cancel: the whole page before any row can be shown, then a bar above a partial session. */
function LoadingView({ status, paths, onCancel, partialRows }: { status: LoadStatus | null; paths: string[]; onCancel: () => void; partialRows?: number }) {
  const done = status?.files.reduce((a, f) => a + f.bytesDone, 0) ?? 0;
  const total = status?.files.reduce((a, f) => a + f.bytesTotal, 0) ?? 0;
  const events = status?.files.reduce((a, f) => a + f.events, 0) ?? 0;
  const sec = (status?.elapsedMs ?? 0) / 1000;
  const rate = sec > 0 ? done / sec : 0;
  const eta = rate > 0 && total > done ? (total - done) / rate : null;
  const frac = total > 0 ? Math.min(1, done / total) : 0;
  const names = paths.map((p) => p.split(/[\\/]/).pop()).join(', ');
  if (partialRows !== undefined && status?.phase === 'lanes')
    return (
      // Floating, not in the flow: when it goes (usually within a second) nothing below it moves,
      // so a drag or click aimed at the timeline while it is up still lands where it was aimed.
      <div className="indexing floating-status" data-testid="indexing-banner">
        <div data-testid="loading-state" role="status">
          <span className="muted">
            Opened {names} from its cache: all {formatCount(partialRows)} events are in the table; reading the timeline lanes…
          </span>{' '}
          <button type="button" onClick={onCancel} data-testid="cancel-load">
            Cancel
          </button>
        </div>
      </div>
    );
  if (partialRows !== undefined)
    return (
      <div className="indexing" data-testid="indexing-banner" style={{ background: 'var(--bg2)', borderLeft: '3px solid var(--accent)', padding: '4px 8px', margin: '4px 8px' }}>
        <div data-testid="loading-state" role="status">
          <div className="progress" style={{ margin: '4px 0' }} role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(frac * 100)}>
            <div className="progress-fill" style={{ width: `${(frac * 100).toFixed(1)}%` }} />
          </div>
          <span className="muted">
            Indexing {names}… {formatCount(partialRows)} events so far (shown below; the table and timeline grow) · {formatBytes(done)} of {formatBytes(total)} · {formatCount(events)} events read · {formatBytes(rate)}/s
            {eta !== null ? ` · about ${eta < 1 ? '<1' : Math.round(eta)} s left` : ''}
            {status?.phase === 'model' ? ' · building the two-layer model' : ''}
          </span>{' '}
          <button type="button" onClick={onCancel} data-testid="cancel-load">
            Cancel
          </button>
        </div>
      </div>
    );
  return (
    <div className="state" data-testid="loading-state">
      <h1>Opening {names}</h1>
      <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(frac * 100)}>
        <div className="progress-fill" style={{ width: `${(frac * 100).toFixed(1)}%` }} />
      </div>
      <p className="muted">
        {status?.phase === 'prepare' ? 'Preparing lanes and indexes… ' : ''}
        {formatBytes(done)} of {formatBytes(total)} · {formatCount(events)} events · {formatBytes(rate)}/s
        {eta !== null ? ` · about ${eta < 1 ? '<1' : Math.round(eta)} s left` : ''}
      </p>
      <button type="button" onClick={onCancel} data-testid="cancel-load">
        Cancel
      </button>
    </div>
  );
}

const EXPORT_MAX_ROWS = 200_000;

function csvCell(v: string): string {
  return /[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

interface Chip {
  key: string;
  label: string;
  remove: (f: FilterSpec) => FilterSpec;
}

function chipsOf(f: FilterSpec, s: SessionInfo, unit: TimeUnit): Chip[] {
  const out: Chip[] = [];
  const fileName = (i: number): string => s.files[i]?.name ?? `file ${i}`;
  const multi = s.files.length > 1;
  for (const i of f.files ?? []) out.push({ key: `file${i}`, label: `machine: ${fileName(i)}`, remove: (x) => ({ ...x, files: x.files?.filter((v) => v !== i) }) });
  for (const c of f.cpus ?? []) {
    const what = s.files[c.file]?.layer === 'guest' ? 'vCPU' : 'core';
    out.push({
      key: `cpu${c.file}:${c.cpu}`,
      label: `${what} ${c.cpu}${multi ? ` (${fileName(c.file)})` : ''}`,
      remove: (x) => ({ ...x, cpus: x.cpus?.filter((v) => !(v.file === c.file && v.cpu === c.cpu)) }),
    });
  }
  for (const t of f.threads ?? [])
    out.push({ key: `tid${t.file}:${t.tid}`, label: `thread ${t.tid}${multi ? ` (${fileName(t.file)})` : ''}`, remove: (x) => ({ ...x, threads: x.threads?.filter((v) => !(v.file === t.file && v.tid === t.tid)) }) });
  for (const c of f.comms ?? []) out.push({ key: `comm${c}`, label: `process: ${c}`, remove: (x) => ({ ...x, comms: x.comms?.filter((v) => v !== c) }) });
  for (const k of f.kinds ?? []) out.push({ key: `kind${k}`, label: `event: ${kindName(k)}`, remove: (x) => ({ ...x, kinds: x.kinds?.filter((v) => v !== k) }) });
  if (f.t0Ns !== undefined || f.t1Ns !== undefined) {
    const o = { unit, originNs: s.startNs };
    out.push({
      key: 'time',
      label: `time ${f.t0Ns !== undefined ? formatTime(f.t0Ns, o) : '…'} – ${f.t1Ns !== undefined ? formatTime(f.t1Ns, o) : '…'} ${unitLabel(unit)}`,
      remove: (x) => ({ ...x, t0Ns: undefined, t1Ns: undefined }),
    });
  }
  if (f.text) out.push({ key: 'text', label: `text: “${f.text}”`, remove: (x) => ({ ...x, text: undefined }) });
  return out;
}

function clean(f: FilterSpec): FilterSpec {
  const o: FilterSpec = {};
  for (const [k, v] of Object.entries(f) as [keyof FilterSpec, unknown][]) {
    if (v === undefined || (Array.isArray(v) && v.length === 0) || v === '') continue;
    (o as Record<string, unknown>)[k] = v;
  }
  return o;
}

function addTo<T>(list: T[] | undefined, v: T, same: (a: T, b: T) => boolean): T[] {
  const l = list ?? [];
  return l.some((x) => same(x, v)) ? l : [...l, v];
}

function Explorer({ api, session, prefs, setPrefs, loading }: { api: TraceApi; session: SessionInfo; prefs: Prefs; setPrefs: (p: Prefs) => void; loading: ReactNode }) {
  const [filter, setFilterRaw] = useState<FilterSpec>({});
  const setFilter = (f: FilterSpec): void => setFilterRaw(clean(f));
  const filterJson = JSON.stringify(filter);
  const [count, setCount] = useState({ matched: session.rowCount, done: true, scanned: session.rowCount });
  const [version, setVersion] = useState(0);
  // Page arrivals re-render the table alone (EventTable subscribes), not the whole explorer: at
  // 100M rows a page arrives every ~30 frames of slow scrolling, and each re-rendered the timeline,
  // the panels and the toolbar.
  const pages = useMemo(() => new RowPages(api, session.sessionId, {}, () => undefined), [api, session.sessionId]);
  const [selected, setSelected] = useState<{ row: number; data: RowData | null } | null>(null);
  const [reveal, setReveal] = useState<{ row: number; seq: number } | null>(null);
  const full: TimeRange = fullRange(session);
  const [view, setView] = useState<TimeRange>(full);
  // While the session grows, a view of the whole trace so far keeps showing all of it (new tiles).
  const lastFull = useRef(full);
  useEffect(() => {
    const prev = lastFull.current;
    lastFull.current = full;
    setView((v) => (v.t0Ns === prev.t0Ns && v.t1Ns === prev.t1Ns ? full : v));
  }, [full.t0Ns, full.t1Ns]);
  // Completion of several files merges their rows: every row position changes.
  useEffect(() => {
    if (session.complete && session.files.length > 1) {
      pages.clear();
      setVersion((v) => v + 1);
    }
  }, [session.complete, session.files.length, pages]);
  const [selection, setSelection] = useState<TimeRange | null>(null);
  const [followed, setFollowed] = useState<ThreadRef | null>(null);
  const [search, setSearch] = useState('');
  const [threadQuery, setThreadQuery] = useState('');
  const [threadHits, setThreadHits] = useState<ThreadInfo[]>([]);
  const [jump, setJump] = useState('');
  const [notice, setNotice] = useState<string | null>(null);
  const rowH = Math.round(prefs.fontPx * 1.6);
  const settings: TableSettings = { unit: prefs.unit, relative: prefs.relative };
  const origin = prefs.relative ? session.startNs : 0;

  // Filter change: new pages; poll the count until the engine has scanned every row.
  useEffect(() => {
    const f = JSON.parse(filterJson) as FilterSpec;
    pages.setFilter(f);
    setSelected(null);
    let stop = false;
    let lastMatched = -1;
    const poll = async (): Promise<void> => {
      while (!stop) {
        const r = await api.count({ sessionId: session.sessionId, filter: f });
        if (stop) return;
        if (!r.ok) {
          setNotice(r.error.message);
          return;
        }
        const c = r.value;
        if (c.matched !== lastMatched && lastMatched >= 0) pages.invalidateFrom(Math.max(0, lastMatched - 1));
        lastMatched = c.matched;
        setCount({ matched: c.matched, done: c.done, scanned: c.scannedRows });
        setVersion((v) => v + 1);
        if (c.done) return;
        await new Promise((res) => setTimeout(res, 200));
      }
    };
    void poll();
    return () => {
      stop = true;
    };
  }, [api, session.sessionId, filterJson, pages]);

  // The timeline follows a time-range filter: it shows that range.
  useEffect(() => {
    if (filter.t0Ns !== undefined && filter.t1Ns !== undefined && filter.t1Ns > filter.t0Ns) setView({ t0Ns: filter.t0Ns, t1Ns: filter.t1Ns });
  }, [filter.t0Ns, filter.t1Ns]);

  // Fill the selected row's data once its page arrives.
  useEffect(() => {
    if (!selected || selected.data) return undefined;
    const fill = (): boolean => {
      const d = pages.get(selected.row);
      if (d) setSelected({ row: selected.row, data: d });
      return d !== null;
    };
    if (fill()) return undefined;
    return pages.subscribe(() => void fill());
  }, [version, selected, pages]);

  useEffect(() => {
    let live = true;
    void api.threads({ sessionId: session.sessionId, query: threadQuery, limit: THREAD_HITS }).then((r) => {
      if (live && r.ok) setThreadHits(r.value);
    });
    return () => {
      live = false;
    };
  }, [api, session.sessionId, threadQuery]);

  const follow = (t: ThreadRef): void => setFollowed({ file: t.file, tid: t.tid });

  // Copy a range of rows as tab-separated text (at most one engine window).
  const copyRows = async (first: number, last: number): Promise<void> => {
    const count = Math.min(last - first + 1, MAX_WINDOW_ROWS);
    const r = await api.rows({ sessionId: session.sessionId, filter, start: first, count });
    if (!r.ok) {
      setNotice(r.error.message);
      return;
    }
    const rows = RowPages.decode(r.value, first);
    await copyText(rows.map((x) => rowText(x, session, settings).join('\t')).join('\n'));
    setNotice(`Copied ${formatCount(rows.length)} row${rows.length === 1 ? '' : 's'}${last - first + 1 > count ? ` (at most ${formatCount(MAX_WINDOW_ROWS)} at a time)` : ''}.`);
  };

  // Export the filtered rows (bounded) as CSV, read window by window from the engine.
  const exporting = useRef(false);
  const exportCsv = useCallback(async (): Promise<void> => {
    if (exporting.current) return;
    exporting.current = true;
    try {
      const limit = Math.min(count.matched, EXPORT_MAX_ROWS);
      const parts: string[] = ['time,layer,machine,cpu,event,thread,details\n'];
      for (let start = 0; start < limit; start += 5000) {
        const r = await api.rows({ sessionId: session.sessionId, filter, start, count: Math.min(5000, limit - start) });
        if (!r.ok) throw new Error(r.error.message);
        const rows = RowPages.decode(r.value, start);
        for (const row of rows) parts.push(`${rowText(row, session, settings).map(csvCell).join(',')}\n`);
        setNotice(`Exporting… ${formatCount(Math.min(limit, start + 5000))} of ${formatCount(limit)} rows`);
      }
      const url = URL.createObjectURL(new Blob(parts, { type: 'text/csv' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `${session.files[0]?.name ?? 'trace'}-events.csv`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setNotice(`Exported ${formatCount(limit)} rows${limit < count.matched ? ` (the first ${formatCount(EXPORT_MAX_ROWS)}; use \`vcpuscope export\` for all)` : ''}.`);
    } catch (e) {
      setNotice(`Export failed: ${(e as Error).message}`);
    } finally {
      exporting.current = false;
    }
  }, [api, session, filter, count.matched, settings]);
  useEffect(() => {
    const h = (): void => void exportCsv();
    window.addEventListener('vcpuscope-export', h);
    return () => window.removeEventListener('vcpuscope-export', h);
  }, [exportCsv]);
  const jumpToTime = async (tsNs: number): Promise<void> => {
    const r = await api.rowAtTime({ sessionId: session.sessionId, filter, tsNs });
    if (!r.ok) {
      setNotice(r.error.message);
      return;
    }
    setSelected({ row: r.value.index, data: pages.get(r.value.index) });
    setReveal({ row: r.value.index, seq: Date.now() });
  };

  const d = selected?.data ?? null;
  const chips = chipsOf(filter, session, prefs.unit);
  const pickLane = (l: LaneInfo): void => setFilter({ ...filter, cpus: addTo(filter.cpus, { file: l.file, cpu: l.cpu }, (a, b) => a.file === b.file && a.cpu === b.cpu) });

  return (
    <div className="explorer" data-complete={session.complete ? 'true' : 'false'}>
      {loading}
      <div className="toolbar">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (search.trim()) setFilter({ ...filter, text: search.trim() });
            setSearch('');
          }}
        >
          <input value={search} onChange={(e) => setSearch(e.target.value)} placeholder="Search comm / event…" aria-label="text search" data-testid="search" />
        </form>
        <div className="thread-search">
          <input value={threadQuery} onChange={(e) => setThreadQuery(e.target.value)} placeholder="Follow thread (name or tid)…" aria-label="follow thread" data-testid="thread-search" />
          {threadQuery && threadHits.length > 0 && (
            <ul className="hits">
              {threadHits.map((t) => (
                <li key={`${t.file}:${t.tid}`}>
                  <button
                    type="button"
                    className="link"
                    onClick={() => {
                      follow(t);
                      setThreadQuery('');
                    }}
                  >
                    {t.comm}:{t.tid} <span className="muted">({formatCount(t.events)} events{session.files.length > 1 ? `, ${session.files[t.file]?.name}` : ''})</span>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            const ts = parseTime(jump, { unit: prefs.unit, originNs: origin });
            if (ts === null) setNotice(`“${jump}” is not a time in ${unitLabel(prefs.unit)}`);
            else void jumpToTime(ts);
          }}
        >
          <input value={jump} onChange={(e) => setJump(e.target.value)} placeholder={`Jump to time (${unitLabel(prefs.unit)})`} aria-label="jump to time" data-testid="jump" />
        </form>
        <select value={prefs.unit} onChange={(e) => setPrefs({ ...prefs, unit: e.target.value as TimeUnit })} aria-label="time unit">
          {TIME_UNITS.map((u) => (
            <option key={u} value={u}>
              {unitLabel(u)}
            </option>
          ))}
        </select>
        <label>
          <input type="checkbox" checked={prefs.relative} onChange={(e) => setPrefs({ ...prefs, relative: e.target.checked })} /> relative time
        </label>
        <select
          value=""
          aria-label="filter by event kind"
          onChange={(e) => {
            const k = Number(e.target.value);
            if (e.target.value !== '') setFilter({ ...filter, kinds: addTo(filter.kinds, k, (a, b) => a === b) });
          }}
        >
          <option value="">+ event kind…</option>
          {EVENT_KIND_NAMES.map((n, i) => (
            <option key={n} value={i}>
              {n}
            </option>
          ))}
        </select>
        {session.files.length > 1 && (
          <select
            value=""
            aria-label="filter by machine"
            onChange={(e) => {
              if (e.target.value !== '') setFilter({ ...filter, files: addTo(filter.files, Number(e.target.value), (a, b) => a === b) });
            }}
          >
            <option value="">+ machine / VM…</option>
            {session.files.map((f) => (
              <option key={f.index} value={f.index}>
                {f.name} ({f.layer})
              </option>
            ))}
          </select>
        )}
      </div>
      <div className="chips" data-testid="chips">
        {chips.map((c) => (
          <span className="chip" key={c.key}>
            {c.label}
            <button type="button" aria-label={`remove filter ${c.label}`} onClick={() => setFilter(c.remove(filter))}>
              ✕
            </button>
          </span>
        ))}
        {chips.length > 1 && (
          <button type="button" className="link" onClick={() => setFilter({})}>
            clear all
          </button>
        )}
        <span className="count" data-testid="count">
          {formatCount(count.matched)} {chips.length ? `of ${formatCount(session.rowCount)} ` : ''}events
          {!session.complete
            ? ' (loading…)'
            : !count.done && ` (filtering… ${Math.round((100 * count.scanned) / Math.max(1, session.rowCount))}%)`}
        </span>
        {selection && (
          <>
            <button type="button" onClick={() => setView(selection)}>
              Zoom to selection
            </button>
            <button
              type="button"
              data-testid="filter-selection"
              onClick={() => {
                setFilter({ ...filter, t0Ns: selection.t0Ns, t1Ns: selection.t1Ns });
                setSelection(null);
              }}
            >
              Filter to selection ({formatDuration(selection.t1Ns - selection.t0Ns)})
            </button>
          </>
        )}
        <button type="button" className="link" onClick={() => setView(full)} title="key 0 in the timeline">
          whole trace
        </button>
        <button type="button" className="link" onClick={() => void exportCsv()} title="the filtered rows as CSV">
          export CSV
        </button>
      </div>
      {notice && (
        <div className="notice" role="status">
          {notice}{' '}
          <button type="button" className="link" onClick={() => setNotice(null)}>
            dismiss
          </button>
        </div>
      )}
      <Timeline
        key={session.complete ? 'complete' : 'partial'}
        api={api}
        session={session}
        filter={filter}
        view={view}
        onView={setView}
        selection={selection}
        onSelection={setSelection}
        followed={followed}
        onPickThread={(t) => follow(t)}
        onPickLane={pickLane}
        dark={prefs.dark}
        fontPx={prefs.fontPx}
        unit={prefs.unit}
        cursorNs={selected?.data?.ts ?? null}
        onJumpTime={(ts) => void jumpToTime(ts)}
      />
      <VmPanel session={session} />
      {session.modelAvailable &&
        (filter.cpus ?? [])
          .filter((c) => session.files[c.file]?.layer === 'host')
          .slice(0, 2)
          .map((c) => <CorePanel key={`${c.file}:${c.cpu}`} api={api} session={session} core={c.cpu} view={view} onFollow={follow} />)}
      {followed && (
        <FollowPanel
          api={api}
          session={session}
          thread={followed}
          view={view}
          unit={prefs.unit}
          dark={prefs.dark}
          fontPx={prefs.fontPx}
          onClose={() => setFollowed(null)}
          onJump={(ts) => void jumpToTime(ts)}
        />
      )}
      <div className="lower">
        {count.matched === 0 && count.done ? (
          <div className="state small" data-testid="no-rows">
            No event matches these filters. Remove a chip above to see more.
          </div>
        ) : (
          <EventTable
            session={session}
            pages={pages}
            version={version}
            rowCount={count.matched}
            rowHeightPx={rowH}
            settings={settings}
            selected={selected?.row ?? null}
            onSelect={(row, data) => setSelected({ row, data })}
            reveal={reveal}
            onCopy={(first, last) => void copyRows(first, last)}
            scrollResetKey={filterJson}
          />
        )}
        <aside className="details" data-testid="details">
          {d ? (
            <>
              <h3>Event {formatCount(d.row + 1)}</h3>
              <table>
                <tbody>
                  {['time', 'layer', 'machine', 'cpu', 'event', 'thread', 'details'].map((k, i) => (
                    <tr key={k}>
                      <th>{k}</th>
                      <td>{rowText(d, session, settings)[i]}</td>
                    </tr>
                  ))}
                  <tr>
                    <th>offset</th>
                    <td>byte {d.offset}</td>
                  </tr>
                </tbody>
              </table>
              <div className="actions">
                <button type="button" data-testid="filter-cpu" onClick={() => setFilter({ ...filter, cpus: addTo(filter.cpus, { file: d.file, cpu: d.cpu }, (a, b) => a.file === b.file && a.cpu === b.cpu) })}>
                  Only this {session.files[d.file]?.layer === 'guest' ? 'vCPU' : 'CPU'}
                </button>
                <button type="button" data-testid="filter-thread" onClick={() => setFilter({ ...filter, threads: addTo(filter.threads, { file: d.file, tid: d.tid }, (a, b) => a.file === b.file && a.tid === b.tid) })}>
                  Only thread {d.tid}
                </button>
                {d.comm && (
                  <button type="button" onClick={() => setFilter({ ...filter, comms: addTo(filter.comms, d.comm!, (a, b) => a === b) })}>
                    Only process “{d.comm}”
                  </button>
                )}
                <button type="button" onClick={() => setFilter({ ...filter, kinds: addTo(filter.kinds, d.kind, (a, b) => a === b) })}>
                  Only {kindName(d.kind)}
                </button>
                <button type="button" data-testid="follow-thread" onClick={() => follow({ file: d.file, tid: d.tid })}>
                  Follow {d.comm ?? ''}:{d.tid}
                </button>
              </div>
              <h4>Original record</h4>
              <RecordView api={api} sessionId={session.sessionId} file={d.file} offset={d.offset} />
            </>
          ) : (
            <p className="muted">Select a row (click, or arrows in the table) to see its original record and filter or follow from it. Shift+click or Shift+arrows select a range; Ctrl+C copies it.</p>
          )}
        </aside>
      </div>
    </div>
  );
}

/**
 * The original record (text line or binary record) of the selected row, read by its byte offset.
 * A component of its own: the answer re-renders this box, not the explorer (holding an arrow key
 * re-rendered the whole explorer three times per step: the selection, the record cleared, the
 * record in). An answer for a row no longer selected is not shown.
 */
function RecordView({ api, sessionId, file, offset }: { api: TraceApi; sessionId: SessionInfo['sessionId']; file: number; offset: number }) {
  const key = `${sessionId}:${file}:${offset}`;
  const [rec, setRec] = useState<{ key: string; text: string } | null>(null);
  useEffect(() => {
    let live = true;
    void api.record({ sessionId, file, offsetBytes: offset }).then((r) => {
      if (live) setRec({ key, text: r.ok ? r.value.text : r.error.message });
    });
    return () => {
      live = false;
    };
  }, [api, sessionId, file, offset, key]);
  return (
    <pre className="record" data-testid="record">
      {rec?.key === key ? rec.text : '…'}
    </pre>
  );
}
