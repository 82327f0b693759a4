#!/bin/bash
# pktgen.sh DEV DST_MAC FLOWS COUNT: sends COUNT 64-byte UDP packets from
# DEV to 192.0.2.1:9000 spread at random over FLOWS flows (the peers and
# ports of tests/lib/flows.py) and prints the packets per second pktgen
# achieved. Run inside the sending namespace.
set -e
dev=$1 mac=$2 flows=$3 count=$4
per=50000
naddr=$(((flows + per - 1) / per))
nport=$((flows < per ? flows : per))
pg=/proc/net/pktgen
echo "rem_device_all" >$pg/kpktgend_0
echo "add_device $dev" >$pg/kpktgend_0
for c in "count $count" "pkt_size 64" "delay 0" "clone_skb 0" \
	"dst 192.0.2.1" "src_min 192.0.2.2" "src_max 192.0.2.$((1 + naddr))" \
	"dst_mac $mac" "udp_dst_min 9000" "udp_dst_max 9000" \
	"udp_src_min 10000" "udp_src_max $((10000 + nport - 1))" \
	"flag UDPSRC_RND" "flag IPSRC_RND"; do
	echo "$c" >$pg/$dev
done
echo start >$pg/pgctrl
sed -n 's/^ *\([0-9]*\)pps.*/\1/p' $pg/$dev
