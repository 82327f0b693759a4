// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: Toeplitz vectors, bucket/CPU mapping, RSS parameter parsing.
 * The vectors are ../shared/testdata/rss-toeplitz-vectors.txt; scripts/check
 * verifies that every line of that file is in the table below.
 */
#include <kunit/test.h>
#include <linux/inet.h>
#include <linux/slab.h>

#include "pcbg_rss.h"

struct rss_vector {
	const char *dst, *src;	/* local (dst) and remote (src) addresses */
	u16 dport, sport;
	u32 hash2, hash4;
};

static const struct rss_vector rss_vectors[] = {
	{ "161.142.100.80", "66.9.149.187",
	  1766, 2794, 0x323e8fc2, 0x51ccc178 },
	{ "65.69.140.83", "199.92.111.2", 4739, 14230, 0xd718262a, 0xc626b0ea },
	{ "12.22.207.184", "24.19.198.95",
	  38024, 12898, 0xd2d0a5de, 0x5c2b394a },
	{ "209.142.163.6", "38.27.205.30",
	  2217, 48228, 0x82989176, 0xafc7327f },
	{ "202.188.127.2", "153.39.163.191",
	  1303, 44251, 0x5d1809c5, 0x10e828a2 },
	{ "3ffe:2501:200:3::1", "3ffe:2501:200:1fff::7",
	  1766, 2794, 0x2cc18cd5, 0x40207d3d },
	{ "ff02::1", "3ffe:501:8::260:97ff:fe40:efab",
	  4739, 14230, 0x0f0c461c, 0xdde51bbf },
	{ "fe80::200:f8ff:fe21:67cf", "3ffe:1900:4545:3:200:f8ff:fe21:67cf",
	  38024, 44251, 0x4b61e985, 0x02d1feef },
};

/* Case n checks vector n / 2, with ports (4-tuple) when n is odd. */
static const int rss_vector_cases[2 * ARRAY_SIZE(rss_vectors)] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
};

static void rss_vector_desc(const int *n, char *desc)
{
	const struct rss_vector *v = &rss_vectors[*n / 2];

	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s:%u <- %s:%u %s-tuple",
		 v->dst, v->dport, v->src, v->sport, *n % 2 ? "4" : "2");
}

KUNIT_ARRAY_PARAM(rss_vector, rss_vector_cases, rss_vector_desc);

static struct pcbg_rss *rss_new(struct kunit *test, unsigned int bits)
{
	struct pcbg_rss *rss = kunit_kzalloc(test, sizeof(*rss), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, rss);
	pcbg_rss_init_config(rss, bits);
	return rss;
}

static void rss_toeplitz_vectors(struct kunit *test)
{
	const int *n = test->param_value;
	const struct rss_vector *v = &rss_vectors[*n / 2];
	bool ports = *n % 2;
	struct pcbg_rss *rss = rss_new(test, 2);
	u32 want = ports ? v->hash4 : v->hash2;
	struct in6_addr d6, s6;
	__be32 d4, s4;

	if (in4_pton(v->dst, -1, (u8 *)&d4, -1, NULL)) {
		KUNIT_ASSERT_TRUE(test, in4_pton(v->src, -1, (u8 *)&s4, -1, NULL));
		KUNIT_EXPECT_EQ(test, want,
				pcbg_rss_hash_v4(rss, s4, d4, htons(v->sport),
						 htons(v->dport), ports));
		return;
	}
	KUNIT_ASSERT_TRUE(test, in6_pton(v->dst, -1, d6.s6_addr, -1, NULL));
	KUNIT_ASSERT_TRUE(test, in6_pton(v->src, -1, s6.s6_addr, -1, NULL));
	KUNIT_EXPECT_EQ(test, want,
			pcbg_rss_hash_v6(rss, &s6, &d6, htons(v->sport),
					 htons(v->dport), ports));
}

/* The receive path's table-driven hash equals the bit-serial definition. */
static void rss_table_matches_serial(struct kunit *test)
{
	struct pcbg_rss *rss = rss_new(test, 2);
	u8 in[PCBG_RSS_INPUT_MAX];
	unsigned int round, len;

	for (round = 0; round < 2; round++) {
		for (len = 0; len <= PCBG_RSS_INPUT_MAX; len++) {
			get_random_bytes(in, sizeof(in));
			KUNIT_EXPECT_EQ(test,
					pcbg_toeplitz(rss->key, rss->keylen, in, len),
					pcbg_rss_toeplitz(rss, in, len));
		}
		/* Again with a 52-byte random key. */
		get_random_bytes(rss->key, PCBG_RSS_KEYLEN_MAX);
		rss->keylen = PCBG_RSS_KEYLEN_MAX;
		pcbg_rss_fill_table(rss);
	}
}

