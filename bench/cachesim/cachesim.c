// SPDX-License-Identifier: GPL-2.0
/*
 * cachesim: a cache model as a QEMU TCG plugin (QEMU 7.2's plugin API,
 * version 1), for counts that TCG's wall time cannot give: cache lines
 * missed per lookup. Debian ships QEMU with plugin support but neither
 * plugins nor the API header, so the few declarations used are below.
 *
 * The lookup benchmark (bench/lookup_bench.c) opens a window with the
 * no-op "xchg %bx,%bx" (66 87 db) and closes it with "xchg %cx,%cx"
 * (66 87 c9) around each timed run; "xchg %dx,%dx" (66 87 d2), at each
 * load of the benchmark, restarts the numbering ("cachesim restart"). Within a window every guest data
 * access of that vCPU goes through a model of an L1 data cache per vCPU
 * (32 KiB, 8 ways) and one shared last-level cache (8 MiB, 16 ways),
 * both LRU, 64-byte lines, indexed by physical address; accesses outside
 * windows also go through the model, so a window starts warm or cold as
 * the guest left it. At each close one line goes to QEMU's log:
 *
 *   cachesim window=N vcpu=V insns=I accesses=A stores=S l1_misses=M llc_misses=L
 *
 * N counts windows in the order they opened; I counts the guest
 * instructions that vCPU executed in the window (by translation block:
 * the blocks of the two marks are not counted). Run QEMU single-threaded
 * (-accel tcg,thread=single) with -d plugin -D FILE.
 * scripts/bench builds it and runs it (section "cache").
 *
 * With the argument profile=N (-plugin cachesim.so,profile=N), each close
 * also writes where the window's instructions went, by translation block
 * (its first guest address), the N blocks that ran the most. The blocks
 * count in any vCPU's open window: profile one vCPU's work at a time
 * (scripts/pc-profile pins client and server to CPU 0).
 *
 *   cachesim pc window=N addr=0xADDR insns=I
 *
 * to be named with the guest's /proc/kallsyms (scripts/pc-profile).
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "qemu-plugin-api.h"

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

#define LINE_SHIFT	6
#define L1_SETS		64	/* 64 x 8 x 64 B = 32 KiB */
#define L1_WAYS		8
#define LLC_SETS	8192	/* 8192 x 16 x 64 B = 8 MiB */
#define LLC_WAYS	16
#define MAX_VCPUS	8

struct cache {
	unsigned int sets, ways;
	uint64_t *tag;		/* sets * ways; 0: empty */
	uint64_t *used;		/* last use, for LRU */
	uint64_t clock;
};

/* Whether @line is in @c; brought in (the least recently used out) if not. */
static bool cache_access(struct cache *c, uint64_t line)
{
	unsigned int set = line % c->sets, w, victim = 0;
	uint64_t *tag = &c->tag[set * c->ways], *used = &c->used[set * c->ways];

	c->clock++;
	for (w = 0; w < c->ways; w++) {
		if (tag[w] == line + 1) {
			used[w] = c->clock;
			return true;
		}
		if (used[w] < used[victim])
			victim = w;
	}
	tag[victim] = line + 1;
	used[victim] = c->clock;
	return false;
}

static uint64_t l1_tag[MAX_VCPUS][L1_SETS * L1_WAYS];
static uint64_t l1_used[MAX_VCPUS][L1_SETS * L1_WAYS];
static uint64_t llc_tag[LLC_SETS * LLC_WAYS], llc_used[LLC_SETS * LLC_WAYS];
static struct cache l1[MAX_VCPUS];
static struct cache llc = { LLC_SETS, LLC_WAYS, llc_tag, llc_used, 0 };

struct window {
	bool open;
	unsigned long id;
	uint64_t insns, accesses, stores, l1_misses, llc_misses;
};
static struct window win[MAX_VCPUS];
static unsigned long windows;

static void mem_cb(unsigned int vcpu, qemu_plugin_meminfo_t info,
		   uint64_t vaddr, void *udata)
{
	struct qemu_plugin_hwaddr *hw = qemu_plugin_get_hwaddr(info, vaddr);
	uint64_t addr = hw ? qemu_plugin_hwaddr_phys_addr(hw) : vaddr;
	uint64_t line = addr >> LINE_SHIFT;
	struct window *w = &win[vcpu % MAX_VCPUS];
	bool hit = cache_access(&l1[vcpu % MAX_VCPUS], line);

	if (!hit && !cache_access(&llc, line) && w->open)
		w->llc_misses++;
	if (!w->open)
		return;
	w->accesses++;
	w->stores += qemu_plugin_mem_is_store(info);
	w->l1_misses += !hit;
}

/* A translation block: where it starts, its size, its instructions run. */
struct tbrec {
	uint64_t vaddr, n, insns;
	struct tbrec *next;
};
static struct tbrec *tbrecs;
static unsigned long profile_top;	/* 0: no profile */

