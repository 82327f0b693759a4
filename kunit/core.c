// SPDX-License-Identifier: GPL-2.0
/* The KUnit module: the code under test, built in (module/standalone.c). */
#include <linux/module.h>

#include "../module/standalone.c"

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit suites for pcbgroup");
