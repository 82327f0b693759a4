#!/usr/bin/env python3
"""Traffic for the system tests: echo servers and checking clients.

  traffic.py server --addr A [--addr B ...] --tcp PORT --udp PORT [--reuseport-cpus]
  traffic.py tcp-client --addr A --port P --conns N --rounds R --size S
  traffic.py udp-client --addr A --port P --socks N --rounds R [--connected]
  traffic.py churn --addr A [--addr B ...] --until FILE

Every message carries its connection id and round: a reply that comes back
on the wrong connection, or with other bytes, counts as misdelivered; one
that does not come back within the time limit counts as lost. Clients print
one line "sent=N ok=N lost=N misdelivered=N" and exit non-zero unless every
message came back intact. Servers stop on SIGTERM or after --lifetime s.
"""
import argparse
import os
import selectors
import signal
import socket
import struct
import sys
import time

from common import KEY, toeplitz  # tests/lib/


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def payload(conn_id, rnd, size):
    head = struct.pack("!II", conn_id, rnd)
    body = bytes((conn_id + rnd + i) & 0xFF for i in range(max(0, size - 8)))
    return head + body


def server(args):
    sel = selectors.DefaultSelector()
    ncpu = os.cpu_count()
    local = [0, 0]  # accepted on the CPU that received them / total
    for addr in args.addr:
        fam = family(addr)
        listeners = []
        cpus = range(ncpu) if args.reuseport_cpus else [None]
        for cpu in cpus:
            ls = socket.socket(fam, socket.SOCK_STREAM)
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if fam == socket.AF_INET6:
                ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if cpu is not None:
                ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                ls.setsockopt(socket.SOL_SOCKET, 49, cpu)  # SO_INCOMING_CPU
            ls.bind((addr, args.tcp))
            ls.listen(4096)
            ls.setblocking(False)
            sel.register(ls, selectors.EVENT_READ, ("listen", cpu))
            listeners.append(ls)
        us = socket.socket(fam, socket.SOCK_DGRAM)
        if fam == socket.AF_INET6:
            us.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        us.bind((addr, args.udp))
        us.setblocking(False)
        sel.register(us, selectors.EVENT_READ, ("udp", None))
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    open(args.ready, "w").close() if args.ready else None
    deadline = time.time() + args.lifetime
    while not stop and time.time() < deadline:
        for key, _ in sel.select(0.5):
            kind, cpu = key.data
            s = key.fileobj
            if kind == "listen":
                try:
                    c, _ = s.accept()
                except BlockingIOError:
                    continue
                local[1] += 1
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ, ("conn", [cpu]))
            elif kind == "udp":
                try:
                    data, peer = s.recvfrom(65536)
                except BlockingIOError:
                    continue
                s.sendto(data, peer)
            else:
                try:
                    data = s.recv(65536)
                except (BlockingIOError, ConnectionResetError):
                    data = b"" if not isinstance(sys.exc_info()[1], BlockingIOError) else None
                if data is None:
                    continue
                if not data:
                    sel.unregister(s)
                    s.close()
                    continue
                if cpu and cpu[0] is not None:
                    # First data: the child's SO_INCOMING_CPU is now the
                    # CPU that received the flow; was it accepted there?
                    rx = s.getsockopt(socket.SOL_SOCKET, 49)
                    local[0] += rx == cpu[0]
                    cpu[0] = None
                s.setblocking(True)
                s.sendall(data)
                s.setblocking(False)
    if args.stats:
        with open(args.stats, "w") as f:
            f.write("accepted=%d local=%d\n" % (local[1], local[0]))


def until(args):
    """--until FILE: the test says when to stop starting new rounds."""
    return bool(args.until) and os.path.exists(args.until)


def tcp_client(args):
    fam = family(args.addr)
    conns = []
    for i in range(args.conns):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((args.addr, args.port))
        conns.append(s)
    sel = selectors.DefaultSelector()
    state = {}
    deadline = time.time() + args.timeout
    for i, s in enumerate(conns):
        sel.register(s, selectors.EVENT_WRITE, i)
        state[i] = {"rnd": 0, "want": b"", "got": b"", "connected": False}
    sent = ok = bad = 0
    pending = set(range(args.conns))
    while pending and time.time() < deadline:
        for key, ev in sel.select(0.5):
            i = key.data
            s = key.fileobj
            st = state[i]
            if ev & selectors.EVENT_WRITE:
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    sel.unregister(s)
                    pending.discard(i)
                    continue
                st["want"] = payload(i, st["rnd"], args.size)
                st["got"] = b""
                try:
                    s.setblocking(True)
                    s.sendall(st["want"])
                    s.setblocking(False)
                except OSError:
                    sel.unregister(s)
                    pending.discard(i)
                    continue
                sent += 1
                sel.modify(s, selectors.EVENT_READ, i)
                continue
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                pending.discard(i)
                continue
            st["got"] += data
            if len(st["got"]) < len(st["want"]):
                continue
            if st["got"] == st["want"]:
                ok += 1
            else:
                bad += 1
            st["rnd"] += 1
            if st["rnd"] >= args.rounds or until(args):
                sel.unregister(s)
                pending.discard(i)
            else:
                sel.modify(s, selectors.EVENT_WRITE, i)
    for s in conns:
        s.close()
    total = sent if args.until else args.conns * args.rounds
    lost = total - ok - bad
    print("sent=%d ok=%d lost=%d misdelivered=%d" % (sent, ok, lost, bad))
    return 0 if ok == total else 1


