# Helpers for the system tests, sourced by each tests/*.sh in the
# guest. Each check prints "ok - NAME" or "not ok - NAME: why"; the host
# (scripts/check) counts them.
# shellcheck shell=bash

KO=${KO:-out/${PCBG_KERNEL:-test}/pcbgroup.ko}
P=/sys/module/pcbgroup/parameters
T_FAILED=0	# what each test exits with
export T_FAILED

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; T_FAILED=1; }

# check NAME CMD...: passes when CMD succeeds.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

# expect_eq NAME WANT GOT
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: want '$2', got '$3'"; fi
}

# refuse NAME ERRNO-TEXT FILE VALUE: the write must fail with that error
# and leave the file as it was.
refuse() {
	local name=$1 want=$2 file=$3 val=$4 before after err
	before=$(<"$file")
	err=$( (printf '%s' "$val" >"$file") 2>&1)
	after=$(<"$file")
	if [ -z "$err" ]; then
		not_ok "$name: write of '$val' accepted"
	elif ! echo "$err" | grep -q "$want"; then
		not_ok "$name: want '$want', got '$err'"
	elif [ "$before" != "$after" ]; then
		not_ok "$name: value changed from '$before' to '$after'"
	else
		ok "$name"
	fi
}

# nap SECONDS: sleep without a process (read(2) with a timeout on a pipe
# nobody writes). A process costs tens of milliseconds of a TCG guest's
# CPU: a wait loop forking sleep ten times a second would take a third of
# the CPU from the work it waits for.
exec {NAP_FD}<> <(:)
nap() { read -rt "$1" -u "$NAP_FD" _ || true; }

# lap NAME: the seconds since the previous lap (or the test's start), for
# the log: where a long test spends its time.
LAP_T=$SECONDS
lap() {
	echo "# $1 took $((SECONDS - LAP_T)) s"
	LAP_T=$SECONDS
}

loaded() { [ -d /sys/module/pcbgroup ]; }

# probe_build FILE: tests/oci/probe.c, static (it runs in roots without
# a libc), as FILE: the copy scripts/vm built on the host, or built here.
probe_build() {
	local built=${PCBG_OUT:-/tmp/out}/.probe
	[ -x "$built" ] && cp "$built" "$1" && return
	gcc -static -O1 -o "$1" tests/oci/probe.c && return
	not_ok "the probe builds"
	return 1
}

unload() { ! loaded || rmmod pcbgroup; }

# Two namespaces joined by a veth pair (documentation addresses only):
#
#   [ $NS_S: veth0 192.0.2.1/24 2001:db8::1/64 ] <-> [ $NS_C: veth1 192.0.2.2 2001:db8::2 ]
#        server side                                      client side
NS_S=pcbg-srv
NS_C=pcbg-cli
ns_setup() {
	ns_teardown
	pair_setup $NS_S $NS_C
}

# pair_setup SERVER CLIENT: two namespaces with the addresses above. The
# ip commands go in batches (ip -batch): a process costs tens of
# milliseconds of a TCG guest's CPU.
pair_setup() {
	printf '%s\n' "netns add $1" "netns add $2" | ip -b - &&
	# No router solicitations: no traffic the test did not send.
	ip netns exec "$1" sysctl -qw net.ipv6.conf.default.router_solicitations=0 &&
	ip netns exec "$2" sysctl -qw net.ipv6.conf.default.router_solicitations=0 &&
	printf '%s\n' "link add veth0 type veth peer name veth1 netns $2" \
		"addr add 192.0.2.1/24 dev veth0" "addr add 2001:db8::1/64 dev veth0 nodad" \
		"link set veth0 up" "link set lo up" | ip -n "$1" -b - &&
	printf '%s\n' "addr add 192.0.2.2/24 dev veth1" "addr add 2001:db8::2/64 dev veth1 nodad" \
		"link set veth1 up" "link set lo up" | ip -n "$2" -b -
}
# setup_and_load NAME PARAMS...: the two namespaces above and the module,
# in the order PCBG_NS_ORDER says: "before" (the default: namespaces
# first, the module loaded into a running host) or "after" (the module
# first, the namespaces made later, as new containers are).
setup_and_load() {
	local name=$1
	shift
	if [ "${PCBG_NS_ORDER:-before}" = after ]; then
		check "$name (namespaces made after load)" insmod "$KO" "$@"
		ns_setup
	else
		ns_setup
		check "$name" insmod "$KO" "$@"
	fi
}
ns_teardown() {
	printf '%s\n' "netns del $NS_S" "netns del $NS_C" | ip -force -b - 2>/dev/null
	true
}

