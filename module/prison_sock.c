// SPDX-License-Identifier: GPL-2.0
/*
 * The prison checks on a prisoner's own calls: bind, connect, listen,
 * sendmsg and setsockopt (FreeBSD's in_pcbbind_setup(), in_pcbconnect(),
 * in_pcbladdr() and rip_output() call prison_*_ip4/6 there).
 *
 * No LSM can be loaded from a module, and a function-entry hook on
 * inet_bind() and the rest would tax every socket of the host. Instead a
 * socket created by a prisoner gets its prison's copy of the kernel's
 * proto_ops, each call wrapped (sock->ops, as kTLS does): other sockets
 * run the kernel's operations untouched. The copy is put in place by an
 * ftrace handler on sock_alloc_file(), which every socket(2),
 * socketpair(2), accept(2) and io_uring socket passes before the socket
 * has a file descriptor. Each such socket holds a reference on its prison
 * and, through ops->owner, on this module.
 *
 * The wrappers give the calls FreeBSD's answers; they are not what holds
 * a prisoner in. The packet checks (prison_nf.c) and the lookups find a
 * prisoner's socket by its cgroup, which the kernel cannot change behind
 * the module. What the wrappers cannot follow is refused (fail closed):
 * a socket a prisoner may not have (another family or protocol, or no
 * memory for its operations) is released in the hook and socket(2)
 * fails; a setsockopt() that would hand the socket the kernel's
 * operations (IPV6_ADDRFORM, a ULP other than kTLS) is refused; and kTLS,
 * which does replace them, is wrapped again before the call returns (a
 * thread racing it meets the kernel's kTLS operations on a connected
 * socket that kTLS forbids to disconnect: no address can change then).
 */
#include <linux/ftrace.h>
#include <linux/slab.h>
#include <linux/module.h>
#include <linux/uio.h>
#include <net/inet_hashtables.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/ip6_route.h>
#include <net/addrconf.h>
#include <net/l3mdev.h>
#include <net/route.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "pcbg_net.h"
#include "pcbg_prison.h"
#include "pcbg_prison_sock.h"

static struct pcbg_pops *pcbg_pops_get(struct pcbg_prison *pr,
				       const struct proto_ops *base,
				       gfp_t gfp);
static void pcbg_rewrap(struct socket *sock, struct pcbg_pops *p);

/* Whether @a is an address of this host, where bind() would look. */
static bool pcbg_local4(struct sock *sk, __be32 a)
{
	struct net *net = sock_net(sk);
	u32 tb_id = l3mdev_fib_table_by_index(net, sk->sk_bound_dev_if) ? :
		    RT_TABLE_LOCAL;

	return inet_addr_type_table(net, a, tb_id) == RTN_LOCAL;
}

static bool pcbg_local6(struct sock *sk, const struct in6_addr *a)
{
	if (ipv6_addr_v4mapped(a))
		return pcbg_local4(sk, a->s6_addr32[3]);
	return ipv6_chk_addr(sock_net(sk), a, NULL, 0);
}

/* The address of a bind(), checked and substituted in place. */
static int pcbg_bind_addr(struct pcbg_prison *pr, struct sock *sk,
			  struct sockaddr *sa, int len)
{
	const struct pcbg_prison_addrs *pa;
	int err = 0;

	rcu_read_lock();
	pa = pcbg_prison_addrs(pr);
	if (sk->sk_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)sa;

		/* What inet_bind() refuses itself is left to it. */
		if (len < sizeof(*sin) || (sin->sin_family != AF_INET &&
					   sin->sin_family != AF_UNSPEC))
			goto out;
		err = pcbg_prison_local4(pa, &sin->sin_addr.s_addr);
		if (!err && sin->sin_addr.s_addr &&
		    !pcbg_local4(sk, sin->sin_addr.s_addr))
			err = -EADDRNOTAVAIL;	/* nonlocal bind */
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)sa;

		if (len < SIN6_LEN_RFC2133 || sin6->sin6_family != AF_INET6)
			goto out;
		err = pcbg_prison_local6(pa, &sin6->sin6_addr,
					 sk->sk_ipv6only);
		if (!err && !ipv6_addr_any(&sin6->sin6_addr) &&
		    !(ipv6_addr_v4mapped(&sin6->sin6_addr) &&
		      !sin6->sin6_addr.s6_addr32[3]) &&
		    !pcbg_local6(sk, &sin6->sin6_addr))
			err = -EADDRNOTAVAIL;
	}
out:
	rcu_read_unlock();
	if (err)
		pcbg_prison_denied(pr, "bind", err);
	return err;
}

