// SPDX-License-Identifier: GPL-2.0
/*
 * Following the kernel's raw sockets into the namespace's index
 * (raw_table.c): probes on raw_hash_sk() (at return) and raw_unhash_sk()
 * (at entry and return, long before the socket is freed) and on the
 * functions that change a raw socket's addresses (bind, connect,
 * disconnect; IPv4's connect through track.c's probe, shared with UDP).
 * A probe that missed a call, or an entry that could not be allocated,
 * makes the index untrusted until a resync has made it the kernel's list
 * again; meanwhile delivery walks the kernel's list (raw_deliver.c).
 */
#include <linux/kprobes.h>
#include <linux/module.h>
#include <net/inet_sock.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/raw.h>
#include <net/rawv6.h>

#include "pcbg_net.h"
#include "pcbg_raw.h"
#include "pcbg_raw_demux.h"

/*
 * Told when the namespace's raw sockets changed: arming the delivery
 * (raw_deliver.c) may be due. Passed down by raw_demux.c, as delivery in
 * turn asks this file whether the index can be trusted.
 */
static pcbg_raw_changed_fn pcbg_raw_changed;

static void pcbg_raw_failed(struct pcbg_raw *r)
{
	unsigned long flags;

	spin_lock_irqsave(&r->lock, flags);
	r->fail_gen++;
	spin_unlock_irqrestore(&r->lock, flags);
	schedule_work(&r->sync);
}

struct pcbg_raw_krp_data {
	struct sock *sk;
};

static int pcbg_raw_hash_entry(struct kretprobe_instance *ri,
			       struct pt_regs *regs)
{
	struct pcbg_raw_krp_data *d = (struct pcbg_raw_krp_data *)ri->data;

	d->sk = (struct sock *)regs_get_kernel_argument(regs, 0);
	return 0;
}

/*
 * Once the kernel has hashed it: a resync holding the kernel's list lock
 * then either finds the socket there or runs before this, and never
 * sweeps an entry whose socket is about to be hashed.
 */
static int pcbg_raw_hash_ret(struct kretprobe_instance *ri,
			     struct pt_regs *regs)
{
	struct sock *sk = ((struct pcbg_raw_krp_data *)ri->data)->sk;
	struct pcbg_raw_key k;
	struct pcbg_raw *r;

	rcu_read_lock();
	r = pcbg_raw_sock(sk) ? pcbg_raw_of(sk) : NULL;
	if (r) {
		pcbg_raw_key_of(sk, &k);
		if (pcbg_raw_insert(r, sk, &k))
			pcbg_raw_failed(r);
		else if (pcbg_raw_wants_growth(r))
			schedule_work(&r->sync);
		pcbg_raw_changed(pcbg_raw_pn(r), false);
	}
	rcu_read_unlock();
	return 0;
}

static void pcbg_raw_unhash(struct sock *sk)
{
	struct pcbg_raw *r;

	rcu_read_lock();
	r = pcbg_raw_of(sk);
	if (r && pcbg_raw_remove(r, sk))
		pcbg_raw_changed(pcbg_raw_pn(r), false);
	rcu_read_unlock();
}

/*
 * raw_unhash_sk() is probed twice: at entry, so that no lookup takes the
 * socket on its way out, and at return, because a resync may have filed
 * it again in between: it holds the kernel's list lock, which the unhash
 * waits for after the entry probe, and sees the socket still listed.
 * Only after the return is the socket out of every list for good, and it
 * is freed later still, a grace period after its close.
 */
static int pcbg_raw_unhash_entry(struct kretprobe_instance *ri,
				 struct pt_regs *regs)
{
	struct pcbg_raw_krp_data *d = (struct pcbg_raw_krp_data *)ri->data;
	struct sock *sk = (struct sock *)regs_get_kernel_argument(regs, 0);

	if (!pcbg_raw_sock(sk))
		return 1;
	d->sk = sk;
	pcbg_raw_unhash(sk);
	return 0;
}

static int pcbg_raw_unhash_ret(struct kretprobe_instance *ri,
			       struct pt_regs *regs)
{
	pcbg_raw_unhash(((struct pcbg_raw_krp_data *)ri->data)->sk);
	return 0;
}

static struct kretprobe pcbg_raw_krp_hash = {
	.kp.symbol_name = "raw_hash_sk",
	.entry_handler = pcbg_raw_hash_entry,
	.handler = pcbg_raw_hash_ret,
	.data_size = sizeof(struct pcbg_raw_krp_data),
};

static struct kretprobe pcbg_raw_krp_unhash = {
	.kp.symbol_name = "raw_unhash_sk",
	.entry_handler = pcbg_raw_unhash_entry,
	.handler = pcbg_raw_unhash_ret,
	.data_size = sizeof(struct pcbg_raw_krp_data),
};

/*
 * Whether the probes follow raw sockets: from before they are registered
 * to their unregistration, which waits out every handler running. Read
 * by the probe on ip4_datagram_connect(), which is track.c's: UDP's and
 * raw's in one, since a second kretprobe on the same address makes an
 * aggregate probe every UDP connect would pass twice.
 */
