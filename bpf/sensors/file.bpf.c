/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * file.bpf.c - file sensors at syscall exit. The object's path comes from the
 * kernel: from the opened file or the fd the call used when there is one, else
 * from the resolved base directory (cwd or dirfd) joined with the caller's name.
 * The raw argument travels too. The prefilter's cheap checks run in the sensor,
 * before any path is resolved; a record they keep is built by one program shared by
 * every sensor (file_build), reached by a tail call, so the verifier checks the path
 * work once, not once per syscall. Each sensor serves native and ia32 calls alike
 * (SYSCALL_SENSOR_HANDOFF).
 */
#include "core/enforce.bpf.h"
#include "core/filter.bpf.h"
#include "core/path.bpf.h"
#include "core/record.bpf.h"
#include "core/syscall.bpf.h"
#include "core/uring.bpf.h"

#define O_WRONLY_      01
#define O_RDWR_	       02
#define O_CREAT_       0100
#define O_TRUNC_       01000
#define AT_EMPTY_PATH_ 0x1000
#define WRITE_FLAGS    (O_WRONLY_ | O_RDWR_ | O_CREAT_ | O_TRUNC_)

struct file_args {
	__u32 type;	    /* enum vg_type */
	__u16 syscall;	    /* enum vg_syscall */
	bool is_open;	    /* ret is a new fd */
	int fd;		    /* fd argument, -1 none */
	int dirfd;	    /* base of name */
	const char *name;   /* path argument (user memory), NULL none */
	int dirfd2;	    /* base of name2 */
	const char *name2;  /* second path argument, NULL none */
	const char *target; /* symlink target string, NULL none */
	__u32 flags;	    /* O_*, AT_* or RENAME_* flags */
	__u32 mode;	    /* mode argument */
	__u32 uid;	    /* chown owner */
	__u32 gid;	    /* chown group */
	__s64 length;	    /* truncate length */
	bool kernel_names;  /* name, name2, target are kernel memory (io_uring), not user */
	const struct uring_who *who; /* io_uring: the submitter; NULL for a syscall */
	__u64 uring_key;	     /* io_uring: the kept request, forgotten once built */
	bool fattr;		     /* a struct vg_fattr record: the fields below follow */
	__u32 fa_flags;		     /* VG_FA_* header bits */
	__s64 times[4];		     /* utimes: atime sec, nsec, mtime sec, nsec */
	__u32 attr_flags;	     /* chattr: the flags asked */
	__u32 attr_old;		     /* chattr: FS_IMMUTABLE_FL | FS_APPEND_FL before */
};

static __always_inline void object_info(struct vg_file *e, struct file *f)
{
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	__u32 mode = BPF_CORE_READ(ino, i_mode);

	e->ino = BPF_CORE_READ(ino, i_ino);
	e->dev = BPF_CORE_READ(ino, i_sb, s_dev);
	e->fs_magic = BPF_CORE_READ(ino, i_sb, s_magic);
	if (BPF_CORE_READ(f, f_mode) & FMODE_CREATED_)
		e->hdr.flags |= VG_FL_CREATED;
	if ((mode & S_IFMT_) == S_IFDIR_)
		e->hdr.flags |= VG_FL_DIR;
}

/* Kill rules on the record's file (its first path), at the call's exit. */
static __always_inline void file_enforce(struct file_args *a, const struct uring_who *who,
					 struct vg_file *e, char *ev)
{
	__u32 what = VG_ENF_PATH_FILE;

	/* the access mode alone, as evt.is_open_write and evt.is_open_read read it */
	if (a->is_open) {
		if ((a->flags & 3) != 0) /* O_WRONLY or O_RDWR */
			what |= ENF_IN_WRITE;
		if ((a->flags & 3) != 1) /* O_RDONLY or O_RDWR */
			what |= ENF_IN_READ;
	}
	enforce_kill(&e->hdr, e->path.off ? ev + (e->path.off & EV_OFF_MASK) : NULL, e->path.len,
		     what | ENF_IN_CODE(e->syscall), who ? who->comm : NULL);
}

#define S_IFREG_ 0100000

/*
 * An open for writing of a regular file: its inode's writer becomes this process,
 * whatever the prefilter decides about the record (the exec sensor looks it up).
 * A file already known is updated in place, so a log reopened again and again
 * costs one lookup.
 */
static __always_inline void writer_note(struct file_args *a, struct file *f)
{
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	struct vg_inode_key k = {};
	struct vg_writer *w, nw = {};
	__u64 id = bpf_get_current_pid_tgid();
	__u32 zero = 0;
	__u64 *made;

	if ((BPF_CORE_READ(ino, i_mode) & S_IFMT_) != S_IFREG_)
		return;
	k.ino = BPF_CORE_READ(ino, i_ino);
	k.dev = BPF_CORE_READ(ino, i_sb, s_dev);
	w = bpf_map_lookup_elem(&exe_writers, &k);
	if (!w)
		w = &nw;
	w->ts_ns = bpf_ktime_get_boot_ns();
	w->start_ns = BPF_CORE_READ((struct task_struct *)bpf_get_current_task(), group_leader,
				    start_boottime);
	w->pid = id >> 32;
	w->tid = (__u32)id;
	w->uid = (__u32)bpf_get_current_uid_gid();
	w->flags = BPF_CORE_READ(f, f_mode) & FMODE_CREATED_ ? VG_WF_CREATED : 0;
	if (a->who) {
		w->flags |= VG_WF_IO_URING;
		w->tid = a->who->tid;
		__builtin_memcpy(w->comm, a->who->comm, VG_COMM_LEN);
	} else {
		task_comm(w->comm, (struct task_struct *)bpf_get_current_task());
	}
	if (w != &nw)
		return;
	bpf_map_update_elem(&exe_writers, &k, &nw, BPF_ANY);
	made = bpf_map_lookup_elem(&writers_made, &zero);
	if (made)
		(*made)++;
}

