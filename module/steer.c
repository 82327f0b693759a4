// SPDX-License-Identifier: GPL-2.0
/*
 * RX steering: FreeBSD's in_pcblookup_mbuf() on Linux, at the two places
 * where the stack itself looks a socket up, with the inputs it uses there:
 *
 *  - early demux (PCBG_DEMUX): the last PRE_ROUTING hook, so after DNAT,
 *    TPROXY and every user chain, and exactly where ip_rcv_finish_core()
 *    would call tcp_v4_early_demux()/udp_v4_early_demux() (and v6), under
 *    the same conditions (the early_demux sysctls, no route yet, no
 *    socket yet, PACKET_HOST, no fragment, after the l3mdev pass). Only
 *    connected TCP sockets answer here, as in early demux, and the
 *    socket's cached input route (sk_rx_dst) goes with it, so the packet
 *    skips the route lookup. UDP is left to the kernel here: its early
 *    demux answers only the first socket of a hash2 chain and routes the
 *    rest (rp_filter, fwmark and iif rules apply to them); the module
 *    answers those at delivery, after routing;
 *  - delivery (PCBG_DELIVER): the last LOCAL_IN hook but the prisons'
 *    (and conntrack's confirmation), so after routing decided the packet
 *    is local, after INPUT NAT and every user chain, right before
 *    tcp_v4_rcv()/udp_rcv() (and v6) would look up the socket with
 *    inet_iif()/inet_sdif(). Connected sockets, then
 *    listeners (for a SYN, while prisons restrict the namespace:
 *    pcbg_table_syn(), to a port where a prisoner may listen:
 *    pcbg_port_jailed()) and unconnected UDP sockets answer here.
 *    Broadcast and multicast routes are left to the stack, which delivers
 *    them to every socket. While UDP is answered inside the kernel's own
 *    lookup functions (udp_lookup.c, the default), this hook leaves UDP
 *    alone; and TCP without prisons: where it can answer nothing, the hook
 *    is not registered (pcbg_deliver_sync()).
 *
 * The answer goes in skb->sk with sock_pfree(), as bpf_sk_assign() puts a
 * prefetched socket there (a TCP connection referenced, as early demux's;
 * a listener or UDP socket, freed only after a grace period, not: the
 * packet reaches the protocol in this softirq, under RCU);
 * skb_steal_sock() in the protocol's receive path takes it. A packet
 * that no group answers for certain goes on as if the module were not
 * there: the kernel's own lookup in the reservation table serves it.
 *
 * Which socket a packet gets, if any, is decided by the answer policy,
 * pcbg_answer() (lookup.c; its early-demux case inline, pcbg_lookup.h);
 * this file finds the packet's tuple, hash and group, and hands the
 * answer to the stack.
 */
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/netfilter.h>
#include <linux/netfilter_bridge.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/l3mdev.h>
#include <net/route.h>
#include <net/udp.h>

#include "pcbg_l4.h"
#include "pcbg_lookup.h"
#include "pcbg_net.h"
#include "pcbg_trace.h"

static bool pcbg_is_syn(const struct pcbg_l4 *l4)
{
	return (l4->tcp_flags & (TCPHDR_SYN | TCPHDR_ACK | TCPHDR_RST)) ==
	       TCPHDR_SYN;
}

/*
 * Only a hash the receiving NIC computed (NETIF_F_RXHASH) is an RSS hash:
 * a veth or loopback packet carries its sender's random sk_txhash with
 * l4_hash set, which says nothing about buckets.
 */
static bool pcbg_hw_hash(const struct sk_buff *skb,
			 const struct net_device *dev)
{
	return skb->l4_hash && !skb->sw_hash &&
	       (dev->features & NETIF_F_RXHASH);
}

/* Where a packet's bucket comes from, decided once per lookup. */
enum pcbg_hash_src {
	PCBG_HASH_NONE,		/* none: the reservation table serves it */
	PCBG_HASH_NIC,
	PCBG_HASH_SOFT,		/* the function sockets are placed by */
};

