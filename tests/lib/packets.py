#!/usr/bin/env python3
"""Malformed and odd packets for the hook (tests/packets.sh).

  packets.py serve --out FILE --ready FILE      (server namespace)
  packets.py send --iface DEV --mac MAC         (client namespace)
  packets.py delta BEFORE AFTER                 (counters that moved between
                                                two dumps of /proc/net/snmp,
                                                netstat and snmp6)

The sender writes raw Ethernet frames with AF_PACKET: truncated and
inconsistent IPv4/IPv6/TCP/UDP headers, IP options, extension headers,
fragments, zero ports, v4-mapped addresses, broadcast and multicast,
bad checksums, plus valid controls, and segments into a live connection.
The server counts what each of its sockets received. The test compares
the counts and the stack's SNMP counters with the module unloaded and
loaded: the stack's outcome must not change.
"""
import argparse
import os
import json
import selectors
import signal
import socket
import struct
import sys
import time

from common import a4, a6, ext, ip4, ip6, tcp, udp  # tests/lib/

S4, C4 = "192.0.2.1", "192.0.2.2"
S6, C6 = "2001:db8::1", "2001:db8::2"
UDP_PORT, CONN_PORT, DUAL_PORT, TCP_PORT = 7001, 7002, 7003, 7000
CONN_PEER = 5002


