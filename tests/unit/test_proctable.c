/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * test_proctable.c - unit tests for the process table: seeding from the real /proc
 * and from a fake procfs with hostile contents, exec/fork/exit records built as
 * bytes the way the sensors write them, pid reuse, lingering and eviction, the full
 * table, ancestry and malformed string offsets. Run under valgrind for leaks.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state/proctable.h"

#define ID  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SEC 1000000000ull

/* ---- records as the sensors write them ---- */

struct rec {
	union {
		struct vg_exec ev;	       /* the fixed part */
		unsigned char b[VG_EVENT_MAX]; /* fixed part and string tail */
	};
	size_t size; /* bytes used */
};

static struct vg_str rec_str(struct rec *r, const char *s, size_t n)
{
	struct vg_str v = {.off = (__u16)r->size, .len = (__u16)n};

	memcpy(r->b + r->size, s, n);
	r->b[r->size + n] = '\0';
	r->size += n + 1;
	return v;
}

/* A header as the sensors fill it; the ids are the caller's to set. */
static void hdr_init(struct vg_hdr *h, enum vg_type type, size_t size, uint32_t pid, uint64_t start,
		     uint64_t ts)
{
	h->type = type;
	h->size = (__u16)size;
	h->ts_ns = ts;
	h->start_ns = start;
	h->pid = pid;
	h->tid = pid;
	h->loginuid = (uint32_t)-1;
}

static void rec_init(struct rec *r, uint32_t pid, uint32_t ppid, uint64_t start)
{
	memset(r, 0, sizeof(*r));
	r->size = sizeof(struct vg_exec);
	hdr_init(&r->ev.hdr, VG_EV_EXEC, r->size, pid, start, start + 10);
	r->ev.hdr.ppid = ppid;
	r->ev.hdr.uid = 1000;
	r->ev.hdr.gid = 1001;
	r->ev.hdr.euid = 0;
	r->ev.hdr.egid = 1002;
	r->ev.hdr.loginuid = 1000;
	r->ev.hdr.cgroup_id = 777;
	strcpy(r->ev.hdr.comm, "sh");
	r->ev.cap_eff = 0x3f;
	r->ev.exe_ino = 4242;
	r->ev.tty = 34816;
	r->ev.sid = pid;
}

static struct proc_info *exec_full(struct proctable *pt, uint32_t pid, uint32_t ppid,
				   uint64_t start, const char *exe)
{
	struct rec r;

	rec_init(&r, pid, ppid, start);
	r.ev.exe = rec_str(&r, exe, strlen(exe));
	r.ev.args = rec_str(&r, "sh\0-c\0echo hi", 13);
	r.ev.cwd = rec_str(&r, "/tmp", 4);
	r.ev.cgroup = rec_str(&r, "machine.slice/libpod-" ID ".scope/container",
			      strlen("machine.slice/libpod-" ID ".scope/container"));
	return proctable__on_exec(pt, &r.ev, r.size);
}

static struct proc_info *exec_simple(struct proctable *pt, uint32_t pid, uint32_t ppid,
				     uint64_t start)
{
	return exec_full(pt, pid, ppid, start, "/bin/sh");
}

static struct proc_info *fork_ev(struct proctable *pt, uint32_t parent, uint64_t parent_start,
				 uint32_t child, uint64_t child_start, uint32_t flags)
{
	struct vg_fork f;

	memset(&f, 0, sizeof(f));
	hdr_init(&f.hdr, VG_EV_FORK, sizeof(f), parent, parent_start, child_start);
	f.hdr.flags = flags;
	f.hdr.uid = 5;
	f.hdr.gid = 6;
	f.hdr.euid = 7;
	f.hdr.egid = 8;
	f.hdr.loginuid = 9;
	f.hdr.cgroup_id = 777; /* the parent's, as exec_full wrote it: it has not moved */
	strcpy(f.hdr.comm, "forker");
	f.child_pid = child;
	f.child_tid = child;
	f.child_start_ns = child_start;
	return proctable__on_fork(pt, &f);
}

static struct proc_info *exit_ev(struct proctable *pt, uint32_t pid, uint64_t start, uint64_t ts,
				 uint32_t status)
{
	struct vg_exit x;

	memset(&x, 0, sizeof(x));
	hdr_init(&x.hdr, VG_EV_EXIT, sizeof(x), pid, start, ts);
	x.status = status;
	return proctable__on_exit(pt, &x);
}

static struct proctable_stats stats(struct proctable *pt)
{
	struct proctable_stats s;

	proctable__stats(pt, &s);
	return s;
}

static struct proctable *pt;

static void pt_setup(void)
{
	pt = proctable__new(1024, 100);
	cr_assert_not_null(pt);
}

static void pt_teardown(void)
{
	proctable__free(pt);
}

TestSuite(proctable, .init = pt_setup, .fini = pt_teardown);

Test(proctable, new_rejects_zero)
{
	errno = 0;
	cr_assert_null(proctable__new(0, 1));
	cr_assert_eq(errno, EINVAL);
	proctable__free(NULL);
}

