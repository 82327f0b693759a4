// SPDX-License-Identifier: GPL-2.0
/*
 * Group membership follows the kernel's own sockets, without a kernel
 * patch (FreeBSD calls in_pcbgroup_update() from in_pcbinshash() and
 * in_pcbrehash(); Linux has no such call for a module to hook):
 *
 *  - TCP: the sock:inet_sock_set_state tracepoint. A socket joins its
 *    group on ESTABLISHED (its 4-tuple is final then; SYN_SENT and
 *    SYN_RECV precede port or address assignment; only in a namespace
 *    with the steering hooks, pcbg_track_conn()), joins the wildcard
 *    list on LISTEN, and leaves on CLOSE, which every full TCP socket
 *    passes before it is freed (inet_csk_destroy_sock() warns otherwise).
 *    listen() without bind() enters LISTEN before get_port() gives it a
 *    port: it waits on the table's unbound list, which makes the wildcard
 *    lookup stand aside, and is placed with its port a tick later
 *    (pcbg_track_place_unbound()).
 *  - UDP: kprobes on the functions that hash, connect, disconnect and
 *    unhash a socket; after each, the socket's place is recomputed. A
 *    socket alone on its port is not placed (pcbg_udp_hashed()).
 *  - Sockets that exist when the module loads: a walk over the kernel's
 *    hash tables under their bucket locks, after the probes are in place,
 *    so that nothing is missed and a close racing the walk is seen after
 *    the walk's insertion.
 *
 * A kretprobe can miss a call when too many run at once, or when it
 * fires inside another probe's handler. A UDP table is not trusted for
 * any answer from then on until a resync has walked its namespace again
 * (pcbg_udp_reliable(), pcbg_udp_missed_check()).
 */
#include <linux/kprobes.h>
#include <linux/tracepoint.h>
#include <net/inet_hashtables.h>
#include <net/ipv6.h>
#include <net/tcp.h>
#include <net/udp.h>

#include "pcbg_net.h"
#include "pcbg_raw_demux.h"

/* pcbg_table_set() or, with @kind_of, pcbg_table_sync() in @sk's table. */
static void pcbg_track_put(struct sock *sk, enum pcbg_kind kind,
			   pcbg_kind_fn kind_of, bool join)
{
	struct pcbg_net *pn;
	struct pcbg_table *t;
	int err;

	rcu_read_lock();
	/* NULL while a namespace is set up before our pernet init ran. */
	pn = pcbg_net_rcu(sock_net(sk));
	t = pn ? pcbg_net_table(pn, sk->sk_protocol) : NULL;
	if (t) {
		err = kind_of ? pcbg_table_sync(t, sk, kind_of, join) :
				pcbg_table_set(t, sk, kind);
		if (err)
			pcbg_table_failed(pn, t);
	}
	rcu_read_unlock();
}

static void pcbg_track_set(struct sock *sk, enum pcbg_kind kind)
{
	pcbg_track_put(sk, kind, NULL, true);
}

/*
 * Only the steering hooks read a TCP connection's entry (the established
 * lookup at early demux): a namespace without them, a container on veth,
 * places none, and a connection costs it no entry. From the moment they
 * are in, every new connection is placed; one made before is the
 * kernel's (a connection the groups do not hold is always left to the
 * kernel's lookup), unless a walk places it (pcbg_track_conns_on()).
 * steer_hooks is never cleared: a connection placed is removed when it
 * closes. Preemption is off (the tracepoint, a bucket lock): an RCU
 * reader.
 */
static void pcbg_track_conn(struct sock *sk, enum pcbg_kind kind)
{
	struct pcbg_net *pn = pcbg_net_sched(sock_net(sk));

	if (pn && READ_ONCE(pn->steer_hooks))
		pcbg_track_set(sk, kind);
}

static bool pcbg_inet(const struct sock *sk, int protocol)
{
	return sk->sk_protocol == protocol &&
	       (sk->sk_family == AF_INET || sk->sk_family == AF_INET6);
}

/* TCP */

