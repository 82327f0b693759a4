#!/usr/bin/env python3
"""Turns the raw results of scripts/bench-guest into bench/RESULTS.md and a
plot (gnuplot, PNG). Every figure is a ratio of pcbgroup to the native path
measured in the same run, with the spread (min-max) over the repetitions."""
import collections
import os
import re
import statistics
import subprocess
import sys


def read(path):
    try:
        with open(path) as f:
            return f.read().splitlines()
    except OSError:
        return []


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def spread(xs):
    return "%.3g-%.3g" % (min(xs), max(xs)) if xs else "-"


# The lookup kinds compared with the kernel's beside the established ones:
# (pcbgroup's kind, the kernel's, what it is).
LOOKUP_PAIRS = (("pcbgroup_listener", "native_listener",
                 "a SYN: the kernel's established lookup, then the listener"),
                ("pcbgroup_listener_prisons", "native_listener",
                 "a SYN where prisons restrict: the groups answer it"),
                ("pcbgroup_listener_other", "native_listener",
                 "a SYN where prisons restrict, to a port no prisoner listens on"),
                ("pcbgroup_udp", "native_udp", "unconnected UDP, as answered on a port with connected sockets"))


def icount_rows(path, rows):
    """Guest instructions per lookup: the lookup benchmark in a guest run
    with QEMU's -icount shift=0, where the guest clock counts instructions
    (1 ns = 1 instruction), hot cache (no cache is modelled)."""
    got = collections.defaultdict(list)
    for line in read(path):
        kv = dict(re.findall(r"(\w+)=(\S+)", line))
        if line.startswith("lookup") and kv.get("cache") == "hot":
            got[(kv["sockets"], kv["kind"])].append(float(kv["ns_per_lookup"]))
    pairs = ((("pcbgroup_hwhash", "native_established", "established, NIC hash"),
              ("pcbgroup_swhash", "native_established", "established, software Toeplitz"))
             + LOOKUP_PAIRS)
    sizes = sorted(set(n for n, _ in got), key=lambda n: int(n or 0))
    for n in sizes:
        for mine, theirs, what in pairs:
            p, q = got.get((n, mine)), got.get((n, theirs))
            if p and q:
                rows.append(("instructions per lookup (QEMU -icount, deterministic)",
                             "%s sockets, %s; hot; %d runs" % (n, what, len(p)),
                             "%.0f" % med(p), "%.0f" % med(q), med(p) / med(q),
                             spread([a / b for a, b in zip(p, q)]), "<= 1.0"))


def cache_rows(path, log, rows):
    """Cache lines missed per lookup, from the cache model (bench/cachesim/):
    each timed run is a window of the model, named in its lookup line."""
    # Both logs in load order: the plugin's restarts, the benchmark's
    # config lines (one a load).
    wins, load = {}, -1
    for line in read(log):
        kv = dict(re.findall(r"(\w+)=(\S+)", line))
        if line.startswith("cachesim restart"):
            load += 1
        elif line.startswith("cachesim") and "window" in kv:
            wins[(load, kv["window"])] = kv
    got = collections.defaultdict(list)
    load = -1
    for line in read(path):
        kv = dict(re.findall(r"(\w+)=(\S+)", line))
        if line.startswith("config"):
            load += 1
        w = wins.get((load, kv.get("window")))
        if line.startswith("lookup") and w:
            n = float(kv["lookups"])
            got[(kv["sockets"], kv["cache"], kv["kind"])].append(
                (float(w["l1_misses"]) / n, float(w["llc_misses"]) / n,
                 float(w["stores"]) / n, float(w.get("insns", 0)) / n))
    pairs = (("pcbgroup_hwhash", "native_established", "established, NIC hash"),) + LOOKUP_PAIRS
    keys = sorted(set((n, c) for n, c, _ in got), key=lambda k: (int(k[0]), k[1]))
    for n, cache in keys:
        for mine, theirs, what in pairs:
            p, q = got.get((n, cache, mine)), got.get((n, cache, theirs))
            if not p or not q:
                continue
            a, b = med([x[3] for x in p]), med([x[3] for x in q])
            if b:
                rows.append(("instructions per lookup (cache model plugin: the guest's instructions in the run)",
                             "%s sockets, %s, %s cache; %d runs" % (n, what, cache, len(p)),
                             "%.0f" % a, "%.0f" % b, a / b, "-", "-"))
            for i, label in ((0, "L1d lines missed"), (1, "last-level lines missed")):
                a, b = med([x[i] for x in p]), med([x[i] for x in q])
                rows.append(("%s per lookup (cache model: 32 KiB 8-way L1d, 8 MiB 16-way LLC)" % label,
                             "%s sockets, %s, %s cache; stores per lookup %.1f (native %.1f); %d runs"
                             % (n, what, cache, med([x[2] for x in p]), med([x[2] for x in q]), len(p)),
                             "%.2f" % a, "%.2f" % b, a / b if b else 0.0, "-", "-"))


