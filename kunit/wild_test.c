// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: wildcard precedence against the kernel's own scoring. Real
 * sockets are bound (IP_FREEBIND, documentation addresses), listened on
 * and so hashed in the kernel's tables of init_net; the same sockets are
 * members of a private group table. For every packet the groups' answer
 * must be the very socket __inet_lookup_listener(), inet6_lookup_listener()
 * or __udp4/6_lib_lookup() returns, or PCBG_ASIDE where the kernel's pick
 * depends on its chain order or on a flow hash the module cannot compute.
 */
#include <kunit/test.h>
#include <linux/bottom_half.h>
#include <linux/inet.h>
#include <linux/net.h>
#include <net/inet_hashtables.h>
#include <net/inet6_hashtables.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/sock.h>
#include <net/udp.h>

#include "pcbg_group.h"

#define PORT	45831		/* nothing else in the guest uses it */

enum {
	F_V6ONLY = 1 << 0,
	F_REUSEPORT = 1 << 1,
	F_REUSEADDR = 1 << 2,
	F_DEV = 1 << 3,		/* SO_BINDTODEVICE lo */
	F_CPU0 = 1 << 4,	/* SO_INCOMING_CPU 0 */
	F_CPU1 = 1 << 5,	/* SO_INCOMING_CPU 1 */
};

struct wild_ctx {
	struct pcbg_table *t[2];	/* TCP, UDP */
	struct socket *socks[8];
	int nsocks;
};

static int wild_test_init(struct kunit *test)
{
	struct wild_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->t[0] = pcbg_table_alloc(&init_net, IPPROTO_TCP, 4, 16, 16);
	ctx->t[1] = pcbg_table_alloc(&init_net, IPPROTO_UDP, 4, 16, 16);
	KUNIT_ASSERT_NOT_NULL(test, ctx->t[0]);
	KUNIT_ASSERT_NOT_NULL(test, ctx->t[1]);
	test->priv = ctx;
	return 0;
}

static void wild_test_exit(struct kunit *test)
{
	struct wild_ctx *ctx = test->priv;
	int i;

	pcbg_table_free(ctx->t[0]);
	pcbg_table_free(ctx->t[1]);
	rcu_barrier();		/* entry references dropped */
	for (i = 0; i < ctx->nsocks; i++)
		sock_release(ctx->socks[i]);
}

static struct sock *mk(struct kunit *test, int proto, const char *addr,
		       unsigned int flags)
{
	struct wild_ctx *ctx = test->priv;
	bool v6 = strchr(addr, ':');
	struct sockaddr_storage ss = {};
	struct socket *sock;
	int len, cpu, err;
	struct sock *sk;

	KUNIT_ASSERT_LT(test, ctx->nsocks, (int)ARRAY_SIZE(ctx->socks));
	err = sock_create_kern(&init_net, v6 ? AF_INET6 : AF_INET,
			       proto == IPPROTO_TCP ? SOCK_STREAM : SOCK_DGRAM,
			       proto, &sock);
	KUNIT_ASSERT_EQ(test, 0, err);
	ctx->socks[ctx->nsocks++] = sock;
	sk = sock->sk;
	ip_sock_set_freebind(sk);
	if (v6)
		sk->sk_ipv6only = !!(flags & F_V6ONLY);
	if (flags & F_REUSEPORT)
		sock_set_reuseport(sk);
	if (flags & F_REUSEADDR)
		sock_set_reuseaddr(sk);
	if (flags & F_DEV)
		KUNIT_ASSERT_EQ(test, 0, sock_bindtoindex(sk, 1, true));
	if (flags & (F_CPU0 | F_CPU1)) {
		cpu = flags & F_CPU1 ? 1 : 0;
		KUNIT_ASSERT_EQ(test, 0,
				sock_setsockopt(sock, SOL_SOCKET,
						SO_INCOMING_CPU,
						KERNEL_SOCKPTR(&cpu),
						sizeof(cpu)));
	}
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(PORT);
		KUNIT_ASSERT_EQ(test, 1, in6_pton(addr, -1, a->sin6_addr.s6_addr,
						  -1, NULL));
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(PORT);
		KUNIT_ASSERT_EQ(test, 1, in4_pton(addr, -1,
						  (u8 *)&a->sin_addr.s_addr,
						  -1, NULL));
		len = sizeof(*a);
	}
	KUNIT_ASSERT_EQ(test, 0, kernel_bind(sock, (struct sockaddr *)&ss, len));
	if (proto == IPPROTO_TCP)
		KUNIT_ASSERT_EQ(test, 0, kernel_listen(sock, 8));
	KUNIT_ASSERT_EQ(test, 0,
			pcbg_table_set(ctx->t[proto == IPPROTO_UDP], sk,
				       PCBG_WILD));
	return sk;
}