/*
 * The bucket bits alone (parity under a mask) equal the full hash's, for
 * the vectors and random tuples, every bucket count, two keys.
 */
static void rss_bucket_bits_match_hash(struct kunit *test)
{
	struct pcbg_rss *rss = rss_new(test, 1);
	unsigned int round, bits, i;

	for (round = 0; round < 2; round++) {
		for (bits = 1; bits <= PCBG_RSS_MAXBITS; bits++) {
			u32 mask = (1U << bits) - 1;

			rss->bits = bits;
			for (i = 0; i < 64; i++) {
				struct in6_addr f6, l6;
				__be32 f4, l4;
				__be16 fp, lp;

				get_random_bytes(&f6, sizeof(f6));
				get_random_bytes(&l6, sizeof(l6));
				get_random_bytes(&fp, sizeof(fp));
				get_random_bytes(&lp, sizeof(lp));
				f4 = f6.s6_addr32[0];
				l4 = l6.s6_addr32[0];
				KUNIT_EXPECT_EQ(test,
						pcbg_rss_hash_v4(rss, f4, l4, fp,
								 lp, true) & mask,
						pcbg_rss_bucket_v4(rss, f4, l4,
								   fp, lp));
				KUNIT_EXPECT_EQ(test,
						pcbg_rss_hash_v6(rss, &f6, &l6, fp,
								 lp, true) & mask,
						pcbg_rss_bucket_v6(rss, &f6, &l6,
								   fp, lp));
			}
		}
		/* Test vector 2 with the default key: hash 0xc626b0ea. */
		if (!round)
			KUNIT_EXPECT_EQ(test, 0xc626b0eaU & pcbg_rss_mask(rss),
					pcbg_rss_bucket_v4(rss,
							   htonl(0xc75c6f02),
							   htonl(0x41458c53),
							   htons(14230),
							   htons(4739)));
		get_random_bytes(rss->key, PCBG_RSS_KEYLEN_MAX);
		rss->keylen = PCBG_RSS_KEYLEN_MAX;
		pcbg_rss_fill_table(rss);
	}
}

static void rss_default_bits(struct kunit *test)
{
	/* FreeBSD: fls(ncpus - 1) + 1, at most 7 (128 entries). */
	KUNIT_EXPECT_EQ(test, 1U, pcbg_rss_default_bits(1));
	KUNIT_EXPECT_EQ(test, 2U, pcbg_rss_default_bits(2));
	KUNIT_EXPECT_EQ(test, 3U, pcbg_rss_default_bits(3));
	KUNIT_EXPECT_EQ(test, 3U, pcbg_rss_default_bits(4));
	KUNIT_EXPECT_EQ(test, 4U, pcbg_rss_default_bits(5));
	KUNIT_EXPECT_EQ(test, 4U, pcbg_rss_default_bits(8));
	KUNIT_EXPECT_EQ(test, 7U, pcbg_rss_default_bits(64));
	KUNIT_EXPECT_EQ(test, 7U, pcbg_rss_default_bits(65));
	KUNIT_EXPECT_EQ(test, 7U, pcbg_rss_default_bits(4096));
}

static void rss_bucket_cpu_mapping(struct kunit *test)
{
	struct pcbg_rss *rss = rss_new(test, 3);
	unsigned int b, cpu = cpumask_first(cpu_online_mask);

	KUNIT_EXPECT_EQ(test, 8U, pcbg_rss_buckets(rss));
	KUNIT_EXPECT_EQ(test, 7U, pcbg_rss_mask(rss));
	KUNIT_EXPECT_EQ(test, 5U, pcbg_rss_bucket(rss, 0x51ccc17d));
	KUNIT_EXPECT_EQ(test, 0U, pcbg_rss_bucket(rss, 0xfffffff8));
	/* Round-robin over the online CPUs. */
	for (b = 0; b < pcbg_rss_buckets(rss); b++) {
		KUNIT_EXPECT_EQ(test, cpu, pcbg_rss_getcpu(rss, b));
		cpu = cpumask_next(cpu, cpu_online_mask);
		if (cpu >= nr_cpu_ids)
			cpu = cpumask_first(cpu_online_mask);
	}
	/* Buckets beyond the mask wrap, as rss_getcpu() does. */
	KUNIT_EXPECT_EQ(test, pcbg_rss_getcpu(rss, 1), pcbg_rss_getcpu(rss, 9));
}

