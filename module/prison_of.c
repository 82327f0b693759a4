// SPDX-License-Identifier: GPL-2.0
/*
 * Which prison a socket or a task is in: its cgroup's, or the nearest
 * ancestor's, in the namespace's by-cgroup hash. Read on the packet path
 * (prison_nf.c, wild.c, raw_deliver.c, verify.c) under RCU alone; the
 * registry (prison.c) fills the hash.
 */
#include <linux/cgroup.h>
#include <net/sock.h>

#include "pcbg_net.h"
#include "pcbg_prison.h"

/* The prison of exactly @cg, if any. */
static struct pcbg_prison *pcbg_prison_at(struct pcbg_jails *j,
					  struct cgroup *cg)
{
	u64 id = cgroup_id(cg);
	struct pcbg_prison *pr;

	hlist_for_each_entry_rcu(pr, pcbg_prison_bucket(j, id), hnode)
		if (pr->cgid == id)
			return pr;
	return NULL;
}

/**
 * pcbg_prison_of_cgroup - the prison of a cgroup or of its nearest ancestor
 * @pn: the namespace whose prisons are searched
 * @cg: the cgroup (a socket's, or a reader's)
 *
 * One probe per cgroup level that holds a prison (no prison is inside
 * another's, so the first found is the only one), whatever the depth of
 * @cg. Under rcu_read_lock(); the prison is not referenced.
 */
struct pcbg_prison *pcbg_prison_of_cgroup(struct pcbg_net *pn,
					  struct cgroup *cg)
{
	struct pcbg_jails *j = &pn->jails;
	u64 levels = READ_ONCE(j->levels);
	struct pcbg_prison *pr;
	int l;

	if (!levels || !cg)
		return NULL;
	/* A prison that deep, an administrator's choice: walked up to. */
	if (levels & BIT_ULL(PCBG_PRISON_DEEP))
		for (; cg->level >= PCBG_PRISON_DEEP; cg = cgroup_parent(cg)) {
			pr = pcbg_prison_at(j, cg);
			if (pr)
				return pr;
		}
	levels &= GENMASK_ULL(min(cg->level, PCBG_PRISON_DEEP - 1), 0);
	while (levels) {
		l = __fls(levels);
		pr = pcbg_prison_at(j, cgroup_ancestor(cg, l));
		if (pr)
			return pr;
		levels &= ~BIT_ULL(l);
	}
	return NULL;
}

/* The prison the calling task is in, in @pn (under rcu_read_lock()). */
struct pcbg_prison *pcbg_prison_of_current(struct pcbg_net *pn)
{
	return pcbg_prison_of_cgroup(pn, task_dfl_cgroup(current));
}

/* The prison of @sk's cgroup in @pn (under rcu_read_lock()). */
static struct pcbg_prison *pcbg_prison_of_sk_in(struct pcbg_net *pn,
						const struct sock *sk)
{
	struct sock_cgroup_data *d = (struct sock_cgroup_data *)&sk->sk_cgrp_data;

	return pcbg_prison_of_cgroup(pn, sock_cgroup_ptr(d));
}

/*
 * The prison of the cgroup a socket was created in, FreeBSD's
 * inp_cred: what decides who may see it (under rcu_read_lock()).
 */
struct pcbg_prison *pcbg_prison_of_sk_cgroup(const struct sock *sk)
{
	return pcbg_prison_of_sk_in(pcbg_net_rcu(sock_net(sk)), sk);
}

/**
 * pcbg_sk_prison - the IP-restricted prison of a socket, or NULL
 * @sk: a socket (a request or TIME_WAIT socket has no cgroup: NULL)
 *
 * Decided by the cgroup the socket was made in (sk_cgrp_data), which the
 * kernel sets for every socket, kernel-made ones for the caller too (MPTCP
 * subflows, accept()ed children), and never changes: what a ULP or
 * IPV6_ADDRFORM does to sock->ops does not move a socket out of prison.
 * Under rcu_read_lock().
 */
struct pcbg_prison *pcbg_sk_prison(const struct sock *sk)
{
	struct pcbg_prison *pr;
	struct pcbg_net *pn;

	if (!sk_fullsock(sk))
		return NULL;
	/* Every packet of a prison's namespace asks: no net_generic() calls. */
	pn = pcbg_net_rcu(sock_net(sk));
	if (likely(!READ_ONCE(pn->jails.restricted)))
		return NULL;
	pr = pcbg_prison_of_sk_in(pn, sk);
	return pr && !pr->vnet ? pr : NULL;
}
