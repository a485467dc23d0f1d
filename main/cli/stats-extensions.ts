// Extension point for `vcpuscope stats --json`: the two-layer model adds `vms` here, so that the
// stats command and the model can evolve separately. Default: nothing added.

import type { IndexedTrace } from '../engine/index/indexed-trace.ts';
import type { ParsedArgs } from './args.ts';

export async function extendStats(_traces: readonly IndexedTrace[], _args: ParsedArgs, _out: Record<string, unknown>): Promise<void> {}
