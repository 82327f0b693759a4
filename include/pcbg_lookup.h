/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The exact lookup: the connected socket of a 4-tuple, in the group of its
 * RSS bucket. Inline, because an established segment's answer is most
 * packets' path: early demux (steer.c) calls pcbg_answer_connected()
 * directly, and the answer policy (lookup.c) calls it for the same case.
 */
#ifndef _PCBG_LOOKUP_H
#define _PCBG_LOOKUP_H

#include <net/inet_hashtables.h>
#include <net/ipv6.h>
#include <net/tcp_states.h>

#include "pcbg_group.h"

/*
 * Still connected. The state is on the socket's first cache line, which
 * the tuple check reads anyway; whether it is hashed is on the second, so
 * that is read only where it tells something the state does not: a TCP
 * socket moving to TIME_WAIT leaves the kernel's table (for its timewait
 * socket) in FIN_WAIT or CLOSING, while this table still has it until
 * tcp_done(). An ESTABLISHED socket leaves the kernel's table only on its
 * way to CLOSE, under its lock, just before the tracepoint removes it from
 * this one: a packet steered to it then meets a closed socket and is
 * dropped, where the kernel would have answered with a reset, on a
 * connection that is going away. UDP sockets leave this table (kprobe on
 * udp_lib_unhash) before the kernel's; a UDP socket closed while that
 * probe missed keeps its state, so for UDP being hashed is checked too.
 */
static inline bool pcbg_sk_live(const struct pcbg_table *t, const struct sock *sk)
{
	int state = READ_ONCE(sk->sk_state);

	if (state == TCP_ESTABLISHED)
		return t->protocol == IPPROTO_TCP || !sk_unhashed(sk);
	if (t->protocol != IPPROTO_TCP || state == TCP_CLOSE ||
	    state == TCP_LISTEN)
		return false;
	return !sk_unhashed(sk);
}

/*
 * The socket is connected and matches the tuple exactly (inet_match()).
 * Inlined: it runs once per hit, and a call costs as much as its test.
 */
static __always_inline bool pcbg_exact_match(struct pcbg_table *t, struct sock *sk,
				    const struct pcbg_tuple *tp,
				    __portpair ports, __addrpair acookie)
{
	if (sk->sk_portpair != ports || !pcbg_sk_live(t, sk) ||
	    !net_eq(sock_net(sk), t->net))
		return false;
	if (tp->family == AF_INET) {
		if (sk->sk_addrpair != acookie)
			return false;
	} else {
#if IS_ENABLED(CONFIG_IPV6)
		if (sk->sk_family != AF_INET6 ||
		    !ipv6_addr_equal(&sk->sk_v6_daddr, &tp->faddr6) ||
		    !ipv6_addr_equal(&sk->sk_v6_rcv_saddr, &tp->laddr6))
			return false;
#else
		return false;
#endif
	}
	return pcbg_dev_match(t, READ_ONCE(sk->sk_bound_dev_if), tp);
}

/*
 * The exact lookup, inlined into pcbg_answer_connected() (early demux),
 * the answer policy, and pcbg_lookup_exact().
 */
static __always_inline struct sock *
__pcbg_lookup_exact(struct pcbg_table *t, const struct pcbg_rss *rss,
		    const struct pcbg_tuple *tp, u32 hash, enum pcbg_hit *hit)
{
	struct pcbg_group *g = &t->groups[pcbg_table_group(t, rss, hash)];
	u32 key = pcbg_tuple_key(t, tp);
	bool all = atomic_read(&t->dups);	/* look for a second match */
	/* Read once: the kernel builds with -fno-strict-aliasing. */
	const __portpair ports = INET_COMBINED_PORTS(tp->fport,
						     ntohs(tp->lport));
	INET_ADDR_COOKIE(acookie, tp->faddr4, tp->laddr4);
	struct sock *sk, *found;
	struct pcbg_htab *tab;
	struct pcbg_bucket *b;
	struct pcbg_entry *e;
	int i;

again:
	found = NULL;
	tab = rcu_dereference(g->tab);
	b = &tab->b[key & tab->mask];
	/*
	 * Every slot's key, without the used bits: a hit is mostly in the
	 * first, and a freed slot's socket is NULL.
	 */
	for (i = 0; i < PCBG_SLOTS; i++) {
		if (READ_ONCE(b->key[i]) != key)
			continue;
		sk = rcu_dereference(b->sk[i]);
		if (!sk || !pcbg_exact_match(t, sk, tp, ports, acookie))
			continue;
		if (found)
			goto twice;
		found = sk;
		if (!all)
			goto out;
	}
	pcbg_chain_each(e, &b->more, tab->nid) {
		if (e->key != key || !pcbg_exact_match(t, e->sk, tp, ports,
						      acookie))
			continue;
		if (found)
			goto twice;
		found = e->sk;
		if (!all)
			goto out;
	}
	if (!found && pcbg_group_stale(g, tab))
		goto again;
out:
	*hit = found ? PCBG_HIT_EXACT : PCBG_MISS;
	return found;
twice:
	*hit = PCBG_ASIDE;
	return NULL;
}

/* An answer's reference, if it needs one (see pcbg_answer()). */
static __always_inline struct sock *pcbg_answer_ref(struct sock *sk,
						   enum pcbg_hit *hit)
{
	if (sk && sk_is_refcounted(sk) &&
	    unlikely(!refcount_inc_not_zero(&sk->sk_refcnt))) {
		*hit = PCBG_MISS;
		return NULL;
	}
	return sk;
}

/**
 * pcbg_answer_connected - the answer to an established TCP segment
 * @t: the namespace's TCP table
 * @rss: the RSS configuration @hash was computed with
 * @tp: the segment's tuple
 * @hash: its RSS hash, or at least its bucket bits
 * @hit: PCBG_HIT_EXACT, PCBG_MISS, or PCBG_ASIDE
 *
 * pcbg_answer()'s policy for PCBG_DEMUX and TCP: the connection alone, as
 * early demux answers, referenced unless it is freed only after a grace
 * period (see pcbg_answer()). Under rcu_read_lock().
 */
static __always_inline struct sock *
pcbg_answer_connected(struct pcbg_table *t, const struct pcbg_rss *rss,
		      const struct pcbg_tuple *tp, u32 hash, enum pcbg_hit *hit)
{
	return pcbg_answer_ref(__pcbg_lookup_exact(t, rss, tp, hash, hit), hit);
}

#endif /* _PCBG_LOOKUP_H */