Test(proctable, exec_creates_entry)
{
	struct rec r;
	struct proc_info *p;

	rec_init(&r, 10, 1, 1000);
	r.ev.hdr.flags = VG_XF_EXE_MEMFD | VG_XF_EXE_DELETED | VG_XF_ARGS_TRUNC;
	r.ev.exe = rec_str(&r, "/memfd:x", 8);
	r.ev.filename = rec_str(&r, "/proc/self/fd/3", 15);
	r.ev.args = rec_str(&r, "a\0\0b", 4); /* an empty argument in the middle */
	r.ev.cwd = rec_str(&r, "/root", 5);
	r.ev.cgroup =
	    rec_str(&r,
		    "kubepods-besteffort-pod8f1d2c3b_4a5e_6f70_8192_a3b4c5d6e7f8.slice/"
		    "cri-containerd-" ID ".scope",
		    strlen("kubepods-besteffort-pod8f1d2c3b_4a5e_6f70_8192_a3b4c5d6e7f8.slice/"
			   "cri-containerd-" ID ".scope"));
	p = proctable__on_exec(pt, &r.ev, r.size);
	cr_assert_not_null(p);
	cr_assert_eq(p, proctable__find(pt, 10));
	cr_assert_eq(p->pid, 10);
	cr_assert_eq(p->ppid, 1);
	cr_assert_eq(p->start_ns, 1000);
	cr_assert_eq(p->uid, 1000);
	cr_assert_eq(p->gid, 1001);
	cr_assert_eq(p->euid, 0);
	cr_assert_eq(p->egid, 1002);
	cr_assert_eq(p->loginuid, 1000);
	cr_assert_eq(p->tty, 34816);
	cr_assert_eq(p->sid, 10);
	cr_assert_eq(p->cgroup_id, 777);
	cr_assert_eq(p->exe_ino, 4242);
	cr_assert_eq(p->cap_eff, 0x3f);
	cr_assert_str_eq(p->comm, "sh");
	cr_assert_str_eq(p->exe, "/memfd:x");
	cr_assert_str_eq(p->cwd, "/root");
	cr_assert_eq(p->args_len, 4);
	cr_assert(memcmp(p->args, "a\0\0b", 4) == 0);
	cr_assert_eq(p->flags, PROC_F_EXECED | PROC_F_EXE_MEMFD | PROC_F_EXE_DELETED);
	cr_assert_eq(p->container.runtime, CONTAINER_CONTAINERD);
	cr_assert_str_eq(p->container.id, ID);
	cr_assert_str_eq(p->container.pod_uid, "8f1d2c3b-4a5e-6f70-8192-a3b4c5d6e7f8");
	cr_assert_eq(stats(pt).live, 1);
}

Test(proctable, exec_without_strings)
{
	struct rec r;
	struct proc_info *p;

	rec_init(&r, 10, 1, 1000);
	memcpy(r.ev.hdr.comm, "0123456789abcdefXXXX", VG_COMM_LEN); /* no NUL from the sensor */
	p = proctable__on_exec(pt, &r.ev, r.size);
	cr_assert_not_null(p);
	cr_assert_str_eq(p->exe, "");
	cr_assert_str_eq(p->cwd, "");
	cr_assert_null(p->args);
	cr_assert_eq(p->args_len, 0);
	cr_assert_eq(p->container.runtime, CONTAINER_HOST);
	cr_assert_str_eq(p->container.short_id, "host");
	cr_assert_str_eq(p->comm, "0123456789abcde");
}

Test(proctable, exec_falls_back_to_filename)
{
	struct rec r;
	struct proc_info *p;

	rec_init(&r, 10, 1, 1000);
	r.ev.filename = rec_str(&r, "./run.sh", 8);
	p = proctable__on_exec(pt, &r.ev, r.size);
	cr_assert_str_eq(p->exe, "./run.sh");
}

Test(proctable, exec_again_updates_in_place)
{
	struct proc_info *a = exec_simple(pt, 10, 1, 1000), *b;

	b = exec_full(pt, 10, 1, 1000, "/usr/bin/python3");
	cr_assert_eq(a, b);
	cr_assert_str_eq(b->exe, "/usr/bin/python3");
	cr_assert_eq(stats(pt).live, 1);
	cr_assert_eq(stats(pt).evicted, 0);
}

Test(proctable, exec_without_cgroup_keeps_container)
{
	struct rec r;
	struct proc_info *p = exec_simple(pt, 10, 1, 1000);

	cr_assert_eq(p->container.runtime, CONTAINER_PODMAN);
	rec_init(&r, 10, 1, 1000);
	p = proctable__on_exec(pt, &r.ev, r.size);
	cr_assert_eq(p->container.runtime, CONTAINER_PODMAN);
	cr_assert_str_eq(p->container.id, ID);
	/* a new process under the same pid inherits nothing from the old one; its
	 * record's cgroup id (777) is the one the container was seen in */
	rec_init(&r, 10, 1, 2000);
	p = proctable__on_exec(pt, &r.ev, r.size);
	cr_assert_eq(p->container.runtime, CONTAINER_PODMAN);
	/* with no cgroup id either it starts on the host */
	rec_init(&r, 10, 1, 3000);
	r.ev.hdr.cgroup_id = 0;
	p = proctable__on_exec(pt, &r.ev, r.size);
	cr_assert_eq(p->container.runtime, CONTAINER_HOST);
}

