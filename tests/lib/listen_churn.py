#!/usr/bin/env python3
"""Listeners that come and go, for tests/prison_race.sh.

    listen_churn.py churn LO HI HOLD STOP OUT RELEASE
        opens TCP listeners on 0.0.0.0, on random ports in [LO, HI) or
        with listen() before bind() (the kernel picks the port after the
        state change), and closes them again, up to HOLD at a time; makes
        OUT.ready once one listens, and goes on until the file STOP
        exists (at most 120 s); then writes "N PORT..." (the listeners it
        holds) to OUT and holds them until RELEASE is gone.
    listen_churn.py probe ADDR PORT
        prints "connected" if a TCP connection to ADDR:PORT completes
        within a second (a listener's backlog takes it), else the error.
"""
import os
import random
import socket
import sys
import time


def churn(lo, hi, hold, stop, out, release):
    rng = random.Random(os.getpid())
    held = []
    deadline = time.time() + 120
    while not os.path.exists(stop) and time.time() < deadline:
        if len(held) >= hold or (held and rng.random() < 0.5):
            held.pop(rng.randrange(len(held))).close()
            continue
        s = socket.socket()
        try:
            if rng.random() < 0.8:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("0.0.0.0", rng.randrange(lo, hi)))
            s.listen(4)
            held.append(s)
            if len(held) == 1 and not os.path.exists(out + ".ready"):
                open(out + ".ready", "w").close()
        except OSError:
            s.close()
    ports = [str(s.getsockname()[1]) for s in held]
    with open(out + ".tmp", "w") as f:
        f.write("%d %s\n" % (len(held), " ".join(ports)))
    os.rename(out + ".tmp", out)
    while os.path.exists(release) and time.time() < deadline + 120:
        time.sleep(0.1)
    for s in held:
        s.close()
    return 0


def probe(addr, port):
    c = socket.socket()
    c.settimeout(1)
    try:
        c.connect((addr, port))
        print("connected")
    except OSError as e:
        print(e)
    finally:
        c.close()
    return 0


def main():
    if sys.argv[1] == "churn":
        lo, hi, hold = (int(x) for x in sys.argv[2:5])
        return churn(lo, hi, hold, *sys.argv[5:8])
    return probe(sys.argv[2], int(sys.argv[3]))


if __name__ == "__main__":
    sys.exit(main())
