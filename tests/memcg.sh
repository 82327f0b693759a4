#!/bin/bash
# Memory limits: a namespace's pcbgroup tables are charged to the memory
# cgroup of the task that creates it, as the kernel's own per-namespace
# memory is. First the charge per namespace is measured with the module
# unloaded and loaded (the difference is the module's share: it must be
# there, or an unprivileged user could spend the host's memory beyond its
# limit); then an unprivileged user namespace inside a 64 MiB cgroup makes
# network namespaces until the limit stops it, and the host is fine.
. tests/lib.sh

CG=/sys/fs/cgroup
HOLD="python3 tests/lib/netns.py"
unload
grep -qw memory $CG/cgroup.controllers || { not_ok "no memory controller"; exit 1; }
echo +memory >$CG/cgroup.subtree_control

# per_ns N SOCKS: KiB charged per namespace, N namespaces held by one
# task, each with SOCKS unconnected UDP sockets open, two to a port.
per_ns() {
	local g=$CG/pcbg-measure n=$1 c0 c1
	rmdir $g 2>/dev/null
	mkdir $g
	rm -f /tmp/mc.ready
	(echo $BASHPID >$g/cgroup.procs && exec $HOLD make --count $n \
		--socks $2 --ready /tmp/mc.ready --hold /tmp/mc.stop >/dev/null) &
	local pid=$!
	wait_file /tmp/mc.ready 30
	nap 1		# the tables' growth (a work item) is charged too
	c1=$(<$g/memory.current)
	c0=$(sed -n 's/^base=//p' /tmp/mc.ready)
	touch /tmp/mc.stop
	wait $pid
	rm -f /tmp/mc.stop
	rmdir $g
	echo $(( (c1 - c0) / n / 1024 ))
}
idle0=$(per_ns 40 0)
busy0=$(per_ns 10 1000)
insmod "$KO"
idle1=$(per_ns 40 0)
busy1=$(per_ns 10 1000)
echo "# charged per namespace: idle ${idle0} KiB unloaded, ${idle1} KiB loaded; with 1000 UDP sockets ${busy0} KiB unloaded, ${busy1} KiB loaded"
# Idle, the module's tables are a few KiB (they start at their minimum
# sizes); with 1000 sockets they hold 1000 entries of 112 bytes and have
# grown: at least that must be charged to the namespace creator, or an
# unprivileged user could spend the host's memory beyond its limit.
check "an idle namespace's tables are small ($idle1 - $idle0 KiB < 64)" \
	test $((idle1 - idle0)) -lt 64
check "the module's tables are charged to the namespace creator ($busy1 - $busy0 KiB >= 100)" \
	test $((busy1 - busy0)) -ge 100

# An unprivileged user in a 64 MiB cgroup makes namespaces until it can't.
check "the measurement's namespaces are gone" instances_settle 1 60
g=$CG/pcbg-limit
rmdir $g 2>/dev/null
mkdir $g
echo 64M >$g/memory.max
echo "pcbgroup-test: oom expected" >/dev/kmsg
(echo $BASHPID >$g/cgroup.procs &&
	exec setpriv --reuid 65534 --regid 65534 --clear-groups \
		$HOLD make --count 5000 --userns --until-fail) >/tmp/mc.out 2>&1
echo "pcbgroup-test: oom end" >/dev/kmsg
made=$(grep -o 'made=[0-9]*' /tmp/mc.out | tail -1 | cut -d= -f2)
peak=$(cat $g/memory.peak 2>/dev/null || cat $g/memory.current)
events=$(tr '\n' ' ' <$g/memory.events)
echo "# limited user: $(tail -1 /tmp/mc.out); peak $((peak >> 10)) KiB; memory.events: $events"
check "the limit stopped the user's namespaces (${made:-0} made, of 5000 tried)" \
	test "${made:-0}" -gt 0 -a "${made:-5000}" -lt 5000
check "the cgroup stayed within its limit" test "$(<$g/memory.current)" -le $((64 << 20))
check "the user's namespaces are all gone" instances_settle 1 60
rmdir $g
# The host is fine: a namespace pair outside the cgroup carries traffic.
ns_setup
server_start $NS_S --addr 192.0.2.1 --tcp 7000 --udp 7001
check "the host still makes namespaces and delivers" \
	ip netns exec $NS_C $TRAFFIC tcp-client --addr 192.0.2.1 --conns 5 --rounds 3
server_stop
ns_teardown
check "rmmod" rmmod pcbgroup
exit $T_FAILED
