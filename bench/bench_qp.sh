#!/bin/sh
# bench_qp.sh: quoted-printable (RFC 2045 6.7), CRLF normalisation and SMTP
# dot-stuffing on 16 MiB of realistic mail text (ASCII words, 2% UTF-8,
# CRLF lines of 30-90 characters, 1% starting with "."), through the Lua
# API. Peers: Python's binascii.b2a_qp / a2b_qp (C) on the very same bytes,
# and LuaSocket's mime.qp + mime.qpwrp / mime.unqp / mime.eol / mime.dot
# through Lua 5.4. CRLF normalisation is timed on the same text with LF line
# ends (its job). Every number is a median of measurements made in this one
# run: REPS rounds, each Lua measurement in a process of its own (see
# qp_bench.lua), Python REPS runs; MB/s always counts bytes of the plain
# text, so encoders and decoders compare.
set -eu
cd "$(dirname "$0")/.."
LUA=${LUA:-lua5.4}
MIB=${QP_BENCH_MIB:-16}
REPS=${QP_BENCH_REPS:-7}
RUNS=${QP_BENCH_RUNS:-5}

out=$(mktemp)
work=$(mktemp -d)
trap 'rm -rf "$out" "$work"' EXIT
mkdir -p "$work/small"
"$LUA" bench/qp_bench.lua prepare "$MIB" "$work"
# 1 MiB for the CRLF reference line: the data stays in the CPU caches
"$LUA" bench/qp_bench.lua prepare 1 "$work/small"
python3 - "$REPS" "$work/text" "$work/enc" >>"$out" <<'PY'
import binascii, sys, time
reps = int(sys.argv[1])
text = open(sys.argv[2], "rb").read()
enc = open(sys.argv[3], "rb").read()
assert binascii.a2b_qp(enc) == text, "binascii decodes lmail's encoding differently"
assert binascii.a2b_qp(binascii.b2a_qp(text)) == text
def rate(fn, arg):
    t = []
    for _ in range(reps):
        t0 = time.process_time(); fn(arg); t.append(time.process_time() - t0)
    t.sort()
    return len(text) / t[len(t) // 2] / 1e6
print("py-qpenc %.0f" % rate(binascii.b2a_qp, text))
print("py-qpdec %.0f" % rate(binascii.a2b_qp, enc))
PY
# The rounds go through every measurement in turn, so a change in machine
# load hits both sides of a ratio alike.
r=0
while [ "$r" -lt "$REPS" ]; do
  for job in lmail:qpenc luasocket:qpenc luasocket:qpenc-nowrap lmail:qpdec luasocket:qpdec \
             lmail:eol luasocket:eol lmail:dot luasocket:dot; do
    "$LUA" bench/qp_bench.lua "${job%%:*}" "${job#*:}" "$work" "$RUNS" >>"$out"
  done
  for side in lmail luasocket; do
    "$LUA" bench/qp_bench.lua "$side" eol "$work/small" "$RUNS" | sed 's/^lua-/lua1-/' >>"$out"
  done
  r=$((r + 1))
done

awk -v mib="$MIB" -v reps="$REPS" -v runs="$RUNS" '
  { n[$1]++; v[$1, n[$1]] = $2 }
  function median(k,   i, j, t, a, m) {
    m = n[k]
    for (i = 1; i <= m; i++) a[i] = v[k, i]
    for (i = 2; i <= m; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
  }
  function line(name, a, b, peer, target,   x, y, r, verdict) {
    if (!(a in n) || !(b in n)) { printf "%-24s missing measurement (%s or %s)  NOT MET\n", name, a, b; return }
    x = median(a); y = median(b); r = x / y
    verdict = target == "" ? "(reference)" : (r >= target ? "MET" : "NOT MET")
    printf "%-24s lmail %5d MB/s   %-32s %5d MB/s   ratio %6.2f", name, x, peer, y, r
    if (target != "") printf " (target >= %s)  %s\n", target, verdict
    else printf "  %s\n", verdict
  }
  END {
    printf "qp/eol/dot: %d MiB of mail text, through the Lua API; Lua: median over %d rounds of one process per measurement (median of %d calls after >= 1 s of untimed ones); Python: median of %d runs\n", mib, reps, runs, reps
    line("qp encode", "lua-lmail-qpenc", "py-qpenc", "python binascii.b2a_qp", 5)
    line("qp decode", "lua-lmail-qpdec", "py-qpdec", "python binascii.a2b_qp", 2)
    line("qp encode", "lua-lmail-qpenc", "lua-luasocket-qpenc", "LuaSocket mime.qp+qpwrp", 10)
    line("qp encode", "lua-lmail-qpenc", "lua-luasocket-qpenc-nowrap", "LuaSocket mime.qp (no wrap)", "")
    line("qp decode", "lua-lmail-qpdec", "lua-luasocket-qpdec", "LuaSocket mime.unqp", 10)
    line("CRLF normalise (LF in)", "lua-lmail-eol", "lua-luasocket-eol", "LuaSocket mime.eol", 10)
    line("SMTP dot-stuff", "lua-lmail-dot", "lua-luasocket-dot", "LuaSocket mime.dot", 10)
    line("1 MiB CRLF normalise", "lua1-lmail-eol", "lua1-luasocket-eol", "LuaSocket mime.eol", "")
    line("qp encode, 1st call", "lua-lmail-qpenc-cold", "lua-luasocket-qpenc-cold", "LuaSocket mime.qp+qpwrp", "")
    line("qp decode, 1st call", "lua-lmail-qpdec-cold", "lua-luasocket-qpdec-cold", "LuaSocket mime.unqp", "")
    line("CRLF normalise, 1st call", "lua-lmail-eol-cold", "lua-luasocket-eol-cold", "LuaSocket mime.eol", "")
    line("SMTP dot-stuff, 1st call", "lua-lmail-dot-cold", "lua-luasocket-dot-cold", "LuaSocket mime.dot", "")
  }' "$out"
