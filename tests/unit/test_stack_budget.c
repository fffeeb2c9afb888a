/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * test_stack_budget.c - the deepest call chain of a program as 6.1 counts it, over
 * instruction arrays laid out as libbpf hands them to the kernel (the main function
 * first, subprograms appended): frames rounded to 32, the deepest branch taken,
 * callbacks counted as calls, bpf_loop's inlining taken off, a tail call's 256-byte
 * rule, the 8-frame limit, and depths that are not the program's refused.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "kernel/stack_budget.h"

#define CALL(from, to)                                                                             \
	(struct bpf_insn)                                                                          \
	{                                                                                          \
		.code = BPF_JMP | BPF_CALL, .src_reg = BPF_PSEUDO_CALL, .imm = (to) - (from)-1     \
	}
#define EXIT                                                                                       \
	(struct bpf_insn)                                                                          \
	{                                                                                          \
		.code = BPF_JMP | BPF_EXIT                                                         \
	}
#define MOV0                                                                                       \
	(struct bpf_insn)                                                                          \
	{                                                                                          \
		.code = BPF_ALU64 | BPF_MOV | BPF_K                                                \
	}
#define TAIL                                                                                       \
	(struct bpf_insn)                                                                          \
	{                                                                                          \
		.code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_tail_call                              \
	}
#define LOOP                                                                                       \
	(struct bpf_insn)                                                                          \
	{                                                                                          \
		.code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_loop                                   \
	}

Test(stack_budget, parses_the_last_depth_line_of_a_log)
{
	int d[8];

	cr_assert_eq(stack_budget_parse("verification time 12 usec\nstack depth 8+0+264\n"
					"processed 40 insns (limit 1000000)\n",
					d, 8),
		     3);
	cr_assert(d[0] == 8 && d[1] == 0 && d[2] == 264);
	cr_assert_eq(stack_budget_parse("stack depth 1+2\nstack depth 48\n", d, 8), 1);
	cr_assert_eq(d[0], 48);
	cr_assert_eq(stack_budget_parse("processed 4 insns\n", d, 8), -EINVAL);
	cr_assert_eq(stack_budget_parse("stack depth 1+2+3", d, 2), -EINVAL);
}

/* main -> a -> b, and main -> c: the deeper branch counts, each frame rounded to 32 */
Test(stack_budget, the_deepest_chain_with_frames_rounded_to_32)
{
	struct bpf_insn p[] = {
	    /* 0 main */ CALL(0, 3), CALL(1, 8), EXIT,
	    /* 3 a */ MOV0,	     CALL(4, 6), EXIT,
	    /* 6 b */ MOV0,	     EXIT,
	    /* 8 c */ EXIT,
	};
	int depths[] = {40, 200, 264, 500};
	struct stack_chain c;
	char why[128];

	cr_assert_eq(stack_budget_measure(p, 9, depths, 4, &c), 0);
	/* main+c: 64+512 = 576; main+a+b: 64+224+288 = 576 too; the first found is kept */
	cr_assert_eq(c.bytes, 576);
	depths[3] = 0; /* an empty frame still takes 32 */
	cr_assert_eq(stack_budget_measure(p, 9, depths, 4, &c), 0);
	cr_assert_eq(c.bytes, 576);
	cr_assert_eq(c.frames, 3);
	cr_assert(c.frame[0] == 64 && c.frame[1] == 224 && c.frame[2] == 288);
	cr_assert_not(stack_budget_fits(&c, why, sizeof(why)));
	cr_assert_str_eq(why, "576 bytes of stack along one chain of calls (at most 512)");
	depths[2] = 224; /* 64+224+224 = 512: exactly at the limit fits */
	cr_assert_eq(stack_budget_measure(p, 9, depths, 4, &c), 0);
	cr_assert_eq(c.bytes, 512);
	cr_assert(stack_budget_fits(&c, why, sizeof(why)));
	/* 96+224+224 = 544 over; rounded to 16, as newer kernels do, 80+208+224 = 512 would
	 * fit: a program the host takes that 6.1 refuses */
	depths[0] = 72;
	cr_assert_eq(stack_budget_measure(p, 9, depths, 4, &c), 0);
	cr_assert_eq(c.bytes, 544);
	cr_assert_not(stack_budget_fits(&c, why, sizeof(why)));
}

/* bpf_loop's callback is referenced by a 16-byte load, not called: still a frame */
Test(stack_budget, a_callback_counts_as_a_call)
{
	struct bpf_insn p[] = {
	    /* 0 main */ {.code = BPF_LD | BPF_IMM | BPF_DW, .src_reg = BPF_PSEUDO_FUNC, .imm = 3},
	    {},
	    MOV0,
	    EXIT,
	    /* 4 cb */ EXIT,
	};
	int depths[] = {256, 256};
	struct stack_chain c;

	cr_assert_eq(stack_budget_measure(p, 5, depths, 2, &c), 0);
	cr_assert_eq(c.bytes, 512);
	cr_assert_eq(c.frames, 2);
}

/* the verifier reports a bpf_loop caller with the 24 bytes its inlining added after
 * the check (6.1 takes vg_openat's 136+216+144+8: the first two call bpf_loop) */
