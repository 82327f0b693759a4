// SPDX-License-Identifier: GPL-2.0
/*
 * Software Toeplitz hash and RSS configuration, after FreeBSD's
 * sys/net/rss_config.c and sys/net/toeplitz.c.
 *
 * A bucket is hash & mask; each bucket has a CPU. The default number of
 * bits is FreeBSD's: fls(ncpus - 1) + 1, so there are at least two buckets
 * per CPU, capped at 128 indirection entries. Everything here works on a
 * struct pcbg_rss passed in, so that the parsing and validation can be unit
 * tested; rss_params.c owns the live copy.
 */
#include <linux/kernel.h>
#include <linux/bitops.h>
#include <linux/cpumask.h>
#include <linux/ctype.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <asm/unaligned.h>

#include "pcbg_rss.h"

/* The Microsoft verification key, also FreeBSD's default rss_key. */
const u8 pcbg_rss_default_key[PCBG_RSS_KEYLEN_MIN] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2,
	0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
	0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4,
	0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
	0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

u32 pcbg_toeplitz(const u8 *key, unsigned int keylen,
		  const u8 *data, unsigned int len)
{
	u32 hash = 0, v = get_unaligned_be32(key);
	unsigned int i, b;

	for (i = 0; i < len; i++) {
		u8 next = i + 4 < keylen ? key[i + 4] : 0;

		for (b = 0; b < 8; b++) {
			if (data[i] & (0x80 >> b))
				hash ^= v;
			v = (v << 1) | ((next >> (7 - b)) & 1);
		}
	}
	return hash;
}

/*
 * The bit-serial loop above costs 8 steps per input byte; the receive path
 * uses per-byte tables instead (FreeBSD's toeplitz_hash() is bit-serial).
 * Each input bit XORs in the 32-bit key window starting at that bit, so a
 * byte's contribution depends only on its position and value.
 */
void pcbg_rss_fill_table(struct pcbg_rss *rss)
{
	unsigned int i, b, v, p;

	memset(rss->bmask, 0, sizeof(rss->bmask));
	for (i = 0; i < PCBG_RSS_INPUT_MAX; i++) {
		u32 win[8];

		for (b = 0; b < 8; b++) {
			u8 in[PCBG_RSS_INPUT_MAX] = { 0 };
			unsigned int k = i * 8 + b;	/* input bit, MSB first */

			in[i] = 0x80 >> b;
			win[b] = pcbg_toeplitz(rss->key, rss->keylen, in, i + 1);
			for (p = 0; p < PCBG_RSS_MAXBITS; p++)
				if (win[b] & BIT(p))
					rss->bmask[p][k / 64] |=
						BIT_ULL(63 - k % 64);
		}
		rss->tbl[i][0] = 0;
		for (v = 1; v < 256; v++)
			rss->tbl[i][v] = rss->tbl[i][v & (v - 1)] ^
					 win[7 - __ffs(v)];
	}
}

u32 pcbg_rss_toeplitz(const struct pcbg_rss *rss, const u8 *data,
		      unsigned int len)
{
	u32 hash = 0;
	unsigned int i;

	for (i = 0; i < len; i++)
		hash ^= rss->tbl[i][data[i]];
	return hash;
}

u32 pcbg_rss_hash_v4(const struct pcbg_rss *rss, __be32 faddr, __be32 laddr,
		     __be16 fport, __be16 lport, bool ports)
{
	u8 in[12];

	memcpy(in, &faddr, 4);
	memcpy(in + 4, &laddr, 4);
	memcpy(in + 8, &fport, 2);
	memcpy(in + 10, &lport, 2);
	return pcbg_rss_toeplitz(rss, in, ports ? 12 : 8);
}

