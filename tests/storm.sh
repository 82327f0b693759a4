#!/bin/bash
# Resync storms on demand: 300 processes of an unprivileged user connect
# one UDP socket over and over (a kretprobe that runs out of instances
# misses calls, and a miss makes every namespace's UDP table untrusted
# until a walk). The walks such a storm causes are bounded in rate: at
# most one a second in each namespace, the storm's and an unrelated one,
# however many probes missed; UDP traffic is intact throughout.
. tests/lib.sh

setup_and_load "insmod"
server_start $NS_S --addr 192.0.2.1 --tcp 7000 --udp 7001
r0s=$(stat $NS_S resync) r0c=$(stat $NS_C resync)
t0=$EPOCHSECONDS
out=$(ip netns exec $NS_S setpriv --reuid 65534 --regid 65534 --clear-groups python3 -c '
import os, socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.monotonic() + 4
pids = []
for _ in range(300):
    pid = os.fork()
    if pid == 0:
        i = 0
        while time.monotonic() < end and i < 2000:
            i += 1
            try:
                s.connect(("192.0.2.2", 9 + i % 50))
            except OSError:
                pass
        os._exit(0)
    pids.append(pid)
for pid in pids:
    os.waitpid(pid, 0)
print("300 processes")')
secs=$((EPOCHSECONDS - t0 + 1))
nap 1.5
check "UDP traffic intact after the storm" ip netns exec $NS_C $TRAFFIC udp-client \
	--addr 192.0.2.1 --socks 4 --rounds 20
rs=$(($(stat $NS_S resync) - r0s)) rc=$(($(stat $NS_C resync) - r0c))
echo "# $out connecting one socket for ${secs} s; probe misses $(stat $NS_S udp_probe_missed); walks: storm's namespace $rs, other $rc"
check "walks in the storm's namespace bounded: $rs for ${secs} s" test "$rs" -le $((secs + 2))
check "walks in an unrelated namespace bounded: $rc for ${secs} s" test "$rc" -le $((secs + 2))
server_stop
ns_teardown
unload
exit $T_FAILED
