#!/bin/bash
# Network namespaces as vnets: isolation of two namespaces with identical
# addresses and ports, per-namespace tunables, load and unload with 20
# live namespaces under traffic, and namespace churn with the leak checks.
. tests/lib.sh

churn=${NETNS_CHURN:-50}
cleanup() {
	ip -all netns del 2>/dev/null
	true
}
cleanup

# Two identical pairs:  [iso1-s]<->[iso1-c]   [iso2-s]<->[iso2-c]
pair_setup iso1-s iso1-c && pair_setup iso2-s iso2-c
check "insmod soft_hash=1 verify=1" insmod "$KO" soft_hash=1 verify=1
spids=()
for n in 1 2; do
	ip netns exec iso$n-s $TRAFFIC server --addr 192.0.2.1 --tcp 7000 \
		--udp 7001 --stats /tmp/iso$n.stats --lifetime 300 &
	spids+=($!)
done
nap 2
ip netns exec iso1-c $TRAFFIC tcp-client --addr 192.0.2.1 --conns 30 --rounds 3 >/tmp/iso1.out &
c1=$!
ip netns exec iso2-c $TRAFFIC tcp-client --addr 192.0.2.1 --conns 70 --rounds 3 >/tmp/iso2.out &
c2=$!
wait $c1
r1=$?
wait $c2
r2=$?
check "same 4-tuples in two namespaces at once: traffic intact" test $r1 -eq 0 -a $r2 -eq 0
kill "${spids[@]}"
wait "${spids[@]}"
expect_eq "namespace 1 server accepted only its 30 clients" 30 \
	"$(sed 's/accepted=\([0-9]*\).*/\1/' /tmp/iso1.stats)"
expect_eq "namespace 2 server accepted only its 70 clients" 70 \
	"$(sed 's/accepted=\([0-9]*\).*/\1/' /tmp/iso2.stats)"
for n in iso1-s iso2-s; do
	expect_eq "$n: 0 mismatches" 0 "$(stat $n mismatch)"
done
h1=$(stat iso1-s hit_exact)
h2=$(stat iso2-s hit_exact)
check "each namespace counts its own hits ($h1 < $h2)" test "$h1" -gt 0 -a "$h1" -lt "$h2"
check "a namespace's sysctl is its own" ip netns exec iso1-s sysctl -qw net.pcbgroup.verify=0
expect_eq "other namespace unchanged" 1 "$(ip netns exec iso2-s sysctl -n net.pcbgroup.verify)"
expect_eq "init namespace unchanged" 1 "$(sysctl -n net.pcbgroup.verify)"
check "rmmod" rmmod pcbgroup
cleanup

# Load and unload with $live live namespaces, each holding a listener and
# a connection made before the module was loaded, while traffic runs.
live=20
names=()
for ((i = 1; i <= live; i++)); do
	ip netns add live$i && ip -n live$i link set lo up && names+=(--ns "live$i")
done
rm -f /tmp/hold.ready
python3 tests/lib/netns.py hold "${names[@]}" --ready /tmp/hold.ready >/tmp/hold.out &
holder=$!
wait_file /tmp/hold.ready 30
ns_setup
server_start $NS_S --addr 192.0.2.1 --tcp 7000 --udp 7001
rm -f /tmp/stop
ip netns exec $NS_C $TRAFFIC tcp-client --addr 192.0.2.1 --conns 20 --rounds 100000 \
	--timeout 300 --until /tmp/stop >/tmp/live.out &
client=$!
nap 1
before=$(cat /sys/module/pcbgroup/parameters/instances 2>/dev/null || echo 0)
check "insmod with $live live namespaces under traffic" insmod "$KO" soft_hash=1 verify=1
inst=$(<$P/instances)
check "an instance in every namespace ($inst)" test "$inst" -ge $((live + 3))
picked=0
for ((i = 1; i <= live; i++)); do
	[ "$(stat live$i tcp_exact)" = 2 ] && [ "$(stat live$i tcp_wildcard)" = 1 ] &&
		picked=$((picked + 1))
done
expect_eq "existing sockets picked up at load in all $live namespaces" $live $picked
nap 2
check "rmmod with $live live namespaces under traffic" rmmod pcbgroup
touch /tmp/stop
wait $client
expect_eq "traffic across load and unload" 0 $?
kill $holder
wait $holder
expect_eq "held connections intact" "held=$live intact=$live" "$(</tmp/hold.out)"
server_stop
cleanup

# Churn: namespaces created and destroyed while traffic runs in another.
ns_setup
server_start $NS_S --addr 192.0.2.1 --tcp 7000 --udp 7001
run_churn() {
	rm -f /tmp/stop
	ip netns exec $NS_C $TRAFFIC tcp-client --addr 192.0.2.1 --conns 10 \
		--rounds 100000 --timeout 900 --until /tmp/stop >/tmp/churn-traffic.out &
	local t=$!
	python3 tests/lib/netns.py churn --count "$churn"
	touch /tmp/stop
	wait $t || echo "traffic: $(</tmp/churn-traffic.out)"
}
native=$(run_churn)
check "churn without the module: $native" sh -c "echo '$native' | grep -q 'failed=0$'"
check "insmod" insmod "$KO" soft_hash=1 verify=1
base_inst=$(<$P/instances)
base_entries=$(<$P/entries)
with=$(run_churn)
check "churn with the module: $with" sh -c "echo '$with' | grep -q 'failed=0$'"
# Namespaces are destroyed asynchronously: wait for them to go.
for ((try = 1; try <= 600; try++)); do
	[ "$(<$P/instances)" = "$base_inst" ] && [ "$(<$P/entries)" = "$base_entries" ] && break
	nap 0.5
done
expect_eq "instances back to baseline after churn" "$base_inst" "$(<$P/instances)"
expect_eq "group entries back to baseline after churn" "$base_entries" "$(<$P/entries)"
expect_eq "0 mismatches during churn" 0 "$(stat $NS_S mismatch)"
r_native=$(echo "$native" | sed -n 's/.*rate=\([0-9.]*\).*/\1/p')
r_with=$(echo "$with" | sed -n 's/.*rate=\([0-9.]*\).*/\1/p')
echo "# churn: $churn namespaces; native $r_native/s, with pcbgroup $r_with/s, ratio $(echo "scale=3; $r_with / $r_native" | bc)"
echo "churn $churn native $r_native with $r_with" >"${PCBG_OUT:-/tmp}/churn-${PCBG_KERNEL}.txt"
server_stop
ns_teardown
check "rmmod" rmmod pcbgroup
exit $T_FAILED
