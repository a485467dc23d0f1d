// `vcpuscope serve`: when the command-line files start loading (shared/startup-load.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startupLoadMode } from './serve.ts';

test('startup load: on with more than 2 cores, off with 2; VCPUSCOPE_STARTUP_LOAD forces 1 / 0 / page', () => {
  assert.equal(startupLoadMode({}), true);
  assert.equal(startupLoadMode({ VCPUSCOPE_STARTUP_LOAD: '1' }), true);
  assert.equal(startupLoadMode({ VCPUSCOPE_STARTUP_LOAD: '0' }), false);
  assert.equal(startupLoadMode({ VCPUSCOPE_STARTUP_LOAD: 'page' }), 'page');
});
