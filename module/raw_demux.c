// SPDX-License-Identifier: GPL-2.0
/*
 * Hashed raw-IP delivery. Linux hands every local packet to
 * raw_local_deliver() (raw6_local_deliver() for IPv6), which walks every
 * raw socket of the packet's protocol in the namespace; a GRE
 * concentrator with 1000 tunnels pays 1000 matches per packet. Here the
 * raw sockets of a namespace are also kept in an index by address
 * (raw_table.c), and the two functions are redirected to versions that
 * look there, then deliver exactly as the kernel does: raw_v4_match() or
 * raw_v6_match() on each candidate, the ICMP filters, the multicast
 * source filters, a clone to raw_rcv() or rawv6_rcv() per socket, and the
 * same return value (whether some socket matched), which decides the
 * "protocol unreachable" answer.
 *
 * The kernel's list stays the reference: sockets are followed with
 * probes on raw_hash_sk() (at return) and raw_unhash_sk() (at entry and
 * return, long before the socket is freed) and on the functions that
 * change a raw socket's addresses (bind, connect, disconnect), and the
 * kernel's list is walked instead of the index whenever the index cannot
 * be trusted (a probe missed a call, no memory for an entry, more
 * candidates than a lookup holds) or cannot answer (IPv6 multicast, which
 * the kernel also matches on group membership). Mobile IPv6 packets
 * (whose filter is private to the kernel) are left to the kernel.
 *
 * A prisoner's raw socket takes only packets to its prison's addresses
 * (FreeBSD's rip_input()). The redirection is armed only while some
 * namespace has raw sockets and net.pcbgroup.raw_demux on, or a prison
 * that restricts addresses: otherwise no packet pays for it.
 */
#include <linux/icmp.h>
#include <linux/ftrace.h>
#include <linux/icmpv6.h>
#include <linux/igmp.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/sysctl.h>
#include <net/inet_sock.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/raw.h>
#include <net/rawv6.h>

#include "pcbg_ksym.h"
#include "pcbg_net.h"
#include "pcbg_raw.h"

static bool raw_demux = true;
module_param(raw_demux, bool, 0644);
MODULE_PARM_DESC(raw_demux, "Default of net.pcbgroup.raw_demux for new namespaces: deliver raw IP through the per-namespace hash (default Y)");

/* Below this many, the kernel's walk is as quick as the index (bench/). */
static unsigned int raw_demux_min = 32;

static int raw_demux_min_set(const char *val, const struct kernel_param *kp)
{
	unsigned int n;
	int err = kstrtouint(val, 0, &n);

	if (err)
		return err;
	if (n < 1 || n > 65536) {
		pr_err("raw_demux_min must be from 1 to 65536\n");
		return -EINVAL;
	}
	WRITE_ONCE(raw_demux_min, n);
	return 0;
}

static const struct kernel_param_ops raw_demux_min_ops = {
	.set = raw_demux_min_set,
	.get = param_get_uint,
};

module_param_cb(raw_demux_min, &raw_demux_min_ops, &raw_demux_min, 0644);
MODULE_PARM_DESC(raw_demux_min, "Raw sockets a namespace needs before its raw IP goes through the hash; fewer, and the kernel's walk delivers (default 32; taken into account at the next socket change)");

/* Not exported; looked up once (pcbg_raw_symbols()). */
static typeof(raw_rcv) *pcbg_raw_rcv;
static typeof(rawv6_rcv) *pcbg_rawv6_rcv;
static typeof(ip_mc_sf_allow) *pcbg_mc_sf_allow;

/* The probes are in place: a new namespace's index is complete. */
static bool pcbg_raw_live;

static bool pcbg_raw_sock(const struct sock *sk)
{
	return sk->sk_type == SOCK_RAW &&
	       (sk->sk_family == AF_INET || sk->sk_family == AF_INET6) &&
	       sk->sk_prot->hash == raw_hash_sk;
}

static void pcbg_raw_key_of(const struct sock *sk, struct pcbg_raw_key *k)
{
	u8 proto = inet_sk(sk)->inet_num;

#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6) {
		pcbg_raw_key_set6(k, proto, &sk->sk_v6_rcv_saddr,
				  &sk->sk_v6_daddr);
		return;
	}
#endif
	pcbg_raw_key_set4(k, proto, READ_ONCE(sk->sk_rcv_saddr),
			  READ_ONCE(sk->sk_daddr));
}

/* The namespace's index, if its instance is up; under rcu_read_lock(). */
static struct pcbg_raw *pcbg_raw_of(const struct sock *sk)
{
	struct pcbg_net *pn = pcbg_net(sock_net(sk));

