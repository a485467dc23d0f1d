// Per-VM facts from the two-layer model: clock alignment, migrations per layer, the co-scheduling
// distribution (share of time with k vCPUs on cores), a vCPU x core residency heat map and the
// steal per guest thread. Collapsible.

import type { SessionInfo, VmInfo } from '../../shared/contract.ts';
import { formatDuration } from '../format.ts';

export function VmPanel({ session }: { session: SessionInfo }) {
  if (!session.vms.length && !session.notes.length) return null;
  const span = Math.max(1, session.endNs - session.startNs);
  return (
    <details className="vm-panel" data-testid="vm-panel">
      <summary>
        {session.vms.length ? `Two-layer model: ${session.vms.map((v) => v.name).join(', ')}` : 'Two-layer model: not built'}
      </summary>
      {session.vms.map((vm) => (
        <div className="vm" key={vm.name}>
          <strong>{vm.name}</strong> · {vm.vcpus.length} vCPUs · guest trace {vm.guestFile !== null ? session.files[vm.guestFile]?.name : 'none'}
          {vm.offsetNs !== null && <> · clock offset {formatDuration(vm.offsetNs)}</>}
          {vm.alignmentQuality !== null && <> · alignment {(vm.alignmentQuality * 100).toFixed(1)}% of guest events inside their vCPU's host runs</>}
          <div>
            migrations: guest {vm.migrations.guest} · host {vm.migrations.host} · physical {vm.migrations.physical} (
            {((vm.migrations.physical / span) * 1e9).toFixed(1)}/s physical)
          </div>
          <div className="cosched" title="share of the VM's time with k of its vCPUs on cores">
            {vm.coScheduling.map((f, k) => (
              <div className="bar" key={k}>
                <span className="bar-label">{k} on cores</span>
                <span className="bar-fill" style={{ width: `${(f * 100).toFixed(1)}%` }} />
                <span className="bar-value">{(f * 100).toFixed(1)}%</span>
              </div>
            ))}
          </div>
          <MigrationRate vm={vm} />
          <Residency vm={vm} />
          {vm.steal.length > 0 && (
            <div className="steal" data-testid="steal-histogram">
              <div className="muted">steal per guest thread (current on a vCPU that was on no core)</div>
              {vm.steal.map((t) => (
                <div className="bar" key={t.tid}>
                  <span className="bar-label wide">
                    {t.comm}:{t.tid}
                  </span>
                  <span className="bar-fill steal-fill" style={{ width: `${((t.stealNs / vm.steal[0]!.stealNs) * 60).toFixed(1)}%` }} />
                  <span className="bar-value">
                    {formatDuration(t.stealNs)} ({((100 * t.stealNs) / Math.max(1, t.runNs + t.stealNs)).toFixed(0)}% of its current time)
                  </span>
                </div>
              ))}
            </div>
          )}
        </div>
      ))}
      {session.notes.map((n, i) => (
        <div className="muted" key={i}>
          {n}
        </div>
      ))}
    </details>
  );
}

/** vCPU x core residency heat map: cell shade = share of that vCPU's on-core time on the core. */
function Residency({ vm }: { vm: VmInfo }) {
  const cores = vm.residencyNs[0]?.length ?? 0;
  if (!cores) return null;
  return (
    <table className="heat" data-testid="residency">
      <thead>
        <tr>
          <th />
          {Array.from({ length: cores }, (_, c) => (
            <th key={c}>core {c}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {vm.residencyNs.map((row, i) => {
          const total = row.reduce((a, b) => a + b, 0) || 1;
          return (
            <tr key={i}>
              <th>vCPU {vm.vcpus[i]?.vcpu ?? i}</th>
              {row.map((ns, c) => (
                <td key={c} title={`${formatDuration(ns)} on core ${c}`}>
                  <span className="heat-cell" style={{ opacity: 0.1 + 0.9 * (ns / total) }} />
                  {((100 * ns) / total).toFixed(0)}%
                </td>
              ))}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** Migrations per second over time, per layer, as two rows of bars. */
function MigrationRate({ vm }: { vm: VmInfo }) {
  const b = vm.migrationBins;
  const perS = (c: number): number => c / (b.binNs / 1e9);
  const max = Math.max(1, ...b.guest.map(perS), ...b.host.map(perS));
  return (
    <div className="rate" data-testid="migration-rate">
      <div className="muted">migrations per second over the trace (max {max.toFixed(0)}/s)</div>
      {(['guest', 'host'] as const).map((layer) => (
        <div className="rate-row" key={layer}>
          <span className="bar-label">{layer === 'guest' ? 'guest (vCPU)' : 'host (core)'}</span>
          <span className="rate-bars">
            {b[layer].map((c, i) => (
              <span key={i} className={`rate-bar ${layer}`} style={{ height: `${((perS(c) / max) * 100).toFixed(0)}%` }} title={`${perS(c).toFixed(1)}/s`} />
            ))}
          </span>
        </div>
      ))}
    </div>
  );
}
