// SPDX-License-Identifier: GPL-2.0
/*
 * In-kernel lookup microbenchmark: pcbgroup's group lookup against the
 * kernel's __inet_lookup_established(), __inet_lookup_listener() and
 * __udp4_lib_lookup(), over the same sockets, in one run.
 *
 * Loaded inside a network namespace (ip netns exec NS insmod ...), it
 * creates @sockets established TCP sockets (sk_alloc(tcp_prot), hashed into
 * the namespace's real ehash with inet_ehash_nolisten()) and enters each in
 * a private connection-group table made as the module makes its own (at
 * its defaults: it starts small and grows), while two threads look up
 * sockets already in, to show that growth does not stall them. Then it
 * times lookups of random flows (cold) and of 64 flows (hot), listener
 * lookups, and the same work on one CPU against two. With @udp it instead
 * binds that many unconnected UDP sockets to distinct ports and times
 * their lookup. Results are printed as "bench: ..." lines; the load then
 * fails with -EAGAIN so that nothing stays behind.
 */
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/mutex.h>
#include <linux/random.h>
#include <linux/sort.h>
#include <linux/vmalloc.h>
#include <net/inet_hashtables.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/udp.h>

#include "pcbg_lookup.h"

extern atomic_t pcbg_resizes_seen;	/* core.c */

static unsigned int sockets = 1000;
module_param(sockets, uint, 0444);
MODULE_PARM_DESC(sockets, "Established sockets in the tables");
static unsigned int lookups = 200000;
module_param(lookups, uint, 0444);
MODULE_PARM_DESC(lookups, "Lookups per measurement");
static unsigned int reps = 5;
module_param(reps, uint, 0444);
MODULE_PARM_DESC(reps, "Repetitions of each measurement");
static char *only;
module_param(only, charp, 0444);
MODULE_PARM_DESC(only, "Run just this lookup kind, for profiling (e.g. pcbgroup_hwhash)");
static unsigned int udp;
module_param(udp, uint, 0444);
MODULE_PARM_DESC(udp, "Unconnected UDP sockets on distinct ports: time their lookup instead");
static bool profile_hot = true;
module_param_named(hot, profile_hot, bool, 0444);
MODULE_PARM_DESC(hot, "With only=: the hot set (Y) or every flow once (N)");

#define LADDR	htonl(0xc0000201)	/* 192.0.2.1 */
#define LPORT	80		/* the established sockets' and the listener's */
#define UDP_PORT0 20000
#define HOT	64

struct bench {
	struct net *net;
	struct inet_hashinfo *h;
	struct pcbg_table *t;
	struct pcbg_rss *rss;
	struct sock **sks;
	u32 *order;		/* random flow order */
	u32 *hash;		/* the NIC's hash of flow order[k], at k */
	u32 *cpu_pos[2];	/* positions whose bucket maps to CPU 0, 1 */
	u32 ncpu_pos[2];
	struct socket *listener;
	struct pcbg_table *tu;	/* UDP: the wildcard sockets */
	struct socket **usocks;
};

static __be32 faddr_of(u32 i)
{
	return htonl(0xc6120000 + (i >> 8));	/* 198.18.0.0/15 */
}

static __be16 fport_of(u32 i)
{
	return htons(10000 + (i & 255));
}

/* A SYN's: no established socket has it, the listener answers. */
static __be16 syn_fport_of(u32 i)
{
	return htons(30000 + (i & 255));
}

static u16 udp_port_of(u32 i)
{
	return UDP_PORT0 + i % udp;
}

/* An IPv4 lookup reads only the IPv4 fields, as the receive path fills. */
static void tuple_of(struct pcbg_tuple *tp, u32 i, u16 lport)
{
	tp->family = AF_INET;
	tp->faddr4 = faddr_of(i);
	tp->laddr4 = LADDR;
	tp->fport = fport_of(i);
	tp->lport = htons(lport);
	tp->dif = 1;
	tp->sdif = 0;
}

enum bench_kind {
	NATIVE_EST, PCBG_HW, PCBG_SW, NATIVE_LISTEN, PCBG_LISTEN,
	NATIVE_UDP, PCBG_UDP, PCBG_LISTEN_PRISONS, PCBG_LISTEN_OTHER,
};

