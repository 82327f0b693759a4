#!/bin/bash
# The boot unit under systemd itself: a system booted by systemd 252 (in
# systemd-nspawn on the guest's host network; the guest has no systemd as
# PID 1) with pcbgroup installed as make install puts it: the module in
# /lib/modules/KERNEL/updates (depmod), its options in
# /etc/modprobe.d/pcbgroup.conf, pcbgjail and pcbgroup-prisons.service by
# make install-tools, the unit enabled by systemctl enable. At boot the
# unit loads the module with those options and makes the prisons of
# /etc/pcbgroup/prisons.conf; the two drop-ins of docs/prisons.md hold
# their services (pcbgjail exec into a configured prison; a prison made on
# the service's own cgroup and destroyed after it); a reload with a bad
# file fails with its line and changes nothing; the shutdown destroys the
# prisons.
. tests/lib.sh

if ! command -v systemd-nspawn >/dev/null || [ ! -x /usr/lib/systemd/systemd ]; then
	not_ok "systemd and systemd-nspawn (scripts/setup installs systemd-container)"
	exit 1
fi
D=$(mktemp -d)
R=$D/root
KREL=$(uname -r)
PREFIX=/opt/pcbgroup

# The system's root: the guest's /usr (read-only), its own /etc.
mkdir -p "$R/usr" "$R/etc/pcbgroup" "$R/etc/modprobe.d" "$R/out" "$R/var/log/journal" \
	"$D/modules/lib/modules/$KREL/updates"
for l in bin sbin lib lib64; do ln -s usr/$l "$R/$l"; done
cp /usr/lib/os-release "$R/etc/os-release"
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
	'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' >"$R/etc/passwd"
printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$R/etc/group"
echo 5bd1b8a1e0f24b7c9a3d6e2f10c4a7b8 >"$R/etc/machine-id"	# not a first boot

# make install: the module in updates/, found by depmod and modprobe
# (the kernel's own modules are not needed: pcbgroup depends on none).
cp "$KO" "$D/modules/lib/modules/$KREL/updates/pcbgroup.ko"
for f in modules.order modules.builtin modules.builtin.modinfo; do
	cp "/lib/modules/$KREL/$f" "$D/modules/lib/modules/$KREL/" 2>/dev/null ||
		touch "$D/modules/lib/modules/$KREL/$f"
done
check "depmod finds the installed module" depmod -b "$D/modules" "$KREL"
echo "options pcbgroup soft_hash=1 bits=5" >"$R/etc/modprobe.d/pcbgroup.conf"
check "make install-tools" make -s install-tools DESTDIR="$R" PREFIX=$PREFIX \
	HOOKSDIR=$PREFIX/hooks.d MANDIR=$PREFIX/man
cp tests/lib/prisons.conf "$R/etc/pcbgroup/prisons.conf"

# Two services, each held by one of docs/prisons.md's drop-ins: what they
# can bind goes to /out. The addresses are the guest's (on lo).
mkdir -p "$R/opt" "$R/etc/systemd/system/web.service.d"
probe_build "$R/opt/probe" || exit 1
ADDRS="192.0.2.11 192.0.2.12 192.0.2.21 192.0.2.31"
for a in $ADDRS; do ip addr add $a/32 dev lo; done
cat >"$R/etc/systemd/system/web.service" <<'EOF'
[Service]
Type=oneshot
ExecStart=/opt/probe bind 192.0.2.21
StandardOutput=append:/out/web
EOF
cat >"$R/etc/systemd/system/web.service.d/pcbgroup.conf" <<EOF
[Unit]
Requires=pcbgroup-prisons.service
After=pcbgroup-prisons.service

[Service]
ExecStart=
ExecStart=$PREFIX/sbin/pcbgjail exec --user nobody web -- /bin/sh -c 'id -un; /opt/probe bind 192.0.2.21; /opt/probe bind 192.0.2.11'
EOF
cat >"$R/etc/systemd/system/self.service" <<EOF
[Service]
Type=oneshot
ExecStartPre=-+$PREFIX/sbin/pcbgjail destroy self
ExecStartPre=+$PREFIX/sbin/pcbgjail create self ip4.addr=192.0.2.31 cgroup=self attach
ExecStart=/bin/sh -c '/opt/probe bind 192.0.2.11; /opt/probe bind 192.0.2.31'
ExecStopPost=+$PREFIX/sbin/pcbgjail destroy self
StandardOutput=append:/out/self
EOF

