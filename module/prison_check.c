// SPDX-License-Identifier: GPL-2.0
/*
 * The address rules of FreeBSD's in_jail.c and in6_jail.c, on a prison's
 * address list. A NULL list is a socket that is not jailed (or a prison
 * with its own namespace, FreeBSD's jailed_without_vnet() false): every
 * rule lets it be.
 */
#include <linux/errno.h>
#include <linux/in.h>
#include <net/ipv6.h>

#include "pcbg_prison.h"

/**
 * pcbg_prison_check4 - FreeBSD prison_check_ip4()
 * @pa: the prison's addresses, or NULL
 * @a: the address
 *
 * 0 when not jailed or @a is the prison's, -EAFNOSUPPORT when the prison
 * has no IPv4 address, -EADDRNOTAVAIL otherwise.
 */
int pcbg_prison_check4(const struct pcbg_prison_addrs *pa, __be32 a)
{
	unsigned int i;

	if (!pa)
		return 0;
	if (!pa->n4)
		return -EAFNOSUPPORT;
	for (i = 0; i < pa->n4; i++)
		if (pa->a4[i] == a)
			return 0;
	return -EADDRNOTAVAIL;
}

/* FreeBSD prison_check_ip6(); a v4-mapped address is checked as IPv4. */
int pcbg_prison_check6(const struct pcbg_prison_addrs *pa,
		       const struct in6_addr *a)
{
	unsigned int i;

	if (!pa)
		return 0;
	if (ipv6_addr_v4mapped(a))
		return pcbg_prison_check4(pa, a->s6_addr32[3]);
	if (!pa->n6)
		return -EAFNOSUPPORT;
	for (i = 0; i < pa->n6; i++)
		if (ipv6_addr_equal(&pa->a6[i], a))
			return 0;
	return -EADDRNOTAVAIL;
}

/**
 * pcbg_prison_local4 - FreeBSD prison_local_ip4(): a local address to bind
 * @pa: the prison's addresses, or NULL
 * @a: the address, replaced where the rules say so
 *
 * INADDR_ANY becomes the primary address when the prison has exactly one;
 * 127.0.0.1 becomes the primary unless the prison lists it.
 */
int pcbg_prison_local4(const struct pcbg_prison_addrs *pa, __be32 *a)
{
	int err;

	if (!pa)
		return 0;
	if (!pa->n4)
		return -EAFNOSUPPORT;
	if (*a == htonl(INADDR_ANY)) {
		if (pa->n4 == 1)
			*a = pa->a4[0];
		return 0;
	}
	err = pcbg_prison_check4(pa, *a);
	if (err == -EADDRNOTAVAIL && *a == htonl(INADDR_LOOPBACK)) {
		*a = pa->a4[0];
		err = 0;
	}
	return err;
}

/*
 * FreeBSD prison_remote_ip4(): a loopback destination, rewritten. Linux
 * delivers all of 127/8 to this host, and routes 0.0.0.0 to 127.0.0.1
 * (FreeBSD's in_pcbconnect_setup() gives INADDR_ANY the jail's address):
 * each is the primary unless the prison lists it.
 */
int pcbg_prison_remote4(const struct pcbg_prison_addrs *pa, __be32 *a)
{
	if (!pa)
		return 0;
	if (!pa->n4)
		return -EAFNOSUPPORT;
	if ((ipv4_is_loopback(*a) || *a == htonl(INADDR_ANY)) &&
	    pcbg_prison_check4(pa, *a) == -EADDRNOTAVAIL)
		*a = pa->a4[0];
	return 0;
}

/*
 * FreeBSD prison_local_ip6(): the unspecified address becomes the primary
 * only for a v6-only socket of a prison with one IPv6 address (a dual-stack
 * socket stays a wildcard); ::1 becomes the primary unless listed. A
 * v4-mapped address follows the IPv4 rules.
 */
int pcbg_prison_local6(const struct pcbg_prison_addrs *pa,
		       struct in6_addr *a, bool v6only)
{
	int err;

	if (!pa)
		return 0;
	if (ipv6_addr_v4mapped(a))
		return pcbg_prison_local4(pa, &a->s6_addr32[3]);
	if (!pa->n6)
		return -EAFNOSUPPORT;
	if (ipv6_addr_any(a)) {
		if (v6only && pa->n6 == 1)
			*a = pa->a6[0];
		return 0;
	}
	err = pcbg_prison_check6(pa, a);
	if (err == -EADDRNOTAVAIL && ipv6_addr_loopback(a)) {
		*a = pa->a6[0];
		err = 0;
	}
	return err;
}

/* FreeBSD prison_remote_ip6(); :: is routed to ::1 as 0.0.0.0 is. */
int pcbg_prison_remote6(const struct pcbg_prison_addrs *pa,
			struct in6_addr *a)
{
	if (!pa)
		return 0;
	if (ipv6_addr_v4mapped(a))
		return pcbg_prison_remote4(pa, &a->s6_addr32[3]);
	if (!pa->n6)
		return -EAFNOSUPPORT;
	if ((ipv6_addr_loopback(a) || ipv6_addr_any(a)) &&
	    pcbg_prison_check6(pa, a) == -EADDRNOTAVAIL)
		*a = pa->a6[0];
	return 0;
}

/*
 * A prison definition's addresses: unicast, each listed once. FreeBSD
 * refuses the same (jail_set: "duplicate address").
 */
int pcbg_prison_addrs_valid(const struct pcbg_prison_addrs *pa)
{
	unsigned int i, j;

	if (pa->n4 > PCBG_PRISON_ADDRS_MAX || pa->n6 > PCBG_PRISON_ADDRS_MAX)
		return -E2BIG;
	for (i = 0; i < pa->n4; i++) {
		__be32 a = pa->a4[i];

		if (!a || ipv4_is_multicast(a) || ipv4_is_lbcast(a) ||
		    ipv4_is_zeronet(a))
			return -EINVAL;
		for (j = 0; j < i; j++)
			if (pa->a4[j] == a)
				return -EEXIST;
	}
	for (i = 0; i < pa->n6; i++) {
		const struct in6_addr *a = &pa->a6[i];

		if (ipv6_addr_any(a) || ipv6_addr_is_multicast(a) ||
		    ipv6_addr_v4mapped(a))
			return -EINVAL;
		for (j = 0; j < i; j++)
			if (ipv6_addr_equal(&pa->a6[j], a))
				return -EEXIST;
	}
	return 0;
}