static void pcbg_track_unbound_later(struct sock *sk)
{
	struct pcbg_net *pn;

	rcu_read_lock();
	pn = pcbg_net(sock_net(sk));
	/* No table: the namespace is going, and its work cancelled. */
	if (pn && pcbg_net_table(pn, IPPROTO_TCP))
		schedule_delayed_work(&pn->place, 1);
	rcu_read_unlock();
}

#define PCBG_UNBOUND_BATCH	64

/*
 * Listeners that were on the unbound list when it was scheduled: each
 * has its port by now (get_port() ran right after the tracepoint) and
 * gets its place; one that closed meanwhile leaves (its CLOSE tracepoint
 * may have run before this placed it again). In batches, each socket
 * held while it is placed.
 */
void pcbg_track_place_unbound(struct work_struct *work)
{
	struct pcbg_net *pn = container_of(to_delayed_work(work),
					   struct pcbg_net, place);
	struct sock *batch[PCBG_UNBOUND_BATCH];
	struct pcbg_entry *e;
	struct pcbg_table *t;
	unsigned int n = 0, i;
	bool again = false;

	rcu_read_lock();
	t = pcbg_net_table(pn, IPPROTO_TCP);
	if (t) {
		pcbg_chain_each(e, &t->unbound, 0) {
			if (n == ARRAY_SIZE(batch)) {
				again = true;	/* the rest: next tick */
				break;
			}
			if (!READ_ONCE(inet_sk(e->sk)->inet_num)) {
				again = true;
				continue;
			}
			if (refcount_inc_not_zero(&e->sk->sk_refcnt))
				batch[n++] = e->sk;
		}
	}
	rcu_read_unlock();
	for (i = 0; i < n; i++) {
		struct sock *sk = batch[i];

		if (READ_ONCE(sk->sk_state) == TCP_LISTEN)
			pcbg_track_set(sk, PCBG_WILD);
		if (READ_ONCE(sk->sk_state) != TCP_LISTEN)
			pcbg_track_set(sk, PCBG_NONE);
		sock_put(sk);
	}
	if (again)
		schedule_delayed_work(&pn->place, 1);
}

static void pcbg_tcp_state(void *data, const struct sock *csk,
			   const int oldstate, const int newstate)
{
	struct sock *sk = (struct sock *)csk;

	if (!pcbg_inet(sk, IPPROTO_TCP))
		return;
	switch (newstate) {
	case TCP_ESTABLISHED:
		pcbg_track_conn(sk, PCBG_EXACT);
		break;
	case TCP_LISTEN:
		pcbg_track_set(sk, PCBG_WILD);
		if (!inet_sk(sk)->inet_num)
			pcbg_track_unbound_later(sk);
		break;
	case TCP_CLOSE:
		/* A listener always has its entry; a connection maybe not. */
		if (oldstate == TCP_LISTEN)
			pcbg_track_set(sk, PCBG_NONE);
		else
			pcbg_track_conn(sk, PCBG_NONE);
		break;
	}
}

static struct tracepoint *pcbg_tp_set_state;

static void pcbg_find_tp(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "inet_sock_set_state"))
		pcbg_tp_set_state = tp;
}

/* UDP */

static enum pcbg_kind pcbg_udp_kind(const struct sock *sk)
{
	bool connected;

	if (sk_unhashed(sk))
		return PCBG_NONE;
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6 &&
	    !ipv6_addr_v4mapped(&sk->sk_v6_daddr))
		connected = !ipv6_addr_any(&sk->sk_v6_daddr);
	else
#endif
		connected = sk->sk_daddr;
	connected = connected && sk->sk_dport &&
		    READ_ONCE(sk->sk_state) == TCP_ESTABLISHED;
	return connected ? PCBG_EXACT : PCBG_WILD;
}

/*
 * A UDP socket's place, as the socket is now; @join: whether a socket
 * without an entry gets one (else only one placed already follows its
 * changes). Not UDP-Lite's, nor a raw or ping socket's.
 */