static int pcbg_p_bind(struct socket *sock, struct sockaddr *sa, int len)
{
	struct pcbg_pops *p = pcbg_pops_of(sock);
	struct sockaddr_storage ss;
	int err;

	if (len < 0 || len > sizeof(ss))
		return p->base->bind(sock, sa, len);
	memcpy(&ss, sa, len);
	err = pcbg_bind_addr(p->pr, sock->sk, (struct sockaddr *)&ss, len);
	if (err)
		return err;
	return p->base->bind(sock, (struct sockaddr *)&ss, len);
}

static int pcbg_p_connect(struct socket *sock, struct sockaddr *sa, int len,
			  int flags)
{
	struct pcbg_pops *p = pcbg_pops_of(sock);
	struct sockaddr_storage ss;
	int err;

	if (len < 0 || len > sizeof(ss))
		return p->base->connect(sock, sa, len, flags);
	memcpy(&ss, sa, len);
	err = pcbg_connect_prep(p, sock->sk, &ss, len);
	if (err)
		return err;
	return p->base->connect(sock, (struct sockaddr *)&ss, len, flags);
}

/* listen() without bind() binds the wildcard: the prison's, if it has one. */
static int pcbg_p_listen(struct socket *sock, int backlog)
{
	struct pcbg_pops *p = pcbg_pops_of(sock);
	struct sock *sk = sock->sk;
	int err;

	if (!inet_sk(sk)->inet_num && pcbg_is_tcp(sk)) {
		struct sockaddr_storage ss = { .ss_family = sk->sk_family };
		int len = sk->sk_family == AF_INET ?
			  sizeof(struct sockaddr_in) :
			  sizeof(struct sockaddr_in6);

		err = pcbg_p_bind(sock, (struct sockaddr *)&ss, len);
		if (err)
			return err;
	}
	return p->base->listen(sock, backlog);
}

/*
 * accept(2) took the new socket's reference in sock_alloc_file(). MPTCP
 * hands a plain TCP child the kernel's operations: wrapped again.
 */
static int pcbg_p_accept(struct socket *sock, struct socket *newsock,
			 int flags, bool kern)
{
	struct pcbg_pops *p = pcbg_pops_of(sock);
	int err;

	if (kern)	/* kernel_accept(): no file, no hook */
		refcount_inc(&p->pr->ref);
	err = p->base->accept(sock, newsock, flags, kern);
	if (!err)
		pcbg_rewrap(newsock, p);
	return err;
}

/*
 * The prison's reference goes first, while the socket still holds the
 * namespace (the registry's lock is the namespace's). sock_release() read
 * ops->owner before: the wrapper itself may be freed once this returns.
 */
static int pcbg_p_release(struct socket *sock)
{
	struct pcbg_pops *p = pcbg_pops_of(sock);
	const struct proto_ops *base = p->base;

	pcbg_prison_put(p->pr);
	return base->release(sock);
}

/*
 * The kernel replaced the socket's operations (kTLS on setsockopt(), an
 * MPTCP fallback on accept()): wrap the new ones. The socket keeps the
 * references it holds (its prison, this module as ops->owner): whoever
 * wins the exchange installs exactly one wrapper. Without memory for a
 * new wrapper, the old one is put back: the socket stays confined.
 */
static void pcbg_rewrap(struct socket *sock, struct pcbg_pops *p)
{
	const struct proto_ops *now = READ_ONCE(sock->ops), *was;
	struct pcbg_pops *np;

	while (now && now->owner != THIS_MODULE) {
		np = pcbg_pops_get(p->pr, now, GFP_KERNEL_ACCOUNT) ?: p;
		was = cmpxchg(&sock->ops, now, &np->ops);
		if (was == now)
			return;
		now = was;
	}
}

/*
 * kTLS builds its operations, once, from those of the first socket that
 * asks for it. Make that a socket of the kernel's own (it fails with
 * -ENOTCONN after the build), so that a prisoner's wrapper is never
 * copied into every kTLS socket of the host. -ENOENT: kTLS is not loaded
 * (a prisoner cannot load it either).
 */
static int pcbg_tls_prime(int family)
{
	struct socket *s;
	int err;

	err = sock_create_kern(&init_net, family, SOCK_STREAM, IPPROTO_TCP,
			       &s);
	if (err)
		return err;
	err = s->ops->setsockopt(s, SOL_TCP, TCP_ULP, KERNEL_SOCKPTR("tls"),
				 3);
	sock_release(s);
	return err == -ENOTCONN ? 0 : err;
}

/*
 * The options a prisoner may not set (0: it may). FreeBSD's IP_BINDANY
 * needs a privilege jails lack; IPV6_ADDRFORM would give the socket the
 * kernel's IPv4 operations, and an upper layer other than kTLS (smc,
 * espintcp) makes the socket another family's.
 */
