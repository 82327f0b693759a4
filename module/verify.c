// SPDX-License-Identifier: GPL-2.0
/*
 * The correctness oracle: in verify mode every socket the groups found is
 * compared, through the kernel's own lookups (native.c), with
 * what the stack itself would pick for the same packet, at the point where
 * it would look and with the inputs it would use there (the post-NAT
 * tuple, dif and sdif of early demux or of the protocol's receive path);
 * a disagreement is counted and the packet is left to the stack.
 */
#include <net/inet_hashtables.h>
#include <net/inet6_hashtables.h>
#include <net/sock_reuseport.h>
#include <net/tcp.h>
#include <net/udp.h>

#include "pcbg_native.h"
#include "pcbg_net.h"

/**
 * pcbg_verify - compare the groups' answer with the kernel's
 * @pn: the namespace
 * @stage: early demux (connected sockets only) or delivery
 * @protocol: IPPROTO_TCP or IPPROTO_UDP
 * @tp: the packet's tuple, with the stage's dif and sdif
 * @sk: the socket the groups found
 *
 * Called under rcu_read_lock(). Returns true when the kernel would pick
 * the very same socket: a reuseport member counts only if it is the
 * member the kernel's selection picks.
 */
bool pcbg_verify(struct pcbg_net *pn, enum pcbg_stage stage, int protocol,
		 const struct pcbg_tuple *tp, struct sock *sk)
{
	struct net *net = pn->net;
	struct sock *native;
	int nstate = -1;
	bool same;

	if (protocol == IPPROTO_TCP) {
		native = pcbg_native_established(net, tp);
		if (native) {
			same = native == sk;
			nstate = native->sk_state;
			sock_gen_put(native);
		} else {
			native = stage == PCBG_DELIVER ?
				 pcbg_native_listener(net, tp) : NULL;
			same = native == sk;
		}
	} else {
		native = pcbg_native_udp(net, tp);
		same = native == sk;
	}
	PCBG_INC(pn, VERIFIED);
	/*
	 * Not a wrong answer but two lookups at two instants: the groups
	 * found a connection's socket that, before the kernel looked,
	 * handed its place in the ehash over to its TIME_WAIT socket
	 * (inet_twsk_hashdance(); its state goes to CLOSE only after), or
	 * left it with none (a close with unread data, a reset, LAST_ACK's
	 * last ACK on another CPU: at early demux the kernel then finds
	 * nothing). Its entry goes at the CLOSE tracepoint, before the
	 * kernel unhashes it. The kernel's own early demux has the same
	 * window. Counted apart; the packet goes to the stack all the same.
	 */
	if (!same && protocol == IPPROTO_TCP && sk_unhashed(sk) &&
	    (nstate == TCP_TIME_WAIT || (!native && stage == PCBG_DEMUX))) {
		PCBG_INC(pn, VERIFY_RACE);
		return false;
	}
	/*
	 * The groups skip a prisoner's wildcard socket for other addresses
	 * and prefer a prisoner's at equal score: where a prisoner's socket
	 * is either answer, the kernel's differs by design.
	 */
	if (!same && READ_ONCE(pn->jails.restricted) &&
	    (pcbg_sk_prison(sk) || (native && sk_fullsock(native) &&
				    pcbg_sk_prison(native)))) {
		PCBG_INC(pn, VERIFY_PRISON);
		return true;
	}
	if (!same) {
		PCBG_INC(pn, MISMATCH);
		net_info_ratelimited("verify: %s %s port %u<-%u: groups %p state %d hashed %d, kernel %p state %d\n",
				     protocol == IPPROTO_TCP ? "tcp" : "udp",
				     stage == PCBG_DEMUX ? "demux" :
				     stage == PCBG_LOOKUP ? "lookup" : "deliver",
				     ntohs(tp->lport), ntohs(tp->fport), sk,
				     sk->sk_state, !sk_unhashed(sk), native,
				     native && nstate < 0 ? native->sk_state : nstate);
	}
	return same;
}
