#!/bin/bash
# Scale at the defaults: SCALE_CONNS TCP connections (default 10000; make
# soak: 100000) opened, each with one echoed message, held at once and then
# closed, between two namespaces. First with the module unloaded, then
# loaded at its defaults with verify on and software Toeplitz (every packet
# is looked up in the groups and checked against the kernel's lookup). In
# both runs every connection and message is counted at both ends; loaded,
# the tables must have grown with the connections, kept their buckets
# short, shrunk back to their minimum after, and left no entry behind.
. tests/lib.sh

N=${SCALE_CONNS:-10000}
PORTS=7000,7001,7002,7003
SCALE="python3 tests/lib/scale.py"

# wait_file FILE SECS
wait_file() {
	local try
	for ((try = 1; try <= $2 * 5; try++)); do
		[ -f "$1" ] && return 0
		nap 0.2
	done
	return 1
}

# tables NS: "members buckets longest" of the TCP connection groups.
tables() {
	ip netns exec "$1" awk 'NR > 1 && $1 != "wild" {
		m += $5; b += $6; if ($7 > l) l = $7 } END { print m, b, l }' \
		/proc/net/pcbgroup/groups
}

# run MODE: one round of N connections; MODE is native or pcbgroup.
run() {
	local mode=$1 spid cpid t0 cli srv
	rm -f /tmp/scale.*
	ip netns exec $NS_C sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
	ip netns exec $NS_S $SCALE server --addr 192.0.2.1 --ports $PORTS \
		--conns "$N" --ready /tmp/scale.srv --stats /tmp/scale.stats &
	spid=$!
	wait_file /tmp/scale.srv 30 || { not_ok "$mode: server did not start"; return; }
	t0=$EPOCHSECONDS
	ip netns exec $NS_C $SCALE client --addr 192.0.2.1 --ports $PORTS \
		--conns "$N" --ready /tmp/scale.cli --close /tmp/scale.close &
	cpid=$!
	wait_file /tmp/scale.cli 1800
	cli=$(cat /tmp/scale.cli 2>/dev/null)
	echo "# $mode: $N connections held after $((EPOCHSECONDS - t0)) s: $cli"
	if [ $mode = pcbgroup ]; then
		grown_s=$(tables $NS_S) grown_c=$(tables $NS_C)
		echo "# held: server groups (members buckets longest) $grown_s, client $grown_c"
		ip netns exec $NS_S cat /proc/net/pcbgroup/groups | sed 's/^/# /'
	fi
	touch /tmp/scale.close
	wait $cpid
	# The server reads every peer's close and closes its end.
	for ((try = 1; try <= 600; try++)); do
		[ "$(ip netns exec $NS_S ss -Htn state established state close-wait |
			wc -l)" = 0 ] && break
		nap 0.2
	done
	kill $spid
	wait $spid
	srv=$(cat /tmp/scale.stats 2>/dev/null)
	expect_eq "$mode: client opened and echoed every connection" \
		"opened=$N echoed=$N failed=0" "$cli"
	expect_eq "$mode: server accepted, echoed and saw closed every one" \
		"accepted=$N echoed=$N closed=$N" "$srv"
}

unload
ns_setup
run native
ns_teardown

setup_and_load "insmod at the defaults, soft_hash=1 verify=1" soft_hash=1 verify=1
ngroups=$(<$P/buckets)
base=$(<$P/entries)		# the root namespace's sockets
run pcbgroup
for ns in $NS_S $NS_C; do
	expect_eq "$ns: verify mode: 0 mismatches" 0 "$(stat $ns mismatch)"
	check "$ns: answers verified ($(stat $ns verified))" \
		test "$(stat $ns verified)" -ge "$N"
	check "$ns: steered exact hits ($(stat $ns hit_exact))" \
		test "$(stat $ns hit_exact)" -ge "$N"
	expect_eq "$ns: no insert failure" 0 "$(stat $ns insert_fail)"
done
read -r m b l <<<"$grown_s"
check "the server's groups grew with its $m connections ($b buckets in $ngroups groups)" \
	test "$b" -ge $((N / 4))
check "no bucket longer than 12 (longest $l)" test "$l" -le 12
# Shrunk back: connections gone, every group at its minimum of 4 buckets.
for ns in $NS_S $NS_C; do
	shrunk=
	for ((try = 1; try <= 100; try++)); do
		read -r m b l <<<"$(tables $ns)"
		[ "$m" = 0 ] && [ "$b" = $((4 * ngroups)) ] && { shrunk=1; break; }
		nap 0.2
	done
	check "$ns: tables shrank back after the close ($m members, $b buckets)" \
		test -n "$shrunk"
	check "$ns: resizes counted ($(stat $ns resize))" \
		test "$(stat $ns resize)" -gt 2
done
ns_teardown
check "the namespaces are gone" instances_settle 1 60
expect_eq "no entry left but the root namespace's" "$base" "$(<$P/entries)"
check "rmmod" rmmod pcbgroup
exit $T_FAILED
