/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * syscall.bpf.h - what syscall-exit sensors share: the call's arguments read back
 * from the task's saved user registers (so one exit tracepoint suffices, no
 * entry/exit pairing map), and kernel objects behind file descriptors.
 */
#ifndef VIGIL_SYSCALL_BPF_H
#define VIGIL_SYSCALL_BPF_H

#include "core/record.bpf.h"
#include "vigil/syscalls.h"

#define AT_FDCWD_      -100
#define FMODE_CREATED_ 0x100000
#define S_IFMT_	       00170000
#define S_IFDIR_       0040000

/* socketcall(2) call numbers (linux/net.h) */
#define SYS_SOCKET_   1
#define SYS_BIND_     2
#define SYS_CONNECT_  3
#define SYS_LISTEN_   4
#define SYS_ACCEPT_   5
#define SYS_SENDTO_   11
#define SYS_RECVFROM_ 12
#define SYS_SENDMSG_  16
#define SYS_RECVMSG_  17
#define SYS_ACCEPT4_  18

/*
 * How the current call passed its arguments. Sensor bodies are written once and
 * read every argument through sys_arg(); each program builds this for its ABI
 * (a constant at each inlined site, so the native programs carry no ia32 code).
 */
struct sysc {
	struct pt_regs *regs; /* the user registers saved at syscall entry */
	const __u32 *uargs;   /* ia32 socketcall: its argument array (user memory), else NULL */
	bool compat;	      /* ia32: arguments in bx, cx, dx, si, di, bp, 32 bits each */
	bool id16;	      /* ia32 16-bit-id form (setuid, chown, ...): 0xffff means -1 */
	bool off64;	      /* ia32 64-bit-offset form: the offset spans two arguments */
};

/* The user registers saved at syscall entry; at exit they still hold the arguments. */
static __always_inline struct pt_regs *sys_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

/*
 * The current syscall's number in its own ABI's table (it survives to exit).
 * regs is sys_regs()'s: a pointer the verifier knows, read with a plain load.
 */
static __always_inline long sys_nr(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
	return regs->orig_ax;
#elif defined(__TARGET_ARCH_arm64)
	return regs->syscallno;
#endif
}

/* A native call's arguments. */
static __always_inline struct sysc sys_native(void)
{
	return (struct sysc){.regs = sys_regs()};
}

/* An ia32 call's arguments; nr tells the 16-bit-id and 64-bit-offset forms apart. */
static __always_inline struct sysc sys_ia32(void)
{
	struct sysc c = {.regs = sys_regs(), .compat = true};

	switch (sys_nr(c.regs)) {
#define ID16_CASE_(NAME, nr32) case nr32:
		VG_SYSCALLS_IA32_LEGACY(ID16_CASE_)
#undef ID16_CASE_
		c.id16 = true;
		break;
#define OFF64_CASE_(NAME, nr32) case nr32:
		VG_SYSCALLS_IA32_OFF64(OFF64_CASE_)
#undef OFF64_CASE_
		c.off64 = true;
		break;
	}
	return c;
}

/* Argument n (0-5) of the current syscall, as the caller passed it. */
static __always_inline unsigned long sys_arg(struct sysc c, int n)
{
#if defined(__TARGET_ARCH_x86)
	struct pt_regs *regs = c.regs;

	if (c.uargs) {
		__u32 v = 0;

		bpf_probe_read_user(&v, sizeof(v), c.uargs + (n & 7));
		return v;
	}
	/* regs is a pointer the verifier knows (sys_regs()): plain loads, no helper call */
	if (c.compat) {
		switch (n) {
		case 0:
			return (__u32)regs->bx;
		case 1:
			return (__u32)regs->cx;
		case 2:
			return (__u32)regs->dx;
		case 3:
			return (__u32)regs->si;
		case 4:
			return (__u32)regs->di;
		default:
			return (__u32)regs->bp;
		}
	}
	switch (n) {
	case 0:
		return regs->di;
	case 1:
		return regs->si;
	case 2:
		return regs->dx;
	case 3:
		return regs->r10;
	case 4:
		return regs->r8;
	default:
		return regs->r9;
	}
#elif defined(__TARGET_ARCH_arm64)
	/* x0 holds the return value at exit; the first argument survives in orig_x0 */
	struct pt_regs *regs = c.regs;
	struct user_pt_regs *u = (struct user_pt_regs *)regs;

	if (n == 0)
		return BPF_CORE_READ(regs, orig_x0);
	return BPF_CORE_READ(u, regs[n & 7]);
#else
#error "vigil: syscall arguments are not mapped for this architecture"
#endif
}

