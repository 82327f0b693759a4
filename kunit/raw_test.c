// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the raw-socket index (raw_table.c). Against a model of the kernel's match rule (each socket address the
 * wildcard or the packet's), every combination of bound, connected and
 * wildcard sockets and packets, IPv4 and IPv6, found exactly once; the
 * transit list across address changes, nested ones too; removal, growth,
 * the batch limit, and a resync's mark and sweep.
 */
#include <kunit/test.h>
#include <linux/slab.h>
#include <net/ipv6.h>

#include "pcbg_raw.h"

/*
 * The kernel's rule (raw_v4_match(), raw_v6_match() for unicast) on keys
 * alone: a socket takes a packet when each of its addresses is the
 * wildcard or the packet's: the set the index must answer.
 */
static bool pcbg_raw_key_covers(const struct pcbg_raw_key *sock_key,
			 const struct pcbg_raw_key *pkt)
{
	return sock_key->family == pkt->family &&
	       sock_key->proto == pkt->proto &&
	       (ipv6_addr_any(&sock_key->laddr) ||
		ipv6_addr_equal(&sock_key->laddr, &pkt->laddr)) &&
	       (ipv6_addr_any(&sock_key->faddr) ||
		ipv6_addr_equal(&sock_key->faddr, &pkt->faddr));
}

/* Sockets are only identities to the index: never dereferenced. */
#define RAW_NSOCKS	2048
static char raw_socks[RAW_NSOCKS];
#define SK(i)	((struct sock *)&raw_socks[i])

static int sk_index(struct sock *sk)
{
	return (char *)sk - raw_socks;
}

static struct pcbg_raw *raw_make(struct kunit *test)
{
	struct pcbg_raw *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, r);
	KUNIT_ASSERT_EQ(test, pcbg_raw_init(r, 0), 0);
	return r;
}

/* A key from small numbers: 0 is the wildcard, the rest addresses. */
static void key_make(struct pcbg_raw_key *k, u8 family, u8 proto, int l,
		     int f)
{
	struct in6_addr la = {}, fa = {};

	if (family == AF_INET) {
		pcbg_raw_key_set4(k, proto, l ? htonl(0xc0000200 + l) : 0,
				  f ? htonl(0xc6336400 + f) : 0);
		return;
	}
	if (l) {
		la.s6_addr32[0] = htonl(0x20010db8);
		la.s6_addr32[3] = htonl(l);
	}
	if (f) {
		fa.s6_addr32[0] = htonl(0x20010db8);
		fa.s6_addr32[1] = htonl(1);
		fa.s6_addr32[3] = htonl(f);
	}
	pcbg_raw_key_set6(k, proto, &la, &fa);
}

/* Collect under RCU; the hits as a bitmap, failing on any repeat. */
static int raw_lookup(struct kunit *test, struct pcbg_raw *r,
		      const struct pcbg_raw_key *pkt, unsigned long *seen)
{
	struct sock *hits[PCBG_RAW_BATCH];
	int n, i;

	rcu_read_lock();
	n = pcbg_raw_collect(r, pkt, hits, ARRAY_SIZE(hits));
	rcu_read_unlock();
	bitmap_zero(seen, RAW_NSOCKS);
	for (i = 0; i < n; i++) {
		KUNIT_EXPECT_FALSE_MSG(test, test_bit(sk_index(hits[i]), seen),
				       "socket %d found twice",
				       sk_index(hits[i]));
		__set_bit(sk_index(hits[i]), seen);
	}
	return n;
}

static void raw_test_covers(struct kunit *test)
{
	struct pcbg_raw_key s, p;

	key_make(&p, AF_INET, IPPROTO_GRE, 1, 1);
	key_make(&s, AF_INET, IPPROTO_GRE, 0, 0);
	KUNIT_EXPECT_TRUE(test, pcbg_raw_key_covers(&s, &p));
	key_make(&s, AF_INET, IPPROTO_GRE, 1, 2);
	KUNIT_EXPECT_FALSE(test, pcbg_raw_key_covers(&s, &p));
	key_make(&s, AF_INET, IPPROTO_ICMP, 0, 0);
	KUNIT_EXPECT_FALSE(test, pcbg_raw_key_covers(&s, &p));
	key_make(&s, AF_INET6, IPPROTO_GRE, 0, 0);
	KUNIT_EXPECT_FALSE(test, pcbg_raw_key_covers(&s, &p));
}

/*
 * Every socket key over local {any, 1, 2} x foreign {any, 1, 2} x two
 * protocols x both families, three sockets each; every packet over
 * destination {1, 2, 3, none} x source {1, 2, 3, none}: the index finds
 * exactly the sockets the rule says, once each.
 */
