#!/bin/bash
# The steering hooks are registered only in a namespace where something
# can be hashed: a device whose NIC gives the hash (NETIF_F_RXHASH; the
# guest's e1000e, on a hub with nothing else), or net.pcbgroup.soft_hash
# or loopback set. Elsewhere (loopback and veth only, as in most
# containers) the module adds no hook to the packet path: loopback TCP and
# UDP echoes arrive intact, as unloaded, and no packet is looked at
# (lookups and fallback 0). Once registered the hooks stay (steer_hooks in
# the stats says so). Checked for namespaces made before and after the
# load, for a NIC there at the load (the notifier's replay) and moved in
# later, and for its hash switched on with ethtool. The delivery hook
# comes with them only where it can answer (steer_deliver): while a
# prison restricts the namespace, or with udp_lookup=0.
. tests/lib.sh

unload
printf '%s\n' "netns add pcbg-ha" "netns add pcbg-hf" | ip -b -
ip -n pcbg-ha link set lo up

# lo_traffic NS: TCP and UDP echoes over the namespace's loopback
# (tests/lib/traffic.py: every message counted at both ends, a reply on
# the wrong socket counted as misdelivered).
lo_traffic() {
	server_start "$1" --addr 127.0.0.1 --tcp 7400 --udp 7401 >/dev/null
	{
		ip netns exec "$1" $TRAFFIC tcp-client --addr 127.0.0.1 --port 7400 \
			--conns 5 --rounds 10
		ip netns exec "$1" $TRAFFIC udp-client --addr 127.0.0.1 --port 7401 \
			--socks 5 --rounds 10
	} | paste -sd';'
	server_stop
}
WANT="sent=50 ok=50 lost=0 misdelivered=0;sent=50 ok=50 lost=0 misdelivered=0"

# hooks NS: the namespace's steer_hooks gauge.
hooks() { stat "$1" steer_hooks; }

expect_eq "unloaded: loopback TCP and UDP intact" "$WANT" "$(lo_traffic pcbg-ha)"
check "insmod at the defaults" insmod "$KO"
ip netns add pcbg-hb
ip -n pcbg-hb link set lo up
for ns in pcbg-ha pcbg-hb; do
	expect_eq "$ns: loopback TCP and UDP intact, as unloaded" "$WANT" "$(lo_traffic $ns)"
	expect_eq "$ns: no hooks, no packet looked at" "hooks=0 lookups=0 fallback=0" \
		"hooks=$(hooks $ns) lookups=$(stat $ns lookups) fallback=$(stat $ns fallback)"
done
ip -n pcbg-ha link add veth0 type veth peer name veth1 netns pcbg-hb
expect_eq "a veth pair (no NIC hash) adds none" "0 0" "$(hooks pcbg-ha) $(hooks pcbg-hb)"

# Only the hooks read a TCP connection's entry: without them a namespace's
# connections get none (its listeners are members all the same). Five
# held over loopback, both ends in pcbg-ha; soft_hash=1 below brings the
# hooks, and the walk a namespace of the initial user namespace gets
# then places the ten ends (userns.sh: a user's namespace gets no walk).
# ends NS: the established TCP ends of port 7400 in NS.
ends() { ip netns exec "$1" ss -Htn state established '( sport = :7400 or dport = :7400 )' | wc -l; }
# hold NS N NAME: an echo server on NS's loopback and N connections to it
# held until /tmp/NAME.stop appears (their count in /tmp/NAME.out, the
# client's pid in HELD), waited for until their 2N ends are established.
hold() {
	local try
	server_start "$1" --addr 127.0.0.1 --tcp 7400 --udp 7401 >/dev/null
	rm -f "/tmp/$3.stop"
	ip netns exec "$1" $TRAFFIC tcp-client --addr 127.0.0.1 --port 7400 \
		--conns "$2" --rounds 100000 --timeout 120 --until "/tmp/$3.stop" >"/tmp/$3.out" &
	HELD=$!
	for ((try = 1; try <= 50; try++)); do
		[ "$(ends "$1")" = $(($2 * 2)) ] && break
		nap 0.2
	done
}
hold pcbg-ha 5 hk
expect_eq "no hooks: the listener is a member, the ten connection ends are not" \
	"ends=10 wildcard=1 exact=0" \
	"ends=$(ends pcbg-ha) wildcard=$(stat pcbg-ha tcp_wildcard) exact=$(stat pcbg-ha tcp_exact)"

