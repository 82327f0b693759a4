#!/usr/bin/env python3
"""Raw-IP delivery, differential: every raw socket gets the same packets
with pcbgroup's hashed raw demux as with the kernel's own walk.

  raw_diff.py [--ko KO] [--params "verify=1"] [--modes off,before,after,toggle]

Two namespaces joined by a veth pair (documentation addresses only):

  [ rs: veth0 192.0.2.1 .10 ] <-> [ rc: veth1 192.0.2.2 .100-.131 ]
  [  2001:db8::1 ::10       ]     [  2001:db8::2 ::100-::11f      ]
    receiver: ~70 raw sockets       sender: hand-made packets

The receiver holds raw sockets of every kind raw_v4_match() and
raw_v6_match() tell apart: connected (bound or not, one key shared by
two), wildcard, bound to a secondary address, bound to a device, ICMP and
ICMPv6 type filters, IGMP with and without IP_MULTICAST_ALL, IP_HDRINCL,
IPV6_CHECKSUM (bad checksums dropped at read), IPv6 multicast joined or
not (with and without IPV6_MULTICAST_ALL), and sockets that connect,
reconnect, disconnect (which unhashes a raw socket for good), appear and
close between the three phases of traffic. The sender, in three phases
each ended by a barrier packet, sends GRE from 32 (IPv4) and 8 (IPv6)
sources, ICMP echo and timestamp requests, an IGMP query to 224.0.0.1,
protocols 253 (with listeners) and 254 (none: the receiver answers
protocol unreachable, which the sender counts), ICMPv6 echo and unknown
informational messages, and protocol 253 over IPv6 with good and bad
checksums, unicast and to ff02::1:3. A socket's count is every datagram
it read over the three phases.

Each mode is a full fresh run: "off" (module not loaded: the kernel's own
delivery, the oracle), "before" (namespaces and sockets made, then the
module loaded), "after" (module loaded first), "toggle" (as after, while a
thread flips net.pcbgroup.raw_demux in the receiver namespace between 0 and
1). Per-socket counts of every loaded mode must equal off's; the module's
counters must say raw_indexed > 0 (before, after) and raw_mismatch == 0.

Prints one "ok - ..." or "not ok - ..." line per check (the oracle's sanity,
then one per loaded mode) and "# ..." diagnostics. Exit status 1 on any
failure.
"""
import argparse
import ctypes
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback

from common import Netns, a4, csum, ip4  # tests/lib/, the script's directory

libc = ctypes.CDLL(None, use_errno=True)

RS, RC = "rs", "rc"                     # receiver, sender namespaces
MAC_RS, MAC_RC = "02:00:00:00:00:01", "02:00:00:00:00:02"
NPEERS = 32                             # IPv4 sender addresses .100-.131
NPEERS6 = 8                             # IPv6 GRE sources ::100-::107
PHASES = 3
RCVBUF = 1 << 20

# Option numbers (linux uapi), spelled out: Python lacks most of them.
SO_RCVBUFFORCE = 33
SO_BINDTODEVICE = 25
SOL_RAW = 255
ICMP_FILTER = 1
IP_MULTICAST_ALL = 49
IPV6_CHECKSUM = 7
IPV6_MULTICAST_IF = 17
IPV6_MULTICAST_HOPS = 18
IPV6_MULTICAST_LOOP = 19
IPV6_JOIN_GROUP = 20
IPV6_MULTICAST_ALL = 29
ICMP6_FILTER = 1
P_GRE, P_ICMP, P_IGMP, P_ICMPV6 = 47, 1, 2, 58
P_EXP, P_NONE, P_BARRIER = 253, 254, 252

CMD_WAIT = 30           # seconds any one command may take
MODE_LIMIT = 90         # seconds one whole mode may take (alarm)
BARRIER_WAIT = 5.0      # seconds a phase's barrier packet may take
READY_WAIT = 10.0       # seconds the links' IPv6 may take to come up
SEND_WAIT = 5.0         # seconds one send may stay blocked (EAGAIN)
SETTLE = 0.3            # after the last phase, before the final read
PAUSE = 0.05            # after each barrier
TOGGLE_EVERY = 0.05     # seconds between raw_demux flips: each state
                        # lasts long enough for packets to take it
