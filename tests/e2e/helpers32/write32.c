// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * write32.c - a static 32-bit x86 program with no libc that opens PATH for writing
 * through the ia32 syscall ABI (int $0x80), closes it and exits: a writer vigil
 * must see whichever syscall table it used. Built by the e2e tests with
 *   clang -m32 -nostdlib -static -ffreestanding -fno-pic -DPATH='"/some/file"'
 * Exits 0 when the open succeeded, 1 when it failed.
 */
#define NR_EXIT	  1
#define NR_OPEN	  5
#define NR_CLOSE  6
#define O_WRONLY_ 01

#include "ia32.h"

__attribute__((force_align_arg_pointer)) void _start(void)
{
	static const char path[] = PATH;
	long fd = sys(NR_OPEN, (long)path, O_WRONLY_, 0);

	if (fd >= 0)
		sys(NR_CLOSE, fd, 0, 0);
	sys(NR_EXIT, fd < 0, 0, 0);
	for (;;)
		;
}
