/* SPDX-License-Identifier: GPL-2.0 */
/* native.c: the kernel's own lookups, for a pcbgroup tuple. */
#ifndef _PCBG_NATIVE_H
#define _PCBG_NATIVE_H

#include <linux/filter.h>

#include "pcbg_group.h"

/*
 * A BPF sk_lookup program of @net runs inside the kernel's lookups, between
 * its classes, and may pick any socket, of any port.
 */
static inline bool pcbg_sk_lookup_prog(const struct net *net)
{
#ifdef CONFIG_BPF_SYSCALL
	return static_branch_unlikely(&bpf_sk_lookup_enabled) &&
	       rcu_access_pointer(net->bpf.run_array[NETNS_BPF_SK_LOOKUP]);
#else
	return false;
#endif
}

/* __inet_lookup_established() (and v6); returns a reference. */
struct sock *pcbg_native_established(struct net *net,
				     const struct pcbg_tuple *tp);
/* The listener the stack would pick, under RCU, without a reference. */
struct sock *pcbg_native_listener(struct net *net,
				  const struct pcbg_tuple *tp);
/* __udp4_lib_lookup() (and v6), under RCU, without a reference. */
struct sock *pcbg_native_udp(struct net *net, const struct pcbg_tuple *tp);

#endif /* _PCBG_NATIVE_H */