static int pcbg_opt_refused(struct sock *sk, int level, int optname,
			    sockptr_t optval, unsigned int optlen,
			    const char **check)
{
	char name[TCP_ULP_NAME_MAX];
	long len;

	*check = "freebind";
	if ((level == SOL_IP && (optname == IP_FREEBIND ||
				 optname == IP_TRANSPARENT)) ||
	    (level == SOL_IPV6 && (optname == IPV6_FREEBIND ||
				   optname == IPV6_TRANSPARENT)))
		return -EPERM;
	*check = "setsockopt";
	if (level == SOL_IPV6 && optname == IPV6_ADDRFORM)
		return -EPERM;
	if (level != SOL_TCP || optname != TCP_ULP || !pcbg_is_tcp(sk))
		return 0;
	len = strncpy_from_sockptr(name, optval,
				   min_t(long, sizeof(name) - 1, optlen));
	if (len < 0)
		return -EFAULT;
	name[len] = 0;
	if (strcmp(name, "tls"))
		return -EPERM;
	return pcbg_tls_prime(sk->sk_family);
}

static int pcbg_p_setsockopt(struct socket *sock, int level, int optname,
			     sockptr_t optval, unsigned int optlen)
{
	struct pcbg_pops *p = pcbg_pops_of(sock);
	const char *check;
	int err;

	err = pcbg_opt_refused(sock->sk, level, optname, optval, optlen,
			       &check);
	if (err) {
		pcbg_prison_denied(p->pr, check, err);
		return err;
	}
	err = p->base->setsockopt(sock, level, optname, optval, optlen);
	pcbg_rewrap(sock, p);
	return err;
}

/*
 * The prison's wrapper of @base, made on first use. Never freed before
 * the prison: a socket's ops point into it. Each socket kind the hook
 * lets through, and each kTLS table, is one: a few dozen at most.
 */
static struct pcbg_pops *pcbg_pops_get(struct pcbg_prison *pr,
				       const struct proto_ops *base,
				       gfp_t gfp)
{
	struct pcbg_pops *p, *head;

	/* Pairs with the release below: a listed wrapper is filled. */
	for (p = smp_load_acquire(&pr->pops); p; p = p->next)
		if (p->base == base)
			return p;
	p = kzalloc(sizeof(*p), gfp);
	if (!p)
		return NULL;
	p->ops = *base;
	p->ops.owner = THIS_MODULE;
	p->ops.release = pcbg_p_release;
	p->ops.bind = pcbg_p_bind;
	p->ops.connect = pcbg_p_connect;
	p->ops.listen = pcbg_p_listen;
	p->ops.accept = pcbg_p_accept;
	p->ops.setsockopt = pcbg_p_setsockopt;
	p->ops.sendmsg = pcbg_p_sendmsg;
	p->base = base;
	p->pr = pr;
	spin_lock(&pr->lock);
	for (head = pr->pops; head; head = head->next)
		if (head->base == base)
			break;
	if (head) {		/* another thread made it first */
		spin_unlock(&pr->lock);
		kfree(p);
		return head;
	}
	p->next = pr->pops;
	/* Filled before listed: pairs with the acquire above. */
	smp_store_release(&pr->pops, p);
	spin_unlock(&pr->lock);
	return p;
}

static atomic_t pcbg_unconfined = ATOMIC_INIT(0);

/*
 * What a prisoner may make: the sockets FreeBSD's jail confines (TCP,
 * UDP, ping, raw IP), and the families that carry no IP (local, netlink).
 * Everything else is refused, as a kernel without it would: AF_PACKET and
 * AF_XDP bypass IP; AF_SMC and AF_RXRPC drive kernel sockets of their
 * own; SCTP, MPTCP, DCCP, UDP-Lite and L2TP/IP have addresses or headers
 * the checks do not follow.
 */
static int pcbg_prisoner_may_have(const struct sock *sk)
{
	switch (sk->sk_family) {
	case AF_UNIX:
	case AF_NETLINK:
		return 0;
	case AF_INET:
	case AF_INET6:
		break;
	default:
		return -EAFNOSUPPORT;
	}
	switch (sk->sk_type) {
	case SOCK_STREAM:
		return sk->sk_protocol == IPPROTO_TCP ? 0 : -EPROTONOSUPPORT;
	case SOCK_DGRAM:
		if (sk->sk_protocol == IPPROTO_UDP ||
		    sk->sk_protocol == (sk->sk_family == AF_INET ?
					IPPROTO_ICMP : IPPROTO_ICMPV6))
			return 0;
		return -EPROTONOSUPPORT;
	case SOCK_RAW:
		return 0;
	}
	return -ESOCKTNOSUPPORT;
}