static void packet(struct pcbg_tuple *tp, const char *laddr, u16 fport,
		   int dif)
{
	memset(tp, 0, sizeof(*tp));
	tp->fport = htons(fport);
	tp->lport = htons(PORT);
	tp->dif = dif;
	if (strchr(laddr, ':')) {
		tp->family = AF_INET6;
		in6_pton(laddr, -1, tp->laddr6.s6_addr, -1, NULL);
		in6_pton("2001:db8:ff::2", -1, tp->faddr6.s6_addr, -1, NULL);
	} else {
		tp->family = AF_INET;
		in4_pton(laddr, -1, (u8 *)&tp->laddr4, -1, NULL);
		in4_pton("198.51.100.200", -1, (u8 *)&tp->faddr4, -1, NULL);
	}
}

static struct sock *kernel_pick(int proto, const struct pcbg_tuple *tp)
{
	struct inet_hashinfo *h = init_net.ipv4.tcp_death_row.hashinfo;
	u16 hnum = ntohs(tp->lport);

	if (proto == IPPROTO_TCP && tp->family == AF_INET)
		return __inet_lookup_listener(&init_net, h, NULL, 0, tp->faddr4,
					      tp->fport, tp->laddr4, hnum,
					      tp->dif, tp->sdif);
	if (proto == IPPROTO_TCP)
		return inet6_lookup_listener(&init_net, h, NULL, 0, &tp->faddr6,
					     tp->fport, &tp->laddr6, hnum,
					     tp->dif, tp->sdif);
	if (tp->family == AF_INET)
		return __udp4_lib_lookup(&init_net, tp->faddr4, tp->fport,
					 tp->laddr4, tp->lport, tp->dif,
					 tp->sdif, &udp_table, NULL);
	return __udp6_lib_lookup(&init_net, &tp->faddr6, tp->fport,
				 &tp->laddr6, tp->lport, tp->dif, tp->sdif,
				 &udp_table, NULL);
}

/*
 * The groups' answer for 16 flows of the packet must be the kernel's; an
 * answer is @want (PCBG_HIT_WILD, PCBG_HIT_BUCKET, PCBG_MISS) or
 * PCBG_ASIDE. Returns the kernel's pick for the first flow.
 */
static struct sock *check(struct kunit *test, int proto, const char *laddr,
			  int dif, enum pcbg_hit want)
{
	struct wild_ctx *ctx = test->priv;
	struct sock *ours, *kern, *first = NULL;
	struct pcbg_tuple tp;
	enum pcbg_hit hit;
	u16 fport;

	for (fport = 30000; fport < 30016; fport++) {
		packet(&tp, laddr, fport, dif);
		local_bh_disable();	/* one CPU for both: SO_INCOMING_CPU */
		rcu_read_lock();
		ours = pcbg_lookup_wild(ctx->t[proto == IPPROTO_UDP], &tp, &hit);
		kern = kernel_pick(proto, &tp);
		rcu_read_unlock();
		local_bh_enable();
		if (fport == 30000)
			first = kern;
		KUNIT_EXPECT_EQ_MSG(test, want, hit, "%s %s dif %d sport %u",
				    proto == IPPROTO_TCP ? "tcp" : "udp", laddr,
				    dif, fport);
		if (hit != PCBG_ASIDE)
			KUNIT_EXPECT_PTR_EQ_MSG(test, kern, ours,
						"%s %s dif %d sport %u",
						proto == IPPROTO_TCP ? "tcp" :
						"udp", laddr, dif, fport);
	}
	return first;
}