TOGGLE_MAX = 20000      # flips at most


class ModeTimeout(Exception):
    pass


def on_alarm(signum, frame):
    raise ModeTimeout("mode took more than %d s" % MODE_LIMIT)


def run(args, stdin=None, check=True):
    r = subprocess.run(args, input=stdin, capture_output=True, text=True,
                       timeout=CMD_WAIT)
    if check and r.returncode:
        raise RuntimeError("%s: %s" % (" ".join(args), r.stderr.strip()))
    return r


def ip_batch(ns, lines):
    """Runs ip commands in one process (in @ns unless None)."""
    args = ["ip"] + (["-n", ns] if ns else []) + ["-batch", "-"]
    run(args, stdin="\n".join(lines) + "\n")


def sysctl(ns, name, val):
    with Netns(ns):
        with open("/proc/sys/" + name.replace(".", "/"), "w") as f:
            f.write(str(val))


def csum6(src, dst, proto, payload):
    pseudo = (socket.inet_pton(socket.AF_INET6, src) +
              socket.inet_pton(socket.AF_INET6, dst) +
              struct.pack("!IxxxB", len(payload), proto))
    return csum(pseudo + payload)


def v4(i):
    return "192.0.2.%d" % i


def v6(i):
    return "2001:db8::%x" % i


# --- topology ---------------------------------------------------------------

def teardown():
    for ns in (RS, RC):
        run(["ip", "netns", "del", ns], check=False)


def setup():
    teardown()
    for ns in (RS, RC):
        run(["ip", "netns", "add", ns])
        # No router solicitations, no DAD: no traffic the test did not send.
        sysctl(ns, "net.ipv6.conf.default.router_solicitations", 0)
        sysctl(ns, "net.ipv6.conf.all.accept_dad", 0)
        sysctl(ns, "net.ipv6.conf.default.accept_dad", 0)
    sysctl(RS, "net.ipv4.conf.all.rp_filter", 0)
    sysctl(RS, "net.ipv4.conf.default.rp_filter", 0)
    # Every ICMP error the receiver owes is sent: no rate limit.
    sysctl(RS, "net.ipv4.icmp_ratemask", 0)
    ip_batch(None, ["link add veth0 netns %s address %s type veth peer name "
                    "veth1 netns %s address %s" % (RS, MAC_RS, RC, MAC_RC)])
    rs = ["addr add 192.0.2.1/24 dev veth0",
          "addr add 192.0.2.10/24 dev veth0",
          "addr add 2001:db8::1/64 dev veth0 nodad",
          "addr add 2001:db8::10/64 dev veth0 nodad",
          "link set lo up", "link set veth0 up"]
    rc = ["addr add 192.0.2.2/24 dev veth1",
          "addr add 2001:db8::2/64 dev veth1 nodad"]
    rc += ["addr add %s/24 dev veth1" % v4(100 + n) for n in range(NPEERS)]
    rc += ["addr add %s/64 dev veth1 nodad" % v6(0x100 + n)
           for n in range(NPEERS)]
    rc += ["link set lo up", "link set veth1 up",
           "route add 224.0.0.0/4 dev veth1"]
    ip_batch(RS, rs)
    ip_batch(RC, rc)
    sysctl(RS, "net.ipv4.conf.veth0.rp_filter", 0)
    # Static neighbours both ways: no ARP queueing, and no neighbour
    # discovery, whose ICMPv6 the receiver's ICMPv6 sockets would count.
    peers = ["192.0.2.2", "2001:db8::2"]
    peers += [v4(100 + n) for n in range(NPEERS)]
    peers += [v6(0x100 + n) for n in range(NPEERS)]
    ip_batch(RS, ["neigh replace %s lladdr %s dev veth0 nud permanent" %
                  (a, MAC_RC) for a in peers])
    ip_batch(RC, ["neigh replace %s lladdr %s dev veth1 nud permanent" %
                  (a, MAC_RS) for a in ("192.0.2.1", "192.0.2.10",
                                        "2001:db8::1", "2001:db8::10")])
    deadline = time.monotonic() + READY_WAIT
    # Local routes: the global addresses and the link-local one.
    for ns, dev, nlocal in ((RS, "veth0", 3), (RC, "veth1", NPEERS + 2)):
        wait_ready(ns, dev, nlocal, deadline)


