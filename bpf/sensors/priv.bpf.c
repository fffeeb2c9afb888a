/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * priv.bpf.c - privilege and kernel sensors at syscall exit: id and capability
 * changes, ptrace, module loading, mounts, namespaces, bpf(), memfd_create,
 * chroot, signals to other processes and thread renames. They are rare and worth an alert on
 * their own, so every record wakes the reader at once.
 *
 * What a set*id or capset call replaced is gone by the time it returns: small
 * entry programs stash the caller's old ids or capabilities per thread, and the
 * exit program picks them up (VG_PF_OLD_KNOWN says it found them). No entry
 * tracepoint fires for ia32 calls: there the ids stashed at the thread's last
 * ia32 call's exit stand for them (see stash_ia32 in core/syscall.bpf.h).
 *
 * Each sensor serves native and ia32 calls alike (SYSCALL_SENSOR). The module
 * calls are reached through the raw sys_exit dispatcher for both ABIs: a kernel
 * without module support has no tracepoints for them, yet a loading attempt
 * still runs (and fails) and is news.
 */
#include "core/enforce.bpf.h"
#include "core/filter.bpf.h"
#include "core/path.bpf.h"
#include "core/record.bpf.h"
#include "core/syscall.bpf.h"

#define NSFS_MAGIC_	     0x6e736673
#define PIDFS_MAGIC_	     0x50494446
#define ANON_INODE_FS_MAGIC_ 0x09041934
#define NS_NAME_MAX	     64 /* "cgroup:[4026531835]" and friends */
#define BPF_OBJ_NAME_LEN_    16 /* map_name / prog_name in union bpf_attr */
#define BPF_MAP_CREATE_	     0
#define BPF_PROG_LOAD_	     5
/* offsets in union bpf_attr (UAPI, fixed); offsetof() on vmlinux.h types becomes a relocation */
#define BPF_ATTR_MAP_NAME_OFF  28
#define BPF_ATTR_PROG_NAME_OFF 48

/* ptrace requests that start tracing or write into the tracee (x86 and generic) */
#define PTRACE_TRACEME_		 0
#define PTRACE_POKETEXT_	 4
#define PTRACE_POKEDATA_	 5
#define PTRACE_POKEUSR_		 6
#define PTRACE_SETREGS_		 13
#define PTRACE_SETFPREGS_	 15
#define PTRACE_ATTACH_		 16
#define PTRACE_SETFPXREGS_	 19
#define PTRACE_SETSIGINFO_	 0x4203
#define PTRACE_SETREGSET_	 0x4205
#define PTRACE_SEIZE_		 0x4206
#define PTRACE_SET_SYSCALL_INFO_ 0x4212

/* What the exit program compares with the ids the entry stashed (struct priv_stash). */
enum priv_state {
	PRIV_NONE,
	PRIV_UIDS, /* real, effective, saved uid */
	PRIV_GIDS, /* real, effective, saved gid */
	PRIV_CAPS, /* effective, permitted, inheritable */
};

/* Where each of s1..s3 comes from. */
enum priv_src {
	PS_NONE,    /* unused */
	PS_USER,    /* a user string */
	PS_JOINED,  /* a user path, joined to the cwd when relative */
	PS_FD,	    /* the path behind an fd; nsfs files by namespace name */
	PS_ROOT,    /* the task's root after the call */
	PS_OBJNAME, /* a user char[16] object name (bpf_attr) */
};

struct priv_args {
	__u32 type;	    /* enum vg_type */
	__u16 syscall;	    /* enum vg_syscall */
	__u8 state;	    /* enum priv_state: stashed at entry, read again at exit */
	bool drop;	    /* the sensor already knows the call is not worth sending */
	bool compat;	    /* an ia32 call: a PRIV_STASH_IA32 stash stands for its entry */
	__s32 target;	    /* target pid, 0 none */
	__s32 fd;	    /* the fd for PS_FD */
	__u64 arg[3];	    /* arg0..arg2 of the record */
	const char *str[3]; /* user pointers behind s1..s3 */
	__u8 src[3];	    /* enum priv_src of s1..s3 */
};

