// The list of registered formats, binary magics first. Each format lives in its own folder.
// (Kept apart from registry.ts so that adding a format touches one line here and nothing else.)

import type { TraceFormat } from './types.ts';
import { ftraceText } from './ftrace-text/index.ts';
import { traceDat } from './trace-dat/index.ts';
import { xentrace } from './xentrace/index.ts';

export const FORMATS: TraceFormat[] = [
  traceDat, // binary with a magic
  xentrace, // binary without magic: its sniff demands a chain of consistent windows
  ftraceText, // text: keep after the binary formats
];
