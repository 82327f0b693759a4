#!/usr/bin/python3
"""Holds N TCP listeners that called listen() without bind() (the kernel
gives each its port inside listen()), until --stop appears.

  portless.py --count N --ready FILE --stop FILE
"""
import argparse
import os
import resource
import socket
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--stop", required=True)
    a = ap.parse_args()
    lim = a.count + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < lim:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(lim, hard), hard))
    held = []
    for _ in range(a.count):
        s = socket.socket()
        s.listen(1)
        held.append(s)
    open(a.ready, "w").close()
    for _ in range(36000):	# an hour at most
        if os.path.exists(a.stop):
            break
        time.sleep(0.1)


if __name__ == "__main__":
    main()
