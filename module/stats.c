// SPDX-License-Identifier: GPL-2.0
/*
 * Statistics and /proc/net/pcbgroup/ of one namespace. Counters are
 * per-CPU (PCBG_INC() in pcbg_net.h) and summed only when read.
 */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/net_namespace.h>

#include "pcbg_net.h"
#include "pcbg_rss.h"
#include "pcbg_trace.h"

static const char *const pcbg_stat_names[PCBG_STAT_MAX] = {
	[PCBG_STAT_LOOKUPS]	= "lookups",
	[PCBG_STAT_HIT_EXACT]	= "hit_exact",
	[PCBG_STAT_HIT_BUCKET]	= "hit_bucket_listener",
	[PCBG_STAT_HIT_WILD]	= "hit_wildcard",
	[PCBG_STAT_MISS]	= "miss",
	[PCBG_STAT_ASIDE]	= "aside",
	[PCBG_STAT_FALLBACK]	= "fallback",
	[PCBG_STAT_VERIFIED]	= "verified",
	[PCBG_STAT_MISMATCH]	= "mismatch",
	[PCBG_STAT_INSERT_FAIL]	= "insert_fail",
	[PCBG_STAT_RESYNC]	= "resync",
	[PCBG_STAT_STALE]	= "stale",
	[PCBG_STAT_RESIZE]	= "resize",
	[PCBG_STAT_VERIFY_RACE]	= "verify_race",
	[PCBG_STAT_VERIFY_PRISON] = "verify_prison",
	[PCBG_STAT_RAW_INDEXED]	= "raw_indexed",
	[PCBG_STAT_RAW_WALKED]	= "raw_walked",
	[PCBG_STAT_RAW_VERIFIED] = "raw_verified",
	[PCBG_STAT_RAW_MISMATCH] = "raw_mismatch",
	[PCBG_STAT_RAW_RESYNC]	= "raw_resync",
	[PCBG_STAT_PRISON_GIVEN] = "prison_given",
	[PCBG_STAT_PRISON_UDP_LEFT] = "prison_udp_left",
};

static const char *const pcbg_proto_names[PCBG_NPROTO] = { "tcp", "udp" };
static const char *const pcbg_kind_names[] = {
	[PCBG_EXACT] = "exact", [PCBG_WILD] = "wildcard",
};

u64 pcbg_stat_sum(struct pcbg_net *pn, enum pcbg_stat stat)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu_ptr(pn->stats, cpu)->stat[stat];
	return sum;
}

/* How a lookup ended, counted once per answer given or refused. */
static void pcbg_count_hit(struct pcbg_net *pn, enum pcbg_hit hit)
{
	switch (hit) {
	case PCBG_HIT_EXACT:
		PCBG_INC(pn, HIT_EXACT);
		break;
	case PCBG_HIT_BUCKET:
		PCBG_INC(pn, HIT_BUCKET);
		break;
	case PCBG_HIT_WILD:
		PCBG_INC(pn, HIT_WILD);
		break;
	case PCBG_ASIDE:
		PCBG_INC(pn, ASIDE);
		break;
	default:
		PCBG_INC(pn, MISS);
		break;
	}
}

/**
 * pcbg_answer_given - an answer checked, traced and counted
 * @pn: the namespace
 * @rss: the RSS configuration @hash was computed with
 * @q: the query pcbg_answer() was asked
 * @where: the stage to report (the hooks' own, or PCBG_LOOKUP)
 * @hash: the RSS hash, or only its bucket bits if @partial
 * @partial: the tracepoint wants the whole hash computed
 * @group: the packet's group
 * @sk: pcbg_answer()'s socket, or NULL
 * @hit: pcbg_answer()'s outcome
 *
 * In verify mode an answer the kernel would not give is dropped (and its
 * reference put). Returns the socket to hand to the stack, or NULL.
 */
struct sock *pcbg_answer_given(struct pcbg_net *pn, const struct pcbg_rss *rss,
			       const struct pcbg_query *q,
			       enum pcbg_stage where, u32 hash, bool partial,
			       unsigned int group, struct sock *sk,
			       enum pcbg_hit hit)
{
	int outcome = hit;

	if (sk && READ_ONCE(pn->verify) &&
	    !pcbg_verify(pn, where, q->protocol, q->tp, sk)) {
		pcbg_answer_put(sk);
		sk = NULL;
		hit = PCBG_ASIDE;
		outcome = PCBG_TRACE_MISMATCH;
	}
	if (trace_lookup_enabled()) {
		if (partial)
			hash = pcbg_tuple_rss_hash(rss, q->tp);
		trace_lookup(pn->net, q->tp, q->protocol, where, hash, group,
			     pcbg_rss_getcpu(rss, pcbg_rss_bucket(rss, hash)),
			     outcome, sk);
	}
	pcbg_count_hit(pn, hit);
	if (sk)
		PCBG_GROUP_INC(pn, group_hits, group);
	return sk;
}

