#!/usr/bin/env python3
"""N connected UDP sockets on 192.0.2.1:9000, one per flow of
tests/lib/pktgen.sh (peers 192.0.2.2.., ports 10000..). They are never
read: the benchmark counts the packets the kernel looks up and queues.
With --gro, one more socket (port 9001) has UDP_GRO on, which makes
udp4_gro_receive() look every datagram up on a link that does GRO.
With --mixed, the N connected sockets are connected to ports no flow
sends from (40000..), and one more, unconnected, bound to 0.0.0.0:9000,
gets every datagram: a server's new flows (a QUIC server's Initial
packets) on a port whose established flows have connected sockets."""
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
    p.add_argument("--mixed", action="store_true",
                   help="one unconnected socket besides --flows connected ones "
                        "that no flow matches")
    a = p.parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, (a.flows + 100, a.flows + 100))
    socks = []
    if a.unconnected or a.mixed:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if a.mixed:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        s.bind(("0.0.0.0", 9000))
        socks.append(s)
    port0 = 40000 if a.mixed else 10000
    for i in range(0 if a.unconnected else a.flows):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        s.bind(("192.0.2.1", 9000))
        peer = "192.0.2.%d" % (2 + i // FLOWS_PER_ADDR)
        s.connect((peer, port0 + i % FLOWS_PER_ADDR))
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