static void pcbg_udp_sync(struct sock *sk, bool join)
{
	if (pcbg_inet(sk, IPPROTO_UDP))
		pcbg_track_put(sk, PCBG_NONE, pcbg_udp_kind, join);
}

/*
 * A UDP socket alone on its port in its namespace gets no entry: the
 * kernel's hash2 finds it in one step, and the groups answer nothing on a
 * port where they hold no connected socket (udp_lookup.c) or no socket at
 * all (pcbg_answer()). A resolver's socket per query, a client's, a lone
 * server's: each then costs the module a probe, not two entries.
 *
 * The groups answer a port only if they hold every socket the kernel
 * could pick for it there, and those are all in the kernel's slot of the
 * port (udp_hashslot(): by namespace and port, now and then another
 * port's too). So the rule, under the slot's lock: a socket that shares
 * its slot with a socket of its namespace and port is placed, and so is
 * that one, if it was alone until now. Each of two sockets bound at once
 * sees the other when it looks, since each looks after its own insertion,
 * under the lock of both; with two others or more, they are placed
 * already. The load and resync walks place a slot's sockets whenever it
 * holds two (pcbg_walk_udp()).
 *
 * The slot's walk stops at the second match; past other namespaces'
 * sockets sharing the slot, as the kernel's own port search (autobind)
 * walks all of them, in the binding task's own call.
 */
static void pcbg_udp_hashed(struct sock *sk)
{
	struct net *net = sock_net(sk);
	u16 port = udp_sk(sk)->udp_port_hash;
	struct sock *s, *first = NULL;
	struct udp_hslot *hslot;
	unsigned int n = 0;

	if (!pcbg_inet(sk, IPPROTO_UDP))
		return;
	hslot = udp_hashslot(&udp_table, net, port);
	/* Its own slot: any socket joining later sees this one. */
	if (READ_ONCE(hslot->count) <= 1)
		return;
	spin_lock_bh(&hslot->lock);
	sk_for_each(s, &hslot->head) {
		if (s == sk || udp_sk(s)->udp_port_hash != port ||
		    !net_eq(sock_net(s), net))
			continue;
		if (n++)
			break;
		first = s;
	}
	if (n == 1)
		pcbg_udp_sync(first, true);
	if (n)
		pcbg_udp_sync(sk, true);
	spin_unlock_bh(&hslot->lock);
}

struct pcbg_krp_data {
	struct sock *sk;
	bool raw;		/* ip4_datagram_connect(): raw_track.c's */
};

/* A UDP socket's call is followed to its return; UDP-Lite's is not. */
static int pcbg_krp_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct pcbg_krp_data *d = (struct pcbg_krp_data *)ri->data;

	d->sk = (struct sock *)regs_get_kernel_argument(regs, 0);
	return pcbg_inet(d->sk, IPPROTO_UDP) ? 0 : 1;
}

static int pcbg_krp_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct pcbg_krp_data *d = (struct pcbg_krp_data *)ri->data;

	if (regs_return_value(regs) == 0)
		pcbg_udp_hashed(d->sk);
	return 0;
}

/*
 * Connect, disconnect, unhash: a socket placed follows; one alone on its
 * port stays without an entry. udp_disconnect() may rehash or unhash: its
 * result does not matter.
 */
static int pcbg_krp_ret_any(struct kretprobe_instance *ri,
			    struct pt_regs *regs)
{
	struct pcbg_krp_data *d = (struct pcbg_krp_data *)ri->data;

	pcbg_udp_sync(d->sk, false);
	return 0;
}

/*
 * udp_lib_unhash() is followed at entry, so that no packet is steered to
 * a socket on its way out, and at return, because a walk or a second
 * socket bound to the port (pcbg_udp_hashed()) may have placed it in
 * between: the entry comes before the slot lock they hold. Both in one
 * kretprobe: a kprobe beside it made the address an aggregate probe, an
 * extra dispatch on every UDP socket's close. When the kretprobe misses
 * a call, neither runs, and the miss makes the namespace's UDP answers
 * wait for a walk (pcbg_udp_reliable()).
 */
static int pcbg_unhash_entry(struct kretprobe_instance *ri,
			     struct pt_regs *regs)
{
	struct sock *sk;

