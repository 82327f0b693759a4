#!/bin/bash
# The bpftrace tools of tools/bpftrace/, each run against real traffic
# for a bounded time, its output checked against what the namespaces
# counted. On Debian's bpftrace with no module BTF: tracepoints and
# kprobes only.
. tests/lib.sh

command -v bpftrace >/dev/null || { not_ok "bpftrace not installed (scripts/setup)"; exit 1; }
BT=tools/bpftrace
setup_and_load "insmod soft_hash=1" soft_hash=1
server_start $NS_S --addr 192.0.2.1 --tcp 7000 --udp 7001

# The six tools run at once over one stretch of traffic, each started
# and interrupted as a user does (bt_launch / bt_attached, bt_interrupt /
# bt_reap: tests/lib.sh); one at a time, their starts and stops took
# most of a minute.
TOOLS="pcbg-outcomes pcbg-latency pcbg-top pcbg-crosscpu pcbg-churn pcbg-prison"
lookups() { echo $(( $(stat $NS_S lookups) + $(stat $NS_C lookups) )); }
ip -n $NS_S addr add 192.0.2.11/24 dev veth0
ip netns exec $NS_S $JAIL create T ip4.addr=192.0.2.11 >/dev/null
for t in $TOOLS; do
	bt_launch $t "$BT/$t.bt"
done
for t in $TOOLS; do
	bt_attached $t
done
nap 1
l0=$(lookups)
out=$(ip netns exec $NS_C $TRAFFIC tcp-client --addr 192.0.2.1 --conns 20 --rounds 3)
expect_eq "traffic under the six tools" "sent=60 ok=60 lost=0 misdelivered=0" "$out"
# Prison denials: three refused binds, one allowed.
ip netns exec $NS_S $JAIL exec T -- python3 -c '
import socket
for a in ("192.0.2.1", "192.0.2.1", "198.51.100.1", "192.0.2.11"):
    try:
        socket.socket().bind((a, 0))
    except OSError:
        pass'
nap 2		# the connections' closes, for pcbg-churn
l1=$(lookups)
for t in $TOOLS; do
	bt_interrupt $t
done
for t in $TOOLS; do
	case $t in pcbg-latency) bt_reap $t 40 ;; *) bt_reap $t ;; esac
done

# Outcomes: every lookup the namespaces counted, by group, CPU, outcome.
sum=$(awk -F'[][, :]+' '/^@lookups/ {n += $5} END {print n + 0}' /tmp/pcbg-outcomes.out)
exact=$(awk -F'[][, :]+' '/^@lookups/ && $4 == 1 {n += $5} END {print n + 0}' /tmp/pcbg-outcomes.out)
check "pcbg-outcomes: counted the $((l1 - l0)) lookups the namespaces counted ($sum)" \
	test "$sum" -ge $((l1 - l0)) -a "$sum" -le $((l1 - l0 + 5))
check "pcbg-outcomes: exact hits ($exact)" test "$exact" -gt 0

# Latency: both histograms filled.
check "pcbg-latency: pcbgroup's histogram" grep -q '^@pcbgroup_ns:' /tmp/pcbg-latency.out
check "pcbg-latency: the kernel's histogram" grep -q '^@kernel_ns:' /tmp/pcbg-latency.out

# Top talkers: the server's tuple, with the 60 requests and their replies.
n=$(awk -F'[][, :]+' '/^@v4\[192.0.2.1, 7000, 192.0.2.2, [0-9]+, 6\]/ {n += $7} END {print n + 0}' /tmp/pcbg-top.out)
check "pcbg-top: the server's flows, by tuple ($n packets)" test "$n" -ge 60

# Cross-CPU: as many lookups as the namespaces counted; cross-CPU ones
# counted (veth has no RSS: the receiving CPU is the sender's).
n=$(awk '/^@lookups:/ {print $2}' /tmp/pcbg-crosscpu.out)
x=$(awk '/^@cross:/ {print $2}' /tmp/pcbg-crosscpu.out)
check "pcbg-crosscpu: lookups counted (${n:-0} of $((l1 - l0)))" \
	test "${n:-0}" -ge $((l1 - l0)) -a "${n:-0}" -le $((l1 - l0 + 5))
check "pcbg-crosscpu: cross-CPU lookups counted (${x:-0})" test "${x:-0}" -le "${n:-0}"

# Churn: 20 connections join and leave on both sides.
ins=$(awk '/^churn:/ {n += $2} END {print n + 0}' /tmp/pcbg-churn.out)
rem=$(awk '/^churn:/ {n += $4} END {print n + 0}' /tmp/pcbg-churn.out)
check "pcbg-churn: the 40 connected sockets inserted ($ins)" test "$ins" -ge 40
check "pcbg-churn: and removed ($rem)" test "$rem" -ge 40

# Prison denials, as they happened and in the totals.
n=$(grep -c 'bind refused, -99' /tmp/pcbg-prison.out)
expect_eq "pcbg-prison: the three refused binds, as they happened" 3 "$n"
check "pcbg-prison: in the totals" grep -q '^@denied\[.*, bind, -99\]: 3' /tmp/pcbg-prison.out
ip netns exec $NS_S $JAIL destroy T

server_stop
ns_teardown
check "rmmod" rmmod pcbgroup
exit $T_FAILED