static enum pcbg_hash_src pcbg_hash_src(const struct pcbg_net *pn,
					const struct sk_buff *skb,
					const struct net_device *dev)
{
	if (pcbg_hw_hash(skb, dev))
		return PCBG_HASH_NIC;
	if ((dev->flags & IFF_LOOPBACK) ? READ_ONCE(pn->loopback) :
					  READ_ONCE(pn->soft_hash))
		return PCBG_HASH_SOFT;
	return PCBG_HASH_NONE;
}

/*
 * The socket's cached input route, as tcp_v4_early_demux() and
 * tcp_v6_early_demux() use it (only TCP is answered before routing).
 */
static void pcbg_set_rx_dst(struct sk_buff *skb, struct sock *sk)
{
	struct dst_entry *dst;

	if (!sk_fullsock(sk))
		return;
	dst = rcu_dereference(sk->sk_rx_dst);
	if (dst)
		dst = dst_check(dst, skb->protocol == htons(ETH_P_IPV6) ?
				     sk->sk_rx_dst_cookie : 0);
	if (!dst)
		return;
	if (sk->sk_rx_dst_ifindex != skb->skb_iif)
		return;
	skb_dst_set_noref(skb, dst);
}

static unsigned int pcbg_steer(struct pcbg_net *pn, struct sk_buff *skb,
			       enum pcbg_stage stage, int protocol,
			       struct pcbg_tuple *tp, const struct pcbg_l4 *l4,
			       enum pcbg_hash_src src)
{
	const struct pcbg_rss *rss = pcbg_rss_get();
	struct pcbg_query q = {};
	unsigned int group;
	struct pcbg_table *t;
	enum pcbg_hit hit;
	bool partial;
	struct sock *sk;
	u32 hash;

	tp->fport = l4->sport;
	tp->lport = l4->dport;
	t = pcbg_net_table(pn, protocol);
	if (!t)
		return NF_ACCEPT;
	/*
	 * A SYN to a port where no prisoner may listen is the kernel's, as
	 * in a namespace without prisons (pcbg_deliver_leaves()): no hash,
	 * no count, no answer asked.
	 */
	if (stage == PCBG_DELIVER && protocol == IPPROTO_TCP &&
	    pcbg_is_syn(l4) && !pcbg_port_jailed(t, l4->dport))
		return NF_ACCEPT;
	if (src == PCBG_HASH_NIC) {
		hash = skb->hash;		/* the NIC's Toeplitz hash */
		partial = false;
	} else {
		/* The group needs the bucket bits; the tracepoint all. */
		partial = !trace_lookup_enabled();
		hash = partial ? pcbg_tuple_rss_bucket(rss, tp) :
				 pcbg_tuple_rss_hash(rss, tp);
	}
	group = pcbg_table_group(t, rss, hash);
	PCBG_INC(pn, LOOKUPS);
	PCBG_GROUP_INC(pn, group_lookups, group);

	q.tp = tp;
	q.hash = hash;
	q.protocol = protocol;
	q.stage = stage;
	q.syn = protocol == IPPROTO_TCP && pcbg_is_syn(l4);
	if (protocol == IPPROTO_UDP) {
		q.udp_reliable = pcbg_udp_reliable(pn);
		q.placed_by = src == PCBG_HASH_SOFT && pcbg_rss_settled();
	}
	if (stage == PCBG_DEMUX && protocol == IPPROTO_TCP)
		sk = pcbg_answer_connected(t, rss, tp, hash, &hit);
	else
		sk = pcbg_answer(t, rss, &q, &hit);
	sk = pcbg_answer_given(pn, rss, &q, stage, hash, partial, group, sk,
			       hit);
	if (!sk)
		return NF_ACCEPT;
	skb->sk = sk;
	skb->destructor = sock_pfree;
	if (stage == PCBG_DEMUX)
		pcbg_set_rx_dst(skb, sk);
	return NF_ACCEPT;
}

/* A frame the bridge forwards, shown to the IP hooks by br_netfilter. */
static bool pcbg_bridged(const struct sk_buff *skb)
{
#if IS_ENABLED(CONFIG_BRIDGE_NETFILTER)
	return nf_bridge_info_exists(skb);
#else
	return false;
#endif
}

/*
 * The common gate of both hooks. ipvlan's L3S mode hands the packet to
 * another namespace on its way in: such devices are left alone. A frame
 * br_netfilter shows to PRE_ROUTING never meets early demux on that pass
 * (a local one comes again through ip_rcv()).
 */
