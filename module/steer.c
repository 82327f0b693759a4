// SPDX-License-Identifier: GPL-2.0
/*
 * RX steering: FreeBSD's in_pcblookup_mbuf() on Linux. A netfilter
 * PRE_ROUTING hook, per namespace, looks a packet up in the connection
 * group of its RSS bucket and hands the socket to the stack in skb->sk, as
 * TPROXY does: early demux then stands aside and the TCP/UDP receive path
 * takes the socket with skb_steal_sock() instead of looking it up.
 *
 * A packet with no usable hash (loopback unless net.pcbgroup.loopback,
 * fragments, no hardware L4 hash and no software hashing) and every packet
 * the groups cannot answer are left alone: the stack's own lookup in the
 * reservation table serves them, exactly as before.
 *
 * TCP listeners are only an answer for a SYN, and only when the
 * reservation table has no connection for the tuple: request and
 * TIME_WAIT sockets live there, not in the groups.
 */
#include <linux/inetdevice.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/sock_reuseport.h>

#include "pcbg_net.h"
#include "pcbg_trace.h"

struct pcbg_l4 {
	__be16 sport, dport;
	u8 tcp_flags;	/* byte 13 of the TCP header */
};

static bool pcbg_l4_read(struct sk_buff *skb, int off, int protocol,
			 struct pcbg_l4 *l4)
{
	u8 buf[14];
	const u8 *p = skb_header_pointer(skb, off,
					 protocol == IPPROTO_TCP ? 14 : 4, buf);

	if (!p)
		return false;
	memcpy(&l4->sport, p, 2);
	memcpy(&l4->dport, p + 2, 2);
	l4->tcp_flags = protocol == IPPROTO_TCP ? p[13] : 0;
	return true;
}

static bool pcbg_is_syn(const struct pcbg_l4 *l4)
{
	return (l4->tcp_flags & (TCPHDR_SYN | TCPHDR_ACK | TCPHDR_RST)) ==
	       TCPHDR_SYN;
}

/* A listener from a reuseport group: pick a member as the stack would. */
static struct sock *pcbg_reuseport(struct sock *sk, u32 hash,
				   struct sk_buff *skb)
{
	struct sock_reuseport *reuse = rcu_dereference(sk->sk_reuseport_cb);
	struct sock *nsk;

	if (!reuse)
		return sk;
	/* A BPF selector expects skb->data at L4: leave it to the stack. */
	if (rcu_access_pointer(reuse->prog)) {
		sock_gen_put(sk);
		return NULL;
	}
	nsk = reuseport_select_sock(sk, hash, NULL, 0);
	if (!nsk || nsk == sk || !refcount_inc_not_zero(&nsk->sk_refcnt))
		return sk;
	sock_gen_put(sk);
	return nsk;
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

/* Where a packet's bucket comes from, decided once per packet. */
enum pcbg_hash_src {
	PCBG_HASH_NONE,		/* none: the reservation table serves it */
	PCBG_HASH_NIC,
	PCBG_HASH_SOFT,
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
 * Traffic the groups cannot serve (loopback by default) should cost next
 * to nothing: counted and let go before any parsing, unless the
 * tracepoint wants its tuple.
 */
static bool pcbg_quick_fallback(struct pcbg_net *pn, enum pcbg_hash_src src)
{
	if (src != PCBG_HASH_NONE || trace_lookup_enabled())
		return false;
	PCBG_INC(pn, FALLBACK);
	return true;
}

static unsigned int pcbg_steer(struct pcbg_net *pn, struct sk_buff *skb,
			       int protocol, struct pcbg_tuple *tp,
			       const struct pcbg_l4 *l4,
			       enum pcbg_hash_src src)
{
	const struct pcbg_rss *rss = pcbg_rss_get();
	unsigned int flags = PCBG_LOOKUP_REF, group;
	struct pcbg_table *t;
	enum pcbg_hit hit;
	bool partial = false;
	struct sock *sk;
	int outcome;
	u32 hash;

	tp->fport = l4->sport;
	tp->lport = l4->dport;
	if (src == PCBG_HASH_NIC) {
		hash = skb->hash;		/* the NIC's Toeplitz hash */
	} else if (src == PCBG_HASH_SOFT) {
		/* The group needs the bucket bits; the tracepoint all. */
		partial = !trace_lookup_enabled();
		hash = partial ? pcbg_tuple_rss_bucket(rss, tp) :
				 pcbg_tuple_rss_hash(rss, tp);
	} else {
		PCBG_INC(pn, FALLBACK);
		trace_lookup(pn->net, tp, protocol, 0, -1, -1,
			     PCBG_TRACE_FALLBACK, NULL);
		return NF_ACCEPT;
	}
	t = pcbg_net_table(pn, protocol);
	if (!t)
		return NF_ACCEPT;
	if (protocol == IPPROTO_TCP ? pcbg_is_syn(l4) :
				      pcbg_track_udp_reliable())
		flags |= PCBG_LOOKUP_WILDCARD;

	group = pcbg_table_group(t, rss, hash);
	PCBG_INC(pn, LOOKUPS);
	PCBG_GROUP_INC(pn, group_lookups, group);
	sk = pcbg_lookup(t, rss, tp, hash, flags, &hit);

