/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hashed raw-IP demultiplexing (FreeBSD's hashed rip_input()): raw
 * sockets of a namespace filed by (family, protocol, local address,
 * foreign address), so that a packet is matched against the few sockets
 * that can take it instead of every raw socket of its protocol.
 */
#ifndef _PCBG_RAW_H
#define _PCBG_RAW_H

#include <linux/in6.h>
#include <linux/list.h>
#include <linux/rcupdate.h>
#include <linux/seqlock.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

struct sock;

/* A socket's place; a zero address is the wildcard. IPv4 in s6_addr32[3]. */
struct pcbg_raw_key {
	struct in6_addr laddr;
	struct in6_addr faddr;
	u8 family;
	u8 proto;
};

/* Sockets a lookup takes at most; more, and the kernel's list is walked. */
#define PCBG_RAW_BATCH		32

struct pcbg_raw_entry {
	struct hlist_node node;		/* key chain, or the transit list */
	struct hlist_node snode;	/* socket chain: writers only */
	struct sock *sk;
	struct pcbg_raw_key key;
	unsigned int transit;		/* address changes under way */
	bool filed;			/* under its key (not in transit) */
	bool mark;			/* a resync has not seen it yet */
	struct rcu_head rcu;
};

struct pcbg_raw_tab {
	unsigned int mask;
	u32 seed;
	struct hlist_head *keyh;	/* by key */
	struct hlist_head *skh;		/* by socket */
	struct rcu_head rcu;
};

/* The per-namespace index (one in struct pcbg_net). */
struct pcbg_raw {
	spinlock_t lock;		/* writers, any context: irqsave */
	seqcount_spinlock_t seq;	/* readers retry across a change */
	struct pcbg_raw_tab __rcu *tab;
	/*
	 * Sockets whose addresses are being changed (bind, connect,
	 * disconnect): always looked at, matched on their live addresses.
	 */
	struct hlist_head transit;
	unsigned int n;			/* entries */
	/*
	 * Entries filed per family and key class (local address set: 2,
	 * foreign address set: 1): a lookup skips the keys no socket has.
	 */
	unsigned int classes[2][4];
	unsigned int fail_gen;		/* allocation failures */
	unsigned int synced_gen;	/* fail_gen the last resync covered */
	unsigned long missed;		/* probe misses the last resync saw */
	int demux;			/* net.pcbgroup.raw_demux */
	bool active;			/* counted in the module's arming */
	bool dead;			/* namespace going away */
	struct work_struct sync;	/* resync, or grow the table */
};

/* raw_table.c: the index, independent of how sockets are followed. */
void pcbg_raw_key_set4(struct pcbg_raw_key *k, u8 proto, __be32 laddr,
		       __be32 faddr);
void pcbg_raw_key_set6(struct pcbg_raw_key *k, u8 proto,
		       const struct in6_addr *laddr,
		       const struct in6_addr *faddr);
struct pcbg_raw_tab *pcbg_raw_tab_alloc(unsigned int buckets, gfp_t gfp);
void pcbg_raw_tab_free(struct pcbg_raw_tab *t);
int pcbg_raw_init(struct pcbg_raw *r, unsigned int buckets);
void pcbg_raw_destroy(struct pcbg_raw *r);
struct pcbg_raw_entry *pcbg_raw_find(struct pcbg_raw *r,
				     const struct sock *sk);
struct pcbg_raw_entry *pcbg_raw_entry_new(void);
bool pcbg_raw_add(struct pcbg_raw *r, struct pcbg_raw_entry *spare,
		  struct sock *sk, const struct pcbg_raw_key *k);
int pcbg_raw_insert(struct pcbg_raw *r, struct sock *sk,
		    const struct pcbg_raw_key *k);
bool pcbg_raw_remove(struct pcbg_raw *r, const struct sock *sk);
void pcbg_raw_transit(struct pcbg_raw *r, const struct sock *sk);
void pcbg_raw_settle(struct pcbg_raw *r, const struct sock *sk,
		     const struct pcbg_raw_key *k);
void pcbg_raw_mark(struct pcbg_raw *r, u8 family);
unsigned int pcbg_raw_sweep(struct pcbg_raw *r, u8 family);
void pcbg_raw_refile(struct pcbg_raw *r, struct pcbg_raw_entry *e,
		     const struct pcbg_raw_key *k);
int pcbg_raw_collect(struct pcbg_raw *r, const struct pcbg_raw_key *pkt,
		     struct sock **hits, int max);
bool pcbg_raw_wants_growth(const struct pcbg_raw *r);
int pcbg_raw_grow(struct pcbg_raw *r);

/* raw_demux.c: the module's and each namespace's raw demux. */
struct pcbg_net;
int pcbg_raw_demux_init(void);
void pcbg_raw_demux_exit(void);
int pcbg_raw_init_net(struct pcbg_net *pn);
void pcbg_raw_exit_net(struct pcbg_net *pn);
void pcbg_raw_free_net(struct pcbg_net *pn);
int pcbg_raw_sysctl(struct ctl_table *table, int write, void *buffer,
		    size_t *lenp, loff_t *ppos);

/* raw_deliver.c: whether a namespace's raw IP goes through its index. */
void pcbg_raw_update(struct pcbg_net *pn, bool wait);

#endif /* _PCBG_RAW_H */