/*
 * sock_alloc_file() for a socket the prisoner may not have: what it does
 * itself when it fails. The hook jumps here instead of the function's
 * body, with the error in place of its third argument. The prison's
 * module reference keeps this text while a prisoner can get here.
 */
static noinline struct file *pcbg_sock_refused(struct socket *sock,
					       int flags, long err)
{
	sock_release(sock);
	return ERR_PTR(err);
}

static void pcbg_refuse(struct pt_regs *regs, struct pcbg_prison *pr,
			int err)
{
	pcbg_prison_denied(pr, "socket", err);
#ifdef CONFIG_X86_64
	regs->dx = err;
	/* Resume there, not in sock_alloc_file(). */
	instruction_pointer_set(regs, (unsigned long)pcbg_sock_refused);
#else
	atomic_inc(&pcbg_unconfined);
#endif
}

/*
 * An ftrace handler, not a kprobe: it cannot miss a call (a kprobe does
 * while another runs on the CPU) and costs every socket of the host no
 * kprobe dispatch. It runs in the caller's context, preemptible.
 */
static void notrace pcbg_alloc_file_ftrace(unsigned long ip,
					   unsigned long parent_ip,
					   struct ftrace_ops *op,
					   struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);	/* SAVE_REGS */
	struct socket *sock = (void *)regs_get_kernel_argument(regs, 0);
	const struct proto_ops *ops = READ_ONCE(sock->ops);
	struct pcbg_prison *pr;
	struct pcbg_pops *p;
	struct sock *sk;
	int err;

	if (!ops)
		return;
	if (ops->owner == THIS_MODULE) {	/* accept(2)'s new socket */
		refcount_inc(&pcbg_pops_of(sock)->pr->ref);
		return;
	}
	sk = sock->sk;
	if (!sk)
		return;
	rcu_read_lock();
	/* The packet checks' own rule: the same prison, found the same way. */
	pr = pcbg_sk_prison(sk);
	if (!pr || READ_ONCE(pr->dead))
		goto out;	/* dead: its cgroup has no process */
	err = pcbg_prisoner_may_have(sk);
	if (err) {
		pcbg_refuse(regs, pr, err);
		goto out;
	}
	if (sk->sk_family != AF_INET && sk->sk_family != AF_INET6)
		goto out;
	p = pcbg_pops_get(pr, ops, GFP_ATOMIC | __GFP_ACCOUNT);
	if (!p) {
		pcbg_refuse(regs, pr, -ENOBUFS);
		goto out;
	}
	refcount_inc(&pr->ref);	/* live: the registry holds it */
	__module_get(THIS_MODULE);
	module_put(ops->owner);
	WRITE_ONCE(sock->ops, &p->ops);
out:
	rcu_read_unlock();
}

/* IPMODIFY: a livepatch of sock_alloc_file() and this exclude each other. */
static struct ftrace_ops pcbg_alloc_file_ops = {
	.func	= pcbg_alloc_file_ftrace,
	.flags	= FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY,
};

static bool pcbg_alloc_file_traced;

/*
 * The filter is set once, at load: ftrace_free_filter() leaves the ops
 * pointing at the freed hash, so it is freed once, at unload, and the
 * registry (prison.c) registers and unregisters the ops in between.
 */
void pcbg_prison_sock_init(void)
{
	int err = ftrace_set_filter_ip(&pcbg_alloc_file_ops,
				       (unsigned long)sock_alloc_file, 0, 1);

	if (err) {
		pr_warn("cannot trace sock_alloc_file(): %d; no address-restricted prison can be made\n",
			err);
		ftrace_free_filter(&pcbg_alloc_file_ops);
		return;
	}
	pcbg_alloc_file_traced = true;
	pcbg_prisons_sock_hook(&pcbg_alloc_file_ops);
}

/* At unload, when no prisoner socket is left. */
void pcbg_prison_sock_exit(void)
{
	if (!pcbg_alloc_file_traced)
		return;
	pcbg_prisons_sock_unhook();
	ftrace_free_filter(&pcbg_alloc_file_ops);
	pcbg_alloc_file_traced = false;
}

/*
 * Whether a socket has its prison's operations: not one its process held
 * before the prison was attached to its cgroup (nor a closed one).
 */
bool pcbg_sock_wrapped(struct sock *sk)
{
	const struct proto_ops *ops = NULL;

	read_lock_bh(&sk->sk_callback_lock);
	if (sk->sk_socket)
		ops = READ_ONCE(sk->sk_socket->ops);
	read_unlock_bh(&sk->sk_callback_lock);
	return ops && ops->owner == THIS_MODULE;
}

/* Prisoner sockets left with the kernel's operations (not on x86-64). */
unsigned long pcbg_prison_unconfined(void)
{
	return atomic_read(&pcbg_unconfined);
}
