// SPDX-License-Identifier: GPL-2.0
/*
 * Connection groups, after FreeBSD's sys/netinet/in_pcbgroup.c.
 *
 * The 4-tuple space is split into groups, one per RSS bucket, so that the
 * CPU that receives a bucket's packets looks its sockets up in a table of
 * its own. A connected socket lives in the group of its 4-tuple's bucket.
 * Wildcard sockets (listeners, unconnected bound UDP sockets) are members
 * of every group: like FreeBSD we keep them once, on a shared list that
 * every group's lookup reads, instead of copying them into each group.
 * Which of them answers a packet is decided in wild.c, exactly as the
 * kernel would decide it.
 *
 * Readers use RCU and take no lock. Writers take the socket's index chain
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
 * Zeroed: empty slots, empty overflow chains. A large array is mapped with
 * huge pages where it can be, as the kernel's own ehash is
 * (inet_pernet_hashinfo_alloc): a lookup then costs no extra TLB miss.
 */
static struct pcbg_bucket *pcbg_buckets_alloc(unsigned int n)
{
	size_t size = array_size(n, sizeof(struct pcbg_bucket));

	if (size >= PMD_SIZE)
		return pcbg_fail() ? NULL :
		       vmalloc_huge(size, PCBG_GFP | __GFP_ZERO);
	return pcbg_kvcalloc(n, sizeof(struct pcbg_bucket));
}

struct pcbg_table *pcbg_table_alloc(struct net *net, u8 protocol,
				    unsigned int ngroups, unsigned int chains,
				    unsigned int index)
{
	struct pcbg_table *t;
	unsigned int i;

	if (!is_power_of_2(ngroups) || !is_power_of_2(chains) ||
	    !is_power_of_2(index))
		return NULL;
	t = pcbg_fail() ? NULL : kzalloc(sizeof(*t), PCBG_GFP);
	if (!t)
		return NULL;
	t->net = net;
	t->protocol = protocol;
	t->ngroups = ngroups;
	t->chain_mask = chains - 1;
	t->index_mask = index - 1;
	t->secret = get_random_u32();
	spin_lock_init(&t->wild_lock);
	t->index = pcbg_kvcalloc(index, sizeof(*t->index));
	if (!t->index)
		goto fail;
	/* Before anything else can fail: pcbg_table_free() takes them. */
	for (i = 0; i < index; i++) {
		spin_lock_init(&t->index[i].lock);
		INIT_HLIST_HEAD(&t->index[i].head);
	}
	t->groups = pcbg_kvcalloc(ngroups, sizeof(*t->groups));
	if (!t->groups)
		goto fail;
	for (i = 0; i < ngroups; i++) {
		struct pcbg_group *g = &t->groups[i];

		spin_lock_init(&g->lock);
		g->buckets = pcbg_buckets_alloc(chains);
		if (!g->buckets)
			goto fail;
	}
	return t;
fail:
	pcbg_table_free(t);
	return NULL;
}

static struct pcbg_ichain *pcbg_ichain(struct pcbg_table *t,
				       const struct sock *sk)
{
	return &t->index[hash_ptr(sk, 32) & t->index_mask];
}

static struct pcbg_entry *pcbg_ifind(struct pcbg_ichain *ic,
				     const struct sock *sk)
{
	struct pcbg_entry *e;

	hlist_for_each_entry(e, &ic->head, inode)
		if (e->sk == sk)
			return e;
	return NULL;
}

/*
 * Wildcard sockets are chained by local port; a listener whose port is not
 * chosen yet (listen() without bind()) goes on the last list, which every
 * wildcard lookup also reads.
 */
#define PCBG_WILD_UNBOUND	(ARRAY_SIZE(((struct pcbg_table *)0)->wild) - 1)

static struct hlist_head *pcbg_wild_head(struct pcbg_table *t, u16 port)
{
	if (!port)
		return &t->wild[PCBG_WILD_UNBOUND];
	return &t->wild[port % PCBG_WILD_UNBOUND];
}

