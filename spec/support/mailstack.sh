#!/usr/bin/env bash
# spec/support/mailstack.sh -- a private, throwaway Postfix + Dovecot mail stack
# on 127.0.0.1 for the lmail SMTP/POP3 specs and demos.
#
# Usage: spec/support/mailstack.sh up|down|status|env|clean
#
#   up      install missing Debian packages (postfix dovecot-core dovecot-pop3d
#           dovecot-lmtpd openssl), write private configs under the state dir,
#           (re)start Postfix and Dovecot, wait until every port answers, start
#           a watchdog that calls `down` after $LMAIL_MAILSTACK_TTL seconds.
#           When the stack is already up it is stopped first (clean restart).
#           Mailboxes are emptied on every `up` (LMAIL_MAILSTACK_KEEP_MAIL=1 keeps them).
#   down    stop the daemons and the watchdog recorded by `up` (by PID); no-op when down.
#           The state dir (logs, certificates, mail) is left for inspection.
#   status  print what is running; exit 0 when up, 3 when down.
#   env     print `export VAR='value'` lines:  eval "$(spec/support/mailstack.sh env)"
#   clean   down, then remove the state dir.
#
# Nothing under /etc is edited and the packages' own services are never started
# (a temporary /usr/sbin/policy-rc.d returning 101 is used during the install
# if none exists).  `up` creates the system user `lmailtest` (owner of the
# Maildirs, Dovecot's mail_uid/mail_gid) if it does not exist; `down` leaves it.
#
# Environment (all optional):
#   LMAIL_MAILSTACK_DIR   state dir                       (/tmp/lmail-mailstack)
#   LMAIL_MAILSTACK_TTL   watchdog lifetime in seconds    (1800)
#   LMAIL_MAILSTACK_WAIT  readiness wait in seconds       (30)
#   LMAIL_MS_SMTP_PORT       plain SMTP, STARTTLS optional, no AUTH      (10025)
#   LMAIL_MS_SUBMISSION_PORT submission, STARTTLS required, AUTH         (10587)
#   LMAIL_MS_SUBMISSIONS_PORT submissions, implicit TLS, AUTH            (10465)
#   LMAIL_MS_POP3_PORT       POP3 with STLS                              (10110)
#   LMAIL_MS_POP3S_PORT      POP3 over implicit TLS                      (10995)
#   LMAIL_MS_ALICE_PASS, LMAIL_MS_BOB_PASS  test passwords (fixed defaults below)
#   LMAIL_MAILSTACK_KEEP_MAIL=1       do not empty the Maildirs on `up`
#   LMAIL_MAILSTACK_DELIVERY  lmtp (default) | lda
#         lmtp: Postfix -> Dovecot LMTP over the unix socket $STATE/run/lmtp.
#               Dovecot 2.3 LMTP has no SMTPUTF8, so a message submitted with
#               SMTPUTF8 *and* UTF-8 in an address or header is accepted (250)
#               by Postfix but then bounced (dsn 5.6.7).  8-bit bodies are fine.
#         lda:  Postfix pipe(8) -> dovecot-lda (runs as lmailtest); no SMTPUTF8
#               restriction, use it to test SMTPUTF8 end to end.
#
# What the stack offers (self-check: python3 spec/support/mailstack_check.py):
#   users      alice, bob (passwords above; login name "alice" or "alice@example.test");
#              addresses alice@example.test, bob@example.test (also @localhost);
#              postmaster@ is an alias of alice; any other local part -> 550 5.1.1
#              at RCPT time (per recipient); other domains -> 554 5.7.1 relay denied,
#              or with AUTH -> 550 5.1.1 "outbound mail disabled" (default_transport=error).
#   SMTP       $LMAIL_MS_SMTP_PORT: STARTTLS optional, no AUTH, accepts mail for the users.
#              $LMAIL_MS_SUBMISSION_PORT: MAIL refused (530) until STARTTLS, AUTH only after
#              TLS, AUTH required for every recipient.  $LMAIL_MS_SUBMISSIONS_PORT: the same
#              over implicit TLS.  AUTH PLAIN LOGIN CRAM-MD5 (Dovecot SASL), bad password
#              -> 535 5.7.8.  PIPELINING 8BITMIME SMTPUTF8 CHUNKING DSN SIZE=52428800.
#   POP3       $LMAIL_MS_POP3_PORT: STLS, USER/PASS, APOP (greeting carries the timestamp),
#              AUTH PLAIN LOGIN CRAM-MD5, PIPELINING, TOP, UIDL (stable: %08Xu%08Xv).
#              $LMAIL_MS_POP3S_PORT: the same over implicit TLS.
#              disable_plaintext_auth = yes, BUT Dovecot 2.3 treats a connection whose
#              client IP equals the server IP (127.0.0.1 -> 127.0.0.1) as "secured", so
#              plaintext USER/PASS and AUTH PLAIN are also accepted without TLS here:
#              the client library must enforce "TLS before plaintext" itself.
#              APOP and CRAM-MD5 work without TLS (by design).
#   TLS        throwaway CA $STATE/tls/ca.crt (LMAIL_MS_CAFILE); server certificate for
#              DNS:localhost, IP:127.0.0.1, IP:::1; TLS >= 1.2; reused while valid.
#   logs       $STATE/postfix/maillog, $STATE/dovecot/dovecot.log (+ lda.log in lda mode)
#   Maildirs   $STATE/mail/{alice,bob}/Maildir, owned by lmailtest, mode 0700.
set -euo pipefail

SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")
STATE=${LMAIL_MAILSTACK_DIR:-/tmp/lmail-mailstack}
TTL=${LMAIL_MAILSTACK_TTL:-1800}
WAIT=${LMAIL_MAILSTACK_WAIT:-30}
HOST=127.0.0.1
SMTP_PORT=${LMAIL_MS_SMTP_PORT:-10025}
SUBMISSION_PORT=${LMAIL_MS_SUBMISSION_PORT:-10587}
SUBMISSIONS_PORT=${LMAIL_MS_SUBMISSIONS_PORT:-10465}
POP3_PORT=${LMAIL_MS_POP3_PORT:-10110}
POP3S_PORT=${LMAIL_MS_POP3S_PORT:-10995}
DOMAIN=example.test
ALICE_PASS=${LMAIL_MS_ALICE_PASS:-alice-test-pw}
BOB_PASS=${LMAIL_MS_BOB_PASS:-bob-test-pw}
MAILUSER=lmailtest
DELIVERY=${LMAIL_MAILSTACK_DELIVERY:-lmtp}
case $DELIVERY in lmtp|lda) ;; *) echo "mailstack: LMAIL_MAILSTACK_DELIVERY must be lmtp or lda" >&2; exit 2;; esac
PACKAGES=(postfix dovecot-core dovecot-pop3d dovecot-lmtpd openssl)

case "$STATE" in /*) ;; *) echo "mailstack: LMAIL_MAILSTACK_DIR must be absolute" >&2; exit 2;; esac
for _v in "$ALICE_PASS" "$BOB_PASS"; do
  [[ -n $_v && $_v != *[:$'\n\r\t']* ]] ||
    { echo "mailstack: passwords must be non-empty, without ':' or control whitespace" >&2; exit 2; }
done
for _v in "$SMTP_PORT" "$SUBMISSION_PORT" "$SUBMISSIONS_PORT" "$POP3_PORT" "$POP3S_PORT" "$TTL" "$WAIT"; do
  [[ $_v =~ ^[0-9]+$ ]] || { echo "mailstack: not a number: '$_v' (ports, TTL, WAIT)" >&2; exit 2; }
done
STATE=${STATE%/}

PFCONF=$STATE/postfix/etc
PFQUEUE=$STATE/postfix/spool
PFDATA=$STATE/postfix/data
PFLOG=$STATE/postfix/maillog
DVCONF=$STATE/dovecot/dovecot.conf
DVBASE=$STATE/dovecot/run
DVLOG=$STATE/dovecot/dovecot.log
RUN=$STATE/run            # sockets shared by Dovecot and Postfix
TLS=$STATE/tls
MAIL=$STATE/mail
PIDS=$STATE/pids

say()  { echo "mailstack: $*" >&2; }
die()  { say "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- helpers

# is_pid_ours KIND PID: PID is alive and is the daemon of THIS state dir.
is_pid_ours() {
  local kind=$1 pid=$2
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  local cmd env
  cmd=$(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null) || return 1
  case $kind in
    postfix)  # Postfix master: MAIL_CONFIG=<our config dir> in its environment
      [[ $cmd == */master* ]] || return 1
      env=$(tr '\0' '\n' </proc/"$pid"/environ 2>/dev/null) || return 1
      grep -qxF "MAIL_CONFIG=$PFCONF" <<<"$env" ;;
    dovecot)
      [[ $cmd == *dovecot*"-c $DVCONF"* ]] ;;
    watchdog)
      env=$(tr '\0' '\n' </proc/"$pid"/environ 2>/dev/null) || return 1
      grep -qxF "LMAIL_MAILSTACK_WATCHDOG=$STATE" <<<"$env" ;;
    *) return 1 ;;
  esac
}

