/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * filter.bpf.h - the in-kernel prefilter. User space writes, per event type, a
 * mode and the criteria that let an event through; sensors ask the cheap
 * questions (type, comm, cgroup, port, open flags) before resolving any path, and
 * the path trie last. Every rejected event is counted as filtered. The maps are
 * in maps.bpf.h.
 */
#ifndef VIGIL_FILTER_BPF_H
#define VIGIL_FILTER_BPF_H

#include "core/path.bpf.h"
#include "core/record.bpf.h"

enum filter_verdict {
	FILTER_SEND,	  /* send the event: the type sends everything */
	FILTER_MATCHED,	  /* send the event: it met a criterion, so a rule may fire on it */
	FILTER_DROP,	  /* drop it (counted) */
	FILTER_NEED_PATH, /* only the path can decide: resolve it, then filter_path() */
};

static __always_inline struct vg_filter_type *filter_get(__u32 type)
{
	return bpf_map_lookup_elem(&filter_types, &type);
}

/*
 * The cheap part of the decision, before any path is resolved. port is the
 * port the type's criterion looks at (0 when none), write tells an open for
 * writing, failed a call that returned an error. comm is the comm the record
 * will carry when it is not the current task's (an io_uring operation run by a
 * kernel io thread of the submitting process), else NULL.
 */
static __always_inline enum filter_verdict filter_cheap_comm(__u32 type, __u16 port, bool write,
							     bool failed, const char *comm)
{
	struct vg_filter_type *f = filter_get(type);
	__u32 c;

	if (!f || f->mode == VG_FILTER_ALL)
		return FILTER_SEND;
	if (f->mode != VG_FILTER_MATCH)
		return FILTER_DROP;
	c = f->criteria;
	if ((c & VG_FC_WRITE_OPENS) && write)
		return FILTER_MATCHED;
	if ((c & VG_FC_FAILED) && failed)
		return FILTER_MATCHED;
	if (c & VG_FC_COMM) {
		struct vg_comm_key k = {.type = type};

		if (comm)
			bpf_probe_read_kernel(k.comm, sizeof(k.comm), comm);
		else
			task_comm(k.comm, (struct task_struct *)bpf_get_current_task());
		if (bpf_map_lookup_elem(&filter_comms, &k))
			return FILTER_MATCHED;
	}
	if (c & VG_FC_CGROUP) {
		struct vg_cgroup_key k = {.cgroup_id = bpf_get_current_cgroup_id(), .type = type};

		if (bpf_map_lookup_elem(&filter_cgroups, &k))
			return FILTER_MATCHED;
	}
	if ((c & VG_FC_PORT) && port) {
		struct vg_port_key k = {.type = type, .port = port};

		if (bpf_map_lookup_elem(&filter_ports, &k))
			return FILTER_MATCHED;
	}
	return (c & (VG_FC_PATH | VG_FC_LEAF)) ? FILTER_NEED_PATH : FILTER_DROP;
}

/* filter_cheap_comm() for a record of the current task */
static __always_inline enum filter_verdict filter_cheap(__u32 type, __u16 port, bool write,
							bool failed)
{
	return filter_cheap_comm(type, port, write, failed, NULL);
}

/* The path part: path[0..len) is the resolved path (len without NUL). */
static __always_inline bool filter_path(__u32 type, const char *path, __u32 len)
{
	__u32 zero = 0;
	struct vg_path_key *k = bpf_map_lookup_elem(&filter_key_scratch, &zero);
	struct vg_path_val *v;
	__u64 n = len;

	if (!k)
		return true;
	barrier_var(n);
	if (n > VG_FILTER_PATH_MAX)
		n = VG_FILTER_PATH_MAX;
	k->type = type;
	bpf_probe_read_kernel(k->path, n, path);
	k->prefixlen = 8 + n * 8;
	v = bpf_map_lookup_elem(&filter_paths, k);
	if (!v)
		return false;
	if (!(v->flags & VG_PV_EXACT) || v->len == len)
		return true;
	/* an exact entry matched as a mere prefix: pass only if a shorter prefix covers it */
	return v->flags & VG_PV_COVERED;
}

/*
 * The leaf test, for an event whose cheap part said FILTER_NEED_PATH and whose path
 * is the file f's: FILTER_DROP when the slot has leaf entries and f's own name (the
 * dentry's, one read) matches none; FILTER_NEED_PATH when the path must still decide;
 * FILTER_MATCHED when the slot has no path entries to decide with. A mount root is
 * not judged by its name: a bind mount's path ends with its mountpoint's name.
 */
static __always_inline enum filter_verdict filter_leaf(__u32 slot, struct file *f)
{
	struct vg_filter_type *ft = filter_get(slot);
	const unsigned char *name;
	struct dentry *parent;
	struct path p;
	__u32 len;

	if (!ft)
		return FILTER_NEED_PATH;
	if (ft->criteria & VG_FC_LEAF) {
		if (BPF_CORE_READ_INTO(&p, f, f_path) || !p.dentry)
			return FILTER_NEED_PATH;
		if (p.dentry != BPF_CORE_READ(p.mnt, mnt_root)) {
			dentry_window(p.dentry, &parent, &len, &name);
			if (!filter_path(slot | VG_FS_LEAF, (const char *)name, len))
				return FILTER_DROP;
		}
	}
	return (ft->criteria & VG_FC_PATH) ? FILTER_NEED_PATH : FILTER_MATCHED;
}

/* A path criterion on an event the leaf test cannot judge: without path entries it goes up. */
static __always_inline enum filter_verdict filter_no_leaf(__u32 slot)
{
	struct vg_filter_type *ft = filter_get(slot);

	return !ft || (ft->criteria & VG_FC_PATH) ? FILTER_NEED_PATH : FILTER_MATCHED;
}

struct name_scan {
	__u32 off; /* first byte of the name in the scratch record */
	__u32 len; /* its length */
	bool dir;  /* a '/' was seen */
};

static long name_scan_step(__u32 i, void *ctx)
{
	struct name_scan *d = ctx;
	char *ev = scratch_get();

	if (!ev || i >= d->len)
		return 1;
	if (ev[(d->off + i) & EV_OFF_MASK] == '/') {
		d->dir = true;
		return 1;
	}
	return 0;
}

/*
 * Whether the path joined from a base directory and the name the caller gave
 * (the raw string at off, len bytes in the scratch record) is not for the kernel
 * to judge. User space folds "//", "." and ".." and a trailing '/', and resolves
 * the name's directories through symlinks, so the path the rules see may differ
 * from the joined string whenever the name has a '/' (an absolute name, or
 * directories) or starts with '.' ("." or ".." alone, or a hidden file: more than
 * needed, never less); an empty name (AT_EMPTY_PATH on the cwd) leaves a trailing
 * '/'. Otherwise the joined path is a resolved directory and a plain name, which
 * user space leaves as it is. src/events/event.c (event_name_undecided) is the
 * user-space twin; the two must agree.
 */
static __always_inline bool filter_name_undecided(__u32 off, __u32 len)
{
	struct name_scan d = {.off = off, .len = len};
	char *ev = scratch_get();

	if (!ev || !off || !len || ev[off & EV_OFF_MASK] == '.')
		return true;
	bpf_loop(VG_PATH_MAX, name_scan_step, &d, 0);
	return d.dir;
}

#endif /* VIGIL_FILTER_BPF_H */
