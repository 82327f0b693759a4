/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fault injection for the module's own allocations (fault.c), with the
 * kernel's framework: /sys/kernel/debug/pcbgroup/fail. Nothing without
 * CONFIG_FAULT_INJECTION_DEBUG_FS (Debian's stock kernel).
 */
#ifndef _PCBG_FAULT_H
#define _PCBG_FAULT_H

#include <linux/types.h>

#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS
bool pcbg_fail(void);
void pcbg_fault_init(void);
void pcbg_fault_exit(void);
#else
static inline bool pcbg_fail(void)
{
	return false;
}

static inline void pcbg_fault_init(void)
{
}

static inline void pcbg_fault_exit(void)
{
}
#endif

#endif /* _PCBG_FAULT_H */
