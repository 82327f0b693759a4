#!/usr/bin/env python3
"""Differential scenarios: the same traffic with pcbgroup unloaded and loaded.

  differential.py --ko KO [--params "soft_hash=1 verify=1"] [SCENARIO ...]

Each scenario builds its hosts (network namespaces, veth, routes, nft
rules), starts its servers, sends its traffic and counts every message at
both ends: what each client got back, and what each server socket
received. It runs three times: with the module unloaded ("off"), with the
module loaded after the namespaces and sockets were made ("before"), and
loaded before they were made ("after"). The counts must be identical, and
in the loaded runs every namespace's verify counter must say 0 mismatches.

Prints one "ok - ..." or "not ok - ..." line per scenario (scripts/check
counts them) and "# ..." lines with the counts and the module's counters.
"""
import argparse
import ctypes
import os
import re
import selectors
import shlex
import socket
import struct
import subprocess
import sys
import threading
import time

from common import Netns, libc  # tests/lib/, the script's directory

SO_INCOMING_CPU = 49
SO_ATTACH_REUSEPORT_CBPF = 51
IP_TRANSPARENT = 19
PORT_WAIT = 5.0         # seconds a client waits for one reply (ND, ARP)


def sh(cmds, check=True):
    """Runs shell lines, each line one command, in as few processes as
    their order allows (a process costs a tenth of a second in a TCG
    guest): a run of `ip [-n NS] ...` lines is one `ip -batch`, a run of
    `ip netns exec NS nft ...` lines one `nft -f`, `ip netns exec NS
    sysctl -qw K=V` is written from here; other lines go to a shell. With
    @check, the first line that fails stops it and is named."""
    lines = [line.strip() for line in cmds.strip().splitlines()]
    runs = []       # [kind, namespace, [line, ...]], in order
    for line in lines:
        if not line or line.startswith("#"):
            continue
        kind, ns, item = batch_item(line)
        if runs and runs[-1][:2] == [kind, ns] and kind != "sysctl":
            runs[-1][2].append(item)
        else:
            runs.append([kind, ns, [item]])
    for kind, ns, items in runs:
        if kind == "sysctl":
            key, val = items[0].split("=", 1)
            try:
                with Netns(ns):     # /proc/sys/net is the opener's netns
                    fd = os.open("/proc/sys/" + key.replace(".", "/"),
                                 os.O_WRONLY)
                try:
                    os.write(fd, val.encode())
                finally:
                    os.close(fd)
            except OSError as e:
                if check:
                    raise RuntimeError("sysctl -w %s in %s: %s"
                                       % (items[0], ns, e))
            continue
        if kind == "ip":
            argv = ["ip"] + (["-n", ns] if ns else []) + \
                (["-batch", "-"] if check else ["-force", "-batch", "-"])
        elif kind == "nft":
            argv = ["ip", "netns", "exec", ns, "nft", "-f", "-"]
        else:
            argv = ["sh", "-c", "".join(
                "%s || { echo %s >&2; exit 1; }\n" % (i, shlex.quote(i))
                if check else i + "\n" for i in items)]
            items = []
        r = subprocess.run(argv, input="".join(i + "\n" for i in items),
                           capture_output=True, text=True)
        if check and r.returncode:
            raise RuntimeError("%s%s: %s" % (kind, " in " + ns if ns else "",
                                             r.stderr.strip()))


def batch_item(line):
    """(kind, namespace, line for it) of one line of sh()."""
    argv = shlex.split(line)
    if argv[:3] == ["ip", "netns", "exec"] and len(argv) > 4:
        ns, cmd = argv[3], argv[4:]
        if cmd[0] == "nft" and not cmd[1].startswith("-"):
            return "nft", ns, " ".join(cmd[1:])
        if cmd[:2] == ["sysctl", "-qw"] and len(cmd) == 3:
            return "sysctl", ns, cmd[2]
    elif argv[0] == "ip" and not any(" " in a for a in argv):
        ns = None
        if argv[1] == "-n":
            ns, argv = argv[2], argv[2:]
        if not argv[1].startswith("-"):     # no other option: batchable
            return "ip", ns, " ".join(argv[1:])
    return "sh", None, line


