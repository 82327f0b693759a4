#!/bin/bash
# The OCI hook (tools/pcbgroup-oci-hook) with the runtimes Debian ships:
# runc, crun and Podman where installed (Podman finds the hook by the
# hooks.d file make install-tools puts in place, and its annotation
# filter). A host-network busybox container with
# pcbgroup.ip4=A tries to bind, connect and send from the host's other
# address B and from A, then serves on 0.0.0.0; a peer counts what
# arrives and connects to A and B. Module unloaded (the same container
# without the hook): everything works. Loaded, with the hook: only A does,
# and the container's exit removes its prison. With the hook and no
# module: the container does not start. The hook warns about, or with
# pcbgroup.strict=1 refuses, a container a prison cannot hold. Then
# pcbgjail attach on a running process: the socket it held stays
# unconfined and is listed; what it makes after is confined. Last, a
# service confined by the drop-in of pcbgjail(8).
. tests/lib.sh

RUNTIMES=$(for r in runc crun podman; do command -v $r >/dev/null && echo $r; done)
if [ -z "$RUNTIMES" ]; then
	not_ok "no OCI runtime (scripts/setup installs runc and crun)"
	exit 1
fi
HOOK=$PWD/tools/pcbgroup-oci-hook
H=pcbg-oci-host
PEER_NS=pcbg-oci-peer
A=203.0.113.11
B=203.0.113.12
PEER=203.0.113.1
D=$(mktemp -d)
chmod 755 "$D"

# The host network the containers share, and a peer that counts.
nets_setup() {
	nets_teardown
	ip netns add $H && ip netns add $PEER_NS &&
	ip link add h0 netns $H type veth peer name p0 netns $PEER_NS &&
	ip -n $H addr add $A/24 dev h0 && ip -n $H addr add $B/24 dev h0 &&
	ip -n $PEER_NS addr add $PEER/24 dev p0 &&
	ip -n $H link set h0 up && ip -n $PEER_NS link set p0 up &&
	ip -n $H link set lo up && ip -n $PEER_NS link set lo up
}
nets_teardown() {
	ip netns del $H 2>/dev/null
	ip netns del $PEER_NS 2>/dev/null
	true
}
in_h() { nsenter --net=/run/netns/$H "$@"; }

# A root of busybox and the probe, read-only, for every container.
mkdir -p "$D/rootfs/bin" "$D/rootfs/proc" "$D/rootfs/dev" "$D/rootfs/tmp"
cp /usr/bin/busybox "$D/rootfs/bin/busybox"
ln -s busybox "$D/rootfs/bin/sh"
probe_build "$D/rootfs/bin/probe" || exit 1

# Podman's copy, owned by its user namespace's root (uid 100000), which
# makes the mount points Podman wants in it.
cp -a "$D/rootfs" "$D/rootfs-podman"
mkdir -p "$D/rootfs-podman/etc" "$D/rootfs-podman/sys" "$D/rootfs-podman/run"
touch "$D/rootfs-podman/etc/resolv.conf" "$D/rootfs-podman/etc/hosts" \
	"$D/rootfs-podman/etc/hostname"
chown -R 100000:100000 "$D/rootfs-podman"

ATTEMPTS="probe bind $B; probe connect $B $PEER 9; probe send $B $PEER 9;
probe bind $A; probe connect $A $PEER 9; probe send $A $PEER 9;
exec probe serve 0.0.0.0 8080"

# Podman: its state in $D; the hook file as make install-tools installs
# it, in a hooks.d of its own (the hook's log added to its environment).
make -s install-tools PREFIX="$D/inst" HOOKSDIR="$D/hooks.d" UNITDIR="$D/inst"
python3 -c '
import json, sys
with open(sys.argv[1]) as f:
    h = json.load(f)
h["hook"]["env"] = [sys.argv[2]]
with open(sys.argv[1], "w") as f:
    json.dump(h, f)' "$D/hooks.d/pcbgroup.json" "PCBGROUP_HOOK_LOG=$D/hook.log"
mkdir -p "$D/no-hooks.d"
podman_() {
	in_h podman --root "$D/podman/root" --runroot "$D/podman/run" \
		--tmpdir "$D/podman/tmp" --cgroup-manager cgroupfs \
		--events-backend file --storage-driver vfs "$@"
}

