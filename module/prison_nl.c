// SPDX-License-Identifier: GPL-2.0
/*
 * Prisons through generic netlink (family "pcbgroup", pcbg_netlink.h), the
 * Linux way to manage a kernel object with a list of addresses: one
 * message a prison, in the caller's network namespace. Changing prisons
 * takes CAP_NET_ADMIN over that namespace, and no prisoner may, whatever
 * its capabilities (FreeBSD: a jail cannot change itself). Reading is for
 * everyone; a prisoner sees only its own prison.
 */
#include <linux/cgroup.h>
#include <linux/ctype.h>
#include <linux/nsproxy.h>
#include <linux/slab.h>
#include <net/genetlink.h>

#include "pcbg_net.h"
#include "pcbg_netlink.h"
#include "pcbg_prison.h"

static const struct nla_policy pcbg_addr_policy[PCBG_A_MAX + 1] = {
	[PCBG_A_ADDR4]		= NLA_POLICY_EXACT_LEN(4),
	[PCBG_A_ADDR6]		= NLA_POLICY_EXACT_LEN(16),
};

static const struct nla_policy pcbg_policy[PCBG_A_MAX + 1] = {
	[PCBG_A_ID]		= NLA_POLICY_MIN(NLA_U32, 1),
	[PCBG_A_NAME]		= { .type = NLA_NUL_STRING,
				    .len = PCBG_PRISON_NAME_MAX - 1 },
	[PCBG_A_CGROUP_FD]	= { .type = NLA_S32 },
	[PCBG_A_VNET]		= NLA_POLICY_MAX(NLA_U8, 1),
	[PCBG_A_ATTACH]		= { .type = NLA_FLAG },
	[PCBG_A_ADDRS]		= NLA_POLICY_NESTED(pcbg_addr_policy),
};

static struct genl_family pcbg_genl;

static bool pcbg_name_valid(const char *name)
{
	bool digits = true;
	const char *c;

	if (!*name)
		return false;
	for (c = name; *c; c++) {
		if (!isalnum(*c) && *c != '_' && *c != '.' && *c != '-')
			return false;
		digits &= !!isdigit(*c);
	}
	return !digits;		/* a number is an id */
}

static struct pcbg_prison_addrs *pcbg_nl_addrs(struct nlattr *nest,
					       struct netlink_ext_ack *extack)
{
	struct pcbg_prison_addrs *pa;
	struct nlattr *a;
	int rem;

	pa = kzalloc(sizeof(*pa), GFP_KERNEL_ACCOUNT);
	if (!pa)
		return ERR_PTR(-ENOMEM);
	if (!nest)
		return pa;	/* no address: no networking */
	nla_for_each_nested(a, nest, rem) {
		if (nla_type(a) == PCBG_A_ADDR4 &&
		    pa->n4 < PCBG_PRISON_ADDRS_MAX) {
			pa->a4[pa->n4++] = nla_get_in_addr(a);
		} else if (nla_type(a) == PCBG_A_ADDR6 &&
			   pa->n6 < PCBG_PRISON_ADDRS_MAX) {
			pa->a6[pa->n6++] = nla_get_in6_addr(a);
		} else {
			NL_SET_ERR_MSG_ATTR(extack, a,
					    "unknown address or more than 64 of a family");
			kfree(pa);
			return ERR_PTR(-EINVAL);
		}
	}
	switch (pcbg_prison_addrs_valid(pa)) {
	case 0:
		return pa;
	case -EEXIST:
		NL_SET_ERR_MSG(extack, "an address is listed twice");
		break;
	default:
		NL_SET_ERR_MSG(extack, "not a unicast address");
	}
	kfree(pa);
	return ERR_PTR(-EINVAL);
}

/* No prisoner changes prisons, whatever its capabilities. */
static int pcbg_nl_not_prisoner(struct pcbg_net *pn,
				struct netlink_ext_ack *extack)
{
	bool jailed;

