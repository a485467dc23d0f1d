// A one-line progress bar on stderr (bytes, events, rate, ETA), redrawn at most 10 times a second,
// only when stderr is a terminal. Knows nothing about indexing beyond the numbers it is given.

export interface ProgressStream {
  write(s: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

export function formatCount(n: number): string {
  if (n < 1e3) return String(n);
  if (n < 1e6) return `${(n / 1e3).toFixed(1)}k`;
  if (n < 1e9) return `${(n / 1e6).toFixed(2)}M`;
  return `${(n / 1e9).toFixed(2)}G`;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '--';
  if (s < 60) return `${Math.ceil(s)}s`;
  return `${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, '0')}s`;
}

export class ProgressBar {
  private readonly out: ProgressStream;
  private readonly label: string;
  private readonly startMs = Date.now();
  private lastDrawMs = 0;
  private drawn = false;

  constructor(out: ProgressStream, label: string) {
    this.out = out;
    this.label = label;
  }

  update(bytesDone: number, bytesTotal: number, events: number, force = false): void {
    const now = Date.now();
    if (!force && now - this.lastDrawMs < 100) return;
    this.lastDrawMs = now;
    const secs = Math.max(1e-3, (now - this.startMs) / 1000);
    const frac = bytesTotal > 0 ? Math.min(1, bytesDone / bytesTotal) : 0;
    const rate = bytesDone / secs;
    const eta = rate > 0 ? (bytesTotal - bytesDone) / rate : Infinity;
    const width = 20;
    const fill = Math.round(frac * width);
    const bar = `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}]`;
    const text = `${this.label} ${bar} ${(frac * 100).toFixed(0).padStart(3)}% ${formatBytes(bytesDone)}/${formatBytes(bytesTotal)} ${formatCount(events)} events ${formatBytes(rate)}/s ETA ${formatSeconds(eta)}`;
    // A pty may report 0 columns: assume a usual width then.
    const cols = this.out.columns && this.out.columns >= 40 ? this.out.columns : 120;
    this.out.write(`\r${text.slice(0, cols - 1)}\x1b[K`);
    this.drawn = true;
  }

  /** Clear the line (the caller prints its own result line). */
  done(): void {
    if (this.drawn) this.out.write('\r\x1b[K');
    this.drawn = false;
  }
}