/* The fixed part of a file record from the call's arguments; no strings yet. */
static __always_inline void file_record_init(struct vg_file *e, struct task_struct *t,
					     const struct file_args *a, const struct uring_who *who,
					     long ret)
{
	hdr_fill(&e->hdr, t, a->type);
	if (who)
		uring_hdr(&e->hdr, who);
	e->ret = ret;
	e->syscall = a->syscall;
	e->pad0 = 0;
	e->flags = a->flags;
	e->mode = a->mode;
	e->fd = a->is_open ? (ret >= 0 ? ret : -1) : a->fd;
	e->dirfd = a->dirfd;
	e->uid = a->uid;
	e->gid = a->gid;
	e->dev = 0;
	e->ino = 0;
	e->length = a->length;
	e->fs_magic = 0;
	e->path_skip = 0;
	e->pad1 = 0;
	e->path = (struct vg_str){};
	e->raw = (struct vg_str){};
	e->path2 = (struct vg_str){};
	e->raw2 = (struct vg_str){};
}

/* The object's resolved path (walk w) into record e at off: the new offset. */
static __always_inline __u32 file_path_append(char *ev, __u32 off, struct vg_file *e,
					      struct walk *w)
{
	bool trunc = false;

	if (w->flags & WALK_DISCONNECTED)
		e->hdr.flags |= VG_FL_PSEUDO;
	e->path_skip = walk_skip(w, &e->hdr.flags);
	off = path_append(ev, off, &e->path, w, &trunc);
	if (trunc)
		e->hdr.flags |= VG_FL_PATH_TRUNC;
	return off;
}

/* What a file sensor decided, for the program that builds the record (file_build). */
struct file_handoff {
	struct file_args a;   /* its who is NULL here: see has_who */
	struct uring_who who; /* io_uring: the submitter, when has_who */
	__u64 obj;	      /* struct file *: the object, 0 when only a name tells it */
	long ret;
	__u32 slot;    /* the prefilter's slot */
	__u32 verdict; /* enum filter_verdict so far */
	bool has_who;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct file_handoff);
} file_handoff SEC(".maps");

/* the builders, one per program type of the sensors (the loader fills slot 0) */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} file_builder SEC(".maps"); /* vg_file_build: the native sensors' tracepoints */

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} file_builder_raw SEC(".maps"); /* vg_file_build_raw: ia32 and io_uring (raw tracepoints) */

/* A tail call to a builder came back (an empty slot): the record is lost, and counted. */
static __noinline void file_handoff_lost(void)
{
	__u32 zero = 0;
	struct file_handoff *h = bpf_map_lookup_elem(&file_handoff, &zero);

	if (h && h->a.type < VG_EV_TYPE_MAX)
		count(h->a.type, CNT_LOST);
}

/*
 * The sensor's half of a file record: the checks that need no path. Returns
 * SENSOR_HANDED_ON when the record goes on to file_build, with what it needs in the
 * hand-off; 0 when it ends here (dropped and counted).
 */
static __noinline int file_event(struct file_args *a, long ret)
{
	enum filter_verdict verdict;
	struct file_handoff *h;
	struct file *obj = NULL;
	bool write;
	__u32 zero = 0, type = a->type, slot = type;

	if (type >= VG_EV_TYPE_MAX)
		return 0;
	count(type, CNT_SEEN);
	if (is_self()) {
		count(type, CNT_FILTERED);
		return 0;
	}
	if (!a->is_open && (a->flags & AT_EMPTY_PATH_) && a->name && a->fd < 0) {
		char c = 1;

		/* an empty name with AT_EMPTY_PATH: the object is dirfd itself */
		if (a->kernel_names)
			bpf_probe_read_kernel(&c, 1, a->name);
		else
			bpf_probe_read_user(&c, 1, a->name);
		if (!c)
			a->fd = a->dirfd;
	}
	write = a->is_open ? (a->flags & WRITE_FLAGS) != 0 : true;
	/* the access mode, as the kernel grants write: O_WRONLY or O_RDWR */
	if (a->is_open && ret >= 0 && (a->flags & 3)) {
		obj = fd_file_current(ret);
		if (obj)
			writer_note(a, obj);
	}
	/* an open whose access mode is O_RDONLY can only matter to rules on reads */
	if (a->is_open && !(a->flags & 3))
		slot = VG_FS_OPEN_READ;
	verdict = filter_cheap_comm(slot, 0, write, ret < 0, a->who ? a->who->comm : NULL);
	if (verdict == FILTER_DROP) {
		count(type, CNT_FILTERED);
		return 0;
	}
	if (a->is_open && ret >= 0) {
		if (!obj)
			obj = fd_file_current(ret);
	} else if (a->fd >= 0)
		obj = fd_file_current(a->fd);
	if (verdict == FILTER_NEED_PATH)
		verdict = obj ? filter_leaf(slot, obj) : filter_no_leaf(slot);
	if (verdict == FILTER_DROP) {
		count(type, CNT_FILTERED);
		return 0;
	}
	h = bpf_map_lookup_elem(&file_handoff, &zero);
	if (!h)
		return 0;
	h->a = *a;
	h->a.who = NULL;
	h->has_who = a->who != NULL;
	if (a->who)
		h->who = *a->who;
	h->obj = (__u64)obj;
	h->ret = ret;
	h->slot = slot;
	h->verdict = verdict;
	return SENSOR_HANDED_ON;
}

/*
 * The other half, in a program of its own: the object's path, the record, the kill
 * rules and the send. The hand-off is this CPU's, filled by the sensor that tail-called.
 */
