// SPDX-License-Identifier: GPL-2.0
/*
 * The live RSS configuration and its module parameters, readable and
 * writable at runtime in /sys/module/pcbgroup/parameters/. Writers copy the
 * configuration, change the copy, and publish it with RCU, so a reader in
 * the receive path always sees one consistent key, mask and table.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/slab.h>

#include "pcbg_fault.h"
#include "pcbg_rss.h"
#include "pcbg_net.h"

static struct pcbg_rss pcbg_rss_boot;	/* used until the first change */
struct pcbg_rss __rcu *pcbg_rss_live = (struct pcbg_rss __rcu *)&pcbg_rss_boot;
static DEFINE_MUTEX(pcbg_rss_mutex);
/* Key changes whose sockets are still being moved to their new groups. */
atomic_t pcbg_rss_moving = ATOMIC_INIT(0);
/* Number of group tables sized by the current bucket count. */
static unsigned int pcbg_rss_users;
/*
 * Module exit has run: the parameter files outlive it (free_module()
 * removes them after exit), so a write that comes now must not publish.
 */
static bool pcbg_rss_closed;
static void (*pcbg_rss_rekeyed_fn)(void);

static struct pcbg_rss *pcbg_rss_locked(void)
{
	struct pcbg_rss *rss = rcu_dereference_protected(pcbg_rss_live,
				lockdep_is_held(&pcbg_rss_mutex));

	/* Parameters are parsed before module init: default lazily. */
	if (!rss->bits)
		pcbg_rss_init_config(rss, pcbg_rss_default_bits(num_online_cpus()));
	return rss;
}

static void pcbg_rss_publish(struct pcbg_rss *old, struct pcbg_rss *new)
{
	rcu_assign_pointer(pcbg_rss_live, new);
	if (old != &pcbg_rss_boot)
		kvfree_rcu(old, rcu);
}

typedef int (*pcbg_rss_setter)(struct pcbg_rss *rss, const char *val);

static int pcbg_rss_update(const char *val, pcbg_rss_setter set)
{
	struct pcbg_rss *old, *new;
	void (*rekeyed)(void);
	bool rekey;
	int err;

	new = pcbg_fail() ? NULL : kvmalloc(sizeof(*new), GFP_KERNEL);
	if (!new)
		return -ENOMEM;
	mutex_lock(&pcbg_rss_mutex);
	if (pcbg_rss_closed) {
		mutex_unlock(&pcbg_rss_mutex);
		kvfree(new);
		return -ENODEV;
	}
	old = pcbg_rss_locked();
	*new = *old;
	err = set(new, val);
	if (!err && old->bits != new->bits && pcbg_rss_users)
		err = -EBUSY;	/* groups are sized by the bucket count */
	if (err) {
		mutex_unlock(&pcbg_rss_mutex);
		kvfree(new);
		return err;
	}
	/* Only the key moves connected sockets; the CPU table does not. */
	rekey = old->keylen != new->keylen ||
		memcmp(old->key, new->key, new->keylen);
	if (rekey)
		atomic_inc(&pcbg_rss_moving);	/* before any lookup sees it */
	pcbg_rss_publish(old, new);
	rekeyed = pcbg_rss_rekeyed_fn;
	mutex_unlock(&pcbg_rss_mutex);
	if (rekey) {
		if (rekeyed)
			rekeyed();
		atomic_dec(&pcbg_rss_moving);
	}
	return 0;
}

typedef int (*pcbg_rss_getter)(const struct pcbg_rss *rss, char *buf,
			       size_t size);

static int pcbg_rss_show(char *buf, pcbg_rss_getter get)
{
	int len;

	mutex_lock(&pcbg_rss_mutex);
	len = get(pcbg_rss_locked(), buf, PAGE_SIZE);
	mutex_unlock(&pcbg_rss_mutex);
	return len;
}

static int pcbg_rss_fmt_bits(const struct pcbg_rss *rss, char *buf, size_t size)
{
	return scnprintf(buf, size, "%u\n", rss->bits);
}

static int pcbg_rss_fmt_buckets(const struct pcbg_rss *rss, char *buf,
				size_t size)
{
	return scnprintf(buf, size, "%u\n", pcbg_rss_buckets(rss));
}

static int pcbg_rss_fmt_mask(const struct pcbg_rss *rss, char *buf, size_t size)
{
	return scnprintf(buf, size, "0x%x\n", pcbg_rss_mask(rss));
}

static int pcbg_key_set(const char *val, const struct kernel_param *kp)
{
	return pcbg_rss_update(val, pcbg_rss_parse_key);
}

