#!/bin/bash
# The concurrency suite, verify on throughout. While TCP and UDP clients on
# both vCPUs keep long connections busy and a churn client opens and
# closes sockets as fast as it can, four writers race each other: the RSS
# key, the bucket map, net.pcbgroup.enable, and namespaces that come and
# go with traffic of their own. Then rmmod/insmod cycles under the same
# traffic while writers hammer the parameters the unload is tearing down.
# Every message is counted at both ends: 0 lost, 0 misdelivered, 0
# mismatches, and nothing left behind (scripts/vm checks the log).
#
#   STRESS_SECONDS (default 30)  STRESS_RELOADS (default 25)
# STRESS_SECONDS=0 (make check) races only the work counted below: each
# writer's 11 writes, 3 namespaces and 1000 verified answers.
. tests/lib.sh

secs=${STRESS_SECONDS:-30}
reloads=${STRESS_RELOADS:-25}
stop=/tmp/stress.stop
ops=/tmp/stress.ops
rm -rf $stop $stop.writers $ops /tmp/stress.*.out
mkdir -p $ops
ncpu=$(nproc)


setup_and_load "insmod soft_hash=1 loopback=1 verify=1" soft_hash=1 loopback=1 verify=1
server_start $NS_S --addr 192.0.2.1 --addr 2001:db8::1 --tcp 7000 --udp 7001 \
	--lifetime 900

# client CPU NAME ARGS...: a traffic client pinned to a vCPU: the packets
# it sends are received, and looked up, on that CPU. Niced, so that the
# writers below get their turns on a saturated guest.
pids=()
client() {
	local cpu=$(($1 % ncpu)) name=$2
	shift 2
	taskset -c $cpu nice -n 5 ip netns exec $NS_C $TRAFFIC "$@" --until $stop \
		>/tmp/stress.$name.out 2>&1 &
	pids+=($!)
}
client 0 tcp4 tcp-client --addr 192.0.2.1 --conns 16 --rounds 1000000 --size 96 --timeout 900
client 1 tcp6 tcp-client --addr 2001:db8::1 --conns 16 --rounds 1000000 --size 96 --timeout 900
client 1 udp4 udp-client --addr 192.0.2.1 --socks 8 --connected --rounds 1000000 --wait 5 --timeout 900
client 0 udp6 udp-client --addr 2001:db8::1 --socks 8 --rounds 1000000 --wait 5 --timeout 900
client 0 churn0 churn --addr 192.0.2.1 --addr 2001:db8::1
client 1 churn1 churn --addr 2001:db8::1 --addr 192.0.2.1

# Mismatches and lookups of both ends, summed over the reloads (each
# insmod starts the counters again).
mism=0 looked=0 verified=0 raced=0
# proc_stats NAME...: the counters NAME of both ends, each summed. Through
# /proc/PID/net of a process in each namespace: no exec.
proc_stats() {
	cat /proc/{$SERVER_PID,${pids[0]}}/net/pcbgroup/stats 2>/dev/null |
		awk -v names="$*" '{s[$1] += $2}
			END {n = split(names, k, " "); for (i = 1; i <= n; i++) printf "%s%d", (i > 1 ? " " : ""), s[k[i]]}'
}
tally() {
	# shellcheck disable=SC2046 # four numbers, split on purpose
	set -- $(proc_stats mismatch lookups verified verify_race)
	mism=$((mism + $1)) looked=$((looked + $2)) verified=$((verified + $3))
	raced=$((raced + $4))
}

nap 2
t0=$EPOCHSECONDS
# Each writer does at least 11 writes and the churner makes at least 3
# namespaces, however little a busy machine lets them run in $secs s.
# Paced (a write every 0.2 s each): back to back, on the debug kernel,
# their rehashes took the guest's CPU from the traffic they race.
ip netns exec $NS_S python3 tests/lib/stress_ops.py --until $stop.writers \
	--out $ops/writers --key --map --flip --list --at-least 11 --interval 0.2 &
writers=$!
# Namespaces that come and go, each with a connection of its own over
# loopback (steered: loopback=1).
# With STRESS_SECONDS=0 it stops at its 3: back to back, on the debug
# kernel, namespaces took the CPU the traffic needed for its 1000.
churns=100000
[ "$secs" = 0 ] && churns=3
python3 tests/lib/netns.py churn --count $churns --until $stop.writers \
	--at-least 3 >$ops/netns 2>&1 &