def fam(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


class Servers:
    """Echo servers in a background thread; counts what each socket got."""

    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self.count = {}
        self.keep = []
        self.stop = False
        self.thread = None
        # close() wakes the loop at once, not after its select's timeout.
        self.wake = os.pipe()
        self.sel.register(self.wake[0], selectors.EVENT_READ, ("wake", None))
        self.draining = threading.Event()
        self.drained = threading.Event()

    @staticmethod
    def new(ns, addr, kind, uid):
        """A socket in @ns, its file owned by @uid (meta skuid)."""
        with Netns(ns):
            if uid:
                os.seteuid(uid)
            try:
                return socket.socket(fam(addr), kind)
            finally:
                if uid:
                    os.seteuid(0)

    def add_tcp(self, name, ns, addr, port, opts=(), listen=True, uid=0):
        s = self.new(ns, addr, socket.SOCK_STREAM, uid)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam(addr) == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        for level, opt, val in opts:
            s.setsockopt(level, opt, val)
        s.bind((addr, port))
        if listen:
            s.listen(512)
        s.setblocking(False)
        self.count.setdefault(name, 0)
        self.sel.register(s, selectors.EVENT_READ, ("listen", name))
        self.keep.append(s)
        return s

    def add_udp(self, name, ns, addr, port, opts=(), connect=None, uid=0):
        s = self.new(ns, addr, socket.SOCK_DGRAM, uid)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam(addr) == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        for level, opt, val in opts:
            s.setsockopt(level, opt, val)
        s.bind((addr, port))
        if connect:
            s.connect(connect)
        s.setblocking(False)
        self.count.setdefault(name, 0)
        self.sel.register(s, selectors.EVENT_READ, ("udp", name))
        self.keep.append(s)
        return s

    def run(self):
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.stop:
            # Drained only by a select begun after the request was seen.
            draining = self.draining.is_set()
            events = self.sel.select(0 if draining else 0.2)
            if not events and draining:
                self.draining.clear()
                self.drained.set()
            for key, _ in events:
                kind, name = key.data
                s = key.fileobj
                try:
                    if kind == "wake":
                        os.read(self.wake[0], 64)
                        break
                    if kind == "listen":
                        c, _ = s.accept()
                        c.setblocking(False)
                        self.sel.register(c, selectors.EVENT_READ,
                                          ("conn", name))
                        self.keep.append(c)
                    elif kind == "udp":
                        data, peer = s.recvfrom(65536)
                        self.count[name] += 1
                        s.sendto(data, peer)
                    else:
                        data = s.recv(65536)
                        if not data:
                            self.sel.unregister(s)
                            s.close()
                            continue
                        self.count[name] += 1
                        s.sendall(data)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    try:
                        self.sel.unregister(s)
                    except (KeyError, ValueError):
                        pass

    def drain(self):
        """Returns once the servers have read every message queued: when a
        client has its reply, its request's every copy (broadcast,
        multicast, a misdelivery) is already queued to its sockets."""
        self.drained.clear()
        self.draining.set()
        os.write(self.wake[1], b"d")
        if not self.drained.wait(PORT_WAIT):
            raise RuntimeError("the servers did not drain their sockets")

    def close(self):
        self.stop = True
        os.write(self.wake[1], b"x")
        if self.thread:
            self.thread.join()
        os.close(self.wake[0])
        os.close(self.wake[1])
        for s in self.keep:
            s.close()


def tcp_clients(ns, addr, port, n, src=None, opts=(), wait=PORT_WAIT):
    """n connections, one message each: counts ok / refused / lost."""
    res = {"ok": 0, "refused": 0, "lost": 0}
    for i in range(n):
        with Netns(ns):
            s = socket.socket(fam(addr), socket.SOCK_STREAM)
        for level, opt, val in opts:
            s.setsockopt(level, opt, val)
        if src:
            s.bind((src, 0))
        s.settimeout(wait)
        msg = struct.pack("!II", i, port) * 8
        try:
            s.connect((addr, port))
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                d = s.recv(4096)
                if not d:
                    break
                got += d
            res["ok" if got == msg else "lost"] += 1
        except ConnectionRefusedError:
            res["refused"] += 1
        except OSError:
            res["lost"] += 1
        s.close()
    return res


def udp_clients(ns, addr, port, n, src=None, opts=(), expect=1,
                wait=PORT_WAIT):
    """n sockets, one datagram each; counts the replies (expect per send).
    A client expecting one reply is connected, so that an ICMP error ends
    its wait at once (refused)."""
    res = {"ok": 0, "lost": 0, "refused": 0}
    for i in range(n):
        with Netns(ns):
            s = socket.socket(fam(addr), socket.SOCK_DGRAM)
        for level, opt, val in opts:
            s.setsockopt(level, opt, val)
        s.bind((src or ("::" if fam(addr) == socket.AF_INET6 else "0.0.0.0"),
                0))
        s.settimeout(1.0 if expect != 1 else wait)
        msg = struct.pack("!II", i, port)
        if expect == 1:
            s.connect((addr, port))
            s.send(msg)
        else:
            s.sendto(msg, (addr, port))
        got = refused = 0
        for _ in range(expect):
            try:
                if s.recv(64) == msg:
                    got += 1
            except ConnectionRefusedError:
                refused = 1
                break
            except OSError:
                break
        res["ok"] += got
        res["refused"] += refused
        res["lost"] += expect - got - refused
        s.close()
    return res


def count(out, prefix, res):
    for k, v in res.items():
        out["%s %s" % (prefix, k)] = v


# Two hosts on one link, the topology most scenarios start from:
#   [ c: veth1 192.0.2.2 2001:db8::2 ] <-> [ s: veth0 192.0.2.1 2001:db8::1 ]
PAIR = """
ip netns add {c}
ip netns add {s}
ip link add veth1 netns {c} type veth peer name veth0 netns {s}
ip -n {c} addr add 192.0.2.2/24 dev veth1
ip -n {c} addr add 2001:db8::2/64 dev veth1 nodad
ip -n {c} link set veth1 up
ip -n {c} link set lo up
ip -n {s} addr add 192.0.2.1/24 dev veth0
ip -n {s} addr add 2001:db8::1/64 dev veth0 nodad
ip -n {s} link set veth0 up
ip -n {s} link set lo up
"""


# Three hosts, the middle one a router (or a container host):
#   [ c: 192.0.2.2 2001:db8:1::2 ] <-> [ m: 192.0.2.1 2001:db8:1::1 |
#     198.51.100.1 2001:db8:2::1 ] <-> [ s: 198.51.100.2 2001:db8:2::2 ]
# No DAD on the link-local addresses: while they are tentative the router
# sends no neighbour solicitation for a packet it forwards (its source is
# not the router's), and the first IPv6 SYN of each run waited 2 s for
# the retries.
ROUTED = """
ip netns add {c}
ip netns add {m}
ip netns add {s}
ip netns exec {c} sysctl -qw net.ipv6.conf.default.accept_dad=0
ip netns exec {m} sysctl -qw net.ipv6.conf.default.accept_dad=0
ip netns exec {s} sysctl -qw net.ipv6.conf.default.accept_dad=0
ip link add veth1 netns {c} type veth peer name veth0 netns {m}
ip link add veth2 netns {m} type veth peer name veth3 netns {s}
ip -n {c} addr add 192.0.2.2/24 dev veth1
ip -n {c} addr add 2001:db8:1::2/64 dev veth1 nodad
ip -n {c} link set veth1 up
ip -n {c} route add default via 192.0.2.1
ip -n {c} route add default via 2001:db8:1::1
ip -n {m} addr add 192.0.2.1/24 dev veth0
ip -n {m} addr add 198.51.100.1/24 dev veth2
ip -n {m} addr add 2001:db8:1::1/64 dev veth0 nodad
ip -n {m} addr add 2001:db8:2::1/64 dev veth2 nodad
ip -n {m} link set veth0 up
ip -n {m} link set veth2 up
ip netns exec {m} sysctl -qw net.ipv4.ip_forward=1
ip netns exec {m} sysctl -qw net.ipv6.conf.all.forwarding=1
ip -n {s} addr add 198.51.100.2/24 dev veth3
ip -n {s} addr add 2001:db8:2::2/64 dev veth3 nodad
ip -n {s} link set veth3 up
ip -n {s} route add default via 198.51.100.1
ip -n {s} route add default via 2001:db8:2::1
"""


class Scenario:
    """A scenario names its namespaces (ns), builds them (setup), starts
    servers (serve) and sends traffic (traffic -> counts)."""
    ns = ("dc", "ds")
    c, s = "dc", "ds"
    steered = ("ds",)   # namespaces where the groups should answer some

    def setup(self):
        sh(PAIR.format(c=self.c, s=self.s))

    def serve(self, srv):
        pass

    def traffic(self, srv, out):
        pass

    def teardown(self):
        sh("\n".join("ip netns del " + n for n in self.ns), check=False)


class Forward(Scenario):
    """A router with local listeners on the ports it forwards: forwarded
    traffic must reach the server behind it, none the router's sockets."""
    ns = ("dc", "dr", "ds")
    c, r, s = "dc", "dr", "ds"
    steered = ("ds",)

    def setup(self):
        sh(ROUTED.format(c="dc", m="dr", s="ds"))

    def serve(self, srv):
        for a in ("0.0.0.0", "::"):
            srv.add_tcp("router-tcp", "dr", a, 8000)
            srv.add_udp("router-udp", "dr", a, 8001)
        for a in ("198.51.100.2", "2001:db8:2::2"):
            srv.add_tcp("server-tcp", "ds", a, 8000)
            srv.add_udp("server-udp", "ds", a, 8001)

    def traffic(self, srv, out):
        for a in ("198.51.100.2", "2001:db8:2::2"):
            count(out, "tcp " + a, tcp_clients("dc", a, 8000, 20))
            count(out, "udp " + a, udp_clients("dc", a, 8001, 20))


class Dnat(Scenario):
    """A container host: published ports DNAT'd to a container, with a port
    holder (docker-proxy) listening on the published port on the host."""
    ns = ("dc", "dh", "dk")
    steered = ("dk", "dh")

    def setup(self):
        sh(ROUTED.format(c="dc", m="dh", s="dk"))
        sh("""
ip netns exec dh nft add table inet nat
ip netns exec dh nft 'add chain inet nat pre { type nat hook prerouting priority -100; }'
ip netns exec dh nft add rule inet nat pre ip daddr 192.0.2.1 tcp dport 8080 dnat ip to 198.51.100.2:80
ip netns exec dh nft add rule inet nat pre ip daddr 192.0.2.1 udp dport 8081 dnat ip to 198.51.100.2:81
ip netns exec dh nft add rule inet nat pre ip6 daddr 2001:db8:1::1 tcp dport 8080 dnat ip6 to [2001:db8:2::2]:80
ip netns exec dh nft add rule inet nat pre ip6 daddr 2001:db8:1::1 udp dport 8081 dnat ip6 to [2001:db8:2::2]:81
""")

    def serve(self, srv):
        for a in ("0.0.0.0", "::"):
            srv.add_tcp("holder-tcp", "dh", a, 8080)
            srv.add_udp("holder-udp", "dh", a, 8081)
            srv.add_tcp("host-tcp-80", "dh", a, 80)
        for a in ("0.0.0.0", "::"):
            srv.add_tcp("container-tcp", "dk", a, 80)
            srv.add_udp("container-udp", "dk", a, 81)

    def traffic(self, srv, out):
        for a in ("192.0.2.1", "2001:db8:1::1"):
            count(out, "tcp " + a, tcp_clients("dc", a, 8080, 20))
            count(out, "udp " + a, udp_clients("dc", a, 8081, 20))
            count(out, "tcp-host " + a, tcp_clients("dc", a, 80, 5))


class Redirect(Scenario):
    """REDIRECT to a local port, with listeners on both ports."""
    def setup(self):
        super().setup()
        sh("""
ip netns exec ds nft add table inet nat
ip netns exec ds nft 'add chain inet nat pre { type nat hook prerouting priority -100; }'
ip netns exec ds nft add rule inet nat pre tcp dport 7000 redirect to :7100
ip netns exec ds nft add rule inet nat pre udp dport 7001 redirect to :7101
""")

    def serve(self, srv):
        for a in ("192.0.2.1", "2001:db8::1"):
            srv.add_tcp("tcp-7000", "ds", a, 7000)
            srv.add_tcp("tcp-7100", "ds", a, 7100)
            srv.add_udp("udp-7001", "ds", a, 7001)
            srv.add_udp("udp-7101", "ds", a, 7101)

    def traffic(self, srv, out):
        for a in ("192.0.2.1", "2001:db8::1"):
            count(out, "tcp " + a, tcp_clients("dc", a, 7000, 20))
            count(out, "udp " + a, udp_clients("dc", a, 7001, 20))


class SnatInput(Scenario):
    """SNAT on INPUT: the source the server sees is rewritten after early
    demux; a socket connected to the rewritten source must get it."""
    # Below the ephemeral ports (32768-60999): a client given this port
    # at random would share the fixed flow's conntrack entry, and the
    # kernel itself would deliver its datagrams to the connected socket
    # (one run, with 40001: udp-connected 11, udp-wild 9).
    FIXED_PORT = 30001

    def setup(self):
        super().setup()
        sh("""
ip netns exec ds nft add table ip nat
ip netns exec ds nft 'add chain ip nat in { type nat hook input priority 100; }'
ip netns exec ds nft add rule ip nat in ip saddr 192.0.2.2 udp dport 7001 snat to 192.0.2.99
ip netns exec ds nft add rule ip nat in ip saddr 192.0.2.2 tcp dport 7000 snat to 192.0.2.99
ip -n ds route add 192.0.2.99/32 dev veth0
""")

    def serve(self, srv):
        srv.add_udp("udp-wild", "ds", "0.0.0.0", 7001)
        srv.add_udp("udp-connected", "ds", "192.0.2.1", 7001,
                    connect=("192.0.2.99", self.FIXED_PORT))
        srv.add_tcp("tcp", "ds", "0.0.0.0", 7000)

    def traffic(self, srv, out):
        out["udp from the fixed port ok"] = self.fixed_port()
        count(out, "udp", udp_clients("dc", "192.0.2.1", 7001, 10))
        count(out, "tcp", tcp_clients("dc", "192.0.2.1", 7000, 10))

    def fixed_port(self):
        """Datagrams from the one source port the connected socket wants."""
        got = 0
        with Netns("dc"):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("192.0.2.2", self.FIXED_PORT))
        s.settimeout(PORT_WAIT)    # every reply comes: a late one is no loss
        for i in range(10):
            s.sendto(struct.pack("!I", i), ("192.0.2.1", 7001))
            try:
                got += len(s.recv(64)) == 4
            except OSError:
                pass
        s.close()
        return got


