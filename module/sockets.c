// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/net/pcbgroup/sockets: one line per member socket of the groups,
 * in the spirit of /proc/net/tcp. The listing is a snapshot taken when the
 * file is opened, with room for pcbg_list_estimate() sockets so that those
 * made while it is filled fit (FreeBSD's in_pcblist slack). A prisoner
 * sees only the sockets made in its prison (FreeBSD cr_canseeinpcb()).
 *
 * Columns: sl family proto local remote st kind group bucket cpu inode
 * prison; "group" is "wild" for the wildcard table, "bucket" "-" for a
 * listener without a port yet, "prison" the prison id or 0.
 */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/inet_sock.h>
#include <net/ipv6.h>
#include <net/sock.h>

#include "pcbg_net.h"
#include "pcbg_prison.h"

struct pcbg_rec {
	struct sock *sk;	/* referenced until the snapshot is filled */
	u8 protocol;
	u8 kind;
	int group;		/* -1: the wildcard table */
	int bucket;		/* -1: no port yet */
	int cpu;
	unsigned long ino;
	u32 prison;
	int state;
	unsigned short family;
	__be16 lport, fport;
	struct in6_addr laddr, faddr;	/* v4 as v4-mapped */
};

struct pcbg_snap {
	size_t n, room;
	bool full;		/* more sockets than room: some left out */
	struct pcbg_rec r[];
};

/* One member, referenced; false when the snapshot is full. */
static bool pcbg_snap_add(struct pcbg_snap *s, struct pcbg_table *t,
			  struct pcbg_entry *e, int group, int bucket, int cpu)
{
	struct pcbg_rec *r = &s->r[s->n];

	if (s->n == s->room) {
		s->full = true;
		return false;
	}
	if (!refcount_inc_not_zero(&e->sk->sk_refcnt))
		return true;
	r->sk = e->sk;
	r->protocol = t->protocol;
	r->kind = e->kind;
	r->group = group;
	r->bucket = bucket;
	r->cpu = cpu;
	s->n++;
	return true;
}

static void pcbg_snap_group(struct pcbg_snap *s, struct pcbg_table *t,
			    struct pcbg_group *g, int group, int cpu)
{
	struct pcbg_entry *e;
	struct pcbg_htab *tab;

	spin_lock_bh(&g->lock);
	tab = rcu_dereference_protected(g->tab, lockdep_is_held(&g->lock));
	list_for_each_entry(e, &g->all, all)
		if (!pcbg_snap_add(s, t, e, group, e->key & tab->mask, cpu))
			break;
	if (group < 0 && !s->full)
		pcbg_chain_each(e, &t->unbound, 0)
			if (!pcbg_snap_add(s, t, e, -1, -1, -1))
				break;
	spin_unlock_bh(&g->lock);
}

static void pcbg_rec_fill(struct pcbg_rec *r)
{
	struct sock *sk = r->sk;

	r->family = sk->sk_family;
	r->state = sk->sk_state;
	r->lport = htons(sk->sk_num);
	r->fport = sk->sk_dport;
	if (sk->sk_family == AF_INET) {
		ipv6_addr_set_v4mapped(sk->sk_rcv_saddr, &r->laddr);
		ipv6_addr_set_v4mapped(sk->sk_daddr, &r->faddr);
	}
#if IS_ENABLED(CONFIG_IPV6)
	else {
		r->laddr = sk->sk_v6_rcv_saddr;
		r->faddr = sk->sk_v6_daddr;
	}
#endif
	r->ino = sock_i_ino(sk);
}

static struct pcbg_snap *pcbg_snap_take(struct pcbg_net *pn)
{
	struct pcbg_prison *own, *pr;
	const struct pcbg_rss *rss;
	struct pcbg_snap *s, *out;
	size_t count = 0, i, kept;
	struct pcbg_table *t;
	int p, g;

	rcu_read_lock();
	for (p = 0; p < PCBG_NPROTO; p++) {
		t = rcu_dereference(pn->tables[p]);
		if (t)
			count += atomic_read(&t->members[PCBG_EXACT]) +
				 atomic_read(&t->members[PCBG_WILD]);
	}
	rcu_read_unlock();
	s = kvzalloc(struct_size(s, r, pcbg_list_estimate(count)),
		     GFP_KERNEL_ACCOUNT);
	if (!s)
		return NULL;
	s->room = pcbg_list_estimate(count);
	rcu_read_lock();
	rss = pcbg_rss_get();
	for (p = 0; p < PCBG_NPROTO; p++) {
		t = rcu_dereference(pn->tables[p]);
		if (!t)
			continue;
		for (g = 0; g < t->ngroups; g++)
			pcbg_snap_group(s, t, &t->groups[g], g,
					pcbg_rss_getcpu(rss, g));
		pcbg_snap_group(s, t, &t->wild, -1, -1);
	}
	/* Who may see what: the reader's prison against each socket's. */
	own = pcbg_prison_of_current(pn);
	out = s;
	for (i = 0, kept = 0; i < s->n; i++) {
		struct pcbg_rec *r = &s->r[i];

		pr = pcbg_prison_of_sk_cgroup(r->sk);
		if (!own || pr == own) {
			r->prison = pr ? pr->id : 0;
			pcbg_rec_fill(r);
			s->r[kept++] = *r;
		}
		sock_gen_put(r->sk);
	}
	rcu_read_unlock();
	for (i = 0; i < kept; i++)
		s->r[i].sk = NULL;
	s->n = kept;
	return out;
}

static void *pcbg_socks_start(struct seq_file *seq, loff_t *pos)
{
	struct pcbg_snap *s = seq->private;

	if (*pos == 0)
		return SEQ_START_TOKEN;
	return *pos <= s->n ? &s->r[*pos - 1] : NULL;
}

static void *pcbg_socks_next(struct seq_file *seq, void *v, loff_t *pos)
{
	struct pcbg_snap *s = seq->private;

	++*pos;
	return *pos <= s->n ? &s->r[*pos - 1] : NULL;
}

static void pcbg_socks_stop(struct seq_file *seq, void *v)
{
}

static void pcbg_addr_show(struct seq_file *seq, const struct pcbg_rec *r,
			   const struct in6_addr *a, __be16 port)
{
	if (r->family == AF_INET)
		seq_printf(seq, " %pI4:%u", &a->s6_addr32[3], ntohs(port));
	else
		seq_printf(seq, " [%pI6c]:%u", a, ntohs(port));
}

static int pcbg_socks_show(struct seq_file *seq, void *v)
{
	struct pcbg_snap *s = seq->private;
	const struct pcbg_rec *r = v;

	if (v == SEQ_START_TOKEN) {
		seq_puts(seq, "sl family proto local remote st kind group bucket cpu inode prison\n");
		return 0;
	}
	seq_printf(seq, "%zu %s %s", r - s->r,
		   r->family == AF_INET ? "inet" : "inet6",
		   r->protocol == IPPROTO_TCP ? "tcp" : "udp");
	pcbg_addr_show(seq, r, &r->laddr, r->lport);
	pcbg_addr_show(seq, r, &r->faddr, r->fport);
	seq_printf(seq, " %02X %s", r->state,
		   r->kind == PCBG_EXACT ? "exact" : "wildcard");
	if (r->group < 0)
		seq_puts(seq, " wild");
	else
		seq_printf(seq, " %d", r->group);
	if (r->bucket < 0)
		seq_puts(seq, " -");
	else
		seq_printf(seq, " %d", r->bucket);
	if (r->cpu < 0)
		seq_puts(seq, " -");
	else
		seq_printf(seq, " %d", r->cpu);
	seq_printf(seq, " %lu %u\n", r->ino, r->prison);
	return 0;
}

static const struct seq_operations pcbg_socks_ops = {
	.start = pcbg_socks_start,
	.next = pcbg_socks_next,
	.stop = pcbg_socks_stop,
	.show = pcbg_socks_show,
};

static int pcbg_socks_open(struct inode *inode, struct file *file)
{
	struct net *net = pde_data(inode);	/* proc_create_data() */
	struct pcbg_snap *s;
	int err;

	if (!maybe_get_net(net))
		return -ENXIO;
	s = pcbg_snap_take(pcbg_net(net));
	put_net(net);
	if (!s)
		return -ENOMEM;
	err = seq_open(file, &pcbg_socks_ops);
	if (err) {
		kvfree(s);
		return err;
	}
	((struct seq_file *)file->private_data)->private = s;
	return 0;
}

static int pcbg_socks_release(struct inode *inode, struct file *file)
{
	kvfree(((struct seq_file *)file->private_data)->private);
	return seq_release(inode, file);
}

static const struct proc_ops pcbg_socks_fops = {
	.proc_open = pcbg_socks_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = pcbg_socks_release,
};

int pcbg_sockets_proc_init(struct pcbg_net *pn)
{
	return proc_create_data("sockets", 0444, pn->proc, &pcbg_socks_fops,
				pn->net) ? 0 : -ENOMEM;
}
