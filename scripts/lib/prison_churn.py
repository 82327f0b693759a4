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

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
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


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--peer", default="192.0.2.2")
    p.add_argument("--port", type=int, default=7000)
    a = p.parse_args()
    root = os.path.join(pcbg_genl.cgroup_root(), "pcbgroup")
    os.makedirs(root, exist_ok=True)
    ps = pcbg_genl.Prisons()
    failed = 0
    dead_confined = None
    for i in range(a.count):
        cg = os.path.join(root, "churn%d" % i)
        os.mkdir(cg)
        pr = ps.create("churn%d" % i, cg, [ADDR] + (["2001:db8::11"] if i % 2 else []))
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
    print("cycles=%d failed=%d dead_confined=%s" % (a.count, failed, dead_confined))
    return 0


if __name__ == "__main__":
    sys.exit(main())