	rcu_read_lock();
	jailed = pcbg_prison_of_current(pn) ||
		 pcbg_prison_of_current(pcbg_net(current->nsproxy->net_ns));
	rcu_read_unlock();
	if (jailed) {
		NL_SET_ERR_MSG(extack, "a prisoner may not change prisons");
		return -EPERM;
	}
	return 0;
}

static int pcbg_nl_fill(struct sk_buff *skb, struct pcbg_prison *pr,
			u32 portid, u32 seq, int flags, u8 cmd)
{
	const struct pcbg_prison_addrs *pa;
	struct nlattr *nest;
	unsigned int i;
	char *path;
	void *hdr;
	int err = -EMSGSIZE;

	path = kmalloc(PATH_MAX, GFP_KERNEL);
	if (!path)
		return -ENOMEM;
	hdr = genlmsg_put(skb, portid, seq, &pcbg_genl, flags, cmd);
	if (!hdr)
		goto out;
	/*
	 * As the caller's /proc/self/cgroup says it: inside a container's
	 * cgroup namespace, pcbgjail finds the cgroup by this path.
	 */
	if (cgroup_path_ns(pr->cgrp, path, PATH_MAX,
			   current->nsproxy->cgroup_ns) < 0)
		path[0] = 0;
	if (nla_put_u32(skb, PCBG_A_ID, pr->id) ||
	    nla_put_string(skb, PCBG_A_NAME, pr->name) ||
	    nla_put_u64_64bit(skb, PCBG_A_CGROUP_ID, pr->cgid, PCBG_A_PAD) ||
	    nla_put_string(skb, PCBG_A_CGROUP_PATH, path) ||
	    nla_put_u8(skb, PCBG_A_VNET, pr->vnet) ||
	    nla_put_u32(skb, PCBG_A_SOCKETS, refcount_read(&pr->ref) - 1) ||
	    (pr->attached && nla_put_flag(skb, PCBG_A_ATTACH)))
		goto cancel;
	nest = nla_nest_start(skb, PCBG_A_ADDRS);
	if (!nest)
		goto cancel;
	/* The registry's mutex is held: the list does not change. */
	pa = rcu_dereference_protected(pr->addrs, true);
	for (i = 0; i < pa->n4; i++)
		if (nla_put_in_addr(skb, PCBG_A_ADDR4, pa->a4[i]))
			goto cancel;
	for (i = 0; i < pa->n6; i++)
		if (nla_put_in6_addr(skb, PCBG_A_ADDR6, &pa->a6[i]))
			goto cancel;
	nla_nest_end(skb, nest);
	genlmsg_end(skb, hdr);
	err = 0;
	goto out;
cancel:
	genlmsg_cancel(skb, hdr);
out:
	kfree(path);
	return err;
}

/* The prison a request names, by ID or NAME (mutex held). */
static struct pcbg_prison *pcbg_nl_prison(struct pcbg_net *pn,
					  struct genl_info *info)
{
	struct nlattr **a = info->attrs;
	struct pcbg_prison *pr;

	if (!a[PCBG_A_ID] && !a[PCBG_A_NAME]) {
		NL_SET_ERR_MSG(info->extack, "a prison id or name is needed");
		return ERR_PTR(-EINVAL);
	}
	pr = pcbg_prison_find(pn, a[PCBG_A_ID] ? nla_get_u32(a[PCBG_A_ID]) : 0,
			      a[PCBG_A_NAME] ? nla_data(a[PCBG_A_NAME]) : NULL);
	if (!pr || (a[PCBG_A_NAME] && strcmp(pr->name,
					     nla_data(a[PCBG_A_NAME])))) {
		NL_SET_ERR_MSG(info->extack, "no such prison");
		return ERR_PTR(-ENOENT);
	}
	return pr;
}