def udp_client(args):
    fam = family(args.addr)
    socks = []
    for i in range(args.socks):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        if args.connected:
            s.connect((args.addr, args.port))
        s.settimeout(args.wait)
        socks.append(s)
    sent = ok = bad = 0
    deadline = time.time() + args.timeout
    for rnd in range(args.rounds):
        if until(args):
            break
        for i, s in enumerate(socks):
            if time.time() > deadline:
                break
            msg = payload(i, rnd, args.size)
            if args.connected:
                s.send(msg)
            else:
                s.sendto(msg, (args.addr, args.port))
            sent += 1
            try:
                data = s.recv(65536)
            except socket.timeout:
                continue
            if data == msg:
                ok += 1
            else:
                bad += 1
    total = sent if args.until else args.socks * args.rounds
    print("sent=%d ok=%d lost=%d misdelivered=%d" % (sent, ok, total - ok - bad, bad))
    return 0 if ok == total else 1


def recv_echo(s, n):
    """Up to n bytes of an echo, fewer if the peer closes."""
    got = b""
    while len(got) < n:
        d = s.recv(64)
        if not d:
            break
        got += d
    return got


def churn(args):
    """Sockets opened and closed as fast as one process can: each round a
    new TCP connection (one message, echoed, closed) and a new connected
    UDP socket (one datagram, echoed, closed), over every address."""
    sent = ok = bad = 0
    deadline = time.time() + args.timeout
    rnd = 0
    while not until(args) and time.time() < deadline:
        for addr in args.addr:
            for proto in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                msg = payload(rnd, rnd, 32)
                s = socket.socket(family(addr), proto)
                s.settimeout(args.wait)
                sent += 1
                try:
                    port = args.port if proto == socket.SOCK_STREAM else args.udp
                    s.connect((addr, port))
                    s.sendall(msg)
                    got = recv_echo(s, len(msg))
                except OSError:
                    got = None
                s.close()
                if got == msg:
                    ok += 1
                elif got:
                    bad += 1
            rnd += 1
    print("sent=%d ok=%d lost=%d misdelivered=%d" % (sent, ok, sent - ok - bad, bad))
    return 0 if ok == sent else 1


def locality_client(args):
    """Connections from each CPU in turn, with source ports chosen so the
    flow's RSS bucket maps to that CPU: what an RSS NIC does, on veth."""
    fam = family(args.addr)
    packed = socket.inet_pton(fam, args.addr)
    src = socket.inet_pton(fam, args.src)
    mapping = dict(tuple(map(int, x.split(":"))) for x in args.mapping.split())
    mask = len(mapping) - 1
    ncpu = os.cpu_count()
    port = args.port_base
    ok = bad = 0
    busy = 0.0     # connect to close, without the port search
    for k in range(args.conns):
        cpu = k % ncpu
        os.sched_setaffinity(0, {cpu})
        while True:
            port += 1
            h = toeplitz(KEY, src + packed + struct.pack("!HH", port, args.port))
            if mapping[h & mask] == cpu:
                break
        t0 = time.monotonic()
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((args.src, port))
        s.settimeout(10)
        s.connect((args.addr, args.port))
        msg = payload(k, 0, 16)
        s.sendall(msg)
        got = recv_echo(s, len(msg))
        ok += got == msg
        bad += got != msg
        s.close()
        busy += time.monotonic() - t0
    print("sent=%d ok=%d lost=%d misdelivered=%d secs=%.3f"
          % (args.conns, ok, args.conns - ok - bad, bad, busy))
    return 0 if ok == args.conns else 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("server")
    s.add_argument("--addr", action="append", required=True)
    s.add_argument("--tcp", type=int, default=7000)
    s.add_argument("--udp", type=int, default=7001)
    s.add_argument("--reuseport-cpus", action="store_true")
    s.add_argument("--lifetime", type=float, default=600)
    s.add_argument("--ready")
    s.add_argument("--stats")
    t = sub.add_parser("tcp-client")
    t.add_argument("--addr", required=True)
    t.add_argument("--port", type=int, default=7000)
    t.add_argument("--conns", type=int, default=10)
    t.add_argument("--rounds", type=int, default=3)
    t.add_argument("--size", type=int, default=256)
    t.add_argument("--timeout", type=float, default=120)
    t.add_argument("--until")
    u = sub.add_parser("udp-client")
    u.add_argument("--addr", required=True)
    u.add_argument("--port", type=int, default=7001)
    u.add_argument("--socks", type=int, default=10)
    u.add_argument("--rounds", type=int, default=3)
    u.add_argument("--size", type=int, default=64)
    u.add_argument("--connected", action="store_true")
    u.add_argument("--wait", type=float, default=2.0)
    u.add_argument("--timeout", type=float, default=120)
    u.add_argument("--until")
    c = sub.add_parser("churn")
    c.add_argument("--addr", action="append", required=True)
    c.add_argument("--port", type=int, default=7000)
    c.add_argument("--udp", type=int, default=7001)
    c.add_argument("--wait", type=float, default=10)
    c.add_argument("--timeout", type=float, default=600)
    c.add_argument("--until", required=True)
    lc = sub.add_parser("locality-client")
    lc.add_argument("--addr", required=True)
    lc.add_argument("--src", required=True)
    lc.add_argument("--port", type=int, default=7000)
    lc.add_argument("--conns", type=int, default=100)
    lc.add_argument("--mapping", required=True, help="bucket:cpu pairs")
    lc.add_argument("--port-base", type=int, default=20000)
    args = p.parse_args()
    if args.cmd == "locality-client":
        return locality_client(args)
    if args.cmd == "server":
        server(args)
        return 0
    if args.cmd == "tcp-client":
        return tcp_client(args)
    if args.cmd == "churn":
        return churn(args)
    return udp_client(args)


if __name__ == "__main__":
    sys.exit(main())
