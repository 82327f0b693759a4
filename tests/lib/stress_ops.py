#!/usr/bin/env python3
"""The writers of the stress test (tests/stress.sh), one thread
each, in one process so that they cost no fork per operation:

  stress_ops.py --until FILE --out FILE [--key] [--map] [--flip] [--race]
                [--list]

--key   a new random RSS key every --interval s
--map   a new random bucket-to-CPU map
--flip  net.pcbgroup.enable of the namespace this runs in, 0 and 1 in turn
--race  parameter writes and reads as fast as they go, through unloads:
        the files vanish and come back; a write fails only with ENOENT,
        ENODEV (module going) or EBUSY
--list  /proc/net/pcbgroup/sockets read in 256-byte pieces from one open
        file, again and again (a file kept open through unloads reads EIO)

Writes "NAME=N ..." (operations that succeeded) and "errors=..." to --out.
"""
import argparse
import errno
import os
import random
import threading
import time

P = "/sys/module/pcbgroup/parameters/"
OK_ERRS = {errno.ENOENT, errno.ENODEV, errno.EBUSY}
LISTING = "/proc/net/pcbgroup/sockets"


def write(path, val):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, val.encode())
    finally:
        os.close(fd)


def read(path):
    with open(path) as f:
        return f.read().strip()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--until", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--interval", type=float, default=0.02)
    p.add_argument("--at-least", type=int, default=0,
                   help="writes of each kind done even if --until appears first")
    for op in ("key", "map", "flip", "race", "list"):
        p.add_argument("--" + op, action="store_true")
    args = p.parse_args()
    ncpu = os.cpu_count()
    counts = {}
    errors = {}
    lock = threading.Lock()

    def running():
        return not os.path.exists(args.until)

    def more(name, tries):
        """Until told to stop and the writes asked for are done (bounded:
        a kind that keeps failing gives up after 2000 tries in all)."""
        if running():
            return True
        with lock:
            n = counts.get(name, 0)
        return n < args.at_least and tries < 2000

    def count(name, err=None):
        with lock:
            if err is None:
                counts[name] = counts.get(name, 0) + 1
            else:
                errors[err] = errors.get(err, 0) + 1

    def attempt(name, fn):
        try:
            fn()
            count(name)
        except OSError as e:
            count(name, errno.errorcode.get(e.errno, str(e.errno)))
            if e.errno not in OK_ERRS:
                count("unexpected")
            time.sleep(0.01)

    def key():
        tries = 0
        while more("key", tries):
            tries += 1
            attempt("key", lambda: write(P + "key", ":".join(
                "%02x" % random.randrange(256) for _ in range(40))))
            time.sleep(args.interval)

    def mapping():
        tries = 0
        while more("map", tries):
            tries += 1

            def one():
                n = int(read(P + "buckets"))
                write(P + "bucket_mapping", " ".join(
                    "%d:%d" % (b, random.randrange(ncpu)) for b in range(n)))
            attempt("map", one)
            time.sleep(args.interval)

    def flip():
        i = 0
        while more("flip", i):
            i += 1
            attempt("flip", lambda: write("/proc/sys/net/pcbgroup/enable",
                                          str(i % 2)))
            time.sleep(args.interval * 2)
        attempt("flip", lambda: write("/proc/sys/net/pcbgroup/enable", "1"))

    def race():
        while running():
            def one():
                write(P + "verify", "1")
                write(P + "loopback", "0")
                write(P + "key", read(P + "key"))
                write(P + "bits", read(P + "bits"))
                write(P + "bucket_mapping", read(P + "bucket_mapping"))
                read(P + "instances")
                read(P + "entries")
            attempt("race", one)

    def listing():
        tries = 0
        while more("list", tries):
            tries += 1

            def one():
                fd = os.open(LISTING, os.O_RDONLY)
                try:
                    while os.read(fd, 256):
                        pass
                except OSError as e:
                    if e.errno != errno.EIO:
                        raise
                    count("list_unloaded")	# open through an unload
                finally:
                    os.close(fd)
            attempt("list", one)
            # A reader among the writers, not a load of its own.
            time.sleep(args.interval * 5)

    threads = []
    for name, fn in (("key", key), ("map", mapping), ("flip", flip),
                     ("race", race), ("list", listing)):
        if getattr(args, name):
            threads.append(threading.Thread(target=fn))
    if args.race:
        threads.append(threading.Thread(target=race))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(args.out, "w") as f:
        f.write(" ".join("%s=%d" % kv for kv in sorted(counts.items())))
        f.write(" errors=%s\n" % ",".join(
            "%s:%d" % kv for kv in sorted(errors.items())))


if __name__ == "__main__":
    main()