static void rss_parse_key(struct kunit *test)
{
	static const char hex40[] =
		"6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa";
	struct pcbg_rss *rss = rss_new(test, 2);
	char *buf = kunit_kzalloc(test, 256, GFP_KERNEL);
	char *colon = kunit_kzalloc(test, 256, GFP_KERNEL);
	u8 before[PCBG_RSS_KEYLEN_MAX];
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_NOT_NULL(test, colon);
	KUNIT_EXPECT_EQ(test, 0, pcbg_rss_parse_key(rss, hex40));
	KUNIT_EXPECT_EQ(test, 40, (int)rss->keylen);
	KUNIT_EXPECT_EQ(test, 0, memcmp(rss->key, pcbg_rss_default_key, 40));
	pcbg_rss_format_key(rss, buf, 256);
	KUNIT_EXPECT_EQ(test, 0, strncmp(buf, hex40, 80));
	KUNIT_EXPECT_STREQ(test, buf + 80, "\n");

	/* 52 bytes, ethtool -x style with colons and a trailing newline. */
	for (i = 0; i < 52; i++)
		sprintf(colon + i * 3, "%02x%s", i, i == 51 ? "\n" : ":");
	KUNIT_EXPECT_EQ(test, 0, pcbg_rss_parse_key(rss, colon));
	KUNIT_EXPECT_EQ(test, 52, (int)rss->keylen);
	KUNIT_EXPECT_EQ(test, 51, (int)rss->key[51]);

	/* Every bad key is refused and changes nothing. */
	memcpy(before, rss->key, sizeof(before));
	KUNIT_EXPECT_EQ(test, -EINVAL, pcbg_rss_parse_key(rss, ""));
	KUNIT_EXPECT_EQ(test, -EINVAL, pcbg_rss_parse_key(rss, "6d5a"));
	strscpy(buf, hex40, 256);
	buf[78] = '\0';		/* 39 bytes */
	KUNIT_EXPECT_EQ(test, -EINVAL, pcbg_rss_parse_key(rss, buf));
	buf[77] = '\0';		/* odd number of digits */
	KUNIT_EXPECT_EQ(test, -EINVAL, pcbg_rss_parse_key(rss, buf));
	snprintf(buf, 256, "%s00", hex40);	/* 41 bytes */
	KUNIT_EXPECT_EQ(test, -EINVAL, pcbg_rss_parse_key(rss, buf));
	strscpy(buf, hex40, 256);
	buf[10] = 'z';
	KUNIT_EXPECT_EQ(test, -EINVAL, pcbg_rss_parse_key(rss, buf));
	/* Colons: one between every two bytes, or none at all. */
	KUNIT_EXPECT_EQ(test, -EINVAL, pcbg_rss_parse_key(rss, "::"));
	KUNIT_EXPECT_EQ(test, -EINVAL, pcbg_rss_parse_key(rss, ":6d"));
	colon[52 * 3 - 1] = ':';	/* a trailing colon */
	KUNIT_EXPECT_EQ(test, -EINVAL, pcbg_rss_parse_key(rss, colon));
	colon[52 * 3 - 1] = 0;
	colon[5] = ':';			/* "00:01::02:..." */
	memmove(colon + 6, colon + 5, strlen(colon + 5) + 1);
	KUNIT_EXPECT_EQ(test, -EINVAL, pcbg_rss_parse_key(rss, colon));
	strscpy(buf, hex40, 256);
	buf[2] = ':';			/* a colon in a plain key */
	KUNIT_EXPECT_EQ(test, -EINVAL, pcbg_rss_parse_key(rss, buf));
	snprintf(buf, 256, "%s\nxx", hex40);
	KUNIT_EXPECT_EQ(test, -EINVAL, pcbg_rss_parse_key(rss, buf));
	KUNIT_EXPECT_EQ(test, -EINVAL, pcbg_rss_parse_key(rss, ":6d"));
	KUNIT_EXPECT_EQ(test, 52, (int)rss->keylen);
	KUNIT_EXPECT_EQ(test, 0, memcmp(rss->key, before, sizeof(before)));
}

static void rss_set_bits(struct kunit *test)
{
	struct pcbg_rss *rss = rss_new(test, 2);

	rss->cpu[0] = 1;
	KUNIT_EXPECT_EQ(test, -EINVAL, pcbg_rss_set_bits(rss, "0"));
	KUNIT_EXPECT_EQ(test, -EINVAL, pcbg_rss_set_bits(rss, "8"));
	KUNIT_EXPECT_EQ(test, -EINVAL, pcbg_rss_set_bits(rss, "-1"));
	KUNIT_EXPECT_EQ(test, -EINVAL, pcbg_rss_set_bits(rss, "two"));
	KUNIT_EXPECT_EQ(test, -EINVAL, pcbg_rss_set_bits(rss, ""));
	KUNIT_EXPECT_EQ(test, 2, (int)rss->bits);
	KUNIT_EXPECT_EQ(test, 1, (int)rss->cpu[0]);
	/* The current value again keeps the mapping the user set. */
	KUNIT_EXPECT_EQ(test, 0, pcbg_rss_set_bits(rss, "2"));
	KUNIT_EXPECT_EQ(test, 1, (int)rss->cpu[0]);
	KUNIT_EXPECT_EQ(test, 0, pcbg_rss_set_bits(rss, "7\n"));
	KUNIT_EXPECT_EQ(test, 128U, pcbg_rss_buckets(rss));
	/* A new bucket count starts from the default table. */
	KUNIT_EXPECT_EQ(test, cpumask_first(cpu_online_mask),
			(unsigned int)rss->cpu[0]);
}

