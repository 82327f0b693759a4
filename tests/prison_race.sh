#!/bin/bash
# Prisoner sockets under racing threads (debug kernel: KASAN, lockdep,
# kmemleak): an unprivileged prisoner's threads race TCP_ULP (kTLS and
# unknown names), IPV6_ADDRFORM, bind, connect, accept and close on shared
# sockets while rmmod is tried over and over (the prison holds the module:
# every attempt must fail). At the end the prison counts exactly the
# sockets the prisoner still holds, and none once it exits.
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
check "destroy R" ip netns exec $NS_S $JAIL destroy R
ns_teardown
check "rmmod once the prison is gone" rmmod pcbgroup
exit $T_FAILED
