// The trace-cmd trace.dat reader (versions 6 and 7; zlib/zstd; all buffers; host/guest options).
// See README.md in this folder for what info.extra holds, how offsets and instances are exposed.

import type { TraceFormat } from '../types.ts';
import { MAGIC } from './header.ts';
import { describeTraceDatRecord, planTraceDat, readTraceDatUnit, type TraceDatShared } from './plan.ts';

export const traceDat: TraceFormat<TraceDatShared> = {
  id: 'trace-dat',
  displayName: 'trace-cmd trace.dat (v6, v7)',
  sniff: (head) => head.length >= MAGIC.length && MAGIC.every((b, i) => head[i] === b),
  plan: planTraceDat,
  readUnit: readTraceDatUnit,
  describeRecord: describeTraceDatRecord,
};
