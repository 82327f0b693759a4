// SPDX-License-Identifier: GPL-2.0
/*
 * The raw-socket index of a namespace (FreeBSD hashes raw sockets by
 * protocol, local and foreign address for rip_input()). A socket is filed
 * under its key, a zero address standing for the wildcard, so that a
 * packet is looked for under at most four keys: (dst, src), (dst, any),
 * (any, src), (any, any). Each socket is under one key only, and a probe
 * takes only entries of exactly its key, so no socket is found twice.
 *
 * A socket whose addresses are being changed sits on the transit list,
 * which every lookup reads and matches on live addresses: the kernel may
 * change them at any moment of bind() or connect(), and the socket must
 * be found before and after. Writers hold the lock with interrupts off
 * and bump the seqcount around each move; a reader collects its
 * candidates and retries if anything moved meanwhile, so it never sees a
 * socket twice or misses one that moved under it.
 */
#include <linux/jhash.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <net/ipv6.h>
#include <net/sock.h>

#include "pcbg_group.h"	/* __pcbg_noinit */
#include "pcbg_raw.h"

#define PCBG_RAW_MIN_BUCKETS	16
#define PCBG_RAW_MAX_BUCKETS	(1U << 16)

void pcbg_raw_key_set4(struct pcbg_raw_key *k, u8 proto, __be32 laddr,
		       __be32 faddr)
{
	memset(k, 0, sizeof(*k));
	k->family = AF_INET;
	k->proto = proto;
	k->laddr.s6_addr32[3] = laddr;
	k->faddr.s6_addr32[3] = faddr;
}

void pcbg_raw_key_set6(struct pcbg_raw_key *k, u8 proto,
		       const struct in6_addr *laddr,
		       const struct in6_addr *faddr)
{
	memset(k, 0, sizeof(*k));
	k->family = AF_INET6;
	k->proto = proto;
	k->laddr = *laddr;
	k->faddr = *faddr;
}

static bool pcbg_raw_key_eq(const struct pcbg_raw_key *a,
			    const struct pcbg_raw_key *b)
{
	return a->proto == b->proto && a->family == b->family &&
	       ipv6_addr_equal(&a->laddr, &b->laddr) &&
	       ipv6_addr_equal(&a->faddr, &b->faddr);
}

static __always_inline u32 __pcbg_raw_key_hash(const struct pcbg_raw_key *k,
						      u32 seed)
{
	if (k->family == AF_INET)
		return jhash_3words(k->laddr.s6_addr32[3],
				    k->faddr.s6_addr32[3], k->proto, seed);
	/* laddr and faddr are adjacent: eight words. */
	return jhash2(k->laddr.s6_addr32, 8, seed ^ (0x100 | k->proto));
}

static unsigned int *pcbg_raw_class(struct pcbg_raw *r,
				    const struct pcbg_raw_key *k)
{
	return &r->classes[k->family == AF_INET6]
			  [!ipv6_addr_any(&k->laddr) << 1 |
			   !ipv6_addr_any(&k->faddr)];
}

struct pcbg_raw_tab *pcbg_raw_tab_alloc(unsigned int buckets, gfp_t gfp)
{
	struct pcbg_raw_tab *t;
	unsigned int i;

	t = kvzalloc(sizeof(*t) + 2 * buckets * sizeof(struct hlist_head),
		     gfp);
	if (!t)
		return NULL;
	t->mask = buckets - 1;
	t->seed = get_random_u32();
	t->keyh = (struct hlist_head *)(t + 1);
	t->skh = t->keyh + buckets;
	for (i = 0; i < buckets; i++) {
		INIT_HLIST_HEAD(&t->keyh[i]);
		INIT_HLIST_HEAD(&t->skh[i]);
	}
	return t;
}

void pcbg_raw_tab_free(struct pcbg_raw_tab *t)
{
	kvfree(t);
}

int pcbg_raw_init(struct pcbg_raw *r, unsigned int buckets)
{
	struct pcbg_raw_tab *t;

	spin_lock_init(&r->lock);
	seqcount_spinlock_init(&r->seq, &r->lock);
	INIT_HLIST_HEAD(&r->transit);
	r->n = 0;
	memset(r->classes, 0, sizeof(r->classes));
	t = pcbg_raw_tab_alloc(max_t(unsigned int, buckets,
				     PCBG_RAW_MIN_BUCKETS), GFP_KERNEL_ACCOUNT);
	if (!t)
		return -ENOMEM;
	rcu_assign_pointer(r->tab, t);
	return 0;
}