static __noinline int file_record(struct file_handoff *h)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	const struct uring_who *who = NULL;
	struct file *obj = (struct file *)h->obj;
	struct file_args *a = &h->a;
	enum filter_verdict verdict = h->verdict;
	__u32 off, type = a->type, slot = h->slot;
	long ret = h->ret;
	bool trunc = false;
	struct vg_file *e;
	struct walk *w;
	char *ev;

	if (type >= VG_EV_TYPE_MAX)
		return 0;
	if (h->has_who)
		who = &h->who;
	/* tests of who must test the pointer: the verifier cannot tie it to has_who */
	barrier_var(who);
	w = NULL;
	if (obj) {
		/* the object's path decides before any other work for the record is done */
		w = path_resolve(t, &obj->f_path);
		if (verdict == FILTER_NEED_PATH && w && !(w->flags & WALK_DISCONNECTED) &&
		    !filter_path(slot, &w->buf[w->pos & (VG_PATH_MAX - 1)], VG_PATH_MAX - w->pos)) {
			count(type, CNT_FILTERED);
			return 0;
		}
		if (verdict == FILTER_NEED_PATH && w)
			verdict = FILTER_MATCHED;
	}
	ev = scratch_get();
	if (!ev)
		return 0;
	e = (struct vg_file *)ev;
	file_record_init(e, t, a, who, ret);
	off = sizeof(*e);
	if (a->fattr) {
		struct vg_fattr *fa = (struct vg_fattr *)ev;

		fa->atime_sec = a->times[0];
		fa->atime_nsec = a->times[1];
		fa->mtime_sec = a->times[2];
		fa->mtime_nsec = a->times[3];
		fa->attr_flags = a->attr_flags;
		fa->attr_old = a->attr_old;
		e->hdr.flags |= a->fa_flags;
		off = sizeof(*fa);
	}

	if (obj) {
		object_info(e, obj);
		if (w)
			off = file_path_append(ev, off, e, w);
	} else if (a->name) {
		off = joined_append_from(ev, off, &e->path, t, a->dirfd, a->name, &e->hdr.flags,
					 VG_FL_PATH_TRUNC, &e->path_skip, !a->kernel_names);
	}
	if (a->name) {
		trunc = false;
		off = str_append(ev, off, &e->raw, a->name, VG_PATH_MAX, !a->kernel_names, &trunc);
		if (trunc)
			e->hdr.flags |= VG_FL_RAW_TRUNC;
	}
	if (a->name2) {
		off = joined_append_from(ev, off, &e->path2, t, a->dirfd2, a->name2, &e->hdr.flags,
					 VG_FL_PATH2_TRUNC, NULL, !a->kernel_names);
		trunc = false;
		off =
		    str_append(ev, off, &e->raw2, a->name2, VG_PATH_MAX, !a->kernel_names, &trunc);
		if (trunc)
			e->hdr.flags |= VG_FL_RAW_TRUNC;
	} else if (a->target) {
		trunc = false;
		off =
		    str_append(ev, off, &e->raw2, a->target, VG_PATH_MAX, !a->kernel_names, &trunc);
		if (trunc)
			e->hdr.flags |= VG_FL_RAW_TRUNC;
	}

	if (verdict == FILTER_NEED_PATH) {
		bool pass = false;
		__u32 o = e->path.off & EV_OFF_MASK, l = e->path.len;

		if (e->path.off)
			pass = filter_path(slot, ev + o, l);
		if (!pass && e->path2.off)
			pass = filter_path(slot, ev + (e->path2.off & EV_OFF_MASK), e->path2.len);
		/*
		 * A joined path user space may fold or resolve into another one: never
		 * drop it here, but it met no criterion yet, so it waits for the batch.
		 */
		if (!pass && ((e->hdr.flags & VG_FL_RAW_TRUNC) ||
			      ((e->hdr.flags & VG_FL_PATH_JOINED) &&
			       filter_name_undecided(e->raw.off, e->raw.len)) ||
			      ((e->hdr.flags & VG_FL_PATH2_JOINED) &&
			       filter_name_undecided(e->raw2.off, e->raw2.len)))) {
			file_enforce(a, who, e, ev);
			submit(ev, off, false);
			return 0;
		}
		if (!pass) {
			count(type, CNT_FILTERED);
			return 0;
		}
	}
	file_enforce(a, who, e, ev);
	/* an event that met a rule-derived criterion may raise an alert: wake the reader */
	submit(ev, off, verdict != FILTER_SEND);
	return 0;
}

#define FILE_SENSOR(name, tp)                                                                      \
	SYSCALL_SENSOR_HANDOFF(name, tp, file_builder, file_builder_raw, file_handoff_lost)

#define FILE_ARGS(t, sys)                                                                          \
	struct file_args a = {.type = (t),                                                         \
			      .syscall = (sys),                                                    \
			      .fd = -1,                                                            \
			      .dirfd = AT_FDCWD_,                                                  \
			      .dirfd2 = AT_FDCWD_,                                                 \
			      .uid = (__u32)-1,                                                    \
			      .gid = (__u32)-1}

/*
 * An open the BPF-LSM hook refused was recorded there, from the file itself: the
 * sensor at the call's exit leaves it.
 */
#define OPEN_DENIED_BY_LSM(ret) ((ret) == -EPERM_ && enf_denied_take(VG_EV_OPEN))

FILE_SENSOR(open, "open")
{
	FILE_ARGS(VG_EV_OPEN, VG_SYS_OPEN);

	if (OPEN_DENIED_BY_LSM(ret))
		return 0;
	a.is_open = true;
	a.name = (const char *)sys_arg(sc, 0);
	a.flags = sys_arg(sc, 1);
	a.mode = sys_arg(sc, 2);
	return file_event(&a, ret);
}

FILE_SENSOR(openat, "openat")
{
	FILE_ARGS(VG_EV_OPEN, VG_SYS_OPENAT);

	if (OPEN_DENIED_BY_LSM(ret))
		return 0;
	a.is_open = true;
	a.dirfd = sys_arg(sc, 0);
	a.name = (const char *)sys_arg(sc, 1);
	a.flags = sys_arg(sc, 2);
	a.mode = sys_arg(sc, 3);
	return file_event(&a, ret);
}

FILE_SENSOR(openat2, "openat2")
{
	FILE_ARGS(VG_EV_OPEN, VG_SYS_OPENAT2);
	struct open_how how = {};

	if (OPEN_DENIED_BY_LSM(ret))
		return 0;
	a.is_open = true;
	a.dirfd = sys_arg(sc, 0);
	a.name = (const char *)sys_arg(sc, 1);
	bpf_probe_read_user(&how, sizeof(how), (void *)sys_arg(sc, 2));
	a.flags = how.flags;
	a.mode = how.mode;
	return file_event(&a, ret);
}

/* ---- the BPF-LSM open hook: deny rules, and kill rules upgraded, on opens ---- */

#define FMODE_READ_  0x1
#define FMODE_WRITE_ 0x2
#define FMODE_EXEC_  0x20

/* The code of the open call the current task is in; openat for another way in (an
 * io_uring request, open_by_handle_at). */
