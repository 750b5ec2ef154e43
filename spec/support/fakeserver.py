#!/usr/bin/env python3
"""spec/support/fakeserver.py: scripted TCP peers for spec/tcp_spec.lua.

Usage: fakeserver.py MODE [--host ADDR] [ARG...]

Binds ADDR (default 127.0.0.1) on a free port, prints the port on stdout
(one line, flushed), serves ONE connection in MODE, then exits. Started by
spec/support/proc.lua under `timeout`, so it can never outlive its spec.

Modes:
  freeport        print a port that was bound and closed again (nothing listens)
  fullbacklog     listen with backlog 0 and never accept: once one connection
                  waits in the queue, Linux drops further SYNs (connect hangs)
  silent          accept and never send; hold the connection until the peer closes
  drip BYTES      send BYTES one byte every 0.2 s, then hold
  slowread        read one byte every 0.2 s, never reply
  sendclose DATA  send DATA, then close cleanly (FIN, not RST)
  closenow        accept and close at once
  echo            send back every byte received, until the peer closes
  sink            read a line "N\\n", then N bytes; reply "N md5hex\\n"
"""
import hashlib
import queue
import socket
import sys
import threading
import time


def listen(host, backlog=1):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.bind((host, 0))
    srv.listen(backlog)
    return srv


def report(port):
    sys.stdout.write("%d\n" % port)
    sys.stdout.flush()


def hold(conn):
    """Keeps the connection open until the peer closes it."""
    try:
        while conn.recv(65536):
            pass
    except OSError:
        pass


def drip(conn, data):
    for i in range(len(data)):
        conn.sendall(data[i:i + 1])
        time.sleep(0.2)
    hold(conn)


def slowread(conn):
    while conn.recv(1):
        time.sleep(0.2)


def sendclose(conn, data):
    conn.sendall(data)
    # Read what the client sent first so close() sends FIN, not RST.
    conn.shutdown(socket.SHUT_WR)
    hold(conn)


def echo(conn):
    # Reading and writing in separate threads: a client that sends all
    # before reading must not deadlock on full kernel buffers.
    q = queue.Queue()

    def writer():
        while True:
            chunk = q.get()
            if chunk is None:
                return
            conn.sendall(chunk)

    t = threading.Thread(target=writer)
    t.start()
    while True:
        chunk = conn.recv(1 << 20)
        if not chunk:
            break
        q.put(chunk)
    q.put(None)
    t.join()


def recv_exact(conn, n, h):
    left = n
    while left > 0:
        chunk = conn.recv(min(left, 1 << 20))
        if not chunk:
            break
        h.update(chunk)
        left -= len(chunk)
    return n - left


def sink(conn):
    line = b""
    while not line.endswith(b"\n"):
        c = conn.recv(1)
        if not c:
            return
        line += c
    h = hashlib.md5()
    got = recv_exact(conn, int(line), h)
    conn.sendall(b"%d %s\n" % (got, h.hexdigest().encode()))
    hold(conn)


def main(argv):
    mode, args, host = argv[0], [], "127.0.0.1"
    i = 1
    while i < len(argv):
        if argv[i] == "--host":
            host = argv[i + 1]
            i += 2
        else:
            args.append(argv[i])
            i += 1
    srv = listen(host, 0 if mode == "fullbacklog" else 1)
    port = srv.getsockname()[1]
    if mode == "freeport":
        srv.close()  # before reporting, or a fast client could still get in
        report(port)
        return
    report(port)
    if mode == "fullbacklog":
        time.sleep(3600)  # until stopped (or its `timeout` runs out)
        return
    conn, _ = srv.accept()
    srv.close()
    arg = args[0].encode("latin-1") if args else b""
    handlers = {
        "silent": lambda: hold(conn),
        "drip": lambda: drip(conn, arg),
        "slowread": lambda: slowread(conn),
        "sendclose": lambda: sendclose(conn, arg),
        "closenow": lambda: None,
        "echo": lambda: echo(conn),
        "sink": lambda: sink(conn),
    }
    try:
        handlers[mode]()
    except (BrokenPipeError, ConnectionResetError):
        pass
    conn.close()


if __name__ == "__main__":
    main(sys.argv[1:])
