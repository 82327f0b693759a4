/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RSS (Toeplitz) hashing and the bucket -> CPU indirection table, after
 * FreeBSD's sys/net/rss_config.c. The configuration is global, as on
 * FreeBSD: it describes the NIC, not a network stack.
 */
#ifndef _PCBG_RSS_H
#define _PCBG_RSS_H

#include <linux/kernel.h>
#include <linux/types.h>
#include <linux/in6.h>
#include <linux/atomic.h>
#include <linux/rcupdate.h>

#define PCBG_RSS_KEYLEN_MIN	40
#define PCBG_RSS_KEYLEN_MAX	52
#define PCBG_RSS_MAXBITS	7	/* 128 indirection entries, as FreeBSD */
#define PCBG_RSS_MAXBUCKETS	(1U << PCBG_RSS_MAXBITS)

#define PCBG_RSS_INPUT_MAX	36	/* IPv6 4-tuple */

struct pcbg_rss {
	u8 key[PCBG_RSS_KEYLEN_MAX];
	u8 keylen;
	u8 bits;
	u16 cpu[PCBG_RSS_MAXBUCKETS];	/* bucket -> CPU */
	struct rcu_head rcu;
	/*
	 * Hash bit p is the parity of the input (big-endian 64-bit words)
	 * under bmask[p]: a lookup needs only the bucket bits.
	 */
	u64 bmask[PCBG_RSS_MAXBITS][DIV_ROUND_UP(PCBG_RSS_INPUT_MAX, 8)];
	/* Toeplitz by table: byte i of the input with value v adds tbl[i][v]. */
	u32 tbl[PCBG_RSS_INPUT_MAX][256];
};

extern const u8 pcbg_rss_default_key[PCBG_RSS_KEYLEN_MIN];

u32 pcbg_toeplitz(const u8 *key, unsigned int keylen,
		  const u8 *data, unsigned int len);
void pcbg_rss_fill_table(struct pcbg_rss *rss);
u32 pcbg_rss_toeplitz(const struct pcbg_rss *rss, const u8 *data,
		      unsigned int len);

/* Hash inputs follow the RSS convention: the remote peer is the source. */
u32 pcbg_rss_hash_v4(const struct pcbg_rss *rss, __be32 faddr, __be32 laddr,
		     __be16 fport, __be16 lport, bool ports);
u32 pcbg_rss_hash_v6(const struct pcbg_rss *rss, const struct in6_addr *faddr,
		     const struct in6_addr *laddr, __be16 fport, __be16 lport,
		     bool ports);
/* The same hashes' bucket bits only (the bits above the mask are zero). */
u32 pcbg_rss_bucket_v4(const struct pcbg_rss *rss, __be32 faddr, __be32 laddr,
		       __be16 fport, __be16 lport);
u32 pcbg_rss_bucket_v6(const struct pcbg_rss *rss, const struct in6_addr *faddr,
		       const struct in6_addr *laddr, __be16 fport, __be16 lport);

static inline unsigned int pcbg_rss_buckets(const struct pcbg_rss *rss)
{
	return 1U << rss->bits;
}

static inline u32 pcbg_rss_mask(const struct pcbg_rss *rss)
{
	return pcbg_rss_buckets(rss) - 1;
}

static inline unsigned int pcbg_rss_bucket(const struct pcbg_rss *rss, u32 hash)
{
	return hash & pcbg_rss_mask(rss);
}

static inline unsigned int pcbg_rss_getcpu(const struct pcbg_rss *rss,
					   unsigned int bucket)
{
	return rss->cpu[bucket & pcbg_rss_mask(rss)];
}

/* Configuration: pure functions on a struct, so KUnit can test them. */
unsigned int pcbg_rss_default_bits(unsigned int ncpus);
void pcbg_rss_init_config(struct pcbg_rss *rss, unsigned int bits);
void pcbg_rss_default_mapping(struct pcbg_rss *rss);
int pcbg_rss_parse_key(struct pcbg_rss *rss, const char *val);
int pcbg_rss_format_key(const struct pcbg_rss *rss, char *buf, size_t size);
int pcbg_rss_set_bits(struct pcbg_rss *rss, const char *val);
int pcbg_rss_parse_mapping(struct pcbg_rss *rss, const char *val);
int pcbg_rss_format_mapping(const struct pcbg_rss *rss, char *buf, size_t size);

/*
 * Non-zero while a new key's sockets are moved to their new groups: a
 * connected socket may then sit in the group of the old key.
 */
extern atomic_t pcbg_rss_moving;

static inline bool pcbg_rss_settled(void)
{
	return !atomic_read(&pcbg_rss_moving);
}

/* The live configuration, read under RCU. */
extern struct pcbg_rss __rcu *pcbg_rss_live;

static inline const struct pcbg_rss *pcbg_rss_get(void)
{
	return rcu_dereference(pcbg_rss_live);
}

/*
 * The same with bottom halves off (under a spin_lock_bh()): an RCU reader
 * since the flavours were merged, without rcu_read_lock()'s two calls.
 */
static inline const struct pcbg_rss *pcbg_rss_get_bh(void)
{
	return rcu_dereference_bh(pcbg_rss_live);
}

/* rss_params.c: the live configuration's lifetime and its users. */
void pcbg_rss_setup(void (*rekeyed)(void));
void pcbg_rss_teardown(void);
unsigned int pcbg_rss_hold(void);
void pcbg_rss_release(void);

#endif /* _PCBG_RSS_H */
