#!/usr/bin/env python3
"""Self-check for spec/support/mailstack.sh (python3 standard library only).

Run after `spec/support/mailstack.sh up`:

    python3 spec/support/mailstack_check.py

Configuration comes from the LMAIL_* environment variables printed by
`mailstack.sh env`; missing ones are read from $LMAIL_MAILSTACK_DIR/env.sh
(default /tmp/lmail-mailstack/env.sh).  Exits non-zero with a clear message on
the first failure.  The mailboxes of alice and bob are emptied first and at
the end, so the check can be run repeatedly.
"""

import base64
import hashlib
import hmac
import os
import poplib
import re
import shlex
import smtplib
import socket
import ssl
import subprocess
import sys
import time
import uuid

VERBOSE = "-q" not in sys.argv[1:]
CHECKS = 0


class CheckFailed(Exception):
    pass


def ok(msg):
    global CHECKS
    CHECKS += 1
    if VERBOSE:
        print("  ok  " + msg)


def expect(cond, msg):
    if not cond:
        raise CheckFailed(msg)
    ok(msg)


def info(msg):
    if VERBOSE:
        print("  --  " + msg)


def load_env():
    env = {}
    path = os.path.join(os.environ.get("LMAIL_MAILSTACK_DIR", "/tmp/lmail-mailstack"), "env.sh")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("export "):
                    k, _, v = line[7:].partition("=")
                    env[k] = shlex.split(v)[0] if v else ""
    for k, v in os.environ.items():
        if k.startswith("LMAIL_"):
            env[k] = v
    need = ["LMAIL_MS_MAIL_HOST", "LMAIL_MS_SMTP_PORT", "LMAIL_MS_SUBMISSION_PORT", "LMAIL_MS_SUBMISSIONS_PORT",
            "LMAIL_MS_POP3_PORT", "LMAIL_MS_POP3S_PORT", "LMAIL_MS_CAFILE", "LMAIL_MS_ALICE_USER",
            "LMAIL_MS_ALICE_PASS", "LMAIL_MS_ALICE_ADDR", "LMAIL_MS_BOB_USER", "LMAIL_MS_BOB_PASS",
            "LMAIL_MS_BOB_ADDR", "LMAIL_MS_ALICE_MAILDIR", "LMAIL_MS_BOB_MAILDIR"]
    missing = [k for k in need if k not in env]
    if missing:
        raise CheckFailed("missing settings %s (is the stack up? see %s)" % (missing, path))
    return env


E = {}
UTF8_BODY = "Grüße, ñandú, 日本語 — 8-bit body.\r\n"
UTF8_HDR = "X-Utf8: Zoë Ünïcödé\r\n"
TIMEOUT = 15


def ctx():
    c = ssl.create_default_context(cafile=E["LMAIL_MS_CAFILE"])  # verifies chain + hostname
    return c


def host():
    return E["LMAIL_MS_MAIL_HOST"]


def port(name):
    return int(E["LMAIL_%s_PORT" % name])


def make_msg(frm, to, subject, body="Hello from mailstack_check.\r\n", extra=b""):
    hdr = "From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@example.test>\r\n" \
          "Date: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n" \
          % (frm, to, subject, uuid.uuid4().hex, time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()))
    return hdr.encode() + extra + b"\r\n" + body.encode("utf-8")


# ------------------------------------------------------------------ SMTP

