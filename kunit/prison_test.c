// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: FreeBSD's prison_check_ip4/6, prison_local_ip4/6 and
 * prison_remote_ip4/6 (in_jail.c, in6_jail.c), table by table: no prison,
 * one address, several, none of the family, loopback listed or not,
 * v4-mapped IPv6; and the definition checks and listing estimate.
 */
#include <kunit/test.h>
#include <linux/inet.h>
#include <linux/slab.h>
#include <net/ipv6.h>

#include "pcbg_prison.h"

enum { P_NONE, P_ONE, P_SEVERAL, P_V6ONLY, P_V4ONLY, P_LOOP, P_EMPTY, P_N };

/* The prisons of the tables: addresses as text, primary first. */
static const char *const prison_addrs[P_N][2][3] = {
	[P_ONE]		= { { "192.0.2.1" }, { "2001:db8::1" } },
	[P_SEVERAL]	= { { "192.0.2.1", "192.0.2.2", "198.51.100.7" },
			    { "2001:db8::1", "2001:db8::2" } },
	[P_V6ONLY]	= { { NULL }, { "2001:db8::1" } },
	[P_V4ONLY]	= { { "192.0.2.1" }, { NULL } },
	[P_LOOP]	= { { "192.0.2.1", "127.0.0.1" }, { "2001:db8::1", "::1" } },
	[P_EMPTY]	= { { NULL }, { NULL } },
};

static struct pcbg_prison_addrs *prison_make(struct kunit *test, int which)
{
	struct pcbg_prison_addrs *pa;
	int i;

	if (which == P_NONE)
		return NULL;
	pa = kunit_kzalloc(test, sizeof(*pa), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pa);
	for (i = 0; i < 3 && prison_addrs[which][0][i]; i++)
		KUNIT_ASSERT_TRUE(test, in4_pton(prison_addrs[which][0][i], -1,
						 (u8 *)&pa->a4[pa->n4++], -1,
						 NULL));
	for (i = 0; i < 3 && prison_addrs[which][1][i]; i++)
		KUNIT_ASSERT_TRUE(test, in6_pton(prison_addrs[which][1][i], -1,
						 pa->a6[pa->n6++].s6_addr, -1,
						 NULL));
	KUNIT_ASSERT_EQ(test, pcbg_prison_addrs_valid(pa), 0);
	return pa;
}

static __be32 a4(struct kunit *test, const char *s)
{
	__be32 a;

	KUNIT_ASSERT_TRUE(test, in4_pton(s, -1, (u8 *)&a, -1, NULL));
	return a;
}

static struct in6_addr a6(struct kunit *test, const char *s)
{
	struct in6_addr a;

	KUNIT_ASSERT_TRUE(test, in6_pton(s, -1, a.s6_addr, -1, NULL));
	return a;
}

enum op { CHECK, LOCAL, REMOTE, LOCAL_V6ONLY };

struct prison_case {
	int prison;
	enum op op;
	const char *addr;	/* in */
	int err;
	const char *out;	/* the address after, if changed */
};