/* A uid or gid argument: -1 ("unchanged") whatever the width of the form. */
static __always_inline __u32 sys_id_arg(struct sysc c, int n)
{
	__u32 v = sys_arg(c, n);

	return c.id16 && (v & 0xffff) == 0xffff ? (__u32)-1 : v;
}

/* A file offset or length argument at n (and n + 1 for the ia32 64-bit-offset form). */
static __always_inline __s64 sys_off_arg(struct sysc c, int n)
{
	if (c.off64)
		return (__s64)(sys_arg(c, n) | (__u64)sys_arg(c, n + 1) << 32);
	if (c.compat)
		return (__s32)sys_arg(c, n);
	return sys_arg(c, n);
}

/* The thread's ids and capabilities now, and its start. */
static __always_inline void priv_stash_fill(struct task_struct *t, struct priv_stash *s)
{
	const struct cred *cred = BPF_CORE_READ(t, cred);

	s->uids[0] = BPF_CORE_READ(cred, uid.val);
	s->uids[1] = BPF_CORE_READ(cred, euid.val);
	s->uids[2] = BPF_CORE_READ(cred, suid.val);
	s->gids[0] = BPF_CORE_READ(cred, gid.val);
	s->gids[1] = BPF_CORE_READ(cred, egid.val);
	s->gids[2] = BPF_CORE_READ(cred, sgid.val);
	BPF_CORE_READ_INTO(&s->caps[0], cred, cap_effective);
	BPF_CORE_READ_INTO(&s->caps[1], cred, cap_permitted);
	BPF_CORE_READ_INTO(&s->caps[2], cred, cap_inheritable);
	s->start_ns = BPF_CORE_READ(t, start_time);
}

/*
 * After each ia32 call (sensor or not): the thread's ids now, which are the ids
 * before its next ia32 call, so that an ia32 set*id or capset, whose entry no
 * tracepoint sees, still knows what it replaced. A program on raw sys_enter would
 * do it too, but would run for every syscall of every process; this runs only
 * for ia32 calls (rare) and costs them one map update.
 */
/* unused in units with no ia32 sensor */
__attribute__((unused)) static __noinline int stash_ia32(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct priv_stash s = {.syscall = PRIV_STASH_IA32};
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (is_self())
		return 0;
	priv_stash_fill(t, &s);
	bpf_map_update_elem(&priv_stash, &tid, &s, BPF_ANY);
	return 0;
}

/*
 * A sensor at a syscall's exit, written once for both ABIs: vg_NAME on the
 * syscall's own exit tracepoint (native calls), vg_NAME_32 reached from the raw
 * sys_exit dispatcher for ia32 calls. The body follows the macro and sees sc
 * (the arguments) and ret (the return value).
 */
#define SYSCALL_SENSOR(name, tp)                                                                   \
	static __always_inline int name##_sensor(struct sysc sc, long ret);                        \
	SEC("tp/syscalls/sys_exit_" tp)                                                            \
	int vg_##name(struct trace_event_raw_sys_exit *ctx)                                        \
	{                                                                                          \
		return name##_sensor(sys_native(), ctx->ret);                                      \
	}                                                                                          \
	SYSCALL_SENSOR_32(name)                                                                    \
	static __always_inline int name##_sensor(struct sysc sc, long ret)

/* The same, with both ABIs reached from the dispatcher (no per-syscall tracepoint). */
#define SYSCALL_SENSOR_DISPATCHED(name)                                                            \
	static __always_inline int name##_sensor(struct sysc sc, long ret);                        \
	SEC("raw_tp")                                                                              \
	int vg_##name(struct bpf_raw_tracepoint_args *ctx)                                         \
	{                                                                                          \
		return name##_sensor(sys_native(), ctx->args[1]);                                  \
	}                                                                                          \
	SYSCALL_SENSOR_32(name)                                                                    \
	static __always_inline int name##_sensor(struct sysc sc, long ret)

