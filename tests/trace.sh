#!/bin/bash
# The pcbgroup:lookup tracepoint with docs/operating.md's bpftrace one-liner.
. tests/lib.sh

command -v bpftrace >/dev/null || { not_ok "bpftrace not installed (scripts/setup)"; exit 1; }
setup_and_load "insmod soft_hash=1" soft_hash=1
check "tracepoint listed" grep -q '^pcbgroup:lookup$' /sys/kernel/tracing/available_events
server_start $NS_S --addr 192.0.2.1 --tcp 7000 --udp 7001

# docs/operating.md's one-liner, ended by the test after the traffic;
# and its resize one-liner: 200 connections grow the groups (4 buckets
# each at first) on both sides, and bpftrace must see every resize the
# namespaces count. The resize check runs once (namespaces made after
# the load: the tracepoint does not depend on the order), its bpftrace
# beside the first (bt_launch, tests/lib.sh: their starts overlap).
after=
[ "${PCBG_NS_ORDER:-before}" = after ] && after=1
bt_launch lookup -e 'tracepoint:pcbgroup:lookup { @lookups[args->group, args->outcome] = count(); }'
if [ -n "$after" ]; then
	check "resize tracepoint listed" grep -q '^pcbgroup:resize$' /sys/kernel/tracing/available_events
	bt_launch resize -e 'tracepoint:pcbgroup:resize { printf("%u/%d: %u -> %u buckets, %u sockets\n",
	    args->protocol, args->group, args->from, args->to, args->count); }'
	bt_attached resize
fi
bt_attached lookup
nap 1
before=$(( $(stat $NS_S resize) + $(stat $NS_C resize) ))
out=$(ip netns exec $NS_C $TRAFFIC tcp-client --addr 192.0.2.1 --conns 20 --rounds 3)
expect_eq "traffic while tracing" "sent=60 ok=60 lost=0 misdelivered=0" "$out"
if [ -n "$after" ]; then
	out=$(ip netns exec $NS_C $TRAFFIC tcp-client --addr 192.0.2.1 --conns 200 --rounds 1)
	expect_eq "200 connections while tracing resizes" "sent=200 ok=200 lost=0 misdelivered=0" "$out"
	nap 2		# a resize runs from a work item; closes shrink again
	counted=$(( $(stat $NS_S resize) + $(stat $NS_C resize) - before ))
	bt_stop resize 20
	seen=$(grep -c 'buckets' /tmp/resize.out)
	check "bpftrace saw resizes ($seen)" test "$seen" -gt 0
	expect_eq "bpftrace saw every resize the namespaces counted" "$counted" "$seen"
fi
bt_stop lookup 1000
# @lookups[GROUP, OUTCOME]: N, outcome 1 = exact hit
exact=$(awk -F'[][, :]+' '/^@lookups/ && $3 == 1 {n += $4} END {print n + 0}' /tmp/lookup.out)
check "bpftrace counted exact hits ($exact)" test "$exact" -gt 0
groups=$(awk -F'[][, :]+' '/^@lookups/ {print $2}' /tmp/lookup.out | sort -u | wc -l)
check "bpftrace saw every group ($groups)" test "$groups" -eq "$(<$P/buckets)"

server_stop
ns_teardown
check "rmmod" rmmod pcbgroup
exit $T_FAILED