	if (pcbg_krp_entry(ri, regs))
		return 1;
	sk = ((struct pcbg_krp_data *)ri->data)->sk;
	pcbg_track_set(sk, PCBG_NONE);
	/* Once per socket, not per probe: see pcbg_udp_missed_check(). */
	pcbg_udp_missed_check();
	return 0;
}

/*
 * ip4_datagram_connect() is UDP's connect and raw's (and ping's): one
 * kretprobe follows it for this file and raw_track.c, since a second one
 * on the address made it an aggregate probe, an extra dispatch on every
 * UDP connect. Other sockets' calls get no return probe.
 */
static int pcbg_connect4_entry(struct kretprobe_instance *ri,
			       struct pt_regs *regs)
{
	struct pcbg_krp_data *d = (struct pcbg_krp_data *)ri->data;

	d->raw = pcbg_krp_entry(ri, regs);
	if (d->raw && !pcbg_raw_change_begin(d->sk))
		return 1;
	return 0;
}

static int pcbg_connect4_ret(struct kretprobe_instance *ri,
			     struct pt_regs *regs)
{
	struct pcbg_krp_data *d = (struct pcbg_krp_data *)ri->data;

	if (d->raw)
		pcbg_raw_change_end(d->sk);
	else
		pcbg_udp_sync(d->sk, false);
	return 0;
}

#define PCBG_KRP_AT(fn, entry, ret) {					\
	.kp.symbol_name = fn,						\
	.entry_handler = entry,						\
	.handler = ret,							\
	.data_size = sizeof(struct pcbg_krp_data),			\
}
#define PCBG_KRP(fn, ret)	PCBG_KRP_AT(fn, pcbg_krp_entry, ret)

#define PCBG_KRP_CONNECT4	1	/* its index below */
static struct kretprobe pcbg_krps[] = {
	PCBG_KRP("udp_lib_get_port", pcbg_krp_ret),
	[PCBG_KRP_CONNECT4] = PCBG_KRP_AT("ip4_datagram_connect",
					  pcbg_connect4_entry,
					  pcbg_connect4_ret),
	PCBG_KRP("ip6_datagram_connect", pcbg_krp_ret_any),
	PCBG_KRP("udp_disconnect", pcbg_krp_ret_any),
	PCBG_KRP_AT("udp_lib_unhash", pcbg_unhash_entry, pcbg_krp_ret_any),
};

/*
 * The UDP calls the probes missed since they were registered: a kretprobe
 * misses one when all its instances are in use (nmissed) and when it
 * would fire inside another probe's handler (kp.nmissed).
 */
unsigned long pcbg_track_udp_missed(void)
{
	unsigned long n = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pcbg_krps); i++)
		n += READ_ONCE(pcbg_krps[i].nmissed) +
		     READ_ONCE(pcbg_krps[i].kp.nmissed);
	return n;
}

/* The connect probe, whose misses raw_track.c counts as its own too. */
const struct kretprobe *pcbg_track_connect4_probe(void)
{
	return &pcbg_krps[PCBG_KRP_CONNECT4];
}

static struct kretprobe *pcbg_krp_ptrs[ARRAY_SIZE(pcbg_krps)];

int pcbg_track_init(void)
{
	unsigned int i;
	int err;

	for_each_kernel_tracepoint(pcbg_find_tp, NULL);
	if (!pcbg_tp_set_state) {
		pr_err("tracepoint sock:inet_sock_set_state not found\n");
		return -ENOENT;
	}
	err = tracepoint_probe_register(pcbg_tp_set_state, pcbg_tcp_state,
					NULL);
	if (err)
		return err;
	for (i = 0; i < ARRAY_SIZE(pcbg_krps); i++) {
		/* Connect can sleep in lock_sock(): room for many at once. */
		pcbg_krps[i].maxactive = max_t(int, 512, 16 * num_possible_cpus());
		pcbg_krp_ptrs[i] = &pcbg_krps[i];
	}
	err = register_kretprobes(pcbg_krp_ptrs, ARRAY_SIZE(pcbg_krp_ptrs));
	if (err) {
		pr_err("cannot probe the UDP hash functions: %d\n", err);
		tracepoint_probe_unregister(pcbg_tp_set_state, pcbg_tcp_state,
					    NULL);
		tracepoint_synchronize_unregister();
	}
	return err;
}

