// SPDX-License-Identifier: GPL-2.0
/*
 * The growable RCU hash under the groups: each group's (and the wildcard
 * table's) two-node hash table, resized beside the live one by a worker
 * while readers walk the old (pcbg_resize_work()), and the socket index
 * that finds a socket's entry for its writers. Which sockets go where is
 * group.c's; this file only keeps the tables sized to their counts, so an
 * idle namespace costs a few KiB and no chain gets long.
 */
#include <linux/hash.h>
#include <linux/jhash.h>
#include <linux/memcontrol.h>
#include <linux/random.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "pcbg_fault.h"
#include "pcbg_group.h"
#include "pcbg_table.h"

/*
 * Table memory is charged to the namespace creator's memory cgroup, as the
 * kernel's own per-namespace tables are; a failure fails the namespace's
 * creation with -ENOMEM, which says enough (no allocation warning).
 */
#define PCBG_GFP	(GFP_KERNEL_ACCOUNT | __GFP_NOWARN)

static void *pcbg_kvcalloc(size_t n, size_t size)
{
	return pcbg_fail() ? NULL : kvcalloc(n, size, PCBG_GFP);
}

/*
 * Sizes. A group's table grows when it holds more than PCBG_GROW_LOAD
 * sockets per bucket and shrinks below one in PCBG_SHRINK_LOAD, to the
 * power of two nearest one per bucket: four inline slots then leave few
 * sockets on an overflow chain, and a size is kept while the count moves
 * by a factor of two either way. The index, read by writers only, is let
 * grow twice as loaded.
 */
#define PCBG_GROW_LOAD		2
#define PCBG_INDEX_LOAD		(2 * PCBG_GROW_LOAD)
#define PCBG_SHRINK_LOAD	8
#define PCBG_MIN_BUCKETS	4	/* per connection group */
#define PCBG_MIN_WILD		16
#define PCBG_MIN_ICHAINS	2	/* per index stripe */
#define PCBG_MAX_BUCKETS	(1U << 22)
#define PCBG_RESIZE_BATCH	256	/* entries moved per lock hold */

static noinline unsigned int pcbg_size_new(unsigned int count,
					   unsigned int size, unsigned int min,
					   unsigned int load)
{
	unsigned int want = size;

	if (count > load * size)
		want = roundup_pow_of_two(count);
	else if (size > min && count * PCBG_SHRINK_LOAD < size)
		want = roundup_pow_of_two(max(2 * count, 1U));
	return clamp(want, min, PCBG_MAX_BUCKETS);
}

/*
 * The size a table of @size wants for @count entries. Asked at every
 * insert and removal: the answer is mostly "as it is", found inline.
 */
static __always_inline unsigned int pcbg_size_for(unsigned int count,
						  unsigned int size,
						  unsigned int min,
						  unsigned int load)
{
	if (likely(size >= min && size <= PCBG_MAX_BUCKETS &&
		   count <= load * size &&
		   (size == min || count * PCBG_SHRINK_LOAD >= size)))
		return size;
	return pcbg_size_new(count, size, min, load);
}

/*
 * One allocation: the header on the first cache line, the buckets after
 * it (fewer ways to fail). Zeroed: empty slots, empty chains. A large
 * table is mapped with huge pages where it can be, as the kernel's own
 * ehash is (inet_pernet_hashinfo_alloc): a lookup then costs no extra TLB
 * miss.
 */
static struct pcbg_htab *pcbg_htab_alloc(unsigned int n)
{
	size_t size = array_size(n + 1, sizeof(struct pcbg_bucket));
	struct pcbg_htab *tab;

	BUILD_BUG_ON(sizeof(*tab) > sizeof(struct pcbg_bucket));
	if (pcbg_fail())
		return NULL;
	if (size >= PMD_SIZE)
		tab = vmalloc_huge(size, PCBG_GFP | __GFP_ZERO);
	else
		tab = kvzalloc(size, PCBG_GFP);
	if (!tab)
		return NULL;
	tab->mask = n - 1;
	tab->b = (struct pcbg_bucket *)tab + 1;
	return tab;
}

static void pcbg_htab_free(struct pcbg_htab *tab)
{
	kvfree(tab);
}

static size_t pcbg_htab_bytes(const struct pcbg_htab *tab)
{
	return (size_t)(tab->mask + 2) * sizeof(struct pcbg_bucket);
}

