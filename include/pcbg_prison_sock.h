/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the call wrappers of a prisoner's socket (prison_sock.c) share with
 * its connect() and sendmsg() address rules (prison_send.c).
 */
#ifndef _PCBG_PRISON_SOCK_H
#define _PCBG_PRISON_SOCK_H

#include <linux/net.h>
#include <net/sock.h>

#include "pcbg_prison.h"

static inline struct pcbg_pops *pcbg_pops_of(const struct socket *sock)
{
	return container_of(sock->ops, struct pcbg_pops, ops);
}

/*
 * A destination: loopback rewritten (prison_remote_ip4/6), and the source
 * it will be reached from, if the socket has none yet. @set_src: connect()
 * keeps it in the socket; sendmsg() asks for it per datagram.
 */
struct pcbg_dst {
	int family;		/* of the source: AF_INET for v4-mapped */
	bool need_src;
	__be32 src4;
	struct in6_addr src6;
};

static inline bool pcbg_is_tcp(const struct sock *sk)
{
	return sk->sk_type == SOCK_STREAM && sk->sk_protocol == IPPROTO_TCP;
}

/* prison_send.c: a connect()'s and a sendmsg()'s addresses */
__be32 pcbg_src4(const struct pcbg_prison_addrs *pa, struct sock *sk,
		 __be32 daddr);
struct in6_addr pcbg_src6(const struct pcbg_prison_addrs *pa,
			  struct sock *sk, const struct in6_addr *daddr);
int pcbg_set_src4(struct sock *sk, __be32 src);
int pcbg_set_src6(struct sock *sk, const struct in6_addr *src);
int pcbg_dst_prep(struct pcbg_prison *pr, struct sock *sk,
		  struct sockaddr *sa, int len, struct pcbg_dst *d);
int pcbg_connect_prep(struct pcbg_pops *p, struct sock *sk,
		      struct sockaddr_storage *ss, int len);
int pcbg_p_sendmsg(struct socket *sock, struct msghdr *msg, size_t len);

#endif /* _PCBG_PRISON_SOCK_H */