def smtp_checks(tag):
    alice, bob = E["LMAIL_MS_ALICE_ADDR"], E["LMAIL_MS_BOB_ADDR"]
    apw = E["LMAIL_MS_ALICE_PASS"]
    sent = {"alice": [], "bob": []}

    # --- submission: STARTTLS required, AUTH only after TLS
    s = smtplib.SMTP(host(), port("SUBMISSION"), local_hostname="client.example.test", timeout=TIMEOUT)
    s.ehlo()
    expect(s.has_extn("starttls"), "submission: STARTTLS advertised")
    expect(not s.has_extn("auth"), "submission: AUTH not advertised before TLS (smtpd_tls_auth_only)")
    code, resp = s.mail(alice)
    expect(code == 530, "submission: MAIL before STARTTLS refused with 530 (%d %s)" % (code, resp.decode()))
    s.rset()
    s.starttls(context=ctx())  # server_hostname = 127.0.0.1 -> IP SAN verified against the CA
    s.ehlo()
    ok("submission: STARTTLS handshake verified against %s (IP SAN 127.0.0.1)" % E["LMAIL_MS_CAFILE"])
    for ext in ("auth", "pipelining", "8bitmime", "smtputf8", "chunking", "dsn", "size", "enhancedstatuscodes"):
        expect(s.has_extn(ext), "submission after TLS: %s advertised" % ext.upper())
    mechs = s.esmtp_features["auth"].upper().split()
    for m in ("PLAIN", "LOGIN", "CRAM-MD5"):
        expect(m in mechs, "submission: AUTH %s offered (%s)" % (m, " ".join(mechs)))
    expect(s.esmtp_features["size"].strip() == "52428800", "submission: SIZE 52428800")
    s.quit()

    for mech, meth in (("PLAIN", "auth_plain"), ("LOGIN", "auth_login"), ("CRAM-MD5", "auth_cram_md5")):
        s = smtplib.SMTP(host(), port("SUBMISSION"), local_hostname="client.example.test", timeout=TIMEOUT)
        s.starttls(context=ctx())
        s.ehlo()
        s.user, s.password = E["LMAIL_MS_ALICE_USER"], apw
        code, resp = s.auth(mech, getattr(s, meth), initial_response_ok=True)
        expect(code == 235, "submission: AUTH %s as alice -> 235" % mech)
        subj = "%s submission AUTH %s" % (tag, mech)
        refused = s.sendmail(alice, [alice], make_msg(alice, alice, subj))
        expect(refused == {}, "submission: message to alice accepted (%s)" % mech)
        sent["alice"].append(subj)
        s.quit()

    # wrong password -> 535
    s = smtplib.SMTP(host(), port("SUBMISSION"), timeout=TIMEOUT)
    s.starttls(context=ctx())
    s.ehlo()
    s.user, s.password = E["LMAIL_MS_ALICE_USER"], apw + "-wrong"
    try:
        s.auth("PLAIN", s.auth_plain)
        raise CheckFailed("submission: wrong password was accepted")
    except smtplib.SMTPAuthenticationError as e:
        expect(e.smtp_code == 535, "submission: wrong password -> 535 (%s)" % e.smtp_error.decode())
    s.close()

    # unauthenticated submission is refused
    s = smtplib.SMTP(host(), port("SUBMISSION"), timeout=TIMEOUT)
    s.starttls(context=ctx())
    s.ehlo()
    s.mail(bob)
    code, resp = s.rcpt(alice)
    expect(code in (554, 553, 550, 530), "submission: RCPT without AUTH refused (%d %s)" % (code, resp.decode()))
    s.close()

    # --- submissions: implicit TLS, verified with the name "localhost" too
    s = smtplib.SMTP_SSL(host(), port("SUBMISSIONS"), context=ctx(), timeout=TIMEOUT)
    s.ehlo()
    expect("PLAIN" in s.esmtp_features.get("auth", "").upper(), "submissions (implicit TLS): AUTH offered")
    s.login(E["LMAIL_MS_ALICE_USER"], apw)
    subj = "%s submissions implicit TLS" % tag
    expect(s.sendmail(alice, [alice], make_msg(alice, alice, subj)) == {},
           "submissions: AUTH + message to alice accepted")
    sent["alice"].append(subj)
    # unknown recipient: per-recipient 550, bob still gets it
    subj = "%s unknown recipient + bob" % tag
    refused = s.sendmail(alice, ["nosuchuser@example.test", bob],
                         make_msg(alice, "nosuchuser@example.test, " + bob, subj))
    r = refused.get("nosuchuser@example.test")
    expect(r is not None and r[0] == 550 and list(refused) == ["nosuchuser@example.test"],
           "submissions: unknown recipient -> 550 (%s), bob accepted" % (r[1].decode() if r else refused))
    sent["bob"].append(subj)
    s.mail(alice)
    code, resp = s.rcpt("someone@elsewhere.invalid")
    expect(code == 550, "submissions: authenticated relay refused at RCPT (%d %s)" % (code, resp.decode()))
    s.rset()
    s.quit()

    # hostname "localhost" (DNS SAN) over implicit TLS, raw socket
    raw = socket.create_connection((host(), port("SUBMISSIONS")), timeout=TIMEOUT)
    tls = ctx().wrap_socket(raw, server_hostname="localhost")
    greet = tls.recv(512)
    expect(greet.startswith(b"220"), "submissions: certificate verifies for name 'localhost' (%s)" % tls.version())
    tls.close()

    # --- port SMTP: plain, STARTTLS optional, no AUTH, relay denied, local users accepted
    s = smtplib.SMTP(host(), port("SMTP"), local_hostname="client.example.test", timeout=TIMEOUT)
    s.ehlo()
    expect(s.has_extn("starttls") and not s.has_extn("auth"), "smtp: STARTTLS offered, AUTH not offered")
    s.mail(bob)
    code, resp = s.rcpt("someone@elsewhere.invalid")
    expect(code == 554 and b"Relay access denied" in resp, "smtp: relay denied (%d %s)" % (code, resp.decode()))
    code, resp = s.rcpt("ghost@example.test")
    expect(code == 550, "smtp: unknown local recipient -> 550 (%s)" % resp.decode())
    s.rset()
    # 8BITMIME + SMTPUTF8 with an 8-bit UTF-8 body (ASCII headers), no TLS
    subj = "%s smtp plaintext 8bit" % tag
    refused = s.sendmail(bob, [bob], make_msg(bob, bob, subj, body=UTF8_BODY),
                         mail_options=["BODY=8BITMIME", "SMTPUTF8"])
    expect(refused == {}, "smtp: 8BITMIME+SMTPUTF8 message (8-bit body) to bob accepted without TLS")
    sent["bob"].append(subj)
    # UTF-8 in a header: needs SMTPUTF8 on every hop
    subj = "%s smtp utf8 header" % tag
    lda = E.get("LMAIL_MAILSTACK_DELIVERY", "lmtp") == "lda"
    # Sender in a non-local domain: in lmtp mode the expected bounce goes to the
    # error transport and is dropped, so no mailbox gets extra mail.  (A null
    # sender would NOT show the problem: Postfix then delivers to the
    # non-SMTPUTF8 LMTP server anyway.)
    frm = "utf8-sender@elsewhere.invalid"
    refused = s.sendmail(frm, [bob], make_msg(bob, bob, subj, body=UTF8_BODY, extra=UTF8_HDR.encode()),
                         mail_options=["BODY=8BITMIME", "SMTPUTF8"])
    expect(refused == {}, "smtp: SMTPUTF8 message with UTF-8 header accepted by Postfix")
    if lda:
        sent["bob"].append(subj)
        sent["utf8hdr"] = subj
    else:
        info("lmtp mode: Dovecot 2.3 LMTP lacks SMTPUTF8, Postfix will bounce that one (dsn 5.6.7)")
        sent["utf8bounce"] = subj
    s.quit()

    # plain SMTP with STARTTLS (security level may)
    s = smtplib.SMTP(host(), port("SMTP"), timeout=TIMEOUT)
    s.starttls(context=ctx())
    subj = "%s smtp starttls" % tag
    expect(s.sendmail(bob, [alice], make_msg(bob, alice, subj)) == {}, "smtp: STARTTLS + message to alice")
    sent["alice"].append(subj)
    s.quit()

    # BDAT (CHUNKING) by hand, pipelined MAIL/RCPT
    sock = socket.create_connection((host(), port("SMTP")), timeout=TIMEOUT)
    f = sock.makefile("rb")

    def reply():
        lines = []
        while True:
            line = f.readline()
            if not line:
                raise CheckFailed("smtp: connection closed")
            lines.append(line)
            if line[3:4] != b"-":
                return int(line[:3]), lines
    reply()
    sock.sendall(b"EHLO client.example.test\r\n")
    code, lines = reply()
    subj = "%s smtp BDAT pipelined" % tag
    data = make_msg(bob, alice, subj)
    sock.sendall(b"MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nBDAT %d LAST\r\n" % (bob.encode(), alice.encode(), len(data)) + data)
    codes = [reply()[0] for _ in range(3)]
    expect(codes == [250, 250, 250], "smtp: pipelined MAIL/RCPT/BDAT LAST -> %s" % codes)
    sent["alice"].append(subj)
    sock.sendall(b"QUIT\r\n")
    reply()
    sock.close()
    return sent