def frames(est_port):
    """(name, ethertype, packet) for every case, valid controls included."""
    s4, c4, s6, c6 = a4(S4), a4(C4), a6(S6), a6(C6)
    m4 = a6("::ffff:" + C4)
    p = b"pcbgroup-packet!"
    u4 = udp(c4, s4, 4000, UDP_PORT, p)
    u6 = udp(c6, s6, 4000, UDP_PORT, p, v6=True)
    syn4 = tcp(c4, s4, 4001, TCP_PORT, 0x02)
    syn6 = tcp(c6, s6, 4001, TCP_PORT, 0x02, v6=True)
    out = [
        ("udp4 valid", 0x0800, ip4(c4, s4, 17, u4)),
        ("udp4 connected valid", 0x0800,
         ip4(c4, s4, 17, udp(c4, s4, CONN_PEER, CONN_PORT, p))),
        ("udp4 connected wrong peer port", 0x0800,
         ip4(c4, s4, 17, udp(c4, s4, CONN_PEER + 1, CONN_PORT, p))),
        ("udp4 dual-stack v6 socket", 0x0800,
         ip4(c4, s4, 17, udp(c4, s4, 4000, DUAL_PORT, p))),
        ("udp4 length beyond packet", 0x0800,
         ip4(c4, s4, 17, udp(c4, s4, 4000, UDP_PORT, p, length=200))),
        ("udp4 length below header", 0x0800,
         ip4(c4, s4, 17, udp(c4, s4, 4000, UDP_PORT, p, length=4))),
        ("udp4 bad checksum", 0x0800,
         ip4(c4, s4, 17, udp(c4, s4, 4000, UDP_PORT, p, ck=0x1234))),
        ("udp4 no checksum", 0x0800,
         ip4(c4, s4, 17, udp(c4, s4, 4000, UDP_PORT, p, ck=0))),
        ("udp4 zero ports", 0x0800, ip4(c4, s4, 17, udp(c4, s4, 0, 0, p))),
        ("udp4 zero source port", 0x0800,
         ip4(c4, s4, 17, udp(c4, s4, 0, UDP_PORT, p))),
        ("udp4 header cut", 0x0800, ip4(c4, s4, 17, u4[:5])),
        ("ip4 header cut", 0x0800, ip4(c4, s4, 17, u4)[:12]),
        ("ip4 ihl 4", 0x0800, ip4(c4, s4, 17, u4, ihl=4)[:16] + u4),
        ("ip4 ihl beyond packet", 0x0800,
         ip4(c4, s4, 17, b"", ihl=15, opts=b"\x01" * 4)),
        ("ip4 options nop+eol", 0x0800,
         ip4(c4, s4, 17, u4, ihl=6, opts=b"\x01\x01\x01\x00")),
        ("ip4 options garbage", 0x0800,
         ip4(c4, s4, 17, u4, ihl=7, opts=b"\x44\x02\xff\x07\x09\x00\x00\x00")),
        ("ip4 total length beyond frame", 0x0800,
         ip4(c4, s4, 17, u4, tot=400)),
        ("ip4 total length below header", 0x0800,
         ip4(c4, s4, 17, u4, tot=10)),
        ("ip4 bad header checksum", 0x0800,
         ip4(c4, s4, 17, u4, ck=0xbeef)),
        ("ip4 first fragment udp", 0x0800,
         ip4(c4, s4, 17, u4, frag=0x2000, ident=7)),
        ("ip4 later fragment", 0x0800,
         ip4(c4, s4, 17, b"\0" * 16, frag=0x0003, ident=8)),
        ("ip4 fragment both halves", 0x0800,
         ip4(c4, s4, 17, u4[:8], frag=0x2000, ident=9)),
        ("ip4 fragment second half", 0x0800,
         ip4(c4, s4, 17, u4[8:], frag=0x0001, ident=9)),
        ("udp4 broadcast", 0x0800,
         ip4(c4, a4("192.0.2.255"), 17,
             udp(c4, a4("192.0.2.255"), 4000, UDP_PORT, p))),
        ("udp4 multicast", 0x0800,
         ip4(c4, a4("224.0.0.1"), 17, udp(c4, a4("224.0.0.1"), 4000, UDP_PORT, p))),
        ("udp4 source 0.0.0.0", 0x0800,
         ip4(a4("0.0.0.0"), s4, 17, udp(a4("0.0.0.0"), s4, 4000, UDP_PORT, p))),
        ("udp4 source is local", 0x0800,
         ip4(s4, s4, 17, udp(s4, s4, 4000, UDP_PORT, p))),
        ("tcp4 syn valid", 0x0800, ip4(c4, s4, 6, syn4)),
        ("tcp4 syn zero port", 0x0800,
         ip4(c4, s4, 6, tcp(c4, s4, 4002, 0, 0x02))),
        ("tcp4 doff 3", 0x0800,
         ip4(c4, s4, 6, tcp(c4, s4, 4003, TCP_PORT, 0x02, doff=3))),
        ("tcp4 doff beyond packet", 0x0800,
         ip4(c4, s4, 6, tcp(c4, s4, 4004, TCP_PORT, 0x02, doff=15))),
        ("tcp4 header cut", 0x0800, ip4(c4, s4, 6, syn4[:10])),
        ("tcp4 options garbage", 0x0800,
         ip4(c4, s4, 6, tcp(c4, s4, 4005, TCP_PORT, 0x02, doff=8,
                            opts=b"\x02\x04\xff\xff\x03\x00\x08\x01\x13\x12\x00\x00"))),
        ("tcp4 bad checksum", 0x0800,
         ip4(c4, s4, 6, tcp(c4, s4, 4006, TCP_PORT, 0x02, ck=0x4321))),
        ("tcp4 syn+fin", 0x0800, ip4(c4, s4, 6, tcp(c4, s4, 4007, TCP_PORT, 0x03))),
        ("tcp4 no flags", 0x0800, ip4(c4, s4, 6, tcp(c4, s4, 4008, TCP_PORT, 0))),
        ("tcp4 ack to listener", 0x0800,
         ip4(c4, s4, 6, tcp(c4, s4, 4009, TCP_PORT, 0x10, ack=5))),
        ("tcp4 established, out-of-window ack", 0x0800,
         ip4(c4, s4, 6, tcp(c4, s4, est_port, TCP_PORT, 0x10, seq=7, ack=9))),
        ("tcp4 established, rst bad seq", 0x0800,
         ip4(c4, s4, 6, tcp(c4, s4, est_port, TCP_PORT, 0x04, seq=7))),
        ("tcp4 established, doff 2", 0x0800,
         ip4(c4, s4, 6, tcp(c4, s4, est_port, TCP_PORT, 0x10, doff=2))),
        ("tcp4 established, syn", 0x0800,
         ip4(c4, s4, 6, tcp(c4, s4, est_port, TCP_PORT, 0x02, seq=11))),
        ("udp6 valid", 0x86DD, ip6(c6, s6, 17, u6)),
        ("udp6 dual-stack socket", 0x86DD,
         ip6(c6, s6, 17, udp(c6, s6, 4000, DUAL_PORT, p, v6=True))),
        ("udp4 multicast to the dual-stack socket's port", 0x0800,
         ip4(c4, a4("224.0.0.1"), 17,
             udp(c4, a4("224.0.0.1"), 4000, DUAL_PORT, p))),
        ("udp6 payload length beyond frame", 0x86DD,
         ip6(c6, s6, 17, u6, plen=300)),
        ("udp6 payload length short", 0x86DD, ip6(c6, s6, 17, u6, plen=6)),
        ("udp6 zero checksum", 0x86DD,
         ip6(c6, s6, 17, udp(c6, s6, 4000, UDP_PORT, p, v6=True, ck=0))),
        ("udp6 bad checksum", 0x86DD,
         ip6(c6, s6, 17, udp(c6, s6, 4000, UDP_PORT, p, v6=True, ck=7))),
        ("udp6 zero ports", 0x86DD,
         ip6(c6, s6, 17, udp(c6, s6, 0, 0, p, v6=True))),
        ("udp6 header cut", 0x86DD, ip6(c6, s6, 17, u6[:6])),
        ("ip6 header cut", 0x86DD, ip6(c6, s6, 17, u6)[:30]),
        ("ip6 version 4", 0x86DD, ip6(c6, s6, 17, u6, version=4)),
        ("udp6 after hop-by-hop", 0x86DD, ip6(c6, s6, 0, ext(17) + u6)),
        ("udp6 after destination options", 0x86DD, ip6(c6, s6, 60, ext(17) + u6)),
        ("udp6 after two extension headers", 0x86DD,
         ip6(c6, s6, 0, ext(60) + ext(17) + u6)),
        ("ip6 extension header cut", 0x86DD, ip6(c6, s6, 60, ext(17)[:3])),
        ("ip6 extension header length beyond", 0x86DD,
         ip6(c6, s6, 60, struct.pack("!BB", 17, 200) + b"\0" * 6 + u6)),
        ("udp6 first fragment", 0x86DD,
         ip6(c6, s6, 44, struct.pack("!BBHI", 17, 0, 1, 77) + u6)),
        ("udp6 atomic fragment", 0x86DD,
         ip6(c6, s6, 44, struct.pack("!BBHI", 17, 0, 0, 78) + u6)),
        ("ip6 routing header type 0", 0x86DD,
         ip6(c6, s6, 43, struct.pack("!BBBB4x", 17, 2, 0, 1) + a6(S6) + u6)),
        ("ip6 no next header", 0x86DD, ip6(c6, s6, 59, b"")),
        ("udp6 v4-mapped source", 0x86DD,
         ip6(m4, s6, 17, udp(m4, s6, 4000, UDP_PORT, p, v6=True))),
        ("udp6 v4-mapped destination", 0x86DD,
         ip6(c6, a6("::ffff:" + S4), 17,
             udp(c6, a6("::ffff:" + S4), 4000, DUAL_PORT, p, v6=True))),
        ("udp6 multicast all-nodes", 0x86DD,
         ip6(c6, a6("ff02::1"), 17, udp(c6, a6("ff02::1"), 4000, UDP_PORT, p, v6=True))),
        ("tcp6 syn valid", 0x86DD, ip6(c6, s6, 6, syn6)),
        ("tcp6 doff 4", 0x86DD,
         ip6(c6, s6, 6, tcp(c6, s6, 4003, TCP_PORT, 0x02, doff=4, v6=True))),
        ("tcp6 header cut", 0x86DD, ip6(c6, s6, 6, syn6[:12])),
        ("tcp6 syn zero port", 0x86DD,
         ip6(c6, s6, 6, tcp(c6, s6, 4002, 0, 0x02, v6=True))),
        ("tcp6 syn after hop-by-hop", 0x86DD, ip6(c6, s6, 0, ext(6) + syn6)),
        # After the unicast datagrams above: multicast to the same ports.
        ("udp4 multicast again", 0x0800,
         ip4(c4, a4("224.0.0.1"), 17, udp(c4, a4("224.0.0.1"), 4000, UDP_PORT, p))),
    ]
    return out


