#!/bin/bash
# Another IPMODIFY user on a function the module redirects (a livepatch of
# __udp4_lib_lookup(), here tests/conflict/ipmodify.c holding it as one
# would): loaded first, the module stands aside from UDP lookups, says so
# and loads; loaded second, the other is refused and the module goes on.
# UDP to connected sockets arrives in full either way. The same holder on
# sock_alloc_file() (the hook that gives a prisoner's sockets their
# operations, placed with the first prison that restricts addresses): the
# module loads and refuses every such prison, since it could not confine
# one; without a prison it leaves the function alone.
. tests/lib.sh

IPM=$(dirname "$KO")/pcbgroup_ipmodify.ko

# udp_rx: 8 connected sockets on 192.0.2.1:7400, 5 datagrams to each from
# its peer; prints how many arrived.
udp_rx() {
	ip netns exec $NS_S python3 -c '
import select, socket, subprocess
srv = []
for i in range(8):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("192.0.2.1", 7400))
    s.connect(("192.0.2.2", 21000 + i))
    srv.append(s)
subprocess.run(["ip", "netns", "exec", "'$NS_C'", "python3", "-c", """
import socket
for i in range(8):
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    c.bind(("192.0.2.2", 21000 + i))
    for k in range(5):
        c.sendto(b"x", ("192.0.2.1", 7400))
    c.close()
"""], check=True)
got = 0
while True:
    r, _, _ = select.select(srv, [], [], 1.0)
    if not r:
        break
    for s in r:
        s.recv(64)
        got += 1
print(got)'
}

unload
rmmod pcbgroup_ipmodify 2>/dev/null
ns_setup
check "a livepatch stand-in holds __udp4_lib_lookup" insmod "$IPM" func=__udp4_lib_lookup
check "insmod with the function held" insmod "$KO"
check "the module says it stands aside" sh -c 'dmesg | tail -20 | grep -q "cannot redirect __udp4_lib_lookup"'
expect_eq "udp_lookup off" N "$(</sys/module/pcbgroup/parameters/udp_lookup)"
expect_eq "connected UDP, lookups the kernel's" 40 "$(udp_rx)"
expect_eq "no answers in the lookup function" 0 "$(stat $NS_S hit_exact)"
check "rmmod" rmmod pcbgroup
check "the stand-in unloads" rmmod pcbgroup_ipmodify

check "insmod" insmod "$KO"
expect_eq "udp_lookup on" Y "$(</sys/module/pcbgroup/parameters/udp_lookup)"
expect_eq "connected UDP, answered by the module" 40 "$(udp_rx)"
# All but the datagrams of the one socket first in its hash2 chain, which
# the kernel's UDP early demux takes before the lookup function.
hits=$(stat $NS_S hit_exact)
check "datagrams answered in the lookup function: $hits (at least 35)" test "$hits" -ge 35
check "a livepatch stand-in cannot take __udp4_lib_lookup from the module" \
	sh -c "! insmod $IPM func=__udp4_lib_lookup 2>/dev/null"
expect_eq "connected UDP after the refusal" 40 "$(udp_rx)"
check "rmmod" rmmod pcbgroup
check "the function is free again" insmod "$IPM" func=__udp4_lib_lookup
check "the stand-in unloads" rmmod pcbgroup_ipmodify

check "a livepatch stand-in holds sock_alloc_file" insmod "$IPM" func=sock_alloc_file
check "insmod with sock_alloc_file held" insmod "$KO"
mkdir -p /sys/fs/cgroup/pcbg-conflict
err=$(ip netns exec $NS_S $JAIL create held ip4.addr=192.0.2.1 \
	cgroup=/sys/fs/cgroup/pcbg-conflict 2>&1) &&
	not_ok "an address-restricted prison made without the hook" ||
	ok "an address-restricted prison refused without the hook: $err"
check "the module says it cannot confine" sh -c 'dmesg | tail -20 | grep -q "cannot hook sock_alloc_file"'
check "a vnet prison (no address check) still made" \
	ip netns exec $NS_S $JAIL create vn vnet cgroup=/sys/fs/cgroup/pcbg-conflict
check "and destroyed" ip netns exec $NS_S $JAIL destroy vn
expect_eq "connected UDP, answered by the module" 40 "$(udp_rx)"
check "the stand-in unloads" rmmod pcbgroup_ipmodify
# The hook comes with the first prison that restricts addresses.
check "with the function free, the prison is made" \
	ip netns exec $NS_S $JAIL create held ip4.addr=192.0.2.1 cgroup=/sys/fs/cgroup/pcbg-conflict
check "a livepatch stand-in cannot take sock_alloc_file from the module" \
	sh -c "! insmod $IPM func=sock_alloc_file 2>/dev/null"
check "the prison destroyed" ip netns exec $NS_S $JAIL destroy held
check "the hook stays until unload" sh -c "! insmod $IPM func=sock_alloc_file 2>/dev/null"
check "rmmod" rmmod pcbgroup
check "insmod, no prison" insmod "$KO"
check "without a prison the module leaves sock_alloc_file alone" insmod "$IPM" func=sock_alloc_file
check "the stand-in unloads" rmmod pcbgroup_ipmodify
check "rmmod" rmmod pcbgroup
rmdir /sys/fs/cgroup/pcbg-conflict
ns_teardown
exit $T_FAILED
