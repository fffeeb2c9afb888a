// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * resolve.c - the part of a file event's path the kernel cannot resolve at
 * syscall exit: for a call that names its object (unlink, rename, chmod, a
 * failed open, ...) the kernel joins its resolved base directory with the name
 * as given, and a directory inside the name may be a symlink (/tmp/x/syslog with
 * /tmp/x -> /var/log). Live, user space resolves that directory now, inside the
 * process's root, and the rules see the real path. What was renamed or removed
 * between the call and this lookup is a race this cannot close (docs/EVENTS.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "event.h"
#include "state/proctable.h"

/* Whether the process pid shares vigil's mount namespace (its container says so once
 * it has exited). */
static bool same_mount_ns(const struct event *ev)
{
	static dev_t own_dev;
	static ino_t own_ino;
	char proc[64];
	struct stat st;

	if (!own_ino) {
		if (stat("/proc/self/ns/mnt", &st))
			return false;
		own_dev = st.st_dev;
		own_ino = st.st_ino;
	}
	snprintf(proc, sizeof(proc), "/proc/%u/ns/mnt", ev->hdr->pid);
	if (!stat(proc, &st))
		return st.st_dev == own_dev && st.st_ino == own_ino;
	return event_container(ev)->runtime == CONTAINER_HOST;
}

/*
 * Resolves directory dir (len bytes, absolute inside the root) in root (an O_PATH
 * fd) into out: the directory's path in vigil's view of that mount namespace.
 * Returns its length, or 0 when it cannot be resolved.
 */
static size_t resolve_in(int root, const char *dir, size_t len, char *out, size_t outlen)
{
	struct open_how how = {
	    .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	char rel[PATH_MAX + 1], link[64];
	ssize_t n;
	int fd;

	if (len >= sizeof(rel))
		return 0;
	memcpy(rel, dir, len);
	rel[len] = 0;
	fd = syscall(SYS_openat2, root, len ? rel : "/", &how, sizeof(how));
	if (fd < 0)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, out, outlen - 1);
	close(fd);
	if (n <= 0 || out[0] != '/')
		return 0;
	out[n] = 0;
	return n;
}

/*
 * Resolves the directory of one joined path, the record's string s (unfolded:
 * ".." must follow the symlinks it comes after), into buf. skip is the length of
 * the chrooted task's root at the start of s (0 when not chrooted). Returns the new
 * path's length, 0 when it stays as folded.
 */
static size_t resolve_one(const struct event *ev, struct vg_str s, uint16_t skip, char *buf)
{
	char dir[PATH_MAX + 1], rootpath[PATH_MAX + 1];
	const char *p, *slash, *leaf;
	size_t n, d, leaflen;
	int root;

	p = event_str(ev->hdr, ev->size, s, &n);
	if (!p || !n || p[0] != '/')
		return 0;
	while (n > 1 && p[n - 1] == '/')
		n--;
	slash = memrchr(p, '/', n);
	leaf = slash + 1;
	leaflen = n - (leaf - p);
	if (!leaflen || (leaflen == 1 && leaf[0] == '.') ||
	    (leaflen == 2 && leaf[0] == '.' && leaf[1] == '.'))
		return 0; /* the object is a directory named by "." or "..": folding says it */
	if (!(ev->hdr->flags & VG_HF_CHROOT))
		skip = 0;
	else if (skip == VG_SKIP_OUTSIDE || skip > (size_t)(slash - p))
		return 0; /* outside the chroot: its namespace's root is out of reach */
	if (same_mount_ns(ev)) {
		/* the root is the chroot's directory, whose path opens the string, or "/" */
		memcpy(rootpath, skip ? p : "/", skip ? skip : 1);
		rootpath[skip ? skip : 1] = 0;
	} else {
		/* another namespace: only the process's own root reaches it */
		snprintf(rootpath, sizeof(rootpath), "/proc/%u/root", ev->hdr->pid);
	}
	root = open(rootpath, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return 0;
	/* the directory inside that root: what follows the root's own path */
	d = resolve_in(root, p + skip, slash - (p + skip), dir, sizeof(dir));
	close(root);
	if (!d)
		return 0;
	if (d + 1 + leaflen > PATH_MAX)
		return 0;
	if (d == 1)
		d = 0; /* "/" + leaf */
	memcpy(buf, dir, d);
	buf[d] = '/';
	memcpy(buf + d + 1, leaf, leaflen);
	buf[d + 1 + leaflen] = 0;
	return d + 1 + leaflen;
}

void event_resolve_dirs(struct event *ev)
{
	const struct vg_file *f = (const struct vg_file *)ev->hdr;
	char buf[PATH_MAX + 1];
	const char *raw;
	size_t n, rn;

	if (ev->kind->domain != EVENT_DOM_FILE || (f->hdr.flags & VG_FL_PSEUDO))
		return;
	raw = event_str(ev->hdr, ev->size, f->raw, &rn);
	if ((f->hdr.flags & VG_FL_PATH_JOINED) && raw && memchr(raw, '/', rn) && ev->path.ptr) {
		n = resolve_one(ev, f->path, f->path_skip, buf);
		if (n && (n != ev->path.len || memcmp(buf, ev->path.ptr, n))) {
			memcpy(ev->buf[0], buf, n + 1);
			ev->path = (struct event_path){ev->buf[0], n};
			ev->resolved |= EVENT_RESOLVED_PATH;
			if (ev->chroot_path.ptr) {
				/* the root's path opens the record's path; RESOLVE_IN_ROOT
				 * kept the result below it */
				size_t k = f->path_skip, pn;
				const char *p = event_str(ev->hdr, ev->size, f->path, &pn);

				if (p && n > k && pn >= k && !memcmp(buf, p, k) && buf[k] == '/') {
					memcpy(ev->buf[2], buf + k, n - k + 1);
					ev->chroot_path = (struct event_path){ev->buf[2], n - k};
				}
			}
		}
	}
	raw = event_str(ev->hdr, ev->size, f->raw2, &rn);
	if ((f->hdr.flags & VG_FL_PATH2_JOINED) && raw && memchr(raw, '/', rn) && ev->path2.ptr) {
		n = resolve_one(ev, f->path2, 0, buf);
		if (n && (n != ev->path2.len || memcmp(buf, ev->path2.ptr, n))) {
			memcpy(ev->buf[1], buf, n + 1);
			ev->path2 = (struct event_path){ev->buf[1], n};
			ev->resolved |= EVENT_RESOLVED_PATH2;
		}
	}
}
