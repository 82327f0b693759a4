// SPDX-License-Identifier: GPL-2.0
/*
 * In-kernel lookup microbenchmark: pcbgroup's group lookup against the
 * kernel's __inet_lookup_established() and __inet_lookup_listener(), over
 * the same sockets, in one run.
 *
 * Loaded inside a network namespace (ip netns exec NS insmod ...), it
 * creates @sockets established TCP sockets (sk_alloc(tcp_prot), hashed into
 * the namespace's real ehash with inet_ehash_nolisten()) and enters each in
 * a private connection-group table, then times lookups of random flows
 * (cold) and of 64 flows (hot), listener lookups, and the same work on one
 * CPU against two. Results are printed as "bench: ..." lines; the load then
 * fails with -EAGAIN so that nothing stays behind.
 */
#include <linux/completion.h>
#include <linux/kthread.h>
#include <linux/mutex.h>
#include <linux/random.h>
#include <linux/vmalloc.h>
#include <net/inet_hashtables.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "pcbg_group.h"

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
static bool profile_hot = true;
module_param_named(hot, profile_hot, bool, 0444);
MODULE_PARM_DESC(hot, "With only=: the hot set (Y) or every flow once (N)");

#define LADDR	htonl(0xc0000201)	/* 192.0.2.1 */
#define LPORT	80
#define LISTEN_PORT 8080
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
};

static __be32 faddr_of(u32 i)
{
	return htonl(0xc6120000 + (i >> 8));	/* 198.18.0.0/15 */
}

static __be16 fport_of(u32 i)
{
	return htons(10000 + (i & 255));
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
};

static const char *const kind_names[] = {
	"native_established", "pcbgroup_hwhash", "pcbgroup_swhash",
	"native_listener", "pcbgroup_listener",
};

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
		sk = pcbg_lookup(b->t, b->rss, &tp, kind == PCBG_HW ? b->hash[k] :
				 pcbg_tuple_rss_bucket(b->rss, &tp),
				 PCBG_LOOKUP_REF, &hit);
		if (sk)
			sock_put(sk);
		return sk;
	case NATIVE_LISTEN:
		/* __inet_lookup(): established first, then the listener. */
		sk = __inet_lookup_established(b->net, b->h, faddr_of(i),
					       fport_of(i), LADDR, LISTEN_PORT,
					       1, 0);
		if (sk) {
			sock_gen_put(sk);
			return false;
		}
		return __inet_lookup_listener(b->net, b->h, NULL, 0,
					      faddr_of(i), fport_of(i), LADDR,
					      LISTEN_PORT, 1, 0);
	case PCBG_LISTEN:
		tuple_of(&tp, i, LISTEN_PORT);
		return pcbg_lookup(b->t, b->rss, &tp, b->hash[k],
				   PCBG_LOOKUP_WILDCARD, &hit);
	}
	return false;
}

/*
 * Time for @n lookups: the random order, the hot set, or (scaling) the
 * positions in @subset.
 */
static u64 run(struct bench *b, enum bench_kind kind, bool hot, u32 n,
	       u32 start, const u32 *subset, u32 nsub, unsigned int *misses)
{
	u64 t0 = ktime_get_ns();
	u32 k, pos;

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
	return ktime_get_ns() - t0;
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

static int setup(struct bench *b)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	unsigned int buckets, chains, i;
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
	buckets = pcbg_rss_buckets(b->rss);
	/*
	 * Half as many buckets in all groups as the kernel's ehash has, so
	 * twice its slots (4 per bucket) at 4 times its memory (a cache line
	 * per bucket, a pointer per ehash bucket): at 1M sockets a bucket
	 * holds 2 on average and few spill into its overflow chain.
	 */
	chains = max_t(unsigned int, 16, (b->h->ehash_mask + 1) / buckets / 2);
	b->t = pcbg_table_alloc(b->net, IPPROTO_TCP, buckets, chains,
				roundup_pow_of_two(max(sockets, 16U)));
	if (!b->t)
		return -ENOMEM;
	pr_info("bench: config sockets=%u ehash_buckets=%u groups=%u buckets_per_group=%u cpus=%u lookups=%u reps=%u\n",
		sockets, b->h->ehash_mask + 1, buckets, chains,
		num_online_cpus(), lookups, reps);
	for (i = 0; i < sockets; i++) {
		struct sock *sk = sk_alloc(b->net, PF_INET, GFP_KERNEL,
					   &tcp_prot, 1);

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
		err = pcbg_table_set(b->t, sk, PCBG_EXACT);
		if (err)
			return err;
		b->order[i] = i;
		if (!(i & 4095))
			cond_resched();
	}
	/* Fisher-Yates: the cold order visits every flow once. */
	for (i = sockets - 1; i > 0; i--)
		swap(b->order[i], b->order[get_random_u32_below(i + 1)]);
	for (i = 0; i < sockets; i++) {
		unsigned int cpu;

		tuple_of(&tp, b->order[i], LPORT);
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

	err = sock_create_kern(b->net, AF_INET, SOCK_STREAM, IPPROTO_TCP,
			       &b->listener);
	if (err)
		return err;
	sin.sin_port = htons(LISTEN_PORT);
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
	rcu_barrier();			/* the table's references are gone */
	if (b->listener)
		sock_release(b->listener);
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
	static const enum bench_kind kinds[] = {
		NATIVE_EST, PCBG_HW, PCBG_SW, NATIVE_LISTEN, PCBG_LISTEN,
	};
	unsigned int r, k, misses;
	int hot;

	if (only) {
		k = match_string(kind_names, ARRAY_SIZE(kind_names), only);
		if (k >= ARRAY_SIZE(kind_names))
			return;
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
			for (k = 0; k < ARRAY_SIZE(kinds); k++) {
				u64 ns;

				misses = 0;
				ns = run(b, kinds[k], hot, lookups, r * 977,
					 NULL, 0, &misses);
				pr_info("bench: lookup kind=%s cache=%s sockets=%u rep=%u ns_per_lookup=%llu.%02llu misses=%u\n",
					kind_names[kinds[k]], hot ? "hot" : "cold",
					sockets, r, div64_u64(ns, lookups),
					div64_u64(ns % lookups * 100, lookups),
					misses);
			}
		}
		if (num_online_cpus() < 2)
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
	struct bench *b;
	int err;

	if (!sockets || !lookups || !reps ||
	    (only && match_string(kind_names, ARRAY_SIZE(kind_names), only) < 0))
		return -EINVAL;
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
