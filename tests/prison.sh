#!/bin/bash
# Prisons: the unprivileged escape table (every attack of a prisoner
# without privilege, run first with no module as its baseline, where each
# works, then in prison, where none may), the root prisoner's table
# (every attempt to use an address that is not its prison's, with the
# error it must get), the packets seen
# at the other end (the source each must arrive from, none of the refused
# ones), the allowed cases on every prison address with the module
# unloaded (no prison) and loaded (in prison), the receive side (a
# prisoner's wildcard listener answers only its addresses, through the
# groups and through the kernel's own lookup), raw sockets read only
# packets to the prison's addresses, visibility, and 1000
# prisons made and destroyed under traffic.
. tests/lib.sh

ESC="python3 tests/lib/prison_escape.py"
ATK="python3 tests/lib/prison_attack.py"
NOBODY="setpriv --reuid 65534 --regid 65534 --clear-groups --no-new-privs"
CG=/sys/fs/cgroup

# The host's extra addresses on the server side; .14 is a prison's only.
add_addrs() {
	local a
	for a in 192.0.2.11 192.0.2.12 192.0.2.13 192.0.2.21; do
		ip -n $NS_S addr add $a/24 dev veth0 || return 1
	done
	for a in 2001:db8::11 2001:db8::12 2001:db8::13; do
		ip -n $NS_S addr add $a/64 dev veth0 nodad || return 1
	done
	ip netns exec $NS_S sysctl -qw net.ipv4.ip_nonlocal_bind=1
}

# attacks MODE WANT CMD...: the unprivileged table run by CMD (as nobody,
# in prison or not), with the host's loopback services listening; WANT:
# what those services must have received.
attacks() {
	local mode=$1 want=$2 srv
	shift 2
	rm -f /tmp/loop.ready
	ip netns exec $NS_S $ATK loop-serve --port 9500 --ready /tmp/loop.ready >/tmp/loop.out &
	srv=$!
	wait_file /tmp/loop.ready 20
	"$@" $ATK table --mode "$mode" --port 9500
	rm -f /tmp/loop.ready
	wait $srv
	expect_eq "$mode: what the host's loopback services received" "$want" "$(</tmp/loop.out)"
}

# exthdr LABEL WANT CMD...: a receiver on [::]:9600 run by CMD; the client
# sends a datagram with a destination-options header to a host address
# (HOST) and to a prison address (MINE).
exthdr() {
	local label=$1 want=$2 pid
	shift 2
	rm -f /tmp/x.ready /tmp/x.stop
	"$@" $ATK udp6-recv --port 9600 --ready /tmp/x.ready --stop /tmp/x.stop >/tmp/x.out &
	pid=$!
	wait_file /tmp/x.ready 20
	check "$label: the receiver is ready" test -f /tmp/x.ready
	ip netns exec $NS_C $ATK send-dstopts --to 2001:db8::13 --port 9600 --tag HOST
	ip netns exec $NS_C $ATK send-dstopts --to 2001:db8::11 --port 9600 --tag MINE
	nap 0.5
	touch /tmp/x.stop
	wait $pid
	expect_eq "$label" "$want" "$(sort /tmp/x.out | tr '\n' ' ')"
}

# A GRE tunnel between the two sides, 198.51.100.1 <-> .2 inside.
gre_setup() {
	ip -n $NS_S tunnel add gre1 mode gre local 192.0.2.1 remote 192.0.2.2 ttl 64 &&
		ip -n $NS_C tunnel add gre1 mode gre local 192.0.2.2 remote 192.0.2.1 ttl 64 &&
		ip -n $NS_S addr add 198.51.100.1/24 dev gre1 &&
		ip -n $NS_C addr add 198.51.100.2/24 dev gre1 &&
		ip -n $NS_S link set gre1 up && ip -n $NS_C link set gre1 up
}