static const struct prison_case cases4[] = {
	/* Not jailed: everything goes, nothing changes. */
	{ P_NONE, CHECK, "203.0.113.9", 0 },
	{ P_NONE, LOCAL, "0.0.0.0", 0 },
	{ P_NONE, LOCAL, "127.0.0.1", 0 },
	{ P_NONE, REMOTE, "127.0.0.1", 0 },
	/* One address. */
	{ P_ONE, CHECK, "192.0.2.1", 0 },
	{ P_ONE, CHECK, "192.0.2.2", -EADDRNOTAVAIL },
	{ P_ONE, CHECK, "0.0.0.0", -EADDRNOTAVAIL },
	{ P_ONE, CHECK, "127.0.0.1", -EADDRNOTAVAIL },
	{ P_ONE, LOCAL, "0.0.0.0", 0, "192.0.2.1" },
	{ P_ONE, LOCAL, "127.0.0.1", 0, "192.0.2.1" },
	{ P_ONE, LOCAL, "127.0.0.2", -EADDRNOTAVAIL },
	{ P_ONE, LOCAL, "203.0.113.9", -EADDRNOTAVAIL },
	{ P_ONE, REMOTE, "127.0.0.1", 0, "192.0.2.1" },
	{ P_ONE, REMOTE, "203.0.113.9", 0 },
	/* All of 127/8 is this host; 0.0.0.0 is routed to it. */
	{ P_ONE, REMOTE, "127.0.0.2", 0, "192.0.2.1" },
	{ P_ONE, REMOTE, "127.0.0.53", 0, "192.0.2.1" },
	{ P_ONE, REMOTE, "127.255.255.254", 0, "192.0.2.1" },
	{ P_ONE, REMOTE, "0.0.0.0", 0, "192.0.2.1" },
	{ P_ONE, REMOTE, "126.255.255.255", 0 },
	{ P_ONE, REMOTE, "128.0.0.1", 0 },
	/* Several: the wildcard stays one, any of them binds. */
	{ P_SEVERAL, CHECK, "198.51.100.7", 0 },
	{ P_SEVERAL, CHECK, "198.51.100.8", -EADDRNOTAVAIL },
	{ P_SEVERAL, LOCAL, "0.0.0.0", 0, "0.0.0.0" },
	{ P_SEVERAL, LOCAL, "192.0.2.2", 0 },
	{ P_SEVERAL, LOCAL, "127.0.0.1", 0, "192.0.2.1" },
	{ P_SEVERAL, REMOTE, "127.0.0.1", 0, "192.0.2.1" },
	/* No IPv4 address. */
	{ P_V6ONLY, CHECK, "192.0.2.1", -EAFNOSUPPORT },
	{ P_V6ONLY, LOCAL, "0.0.0.0", -EAFNOSUPPORT },
	{ P_V6ONLY, REMOTE, "203.0.113.9", -EAFNOSUPPORT },
	{ P_EMPTY, CHECK, "192.0.2.1", -EAFNOSUPPORT },
	{ P_EMPTY, LOCAL, "127.0.0.1", -EAFNOSUPPORT },
	/* Loopback listed: kept. */
	{ P_LOOP, CHECK, "127.0.0.1", 0 },
	{ P_LOOP, LOCAL, "127.0.0.1", 0, "127.0.0.1" },
	{ P_LOOP, REMOTE, "127.0.0.1", 0, "127.0.0.1" },
	{ P_LOOP, REMOTE, "127.0.1.1", 0, "192.0.2.1" },
	{ P_LOOP, LOCAL, "0.0.0.0", 0, "0.0.0.0" },
};

static const struct prison_case cases6[] = {
	{ P_NONE, CHECK, "2001:db8::99", 0 },
	{ P_NONE, LOCAL, "::", 0, "::" },
	{ P_ONE, CHECK, "2001:db8::1", 0 },
	{ P_ONE, CHECK, "2001:db8::2", -EADDRNOTAVAIL },
	{ P_ONE, CHECK, "::1", -EADDRNOTAVAIL },
	/* A dual-stack wildcard stays one; a v6-only one is substituted. */
	{ P_ONE, LOCAL, "::", 0, "::" },
	{ P_ONE, LOCAL_V6ONLY, "::", 0, "2001:db8::1" },
	{ P_SEVERAL, LOCAL_V6ONLY, "::", 0, "::" },
	{ P_ONE, LOCAL, "::1", 0, "2001:db8::1" },
	{ P_ONE, LOCAL, "2001:db8::7", -EADDRNOTAVAIL },
	{ P_ONE, REMOTE, "::1", 0, "2001:db8::1" },
	{ P_ONE, REMOTE, "::", 0, "2001:db8::1" },
	{ P_ONE, REMOTE, "::2", 0 },
	{ P_SEVERAL, REMOTE, "::", 0, "2001:db8::1" },
	{ P_LOOP, LOCAL, "::1", 0, "::1" },
	{ P_LOOP, REMOTE, "::1", 0, "::1" },
	{ P_SEVERAL, LOCAL, "2001:db8::2", 0 },
	{ P_V4ONLY, CHECK, "2001:db8::1", -EAFNOSUPPORT },
	{ P_V4ONLY, LOCAL, "::", -EAFNOSUPPORT },
	{ P_EMPTY, REMOTE, "::1", -EAFNOSUPPORT },
	/* v4-mapped: the IPv4 rules, on the IPv4 list. */
	{ P_ONE, CHECK, "::ffff:192.0.2.1", 0 },
	{ P_ONE, CHECK, "::ffff:192.0.2.2", -EADDRNOTAVAIL },
	{ P_ONE, LOCAL, "::ffff:0.0.0.0", 0, "::ffff:192.0.2.1" },
	{ P_ONE, LOCAL, "::ffff:127.0.0.1", 0, "::ffff:192.0.2.1" },
	{ P_ONE, REMOTE, "::ffff:127.0.0.1", 0, "::ffff:192.0.2.1" },
	{ P_ONE, REMOTE, "::ffff:127.0.0.2", 0, "::ffff:192.0.2.1" },
	{ P_ONE, REMOTE, "::ffff:0.0.0.0", 0, "::ffff:192.0.2.1" },
	{ P_V6ONLY, CHECK, "::ffff:192.0.2.1", -EAFNOSUPPORT },
	{ P_V6ONLY, LOCAL, "::ffff:0.0.0.0", -EAFNOSUPPORT },
	{ P_V4ONLY, LOCAL, "::ffff:192.0.2.1", 0 },
};

