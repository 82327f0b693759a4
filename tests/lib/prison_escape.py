"""Prisoners trying to get out, and the traffic that shows whether they did.

  observe --log F --ready F --stop F     (outside any prison, the peer side)
      records the source of every datagram, raw packet and connection it
      receives, with the tag in its first bytes: "tag source".
  attempts --prison M|S|E --peer4 A --peer6 A --expect F   (in a prison)
      runs the escape table: prints "ok - ..." / "not ok - ..." per attempt
      and writes the tags it sent with the source each must arrive from
      ("none": must not arrive).
  verify --log F --expect F
      compares the two.
  serve --addr A --port P --count N / connect ...: the allowed cases.

The prisons (tests/prison.sh): M has 192.0.2.11, .12, .14 (not
configured on the host) and 2001:db8::11, ::12; S has only 192.0.2.21;
E has no address. The host also has 192.0.2.1, .13 and 2001:db8::1, ::13.
"""
import argparse
import errno
import os
import select
import socket
import struct
import sys
import threading
import time

# pcbgjail's netlink library.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)),
                                "..", "..", "tools", "lib"))

IP_FREEBIND, IP_TRANSPARENT, IP_PKTINFO = 15, 19, 8
IPV6_FREEBIND, IPV6_TRANSPARENT = 78, 75
PROTO = 253  # experimental (RFC 3692): no stack handles it
UDP_PORT, TCP_PORT, ECHO_PORT = 9000, 9001, 9002

results = []


def report(ok, name):
    print(("ok - " if ok else "not ok - ") + name, flush=True)
    results.append(ok)


def attempt(name, want, fn, value=None):
    """want: "ok" or an errno name; value: what fn must return if it works."""
    try:
        got_v = fn()
        got = "ok"
    except OSError as e:
        got = errno.errorcode.get(e.errno, str(e.errno))
        got_v = None
    good = got == want and (value is None or got != "ok" or got_v == value)
    shown = got if got != "ok" or value is None else "ok %s" % (got_v,)
    report(good, "%s: want %s%s, got %s" % (name, want,
                                             " " + str(value) if value and want == "ok" else "",
                                             shown))


def sock(fam, kind, proto=0):
    return socket.socket(fam, kind, proto)


def bind_name(fam, kind, addr, port=0, opts=()):
    s = sock(fam, kind)
    try:
        for lvl, opt in opts:
            s.setsockopt(lvl, opt, 1)
        s.bind((addr, port))
        return s.getsockname()[0]
    finally:
        s.close()


def setopt(fam, lvl, opt):
    s = sock(fam, socket.SOCK_DGRAM)
    try:
        s.setsockopt(lvl, opt, 1)
    finally:
        s.close()