static const char *const kind_names[] = {
	"native_established", "pcbgroup_hwhash", "pcbgroup_swhash",
	"native_listener", "pcbgroup_listener", "native_udp", "pcbgroup_udp",
	"pcbgroup_listener_prisons", "pcbgroup_listener_other",
};

/*
 * What a hook asks (pcbg_answer(), the one policy), and the reference it
 * takes, if any, dropped as the packet's would be: the path packets take.
 */
static struct sock *answer(struct pcbg_table *t, const struct pcbg_rss *rss,
			   const struct pcbg_tuple *tp, u32 hash,
			   enum pcbg_stage stage, bool syn)
{
	struct pcbg_query q = {
		.tp = tp,
		.hash = hash,
		.protocol = t->protocol,
		.stage = stage,
		.syn = syn,
		.udp_reliable = true,
		.placed_by = true,	/* hashed as the sockets were placed */
	};
	enum pcbg_hit hit;
	struct sock *sk;

	sk = pcbg_answer(t, rss, &q, &hit);
	if (sk)
		pcbg_answer_put(sk);
	return sk;
}

/* __inet_lookup(): established first, then the listener. */
static bool native_listen(struct bench *b, u32 i)
{
	struct sock *sk;

	sk = __inet_lookup_established(b->net, b->h, faddr_of(i),
				       syn_fport_of(i), LADDR, LPORT, 1, 0);
	if (sk) {
		sock_gen_put(sk);
		return false;
	}
	return __inet_lookup_listener(b->net, b->h, NULL, 0, faddr_of(i),
				      syn_fport_of(i), LADDR, LPORT, 1, 0);
}

/*
 * One lookup of the flow at position @k of the order, as the receive path
 * would do it: the NIC's hash arrives with the packet, so it is read from
 * an array walked in the same order, not from a random place.
 */
static bool lookup_one(struct bench *b, enum bench_kind kind, u32 k)
{
	u32 i = b->order[k];
	struct pcbg_tuple tp;
	enum pcbg_hit hit;
	struct sock *sk;

	switch (kind) {
	case NATIVE_EST:
		sk = __inet_lookup_established(b->net, b->h, faddr_of(i),
					       fport_of(i), LADDR, LPORT, 1, 0);
		if (sk)
			sock_gen_put(sk);
		return sk;
	case PCBG_HW:
	case PCBG_SW:
		tuple_of(&tp, i, LPORT);
		/* An established segment, as early demux asks (steer.c). */
		sk = pcbg_answer_connected(b->t, b->rss, &tp,
					   kind == PCBG_HW ? b->hash[k] :
					   pcbg_tuple_rss_bucket(b->rss, &tp),
					   &hit);
		if (sk)
			pcbg_answer_put(sk);
		return sk;
	case NATIVE_LISTEN:
		return native_listen(b, i);
	case PCBG_LISTEN:
		/*
		 * A SYN at delivery: without prisons the hook leaves it to
		 * the kernel's lookups (pcbg_table_syn()); with them, the
		 * reservation table, then the listeners.
		 */
		if (!pcbg_table_syn(b->t))
			return native_listen(b, i);
		fallthrough;
	case PCBG_LISTEN_OTHER:
		/*
		 * Prisons in the namespace, no prisoner on the port: the
		 * delivery hook's test (pcbg_steer()), then the kernel's.
		 */
		if (pcbg_table_syn(b->t) &&
		    !pcbg_port_jailed(b->t, htons(LPORT)))
			return native_listen(b, i);
		fallthrough;
	case PCBG_LISTEN_PRISONS:
		tuple_of(&tp, i, LPORT);
		tp.fport = syn_fport_of(i);
		return answer(b->t, b->rss, &tp, b->hash[k], PCBG_DELIVER, true);
	case NATIVE_UDP:
		return __udp4_lib_lookup(b->net, faddr_of(i), fport_of(i),
					 LADDR, htons(udp_port_of(i)), 1, 0,
					 &udp_table, NULL);
	case PCBG_UDP:
		tuple_of(&tp, i, udp_port_of(i));
		return answer(b->tu, b->rss, &tp, b->hash[k], PCBG_DELIVER,
			      false);
	}
	return false;
}

/*
 * Time for @n lookups: the random order, the hot set, or (scaling) the
 * positions in @subset.
 */
/*
 * The cache model's window marks (bench/cachesim/): xchg %bx,%bx opens,
 * xchg %cx,%cx closes, xchg %dx,%dx (at load) restarts the numbering; to
 * the CPU, no-ops. Windows are numbered in the order they open; a lookup
 * line names its run's.
 */
