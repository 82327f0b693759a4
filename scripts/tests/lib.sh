# Helpers for the system tests, sourced by each scripts/tests/*.sh in the
# guest. Each check prints "ok - NAME" or "not ok - NAME: why"; the host
# (scripts/check) counts them.
# shellcheck shell=bash

KO=${KO:-out/${PCBG_KERNEL:-test}/pcbgroup.ko}
P=/sys/module/pcbgroup/parameters
T_FAILED=0

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
	before=$(cat "$file")
	err=$( (printf '%s' "$val" >"$file") 2>&1)
	after=$(cat "$file")
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

loaded() { [ -d /sys/module/pcbgroup ]; }

unload() { ! loaded || rmmod pcbgroup; }