# fresh_pair: the two namespaces above made anew, for one run of a
# benchmark's connection-rate row (scripts/bench-guest), and the old
# ones' teardown waited for: a run must not inherit the TIME_WAIT sockets
# of the runs before it. Thousands of them made the next run up to 1.8
# times slower (the same mode, the module loaded or not), and the rows
# rotate their modes over the runs.
fresh_pair() {
	ns_teardown
	if loaded; then
		instances_settle 1 30
	else
		nap 1
	fi
	pair_setup $NS_S $NS_C
}

# The connect+bind+close cycle (bench/prison_rate.c) of scripts/bench-guest
# and scripts/pc-profile-guest, one run in MODE (unloaded; defaults: loaded,
# no prison; unjailed: loaded, beside a prison; prisoner; jailsrv: the
# server a prisoner, of two addresses, so its wildcard listener stays one
# and its port is a prisoner's): cycle_start MODE [PIN...] loads or
# unloads the module, makes fresh namespaces, a prison of the client's
# address for unjailed and prisoner (of the server's for jailsrv), and
# starts the server (under PIN, e.g. taskset -c 0); cycle_client MODE N
# [PIN...] runs N cycles and prints the client's rate; cycle_end MODE
# stops the server and destroys the prison (it holds the module: before
# any unload).
cycle_start() {
	local mode=$1
	shift
	# A fresh load for defaults: a prison's hooks stay until unload.
	if [ $mode = unloaded ] || [ $mode = defaults ]; then
		unload
	fi
	[ $mode = unloaded ] || loaded || insmod $KO
	fresh_pair
	cycle_jailed $mode &&
		ip netns exec $NS_S $JAIL create bench ip4.addr=192.0.2.1 >/dev/null
	if [ $mode = jailsrv ]; then
		# A cgroup of its own: a prisoner mode's may still be held.
		ip netns exec $NS_C $JAIL create benchsrv ip4.addr=192.0.2.2,192.0.2.3 >/dev/null
		ip netns exec $NS_C $JAIL exec benchsrv -- "$@" out/prison_rate server 7400 &
	else
		ip netns exec $NS_C "$@" out/prison_rate server 7400 &
	fi
	cycle_sp=$!
	# Until it listens (pcbgjail exec, in Python, starts slowly in TCG).
	local try
	for ((try = 1; try <= 50; try++)); do
		[ -n "$(ip netns exec $NS_C ss -Hltn 'sport = :7400')" ] && break
		nap 0.2
	done
}
cycle_client() {
	local mode=$1 n=$2
	shift 2
	if [ $mode = prisoner ]; then
		ip netns exec $NS_S $JAIL exec bench -- "$@" \
			out/prison_rate client 192.0.2.1 192.0.2.2 7400 $n
	else
		ip netns exec $NS_S "$@" out/prison_rate client 192.0.2.1 192.0.2.2 7400 $n
	fi
}
cycle_end() {
	kill $cycle_sp
	wait $cycle_sp 2>/dev/null
	! cycle_jailed $1 || ip netns exec $NS_S $JAIL destroy bench
	[ $1 != jailsrv ] || ip netns exec $NS_C $JAIL destroy benchsrv
}
cycle_jailed() { [ $1 = unjailed ] || [ $1 = prisoner ]; }
# tcprx_count ROUNDS: 64 B segments over 1000 established flows between
# the test namespaces, client and server on CPU 0 (bench/tcprx.c count:
# ROUNDS rounds in the cache model's window); prints "segments=N". For
# the bench's rxcount section and scripts/pc-profile's tcprx mode.
tcprx_count() {
	local sp
	rm -f /tmp/tcprx.out
	ip netns exec $NS_S taskset -c 0 out/tcprx server 7300 /tmp/tcprx.out &
	sp=$!
	wait_file /tmp/tcprx.out 30
	ip netns exec $NS_C taskset -c 0 out/tcprx count 192.0.2.1 7300 1000 "$1"
	wait $sp
}
# udpcycle_count N: N UDP sockets' lives (bench/udpcycle.c: socket,
# connect, one datagram, close, in the cache model's window after its own
# warm-up) from the client namespace to a sink in the server's, both on
# CPU 0; prints "cycles=N". For the bench's rxcount section and
# scripts/pc-profile's udp mode.
udpcycle_count() {
	local sp
	rm -f /tmp/udpcycle.ready
	ip netns exec $NS_S taskset -c 0 out/udpcycle sink 9000 /tmp/udpcycle.ready &
	sp=$!
	wait_file /tmp/udpcycle.ready 30
	ip netns exec $NS_C taskset -c 0 out/udpcycle client 192.0.2.1 9000 "$1"
	bg_stop $sp
}
# udpcycle_beside N: udpcycle_count with a prison of 192.0.2.1 in the
# sink's namespace while the module is loaded (the sink is no prisoner:
# each datagram meets the prison's LOCAL_IN rule). For the bench's
# rxcount section and scripts/pc-profile's udpjail mode.
udpcycle_beside() {
	! loaded || ip netns exec $NS_S $JAIL create bench ip4.addr=192.0.2.1 >/dev/null
	udpcycle_count "$1"
	! loaded || ip netns exec $NS_S $JAIL destroy bench
}
# cycle_order R: the modes of run R, rotated so that none always follows
# another.
cycle_order() {
	case $(($1 % 4)) in
	1) echo unloaded defaults unjailed prisoner ;;
	2) echo prisoner unloaded defaults unjailed ;;
	3) echo unjailed prisoner unloaded defaults ;;
	0) echo defaults unjailed prisoner unloaded ;;
	esac
}