	return pn && rcu_access_pointer(pn->raw.tab) && !READ_ONCE(pn->raw.dead) ?
	       &pn->raw : NULL;
}

static struct pcbg_net *pcbg_raw_pn(struct pcbg_raw *r)
{
	return container_of(r, struct pcbg_net, raw);
}

/* Following the kernel's raw sockets */

static void pcbg_raw_failed(struct pcbg_raw *r)
{
	unsigned long flags;

	spin_lock_irqsave(&r->lock, flags);
	r->fail_gen++;
	spin_unlock_irqrestore(&r->lock, flags);
	schedule_work(&r->sync);
}

struct pcbg_raw_krp_data {
	struct sock *sk;
};

static int pcbg_raw_hash_entry(struct kretprobe_instance *ri,
			       struct pt_regs *regs)
{
	struct pcbg_raw_krp_data *d = (struct pcbg_raw_krp_data *)ri->data;

	d->sk = (struct sock *)regs_get_kernel_argument(regs, 0);
	return 0;
}

/*
 * Once the kernel has hashed it: a resync holding the kernel's list lock
 * then either finds the socket there or runs before this, and never
 * sweeps an entry whose socket is about to be hashed.
 */
static int pcbg_raw_hash_ret(struct kretprobe_instance *ri,
			     struct pt_regs *regs)
{
	struct sock *sk = ((struct pcbg_raw_krp_data *)ri->data)->sk;
	struct pcbg_raw_key k;
	struct pcbg_raw *r;

	rcu_read_lock();
	r = pcbg_raw_sock(sk) ? pcbg_raw_of(sk) : NULL;
	if (r) {
		pcbg_raw_key_of(sk, &k);
		if (pcbg_raw_insert(r, sk, &k))
			pcbg_raw_failed(r);
		else if (pcbg_raw_wants_growth(r))
			schedule_work(&r->sync);
		pcbg_raw_update(pcbg_raw_pn(r), false);
	}
	rcu_read_unlock();
	return 0;
}

static void pcbg_raw_unhash(struct sock *sk)
{
	struct pcbg_raw *r;

	rcu_read_lock();
	r = pcbg_raw_of(sk);
	if (r && pcbg_raw_remove(r, sk))
		pcbg_raw_update(pcbg_raw_pn(r), false);
	rcu_read_unlock();
}

/*
 * raw_unhash_sk() is probed twice: at entry, so that no lookup takes the
 * socket on its way out, and at return, because a resync may have filed
 * it again in between: it holds the kernel's list lock, which the unhash
 * waits for after the entry probe, and sees the socket still listed.
 * Only after the return is the socket out of every list for good, and it
 * is freed later still, a grace period after its close.
 */
static int pcbg_raw_unhash_entry(struct kretprobe_instance *ri,
				 struct pt_regs *regs)
{
	struct pcbg_raw_krp_data *d = (struct pcbg_raw_krp_data *)ri->data;
	struct sock *sk = (struct sock *)regs_get_kernel_argument(regs, 0);

	if (!pcbg_raw_sock(sk))
		return 1;
	d->sk = sk;
	pcbg_raw_unhash(sk);
	return 0;
}

static int pcbg_raw_unhash_ret(struct kretprobe_instance *ri,
			       struct pt_regs *regs)
{
	pcbg_raw_unhash(((struct pcbg_raw_krp_data *)ri->data)->sk);
	return 0;
}

static struct kretprobe pcbg_raw_krp_hash = {
	.kp.symbol_name = "raw_hash_sk",
	.entry_handler = pcbg_raw_hash_entry,
	.handler = pcbg_raw_hash_ret,
	.data_size = sizeof(struct pcbg_raw_krp_data),
};

static struct kretprobe pcbg_raw_krp_unhash = {
	.kp.symbol_name = "raw_unhash_sk",
	.entry_handler = pcbg_raw_unhash_entry,
	.handler = pcbg_raw_unhash_ret,
	.data_size = sizeof(struct pcbg_raw_krp_data),
};

/* An address change starts: the socket goes in transit until it ends. */
static int pcbg_raw_change_entry(struct kretprobe_instance *ri,
				 struct pt_regs *regs)
{
	struct pcbg_raw_krp_data *d = (struct pcbg_raw_krp_data *)ri->data;
	struct sock *sk = (struct sock *)regs_get_kernel_argument(regs, 0);
	struct pcbg_raw *r;

	if (!pcbg_raw_sock(sk))
		return 1;	/* UDP and the rest: no return probe */
	rcu_read_lock();
	r = pcbg_raw_of(sk);
	if (r)
		pcbg_raw_transit(r, sk);
	rcu_read_unlock();
	d->sk = sk;
	return 0;
}

