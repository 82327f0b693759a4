/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Connection groups: the per-bucket socket lookup tables (FreeBSD
 * in_pcbgroup.c). One struct pcbg_table per network namespace and
 * protocol (TCP, UDP; both address families, like the kernel's tables).
 */
#ifndef _PCBG_GROUP_H
#define _PCBG_GROUP_H

#include <linux/cache.h>
#include <linux/in6.h>
#include <linux/jhash.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <net/ipv6.h>
#include <net/sock.h>

#include "pcbg_rss.h"

/*
 * A local that the code fills before any read: spared the zeroing of
 * CONFIG_INIT_STACK_ALL_ZERO (Debian's), a string store per lookup.
 */
#if __has_attribute(__uninitialized__)
#define __pcbg_noinit	__attribute__((__uninitialized__))
#else
#define __pcbg_noinit
#endif

/* What a socket is in a table. */
enum pcbg_kind {
	PCBG_NONE,
	PCBG_EXACT,	/* connected: in the group of its 4-tuple's bucket */
	PCBG_WILD,	/* listening / unconnected: a member of every group */
	PCBG_NKINDS,
};

/* How a lookup was answered; also the statistics' and tracepoint's view. */
enum pcbg_hit {
	PCBG_MISS,	/* nothing here: the stack looks */
	PCBG_HIT_EXACT,
	PCBG_HIT_BUCKET,	/* a reuseport member, picked as the kernel does */
	PCBG_HIT_WILD,
	PCBG_ASIDE = 6,	/* the kernel's pick cannot be known here: stack */
};

/* Where the stack would look the socket up (steer.c, lookup.c). */
enum pcbg_stage {
	PCBG_DEMUX,	/* early demux: connected sockets, before routing */
	PCBG_DELIVER,	/* the protocol's receive: after LOCAL_IN */
	PCBG_LOOKUP,	/* inside the kernel's lookup function (udp_lookup.c) */
};

/*
 * A packet's tuple seen from the local host: f = foreign, l = local; dif
 * and sdif are the stack's own for the point where it would look (early
 * demux or the protocol's receive function).
 */
struct pcbg_tuple {
	unsigned short family;
	__be16 fport, lport;
	__be32 faddr4, laddr4;
	struct in6_addr faddr6, laddr6;
	int dif, sdif;
};

struct pcbg_entry {
	/*
	 * Chained in a hash table by node[tab->nid]: a resize links every
	 * entry into the new table by the other node while readers still walk
	 * the old one (see pcbg_htab).
	 */
	struct hlist_node node[2];
	struct list_head all;		/* its group's members, for a resize */
	struct hlist_node inode;	/* socket index */
	struct sock *sk;		/* held until a grace period after removal */
	u32 key;			/* chain hash */
	u16 lport;			/* local port when linked */
	u16 group;
	u16 tg[2];			/* gen of the table linked by node[i] */
	s8 slot[2];			/* exact: slot in that table's bucket, or -1 */
	u8 kind;
	u8 dup:1;			/* exact: another entry has its tuple */
	u8 reuse:1;			/* wildcard: in a reuseport group */
	u8 jail:1;			/* TCP wildcard: a prisoner's, counted */
	u8 gen;				/* resync generation last seen in */
	struct rcu_head rcu;
};

/* A wildcard socket without a port yet (listen() before bind()). */
static inline bool pcbg_entry_unbound(const struct pcbg_entry *e)
{
	return e->kind == PCBG_WILD && !e->lport;
}

/*
 * A hash bucket, one cache line: the chain hash and socket of up to
 * PCBG_SLOTS sockets inline, so that a hit reads the bucket and the
 * socket and nothing in between (the kernel's ehash and lhash2 chains run
 * through the sockets themselves, which a module cannot extend), and a
 * lookup reads only the sockets of its own chain hash. Sockets beyond
 * PCBG_SLOTS go on the overflow chain.
 */
#define PCBG_SLOTS	4

struct pcbg_bucket {
	u32 key[PCBG_SLOTS];
	struct sock __rcu *sk[PCBG_SLOTS];
	struct hlist_head more;
	u8 used;	/* bit i: slot i holds a socket (read only those) */
} ____cacheline_aligned_in_smp;

/*
 * The slots a reader looks at. Acquire: a bit is set after its slot's key
 * and socket are written (pcbg_tab_link()); a slot whose bit was cleared
 * meanwhile may still be read, and its socket is checked like any other.
 */
static inline unsigned int pcbg_slots_used(struct pcbg_bucket *b)
{
	return smp_load_acquire(&b->used);	/* see above */
}

/*
 * One generation of a group's hash table. A resize fills a new one beside
 * it, links each entry in by its other node, publishes it and frees the
 * old one a grace period later, so a reader walks a table that nothing
 * moves under it.
 */
struct pcbg_htab {
	unsigned int mask;		/* buckets - 1 */
	u16 gen;			/* entries linked here have tg[nid] == gen */
	u8 nid;
	struct pcbg_bucket *b;
	struct pcbg_htab *retired;	/* a resize's list of tables to free */
};

/*
 * A set of sockets under one lock with a table that grows and shrinks
 * with it: one RSS bucket's share of the connected sockets (a connection
 * group), or the wildcard sockets every group shares.
 */
struct pcbg_group {
	spinlock_t lock;		/* writers; readers use RCU */
	unsigned int count;		/* entries in the table */
	struct pcbg_htab __rcu *tab;
	struct pcbg_htab *next;		/* being filled by a resize, or NULL */
	struct list_head all;		/* every entry of the table */
	unsigned int min;		/* buckets it never shrinks below */
	u16 gen;
} ____cacheline_aligned_in_smp;

/* The socket index (socket -> entry, for writers only), in stripes. */
#define PCBG_ISTRIPES	32

struct pcbg_istripe {
	spinlock_t lock;
	unsigned int mask;		/* chains - 1 */
	unsigned int count;
	struct hlist_head *chains;	/* in index_min until first resized */
};

/* Per local port (hashed) counts that tell a lookup what may compete. */
#define PCBG_PORT_SLOTS	256

struct pcbg_table {
	struct net *net;
	u8 protocol;			/* IPPROTO_TCP or IPPROTO_UDP */
	bool dead;			/* being freed: no more resizes */
	bool fixed;			/* never resized (tests) */
	bool jailed;			/* prisons restrict addresses */
	bool syn;			/* SYNs answered (pcbg_table_syn()) */
	unsigned int ngroups;		/* = RSS buckets, a power of two */
	unsigned int min_chains;	/* per index stripe */
	u32 secret;
	u32 any_key;			/* the wildcard address's chain hash */
	struct mem_cgroup *memcg;	/* charged for the tables it grows */
	struct work_struct resize;
	atomic_t resizes;
	struct pcbg_group *groups;
	struct pcbg_group wild;		/* by local address and port */
	struct hlist_head unbound;	/* listeners without a port yet */
	struct pcbg_istripe index[PCBG_ISTRIPES];
	struct hlist_head *index_min;	/* every stripe's first chains */
	atomic_t dups;			/* exact entries sharing a tuple */
	/*
	 * Insert failures since the table was last known complete: while
	 * fail_gen != synced_gen a socket may be missing, so no wildcard
	 * answer is given (a missing one could outrank it).
	 */
	atomic_t fail_gen;
	int synced_gen;
	u8 gen;				/* resync generation (mark and sweep) */
	atomic_t port_exact[PCBG_PORT_SLOTS];	/* connected, by local port */
	atomic_t port_reuse[PCBG_PORT_SLOTS];	/* reuseport wildcards */
	/*
	 * TCP: prisoners' wildcard sockets by local port, and those without
	 * a port yet plus recounts under way (pcbg_port_jailed()).
	 */
	atomic_t port_jail[PCBG_PORT_SLOTS];
	atomic_t jail_unknown;
};

/*
 * Walking a chain of entries linked by node[@nid], under rcu_read_lock()
 * or the chain's lock.
 */
static inline struct pcbg_entry *pcbg_chain_entry(struct hlist_node *n,
						  unsigned int nid)
{
	return n ? container_of(n - nid, struct pcbg_entry, node[0]) : NULL;
}

#define pcbg_chain_first(head, nid) \
	pcbg_chain_entry(rcu_dereference_raw(hlist_first_rcu(head)), nid)
#define pcbg_chain_next(e, nid) \
	pcbg_chain_entry(rcu_dereference_raw(hlist_next_rcu(&(e)->node[nid])), \
			 nid)
#define pcbg_chain_each(e, head, nid) \
	for (e = pcbg_chain_first(head, nid); e; e = pcbg_chain_next(e, nid))

/* A group's table, for its writers (and tests). */
static inline struct pcbg_htab *pcbg_group_tab(struct pcbg_group *g)
{
	return rcu_dereference_protected(g->tab, 1);
}

/*
 * The wildcard buckets a lookup reads, as the kernel's lhash2 and UDP
 * hash2 lookups do: the sockets bound to the packet's address and port
 * (key_addr), then to the wildcard address and the port (key_any; its
 * bucket is NULL when it is the same one), then those without a port yet
 * (the unbound list, nid 0).
 */
struct pcbg_wild_view {
	struct pcbg_htab *tab;
	struct pcbg_bucket *addr;
	struct pcbg_bucket *any;
	u32 key_addr, key_any;
};

/*
 * The sockets of one bucket whose chain hash is k1 or k2, slots first,
 * then the overflow chain, under rcu_read_lock(): only those sockets are
 * read, as the kernel reads only its own chain's.
 */
struct pcbg_cursor {
	struct pcbg_bucket *b;
	struct pcbg_entry *e;
	u32 k1, k2;
	u8 nid, used;
	bool chain;
};

static inline void pcbg_cursor_init(struct pcbg_cursor *c,
				    struct pcbg_bucket *b, unsigned int nid,
				    u32 k1, u32 k2)
{
	c->b = b;
	c->e = NULL;
	c->k1 = k1;
	c->k2 = k2;
	c->nid = nid;
	c->used = pcbg_slots_used(b);
	c->chain = false;
}

static inline struct sock *pcbg_cursor_next(struct pcbg_cursor *c)
{
	while (c->used) {
		unsigned int i = __ffs(c->used);
		u32 key = READ_ONCE(c->b->key[i]);
		struct sock *sk;

		c->used &= c->used - 1;
		if (key != c->k1 && key != c->k2)
			continue;
		sk = rcu_dereference(c->b->sk[i]);
		if (sk)
			return sk;
	}
	if (!c->chain) {
		c->chain = true;
		c->e = pcbg_chain_first(&c->b->more, c->nid);
	} else if (c->e) {
		c->e = pcbg_chain_next(c->e, c->nid);
	}
	while (c->e && c->e->key != c->k1 && c->e->key != c->k2)
		c->e = pcbg_chain_next(c->e, c->nid);
	return c->e ? c->e->sk : NULL;
}

/*
 * Chain hash: keyed by a per-table secret, unlike Toeplitz, so chains
 * cannot be flooded by a peer that knows the RSS key.
 */
static inline u32 pcbg_tuple_key(const struct pcbg_table *t,
			  const struct pcbg_tuple *tp)
{
	u32 ports = (__force u32)tp->fport << 16 | (__force u32)tp->lport;

	if (tp->family == AF_INET)
		return jhash_3words((__force u32)tp->laddr4,
				    (__force u32)tp->faddr4, ports, t->secret);
	return jhash2((const u32 *)&tp->laddr6, 4,
		      jhash2((const u32 *)&tp->faddr6, 4, ports ^ t->secret));
}

/*
 * Wildcard sockets are hashed by local address and port, as the kernel's
 * lhash2 and UDP hash2 are (ipv4_portaddr_hash(): the address hashed, the
 * port mixed in after, so the wildcard address's hash is computed once);
 * the wildcard address of either family and a v4-mapped address hash as
 * IPv4 (ipv6_portaddr_hash()), so that one chain holds every socket an
 * IPv4 or IPv6 packet may meet for them.
 */
static inline u32 pcbg_addr_key4(const struct pcbg_table *t, __be32 addr, u16 port)
{
	if (!addr)
		return t->any_key ^ port;	/* precomputed: every lookup */
	return jhash_1word((__force u32)addr, t->secret) ^ port;
}

static inline u32 pcbg_addr_key6(const struct pcbg_table *t,
			  const struct in6_addr *addr, u16 port)
{
	if (ipv6_addr_any(addr))
		return pcbg_addr_key4(t, 0, port);
	if (ipv6_addr_v4mapped(addr))
		return pcbg_addr_key4(t, addr->s6_addr32[3], port);
	return jhash2((const u32 *)addr, 4, t->secret) ^ port;
}

static inline void pcbg_wild_view(struct pcbg_table *t,
				  const struct pcbg_tuple *tp,
				  struct pcbg_wild_view *v)
{
	u16 port = ntohs(tp->lport);
	u32 key = tp->family == AF_INET ?
		  pcbg_addr_key4(t, tp->laddr4, port) :
		  pcbg_addr_key6(t, &tp->laddr6, port);
	u32 any = t->any_key ^ port;

	v->tab = rcu_dereference(t->wild.tab);
	v->key_addr = key;
	v->key_any = any;
	v->addr = &v->tab->b[key & v->tab->mask];
	v->any = &v->tab->b[any & v->tab->mask];
	if (v->any == v->addr)
		v->any = NULL;
}

/*
 * A lookup that found nothing in @tab looks again if a resize has
 * published a new table for @g since: nothing is lost in the old, but a
 * socket added after the switch is only in the new.
 */
static inline bool pcbg_group_stale(struct pcbg_group *g,
				    const struct pcbg_htab *tab)
{
	smp_rmb();	/* the walk before the re-read */
	return rcu_access_pointer(g->tab) != tab;
}


/* Told of every resize (trace.c; the tests and benchmark count them). */
void pcbg_resized(struct pcbg_table *t, int group, unsigned int from,
		  unsigned int to, unsigned int count);
/* Told of every socket that joins or leaves a table (trace.c traces it). */
void pcbg_member(struct pcbg_table *t, const struct pcbg_entry *e, bool in);
unsigned int pcbg_group_longest(struct pcbg_group *g);
size_t pcbg_table_bytes(struct pcbg_table *t);
void pcbg_table_settle(struct pcbg_table *t);

static inline unsigned int pcbg_port_slot(__be16 port)
{
	return ntohs(port) & (PCBG_PORT_SLOTS - 1);
}

/*
 * A connected socket may have this local port: the exact lookup can find
 * something (a wildcard lookup on a port without skips it).
 */
static inline bool pcbg_port_has_exact_port(struct pcbg_table *t,
					    __be16 lport)
{
	return atomic_read(&t->port_exact[pcbg_port_slot(lport)]);
}

static inline bool pcbg_port_has_exact(struct pcbg_table *t,
				       const struct pcbg_tuple *tp)
{
	return pcbg_port_has_exact_port(t, tp->lport);
}

/* Every socket of the namespace is in the table (see fail_gen). */
static inline bool pcbg_table_complete(const struct pcbg_table *t)
{
	return atomic_read(&t->fail_gen) == READ_ONCE(t->synced_gen);
}

/*
 * Whether a prisoner's TCP wildcard socket may have local port @lport, or
 * the count cannot tell (a listener without a port, a recount after a
 * prison came, a socket missing from the table). Only then can a
 * prison's rule change which socket a SYN reaches; elsewhere the
 * kernel's lookup gives the answer the rule would give. A listener is
 * counted before the kernel hashes it (the state tracepoint precedes
 * get_port() and hash()) and uncounted after it is unhashed.
 */
static inline bool pcbg_port_jailed(const struct pcbg_table *t,
				    __be16 lport)
{
	return atomic_read(&t->port_jail[pcbg_port_slot(lport)]) ||
	       atomic_read(&t->jail_unknown) || !pcbg_table_complete(t);
}

/*
 * Whether the groups answer a SYN: only while prisons restrict the
 * namespace, where the wildcard lookup applies their rules. Elsewhere the
 * kernel's listener lookup (per port, under RCU; per CPU with reuseport
 * and SO_INCOMING_CPU) costs less than the groups' and gives the same
 * socket: the delivery hook leaves a SYN to it at once (bench/README.md).
 */
static inline bool pcbg_table_syn(const struct pcbg_table *t)
{
	return t && READ_ONCE(t->syn);
}

int pcbg_entry_cache_init(void);
void pcbg_entry_cache_exit(void);
long pcbg_entry_count(void);

struct pcbg_table *pcbg_table_alloc(struct net *net, u8 protocol,
				    unsigned int ngroups, unsigned int min_buckets,
				    unsigned int min_index);
void pcbg_table_free(struct pcbg_table *t);
int pcbg_table_set(struct pcbg_table *t, struct sock *sk, enum pcbg_kind kind);
typedef enum pcbg_kind (*pcbg_kind_fn)(const struct sock *sk);
int pcbg_table_sync(struct pcbg_table *t, struct sock *sk,
		    pcbg_kind_fn kind_of, bool join);
unsigned int pcbg_table_rehash(struct pcbg_table *t);
void pcbg_table_mark(struct pcbg_table *t);
unsigned int pcbg_table_sweep(struct pcbg_table *t);
unsigned int pcbg_table_reap(struct pcbg_table *t);
unsigned int pcbg_sk_group(const struct pcbg_table *t,
			   const struct pcbg_rss *rss, const struct sock *sk);
enum pcbg_kind pcbg_table_kind(struct pcbg_table *t, const struct sock *sk);
unsigned int pcbg_table_members(const struct pcbg_table *t,
				enum pcbg_kind kind);
void pcbg_table_jail_recount(struct pcbg_table *t);
unsigned int pcbg_table_jailed_listeners(const struct pcbg_table *t,
					 unsigned int *unknown);

/*
 * A packet as the answer policy (pcbg_answer(), lookup.c) sees it: what
 * the hook knows at the point where the stack would look, and what it
 * knows of the namespace. KUnit and the benchmark fill it as a hook does.
 */
struct pcbg_query {
	const struct pcbg_tuple *tp;
	u32 hash;		/* RSS hash, or at least its bucket bits */
	u8 protocol;		/* IPPROTO_TCP or IPPROTO_UDP */
	u8 stage;		/* enum pcbg_stage */
	bool syn;		/* TCP: SYN without ACK, may open a connection */
	/* UDP only: */
	bool udp_reliable;	/* no probe missed since the last walk */
	bool placed_by;		/* the hash is the one sockets were placed by */
};

struct sock *pcbg_answer(struct pcbg_table *t, const struct pcbg_rss *rss,
			 const struct pcbg_query *q, enum pcbg_hit *hit);

/* An answer not handed to a packet: its reference, if it took one. */
static inline void pcbg_answer_put(struct sock *sk)
{
	if (sk_is_refcounted(sk))
		sock_gen_put(sk);
}
bool pcbg_wild_excluded(struct sock *sk, const struct pcbg_tuple *tp);
struct sock *pcbg_lookup_exact(struct pcbg_table *t,
			       const struct pcbg_rss *rss,
			       const struct pcbg_tuple *tp, u32 hash,
			       enum pcbg_hit *hit);

/*
 * The bound-device rule of the protocol's own lookup (inet_bound_dev_eq()):
 * TCP and UDP read different l3mdev_accept sysctls, only for an unbound
 * socket and a packet from a VRF.
 */
static inline bool pcbg_dev_match(const struct pcbg_table *t, int bound,
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

/* wild.c: wildcard answers, exactly as the kernel would pick */
struct sock *pcbg_lookup_wild(struct pcbg_table *t,
			      const struct pcbg_tuple *tp, enum pcbg_hit *hit);
bool pcbg_udp_exact_certain(struct pcbg_table *t,
			    const struct pcbg_tuple *tp);
u32 pcbg_tuple_rss_hash(const struct pcbg_rss *rss,
			const struct pcbg_tuple *tp);
u32 pcbg_tuple_rss_bucket(const struct pcbg_rss *rss,
			  const struct pcbg_tuple *tp);

static inline unsigned int pcbg_table_group(const struct pcbg_table *t,
					    const struct pcbg_rss *rss, u32 hash)
{
	return pcbg_rss_bucket(rss, hash) & (t->ngroups - 1);
}

#endif /* _PCBG_GROUP_H */
