#!/usr/bin/env python3
"""Namespace helpers for the system tests and benchmarks.

  netns.py churn --count N [--until FILE]
      N times (or until FILE exists): a new network namespace with a veth
      pair, a TCP listener and one connection carrying data, then the
      namespace is dropped. Prints "namespaces=N seconds=S rate=R failed=F".
  netns.py make --count N [--userns] [--until-fail] [--ready FILE] [--hold FILE]
      N network namespaces made by this one process (each kept by an open
      file), in a user namespace of its own with --userns (no privilege
      needed); --until-fail stops at the first refusal. Prints "made=N"
      as it goes. --ready FILE gets "base=B", B being the process's memory
      cgroup's memory.current before the first; --hold FILE: keep them
      until FILE exists.
  netns.py hold --ns NAME [--ns NAME ...] --ready FILE
      In each named namespace (ip netns add): a listener on 127.0.0.1:9000
      and one established connection. Holds them until SIGTERM, then checks
      that every connection still carries data; exit status says.
"""
import argparse
import ctypes
import os
import resource
import signal
import socket
import subprocess
import sys
import time

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)

VETH = """link add pv0 type veth peer name pv1
addr add 198.51.100.1/24 dev pv0
addr add 198.51.100.2/24 dev pv1
link set lo up
link set pv0 up
link set pv1 up
"""


def connection(addr, port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(8)
    c = socket.create_connection((addr, port), timeout=10)
    a, _ = ls.accept()
    a.settimeout(10)
    return ls, c, a


def exchange(c, a):
    c.sendall(b"ping")
    if a.recv(4) != b"ping":
        return False
    a.sendall(b"pong")
    return c.recv(4) == b"pong"


def churn_one():
    if libc.unshare(CLONE_NEWNET) != 0:
        return 1
    subprocess.run(["ip", "-batch", "-"], input=VETH.encode(), check=True)
    ls, c, a = connection("198.51.100.1", 9000)
    ok = exchange(c, a)
    for s in (c, a, ls):
        s.close()
    return 0 if ok else 1


def churn(args):
    failed = done = 0
    start = time.time()
    for _ in range(args.count):
        # The work asked for is done before the clock is looked at.
        if args.until and os.path.exists(args.until) and done >= args.at_least:
            break
        done += 1
        pid = os.fork()
        if pid == 0:
            try:
                code = churn_one()
            except Exception as e:  # report, never hang the test
                print("churn: %s" % e, file=sys.stderr)
                code = 1
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        failed += status != 0
    secs = time.time() - start
    print("namespaces=%d seconds=%.2f rate=%.2f failed=%d"
          % (done, secs, done / secs, failed))
    return 1 if failed else 0


CLONE_NEWUSER = 0x10000000


def cgroup_current():
    path = open("/proc/self/cgroup").read().strip().split("::", 1)[1]
    return int(open("/sys/fs/cgroup%s/memory.current" % path).read())


def make(args):
    if args.userns and libc.unshare(CLONE_NEWUSER) != 0:
        print("userns: %s" % os.strerror(ctypes.get_errno()), flush=True)
        return 1
    base = cgroup_current()
    held = []
    socks = []
    if args.socks:
        n = args.count * args.socks + 1024
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
    err = None
    for i in range(args.count):
        if libc.unshare(CLONE_NEWNET) != 0:
            err = os.strerror(ctypes.get_errno())
            break
        held.append(os.open("/proc/self/ns/net", os.O_RDONLY))
        port = 0
        for _ in range(args.socks):
            # Two to a port: a socket alone on its port has no entry.
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", port))
            port = 0 if port else s.getsockname()[1]
            socks.append(s)
        if len(held) % 10 == 0:
            print("made=%d" % len(held), flush=True)
    print("made=%d stopped=%s" % (len(held), err or "no"), flush=True)
    if args.ready:
        with open(args.ready + ".tmp", "w") as f:
            f.write("base=%d\n" % base)
        os.rename(args.ready + ".tmp", args.ready)
    while args.hold and not os.path.exists(args.hold):
        time.sleep(0.1)
    for fd in held:
        os.close(fd)
    for s in socks:
        s.close()
    return 1 if err and not args.until_fail else 0


def setns(name):
    fd = os.open("/run/netns/" + name, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns " + name)
    finally:
        os.close(fd)


def hold(args):
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    held = []
    for name in args.ns:
        setns(name)
        held.append(connection("127.0.0.1", 9000))
    libc.setns(own, CLONE_NEWNET)
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    open(args.ready, "w").close()
    deadline = time.time() + args.lifetime
    while not stop and time.time() < deadline:
        time.sleep(0.2)
    good = sum(exchange(c, a) for _, c, a in held)
    print("held=%d intact=%d" % (len(held), good))
    return 0 if good == len(held) else 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("churn")
    c.add_argument("--count", type=int, default=100)
    c.add_argument("--until")
    c.add_argument("--at-least", type=int, default=0,
                   help="namespaces to make even if --until appears first")
    m = sub.add_parser("make")
    m.add_argument("--count", type=int, required=True)
    m.add_argument("--userns", action="store_true")
    m.add_argument("--socks", type=int, default=0,
                   help="unconnected UDP sockets to open in each, two to a port")
    m.add_argument("--until-fail", action="store_true")
    m.add_argument("--ready")
    m.add_argument("--hold")
    h = sub.add_parser("hold")
    h.add_argument("--ns", action="append", required=True)
    h.add_argument("--ready", required=True)
    h.add_argument("--lifetime", type=float, default=600)
    args = p.parse_args()
    if args.cmd == "make":
        return make(args)
    return churn(args) if args.cmd == "churn" else hold(args)


if __name__ == "__main__":
    sys.exit(main())
