// SPDX-License-Identifier: GPL-2.0
/* The one place the pcbgroup tracepoints are instantiated. */
#define CREATE_TRACE_POINTS
#include "pcbg_trace.h"
