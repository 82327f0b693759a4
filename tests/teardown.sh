#!/bin/bash
# Unloads racing namespace teardown: the reproducer for a NULL call seen
# once in sk_common_release() from cleanup_net() while the forwarding
# differential scenario unloaded. TEARDOWN_ROUNDS rounds (3 in make
# check, 100 in make soak) of tests/lib/teardown.py: load, forward
# traffic through a three-namespace path holding TCP, UDP, raw and ping
# sockets, then delete the namespaces and unload at once (either order).
# The host checks the guest's log (KASAN, lockdep, oops) after the run.
. tests/lib.sh

rounds=${TEARDOWN_ROUNDS:-3}
unload
out=$(python3 tests/lib/teardown.py --ko "$KO" --rounds "$rounds" 2>&1 | tail -12)
echo "$out" | sed 's/^/# /'
check "$rounds unloads racing namespace teardown, every forwarded message back ($(echo "$out" | tail -1))" \
	bash -c '[[ "$1" == *"rounds=$2 "*"lost=0" ]]' _ "$(echo "$out" | tail -1)" "$rounds"
for ns in pcbg-td-c pcbg-td-r pcbg-td-s; do ip netns del $ns 2>/dev/null; done
unload
exit $T_FAILED