# ------------------------------------------------------------------ POP3

def maildir_count(path):
    n = 0
    for sub in ("new", "cur"):
        try:
            n += len([x for x in os.listdir(os.path.join(path, sub)) if not x.startswith(".")])
        except FileNotFoundError:
            pass
    return n


def wait_queue_empty(secs=30):
    """Wait until the private Postfix queue is empty (all deliveries/bounces done)."""
    conf = os.path.join(E.get("LMAIL_MAILSTACK_DIR", "/tmp/lmail-mailstack"), "postfix", "etc")
    if not os.path.exists(os.path.join(conf, "main.cf")):
        info("no %s/main.cf: not waiting for the Postfix queue" % conf)
        return
    deadline = time.time() + secs
    out = ""
    while time.time() < deadline:
        r = subprocess.run(["postqueue", "-c", conf, "-j"], capture_output=True, text=True, timeout=TIMEOUT)
        out = r.stdout.strip()
        if r.returncode == 0 and not out:
            ok("postfix queue empty")
            return
        time.sleep(0.1)
    raise CheckFailed("postfix queue not empty after %ds: %s" % (secs, out[:1000]))


def wait_delivery(who, count, secs=30):
    path = E["LMAIL_%s_MAILDIR" % who.upper()]
    deadline = time.time() + secs
    while time.time() < deadline:
        n = maildir_count(path)
        if n >= count:
            expect(n == count, "delivery: %s has %d message(s) in %s" % (who, n, path))
            return
        time.sleep(0.1)
    raise CheckFailed("delivery: %s has %d of %d messages after %ds (see LMAIL_MS_POSTFIX_LOG)"
                      % (who, maildir_count(path), count, secs))


