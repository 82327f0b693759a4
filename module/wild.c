// SPDX-License-Identifier: GPL-2.0
/*
 * Wildcard answers: which listener or unconnected UDP socket gets a packet
 * that no connected socket takes, decided exactly as the kernel decides
 * it, or not at all.
 *
 * The kernel's lookups (__inet_lookup_listener(), inet6_lookup_listener(),
 * __udp4_lib_lookup(), __udp6_lib_lookup()) read two classes in turn: the
 * sockets bound to the packet's destination address, then those bound to
 * the wildcard address. Within a class each socket gets a compute_score()
 * and the chain is walked in its own order: the first socket with a higher
 * score than any before it wins, except that the first SO_REUSEPORT socket
 * to do so hands the packet to its group's choice (reuseport_select_sock())
 * at once. Chain order is the kernel's business, so an answer is given
 * here only when it does not depend on it:
 *
 *  - no reuseport socket matches: the single highest score (a tie is left
 *    to the stack);
 *  - every matching socket belongs to one reuseport group: the member the
 *    kernel's own selection picks. For TCP that is the kernel's function
 *    with the kernel's flow hash (inet_lookup_reuseport(), inet_ehashfn());
 *    UDP's flow hash is private to udp.c, so for UDP only a pick that no
 *    flow hash can change (one live member, or the one member whose
 *    SO_INCOMING_CPU is this CPU) is given;
 *  - anything else (a BPF selector, a group with connected members, a
 *    reuseport socket beside others) is left to the stack.
 *
 * The walk is inlined whole: a lookup makes no call until it has its
 * candidates.
 *
 * The scores below are the kernel's compute_score() functions of
 * net/ipv4/inet_hashtables.c, net/ipv6/inet6_hashtables.c,
 * net/ipv4/udp.c and net/ipv6/udp.c, line by line.
 */
#include <net/inet_hashtables.h>
#include <net/inet6_hashtables.h>
#include <net/ipv6.h>
#include <net/sock_reuseport.h>
#include <net/tcp_states.h>
#include <net/udp.h>

#include "pcbg_group.h"
#include "pcbg_prison.h"

/* No match; a UDP/IPv6 socket's score starts at 0, others at 1. */
#define PCBG_NO_SCORE	(-1)

static __always_inline
bool pcbg_port_is(const struct pcbg_table *t, const struct sock *sk, u16 hnum)
{
	if (t->protocol == IPPROTO_TCP)
		return sk->sk_num == hnum && sk->sk_state == TCP_LISTEN;
	return udp_sk(sk)->udp_port_hash == hnum;
}

/*
 * The kernel's classes: 0, bound to the packet's address; 1, bound to the
 * wildcard address; -1, neither. The kernel reads them in two lookups;
 * one walk here sorts every socket into its class.
 */
static __always_inline
int pcbg_class_of(const struct sock *sk, const struct pcbg_tuple *tp)
{
	if (tp->family == AF_INET) {
		if (sk->sk_rcv_saddr == tp->laddr4)
			return 0;
		return sk->sk_rcv_saddr ? -1 : 1;
	}
#if IS_ENABLED(CONFIG_IPV6)
	if (ipv6_addr_equal(&sk->sk_v6_rcv_saddr, &tp->laddr6))
		return 0;
	return ipv6_addr_any(&sk->sk_v6_rcv_saddr) ? 1 : -1;
#else
	return -1;
#endif
}

/* compute_score() of the IPv4 lookups, within the socket's class. */
static __always_inline
int pcbg_score4(const struct pcbg_table *t, struct sock *sk,
		const struct pcbg_tuple *tp)
{
	int bound = READ_ONCE(sk->sk_bound_dev_if);
	int score;

	if (!pcbg_port_is(t, sk, ntohs(tp->lport)) || ipv6_only_sock(sk) ||
	    !net_eq(sock_net(sk), t->net) || sk_unhashed(sk))
		return PCBG_NO_SCORE;
	if (t->protocol == IPPROTO_TCP) {
		score = bound ? 2 : 1;
		if (sk->sk_family == PF_INET)
			score++;
	} else {
		score = sk->sk_family == PF_INET ? 2 : 1;
		if (sk->sk_daddr) {
			if (sk->sk_daddr != tp->faddr4)
				return PCBG_NO_SCORE;
			score += 4;
		}
		if (sk->sk_dport) {
			if (sk->sk_dport != tp->fport)
				return PCBG_NO_SCORE;
			score += 4;
		}
		if (bound)
			score += 4;
	}
	if (!pcbg_dev_match(t, bound, tp))
		return PCBG_NO_SCORE;
	if (READ_ONCE(sk->sk_incoming_cpu) == raw_smp_processor_id())
		score++;
	return score;
}

