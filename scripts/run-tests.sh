#!/usr/bin/env bash
# Runs the whole bun test suite and ends with one plain summary line ("N passed, N failed").
# Fails too when the run leaves temp entries behind: every test removes what it makes in $TMPDIR.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# The temp folder os.tmpdir() returns, and the name prefixes the tests give their temp entries
# there (mkdtemp "polytls-<what>-", read from test/ itself). Only entries with these names that
# appear during the run count: other programs (a running bench) make polytls-* entries too.
tmp_root=${TMPDIR:-/tmp}
prefixes=$(grep -rhoE "[\"'\`]polytls-[a-z0-9-]*-[\"'\`]" test | tr -d "\"'\`" | sort -u | paste -sd '|')
test_temp_entries() {
  [ -n "$prefixes" ] || return 0
  ls -A "$tmp_root" 2>/dev/null | grep -E "^(${prefixes})" | sort
}
temp_before=$(test_temp_entries)

# Integration tests start real servers and processes: give a slow CI machine room per test.
node_modules/.bin/bun test --timeout 60000 "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
pass=$(grep -Eo '^ *[0-9]+ pass$' "$log" | tail -1 | grep -Eo '[0-9]+')
fail=$(grep -Eo '^ *[0-9]+ fail$' "$log" | tail -1 | grep -Eo '[0-9]+')

leaked=$(comm -13 <(printf '%s\n' "$temp_before") <(test_temp_entries) | grep -v '^$')
if [ -n "$leaked" ]; then
  echo "temp entries left behind by this run ($(wc -l <<<"$leaked")), not removed by their tests:" >&2
  sed "s|^|  ${tmp_root%/}/|" <<<"$leaked" >&2
fi
echo "tests: ${pass:-0} passed, ${fail:-0} failed"
if [ "$status" -eq 0 ] && [ "${pass:-0}" -eq 0 ]; then
  echo "no test ran" >&2
  exit 1
fi
if [ "$status" -eq 0 ] && [ -n "$leaked" ]; then
  exit 1
fi
exit "$status"
