/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The per-network-namespace instance: FreeBSD's vnet. Every table, tunable
 * and counter of pcbgroup lives here, built and torn down with the
 * namespace (netns.c).
 */
#ifndef _PCBG_NET_H
#define _PCBG_NET_H

#include <linux/percpu.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "pcbg_group.h"
#include "pcbg_prison.h"
#include "pcbg_raw.h"

enum pcbg_proto {
	PCBG_TCP,
	PCBG_UDP,
	PCBG_NPROTO,
};

enum pcbg_stat {
	PCBG_STAT_LOOKUPS,	/* packets looked up in a group */
	PCBG_STAT_HIT_EXACT,
	PCBG_STAT_HIT_BUCKET,
	PCBG_STAT_HIT_WILD,
	PCBG_STAT_MISS,		/* hashed, but left to the reservation table */
	PCBG_STAT_ASIDE,	/* the kernel's pick unknowable: left to it */
	PCBG_STAT_FALLBACK,	/* local packet without a usable hash */
	PCBG_STAT_VERIFIED,	/* answers compared with the native lookup */
	PCBG_STAT_MISMATCH,
	PCBG_STAT_INSERT_FAIL,	/* allocation failure while tracking */
	PCBG_STAT_RESYNC,	/* walks over the namespace's sockets */
	PCBG_STAT_STALE,	/* entries a resync found gone from the kernel */
	PCBG_STAT_RESIZE,	/* group or wildcard tables grown or shrunk */
	PCBG_STAT_VERIFY_RACE,	/* verify: the socket moved to TIME_WAIT between */
	PCBG_STAT_VERIFY_PRISON, /* verify: differs by a prison rule, as it must */
	PCBG_STAT_RAW_INDEXED,	/* raw packets delivered through the index */
	PCBG_STAT_RAW_WALKED,	/* ... through the kernel's list */
	PCBG_STAT_RAW_VERIFIED,	/* verify: index answers compared */
	PCBG_STAT_RAW_MISMATCH,
	PCBG_STAT_RAW_RESYNC,	/* raw index rebuilt from the kernel's list */
	PCBG_STAT_PRISON_GIVEN,	/* SYNs handed the listener the prison hook found */
	PCBG_STAT_PRISON_UDP_LEFT, /* datagrams the prison hook did not look up */
	PCBG_STAT_MAX,
};

struct pcbg_pcpu_stats {
	u64 stat[PCBG_STAT_MAX];
	u64 group_lookups[PCBG_RSS_MAXBUCKETS];
	u64 group_hits[PCBG_RSS_MAXBUCKETS];
};