if err=$(ip netns exec pcbg-ha sysctl -w net.pcbgroup.soft_hash=2 2>&1); then
	not_ok "soft_hash=2 accepted"
else
	ok "soft_hash=2 is refused (${err##*: })"
fi
expect_eq "and changes nothing" "0 0" \
	"$(ip netns exec pcbg-ha sysctl -n net.pcbgroup.soft_hash) $(hooks pcbg-ha)"
# Connections opened and closed while the hooks come and the walk runs.
rm -f /tmp/hk.cstop
ip netns exec pcbg-ha $TRAFFIC churn --addr 127.0.0.1 --port 7400 --udp 7401 \
	--timeout 120 --until /tmp/hk.cstop >/tmp/hk.churn &
churn=$!
nap 1
check "soft_hash=1" ip netns exec pcbg-ha sysctl -qw net.pcbgroup.soft_hash=1
expect_eq "registers the hooks" 1 "$(hooks pcbg-ha)"
nap 2
touch /tmp/hk.cstop
wait $churn
expect_eq "the churn's every message came back ($(</tmp/hk.churn))" 0 $?
# exact_settles N: the namespace's connection entries come to N within
# 6 s (a closing connection the walk met leaves with the reap, a second
# after the walk).
exact_settles() {
	local try
	for ((try = 1; try <= 30; try++)); do
		[ "$(stat "${2:-pcbg-ha}" tcp_exact)" = "$1" ] && return 0
		nap 0.2
	done
	return 1
}
check "the walk placed the ten ends held since before; the churn's all left" exact_settles 10
touch /tmp/hk.stop
wait $HELD
expect_eq "the held connections' every message came back ($(</tmp/hk.out))" 0 $?
server_stop
check "all closed: no connection entry left" exact_settles 0
expect_eq "loopback TCP and UDP still intact" "$WANT" "$(lo_traffic pcbg-ha)"
ip netns exec pcbg-ha sysctl -qw net.pcbgroup.soft_hash=0
expect_eq "soft_hash=0 again: they stay" 1 "$(hooks pcbg-ha)"
# The same walk in pcbg-hb, made after the load as a new container is:
# three connections held over its loopback before loopback=1 brings the
# hooks, placed by the walk then.
hold pcbg-hb 3 hkb
expect_eq "pcbg-hb, made after the load: no hooks, its six connection ends no entry" \
	"ends=6 hooks=0 exact=0" "ends=$(ends pcbg-hb) hooks=$(hooks pcbg-hb) exact=$(stat pcbg-hb tcp_exact)"
check "loopback=1" ip netns exec pcbg-hb sysctl -qw net.pcbgroup.loopback=1
expect_eq "registers them too" 1 "$(hooks pcbg-hb)"
check "the walk placed its six ends" exact_settles 6 pcbg-hb
touch /tmp/hkb.stop
wait $HELD
expect_eq "their every message came back ($(</tmp/hkb.out))" 0 $?
server_stop
check "closed: no entry left in pcbg-hb" exact_settles 0 pcbg-hb

# The delivery (LOCAL_IN) hook joins them only where it can answer: a SYN
# while a prison restricts the namespace (UDP is answered inside the
# kernel's lookup functions at the defaults). pcbg-hg: a prison made
# before the hooks come; pcbg-hd below: after.
# deliver NS: the namespace's steer_hooks and steer_deliver gauges.
deliver() { echo "$(hooks "$1") $(stat "$1" steer_deliver)"; }
# deliver_settles NS WANT: they come to WANT within 10 s (a destroyed
# prison counts until its prisoner's last socket is closed).
deliver_settles() {
	local try
	for ((try = 1; try <= 50; try++)); do
		[ "$(deliver "$1")" = "$2" ] && return 0
		nap 0.2
	done
	return 1
}
ip netns add pcbg-hg
ip -n pcbg-hg link add veth0 type veth peer name veth1
check "pcbg-hg: a prison, no hooks yet" syn_prison pcbg-hg
expect_eq "pcbg-hg: neither hook" "0 0" "$(deliver pcbg-hg)"
check "pcbg-hg: soft_hash=1" ip netns exec pcbg-hg sysctl -qw net.pcbgroup.soft_hash=1
expect_eq "pcbg-hg: both hooks, the prison there" "1 1" "$(deliver pcbg-hg)"
check "pcbg-hg: the prison destroyed" syn_prison_end pcbg-hg
check "pcbg-hg: the delivery hook goes with its last prisoner's socket" \
	deliver_settles pcbg-hg "1 0"
