// SPDX-License-Identifier: GPL-2.0
/*
 * Where a prisoner's connect() and sendmsg() go and come from: the
 * destination rules of FreeBSD's prison_remote_ip4/6() (loopback becomes
 * the prison's address), the source rules of in_pcbladdr(), rip_output()
 * and udp_output() in a jail. A datagram's source comes from the socket,
 * its control messages (IP_PKTINFO, IPV6_PKTINFO) or, for a raw socket
 * with IP_HDRINCL, its own header; each must be one of the prison's
 * addresses, and one left to the kernel gets the prison's. TCP Fast
 * Open's sendto() connects, through the connect() rules. The socket
 * calls that use these are wrapped in prison_sock.c.
 */
#include <linux/uio.h>
#include <net/addrconf.h>
#include <net/inet_hashtables.h>
#include <net/ip.h>
#include <net/ip6_route.h>
#include <net/ipv6.h>
#include <net/route.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "pcbg_net.h"
#include "pcbg_prison.h"
#include "pcbg_prison_sock.h"

/*
 * FreeBSD in_pcbladdr() in a jail: the source routing picks if it is the
 * prison's, else the primary address.
 */
__be32 pcbg_src4(const struct pcbg_prison_addrs *pa, struct sock *sk,
		 __be32 daddr)
{
	struct flowi4 fl4 = {
		.daddr = daddr,
		.flowi4_oif = sk->sk_bound_dev_if,
		.flowi4_proto = sk->sk_protocol,
	};
	struct rtable *rt;

	if (pa->n4 == 1)
		return pa->a4[0];
	rt = ip_route_output_key(sock_net(sk), &fl4);
	if (!IS_ERR(rt)) {
		ip_rt_put(rt);
		if (!pcbg_prison_check4(pa, fl4.saddr))
			return fl4.saddr;
	}
	return pa->a4[0];
}

struct in6_addr pcbg_src6(const struct pcbg_prison_addrs *pa,
			  struct sock *sk, const struct in6_addr *daddr)
{
	struct flowi6 fl6 = {
		.daddr = *daddr,
		.flowi6_oif = sk->sk_bound_dev_if,
		.flowi6_proto = sk->sk_protocol,
	};
	struct dst_entry *dst;
	struct in6_addr s;

	if (pa->n6 == 1)
		return pa->a6[0];
	dst = ip6_route_output(sock_net(sk), sk, &fl6);
	if (!dst->error && !ipv6_dev_get_saddr(sock_net(sk), dst->dev, daddr,
					      0, &s) &&
	    !pcbg_prison_check6(pa, &s)) {
		dst_release(dst);
		return s;
	}
	dst_release(dst);
	return pa->a6[0];
}

/*
 * Give a socket without a local address the one it connects from, as
 * connect() would, but a prison's (socket locked). TCP rehashes its bind
 * bucket as tcp_v4_connect() does; a datagram socket's connect takes its
 * source from inet_saddr or np->saddr.
 */
int pcbg_set_src4(struct sock *sk, __be32 src)
{
	struct inet_sock *inet = inet_sk(sk);

	if (inet->inet_rcv_saddr)
		return 0;
	if (pcbg_is_tcp(sk))
		return sk->sk_state == TCP_CLOSE ?
		       inet_bhash2_update_saddr(sk, &src, AF_INET) : 0;
	if (!inet->inet_saddr)
		inet->inet_saddr = src;
	return 0;
}

int pcbg_set_src6(struct sock *sk, const struct in6_addr *src)
{
	struct ipv6_pinfo *np = inet6_sk(sk);

	if (!ipv6_addr_any(&sk->sk_v6_rcv_saddr))
		return 0;
	if (pcbg_is_tcp(sk))
		return sk->sk_state == TCP_CLOSE ?
		       inet_bhash2_update_saddr(sk, (void *)src, AF_INET6) : 0;
	if (np && ipv6_addr_any(&np->saddr))
		np->saddr = *src;
	return 0;
}

