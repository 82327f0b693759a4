// SPDX-License-Identifier: GPL-2.0
/*
 * The group table code, compiled into the benchmark module so that it can
 * build private tables beside the kernel's without pcbgroup.ko loaded.
 */
#include <linux/module.h>

#include "../module/fault.c"
#include "../module/rss.c"
#include "../module/group.c"
#include "../module/wild.c"

struct pcbg_rss __rcu *pcbg_rss_live;
