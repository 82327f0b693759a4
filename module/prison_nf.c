// SPDX-License-Identifier: GPL-2.0
/*
 * The prison checks on packets, registered in a namespace while one of its
 * prisons restricts addresses:
 *
 * - LOCAL_OUT: a packet of a prisoner's socket (or of a request socket of
 *   its listener: the SYN-ACK) must have one of the prison's addresses as
 *   source, and may go to a loopback address (127/8, ::1) only if the
 *   prison lists it. The socket is a prisoner's by its cgroup, so this
 *   holds for every socket made in the prison, kernel-made ones for it
 *   too (MPTCP subflows), whatever its operations are. The calls are
 *   checked before (prison_sock.c); this catches what they cannot see,
 *   such as a header rewritten by another thread after the check, and is
 *   dropped (the sender sees -EPERM). A tunnel's outer header (GRE, IPIP,
 *   VXLAN: skb->encapsulation) is judged by the inner source; IPsec's
 *   outer header by none: its inner packet met this hook first.
 * - LOCAL_IN: the groups skip a prisoner's wildcard socket for packets to
 *   other addresses (wild.c), but a packet they leave to the stack
 *   (loopback, no hash) would reach it through the kernel's own lookup.
 *   Such a packet is dropped here instead. Runs after the steering
 *   delivery hook (one priority before), so a steered packet passes. A
 *   SYN's listener that passes the rule goes with the packet
 *   (pcbg_syn_give()): the stack does not look it up a second time. Only
 *   a port where a prisoner's socket may take it is looked up at all
 *   (pcbg_syn_port_jailed(), pcbg_udp_port_jailed()).
 */
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <net/inet_sock.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/sock_reuseport.h>
#include <net/tcp.h>
#include <net/udp.h>

#include "pcbg_l4.h"
#include "pcbg_native.h"
#include "pcbg_net.h"
#include "pcbg_prison.h"

/* The source of a tunnelled packet's inner header is the prison's. */
static bool pcbg_inner_allowed(const struct pcbg_prison_addrs *pa,
			       struct sk_buff *skb)
{
	int off = skb_inner_network_offset(skb);
	struct in6_addr a6;
	__be32 a4;
	u8 v;

	if (off < 0 || skb_copy_bits(skb, off, &v, 1))
		return false;
	if (v >> 4 == 4)
		return !skb_copy_bits(skb, off + offsetof(struct iphdr, saddr),
				      &a4, sizeof(a4)) &&
		       !pcbg_prison_check4(pa, a4);
	if (v >> 4 == 6)
		return !skb_copy_bits(skb,
				      off + offsetof(struct ipv6hdr, saddr),
				      &a6, sizeof(a6)) &&
		       !pcbg_prison_check6(pa, &a6);
	return false;
}

static bool pcbg_out_allowed(struct sk_buff *skb, int family)
{
	const struct pcbg_prison_addrs *pa;
	struct pcbg_prison *pr;
	struct sock *sk = skb->sk;

	if (!sk)
		return true;
	sk = sk_to_full_sk(sk);		/* a SYN-ACK: its listener */
	if (!sk || !sk_fullsock(sk))
		return true;		/* TIME_WAIT: addresses fixed */
	pr = pcbg_sk_prison(sk);
	if (!pr)
		return true;
	pa = pcbg_prison_addrs(pr);
	if (family == AF_INET) {
		const struct iphdr *iph = ip_hdr(skb);

		if (IPCB(skb)->flags & IPSKB_XFRM_TRANSFORMED)
			return true;
		if (skb->encapsulation)
			return pcbg_inner_allowed(pa, skb);
		return !pcbg_prison_check4(pa, iph->saddr) &&
		       !(ipv4_is_loopback(iph->daddr) &&
			 pcbg_prison_check4(pa, iph->daddr));
	}
	if (IP6CB(skb)->flags & IP6SKB_XFRM_TRANSFORMED)
		return true;
	if (skb->encapsulation)
		return pcbg_inner_allowed(pa, skb);
	return !pcbg_prison_check6(pa, &ipv6_hdr(skb)->saddr) &&
	       !(ipv6_addr_loopback(&ipv6_hdr(skb)->daddr) &&
		 pcbg_prison_check6(pa, &ipv6_hdr(skb)->daddr));
}