int pcbg_dst_prep(struct pcbg_prison *pr, struct sock *sk,
		  struct sockaddr *sa, int len, struct pcbg_dst *d)
{
	const struct pcbg_prison_addrs *pa;
	int err = 0;

	d->family = 0;
	d->need_src = false;
	rcu_read_lock();
	pa = pcbg_prison_addrs(pr);
	if (sk->sk_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)sa;

		if (len < sizeof(*sin) || sin->sin_family != AF_INET)
			goto out;
		err = pcbg_prison_remote4(pa, &sin->sin_addr.s_addr);
		if (err)
			goto out;
		d->family = AF_INET;
		d->need_src = !inet_sk(sk)->inet_rcv_saddr &&
			      !inet_sk(sk)->inet_saddr;
		if (d->need_src)
			d->src4 = pcbg_src4(pa, sk, sin->sin_addr.s_addr);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)sa;
		struct in6_addr *a = &sin6->sin6_addr;

		if (len < SIN6_LEN_RFC2133 || sin6->sin6_family != AF_INET6)
			goto out;
		err = pcbg_prison_remote6(pa, a);
		if (err)
			goto out;
		if (ipv6_addr_v4mapped(a)) {
			d->family = AF_INET;
			d->need_src = ipv6_addr_any(&sk->sk_v6_rcv_saddr) &&
				      !inet_sk(sk)->inet_saddr;
			if (d->need_src) {
				if (!pa->n4)
					err = -EAFNOSUPPORT;
				else
					d->src4 = pcbg_src4(pa, sk,
							    a->s6_addr32[3]);
			}
		} else {
			d->family = AF_INET6;
			d->need_src = ipv6_addr_any(&sk->sk_v6_rcv_saddr) &&
				      (!inet6_sk(sk) ||
				       ipv6_addr_any(&inet6_sk(sk)->saddr));
			if (d->need_src)
				d->src6 = pcbg_src6(pa, sk, a);
		}
	}
out:
	rcu_read_unlock();
	return err;
}

/* A connect()'s destination rewritten and its source set (in @ss). */
int pcbg_connect_prep(struct pcbg_pops *p, struct sock *sk,
		      struct sockaddr_storage *ss, int len)
{
	struct pcbg_dst d;
	int err;

	err = pcbg_dst_prep(p->pr, sk, (struct sockaddr *)ss, len, &d);
	if (!err && d.need_src) {
		lock_sock(sk);
		if (d.family == AF_INET)
			err = pcbg_set_src4(sk, d.src4);
		else
			err = pcbg_set_src6(sk, &d.src6);
		release_sock(sk);
	}
	if (err)
		pcbg_prison_denied(p->pr, "connect", err);
	return err;
}

/*
 * The source addresses a datagram's control messages ask for
 * (IP_PKTINFO, IPV6_PKTINFO): each must be the prison's. The kernel copied
 * the control messages into its own buffer (____sys_sendmsg()), so one
 * that leaves the source to the kernel gets the prison's in place.
 */
