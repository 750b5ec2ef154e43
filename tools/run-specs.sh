#!/bin/sh
# Runs the busted suite with the given Lua (never Debian's default lua5.1),
# prints busted's own summary, then a last line "N passed, N failed".
# A mail stack (spec/support/mailstack.sh) that the integration specs start
# during the run is stopped at its end; one that was already up is left.
# Usage: tools/run-specs.sh LUA BUSTED [WRAPPER...]
set -u
lua=$1 busted=$2
shift 2
out=$(mktemp)
ms_was_up=0
bash spec/support/mailstack.sh status >/dev/null 2>&1 && ms_was_up=1
cleanup() {
  rm -f "$out" "$out.rc"
  if [ "$ms_was_up" = 0 ] && bash spec/support/mailstack.sh status >/dev/null 2>&1; then
    bash spec/support/mailstack.sh down >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
{ "$@" "$lua" "$busted" --output=plainTerminal spec 2>&1; echo "$?" >"$out.rc"; } | tee "$out"
rc=$(cat "$out.rc")
summary=$(grep -E '[0-9]+ success' "$out" | tail -n 1)
ok=$(echo "$summary" | sed -n 's/^[^0-9]*\([0-9][0-9]*\) success.*/\1/p')
fail=$(echo "$summary" | sed -n 's/.* \([0-9][0-9]*\) failure.*/\1/p')
err=$(echo "$summary" | sed -n 's/.* \([0-9][0-9]*\) error.*/\1/p')
if [ -z "$ok" ]; then
  echo "0 passed, 1 failed"
  exit 1
fi
failed=$(( ${fail:-0} + ${err:-0} ))
echo "$ok passed, $failed failed"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ] && [ "$ok" -gt 0 ]
