// SPDX-License-Identifier: GPL-2.0
/*
 * Connection groups, after FreeBSD's sys/netinet/in_pcbgroup.c.
 *
 * The 4-tuple space is split into groups, one per RSS bucket, so that the
 * CPU that receives a bucket's packets looks its sockets up in a table of
 * its own. A connected socket lives in the group of its 4-tuple's bucket.
 * Wildcard sockets (listeners, unconnected bound UDP sockets) are members
 * of every group: like FreeBSD we keep them once, in a table that every
 * group's lookup reads, hashed by local address and port like the
 * kernel's lhash2, instead of copying them into each group. Which of them
 * answers a packet is decided in wild.c, exactly as the kernel would.
 *
 * Every table grows and shrinks with its socket count (pcbg_resize_work()),
 * so an idle namespace costs a few KiB and no chain gets long.
 *
 * Readers use RCU and take no lock. Writers take the socket's index stripe
 * lock, then the one group or wildcard lock they change. Every entry holds
 * a reference on its socket until a grace period after it is unlinked, so
 * a reader never sees a freed socket; it still re-checks the socket's
 * tuple and state, as __inet_lookup_established() does.
 *
 * The kernel's own tables remain the reservation table: they own port
 * allocation and answer every lookup this module does not (see steer.c).
 */
#include <linux/hash.h>
#include <linux/jhash.h>
#include <linux/memcontrol.h>
#include <linux/random.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <net/inet_hashtables.h>
#include <net/inet6_hashtables.h>
#include <net/ipv6.h>
#include <net/tcp_states.h>

#include "pcbg_fault.h"
#include "pcbg_group.h"

static struct kmem_cache *pcbg_entry_cache;
static atomic_long_t pcbg_entries;	/* allocated, for leak checks */

long pcbg_entry_count(void)
{
	return atomic_long_read(&pcbg_entries);
}

/*
 * Charged to the socket's memory cgroup: membership changes are seen in
 * softirq and probe context, where the current task is no guide.
 */
static struct pcbg_entry *pcbg_entry_alloc(struct sock *sk)
{
	struct mem_cgroup *old;
	struct pcbg_entry *e;

	if (pcbg_fail())
		return NULL;
	old = set_active_memcg(sk->sk_memcg);
	e = kmem_cache_alloc(pcbg_entry_cache, GFP_ATOMIC | __GFP_NOWARN);
	set_active_memcg(old);
	if (e)
		atomic_long_inc(&pcbg_entries);
	return e;
}

int pcbg_entry_cache_init(void)
{
	pcbg_entry_cache = pcbg_fail() ? NULL :
			   KMEM_CACHE(pcbg_entry, SLAB_ACCOUNT);
	return pcbg_entry_cache ? 0 : -ENOMEM;
}

void pcbg_entry_cache_exit(void)
{
	rcu_barrier();		/* pcbg_entry_free_rcu() callbacks */
	kmem_cache_destroy(pcbg_entry_cache);
}

static void pcbg_entry_free_rcu(struct rcu_head *head)
{
	struct pcbg_entry *e = container_of(head, struct pcbg_entry, rcu);

	sock_put(e->sk);
	kmem_cache_free(pcbg_entry_cache, e);
	atomic_long_dec(&pcbg_entries);
}

/* The tuple of a connected socket; v4-mapped IPv6 sockets count as IPv4. */
static void pcbg_sk_tuple(const struct sock *sk, struct pcbg_tuple *tp)
{
	memset(tp, 0, sizeof(*tp));
	tp->fport = sk->sk_dport;
	tp->lport = htons(sk->sk_num);
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6 &&
	    !ipv6_addr_v4mapped(&sk->sk_v6_daddr)) {
		tp->family = AF_INET6;
		tp->faddr6 = sk->sk_v6_daddr;
		tp->laddr6 = sk->sk_v6_rcv_saddr;
		return;
	}
#endif
	tp->family = AF_INET;
	tp->faddr4 = sk->sk_daddr;
	tp->laddr4 = sk->sk_rcv_saddr;
}

/* Chain hash: keyed by a per-table secret, unlike Toeplitz, so chains
 * cannot be flooded by a peer that knows the RSS key.
 */