def wait_ready(ns, dev, nlocal, deadline):
    """Waits until IPv6 on @dev is usable: the link's operstate is up
    (linkwatch sets it asynchronously, and until then addrconf leaves the
    device alone), no address is tentative, the @nlocal local routes
    (inserted when an address leaves DAD: before that, packets to it are
    not delivered) and the ff00::/8 route (without it sending to ff02::
    fails with ENETUNREACH) are there."""
    cmds = "addr show dev %s\nroute show table local dev %s\nlink show " \
        "dev %s\n" % (dev, dev, dev)
    for _ in range(int(READY_WAIT / 0.02) + 1):
        r = run(["ip", "-n", ns, "-6", "-o", "-batch", "-"], stdin=cmds)
        lines = r.stdout.splitlines()
        if ("tentative" not in r.stdout and "state UP" in r.stdout and
                "multicast ff00::/8" in r.stdout and
                sum(line.startswith("local ") for line in lines) >= nlocal):
            return
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    raise RuntimeError("IPv6 on %s in %s not ready in %.0f s:\n%s" %
                       (dev, ns, READY_WAIT, r.stdout))


# --- receiver ---------------------------------------------------------------

def raw4(proto):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, proto)
    s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
    s.setblocking(False)
    return s


def raw6(proto):
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, proto)
    s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
    s.setblocking(False)
    return s


def disconnect(s):
    """connect(AF_UNSPEC), which Python's connect() cannot say: the socket
    forgets its peer and the local address connect() chose, and (raw's
    .disconnect is __udp_disconnect()) leaves the kernel's raw hash."""
    sa = struct.pack("=H14x", socket.AF_UNSPEC)
    if libc.connect(s.fileno(), sa, len(sa)):
        raise OSError(ctypes.get_errno(), "connect(AF_UNSPEC)")


