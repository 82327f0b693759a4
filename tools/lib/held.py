"""The IP sockets that processes hold, read from /proc: what a prison
attached to running processes does not confine (pcbgjail attach, create
... attach, the OCI hook). A socket made before the attach keeps the
kernel's calls, as a FreeBSD socket keeps the credential it was made with
across jail_attach(2)."""
import ipaddress
import os

# What the kernel names its IP protocols (proto->name, system.sockprotoname).
IP_PROTOS = ("TCP", "TCPv6", "UDP", "UDPv6", "UDP-Lite", "UDPLITEv6",
             "RAW", "RAWv6", "PING", "PINGv6", "MPTCP", "MPTCPv6",
             "SCTP", "SCTPv6", "DCCP", "DCCPv6", "L2TP/IP", "L2TP/IPv6")
TABLES = ("tcp", "tcp6", "udp", "udp6", "raw", "raw6", "udplite", "udplite6")


def tree(pid):
    """@pid and every process descended from it."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def in_cgroup(pid, path):
    """Whether @pid is in the cgroup v2 @path (as the kernel names it) or
    below it."""
    try:
        with open("/proc/%d/cgroup" % pid) as f:
            for line in f:
                if line.startswith("0::"):
                    cg = line[3:].strip()
                    return cg == path or cg.startswith(path.rstrip("/") + "/")
    except OSError:
        pass
    return False


def cgroup_pids(cgdir):
    """The processes of a cgroup and of the cgroups below it."""
    pids = []
    for top, _, _ in os.walk(cgdir):
        try:
            with open(os.path.join(top, "cgroup.procs")) as f:
                pids += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return pids


def _addr(hexaddr):
    a, port = hexaddr.split(":")
    raw = bytes.fromhex(a)
    if len(raw) == 4:
        return "%s:%d" % (".".join(str(b) for b in raw[::-1]), int(port, 16))
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    return "[%s]:%d" % (ipaddress.IPv6Address(words), int(port, 16))


def _tables(pid):
    """inode -> (local, remote) from the process's namespace's tables."""
    out = {}
    for t in TABLES:
        try:
            with open("/proc/%d/net/%s" % (pid, t)) as f:
                next(f)
                for line in f:
                    c = line.split()
                    out[int(c[9])] = (_addr(c[1]), _addr(c[2]))
        except (OSError, StopIteration, IndexError, ValueError):
            pass
    return out


def sockets(pids):
    """[(pid, fd, proto, local, remote, inode)] for the IP sockets the
    processes hold (local "-": in no table yet, e.g. not bound)."""
    out, seen, tables = [], set(), {}
    for pid in pids:
        fddir = "/proc/%d/fd" % pid
        try:
            fds = os.listdir(fddir)
        except OSError:
            continue
        for fd in fds:
            path = os.path.join(fddir, fd)
            try:
                link = os.readlink(path)
                if not link.startswith("socket:["):
                    continue
                proto = os.getxattr(path, "system.sockprotoname").rstrip(b"\0").decode()
            except OSError:
                continue
            ino = int(link[8:-1])
            if proto not in IP_PROTOS or ino in seen:
                continue
            seen.add(ino)
            if pid not in tables:
                tables[pid] = _tables(pid)
            local, remote = tables[pid].get(ino, ("-", "-"))
            out.append((pid, int(fd), proto, local, remote, ino))
    return out


def report(name, held, out):
    """Say which sockets the prison does not confine, and how many."""
    for pid, fd, proto, local, remote, ino in held:
        print("pcbgjail: %s: pid %d fd %d: %s %s %s (inode %d) was made "
              "before the attach: its calls are not checked" % (
                  name, pid, fd, proto, local, remote, ino), file=out)
    print("pcbgjail: %s: %d socket%s held before the attach" % (
        name, len(held), "" if len(held) == 1 else "s"), file=out)