class Vrf(Scenario):
    """The server's link in a VRF; sockets in the default VRF answer it only
    with tcp/udp_l3mdev_accept=1, a socket bound to the VRF always."""
    accept = 0

    def setup(self):
        super().setup()
        sh("""
ip -n ds link add blue type vrf table 10
ip -n ds link set blue up
ip -n ds link set veth0 master blue
ip -n ds addr replace 2001:db8::1/64 dev veth0 nodad
ip netns exec ds sysctl -qw net.ipv4.tcp_l3mdev_accept={a}
ip netns exec ds sysctl -qw net.ipv4.udp_l3mdev_accept={a}
""".format(a=self.accept))

    def serve(self, srv):
        for a in ("0.0.0.0", "::"):
            srv.add_tcp("default-tcp", "ds", a, 7000)
            srv.add_udp("default-udp", "ds", a, 7001)
            srv.add_tcp("vrf-tcp", "ds", a, 7100,
                        opts=[(socket.SOL_SOCKET, socket.SO_BINDTODEVICE,
                               b"blue")])
            srv.add_udp("vrf-udp", "ds", a, 7101,
                        opts=[(socket.SOL_SOCKET, socket.SO_BINDTODEVICE,
                               b"blue")])

    def traffic(self, srv, out):
        for a in ("192.0.2.1", "2001:db8::1"):
            count(out, "tcp default " + a, tcp_clients("dc", a, 7000, 10))
            # accept=1: no reply comes (a short wait); accept=0: an ICMP
            # error comes, however late a busy guest sends it.
            count(out, "udp default " + a, udp_clients(
                "dc", a, 7001, 2, wait=0.5 if self.accept else PORT_WAIT))
            count(out, "tcp vrf " + a, tcp_clients("dc", a, 7100, 10))
            count(out, "udp vrf " + a, udp_clients("dc", a, 7101, 10))