def handshake(d, say, wait):
    """Tells the shell (file d/say), then waits for its go (file d/wait):
    the shell reads the counters around the frames alone, not around the
    live connection's own segments, whose timing (delayed ACKs, which CPU
    sends) differs from run to run."""
    if not d:
        return
    open(os.path.join(d, say), "w").close()
    end = time.time() + 60
    while not os.path.exists(os.path.join(d, wait)) and time.time() < end:
        time.sleep(0.05)


def send(args):
    # A live connection, for segments aimed at an established socket.
    conn = socket.create_connection((S4, TCP_PORT), timeout=10)
    est_port = conn.getsockname()[1]
    conn.sendall(b"hello")
    # Established at the server (its echo came back) before the frames:
    # the handshake's last ACK may wait in another CPU's backlog.
    got = b""
    while len(got) < 5:
        d = conn.recv(64)
        if not d:
            break
        got += d
    handshake(args.sync, "established", "go")
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    raw.bind((args.iface, 0))
    dst = bytes.fromhex(args.mac.replace(":", ""))
    src = bytes.fromhex(open("/sys/class/net/%s/address" % args.iface)
                        .read().strip().replace(":", ""))
    mcast4 = bytes.fromhex("01005e000001")
    mcast6 = bytes.fromhex("333300000001")
    bcast = b"\xff" * 6
    for name, etype, pkt in frames(est_port):
        to = (mcast4 if "multicast" in name and etype == 0x0800 else
              mcast6 if "multicast" in name else
              bcast if "broadcast" in name else dst)
        raw.send(to + src + struct.pack("!H", etype) + pkt)
        time.sleep(0.01)
    time.sleep(0.5)
    handshake(args.sync, "sent", "go2")
    conn.sendall(b"world")
    conn.settimeout(10)
    while len(got) < 10:
        d = conn.recv(64)
        if not d:
            break
        got += d
    conn.close()
    print("frames=%d connection=%s" % (len(frames(est_port)),
                                       "intact" if got == b"helloworld" else "broken"))
    return 0 if got == b"helloworld" else 1


