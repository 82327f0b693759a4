#!/bin/bash
# Loads and unloads a module RELOAD_ROUNDS times (default 20) back to
# back while tests/reload/hammer makes, binds, connects, disconnects and
# closes UDP, raw and TCP sockets of both families from four processes:
# the functions pcbgroup probes run on every CPU while the probes are
# armed and disarmed. RELOAD_MODULE=pcbgroup (default) or probes, the
# control (tests/reload/probes.c: the same probes, counting handlers).
# Each pcbgroup round makes a prison, which hooks sock_alloc_file().
# The host checks the guest's log (oops, lockdep, KASAN) after the run.
. tests/lib.sh

rounds=${RELOAD_ROUNDS:-20}
limit=${RELOAD_SECONDS:-500}
case ${RELOAD_MODULE:-pcbgroup} in
pcbgroup) ko=$KO ;;
probes) ko=$(dirname "$KO")/pcbgroup_probes.ko ;;
*) not_ok "RELOAD_MODULE must be pcbgroup or probes"; exit 1 ;;
esac
name=$(basename "$ko" .ko)
# pcbgroup hooks sock_alloc_file() with its first prison that restricts
# addresses: one made and destroyed each round, so the hook comes and
# goes (at rmmod) under the hammer too.
cg=/sys/fs/cgroup/pcbg-reload
arm_prisons() {
	[ "$name" = pcbgroup ] || return 0
	$JAIL create reload ip4.addr=192.0.2.99 cgroup=$cg >/dev/null &&
		$JAIL destroy reload
}
mkdir -p $cg
unload
rmmod "$name" 2>/dev/null
check "the hammer builds" gcc -O2 -Wall -Werror -o /tmp/hammer tests/reload/hammer.c
/tmp/hammer 3600 4 >/tmp/hammer.out &
hammer=$!
nap 1
fails=0 start=$SECONDS
done_=0
for ((n = 1; n <= rounds; n++)); do
	[ $((SECONDS - start)) -lt "$limit" ] || break
	if ! { insmod "$ko" && arm_prisons && rmmod "$name"; }; then
		fails=$((fails + 1))
	fi
	done_=$n
	[ $((n % 5)) -ne 0 ] || echo "# $n rounds in $((SECONDS - start)) s"
done
secs=$((SECONDS - start))
check "the hammer ran throughout" kill -0 "$hammer"
pkill -f /tmp/hammer
wait "$hammer"
made=$(awk '{s += $3} END {print s + 0}' /tmp/hammer.out)
echo "# $done_ loads and unloads of $name in $secs s under the hammer ($made sockets made)"
check "the hammer's four workers made sockets ($made)" \
	test "$(grep -c sockets /tmp/hammer.out)" = 4 -a "$made" -gt 0
expect_eq "$rounds loads and unloads of $name under the hammer" "$rounds failed 0" "$done_ failed $fails"
rmdir $cg
exit $T_FAILED
