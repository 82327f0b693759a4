// SPDX-License-Identifier: GPL-2.0
/*
 * Prison objects and a namespace's registry of them: created, changed and
 * destroyed through generic netlink (prison_nl.c), and found by cgroup
 * (prison_of.c) when a socket is created (prison_sock.c), a packet is
 * checked (prison_nf.c, wild.c, raw_deliver.c) or /proc is read.
 *
 * Like a dying FreeBSD jail, a destroyed prison still confines the
 * sockets made while it lived: it leaves the registry (its name and id)
 * at once, but stays in the by-cgroup hash, with its checks, until its
 * last socket is closed. It can only be destroyed once its cgroup has no
 * process left, so no socket is made in the cgroup after that.
 *
 * Each prison, live or dying, holds a reference on this module: the
 * module cannot be unloaded while a prisoner could make a socket, so the
 * creation probe never runs into a module that is going. A dying prison
 * holds its namespace too, for the registry its last socket updates.
 */
#include <linux/cgroup.h>
#include <linux/ftrace.h>
#include <linux/slab.h>
#include <net/sock.h>

#include "pcbg_net.h"
#include "pcbg_prison.h"
#include "pcbg_trace.h"

void pcbg_jails_init(struct pcbg_jails *j)
{
	unsigned int i;

	mutex_init(&j->lock);
	INIT_LIST_HEAD(&j->list);
	for (i = 0; i < ARRAY_SIZE(j->hash); i++)
		INIT_HLIST_HEAD(&j->hash[i]);
	idr_init(&j->ids);
	atomic_set(&j->denied, 0);
	atomic_set(&j->dropped, 0);
}

static void pcbg_prison_free_rcu(struct rcu_head *head)
{
	struct pcbg_prison *pr = container_of(head, struct pcbg_prison, rcu);
	struct pcbg_pops *p, *next;

	for (p = pr->pops; p; p = next) {
		next = p->next;
		kfree(p);
	}
	kfree(rcu_dereference_protected(pr->addrs, true));
	kfree(pr);
}

/* Whether the wildcard lookups apply the prison rules. */
static void pcbg_tables_jailed(struct pcbg_net *pn, bool on)
{
	int i;

	for (i = 0; i < PCBG_NPROTO; i++) {
		struct pcbg_table *t = rcu_dereference_protected(pn->tables[i],
								 true);

		if (t) {
			WRITE_ONCE(t->jailed, on);
			WRITE_ONCE(t->syn, on);
		}
	}
}

static void pcbg_jails_count(struct pcbg_net *pn, struct pcbg_prison *pr,
			     int delta);

/*
 * The table whose count of prisoners' listeners by port decides which
 * SYNs the groups answer (pcbg_port_jailed()); NULL while the namespace
 * has none.
 */
static struct pcbg_table *pcbg_jails_tcp(struct pcbg_net *pn)
{
	return rcu_dereference_protected(pn->tables[PCBG_TCP], true);
}

/* The cgroup levels that hold a prison (prison_of.c reads them). */
static void pcbg_jails_level(struct pcbg_jails *j,
			     const struct pcbg_prison *pr, int delta)
{
	unsigned int l = min_t(int, pr->cgrp->level, PCBG_PRISON_DEEP);

	lockdep_assert_held(&j->lock);
	j->at_level[l] += delta;
	if (j->at_level[l])
		WRITE_ONCE(j->levels, j->levels | BIT_ULL(l));
	else
		WRITE_ONCE(j->levels, j->levels & ~BIT_ULL(l));
}

/*
 * No socket holds it any more: its checks end (registry mutex held). Its
 * module reference goes now; the module's unload waits for the RCU
 * callback (rcu_barrier()).
 */