static int pcbg_raw_change_ret(struct kretprobe_instance *ri,
			       struct pt_regs *regs)
{
	struct pcbg_raw_krp_data *d = (struct pcbg_raw_krp_data *)ri->data;
	struct pcbg_raw_key k;
	struct pcbg_raw *r;

	rcu_read_lock();
	r = pcbg_raw_of(d->sk);
	if (r) {
		pcbg_raw_key_of(d->sk, &k);
		pcbg_raw_settle(r, d->sk, &k);
	}
	rcu_read_unlock();
	return 0;
}

#define PCBG_RAW_KRP(fn) {						\
	.kp.symbol_name = fn,						\
	.entry_handler = pcbg_raw_change_entry,				\
	.handler = pcbg_raw_change_ret,					\
	.data_size = sizeof(struct pcbg_raw_krp_data),			\
}

/* Everything that sets a raw socket's local or foreign address. */
static struct kretprobe pcbg_raw_krps[] = {
	PCBG_RAW_KRP("raw_bind"),
	PCBG_RAW_KRP("ip4_datagram_connect"),
	PCBG_RAW_KRP("__udp_disconnect"),	/* raw's .disconnect too */
#if IS_ENABLED(CONFIG_IPV6)
	PCBG_RAW_KRP("rawv6_bind"),
	PCBG_RAW_KRP("ip6_datagram_connect_v6_only"),
#endif
};

static struct kretprobe *pcbg_raw_krp_ptrs[ARRAY_SIZE(pcbg_raw_krps)];

/* Calls the probes above missed: the index may be wrong since. */
static unsigned long pcbg_raw_missed(void)
{
	unsigned long n = READ_ONCE(pcbg_raw_krp_hash.nmissed) +
			  READ_ONCE(pcbg_raw_krp_hash.kp.nmissed) +
			  READ_ONCE(pcbg_raw_krp_unhash.nmissed) +
			  READ_ONCE(pcbg_raw_krp_unhash.kp.nmissed);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pcbg_raw_krps); i++)
		n += READ_ONCE(pcbg_raw_krps[i].nmissed) +
		     READ_ONCE(pcbg_raw_krps[i].kp.nmissed);
	return n;
}

/* A failure or a miss since the last resync: only a resync repairs it. */
static bool pcbg_raw_stale(const struct pcbg_raw *r)
{
	return READ_ONCE(r->synced_gen) != READ_ONCE(r->fail_gen) ||
	       READ_ONCE(r->missed) != pcbg_raw_missed();
}

static bool pcbg_raw_trusted(struct pcbg_raw *r)
{
	if (likely(!pcbg_raw_stale(r)))
		return true;
	if (!work_pending(&r->sync))
		schedule_work(&r->sync);
	return false;
}

/*
 * Make the index the kernel's list again: every open raw socket of the
 * namespace filed under its current key, no other. Under the kernel's
 * list lock, so no socket is hashed or unhashed meanwhile.
 */
static bool pcbg_raw_resync_family(struct pcbg_raw *r, struct net *net,
				   struct raw_hashinfo *h, u8 family)
{
	struct pcbg_raw_entry *spare = NULL;
	struct pcbg_raw_key k;
	unsigned long flags;
	bool complete = true;
	struct sock *sk;
	unsigned int i;

	spin_lock(&h->lock);
	spin_lock_irqsave(&r->lock, flags);
	pcbg_raw_mark(r, family);
	spin_unlock_irqrestore(&r->lock, flags);
	for (i = 0; i < RAW_HTABLE_SIZE; i++) {
		sk_for_each(sk, &h->ht[i]) {
			if (!net_eq(sock_net(sk), net))
				continue;
			pcbg_raw_key_of(sk, &k);
			if (!spare)
				spare = pcbg_raw_entry_new();
			/*
			 * One being unhashed right now is still listed: its
			 * unhash return probe removes what this files.
			 */
			spin_lock_irqsave(&r->lock, flags);
			if (!spare && !pcbg_raw_find(r, sk))
				complete = false;
			else if (pcbg_raw_add(r, spare, sk, &k))
				spare = NULL;
			spin_unlock_irqrestore(&r->lock, flags);
		}
	}
	spin_lock_irqsave(&r->lock, flags);
	pcbg_raw_sweep(r, family);
	spin_unlock_irqrestore(&r->lock, flags);
	spin_unlock(&h->lock);
	kfree(spare);
	return complete;
}