	if (sk && hit != PCBG_HIT_EXACT && protocol == IPPROTO_TCP) {
		/* A request or TIME_WAIT socket owns this SYN's tuple. */
		struct sock *conn = pcbg_native_established(pn->net, tp);

		if (conn) {
			sock_gen_put(conn);
			sock_gen_put(sk);
			sk = NULL;
		}
	}
	if (sk && hit == PCBG_HIT_WILD) {
		if (partial)	/* reuseport spreads by the whole hash */
			hash = pcbg_tuple_rss_hash(rss, tp);
		sk = pcbg_reuseport(sk, hash, skb);
	}
	outcome = sk ? hit : PCBG_MISS;
	if (sk && READ_ONCE(pn->verify) && !pcbg_verify(pn, protocol, tp, sk)) {
		sock_gen_put(sk);
		sk = NULL;
		outcome = PCBG_TRACE_MISMATCH;
	}
	trace_lookup(pn->net, tp, protocol, hash, group,
		     pcbg_rss_getcpu(rss, pcbg_rss_bucket(rss, hash)), outcome,
		     sk);
	if (!sk) {
		PCBG_INC(pn, MISS);
		return NF_ACCEPT;
	}
	switch (hit) {
	case PCBG_HIT_EXACT:
		PCBG_INC(pn, HIT_EXACT);
		break;
	case PCBG_HIT_BUCKET:
		PCBG_INC(pn, HIT_BUCKET);
		break;
	default:
		PCBG_INC(pn, HIT_WILD);
		break;
	}
	PCBG_GROUP_INC(pn, group_hits, group);
	skb->sk = sk;
	skb->destructor = sock_edemux;
	return NF_ACCEPT;
}

static bool pcbg_steerable(struct pcbg_net *pn, struct sk_buff *skb,
			   const struct net_device *dev)
{
	return READ_ONCE(pn->enable) && READ_ONCE(pn->ready) && !skb->sk &&
	       skb->pkt_type == PACKET_HOST && dev && !netif_is_l3_slave(dev);
}

/* FreeBSD's in_broadcast(): the stack delivers these to every socket. */
static bool pcbg_v4_broadcast(const struct net_device *dev, __be32 addr)
{
	const struct in_device *in_dev = __in_dev_get_rcu(dev);
	const struct in_ifaddr *ifa;

	if (ipv4_is_lbcast(addr) || ipv4_is_multicast(addr) ||
	    ipv4_is_zeronet(addr))
		return true;
	if (!in_dev)
		return false;
	in_dev_for_each_ifa_rcu(ifa, in_dev)
		if (ifa->ifa_broadcast == addr)
			return true;
	return false;
}

static unsigned int pcbg_hook_v4(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	struct pcbg_net *pn = pcbg_net(state->net);
	const struct iphdr *iph = ip_hdr(skb);
	enum pcbg_hash_src src;
	struct pcbg_tuple tp;
	struct pcbg_l4 l4;

	if (!pcbg_steerable(pn, skb, state->in) ||
	    (iph->protocol != IPPROTO_TCP && iph->protocol != IPPROTO_UDP))
		return NF_ACCEPT;
	src = pcbg_hash_src(pn, skb, state->in);
	if (pcbg_quick_fallback(pn, src))
		return NF_ACCEPT;
	memset(&tp, 0, sizeof(tp));
	tp.family = AF_INET;
	tp.faddr4 = iph->saddr;
	tp.laddr4 = iph->daddr;
	tp.dif = state->in->ifindex;
	if (ip_is_fragment(iph) || pcbg_v4_broadcast(state->in, iph->daddr) ||
	    !pcbg_l4_read(skb, skb_network_offset(skb) + ip_hdrlen(skb),
			  iph->protocol, &l4)) {
		PCBG_INC(pn, FALLBACK);
		return NF_ACCEPT;
	}
	return pcbg_steer(pn, skb, iph->protocol, &tp, &l4, src);
}

#if IS_ENABLED(CONFIG_IPV6)
static unsigned int pcbg_hook_v6(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	struct pcbg_net *pn = pcbg_net(state->net);
	const struct ipv6hdr *ip6h = ipv6_hdr(skb);
	enum pcbg_hash_src src;
	struct pcbg_tuple tp;
	struct pcbg_l4 l4;

	/* Extension headers (fragments among them) go the native way. */
	if (!pcbg_steerable(pn, skb, state->in) ||
	    (ip6h->nexthdr != IPPROTO_TCP && ip6h->nexthdr != IPPROTO_UDP))
		return NF_ACCEPT;
	src = pcbg_hash_src(pn, skb, state->in);
	if (pcbg_quick_fallback(pn, src))
		return NF_ACCEPT;
	memset(&tp, 0, sizeof(tp));
	tp.family = AF_INET6;
	tp.faddr6 = ip6h->saddr;
	tp.laddr6 = ip6h->daddr;
	tp.dif = state->in->ifindex;
	if (ipv6_addr_is_multicast(&ip6h->daddr) ||
	    !pcbg_l4_read(skb, skb_network_offset(skb) + sizeof(*ip6h),
			  ip6h->nexthdr, &l4)) {
		PCBG_INC(pn, FALLBACK);
		return NF_ACCEPT;
	}
	return pcbg_steer(pn, skb, ip6h->nexthdr, &tp, &l4, src);
}
#endif

/* Just after the raw table and defragmentation, before conntrack. */
static const struct nf_hook_ops pcbg_nf_ops[] = {
	{
		.hook		= pcbg_hook_v4,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_PRE_ROUTING,
		.priority	= NF_IP_PRI_RAW + 1,
	},
#if IS_ENABLED(CONFIG_IPV6)
	{
		.hook		= pcbg_hook_v6,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_PRE_ROUTING,
		.priority	= NF_IP6_PRI_RAW + 1,
	},
#endif
};

int pcbg_steer_init_net(struct net *net)
{
	return nf_register_net_hooks(net, pcbg_nf_ops, ARRAY_SIZE(pcbg_nf_ops));
}

void pcbg_steer_exit_net(struct net *net)
{
	nf_unregister_net_hooks(net, pcbg_nf_ops, ARRAY_SIZE(pcbg_nf_ops));
}
