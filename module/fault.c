// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection for the module's own allocations, so that each error
 * path can be driven on purpose (Documentation/fault-injection/): every
 * allocation site asks pcbg_fail() first. /sys/kernel/debug/pcbgroup/fail
 * takes the framework's probability, interval, times, space, task-filter
 * and verbose; each site counts as one byte of space, so "space=N times=1
 * probability=100" fails exactly the N-th allocation (N >= 1).
 * The parameter "fail" (the kernel's fail_* boot syntax,
 * "<interval>,<probability>,<space>,<times>") arms it before module init,
 * for the load path. failslab and fail_page_alloc reach the same sites,
 * but also every allocation of the kernel's around them.
 */
#include <linux/debugfs.h>
#include <linux/fault-inject.h>
#include <linux/module.h>
#include <linux/string.h>

#include "pcbg_fault.h"

#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS	/* else inline no-ops */
static DECLARE_FAULT_ATTR(pcbg_fail_attr);
static struct dentry *pcbg_debugfs;

bool pcbg_fail(void)
{
	return should_fail(&pcbg_fail_attr, 1);
}

static int pcbg_fail_set(const char *val, const struct kernel_param *kp)
{
	char buf[64], *p = buf, *f[4];
	unsigned long interval, probability;
	int space, times, i;

	if (strscpy(buf, val, sizeof(buf)) < 0)
		return -EINVAL;
	for (i = 0; i < 4; i++)
		f[i] = strsep(&p, ",");
	if (p || !f[3] || kstrtoul(strim(f[0]), 10, &interval) ||
	    kstrtoul(strim(f[1]), 10, &probability) ||
	    kstrtoint(strim(f[2]), 10, &space) ||
	    kstrtoint(strim(f[3]), 10, &times) || !interval ||
	    probability > 100 || space < 0 || times < -1) {
		pr_err("fail: want <interval>,<probability>,<space>,<times>\n");
		return -EINVAL;
	}
	pcbg_fail_attr.interval = interval;
	pcbg_fail_attr.probability = probability;
	atomic_set(&pcbg_fail_attr.space, space);
	atomic_set(&pcbg_fail_attr.times, times);
	return 0;
}

static int pcbg_fail_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%lu,%lu,%d,%d\n", pcbg_fail_attr.interval,
			  pcbg_fail_attr.probability,
			  atomic_read(&pcbg_fail_attr.space),
			  atomic_read(&pcbg_fail_attr.times));
}

static const struct kernel_param_ops pcbg_fail_ops = {
	.set = pcbg_fail_set,
	.get = pcbg_fail_get,
};

module_param_cb(fail, &pcbg_fail_ops, NULL, 0600);
MODULE_PARM_DESC(fail, "Fault injection into the module's allocations, \"<interval>,<probability>,<space>,<times>\" as the kernel's fail_* boot options; also /sys/kernel/debug/pcbgroup/fail (kernels with CONFIG_FAULT_INJECTION_DEBUG_FS only)");

void pcbg_fault_init(void)
{
	pcbg_fail_attr.verbose = 1;	/* a line per failure, no stack */
	pcbg_debugfs = debugfs_create_dir("pcbgroup", NULL);
	/* Without debugfs there is just nothing to inject with. */
	fault_create_debugfs_attr("fail", pcbg_debugfs, &pcbg_fail_attr);
}

void pcbg_fault_exit(void)
{
	debugfs_remove_recursive(pcbg_debugfs);
}
#endif
