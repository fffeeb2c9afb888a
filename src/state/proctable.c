/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * proctable.c - the process table: a hash of entries chained by pid, plus a list of
 * exited entries ordered by exit time, so that evicting after the linger time and
 * making room in a full table both take the oldest exited entry in O(1), plus a list
 * of live entries ordered by when an event last named them, so that a full table
 * with no exited entry makes room by evicting the least recently seen live one: a
 * new process is always tracked (an evicted one is still attributed to its
 * container by its records' cgroup id, proctable__container()).
 *
 * A pid names a process only together with its start time: an entry whose start
 * differs from an event's, or that has exited, belongs to an earlier process that
 * had the same pid, and is replaced. Entries seeded from /proc know their start only
 * to a clock tick, so for them "same start" means within one tick.
 *
 * A process's container comes from the cgroup path its exec record carries,
 * derived once per cgroup id in the container table the process table holds; for
 * a process the table does not know, from the cgroup id alone (resolved to its path).
 * Seeding from /proc is in procfs.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state/cgroup.h"
#include "state/proctable_int.h"

#define NSEC_PER_SEC	   1000000000ull
#define PROC_HASH_MIN_BITS 4
#define PROC_HASH_MAX_BITS 24
#define CONTAINERS_MAX	   4096 /* cgroups whose container identity is cached */
#define ANCESTRY_WALK_MAX  4096 /* parents followed at most (pid_max bounds a real chain) */
#define GONE_MAX	   4096 /* executables of exited processes kept past their linger */

struct proc_entry {
	struct proc_info info;		  /* first: callers hold &info */
	struct proc_entry *hnext;	  /* hash chain */
	struct proc_entry *xprev, *xnext; /* exited list, oldest exit first */
	struct proc_entry *lprev, *lnext; /* live list, least recently seen first */
};

/*
 * The executable of a process whose entry was evicted after it exited: what names the
 * writer of a program run long after the writer is gone (a linker, a download tool).
 */
struct proc_gone {
	uint32_t pid;
	uint64_t start_ns;
	char *exe; /* taken over from the entry */
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
	struct proc_entry *lhead, *ltail; /* live entries, least recently seen first */
	uint64_t evicted;		  /* exited entries removed */
	uint64_t evicted_live;		  /* live entries removed to make room */
	uint64_t dropped_full;		  /* /proc entries not recorded: table full */
	uint64_t seeded;		  /* entries read from /proc */
	struct containers *containers;	  /* container identity per cgroup id */
	bool keep_env;			  /* entries keep the environment */
	uint64_t env_truncated;		  /* exec records with a cut environment */
	uint64_t new_since_ns;		  /* proc.exe_new: changed at or after (realtime) */
	uint64_t new_age_ns;		  /* proc.exe_new: or changed within this */
	struct proc_gone *gone;		  /* GONE_MAX slots, a ring; NULL until first used */
	size_t gone_next;		  /* slots ever filled */
};

/* The "" of entries without a string; shared, never freed. */
static char proc_no_str[1];

char *proc_str_copy(const char *s, size_t n)
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

/* n bytes of s, NUL-terminated, into *dst (NULL when empty or out of memory). */
static void bytes_copy(char **dst, size_t *dst_len, const char *s, size_t n)
{
	*dst = NULL;
	*dst_len = 0;
	if (n == 0 || !(*dst = malloc(n + 1)))
		return;
	memcpy(*dst, s, n);
	(*dst)[n] = '\0';
	*dst_len = n;
}

void proc_args_copy(struct proc_info *i, const char *s, size_t n)
{
	bytes_copy(&i->args, &i->args_len, s, n);
}

void proc_env_copy(struct proc_info *i, const char *s, size_t n)
{
	bytes_copy(&i->env, &i->env_len, s, n);
}

bool proctable_keeps_env(const struct proctable *pt)
{
	return pt->keep_env;
}

void proctable__keep_env(struct proctable *pt, bool keep)
{
	pt->keep_env = keep;
}

void proc_info_release(struct proc_info *i)
{
	str_free(i->exe);
	str_free(i->cwd);
	free(i->args);
	free(i->env);
	i->exe = i->cwd = i->args = i->env = NULL;
	if (i->writer) {
		str_free(i->writer->exe);
		free(i->writer);
		i->writer = NULL;
	}
}

/* A copy of w (its exe string too); NULL when w is or memory is short. */
static struct proc_writer *writer_copy(const struct proc_writer *w)
{
	struct proc_writer *c;

	if (!w || !(c = malloc(sizeof(*c))))
		return NULL;
	*c = *w;
	c->exe = proc_str_copy(w->exe, strlen(w->exe));
	return c;
}

void proctable__set_new_exe(struct proctable *pt, uint64_t since_ns, uint64_t age_ns)
{
	pt->new_since_ns = since_ns;
	pt->new_age_ns = age_ns;
}

bool proctable__exe_new(const struct proctable *pt, const struct proc_info *p, uint64_t now_ns,
			uint64_t *age_ns)
{
	uint64_t changed = p->exe_ctime_ns > p->exe_mtime_ns ? p->exe_ctime_ns : p->exe_mtime_ns;

	*age_ns = 0;
	if (!changed)
		return false;
	*age_ns = now_ns > changed ? now_ns - changed : 0;
	return (pt->new_since_ns && changed >= pt->new_since_ns) ||
	       (pt->new_age_ns && *age_ns <= pt->new_age_ns);
}

void proc_info_init(struct proc_info *i, uint32_t pid)
{
	memset(i, 0, sizeof(*i));
	i->pid = pid;
	i->loginuid = (uint32_t)-1;
	i->exe = proc_no_str;
	i->cwd = proc_no_str;
	container_parse_cgroup(NULL, 0, &i->container);
}

void proc_comm_copy(char dst[VG_COMM_LEN], const char *src, size_t n)
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

static void live_unlink(struct proctable *pt, struct proc_entry *e)
{
	if (e->lprev)
		e->lprev->lnext = e->lnext;
	else
		pt->lhead = e->lnext;
	if (e->lnext)
		e->lnext->lprev = e->lprev;
	else
		pt->ltail = e->lprev;
	e->lprev = e->lnext = NULL;
}

/* Puts a live entry at the most recently seen end of the live list. */
static void live_touch(struct proctable *pt, struct proc_entry *e)
{
	if (e->info.flags & PROC_F_EXITED || pt->ltail == e)
		return;
	if (e->lprev || pt->lhead == e)
		live_unlink(pt, e);
	e->lprev = pt->ltail;
	if (pt->ltail)
		pt->ltail->lnext = e;
	else
		pt->lhead = e;
	pt->ltail = e;
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

/* Keeps the executable of an exited process being evicted (taking its string over). */
static void gone_keep(struct proctable *pt, struct proc_info *i)
{
	struct proc_gone *g;

	if (!i->exe || i->exe == proc_no_str)
		return;
	if (!pt->gone && !(pt->gone = calloc(GONE_MAX, sizeof(*pt->gone))))
		return;
	g = &pt->gone[pt->gone_next++ % GONE_MAX];
	if (g->exe)
		str_free(g->exe);
	g->pid = i->pid;
	g->start_ns = i->start_ns;
	g->exe = i->exe;
	i->exe = proc_no_str;
}

/* The executable of the evicted process (pid, start_ns), newest first; NULL if gone. */
static char *gone_exe(const struct proctable *pt, uint32_t pid, uint64_t start_ns)
{
	size_t n = pt->gone_next < GONE_MAX ? pt->gone_next : GONE_MAX;

	for (size_t k = 1; pt->gone && k <= n; k++) {
		const struct proc_gone *g = &pt->gone[(pt->gone_next - k) % GONE_MAX];

		if (g->pid == pid && (g->start_ns == start_ns || !g->start_ns || !start_ns))
			return g->exe;
	}
	return NULL;
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
		gone_keep(pt, &e->info);
	} else {
		live_unlink(pt, e);
	}
	proc_info_release(&e->info);
	free(e);
	pt->count--;
}

/*
 * A new entry holding *info (whose strings it takes over), making room by evicting
 * the oldest exited entry, failing that (when evict_live) the least recently seen
 * live one. NULL, with *info released, when no room was made or memory is short.
 */
static struct proc_entry *entry_add(struct proctable *pt, struct proc_info *info, bool evict_live)
{
	struct proc_entry *e, **head;

	if (pt->count >= pt->max_entries) {
		if (pt->xhead) {
			entry_destroy(pt, pt->xhead);
		} else if (evict_live && pt->lhead) {
			entry_destroy(pt, pt->lhead);
			pt->evicted_live++;
		} else {
			pt->dropped_full++;
			goto err_release;
		}
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		goto err_release;
	e->info = *info;
	head = bucket(pt, info->pid);
	e->hnext = *head;
	*head = e;
	pt->count++;
	live_touch(pt, e);
	return e;

err_release:
	proc_info_release(info);
	return NULL;
}

/* Replaces what e says with *info, whose strings it takes over. */
static void entry_set(struct proc_entry *e, struct proc_info *info)
{
	proc_info_release(&e->info);
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
	pt->new_age_ns = PROC_NEW_EXE_AGE_NS;
	pt->hz = hz > 0 ? (uint64_t)hz : 100;
	pt->tick_ns = NSEC_PER_SEC / pt->hz;
	pt->containers = containers__new(CONTAINERS_MAX);
	if (!pt->containers)
		goto err_free_buckets;
	return pt;

err_free_buckets:
	free(pt->buckets);
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
			proc_info_release(&e->info);
			free(e);
		}
	}
	for (size_t k = 0; pt->gone && k < GONE_MAX; k++)
		if (pt->gone[k].exe)
			str_free(pt->gone[k].exe);
	free(pt->gone);
	containers__free(pt->containers);
	free(pt->buckets);
	free(pt);
}

