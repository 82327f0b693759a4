/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints for bpftrace and perf: tracepoint:pcbgroup:lookup fires for
 * every lookup a steering hook makes (stage 0: early demux, 1: delivery,
 * 2: inside the kernel's UDP lookup function),
 * tracepoint:pcbgroup:resize for every table grown or shrunk.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM pcbgroup

#if !defined(_PCBG_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _PCBG_TRACE_H

#include <linux/tracepoint.h>
#include <net/net_namespace.h>

#include "pcbg_group.h"

/*
 * An outcome beyond enum pcbg_hit (whose PCBG_ASIDE is 6; 4 was the
 * no-hash fallback, which no longer reaches a lookup).
 */
#define PCBG_TRACE_MISMATCH	5	/* verify mode disagreed: not steered */

TRACE_EVENT(lookup,
	TP_PROTO(const struct net *net, const struct pcbg_tuple *tp,
		 u8 protocol, int stage, u32 hash, int group, int cpu,
		 int outcome, const struct sock *sk),
	TP_ARGS(net, tp, protocol, stage, hash, group, cpu, outcome, sk),
	TP_STRUCT__entry(
		__field(__u32, netns)
		__field(__u16, family)
		__field(__u8, protocol)
		__field(__u8, stage)
		__array(__u8, faddr, 16)
		__array(__u8, laddr, 16)
		__field(__u16, fport)
		__field(__u16, lport)
		__field(__u32, hash)
		__field(int, group)
		__field(int, cpu)
		__field(int, rxcpu)
		__field(int, outcome)
		__field(const void *, sk)
	),
	TP_fast_assign(
		__entry->netns = net->ns.inum;
		__entry->family = tp->family;
		__entry->protocol = protocol;
		__entry->stage = stage;
		if (tp->family == AF_INET) {
			memset(__entry->faddr, 0, 16);
			memset(__entry->laddr, 0, 16);
			memcpy(__entry->faddr, &tp->faddr4, 4);
			memcpy(__entry->laddr, &tp->laddr4, 4);
		} else {
			memcpy(__entry->faddr, &tp->faddr6, 16);
			memcpy(__entry->laddr, &tp->laddr6, 16);
		}
		__entry->fport = ntohs(tp->fport);
		__entry->lport = ntohs(tp->lport);
		__entry->hash = hash;
		__entry->group = group;
		__entry->cpu = cpu;
		__entry->rxcpu = raw_smp_processor_id();
		__entry->outcome = outcome;
		__entry->sk = sk;
	),
	TP_printk("netns=%u stage=%s proto=%u family=%u lport=%u fport=%u hash=0x%08x group=%d cpu=%d rxcpu=%d outcome=%s sk=%p",
		  __entry->netns,
		  __print_symbolic(__entry->stage, { PCBG_DEMUX, "demux" },
				   { PCBG_DELIVER, "deliver" },
				   { PCBG_LOOKUP, "lookup" }),
		  __entry->protocol, __entry->family,
		  __entry->lport, __entry->fport, __entry->hash, __entry->group,
		  __entry->cpu, __entry->rxcpu,
		  __print_symbolic(__entry->outcome,
				   { PCBG_MISS, "miss" },
				   { PCBG_HIT_EXACT, "exact" },
				   { PCBG_HIT_BUCKET, "bucket_listener" },
				   { PCBG_HIT_WILD, "wildcard" },
				   { PCBG_TRACE_MISMATCH, "mismatch" },
				   { PCBG_ASIDE, "aside" }),
		  __entry->sk)
);

/*
 * A table was resized: @group is the connection group, or -1 for the
 * wildcard table; @count its sockets when the new size was published.
 */
TRACE_EVENT(resize,
	TP_PROTO(const struct net *net, u8 protocol, int group,
		 unsigned int from, unsigned int to, unsigned int count),
	TP_ARGS(net, protocol, group, from, to, count),
	TP_STRUCT__entry(
		__field(__u32, netns)
		__field(__u8, protocol)
		__field(int, group)
		__field(unsigned int, from)
		__field(unsigned int, to)
		__field(unsigned int, count)
	),
	TP_fast_assign(
		__entry->netns = net->ns.inum;
		__entry->protocol = protocol;
		__entry->group = group;
		__entry->from = from;
		__entry->to = to;
		__entry->count = count;
	),
	TP_printk("netns=%u proto=%u group=%d buckets=%u->%u count=%u",
		  __entry->netns, __entry->protocol, __entry->group,
		  __entry->from, __entry->to, __entry->count)
);

/*
 * A socket joined (op 1) or left (op 0) a table: @kind 1 exact, 2
 * wildcard; @group its connection group, -1 for the wildcard table.
 */
TRACE_EVENT(member,
	TP_PROTO(const struct net *net, u8 protocol, const struct sock *sk,
		 int kind, int group, bool in),
	TP_ARGS(net, protocol, sk, kind, group, in),
	TP_STRUCT__entry(
		__field(__u32, netns)
		__field(__u8, protocol)
		__field(__u8, op)
		__field(__u8, kind)
		__field(__u16, family)
		__field(__u16, lport)
		__field(__u16, fport)
		__field(int, group)
		__field(const void *, sk)
	),
	TP_fast_assign(
		__entry->netns = net->ns.inum;
		__entry->protocol = protocol;
		__entry->op = in;
		__entry->kind = kind;
		__entry->family = sk->sk_family;
		__entry->lport = sk->sk_num;
		__entry->fport = ntohs(sk->sk_dport);
		__entry->group = group;
		__entry->sk = sk;
	),
	TP_printk("netns=%u proto=%u %s kind=%s group=%d family=%u lport=%u fport=%u sk=%p",
		  __entry->netns, __entry->protocol,
		  __entry->op ? "insert" : "remove",
		  __entry->kind == PCBG_EXACT ? "exact" : "wildcard",
		  __entry->group, __entry->family, __entry->lport,
		  __entry->fport, __entry->sk)
);

/*
 * A prisoner's call refused: @check is "bind", "connect", "send" or
 * "freebind"; @err the error returned to it.
 */
TRACE_EVENT(prison_deny,
	TP_PROTO(const struct net *net, u32 prison, const char *check, int err),
	TP_ARGS(net, prison, check, err),
	TP_STRUCT__entry(
		__field(__u32, netns)
		__field(__u32, prison)
		__string(check, check)
		__field(int, err)
	),
	TP_fast_assign(
		__entry->netns = net->ns.inum;
		__entry->prison = prison;
		__assign_str(check, check);
		__entry->err = err;
	),
	TP_printk("netns=%u prison=%u check=%s err=%d", __entry->netns,
		  __entry->prison, __get_str(check), __entry->err)
);

#endif /* _PCBG_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE pcbg_trace
#include <trace/define_trace.h>
