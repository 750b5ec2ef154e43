#!/bin/sh
# make bench: runs every bench/bench_*.sh in turn. Each prints lines of the
# form "name  ours  peer  ratio" (medians of at least 5 runs, same run).
set -e
cd "$(dirname "$0")/.."
sh tools/ensure-deps.sh bench
for b in bench/bench_*.sh; do
  [ -f "$b" ] || continue
  echo "== $b"
  sh "$b"
done