Test(proctable, malformed_offsets_rejected)
{
	struct rec r;
	struct proc_info *p;
	unsigned char *exact;

	rec_init(&r, 10, 1, 1000);
	r.ev.exe = rec_str(&r, "/bin/ok", 7);
	r.ev.args = (struct vg_str){.off = (__u16)r.size, .len = 10}; /* runs past the end */
	r.ev.cwd = (struct vg_str){.off = offsetof(struct vg_hdr, comm), .len = 2}; /* the header */
	r.ev.cgroup = (struct vg_str){.off = 60000, .len = 60000}; /* far outside */
	r.ev.filename = (struct vg_str){.off = (__u16)r.size, .len = 0};
	/* an exactly sized heap copy: any read past it shows under valgrind */
	exact = malloc(r.size);
	memcpy(exact, r.b, r.size);
	p = proctable__on_exec(pt, (const struct vg_exec *)exact, r.size);
	cr_assert_not_null(p);
	cr_assert_str_eq(p->exe, "/bin/ok");
	cr_assert_null(p->args);
	cr_assert_str_eq(p->cwd, "");
	cr_assert_eq(p->container.runtime, CONTAINER_HOST);
	/* a record shorter than its fixed part is refused */
	cr_assert_null(
	    proctable__on_exec(pt, (const struct vg_exec *)exact, sizeof(struct vg_exec) - 1));
	free(exact);
}

Test(proctable, random_offsets_never_crash)
{
	struct rec r;
	struct vg_str *strs[] = {&r.ev.exe, &r.ev.filename, &r.ev.args, &r.ev.cwd, &r.ev.cgroup};
	uint32_t x = 1;
	unsigned char *exact;

	for (int iter = 0; iter < 2000; iter++) {
		rec_init(&r, 10 + iter % 7, 1, 1000 + iter);
		rec_str(&r, "some/tail/bytes/libpod-" ID ".scope", 23 + 64 + 6);
		for (size_t k = 0; k < sizeof(strs) / sizeof(strs[0]); k++) {
			x = x * 1103515245u + 12345u;
			strs[k]->off = (__u16)((x >> 8) % (r.size + 16));
			x = x * 1103515245u + 12345u;
			strs[k]->len = (__u16)((x >> 8) % 128);
		}
		exact = malloc(r.size);
		memcpy(exact, r.b, r.size);
		cr_assert_not_null(proctable__on_exec(pt, (const struct vg_exec *)exact, r.size));
		free(exact);
	}
	cr_assert_eq(stats(pt).live, 7);
}

Test(proctable, fork_inherits_from_parent)
{
	struct proc_info *p = exec_simple(pt, 10, 1, 1000), *c;

	c = fork_ev(pt, 10, 1000, 11, 2000, 0);
	cr_assert_not_null(c);
	cr_assert_eq(c, proctable__find(pt, 11));
	p = proctable__find(pt, 10);
	cr_assert_eq(c->pid, 11);
	cr_assert_eq(c->ppid, 10);
	cr_assert_eq(c->start_ns, 2000);
	cr_assert_str_eq(c->exe, "/bin/sh");
	cr_assert_neq(c->exe, p->exe); /* owned copies */
	cr_assert_str_eq(c->cwd, "/tmp");
	cr_assert_eq(c->args_len, 13);
	cr_assert_neq(c->args, p->args);
	cr_assert(memcmp(c->args, "sh\0-c\0echo hi", 13) == 0);
	cr_assert_eq(c->container.runtime, CONTAINER_PODMAN);
	cr_assert_str_eq(c->container.id, ID);
	cr_assert_eq(c->tty, 34816);
	cr_assert_eq(c->sid, 10);
	cr_assert_eq(c->cap_eff, 0x3f);
	cr_assert_eq(c->exe_ino, 4242);
	/* the header is the parent as it is now */
	cr_assert_eq(c->uid, 5);
	cr_assert_eq(c->euid, 7);
	cr_assert_eq(c->loginuid, 9);
	cr_assert_eq(c->cgroup_id, 777);
	cr_assert_str_eq(c->comm, "forker");
	cr_assert_eq(c->flags & PROC_F_EXECED, 0);
	cr_assert_eq(stats(pt).live, 2);
}

/* the exec record's compat flag is the new image's ABI: children inherit it, an exec resets it */
Test(proctable, compat_image_from_exec_and_fork)
{
	struct rec r;
	struct proc_info *p, *c;

	rec_init(&r, 10, 1, 1000);
	r.ev.hdr.flags = VG_HF_COMPAT;
	p = proctable__on_exec(pt, &r.ev, r.size);
	cr_assert_not_null(p);
	cr_assert(p->flags & PROC_F_COMPAT);
	c = fork_ev(pt, 10, 1000, 11, 2000, 0);
	cr_assert_not_null(c);
	cr_assert(c->flags & PROC_F_COMPAT);
	rec_init(&r, 11, 10, 2000);
	c = proctable__on_exec(pt, &r.ev, r.size);
	cr_assert_not_null(c);
	cr_assert_eq(c->flags & PROC_F_COMPAT, 0);
}

Test(proctable, fork_from_unknown_parent)
{
	struct proc_info *c = fork_ev(pt, 50, 100, 51, 200, 0);

	cr_assert_not_null(c);
	cr_assert_eq(c->ppid, 50);
	cr_assert_str_eq(c->exe, "");
	cr_assert_str_eq(c->cwd, "");
	cr_assert_null(c->args);
	cr_assert_str_eq(c->comm, "forker");
	cr_assert_eq(c->uid, 5);
	cr_assert_eq(c->cgroup_id, 777);
	cr_assert_eq(c->container.runtime, CONTAINER_HOST);
}