def run_windows(log):
    """The cache model's windows of a guest whose every run restarts the
    numbering (loopflood, udpflood): each run's window 0, in run order."""
    return [dict(re.findall(r"(\w+)=(\S+)", line))
            for line in read(log) if line.startswith("cachesim window=0")]


def counted_runs(path, log, section):
    """The runs of a cache-model section whose every run restarts the
    window numbering (the lines of @path that start with @section, in
    order), each with its window; warm-up runs, windows too, are left
    out. None when runs and windows do not pair up."""
    runs = [(line.split(), dict(re.findall(r"(\w+)=(\S+)", line)))
            for line in read(path) if line.startswith(section)]
    wins = run_windows(log)
    if not runs:
        return None
    if len(wins) != len(runs):
        print("bench_report: %s: %d windows for %d runs: no %s rows"
              % (log, len(wins), len(runs), section), file=sys.stderr)
        return None
    return [(f, kv, w) for (f, kv), w in zip(runs, wins) if "warm" not in f[1:3]]


def armed_rows(path, log, rows, plot):
    """The armed raw redirection's cost on loopback UDP and TCP (section
    "armed"): time per message from the plain guest's runs; instructions
    and cache misses per message from the cache model's guest, where each
    run's window is window 0 after its own restart."""
    runs, unarmed = [], 0
    for line in read(path):
        kv = dict(re.findall(r"(\w+)=(\S+)", line))
        if "ns_per_message" in kv:
            mode, r = line.split()[:2]
            runs.append((mode, r, kv))
        elif line.startswith("# armed:") and kv.get("raw_armed") != "1":
            unarmed += 1
    # An "armed" run the redirection did not arm measures nothing.
    warn = "; NOT ARMED in %d runs" % unarmed if unarmed else ""
    wins = run_windows(log)
    if not runs:
        return
    model = len(wins) == len(runs)
    if log and not model:
        print("bench_report: %s: %d windows for %d runs: no model rows"
              % (log, len(wins), len(runs)), file=sys.stderr)
        return
    t = collections.defaultdict(lambda: collections.defaultdict(dict))
    for i, (mode, r, kv) in enumerate(runs):
        n = float(kv["messages"])
        v = (float(wins[i]["insns"]) / n, float(wins[i]["l1_misses"]) / n) if model \
            else float(kv["ns_per_message"])
        t[kv["proto"]][r][mode] = v
    for proto in sorted(t):
        reps = [v for v in t[proto].values() if len(v) == 3]
        if not reps:
            continue
        # The armed handler against the module without it; the same
        # against no module; the module at its defaults against none (its
        # own cost on traffic it cannot speed up: goal parity).
        for num, base in (("armed", "unarmed"), ("armed", "unloaded"),
                          ("unarmed", "unloaded")):
            against = "the module loaded, not armed" if base == "unarmed" else "unloaded"
            what_num = ("raw demux armed (raw_demux_min GRE sockets in the namespace)"
                        if num == "armed" else "the module loaded at its defaults, not armed")
            goal = "-" if (num, base) == ("armed", "unloaded") else "<= 1.02"
            if model:
                for i, what, fmt in ((0, "instructions", "%.0f"), (1, "L1d lines missed", "%.2f")):
                    ratios = [v[num][i] / v[base][i] for v in reps if v[base][i]]
                    rows.append(("%s per message, %s over loopback (cache model plugin)" % (what, proto.upper()),
                                 "64 B ping-pong on one CPU, send and receive path; %s / %s; %d runs%s"
                                 % (what_num, against, len(reps), warn),
                                 fmt % med([v[num][i] for v in reps]),
                                 fmt % med([v[base][i] for v in reps]),
                                 med(ratios), spread(ratios), goal if i == 0 else "-"))
                continue
            ratios = [v[num] / v[base] for v in reps]
            rows.append(("%s, %s over loopback (ns per message, lower is better)"
                         % ("armed raw demux" if num == "armed" else "pcbgroup loaded", proto.upper()),
                         "64 B ping-pong on one CPU; %s / %s; %d runs in rotating order%s"
                         % (what_num, against, len(reps), warn),
                         "%.0f" % med([v[num] for v in reps]),
                         "%.0f" % med([v[base] for v in reps]),
                         med(ratios), spread(ratios), goal))
            if num == "armed" and base == "unarmed":
                plot.append(("armed %s" % proto, med(ratios)))


