"""Two connected UDP sockets on one local port, for the rp_filter case.

  serve --ready F --stop F
      A and B bound to 192.0.2.1:7700 (SO_REUSEADDR); B connected to
      198.51.100.9:6000 first, then A to 192.0.2.2:5000 (A heads the
      kernel's hash2 chain: its early demux answers A only). Prints
      "A=n B=m" once F (--stop) appears.
  send --src A --sport P --count N
      N datagrams from A:P to 192.0.2.1:7700.
"""
import argparse
import os
import select
import socket
import sys


def serve(a):
    socks = {}
    for name, peer in (("B", ("198.51.100.9", 6000)), ("A", ("192.0.2.2", 5000))):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("192.0.2.1", 7700))
        s.connect(peer)
        socks[s] = name
    got = {"A": 0, "B": 0}
    open(a.ready, "w").close()
    while not os.path.exists(a.stop):
        r, _, _ = select.select(list(socks), [], [], 0.1)
        for s in r:
            s.recv(64)
            got[socks[s]] += 1
    print("A=%d B=%d" % (got["A"], got["B"]))
    return 0


def send(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.src, a.sport))
    for _ in range(a.count):
        s.sendto(b"x", ("192.0.2.1", 7700))
    print("sent=%d" % a.count)
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd")
    p.add_argument("--ready")
    p.add_argument("--stop")
    p.add_argument("--src")
    p.add_argument("--sport", type=int)
    p.add_argument("--count", type=int, default=5)
    a = p.parse_args()
    return {"serve": serve, "send": send}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
