/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * path.bpf.h - resolve a struct path to an absolute path string inside the
 * kernel, without bpf_d_path: walk d_parent up to the mount root, cross into the
 * parent mount at its mountpoint, up to the top of the mount tree, which is the
 * task's mount namespace's root. A container's paths are thus the container's
 * view (its own namespace), a chrooted task's the host's: the walk notes where it
 * passed the task's root, and the path the task saw is the suffix from there.
 * The walk runs under bpf_loop with its state in a per-CPU map value, because
 * unrolled loops with state on the stack exhaust the verifier. joined_append()
 * joins a resolved base directory (cwd, dirfd, or the task's root for an absolute
 * name) with a name the caller gave.
 */
#ifndef VIGIL_PATH_BPF_H
#define VIGIL_PATH_BPF_H

#include "core/record.bpf.h"
#include "core/syscall.bpf.h"

enum walk_flags {
	WALK_DONE = 1u << 0,	     /* reached a root */
	WALK_TRUNC = 1u << 1,	     /* ran out of room or depth */
	WALK_DISCONNECTED = 1u << 2, /* hit a dentry that is its own parent but no mount root */
	WALK_ROOT_SEEN = 1u << 3,    /* passed the task's root: root_pos is set */
	WALK_CHROOTED = 1u << 4,     /* ... and the namespace's path goes on above it */
};

static __always_inline struct mount *real_mount_of(struct vfsmount *vfsmnt)
{
	return (struct mount *)((char *)vfsmnt - bpf_core_field_offset(struct mount, mnt));
}

/*
 * d_parent and d_name of a dentry in one read: each bpf_probe_read_kernel costs
 * about the same whatever its size, so a level of the walk takes two reads (this
 * window and the name) instead of one per field.
 */
#define DENTRY_WIN 32 /* a power of two: offsets are masked with DENTRY_WIN - 1 */

static __always_inline void dentry_window(struct dentry *d, struct dentry **parent, __u32 *len,
					  const unsigned char **name)
{
	__u32 op = bpf_core_field_offset(struct dentry, d_parent);
	__u32 ol = bpf_core_field_offset(struct dentry, d_name.len);
	__u32 on = bpf_core_field_offset(struct dentry, d_name.name);
	__u32 lo = op < ol ? op : ol;
	char win[DENTRY_WIN];

	if (op - lo + 8 > DENTRY_WIN || ol - lo + 4 > DENTRY_WIN || on < lo ||
	    on - lo + 8 > DENTRY_WIN) {
		/* a layout the window does not cover: field by field */
		*parent = BPF_CORE_READ(d, d_parent);
		*len = BPF_CORE_READ(d, d_name.len);
		*name = BPF_CORE_READ(d, d_name.name);
		return;
	}
	bpf_probe_read_kernel(win, sizeof(win), (char *)d + lo);
	/* the offsets are constants once relocated; the masks only reassure the verifier */
	*parent = *(struct dentry **)(win + ((op - lo) & (DENTRY_WIN - 1)));
	*len = *(__u32 *)(win + ((ol - lo) & (DENTRY_WIN - 1)));
	*name = *(const unsigned char **)(win + ((on - lo) & (DENTRY_WIN - 1)));
}

