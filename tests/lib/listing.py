#!/usr/bin/python3
"""The socket listing at scale, run inside one namespace.

Makes N UDP sockets, four to a port (half connected: exact members; half
not: wildcard members), then checks /proc/net/pcbgroup/sockets three ways:
  * read in 512-byte reads (many resumes), it lists each of the
    namespace's UDP sockets exactly once (inodes against /proc/net/udp);
  * K files opened at once, each read once, cost the kernel little memory
    (MemFree before and after, all K still open);
  * no single read() does more than page-sized work: reads of 512 bytes,
    and open() plus the first page, take a small part of the time of the
    whole listing read at once.
Prints "key value" lines for the shell test to judge.
"""
import argparse
import os
import resource
import socket
import time

LISTING = "/proc/net/pcbgroup/sockets"


def meminfo(key):
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def udp_inodes():
    inodes = set()
    for name in ("/proc/net/udp", "/proc/net/udp6"):
        with open(name) as f:
            next(f)
            for line in f:
                inodes.add(int(line.split()[9]))
    return inodes


def make_sockets(n):
    """n UDP sockets, four to a port (on 127.0.0.1-4: a socket alone on
    its port is no member), every other one connected."""
    socks = []
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.%d" % (1 + i % 4), 20000 + i // 4))
        if i % 2:
            s.connect(("127.0.0.1", 9))
        socks.append(s)
    return socks


def read_listing(chunk):
    """The whole listing in reads of chunk bytes, and each read's time."""
    fd = os.open(LISTING, os.O_RDONLY)
    parts, times = [], []
    t0 = time.monotonic()
    while True:
        t = time.monotonic()
        b = os.read(fd, chunk)
        times.append(time.monotonic() - t)
        if not b:
            break
        parts.append(b)
    total = time.monotonic() - t0
    os.close(fd)
    return b"".join(parts).decode(), total, sorted(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sockets", type=int, default=20000)
    ap.add_argument("--opens", type=int, default=1000)
    a = ap.parse_args()
    want = a.sockets + a.opens + 64
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
    socks = make_sockets(a.sockets)
    print("sockets", len(socks))

    text, _, times = read_listing(512)
    lines = text.splitlines()[1:]
    listed = [int(line.split()[10]) for line in lines if line.split()[2] == "udp"]
    expect = udp_inodes()
    print("listed", len(listed))
    print("listed_distinct", len(set(listed)))
    print("udp_sockets", len(expect))
    print("missing", len(expect - set(listed)))
    print("extra", len(set(listed) - expect))
    # The whole walk's time: the listing in reads of 1 MiB (the fastest
    # of three).
    total = min(read_listing(1 << 20)[1] for _ in range(3))
    print("full_read_ms", round(total * 1000, 1))
    # The 99th percentile: one read the host's scheduler delayed says
    # nothing of the work a read does.
    print("reads", len(times))
    print("p99_read_ms", round(times[len(times) * 99 // 100] * 1000, 2))
    print("slowest_read_ms", round(times[-1] * 1000, 2))

    # open() and the first page: what one more reader costs at once (the
    # fastest of three, for the same reason).
    first = []
    for _ in range(3):
        t = time.monotonic()
        fd = os.open(LISTING, os.O_RDONLY)
        os.read(fd, 4096)
        first.append(time.monotonic() - t)
        os.close(fd)
    print("first_page_ms", round(min(first) * 1000, 2))

    fds = []
    before = meminfo("MemFree")
    for _ in range(a.opens):
        fd = os.open(LISTING, os.O_RDONLY)
        os.read(fd, 1)
        fds.append(fd)
    after = meminfo("MemFree")
    print("opens", len(fds))
    print("open_kib", max(0, before - after) // 1024)
    for fd in fds:
        os.close(fd)
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
