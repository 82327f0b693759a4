#!/bin/bash
# Fault injection (debug kernel): every allocation of the module's load
# path and of a namespace's creation is failed in turn (the module's own
# fault attribute, /sys/kernel/debug/pcbgroup/fail, and its "fail"
# parameter for the load); socket inserts and a key change fail at random
# under traffic; then failslab and fail_page_alloc fail the kernel's own
# allocations around insmod and namespace creation. Each must fail cleanly
# or recover: the stack keeps delivering, the module's counters return to
# zero, and kmemleak stays quiet (scripts/vm).
. tests/lib.sh

D=/sys/kernel/debug/pcbgroup/fail
unload
ip -all netns del 2>/dev/null

# --- Load: fail the module's allocation number k = 1, 2, ... (space=k:
# every site counts one) until a load no longer reaches it. A failed load
# must leave nothing behind: no module, no debugfs directory (whose files
# would point into the freed module).
sites=0 failed_loads=0 bad=
for ((k = 1; k <= 200; k++)); do
	if insmod "$KO" fail=1,100,$k,1 2>/dev/null; then
		times=$(cut -d, -f4 $P/fail)
		inst=$(<$P/instances)
		[ "$inst" = 1 ] || bad="$bad k=$k:instances=$inst"
		rmmod pcbgroup || bad="$bad k=$k:rmmod"
		[ "$times" = 1 ] && break	# nothing left to fail
		bad="$bad k=$k:loaded-despite-failure"
	else
		loaded && bad="$bad k=$k:half-loaded"
		[ -e /sys/kernel/debug/pcbgroup ] && bad="$bad k=$k:debugfs-left"
		failed_loads=$((failed_loads + 1))
	fi
	sites=$((sites + 1))
done
check "load: each of its $sites allocations failed in turn fails insmod cleanly${bad:+:$bad}" \
	test -z "$bad" -a "$sites" -gt 10 -a "$failed_loads" = "$sites"
lap "load sweep"

# --- Namespace creation, with the module loaded.
check "insmod" insmod "$KO" soft_hash=1 verify=1
echo 0 >$D/verbose
echo 1 >$D/interval
echo 100 >$D/probability
sites=0 bad=
for ((k = 1; k <= 100; k++)); do
	echo $k >$D/space
	echo 1 >$D/times
	if ip netns add pcbg-fault 2>/dev/null; then
		used=$(( $(<$D/times) == 0 ))
		[ "$(<$P/instances)" = 2 ] || bad="$bad k=$k:instances"
		ip netns del pcbg-fault
		instances_settle 1 || bad="$bad k=$k:teardown"
		[ $used = 0 ] && break
		bad="$bad k=$k:created-despite-failure"
	else
		ip netns del pcbg-fault 2>/dev/null
		[ "$(<$P/instances)" = 1 ] || bad="$bad k=$k:instances-after-failure"
	fi
	sites=$((sites + 1))
done
echo 0 >$D/times
check "netns creation: each of its $sites allocations failed in turn fails it cleanly${bad:+:$bad}" \
	test -z "$bad" -a "$sites" -gt 5
lap "namespace sweep"

# --- Socket inserts fail at random under traffic: messages still arrive
# (the stack answers what the groups miss), wildcard answers stop until
# the resync walk has placed every socket, then resume (SYNs: answered
# where a prison restricts the namespace).
ns_setup
check "a prison, for SYN answers" syn_prison $NS_S
server_start $NS_S --addr 192.0.2.1 --addr 2001:db8::1 --tcp 7000 --udp 7001
rm -f /tmp/stop
ip netns exec $NS_C $TRAFFIC tcp-client --addr 192.0.2.1 --conns 10 \
	--rounds 1000000 --size 64 --timeout 300 --until /tmp/stop >/tmp/f.tcp.out 2>&1 &
c1=$!
ip netns exec $NS_C $TRAFFIC churn --addr 192.0.2.1 --addr 2001:db8::1 \
	--until /tmp/stop >/tmp/f.churn.out 2>&1 &
c2=$!
nap 2
echo 30 >$D/probability
echo 1 >$D/space
echo -1 >$D/times
# Until inserts have failed on the server's side (the churn's accepted
# sockets), however slowly the guest runs; then a while longer.
stat_above $NS_S insert_fail 4 120
nap 1
echo 0 >$D/times
echo 0 >$D/probability
fails=$(( $(stat $NS_S insert_fail) + $(stat $NS_C insert_fail) ))
check "socket inserts failed under traffic ($fails)" test "$fails" -gt 0
check "resync walks ran" stat_above $NS_S resync 0 60
w0=$(stat $NS_S hit_wildcard)
check "wildcard answers resumed after the resync (from $w0)" \
	stat_above $NS_S hit_wildcard "$w0" 60
lap "inserts failing under traffic"

