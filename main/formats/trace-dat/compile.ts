// Compiles the event formats of a trace into what the page reader needs per event id: the kind,
// and the offset/size/signedness of each field that a kind's columns come from (never hard-coded
// offsets: a field missing from the format demotes the event to kind `other`).

import { EventKind } from '../../../shared/schema.ts';
import { FieldKind, fieldByName, parseStateMap, type EventFormat, type StateMap } from './event-format.ts';

/** Field roles per kind, in the order the reader reads them. */
const ROLES: Record<string, { kind: EventKind; roles: string[]; optional?: string[] }> = {
  'sched/sched_switch': { kind: EventKind.switch, roles: ['prev_comm', 'prev_pid', 'prev_prio', 'prev_state', 'next_comm', 'next_pid', 'next_prio'] },
  'sched/sched_wakeup': { kind: EventKind.wakeup, roles: ['comm', 'pid', 'prio', 'target_cpu'] },
  'sched/sched_waking': { kind: EventKind.waking, roles: ['comm', 'pid', 'prio', 'target_cpu'] },
  'sched/sched_wakeup_new': { kind: EventKind.wakeupNew, roles: ['comm', 'pid', 'prio', 'target_cpu'] },
  'sched/sched_migrate_task': { kind: EventKind.migrate, roles: ['comm', 'pid', 'prio', 'orig_cpu', 'dest_cpu'] },
  'sched/sched_process_fork': { kind: EventKind.fork, roles: ['parent_comm', 'parent_pid', 'child_comm', 'child_pid'] },
  'sched/sched_process_exec': { kind: EventKind.exec, roles: ['filename', 'pid', 'old_pid'] },
  'sched/sched_process_exit': { kind: EventKind.exit, roles: ['comm', 'pid', 'prio'] },
  'kvm/kvm_entry': { kind: EventKind.vmEntry, roles: ['vcpu_id'] },
  // vcpu_id was added to kvm_exit in Linux 5.x; older kernels leave arg0 at -1.
  'kvm/kvm_exit': { kind: EventKind.vmExit, roles: ['exit_reason'], optional: ['vcpu_id'] },
};

export interface CompiledEvent {
  id: number;
  name: string;
  kind: EventKind;
  /** (offset, size, flags) per role; flags bit0 = signed, bit1 = string (comm array / data_loc) , bit2 = rel_loc; offset -1 = absent */
  roles: number[];
  /** minimum payload length that covers every role field */
  minBytes: number;
  /** sched_switch only */
  stateMap?: StateMap;
}

export interface CompiledEvents {
  /** id -> index into `events`, -1 when the trace has no format for the id */
  index: Int32Array;
  events: CompiledEvent[];
  /** where common_type and common_pid live (from the formats; the usual 0/2 and 4/4 otherwise) */
  typeOffset: number;
  typeSize: number;
  pidOffset: number;
  pidSize: number;
}

export function compileEvents(formats: readonly EventFormat[]): CompiledEvents {
  let maxId = 0;
  for (const f of formats) if (f.id > maxId) maxId = f.id;
  const index = new Int32Array(maxId + 1).fill(-1);
  const events: CompiledEvent[] = [];
  let typeOffset = 0, typeSize = 2, pidOffset = 4, pidSize = 4;
  const withCommon = formats.find((f) => fieldByName(f, 'common_type') && fieldByName(f, 'common_pid'));
  if (withCommon) {
    const t = fieldByName(withCommon, 'common_type')!;
    const p = fieldByName(withCommon, 'common_pid')!;
    typeOffset = t.offset; typeSize = t.size; pidOffset = p.offset; pidSize = p.size;
  }
  for (const f of formats) {
    const spec = ROLES[`${f.system}/${f.name}`];
    let kind: EventKind = EventKind.other;
    const roles: number[] = [];
    let minBytes = 0;
    if (spec) {
      let ok = true;
      const all = [...spec.roles, ...(spec.optional ?? [])];
      for (let r = 0; r < all.length; r++) {
        const fd = fieldByName(f, all[r]!);
        const required = r < spec.roles.length;
        if (!fd || !(fd.size === 1 || fd.size === 2 || fd.size === 4 || fd.size === 8 || fd.kind !== FieldKind.number)) {
          if (required) ok = false;
          roles.push(-1, 0, 0);
          continue;
        }
        const isStr = fd.kind === FieldKind.chars || fd.kind === FieldKind.dataLoc || fd.kind === FieldKind.relLoc;
        roles.push(fd.offset, fd.size, (fd.signed ? 1 : 0) | (isStr ? 2 : 0) | (fd.kind === FieldKind.relLoc ? 4 : 0) | (fd.kind === FieldKind.dataLoc || fd.kind === FieldKind.relLoc ? 8 : 0));
        minBytes = Math.max(minBytes, fd.offset + fd.size);
      }
      if (ok) kind = spec.kind;
      else roles.length = 0;
    }
    const ce: CompiledEvent = { id: f.id, name: f.name, kind, roles, minBytes: kind === EventKind.other ? 0 : minBytes };
    if (kind === EventKind.switch) ce.stateMap = parseStateMap(f.printFmt);
    index[f.id] = events.length;
    events.push(ce);
  }
  return { index, events, typeOffset, typeSize, pidOffset, pidSize };
}
