#!/usr/bin/env python3
"""Instructions by function from the cache model's profile (bench/cachesim
with profile=N), two of its windows side by side (scripts/pc-profile).

    pc_profile.py PLUGIN_LOG KALLSYMS A B CYCLES

Windows are numbered in the order they closed in PLUGIN_LOG (0 first).
Each block's instructions go to the function of /proc/kallsyms whose
address precedes it; a block above every symbol of the module (an ftrace
or kprobe trampoline made after the symbols were read) is named after the
module's last symbol. Prints the totals and the functions that changed,
in instructions per cycle (the window's count / CYCLES).
"""
import bisect
import collections
import re
import sys


def symbols(path):
    syms = []
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) >= 3 and p[1] in "tTwW":
                syms.append((int(p[0], 16), p[2] + (" " + p[3] if len(p) > 3 else "")))
    syms.sort()
    return [a for a, _ in syms], [s for _, s in syms]


def windows(path, addrs, names):
    wins = []
    with open(path) as f:
        for line in f:
            m = re.match(r"cachesim window=\d+ .*insns=(\d+)", line)
            if m:
                wins.append(collections.Counter(total=int(m.group(1))))
                continue
            m = re.match(r"cachesim pc window=\d+ addr=0x([0-9a-f]+) insns=(\d+)", line)
            if m and wins:
                a = int(m.group(1), 16)
                i = bisect.bisect_right(addrs, a) - 1
                name = "[user]" if a < 1 << 63 else names[i] if i >= 0 else "?"
                wins[-1][name] += int(m.group(2))
    return wins


def main():
    log, ksyms, a, b, n = sys.argv[1:6]
    addrs, names = symbols(ksyms)
    wins = windows(log, addrs, names)
    x, y, n = wins[int(a)], wins[int(b)], float(n)
    print("instructions per cycle: %.0f, then %.0f (%+.0f)"
          % (x["total"] / n, y["total"] / n, (y["total"] - x["total"]) / n))
    keys = (set(x) | set(y)) - {"total"}
    mod = [k for k in keys if k.endswith("[pcbgroup]")]
    print("in the module's functions: %.0f, then %.0f"
          % (sum(x[k] for k in mod) / n, sum(y[k] for k in mod) / n))
    print("%8s %8s %8s  function" % ("change", "first", "then"))
    for k in sorted(keys, key=lambda k: -abs(y[k] - x[k])):
        d = (y[k] - x[k]) / n
        if abs(d) < 20:
            break
        print("%+8.0f %8.0f %8.0f  %s" % (d, x[k] / n, y[k] / n, k))


if __name__ == "__main__":
    main()
