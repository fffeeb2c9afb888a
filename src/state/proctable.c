/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * proctable.c - the process table: a hash of entries chained by pid, plus a list of
 * exited entries ordered by exit time, so that evicting after the linger time and
 * making room in a full table both take the oldest exited entry in O(1).
 *
 * A pid names a process only together with its start time: an entry whose start
 * differs from an event's, or that has exited, belongs to an earlier process that
 * had the same pid, and is replaced. Entries seeded from /proc know their start only
 * to a clock tick, so for them "same start" means within one tick.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proctable.h"

#define NSEC_PER_SEC	   1000000000ull
#define PROC_HASH_MIN_BITS 4
#define PROC_HASH_MAX_BITS 24
#define PROC_STAT_MAX	   2048 /* /proc/PID/stat: ~350 bytes, comm is at most 64 */
#define PROC_STATUS_MAX	   8192 /* /proc/PID/status: ~1.5 KiB */
#define DELETED_SUFFIX	   " (deleted)"
#define MEMFD_PREFIX	   "/memfd:"

struct proc_entry {
	struct proc_info info;		  /* first: callers hold &info */
	struct proc_entry *hnext;	  /* hash chain */
	struct proc_entry *xprev, *xnext; /* exited list, oldest exit first */
};

struct proctable {
	struct proc_entry **buckets; /* chains by pid hash */
	unsigned int bits;	     /* log2 of the bucket count */
	size_t max_entries;	     /* bound on count */
	size_t count;		     /* entries, live and lingering */
	size_t lingering;	     /* entries on the exited list */
	uint64_t linger_ns;	     /* how long exited entries stay */
	uint64_t hz;		     /* clock ticks per second, the unit of /proc start times */
	uint64_t tick_ns;	     /* resolution of start times read from /proc */
	struct proc_entry *xhead, *xtail; /* exited entries, oldest exit first */
	uint64_t evicted;		  /* exited entries removed */
	uint64_t dropped_full;		  /* processes not recorded: table full */
	uint64_t seeded;		  /* entries read from /proc */
};

/* The "" of entries without a string; shared, never freed. */
static char proc_no_str[1];