static void pcbg_raw_resync(struct pcbg_net *pn)
{
	struct pcbg_raw *r = &pn->raw;
	unsigned int gen = READ_ONCE(r->fail_gen);
	unsigned long missed = pcbg_raw_missed();
	bool complete;

	complete = pcbg_raw_resync_family(r, pn->net, &raw_v4_hashinfo,
					  AF_INET);
#if IS_ENABLED(CONFIG_IPV6)
	complete &= pcbg_raw_resync_family(r, pn->net, &raw_v6_hashinfo,
					   AF_INET6);
#endif
	if (complete) {
		WRITE_ONCE(r->missed, missed);
		WRITE_ONCE(r->synced_gen, gen);
	} else {
		pcbg_raw_failed(r);
	}
	PCBG_INC(pn, RAW_RESYNC);
	pcbg_raw_update(pn, false);
}

static void pcbg_raw_sync_work(struct work_struct *work)
{
	struct pcbg_raw *r = container_of(work, struct pcbg_raw, sync);
	struct pcbg_net *pn = pcbg_raw_pn(r);

	if (READ_ONCE(r->dead) || !READ_ONCE(pcbg_raw_live))
		return;
	if (pcbg_raw_wants_growth(r) && pcbg_raw_grow(r) > 0)
		PCBG_INC(pn, RESIZE);
	if (pcbg_raw_stale(r))
		pcbg_raw_resync(pn);
}

/* Delivery */

/* raw.c's icmp_filter(): 1 if the socket filters this ICMP type out. */
static int pcbg_icmp_filter(const struct sock *sk, const struct sk_buff *skb)
{
	struct icmphdr _hdr;
	const struct icmphdr *hdr;

	hdr = skb_header_pointer(skb, skb_transport_offset(skb),
				 sizeof(_hdr), &_hdr);
	if (!hdr)
		return 1;
	if (hdr->type < 32)
		return ((1U << hdr->type) & raw_sk(sk)->filter.data) != 0;
	return 0;	/* unknown types are not filtered */
}

/* A prisoner's socket and a packet to an address not its prison's. */
static bool pcbg_raw_jailed(struct pcbg_net *pn, struct sock *sk,
			    const void *daddr)
{
	struct pcbg_prison *pr;

	if (likely(!READ_ONCE(pn->jails.restricted)))
		return false;
	pr = pcbg_sk_prison(sk);
	if (!pr)
		return false;
	if (sk->sk_family == AF_INET)
		return pcbg_prison_check4(pcbg_prison_addrs(pr),
					  *(const __be32 *)daddr);
	return pcbg_prison_check6(pcbg_prison_addrs(pr), daddr);
}

struct pcbg_raw_pkt {
	struct net *net;
	struct pcbg_net *pn;
	struct sk_buff *skb;
	struct raw_hashinfo *h;	/* the kernel's list of the family */
	int hash_proto;		/* its bucket, as the kernel picks it */
	int dif, sdif;
	int protocol;		/* the match's, from the header */
};

typedef bool (*pcbg_raw_match_fn)(const struct pcbg_raw_pkt *p,
				  struct sock *sk);
typedef void (*pcbg_raw_one_fn)(const struct pcbg_raw_pkt *p,
				struct sock *sk);

/*
 * The kernel's walk, with the prison rule: the list raw_local_deliver()
 * or raw6_local_deliver() reads, the same match. Delivers if @deliver;
 * returns the matches. Inlined with its family's functions.
 */
static __always_inline int pcbg_raw_walk(const struct pcbg_raw_pkt *p,
					  pcbg_raw_match_fn match,
					  pcbg_raw_one_fn one, bool deliver)
{
	struct hlist_head *head;
	struct sock *sk;
	int n = 0;

	head = &p->h->ht[raw_hashfunc(p->net, p->hash_proto)];
	sk_for_each_rcu(sk, head) {
		if (!match(p, sk))
			continue;
		n++;
		if (deliver)
			one(p, sk);
	}
	return n;
}

static void pcbg_raw_verify(const struct pcbg_raw_pkt *p, int indexed,
			    int walked)
{
	PCBG_INC(p->pn, RAW_VERIFIED);
	if (indexed != walked)
		PCBG_INC(p->pn, RAW_MISMATCH);
}

/*
 * Delivery for both families: the index's candidates for @key (NULL: it
 * cannot answer), kept if still in the kernel's list (one that is not
 * yet, or no more, would not get the packet from the kernel) and matched
 * on live addresses as the kernel matches them; else the kernel's walk.
 * Returns whether some socket matched, as the kernel's functions do.
 */