static struct pcbg_net *pcbg_gate(struct sk_buff *skb,
				  const struct nf_hook_state *state)
{
	struct pcbg_net *pn = pcbg_net_rcu(state->net);

	if (!READ_ONCE(pn->enable) || !pcbg_tracking_ready() || skb->sk ||
	    skb->pkt_type != PACKET_HOST || !state->in ||
	    netif_has_l3_rx_handler(state->in) ||
	    (state->hook == NF_INET_PRE_ROUTING && pcbg_bridged(skb)))
		return NULL;
	return pn;
}

/*
 * A packet that will go through its VRF's PRE_ROUTING pass again (or gets
 * its l3mdev inputs after this hook) is looked up on that pass.
 */
static bool pcbg_l3mdev_pending(const struct net_device *dev, bool l3slave)
{
	return netif_is_l3_slave(dev) || (netif_is_l3_master(dev) && !l3slave);
}

static bool pcbg_early_demux_on(const struct net *net, int protocol)
{
	if (!READ_ONCE(net->ipv4.sysctl_ip_early_demux))
		return false;
	return protocol == IPPROTO_TCP ?
	       READ_ONCE(net->ipv4.sysctl_tcp_early_demux) :
	       READ_ONCE(net->ipv4.sysctl_udp_early_demux);
}

/*
 * What the delivery hook cannot answer, left at once: UDP when it is
 * answered inside the kernel's lookup function (udp_lookup.c); TCP, whose
 * only answer there is a SYN's, when the groups do not answer SYNs.
 */
static bool pcbg_deliver_leaves(struct pcbg_net *pn, int protocol)
{
	if (protocol == IPPROTO_UDP)
		return pcbg_udp_lookup_armed();
	return !pcbg_table_syn(pcbg_net_table(pn, protocol));
}

/* Traffic the groups cannot serve costs next to nothing. */
static bool pcbg_no_hash(struct pcbg_net *pn, enum pcbg_hash_src src,
			 enum pcbg_stage stage)
{
	if (src != PCBG_HASH_NONE)
		return false;
	if (stage == PCBG_DELIVER)	/* counted once per local packet */
		PCBG_INC(pn, FALLBACK);
	return true;
}

/*
 * Handing an unconnected UDP socket a unicast packet makes the receive
 * path cache that packet's input route in the socket (sk_rx_dst), as a
 * TPROXY rule does; the kernel's own lookups never do. udp_v4_early_demux()
 * reuses that cache for a multicast datagram it gives the socket, in place
 * of the multicast route, which then goes uncounted as multicast (and a
 * dual-stack socket's cache may be an IPv6 route). So before early demux
 * sees a multicast datagram, each unconnected socket of its port whose
 * cache is not an IPv4 multicast route loses it, and the route is looked
 * up as without the module. (A unicast answer on another CPU in between
 * can still refill it, as it can after a TPROXY rule.)
 */
static void pcbg_mcast_rx_dst_drop(struct sock *sk, u16 port)
{
	struct dst_entry *dst = rcu_dereference(sk->sk_rx_dst);

	if (!dst || sk->sk_num != port ||
	    (dst->ops->family == AF_INET &&
	     (((struct rtable *)dst)->rt_flags & RTCF_MULTICAST)))
		return;
	dst_release(unrcu_pointer(xchg(&sk->sk_rx_dst, NULL)));
}

static void pcbg_mcast_rx_dst_reset(struct sk_buff *skb,
				    const struct nf_hook_state *state)
{
	const struct iphdr *iph = ip_hdr(skb);
	struct pcbg_wild_view v;
	struct pcbg_tuple tp;
	struct pcbg_table *t;
	struct pcbg_l4 l4;
	int i;

	if (!pcbg_tracking_ready() || skb_dst(skb) || skb->sk ||
	    ip_is_fragment(iph) || !pcbg_early_demux_on(state->net, IPPROTO_UDP) ||
	    !pcbg_l4_read(skb, skb_network_offset(skb) + ip_hdrlen(skb),
			  IPPROTO_UDP, &l4))
		return;
	t = pcbg_net_table(pcbg_net(state->net), IPPROTO_UDP);
	if (!t)
		return;
	/* The sockets early demux may pick: bound to the group or to any. */
	tp.family = AF_INET;
	tp.laddr4 = iph->daddr;
	tp.lport = l4.dport;
	pcbg_wild_view(t, &tp, &v);
	for (i = 0; i < 2; i++) {
		struct pcbg_bucket *b = i ? v.any : v.addr;
		struct pcbg_cursor cur;
		struct sock *sk;

		if (!b)
			continue;
		pcbg_cursor_init(&cur, b, v.tab->nid, v.key_addr, v.key_any);
		while ((sk = pcbg_cursor_next(&cur)))
			pcbg_mcast_rx_dst_drop(sk, ntohs(l4.dport));
	}
}