static __always_inline __u16 open_code(void)
{
	long nr = sys_nr(sys_regs());
	bool compat = sys_compat();

#define OPEN_CODE_(name, code, falco, kind, nr64, nr32)                                            \
	if ((kind) == VG_EV_OPEN && nr == (compat ? (long)(nr32) : (long)(nr64)))                  \
		return (code);
	VG_SYSCALLS(OPEN_CODE_)
#undef OPEN_CODE_
	return VG_SYS_OPENAT;
}

/*
 * The record of an open the hook refused, made from the file itself (the call's
 * exit sees only the name; OPEN_DENIED_BY_LSM keeps it from sending a second one).
 * Always sent: the alert of the rule that refused it needs it.
 */
static __noinline void lsm_open_record(struct file_args *a, struct task_struct *t,
				       struct file *file)
{
	char *ev = scratch_get();
	struct vg_file *e;
	struct walk *w;
	__u32 off;

	if (!ev)
		return;
	count(VG_EV_OPEN, CNT_SEEN);
	e = (struct vg_file *)ev;
	file_record_init(e, t, a, a->who, -EPERM_);
	e->hdr.flags |= VG_FL_DENIED;
	object_info(e, file);
	off = sizeof(*e);
	w = path_resolve(t, &file->f_path);
	if (w)
		off = file_path_append(ev, off, e, w);
	submit(ev, off, true);
}

/*
 * Every open of a file passes here, after the path walk and permission checks and
 * before the file is usable: native and ia32 calls, io_uring requests (inline or in
 * a worker thread), open_by_handle_at, an exec's own open of the image excepted (the
 * exec hook decides that). The path is the file's own, resolved: a symlink, "..",
 * a relative name, a bind mount or a hard link elsewhere is the same file here. A
 * refused open never truncates (O_TRUNC comes after this hook); a file O_CREAT made
 * stays, empty.
 */
SEC("lsm/file_open")
int BPF_PROG(vg_lsm_open, struct file *file)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct vg_enf_gen *g = NULL;
	const char *path = NULL;
	__u32 gen = 0, what = VG_ENF_PATH_FILE, fmode, len = 0;
	__u64 mask =
	    enf_lsm_rules(&gen, &g, VG_SYS_OPEN, VG_SYS_OPENAT, VG_SYS_OPENAT2, VG_SYS_CREAT);
	struct uring_who who = {};
	struct vg_hdr h;
	struct walk *w;
	bool worker;
	int verdict;

	if (!mask || !g)
		return 0;
	fmode = BPF_CORE_READ(file, f_mode);
	/* an exec's open of its image (or of its interpreter): the exec hook decides that */
	if ((fmode & FMODE_EXEC_) || !(fmode & (FMODE_READ_ | FMODE_WRITE_)))
		return 0;
	if (fmode & FMODE_WRITE_)
		what |= ENF_IN_WRITE;
	if (fmode & FMODE_READ_)
		what |= ENF_IN_READ;
	w = path_resolve(t, &file->f_path);
	if (w && !(w->flags & WALK_DISCONNECTED)) {
		path = &w->buf[w->pos & (VG_PATH_MAX - 1)];
		len = VG_PATH_MAX - w->pos;
	}
	/* an io_uring worker thread opens for its process: the records name the process, as
	 * the io_uring sensors do */
	worker = BPF_CORE_READ(t, flags) & PF_IO_WORKER_;
	if (worker)
		uring_who_fill(&who);
	hdr_fill(&h, t, VG_EV_OPEN);
	if (worker)
		uring_hdr(&h, &who);
	mask = enf_kill_mask(gen, g, mask, path, len, what, worker ? who.comm : NULL, h.pid,
			     h.cgroup_id);
	/* the file's own name and inode: a test of them holds under any path to the file */
	if (mask & g->leaf_tested) {
		struct dentry *de = BPF_CORE_READ(file, f_path.dentry);

		mask &= enf_path_mask(gen, VG_ENF_PATH_LEAF,
				      (const char *)BPF_CORE_READ(de, d_name.name),
				      BPF_CORE_READ(de, d_name.len), g->leaf_free);
	}
	if (mask & g->ino_tested) {
		__u64 ino = BPF_CORE_READ(file, f_inode, i_ino);

		mask &= enf_path_mask(gen, VG_ENF_PATH_INO, (const char *)&ino, sizeof(ino),
				      g->ino_free);
	}
	if (!mask)
		return 0;
	verdict = enf_lsm_act(&h, gen, g, mask, VG_EV_OPEN, VG_WHY_NONE);
	if (verdict) {
		FILE_ARGS(VG_EV_OPEN, open_code());
		a.is_open = true;
		a.flags = BPF_CORE_READ(file, f_flags);
		a.who = worker ? &who : NULL;
		lsm_open_record(&a, t, file);
	}
	return verdict;
}

FILE_SENSOR(creat, "creat")
{
	FILE_ARGS(VG_EV_OPEN, VG_SYS_CREAT);

	if (OPEN_DENIED_BY_LSM(ret))
		return 0;
	a.is_open = true;
	a.name = (const char *)sys_arg(sc, 0);
	a.flags = O_CREAT_ | O_WRONLY_ | O_TRUNC_;
	a.mode = sys_arg(sc, 1);
	return file_event(&a, ret);
}

FILE_SENSOR(unlink, "unlink")
{
	FILE_ARGS(VG_EV_UNLINK, VG_SYS_UNLINK);
	a.name = (const char *)sys_arg(sc, 0);
	return file_event(&a, ret);
}

FILE_SENSOR(unlinkat, "unlinkat")
{
	FILE_ARGS(VG_EV_UNLINK, VG_SYS_UNLINKAT);
	a.dirfd = sys_arg(sc, 0);
	a.name = (const char *)sys_arg(sc, 1);
	a.flags = sys_arg(sc, 2);
	return file_event(&a, ret);
}

FILE_SENSOR(rmdir, "rmdir")
{
	FILE_ARGS(VG_EV_UNLINK, VG_SYS_RMDIR);
	a.name = (const char *)sys_arg(sc, 0);
	return file_event(&a, ret);
}