static int pcbg_group_init(struct pcbg_group *g, unsigned int min)
{
	struct pcbg_htab *tab = pcbg_htab_alloc(min);

	spin_lock_init(&g->lock);
	INIT_LIST_HEAD(&g->all);
	g->min = min;
	if (!tab)
		return -ENOMEM;
	tab->gen = g->gen = 1;
	RCU_INIT_POINTER(g->tab, tab);
	return 0;
}

static void pcbg_resize_work(struct work_struct *work);

struct pcbg_table *pcbg_table_alloc(struct net *net, u8 protocol,
				    unsigned int ngroups,
				    unsigned int min_buckets,
				    unsigned int min_index)
{
	struct pcbg_table *t;
	unsigned int i;

	min_buckets = min_buckets ?: PCBG_MIN_BUCKETS;
	min_index = min_index ? max(min_index / PCBG_ISTRIPES, 1U) :
				PCBG_MIN_ICHAINS;
	if (!is_power_of_2(ngroups) || !is_power_of_2(min_buckets) ||
	    !is_power_of_2(min_index))
		return NULL;
	t = pcbg_fail() ? NULL : kzalloc(sizeof(*t), PCBG_GFP);
	if (!t)
		return NULL;
	t->net = net;
	t->protocol = protocol;
	t->ngroups = ngroups;
	t->min_chains = min_index;
	t->secret = get_random_u32();
	t->any_key = jhash_1word(0, t->secret);
	t->memcg = get_mem_cgroup_from_mm(current->mm);
	INIT_WORK(&t->resize, pcbg_resize_work);
	/* Before anything can fail: pcbg_table_release() reads them. */
	for (i = 0; i < PCBG_ISTRIPES; i++)
		spin_lock_init(&t->index[i].lock);
	if (pcbg_group_init(&t->wild, PCBG_MIN_WILD))
		goto fail;
	/* One allocation for all stripes at first: fewer ways to fail. */
	t->index_min = pcbg_kvcalloc(PCBG_ISTRIPES * min_index,
				     sizeof(struct hlist_head));
	if (!t->index_min)
		goto fail;
	for (i = 0; i < PCBG_ISTRIPES; i++) {
		t->index[i].mask = min_index - 1;
		t->index[i].chains = &t->index_min[i * min_index];
	}
	t->groups = pcbg_kvcalloc(ngroups, sizeof(*t->groups));
	if (!t->groups)
		goto fail;
	for (i = 0; i < ngroups; i++)
		if (pcbg_group_init(&t->groups[i], min_buckets))
			goto fail;
	return t;
fail:
	pcbg_table_release(t);	/* nothing in it yet */
	return NULL;
}

static void pcbg_resize_soon(struct pcbg_table *t)
{
	if (!READ_ONCE(t->dead) && !t->fixed)
		queue_work(system_unbound_wq, &t->resize);
}

/* The size a stripe of the index wants for its count. */
static unsigned int pcbg_stripe_size(const struct pcbg_table *t,
				     const struct pcbg_istripe *is)
{
	return pcbg_size_for(READ_ONCE(is->count), is->mask + 1,
			     t->min_chains, PCBG_INDEX_LOAD);
}

static void pcbg_stripe_check(struct pcbg_table *t, struct pcbg_istripe *is)
{
	if (pcbg_stripe_size(t, is) != is->mask + 1)
		pcbg_resize_soon(t);
}

void pcbg_iadd(struct pcbg_table *t, struct pcbg_istripe *is, u32 h,
		      struct pcbg_entry *e)
{
	hlist_add_head(&e->inode, pcbg_ichain(is, h));
	is->count++;
	pcbg_stripe_check(t, is);
}

void pcbg_idel(struct pcbg_table *t, struct pcbg_istripe *is,
		      struct pcbg_entry *e)
{
	hlist_del(&e->inode);
	is->count--;
	pcbg_stripe_check(t, is);
}

void pcbg_tab_link(struct pcbg_htab *tab, struct pcbg_entry *e)
{
	unsigned int n = tab->nid, i;
	struct pcbg_bucket *b;

	e->tg[n] = tab->gen;
	e->slot[n] = -1;
	b = &tab->b[e->key & tab->mask];
	for (i = 0; i < PCBG_SLOTS; i++) {
		if (!(b->used & BIT(i))) {
			e->slot[n] = i;
			WRITE_ONCE(b->key[i], e->key);
			rcu_assign_pointer(b->sk[i], e->sk);
			/* Paired with pcbg_slots_used(). */
			smp_store_release(&b->used, b->used | BIT(i));
			return;
		}
	}
	hlist_add_head_rcu(&e->node[n], &b->more);
}

