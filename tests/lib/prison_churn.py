"""Prisons made and destroyed COUNT times while used: each cycle makes a
cgroup and a prison, forks a child into it that connects to PEER:PORT (an
echo server), sends a datagram and tries to bind the host's address, and
changes the prison's addresses while the child runs; then destroys it.
Every 100th cycle the child hands an unbound socket to the parent, which
keeps it past the prison's end: it must stay confined.

Prints: cycles=N failed=N dead_confined=0|1
"""
import argparse
import array
import errno
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)),
                                "..", "..", "tools", "lib"))
import pcbg_genl  # noqa: E402

ADDR = "192.0.2.11"


def child(cg, a, chan):
    with open(os.path.join(cg, "cgroup.procs"), "w") as f:
        f.write("0")
    ok = True
    try:
        c = socket.create_connection((a.peer, a.port), timeout=5)
        c.sendall(b"x" * 8)
        ok &= len(c.recv(8)) > 0
        ok &= c.getsockname()[0] == ADDR
        c.close()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.sendto(b"y", (a.peer, a.port + 1))
        u.close()
        s = socket.socket()
        try:
            s.bind(("192.0.2.1", 0))
            ok = False
        except OSError as e:
            ok &= e.errno == errno.EADDRNOTAVAIL
        s.close()
        if chan:
            keep = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            chan.sendmsg([b"k"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                   array.array("i", [keep.fileno()]))])
    except OSError:
        ok = False
    os._exit(0 if ok else 1)


def worker(a, w, count, root, out):
    ps = pcbg_genl.Prisons()
    failed = 0
    dead_confined = None
    for i in range(count):
        name = "churn%d-%d" % (w, i)
        cg = os.path.join(root, name)
        os.mkdir(cg)
        pr = ps.create(name, cg, [ADDR] + (["2001:db8::11"] if i % 2 else []))
        handoff = i % 100 == 0
        pair = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM) if handoff else None
        pid = os.fork()
        if pid == 0:
            child(cg, a, pair[1] if pair else None)
        ps.change(pr["id"], [ADDR, "192.0.2.12"])
        kept = None
        if pair:
            _, anc, _, _ = pair[0].recvmsg(1, socket.CMSG_LEN(4))
            kept = socket.socket(fileno=array.array("i", anc[0][2][:4])[0])
            pair[0].close()
            pair[1].close()
        _, status = os.waitpid(pid, 0)
        failed += status != 0
        ps.destroy(pr["id"])
        os.rmdir(cg)
        if kept:
            try:
                kept.bind(("192.0.2.1", 0))
                dead_confined = 0
            except OSError as e:
                if dead_confined is None:
                    dead_confined = int(e.errno == errno.EADDRNOTAVAIL)
            kept.close()
    ps.close()
    os.write(out, b"%d %d\n" % (failed, -1 if dead_confined is None else dead_confined))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--peer", default="192.0.2.2")
    p.add_argument("--port", type=int, default=7000)
    a = p.parse_args()
    root = os.path.join(pcbg_genl.cgroup_root(), "pcbgroup")
    os.makedirs(root, exist_ok=True)
    # Several at once: prisons come and go concurrently, as containers do.
    rd, wr = os.pipe()
    pids = []
    for w in range(a.workers):
        n = a.count // a.workers + (w < a.count % a.workers)
        pid = os.fork()
        if pid == 0:
            try:
                worker(a, w, n, root, wr)
                os._exit(0)
            except Exception as e:  # noqa: BLE001 - reported below
                print("worker %d: %r" % (w, e), file=sys.stderr)
                os._exit(1)
        pids.append(pid)
    os.close(wr)
    crashed = sum(os.waitpid(pid, 0)[1] != 0 for pid in pids)
    failed, confined = crashed * 10 ** 6, []
    for line in os.fdopen(rd).read().split("\n"):
        if line:
            f, d = line.split()
            failed += int(f)
            if d != "-1":
                confined.append(int(d))
    dead_confined = int(bool(confined) and all(confined))
    print("cycles=%d failed=%d dead_confined=%d" % (a.count, failed, dead_confined))
    return 0


if __name__ == "__main__":
    sys.exit(main())
