#!/usr/bin/env bash
# The whole test suite: system deps, build, lint (incl. the layer rule), typecheck, unit and
# integration tests (Node's test runner), browser end-to-end tests (Playwright + Debian Chromium).
# Ends with one summary line "N passed, N failed, N skipped" counting tests (a failed non-test
# step such as lint or typecheck counts as one failure).
set -u
cd "$(dirname "$0")/.."
export ELECTRON_SKIP_BINARY_DOWNLOAD=1
logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT
pass=0; fail=0; skip=0; failed_steps=()
step() { # name, command...
  local name=$1; shift
  echo "=== $name" >&2
  if "$@"; then echo "=== $name: ok" >&2; return 0; fi
  echo "=== $name: FAILED" >&2; failed_steps+=("$name"); return 1
}
check() { step "$@" || fail=$((fail + 1)); }

check "system packages" bash scripts/setup-test-deps.sh
check "build" node scripts/build.mjs
check "lint" npm run --silent lint
check "typecheck" npm run --silent typecheck

# Node's test runner: count from its closing "ℹ pass N" / "ℹ fail N" / "ℹ skipped N" lines.
step "unit and integration tests" bash -c 'node scripts/run-unit-tests.mjs 2>&1 | tee "$0"; exit ${PIPESTATUS[0]}' "$logdir/unit.log"
unit_rc=$?
u_pass=$(grep -aE '^ℹ pass [0-9]+' "$logdir/unit.log" | tail -1 | grep -oE '[0-9]+' || true)
u_fail=$(grep -aE '^ℹ fail [0-9]+' "$logdir/unit.log" | tail -1 | grep -oE '[0-9]+' || true)
u_skip=$(grep -aE '^ℹ skipped [0-9]+' "$logdir/unit.log" | tail -1 | grep -oE '[0-9]+' || true)
pass=$((pass + ${u_pass:-0})); fail=$((fail + ${u_fail:-0})); skip=$((skip + ${u_skip:-0}))
if [ "$unit_rc" -ne 0 ] && [ "${u_fail:-0}" -eq 0 ]; then fail=$((fail + 1)); fi

if [ -f test/e2e/playwright.config.ts ]; then
  step "browser tests" bash -c 'npx playwright test -c test/e2e/playwright.config.ts 2>&1 | tee "$0"; exit ${PIPESTATUS[0]}' "$logdir/e2e.log"
  e2e_rc=$?
  e_pass=$(grep -aE '^\s+[0-9]+ passed' "$logdir/e2e.log" | tail -1 | grep -oE '[0-9]+' | head -1 || true)
  e_fail=$(grep -aE '^\s+[0-9]+ failed' "$logdir/e2e.log" | tail -1 | grep -oE '[0-9]+' | head -1 || true)
  e_skip=$(grep -aE '^\s+[0-9]+ skipped' "$logdir/e2e.log" | tail -1 | grep -oE '[0-9]+' | head -1 || true)
  pass=$((pass + ${e_pass:-0})); fail=$((fail + ${e_fail:-0})); skip=$((skip + ${e_skip:-0}))
  if [ "$e2e_rc" -ne 0 ] && [ "${e_fail:-0}" -eq 0 ]; then fail=$((fail + 1)); fi
fi

[ ${#failed_steps[@]} -gt 0 ] && echo "failed steps: ${failed_steps[*]}" >&2
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ ${#failed_steps[@]} -eq 0 ]