static int pcbg_cmsg_src(const struct pcbg_prison_addrs *pa,
			 struct msghdr *msg, const struct pcbg_dst *d,
			 bool *set)
{
	struct cmsghdr *cmsg;
	int err;

	*set = false;
	if (msg->msg_control_is_user || !msg->msg_controllen)
		return 0;
	for_each_cmsghdr(cmsg, msg) {
		if (!CMSG_OK(msg, cmsg))
			break;
		if (cmsg->cmsg_level == SOL_IP && cmsg->cmsg_type == IP_PKTINFO &&
		    cmsg->cmsg_len == CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo *pi = CMSG_DATA(cmsg);

			if (!pi->ipi_spec_dst.s_addr && d->need_src &&
			    d->family == AF_INET) {
				pi->ipi_spec_dst.s_addr = d->src4;
				*set = true;
			}
			if (!pi->ipi_spec_dst.s_addr)
				continue;
			err = pcbg_prison_check4(pa, pi->ipi_spec_dst.s_addr);
			if (err)
				return err;
			*set = true;
		} else if (cmsg->cmsg_level == SOL_IPV6 &&
			   cmsg->cmsg_type == IPV6_PKTINFO &&
			   cmsg->cmsg_len ==
			   CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo *pi = CMSG_DATA(cmsg);

			if (ipv6_addr_any(&pi->ipi6_addr) && d->need_src) {
				if (d->family == AF_INET)
					ipv6_addr_set_v4mapped(d->src4,
							       &pi->ipi6_addr);
				else
					pi->ipi6_addr = d->src6;
				*set = true;
			}
			if (ipv6_addr_any(&pi->ipi6_addr))
				continue;
			err = pcbg_prison_check6(pa, &pi->ipi6_addr);
			if (err)
				return err;
			*set = true;
		}
	}
	return 0;
}

/*
 * IP_HDRINCL, IPV6_HDRINCL: the source the prisoner wrote in its own
 * header, read before the check (it may fault: no RCU held). Another
 * thread may change it after: the LOCAL_OUT check stands behind.
 */
static bool pcbg_hdrincl_src(struct sock *sk, struct msghdr *msg, size_t len,
			     struct in6_addr *src)
{
	struct iov_iter it = msg->msg_iter;

	if (sk->sk_family == AF_INET) {
		struct iphdr iph;

		if (len < sizeof(iph) ||
		    copy_from_iter(&iph, sizeof(iph), &it) != sizeof(iph))
			return false;	/* raw_send_hdrinc() refuses it */
		ipv6_addr_set_v4mapped(iph.saddr, src);
		return true;
	}
	{
		struct ipv6hdr ip6h;

		if (len < sizeof(ip6h) ||
		    copy_from_iter(&ip6h, sizeof(ip6h), &it) != sizeof(ip6h))
			return false;
		*src = ip6h.saddr;
		return true;
	}
}

/* A control message that gives the datagram the prison's source. */
union pcbg_cmsg_buf {
	struct cmsghdr hdr;
	u8 buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
};

static size_t pcbg_cmsg_build(union pcbg_cmsg_buf *b, struct sock *sk,
			      const struct pcbg_dst *d)
{
	struct cmsghdr *c = &b->hdr;

	memset(b, 0, sizeof(*b));
	if (sk->sk_family == AF_INET) {
		struct in_pktinfo *pi = CMSG_DATA(c);

		c->cmsg_level = SOL_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(*pi));
		pi->ipi_ifindex = sk->sk_bound_dev_if;
		pi->ipi_spec_dst.s_addr = d->src4;
		return CMSG_SPACE(sizeof(*pi));
	}
	{
		struct in6_pktinfo *pi = CMSG_DATA(c);

		c->cmsg_level = SOL_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(*pi));
		if (d->family == AF_INET)
			ipv6_addr_set_v4mapped(d->src4, &pi->ipi6_addr);
		else
			pi->ipi6_addr = d->src6;
		return CMSG_SPACE(sizeof(*pi));
	}
}

/*
 * A datagram (UDP, raw, ping) from a socket without a local address gets
 * the source in_pcbladdr() would give it in a jail; a source asked for
 * (IP_PKTINFO, IP_HDRINCL) must be the prison's; a loopback destination
 * is rewritten. The netfilter check on LOCAL_OUT (prison_nf.c) stands
 * behind all of this.
 */
static int pcbg_dgram_send(struct pcbg_pops *p, struct socket *sock,
			   struct msghdr *msg, size_t len)
{
	const struct pcbg_prison_addrs *pa;
	struct sock *sk = sock->sk;
	void *name = msg->msg_name, *control = msg->msg_control;
	size_t controllen = msg->msg_controllen;
	bool is_user = msg->msg_control_is_user, set = false;
	bool hdrincl = inet_sk(sk)->hdrincl;
	struct sockaddr_storage ss;
	struct in6_addr hsrc;
	union pcbg_cmsg_buf one;
	struct pcbg_dst d = {};
	void *buf = NULL;
	int err;