Test(proctable, fork_from_stale_parent_does_not_inherit)
{
	exec_simple(pt, 10, 1, 1000);
	/* the forking pid 10 started at 5000: the entry is an older process */
	struct proc_info *c = fork_ev(pt, 10, 5000, 11, 6000, 0);

	cr_assert_str_eq(c->exe, "");
	/* placed by its record's cgroup id, which exec_simple showed to be the container's */
	cr_assert_eq(c->container.runtime, CONTAINER_PODMAN);
}

Test(proctable, thread_fork_adds_nothing)
{
	struct proc_info *p = exec_simple(pt, 10, 1, 1000);

	cr_assert_eq(fork_ev(pt, 10, 1000, 10, 1000, VG_FF_THREAD), p);
	cr_assert_eq(fork_ev(pt, 10, 1000, 12, 1000, VG_FF_THREAD), p);
	cr_assert_null(proctable__find(pt, 12));
	cr_assert_null(fork_ev(pt, 77, 1000, 78, 1000, VG_FF_THREAD));
	cr_assert_eq(stats(pt).live, 1);
}

Test(proctable, exit_lingers)
{
	struct proc_info *p;

	exec_simple(pt, 10, 1, 1000);
	p = exit_ev(pt, 10, 1000, 5000, 9);
	cr_assert_not_null(p);
	cr_assert(p->flags & PROC_F_EXITED);
	cr_assert_eq(p->exit_ns, 5000);
	cr_assert_eq(p->exit_status, 9);
	cr_assert_eq(proctable__find(pt, 10), p);
	cr_assert_eq(stats(pt).live, 0);
	cr_assert_eq(stats(pt).lingering, 1);
	/* a repeated exit changes nothing */
	cr_assert_eq(exit_ev(pt, 10, 1000, 6000, 0), p);
	cr_assert_eq(p->exit_ns, 5000);
	cr_assert_eq(stats(pt).lingering, 1);
	cr_assert_null(exit_ev(pt, 99, 1, 1, 0));
}

Test(proctable, exit_of_other_process_removes_stale)
{
	exec_simple(pt, 10, 1, 1000);
	cr_assert_null(exit_ev(pt, 10, 3000, 4000, 0));
	cr_assert_null(proctable__find(pt, 10));
	cr_assert_eq(stats(pt).live, 0);
}

Test(proctable, pid_reuse_after_exit)
{
	struct proc_info *p;

	exec_simple(pt, 10, 1, 1000);
	exit_ev(pt, 10, 1000, 2000, 0);
	p = exec_full(pt, 10, 1, 3000, "/bin/new");
	cr_assert_not_null(p);
	cr_assert_str_eq(p->exe, "/bin/new");
	cr_assert_eq(p->start_ns, 3000);
	cr_assert_eq(p->flags & PROC_F_EXITED, 0);
	cr_assert_eq(p->exit_ns, 0);
	cr_assert_eq(stats(pt).live, 1);
	cr_assert_eq(stats(pt).lingering, 0);
	cr_assert_eq(stats(pt).evicted, 1);
}

Test(proctable, pid_reuse_without_exit)
{
	struct proc_info *p;

	exec_simple(pt, 10, 1, 1000);
	p = exec_full(pt, 10, 2, 9000, "/bin/other"); /* we missed the exit */
	cr_assert_eq(p->start_ns, 9000);
	cr_assert_eq(p->ppid, 2);
	cr_assert_str_eq(p->exe, "/bin/other");
	cr_assert_eq(stats(pt).live, 1);
	/* and for fork: a new child with a stale entry under its pid */
	exec_simple(pt, 20, 1, 1000);
	exit_ev(pt, 20, 1000, 1500, 0);
	p = fork_ev(pt, 10, 9000, 20, 9500, 0);
	cr_assert_eq(p->start_ns, 9500);
	cr_assert_eq(p->flags & PROC_F_EXITED, 0);
	cr_assert_str_eq(p->exe, "/bin/other");
	cr_assert_eq(stats(pt).lingering, 0);
}

Test(proctable, evict_after_linger)
{
	/* linger is 100 ns; exits arrive out of order */
	exec_simple(pt, 10, 1, 1);
	exec_simple(pt, 11, 1, 1);
	exec_simple(pt, 12, 1, 1);
	exec_simple(pt, 13, 1, 1);
	exit_ev(pt, 10, 1, 1000, 0);
	exit_ev(pt, 11, 1, 1050, 0);
	exit_ev(pt, 12, 1, 1020, 0);
	cr_assert_eq(proctable__evict(pt, 500), 0);
	cr_assert_eq(proctable__evict(pt, 1099), 0);
	cr_assert_eq(proctable__evict(pt, 1100), 1);
	cr_assert_null(proctable__find(pt, 10));
	cr_assert_eq(proctable__evict(pt, 1120), 1);
	cr_assert_null(proctable__find(pt, 12));
	cr_assert_not_null(proctable__find(pt, 11));
	cr_assert_eq(proctable__evict(pt, 1000000), 1);
	cr_assert_null(proctable__find(pt, 11));
	cr_assert_not_null(proctable__find(pt, 13)); /* live entries stay */
	cr_assert_eq(stats(pt).evicted, 3);
	cr_assert_eq(stats(pt).lingering, 0);
	cr_assert_eq(stats(pt).live, 1);
}