u32 pcbg_rss_hash_v6(const struct pcbg_rss *rss, const struct in6_addr *faddr,
		     const struct in6_addr *laddr, __be16 fport, __be16 lport,
		     bool ports)
{
	u8 in[36];

	memcpy(in, faddr, 16);
	memcpy(in + 16, laddr, 16);
	memcpy(in + 32, &fport, 2);
	memcpy(in + 34, &lport, 2);
	return pcbg_rss_toeplitz(rss, in, ports ? 36 : 32);
}

unsigned int pcbg_rss_default_bits(unsigned int ncpus)
{
	unsigned int bits = fls(ncpus ? ncpus - 1 : 0) + 1;

	return min_t(unsigned int, bits, PCBG_RSS_MAXBITS);
}

/* Round-robin over the online CPUs, as FreeBSD's rss_init(). */
void pcbg_rss_default_mapping(struct pcbg_rss *rss)
{
	unsigned int b, cpu = cpumask_first(cpu_online_mask);

	for (b = 0; b < PCBG_RSS_MAXBUCKETS; b++) {
		rss->cpu[b] = cpu;
		cpu = cpumask_next(cpu, cpu_online_mask);
		if (cpu >= nr_cpu_ids)
			cpu = cpumask_first(cpu_online_mask);
	}
}

void pcbg_rss_init_config(struct pcbg_rss *rss, unsigned int bits)
{
	memset(rss, 0, sizeof(*rss));
	memcpy(rss->key, pcbg_rss_default_key, sizeof(pcbg_rss_default_key));
	rss->keylen = sizeof(pcbg_rss_default_key);
	rss->bits = bits;
	pcbg_rss_default_mapping(rss);
	pcbg_rss_fill_table(rss);
}

/*
 * Accepts plain hex or ethtool -x's colon-separated bytes, so a user can
 * paste the NIC's key. Only 40- and 52-byte keys exist on real NICs.
 */
int pcbg_rss_parse_key(struct pcbg_rss *rss, const char *val)
{
	u8 key[PCBG_RSS_KEYLEN_MAX];
	unsigned int n = 0;
	const char *p = skip_spaces(val);
	bool colons = false;

	/* Plain hex, or ethtool's xx:xx:...: one colon between every two. */
	for (;;) {
		int hi = hex_to_bin(p[0]);
		int lo = hi < 0 ? -1 : hex_to_bin(p[1]);

		if (hi < 0 || lo < 0 || n == PCBG_RSS_KEYLEN_MAX)
			return -EINVAL;
		key[n++] = hi << 4 | lo;
		p += 2;
		if (n == 1)
			colons = *p == ':';
		if (!*p || *p == '\n')
			break;
		if (colons && *p++ != ':')
			return -EINVAL;
	}
	if (*p == '\n' && p[1])
		return -EINVAL;
	if (n != PCBG_RSS_KEYLEN_MIN && n != PCBG_RSS_KEYLEN_MAX)
		return -EINVAL;
	memcpy(rss->key, key, n);
	rss->keylen = n;
	pcbg_rss_fill_table(rss);
	return 0;
}

int pcbg_rss_format_key(const struct pcbg_rss *rss, char *buf, size_t size)
{
	size_t len = 0;
	unsigned int i;

	for (i = 0; i < rss->keylen; i++)
		len += scnprintf(buf + len, size - len, "%02x", rss->key[i]);
	len += scnprintf(buf + len, size - len, "\n");
	return len;
}

/*
 * Only the bucket bits, each the parity of the input under its mask: a
 * few ANDs and a popcount per bit instead of a table load per input byte.
 * Inline, so that the word loop unrolls for each address family.
 */
static __always_inline u32 pcbg_rss_bits(const struct pcbg_rss *rss,
					 const u64 *w, unsigned int nw)
{
	unsigned int p, j;
	u32 bucket = 0;

	for (p = 0; p < rss->bits; p++) {
		u64 x = 0;

		for (j = 0; j < nw; j++)
			x ^= w[j] & rss->bmask[p][j];
		bucket |= (hweight64(x) & 1) << p;
	}
	return bucket;
}

