#!/usr/bin/python3
"""A UDP socket alone on its port gets no entry; a second socket on the
port places both, before the groups answer the port (track.c,
pcbg_udp_hashed()). Run with the server and client namespaces of
tests/lib.sh; prints "ok - ..." / "not ok - ..." lines.

  1. Resolver-style sockets (connect, which binds a port, send, close):
     no entry.
  2. A connected socket S alone on port P: no entry, and its datagrams
     arrive (the kernel answers).
  3. A wildcard W comes on P, then T connected to another peer: all
     placed. Datagrams from S's peer reach S, from T's T, from elsewhere
     W; the groups answered them (their lookup count grows), verify found
     no mismatch. Had S been left out, the groups would have given S's
     datagrams to W.
  4. T and W go: S keeps its entry. S goes: none left.
  5. Pairs of sockets bound to one port by two threads at once (100):
     both placed, every time (each binder looks after its own insertion).
Every datagram is counted at both ends. With --unloaded (the module not
loaded) the deliveries alone are checked: the kernel's own answers.
"""
import argparse
import os
import socket
import sys
import threading

from common import Netns

LISTING = "/proc/thread-self/net/pcbgroup/sockets"
STATS = "/proc/thread-self/net/pcbgroup/stats"
failed = False


def report(good, what):
    global failed
    print(("ok - " if good else "not ok - ") + what)
    failed |= not good


def members(ns):
    """inode -> kind of every UDP member of ns."""
    with Netns(ns), open(LISTING) as f:
        lines = f.read().splitlines()[1:]
    return {int(w[10]): w[6] for w in map(str.split, lines) if w[2] == "udp"}


def stat(ns, key):
    with Netns(ns), open(STATS) as f:
        for line in f:
            k, v = line.split()[:2]
            if k == key:
                return int(v)
    raise KeyError(key)


def udp(ns, addr, port, family=socket.AF_INET):
    with Netns(ns):
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.settimeout(2)
    return s


def ino(s):
    return os.fstat(s.fileno()).st_ino


def drain(s):
    n = 0
    s.settimeout(0.5)
    try:
        while True:
            s.recv(2048)
            n += 1
    except (socket.timeout, BlockingIOError):
        return n


def send(src, dst, n):
    for i in range(n):
        src.sendto(b"%d" % i, dst)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--client", required=True)
    ap.add_argument("--port", type=int, default=7600)
    ap.add_argument("--unloaded", action="store_true")
    a = ap.parse_args()
    loaded = not a.unloaded
    srv, cli, port, n = a.server, a.client, a.port, 20

    # 1. A socket per query, as a resolver makes them.
    if loaded:
        before = len(members(cli))
        for i in range(100):
            with Netns(cli):
                q = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                q.connect(("192.0.2.1", 9))
                q.send(b"q")
            if i == 0:
                report(ino(q) not in members(cli),
                       "a resolver's connected socket has no entry")
            q.close()
        report(len(members(cli)) == before,
               "100 sockets made and closed leave the listing as it was")

    # 2. S alone on its port, connected.
    c1 = udp(cli, "192.0.2.2", port + 1)
    c2 = udp(cli, "192.0.2.2", port + 2)
    c3 = udp(cli, "192.0.2.2", port + 3)
    s = udp(srv, "192.0.2.1", port)
    with Netns(srv):
        s.connect(("192.0.2.2", port + 1))
    if loaded:
        report(ino(s) not in members(srv),
               "a connected socket alone on its port: no entry")
    send(c1, ("192.0.2.1", port), n)
    got = drain(s)
    report(got == n, "alone: %d of %d datagrams to it" % (got, n))

    # 3. W on the same port, then T connected to another peer: all
    # placed, each gets its own, and the groups answer the port (it has
    # connected members). Had S been left out, W would get S's datagrams.
    if loaded:
        lk, mm = stat(srv, "lookups"), stat(srv, "mismatch")
    w = udp(srv, "0.0.0.0", port)
    t = udp(srv, "192.0.2.1", port)
    with Netns(srv):
        t.connect(("192.0.2.2", port + 3))
    if loaded:
        m = members(srv)
        kinds = [m.get(ino(x)) for x in (s, w, t)]
        report(kinds == ["exact", "wildcard", "exact"],
               "a wildcard and a second connected socket join the port: "
               "the first placed as exact (%s), the wildcard as wildcard "
               "(%s), the second as exact (%s)" % tuple(kinds))
    send(c1, ("192.0.2.1", port), n)
    send(c2, ("192.0.2.1", port), n)
    send(c3, ("192.0.2.1", port), n)
    got = (drain(s), drain(w), drain(t))
    report(got == (n, n, n),
           "shared: of %d each, %d from its peer to the first connected "
           "socket, %d from another port to the wildcard, %d from its peer "
           "to the second" % ((n,) + got))
    t.close()
    if loaded:
        looked = stat(srv, "lookups") - lk
        report(looked >= 3 * n,
               "the groups looked them up (%d lookups)" % looked)
        report(stat(srv, "mismatch") == mm, "verify: no mismatch")

    # 4. W goes, S stays placed; S goes.
    w.close()
    if loaded:
        report(ino(s) in members(srv),
               "the wildcard closed: the connected socket keeps its entry")
    send(c1, ("192.0.2.1", port), n)
    got = drain(s)
    report(got == n, "then: %d of %d datagrams to it" % (got, n))
    gone = ino(s)
    s.close()
    if loaded:
        report(gone not in members(srv), "closed: no entry left")

    # 5. Two threads bind one port at once, 100 times.
    if loaded:
        missing = 0
        for i in range(100):
            p = port + 10 + i
            socks = [None, None]
            go = threading.Barrier(2)

            def bind(k, p=p, socks=socks, go=go):
                with Netns(srv):
                    x = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    x.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    go.wait()
                    x.bind(("192.0.2.1" if k else "0.0.0.0", p))
                    socks[k] = x

            ts = [threading.Thread(target=bind, args=(k,)) for k in (0, 1)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            m = members(srv)
            missing += sum(ino(x) not in m for x in socks)
            for x in socks:
                x.close()
        report(missing == 0,
               "100 pairs bound at once by two threads: %d sockets of 200 "
               "without an entry" % missing)
    for x in (c1, c2, c3):
        x.close()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