# tunnel LABEL CMD...: CMD sends a datagram through the tunnel from
# 198.51.100.1; the other side must get it.
tunnel() {
	local label=$1 pid
	shift
	rm -f /tmp/x.ready /tmp/x.stop
	ip netns exec $NS_C $ATK udp6-recv --port 9800 --ready /tmp/x.ready --stop /tmp/x.stop >/tmp/x.out &
	pid=$!
	wait_file /tmp/x.ready 20
	"$@" $ATK udp-send --to 198.51.100.2 --port 9800 --tag GRE1
	nap 0.5
	touch /tmp/x.stop
	wait $pid
	expect_eq "$label" "got GRE1 " "$(tr '\n' ' ' </tmp/x.out)"
}

# in_ns_s [prison] CMD...: run in the server namespace, in a prison or not.
in_s() {
	local p=$1
	shift
	if [ "$p" = - ]; then
		ip netns exec $NS_S "$@"
	else
		ip netns exec $NS_S $JAIL exec --root "$p" -- "$@"
	fi
}

# ready_wait: the file /tmp/p.ready appears (a server listens).
ready_wait() { wait_file /tmp/p.ready; }

# allowed WHO LABEL: serving and connecting on every address of prison M,
# in it (WHO=M) or with no prison (WHO=-).
MADDRS=192.0.2.11,192.0.2.12,2001:db8::11,2001:db8::12
allowed() {
	local who=$1 label=$2 srv
	rm -f /tmp/p.ready
	in_s "$who" $ESC serve-many --addrs $MADDRS --port 9201 --count 4 \
		--timeout 60 --ready /tmp/p.ready >/dev/null &
	srv=$!
	ready_wait
	ip netns exec $NS_C $ESC connect-many --label "$label: serving" --port 9201 --to $MADDRS
	wait $srv
	rm -f /tmp/p.ready
	ip netns exec $NS_C $ESC serve-many --addrs 192.0.2.2,2001:db8::2 --port 9202 \
		--count 4 --timeout 60 --ready /tmp/p.ready >/dev/null &
	srv=$!
	ready_wait
	in_s "$who" $ESC connect-many --label "$label: connecting out" --port 9202 \
		--to 192.0.2.11\>192.0.2.2,192.0.2.12\>192.0.2.2,2001:db8::11\>2001:db8::2,2001:db8::12\>2001:db8::2
	wait $srv
}

# The same allowed cases with the module unloaded: the reference.
unload
ns_setup
check "addresses" add_addrs
allowed - "unloaded, no prison"
ip netns exec $NS_S sysctl -qw net.ipv4.ping_group_range="0 2147483647"
attacks baseline "127.0.0.1=2 127.0.0.2=2 127.0.0.53=1 ::1=1" ip netns exec $NS_S $NOBODY
exthdr "baseline: datagrams with a destination-options header reach a [::] socket" \
	"got HOST got MINE " ip netns exec $NS_S $NOBODY
check "a GRE tunnel" gre_setup
tunnel "baseline: a datagram through the GRE tunnel arrives" ip netns exec $NS_S $NOBODY
ns_teardown

lap "allowed, unloaded"
setup_and_load "insmod"
check "addresses" add_addrs
mkdir -p $CG/pcbgroup
out=$(in_s - $JAIL create M ip4.addr=192.0.2.11,192.0.2.12,192.0.2.14 ip6.addr=2001:db8::11,2001:db8::12)
check "create prison M ($out)" test -n "$out"
check "create prison S" in_s - $JAIL create S jid=77 ip4.addr=192.0.2.21 ip6.addr=
check "create prison E (no address)" in_s - $JAIL create E
echo "# $(in_s - $JAIL list | tr '\n' ';')"

# Bad definitions: refused with a reason, nothing made (through the
# kernel interface; one through the CLI, for its message).
mkdir -p $CG/pcbgroup/spare
in_s - sh -c "mount -t cgroup2 cgroup2 $CG 2>/dev/null; exec $ESC definitions --cgroup $CG/pcbgroup/spare"
err=$(in_s - $JAIL create M ip4.addr=192.0.2.30 2>&1) && not_ok "pcbgjail create of a name taken" ||
	ok "pcbgjail create of a name taken: $err"
