/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * stack_budget.h - the BPF stack of a program's deepest call chain, counted as
 * Debian 12's kernel (6.1) counts it: each function's frame rounded up to 32 bytes,
 * 512 at most along any chain of calls (callbacks count as calls), at most 8
 * frames, and a function that tail-calls may not sit on 256 bytes or more.
 *
 * Newer verifiers round a JIT-ed frame to 16, so a program this host takes can be
 * refused there, and only a run on that kernel would tell. The inputs are the
 * program's final instructions (subprograms appended, as loaded) and the depth of
 * each function as the verifier reported it ("stack depth A+B+C", in the order
 * the functions start), so the count is made where the program was loaded. The
 * verifier reports a bpf_loop caller's depth with the 24 bytes it added after the
 * check when it inlined the loop: those are taken off again.
 */
#ifndef VIGIL_KERNEL_STACK_BUDGET_H
#define VIGIL_KERNEL_STACK_BUDGET_H

#include <linux/bpf.h>
#include <stdbool.h>
#include <stddef.h>

#define STACK_BUDGET_BYTES     512 /* MAX_BPF_STACK */
#define STACK_BUDGET_FRAMES    8   /* MAX_CALL_FRAMES */
#define STACK_BUDGET_TAIL      256 /* what a tail-calling function may sit on */
#define STACK_BUDGET_MAX_FUNCS 256 /* functions of one program this counts */

struct stack_chain {
	int bytes;			/* the deepest chain, frames rounded to 32 */
	int frames;			/* functions in that chain */
	int frame[STACK_BUDGET_FRAMES]; /* their rounded frames, caller first */
	int tail_under;			/* most stack under a tail-calling callee, -1 none */
	bool too_deep;			/* a chain of more than STACK_BUDGET_FRAMES */
	int funcs;			/* functions the instructions start */
	int removed;			/* of them, dead code the verifier removed */
};

/*
 * Parses the verifier's "stack depth A+B+C" line out of a log into depths (at most
 * max). The number of functions, or -EINVAL when the log has no such line.
 */
int stack_budget_parse(const char *log, int *depths, int max);

/*
 * Measures the deepest chain of a program of n instructions whose n_depths
 * functions have the given depths. The instructions may start more functions than
 * that: the verifier removed the dead ones before it reported, and the worst choice
 * of which is counted. 0, or -EINVAL when they start fewer (the depths are not this
 * program's), -E2BIG when the choices are too many to walk.
 */
int stack_budget_measure(const struct bpf_insn *insns, size_t n, const int *depths, int n_depths,
			 struct stack_chain *out);

/* Whether 6.1 takes the chain; when not, why, in words, into why. */
bool stack_budget_fits(const struct stack_chain *c, char *why, size_t len);

#endif
