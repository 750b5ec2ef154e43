#!/bin/sh
# bench_mime.sh: MIME parsing and building through the Lua API, against
# GMime 3 (C, bench/mime_gmime.c), Python's email (compat32) and
# LuaSocket's socket.smtp.message (lua5.1) in the same run.
# - parse + decode: a corpus of MIME_BENCH_MSGS (2000) messages of
#   realistic shape (bench/mime_corpus.lua: alternative text + html, base64
#   attachments of 10 KB to 2 MB, GBK and UTF-8 encoded subjects, folded
#   headers): parse, transfer-decode every leaf, decode the Subject. MB/s.
# - parse only (headers and structure, no decoding). MB/s.
# - build + serialise a message with a 1 MiB attachment. Messages/s.
# Each peer loads its input first and times one pass in process CPU time;
# the peers take turns in every round (noise hits all alike); every figure
# is the median of MIME_BENCH_REPS (5) rounds.
set -eu
cd "$(dirname "$0")/.."
LUA=${LUA:-lua5.4}
MSGS=${MIME_BENCH_MSGS:-2000}
REPS=${MIME_BENCH_REPS:-5}
BUILDS=${MIME_BENCH_BUILDS:-100}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out="$work/results"
"$LUA" bench/mime_corpus.lua "$work" "$MSGS"
cc -O2 -o "$work/mime_gmime" bench/mime_gmime.c $(pkg-config --cflags --libs gmime-3.0)
list="$work/list.txt"

r=1
while [ "$r" -le "$REPS" ]; do
  for mode in parse decode; do
    "$LUA" bench/mime_bench.lua "$mode" "$list" >>"$out"
    "$work/mime_gmime" "$mode" "$list" >>"$out"
    python3 bench/mime_python.py "$mode" "$list" >>"$out"
  done
  "$LUA" bench/mime_bench.lua build "$BUILDS" >>"$out" 2>/dev/null
  "$work/mime_gmime" build "$BUILDS" >>"$out" 2>/dev/null
  lua5.1 bench/mime_luasocket.lua $((BUILDS / 5)) >>"$out" 2>/dev/null
  r=$((r + 1))
done

awk -v msgs="$MSGS" -v reps="$REPS" '
  { v[$1, ++n[$1]] = $2 }
  function median(k,   i, j, t, a, m) {
    m = n[k]
    for (i = 1; i <= m; i++) a[i] = v[k, i]
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return a[int((m + 1) / 2)]
  }
  function line(name, a, b, peer, target, unit,   x, y, r, verdict) {
    if (!n[a] || !n[b]) { printf "%-22s missing measurement (%s or %s)  NOT MET\n", name, a, b; return }
    x = median(a); y = median(b); r = x / y
    verdict = r >= target ? "MET" : "NOT MET"
    printf "%-22s lmail %8.1f %-7s %-28s %8.1f   ratio %6.2f (target >= %s)  %s\n", name, x, unit, peer, y, r, target, verdict
  }
  END {
    printf "mime: %d messages, median of %d rounds, through the Lua API\n", msgs, reps
    line("parse + decode", "lmail-decode", "gmime-decode", "GMime 3", 1, "MB/s")
    line("parse + decode", "lmail-decode", "python-decode", "Python email compat32", 10, "MB/s")
    line("parse only", "lmail-parse", "gmime-parse", "GMime 3", 1, "MB/s")
    line("parse only", "lmail-parse", "python-parse", "Python email compat32", 1, "MB/s")
    line("build 1 MiB message", "lmail-build", "gmime-build", "GMime 3", 1, "msg/s")
    line("build 1 MiB message", "lmail-build", "luasocket-build", "LuaSocket smtp.message", 4, "msg/s")
  }' "$out"
