/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The "pcbgroup" generic netlink family: prisons of the caller's network
 * namespace. A stable interface: attributes and commands are only ever
 * added. tools/pcbgjail speaks it.
 */
#ifndef _PCBG_NETLINK_H
#define _PCBG_NETLINK_H

#define PCBG_GENL_NAME		"pcbgroup"
#define PCBG_GENL_VERSION	1

enum pcbg_cmd {
	PCBG_CMD_UNSPEC,
	PCBG_CMD_PRISON_NEW,	/* NAME, CGROUP_FD, [ID, VNET, ADDRS] */
	PCBG_CMD_PRISON_SET,	/* ID or NAME, [ADDRS, VNET] */
	PCBG_CMD_PRISON_DEL,	/* ID or NAME */
	PCBG_CMD_PRISON_GET,	/* ID or NAME; or a dump of all */
	__PCBG_CMD_MAX,
};

enum pcbg_attr {
	PCBG_A_UNSPEC,
	PCBG_A_ID,		/* u32: 1..INT_MAX, chosen if not given */
	PCBG_A_NAME,		/* string: [A-Za-z0-9_.-], not all digits */
	PCBG_A_CGROUP_FD,	/* s32: an open cgroup v2 directory */
	PCBG_A_CGROUP_ID,	/* u64, reply */
	PCBG_A_CGROUP_PATH,	/* string, reply */
	PCBG_A_VNET,		/* u8: own network namespace */
	PCBG_A_ADDRS,		/* nest of ADDR4/ADDR6, primary first */
	PCBG_A_ADDR4,		/* 4 bytes, network order */
	PCBG_A_ADDR6,		/* 16 bytes */
	PCBG_A_SOCKETS,		/* u32, reply: sockets it confines */
	PCBG_A_PAD,
	PCBG_A_ATTACH,		/* flag: the cgroup may have processes; reply: had */
	__PCBG_A_MAX,
};

#define PCBG_A_MAX (__PCBG_A_MAX - 1)

#endif /* _PCBG_NETLINK_H */
