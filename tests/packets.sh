#!/bin/bash
# Malformed and odd packets through the hooks (tests/lib/packets.py):
# truncated and inconsistent IPv4/IPv6/TCP/UDP headers, options, extension
# headers, fragments, zero ports, v4-mapped addresses, broadcast and
# multicast, segments into a live connection. Sent with the module
# unloaded, then loaded before and after the namespaces were made: no
# crash (KASAN on the debug kernel), and the stack's outcome, what each
# socket received and the SNMP counters that moved, is the same.
. tests/lib.sh

PKT="python3 tests/lib/packets.py"
unload
# run MODE: one pass; leaves /tmp/pk.MODE.{socks,snmp,send}.
run() {
	local mode=$1 mac cmac srv
	rm -f /tmp/pk.ready
	case $mode in
	off) ns_setup ;;
	before) ns_setup && insmod "$KO" soft_hash=1 verify=1 ;;
	after) insmod "$KO" soft_hash=1 verify=1 && ns_setup ;;
	esac
	# No neighbour discovery or DAD traffic of its own during the pass.
	mac=$(ip -n $NS_S -br link show veth0 | awk '{print $3}')
	cmac=$(ip -n $NS_C -br link show veth1 | awk '{print $3}')
	ip -n $NS_C neigh replace 192.0.2.1 lladdr "$mac" dev veth1
	ip -n $NS_C neigh replace 2001:db8::1 lladdr "$mac" dev veth1
	ip -n $NS_S neigh replace 192.0.2.2 lladdr "$cmac" dev veth0
	ip -n $NS_S neigh replace 2001:db8::2 lladdr "$cmac" dev veth0
	ip netns exec $NS_S $PKT serve --out /tmp/pk.$mode.socks --ready /tmp/pk.ready &
	srv=$!
	wait_file /tmp/pk.ready
	# The counters are read around the frames alone (packets.py's
	# --sync handshake): the live connection is up and its echo back,
	# its delayed ACKs have gone. One CPU sends all, so the client's
	# segments and the frames go through one backlog, in order.
	rm -rf /tmp/pk.sync && mkdir /tmp/pk.sync
	ip netns exec $NS_C taskset -c 0 $PKT send --iface veth1 --mac "$mac" \
		--sync /tmp/pk.sync >/tmp/pk.$mode.send 2>&1 &
	snd=$!
	wait_file /tmp/pk.sync/established 30
	nap 0.5
	ip netns exec $NS_S cat /proc/net/snmp /proc/net/netstat /proc/net/snmp6 >/tmp/pk.$mode.snmp0
	touch /tmp/pk.sync/go
	wait_file /tmp/pk.sync/sent 60
	ip netns exec $NS_S cat /proc/net/snmp /proc/net/netstat /proc/net/snmp6 >/tmp/pk.$mode.snmp1
	touch /tmp/pk.sync/go2
	wait $snd
	if loaded; then
		LOOKUPS=$(stat $NS_S lookups) MISMATCH=$(stat $NS_S mismatch)
	fi
	kill $srv
	wait $srv
	$PKT delta /tmp/pk.$mode.snmp0 /tmp/pk.$mode.snmp1 >/tmp/pk.$mode.delta
	ns_teardown
	unload
}

for mode in off before after; do
	run $mode
	check "$mode: the live connection survived the frames ($(</tmp/pk.$mode.send))" \
		grep -q 'connection=intact' /tmp/pk.$mode.send
	if [ $mode != off ]; then
		check "$mode: the hook looked packets up ($LOOKUPS)" test "${LOOKUPS:-0}" -gt 0
		expect_eq "$mode: 0 mismatches" 0 "$MISMATCH"
		if cmp -s /tmp/pk.off.socks /tmp/pk.$mode.socks; then
			ok "$mode: every socket received what it did unloaded: $(</tmp/pk.$mode.socks)"
		else
			not_ok "$mode: sockets received $(</tmp/pk.$mode.socks), unloaded $(</tmp/pk.off.socks)"
		fi
		if diff /tmp/pk.off.delta /tmp/pk.$mode.delta >/tmp/pk.diff; then
			ok "$mode: the same $(wc -l </tmp/pk.off.delta) SNMP counters moved by the same amounts"
		else
			not_ok "$mode: SNMP counters differ from unloaded: $(grep '^[<>]' /tmp/pk.diff | tr '\n' ' ')"
		fi
	fi
done
echo "# unloaded: $(</tmp/pk.off.socks)"
echo "# counters: $(tr '\n' ' ' </tmp/pk.off.delta)"
exit $T_FAILED