static __always_inline void priv_read_state(const struct cred *cred, __u8 state, __u32 *ids,
					    __u64 *caps)
{
	switch (state) {
	case PRIV_UIDS:
		ids[0] = BPF_CORE_READ(cred, uid.val);
		ids[1] = BPF_CORE_READ(cred, euid.val);
		ids[2] = BPF_CORE_READ(cred, suid.val);
		break;
	case PRIV_GIDS:
		ids[0] = BPF_CORE_READ(cred, gid.val);
		ids[1] = BPF_CORE_READ(cred, egid.val);
		ids[2] = BPF_CORE_READ(cred, sgid.val);
		break;
	case PRIV_CAPS:
		BPF_CORE_READ_INTO(&caps[0], cred, cap_effective);
		BPF_CORE_READ_INTO(&caps[1], cred, cap_permitted);
		BPF_CORE_READ_INTO(&caps[2], cred, cap_inheritable);
		break;
	}
}

static __always_inline int priv_enter(__u32 type, __u16 sys, __u8 state)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct vg_filter_type *f = filter_get(type);
	struct priv_stash s = {.syscall = sys};
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (is_self() || (f && f->mode == VG_FILTER_NONE))
		return 0;
	priv_stash_fill(t, &s);
	bpf_map_update_elem(&priv_stash, &tid, &s, BPF_ANY);
	return 0;
}

