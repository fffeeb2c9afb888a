/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * proctable.h - what vigil knows about each live process: seeded from /proc at
 * start, then kept current by exec, fork and exit events. Bounded: exited entries
 * linger for a while for late events, then are evicted; when the table is full the
 * oldest exited entry makes room, and failing that the live entry no event named
 * for longest: a new process is always tracked, and both evictions are counted.
 * Owned by the event loop thread: no locking. A process's container identity is
 * derived once per cgroup id, in the container table it holds; a process the table
 * does not know is attributed by its record's cgroup id (proctable__container).
 */
#ifndef VIGIL_PROCTABLE_H
#define VIGIL_PROCTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/events.h"
#include "state/container.h"
#include "state/containers.h"

#define PROC_ANCESTRY_MAX 16

enum proc_flags {
	PROC_F_FROM_PROCFS = 1u << 0, /* seeded from /proc: start_ns has tick resolution */
	PROC_F_EXE_MEMFD = 1u << 1,   /* image came from a memfd */
	PROC_F_EXE_DELETED = 1u << 2, /* image file was deleted */
	PROC_F_EXITED = 1u << 3,      /* exit seen; entry lingers until evicted */
	PROC_F_EXECED = 1u << 4,      /* an exec was seen (else inherited from the parent) */
	PROC_F_EXE_UPPER =
	    1u << 5,		 /* exe is in an overlayfs upper layer (written in the container) */
	PROC_F_COMPAT = 1u << 6, /* the image is 32-bit x86 (ia32) */
};

/* The last writer vigil saw of a process's exe inode (from the exec record). */
struct proc_writer {
	uint32_t pid;		/* the writer's thread group id */
	uint32_t tid;		/* the writing thread */
	uint32_t uid;		/* its real uid */
	uint32_t flags;		/* VG_WF_* */
	uint64_t start_ns;	/* its start (CLOCK_BOOTTIME) */
	uint64_t ts_ns;		/* when it opened the file for writing (CLOCK_BOOTTIME) */
	char comm[VG_COMM_LEN]; /* its comm then */
	char *exe;		/* its exe path, from the table at the exec; "" unknown */
};

struct proc_info {
	uint32_t pid;			  /* thread group id */
	uint32_t ppid;			  /* parent's thread group id */
	uint64_t start_ns;		  /* CLOCK_BOOTTIME start */
	uint32_t uid, gid;		  /* real ids */
	uint32_t euid, egid;		  /* effective ids */
	uint32_t loginuid;		  /* (uint32_t)-1 when unset */
	uint32_t tty;			  /* tty_nr, 0 for none */
	uint32_t sid;			  /* session id */
	uint32_t flags;			  /* enum proc_flags */
	uint64_t cgroup_id;		  /* cgroup v2 id */
	uint64_t exe_ino;		  /* inode of the executable */
	uint64_t exe_ctime_ns;		  /* its ctime, ns since the epoch; 0 unknown */
	uint64_t exe_mtime_ns;		  /* its mtime, ns since the epoch; 0 unknown */
	uint64_t cap_eff;		  /* effective capabilities */
	uint64_t exit_ns;		  /* CLOCK_BOOTTIME of the exit, when exited */
	uint32_t exit_status;		  /* raw wait status, when exited */
	char comm[VG_COMM_LEN];		  /* comm */
	char *exe;			  /* resolved executable path, never NULL ("" unknown) */
	char *args;			  /* argv, each argument NUL-terminated; may be NULL */
	size_t args_len;		  /* bytes in args */
	char *cwd;			  /* working directory, never NULL ("" unknown) */
	struct container_ident container; /* from the cgroup path */
	uint32_t vpid;			  /* pid in its own pid namespace, 0 unknown */
	uint32_t vpgid;			  /* process group id there, 0 unknown */
	char *env;			  /* environment, NUL-separated; NULL unknown or not kept */
	size_t env_len;			  /* bytes in env */
	struct proc_writer *writer;	  /* the exe's last writer; NULL: none seen */
};

struct proctable_stats {
	size_t live;		/* entries not yet exited */
	size_t lingering;	/* exited entries not yet evicted */
	uint64_t evicted;	/* exited entries removed */
	uint64_t evicted_live;	/* live entries removed to make room for a new process */
	uint64_t dropped_full;	/* /proc entries not seeded because the table was full */
	uint64_t seeded;	/* entries read from /proc at start */
	uint64_t env_truncated; /* exec records whose environment was cut (VG_ENV_MAX) */
};