static atomic_t windows = ATOMIC_INIT(0);
static unsigned int last_window;

static __always_inline void window_open(void)
{
	asm volatile(".byte 0x66, 0x87, 0xdb" ::: "memory");
}

static __always_inline void window_close(void)
{
	asm volatile(".byte 0x66, 0x87, 0xc9" ::: "memory");
}

static __always_inline void window_restart(void)
{
	asm volatile(".byte 0x66, 0x87, 0xd2" ::: "memory");
}

/*
 * As a namespace with prisons answers the SYNs of a port where a prisoner
 * listens (the listener's port counted as a prisoner's): a SYN to any
 * other port takes the kernel's lookup after one test of the port.
 */
static void prisons_for(struct bench *b, enum bench_kind kind)
{
	bool jailed = kind == PCBG_LISTEN_PRISONS;

	WRITE_ONCE(b->t->syn, jailed || kind == PCBG_LISTEN_OTHER);
	atomic_set(&b->t->port_jail[pcbg_port_slot(htons(LPORT))], jailed);
}

static u64 run(struct bench *b, enum bench_kind kind, bool hot, u32 n,
	       u32 start, const u32 *subset, u32 nsub, unsigned int *misses)
{
	u64 t0;
	u32 k, pos;

	last_window = atomic_inc_return(&windows) - 1;
	window_open();
	t0 = ktime_get_ns();

	for (k = 0; k < n; k++) {
		if (!(k & 1023)) {
			if (k) {
				rcu_read_unlock();
				local_bh_enable();
				cond_resched();
			}
			local_bh_disable();
			rcu_read_lock();
		}
		/* Hot: the same HOT flows over and over; cold: all, once. */
		if (subset)
			pos = subset[(start + k) % nsub];
		else
			pos = (start + k) % (hot ? min(sockets, HOT) : sockets);
		if (!lookup_one(b, kind, pos))
			(*misses)++;
	}
	rcu_read_unlock();
	local_bh_enable();
	t0 = ktime_get_ns() - t0;
	window_close();
	return t0;
}

#define SCALING_LOOKUPS	(10 * lookups)	/* long enough to average */

struct worker {
	struct bench *b;
	enum bench_kind kind;
	int cpu;
	u32 start;
	u64 ns;
	unsigned int misses;
	struct completion go, done;
};

static int worker_fn(void *arg)
{
	struct worker *w = arg;

	wait_for_completion(&w->go);
	w->ns = run(w->b, w->kind, false, SCALING_LOOKUPS, w->start,
		    w->b->cpu_pos[w->cpu], w->b->ncpu_pos[w->cpu], &w->misses);
	complete(&w->done);
	while (!kthread_should_stop())
		schedule_timeout_interruptible(1);
	return 0;
}

/*
 * Lookups per second with @ncpu CPUs at once. As behind an RSS NIC, each
 * CPU looks up the flows whose bucket maps to it (the same flows for the
 * kernel's lookup).
 */
static u64 scaling(struct bench *b, enum bench_kind kind, int ncpu)
{
	struct worker w[2];
	struct task_struct *task[2];
	u64 wall, t0;
	int c;

	for (c = 0; c < ncpu; c++) {
		w[c].b = b;
		w[c].kind = kind;
		w[c].cpu = c;
		w[c].start = c * 7919;
		w[c].misses = 0;
		init_completion(&w[c].go);
		init_completion(&w[c].done);
		task[c] = kthread_create(worker_fn, &w[c], "pcbg_bench/%d", c);
		if (IS_ERR(task[c]))
			return 0;
		kthread_bind(task[c], c);
		wake_up_process(task[c]);
	}
	t0 = ktime_get_ns();
	for (c = 0; c < ncpu; c++)
		complete(&w[c].go);
	for (c = 0; c < ncpu; c++)
		wait_for_completion(&w[c].done);
	wall = ktime_get_ns() - t0;
	for (c = 0; c < ncpu; c++)
		kthread_stop(task[c]);
	return div64_u64((u64)SCALING_LOOKUPS * ncpu * NSEC_PER_SEC, wall ?: 1);
}

/*
 * Growth under load: while setup() fills the table from empty, a thread on
 * each CPU looks up the first HOT sockets over and over and counts its
 * lookups in 20 ms bins. A resize that stalled readers would show as a bin
 * far below the others.
 */