struct containers *proctable__containers(struct proctable *pt)
{
	return pt->containers;
}

uint64_t proctable_hz(const struct proctable *pt)
{
	return pt->hz;
}

bool proctable_add_seeded(struct proctable *pt, struct proc_info *info)
{
	/* what /proc lists never displaces what events showed */
	if (!entry_add(pt, info, false))
		return false;
	pt->seeded++;
	return true;
}

struct proc_info *proctable__find(struct proctable *pt, uint32_t pid)
{
	struct proc_entry *e = lookup(pt, pid);

	if (!e)
		return NULL;
	live_touch(pt, e);
	return &e->info;
}

const struct container_ident *proctable__container(struct proctable *pt, uint64_t cgroup_id)
{
	const struct container_entry *ce = containers__lookup(pt->containers, cgroup_id);
	char path[4096];

	if (ce)
		return &ce->ident;
	/* not cached when unresolvable: a later exec record may still name the path */
	if (!cgroup_id || cgroup_id_path(cgroup_id, path, sizeof(path)))
		return NULL;
	ce = containers__resolve(pt->containers, cgroup_id, path, strlen(path));
	return ce ? &ce->ident : NULL;
}

/* The container of cgroup_id (proctable__container), the host when unresolvable. */
static void container_of_id(struct proctable *pt, uint64_t cgroup_id, struct container_ident *out)
{
	const struct container_ident *c = proctable__container(pt, cgroup_id);

	if (c)
		*out = *c;
	else
		container_parse_cgroup(NULL, 0, out);
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

	return exec_str(ev, size, s, &p, &n) ? proc_str_copy(p, n) : proc_no_str;
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
	proc_comm_copy(i->comm, h->comm, VG_COMM_LEN);
}

