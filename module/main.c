// SPDX-License-Identifier: GPL-2.0
/*
 * pcbgroup module entry: wires the subsystems up in order and tears them
 * down in reverse. Nothing else lives here.
 */
#include <linux/module.h>
#include <linux/netdevice.h>

#include "pcbgroup.h"

static int __init pcbg_init(void)
{
	pcbg_rss_setup();
	pr_info("loaded\n");
	return 0;
}

static void __exit pcbg_exit(void)
{
	synchronize_net();
	pcbg_rss_teardown();
	pr_info("unloaded\n");
}

module_init(pcbg_init);
module_exit(pcbg_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("FreeBSD-style connection groups, vnets, prisons and raw-IP demux");
MODULE_AUTHOR("pcbgroup developers");