class Sender:
    def __init__(self, peer4, peer6, expect, prefix):
        self.peer4, self.peer6, self.prefix = peer4, peer6, prefix
        self.out = open(expect, "w")
        self.n = 0

    def tag(self, want):
        self.n += 1
        t = "%s%03d" % (self.prefix, self.n)  # 4 bytes, unique per prison
        self.out.write("%s %s\n" % (t, want))
        self.out.flush()
        return t

    def udp(self, want, fam=socket.AF_INET, dst=None, bind=None, pktinfo=None, connect=False):
        t = self.tag(want)
        s = sock(fam, socket.SOCK_DGRAM)
        try:
            if bind:
                s.bind((bind, 0))
            d = (dst or (self.peer4 if fam == socket.AF_INET else self.peer6), UDP_PORT)
            if connect:
                s.connect(d)
                s.send(t.encode())
            elif pktinfo:
                info = struct.pack("I4s4s", 0, socket.inet_aton(pktinfo), b"\0" * 4)
                s.sendmsg([t.encode()], [(socket.IPPROTO_IP, IP_PKTINFO, info)], 0, d)
            else:
                s.sendto(t.encode(), d)
        except OSError:
            self.fail(t)
            raise
        finally:
            s.close()

    def raw(self, want, src=None, hdrincl=False, bind=None, pktinfo=None):
        t = self.tag(want)
        s = sock(socket.AF_INET, socket.SOCK_RAW, PROTO)
        try:
            if bind:
                s.bind((bind, 0))
            payload = t.encode()
            if hdrincl:
                s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
                hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64,
                                  PROTO, 0, socket.inet_aton(src or "0.0.0.0"),
                                  socket.inet_aton(self.peer4))
                payload = hdr + payload
            if pktinfo:
                info = struct.pack("I4s4s", 0, socket.inet_aton(pktinfo), b"\0" * 4)
                s.sendmsg([payload], [(socket.IPPROTO_IP, IP_PKTINFO, info)], 0, (self.peer4, 0))
            else:
                s.sendto(payload, (self.peer4, 0))
        except OSError:
            self.fail(t)
            raise
        finally:
            s.close()

    def tcp(self, want, fam=socket.AF_INET, bind=None, dst=None):
        t = self.tag(want)
        s = sock(fam, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            if bind is not None:
                s.bind((bind, 0))
            s.connect((dst or (self.peer4 if fam == socket.AF_INET else self.peer6), TCP_PORT))
            s.sendall(t.encode())
            return s.getsockname()[0]
        except OSError:
            self.fail(t)
            raise
        finally:
            s.close()

    def fail(self, t):
        # Nothing was sent: it must not arrive.
        self.out.write("%s none\n" % t)
        self.out.flush()


def proc_lines():
    with open("/proc/net/pcbgroup/sockets") as f:
        return f.read().splitlines()[1:]


def attempts(a):
    P4, P6 = a.peer4, a.peer6
    tx = Sender(P4, P6, a.expect, a.prison[0])
    INET, INET6 = socket.AF_INET, socket.AF_INET6
    TCP, UDP = socket.SOCK_STREAM, socket.SOCK_DGRAM
    if a.prison == "M":
        # bind
        attempt("bind tcp to the host's address", "EADDRNOTAVAIL", lambda: bind_name(INET, TCP, "192.0.2.1"))
        attempt("bind tcp to another host address", "EADDRNOTAVAIL", lambda: bind_name(INET, TCP, "192.0.2.13"))
        attempt("bind udp to the host's address", "EADDRNOTAVAIL", lambda: bind_name(INET, UDP, "192.0.2.1"))
        attempt("bind to the wildcard (several addresses: stays one)", "ok", lambda: bind_name(INET, TCP, "0.0.0.0"), "0.0.0.0")
        attempt("bind to 127.0.0.1 (becomes the primary)", "ok", lambda: bind_name(INET, TCP, "127.0.0.1"), "192.0.2.11")
        attempt("bind to 127.0.0.2", "EADDRNOTAVAIL", lambda: bind_name(INET, TCP, "127.0.0.2"))
        attempt("bind to a non-primary prison address", "ok", lambda: bind_name(INET, UDP, "192.0.2.12"), "192.0.2.12")
        attempt("bind v6 to the host's address", "EADDRNOTAVAIL", lambda: bind_name(INET6, TCP, "2001:db8::1"))
        attempt("bind v6 to a v4-mapped host address", "EADDRNOTAVAIL", lambda: bind_name(INET6, TCP, "::ffff:192.0.2.1"))
        attempt("bind v6 to a v4-mapped prison address", "ok", lambda: bind_name(INET6, TCP, "::ffff:192.0.2.12"), "::ffff:192.0.2.12")
        attempt("bind v6 to ::1 (becomes the primary)", "ok", lambda: bind_name(INET6, TCP, "::1"), "2001:db8::11")
        attempt("bind to an address of no host", "EADDRNOTAVAIL", lambda: bind_name(INET, TCP, "198.51.100.1"))
        attempt("bind to a prison address the host lacks (ip_nonlocal_bind=1)", "EADDRNOTAVAIL", lambda: bind_name(INET, TCP, "192.0.2.14"))
        attempt("IP_FREEBIND", "EPERM", lambda: setopt(INET, socket.IPPROTO_IP, IP_FREEBIND))
        attempt("IP_TRANSPARENT", "EPERM", lambda: setopt(INET, socket.IPPROTO_IP, IP_TRANSPARENT))
        attempt("IPV6_FREEBIND", "EPERM", lambda: setopt(INET6, socket.IPPROTO_IPV6, IPV6_FREEBIND))
        attempt("IPV6_TRANSPARENT", "EPERM", lambda: setopt(INET6, socket.IPPROTO_IPV6, IPV6_TRANSPARENT))
        # raw
        attempt("raw IP_HDRINCL with the host's source", "EADDRNOTAVAIL", lambda: tx.raw("none", src="192.0.2.1", hdrincl=True))
        attempt("raw IP_HDRINCL with a spoofed foreign source", "EADDRNOTAVAIL", lambda: tx.raw("none", src="203.0.113.5", hdrincl=True))
        attempt("raw IP_HDRINCL with source 0 (the kernel would pick)", "EADDRNOTAVAIL", lambda: tx.raw("none", src="0.0.0.0", hdrincl=True))
        attempt("raw IP_HDRINCL with a non-primary prison source", "ok", lambda: tx.raw("192.0.2.12", src="192.0.2.12", hdrincl=True))
        attempt("raw bound to the host's address", "EADDRNOTAVAIL", lambda: tx.raw("none", bind="192.0.2.1"))
        attempt("raw unbound (source: the primary)", "ok", lambda: tx.raw("192.0.2.11"))
        attempt("raw bound to a non-primary prison address", "ok", lambda: tx.raw("192.0.2.12", bind="192.0.2.12"))
        attempt("raw IP_PKTINFO with the host's source", "EADDRNOTAVAIL", lambda: tx.raw("none", pktinfo="192.0.2.1"))
        # udp
        attempt("udp sendto from an unbound socket", "ok", lambda: tx.udp("192.0.2.11"))
        attempt("udp sendto from a wildcard-bound socket", "ok", lambda: tx.udp("192.0.2.11", bind="0.0.0.0"))
        attempt("udp IP_PKTINFO with the host's source", "EADDRNOTAVAIL", lambda: tx.udp("none", pktinfo="192.0.2.13"))
        attempt("udp IP_PKTINFO with a prison source", "ok", lambda: tx.udp("192.0.2.12", pktinfo="192.0.2.12"))
        attempt("udp connect from an unbound socket", "ok", lambda: tx.udp("192.0.2.11", connect=True))
        attempt("udp v6 sendto from an unbound socket", "ok", lambda: tx.udp("2001:db8::11", fam=INET6))
        attempt("udp v6 sendto a v4-mapped peer", "ok", lambda: tx.udp("192.0.2.11", fam=INET6, dst="::ffff:" + P4))
        # tcp
        attempt("tcp connect from an unbound socket", "ok", lambda: tx.tcp("192.0.2.11"), "192.0.2.11")
        attempt("tcp connect from a wildcard-bound socket", "ok", lambda: tx.tcp("192.0.2.11", bind="0.0.0.0"), "192.0.2.11")
        attempt("tcp connect from a non-primary prison address", "ok", lambda: tx.tcp("192.0.2.12", bind="192.0.2.12"), "192.0.2.12")
        attempt("tcp v6 connect from an unbound socket", "ok", lambda: tx.tcp("2001:db8::11", fam=INET6), "2001:db8::11")
        attempt("tcp v6 connect from a wildcard-bound socket", "ok", lambda: tx.tcp("2001:db8::11", fam=INET6, bind="::"), "2001:db8::11")
        attempt("tcp v6 connect to a v4-mapped peer", "ok", lambda: tx.tcp("192.0.2.11", fam=INET6, dst="::ffff:" + P4), "::ffff:192.0.2.11")
        # loopback is the prison's primary
        srv = sock(INET, TCP)
        srv.bind(("192.0.2.11", ECHO_PORT))
        srv.listen(4)

        def to_loopback():
            c = sock(INET, TCP)
            c.settimeout(5)
            try:
                c.connect(("127.0.0.1", ECHO_PORT))
                return c.getpeername()[0] + " from " + c.getsockname()[0]
            finally:
                c.close()
        attempt("tcp connect to 127.0.0.1 reaches the primary", "ok", to_loopback, "192.0.2.11 from 192.0.2.11")
        srv.close()
        # Changing prisons, its own or others, as root with CAP_NET_ADMIN.
        import pcbg_genl
        ps = pcbg_genl.Prisons()
        own = ps.get("M")["id"]
        attempt("change its own prison's addresses", "EPERM", lambda: ps.change("M", ["192.0.2.1"]))
        attempt("destroy its own prison", "EPERM", lambda: ps.destroy("M"))
        attempt("destroy another prison", "EPERM", lambda: ps.destroy("S"))
        attempt("make a prison", "EPERM", lambda: ps.create("Z", "/sys/fs/cgroup", ["192.0.2.1"]))
        attempt("list other prisons (sees its own only)", "ok",
                lambda: [p["name"] for p in ps.list()], ["M"])
        attempt("look another prison up", "ENOENT", lambda: ps.get("S"))
        ps.close()
        hold = sock(INET, TCP)
        hold.bind(("192.0.2.11", 0))
        hold.listen(1)

        def listing():
            cols = [ln.split() for ln in proc_lines()]
            return (all(c[11] == str(own) for c in cols) and
                    any(c[3].startswith("192.0.2.11:") for c in cols))
        attempt("list the namespace's sockets (sees its prison's only)", "ok", listing, True)
        hold.close()
    elif a.prison == "S":
        attempt("bind to the wildcard (one address: becomes it)", "ok", lambda: bind_name(INET, TCP, "0.0.0.0"), "192.0.2.21")
        attempt("bind to the host's address", "EADDRNOTAVAIL", lambda: bind_name(INET, UDP, "192.0.2.1"))
        attempt("bind v6 (no IPv6 address)", "EAFNOSUPPORT", lambda: bind_name(INET6, TCP, "::"))
        attempt("bind v6 to a v4-mapped prison address", "ok", lambda: bind_name(INET6, UDP, "::ffff:192.0.2.21"), "::ffff:192.0.2.21")
        attempt("udp v6 sendto (no IPv6 address)", "EAFNOSUPPORT", lambda: tx.udp("none", fam=INET6))
        attempt("udp sendto from an unbound socket", "ok", lambda: tx.udp("192.0.2.21"))

        def listen_unbound():
            s = sock(INET, TCP)
            try:
                s.listen(1)
                return s.getsockname()[0]
            finally:
                s.close()
        attempt("listen without bind (binds the prison's address)", "ok", listen_unbound, "192.0.2.21")
    elif a.prison == "E":
        attempt("bind in a prison without addresses", "EAFNOSUPPORT", lambda: bind_name(INET, TCP, "0.0.0.0"))
        attempt("udp sendto in a prison without addresses", "EAFNOSUPPORT", lambda: tx.udp("none"))
        attempt("tcp connect in a prison without addresses", "EAFNOSUPPORT", lambda: tx.tcp("none"))
    tx.out.close()
    return 0 if all(results) else 1


def observe(a):
    socks = []
    for fam, any_ in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        u = sock(fam, socket.SOCK_DGRAM)
        if fam == socket.AF_INET6:
            u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        u.bind((any_, UDP_PORT))
        t = sock(fam, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == socket.AF_INET6:
            t.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        t.bind((any_, TCP_PORT))
        t.listen(64)
        socks += [u, t]
    raw = sock(socket.AF_INET, socket.SOCK_RAW, PROTO)
    socks.append(raw)
    log = open(a.log, "w")
    open(a.ready, "w").close()
    conns = []
    peers = {}
    while not os.path.exists(a.stop):
        r, _, _ = select.select(socks + conns, [], [], 0.2)
        for s in r:
            if s is raw:
                data, addr = s.recvfrom(2048)
                log.write("%s %s\n" % (data[20:24].decode(errors="replace"), addr[0]))
            elif s in conns:
                data = s.recv(64)
                if data:
                    log.write("%s %s\n" % (data[:4].decode(errors="replace"), peers.pop(s)))
                else:
                    peers.pop(s, None)
                conns.remove(s)
                s.close()
            elif s.type == socket.SOCK_STREAM:
                c, addr = s.accept()
                peers[c] = addr[0]
                conns.append(c)
            else:
                data, addr = s.recvfrom(2048)
                log.write("%s %s\n" % (data[:4].decode(errors="replace"), addr[0]))
        log.flush()
    return 0


def verify(a):
    seen = {}
    for line in open(a.log):
        tag, _, src = line.strip().partition(" ")
        seen.setdefault(tag, []).append(src)
    fails = 0
    expect = {}
    for line in open(a.expect):
        tag, want = line.split()
        expect[tag] = want  # "none" written after a failure wins
    for tag, want in sorted(expect.items()):
        got = seen.get(tag, [])
        ok = got == [] if want == "none" else got == [want]
        if not ok:
            fails += 1
            print("not ok - packet %s: want from %s, got %s" % (tag, want, got or "nothing"))
    print(("ok - " if not fails else "not ok - ") +
          "every packet sent arrived from the source it must, none of the refused ones (%d tags)" % len(expect))
    return 1 if fails else 0


class Obj:
    pass


def serve(a):
    """Accept COUNT connections on ADDR:PORT (tcp) and echo; then exit."""
    fam = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
    s = sock(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.addr, a.port))
    s.listen(16)
    if a.steer:     # a BPF sk_lookup program gives it port --steer too
        from differential import sk_lookup_steer
        a.bpf_fds = sk_lookup_steer("/proc/self/ns/net", a.steer, s)
    if a.ready:
        open(a.ready, "w").close()
    s.settimeout(a.timeout)
    n = 0
    try:
        for _ in range(a.count):
            c, _ = s.accept()
            c.sendall(c.recv(64))
            c.close()
            n += 1
    except OSError:
        pass
    print("served=%d" % n)
    return 0 if n == a.count else 1


def connect(a):
    fam = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
    c = sock(fam, socket.SOCK_STREAM)
    c.settimeout(a.timeout)
    try:
        if a.bind:
            c.bind((a.bind, 0))
        c.connect((a.addr, a.port))
        c.sendall(b"ping")
        ok = c.recv(4) == b"ping"
        print("connected from %s" % c.getsockname()[0])
        return 0 if ok else 1
    except OSError as e:
        print("connect: %s" % e)
        return 1
    finally:
        c.close()


def serve_many(a):
    """Listen on every address of --addrs at --port; serve --count
    connections in all (echo), then exit."""
    socks = []
    for addr in a.addrs.split(","):
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        s = sock(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, a.port))
        s.listen(16)
        socks.append(s)
    if a.ready:
        open(a.ready, "w").close()
    n, end = 0, time.time() + a.timeout
    while n < a.count and time.time() < end:
        r, _, _ = select.select(socks, [], [], 0.2)
        for s in r:
            c, _ = s.accept()
            c.settimeout(5)
            try:
                c.sendall(c.recv(64))
            except OSError:
                pass
            c.close()
            n += 1
    print("served=%d" % n)
    return 0 if n == a.count else 1


