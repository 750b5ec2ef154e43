#!/bin/sh
# bench_b64.sh: base64 of 16 MiB with 76-column CRLF lines (RFC 2045 6.8).
# Peers: OpenSSL's EVP_EncodeBlock / EVP_DecodeBlock called per line (a C
# peer built here), LuaSocket's mime.b64 / mime.unb64 through Lua 5.4, and
# Python's base64.encodebytes / decodebytes for reference. Every number is
# a median of measurements made in this one run (C: REPS runs; Lua: REPS
# rounds, each measurement in a process of its own, see b64_bench.lua);
# MB/s counts binary bytes.
set -eu
cd "$(dirname "$0")/.."
BUILD=${LMAIL_BUILD:-build}
LUA=${LUA:-lua5.4}
MIB=${B64_BENCH_MIB:-16}
REPS=${B64_BENCH_REPS:-7}
RUNS=${B64_BENCH_RUNS:-5}
CC=${CC:-cc}
mkdir -p "$BUILD/bench"
peer="$BUILD/bench/b64_peer"
# shellcheck disable=SC2046
$CC -std=c99 -O2 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -o "$peer" bench/b64_peer.c \
  csrc/core/lm_b64.c csrc/core/lm_b64_simd.c csrc/core/lm_status.c \
  $(pkg-config --cflags --libs libcrypto 2>/dev/null || echo -lcrypto)

out=$(mktemp)
work=$(mktemp -d)
trap 'rm -rf "$out" "$work"' EXIT
mkdir -p "$work/big" "$work/small"
"$LUA" bench/b64_bench.lua prepare "$MIB" "$work/big"
# 1 MiB, attachment-sized (reference only)
"$LUA" bench/b64_bench.lua prepare 1 "$work/small"
"$peer" "$MIB" "$REPS" >>"$out"
# Every Lua measurement runs in a process of its own (see b64_bench.lua);
# the rounds go through all of them in turn, so a change in machine load
# hits both sides of a ratio alike.
r=0
while [ "$r" -lt "$REPS" ]; do
  for job in lmail:enc lmail:enc0 lmail:dec luasocket:enc luasocket:dec; do
    "$LUA" bench/b64_bench.lua "${job%%:*}" "${job#*:}" "$work/big" "$RUNS" lua >>"$out"
    "$LUA" bench/b64_bench.lua "${job%%:*}" "${job#*:}" "$work/small" "$RUNS" lua1 >>"$out"
  done
  r=$((r + 1))
done
python3 - "$MIB" "$REPS" >>"$out" <<'PY'
import base64, os, sys, time
mib, reps = int(sys.argv[1]), int(sys.argv[2])
data = os.urandom(mib << 20)
enc = base64.encodebytes(data)
def rate(fn, arg):
    t = []
    for _ in range(reps):
        t0 = time.perf_counter(); fn(arg); t.append(time.perf_counter() - t0)
    t.sort()
    return len(data) / t[len(t) // 2] / 1e6
print("py-enc %.0f" % rate(base64.encodebytes, data))
print("py-dec %.0f" % rate(base64.decodebytes, enc))
PY

awk -v mib="$MIB" -v reps="$REPS" -v runs="$RUNS" '
  $1 == "impl" { impl = $2; next }
  { n[$1]++; v[$1, n[$1]] = $2 }
  function median(k,   i, j, t, a, m) {
    m = n[k]
    for (i = 1; i <= m; i++) a[i] = v[k, i]
    for (i = 2; i <= m; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
  }
  function line(name, a, b, peer, target,   x, y, r, verdict) {
    if (!(a in n) || !(b in n)) { printf "%-34s missing measurement (%s or %s)  NOT MET\n", name, a, b; return }
    x = median(a); y = median(b); r = x / y
    verdict = target == "" ? "(reference)" : (r >= target ? "MET" : "NOT MET")
    printf "%-34s lmail %6d MB/s   %-28s %6d MB/s   ratio %6.2f", name, x, peer, y, r
    if (target != "") printf " (target >= %s)  %s\n", target, verdict
    else printf "  %s\n", verdict
  }
  END {
    printf "b64: %d MiB unless named; C: median of %d runs; Lua: median over %d rounds of one process per measurement (median of %d calls after >= 1 s of untimed ones); lmail SIMD path: %s\n", mib, reps, reps, runs, impl
    line("encode 76-col, C core", "c-lmail-enc", "c-openssl-enc", "openssl EVP_EncodeBlock/line", 2)
    line("decode 76-col, C core", "c-lmail-dec", "c-openssl-dec", "openssl EVP_DecodeBlock/line", 2)
    line("encode 76-col, C scalar path", "c-lmail-enc-scalar", "c-openssl-enc", "openssl EVP_EncodeBlock/line", "")
    line("decode 76-col, C scalar path", "c-lmail-dec-scalar", "c-openssl-dec", "openssl EVP_DecodeBlock/line", "")
    line("encode, Lua mime.b64encode", "lua-lmail-enc0", "lua-luasocket-enc", "LuaSocket mime.b64", 10)
    line("decode 76-col, Lua mime.b64decode", "lua-lmail-dec", "lua-luasocket-dec", "LuaSocket mime.unb64", 10)
    line("encode, first call of a process", "lua-lmail-enc0-cold", "lua-luasocket-enc-cold", "LuaSocket mime.b64", "")
    line("decode, first call of a process", "lua-lmail-dec-cold", "lua-luasocket-dec-cold", "LuaSocket mime.unb64", "")
    line("1 MiB encode, Lua mime.b64encode", "lua1-lmail-enc0", "lua1-luasocket-enc", "LuaSocket mime.b64", "")
    line("1 MiB decode 76-col, Lua", "lua1-lmail-dec", "lua1-luasocket-dec", "LuaSocket mime.unb64", "")
    line("encode 76-col, Lua mime.b64encode", "lua-lmail-enc", "c-openssl-enc", "openssl EVP_EncodeBlock/line", "")
    line("encode 76-col, Lua mime.b64encode", "lua-lmail-enc", "py-enc", "python base64.encodebytes", "")
    line("decode 76-col, Lua mime.b64decode", "lua-lmail-dec", "py-dec", "python base64.decodebytes", "")
  }' "$out"
