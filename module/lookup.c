// SPDX-License-Identifier: GPL-2.0
/*
 * The exact lookup (the connected socket of a 4-tuple, in the group of
 * its RSS bucket) and the answer policy, pcbg_answer(): FreeBSD's
 * in_pcblookup() order, exact first, then the wildcard sockets every
 * group shares (wild.c), each only where the stack would find the same.
 */
#include <linux/filter.h>
#include <net/inet_hashtables.h>
#include <net/inet6_hashtables.h>
#include <net/ipv6.h>
#include <net/tcp_states.h>

#include "pcbg_group.h"
#include "pcbg_native.h"

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
static bool pcbg_sk_live(const struct pcbg_table *t, const struct sock *sk)
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
				    const struct pcbg_tuple *tp)
{
	if (!pcbg_sk_live(t, sk) || !net_eq(sock_net(sk), t->net))
		return false;
	if (tp->family == AF_INET) {
		INET_ADDR_COOKIE(acookie, tp->faddr4, tp->laddr4);
		const __portpair ports = INET_COMBINED_PORTS(tp->fport,
							     ntohs(tp->lport));

		if (sk->sk_portpair != ports || sk->sk_addrpair != acookie)
			return false;
	} else {
#if IS_ENABLED(CONFIG_IPV6)
		if (sk->sk_portpair != INET_COMBINED_PORTS(tp->fport,
							   ntohs(tp->lport)) ||
		    sk->sk_family != AF_INET6 ||
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
 * The exact lookup, inlined into the answer policy (one call less on
 * every established packet) and behind pcbg_lookup_exact().
 */
static __always_inline struct sock *
__pcbg_lookup_exact(struct pcbg_table *t, const struct pcbg_rss *rss,
		    const struct pcbg_tuple *tp, u32 hash, enum pcbg_hit *hit)
{
	struct pcbg_group *g = &t->groups[pcbg_table_group(t, rss, hash)];
	u32 key = pcbg_tuple_key(t, tp);
	bool all = atomic_read(&t->dups);	/* look for a second match */
	struct sock *sk, *found;
	struct pcbg_htab *tab;
	struct pcbg_bucket *b;
	struct pcbg_entry *e;
	int i;

again:
	found = NULL;
	*hit = PCBG_MISS;
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
		if (!sk || !pcbg_exact_match(t, sk, tp))
			continue;
		if (found)
			goto twice;
		found = sk;
		if (!all)
			goto out;
	}
	pcbg_chain_each(e, &b->more, tab->nid) {
		if (e->key != key || !pcbg_exact_match(t, e->sk, tp))
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
	if (found)
		*hit = PCBG_HIT_EXACT;
	return found;
twice:
	*hit = PCBG_ASIDE;
	return NULL;
}

/**
 * pcbg_lookup_exact - the connected socket of a tuple, in its group
 * @t: the namespace's table for the protocol
 * @rss: the RSS configuration the hash was computed with
 * @tp: the packet's tuple
 * @hash: the packet's RSS hash (hardware or software Toeplitz)
 * @hit: PCBG_HIT_EXACT, PCBG_MISS, or PCBG_ASIDE when two sockets match
 *
 * Called under rcu_read_lock(); the socket is not referenced. A candidate
 * is checked once: the kernel's ehash lookup checks again after taking its
 * reference because its sockets are SLAB_TYPESAFE_BY_RCU and may be reused
 * meanwhile; ours are pinned by the entry's reference until a grace period
 * after removal, so they cannot be.
 */
struct sock *pcbg_lookup_exact(struct pcbg_table *t,
			       const struct pcbg_rss *rss,
			       const struct pcbg_tuple *tp, u32 hash,
			       enum pcbg_hit *hit)
{
	return __pcbg_lookup_exact(t, rss, tp, hash, hit);
}

/* A BPF sk_lookup program runs between the kernel's wildcard classes. */
static bool pcbg_sk_lookup_prog(const struct net *net)
{
#ifdef CONFIG_BPF_SYSCALL
	return static_branch_unlikely(&bpf_sk_lookup_enabled) &&
	       rcu_access_pointer(net->bpf.run_array[NETNS_BPF_SK_LOOKUP]);
#else
	return false;
#endif
}

/*
 * Whether a wildcard answer may be given, no connected socket of the
 * packet's group having matched: only if the exact lookup covered every
 * connected socket that could own the tuple.
 */
static enum pcbg_hit pcbg_wild_allowed(struct pcbg_table *t,
				       const struct pcbg_query *q)
{
	struct sock *conn;

	/* Established or request: the stack's; so is an unjailed SYN. */
	if (q->protocol == IPPROTO_TCP && (!q->syn || !pcbg_table_syn(t)))
		return PCBG_MISS;
	if (pcbg_sk_lookup_prog(t->net) || !pcbg_table_complete(t))
		return PCBG_ASIDE;
	if (q->protocol == IPPROTO_UDP) {
		if (!q->udp_reliable)
			return PCBG_ASIDE;
		/*
		 * The exact lookup covered every connected socket of the port
		 * only if its bucket is the one they were placed by.
		 */
		if (!q->placed_by && pcbg_port_has_exact(t, q->tp))
			return PCBG_ASIDE;
		return PCBG_HIT_WILD;
	}
	/* A request or TIME_WAIT socket, or any connection, owns the tuple. */
	conn = pcbg_native_established(t->net, q->tp);
	if (conn) {
		sock_gen_put(conn);
		return PCBG_MISS;
	}
	return PCBG_HIT_WILD;
}

/**
 * pcbg_answer - the answer policy: which socket the groups give a packet
 * @t: the namespace's table for the packet's protocol
 * @rss: the RSS configuration @q->hash was computed with
 * @q: the packet, where the stack would look, and the namespace's state
 * @hit: how the socket was found, or why none is given
 *
 * FreeBSD's in_pcblookup() order, the exact 4-tuple in the packet's group
 * and then (at delivery) the wildcard sockets every group shares, each
 * answered only where it cannot differ from the stack's own lookup:
 * PCBG_MISS leaves a packet that is not the groups' to answer to the
 * stack, PCBG_ASIDE one whose answer they cannot know. The one place that
 * decides; the hooks (steer.c), KUnit and the benchmark all call it.
 * Under rcu_read_lock(). A socket freed only after a grace period
 * (SOCK_RCU_FREE: listeners, UDP) comes without a reference, as the
 * kernel's own lookups return it and bpf_sk_assign() hands it over
 * (sock_pfree()): no atomic on a line that every CPU receiving for the
 * socket would share. Others (TCP connections) are referenced, as early
 * demux's are. Release one that is not handed over with pcbg_answer_put().
 */
struct sock *pcbg_answer(struct pcbg_table *t, const struct pcbg_rss *rss,
			 const struct pcbg_query *q, enum pcbg_hit *hit)
{
	const struct pcbg_tuple *tp = q->tp;
	struct sock *sk = NULL;

	*hit = PCBG_MISS;
	/*
	 * Delivery sees new connections and unconnected traffic mostly. A
	 * SYN skips the groups: the kernel's established lookup, which must
	 * run for it anyway (pcbg_wild_allowed()), finds any connection.
	 */
	if (q->stage == PCBG_DEMUX || (!q->syn && pcbg_port_has_exact(t, tp)))
		sk = __pcbg_lookup_exact(t, rss, tp, q->hash, hit);
	if (sk && q->protocol == IPPROTO_UDP &&
	    (!q->udp_reliable || !pcbg_udp_exact_certain(t, tp))) {
		sk = NULL;
		*hit = PCBG_ASIDE;
	}
	if (!sk && *hit == PCBG_MISS && q->stage == PCBG_DELIVER) {
		*hit = pcbg_wild_allowed(t, q);
		if (*hit == PCBG_HIT_WILD)
			sk = pcbg_lookup_wild(t, tp, hit);
	}
	if (sk && sk_is_refcounted(sk) &&
	    unlikely(!refcount_inc_not_zero(&sk->sk_refcnt))) {
		*hit = PCBG_MISS;
		return NULL;
	}
	return sk;
}
