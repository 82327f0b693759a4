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
 * Every table grows and shrinks with its socket count (table.c),
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
#include <linux/memcontrol.h>
#include <linux/percpu.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <net/inet_hashtables.h>
#include <net/inet6_hashtables.h>
#include <net/ipv6.h>
#include <net/tcp_states.h>

#include "pcbg_fault.h"
#include "pcbg_group.h"
#include "pcbg_prison.h"
#include "pcbg_table.h"

static struct kmem_cache *pcbg_entry_cache;
/*
 * Allocated entries, for leak checks. Per CPU, so that connections on
 * different CPUs do not write one host-wide line; static, so that the
 * 'entries' parameter can read it for the module's whole life.
 */
static DEFINE_PER_CPU(long, pcbg_entries);

long pcbg_entry_count(void)
{
	long n = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		n += per_cpu(pcbg_entries, cpu);
	return n;
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
		this_cpu_inc(pcbg_entries);
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
	this_cpu_dec(pcbg_entries);
}

/*
 * The tuple of a connected socket; v4-mapped IPv6 sockets count as IPv4.
 * Only the family's addresses and the ports are written.
 */
static void pcbg_sk_tuple(const struct sock *sk, struct pcbg_tuple *tp)
{
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
	struct pcbg_tuple tp __pcbg_noinit;

	pcbg_sk_tuple(sk, &tp);
	return pcbg_table_group(t, rss, pcbg_tuple_rss_bucket(rss, &tp));
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

/*
 * A reader may pair a slot's key with the socket stored before or after
 * it: harmless, since a candidate is always checked against its socket,
 * and every socket a reader can see is pinned by its entry's reference.
 */
static bool pcbg_same_tuple(const struct sock *a, const struct sock *b)
{
	struct pcbg_tuple ta, tb;

	memset(&ta, 0, sizeof(ta));	/* compared whole */
	memset(&tb, 0, sizeof(tb));
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

/*
 * Whether a TCP wildcard entry counts as a prisoner's (pcbg_port_jailed()),
 * under the wildcard table's lock, which a recount also takes: a link
 * either precedes a recount, which corrects it, or sees the prisons the
 * recount saw.
 */
static void pcbg_jail_set(struct pcbg_table *t, struct pcbg_entry *e,
			  bool jail)
{
	atomic_t *count = pcbg_entry_unbound(e) ? &t->jail_unknown :
			  &t->port_jail[pcbg_port_slot(htons(e->lport))];

	lockdep_assert_held(&t->wild.lock);
	if (e->jail == jail)
		return;
	e->jail = jail;
	atomic_add(jail ? 1 : -1, count);
}

static bool pcbg_jail_of(const struct pcbg_table *t,
			 const struct pcbg_entry *e)
{
	bool jail;

	if (t->protocol != IPPROTO_TCP || e->kind != PCBG_WILD)
		return false;
	rcu_read_lock();
	jail = pcbg_sk_prison(e->sk);
	rcu_read_unlock();
	return jail;
}

/*
 * The prisoners' listeners the SYN rule counts, and its "cannot tell"
 * count (/proc/net/pcbgroup/stats): exact while no listener comes or goes.
 */
unsigned int pcbg_table_jailed_listeners(const struct pcbg_table *t,
					 unsigned int *unknown)
{
	unsigned int i, n = 0;

	for (i = 0; i < PCBG_PORT_SLOTS; i++)
		n += atomic_read(&t->port_jail[i]);
	*unknown = atomic_read(&t->jail_unknown);
	return n;
}

/*
 * A prison came or went: which TCP wildcard sockets are prisoners' is
 * counted again. Callers hold jail_unknown raised from before the change
 * until after this, so that no SYN meanwhile trusts the counts.
 */
void pcbg_table_jail_recount(struct pcbg_table *t)
{
	struct pcbg_entry *e;

	if (t->protocol != IPPROTO_TCP)
		return;
	spin_lock_bh(&t->wild.lock);
	list_for_each_entry(e, &t->wild.all, all)
		pcbg_jail_set(t, e, pcbg_jail_of(t, e));
	hlist_for_each_entry(e, &t->unbound, node[0])
		pcbg_jail_set(t, e, pcbg_jail_of(t, e));
	spin_unlock_bh(&t->wild.lock);
}

/* Into its group's table, and the one a resize is filling. */
static void pcbg_group_link(struct pcbg_table *t, struct pcbg_entry *e)
{
	struct pcbg_group *g = pcbg_entry_group(t, e);
	struct pcbg_htab *tab;

	spin_lock(&g->lock);
	if (e->kind == PCBG_WILD)	/* counted before it can be found */
		pcbg_jail_set(t, e, pcbg_jail_of(t, e));
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
	WRITE_ONCE(g->count, g->count + 1);
	pcbg_group_check(t, g, tab);
out:
	spin_unlock(&g->lock);
}

static void pcbg_group_unlink(struct pcbg_table *t, struct pcbg_entry *e)
{
	struct pcbg_group *g = pcbg_entry_group(t, e);
	struct pcbg_htab *tab;

	spin_lock(&g->lock);
	if (e->kind == PCBG_WILD)
		pcbg_jail_set(t, e, false);
	if (pcbg_entry_unbound(e)) {
		hlist_del_rcu(&e->node[0]);
		goto out;
	}
	tab = rcu_dereference_protected(g->tab, lockdep_is_held(&g->lock));
	pcbg_tab_unlink(tab, e);
	if (g->next && pcbg_tab_linked(g->next, e))
		pcbg_tab_unlink(g->next, e);
	list_del(&e->all);
	WRITE_ONCE(g->count, g->count - 1);
	pcbg_group_check(t, g, tab);
out:
	spin_unlock(&g->lock);
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
	struct pcbg_tuple tp __pcbg_noinit;
	const struct pcbg_rss *rss;

	p->port = READ_ONCE(sk->sk_num);
	p->group = 0;
	if (kind == PCBG_WILD) {
		p->key = pcbg_wild_key(t, sk, p->port);
		return;
	}
	pcbg_sk_tuple(sk, &tp);
	p->key = pcbg_tuple_key(t, &tp);
	rss = pcbg_rss_get_bh();
	/* The group needs only the bucket bits, not the whole hash. */
	p->group = pcbg_table_group(t, rss, pcbg_tuple_rss_bucket(rss, &tp));
}

static struct pcbg_entry *pcbg_entry_new(struct pcbg_table *t,
					 struct sock *sk, enum pcbg_kind kind,
					 const struct pcbg_spot *p, bool reuse)
{
	struct pcbg_entry *e = pcbg_entry_alloc(sk);

	if (!e)
		return NULL;
	/* Field by field: the nodes are written when linked. */
	e->tg[0] = 0;
	e->tg[1] = 0;
	e->dup = 0;
	e->jail = 0;
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
 * Make @sk a member of @t as @kind (PCBG_NONE removes it), or as
 * @kind_of(@sk) says if that is given: read under the index stripe lock,
 * which every placement of @sk takes, so that the last one to take it
 * reads the socket as its last change (a connect(), say) left it. Without
 * @join, a socket that has no entry gets none. Idempotent: the membership
 * trackers may report the same state twice.
 */
static int pcbg_table_put(struct pcbg_table *t, struct sock *sk,
			  enum pcbg_kind kind, pcbg_kind_fn kind_of, bool join)
{
	struct pcbg_entry *old, *e = NULL;
	struct pcbg_spot spot = {};
	struct pcbg_istripe *is;
	bool reuse;
	int err = 0;
	u32 h;

	is = pcbg_stripe(t, sk, &h);
	spin_lock_bh(&is->lock);
	old = pcbg_ifind(is, h, sk);
	if (!old && !join)
		goto out;
	if (kind_of)
		kind = kind_of(sk);
	/* Fixed once hashed: the group is attached when the port is taken. */
	reuse = kind == PCBG_WILD && sk->sk_reuseport &&
		rcu_access_pointer(sk->sk_reuseport_cb);
	if (kind != PCBG_NONE)
		pcbg_place(t, sk, kind, &spot);
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

int pcbg_table_set(struct pcbg_table *t, struct sock *sk, enum pcbg_kind kind)
{
	return pcbg_table_put(t, sk, kind, NULL, true);
}

int pcbg_table_sync(struct pcbg_table *t, struct sock *sk,
		    pcbg_kind_fn kind_of, bool join)
{
	return pcbg_table_put(t, sk, PCBG_NONE, kind_of, join);
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
	WRITE_ONCE(t->dead, true);
	cancel_work_sync(&t->resize);
	pcbg_table_each(t, pcbg_drop);
	pcbg_table_release(t);
}