static __always_inline bool pcbg_raw_deliver(struct pcbg_raw_pkt *p,
					     const struct pcbg_raw_key *key,
					     pcbg_raw_match_fn match,
					     pcbg_raw_one_fn one)
{
	struct sock *hits[PCBG_RAW_BATCH] __pcbg_noinit;
	int n = -ENOENT, i, kept = 0;

	rcu_read_lock();
	p->pn = pcbg_net(p->net);
	if (key && READ_ONCE(p->pn->raw.demux) &&
	    pcbg_raw_trusted(&p->pn->raw))
		n = pcbg_raw_collect(&p->pn->raw, key, hits, ARRAY_SIZE(hits));
	if (n < 0) {
		PCBG_INC(p->pn, RAW_WALKED);
		kept = pcbg_raw_walk(p, match, one, true);
	} else {
		PCBG_INC(p->pn, RAW_INDEXED);
		for (i = 0; i < n; i++)
			if (sk_hashed(hits[i]) && match(p, hits[i]))
				hits[kept++] = hits[i];
		if (READ_ONCE(p->pn->verify))
			pcbg_raw_verify(p, kept, pcbg_raw_walk(p, match, one,
							       false));
		for (i = 0; i < kept; i++)
			one(p, hits[i]);
	}
	rcu_read_unlock();
	return kept > 0;
}

static bool pcbg_raw4_match(const struct pcbg_raw_pkt *p, struct sock *sk)
{
	const struct iphdr *iph = ip_hdr(p->skb);

	return raw_v4_match(p->net, sk, iph->protocol, iph->saddr,
			    iph->daddr, p->dif, p->sdif) &&
	       !pcbg_raw_jailed(p->pn, sk, &iph->daddr);
}

/* raw_v4_input()'s body for one matching socket. */
static void pcbg_raw4_one(const struct pcbg_raw_pkt *p, struct sock *sk)
{
	const struct iphdr *iph = ip_hdr(p->skb);
	struct sk_buff *clone;

	/* ip_mc_sf_allow() passes any other destination at once. */
	if ((iph->protocol != IPPROTO_ICMP || !pcbg_icmp_filter(sk, p->skb)) &&
	    (!ipv4_is_multicast(iph->daddr) ||
	     pcbg_mc_sf_allow(sk, iph->daddr, iph->saddr,
			      p->skb->dev->ifindex, p->sdif))) {
		clone = skb_clone(p->skb, GFP_ATOMIC);
		if (clone)
			pcbg_raw_rcv(sk, clone);
	}
}

static int pcbg_raw4_local_deliver(struct sk_buff *skb, int protocol)
{
	const struct iphdr *iph = ip_hdr(skb);
	struct pcbg_raw_pkt p = {
		.net = dev_net(skb->dev),
		.skb = skb,
		.h = &raw_v4_hashinfo,
		.hash_proto = protocol,
		.dif = inet_iif(skb),
		.sdif = inet_sdif(skb),
		.protocol = iph->protocol,
	};
	struct pcbg_raw_key key __pcbg_noinit;

	pcbg_raw_key_set4(&key, iph->protocol, iph->daddr, iph->saddr);
	return pcbg_raw_deliver(&p, &key, pcbg_raw4_match, pcbg_raw4_one);
}

#if IS_ENABLED(CONFIG_IPV6)
#define PCBG_ICMPV6_HDRLEN	4	/* the type is all the filter reads */

/* raw.c's icmpv6_filter(): nonzero if the socket filters this type out. */
static int pcbg_icmpv6_filter(const struct sock *sk,
			      const struct sk_buff *skb)
{
	const struct icmp6hdr *hdr;
	struct icmp6hdr _hdr;
	const __u32 *data;
	unsigned int type;

	hdr = skb_header_pointer(skb, skb_transport_offset(skb),
				 PCBG_ICMPV6_HDRLEN, &_hdr);
	if (!hdr)
		return 1;
	data = &raw6_sk(sk)->filter.data[0];
	type = hdr->icmp6_type;
	return (data[type >> 5] & (1U << (type & 31))) != 0;
}

static bool pcbg_raw6_match(const struct pcbg_raw_pkt *p, struct sock *sk)
{
	const struct ipv6hdr *ip6h = ipv6_hdr(p->skb);

	return raw_v6_match(p->net, sk, p->protocol, &ip6h->daddr,
			    &ip6h->saddr, p->dif, p->sdif) &&
	       !pcbg_raw_jailed(p->pn, sk, &ip6h->daddr);
}

/* ipv6_raw_deliver()'s body for one matching socket. */
static void pcbg_raw6_one(const struct pcbg_raw_pkt *p, struct sock *sk)
{
	struct sk_buff *clone;

	if (p->protocol == IPPROTO_ICMPV6 && pcbg_icmpv6_filter(sk, p->skb))
		return;
	clone = skb_clone(p->skb, GFP_ATOMIC);
	if (clone)
		pcbg_rawv6_rcv(sk, clone);
}

