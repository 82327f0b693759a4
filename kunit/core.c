// SPDX-License-Identifier: GPL-2.0
/*
 * The code under test, compiled into the KUnit module so the suites can
 * call it without exporting anything from pcbgroup.ko. The tests publish
 * their own RSS configuration in pcbg_rss_live.
 */
#include <linux/module.h>

#include "../module/fault.c"
#include "../module/rss.c"
#include "../module/group.c"
#include "../module/wild.c"
#include "../module/prison_check.c"
#include "../module/raw_table.c"

struct pcbg_rss __rcu *pcbg_rss_live;

/* Resizes of the tables the suites build, which they count. */
atomic_t pcbg_resizes_seen = ATOMIC_INIT(0);

void pcbg_member(struct pcbg_table *t, const struct pcbg_entry *e, bool in)
{
}

/* No prison here: the tables' sockets are nobody's prisoners. */
struct pcbg_prison *pcbg_sk_prison(const struct sock *sk)
{
	return NULL;
}

void pcbg_resized(struct pcbg_table *t, int group, unsigned int from,
		  unsigned int to, unsigned int count)
{
	atomic_inc(&pcbg_resizes_seen);
}

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit suites for pcbgroup");