static int pcbg_nl_reply(struct pcbg_prison *pr, struct genl_info *info)
{
	struct sk_buff *msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	int err;

	if (!msg)
		return -ENOMEM;
	err = pcbg_nl_fill(msg, pr, info->snd_portid, info->snd_seq, 0,
			   info->genlhdr->cmd);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

static int pcbg_nl_new(struct sk_buff *skb, struct genl_info *info)
{
	struct pcbg_net *pn = pcbg_net(genl_info_net(info));
	struct nlattr **a = info->attrs;
	struct pcbg_prison_addrs *pa;
	struct pcbg_prison *pr;
	const char *name;
	int err;

	err = pcbg_nl_not_prisoner(pn, info->extack);
	if (err)
		return err;
	if (!a[PCBG_A_NAME] || !a[PCBG_A_CGROUP_FD]) {
		NL_SET_ERR_MSG(info->extack, "a name and a cgroup are needed");
		return -EINVAL;
	}
	if (a[PCBG_A_ID] && nla_get_u32(a[PCBG_A_ID]) > INT_MAX) {
		NL_SET_ERR_MSG_ATTR(info->extack, a[PCBG_A_ID],
				    "an id is 1 to 2147483647");
		return -EINVAL;
	}
	name = nla_data(a[PCBG_A_NAME]);
	if (!pcbg_name_valid(name)) {
		NL_SET_ERR_MSG(info->extack,
			       "a name is letters, digits, '_', '.', '-', not a number");
		return -EINVAL;
	}
	pa = pcbg_nl_addrs(a[PCBG_A_ADDRS], info->extack);
	if (IS_ERR(pa))
		return PTR_ERR(pa);
	err = pcbg_prison_add(pn, a[PCBG_A_ID] ? nla_get_u32(a[PCBG_A_ID]) : 0,
			      name, nla_get_s32(a[PCBG_A_CGROUP_FD]),
			      a[PCBG_A_VNET] && nla_get_u8(a[PCBG_A_VNET]),
			      nla_get_flag(a[PCBG_A_ATTACH]), pa, &pr);
	if (err) {
		kfree(pa);
		if (err == -EBUSY)
			NL_SET_ERR_MSG(info->extack,
				       "the cgroup has processes (attach was not asked), or is in, around or of another prison (a destroyed one's until its sockets close)");
		else if (err == -EEXIST)
			NL_SET_ERR_MSG(info->extack,
				       "the name, id or cgroup has a prison");
		return err;
	}
	mutex_lock(&pn->jails.lock);
	pr = pcbg_prison_find(pn, pr->id, NULL);
	err = pr ? pcbg_nl_reply(pr, info) : 0;
	mutex_unlock(&pn->jails.lock);
	return err;
}

static int pcbg_nl_set(struct sk_buff *skb, struct genl_info *info)
{
	struct pcbg_net *pn = pcbg_net(genl_info_net(info));
	struct pcbg_prison_addrs *pa = NULL;
	struct nlattr **a = info->attrs;
	struct pcbg_prison *pr;
	int err;

	err = pcbg_nl_not_prisoner(pn, info->extack);
	if (err)
		return err;
	if (a[PCBG_A_ADDRS]) {
		pa = pcbg_nl_addrs(a[PCBG_A_ADDRS], info->extack);
		if (IS_ERR(pa))
			return PTR_ERR(pa);
	}
	mutex_lock(&pn->jails.lock);
	pr = pcbg_nl_prison(pn, info);
	err = PTR_ERR_OR_ZERO(pr);
	if (!err)
		err = pcbg_prison_change(pn, pr, pa, a[PCBG_A_VNET] ?
					 nla_get_u8(a[PCBG_A_VNET]) : -1);
	if (err == -EBUSY)
		NL_SET_ERR_MSG(info->extack,
			       "vnet changes only while the prison is empty");
	if (!err)
		err = pcbg_nl_reply(pr, info);
	else
		kfree(pa);
	mutex_unlock(&pn->jails.lock);
	return err;
}

static int pcbg_nl_del(struct sk_buff *skb, struct genl_info *info)
{
	struct pcbg_net *pn = pcbg_net(genl_info_net(info));
	struct pcbg_prison *pr;
	int err;

	err = pcbg_nl_not_prisoner(pn, info->extack);
	if (err)
		return err;
	mutex_lock(&pn->jails.lock);
	pr = pcbg_nl_prison(pn, info);
	err = PTR_ERR_OR_ZERO(pr);
	if (!err)
		err = pcbg_prison_remove(pn, pr);
	if (err == -EBUSY)
		NL_SET_ERR_MSG(info->extack,
			       "the prison's cgroup still has processes");
	mutex_unlock(&pn->jails.lock);
	return err;
}

/* Whether the caller may see @pr: a prisoner sees only its own. */
static bool pcbg_nl_visible(struct pcbg_net *pn, struct pcbg_prison *pr)
{
	struct pcbg_prison *own;

	rcu_read_lock();
	own = pcbg_prison_of_current(pn);
	rcu_read_unlock();
	return !own || own == pr;
}

static int pcbg_nl_get(struct sk_buff *skb, struct genl_info *info)
{
	struct pcbg_net *pn = pcbg_net(genl_info_net(info));
	struct pcbg_prison *pr;
	int err;

	mutex_lock(&pn->jails.lock);
	pr = pcbg_nl_prison(pn, info);
	err = PTR_ERR_OR_ZERO(pr);
	if (!err && !pcbg_nl_visible(pn, pr)) {
		NL_SET_ERR_MSG(info->extack, "no such prison");
		err = -ENOENT;
	}
	if (!err)
		err = pcbg_nl_reply(pr, info);
	mutex_unlock(&pn->jails.lock);
	return err;
}

/* By id; cb->args[0] is the next id to send. */
static int pcbg_nl_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct pcbg_net *pn = pcbg_net(sock_net(skb->sk));
	unsigned long id = cb->args[0];
	struct pcbg_prison *pr;
	int err = 0;

	mutex_lock(&pn->jails.lock);
	while ((pr = idr_get_next_ul(&pn->jails.ids, &id))) {
		if (pcbg_nl_visible(pn, pr)) {
			err = pcbg_nl_fill(skb, pr, NETLINK_CB(cb->skb).portid,
					   cb->nlh->nlmsg_seq, NLM_F_MULTI,
					   PCBG_CMD_PRISON_GET);
			if (err)
				break;
		}
		id++;
	}
	mutex_unlock(&pn->jails.lock);
	cb->args[0] = id;
	return err && !skb->len ? err : skb->len;
}