#define SYSCALL_SENSOR_32(name)                                                                    \
	SEC("raw_tp")                                                                              \
	int vg_##name##_32(struct bpf_raw_tracepoint_args *ctx)                                    \
	{                                                                                          \
		name##_sensor(sys_ia32(), ctx->args[1]);                                           \
		return stash_ia32();                                                               \
	}

/*
 * SYSCALL_SENSOR for a sensor whose record another program builds: a body that
 * returns SENSOR_HANDED_ON has left its work in a per-CPU hand-off, and the program
 * tail-calls slot 0 of native_builders (vg_NAME, a tracepoint program) or of
 * ia32_builders (vg_NAME_32, a raw tracepoint program: a program array serves one
 * program type). A builder is verified once for all its sensors, where a builder
 * inlined in each would be verified once per sensor. lost() counts a record whose
 * builder is missing (the tail call came back).
 */
#define SENSOR_HANDED_ON 1
#define SYSCALL_SENSOR_HANDOFF(name, tp, native_builders, ia32_builders, lost)                     \
	static __always_inline int name##_sensor(struct sysc sc, long ret);                        \
	SEC("tp/syscalls/sys_exit_" tp)                                                            \
	int vg_##name(struct trace_event_raw_sys_exit *ctx)                                        \
	{                                                                                          \
		if (name##_sensor(sys_native(), ctx->ret) == SENSOR_HANDED_ON) {                   \
			bpf_tail_call(ctx, &native_builders, 0);                                   \
			lost();                                                                    \
		}                                                                                  \
		return 0;                                                                          \
	}                                                                                          \
	SYSCALL_SENSOR_32_HANDOFF(name, ia32_builders, lost)                                       \
	static __always_inline int name##_sensor(struct sysc sc, long ret)

/* The same, with both ABIs reached from the dispatcher: both are raw tracepoint programs. */
#define SYSCALL_SENSOR_DISPATCHED_HANDOFF(name, raw_builders, lost)                                \
	static __always_inline int name##_sensor(struct sysc sc, long ret);                        \
	SEC("raw_tp")                                                                              \
	int vg_##name(struct bpf_raw_tracepoint_args *ctx)                                         \
	{                                                                                          \
		if (name##_sensor(sys_native(), ctx->args[1]) == SENSOR_HANDED_ON) {               \
			bpf_tail_call(ctx, &raw_builders, 0);                                      \
			lost();                                                                    \
		}                                                                                  \
		return 0;                                                                          \
	}                                                                                          \
	SYSCALL_SENSOR_32_HANDOFF(name, raw_builders, lost)                                        \
	static __always_inline int name##_sensor(struct sysc sc, long ret)

#define SYSCALL_SENSOR_32_HANDOFF(name, ia32_builders, lost)                                       \
	SEC("raw_tp")                                                                              \
	int vg_##name##_32(struct bpf_raw_tracepoint_args *ctx)                                    \
	{                                                                                          \
		if (name##_sensor(sys_ia32(), ctx->args[1]) != SENSOR_HANDED_ON)                   \
			return stash_ia32();                                                       \
		/* the stash first: a tail call does not come back */                              \
		stash_ia32();                                                                      \
		bpf_tail_call(ctx, &ia32_builders, 0);                                             \
		lost();                                                                            \
		return 0;                                                                          \
	}

/*
 * The struct file behind fd in the current task, or NULL: the task's pointers
 * are read with plain loads (a pointer the verifier knows), the table's slot with
 * one read.
 */
static __always_inline struct file *fd_file_current(int fd)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct files_struct *files = t->files;
	struct fdtable *fdt;
	struct file *f = NULL;

	if (fd < 0 || !files)
		return NULL;
	fdt = files->fdt;
	if (!fdt || (unsigned int)fd >= fdt->max_fds)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fdt->fd[fd]);
	return f;
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
