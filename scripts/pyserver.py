"""The fork server behind the guest's python3 front-end (scripts/pyrun.c).

  scripts/pyserver.py SOCKET

Loads what the test programs import (the standard library modules and
tests/lib/common.py), listens on SOCKET (mode 0600) and forks a child per
request; the child takes the caller's descriptors 0-2, working directory,
network and mount namespaces, environment and signal dispositions, and
runs the program as "python3 [-u] SCRIPT|-c CODE ARG..." would. A caller
in any other context than the server's (user, groups, capabilities,
no_new_privs, seccomp, cgroup, user/pid/ipc/uts/cgroup/time namespace,
limits, CPU set, nice, scheduling policy, personality, umask, OOM score)
is refused before anything runs, and its front-end starts /usr/bin/python3
itself. The front-end gets the child's PID, forwards signals to it and
gets its wait status; when the front-end goes away first the child is
killed.
"""
import ctypes
import importlib
import importlib.machinery
import io
import os
import select
import signal
import socket
import struct
import sys
import types

# What the programs of tests/lib import, loaded once here.
for _name in ("argparse", "array", "bisect", "collections", "errno", "json",
              "random", "re", "resource", "selectors", "shlex", "statistics",
              "subprocess", "threading", "time", "traceback"):
    importlib.import_module(_name)

PATH0 = sys.path[1:]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "tests", "lib"))
importlib.import_module("common")

CLONE_NEWNS, CLONE_NEWNET = 0x00020000, 0x40000000
NFDS = 6
STATUS = ("Umask", "Uid", "Gid", "Groups", "NoNewPrivs", "Seccomp",
          "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb",
          "Cpus_allowed_list", "Mems_allowed_list")
libc = ctypes.CDLL(None, use_errno=True)


def context(pid):
    """What a program started by PID would inherit, but for what the
    child takes over (descriptors, directory, net and mount namespaces,
    environment, signals)."""
    d = "/proc/%d/" % pid
    ctx = []
    with open(d + "status") as f:
        ctx += [ln for ln in f if ln.split(":")[0] in STATUS]
    for name in ("cgroup", "limits", "oom_score_adj", "personality"):
        with open(d + name) as f:
            ctx.append(f.read())
    with open(d + "stat") as f:
        stat = f.read().rsplit(")", 1)[1].split()
    ctx += [stat[16], stat[37], stat[38]]  # nice, RT priority, policy
    for ns in ("user", "pid", "ipc", "uts", "cgroup", "time"):
        ctx.append(os.readlink(d + "ns/" + ns))
    return ctx


