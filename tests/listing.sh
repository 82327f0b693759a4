#!/bin/bash
# The socket listing streams: with LISTING_SOCKETS sockets in a namespace
# (20,000 here, 100,000 in make soak), /proc/net/pcbgroup/sockets lists
# each exactly once when read in small pieces, LISTING_OPENS (1000) files
# open at once cost a page or so each (not a copy of every socket each),
# and no read() does more than a page's work (the slowest read and open()
# plus the first page against the whole listing).
. tests/lib.sh

n=${LISTING_SOCKETS:-20000} k=${LISTING_OPENS:-1000}
setup_and_load "insmod"
out=$(ip netns exec $NS_S python3 tests/lib/listing.py --sockets "$n" --opens "$k")
echo "$out" | sed 's/^/# /'
v() { echo "$out" | awk -v k="$1" '$1 == k {print $2}'; }
if [ -z "$(v opens)" ]; then
	not_ok "the listing program ran to its end"
	ns_teardown
	unload
	exit 1
fi
expect_eq "$n sockets made" "$n" "$(v sockets)"
expect_eq "every UDP socket listed ($(v udp_sockets))" "$(v udp_sockets)" "$(v listed_distinct)"
expect_eq "none listed twice" "$(v listed)" "$(v listed_distinct)"
expect_eq "none missing" 0 "$(v missing)"
expect_eq "none extra" 0 "$(v extra)"
expect_eq "$k listings open at once" "$k" "$(v opens)"
# A page of buffer, the file and the cursor: under 32 KiB each. A
# snapshot would be about 80 bytes a socket each (1.8 MB at 20,000).
check "$k open listings hold $(v open_kib) KiB (< $((k * 32)) KiB)" \
	test "$(v open_kib)" -lt $((k * 32))
full=$(v full_read_ms)
check "reads of 512 bytes: 99% under $(v p99_read_ms) ms (slowest $(v slowest_read_ms)), < 1/20 of the listing's $full ms" \
	awk -v s="$(v p99_read_ms)" -v f="$full" 'BEGIN { exit !(s * 20 < f) }'
check "open + first page $(v first_page_ms) ms, < 1/20 of the listing's $full ms" \
	awk -v s="$(v first_page_ms)" -v f="$full" 'BEGIN { exit !(s * 20 < f) }'
ns_teardown
unload
exit $T_FAILED
