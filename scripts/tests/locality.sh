#!/bin/bash
# Accept locality of SO_REUSEPORT + SO_INCOMING_CPU listeners (FreeBSD's
# IP_RSS_LISTEN_BUCKET): one listener per CPU; the client sends each flow
# from the CPU its RSS bucket maps to, as an RSS NIC would deliver it. The
# figure is the share of connections accepted by the listener of the CPU
# that received them, with pcbgroup and with the module unloaded.
. scripts/tests/lib.sh

ncpu=$(nproc)
conns=${LOCALITY_CONNS:-200}

# measure LABEL: prints the local share in percent.
measure() {
	local mapping
	mapping=$(python3 -c "n=$ncpu; b=$BUCKETS; print(' '.join('%d:%d' % (i, i % n) for i in range(b)))")
	server_start $NS_S --addr 192.0.2.1 --tcp 7000 --udp 7001 \
		--reuseport-cpus --stats /tmp/locality.stats
	out=$(ip netns exec $NS_C $TRAFFIC locality-client --addr 192.0.2.1 \
		--src 192.0.2.2 --conns "$conns" --mapping "$mapping" --port-base "$2")
	server_stop
	if [ "$out" != "sent=$conns ok=$conns lost=0 misdelivered=0" ]; then
		not_ok "$1: traffic $out"
		echo 0
		return
	fi
	awk -F'[ =]' '{printf "%d %d\n", $2, $4}' /tmp/locality.stats
}

ns_setup
check "insmod soft_hash=1 verify=1" insmod "$KO" soft_hash=1 verify=1
BUCKETS=$(cat $P/buckets)
read -r total local < <(measure pcbgroup 20000)
expect_eq "pcbgroup: every connection accepted" "$conns" "$total"
expect_eq "pcbgroup: accepted on the receiving CPU (100%)" "$conns" "$local"
echo "# accept locality with pcbgroup: $local/$total"
check "bucket-listener hits" test "$(stat $NS_S hit_bucket_listener)" -ge "$conns"
expect_eq "0 mismatches" 0 "$(stat $NS_S mismatch)"
check "rmmod" rmmod pcbgroup

read -r ntotal nlocal < <(measure native 40000)
expect_eq "native: every connection accepted" "$conns" "$ntotal"
echo "# accept locality without the module: $nlocal/$ntotal"
mkdir -p "$PCBG_OUT" 2>/dev/null
echo "pcbgroup $local $total native $nlocal $ntotal" >"${PCBG_OUT:-/tmp}/locality-${PCBG_KERNEL}.txt"
ns_teardown
exit $T_FAILED