/* t's pid as its own pid namespace numbers it (what kill() takes), and that namespace. */
static __always_inline struct upid priv_upid(struct task_struct *t)
{
	struct pid *pid = BPF_CORE_READ(t, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid up = {};

	bpf_core_read(&up, sizeof(up), &pid->numbers[level & 31]);
	return up;
}

/* Appends what bpf_snprintf() makes of fmt (a constant) and data. */
static __always_inline __u32 fmt_append(char *ev, __u32 off, struct vg_str *s, const char *fmt,
					__u64 *data, __u32 data_len)
{
	long n;

	off = ev_off(off);
	n = bpf_snprintf(ev + off, NS_NAME_MAX, fmt, data, data_len);
	if (n <= 1 || n > NS_NAME_MAX)
		return off;
	s->off = off;
	s->len = n - 1;
	return off + n;
}

/* "net:[4026531840]", as readlink(/proc/PID/ns/net) says, for an nsfs inode. */
static __always_inline __u32 ns_name_append(char *ev, __u32 off, struct vg_str *s,
					    struct inode *ino)
{
	static const char fmt[] = "%s:[%llu]";
	struct ns_common *ns = BPF_CORE_READ(ino, i_private);
	__u64 data[2];

	data[0] = (__u64)BPF_CORE_READ(ns, ops, name);
	data[1] = BPF_CORE_READ(ino, i_ino);
	return fmt_append(ev, off, s, fmt, data, sizeof(data));
}

/*
 * "pidfd:[1234]" with the host pid, for a pidfd: since 6.9 a pidfs inode, which holds
 * the pid; before, an anonymous inode named "[pidfd]" whose file holds it.
 */
static __always_inline __u32 pidfd_name_append(char *ev, __u32 off, struct vg_str *s,
					       struct pid *pid)
{
	static const char fmt[] = "pidfd:[%d]";
	__u64 data[1];

	data[0] = BPF_CORE_READ(pid, numbers[0].nr);
	return fmt_append(ev, off, s, fmt, data, sizeof(data));
}

/* The pid a pre-6.9 pidfd refers to, or NULL for any other anonymous-inode file. */
static __always_inline struct pid *anon_pidfd(struct file *f)
{
	const __u64 pidfd_name = 0x005d64666469705bULL; /* "[pidfd]", NUL-terminated */
	__u64 name = 0;

	bpf_probe_read_kernel_str(&name, sizeof(name),
				  BPF_CORE_READ(f, f_path.dentry, d_name.name));
	return name == pidfd_name ? BPF_CORE_READ(f, private_data) : NULL;
}

static __always_inline __u32 fd_path_append(char *ev, __u32 off, struct vg_str *s,
					    struct task_struct *t, int fd, bool *trunc)
{
	struct file *f = fd_file(t, fd);
	struct inode *ino;
	struct walk *w;
	__u32 magic;

	if (!f)
		return off;
	ino = BPF_CORE_READ(f, f_inode);
	magic = BPF_CORE_READ(ino, i_sb, s_magic);
	if (magic == NSFS_MAGIC_)
		return ns_name_append(ev, off, s, ino);
	if (magic == PIDFS_MAGIC_)
		return pidfd_name_append(ev, off, s, BPF_CORE_READ(ino, i_private));
	if (magic == ANON_INODE_FS_MAGIC_) {
		struct pid *pid = anon_pidfd(f);

		if (pid)
			return pidfd_name_append(ev, off, s, pid);
	}
	w = path_resolve(t, &f->f_path);
	return w ? path_append(ev, off, s, w, trunc) : off;
}

/*
 * The task's root after chroot, as the init of its pid namespace sees it: the
 * caller's own root is the new root itself, so it cannot be the end of the walk.
 */
static __always_inline __u32 root_path_append(char *ev, __u32 off, struct vg_str *s,
					      struct task_struct *t, bool *trunc)
{
	struct pid_namespace *ns = priv_upid(t).ns;
	struct task_struct *reaper = BPF_CORE_READ(ns, child_reaper);
	struct walk *w;

	if (!reaper)
		return off;
	w = path_resolve(reaper, (struct path *)((char *)BPF_CORE_READ(t, fs) +
						 bpf_core_field_offset(struct fs_struct, root)));
	return w ? path_append(ev, off, s, w, trunc) : off;
}

static __always_inline __u32 priv_str(char *ev, __u32 off, struct vg_str *s, __u8 src,
				      const char *str, struct priv_args *a, struct task_struct *t,
				      __u32 *hflags, __u32 trunc_flag)
{
	__u32 jflags = 0;
	bool trunc = false;

	s->off = 0;
	s->len = 0;
	switch (src) {
	case PS_USER:
		off = str_append(ev, off, s, str, VG_PATH_MAX, true, &trunc);
		break;
	case PS_OBJNAME:
		off = str_append(ev, off, s, str, BPF_OBJ_NAME_LEN_, true, &trunc);
		/* the kernel wants the NUL inside the 16 bytes: a full buffer is not a cut */
		trunc = false;
		break;
	case PS_JOINED:
		off = joined_append(ev, off, s, t, AT_FDCWD_, str, &jflags, VG_FL_PATH_TRUNC, NULL);
		trunc = jflags & VG_FL_PATH_TRUNC;
		break;
	case PS_FD:
		off = fd_path_append(ev, off, s, t, a->fd, &trunc);
		break;
	case PS_ROOT:
		off = root_path_append(ev, off, s, t, &trunc);
		break;
	}
	if (trunc)
		*hflags |= trunc_flag;
	return off;
}

/* What a privilege sensor decided, for the program that builds the record (priv_build). */
struct priv_handoff {
	struct priv_args a;
	struct priv_stash old; /* the state before the call, when old_known */
	long ret;
	bool old_known;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct priv_handoff);
} priv_handoff SEC(".maps");

/* the builders, one per program type of the sensors (the loader fills slot 0) */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} priv_builder SEC(".maps"); /* vg_priv_build: the native sensors' tracepoints */

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} priv_builder_raw SEC(".maps"); /* vg_priv_build_raw: ia32 and dispatched calls */

/* A tail call to a builder came back (an empty slot): the record is lost, and counted. */
static __noinline void priv_handoff_lost(void)
{
	__u32 zero = 0;
	struct priv_handoff *h = bpf_map_lookup_elem(&priv_handoff, &zero);

	if (h && h->a.type < VG_EV_TYPE_MAX)
		count(h->a.type, CNT_LOST);
}

/*
 * The sensor's half of a privilege record: the stash of the state before the call,
 * and the checks. Returns SENSOR_HANDED_ON when the record goes on to priv_build,
 * 0 when it ends here.
 */
