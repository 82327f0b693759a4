"""What the tests' programs share (tests/lib/, imported by name: each
program runs from this directory). One home, so that no test program
imports from another.

  Netns            run the calling thread in a named network namespace
  toeplitz, KEY    the RSS hash (FreeBSD's toeplitz_hash()), its default key
  csum, a4, a6, udp, tcp, ip4, ip6, ext
                   packet builders for raw frames
"""
import ctypes
import os
import socket
import struct

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)


class Netns:
    """with Netns(name): the calling thread is in that namespace (sockets
    made and /proc/sys/net files opened inside belong to it)."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        fd = os.open("/run/netns/" + self.name, os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET):
                raise OSError(ctypes.get_errno(), "setns " + self.name)
        finally:
            os.close(fd)

    def __exit__(self, *a):
        libc.setns(self.own, CLONE_NEWNET)
        os.close(self.own)


KEY = bytes.fromhex("6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da3"
                    "8030f20c6a42b73bbeac01fa")


def toeplitz(key, data):
    """FreeBSD's toeplitz_hash(): the NIC's RSS hash."""
    result = 0
    v = int.from_bytes(key[:4], "big")
    for i, byte in enumerate(data):
        nxt = key[i + 4] if i + 4 < len(key) else 0
        for b in range(8):
            if byte & (0x80 >> b):
                result ^= v
            v = ((v << 1) | ((nxt >> (7 - b)) & 1)) & 0xFFFFFFFF
    return result


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def a4(x):
    return socket.inet_pton(socket.AF_INET, x)


def a6(x):
    return socket.inet_pton(socket.AF_INET6, x)


def udp(src, dst, sport, dport, payload, v6=False, length=None, ck=None):
    ln = 8 + len(payload) if length is None else length
    hdr = struct.pack("!HHHH", sport, dport, ln, 0)
    if ck is None:
        pseudo = (src + dst + struct.pack("!IxxxB", 8 + len(payload), 17) if v6
                  else src + dst + struct.pack("!xBH", 17, 8 + len(payload)))
        ck = csum(pseudo + hdr + payload) or 0xFFFF
    return hdr[:6] + struct.pack("!H", ck) + payload


def tcp(src, dst, sport, dport, flags, seq=1000, ack=0, doff=5, opts=b"",
        payload=b"", v6=False, ck=None):
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags,
                      65535, 0, 0) + opts
    seg = hdr + payload
    if ck is None:
        pseudo = (src + dst + struct.pack("!IxxxB", len(seg), 6) if v6
                  else src + dst + struct.pack("!xBH", 6, len(seg)))
        ck = csum(pseudo + seg)
    return seg[:16] + struct.pack("!H", ck) + seg[18:]


def ip4(src, dst, proto, payload, ihl=5, opts=b"", tot=None, frag=0,
        ident=1, ck=None, ttl=64):
    tl = 4 * ihl + len(payload) if tot is None else tot
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, tl, ident, frag, ttl,
                      proto, 0, src, dst) + opts
    if ck is None:
        ck = csum(hdr[:20] + opts)
    return hdr[:10] + struct.pack("!H", ck) + hdr[12:] + payload


def ip6(src, dst, nh, payload, plen=None, version=6):
    pl = len(payload) if plen is None else plen
    return struct.pack("!IHBB16s16s", version << 28, pl, nh, 64, src, dst) + payload


def ext(nh, body=b"\0" * 6):
    """A hop-by-hop or destination options header (PadN)."""
    return struct.pack("!BB", nh, (len(body) + 2) // 8 - 1) + body
