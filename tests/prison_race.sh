#!/bin/bash
# Prisoner sockets under racing threads (debug kernel: KASAN, lockdep,
# kmemleak): an unprivileged prisoner's threads race TCP_ULP (kTLS and
# unknown names), IPV6_ADDRFORM, bind, connect, accept and close on shared
# sockets while rmmod is tried over and over (the prison holds the module:
# every attempt must fail). At the end the prison counts exactly the
# sockets the prisoner still holds, and none once it exits. Then
# listeners come and go in a cgroup while a prison is made over it: the
# SYN rule's count of prisoners' listeners ends exact.
. tests/lib.sh

ATK="python3 tests/lib/prison_attack.py"
rounds=${RACE_ROUNDS:-1500}

setup_and_load "insmod"
ip -n $NS_S addr add 192.0.2.11/24 dev veth0
ip -n $NS_S addr add 2001:db8::11/64 dev veth0 nodad
mkdir -p /sys/fs/cgroup/pcbgroup
check "create prison R" ip netns exec $NS_S $JAIL create R ip4.addr=192.0.2.11 ip6.addr=2001:db8::11
rm -f /tmp/race.open
touch /tmp/race.hold
chmod 666 /tmp/race.hold
ip netns exec $NS_S $JAIL exec R -- $ATK race --rounds "$rounds" --port 9700 \
	--hold /tmp/race.hold --open /tmp/race.open &
pid=$!
tries=0 unloaded=0
# Bounded: at most 1200 attempts (the race itself is bounded in rounds).
while [ $tries -lt 1200 ] && [ ! -s /tmp/race.open ] && kill -0 $pid 2>/dev/null; do
	rmmod pcbgroup 2>/dev/null && unloaded=1 && break
	tries=$((tries + 1))
	nap 0.05
done
expect_eq "rmmod refused on each of $tries attempts during the race" 0 "$unloaded"
check "the race finished its $rounds rounds" test -s /tmp/race.open
n=$(cat /tmp/race.open 2>/dev/null)
socks=$(ip netns exec $NS_S $JAIL show R | sed -n 's/.* sockets=\([0-9]*\) .*/\1/p')
expect_eq "the prison counts exactly the sockets its prisoner holds" "$n" "$socks"
rm -f /tmp/race.hold
check "the prisoner exits cleanly" wait $pid
socks=$(ip netns exec $NS_S $JAIL show R | sed -n 's/.* sockets=\([0-9]*\) .*/\1/p')
expect_eq "no socket left in the prison" 0 "$socks"
echo "# prison_denied $(stat $NS_S prison_denied), prison_unconfined $(stat $NS_S prison_unconfined)"
expect_eq "no prisoner socket left unconfined" 0 "$(stat $NS_S prison_unconfined)"

# Listeners against a prison made over their cgroup: four unprivileged
# processes (nobody) open
# and close wildcard listeners (bound, and listen() before bind()) while
# a prison is made over their cgroup with attach. A SYN is the kernel's
# only on a port where the count of prisoners' listeners says none
# listens: once the churn stops the count must be exact, and the
# prisoners' listeners must refuse the host's address. Each round ends
# with pcbgjail destroy, which kills the churners (as jail -r does).
CHURN="python3 tests/lib/listen_churn.py"
NOBODY="setpriv --reuid 65534 --regid 65534 --clear-groups --no-new-privs"
CGL=/sys/fs/cgroup/pcbg-listen
lrounds=${LISTEN_ROUNDS:-4}
mkdir -p $CGL
ip -n $NS_S addr add 192.0.2.12/24 dev veth0
counted=0 refused=0 taken=0
for ((r = 1; r <= lrounds; r++)); do
	rm -f /tmp/churn.stop /tmp/churn.out.*
	touch /tmp/churn.release
	for i in 1 2 3 4; do
		in_cg $CGL $NOBODY $CHURN churn 9800 9832 8 /tmp/churn.stop \
			/tmp/churn.out.$i /tmp/churn.release &
	done
	for i in 1 2 3 4; do wait_file /tmp/churn.out.$i.ready 30; done
	ip netns exec $NS_S $JAIL create Q$r cgroup=$CGL attach ip4.addr=192.0.2.12 \
		ip6.addr= >/dev/null || not_ok "create Q$r over the churning listeners"
	nap 0.3
	touch /tmp/churn.stop
	for i in 1 2 3 4; do wait_file /tmp/churn.out.$i 30; done
	held=$(cat /tmp/churn.out.* | awk '{s += $1} END {print s + 0}')
	port=$(cat /tmp/churn.out.* | awk 'NF > 1 {print $2; exit}')
	# A listener made without a port is placed a tick later: up to 3 s.
	for ((try = 0; try < 30; try++)); do
		[ "$(stat $NS_S tcp_jail_unknown)" = 0 ] && break
		nap 0.1
	done
	n=$(stat $NS_S tcp_jail_listeners) u=$(stat $NS_S tcp_jail_unknown)
	echo "# round $r: $held listeners held, $n counted, $u cannot tell, port $port"
	[ "$n" = "$held" ] && [ "$u" = 0 ] && counted=$((counted + 1))
	if [ -n "$port" ]; then
		[ "$(ip netns exec $NS_C $CHURN probe 192.0.2.12 $port)" = connected ] &&
			taken=$((taken + 1))
		[ "$(ip netns exec $NS_C $CHURN probe 192.0.2.1 $port)" != connected ] &&
			refused=$((refused + 1))
	fi
	rm -f /tmp/churn.release
	ip netns exec $NS_S $JAIL destroy Q$r || not_ok "destroy Q$r"
	wait
done
expect_eq "the SYN rule counted every prisoner's listener, and could tell, in each round" \
	"$lrounds" "$counted"
expect_eq "a prisoner's listener took its prison's address in each round" "$lrounds" "$taken"
expect_eq "and refused the host's in each round" "$lrounds" "$refused"
nap 0.5
expect_eq "no prisoner's listener counted once they are gone" 0 "$(stat $NS_S tcp_jail_listeners)"
rmdir $CGL
check "destroy R" ip netns exec $NS_S $JAIL destroy R
ns_teardown
check "rmmod once the prison is gone" rmmod pcbgroup
exit $T_FAILED