TRAFFIC="python3 tests/lib/traffic.py"

# pcbgjail as the tests run it: through python3, which in the guest is
# the fork server's front-end (scripts/guest-tests): a root caller's start
# costs 0.3 s less of a TCG guest's CPU, and the tests start it about a
# hundred times. The same program; prisons_conf.sh, systemd.sh and
# oci.sh's hook run it as installed, by its #! line.
JAIL="python3 $PWD/tools/pcbgjail"

# stat NS NAME: a counter from the namespace's /proc/net/pcbgroup/stats.
# Read by the shell through /proc/PID/net of a process known to be in NS
# (the last one found there, or the server of server_start; checked with
# -ef on /proc/PID/ns/net before and after the read), otherwise through
# busybox's nsenter and awk: static binaries, 20 ms a call in a TCG guest
# where ip netns exec and Debian's awk cost 0.1-0.5 s.
declare -A STAT_PID=()
stat() {
	local p k v fd val=
	for p in "${STAT_PID[$1]:-}" "${SERVER_PID:-}"; do
		[ -n "$p" ] && [[ /proc/$p/ns/net -ef /run/netns/$1 ]] || continue
		{ exec {fd}<"/proc/$p/net/pcbgroup/stats"; } 2>/dev/null || continue
		while read -r k v <&"$fd"; do
			[ "$k" = "$2" ] && val=$v && break
		done
		exec {fd}<&-
		if [[ /proc/$p/ns/net -ef /run/netns/$1 ]]; then
			STAT_PID[$1]=$p
			[ -z "$val" ] || echo "$val"
			return 0
		fi
	done
	busybox nsenter --net="/run/netns/$1" busybox awk -v n="$2" \
		'$1 == n {print $2}' /proc/net/pcbgroup/stats
}

# syn_prison NS: a prison in NS (address 192.0.2.50, its own cgroup), so
# that the groups answer SYNs there (pcbg_table_syn()); syn_prison_end NS
# takes it away. They answer a SYN only on a port where a prisoner may
# listen, counted per port modulo 256 (pcbg_port_jailed()): a prisoner
# listens on 192.0.2.50 at 256 consecutive ports, so every port counts
# (below the ephemeral range, which other listeners of a test may hold).
syn_prison() {
	ip -n "$1" addr add 192.0.2.50/32 dev veth0 &&
	mkdir -p "/sys/fs/cgroup/pcbg-syn-$1" &&
	ip netns exec "$1" $JAIL create syn ip4.addr=192.0.2.50 \
		cgroup="/sys/fs/cgroup/pcbg-syn-$1" >/dev/null || return 1
	rm -f "/tmp/syn-$1.ready"
	# In a subshell: no job of the test's shell, which may "wait" for all.
	(ip netns exec "$1" $JAIL exec syn -- python3 -c 'import socket, sys, time
held = []
for port in range(2304, 2560):
    s = socket.socket()
    s.bind(("192.0.2.50", port))
    s.listen(1)
    held.append(s)
open(sys.argv[1], "w").close()
time.sleep(86400)' "/tmp/syn-$1.ready" >/dev/null 2>&1 &)
	wait_file "/tmp/syn-$1.ready" 30
}
syn_prison_end() {
	ip netns exec "$1" $JAIL destroy syn &&
	rmdir "/sys/fs/cgroup/pcbg-syn-$1"
}
# soft_hash_set 0|1: net.pcbgroup.soft_hash in both test namespaces.
soft_hash_set() {
	ip netns exec "$NS_S" sysctl -qw net.pcbgroup.soft_hash="$1" &&
		ip netns exec "$NS_C" sysctl -qw net.pcbgroup.soft_hash="$1"
}
# in_cg CGROUP CMD...: run CMD in the server namespace, in CGROUP.
in_cg() {
	local cg=$1
	shift
	# ip netns exec's own sysfs hides the cgroup mount: mount it again.
	ip netns exec "$NS_S" sh -c 'mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
		echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg" "$@"
}

# wait_file FILE [SECONDS]: FILE appears within SECONDS (10) (a background
# process ready).
wait_file() {
	local try
	for ((try = 1; try <= ${2:-10} * 10; try++)); do
		[ -f "$1" ] && return 0
		nap 0.1
	done
	return 1
}

# bg_stop PID: a background process killed and reaped.
bg_stop() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	true
}