static void tb_cb(unsigned int vcpu, void *udata)
{
	struct window *w = &win[vcpu % MAX_VCPUS];

	if (w->open)
		w->insns += (uintptr_t)udata;
}

/* With a profile: the block's own count too. */
static void tb_cb_profile(unsigned int vcpu, void *udata)
{
	struct window *w = &win[vcpu % MAX_VCPUS];
	struct tbrec *r = udata;

	if (w->open) {
		w->insns += r->n;
		r->insns += r->n;
	}
}

static int by_insns(const void *a, const void *b)
{
	const struct tbrec *x = *(struct tbrec * const *)a;
	const struct tbrec *y = *(struct tbrec * const *)b;

	return x->insns < y->insns ? 1 : x->insns > y->insns ? -1 : 0;
}

/* The window's busiest blocks, then every count back to 0. */
static void profile_out(unsigned long id)
{
	struct tbrec *r, **v;
	size_t n = 0, i;
	char buf[128];

	for (r = tbrecs; r; r = r->next)
		n += r->insns != 0;
	v = malloc(n * sizeof(*v) + 1);
	if (!v)
		return;
	n = 0;
	for (r = tbrecs; r; r = r->next)
		if (r->insns)
			v[n++] = r;
	qsort(v, n, sizeof(*v), by_insns);
	for (i = 0; i < n && i < profile_top; i++) {
		snprintf(buf, sizeof(buf),
			 "cachesim pc window=%lu addr=0x%llx insns=%llu\n", id,
			 (unsigned long long)v[i]->vaddr,
			 (unsigned long long)v[i]->insns);
		qemu_plugin_outs(buf);
	}
	for (i = 0; i < n; i++)
		v[i]->insns = 0;
	free(v);
}

static void open_cb(unsigned int vcpu, void *udata)
{
	struct window *w = &win[vcpu % MAX_VCPUS];

	memset(w, 0, sizeof(*w));
	w->open = true;
	w->id = windows++;
}

static void close_cb(unsigned int vcpu, void *udata)
{
	struct window *w = &win[vcpu % MAX_VCPUS];
	char buf[256];

	if (!w->open)
		return;
	w->open = false;
	snprintf(buf, sizeof(buf),
		 "cachesim window=%lu vcpu=%u insns=%llu accesses=%llu stores=%llu l1_misses=%llu llc_misses=%llu\n",
		 w->id, vcpu, (unsigned long long)w->insns,
		 (unsigned long long)w->accesses,
		 (unsigned long long)w->stores,
		 (unsigned long long)w->l1_misses,
		 (unsigned long long)w->llc_misses);
	qemu_plugin_outs(buf);
	if (profile_top)
		profile_out(w->id);
}

static void restart_cb(unsigned int vcpu, void *udata)
{
	windows = 0;
	qemu_plugin_outs("cachesim restart\n");
}

static const uint8_t mark_open[] = { 0x66, 0x87, 0xdb };	/* xchg %bx,%bx */
static const uint8_t mark_close[] = { 0x66, 0x87, 0xc9 };	/* xchg %cx,%cx */
static const uint8_t mark_restart[] = { 0x66, 0x87, 0xd2 };	/* xchg %dx,%dx */

static bool is_mark(struct qemu_plugin_insn *insn, const uint8_t *mark)
{
	return qemu_plugin_insn_size(insn) == 3 &&
	       !memcmp(qemu_plugin_insn_data(insn), mark, 3);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t i, n = qemu_plugin_tb_n_insns(tb);
	struct tbrec *r;

	if (!profile_top) {
		/* No record kept of a block (one per translation) unasked. */
		qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_cb,
						     QEMU_PLUGIN_CB_NO_REGS,
						     (void *)(uintptr_t)n);
	} else {
		r = calloc(1, sizeof(*r));
		if (!r)
			abort();
		r->vaddr = qemu_plugin_tb_vaddr(tb);
		r->n = n;
		r->next = tbrecs;
		tbrecs = r;
		qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_cb_profile,
						     QEMU_PLUGIN_CB_NO_REGS, r);
	}
	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);

		if (is_mark(insn, mark_open))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, open_cb,
				QEMU_PLUGIN_CB_NO_REGS, NULL);
		else if (is_mark(insn, mark_close))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, close_cb,
				QEMU_PLUGIN_CB_NO_REGS, NULL);
		else if (is_mark(insn, mark_restart))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, restart_cb,
				QEMU_PLUGIN_CB_NO_REGS, NULL);
		else
			qemu_plugin_register_vcpu_mem_cb(insn, mem_cb,
				QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW,
				NULL);
	}
}

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const void *info, int argc,
			char **argv)
{
	unsigned int v;
	int a;

	for (a = 0; a < argc; a++)
		if (!strncmp(argv[a], "profile=", 8))
			profile_top = strtoul(argv[a] + 8, NULL, 0);
	for (v = 0; v < MAX_VCPUS; v++)
		l1[v] = (struct cache){ L1_SETS, L1_WAYS, l1_tag[v],
					l1_used[v], 0 };
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	return 0;
}