ip netns del pcbg-hg

# A NIC that hashes: e1000e sets NETIF_F_RXHASH (the test kernel has no
# driver for it; there the NIC part is not run).
nic=
if [ "$PCBG_KERNEL" = stock ]; then
	modprobe e1000e
	for ((try = 1; try <= 50; try++)); do
		for d in /sys/class/net/*; do
			ethtool -k "${d##*/}" 2>/dev/null | grep -q 'receive-hashing: on$' &&
				nic=${d##*/}
		done
		[ -n "$nic" ] && break
		nap 0.1
	done
	check "a NIC with receive hashing ($nic)" test -n "$nic"
fi
if [ -n "$nic" ]; then
	ip netns add pcbg-hc
	expect_eq "a namespace made after the load has none" 0 "$(hooks pcbg-hc)"
	ip link set "$nic" netns pcbg-hc
	expect_eq "the NIC moved in registers them" 1 "$(hooks pcbg-hc)"
	ip -n pcbg-hc link set "$nic" netns pcbg-hf
	expect_eq "moved on, the hooks stay where they were" "1 1" "$(hooks pcbg-hc) $(hooks pcbg-hf)"
	check "rmmod" rmmod pcbgroup
	check "insmod, the NIC already in its namespace" insmod "$KO"
	expect_eq "the load finds it (the notifier's replay)" "1 0 0" \
		"$(hooks pcbg-hf) $(hooks pcbg-ha) $(hooks pcbg-hc)"
	ip netns exec pcbg-hf ethtool -K "$nic" rxhash off
	ip -n pcbg-hf link set "$nic" netns pcbg-hc
	expect_eq "with its hash off, it adds none" 0 "$(hooks pcbg-hc)"
	ip netns exec pcbg-hc ethtool -K "$nic" rxhash on
	expect_eq "its hash switched on registers them" 1 "$(hooks pcbg-hc)"
	ip -n pcbg-hc link set "$nic" netns 1
fi
check "rmmod" rmmod pcbgroup

check "insmod soft_hash=1" insmod "$KO" soft_hash=1
ip netns add pcbg-hd
expect_eq "the parameter: hooks in namespaces made before and after" "1 1" \
	"$(hooks pcbg-ha) $(hooks pcbg-hd)"
expect_eq "pcbg-hd: no prison, no delivery hook" "1 0" "$(deliver pcbg-hd)"
ip -n pcbg-hd link add veth0 type veth peer name veth1
check "pcbg-hd: a prison" syn_prison pcbg-hd
expect_eq "pcbg-hd: the delivery hook joins the others" "1 1" "$(deliver pcbg-hd)"
check "pcbg-hd: the prison destroyed" syn_prison_end pcbg-hd
check "pcbg-hd: the delivery hook leaves" deliver_settles pcbg-hd "1 0"
check "rmmod" rmmod pcbgroup
# UDP answered only at delivery: the hook wherever the others are.
check "insmod soft_hash=1 udp_lookup=0" insmod "$KO" soft_hash=1 udp_lookup=0
expect_eq "udp_lookup=0: the delivery hook without a prison" "1 1" "$(deliver pcbg-hd)"
printf '%s\n' "netns del pcbg-ha" "netns del pcbg-hb" "netns del pcbg-hc" \
	"netns del pcbg-hd" "netns del pcbg-hf" | ip -force -b - 2>/dev/null
check "rmmod" rmmod pcbgroup
exit $T_FAILED