/* Every entry and the table; no reader or writer may be left. */
void pcbg_raw_destroy(struct pcbg_raw *r)
{
	struct pcbg_raw_tab *t = rcu_dereference_protected(r->tab, 1);
	struct pcbg_raw_entry *e;
	struct hlist_node *tmp;
	unsigned int i;

	if (!t)
		return;
	for (i = 0; i <= t->mask; i++)
		hlist_for_each_entry_safe(e, tmp, &t->skh[i], snode)
			kfree(e);
	RCU_INIT_POINTER(r->tab, NULL);
	INIT_HLIST_HEAD(&r->transit);
	r->n = 0;
	memset(r->classes, 0, sizeof(r->classes));
	pcbg_raw_tab_free(t);
}

static struct pcbg_raw_tab *pcbg_raw_tab_locked(struct pcbg_raw *r)
{
	return rcu_dereference_protected(r->tab, lockdep_is_held(&r->lock));
}

static struct hlist_head *pcbg_raw_skh(const struct pcbg_raw_tab *t,
				       const struct sock *sk)
{
	return &t->skh[hash_ptr(sk, 32) & t->mask];
}

static struct pcbg_raw_entry *__pcbg_raw_find(struct pcbg_raw_tab *t,
					      const struct sock *sk)
{
	struct pcbg_raw_entry *e;

	hlist_for_each_entry(e, pcbg_raw_skh(t, sk), snode)
		if (e->sk == sk)
			return e;
	return NULL;
}

/* The socket's entry, for a writer holding the lock. */
struct pcbg_raw_entry *pcbg_raw_find(struct pcbg_raw *r,
				     const struct sock *sk)
{
	struct pcbg_raw_tab *t = pcbg_raw_tab_locked(r);

	return t ? __pcbg_raw_find(t, sk) : NULL;
}

static struct hlist_head *pcbg_raw_bucket(const struct pcbg_raw_tab *t,
					  const struct pcbg_raw_key *k)
{
	return &t->keyh[__pcbg_raw_key_hash(k, t->seed) & t->mask];
}

enum pcbg_raw_where { PCBG_RAW_OFF, PCBG_RAW_FILED, PCBG_RAW_TRANSIT };

/*
 * Move @e (lock held) under key @k (NULL: its own), to the transit list,
 * or off every list; readers see the seqcount move.
 */
static void pcbg_raw_place(struct pcbg_raw *r, struct pcbg_raw_entry *e,
			   const struct pcbg_raw_key *k,
			   enum pcbg_raw_where where)
{
	write_seqcount_begin(&r->seq);
	if (e->filed)
		(*pcbg_raw_class(r, &e->key))--;
	if (!hlist_unhashed(&e->node))
		hlist_del_init_rcu(&e->node);
	if (k)
		e->key = *k;
	e->filed = where == PCBG_RAW_FILED;
	if (where == PCBG_RAW_FILED) {
		(*pcbg_raw_class(r, &e->key))++;
		hlist_add_head_rcu(&e->node,
				   pcbg_raw_bucket(pcbg_raw_tab_locked(r),
						   &e->key));
	} else if (where == PCBG_RAW_TRANSIT) {
		hlist_add_head_rcu(&e->node, &r->transit);
	}
	write_seqcount_end(&r->seq);
}

/* File @e under @k (lock held); a socket in transit stays there. */
void pcbg_raw_refile(struct pcbg_raw *r, struct pcbg_raw_entry *e,
		     const struct pcbg_raw_key *k)
{
	if (e->transit) {
		e->key = *k;
		return;
	}
	if (e->filed && pcbg_raw_key_eq(&e->key, k))
		return;
	pcbg_raw_place(r, e, k, PCBG_RAW_FILED);
}

/* An entry for pcbg_raw_add(), from any context. */
struct pcbg_raw_entry *pcbg_raw_entry_new(void)
{
	struct pcbg_raw_entry *e;

	e = kzalloc(sizeof(*e), GFP_ATOMIC | __GFP_ACCOUNT | __GFP_NOWARN);
	if (e)
		INIT_HLIST_NODE(&e->node);
	return e;
}

