#!/bin/bash
# The runtime switch and rmmod are safe under traffic: net.pcbgroup.enable
# flipped 40 times, then rmmod/insmod SWITCH_RELOADS times (default 8),
# while TCP and UDP clients run; no message may be lost or misdelivered,
# and the guest log must stay clean (checked by scripts/vm).
. tests/lib.sh

n=${SWITCH_RELOADS:-8}

rm -f /tmp/stop
setup_and_load "insmod soft_hash=1 verify=1" soft_hash=1 verify=1
server_start $NS_S --addr 192.0.2.1 --addr 2001:db8::1 --tcp 7000 --udp 7001

ip netns exec $NS_C $TRAFFIC tcp-client --addr 192.0.2.1 --conns 100 \
	--rounds 100000 --size 128 --timeout 900 --until /tmp/stop >/tmp/tcp4.out 2>&1 &
tcp4=$!
ip netns exec $NS_C $TRAFFIC tcp-client --addr 2001:db8::1 --conns 50 \
	--rounds 100000 --size 128 --timeout 900 --until /tmp/stop >/tmp/tcp6.out 2>&1 &
tcp6=$!
ip netns exec $NS_C $TRAFFIC udp-client --addr 192.0.2.1 --socks 20 \
	--rounds 100000 --connected --wait 5 --timeout 900 --until /tmp/stop >/tmp/udp4.out 2>&1 &
udp4=$!

# The flips from one shell in the namespace, 50 ms apart: a process or
# two per write (ip netns exec, sysctl, sleep) cost the TCG guest 0.9 s
# each under this traffic, the same 40 flips spread over 35 s.
# shellcheck disable=SC2016 # expanded by the shell in the namespace
flips=$(ip netns exec $NS_S bash -c '
	exec {fd}<> <(:)
	n=0
	for i in {1..40}; do
		echo $((i % 2)) >/proc/sys/net/pcbgroup/enable && n=$((n + 1))
		read -rt 0.05 -u $fd _
	done
	echo $n')
expect_eq "net.pcbgroup.enable flipped 40 times under traffic" 40 $flips
ip netns exec $NS_S sysctl -qw net.pcbgroup.enable=1

reloads=0
for ((try = 1; try <= n; try++)); do
	rmmod pcbgroup && insmod "$KO" soft_hash=1 verify=1 && reloads=$((reloads + 1))
	nap 0.2
done
expect_eq "rmmod/insmod $n times under traffic" "$n" $reloads
check "traffic ran throughout the switching" kill -0 $tcp4 $tcp6 $udp4
before=$(stat $NS_S lookups)
nap 2
check "steering resumed after the last insmod" test "$(stat $NS_S lookups)" -gt "$before"
touch /tmp/stop

for p in $tcp4 $tcp6 $udp4; do wait $p; done
for f in tcp4 tcp6 udp4; do
	out=$(</tmp/$f.out)
	if echo "$out" | grep -q 'lost=0 misdelivered=0$'; then
		ok "$f traffic intact across the switches: $out"
	else
		not_ok "$f traffic across the switches: $out"
	fi
done
expect_eq "0 mismatches after the last insmod" 0 "$(stat $NS_S mismatch)"
server_stop
ns_teardown
check "rmmod" rmmod pcbgroup
exit $T_FAILED