static __noinline int priv_event(struct priv_args *a, long ret)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct priv_stash old, *st;
	struct priv_handoff *h;
	__u32 zero = 0, type = a->type;
	bool old_known = false;

	if (type >= VG_EV_TYPE_MAX)
		return 0;
	count(type, CNT_SEEN);
	if (a->state != PRIV_NONE) {
		/* picked up even when the event is dropped, so entries never linger; an
		 * ia32 thread's stash is replaced after each of its ia32 calls instead */
		st = bpf_map_lookup_elem(&priv_stash, &tid);
		if (st && st->start_ns == BPF_CORE_READ(t, start_time) &&
		    (st->syscall == a->syscall || (a->compat && st->syscall == PRIV_STASH_IA32))) {
			old = *st;
			old_known = true;
		}
		if (st && st->syscall != PRIV_STASH_IA32)
			bpf_map_delete_elem(&priv_stash, &tid);
	}
	if (a->drop || is_self()) {
		count(type, CNT_FILTERED);
		return 0;
	}
	/* no path criterion applies to these types: FILTER_NEED_PATH sends */
	if (filter_cheap(type, 0, false, ret < 0) == FILTER_DROP) {
		count(type, CNT_FILTERED);
		return 0;
	}
	/* only a record that goes on pays for the hand-off */
	h = bpf_map_lookup_elem(&priv_handoff, &zero);
	if (!h)
		return 0;
	h->a = *a;
	h->ret = ret;
	h->old_known = old_known;
	if (old_known)
		h->old = old;
	return SENSOR_HANDED_ON;
}

/* The other half, in a program of its own: the record, the kill rules and the send. */
static __noinline int priv_record(struct priv_handoff *h)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct priv_args *a = &h->a;
	__u32 off, type = a->type;
	long ret = h->ret;
	struct vg_priv *e;
	char *ev;

	if (type >= VG_EV_TYPE_MAX)
		return 0;
	ev = scratch_get();
	if (!ev)
		return 0;
	e = (struct vg_priv *)ev;
	hdr_fill(&e->hdr, t, type);
	e->ret = ret;
	e->syscall = a->syscall;
	e->pad0 = 0;
	e->target = a->target;
	e->arg0 = a->arg[0];
	e->arg1 = a->arg[1];
	e->arg2 = a->arg[2];
	__builtin_memset(e->ids_old, 0, sizeof(e->ids_old));
	__builtin_memset(e->ids_new, 0, sizeof(e->ids_new));
	__builtin_memset(e->caps_old, 0, sizeof(e->caps_old));
	__builtin_memset(e->caps_new, 0, sizeof(e->caps_new));
	e->pad1 = 0;
	if (a->state != PRIV_NONE) {
		priv_read_state(BPF_CORE_READ(t, cred), a->state, e->ids_new, e->caps_new);
		if (h->old_known) {
			if (a->state == PRIV_UIDS)
				__builtin_memcpy(e->ids_old, h->old.uids, sizeof(e->ids_old));
			else if (a->state == PRIV_GIDS)
				__builtin_memcpy(e->ids_old, h->old.gids, sizeof(e->ids_old));
			else
				__builtin_memcpy(e->caps_old, h->old.caps, sizeof(e->caps_old));
			e->hdr.flags |= VG_PF_OLD_KNOWN;
		}
	}
	off = sizeof(*e);
	off = priv_str(ev, off, &e->s1, a->src[0], a->str[0], a, t, &e->hdr.flags, VG_PF_S1_TRUNC);
	off = priv_str(ev, off, &e->s2, a->src[1], a->str[1], a, t, &e->hdr.flags, VG_PF_S2_TRUNC);
	off = priv_str(ev, off, &e->s3, a->src[2], a->str[2], a, t, &e->hdr.flags, VG_PF_S3_TRUNC);
	enforce_kill(&e->hdr, NULL, 0, ENF_IN_CODE(e->syscall) | ENF_IN_SYSCALL, NULL);
	submit(ev, off, true);
	return 0;
}

#define PRIV_SENSOR(name, tp)                                                                      \
	SYSCALL_SENSOR_HANDOFF(name, tp, priv_builder, priv_builder_raw, priv_handoff_lost)