# bundle RUNTIME NAME ARGS...: $D/NAME with a config from RUNTIME's spec;
# for Podman, $D/NAME.args: the options of podman run that say the same.
bundle() {
	local rt=$1 b=$D/$2
	shift 2
	if [ "$rt" = podman ]; then
		podman_args "$@" >"$b.args"
		return
	fi
	mkdir -p "$b" &&
	(cd "$b" && rm -f config.json && $rt spec >/dev/null 2>&1 &&
		mv config.json spec.json) &&
	python3 tests/lib/oci_bundle.py "$b/spec.json" "$b/config.json" \
		"$ATTEMPTS" --root "$D/rootfs" --hook-env "PCBGROUP_HOOK_LOG=$D/hook.log" "$@"
}

podman_args() {
	local hooks=$D/no-hooks.d
	while [ $# -gt 0 ]; do
		case "$1" in
		--userns) printf '%s\n' --uidmap 0:100000:65536 --gidmap 0:100000:65536 ;;
		--ann) printf '%s\n' --annotation "$2"; shift ;;
		--cap) printf '%s\n' --cap-add "$2"; shift ;;
		--hook) hooks=$D/hooks.d; shift ;;
		esac
		shift
	done
	printf '%s\n' --hooks-dir "$hooks"
}

# The peer: a TCP listener and a UDP socket on port 9, each source noted.
peer_start() {
	rm -f "$D/peer.log" "$D/peer.ready"
	ip netns exec $PEER_NS python3 -c '
import select, socket, sys
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("0.0.0.0", 9)); t.listen(16)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 9))
open(sys.argv[2], "w").close()
log = open(sys.argv[1], "a", buffering=1)
while True:
    for s in select.select([t, u], [], [], 60)[0]:
        if s is t:
            c, src = t.accept(); c.close(); log.write("tcp %s\n" % src[0])
        else:
            src = u.recvfrom(64)[1]; log.write("udp %s\n" % src[0])
' "$D/peer.log" "$D/peer.ready" &
	PEER_PID=$!
	wait_file "$D/peer.ready"
}
peer_stop() { bg_stop "$PEER_PID"; }

# reach ADDR: what the peer gets from ADDR:8080 ("hello", or the error).
reach() {
	ip netns exec $PEER_NS python3 -c '
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], 8080), timeout=3)
    print(s.recv(16).decode().strip() or "closed")
except OSError as e:
    print(type(e).__name__)
' "$1"
}

# wait_for FILE TEXT: TEXT appears in FILE within 30 s.
wait_for() {
	local try
	for ((try = 1; try <= 300; try++)); do
		file_has "$1" "$2" && return 0
		nap 0.1
	done
	return 1
}

# run RUNTIME ID BUNDLE: start the container detached, its output in
# $D/ID.out and $D/ID.err; returns the runtime's status.
run() {
	if [ "$1" = podman ]; then
		local args
		mapfile -t args <"$D/$3.args"
		# The container's output straight to $D/ID.out, as runc's.
		podman_ run -d --name "$2" --network host --log-driver passthrough \
			--annotation pcbgroup.name="oci-$2" "${args[@]}" \
			--rootfs "$D/rootfs-podman" /bin/sh -c "$ATTEMPTS" \
			>"$D/$2.out" 2>"$D/$2.err" </dev/null
		return
	fi
	in_h "$1" --root "$D/state-$1" run -d --bundle "$D/$3" "$2" \
		>"$D/$2.out" 2>"$D/$2.err" </dev/null
}
stop() {
	if [ "$1" = podman ]; then
		podman_ rm -f -t 0 "$2" >/dev/null 2>&1
		return
	fi
	in_h "$1" --root "$D/state-$1" kill "$2" KILL 2>/dev/null
	local try
	for ((try = 1; try <= 50; try++)); do
		in_h "$1" --root "$D/state-$1" delete "$2" 2>/dev/null && return 0
		nap 0.2
	done
	in_h "$1" --root "$D/state-$1" delete -f "$2" 2>/dev/null
}

# refused RUNTIME ID BUNDLE NAME TEXT: the container does not start, and
# the hook's log says TEXT (where the hook names a Podman container by its
# ID, not ID).
refused() {
	local want=$5 hex='[0-9a-f]\{64\}'
	[ "$1" != podman ] || want=${want/$2:/$hex:}
	if run "$1" "$2" "$3"; then
		not_ok "$4: it started"
		stop "$1" "$2"
	else
		check "$4" grep -q "$want" "$D/hook.log"
		[ "$1" != podman ] || stop "$1" "$2"	# Podman keeps it, created
	fi
}

