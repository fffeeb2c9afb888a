/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * stack_budget.c - a program's deepest call chain as 6.1's verifier counts it (see
 * stack_budget.h): functions start at the program's first instruction and at every
 * target of a call or callback reference; each function's frame is rounded up to
 * 32 bytes and the chain's frames summed.
 */
#include "kernel/stack_budget.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int stack_budget_parse(const char *log, int *depths, int max)
{
	const char *p = log, *found = NULL;
	int n = 0;

	/* the last one: a log of several loads ends with the one that counts */
	while ((p = strstr(p, "stack depth ")))
		found = p = p + strlen("stack depth ");
	if (!found)
		return -EINVAL;
	for (p = found;;) {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p || v < 0 || n == max)
			return -EINVAL;
		depths[n++] = (int)v;
		if (*end != '+')
			return n;
		p = end + 1;
	}
}

static bool is_call(const struct bpf_insn *in)
{
	return in->code == (BPF_JMP | BPF_CALL) && in->src_reg == BPF_PSEUDO_CALL;
}

/* a callback's address (bpf_loop, for_each_map_elem): a frame of the chain too */
static bool is_callback_ref(const struct bpf_insn *in)
{
	return in->code == (BPF_LD | BPF_IMM | BPF_DW) && in->src_reg == BPF_PSEUDO_FUNC;
}

static bool is_tail_call(const struct bpf_insn *in)
{
	return in->code == (BPF_JMP | BPF_CALL) && in->imm == BPF_FUNC_tail_call &&
	       in->src_reg != BPF_PSEUDO_CALL;
}

static bool is_loop_call(const struct bpf_insn *in)
{
	return in->code == (BPF_JMP | BPF_CALL) && in->src_reg == 0 && in->imm == BPF_FUNC_loop;
}

static int round32(int depth)
{
	return ((depth > 0 ? depth : 1) + 31) / 32 * 32;
}

struct walk {
	const struct bpf_insn *insns;
	size_t n;
	int depth[STACK_BUDGET_MAX_FUNCS];	   /* each function's, as reported (0: removed) */
	int budget;				   /* choices of removed functions left to walk */
	size_t starts[STACK_BUDGET_MAX_FUNCS + 1]; /* function i: [starts[i], starts[i+1]) */
	int n_funcs;
	int path[STACK_BUDGET_FRAMES]; /* the rounded frames of the chain being walked */
	struct stack_chain *out;
};

static int func_at(const struct walk *w, size_t insn)
{
	for (int i = 0; i < w->n_funcs; i++)
		if (w->starts[i] == insn)
			return i;
	return -1;
}

static int add_start(struct walk *w, long insn)
{
	int i;

	if (insn < 0 || (size_t)insn >= w->n)
		return -EINVAL;
	if (func_at(w, (size_t)insn) >= 0)
		return 0;
	if (w->n_funcs == STACK_BUDGET_MAX_FUNCS)
		return -E2BIG;
	/* kept in order, as the verifier numbers them */
	for (i = w->n_funcs; i > 0 && w->starts[i - 1] > (size_t)insn; i--)
		w->starts[i] = w->starts[i - 1];
	w->starts[i] = (size_t)insn;
	w->n_funcs++;
	return 0;
}

/*
 * The depth the verifier checked. It inlines bpf_loop after the check, adding three
 * spilled registers (24 bytes, after rounding the frame up to 8) to the caller's
 * depth, and reports the sum: a function that calls bpf_loop was checked with 24
 * bytes less (at most: the rounding was unknown), as its flags are always 0 here.
 */
static int checked_depth(const struct walk *w, int f)
{
	for (size_t i = w->starts[f]; i < w->starts[f + 1]; i++)
		if (is_loop_call(&w->insns[i]))
			return w->depth[f] > 24 ? w->depth[f] - 24 : 0;
	return w->depth[f];
}

static void walk(struct walk *w, int f, int frame, int above)
{
	struct stack_chain *c = w->out;
	int depth;

	if (frame >= STACK_BUDGET_FRAMES) {
		c->too_deep = true;
		return;
	}
	if (f > 0) {
		for (size_t i = w->starts[f]; i < w->starts[f + 1]; i++)
			if (is_tail_call(&w->insns[i]) && above > c->tail_under)
				c->tail_under = above;
	}
	w->path[frame] = round32(checked_depth(w, f));
	depth = above + w->path[frame];
	if (depth > c->bytes) {
		c->bytes = depth;
		c->frames = frame + 1;
		memcpy(c->frame, w->path, (frame + 1) * sizeof(w->path[0]));
	}
	for (size_t i = w->starts[f]; i < w->starts[f + 1]; i++) {
		int callee;

		if (!is_call(&w->insns[i]) && !is_callback_ref(&w->insns[i]))
			continue;
		callee = func_at(w, i + w->insns[i].imm + 1);
		if (callee >= 0)
			walk(w, callee, frame + 1, depth);
	}
}

/*
 * The verifier counts the functions, checks the stack, then removes the code it found
 * dead: a function that only a branch on a constant reached is gone from the count,
 * though the check had it with a depth of 0. Which one is not said, so each choice
 * of the removed functions (never the main one) is walked, and the worst kept.
 * Function f is placed next; removed are still to choose, kept depths are used.
 */
static int assign(struct walk *w, const int *depths, int n_depths, int f, int removed, int kept)
{
	int ret;

	if (f == w->n_funcs) {
		if (removed || kept != n_depths)
			return 0;
		if (w->budget-- == 0)
			return -E2BIG;
		walk(w, 0, 0, 0);
		return 0;
	}
	if (removed) {
		w->depth[f] = 0;
		ret = assign(w, depths, n_depths, f + 1, removed - 1, kept);
		if (ret)
			return ret;
	}
	if (kept == n_depths)
		return 0;
	w->depth[f] = depths[kept];
	return assign(w, depths, n_depths, f + 1, removed, kept + 1);
}

int stack_budget_measure(const struct bpf_insn *insns, size_t n, const int *depths, int n_depths,
			 struct stack_chain *out)
{
	struct walk *w;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	out->tail_under = -1;
	if (!n)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->insns = insns;
	w->n = n;
	w->out = out;
	w->starts[w->n_funcs++] = 0;
	for (size_t i = 0; i < n && !ret; i++)
		if (is_call(&insns[i]) || is_callback_ref(&insns[i]))
			ret = add_start(w, (long)i + insns[i].imm + 1);
	out->funcs = w->n_funcs;
	if (!ret && (n_depths < 1 || w->n_funcs < n_depths))
		ret = -EINVAL;
	if (!ret) {
		w->starts[w->n_funcs] = n;
		w->budget = 4096;
		w->depth[0] = depths[0];
		ret = assign(w, depths, n_depths, 1, w->n_funcs - n_depths, 1);
		out->removed = w->n_funcs - n_depths;
	}
	free(w);
	return ret;
}

bool stack_budget_fits(const struct stack_chain *c, char *why, size_t len)
{
	if (c->too_deep)
		snprintf(why, len, "a chain of calls more than %d deep", STACK_BUDGET_FRAMES);
	else if (c->bytes > STACK_BUDGET_BYTES)
		snprintf(why, len, "%d bytes of stack along one chain of calls (at most %d)",
			 c->bytes, STACK_BUDGET_BYTES);
	else if (c->tail_under >= STACK_BUDGET_TAIL)
		snprintf(why, len,
			 "a function that tail-calls sits on %d bytes of stack (under %d only)",
			 c->tail_under, STACK_BUDGET_TAIL);
	else
		return true;
	return false;
}
