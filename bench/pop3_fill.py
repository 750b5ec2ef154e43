#!/usr/bin/env python3
"""bench/pop3_fill.py MAILDIR COUNT SIZE: writes COUNT messages of about SIZE
bytes into MAILDIR/new the way Dovecot stores them (LF line ends), so the
POP3 benches do not depend on delivery speed. The caller fixes ownership."""
import os
import sys

maildir, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
line = b"The quick brown fox jumps over the lazy dog; 0123456789 abcdefghij\n"
for i in range(1, count + 1):
    head = (b"From: Bench <bench@example.test>\nTo: bob@example.test\n"
            b"Subject: bench message %d\nMessage-ID: <b%d@example.test>\n\n" % (i, i))
    body = bytearray(head)
    body += b".a dotted first line\n"
    while len(body) < size:
        body += line
    name = os.path.join(maildir, "new", "%d.M%dP1.bench" % (1700000000 + i, i))
    with open(name, "wb") as f:
        f.write(body)