static bool pcbg_raw_following;
/* That probe: its misses are this file's too. */
static const struct kretprobe *pcbg_raw_connect4;

/*
 * An address change starts: the socket goes in transit until it ends.
 * Whether the change is followed to its end (a raw socket, while the
 * probes are in).
 */
bool pcbg_raw_change_begin(struct sock *sk)
{
	struct pcbg_raw *r;

	if (!pcbg_raw_sock(sk) || !READ_ONCE(pcbg_raw_following))
		return false;
	rcu_read_lock();
	r = pcbg_raw_of(sk);
	if (r)
		pcbg_raw_transit(r, sk);
	rcu_read_unlock();
	return true;
}

/* ... and ends: the socket is filed under its key again. */
void pcbg_raw_change_end(struct sock *sk)
{
	struct pcbg_raw_key k;
	struct pcbg_raw *r;

	/* The probes left meanwhile: nothing reads the index after. */
	if (!READ_ONCE(pcbg_raw_following))
		return;
	rcu_read_lock();
	r = pcbg_raw_of(sk);
	if (r) {
		pcbg_raw_key_of(sk, &k);
		pcbg_raw_settle(r, sk, &k);
	}
	rcu_read_unlock();
}

static int pcbg_raw_change_entry(struct kretprobe_instance *ri,
				 struct pt_regs *regs)
{
	struct pcbg_raw_krp_data *d = (struct pcbg_raw_krp_data *)ri->data;

	d->sk = (struct sock *)regs_get_kernel_argument(regs, 0);
	/* UDP and the rest: no return probe. */
	return pcbg_raw_change_begin(d->sk) ? 0 : 1;
}

static int pcbg_raw_change_ret(struct kretprobe_instance *ri,
			       struct pt_regs *regs)
{
	pcbg_raw_change_end(((struct pcbg_raw_krp_data *)ri->data)->sk);
	return 0;
}

#define PCBG_RAW_KRP(fn) {						\
	.kp.symbol_name = fn,						\
	.entry_handler = pcbg_raw_change_entry,				\
	.handler = pcbg_raw_change_ret,					\
	.data_size = sizeof(struct pcbg_raw_krp_data),			\
}

/*
 * Everything that sets a raw socket's local or foreign address, but
 * ip4_datagram_connect(): track.c's probe there calls the functions above.
 */
static struct kretprobe pcbg_raw_krps[] = {
	PCBG_RAW_KRP("raw_bind"),
	PCBG_RAW_KRP("__udp_disconnect"),	/* raw's .disconnect too */
#if IS_ENABLED(CONFIG_IPV6)
	PCBG_RAW_KRP("rawv6_bind"),
	PCBG_RAW_KRP("ip6_datagram_connect_v6_only"),
#endif
};

/*
 * The address-change probes, registered together, then unhash and hash:
 * the whole array is unregistered in one call at exit (one grace period,
 * not three), in the order they went before.
 */
static struct kretprobe *pcbg_raw_krp_ptrs[ARRAY_SIZE(pcbg_raw_krps) + 2];

/* Calls the probes above missed: the index may be wrong since. */
static unsigned long pcbg_raw_missed(void)
{
	unsigned long n = READ_ONCE(pcbg_raw_krp_hash.nmissed) +
			  READ_ONCE(pcbg_raw_krp_hash.kp.nmissed) +
			  READ_ONCE(pcbg_raw_krp_unhash.nmissed) +
			  READ_ONCE(pcbg_raw_krp_unhash.kp.nmissed);
	const struct kretprobe *rp;

	/* Every local raw packet reads these: a pointer, not an index. */
	for (rp = pcbg_raw_krps; rp < pcbg_raw_krps + ARRAY_SIZE(pcbg_raw_krps);
	     rp++)
		n += READ_ONCE(rp->nmissed) + READ_ONCE(rp->kp.nmissed);
	return n + READ_ONCE(pcbg_raw_connect4->nmissed) +
	       READ_ONCE(pcbg_raw_connect4->kp.nmissed);
}

/* A failure or a miss since the last resync: only a resync repairs it. */
static bool pcbg_raw_stale(const struct pcbg_raw *r)
{
	return READ_ONCE(r->synced_gen) != READ_ONCE(r->fail_gen) ||
	       READ_ONCE(r->missed) != pcbg_raw_missed();
}

bool pcbg_raw_trusted(struct pcbg_raw *r)
{
	if (likely(!pcbg_raw_stale(r)))
		return true;
	if (!work_pending(&r->sync))
		schedule_work(&r->sync);
	return false;
}

/*
 * Make the index the kernel's list again: every open raw socket of the
 * namespace filed under its current key, no other. Under the kernel's
 * list lock, so no socket is hashed or unhashed meanwhile.
 */