churner=$!
nap "$secs"
# And on until the oracle has checked 1000 answers (at most 60 s more): a
# slow machine runs fewer lookups in $secs s, not a weaker test.
for ((try = 1; try <= 120; try++)); do
	[ "$(proc_stats verified)" -gt 1000 ] && break
	nap 0.5
done
touch $stop.writers
wait $writers $churner
echo "# writers: $(<$ops/writers); $(<$ops/netns) ($((EPOCHSECONDS - t0)) s, $(proc_stats verified) verified)"
ip netns exec $NS_S sysctl -qw net.pcbgroup.enable=1

# Phase 2: rmmod/insmod cycles while two writers race every unload.
t0=$EPOCHSECONDS
ip netns exec $NS_S python3 tests/lib/stress_ops.py --until $stop \
	--out $ops/racers --race --list &
racers=$!
done_reloads=0 cycle_fail=
for ((i = 1; i <= reloads; i++)); do
	tally
	t=$(date +%s.%N)
	if ! rmmod pcbgroup; then cycle_fail="rmmod $i"; break; fi
	t1=$(date +%s.%N)
	if ! insmod "$KO" soft_hash=1 loopback=1 verify=1; then cycle_fail="insmod $i"; break; fi
	echo "# reload $i: rmmod $(echo "$t1 - $t" | bc) s, insmod $(echo "$(date +%s.%N) - $t1" | bc) s"
	done_reloads=$((done_reloads + 1))
	nap 0.3
done
touch $stop
wait $racers
echo "# reloads: $done_reloads, racers: $(<$ops/racers) ($((EPOCHSECONDS - t0)) s)"
expect_eq "rmmod/insmod $reloads times under traffic, parameter writes racing${cycle_fail:+ (failed at $cycle_fail)}" \
	"$reloads" "$done_reloads"
check "steering ran after the last insmod" test "$(stat $NS_S lookups)" -gt 0
tally

for p in "${pids[@]}"; do wait "$p"; done
lost=0 bad=0 msgs=0
for f in tcp4 tcp6 udp4 udp6 churn0 churn1; do
	out=$(tail -1 /tmp/stress.$f.out)
	if echo "$out" | grep -q 'lost=0 misdelivered=0$'; then
		ok "$f: every message came back: $out"
	else
		not_ok "$f: $out"
	fi
	# shellcheck disable=SC2046 # the counts, split on purpose
	set -- $(echo "$out" | sed 's/[a-z]*=//g')
	msgs=$((msgs + ${1:-0})) lost=$((lost + ${3:-0})) bad=$((bad + ${4:-0}))
done
# opcount FILE NAME: operations of kind NAME the writers did.
opcount() { sed -n "s/.*\b$2=\([0-9]*\).*/\1/p" "$ops/$1"; }
key=$(opcount writers key) map=$(opcount writers map)
flip=$(opcount writers flip) race=$(opcount racers race)
list=$(opcount writers list) rlist=$(opcount racers list)
netns=$(opcount netns namespaces)
check "namespaces came and went, each connection intact ($(<$ops/netns))" \
	grep -q 'failed=0$' $ops/netns
check "more than 2 namespaces came and went ($netns)" test "${netns:-0}" -gt 2
check "the key changed under traffic ($key writes)" test "${key:-0}" -gt 10
check "the bucket map changed under traffic ($map writes)" test "${map:-0}" -gt 10
check "steering flipped under traffic ($flip flips)" test "${flip:-0}" -gt 10
check "parameter writes raced the unloads ($race rounds)" test "${race:-0}" -gt 0
check "the socket listing was read under churn ($list times)" test "${list:-0}" -gt 10
check "and through the unloads ($rlist times, $(opcount racers list_unloaded) cut by one)" \
	test "${rlist:-0}" -gt 0
check "the writers saw only ENOENT, ENODEV or EBUSY" \
	eval '! grep -q unexpected "$ops/racers" "$ops/writers"'
expect_eq "0 mismatches in $verified verified answers" 0 "$mism"
check "lookups were verified ($verified of $looked)" test "$verified" -gt 1000
echo "# stress figures: ${secs}s + $done_reloads reloads; messages=$msgs lost=$lost" \
	"misdelivered=$bad; lookups=$looked verified=$verified mismatches=$mism" \
	"raced=$raced;" \
	"key=$key map=$map flips=$flip netns=$netns race=$race"
server_stop
ns_teardown
check "rmmod" rmmod pcbgroup
rm -rf $ops $stop $stop.writers
exit $T_FAILED
