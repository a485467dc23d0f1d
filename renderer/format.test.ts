// formatCount is toLocaleString('en-US') without building ICU formatting on every call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { axisTicks, formatCount, formatTime } from './format.ts';

test('formatCount equals toLocaleString(en-US) for integers, negatives, fractions and specials', () => {
  const values = [0, -0, 1, 9, 10, 99, 100, 999, 1000, 1001, 9999, 10000, 65536, 999999, 1000000, 10000312, 100000016, 123456789012, Number.MAX_SAFE_INTEGER, -1, -999, -1000, -1234567, 0.5, 1234.5678, -1234.5, 1e21, 2 ** 60, NaN, Infinity, -Infinity];
  let seed = 7;
  for (let i = 0; i < 2000; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    values.push(seed % 10 ** ((i % 12) + 1), -(seed % 10 ** ((i % 9) + 1)));
  }
  for (const v of values) assert.equal(formatCount(v), v.toLocaleString('en-US'), String(v));
});

test('axis ticks: round steps inside the view, labels with the digits the step needs', () => {
  // whole 1324 s trace in ms, origin at the trace start: 200000 ms steps (not 220750.014167)
  const a = axisTicks(5e9, 5e9 + 1.3245e12, { unit: 'ms', originNs: 5e9, maxTicks: 6 });
  assert.deepEqual(a.labels, ['0', '200000', '400000', '600000', '800000', '1000000', '1200000']);
  assert.deepEqual(a.ns, [0, 2, 4, 6, 8, 10, 12].map((k) => 5e9 + k * 1e11));
  // a view not starting on a step: first tick is the first multiple inside it
  const b = axisTicks(1_000_000_123, 1_000_000_123 + 300_000, { unit: 'ms', originNs: 0, maxTicks: 6 });
  assert.ok(b.ns.length >= 5 && b.ns.length <= 7, String(b.ns.length));
  assert.equal(b.labels[0], '1000.05');
  for (let i = 0; i < b.ns.length; i++) {
    assert.ok(b.ns[i]! >= 1_000_000_123 && b.ns[i]! <= 1_000_300_123);
    assert.equal(b.ns[i]! % 50_000, 0);
    // the label is formatTime of the tick, cut to the step's digits
    assert.ok(formatTime(b.ns[i]!, { unit: 'ms', originNs: 0 }).startsWith(b.labels[i]!), `${b.labels[i]} vs ${formatTime(b.ns[i]!, { unit: 'ms', originNs: 0 })}`);
  }
  // ns zoom: 1 ns steps at most, never fractional ns
  const c = axisTicks(100, 103, { unit: 'ns', originNs: 0, maxTicks: 6 });
  assert.deepEqual(c.labels, ['100', '101', '102', '103']);
  // seconds with a 2 ms step: 3 digits; views before the origin give negative labels
  const d = axisTicks(-5e6, 7e6, { unit: 's', originNs: 0, maxTicks: 6 });
  assert.deepEqual(d.labels, ['-0.004', '-0.002', '0.000', '0.002', '0.004', '0.006']);
  // degenerate views give no ticks (and never loop)
  assert.deepEqual(axisTicks(5, 5, { unit: 'ms', originNs: 0, maxTicks: 6 }).ns, []);
  assert.deepEqual(axisTicks(0, NaN, { unit: 'ms', originNs: 0, maxTicks: 6 }).ns, []);
  // any view: between 1 and 2 maxTicks + 1 ticks, distinct labels
  let seed = 3;
  for (let i = 0; i < 500; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const t0 = (seed % 1e6) * 1e6;
    const span = 10 + (seed % 997) * 10 ** (i % 10);
    const r = axisTicks(t0, t0 + span, { unit: (['s', 'ms', 'us', 'ns'] as const)[i % 4]!, originNs: 12345, maxTicks: 6 });
    assert.ok(r.ns.length >= 1 && r.ns.length <= 13, `${t0} ${span}: ${r.ns.length}`);
    assert.equal(new Set(r.labels).size, r.labels.length, `distinct labels ${r.labels.join(' ')} for step at span ${span} unit ${i % 4}`);
  }
});
