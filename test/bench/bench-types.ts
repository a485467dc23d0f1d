// The contract of a benchmark module (test/bench/*.bench.ts), run in sequence by scripts/bench.ts
// (`npm run bench`). Benchmarks print numbers; they never pass or fail on timing.

export interface BenchContext {
  /** A fresh temp folder for this module; removed after it returns. */
  tmpDir: string;
  /** Print one line of results (prefixed with the module's name). */
  log: (line: string) => void;
}

/** The default export of every *.bench.ts module. */
export type BenchFn = (ctx: BenchContext) => Promise<void>;
