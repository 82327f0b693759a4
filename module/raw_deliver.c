// SPDX-License-Identifier: GPL-2.0
/*
 * Raw-IP delivery through the namespace's index: raw_local_deliver() and
 * raw6_local_deliver() are redirected (ftrace, IPMODIFY) to versions that
 * look in the index, then deliver exactly as the kernel does:
 * raw_v4_match() or raw_v6_match() on each candidate, the ICMP filters,
 * the multicast source filters, a clone to raw_rcv() or rawv6_rcv() per
 * socket, and the same return value (whether some socket matched), which
 * decides the "protocol unreachable" answer. Where the index cannot be
 * trusted or cannot answer (IPv6 multicast, which the kernel also matches
 * on group membership), the kernel's list is walked. The redirection is
 * armed only while some namespace wants it (pcbg_raw_update()).
 */
#include <linux/icmp.h>
#include <linux/ftrace.h>
#include <linux/icmpv6.h>
#include <linux/igmp.h>
#include <linux/module.h>
#include <net/inet_sock.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/raw.h>
#include <net/rawv6.h>

#include "pcbg_ksym.h"
#include "pcbg_net.h"
#include "pcbg_raw.h"
#include "pcbg_raw_demux.h"

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
bool pcbg_raw_live;

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
	p->pn = pcbg_net_rcu(p->net);
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

/*
 * Whether the kernel's bucket for the packet's protocol is empty (a TCP
 * or UDP packet on a host whose raw sockets are GRE's): its walk then
 * finds nothing at once, as ours would, and costs less than our lookup.
 * Tested first, before the recursion guard: it is most packets' answer
 * once the redirection is armed.
 */
static __always_inline bool pcbg_raw_none(const struct sk_buff *skb,
					  const struct raw_hashinfo *h,
					  int protocol)
{
	return hlist_empty(&h->ht[raw_hashfunc(dev_net(skb->dev), protocol)]);
}

/*
 * Whether this packet's namespace delivers raw IP through the module.
 * Preemption is off (ftrace_test_recursion_trylock()).
 */
static bool pcbg_raw_takes(const struct sk_buff *skb)
{
	struct pcbg_net *pn = pcbg_net_sched(dev_net(skb->dev));

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
	int bit;

	if (pcbg_raw_none(skb, &raw_v4_hashinfo, protocol))
		return;
	bit = ftrace_test_recursion_trylock(ip, parent_ip);
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
	int bit;

	if (pcbg_raw_none(skb, &raw_v6_hashinfo, nexthdr))
		return;
	bit = ftrace_test_recursion_trylock(ip, parent_ip);
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
	unsigned long ip;	/* fn's address */
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

static void pcbg_raw_free_filters(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pcbg_raw_redirects); i++)
		ftrace_free_filter(&pcbg_raw_redirects[i].ops);
}

/* The kernel functions delivery calls that it does not export. */
static int pcbg_raw_symbols(void)
{
	pcbg_kallsyms_fn lookup = pcbg_kallsyms();
	unsigned int i;

	if (!lookup)
		return -ENOENT;
	for (i = 0; i < ARRAY_SIZE(pcbg_raw_redirects); i++) {
		pcbg_raw_redirects[i].ip = lookup(pcbg_raw_redirects[i].fn);
		if (!pcbg_raw_redirects[i].ip)
			return -ENOENT;
	}
	pcbg_raw_rcv = (void *)lookup("raw_rcv");
	pcbg_mc_sf_allow = (void *)lookup("ip_mc_sf_allow");
#if IS_ENABLED(CONFIG_IPV6)
	pcbg_rawv6_rcv = (void *)lookup("rawv6_rcv");
	if (!pcbg_rawv6_rcv)
		return -ENOENT;
#endif
	return pcbg_raw_rcv && pcbg_mc_sf_allow ? 0 : -ENOENT;
}

/* The symbols delivery needs and the functions it redirects. */
int pcbg_raw_deliver_init(void)
{
	unsigned int i;
	int err;

	err = pcbg_raw_symbols();
	if (err) {
		pr_err("raw demux: kernel symbols not found: %d\n", err);
		return err;
	}
	/* By address: a filter by name scans every ftrace site of the kernel. */
	for (i = 0; i < ARRAY_SIZE(pcbg_raw_redirects); i++) {
		struct pcbg_raw_redirect *rd = &pcbg_raw_redirects[i];

		err = ftrace_set_filter_ip(&rd->ops, rd->ip, 0, 1);
		if (err) {
			pr_err("raw demux: cannot trace %s: %d\n", rd->fn, err);
			pcbg_raw_free_filters();
			return err;
		}
	}
	return 0;
}

void pcbg_raw_deliver_exit(void)
{
	pcbg_raw_free_filters();
}

/*
 * The probes are in place (or going): from now on (no longer) a
 * namespace's index is complete once walked, and the redirection may be
 * armed. Going, the redirection is removed at once.
 */
void pcbg_raw_set_live(bool live)
{
	mutex_lock(&pcbg_raw_arm_lock);
	WRITE_ONCE(pcbg_raw_live, live);
	if (!live)
		pcbg_raw_set_armed(false);
	mutex_unlock(&pcbg_raw_arm_lock);
}

void pcbg_raw_arm_flush(void)
{
	flush_work(&pcbg_raw_arm_work);
}

void pcbg_raw_arm_cancel(void)
{
	cancel_work_sync(&pcbg_raw_arm_work);
	cancel_delayed_work_sync(&pcbg_raw_disarm_work);
}