# scenario RUNTIME MODE: MODE "unloaded" (no hook) or "loaded" (hook).
scenario() {
	local rt=$1 mode=$2 id=pcbg-$1-$2 want want_peer got
	peer_start || not_ok "$rt $mode: the peer starts"
	if [ "$mode" = unloaded ]; then
		bundle "$rt" "b-$id" --userns --ann pcbgroup.ip4=$A
		want="bind ok;connect ok;send ok;bind ok;connect ok;send ok;serve ok"
		want_peer="tcp $A;tcp $B;udp $A;udp $B"
	else
		bundle "$rt" "b-$id" --userns --ann pcbgroup.ip4=$A --hook "$HOOK"
		want="bind EADDRNOTAVAIL;connect EADDRNOTAVAIL;send EADDRNOTAVAIL;bind ok;connect ok;send ok;serve ok"
		want_peer="tcp $A;udp $A"
	fi
	if ! run "$rt" "$id" "b-$id"; then
		not_ok "$rt $mode: the container starts: $(tr '\n' ' ' <"$D/$id.err")"
		peer_stop
		return
	fi
	wait_for "$D/$id.out" "^serve" || not_ok "$rt $mode: the container serves"
	if [ "$mode" = loaded ]; then
		check "$rt: the hook made prison oci-$id, attached" \
			sh -c "nsenter --net=/run/netns/$H $JAIL show oci-$id | grep -q 'ip4.addr=$A ip6.addr= attached$'"
		# shellcheck disable=SC2016
		got=$(in_h awk '$6 == "0A" && $4 ~ /:8080$/ {print $12, $13}' /proc/net/pcbgroup/sockets)
		case "$got" in
		"0 "*|"") not_ok "$rt: its listener is the prison's: '$got'" ;;
		*" prison") ok "$rt: its listener is the prison's, with its calls" ;;
		*) not_ok "$rt: its listener is the prison's: '$got'" ;;
		esac
	fi
	# (podman run -d adds the container's ID to the output)
	expect_eq "$rt $mode: what the container could do" "$want" \
		"$(grep -v '^[0-9a-f]\{64\}$' "$D/$id.out" | paste -sd';')"
	expect_eq "$rt $mode: reached on its address" hello "$(reach $A)"
	got=$(reach $B)
	if [ "$mode" = unloaded ]; then
		expect_eq "$rt $mode: reached on the other address" hello "$got"
	else
		check "$rt $mode: not reached on the other address ($got)" \
			test "$got" != hello
	fi
	nap 0.5	# the last datagram
	expect_eq "$rt $mode: what the peer received, by source" "$want_peer" \
		"$(sort -u "$D/peer.log" | paste -sd';')"
	stop "$rt" "$id"
	peer_stop
	if [ "$mode" = loaded ]; then
		expect_eq "$rt: the container's exit removed its prison" "" \
			"$(in_h $JAIL list | awk 'NR > 1 {print $2}')"
	fi
}

unload
nets_setup
for rt in $RUNTIMES; do
	scenario "$rt" unloaded
	# The annotation asks for a prison: without the module, no container.
	bundle "$rt" b-nomod --userns --ann pcbgroup.ip4=$A --hook "$HOOK"
	refused "$rt" pcbg-nomod b-nomod "$rt: no module, no container" \
		"pcbgroup-oci-hook: pcbg-nomod: no prison: not started"
done

if [ "${PCBG_NS_ORDER:-before}" = after ]; then
	nets_teardown
	check "insmod (namespaces made after load)" insmod "$KO"
	nets_setup
else
	check "insmod" insmod "$KO"
fi
for rt in $RUNTIMES; do
	scenario "$rt" loaded
done

# Podman's hook file runs the hook for annotated containers only.
if echo "$RUNTIMES" | grep -qx podman; then
	bundle podman b-plain --userns --hook "$HOOK"
	if run podman pcbg-plain b-plain; then
		wait_for "$D/pcbg-plain.out" "^serve" ||
			not_ok "podman: a container without the annotation serves"
		expect_eq "podman: without the annotation, no prison and B is bound" \
			"bind ok" "$(in_h $JAIL list | awk 'NR > 1 {print $2}')$(grep -m1 '^bind' "$D/pcbg-plain.out")"
		stop podman pcbg-plain
	else
		not_ok "podman: a container without the annotation starts: $(tr '\n' ' ' <"$D/pcbg-plain.err")"
	fi
fi

# A container a prison cannot hold: no user namespace and CAP_NET_ADMIN.
rt=$(echo "$RUNTIMES" | head -1)
bundle "$rt" b-weak --ann pcbgroup.ip4=$A --hook "$HOOK" --cap CAP_NET_ADMIN
if run "$rt" pcbg-weak b-weak; then
	check "a container with CAP_NET_ADMIN, no user namespace: the hook says so" \
		grep -q "pcbg-weak: not held by a prison: no user namespace, and it may have CAP_NET_ADMIN" "$D/hook.log"
	stop "$rt" pcbg-weak
