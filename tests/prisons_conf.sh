#!/bin/bash
# prisons.conf(5) and pcbgjail -f FILE start|stop|restart|check: the
# configured prisons come up and go away; a bad file is reported with its
# line and makes nothing; a start that fails part way leaves nothing made;
# the man pages render; make install-tools / uninstall put and remove
# pcbgjail, its library, the man pages and the boot unit.
. tests/lib.sh

D=$(mktemp -d)
cp tests/lib/prisons.conf "$D/prisons.conf"
cat >"$D/bad.conf" <<'CONF'
web {
	jid = 10;
}
db {
	ip4.addr = 192.0.2.300;
}
CONF

unload
ns_setup
check "insmod" insmod "$KO"
in_ns() { ip netns exec $NS_S "$@"; }

out=$(in_ns $JAIL -f "$D/bad.conf" start 2>&1)
expect_eq "a bad file: its line and the reason" \
	"pcbgjail: $D/bad.conf:5: ip4.addr: '192.0.2.300' is not an address" "$out"
expect_eq "a bad file makes nothing" "" "$(in_ns $JAIL list | tail -n +2)"
check "check reads the file" sh -c "$JAIL -f $D/prisons.conf check | grep -q '^web (line 2): ip4.addr=192.0.2.11,192.0.2.12 ip6.addr=2001:db8::11 jid=10$'"

check "start" in_ns $JAIL -f "$D/prisons.conf" start
expect_eq "both prisons, as configured" \
	"db 192.0.2.21;web 192.0.2.11 192.0.2.12 2001:db8::11" \
	"$(in_ns $JAIL list | awk 'NR > 1 {$1 = $3 = $4 = ""; print}' |
		sed 's/^ *//; s/  */ /g' | sort | paste -sd';')"
check "web's jid as configured" sh -c "ip netns exec $NS_S $JAIL show web | grep -q '^jid=10 '"
expect_eq "start again: left as they are" "pcbgjail: web: already running" \
	"$(in_ns $JAIL -f "$D/prisons.conf" start web)"
# A prison's address must be one the host has.
ip -n $NS_S addr add 192.0.2.11/32 dev veth0
check "a prisoner of web binds its address" in_ns $JAIL exec web -- \
	python3 -c 'import socket; socket.socket().bind(("192.0.2.11", 0))'
check "and not another" in_ns $JAIL exec web -- python3 -c '
import socket, sys
try:
    socket.socket().bind(("192.0.2.1", 0))
except OSError:
    sys.exit(0)
sys.exit(1)'
check "restart one" in_ns $JAIL -f "$D/prisons.conf" restart db
check "stop" in_ns $JAIL -f "$D/prisons.conf" stop
expect_eq "stop removes them" "" "$(in_ns $JAIL list | tail -n +2)"

# The second prison cannot be made (its cgroup does not exist): the
# first, made by this start, goes again.
sed 's|ip6.addr = "";|cgroup = /sys/fs/cgroup/pcbgroup-no-such;|' \
	"$D/prisons.conf" >"$D/half.conf"
out=$(in_ns $JAIL -f "$D/half.conf" start 2>&1)
check "a start that fails part way says which ($out)" sh -c "echo '$out' | grep -q '^pcbgjail: db (line 7): .*; nothing started$'"
expect_eq "and leaves nothing made" "" "$(in_ns $JAIL list | tail -n +2)"

# Bad definitions on the command line: one line saying why, status 2,
# no prison and no cgroup left behind.
for bad in ip4.addr=192.0.2.300 ip6.addr=2001:db8::g jid=web; do
	out=$(in_ns $JAIL create bad $bad 2>&1)
	rc=$?
	check "create bad $bad: refused with status 2 ($rc) and one line ($out)" \
		test $rc = 2 -a "$(echo "$out" | wc -l)" = 1
	check "create bad $bad: no cgroup left" test ! -e /sys/fs/cgroup/pcbgroup/bad
done
expect_eq "and no prison made" "" "$(in_ns $JAIL list | tail -n +2)"

for m in man/pcbgjail.8 man/prisons.conf.5 man/pcbgroup-oci-hook.8; do
	check "$m renders without warnings" sh -c \
		"MANWIDTH=80 man --warnings -l $m 2>&1 >/dev/null | (! grep -q .) && man -l $m | grep -q NAME"
done
check "make install-tools" make -s install-tools DESTDIR="$D/root"
check "the installed pcbgjail finds its library" \
	"$D/root/usr/local/sbin/pcbgjail" -f "$D/prisons.conf" check
check "the installed hook runs" sh -c "echo '{\"id\":\"x\",\"status\":\"stopped\",\"annotations\":{\"pcbgroup.ip4\":\"192.0.2.9\"}}' | $D/root/usr/local/sbin/pcbgroup-oci-hook poststop"
check "the Podman hook file names it" grep -q '"path": "/usr/local/sbin/pcbgroup-oci-hook"' "$D/root/etc/containers/oci/hooks.d/pcbgroup.json"
check "make uninstall" make -s uninstall DESTDIR="$D/root"
expect_eq "uninstall leaves no file" 0 "$(find "$D/root" -type f | wc -l)"

rm -rf "$D"
check "rmmod" rmmod pcbgroup
ns_teardown
exit $T_FAILED
