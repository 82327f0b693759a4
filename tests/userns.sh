#!/bin/bash
# What an unprivileged user can arm and allocate through the module: in a
# user and network namespace of its own (unshare -Urn, root there only),
# 40 raw sockets (more than raw_demux_min) do not arm the raw demux's
# redirection, which every packet of the host would then pass, and no
# prison can be made (a prison arms it, registers hooks, pins a cgroup,
# holds the module); its soft_hash=1 registers the steering hooks in its
# own namespace only, and from then on its new connections are placed
# (those it had stay the kernel's: no walk for a user's namespace). The
# host's root still can.
. tests/lib.sh

setup_and_load "insmod"
out=$(setpriv --reuid 65534 --regid 65534 --clear-groups unshare -Urn python3 - <<'PY'
import errno, os, socket, sys
sys.path.insert(0, "tools/lib")
import pcbg_genl
socks = [socket.socket(socket.AF_INET, socket.SOCK_RAW, 253) for _ in range(40)]
stats = dict(l.split()[:2] for l in open("/proc/net/pcbgroup/stats") if len(l.split()) >= 2)
try:
    pcbg_genl.Prisons().create("U", "/sys/fs/cgroup", ["192.0.2.50"])
    made = "ok"
except OSError as e:
    made = errno.errorcode.get(e.errno, str(e.errno))
print("raw_sockets=%s raw_armed=%s create=%s" % (stats.get("raw_sockets"), stats.get("raw_armed"), made))
PY
)
expect_eq "a user namespace's 40 raw sockets arm nothing; it makes no prison" \
	"raw_sockets=40 raw_armed=0 create=EPERM" "$out"
# soft_hash in its own namespace gives that namespace the steering hooks,
# which only its own packets pass; the host's namespaces keep what they had.
host=$(grep '^steer_hooks' /proc/net/pcbgroup/stats)
out=$(setpriv --reuid 65534 --regid 65534 --clear-groups unshare -Urn sh -c \
	'sysctl -qw net.pcbgroup.soft_hash=1 && grep "^steer_hooks" /proc/net/pcbgroup/stats')
expect_eq "a user namespace's soft_hash=1: hooks in its own namespace" "steer_hooks 1" "$out"
expect_eq "none added in the host's" "$host" "$(grep '^steer_hooks' /proc/net/pcbgroup/stats)"
expect_eq "nor in the test's namespace" 0 "$(stat $NS_S steer_hooks)"
# Its connections: none placed without the hooks; with them, the new
# ones, but no walk for those it had (the walk reads the host's table).
out=$(setpriv --reuid 65534 --regid 65534 --clear-groups unshare -Urn sh -c \
	'ip link set lo up && exec python3 -' <<'PY'
import socket, time
def exact():
    for l in open("/proc/net/pcbgroup/stats"):
        if l.split()[:1] == ["tcp_exact"]:
            return int(l.split()[1])
l = socket.create_server(("127.0.0.1", 0))
def pairs(n):
    c = [socket.create_connection(l.getsockname()) for _ in range(n)]
    return c + [l.accept()[0] for _ in range(n)]
held = pairs(3)
before = exact()
open("/proc/sys/net/pcbgroup/soft_hash", "w").write("1")
time.sleep(1)
hooked = exact()
held += pairs(2)
print("before=%d hooks_in=%d two_more=%d" % (before, hooked, exact()))
PY
)
expect_eq "a user namespace's connections: none placed, none walked, the new ones placed" \
	"before=0 hooks_in=0 two_more=4" "$out"
mkdir -p /sys/fs/cgroup/pcbgroup
check "the host's root makes a prison" ip netns exec $NS_S $JAIL create H ip4.addr=192.0.2.1
expect_eq "and it arms the redirection" 1 "$(stat $NS_S raw_armed)"
check "destroy it" ip netns exec $NS_S $JAIL destroy H
ns_teardown
unload
exit $T_FAILED