#define GROW_BIN_NS	(20 * NSEC_PER_MSEC)
#define GROW_BINS	30000		/* 600 s */
#define GROW_AFTER_NS	NSEC_PER_SEC	/* measured on after the last insert */

struct grower {
	struct bench *b;
	u64 t0;
	u32 *bins;
	unsigned int wrong;
	bool *stop;
	struct task_struct *task;
};

static int grow_fn(void *arg)
{
	struct grower *g = arg;
	struct bench *b = g->b;
	u32 hash[HOT], i, k = 0;
	struct pcbg_tuple tp;

	for (i = 0; i < HOT; i++) {
		tuple_of(&tp, i, LPORT);
		hash[i] = pcbg_tuple_rss_hash(b->rss, &tp);
	}
	while (!READ_ONCE(*g->stop)) {
		u64 bin;

		local_bh_disable();
		rcu_read_lock();
		for (i = 0; i < 256; i++, k++) {
			u32 f = k % HOT;

			tuple_of(&tp, f, LPORT);
			if (answer(b->t, b->rss, &tp, hash[f], PCBG_DEMUX,
				   false) != b->sks[f])
				g->wrong++;
		}
		rcu_read_unlock();
		local_bh_enable();
		bin = div64_u64(ktime_get_ns() - g->t0, GROW_BIN_NS);
		if (bin < GROW_BINS)
			g->bins[bin] += 256;
		cond_resched();
	}
	while (!kthread_should_stop())
		schedule_timeout_interruptible(1);
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

/* The bins [from, to) summed over the threads: their minimum and median. */
static void grow_stats(struct grower *g, int n, u32 from, u32 to, u32 *min,
		       u32 *median)
{
	u32 *sum, i;
	int c;

	*min = *median = 0;
	if (to <= from)
		return;
	sum = vmalloc(array_size(to - from, sizeof(*sum)));
	if (!sum)
		return;
	for (i = from; i < to; i++)
		for (sum[i - from] = 0, c = 0; c < n; c++)
			sum[i - from] += g[c].bins[i];
	sort(sum, to - from, sizeof(*sum), cmp_u32, NULL);
	*min = sum[0];
	*median = sum[(to - from) / 2];
	vfree(sum);
}

static int grow_start(struct bench *b, struct grower *g, bool *stop)
{
	int c;

	for (c = 0; c < 2 && c < num_online_cpus(); c++) {
		g[c].b = b;
		g[c].stop = stop;
		g[c].t0 = ktime_get_ns();
		g[c].bins = vzalloc(GROW_BINS * sizeof(u32));
		if (!g[c].bins)
			return c;
		g[c].task = kthread_create(grow_fn, &g[c], "pcbg_grow/%d", c);
		if (IS_ERR(g[c].task)) {
			vfree(g[c].bins);
			return c;
		}
		kthread_bind(g[c].task, c);
		wake_up_process(g[c].task);
	}
	return c;
}

static void grow_report(struct grower *g, int n, u64 t_end, int resizes)
{
	u32 end = div64_u64(t_end - g[0].t0, GROW_BIN_NS);
	u32 after = end + div64_u64(GROW_AFTER_NS, GROW_BIN_NS);
	u32 min, median, amin, amedian;
	unsigned int wrong = 0;
	int c;

	/* The first bin and the one the inserts ended in are partial. */
	grow_stats(g, n, 1, min_t(u32, end, GROW_BINS), &min, &median);
	grow_stats(g, n, end + 1, min_t(u32, after, GROW_BINS), &amin,
		   &amedian);
	for (c = 0; c < n; c++)
		wrong += g[c].wrong;
	pr_info("bench: growth sockets=%u threads=%d seconds=%llu bin_ms=20 bins=%u min=%u median=%u after_median=%u wrong=%u resizes=%d\n",
		sockets, n, div64_u64(t_end - g[0].t0, NSEC_PER_SEC),
		end > 1 ? end - 1 : 0, min, median, amedian, wrong, resizes);
}

static void grow_stop(struct grower *g, int n, bool *stop)
{
	int c;

	WRITE_ONCE(*stop, true);
	for (c = 0; c < n; c++) {
		kthread_stop(g[c].task);
		vfree(g[c].bins);
	}
}

static int setup_tcp_socket(struct bench *b, u32 i)
{
	struct sock *sk = sk_alloc(b->net, PF_INET, GFP_KERNEL, &tcp_prot, 1);

	if (!sk)
		return -ENOMEM;
	b->sks[i] = sk;
	refcount_set(&sk->sk_refcnt, 1);	/* sock_init_data() would */
	sk->sk_daddr = faddr_of(i);
	sk->sk_rcv_saddr = LADDR;
	sk->sk_dport = fport_of(i);
	sk->sk_num = LPORT;
	inet_sk(sk)->inet_sport = htons(LPORT);
	sk->sk_bound_dev_if = 0;
	sk->sk_state = TCP_ESTABLISHED;
	if (!inet_ehash_nolisten(sk, NULL, NULL)) {
		b->sks[i] = NULL;	/* freed by the kernel */
		return -EEXIST;
	}
	return pcbg_table_set(b->t, sk, PCBG_EXACT);
}

/*
 * The established sockets, entered with lookups running (growth), into a
 * table at the module's defaults; then the memory it took.
 */
static int setup_tcp(struct bench *b)
{
	int resizes = atomic_read(&pcbg_resizes_seen), n = 0, err = 0;
	struct grower g[2] = {};
	struct pcbg_table *idle;
	unsigned int i, buckets = 0, longest = 0;
	bool stop = false;
	u64 t_end;

	for (i = 0; i < sockets && !err; i++) {
		err = setup_tcp_socket(b, i);
		if (i + 1 == min(sockets, HOT))
			n = grow_start(b, g, &stop);
		if (!(i & 4095))
			cond_resched();
	}
	t_end = ktime_get_ns();
	if (n) {
		msleep(div64_u64(GROW_AFTER_NS, NSEC_PER_MSEC) + 100);
		grow_report(g, n, t_end, atomic_read(&pcbg_resizes_seen) -
			    resizes);
		grow_stop(g, n, &stop);
	}
	if (err)
		return err;
	pcbg_table_settle(b->t);
	rcu_read_lock();
	for (i = 0; i < b->t->ngroups; i++) {
		buckets += rcu_dereference(b->t->groups[i].tab)->mask + 1;
		longest = max(longest, pcbg_group_longest(&b->t->groups[i]));
	}
	rcu_read_unlock();
	idle = pcbg_table_alloc(b->net, IPPROTO_TCP, b->t->ngroups, 0, 0);
	pr_info("bench: config sockets=%u ehash_buckets=%u groups=%u buckets_per_group=%u longest=%u cpus=%u lookups=%u reps=%u\n",
		sockets, b->h->ehash_mask + 1, b->t->ngroups,
		buckets / b->t->ngroups, longest, num_online_cpus(), lookups,
		reps);
	pr_info("bench: memory sockets=%u table_bytes=%zu idle_table_bytes=%zu tcp_sock_bytes=%u ehash_bucket_bytes=%zu\n",
		sockets, pcbg_table_bytes(b->t), idle ? pcbg_table_bytes(idle) : 0,
		tcp_prot.obj_size, sizeof(struct inet_ehash_bucket));
	if (idle)
		pcbg_table_free(idle);
	return 0;
}

/* @udp unconnected UDP sockets bound to distinct ports, in a UDP table. */
static int setup_udp(struct bench *b)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	unsigned int i;
	int err;

	b->tu = pcbg_table_alloc(b->net, IPPROTO_UDP, pcbg_rss_buckets(b->rss),
				 0, 0);
	b->usocks = vzalloc(array_size(udp, sizeof(*b->usocks)));
	if (!b->tu || !b->usocks)
		return -ENOMEM;
	for (i = 0; i < udp; i++) {
		err = sock_create_kern(b->net, AF_INET, SOCK_DGRAM, IPPROTO_UDP,
				       &b->usocks[i]);
		if (err)
			return err;
		sin.sin_port = htons(UDP_PORT0 + i);
		err = kernel_bind(b->usocks[i], (struct sockaddr *)&sin,
				  sizeof(sin));
		if (!err)
			err = pcbg_table_set(b->tu, b->usocks[i]->sk, PCBG_WILD);
		if (err)
			return err;
	}
	pcbg_table_settle(b->tu);
	rcu_read_lock();
	pr_info("bench: config udp=%u flows=%u groups=%u wild_chains=%u longest=%u cpus=%u lookups=%u reps=%u\n",
		udp, sockets, b->tu->ngroups,
		rcu_dereference(b->tu->wild.tab)->mask + 1,
		pcbg_group_longest(&b->tu->wild), num_online_cpus(), lookups,
		reps);
	rcu_read_unlock();
	return 0;
}