/*
 * The packet's tuple, then its answer. Apart from the hooks, whose exits
 * are most packets' path: the tuple is a local the kernel's
 * CONFIG_INIT_STACK_ALL_ZERO clears on entry (a rep stos).
 */
static noinline unsigned int pcbg_steer_v4(struct pcbg_net *pn,
					   struct sk_buff *skb,
					   enum pcbg_stage stage,
					   enum pcbg_hash_src src)
{
	const struct iphdr *iph = ip_hdr(skb);
	struct pcbg_tuple tp = {	/* one clearing, not two */
		.family = AF_INET,
		.faddr4 = iph->saddr,
		.laddr4 = iph->daddr,
		/* skb_iif is inet_iif() before routing: no rtable yet. */
		.dif = stage == PCBG_DEMUX ? skb->skb_iif : inet_iif(skb),
		.sdif = inet_sdif(skb),
	};
	struct pcbg_l4 l4;

	if (!pcbg_l4_read(skb, skb_network_offset(skb) + ip_hdrlen(skb),
			  iph->protocol, &l4))
		return NF_ACCEPT;
	return pcbg_steer(pn, skb, stage, iph->protocol, &tp, &l4, src);
}

static unsigned int pcbg_hook_v4(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	enum pcbg_stage stage = (unsigned long)priv;
	const struct iphdr *iph = ip_hdr(skb);
	enum pcbg_hash_src src;
	struct pcbg_net *pn;

	if (iph->protocol != IPPROTO_TCP && iph->protocol != IPPROTO_UDP)
		return NF_ACCEPT;
	if (unlikely(skb->pkt_type == PACKET_MULTICAST) &&
	    iph->protocol == IPPROTO_UDP && stage == PCBG_DEMUX)
		pcbg_mcast_rx_dst_reset(skb, state);
	pn = pcbg_gate(skb, state);
	if (!pn || ip_is_fragment(iph))
		return NF_ACCEPT;
	if (stage == PCBG_DEMUX) {
		if (iph->protocol == IPPROTO_UDP || skb_dst(skb) || !pcbg_early_demux_on(state->net, iph->protocol) ||
		    pcbg_l3mdev_pending(state->in,
					ipv4_l3mdev_skb(IPCB(skb)->flags)))
			return NF_ACCEPT;
	} else {
		struct rtable *rt = skb_rtable(skb);

		/* The stack delivers these to every matching socket. */
		if (!rt || (rt->rt_flags & (RTCF_BROADCAST | RTCF_MULTICAST)) ||
		    pcbg_deliver_leaves(pn, iph->protocol))
			return NF_ACCEPT;
	}
	src = pcbg_hash_src(pn, skb, state->in);
	if (pcbg_no_hash(pn, src, stage))
		return NF_ACCEPT;
	return pcbg_steer_v4(pn, skb, stage, src);
}

#if IS_ENABLED(CONFIG_IPV6)
/* As pcbg_steer_v4(). */
static noinline unsigned int pcbg_steer_v6(struct pcbg_net *pn,
					   struct sk_buff *skb,
					   enum pcbg_stage stage,
					   enum pcbg_hash_src src)
{
	const struct ipv6hdr *ip6h = ipv6_hdr(skb);
	struct pcbg_tuple tp = {
		.family = AF_INET6,
		.faddr6 = ip6h->saddr,
		.laddr6 = ip6h->daddr,
		.dif = inet6_iif(skb),
		.sdif = inet6_sdif(skb),
	};
	struct pcbg_l4 l4;