def serve(args):
    sel = selectors.DefaultSelector()
    counts = {}

    def dgram(fam, addr, port, peer=None, dual=False):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if dual else 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        s.bind((addr, port))
        if peer:
            s.connect(peer)
        s.setblocking(False)
        name = "udp%s %s:%d%s" % ("6" if fam == socket.AF_INET6 else "4", addr,
                                  port, " connected" if peer else "")
        counts[name] = 0
        sel.register(s, selectors.EVENT_READ, name)

    dgram(socket.AF_INET, "0.0.0.0", UDP_PORT)
    dgram(socket.AF_INET, S4, CONN_PORT, (C4, CONN_PEER))
    dgram(socket.AF_INET6, "::", DUAL_PORT, dual=True)
    dgram(socket.AF_INET6, S6, UDP_PORT)
    for fam, addr in ((socket.AF_INET, S4), (socket.AF_INET6, S6)):
        ls = socket.socket(fam, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((addr, TCP_PORT))
        ls.listen(64)
        ls.setblocking(False)
        sel.register(ls, selectors.EVENT_READ, "listen")
    counts["accepted"] = 0
    counts["stream bytes"] = 0
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    open(args.ready, "w").close()
    while not stop:
        for key, _ in sel.select(0.2):
            s, name = key.fileobj, key.data
            try:
                if name == "listen":
                    c, _ = s.accept()
                    c.setblocking(False)
                    counts["accepted"] += 1
                    sel.register(c, selectors.EVENT_READ, "conn")
                elif name == "conn":
                    d = s.recv(4096)
                    if not d:
                        sel.unregister(s)
                        s.close()
                    else:
                        counts["stream bytes"] += len(d)
                        s.sendall(d)
                else:
                    s.recv(4096)
                    counts[name] += 1
            except (BlockingIOError, ConnectionError):
                pass
    with open(args.out, "w") as f:
        json.dump(counts, f, sort_keys=True)


def parse_snmp(text):
    """/proc/net/{snmp,netstat} (header and value line pairs, "Prefix:")
    followed by /proc/net/snmp6 ("Name value"), as one dict."""
    out = {}
    lines = text.splitlines()
    pairs = [l for l in lines if ":" in l.split(" ", 1)[0]]
    for head, vals in zip(pairs[::2], pairs[1::2]):
        prefix, names = head.split(":", 1)
        for n, v in zip(names.split(), vals.split(":", 1)[1].split()):
            out[prefix + n] = int(v)
    for line in lines:
        f = line.split()
        if len(f) == 2 and ":" not in f[0]:
            out[f[0]] = int(f[1])
    return out


# Counters that move with timing, not with the packets' fate: timers,
# delayed ACKs, the ICMP rate limiter's budget, and route/neighbour work.
NOISY = ("TcpExtDelayedACK", "TcpExtTCPHPAcks", "TcpExtTCPPureAcks",
         "TcpExtTCPHPHits", "TcpExtTCPOrigDataSent", "TcpExtTCPDelivered",
         "TcpExtTCPAutoCorking", "TcpExtTCPRcvCoalesce", "TcpExtTCPKeepAlive",
         "TcpExtTCPTimeouts", "TcpExtTCPSpuriousRtxHostQueues")


def delta(args):
    """The counters that changed between two snapshots, as NAME=N lines."""
    a, b = (parse_snmp(open(f).read()) for f in (args.before, args.after))
    for n in sorted(b):
        d = b[n] - a.get(n, 0)
        if d and n not in NOISY and not n.startswith("TcpCurr"):
            print("%s=%d" % (n, d))
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--out", required=True)
    s.add_argument("--ready", required=True)
    c = sub.add_parser("send")
    c.add_argument("--iface", required=True)
    c.add_argument("--mac", required=True)
    c.add_argument("--sync", help="directory for the counter handshake")
    d = sub.add_parser("delta")
    d.add_argument("before")
    d.add_argument("after")
    args = p.parse_args()
    if args.cmd == "delta":
        return delta(args)
    if args.cmd == "serve":
        return serve(args) or 0
    return send(args)


if __name__ == "__main__":
    sys.exit(main())