	if (name) {
		if (msg->msg_namelen < 0 || msg->msg_namelen > sizeof(ss))
			return p->base->sendmsg(sock, msg, len);
		memcpy(&ss, name, msg->msg_namelen);
		err = pcbg_dst_prep(p->pr, sk, (struct sockaddr *)&ss,
				    msg->msg_namelen, &d);
		if (err)
			goto denied;
		msg->msg_name = &ss;
	}
	if (hdrincl && !pcbg_hdrincl_src(sk, msg, len, &hsrc))
		hdrincl = false;	/* too short: the kernel refuses it */
	rcu_read_lock();
	pa = pcbg_prison_addrs(p->pr);
	if (hdrincl) {
		err = pcbg_prison_check6(pa, &hsrc);
		d.need_src = false;
	} else if (inet_sk(sk)->hdrincl) {
		d.need_src = false;
	} else {
		err = pcbg_cmsg_src(pa, msg, &d, &set);
	}
	rcu_read_unlock();
	if (err)
		goto denied;
	/*
	 * ping_v6_sendmsg() reads no control message: its source is
	 * np->saddr, set as a connect() would.
	 */
	if (d.need_src && !set && d.family == AF_INET6 &&
	    sk->sk_protocol == IPPROTO_ICMPV6 && sk->sk_type == SOCK_DGRAM) {
		lock_sock(sk);
		pcbg_set_src6(sk, &d.src6);
		release_sock(sk);
		set = true;
	}
	if (d.need_src && !set) {
		size_t add = pcbg_cmsg_build(&one, sk, &d);

		/* sendmsg(2) and io_uring copy control messages first. */
		if (controllen && is_user) {
			err = -EINVAL;
			goto restore;
		}
		if (!controllen) {
			msg->msg_control = &one;
			msg->msg_controllen = add;
		} else {
			size_t at = CMSG_ALIGN(controllen);

			buf = kzalloc(at + add, GFP_KERNEL);
			if (!buf) {
				err = -ENOBUFS;
				goto restore;
			}
			memcpy(buf, control, controllen);
			memcpy(buf + at, &one, add);
			msg->msg_control = buf;
			msg->msg_controllen = at + add;
		}
		msg->msg_control_is_user = false;
	}
	err = p->base->sendmsg(sock, msg, len);
restore:
	kfree(buf);
	msg->msg_name = name;
	msg->msg_control = control;
	msg->msg_controllen = controllen;
	msg->msg_control_is_user = is_user;
	return err;

denied:
	msg->msg_name = name;
	pcbg_prison_denied(p->pr, "send", err);
	return err;
}

int pcbg_p_sendmsg(struct socket *sock, struct msghdr *msg, size_t len)
{
	struct pcbg_pops *p = pcbg_pops_of(sock);
	struct sock *sk = sock->sk;

	if (sk->sk_type != SOCK_STREAM)
		return pcbg_dgram_send(p, sock, msg, len);
	/* TCP Fast Open: sendto() connects. */
	if (msg->msg_name && (msg->msg_flags & MSG_FASTOPEN) &&
	    sk->sk_state == TCP_CLOSE) {
		struct sockaddr_storage ss;
		void *name = msg->msg_name;
		int err;

		if (msg->msg_namelen < 0 || msg->msg_namelen > sizeof(ss))
			return p->base->sendmsg(sock, msg, len);
		memcpy(&ss, name, msg->msg_namelen);
		err = pcbg_connect_prep(p, sk, &ss, msg->msg_namelen);
		if (err)
			return err;
		msg->msg_name = &ss;
		err = p->base->sendmsg(sock, msg, len);
		msg->msg_name = name;
		return err;
	}
	return p->base->sendmsg(sock, msg, len);
}