static bool pcbg_raw_resync_family(struct pcbg_raw *r, struct net *net,
				   struct raw_hashinfo *h, u8 family)
{
	struct pcbg_raw_entry *spare = NULL;
	struct pcbg_raw_key k;
	unsigned long flags;
	bool complete = true;
	struct sock *sk;
	unsigned int i;

	spin_lock(&h->lock);
	spin_lock_irqsave(&r->lock, flags);
	pcbg_raw_mark(r, family);
	spin_unlock_irqrestore(&r->lock, flags);
	for (i = 0; i < RAW_HTABLE_SIZE; i++) {
		sk_for_each(sk, &h->ht[i]) {
			if (!net_eq(sock_net(sk), net))
				continue;
			pcbg_raw_key_of(sk, &k);
			if (!spare)
				spare = pcbg_raw_entry_new();
			/*
			 * One being unhashed right now is still listed: its
			 * unhash return probe removes what this files.
			 */
			spin_lock_irqsave(&r->lock, flags);
			if (!spare && !pcbg_raw_find(r, sk))
				complete = false;
			else if (pcbg_raw_add(r, spare, sk, &k))
				spare = NULL;
			spin_unlock_irqrestore(&r->lock, flags);
		}
	}
	spin_lock_irqsave(&r->lock, flags);
	pcbg_raw_sweep(r, family);
	spin_unlock_irqrestore(&r->lock, flags);
	spin_unlock(&h->lock);
	kfree(spare);
	return complete;
}

void pcbg_raw_resync(struct pcbg_net *pn)
{
	struct pcbg_raw *r = &pn->raw;
	unsigned int gen = READ_ONCE(r->fail_gen);
	unsigned long missed = pcbg_raw_missed();
	bool complete;

	complete = pcbg_raw_resync_family(r, pn->net, &raw_v4_hashinfo,
					  AF_INET);
#if IS_ENABLED(CONFIG_IPV6)
	complete &= pcbg_raw_resync_family(r, pn->net, &raw_v6_hashinfo,
					   AF_INET6);
#endif
	if (complete) {
		WRITE_ONCE(r->missed, missed);
		WRITE_ONCE(r->synced_gen, gen);
	} else {
		pcbg_raw_failed(r);
	}
	PCBG_INC(pn, RAW_RESYNC);
	pcbg_raw_changed(pn, false);
}

void pcbg_raw_sync_work(struct work_struct *work)
{
	struct pcbg_raw *r = container_of(work, struct pcbg_raw, sync);
	struct pcbg_net *pn = pcbg_raw_pn(r);

	if (READ_ONCE(r->dead) || !READ_ONCE(pcbg_raw_live))
		return;
	if (pcbg_raw_wants_growth(r) && pcbg_raw_grow(r) > 0)
		PCBG_INC(pn, RESIZE);
	if (pcbg_raw_stale(r))
		pcbg_raw_resync(pn);
}

int pcbg_raw_track_init(pcbg_raw_changed_fn changed,
			const struct kretprobe *connect4)
{
	unsigned int i;
	int err;

	pcbg_raw_changed = changed;
	pcbg_raw_connect4 = connect4;

	pcbg_raw_krp_hash.maxactive = max_t(int, 64, 8 * num_possible_cpus());
	err = register_kretprobe(&pcbg_raw_krp_hash);
	if (err)
		goto fail;
	pcbg_raw_krp_unhash.maxactive = pcbg_raw_krp_hash.maxactive;
	err = register_kretprobe(&pcbg_raw_krp_unhash);
	if (err)
		goto fail_hash;
	for (i = 0; i < ARRAY_SIZE(pcbg_raw_krps); i++) {
		/* Connect can sleep in lock_sock(): room for many at once. */
		pcbg_raw_krps[i].maxactive = max_t(int, 64,
						   8 * num_possible_cpus());
		pcbg_raw_krp_ptrs[i] = &pcbg_raw_krps[i];
	}
	pcbg_raw_krp_ptrs[i++] = &pcbg_raw_krp_unhash;
	pcbg_raw_krp_ptrs[i] = &pcbg_raw_krp_hash;
	WRITE_ONCE(pcbg_raw_following, true);	/* connect, with the rest */
	err = register_kretprobes(pcbg_raw_krp_ptrs, ARRAY_SIZE(pcbg_raw_krps));
	if (err)
		goto fail_unhash;
	return 0;

fail_unhash:
	WRITE_ONCE(pcbg_raw_following, false);	/* unregistering waits */
	unregister_kretprobe(&pcbg_raw_krp_unhash);
fail_hash:
	unregister_kretprobe(&pcbg_raw_krp_hash);
fail:
	pr_err("raw demux: cannot probe the raw socket functions: %d\n", err);
	return err;
}

void pcbg_raw_track_exit(void)
{
	/* Unregistering waits for every handler that saw it set. */
	WRITE_ONCE(pcbg_raw_following, false);
	unregister_kretprobes(pcbg_raw_krp_ptrs, ARRAY_SIZE(pcbg_raw_krp_ptrs));
}