/*
 * A listener bound to the address beats the wildcard one whatever their
 * devices. Linux refuses a TCP listener on an address beside one on the
 * wildcard address of the same port unless both use SO_REUSEPORT; each is
 * then a group of its own.
 */
static void wild_specific_first(struct kunit *test)
{
	struct sock *any, *spec;

	any = mk(test, IPPROTO_TCP, "0.0.0.0", F_REUSEPORT | F_DEV);
	spec = mk(test, IPPROTO_TCP, "198.51.100.1", F_REUSEPORT);
	KUNIT_EXPECT_PTR_EQ(test, spec,
			    check(test, IPPROTO_TCP, "198.51.100.1", 1,
				  PCBG_HIT_BUCKET));
	KUNIT_EXPECT_PTR_EQ(test, any,
			    check(test, IPPROTO_TCP, "198.51.100.9", 1,
				  PCBG_HIT_BUCKET));
	/* Bound to lo: not for a packet from another device. */
	KUNIT_EXPECT_PTR_EQ(test, NULL,
			    check(test, IPPROTO_TCP, "198.51.100.9", 2,
				  PCBG_MISS));
	/* The same order for UDP, without reuseport. */
	any = mk(test, IPPROTO_UDP, "0.0.0.0", F_REUSEADDR);
	spec = mk(test, IPPROTO_UDP, "198.51.100.1", F_REUSEADDR);
	KUNIT_EXPECT_PTR_EQ(test, spec,
			    check(test, IPPROTO_UDP, "198.51.100.1", 2,
				  PCBG_HIT_WILD));
	KUNIT_EXPECT_PTR_EQ(test, any,
			    check(test, IPPROTO_UDP, "198.51.100.9", 2,
				  PCBG_HIT_WILD));
}

/* IPv4 wildcard over a dual-stack IPv6 one (UDP's scores). */
static void wild_families(struct kunit *test)
{
	struct sock *v4, *dual;

	dual = mk(test, IPPROTO_UDP, "::", F_REUSEADDR);
	v4 = mk(test, IPPROTO_UDP, "0.0.0.0", F_REUSEADDR);
	KUNIT_EXPECT_PTR_EQ(test, v4, check(test, IPPROTO_UDP, "198.51.100.1",
					    2, PCBG_HIT_WILD));
	KUNIT_EXPECT_PTR_EQ(test, dual, check(test, IPPROTO_UDP,
					      "2001:db8::1", 2,
					      PCBG_HIT_WILD));
}

/* IPV6_V6ONLY never answers IPv4; a dual-stack listener does. */
static void wild_v6only(struct kunit *test)
{
	struct sock *v6only, *dual;

	v6only = mk(test, IPPROTO_TCP, "::", F_V6ONLY);
	KUNIT_EXPECT_PTR_EQ(test, NULL, check(test, IPPROTO_TCP,
					      "198.51.100.1", 2, PCBG_MISS));
	KUNIT_EXPECT_PTR_EQ(test, v6only, check(test, IPPROTO_TCP,
						"2001:db8::1", 2,
						PCBG_HIT_WILD));
	dual = mk(test, IPPROTO_UDP, "::", 0);
	KUNIT_EXPECT_PTR_EQ(test, dual, check(test, IPPROTO_UDP,
					      "198.51.100.1", 2,
					      PCBG_HIT_WILD));
}

/* A bound device adds to the score within a class (TCP and UDP). */
static void wild_bound_device(struct kunit *test)
{
	struct sock *bound, *plain;

	plain = mk(test, IPPROTO_UDP, "0.0.0.0", F_REUSEADDR);
	bound = mk(test, IPPROTO_UDP, "0.0.0.0", F_REUSEADDR | F_DEV);
	KUNIT_EXPECT_PTR_EQ(test, bound, check(test, IPPROTO_UDP,
					       "198.51.100.1", 1,
					       PCBG_HIT_WILD));
	KUNIT_EXPECT_PTR_EQ(test, plain, check(test, IPPROTO_UDP,
					       "198.51.100.1", 2,
					       PCBG_HIT_WILD));
}

/* Two sockets with one score: the kernel's chain order decides. */
static void wild_tie_aside(struct kunit *test)
{
	mk(test, IPPROTO_UDP, "0.0.0.0", F_REUSEADDR);
	mk(test, IPPROTO_UDP, "0.0.0.0", F_REUSEADDR);
	check(test, IPPROTO_UDP, "198.51.100.1", 2, PCBG_ASIDE);
}