static void raw_test_model(struct kunit *test)
{
	static const u8 protos[] = { IPPROTO_GRE, IPPROTO_ICMP };
	static const u8 fams[] = { AF_INET, AF_INET6 };
	unsigned long *seen = kunit_kzalloc(test, BITS_TO_LONGS(RAW_NSOCKS) *
					    sizeof(long), GFP_KERNEL);
	struct pcbg_raw *r = raw_make(test);
	struct pcbg_raw_key *keys;
	int nsk = 0, fi, pi, l, f, c, i;

	keys = kunit_kcalloc(test, RAW_NSOCKS, sizeof(*keys), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, keys);
	KUNIT_ASSERT_NOT_NULL(test, seen);
	for (fi = 0; fi < 2; fi++)
		for (pi = 0; pi < 2; pi++)
			for (l = 0; l < 3; l++)
				for (f = 0; f < 3; f++)
					for (c = 0; c < 3; c++) {
						key_make(&keys[nsk], fams[fi],
							 protos[pi], l, f);
						KUNIT_ASSERT_EQ(test,
							pcbg_raw_insert(r, SK(nsk),
									&keys[nsk]),
							0);
						nsk++;
					}
	KUNIT_EXPECT_EQ(test, r->n, nsk);
	for (fi = 0; fi < 2; fi++)
		for (pi = 0; pi < 2; pi++)
			for (l = 0; l < 4; l++)
				for (f = 0; f < 4; f++) {
					struct pcbg_raw_key pkt;
					int n, want = 0;

					key_make(&pkt, fams[fi], protos[pi], l,
						 f);
					n = raw_lookup(test, r, &pkt, seen);
					for (i = 0; i < nsk; i++) {
						bool w = pcbg_raw_key_covers(&keys[i],
									     &pkt);

						want += w;
						KUNIT_EXPECT_EQ_MSG(test, w,
							test_bit(i, seen),
							"socket %d, packet %d/%d/%d/%d",
							i, fi, pi, l, f);
					}
					KUNIT_EXPECT_EQ(test, n, want);
				}
	pcbg_raw_destroy(r);
}

/* A socket changing address is found, once, before, during and after. */
static void raw_test_transit(struct kunit *test)
{
	unsigned long *seen = kunit_kzalloc(test, BITS_TO_LONGS(RAW_NSOCKS) *
					    sizeof(long), GFP_KERNEL);
	struct pcbg_raw *r = raw_make(test);
	struct pcbg_raw_key k1, k2, p1, p2;

	KUNIT_ASSERT_NOT_NULL(test, seen);
	key_make(&k1, AF_INET, IPPROTO_GRE, 1, 1);
	key_make(&k2, AF_INET, IPPROTO_GRE, 1, 2);
	key_make(&p1, AF_INET, IPPROTO_GRE, 1, 1);
	key_make(&p2, AF_INET, IPPROTO_GRE, 1, 2);
	KUNIT_ASSERT_EQ(test, pcbg_raw_insert(r, SK(0), &k1), 0);
	KUNIT_EXPECT_EQ(test, raw_lookup(test, r, &p1, seen), 1);
	KUNIT_EXPECT_EQ(test, raw_lookup(test, r, &p2, seen), 0);

	/* Two changes at once: in sight until both are over. */
	pcbg_raw_transit(r, SK(0));
	pcbg_raw_transit(r, SK(0));
	KUNIT_EXPECT_EQ(test, raw_lookup(test, r, &p1, seen), 1);
	KUNIT_EXPECT_EQ(test, raw_lookup(test, r, &p2, seen), 1);
	pcbg_raw_settle(r, SK(0), &k2);
	KUNIT_EXPECT_EQ(test, raw_lookup(test, r, &p1, seen), 1);
	KUNIT_EXPECT_EQ(test, raw_lookup(test, r, &p2, seen), 1);
	pcbg_raw_settle(r, SK(0), &k2);
	KUNIT_EXPECT_EQ(test, raw_lookup(test, r, &p1, seen), 0);
	KUNIT_EXPECT_EQ(test, raw_lookup(test, r, &p2, seen), 1);

	/* In transit but for another protocol or family: not a candidate. */
	key_make(&p1, AF_INET, IPPROTO_ICMP, 1, 2);
	pcbg_raw_transit(r, SK(0));
	KUNIT_EXPECT_EQ(test, raw_lookup(test, r, &p1, seen), 0);
	/* A change that leaves the key as it was files it back. */
	pcbg_raw_settle(r, SK(0), &k2);
	KUNIT_EXPECT_EQ(test, raw_lookup(test, r, &p2, seen), 1);
	KUNIT_EXPECT_TRUE(test, hlist_empty(&r->transit));

	/* A second insert of the same socket re-files it. */
	KUNIT_ASSERT_EQ(test, pcbg_raw_insert(r, SK(0), &k1), 0);
	KUNIT_EXPECT_EQ(test, r->n, 1);
	KUNIT_EXPECT_EQ(test, raw_lookup(test, r, &p2, seen), 0);

	KUNIT_EXPECT_TRUE(test, pcbg_raw_remove(r, SK(0)));
	KUNIT_EXPECT_FALSE(test, pcbg_raw_remove(r, SK(0)));
	KUNIT_EXPECT_EQ(test, r->n, 0);
	key_make(&p1, AF_INET, IPPROTO_GRE, 1, 1);
	KUNIT_EXPECT_EQ(test, raw_lookup(test, r, &p1, seen), 0);
	pcbg_raw_destroy(r);
}