class Receiver:
    """The raw sockets in rs, by name, and what each read."""

    def __init__(self):
        self.socks = {}
        self.count = {}

    def add(self, name, s):
        self.socks[name] = s
        self.count[name] = 0
        return s

    def make(self):
        with Netns(RS):
            self.make_v4()
            self.make_v6()
            self.barrier = raw4(P_BARRIER)
            self.count["barrier"] = 0

    def make_v4(self):
        # connect() of an unbound socket also sets its local address (the
        # route's source, 192.0.2.1): the odd gre-conn and the gre-dup
        # sockets do not get what is sent to 192.0.2.10.
        for n in range(NPEERS):
            s = self.add("gre-conn-%d" % n, raw4(P_GRE))
            if n % 2 == 0:
                s.bind(("192.0.2.1", 0))
            s.connect((v4(100 + n), 0))
        self.add("gre-conn-idle", raw4(P_GRE)).connect(("192.0.2.99", 0))
        self.add("gre-dup-a", raw4(P_GRE)).connect((v4(100), 0))
        self.add("gre-dup-b", raw4(P_GRE)).connect((v4(100), 0))
        self.add("gre-wild", raw4(P_GRE))
        self.add("gre-bound10", raw4(P_GRE)).bind(("192.0.2.10", 0))
        self.add("gre-dev", raw4(P_GRE)).setsockopt(
            socket.SOL_SOCKET, SO_BINDTODEVICE, b"veth0")
        self.add("gre-dev-lo", raw4(P_GRE)).setsockopt(
            socket.SOL_SOCKET, SO_BINDTODEVICE, b"lo")
        self.add("gre-late", raw4(P_GRE))
        self.add("gre-reconn", raw4(P_GRE)).connect((v4(103), 0))
        self.add("gre-disc-reconn", raw4(P_GRE))
        self.add("gre-gone", raw4(P_GRE))
        self.add("icmp-all", raw4(P_ICMP))
        self.add("icmp-noecho", raw4(P_ICMP)).setsockopt(
            SOL_RAW, ICMP_FILTER, struct.pack("=I", 1 << 8))
        self.add("igmp", raw4(P_IGMP))
        self.add("igmp-mcall0", raw4(P_IGMP)).setsockopt(
            socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
        self.add("p253-hdrincl", raw4(P_EXP)).setsockopt(
            socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
        s = self.add("p253-conn", raw4(P_EXP))
        s.bind(("192.0.2.1", 0))
        s.connect((v4(100), 0))

    def make_v6(self):
        # Unbound, connect() picks the local address: for these peers
        # 2001:db8::1 and ::10 tie on prefix length and Linux picks ::10,
        # so the odd ones get nothing (the packets go to ::1).
        for n in range(NPEERS6):
            s = self.add("gre6-conn-%d" % n, raw6(P_GRE))
            if n % 2 == 0:
                s.bind(("2001:db8::1", 0))
            s.connect((v6(0x100 + n), 0))
        self.add("gre6-wild", raw6(P_GRE))
        self.add("icmp6-all", raw6(P_ICMPV6))
        filt = [0] * 8
        filt[128 >> 5] |= 1 << (128 & 31)       # a set bit blocks the type
        self.add("icmp6-noecho", raw6(P_ICMPV6)).setsockopt(
            P_ICMPV6, ICMP6_FILTER, struct.pack("=8I", *filt))
        self.add("p253v6-csum", raw6(P_EXP)).setsockopt(
            socket.IPPROTO_IPV6, IPV6_CHECKSUM, 2)
        self.add("p253v6-plain", raw6(P_EXP))
        s = self.add("p253v6-mc-joined", raw6(P_EXP))
        s.bind(("2001:db8::1", 0))
        s.setsockopt(socket.IPPROTO_IPV6, IPV6_JOIN_GROUP,
                     socket.inet_pton(socket.AF_INET6, "ff02::1:3") +
                     struct.pack("=i", socket.if_nametoindex("veth0")))
        self.add("p253v6-mc-not", raw6(P_EXP)).bind(("2001:db8::1", 0))
        s = self.add("p253v6-mc-all0", raw6(P_EXP))
        s.setsockopt(socket.IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0)
        s.bind(("2001:db8::1", 0))

    def between(self, phase):
        """Key changes at run time, after phase @phase's barrier.
        connect(AF_UNSPEC) on a raw socket is __udp_disconnect(), which
        also unhashes it (raw bind() sets no SOCK_BINDPORT_LOCK): from
        then on the kernel delivers it nothing, even after a new connect."""
        if phase == 1:
            self.socks["gre-late"].connect((v4(101), 0))
            self.socks["gre-reconn"].connect((v4(104), 0))
            disconnect(self.socks["gre-disc-reconn"])
            with Netns(RS):
                self.add("gre-born", raw4(P_GRE))
        elif phase == 2:
            disconnect(self.socks["gre-late"])
            self.socks["gre-reconn"].connect((v4(105), 0))
            self.socks["gre-disc-reconn"].connect((v4(106), 0))
            self.drain_all(time.monotonic() + BARRIER_WAIT)
            self.socks.pop("gre-gone").close()

    def wait_barrier(self, deadline):
        """True once the barrier packet of a phase was read: everything the
        sender sent before it has been delivered (one CPU, one queue)."""
        p = select.poll()
        p.register(self.barrier, select.POLLIN)
        while time.monotonic() < deadline:
            if p.poll(20):
                n = drain(self.barrier, deadline)
                if n:
                    self.count["barrier"] += n
                    return True
        return False

    def drain_all(self, deadline):
        for name, s in self.socks.items():
            self.count[name] += drain(s, deadline)

    def close(self):
        for s in self.socks.values():
            s.close()
        if getattr(self, "barrier", None):
            self.barrier.close()


def drain(s, deadline, cap=100000):
    """Reads all queued datagrams without blocking. A datagram that fails
    IPV6_CHECKSUM is dropped by the read, which then says EAGAIN with
    more still queued: poll tells the two apart."""
    n = 0
    p = select.poll()
    p.register(s, select.POLLIN)
    for _ in range(cap):
        if time.monotonic() > deadline:
            raise RuntimeError("draining took too long")
        try:
            s.recv(65536)
            n += 1
        except (BlockingIOError, InterruptedError):
            if not p.poll(0):
                return n
    raise RuntimeError("more than %d datagrams queued" % cap)


# --- sender -----------------------------------------------------------------

def send(s, data, addr):
    deadline = time.monotonic() + SEND_WAIT
    while True:
        try:
            s.sendto(data, addr)
            return
        except (BlockingIOError, InterruptedError):
            if time.monotonic() > deadline:
                raise RuntimeError("send to %s blocked" % (addr,))
            time.sleep(0.001)


class Sender:
    def __init__(self):
        self.ident = 0
        with Netns(RC):
            self.make()

    def make(self):
        self.hdrincl = socket.socket(socket.AF_INET, socket.SOCK_RAW,
                                     socket.IPPROTO_RAW)
        self.hdrincl.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
        self.icmp = raw4(P_ICMP)
        self.gre6 = []
        for n in range(NPEERS6):
            s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, P_GRE)
            s.bind((v6(0x100 + n), 0))
            self.gre6.append(s)
        self.icmp6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, P_ICMPV6)
        self.icmp6.bind(("2001:db8::2", 0))
        self.p253_good = socket.socket(socket.AF_INET6, socket.SOCK_RAW, P_EXP)
        self.p253_good.setsockopt(socket.IPPROTO_IPV6, IPV6_CHECKSUM, 2)
        self.p253_good.bind(("2001:db8::2", 0))
        self.p253_bad = socket.socket(socket.AF_INET6, socket.SOCK_RAW, P_EXP)
        self.p253_bad.bind(("2001:db8::2", 0))
        ifindex = socket.if_nametoindex("veth1")
        self.p253_mc = socket.socket(socket.AF_INET6, socket.SOCK_RAW, P_EXP)
        self.p253_mc.setsockopt(socket.IPPROTO_IPV6, IPV6_CHECKSUM, 2)
        self.p253_mc.setsockopt(socket.IPPROTO_IPV6, IPV6_MULTICAST_IF,
                                ifindex)
        self.p253_mc.setsockopt(socket.IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 1)
        self.p253_mc.setsockopt(socket.IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0)
        self.all = [self.hdrincl, self.icmp, self.icmp6, self.p253_good,
                    self.p253_bad, self.p253_mc] + self.gre6
        for s in self.all:
            s.setblocking(False)

    def v4(self, src, dst, proto, payload, ttl=64):
        self.ident = self.ident % 0xffff + 1
        send(self.hdrincl, ip4(a4(src), a4(dst), proto, payload,
                                 ident=self.ident, ttl=ttl), (dst, 0))

    def phase(self, ph):
        """One phase of the packet mix."""
        for n in range(NPEERS):
            for i in range(3):
                self.v4(v4(100 + n), "192.0.2.1", P_GRE,
                        bytes(4) + struct.pack("!IIII", ph, n, i, 0x67726534))
        for i in range(2):
            self.v4(v4(100), "192.0.2.10", P_GRE,
                    bytes(4) + struct.pack("!IIII", ph, 99, i, 0x67726534))
        for i in range(3):
            icmp = struct.pack("!BBHHH", 8, 0, 0, 0x7261, ph * 16 + i) + \
                bytes(16)
            icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
            self.v4(v4(105), "192.0.2.1", P_ICMP, icmp)
        for i in range(2):
            ts = struct.pack("!BBHHHIII", 13, 0, 0, 0x7261, ph * 16 + i,
                             0, 0, 0)
            ts = ts[:2] + struct.pack("!H", csum(ts)) + ts[4:]
            self.v4(v4(105), "192.0.2.1", P_ICMP, ts)
        for i in range(3):
            self.v4(v4(100), "192.0.2.1", P_EXP, struct.pack("!II", ph, i))
        for i in range(2):
            self.v4(v4(102), "192.0.2.1", P_EXP, struct.pack("!II", ph, i))
        for i in range(2):      # nobody listens: protocol unreachable
            self.v4("192.0.2.2", "192.0.2.1", P_NONE,
                    struct.pack("!II", ph, i))
        for i in range(3):
            q = struct.pack("!BBH4s", 0x11, 10, 0, bytes(4))
            q = q[:2] + struct.pack("!H", csum(q)) + q[4:]
            self.v4("192.0.2.2", "224.0.0.1", P_IGMP, q, ttl=1)
        self.phase6(ph)
        # Last: the barrier the receiver waits for.
        self.v4("192.0.2.2", "192.0.2.1", P_BARRIER, struct.pack("!I", ph))

    def phase6(self, ph):
        dst = ("2001:db8::1", 0)
        for n, s in enumerate(self.gre6):
            for i in range(3):
                send(s, bytes(4) + struct.pack("!IIII", ph, n, i, 0x67726536),
                     dst)
        for i in range(3):      # the kernel fills ICMPv6 checksums
            send(self.icmp6, struct.pack("!BBHHH", 128, 0, 0, 0x7261,
                                         ph * 16 + i) + bytes(16), dst)
        for i in range(2):
            send(self.icmp6, struct.pack("!BBHI", 200, 0, 0, ph * 16 + i),
                 dst)
        for i in range(3):      # IPV6_CHECKSUM=2 fills it: good
            send(self.p253_good, struct.pack("!HHII", 0x6f6b, 0, ph, i), dst)
        for i in range(2):      # a checksum that is certainly wrong
            data = struct.pack("!HHII", 0x6261, 0, ph, i)
            bad = csum6("2001:db8::2", "2001:db8::1", P_EXP, data) ^ 0x0101
            send(self.p253_bad, data[:2] + struct.pack("!H", bad) + data[4:],
                 dst)
        for i in range(2):
            send(self.p253_mc, struct.pack("!HHII", 0x6d63, 0, ph, i),
                 ("ff02::1:3", 0))

    def proto_unreach(self, deadline):
        """ICMP protocol unreachable about protocol 254, read in rc."""
        n = 0
        p = select.poll()
        p.register(self.icmp, select.POLLIN)
        for _ in range(100000):
            if time.monotonic() > deadline:
                raise RuntimeError("sender drain took too long")
            try:
                d = self.icmp.recv(65536)
            except (BlockingIOError, InterruptedError):
                if not p.poll(0):
                    return n
                continue
            hl = (d[0] & 15) * 4
            if len(d) >= hl + 8 + 20 and d[hl] == 3 and d[hl + 1] == 2 and \
                    d[hl + 8 + 9] == P_NONE:
                n += 1
        raise RuntimeError("sender: too many ICMP messages")

    def close(self):
        for s in self.all:
            s.close()


