// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ia32_fattr.c - a static 32-bit x86 program with no libc that sets a file's times
 * and inode flags through the ia32 syscall ABI (int $0x80), as a tool dodging 64-bit
 * syscall monitors would. Built by the e2e tests with
 *   clang -m32 -nostdlib -static -ffreestanding -fno-pic -DPATH='"FILE"'
 * and run as root. In order, each with its own modification time (the test tells
 * them apart by it): utimensat with 32-bit timespecs (1000000001), utimensat_time64
 * (1000000002), futimesat (1000000003), utimes (1000000004), utime (1000000005); then
 * it opens FILE and sets FS_IMMUTABLE_FL with FS_IOC32_SETFLAGS and clears it again;
 * last it tries process_vm_writev into its parent at an address nothing is mapped at
 * (an attempt: it fails with EFAULT). Exits 0 when every call but the last succeeded,
 * else the number of the first that failed.
 */
#define NR_EXIT		     1
#define NR_OPEN		     5
#define NR_UTIME	     30
#define NR_IOCTL	     54
#define NR_UTIMES	     271
#define NR_FUTIMESAT	     299
#define NR_UTIMENSAT	     320
#define NR_UTIMENSAT_TIME64  412
#define NR_GETPPID	     64
#define NR_PROCESS_VM_WRITEV 348

#define AT_FDCWD_	   -100
#define FS_IOC32_SETFLAGS_ 0x40046602
#define FS_IMMUTABLE_FL_   0x10
#define T0		   1000000000

#include "ia32.h"

long vg_arg6; /* the sixth argument (ebp), 0 */

/* A call with six arguments: ebp is the frame pointer, so it is saved around the call. */
static long sys6(long nr, long a, long b, long c, long d, long e)
{
	long ret;

	__asm__ volatile("push %%ebp\n\tmovl vg_arg6, %%ebp\n\tint $0x80\n\tpop %%ebp"
			 : "=a"(ret)
			 : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e)
			 : "memory");
	return ret;
}

static void done(long code)
{
	sys(NR_EXIT, code, 0, 0, 0);
}

void _start(void)
{
	static const char path[] = PATH;
	int ts32[4] = {T0 + 1, 0, T0 + 1, 0};	    /* old_timespec32[2] */
	long long ts64[4] = {T0 + 2, 0, T0 + 2, 0}; /* __kernel_timespec[2] */
	int tv3[4] = {T0 + 3, 0, T0 + 3, 0}, tv4[4] = {T0 + 4, 0, T0 + 4, 0}; /* timeval32 */
	int ub[2] = {T0 + 5, T0 + 5};					      /* utimbuf32 */
	int flags = FS_IMMUTABLE_FL_, none = 0;
	long fd, liov[2], riov[2]; /* struct iovec: base, length */

	if (sys(NR_UTIMENSAT, AT_FDCWD_, (long)path, (long)ts32, 0))
		done(1);
	if (sys(NR_UTIMENSAT_TIME64, AT_FDCWD_, (long)path, (long)ts64, 0))
		done(2);
	if (sys(NR_FUTIMESAT, AT_FDCWD_, (long)path, (long)tv3, 0))
		done(3);
	if (sys(NR_UTIMES, (long)path, (long)tv4, 0, 0))
		done(4);
	if (sys(NR_UTIME, (long)path, (long)ub, 0, 0))
		done(5);
	fd = sys(NR_OPEN, (long)path, 0, 0, 0);
	if (fd < 0)
		done(6);
	if (sys(NR_IOCTL, fd, FS_IOC32_SETFLAGS_, (long)&flags, 0))
		done(7);
	if (sys(NR_IOCTL, fd, FS_IOC32_SETFLAGS_, (long)&none, 0))
		done(8);
	liov[0] = (long)ub;
	liov[1] = sizeof(ub);
	riov[0] = 0x1000;
	riov[1] = sizeof(ub);
	sys6(NR_PROCESS_VM_WRITEV, sys(NR_GETPPID, 0, 0, 0, 0), (long)liov, 1, (long)riov, 1);
	done(0);
}
