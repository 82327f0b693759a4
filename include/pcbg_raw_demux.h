/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the raw-demux files share: following sockets (raw_track.c),
 * delivery and its redirection (raw_deliver.c), and the namespaces and
 * module lifetime (raw_demux.c); and track.c, whose probe on
 * ip4_datagram_connect() follows raw sockets' connects too.
 */
#ifndef _PCBG_RAW_DEMUX_H
#define _PCBG_RAW_DEMUX_H

#include <net/inet_sock.h>
#include <net/raw.h>

#include "pcbg_net.h"
#include "pcbg_raw.h"

static inline bool pcbg_raw_sock(const struct sock *sk)
{
	return sk->sk_type == SOCK_RAW &&
	       (sk->sk_family == AF_INET || sk->sk_family == AF_INET6) &&
	       sk->sk_prot->hash == raw_hash_sk;
}

static inline void pcbg_raw_key_of(const struct sock *sk, struct pcbg_raw_key *k)
{
	u8 proto = inet_sk(sk)->inet_num;

#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6) {
		pcbg_raw_key_set6(k, proto, &sk->sk_v6_rcv_saddr,
				  &sk->sk_v6_daddr);
		return;
	}
#endif
	pcbg_raw_key_set4(k, proto, READ_ONCE(sk->sk_rcv_saddr),
			  READ_ONCE(sk->sk_daddr));
}

/* The namespace's index, if its instance is up; under rcu_read_lock(). */
static inline struct pcbg_raw *pcbg_raw_of(const struct sock *sk)
{
	struct pcbg_net *pn = pcbg_net(sock_net(sk));

	return pn && rcu_access_pointer(pn->raw.tab) && !READ_ONCE(pn->raw.dead) ?
	       &pn->raw : NULL;
}

static inline struct pcbg_net *pcbg_raw_pn(struct pcbg_raw *r)
{
	return container_of(r, struct pcbg_net, raw);
}

/* raw_track.c */
bool pcbg_raw_change_begin(struct sock *sk);
void pcbg_raw_change_end(struct sock *sk);
bool pcbg_raw_trusted(struct pcbg_raw *r);
void pcbg_raw_resync(struct pcbg_net *pn);
void pcbg_raw_sync_work(struct work_struct *work);
typedef void (*pcbg_raw_changed_fn)(struct pcbg_net *pn, bool wait);
struct kretprobe;
int pcbg_raw_track_init(pcbg_raw_changed_fn changed,
			const struct kretprobe *connect4);
void pcbg_raw_track_exit(void);

/* raw_deliver.c */
extern bool pcbg_raw_live;	/* the probes are in place */
int pcbg_raw_deliver_init(void);
void pcbg_raw_deliver_exit(void);
void pcbg_raw_set_live(bool live);
void pcbg_raw_arm_flush(void);
void pcbg_raw_arm_cancel(void);

#endif /* _PCBG_RAW_DEMUX_H */
