#!/bin/sh
# Installs the Debian packages a target needs when they are missing (as root),
# or prints the exact command and stops (as anyone else).
# Usage: tools/ensure-deps.sh test|bench|demo
set -eu

want="lua5.4 liblua5.4-dev libssl-dev openssl lua-busted lua-check luarocks \
pkg-config gcc clang make valgrind python3 libpython3.11-testsuite libclang-rt-14-dev"
case "${1:-test}" in
  bench) want="$want lua5.1 lua-md5 lua-socket curl libgmime-3.0-dev" ;;
  demo) want="$want postfix dovecot-core dovecot-pop3d dovecot-lmtpd" ;;
esac
# bench_pop3.sh: GNU time (peak RSS) and the mail stack it reads from; its
# peers are Python's poplib (python3) and curl.
[ "${1:-test}" = bench ] && want="$want time postfix dovecot-core dovecot-pop3d dovecot-lmtpd"

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "ensure-deps: not a Debian system; make sure these are installed: $want" >&2
  exit 0
fi

missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing="$missing $p"
done
[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" != 0 ]; then
  echo "ensure-deps: missing Debian packages:$missing" >&2
  echo "ensure-deps: run as root:  apt-get update && $cmd" >&2
  exit 1
fi
echo "ensure-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
