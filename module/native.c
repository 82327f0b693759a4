// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's own lookups in its reservation table, for a pcbgroup
 * tuple: what the stack itself would find. Used by verify mode (verify.c),
 * by the answer policy for a SYN (lookup.c: a request or TIME_WAIT socket
 * owns the tuple) and by the prison hooks (prison_nf.c).
 */
#include <net/inet_hashtables.h>
#include <net/inet6_hashtables.h>
#include <net/tcp.h>
#include <net/udp.h>

#include "pcbg_native.h"

/* __inet_lookup_established() for the tuple; returns a reference. */
struct sock *pcbg_native_established(struct net *net,
				     const struct pcbg_tuple *tp)
{
	struct inet_hashinfo *h = net->ipv4.tcp_death_row.hashinfo;

	if (tp->family == AF_INET)
		return __inet_lookup_established(net, h, tp->faddr4, tp->fport,
						 tp->laddr4, ntohs(tp->lport),
						 tp->dif, tp->sdif);
#if IS_ENABLED(CONFIG_IPV6)
	return __inet6_lookup_established(net, h, &tp->faddr6, tp->fport,
					  &tp->laddr6, ntohs(tp->lport),
					  tp->dif, tp->sdif);
#else
	return NULL;
#endif
}

/* The listener the stack would pick, under RCU, without a reference. */
struct sock *pcbg_native_listener(struct net *net,
				  const struct pcbg_tuple *tp)
{
	struct inet_hashinfo *h = net->ipv4.tcp_death_row.hashinfo;

	if (tp->family == AF_INET)
		return __inet_lookup_listener(net, h, NULL, 0, tp->faddr4,
					      tp->fport, tp->laddr4,
					      ntohs(tp->lport), tp->dif,
					      tp->sdif);
#if IS_ENABLED(CONFIG_IPV6)
	return inet6_lookup_listener(net, h, NULL, 0, &tp->faddr6, tp->fport,
				     &tp->laddr6, ntohs(tp->lport), tp->dif,
				     tp->sdif);
#else
	return NULL;
#endif
}

struct sock *pcbg_native_udp(struct net *net, const struct pcbg_tuple *tp)
{
	if (tp->family == AF_INET)
		return __udp4_lib_lookup(net, tp->faddr4, tp->fport, tp->laddr4,
					 tp->lport, tp->dif, tp->sdif,
					 &udp_table, NULL);
#if IS_ENABLED(CONFIG_IPV6)
	return __udp6_lib_lookup(net, &tp->faddr6, tp->fport, &tp->laddr6,
				 tp->lport, tp->dif, tp->sdif, &udp_table,
				 NULL);
#else
	return NULL;
#endif
}
