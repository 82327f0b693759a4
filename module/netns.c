// SPDX-License-Identifier: GPL-2.0
/*
 * Network namespaces as FreeBSD vnets: each namespace gets its own group
 * tables, tunables (net.pcbgroup.*), statistics and /proc/net/pcbgroup/,
 * built when the namespace is created (or the module loaded) and torn
 * down with it. The module parameters below are only the defaults a new
 * namespace starts from.
 */
#include <linux/module.h>
#include <linux/sysctl.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "pcbg_fault.h"
#include "pcbg_net.h"
#include "pcbg_rss.h"

bool pcbg_tracking __read_mostly;
static atomic_t pcbg_instances;

/* Read-only status for leak checks: live instances and group entries. */
static int pcbg_instances_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&pcbg_instances));
}

static int pcbg_entries_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%ld\n", pcbg_entry_count());
}

static const struct kernel_param_ops pcbg_instances_ops = {
	.get = pcbg_instances_get,
};

static const struct kernel_param_ops pcbg_entries_ops = {
	.get = pcbg_entries_get,
};

module_param_cb(instances, &pcbg_instances_ops, NULL, 0444);
MODULE_PARM_DESC(instances, "Network namespaces with a pcbgroup instance (read only)");
module_param_cb(entries, &pcbg_entries_ops, NULL, 0444);
MODULE_PARM_DESC(entries, "Sockets held in group tables, all namespaces, including those waiting for a grace period (read only)");

static bool pcbg_default_enable = true;
module_param_named(enable, pcbg_default_enable, bool, 0644);
MODULE_PARM_DESC(enable, "Default of net.pcbgroup.enable for new namespaces: steer packets through the groups (default Y)");
static bool pcbg_default_verify;
module_param_named(verify, pcbg_default_verify, bool, 0644);
MODULE_PARM_DESC(verify, "Default of net.pcbgroup.verify: compare every answer with the kernel's own lookup (default N)");
static bool pcbg_default_soft_hash;
module_param_named(soft_hash, pcbg_default_soft_hash, bool, 0644);
MODULE_PARM_DESC(soft_hash, "Default of net.pcbgroup.soft_hash: software Toeplitz for packets without a hardware L4 hash (default N)");
static bool pcbg_default_loopback;
module_param_named(loopback, pcbg_default_loopback, bool, 0644);
MODULE_PARM_DESC(loopback, "Default of net.pcbgroup.loopback: send loopback traffic through the groups too (default N)");

/* Minimum sizes; 0: the tables start small and grow with their sockets. */
static unsigned int group_chains;
static unsigned int index_size;

/* A minimum table size: a power of two from 16 to 4194304, or 0. */
static int min_size_set(const char *val, const struct kernel_param *kp)
{
	unsigned int n;
	int err = kstrtouint(val, 0, &n);

	if (err)
		return err;
	if (n && (n < 16 || n > (1U << 22) || !is_power_of_2(n))) {
		pr_err("%s must be a power of two from 16 to 4194304, or 0\n",
		       kp->name);
		return -EINVAL;
	}
	*(unsigned int *)kp->arg = n;
	return 0;
}

static const struct kernel_param_ops min_size_ops = {
	.set = min_size_set,
	.get = param_get_uint,
};

module_param_cb(group_chains, &min_size_ops, &group_chains, 0444);
MODULE_PARM_DESC(group_chains, "Minimum hash buckets per connection group, 64 bytes and 4 sockets inline each, a power of two (load time; default 0: 4, the tables grow and shrink with their sockets)");
module_param_cb(index_size, &min_size_ops, &index_size, 0444);
MODULE_PARM_DESC(index_size, "Minimum chains of the per-namespace socket index, a power of two (load time; default 0: 64, it grows with the sockets)");

/*
 * soft_hash and loopback set to 1 give the namespace its steering hooks;
 * if they cannot be registered the write fails and changes nothing.
 */
