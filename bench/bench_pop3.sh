#!/bin/sh
# bench_pop3.sh: POP3 downloads from the local Dovecot of the project's mail
# stack (spec/support/mailstack.sh; started when down, needs root), over
# plain POP3 on 127.0.0.1 for every client, all in this one run:
#   1,000 messages of 20 KB (written into bob's Maildir the way Dovecot
#   stores them, bench/pop3_fill.py):
#     lmail.fetch      into a Maildir: tmp/, fsync, new/, state file (the
#                      safe download; it does more than its peers)
#     lmail retr loop  p:retr_many (pipelined) writing each message to a file
#     Python poplib    RETR loop writing each message to a file
#     curl             pop3://.../[1-1000] in one process (connection reused)
#   targets: lmail.fetch >= 2x poplib and >= 1x curl
#   one message of 100 MB through lmail.fetch to disk: peak RSS (GNU time
#   %M) < 32 MiB; curl's RSS and time alongside
# Medians of REPS runs, the clients interleaved in each round; wall clock of
# the whole process (start, login, transfer, QUIT) for every client.
# Set the LMAIL_* variables of mailstack.sh to use a stack of your own.
set -eu
cd "$(dirname "$0")/.."
BUILD=${LMAIL_BUILD:-build}
LUA=${LUA:-lua5.4}
REPS=${POP3_BENCH_REPS:-5}
COUNT=${POP3_BENCH_COUNT:-1000}
SIZE=${POP3_BENCH_SIZE:-20480}
BIG_MB=${POP3_BENCH_BIG_MB:-100}
export LUA_PATH="${LUA_PATH:-$PWD/lua/?.lua;$PWD/lua/?/init.lua;;}"
export LUA_CPATH="${LUA_CPATH:-$PWD/$BUILD/?.so;;}"

# a stack this script starts it also stops (one already up is left as it is)
started=0
if ! bash spec/support/mailstack.sh status >/dev/null 2>&1; then
  bash spec/support/mailstack.sh up >/dev/null
  started=1
fi
eval "$(bash spec/support/mailstack.sh env)"
MD=$LMAIL_MS_BOB_MAILDIR
USER=$LMAIL_MS_BOB_USER
PASS=$LMAIL_MS_BOB_PASS
PORT=$LMAIL_MS_POP3_PORT

work=$(mktemp -d /tmp/lmail-bench-pop3-XXXXXX)
trap 'rm -rf "$work"; if [ "$started" = 1 ]; then bash spec/support/mailstack.sh down >/dev/null; fi' EXIT

now() { date +%s.%N; }

# reset_box COUNT SIZE: bob's mailbox holds exactly COUNT fresh messages.
reset_box() {
  rm -rf "$MD"
  mkdir -p "$MD/cur" "$MD/new" "$MD/tmp"
  python3 bench/pop3_fill.py "$MD" "$1" "$2"
  chown -R lmailtest:lmailtest "$(dirname "$MD")"
  chmod 700 "$MD"
}

# run NAME CMD...: runs CMD in a fresh $work/out, appends "NAME seconds".
run() {
  name=$1
  shift
  rm -rf "$work/out"
  mkdir "$work/out"
  # the removal's journal work (and discards) must not land in the timing
  sync
  t0=$(now)
  "$@" >/dev/null
  t1=$(now)
  echo "$name $(echo "$t0 $t1" | awk '{ printf "%.4f", $2 - $1 }')" >>"$work/results"
}

count_files() {
  find "$work/out" -type f ! -name 'lmail-uidl-*' | wc -l
}

check_count() {
  n=$(count_files)
  if [ "$n" -ne "$1" ]; then
    echo "bench_pop3: $2 wrote $n files, expected $1" >&2
    exit 1
  fi
}

lmail_fetch() { "$LUA" bench/pop3_fetch.lua fetch "$PORT" "$USER" "$PASS" "$work/out/Maildir"; }
lmail_retr() { "$LUA" bench/pop3_fetch.lua retr "$PORT" "$USER" "$PASS" "$work/out"; }
poplib() { python3 bench/pop3_poplib.py "$PORT" "$USER" "$PASS" "$work/out"; }
curl_all() {
  curl -s --user "$USER:$PASS" "pop3://127.0.0.1:$PORT/[1-$COUNT]" -o "$work/out/#1"
}

