#!/bin/bash
# Runs the KUnit suites (test kernel only) and prints their KTAP, then one
# line "kunit-totals: pass=P fail=F" that scripts/check adds up.
. tests/lib.sh
ko=out/test/pcbgroup_kunit.ko
mark="pcbgroup-kunit-start-$$"
echo "$mark" >/dev/kmsg
if ! insmod "$ko"; then
	echo "kunit-totals: pass=0 fail=1"
	exit 1
fi
rmmod pcbgroup_kunit
ktap=$(dmesg | sed -n "/$mark/,\$p" | sed 's/^\[[ 0-9.]*\] //' | tail -n +2)
echo "$ktap"
pass=0 fail=0
while read -r p f; do
	pass=$((pass + p))
	fail=$((fail + f))
done < <(echo "$ktap" | sed -n 's/^# Totals: pass:\([0-9]*\) fail:\([0-9]*\).*/\1 \2/p')
suites=$(echo "$ktap" | grep -c '^# Totals:')
[ "$suites" -gt 0 ] && [ "$pass" -gt 0 ] || fail=$((fail + 1))
echo "kunit-totals: pass=$pass fail=$fail"
[ "$fail" -eq 0 ]