Test(proctable, full_table)
{
	struct proctable *small = proctable__new(3, 1000);

	cr_assert_not_null(exec_simple(small, 1, 0, 1));
	cr_assert_not_null(exec_simple(small, 2, 1, 1));
	cr_assert_not_null(exec_simple(small, 3, 1, 1));
	/* nothing has exited: the live entry seen least recently (1) makes room */
	cr_assert_not_null(exec_simple(small, 4, 1, 1));
	cr_assert_not_null(proctable__find(small, 4));
	cr_assert_null(proctable__find(small, 1));
	cr_assert_eq(stats(small).evicted_live, 1);
	/* an event naming 2 makes 3 the least recently seen; a fork still gets in */
	cr_assert_not_null(proctable__find(small, 2));
	cr_assert_not_null(fork_ev(small, 4, 1, 5, 2, 0));
	cr_assert_null(proctable__find(small, 3));
	cr_assert_str_eq(proctable__find(small, 5)->exe, "/bin/sh", "the parent survived");
	cr_assert_eq(stats(small).evicted_live, 2);
	/* an exec updates what the table has, and counts as seeing it */
	cr_assert_not_null(exec_full(small, 2, 1, 1, "/bin/x"));
	cr_assert_eq(stats(small).live, 3);
	/* an exited entry makes room before any live one, the earliest exit first */
	exit_ev(small, 5, 2, 700, 0);
	exit_ev(small, 2, 1, 500, 0);
	cr_assert_not_null(exec_simple(small, 6, 1, 1));
	cr_assert_null(proctable__find(small, 2));
	cr_assert_not_null(proctable__find(small, 5));
	cr_assert_not_null(proctable__find(small, 4));
	cr_assert_not_null(fork_ev(small, 6, 1, 7, 3, 0));
	cr_assert_null(proctable__find(small, 5));
	cr_assert_eq(stats(small).evicted, 2);
	cr_assert_eq(stats(small).evicted_live, 2);
	/* live again: 6 is the one seen least recently (4 was found after it) */
	cr_assert_not_null(exec_simple(small, 8, 1, 1));
	cr_assert_null(proctable__find(small, 6));
	cr_assert_not_null(proctable__find(small, 4));
	cr_assert_eq(stats(small).evicted_live, 3);
	cr_assert_eq(stats(small).live, 3);
	cr_assert_eq(stats(small).dropped_full, 0, "events never drop a process");
	proctable__free(small);
}

Test(proctable, tiny_table_under_churn_tracks_every_new_process)
{
	struct proctable *tiny = proctable__new(4, 1000);
	uint64_t live_evictions = 0;

	for (uint32_t pid = 100; pid < 1100; pid++) {
		cr_assert_not_null(fork_ev(tiny, 1, 0, pid, pid, 0));
		cr_assert_not_null(exec_simple(tiny, pid, 1, pid));
		cr_assert_eq(proctable__find(tiny, pid)->pid, pid);
		if (pid % 3 == 0)
			exit_ev(tiny, pid, pid, 2000 + pid, 0);
		cr_assert_leq(stats(tiny).live + stats(tiny).lingering, 4);
	}
	live_evictions = stats(tiny).evicted_live;
	cr_assert_gt(live_evictions, 0);
	cr_assert_gt(stats(tiny).evicted, 0);
	cr_assert_eq(stats(tiny).evicted + live_evictions + stats(tiny).live +
			 stats(tiny).lingering,
		     1000, "every process tracked is still held or counted as evicted");
	proctable__free(tiny);
}

Test(proctable, ancestry_says_when_a_parent_is_unknown)
{
	const struct proc_info *out[PROC_ANCESTRY_MAX];
	bool unknown = false;

	/* 1 <- 10 <- 20: complete up to init */
	exec_simple(pt, 1, 0, 1);
	exec_simple(pt, 10, 1, 2);
	exec_simple(pt, 20, 10, 3);
	cr_assert_eq(proctable__ancestry(pt, 20, out, PROC_ANCESTRY_MAX, &unknown), 2);
	cr_assert_not(unknown);
	/* complete even when fewer are asked for than there are */
	unknown = true;
	cr_assert_eq(proctable__ancestry(pt, 20, out, 1, &unknown), 1);
	cr_assert_not(unknown);
	/* 40's parent 30 was never seen */
	exec_simple(pt, 40, 30, 5);
	cr_assert_eq(proctable__ancestry(pt, 40, out, PROC_ANCESTRY_MAX, &unknown), 0);
	cr_assert(unknown);
	/* 50 <- 40 <- (30 unknown): the gap is found past what is asked for too */
	exec_simple(pt, 50, 40, 6);
	cr_assert_eq(proctable__ancestry(pt, 50, out, 1, &unknown), 1);
	cr_assert(unknown);
	cr_assert_eq(proctable__ancestry(pt, 50, out, 0, &unknown), 0);
	cr_assert(unknown);
	/* a parent whose pid a later process reused is not the parent */
	exec_simple(pt, 60, 0, 1);
	exec_simple(pt, 61, 60, 10);
	exec_simple(pt, 60, 0, 20);
	cr_assert_eq(proctable__ancestry(pt, 61, out, PROC_ANCESTRY_MAX, &unknown), 0);
	cr_assert(unknown);
	/* a process the table does not know has no known ancestry */
	unknown = false;
	cr_assert_eq(proctable__ancestry(pt, 999, out, PROC_ANCESTRY_MAX, &unknown), 0);
	cr_assert(unknown);
}

