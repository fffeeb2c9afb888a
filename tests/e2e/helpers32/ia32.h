/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ia32.h - the ia32 syscall ABI (int $0x80) for the e2e tests' static 32-bit programs,
 * which have no libc: sys(nr, up to five arguments), the ones left out passed as 0.
 */
#ifndef VIGIL_E2E_IA32_H
#define VIGIL_E2E_IA32_H

static inline long ia32_call(long nr, long a, long b, long c, long d, long e)
{
	long ret;

	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e)
			 : "memory");
	return ret;
}

#define IA32_PICK_(nr, a, b, c, d, e, ...) ia32_call(nr, a, b, c, d, e)
#define sys(...)			   IA32_PICK_(__VA_ARGS__, 0, 0, 0, 0, 0, 0)

#endif /* VIGIL_E2E_IA32_H */