void pcbg_track_exit(void)
{
	unregister_kretprobes(pcbg_krp_ptrs, ARRAY_SIZE(pcbg_krp_ptrs));
	tracepoint_probe_unregister(pcbg_tp_set_state, pcbg_tcp_state, NULL);
	tracepoint_synchronize_unregister();
}

/*
 * Membership repair: a table that missed a socket (no memory), a UDP
 * probe that missed a call, a new RSS key. Each is mended by walking the
 * kernel's tables again, in a work item, never on a packet's path.
 */

/* How soon a table that missed a socket is walked again. */
#define PCBG_RESYNC_DELAY	(HZ / 10)
/* Some time after a walk: see pcbg_table_reap(). */
#define PCBG_REAP_DELAY		HZ

/*
 * A socket could not be placed (no memory): wildcard answers stop in this
 * table until a walk over the kernel's tables has placed every socket of
 * the namespace again (pcbg_resync()).
 */
void pcbg_table_failed(struct pcbg_net *pn, struct pcbg_table *t)
{
	atomic_inc(&t->fail_gen);
	PCBG_INC(pn, INSERT_FAIL);
	schedule_delayed_work(&pn->resync, PCBG_RESYNC_DELAY);
}

/*
 * Walk the namespace's sockets again: after an insert failure, every
 * socket gets its entry; after a missed UDP probe, the UDP table also
 * loses the entries of sockets the kernel no longer has.
 */
static void pcbg_resync(struct work_struct *work)
{
	struct pcbg_net *pn = container_of(to_delayed_work(work),
					   struct pcbg_net, resync);
	unsigned long missed = pcbg_track_udp_missed();
	struct pcbg_table *tables[PCBG_NPROTO], *udp;
	int gen[PCBG_NPROTO] = {}, i;
	bool again = false;

	/* Exit frees the tables only after cancelling this work. */
	for (i = 0; i < PCBG_NPROTO; i++) {
		tables[i] = rcu_dereference_protected(pn->tables[i], 1);
		if (tables[i])
			gen[i] = atomic_read(&tables[i]->fail_gen);
	}
	udp = tables[PCBG_UDP];
	if (udp)
		pcbg_table_mark(udp);
	pcbg_track_walk_net(pn->net);
	if (udp)
		PCBG_ADD(pn, STALE, pcbg_table_sweep(udp));
	for (i = 0; i < PCBG_NPROTO; i++) {
		struct pcbg_table *t = tables[i];

		/* A failure during the walk: it may have missed that one. */
		if (!t || pcbg_table_complete(t))
			continue;
		if (atomic_read(&t->fail_gen) == gen[i])
			WRITE_ONCE(t->synced_gen, gen[i]);
		else
			again = true;
	}
	/* A miss during the walk is seen by pcbg_udp_missed_check(). */
	WRITE_ONCE(pn->udp_missed, missed);
	PCBG_INC(pn, RESYNC);
	schedule_delayed_work(&pn->reap, PCBG_REAP_DELAY);
	if (again)
		schedule_delayed_work(&pn->resync, PCBG_RESYNC_DELAY);
}

static void pcbg_reap(struct work_struct *work)
{
	struct pcbg_net *pn = container_of(to_delayed_work(work),
					   struct pcbg_net, reap);
	/* Exit frees the tables only after cancelling this work. */
	struct pcbg_table *t = rcu_dereference_protected(pn->tables[PCBG_TCP],
							 1);

	if (t)
		PCBG_ADD(pn, STALE, pcbg_table_reap(t));
}

static void pcbg_resync_now(struct pcbg_net *pn)
{
	schedule_delayed_work(&pn->resync, 0);
}