static int setup(struct bench *b)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	unsigned int i;
	struct pcbg_tuple tp;
	int err;

	b->net = current->nsproxy->net_ns;
	b->h = b->net->ipv4.tcp_death_row.hashinfo;
	b->rss = kzalloc(sizeof(*b->rss), GFP_KERNEL);
	b->sks = vzalloc(array_size(sockets, sizeof(*b->sks)));
	b->hash = vmalloc(array_size(sockets, sizeof(*b->hash)));
	b->order = vmalloc(array_size(sockets, sizeof(*b->order)));
	b->cpu_pos[0] = vmalloc(array_size(sockets, sizeof(u32)));
	b->cpu_pos[1] = vmalloc(array_size(sockets, sizeof(u32)));
	if (!b->rss || !b->sks || !b->hash || !b->order || !b->cpu_pos[0] ||
	    !b->cpu_pos[1])
		return -ENOMEM;
	pcbg_rss_init_config(b->rss, pcbg_rss_default_bits(num_online_cpus()));
	rcu_assign_pointer(pcbg_rss_live, b->rss);
	/* The module's own defaults: no size given, the tables grow. */
	b->t = pcbg_table_alloc(b->net, IPPROTO_TCP, pcbg_rss_buckets(b->rss),
				0, 0);
	if (!b->t)
		return -ENOMEM;
	err = udp ? setup_udp(b) : setup_tcp(b);
	if (err)
		return err;
	for (i = 0; i < sockets; i++)
		b->order[i] = i;
	/* Fisher-Yates: the cold order visits every flow once. */
	for (i = sockets - 1; i > 0; i--)
		swap(b->order[i], b->order[get_random_u32_below(i + 1)]);
	for (i = 0; i < sockets; i++) {
		unsigned int cpu;

		tuple_of(&tp, b->order[i], udp ? udp_port_of(b->order[i]) :
						 LPORT);
		b->hash[i] = pcbg_tuple_rss_hash(b->rss, &tp);
		cpu = pcbg_rss_getcpu(b->rss, pcbg_rss_bucket(b->rss,
							      b->hash[i]));
		if (cpu < ARRAY_SIZE(b->cpu_pos))
			b->cpu_pos[cpu][b->ncpu_pos[cpu]++] = i;
	}
	for (i = 0; i < ARRAY_SIZE(b->cpu_pos); i++) {
		if (!b->ncpu_pos[i]) {	/* one CPU: every flow */
			vfree(b->cpu_pos[i]);
			b->cpu_pos[i] = NULL;
		}
	}
	if (udp)
		return 0;
	err = sock_create_kern(b->net, AF_INET, SOCK_STREAM, IPPROTO_TCP,
			       &b->listener);
	if (err)
		return err;
	sin.sin_port = htons(LPORT);
	err = kernel_bind(b->listener, (struct sockaddr *)&sin, sizeof(sin));
	if (!err)
		err = kernel_listen(b->listener, 128);
	if (!err)
		err = pcbg_table_set(b->t, b->listener->sk, PCBG_WILD);
	return err;
}