struct proctable;

/* max_entries bounds live + lingering entries; linger_ns is how long exited ones stay. */
struct proctable *proctable__new(size_t max_entries, uint64_t linger_ns);
void proctable__free(struct proctable *pt);

/* Reads every process below procfs ("/proc") (procfs.c). Returns the count added or -errno. */
int proctable__seed(struct proctable *pt, const char *procfs);

/* Updates from events; each returns the entry now describing the process, or NULL
 * when memory is short, the record is shorter than its fixed part, or
 * (exit, thread fork) the process is not in the table. size is the record's size in
 * bytes. Returned pointers stay valid until the next call that changes the table. */
struct proc_info *proctable__on_exec(struct proctable *pt, const struct vg_exec *ev, size_t size);
/*
 * An exec that was refused (VG_XF_DENIED): the process as the exec would have made
 * it, into out (released with proc_info_release), the table untouched; false when
 * the record is short.
 */
bool proctable__exec_attempt(struct proctable *pt, const struct vg_exec *ev, size_t size,
			     struct proc_info *out);
/* Frees the strings of *i (the entry's own, never a shared ""). */
void proc_info_release(struct proc_info *i);
struct proc_info *proctable__on_fork(struct proctable *pt, const struct vg_fork *ev);
struct proc_info *proctable__on_exit(struct proctable *pt, const struct vg_exit *ev);

/* The entry for pid (live or lingering), or NULL. Counts as seeing it: a live entry
 * found is the last one a full table evicts. */
struct proc_info *proctable__find(struct proctable *pt, uint32_t pid);

/*
 * The container of cgroup cgroup_id, for a process the table does not know (never
 * seen, or evicted) or that moved to another cgroup since its entry was made: from
 * the container table, else resolved to its v2 path (cgroup.h, root only) and
 * cached there; cgroup ids are never reused. NULL when it cannot be resolved (id 0,
 * no such cgroup, no privilege; not cached). Valid until the next call that
 * changes the table.
 */
const struct container_ident *proctable__container(struct proctable *pt, uint64_t cgroup_id);

/*
 * Fills out[0..max) with the parent, grandparent, ... of pid, stopping at pid 0/1's
 * parent, an unknown pid, a loop, or max. Returns how many were written. *unknown
 * (when not NULL) says whether the chain is incomplete: pid itself, or an ancestor
 * before the top, is not in the table.
 */
size_t proctable__ancestry(struct proctable *pt, uint32_t pid, const struct proc_info **out,
			   size_t max, bool *unknown);

/* Removes exited entries whose exit is older than now_ns - linger_ns. Returns count. */
size_t proctable__evict(struct proctable *pt, uint64_t now_ns);

void proctable__stats(const struct proctable *pt, struct proctable_stats *out);

/*
 * Whether entries keep their process's environment (from exec records, forks and
 * /proc): only while a rule reads proc.env, as it costs up to VG_ENV_MAX a process.
 */
void proctable__keep_env(struct proctable *pt, bool keep);

/*
 * The container table the process table resolves exec'd processes' containers
 * through (containers.h): for a worker to fill, and to look metadata up by cgroup id.
 */
struct containers *proctable__containers(struct proctable *pt);

/*
 * What makes an exe new (proc.exe_new): its inode changed (ctime or mtime) at or
 * after since_ns (CLOCK_REALTIME; the agent's start), or within age_ns before the
 * exec. A new table has since_ns 0 and age_ns PROC_NEW_EXE_AGE_NS (replays, tests).
 */
#define PROC_NEW_EXE_AGE_NS (600ull * 1000000000ull)
void proctable__set_new_exe(struct proctable *pt, uint64_t since_ns, uint64_t age_ns);

/*
 * Whether p's exe is new at now_ns (CLOCK_REALTIME, the event's time); *age_ns gets
 * how long ago its inode last changed (0 when in the future). False when the times
 * are unknown.
 */
bool proctable__exe_new(const struct proctable *pt, const struct proc_info *p, uint64_t now_ns,
			uint64_t *age_ns);

/* Calls fn for every entry, live and lingering, in no particular order. */
void proctable__foreach(struct proctable *pt, void (*fn)(void *arg, const struct proc_info *p),
			void *arg);

#endif /* VIGIL_PROCTABLE_H */