static char *str_copy(const char *s, size_t n)
{
	char *p;

	if (n == 0)
		return proc_no_str;
	p = malloc(n + 1);
	if (!p)
		return proc_no_str; /* an unknown string beats a lost process */
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static void str_free(char *s)
{
	if (s != proc_no_str)
		free(s);
}

/* argv keeps its exact bytes (NULs included), plus a NUL after them. */
static void args_copy(struct proc_info *i, const char *s, size_t n)
{
	i->args = NULL;
	i->args_len = 0;
	if (n == 0)
		return;
	i->args = malloc(n + 1);
	if (!i->args)
		return;
	memcpy(i->args, s, n);
	i->args[n] = '\0';
	i->args_len = n;
}

static void info_release(struct proc_info *i)
{
	str_free(i->exe);
	str_free(i->cwd);
	free(i->args);
	i->exe = i->cwd = i->args = NULL;
}

/* A blank description: no strings, no login uid, on the host. */
static void info_init(struct proc_info *i, uint32_t pid)
{
	memset(i, 0, sizeof(*i));
	i->pid = pid;
	i->loginuid = (uint32_t)-1;
	i->exe = proc_no_str;
	i->cwd = proc_no_str;
	container_parse_cgroup(NULL, 0, &i->container);
}

static void comm_copy(char dst[VG_COMM_LEN], const char *src, size_t n)
{
	if (n > VG_COMM_LEN - 1)
		n = VG_COMM_LEN - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* ---- hash and exited list ---- */

static struct proc_entry **bucket(struct proctable *pt, uint32_t pid)
{
	return &pt->buckets[(uint32_t)(pid * 2654435761u) >> (32 - pt->bits)];
}

static struct proc_entry *lookup(struct proctable *pt, uint32_t pid)
{
	struct proc_entry *e;

	for (e = *bucket(pt, pid); e; e = e->hnext)
		if (e->info.pid == pid)
			return e;
	return NULL;
}

static void exited_insert(struct proctable *pt, struct proc_entry *e)
{
	struct proc_entry *after = pt->xtail;

	/* exits arrive nearly in order: the place is almost always the tail */
	while (after && after->info.exit_ns > e->info.exit_ns)
		after = after->xprev;
	e->xprev = after;
	e->xnext = after ? after->xnext : pt->xhead;
	if (e->xnext)
		e->xnext->xprev = e;
	else
		pt->xtail = e;
	if (after)
		after->xnext = e;
	else
		pt->xhead = e;
	pt->lingering++;
}

static void exited_remove(struct proctable *pt, struct proc_entry *e)
{
	if (e->xprev)
		e->xprev->xnext = e->xnext;
	else
		pt->xhead = e->xnext;
	if (e->xnext)
		e->xnext->xprev = e->xprev;
	else
		pt->xtail = e->xprev;
	e->xprev = e->xnext = NULL;
	pt->lingering--;
}

static void entry_destroy(struct proctable *pt, struct proc_entry *e)
{
	struct proc_entry **pp = bucket(pt, e->info.pid);

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	if (e->info.flags & PROC_F_EXITED) {
		exited_remove(pt, e);
		pt->evicted++;
	}
	info_release(&e->info);
	free(e);
	pt->count--;
}

/*
 * A new entry holding *info (whose strings it takes over), making room by evicting
 * the oldest exited entry; NULL, with *info released, when the table is full.
 */
static struct proc_entry *entry_add(struct proctable *pt, struct proc_info *info)
{
	struct proc_entry *e, **head;

	if (pt->count >= pt->max_entries) {
		if (!pt->xhead) {
			pt->dropped_full++;
			goto err_release;
		}
		entry_destroy(pt, pt->xhead);
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		goto err_release;
	e->info = *info;
	head = bucket(pt, info->pid);
	e->hnext = *head;
	*head = e;
	pt->count++;
	return e;

err_release:
	info_release(info);
	return NULL;
}

/* Replaces what e says with *info, whose strings it takes over. */
static void entry_set(struct proc_entry *e, struct proc_info *info)
{
	info_release(&e->info);
	e->info = *info;
}

/* Whether a process that started at start_ns is the one e describes (0: unknown). */
static bool same_start(const struct proctable *pt, const struct proc_entry *e, uint64_t start_ns)
{
	uint64_t a = e->info.start_ns, b = start_ns;

	if (a == 0 || b == 0 || a == b)
		return true;
	if (!(e->info.flags & PROC_F_FROM_PROCFS))
		return false;
	return (a > b ? a - b : b - a) < pt->tick_ns;
}

/* The live entry of the process (pid, start_ns), removing a stale one for the pid. */
static struct proc_entry *lookup_live(struct proctable *pt, uint32_t pid, uint64_t start_ns)
{
	struct proc_entry *e = lookup(pt, pid);

	if (e && ((e->info.flags & PROC_F_EXITED) || !same_start(pt, e, start_ns))) {
		entry_destroy(pt, e); /* an earlier process with the same pid */
		e = NULL;
	}
	return e;
}

/* ---- lifecycle ---- */

struct proctable *proctable__new(size_t max_entries, uint64_t linger_ns)
{
	struct proctable *pt;
	long hz = sysconf(_SC_CLK_TCK);

	if (max_entries == 0) {
		errno = EINVAL;
		return NULL;
	}
	pt = calloc(1, sizeof(*pt));
	if (!pt)
		goto err;
	pt->bits = PROC_HASH_MIN_BITS;
	while (pt->bits < PROC_HASH_MAX_BITS && ((size_t)1 << pt->bits) < max_entries)
		pt->bits++;
	pt->buckets = calloc((size_t)1 << pt->bits, sizeof(*pt->buckets));
	if (!pt->buckets)
		goto err_free_pt;
	pt->max_entries = max_entries;
	pt->linger_ns = linger_ns;
	pt->hz = hz > 0 ? (uint64_t)hz : 100;
	pt->tick_ns = NSEC_PER_SEC / pt->hz;
	return pt;

err_free_pt:
	free(pt);
err:
	errno = ENOMEM;
	return NULL;
}

void proctable__free(struct proctable *pt)
{
	struct proc_entry *e, *next;

	if (!pt)
		return;
	for (size_t b = 0; b < ((size_t)1 << pt->bits); b++) {
		for (e = pt->buckets[b]; e; e = next) {
			next = e->hnext;
			info_release(&e->info);
			free(e);
		}
	}
	free(pt->buckets);
	free(pt);
}

struct proc_info *proctable__find(struct proctable *pt, uint32_t pid)
{
	struct proc_entry *e = lookup(pt, pid);

	return e ? &e->info : NULL;
}

/* ---- events ---- */

/* The bytes a vg_str names, if it is present and lies inside the record. */
static bool exec_str(const struct vg_exec *ev, size_t size, struct vg_str s, const char **p,
		     size_t *n)
{
	if (s.off == 0 || s.off < sizeof(*ev) || (size_t)s.off + s.len > size)
		return false;
	*p = (const char *)ev + s.off;
	*n = s.len;
	return true;
}

static char *exec_str_copy(const struct vg_exec *ev, size_t size, struct vg_str s)
{
	const char *p;
	size_t n;

	return exec_str(ev, size, s, &p, &n) ? str_copy(p, n) : proc_no_str;
}

/* The ids, comm and cgroup every record's header carries. */
static void info_from_hdr(struct proc_info *i, const struct vg_hdr *h)
{
	i->uid = h->uid;
	i->gid = h->gid;
	i->euid = h->euid;
	i->egid = h->egid;
	i->loginuid = h->loginuid;
	i->cgroup_id = h->cgroup_id;
	comm_copy(i->comm, h->comm, VG_COMM_LEN);
}

struct proc_info *proctable__on_exec(struct proctable *pt, const struct vg_exec *ev, size_t size)
{
	const struct vg_hdr *h = &ev->hdr;
	struct proc_entry *e;
	struct proc_info ni;
	const char *p;
	size_t n;

	if (size < sizeof(*ev))
		return NULL;
	e = lookup_live(pt, h->pid, h->start_ns);

	info_init(&ni, h->pid);
	info_from_hdr(&ni, h);
	ni.ppid = h->ppid;
	ni.start_ns = h->start_ns;
	ni.flags = PROC_F_EXECED;
	if (h->flags & VG_XF_EXE_MEMFD)
		ni.flags |= PROC_F_EXE_MEMFD;
	if (h->flags & VG_XF_EXE_DELETED)
		ni.flags |= PROC_F_EXE_DELETED;
	if (h->flags & VG_XF_EXE_UPPER)
		ni.flags |= PROC_F_EXE_UPPER;
	if (size >= sizeof(*ev)) {
		ni.exe_ctime_ns = ev->exe_ctime_ns;
		ni.exe_mtime_ns = ev->exe_mtime_ns;
	}
	if (e && h->start_ns == 0) {
		/* keep what we knew of the start, and its resolution */
		ni.start_ns = e->info.start_ns;
		ni.flags |= e->info.flags & PROC_F_FROM_PROCFS;
	}
	ni.tty = ev->tty;
	ni.sid = ev->sid;
	ni.exe_ino = ev->exe_ino;
	ni.cap_eff = ev->cap_eff;
	/* a sensor that could not resolve the image still knows what was executed */
	ni.exe = exec_str_copy(ev, size, ev->exe.off ? ev->exe : ev->filename);
	ni.cwd = exec_str_copy(ev, size, ev->cwd);
	if (exec_str(ev, size, ev->args, &p, &n))
		args_copy(&ni, p, n);
	if (exec_str(ev, size, ev->cgroup, &p, &n))
		container_parse_cgroup(p, n, &ni.container);
	else if (e)
		ni.container = e->info.container; /* exec does not move a process */

	if (e) {
		entry_set(e, &ni);
		return &e->info;
	}
	e = entry_add(pt, &ni);
	return e ? &e->info : NULL;
}

struct proc_info *proctable__on_fork(struct proctable *pt, const struct vg_fork *ev)
{
	const struct vg_hdr *h = &ev->hdr;
	struct proc_entry *c, *parent;
	struct proc_info ni;

	if (h->flags & VG_FF_THREAD)
		return proctable__find(pt, h->pid);
	c = lookup_live(pt, ev->child_pid, ev->child_start_ns);
	if (c)
		return &c->info; /* already known, e.g. seeded from /proc after the fork */

	info_init(&ni, ev->child_pid);
	info_from_hdr(&ni, h);
	ni.ppid = h->pid;
	ni.start_ns = ev->child_start_ns;
	c = entry_add(pt, &ni);
	if (!c)
		return NULL;
	/* looked up only now: making room may have evicted an exited entry */
	parent = lookup(pt, h->pid);
	if (parent && !(parent->info.flags & PROC_F_EXITED) &&
	    same_start(pt, parent, h->start_ns)) {
		const struct proc_info *pi = &parent->info;

		c->info.exe = str_copy(pi->exe, strlen(pi->exe));
		c->info.cwd = str_copy(pi->cwd, strlen(pi->cwd));
		args_copy(&c->info, pi->args, pi->args_len);
		c->info.tty = pi->tty;
		c->info.sid = pi->sid;
		c->info.exe_ino = pi->exe_ino;
		c->info.exe_ctime_ns = pi->exe_ctime_ns;
		c->info.exe_mtime_ns = pi->exe_mtime_ns;
		c->info.cap_eff = pi->cap_eff;
		c->info.container = pi->container;
		c->info.flags =
		    pi->flags & (PROC_F_EXE_MEMFD | PROC_F_EXE_DELETED | PROC_F_EXE_UPPER);
	}
	return &c->info;
}

struct proc_info *proctable__on_exit(struct proctable *pt, const struct vg_exit *ev)
{
	const struct vg_hdr *h = &ev->hdr;
	struct proc_entry *e = lookup(pt, h->pid);

	if (!e)
		return NULL;
	if (!same_start(pt, e, h->start_ns)) {
		entry_destroy(pt, e); /* an earlier process whose exit we missed */
		return NULL;
	}
	if (e->info.flags & PROC_F_EXITED)
		return &e->info;
	e->info.flags |= PROC_F_EXITED;
	e->info.exit_ns = h->ts_ns;
	e->info.exit_status = ev->status;
	exited_insert(pt, e);
	return &e->info;
}

size_t proctable__evict(struct proctable *pt, uint64_t now_ns)
{
	size_t n = 0;

	while (pt->xhead && now_ns >= pt->xhead->info.exit_ns &&
	       now_ns - pt->xhead->info.exit_ns >= pt->linger_ns) {
		entry_destroy(pt, pt->xhead);
		n++;
	}
	return n;
}

/* Whether parent can be child's parent: it started first (a later one reused the pid). */
static bool started_before(const struct proctable *pt, const struct proc_info *parent,
			   const struct proc_info *child)
{
	uint64_t slack = ((parent->flags | child->flags) & PROC_F_FROM_PROCFS) ? pt->tick_ns : 0;

	return parent->start_ns == 0 || child->start_ns == 0 ||
	       parent->start_ns <= child->start_ns + slack;
}

size_t proctable__ancestry(struct proctable *pt, uint32_t pid, const struct proc_info **out,
			   size_t max)
{
	struct proc_entry *e = lookup(pt, pid), *p;
	size_t n = 0, k;

	while (e && n < max && e->info.ppid != 0 && e->info.ppid != e->info.pid) {
		p = lookup(pt, e->info.ppid);
		if (!p || p->info.pid == pid || !started_before(pt, &p->info, &e->info))
			break;
		for (k = 0; k < n && out[k] != &p->info; k++)
			;
		if (k < n)
			break; /* a loop */
		out[n++] = &p->info;
		e = p;
	}
	return n;
}

void proctable__stats(const struct proctable *pt, struct proctable_stats *out)
{
	out->live = pt->count - pt->lingering;
	out->lingering = pt->lingering;
	out->evicted = pt->evicted;
	out->dropped_full = pt->dropped_full;
	out->seeded = pt->seeded;
}

/* ---- seeding from /proc ---- */

/* Reads up to cap - 1 bytes of a file and NUL-terminates; returns the length or -errno. */
static ssize_t read_file(const char *path, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (len < cap - 1) {
		r = read(fd, buf + len, cap - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			close(fd);
			return r;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

/* readlink, NUL-terminated; returns the length, or 0 when there is no link to read. */
static size_t read_link(const char *path, char *buf, size_t cap)
{
	ssize_t n = readlink(path, buf, cap - 1);

	if (n < 0)
		n = 0;
	buf[n] = '\0';
	return (size_t)n;
}

static void proc_path(char *buf, size_t cap, const char *procfs, uint32_t pid, const char *name)
{
	snprintf(buf, cap, "%s/%u/%s", procfs, pid, name);
}

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

/* Where the cgroup v2 hierarchy is mounted, from procfs/self/mountinfo; "" if nowhere. */
void proctable_cgroup2_mount(const char *procfs, char *out, size_t cap)
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

/* The cgroup v2 id of pid: the inode of its directory in the v2 hierarchy, 0 if unknown. */
static uint64_t proc_cgroup_id(const char *procfs, uint32_t pid, const char *cg2)
{
	char path[PATH_MAX], buf[PROC_STATUS_MAX], *line, *nl;
	struct stat st;

	if (!cg2[0])
		return 0;
	proc_path(path, sizeof(path), procfs, pid, "cgroup");
	if (read_file(path, buf, sizeof(buf)) < 0)
		return 0;
	for (line = buf; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (strncmp(line, "0::", 3) != 0)
			continue;
		snprintf(path, sizeof(path), "%s%s", strcmp(cg2, "/") == 0 ? "" : cg2, line + 3);
		return stat(path, &st) == 0 ? (uint64_t)st.st_ino : 0;
	}
	return 0;
}

/* ppid, session, tty and start from /proc/PID/stat, whose comm may hold ") (". */
static int parse_stat(const struct proctable *pt, char *buf, struct proc_info *i)
{
	char *open = strchr(buf, '('), *close = strrchr(buf, ')');
	unsigned int ppid;
	int sid, tty;
	unsigned long long ticks, hz = pt->hz;

	if (!open || !close || close < open)
		return -EINVAL;
	if (sscanf(close + 1,
		   " %*c %u %*d %d %d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		   &ppid, &sid, &tty, &ticks) != 4)
		return -EINVAL;
	comm_copy(i->comm, open + 1, (size_t)(close - open - 1));
	i->ppid = ppid;
	i->sid = (uint32_t)sid;
	i->tty = (uint32_t)tty;
	/* split so that ticks * 1e9 cannot overflow */
	i->start_ns = ticks / hz * NSEC_PER_SEC + ticks % hz * NSEC_PER_SEC / hz;
	return 0;
}

/* Real and effective ids and CapEff from /proc/PID/status. */
static int parse_status(char *buf, struct proc_info *i)
{
	unsigned long long cap;
	unsigned int real, eff;
	char *next;
	int found = 0;

	for (char *line = buf; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			next++;
		if (sscanf(line, "Uid: %u %u", &real, &eff) == 2) {
			i->uid = real;
			i->euid = eff;
			found |= 1;
		} else if (sscanf(line, "Gid: %u %u", &real, &eff) == 2) {
			i->gid = real;
			i->egid = eff;
			found |= 2;
		} else if (sscanf(line, "CapEff: %llx", &cap) == 1) {
			i->cap_eff = cap;
		}
	}
	return found == 3 ? 0 : -EINVAL;
}

/* Describes one process from procfs into *i; -errno when it is gone or unreadable. */
static int seed_read(const struct proctable *pt, const char *procfs, uint32_t pid, const char *cg2,
		     struct proc_info *i)
{
	char path[PATH_MAX], buf[PROC_STATUS_MAX], link[PATH_MAX];
	struct stat st;
	size_t n;
	ssize_t r;
	int err;

	info_init(i, pid);
	i->flags = PROC_F_FROM_PROCFS;
	proc_path(path, sizeof(path), procfs, pid, "stat");
	r = read_file(path, buf, PROC_STAT_MAX);
	if (r < 0)
		return (int)r;
	err = parse_stat(pt, buf, i);
	if (err)
		return err;
	proc_path(path, sizeof(path), procfs, pid, "status");
	r = read_file(path, buf, sizeof(buf));
	if (r < 0)
		return (int)r;
	err = parse_status(buf, i);
	if (err)
		return err;
	proc_path(path, sizeof(path), procfs, pid, "loginuid");
	if (read_file(path, buf, sizeof(buf)) > 0)
		i->loginuid = (uint32_t)strtoul(buf, NULL, 10);
	err = container_from_proc(procfs, (int)pid, &i->container);
	if (err)
		return err;
	i->cgroup_id = proc_cgroup_id(procfs, pid, cg2);

	/* kernel threads have no exe: it stays "" */
	proc_path(path, sizeof(path), procfs, pid, "exe");
	n = read_link(path, link, sizeof(link));
	if (n >= strlen(DELETED_SUFFIX) &&
	    strcmp(link + n - strlen(DELETED_SUFFIX), DELETED_SUFFIX) == 0) {
		n -= strlen(DELETED_SUFFIX);
		i->flags |= PROC_F_EXE_DELETED;
	}
	if (strncmp(link, MEMFD_PREFIX, strlen(MEMFD_PREFIX)) == 0)
		i->flags |= PROC_F_EXE_MEMFD;
	i->exe = str_copy(link, n);
	if (stat(path, &st) == 0) {
		i->exe_ctime_ns = st.st_ctim.tv_sec * 1000000000ull + st.st_ctim.tv_nsec;
		i->exe_mtime_ns = st.st_mtim.tv_sec * 1000000000ull + st.st_mtim.tv_nsec;
	}

	proc_path(path, sizeof(path), procfs, pid, "cwd");
	n = read_link(path, link, sizeof(link));
	i->cwd = str_copy(link, n);

	/* bounded like the sensors' argv */
	proc_path(path, sizeof(path), procfs, pid, "cmdline");
	r = read_file(path, buf, VG_ARGS_MAX + 1);
	if (r > 0)
		args_copy(i, buf, (size_t)r);
	return 0;
}

int proctable__seed(struct proctable *pt, const char *procfs)
{
	char cg2[PATH_MAX];
	struct proc_info ni;
	struct dirent *de;
	unsigned long pid;
	char *end;
	int added = 0;
	DIR *d = opendir(procfs);

	if (!d)
		return -errno;
	proctable_cgroup2_mount(procfs, cg2, sizeof(cg2));
	while ((de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		pid = strtoul(de->d_name, &end, 10);
		if (*end || pid > UINT32_MAX || lookup(pt, (uint32_t)pid))
			continue;
		/* a process that vanishes while it is read is skipped */
		if (seed_read(pt, procfs, (uint32_t)pid, cg2, &ni)) {
			info_release(&ni);
			continue;
		}
		if (entry_add(pt, &ni))
			added++;
	}
	closedir(d);
	pt->seeded += (uint64_t)added;
	return added;
}

void proctable__foreach(struct proctable *pt, void (*fn)(void *arg, const struct proc_info *p),
			void *arg)
{
	size_t i;

	for (i = 0; i < ((size_t)1 << pt->bits); i++)
		for (struct proc_entry *e = pt->buckets[i]; e; e = e->hnext)
			fn(arg, &e->info);
}

int proctable_cgroup_birth(uint64_t cgroup_id, uint64_t *ns)
{
	static int mount_fd = -2;
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = {.fh = {.handle_bytes = sizeof(uint64_t), .handle_type = 0xfe /* kernfs */},
	       .id = cgroup_id};
	struct stat st;
	int fd;

	if (mount_fd == -2) {
		char cg2[PATH_MAX];

		proctable_cgroup2_mount("/proc", cg2, sizeof(cg2));
		mount_fd = cg2[0] ? open(cg2, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	}
	if (mount_fd < 0)
		return -ENOENT;
	fd = open_by_handle_at(mount_fd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		close(fd);
		return -errno;
	}
	close(fd);
	*ns = st.st_ctim.tv_sec * 1000000000ull + st.st_ctim.tv_nsec;
	return 0;
}