# --- A key change: its own allocation fails (refused, nothing changed),
# then every move of a connected socket fails (they stay where they were,
# missed, until the resync moves them). Only the writing task's
# allocations fail (task-filter): the traffic's go on. The new key is
# one that moves at least half of 16 connected sockets held for the
# purpose (a key drawn blindly could move none of the few the traffic
# holds, and the check would fail by chance).
key0=$(<$P/key)
rm -f /tmp/rk.ready /tmp/rk.stop
ip netns exec $NS_S python3 tests/lib/rekey.py --key "$key0" --bits "$(<$P/bits)" \
	--local 192.0.2.1 --remote 192.0.2.2 --ready /tmp/rk.ready --stop /tmp/rk.stop &
rk=$!
wait_file /tmp/rk.ready 30
read -r newkey moves </tmp/rk.ready
lap "key change: 16 sockets held, a key found"
echo Y >$D/task-filter
echo 100 >$D/probability
echo 1 >$D/space
echo 1 >$D/times
err=$(bash -c 'echo 1 >/proc/self/make-it-fail && echo "$1" >"$2"' _ "$newkey" $P/key 2>&1)
check "key change refused when its allocation fails ($err)" \
	test -n "$err" -a "$(<$P/key)" = "$key0"
echo 2 >$D/space
echo -1 >$D/times
before=$(stat $NS_S insert_fail)
check "key change accepted when only the socket moves fail" \
	bash -c 'echo 1 >/proc/self/make-it-fail && echo "$1" >"$2"' _ "$newkey" $P/key
echo 0 >$D/times
echo 0 >$D/probability
echo N >$D/task-filter
check "the key changed" test "$(<$P/key)" != "$key0"
after=$(stat $NS_S insert_fail)
check "the moves failed: at least the $moves known to move ($before -> $after)" \
	test "$((after - before))" -ge "${moves:-1}" -a "${moves:-0}" -ge 8
touch /tmp/rk.stop
wait $rk
lap "key change: written twice"
nap 1
h0=$(stat $NS_S hit_exact)
check "exact answers resumed after the resync (from $h0)" \
	stat_above $NS_S hit_exact "$h0" 60
lap "key change: exact answers back"
touch /tmp/stop
wait $c1 $c2
for f in tcp churn; do
	out=$(</tmp/f.$f.out)
	if echo "$out" | grep -q 'lost=0 misdelivered=0$'; then
		ok "$f traffic intact through the failures: $out"
	else
		not_ok "$f traffic through the failures: $out"
	fi
done
expect_eq "0 mismatches" 0 $(( $(stat $NS_S mismatch) + $(stat $NS_C mismatch) ))
check "the prison goes" syn_prison_end $NS_S
server_stop
ns_teardown
check "namespaces torn down" instances_settle 1
expect_eq "no entry left (socket references all dropped)" 0 "$(<$P/entries)"
check "rmmod" rmmod pcbgroup
lap "key change"

# --- The kernel's own fault injection, failslab and fail_page_alloc: one
# allocation at a random point of a namespace's creation fails
# (task-filter: that task's alone). The tasks run from tmpfs, so that no
# failure lands in the 9p client that serves the guest's root. (The load
# path is swept with the module's own attribute above: under failslab,
# insmod also fails the kernel's allocations around the module, and
# 6.1's kmem_cache_create() error path leaks its sysfs name.)
cp /bin/busybox /tmp/
BB=/tmp/busybox
for f in failslab fail_page_alloc; do
	k=/sys/kernel/debug/$f
	echo Y >$k/task-filter
	echo N >$k/ignore-gfp-wait
	echo 0 >$k/verbose
	echo 1 >$k/interval
	echo 100 >$k/probability
	echo 0 >$k/times
done
echo N >/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem
# inject FAULT SPACE CMD...: CMD fails its allocation after SPACE bytes.
inject() {
	local k=/sys/kernel/debug/$1
	echo "$2" >$k/space
	echo 1 >$k/times
	shift 2
	$BB sh -c 'echo 1 >/proc/self/make-it-fail && exec "$@"' inject "$@"
}
# hit FAULT: whether the last injection fired.
hit() { [ "$(</sys/kernel/debug/$1/times)" = 0 ]; }
check "insmod" insmod "$KO"
made=0 refused=0 fired=0
echo "pcbgroup-test: faults expected" >/dev/kmsg
for ((i = 1; i <= 12; i++)); do
	f=failslab space=$((RANDOM * 8))
	[ $((i % 2)) = 0 ] && f=fail_page_alloc space=$((RANDOM * 32))
	if inject $f $space $BB unshare -n $BB true 2>/dev/null; then
		made=$((made + 1))
	else
		refused=$((refused + 1))
	fi
	hit $f && fired=$((fired + 1))
done
for f in failslab fail_page_alloc; do echo 0 >/sys/kernel/debug/$f/times; done
echo "pcbgroup-test: faults end" >/dev/kmsg
check "namespaces with one kernel allocation failed: $fired injected, $made made, $refused refused; all torn down" \
	instances_settle 1
# The stack and the module still work afterwards.
ns_setup
server_start $NS_S --addr 192.0.2.1 --tcp 7000 --udp 7001
check "traffic after the faults" ip netns exec $NS_C $TRAFFIC tcp-client \
	--addr 192.0.2.1 --conns 5 --rounds 3
server_stop
ns_teardown
check "namespaces torn down" instances_settle 1
check "rmmod" rmmod pcbgroup
exit $T_FAILED
