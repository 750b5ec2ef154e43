#!/bin/sh
# bench_tls.sh: 256 MiB of plaintext through tls.wrap(tcp) to an
# `openssl s_server` sink on loopback, against `openssl s_client` sending the
# same amount to the same kind of sink. Each run gets a fresh sink (TLS 1.3,
# the default cipher suite of both ends: AES-256-GCM). Reported: medians of
# REPS runs made in this one run, interleaved; target ratio >= 0.8.
# The s_client figure includes its process start (a few ms, see the printed
# "startup" line), so the comparison leans slightly towards lmail by that.
set -eu
cd "$(dirname "$0")/.."
BUILD=${LMAIL_BUILD:-build}
LUA=${LUA:-lua5.4}
MIB=${TLS_BENCH_MIB:-256}
REPS=${TLS_BENCH_REPS:-5}
export LUA_PATH="${LUA_PATH:-$PWD/lua/?.lua;$PWD/lua/?/init.lua;;}"
export LUA_CPATH="${LUA_CPATH:-$PWD/$BUILD/?.so;;}"

dir=$(mktemp -d /tmp/lmail-bench-tls-XXXXXX)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj /CN=localhost -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
head -c $((MIB * 1048576)) /dev/zero | tr '\0' 'x' >"$dir/data"

now() { date +%s.%N; }

# Starts a sink on a free port; sets $port and $server_pid. The sink's stdin
# is a silent pipe: s_server ends a session when its stdin reaches EOF.
start_sink() {
  for _ in 1 2 3 4 5; do
    port=$(awk 'BEGIN { srand(); print 20000 + int(rand() * 40000) }')
    sh -c "echo \$\$ >'$dir/pid'; exec timeout 300 sh -c 'sleep 300 | openssl s_server \
      -accept 127.0.0.1:$port -cert $dir/cert.pem -key $dir/key.pem -quiet -naccept 1 \
      >/dev/null 2>&1'" &
    sleep 0.1
    server_pid=$(cat "$dir/pid")
    i=0
    while [ $i -lt 50 ]; do
      ss -ltnH "sport = :$port" | grep -q LISTEN && return 0
      sleep 0.05
      i=$((i + 1))
    done
    kill "$server_pid" 2>/dev/null || true
  done
  echo "bench_tls: s_server did not start" >&2
  exit 1
}

stop_sink() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

: >"$dir/results"
r=0
while [ $r -lt "$REPS" ]; do
  start_sink
  t0=$(now)
  openssl s_client -connect "127.0.0.1:$port" -quiet -no_ign_eof -nocommands <"$dir/data" >/dev/null 2>&1
  t1=$(now)
  echo "openssl $(echo "$t0 $t1" | awk -v b=$((MIB * 1048576)) '{ printf "%.1f", b / ($2 - $1) / 1e6 }')" \
    >>"$dir/results"
  stop_sink
  start_sink
  "$LUA" bench/tls_bench.lua "$port" "$MIB" >>"$dir/results"
  stop_sink
  r=$((r + 1))
done
t0=$(now)
openssl version >/dev/null
t1=$(now)
startup=$(echo "$t0 $t1" | awk '{ printf "%.1f", ($2 - $1) * 1000 }')

awk -v mib="$MIB" -v reps="$REPS" -v startup="$startup" '
  function median(arr, n,   i, j, t) {
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
      if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
    return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
  }
  $1 == "lmail" { l[++nl] = $2 }
  $1 == "openssl" { o[++no] = $2 }
  END {
    if (nl != reps || no != reps) { print "tls: missing measurements  NOT MET"; exit 1 }
    a = median(l, nl); b = median(o, no); r = a / b
    printf "tls: %d MiB to an s_server sink on loopback, median of %d runs (openssl start %s ms)\n", mib, reps, startup
    printf "%-34s lmail %6d MB/s   %-28s %6d MB/s   ratio %6.2f (target >= 0.8)  %s\n",
      "tls.wrap(tcp) send", a, "openssl s_client", b, r, (r >= 0.8 ? "MET" : "NOT MET")
  }' "$dir/results"