# --- raw_demux toggling -----------------------------------------------------

class Toggler:
    """Flips net.pcbgroup.raw_demux of rs between 0 and 1 while the traffic
    runs. The file is opened inside rs, so writes reach rs's copy."""
    PATH = "/proc/sys/net/pcbgroup/raw_demux"

    def __init__(self):
        with Netns(RS):
            try:
                self.fd = os.open(self.PATH, os.O_RDWR)
            except FileNotFoundError:
                raise RuntimeError("%s missing in %s: the module has no raw "
                                   "demux switch" % (self.PATH, RS))
        self.orig = os.pread(self.fd, 16, 0).strip() or b"1"
        self.flips = 0
        self.stop = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self):
        try:
            deadline = time.monotonic() + MODE_LIMIT
            while (not self.stop.is_set() and self.flips < TOGGLE_MAX and
                   time.monotonic() < deadline):
                os.pwrite(self.fd, b"01"[self.flips % 2:][:1], 0)
                self.flips += 1
                self.stop.wait(TOGGLE_EVERY)
        except OSError as e:
            self.error = e

    def start(self):
        self.thread.start()

    def finish(self):
        self.stop.set()
        self.thread.join(5)
        if self.thread.is_alive():
            raise RuntimeError("toggle thread did not stop")
        os.pwrite(self.fd, self.orig, 0)
        os.close(self.fd)
        if self.error:
            raise RuntimeError("writing raw_demux: %s" % self.error)
        return self.flips