#if IS_ENABLED(CONFIG_IPV6)
/* compute_score() of the IPv6 lookups, within the socket's class. */
static __always_inline
int pcbg_score6(const struct pcbg_table *t, struct sock *sk,
		const struct pcbg_tuple *tp)
{
	int bound = READ_ONCE(sk->sk_bound_dev_if);
	int score;

	if (!pcbg_port_is(t, sk, ntohs(tp->lport)) ||
	    sk->sk_family != PF_INET6 || !net_eq(sock_net(sk), t->net) ||
	    sk_unhashed(sk))
		return PCBG_NO_SCORE;
	if (t->protocol == IPPROTO_TCP) {
		score = bound ? 2 : 1;
	} else {
		score = 0;
		if (sk->sk_dport) {
			if (sk->sk_dport != tp->fport)
				return PCBG_NO_SCORE;
			score++;
		}
		if (!ipv6_addr_any(&sk->sk_v6_daddr)) {
			if (!ipv6_addr_equal(&sk->sk_v6_daddr, &tp->faddr6))
				return PCBG_NO_SCORE;
			score++;
		}
		if (bound)
			score++;
	}
	if (!pcbg_dev_match(t, bound, tp))
		return PCBG_NO_SCORE;
	if (READ_ONCE(sk->sk_incoming_cpu) == raw_smp_processor_id())
		score++;
	return score;
}
#endif

static __always_inline
int pcbg_score(const struct pcbg_table *t, struct sock *sk,
	       const struct pcbg_tuple *tp)
{
	if (tp->family == AF_INET)
		return pcbg_score4(t, sk, tp);
#if IS_ENABLED(CONFIG_IPV6)
	return pcbg_score6(t, sk, tp);
#else
	return PCBG_NO_SCORE;
#endif
}

/*
 * The reuseport group whose selection the kernel would return on meeting
 * @sk (the "returning" sockets of the file comment), or NULL.
 */
static struct sock_reuseport *pcbg_returning(const struct pcbg_table *t,
					     struct sock *sk)
{
	struct sock_reuseport *reuse;

	if (!sk->sk_reuseport)
		return NULL;
	if (t->protocol == IPPROTO_UDP && sk->sk_state == TCP_ESTABLISHED)
		return NULL;
	reuse = rcu_dereference(sk->sk_reuseport_cb);
	if (!reuse || !READ_ONCE(reuse->num_socks))
		return NULL;
	return reuse;
}

/*
 * reuseport_select_sock_by_hash() when its answer does not depend on the
 * hash: the only live member, or the only one whose SO_INCOMING_CPU is
 * this CPU. NULL when the hash would decide.
 */
static struct sock *pcbg_reuse_fixed(struct sock_reuseport *reuse)
{
	u16 n = READ_ONCE(reuse->num_socks), i;
	int cpu = raw_smp_processor_id(), nvalid = 0, nmine = 0;
	struct sock *valid = NULL, *mine = NULL;

	smp_rmb();	/* paired with smp_wmb() in __reuseport_add_sock() */
	for (i = 0; i < n; i++) {
		struct sock *s = READ_ONCE(reuse->socks[i]);

		if (!s || s->sk_state == TCP_ESTABLISHED)
			continue;
		nvalid++;
		valid = s;
		if (READ_ONCE(s->sk_incoming_cpu) == cpu) {
			nmine++;
			mine = s;
		}
	}
	if (nvalid == 1)
		return valid;
	if (READ_ONCE(reuse->incoming_cpu) && nmine == 1)
		return mine;
	return NULL;
}