err=$(ip netns exec $NS_S setpriv --reuid 65534 --regid 65534 --clear-groups \
	$JAIL destroy S 2>&1) && not_ok "an unprivileged user destroyed a prison" ||
	ok "an unprivileged user cannot destroy a prison: $err"

# A prison with its own namespace is not IP-restricted (vnet).
check "create prison V (vnet)" in_s - $JAIL create V vnet ip4.addr=192.0.2.31
check "a vnet prisoner binds any address of its own namespace" in_s V sh -c \
	"ip link set lo up && python3 -c 'import socket; socket.socket().bind((\"127.0.0.5\", 0))'"
check "destroy V" in_s - $JAIL destroy V
allowed M "loaded, in prison M"
lap "prisons made"
# The unprivileged table: a prisoner as pcbgjail exec makes it.
ip netns exec $NS_S sysctl -qw net.ipv4.ping_group_range="0 2147483647"
attacks prison "127.0.0.1=0 127.0.0.2=0 127.0.0.53=0 ::1=0" ip netns exec $NS_S $JAIL exec M --
exthdr "prison: a destination-options header does not carry a datagram to a host address" \
	"got MINE " ip netns exec $NS_S $JAIL exec M --
check "pcbgjail exec: the prisoner has no capability and no_new_privs" \
	ip netns exec $NS_S $JAIL exec M -- sh -c \
	'grep -q "^CapEff:.0000000000000000" /proc/self/status && grep -q "^NoNewPrivs:.1" /proc/self/status'
check "pcbgjail exec: the prisoner's cgroup namespace is rooted at the prison" \
	ip netns exec $NS_S $JAIL exec M -- sh -c '[ "$(cat /proc/self/cgroup)" = "0::/" ]'
err=$(ip netns exec $NS_S $JAIL exec M -- sh -c 'echo $$ >/sys/fs/cgroup/cgroup.procs' 2>&1) &&
	not_ok "a prisoner moved itself out of its cgroup" ||
	ok "a prisoner cannot move itself out of its cgroup: $err"
check "a GRE tunnel" gre_setup
check "create prison G (the tunnel's inner address)" in_s - $JAIL create G ip4.addr=198.51.100.1
tunnel "prison: a prisoner's datagram through the GRE tunnel arrives (inner source judged)" \
	ip netns exec $NS_S $JAIL exec G --
check "destroy G" in_s - $JAIL destroy G
err=$(rmmod pcbgroup 2>&1) && not_ok "rmmod while prisons exist" ||
	ok "rmmod refused while prisons exist: $err"
lap "unprivileged table"
# The escape table, with the packets watched from the client side.
rm -f /tmp/obs.*
ip netns exec $NS_C $ESC observe --log /tmp/obs.log --ready /tmp/obs.ready --stop /tmp/obs.stop &
obs=$!
wait_file /tmp/obs.ready 5
check "an unjailed socket may bind the nonlocal 192.0.2.14 (the sysctl is on)" \
	in_s - python3 -c 'import socket; socket.socket().bind(("192.0.2.14", 0))'
: >/tmp/esc.all
for p in M S E; do
	in_s $p $ESC attempts --prison $p --expect /tmp/esc.$p
	cat /tmp/esc.$p >>/tmp/esc.all
done
# ping with a source address (FreeBSD's ping -S, iputils' -I): a
# non-primary prison address works, the host's does not.
check "ping -I with a non-primary prison address" in_s M ping -c 1 -W 2 -I 192.0.2.12 192.0.2.2
err=$(in_s M ping -c 1 -W 2 -I 192.0.2.1 192.0.2.2 2>&1) && not_ok "ping -I with the host's address" ||
	ok "ping -I with the host's address refused: $(echo "$err" | head -1)"
expect_eq "no prisoner socket left unconfined" 0 "$(stat $NS_S prison_unconfined)"
check "the refusals were counted ($(stat $NS_S prison_denied))" test "$(stat $NS_S prison_denied)" -ge 20
nap 1
touch /tmp/obs.stop
wait $obs
ip netns exec $NS_C $ESC verify --log /tmp/obs.log --expect /tmp/esc.all