def receive(conn):
    """The request: (fds, argv, env, ignored, blocked), or None with every
    descriptor received closed (a malformed request, or a front-end that
    died writing it)."""
    fds = []
    conn.settimeout(10)
    try:
        msg, anc, _, _ = conn.recvmsg(4, socket.CMSG_SPACE(NFDS * 4))
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds += list(struct.unpack("%di" % (len(data) // 4), data))
        size = struct.unpack("I", msg)[0]
        data = b""
        while len(data) < size:
            chunk = conn.recv(size - len(data))
            if not chunk:
                break
            data += chunk
        parts = data.split(b"\0")
        head = parts[0].split()
        argc, envc = int(head[0]), int(head[1])
        ign, blk = int(head[2], 16), int(head[3], 16)
        if len(fds) != NFDS or len(parts) < 1 + argc + envc or argc < 2:
            raise ValueError
    except (OSError, struct.error, IndexError, ValueError):
        for fd in fds:
            os.close(fd)
        return None
    conn.settimeout(None)
    argv = [os.fsdecode(a) for a in parts[1:1 + argc]]
    env = parts[1 + argc:1 + argc + envc]
    return fds, argv, env, ign, blk


def serve(path):
    """Accepts requests until killed; returns, in a child, what it runs."""
    if os.path.exists(path):
        os.unlink(path)
    old = os.umask(0o177)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.umask(old)
    listener.listen(64)
    mine = context(os.getpid())
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children = {}  # pid: connection of its front-end (None: it went away)
    count = {"forked": 0, "refused": 0}

    def report(*_):
        print("# python3 fork server: %(forked)d programs forked, %(refused)d"
              " refused (another context)" % count, file=sys.stderr)
        sys.exit(0)
    signal.signal(signal.SIGTERM, report)
    while True:
        try:
            ready = select.select([listener, wake_r] +
                                  [c for c in children.values() if c],
                                  [], [])[0]
        except InterruptedError:
            continue
        if wake_r in ready:
            while True:
                try:
                    os.read(wake_r, 512)
                except BlockingIOError:
                    break
        while children:
            pid, st = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            conn = children.pop(pid, None)
            if conn:
                try:
                    conn.sendall(struct.pack("i", st))
                except OSError:
                    pass
                conn.close()
        for pid, conn in children.items():
            if conn in ready:	# the front-end went away first
                os.kill(pid, signal.SIGKILL)
                conn.close()
                children[pid] = None	# reaped above, once it is dead
        if listener not in ready:
            continue
        conn = listener.accept()[0]
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                struct.calcsize("3i"))
        peer = struct.unpack("3i", creds)[0]
        req = receive(conn)
        try:
            ok = req is not None and context(peer) == mine
        except OSError:
            ok = False
        count["forked" if ok else "refused"] += 1
        if not ok:
            if req:
                for fd in req[0]:
                    os.close(fd)
            conn.close()
            continue
        pid = os.fork()
        if pid == 0:
            listener.close()
            conn.close()
            for c in children.values():
                if c:
                    c.close()
            signal.set_wakeup_fd(-1)
            os.close(wake_r)
            os.close(wake_w)
            return req
        for fd in req[0]:
            os.close(fd)
        try:
            conn.sendall(struct.pack("i", pid))
            children[pid] = conn
        except OSError:
            os.kill(pid, signal.SIGKILL)
            conn.close()


def take_over(fds, argv, env, ignored, blocked):
    """In the child: the caller's context, then the program's module."""
    for fd, kind in ((fds[4], CLONE_NEWNET), (fds[5], CLONE_NEWNS)):
        if libc.setns(fd, kind):
            os.write(2, b"python3: setns: %s\n" %
                     os.strerror(ctypes.get_errno()).encode())
            os._exit(127)
    os.fchdir(fds[3])
    for i in range(3):
        os.dup2(fds[i], i)
    for fd in fds:
        if fd > 2:
            os.close(fd)
    os.environ.clear()
    for kv in env:
        k, _, v = kv.partition(b"=")
        os.environb[k] = v
    # As at a Python start: SIGINT raises KeyboardInterrupt unless the
    # caller ignored it, SIGPIPE and SIGXFSZ are ignored.
    for sig in signal.valid_signals():
        if sig in (signal.SIGKILL, signal.SIGSTOP) or sig >= 64:
            continue
        if ignored >> sig & 1 or sig in (signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(sig, signal.SIG_IGN)
        elif sig == signal.SIGINT:
            signal.signal(sig, signal.default_int_handler)
        else:
            signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK,
                           [s for s in range(1, 64) if blocked >> s & 1])
    unbuffered = argv[1] == "-u"
    args = argv[2:] if unbuffered else argv[1:]
    enc, errs = sys.stdout.encoding, sys.stdout.errors
    sys.stdin = sys.__stdin__ = open(0, "r", encoding=enc, errors=errs,
                                   closefd=False)
    for fd, name in ((1, "stdout"), (2, "stderr")):
        raw = open(fd, "wb", buffering=0 if unbuffered else -1, closefd=False)
        stream = io.TextIOWrapper(
            raw, encoding=enc,
            errors="backslashreplace" if fd == 2 else errs,
            line_buffering=fd == 2 or os.isatty(fd),
            write_through=unbuffered)
        setattr(sys, name, stream)
        setattr(sys, "__%s__" % name, stream)
    main = types.ModuleType("__main__")
    if args[0] == "-c":
        code = compile(args[1], "<string>", "exec")
        sys.argv = ["-c"] + args[2:]
        sys.path[:] = [""] + PATH0
    else:
        name = os.path.abspath(args[0])	# as Python 3.9+ names __main__
        # As an import takes a module: from its .pyc when that matches the
        # source (scripts/vm compiles tests/lib; the guest cannot write).
        try:
            code = importlib.machinery.SourceFileLoader(
                "__main__", name).get_code("__main__")
        except OSError as e:
            os.write(2, b"/usr/bin/python3: can't open file '%s': [Errno %d] %s\n"
                     % (name.encode(), e.errno, e.strerror.encode()))
            os._exit(2)
        main.__file__ = name
        sys.argv = args
        sys.path[:] = [os.path.dirname(os.path.realpath(name))] + PATH0
    sys.modules["__main__"] = main
    return code, main.__dict__


if __name__ == "__main__":
    # Here, at the top, so that the program ends as a started Python
    # does: its exceptions, SystemExit, threads and atexit.
    exec(*take_over(*serve(sys.argv[1])))