#define PRIV_SENSOR_DISPATCHED(name)                                                               \
	SYSCALL_SENSOR_DISPATCHED_HANDOFF(name, priv_builder_raw, priv_handoff_lost)

#define PRIV_ARGS(t, sys) struct priv_args a = {.type = (t), .syscall = (sys), .compat = sc.compat}

/* set*id: the raw ids as the kernel reads them (uid_t), -1 meaning "unchanged" */
#define SETID_EXIT(name, sys, ids, nargs)                                                          \
	SEC("tp/syscalls/sys_enter_" #name)                                                        \
	int vg_##name##_enter(void *ctx)                                                           \
	{                                                                                          \
		return priv_enter(VG_EV_SETID, sys, ids);                                          \
	}                                                                                          \
	PRIV_SENSOR(name, #name)                                                                   \
	{                                                                                          \
		PRIV_ARGS(VG_EV_SETID, sys);                                                       \
		int i;                                                                             \
                                                                                                   \
		a.state = ids;                                                                     \
		for (i = 0; i < (nargs); i++)                                                      \
			a.arg[i] = sys_id_arg(sc, i);                                              \
		return priv_event(&a, ret);                                                        \
	}

SETID_EXIT(setuid, VG_SYS_SETUID, PRIV_UIDS, 1)
SETID_EXIT(setgid, VG_SYS_SETGID, PRIV_GIDS, 1)
SETID_EXIT(setreuid, VG_SYS_SETREUID, PRIV_UIDS, 2)
SETID_EXIT(setregid, VG_SYS_SETREGID, PRIV_GIDS, 2)
SETID_EXIT(setresuid, VG_SYS_SETRESUID, PRIV_UIDS, 3)
SETID_EXIT(setresgid, VG_SYS_SETRESGID, PRIV_GIDS, 3)

SEC("tp/syscalls/sys_enter_capset")
int vg_capset_enter(void *ctx)
{
	return priv_enter(VG_EV_CAPSET, VG_SYS_CAPSET, PRIV_CAPS);
}

PRIV_SENSOR(capset, "capset")
{
	PRIV_ARGS(VG_EV_CAPSET, VG_SYS_CAPSET);

	a.state = PRIV_CAPS;
	return priv_event(&a, ret);
}

/*
 * Reading the tracee and resuming it would flood (strace makes several calls per
 * traced syscall): only taking a process or writing into it is sent.
 */
static __always_inline bool ptrace_sent(long req)
{
	switch (req) {
	case PTRACE_TRACEME_:
	case PTRACE_POKETEXT_:
	case PTRACE_POKEDATA_:
	case PTRACE_POKEUSR_:
	case PTRACE_SETREGS_:
	case PTRACE_SETFPREGS_:
	case PTRACE_ATTACH_:
	case PTRACE_SETFPXREGS_:
	case PTRACE_SETSIGINFO_:
	case PTRACE_SETREGSET_:
	case PTRACE_SEIZE_:
	case PTRACE_SET_SYSCALL_INFO_:
		return true;
	default:
		return false;
	}
}

PRIV_SENSOR(ptrace, "ptrace")
{
	PRIV_ARGS(VG_EV_PTRACE, VG_SYS_PTRACE);

	a.arg[0] = sys_arg(sc, 0);
	a.target = sys_arg(sc, 1);
	a.arg[1] = sys_arg(sc, 2);
	a.arg[2] = sys_arg(sc, 3);
	a.drop = !ptrace_sent(a.arg[0]);
	return priv_event(&a, ret);
}

PRIV_SENSOR_DISPATCHED(init_module)
{
	PRIV_ARGS(VG_EV_MODULE, VG_SYS_INIT_MODULE);

	a.arg[1] = sys_arg(sc, 1);
	a.str[0] = (const char *)sys_arg(sc, 2);
	a.src[0] = PS_USER;
	return priv_event(&a, ret);
}

PRIV_SENSOR_DISPATCHED(finit_module)
{
	PRIV_ARGS(VG_EV_MODULE, VG_SYS_FINIT_MODULE);

	a.fd = sys_arg(sc, 0);
	a.arg[2] = (__u32)a.fd;
	a.str[0] = (const char *)sys_arg(sc, 1);
	a.src[0] = PS_USER;
	a.src[1] = PS_FD;
	a.arg[0] = (__u32)sys_arg(sc, 2);
	return priv_event(&a, ret);
}

/* delete_module(name, flags) and memfd_create(name, flags): s1 = name, arg0 = flags */
static __always_inline int name_flags_event(struct sysc sc, long ret, __u32 type, __u16 sys)
{
	PRIV_ARGS(type, sys);

	a.str[0] = (const char *)sys_arg(sc, 0);
	a.src[0] = PS_USER;
	a.arg[0] = (__u32)sys_arg(sc, 1);
	return priv_event(&a, ret);
}

PRIV_SENSOR_DISPATCHED(delete_module)
{
	return name_flags_event(sc, ret, VG_EV_MODULE, VG_SYS_DELETE_MODULE);
}

PRIV_SENSOR(mount, "mount")
{
	PRIV_ARGS(VG_EV_MOUNT, VG_SYS_MOUNT);

	a.str[0] = (const char *)sys_arg(sc, 0);
	a.src[0] = PS_USER;
	a.str[1] = (const char *)sys_arg(sc, 1);
	a.src[1] = PS_JOINED;
	a.str[2] = (const char *)sys_arg(sc, 2);
	a.src[2] = PS_USER;
	a.arg[0] = sys_arg(sc, 3);
	return priv_event(&a, ret);
}

/* umount2 is "umount" in the kernel's syscall table */
PRIV_SENSOR(umount2, "umount")
{
	PRIV_ARGS(VG_EV_UMOUNT, VG_SYS_UMOUNT2);

	a.str[1] = (const char *)sys_arg(sc, 0);
	a.src[1] = PS_JOINED;
	a.arg[0] = (__u32)sys_arg(sc, 1);
	return priv_event(&a, ret);
}

PRIV_SENSOR(unshare, "unshare")
{
	PRIV_ARGS(VG_EV_UNSHARE, VG_SYS_UNSHARE);

	a.arg[0] = sys_arg(sc, 0);
	return priv_event(&a, ret);
}

PRIV_SENSOR(setns, "setns")
{
	PRIV_ARGS(VG_EV_SETNS, VG_SYS_SETNS);

	a.fd = sys_arg(sc, 0);
	a.src[0] = PS_FD;
	a.arg[0] = (__u32)sys_arg(sc, 1);
	return priv_event(&a, ret);
}

PRIV_SENSOR(bpf, "bpf")
{
	PRIV_ARGS(VG_EV_BPF, VG_SYS_BPF);
	const char *attr = (const char *)sys_arg(sc, 1);
	__u32 size = sys_arg(sc, 2), kind = 0, name_off;
	int cmd = sys_arg(sc, 0);

	a.arg[0] = (__u32)cmd;
	if (cmd == BPF_MAP_CREATE_ || cmd == BPF_PROG_LOAD_) {
		/* map_type and prog_type both open the attribute union */
		bpf_probe_read_user(&kind, sizeof(kind), attr);
		a.arg[1] = kind;
		name_off = cmd == BPF_MAP_CREATE_ ? BPF_ATTR_MAP_NAME_OFF : BPF_ATTR_PROG_NAME_OFF;
		/* bytes past the caller's size are zero to the kernel: do not read them */
		if (size >= name_off + BPF_OBJ_NAME_LEN_) {
			a.str[0] = attr + name_off;
			a.src[0] = PS_OBJNAME;
		}
	}
	return priv_event(&a, ret);
}

PRIV_SENSOR(memfd_create, "memfd_create")
{
	return name_flags_event(sc, ret, VG_EV_MEMFD, VG_SYS_MEMFD_CREATE);
}

PRIV_SENSOR(chroot, "chroot")
{
	PRIV_ARGS(VG_EV_CHROOT, VG_SYS_CHROOT);

	a.str[0] = (const char *)sys_arg(sc, 0);
	a.src[0] = ret == 0 ? PS_ROOT : PS_USER;
	return priv_event(&a, ret);
}

/*
 * A signal to the caller's own process (raise, Go's preemption signals) is not
 * news. target and tid are pids as the caller's pid namespace numbers them.
 */
static __always_inline int kill_event(long ret, __u16 sys, __s32 target, __u32 sig, __u32 tid)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct task_struct *leader = BPF_CORE_READ(t, group_leader);
	struct priv_args a = {.type = VG_EV_KILL, .syscall = sys, .target = target};

	a.arg[0] = sig;
	a.arg[1] = tid;
	a.drop =
	    target == priv_upid(leader).nr || (sys == VG_SYS_TKILL && target == priv_upid(t).nr);
	return priv_event(&a, ret);
}

PRIV_SENSOR(kill, "kill")
{
	return kill_event(ret, VG_SYS_KILL, sys_arg(sc, 0), sys_arg(sc, 1), 0);
}

PRIV_SENSOR(tkill, "tkill")
{
	__s32 tid = sys_arg(sc, 0);

	return kill_event(ret, VG_SYS_TKILL, tid, sys_arg(sc, 1), tid);
}

PRIV_SENSOR(tgkill, "tgkill")
{
	return kill_event(ret, VG_SYS_TGKILL, sys_arg(sc, 0), sys_arg(sc, 2), sys_arg(sc, 1));
}

/*
 * process_vm_writev(pid, local, liovcnt, remote, riovcnt, flags): writing into another
 * process without ptrace. A write into the caller's own process is not news.
 */
PRIV_SENSOR(process_vm_writev, "process_vm_writev")
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	PRIV_ARGS(VG_EV_PROCMEM, VG_SYS_PROCESS_VM_WRITEV);

	a.target = sys_arg(sc, 0);
	a.arg[0] = sys_arg(sc, 2);
	a.arg[1] = sys_arg(sc, 4);
	a.arg[2] = sys_arg(sc, 5);
	a.drop = a.target == priv_upid(BPF_CORE_READ(t, group_leader)).nr;
	return priv_event(&a, ret);
}