/* The statistics macros, FreeBSD's IPSTAT_INC(): per-CPU, lock-free. */
#define PCBG_INC(pn, name) \
	this_cpu_inc((pn)->stats->stat[PCBG_STAT_##name])
#define PCBG_ADD(pn, name, n) \
	this_cpu_add((pn)->stats->stat[PCBG_STAT_##name], n)
#define PCBG_GROUP_INC(pn, array, group) \
	this_cpu_inc((pn)->stats->array[group])

struct pcbg_net {
	struct net *net;
	struct pcbg_table __rcu *tables[PCBG_NPROTO];
	struct pcbg_table *dying[PCBG_NPROTO];	/* freed after a grace period */
	/* Tunables, net.pcbgroup.*; read locklessly in the receive path. */
	int enable;
	int verify;
	int soft_hash;
	int loopback;
	/* steer.c's hooks came here; set once, and TCP connections get
	 * entries from then on (track.c)
	 */
	bool steer_hooks;
	bool steer_gone;	/* the namespace is going: hooks unregistered */
	bool steer_deliver;	/* its delivery hook too, where it can answer */
	struct pcbg_pcpu_stats __percpu *stats;
	struct delayed_work resync;	/* after an insert failure */
	struct delayed_work reap;	/* after a walk: closed TCP sockets */
	struct delayed_work place;	/* listeners that had no port yet */
	unsigned long udp_missed;	/* missed UDP probes its last resync saw */
	struct ctl_table_header *sysctl;
	struct proc_dir_entry *proc;
	struct pcbg_jails jails;	/* prisons (prison.c) */
	struct pcbg_raw raw;		/* raw sockets (raw_demux.c) */
};

extern unsigned int pcbg_net_id;
extern bool pcbg_tracking;

/*
 * Every socket of every namespace is tracked: set once the load-time walk
 * is done, for the namespaces that exist and every one made later.
 */
static inline bool pcbg_tracking_ready(void)
{
	return READ_ONCE(pcbg_tracking);	/* paired with pcbg_netns_set_ready() */
}

static inline struct pcbg_net *pcbg_net(const struct net *net)
{
	return net_generic(net, pcbg_net_id);
}

/*
 * The same, for the receive path, which is inside rcu_read_lock() already:
 * net_generic()'s own lock and unlock are out-of-line calls under
 * PREEMPT_RCU (Debian's PREEMPT_DYNAMIC).
 */
static inline struct pcbg_net *pcbg_net_rcu(const struct net *net)
{
	return rcu_dereference(net->gen)->ptr[pcbg_net_id];
}

/*
 * The same where preemption is off instead (an ftrace handler): since the
 * RCU flavours were merged, that is an RCU reader too.
 */
static inline struct pcbg_net *pcbg_net_sched(const struct net *net)
{
	return rcu_dereference_sched(net->gen)->ptr[pcbg_net_id];
}

static inline struct pcbg_table *pcbg_net_table(struct pcbg_net *pn,
						int protocol)
{
	return rcu_dereference(pn->tables[protocol == IPPROTO_TCP ?
					  PCBG_TCP : PCBG_UDP]);
}

int pcbg_netns_init(void);
void pcbg_netns_exit(void);
void pcbg_netns_set_ready(bool ready);

/* instances.c: a walk over every namespace's instance */
typedef void (*pcbg_instance_fn)(struct pcbg_net *pn);
void pcbg_all_instances(pcbg_instance_fn fn);
void pcbg_instances_set_open(bool open);

/* stats.c: /proc/net/pcbgroup/ */
int pcbg_proc_init_net(struct pcbg_net *pn);
void pcbg_proc_exit_net(struct pcbg_net *pn);
u64 pcbg_stat_sum(struct pcbg_net *pn, enum pcbg_stat stat);
struct sock *pcbg_answer_given(struct pcbg_net *pn, const struct pcbg_rss *rss,
			       const struct pcbg_query *q,
			       enum pcbg_stage where, u32 hash, bool partial,
			       unsigned int group, struct sock *sk,
			       enum pcbg_hit hit);

/* sockets.c: /proc/net/pcbgroup/sockets */
int pcbg_sockets_proc_init(struct pcbg_net *pn);

/* udp_lookup.c: UDP answered inside the kernel's lookup functions */
void pcbg_udp_lookup_init(void);
void pcbg_udp_lookup_exit(void);
bool pcbg_udp_lookup_armed(void);

/* steer.c: the netfilter hooks, where something can be hashed */
int pcbg_steer_init(void);
void pcbg_steer_exit(void);
int pcbg_steer_update(struct pcbg_net *pn, bool existing);
void pcbg_steer_exit_net(struct pcbg_net *pn);
void pcbg_steer_jails_changed(struct pcbg_net *pn);

/* track.c: membership follows the kernel's sockets */
int pcbg_track_init(void);
void pcbg_track_exit(void);
void pcbg_track_walk(void);
void pcbg_track_walk_net(struct net *net);
void pcbg_track_conns_on(struct pcbg_net *pn, bool existing);
void pcbg_track_place_unbound(struct work_struct *work);
unsigned long pcbg_track_udp_missed(void);
struct kretprobe;
const struct kretprobe *pcbg_track_connect4_probe(void);
void pcbg_track_init_net(struct pcbg_net *pn);
void pcbg_track_cancel_net(struct pcbg_net *pn);
void pcbg_track_repair_exit(void);
/* Membership repair: a table that missed a socket, a UDP probe that missed. */
void pcbg_table_failed(struct pcbg_net *pn, struct pcbg_table *t);
void pcbg_udp_missed_check(void);
void pcbg_track_rekeyed(void);

/*
 * No UDP probe missed a call since this namespace was last walked: its UDP
 * table has every socket, and no stale one, so its answers may be given.
 */
static inline bool pcbg_udp_reliable(struct pcbg_net *pn)
{
	if (likely(pcbg_track_udp_missed() == READ_ONCE(pn->udp_missed)))
		return true;
	pcbg_udp_missed_check();
	return false;
}

/* verify.c: every answer compared with the kernel's (verify mode) */
bool pcbg_verify(struct pcbg_net *pn, enum pcbg_stage stage, int protocol,
		 const struct pcbg_tuple *tp, struct sock *sk);

#endif /* _PCBG_NET_H */
