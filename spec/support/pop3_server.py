#!/usr/bin/env python3
"""spec/support/pop3_server.py: a scripted POP3 server (RFC 1939) that
fails on purpose, for the fault-injection specs of lmail.fetch.

Usage: pop3_server.py --mailbox DIR [options]

Binds 127.0.0.1 on a free port, prints the port (one line, flushed), serves
up to --connections connections one after the other, then exits; it also
exits after --idle seconds without a connection. Started by
spec/support/proc.lua under `timeout`, so it never outlives its spec.

The mailbox is DIR: one file per message, the file name is the UID, the
content is served as is (it must use CRLF line ends); messages are numbered
in the sorted order of the names when a session starts. DELE marks, RSET
unmarks, QUIT in the TRANSACTION state removes the marked files (the UPDATE
state) and only then answers +OK. A connection that ends in any other way
removes nothing. Each removal is appended to DIR/../deleted.log.

--fault PHASE[:K] breaks the FIRST connection (later ones are served
normally):
  greeting      send half of the greeting, close
  capa          answer CAPA with a partial listing, close
  auth          close on PASS / AUTH, without answering
  uidl          answer UIDL with half of its lines, close
  list          answer LIST with half of its lines, close
  retr:K        answer RETR K with half of the message, close
  retr_end:K    send all of message K but not the terminating ".", close
  retr_dot_lf:K send message K, then ".\\n" (a bare LF: not a terminator), close
  dele:K        close on DELE K
  quit          close on QUIT, deleting nothing
  quit_applied  on QUIT, delete the marked messages, then close without +OK
With --hang SECONDS the server stops answering at that point for that long
before closing (the client's timeout must end it first); with --tls-eof (implicit TLS only) it sends
close_notify before closing (a clean TLS EOF in the middle of a response).

--tls implicit|stls --cert PEM --key PEM: implicit TLS, or STLS offered in
CAPA. --pipelining advertises PIPELINING. --user / --password set the
account (USER/PASS only; default alice / pw).
"""
import argparse
import os
import socket
import ssl
import sys
import time


class Drop(Exception):
    """The scripted fault: end the connection now."""


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("latin-1")


def stuffed(data):
    """RFC 1939 3: byte-stuff lines starting with '.'."""
    out = []
    for line in data.split(b"\r\n"):
        out.append(b"." + line if line.startswith(b".") else line)
    return b"\r\n".join(out)