void pcbg_tab_unlink(struct pcbg_htab *tab, struct pcbg_entry *e)
{
	unsigned int n = tab->nid;

	if (e->slot[n] >= 0) {
		struct pcbg_bucket *b = &tab->b[e->key & tab->mask];

		WRITE_ONCE(b->used, b->used & ~BIT(e->slot[n]));
		RCU_INIT_POINTER(b->sk[e->slot[n]], NULL);
	} else {
		hlist_del_rcu(&e->node[n]);
	}
	e->tg[n] = 0;
}

void pcbg_group_check(struct pcbg_table *t, struct pcbg_group *g,
			     const struct pcbg_htab *tab)
{
	unsigned int size = tab->mask + 1;

	if (!g->next && pcbg_size_for(g->count, size, g->min,
				      PCBG_GROW_LOAD) != size)
		pcbg_resize_soon(t);
}

/*
 * Refill @g's table at @size beside the one readers use, then publish it.
 * Writers keep running: between batches they link new entries into both
 * tables (pcbg_group_link()). Returns the old table, to be freed after a
 * grace period, or NULL.
 */
static struct pcbg_htab *pcbg_group_resize(struct pcbg_table *t,
					   struct pcbg_group *g,
					   unsigned int size, int id)
{
	struct pcbg_htab *old, *new = pcbg_htab_alloc(size);
	struct list_head cursor;
	unsigned int n, count;

	if (!new)
		return NULL;	/* tried again at the next change */
	spin_lock_bh(&g->lock);
	old = rcu_dereference_protected(g->tab, lockdep_is_held(&g->lock));
	new->nid = !old->nid;
	if (!++g->gen)
		g->gen = 1;	/* 0: not linked */
	new->gen = g->gen;
	g->next = new;
	list_add(&cursor, &g->all);
	for (;;) {
		for (n = 0; n < PCBG_RESIZE_BATCH && cursor.next != &g->all;
		     n++) {
			struct pcbg_entry *e = list_entry(cursor.next,
							  struct pcbg_entry,
							  all);

			if (!pcbg_tab_linked(new, e))
				pcbg_tab_link(new, e);
			list_move(&cursor, &e->all);
		}
		if (cursor.next == &g->all)
			break;
		spin_unlock_bh(&g->lock);
		cond_resched();
		spin_lock_bh(&g->lock);
	}
	list_del(&cursor);
	rcu_assign_pointer(g->tab, new);
	g->next = NULL;
	count = g->count;
	spin_unlock_bh(&g->lock);
	atomic_inc(&t->resizes);
	pcbg_resized(t, id, old->mask + 1, size, count);
	return old;
}

static void pcbg_ichains_free(struct pcbg_table *t, struct hlist_head *c)
{
	if (c < t->index_min ||
	    c >= t->index_min + PCBG_ISTRIPES * t->min_chains)
		kvfree(c);
}

/* The index is read by writers only: rebuilt under its lock. */
static void pcbg_stripe_resize(struct pcbg_table *t, struct pcbg_istripe *is)
{
	unsigned int size, i;
	struct hlist_head *chains, *old;
	struct pcbg_entry *e;
	struct hlist_node *tmp;

	size = pcbg_stripe_size(t, is);
	if (size == is->mask + 1)
		return;
	chains = pcbg_kvcalloc(size, sizeof(*chains));
	if (!chains)
		return;
	spin_lock_bh(&is->lock);
	old = is->chains;
	for (i = 0; i <= is->mask; i++) {
		hlist_for_each_entry_safe(e, tmp, &old[i], inode) {
			u32 h = hash_ptr(e->sk, 32);

			hlist_del(&e->inode);
			hlist_add_head(&e->inode,
				       &chains[(h / PCBG_ISTRIPES) & (size - 1)]);
		}
	}
	is->chains = chains;
	is->mask = size - 1;
	spin_unlock_bh(&is->lock);
	pcbg_ichains_free(t, old);
}

static struct pcbg_htab *pcbg_group_maybe_resize(struct pcbg_table *t,
						 struct pcbg_group *g, int id)
{
	unsigned int size = pcbg_group_tab(g)->mask + 1;
	unsigned int want = pcbg_size_for(READ_ONCE(g->count), size, g->min,
					  PCBG_GROW_LOAD);

