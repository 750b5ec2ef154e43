#!/usr/bin/env python3
"""spec/support/smtp_hostile.py: a scripted hostile SMTP server for
spec/smtp_hostile_spec.lua -- what real servers never do, over real TCP.

Usage: smtp_hostile.py MODE

Binds 127.0.0.1 on a free port, prints the port (one line, flushed), serves
ONE connection, then exits. Started by spec/support/proc.lua under
`timeout`, so it never outlives its spec.

Modes:
  drip        sends a valid greeting one byte every 0.3 s, for ever
  endless     greets, answers EHLO with an endless stream of "250-" lines
  inject-same answers STARTTLS with "220 go" and an injected reply in the
              same segment
  inject-late answers STARTTLS with "220 go", then 0.3 s later (a separate
              segment, before any TLS) an injected plaintext reply
  blackhole   greets, answers EHLO, then reads and never answers again
"""
import socket
import sys
import time


def readline(conn, buf):
    while b"\n" not in buf[0]:
        chunk = conn.recv(65536)
        if not chunk:
            raise EOFError
        buf[0] += chunk
    line, buf[0] = buf[0].split(b"\n", 1)
    return line.rstrip(b"\r")


def ehlo(conn, buf, caps):
    conn.sendall(b"220 hostile.test ESMTP\r\n")
    readline(conn, buf)
    lines = [b"hostile.test"] + caps
    out = b"".join(b"250-" + l + b"\r\n" for l in lines[:-1]) + b"250 " + lines[-1] + b"\r\n"
    conn.sendall(out)


def serve(mode, conn):
    buf = [b""]
    if mode == "drip":
        for c in b"220 hostile.test ESMTP slowly\r\n" * 100:
            conn.sendall(bytes([c]))
            time.sleep(0.3)
        return
    if mode == "endless":
        conn.sendall(b"220 hostile.test ESMTP\r\n")
        readline(conn, buf)
        line = b"250-" + b"x" * 60 + b"\r\n"
        while True:
            conn.sendall(line * 100)
    if mode in ("inject-same", "inject-late"):
        ehlo(conn, buf, [b"STARTTLS", b"AUTH PLAIN"])
        readline(conn, buf)  # STARTTLS
        if mode == "inject-same":
            conn.sendall(b"220 go ahead\r\n250-injected\r\n250 AUTH PLAIN\r\n")
        else:
            conn.sendall(b"220 go ahead\r\n")
            time.sleep(0.3)
            conn.sendall(b"250-injected\r\n250 AUTH PLAIN\r\n")
        time.sleep(2)
        return
    if mode == "blackhole":
        ehlo(conn, buf, [b"PIPELINING"])
        while conn.recv(65536):
            pass
        return
    raise SystemExit("unknown mode " + mode)


def main():
    mode = sys.argv[1]
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    sys.stdout.write("%d\n" % srv.getsockname()[1])
    sys.stdout.flush()
    conn, _ = srv.accept()
    srv.close()
    try:
        serve(mode, conn)
    except (BrokenPipeError, ConnectionResetError, EOFError):
        pass
    conn.close()


if __name__ == "__main__":
    main()