class Session:
    def __init__(self, args, conn, faulty):
        self.args = args
        self.conn = conn
        self.fault, self.k = None, None
        if faulty and args.fault:
            name, _, k = args.fault.partition(":")
            self.fault, self.k = name, int(k) if k else None
        self.names = sorted(n for n in os.listdir(args.mailbox)
                            if not n.startswith("."))
        self.deleted = set()
        self.state = "AUTHORIZATION"
        self.user_ok = False

    def fail(self, partial=b""):
        """Sends partial, then hangs or drops as the options say."""
        if partial:
            self.conn.send(partial)
        if self.args.hang:
            time.sleep(self.args.hang)
        if self.args.tls_eof and isinstance(self.conn.sock, ssl.SSLSocket):
            try:
                self.conn.sock.unwrap()
            except (OSError, ssl.SSLError):
                pass
        raise Drop()

    def message(self, n):
        with open(os.path.join(self.args.mailbox, self.names[n - 1]), "rb") as f:
            return f.read()

    def valid(self, arg):
        try:
            n = int(arg)
        except (TypeError, ValueError):
            return None
        if 1 <= n <= len(self.names) and n not in self.deleted:
            return n
        return None

    def listing(self, fault, lines):
        body = b"".join(line + b"\r\n" for line in lines)
        if self.fault == fault:
            self.fail(b"+OK\r\n" + body[: len(body) // 2])
        self.conn.send(b"+OK\r\n" + body + b".\r\n")

    def live(self):
        return [n for n in range(1, len(self.names) + 1) if n not in self.deleted]

    def cmd_capa(self, _):
        caps = [b"UIDL", b"TOP", b"USER", b"RESP-CODES"]
        if self.args.pipelining:
            caps.append(b"PIPELINING")
        if self.args.tls == "stls" and not isinstance(self.conn.sock, ssl.SSLSocket):
            caps.append(b"STLS")
        self.listing("capa", caps)

    def cmd_stls(self, _):
        if self.args.tls != "stls" or isinstance(self.conn.sock, ssl.SSLSocket):
            return self.conn.send(b"-ERR no STLS\r\n")
        self.conn.send(b"+OK begin TLS\r\n")
        self.conn.sock = tls_context(self.args).wrap_socket(self.conn.sock, server_side=True)

    def cmd_user(self, arg):
        self.user_ok = arg == self.args.user
        self.conn.send(b"+OK\r\n")

    def cmd_pass(self, arg):
        if self.fault == "auth":
            self.fail()
        if self.user_ok and arg == self.args.password:
            self.state = "TRANSACTION"
            return self.conn.send(b"+OK logged in\r\n")
        self.user_ok = False
        self.conn.send(b"-ERR [AUTH] invalid login\r\n")

    def cmd_stat(self, _):
        live = self.live()
        size = sum(len(self.message(n)) for n in live)
        self.conn.send(b"+OK %d %d\r\n" % (len(live), size))

    def cmd_list(self, arg):
        if arg:
            n = self.valid(arg)
            if not n:
                return self.conn.send(b"-ERR no such message\r\n")
            return self.conn.send(b"+OK %d %d\r\n" % (n, len(self.message(n))))
        self.listing("list", [b"%d %d" % (n, len(self.message(n))) for n in self.live()])

    def cmd_uidl(self, arg):
        if arg:
            n = self.valid(arg)
            if not n:
                return self.conn.send(b"-ERR no such message\r\n")
            return self.conn.send(b"+OK %d %s\r\n" % (n, self.names[n - 1].encode()))
        self.listing("uidl", [b"%d %s" % (n, self.names[n - 1].encode()) for n in self.live()])

    def cmd_retr(self, arg):
        n = self.valid(arg)
        if not n:
            return self.conn.send(b"-ERR no such message\r\n")
        body = stuffed(self.message(n))
        if self.k == n and self.fault == "retr":
            self.fail(b"+OK\r\n" + body[: len(body) // 2])
        if self.k == n and self.fault == "retr_end":
            self.fail(b"+OK\r\n" + body)
        if self.k == n and self.fault == "retr_dot_lf":
            self.fail(b"+OK\r\n" + body + b".\n")
        self.conn.send(b"+OK %d octets\r\n" % len(body) + body + b".\r\n")

    def cmd_dele(self, arg):
        n = self.valid(arg)
        if self.fault == "dele" and self.k == n:
            self.fail()
        if not n:
            return self.conn.send(b"-ERR no such message\r\n")
        self.deleted.add(n)
        self.conn.send(b"+OK deleted\r\n")

    def cmd_rset(self, _):
        self.deleted.clear()
        self.conn.send(b"+OK\r\n")

    def cmd_noop(self, _):
        self.conn.send(b"+OK\r\n")

    def cmd_quit(self, _):
        if self.fault == "quit":
            self.fail()
        if self.state == "TRANSACTION":
            log = os.path.join(os.path.dirname(os.path.abspath(self.args.mailbox)),
                               "deleted.log")
            for n in sorted(self.deleted):
                os.remove(os.path.join(self.args.mailbox, self.names[n - 1]))
                with open(log, "a") as f:
                    f.write(self.names[n - 1] + "\n")
        if self.fault == "quit_applied":
            self.fail()
        self.conn.send(b"+OK bye\r\n")
        raise Drop()

    AUTH_CMDS = {"CAPA", "STLS", "USER", "PASS", "QUIT"}
    TRANS_CMDS = {"CAPA", "STAT", "LIST", "UIDL", "RETR", "DELE", "RSET", "NOOP", "QUIT"}

    def run(self):
        greeting = b"+OK lmail fault-injection server ready\r\n"
        if self.fault == "greeting":
            self.fail(greeting[: len(greeting) // 2])
        self.conn.send(greeting)
        while True:
            line = self.conn.line()
            if line is None:
                return
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            allowed = self.AUTH_CMDS if self.state == "AUTHORIZATION" else self.TRANS_CMDS
            if verb not in allowed:
                self.conn.send(b"-ERR command not allowed now\r\n")
                continue
            getattr(self, "cmd_" + verb.lower())(arg)


def tls_context(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    return ctx


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mailbox", required=True)
    ap.add_argument("--fault")
    ap.add_argument("--hang", type=float, default=0.0)
    ap.add_argument("--tls-eof", action="store_true")
    ap.add_argument("--tls", choices=["implicit", "stls"])
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--pipelining", action="store_true")
    ap.add_argument("--user", default="alice")
    ap.add_argument("--password", default="pw")
    ap.add_argument("--connections", type=int, default=1)
    ap.add_argument("--idle", type=float, default=20.0)
    args = ap.parse_args()

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(args.idle)
    sys.stdout.write("%d\n" % srv.getsockname()[1])
    sys.stdout.flush()
    for i in range(args.connections):
        try:
            sock, _ = srv.accept()
        except socket.timeout:
            return
        sock.settimeout(args.idle)
        try:
            if args.tls == "implicit":
                sock = tls_context(args).wrap_socket(sock, server_side=True)
            Session(args, Conn(sock), i == 0).run()
        except (Drop, OSError, ssl.SSLError):
            pass
        finally:
            try:
                sock.close()
            except OSError:
                pass


if __name__ == "__main__":
    main()
