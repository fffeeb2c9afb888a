/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * syscall.bpf.h - what syscall-exit sensors share: the call's arguments read back
 * from the task's saved user registers (so one exit tracepoint suffices, no
 * entry/exit pairing map), and kernel objects behind file descriptors.
 */
#ifndef VIGIL_SYSCALL_BPF_H
#define VIGIL_SYSCALL_BPF_H

#include "core/record.bpf.h"

#define AT_FDCWD_      -100
#define FMODE_CREATED_ 0x100000
#define S_IFMT_	       00170000
#define S_IFDIR_       0040000

/* The user registers saved at syscall entry; at exit they still hold the arguments. */
static __always_inline struct pt_regs *sys_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

/* Argument n (0-5) of the current syscall. */
static __always_inline unsigned long sys_arg(struct pt_regs *regs, int n)
{
#if defined(__TARGET_ARCH_x86)
	switch (n) {
	case 0:
		return BPF_CORE_READ(regs, di);
	case 1:
		return BPF_CORE_READ(regs, si);
	case 2:
		return BPF_CORE_READ(regs, dx);
	case 3:
		return BPF_CORE_READ(regs, r10);
	case 4:
		return BPF_CORE_READ(regs, r8);
	default:
		return BPF_CORE_READ(regs, r9);
	}
#elif defined(__TARGET_ARCH_arm64)
	/* x0 holds the return value at exit; the first argument survives in orig_x0 */
	struct user_pt_regs *u = (struct user_pt_regs *)regs;

	if (n == 0)
		return BPF_CORE_READ(regs, orig_x0);
	return BPF_CORE_READ(u, regs[n & 7]);
#else
#error "vigil: syscall arguments are not mapped for this architecture"
#endif
}

/* The struct file behind fd in task t, or NULL. */
static __always_inline struct file *fd_file(struct task_struct *t, int fd)
{
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	struct file **fds;
	struct file *f = NULL;

	if (fd < 0 || !fdt || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	bpf_core_read(&f, sizeof(f), &fds[fd]);
	return f;
}

#endif /* VIGIL_SYSCALL_BPF_H */