static void pcbg_prison_bury(struct pcbg_net *pn, struct pcbg_prison *pr)
{
	struct pcbg_table *tcp;

	lockdep_assert_held(&pn->jails.lock);
	hlist_del_rcu(&pr->hnode);
	pcbg_jails_level(&pn->jails, pr, -1);	/* after: no reader misses it */
	pcbg_jails_count(pn, pr, -1);
	tcp = pcbg_jails_tcp(pn);
	if (tcp)		/* its listeners are no prisoners' */
		pcbg_table_jail_recount(tcp);
	cgroup_put(pr->cgrp);
	call_rcu(&pr->rcu, pcbg_prison_free_rcu);
	module_put(THIS_MODULE);
}

/*
 * A socket's reference, dropped on release (a sleeping context: the
 * socket's own module reference keeps this code). The last one of a
 * destroyed prison is a socket's: the registry dropped its own, and took
 * the namespace in its place, when it destroyed it.
 */
void pcbg_prison_put(struct pcbg_prison *pr)
{
	struct net *net = pr->net;
	struct pcbg_net *pn = pcbg_net(net);

	might_sleep();
	if (!refcount_dec_and_mutex_lock(&pr->ref, &pn->jails.lock))
		return;
	pcbg_prison_bury(pn, pr);
	mutex_unlock(&pn->jails.lock);
	put_net(net);
}

/* A prison by id, or if @id is 0 by name (under the registry's mutex). */
struct pcbg_prison *pcbg_prison_find(struct pcbg_net *pn, u32 id,
				     const char *name)
{
	struct pcbg_prison *pr;

	lockdep_assert_held(&pn->jails.lock);
	if (id)
		return idr_find(&pn->jails.ids, id);
	list_for_each_entry(pr, &pn->jails.list, list)
		if (name && !strcmp(pr->name, name))
			return pr;
	return NULL;
}

/*
 * Told when the count of prisons that restrict a namespace changed:
 * steer.c's, set at load before any prison can be made (main.c), so that
 * the registry calls no file that reads prisons back.
 */
static void (*pcbg_jails_changed_fn)(struct pcbg_net *pn);

void pcbg_jails_setup(void (*changed)(struct pcbg_net *pn))
{
	pcbg_jails_changed_fn = changed;
}

static void pcbg_jails_changed(struct pcbg_net *pn)
{
	if (pcbg_jails_changed_fn)
		pcbg_jails_changed_fn(pn);
}

static void pcbg_jails_count(struct pcbg_net *pn, struct pcbg_prison *pr,
			     int delta)
{
	struct pcbg_jails *j = &pn->jails;
	unsigned int restricted = j->restricted;

	WRITE_ONCE(j->n, j->n + delta);
	if (!pr->vnet)
		restricted += delta;
	WRITE_ONCE(j->restricted, restricted);
	pcbg_tables_jailed(pn, restricted > 0);
	pcbg_jails_changed(pn);		/* SYNs answered at delivery */
	pcbg_raw_update(pn, true);	/* a prisoner's raw socket too */
	if (!restricted)
		pcbg_prison_hooks_set(pn, false);
}

/*
 * The hook that gives prisoners' sockets their operations (prison_sock.c,
 * on sock_alloc_file()): placed with the first prison that restricts
 * addresses, before that prison can be found, not at load, so that a
 * host without such a prison pays no ftrace call per socket and its
 * livepatches may take the function. It stays until unload: prisons come
 * and go by the thousand, each placement rewrites the function's text,
 * and a destroyed prison's listener may still accept (the new socket
 * takes its prison reference in the hook). Another IPMODIFY user (a
 * livepatch) keeps it out: no such prison.
 */
static struct ftrace_ops *pcbg_sock_hook;	/* NULL: cannot be placed */
static bool pcbg_sock_hooked;
static DEFINE_MUTEX(pcbg_sock_hook_lock);

void pcbg_prisons_sock_hook(struct ftrace_ops *ops)
{
	pcbg_sock_hook = ops;
}

static int pcbg_sock_hook_place(void)
{
	int err = 0;

	mutex_lock(&pcbg_sock_hook_lock);
	if (pcbg_sock_hooked)
		goto out;
	err = pcbg_sock_hook ? register_ftrace_function(pcbg_sock_hook) :
			       -ENOENT;
	if (err) {
		pr_warn_ratelimited("cannot hook sock_alloc_file() (another IPMODIFY user, such as a livepatch?): %d; no address-restricted prison can be made\n",
				    err);
		err = -EOPNOTSUPP;
		goto out;
	}
	pcbg_sock_hooked = true;
out:
	mutex_unlock(&pcbg_sock_hook_lock);
	return err;
}