	return want == size ? NULL : pcbg_group_resize(t, g, want, id);
}

/*
 * Every group, the wildcard table and the index stripes that outgrew
 * their size or shrank well below it, then one grace period for all the
 * old tables. A table's next resize comes after it, so an entry's other
 * node is free again by then.
 */
static void pcbg_resize_work(struct work_struct *work)
{
	struct pcbg_table *t = container_of(work, struct pcbg_table, resize);
	struct pcbg_htab *retired = NULL, *old;
	struct mem_cgroup *memcg = set_active_memcg(t->memcg);
	unsigned int i;

	for (i = 0; i <= t->ngroups; i++) {
		struct pcbg_group *g = i < t->ngroups ? &t->groups[i] :
							&t->wild;

		old = pcbg_group_maybe_resize(t, g, i < t->ngroups ? i : -1);
		if (old) {
			old->retired = retired;
			retired = old;
		}
	}
	for (i = 0; i < PCBG_ISTRIPES; i++)
		pcbg_stripe_resize(t, &t->index[i]);
	set_active_memcg(memcg);
	if (!retired)
		return;
	synchronize_rcu();
	while (retired) {
		old = retired;
		retired = old->retired;
		pcbg_htab_free(old);
	}
}

/* Wait until no resize is pending or running (tests, benchmark). */
void pcbg_table_settle(struct pcbg_table *t)
{
	flush_work(&t->resize);
}

/* Frees what pcbg_table_alloc() made; the entries are gone already. */
void pcbg_table_release(struct pcbg_table *t)
{
	unsigned int i;

	for (i = 0; i < PCBG_ISTRIPES; i++)
		pcbg_ichains_free(t, t->index[i].chains);
	kvfree(t->index_min);
	if (t->groups)
		for (i = 0; i < t->ngroups; i++)
			pcbg_htab_free(pcbg_group_tab(&t->groups[i]));
	pcbg_htab_free(pcbg_group_tab(&t->wild));
	kvfree(t->groups);
	mem_cgroup_put(t->memcg);
	kfree(t);
}

/* The most entries in one bucket of @g's table, under rcu_read_lock(). */
unsigned int pcbg_group_longest(struct pcbg_group *g)
{
	struct pcbg_htab *tab = rcu_dereference(g->tab);
	unsigned int i, n, longest = 0;
	struct pcbg_entry *e;

	for (i = 0; i <= tab->mask; i++) {
		n = hweight8(READ_ONCE(tab->b[i].used));
		pcbg_chain_each(e, &tab->b[i].more, tab->nid)
			n++;
		longest = max(longest, n);
	}
	return longest;
}

/*
 * Members of @t as @kind, from the groups' own counts: a host-wide or
 * namespace-wide counter would be one more line that every connection
 * on every CPU writes. Exact while no writer runs.
 */
unsigned int pcbg_table_members(const struct pcbg_table *t,
				enum pcbg_kind kind)
{
	struct pcbg_entry *e;
	unsigned int i, n = 0;

	if (kind == PCBG_WILD) {
		/* With the listeners waiting for a port: a tick's worth. */
		rcu_read_lock();
		pcbg_chain_each(e, &t->unbound, 0)
			n++;
		rcu_read_unlock();
		return n + READ_ONCE(t->wild.count);
	}
	for (i = 0; i < t->ngroups; i++)
		n += READ_ONCE(t->groups[i].count);
	return n;
}

/* What @t takes in memory, for /proc and the benchmark. */
size_t pcbg_table_bytes(struct pcbg_table *t)
{
	size_t n = sizeof(*t) + t->ngroups * sizeof(*t->groups);
	unsigned int i;

	rcu_read_lock();
	for (i = 0; i < t->ngroups; i++)
		n += pcbg_htab_bytes(rcu_dereference(t->groups[i].tab));
	n += pcbg_htab_bytes(rcu_dereference(t->wild.tab));
	rcu_read_unlock();
	for (i = 0; i < PCBG_ISTRIPES; i++)
		n += (READ_ONCE(t->index[i].mask) + 1) *
		     sizeof(struct hlist_head);
	n += (pcbg_table_members(t, PCBG_EXACT) +
	      pcbg_table_members(t, PCBG_WILD)) * sizeof(struct pcbg_entry);
	return n;
}
