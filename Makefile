# SPDX-License-Identifier: GPL-2.0
# make            build pcbgroup.ko against KDIR (running kernel, else Debian 6.1 headers)
# make check      KUnit + system tests in QEMU, on the test kernel and the stock kernel
# make soak       the stress suite with 100 rmmod/insmod cycles (debug kernel)
# make bench      benchmarks, pcbgroup against the native path
# make style      checkpatch over the sources
# make lint       shellcheck, pyflakes, the headers' and files' layering
# make docs       redraw docs/packet-path.svg from its source (graphviz)
# make install    pcbgroup.ko into /lib/modules/KERNEL/updates, then depmod
#                 (or DKMS: see dkms.conf); pcbgjail, the OCI hook, their
#                 man pages, the Podman hook file and the
#                 boot unit (install-tools: those alone, no module build)
# make uninstall  removes what install put there

KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
	$(lastword $(sort $(wildcard /usr/src/linux-headers-6.1.*-amd64))))
PWD := $(shell pwd)

all: module

module:
	$(MAKE) -C $(KDIR) M=$(PWD) W=1 modules

KRELEASE = $(shell $(MAKE) -s -C $(KDIR) kernelrelease)

PREFIX ?= /usr/local
SBINDIR = $(PREFIX)/sbin
LIBDIR = $(PREFIX)/lib/pcbgroup
MANDIR = $(PREFIX)/share/man
UNITDIR ?= /etc/systemd/system
HOOKSDIR ?= /etc/containers/oci/hooks.d
TOOLS = $(DESTDIR)$(SBINDIR)/pcbgjail $(DESTDIR)$(LIBDIR) \
	$(DESTDIR)$(SBINDIR)/pcbgroup-oci-hook \
	$(DESTDIR)$(HOOKSDIR)/pcbgroup.json \
	$(DESTDIR)$(MANDIR)/man8/pcbgroup-oci-hook.8 \
	$(DESTDIR)$(MANDIR)/man8/pcbgjail.8 \
	$(DESTDIR)$(MANDIR)/man5/prisons.conf.5 \
	$(DESTDIR)$(UNITDIR)/pcbgroup-prisons.service

install: module install-tools
	install -D -m 644 pcbgroup.ko $(DESTDIR)/lib/modules/$(KRELEASE)/updates/pcbgroup.ko
	depmod -a $(KRELEASE)

install-tools:
	install -D -m 755 tools/pcbgjail $(DESTDIR)$(SBINDIR)/pcbgjail
	install -D -m 755 tools/pcbgroup-oci-hook $(DESTDIR)$(SBINDIR)/pcbgroup-oci-hook
	install -D -m 644 -t $(DESTDIR)$(LIBDIR) tools/lib/pcbg_genl.py \
		tools/lib/prisons_conf.py tools/lib/held.py
	install -D -m 644 man/pcbgjail.8 $(DESTDIR)$(MANDIR)/man8/pcbgjail.8
	install -D -m 644 man/pcbgroup-oci-hook.8 \
		$(DESTDIR)$(MANDIR)/man8/pcbgroup-oci-hook.8
	mkdir -p $(DESTDIR)$(HOOKSDIR)
	sed 's|@SBINDIR@|$(SBINDIR)|' tools/pcbgroup-oci-hook.json \
		>$(DESTDIR)$(HOOKSDIR)/pcbgroup.json
	install -D -m 644 man/prisons.conf.5 $(DESTDIR)$(MANDIR)/man5/prisons.conf.5
	mkdir -p $(DESTDIR)$(UNITDIR)
	sed 's|@SBINDIR@|$(SBINDIR)|' tools/pcbgroup-prisons.service \
		>$(DESTDIR)$(UNITDIR)/pcbgroup-prisons.service

uninstall:
	rm -rf $(TOOLS)
	rm -f $(DESTDIR)/lib/modules/*/updates/pcbgroup.ko

clean:
	$(MAKE) -C $(KDIR) M=$(PWD) clean

check:
	scripts/check

soak:
	scripts/soak

bench:
	scripts/bench

style:
	scripts/style

lint:
	scripts/lint

docs: docs/packet-path.svg

docs/packet-path.svg: docs/packet-path.dot
	dot -Tsvg $< -o $@

.PHONY: all module install install-tools uninstall clean check soak bench style lint docs