lap "escape table"
# A cgroup tree 40 deep below prison M's cgroup (any user with a delegated
# subtree can make one): the prison is found by its level, the sockets
# made at the bottom are M's, and a tree as deep outside any prison is
# not confined. A second prison K one level deeper than M's exercises a
# lookup over two levels.
bind_errnos() {	# bind_errnos CGROUP ADDR...: per address, 0 or bind(ADDR:0)'s errno
	local cg=$1
	shift
	in_cg "$cg" python3 -c "import socket, sys
out = []
for a in sys.argv[1:]:
    try:
        socket.socket(socket.AF_INET6 if ':' in a else socket.AF_INET).bind((a, 0))
        out.append('%s=0' % a)
    except OSError as e:
        out.append('%s=%d' % (a, e.errno))
print(' '.join(out))" "$@"
}
deep=$CG/pcbgroup/M$(printf '/d%d' $(seq 40))
free=$CG/pcbgroup/free$(printf '/d%d' $(seq 40))
mkdir -p "$deep" "$free" $CG/pcbgroup/lvl/K
check "create prison K a level below M's (cgroup=.../lvl/K)" \
	in_s - $JAIL create K cgroup=$CG/pcbgroup/lvl/K ip4.addr=192.0.2.13 ip6.addr=
# 99: EADDRNOTAVAIL, the prison's refusal.
expect_eq "40 cgroups below M: M's addresses only, not the host's or K's" \
	"192.0.2.12=0 2001:db8::11=0 192.0.2.1=99 192.0.2.13=99" \
	"$(bind_errnos "$deep" 192.0.2.12 2001:db8::11 192.0.2.1 192.0.2.13)"
expect_eq "in K: K's address, not M's" "192.0.2.13=0 192.0.2.11=99" \
	"$(bind_errnos $CG/pcbgroup/lvl/K 192.0.2.13 192.0.2.11)"
expect_eq "40 cgroups deep outside any prison: the host's address" "192.0.2.1=0" \
	"$(bind_errnos "$free" 192.0.2.1)"
rm -f /tmp/p.ready
in_cg "$deep" $ESC serve --addr :: --port 9310 --count 2 --timeout 60 --ready /tmp/p.ready >/tmp/p.out &
srv=$!
ready_wait
ip netns exec $NS_C $ESC connect-many --label "a listener 40 cgroups below M" --port 9310 \
	--timeout 1 --to 192.0.2.11,2001:db8::12,!192.0.2.1,!192.0.2.13
wait $srv
expect_eq "the deep listener served exactly M's two" "served=2" "$(</tmp/p.out)"
check "destroy K" in_s - $JAIL destroy K
# SYNs to a port where no prisoner listens are the kernel's to answer; a
# listener made in a cgroup before "create ... attach" becomes a
# prisoner's (by its cgroup), and its port is then checked at once: the
# prisoners' listeners are counted again when a prison comes.
# With no hash (the LOCAL_IN hook's check) and with soft_hash (the groups').
mkdir -p $CG/pcbgroup/late
rm -f /tmp/p.ready /tmp/p2.ready
in_cg $CG/pcbgroup/late $ESC serve --addr 0.0.0.0 --port 9320 --count 2 --timeout 60 \
	--ready /tmp/p.ready >/tmp/p.out &
srv=$!
in_s - $ESC serve --addr 0.0.0.0 --port 9321 --count 4 --timeout 60 --ready /tmp/p2.ready >/tmp/p2.out &
srv2=$!
ready_wait
wait_file /tmp/p2.ready
check "create prison L on the listener's cgroup (attach)" \
	in_s - $JAIL create L cgroup=$CG/pcbgroup/late attach ip4.addr=192.0.2.13 ip6.addr=