static unsigned int pcbg_prison_out(void *priv, struct sk_buff *skb,
				    const struct nf_hook_state *state)
{
	if (pcbg_out_allowed(skb, state->pf))
		return NF_ACCEPT;
	atomic_inc(&pcbg_net(state->net)->jails.dropped);
	return NF_DROP;
}

/*
 * Whether a prisoner may listen on TCP port @lport of @net (true when the
 * table cannot tell, or a BPF sk_lookup program may pick a listener of
 * another port): else the kernel's pick of a listener needs no check.
 */
static bool pcbg_syn_port_jailed(struct net *net, __be16 lport)
{
	struct pcbg_table *t = pcbg_net_table(pcbg_net_rcu(net), IPPROTO_TCP);

	return !t || pcbg_port_jailed(t, lport) || pcbg_sk_lookup_prog(net);
}

/* Sockets of one port a datagram's test reads before it looks up. */
#define PCBG_UDP_JAIL_WALK	4

/*
 * Whether the kernel's pick for a UDP datagram to port @lport of @net may
 * be a prisoner's socket bound to the wildcard address, the only kind the
 * rule refuses (pcbg_wild_excluded()). Every wildcard socket, IPv4 or
 * IPv6, is in the kernel's hash2 slot of the wildcard address and its
 * port: a port where none of the namespace's is a prisoner's needs no
 * lookup. (The groups' UDP table cannot tell: a socket alone on its port
 * has no entry.) True past PCBG_UDP_JAIL_WALK sockets of the port, or
 * with a BPF sk_lookup program, which may pick a socket of any port.
 */
static bool pcbg_udp_port_jailed(struct net *net, __be16 lport)
{
	unsigned short hnum = ntohs(lport);
	struct udp_hslot *hslot2;
	unsigned int n = 0;
	struct sock *sk;

	if (pcbg_sk_lookup_prog(net))
		return true;
	hslot2 = udp_hashslot2(&udp_table,
			       ipv4_portaddr_hash(net, htonl(INADDR_ANY), hnum));
	udp_portaddr_for_each_entry_rcu(sk, &hslot2->head) {
		if (udp_sk(sk)->udp_port_hash != hnum ||
		    !net_eq(sock_net(sk), net))
			continue;
		if (++n > PCBG_UDP_JAIL_WALK || pcbg_sk_prison(sk))
			return true;
	}
	return false;
}

/*
 * The listener the kernel's lookup picked for a SYN, handed to
 * tcp_v4_rcv()/tcp_v6_rcv() as a prefetched socket, as the steering hook
 * and bpf_sk_assign() hand theirs (a listener is freed only after a grace
 * period: no reference), so that the stack does not repeat both lookups.
 * Not where its own lookup could pick another: a reuseport group with a
 * program, which reads the packet this lookup does not pass.
 */
static void pcbg_syn_give(struct net *net, struct sk_buff *skb,
			  struct sock *sk)
{
	struct sock_reuseport *reuse;

	if (sk->sk_state != TCP_LISTEN || sk_is_refcounted(sk))
		return;
	if (sk->sk_reuseport) {
		reuse = rcu_dereference(sk->sk_reuseport_cb);
		if (!reuse || rcu_access_pointer(reuse->prog))
			return;
	}
	skb->sk = sk;
	skb->destructor = sock_pfree;
	PCBG_INC(pcbg_net_rcu(net), PRISON_GIVEN);
}

