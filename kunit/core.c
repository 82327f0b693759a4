// SPDX-License-Identifier: GPL-2.0
/*
 * The code under test, compiled into the KUnit module so the suites can
 * call it without exporting anything from pcbgroup.ko.
 */
#include <linux/module.h>

#include "../module/rss.c"

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit suites for pcbgroup");