FILE_SENSOR(rename, "rename")
{
	FILE_ARGS(VG_EV_RENAME, VG_SYS_RENAME);
	a.name = (const char *)sys_arg(sc, 0);
	a.name2 = (const char *)sys_arg(sc, 1);
	return file_event(&a, ret);
}

FILE_SENSOR(renameat, "renameat")
{
	FILE_ARGS(VG_EV_RENAME, VG_SYS_RENAMEAT);
	a.dirfd = sys_arg(sc, 0);
	a.name = (const char *)sys_arg(sc, 1);
	a.dirfd2 = sys_arg(sc, 2);
	a.name2 = (const char *)sys_arg(sc, 3);
	return file_event(&a, ret);
}

FILE_SENSOR(renameat2, "renameat2")
{
	FILE_ARGS(VG_EV_RENAME, VG_SYS_RENAMEAT2);
	a.dirfd = sys_arg(sc, 0);
	a.name = (const char *)sys_arg(sc, 1);
	a.dirfd2 = sys_arg(sc, 2);
	a.name2 = (const char *)sys_arg(sc, 3);
	a.flags = sys_arg(sc, 4);
	return file_event(&a, ret);
}

FILE_SENSOR(mkdir, "mkdir")
{
	FILE_ARGS(VG_EV_MKDIR, VG_SYS_MKDIR);
	a.name = (const char *)sys_arg(sc, 0);
	a.mode = sys_arg(sc, 1);
	return file_event(&a, ret);
}

FILE_SENSOR(mkdirat, "mkdirat")
{
	FILE_ARGS(VG_EV_MKDIR, VG_SYS_MKDIRAT);
	a.dirfd = sys_arg(sc, 0);
	a.name = (const char *)sys_arg(sc, 1);
	a.mode = sys_arg(sc, 2);
	return file_event(&a, ret);
}

FILE_SENSOR(chmod, "chmod")
{
	FILE_ARGS(VG_EV_CHMOD, VG_SYS_CHMOD);
	a.name = (const char *)sys_arg(sc, 0);
	a.mode = sys_arg(sc, 1);
	return file_event(&a, ret);
}

FILE_SENSOR(fchmod, "fchmod")
{
	FILE_ARGS(VG_EV_CHMOD, VG_SYS_FCHMOD);
	a.fd = sys_arg(sc, 0);
	a.mode = sys_arg(sc, 1);
	return file_event(&a, ret);
}

FILE_SENSOR(fchmodat, "fchmodat")
{
	FILE_ARGS(VG_EV_CHMOD, VG_SYS_FCHMODAT);
	a.dirfd = sys_arg(sc, 0);
	a.name = (const char *)sys_arg(sc, 1);
	a.mode = sys_arg(sc, 2);
	return file_event(&a, ret);
}

FILE_SENSOR(fchmodat2, "fchmodat2")
{
	FILE_ARGS(VG_EV_CHMOD, VG_SYS_FCHMODAT2);
	a.dirfd = sys_arg(sc, 0);
	a.name = (const char *)sys_arg(sc, 1);
	a.mode = sys_arg(sc, 2);
	a.flags = sys_arg(sc, 3);
	return file_event(&a, ret);
}

FILE_SENSOR(chown, "chown")
{
	FILE_ARGS(VG_EV_CHOWN, VG_SYS_CHOWN);
	a.name = (const char *)sys_arg(sc, 0);
	a.uid = sys_id_arg(sc, 1);
	a.gid = sys_id_arg(sc, 2);
	return file_event(&a, ret);
}

FILE_SENSOR(lchown, "lchown")
{
	FILE_ARGS(VG_EV_CHOWN, VG_SYS_LCHOWN);
	a.name = (const char *)sys_arg(sc, 0);
	a.uid = sys_id_arg(sc, 1);
	a.gid = sys_id_arg(sc, 2);
	return file_event(&a, ret);
}

FILE_SENSOR(fchown, "fchown")
{
	FILE_ARGS(VG_EV_CHOWN, VG_SYS_FCHOWN);
	a.fd = sys_arg(sc, 0);
	a.uid = sys_id_arg(sc, 1);
	a.gid = sys_id_arg(sc, 2);
	return file_event(&a, ret);
}

FILE_SENSOR(fchownat, "fchownat")
{
	FILE_ARGS(VG_EV_CHOWN, VG_SYS_FCHOWNAT);
	a.dirfd = sys_arg(sc, 0);
	a.name = (const char *)sys_arg(sc, 1);
	a.uid = sys_id_arg(sc, 2);
	a.gid = sys_id_arg(sc, 3);
	a.flags = sys_arg(sc, 4);
	return file_event(&a, ret);
}

FILE_SENSOR(link, "link")
{
	FILE_ARGS(VG_EV_LINK, VG_SYS_LINK);
	a.name = (const char *)sys_arg(sc, 0);
	a.name2 = (const char *)sys_arg(sc, 1);
	return file_event(&a, ret);
}

FILE_SENSOR(linkat, "linkat")
{
	FILE_ARGS(VG_EV_LINK, VG_SYS_LINKAT);
	a.dirfd = sys_arg(sc, 0);
	a.name = (const char *)sys_arg(sc, 1);
	a.dirfd2 = sys_arg(sc, 2);
	a.name2 = (const char *)sys_arg(sc, 3);
	a.flags = sys_arg(sc, 4);
	return file_event(&a, ret);
}

FILE_SENSOR(symlink, "symlink")
{
	FILE_ARGS(VG_EV_SYMLINK, VG_SYS_SYMLINK);
	a.target = (const char *)sys_arg(sc, 0);
	a.name = (const char *)sys_arg(sc, 1);
	return file_event(&a, ret);
}

FILE_SENSOR(symlinkat, "symlinkat")
{
	FILE_ARGS(VG_EV_SYMLINK, VG_SYS_SYMLINKAT);
	a.target = (const char *)sys_arg(sc, 0);
	a.dirfd = sys_arg(sc, 1);
	a.name = (const char *)sys_arg(sc, 2);
	return file_event(&a, ret);
}

FILE_SENSOR(truncate, "truncate")
{
	FILE_ARGS(VG_EV_TRUNCATE, VG_SYS_TRUNCATE);
	a.name = (const char *)sys_arg(sc, 0);
	a.length = sys_off_arg(sc, 1);
	return file_event(&a, ret);
}