static unsigned int pcbg_prison_in(void *priv, struct sk_buff *skb,
				   const struct nf_hook_state *state)
{
	struct pcbg_tuple tp __pcbg_noinit;	/* the family's fields below */
	struct sock *sk = NULL;
	unsigned int thoff;
	struct pcbg_l4 l4;
	u8 protocol;

	if (skb->sk || skb->pkt_type != PACKET_HOST)
		return NF_ACCEPT;	/* steered, or to every socket */
	tp.family = state->pf;
	if (tp.family == AF_INET) {
		const struct iphdr *iph = ip_hdr(skb);

		if (ip_is_fragment(iph))
			return NF_ACCEPT;
		protocol = iph->protocol;
		thoff = skb_network_offset(skb) + ip_hdrlen(skb);
		tp.faddr4 = iph->saddr;
		tp.laddr4 = iph->daddr;
		tp.dif = inet_iif(skb);
		tp.sdif = inet_sdif(skb);
	} else {
		const struct ipv6hdr *ip6h = ipv6_hdr(skb);
		__be16 frag_off;
		int off;

		/*
		 * The whole extension header chain, as ip6_input_finish()
		 * walks it. Fragments are reassembled after this hook: the
		 * first one carries the transport header, and without it
		 * the others make no datagram.
		 */
		protocol = ip6h->nexthdr;
		off = ipv6_skip_exthdr(skb, skb_network_offset(skb) +
				       sizeof(*ip6h), &protocol, &frag_off);
		if (off < 0 || (frag_off & htons(~0x7)))
			return NF_ACCEPT;
		thoff = off;
		tp.faddr6 = ip6h->saddr;
		tp.laddr6 = ip6h->daddr;
		tp.dif = inet6_iif(skb);
		tp.sdif = inet6_sdif(skb);
	}
	if ((protocol != IPPROTO_TCP && protocol != IPPROTO_UDP) ||
	    !pcbg_l4_read(skb, thoff, protocol, &l4))
		return NF_ACCEPT;
	tp.fport = l4.sport;
	tp.lport = l4.dport;
	if (protocol == IPPROTO_TCP) {
		if ((l4.tcp_flags & (TCPHDR_SYN | TCPHDR_ACK)) != TCPHDR_SYN)
			return NF_ACCEPT;	/* a connection owns it */
		if (!pcbg_syn_port_jailed(state->net, tp.lport))
			return NF_ACCEPT;	/* no prisoner listens there */
		sk = pcbg_native_established(state->net, &tp);
		if (sk) {
			sock_gen_put(sk);
			return NF_ACCEPT;
		}
		sk = pcbg_native_listener(state->net, &tp);
	} else {
		if (!pcbg_udp_port_jailed(state->net, tp.lport)) {
			PCBG_INC(pcbg_net_rcu(state->net), PRISON_UDP_LEFT);
			return NF_ACCEPT;	/* no prisoner's wildcard there */
		}
		sk = pcbg_native_udp(state->net, &tp);
	}
	if (!sk || !sk_fullsock(sk))
		return NF_ACCEPT;
	/* The groups' own rule, on the kernel's pick. */
	if (pcbg_wild_excluded(sk, &tp)) {
		atomic_inc(&pcbg_net(state->net)->jails.dropped);
		return NF_DROP;
	}
	if (protocol == IPPROTO_TCP)
		pcbg_syn_give(state->net, skb, sk);
	return NF_ACCEPT;
}

static const struct nf_hook_ops pcbg_prison_nf_ops[] = {
	{
		.hook		= pcbg_prison_out,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_LOCAL_OUT,
		.priority	= NF_IP_PRI_LAST,
	},
	{
		.hook		= pcbg_prison_in,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_LOCAL_IN,
		.priority	= NF_IP_PRI_LAST,
	},
#if IS_ENABLED(CONFIG_IPV6)
	{
		.hook		= pcbg_prison_out,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_LOCAL_OUT,
		.priority	= NF_IP6_PRI_LAST,
	},
	{
		.hook		= pcbg_prison_in,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_LOCAL_IN,
		.priority	= NF_IP6_PRI_LAST,
	},
#endif
};

/* Under the namespace's prison mutex. */
int pcbg_prison_hooks_set(struct pcbg_net *pn, bool on)
{
	int err = 0;

	if (on == pn->jails.hooks)
		return 0;
	if (on)
		err = nf_register_net_hooks(pn->net, pcbg_prison_nf_ops,
					    ARRAY_SIZE(pcbg_prison_nf_ops));
	else
		nf_unregister_net_hooks(pn->net, pcbg_prison_nf_ops,
					ARRAY_SIZE(pcbg_prison_nf_ops));
	if (!err)
		pn->jails.hooks = on;
	return err;
}