static void teardown(struct bench *b)
{
	unsigned int i;

	if (b->t)
		pcbg_table_free(b->t);
	if (b->tu)
		pcbg_table_free(b->tu);
	rcu_barrier();			/* the table's references are gone */
	if (b->listener)
		sock_release(b->listener);
	for (i = 0; b->usocks && i < udp; i++)
		if (b->usocks[i])
			sock_release(b->usocks[i]);
	vfree(b->usocks);
	for (i = 0; b->sks && i < sockets; i++) {
		struct sock *sk = b->sks[i];

		if (!sk)
			continue;
		inet_unhash(sk);
		sk->sk_state = TCP_CLOSE;
		sk_free(sk);
		if (!(i & 4095))
			cond_resched();
	}
	RCU_INIT_POINTER(pcbg_rss_live, NULL);
	synchronize_rcu();
	kfree(b->rss);
	vfree(b->sks);
	vfree(b->hash);
	vfree(b->order);
	vfree(b->cpu_pos[0]);
	vfree(b->cpu_pos[1]);
}

static void measure(struct bench *b)
{
	static const enum bench_kind tcp_kinds[] = {
		NATIVE_EST, PCBG_HW, PCBG_SW, NATIVE_LISTEN, PCBG_LISTEN,
		PCBG_LISTEN_PRISONS, PCBG_LISTEN_OTHER,
	};
	static const enum bench_kind udp_kinds[] = { NATIVE_UDP, PCBG_UDP };
	const enum bench_kind *kinds = udp ? udp_kinds : tcp_kinds;
	unsigned int nkinds = udp ? ARRAY_SIZE(udp_kinds) :
				    ARRAY_SIZE(tcp_kinds);
	unsigned int r, k, misses;
	int hot;

	if (only) {
		k = match_string(kind_names, ARRAY_SIZE(kind_names), only);
		if (k >= ARRAY_SIZE(kind_names))
			return;
		prisons_for(b, k);
		for (r = 0; r < reps; r++) {
			misses = 0;
			pr_info("bench: profile kind=%s cache=%s ns_per_lookup=%llu misses=%u\n",
				only, profile_hot ? "hot" : "cold",
				div64_u64(run(b, k, profile_hot, lookups, r * 977,
						    NULL, 0, &misses), lookups),
				misses);
		}
		return;
	}
	for (r = 0; r < reps; r++) {
		for (hot = 0; hot < 2; hot++) {
			for (k = 0; k < nkinds; k++) {
				u64 ns;

				misses = 0;
				prisons_for(b, kinds[k]);
				ns = run(b, kinds[k], hot, lookups, r * 977,
					 NULL, 0, &misses);
				pr_info("bench: lookup kind=%s cache=%s sockets=%u rep=%u ns_per_lookup=%llu.%02llu misses=%u window=%u lookups=%u\n",
					kind_names[kinds[k]], hot ? "hot" : "cold",
					udp ?: sockets, r, div64_u64(ns, lookups),
					div64_u64(ns % lookups * 100, lookups),
					misses, last_window, lookups);
			}
		}
		if (num_online_cpus() < 2 || udp)
			continue;
		for (k = 0; k < 2; k++) {
			enum bench_kind kind = k ? PCBG_HW : NATIVE_EST;

			pr_info("bench: scaling kind=%s sockets=%u rep=%u cpus1=%llu cpus2=%llu\n",
				kind_names[kind], sockets, r,
				scaling(b, kind, 1), scaling(b, kind, 2));
		}
	}
}

