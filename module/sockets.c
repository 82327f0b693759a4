// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/net/pcbgroup/sockets: one line per member socket of the groups,
 * streamed as /proc/net/tcp is. The cursor is a place (table, group,
 * bucket, index in the bucket), not a pointer, so a read() holds nothing
 * between calls and does page-sized work: it walks the tables under RCU
 * alone (a member's socket is pinned until a grace period after it
 * leaves) and lets go of RCU every PCBG_SOCKS_BATCH buckets. Like
 * /proc/net/tcp, a socket that moves while the file is read may be shown
 * twice or not at all. A prisoner sees only the sockets made in its prison
 * (FreeBSD cr_canseeinpcb()), decided by who opened the file.
 *
 * Columns: sl family proto local remote st kind group bucket cpu inode
 * prison calls; "group" is "wild" for the wildcard table, "bucket" "-" for
 * a listener without a port yet, "prison" the prison id or 0, "calls"
 * "prison" for a prisoner's socket with its prison's operations, "kernel"
 * for one made before the prison was attached to its cgroup (its calls
 * are not checked; its packets are), "-" outside an IP-restricted prison.
 */
#include <linux/proc_fs.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <net/inet_sock.h>
#include <net/ipv6.h>
#include <net/sock.h>

#include "pcbg_net.h"
#include "pcbg_prison.h"

#define PCBG_SOCKS_BATCH	256	/* buckets walked in one RCU section */

struct pcbg_socks_iter {
	struct net *net;
	u64 own;		/* the opener's prison's cgroup id, 0: none */
	/* Where the walk is: group ngroups is the wildcard table, + 1 the
	 * listeners without a port.
	 */
	unsigned int proto, group, bucket;
	unsigned int off;	/* sockets of the bucket already passed */
	loff_t pos;		/* the seq position the cursor stands at */
	/* Valid from start() to stop() only: the bucket being read. */
	bool loaded;
	struct pcbg_table *t;
	struct pcbg_bucket *b;
	unsigned long used;	/* slots not read yet */
	struct pcbg_entry *e;	/* the chain's next entry */
	bool chain;
	u8 nid;
};

/* Point the cursor at an existing bucket at or after its place. */
static bool pcbg_socks_load(struct pcbg_socks_iter *it)
{
	struct pcbg_net *pn = pcbg_net(it->net);
	struct pcbg_htab *tab;
	struct pcbg_group *g;
	struct pcbg_table *t;

	for (; it->proto < PCBG_NPROTO; it->proto++, it->group = 0) {
		t = rcu_dereference(pn->tables[it->proto]);
		for (; t && it->group <= t->ngroups + 1;
		     it->group++, it->bucket = 0, it->off = 0) {
			it->t = t;
			it->chain = true;
			it->used = 0;
			it->nid = 0;
			if (it->group == t->ngroups + 1) {
				if (it->bucket)
					continue;
				it->b = NULL;
				it->e = pcbg_chain_first(&t->unbound, 0);
				return true;
			}
			g = it->group < t->ngroups ? &t->groups[it->group] :
						     &t->wild;
			tab = rcu_dereference(g->tab);
			if (it->bucket > tab->mask)
				continue;
			it->b = &tab->b[it->bucket];
			it->nid = tab->nid;
			it->used = pcbg_slots_used(it->b);
			it->chain = false;
			return true;
		}
		it->bucket = 0;
		it->off = 0;
	}
	return false;
}

/* The bucket's next socket, slots first, then its overflow chain. */
static struct sock *pcbg_socks_raw(struct pcbg_socks_iter *it)
{
	struct sock *sk;

	while (it->used) {
		unsigned int i = __ffs(it->used);

		it->used &= it->used - 1;
		sk = rcu_dereference(it->b->sk[i]);
		if (sk)
			return sk;
	}
	if (!it->chain) {
		it->chain = true;
		it->e = pcbg_chain_first(&it->b->more, it->nid);
	} else if (it->e) {
		it->e = pcbg_chain_next(it->e, it->nid);
	}
	return it->e ? it->e->sk : NULL;
}

static bool pcbg_socks_visible(const struct pcbg_socks_iter *it,
			       const struct sock *sk)
{
	const struct pcbg_prison *pr;

	if (!it->own)
		return true;
	pr = pcbg_prison_of_sk_cgroup(sk);
	return pr && pr->cgid == it->own;
}

/*
 * The next socket the reader may see, from the cursor on; with @resume the
 * cursor's bucket is entered again and the sockets already passed are
 * skipped. Under rcu_read_lock(), which it lets go between buckets.
 */
static struct sock *pcbg_socks_walk(struct pcbg_socks_iter *it, bool resume)
{
	unsigned int skip = resume ? it->off : 0, buckets = 0;
	struct sock *sk;