/* The member the kernel picks from @sk's group, or NULL if unknowable. */
static struct sock *pcbg_reuse_pick(const struct pcbg_table *t,
				    struct sock *sk,
				    struct sock_reuseport *reuse,
				    const struct pcbg_tuple *tp, bool any)
{
	struct sock *pick;

	/* A BPF selector reads the packet, which is not at L4 here. */
	if (rcu_access_pointer(reuse->prog))
		return NULL;
	if (t->protocol == IPPROTO_UDP)
		return reuse->has_conns ? NULL : pcbg_reuse_fixed(reuse);
	if (tp->family == AF_INET)
		pick = inet_lookup_reuseport(t->net, sk, NULL, 0, tp->faddr4,
					     tp->fport, any ? 0 : tp->laddr4,
					     ntohs(tp->lport), inet_ehashfn);
#if IS_ENABLED(CONFIG_IPV6)
	else
		pick = inet6_lookup_reuseport(t->net, sk, NULL, 0,
					      &tp->faddr6, tp->fport,
					      any ? &in6addr_any : &tp->laddr6,
					      ntohs(tp->lport), inet6_ehashfn);
#endif
	return IS_ERR_OR_NULL(pick) ? NULL : pick;
}

/* What the walk over one class found. */
struct pcbg_class {
	struct sock *best;
	int score;
	bool tie;
	struct sock *rsk;		/* first returning socket met */
	struct sock_reuseport *reuse;	/* its group */
	bool other;			/* a match outside that group */
	int n;
};

static __always_inline
void pcbg_class_add(const struct pcbg_table *t, struct pcbg_class *c,
		    struct sock *sk, int score)
{
	struct sock_reuseport *reuse = sk->sk_reuseport ?
				       pcbg_returning(t, sk) : NULL;

	c->n++;
	if (reuse && !c->reuse) {
		c->reuse = reuse;
		c->rsk = sk;
	} else if (!reuse || reuse != c->reuse) {
		c->other = true;
	}
	if (!c->best || score > c->score) {
		c->best = sk;
		c->score = score;
		c->tie = false;
	} else if (score == c->score) {
		c->tie = true;
	}
}

/*
 * FreeBSD's jail rules in the wildcard lookup: a prisoner's wildcard
 * socket takes only packets to its prison's addresses (-1: skip it), and
 * a prisoner's socket wins at equal score (1).
 */
static int pcbg_wild_jail(struct sock *sk, const struct pcbg_tuple *tp,
			  int class)
{
	const struct pcbg_prison_addrs *pa;
	struct pcbg_prison *pr = pcbg_sk_prison(sk);
	int err;

	if (!pr)
		return 0;
	if (class != 1)
		return 1;	/* bound to one of its addresses */
	pa = pcbg_prison_addrs(pr);
	err = tp->family == AF_INET ? pcbg_prison_check4(pa, tp->laddr4) :
				      pcbg_prison_check6(pa, &tp->laddr6);
	return err ? -1 : 1;
}

/*
 * Whether a prison keeps the packet of @tp from @sk: a prisoner's wildcard
 * socket and a packet to another address (prison_nf.c, for the kernel's
 * own pick).
 */
bool pcbg_wild_excluded(struct sock *sk, const struct pcbg_tuple *tp)
{
	return pcbg_wild_jail(sk, tp, pcbg_class_of(sk, tp)) < 0;
}

static __always_inline
void pcbg_class_sk(struct pcbg_table *t, struct sock *sk,
		   const struct pcbg_tuple *tp, struct pcbg_class *c,
		   bool jailed)
{
	int class = pcbg_class_of(sk, tp), score;

	if (class < 0)
		return;
	score = pcbg_score(t, sk, tp);
	if (score <= PCBG_NO_SCORE)
		return;
	if (unlikely(jailed)) {
		int jail = pcbg_wild_jail(sk, tp, class);

		if (jail < 0)
			return;
		score = score * 2 + jail;
	}
	pcbg_class_add(t, &c[class], sk, score);
}

/* One walk sorts a bucket's wildcard sockets into the two classes. */
static __always_inline
void pcbg_class_walk(struct pcbg_table *t, const struct pcbg_wild_view *v,
		     struct pcbg_bucket *b, const struct pcbg_tuple *tp,
		     struct pcbg_class *c, bool jailed)
{
	struct pcbg_cursor cur __pcbg_noinit;
	struct sock *sk;

	pcbg_cursor_init(&cur, b, v->tab->nid, v->key_addr, v->key_any);
	while ((sk = pcbg_cursor_next(&cur)))
		pcbg_class_sk(t, sk, tp, c, jailed);
}