static int pcbg_hash_sysctl(struct pcbg_net *pn, struct ctl_table *table,
			    int write, void *buffer, size_t *lenp, loff_t *ppos)
{
	int *val = table->data, old = READ_ONCE(*val), err;

	err = proc_dointvec_minmax(table, write, buffer, lenp, ppos);
	if (err || !write)
		return err;
	err = pcbg_steer_update(pn, true);
	if (err)
		WRITE_ONCE(*val, old);
	return err;
}

static int pcbg_soft_hash_sysctl(struct ctl_table *table, int write,
				 void *buffer, size_t *lenp, loff_t *ppos)
{
	return pcbg_hash_sysctl(container_of(table->data, struct pcbg_net,
					     soft_hash),
				table, write, buffer, lenp, ppos);
}

static int pcbg_loopback_sysctl(struct ctl_table *table, int write,
				void *buffer, size_t *lenp, loff_t *ppos)
{
	return pcbg_hash_sysctl(container_of(table->data, struct pcbg_net,
					     loopback),
				table, write, buffer, lenp, ppos);
}

/*
 * The template's .data holds the offset of the field in struct pcbg_net;
 * each namespace's copy points at its own (as the kernel's templates
 * point into init_net and are moved to each net).
 */
#define PCBG_SYSCTL_FIELD(f)	((void *)offsetof(struct pcbg_net, f))

