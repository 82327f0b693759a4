#!/usr/bin/env python3
"""Fuzzes every writable module parameter and sysctl of pcbgroup.

  fuzz_params.py [--count N] [--seed S]

Each input is written with a single write(2) (a shell would split a value
with a newline into two writes). A refused write must leave the value as
it was; an accepted one must leave a value that is valid for the knob.
Then four threads write at once to each file, and the value left must be
valid. Prints "ok - ..."/"not ok - ..." lines and the counts.
"""
import argparse
import errno
import os
import random
import re
import threading

P = "/sys/module/pcbgroup/parameters/"
S = "/proc/sys/net/pcbgroup/"


def online_cpus():
    cpus = set()
    for part in open("/sys/devices/system/cpu/online").read().strip().split(","):
        a, _, b = part.partition("-")
        cpus.update(range(int(a), int(b or a) + 1))
    return cpus


def valid_key(v):
    return re.fullmatch(r"[0-9a-f]{80}|[0-9a-f]{104}", v) is not None


def valid_mapping(v):
    pairs = v.split()
    buckets = int(open(P + "buckets").read())
    cpus = online_cpus()
    if len(pairs) != buckets:
        return False
    for i, pair in enumerate(pairs):
        b, _, c = pair.partition(":")
        if int(b) != i or int(c) not in cpus:
            return False
    return True


TARGETS = {
    P + "key": valid_key,
    P + "bucket_mapping": valid_mapping,
    P + "bits": lambda v: v in [str(i) for i in range(1, 8)],
    P + "enable": lambda v: v in ("Y", "N"),
    P + "verify": lambda v: v in ("Y", "N"),
    P + "soft_hash": lambda v: v in ("Y", "N"),
    P + "loopback": lambda v: v in ("Y", "N"),
    S + "enable": lambda v: v in ("0", "1"),
    S + "verify": lambda v: v in ("0", "1"),
    S + "soft_hash": lambda v: v in ("0", "1"),
    S + "loopback": lambda v: v in ("0", "1"),
    P + "raw_demux": lambda v: v in ("Y", "N"),
    P + "raw_demux_min": lambda v: v.isdigit() and 1 <= int(v) <= 65536,
    S + "raw_demux": lambda v: v in ("0", "1"),
}


def inputs(rng, path):
    """One generated input for @path, as bytes."""
    nums = ["0", "1", "2", "7", "8", "-1", "-0", "+1", "01", "0x1", "1e3",
            "4294967295", "4294967296", "4294967297", "18446744073709551617",
            "-2147483649", "9" * 40, " 1", "1 ", "1\n", "\t1", "1\n\n", "1 0"]
    words = ["y", "n", "Y", "N", "yes", "no", "on", "off", "true", "",
             "\n", " ", "nan", "\x00", "1\x001", "\xff\xfe", "%s%n", "::"]
    choice = rng.random()
    if path.endswith("key"):
        hx = "".join(rng.choice("0123456789abcdefABCDEFgz:") for _ in
                     range(rng.choice([0, 1, 2, 78, 79, 80, 81, 103, 104, 105,
                                       200])))
        good = "".join(rng.choice("0123456789abcdef") for _ in
                       range(rng.choice([80, 104])))
        colon = ":".join(good[i:i + 2] for i in range(0, len(good), 2))
        pick = [hx, good, colon, colon + ":", ":" + colon,
                colon.replace(":", "::", 1), good + "\n", colon + "\n",
                good[:-1] + "\x00", good + "\nxx"]
        return rng.choice(pick).encode("latin-1")
    if path.endswith("bucket_mapping"):
        n = rng.randint(0, 6)
        pairs = []
        for _ in range(n):
            b = rng.choice(nums + [str(rng.randint(0, 200))])
            c = rng.choice(nums + [str(rng.randint(0, 4))])
            sep = rng.choice([":", ":", "-", "::", ""])
            pairs.append(b + sep + c)
        return rng.choice([" ", ",", ", ", "\t", ""]).join(pairs).encode(
            "latin-1")
    if choice < 0.1:
        return (rng.choice(nums) * rng.randint(100, 2000)).encode()
    if choice < 0.5:
        return rng.choice(nums).encode()
    return rng.choice(words).encode("latin-1")


def read(path):
    with open(path) as f:
        return f.read().strip()


def write(path, data):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, data)
        return 0
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    paths = sorted(TARGETS)
    bad = 0
    refused = accepted = 0
    errors = {}
    for i in range(args.count):
        path = paths[i % len(paths)]
        data = inputs(rng, path)
        before = read(path)
        err = write(path, data)
        after = read(path)
        if err:
            refused += 1
            errors[errno.errorcode.get(err, err)] = errors.get(
                errno.errorcode.get(err, err), 0) + 1
            if after != before:
                bad += 1
                print("not ok - refused write %r to %s changed %r to %r"
                      % (data[:60], path, before[:60], after[:60]))
        else:
            accepted += 1
            if not TARGETS[path](after):
                bad += 1
                print("not ok - accepted write %r to %s left %r"
                      % (data[:60], path, after[:60]))
    print("# %d inputs: %d accepted, %d refused (%s)" % (
        args.count, accepted, refused,
        ", ".join("%s %d" % kv for kv in sorted(errors.items()))))
    if bad == 0:
        print("ok - %d fuzzed writes: every refused one changed nothing, "
              "every accepted one left a valid value" % args.count)

    # Concurrent writers: four threads per file, then a valid value.
    def hammer(path, seed):
        r = random.Random(seed)
        for _ in range(100):
            write(path, inputs(r, path))

    conc = 0
    for path in paths:
        ts = [threading.Thread(target=hammer, args=(path, k)) for k in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        conc += 400
        if not TARGETS[path](read(path)):
            bad += 1
            print("not ok - concurrent writers left %r in %s"
                  % (read(path)[:60], path))
    if bad == 0:
        print("ok - %d concurrent writes (4 writers per file): every file "
              "left valid" % conc)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
