// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * proc.bpf.c - the process lifecycle sensors (exec, fork, exit). They capture
 * from kernel objects, not from user-supplied strings, and always send: the
 * daemon's process table depends on them. The file, network and privilege
 * sensors are the other units in bpf/sensors/; all are linked into one object.
 */
#include "core/enforce.bpf.h"
#include "core/fdinfo.bpf.h"
#include "core/path.bpf.h"
#include "core/record.bpf.h"

#define TMPFS_MAGIC_	 0x01021994
#define OVERLAYFS_MAGIC_ 0x794c7630
#define HUGETLBFS_MAGIC_ 0x958458f6
#define CGROUP_NAME_MAX	 96

/* kernfs_node.parent was renamed __parent in 6.15 */
struct kernfs_node___old {
	struct kernfs_node___old *parent;
} __attribute__((preserve_access_index));

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(kn->__parent))
		return BPF_CORE_READ(kn, __parent);
	return (struct kernfs_node *)BPF_CORE_READ((struct kernfs_node___old *)kn, parent);
}

/* Appends "grandparent/parent/leaf" of the task's cgroup v2 node. */
static __always_inline __u32 cgroup_append(char *ev, __u32 off, struct vg_str *s,
					   struct task_struct *t)
{
	struct kernfs_node *kn[3];
	__u32 start = off;
	long n;
	int i;

	kn[0] = BPF_CORE_READ(t, cgroups, dfl_cgrp, kn);
	kn[1] = kn[0] ? kn_parent(kn[0]) : NULL;
	kn[2] = kn[1] ? kn_parent(kn[1]) : NULL;
	s->off = 0;
	s->len = 0;
#pragma unroll
	for (i = 2; i >= 0; i--) {
		if (!kn[i] || off > VG_EVENT_MAX - CGROUP_NAME_MAX)
			continue;
		off = ev_off(off);
		n = bpf_probe_read_kernel_str(ev + off, CGROUP_NAME_MAX,
					      BPF_CORE_READ(kn[i], name));
		if (n <= 1)
			continue;
		off += n;
		ev[(off - 1) & EV_OFF_MASK] = '/';
	}
	if (off == start)
		return off;
	ev[(off - 1) & EV_OFF_MASK] = 0;
	s->off = start;
	s->len = off - 1 - start;
	return off;
}

/* inode times were timespec64 i_ctime/i_mtime before 6.6, __i_ctime in 6.6-6.10 */
struct inode___ts {
	struct timespec64 i_ctime;
	struct timespec64 i_mtime;
} __attribute__((preserve_access_index));

struct inode___ictime {
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));

static __always_inline void exe_times(struct vg_exec *e, struct inode *ino)
{
	const __u64 ns = 1000000000ull;

	if (bpf_core_field_exists(ino->i_ctime_sec)) {
		e->exe_ctime_ns =
		    BPF_CORE_READ(ino, i_ctime_sec) * ns + BPF_CORE_READ(ino, i_ctime_nsec);
		e->exe_mtime_ns =
		    BPF_CORE_READ(ino, i_mtime_sec) * ns + BPF_CORE_READ(ino, i_mtime_nsec);
	} else if (bpf_core_field_exists(((struct inode___ictime *)ino)->__i_ctime)) {
		struct inode___ictime *i2 = (void *)ino;
		struct inode___ts *i1 = (void *)ino;

		e->exe_ctime_ns =
		    BPF_CORE_READ(i2, __i_ctime.tv_sec) * ns + BPF_CORE_READ(i2, __i_ctime.tv_nsec);
		e->exe_mtime_ns =
		    BPF_CORE_READ(i1, i_mtime.tv_sec) * ns + BPF_CORE_READ(i1, i_mtime.tv_nsec);
	} else {
		struct inode___ts *i1 = (void *)ino;

		e->exe_ctime_ns =
		    BPF_CORE_READ(i1, i_ctime.tv_sec) * ns + BPF_CORE_READ(i1, i_ctime.tv_nsec);
		e->exe_mtime_ns =
		    BPF_CORE_READ(i1, i_mtime.tv_sec) * ns + BPF_CORE_READ(i1, i_mtime.tv_nsec);
	}
}

/* An overlayfs exe with an upper dentry was written in the container, not shipped. */
static __always_inline bool exe_in_upper_layer(struct inode *ino, __u32 magic)
{
	struct ovl_inode *oi;

	if (magic != OVERLAYFS_MAGIC_ || !bpf_core_type_exists(struct ovl_inode))
		return false;
	oi = (struct ovl_inode *)((char *)ino - bpf_core_field_offset(struct ovl_inode, vfs_inode));
	return BPF_CORE_READ(oi, __upperdentry) != NULL;
}