	if (!pcbg_l4_read(skb, skb_network_offset(skb) + sizeof(*ip6h),
			  ip6h->nexthdr, &l4))
		return NF_ACCEPT;
	return pcbg_steer(pn, skb, stage, ip6h->nexthdr, &tp, &l4, src);
}

static unsigned int pcbg_hook_v6(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	enum pcbg_stage stage = (unsigned long)priv;
	const struct ipv6hdr *ip6h = ipv6_hdr(skb);
	enum pcbg_hash_src src;
	struct pcbg_net *pn;

	/* Extension headers (fragments among them) go the native way. */
	if (ip6h->nexthdr != IPPROTO_TCP && ip6h->nexthdr != IPPROTO_UDP)
		return NF_ACCEPT;
	pn = pcbg_gate(skb, state);
	if (!pn || ipv6_addr_is_multicast(&ip6h->daddr))
		return NF_ACCEPT;
	if (stage == PCBG_DELIVER && pcbg_deliver_leaves(pn, ip6h->nexthdr))
		return NF_ACCEPT;
	if (stage == PCBG_DEMUX &&
	    (ip6h->nexthdr == IPPROTO_UDP || skb_dst(skb) ||
	     !pcbg_early_demux_on(state->net, ip6h->nexthdr) ||
	     pcbg_l3mdev_pending(state->in,
				 ipv6_l3mdev_skb(IP6CB(skb)->flags))))
		return NF_ACCEPT;
	src = pcbg_hash_src(pn, skb, state->in);
	if (pcbg_no_hash(pn, src, stage))
		return NF_ACCEPT;
	return pcbg_steer_v6(pn, skb, stage, src);
}
#endif

/* Last in PRE_ROUTING: every other hook there sees no socket. */
static const struct nf_hook_ops pcbg_demux_ops[] = {
	{
		.hook		= pcbg_hook_v4,
		.priv		= (void *)PCBG_DEMUX,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_PRE_ROUTING,
		.priority	= NF_IP_PRI_LAST,
	},
#if IS_ENABLED(CONFIG_IPV6)
	{
		.hook		= pcbg_hook_v6,
		.priv		= (void *)PCBG_DEMUX,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_PRE_ROUTING,
		.priority	= NF_IP6_PRI_LAST,
	},
#endif
};

/*
 * Last but one in LOCAL_IN: only conntrack's confirmation, which does not
 * read skb->sk, and the prisons' hook (prison_nf.c) come after it, so the
 * prisons' hook sees a steered packet whichever was registered first.
 */
static const struct nf_hook_ops pcbg_deliver_ops[] = {
	{
		.hook		= pcbg_hook_v4,
		.priv		= (void *)PCBG_DELIVER,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_LOCAL_IN,
		.priority	= NF_IP_PRI_LAST - 1,
	},
#if IS_ENABLED(CONFIG_IPV6)
	{
		.hook		= pcbg_hook_v6,
		.priv		= (void *)PCBG_DELIVER,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_LOCAL_IN,
		.priority	= NF_IP6_PRI_LAST - 1,
	},
#endif
};

/*
 * The hooks go into a namespace only once something there can be hashed:
 * a device whose NIC gives the hash (NETIF_F_RXHASH), or soft_hash or
 * loopback set. Before that every packet would leave them at once
 * (pcbg_no_hash()) after two netfilter dispatches: a container with only
 * veth and loopback pays nothing. Once in, they stay until the namespace
 * goes: clearing the sysctl again leaves them, as their multicast route
 * reset still serves the sockets their answers gave a route.
 * Only they read a TCP connection's entry: the namespace's connections
 * are placed from then on (pcbg_track_conns_on()). @existing: the
 * namespace may have connections already.
 *
 * The delivery hook joins them only where it can answer (a SYN while
 * prisons restrict the namespace, UDP if the kernel's lookup functions
 * are not redirected, pcbg_deliver_leaves()): elsewhere every local
 * packet would pay a dispatch for nothing (steer_deliver in the stats).
 */
static DEFINE_MUTEX(pcbg_steer_lock);

static bool pcbg_deliver_wanted(const struct pcbg_net *pn)
{
	return pn->steer_hooks && !pn->steer_gone &&
	       (!pcbg_udp_lookup_armed() || READ_ONCE(pn->jails.restricted));
}

