"""A prisoner without privilege trying to get out, and its baseline.

  table --mode baseline|prison --host4 A --host6 A --self4 A --peer4 A
        --peer6 A --port P
      runs every attack of the table and prints "ok - ..." / "not ok - ...":
      in baseline mode (module unloaded, no prison) each attack must work,
      which shows the row tests something; in prison mode it must not.
      A row whose baseline cannot work here (a family this kernel lacks)
      says so and is held to the prison's answer only.
  loop-serve --port P --ready F
      the host's loopback services above, until F is removed; prints what
      each got.
  udp6-recv --port P --ready F --stop F [--seconds S] [--steer Q]
      receives datagrams on [::]:P and prints "got TAG" for each, until
      the --stop file appears (at most S seconds, default 30); --steer:
      a BPF sk_lookup program of the namespace gives it port Q's too.
  udp-send --to A[,A...] --port P [--tag T]
      sends one UDP datagram to each A (tag: T, or A:P).
  send-dstopts --to A --port P --tag T
      sends one UDP datagram with an IPv6 destination-options header.
  race --self4 A --port P --rounds N --hold F --open F
      threads racing TCP_ULP, IPV6_ADDRFORM, bind, connect, accept and
      close on shared sockets; then holds K sockets open, writes K to the
      --open file and waits for the --hold file to go.

Run as an unprivileged user (tests/prison.sh: in prison M through
pcbgjail exec, and with no module as the baseline). The host listens on
127.0.0.2, 127.0.0.1 and [::1] (TCP) and 127.0.0.53 (UDP) at --port.
"""
import argparse
import errno
import os
import socket
import struct
import sys
import threading
import time

AF_SMC, AF_RXRPC, AF_TIPC, AF_RDS = 43, 33, 30, 21
IPPROTO_MPTCP, IPPROTO_SCTP, IPPROTO_L2TP = 262, 132, 115
IPPROTO_UDPLITE, IPPROTO_DCCP, SOCK_DCCP = 136, 33, 6
TCP_ULP, IP_FREEBIND, IPV6_ADDRFORM, IPV6_DSTOPTS = 31, 15, 1, 59
SOCK_RDM = 4

results = []


def report(ok, name):
    print(("ok - " if ok else "not ok - ") + name, flush=True)
    results.append(ok)


def outcome(fn):
    try:
        v = fn()
        return "ok" if v is None else v
    except OSError as e:
        if e.errno is None:
            return "error %r" % e
        return errno.errorcode.get(e.errno, str(e.errno))


def row(mode, name, fn, prison_want, baseline_want="ok", unavailable=()):
    """prison_want / baseline_want: an outcome, or a set of them."""
    got = outcome(fn)
    want = prison_want if mode == "prison" else baseline_want
    wants = want if isinstance(want, (set, frozenset)) else {want}
    if mode == "baseline" and got in unavailable:
        print("# %s: baseline %s (not available on this kernel)" % (name, got))
        return
    report(got in wants, "%s: %s: want %s, got %s" % (mode, name, "/".join(sorted(wants)), got))


def closing(s):
    class C:
        def __enter__(self):
            return s

        def __exit__(self, *a):
            s.close()
    return C()


def kinds_then_tcp(a):
    """Many socket kinds first (the old fixed table of 8), then TCP."""
    held = []
    for fam, kind, proto in ((socket.AF_INET, socket.SOCK_STREAM, IPPROTO_SCTP),
                             (socket.AF_INET, socket.SOCK_SEQPACKET, IPPROTO_SCTP),
                             (socket.AF_INET, socket.SOCK_DGRAM, IPPROTO_L2TP),
                             (socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP),
                             (socket.AF_INET, socket.SOCK_DGRAM, IPPROTO_UDPLITE),
                             (socket.AF_INET, SOCK_DCCP, IPPROTO_DCCP),
                             (socket.AF_INET6, socket.SOCK_STREAM, IPPROTO_SCTP),
                             (socket.AF_INET6, socket.SOCK_STREAM, IPPROTO_MPTCP),
                             (socket.AF_INET, socket.SOCK_DGRAM, 0),
                             (socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP),
                             (socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_ICMPV6)):
        try:
            held.append(socket.socket(fam, kind, proto))
        except OSError:
            pass
    try:
        with closing(socket.socket()) as s:
            s.bind((a.host4, 0))
    finally:
        for s in held:
            s.close()


def family(fam, kind, proto=0, then=None):
    def fn():
        with closing(socket.socket(fam, kind, proto)) as s:
            if then:
                then(s)
    return fn