static u32 pcbg_tuple_key(const struct pcbg_table *t,
			  const struct pcbg_tuple *tp)
{
	u32 ports = (__force u32)tp->fport << 16 | (__force u32)tp->lport;

	if (tp->family == AF_INET)
		return jhash_3words((__force u32)tp->laddr4,
				    (__force u32)tp->faddr4, ports, t->secret);
	return jhash2((const u32 *)&tp->laddr6, 4,
		      jhash2((const u32 *)&tp->faddr6, 4, ports ^ t->secret));
}

u32 pcbg_tuple_rss_hash(const struct pcbg_rss *rss,
			const struct pcbg_tuple *tp)
{
	if (tp->family == AF_INET)
		return pcbg_rss_hash_v4(rss, tp->faddr4, tp->laddr4,
					tp->fport, tp->lport, true);
	return pcbg_rss_hash_v6(rss, &tp->faddr6, &tp->laddr6,
				tp->fport, tp->lport, true);
}

/* Enough of the RSS hash to find the group: its bucket bits. */
u32 pcbg_tuple_rss_bucket(const struct pcbg_rss *rss,
			  const struct pcbg_tuple *tp)
{
	if (tp->family == AF_INET)
		return pcbg_rss_bucket_v4(rss, tp->faddr4, tp->laddr4,
					  tp->fport, tp->lport);
	return pcbg_rss_bucket_v6(rss, &tp->faddr6, &tp->laddr6,
				  tp->fport, tp->lport);
}

unsigned int pcbg_sk_group(const struct pcbg_table *t,
			   const struct pcbg_rss *rss, const struct sock *sk)
{
	struct pcbg_tuple tp;

	pcbg_sk_tuple(sk, &tp);
	return pcbg_table_group(t, rss, pcbg_tuple_rss_hash(rss, &tp));
}

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

static unsigned int pcbg_size_for(unsigned int count, unsigned int size,
				  unsigned int min, unsigned int load)
{
	unsigned int want = size;

	if (count > load * size)
		want = roundup_pow_of_two(count);
	else if (size > min && count * PCBG_SHRINK_LOAD < size)
		want = roundup_pow_of_two(max(2 * count, 1U));
	return clamp(want, min, PCBG_MAX_BUCKETS);
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
	/* Before anything can fail: pcbg_table_free() takes their locks. */
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
	pcbg_table_free(t);
	return NULL;
}

static void pcbg_resize_soon(struct pcbg_table *t)
{
	if (!READ_ONCE(t->dead) && !t->fixed)
		queue_work(system_unbound_wq, &t->resize);
}

/* The index: a stripe (its lock) and a chain within it. */
static struct pcbg_istripe *pcbg_stripe(struct pcbg_table *t,
					const struct sock *sk, u32 *h)
{
	*h = hash_ptr(sk, 32);
	return &t->index[*h % PCBG_ISTRIPES];
}

static struct hlist_head *pcbg_ichain(struct pcbg_istripe *is, u32 h)
{
	return &is->chains[(h / PCBG_ISTRIPES) & is->mask];
}

static struct pcbg_entry *pcbg_ifind(struct pcbg_istripe *is, u32 h,
				     const struct sock *sk)
{
	struct pcbg_entry *e;

	hlist_for_each_entry(e, pcbg_ichain(is, h), inode)
		if (e->sk == sk)
			return e;
	return NULL;
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

static void pcbg_iadd(struct pcbg_table *t, struct pcbg_istripe *is, u32 h,
		      struct pcbg_entry *e)
{
	hlist_add_head(&e->inode, pcbg_ichain(is, h));
	is->count++;
	pcbg_stripe_check(t, is);
}

static void pcbg_idel(struct pcbg_table *t, struct pcbg_istripe *is,
		      struct pcbg_entry *e)
{
	hlist_del(&e->inode);
	is->count--;
	pcbg_stripe_check(t, is);
}

static u32 pcbg_wild_key(const struct pcbg_table *t, const struct sock *sk,
			 u16 port)
{
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6)
		return pcbg_addr_key6(t, &sk->sk_v6_rcv_saddr, port);
#endif
	return pcbg_addr_key4(t, sk->sk_rcv_saddr, port);
}

