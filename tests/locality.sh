#!/bin/bash
# Accept locality of SO_REUSEPORT + SO_INCOMING_CPU listeners (FreeBSD's
# IP_RSS_LISTEN_BUCKET): one listener per CPU; the client sends each flow
# from the CPU its RSS bucket maps to, as an RSS NIC would deliver it. The
# figure is the share of connections accepted by the listener of the CPU
# that received them, with pcbgroup (answering SYNs: a prison in the
# namespace) and with the module unloaded; the connection rate also with
# the module at its defaults, in namespaces of their own (veth: no hash,
# so no steering hooks and no entry for a connection).
. tests/lib.sh

ncpu=$(nproc)
conns=${LOCALITY_CONNS:-200}
reps=${LOCALITY_REPS:-1}
verify=${LOCALITY_VERIFY:-1}

# measure LABEL PORT-BASE: prints "accepted local seconds".
measure() {
	local mapping out
	mapping=$(python3 -c "n=$ncpu; b=$BUCKETS; print(' '.join('%d:%d' % (i, i % n) for i in range(b)))")
	server_start $NS_S --addr 192.0.2.1 --tcp 7000 --udp 7001 \
		--reuseport-cpus --stats /tmp/locality.stats
	out=$(ip netns exec $NS_C $TRAFFIC locality-client --addr 192.0.2.1 \
		--src 192.0.2.2 --conns "$conns" --mapping "$mapping" --port-base "$2")
	server_stop
	if [ "${out% secs=*}" != "sent=$conns ok=$conns lost=0 misdelivered=0" ]; then
		not_ok "$1: traffic $out"
		echo 0 0 0
		return
	fi
	awk -F'[ =]' -v secs="${out##*secs=}" '{printf "%d %d %s\n", $2, $4, secs}' \
		/tmp/locality.stats
}

mkdir -p "$PCBG_OUT" 2>/dev/null
res=${PCBG_OUT:-/tmp}/locality-${PCBG_KERNEL}.txt
: >"$res"
for ((r = 1; r <= reps; r++)); do
	ns_teardown
	unload
	setup_and_load "insmod at the defaults"
	BUCKETS=$(<$P/buckets)
	# The module at its defaults first: veth gives no RSS hash, so the
	# namespaces get no steering hooks and their connections no entries;
	# what remains is following the listeners and the state changes.
	expect_eq "defaults: no steering hooks" "0 0" "$(stat $NS_S steer_hooks) $(stat $NS_C steer_hooks)"
	read -r dtotal dlocal dsecs < <(measure defaults $((30000 + r * 2000)))
	expect_eq "defaults: every connection accepted" "$conns" "$dtotal"
	echo "# accept locality with pcbgroup at its defaults: $dlocal/$dtotal in $dsecs s"
	check "rmmod" rmmod pcbgroup
	ns_teardown
	setup_and_load "insmod soft_hash=1 verify=$verify" soft_hash=1 verify=$verify
	# The groups answer SYNs where a prison restricts the namespace.
	check "a prison, for SYN answers" syn_prison $NS_S
	read -r total local secs < <(measure pcbgroup $((20000 + r * 2000)))
	expect_eq "pcbgroup: every connection accepted" "$conns" "$total"
	expect_eq "pcbgroup: accepted on the receiving CPU (100%)" "$conns" "$local"
	echo "# accept locality with pcbgroup: $local/$total in $secs s"
	check "bucket-listener hits" test "$(stat $NS_S hit_bucket_listener)" -ge "$conns"
	expect_eq "0 mismatches" 0 "$(stat $NS_S mismatch)"
	check "the prison goes" syn_prison_end $NS_S
	check "rmmod" rmmod pcbgroup
	# Each mode in namespaces of its own: TIME_WAIT sockets of the runs
	# before slow the next (fresh_pair, tests/lib.sh).
	ns_setup

	read -r ntotal nlocal nsecs < <(measure native $((40000 + r * 2000)))
	expect_eq "native: every connection accepted" "$conns" "$ntotal"
	echo "# accept locality without the module: $nlocal/$ntotal in $nsecs s"
	echo "pcbgroup $local $total native $nlocal $ntotal $secs $nsecs defaults $dsecs" >>"$res"
done
ns_teardown
exit $T_FAILED