/* The container a cgroup path names: from the table when its id was seen before. */
static void container_of_cgroup(struct proctable *pt, uint64_t cgroup_id, const char *path,
				size_t len, struct container_ident *out)
{
	const struct container_entry *ce =
	    containers__resolve(pt->containers, cgroup_id, path, len);

	if (ce)
		*out = ce->ident;
	else
		container_parse_cgroup(path, len, out); /* id unknown (0): nothing to key on */
}

/* What an exec record says of the process (e: its entry so far, or NULL) into ni. */
static void exec_info(struct proctable *pt, const struct vg_exec *ev, size_t size,
		      const struct proc_entry *e, struct proc_info *out)
{
	const struct vg_hdr *h = &ev->hdr;
	struct proc_info ni;
	const char *p;
	size_t n;

	proc_info_init(&ni, h->pid);
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
	/* an exec record's compat flag tells the new image's ABI */
	if (h->flags & VG_HF_COMPAT)
		ni.flags |= PROC_F_COMPAT;
	if (size >= sizeof(*ev)) {
		ni.exe_ctime_ns = ev->exe_ctime_ns;
		ni.exe_mtime_ns = ev->exe_mtime_ns;
	}
	if (h->flags & VG_XF_EXE_WRITTEN) {
		/* the writer's exe is looked up now: it may be this very process, about
		 * to be replaced, or exit soon */
		struct proc_writer w = {.pid = ev->writer.pid,
					.tid = ev->writer.tid,
					.uid = ev->writer.uid,
					.flags = ev->writer.flags,
					.start_ns = ev->writer.start_ns,
					.ts_ns = ev->writer.ts_ns,
					.exe = proc_no_str};
		struct proc_entry *we = lookup(pt, w.pid);
		char *gone;

		proc_comm_copy(w.comm, ev->writer.comm, VG_COMM_LEN);
		if (we && same_start(pt, we, w.start_ns))
			w.exe = we->info.exe;
		else if ((gone = gone_exe(pt, w.pid, w.start_ns)))
			w.exe = gone; /* it exited and its entry is gone: a linker, a downloader */
		ni.writer = writer_copy(&w);
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
		proc_args_copy(&ni, p, n);
	ni.vpid = ev->vpid;
	ni.vpgid = ev->vpgid;
	if (h->flags & VG_XF_ENV_TRUNC)
		pt->env_truncated++;
	if (pt->keep_env && exec_str(ev, size, ev->env, &p, &n))
		proc_env_copy(&ni, p, n);
	if (exec_str(ev, size, ev->cgroup, &p, &n))
		container_of_cgroup(pt, h->cgroup_id, p, n, &ni.container);
	else if (e)
		ni.container = e->info.container; /* exec does not move a process */

	else
		container_of_id(pt, h->cgroup_id, &ni.container);
	*out = ni;
}

struct proc_info *proctable__on_exec(struct proctable *pt, const struct vg_exec *ev, size_t size)
{
	const struct vg_hdr *h = &ev->hdr;
	struct proc_entry *e;
	struct proc_info ni;

	if (size < sizeof(*ev))
		return NULL;
	e = lookup_live(pt, h->pid, h->start_ns);
	exec_info(pt, ev, size, e, &ni);
	if (e) {
		entry_set(e, &ni);
		live_touch(pt, e);
		return &e->info;
	}
	e = entry_add(pt, &ni, true);
	return e ? &e->info : NULL;
}

bool proctable__exec_attempt(struct proctable *pt, const struct vg_exec *ev, size_t size,
			     struct proc_info *out)
{
	if (size < sizeof(*ev))
		return false;
	exec_info(pt, ev, size, lookup_live(pt, ev->hdr.pid, ev->hdr.start_ns), out);
	return true;
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

	proc_info_init(&ni, ev->child_pid);
	info_from_hdr(&ni, h);
	ni.ppid = h->pid;
	ni.start_ns = ev->child_start_ns;
	c = entry_add(pt, &ni, true);
	if (!c)
		return NULL;
	/* looked up only now: making room may have evicted an exited entry */
	parent = lookup(pt, h->pid);
	if (parent && !(parent->info.flags & PROC_F_EXITED) &&
	    same_start(pt, parent, h->start_ns)) {
		const struct proc_info *pi = &parent->info;

		c->info.exe = proc_str_copy(pi->exe, strlen(pi->exe));
		c->info.cwd = proc_str_copy(pi->cwd, strlen(pi->cwd));
		proc_args_copy(&c->info, pi->args, pi->args_len);
		if (pt->keep_env)
			proc_env_copy(&c->info, pi->env, pi->env_len);
		c->info.vpgid = pi->vpgid; /* a fork stays in its parent's group */
		c->info.tty = pi->tty;
		c->info.sid = pi->sid;
		c->info.exe_ino = pi->exe_ino;
		c->info.exe_ctime_ns = pi->exe_ctime_ns;
		c->info.exe_mtime_ns = pi->exe_mtime_ns;
		c->info.cap_eff = pi->cap_eff;
		c->info.writer = writer_copy(pi->writer);
		/* a parent moved to another cgroup since we saw it: the record says where */
		if (pi->cgroup_id == h->cgroup_id)
			c->info.container = pi->container;
		else
			container_of_id(pt, h->cgroup_id, &c->info.container);
		c->info.flags = pi->flags & (PROC_F_EXE_MEMFD | PROC_F_EXE_DELETED |
					     PROC_F_EXE_UPPER | PROC_F_COMPAT);
	} else {
		/* an unknown parent: its record still says which cgroup it is in */
		container_of_id(pt, h->cgroup_id, &c->info.container);
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
	live_unlink(pt, e);
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
			   size_t max, bool *unknown)
{
	struct proc_entry *e = lookup(pt, pid), *p;
	size_t n = 0, k, steps = 0;
	bool gap = !e;

	/* past max, the walk goes on only to tell whether the chain is complete */
	while (e && (n < max || unknown) && e->info.ppid != 0 && e->info.ppid != e->info.pid) {
		if (++steps > ANCESTRY_WALK_MAX)
			break; /* a loop beyond what out holds */
		p = lookup(pt, e->info.ppid);
		if (!p || !started_before(pt, &p->info, &e->info)) {
			gap = true; /* never seen, evicted, or its pid reused since */
			break;
		}
		if (p->info.pid == pid)
			break;
		for (k = 0; k < n && out[k] != &p->info; k++)
			;
		if (k < n)
			break; /* a loop */
		if (n < max)
			out[n++] = &p->info;
		e = p;
	}
	if (unknown)
		*unknown = gap;
	return n;
}

void proctable__stats(const struct proctable *pt, struct proctable_stats *out)
{
	out->live = pt->count - pt->lingering;
	out->lingering = pt->lingering;
	out->evicted = pt->evicted;
	out->evicted_live = pt->evicted_live;
	out->dropped_full = pt->dropped_full;
	out->seeded = pt->seeded;
	out->env_truncated = pt->env_truncated;
}

void proctable__foreach(struct proctable *pt, void (*fn)(void *arg, const struct proc_info *p),
			void *arg)
{
	size_t i;

	for (i = 0; i < ((size_t)1 << pt->bits); i++)
		for (struct proc_entry *e = pt->buckets[i]; e; e = e->hnext)
			fn(arg, &e->info);
}
