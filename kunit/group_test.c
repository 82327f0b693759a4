// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: connection groups. Group selection from a hash, insert/remove,
 * wildcard membership in every group, and FreeBSD's lookup precedence
 * (exact, then the kernel's classes: local address, wildcard, v4-mapped).
 * The sockets are real kernel sockets whose tuple and state the test sets
 * by hand; they are never in the kernel's own tables.
 */
#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/inet.h>
#include <linux/kthread.h>
#include <linux/net.h>
#include <net/ipv6.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/tcp_states.h>

#include "pcbg_group.h"

extern atomic_t pcbg_resizes_seen;	/* core.c */

#define NGROUPS 4

struct group_ctx {
	struct pcbg_table *t;
	struct pcbg_table *one;	/* one group of one bucket, for overflow */
	struct pcbg_rss *rss;
	struct socket *socks[8];
	int nsocks;
};

static int group_test_init(struct kunit *test)
{
	struct group_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->rss = kunit_kzalloc(test, sizeof(*ctx->rss), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx->rss);
	pcbg_rss_init_config(ctx->rss, 2);
	/* Buckets 0 and 1 on CPU 0, buckets 2 and 3 on CPU 1. */
	ctx->rss->cpu[0] = 0;
	ctx->rss->cpu[1] = 0;
	ctx->rss->cpu[2] = nr_cpu_ids > 1 ? 1 : 0;
	ctx->rss->cpu[3] = nr_cpu_ids > 1 ? 1 : 0;
	rcu_assign_pointer(pcbg_rss_live, ctx->rss);
	ctx->t = pcbg_table_alloc(&init_net, IPPROTO_TCP, NGROUPS, 16, 16);
	KUNIT_ASSERT_NOT_NULL(test, ctx->t);
	/*
	 * The wildcard answers, as a namespace with prisons gives them on a
	 * port where a prisoner may listen (here: every port, as while the
	 * count of prisoners' listeners cannot tell).
	 */
	ctx->t->syn = true;
	atomic_set(&ctx->t->jail_unknown, 1);
	test->priv = ctx;
	return 0;
}

static void group_test_exit(struct kunit *test)
{
	struct group_ctx *ctx = test->priv;
	int i;

	pcbg_table_free(ctx->t);
	if (ctx->one)
		pcbg_table_free(ctx->one);
	rcu_barrier();		/* entry references dropped */
	for (i = 0; i < ctx->nsocks; i++) {
		struct sock *sk = ctx->socks[i]->sk;

		/* Back to an unhashed, closed socket before release. */
		sk->sk_node.pprev = NULL;
		sk->sk_state = TCP_CLOSE;
		sk->sk_num = 0;		/* never bound: no bind bucket */
		sock_release(ctx->socks[i]);
	}
	RCU_INIT_POINTER(pcbg_rss_live, NULL);
}

static struct sock *new_sock(struct kunit *test, int family, int state)
{
	struct group_ctx *ctx = test->priv;
	struct socket *sock;
	struct sock *sk;

	KUNIT_ASSERT_LT(test, ctx->nsocks, (int)ARRAY_SIZE(ctx->socks));
	KUNIT_ASSERT_EQ(test, 0, sock_create_kern(&init_net, family,
						  SOCK_STREAM, IPPROTO_TCP,
						  &sock));
	ctx->socks[ctx->nsocks++] = sock;
	sk = sock->sk;
	sk->sk_state = state;
	/* Looks hashed to the lookup's liveness check. */
	sk->sk_node.pprev = (struct hlist_node **)&sk->sk_node;
	return sk;
}

static __be32 ip4(const char *s)
{
	__be32 a = 0;

	in4_pton(s, -1, (u8 *)&a, -1, NULL);
	return a;
}

static struct sock *v4_sock(struct kunit *test, int state, const char *laddr,
			    u16 lport, const char *faddr, u16 fport)
{
	struct sock *sk = new_sock(test, AF_INET, state);

	sk->sk_rcv_saddr = ip4(laddr);
	sk->sk_num = lport;
	sk->sk_daddr = faddr ? ip4(faddr) : 0;
	sk->sk_dport = htons(fport);
	return sk;
}

static struct sock *v6_any_listener(struct kunit *test, u16 lport, bool v6only)
{
	struct sock *sk = new_sock(test, AF_INET6, TCP_LISTEN);

	sk->sk_v6_rcv_saddr = in6addr_any;
	sk->sk_rcv_saddr = 0;
	sk->sk_num = lport;
	sk->sk_ipv6only = v6only;
	return sk;
}

/* The packet of test vector 2: 199.92.111.2:14230 -> 65.69.140.83:4739. */
static void vector2(struct pcbg_tuple *tp)
{
	memset(tp, 0, sizeof(*tp));
	tp->family = AF_INET;
	tp->faddr4 = ip4("199.92.111.2");
	tp->laddr4 = ip4("65.69.140.83");
	tp->fport = htons(14230);
	tp->lport = htons(4739);
	tp->dif = 1;
}

/*
 * How a test asks, as the hooks do (pcbg_answer()): as early demux, the
 * exact lookup alone; as the delivery of a SYN (or a datagram): the
 * wildcard sockets (a datagram: exact first; a SYN's connection, if any,
 * is the kernel's established lookup's); or as the delivery of another
 * segment: the exact lookup alone.
 */
#define AS_DEMUX	0
#define AS_SYN		1
#define AS_DELIVER	2

static struct pcbg_query query(const struct pcbg_table *t,
			       const struct pcbg_tuple *tp, u32 hash, int as)
{
	return (struct pcbg_query){
		.tp = tp,
		.hash = hash,
		.protocol = t->protocol,
		.stage = as == AS_DEMUX ? PCBG_DEMUX : PCBG_DELIVER,
		.syn = as == AS_SYN && t->protocol == IPPROTO_TCP,
		/* Every socket tracked; hashed as the sockets were placed. */
		.udp_reliable = true,
		.placed_by = true,
	};
}

/* The answer, its reference (if any) dropped: the test holds its sockets. */
static struct sock *lookup_in(struct kunit *test, struct pcbg_table *t,
			      const struct pcbg_tuple *tp, u32 hash,
			      int as, enum pcbg_hit *hit)
{
	struct group_ctx *ctx = test->priv;
	struct pcbg_query q = query(t, tp, hash, as);
	struct sock *sk;

	rcu_read_lock();
	sk = pcbg_answer(t, ctx->rss, &q, hit);
	rcu_read_unlock();
	if (sk)
		pcbg_answer_put(sk);
	return sk;
}

static struct sock *lookup(struct kunit *test, const struct pcbg_tuple *tp,
			   u32 hash, int as, enum pcbg_hit *hit)
{
	return lookup_in(test, ((struct group_ctx *)test->priv)->t, tp, hash,
			 as, hit);
}

static void group_selection(struct kunit *test)
{
	struct group_ctx *ctx = test->priv;
	struct pcbg_tuple tp;
	struct sock *sk;

	vector2(&tp);
	/* Toeplitz 4-tuple hash 0xc626b0ea: bucket 2 of 4. */
	KUNIT_EXPECT_EQ(test, 0xc626b0eaU, pcbg_tuple_rss_hash(ctx->rss, &tp));
	KUNIT_EXPECT_EQ(test, 2U, pcbg_table_group(ctx->t, ctx->rss, 0xc626b0ea));
	KUNIT_EXPECT_EQ(test, 3U, pcbg_table_group(ctx->t, ctx->rss, 0xffffffff));
	sk = v4_sock(test, TCP_ESTABLISHED, "65.69.140.83", 4739,
		     "199.92.111.2", 14230);
	KUNIT_EXPECT_EQ(test, 2U, pcbg_sk_group(ctx->t, ctx->rss, sk));
	KUNIT_ASSERT_EQ(test, 0, pcbg_table_set(ctx->t, sk, PCBG_EXACT));
	KUNIT_EXPECT_EQ(test, 1U, ctx->t->groups[2].count);
	KUNIT_EXPECT_EQ(test, 0U, ctx->t->groups[0].count);
	KUNIT_EXPECT_EQ(test, 0U, ctx->t->groups[1].count);
	KUNIT_EXPECT_EQ(test, 0U, ctx->t->groups[3].count);
}

static void group_insert_remove(struct kunit *test)
{
	struct group_ctx *ctx = test->priv;
	struct pcbg_query q;
	struct pcbg_tuple tp;
	enum pcbg_hit hit;
	unsigned int refs;
	struct sock *sk;

	vector2(&tp);
	sk = v4_sock(test, TCP_ESTABLISHED, "65.69.140.83", 4739,
		     "199.92.111.2", 14230);
	KUNIT_EXPECT_PTR_EQ(test, NULL, lookup(test, &tp, 0xc626b0ea, 0, &hit));
	KUNIT_EXPECT_EQ(test, PCBG_MISS, hit);
	KUNIT_ASSERT_EQ(test, 0, pcbg_table_set(ctx->t, sk, PCBG_EXACT));
	/* Idempotent: the trackers may report a state twice. */
	KUNIT_ASSERT_EQ(test, 0, pcbg_table_set(ctx->t, sk, PCBG_EXACT));
	KUNIT_EXPECT_EQ(test, 1, pcbg_table_members(ctx->t, PCBG_EXACT));
	KUNIT_EXPECT_EQ(test, PCBG_EXACT, pcbg_table_kind(ctx->t, sk));
	KUNIT_EXPECT_PTR_EQ(test, sk, lookup(test, &tp, 0xc626b0ea, 0, &hit));
	KUNIT_EXPECT_EQ(test, PCBG_HIT_EXACT, hit);
	/* The wrong group does not have it. */
	KUNIT_EXPECT_PTR_EQ(test, NULL, lookup(test, &tp, 0xc626b0e8, 0, &hit));
	/* Another foreign port does not match. */
	tp.fport = htons(14231);
	KUNIT_EXPECT_PTR_EQ(test, NULL, lookup(test, &tp, 0xc626b0ea, 0, &hit));
	tp.fport = htons(14230);
	/* A TCP connection's answer is referenced: the packet holds it. */
	q = query(ctx->t, &tp, 0xc626b0ea, AS_DEMUX);
	refs = refcount_read(&sk->sk_refcnt);
	rcu_read_lock();
	KUNIT_EXPECT_PTR_EQ(test, sk, pcbg_answer(ctx->t, ctx->rss, &q, &hit));
	rcu_read_unlock();
	KUNIT_EXPECT_EQ(test, refs + 1, refcount_read(&sk->sk_refcnt));
	sock_put(sk);
	/*
	 * One freed after a grace period (a listener's, UDP's SOCK_RCU_FREE)
	 * is not: handed over as a prefetched socket, no atomic per packet.
	 */
	sock_set_flag(sk, SOCK_RCU_FREE);
	rcu_read_lock();
	KUNIT_EXPECT_PTR_EQ(test, sk, pcbg_answer(ctx->t, ctx->rss, &q, &hit));
	rcu_read_unlock();
	KUNIT_EXPECT_EQ(test, refs, refcount_read(&sk->sk_refcnt));
	sock_reset_flag(sk, SOCK_RCU_FREE);
	/* A closed socket is not answered even before it is removed. */
	sk->sk_state = TCP_CLOSE;
	KUNIT_EXPECT_PTR_EQ(test, NULL, lookup(test, &tp, 0xc626b0ea, 0, &hit));
	sk->sk_state = TCP_ESTABLISHED;
	KUNIT_ASSERT_EQ(test, 0, pcbg_table_set(ctx->t, sk, PCBG_NONE));
	KUNIT_EXPECT_EQ(test, 0, pcbg_table_members(ctx->t, PCBG_EXACT));
	KUNIT_EXPECT_EQ(test, PCBG_NONE, pcbg_table_kind(ctx->t, sk));
	KUNIT_EXPECT_PTR_EQ(test, NULL, lookup(test, &tp, 0xc626b0ea, 0, &hit));
	KUNIT_EXPECT_EQ(test, 0U, ctx->t->groups[2].count);
}

static void group_wildcard_in_every_group(struct kunit *test)
{
	struct group_ctx *ctx = test->priv;
	struct pcbg_tuple tp;
	enum pcbg_hit hit;
	struct sock *ls;
	u32 b;

	vector2(&tp);
	ls = v4_sock(test, TCP_LISTEN, "0.0.0.0", 4739, NULL, 0);
	KUNIT_ASSERT_EQ(test, 0, pcbg_table_set(ctx->t, ls, PCBG_WILD));
	for (b = 0; b < NGROUPS; b++) {
		KUNIT_EXPECT_PTR_EQ(test, ls,
				    lookup(test, &tp, b, AS_SYN,
					   &hit));
		KUNIT_EXPECT_EQ(test, PCBG_HIT_WILD, hit);
		/* Without WILDCARD only exact matches are answered. */
		KUNIT_EXPECT_PTR_EQ(test, NULL, lookup(test, &tp, b, 0, &hit));
	}
	/* Another port is another socket's business. */
	tp.lport = htons(4740);
	KUNIT_EXPECT_PTR_EQ(test, NULL,
			    lookup(test, &tp, 0, AS_SYN, &hit));
	/* Without prisons a SYN is the kernel's listener lookup's. */
	tp.lport = htons(4739);
	ctx->t->syn = false;
	KUNIT_EXPECT_PTR_EQ(test, NULL, lookup(test, &tp, 0, AS_SYN, &hit));
	KUNIT_EXPECT_EQ(test, PCBG_MISS, hit);
}

/*
 * In a namespace with prisons, a SYN is the groups' only on a port where a
 * prisoner's listener may be: counted there, or while the count cannot
 * tell (a recount, a listener without a port, a socket missing from the
 * table). Elsewhere no prison's rule can change the kernel's pick.
 */
static void group_syn_ports(struct kunit *test)
{
	struct group_ctx *ctx = test->priv;
	struct pcbg_table *t = ctx->t;
	atomic_t *port = &t->port_jail[pcbg_port_slot(htons(4739))];
	struct pcbg_tuple tp;
	enum pcbg_hit hit;
	struct sock *ls;

	vector2(&tp);
	ls = v4_sock(test, TCP_LISTEN, "0.0.0.0", 4739, NULL, 0);
	KUNIT_ASSERT_EQ(test, 0, pcbg_table_set(t, ls, PCBG_WILD));
	/* Nobody's prisoner here (no prison in a KUnit table): no count. */
	KUNIT_EXPECT_EQ(test, 0, atomic_read(port));
	atomic_set(&t->jail_unknown, 0);
	KUNIT_EXPECT_PTR_EQ(test, NULL, lookup(test, &tp, 0, AS_SYN, &hit));
	KUNIT_EXPECT_EQ(test, PCBG_MISS, hit);
	atomic_inc(port);		/* a prisoner listens on the port */
	KUNIT_EXPECT_PTR_EQ(test, ls, lookup(test, &tp, 0, AS_SYN, &hit));
	KUNIT_EXPECT_EQ(test, PCBG_HIT_WILD, hit);
	/* Another port's count is not this one's. */
	tp.lport = htons(4740);
	KUNIT_EXPECT_PTR_EQ(test, NULL, lookup(test, &tp, 0, AS_SYN, &hit));
	KUNIT_EXPECT_EQ(test, PCBG_MISS, hit);
	tp.lport = htons(4739);
	atomic_dec(port);
	/* A recount finds the listener no prisoner's: still no count. */
	pcbg_table_jail_recount(t);
	KUNIT_EXPECT_EQ(test, 0, atomic_read(port));
	/* An insert that failed: the count may miss a prisoner. */
	atomic_inc(&t->fail_gen);
	KUNIT_EXPECT_TRUE(test, pcbg_port_jailed(t, htons(4739)));
	atomic_dec(&t->fail_gen);
	atomic_set(&t->jail_unknown, 1);
	KUNIT_EXPECT_PTR_EQ(test, ls, lookup(test, &tp, 0, AS_SYN, &hit));
	KUNIT_EXPECT_EQ(test, PCBG_HIT_WILD, hit);
	pcbg_table_set(t, ls, PCBG_NONE);
}

/*
 * The exact 4-tuple first, then the kernel's classes: the listener on the
 * local address, then the IPv4 wildcard before the dual-stack IPv6 one
 * (wild_test.c checks these against the kernel's lookups on real sockets).
 */
static void group_precedence(struct kunit *test)
{
	struct group_ctx *ctx = test->priv;
	struct sock *exact, *local, *wild, *mapped, *v6only;
	struct pcbg_tuple tp;
	enum pcbg_hit hit;
	const int f = AS_SYN;

	vector2(&tp);
	v6only = v6_any_listener(test, 4739, true);
	mapped = v6_any_listener(test, 4739, false);
	wild = v4_sock(test, TCP_LISTEN, "0.0.0.0", 4739, NULL, 0);
	local = v4_sock(test, TCP_LISTEN, "65.69.140.83", 4739, NULL, 0);
	exact = v4_sock(test, TCP_ESTABLISHED, "65.69.140.83", 4739,
			"199.92.111.2", 14230);
	KUNIT_ASSERT_EQ(test, 0, pcbg_table_set(ctx->t, v6only, PCBG_WILD));
	KUNIT_ASSERT_EQ(test, 0, pcbg_table_set(ctx->t, mapped, PCBG_WILD));
	KUNIT_ASSERT_EQ(test, 0, pcbg_table_set(ctx->t, wild, PCBG_WILD));
	KUNIT_ASSERT_EQ(test, 0, pcbg_table_set(ctx->t, local, PCBG_WILD));
	KUNIT_ASSERT_EQ(test, 0, pcbg_table_set(ctx->t, exact, PCBG_EXACT));
	KUNIT_EXPECT_EQ(test, 4, pcbg_table_members(ctx->t, PCBG_WILD));

	/*
	 * 1. The exact 4-tuple beats every wildcard: a segment of the
	 * connection gets it, a SYN is not looked up in the groups (the
	 * kernel's established lookup finds the connection).
	 */
	KUNIT_EXPECT_PTR_EQ(test, exact, lookup(test, &tp, 0xc626b0ea,
						AS_DELIVER, &hit));
	KUNIT_EXPECT_EQ(test, PCBG_HIT_EXACT, hit);
	pcbg_table_set(ctx->t, exact, PCBG_NONE);
	/* 2. The listener on the exact local address, in every group. */
	KUNIT_EXPECT_PTR_EQ(test, local, lookup(test, &tp, 0, f, &hit));
	KUNIT_EXPECT_EQ(test, PCBG_HIT_WILD, hit);
	KUNIT_EXPECT_PTR_EQ(test, local, lookup(test, &tp, 3, f, &hit));
	pcbg_table_set(ctx->t, local, PCBG_NONE);
	/* 3. The IPv4 wildcard before the IPv6 one. */
	KUNIT_EXPECT_PTR_EQ(test, wild, lookup(test, &tp, 2, f, &hit));
	pcbg_table_set(ctx->t, wild, PCBG_NONE);
	/* 4. Last, the IPv6 wildcard that accepts v4-mapped traffic. */
	KUNIT_EXPECT_PTR_EQ(test, mapped, lookup(test, &tp, 2, f, &hit));
	/* Two IPv6 wildcards tie for IPv6 traffic: chain order would decide. */
	tp.family = AF_INET6;
	in6_pton("2001:db8::1", -1, tp.laddr6.s6_addr, -1, NULL);
	in6_pton("2001:db8::2", -1, tp.faddr6.s6_addr, -1, NULL);
	KUNIT_EXPECT_PTR_EQ(test, NULL, lookup(test, &tp, 2, f, &hit));
	KUNIT_EXPECT_EQ(test, PCBG_ASIDE, hit);
	pcbg_table_set(ctx->t, mapped, PCBG_NONE);
	KUNIT_EXPECT_PTR_EQ(test, v6only, lookup(test, &tp, 2, f, &hit));
	/* An IPV6_V6ONLY socket never answers IPv4. */
	vector2(&tp);
	KUNIT_EXPECT_PTR_EQ(test, NULL, lookup(test, &tp, 2, f, &hit));
	KUNIT_EXPECT_EQ(test, PCBG_MISS, hit);
}

/* A socket bound to another device does not answer this one. */
static void group_bound_device(struct kunit *test)
{
	struct group_ctx *ctx = test->priv;
	struct pcbg_tuple tp;
	enum pcbg_hit hit;
	struct sock *ls;

	vector2(&tp);
	ls = v4_sock(test, TCP_LISTEN, "0.0.0.0", 4739, NULL, 0);
	ls->sk_bound_dev_if = 7;
	KUNIT_ASSERT_EQ(test, 0, pcbg_table_set(ctx->t, ls, PCBG_WILD));
	KUNIT_EXPECT_PTR_EQ(test, NULL,
			    lookup(test, &tp, 0, AS_SYN, &hit));
	tp.dif = 7;
	KUNIT_EXPECT_PTR_EQ(test, ls,
			    lookup(test, &tp, 0, AS_SYN, &hit));
}

/* A new RSS key moves connected sockets to their new groups. */
static void group_rehash(struct kunit *test)
{
	struct group_ctx *ctx = test->priv;
	struct pcbg_rss *rss2;
	struct pcbg_tuple tp;
	enum pcbg_hit hit;
	struct sock *sk;
	unsigned int g;

	vector2(&tp);
	sk = v4_sock(test, TCP_ESTABLISHED, "65.69.140.83", 4739,
		     "199.92.111.2", 14230);
	KUNIT_ASSERT_EQ(test, 0, pcbg_table_set(ctx->t, sk, PCBG_EXACT));
	rss2 = kunit_kzalloc(test, sizeof(*rss2), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, rss2);
	*rss2 = *ctx->rss;
	rss2->key[0] ^= 0x80;	/* flips bit 31 of every window */
	rss2->key[4] ^= 0x01;
	rcu_assign_pointer(pcbg_rss_live, rss2);
	g = pcbg_sk_group(ctx->t, rss2, sk);
	pcbg_table_rehash(ctx->t);
	KUNIT_EXPECT_EQ(test, 1U, ctx->t->groups[g].count);
	KUNIT_EXPECT_EQ(test, 1, pcbg_table_members(ctx->t, PCBG_EXACT));
	KUNIT_EXPECT_PTR_EQ(test, sk,
			    lookup(test, &tp, pcbg_tuple_rss_hash(rss2, &tp),
				   0, &hit));
	rcu_assign_pointer(pcbg_rss_live, ctx->rss);
}

static unsigned int slots_used(const struct pcbg_bucket *b)
{
	unsigned int i, n = 0;

	for (i = 0; i < PCBG_SLOTS; i++)
		n += !!rcu_access_pointer(b->sk[i]);
	return n;
}

/*
 * More sockets than a bucket has slots: the rest go on its overflow
 * chain, every one stays reachable, and a freed slot is reused.
 */
static void group_bucket_overflow(struct kunit *test)
{
	struct group_ctx *ctx = test->priv;
	struct sock *sk[PCBG_SLOTS + 3];
	struct pcbg_bucket *b;
	struct pcbg_tuple tp;
	enum pcbg_hit hit;
	struct sock *found;
	int i, j;

	ctx->one = pcbg_table_alloc(&init_net, IPPROTO_TCP, 1, 1, 16);
	KUNIT_ASSERT_NOT_NULL(test, ctx->one);
	ctx->one->fixed = true;		/* one bucket, whatever it holds */
	b = &pcbg_group_tab(&ctx->one->groups[0])->b[0];
	vector2(&tp);
	for (i = 0; i < ARRAY_SIZE(sk); i++) {
		sk[i] = v4_sock(test, TCP_ESTABLISHED, "65.69.140.83", 4739,
				"199.92.111.2", 14230 + i);
		KUNIT_ASSERT_EQ(test, 0, pcbg_table_set(ctx->one, sk[i],
							PCBG_EXACT));
	}
	KUNIT_EXPECT_EQ(test, PCBG_SLOTS, slots_used(b));
	KUNIT_EXPECT_FALSE(test, hlist_empty(&b->more));
	KUNIT_EXPECT_EQ(test, ARRAY_SIZE(sk), ctx->one->groups[0].count);
	for (j = 0; j < 2; j++) {
		/* Take out a slotted and an overflowed socket, then put back. */
		for (i = 0; i < ARRAY_SIZE(sk); i++) {
			bool gone = j == 1 && (i == 1 || i == PCBG_SLOTS + 1);

			tp.fport = htons(14230 + i);
			found = lookup_in(test, ctx->one, &tp, 0, 0, &hit);
			KUNIT_EXPECT_PTR_EQ(test, gone ? NULL : sk[i], found);
		}
		pcbg_table_set(ctx->one, sk[1], PCBG_NONE);
		pcbg_table_set(ctx->one, sk[PCBG_SLOTS + 1], PCBG_NONE);
		KUNIT_EXPECT_EQ(test, PCBG_SLOTS - 1, slots_used(b));
	}
	/*
	 * Gone from the kernel's table on its way to TIME_WAIT: not answered
	 * even before it is removed from this one.
	 */
	sk[0]->sk_state = TCP_FIN_WAIT2;
	tp.fport = htons(14230);
	KUNIT_EXPECT_PTR_EQ(test, sk[0], lookup_in(test, ctx->one, &tp, 0, 0,
						   &hit));
	sk[0]->sk_node.pprev = NULL;
	KUNIT_EXPECT_PTR_EQ(test, NULL, lookup_in(test, ctx->one, &tp, 0, 0,
						  &hit));
	sk[0]->sk_node.pprev = (struct hlist_node **)&sk[0]->sk_node;
	sk[0]->sk_state = TCP_ESTABLISHED;
	/* The freed slot is taken again. */
	KUNIT_ASSERT_EQ(test, 0, pcbg_table_set(ctx->one, sk[1], PCBG_EXACT));
	KUNIT_EXPECT_EQ(test, PCBG_SLOTS, slots_used(b));
	tp.fport = htons(14231);
	KUNIT_EXPECT_PTR_EQ(test, sk[1], lookup_in(test, ctx->one, &tp, 0, 0,
						   &hit));
}

/*
 * A UDP socket closed while the unhash probe missed: its entry is not
 * answered (it is no longer hashed), and the resync's mark and sweep
 * drops it and its reference, keeping every socket the walk saw.
 */
static void group_udp_sweep(struct kunit *test)
{
	struct group_ctx *ctx = test->priv;
	struct sock *live, *gone;
	struct pcbg_tuple tp;
	enum pcbg_hit hit;
	int refs;

	ctx->one = pcbg_table_alloc(&init_net, IPPROTO_UDP, NGROUPS, 16, 16);
	KUNIT_ASSERT_NOT_NULL(test, ctx->one);
	vector2(&tp);
	live = v4_sock(test, TCP_ESTABLISHED, "65.69.140.83", 4739,
		       "199.92.111.2", 14230);
	gone = v4_sock(test, TCP_ESTABLISHED, "65.69.140.83", 4739,
		       "199.92.111.2", 14231);
	KUNIT_ASSERT_EQ(test, 0, pcbg_table_set(ctx->one, live, PCBG_EXACT));
	KUNIT_ASSERT_EQ(test, 0, pcbg_table_set(ctx->one, gone, PCBG_EXACT));
	refs = refcount_read(&gone->sk_refcnt);
	gone->sk_node.pprev = NULL;	/* unhashed, state left as it was */
	tp.fport = htons(14231);
	KUNIT_EXPECT_PTR_EQ(test, NULL,
			    lookup_in(test, ctx->one, &tp,
				      pcbg_tuple_rss_hash(ctx->rss, &tp), 0,
				      &hit));
	pcbg_table_mark(ctx->one);
	/* The walk finds only the socket the kernel still has. */
	KUNIT_ASSERT_EQ(test, 0, pcbg_table_set(ctx->one, live, PCBG_EXACT));
	KUNIT_EXPECT_EQ(test, 1U, pcbg_table_sweep(ctx->one));
	KUNIT_EXPECT_EQ(test, PCBG_NONE, pcbg_table_kind(ctx->one, gone));
	KUNIT_EXPECT_EQ(test, PCBG_EXACT, pcbg_table_kind(ctx->one, live));
	KUNIT_EXPECT_EQ(test, 1, pcbg_table_members(ctx->one, PCBG_EXACT));
	rcu_barrier();
	KUNIT_EXPECT_EQ(test, refs - 1, (int)refcount_read(&gone->sk_refcnt));
	tp.fport = htons(14230);
	KUNIT_EXPECT_PTR_EQ(test, live,
			    lookup_in(test, ctx->one, &tp,
				      pcbg_tuple_rss_hash(ctx->rss, &tp), 0,
				      &hit));
	/* A second sweep with nothing stale drops nothing. */
	pcbg_table_mark(ctx->one);
	KUNIT_ASSERT_EQ(test, 0, pcbg_table_set(ctx->one, live, PCBG_EXACT));
	KUNIT_EXPECT_EQ(test, 0U, pcbg_table_sweep(ctx->one));
}

/*
 * A TCP socket a walk added while its close was under way: closed and
 * unhashed, it is reaped; a live one is kept.
 */
static void group_tcp_reap(struct kunit *test)
{
	struct group_ctx *ctx = test->priv;
	struct sock *live, *closed;

	live = v4_sock(test, TCP_ESTABLISHED, "65.69.140.83", 4739,
		       "199.92.111.2", 14230);
	closed = v4_sock(test, TCP_ESTABLISHED, "65.69.140.83", 4739,
			 "199.92.111.2", 14231);
	KUNIT_ASSERT_EQ(test, 0, pcbg_table_set(ctx->t, live, PCBG_EXACT));
	KUNIT_ASSERT_EQ(test, 0, pcbg_table_set(ctx->t, closed, PCBG_EXACT));
	KUNIT_EXPECT_EQ(test, 0U, pcbg_table_reap(ctx->t));
	closed->sk_state = TCP_CLOSE;
	closed->sk_node.pprev = NULL;
	KUNIT_EXPECT_EQ(test, 1U, pcbg_table_reap(ctx->t));
	KUNIT_EXPECT_EQ(test, PCBG_NONE, pcbg_table_kind(ctx->t, closed));
	KUNIT_EXPECT_EQ(test, PCBG_EXACT, pcbg_table_kind(ctx->t, live));
}


/*
 * Grow and shrink under readers. Two kthreads look up every socket
 * inserted so far (connected ones by their tuple, listeners by a packet
 * no connected socket takes) while the test inserts them all and then
 * removes them, and the tables grow and shrink beside them: every
 * socket must be found at every step.
 */
#define RESIZE_EXACT	4096
#define RESIZE_WILD	1024

struct resize_ctx {
	struct pcbg_table *t;
	struct pcbg_rss *rss;
	struct sock **sk;
	int lo, hi;		/* sockets [lo, hi) are members */
	bool stop;
	atomic_t lookups, wrong;
};

static void resize_tuple(struct pcbg_tuple *tp, int i)
{
	memset(tp, 0, sizeof(*tp));
	tp->family = AF_INET;
	tp->laddr4 = htonl(0x0a000001);			/* 10.0.0.1 */
	if (i < RESIZE_EXACT) {
		tp->faddr4 = htonl(0xc6120000 + i);	/* 198.18.0.0/15 */
		tp->fport = htons(40000 + (i & 7));
		tp->lport = htons(80);
	} else {
		tp->faddr4 = htonl(0xc0000263);		/* 192.0.2.99 */
		tp->fport = htons(50000);
		tp->lport = htons(20000 + i - RESIZE_EXACT);
	}
	tp->dif = 1;
}

static int resize_reader(void *arg)
{
	struct resize_ctx *rc = arg;
	struct pcbg_query q;
	struct pcbg_tuple tp;
	enum pcbg_hit hit;
	struct sock *sk;
	int i, lo, hi;

	while (!READ_ONCE(rc->stop)) {
		/* Paired with the writer's releases: members by then. */
		lo = smp_load_acquire(&rc->lo);
		hi = smp_load_acquire(&rc->hi);	/* inserted by then */
		for (i = lo; i < hi; i++) {
			resize_tuple(&tp, i);
			q = query(rc->t, &tp, pcbg_tuple_rss_hash(rc->rss, &tp),
				  i < RESIZE_EXACT ? AS_DELIVER : AS_SYN);
			rcu_read_lock();
			sk = pcbg_answer(rc->t, rc->rss, &q, &hit);
			rcu_read_unlock();
			if (sk)
				pcbg_answer_put(sk);
			/* Still a member after the walk: it had to be found. */
			if (sk != rc->sk[i] && i >= smp_load_acquire(&rc->lo))
				atomic_inc(&rc->wrong);
			atomic_inc(&rc->lookups);
		}
		cond_resched();
	}
	while (!kthread_should_stop())
		schedule_timeout_interruptible(1);
	return 0;
}

static unsigned int resize_buckets(struct pcbg_table *t)
{
	unsigned int g, n = 0;

	for (g = 0; g < t->ngroups; g++)
		n += pcbg_group_tab(&t->groups[g])->mask + 1;
	return n;
}

static void group_grow_shrink(struct kunit *test)
{
	struct group_ctx *ctx = test->priv;
	struct task_struct *reader[2] = {};
	int n = RESIZE_EXACT + RESIZE_WILD, i, resizes;
	unsigned int longest = 0;
	struct resize_ctx *rc;
	unsigned int g;

	rc = kunit_kzalloc(test, sizeof(*rc), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, rc);
	rc->sk = kunit_kcalloc(test, n, sizeof(*rc->sk), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, rc->sk);
	ctx->one = pcbg_table_alloc(&init_net, IPPROTO_TCP, NGROUPS, 0, 0);
	KUNIT_ASSERT_NOT_NULL(test, ctx->one);
	ctx->one->syn = true;
	atomic_set(&ctx->one->jail_unknown, 1);
	rc->t = ctx->one;
	rc->rss = ctx->rss;
	for (i = 0; i < n; i++) {
		struct pcbg_tuple tp;
		struct sock *sk = sk_alloc(&init_net, PF_INET, GFP_KERNEL,
					   &tcp_prot, 1);

		if (!sk)
			break;
		refcount_set(&sk->sk_refcnt, 1);
		resize_tuple(&tp, i);
		sk->sk_rcv_saddr = tp.laddr4;
		sk->sk_num = ntohs(tp.lport);
		if (i < RESIZE_EXACT) {
			sk->sk_daddr = tp.faddr4;
			sk->sk_dport = tp.fport;
		}
		sk->sk_state = i < RESIZE_EXACT ? TCP_ESTABLISHED : TCP_LISTEN;
		sk->sk_node.pprev = (struct hlist_node **)&sk->sk_node;
		rc->sk[i] = sk;
	}
	KUNIT_ASSERT_EQ(test, n, i);
	resizes = atomic_read(&pcbg_resizes_seen);
	for (i = 0; i < 2; i++) {
		reader[i] = kthread_create(resize_reader, rc, "pcbg_kunit/%d",
					   i);
		KUNIT_ASSERT_FALSE(test, IS_ERR(reader[i]));
		kthread_bind(reader[i], i % num_online_cpus());
		wake_up_process(reader[i]);
	}
	/* Connected sockets, then listeners, each checked once it is in. */
	for (i = 0; i < n; i++) {
		KUNIT_EXPECT_EQ(test, 0, pcbg_table_set(rc->t, rc->sk[i],
							i < RESIZE_EXACT ?
							PCBG_EXACT : PCBG_WILD));
		smp_store_release(&rc->hi, i + 1);	/* after its insert */
		if (!(i & 63))
			cond_resched();
	}
	pcbg_table_settle(rc->t);
	msleep(200);			/* the readers walk the grown tables */
	KUNIT_EXPECT_GE(test, resize_buckets(rc->t), RESIZE_EXACT / 2);
	KUNIT_EXPECT_GE(test, pcbg_group_tab(&rc->t->wild)->mask + 1,
			RESIZE_WILD / 2);
	rcu_read_lock();
	for (g = 0; g < NGROUPS; g++)
		longest = max(longest, pcbg_group_longest(&rc->t->groups[g]));
	longest = max(longest, pcbg_group_longest(&rc->t->wild));
	rcu_read_unlock();
	kunit_info(test, "grown: %u buckets in %u groups, %u wildcard chains, longest bucket %u, %d resizes\n",
		   resize_buckets(rc->t), NGROUPS,
		   pcbg_group_tab(&rc->t->wild)->mask + 1, longest,
		   atomic_read(&pcbg_resizes_seen) - resizes);
	KUNIT_EXPECT_LE(test, longest, 12U);
	/* Removed from the bottom up; the readers look at what is left. */
	for (i = 0; i < n; i++) {
		smp_store_release(&rc->lo, i + 1);	/* before its removal */
		KUNIT_EXPECT_EQ(test, 0, pcbg_table_set(rc->t, rc->sk[i],
							PCBG_NONE));
		if (!(i & 63))
			cond_resched();
	}
	pcbg_table_settle(rc->t);
	WRITE_ONCE(rc->stop, true);
	for (i = 0; i < 2; i++)
		kthread_stop(reader[i]);
	kunit_info(test, "%d lookups, %d resizes\n", atomic_read(&rc->lookups),
		   atomic_read(&pcbg_resizes_seen) - resizes);
	KUNIT_EXPECT_EQ(test, 0, atomic_read(&rc->wrong));
	KUNIT_EXPECT_GT(test, atomic_read(&rc->lookups), n);
	KUNIT_EXPECT_GE(test, atomic_read(&pcbg_resizes_seen) - resizes, 8);
	/* Shrunk back to the minimum sizes. */
	KUNIT_EXPECT_EQ(test, resize_buckets(rc->t), NGROUPS * 4);
	KUNIT_EXPECT_EQ(test, pcbg_group_tab(&rc->t->wild)->mask + 1, 16U);
	for (i = 0; i < PCBG_ISTRIPES; i++)
		KUNIT_EXPECT_EQ(test, rc->t->index[i].mask + 1, 2U);
	pcbg_table_free(ctx->one);
	ctx->one = NULL;
	rcu_barrier();
	for (i = 0; i < n; i++) {
		rc->sk[i]->sk_node.pprev = NULL;
		rc->sk[i]->sk_state = TCP_CLOSE;
		sk_free(rc->sk[i]);
	}
}

static struct kunit_case group_cases[] = {
	KUNIT_CASE(group_selection),
	KUNIT_CASE(group_insert_remove),
	KUNIT_CASE(group_wildcard_in_every_group),
	KUNIT_CASE(group_syn_ports),
	KUNIT_CASE(group_precedence),
	KUNIT_CASE(group_bound_device),
	KUNIT_CASE(group_rehash),
	KUNIT_CASE(group_bucket_overflow),
	KUNIT_CASE(group_udp_sweep),
	KUNIT_CASE(group_tcp_reap),
	KUNIT_CASE(group_grow_shrink),
	{}
};

static int group_suite_init(struct kunit_suite *suite)
{
	return pcbg_entry_cache_init();
}

static void group_suite_exit(struct kunit_suite *suite)
{
	pcbg_entry_cache_exit();
}

static struct kunit_suite group_suite = {
	.name = "pcbgroup_group",
	.suite_init = group_suite_init,
	.suite_exit = group_suite_exit,
	.init = group_test_init,
	.exit = group_test_exit,
	.test_cases = group_cases,
};

kunit_test_suite(group_suite);