static int pcbg_stats_show(struct seq_file *seq, void *v)
{
	struct pcbg_net *pn = pcbg_net(seq_file_single_net(seq));
	struct pcbg_table *tcp;
	int i, k;

	for (i = 0; i < PCBG_STAT_MAX; i++)
		seq_printf(seq, "%s %llu\n", pcbg_stat_names[i],
			   pcbg_stat_sum(pn, i));
	rcu_read_lock();
	for (i = 0; i < PCBG_NPROTO; i++) {
		struct pcbg_table *t = rcu_dereference(pn->tables[i]);

		for (k = PCBG_EXACT; k < PCBG_NKINDS && t; k++)
			seq_printf(seq, "%s_%s %u\n", pcbg_proto_names[i],
				   pcbg_kind_names[k],
				   pcbg_table_members(t, k));
	}
	/* The SYN rule's count of prisoners' listeners (group.c). */
	tcp = rcu_dereference(pn->tables[PCBG_TCP]);
	if (tcp) {
		unsigned int unknown, n;

		n = pcbg_table_jailed_listeners(tcp, &unknown);
		seq_printf(seq, "tcp_jail_listeners %u\ntcp_jail_unknown %u\n",
			   n, unknown);
	}
	/* Whether the steering hooks are there (steer.c). */
	seq_printf(seq, "steer_hooks %d\nsteer_deliver %d\n",
		   READ_ONCE(pn->steer_hooks), READ_ONCE(pn->steer_deliver));
	/* Prisons (prison.c); unconfined counts for every namespace. */
	seq_printf(seq, "prisons %u\nprison_denied %d\nprison_dropped %d\nprison_unconfined %lu\n",
		   READ_ONCE(pn->jails.n), atomic_read(&pn->jails.denied),
		   atomic_read(&pn->jails.dropped), pcbg_prison_unconfined());
	seq_printf(seq, "raw_sockets %u\nraw_armed %d\n", READ_ONCE(pn->raw.n),
		   READ_ONCE(pn->raw.active));
	/* Host-wide: a missed kretprobe does not say whose socket it was. */
	seq_printf(seq, "udp_probe_missed %lu\n", pcbg_track_udp_missed());
	rcu_read_unlock();
	return 0;
}

/* One group's columns of a table: members, buckets, longest bucket. */
static void pcbg_group_cols(struct seq_file *seq, struct pcbg_group *g)
{
	seq_printf(seq, " %u %u %u", READ_ONCE(g->count),
		   rcu_dereference(g->tab)->mask + 1, pcbg_group_longest(g));
}

/*
 * One line per connection group, then one for the wildcard table ("wild",
 * shared by all groups). The tables' sizes change with their sockets; the
 * longest bucket counts a group's slots and overflow chain together.
 */
static int pcbg_groups_show(struct seq_file *seq, void *v)
{
	struct pcbg_net *pn = pcbg_net(seq_file_single_net(seq));
	const struct pcbg_rss *rss;
	struct pcbg_table *t[PCBG_NPROTO];
	unsigned int g, n, i;
	int cpu;

	seq_puts(seq, "group cpu lookups hits tcp_members tcp_buckets tcp_longest udp_members udp_buckets udp_longest\n");
	rcu_read_lock();
	rss = pcbg_rss_get();
	for (i = 0; i < PCBG_NPROTO; i++)
		t[i] = rcu_dereference(pn->tables[i]);
	n = t[PCBG_TCP] && t[PCBG_UDP] ? t[PCBG_TCP]->ngroups : 0;
	for (g = 0; g < n; g++) {
		u64 lookups = 0, hits = 0;

		for_each_possible_cpu(cpu) {
			lookups += per_cpu_ptr(pn->stats, cpu)->group_lookups[g];
			hits += per_cpu_ptr(pn->stats, cpu)->group_hits[g];
		}
		seq_printf(seq, "%u %u %llu %llu", g, pcbg_rss_getcpu(rss, g),
			   lookups, hits);
		for (i = 0; i < PCBG_NPROTO; i++)
			pcbg_group_cols(seq, &t[i]->groups[g]);
		seq_putc(seq, '\n');
	}
	if (n) {
		seq_puts(seq, "wild - - -");
		for (i = 0; i < PCBG_NPROTO; i++)
			pcbg_group_cols(seq, &t[i]->wild);
		seq_putc(seq, '\n');
	}
	rcu_read_unlock();
	return 0;
}

int pcbg_proc_init_net(struct pcbg_net *pn)
{
	struct net *net = pn->net;

	pn->proc = proc_net_mkdir(net, "pcbgroup", net->proc_net);
	if (!pn->proc)
		return -ENOMEM;
	if (!proc_create_net_single("stats", 0444, pn->proc, pcbg_stats_show,
				    NULL) ||
	    !proc_create_net_single("groups", 0444, pn->proc, pcbg_groups_show,
				    NULL) ||
	    pcbg_sockets_proc_init(pn)) {
		pcbg_proc_exit_net(pn);
		return -ENOMEM;
	}
	return 0;
}

void pcbg_proc_exit_net(struct pcbg_net *pn)
{
	if (pn->proc)
		remove_proc_subtree("pcbgroup", pn->net->proc_net);
	pn->proc = NULL;
}