FILE_SENSOR(ftruncate, "ftruncate")
{
	FILE_ARGS(VG_EV_TRUNCATE, VG_SYS_FTRUNCATE);
	a.fd = sys_arg(sc, 0);
	a.length = sys_off_arg(sc, 1);
	return file_event(&a, ret);
}

/* ---- file times and inode flags set explicitly (struct vg_fattr) ---- */

/* How a utimes-family call passes its two times. */
enum times_form {
	TIMES_TS64, /* struct __kernel_timespec[2]: s64 sec, s64 nsec */
	TIMES_TS32, /* struct old_timespec32[2] (ia32 utimensat) */
	TIMES_TV64, /* struct timeval[2]: s64 sec, s64 usec */
	TIMES_TV32, /* struct old_timeval32[2] (ia32 futimesat, utimes) */
	TIMES_UB64, /* struct utimbuf: s64 actime, modtime (seconds) */
	TIMES_UB32, /* struct old_utimbuf32 (ia32 utime) */
};

/*
 * Reads the times the caller asked for into a->times: NULL means both now. A function of
 * its own, so its buffers are not in the frame of the sensor, whose call chain down to
 * the path walk is near the 512 bytes of stack a 6.1 verifier allows.
 */
static __noinline void times_read(struct file_args *a, const void *p, enum times_form form)
{
	__s64 v[4] = {};
	__s32 w[4] = {};
	int i, err;

	a->fattr = true;
	if (!p) {
		a->times[1] = VG_UTIME_NOW;
		a->times[3] = VG_UTIME_NOW;
		a->fa_flags |= VG_FA_TIMES_NULL;
		return;
	}
	switch (form) {
	case TIMES_TS64:
	case TIMES_TV64:
		err = bpf_probe_read_user(v, sizeof(v), p);
		break;
	case TIMES_UB64:
		err = bpf_probe_read_user(v, 2 * sizeof(v[0]), p);
		v[2] = v[1];
		v[1] = 0;
		break;
	case TIMES_UB32:
		err = bpf_probe_read_user(w, 2 * sizeof(w[0]), p);
		v[0] = w[0];
		v[2] = w[1];
		break;
	default:
		err = bpf_probe_read_user(w, sizeof(w), p);
		for (i = 0; i < 4; i++)
			v[i] = w[i];
		break;
	}
	if (err) {
		a->fa_flags |= VG_FA_TIMES_BAD;
		return;
	}
	if (form == TIMES_TV64 || form == TIMES_TV32) {
		/* microseconds, as the kernel turns them into a timespec */
		v[1] *= 1000;
		v[3] *= 1000;
	}
	for (i = 0; i < 4; i++)
		a->times[i] = v[i];
}

/* utimensat(dirfd, name, times, flags): a NULL name is futimens on dirfd */
FILE_SENSOR(utimensat, "utimensat")
{
	FILE_ARGS(VG_EV_UTIMES, VG_SYS_UTIMENSAT);
	enum times_form form = TIMES_TS64;

	if (sc.compat && sys_nr(sc.regs) != VG_IA32_UTIMENSAT_TIME64)
		form = TIMES_TS32;
	a.dirfd = sys_arg(sc, 0);
	a.name = (const char *)sys_arg(sc, 1);
	a.flags = sys_arg(sc, 3);
	if (!a.name)
		a.fd = a.dirfd;
	times_read(&a, (const void *)sys_arg(sc, 2), form);
	return file_event(&a, ret);
}

FILE_SENSOR(futimesat, "futimesat")
{
	FILE_ARGS(VG_EV_UTIMES, VG_SYS_FUTIMESAT);

	a.dirfd = sys_arg(sc, 0);
	a.name = (const char *)sys_arg(sc, 1);
	if (!a.name)
		a.fd = a.dirfd;
	times_read(&a, (const void *)sys_arg(sc, 2), sc.compat ? TIMES_TV32 : TIMES_TV64);
	return file_event(&a, ret);
}

FILE_SENSOR(utimes, "utimes")
{
	FILE_ARGS(VG_EV_UTIMES, VG_SYS_UTIMES);

	a.name = (const char *)sys_arg(sc, 0);
	times_read(&a, (const void *)sys_arg(sc, 1), sc.compat ? TIMES_TV32 : TIMES_TV64);
	return file_event(&a, ret);
}

FILE_SENSOR(utime, "utime")
{
	FILE_ARGS(VG_EV_UTIMES, VG_SYS_UTIME);

	a.name = (const char *)sys_arg(sc, 0);
	times_read(&a, (const void *)sys_arg(sc, 1), sc.compat ? TIMES_UB32 : TIMES_UB64);
	return file_event(&a, ret);
}

/* chattr's requests (linux/fs.h): the long form, the ia32 int form, the xattr form */
#define FS_IOC_SETFLAGS_   0x40086602u
#define FS_IOC32_SETFLAGS_ 0x40046602u
#define FS_IOC_FSSETXATTR_ 0x401c5820u
#define FS_IMMUTABLE_FL_   0x10
#define FS_APPEND_FL_	   0x20
#define S_APPEND_	   4 /* inode->i_flags */
#define S_IMMUTABLE_	   8

static __always_inline bool chattr_cmd(__u32 cmd)
{
	return cmd == FS_IOC_SETFLAGS_ || cmd == FS_IOC32_SETFLAGS_ || cmd == FS_IOC_FSSETXATTR_;
}

/* The immutable and append-only state of fd's inode as FS_*_FL bits. */
static __always_inline __u32 inode_protect_flags(int fd)
{
	struct file *f = fd_file_current(fd);
	__u32 fl, out = 0;

	if (!f)
		return 0;
	fl = BPF_CORE_READ(f, f_inode, i_flags);
	if (fl & S_IMMUTABLE_)
		out |= FS_IMMUTABLE_FL_;
	if (fl & S_APPEND_)
		out |= FS_APPEND_FL_;
	return out;
}

