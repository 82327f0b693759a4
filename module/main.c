// SPDX-License-Identifier: GPL-2.0
/*
 * pcbgroup module entry: wires the subsystems up in order and tears them
 * down in reverse. Nothing else lives here.
 */
#include <linux/module.h>
#include <linux/netdevice.h>

#include "pcbg_fault.h"
#include "pcbg_group.h"
#include "pcbg_rss.h"
#include "pcbg_net.h"
#include "pcbg_prison.h"
#include "pcbg_raw.h"

static int __init pcbg_init(void)
{
	int err;

	pcbg_rss_setup(pcbg_track_rekeyed);
	pcbg_jails_setup(pcbg_steer_jails_changed);
	pcbg_fault_init();
	pcbg_udp_lookup_init();		/* UDP inside the kernel's lookup */
	err = pcbg_entry_cache_init();
	if (err)
		goto fail_fault;
	err = pcbg_netns_init();	/* every namespace gets its instance */
	if (err)
		goto fail_cache;
	err = pcbg_steer_init();	/* hooks where NICs hash */
	if (err)
		goto fail_netns;
	err = pcbg_track_init();	/* from now on no change is missed */
	if (err)
		goto fail_steer;
	pcbg_track_walk();		/* sockets that were already there */
	pcbg_netns_set_ready(true);	/* the UDP handler answers from here */
	err = pcbg_raw_demux_init();	/* raw sockets, then their delivery */
	if (err)
		goto fail_track;
	pcbg_prison_sock_init();	/* its hook, placed with a prison */
	err = pcbg_prison_nl_init();	/* then prisons can be made */
	if (err)
		goto fail_prison;
	rcu_read_lock();
	pr_info("loaded: %u buckets\n", pcbg_rss_buckets(pcbg_rss_get()));
	rcu_read_unlock();
	return 0;

fail_prison:
	pcbg_prison_sock_exit();
	pcbg_raw_demux_exit();
fail_track:
	pcbg_udp_lookup_exit();		/* it answered: out before the instances */
	pcbg_netns_set_ready(false);
	pcbg_track_exit();
fail_steer:
	pcbg_steer_exit();
fail_netns:
	pcbg_netns_exit();
fail_cache:
	pcbg_entry_cache_exit();
fail_fault:
	pcbg_udp_lookup_exit();		/* never ready, never read an instance */
	pcbg_fault_exit();	/* its files point into this module */
	return err;
}

static void __exit pcbg_exit(void)
{
	pcbg_prison_nl_exit();
	pcbg_prison_sock_exit();	/* no prisoner socket is left */
	pcbg_raw_demux_exit();
	pcbg_udp_lookup_exit();		/* no handler runs after this */
	pcbg_netns_set_ready(false);	/* no answer from stale membership */
	pcbg_track_exit();
	pcbg_steer_exit();
	pcbg_netns_exit();
	pcbg_entry_cache_exit();
	pcbg_fault_exit();
	synchronize_net();
	pcbg_rss_teardown();
	pr_info("unloaded\n");
}

module_init(pcbg_init);
module_exit(pcbg_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("FreeBSD-style connection groups, vnets, prisons and raw-IP demux");
MODULE_AUTHOR("pcbgroup developers");
