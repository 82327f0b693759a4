#!/usr/bin/env python3
"""Turns the perf reports of scripts/profile into bench/PROFILE.md: for
each lookup kind, its cost per lookup and where the busy CPU spent it
(idle samples left out)."""
import os
import re
import statistics
import sys


def main():
    raw, md, kinds = sys.argv[1], sys.argv[2], sys.argv[3:]
    ns = {}
    config = ""
    cache = "hot"
    with open(os.path.join(raw, "bench.txt")) as f:
        for line in f:
            kv = dict(re.findall(r"(\w+)=(\S+)", line))
            if line.startswith("config"):
                config = line.strip()
            elif line.startswith("profile"):
                cache = kv.get("cache", cache)
                ns.setdefault(kv["kind"], []).append(float(kv["ns_per_lookup"]))
    out = ["# Lookup profiles", "",
           "Made by `scripts/profile` (perf record -a without call chains, cpu-clock, in a stock-kernel "
           "TCG guest); do not edit. %s. "
           "Shares are of the non-idle samples; a function inlined into another "
           "counts as that one." % ("Hot cache: the same 64 flows over and over" if cache == "hot"
                                  else "Cold cache: every flow once, in random order"),
           "", "`%s`" % config, ""]
    for k in kinds:
        path = os.path.join(raw, k + ".txt")
        if not os.path.exists(path):
            continue
        syms = []
        with open(path) as f:
            for line in f:
                m = re.match(r"\s+([\d.]+)%\s+\[k\]\s+(\S+)", line)
                if m and m.group(2) not in ("native_safe_halt", "default_idle"):
                    syms.append((m.group(2), float(m.group(1))))
        busy = sum(p for _, p in syms) or 1.0
        cost = statistics.median(ns[k]) if k in ns else float("nan")
        out += ["## %s: %.0f ns per lookup (median of %d)" % (k, cost, len(ns.get(k, []))),
                "", "| function | share | ns per lookup |", "|---|---|---|"]
        for sym, p in syms:
            out.append("| `%s` | %.0f%% | %.0f |" % (sym, 100 * p / busy, cost * p / busy))
        out.append("")
    with open(md, "w") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    main()
