// SPDX-License-Identifier: GPL-2.0
/*
 * Which namespaces have an instance, for the work that must visit them
 * all (a new RSS key, a missed UDP probe, raw delivery switched on or
 * off). Kept apart from netns.c, which builds and tears the instances
 * down, so that the files below it need not call up into it.
 */
#include <net/net_namespace.h>

#include "pcbg_net.h"

unsigned int pcbg_net_id __read_mostly;
/*
 * Whether the pernet operations are registered: a parameter write can
 * come before init and during exit (module parameters do not pin the
 * module), so a walk over the instances takes this mutex, and so does
 * exit before it unregisters and frees them.
 */
static bool pcbg_instances_open;
static DEFINE_MUTEX(pcbg_instances_mutex);

/* @fn on the instance of every namespace, under that mutex and net_rwsem. */
void pcbg_all_instances(pcbg_instance_fn fn)
{
	struct net *net;

	mutex_lock(&pcbg_instances_mutex);
	if (pcbg_instances_open) {
		down_read(&net_rwsem);
		for_each_net(net)
			fn(pcbg_net(net));
		up_read(&net_rwsem);
	}
	mutex_unlock(&pcbg_instances_mutex);
}

/* Closing waits for a walk in progress (a rehash, a resync). */
void pcbg_instances_set_open(bool open)
{
	mutex_lock(&pcbg_instances_mutex);
	pcbg_instances_open = open;
	mutex_unlock(&pcbg_instances_mutex);
}