/*
 * Changing prisons takes CAP_NET_ADMIN in the host's user namespace, not
 * only over the namespace: a prison registers netfilter hooks, arms the
 * raw demux's redirection for every packet of the host, pins a cgroup and
 * holds the module. A user namespace's root (any local user, unshare -Ur)
 * may not make the module cost the host that; its confinement comes from
 * the host's operator (pcbgjail, the OCI hook).
 */
static const struct genl_small_ops pcbg_genl_ops[] = {
	{
		.cmd = PCBG_CMD_PRISON_NEW,
		.doit = pcbg_nl_new,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PCBG_CMD_PRISON_SET,
		.doit = pcbg_nl_set,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PCBG_CMD_PRISON_DEL,
		.doit = pcbg_nl_del,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = PCBG_CMD_PRISON_GET,
		.doit = pcbg_nl_get,
		.dumpit = pcbg_nl_dump,
	},
};

static struct genl_family pcbg_genl __ro_after_init = {
	.name = PCBG_GENL_NAME,
	.version = PCBG_GENL_VERSION,
	.maxattr = PCBG_A_MAX,
	.policy = pcbg_policy,
	.netnsok = true,
	.module = THIS_MODULE,
	.small_ops = pcbg_genl_ops,
	.n_small_ops = ARRAY_SIZE(pcbg_genl_ops),
	.resv_start_op = PCBG_CMD_PRISON_GET + 1,
};

int pcbg_prison_nl_init(void)
{
	return genl_register_family(&pcbg_genl);
}

void pcbg_prison_nl_exit(void)
{
	genl_unregister_family(&pcbg_genl);
}