/* A TCP reuseport group: the member the kernel's flow hash picks. */
static void wild_reuseport_tcp(struct kunit *test)
{
	mk(test, IPPROTO_TCP, "0.0.0.0", F_REUSEPORT);
	mk(test, IPPROTO_TCP, "0.0.0.0", F_REUSEPORT);
	mk(test, IPPROTO_TCP, "0.0.0.0", F_REUSEPORT);
	check(test, IPPROTO_TCP, "198.51.100.1", 2, PCBG_HIT_BUCKET);
	mk(test, IPPROTO_TCP, "::", F_REUSEPORT | F_V6ONLY);
	mk(test, IPPROTO_TCP, "::", F_REUSEPORT | F_V6ONLY);
	check(test, IPPROTO_TCP, "2001:db8::1", 2, PCBG_HIT_BUCKET);
	/* A second group (bound to lo) in the class: order decides. */
	mk(test, IPPROTO_TCP, "0.0.0.0", F_REUSEPORT | F_DEV);
	check(test, IPPROTO_TCP, "198.51.100.1", 1, PCBG_ASIDE);
	check(test, IPPROTO_TCP, "198.51.100.1", 2, PCBG_HIT_BUCKET);
}

/*
 * UDP reuseport: the flow hash is udp.c's own, so only a pick no hash can
 * change is answered: the one member whose SO_INCOMING_CPU is this CPU.
 */
static void wild_reuseport_udp(struct kunit *test)
{
	if (num_online_cpus() < 2)
		kunit_skip(test, "needs two CPUs");
	mk(test, IPPROTO_UDP, "0.0.0.0", F_REUSEPORT);
	mk(test, IPPROTO_UDP, "0.0.0.0", F_REUSEPORT);
	check(test, IPPROTO_UDP, "198.51.100.1", 2, PCBG_ASIDE);
	mk(test, IPPROTO_UDP, "198.51.100.1", F_REUSEPORT | F_CPU0);
	mk(test, IPPROTO_UDP, "198.51.100.1", F_REUSEPORT | F_CPU1);
	check(test, IPPROTO_UDP, "198.51.100.1", 2, PCBG_HIT_BUCKET);
	/* The wildcard group is the next class: still hash-dependent. */
	check(test, IPPROTO_UDP, "198.51.100.7", 2, PCBG_ASIDE);
}

/* SO_INCOMING_CPU listeners: FreeBSD's bucket listeners, kernel's pick. */
static void wild_incoming_cpu_tcp(struct kunit *test)
{
	if (num_online_cpus() < 2)
		kunit_skip(test, "needs two CPUs");
	mk(test, IPPROTO_TCP, "::", F_REUSEPORT | F_CPU0);
	mk(test, IPPROTO_TCP, "::", F_REUSEPORT | F_CPU1);
	check(test, IPPROTO_TCP, "198.51.100.1", 2, PCBG_HIT_BUCKET);
	check(test, IPPROTO_TCP, "2001:db8::1", 2, PCBG_HIT_BUCKET);
}

static struct kunit_case wild_cases[] = {
	KUNIT_CASE(wild_specific_first),
	KUNIT_CASE(wild_families),
	KUNIT_CASE(wild_v6only),
	KUNIT_CASE(wild_bound_device),
	KUNIT_CASE(wild_tie_aside),
	KUNIT_CASE(wild_reuseport_tcp),
	KUNIT_CASE(wild_reuseport_udp),
	KUNIT_CASE(wild_incoming_cpu_tcp),
	{}
};

static int wild_suite_init(struct kunit_suite *suite)
{
	return pcbg_entry_cache_init();
}

static void wild_suite_exit(struct kunit_suite *suite)
{
	pcbg_entry_cache_exit();
}

static struct kunit_suite wild_suite = {
	.name = "pcbgroup_wild",
	.suite_init = wild_suite_init,
	.suite_exit = wild_suite_exit,
	.init = wild_test_init,
	.exit = wild_test_exit,
	.test_cases = wild_cases,
};

kunit_test_suite(wild_suite);