static void rss_parse_mapping(struct kunit *test)
{
	struct pcbg_rss *rss = rss_new(test, 2);
	unsigned int c0 = cpumask_first(cpu_online_mask);
	unsigned int clast = cpumask_last(cpu_online_mask);
	char *buf = kunit_kzalloc(test, 256, GFP_KERNEL);
	char *want = kunit_kzalloc(test, 256, GFP_KERNEL);
	u16 before[PCBG_RSS_MAXBUCKETS];

	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_NOT_NULL(test, want);
	snprintf(buf, 256, "0:%u,1:%u 3:%u\n", clast, clast, c0);
	KUNIT_EXPECT_EQ(test, 0, pcbg_rss_parse_mapping(rss, buf));
	KUNIT_EXPECT_EQ(test, clast, pcbg_rss_getcpu(rss, 0));
	KUNIT_EXPECT_EQ(test, clast, pcbg_rss_getcpu(rss, 1));
	KUNIT_EXPECT_EQ(test, c0, pcbg_rss_getcpu(rss, 3));
	pcbg_rss_format_mapping(rss, buf, 256);
	snprintf(want, 256, "0:%u 1:%u 2:%u 3:%u\n", clast, clast,
		 rss->cpu[2], c0);
	KUNIT_EXPECT_STREQ(test, buf, want);

	memcpy(before, rss->cpu, sizeof(before));
	KUNIT_EXPECT_EQ(test, -EINVAL, pcbg_rss_parse_mapping(rss, ""));
	KUNIT_EXPECT_EQ(test, -EINVAL, pcbg_rss_parse_mapping(rss, "0"));
	KUNIT_EXPECT_EQ(test, -EINVAL, pcbg_rss_parse_mapping(rss, "0-1"));
	KUNIT_EXPECT_EQ(test, -EINVAL, pcbg_rss_parse_mapping(rss, "0:0x"));
	KUNIT_EXPECT_EQ(test, -EINVAL, pcbg_rss_parse_mapping(rss, "4:0"));
	/* Numbers that overflow are refused, not truncated (2^32 + 1 = 1). */
	KUNIT_EXPECT_EQ(test, -EINVAL,
			pcbg_rss_parse_mapping(rss, "4294967297:0"));
	KUNIT_EXPECT_EQ(test, -EINVAL,
			pcbg_rss_parse_mapping(rss, "1:4294967296"));
	KUNIT_EXPECT_EQ(test, -EINVAL, pcbg_rss_parse_mapping(rss, "1:-0"));
	KUNIT_EXPECT_EQ(test, -EINVAL, pcbg_rss_parse_mapping(rss, ":0"));
	KUNIT_EXPECT_EQ(test, -EINVAL, pcbg_rss_parse_mapping(rss, "1:"));
	KUNIT_EXPECT_EQ(test, -EINVAL, pcbg_rss_parse_mapping(rss, "1:0:0"));
	snprintf(buf, 256, "0:%u", nr_cpu_ids);
	KUNIT_EXPECT_EQ(test, -EINVAL, pcbg_rss_parse_mapping(rss, buf));
	/* A good pair before a bad one is not applied either. */
	snprintf(buf, 256, "2:%u 9:%u", c0, c0);
	KUNIT_EXPECT_EQ(test, -EINVAL, pcbg_rss_parse_mapping(rss, buf));
	KUNIT_EXPECT_EQ(test, 0, memcmp(rss->cpu, before, sizeof(before)));
}

static struct kunit_case rss_cases[] = {
	KUNIT_CASE_PARAM(rss_toeplitz_vectors, rss_vector_gen_params),
	KUNIT_CASE(rss_table_matches_serial),
	KUNIT_CASE(rss_bucket_bits_match_hash),
	KUNIT_CASE(rss_default_bits),
	KUNIT_CASE(rss_bucket_cpu_mapping),
	KUNIT_CASE(rss_parse_key),
	KUNIT_CASE(rss_set_bits),
	KUNIT_CASE(rss_parse_mapping),
	{}
};

static struct kunit_suite rss_suite = {
	.name = "pcbgroup_rss",
	.test_cases = rss_cases,
};

kunit_test_suite(rss_suite);
