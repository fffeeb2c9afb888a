/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * cgroup.c - cgroup v2 helpers. The v2 mount is found in mountinfo (it may be
 * /sys/fs/cgroup or, on a v1/v2 hybrid, /sys/fs/cgroup/unified); ids become
 * directories through open_by_handle_at() on that mount with the kernfs handle
 * type, whose handle is the 64-bit id itself.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state/cgroup.h"
#include "state/procfs.h"

#define FILEID_KERNFS  0xfe /* the handle type of kernfs (include/linux/exportfs.h) */
#define CGROUP_MAP_MAX 8192 /* /proc/PID/cgroup: a line per v1 hierarchy, plus 0:: */

/* Undoes the octal escapes (\040 for a space) of a mountinfo field, in place. */
static void unescape_octal(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

void cgroup2_mount(const char *procfs, char *out, size_t cap)
{
	char path[PATH_MAX], *line = NULL, *sep, *mnt, *save;
	size_t lcap = 0;
	FILE *f;

	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/self/mountinfo", procfs);
	f = fopen(path, "re");
	if (!f)
		return;
	/* "id parent maj:min root mountpoint options [optional...] - fstype source ..." */
	while (getline(&line, &lcap, f) > 0) {
		sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0)
			continue;
		mnt = strtok_r(line, " ", &save);
		for (int field = 0; mnt && field < 4; field++)
			mnt = strtok_r(NULL, " ", &save);
		if (!mnt)
			continue;
		unescape_octal(mnt);
		snprintf(out, cap, "%s", mnt);
		break;
	}
	free(line);
	fclose(f);
}

int cgroup_v2_path(const char *procfs, uint32_t pid, char *out, size_t cap)
{
	char path[PATH_MAX], buf[CGROUP_MAP_MAX], *line, *nl;
	ssize_t r;

	snprintf(path, sizeof(path), "%s/%u/cgroup", procfs, pid);
	r = procfs_read_file(path, buf, sizeof(buf));
	if (r < 0)
		return (int)r;
	for (line = buf; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (strncmp(line, "0::", 3) != 0)
			continue;
		if ((size_t)snprintf(out, cap, "%s", line + 3) >= cap)
			return -ENAMETOOLONG;
		return 0;
	}
	return -ENOENT;
}

int cgroup_path_id(const char *cg2, const char *path, uint64_t *id)
{
	char full[PATH_MAX];
	struct stat st;

	if (!cg2[0])
		return -ENOENT;
	snprintf(full, sizeof(full), "%s%s", strcmp(cg2, "/") == 0 ? "" : cg2, path);
	if (stat(full, &st))
		return -errno;
	*id = (uint64_t)st.st_ino;
	return 0;
}

static int mount_fd = -1; /* the v2 mount, opened once; -1 when there is none */
static pthread_once_t mount_once = PTHREAD_ONCE_INIT;

static void mount_open(void)
{
	char cg2[PATH_MAX];

	cgroup2_mount("/proc", cg2, sizeof(cg2));
	mount_fd = cg2[0] ? open(cg2, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
}

/* A directory fd for cgroup id, opened through the v2 mount; any thread may ask. */
static int open_id(uint64_t id)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = {.fh = {.handle_bytes = sizeof(uint64_t), .handle_type = FILEID_KERNFS}, .id = id};
	int fd;

	pthread_once(&mount_once, mount_open);
	if (mount_fd < 0)
		return -ENOENT;
	fd = open_by_handle_at(mount_fd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int cgroup_id_path(uint64_t id, char *out, size_t cap)
{
	char link[64], cg2[PATH_MAX], full[PATH_MAX];
	size_t ml;
	ssize_t n;
	int fd = open_id(id);

	if (fd < 0)
		return fd;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, full, sizeof(full) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	full[n] = '\0';
	/* the link names the directory from the root: cut the mount off */
	cgroup2_mount("/proc", cg2, sizeof(cg2));
	ml = strcmp(cg2, "/") == 0 ? 0 : strlen(cg2);
	if (strncmp(full, cg2, ml) != 0 || (full[ml] != '/' && full[ml] != '\0'))
		return -EXDEV; /* not below the mount this process sees */
	if ((size_t)snprintf(out, cap, "%s", full[ml] ? full + ml : "/") >= cap)
		return -ENAMETOOLONG;
	return 0;
}

bool cgroup_id_gone(uint64_t id)
{
	int fd = open_id(id);

	if (fd >= 0)
		close(fd);
	return fd == -ESTALE;
}

int cgroup_birth_ns(uint64_t id, uint64_t *ns)
{
	struct stat st;
	int fd = open_id(id);

	if (fd < 0)
		return fd;
	if (fstat(fd, &st)) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	*ns = st.st_ctim.tv_sec * 1000000000ull + st.st_ctim.tv_nsec;
	return 0;
}

struct walk {
	cgroup_visit_fn fn;
	void *arg;
	char path[PATH_MAX];
	size_t root; /* bytes of the mount point at the start of path */
};

static void walk_dir(struct walk *w, uint64_t parent, int depth)
{
	size_t len = strlen(w->path);
	struct dirent *d;
	struct stat st;
	uint64_t val;
	DIR *dir;

	if (depth > 32 || stat(w->path, &st))
		return;
	val = w->fn(w->arg, w->path + w->root, (uint64_t)st.st_ino, parent);
	dir = opendir(w->path);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (d->d_type != DT_DIR || d->d_name[0] == '.' ||
		    len + 1 + strlen(d->d_name) >= sizeof(w->path))
			continue;
		snprintf(w->path + len, sizeof(w->path) - len, "/%s", d->d_name);
		walk_dir(w, val, depth + 1);
		w->path[len] = 0;
	}
	closedir(dir);
}

int cgroup_walk(const char *cg2, cgroup_visit_fn fn, void *arg)
{
	struct walk w = {.fn = fn, .arg = arg};

	if (!cg2 || !cg2[0] || strlen(cg2) >= sizeof(w.path))
		return -ENOENT;
	if (access(cg2, R_OK))
		return -errno;
	/* "/" as the mount: paths below it start with their own '/' */
	snprintf(w.path, sizeof(w.path), "%s", strcmp(cg2, "/") ? cg2 : "");
	w.root = strlen(w.path);
	if (!w.root)
		snprintf(w.path, sizeof(w.path), "/");
	walk_dir(&w, 0, 0);
	return 0;
}