/* a chattr request's thread -> the inode's state before it (native calls: entry seen) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} chattr_old SEC(".maps");

/* Every native ioctl passes here: the request is compared first, nothing else is read. */
SEC("tp/syscalls/sys_enter_ioctl")
int vg_ioctl_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tid, old;

	if (!chattr_cmd((__u32)ctx->args[1]) || is_self())
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	old = inode_protect_flags((int)ctx->args[0]);
	bpf_map_update_elem(&chattr_old, &tid, &old, BPF_ANY);
	return 0;
}

/* ioctl(fd, FS_IOC_SETFLAGS or FS_IOC_FSSETXATTR, arg): every other request ends at once */
FILE_SENSOR(ioctl, "ioctl")
{
	FILE_ARGS(VG_EV_CHATTR, VG_SYS_IOCTL);
	__u32 cmd = sys_arg(sc, 1), tid, *old;
	const void *arg = (const void *)sys_arg(sc, 2);

	if (!chattr_cmd(cmd))
		return 0;
	a.fattr = true;
	a.fd = sys_arg(sc, 0);
	a.mode = cmd;
	/* SETFLAGS reads an int whatever the request's size; fsxattr opens with fsx_xflags */
	bpf_probe_read_user(&a.attr_flags, sizeof(a.attr_flags), arg);
	if (cmd == FS_IOC_FSSETXATTR_)
		a.fa_flags |= VG_FA_XATTR;
	if (!sc.compat) {
		tid = (__u32)bpf_get_current_pid_tgid();
		old = bpf_map_lookup_elem(&chattr_old, &tid);
		if (old) {
			a.attr_old = *old;
			a.fa_flags |= VG_FA_OLD_KNOWN;
			bpf_map_delete_elem(&chattr_old, &tid);
		}
	}
	return file_event(&a, ret);
}

/* ---- io_uring: the same records for operations submitted through a ring ---- */

/* What a file operation's record needs from its submission, kept until its completion. */
struct uring_file_req {
	struct uring_who who;	 /* the submitter */
	__u32 type;		 /* enum vg_type */
	__u16 syscall;		 /* enum vg_syscall of the syscall form */
	bool is_open;		 /* the result is a new fd (not a registered-file slot) */
	bool has_name2;		 /* name2 is a second path (rename, link) */
	bool has_target;	 /* name2 is a symlink's target string */
	__u8 pad[3];		 /* zero */
	__s32 dirfd;		 /* base of name */
	__s32 dirfd2;		 /* base of name2 */
	__u32 flags;		 /* O_*, AT_* or RENAME_* flags */
	__u32 mode;		 /* open or mkdir mode */
	char name[VG_PATH_MAX];	 /* the path as the kernel copied it at submission */
	char name2[VG_PATH_MAX]; /* the second path, or the symlink's target */
};

/* requests in flight by address; the kernel frees the names before it completes them */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, URING_FILE_REQS_MAX);
	__type(key, __u64);
	__type(value, struct uring_file_req);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} uring_file_reqs SEC(".maps");

/* per CPU: the entry being built (too big for the stack) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct uring_file_req);
} uring_file_stage SEC(".maps");

static __always_inline bool uring_file_op(__u8 op)
{
	switch (op) {
	case IORING_OP_OPENAT:
	case IORING_OP_OPENAT2:
	case IORING_OP_UNLINKAT:
	case IORING_OP_RENAMEAT:
	case IORING_OP_MKDIRAT:
	case IORING_OP_SYMLINKAT:
	case IORING_OP_LINKAT:
		return true;
	default:
		return false;
	}
}

/* Copies a struct filename's string (kernel memory, freed before completion). */
static __always_inline void uring_name(char *dst, struct filename *fn)
{
	const char *p = BPF_CORE_READ(fn, name);

	dst[0] = 0;
	if (p)
		bpf_probe_read_kernel_str(dst, VG_PATH_MAX, p);
}

/* Fills r from a prepared request of a file opcode: the fields the syscall form has. */
static __always_inline void uring_file_prep(struct uring_file_req *r, struct io_kiocb *req, __u8 op)
{
	void *cmd = uring_cmd(req);

	r->is_open = false;
	r->has_name2 = false;
	r->has_target = false;
	r->dirfd = AT_FDCWD_;
	r->dirfd2 = AT_FDCWD_;
	r->flags = 0;
	r->mode = 0;
	r->name2[0] = 0;
	switch (op) {
	case IORING_OP_OPENAT:
	case IORING_OP_OPENAT2: {
		struct io_open *o = cmd;

		r->type = VG_EV_OPEN;
		r->syscall = op == IORING_OP_OPENAT ? VG_SYS_OPENAT : VG_SYS_OPENAT2;
		/* a direct descriptor goes into the ring's file table: the result is no fd */
		r->is_open = BPF_CORE_READ(o, file_slot) == 0;
		r->dirfd = BPF_CORE_READ(o, dfd);
		r->flags = BPF_CORE_READ(o, how.flags);
		r->mode = BPF_CORE_READ(o, how.mode);
		uring_name(r->name, BPF_CORE_READ(o, filename));
		break;
	}
	case IORING_OP_UNLINKAT: {
		struct io_unlink *u = cmd;

		r->type = VG_EV_UNLINK;
		r->syscall = VG_SYS_UNLINKAT;
		r->dirfd = BPF_CORE_READ(u, dfd);
		r->flags = BPF_CORE_READ(u, flags);
		uring_name(r->name, BPF_CORE_READ(u, filename));
		break;
	}
	case IORING_OP_MKDIRAT: {
		struct io_mkdir *m = cmd;

		r->type = VG_EV_MKDIR;
		r->syscall = VG_SYS_MKDIRAT;
		r->dirfd = BPF_CORE_READ(m, dfd);
		r->mode = BPF_CORE_READ(m, mode);
		uring_name(r->name, BPF_CORE_READ(m, filename));
		break;
	}
	case IORING_OP_RENAMEAT: {
		struct io_rename *n = cmd;

		/* the ring's rename takes renameat2's flags */
		r->type = VG_EV_RENAME;
		r->syscall = VG_SYS_RENAMEAT2;
		r->has_name2 = true;
		r->dirfd = BPF_CORE_READ(n, old_dfd);
		r->dirfd2 = BPF_CORE_READ(n, new_dfd);
		r->flags = BPF_CORE_READ(n, flags);
		uring_name(r->name, BPF_CORE_READ(n, oldpath));
		uring_name(r->name2, BPF_CORE_READ(n, newpath));
		break;
	}
	case IORING_OP_LINKAT: {
		struct io_link *l = cmd;

		r->type = VG_EV_LINK;
		r->syscall = VG_SYS_LINKAT;
		r->has_name2 = true;
		r->dirfd = BPF_CORE_READ(l, old_dfd);
		r->dirfd2 = BPF_CORE_READ(l, new_dfd);
		r->flags = BPF_CORE_READ(l, flags);
		uring_name(r->name, BPF_CORE_READ(l, oldpath));
		uring_name(r->name2, BPF_CORE_READ(l, newpath));
		break;
	}
	default: {
		/* IORING_OP_SYMLINKAT keeps the target in oldpath, the new link in newpath */
		struct io_link *l = cmd;

		r->type = VG_EV_SYMLINK;
		r->syscall = VG_SYS_SYMLINKAT;
		r->has_target = true;
		r->dirfd = BPF_CORE_READ(l, new_dfd);
		uring_name(r->name, BPF_CORE_READ(l, newpath));
		uring_name(r->name2, BPF_CORE_READ(l, oldpath));
		break;
	}
	}
}