	for (;;) {
		if (!it->loaded) {
			if (!pcbg_socks_load(it))
				return NULL;
			it->loaded = true;
			for (; skip; skip--)
				if (!pcbg_socks_raw(it))
					break;
		}
		sk = pcbg_socks_raw(it);
		if (sk) {
			it->off++;
			if (pcbg_socks_visible(it, sk))
				return sk;
			continue;
		}
		it->loaded = false;
		it->bucket++;
		it->off = 0;
		skip = 0;
		if (++buckets % PCBG_SOCKS_BATCH == 0) {
			rcu_read_unlock();
			cond_resched();
			rcu_read_lock();
		}
	}
}

static void pcbg_socks_rewind(struct pcbg_socks_iter *it)
{
	it->proto = 0;
	it->group = 0;
	it->bucket = 0;
	it->off = 0;
	it->loaded = false;
}

static void *pcbg_socks_start(struct seq_file *seq, loff_t *pos)
	__acquires(RCU)
{
	struct pcbg_socks_iter *it = seq->private;
	struct sock *sk = NULL;
	loff_t n;

	rcu_read_lock();
	it->loaded = false;
	if (!*pos)
		return SEQ_START_TOKEN;
	if (*pos == it->pos)
		return pcbg_socks_walk(it, true);
	/* Anywhere else (lseek): from the first socket, as tcp_get_idx(). */
	pcbg_socks_rewind(it);
	for (n = 0; n < *pos; n++) {
		sk = pcbg_socks_walk(it, false);
		if (!sk)
			break;
	}
	it->pos = *pos;
	return sk;
}

static void *pcbg_socks_next(struct seq_file *seq, void *v, loff_t *pos)
{
	struct pcbg_socks_iter *it = seq->private;
	struct sock *sk;

	if (v == SEQ_START_TOKEN)
		pcbg_socks_rewind(it);
	sk = pcbg_socks_walk(it, false);
	it->pos = ++*pos;
	return sk;
}

static void pcbg_socks_stop(struct seq_file *seq, void *v)
	__releases(RCU)
{
	struct pcbg_socks_iter *it = seq->private;

	/*
	 * Resume at the socket that did not fit: enter its bucket again and
	 * pass one fewer.
	 */
	if (v && v != SEQ_START_TOKEN && it->off)
		it->off--;
	rcu_read_unlock();
}

static void pcbg_addr_show(struct seq_file *seq, const struct sock *sk,
			   bool local)
{
	__be16 port = local ? htons(sk->sk_num) : sk->sk_dport;

	if (sk->sk_family == AF_INET)
		seq_printf(seq, " %pI4:%u",
			   local ? &sk->sk_rcv_saddr : &sk->sk_daddr,
			   ntohs(port));
#if IS_ENABLED(CONFIG_IPV6)
	else
		seq_printf(seq, " [%pI6c]:%u",
			   local ? &sk->sk_v6_rcv_saddr : &sk->sk_v6_daddr,
			   ntohs(port));
#endif
}

static int pcbg_socks_show(struct seq_file *seq, void *v)
{
	struct pcbg_socks_iter *it = seq->private;
	const struct pcbg_prison *pr;
	struct sock *sk = v;
	unsigned int group;

	if (v == SEQ_START_TOKEN) {
		seq_puts(seq, "sl family proto local remote st kind group bucket cpu inode prison calls\n");
		return 0;
	}
	group = it->group;
	seq_printf(seq, "%lld %s %s", seq->index - 1,
		   sk->sk_family == AF_INET ? "inet" : "inet6",
		   it->t->protocol == IPPROTO_TCP ? "tcp" : "udp");
	pcbg_addr_show(seq, sk, true);
	pcbg_addr_show(seq, sk, false);
	seq_printf(seq, " %02X %s", sk->sk_state,
		   group < it->t->ngroups ? "exact" : "wildcard");
	if (group < it->t->ngroups)
		seq_printf(seq, " %u %u %u", group, it->bucket,
			   pcbg_rss_getcpu(pcbg_rss_get(), group));
	else if (group == it->t->ngroups)
		seq_printf(seq, " wild %u -", it->bucket);
	else
		seq_puts(seq, " wild - -");
	pr = pcbg_prison_of_sk_cgroup(sk);
	seq_printf(seq, " %lu %u %s\n", sock_i_ino(sk), pr ? pr->id : 0,
		   !pr || pr->vnet ? "-" :
		   pcbg_sock_wrapped(sk) ? "prison" : "kernel");
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
	struct pcbg_socks_iter *it;
	struct pcbg_prison *own;

	if (!maybe_get_net(net))
		return -ENXIO;
	it = __seq_open_private(file, &pcbg_socks_ops, sizeof(*it));
	if (!it) {
		put_net(net);
		return -ENOMEM;
	}
	it->net = net;
	it->pos = -1;
	rcu_read_lock();
	own = pcbg_prison_of_current(pcbg_net(net));
	it->own = own ? own->cgid : 0;
	rcu_read_unlock();
	return 0;
}

static int pcbg_socks_release(struct inode *inode, struct file *file)
{
	struct pcbg_socks_iter *it = ((struct seq_file *)file->private_data)->private;

	put_net(it->net);
	return seq_release_private(inode, file);
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