Test(stack_budget, a_bpf_loop_callers_inlining_bytes_are_not_counted)
{
	struct bpf_insn p[] = {
	    /* 0 main */ LOOP,	  CALL(1, 3), EXIT,
	    /* 3 a */ LOOP,	  CALL(4, 6), EXIT,
	    /* 6 b */ CALL(6, 8), EXIT,
	    /* 8 c */ EXIT,
	};
	int depths[] = {136, 216, 144, 8};
	struct stack_chain c;

	cr_assert_eq(stack_budget_measure(p, 9, depths, 4, &c), 0);
	cr_assert_eq(c.bytes, 512);
	cr_assert(c.frame[0] == 128 && c.frame[1] == 192 && c.frame[2] == 160 && c.frame[3] == 32);
}

Test(stack_budget, a_tail_call_under_256_bytes_of_callers_is_refused)
{
	struct bpf_insn p[] = {
	    /* 0 main */ CALL(0, 2),
	    EXIT,
	    /* 2 f */ TAIL,
	    EXIT,
	};
	int depths[] = {224, 8};
	struct stack_chain c;
	char why[128];

	cr_assert_eq(stack_budget_measure(p, 4, depths, 2, &c), 0);
	cr_assert_eq(c.tail_under, 224);
	cr_assert(stack_budget_fits(&c, why, sizeof(why)));
	depths[0] = 240; /* rounds to 256 */
	cr_assert_eq(stack_budget_measure(p, 4, depths, 2, &c), 0);
	cr_assert_not(stack_budget_fits(&c, why, sizeof(why)));
	cr_assert_str_eq(why, "a function that tail-calls sits on 256 bytes of stack (under 256 "
			      "only)");
	/* the main function's own tail call is not bound by this */
	struct bpf_insn q[] = {TAIL, EXIT};

	cr_assert_eq(stack_budget_measure(q, 2, depths, 1, &c), 0);
	cr_assert_eq(c.tail_under, -1);
}

/* n functions, each calling the next */
static void chain_of(struct bpf_insn *p, int n)
{
	for (int f = 0; f < n; f++) {
		p[2 * f] = f + 1 < n ? CALL(2 * f, 2 * f + 2) : MOV0;
		p[2 * f + 1] = EXIT;
	}
}

Test(stack_budget, more_than_8_frames_is_too_deep)
{
	struct bpf_insn p[18];
	int depths[9] = {8, 8, 8, 8, 8, 8, 8, 8, 8};
	struct stack_chain c;
	char why[128];

	chain_of(p, 8);
	cr_assert_eq(stack_budget_measure(p, 16, depths, 8, &c), 0);
	cr_assert_not(c.too_deep);
	cr_assert_eq(c.frames, 8);
	chain_of(p, 9);
	cr_assert_eq(stack_budget_measure(p, 18, depths, 9, &c), 0);
	cr_assert(c.too_deep);
	cr_assert_not(stack_budget_fits(&c, why, sizeof(why)));
}

/*
 * main -> a -> b, main -> c, where the verifier removed one function as dead code
 * after its check (which had it at depth 0) and reported three depths: which one is
 * not said, so the worst placement counts.
 */
Test(stack_budget, a_function_removed_as_dead_code_is_placed_at_its_worst)
{
	struct bpf_insn p[] = {
	    /* 0 main */ CALL(0, 3), CALL(1, 6), EXIT,
	    /* 3 a */ MOV0,	     CALL(4, 7), EXIT,
	    /* 6 c */ EXIT,
	    /* 7 b */ EXIT,
	};
	int depths[] = {64, 300, 100};
	struct stack_chain c;

	cr_assert_eq(stack_budget_measure(p, 8, depths, 3, &c), 0);
	cr_assert_eq(c.funcs, 4);
	cr_assert_eq(c.removed, 1);
	/* in order main, a, c, b: c removed, main+a+b = 64+320+128 = 512; b removed,
	 * 64+320+32 = 416; a removed, main+c = 64+320 = 384 */
	cr_assert_eq(c.bytes, 512);
	cr_assert_eq(c.frames, 3);
	depths[2] = 200; /* c removed: 64+320+224 = 608 */
	cr_assert_eq(stack_budget_measure(p, 8, depths, 3, &c), 0);
	cr_assert_eq(c.bytes, 608);
}

Test(stack_budget, depths_of_another_program_are_refused)
{
	struct bpf_insn p[] = {CALL(0, 2), EXIT, EXIT};
	int depths[] = {8, 8, 8};
	struct stack_chain c;

	/* more depths than functions: not this program's */
	cr_assert_eq(stack_budget_measure(p, 3, depths, 3, &c), -EINVAL);
	cr_assert_eq(stack_budget_measure(p, 3, depths, 0, &c), -EINVAL);
	cr_assert_eq(stack_budget_measure(p, 3, depths, 2, &c), 0);
	cr_assert_eq(c.removed, 0);
	/* a call out of the program is no function of it */
	struct bpf_insn q[] = {CALL(0, 9), EXIT};

	cr_assert_eq(stack_budget_measure(q, 2, depths, 2, &c), -EINVAL);
}