class Vrf1(Vrf):
    accept = 1


# BPF, by hand: sk_lookup programs and a sockmap, no libbpf needed.
BPF_SYSCALL = 321
BPF_MAP_CREATE, BPF_MAP_UPDATE_ELEM, BPF_PROG_LOAD, BPF_LINK_CREATE = 0, 2, 5, 28
BPF_MAP_TYPE_SOCKMAP, BPF_PROG_TYPE_SK_LOOKUP, BPF_SK_LOOKUP = 15, 30, 36


def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(attr, 128)
    fd = libc.syscall(BPF_SYSCALL, cmd, buf, 128)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "bpf(%d)" % cmd)
    return fd


def insn(code, dst=0, src=0, off=0, imm=0):
    return struct.pack("<BBhi", code, src << 4 | dst, off, imm)


def sk_lookup_prog(port, map_fd=None):
    """SK_DROP for local port @port, or (with @map_fd) the sockmap's
    socket 0 for it; SK_PASS (the kernel's own lookup) for the rest."""
    p = [insn(0x61, 2, 1, 60)]                       # r2 = ctx->local_port
    if map_fd is None:
        p += [insn(0x55, 2, 0, 2, port),             # if r2 != port goto +2
              insn(0xb7, 0, 0, 0, 0),                # r0 = SK_DROP
              insn(0x95)]                            # exit
    else:
        p += [insn(0x55, 2, 0, 15, port),            # if r2 != port goto pass
              insn(0xbf, 6, 1),                      # r6 = ctx
              insn(0x62, 10, 0, -4, 0),              # *(u32 *)(fp - 4) = 0
              insn(0xbf, 2, 10),                     # r2 = fp
              insn(0x07, 2, 0, 0, -4),               # r2 += -4
              insn(0x18, 1, 1, 0, map_fd), insn(0),  # r1 = map
              insn(0x85, 0, 0, 0, 1),                # map_lookup_elem
              insn(0x15, 0, 0, 7, 0),                # if r0 == 0 goto pass
              insn(0xbf, 7, 0),                      # r7 = sk
              insn(0xbf, 1, 6), insn(0xbf, 2, 7),    # r1 = ctx, r2 = sk
              insn(0xb7, 3, 0, 0, 0),                # r3 = 0
              insn(0x85, 0, 0, 0, 124),              # sk_assign
              insn(0xbf, 1, 7),                      # r1 = sk
              insn(0x85, 0, 0, 0, 86)]               # sk_release
    p += [insn(0xb7, 0, 0, 0, 1), insn(0x95)]        # pass: r0 = SK_PASS
    return b"".join(p)


