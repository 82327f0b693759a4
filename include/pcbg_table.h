/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The growable RCU hash (table.c) as group.c uses it: linking an entry
 * into a group's table by the node of that table, the socket index, and
 * the resize checks after each change. Not for lookups: those read the
 * tables through pcbg_group.h alone.
 */
#ifndef _PCBG_TABLE_H
#define _PCBG_TABLE_H

#include <linux/hash.h>

#include "pcbg_group.h"

/* The index: a stripe (its lock) and a chain within it. */
static inline struct pcbg_istripe *pcbg_stripe(struct pcbg_table *t,
					const struct sock *sk, u32 *h)
{
	*h = hash_ptr(sk, 32);
	return &t->index[*h % PCBG_ISTRIPES];
}

static inline struct hlist_head *pcbg_ichain(struct pcbg_istripe *is, u32 h)
{
	return &is->chains[(h / PCBG_ISTRIPES) & is->mask];
}

static inline struct pcbg_entry *pcbg_ifind(struct pcbg_istripe *is, u32 h,
				     const struct sock *sk)
{
	struct pcbg_entry *e;

	hlist_for_each_entry(e, pcbg_ichain(is, h), inode)
		if (e->sk == sk)
			return e;
	return NULL;
}

static inline bool pcbg_tab_linked(const struct pcbg_htab *tab,
			    const struct pcbg_entry *e)
{
	return e->tg[tab->nid] == tab->gen;
}

void pcbg_iadd(struct pcbg_table *t, struct pcbg_istripe *is, u32 h,
	       struct pcbg_entry *e);
void pcbg_idel(struct pcbg_table *t, struct pcbg_istripe *is,
	       struct pcbg_entry *e);
void pcbg_tab_link(struct pcbg_htab *tab, struct pcbg_entry *e);
void pcbg_tab_unlink(struct pcbg_htab *tab, struct pcbg_entry *e);
void pcbg_group_check(struct pcbg_table *t, struct pcbg_group *g,
		      const struct pcbg_htab *tab);
void pcbg_table_release(struct pcbg_table *t);

#endif /* _PCBG_TABLE_H */
