#!/usr/bin/python3
"""Connected UDP sockets whose group a key change is sure to move.

  rekey.py --key OLDKEY --bits N --local ADDR --remote ADDR --ready FILE \\
           --stop FILE [--count 16]

Makes --count UDP sockets connected from ADDR:20000+i to ADDR:30000+i,
each with an unconnected partner on 127.0.0.1:20000+i (a socket alone on
its port has no entry to move), then picks a random 40-byte key under which at least half of them change
group (bucket = Toeplitz hash of faddr, laddr, fport, lport, low N bits:
module/rss.c), writes "KEY MOVES" to --ready and holds the sockets until
--stop appears. A test can then count on MOVES moves, where a key drawn
at random may move none of the sockets it happens to look at.
"""
import argparse
import os
import socket
import sys
import time

from common import toeplitz  # tests/lib/, the script's directory


def group(key, bits, fa, la, fp, lp):
    data = (socket.inet_aton(fa) + socket.inet_aton(la) +
            fp.to_bytes(2, "big") + lp.to_bytes(2, "big"))
    return toeplitz(key, data) & ((1 << bits) - 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--key", required=True)
    ap.add_argument("--bits", type=int, required=True)
    ap.add_argument("--local", required=True)
    ap.add_argument("--remote", required=True)
    ap.add_argument("--count", type=int, default=16)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--stop", required=True)
    a = ap.parse_args()
    old = bytes.fromhex(a.key.replace(":", ""))
    socks, tuples = [], []
    for i in range(a.count):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((a.local, 20000 + i))
        s.connect((a.remote, 30000 + i))
        mate = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        mate.bind(("127.0.0.1", 20000 + i))
        socks += [s, mate]
        # As the module sees the socket: foreign first.
        tuples.append((a.remote, a.local, 30000 + i, 20000 + i))
    for _ in range(1000):
        new = os.urandom(40)
        moves = sum(group(old, a.bits, *t) != group(new, a.bits, *t)
                    for t in tuples)
        if moves * 2 >= a.count:
            break
    else:
        sys.exit("rekey: no key moves half the sockets")
    with open(a.ready + ".tmp", "w") as f:
        f.write("%s %d\n" % (new.hex(), moves))
    os.rename(a.ready + ".tmp", a.ready)
    for _ in range(6000):	# ten minutes at most
        if os.path.exists(a.stop):
            break
        time.sleep(0.1)


if __name__ == "__main__":
    main()