u32 pcbg_rss_bucket_v4(const struct pcbg_rss *rss, __be32 faddr, __be32 laddr,
		       __be16 fport, __be16 lport)
{
	u64 w[2] = {
		(u64)be32_to_cpu(faddr) << 32 | be32_to_cpu(laddr),
		(u64)((u32)be16_to_cpu(fport) << 16 | be16_to_cpu(lport)) << 32,
	};

	return pcbg_rss_bits(rss, w, ARRAY_SIZE(w));
}

u32 pcbg_rss_bucket_v6(const struct pcbg_rss *rss, const struct in6_addr *faddr,
		       const struct in6_addr *laddr, __be16 fport, __be16 lport)
{
	u64 w[5] = {
		get_unaligned_be64(&faddr->s6_addr[0]),
		get_unaligned_be64(&faddr->s6_addr[8]),
		get_unaligned_be64(&laddr->s6_addr[0]),
		get_unaligned_be64(&laddr->s6_addr[8]),
		(u64)((u32)be16_to_cpu(fport) << 16 | be16_to_cpu(lport)) << 32,
	};

	return pcbg_rss_bits(rss, w, ARRAY_SIZE(w));
}

/* Changing the bucket count resets the indirection table. */
int pcbg_rss_set_bits(struct pcbg_rss *rss, const char *val)
{
	unsigned int bits;
	int err = kstrtouint(val, 0, &bits);

	if (err)
		return err;
	if (bits < 1 || bits > PCBG_RSS_MAXBITS)
		return -EINVAL;
	if (bits == rss->bits)
		return 0;	/* keeps a mapping the user set */
	rss->bits = bits;
	pcbg_rss_default_mapping(rss);
	return 0;
}

/*
 * "bucket:cpu" pairs separated by spaces or commas, FreeBSD's
 * net.inet.rss.bucket_mapping format. All pairs are checked before any is
 * applied, so a bad write changes nothing.
 */
static bool pcbg_mapping_sep(char c)
{
	return c == ' ' || c == ',' || c == '\t' || c == '\n';
}

/* One decimal number of a pair, up to @end; overflow is an error. */
static int pcbg_mapping_num(const char *p, const char *end, unsigned int *v)
{
	char num[12];

	if (end <= p || end - p >= sizeof(num))
		return -EINVAL;
	memcpy(num, p, end - p);
	num[end - p] = 0;
	return kstrtouint(num, 10, v) ? -EINVAL : 0;
}

int pcbg_rss_parse_mapping(struct pcbg_rss *rss, const char *val)
{
	u16 cpu[PCBG_RSS_MAXBUCKETS];
	const char *p = val;
	unsigned int pairs = 0;

	memcpy(cpu, rss->cpu, sizeof(cpu));
	for (;;) {
		const char *colon, *end;
		unsigned int b, c;

		while (pcbg_mapping_sep(*p))
			p++;
		if (!*p)
			break;
		for (end = p; *end && !pcbg_mapping_sep(*end); end++)
			;
		colon = memchr(p, ':', end - p);
		if (!colon || pcbg_mapping_num(p, colon, &b) ||
		    pcbg_mapping_num(colon + 1, end, &c))
			return -EINVAL;
		p = end;
		if (b >= pcbg_rss_buckets(rss))
			return -EINVAL;
		if (c >= nr_cpu_ids || !cpu_online(c))
			return -EINVAL;
		cpu[b] = c;
		pairs++;
	}
	if (!pairs)
		return -EINVAL;
	memcpy(rss->cpu, cpu, sizeof(cpu));
	return 0;
}

int pcbg_rss_format_mapping(const struct pcbg_rss *rss, char *buf, size_t size)
{
	size_t len = 0;
	unsigned int b;

	for (b = 0; b < pcbg_rss_buckets(rss); b++)
		len += scnprintf(buf + len, size - len, "%s%u:%u",
				 b ? " " : "", b, rss->cpu[b]);
	len += scnprintf(buf + len, size - len, "\n");
	return len;
}