static bool pcbg_raw6_local_deliver(struct sk_buff *skb, int nexthdr)
{
	const struct ipv6hdr *ip6h = ipv6_hdr(skb);
	struct pcbg_raw_pkt p = {
		.net = dev_net(skb->dev),
		.skb = skb,
		.h = &raw_v6_hashinfo,
		.hash_proto = nexthdr,
		.dif = inet6_iif(skb),
		.sdif = inet6_sdif(skb),
		.protocol = nexthdr,
	};
	struct pcbg_raw_key key __pcbg_noinit;

	/* A multicast group member matches whatever it is bound to. */
	if (ipv6_addr_is_multicast(&ip6h->daddr))
		return pcbg_raw_deliver(&p, NULL, pcbg_raw6_match,
					pcbg_raw6_one);
	pcbg_raw_key_set6(&key, nexthdr, &ip6h->daddr, &ip6h->saddr);
	return pcbg_raw_deliver(&p, &key, pcbg_raw6_match, pcbg_raw6_one);
}
#endif

/*
 * The redirection: an ftrace handler on each function that sends the
 * packet to ours instead, as livepatch does (IPMODIFY: no other module
 * may redirect the same function meanwhile), for the namespaces that
 * want it; every other packet runs the kernel's function untouched.
 */

/* Whether this packet's namespace delivers raw IP through the module. */
static bool pcbg_raw_takes(const struct sk_buff *skb)
{
	struct pcbg_net *pn = pcbg_net(dev_net(skb->dev));

	return READ_ONCE(pn->raw.active) && !READ_ONCE(pn->raw.dead);
}

static void notrace pcbg_raw4_ftrace(unsigned long ip,
				     unsigned long parent_ip,
				     struct ftrace_ops *op,
				     struct ftrace_regs *fregs)
{
	struct pt_regs *regs = &fregs->regs;	/* the arguments, saved */
	struct sk_buff *skb = (void *)regs_get_kernel_argument(regs, 0);
	int protocol = regs_get_kernel_argument(regs, 1);
	int bit = ftrace_test_recursion_trylock(ip, parent_ip);

	if (bit < 0)
		return;
	/* A resubmission the header does not say: as the kernel sees it. */
	if (protocol == ip_hdr(skb)->protocol && pcbg_raw_takes(skb))
		ftrace_instruction_pointer_set(fregs, (unsigned long)
					       pcbg_raw4_local_deliver);
	ftrace_test_recursion_unlock(bit);
}

#if IS_ENABLED(CONFIG_IPV6)
static void notrace pcbg_raw6_ftrace(unsigned long ip,
				     unsigned long parent_ip,
				     struct ftrace_ops *op,
				     struct ftrace_regs *fregs)
{
	struct pt_regs *regs = &fregs->regs;
	struct sk_buff *skb = (void *)regs_get_kernel_argument(regs, 0);
	int nexthdr = regs_get_kernel_argument(regs, 1);
	int bit = ftrace_test_recursion_trylock(ip, parent_ip);

	if (bit < 0)
		return;
	/* Mobile IPv6's filter is the kernel's own. */
	if (nexthdr != IPPROTO_MH && pcbg_raw_takes(skb))
		ftrace_instruction_pointer_set(fregs, (unsigned long)
					       pcbg_raw6_local_deliver);
	ftrace_test_recursion_unlock(bit);
}
#endif

struct pcbg_raw_redirect {
	const char *fn;
	struct ftrace_ops ops;
	bool on;
};

static struct pcbg_raw_redirect pcbg_raw_redirects[] = {
	{ "raw_local_deliver",
	  { .func = pcbg_raw4_ftrace, .flags = FTRACE_OPS_FL_IPMODIFY } },
#if IS_ENABLED(CONFIG_IPV6)
	{ "raw6_local_deliver",
	  { .func = pcbg_raw6_ftrace, .flags = FTRACE_OPS_FL_IPMODIFY } },
#endif
};

/* Namespaces that want the redirection armed. */
static atomic_t pcbg_raw_nactive = ATOMIC_INIT(0);
static DEFINE_MUTEX(pcbg_raw_arm_lock);

static bool pcbg_raw_wanted(void)
{
	return pcbg_raw_live && atomic_read(&pcbg_raw_nactive) > 0;
}

/* Register or unregister the redirection (arm lock held). */
static void pcbg_raw_set_armed(bool want)
{
	unsigned int i;

	lockdep_assert_held(&pcbg_raw_arm_lock);
	for (i = 0; i < ARRAY_SIZE(pcbg_raw_redirects); i++) {
		struct pcbg_raw_redirect *rd = &pcbg_raw_redirects[i];
		int err = 0;

		if (want == rd->on)
			continue;
		if (want)
			err = register_ftrace_function(&rd->ops);
		else
			unregister_ftrace_function(&rd->ops);
		/* Another IPMODIFY user (livepatch): the kernel's path. */
		if (err)
			pr_warn_ratelimited("raw demux: cannot redirect %s: %d\n",
					    rd->fn, err);
		else
			rd->on = want;
	}
}