def sk_lookup_attach(ns, prog):
    """Attach @prog to netns @ns (a name, or a path such as
    /proc/self/ns/net); returns the fds that keep it."""
    code = ctypes.create_string_buffer(prog)
    lic = ctypes.create_string_buffer(b"GPL")
    log = ctypes.create_string_buffer(65536)
    attr = struct.pack("<IIQQIIQII16sII", BPF_PROG_TYPE_SK_LOOKUP,
                       len(prog) // 8, ctypes.addressof(code),
                       ctypes.addressof(lic), 1, len(log),
                       ctypes.addressof(log), 0, 0, b"pcbg_sklookup", 0,
                       BPF_SK_LOOKUP)
    try:
        pfd = bpf(BPF_PROG_LOAD, attr)
    except OSError as e:
        raise RuntimeError("sk_lookup load: %s\n%s" % (e, log.value.decode()))
    nsfd = os.open(ns if ns.startswith("/") else "/run/netns/" + ns,
                   os.O_RDONLY)
    link = bpf(BPF_LINK_CREATE, struct.pack("<IIII", pfd, nsfd,
                                            BPF_SK_LOOKUP, 0))
    os.close(nsfd)
    return [pfd, link]


def sk_lookup_steer(ns, port, target):
    """A program of netns @ns giving local port @port to socket @target
    (through a sockmap); returns the fds that keep it."""
    mfd = bpf(BPF_MAP_CREATE, struct.pack("<IIII", BPF_MAP_TYPE_SOCKMAP,
                                          4, 8, 1))
    key = ctypes.c_uint32(0)
    val = ctypes.c_uint64(target.fileno())
    bpf(BPF_MAP_UPDATE_ELEM, struct.pack("<IIQQQ", mfd, 0,
                                         ctypes.addressof(key),
                                         ctypes.addressof(val), 0))
    return [mfd] + sk_lookup_attach(ns, sk_lookup_prog(port, mfd))


class SkLookup(Scenario):
    """A BPF sk_lookup program steers port 7050 (no listener there) to the
    listener on 7777 and drops 7200 (which has a listener)."""
    def setup(self):
        super().setup()
        self.fds = []

    def serve(self, srv):
        target = srv.add_tcp("tcp-7777", "ds", "0.0.0.0", 7777)
        srv.add_tcp("tcp-7200", "ds", "0.0.0.0", 7200)
        srv.add_tcp("tcp-7000", "ds", "0.0.0.0", 7000)
        srv.add_udp("udp-7001", "ds", "0.0.0.0", 7001)
        self.fds = sk_lookup_steer("ds", 7050, target)
        self.fds += sk_lookup_attach("ds", sk_lookup_prog(7200))

    def traffic(self, srv, out):
        count(out, "tcp 7050", tcp_clients("dc", "192.0.2.1", 7050, 10))
        count(out, "tcp 7200", tcp_clients("dc", "192.0.2.1", 7200, 2,
                                           wait=1.5))
        count(out, "tcp 7000", tcp_clients("dc", "192.0.2.1", 7000, 10))
        count(out, "udp 7001", udp_clients("dc", "192.0.2.1", 7001, 10))

    def teardown(self):
        for fd in getattr(self, "fds", []):
            os.close(fd)
        super().teardown()


class ReuseportBpf(Scenario):
    """SO_INCOMING_CPU listeners (bucket listeners) in a reuseport group
    with a classic BPF selector that always picks the last member."""
    def serve(self, srv):
        ncpu = os.cpu_count()
        prog = struct.pack("<HBBI", 0x06, 0, 0, ncpu - 1)  # ret #ncpu-1
        fprog = ctypes.create_string_buffer(prog)
        sock_fprog = struct.pack("<HxxxxxxQ", 1, ctypes.addressof(fprog))
        self.keep = fprog
        for cpu in range(ncpu):
            for kind in ("tcp", "udp"):
                opts = [(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1),
                        (socket.SOL_SOCKET, SO_INCOMING_CPU, cpu)]
                add = srv.add_tcp if kind == "tcp" else srv.add_udp
                s = add("%s-cpu%d" % (kind, cpu), "ds", "0.0.0.0",
                        7000 if kind == "tcp" else 7001, opts=opts)
                if cpu == 0:
                    s.setsockopt(socket.SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF,
                                 sock_fprog)

    def traffic(self, srv, out):
        count(out, "tcp", tcp_clients("dc", "192.0.2.1", 7000, 20))
        count(out, "udp", udp_clients("dc", "192.0.2.1", 7001, 20))