static long walk_step(__u32 i, void *ctx)
{
	__u32 zero = 0;
	struct walk *w = bpf_map_lookup_elem(&walk_map, &zero);
	struct dentry *d, *parent;
	struct mount *mnt;
	const unsigned char *name;
	__u32 len, pos;

	if (!w)
		return 1;
	/* locals: CO-RE relocates kernel types only, not struct walk */
	d = w->dentry;
	mnt = w->mnt;
	if (d == w->root_dentry && w->vfsmnt == w->root_mnt && !(w->flags & WALK_ROOT_SEEN)) {
		/* what lies below is the path the task sees; keep walking to the top */
		w->flags |= WALK_ROOT_SEEN;
		w->root_pos = w->pos;
	}
	if (d == w->mnt_root) {
		struct mount *up;
		struct vfsmount *vup;

		up = BPF_CORE_READ(mnt, mnt_parent);
		if (!up || up == mnt) {
			w->flags |= WALK_DONE;
			return 1;
		}
		vup = (struct vfsmount *)((char *)up + bpf_core_field_offset(struct mount, mnt));
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = up;
		w->vfsmnt = vup;
		w->mnt_root = BPF_CORE_READ(vup, mnt_root);
		return 0;
	}
	dentry_window(d, &parent, &len, &name);
	/*
	 * A dentry that is its own parent but not a mount root is a pseudo file
	 * (memfd, anonymous) or disconnected: name it as "/NAME" like d_path does.
	 */
	if (d == parent)
		w->flags |= WALK_DONE | WALK_DISCONNECTED;
	pos = w->pos;
	if (len >= WALK_NAME_MAX || pos < len + 2) {
		w->flags |= WALK_TRUNC;
		return 1;
	}
	pos -= len;
	/* the check above bounds len, but the compiler may drop the mask the verifier needs */
	barrier_var(len);
	bpf_probe_read_kernel(&w->buf[pos & (VG_PATH_MAX - 1)], len & (WALK_NAME_MAX - 1), name);
	pos -= 1;
	w->buf[pos & (VG_PATH_MAX - 1)] = '/';
	w->pos = pos;
	w->dentry = parent;
	return w->flags & WALK_DONE ? 1 : 0;
}

/*
 * Resolves path p (a kernel pointer to struct path) to the top of its mount tree,
 * noting where it passes task t's root. Returns the walk state, path in
 * buf[pos..VG_PATH_MAX), or NULL.
 */
static __always_inline struct walk *path_resolve(struct task_struct *t, const struct path *p)
{
	__u32 zero = 0;
	struct walk *w = bpf_map_lookup_elem(&walk_map, &zero);
	struct vfsmount *vfsmnt;

	if (!w)
		return NULL;
	vfsmnt = BPF_CORE_READ(p, mnt);
	w->dentry = BPF_CORE_READ(p, dentry);
	w->vfsmnt = vfsmnt;
	w->mnt = real_mount_of(vfsmnt);
	w->mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	w->root_dentry = BPF_CORE_READ(t, fs, root.dentry);
	w->root_mnt = BPF_CORE_READ(t, fs, root.mnt);
	w->pos = VG_PATH_MAX;
	w->flags = 0;
	w->root_pos = 0;
	if (!w->dentry || !w->vfsmnt)
		return NULL;
	bpf_loop(WALK_MAX_DEPTH, walk_step, NULL, 0);
	if (!(w->flags & WALK_DONE))
		w->flags |= WALK_TRUNC;
	if ((w->flags & WALK_ROOT_SEEN) && w->root_pos != w->pos)
		w->flags |= WALK_CHROOTED;
	if (w->pos == VG_PATH_MAX) {
		w->pos = VG_PATH_MAX - 1;
		w->buf[VG_PATH_MAX - 1] = '/';
	}
	return w;
}

/*
 * Bytes of a finished walk's path before the part the task sees (its root's own
 * path in the namespace), 0 when the task is not chrooted, VG_SKIP_OUTSIDE when the
 * object lies outside its root. Sets VG_HF_CHROOT in *hflags for a chrooted task.
 */
static __always_inline __u16 walk_skip(struct walk *w, __u32 *hflags)
{
	if (!(w->flags & WALK_ROOT_SEEN))
		return VG_SKIP_OUTSIDE;
	if (!(w->flags & WALK_CHROOTED))
		return 0;
	*hflags |= VG_HF_CHROOT;
	return (w->root_pos - w->pos) & (VG_PATH_MAX - 1);
}

/*
 * Appends a resolved path to the record at off as string *s. Returns the new offset;
 * sets *trunc when the walk or the record's room cut it.
 */
