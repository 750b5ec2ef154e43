#!/usr/bin/env python3
"""bench/smtp_peer.py PORT COUNT SIZE: Python smtplib sending COUNT messages
of SIZE bytes over one connection (TCP_NODELAY set) to bench/smtp_sink.c;
prints "<msgs/s> <MB/s>" like bench/smtp_bench.lua (same message shape).
bench/smtp_peer.py --write PATH SIZE: writes that message to PATH (for curl)."""
import socket
import smtplib
import sys
import time


def message(n):
    head = b"From: a@bench.test\r\nTo: b@bench.test\r\nSubject: bench\r\n\r\n"
    line = b"x" * 74 + b"\r\n"
    dotted = b"." + b"y" * 73 + b"\r\n"
    parts, have, i = [head], len(head), 0
    while have + 76 <= n:
        i += 1
        parts.append(dotted if i % 10 == 0 else line)
        have += 76
    parts.append(b"z" * (n - have - 2) + b"\r\n")
    return b"".join(parts)


def main():
    if sys.argv[1] == "--write":
        with open(sys.argv[2], "wb") as f:
            f.write(message(int(sys.argv[3])))
        return
    port, count, size = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    msg = message(size)
    assert len(msg) == size
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="bench.test")
    s.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.ehlo()
    t0 = time.monotonic()
    for _ in range(count):
        s.sendmail("a@bench.test", ["b@bench.test"], msg)
    dt = time.monotonic() - t0
    s.quit()
    print("%.1f %.1f" % (count / dt, count * size / dt / 1e6))


if __name__ == "__main__":
    main()
