/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * cgroup.h - cgroup v2 helpers: where the hierarchy is mounted, a process's v2
 * path (the tail the exec sensor sends is the end of it), and the two ways between
 * a cgroup's id and its path (the id is the inode of the cgroup's directory; the
 * kernel opens a directory by id as a kernfs file handle). Safe from any thread.
 */
#ifndef VIGIL_CGROUP_H
#define VIGIL_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where the cgroup v2 hierarchy is mounted, from procfs/self/mountinfo; "" if nowhere. */
void cgroup2_mount(const char *procfs, char *out, size_t cap);

/* The v2 path of pid ("/user.slice/..."), from procfs/PID/cgroup's "0::" line. 0 or -errno. */
int cgroup_v2_path(const char *procfs, uint32_t pid, char *out, size_t cap);

/* path (a v2 path as above) -> id, below the v2 mount cg2. 0 or -errno. */
int cgroup_path_id(const char *cg2, const char *path, uint64_t *id);

/*
 * id -> path below the v2 mount ("/machine.slice/libpod-..."; "/" for the root).
 * Needs CAP_DAC_READ_SEARCH (open_by_handle_at). 0 or -errno (-ESTALE: no such cgroup).
 */
int cgroup_id_path(uint64_t id, char *out, size_t cap);

/* Whether cgroup id was removed (its id opens no directory any more; root only). */
bool cgroup_id_gone(uint64_t id);

/*
 * When the cgroup v2 node id was made (its directory's ctime, ns since the epoch):
 * for a container, when its runtime created it. Needs root. 0 or -errno.
 */
int cgroup_birth_ns(uint64_t id, uint64_t *ns);

/*
 * Visits every cgroup under the v2 mount cg2, parents before children, up to 32 deep:
 * fn gets its path below the mount ("" for the root, "/a/b" below), its id and the
 * value fn returned for its parent (0 for the root) and returns the value its
 * children get. 0, or -errno when cg2 cannot be read.
 */
typedef uint64_t (*cgroup_visit_fn)(void *arg, const char *path, uint64_t id, uint64_t parent);
int cgroup_walk(const char *cg2, cgroup_visit_fn fn, void *arg);

#endif /* VIGIL_CGROUP_H */