/* The wildcard sockets a lookup for @port must read (wild.c). */
struct hlist_head *pcbg_wild_chain(struct pcbg_table *t, u16 port)
{
	return pcbg_wild_head(t, port);
}

static struct pcbg_bucket *pcbg_bucket(struct pcbg_table *t,
				       const struct pcbg_entry *e)
{
	return &t->groups[e->group].buckets[e->key & t->chain_mask];
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
static void pcbg_mark_dup(struct pcbg_table *t, struct pcbg_bucket *b,
			  struct pcbg_entry *e)
{
	struct pcbg_entry *o;
	struct sock *sk;
	int i;

	for (i = 0; i < PCBG_SLOTS; i++) {
		sk = rcu_dereference_protected(b->sk[i], 1);
		if (sk && b->key[i] == e->key && pcbg_same_tuple(sk, e->sk))
			goto dup;
	}
	hlist_for_each_entry(o, &b->more, node)
		if (o->key == e->key && pcbg_same_tuple(o->sk, e->sk))
			goto dup;
	return;
dup:
	e->dup = 1;
	atomic_inc(&t->dups);
}

static void pcbg_link_exact(struct pcbg_table *t, struct pcbg_entry *e)
{
	struct pcbg_group *g = &t->groups[e->group];
	struct pcbg_bucket *b = pcbg_bucket(t, e);
	int i;

	spin_lock(&g->lock);
	pcbg_mark_dup(t, b, e);
	e->slot = -1;
	for (i = 0; i < PCBG_SLOTS; i++) {
		if (!rcu_access_pointer(b->sk[i])) {
			e->slot = i;
			WRITE_ONCE(b->key[i], e->key);
			rcu_assign_pointer(b->sk[i], e->sk);
			break;
		}
	}
	if (e->slot < 0)
		hlist_add_head_rcu(&e->node, &b->more);
	g->count++;
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
	if (e->kind == PCBG_EXACT) {
		pcbg_link_exact(t, e);
	} else {
		spin_lock(&t->wild_lock);
		hlist_add_head_rcu(&e->node, pcbg_wild_head(t, e->key));
		spin_unlock(&t->wild_lock);
	}
	atomic_inc(&t->members[e->kind]);
}

static void pcbg_unlink(struct pcbg_table *t, struct pcbg_entry *e)
{
	spinlock_t *lock = e->kind == PCBG_EXACT ? &t->groups[e->group].lock :
						   &t->wild_lock;

	spin_lock(lock);
	if (e->kind == PCBG_EXACT && e->slot >= 0)
		RCU_INIT_POINTER(pcbg_bucket(t, e)->sk[e->slot], NULL);
	else
		hlist_del_rcu(&e->node);
	if (e->kind == PCBG_EXACT)
		t->groups[e->group].count--;
	spin_unlock(lock);
	if (e->dup)
		atomic_dec(&t->dups);
	pcbg_count_port(t, e, -1);
	hlist_del(&e->inode);
	atomic_dec(&t->members[e->kind]);
	call_rcu(&e->rcu, pcbg_entry_free_rcu);
}

/*
 * Where @sk belongs as @kind: key and group. Called under the socket's
 * index chain lock, which a rehash also takes after publishing a new key:
 * a placement by the old key is then always seen and moved by the rehash.
 */
static void pcbg_place(struct pcbg_table *t, const struct sock *sk,
		       enum pcbg_kind kind, u32 *key, u16 *group)
{
	struct pcbg_tuple tp;
	const struct pcbg_rss *rss;

	if (kind == PCBG_WILD) {
		*key = sk->sk_num;
		*group = 0;
		return;
	}
	pcbg_sk_tuple(sk, &tp);
	*key = pcbg_tuple_key(t, &tp);
	rcu_read_lock();
	rss = pcbg_rss_get();
	*group = pcbg_table_group(t, rss, pcbg_tuple_rss_hash(rss, &tp));
	rcu_read_unlock();
}

/*
 * Make @sk a member of @t as @kind (PCBG_NONE removes it). Idempotent: the
 * membership trackers may report the same state twice.
 */
int pcbg_table_set(struct pcbg_table *t, struct sock *sk, enum pcbg_kind kind)
{
	struct pcbg_ichain *ic = pcbg_ichain(t, sk);
	struct pcbg_entry *old, *e = NULL;
	u32 key = 0;
	u16 group = 0;
	bool reuse;
	int err = 0;

	/* Fixed once hashed: the group is attached when the port is taken. */
	reuse = kind == PCBG_WILD && sk->sk_reuseport &&
		rcu_access_pointer(sk->sk_reuseport_cb);
	spin_lock_bh(&ic->lock);
	if (kind != PCBG_NONE)
		pcbg_place(t, sk, kind, &key, &group);
	old = pcbg_ifind(ic, sk);
	if (old && old->kind == kind && old->key == key &&
	    old->group == group && old->reuse == reuse) {
		old->gen = READ_ONCE(t->gen);	/* seen by a resync walk */
		goto out;
	}
	if (kind != PCBG_NONE) {
		e = pcbg_entry_alloc(sk);
		if (!e) {
			err = -ENOMEM;
			goto out;	/* stays as it was: lookups fall back */
		}
		e->sk = sk;
		e->key = key;
		e->lport = sk->sk_num;
		e->group = group;
		e->kind = kind;
		e->dup = 0;
		e->reuse = reuse;
		e->gen = READ_ONCE(t->gen);
		sock_hold(sk);
	}
	/* The new place first: a reader may see both, never neither. */
	if (e) {
		pcbg_link(t, e);
		hlist_add_head(&e->inode, &ic->head);
	}
	if (old)
		pcbg_unlink(t, old);
out:
	spin_unlock_bh(&ic->lock);
	return err;
}

enum pcbg_kind pcbg_table_kind(struct pcbg_table *t, const struct sock *sk)
{
	struct pcbg_ichain *ic = pcbg_ichain(t, sk);
	struct pcbg_entry *e;
	enum pcbg_kind kind;

	spin_lock_bh(&ic->lock);
	e = pcbg_ifind(ic, sk);
	kind = e ? e->kind : PCBG_NONE;
	spin_unlock_bh(&ic->lock);
	return kind;
}

/*
 * The RSS key changed: move each connected socket to its new group.
 * Returns the moves that failed for want of memory.
 */
unsigned int pcbg_table_rehash(struct pcbg_table *t)
{
	unsigned int i, failed = 0;

	for (i = 0; i <= t->index_mask; i++) {
		struct pcbg_ichain *ic = &t->index[i];
		struct pcbg_entry *e, *ne;
		struct hlist_node *tmp;
		u32 key;
		u16 group;

		spin_lock_bh(&ic->lock);
		hlist_for_each_entry_safe(e, tmp, &ic->head, inode) {
			if (e->kind != PCBG_EXACT)
				continue;
			pcbg_place(t, e->sk, PCBG_EXACT, &key, &group);
			if (group == e->group)
				continue;
			/* A new entry: readers may be walking the old one. */
			ne = pcbg_entry_alloc(e->sk);
			if (!ne) {
				/* Exact misses go to the stack meanwhile. */
				atomic_inc(&t->fail_gen);
				failed++;
				continue;
			}
			*ne = *e;
			ne->group = group;
			ne->dup = 0;
			sock_hold(ne->sk);
			pcbg_link(t, ne);
			hlist_add_head(&ne->inode, &ic->head);
			pcbg_unlink(t, e);
		}
		spin_unlock_bh(&ic->lock);
		cond_resched();
	}
	return failed;
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
	for (i = 0; i <= t->index_mask; i++) {
		spin_lock_bh(&t->index[i].lock);
		spin_unlock_bh(&t->index[i].lock);
	}
}

/* Drop every entry @stale says is stale; returns how many. */
static unsigned int pcbg_table_drop(struct pcbg_table *t,
				    bool (*stale)(const struct pcbg_table *t,
						  const struct pcbg_entry *e))
{
	unsigned int i, n = 0;

	for (i = 0; i <= t->index_mask; i++) {
		struct pcbg_ichain *ic = &t->index[i];
		struct pcbg_entry *e;
		struct hlist_node *tmp;

		spin_lock_bh(&ic->lock);
		hlist_for_each_entry_safe(e, tmp, &ic->head, inode) {
			if (!stale(t, e))
				continue;
			pcbg_unlink(t, e);
			n++;
		}
		spin_unlock_bh(&ic->lock);
		if (!(i & 1023))
			cond_resched();
	}
	return n;
}

static bool pcbg_unmarked(const struct pcbg_table *t,
			  const struct pcbg_entry *e)
{
	return e->gen != t->gen;
}

/* The sweep after the walk: returns the number of entries dropped. */
unsigned int pcbg_table_sweep(struct pcbg_table *t)
{
	return pcbg_table_drop(t, pcbg_unmarked);
}

static bool pcbg_closed(const struct pcbg_table *t, const struct pcbg_entry *e)
{
	return READ_ONCE(e->sk->sk_state) == TCP_CLOSE && sk_unhashed(e->sk);
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
	return pcbg_table_drop(t, pcbg_closed);
}

/* Caller has unpublished @t and waited for its readers. */
void pcbg_table_free(struct pcbg_table *t)
{
	unsigned int i;

	if (t->index) {
		for (i = 0; i <= t->index_mask; i++) {
			struct pcbg_entry *e;
			struct hlist_node *tmp;

			spin_lock_bh(&t->index[i].lock);
			hlist_for_each_entry_safe(e, tmp, &t->index[i].head, inode)
				pcbg_unlink(t, e);
			spin_unlock_bh(&t->index[i].lock);
		}
	}
	if (t->groups)
		for (i = 0; i < t->ngroups; i++)
			kvfree(t->groups[i].buckets);
	kvfree(t->groups);
	kvfree(t->index);
	kfree(t);
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

/*
 * The bound-device rule of the protocol's own lookup (inet_bound_dev_eq()):
 * TCP and UDP read different l3mdev_accept sysctls, only for an unbound
 * socket and a packet from a VRF.
 */
bool pcbg_dev_match(const struct pcbg_table *t, int bound,
		    const struct pcbg_tuple *tp)
{
#if IS_ENABLED(CONFIG_NET_L3_MASTER_DEV)
	struct net *net = t->net;
#endif

	if (bound)
		return bound == tp->dif || bound == tp->sdif;
	if (!tp->sdif)
		return true;
#if IS_ENABLED(CONFIG_NET_L3_MASTER_DEV)
	return t->protocol == IPPROTO_TCP ?
	       READ_ONCE(net->ipv4.sysctl_tcp_l3mdev_accept) :
	       READ_ONCE(net->ipv4.sysctl_udp_l3mdev_accept);
#else
	return true;
#endif
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
	struct pcbg_bucket *b = &g->buckets[key & t->chain_mask];
	bool all = atomic_read(&t->dups);	/* look for a second match */
	struct sock *sk, *found = NULL;
	struct pcbg_entry *e;
	int i;

	*hit = PCBG_MISS;
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
	hlist_for_each_entry_rcu(e, &b->more, node) {
		if (e->key != key || !pcbg_exact_match(t, e->sk, tp))
			continue;
		if (found)
			goto twice;
		found = e->sk;
		if (!all)
			goto out;
	}
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
	struct sock *sk = pcbg_lookup_exact(t, rss, tp, hash, hit);

	if (!sk && *hit == PCBG_MISS && (flags & PCBG_LOOKUP_WILDCARD))
		sk = pcbg_lookup_wild(t, tp, hit);
	if (sk && (flags & PCBG_LOOKUP_REF) &&
	    unlikely(!refcount_inc_not_zero(&sk->sk_refcnt))) {
		*hit = PCBG_MISS;
		return NULL;
	}
	return sk;
}