# --- modes ------------------------------------------------------------------

def loaded():
    return os.path.isdir("/sys/module/pcbgroup")


def unload():
    if loaded():
        run(["rmmod", "pcbgroup"])


def module_stats(ns):
    r = run(["ip", "netns", "exec", ns, "cat", "/proc/net/pcbgroup/stats"],
            check=False)
    out = {}
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) == 2 and f[1].lstrip("-").isdigit():
            out[f[0]] = int(f[1])
    return out


def traffic(rcv, snd, out):
    """The three phases; returns the counts."""
    cpus = os.sched_getaffinity(0)
    # One CPU, one backlog: the barrier comes out after all sent before it.
    os.sched_setaffinity(0, {min(cpus)})
    try:
        for ph in range(1, PHASES + 1):
            snd.phase(ph)
            deadline = time.monotonic() + BARRIER_WAIT
            if not rcv.wait_barrier(deadline):
                print("# phase %d: barrier packet not received in %.0f s" %
                      (ph, BARRIER_WAIT))
            time.sleep(PAUSE)
            rcv.drain_all(deadline + BARRIER_WAIT)
            if ph < PHASES:
                rcv.between(ph)
    finally:
        os.sched_setaffinity(0, cpus)
    time.sleep(SETTLE)
    deadline = time.monotonic() + BARRIER_WAIT
    rcv.drain_all(deadline)
    out.update(rcv.count)
    out["sender-proto-unreach"] = snd.proto_unreach(deadline)


