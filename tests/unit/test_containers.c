/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * test_containers.c - the container table keyed by cgroup id: identity derived once
 * per id, ring eviction, jobs only when enabled, a real worker thread filling
 * metadata while the event-loop thread keeps entering and reading entries; the
 * process table resolving execs through it; and the cgroup v2 helpers on this
 * machine's hierarchy and on a fake /proc.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "state/cgroup.h"
#include "state/containers.h"
#include "state/proctable.h"

/* A podman cgroup path whose 64-hex id encodes n. */
static const char *libpod_path(uint64_t n, char *buf, size_t cap)
{
	snprintf(buf, cap, "machine.slice/libpod-%012llx%052x.scope/container",
		 (unsigned long long)n, 0);
	return buf;
}

/* Enters cgroup id with the podman path for container n. */
static const struct container_entry *enter(struct containers *ct, uint64_t id, uint64_t n)
{
	char p[256];

	libpod_path(n, p, sizeof(p));
	return containers__resolve(ct, id, p, strlen(p));
}

static struct containers_stats ct_stats(struct containers *ct)
{
	struct containers_stats s;

	containers__stats(ct, &s);
	return s;
}

Test(containers, new_rejects_zero)
{
	errno = 0;
	cr_assert_null(containers__new(0));
	cr_assert_eq(errno, EINVAL);
	containers__free(NULL);
}

Test(containers, derived_once_per_cgroup_id)
{
	struct containers *ct = containers__new(16);
	const struct container_entry *a, *b;
	char p[256];

	a = enter(ct, 42, 7);
	cr_assert_not_null(a);
	cr_assert_eq(a->cgroup_id, 42);
	cr_assert_eq(a->ident.runtime, CONTAINER_PODMAN);
	cr_assert_str_eq(a->ident.short_id, "000000000007");
	cr_assert_null(a->meta);
	/* the same id again: the cached entry, whatever path comes with it */
	b = containers__resolve(ct, 42, "user.slice", 10);
	cr_assert_eq(a, b);
	cr_assert_eq(containers__lookup(ct, 42), a);
	/* a host cgroup is cached as the host */
	b = containers__resolve(ct, 43, "user.slice/user-0.slice/session-1.scope", 39);
	cr_assert_eq(b->ident.runtime, CONTAINER_HOST);
	cr_assert_str_eq(b->ident.short_id, "host");
	/* id 0 is "unknown": never cached */
	libpod_path(8, p, sizeof(p));
	cr_assert_null(containers__resolve(ct, 0, p, strlen(p)));
	cr_assert_null(containers__lookup(ct, 0));
	cr_assert_null(containers__lookup(ct, 44));
	cr_assert_eq(ct_stats(ct).entries, 2);
	containers__free(ct);
}

Test(containers, oldest_makes_room)
{
	struct containers *ct = containers__new(4);

	for (uint64_t id = 1; id <= 6; id++)
		enter(ct, id, id);
	cr_assert_eq(ct_stats(ct).entries, 4);
	cr_assert_eq(ct_stats(ct).evicted, 2);
	cr_assert_null(containers__lookup(ct, 1));
	cr_assert_null(containers__lookup(ct, 2));
	for (uint64_t id = 3; id <= 6; id++)
		cr_assert_eq(containers__lookup(ct, id)->cgroup_id, id);
	/* seen again: derived again */
	cr_assert_str_eq(enter(ct, 1, 1)->ident.short_id, "000000000001");
	cr_assert_null(containers__lookup(ct, 3));
	containers__free(ct);
}

Test(containers, jobs_only_when_enabled_and_only_for_containers)
{
	struct containers *ct = containers__new(8);
	struct container_job *j;
	int fd;

	enter(ct, 1, 1);
	cr_assert_null(containers__take_jobs(ct));
	fd = containers__enable_jobs(ct);
	cr_assert_geq(fd, 0);
	cr_assert_eq(containers__enable_jobs(ct), fd);
	containers__resolve(ct, 2, "user.slice", 10); /* the host: nothing to ask */
	cr_assert_eq(poll(&(struct pollfd){.fd = fd, .events = POLLIN}, 1, 0), 0);
	enter(ct, 3, 3);
	cr_assert_eq(poll(&(struct pollfd){.fd = fd, .events = POLLIN}, 1, 0), 1);
	j = containers__take_jobs(ct);
	cr_assert_not_null(j);
	cr_assert_null(j->next);
	cr_assert_eq(j->cgroup_id, 3);
	cr_assert_eq(j->ident.runtime, CONTAINER_PODMAN);
	cr_assert_eq(ct_stats(ct).jobs_inflight, 1);
	j->meta.name = strdup("web");
	j->meta.start_ns = 99;
	containers__complete(ct, j);
	cr_assert_eq(containers__poll(ct), 1);
	cr_assert_str_eq(containers__lookup(ct, 3)->meta->name, "web");
	cr_assert_eq(containers__lookup(ct, 3)->meta->start_ns, 99);
	cr_assert_eq(ct_stats(ct).filled, 1);
	cr_assert_eq(ct_stats(ct).jobs_inflight, 0);
	containers__free(ct);
}