def rxcount_rows(path, log, rows):
    """Instructions and L1d misses per received datagram (section
    "rxcount", in the cache model's guest): each udpflood run is window 0
    after its own restart, in the order of the runs in rxcount.txt; warm-up
    runs are windows too, and are left out."""
    t = collections.defaultdict(lambda: collections.defaultdict(dict))
    for f, kv, w in counted_runs(path, log, "rxcount") or []:
        kind, mode, r = f[1:4]
        n = float(kv.get("frames") or kv.get("segments") or kv["cycles"])
        t[kind][r][mode] = (float(w["insns"]) / n, float(w["l1_misses"]) / n,
                            kv.get("hits", "0"))
    what = {"u": "one unconnected socket on the port (where the module cannot win: its cost)",
            "c": "connected sockets on one port",
            "g": "connected sockets on one port, GRO on the link and a UDP_GRO socket",
            "m": "new flows to the one unconnected socket of a port with as many connected sockets"}
    for kind in sorted(t, key=lambda k: ("ucgmtlj".find(k[-1]), k)):
        reps = [v for v in t[kind].values() if "native" in v and "pcbgroup" in v]
        if not reps:
            continue
        flows = kind.rstrip("ucgmtlj")
        for i, label, fmt, goal in ((0, "instructions", "%.0f", "-"),
                                    (1, "L1d lines missed", "%.2f", "-")):
            if kind.endswith("u") and i == 0:
                goal = "<= 1.02"
            ratios = [v["pcbgroup"][i] / v["native"][i] for v in reps if v["native"][i]]
            if not ratios:
                continue
            if kind[-1] in "lj":
                what_row = ("%s per UDP socket's life, over veth (cache model plugin)" % label,
                            "socket, connect (which binds a port), one 16 B datagram, close, "
                            "as a resolver makes one per query (bench/udpcycle.c), client and "
                            "sink on one CPU; module at its defaults%s / unloaded; %d runs, "
                            "each in namespaces of its own"
                            % (", a prison of another address in the sink's namespace (each "
                               "datagram meets its LOCAL_IN rule; the sink no prisoner)"
                               if kind.endswith("j") else "", len(reps)))
            elif kind.endswith("t"):
                what_row = ("%s per received segment, TCP over veth (cache model plugin)" % label,
                            "%s established flows, 64 B segments round robin (bench/tcprx.c count), "
                            "client and server on one CPU: the send, the receive, the server's reads "
                            "and the ACKs; module with soft_hash=1 (the groups answer at early demux) "
                            "/ unloaded (the kernel's early demux); exact hits while loaded in the last "
                            "run: %s; %d runs, each in namespaces of its own"
                            % (flows, reps[-1]["pcbgroup"][2], len(reps)))
            else:
                what_row = ("%s per received datagram, UDP over veth (cache model plugin)" % label,
                            "%s flows, %s; 64 B frames from a packet socket (bench/udpflood.c), the "
                            "send and the whole receive path on one CPU; module at its defaults / "
                            "unloaded; %s hits while loaded in the last run, its warm-up included: "
                            "%s; %d runs"
                            % (flows, what[kind[-1]], "wildcard" if kind.endswith("m") else "exact",
                               reps[-1]["pcbgroup"][2], len(reps)))
            rows.append(what_row + (fmt % med([v["pcbgroup"][i] for v in reps]),
                                    fmt % med([v["native"][i] for v in reps]),
                                    med(ratios), spread(ratios), goal))


def cyclecount_rows(path, log, rows):
    """Instructions and L1d misses per connect+bind+close cycle (section
    "cyclecount", in the cache model's guest): each client run is window 0
    after its own restart, in the order of cyclecount.txt; the warm-up
    runs are windows too, and are left out."""
    t = collections.defaultdict(dict)
    for f, kv, w in counted_runs(path, log, "cyclecount") or []:
        mode, r = f[1:3]
        n = float(kv["cycles"])
        t[r][mode] = (float(w["insns"]) / n, float(w["l1_misses"]) / n)
    for a, b, label, goal in (("defaults", "unloaded", "no prison, module at its defaults / unloaded", "<= 1.02"),
                              ("unjailed", "unloaded", "unjailed socket beside a prison, module loaded / unloaded",
                               "<= 1.02"),
                              ("prisoner", "unjailed", "prisoner / unjailed, module loaded", "-"),
                              ("jailsrv", "unloaded", "the server a prisoner of two addresses (each SYN to its "
                               "wildcard listener meets the prison's LOCAL_IN rule, at the defaults: no "
                               "steering hooks), module loaded / unloaded", "-")):
        reps = [v for v in t.values() if a in v and b in v]
        if not reps:
            continue
        for i, what, fmt in ((0, "instructions", "%.0f"), (1, "L1d lines missed", "%.1f")):
            ratios = [v[a][i] / v[b][i] for v in reps if v[b][i]]
            rows.append(("connect+bind+close, %s: %s per cycle (cache model plugin)"
                         % (label, what),
                         "the cycles of the row above, client and server on one CPU "
                         "(the window holds both ends and every softirq), each run in "
                         "namespaces of its own after a warm-up run; %d runs" % len(reps),
                         fmt % med([v[a][i] for v in reps]),
                         fmt % med([v[b][i] for v in reps]),
                         med(ratios), spread(ratios),
                         goal if i == 0 else "-"))


