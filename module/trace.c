// SPDX-License-Identifier: GPL-2.0
/*
 * The one place the pcbgroup tracepoints are instantiated, and the events
 * the tables report through them.
 */
#include "pcbg_net.h"

#define CREATE_TRACE_POINTS
#include "pcbg_trace.h"

/*
 * A table resized (table.c, from its resize work): counted, and traced as
 * tracepoint:pcbgroup:resize.
 */
void pcbg_resized(struct pcbg_table *t, int group, unsigned int from,
		  unsigned int to, unsigned int count)
{
	struct pcbg_net *pn = pcbg_net(t->net);

	PCBG_INC(pn, RESIZE);
	trace_resize(t->net, t->protocol, group, from, to, count);
}

/*
 * A socket joined (@in) or left a table: tracepoint:pcbgroup:member. The
 * tracepoint's static key keeps this a call and a test when off.
 */
void pcbg_member(struct pcbg_table *t, const struct pcbg_entry *e, bool in)
{
	if (trace_member_enabled())
		trace_member(t->net, t->protocol, e->sk, e->kind,
			     e->kind == PCBG_WILD ? -1 : e->group, in);
}