static const struct ctl_table pcbg_sysctl_template[] = {
	{
		.procname	= "enable",
		.data		= PCBG_SYSCTL_FIELD(enable),
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
	{
		.procname	= "verify",
		.data		= PCBG_SYSCTL_FIELD(verify),
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
	{
		.procname	= "soft_hash",
		.data		= PCBG_SYSCTL_FIELD(soft_hash),
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= pcbg_soft_hash_sysctl,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
	{
		.procname	= "loopback",
		.data		= PCBG_SYSCTL_FIELD(loopback),
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= pcbg_loopback_sysctl,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
	{
		.procname	= "raw_demux",
		.data		= PCBG_SYSCTL_FIELD(raw.demux),
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= pcbg_raw_sysctl,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
	{ }
};

static int pcbg_sysctl_init_net(struct pcbg_net *pn)
{
	struct ctl_table *tbl;
	int i;

	tbl = pcbg_fail() ? NULL :
	      kmemdup(pcbg_sysctl_template, sizeof(pcbg_sysctl_template),
		      GFP_KERNEL_ACCOUNT);
	if (!tbl)
		return -ENOMEM;
	for (i = 0; tbl[i].procname; i++)
		tbl[i].data = (char *)pn + (uintptr_t)tbl[i].data;
	pn->sysctl = register_net_sysctl(pn->net, "net/pcbgroup", tbl);
	if (!pn->sysctl) {
		kfree(tbl);
		return -ENOMEM;
	}
	return 0;
}

static void pcbg_sysctl_exit_net(struct pcbg_net *pn)
{
	struct ctl_table *tbl;

	if (!pn->sysctl)
		return;
	tbl = pn->sysctl->ctl_table_arg;
	unregister_net_sysctl_table(pn->sysctl);
	kfree(tbl);
}

/* Hide the tables from readers; pcbg_free_tables() after a grace period. */
static void pcbg_unpublish_tables(struct pcbg_net *pn)
{
	int i;

	for (i = 0; i < PCBG_NPROTO; i++) {
		pn->dying[i] = rcu_dereference_protected(pn->tables[i], 1);
		RCU_INIT_POINTER(pn->tables[i], NULL);
	}
}

static void pcbg_free_tables(struct pcbg_net *pn)
{
	int i;

	for (i = 0; i < PCBG_NPROTO; i++) {
		if (pn->dying[i]) {
			pcbg_table_free(pn->dying[i]);
			pcbg_rss_release();
		}
		pn->dying[i] = NULL;
	}
}

static int __net_init pcbg_net_init(struct net *net)
{
	static const u8 protocols[PCBG_NPROTO] = { IPPROTO_TCP, IPPROTO_UDP };
	struct pcbg_net *pn = pcbg_net(net);
	int i, err = -ENOMEM;

	pn->net = net;
	pcbg_jails_init(&pn->jails);
	pn->enable = READ_ONCE(pcbg_default_enable);
	pn->verify = READ_ONCE(pcbg_default_verify);
	pn->soft_hash = READ_ONCE(pcbg_default_soft_hash);
	pn->loopback = READ_ONCE(pcbg_default_loopback);
	pcbg_track_init_net(pn);
	/* Charged to the creator's memory cgroup, as the kernel's own. */
	pn->stats = pcbg_fail() ? NULL :
		    alloc_percpu_gfp(struct pcbg_pcpu_stats, GFP_KERNEL_ACCOUNT);
	if (!pn->stats)
		return -ENOMEM;
	for (i = 0; i < PCBG_NPROTO; i++) {
		unsigned int buckets = pcbg_rss_hold();
		struct pcbg_table *t;

		t = pcbg_table_alloc(net, protocols[i], buckets, group_chains,
				     index_size);
		if (!t) {
			pcbg_rss_release();
			goto fail;
		}
		rcu_assign_pointer(pn->tables[i], t);
	}
	err = pcbg_raw_init_net(pn);
	if (err)
		goto fail;
	err = pcbg_sysctl_init_net(pn);
	if (err)
		goto fail_raw;
	err = pcbg_proc_init_net(pn);
	if (err)
		goto fail_sysctl;
	err = pcbg_steer_update(pn, false);
	if (err)
		goto fail_proc;
	atomic_inc(&pcbg_instances);
	return 0;

fail_proc:
	pcbg_proc_exit_net(pn);
fail_sysctl:
	pcbg_sysctl_exit_net(pn);
fail_raw:
	pcbg_raw_exit_net(pn);
fail:
	pcbg_unpublish_tables(pn);
	synchronize_rcu();
	pcbg_raw_free_net(pn);
	pcbg_track_cancel_net(pn);	/* a failed insert's */
	pcbg_free_tables(pn);
	free_percpu(pn->stats);
	return err;
}

/* Stop the hooks and hide the tables; readers are waited for in batch. */
static void __net_exit pcbg_net_exit(struct net *net)
{
	struct pcbg_net *pn = pcbg_net(net);

	pcbg_jails_exit(pn);
	pcbg_steer_exit_net(pn);
	pcbg_proc_exit_net(pn);
	pcbg_sysctl_exit_net(pn);
	pcbg_raw_exit_net(pn);
	pcbg_unpublish_tables(pn);
}

static void __net_exit pcbg_net_exit_batch(struct list_head *net_exit_list)
{
	struct net *net;

	/* One grace period for the batch: no reader (hook, tracker) left. */
	synchronize_rcu();
	list_for_each_entry(net, net_exit_list, exit_list) {
		struct pcbg_net *pn = pcbg_net(net);

		/* No tracker can reach a table now to schedule it again. */
		pcbg_track_cancel_net(pn);
		pcbg_free_tables(pn);
		pcbg_raw_free_net(pn);
		free_percpu(pn->stats);
		atomic_dec(&pcbg_instances);
	}
}

static struct pernet_operations pcbg_net_ops = {
	.init = pcbg_net_init,
	.exit = pcbg_net_exit,
	.exit_batch = pcbg_net_exit_batch,
	.id = &pcbg_net_id,
	.size = sizeof(struct pcbg_net),
};

int pcbg_netns_init(void)
{
	int err = register_pernet_subsys(&pcbg_net_ops);

	pcbg_instances_set_open(!err);
	return err;
}

void pcbg_netns_exit(void)
{
	pcbg_instances_set_open(false);
	unregister_pernet_subsys(&pcbg_net_ops);
	pcbg_track_repair_exit();
}

/*
 * After the walk over existing sockets, every namespace may steer, and so
 * may every namespace made from now on: its sockets are all made after
 * the trackers were armed. One flag for all, so that no namespace made
 * while the walk ran can be left out.
 */
void pcbg_netns_set_ready(bool ready)
{
	WRITE_ONCE(pcbg_tracking, ready);
	if (!ready)
		synchronize_net();	/* no hook answers from here on */
}
