// SPDX-License-Identifier: GPL-2.0
/*
 * Raw-IP delivery rate: raw_local_deliver(), the function the stack calls
 * for every local IPv4 packet, timed over a GRE concentrator's sockets.
 *
 * Loaded inside a network namespace (ip netns exec NS insmod ...) whose
 * 198.18.0.1/15 is local, it makes @sockets raw GRE sockets, socket i
 * connected to peer 198.18.1.0 + i (even ones also bound to 198.18.0.1),
 * builds one GRE packet per peer, and hands them to raw_local_deliver()
 * round robin, @packets per measurement, in softirq context as the stack
 * does. Whatever delivers them (the kernel's walk, or pcbgroup's index if
 * it is loaded) clones each packet to its socket; the queues are emptied
 * between chunks, outside the timed part, and every packet must have
 * reached exactly its own socket. With @stray the packets come from
 * peers that have no socket: the lookup alone, nothing delivered. Prints "bench: raw ..." lines; the load
 * then fails with -EAGAIN so that nothing stays behind.
 */
#include <linux/if_ether.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <net/ip.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "pcbg_ksym.h"

static unsigned int sockets = 1000;
module_param(sockets, uint, 0444);
MODULE_PARM_DESC(sockets, "Raw GRE sockets, one peer each");
static unsigned int packets = 100000;
module_param(packets, uint, 0444);
MODULE_PARM_DESC(packets, "Packets per measurement");
static unsigned int reps = 3;
module_param(reps, uint, 0444);
MODULE_PARM_DESC(reps, "Measurements");
static bool stray;
module_param(stray, bool, 0444);
MODULE_PARM_DESC(stray, "Packets from peers without a socket: the lookup alone, nothing delivered");
static char *label = "";
module_param(label, charp, 0444);
MODULE_PARM_DESC(label, "Printed with the results (the path being measured)");

#define CHUNK		1000
#define LADDR		htonl(0xc6120001)	/* 198.18.0.1 */
#define PAYLOAD		64

static __be32 peer_of(unsigned int i)
{
	return htonl(0xc6120100 + i);		/* 198.18.1.0 + i */
}

static struct sk_buff *gre_packet(struct net *net, unsigned int i)
{
	struct net_device *dev = net->loopback_dev;
	struct sk_buff *skb;
	struct iphdr *iph;
	unsigned int len = sizeof(*iph) + 4 + PAYLOAD;

	skb = alloc_skb(LL_MAX_HEADER + len, GFP_KERNEL);
	if (!skb)
		return NULL;
	skb_reserve(skb, LL_MAX_HEADER);
	skb_reset_network_header(skb);
	iph = skb_put_zero(skb, len);
	iph->version = 4;
	iph->ihl = 5;
	iph->ttl = 64;
	iph->protocol = IPPROTO_GRE;
	iph->tot_len = htons(len);
	iph->saddr = peer_of(stray ? sockets + i : i);
	iph->daddr = LADDR;
	ip_send_check(iph);
	skb_set_transport_header(skb, sizeof(*iph));
	__skb_pull(skb, sizeof(*iph));	/* as ip_local_deliver_finish() */
	skb->dev = dev;
	skb->skb_iif = dev->ifindex;
	skb->protocol = htons(ETH_P_IP);
	skb->pkt_type = PACKET_HOST;
	return skb;
}

struct raw_bench {
	struct socket **socks;
	struct sk_buff **skbs;
	int (*deliver)(struct sk_buff *skb, int protocol);
};

static int bench_setup(struct raw_bench *b, struct net *net)
{
	unsigned int i;
	int err;

	for (i = 0; i < sockets; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET };

		err = sock_create_kern(net, AF_INET, SOCK_RAW, IPPROTO_GRE,
				       &b->socks[i]);
		if (err)
			return err;
		/* Room for every packet of a chunk: no drop to time. */
		WRITE_ONCE(b->socks[i]->sk->sk_rcvbuf, 64 << 20);
		if (!(i & 1)) {
			a.sin_addr.s_addr = LADDR;
			err = kernel_bind(b->socks[i], (struct sockaddr *)&a,
					  sizeof(a));
			if (err)
				return err;
		}
		a.sin_addr.s_addr = peer_of(i);
		err = kernel_connect(b->socks[i], (struct sockaddr *)&a,
				     sizeof(a), 0);
		if (err)
			return err;
		b->skbs[i] = gre_packet(net, i);
		if (!b->skbs[i])
			return -ENOMEM;
	}
	return 0;
}

/* Empty the queues; every socket must hold what was sent to its peer. */
static unsigned int bench_drain(struct raw_bench *b, unsigned long *wrong)
{
	unsigned int i, n = 0;
	struct sk_buff *skb;

	for (i = 0; i < sockets; i++) {
		struct sock *sk = b->socks[i]->sk;

		while ((skb = skb_dequeue(&sk->sk_receive_queue))) {
			if (ip_hdr(skb)->saddr != peer_of(i))
				(*wrong)++;
			kfree_skb(skb);
			n++;
		}
	}
	return n;
}

static void bench_run(struct raw_bench *b)
{
	unsigned int rep, k = 0;

	for (rep = 1; rep <= reps; rep++) {
		unsigned long wrong = 0, delivered = 0;
		unsigned int done = 0;
		u64 ns = 0;

		while (done < packets) {
			unsigned int c = min_t(unsigned int, CHUNK,
					       packets - done), j;
			u64 t0;

			local_bh_disable();
			t0 = ktime_get_ns();
			for (j = 0; j < c; j++) {
				b->deliver(b->skbs[k], IPPROTO_GRE);
				if (++k == sockets)
					k = 0;
			}
			ns += ktime_get_ns() - t0;
			local_bh_enable();
			delivered += bench_drain(b, &wrong);
			done += c;
			cond_resched();
		}
		pr_info("bench: raw path=%s sockets=%u stray=%d rep=%u packets=%u ns_per_packet=%llu delivered=%lu wrong=%lu\n",
			label, sockets, stray, rep, packets,
			div_u64(ns, packets), delivered, wrong);
	}
}

static int __init raw_bench_init(void)
{
	struct net *net = current->nsproxy->net_ns;
	pcbg_kallsyms_fn lookup;
	struct raw_bench b = {};
	unsigned int i;
	int err;

	if (!sockets || !packets)
		return -EINVAL;
	lookup = pcbg_kallsyms();
	if (!lookup)
		return -ENOENT;
	b.deliver = (void *)lookup("raw_local_deliver");
	if (!b.deliver)
		return -ENOENT;
	b.socks = kvcalloc(sockets, sizeof(*b.socks), GFP_KERNEL);
	b.skbs = kvcalloc(sockets, sizeof(*b.skbs), GFP_KERNEL);
	err = -ENOMEM;
	if (b.socks && b.skbs) {
		err = bench_setup(&b, net);
		if (!err)
			bench_run(&b);
	}
	if (err)
		pr_err("bench: raw setup failed: %d\n", err);
	for (i = 0; b.socks && i < sockets; i++)
		if (b.socks[i])
			sock_release(b.socks[i]);
	for (i = 0; b.skbs && i < sockets; i++)
		kfree_skb(b.skbs[i]);
	kvfree(b.socks);
	kvfree(b.skbs);
	return err ?: -EAGAIN;
}

module_init(raw_bench_init);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pcbgroup raw-IP delivery benchmark");