Test(proctable, many_processes)
{
	struct proctable *big = proctable__new(20000, 10);

	exec_simple(big, 1, 0, 1);
	for (uint32_t pid = 2; pid < 15000; pid++)
		cr_assert_not_null(fork_ev(big, 1, 1, pid, pid, 0));
	cr_assert_eq(stats(big).live, 14999);
	for (uint32_t pid = 2; pid < 15000; pid++) {
		cr_assert_eq(proctable__find(big, pid)->pid, pid);
		exit_ev(big, pid, pid, 1000 + pid, 0);
	}
	cr_assert_eq(stats(big).lingering, 14998);
	cr_assert_eq(proctable__evict(big, 1000 + 15000 + 10), 14998);
	cr_assert_eq(stats(big).live, 1);
	proctable__free(big);
}

Test(proctable, ancestry_chain)
{
	const struct proc_info *out[PROC_ANCESTRY_MAX];
	size_t n;

	exec_simple(pt, 1, 0, 1);
	for (uint32_t pid = 2; pid <= 30; pid++)
		fork_ev(pt, pid - 1, pid - 1, pid, pid, 0);
	n = proctable__ancestry(pt, 5, out, PROC_ANCESTRY_MAX, NULL);
	cr_assert_eq(n, 4);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(out[i]->pid, 4 - i);
	n = proctable__ancestry(pt, 30, out, PROC_ANCESTRY_MAX, NULL);
	cr_assert_eq(n, PROC_ANCESTRY_MAX);
	cr_assert_eq(out[0]->pid, 29);
	cr_assert_eq(out[15]->pid, 14);
	cr_assert_eq(proctable__ancestry(pt, 30, out, 3, NULL), 3);
	cr_assert_eq(proctable__ancestry(pt, 30, out, 0, NULL), 0);
	cr_assert_eq(proctable__ancestry(pt, 1, out, PROC_ANCESTRY_MAX, NULL), 0);
	cr_assert_eq(proctable__ancestry(pt, 999, out, PROC_ANCESTRY_MAX, NULL), 0);
	/* an unknown link ends the chain */
	fork_ev(pt, 500, 1, 501, 2, 0);
	cr_assert_eq(proctable__ancestry(pt, 501, out, PROC_ANCESTRY_MAX, NULL), 0);
	/* exited parents still count: they linger for this */
	exit_ev(pt, 4, 4, 100, 0);
	cr_assert_eq(proctable__ancestry(pt, 5, out, PROC_ANCESTRY_MAX, NULL), 4);
}

Test(proctable, ancestry_cycles)
{
	const struct proc_info *out[PROC_ANCESTRY_MAX];

	exec_simple(pt, 10, 10, 1); /* its own parent */
	cr_assert_eq(proctable__ancestry(pt, 10, out, PROC_ANCESTRY_MAX, NULL), 0);
	exec_simple(pt, 20, 21, 1);
	exec_simple(pt, 21, 20, 1);
	cr_assert_eq(proctable__ancestry(pt, 20, out, PROC_ANCESTRY_MAX, NULL), 1);
	cr_assert_eq(out[0]->pid, 21);
	exec_simple(pt, 30, 31, 1);
	exec_simple(pt, 31, 32, 1);
	exec_simple(pt, 32, 31, 1);
	cr_assert_eq(proctable__ancestry(pt, 30, out, PROC_ANCESTRY_MAX, NULL), 2);
	cr_assert_eq(out[0]->pid, 31);
	cr_assert_eq(out[1]->pid, 32);
}

Test(proctable, ancestry_skips_reused_parent_pid)
{
	const struct proc_info *out[PROC_ANCESTRY_MAX];

	exec_simple(pt, 40, 41, 1000);
	exec_simple(pt, 41, 1, 5000); /* started after its "child": a reused pid */
	cr_assert_eq(proctable__ancestry(pt, 40, out, PROC_ANCESTRY_MAX, NULL), 0);
}

/* ---- seeding ---- */