#define IO_URING_PARAMS_FLAGS_OFF 8 /* offsetof(struct io_uring_params, flags), UAPI */

/* io_uring_setup(entries, params): arg0 = IORING_SETUP_* flags, arg1 = entries, ret = the ring */
PRIV_SENSOR(io_uring_setup, "io_uring_setup")
{
	PRIV_ARGS(VG_EV_IO_URING, VG_SYS_IO_URING_SETUP);
	const char *params = (const char *)sys_arg(sc, 1);
	__u32 flags = 0;

	if (params)
		bpf_probe_read_user(&flags, sizeof(flags), params + IO_URING_PARAMS_FLAGS_OFF);
	a.arg[0] = flags;
	a.arg[1] = (__u32)sys_arg(sc, 0);
	return priv_event(&a, ret);
}

#define PR_SET_NAME_ 15

/*
 * prctl(PR_SET_NAME, name): a thread renamed itself (what ps and top show). Every
 * other option leaves at once. s1 is the name as passed (the kernel copies 16
 * bytes and ends them with a NUL); the header's comm is already the new name.
 */
PRIV_SENSOR(prctl, "prctl")
{
	PRIV_ARGS(VG_EV_PRCTL, VG_SYS_PRCTL);

	a.arg[0] = (__u32)sys_arg(sc, 0);
	a.drop = a.arg[0] != PR_SET_NAME_;
	a.str[0] = (const char *)sys_arg(sc, 1);
	a.src[0] = PS_OBJNAME;
	return priv_event(&a, ret);
}

/* ---- the builders: every privilege record that a sensor handed on ---- */

static __always_inline int priv_build(void)
{
	__u32 zero = 0;
	struct priv_handoff *h = bpf_map_lookup_elem(&priv_handoff, &zero);

	if (h)
		priv_record(h);
	return 0;
}

SEC("tp")
int vg_priv_build(void *ctx)
{
	return priv_build();
}

SEC("raw_tp")
int vg_priv_build_raw(void *ctx)
{
	return priv_build();
}