def pop_login_userpass(p, who):
    p.user(E["LMAIL_%s_USER" % who.upper()])
    p.pass_(E["LMAIL_%s_PASS" % who.upper()])


def subjects(p):
    resp, listing, _ = p.list()
    out = {}
    for item in listing:
        num = int(item.split()[0])
        resp, lines, octets = p.retr(num)
        subj = [l for l in lines if l.lower().startswith(b"subject:")]
        out[num] = subj[0][8:].strip().decode("utf-8", "replace") if subj else ""
    return out


def uidl_map(p):
    resp, lines, _ = p.uidl()
    return {int(a): b.decode() for a, b in (l.split() for l in lines)}


def sasl_auth(p, who, mech):
    """AUTH PLAIN / CRAM-MD5 with raw commands (poplib has no AUTH)."""
    user, pw = E["LMAIL_%s_USER" % who.upper()], E["LMAIL_%s_PASS" % who.upper()]
    if mech == "PLAIN":
        tok = base64.b64encode(b"\0" + user.encode() + b"\0" + pw.encode()).decode()
        return p._shortcmd("AUTH PLAIN " + tok)
    if mech == "CRAM-MD5":
        resp = p._shortcmd("AUTH CRAM-MD5")  # "+ <base64 challenge>"
        chal = base64.b64decode(resp[1:].strip())
        digest = hmac.new(pw.encode(), chal, hashlib.md5).hexdigest()
        return p._shortcmd(base64.b64encode(("%s %s" % (user, digest)).encode()).decode())
    raise ValueError(mech)


