// SPDX-License-Identifier: GPL-2.0
/*
 * The answer policy, pcbg_answer(), and the out-of-line entry to the exact
 * lookup (the connected socket of a 4-tuple in the group of its RSS
 * bucket, inline in pcbg_lookup.h): FreeBSD's
 * in_pcblookup() order, exact first, then the wildcard sockets every
 * group shares (wild.c), each only where the stack would find the same.
 */
#include <net/inet_hashtables.h>
#include <net/inet6_hashtables.h>
#include <net/ipv6.h>
#include <net/tcp_states.h>

#include "pcbg_lookup.h"
#include "pcbg_native.h"

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

/*
 * Whether a wildcard answer may be given, no connected socket of the
 * packet's group having matched: only if the exact lookup covered every
 * connected socket that could own the tuple.
 */
static enum pcbg_hit pcbg_wild_allowed(struct pcbg_table *t,
				       const struct pcbg_query *q)
{
	struct sock *conn;

	/*
	 * Established or request: the stack's; so is an unjailed SYN, and
	 * one to a port where no prisoner listens, which the kernel's
	 * lookup answers as the prisons' rule would.
	 */
	if (q->protocol == IPPROTO_TCP &&
	    (!q->syn || !pcbg_table_syn(t) || !pcbg_port_jailed(t, q->tp->lport)))
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
 * decides; the hooks (steer.c), KUnit and the benchmark all call it, or
 * for an established TCP segment at early demux, its inline case
 * pcbg_answer_connected() (pcbg_lookup.h).
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

	if (q->stage == PCBG_DEMUX && q->protocol == IPPROTO_TCP)
		return pcbg_answer_connected(t, rss, tp, q->hash, hit);
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
	return pcbg_answer_ref(sk, hit);
}
