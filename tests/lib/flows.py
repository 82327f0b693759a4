#!/usr/bin/env python3
"""N connected UDP sockets on 192.0.2.1:9000, one per flow of
tests/lib/pktgen.sh (peers 192.0.2.2.., ports 10000..). They are never
read: the benchmark counts the packets the kernel looks up and queues.
With --gro, one more socket (port 9001) has UDP_GRO on, which makes
udp4_gro_receive() look every datagram up on a link that does GRO."""
import argparse
import resource
import signal
import socket
import sys

FLOWS_PER_ADDR = 50000
UDP_GRO = 104


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--flows", type=int, required=True)
    p.add_argument("--ready", required=True)
    p.add_argument("--gro", action="store_true")
    p.add_argument("--unconnected", action="store_true",
                   help="one unconnected socket instead of --flows connected")
    a = p.parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, (a.flows + 100, a.flows + 100))
    socks = []
    if a.unconnected:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        s.bind(("0.0.0.0", 9000))
        socks.append(s)
    for i in range(0 if a.unconnected else a.flows):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        s.bind(("192.0.2.1", 9000))
        peer = "192.0.2.%d" % (2 + i // FLOWS_PER_ADDR)
        s.connect((peer, 10000 + i % FLOWS_PER_ADDR))
        socks.append(s)
    if a.gro:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_UDP, UDP_GRO, 1)
        s.bind(("192.0.2.1", 9001))
        socks.append(s)
    open(a.ready, "w").close()
    signal.sigwait([signal.SIGTERM])
    return 0


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
    sys.exit(main())