def pop_checks(sent):
    alice_subjects = sorted(sent["alice"])

    # --- STLS + USER/PASS
    p = poplib.POP3(host(), port("POP3"), timeout=TIMEOUT)
    greet = p.getwelcome()
    expect(re.search(rb"<[^>]+@[^>]+>", greet) is not None, "pop3: greeting carries an APOP timestamp (%s)" % greet.decode())
    caps = p.capa()
    for c in ("STLS", "UIDL", "PIPELINING", "TOP", "USER", "SASL"):
        expect(c in caps, "pop3: CAPA %s" % c)
    info("pop3 CAPA before TLS: SASL %s" % " ".join(caps.get("SASL", [])))
    p.stls(context=ctx())
    ok("pop3: STLS handshake verified against the CA")
    caps = p.capa()
    expect({"PLAIN", "LOGIN", "CRAM-MD5"} <= set(caps.get("SASL", [])), "pop3 after STLS: SASL %s" % " ".join(caps["SASL"]))
    pop_login_userpass(p, "alice")
    ok("pop3: USER/PASS after STLS")
    count, size = p.stat()
    expect(count == len(alice_subjects), "pop3: STAT %d messages, %d octets" % (count, size))
    got = subjects(p)
    expect(sorted(got.values()) == alice_subjects, "pop3: RETR returns all %d messages to alice" % count)
    u1 = uidl_map(p)
    expect(len(u1) == count and len(set(u1.values())) == count, "pop3: UIDL lists %d unique ids" % count)
    resp, lines, _ = p.top(1, 0)
    expect(any(l.lower().startswith(b"subject:") for l in lines), "pop3: TOP 1 0 returns headers")
    p.quit()

    # --- APOP without TLS (non-plaintext mechanism)
    p = poplib.POP3(host(), port("POP3"), timeout=TIMEOUT)
    p.apop(E["LMAIL_MS_ALICE_USER"], E["LMAIL_MS_ALICE_PASS"])
    ok("pop3: APOP without TLS")
    u2 = uidl_map(p)
    expect(u2 == u1, "pop3: UIDL stable across sessions")
    # PIPELINING: three commands in one write
    p.sock.sendall(b"STAT\r\nUIDL 1\r\nNOOP\r\n")
    r = [p._getresp() for _ in range(3)]
    expect(all(x.startswith(b"+OK") for x in r) and r[1].split()[2].decode() == u1[1],
           "pop3: pipelined STAT/UIDL 1/NOOP answered in order")
    p.quit()

    # --- wrong APOP digest / wrong password
    p = poplib.POP3(host(), port("POP3"), timeout=TIMEOUT)
    try:
        p.apop(E["LMAIL_MS_ALICE_USER"], "wrong-password")
        raise CheckFailed("pop3: APOP with wrong password accepted")
    except poplib.error_proto as e:
        expect(str(e).find("-ERR") >= 0, "pop3: APOP wrong password -> %s" % e)
    p.close()

    # --- AUTH PLAIN and AUTH CRAM-MD5 after STLS (raw commands)
    for mech in ("PLAIN", "CRAM-MD5"):
        p = poplib.POP3(host(), port("POP3"), timeout=TIMEOUT)
        p.stls(context=ctx())
        r = sasl_auth(p, "alice", mech)
        expect(r.startswith(b"+OK"), "pop3: AUTH %s after STLS (%s)" % (mech, r.decode()))
        expect(uidl_map(p) == u1, "pop3: UIDL after AUTH %s unchanged" % mech)
        p.quit()
    # CRAM-MD5 also without TLS
    p = poplib.POP3(host(), port("POP3"), timeout=TIMEOUT)
    r = sasl_auth(p, "alice", "CRAM-MD5")
    expect(r.startswith(b"+OK"), "pop3: AUTH CRAM-MD5 without TLS")
    p.quit()

    # --- informational: cleartext USER/PASS on loopback without TLS
    p = poplib.POP3(host(), port("POP3"), timeout=TIMEOUT)
    try:
        p.user(E["LMAIL_MS_ALICE_USER"])
        p.pass_(E["LMAIL_MS_ALICE_PASS"])
        info("pop3: USER/PASS WITHOUT TLS is accepted from 127.0.0.1 (Dovecot treats "
             "client IP == server IP as secured; clients must enforce TLS themselves)")
        p.quit()
    except poplib.error_proto as e:
        info("pop3: USER/PASS without TLS refused: %s" % e)
        p.close()

    # --- POP3S: wrong password, then list/retrieve, DELE + QUIT empties
    p = poplib.POP3_SSL(host(), port("POP3S"), context=ctx(), timeout=TIMEOUT)
    p.user(E["LMAIL_MS_ALICE_USER"])
    try:
        p.pass_("wrong-password")
        raise CheckFailed("pop3s: wrong password accepted")
    except poplib.error_proto as e:
        expect(b"-ERR" in e.args[0], "pop3s: wrong password -> %s" % e.args[0].decode())
    p.close()

    p = poplib.POP3_SSL(host(), port("POP3S"), context=ctx(), timeout=TIMEOUT)
    pop_login_userpass(p, "alice")
    ok("pop3s: implicit TLS verified, USER/PASS")
    got = subjects(p)
    expect(sorted(got.values()) == alice_subjects, "pop3s: RETR returns all alice messages")
    expect(uidl_map(p) == u1, "pop3s: UIDL same as over STLS")
    for n in got:
        p.dele(n)
    p.quit()
    ok("pop3s: DELE all + QUIT")
    p = poplib.POP3_SSL(host(), port("POP3S"), context=ctx(), timeout=TIMEOUT)
    pop_login_userpass(p, "alice")
    expect(p.stat()[0] == 0, "pop3s: alice mailbox empty after DELE+QUIT")
    p.quit()
    expect(maildir_count(E["LMAIL_MS_ALICE_MAILDIR"]) == 0, "maildir: alice Maildir empty")

    # --- bob over POP3S with name 'localhost'
    raw = socket.create_connection((host(), port("POP3S")), timeout=TIMEOUT)
    tls = ctx().wrap_socket(raw, server_hostname="localhost")
    expect(tls.recv(512).startswith(b"+OK"), "pop3s: certificate verifies for name 'localhost'")
    tls.close()
    p = poplib.POP3_SSL(host(), port("POP3S"), context=ctx(), timeout=TIMEOUT)
    pop_login_userpass(p, "bob")
    got = subjects(p)
    expect(sorted(got.values()) == sorted(sent["bob"]), "pop3s: bob has exactly %s" % sorted(sent["bob"]))
    resp, lines, _ = p.retr([n for n, s in got.items() if "8bit" in s][0])
    expect(UTF8_BODY.strip().encode() in b"\r\n".join(lines), "pop3s: 8-bit UTF-8 body delivered unchanged")
    if "utf8hdr" in sent:
        resp, lines, _ = p.retr([n for n, s in got.items() if s == sent["utf8hdr"]][0])
        expect(UTF8_HDR.strip().encode() in lines, "pop3s: raw UTF-8 header delivered unchanged (lda mode)")
    for n in got:
        p.dele(n)
    p.quit()
    expect(maildir_count(E["LMAIL_MS_BOB_MAILDIR"]) == 0, "maildir: bob Maildir empty after DELE+QUIT")