/* The builder's arguments for a kept request: names in kernel memory, the submitter's header. */
static __always_inline void uring_file_args(struct file_args *a, struct uring_file_req *r)
{
	__builtin_memset(a, 0, sizeof(*a));
	a->type = r->type;
	a->syscall = r->syscall;
	a->is_open = r->is_open;
	a->fd = -1;
	a->dirfd = r->dirfd;
	a->dirfd2 = r->dirfd2;
	a->name = r->name;
	a->name2 = r->has_name2 ? r->name2 : NULL;
	a->target = r->has_target ? r->name2 : NULL;
	a->flags = r->flags;
	a->mode = r->mode;
	a->uid = (__u32)-1;
	a->gid = (__u32)-1;
	a->kernel_names = true;
	a->who = &r->who;
}

/*
 * The submitter, filled in a function of its own: the file submission program's frame is
 * at what a 6.1 verifier allows for its call chain down to the path walk (512 bytes, each
 * frame rounded up to 32), and inlined this work pushed it over (the program was refused).
 */
static __noinline void uring_file_who(struct uring_who *w)
{
	uring_who_fill(w);
}

SEC("raw_tp/io_uring_submit_req")
int vg_uring_file_submit(struct bpf_raw_tracepoint_args *ctx)
{
	struct io_kiocb *req = uring_submit_req(ctx);
	__u64 key = (__u64)req;
	struct uring_file_req *r;
	struct file_args a;
	__u32 zero = 0;
	__u8 op = BPF_CORE_READ(req, opcode);
	bool write;

	if (!uring_file_op(op))
		return 0;
	r = bpf_map_lookup_elem(&uring_file_stage, &zero);
	if (!r)
		return 0;
	uring_file_who(&r->who);
	uring_file_prep(r, req, op);
	if (BPF_CORE_READ(req, flags) & REQ_F_CQE_SKIP_) {
		/* the kernel posts no completion when it succeeds: send now, result unknown (0) */
		r->is_open = false;
		uring_file_args(&a, r);
		if (file_event(&a, 0) == SENSOR_HANDED_ON) {
			bpf_tail_call(ctx, &file_builder_raw, 0);
			file_handoff_lost();
		}
		return 0;
	}
	/* a type no rule can match, whatever the result, is dropped before anything is kept */
	write = r->is_open ? (r->flags & WRITE_FLAGS) != 0 : true;
	if (filter_cheap_comm(r->type, 0, write, true, r->who.comm) == FILTER_DROP) {
		count(r->type, CNT_SEEN);
		count(r->type, CNT_FILTERED);
		return 0;
	}
	if (bpf_map_update_elem(&uring_file_reqs, &key, r, BPF_ANY)) {
		/* too many requests in flight: the record is lost, and counted */
		count(r->type, CNT_SEEN);
		count(r->type, CNT_LOST);
	}
	return 0;
}

SEC("raw_tp/io_uring_complete")
int vg_uring_file_complete(struct bpf_raw_tracepoint_args *ctx)
{
	struct io_kiocb *req = (struct io_kiocb *)ctx->args[1];
	__u64 key = (__u64)req;
	struct uring_file_req *r;
	struct uring_cqe c;
	struct file_args a;

	/* file operations are never multishot: a completion without a request is none */
	if (!req || !uring_file_op(BPF_CORE_READ(req, opcode)))
		return 0;
	r = bpf_map_lookup_elem(&uring_file_reqs, &key);
	if (!r)
		return 0;
	if (uring_same_process(&r->who)) {
		uring_cqe_read(&c, ctx);
		uring_file_args(&a, r);
		a.uring_key = key;
		/* the hook ran in the thread that did the open: the submitter or a worker */
		if (!(r->is_open && OPEN_DENIED_BY_LSM(c.res)) &&
		    file_event(&a, c.res) == SENSOR_HANDED_ON) {
			/* the builder forgets the request once it has read its names */
			bpf_tail_call(ctx, &file_builder_raw, 0);
			file_handoff_lost();
		}
	} else {
		/* completed by a kernel worker after the process went: nobody to attribute it to */
		count(r->type, CNT_SEEN);
		count(r->type, CNT_LOST);
	}
	bpf_map_delete_elem(&uring_file_reqs, &key);
	return 0;
}

/* ---- the builders: every file record that a sensor handed on ---- */

static __always_inline int file_build(void)
{
	__u32 zero = 0;
	struct file_handoff *h = bpf_map_lookup_elem(&file_handoff, &zero);

	if (!h)
		return 0;
	file_record(h);
	/* an io_uring request's names were read from its entry until now */
	if (h->a.uring_key)
		bpf_map_delete_elem(&uring_file_reqs, &h->a.uring_key);
	return 0;
}

SEC("tp")
int vg_file_build(void *ctx)
{
	return file_build();
}

SEC("raw_tp")
int vg_file_build_raw(void *ctx)
{
	return file_build();
}
