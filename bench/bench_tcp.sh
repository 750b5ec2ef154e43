#!/bin/sh
# bench_tcp.sh: loopback TCP throughput of lmail.transport.tcp against
# LuaSocket 3 (lua-socket) through Lua 5.4, both talking to a C peer built
# here (bench/tcp_peer.c) so the far end is never the bottleneck. Sends go in
# 1 MiB calls, receives ask for 64 KiB at a time. Medians of REPS runs.
set -eu
cd "$(dirname "$0")/.."
BUILD=${LMAIL_BUILD:-build}
LUA=${LUA:-lua5.4}
MIB=${TCP_BENCH_MIB:-256}
REPS=${TCP_BENCH_REPS:-7}
CC=${CC:-cc}
mkdir -p "$BUILD/bench"
peer="$BUILD/bench/tcp_peer"
$CC -std=c99 -O2 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -o "$peer" bench/tcp_peer.c

out=$(mktemp)
portf=$(mktemp)
# the peer runs under timeout and is stopped by its PID
timeout 600 "$peer" >"$portf" &
pid=$!
trap 'kill "$pid" 2>/dev/null; rm -f "$out" "$portf"' EXIT
i=0
while [ ! -s "$portf" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
"$LUA" bench/tcp_bench.lua "$(cat "$portf")" "$MIB" "$REPS" >"$out"

awk -v mib="$MIB" -v reps="$REPS" '
  { v[$1] = $2 }
  function line(name, a, b, target,   r, verdict) {
    r = v[a] / v[b]
    verdict = "NOT MET"
    if (r >= target) verdict = "MET"
    printf "%-26s lmail %6d MB/s   LuaSocket %6d MB/s   ratio %5.2f (target >= %s)  %s\n", name, v[a], v[b], r, target, verdict
  }
  END {
    printf "tcp loopback: %d MiB per run, median of %d runs\n", mib, reps
    line("send 1 MiB calls", "lmail-send", "luasocket-send", 0.95)
    line("receive 64 KiB calls", "lmail-recv", "luasocket-recv", 0.95)
  }' "$out"