def openssl_checks():
    """`openssl s_client` against every TLS port: chain verified against the CA."""
    cases = [("SUBMISSION", ["-starttls", "smtp"], b"QUIT\r\n"),
             ("SUBMISSIONS", [], b"QUIT\r\n"),
             ("SMTP", ["-starttls", "smtp"], b"QUIT\r\n"),
             ("POP3", ["-starttls", "pop3"], b"QUIT\r\n"),
             ("POP3S", [], b"QUIT\r\n")]
    for name, extra, stdin in cases:
        for verify in (["-verify_hostname", "localhost"], ["-verify_ip", host()]):
            cmd = ["openssl", "s_client", "-connect", "%s:%d" % (host(), port(name)), "-brief",
                   "-CAfile", E["LMAIL_MS_CAFILE"], "-verify_return_error"] + verify + extra
            r = subprocess.run(cmd, input=stdin, capture_output=True, timeout=TIMEOUT)
            out = (r.stdout + r.stderr).decode("utf-8", "replace")
            expect(r.returncode == 0 and "Verification: OK" in out,
                   "openssl s_client %s %s %s: verified (%s)" % (
                       name, " ".join(extra), " ".join(verify),
                       "; ".join(l for l in out.splitlines() if l.startswith("Protocol version")) or out[-200:]))