/**
 * pcbg_lookup_wild - the listener or unconnected socket the kernel picks
 * @t: the namespace's table for the protocol
 * @tp: the packet's tuple, with the stack's dif and sdif
 * @hit: PCBG_HIT_WILD, PCBG_HIT_BUCKET (a reuseport member), PCBG_MISS
 *       (the kernel would find none either) or PCBG_ASIDE
 *
 * The kernel's answer comes from the first class that has a socket. The
 * caller has made sure that no connected socket takes the packet and that
 * no BPF sk_lookup program is attached (it runs between the classes).
 * Called under rcu_read_lock(); the socket is not referenced.
 */
struct sock *pcbg_lookup_wild(struct pcbg_table *t,
			      const struct pcbg_tuple *tp, enum pcbg_hit *hit)
{
	struct pcbg_class c[2] __pcbg_noinit, *k;
	struct pcbg_wild_view v __pcbg_noinit;
	bool jailed = READ_ONCE(t->jailed);
	struct sock *sk;

	/*
	 * A listener that has no port yet may get the packet's: the kernel
	 * answers until pcbg_track_place_unbound() has placed it. No walk
	 * over such listeners: any user can make thousands.
	 */
	if (unlikely(!hlist_empty(&t->unbound))) {
		*hit = PCBG_ASIDE;
		return NULL;
	}
again:
	/* What pcbg_class_add() reads first (no memset: a string op in TCG). */
	for (k = c; k < c + 2; k++) {
		k->best = NULL;
		k->reuse = NULL;
		k->other = false;
		k->n = 0;
	}
	pcbg_wild_view(t, tp, &v);
	pcbg_class_walk(t, &v, v.addr, tp, c, jailed);
	if (v.any)
		pcbg_class_walk(t, &v, v.any, tp, c, jailed);
	k = c[0].n ? &c[0] : &c[1];
	if (!k->n) {
		if (pcbg_group_stale(&t->wild, v.tab))
			goto again;
		*hit = PCBG_MISS;
		return NULL;
	}
	if (k->reuse) {
		sk = k->other ? NULL :
		     pcbg_reuse_pick(t, k->rsk, k->reuse, tp, k == &c[1]);
		/* The group's pick knows no prison: one it excludes, not. */
		if (sk && jailed &&
		    pcbg_wild_jail(sk, tp, pcbg_class_of(sk, tp)) < 0)
			sk = NULL;
		*hit = sk ? PCBG_HIT_BUCKET : PCBG_ASIDE;
		return sk;
	}
	*hit = k->tie ? PCBG_ASIDE : PCBG_HIT_WILD;
	return k->tie ? NULL : k->best;
}

/**
 * pcbg_udp_exact_certain - a connected UDP socket is the kernel's answer
 * @t: the namespace's UDP table
 * @tp: the packet's tuple
 *
 * udp4_lib_lookup2() returns at once on the first reuseport socket that
 * outscores what came before it in its chain, unless that socket's group
 * has connected members: such a socket bound to the packet's address can
 * take the packet from the connected socket the groups found, depending on
 * chain order. The per-port count spares the walk when there is none.
 */
bool pcbg_udp_exact_certain(struct pcbg_table *t, const struct pcbg_tuple *tp)
{
	struct pcbg_wild_view v __pcbg_noinit;
	struct pcbg_cursor cur __pcbg_noinit;
	struct sock *sk;

	if (!atomic_read(&t->port_reuse[pcbg_port_slot(tp->lport)]))
		return true;
	/* Class 0 only: the sockets bound to the packet's address. */
again:
	pcbg_wild_view(t, tp, &v);
	pcbg_cursor_init(&cur, v.addr, v.tab->nid, v.key_addr, v.key_addr);
	while ((sk = pcbg_cursor_next(&cur))) {
		struct sock_reuseport *reuse;

		if (!sk->sk_reuseport || pcbg_class_of(sk, tp) ||
		    pcbg_score(t, sk, tp) <= PCBG_NO_SCORE)
			continue;
		reuse = pcbg_returning(t, sk);
		if (reuse && !reuse->has_conns)
			return false;
	}
	if (pcbg_group_stale(&t->wild, v.tab))
		goto again;
	return true;
}
