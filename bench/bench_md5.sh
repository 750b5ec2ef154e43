#!/bin/sh
# bench_md5.sh: MD5 and HMAC-MD5 against named peers, all measured in this
# one run. Each measurement is the median of REPS runs; the runs of lmail
# and of its peers are interleaved (C peer, Lua 5.4, lua5.1 in turn, REPS
# times) so that a change in machine load hits both sides alike.
#   md5 of 64 MiB        lm_md5 vs OpenSSL's EVP_Digest (assembly), C
#   md5.sum, 64 bytes    lmail.md5 from Lua 5.4 vs Debian's lua-md5 (md5.sum
#                        under lua5.1) and vs OpenSSL's reused-context C loop
#   md5.hmac, 42 bytes   lmail.md5 from Lua 5.4 (16-byte key) vs the absolute
#                        target 500 ns, with OpenSSL's EVP_MAC in C alongside
set -eu
cd "$(dirname "$0")/.."
BUILD=${LMAIL_BUILD:-build}
LUA=${LUA:-lua5.4}
LUA51=${LUA51:-lua5.1}
MIB=${MD5_BENCH_MIB:-64}
REPS=${MD5_BENCH_REPS:-7}
ITERS=${MD5_BENCH_ITERS:-300000}
CC=${CC:-cc}
mkdir -p "$BUILD/bench"
peer="$BUILD/bench/md5_peer"
# The same flags as the library build (Makefile: -O2, C99).
# shellcheck disable=SC2046
$CC -std=c99 -O2 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -o "$peer" bench/md5_peer.c \
  csrc/core/lm_md5.c $(pkg-config --cflags --libs libcrypto 2>/dev/null || echo -lcrypto)

out=$(mktemp)
trap 'rm -f "$out"' EXIT
have51=1
if ! "$LUA51" -e 'require "md5"' 2>/dev/null; then
  have51=0
  echo "bench_md5: lua-md5 for $LUA51 not installed (tools/ensure-deps.sh bench)" >&2
fi
r=0
while [ "$r" -lt "$REPS" ]; do
  "$peer" "$MIB" "$ITERS" >>"$out"
  "$LUA" bench/md5_bench.lua lmail "$ITERS" >>"$out"
  [ "$have51" = 1 ] && "$LUA51" bench/md5_bench.lua luamd5 "$ITERS" >>"$out"
  r=$((r + 1))
done

awk -v mib="$MIB" -v reps="$REPS" '
  { n[$1]++; v[$1, n[$1]] = $2 }
  function median(k,   i, j, t, a, m) {
    m = n[k]
    for (i = 1; i <= m; i++) a[i] = v[k, i]
    for (i = 2; i <= m; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
  }
  function have(k) { return (k in n) && n[k] >= 5 }
  function verdict(ok) { return ok ? "MET" : "NOT MET" }
  # throughput: higher is better; ratio = ours / peer
  function rate(name, a, b, peer, target,   x, y) {
    if (!have(a) || !have(b)) { printf "%-22s missing measurement (%s or %s)  NOT MET\n", name, a, b; return }
    x = median(a); y = median(b)
    printf "%-22s lmail %5.0f MB/s   %-22s %5.0f MB/s   ratio %5.2f (target >= %s)  %s\n",
      name, x, peer, y, x / y, target, verdict(x / y >= target)
  }
  # time per call: lower is better; ratio = peer / ours (above 1: lmail faster)
  function call(name, a, bytes, b, peer,   x, y) {
    if (!have(a) || !have(b)) { printf "%-22s missing measurement (%s or %s)  NOT MET\n", name, a, b; return }
    x = median(a); y = median(b)
    printf "%-22s lmail %6.1f ns/call %5.0f MB/s   %-26s %6.1f ns/call   speedup %5.2f (target > 1)  %s\n",
      name, x, bytes * 1000 / x, peer, y, y / x, verdict(x < y)
  }
  function absolute(name, a, bytes, limit, b, peer,   x, y) {
    if (!have(a)) { printf "%-22s missing measurement (%s)  NOT MET\n", name, a; return }
    x = median(a)
    printf "%-22s lmail %6.1f ns/call %5.0f MB/s   (target < %d ns)  %s", name, x, bytes * 1000 / x, limit, verdict(x < limit)
    if (have(b)) { y = median(b); printf "   [%s %.1f ns/call, speedup %.2f]", peer, y, y / x }
    printf "\n"
  }
  function ref(name, a, bytes) {
    if (have(a)) printf "%-22s %6.1f ns/call %5.0f MB/s   (reference)\n", name, median(a), bytes * 1000 / median(a)
  }
  END {
    printf "md5: medians of %d interleaved runs; bulk %d MiB; md5.sum of 64 bytes, md5.hmac of 42 bytes (16-byte key)\n", reps, mib
    rate("md5 " mib " MiB (C)", "c-lmail-64m", "c-openssl-64m", "openssl EVP_Digest", 0.95)
    call("md5.sum 64 B (Lua)", "lua-lmail-sum64", 64, "lua-luamd5-sum64", "lua-md5 md5.sum (lua5.1)")
    call("md5.sum 64 B (Lua)", "lua-lmail-sum64", 64, "c-openssl-sum64", "openssl EVP reused ctx (C)")
    absolute("md5.hmac 42 B (Lua)", "lua-lmail-hmac", 42, 500, "c-openssl-hmac", "openssl EVP_MAC (C)")
    ref("lm_md5 64 B (C)", "c-lmail-sum64", 64)
    ref("EVP_md5() ctx 64 B (C)", "c-openssl-sum64-legacy", 64)
    ref("lm_hmac_md5 42 B (C)", "c-lmail-hmac", 42)
    ref("EVP_MAC HMAC 42 B (C)", "c-openssl-hmac", 42)
  }' "$out"
