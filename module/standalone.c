// SPDX-License-Identifier: GPL-2.0
/*
 * The table code built into a module of its own (the KUnit suites in
 * kunit/core.c, the lookup benchmark in bench/core.c), so that they can
 * build private tables and call into them without pcbgroup.ko loaded or
 * anything exported from it. What that code calls up into (statistics,
 * prisons) is stubbed here; the includer publishes its own RSS
 * configuration in pcbg_rss_live.
 */
#include "fault.c"
#include "rss.c"
#include "table.c"
#include "group.c"
#include "lookup.c"
#include "native.c"
#include "wild.c"
#include "prison_check.c"
#include "raw_table.c"

struct pcbg_rss __rcu *pcbg_rss_live;

/* Resizes of the tables the includer built, which it counts. */
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
