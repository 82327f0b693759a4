#!/bin/bash
# The module's contract on real hosts: every scenario of
# tests/lib/differential.py (forwarding, DNAT, REDIRECT, SNAT on INPUT,
# VRF, sk_lookup, reuseport BPF, IPsec, broadcast, TPROXY, socket-reading
# nft rules, br_netfilter) gives the same per-socket message counts with
# the module unloaded, loaded before its namespaces and loaded after them;
# verify mode and software hashing on, 0 mismatches.
. tests/lib.sh

unload
python3 -u tests/lib/differential.py --ko "$KO" --params "soft_hash=1 verify=1" \
	${DIFF_SCENARIOS:-} || T_FAILED=1
exit $T_FAILED
