// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * prctl32.c - a static 32-bit x86 program with no libc that renames itself with
 * prctl(PR_SET_NAME) through the ia32 syscall ABI (int $0x80), as a tool hiding
 * under a kernel thread's name would, then exits. Built by the e2e tests with
 *   clang -m32 -nostdlib -static -ffreestanding -fno-pic -DNAME='"kworker/0:7"'
 */
#define NR_EXIT	     1
#define NR_PRCTL     172
#define PR_SET_NAME_ 15

#include "ia32.h"

__attribute__((force_align_arg_pointer)) void _start(void)
{
	static const char name[] = NAME;

	sys(NR_PRCTL, PR_SET_NAME_, (long)name);
	sys(NR_EXIT, 0, 0);
	for (;;)
		;
}
