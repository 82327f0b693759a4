#!/bin/bash
# Listeners without a port: listen() without bind() enters LISTEN before
# the kernel picks its port. 2000 such listeners held by an unprivileged
# user must each get their place with their port (none left on the
# unbound list, which no lookup walks), and an unrelated listener keeps
# being answered by the groups. The groups answer SYNs where prisons
# restrict the namespace (pcbg_table_syn()): one prison here, its own
# address; without it, SYNs are left to the kernel's listener lookup.
. tests/lib.sh

setup_and_load "insmod"
soft_hash_set 1
server_start $NS_S --addr 192.0.2.1 --tcp 7000 --udp 7001
rm -f /tmp/pl.ready /tmp/pl.stop
# ulimit as root, then the listeners as nobody (its hard limit is raised).
ip netns exec $NS_S bash -c 'ulimit -n 4096; exec setpriv --reuid 65534 \
	--regid 65534 --clear-groups python3 tests/lib/portless.py \
	--count 2000 --ready /tmp/pl.ready --stop /tmp/pl.stop' &
pid=$!
wait_file /tmp/pl.ready 30
check "2000 port-less listeners made by nobody" test -f /tmp/pl.ready
portless() {
	ip netns exec $NS_S awk '$7 == "wildcard" && $9 == "-"' /proc/net/pcbgroup/sockets | wc -l
}
for ((try = 1; try <= 50; try++)); do [ "$(portless)" = 0 ] && break; nap 0.1; done
listeners=$(ip netns exec $NS_S awk '$3 == "tcp" && $7 == "wildcard"' /proc/net/pcbgroup/sockets | wc -l)
expect_eq "each listener placed with its port (none left without)" 0 "$(portless)"
check "all 2001 listeners are members ($listeners)" test "$listeners" -eq 2001
before=$(stat $NS_S hit_wildcard)
check "connections to an unrelated listener, no prison" ip netns exec $NS_C $TRAFFIC tcp-client \
	--addr 192.0.2.1 --conns 4 --rounds 10
after=$(stat $NS_S hit_wildcard)
expect_eq "without prisons the kernel answers the SYNs" "$before" "$after"
check "a prison in the namespace" syn_prison $NS_S
before=$(stat $NS_S hit_wildcard)
check "connections to an unrelated listener" ip netns exec $NS_C $TRAFFIC tcp-client \
	--addr 192.0.2.1 --conns 4 --rounds 50
after=$(stat $NS_S hit_wildcard)
check "the groups answered their SYNs (hit_wildcard $before -> $after)" test "$after" -gt "$before"
check "the prison goes" syn_prison_end $NS_S
touch /tmp/pl.stop
wait $pid
server_stop
ns_teardown
unload
exit $T_FAILED