/*
 * Unregistering waits for every task to leave the trampoline (RCU tasks),
 * a long wait: a namespace flapping between wanting the redirection and
 * not keeps it, inactive for its packets, until it has not wanted it for
 * a second.
 */
static void pcbg_raw_disarm(struct work_struct *work)
{
	mutex_lock(&pcbg_raw_arm_lock);
	if (!pcbg_raw_wanted())
		pcbg_raw_set_armed(false);
	mutex_unlock(&pcbg_raw_arm_lock);
}

static DECLARE_DELAYED_WORK(pcbg_raw_disarm_work, pcbg_raw_disarm);

static void pcbg_raw_arm(struct work_struct *work)
{
	mutex_lock(&pcbg_raw_arm_lock);
	if (pcbg_raw_wanted()) {
		cancel_delayed_work(&pcbg_raw_disarm_work);
		pcbg_raw_set_armed(true);
	} else if (pcbg_raw_live) {
		schedule_delayed_work(&pcbg_raw_disarm_work, HZ);
	}
	mutex_unlock(&pcbg_raw_arm_lock);
}

static DECLARE_WORK(pcbg_raw_arm_work, pcbg_raw_arm);

/*
 * Whether the namespace wants raw delivery: raw sockets and raw_demux on,
 * or a prison that restricts addresses. @wait: process context, return
 * once the redirection is armed if it must be (sysctl writes, prison
 * changes); disarming is not waited for: the namespace's flag already
 * sends its packets the kernel's way.
 */
void pcbg_raw_update(struct pcbg_net *pn, bool wait)
{
	struct pcbg_raw *r = &pn->raw;
	bool want, changed = false;
	unsigned long flags;

	spin_lock_irqsave(&r->lock, flags);
	/*
	 * A namespace of a user namespace (any local user can make one)
	 * keeps the kernel's walk: its raw sockets do not arm the
	 * redirection every packet of the host would then pass.
	 */
	want = !r->dead &&
	       ((READ_ONCE(r->demux) && r->n >= READ_ONCE(raw_demux_min) &&
		 pn->net->user_ns == &init_user_ns) ||
		READ_ONCE(pn->jails.restricted));
	if (want != r->active) {
		WRITE_ONCE(r->active, want);
		atomic_add(want ? 1 : -1, &pcbg_raw_nactive);
		changed = true;
	}
	spin_unlock_irqrestore(&r->lock, flags);
	if (!wait) {
		/* Only the probes call without waiting: the module is live. */
		if (changed)
			schedule_work(&pcbg_raw_arm_work);
		return;
	}
	mutex_lock(&pcbg_raw_arm_lock);
	if (changed && pcbg_raw_live)
		schedule_work(&pcbg_raw_arm_work);
	mutex_unlock(&pcbg_raw_arm_lock);
	if (want)
		flush_work(&pcbg_raw_arm_work);
}

/* net.pcbgroup.raw_demux */
int pcbg_raw_sysctl(struct ctl_table *table, int write, void *buffer,
		    size_t *lenp, loff_t *ppos)
{
	int err = proc_dointvec_minmax(table, write, buffer, lenp, ppos);

	if (!err && write)
		pcbg_raw_update(container_of(table->data, struct pcbg_net,
					     raw.demux), true);
	return err;
}

/* Namespaces */

int pcbg_raw_init_net(struct pcbg_net *pn)
{
	struct pcbg_raw *r = &pn->raw;
	int err;

	INIT_WORK(&r->sync, pcbg_raw_sync_work);
	r->demux = READ_ONCE(raw_demux);
	err = pcbg_raw_init(r, 0);
	if (err)
		return err;
	/* Untrusted until walked; made after the probes: walked now. */
	r->synced_gen = r->fail_gen - 1;
	if (READ_ONCE(pcbg_raw_live))
		pcbg_raw_resync(pn);
	return 0;
}

/* No delivery through the index from now on. */
void pcbg_raw_exit_net(struct pcbg_net *pn)
{
	struct pcbg_raw *r = &pn->raw;

	WRITE_ONCE(r->dead, true);
	pcbg_raw_update(pn, true);
}

/* After a grace period: no reader or probe is left in the index. */
void pcbg_raw_free_net(struct pcbg_net *pn)
{
	if (!pn->raw.sync.func)
		return;		/* init failed before it got here */
	cancel_work_sync(&pn->raw.sync);
	pcbg_raw_destroy(&pn->raw);
}

/* Module */