def connect_one(item, a):
    """One item of connect_many: (must_fail, what, result, good)."""
    must_fail = item.startswith("!")
    item = item.lstrip("!")
    src, _, dst = item.rpartition(">")
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    c = sock(fam, socket.SOCK_STREAM)
    c.settimeout(a.timeout)
    try:
        if src:
            c.bind((src, 0))
        c.connect((dst, a.port))
        c.sendall(b"ping")
        got = c.recv(4) == b"ping"
        local = c.getsockname()[0]
        res = "connected from %s" % local
        good = got and not must_fail and (not src or local == src)
    except OSError as e:
        res = str(e)
        good = must_fail
    finally:
        c.close()
    what = "%s%s:%d" % (src + " -> " if src else "", dst, a.port)
    return must_fail, what, res, good


def connect_many(a):
    """--to "[FROM>]TO,...": connect to each TO:--port (from FROM), echo,
    report ok/not ok with --label; "!TO" must not connect. The items run
    in order, except that consecutive "!" items wait out their timeout
    together: the server is up for each as it was, and a refusal costs
    one timeout, not one each."""
    items = a.to.split(",")
    i = 0
    while i < len(items):
        j = i + 1
        if items[i].startswith("!"):
            while j < len(items) and items[j].startswith("!"):
                j += 1
        out = [None] * (j - i)

        def run(k):
            out[k] = connect_one(items[i + k], a)
        threads = [threading.Thread(target=run, args=(k,)) for k in range(j - i)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for must_fail, what, res, good in out:
            report(good, "%s: %s %s (%s)" % (a.label, "no connection to" if must_fail else "connect",
                                             what, res))
        i = j
    return 0 if all(results) else 1


def definitions(a):
    """Bad prison definitions through the kernel interface: each refused
    with its errno and a reason, and nothing made."""
    import pcbg_genl
    ps = pcbg_genl.Prisons()
    before = len(ps.list())
    cg = a.cgroup
    cases = [
        ("a name taken", "EEXIST", dict(name="M", addrs=["192.0.2.30"])),
        ("a name that is a number", "EINVAL", dict(name="9", addrs=["192.0.2.31"])),
        ("a name with a slash", "EINVAL", dict(name="bad/name", addrs=[])),
        ("a multicast address", "EINVAL", dict(name="X", addrs=["224.0.0.1"])),
        ("an address twice", "EINVAL", dict(name="X", addrs=["192.0.2.31", "192.0.2.31"])),
        ("a v4-mapped IPv6 address", "EINVAL", dict(name="X", addrs=["::ffff:192.0.2.31"])),
        ("65 addresses", "EINVAL", dict(name="X", addrs=["10.0.%d.%d" % (i // 200, i % 200 + 1)
                                                         for i in range(65)])),
        ("an id taken", "EEXIST", dict(name="X", pid=77, addrs=[])),
        ("an id out of range", "EINVAL", dict(name="X", pid=2 ** 31, addrs=[])),
    ]
    for what, want, kw in cases:
        def make(kw=kw):
            return ps.create(kw["name"], cg, kw["addrs"], pid=kw.get("pid"))
        try:
            make()
            report(False, "definition with %s: accepted" % what)
        except pcbg_genl.NetlinkError as e:
            got = errno.errorcode.get(e.errno, str(e.errno))
            report(got == want and bool(e.extack),
                   "definition with %s: want %s and a reason, got %s (%s)" % (what, want, got, e.extack))
    try:
        ps.create("Y", "/sys/fs/cgroup", [])
        report(False, "a prison on a cgroup with processes: accepted")
    except pcbg_genl.NetlinkError as e:
        report(e.errno == errno.EBUSY, "a prison on a cgroup with processes: %s (%s)"
               % (errno.errorcode.get(e.errno), e.extack))
    report(len(ps.list()) == before, "nothing made: %d prisons before and after" % before)
    ps.close()
    return 0 if all(results) else 1


RAW_PROTO = 253     # RFC 3692 experimentation


def raw_listen(a):
    """An unbound raw socket of protocol 253 per family; after --ready,
    count what each reads until --stop exists (or --timeout); prints
    "v4=N v6=M"."""
    socks = {"v4": socket.socket(socket.AF_INET, socket.SOCK_RAW, RAW_PROTO),
             "v6": socket.socket(socket.AF_INET6, socket.SOCK_RAW, RAW_PROTO)}
    n = dict((k, 0) for k in socks)
    for s in socks.values():
        s.setblocking(False)
    open(a.ready, "w").close()
    end = time.time() + a.timeout
    while time.time() < end:
        stop = os.path.exists(a.stop)
        r, _, _ = select.select(list(socks.values()), [], [], 0.05)
        for k, s in socks.items():
            if s in r:
                try:
                    s.recv(2048)
                    n[k] += 1
                except BlockingIOError:
                    pass
        if stop and not r:
            break
    print("v4=%d v6=%d" % (n["v4"], n["v6"]))
    return 0


def raw_send(a):
    """Protocol-253 datagrams: --to "ADDR*COUNT,..."."""
    for item in a.to.split(","):
        addr, count = item.split("*")
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_RAW, RAW_PROTO)
        for _ in range(int(count)):
            s.sendto(b"pcbgroup", (addr, 0))
        s.close()
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode")
    p.add_argument("--prison")
    p.add_argument("--peer4", default="192.0.2.2")
    p.add_argument("--peer6", default="2001:db8::2")
    p.add_argument("--expect")
    p.add_argument("--log")
    p.add_argument("--ready")
    p.add_argument("--stop")
    p.add_argument("--addr")
    p.add_argument("--bind")
    p.add_argument("--port", type=int, default=9100)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--timeout", type=float, default=5)
    p.add_argument("--addrs")
    p.add_argument("--to")
    p.add_argument("--label", default="")
    p.add_argument("--cgroup")
    p.add_argument("--steer", type=int)
    a = p.parse_args()
    return {"attempts": attempts, "observe": observe, "verify": verify,
            "serve": serve, "connect": connect, "serve-many": serve_many,
            "connect-many": connect_many, "definitions": definitions,
            "raw-listen": raw_listen, "raw-send": raw_send}[a.mode](a)


if __name__ == "__main__":
    sys.exit(main())