: >"$work/results"
reset_box "$COUNT" "$SIZE"
poplib >/dev/null 2>&1 || true # warm Dovecot's index and the page cache
r=0
while [ "$r" -lt "$REPS" ]; do
  run lmail-fetch lmail_fetch
  check_count "$COUNT" lmail.fetch
  run lmail-retr lmail_retr
  check_count "$COUNT" "lmail retr loop"
  run poplib poplib
  check_count "$COUNT" poplib
  run curl curl_all
  check_count "$COUNT" curl
  r=$((r + 1))
done

# The 100 MB message: peak RSS of the process (KiB) and its time.
reset_box 1 $((BIG_MB * 1048576))
r=0
while [ "$r" -lt "$REPS" ]; do
  rm -rf "$work/out"
  mkdir "$work/out"
  /usr/bin/time -f "big-lmail %e %M" -a -o "$work/results" \
    "$LUA" bench/pop3_fetch.lua fetch "$PORT" "$USER" "$PASS" "$work/out/Maildir" >/dev/null
  check_count 1 "lmail.fetch (big)"
  rm -rf "$work/out"
  mkdir "$work/out"
  /usr/bin/time -f "big-curl %e %M" -a -o "$work/results" \
    curl -s --user "$USER:$PASS" "pop3://127.0.0.1:$PORT/1" -o "$work/out/1"
  r=$((r + 1))
done
reset_box 0 0

awk -v reps="$REPS" -v count="$COUNT" -v size="$SIZE" -v big="$BIG_MB" '
  function median(arr, n,   i, j, t) {
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
      if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
    return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
  }
  /^big-/ { bt[$1, ++nb[$1]] = $2; bm[$1, nb[$1]] = $3; next }
  { v[$1, ++n[$1]] = $2 }
  function med(name,   i, a) { for (i = 1; i <= n[name]; i++) a[i] = v[name, i]; return median(a, n[name]) }
  function bmed(name, which,   i, a) {
    for (i = 1; i <= nb[name]; i++) a[i] = (which == "t" ? bt[name, i] : bm[name, i])
    return median(a, nb[name])
  }
  END {
    f = med("lmail-fetch"); l = med("lmail-retr"); p = med("poplib"); c = med("curl")
    printf "pop3: %d messages of %d KB from the local Dovecot (plain POP3), median of %d runs\n", count, size / 1024, reps
    printf "%-28s %7.3f s  %6.0f msg/s\n", "lmail.fetch (Maildir, fsync)", f, count / f
    printf "%-28s %7.3f s  %6.0f msg/s\n", "lmail retr loop (files)", l, count / l
    printf "%-28s %7.3f s  %6.0f msg/s\n", "Python poplib RETR loop", p, count / p
    printf "%-28s %7.3f s  %6.0f msg/s\n", "curl pop3://[1-N]", c, count / c
    printf "%-34s ratio %5.2f (target >= 2)  %s\n", "lmail.fetch vs poplib", p / f, (p / f >= 2 ? "MET" : "NOT MET")
    printf "%-34s ratio %5.2f (target >= 1)  %s\n", "lmail.fetch vs curl", c / f, (c / f >= 1 ? "MET" : "NOT MET")
    printf "%-34s ratio %5.2f / %5.2f (poplib / curl)\n", "lmail retr loop vs", p / l, c / l
    lm = bmed("big-lmail", "m"); lt = bmed("big-lmail", "t")
    cm = bmed("big-curl", "m"); ct = bmed("big-curl", "t")
    printf "pop3: one %d MB message to disk, median of %d runs\n", big, reps
    printf "%-28s %7.2f s  peak RSS %6.1f MiB (target < 32)  %s\n", "lmail.fetch", lt, lm / 1024, (lm < 32768 ? "MET" : "NOT MET")
    printf "%-28s %7.2f s  peak RSS %6.1f MiB\n", "curl", ct, cm / 1024
  }' "$work/results"
