#!/bin/bash
# Connection groups under real traffic, verify mode on, software Toeplitz
# on: 1000 concurrent TCP connections, IPv4 and IPv6, listeners on specific
# and wildcard addresses, UDP connected and unconnected; then loopback
# traffic, which must fall back to the reservation table. A prison (with
# no process) in the server's namespace makes the groups answer SYNs, as
# they do only where prisons restrict (pcbg_table_syn()). A UDP socket
# alone on its port gets no entry until a second comes (udp_alone.py,
# unloaded first: the same deliveries).
. tests/lib.sh

udp_alone() {
	local out rc=0
	out=$(python3 tests/lib/udp_alone.py --server $NS_S --client $NS_C "$@" 2>&1) || rc=$?
	echo "$out"
	[ $rc = 0 ] || not_ok "udp_alone.py $* ran to its end"
}
ns_setup
udp_alone --unloaded
setup_and_load "insmod soft_hash=1 verify=1" soft_hash=1 verify=1
check "a prison, for SYN answers" syn_prison $NS_S
ngroups=$(<$P/buckets)
expect_eq "net.pcbgroup.verify in the namespace" 1 \
	"$(ip netns exec $NS_S sysctl -n net.pcbgroup.verify)"

server_start $NS_S --addr 192.0.2.1 --addr 2001:db8::1 --tcp 7000 --udp 7001
pid_specific=$SERVER_PID
server_start $NS_S --addr 0.0.0.0 --addr :: --tcp 7100 --udp 7101
pid_wild=$SERVER_PID

client() {
	local name=$1 out
	shift
	out=$(ip netns exec $NS_C $TRAFFIC "$@" 2>&1)
	if echo "$out" | grep -q 'lost=0 misdelivered=0$'; then
		ok "$name: $out"
	else
		not_ok "$name: $out"
	fi
}
client "1000 concurrent TCP connections, IPv4, specific listener" \
	tcp-client --addr 192.0.2.1 --port 7000 --conns 1000 --rounds 2 --size 512
client "200 TCP connections, IPv6, specific listener" \
	tcp-client --addr 2001:db8::1 --port 7000 --conns 200 --rounds 2
client "200 TCP connections, IPv4, wildcard listener" \
	tcp-client --addr 192.0.2.1 --port 7100 --conns 200 --rounds 2
client "200 TCP connections, IPv6, wildcard listener" \
	tcp-client --addr 2001:db8::1 --port 7100 --conns 200 --rounds 2
client "UDP unconnected, IPv4, specific" \
	udp-client --addr 192.0.2.1 --port 7001 --socks 50 --rounds 4
client "UDP connected, IPv4, wildcard" \
	udp-client --addr 192.0.2.1 --port 7101 --socks 50 --rounds 4 --connected
client "UDP unconnected, IPv6, wildcard" \
	udp-client --addr 2001:db8::1 --port 7101 --socks 50 --rounds 4
client "UDP connected, IPv6, specific" \
	udp-client --addr 2001:db8::1 --port 7001 --socks 50 --rounds 4 --connected

udp_alone

ip netns exec $NS_S cat /proc/net/pcbgroup/stats /proc/net/pcbgroup/groups |
	sed 's/^/# /'
expect_eq "verify mode: 0 mismatches" 0 "$(stat $NS_S mismatch)"
check "verify mode compared answers" test "$(stat $NS_S verified)" -gt 1000
check "exact hits" test "$(stat $NS_S hit_exact)" -gt 1000
check "wildcard hits" test "$(stat $NS_S hit_wildcard)" -gt 0
expect_eq "no insert failure" 0 "$(stat $NS_S insert_fail)"
groups_hit=$(ip netns exec $NS_S awk 'NR > 1 && $1 != "wild" && $4 > 0' /proc/net/pcbgroup/groups | wc -l)
expect_eq "steered hits in each of the $ngroups groups" "$ngroups" "$groups_hit"

# Loopback has no hash: the reservation table serves it.
before_fb=$(stat $NS_S fallback)
before_lk=$(stat $NS_S lookups)
server_start $NS_S --addr 127.0.0.1 --tcp 7200 --udp 7201

out=$(ip netns exec $NS_S $TRAFFIC tcp-client --addr 127.0.0.1 --port 7200 --conns 20 --rounds 2)
expect_eq "TCP over loopback intact" "sent=40 ok=40 lost=0 misdelivered=0" "$out"
server_stop
check "loopback traffic counted as fallback" test "$(stat $NS_S fallback)" -gt "$before_fb"
expect_eq "loopback traffic not looked up in the groups" "$before_lk" "$(stat $NS_S lookups)"

# net.pcbgroup.loopback sends it through the groups.
check "sysctl net.pcbgroup.loopback=1" ip netns exec $NS_S sysctl -qw net.pcbgroup.loopback=1
server_start $NS_S --addr 127.0.0.1 --tcp 7300 --udp 7301
out=$(ip netns exec $NS_S $TRAFFIC tcp-client --addr 127.0.0.1 --port 7300 --conns 20 --rounds 2)
expect_eq "TCP over loopback through the groups intact" "sent=40 ok=40 lost=0 misdelivered=0" "$out"
server_stop
check "loopback=1: looked up in the groups" test "$(stat $NS_S lookups)" -gt "$before_lk"
expect_eq "loopback=1: 0 mismatches" 0 "$(stat $NS_S mismatch)"

kill $pid_specific $pid_wild
wait 2>/dev/null
nap 1
expect_eq "closed connections left the groups (tcp)" 0 "$(stat $NS_S tcp_exact)"
check "the prison goes" syn_prison_end $NS_S
ns_teardown
check "rmmod" rmmod pcbgroup
exit $T_FAILED
