/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * file.bpf.c - file sensors at syscall exit. The object's path comes from the
 * kernel: from the opened file or the fd the call used when there is one, else
 * from the resolved base directory (cwd or dirfd) joined with the caller's name.
 * The raw argument travels too. The prefilter's cheap checks run before any path
 * is resolved. Each sensor serves native and ia32 calls alike (SYSCALL_SENSOR).
 */
#include "core/filter.bpf.h"
#include "core/path.bpf.h"
#include "core/record.bpf.h"
#include "core/syscall.bpf.h"

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

static __noinline int file_event(struct file_args *a, long ret)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	enum filter_verdict verdict;
	struct file *obj = NULL;
	struct vg_file *e;
	bool trunc = false, write;
	struct walk *w;
	char *ev;
	__u32 off, type = a->type;

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
		bpf_probe_read_user(&c, 1, a->name);
		if (!c)
			a->fd = a->dirfd;
	}
	write = a->is_open ? (a->flags & WRITE_FLAGS) != 0 : true;
	verdict = filter_cheap(type, 0, write, ret < 0);
	if (verdict == FILTER_DROP) {
		count(type, CNT_FILTERED);
		return 0;
	}
	if (a->is_open && ret >= 0)
		obj = fd_file(t, ret);
	else if (a->fd >= 0)
		obj = fd_file(t, a->fd);
	w = NULL;
	if (obj) {
		/* the object's path decides before any other work for the record is done */
		w = path_resolve(t, &obj->f_path);
		if (verdict == FILTER_NEED_PATH && w && !(w->flags & WALK_DISCONNECTED) &&
		    !filter_path(type, &w->buf[w->pos & (VG_PATH_MAX - 1)], VG_PATH_MAX - w->pos)) {
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
	hdr_fill(&e->hdr, t, type);
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
	off = sizeof(*e);

	if (obj) {
		object_info(e, obj);
		if (w) {
			if (w->flags & WALK_DISCONNECTED)
				e->hdr.flags |= VG_FL_PSEUDO;
			e->path_skip = walk_skip(w, &e->hdr.flags);
			off = path_append(ev, off, &e->path, w, &trunc);
			if (trunc)
				e->hdr.flags |= VG_FL_PATH_TRUNC;
		}
	} else if (a->name) {
		off = joined_append(ev, off, &e->path, t, a->dirfd, a->name, &e->hdr.flags,
				    VG_FL_PATH_TRUNC, &e->path_skip);
	}
	if (a->name) {
		trunc = false;
		off = str_append(ev, off, &e->raw, a->name, VG_PATH_MAX, true, &trunc);
		if (trunc)
			e->hdr.flags |= VG_FL_RAW_TRUNC;
	}
	if (a->name2) {
		off = joined_append(ev, off, &e->path2, t, a->dirfd2, a->name2, &e->hdr.flags,
				    VG_FL_PATH2_TRUNC, NULL);
		trunc = false;
		off = str_append(ev, off, &e->raw2, a->name2, VG_PATH_MAX, true, &trunc);
		if (trunc)
			e->hdr.flags |= VG_FL_RAW_TRUNC;
	} else if (a->target) {
		trunc = false;
		off = str_append(ev, off, &e->raw2, a->target, VG_PATH_MAX, true, &trunc);
		if (trunc)
			e->hdr.flags |= VG_FL_RAW_TRUNC;
	}

	if (verdict == FILTER_NEED_PATH) {
		bool pass = false;
		__u32 o = e->path.off & EV_OFF_MASK, l = e->path.len;

		if (e->path.off)
			pass = filter_path(type, ev + o, l);
		if (!pass && e->path2.off)
			pass = filter_path(type, ev + (e->path2.off & EV_OFF_MASK), e->path2.len);
		/*
		 * A joined path user space may fold or resolve into another one: never
		 * drop it here, but it met no criterion yet, so it waits for the batch.
		 */
		if (!pass && ((e->hdr.flags & VG_FL_RAW_TRUNC) ||
			      ((e->hdr.flags & VG_FL_PATH_JOINED) &&
			       filter_name_undecided(e->raw.off, e->raw.len)) ||
			      ((e->hdr.flags & VG_FL_PATH2_JOINED) &&
			       filter_name_undecided(e->raw2.off, e->raw2.len)))) {
			submit(ev, off, false);
			return 0;
		}
		if (!pass) {
			count(type, CNT_FILTERED);
			return 0;
		}
	}
	/* an event that met a rule-derived criterion may raise an alert: wake the reader */
	submit(ev, off, verdict != FILTER_SEND);
	return 0;
}

#define FILE_ARGS(t, sys)                                                                          \
	struct file_args a = {.type = (t),                                                         \
			      .syscall = (sys),                                                    \
			      .fd = -1,                                                            \
			      .dirfd = AT_FDCWD_,                                                  \
			      .dirfd2 = AT_FDCWD_,                                                 \
			      .uid = (__u32)-1,                                                    \
			      .gid = (__u32)-1}

SYSCALL_SENSOR(open, "open")
{
	FILE_ARGS(VG_EV_OPEN, VG_SYS_OPEN);
	a.is_open = true;
	a.name = (const char *)sys_arg(sc, 0);
	a.flags = sys_arg(sc, 1);
	a.mode = sys_arg(sc, 2);
	return file_event(&a, ret);
}

SYSCALL_SENSOR(openat, "openat")
{
	FILE_ARGS(VG_EV_OPEN, VG_SYS_OPENAT);
	a.is_open = true;
	a.dirfd = sys_arg(sc, 0);
	a.name = (const char *)sys_arg(sc, 1);
	a.flags = sys_arg(sc, 2);
	a.mode = sys_arg(sc, 3);
	return file_event(&a, ret);
}

SYSCALL_SENSOR(openat2, "openat2")
{
	FILE_ARGS(VG_EV_OPEN, VG_SYS_OPENAT2);
	struct open_how how = {};

	a.is_open = true;
	a.dirfd = sys_arg(sc, 0);
	a.name = (const char *)sys_arg(sc, 1);
	bpf_probe_read_user(&how, sizeof(how), (void *)sys_arg(sc, 2));
	a.flags = how.flags;
	a.mode = how.mode;
	return file_event(&a, ret);
}

SYSCALL_SENSOR(creat, "creat")
{
	FILE_ARGS(VG_EV_OPEN, VG_SYS_CREAT);
	a.is_open = true;
	a.name = (const char *)sys_arg(sc, 0);
	a.flags = O_CREAT_ | O_WRONLY_ | O_TRUNC_;
	a.mode = sys_arg(sc, 1);
	return file_event(&a, ret);
}

SYSCALL_SENSOR(unlink, "unlink")
{
	FILE_ARGS(VG_EV_UNLINK, VG_SYS_UNLINK);
	a.name = (const char *)sys_arg(sc, 0);
	return file_event(&a, ret);
}

SYSCALL_SENSOR(unlinkat, "unlinkat")
{
	FILE_ARGS(VG_EV_UNLINK, VG_SYS_UNLINKAT);
	a.dirfd = sys_arg(sc, 0);
	a.name = (const char *)sys_arg(sc, 1);
	a.flags = sys_arg(sc, 2);
	return file_event(&a, ret);
}

SYSCALL_SENSOR(rmdir, "rmdir")
{
	FILE_ARGS(VG_EV_UNLINK, VG_SYS_RMDIR);
	a.name = (const char *)sys_arg(sc, 0);
	return file_event(&a, ret);
}

SYSCALL_SENSOR(rename, "rename")
{
	FILE_ARGS(VG_EV_RENAME, VG_SYS_RENAME);
	a.name = (const char *)sys_arg(sc, 0);
	a.name2 = (const char *)sys_arg(sc, 1);
	return file_event(&a, ret);
}

SYSCALL_SENSOR(renameat, "renameat")
{
	FILE_ARGS(VG_EV_RENAME, VG_SYS_RENAMEAT);
	a.dirfd = sys_arg(sc, 0);
	a.name = (const char *)sys_arg(sc, 1);
	a.dirfd2 = sys_arg(sc, 2);
	a.name2 = (const char *)sys_arg(sc, 3);
	return file_event(&a, ret);
}

SYSCALL_SENSOR(renameat2, "renameat2")
{
	FILE_ARGS(VG_EV_RENAME, VG_SYS_RENAMEAT2);
	a.dirfd = sys_arg(sc, 0);
	a.name = (const char *)sys_arg(sc, 1);
	a.dirfd2 = sys_arg(sc, 2);
	a.name2 = (const char *)sys_arg(sc, 3);
	a.flags = sys_arg(sc, 4);
	return file_event(&a, ret);
}

SYSCALL_SENSOR(mkdir, "mkdir")
{
	FILE_ARGS(VG_EV_MKDIR, VG_SYS_MKDIR);
	a.name = (const char *)sys_arg(sc, 0);
	a.mode = sys_arg(sc, 1);
	return file_event(&a, ret);
}

SYSCALL_SENSOR(mkdirat, "mkdirat")
{
	FILE_ARGS(VG_EV_MKDIR, VG_SYS_MKDIRAT);
	a.dirfd = sys_arg(sc, 0);
	a.name = (const char *)sys_arg(sc, 1);
	a.mode = sys_arg(sc, 2);
	return file_event(&a, ret);
}

SYSCALL_SENSOR(chmod, "chmod")
{
	FILE_ARGS(VG_EV_CHMOD, VG_SYS_CHMOD);
	a.name = (const char *)sys_arg(sc, 0);
	a.mode = sys_arg(sc, 1);
	return file_event(&a, ret);
}

SYSCALL_SENSOR(fchmod, "fchmod")
{
	FILE_ARGS(VG_EV_CHMOD, VG_SYS_FCHMOD);
	a.fd = sys_arg(sc, 0);
	a.mode = sys_arg(sc, 1);
	return file_event(&a, ret);
}

SYSCALL_SENSOR(fchmodat, "fchmodat")
{
	FILE_ARGS(VG_EV_CHMOD, VG_SYS_FCHMODAT);
	a.dirfd = sys_arg(sc, 0);
	a.name = (const char *)sys_arg(sc, 1);
	a.mode = sys_arg(sc, 2);
	return file_event(&a, ret);
}

SYSCALL_SENSOR(fchmodat2, "fchmodat2")
{
	FILE_ARGS(VG_EV_CHMOD, VG_SYS_FCHMODAT2);
	a.dirfd = sys_arg(sc, 0);
	a.name = (const char *)sys_arg(sc, 1);
	a.mode = sys_arg(sc, 2);
	a.flags = sys_arg(sc, 3);
	return file_event(&a, ret);
}

SYSCALL_SENSOR(chown, "chown")
{
	FILE_ARGS(VG_EV_CHOWN, VG_SYS_CHOWN);
	a.name = (const char *)sys_arg(sc, 0);
	a.uid = sys_id_arg(sc, 1);
	a.gid = sys_id_arg(sc, 2);
	return file_event(&a, ret);
}

SYSCALL_SENSOR(lchown, "lchown")
{
	FILE_ARGS(VG_EV_CHOWN, VG_SYS_LCHOWN);
	a.name = (const char *)sys_arg(sc, 0);
	a.uid = sys_id_arg(sc, 1);
	a.gid = sys_id_arg(sc, 2);
	return file_event(&a, ret);
}

SYSCALL_SENSOR(fchown, "fchown")
{
	FILE_ARGS(VG_EV_CHOWN, VG_SYS_FCHOWN);
	a.fd = sys_arg(sc, 0);
	a.uid = sys_id_arg(sc, 1);
	a.gid = sys_id_arg(sc, 2);
	return file_event(&a, ret);
}

SYSCALL_SENSOR(fchownat, "fchownat")
{
	FILE_ARGS(VG_EV_CHOWN, VG_SYS_FCHOWNAT);
	a.dirfd = sys_arg(sc, 0);
	a.name = (const char *)sys_arg(sc, 1);
	a.uid = sys_id_arg(sc, 2);
	a.gid = sys_id_arg(sc, 3);
	a.flags = sys_arg(sc, 4);
	return file_event(&a, ret);
}

SYSCALL_SENSOR(link, "link")
{
	FILE_ARGS(VG_EV_LINK, VG_SYS_LINK);
	a.name = (const char *)sys_arg(sc, 0);
	a.name2 = (const char *)sys_arg(sc, 1);
	return file_event(&a, ret);
}

SYSCALL_SENSOR(linkat, "linkat")
{
	FILE_ARGS(VG_EV_LINK, VG_SYS_LINKAT);
	a.dirfd = sys_arg(sc, 0);
	a.name = (const char *)sys_arg(sc, 1);
	a.dirfd2 = sys_arg(sc, 2);
	a.name2 = (const char *)sys_arg(sc, 3);
	a.flags = sys_arg(sc, 4);
	return file_event(&a, ret);
}

SYSCALL_SENSOR(symlink, "symlink")
{
	FILE_ARGS(VG_EV_SYMLINK, VG_SYS_SYMLINK);
	a.target = (const char *)sys_arg(sc, 0);
	a.name = (const char *)sys_arg(sc, 1);
	return file_event(&a, ret);
}

SYSCALL_SENSOR(symlinkat, "symlinkat")
{
	FILE_ARGS(VG_EV_SYMLINK, VG_SYS_SYMLINKAT);
	a.target = (const char *)sys_arg(sc, 0);
	a.dirfd = sys_arg(sc, 1);
	a.name = (const char *)sys_arg(sc, 2);
	return file_event(&a, ret);
}

SYSCALL_SENSOR(truncate, "truncate")
{
	FILE_ARGS(VG_EV_TRUNCATE, VG_SYS_TRUNCATE);
	a.name = (const char *)sys_arg(sc, 0);
	a.length = sys_off_arg(sc, 1);
	return file_event(&a, ret);
}

SYSCALL_SENSOR(ftruncate, "ftruncate")
{
	FILE_ARGS(VG_EV_TRUNCATE, VG_SYS_FTRUNCATE);
	a.fd = sys_arg(sc, 0);
	a.length = sys_off_arg(sc, 1);
	return file_event(&a, ret);
}