Test(containers, job_for_an_evicted_entry_is_dropped)
{
	struct containers *ct = containers__new(1);
	struct container_job *j;

	containers__enable_jobs(ct);
	enter(ct, 1, 1);
	j = containers__take_jobs(ct);
	enter(ct, 2, 2); /* evicts 1 */
	containers__complete(ct, j);
	cr_assert_eq(containers__poll(ct), 0);
	cr_assert_eq(ct_stats(ct).jobs_lost, 1);
	cr_assert_null(containers__lookup(ct, 2)->meta);
	/* the job for 2 is still waiting: freeing the table frees it */
	containers__free(ct);
}

/* ---- a real worker thread ---- */

#define N_CONTAINERS 3000

struct worker {
	struct containers *ct; /* shared table (the worker uses only the job calls) */
	int fd;		       /* the jobs eventfd */
	atomic_bool stop;      /* set by the event loop when it is done */
	uint64_t done;	       /* jobs completed */
};

static void fill_meta(struct container_job *j)
{
	cr_assert_gt(asprintf(&j->meta.name, "name-%llu", (unsigned long long)j->cgroup_id), 0);
	cr_assert_gt(asprintf(&j->meta.image, "registry/%s:%llu", j->ident.short_id,
			      (unsigned long long)j->cgroup_id),
		     0);
	j->meta.start_ns = j->cgroup_id * 7919;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct container_job *j, *next;
	uint64_t cnt;

	while (!atomic_load(&w->stop)) {
		struct pollfd pfd = {.fd = w->fd, .events = POLLIN};

		if (poll(&pfd, 1, 5) <= 0)
			continue;
		if (read(w->fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
			break;
		for (j = containers__take_jobs(w->ct); j; j = next) {
			next = j->next;
			fill_meta(j);
			containers__complete(w->ct, j);
			w->done++;
		}
	}
	return NULL;
}

/* An entry's metadata is absent, or exactly what the worker wrote for it. */
static void check_entry(const struct container_entry *e)
{
	char want[256];

	if (!e->meta)
		return;
	snprintf(want, sizeof(want), "name-%llu", (unsigned long long)e->cgroup_id);
	cr_assert_str_eq(e->meta->name, want);
	snprintf(want, sizeof(want), "registry/%s:%llu", e->ident.short_id,
		 (unsigned long long)e->cgroup_id);
	cr_assert_str_eq(e->meta->image, want);
	cr_assert_eq(e->meta->start_ns, e->cgroup_id * 7919);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

Test(containers, worker_fills_while_the_loop_reads, .timeout = 60)
{
	struct worker w = {.ct = containers__new(N_CONTAINERS)};
	struct containers_stats s;
	pthread_t th;
	uint32_t x = 12345;
	uint64_t deadline, seen_filled = 0;

	w.fd = containers__enable_jobs(w.ct);
	cr_assert_geq(w.fd, 0);
	cr_assert_eq(pthread_create(&th, NULL, worker_main, &w), 0);
	/* the event loop: enters containers and keeps reading older ones meanwhile */
	for (uint64_t id = 1; id <= N_CONTAINERS; id++) {
		const struct container_entry *e = enter(w.ct, id, id);

		cr_assert_eq(e->cgroup_id, id);
		for (int k = 0; k < 8; k++) {
			x = x * 1103515245u + 12345u;
			e = containers__lookup(w.ct, 1 + (x >> 8) % id);
			cr_assert_not_null(e);
			check_entry(e);
			seen_filled += e->meta != NULL;
		}
		if (id % 500 == 0)
			usleep(1000); /* let the worker catch up now and then */
	}
	/* every container gets its metadata */
	deadline = now_ms() + 20000;
	do {
		containers__poll(w.ct);
		containers__stats(w.ct, &s);
		if (s.filled == N_CONTAINERS)
			break;
		usleep(1000);
	} while (now_ms() < deadline);
	atomic_store(&w.stop, true);
	pthread_join(th, NULL);

	cr_assert_eq(s.filled, N_CONTAINERS, "filled %llu of %d (worker completed %llu)",
		     (unsigned long long)s.filled, N_CONTAINERS, (unsigned long long)w.done);
	cr_assert_eq(s.jobs_lost, 0);
	cr_assert_eq(s.jobs_inflight, 0);
	cr_assert_eq(w.done, N_CONTAINERS, "each job once");
	cr_assert_gt(seen_filled, 0, "the loop saw metadata arrive while it ran");
	for (uint64_t id = 1; id <= N_CONTAINERS; id++) {
		const struct container_entry *e = containers__lookup(w.ct, id);

		cr_assert_not_null(e->meta, "container %llu", (unsigned long long)id);
		check_entry(e);
	}
	containers__free(w.ct);
}

/* ---- the process table resolves execs through the table ---- */

static struct proc_info *exec_in(struct proctable *pt, uint32_t pid, uint64_t cgroup_id,
				 const char *cg)
{
	static union {
		struct vg_exec ev;
		unsigned char b[1024];
	} r;
	size_t off = sizeof(r.ev), n = strlen(cg);

	memset(&r, 0, sizeof(r));
	r.ev.hdr.type = VG_EV_EXEC;
	r.ev.hdr.pid = r.ev.hdr.tid = pid;
	r.ev.hdr.start_ns = 1000 + pid;
	r.ev.hdr.cgroup_id = cgroup_id;
	memcpy(r.b + off, cg, n + 1);
	r.ev.cgroup = (struct vg_str){.off = (__u16)off, .len = (__u16)n};
	r.ev.hdr.size = (__u32)(off + n + 1);
	return proctable__on_exec(pt, &r.ev, off + n + 1);
}

Test(containers, proctable_execs_cached_per_cgroup_id)
{
	struct proctable *pt = proctable__new(64, 100);
	struct containers *ct = proctable__containers(pt);
	char p[256];
	struct proc_info *a;

	cr_assert_not_null(ct);
	a = exec_in(pt, 10, 500, libpod_path(5, p, sizeof(p)));
	cr_assert_eq(a->container.runtime, CONTAINER_PODMAN);
	cr_assert_str_eq(a->container.short_id, "000000000005");
	cr_assert_eq(containers__lookup(ct, 500)->ident.runtime, CONTAINER_PODMAN);
	/* another process in the same cgroup: the cached identity */
	a = exec_in(pt, 11, 500, libpod_path(5, p, sizeof(p)));
	cr_assert_str_eq(a->container.id, containers__lookup(ct, 500)->ident.id);
	cr_assert_eq(ct_stats(ct).entries, 1);
	/* without a cgroup id: derived from the path, nothing cached */
	a = exec_in(pt, 12, 0, libpod_path(6, p, sizeof(p)));
	cr_assert_str_eq(a->container.short_id, "000000000006");
	a = exec_in(pt, 13, 0, "user.slice");
	cr_assert_eq(a->container.runtime, CONTAINER_HOST);
	cr_assert_eq(ct_stats(ct).entries, 1);
	proctable__free(pt);
}

/* ---- cgroup helpers ---- */

Test(cgroup, own_cgroup_id_and_path_round_trip)
{
	char cg2[PATH_MAX], path[PATH_MAX], back[2 * PATH_MAX];
	uint64_t id = 0, birth = 0;
	struct stat st;
	int ret;

	cgroup2_mount("/proc", cg2, sizeof(cg2));
	cr_assert(cg2[0], "this machine mounts cgroup v2");
	cr_assert_eq(cgroup_v2_path("/proc", (uint32_t)getpid(), path, sizeof(path)), 0);
	cr_assert_eq(path[0], '/');
	cr_assert_eq(cgroup_path_id(cg2, path, &id), 0);
	snprintf(back, sizeof(back), "%s%s", strcmp(cg2, "/") ? cg2 : "", path);
	cr_assert_eq(stat(back, &st), 0);
	cr_assert_eq(id, (uint64_t)st.st_ino);

	ret = cgroup_id_path(id, back, sizeof(back));
	if (geteuid() != 0) {
		cr_assert_eq(ret, -EPERM, "open_by_handle_at needs CAP_DAC_READ_SEARCH");
		return;
	}
	cr_assert_eq(ret, 0);
	cr_assert_str_eq(back, path);
	cr_assert_eq(cgroup_id_path(1, back, sizeof(back)), 0, "the root cgroup is id 1");
	cr_assert_str_eq(back, "/");

	/* a cgroup of our own, below the root: id -> path -> id, and its birth */
	snprintf(path, sizeof(path), "/vigil-unit-%d", (int)getpid());
	snprintf(back, sizeof(back), "%s%s", strcmp(cg2, "/") ? cg2 : "", path);
	cr_assert_eq(mkdir(back, 0755), 0, "%s: %s", back, strerror(errno));
	cr_assert_eq(stat(back, &st), 0);
	cr_assert_eq(cgroup_path_id(cg2, path, &id), 0);
	cr_assert_eq(id, (uint64_t)st.st_ino);
	ret = cgroup_id_path(id, back, sizeof(back));
	cr_assert_eq(ret, 0, "%d", ret);
	cr_assert_str_eq(back, path);
	cr_assert_eq(cgroup_id_path(id, back, 4), -ENAMETOOLONG);
	cr_assert_eq(cgroup_birth_ns(id, &birth), 0);
	cr_assert_eq(birth, st.st_ctim.tv_sec * 1000000000ull + (uint64_t)st.st_ctim.tv_nsec);
	snprintf(back, sizeof(back), "%s%s", strcmp(cg2, "/") ? cg2 : "", path);
	cr_assert_eq(rmdir(back), 0);
	/* gone: the id names nothing any more */
	cr_assert_lt(cgroup_id_path(id, back, sizeof(back)), 0);
	cr_assert_lt(cgroup_birth_ns(id, &birth), 0);
}

Test(cgroup, v2_path_from_a_fake_proc)
{
	char dir[] = "/tmp/vigil-cgroup-XXXXXX", f[PATH_MAX], out[64];
	FILE *fp;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(f, sizeof(f), "%s/77", dir);
	cr_assert_eq(mkdir(f, 0755), 0);
	snprintf(f, sizeof(f), "%s/77/cgroup", dir);
	fp = fopen(f, "w");
	fputs("12:pids:/libpod_parent/x\n1:name=systemd:/a:b\n0::/machine.slice/c d:e\n", fp);
	fclose(fp);
	cr_assert_eq(cgroup_v2_path(dir, 77, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "/machine.slice/c d:e");
	cr_assert_eq(cgroup_v2_path(dir, 77, out, 5), -ENAMETOOLONG);
	cr_assert_eq(cgroup_v2_path(dir, 78, out, sizeof(out)), -ENOENT);
	fp = fopen(f, "w");
	fputs("12:pids:/only-v1\n", fp);
	fclose(fp);
	cr_assert_eq(cgroup_v2_path(dir, 77, out, sizeof(out)), -ENOENT);
	cr_assert_eq(cgroup_path_id("", "/x", &(uint64_t){0}), -ENOENT);
	unlink(f);
	snprintf(f, sizeof(f), "%s/77", dir);
	rmdir(f);
	rmdir(dir);
}

/* ---- a process the table does not know: its container from its cgroup id ---- */

#define POD_ID "5ca1ab1e0123456789abcdef0123456789abcdef0123456789abcdef01234567"

struct real_cgroup {
	char parent[PATH_MAX + 64]; /* directories made, removed in reverse */
	char leaf[PATH_MAX + 192];  /* the container's cgroup, below parent */
	uint64_t id;		    /* the leaf's cgroup id */
};

/* Makes /vigil-unit-ct-PID/libpod-POD_ID.scope in this machine's cgroup v2 tree. */
static void real_cgroup_make(struct real_cgroup *c)
{
	char cg2[PATH_MAX];
	struct stat st;

	cgroup2_mount("/proc", cg2, sizeof(cg2));
	cr_assert(cg2[0], "this machine mounts cgroup v2");
	snprintf(c->parent, sizeof(c->parent), "%s/vigil-unit-ct-%d", strcmp(cg2, "/") ? cg2 : "",
		 (int)getpid());
	snprintf(c->leaf, sizeof(c->leaf), "%s/libpod-" POD_ID ".scope", c->parent);
	cr_assert_eq(mkdir(c->parent, 0755), 0, "%s: %s", c->parent, strerror(errno));
	cr_assert_eq(mkdir(c->leaf, 0755), 0, "%s: %s", c->leaf, strerror(errno));
	cr_assert_eq(stat(c->leaf, &st), 0);
	c->id = st.st_ino;
}

static void real_cgroup_remove(struct real_cgroup *c)
{
	rmdir(c->leaf);
	rmdir(c->parent);
}

static struct proc_info *fork_from_unknown(struct proctable *pt, uint32_t parent, uint32_t child,
					   uint64_t cgroup_id)
{
	struct vg_fork f;

	memset(&f, 0, sizeof(f));
	f.hdr.type = VG_EV_FORK;
	f.hdr.size = sizeof(f);
	f.hdr.pid = f.hdr.tid = parent;
	f.hdr.start_ns = 0; /* unknown: matches a known parent whatever its start */
	f.hdr.ts_ns = 20;
	f.hdr.cgroup_id = cgroup_id;
	f.child_pid = f.child_tid = child;
	f.child_start_ns = 20;
	return proctable__on_fork(pt, &f);
}

Test(containers, unknown_process_gets_its_container_from_the_cgroup_id)
{
	struct proctable *pt = proctable__new(4, 100);
	struct containers *ct = proctable__containers(pt);
	const struct container_ident *ci;
	struct real_cgroup c;
	struct proc_info *child;

	if (geteuid() != 0) {
		/* no way from an id to its path without CAP_DAC_READ_SEARCH: the host */
		cr_assert_null(proctable__container(pt, 1));
		cr_assert_null(containers__lookup(ct, 1), "a failure is not cached");
		child = fork_from_unknown(pt, 4321, 4322, 1);
		cr_assert_eq(child->container.runtime, CONTAINER_HOST);
		proctable__free(pt);
		return;
	}
	real_cgroup_make(&c);
	ci = proctable__container(pt, c.id);
	cr_assert_eq(ci->runtime, CONTAINER_PODMAN);
	cr_assert_str_eq(ci->id, POD_ID);
	cr_assert_str_eq(ci->short_id, "5ca1ab1e0123");
	/* cached per cgroup id (ids are never reused): the cgroup's removal changes nothing */
	cr_assert_not_null(containers__lookup(ct, c.id));
	real_cgroup_remove(&c);
	cr_assert_lt(cgroup_id_path(c.id, c.parent, sizeof(c.parent)), 0);
	cr_assert_str_eq(proctable__container(pt, c.id)->short_id, "5ca1ab1e0123");
	/* a fork by a process the table never saw: the child is placed by the same id */
	child = fork_from_unknown(pt, 4321, 4322, c.id);
	cr_assert_not_null(child);
	cr_assert_null(proctable__find(pt, 4321));
	cr_assert_str_eq(child->container.id, POD_ID);
	/* ids that name no cgroup, and the unknown id 0: nothing, not cached */
	cr_assert_null(proctable__container(pt, 0));
	cr_assert_null(proctable__container(pt, UINT64_MAX - 1));
	cr_assert_null(containers__lookup(ct, UINT64_MAX - 1));
	child = fork_from_unknown(pt, 4323, 4324, UINT64_MAX - 1);
	cr_assert_eq(child->container.runtime, CONTAINER_HOST);
	/* a known host process moved into the container's cgroup (a runtime's init
	 * before its exec): its fork's record places the child in the container */
	cr_assert_eq(exec_in(pt, 4400, 3, "user.slice")->container.runtime, CONTAINER_HOST);
	child = fork_from_unknown(pt, 4400, 4401, c.id);
	cr_assert_str_eq(child->container.id, POD_ID);
	proctable__free(pt);
}

Test(containers, full_table_still_places_an_evicted_process)
{
	struct proctable *pt = proctable__new(2, 100);
	struct real_cgroup c;
	struct proc_info *p;
	char path[256];

	if (geteuid() != 0)
		cr_skip_test("resolving a cgroup id to its path needs CAP_DAC_READ_SEARCH");
	real_cgroup_make(&c);
	/* 10 execs in the container; two host processes then fill the table */
	snprintf(path, sizeof(path), "machine.slice/libpod-" POD_ID ".scope");
	p = exec_in(pt, 10, c.id, path);
	cr_assert_eq(p->container.runtime, CONTAINER_PODMAN);
	exec_in(pt, 11, 3, "user.slice");
	exec_in(pt, 12, 3, "user.slice");
	cr_assert_null(proctable__find(pt, 10), "evicted to make room");
	{
		struct proctable_stats s;

		proctable__stats(pt, &s);
		cr_assert_eq(s.evicted_live, 1);
	}
	/* a later record of 10 carries only its cgroup id: still the container */
	cr_assert_str_eq(proctable__container(pt, c.id)->short_id, "5ca1ab1e0123");
	real_cgroup_remove(&c);
	proctable__free(pt);
}