/*
 * File @sk under @k (lock held), in @spare if it has no entry yet; else
 * re-file it (a resync and a probe can both see a new socket). Whether
 * @spare was used.
 */
bool pcbg_raw_add(struct pcbg_raw *r, struct pcbg_raw_entry *spare,
		  struct sock *sk, const struct pcbg_raw_key *k)
{
	struct pcbg_raw_tab *t = pcbg_raw_tab_locked(r);
	struct pcbg_raw_entry *old;

	if (!t)
		return false;
	old = __pcbg_raw_find(t, sk);
	if (old) {
		old->mark = false;
		pcbg_raw_refile(r, old, k);
		return false;
	}
	spare->sk = sk;
	hlist_add_head(&spare->snode, pcbg_raw_skh(t, sk));
	r->n++;
	pcbg_raw_refile(r, spare, k);
	return true;
}

/* pcbg_raw_add() with its own entry and lock. -ENOMEM: the index misses it. */
int pcbg_raw_insert(struct pcbg_raw *r, struct sock *sk,
		    const struct pcbg_raw_key *k)
{
	struct pcbg_raw_entry *e = pcbg_raw_entry_new();
	unsigned long flags;

	if (!e)
		return -ENOMEM;
	spin_lock_irqsave(&r->lock, flags);
	if (pcbg_raw_add(r, e, sk, k))
		e = NULL;
	spin_unlock_irqrestore(&r->lock, flags);
	kfree(e);
	return 0;
}

static void __pcbg_raw_remove(struct pcbg_raw *r, struct pcbg_raw_entry *e)
{
	pcbg_raw_place(r, e, NULL, PCBG_RAW_OFF);
	hlist_del(&e->snode);
	r->n--;
	kfree_rcu(e, rcu);
}

bool pcbg_raw_remove(struct pcbg_raw *r, const struct sock *sk)
{
	struct pcbg_raw_entry *e;
	unsigned long flags;

	spin_lock_irqsave(&r->lock, flags);
	e = pcbg_raw_find(r, sk);
	if (e)
		__pcbg_raw_remove(r, e);
	spin_unlock_irqrestore(&r->lock, flags);
	return e;
}

/* Remove the entries a resync marked and did not find again (lock held). */
unsigned int pcbg_raw_sweep(struct pcbg_raw *r, u8 family)
{
	struct pcbg_raw_tab *t = pcbg_raw_tab_locked(r);
	struct pcbg_raw_entry *e;
	struct hlist_node *tmp;
	unsigned int i, n = 0;

	for (i = 0; t && i <= t->mask; i++)
		hlist_for_each_entry_safe(e, tmp, &t->skh[i], snode)
			if (e->mark && e->key.family == family) {
				__pcbg_raw_remove(r, e);
				n++;
			}
	return n;
}

/* Mark every entry of @family (lock held): pcbg_raw_sweep() after a walk. */
void pcbg_raw_mark(struct pcbg_raw *r, u8 family)
{
	struct pcbg_raw_tab *t = pcbg_raw_tab_locked(r);
	struct pcbg_raw_entry *e;
	unsigned int i;

	for (i = 0; t && i <= t->mask; i++)
		hlist_for_each_entry(e, &t->skh[i], snode)
			if (e->key.family == family)
				e->mark = true;
}

/* The socket's addresses are about to change: keep it in sight. */
void pcbg_raw_transit(struct pcbg_raw *r, const struct sock *sk)
{
	struct pcbg_raw_entry *e;
	unsigned long flags;

	spin_lock_irqsave(&r->lock, flags);
	e = pcbg_raw_find(r, sk);
	if (e && !e->transit++)
		pcbg_raw_place(r, e, NULL, PCBG_RAW_TRANSIT);
	spin_unlock_irqrestore(&r->lock, flags);
}

/* A change is over: file the socket under its key @k once none is left. */
void pcbg_raw_settle(struct pcbg_raw *r, const struct sock *sk,
		     const struct pcbg_raw_key *k)
{
	struct pcbg_raw_entry *e;
	unsigned long flags;

	spin_lock_irqsave(&r->lock, flags);
	e = pcbg_raw_find(r, sk);
	if (e && e->transit && --e->transit) {
		e->key = *k;		/* another change still under way */
	} else if (e) {
		e->transit = 0;
		pcbg_raw_place(r, e, k, PCBG_RAW_FILED);
	}
	spin_unlock_irqrestore(&r->lock, flags);
}