/*
 * The steering hooks came into @pn (steer_hooks set): its connections
 * get entries from now on. Those it had are placed by a walk only in a
 * namespace of the initial user namespace: the kernel's table the walk
 * reads is often the host's, and a user who makes a namespace of its own
 * could otherwise make the module walk it once per namespace. A user's
 * connections made before stay the kernel's until they close.
 * @existing: it may have connections (not a namespace being made, nor
 * the load, which walks).
 */
void pcbg_track_conns_on(struct pcbg_net *pn, bool existing)
{
	if (existing && pcbg_tracking_ready() &&
	    pn->net->user_ns == &init_user_ns)
		pcbg_resync_now(pn);
}

/*
 * A UDP probe missed a call, in some namespace (a missed kretprobe does
 * not say which): walk them all, at most once a PCBG_RESYNC_ALL_GAP. Any
 * user can make probes miss (a few hundred threads connecting one
 * socket); in between, each namespace's UDP answers wait (the kernel
 * answers, pcbg_udp_reliable()), so the walks a user can cause are bounded
 * in rate, not in what they cost the packets.
 */
#define PCBG_RESYNC_ALL_GAP	HZ

static unsigned long pcbg_resync_all_last;

static void pcbg_resync_all(struct work_struct *work)
{
	WRITE_ONCE(pcbg_resync_all_last, jiffies);
	pcbg_all_instances(pcbg_resync_now);
}

static DECLARE_DELAYED_WORK(pcbg_resync_all_work, pcbg_resync_all);
static atomic_long_t pcbg_udp_missed_seen;

/*
 * Called by a lookup that sees a miss its namespace's last walk did not
 * (pcbg_udp_reliable(); until the walk, the namespace's UDP answers
 * wait), and once per socket, as it is unhashed: a stale entry pins its
 * socket until a walk sweeps it, so a miss is repaired even where no
 * lookup runs. Not at every probe: summing the counters at each of five
 * cost a socket's life about 250 instructions, once about 60
 * (PC_MODE=udp scripts/pc-profile).
 */
void pcbg_udp_missed_check(void)
{
	unsigned long seen = atomic_long_read(&pcbg_udp_missed_seen);
	unsigned long missed = pcbg_track_udp_missed();
	unsigned long next;

	if (missed == seen ||
	    atomic_long_cmpxchg(&pcbg_udp_missed_seen, seen, missed) != seen)
		return;
	/* Already pending: the walk to come covers this miss too. */
	next = READ_ONCE(pcbg_resync_all_last) + PCBG_RESYNC_ALL_GAP;
	schedule_delayed_work(&pcbg_resync_all_work,
			      time_after(next, jiffies) ? next - jiffies : 0);
}

static void pcbg_reap_later(struct pcbg_net *pn)
{
	schedule_delayed_work(&pn->reap, PCBG_REAP_DELAY);
}


static void pcbg_rehash(struct pcbg_net *pn)
{
	int i;

	for (i = 0; i < PCBG_NPROTO; i++) {
		struct pcbg_table *t;

		t = rcu_dereference_protected(pn->tables[i],
					      lockdep_is_held(&net_rwsem));
		if (!t)
			continue;
		PCBG_ADD(pn, INSERT_FAIL, pcbg_table_rehash(t));
		if (!pcbg_table_complete(t))
			schedule_delayed_work(&pn->resync, PCBG_RESYNC_DELAY);
	}
}

/* A new RSS key or table: re-place every connected socket. */
void pcbg_track_rekeyed(void)
{
	pcbg_all_instances(pcbg_rehash);
}

void pcbg_track_init_net(struct pcbg_net *pn)
{
	INIT_DELAYED_WORK(&pn->resync, pcbg_resync);
	INIT_DELAYED_WORK(&pn->reap, pcbg_reap);
	INIT_DELAYED_WORK(&pn->place, pcbg_track_place_unbound);
	/* Its sockets are all made from now on: earlier misses are not its. */
	pn->udp_missed = pcbg_track_udp_missed();
}