for how in "no hash" "groups"; do
	[ "$how" = groups ] && soft_hash_set 1
	ip netns exec $NS_C $ESC connect-many --label "$how: the listener L took over" --port 9320 \
		--timeout 1 --to 192.0.2.13,!192.0.2.1,!192.0.2.11
	ip netns exec $NS_C $ESC connect-many --label "$how: an unjailed listener" --port 9321 \
		--timeout 1 --to 192.0.2.1,192.0.2.11
done
soft_hash_set 0
wait $srv $srv2
expect_eq "L's listener served its address only" "served=2" "$(</tmp/p.out)"
expect_eq "the unjailed listener served all" "served=4" "$(</tmp/p2.out)"
check "destroy L" in_s - $JAIL destroy L
rm_trees() {	# the cgroup trees, leaves first; a moment for exits to settle
	local try d left
	for ((try = 1; try <= 20; try++)); do
		left=0
		for d in "$@"; do
			[ -d "$d" ] || continue
			find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
			[ -d "$d" ] && left=1
		done
		[ $left = 0 ] && return 0
		nap 0.1
	done
	return 1
}
check "the deep cgroups removed" rm_trees $CG/pcbgroup/M/d1 $CG/pcbgroup/free $CG/pcbgroup/lvl $CG/pcbgroup/late
lap "deep cgroups"
# Receive: M's dual-stack wildcard listener takes its addresses only, from the
# client side and from the host itself (loopback: the kernel's lookup),
# with packets left to the kernel (no hash) and looked up in the groups
# (soft_hash: the module's wildcard lookup skips the prisoner).
receive() {
	local how=$1 srv
	rm -f /tmp/p.ready
	in_s M $ESC serve --addr :: --port 9300 --count 4 --timeout 60 --ready /tmp/p.ready >/tmp/p.out &
	srv=$!
	ready_wait
	ip netns exec $NS_C $ESC connect-many --label "$how, from the client side" --port 9300 \
		--timeout 1 --to 192.0.2.11,192.0.2.12,2001:db8::12,!192.0.2.13,!2001:db8::13
	# Loopback: left to the kernel's lookup.
	ip netns exec $NS_S $ESC connect-many --label "$how, from the host itself" --port 9300 \
		--timeout 1 --to !192.0.2.13,!192.0.2.1,192.0.2.11
	wait $srv
	expect_eq "$how: the listener served exactly the four allowed" "served=4" "$(</tmp/p.out)"
}
# UDP (once: with or without a hash, the groups leave a port without
# connected sockets to the kernel's lookup): M's dual-stack wildcard
# socket takes its addresses only; an unjailed socket on another port
# takes every datagram, which the prison hook does not look up: no
# prisoner's wildcard socket is on that port (prison_udp_left). Then a
# BPF sk_lookup program gives M's socket a third port (it may pick a
# socket of any port): still its addresses only.
UDP_TO=192.0.2.11,192.0.2.13,2001:db8::11,2001:db8::13
# udp_recv WHO PORT FILE [ARG...]: a receiver on [::]:PORT in M or not (-).
udp_recv() {
	local who=$1 port=$2 out=$3
	shift 3
	rm -f "$out.ready"
	in_s "$who" $ATK udp6-recv --port "$port" --ready "$out.ready" \
		--stop /tmp/u.stop "$@" >"$out" &
	UDP_PIDS+=($!)
	wait_file "$out.ready" 20
}
udp_receive() {
	local how=$1 left port try
	rm -f /tmp/u.*
	UDP_PIDS=()
	udp_recv M 9310 /tmp/u.m
	udp_recv - 9311 /tmp/u.h
	left=$(stat $NS_S prison_udp_left)
	for port in 9310 9311; do
		ip netns exec $NS_C $ATK udp-send --to $UDP_TO --port $port
	done
	for ((try = 1; try <= 50; try++)); do	# the unjailed socket's four
		[ "$(wc -l </tmp/u.h)" -ge 4 ] && break
		nap 0.1
	done
	left=$(($(stat $NS_S prison_udp_left) - left))
	udp_recv M 9313 /tmp/u.s --steer 9312
	ip netns exec $NS_C $ATK udp-send --to $UDP_TO --port 9312
	nap 0.5
	touch /tmp/u.stop
	wait "${UDP_PIDS[@]}"
	expect_eq "udp, $how: M's wildcard socket took its addresses' datagrams only" \
		"got 192.0.2.11:9310 got 2001:db8::11:9310 " "$(sort /tmp/u.m | tr '\n' ' ')"
	expect_eq "udp, $how: the unjailed socket took every datagram" \
		"got 192.0.2.11:9311 got 192.0.2.13:9311 got 2001:db8::11:9311 got 2001:db8::13:9311 " \
		"$(sort /tmp/u.h | tr '\n' ' ')"
	check "udp, $how: the prison hook did not look up the unjailed port's datagrams ($left)" \
		test $left -ge 4
	expect_eq "udp, $how: steered by BPF from another port, M's socket took its addresses' only" \
		"got 192.0.2.11:9312 got 2001:db8::11:9312 " "$(sort /tmp/u.s | tr '\n' ' ')"
}
# A BPF sk_lookup program gives M's wildcard listener port 9314, where
# no prisoner listens: a SYN to a host address there is refused all the
# same, at LOCAL_IN (with a program, the prison hook looks up every SYN).
tcp_steered() {
	local how=$1 srv dropped given
	rm -f /tmp/p.ready
	in_s M $ESC serve --addr :: --port 9315 --steer 9314 --count 2 --timeout 60 \
		--ready /tmp/p.ready >/tmp/p.out &
	srv=$!
	ready_wait
	dropped=$(stat $NS_S prison_dropped)
	given=$(stat $NS_S prison_given)
	# The refused first: the listener goes once it has served two.
	ip netns exec $NS_C $ESC connect-many --label "$how, steered by BPF" --port 9314 \
		--timeout 1 --to !192.0.2.13,!2001:db8::13,192.0.2.11,2001:db8::11
	wait $srv
	expect_eq "$how, steered by BPF: the listener served exactly the two allowed" \
		"served=2" "$(</tmp/p.out)"
	check "$how, steered by BPF: the SYNs to host addresses were dropped" \
		test $(($(stat $NS_S prison_dropped) - dropped)) -ge 2
	# Dropped at LOCAL_IN, not as the SYN-ACKs at LOCAL_OUT: the hook
	# looked the SYNs to port 9314 up, and handed on the allowed ones'.
	check "$how, steered by BPF: the prison hook looked the SYNs up" \
		test $(($(stat $NS_S prison_given) - given)) -ge 2
}
ip netns exec $NS_S sysctl -qw net.pcbgroup.verify=1
receive "no hash"
tcp_steered "no hash"
udp_receive "no hash"
# Without the steering hooks the prison hook looks each SYN to the
# prisoner's port up (the kernel's lookups): the four it let through
# went on with their listener, not looked up again (pcbg_syn_give()).
check "no hash: the prison hook handed their listener to the SYNs it let through" \
	test "$(stat $NS_S prison_given)" -ge 4