def negative_tls_check():
    """The system trust store must NOT accept the server: verification is real."""
    raw = socket.create_connection((host(), port("POP3S")), timeout=TIMEOUT)
    try:
        ssl.create_default_context().wrap_socket(raw, server_hostname="localhost")
        raise CheckFailed("pop3s: certificate accepted by the system CA store (should fail)")
    except ssl.SSLCertVerificationError as e:
        ok("pop3s: system CA store rejects the server certificate (%s)" % e.verify_message)
    finally:
        raw.close()
    raw = socket.create_connection((host(), port("SUBMISSIONS")), timeout=TIMEOUT)
    try:
        ctx().wrap_socket(raw, server_hostname="mail.example.org")
        raise CheckFailed("submissions: certificate accepted for a wrong host name")
    except ssl.SSLCertVerificationError as e:
        ok("submissions: wrong host name rejected (%s)" % e.verify_message)
    finally:
        raw.close()


def empty_mailboxes():
    for who in ("alice", "bob"):
        p = poplib.POP3_SSL(host(), port("POP3S"), context=ctx(), timeout=TIMEOUT)
        pop_login_userpass(p, who)
        n = p.stat()[0]
        for i in range(1, n + 1):
            p.dele(i)
        p.quit()
        if n:
            info("emptied %d old message(s) of %s" % (n, who))


def main():
    global E
    t0 = time.time()
    try:
        E = load_env()
        print("mailstack_check: %s (SMTP %s, submission %s, submissions %s, POP3 %s, POP3S %s)" % (
            host(), E["LMAIL_MS_SMTP_PORT"], E["LMAIL_MS_SUBMISSION_PORT"], E["LMAIL_MS_SUBMISSIONS_PORT"],
            E["LMAIL_MS_POP3_PORT"], E["LMAIL_MS_POP3S_PORT"]))
        openssl_checks()
        negative_tls_check()
        empty_mailboxes()
        tag = "chk-" + uuid.uuid4().hex[:8]
        sent = smtp_checks(tag)
        wait_queue_empty()
        wait_delivery("alice", len(sent["alice"]))
        wait_delivery("bob", len(sent["bob"]))
        if "utf8bounce" in sent:  # lmtp mode: confirm the documented SMTPUTF8 bounce
            log = E.get("LMAIL_MS_POSTFIX_LOG", "")
            deadline = time.time() + 15
            seen = False
            while time.time() < deadline and not seen:
                with open(log, errors="replace") as f:
                    seen = re.search(r"to=<%s>.*dsn=5\.6\.7, status=bounced \(SMTPUTF8 is required"
                                     % re.escape(E["LMAIL_MS_BOB_ADDR"]), f.read()) is not None
                time.sleep(0.2)
            expect(seen, "lmtp mode: postfix log shows the UTF-8-header message bounced "
                         "(SMTPUTF8 is required, dsn=5.6.7)")
        pop_checks(sent)
    except CheckFailed as e:
        print("mailstack_check: FAIL: %s" % e, file=sys.stderr)
        return 1
    except (OSError, smtplib.SMTPException, poplib.error_proto, ssl.SSLError) as e:
        import traceback
        traceback.print_exc()
        print("mailstack_check: FAIL after %d checks: %s: %s" % (CHECKS, type(e).__name__, e), file=sys.stderr)
        return 1
    print("mailstack_check: OK, %d checks in %.2fs" % (CHECKS, time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