/* The instance is out of every tracker's and hook's reach by now. */
void pcbg_track_cancel_net(struct pcbg_net *pn)
{
	cancel_delayed_work_sync(&pn->resync);
	cancel_delayed_work_sync(&pn->reap);
	cancel_delayed_work_sync(&pn->place);
}

/* After the instances are gone: a hook or probe may have asked for a walk. */
void pcbg_track_repair_exit(void)
{
	cancel_delayed_work_sync(&pcbg_resync_all_work);
}

/* The walk over sockets that existed before the module was loaded. */

/* The walks take every socket of @only, or of every namespace if NULL. */
static bool pcbg_walk_want(const struct sock *sk, const struct net *only)
{
	return !only || net_eq(sock_net(sk), only);
}

static void pcbg_walk_tcp(struct inet_hashinfo *h, const struct net *only)
{
	unsigned int i;

	for (i = 0; i <= h->ehash_mask; i++) {
		struct inet_ehash_bucket *head = &h->ehash[i];
		struct hlist_nulls_node *node;
		struct sock *sk;

		if (hlist_nulls_empty(&head->chain))
			continue;
		/* Under the bucket lock: a close unhashes under it too. */
		spin_lock_bh(inet_ehash_lockp(h, i));
		sk_nulls_for_each(sk, node, &head->chain) {
			int state = sk->sk_state;

			if (!sk_fullsock(sk) || !pcbg_inet(sk, IPPROTO_TCP) ||
			    !pcbg_walk_want(sk, only) ||
			    state == TCP_SYN_SENT || state == TCP_SYN_RECV ||
			    state == TCP_CLOSE || state == TCP_LISTEN)
				continue;
			pcbg_track_conn(sk, PCBG_EXACT);
		}
		spin_unlock_bh(inet_ehash_lockp(h, i));
		if (!(i & 1023))
			cond_resched();
	}
	for (i = 0; i <= h->lhash2_mask; i++) {
		struct inet_listen_hashbucket *ilb = &h->lhash2[i];
		struct hlist_nulls_node *node;
		struct sock *sk;

		spin_lock_bh(&ilb->lock);
		sk_nulls_for_each(sk, node, &ilb->nulls_head)
			if (pcbg_inet(sk, IPPROTO_TCP) &&
			    pcbg_walk_want(sk, only))
				pcbg_track_set(sk, PCBG_WILD);
		spin_unlock_bh(&ilb->lock);
	}
}

/*
 * A slot of two sockets or more: all placed (a superset of those sharing
 * a port in a namespace, pcbg_udp_hashed()); a slot of one: its socket
 * keeps an entry it has (stamped for the sweep), and gets none.
 */
static void pcbg_walk_udp(struct udp_table *table, const struct net *only)
{
	unsigned int i;

	for (i = 0; i <= table->mask; i++) {
		struct udp_hslot *hslot = &table->hash[i];
		struct sock *sk;
		bool join;

		if (hlist_empty(&hslot->head))
			continue;
		spin_lock_bh(&hslot->lock);
		join = hslot->count > 1;
		sk_for_each(sk, &hslot->head)
			if (pcbg_walk_want(sk, only))
				pcbg_udp_sync(sk, join);
		spin_unlock_bh(&hslot->lock);
	}
}

void pcbg_track_walk(void)
{
	struct net *net;

	pcbg_walk_tcp(&tcp_hashinfo, NULL);
	down_read(&net_rwsem);
	for_each_net(net)	/* namespaces with their own ehash */
		if (net->ipv4.tcp_death_row.hashinfo != &tcp_hashinfo)
			pcbg_walk_tcp(net->ipv4.tcp_death_row.hashinfo, NULL);
	up_read(&net_rwsem);
	pcbg_walk_udp(&udp_table, NULL);
	/* Reap what the walk met closing, everywhere. */
	pcbg_all_instances(pcbg_reap_later);
}

/* Place every socket of one namespace again (pcbg_resync()). */
void pcbg_track_walk_net(struct net *net)
{
	pcbg_walk_tcp(net->ipv4.tcp_death_row.hashinfo, net);
	pcbg_walk_udp(&udp_table, net);
}