static void pcbg_raw_resync_instance(struct pcbg_net *pn)
{
	pcbg_raw_resync(pn);
}

static void pcbg_raw_free_filters(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pcbg_raw_redirects); i++)
		ftrace_free_filter(&pcbg_raw_redirects[i].ops);
}

static void pcbg_raw_cancel_instance(struct pcbg_net *pn)
{
	cancel_work_sync(&pn->raw.sync);
}

/* The kernel functions delivery calls that it does not export. */
static int pcbg_raw_symbols(void)
{
	pcbg_kallsyms_fn lookup = pcbg_kallsyms();

	if (!lookup)
		return -ENOENT;
	pcbg_raw_rcv = (void *)lookup("raw_rcv");
	pcbg_mc_sf_allow = (void *)lookup("ip_mc_sf_allow");
#if IS_ENABLED(CONFIG_IPV6)
	pcbg_rawv6_rcv = (void *)lookup("rawv6_rcv");
	if (!pcbg_rawv6_rcv)
		return -ENOENT;
#endif
	return pcbg_raw_rcv && pcbg_mc_sf_allow ? 0 : -ENOENT;
}

int pcbg_raw_demux_init(void)
{
	unsigned int i;
	int err;

	err = pcbg_raw_symbols();
	if (err) {
		pr_err("raw demux: kernel symbols not found: %d\n", err);
		return err;
	}
	for (i = 0; i < ARRAY_SIZE(pcbg_raw_redirects); i++) {
		struct pcbg_raw_redirect *rd = &pcbg_raw_redirects[i];

		err = ftrace_set_filter(&rd->ops, (unsigned char *)rd->fn,
					strlen(rd->fn), 1);
		if (err) {
			pr_err("raw demux: cannot trace %s: %d\n", rd->fn, err);
			goto fail_filter;
		}
	}
	pcbg_raw_krp_hash.maxactive = max_t(int, 64, 8 * num_possible_cpus());
	err = register_kretprobe(&pcbg_raw_krp_hash);
	if (err)
		goto fail;
	pcbg_raw_krp_unhash.maxactive = pcbg_raw_krp_hash.maxactive;
	err = register_kretprobe(&pcbg_raw_krp_unhash);
	if (err)
		goto fail_hash;
	for (i = 0; i < ARRAY_SIZE(pcbg_raw_krps); i++) {
		/* Connect can sleep in lock_sock(): room for many at once. */
		pcbg_raw_krps[i].maxactive = max_t(int, 64,
						   8 * num_possible_cpus());
		pcbg_raw_krp_ptrs[i] = &pcbg_raw_krps[i];
	}
	err = register_kretprobes(pcbg_raw_krp_ptrs,
				  ARRAY_SIZE(pcbg_raw_krp_ptrs));
	if (err)
		goto fail_unhash;
	mutex_lock(&pcbg_raw_arm_lock);
	WRITE_ONCE(pcbg_raw_live, true);
	mutex_unlock(&pcbg_raw_arm_lock);
	/* The sockets that were there before the probes. */
	pcbg_all_instances(pcbg_raw_resync_instance);
	flush_work(&pcbg_raw_arm_work);
	return 0;

fail_unhash:
	unregister_kretprobe(&pcbg_raw_krp_unhash);
fail_hash:
	unregister_kretprobe(&pcbg_raw_krp_hash);
	/* What the probes scheduled meanwhile. */
	pcbg_all_instances(pcbg_raw_cancel_instance);
	cancel_work_sync(&pcbg_raw_arm_work);
fail:
	pr_err("raw demux: cannot probe the raw socket functions: %d\n", err);
fail_filter:
	pcbg_raw_free_filters();
	return err;
}

/* Before the namespaces' instances go: nothing reaches them after. */
void pcbg_raw_demux_exit(void)
{
	/* First the redirection: the kernel delivers from here on. */
	mutex_lock(&pcbg_raw_arm_lock);
	WRITE_ONCE(pcbg_raw_live, false);
	pcbg_raw_set_armed(false);
	mutex_unlock(&pcbg_raw_arm_lock);
	unregister_kretprobes(pcbg_raw_krp_ptrs, ARRAY_SIZE(pcbg_raw_krp_ptrs));
	unregister_kretprobe(&pcbg_raw_krp_unhash);
	unregister_kretprobe(&pcbg_raw_krp_hash);
	/* A resync may still want to re-arm: none runs after this. */
	pcbg_all_instances(pcbg_raw_cancel_instance);
	cancel_work_sync(&pcbg_raw_arm_work);
	cancel_delayed_work_sync(&pcbg_raw_disarm_work);
	/* Redirected packets are in RCU read sections: wait them out. */
	synchronize_net();
	pcbg_raw_free_filters();
}
