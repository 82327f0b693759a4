// SPDX-License-Identifier: GPL-2.0
/*
 * Hashed raw-IP delivery. Linux hands every local packet to
 * raw_local_deliver() (raw6_local_deliver() for IPv6), which walks every
 * raw socket of the packet's protocol in the namespace; a GRE
 * concentrator with 1000 tunnels pays 1000 matches per packet. Here the
 * raw sockets of a namespace are also kept in an index by address
 * (raw_table.c), and the two functions are redirected to versions that
 * look there, then deliver exactly as the kernel does: raw_v4_match() or
 * raw_v6_match() on each candidate, the ICMP filters, the multicast
 * source filters, a clone to raw_rcv() or rawv6_rcv() per socket, and the
 * same return value (whether some socket matched), which decides the
 * "protocol unreachable" answer.
 *
 * The kernel's list stays the reference: sockets are followed with
 * probes (raw_track.c), and the kernel's list is walked instead of the
 * index whenever the index cannot be trusted (a probe missed a call, no
 * memory for an entry, more candidates than a lookup holds) or cannot
 * answer (IPv6 multicast); delivery is raw_deliver.c's. Mobile IPv6
 * packets (whose filter is private to the kernel) are left to the
 * kernel. This file: the parameters, each namespace's index, and the
 * order of it all at load and unload.
 *
 * A prisoner's raw socket takes only packets to its prison's addresses
 * (FreeBSD's rip_input()). The redirection is armed only while some
 * namespace has raw sockets and net.pcbgroup.raw_demux on, or a prison
 * that restricts addresses: otherwise no packet pays for it.
 */
#include <linux/module.h>
#include <linux/sysctl.h>

#include "pcbg_net.h"
#include "pcbg_raw.h"
#include "pcbg_raw_demux.h"

static bool pcbg_default_raw_demux = true;
module_param_named(raw_demux, pcbg_default_raw_demux, bool, 0644);
MODULE_PARM_DESC(raw_demux, "Default of net.pcbgroup.raw_demux for new namespaces: deliver raw IP through the per-namespace hash (default Y)");

/* net.pcbgroup.raw_demux */
int pcbg_raw_sysctl(struct ctl_table *table, int write, void *buffer,
		    size_t *lenp, loff_t *ppos)
{
	int err = proc_dointvec_minmax(table, write, buffer, lenp, ppos);

	if (!err && write)
		pcbg_raw_update(container_of(table->data, struct pcbg_net,
					     raw.demux), true);
	return err;
}

/* Namespaces */

int pcbg_raw_init_net(struct pcbg_net *pn)
{
	struct pcbg_raw *r = &pn->raw;
	int err;

	INIT_WORK(&r->sync, pcbg_raw_sync_work);
	r->demux = READ_ONCE(pcbg_default_raw_demux);
	err = pcbg_raw_init(r, 0);
	if (err)
		return err;
	/* Untrusted until walked; made after the probes: walked now. */
	r->synced_gen = r->fail_gen - 1;
	if (READ_ONCE(pcbg_raw_live))
		pcbg_raw_resync(pn);
	return 0;
}

/* No delivery through the index from now on. */
void pcbg_raw_exit_net(struct pcbg_net *pn)
{
	struct pcbg_raw *r = &pn->raw;

	WRITE_ONCE(r->dead, true);
	pcbg_raw_update(pn, true);
}

/* After a grace period: no reader or probe is left in the index. */
void pcbg_raw_free_net(struct pcbg_net *pn)
{
	if (!pn->raw.sync.func)
		return;		/* init failed before it got here */
	cancel_work_sync(&pn->raw.sync);
	pcbg_raw_destroy(&pn->raw);
}

/* Module */

static void pcbg_raw_resync_instance(struct pcbg_net *pn)
{
	pcbg_raw_resync(pn);
}

static void pcbg_raw_cancel_instance(struct pcbg_net *pn)
{
	cancel_work_sync(&pn->raw.sync);
}

int pcbg_raw_demux_init(void)
{
	int err;

	err = pcbg_raw_deliver_init();
	if (err)
		return err;
	/* IPv4's connect is followed by track.c's probe. */
	err = pcbg_raw_track_init(pcbg_raw_update,
				  pcbg_track_connect4_probe());
	if (err) {
		/* What the probes scheduled meanwhile. */
		pcbg_all_instances(pcbg_raw_cancel_instance);
		pcbg_raw_arm_cancel();
		pcbg_raw_deliver_exit();
		return err;
	}
	pcbg_raw_set_live(true);
	/* The sockets that were there before the probes. */
	pcbg_all_instances(pcbg_raw_resync_instance);
	pcbg_raw_arm_flush();
	return 0;
}

/* Before the namespaces' instances go: nothing reaches them after. */
void pcbg_raw_demux_exit(void)
{
	/* First the redirection: the kernel delivers from here on. */
	pcbg_raw_set_live(false);
	pcbg_raw_track_exit();
	/* A resync may still want to re-arm: none runs after this. */
	pcbg_all_instances(pcbg_raw_cancel_instance);
	pcbg_raw_arm_cancel();
	/* Redirected packets are in RCU read sections: wait them out. */
	synchronize_net();
	pcbg_raw_deliver_exit();
}
