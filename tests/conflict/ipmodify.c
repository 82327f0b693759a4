// SPDX-License-Identifier: GPL-2.0
/*
 * A stand-in for a livepatch in the tests (tests/conflict.sh): holds an
 * IPMODIFY ftrace_ops on one kernel function, as livepatch does, and
 * changes nothing. Only one IPMODIFY user may hold a function, so
 * pcbgroup must stand aside from a function this holds, and this must
 * fail to load on a function pcbgroup holds.
 */
#include <linux/ftrace.h>
#include <linux/module.h>

static char *func = "__udp4_lib_lookup";
module_param(func, charp, 0444);
MODULE_PARM_DESC(func, "the kernel function to hold");

static void notrace ipmodify_nop(unsigned long ip, unsigned long parent_ip,
				 struct ftrace_ops *op,
				 struct ftrace_regs *fregs)
{
}

static struct ftrace_ops ipmodify_ops = {
	.func = ipmodify_nop,
	.flags = FTRACE_OPS_FL_IPMODIFY,
};

static int __init ipmodify_init(void)
{
	int err = ftrace_set_filter(&ipmodify_ops, (unsigned char *)func,
				    strlen(func), 0);

	if (!err)
		err = register_ftrace_function(&ipmodify_ops);
	if (err)
		ftrace_free_filter(&ipmodify_ops);
	return err;
}

static void __exit ipmodify_exit(void)
{
	unregister_ftrace_function(&ipmodify_ops);
	ftrace_free_filter(&ipmodify_ops);
}

module_init(ipmodify_init);
module_exit(ipmodify_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pcbgroup tests: an IPMODIFY holder, as a livepatch");
