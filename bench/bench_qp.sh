#!/bin/sh
# bench_qp.sh: quoted-printable (RFC 2045 6.7), CRLF normalisation and SMTP
# dot-stuffing on 16 MiB of realistic mail text (ASCII words, 2% UTF-8,
# CRLF lines of 30-90 characters, 1% starting with "."), through the Lua
# API. Peers: Python's binascii.b2a_qp / a2b_qp (C) on the very same bytes,
# and LuaSocket's mime.qp / mime.unqp / mime.eol / mime.dot through Lua 5.4.
# CRLF normalisation is timed on the same text with LF line ends (its job).
# Every number is the median of REPS runs made in this one run; MB/s always
# counts bytes of the plain text, so encoders and decoders compare.
set -eu
cd "$(dirname "$0")/.."
LUA=${LUA:-lua5.4}
MIB=${QP_BENCH_MIB:-16}
REPS=${QP_BENCH_REPS:-7}

out=$(mktemp)
text=$(mktemp)
enc=$(mktemp)
trap 'rm -f "$out" "$text" "$enc"' EXIT
"$LUA" bench/qp_bench.lua "$MIB" "$REPS" "$text" "$enc" >>"$out"
python3 - "$REPS" "$text" "$enc" >>"$out" <<'PY'
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

awk -v mib="$MIB" -v reps="$REPS" '
  { v[$1] = $2 }
  function line(name, a, b, peer, target,   r, verdict) {
    if (!(a in v) || !(b in v)) { printf "%-24s missing measurement (%s or %s)  NOT MET\n", name, a, b; return }
    r = v[a] / v[b]
    verdict = target == "" ? "(reference)" : (r >= target ? "MET" : "NOT MET")
    printf "%-24s lmail %5d MB/s   %-32s %5d MB/s   ratio %6.2f", name, v[a], peer, v[b], r
    if (target != "") printf " (target >= %s)  %s\n", target, verdict
    else printf "  %s\n", verdict
  }
  END {
    printf "qp/eol/dot: %d MiB of mail text, median of %d runs, through the Lua API\n", mib, reps
    line("qp encode", "lua-lmail-qpenc", "py-qpenc", "python binascii.b2a_qp", 5)
    line("qp decode", "lua-lmail-qpdec", "py-qpdec", "python binascii.a2b_qp", 2)
    line("qp encode", "lua-lmail-qpenc", "lua-luasocket-qpenc", "LuaSocket mime.qp (no wrap)", 10)
    line("qp encode", "lua-lmail-qpenc", "lua-luasocket-qpenc-wrapped", "LuaSocket mime.qp+qpwrp", "")
    line("qp decode", "lua-lmail-qpdec", "lua-luasocket-qpdec", "LuaSocket mime.unqp", 10)
    line("CRLF normalise (LF in)", "lua-lmail-eol", "lua-luasocket-eol", "LuaSocket mime.eol", 10)
    line("SMTP dot-stuff", "lua-lmail-dot", "lua-luasocket-dot", "LuaSocket mime.dot", 10)
  }' "$out"