static void prison_case4(struct kunit *test)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases4); i++) {
		const struct prison_case *c = &cases4[i];
		struct pcbg_prison_addrs *pa = prison_make(test, c->prison);
		__be32 in = a4(test, c->addr), a = in;
		int err;

		if (c->op == CHECK)
			err = pcbg_prison_check4(pa, a);
		else if (c->op == LOCAL)
			err = pcbg_prison_local4(pa, &a);
		else
			err = pcbg_prison_remote4(pa, &a);
		KUNIT_EXPECT_EQ_MSG(test, err, c->err, "case %u: %s", i,
				    c->addr);
		KUNIT_EXPECT_EQ_MSG(test, a, c->out ? a4(test, c->out) : in,
				    "case %u: %s", i, c->addr);
	}
}

static void prison_case6(struct kunit *test)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases6); i++) {
		const struct prison_case *c = &cases6[i];
		struct pcbg_prison_addrs *pa = prison_make(test, c->prison);
		struct in6_addr in = a6(test, c->addr), a = in, want;
		int err;

		if (c->op == CHECK)
			err = pcbg_prison_check6(pa, &a);
		else if (c->op == REMOTE)
			err = pcbg_prison_remote6(pa, &a);
		else
			err = pcbg_prison_local6(pa, &a,
						 c->op == LOCAL_V6ONLY);
		want = c->out ? a6(test, c->out) : in;
		KUNIT_EXPECT_EQ_MSG(test, err, c->err, "case %u: %s", i,
				    c->addr);
		KUNIT_EXPECT_TRUE_MSG(test, ipv6_addr_equal(&a, &want),
				      "case %u: %s became %pI6c", i, c->addr,
				      &a);
	}
}

/* Definitions: unicast addresses, each once, at most 64 a family. */
static void prison_definition(struct kunit *test)
{
	struct pcbg_prison_addrs *pa = kunit_kzalloc(test, sizeof(*pa),
						     GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, pa);
	KUNIT_EXPECT_EQ(test, pcbg_prison_addrs_valid(pa), 0);	/* none */
	pa->a4[pa->n4++] = a4(test, "192.0.2.1");
	KUNIT_EXPECT_EQ(test, pcbg_prison_addrs_valid(pa), 0);
	pa->a4[pa->n4++] = a4(test, "192.0.2.1");
	KUNIT_EXPECT_EQ(test, pcbg_prison_addrs_valid(pa), -EEXIST);
	pa->a4[1] = a4(test, "224.0.0.1");
	KUNIT_EXPECT_EQ(test, pcbg_prison_addrs_valid(pa), -EINVAL);
	pa->a4[1] = a4(test, "0.0.0.0");
	KUNIT_EXPECT_EQ(test, pcbg_prison_addrs_valid(pa), -EINVAL);
	pa->a4[1] = a4(test, "255.255.255.255");
	KUNIT_EXPECT_EQ(test, pcbg_prison_addrs_valid(pa), -EINVAL);
	pa->n4 = 1;
	pa->a6[pa->n6++] = a6(test, "::ffff:192.0.2.1");
	KUNIT_EXPECT_EQ(test, pcbg_prison_addrs_valid(pa), -EINVAL);
	pa->a6[0] = a6(test, "ff02::1");
	KUNIT_EXPECT_EQ(test, pcbg_prison_addrs_valid(pa), -EINVAL);
	pa->a6[0] = a6(test, "::1");
	KUNIT_EXPECT_EQ(test, pcbg_prison_addrs_valid(pa), 0);
	pa->n4 = PCBG_PRISON_ADDRS_MAX + 1;
	KUNIT_EXPECT_EQ(test, pcbg_prison_addrs_valid(pa), -E2BIG);
}

static struct kunit_case prison_cases[] = {
	KUNIT_CASE(prison_case4),
	KUNIT_CASE(prison_case6),
	KUNIT_CASE(prison_definition),
	{}
};

static struct kunit_suite prison_suite = {
	.name = "pcbgroup_prison",
	.test_cases = prison_cases,
};

kunit_test_suite(prison_suite);