/* Profiling mode keeps the tables loaded: perf must see the module mapped. */
static struct bench *kept;
static DEFINE_MUTEX(kept_lock);

static int run_set(const char *val, const struct kernel_param *kp)
{
	int err = 0;

	mutex_lock(&kept_lock);
	if (kept)
		measure(kept);
	else
		err = -EINVAL;
	mutex_unlock(&kept_lock);
	return err;
}

static const struct kernel_param_ops run_ops = {
	.set = run_set,
};
module_param_cb(run, &run_ops, NULL, 0200);
MODULE_PARM_DESC(run, "With only=: write anything to run the measurement");

static void bench_free(struct bench *b)
{
	teardown(b);
	pcbg_entry_cache_exit();
	kfree(b);
}

static int __init bench_init(void)
{
	int k = only ? match_string(kind_names, ARRAY_SIZE(kind_names), only) : 0;
	bool udp_kind = k == NATIVE_UDP || k == PCBG_UDP;
	struct bench *b;
	int err;

	/* The UDP kinds need their sockets (udp=), the others none. */
	if (!sockets || !lookups || !reps || k < 0 ||
	    (only && udp_kind != !!udp))
		return -EINVAL;
	window_restart();
	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return -ENOMEM;
	err = pcbg_entry_cache_init();
	if (err) {
		kfree(b);
		return err;
	}
	err = setup(b);
	if (err) {
		pr_err("bench: setup failed: %d\n", err);
		bench_free(b);
		return err;
	}
	if (only) {
		kept = b;	/* measured through the run parameter */
		return 0;
	}
	measure(b);
	bench_free(b);
	pr_info("bench: done\n");
	return -EAGAIN;	/* nothing to keep loaded */
}

static void __exit bench_exit(void)
{
	mutex_lock(&kept_lock);
	if (kept)
		bench_free(kept);
	kept = NULL;
	mutex_unlock(&kept_lock);
}

module_init(bench_init);
module_exit(bench_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pcbgroup lookup microbenchmark (loads, measures, unloads)");