void pcbg_prisons_sock_unhook(void)
{
	mutex_lock(&pcbg_sock_hook_lock);
	if (pcbg_sock_hooked)
		unregister_ftrace_function(pcbg_sock_hook);
	pcbg_sock_hooked = false;
	pcbg_sock_hook = NULL;
	mutex_unlock(&pcbg_sock_hook_lock);
}

/*
 * Packets are checked while some prison restricts addresses. No such
 * prison without the hook that gives its sockets their operations.
 */
static int pcbg_jails_hooks(struct pcbg_net *pn, bool vnet)
{
	int err;

	if (vnet)
		return 0;
	err = pcbg_sock_hook_place();
	if (err)
		return err;
	return pcbg_prison_hooks_set(pn, true);
}

/*
 * A cgroup may hold one prison, and no prison's cgroup may be inside
 * another's: a socket's prison, found from its cgroup, is then the one
 * its operations were wrapped for, for its whole life. A destroyed
 * prison's cgroup is taken until its last socket closes (-EBUSY).
 */
static int pcbg_prison_cgroup_free(struct pcbg_jails *j, struct cgroup *cg)
{
	struct pcbg_prison *other;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(j->hash); i++)
		hlist_for_each_entry(other, &j->hash[i], hnode) {
			if (other->cgrp == cg)
				return other->dead ? -EBUSY : -EEXIST;
			if (cgroup_is_descendant(cg, other->cgrp) ||
			    cgroup_is_descendant(other->cgrp, cg))
				return -EBUSY;
		}
	return 0;
}

int pcbg_prison_add(struct pcbg_net *pn, u32 id, const char *name,
		    int cgroup_fd, bool vnet, bool attach,
		    struct pcbg_prison_addrs *pa,
		    struct pcbg_prison **out)
{
	struct pcbg_jails *j = &pn->jails;
	struct pcbg_table *tcp;
	struct pcbg_prison *pr;
	struct cgroup *cg;
	u32 max;
	int err;

	err = pcbg_prison_addrs_valid(pa);
	if (err)
		return err;
	cg = cgroup_get_from_fd(cgroup_fd);
	if (IS_ERR(cg))
		return PTR_ERR(cg);
	/*
	 * Sockets its processes already have were not made in prison: they
	 * keep the kernel's calls (FreeBSD's jail_attach()). Only asked for.
	 */
	if (cgroup_is_populated(cg) && !attach) {
		err = -EBUSY;
		goto fail_cg;
	}
	pr = kzalloc(sizeof(*pr), GFP_KERNEL_ACCOUNT);
	if (!pr) {
		err = -ENOMEM;
		goto fail_cg;
	}
	refcount_set(&pr->ref, 1);
	strscpy(pr->name, name, sizeof(pr->name));
	pr->vnet = vnet;
	pr->attached = cgroup_is_populated(cg);
	pr->net = pn->net;
	pr->cgrp = cg;
	pr->cgid = cgroup_id(cg);
	spin_lock_init(&pr->lock);
	RCU_INIT_POINTER(pr->addrs, pa);