soft_hash_set 1
receive "groups"
tcp_steered "groups"
check "the groups looked the prisoner's packets up" test "$(stat $NS_S hit_wildcard)" -gt 0
expect_eq "verify: no mismatch" 0 "$(stat $NS_S mismatch)"
echo "# verify: $(stat $NS_S verified) verified, $(stat $NS_S verify_prison) differ by a prison rule; hit_wildcard $(stat $NS_S hit_wildcard)"

lap "receive"
# Raw sockets (FreeBSD's rip_input()): M's unbound raw sockets read only
# packets to M's addresses, an unjailed one reads them all; through the
# raw hash (raw_demux=1) and through the kernel's list (raw_demux=0).
raw_receive() {
	local how=$1 m h try
	rm -f /tmp/r.* /tmp/p.ready
	in_s M $ESC raw-listen --ready /tmp/r.mready --stop /tmp/r.stop --timeout 20 >/tmp/r.m &
	m=$!
	in_s - $ESC raw-listen --ready /tmp/r.hready --stop /tmp/r.stop --timeout 20 >/tmp/r.h &
	h=$!
	for ((try = 1; try <= 100; try++)); do [ -f /tmp/r.mready ] && [ -f /tmp/r.hready ] && break; nap 0.1; done
	ip netns exec $NS_C $ESC raw-send \
		--to '192.0.2.1*3,192.0.2.11*2,192.0.2.12*1,2001:db8::1*2,2001:db8::11*2'
	nap 0.5
	touch /tmp/r.stop
	wait $m $h
	expect_eq "raw, $how: M's raw sockets read its addresses' packets only" "v4=3 v6=2" "$(</tmp/r.m)"
	expect_eq "raw, $how: an unjailed raw socket reads every packet" "v4=6 v6=4" "$(</tmp/r.h)"
}
raw_receive "hash"
ip netns exec $NS_S sysctl -qw net.pcbgroup.raw_demux=0
raw_receive "kernel's list"
ip netns exec $NS_S sysctl -qw net.pcbgroup.raw_demux=1
expect_eq "raw verify: no mismatch" 0 "$(stat $NS_S raw_mismatch)"
echo "# raw: indexed $(stat $NS_S raw_indexed), walked $(stat $NS_S raw_walked), verified $(stat $NS_S raw_verified)"