def insmod(ko, params):
    run(["insmod", ko] + params.split())


def run_mode(mode, ko, params):
    """One fresh run: returns (counts, module stats of rs, notes)."""
    unload()
    out, stats, notes = {}, {}, []
    rcv = snd = tog = None
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(MODE_LIMIT)
    try:
        if mode in ("after", "toggle"):
            insmod(ko, params)
        setup()
        rcv = Receiver()
        rcv.make()
        snd = Sender()
        if mode == "before":
            insmod(ko, params)
        if mode == "toggle":
            tog = Toggler()
            tog.start()
        try:
            traffic(rcv, snd, out)
        finally:
            if tog:
                notes.append("flips=%d" % tog.finish())
        if mode != "off":
            stats = module_stats(RS)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        for x in (rcv, snd):
            if x:
                x.close()
        teardown()
        unload()
    return out, stats, notes


def fmt(d):
    return " ".join("%s=%s" % kv for kv in sorted(d.items(), key=key))


def key(kv):
    """Sorts gre-conn-2 before gre-conn-10."""
    name = kv[0]
    head = name.rstrip("0123456789")
    tail = name[len(head):]
    return (head, int(tail) if tail else -1)


def oracle_check(off):
    rules = [
        ("gre-wild > 0", off.get("gre-wild", 0) > 0),
        ("gre-conn-0 > 0", off.get("gre-conn-0", 0) > 0),
        ("gre-conn-idle == 0", off.get("gre-conn-idle", 1) == 0),
        ("icmp-noecho < icmp-all",
         off.get("icmp-noecho", 0) < off.get("icmp-all", 0)),
        ("igmp > 0", off.get("igmp", 0) > 0),
        ("sender-proto-unreach > 0", off.get("sender-proto-unreach", 0) > 0),
        ("p253v6-csum < p253v6-plain",
         off.get("p253v6-csum", 0) < off.get("p253v6-plain", 0)),
        ("barrier == %d" % PHASES, off.get("barrier") == PHASES),
    ]
    bad = [r for r, good in rules if not good]
    if bad:
        print("not ok - raw oracle: off counts break %s" % ", ".join(bad))
        return False
    print("ok - raw oracle: the kernel's own delivery is not empty (%s)" %
          ", ".join(r for r, _ in rules))
    return True


