#!/bin/sh
# bench_smtp.sh: lmail.smtp against Python smtplib, LuaSocket's socket.smtp
# (Lua 5.4, TCP_NODELAY) and curl, all sending to the same fast discarding
# sink (bench/smtp_sink.c, built here; PIPELINING, CHUNKING, 8BITMIME) over
# loopback, one connection per run. Runs are interleaved; medians of REPS.
#   small: 2,000 messages of 2 KB      target: lmail >= 3 x the faster of smtplib, LuaSocket
#   large: 200 messages of 1 MB        target: lmail >= 1.5 x curl (which uses DATA)
#   huge:  a 1 GiB message streamed from a file source, peak RSS < 32 MiB
#   mime:  a 1 GiB file attached to a mime.message{...} and sent by s:send
#          (base64 on the fly through msg:source()), peak RSS < 32 MiB
# lmail uses BDAT when the server offers CHUNKING; "lmail DATA" is the same
# with chunking = false, for the record.
set -eu
cd "$(dirname "$0")/.."
BUILD=${LMAIL_BUILD:-build}
LUA=${LUA:-lua5.4}
REPS=${SMTP_BENCH_REPS:-5}
HUGE_MIB=${SMTP_BENCH_HUGE_MIB:-1024}
CC=${CC:-cc}
mkdir -p "$BUILD/bench"
sink="$BUILD/bench/smtp_sink"
$CC -std=c99 -O2 -D_GNU_SOURCE -Wall -Wextra -o "$sink" bench/smtp_sink.c

tmp=$(mktemp -d /tmp/lmail-bench-smtp-XXXXXX)
timeout 1800 "$sink" >"$tmp/port" &
pid=$!
trap 'kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
port=$(cat "$tmp/port")

python3 bench/smtp_peer.py --write "$tmp/m1.eml" 1048576
# one curl run uploads the file 200 times over one connection
glob="{$(i=0; while [ $i -lt 200 ]; do
  if [ $i -gt 0 ]; then printf ','; fi
  printf '%s' "$tmp/m1.eml"
  i=$((i + 1))
done)}"

now() { date +%s.%N; }
r=1
while [ "$r" -le "$REPS" ]; do
  echo "lmail-small $("$LUA" bench/smtp_bench.lua lmail "$port" 2000 2048)" >>"$tmp/out"
  echo "python-small $(python3 bench/smtp_peer.py "$port" 2000 2048)" >>"$tmp/out"
  echo "luasocket-small $("$LUA" bench/smtp_bench.lua luasocket "$port" 2000 2048)" >>"$tmp/out"
  echo "lmaildata-small $("$LUA" bench/smtp_bench.lua lmail-data "$port" 2000 2048)" >>"$tmp/out"
  echo "lmail-large $("$LUA" bench/smtp_bench.lua lmail "$port" 200 1048576)" >>"$tmp/out"
  t0=$(now)
  curl -s "smtp://127.0.0.1:$port" --mail-from a@bench.test --mail-rcpt b@bench.test -T "$glob"
  t1=$(now)
  echo "curl-large $(echo "200 / ($t1 - $t0)" | bc -l) $(echo "200 * 1048576 / ($t1 - $t0) / 1000000" | bc -l)" >>"$tmp/out"
  echo "lmaildata-large $("$LUA" bench/smtp_bench.lua lmail-data "$port" 200 1048576)" >>"$tmp/out"
  r=$((r + 1))
done
huge=$("$LUA" bench/smtp_bigstream.lua "$port" "$tmp/huge.eml" "$HUGE_MIB")
hmime=$("$LUA" bench/smtp_bigstream.lua "$port" "$tmp/huge.bin" "$HUGE_MIB" mime)

awk -v reps="$REPS" -v huge="$huge" -v hmime="$hmime" -v hmib="$HUGE_MIB" '
  { n[$1]++; ms[$1, n[$1]] = $2; mb[$1, n[$1]] = $3 }
  function median(arr, name,   k, i, j, t, v) {
    k = n[name]
    for (i = 1; i <= k; i++) v[i] = arr[name, i]
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return v[int((k + 1) / 2)]
  }
  function verdict(r, target) { return r >= target ? "MET" : "NOT MET" }
  END {
    printf "smtp over loopback to a discarding sink, median of %d interleaved runs\n", reps
    ls = median(ms, "lmail-small"); ps = median(ms, "python-small"); us = median(ms, "luasocket-small")
    ds = median(ms, "lmaildata-small")
    best = ps > us ? ps : us; bname = ps > us ? "smtplib" : "LuaSocket"
    printf "2000 x 2 KB   lmail %8.0f msg/s (DATA %.0f)   smtplib %7.0f   LuaSocket %7.0f   ratio vs %s %5.2f (target >= 3)    %s\n", ls, ds, ps, us, bname, ls / best, verdict(ls / best, 3)
    ll = median(mb, "lmail-large"); cl = median(mb, "curl-large"); dl = median(mb, "lmaildata-large")
    printf "200 x 1 MB    lmail %8.0f MB/s  (DATA %.0f)   curl %7.0f MB/s   ratio %5.2f (target >= 1.5)    %s\n", ll, dl, cl, ll / cl, verdict(ll / cl, 1.5)
    split(huge, h, " ")
    printf "%d MiB stream  lmail %8.0f MB/s  peak RSS %.1f MiB (target < 32)    %s\n", hmib, h[1], h[2] / 1024, (h[2] / 1024 < 32) ? "MET" : "NOT MET"
    split(hmime, g, " ")
    printf "%d MiB attachment (mime.message, base64)  %8.0f MB/s on the wire  peak RSS %.1f MiB (target < 32)    %s\n", hmib, g[1], g[2] / 1024, (g[2] / 1024 < 32) ? "MET" : "NOT MET"
  }' "$tmp/out"