class IncomingCpu(Scenario):
    """Bucket listeners without a selector: the kernel picks the member of
    the receiving CPU; so must the groups."""
    def serve(self, srv):
        for cpu in range(os.cpu_count()):
            opts = [(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1),
                    (socket.SOL_SOCKET, SO_INCOMING_CPU, cpu)]
            srv.add_tcp("tcp", "ds", "0.0.0.0", 7000, opts=opts)
            srv.add_udp("udp", "ds", "0.0.0.0", 7001, opts=opts)
        srv.add_tcp("tcp-specific", "ds", "192.0.2.1", 7000,
                    opts=[(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)])

    def traffic(self, srv, out):
        count(out, "tcp", tcp_clients("dc", "192.0.2.1", 7000, 20))
        count(out, "udp", udp_clients("dc", "192.0.2.1", 7001, 20))


# One SA each way, the same in both hosts; each host's policies: its own
# traffic out (a -> b), the peer's in.
XFRM = """
ip -n {n} xfrm state add src {c} dst {s} proto esp spi 0x100 mode {m} enc 'cbc(aes)' 0x{k} auth 'hmac(sha256)' 0x{k}{k}
ip -n {n} xfrm state add src {s} dst {c} proto esp spi 0x200 mode {m} enc 'cbc(aes)' 0x{k} auth 'hmac(sha256)' 0x{k}{k}
ip -n {n} xfrm policy add src {a} dst {b} dir out tmpl src {a} dst {b} proto esp mode {m}
ip -n {n} xfrm policy add src {b} dst {a} dir in tmpl src {b} dst {a} proto esp mode {m}
"""
KEY = "0123456789abcdef0123456789abcdef"


class Ipsec(Scenario):
    """ESP in transport mode between the two hosts, IPv4 and IPv6. The
    decrypted packet comes back with its route: early demux does not run,
    so the groups answer connected UDP (in __udp4/6_lib_lookup(), at
    udp_rcv()); TCP is the stack's (a SYN is, without prisons)."""
    mode = "transport"

    def setup(self):
        super().setup()
        for c, s in (("192.0.2.2", "192.0.2.1"), ("2001:db8::2", "2001:db8::1")):
            sh(XFRM.format(n="dc", c=c, s=s, a=c, b=s, m=self.mode, k=KEY))
            sh(XFRM.format(n="ds", c=c, s=s, a=s, b=c, m=self.mode, k=KEY))

    def serve(self, srv):
        for a in ("0.0.0.0", "::"):
            srv.add_tcp("tcp", "ds", a, 7000)
            srv.add_udp("udp", "ds", a, 7001)
        for a, p in (("192.0.2.1", "192.0.2.2"), ("2001:db8::1", "2001:db8::2")):
            srv.add_udp("connected", "ds", a, 7300, connect=(p, 21000))

    def traffic(self, srv, out):
        for a, p in (("192.0.2.1", "192.0.2.2"), ("2001:db8::1", "2001:db8::2")):
            count(out, "tcp " + a, tcp_clients("dc", a, 7000, 10))
            count(out, "udp " + a, udp_clients("dc", a, 7001, 10))
            out["connected replies " + a] = UdpGro.echo(a, p, 21000, 5)
        out["esp used"] = int(self.esp_packets() > 0)

    @staticmethod
    def esp_packets():
        r = subprocess.run(["ip", "-n", "ds", "-s", "xfrm", "state"],
                           capture_output=True, text=True)
        return sum(int(n) for n in re.findall(r"(\d+)\(packets\)", r.stdout))


class IpsecTunnel(Ipsec):
    mode = "tunnel"


class Broadcast(Scenario):
    """A directed broadcast to a subnet whose address was added without a
    broadcast address: every socket on the port gets a copy."""
    steered = ()

    def serve(self, srv):
        for i in range(3):
            srv.add_udp("udp-any-%d" % i, "ds", "0.0.0.0", 7001,
                        opts=[(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)])

    def traffic(self, srv, out):
        bc = [(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)]
        count(out, "broadcast", udp_clients("dc", "192.0.2.255", 7001, 5,
                                            opts=bc, expect=3))
        count(out, "limited", udp_clients("dc", "255.255.255.255", 7001, 5,
                                          opts=bc, expect=3,
                                          src="192.0.2.2"))


class Tproxy(Scenario):
    """TPROXY in PRE_ROUTING hands traffic for a foreign address to a
    transparent listener; the groups must not take it elsewhere."""
    def setup(self):
        super().setup()
        sh("""
ip -n dc route add 203.0.113.0/24 via 192.0.2.1
ip -n ds rule add fwmark 1 lookup 100
ip -n ds route add local 0.0.0.0/0 dev lo table 100
ip netns exec ds nft add table ip mangle
ip netns exec ds nft 'add chain ip mangle pre { type filter hook prerouting priority -150; }'
ip netns exec ds nft add rule ip mangle pre ip daddr 203.0.113.5 tcp dport 9000 tproxy to :7000 meta mark set 1 accept
""")

    def serve(self, srv):
        t = [(socket.SOL_IP, IP_TRANSPARENT, 1)]
        srv.add_tcp("tproxy-tcp", "ds", "0.0.0.0", 7000, opts=t)
        srv.add_tcp("plain-tcp-9000", "ds", "0.0.0.0", 9000)

    def traffic(self, srv, out):
        count(out, "tcp", tcp_clients("dc", "203.0.113.5", 9000, 10))
        count(out, "tcp direct", tcp_clients("dc", "192.0.2.1", 9000, 10))


