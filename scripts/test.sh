#!/usr/bin/env bash
# The whole test suite: system deps, build, lint (incl. the layer rule), typecheck, unit and
# integration tests (Node's test runner), browser end-to-end tests (Playwright + Debian Chromium).
# Ends with one summary line "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
export ELECTRON_SKIP_BINARY_DOWNLOAD=1
pass=0; fail=0
step() { # name, command...
  local name=$1; shift
  echo "=== $name" >&2
  if "$@"; then pass=$((pass + 1)); echo "=== $name: ok" >&2; else fail=$((fail + 1)); echo "=== $name: FAILED" >&2; fi
}
step "system packages" bash scripts/setup-test-deps.sh
step "build" node scripts/build.mjs
step "lint" npm run --silent lint
step "typecheck" npm run --silent typecheck
step "unit and integration tests" node scripts/run-unit-tests.mjs
if [ -f test/e2e/playwright.config.ts ]; then
  step "browser tests" npx playwright test -c test/e2e/playwright.config.ts
fi
echo "test steps: $pass passed, $fail failed" >&2
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
