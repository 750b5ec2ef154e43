"""bench/mime_python.py: the Python email (compat32) peer of bench_mime.sh.
  mime_python.py parse LISTFILE    message_from_bytes of every message
  mime_python.py decode LISTFILE   + get_payload(decode=True) of every leaf
                                   + the decoded Subject
One timed pass (time.process_time); prints "python-<mode> MB/s"."""
import sys
import time
from email import message_from_bytes, policy
from email.header import decode_header, make_header

mode, listfile = sys.argv[1], sys.argv[2]
msgs = [open(p.strip(), "rb").read() for p in open(listfile) if p.strip()]
total = sum(len(m) for m in msgs)
t0 = time.process_time()
n = 0
for raw in msgs:
    msg = message_from_bytes(raw, policy=policy.compat32)
    if mode == "decode":
        subject = msg["subject"]
        if subject is not None:
            n += len(str(make_header(decode_header(subject))))
        for part in msg.walk():
            if not part.is_multipart():
                n += len(part.get_payload(decode=True) or b"")
t = time.process_time() - t0
print("python-%s %.1f" % (mode, total / t / 1e6))
