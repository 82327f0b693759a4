// SPDX-License-Identifier: GPL-2.0
/*
 * UDP answered inside the kernel's own lookup functions,
 * __udp4_lib_lookup() and __udp6_lib_lookup(): an ftrace handler on each
 * (IPMODIFY, as raw demux and livepatch redirect) gives the groups' answer
 * as the function's return value, or lets the function run.
 *
 * Why there and not in a netfilter hook: with UDP_GRO on any socket
 * (QUIC servers), udp4_gro_receive() looks every datagram up before any
 * hook, and that lookup walks every connected socket of the port
 * (udp4_lib_lookup2()); ICMP errors, diag, TPROXY and the BPF socket
 * helpers look up through the same functions. Answering in the function
 * serves all of them, with the stack's own inputs, at the stack's own
 * point.
 *
 * Where it cannot win it leaves at once: a port without connected
 * sockets in the namespace's table (the kernel's hash2 finds an
 * unconnected socket in one step, and a socket alone on its port, which
 * the table does not hold: track.c), another UDP table (UDP-Lite),
 * loopback unless the namespace asks for it. Where it answers, the answer
 * policy is the one of every other path (pcbg_answer(), at delivery), so
 * the socket is the one the function would have returned; the group is
 * found by the software RSS bucket, which is what sockets are placed by
 * (the function is not always given the packet, so not its NIC hash).
 *
 * If the functions cannot be redirected (a livepatch of either), the
 * netfilter delivery hook answers UDP as before and the log says so.
 */
#include <linux/ftrace.h>
#include <linux/module.h>
#include <net/udp.h>

#include "pcbg_net.h"

static bool pcbg_default_udp_lookup = true;
module_param_named(udp_lookup, pcbg_default_udp_lookup, bool, 0444);
MODULE_PARM_DESC(udp_lookup,
		 "Answer UDP inside __udp4/6_lib_lookup() (serves GRO, ICMP errors, diag); 0: only at the LOCAL_IN hook (default 1)");

static bool pcbg_udp_armed;

/* The redirection target: the socket the handler put in its argument. */
static noinline notrace struct sock *pcbg_udp_found(struct sock *sk)
{
	return sk;
}

/*
 * The groups' answer for a lookup in @t, the UDP table of @pn's namespace,
 * or NULL to let the kernel's function look. Under the caller's
 * rcu_read_lock(), as the function itself is; the socket is not
 * referenced (UDP sockets are freed after a grace period), as the
 * function returns it.
 */
static struct sock *pcbg_udp_answer(struct pcbg_net *pn, struct pcbg_table *t,
				    struct pcbg_tuple *tp)
{
	const struct pcbg_rss *rss;
	struct pcbg_query q;
	unsigned int group;
	enum pcbg_hit hit;
	struct sock *sk;

	rss = pcbg_rss_get();
	q.tp = tp;
	q.hash = pcbg_tuple_rss_bucket(rss, tp);
	q.protocol = IPPROTO_UDP;
	q.stage = PCBG_DELIVER;
	q.syn = false;
	q.udp_reliable = pcbg_udp_reliable(pn);
	q.placed_by = pcbg_rss_settled();
	group = pcbg_table_group(t, rss, q.hash);
	PCBG_INC(pn, LOOKUPS);
	PCBG_GROUP_INC(pn, group_lookups, group);
	sk = pcbg_answer(t, rss, &q, &hit);
	/* verify: the kernel's function, called from here, is not redirected */
	return pcbg_answer_given(pn, rss, &q, PCBG_LOOKUP, q.hash, true, group,
				 sk, hit);
}

/* Return @sk from the redirected function without running it. */
static void notrace pcbg_udp_return(struct ftrace_regs *fregs,
				    struct sock *sk)
{
	fregs->regs.di = (unsigned long)sk;
	ftrace_instruction_pointer_set(fregs, (unsigned long)pcbg_udp_found);
}

/*
 * An argument past the sixth, on the stack above the return address, read
 * as a load: regs_get_kernel_argument() copies it with
 * copy_from_kernel_nofault(), a call on every UDP lookup of the host,
 * though the slot is on the current stack (0, as there, if it is not).
 */
static unsigned long pcbg_stack_arg(struct pt_regs *regs, unsigned int n)
{
	unsigned long *addr;

	addr = regs_get_kernel_stack_nth_addr(regs, n - NR_REG_ARGUMENTS + 1);
	return addr ? *addr : 0;
}

/*
 * __udp4_lib_lookup(net, saddr, sport, daddr, dport, dif, sdif, udptable,
 * skb) and __udp6_lib_lookup(), the same with addresses by pointer: the
 * packet's tuple from the arguments as the function's entry has them.
 */
static void pcbg_udp_tuple(struct pt_regs *regs, bool v6,
			   struct pcbg_tuple *tp)
{
	memset(tp, 0, sizeof(*tp));
	if (v6) {
		tp->family = AF_INET6;
		tp->faddr6 = *(const struct in6_addr *)regs->si;
		tp->laddr6 = *(const struct in6_addr *)regs->cx;
	} else {
		tp->family = AF_INET;
		tp->faddr4 = (__force __be32)(u32)regs->si;
		tp->laddr4 = (__force __be32)(u32)regs->cx;
	}
	tp->fport = (__force __be16)(u16)regs->dx;
	tp->lport = (__force __be16)(u16)regs->r8;
	tp->dif = (int)regs->r9;
	tp->sdif = (int)pcbg_stack_arg(regs, 6);
}

