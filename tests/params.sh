#!/bin/bash
# Module parameters: load-time values, sysfs reads and writes, refusal of
# bad values, modinfo descriptions, clean unload.
. tests/lib.sh

KEY52=$(printf '%02x' $(seq 0 51) | tr -d '\n')
KEY40C=6d:5a:56:da:25:5b:0e:c2:41:67:25:3d:43:a3:8f:b0:d0:ca:2b:cb:ae:7b:30:b4:77:cb:2d:a3:80:30:f2:0c:6a:42:b7:3b:be:ac:01:fa
KEY40=$(echo $KEY40C | tr -d :)
ncpu=$(nproc)
last=$((ncpu - 1))

unload
check "insmod with key, bits, bucket_mapping" \
	insmod "$KO" key="$KEY52" bits=3 bucket_mapping="0:$last,1:0"
expect_eq "key read back" "$KEY52" "$(<$P/key)"
expect_eq "bits read back" 3 "$(<$P/bits)"
expect_eq "buckets follow bits" 8 "$(<$P/buckets)"
expect_eq "mask follows bits" 0x7 "$(<$P/mask)"
expect_eq "bucket_mapping set at load" "0:$last 1:0" \
	"$(cut -d' ' -f1-2 $P/bucket_mapping)"

check "key written at runtime (ethtool -x colon format)" \
	sh -c "echo $KEY40C > $P/key"
expect_eq "runtime key read back" "$KEY40" "$(<$P/key)"
check "bucket_mapping written at runtime" \
	sh -c "echo '2:$last 3:0' > $P/bucket_mapping"
expect_eq "runtime bucket_mapping read back" "2:$last 3:0" \
	"$(cut -d' ' -f3-4 $P/bucket_mapping)"

refuse "key of 39 bytes refused" "Invalid argument" $P/key "${KEY40:2}"
refuse "key of 41 bytes refused" "Invalid argument" $P/key "${KEY40}00"
refuse "non-hex key refused" "Invalid argument" $P/key "zz${KEY40:2}"
refuse "bits 0 refused" "Invalid argument" $P/bits 0
refuse "bits 8 (too many) refused" "Invalid argument" $P/bits 8
refuse "non-numeric bits refused" "Invalid argument" $P/bits three
refuse "bucket out of range refused" "Invalid argument" $P/bucket_mapping "8:0"
refuse "CPU not online refused" "Invalid argument" $P/bucket_mapping "0:$ncpu"
refuse "CPU beyond nr_cpu_ids refused" "Invalid argument" $P/bucket_mapping "0:4096"
refuse "malformed mapping refused" "Invalid argument" $P/bucket_mapping "0-1"
refuse "good pair before a bad one refused" "Invalid argument" \
	$P/bucket_mapping "0:0 9:0"
refuse "resizing refused while the groups are in use" "Device or resource busy" \
	$P/bits 4
check "same bits accepted" sh -c "echo 3 > $P/bits"
refuse "read-only buckets refused" "Permission denied" $P/buckets 4

for t in group_chains index_size; do
	check "$t readable" test -n "$(<$P/$t)"
done
refuse "raw_demux_min=0 refused" "Invalid argument" $P/raw_demux_min 0
refuse "raw_demux_min=65537 refused" "Invalid argument" $P/raw_demux_min 65537
refuse "raw_demux_min=x refused" "Invalid argument" $P/raw_demux_min x
for sc in enable verify soft_hash loopback raw_demux; do
	refuse "sysctl net.pcbgroup.$sc=2 refused" "Invalid argument" \
		/proc/sys/net/pcbgroup/$sc 2
	refuse "sysctl net.pcbgroup.$sc=x refused" "Invalid argument" \
		/proc/sys/net/pcbgroup/$sc x
done
check "rmmod" rmmod pcbgroup
check "not loaded after rmmod" sh -c '! test -d /sys/module/pcbgroup'

check "insmod with a bad key fails" sh -c "! insmod $KO key=abc 2>/dev/null"
check "insmod with bits=9 fails" sh -c "! insmod $KO bits=9 2>/dev/null"
check "insmod with an offline CPU fails" \
	sh -c "! insmod $KO bucket_mapping=0:$ncpu 2>/dev/null"
check "insmod with group_chains=1000 fails" \
	sh -c "! insmod $KO group_chains=1000 2>/dev/null"
check "insmod with raw_demux_min=0 fails" \
	sh -c "! insmod $KO raw_demux_min=0 2>/dev/null"
check "nothing loaded after failed loads" sh -c '! test -d /sys/module/pcbgroup'

check "insmod with defaults" insmod "$KO"
want_bits=$(python3 -c "n=$ncpu; print(min(7, (n-1).bit_length() + 1))")
expect_eq "default bits fls(ncpus-1)+1" "$want_bits" "$(<$P/bits)"
expect_eq "default key" "$KEY40" "$(<$P/key)"
rr=$(python3 -c "n=$ncpu; print(' '.join('%d:%d' % (b, b % n) for b in range(1 << $want_bits)))")
expect_eq "default round-robin mapping" "$rr" "$(<$P/bucket_mapping)"
check "rmmod" rmmod pcbgroup

missing=$(modinfo -F parm "$KO" | awk -F: '$2 == "" || $2 ~ /^ *\(/ {print $1}')
parms=$(modinfo -F parm "$KO" | wc -l)
check "modinfo lists parameters" test "$parms" -ge 5
expect_eq "modinfo: every parameter has a description" "" "$missing"
check "modinfo: license GPL" sh -c "modinfo -F license $KO | grep -qx GPL"
exit $T_FAILED