/* The last writer vigil saw of the exe's inode (file.bpf.c keeps them). */
static __always_inline void exe_writer(struct vg_exec *e)
{
	struct vg_inode_key k = {.ino = e->exe_ino, .dev = e->exe_dev};
	struct vg_writer *w = bpf_map_lookup_elem(&exe_writers, &k);

	if (!w) {
		__builtin_memset(&e->writer, 0, sizeof(e->writer));
		return;
	}
	e->writer = *w;
	e->hdr.flags |= VG_XF_EXE_WRITTEN;
}

static __always_inline __u32 ns_inum(struct ns_common *ns)
{
	return ns ? BPF_CORE_READ(ns, inum) : 0;
}

static __always_inline void exec_task_fields(struct vg_exec *e, struct task_struct *t)
{
	const struct cred *cred = BPF_CORE_READ(t, cred);
	struct pid *pid = BPF_CORE_READ(t, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid up = {};
	struct tty_struct *tty;

	BPF_CORE_READ_INTO(&e->cap_eff, cred, cap_effective);
	BPF_CORE_READ_INTO(&e->cap_prm, cred, cap_permitted);
	bpf_core_read(&up, sizeof(up), &pid->numbers[level & 31]);
	e->vpid = up.nr;
	e->pidns = up.ns ? BPF_CORE_READ(up.ns, ns.inum) : 0;
	e->mntns = ns_inum((struct ns_common *)((char *)BPF_CORE_READ(t, nsproxy, mnt_ns) +
						bpf_core_field_offset(struct mnt_namespace, ns)));
	e->netns = BPF_CORE_READ(t, nsproxy, net_ns, ns.inum);
	e->userns = BPF_CORE_READ(cred, user_ns, ns.inum);
	e->sid = BPF_CORE_READ(t, signal, pids[PIDTYPE_SID], numbers[0].nr);
	/* the group's id as the task's own namespace numbers it (proc.vpgid) */
	pid = BPF_CORE_READ(t, signal, pids[PIDTYPE_PGID]);
	e->vpgid = 0;
	if (pid && BPF_CORE_READ(pid, level) >= level)
		e->vpgid = BPF_CORE_READ(pid, numbers[level & 31].nr);
	tty = BPF_CORE_READ(t, signal, tty);
	e->tty = 0;
	if (tty) {
		__u32 major = BPF_CORE_READ(tty, driver, major);
		__u32 minor = BPF_CORE_READ(tty, driver, minor_start) + BPF_CORE_READ(tty, index);

		e->tty = (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
	}
}

static __always_inline bool walk_is_memfd(struct walk *w)
{
	__u32 p = w->pos;
	char c[7];

	if (p > VG_PATH_MAX - 7)
		return false;
	bpf_probe_read_kernel(c, sizeof(c), &w->buf[p & (VG_PATH_MAX - 1)]);
	return c[0] == '/' && c[1] == 'm' && c[2] == 'e' && c[3] == 'm' && c[4] == 'f' &&
	       c[5] == 'd' && c[6] == ':';
}

/*
 * Enforcement at exec: the process's place on the allowlist follows its new image,
 * then the kill rules look at the exe path. A kill here lands before the new image
 * runs one instruction: the signal is taken on the way back to user space.
 */
static __always_inline void exec_enforce(struct vg_exec *e, char *ev)
{
	struct vg_enf_state *st = enf_state_get();
	const char *exe = e->exe.off ? ev + (e->exe.off & EV_OFF_MASK) : NULL;
	__u32 tgid = e->hdr.pid, gen, *safe;
	struct vg_enf_gen *g;

	if (!st || !st->enabled)
		return;
	safe = bpf_map_lookup_elem(&enf_safe, &tgid);
	if (exe && enf_path_allowed(st->gen & 1, exe, e->exe.len)) {
		__u32 v = VG_SAFE_ALLOWLISTED;

		if (!safe)
			bpf_map_update_elem(&enf_safe, &tgid, &v, BPF_ANY);
	} else if (safe && *safe == VG_SAFE_ALLOWLISTED) {
		bpf_map_delete_elem(&enf_safe, &tgid);
	}
	/* the exe tests of the rules on this process's later calls, for the plan in force
	 * (none: nothing to keep; a later plan's are written by user space) */
	gen = st->gen & 1;
	g = bpf_map_lookup_elem(&enf_gens, &gen);
	if (g && g->exe_tested) {
		struct vg_enf_proc pe = {.known = 1u << gen};
		__u64 pos, neg;

		enf_path_bits(gen, VG_ENF_PATH_PROC, exe, e->exe.len, &pos, &neg);
		/* constant offsets: the verifier refuses a variable one into the stack */
		pe.pos[gen ? 1 : 0] = pos;
		pe.neg[gen ? 1 : 0] = neg;
		bpf_map_update_elem(&enf_procs, &tgid, &pe, BPF_ANY);
	}
	enforce_kill(&e->hdr, exe, e->exe.len, VG_ENF_PATH_EXE | ENF_IN_CODE(VG_SYS_EXECVE), NULL);
}

/*
 * The exec record of task t, in the scratch buffer: its image is exe (filename as
 * the caller gave it, kernel memory), argv and the environment are read from mm
 * (NULL: not known yet, at the LSM hook). Returns the record, its size in *size,
 * or NULL.
 */
static __always_inline char *exec_build(struct task_struct *t, struct mm_struct *mm,
					struct file *exe, const char *filename, __u32 *size)
{
	struct inode *ino = BPF_CORE_READ(exe, f_inode);
	unsigned long arg_start, arg_end;
	struct vg_exec *e;
	struct walk *w;
	char *ev;
	bool trunc;
	__u32 off, magic, len;

	ev = scratch_get();
	if (!ev)
		return NULL;
	e = (struct vg_exec *)ev;
	hdr_fill(&e->hdr, t, VG_EV_EXEC);
	exec_task_fields(e, t);
	e->old_pid = 0;
	e->exe_ino = BPF_CORE_READ(ino, i_ino);
	e->exe_dev = BPF_CORE_READ(ino, i_sb, s_dev);
	magic = BPF_CORE_READ(ino, i_sb, s_magic);
	e->exe_magic = magic;
	e->exe_skip = 0;
	e->cwd_skip = 0;
	if (BPF_CORE_READ(ino, __i_nlink) == 0)
		e->hdr.flags |= VG_XF_EXE_DELETED;
	if (e->hdr.euid != e->hdr.uid)
		e->hdr.flags |= VG_XF_SETUID_EXEC;
	if (exe_in_upper_layer(ino, magic))
		e->hdr.flags |= VG_XF_EXE_UPPER;
	exe_times(e, ino);
	exe_writer(e);
	off = sizeof(*e);

	e->exe.off = 0;
	e->exe.len = 0;
	w = exe ? path_resolve(t, &exe->f_path) : NULL;
	if (w) {
		trunc = false;
		if ((magic == TMPFS_MAGIC_ || magic == HUGETLBFS_MAGIC_) &&
		    (e->hdr.flags & VG_XF_EXE_DELETED) && walk_is_memfd(w))
			e->hdr.flags |= VG_XF_EXE_MEMFD;
		if (w->flags & WALK_DISCONNECTED)
			e->hdr.flags |= VG_XF_EXE_NOPATH;
		e->exe_skip = walk_skip(w, &e->hdr.flags);
		off = path_append(ev, off, &e->exe, w, &trunc);
		if (trunc)
			e->hdr.flags |= VG_XF_EXE_TRUNC;
	}

	trunc = false;
	off = str_append(ev, off, &e->filename, filename, VG_PATH_MAX, false, &trunc);
	if (trunc)
		e->hdr.flags |= VG_XF_FILENAME_TRUNC;

	/* argv is in the new image's memory, written by the kernel moments ago */
	arg_start = mm ? BPF_CORE_READ(mm, arg_start) : 0;
	arg_end = mm ? BPF_CORE_READ(mm, arg_end) : 0;
	len = arg_end > arg_start ? arg_end - arg_start : 0;
	if (len > VG_ARGS_MAX - 1) {
		len = VG_ARGS_MAX - 1;
		e->hdr.flags |= VG_XF_ARGS_TRUNC;
	}
	if (off + len + 1 > VG_EVENT_MAX) {
		len = VG_EVENT_MAX - off - 1;
		e->hdr.flags |= VG_XF_ARGS_TRUNC;
	}
	off = ev_off(off);
	len &= VG_ARGS_MAX - 1;
	e->args.off = off;
	e->args.len = len;
	if (len && bpf_probe_read_user(ev + off, len, (void *)arg_start)) {
		count(VG_EV_EXEC, CNT_READ_ERR);
		e->args.len = len = 0;
	}
	ev[off + len] = 0;
	off += len + 1;

	e->cwd.off = 0;
	e->cwd.len = 0;
	w = path_resolve(t, (struct path *)((char *)BPF_CORE_READ(t, fs) +
					    bpf_core_field_offset(struct fs_struct, pwd)));
	if (w) {
		trunc = false;
		e->cwd_skip = walk_skip(w, &e->hdr.flags);
		off = path_append(ev, off, &e->cwd, w, &trunc);
		if (trunc)
			e->hdr.flags |= VG_XF_CWD_TRUNC;
	}

	off = cgroup_append(ev, off, &e->cgroup, t);

	/* the environment, bounded, from the new image's memory like argv */
	arg_start = mm ? BPF_CORE_READ(mm, env_start) : 0;
	arg_end = mm ? BPF_CORE_READ(mm, env_end) : 0;
	len = arg_end > arg_start ? arg_end - arg_start : 0;
	if (len > VG_ENV_MAX - 1) {
		len = VG_ENV_MAX - 1;
		e->hdr.flags |= VG_XF_ENV_TRUNC;
	}
	e->env.off = 0;
	e->env.len = 0;
	if (off + len + 1 <= VG_EVENT_MAX) {
		off = ev_off(off);
		len &= VG_ENV_MAX - 1;
		e->env.off = off;
		e->env.len = len;
		if (len && bpf_probe_read_user(ev + off, len, (void *)arg_start))
			e->env.len = len = 0;
		ev[off + len] = 0;
		off += len + 1;
	} else if (len) {
		e->hdr.flags |= VG_XF_ENV_TRUNC;
	}

	/* stdin, stdout and stderr of the new image (close-on-exec fds are gone by now):
	 * a shell whose stdio is a socket is a reverse shell however it got there */
	trunc = false;
	off = fdinfo_fill(ev, off, &e->stdio[0], t, 0, &trunc);
	off = fdinfo_fill(ev, off, &e->stdio[1], t, 1, &trunc);
	off = fdinfo_fill(ev, off, &e->stdio[2], t, 2, &trunc);
	*size = off;
	return ev;
}

SEC("tp/sched/sched_process_exec")
int vg_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct mm_struct *mm = BPF_CORE_READ(t, mm);
	struct vg_exec *e;
	__u32 size = 0;
	char *ev;

	count(VG_EV_EXEC, CNT_SEEN);
	ev = exec_build(t, mm, BPF_CORE_READ(mm, exe_file),
			(char *)ctx + (ctx->__data_loc_filename & 0xffff), &size);
	if (!ev)
		return 0;
	e = (struct vg_exec *)ev;
	e->old_pid = ctx->old_pid;
	exec_enforce(e, ev);
	submit(ev, size, true);
	return 0;
}

#define BASENAME_MAX 256 /* bytes of an exec's name searched for its last part */

/* One byte of the name in the scratch buffer: *last is where its last part begins. */
static long basename_step(__u32 i, void *arg)
{
	__u32 *last = arg;
	char *ev = scratch_get();
	char c;

	if (!ev)
		return 1;
	/* the mask after the barrier bounds the register the load uses */
	barrier_var(i);
	if (i >= BASENAME_MAX)
		return 1;
	c = ev[i & (BASENAME_MAX - 1)];
	if (!c)
		return 1;
	if (c == '/')
		*last = i + 1;
	return 0;
}

/*
 * The BPF-LSM exec hook: deny rules on execve (and kill rules, upgraded), before
 * the point of no return, so a refused exec returns EPERM and the process keeps
 * its image. It runs for each file the exec loads: the program, then a script's
 * interpreter. Its rules see what the exec sensor shows: the file's resolved path
 * (proc.exepath) and the comm the new image would get (the name's last part). The
 * refused exec's record is made here (no image: no argv or environment).
 */
SEC("lsm/bprm_check_security")
int BPF_PROG(vg_lsm_exec, struct linux_binprm *bprm)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct vg_enf_gen *g = NULL;
	const char *path = NULL, *filename;
	struct file *exe;
	struct vg_hdr h;
	struct walk *w;
	__u32 gen = 0, len = 0, size = 0, last = 0;
	__u64 mask =
	    enf_lsm_rules(&gen, &g, VG_SYS_EXECVE, VG_SYS_EXECVE, VG_SYS_EXECVE, VG_SYS_EXECVE);
	char *ev;
	int verdict;

	if (!mask || !g)
		return 0;
	exe = BPF_CORE_READ(bprm, file);
	filename = BPF_CORE_READ(bprm, filename);
	hdr_fill(&h, t, VG_EV_EXEC);
	/* the comm the image would get: the name's last part (the scratch buffer is free
	 * until the record is built) */
	ev = scratch_get();
	if (!ev)
		return 0;
	if (bpf_probe_read_kernel_str(ev, BASENAME_MAX, filename) > 0) {
		bpf_loop(BASENAME_MAX, basename_step, &last, 0);
		bpf_probe_read_kernel(h.comm, sizeof(h.comm), ev + (last & (BASENAME_MAX - 1)));
		h.comm[sizeof(h.comm) - 1] = 0;
	}
	w = exe ? path_resolve(t, &exe->f_path) : NULL;
	if (w && !(w->flags & WALK_DISCONNECTED)) {
		path = &w->buf[w->pos & (VG_PATH_MAX - 1)];
		len = VG_PATH_MAX - w->pos;
	}
	mask = enf_kill_mask(gen, g, mask, path, len, VG_ENF_PATH_EXE, h.comm, h.pid, h.cgroup_id);
	if (!mask)
		return 0;
	/* the caller is not yet the program it asks for: an allowlisted image, which vigil
	 * never acts on, is let run here (exec_enforce puts it on the allowlist at exit) */
	verdict = enf_lsm_act(&h, gen, g, mask, 0,
			      path && enf_path_allowed(gen, path, len) ? VG_WHY_ALLOWLISTED
								       : VG_WHY_NONE);
	if (!verdict)
		return 0;
	ev = exec_build(t, NULL, exe, filename, &size);
	if (ev) {
		struct vg_exec *e = (struct vg_exec *)ev;

		e->hdr.flags |= VG_XF_DENIED;
		__builtin_memcpy(e->hdr.comm, h.comm, sizeof(h.comm));
		submit(ev, size, true);
	}
	return verdict;
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(vg_fork, struct task_struct *parent, struct task_struct *child)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct vg_fork *e;
	char *ev;

	count(VG_EV_FORK, CNT_SEEN);
	ev = scratch_get();
	if (!ev)
		return 0;
	e = (struct vg_fork *)ev;
	hdr_fill(&e->hdr, t, VG_EV_FORK);
	e->child_pid = BPF_CORE_READ(child, tgid);
	e->child_tid = BPF_CORE_READ(child, pid);
	e->child_start_ns = BPF_CORE_READ(child, group_leader, start_boottime);
	if (e->child_pid == e->hdr.pid) {
		e->hdr.flags |= VG_FF_THREAD;
	} else {
		/* a new process keeps its parent's place on the allowlist (not vigil's own) */
		__u32 *safe = bpf_map_lookup_elem(&enf_safe, &e->hdr.pid);

		struct vg_enf_proc *pe = bpf_map_lookup_elem(&enf_procs, &e->hdr.pid);

		if (safe && *safe == VG_SAFE_ALLOWLISTED)
			bpf_map_update_elem(&enf_safe, &e->child_pid, safe, BPF_ANY);
		/* the child runs the same exe until it execs */
		if (pe)
			bpf_map_update_elem(&enf_procs, &e->child_pid, pe, BPF_ANY);
	}
	submit(ev, sizeof(*e), false);
	return 0;
}

SEC("tp/sched/sched_process_exit")
int vg_exit(void *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct vg_exit *e;
	char *ev;

	/* one event per process: only the last thread out reports */
	if (BPF_CORE_READ(t, signal, live.counter) != 0)
		return 0;
	count(VG_EV_EXIT, CNT_SEEN);
	ev = scratch_get();
	if (!ev)
		return 0;
	e = (struct vg_exit *)ev;
	hdr_fill(&e->hdr, t, VG_EV_EXIT);
	e->status = BPF_CORE_READ(t, exit_code);
	e->pad = 0;
	{
		__u32 *safe = bpf_map_lookup_elem(&enf_safe, &e->hdr.pid);

		if (safe && *safe == VG_SAFE_ALLOWLISTED)
			bpf_map_delete_elem(&enf_safe, &e->hdr.pid);
		bpf_map_delete_elem(&enf_procs, &e->hdr.pid);
	}
	submit(ev, sizeof(*e), false);
	return 0;
}
