/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prisons: FreeBSD jails' address confinement for the sockets of a cgroup
 * v2 (in_jail.c). A prison belongs to one network namespace and confines
 * the sockets created there by the processes of its cgroup, for their
 * whole life (the cgroup is the socket's credential: sk_cgrp_data).
 */
#ifndef _PCBG_PRISON_H
#define _PCBG_PRISON_H

#include <linux/hash.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/net.h>
#include <linux/refcount.h>
#include <linux/rcupdate.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <net/sock.h>

#define PCBG_PRISON_NAME_MAX	64	/* with the NUL */
#define PCBG_PRISON_ADDRS_MAX	64	/* per family */
#define PCBG_PRISONS_MAX	4096	/* per namespace */
#define PCBG_PRISON_HBITS	6	/* the by-cgroup hash */
#define PCBG_PRISON_DEEP	63	/* cgroup levels from here are walked */

/* A prison's addresses; the first of each family is its primary. */
struct pcbg_prison_addrs {
	unsigned int n4;
	unsigned int n6;
	struct rcu_head rcu;
	__be32 a4[PCBG_PRISON_ADDRS_MAX];
	struct in6_addr a6[PCBG_PRISON_ADDRS_MAX];
};

/* prison_check_ip4/6(), prison_local_ip4/6(), prison_remote_ip4/6(). */
int pcbg_prison_check4(const struct pcbg_prison_addrs *pa, __be32 a);
int pcbg_prison_check6(const struct pcbg_prison_addrs *pa,
		       const struct in6_addr *a);
int pcbg_prison_local4(const struct pcbg_prison_addrs *pa, __be32 *a);
int pcbg_prison_remote4(const struct pcbg_prison_addrs *pa, __be32 *a);
int pcbg_prison_local6(const struct pcbg_prison_addrs *pa,
		       struct in6_addr *a, bool v6only);
int pcbg_prison_remote6(const struct pcbg_prison_addrs *pa,
			struct in6_addr *a);
int pcbg_prison_addrs_valid(const struct pcbg_prison_addrs *pa);

/*
 * A prisoner socket's operations: the kernel's, with the calls that take
 * an address wrapped (prison_sock.c). sock->ops points here. They give
 * the calls FreeBSD's errors and source choice; which socket is a
 * prisoner's is decided by its cgroup (pcbg_sk_prison()), which the
 * kernel never changes behind the module.
 */
struct pcbg_pops {
	struct proto_ops ops;		/* the base's copy, so not const */
	const struct proto_ops *base;
	struct pcbg_prison *pr;
	struct pcbg_pops *next;		/* the prison's, newest first */
};

struct pcbg_prison {
	refcount_t ref;			/* the registry's and each socket's */
	u32 id;
	bool vnet;			/* own namespace: not IP-restricted */
	bool dead;			/* destroyed; its sockets still hold it */
	bool attached;			/* made on a cgroup with processes */
	char name[PCBG_PRISON_NAME_MAX];
	struct net *net;
	struct cgroup *cgrp;
	u64 cgid;
	struct pcbg_prison_addrs __rcu *addrs;
	struct hlist_node hnode;	/* by-cgroup hash, until the last socket */
	struct list_head list;		/* the namespace's live prisons, by id */
	spinlock_t lock;		/* adds to pops */
	struct pcbg_pops *pops;		/* one per kernel proto_ops seen */
	struct rcu_head rcu;
};

/* A namespace's prisons (in struct pcbg_net). */
struct pcbg_jails {
	struct mutex lock;		/* writers */
	struct list_head list;
	struct hlist_head hash[1 << PCBG_PRISON_HBITS];
	struct idr ids;
	unsigned int n;			/* read locklessly: any prison? */
	/*
	 * The cgroup levels that hold a prison, read locklessly: a socket's
	 * cgroup probes its ancestor at each of them (cgroup_ancestor()),
	 * not every ancestor, so that a deep cgroup tree, which any user
	 * with a delegated subtree can make, costs no more per packet than
	 * a flat one. Bit PCBG_PRISON_DEEP: a prison at that level or below.
	 */
	u64 levels;
	unsigned int at_level[PCBG_PRISON_DEEP + 1];	/* prisons, by level */
	unsigned int restricted;	/* IP-restricted prisons */
	bool hooks;			/* netfilter hooks registered */
	atomic_t denied;		/* checks that refused */
	atomic_t dropped;		/* packets the hooks dropped */
};

struct pcbg_net;

/* The by-cgroup hash bucket of a cgroup id (prison.c fills, prison_of.c reads). */
static inline struct hlist_head *pcbg_prison_bucket(struct pcbg_jails *j,
						    u64 cgid)
{
	return &j->hash[hash_64(cgid, PCBG_PRISON_HBITS)];
}

/* prison_of.c: which prison a socket or task is in */
struct pcbg_prison *pcbg_prison_of_cgroup(struct pcbg_net *pn,
					  struct cgroup *cg);
struct pcbg_prison *pcbg_prison_of_current(struct pcbg_net *pn);
struct pcbg_prison *pcbg_prison_of_sk_cgroup(const struct sock *sk);
struct pcbg_prison *pcbg_sk_prison(const struct sock *sk);

/* prison.c: the registry */
void pcbg_jails_setup(void (*changed)(struct pcbg_net *pn));
void pcbg_jails_init(struct pcbg_jails *j);
void pcbg_jails_exit(struct pcbg_net *pn);
void pcbg_prison_put(struct pcbg_prison *pr);
struct pcbg_prison *pcbg_prison_find(struct pcbg_net *pn, u32 id,
				     const char *name);
int pcbg_prison_add(struct pcbg_net *pn, u32 id, const char *name,
		    int cgroup_fd, bool vnet, bool attach,
		    struct pcbg_prison_addrs *pa,
		    struct pcbg_prison **out);
int pcbg_prison_change(struct pcbg_net *pn, struct pcbg_prison *pr,
		       struct pcbg_prison_addrs *pa, int vnet);
int pcbg_prison_remove(struct pcbg_net *pn, struct pcbg_prison *pr);
void pcbg_prison_denied(const struct pcbg_prison *pr, const char *check,
			int err);
struct ftrace_ops;
void pcbg_prisons_sock_hook(struct ftrace_ops *ops);
void pcbg_prisons_sock_unhook(void);

/* prison_sock.c: the operations of a prisoner's socket */
void pcbg_prison_sock_init(void);
void pcbg_prison_sock_exit(void);
unsigned long pcbg_prison_unconfined(void);
bool pcbg_sock_wrapped(struct sock *sk);

static inline const struct pcbg_prison_addrs *
pcbg_prison_addrs(const struct pcbg_prison *pr)
{
	return rcu_dereference(pr->addrs);
}

/* prison_nf.c: packets in and out */
int pcbg_prison_hooks_set(struct pcbg_net *pn, bool on);

/* prison_nl.c: the generic netlink family */
int pcbg_prison_nl_init(void);
void pcbg_prison_nl_exit(void);

#endif /* _PCBG_PRISON_H */
