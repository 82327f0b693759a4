#!/bin/bash
# Hashed raw-IP demux keeps raw delivery exact: with ~70 raw sockets in one
# namespace (GRE connected with and without a bound address, two sharing a
# key, wildcard, bound to a secondary address or a device; ICMP and ICMPv6
# type filters; IGMP with and without IP_MULTICAST_ALL; IP_HDRINCL;
# IPV6_CHECKSUM; IPv6 multicast joined or not; sockets connecting,
# reconnecting, disconnecting, appearing and closing between phases) and
# a mix of GRE, ICMP, IGMP, ICMPv6 and experimental-protocol packets from 32
# IPv4 and 8 IPv6 sources (tests/lib/raw_diff.py), every socket reads the
# same number of packets with the module unloaded (the kernel's own
# raw_local_deliver()/raw6_local_deliver()), loaded after the sockets
# were made, loaded before, and while net.pcbgroup.raw_demux flips between
# 0 and 1 under the traffic; the sender gets the same protocol
# unreachables; the hash delivered packets (raw_indexed > 0) and verify
# mode found 0 mismatches with the kernel's walk.
#
# Then the churn (tests/lib/raw_churn.py): up to 400 GRE sockets made,
# bound, connected, disconnected and closed by two threads under a flood
# from 32 peers (50 packets a second), for RAW_CHURN_ROUNDS rounds (default 3; 0: no churn),
# each the hash switched off and on and the module reloaded; after it,
# every socket left reads exactly its packets.
. tests/lib.sh

unload
python3 -u tests/lib/raw_diff.py --ko "$KO" --params "verify=1" \
	${RAW_MODES:+--modes "$RAW_MODES"} || T_FAILED=1

rounds=${RAW_CHURN_ROUNDS:-3}
[ "$rounds" -gt 0 ] || exit $T_FAILED
setup_and_load "insmod (churn)"
ip netns exec $NS_S sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.veth0.rp_filter=0
rm -f /tmp/raw_churn.stop
# Bounded by the rounds asked for, 300 s each and 300 s more. The flood
# is paced (50 packets a second, raw_churn.py --rate): unpaced it kept
# the debug guest's vCPUs in softirq, and a round took 1-4 minutes of
# stretched RCU grace periods in its reload (15-19 s paced).
python3 -u tests/lib/raw_churn.py --ns $NS_S --peer-ns $NS_C \
	--until /tmp/raw_churn.stop --seconds $((rounds * 300 + 300)) &
churn=$!
nap 2	# the churn and the flood under way
# Each round under the churn: the hash switched off, on, and the module
# reloaded.
for ((n = 1; n <= rounds; n++)); do
	for v in 0 1; do
		ip netns exec $NS_S sysctl -qw net.pcbgroup.raw_demux=$v
		nap 0.7
	done
	if ! { rmmod pcbgroup && insmod "$KO"; }; then
		not_ok "reload $n under the churn"
		loaded || insmod "$KO"
	fi
done
touch /tmp/raw_churn.stop
ip netns exec $NS_S sysctl -qw net.pcbgroup.raw_demux=1
wait $churn || T_FAILED=1
echo "# churn: $rounds rounds of switches and a reload; $(ip netns exec $NS_S cat /proc/net/pcbgroup/stats | grep '^raw_' | tr '\n' ' ')"
ns_teardown
check "rmmod after the churn" rmmod pcbgroup
exit $T_FAILED