static __always_inline __u32 path_append(char *ev, __u32 off, struct vg_str *s, struct walk *w,
					 bool *trunc)
{
	__u32 len = VG_PATH_MAX - w->pos;

	if (w->flags & WALK_TRUNC)
		*trunc = true;
	if (off >= VG_EVENT_MAX - 1)
		return off;
	if (len > VG_EVENT_MAX - off - 1) {
		len = VG_EVENT_MAX - off - 1;
		*trunc = true;
	}
	off = ev_off(off);
	len &= STR_LEN_MASK;
	bpf_probe_read_kernel(ev + off, len, &w->buf[w->pos & (VG_PATH_MAX - 1)]);
	ev[off + len] = 0;
	s->off = off;
	s->len = len;
	return off + len + 1;
}

/*
 * Appends base + "/" + name, where base is the task's root for an absolute name,
 * else the resolved cwd (dirfd AT_FDCWD) or dirfd's directory. The result is the
 * namespace's view; *skip (when not NULL) gets the bytes before the part the task
 * sees (see walk_skip), and VG_HF_CHROOT goes into *hflags for a chrooted task.
 * name is user memory when user, else kernel memory (io_uring copied it at submission).
 */
static __always_inline __u32 joined_append_from(char *ev, __u32 off, struct vg_str *s,
						struct task_struct *t, int dirfd, const char *name,
						__u32 *hflags, __u32 trunc_flag, __u16 *skip,
						bool user)
{
	struct vg_str tail = {};
	const struct path *base;
	struct walk *w;
	bool trunc = false, absolute;
	__u32 start, joined;
	__u16 sk = VG_SKIP_OUTSIDE;
	char first = 0;

	s->off = 0;
	s->len = 0;
	joined = trunc_flag == VG_FL_PATH_TRUNC ? VG_FL_PATH_JOINED : VG_FL_PATH2_JOINED;
	if (user)
		bpf_probe_read_user(&first, 1, name);
	else
		bpf_probe_read_kernel(&first, 1, name);
	absolute = first == '/';
	if (absolute) {
		base = (struct path *)((char *)BPF_CORE_READ(t, fs) +
				       bpf_core_field_offset(struct fs_struct, root));
	} else if (dirfd == AT_FDCWD_) {
		base = (struct path *)((char *)BPF_CORE_READ(t, fs) +
				       bpf_core_field_offset(struct fs_struct, pwd));
	} else {
		struct file *f = fd_file(t, dirfd);

		if (!f)
			goto raw;
		base = &f->f_path;
	}
	w = path_resolve(t, base);
	if (!w)
		goto raw;
	sk = walk_skip(w, hflags);
	if (absolute && !(w->flags & WALK_CHROOTED)) {
		/* the task's root is the namespace's: the name is the path */
		*hflags |= joined;
		sk = 0;
		goto raw;
	}
	start = path_append(ev, off, s, w, &trunc);
	if (start <= off + 1)
		return start;
	/* replace the base's NUL with '/', unless the base is "/" or the name starts with one */
	if (s->len == 1 || absolute)
		start -= 1;
	else
		ev[(start - 1) & EV_OFF_MASK] = '/';
	start = str_append(ev, start, &tail, name, VG_PATH_MAX, user, &trunc);
	if (tail.off)
		s->len = tail.off + tail.len - s->off;
	else
		s->len = (start - 1) - s->off;
	if (trunc)
		*hflags |= trunc_flag;
	*hflags |= joined;
	if (skip)
		*skip = sk;
	return start;
raw:
	if (skip)
		*skip = sk;
	start = str_append(ev, off, s, name, VG_PATH_MAX, user, &trunc);
	if (trunc)
		*hflags |= trunc_flag;
	return start;
}

/* joined_append_from() for a name in user memory: the syscall sensors' case */
static __always_inline __u32 joined_append(char *ev, __u32 off, struct vg_str *s,
					   struct task_struct *t, int dirfd, const char *name,
					   __u32 *hflags, __u32 trunc_flag, __u16 *skip)
{
	return joined_append_from(ev, off, s, t, dirfd, name, hflags, trunc_flag, skip, true);
}

#endif /* VIGIL_PATH_BPF_H */