# What the booted system reports, then it powers off.
cat >"$R/etc/pcbg-report" <<EOF
#!/bin/sh
J=$PREFIX/sbin/pcbgjail
U=pcbgroup-prisons.service
{
	echo "active \$(systemctl is-active \$U)"
	echo "soft_hash \$(cat /sys/module/pcbgroup/parameters/soft_hash)"
	echo "bits \$(cat /sys/module/pcbgroup/parameters/bits)"
} >/out/boot
\$J list >/out/boot-list 2>&1
cp /etc/pcbgroup/prisons.conf /etc/pcbgroup/good
printf 'bad {\n\tip4.addr = 192.0.2.300;\n}\n' >>/etc/pcbgroup/prisons.conf
{
	systemctl reload \$U 2>/dev/null && echo "reload ok" || echo "reload failed"
	echo "active \$(systemctl is-active \$U)"
} >/out/reload
\$J list >/out/reload-list 2>&1
journalctl -q -o cat -u \$U >/out/journal
mv /etc/pcbgroup/good /etc/pcbgroup/prisons.conf
systemctl --no-block poweroff
EOF
chmod 755 "$R/etc/pcbg-report"
cat >"$R/etc/systemd/system/pcbg-report.service" <<'EOF'
[Unit]
Description=pcbgroup test report
Wants=web.service self.service
After=pcbgroup-prisons.service web.service self.service multi-user.target
[Service]
Type=oneshot
ExecStart=/etc/pcbg-report
[Install]
WantedBy=multi-user.target
EOF
ln -s /usr/lib/systemd/system/multi-user.target "$R/etc/systemd/system/default.target"
for u in pcbgroup-prisons.service pcbg-report.service; do
	systemctl --root="$R" enable $u >/dev/null 2>&1
done
check "systemctl enable: the unit is wanted by multi-user.target" \
	test -L "$R/etc/systemd/system/multi-user.target.wants/pcbgroup-prisons.service"

unload
# The system's network is the guest's; its capabilities those of a host's
# root for what the unit does (modprobe, generic netlink).
# nspawn cannot read the systemd version of a root whose /usr is a bind
# mount it has not made yet, and would give it cgroup v1: unified, as the
# guest has.
SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 timeout -k 30 400 systemd-nspawn -q --register=no --keep-unit --console=pipe \
	-D "$R" --bind-ro=/usr \
	--bind-ro="$D/modules/lib/modules:/usr/lib/modules" \
	--bind="$R/out:/out" --capability=CAP_SYS_MODULE,CAP_NET_ADMIN \
	--boot >"$D/console" 2>&1
rc=$?
lap "the boot and shutdown"
if [ $rc -ne 0 ] || [ ! -f "$R/out/boot" ]; then
	cp "$D/console" "${PCBG_OUT:-/tmp}/systemd-console.log"
	journalctl -D "$R/var/log/journal" -o short-monotonic --no-pager \
		>"${PCBG_OUT:-/tmp}/systemd-journal.log" 2>&1
	not_ok "the system boots and powers off (exit $rc; its console and journal: systemd-console.log, systemd-journal.log)"
fi
# list FILE: a pcbgjail list's names and addresses.
list() {
	awk 'NR > 1 {s = $2; for (i = 5; i <= NF; i++) s = s " " $i; print s}' "$1" 2>/dev/null
}
expect_eq "at boot: the unit is active, the module loaded with its options, the prisons made" \
	"active active;soft_hash Y;bits 5;db 192.0.2.21;web 192.0.2.11 192.0.2.12 2001:db8::11" \
	"$( (cat "$R/out/boot"; list "$R/out/boot-list") 2>/dev/null | paste -sd';')"
expect_eq "web.service, pcbgjail exec into the configured prison: held" \
	"nobody;bind EADDRNOTAVAIL;bind ok" "$(paste -sd';' "$R/out/web" 2>/dev/null)"
expect_eq "self.service, a prison on its own cgroup: held" \
	"bind EADDRNOTAVAIL;bind ok" "$(grep '^bind' "$R/out/self" 2>/dev/null | paste -sd';')"
expect_eq "a reload with a bad file fails and changes nothing" \
	"reload failed;active active;db 192.0.2.21;web 192.0.2.11 192.0.2.12 2001:db8::11" \
	"$( (cat "$R/out/reload"; list "$R/out/reload-list") 2>/dev/null | paste -sd';')"
check "the journal says which line is bad" \
	grep -q "pcbgjail: /etc/pcbgroup/prisons.conf:12: ip4.addr: '192.0.2.300' is not an address" \
	"$R/out/journal"
[ "$T_FAILED" = 0 ] || cp "$R"/out/* "${PCBG_OUT:-/tmp}/" 2>/dev/null
check "the module stays loaded after the shutdown" loaded
expect_eq "the shutdown destroyed the prisons" "" \
	"$($JAIL list 2>&1 | tail -n +2)"
# What a failed boot left.
$JAIL list 2>/dev/null | awk 'NR > 1 {print $2}' |
	while read -r p; do $JAIL destroy "$p"; done
check "rmmod" unload
for a in $ADDRS; do ip addr del $a/32 dev lo; done
rm -rf "$D"
exit $T_FAILED