static struct pcbg_group *pcbg_entry_group(struct pcbg_table *t,
					   const struct pcbg_entry *e)
{
	return e->kind == PCBG_EXACT ? &t->groups[e->group] : &t->wild;
}

static bool pcbg_tab_linked(const struct pcbg_htab *tab,
			    const struct pcbg_entry *e)
{
	return e->tg[tab->nid] == tab->gen;
}

static void pcbg_tab_link(struct pcbg_htab *tab, struct pcbg_entry *e)
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

static void pcbg_tab_unlink(struct pcbg_htab *tab, struct pcbg_entry *e)
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

static void pcbg_group_check(struct pcbg_table *t, struct pcbg_group *g,
			     const struct pcbg_htab *tab)
{
	unsigned int size = tab->mask + 1;

	if (!g->next && pcbg_size_for(g->count, size, g->min,
				      PCBG_GROW_LOAD) != size)
		pcbg_resize_soon(t);
}

/*
 * A reader may pair a slot's key with the socket stored before or after
 * it: harmless, since a candidate is always checked against its socket,
 * and every socket a reader can see is pinned by its entry's reference.
 */
static bool pcbg_same_tuple(const struct sock *a, const struct sock *b)
{
	struct pcbg_tuple ta, tb;

	pcbg_sk_tuple(a, &ta);
	pcbg_sk_tuple(b, &tb);
	return !memcmp(&ta, &tb, sizeof(ta));
}

/*
 * Two connected sockets with one tuple (SO_REUSEADDR UDP, or bound to
 * different devices): the kernel's pick between them depends on its chain
 * order, so a table that has such a pair checks every candidate.
 */
static void pcbg_mark_dup(struct pcbg_table *t, struct pcbg_htab *tab,
			  struct pcbg_entry *e)
{
	struct pcbg_bucket *b = &tab->b[e->key & tab->mask];
	struct pcbg_entry *o;
	struct sock *sk;
	int i;

	for (i = 0; i < PCBG_SLOTS; i++) {
		if (!(b->used & BIT(i)))
			continue;
		sk = rcu_dereference_protected(b->sk[i], 1);
		if (b->key[i] == e->key && pcbg_same_tuple(sk, e->sk))
			goto dup;
	}
	pcbg_chain_each(o, &b->more, tab->nid)
		if (o->key == e->key && pcbg_same_tuple(o->sk, e->sk))
			goto dup;
	return;
dup:
	e->dup = 1;
	atomic_inc(&t->dups);
}

/* Into its group's table, and the one a resize is filling. */
static void pcbg_group_link(struct pcbg_table *t, struct pcbg_entry *e)
{
	struct pcbg_group *g = pcbg_entry_group(t, e);
	struct pcbg_htab *tab;

	spin_lock(&g->lock);
	if (pcbg_entry_unbound(e)) {
		hlist_add_head_rcu(&e->node[0], &t->unbound);
		goto out;
	}
	tab = rcu_dereference_protected(g->tab, lockdep_is_held(&g->lock));
	if (e->kind == PCBG_EXACT)
		pcbg_mark_dup(t, tab, e);
	pcbg_tab_link(tab, e);
	if (g->next)
		pcbg_tab_link(g->next, e);
	list_add(&e->all, &g->all);
	g->count++;
	pcbg_group_check(t, g, tab);
out:
	spin_unlock(&g->lock);
}

