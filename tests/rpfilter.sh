#!/bin/bash
# UDP early demux no broader than the kernel's: of two connected UDP
# sockets on one port, the kernel's early demux answers only the first of
# its hash2 chain and routes packets for the other, so strict rp_filter
# drops those from a source whose reverse path is another interface. The
# same scenario with the module unloaded and loaded (software hash on, so
# that the groups look every packet up); every datagram counted at both
# ends: the receivers' counts must be the same.
. tests/lib.sh

RPF="python3 tests/lib/udp_rpfilter.py"

scenario() {
	local srv
	ip -n $NS_S link add dummy0 type dummy &&
		ip -n $NS_S addr add 198.51.100.1/24 dev dummy0 &&
		ip -n $NS_S link set dummy0 up &&
		ip -n $NS_C addr add 198.51.100.9/32 dev veth1 || return 1
	for k in all veth0; do
		ip netns exec $NS_S sysctl -qw net.ipv4.conf.$k.rp_filter=0
	done
	rm -f /tmp/rpf.ready /tmp/rpf.stop
	ip netns exec $NS_S $RPF serve --ready /tmp/rpf.ready --stop /tmp/rpf.stop >/tmp/rpf.out &
	srv=$!
	wait_file /tmp/rpf.ready
	# Loose first: B receives, and caches its input route.
	ip netns exec $NS_C $RPF send --src 198.51.100.9 --sport 6000 >/dev/null
	ip netns exec $NS_C $RPF send --src 192.0.2.2 --sport 5000 >/dev/null
	nap 0.5
	# Strict: B's source has its reverse path on dummy0, not veth0.
	for k in all veth0; do
		ip netns exec $NS_S sysctl -qw net.ipv4.conf.$k.rp_filter=1
	done
	ip netns exec $NS_C $RPF send --src 198.51.100.9 --sport 6000 >/dev/null
	ip netns exec $NS_C $RPF send --src 192.0.2.2 --sport 5000 >/dev/null
	nap 0.5
	touch /tmp/rpf.stop
	wait $srv
	cat /tmp/rpf.out
}

unload
ns_setup
base=$(scenario)
ns_teardown
expect_eq "unloaded: A gets all 10, B the 5 sent before rp_filter was strict" "A=10 B=5" "$base"

setup_and_load "insmod"
soft_hash_set 1
got=$(scenario)
expect_eq "loaded: the same datagrams arrive (strict rp_filter holds for B)" "$base" "$got"
check "the groups looked the datagrams up" test "$(stat $NS_S lookups)" -gt 0
echo "# lookups $(stat $NS_S lookups), hit_exact $(stat $NS_S hit_exact)"
ns_teardown
unload
exit $T_FAILED