static size_t read_bytes(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;

	cr_assert_not_null(f, "%s", path);
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

/* The cgroup v2 inode of this process, trying the usual mount points. */
static uint64_t own_cgroup_ino(void)
{
	const char *mounts[] = {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"};
	char buf[4096], path[PATH_MAX], *line;
	struct stat st;
	size_t n = read_bytes("/proc/self/cgroup", buf, sizeof(buf) - 1);

	buf[n] = '\0';
	line = strstr(buf, "0::");
	if (!line || (line != buf && line[-1] != '\n'))
		return 0;
	*strchrnul(line, '\n') = '\0';
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s%s/cgroup.controllers", mounts[i], line + 3);
		if (stat(path, &st) == 0) {
			snprintf(path, sizeof(path), "%s%s", mounts[i], line + 3);
			stat(path, &st);
			return st.st_ino;
		}
	}
	return 0;
}

Test(proctable, seed_real_proc)
{
	char exe[PATH_MAX], cwd[PATH_MAX], args[VG_ARGS_MAX + 1], comm[64];
	ssize_t n;
	size_t alen;
	struct proctable *all = proctable__new(1u << 20, 100);
	int added = proctable__seed(all, "/proc");
	struct proc_info *me = proctable__find(all, (uint32_t)getpid()), *k;

	cr_assert_gt(added, 1);
	cr_assert_eq(stats(all).seeded, (uint64_t)added);
	cr_assert_eq(stats(all).live, (size_t)added);
	cr_assert_not_null(me);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	cr_assert_gt(n, 0);
	exe[n] = '\0';
	cr_assert_str_eq(me->exe, exe);
	cr_assert_eq(me->ppid, (uint32_t)getppid());
	cr_assert_eq(me->uid, getuid());
	cr_assert_eq(me->euid, geteuid());
	cr_assert_eq(me->gid, getgid());
	cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
	cr_assert_str_eq(me->cwd, cwd);
	alen = read_bytes("/proc/self/cmdline", args, VG_ARGS_MAX);
	cr_assert_eq(me->args_len, alen);
	cr_assert(memcmp(me->args, args, alen) == 0);
	n = (ssize_t)read_bytes("/proc/self/comm", comm, sizeof(comm) - 1);
	comm[n > 0 ? n - 1 : 0] = '\0';
	cr_assert_str_eq(me->comm, comm);
	cr_assert(me->flags & PROC_F_FROM_PROCFS);
	cr_assert_gt(me->start_ns, 0);
	cr_assert_eq(me->cgroup_id, own_cgroup_ino());
	/* the kernel's pid 2 has no exe and no argv, when this namespace shows it */
	k = proctable__find(all, 2);
	if (k && readlink("/proc/2/exe", exe, sizeof(exe)) < 0 && errno == ENOENT) {
		cr_assert_str_eq(k->exe, "");
		cr_assert_null(k->args);
	}
	/* seeding again keeps what is known */
	cr_assert_geq(proctable__seed(all, "/proc"), 0);
	cr_assert_eq(proctable__find(all, (uint32_t)getpid()), me);
	cr_assert_eq(proctable__seed(all, "/nonexistent-procfs"), -ENOENT);
	proctable__free(all);
}

static char root[64];	    /* the temporary tree */
static char fake_proc[128]; /* root/proc */

static void put(const char *rel, const char *data, size_t n)
{
	char path[PATH_MAX], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (slash = strchr(path + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fwrite(data, 1, n, f);
	fclose(f);
}

static void put_str(const char *rel, const char *text)
{
	put(rel, text, strlen(text));
}

static void put_link(const char *rel, const char *target)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	cr_assert_eq(symlink(target, path), 0, "%s", path);
}

static void put_status(const char *rel, const char *uid, const char *gid, const char *cap)
{
	char text[512];

	snprintf(text, sizeof(text),
		 "Name:\tx\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t1\nPid:\t1\nPPid:\t0\n"
		 "Uid:\t%s\nGid:\t%s\nGroups:\t1 2\nCapInh:\t0000000000000000\nCapPrm:\t%s\n"
		 "CapEff:\t%s\n",
		 uid, gid, cap, cap);
	put_str(rel, text);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void fake_setup(void)
{
	pt_setup();
	strcpy(root, "/tmp/vigil-proctable-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	snprintf(fake_proc, sizeof(fake_proc), "%s/proc", root);
}

static void fake_teardown(void)
{
	pt_teardown();
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(proctable_fake, .init = fake_setup, .fini = fake_teardown);

/* A tree with a hostile comm, deleted and memfd images, a kernel thread and a leaver. */
static void make_tree(void)
{
	char text[512];

	/* the cgroup v2 mount, with a space in its path as mountinfo escapes it */
	snprintf(text, sizeof(text),
		 "22 1 0:21 / /proc rw - proc proc rw\n"
		 "40 30 0:37 / %s/c\\040g rw,relatime - cgroup2 cgroup2 rw\n",
		 root);
	put_str("proc/self/mountinfo", text);
	put_str("c g/machine.slice/libpod-" ID ".scope/container/keep", "");

	put_str("proc/100/stat", "100 (a) b (c) S 1 100 100 34816 100 4194560 0 0 0 0 0 0 0 0 "
				 "20 0 1 0 12345 1000 10 18446744073709551615 0 0 0\n");
	put_status("proc/100/status", "1000\t1001\t1000\t1000", "50\t51\t50\t50",
		   "000001ffffffffff");
	put_str("proc/100/loginuid", "1000");
	put_link("proc/100/exe", "/usr/bin/evil (deleted)");
	put_link("proc/100/cwd", "/home/u");
	put("proc/100/cmdline", "evil\0-x\0\0last\0", 15);
	put_str("proc/100/cgroup", "0::/machine.slice/libpod-" ID ".scope/container\n");

	put_str("proc/200/stat", "200 (memfd) R 100 100 100 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 "
				 "20000 0 0\n");
	put_status("proc/200/status", "0\t0\t0\t0", "0\t0\t0\t0", "0000000000000000");
	put_link("proc/200/exe", "/memfd:payload (deleted)");
	put_link("proc/200/cwd", "/");
	put("proc/200/cmdline", "x\0", 2);
	put_str("proc/200/cgroup", "0::/\n");

	put_str("proc/300/stat", "300 (kworker/0:1) I 2 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 "
				 "5 0 0\n");
	put_status("proc/300/status", "0\t0\t0\t0", "0\t0\t0\t0", "000001ffffffffff");
	put_str("proc/300/cmdline", "");
	put_str("proc/300/cgroup", "0::/\n");

	/* gone between readdir and reading its status */
	put_str("proc/400/stat", "400 (gone) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 9 0 0\n");
	/* unreadable stat */
	put_str("proc/500/stat", "500 no parens\n");
	put_str("proc/notapid/stat", "");
	put_str("proc/12abc/stat", "");
}

Test(proctable_fake, seed_fake_tree)
{
	char path[PATH_MAX];
	struct stat st;
	struct proc_info *p;
	uint64_t hz = (uint64_t)sysconf(_SC_CLK_TCK);

	make_tree();
	cr_assert_eq(proctable__seed(pt, fake_proc), 3);
	cr_assert_eq(stats(pt).seeded, 3);
	cr_assert_null(proctable__find(pt, 400));
	cr_assert_null(proctable__find(pt, 500));

	p = proctable__find(pt, 100);
	cr_assert_not_null(p);
	cr_assert_str_eq(p->comm, "a) b (c");
	cr_assert_eq(p->ppid, 1);
	cr_assert_eq(p->sid, 100);
	cr_assert_eq(p->tty, 34816);
	cr_assert_eq(p->start_ns, 12345ull * SEC / hz);
	cr_assert_eq(p->uid, 1000);
	cr_assert_eq(p->euid, 1001);
	cr_assert_eq(p->gid, 50);
	cr_assert_eq(p->egid, 51);
	cr_assert_eq(p->cap_eff, 0x1ffffffffffull);
	cr_assert_eq(p->loginuid, 1000);
	cr_assert_str_eq(p->exe, "/usr/bin/evil");
	cr_assert_eq(p->flags, PROC_F_FROM_PROCFS | PROC_F_EXE_DELETED);
	cr_assert_str_eq(p->cwd, "/home/u");
	cr_assert_eq(p->args_len, 15);
	cr_assert(memcmp(p->args, "evil\0-x\0\0last\0", 15) == 0);
	cr_assert_eq(p->container.runtime, CONTAINER_PODMAN);
	cr_assert_str_eq(p->container.id, ID);
	snprintf(path, sizeof(path), "%s/c g/machine.slice/libpod-" ID ".scope/container", root);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(p->cgroup_id, st.st_ino);

	p = proctable__find(pt, 200);
	cr_assert_not_null(p);
	cr_assert_str_eq(p->exe, "/memfd:payload");
	cr_assert_eq(p->flags, PROC_F_FROM_PROCFS | PROC_F_EXE_DELETED | PROC_F_EXE_MEMFD);
	cr_assert_eq(p->loginuid, (uint32_t)-1);
	cr_assert_eq(p->ppid, 100);
	cr_assert_eq(p->tty, 0);
	snprintf(path, sizeof(path), "%s/c g", root);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(p->cgroup_id, st.st_ino);
	cr_assert_eq(p->container.runtime, CONTAINER_HOST);

	p = proctable__find(pt, 300);
	cr_assert_not_null(p);
	cr_assert_str_eq(p->comm, "kworker/0:1");
	cr_assert_str_eq(p->exe, "");
	cr_assert_str_eq(p->cwd, "");
	cr_assert_null(p->args);
	cr_assert_eq(p->args_len, 0);
}

Test(proctable_fake, seed_without_cgroup2_mount)
{
	make_tree();
	put_str("proc/self/mountinfo", "22 1 0:21 / /proc rw - proc proc rw\n");
	cr_assert_eq(proctable__seed(pt, fake_proc), 3);
	cr_assert_eq(proctable__find(pt, 100)->cgroup_id, 0);
}

Test(proctable_fake, seed_into_full_table)
{
	struct proctable *small = proctable__new(2, 1);

	make_tree();
	cr_assert_eq(proctable__seed(small, fake_proc), 2);
	cr_assert_eq(stats(small).dropped_full, 1);
	proctable__free(small);
}

Test(proctable_fake, exec_matches_seeded_start_within_a_tick)
{
	uint64_t tick = SEC / (uint64_t)sysconf(_SC_CLK_TCK);
	uint64_t start = 12345ull * tick;
	struct proc_info *seeded, *p;

	make_tree();
	proctable__seed(pt, fake_proc);
	seeded = proctable__find(pt, 100);
	/* the exact start lies within the tick /proc rounded it down to */
	p = exec_simple(pt, 100, 1, start + tick / 2);
	cr_assert_eq(p, seeded);
	cr_assert_eq(p->start_ns, start + tick / 2);
	cr_assert_eq(p->flags & PROC_F_FROM_PROCFS, 0);
	cr_assert(p->flags & PROC_F_EXECED);
	/* a fork that seeding already saw gives the seeded entry */
	p = fork_ev(pt, 100, start + tick / 2, 200, 20000 * tick + tick / 3, 0);
	cr_assert_eq(p, proctable__find(pt, 200));
	cr_assert_str_eq(p->exe, "/memfd:payload");
	cr_assert_eq(p->start_ns, 20000 * tick);
	/* an exact entry allows no slack: 1 ns off is another process */
	p = exec_full(pt, 100, 1, start + tick / 2 + 1, "/bin/next");
	cr_assert_eq(p->start_ns, start + tick / 2 + 1);
	cr_assert_str_eq(p->exe, "/bin/next");
	cr_assert_eq(stats(pt).live, 3);
	/* a seeded entry whose start is two ticks off is a reused pid */
	p = fork_ev(pt, 100, start + tick / 2 + 1, 300, 7 * tick, 0);
	cr_assert_eq(p->start_ns, 7 * tick);
	cr_assert_str_eq(p->comm, "forker");
	cr_assert_str_eq(p->exe, "/bin/next");
}
