// Reader tests on real fixtures and on real files transformed in the test: zlib re-encoding,
// injected host/guest options, unit splitting, describeRecord, and malformed inputs (bad magic,
// unknown version, truncation, corrupt page length, a chunk that fails to inflate, an event id
// without a format, implausible counts) which must give a clear error or a diagnostic.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemorySource, type ByteSource } from '../../engine/io/byte-source.ts';
import { readInline, type InlineReadResult } from '../../engine/index/read-inline.ts';
import { DiagnosticCollector } from '../../engine/index/diagnostics.ts';
import { EventKind } from '../../../shared/schema.ts';
import { TraceFormatError, type ReadPlan } from '../types.ts';
import { traceDat } from './index.ts';
import type { TraceDatShared } from './plan.ts';
import { concat, le, rewriteV7 } from './test-rewrite.ts';
import { evalConstExpr, mapPrevState, parseStateMap } from './event-format.ts';
import { convertV6 } from './test-convert-v6.ts';
import { decompressExact, whenZstdReady, zstdBackend } from './decompress.ts';
import { compileEvents } from './compile.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TD = path.join(HERE, 'testdata');
// Plain Uint8Arrays (Buffer.slice would alias the fixture instead of copying it).
const load = (name: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(TD, name)));
const ZSTD = load('schedmix-kvm-2buf.v7zstd.dat');
const V7 = load('schedmix-kvm-2buf.v7.dat');
const V6 = load('schedmix-kvm-2buf.v6.dat');
const TOTAL = 29766;

function read(bytes: Uint8Array, name = 'mem.dat', unitBytes?: number): InlineReadResult {
  return readInline(traceDat, new MemorySource(name, bytes), unitBytes ? { unitBytes } : {});
}

function plan(bytes: Uint8Array): { src: ByteSource; plan: ReadPlan<TraceDatShared>; diag: DiagnosticCollector } {
  const src = new MemorySource('mem.dat', bytes);
  const diag = new DiagnosticCollector('mem.dat');
  return { src, plan: traceDat.plan(src, diag, {}), diag };
}

/** Rows as comparable strings, with names instead of ids (id numbering may differ between reads). */
function rows(r: InlineReadResult): string[] {
  const c = r.columns;
  const out: string[] = [];
  for (let i = 0; i < c.length; i++) {
    out.push([c.ts[i], c.cpu[i], c.kind[i], c.events[c.event[i]!], c.pid[i], c.tid[i], c.comms[c.comm[i]!], c.prevTid[i], c.comms[c.prevComm[i]!], c.prevState[i], c.arg0[i], c.arg1[i], c.inputs[c.input[i]!] ?? ''].join(' '));
  }
  return out;
}

test('sniff claims trace.dat files and nothing else', () => {
  assert.equal(traceDat.sniff(ZSTD.subarray(0, 64), { path: 'x', sizeBytes: ZSTD.length }), true);
  assert.equal(traceDat.sniff(V6.subarray(0, 64), { path: 'x', sizeBytes: V6.length }), true);
  assert.equal(traceDat.sniff(new TextEncoder().encode('# tracer: nop\n'), { path: 'x', sizeBytes: 14 }), false);
  assert.equal(traceDat.sniff(new Uint8Array(3), { path: 'x', sizeBytes: 3 }), false);
});

test('v7 zstd, v7 uncompressed and v6 of one recording give identical rows; info says what each is', () => {
  const a = read(ZSTD);
  const b = read(V7);
  const c = read(V6);
  assert.equal(a.columns.length, TOTAL);
  assert.deepEqual(rows(a), rows(b));
  assert.deepEqual(rows(a), rows(c));
  assert.equal(a.info.format, 'trace.dat v7');
  assert.equal(a.info.compression, 'zstd 1.5.4');
  assert.equal(b.info.compression, 'none');
  assert.equal(c.info.format, 'trace.dat v6');
  assert.equal(a.info.clock, 'mono');
  const extra = a.info.extra as Record<string, unknown>;
  assert.equal(extra.traceId, '0x9730B1679C5C4D17');
  assert.equal(extra.cpuCount, 2);
  assert.deepEqual((extra.buffers as { name: string }[]).map((x) => x.name), ['', 'aux']);
  assert.deepEqual(a.columns.inputs, ['top', 'aux']);
  // JSON-safe (stats --json prints it).
  assert.doesNotThrow(() => JSON.stringify(a.info));
  // Offsets: uncompressed records point into the file, compressed ones into the virtual space past it.
  for (let i = 0; i < b.columns.length; i += 997) assert.ok(b.columns.offset[i]! < V7.length);
  for (let i = 0; i < a.columns.length; i += 997) assert.ok(a.columns.offset[i]! >= ZSTD.length);
});