static int pcbg_key_get(char *buf, const struct kernel_param *kp)
{
	return pcbg_rss_show(buf, pcbg_rss_format_key);
}

static int pcbg_bits_set(const char *val, const struct kernel_param *kp)
{
	return pcbg_rss_update(val, pcbg_rss_set_bits);
}

static int pcbg_bits_get(char *buf, const struct kernel_param *kp)
{
	return pcbg_rss_show(buf, pcbg_rss_fmt_bits);
}

static int pcbg_buckets_get(char *buf, const struct kernel_param *kp)
{
	return pcbg_rss_show(buf, pcbg_rss_fmt_buckets);
}

static int pcbg_mask_get(char *buf, const struct kernel_param *kp)
{
	return pcbg_rss_show(buf, pcbg_rss_fmt_mask);
}

static int pcbg_mapping_set(const char *val, const struct kernel_param *kp)
{
	return pcbg_rss_update(val, pcbg_rss_parse_mapping);
}

static int pcbg_mapping_get(char *buf, const struct kernel_param *kp)
{
	return pcbg_rss_show(buf, pcbg_rss_format_mapping);
}

static const struct kernel_param_ops pcbg_key_ops = {
	.set = pcbg_key_set, .get = pcbg_key_get,
};

static const struct kernel_param_ops pcbg_bits_ops = {
	.set = pcbg_bits_set, .get = pcbg_bits_get,
};

static const struct kernel_param_ops pcbg_buckets_ops = { .get = pcbg_buckets_get };
static const struct kernel_param_ops pcbg_mask_ops = { .get = pcbg_mask_get };

static const struct kernel_param_ops pcbg_mapping_ops = {
	.set = pcbg_mapping_set, .get = pcbg_mapping_get,
};

module_param_cb(key, &pcbg_key_ops, NULL, 0644);
MODULE_PARM_DESC(key, "Toeplitz key, 40 or 52 bytes in hex (ethtool -x format accepted); default: the Microsoft verification key");
module_param_cb(bits, &pcbg_bits_ops, NULL, 0644);
MODULE_PARM_DESC(bits, "RSS bucket bits, 1-7 (default fls(ncpus-1)+1); load time only while groups exist");
module_param_cb(buckets, &pcbg_buckets_ops, NULL, 0444);
MODULE_PARM_DESC(buckets, "Number of RSS buckets (read only: 1 << bits)");
module_param_cb(mask, &pcbg_mask_ops, NULL, 0444);
MODULE_PARM_DESC(mask, "Bucket mask applied to the hash (read only)");
module_param_cb(bucket_mapping, &pcbg_mapping_ops, NULL, 0644);
MODULE_PARM_DESC(bucket_mapping, "Bucket to CPU table as \"bucket:cpu ...\" pairs; CPUs must be online");

/* Called by each group table created with the current bucket count. */
unsigned int pcbg_rss_hold(void)
{
	unsigned int buckets;

	mutex_lock(&pcbg_rss_mutex);
	pcbg_rss_users++;
	buckets = pcbg_rss_buckets(pcbg_rss_locked());
	mutex_unlock(&pcbg_rss_mutex);
	return buckets;
}

void pcbg_rss_release(void)
{
	mutex_lock(&pcbg_rss_mutex);
	pcbg_rss_users--;
	mutex_unlock(&pcbg_rss_mutex);
}

/*
 * @rekeyed re-places the connected sockets after a new key; it is passed
 * down from the module's entry so that this file needs no call up into
 * the groups. A key given on the insmod line is parsed before it is set,
 * when there is nothing to re-place.
 */
void pcbg_rss_setup(void (*rekeyed)(void))
{
	mutex_lock(&pcbg_rss_mutex);
	pcbg_rss_locked();
	pcbg_rss_rekeyed_fn = rekeyed;
	mutex_unlock(&pcbg_rss_mutex);
}

void pcbg_rss_teardown(void)
{
	struct pcbg_rss *rss;

	/*
	 * Module exit: every reader in the receive path is gone
	 * (synchronize_net() ran); a parameter read may still come, and is
	 * served from the static copy.
	 */
	mutex_lock(&pcbg_rss_mutex);
	pcbg_rss_closed = true;
	rss = rcu_dereference_protected(pcbg_rss_live,
					lockdep_is_held(&pcbg_rss_mutex));
	if (rss != &pcbg_rss_boot) {
		pcbg_rss_boot = *rss;
		rcu_assign_pointer(pcbg_rss_live, &pcbg_rss_boot);
		kvfree(rss);
	}
	mutex_unlock(&pcbg_rss_mutex);
}