/* The call site of a function's ftrace hook is within its first bytes. */
static bool pcbg_udp_is_v6(unsigned long ip)
{
#if IS_ENABLED(CONFIG_IPV6)
	return ip - (unsigned long)__udp6_lib_lookup < 16;
#else
	return false;
#endif
}

/*
 * The lookup answered, or left to the function. Apart from the handler:
 * the tuple is a local the kernel's CONFIG_INIT_STACK_ALL_ZERO clears, and
 * the handler's exits should not pay for that.
 */
static noinline void notrace pcbg_udp_lookup(unsigned long ip,
					     struct ftrace_regs *fregs,
					     struct pcbg_net *pn,
					     struct pcbg_table *t)
{
	struct pt_regs *regs = &fregs->regs;
	struct pcbg_tuple tp;
	struct sock *sk;

	pcbg_udp_tuple(regs, pcbg_udp_is_v6(ip), &tp);
	sk = pcbg_udp_answer(pn, t, &tp);
	if (sk)
		pcbg_udp_return(fregs, sk);
}

static void notrace pcbg_udp_ftrace(unsigned long ip, unsigned long parent_ip,
				    struct ftrace_ops *op,
				    struct ftrace_regs *fregs)
{
	struct pt_regs *regs = &fregs->regs;
	struct pcbg_table *t;
	struct pcbg_net *pn;
	int bit;

	/*
	 * The UDP table (not UDP-Lite's), the same argument in both; every
	 * namespace has its instance only once tracking is ready (armed
	 * before: pcbg_udp_lookup_init()).
	 */
	if (pcbg_stack_arg(regs, 7) != (unsigned long)&udp_table ||
	    !pcbg_tracking_ready())
		return;
	pn = pcbg_net_rcu((struct net *)regs->di);
	/* Loopback is the reservation table's, as at the hooks: no work. */
	if ((int)regs->r9 == LOOPBACK_IFINDEX && !READ_ONCE(pn->loopback))
		return;
	if (!READ_ONCE(pn->enable))
		return;
	/*
	 * A port without connected sockets (dport, by value in both): the
	 * kernel's hash2 finds its socket in one step; tested before any
	 * other work, as it is most UDP traffic's way out.
	 */
	t = pcbg_net_table(pn, IPPROTO_UDP);
	if (!t || !pcbg_port_has_exact_port(t, (__force __be16)(u16)regs->r8))
		return;
	bit = ftrace_test_recursion_trylock(ip, parent_ip);
	if (bit < 0)
		return;	/* verify's own call: the kernel's function runs */
	pcbg_udp_lookup(ip, fregs, pn, t);
	ftrace_test_recursion_unlock(bit);
}

/* One ftrace_ops for both: one registration, one grace period to leave. */
static struct ftrace_ops pcbg_udp_ops = {
	.func = pcbg_udp_ftrace,
	.flags = FTRACE_OPS_FL_IPMODIFY,
};

/*
 * By address: a filter by name matches every ftrace site of the kernel
 * against kallsyms, seconds on a slow host at each load.
 */
static unsigned long pcbg_udp_fns[] = {
	(unsigned long)__udp4_lib_lookup,
#if IS_ENABLED(CONFIG_IPV6)
	(unsigned long)__udp6_lib_lookup,
#endif
};

/* Whether UDP is answered in the lookup functions (else at LOCAL_IN). */
bool pcbg_udp_lookup_armed(void)
{
	return READ_ONCE(pcbg_udp_armed);
}

void pcbg_udp_lookup_exit(void)
{
	if (!READ_ONCE(pcbg_udp_armed))
		return;
	/* Waits for every task to leave the handler and its target. */
	unregister_ftrace_function(&pcbg_udp_ops);
	WRITE_ONCE(pcbg_udp_armed, false);
	ftrace_free_filter(&pcbg_udp_ops);	/* frees; once only */
}

/*
 * Both functions or neither. A failure (another IPMODIFY user of either:
 * a livepatch) leaves UDP to the LOCAL_IN hook, and the log says so.
 * Called first at load: whether the namespaces need that hook is then
 * known before any of them registers its hooks (steer.c).
 */
void pcbg_udp_lookup_init(void)
{
	int err;

	if (!pcbg_default_udp_lookup)
		return;
	err = ftrace_set_filter_ips(&pcbg_udp_ops, pcbg_udp_fns,
				    ARRAY_SIZE(pcbg_udp_fns), 0, 0);
	if (!err)
		err = register_ftrace_function(&pcbg_udp_ops);
	if (err) {
		pr_warn("udp lookup: cannot redirect __udp4_lib_lookup and __udp6_lib_lookup (%d): UDP is answered at LOCAL_IN only\n",
			err);
		ftrace_free_filter(&pcbg_udp_ops);
		pcbg_default_udp_lookup = false;
		return;
	}
	WRITE_ONCE(pcbg_udp_armed, true);
}