class SkuidMatch(Scenario):
    """nft rules on INPUT that read the packet's socket (meta skuid,
    socket): with early demux only established sockets are visible there,
    so SYNs and unconnected UDP pass a rule that matches the owner."""
    def setup(self):
        super().setup()
        sh("""
ip netns exec ds nft add table inet f
ip netns exec ds nft 'add chain inet f in { type filter hook input priority 0; }'
ip netns exec ds nft add rule inet f in tcp dport 7000 tcp flags syn meta skuid 4321 counter drop
ip netns exec ds nft add rule inet f in udp dport 7001 meta skuid 4321 counter drop
ip netns exec ds nft add rule inet f in tcp dport 7100 socket transparent 0 tcp flags syn counter drop
""")

    def serve(self, srv):
        srv.add_tcp("tcp-uid", "ds", "0.0.0.0", 7000, uid=4321)
        srv.add_udp("udp-uid", "ds", "0.0.0.0", 7001, uid=4321)
        srv.add_tcp("tcp-7100", "ds", "0.0.0.0", 7100)

    def traffic(self, srv, out):
        count(out, "tcp", tcp_clients("dc", "192.0.2.1", 7000, 10))
        count(out, "udp", udp_clients("dc", "192.0.2.1", 7001, 10))
        count(out, "tcp 7100", tcp_clients("dc", "192.0.2.1", 7100, 1,
                                           wait=1.5))


class Bridge(Scenario):
    """Bridged traffic seen by netfilter (br_netfilter): a host on the
    bridge with a listener on the port must not take frames for another."""
    ns = ("dc", "db", "ds")
    steered = ("ds",)

    def setup(self):
        subprocess.run(["modprobe", "br_netfilter"], capture_output=True)
        sh("""
ip netns add dc
ip netns add db
ip netns add ds
ip link add veth1 netns dc type veth peer name b1 netns db
ip link add veth0 netns ds type veth peer name b0 netns db
ip -n db link add br0 type bridge
ip -n db link set b0 master br0
ip -n db link set b1 master br0
ip -n db addr add 192.0.2.3/24 dev br0
ip -n db link set br0 up
ip -n db link set b0 up
ip -n db link set b1 up
ip netns exec db sysctl -qw net.bridge.bridge-nf-call-iptables=1
ip -n dc addr add 192.0.2.2/24 dev veth1
ip -n dc link set veth1 up
ip -n ds addr add 192.0.2.1/24 dev veth0
ip -n ds link set veth0 up
""")

    def serve(self, srv):
        srv.add_tcp("bridge-host-tcp", "db", "0.0.0.0", 7000)
        srv.add_udp("bridge-host-udp", "db", "0.0.0.0", 7001)
        srv.add_tcp("server-tcp", "ds", "0.0.0.0", 7000)
        srv.add_udp("server-udp", "ds", "0.0.0.0", 7001)

    def traffic(self, srv, out):
        count(out, "tcp", tcp_clients("dc", "192.0.2.1", 7000, 20))
        count(out, "udp", udp_clients("dc", "192.0.2.1", 7001, 20))


class Plain(Scenario):
    """The tidy case, for the record: connected and unconnected, v4, v6."""
    def serve(self, srv):
        for a in ("0.0.0.0", "::"):
            srv.add_tcp("tcp", "ds", a, 7000)
            srv.add_udp("udp", "ds", a, 7001)

    def traffic(self, srv, out):
        for a in ("192.0.2.1", "2001:db8::1"):
            count(out, "tcp " + a, tcp_clients("dc", a, 7000, 30))
            count(out, "udp " + a, udp_clients("dc", a, 7001, 20))