read_pid() { [[ -r $1 ]] && tr -dc '0-9' <"$1" || true; }

postfix_pid() { read_pid "$PFQUEUE/pid/master.pid"; }
dovecot_pid() { read_pid "$DVBASE/master.pid"; }

port_open() {  # port_open PORT -> 0 when something accepts on 127.0.0.1:PORT
  (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

# wait_gone PID SECONDS -> 0 when PID exited
wait_gone() {
  local pid=$1 n=$(( $2 * 10 ))
  while (( n-- > 0 )); do
    [[ -d /proc/$pid ]] || return 0
    # a zombie child of ours counts as gone
    [[ $(awk '{print $3}' /proc/"$pid"/stat 2>/dev/null) == Z ]] && return 0
    sleep 0.1
  done
  return 1
}

stop_pid() {  # stop_pid KIND PID: TERM, wait, then KILL (only if still ours)
  local kind=$1 pid=$2
  is_pid_ours "$kind" "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" 10; then
    if is_pid_ours "$kind" "$pid"; then
      say "$kind master $pid ignored TERM, sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$pid" 5 || say "WARNING: $kind $pid still alive"
    fi
  fi
}

# ---------------------------------------------------------------- install

install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  (( ${#missing[@]} == 0 )) && return 0
  [[ $(id -u) == 0 ]] || die "missing packages ${missing[*]} and not root"
  say "installing ${missing[*]} (non-interactive, package services not started)"

  # PIDs of a system postfix/dovecot that may exist before the install
  local pf_before dv_before
  pf_before=$(read_pid /var/spool/postfix/pid/master.pid)
  dv_before=$(read_pid /run/dovecot/master.pid)

  local own_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\n# temporary, written by lmail spec/support/mailstack.sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  # shellcheck disable=SC2064
  trap "[[ $own_policy == 1 ]] && rm -f /usr/sbin/policy-rc.d" EXIT

  echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
  echo 'postfix postfix/mailname string localhost' | debconf-set-selections
  local log=/tmp/lmail-mailstack-apt.log rc=0
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
    apt-get update -q >>"$log" 2>&1 || true
    apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$log" 2>&1 || rc=$?
  fi
  if (( own_policy )); then rm -f /usr/sbin/policy-rc.d; fi
  trap - EXIT
  (( rc == 0 )) || { tail -n 30 "$log" >&2; die "apt-get install failed (log: $log)"; }

  # If the install started the system daemons anyway, stop exactly those
  # (pid file of the package's default instance, new since the install).
  local pid
  pid=$(read_pid /var/spool/postfix/pid/master.pid)
  if [[ -n $pid && $pid != "$pf_before" && -d /proc/$pid ]] &&
     grep -q 'postfix/sbin/master' /proc/"$pid"/cmdline 2>/dev/null &&
     ! grep -qa '^MAIL_CONFIG=' /proc/"$pid"/environ 2>/dev/null; then
    say "package install started system postfix master $pid; stopping it"
    kill -TERM "$pid" || true
  fi
  pid=$(read_pid /run/dovecot/master.pid)
  if [[ -n $pid && $pid != "$dv_before" && -d /proc/$pid ]] &&
     grep -qa 'dovecot' /proc/"$pid"/cmdline 2>/dev/null &&
     ! grep -qaF -- "$DVCONF" /proc/"$pid"/cmdline 2>/dev/null; then
    say "package install started system dovecot $pid; stopping it"
    kill -TERM "$pid" || true
  fi
  say "install done (log: $log)"
}

ensure_user() {
  if ! id -u "$MAILUSER" >/dev/null 2>&1; then
    say "creating system user $MAILUSER (left in place by down)"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin "$MAILUSER"
  fi
  id -u postfix >/dev/null && getent group postdrop >/dev/null || die "postfix user/postdrop group missing"
  id -u dovecot >/dev/null && id -u dovenull >/dev/null || die "dovecot/dovenull users missing"
}

# ---------------------------------------------------------------- TLS

make_tls() {
  mkdir -p "$TLS"; chmod 755 "$TLS"
  if [[ -s $TLS/ca.crt && -s $TLS/server.crt && -s $TLS/server.key ]] &&
     openssl x509 -checkend 86400 -noout -in "$TLS/server.crt" >/dev/null 2>&1; then
    return 0
  fi
  say "generating throwaway CA and server certificate in $TLS"
  (
    cd "$TLS"
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 \
      -keyout ca.key -out ca.crt -subj "/O=lmail tests/CN=lmail mailstack test CA" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -new -newkey rsa:2048 -nodes -sha256 \
      -keyout server.key -out server.csr -subj "/O=lmail tests/CN=localhost" 2>/dev/null
    cat >server.ext <<'EOF'
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
EOF
    openssl x509 -req -sha256 -days 30 -in server.csr -CA ca.crt -CAkey ca.key \
      -CAcreateserial -extfile server.ext -out server.crt 2>/dev/null
    rm -f server.csr ca.srl
  ) || die "openssl failed"
  chmod 644 "$TLS/ca.crt" "$TLS/server.crt"
  chmod 600 "$TLS/ca.key" "$TLS/server.key"
}
tls_perms() {
  # dovecot-lda (lda mode) runs as $MAILUSER and parses dovecot.conf, which
  # includes ssl_key: let that group read the throwaway server key.
  chown root:"$MAILUSER" "$TLS/server.key"; chmod 640 "$TLS/server.key"
}

# ---------------------------------------------------------------- configs

shq() { local q="'\\''"; printf "'%s'" "${1//\'/$q}"; }   # POSIX shell single-quoting
env_lines() {

  while (( $# )); do echo "export $1=$(shq "$2")"; shift 2; done
}
env_values() {
    env_lines \
      LMAIL_MAILSTACK_DIR "$STATE" \
      LMAIL_MS_MAIL_HOST "$HOST" \
      LMAIL_MS_MAIL_DOMAIN "$DOMAIN" \
      LMAIL_MS_SMTP_PORT "$SMTP_PORT" \
      LMAIL_MS_SUBMISSION_PORT "$SUBMISSION_PORT" \
      LMAIL_MS_SUBMISSIONS_PORT "$SUBMISSIONS_PORT" \
      LMAIL_MS_POP3_PORT "$POP3_PORT" \
      LMAIL_MS_POP3S_PORT "$POP3S_PORT" \
      LMAIL_MS_CAFILE "$TLS/ca.crt" \
      LMAIL_MS_ALICE_USER alice \
      LMAIL_MS_ALICE_PASS "$ALICE_PASS" \
      LMAIL_MS_ALICE_ADDR "alice@$DOMAIN" \
      LMAIL_MS_ALICE_MAILDIR "$MAIL/alice/Maildir" \
      LMAIL_MS_BOB_USER bob \
      LMAIL_MS_BOB_PASS "$BOB_PASS" \
      LMAIL_MS_BOB_ADDR "bob@$DOMAIN" \
      LMAIL_MS_BOB_MAILDIR "$MAIL/bob/Maildir" \
      LMAIL_MS_POSTFIX_LOG "$PFLOG" \
      LMAIL_MS_DOVECOT_LOG "$DVLOG" \
      LMAIL_MAILSTACK_DELIVERY "$DELIVERY"
}
write_env() {
  { echo "# written by spec/support/mailstack.sh up"; env_values; } >"$STATE/env.sh.tmp"
  mv "$STATE/env.sh.tmp" "$STATE/env.sh"
}

write_dovecot_conf() {
  local uid gid
  uid=$(id -u "$MAILUSER"); gid=$(id -g "$MAILUSER")
  mkdir -p "$STATE/dovecot" "$DVBASE" "$STATE/dovecot/state" "$RUN"
  chmod 755 "$STATE/dovecot" "$DVBASE" "$RUN"
  # passwd-file: PLAIN scheme so that CRAM-MD5 and APOP can work.
  umask 027
  printf 'alice:{PLAIN}%s\nbob:{PLAIN}%s\n' "$ALICE_PASS" "$BOB_PASS" >"$STATE/dovecot/users"
  umask 022
  chown root:dovecot "$STATE/dovecot/users"; chmod 640 "$STATE/dovecot/users"
  cat >"$DVCONF" <<EOF
# Private Dovecot instance for lmail tests -- generated by mailstack.sh, do not edit.
instance_name = lmail-mailstack
base_dir = $DVBASE
state_dir = $STATE/dovecot/state
log_path = $DVLOG
info_log_path = $DVLOG
debug_log_path = $DVLOG
auth_verbose = yes
auth_verbose_passwords = no
log_timestamp = "%Y-%m-%d %H:%M:%S "

protocols = pop3 lmtp
listen = 127.0.0.1
hostname = mail.$DOMAIN
login_greeting = lmail test Dovecot ready.
default_login_user = dovenull
default_internal_user = dovecot
shutdown_clients = yes

ssl = yes
ssl_cert = <$TLS/server.crt
ssl_key = <$TLS/server.key
ssl_min_protocol = TLSv1.2

# Plaintext mechanisms (USER/PASS, AUTH PLAIN, AUTH LOGIN) only after TLS.
# NOTE: Dovecot 2.3 counts a connection whose client IP equals the server IP
# (127.0.0.1 -> 127.0.0.1) as "secured", so on loopback this is NOT enforced.
# APOP and CRAM-MD5 are not plaintext mechanisms and work without TLS.
disable_plaintext_auth = yes
auth_mechanisms = plain login cram-md5 apop
auth_username_format = %Ln
# fail fast in tests (default 2s per failed attempt)
auth_failure_delay = 0

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n $STATE/dovecot/users
}
userdb {
  driver = static
  args = uid=$uid gid=$gid home=$MAIL/%n
}
mail_location = maildir:~/Maildir
mail_uid = $uid
mail_gid = $gid
first_valid_uid = $uid
last_valid_uid = $uid
first_valid_gid = $gid
last_valid_gid = $gid
mail_privileged_group =
mail_access_groups =

pop3_uidl_format = %08Xu%08Xv
pop3_no_flag_updates = no

service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $POP3_PORT
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = $POP3S_PORT
    ssl = yes
  }
}
service lmtp {
  unix_listener $RUN/lmtp {
    mode = 0660
    user = postfix
    group = postfix
  }
}
service auth {
  unix_listener $RUN/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
# No auth penalty (anvil delays logins from an IP by 2..15s after failures;
# tests fail passwords on purpose).  mode = 0 removes the socket.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
# nothing else listens on the network
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    port = 0
  }
}
protocol lmtp {
  postmaster_address = postmaster@$DOMAIN
}
# lda mode: dovecot-lda runs as $MAILUSER and writes its own log
protocol lda {
  postmaster_address = postmaster@$DOMAIN
  log_path = $STATE/dovecot/lda.log
  info_log_path = $STATE/dovecot/lda.log
  debug_log_path = $STATE/dovecot/lda.log
}
service stats {
  unix_listener stats-writer {
    mode = 0666
  }
}
EOF
}

write_postfix_conf() {
  mkdir -p "$PFCONF" "$PFQUEUE" "$PFDATA"
  chown root:root "$STATE/postfix" "$PFCONF" "$PFQUEUE"
  chmod 755 "$STATE/postfix" "$PFCONF" "$PFQUEUE"
  chown postfix:postfix "$PFDATA"; chmod 700 "$PFDATA"
  # local recipient table (texthash needs no postmap)
  printf 'alice\tx\nbob\tx\npostmaster\tx\n' >"$PFCONF/local_recipients"
  printf 'postmaster\talice\n' >"$PFCONF/aliases_virtual"
  cat >"$PFCONF/main.cf" <<EOF
# Private Postfix instance for lmail tests -- generated by mailstack.sh, do not edit.
compatibility_level = 3.6
config_directory = $PFCONF
queue_directory = $PFQUEUE
data_directory = $PFDATA
mail_owner = postfix
setgid_group = postdrop
maillog_file = $PFLOG
maillog_file_prefixes = $STATE
syslog_name = lmail-postfix

myhostname = mail.$DOMAIN
mydomain = $DOMAIN
myorigin = \$mydomain
mydestination = localhost, localhost.localdomain, $DOMAIN
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
smtputf8_enable = yes
biff = no
readme_directory = no
message_size_limit = 52428800
mailbox_size_limit = 0

# No DNS, no outbound mail.
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
default_transport = error:outbound mail disabled (lmail test stack)
relay_transport = error:outbound mail disabled (lmail test stack)

# Local users are Dovecot users, delivered over LMTP.
alias_maps =
alias_database =
virtual_alias_maps = texthash:$PFCONF/aliases_virtual
local_recipient_maps = texthash:$PFCONF/local_recipients
local_transport = $( [[ $DELIVERY == lmtp ]] && echo "lmtp:unix:$RUN/lmtp" || echo "dovecot-lda" )
dovecot-lda_destination_recipient_limit = 1
lmtp_destination_recipient_limit = 50

# Unknown users: per-recipient 550; relay: denied unless authenticated.
unknown_local_recipient_reject_code = 550
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions = reject_unlisted_recipient
smtpd_helo_required = no
smtpd_delay_reject = yes

# TLS (port-specific levels are set in master.cf)
smtpd_tls_cert_file = $TLS/server.crt
smtpd_tls_key_file = $TLS/server.key
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_tls_protocols = >=TLSv1.2
smtp_tls_security_level = none

# SASL via Dovecot (enabled per port in master.cf)
smtpd_sasl_type = dovecot
smtpd_sasl_path = $RUN/auth
smtpd_sasl_auth_enable = no
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
smtpd_tls_auth_only = yes
broken_sasl_auth_clients = no
EOF
  cat >"$PFCONF/master.cf" <<EOF
# Private Postfix instance for lmail tests -- generated by mailstack.sh, do not edit.
# service type  private unpriv  chroot  wakeup  maxproc command + args
$HOST:$SMTP_PORT inet n - n - - smtpd
  -o syslog_name=lmail-postfix/smtp
$HOST:$SUBMISSION_PORT inet n - n - - smtpd
  -o syslog_name=lmail-postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=
  -o smtpd_recipient_restrictions=reject_unlisted_recipient,permit_sasl_authenticated,reject
$HOST:$SUBMISSIONS_PORT inet n - n - - smtpd
  -o syslog_name=lmail-postfix/submissions
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_recipient_restrictions=reject_unlisted_recipient,permit_sasl_authenticated,reject
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
dovecot-lda unix -      n       n       -       -       pipe
  flags=DRXhu user=$MAILUSER:$MAILUSER argv=/usr/lib/dovecot/dovecot-lda -c $DVCONF -f \${sender} -a \${original_recipient} -d \${user}
EOF
  # sanity: Postfix must accept the configuration
  postconf -c "$PFCONF" -n >/dev/null 2>"$STATE/postfix/postconf.err" ||
    { cat "$STATE/postfix/postconf.err" >&2; die "postconf rejected main.cf"; }
  if [[ -s $STATE/postfix/postconf.err ]]; then
    say "postconf warnings:"; cat "$STATE/postfix/postconf.err" >&2
  fi
}

make_maildirs() {
  local u
  mkdir -p "$MAIL"; chmod 755 "$MAIL"
  for u in alice bob; do
    if [[ ${LMAIL_MAILSTACK_KEEP_MAIL:-0} != 1 ]]; then
      rm -rf "${MAIL:?}/$u"
    fi
    mkdir -p "$MAIL/$u/Maildir/"{cur,new,tmp}
    chown -R "$MAILUSER:$MAILUSER" "$MAIL/$u"
    chmod 700 "$MAIL/$u" "$MAIL/$u/Maildir"
  done
}

# ---------------------------------------------------------------- commands

log_tails() {
  say "---- last lines of $PFLOG"; tail -n 25 "$PFLOG" >&2 2>/dev/null || true
  say "---- last lines of $DVLOG"; tail -n 25 "$DVLOG" >&2 2>/dev/null || true
  if [[ $DELIVERY == lda ]]; then
    say "---- last lines of $STATE/dovecot/lda.log"; tail -n 10 "$STATE/dovecot/lda.log" >&2 2>/dev/null || true
  fi
}

is_up() {
  local p d
  p=$(postfix_pid); d=$(dovecot_pid)
  is_pid_ours postfix "$p" || is_pid_ours dovecot "$d"
}

cmd_down() {
  local p d w
  w=$(read_pid "$PIDS/watchdog.pid")
  if [[ -n ${LMAIL_MAILSTACK_WATCHDOG_SELF:-} && $w != "$LMAIL_MAILSTACK_WATCHDOG_SELF" ]]; then
    say "watchdog $LMAIL_MAILSTACK_WATCHDOG_SELF is stale (stack restarted since): nothing to do"
    return 0
  fi
  if [[ -n $w && $w != "${LMAIL_MAILSTACK_WATCHDOG_SELF:-}" ]] && is_pid_ours watchdog "$w"; then
    kill -TERM "$w" 2>/dev/null || true
    wait_gone "$w" 5 || true
  fi
  rm -f "$PIDS/watchdog.pid"
  p=$(postfix_pid)
  [[ -n $p ]] || p=$(read_pid "$PIDS/postfix.pid")
  d=$(dovecot_pid)
  [[ -n $d ]] || d=$(read_pid "$PIDS/dovecot.pid")
  local did=0
  if is_pid_ours postfix "$p"; then
    say "stopping postfix master $p"; did=1
    stop_pid postfix "$p"
  fi
  if is_pid_ours dovecot "$d"; then
    say "stopping dovecot master $d"; did=1
    stop_pid dovecot "$d"
  fi
  rm -f "$PIDS/postfix.pid" "$PIDS/dovecot.pid"
  (( did )) && say "down" || say "already down"
  return 0
}

cmd_up() {
  [[ $(id -u) == 0 ]] || die "up must run as root (packages, useradd, daemons)"
  install_packages
  ensure_user
  if is_up; then
    say "already up: restarting"
    cmd_down
  fi
  local port
  for port in "$SMTP_PORT" "$SUBMISSION_PORT" "$SUBMISSIONS_PORT" "$POP3_PORT" "$POP3S_PORT"; do
    port_open "$port" && die "port $HOST:$port is already in use by something else"
  done
  mkdir -p "$STATE" "$PIDS"; chmod 755 "$STATE"
  rm -f "$STATE/env.sh"
  # postfix (smtpd, lmtp) must reach the sockets in $RUN
  runuser -u postfix -- test -x "$STATE" ||
    die "$STATE is not reachable by user postfix (a parent dir is not world-searchable)"
  make_tls
  tls_perms
  write_dovecot_conf
  write_postfix_conf
  make_maildirs
  rm -f "$RUN/lmtp" "$RUN/auth"
  # stale sockets matter: a leftover anvil-auth-penalty socket makes the auth
  # process retry it for ~5s (ECONNREFUSED) before answering any login.
  rm -rf "${DVBASE:?}"; mkdir -p "$DVBASE"; chmod 755 "$DVBASE"
  : >"$PFLOG"; : >"$DVLOG"; : >"$STATE/dovecot/start.log"; : >"$STATE/postfix/start.log"; : >"$STATE/dovecot/lda.log"
  chmod 644 "$PFLOG" "$DVLOG" "$STATE/dovecot/lda.log"
  chown "$MAILUSER:$MAILUSER" "$STATE/dovecot/lda.log"

  # Dovecot first (Postfix needs its auth and lmtp sockets).
  doveconf -c "$DVCONF" -n >/dev/null 2>"$STATE/dovecot/doveconf.err" ||
    { cat "$STATE/dovecot/doveconf.err" >&2; die "doveconf rejected $DVCONF"; }
  # 9>&-: the daemons and the watchdog must not inherit the lock fd
  # and must not keep the caller's stdout/stderr open (`up | tee` would hang)
  dovecot -c "$DVCONF" </dev/null >>"$STATE/dovecot/start.log" 2>&1 9>&- || {
    cat "$STATE/dovecot/start.log" >&2; log_tails; die "dovecot failed to start"; }
  postfix -c "$PFCONF" check >>"$STATE/postfix/start.log" 2>&1 || true
  if ! postfix -c "$PFCONF" start </dev/null >>"$STATE/postfix/start.log" 2>&1 9>&-; then
    cat "$STATE/postfix/start.log" >&2; log_tails; cmd_down; die "postfix failed to start"
  fi

  # Readiness: every port answers and both sockets exist.
  local deadline=$((SECONDS + WAIT)) ok=0 notready=""
  while (( SECONDS < deadline )); do
    notready=""
    for port in "$SMTP_PORT" "$SUBMISSION_PORT" "$SUBMISSIONS_PORT" "$POP3_PORT" "$POP3S_PORT"; do
      port_open "$port" || notready+=" $HOST:$port"
    done
    [[ -S $RUN/lmtp ]] || notready+=" $RUN/lmtp"
    [[ -S $RUN/auth ]] || notready+=" $RUN/auth"
    [[ -z $notready ]] && { ok=1; break; }
    sleep 0.1
  done
  if (( ! ok )); then
    say "not ready after ${WAIT}s:$notready"
    cat "$STATE/postfix/start.log" >&2 2>/dev/null || true
    log_tails
    cmd_down
    die "mail stack did not come up"
  fi
  local p d
  p=$(postfix_pid); d=$(dovecot_pid)
  is_pid_ours postfix "$p" || { log_tails; die "postfix master pid not found"; }
  is_pid_ours dovecot "$d" || { log_tails; die "dovecot master pid not found"; }
  echo "$p" >"$PIDS/postfix.pid"
  echo "$d" >"$PIDS/dovecot.pid"
  write_env

  # Watchdog: stops the stack after $TTL seconds even if down is never called.
  LMAIL_MAILSTACK_WATCHDOG=$STATE LMAIL_MAILSTACK_DIR=$STATE setsid bash -c '
    trap "kill \$sp 2>/dev/null; exit 0" TERM INT
    sleep "$1" & sp=$!
    wait $sp
    LMAIL_MAILSTACK_WATCHDOG_SELF=$$ exec "$2" down
  ' lmail-mailstack-watchdog "$TTL" "$SCRIPT" </dev/null >>"$STATE/watchdog.log" 2>&1 9>&- &
  echo $! >"$PIDS/watchdog.pid"
  say "up: postfix $p, dovecot $d, watchdog $! (ttl ${TTL}s); eval \"\$($SCRIPT env)\""
}

cmd_status() {
  local p d w rc=0
  p=$(postfix_pid); d=$(dovecot_pid); w=$(read_pid "$PIDS/watchdog.pid")
  if is_pid_ours postfix "$p"; then echo "postfix: running (master pid $p)"; else echo "postfix: stopped"; rc=3; fi
  if is_pid_ours dovecot "$d"; then echo "dovecot: running (master pid $d)"; else echo "dovecot: stopped"; rc=3; fi
  if is_pid_ours watchdog "$w"; then echo "watchdog: pid $w"; else echo "watchdog: none"; fi
  local name port
  for name in SMTP_PORT SUBMISSION_PORT SUBMISSIONS_PORT POP3_PORT POP3S_PORT; do
    port=${!name}
    if port_open "$port"; then echo "$name $HOST:$port open"; else echo "$name $HOST:$port closed"; fi
  done
  echo "state dir: $STATE"
  return $rc
}

cmd_env() {
  if [[ -r $STATE/env.sh ]]; then
    grep '^export ' "$STATE/env.sh"
  else
    env_values  # not up yet: what `up` would use with the current environment
  fi
}

case ${1:-} in
  up)     mkdir -p "$STATE"; exec 9>"$STATE.lock"; flock -w 120 9 || die "lock busy"; cmd_up ;;
  down)   [[ -d $STATE ]] || { say "already down (no $STATE)"; exit 0; }
          exec 9>"$STATE.lock"; flock -w 120 9 || die "lock busy"; cmd_down ;;
  status) cmd_status ;;
  env)    cmd_env ;;
  clean)  if [[ -d $STATE ]]; then exec 9>"$STATE.lock"; flock -w 120 9 || die "lock busy"; cmd_down; rm -rf "${STATE:?}"; fi
          rm -f "$STATE.lock"; say "removed $STATE" ;;
  *)      sed -n '2,/^set -euo/p' "$SCRIPT" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