test('splitting CPUs into many small units changes nothing', () => {
  const whole = rows(read(V7));
  const split = read(V7, 'mem.dat', 64 * 1024);
  assert.deepEqual(rows(split), whole);
  const p = plan(V7);
  const small = traceDat.plan(p.src, p.diag, { unitBytes: 64 * 1024 });
  assert.ok(small.units.length > p.plan.units.length, `${small.units.length} units`);
  const zsplit = read(ZSTD, 'mem.dat', 64 * 1024);
  assert.deepEqual(rows(zsplit), whole);
});

test('zlib-compressed v7 (sections and CPU chunks re-encoded from the real zstd file) reads the same', () => {
  const z = rewriteV7(ZSTD, { codec: 'zlib' });
  const r = read(z);
  assert.equal(r.diagnostics.errors, 0, JSON.stringify(r.diagnostics.kept.slice(0, 3)));
  assert.equal(r.info.compression, 'zlib 1.5.4');
  assert.deepEqual(rows(r), rows(read(ZSTD)));
});

test('describeRecord shows a record as `name: field=value ...` equal to trace-cmd report -R', { skip: spawnSync('trace-cmd', ['--version'], { stdio: 'ignore' }).error ? 'trace-cmd is not installed' : false }, () => {
  const file = path.join(TD, 'schedmix-kvm-2buf.v7.dat');
  const report = execFileSync('trace-cmd', ['report', '-R', '-t', '-i', file], { maxBuffer: 1 << 28, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const want = new Map<string, string>();
  for (const line of report.split('\n')) {
    if (line.startsWith('aux: ')) continue;
    const m = /\[(\d+)\]\s+(\d+)\.(\d{9}): (\w+):\s+(.*)$/.exec(line);
    if (m && ['sched_switch', 'sched_process_exec', 'sched_process_fork', 'irq_handler_entry', 'kvm_userspace_exit'].includes(m[4]!)) {
      want.set(`${Number(m[1])}|${BigInt(m[2]!) * 1_000_000_000n + BigInt(m[3]!)}|${m[4]}`, `${m[4]}: ${m[5]!.trim()}`);
    }
  }
  const { src, plan: p } = plan(V7);
  const r = readInline(traceDat, src);
  const c = r.columns;
  let checked = 0;
  const seen = new Set<string>();
  for (let i = 0; i < c.length; i++) {
    if (c.input[i] !== 0) continue;
    const key = `${c.cpu[i]}|${c.ts[i]}|${c.events[c.event[i]!]}`;
    const expected = want.get(key);
    if (!expected) continue;
    const got = traceDat.describeRecord!(src, p, c.offset[i]!);
    if (c.events[c.event[i]!] === 'kvm_userspace_exit') {
      // report prints the reason through the print fmt's symbolic table; compare the number
      assert.match(got, /^kvm_userspace_exit: reason=\d+ errno=-?\d+$/);
    } else assert.equal(got, expected);
    seen.add(c.events[c.event[i]!]!);
    checked++;
  }
  assert.ok(checked > 1000, `checked ${checked}`);
  assert.equal(seen.size, 5, [...seen].join());
  // Compressed: the virtual offset leads back to the same record.
  const zs = new MemorySource('z.dat', ZSTD);
  const zp = traceDat.plan(zs, new DiagnosticCollector('z'), {});
  const zr = readInline(traceDat, zs);
  let zchecked = 0;
  for (let i = 0; i < zr.columns.length; i += 101) {
    const key = `${zr.columns.cpu[i]}|${zr.columns.ts[i]}|${zr.columns.events[zr.columns.event[i]!]}`;
    const expected = want.get(key);
    if (!expected || zr.columns.input[i] !== 0 || key.endsWith('kvm_userspace_exit')) continue;
    assert.equal(traceDat.describeRecord!(zs, zp, zr.columns.offset[i]!), expected);
    zchecked++;
  }
  assert.ok(zchecked > 50, `compressed checked ${zchecked}`);
  assert.match(traceDat.describeRecord!(src, p, 5), /no trace\.dat record/);
});

test('big-endian and 4-byte-commit (32-bit kernel) layouts of the real v6 file read the same rows', () => {
  const want = rows(read(V6));
  for (const opts of [{ bigEndian: true, commit4: false }, { bigEndian: false, commit4: true }, { bigEndian: true, commit4: true }]) {
    const conv = convertV6(V6, opts);
    const r = read(conv);
    assert.equal(r.diagnostics.errors, 0, `${JSON.stringify(opts)}: ${JSON.stringify(r.diagnostics.kept.slice(0, 3))}`);
    const extra = r.info.extra as Record<string, unknown>;
    assert.equal(extra.endian, opts.bigEndian ? 'big' : 'little');
    assert.equal((extra.pageHeader as { commitSize: number }).commitSize, opts.commit4 ? 4 : 8);
    assert.deepEqual(rows(r), want, JSON.stringify(opts));
    // The conversion itself is checked by trace-cmd: it prints the same report for both files.
    if (!spawnSync('trace-cmd', ['--version'], { stdio: 'ignore' }).error) {
      const tmp = path.join(os.tmpdir(), `vcpuscope-tdat-${process.pid}-${opts.bigEndian}-${opts.commit4}.dat`);
      fs.writeFileSync(tmp, conv);
      try {
        const report = (f: string): string => execFileSync('trace-cmd', ['report', '-R', '-t', '-i', f], { maxBuffer: 1 << 28, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
        assert.ok(report(tmp) === report(path.join(TD, 'schedmix-kvm-2buf.v6.dat')), `trace-cmd reads the ${JSON.stringify(opts)} conversion differently`);
      } finally {
        fs.rmSync(tmp, { force: true });
      }
    }
    // describeRecord decodes the converted record to the same text.
    const { src, plan: p } = plan(conv);
    const le0 = plan(V6);
    const rl = read(V6);
    for (let i = 0; i < r.columns.length; i += 4999) {
      assert.equal(traceDat.describeRecord!(src, p, r.columns.offset[i]!), traceDat.describeRecord!(le0.src, le0.plan, rl.columns.offset[i]!));
    }
  }
});

test('both zstd decoders (WASM and the pure-JS fallback) give the same bytes for every real chunk', async () => {
  await whenZstdReady();
  assert.equal(zstdBackend(), 'libzstd (WASM, from zstddec)');
  const { plan: p } = plan(ZSTD);
  const t = p.shared.header.chunks;
  assert.ok(t.fileOffset.length > 40);
  for (let i = 0; i < t.fileOffset.length; i++) {
    const data = ZSTD.subarray(t.fileOffset[i]! + 8, t.fileOffset[i]! + 8 + t.compBytes[i]!);
    const a = decompressExact('zstd', data, t.uncompBytes[i]!);
    const b = decompressExact('zstd', data, t.uncompBytes[i]!, { zstd: 'js' });
    assert.ok(Buffer.from(a).equals(Buffer.from(b)), `chunk ${i}`);
  }
  assert.throws(() => decompressExact('zstd', new Uint8Array([1, 2, 3, 4, 5]), 4096), /zstd/);
  assert.throws(() => decompressExact('zstd', new Uint8Array([1, 2, 3, 4, 5]), 4096, { zstd: 'js' }), /zstd/);
  assert.throws(() => decompressExact('zlib', new Uint8Array([1, 2, 3]), 10), /zlib/);
  assert.throws(() => decompressExact('zstd', new Uint8Array(8), 2 ** 40), /out of range/);
});

test('kvm_entry / kvm_exit compile from the real 6.18 format files (vcpu_id, exit_reason)', () => {
  const { plan: p } = plan(V7);
  const c = compileEvents(p.shared.header.formats);
  const entry = c.events.find((e) => e.name === 'kvm_entry')!;
  const exit = c.events.find((e) => e.name === 'kvm_exit')!;
  assert.equal(entry.kind, EventKind.vmEntry);
  assert.deepEqual(entry.roles.slice(0, 2), [8, 4]); // vcpu_id
  assert.equal(exit.kind, EventKind.vmExit);
  assert.deepEqual(exit.roles, [8, 4, 0, 56, 4, 0]); // exit_reason, vcpu_id
  assert.equal(c.events.find((e) => e.name === 'kvm_userspace_exit')!.kind, EventKind.other);
});

// ---- host/guest options injected into the real file -----------------------------------------

function timeShiftPayload(cpus: { times: bigint[]; offsets: bigint[] }[], flags: number): Uint8Array {
  const parts: Uint8Array[] = [le.u64(0x1122334455667788n), le.u32(flags), le.u32(cpus.length)];
  for (const c of cpus) {
    parts.push(le.u32(c.times.length));
    for (const t of c.times) parts.push(le.u64(t));
    for (const o of c.offsets) parts.push(le.u64(BigInt.asUintN(64, o)));
    for (let k = 0; k < c.times.length; k++) parts.push(le.u64(1n));
  }
  for (const c of cpus) for (let k = 0; k < c.times.length; k++) parts.push(le.u64(0n));
  return concat(...parts);
}

/** trace-cmd's timestamp_correction_calc in exact integer arithmetic (independent of time.ts). */
function expectedShift(ts: bigint, times: bigint[], offsets: bigint[]): bigint {
  let i = 0;
  if (ts <= times[0]!) i = 0;
  else if (ts >= times[times.length - 1]!) i = times.length - 2;
  else while (!(times[i]! <= ts && ts < times[i + 1]!)) i++;
  const delta = times[i + 1]! - times[i]!;
  const off = (ts - times[i]!) * (offsets[i + 1]! - offsets[i]!);
  const q = off + delta / 2n; // BigInt division truncates toward zero, as C does
  return ts + offsets[i]! + q / delta;
}

test('TIME_SHIFT (guest -> host samples) is applied per CPU with trace-cmd\'s interpolation; GUEST and TSC2NSEC are exposed', () => {
  const base = read(V7);
  const t0 = BigInt(base.columns.ts[0]!);
  const t1 = BigInt(base.columns.ts[base.columns.length - 1]!);
  const mid = (t0 + t1) / 2n;
  const cpu0 = { times: [t0 + 1000n, mid, t1 - 1000n], offsets: [-5_000_000_000n, -4_999_000_000n, -4_990_000_007n] };
  const cpu1 = { times: [t0, t1], offsets: [123_456n, 7_000_123_456n] };
  const guest = concat(new TextEncoder().encode('vm1\0'), le.u64(0xABCDEFn), le.u32(2), le.u32(0), le.u32(4001), le.u32(1), le.u32(4002));
  const f = rewriteV7(V7, { extraOptions: [[12, timeShiftPayload([cpu0, cpu1], 1)], [13, guest]] });
  const r = read(f);
  assert.equal(r.diagnostics.errors, 0);
  const extra = r.info.extra as Record<string, unknown>;
  assert.deepEqual(extra.guests, [{ name: 'vm1', traceId: '0x0000000000ABCDEF', vcpus: [{ vcpu: 0, hostPid: 4001 }, { vcpu: 1, hostPid: 4002 }] }]);
  const ts = extra.timeShift as { applied: boolean; interpolate: boolean; peerTraceId: string; cpus: unknown[] };
  assert.equal(ts.applied, true);
  assert.equal(ts.interpolate, true);
  assert.equal(ts.peerTraceId, '0x1122334455667788');
  assert.equal(r.info.layerHint, 'host'); // a GUEST option: this file is the host side
  // Every row moved exactly as trace-cmd computes it (rows are sorted by the new time: compare as multisets).
  const want: string[] = [];
  const b = base.columns;
  for (let i = 0; i < b.length; i++) {
    const s = b.cpu[i] === 0 ? cpu0 : cpu1;
    want.push(`${expectedShift(BigInt(b.ts[i]!), s.times, s.offsets)} ${b.cpu[i]} ${b.offset[i]}`);
  }
  const got: string[] = [];
  for (let i = 0; i < r.columns.length; i++) got.push(`${r.columns.ts[i]} ${r.columns.cpu[i]} ${r.columns.offset[i]}`);
  assert.deepEqual(got.sort(), want.sort());
  // TSC2NSEC: ts * mult >> shift.
  const tsc = rewriteV7(V7, { extraOptions: [[14, concat(le.u32(3), le.u32(1), le.u64(42n))]] });
  const rt = read(tsc);
  assert.deepEqual((rt.info.extra as Record<string, unknown>).tsc2nsec, { mult: 3, shift: 1, offset: '42', applied: true });
  for (let i = 0; i < b.length; i += 37) assert.equal(BigInt(rt.columns.ts[i]!), (BigInt(b.ts[i]!) * 3n) >> 1n);
});

// ---- malformed input ----------------------------------------------------------------------------

function expectFormatError(bytes: Uint8Array, re: RegExp): TraceFormatError {
  try {
    read(bytes);
  } catch (e) {
    assert.ok(e instanceof TraceFormatError, `not a TraceFormatError: ${String(e)}`);
    assert.match(e.message, re);
    assert.ok(Number.isFinite(e.offsetBytes));
    return e;
  }
  assert.fail(`no error; expected ${re}`);
}

test('bad magic, unknown version, bad header fields are clear errors', () => {
  const bad = V7.slice(0, 4096);
  bad[0] = 0x18;
  expectFormatError(bad, /bad magic/);
  const v8 = V7.slice();
  v8[10] = 0x38; // "8"
  assert.equal(expectFormatError(v8, /unsupported trace\.dat version "8"/).offsetBytes, 10);
  const endian = V7.slice();
  endian[12] = 7;
  expectFormatError(endian, /endianness/);
  const longSize = V7.slice();
  longSize[13] = 3;
  expectFormatError(longSize, /long size 3/);
  expectFormatError(new Uint8Array([0x17, 0x08, 0x44, 0x74, 0x72, 0x61, 0x63, 0x69, 0x6e, 0x67]), /version/);
});

test('truncated files: header cuts are errors, data cuts keep the valid part with a diagnostic', () => {
  for (const file of [V6, V7, ZSTD]) {
    for (const cut of [12, 20, 40, 100, 1000, 3000]) {
      assert.throws(() => read(file.subarray(0, cut)), TraceFormatError, `cut at ${cut}`);
    }
  }
  // v6: cut inside the CPU data.
  const p6 = plan(V6).plan.shared.header.buffers[0]!.cpus[0]!;
  const cut6 = read(V6.subarray(0, p6.offsetBytes + 20000));
  assert.ok(cut6.columns.length > 0 && cut6.columns.length < TOTAL, `${cut6.columns.length}`);
  assert.ok(cut6.diagnostics.kept.some((d) => /truncated/.test(d.message)), JSON.stringify(cut6.diagnostics.kept.slice(0, 3)));
});

test('a page with a corrupt commit length is skipped with a diagnostic at its offset; the rest reads', () => {
  const { plan: p } = plan(V7);
  const cpu0 = p.shared.header.buffers[0]!.cpus[0]!;
  const bad = V7.slice();
  const dv = new DataView(bad.buffer, bad.byteOffset);
  const pageAt = cpu0.offsetBytes + 4096; // second page of CPU 0
  dv.setUint32(pageAt + 8, 0x07ffffff, true);
  const r = read(bad);
  const d = r.diagnostics.kept.find((x) => x.offset === pageAt);
  assert.ok(d, JSON.stringify(r.diagnostics.kept.slice(0, 3)));
  assert.match(d.message, /commit size .* exceeds/);
  assert.ok(r.columns.length > TOTAL - 200 && r.columns.length < TOTAL, `${r.columns.length}`);
  // A record length word that points past the page: the rest of that page is dropped, reported.
  const bad2 = V7.slice();
  const dv2 = new DataView(bad2.buffer, bad2.byteOffset);
  const first = cpu0.offsetBytes + 16;
  dv2.setUint32(first, 0, true); // type_len 0: the length is in the next word
  dv2.setUint32(first + 4, 1_000_000, true);
  const r2 = read(bad2);
  assert.ok(r2.diagnostics.kept.some((x) => x.offset === first && /runs past/.test(x.message)), JSON.stringify(r2.diagnostics.kept.slice(0, 3)));
  assert.ok(r2.columns.length < TOTAL && r2.columns.length > TOTAL - 200);
});

test('a compressed chunk that fails to inflate is reported with its offset; the other chunks read', () => {
  const { plan: p } = plan(ZSTD);
  const t = p.shared.header.chunks;
  const bad = ZSTD.slice();
  const victim = 3;
  for (let k = 0; k < 16; k++) bad[t.fileOffset[victim]! + 8 + k] = 0xff;
  const r = read(bad);
  const d = r.diagnostics.kept.find((x) => x.offset === t.fileOffset[victim]);
  assert.ok(d, JSON.stringify(r.diagnostics.kept.slice(0, 3)));
  assert.match(d.message, /failed to decompress/);
  assert.ok(r.columns.length > 20000 && r.columns.length < TOTAL, `${r.columns.length}`);
  // A corrupt compressed metadata section is a clear error naming the section.
  const meta = ZSTD.slice();
  for (let k = 0; k < 8; k++) meta[37 + 24 + k] = 0xee; // headers section at 37, payload after its 24-byte headers
  expectFormatError(meta, /headers section .*failed to decompress/);
});

test('an event id with no format keeps the record as an invalid row and says which id', () => {
  const { plan: p } = plan(V7);
  const cpu0 = p.shared.header.buffers[0]!.cpus[0]!;
  const bad = V7.slice();
  const dv = new DataView(bad.buffer, bad.byteOffset);
  // First record of the first page: find its payload (type_len 1..28 => payload right after the header).
  const hdrAt = cpu0.offsetBytes + 16;
  const word = dv.getUint32(hdrAt, true);
  const payload = (word & 31) === 0 ? hdrAt + 8 : hdrAt + 4;
  dv.setUint16(payload, 9999, true);
  const r = read(bad);
  assert.equal(r.columns.length, TOTAL);
  assert.ok(r.diagnostics.kept.some((x) => /event id 9999 has no format/.test(x.message) && x.offset === hdrAt));
  let invalid = 0;
  for (let i = 0; i < r.columns.length; i++) if (r.columns.kind[i] === EventKind.invalid) invalid++;
  assert.equal(invalid, 1);
});

test('implausible counts and sizes are rejected before any allocation', () => {
  // v6: the ftrace format count is the u32 after header_page/header_event.
  const { plan: p } = plan(V6);
  void p;
  const hdrPageSize = Number(new DataView(V6.buffer, V6.byteOffset).getBigUint64(18 + 12, true));
  const at = 18 + 12 + 8 + hdrPageSize;
  const hdrEventSize = Number(new DataView(V6.buffer, V6.byteOffset).getBigUint64(at + 13, true));
  const countAt = at + 13 + 8 + hdrEventSize;
  const bad = V6.slice();
  new DataView(bad.buffer, bad.byteOffset).setUint32(countAt, 0xffffffff, true);
  expectFormatError(bad, /ftrace format count 4294967295 is implausible/);
  // A format size field that runs past the end of the file.
  const bad2 = V6.slice();
  new DataView(bad2.buffer, bad2.byteOffset).setBigUint64(countAt + 4, 1n << 40n, true);
  expectFormatError(bad2, /truncated|exceeds/);
});

test('prev_state flag tables come from the print fmt of each kernel generation', () => {
  assert.equal(evalConstExpr('((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) - 1)'), 0xff);
  const modern = parseStateMap('"...", (REC->prev_state & ((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) - 1)) ? __print_flags(REC->prev_state & ((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) - 1), "|", { 0x00000001, "S" }, { 0x00000002, "D" }, { 0x00000004, "T" }, { 0x00000008, "t" }, { 0x00000010, "X" }, { 0x00000020, "Z" }, { 0x00000040, "P" }, { 0x00000080, "I" }) : "R", REC->prev_state & (((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) ? "+" : "", REC->next_comm');
  assert.equal(modern.preemptMask, 0x100);
  assert.equal(mapPrevState(modern, 0x100), 2048); // R+
  assert.equal(mapPrevState(modern, 0x80), 128); // I
  assert.equal(mapPrevState(modern, 0x3), 1 | 2); // S|D
  assert.equal(mapPrevState(modern, 0x400) & 4096, 0); // outside TASK_REPORT: masked like the kernel
  const old = parseStateMap('"", REC->prev_state & (4096-1) ? __print_flags(REC->prev_state & (4096-1), "|", { 1, "S"} , { 2, "D" }, { 4, "T" }, { 8, "t" }, { 16, "Z" }, { 32, "X" }, { 64, "x" }, { 128, "K" }, { 256, "W" }, { 512, "P" }, { 1024, "N" }) : "R", REC->prev_state & 4096 ? "+" : "", REC->next_comm');
  assert.equal(mapPrevState(old, 4096), 2048);
  assert.equal(mapPrevState(old, 16), 32); // Z on old kernels
  assert.equal(mapPrevState(old, 64), 16); // x = dead
  assert.equal(mapPrevState(old, 130), 256 | 2); // K|D
  assert.equal(mapPrevState(parseStateMap('no flags here'), 5), 4096); // unknown, not guessed
});
