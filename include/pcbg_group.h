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
#include <linux/list.h>
#include <linux/spinlock.h>
#include <net/sock.h>

#include "pcbg_rss.h"

/* What a socket is in a table. */
enum pcbg_kind {
	PCBG_NONE,
	PCBG_EXACT,	/* connected: in the group of its 4-tuple's bucket */
	PCBG_WILD,	/* listening / unconnected: a member of every group */
	PCBG_BUCKET,	/* SO_INCOMING_CPU listener: the groups of one CPU */
};

/* How a lookup was answered; also the statistics' and tracepoint's view. */
enum pcbg_hit {
	PCBG_MISS,
	PCBG_HIT_EXACT,
	PCBG_HIT_BUCKET,
	PCBG_HIT_WILD,
};

/* in_pcblookup() flags. */
#define PCBG_LOOKUP_WILDCARD	0x1	/* also match wildcard sockets */
#define PCBG_LOOKUP_REF		0x2	/* return a referenced socket */
/* Without PCBG_LOOKUP_REF the socket is valid only under rcu_read_lock(). */

/* A packet's tuple seen from the local host: f = foreign, l = local. */
struct pcbg_tuple {
	unsigned short family;
	__be16 fport, lport;
	__be32 faddr4, laddr4;
	struct in6_addr faddr6, laddr6;
	int dif, sdif;
};

struct pcbg_entry {
	struct hlist_node node;		/* group chain, wildcard or CPU list */
	struct hlist_node inode;	/* socket index */
	struct sock *sk;		/* held until a grace period after removal */
	u32 key;			/* chain hash of an exact entry */
	u16 group;
	u8 kind;
	struct rcu_head rcu;
};

/* One RSS bucket's share of the connected sockets, on its own line. */
struct pcbg_group {
	spinlock_t lock;		/* writers; readers use RCU */
	unsigned int count;
	struct hlist_head *chains;
} ____cacheline_aligned_in_smp;

struct pcbg_ichain {
	spinlock_t lock;
	struct hlist_head head;
};

struct pcbg_table {
	struct net *net;
	u8 protocol;			/* IPPROTO_TCP or IPPROTO_UDP */
	unsigned int ngroups;		/* = RSS buckets when created */
	unsigned int chain_mask;	/* per group */
	unsigned int index_mask;
	u32 secret;
	struct pcbg_group *groups;
	struct pcbg_ichain *index;	/* socket -> entry, for removal */
	spinlock_t wild_lock;		/* the wildcard and CPU lists */
	struct hlist_head wild[64];	/* by local port */
	struct hlist_head *cpu_wild;	/* [nr_cpu_ids]: bucket listeners */
	atomic_t members[PCBG_BUCKET + 1];
};

int pcbg_entry_cache_init(void);
void pcbg_entry_cache_exit(void);
long pcbg_entry_count(void);

struct pcbg_table *pcbg_table_alloc(struct net *net, u8 protocol,
				    unsigned int ngroups, unsigned int chains,
				    unsigned int index);
void pcbg_table_free(struct pcbg_table *t);
int pcbg_table_set(struct pcbg_table *t, struct sock *sk, enum pcbg_kind kind);
void pcbg_table_rehash(struct pcbg_table *t);
unsigned int pcbg_sk_group(const struct pcbg_table *t,
			   const struct pcbg_rss *rss, const struct sock *sk);
enum pcbg_kind pcbg_table_kind(struct pcbg_table *t, const struct sock *sk);

struct sock *pcbg_lookup(struct pcbg_table *t, const struct pcbg_rss *rss,
			 const struct pcbg_tuple *tp, u32 hash,
			 unsigned int flags, enum pcbg_hit *hit);
u32 pcbg_tuple_rss_hash(const struct pcbg_rss *rss,
			const struct pcbg_tuple *tp);

static inline unsigned int pcbg_table_group(const struct pcbg_table *t,
					    const struct pcbg_rss *rss, u32 hash)
{
	return pcbg_rss_bucket(rss, hash) % t->ngroups;
}

#endif /* _PCBG_GROUP_H */