def c_bind4(s, addr, port):
    """bind() with a sockaddr_in, for families Python cannot address."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    sin = struct.pack("=H", socket.AF_INET) + struct.pack("!H", port) + \
        socket.inet_aton(addr) + b"\0" * 8
    if libc.bind(s.fileno(), sin, len(sin)) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def smc_listen(a):
    def then(s):
        c_bind4(s, a.host4, 0)
        s.listen(1)
    return family(AF_SMC, socket.SOCK_STREAM, 0, then)


class UlpSpinner:
    """A thread looping setsockopt(TCP_ULP) on a socket while in use."""

    def __init__(self, s):
        self.s, self.done = s, False
        self.t = threading.Thread(target=self.spin)

    def spin(self):
        while not self.done:
            try:
                self.s.setsockopt(socket.SOL_TCP, TCP_ULP, b"nosuchulp")
            except OSError:
                pass

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *exc):
        self.done = True
        self.t.join()


def ulp_window(a):
    """One thread loops TCP_ULP on a socket, another binds it meanwhile."""
    got = "EADDRNOTAVAIL"
    stop = time.monotonic() + 2
    with closing(socket.socket()) as s, UlpSpinner(s):
        for _ in range(20000):
            got = outcome(lambda: s.bind((a.host4, 0)))
            if got != "EADDRNOTAVAIL" or time.monotonic() > stop:
                break
    return got


def ulp_accept_window(a):
    """TCP_ULP looping on a listener while it accepts: may the accepted
    sockets set IP_FREEBIND? Returns how many could."""
    freed = 0
    with closing(socket.socket()) as lst:
        lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lst.bind((a.self4, a.port + 1))
        lst.listen(64)
        with UlpSpinner(lst):
            for _ in range(40):
                with closing(socket.socket()) as c:
                    c.settimeout(3)
                    c.connect((a.self4, a.port + 1))
                    n, _ = lst.accept()
                    with closing(n):
                        freed += outcome(lambda: n.setsockopt(
                            socket.IPPROTO_IP, IP_FREEBIND, 1)) == "ok"
    return "freebind=%d" % freed


def ulp_threads(a):
    """Eight threads set TCP_ULP at once on one socket (the old oops)."""
    s = socket.socket()
    errs = set()

    def spin():
        for _ in range(300):
            try:
                s.setsockopt(socket.SOL_TCP, TCP_ULP, b"nosuchulp")
            except OSError as e:
                errs.add(errno.errorcode.get(e.errno, str(e.errno)))
    ts = [threading.Thread(target=spin) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    s.close()
    return "errors=" + ",".join(sorted(errs))


def addrform(a):
    with closing(socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)) as s:
        s.connect(("::ffff:" + a.peer4, 9))
        s.setsockopt(socket.IPPROTO_IPV6, IPV6_ADDRFORM, socket.AF_INET)


def tcp_to(fam, addr, port, bind=None):
    def fn():
        with closing(socket.socket(fam, socket.SOCK_STREAM)) as c:
            c.settimeout(3)
            if bind:
                c.bind((bind, 0))
            c.connect((addr, port))
            c.sendall(b"x")
    return fn


def udp_to(addr, port):
    def fn():
        with closing(socket.socket(socket.AF_INET, socket.SOCK_DGRAM)) as s:
            s.sendto(b"LOOP", (addr, port))
    return fn


def ping6(a):
    """An unbound ICMPv6 socket (ping -6): the echo reply comes back."""
    with closing(socket.socket(socket.AF_INET6, socket.SOCK_DGRAM,
                               socket.IPPROTO_ICMPV6)) as s:
        s.settimeout(3)
        s.sendto(struct.pack("!BBHHH", 128, 0, 0, 0, 1) + b"pcbg", (a.peer6, 0))
        data, _ = s.recvfrom(64)
        if data[0] != 129:
            raise OSError(errno.EPROTO, "not an echo reply")


def table(a):
    m = a.mode
    row(m, "8 socket kinds, then a TCP socket binds the host's address",
        lambda: kinds_then_tcp(a), "EADDRNOTAVAIL")
    row(m, "AF_SMC binds and listens on the host's address", smc_listen(a),
        "EAFNOSUPPORT", unavailable=("EAFNOSUPPORT",))
    row(m, "AF_RXRPC socket (drives a kernel UDP socket)",
        family(AF_RXRPC, socket.SOCK_DGRAM, socket.AF_INET), "EAFNOSUPPORT",
        unavailable=("EAFNOSUPPORT",))
    row(m, "AF_TIPC socket", family(AF_TIPC, SOCK_RDM), "EAFNOSUPPORT",
        unavailable=("EAFNOSUPPORT",))
    row(m, "AF_RDS socket", family(AF_RDS, socket.SOCK_SEQPACKET), "EAFNOSUPPORT",
        unavailable=("EAFNOSUPPORT",))
    row(m, "SCTP socket", family(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_SCTP),
        "EPROTONOSUPPORT", unavailable=("EPROTONOSUPPORT",))
    row(m, "MPTCP socket", family(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP),
        "EPROTONOSUPPORT", unavailable=("EPROTONOSUPPORT", "ENOPROTOOPT"))
    row(m, "UDP-Lite socket", family(socket.AF_INET, socket.SOCK_DGRAM, IPPROTO_UDPLITE),
        "EPROTONOSUPPORT", unavailable=("EPROTONOSUPPORT",))
    row(m, "L2TP/IP socket", family(socket.AF_INET, socket.SOCK_DGRAM, IPPROTO_L2TP),
        "EPROTONOSUPPORT", unavailable=("EPROTONOSUPPORT",))
    row(m, "bind the host's address while another thread loops TCP_ULP",
        lambda: ulp_window(a), "EADDRNOTAVAIL")
    row(m, "sockets accepted while TCP_ULP loops on the listener: IP_FREEBIND",
        lambda: ulp_accept_window(a), "freebind=0", "freebind=40")
    row(m, "eight threads set TCP_ULP on one socket at once",
        lambda: ulp_threads(a), "errors=EPERM", "errors=ENOENT")
    row(m, "TCP_ULP smc", lambda: socket.socket().setsockopt(socket.SOL_TCP, TCP_ULP, b"smc"),
        "EPERM", {"ok", "ENOENT", "ENOTCONN", "EINVAL"})
    row(m, "IPV6_ADDRFORM on a v6 socket connected to a v4-mapped peer",
        lambda: addrform(a), "EPERM")
    row(m, "connect to a host service on 127.0.0.2", tcp_to(socket.AF_INET, "127.0.0.2", a.port),
        "ECONNREFUSED")
    row(m, "connect to a host service on 127.0.0.1 through 0.0.0.0",
        tcp_to(socket.AF_INET, "0.0.0.0", a.port), "ECONNREFUSED")
    row(m, "connect to a host service on [::1] through ::", tcp_to(socket.AF_INET6, "::", a.port),
        "ECONNREFUSED")
    row(m, "connect to a host service on 127.0.0.1 through ::ffff:0.0.0.0",
        tcp_to(socket.AF_INET6, "::ffff:0.0.0.0", a.port), "ECONNREFUSED")
    row(m, "connect to 127.0.0.2 from a socket bound to the prison's address",
        tcp_to(socket.AF_INET, "127.0.0.2", a.port, bind=a.self4), "ECONNREFUSED")
    row(m, "send to a host service on 127.0.0.53 (counted by the host)",
        udp_to("127.0.0.53", a.port), "ok")
    row(m, "ping -6 from an unbound ICMPv6 socket", lambda: ping6(a), "ok")
    return 0 if all(results) else 1


def loop_serve(a):
    """The host's loopback services: TCP on 127.0.0.1, 127.0.0.2 and
    [::1], UDP on 127.0.0.53, all at --port; prints what each got."""
    import select
    socks, got = {}, {}
    for fam, addr, kind in ((socket.AF_INET, "127.0.0.1", socket.SOCK_STREAM),
                            (socket.AF_INET, "127.0.0.2", socket.SOCK_STREAM),
                            (socket.AF_INET6, "::1", socket.SOCK_STREAM),
                            (socket.AF_INET, "127.0.0.53", socket.SOCK_DGRAM)):
        s = socket.socket(fam, kind)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, a.port))
        if kind == socket.SOCK_STREAM:
            s.listen(16)
        socks[s] = addr
        got[addr] = 0
    open(a.ready, "w").close()
    while os.path.exists(a.ready):
        r, _, _ = select.select(list(socks), [], [], 0.1)
        for s in r:
            if s.type == socket.SOCK_STREAM:
                c, _ = s.accept()
                c.close()
            else:
                s.recvfrom(64)
            got[socks[s]] += 1
    print(" ".join("%s=%d" % kv for kv in sorted(got.items())))
    return 0


def udp6_recv(a):
    """Until the --stop file appears (at most --seconds)."""
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(("::", a.port))
    s.settimeout(0.1)
    if a.steer:
        from differential import sk_lookup_steer
        a.bpf_fds = sk_lookup_steer("/proc/self/ns/net", a.steer, s)
    open(a.ready, "w").close()
    end = time.monotonic() + a.seconds
    while time.monotonic() < end:
        try:
            data, _ = s.recvfrom(64)
            print("got " + data.decode(errors="replace"), flush=True)
        except socket.timeout:
            if os.path.exists(a.stop):
                break
    return 0


def udp_send(a):
    for to in a.to.split(","):
        s = socket.socket(socket.AF_INET6 if ":" in to else socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto((a.tag or "%s:%d" % (to, a.port)).encode(), (to, a.port))
        s.close()
    return 0


def send_dstopts(a):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    # Destination options: next header and length filled by the kernel,
    # one PadN option of 4 bytes.
    s.setsockopt(socket.IPPROTO_IPV6, IPV6_DSTOPTS, b"\0\0\x01\x04\0\0\0\0")
    s.sendto(a.tag.encode(), (a.to, a.port))
    return 0


def race(a):
    """Shared sockets under threads that change them; bounded in rounds."""
    shared = {"tcp": socket.socket(), "udp6": socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)}
    lock = threading.Lock()
    lst = socket.socket()
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind((a.self4, a.port))
    lst.listen(128)
    lst.settimeout(0.05)

    def get(k):
        with lock:
            return shared[k]

    def renew(k):
        with lock:
            old = shared[k]
            shared[k] = socket.socket(old.family, old.type)
        old.close()

    def quiet(fn):
        try:
            fn()
        except OSError:
            pass

    def ulp():
        for i in range(a.rounds):
            quiet(lambda: get("tcp").setsockopt(socket.SOL_TCP, TCP_ULP,
                                                b"tls" if i % 2 else b"nosuchulp"))
            quiet(lambda: lst.setsockopt(socket.SOL_TCP, TCP_ULP, b"nosuchulp"))

    def addrform_loop():
        for _ in range(a.rounds):
            s = get("udp6")
            quiet(lambda: s.connect(("::ffff:" + a.self4, 9)))
            quiet(lambda: s.setsockopt(socket.IPPROTO_IPV6, IPV6_ADDRFORM, socket.AF_INET))
            quiet(lambda: s.connect(("0.0.0.0", 0)) if s.family == socket.AF_INET else None)
            quiet(lambda: s.bind(("::ffff:" + a.self4, 0)))

    def bind_connect():
        for i in range(a.rounds):
            s = get("tcp")
            quiet(lambda: s.bind((a.self4 if i % 3 else "192.0.2.1", 0)))
            quiet(lambda: s.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1))

    def accept_loop():
        for _ in range(a.rounds // 4):
            c = socket.socket()
            c.setblocking(False)
            quiet(lambda: c.connect((a.self4, a.port)))
            try:
                n, _ = lst.accept()
                quiet(lambda: n.setsockopt(socket.SOL_TCP, TCP_ULP, b"tls"))
                n.close()
            except OSError:
                pass
            c.close()

    def closer():
        for i in range(a.rounds // 8):
            renew("tcp" if i % 2 else "udp6")

    ts = [threading.Thread(target=f) for f in (ulp, ulp, addrform_loop, bind_connect,
                                               bind_connect, accept_loop, closer)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for s in shared.values():
        s.close()
    lst.close()
    held = [socket.socket() for _ in range(5)] + \
           [socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) for _ in range(3)]
    with open(a.open, "w") as f:
        f.write("%d\n" % len(held))
    while os.path.exists(a.hold):
        time.sleep(0.1)
    for s in held:
        s.close()
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd")
    p.add_argument("--mode", default="prison")
    p.add_argument("--host4", default="192.0.2.1")
    p.add_argument("--host6", default="2001:db8::1")
    p.add_argument("--self4", default="192.0.2.11")
    p.add_argument("--peer4", default="192.0.2.2")
    p.add_argument("--peer6", default="2001:db8::2")
    p.add_argument("--port", type=int, default=9500)
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--stop")
    p.add_argument("--ready")
    p.add_argument("--to")
    p.add_argument("--tag")
    p.add_argument("--rounds", type=int, default=2000)
    p.add_argument("--hold")
    p.add_argument("--open")
    p.add_argument("--steer", type=int)
    a = p.parse_args()
    fn = {"table": table, "loop-serve": loop_serve, "udp6-recv": udp6_recv, "send-dstopts": send_dstopts,
          "udp-send": udp_send,
          "race": race}[a.cmd]
    return fn(a)


if __name__ == "__main__":
    sys.exit(main())