def compare(mode, off, res):
    out, stats, notes = res
    why = []
    if out != off:
        keys = sorted((k for k in set(off) | set(out)
                       if off.get(k) != out.get(k)), key=lambda k: key((k,)))
        diff = ["%s: %s->%s" % (k, off.get(k), out.get(k)) for k in keys]
        why.append("counts differ from off: " + ", ".join(diff))
    raw = dict((k, v) for k, v in stats.items() if k.startswith("raw"))
    print("# raw %s stats: %s%s" % (mode, fmt(raw) or "(no raw_* keys)",
                                    "".join(" " + n for n in notes)))
    if "raw_indexed" not in stats:
        why.append("no raw_indexed in /proc/net/pcbgroup/stats of %s: the "
                   "module does not count hashed raw delivery" % RS)
    elif stats["raw_indexed"] <= 0:
        why.append("raw_indexed is 0: the hash delivered nothing")
    if mode == "toggle" and not any(n.startswith("flips=") and
                                    int(n[6:]) >= 4 for n in notes):
        why.append("fewer than 4 flips of raw_demux under the traffic")
    if "raw_mismatch" not in stats:
        why.append("no raw_mismatch in /proc/net/pcbgroup/stats of %s" % RS)
    elif stats["raw_mismatch"]:
        why.append("raw_mismatch=%d: the hash and the kernel's walk "
                   "disagreed" % stats["raw_mismatch"])
    if why:
        print("not ok - raw %s: %s" % (mode, "; ".join(why)))
        return False
    print("ok - raw %s: per-socket counts identical to off, raw_indexed=%d, "
          "raw_mismatch=0" % (mode, stats["raw_indexed"]))
    return True


def where(e):
    """Where an exception came from, as diagnostics."""
    for line in traceback.format_exception(e)[-4:-1]:
        for part in line.rstrip().splitlines():
            print("# " + part)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ko", help="pcbgroup.ko (needed by loaded modes)")
    p.add_argument("--params", default="verify=1")
    p.add_argument("--modes", default="off,before,after,toggle",
                   help="comma-separated; off always runs (the oracle)")
    args = p.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    known = ("off", "before", "after", "toggle")
    if any(m not in known for m in modes):
        p.error("modes are %s" % ",".join(known))
    loaded_modes = [m for m in known[1:] if m in modes]
    if loaded_modes and not args.ko:
        p.error("--ko is needed for %s" % ",".join(loaded_modes))
    failed = 0
    t0 = time.monotonic()
    try:
        off = run_mode("off", None, "")[0]
    except Exception as e:      # a broken scenario fails, never hangs
        where(e)
        print("not ok - raw oracle: off run failed: %s" % e)
        for m in loaded_modes:
            print("not ok - raw %s: no oracle (off run failed)" % m)
        return 1
    print("# raw off took %.1f s" % (time.monotonic() - t0))
    print("# raw off: %s" % fmt(off))
    if not oracle_check(off):
        failed += 1
    for mode in loaded_modes:
        t0 = time.monotonic()
        try:
            res = run_mode(mode, args.ko, args.params)
        except Exception as e:
            where(e)
            print("not ok - raw %s: %s" % (mode, e))
            failed += 1
            continue
        print("# raw %s took %.1f s" % (mode, time.monotonic() - t0))
        if not compare(mode, off, res):
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