	mutex_lock(&j->lock);
	err = -ENOSPC;
	if (j->n >= PCBG_PRISONS_MAX)
		goto fail_unlock;
	err = -EEXIST;
	if (pcbg_prison_find(pn, 0, name))
		goto fail_unlock;
	err = pcbg_prison_cgroup_free(j, cg);
	if (err)
		goto fail_unlock;
	/* Ids from 1, like jids; one asked for is that one or none. */
	max = id ? id : INT_MAX;
	if (!id)
		id = 1;
	err = idr_alloc_u32(&j->ids, pr, &id, max, GFP_KERNEL_ACCOUNT);
	if (err == -ENOSPC && max == id)
		err = -EEXIST;		/* the id asked for is taken */
	if (err)
		goto fail_unlock;
	err = pcbg_jails_hooks(pn, vnet);
	if (err) {
		idr_remove(&j->ids, id);
		goto fail_unlock;
	}
	pr->id = id;
	__module_get(THIS_MODULE);	/* netlink holds one: not going */
	list_add_tail(&pr->list, &j->list);
	pcbg_jails_level(j, pr, 1);	/* before: a reader finds it by level */
	/*
	 * Listeners its cgroup already has become prisoners' (attach): no
	 * SYN trusts the count until they are counted again.
	 */
	tcp = pcbg_jails_tcp(pn);
	if (tcp)
		atomic_inc(&tcp->jail_unknown);
	hlist_add_head_rcu(&pr->hnode, pcbg_prison_bucket(j, pr->cgid));
	pcbg_jails_count(pn, pr, 1);
	if (tcp) {
		pcbg_table_jail_recount(tcp);
		atomic_dec(&tcp->jail_unknown);
	}
	mutex_unlock(&j->lock);
	*out = pr;
	return 0;

fail_unlock:
	mutex_unlock(&j->lock);
	kfree(pr);
fail_cg:
	cgroup_put(cg);
	return err;
}

/* New addresses (NULL: unchanged) and vnet flag (-1: unchanged). */
int pcbg_prison_change(struct pcbg_net *pn, struct pcbg_prison *pr,
		       struct pcbg_prison_addrs *pa, int vnet)
{
	struct pcbg_prison_addrs *old;
	int err;

	lockdep_assert_held(&pn->jails.lock);
	if (pa) {
		err = pcbg_prison_addrs_valid(pa);
		if (err)
			return err;
	}
	/* Sockets are wrapped, or not, when made: only while empty. */
	if (vnet >= 0 && vnet != pr->vnet) {
		if (refcount_read(&pr->ref) > 1 || cgroup_is_populated(pr->cgrp))
			return -EBUSY;
		err = pcbg_jails_hooks(pn, vnet);
		if (err)
			return err;
		pcbg_jails_count(pn, pr, -1);
		pr->vnet = vnet;
		pcbg_jails_count(pn, pr, 1);
	}
	if (pa) {
		old = rcu_replace_pointer(pr->addrs, pa,
					  lockdep_is_held(&pn->jails.lock));
		kfree_rcu(old, rcu);
	}
	return 0;
}

/* Out of the registry; its checks stay while a socket holds it. */
static void pcbg_prison_unlink(struct pcbg_net *pn, struct pcbg_prison *pr)
{
	idr_remove(&pn->jails.ids, pr->id);
	list_del(&pr->list);
	WRITE_ONCE(pr->dead, true);
	if (refcount_dec_and_test(&pr->ref))
		pcbg_prison_bury(pn, pr);
	else
		get_net(pn->net);	/* dropped by the last socket */
}

int pcbg_prison_remove(struct pcbg_net *pn, struct pcbg_prison *pr)
{
	lockdep_assert_held(&pn->jails.lock);
	if (cgroup_is_populated(pr->cgrp))
		return -EBUSY;	/* jail -r: empty it first (cgroup.kill) */
	pcbg_prison_unlink(pn, pr);
	return 0;
}

/*
 * The namespace is going: every socket of it was released (each held the
 * namespace), so no prison is held by one, and no prison is dying (a
 * dying one holds the namespace).
 */
void pcbg_jails_exit(struct pcbg_net *pn)
{
	struct pcbg_prison *pr, *tmp;

	mutex_lock(&pn->jails.lock);
	list_for_each_entry_safe(pr, tmp, &pn->jails.list, list)
		pcbg_prison_unlink(pn, pr);
	mutex_unlock(&pn->jails.lock);
	idr_destroy(&pn->jails.ids);
}

void pcbg_prison_denied(const struct pcbg_prison *pr, const char *check,
			int err)
{
	atomic_inc(&pcbg_net(pr->net)->jails.denied);
	trace_prison_deny(pr->net, pr->id, check, err);
}
