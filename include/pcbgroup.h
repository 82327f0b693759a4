/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pcbgroup: FreeBSD's connection groups, vnets, prisons and hashed raw
 * demultiplexing for Linux. Declarations shared between the module's files.
 */
#ifndef _PCBGROUP_H
#define _PCBGROUP_H

/* rss_params.c: the live RSS configuration. */
void pcbg_rss_setup(void);
void pcbg_rss_teardown(void);
unsigned int pcbg_rss_hold(void);
void pcbg_rss_release(void);

#endif /* _PCBGROUP_H */
