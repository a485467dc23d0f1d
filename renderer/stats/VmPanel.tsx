// Per-VM facts from the two-layer model: clock alignment, migrations per layer, and the
// co-scheduling distribution (share of time with k vCPUs on cores) as bars. Collapsible.

import type { SessionInfo } from '../../shared/contract.ts';
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
        </div>
      ))}
      {session.notes.map((n, i) => (
        <div className="muted" key={i}>
          {n}
        </div>
      ))}
      <div className="placeholder">Not in this build yet: vCPU × core residency heat map, steal histogram per thread (see `vcpuscope stats --json` for the numbers).</div>
    </details>
  );
}
