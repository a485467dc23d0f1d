// formatCount is toLocaleString('en-US') without building ICU formatting on every call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCount } from './format.ts';

test('formatCount equals toLocaleString(en-US) for integers, negatives, fractions and specials', () => {
  const values = [0, -0, 1, 9, 10, 99, 100, 999, 1000, 1001, 9999, 10000, 65536, 999999, 1000000, 10000312, 100000016, 123456789012, Number.MAX_SAFE_INTEGER, -1, -999, -1000, -1234567, 0.5, 1234.5678, -1234.5, 1e21, 2 ** 60, NaN, Infinity, -Infinity];
  let seed = 7;
  for (let i = 0; i < 2000; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    values.push(seed % 10 ** ((i % 12) + 1), -(seed % 10 ** ((i % 9) + 1)));
  }
  for (const v of values) assert.equal(formatCount(v), v.toLocaleString('en-US'), String(v));
});
