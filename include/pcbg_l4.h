/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A packet's transport ports and TCP flags, as the packet hooks read them
 * (steer.c, prison_nf.c): skb_header_pointer(), which copies nothing and
 * calls nothing where the header is in the linear part, as it is for
 * almost every packet that reaches them.
 */
#ifndef _PCBG_L4_H
#define _PCBG_L4_H

#include <linux/skbuff.h>
#include <linux/tcp.h>

struct pcbg_l4 {
	__be16 sport, dport;
	u8 tcp_doff;	/* TCP data offset, in 32-bit words */
	u8 tcp_flags;	/* byte 13 of the TCP header */
};

/* False if the header is short, or a TCP header the stack drops unread. */
static inline bool pcbg_l4_read(struct sk_buff *skb, int off, int protocol,
				struct pcbg_l4 *l4)
{
	u8 buf[14];
	const u8 *p = skb_header_pointer(skb, off,
					 protocol == IPPROTO_TCP ? 14 : 4, buf);

	if (!p)
		return false;
	memcpy(&l4->sport, p, 2);
	memcpy(&l4->dport, p + 2, 2);
	l4->tcp_doff = protocol == IPPROTO_TCP ? p[12] >> 4 : 0;
	l4->tcp_flags = protocol == IPPROTO_TCP ? p[13] : 0;
	/* The stack drops these before any lookup (tcp_v4_rcv()). */
	return protocol != IPPROTO_TCP ||
	       l4->tcp_doff >= sizeof(struct tcphdr) / 4;
}

#endif /* _PCBG_L4_H */
