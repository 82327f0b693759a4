// SPDX-License-Identifier: GPL-2.0
/*
 * The control for tests/reload.sh: the kprobes and kretprobes pcbgroup
 * places, on the same kernel functions, with handlers that only count.
 * If loading and unloading this under tests/reload/hammer crashes the
 * kernel as pcbgroup's reloads did, the fault is in arming probes on
 * those functions, not in what pcbgroup's handlers do.
 */
#include <linux/atomic.h>
#include <linux/kprobes.h>
#include <linux/module.h>

static atomic_long_t hits;

static int probes_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	atomic_long_inc(&hits);
	return 0;
}

static int probes_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	atomic_long_inc(&hits);
	return 0;
}

static int probes_pre(struct kprobe *p, struct pt_regs *regs)
{
	atomic_long_inc(&hits);
	return 0;
}

#define KRP(fn) {							\
	.kp.symbol_name = fn,						\
	.entry_handler = probes_entry,					\
	.handler = probes_ret,						\
	.data_size = sizeof(long),					\
	.maxactive = 512,						\
}

/* As module/track.c and module/raw_track.c place them. */
static struct kretprobe krps[] = {
	KRP("udp_lib_get_port"),
	KRP("ip4_datagram_connect"),
	KRP("ip6_datagram_connect"),
	KRP("udp_disconnect"),
	KRP("udp_lib_unhash"),
	KRP("raw_hash_sk"),
	KRP("raw_unhash_sk"),
	KRP("raw_bind"),
	KRP("__udp_disconnect"),
	KRP("rawv6_bind"),
	KRP("ip6_datagram_connect_v6_only"),
};

static struct kretprobe *krp_ptrs[ARRAY_SIZE(krps)];

static struct kprobe kps[] = {
	{ .symbol_name = "sock_alloc_file", .pre_handler = probes_pre },
};

static struct kprobe *kp_ptrs[ARRAY_SIZE(kps)];

static int __init probes_init(void)
{
	int i, err;

	for (i = 0; i < ARRAY_SIZE(krps); i++)
		krp_ptrs[i] = &krps[i];
	for (i = 0; i < ARRAY_SIZE(kps); i++)
		kp_ptrs[i] = &kps[i];
	err = register_kretprobes(krp_ptrs, ARRAY_SIZE(krp_ptrs));
	if (err)
		return err;
	err = register_kprobes(kp_ptrs, ARRAY_SIZE(kp_ptrs));
	if (err)
		unregister_kretprobes(krp_ptrs, ARRAY_SIZE(krp_ptrs));
	return err;
}

static void __exit probes_exit(void)
{
	unregister_kprobes(kp_ptrs, ARRAY_SIZE(kp_ptrs));
	unregister_kretprobes(krp_ptrs, ARRAY_SIZE(krp_ptrs));
	pr_info("pcbgroup_probes: %ld hits\n", atomic_long_read(&hits));
}

module_init(probes_init);
module_exit(probes_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pcbgroup's probes with counting handlers (test control)");
