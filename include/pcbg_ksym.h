/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel functions a module may call but that are not exported: their
 * addresses through kallsyms_lookup_name(), itself not exported since
 * 5.7, whose address a kprobe on it gives.
 */
#ifndef _PCBG_KSYM_H
#define _PCBG_KSYM_H

#include <linux/kprobes.h>

typedef unsigned long (*pcbg_kallsyms_fn)(const char *name);

/*
 * kallsyms_lookup_name(), or NULL. Registered disabled, the kprobe
 * resolves the address without patching the kernel's text twice (an
 * arm and a disarm, each a pass over every ftrace record).
 */
static inline pcbg_kallsyms_fn pcbg_kallsyms(void)
{
	struct kprobe kp = {
		.symbol_name = "kallsyms_lookup_name",
		.flags = KPROBE_FLAG_DISABLED,
	};

	if (register_kprobe(&kp))
		return NULL;
	unregister_kprobe(&kp);
	return (pcbg_kallsyms_fn)kp.addr;
}

#endif /* _PCBG_KSYM_H */