# server_start NS ARGS...: an echo server, waited for until it listens.
server_start() {
	local ns=$1
	shift
	rm -f /tmp/server.ready
	ip netns exec "$ns" $TRAFFIC server --ready /tmp/server.ready "$@" &
	SERVER_PID=$!
	wait_file /tmp/server.ready
}
server_stop() { bg_stop "$SERVER_PID"; }

# instances_settle WANT [SECS]: the module's instance count reaches WANT
# within SECS (default 10; namespace teardown is asynchronous).
instances_settle() {
	local try
	for ((try = 1; try <= ${2:-10} * 10; try++)); do
		[ "$(<$P/instances)" = "$1" ] && return 0
		nap 0.1
	done
	return 1
}

# stat_above NS NAME N [SECS]: the counter NAME of NS exceeds N within SECS
# (default 60): a check on work done, however slowly a busy host runs it.
# Polled twice a second: each read enters the namespace (two processes).
stat_above() {
	local try
	for ((try = 1; try <= ${4:-60} * 2; try++)); do
		[ "$(stat "$1" "$2")" -gt "$3" ] && return 0
		nap 0.5
	done
	return 1
}

# bt_start NAME ARGS...: bpftrace ARGS in the background (output in
# /tmp/NAME.out), waited for until attached and catching SIGINT (a
# background job of a script starts with SIGINT ignored: a Ctrl-C sent
# before bpftrace's handler is in place would be lost). Not the whole
# story: bpftrace 0.17 sometimes sleeps on after a caught SIGINT too;
# bt_stop sends it again. bt_launch and bt_attached are its two halves,
# for several tools started at once: most of a start and a stop is
# waiting (probes registered and unregistered), which they then share.
declare -A BT_PID=()
bt_start() {
	bt_launch "$@"
	bt_attached "$1"
	nap 1
}
bt_launch() {
	local name=$1
	shift
	bpftrace "$@" >/tmp/$name.out 2>&1 &
	BT_PID[$name]=$!
}
bt_attached() {
	local try
	for ((try = 1; try <= 600; try++)); do
		file_has /tmp/$1.out Attaching && bt_catches_int "$1" && break
		nap 0.1
	done
	check "$1: attached" file_has /tmp/$1.out Attaching
	check "$1: catches SIGINT" bt_catches_int "$1"
}
# (The waits read with the shell's own read: a grep or sed ten times a
# second took the CPU bpftrace needed to start.)
bt_catches_int() {
	local k v m=
	while read -r k v; do
		[ "$k" = SigCgt: ] && m=$v && break
	done 2>/dev/null </proc/${BT_PID[$1]}/status
	[ -n "$m" ] && (((16#$m >> 1) & 1))
}
bt_running() {
	local st
	read -r _ _ st _ 2>/dev/null </proc/${BT_PID[$1]}/stat && [ "$st" != Z ]
}
# file_has FILE ERE: a line of FILE matches the extended regular
# expression ERE, as grep -qE would say (without a process).
file_has() {
	local l
	while IFS= read -r l; do
		[[ $l =~ $2 ]] && return 0
	done 2>/dev/null <"$1"
	return 1
}
# bt_stop NAME [LINES]: bpftrace interrupted as a user does (Ctrl-C), its
# output shown. Bounded: one that does not exit within 60 s is a failure,
# with its threads' kernel stacks in the log, and is killed. bt_interrupt
# and bt_reap are its two halves, for several tools stopped at once.
bt_stop() {
	bt_interrupt "$1"
	bt_reap "$@"
}
bt_interrupt() { kill -INT "${BT_PID[$1]}"; }
bt_reap() {
	local i t bt=${BT_PID[$1]}
	for ((i = 1; i <= 600; i++)); do
		bt_running "$1" || break
		# Debian's bpftrace 0.17 now and then sleeps on in epoll_wait()
		# after the signal: Ctrl-C again, as a user would.
		[ $((i % 50)) = 0 ] && kill -INT $bt && echo "# $1: SIGINT again"
		nap 0.1
	done
	if bt_running "$1"; then
		not_ok "$1: bpftrace still running 60 s after SIGINT"
		for t in /proc/$bt/task/*; do
			echo "# $(<"$t/comm") $(cut -d' ' -f3 "$t/stat") $(<"$t/wchan")"
			sed 's/^/#   /' "$t/stack"
		done
		kill -KILL $bt
	fi
	wait $bt
	sed 's/^/# /' /tmp/$1.out | head -${2:-25}
}