else
	not_ok "a weak container starts with a warning: $(tr '\n' ' ' <"$D/pcbg-weak.err")"
fi
bundle "$rt" b-strict --ann pcbgroup.ip4=$A --ann pcbgroup.strict=1 \
	--hook "$HOOK" --cap CAP_NET_ADMIN
refused "$rt" pcbg-strict b-strict "pcbgroup.strict=1: a weak container is refused" \
	"pcbg-strict: pcbgroup.strict=1: not started"
expect_eq "no prison left by the refused or stopped ones" "" \
	"$(in_h $JAIL list | awk 'NR > 1 {print $2}')"

# pcbgjail attach: a running process holding a listener on B.
cg=/sys/fs/cgroup/pcbg-attach
mkdir -p $cg
check "an empty prison to attach to" sh -c "nsenter --net=/run/netns/$H $JAIL create att ip4.addr=$A cgroup=$cg >/dev/null"
rm -f "$D/att.ready" "$D/att.go"
# nsenter execs python: $! is the process that holds the listener (the
# interpreter itself, not the guest's python3 front-end: scripts/pyrun.c).
nsenter --net=/run/netns/$H /usr/bin/python3 -c '
import os, socket, sys, time
old = socket.socket(); old.bind((sys.argv[1], 7000)); old.listen(4)
open(sys.argv[3], "w").close()
while not os.path.exists(sys.argv[4]):
    time.sleep(0.05)
for addr in (sys.argv[1], sys.argv[2]):
    try:
        socket.socket().bind((addr, 0)); print("bind", addr, "ok", flush=True)
    except OSError as e:
        print("bind", addr, e.strerror, flush=True)
time.sleep(30)
' $B $A "$D/att.ready" "$D/att.go" >"$D/att.out" &
APID=$!
wait_file "$D/att.ready"
in_h $JAIL attach att $APID 2>"$D/att.err"
if grep -q "pcbgjail: att: pid $APID fd [0-9]*: TCP $B:7000 0.0.0.0:0 (inode [0-9]*) was made before the attach" "$D/att.err"; then
	ok "attach lists the listener it held"
else
	not_ok "attach lists the listener it held: $(tr '\n' ' ' <"$D/att.err")"
fi
check "and counts it" grep -q "pcbgjail: att: 1 socket held before the attach" "$D/att.err"
check "the process is in the prison's cgroup" grep -qx "$APID" $cg/cgroup.procs
touch "$D/att.go"
wait_for "$D/att.out" "bind $A"
expect_eq "after the attach, a new socket is confined" \
	"bind $B Cannot assign requested address;bind $A ok" "$(paste -sd';' "$D/att.out")"
expect_eq "the listener it held is still reached (jail_attach keeps it)" \
	"ok" "$(ip netns exec $PEER_NS python3 -c '
import socket, sys
try:
    socket.create_connection((sys.argv[1], 7000), timeout=3); print("ok")
except OSError as e:
    print(e)' $B)"
check "destroy kills it" in_h $JAIL destroy att
wait "$APID" 2>/dev/null
rmdir $cg 2>/dev/null

# A service with the drop-in of pcbgjail(8), each command run in the
# service's cgroup as systemd runs it (no systemd in this guest):
# ExecStartPre= makes the prison on its own cgroup, ExecStart= is held,
# ExecStopPost= destroys it from inside.
svc=/sys/fs/cgroup/pcbg-svc.service
mkdir -p $svc
in_svc() { nsenter --net=/run/netns/$H sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' $svc "$@"; }
check "ExecStartPre=: create on the service's own cgroup" \
	in_svc $JAIL create svc ip4.addr=$A cgroup=self attach
expect_eq "ExecStart=: the service is held" "bind EADDRNOTAVAIL;bind ok" \
	"$( (in_svc "$D/rootfs/bin/probe" bind $B; in_svc "$D/rootfs/bin/probe" bind $A) | paste -sd';')"
check "ExecStopPost=: destroy from inside the cgroup" in_svc $JAIL destroy svc
expect_eq "no prison left" "" "$(in_h $JAIL list | awk 'NR > 1 {print $2}')"
rmdir $svc 2>/dev/null

nets_teardown
check "rmmod" unload
rm -rf "$D"
exit $T_FAILED
