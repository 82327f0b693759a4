#!/bin/bash
# Unloads racing namespace teardown (the reproducer for a NULL call seen
# once in sk_common_release() from cleanup_net while the forwarding
# differential scenario unloaded): each round loads the module, builds a
# forwarding path (client - router - server namespaces over veth, as the
# differential "forward" scenario does) holding TCP, UDP, raw and ping
# sockets, sends through it, then deletes the namespaces and at once
# unloads: cleanup_net() closes each namespace's kernel sockets (UDP and
# raw ICMPv6 ones: sk_common_release() into the probed unhash functions)
# in a worker while the module's probes, hooks and pernet exit go away.
# Every other round unloads first and deletes after. TEARDOWN_ROUNDS
# rounds (10 here, 100 in make soak); the host checks the guest's log
# (KASAN, lockdep, oops) after the run.
. scripts/tests/lib.sh

rounds=${TEARDOWN_ROUNDS:-10}
C=pcbg-td-c R=pcbg-td-r S=pcbg-td-s
td_setup() {
	ip netns add $C && ip netns add $R && ip netns add $S &&
	ip link add v0 netns $C type veth peer name v1 netns $R &&
	ip link add v2 netns $R type veth peer name v3 netns $S &&
	ip -n $C addr add 198.51.100.2/24 dev v0 &&
	ip -n $R addr add 198.51.100.1/24 dev v1 &&
	ip -n $R addr add 203.0.113.1/24 dev v2 &&
	ip -n $S addr add 203.0.113.2/24 dev v3 &&
	for l in "$C v0" "$R v1" "$R v2" "$S v3" "$C lo" "$R lo" "$S lo"; do
		set -- $l
		ip -n "$1" link set "$2" up || return 1
	done &&
	ip -n $C route add default via 198.51.100.1 &&
	ip -n $S route add default via 203.0.113.1 &&
	ip netns exec $R sysctl -qw net.ipv4.ip_forward=1
}
# Sockets of every kind the module follows, held in the server namespace
# and the router (raw GRE, ICMP raw, ping, UDP connected and not).
hold() {
	ip netns exec "$1" python3 -c '
import socket, time
ss = [socket.socket(socket.AF_INET, socket.SOCK_RAW, 47),
      socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),
      socket.socket(socket.AF_INET6, socket.SOCK_RAW, 47),
      socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.connect(("198.51.100.2", 9))
ss[0].connect(("198.51.100.2", 0))
ss.append(u)
time.sleep(600)' &
}

done_rounds=0 sent=0 why=
for i in $(seq "$rounds"); do
	insmod "$KO" soft_hash=1 verify=1 || { why="insmod $i"; break; }
	td_setup || { why="setup $i"; break; }
	ip netns exec $S sysctl -qw net.ipv4.ping_group_range="0 2147483647"
	ip netns exec $R sysctl -qw net.ipv4.ping_group_range="0 2147483647"
	hold $S
	h1=$!
	hold $R
	h2=$!
	rm -f /tmp/server.ready
	ip netns exec $S $TRAFFIC server --ready /tmp/server.ready --addr 203.0.113.2 &
	sp=$!
	for _ in $(seq 100); do [ -f /tmp/server.ready ] && break; sleep 0.1; done
	out=$(ip netns exec $C $TRAFFIC tcp-client --addr 203.0.113.2 --conns 2 --rounds 3 \
		--timeout 30 | tail -1)
	echo "$out" | grep -q 'lost=0 misdelivered=0$' || { why="traffic $i: $out"; }
	sent=$((sent + $(echo "$out" | sed -n 's/.*sent=\([0-9]*\).*/\1/p')))
	kill $h1 $h2 $sp 2>/dev/null
	wait $h1 $h2 $sp 2>/dev/null
	if [ $((i % 2)) = 1 ]; then
		ip netns del $C; ip netns del $R; ip netns del $S
		rmmod pcbgroup || { why="rmmod $i"; break; }
	else
		rmmod pcbgroup || { why="rmmod $i"; break; }
		ip netns del $C; ip netns del $R; ip netns del $S
	fi
	[ -n "$why" ] && break
	done_rounds=$((done_rounds + 1))
done
for ns in $C $R $S; do ip netns del $ns 2>/dev/null; done
expect_eq "$rounds unloads racing namespace teardown, each after forwarded traffic ($sent messages)${why:+ (failed: $why)}" \
	"$rounds" "$done_rounds"
unload
exit $T_FAILED
