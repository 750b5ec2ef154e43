#!/usr/bin/env python3
"""bench/pop3_poplib.py PORT USER PASS DIR: the Python peer, a poplib RETR
loop writing every message (CRLF lines) to a file of its own in DIR."""
import os
import poplib
import sys

port, user, password, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
p = poplib.POP3("127.0.0.1", port, timeout=120)
p.user(user)
p.pass_(password)
count = p.stat()[0]
for i in range(1, count + 1):
    lines = p.retr(i)[1]
    with open(os.path.join(out, "%d" % i), "wb") as f:
        f.write(b"\r\n".join(lines) + b"\r\n")
p.quit()