def main():
    raw, md, png = sys.argv[1:4]
    kernel = (read(os.path.join(raw, "kernel")) or ["?"])[0]
    cpus = (read(os.path.join(raw, "cpus")) or ["?"])[0]
    rows = []      # (section, setup, pcbgroup, native, ratio, spread, goal)
    plot = []      # (label, ratio)

    lookup = collections.defaultdict(list)
    scale = collections.defaultdict(list)
    setups, udp_setups, memory = {}, {}, {}
    growth = collections.defaultdict(list)
    guests = collections.Counter()
    for line in read(os.path.join(raw, "lookup.txt")):
        kv = dict(re.findall(r"(\w+)=(\S+)", line))
        if line.startswith("config") and "udp" in kv:
            udp_setups[kv["udp"]] = kv
        elif line.startswith(("config", "setup")):
            setups[kv["sockets"]] = kv
            guests[kv["sockets"]] += 1
        elif line.startswith("memory"):
            memory[kv["sockets"]] = kv
        elif line.startswith("growth"):
            growth[kv["sockets"]].append(kv)
        elif line.startswith("lookup"):
            lookup[(kv["sockets"], kv["cache"], kv["kind"])].append(
                float(kv["ns_per_lookup"]))
        elif line.startswith("scaling"):
            scale[(kv["sockets"], kv["kind"])].append(
                float(kv["cpus2"]) / max(1.0, float(kv["cpus1"])))
    for n in sorted(setups, key=int):
        s = setups[n]
        for cache in ("cold", "hot"):
            nat = lookup[(n, cache, "native_established")]
            for kind, label in (("pcbgroup_hwhash", "NIC hash"),
                                ("pcbgroup_swhash", "software Toeplitz")):
                pcb = lookup[(n, cache, kind)]
                if not pcb or not nat:
                    continue
                ratios = [p / q for p, q in zip(pcb, nat)]
                rows.append(("lookup cost, established (ns, lower is better)",
                             "%s sockets, %s cache, %s; module defaults (no size given): grown to %s groups x %s buckets of 4 slots, longest bucket %s; ehash %s buckets; %d runs in %d guests"
                             % (n, cache, label, s["groups"], s["buckets_per_group"],
                                s.get("longest", "?"), s["ehash_buckets"],
                                len(ratios), guests[n]),
                             "%.1f" % med(pcb), "%.1f" % med(nat),
                             med(ratios), spread(ratios), "<= 1.0"))
                if kind == "pcbgroup_hwhash":
                    plot.append(("est %s %s" % (n, cache), med(ratios)))
            nl = lookup[(n, cache, "native_listener")]
            for kind, how in (
                    ("pcbgroup_listener", "module defaults, no prison: the delivery hook leaves a SYN to the "
                     "kernel (pcbg_table_syn()), so the path is that test, then the kernel's lookups"),
                    ("pcbgroup_listener_prisons", "in a namespace with prisons, where the groups answer SYNs "
                     "(pcbg_answer(): the kernel's established lookup, then 1 wildcard listener, handed over "
                     "without a reference)"),
                    ("pcbgroup_listener_other", "in a namespace with prisons, to a port where no prisoner "
                     "listens (pcbg_port_jailed()): the delivery hook's test of the port, then the kernel's "
                     "lookups (the prison hook at LOCAL_IN tests the port once more: not in this row)")):
                pl = lookup[(n, cache, kind)]
                if not (pl and nl):
                    continue
                ratios = [p / q for p, q in zip(pl, nl)]
                rows.append(("lookup cost, listener (ns)",
                             "%s sockets, %s cache; a SYN to their port, %s; native __inet_lookup_established() then __inet_lookup_listener(); %d runs" % (n, cache, how, len(ratios)),
                             "%.1f" % med(pl), "%.1f" % med(nl), med(ratios),
                             spread(ratios), "<= 1.0"))
        for kind, label in (("pcbgroup_hwhash", "pcbgroup"),
                            ("native_established", "native")):
            sc = scale[(n, kind)]
            if sc:
                rows.append(("scaling, 2 CPUs / 1 CPU (lookups/s)",
                             "%s sockets, cold, each CPU the flows of its buckets, %s; %d runs" % (n, label, len(sc)),
                             "%.2f" % med(sc) if label == "pcbgroup" else "",
                             "%.2f" % med(sc) if label == "native" else "",
                             med(sc), spread(sc), ">= 1.9"))

    for n in sorted(udp_setups, key=int):
        s = udp_setups[n]
        for cache in ("cold", "hot"):
            pu = lookup[(n, cache, "pcbgroup_udp")]
            nu = lookup[(n, cache, "native_udp")]
            if pu and nu:
                ratios = [p / q for p, q in zip(pu, nu)]
                rows.append(("lookup cost, unconnected UDP (ns)",
                             "%s unconnected UDP sockets on distinct ports (bound to 0.0.0.0), %s flows, %s cache; "
                             "the answer as given on a port that also has connected sockets, or with udp_lookup=0 "
                             "(at the defaults a port without connected sockets is the kernel's: see the RX row with "
                             "one unconnected socket); grown to %s wildcard chains, longest %s; %d runs"
                             % (n, s["flows"], cache, s["wild_chains"], s["longest"], len(ratios)),
                             "%.1f" % med(pu), "%.1f" % med(nu), med(ratios),
                             spread(ratios), "<= 1.0"))
                if cache == "cold":
                    plot.append(("udp %s" % n, med(ratios)))
    icount_rows(os.path.join(raw, "icount", "lookup.txt"), rows)
    cache_rows(os.path.join(raw, "cache", "lookup.txt"),
               os.path.join(raw, "cache", "plugin.log"), rows)
    for n in sorted(growth, key=int):
        # Fewer than 25 windows (half a second): too short to say.
        runs = [g for g in growth[n] if int(g.get("bins", 0)) >= 25]
        if not runs:
            continue
        ratios = [float(g["min"]) / max(1.0, float(g["median"])) for g in runs]
        rows.append(("growth under load: slowest 20 ms window / median (lookups/s)",
                     "0 to %s sockets entered (and hashed in the ehash) from an empty table at the defaults, "
                     "in %s s, while a thread on each of %s CPUs looks up 64 of them; %s resizes; "
                     "wrong answers: %d; %d runs"
                     % (n, runs[0]["seconds"], runs[0]["threads"], runs[0]["resizes"],
                        sum(int(g["wrong"]) for g in runs), len(runs)),
                     "%s" % runs[0]["min"], "%s" % runs[0]["median"],
                     med(ratios), spread(ratios), ">= 0.5"))
    for n in sorted(memory, key=int):
        m = memory[n]
        per = float(m["table_bytes"]) / int(n)
        kern = int(m["tcp_sock_bytes"]) + int(m["ehash_bucket_bytes"])
        rows.append(("memory per connection (bytes)",
                     "%s established sockets, the group table at its defaults (entries, buckets, index) "
                     "against the kernel's own per socket (a tcp_sock of %s bytes and one %s-byte ehash bucket); "
                     "an idle table takes %s bytes, two per namespace (TCP, UDP)"
                     % (n, m["tcp_sock_bytes"], m["ehash_bucket_bytes"], m["idle_table_bytes"]),
                     "%.0f" % per, "%.0f" % kern, per / kern, "-", "-"))

    loop = collections.defaultdict(dict)
    for line in read(os.path.join(raw, "loopback.txt")):
        _, mode, r, secs = line.split()
        loop[r][mode] = float(secs)
    ratios = [v["pcbgroup"] / v["native"] for v in loop.values()
              if "pcbgroup" in v and "native" in v]
    if ratios:
        rows.append(("fallback overhead, loopback TCP (time)",
                     "50 connections x 100 echo rounds of 512 B, module loaded vs not, %d alternating pairs" % len(ratios),
                     "%.2f s" % med([v["pcbgroup"] for v in loop.values()]),
                     "%.2f s" % med([v["native"] for v in loop.values()]),
                     med(ratios), spread(ratios), "<= 1.02"))
        plot.append(("loopback time", med(ratios)))

    def rate_rows(reps_by_n, hits, section, setup, label):
        """Rows of a rate measured in pairs (higher is better)."""
        for n in sorted(reps_by_n, key=lambda n: (int(n.rstrip("ghuam")), n)):
            reps = reps_by_n[n].values()
            ratios = [v["pcbgroup"] / v["native"] for v in reps
                      if v.get("native") and "pcbgroup" in v]
            if ratios:
                rows.append((section, setup(n, hits.get(n), len(ratios)),
                             "%.0f" % med([v["pcbgroup"] for v in reps]),
                             "%.0f" % med([v["native"] for v in reps]),
                             med(ratios), spread(ratios), ">= 1.0"))
                plot.append((label % n, med(ratios)))

    rx = collections.defaultdict(lambda: collections.defaultdict(dict))
    hits, drops = {}, {}
    last_drops = 0
    for line in read(os.path.join(raw, "rx.txt")):
        parts = line.split()
        _, n, mode, r, pps = parts[:5]
        # The module with udp_lookup=0 is its own row; so is the module
        # with raw demux armed, against the module without (its cost).
        key = {"hook": n + "h", "armed": n + "a"}.get(mode, n)
        rx[key][r]["native" if mode == "native" else "pcbgroup"] = \
            float(pps or 0)
        if mode == "pcbgroup" and n.endswith("u"):
            rx[n + "a"][r]["native"] = float(pps or 0)
        if mode == "native" and n.endswith("g"):
            rx[n + "h"][r]["native"] = float(pps or 0)
        if mode != "native":
            hits[key] = parts[5] if len(parts) > 5 else "0"
        # Frames veth dropped (the sender's rate is then not the
        # receiver's), summed over every run of every mode of the row:
        # the link's counter runs on from the first row, so each run's
        # are what it added.
        for kv in parts[6:]:
            if kv.startswith("drops="):
                now = int(kv[6:] or 0)
                added = now - last_drops if now >= last_drops else now
                last_drops = now
                drops[n.rstrip("ha")] = drops.get(n.rstrip("ha"), 0) + added

    def rx_setup(n, h, k):
        flows = n.rstrip("ghuam")
        if n.endswith("m"):
            return ("one unconnected socket and %s connected ones on the port, %s new flows (none of "
                    "them connected), pktgen 64 B: every datagram is the unconnected socket's, and the "
                    "kernel's lookup walks the connected sockets for each; module at its defaults "
                    "(answered in __udp4_lib_lookup()); wildcard answers in last run: %s"
                    % (flows, flows, h))
        if n.endswith("ua"):
            return ("one unconnected socket on the port, %s flows, pktgen 64 B: the module with its raw-IP "
                    "redirection armed (40 raw GRE sockets in the namespace) / the module without: the armed "
                    "handler's cost on traffic it does not serve" % flows)
        if n.endswith("u"):
            return ("one unconnected socket on the port, %s flows, pktgen 64 B, module at its defaults: "
                    "the cost where it cannot win (the handler in __udp4_lib_lookup() leaves at once); "
                    "answers in last run: %s" % (flows, h))
        if not n.endswith(("g", "h")):
            return ("%s connected flows on one port, pktgen 64 B, module at its defaults "
                    "(answered in __udp4_lib_lookup()); exact hits in last run: %s" % (flows, h))
        how = ("module at its defaults (answered in __udp4_lib_lookup(): the GRO lookup and udp_rcv()'s)"
               if n.endswith("g") else
               "module with udp_lookup=0 soft_hash=1 (answered at LOCAL_IN only: the GRO lookup still walks)")
        return ("%s connected flows on one port, GRO on the link (veth's NAPI path) and a UDP_GRO socket "
                "in the namespace, 64 B frames from a packet socket (bench/udpflood.c: pktgen's shared "
                "frames skip GRO), %s; exact hits in last run: %s; frames veth dropped in all runs: %s"
                % (flows, how, h, drops.get(flows + "g", "?")))
    rate_rows(rx, hits, "RX path, UDP pps over veth (higher is better)",
              rx_setup, "rx %s flows")

    tcprx = collections.defaultdict(lambda: collections.defaultdict(dict))
    tcphits = {}
    for line in read(os.path.join(raw, "tcprx.txt")):
        _, n, mode, r, nbytes, secs, h = line.split()
        if float(secs) > 0:
            tcprx[n][r][mode] = float(nbytes) / float(secs)
        if mode == "pcbgroup":
            tcphits[n] = h
    rate_rows(tcprx, tcphits,
              "RX path, TCP end to end (received bytes/s, higher is better)",
              lambda n, h, k: "%s established flows over veth, 64 B segments (TCP_NODELAY) round robin for 5 s, "
              "module at its defaults + soft_hash=1 (kernel: early demux); exact hits in last run: %s; "
              "%d alternating pairs" % (n, h, k), "tcp rx %s flows")

    loc, rate, drate = [], [], []
    for line in read(os.path.join(raw, "locality.txt")):
        p = line.split()
        if len(p) in (8, 10):
            pl, pt, nl, nt = map(int, (p[1], p[2], p[4], p[5]))
            loc.append((pl, pt, nl, nt))
            if float(p[6]) > 0 and float(p[7]) > 0:
                rate.append((pt / float(p[6]), nt / float(p[7])))
            # The module at its defaults: the same count of connections.
            if len(p) == 10 and float(p[9]) > 0 and float(p[7]) > 0:
                drate.append((pt / float(p[9]), nt / float(p[7])))
    if loc:
        pl, pt, nl, nt = map(sum, zip(*loc))
        rows.append(("accept locality (SO_REUSEPORT + SO_INCOMING_CPU)",
                     "%d connections in %d runs, one listener per CPU, flows sent from their bucket's CPU"
                     % (pt, len(loc)),
                     "%.0f%%" % (100.0 * pl / pt), "%.0f%%" % (100.0 * nl / max(nt, 1)),
                     (pl / pt) / max(nl / max(nt, 1), 1e-9), "-", "100%"))
    if rate:
        ratios = [p / n for p, n in rate]
        rows.append(("connection rate, same listeners (conn/s, higher is better)",
                     "%d runs of %d sequential connect/echo/close, software Toeplitz, verify off, a prison in the namespace: the groups answer the SYNs"
                     % (len(rate), loc[0][1]),
                     "%.1f" % med([p for p, _ in rate]), "%.1f" % med([n for _, n in rate]),
                     med(ratios), spread(ratios), "-"))
        plot.append(("conn rate", med(ratios)))
    if drate:
        ratios = [p / n for p, n in drate]
        rows.append(("connection rate, same listeners, module at its defaults (conn/s)",
                     "%d runs of %d sequential connect/echo/close, in namespaces made for the module at "
                     "its defaults; veth gives no RSS hash, so they get no steering hooks and their "
                     "connections no entries: the cost of following the listeners and the state changes"
                     % (len(drate), loc[0][1]),
                     "%.1f" % med([p for p, _ in drate]), "%.1f" % med([n for _, n in drate]),
                     med(ratios), spread(ratios), ">= 1.00"))
    for line in read(os.path.join(raw, "churn.txt")):
        p = line.split()
        if len(p) == 6:
            native, with_ = float(p[3]), float(p[5])
            rows.append(("namespace churn (namespaces/s)",
                         "%s namespaces, each with a veth, a listener and a connection" % p[1],
                         "%.2f" % with_, "%.2f" % native, with_ / native, "-", "-"))

    pr = {}
    for line in read(os.path.join(raw, "prison.txt")):
        p = line.split()
        if len(p) == 5:
            pr.setdefault(int(p[3]), {})[p[2]] = float(p[4])
            cycles = p[1]
    reps = [v for v in pr.values() if all(k in v for k in ("prisoner", "unjailed", "unloaded"))]
    if reps:
        ratios = [v["prisoner"] / v["unjailed"] for v in reps]
        rows.append(("prison checks: connect+bind+close (per s, higher is better)",
                     "%s cycles a run over veth, TCP, bind(192.0.2.1:0), each run in "
                     "namespaces of its own; prisoner (prison of that one address) / "
                     "unjailed, module loaded; %d runs"
                     % (cycles, len(reps)),
                     "%.1f" % med([v["prisoner"] for v in reps]),
                     "%.1f" % med([v["unjailed"] for v in reps]),
                     med(ratios), spread(ratios), "-"))
        plot.append(("prison cost", med(ratios)))
        ratios = [v["unjailed"] / v["unloaded"] for v in reps]
        rows.append(("unjailed socket beside a prison, module loaded / unloaded (per s)",
                     "the same cycles: the module's whole cost on them (socket tracking, "
                     "steering, the prison hooks of a namespace with a prison, the "
                     "socket-creation probe)",
                     "%.1f" % med([v["unjailed"] for v in reps]),
                     "%.1f" % med([v["unloaded"] for v in reps]),
                     med(ratios), spread(ratios), "-"))
    reps = [v for v in reps if "defaults" in v]
    if reps:
        ratios = [v["defaults"] / v["unloaded"] for v in reps]
        rows.append(("socket in a namespace without prisons, module at its defaults / unloaded (per s)",
                     "the same cycles: socket tracking and steering alone",
                     "%.1f" % med([v["defaults"] for v in reps]),
                     "%.1f" % med([v["unloaded"] for v in reps]),
                     med(ratios), spread(ratios), ">= 0.98"))
    cyclecount_rows(os.path.join(raw, "cache-cycle", "cyclecount.txt"),
                    os.path.join(raw, "cache-cycle", "plugin.log"), rows)

    raw_ns = collections.defaultdict(lambda: collections.defaultdict(list))
    raw_bad = 0
    for line in read(os.path.join(raw, "raw.txt")):
        kv = dict(re.findall(r"(\w+)=(\S+)", line))
        if "ns_per_packet" not in kv:
            continue
        stray = kv.get("stray", "0") == "1"
        raw_ns[(int(kv["sockets"]), stray)][kv["path"]].append(
            float(kv["ns_per_packet"]))
        want = 0 if stray else int(kv["packets"])
        raw_bad += int(kv["wrong"]) + (int(kv["delivered"]) != want)
    for n, stray in sorted(raw_ns):
        v = raw_ns[(n, stray)]
        if not v["pcbgroup"] or not v["native"]:
            continue
        ratios = [a / b for a, b in zip(v["native"], v["pcbgroup"])]
        if stray:
            rows.append(("raw GRE lookup alone, %d sockets (packets/s, higher is better)" % n,
                         "the same, but every packet from a peer without a socket: no "
                         "socket matches, nothing is cloned or queued, so this is the "
                         "cost of finding the sockets alone; %d runs" % len(ratios),
                         "%.0f" % (1e9 / med(v["pcbgroup"])),
                         "%.0f" % (1e9 / med(v["native"])),
                         med(ratios), spread(ratios), "-"))
            plot.append(("raw lookup %d" % n, med(ratios)))
            continue
        # The ceiling, (walk + clone) / clone: the kernel's delivery at n
        # sockets over its delivery at one (one match, one clone, one
        # queue), from the same runs. Not from the stray run: a packet no
        # socket takes costs the kernel more than a walk (the protocol
        # unreachable path).
        one = raw_ns.get((1, False), {}).get("native")
        ceiling = ("; ceiling (the kernel's delivery at %d sockets / at 1) %.1f"
                   % (n, med(v["native"]) / med(one)) if one and n > 1 else "")
        rows.append(("raw GRE delivery, %d sockets (packets/s, higher is better)" % n,
                     "raw_local_deliver() in softirq context, %d GRE sockets in one "
                     "namespace, each connected to its own peer (half also bound), "
                     "packets round robin over the peers; module at its defaults vs "
                     "unloaded; %d runs%s%s"
                     % (n, len(ratios), ceiling, "" if not raw_bad else
                        "; %d WRONG DELIVERIES" % raw_bad),
                     "%.0f" % (1e9 / med(v["pcbgroup"])),
                     "%.0f" % (1e9 / med(v["native"])),
                     med(ratios), spread(ratios), "20x at 1000" if n == 1000 else "-"))
        plot.append(("raw %d" % n, med(ratios)))

    armed_rows(os.path.join(raw, "armed.txt"), "", rows, plot)
    rxcount_rows(os.path.join(raw, "cache-rx", "rxcount.txt"),
                 os.path.join(raw, "cache-rx", "plugin.log"), rows)
    armed_rows(os.path.join(raw, "cache-armed", "armed.txt"),
               os.path.join(raw, "cache-armed", "plugin.log"), rows, plot)

    pl = collections.defaultdict(dict)
    pl_left = []
    for line in read(os.path.join(raw, "portless.txt")):
        p = line.split()
        if len(p) == 7:
            n = int(p[1])
            pl[(p[2], int(p[3]))][int(p[4])] = float(p[5])
            if p[6] != "-":
                pl_left.append(int(p[6]))
    runs = sorted({r for _, r in pl})
    reps = []
    for r in runs:
        a, b = pl.get(("pcbgroup", r), {}), pl.get(("native", r), {})
        if len(a) == 2 and len(b) == 2 and all(a.values()) and all(b.values()):
            reps.append((a[n] / a[0], b[n] / b[0]))
    if reps:
        ratios = [p / q for p, q in reps]
        rows.append(("connection rate with %d port-less listeners held by nobody / "
                     "with none (higher is better)" % n,
                     "listen() without bind() as uid 65534; connect+bind+close to an "
                     "unrelated listener over veth, 2000 a run, each run in namespaces "
                     "of its own; soft_hash=1; "
                     "pcbgroup and native are each their own with/without ratio; "
                     "members left without a port: %d; %d runs"
                     % (max(pl_left) if pl_left else -1, len(reps)),
                     "%.3f" % med([p for p, _ in reps]),
                     "%.3f" % med([q for _, q in reps]),
                     med(ratios), spread(ratios), "\u2265 0.90"))
        plot.append(("port-less %d" % n, med(ratios)))

    with open(md, "w") as f:
        f.write("# Benchmark results\n\n")
        f.write("Made by `make bench` (scripts/bench); do not edit. Kernel %s in QEMU TCG, "
                "%s vCPUs, on a 2-core host without KVM. Times in a TCG guest mean "
                "something only as ratios: each ratio is pcbgroup / native, measured "
                "side by side in the same run; the figure is the median and the spread "
                "the min-max over the runs (5 unless noted).\n\n" % (kernel, cpus))
        f.write("| benchmark | setup | pcbgroup | native | ratio | spread | goal |\n")
        f.write("|---|---|---|---|---|---|---|\n")
        for sec, setup, p, n, ratio, sp, goal in rows:
            f.write("| %s | %s | %s | %s | %.3f | %s | %s |\n"
                    % (sec, setup, p, n, ratio, sp, goal))
        f.write("\n![ratios](results.png)\n")
    if plot:
        dat = png + ".dat"
        with open(dat, "w") as f:
            for i, (label, ratio) in enumerate(plot):
                f.write('%d "%s" %.4f\n' % (i, label, ratio))
        script = """set terminal pngcairo size 900,420
set output '%s'
set title 'pcbgroup / native (lookup cost and time: lower is better; pps: higher)'
set style fill solid 0.6
set boxwidth 0.6
set logscale y
set yrange [0.1:1000]
set ylabel 'ratio (log scale)'
set xtics rotate by -30
set grid y
plot '%s' using 1:3:xtic(2) with boxes notitle, 1 with lines lc rgb 'red' title 'native = 1'
""" % (png, dat)
        subprocess.run(["gnuplot"], input=script.encode(), check=False)
        os.unlink(dat)


if __name__ == "__main__":
    main()