static void pcbg_group_unlink(struct pcbg_table *t, struct pcbg_entry *e)
{
	struct pcbg_group *g = pcbg_entry_group(t, e);
	struct pcbg_htab *tab;

	spin_lock(&g->lock);
	if (pcbg_entry_unbound(e)) {
		hlist_del_rcu(&e->node[0]);
		goto out;
	}
	tab = rcu_dereference_protected(g->tab, lockdep_is_held(&g->lock));
	pcbg_tab_unlink(tab, e);
	if (g->next && pcbg_tab_linked(g->next, e))
		pcbg_tab_unlink(g->next, e);
	list_del(&e->all);
	g->count--;
	pcbg_group_check(t, g, tab);
out:
	spin_unlock(&g->lock);
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

/*
 * The per-port counts, for the lookups that must know who competes. By
 * the port the entry was linked with: udp_lib_unhash() clears the
 * socket's before its return probe unlinks a late entry.
 */
static void pcbg_count_port(struct pcbg_table *t, const struct pcbg_entry *e,
			    int delta)
{
	unsigned int slot = pcbg_port_slot(htons(e->lport));

	if (e->kind == PCBG_EXACT)
		atomic_add(delta, &t->port_exact[slot]);
	else if (e->reuse)
		atomic_add(delta, &t->port_reuse[slot]);
}

static void pcbg_link(struct pcbg_table *t, struct pcbg_entry *e)
{
	pcbg_count_port(t, e, 1);
	pcbg_group_link(t, e);
	atomic_inc(&t->members[e->kind]);
	pcbg_member(t, e, true);
}

/* Called under the entry's index stripe lock. */
static void pcbg_unlink(struct pcbg_table *t, struct pcbg_istripe *is,
			struct pcbg_entry *e)
{
	pcbg_group_unlink(t, e);
	pcbg_member(t, e, false);
	if (e->dup)
		atomic_dec(&t->dups);
	pcbg_count_port(t, e, -1);
	pcbg_idel(t, is, e);
	atomic_dec(&t->members[e->kind]);
	call_rcu(&e->rcu, pcbg_entry_free_rcu);
}

/*
 * Where @sk belongs as @kind: key and group. Called under the socket's
 * index stripe lock, which a rehash also takes after publishing a new
 * key: a placement by the old key is then always seen and moved by the
 * rehash.
 */
struct pcbg_spot {
	u32 key;
	u16 group;
	u16 port;	/* read once: the key, the chain and the counts agree */
};

static void pcbg_place(struct pcbg_table *t, const struct sock *sk,
		       enum pcbg_kind kind, struct pcbg_spot *p)
{
	struct pcbg_tuple tp;
	const struct pcbg_rss *rss;

	p->port = READ_ONCE(sk->sk_num);
	p->group = 0;
	if (kind == PCBG_WILD) {
		p->key = pcbg_wild_key(t, sk, p->port);
		return;
	}
	pcbg_sk_tuple(sk, &tp);
	p->key = pcbg_tuple_key(t, &tp);
	rcu_read_lock();
	rss = pcbg_rss_get();
	p->group = pcbg_table_group(t, rss, pcbg_tuple_rss_hash(rss, &tp));
	rcu_read_unlock();
}

static struct pcbg_entry *pcbg_entry_new(struct pcbg_table *t,
					 struct sock *sk, enum pcbg_kind kind,
					 const struct pcbg_spot *p, bool reuse)
{
	struct pcbg_entry *e = pcbg_entry_alloc(sk);

	if (!e)
		return NULL;
	memset(e, 0, sizeof(*e));
	e->sk = sk;
	e->key = p->key;
	e->lport = p->port;
	e->group = p->group;
	e->kind = kind;
	e->reuse = reuse;
	e->gen = READ_ONCE(t->gen);
	sock_hold(sk);
	return e;
}

/*
 * Make @sk a member of @t as @kind (PCBG_NONE removes it). Idempotent: the
 * membership trackers may report the same state twice.
 */
int pcbg_table_set(struct pcbg_table *t, struct sock *sk, enum pcbg_kind kind)
{
	struct pcbg_entry *old, *e = NULL;
	struct pcbg_spot spot = {};
	struct pcbg_istripe *is;
	bool reuse;
	int err = 0;
	u32 h;

	/* Fixed once hashed: the group is attached when the port is taken. */
	reuse = kind == PCBG_WILD && sk->sk_reuseport &&
		rcu_access_pointer(sk->sk_reuseport_cb);
	is = pcbg_stripe(t, sk, &h);
	spin_lock_bh(&is->lock);
	if (kind != PCBG_NONE)
		pcbg_place(t, sk, kind, &spot);
	old = pcbg_ifind(is, h, sk);
	if (old && old->kind == kind && old->key == spot.key &&
	    old->group == spot.group && old->reuse == reuse &&
	    old->lport == spot.port) {
		old->gen = READ_ONCE(t->gen);	/* seen by a resync walk */
		goto out;
	}
	if (kind != PCBG_NONE) {
		e = pcbg_entry_new(t, sk, kind, &spot, reuse);
		if (!e) {
			err = -ENOMEM;
			goto out;	/* stays as it was: lookups fall back */
		}
	}
	/* The new place first: a reader may see both, never neither. */
	if (e) {
		pcbg_link(t, e);
		pcbg_iadd(t, is, h, e);
	}
	if (old)
		pcbg_unlink(t, is, old);
out:
	spin_unlock_bh(&is->lock);
	return err;
}

enum pcbg_kind pcbg_table_kind(struct pcbg_table *t, const struct sock *sk)
{
	struct pcbg_istripe *is;
	struct pcbg_entry *e;
	enum pcbg_kind kind;
	u32 h;

	is = pcbg_stripe(t, sk, &h);
	spin_lock_bh(&is->lock);
	e = pcbg_ifind(is, h, sk);
	kind = e ? e->kind : PCBG_NONE;
	spin_unlock_bh(&is->lock);
	return kind;
}

/*
 * Call @fn on every entry of @t, under its index stripe lock, which @fn
 * may use to unlink it. Returns the sum of what @fn returned.
 */
static unsigned int pcbg_table_each(struct pcbg_table *t,
				    unsigned int (*fn)(struct pcbg_table *t,
						       struct pcbg_istripe *is,
						       struct pcbg_entry *e))
{
	unsigned int i, c, n = 0;

	for (i = 0; i < PCBG_ISTRIPES; i++) {
		struct pcbg_istripe *is = &t->index[i];
		struct pcbg_entry *e;
		struct hlist_node *tmp;

		spin_lock_bh(&is->lock);
		for (c = 0; is->chains && c <= is->mask; c++)
			hlist_for_each_entry_safe(e, tmp, &is->chains[c], inode)
				n += fn(t, is, e);
		spin_unlock_bh(&is->lock);
		cond_resched();
	}
	return n;
}

/* A connected socket whose group changed with the RSS key moves. */
static unsigned int pcbg_move(struct pcbg_table *t, struct pcbg_istripe *is,
			      struct pcbg_entry *e)
{
	struct pcbg_entry *ne;
	struct pcbg_spot spot;

	if (e->kind != PCBG_EXACT)
		return 0;
	pcbg_place(t, e->sk, PCBG_EXACT, &spot);
	if (spot.group == e->group)
		return 0;
	/* A new entry: readers may be walking the old one. */
	ne = pcbg_entry_new(t, e->sk, PCBG_EXACT, &spot, false);
	if (!ne) {
		/* Exact misses go to the stack meanwhile. */
		atomic_inc(&t->fail_gen);
		return 1;
	}
	ne->gen = e->gen;
	pcbg_link(t, ne);
	pcbg_iadd(t, is, hash_ptr(ne->sk, 32), ne);
	pcbg_unlink(t, is, e);
	return 0;
}

/*
 * The RSS key changed: move each connected socket to its new group.
 * Returns the moves that failed for want of memory.
 */
unsigned int pcbg_table_rehash(struct pcbg_table *t)
{
	return pcbg_table_each(t, pcbg_move);
}

/*
 * Mark and sweep, for a resync after a missed UDP probe: an entry whose
 * unhash went unseen would hold its socket, and with it the namespace,
 * forever. pcbg_table_mark() starts a generation, the walk over the
 * kernel's tables stamps every socket still there (pcbg_table_set()), and
 * pcbg_table_sweep() drops the others. Only for UDP: a TCP listener joins
 * this table before the kernel's listening hash, where no walk sees it.
 */
void pcbg_table_mark(struct pcbg_table *t)
{
	unsigned int i;

	WRITE_ONCE(t->gen, t->gen + 1);
	/* A set() that read the old generation has finished: its socket was
	 * hashed before, so the walk that follows stamps it.
	 */
	for (i = 0; i < PCBG_ISTRIPES; i++) {
		spin_lock_bh(&t->index[i].lock);
		spin_unlock_bh(&t->index[i].lock);
	}
}

static unsigned int pcbg_drop_unmarked(struct pcbg_table *t,
				       struct pcbg_istripe *is,
				       struct pcbg_entry *e)
{
	if (e->gen == t->gen)
		return 0;
	pcbg_unlink(t, is, e);
	return 1;
}

/* The sweep after the walk: returns the number of entries dropped. */
unsigned int pcbg_table_sweep(struct pcbg_table *t)
{
	return pcbg_table_each(t, pcbg_drop_unmarked);
}

static unsigned int pcbg_drop_closed(struct pcbg_table *t,
				     struct pcbg_istripe *is,
				     struct pcbg_entry *e)
{
	if (READ_ONCE(e->sk->sk_state) != TCP_CLOSE || !sk_unhashed(e->sk))
		return 0;
	pcbg_unlink(t, is, e);
	return 1;
}

/*
 * A TCP walk can meet a socket whose close has begun: tcp_set_state()
 * fires the CLOSE tracepoint (nothing to remove yet) before it unhashes
 * the socket, and the walk, holding the bucket lock in between, adds it.
 * No member is ever closed otherwise, so a pass some time after each walk
 * drops entries of closed, unhashed sockets. Returns how many.
 */
unsigned int pcbg_table_reap(struct pcbg_table *t)
{
	return pcbg_table_each(t, pcbg_drop_closed);
}

static unsigned int pcbg_drop(struct pcbg_table *t, struct pcbg_istripe *is,
			      struct pcbg_entry *e)
{
	pcbg_unlink(t, is, e);
	return 1;
}

/* Caller has unpublished @t and waited for its readers. */
void pcbg_table_free(struct pcbg_table *t)
{
	unsigned int i;

	WRITE_ONCE(t->dead, true);
	cancel_work_sync(&t->resize);
	pcbg_table_each(t, pcbg_drop);
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
	n += (atomic_read(&t->members[PCBG_EXACT]) +
	      atomic_read(&t->members[PCBG_WILD])) *
	     sizeof(struct pcbg_entry);
	return n;
}

/*
 * Still connected. The state is on the socket's first cache line, which
 * the tuple check reads anyway; whether it is hashed is on the second, so
 * that is read only where it tells something the state does not: a TCP
 * socket moving to TIME_WAIT leaves the kernel's table (for its timewait
 * socket) in FIN_WAIT or CLOSING, while this table still has it until
 * tcp_done(). An ESTABLISHED socket leaves the kernel's table only on its
 * way to CLOSE, under its lock, just before the tracepoint removes it from
 * this one: a packet steered to it then meets a closed socket and is
 * dropped, where the kernel would have answered with a reset, on a
 * connection that is going away. UDP sockets leave this table (kprobe on
 * udp_lib_unhash) before the kernel's; a UDP socket closed while that
 * probe missed keeps its state, so for UDP being hashed is checked too.
 */
static bool pcbg_sk_live(const struct pcbg_table *t, const struct sock *sk)
{
	int state = READ_ONCE(sk->sk_state);

	if (state == TCP_ESTABLISHED)
		return t->protocol == IPPROTO_TCP || !sk_unhashed(sk);
	if (t->protocol != IPPROTO_TCP || state == TCP_CLOSE ||
	    state == TCP_LISTEN)
		return false;
	return !sk_unhashed(sk);
}

/* The socket is connected and matches the tuple exactly (inet_match()). */
static inline bool pcbg_exact_match(struct pcbg_table *t, struct sock *sk,
				    const struct pcbg_tuple *tp)
{
	if (!pcbg_sk_live(t, sk) || !net_eq(sock_net(sk), t->net))
		return false;
	if (tp->family == AF_INET) {
		INET_ADDR_COOKIE(acookie, tp->faddr4, tp->laddr4);
		const __portpair ports = INET_COMBINED_PORTS(tp->fport,
							     ntohs(tp->lport));

		if (sk->sk_portpair != ports || sk->sk_addrpair != acookie)
			return false;
	} else {
#if IS_ENABLED(CONFIG_IPV6)
		if (sk->sk_portpair != INET_COMBINED_PORTS(tp->fport,
							   ntohs(tp->lport)) ||
		    sk->sk_family != AF_INET6 ||
		    !ipv6_addr_equal(&sk->sk_v6_daddr, &tp->faddr6) ||
		    !ipv6_addr_equal(&sk->sk_v6_rcv_saddr, &tp->laddr6))
			return false;
#else
		return false;
#endif
	}
	return pcbg_dev_match(t, READ_ONCE(sk->sk_bound_dev_if), tp);
}

/**
 * pcbg_lookup_exact - the connected socket of a tuple, in its group
 * @t: the namespace's table for the protocol
 * @rss: the RSS configuration the hash was computed with
 * @tp: the packet's tuple
 * @hash: the packet's RSS hash (hardware or software Toeplitz)
 * @hit: PCBG_HIT_EXACT, PCBG_MISS, or PCBG_ASIDE when two sockets match
 *
 * Called under rcu_read_lock(); the socket is not referenced. A candidate
 * is checked once: the kernel's ehash lookup checks again after taking its
 * reference because its sockets are SLAB_TYPESAFE_BY_RCU and may be reused
 * meanwhile; ours are pinned by the entry's reference until a grace period
 * after removal, so they cannot be.
 */
struct sock *pcbg_lookup_exact(struct pcbg_table *t,
			       const struct pcbg_rss *rss,
			       const struct pcbg_tuple *tp, u32 hash,
			       enum pcbg_hit *hit)
{
	struct pcbg_group *g = &t->groups[pcbg_table_group(t, rss, hash)];
	u32 key = pcbg_tuple_key(t, tp);
	bool all = atomic_read(&t->dups);	/* look for a second match */
	struct sock *sk, *found;
	struct pcbg_htab *tab;
	struct pcbg_bucket *b;
	struct pcbg_entry *e;
	int i;

again:
	found = NULL;
	*hit = PCBG_MISS;
	tab = rcu_dereference(g->tab);
	b = &tab->b[key & tab->mask];
	/*
	 * Every slot's key, without the used bits: a hit is mostly in the
	 * first, and a freed slot's socket is NULL.
	 */
	for (i = 0; i < PCBG_SLOTS; i++) {
		if (READ_ONCE(b->key[i]) != key)
			continue;
		sk = rcu_dereference(b->sk[i]);
		if (!sk || !pcbg_exact_match(t, sk, tp))
			continue;
		if (found)
			goto twice;
		found = sk;
		if (!all)
			goto out;
	}
	pcbg_chain_each(e, &b->more, tab->nid) {
		if (e->key != key || !pcbg_exact_match(t, e->sk, tp))
			continue;
		if (found)
			goto twice;
		found = e->sk;
		if (!all)
			goto out;
	}
	if (!found && pcbg_group_stale(g, tab))
		goto again;
out:
	if (found)
		*hit = PCBG_HIT_EXACT;
	return found;
twice:
	*hit = PCBG_ASIDE;
	return NULL;
}

/**
 * pcbg_lookup - in_pcblookup() on one group
 * @t: the namespace's table for the protocol
 * @rss: the RSS configuration the hash was computed with
 * @tp: the packet's tuple
 * @hash: the packet's RSS hash
 * @flags: PCBG_LOOKUP_WILDCARD, PCBG_LOOKUP_REF
 * @hit: how the socket was found, or why not
 *
 * FreeBSD's order: the exact 4-tuple in the group, then the wildcard
 * sockets every group shares. Called under rcu_read_lock(). The caller
 * decides whether a wildcard answer may be given at all (steer.c).
 */
struct sock *pcbg_lookup(struct pcbg_table *t, const struct pcbg_rss *rss,
			 const struct pcbg_tuple *tp, u32 hash,
			 unsigned int flags, enum pcbg_hit *hit)
{
	struct sock *sk = NULL;

	*hit = PCBG_MISS;
	if (!(flags & PCBG_LOOKUP_WILDCARD) || pcbg_port_has_exact(t, tp))
		sk = pcbg_lookup_exact(t, rss, tp, hash, hit);

	if (!sk && *hit == PCBG_MISS && (flags & PCBG_LOOKUP_WILDCARD))
		sk = pcbg_lookup_wild(t, tp, hit);
	if (sk && (flags & PCBG_LOOKUP_REF) &&
	    unlikely(!refcount_inc_not_zero(&sk->sk_refcnt))) {
		*hit = PCBG_MISS;
		return NULL;
	}
	return sk;
}
