// SPDX-License-Identifier: GPL-2.0
/* The benchmark module's copy of the table code (module/standalone.c). */
#include <linux/module.h>

#include "../module/standalone.c"