/* The delivery hook in or out, as it is wanted (under pcbg_steer_lock). */
static void pcbg_deliver_sync(struct pcbg_net *pn)
{
	bool want = pcbg_deliver_wanted(pn);
	int err;

	lockdep_assert_held(&pcbg_steer_lock);
	if (want == pn->steer_deliver)
		return;
	if (!want) {
		nf_unregister_net_hooks(pn->net, pcbg_deliver_ops,
					ARRAY_SIZE(pcbg_deliver_ops));
		WRITE_ONCE(pn->steer_deliver, false);
		return;
	}
	/* Without it the kernel's lookup (and the prisons' hook) decide. */
	err = nf_register_net_hooks(pn->net, pcbg_deliver_ops,
				    ARRAY_SIZE(pcbg_deliver_ops));
	if (err)
		pr_warn_ratelimited("no delivery hook in a namespace (%d): its SYNs and UDP take the kernel's lookup\n",
				    err);
	else
		WRITE_ONCE(pn->steer_deliver, true);
}

static int pcbg_steer_want(struct pcbg_net *pn, bool existing)
{
	int err = 0;

	/* Registered: no lock (a user may write its sysctl in a loop). */
	if (READ_ONCE(pn->steer_hooks))
		return 0;
	mutex_lock(&pcbg_steer_lock);
	if (!pn->steer_hooks && !pn->steer_gone) {
		err = nf_register_net_hooks(pn->net, pcbg_demux_ops,
					    ARRAY_SIZE(pcbg_demux_ops));
		WRITE_ONCE(pn->steer_hooks, !err);
		/* Set first: the walk places what the flag lets in. */
		if (!err) {
			pcbg_track_conns_on(pn, existing);
			pcbg_deliver_sync(pn);
		}
	}
	mutex_unlock(&pcbg_steer_lock);
	return err;
}

/* After soft_hash or loopback changed in @pn (sysctl, or at creation). */
int pcbg_steer_update(struct pcbg_net *pn, bool existing)
{
	if (!READ_ONCE(pn->soft_hash) && !READ_ONCE(pn->loopback))
		return 0;
	return pcbg_steer_want(pn, existing);
}

/* After the count of prisons that restrict @pn changed (prison.c). */
void pcbg_steer_jails_changed(struct pcbg_net *pn)
{
	mutex_lock(&pcbg_steer_lock);
	pcbg_deliver_sync(pn);
	mutex_unlock(&pcbg_steer_lock);
}

void pcbg_steer_exit_net(struct pcbg_net *pn)
{
	mutex_lock(&pcbg_steer_lock);
	/*
	 * steer_hooks stays set: a connection placed while it was is still
	 * removed when it closes (pcbg_track_conn()).
	 */
	if (pn->steer_hooks)
		nf_unregister_net_hooks(pn->net, pcbg_demux_ops,
					ARRAY_SIZE(pcbg_demux_ops));
	pn->steer_gone = true;
	pcbg_deliver_sync(pn);		/* out with them */
	mutex_unlock(&pcbg_steer_lock);
}

/*
 * A device that hashes in its NIC, registered in or moved to a namespace
 * (the notifier's registration replays the ones already there), or
 * turning its hash on. Its namespace's instance exists: devices come
 * after the namespace's subsystems and go before them.
 */
static int pcbg_steer_netdev(struct notifier_block *nb, unsigned long event,
			     void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	int err;

	if ((event != NETDEV_REGISTER && event != NETDEV_FEAT_CHANGE) ||
	    !(dev->features & NETIF_F_RXHASH))
		return NOTIFY_DONE;
	err = pcbg_steer_want(pcbg_net(dev_net(dev)), true);
	if (err)
		pr_warn_ratelimited("%s: no steering hooks in its namespace (%d): its packets take the kernel's path\n",
				    dev->name, err);
	return NOTIFY_DONE;
}

static struct notifier_block pcbg_steer_nb = {
	.notifier_call = pcbg_steer_netdev,
};

int pcbg_steer_init(void)
{
	return register_netdevice_notifier(&pcbg_steer_nb);
}

void pcbg_steer_exit(void)
{
	unregister_netdevice_notifier(&pcbg_steer_nb);
}