/* 1000 tunnels: the table grows, each still found alone. */
static void raw_test_grow(struct kunit *test)
{
	unsigned long *seen = kunit_kzalloc(test, BITS_TO_LONGS(RAW_NSOCKS) *
					    sizeof(long), GFP_KERNEL);
	struct pcbg_raw *r = raw_make(test);
	struct pcbg_raw_key k;
	unsigned int before;
	int i, grown = 0;

	KUNIT_ASSERT_NOT_NULL(test, seen);
	before = rcu_access_pointer(r->tab)->mask + 1;
	for (i = 0; i < 1000; i++) {
		key_make(&k, AF_INET, IPPROTO_GRE, 1, i + 1);
		KUNIT_ASSERT_EQ(test, pcbg_raw_insert(r, SK(i), &k), 0);
		while (pcbg_raw_wants_growth(r))
			grown += pcbg_raw_grow(r) > 0;
	}
	KUNIT_EXPECT_GT(test, grown, 0);
	KUNIT_EXPECT_GE(test, rcu_access_pointer(r->tab)->mask + 1, 512U);
	KUNIT_EXPECT_GT(test, rcu_access_pointer(r->tab)->mask + 1, before);
	for (i = 0; i < 1000; i++) {
		key_make(&k, AF_INET, IPPROTO_GRE, 1, i + 1);
		KUNIT_EXPECT_EQ(test, raw_lookup(test, r, &k, seen), 1);
		KUNIT_EXPECT_TRUE(test, test_bit(i, seen));
	}
	pcbg_raw_destroy(r);
}

/* More candidates than a lookup holds: the caller walks instead. */
static void raw_test_batch(struct kunit *test)
{
	struct pcbg_raw *r = raw_make(test);
	struct sock *hits[PCBG_RAW_BATCH];
	struct pcbg_raw_key k;
	int i, n;

	key_make(&k, AF_INET6, IPPROTO_GRE, 0, 0);
	for (i = 0; i < PCBG_RAW_BATCH + 1; i++)
		KUNIT_ASSERT_EQ(test, pcbg_raw_insert(r, SK(i), &k), 0);
	key_make(&k, AF_INET6, IPPROTO_GRE, 1, 1);
	rcu_read_lock();
	n = pcbg_raw_collect(r, &k, hits, ARRAY_SIZE(hits));
	rcu_read_unlock();
	KUNIT_EXPECT_EQ(test, n, -E2BIG);
	pcbg_raw_remove(r, SK(0));
	rcu_read_lock();
	n = pcbg_raw_collect(r, &k, hits, ARRAY_SIZE(hits));
	rcu_read_unlock();
	KUNIT_EXPECT_EQ(test, n, PCBG_RAW_BATCH);
	pcbg_raw_destroy(r);
}

/* A resync: what it does not find again of a family goes, only that. */
static void raw_test_sweep(struct kunit *test)
{
	struct pcbg_raw *r = raw_make(test);
	struct pcbg_raw_entry *e;
	struct pcbg_raw_key k4, k6;
	unsigned long flags;
	int i;

	key_make(&k4, AF_INET, IPPROTO_GRE, 1, 1);
	key_make(&k6, AF_INET6, IPPROTO_GRE, 1, 1);
	for (i = 0; i < 10; i++)
		KUNIT_ASSERT_EQ(test, pcbg_raw_insert(r, SK(i),
						      i < 5 ? &k4 : &k6), 0);
	spin_lock_irqsave(&r->lock, flags);
	pcbg_raw_mark(r, AF_INET);
	for (i = 0; i < 2; i++) {
		e = pcbg_raw_find(r, SK(i));
		KUNIT_ASSERT_NOT_NULL(test, e);
		e->mark = false;
	}
	KUNIT_EXPECT_EQ(test, pcbg_raw_sweep(r, AF_INET), 3);
	spin_unlock_irqrestore(&r->lock, flags);
	KUNIT_EXPECT_EQ(test, r->n, 7);
	for (i = 0; i < 10; i++) {
		spin_lock_irqsave(&r->lock, flags);
		e = pcbg_raw_find(r, SK(i));
		spin_unlock_irqrestore(&r->lock, flags);
		KUNIT_EXPECT_EQ_MSG(test, !!e, i < 2 || i >= 5, "socket %d", i);
	}
	pcbg_raw_destroy(r);
}

static struct kunit_case raw_cases[] = {
	KUNIT_CASE(raw_test_covers),
	KUNIT_CASE(raw_test_model),
	KUNIT_CASE(raw_test_transit),
	KUNIT_CASE(raw_test_grow),
	KUNIT_CASE(raw_test_batch),
	KUNIT_CASE(raw_test_sweep),
	{}
};

static struct kunit_suite raw_suite = {
	.name = "pcbgroup_raw",
	.test_cases = raw_cases,
};

kunit_test_suite(raw_suite);