lap "raw receive"
# Visibility: the prisoner's listing holds its sockets only.
server_start $NS_S --addr 192.0.2.1 --tcp 7000 --udp 7001
rm -f /tmp/p.ready
in_s M $ESC serve --addr 192.0.2.11 --port 9400 --timeout 10 --ready /tmp/p.ready >/dev/null &
srv=$!
wait_file /tmp/p.ready 5
mid=$(in_s - $JAIL show M | sed 's/.*jid=\([0-9]*\).*/\1/')
host=$(in_s - cat /proc/net/pcbgroup/sockets)
mine=$(in_s M cat /proc/net/pcbgroup/sockets)
echo "# host's listing: $(echo "$host" | tail -n +2 | wc -l) sockets; M's: $(echo "$mine" | tail -n +2 | wc -l)"
echo "$host" | head -5 | sed 's/^/# /'
check "the host sees its own server and M's listener" \
	bash -c "echo '$host' | grep -q '192.0.2.1:7000' && echo '$host' | grep -q '192.0.2.11:9400'"
check "M sees its listener" bash -c "echo '$mine' | grep -q '192.0.2.11:9400'"
check "M sees no socket of another prison or of the host" \
	bash -c "echo '$mine' | awk 'NR > 1 && \$12 != $mid {bad=1} END {exit bad}'"
ip netns exec $NS_C $ESC connect --addr 192.0.2.11 --port 9400 >/dev/null
wait $srv
server_stop

lap "visibility"
# 1000 prisons made and destroyed under traffic; a socket outlives its
# destroyed prison and stays confined.
server_start $NS_C --addr 192.0.2.2 --tcp 7000 --udp 7001
ip netns exec $NS_S $TRAFFIC tcp-client --addr 192.0.2.2 --conns 4 --rounds 400 >/tmp/bg.out 2>&1 &
bg=$!
churn=${PRISON_CHURN:-1000}
out=$(ip netns exec $NS_S python3 tests/lib/prison_churn.py --count $churn --peer 192.0.2.2 --port 7000)
echo "# churn: $out"
check "$churn prisons made and destroyed, each used ($out)" \
	bash -c "echo '$out' | grep -q 'cycles=$churn failed=0'"
check "a socket of a destroyed prison stays confined" bash -c "echo '$out' | grep -q 'dead_confined=1'"
check "background traffic unharmed" wait $bg
server_stop
lap "churn"
for p in M S E; do check "destroy $p" in_s - $JAIL destroy $p; done
expect_eq "no prison left" 1 "$(in_s - $JAIL list | wc -l)"
rmdir $CG/pcbgroup/spare
ns_teardown
check "rmmod (no prisoner socket holds the module)" rmmod pcbgroup
exit $T_FAILED