class UdpGro(Scenario):
    """Connected UDP sockets on one port while a socket of the namespace has
    UDP_GRO on and the link does GRO: udp4_gro_receive() then looks every
    datagram up before any hook, and udp_rcv() again. Both lookups must
    give the kernel's socket; the groups answer both (at least twice as
    many exact hits as datagrams to connected sockets)."""
    flows = 24
    UDP_GRO = 104

    def setup(self):
        super().setup()
        sh("ip netns exec ds ethtool -K veth0 gro on")

    def serve(self, srv):
        for a, p in (("192.0.2.1", "192.0.2.2"), ("2001:db8::1", "2001:db8::2")):
            for i in range(self.flows):
                srv.add_udp("connected", "ds", a, 7300,
                            connect=(p, 21000 + i))
            srv.add_udp("unconnected", "ds", a, 7300)
            # Its own port; it only turns udp_encap_needed_key on.
            srv.add_udp("gro", "ds", a, 7301,
                        opts=((socket.SOL_UDP, self.UDP_GRO, 1),))

    def traffic(self, srv, out):
        for a, p in (("192.0.2.1", "192.0.2.2"), ("2001:db8::1", "2001:db8::2")):
            got = 0
            for i in range(self.flows):
                got += self.echo(a, p, 21000 + i, 3)
            out["connected replies " + a] = got
            count(out, "unconnected " + a, udp_clients("dc", a, 7300, 5))

    @staticmethod
    def echo(addr, src, sport, n):
        got = 0
        with Netns("dc"):
            s = socket.socket(fam(addr), socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((src, sport))
        s.settimeout(PORT_WAIT)     # a late reply is not a lost one
        for i in range(n):
            s.sendto(struct.pack("!II", i, sport), (addr, 7300))
            try:
                got += len(s.recv(64)) == 8
            except OSError:
                pass
        s.close()
        return got

    def check(self, out, stats):
        """Datagrams to connected sockets, each looked up twice."""
        want = 2 * out.get("received connected", 0)
        got = stats.get("ds", {}).get("hit_exact", 0)
        if got < want:
            return "%d exact hits for %d lookups of connected datagrams" % (
                got, want)
        return None


SCENARIOS = {
    "plain": Plain, "forward": Forward, "dnat": Dnat, "redirect": Redirect,
    "snat-input": SnatInput, "vrf-accept0": Vrf, "vrf-accept1": Vrf1,
    "sk-lookup": SkLookup, "reuseport-bpf": ReuseportBpf,
    "incoming-cpu": IncomingCpu, "ipsec-transport": Ipsec,
    "ipsec-tunnel": IpsecTunnel, "broadcast": Broadcast, "tproxy": Tproxy,
    "skuid-socket-match": SkuidMatch, "bridge": Bridge, "udp-gro": UdpGro,
}


def module_stats(ns):
    with Netns(ns), open("/proc/thread-self/net/pcbgroup/stats") as f:
        return dict((k, int(v)) for k, v in
                    (line.split() for line in f))


def loaded():
    return os.path.isdir("/sys/module/pcbgroup")


def run_mode(scen, mode, ko, params):
    """One run of @scen: "off" without the module, "before" with it loaded
    after the namespaces were made, "after" with it loaded before them
    (kept loaded from "before": one load per scenario)."""
    if mode == "off" and loaded():
        subprocess.run(["rmmod", "pcbgroup"], check=True)
    srv = Servers()
    out = {}
    stats = {}
    try:
        if mode == "after" and not loaded():
            subprocess.run(["insmod", ko] + params.split(), check=True)
        scen.setup()
        scen.serve(srv)
        if mode == "before":
            subprocess.run(["insmod", ko] + params.split(), check=True)
        srv.run()
        scen.traffic(srv, out)
        srv.drain()
        for k, v in srv.count.items():
            out["received " + k] = v
        if mode != "off":
            stats = dict((ns, module_stats(ns)) for ns in scen.ns)
    finally:
        srv.close()
        scen.teardown()
        if mode == "after" and loaded():
            subprocess.run(["rmmod", "pcbgroup"], check=True)
    return out, stats


def fmt(d):
    return " ".join("%s=%s" % (k.replace(" ", "/"), v)
                    for k, v in sorted(d.items()))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ko", required=True)
    p.add_argument("--params", default="soft_hash=1 verify=1")
    p.add_argument("scenarios", nargs="*")
    args = p.parse_args()
    names = args.scenarios or list(SCENARIOS)
    failed = 0
    totals = {"hits": 0, "verified": 0, "mismatch": 0, "aside": 0}
    for name in names:
        scen = SCENARIOS[name]()
        res = {}
        try:
            for mode in ("off", "before", "after"):
                t0 = time.time()
                res[mode] = run_mode(scen, mode, args.ko, args.params)
                print("# %s %s took %.1f s" % (name, mode, time.time() - t0))
        except Exception as e:  # a broken scenario fails, never hangs
            print("not ok - %s: %s" % (name, e))
            failed += 1
            continue
        off = res["off"][0]
        print("# %s off: %s" % (name, fmt(off)))
        why = []
        for mode in ("before", "after"):
            out, stats = res[mode]
            if out != off:
                diff = dict((k, "%s->%s" % (off.get(k), out.get(k)))
                            for k in set(off) | set(out)
                            if off.get(k) != out.get(k))
                why.append("%s differs: %s" % (mode, fmt(diff)))
            hits = sum(s.get("hit_exact", 0) + s.get("hit_wildcard", 0) +
                       s.get("hit_bucket_listener", 0)
                       for s in stats.values())
            mism = sum(s.get("mismatch", 0) for s in stats.values())
            ver = sum(s.get("verified", 0) for s in stats.values())
            aside = sum(s.get("aside", 0) for s in stats.values())
            steered = sum(stats.get(ns, {}).get("hit_exact", 0) +
                          stats.get(ns, {}).get("hit_wildcard", 0) +
                          stats.get(ns, {}).get("hit_bucket_listener", 0)
                          for ns in scen.steered)
            print("# %s %s: hits=%d verified=%d mismatch=%d aside=%d" %
                  (name, mode, hits, ver, mism, aside))
            totals["hits"] += hits
            totals["verified"] += ver
            totals["mismatch"] += mism
            totals["aside"] += aside
            if mism:
                why.append("%s: %d verify mismatches" % (mode, mism))
            extra = scen.check(out, stats) if hasattr(scen, "check") else None
            if extra:
                why.append("%s: %s" % (mode, extra))
            if scen.steered and not steered:
                why.append("%s: the groups answered nothing in %s" %
                           (mode, ",".join(scen.steered)))
        if why:
            print("not ok - %s: %s" % (name, "; ".join(why)))
            failed += 1
        else:
            print("ok - %s: off, loaded before and after the namespaces: "
                  "identical counts" % name)
    print("# differential totals: %s" % fmt(totals))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