/*
 * The sockets that may take a packet: those filed under one of its keys,
 * and those in transit. Under rcu_read_lock(). Returns how many, -E2BIG
 * if more than @max, -EAGAIN if the index kept changing, -ENOENT if it is
 * gone: the caller then walks the kernel's list instead.
 */
int pcbg_raw_collect(struct pcbg_raw *r, const struct pcbg_raw_key *pkt,
		     struct sock **hits, int max)
{
	unsigned int fam = pkt->family == AF_INET6, have, tries;
	struct pcbg_raw_key key __pcbg_noinit;

	/* The packet's addresses that are set: the key classes it can meet. */
	have = !ipv6_addr_any(&pkt->laddr) << 1 | !ipv6_addr_any(&pkt->faddr);
	key = *pkt;
	for (tries = 0; tries < 4; tries++) {
		unsigned int seq = read_seqcount_begin(&r->seq);
		const struct pcbg_raw_tab *t = rcu_dereference(r->tab);
		struct pcbg_raw_entry *e;
		int n = 0, c;

		if (!t)
			return -ENOENT;
		/*
		 * (dst, src), (dst, any), (any, src), (any, any); a class that
		 * wants an address the packet lacks would repeat a smaller
		 * one's key, and find its sockets twice.
		 */
		for (c = 3; c >= 0; c--) {
			if ((c & ~have) || !READ_ONCE(r->classes[fam][c]))
				continue;
			key.laddr = c & 2 ? pkt->laddr : in6addr_any;
			key.faddr = c & 1 ? pkt->faddr : in6addr_any;
			hlist_for_each_entry_rcu(e, pcbg_raw_bucket(t, &key),
						 node) {
				if (!pcbg_raw_key_eq(&e->key, &key))
					continue;
				if (n == max)
					goto over;
				hits[n++] = e->sk;
			}
		}
		hlist_for_each_entry_rcu(e, &r->transit, node) {
			if (e->key.family != pkt->family ||
			    e->key.proto != pkt->proto)
				continue;
			if (n == max)
				goto over;
			hits[n++] = e->sk;
		}
		if (!read_seqcount_retry(&r->seq, seq))
			return n;
		continue;
over:
		if (!read_seqcount_retry(&r->seq, seq))
			return -E2BIG;
	}
	return -EAGAIN;
}

/* More than two sockets a bucket: time for a bigger table. */
bool pcbg_raw_wants_growth(const struct pcbg_raw *r)
{
	const struct pcbg_raw_tab *t = rcu_access_pointer(r->tab);

	return t && READ_ONCE(r->n) > 2 * (t->mask + 1) &&
	       t->mask + 1 < PCBG_RAW_MAX_BUCKETS;
}

/* Re-file everything in a table four times the size; process context. */
int pcbg_raw_grow(struct pcbg_raw *r)
{
	struct pcbg_raw_tab *t, *nt;
	struct pcbg_raw_entry *e;
	struct hlist_node *tmp;
	unsigned long flags;
	unsigned int i, want;

	want = min_t(unsigned int, PCBG_RAW_MAX_BUCKETS,
		     roundup_pow_of_two(READ_ONCE(r->n) + 1) * 2);
	nt = pcbg_raw_tab_alloc(want, GFP_KERNEL_ACCOUNT);
	if (!nt)
		return -ENOMEM;
	spin_lock_irqsave(&r->lock, flags);
	t = pcbg_raw_tab_locked(r);
	if (!t || t->mask + 1 >= want) {
		spin_unlock_irqrestore(&r->lock, flags);
		pcbg_raw_tab_free(nt);
		return 0;
	}
	write_seqcount_begin(&r->seq);
	for (i = 0; i <= t->mask; i++) {
		hlist_for_each_entry_safe(e, tmp, &t->skh[i], snode) {
			hlist_add_head(&e->snode, pcbg_raw_skh(nt, e->sk));
			if (!e->filed)
				continue;
			hlist_del_rcu(&e->node);
			hlist_add_head_rcu(&e->node,
					   pcbg_raw_bucket(nt, &e->key));
		}
	}
	rcu_assign_pointer(r->tab, nt);
	write_seqcount_end(&r->seq);
	spin_unlock_irqrestore(&r->lock, flags);
	kvfree_rcu(t, rcu);
	return 1;
}
