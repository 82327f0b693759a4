#!/usr/bin/env python3
"""Many TCP connections held open at once (scale.sh).

  scale.py server --addr A --ports P,Q --stats FILE --ready FILE
      Listens on each port, accepts every connection, echoes what it
      reads and keeps the connection until the peer closes it. On SIGTERM
      writes "accepted=N echoed=N closed=N" to FILE.
  scale.py client --addr A --ports P,Q --conns N --ready FILE --close FILE
      Opens N connections (spread over the ports), at most --wave at a
      time in flight, sends each an 8-byte message and checks its echo,
      keeps them all open, writes "opened=N echoed=N" to --ready, waits
      for --close to exist, then closes them all.
"""
import argparse
import os
import resource
import selectors
import signal
import socket
import struct
import sys
import time


def nofile(n):
    resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))


def server(args):
    nofile(args.conns + 1024)
    sel = selectors.DefaultSelector()
    for port in args.ports:
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((args.addr, port))
        ls.listen(4096)
        ls.setblocking(False)
        sel.register(ls, selectors.EVENT_READ, None)
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    open(args.ready, "w").close()
    accepted = echoed = closed = 0
    while not stop:
        for key, _ in sel.select(0.5):
            s = key.fileobj
            if key.data is None:
                for _ in range(64):
                    try:
                        c, _ = s.accept()
                    except BlockingIOError:
                        break
                    c.setblocking(False)
                    sel.register(c, selectors.EVENT_READ, 1)
                    accepted += 1
                continue
            try:
                data = s.recv(64)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                s.close()
                closed += 1
                continue
            s.send(data)
            echoed += 1
    with open(args.stats, "w") as f:
        f.write("accepted=%d echoed=%d closed=%d\n" % (accepted, echoed, closed))


def client(args):
    nofile(args.conns + 1024)
    sel = selectors.DefaultSelector()
    held = []
    opened = echoed = failed = 0
    deadline = time.time() + args.timeout
    nxt = 0
    inflight = 0
    while (nxt < args.conns or inflight) and time.time() < deadline:
        while nxt < args.conns and inflight < args.wave:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex((args.addr, args.ports[nxt % len(args.ports)]))
            sel.register(s, selectors.EVENT_WRITE, nxt)
            held.append(s)
            nxt += 1
            inflight += 1
        for key, ev in sel.select(0.5):
            s, i = key.fileobj, key.data
            if ev & selectors.EVENT_WRITE:
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    failed += 1
                    inflight -= 1
                    sel.unregister(s)
                    continue
                opened += 1
                s.send(struct.pack("!Q", i))
                sel.modify(s, selectors.EVENT_READ, i)
                continue
            try:
                data = s.recv(64)
            except OSError:
                data = b""
            if data == struct.pack("!Q", i):
                echoed += 1
            else:
                failed += 1
            inflight -= 1
            sel.unregister(s)
    with open(args.ready + ".tmp", "w") as f:
        f.write("opened=%d echoed=%d failed=%d\n" % (opened, echoed, failed))
    os.rename(args.ready + ".tmp", args.ready)
    while not os.path.exists(args.close) and time.time() < deadline + 600:
        time.sleep(0.2)
    for s in held:
        s.close()
    return 0 if echoed == args.conns else 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("server", "client"):
        c = sub.add_parser(name)
        c.add_argument("--addr", required=True)
        c.add_argument("--ports", required=True,
                       type=lambda v: [int(x) for x in v.split(",")])
        c.add_argument("--conns", type=int, default=1000)
        c.add_argument("--ready", required=True)
    sub.choices["server"].add_argument("--stats", required=True)
    sub.choices["client"].add_argument("--close", required=True)
    sub.choices["client"].add_argument("--wave", type=int, default=500)
    sub.choices["client"].add_argument("--timeout", type=float, default=900)
    args = p.parse_args()
    return server(args) if args.cmd == "server" else client(args)


if __name__ == "__main__":
    sys.exit(main())
