// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_prefilter_sound.c - the prefilter and the rule engine's guards are sound, as a
 * property (an engine with guards raises the same alerts as one without): for generated rule
 * sets (path, comm and port fields, every operator the derivation reduces and some
 * it does not, negations, macros, lists, exceptions, `and`/`or`) and generated
 * events (records built as the sensors build them, then event_decode: resolved and
 * joined paths with "//", "/./", "..", trailing slashes, names near the trie's and
 * the record's limits; ports including 0; comms cut to the kernel's 15 bytes; failed
 * calls; opens for reading and writing), every alert the rules raise on an event is
 * also raised when the event first passes the prefilter the agent derives from
 * those rules (detect_derive_prefilter, then filter_spec_pass). A model of the
 * sensors' decision (bpf/core/filter.bpf.h and the sensors' order of checks, the
 * trie's longest match and its last-written entry) is checked against the
 * user-space mirror on the same specs.
 *
 * Deterministic: the seed is fixed unless VIGIL_SOUND_SEED is set; VIGIL_SOUND_CASES
 * sets the number of rule sets, VIGIL_SOUND_CASE runs one of them. A failure prints
 * the seed, the case, the rules, the event and the spec, which reproduce it.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "detect/detect.h"
#include "detect/fields.h"
#include "detect/filter.h"
#include "events/event.h"

#define DEFAULT_SEED	0x5eed13u
#define DEFAULT_CASES	2000 /* rule sets; each meets EVENTS_PER_CASE events */
#define EVENTS_PER_CASE 48
#define REC_MAX		VG_EVENT_MAX

/* ---- a seeded generator (splitmix64) ---- */

static uint64_t rs;

static uint64_t next64(void)
{
	uint64_t z = (rs += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned rnd(unsigned n)
{
	return (unsigned)(next64() % n);
}

#define PICK(a) ((a)[rnd(sizeof(a) / sizeof((a)[0]))])

/* ---- value pools: rules and events draw from overlapping sets ---- */

static char long252[256], long253[256], long300[304], long1000[1004], long4000[4004];
static char long251p[256], long260p[264];

static void make_long(char *out, const char *head, size_t len)
{
	size_t h = strlen(head);

	memcpy(out, head, h);
	memset(out + h, 'a', len - h);
	out[len] = 0;
}

static void pools_init(void)
{
	make_long(long252, "/var/log/", 252);
	make_long(long253, "/var/log/", 253);
	make_long(long300, "/etc/", 300);
	make_long(long1000, "/home/u/", 1000);
	make_long(long4000, "/var/log/", 4000);
	make_long(long251p, "/var/log/", 251);
	make_long(long260p, "/etc/", 260);
}

/* canonical paths the events name (what d_path would print) */
static const char *canon(void)
{
	static const char *const p[] = {
	    "/",
	    "/etc",
	    "/etc/shadow",
	    "/etc/passwd",
	    "/etc/cron.d",
	    "/etc/cron.d/job",
	    "/etc/ssh/sshd_config",
	    "/var/log",
	    "/var/log/syslog",
	    "/var/log/auth.log",
	    "/var/tmp/x",
	    "/var/spool/cron/root",
	    "/root/.ssh/authorized_keys",
	    "/root/.bash_history",
	    "/home/u/.bash_history",
	    "/tmp",
	    "/tmp/a",
	    "/tmp/etc/shadow",
	    "/usr/bin/ls",
	    "/dev/shm/x",
	};

	switch (rnd(12)) {
	case 0:
		return PICK(((const char *const[]){long252, long253, long300, long1000, long4000}));
	default:
		return PICK(p);
	}
}

static const char *rule_path(void)
{
	static const char *const p[] = {
	    "/etc/",	       "/etc",
	    "/var/log/",       "/var/lo",
	    "/home/",	       "/root/",
	    "/tmp/",	       "/etc/cron.d/",
	    "/etc/cron.d",     "/",
	    "/etc/shadow",     "/etc/passwd",
	    "/var/log/syslog", "/tmp/a",
	    "/usr/bin/",       "/dev/shm/",
	    "/etc/cron.d/job", "etc/shadow",
	    "shadow",	       "",
	    "/var/tmp/x/",     "/root/.bash_history",
	};

	switch (rnd(10)) {
	case 0:
		return PICK(((const char *const[]){long252, long253, long300, long251p, long260p}));
	case 1:
		return canon();
	default:
		return PICK(p);
	}
}

static const char *rule_filename(void)
{
	static const char *const p[] = {"shadow",	   "syslog", "job", ".bash_history",
					"authorized_keys", "x",	     "",    "passwd",
					"cron.d"};
	return PICK(p);
}

static const char *rule_dir(void)
{
	static const char *const p[] = {"/etc",	      "/var/log", "/etc/cron.d", "/",
					"/root/.ssh", "/tmp",	  "/etc/",	 "/home/u"};
	return PICK(p);
}

static const char *rule_glob(void)
{
	static const char *const p[] = {
	    "/etc/*",	    "/var/log/*.log", "*shadow", "/etc/cron.?/*", "/home/*/.bash_history",
	    "/var/lo[g]/*", "/etc/shadow",    "/tmp/?"};
	return PICK(p);
}

/* names of processes; the kernel keeps 15 bytes of them */
static const char *const comms[] = {"cat",
				    "sshd",
				    "bash",
				    "nc",
				    "systemd-sysusers",
				    "systemd-sysuser",
				    "systemd-tmpfile",
				    "update-ca-certificates",
				    "aaaaaaaaaaaaaaa",
				    "aaaaaaaaaaaaaaaa",
				    ""};

static const unsigned ports[] = {0, 22, 80, 443, 3333, 4444, 65535};

/* event types a rule names and the generator produces */
static const char *const evnames[] = {
    "open",	"openat",    "openat2",	  "creat",    "unlink",	   "unlinkat", "rmdir",
    "rename",	"renameat",  "renameat2", "mkdir",    "mkdirat",   "chmod",    "fchmod",
    "fchmodat", "fchmodat2", "chown",	  "fchown",   "lchown",	   "fchownat", "link",
    "linkat",	"symlink",   "symlinkat", "truncate", "ftruncate", "connect",  "accept",
    "accept4",	"bind",	     "listen",	  "setuid",   "ptrace",	   "kill",     "mount",
    "umount2",	"sendto",    "sendmsg",	  "recvfrom", "recvmsg",   "socket",
};
#define NEVNAMES (sizeof(evnames) / sizeof(evnames[0]))

/* ---- rule sets ---- */

struct gen_rules {
	char yaml[32768];
	size_t off;
	int nlists;	      /* path lists l0.. */
	int ncomm_lists;      /* comm lists c0.. */
	int nmacros;	      /* macros m0.. */
	const char *named[8]; /* event names the rules mention, to bias events */
	int nnamed;
};

static void add(struct gen_rules *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct gen_rules *g, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(g->yaml + g->off, sizeof(g->yaml) - g->off, fmt, ap);
	va_end(ap);
	cr_assert(n >= 0 && (size_t)n < sizeof(g->yaml) - g->off, "rule text too long");
	g->off += (size_t)n;
}

static const char *evname(struct gen_rules *g)
{
	const char *n = evnames[rnd(NEVNAMES)];

	if (g->nnamed < 8)
		g->named[g->nnamed++] = n;
	return n;
}

/* a quoted value for a condition: paths may be empty or long */
static void qv(struct gen_rules *g, const char *v)
{
	add(g, "\"%s\"", v);
}

static void atom(struct gen_rules *g, int depth);

static void cond(struct gen_rules *g, int depth)
{
	unsigned r = rnd(10);

	if (depth > 2 || r < 4) {
		atom(g, depth);
		return;
	}
	if (r < 9) {
		unsigned n = 2 + rnd(2);

		add(g, "(");
		for (unsigned i = 0; i < n; i++) {
			if (i)
				add(g, r < 6 ? " and " : " or ");
			cond(g, depth + 1);
		}
		add(g, ")");
		return;
	}
	add(g, "not (");
	cond(g, depth + 1);
	add(g, ")");
}

static void path_atom(struct gen_rules *g, const char *field)
{
	static const char *const ops[] = {"=",	      "!=",	  "in",		"startswith",
					  "endswith", "contains", "pmatch",	"glob",
					  "exists",   "=",	  "startswith", "in"};
	const char *op = PICK(ops);
	bool fname = !strcmp(field, "fd.filename");
	bool dir = !strcmp(field, "fd.directory");
	const char *(*val)(void) = fname ? rule_filename : dir ? rule_dir : rule_path;

	if (!strcmp(op, "exists")) {
		add(g, "%s exists", field);
	} else if (!strcmp(op, "in") || !strcmp(op, "pmatch")) {
		if (g->nlists && rnd(3) == 0) {
			add(g, "%s %s (l%u)", field, op, rnd((unsigned)g->nlists));
			return;
		}
		add(g, "%s %s (", field, op);
		for (unsigned i = 0, n = 1 + rnd(3); i < n; i++) {
			add(g, i ? ", " : "");
			qv(g, val());
		}
		add(g, ")");
	} else if (!strcmp(op, "glob")) {
		add(g, "%s glob ", field);
		qv(g, fname ? "*.log" : rule_glob());
	} else {
		add(g, "%s %s ", field, op);
		/* a suffix with a '/' fixes the file's own name */
		qv(g, !strcmp(op, "endswith") ? (rnd(3) ? rule_filename() : "/shadow") : val());
	}
}

static void comm_atom(struct gen_rules *g)
{
	static const char *const ops[] = {"=", "!=", "in", "startswith", "glob", "contains", "="};
	const char *op = PICK(ops);

	if (!strcmp(op, "in")) {
		if (g->ncomm_lists && rnd(2)) {
			add(g, "proc.name in (c%u)", rnd((unsigned)g->ncomm_lists));
			return;
		}
		add(g, "proc.name in (");
		for (unsigned i = 0, n = 1 + rnd(3); i < n; i++)
			add(g, "%s\"%s\"", i ? ", " : "", PICK(comms));
		add(g, ")");
	} else if (!strcmp(op, "glob")) {
		add(g, "proc.name glob \"%s\"", rnd(2) ? "systemd-*" : "cat");
	} else {
		add(g, "proc.name %s \"%s\"", op, PICK(comms));
	}
}

static void port_atom(struct gen_rules *g)
{
	static const char *const fields[] = {"fd.sport", "fd.rport", "fd.lport", "fd.cport",
					     "fd.port",	 "fd.sport", "fd.rport"};
	static const char *const ops[] = {"=", "!=", "in", "<", ">", "exists", "=", "in"};
	const char *f = PICK(fields), *op = PICK(ops);

	if (!strcmp(op, "exists"))
		add(g, "%s exists", f);
	else if (!strcmp(op, "in"))
		add(g, "%s in (%u, %u)", f, PICK(ports), rnd(8) ? PICK(ports) : 70000);
	else
		add(g, "%s %s %u", f, op, PICK(ports));
}

static void atom(struct gen_rules *g, int depth)
{
	static const char *const pfields[] = {"fd.name",      "fd.name",     "fs.path.name",
					      "fd.directory", "fd.filename", "fd.nameraw"};

	switch (rnd(16)) {
	case 0:
	case 1:
	case 2:
	case 3:
	case 4:
		path_atom(g, PICK(pfields));
		return;
	case 5:
	case 6:
	case 7:
		comm_atom(g);
		return;
	case 8:
	case 9:
		port_atom(g);
		return;
	case 10:
		add(g, "evt.type = %s", evname(g));
		return;
	case 11:
		add(g, "evt.type in (%s, %s)", evname(g), evname(g));
		return;
	case 12:
		add(g, "%s",
		    PICK(((const char *const[]){
			"evt.failed = true", "evt.res < 0", "evt.is_open_write = true",
			"evt.is_open_read = true", "evt.is_open_write = false",
			"evt.is_open_read in (false)", "evt.arg.flags contains O_WRONLY"})));
		return;
	case 13:
		if (g->nmacros) {
			add(g, "m%u", rnd((unsigned)g->nmacros));
			return;
		}
		/* fall through */
	default:
		add(g, "not ");
		atom(g, depth + 1);
	}
}

static void gen_rules(struct gen_rules *g)
{
	memset(g, 0, sizeof(*g));
	g->nlists = (int)rnd(3);
	for (int i = 0; i < g->nlists; i++) {
		add(g, "- list: l%d\n  items: [", i);
		for (unsigned k = 0, n = 1 + rnd(3); k < n; k++) {
			add(g, k ? ", " : "");
			qv(g, rule_path());
		}
		add(g, "]\n");
	}
	g->ncomm_lists = (int)rnd(2);
	for (int i = 0; i < g->ncomm_lists; i++)
		add(g, "- list: c%d\n  items: [\"%s\", \"%s\"]\n", i, PICK(comms), PICK(comms));
	for (int i = 0, n = (int)rnd(3); i < n; i++) {
		add(g, "- macro: m%d\n  condition: '", i);
		cond(g, 1);
		add(g, "'\n");
		g->nmacros = i + 1;
	}
	for (int i = 0, n = 1 + (int)rnd(4); i < n; i++) {
		add(g, "- rule: r%d\n  desc: d\n  condition: '", i);
		switch (rnd(6)) {
		case 0:
			break; /* every event type */
		case 1:
			add(g, "evt.type in (%s, %s, %s) and ", evname(g), evname(g), evname(g));
			break;
		case 2:
			add(g, "evt.type != %s and ", evname(g));
			break;
		default:
			add(g, "evt.type = %s and ", evname(g));
		}
		cond(g, 0);
		add(g, "'\n  output: o\n  priority: WARNING\n");
		if (rnd(4) == 0) {
			add(g, "  exceptions:\n    - name: e\n      fields: [proc.name, fd.name]\n"
			       "      comps: [=, startswith]\n      values:\n");
			add(g, "        - [\"%s\", \"%s\"]\n", PICK(comms), rule_path());
		}
	}
}

/* ---- events, built as the sensors build their records ---- */

struct gen_event {
	union {
		struct vg_hdr h;
		struct vg_file f;
		struct vg_net n;
		struct vg_priv p;
		char buf[REC_MAX];
	};
	size_t off;	 /* bytes used */
	bool obj;	 /* file: the path came from the object (fd, opened file) */
	bool sock;	 /* net: the call had a socket */
	char desc[4096]; /* what it is, for failures */
	size_t dlen;
};

static void describe(struct gen_event *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void describe(struct gen_event *e, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(e->desc + e->dlen, sizeof(e->desc) - e->dlen, fmt, ap);
	va_end(ap);
	if (n > 0)
		e->dlen = e->dlen + (size_t)n < sizeof(e->desc) ? e->dlen + (size_t)n
								: sizeof(e->desc) - 1;
}

/* Returns whether the string was cut. */
static bool put_bytes(struct gen_event *e, struct vg_str *s, const char *p, size_t n)
{
	size_t want = n;

	/* the sensors cut a string at the end of the record (VG_EVENT_MAX) */
	if (e->off + n + 1 > VG_EVENT_MAX)
		n = e->off + 1 < VG_EVENT_MAX ? VG_EVENT_MAX - e->off - 1 : 0;
	if (!n && e->off + 1 >= VG_EVENT_MAX)
		return want > 0;
	s->off = (uint32_t)e->off;
	s->len = (uint32_t)n;
	memcpy(e->buf + e->off, p, n);
	e->buf[e->off + n] = 0;
	e->off += n + 1;
	e->h.size = (uint16_t)e->off;
	return n < want;
}

/* A raw argument: a cut one is flagged as the sensors flag it. */
static void put_raw(struct gen_event *e, struct vg_str *s, const char *p)
{
	if (put_bytes(e, s, p, strlen(p)))
		e->h.flags |= VG_FL_RAW_TRUNC;
}

/* The name a call passes for canonical path p, in a random form, and the base the
 * kernel joins a relative name to (the cwd or a dirfd's directory). */
struct name {
	char base[4100]; /* canonical base directory; empty for an absolute name */
	char name[4200]; /* as passed */
};

static void gen_name(const char *p, struct name *o)
{
	size_t len = strlen(p);
	const char *slash;
	size_t cut;

	memset(o, 0, sizeof(*o));
	switch (rnd(9)) {
	case 0:
	case 1: /* absolute, as is */
		snprintf(o->name, sizeof(o->name), "%s", p);
		return;
	case 2: /* absolute with "//" or "/./": copied as passed, folded by nobody */
		slash = strrchr(p, '/');
		snprintf(o->name, sizeof(o->name), "%.*s%s%s", (int)(slash - p), p,
			 rnd(2) ? "//" : "/./", slash + 1);
		return;
	case 3: /* relative to an unrelated directory, climbing with ".." */
		snprintf(o->base, sizeof(o->base), "/tmp/d");
		snprintf(o->name, sizeof(o->name), "../..%s", p);
		return;
	}
	/* relative to an ancestor: cut p at one of its slashes */
	if (len == 1) {
		snprintf(o->base, sizeof(o->base), "/");
		snprintf(o->name, sizeof(o->name), ".");
		return;
	}
	{
		size_t cuts[64], n = 0;

		for (size_t i = 0; i < len && n < 64; i++)
			if (p[i] == '/')
				cuts[n++] = i;
		cut = cuts[rnd((unsigned)n)];
	}
	snprintf(o->base, sizeof(o->base), "%.*s", (int)(cut ? cut : 1), p);
	snprintf(o->name, sizeof(o->name), "%s", p + cut + 1);
	switch (rnd(6)) {
	case 0: /* "./" in front */
		snprintf(o->name, sizeof(o->name), "./%s", p + cut + 1);
		break;
	case 1: /* a detour through ".." */
		snprintf(o->name, sizeof(o->name), "zz/../%s", p + cut + 1);
		break;
	case 2: /* "//" */
		slash = strchr(p + cut + 1, '/');
		if (slash)
			snprintf(o->name, sizeof(o->name), "%.*s/%s", (int)(slash - (p + cut + 1)),
				 p + cut + 1, slash);
		break;
	case 3: /* trailing '/' */
		snprintf(o->name, sizeof(o->name), "%s/", p + cut + 1);
		break;
	}
}

/* path = the kernel's joined_append of the name, flagged joined: an absolute name as
 * passed (the task's root is the namespace's), else the base + '/' + name (the base
 * "/" alone gives "/" + name). */
static void put_joined(struct gen_event *e, struct vg_str *path, uint32_t joined_flag,
		       const struct name *nm)
{
	char buf[8400];

	if (!nm->base[0])
		snprintf(buf, sizeof(buf), "%s", nm->name);
	else
		snprintf(buf, sizeof(buf), "%s/%s", strcmp(nm->base, "/") ? nm->base : "",
			 nm->name);
	put_bytes(e, path, buf, strlen(buf));
	e->h.flags |= joined_flag;
}

static void hdr(struct gen_event *e, uint16_t type, size_t size)
{
	const char *c = PICK(comms);

	memset(&e->h, 0, size);
	e->h.type = type;
	e->h.pid = 4242;
	e->h.tid = 4242;
	e->h.ppid = 1;
	e->h.cgroup_id = 1 + rnd(2);
	/* the kernel keeps the first TASK_COMM_LEN - 1 bytes */
	snprintf(e->h.comm, sizeof(e->h.comm), "%s", c);
	e->off = size;
	e->h.size = (uint16_t)size;
	describe(e, "comm='%s' ", e->h.comm);
}

/* The syscall table's row of a Falco event name. */
static const struct event_syscall *sys_row(const char *name)
{
	size_t n;
	const struct event_syscall *t = event_syscalls(&n);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(t[i].falco, name))
			return &t[i];
	cr_assert_fail("no syscall %s", name);
	return NULL;
}

static uint16_t sys_of(const char *name)
{
	return sys_row(name)->code;
}

static uint16_t kind_of(const char *name)
{
	return sys_row(name)->kind;
}

static void gen_file(struct gen_event *e, const char *sys)
{
	bool open = !strncmp(sys, "open", 4) || !strcmp(sys, "creat");
	bool fdcall = sys[0] == 'f' && strcmp(sys, "fchmodat") && strcmp(sys, "fchmodat2") &&
		      strcmp(sys, "fchownat");
	bool two = strstr(sys, "rename") || strstr(sys, "link");
	bool sym = !!strstr(sys, "symlink");
	const char *p = canon();
	struct name nm, nm2;
	uint16_t s = sys_of(sys);

	hdr(e, kind_of(sys), sizeof(struct vg_file));
	e->f.syscall = s;
	e->f.fd = -1;
	e->f.dirfd = -100;
	e->f.uid = e->f.gid = (uint32_t)-1;
	e->f.ret = rnd(3) ? 0 : -(int64_t)PICK(((const int[]){2, 13, 1, 17, 9}));
	gen_name(p, &nm);
	if (open) {
		static const uint32_t fl[] = {0, 01, 02, 0101, 01101, 02000, 0100000};

		e->f.flags = !strcmp(sys, "creat") ? 01101 : PICK(fl);
		if (e->f.ret == 0)
			e->f.ret = 3;
		e->f.fd = e->f.ret >= 0 ? (int)e->f.ret : -1;
	}
	if (nm.base[0] && rnd(2))
		e->f.dirfd = 5; /* the base is a dirfd's directory, not the cwd */
	describe(e, "%s ret=%lld flags=0%o ", sys, (long long)e->f.ret, e->f.flags);
	if ((open && e->f.ret >= 0) || (fdcall && e->f.ret != -9)) {
		/* the object's path, resolved from the kernel's dentries */
		e->obj = true;
		put_bytes(e, &e->f.path, p, strlen(p));
		if (fdcall)
			e->f.fd = 3;
		describe(e, "resolved='%s' ", p);
	} else if (!fdcall && (!strcmp(sys, "fchmodat2") || !strcmp(sys, "fchownat")) &&
		   rnd(3) == 0) {
		/* AT_EMPTY_PATH: the name is "" and the object dirfd's file, resolved */
		memset(&nm, 0, sizeof(nm));
		e->obj = true;
		e->f.flags = 0x1000;
		e->f.dirfd = 3;
		put_bytes(e, &e->f.path, p, strlen(p));
		describe(e, "AT_EMPTY_PATH of '%s' ", p);
	} else if (!fdcall) {
		put_joined(e, &e->f.path, VG_FL_PATH_JOINED, &nm);
		describe(e, "base='%s' name='%s' ", nm.base, nm.name);
	}
	if (!fdcall && (!e->obj || open || e->f.flags == 0x1000))
		put_raw(e, &e->f.raw, nm.name);
	if (two || sym) {
		if (sym) {
			/* path is the new link; raw2 the target it holds */
			put_raw(e, &e->f.raw2, p);
		} else {
			gen_name(canon(), &nm2);
			put_joined(e, &e->f.path2, VG_FL_PATH2_JOINED, &nm2);
			put_raw(e, &e->f.raw2, nm2.name);
			describe(e, "base2='%s' name2='%s' ", nm2.base, nm2.name);
		}
	}
}

static void gen_net(struct gen_event *e, const char *sys)
{
	uint16_t s = sys_of(sys);
	unsigned port = PICK(ports), other = rnd(2) ? 40000 : 0;
	unsigned fam = PICK(((const unsigned[]){AF_INET, AF_INET6, AF_INET, AF_UNIX}));
	/* send, recv: the peer is the caller's sockaddr (a send names it, a receive got it) */
	bool peer_arg = kind_of(sys) == VG_EV_SEND || kind_of(sys) == VG_EV_RECV;

	hdr(e, kind_of(sys), sizeof(struct vg_net));
	e->n.syscall = s;
	if (kind_of(sys) == VG_EV_SOCKET) {
		/* the arguments and the new fd: no port, no name */
		e->n.ret = rnd(3) ? 3 : -(int64_t)PICK(((const int[]){1, 97, 93}));
		e->n.fd = e->n.ret >= 0 ? 3 : -1;
		e->n.family = PICK(((const unsigned[]){AF_INET, AF_INET6, AF_UNIX, AF_PACKET}));
		e->n.sock_type = PICK(((const unsigned[]){SOCK_STREAM, SOCK_DGRAM, SOCK_RAW}));
		describe(e, "%s ret=%lld family=%u", sys, (long long)e->n.ret, e->n.family);
		return;
	}
	e->n.ret = rnd(3) ? 0 : -(int64_t)PICK(((const int[]){111, 13, 9, 98}));
	if (kind_of(sys) == VG_EV_RECV)
		e->n.ret = rnd(2) ? 5 : 0; /* a failed receive got no source: no event */
	e->n.fd = 3;
	e->sock = e->n.ret != -9;
	if (e->sock) {
		e->n.family = fam;
		e->n.sock_type = peer_arg ? SOCK_DGRAM : SOCK_STREAM;
		e->n.protocol = fam == AF_UNIX ? 0 : peer_arg ? 17 : 6;
	} else if (!strcmp(sys, "connect") || !strcmp(sys, "bind") || peer_arg) {
		e->n.family = fam; /* the caller's sockaddr says it */
	}
	if (e->n.family == AF_INET || e->n.family == AF_INET6) {
		if (!strcmp(sys, "connect") || peer_arg) {
			e->n.rport = port;
			e->n.lport = e->sock ? other : 0;
		} else if (e->sock || !strcmp(sys, "bind")) {
			e->n.lport = port;
			e->n.rport = strncmp(sys, "accept", 6) ? 0 : other;
		}
		e->n.laddr[0] = 127;
		e->n.raddr[0] = 127;
	} else if (e->n.family == AF_UNIX) {
		const char *u = PICK(((const char *const[]){"/run/x.sock", "@abs", "/tmp/s"}));

		put_bytes(e, &e->n.unix_path, u, strlen(u));
	}
	describe(e, "%s ret=%lld family=%u lport=%u rport=%u%s", sys, (long long)e->n.ret,
		 e->n.family, e->n.lport, e->n.rport, e->sock ? "" : " (no socket)");
}

static void gen_priv(struct gen_event *e, const char *sys)
{
	uint16_t s = sys_of(sys);

	hdr(e, kind_of(sys), sizeof(struct vg_priv));
	e->p.syscall = s;
	e->p.ret = rnd(3) ? 0 : -1;
	if (!strcmp(sys, "mount") || !strcmp(sys, "umount2")) {
		const char *t = canon();

		put_bytes(e, &e->p.s2, t, strlen(t));
	}
	describe(e, "%s ret=%lld", sys, (long long)e->p.ret);
}

static void gen_event(struct gen_event *e, const struct gen_rules *g)
{
	const char *sys =
	    g->nnamed && rnd(2) ? g->named[rnd((unsigned)g->nnamed)] : evnames[rnd(NEVNAMES)];
	uint16_t type = kind_of(sys);
	const struct event_kind *k = event_kind(type);

	e->obj = e->sock = false;
	e->dlen = 0;
	e->desc[0] = 0;
	switch (k->domain) {
	case EVENT_DOM_FILE:
		gen_file(e, sys);
		break;
	case EVENT_DOM_NET:
		gen_net(e, sys);
		break;
	default:
		gen_priv(e, sys);
	}
}

/* ---- the sensors' decision, modelled from bpf/core/filter.bpf.h and the sensors ---- */

struct trie_entry {
	const char *key; /* the item's string: the trie key's bytes */
	size_t len;	 /* its length: the key's prefixlen is 8 + 8 * len */
	bool exact;	 /* VG_PV_EXACT */
	bool covered;	 /* VG_PV_COVERED */
};

/* The value the trie holds for each key of a type: the last item written wins. */
static size_t trie_of(const struct filter_spec *f, int type, struct trie_entry *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < f->nitems; i++) {
		const struct filter_item *it = &f->items[i];
		struct trie_entry t;
		size_t k;

		if (it->type != type ||
		    (it->kind != FILTER_ITEM_PREFIX && it->kind != FILTER_ITEM_EXACT))
			continue;
		t = (struct trie_entry){it->str, strlen(it->str), it->kind == FILTER_ITEM_EXACT,
					false};
		if (t.exact) {
			/* a prefix item of the type that is a prefix of this one */
			for (size_t j = 0; j < f->nitems; j++) {
				const struct filter_item *p = &f->items[j];

				if (p->type == type && p->kind == FILTER_ITEM_PREFIX &&
				    !strncmp(it->str, p->str, strlen(p->str)))
					t.covered = true;
			}
		}
		for (k = 0; k < n; k++)
			if (out[k].len == t.len && !memcmp(out[k].key, t.key, t.len))
				break;
		cr_assert_lt(k, max);
		out[k] = t;
		if (k == n)
			n++;
	}
	return n;
}

/* filter_path(): the longest key that is a prefix of the path's first 252 bytes. */
static bool model_path(const struct filter_spec *f, int type, const char *s, size_t len)
{
	struct trie_entry t[256];
	size_t n = trie_of(f, type, t, 256),
	       cut = len > VG_FILTER_PATH_MAX ? VG_FILTER_PATH_MAX : len;
	const struct trie_entry *best = NULL;

	for (size_t i = 0; i < n; i++)
		if (t[i].len <= cut && !memcmp(t[i].key, s, t[i].len) &&
		    (!best || t[i].len > best->len))
			best = &t[i];
	if (!best)
		return false;
	return !best->exact || best->len == len || best->covered;
}

static bool model_item(const struct filter_spec *f, int type, enum filter_item_kind kind,
		       const char *comm, uint64_t num)
{
	for (size_t i = 0; i < f->nitems; i++) {
		const struct filter_item *it = &f->items[i];

		if (it->type != type || it->kind != kind)
			continue;
		if (kind == FILTER_ITEM_COMM ? !strncmp(it->str, comm, VG_COMM_LEN)
					     : it->num == num)
			return true;
	}
	return false;
}

/* filter_name_undecided (core/filter.bpf.h): a name user space may fold or resolve
 * into another path (a '/' in it, a leading '.', empty, or missing) */
static bool model_undecided(const char *raw, size_t len)
{
	if (!raw || !len || raw[0] == '.')
		return true;
	for (size_t i = 0; i < len; i++)
		if (raw[i] == '/')
			return true;
	return false;
}

static const char *rec_str(const struct gen_event *e, struct vg_str s, size_t *n)
{
	*n = s.len;
	return s.off ? e->buf + s.off : NULL;
}

/* filter_leaf(): the file's own name against the slot's leaf entries; a mount root ("/")
 * is not judged by its name */
static bool model_leaf(const struct filter_spec *f, int slot, const char *s, size_t n)
{
	const char *slash = s ? memrchr(s, '/', n) : NULL;

	if (!(f->types[slot].criteria & VG_FC_LEAF) || !slash || (n == 1 && s[0] == '/'))
		return true;
	return model_path(f, slot | VG_FS_LEAF, slash + 1, n - (size_t)(slash + 1 - s));
}

static bool model_kernel(const struct filter_spec *f, const struct gen_event *e)
{
	const struct event_kind *k = event_kind(e->h.type);
	/* an O_RDONLY open meets the criteria of its own slot */
	int slot = e->h.type == VG_EV_OPEN && !(e->f.flags & 03) ? VG_FS_OPEN_READ : e->h.type;
	const struct vg_filter_type *ft = &f->types[slot];
	uint32_t c = ft->criteria;
	bool write = false;
	int64_t ret;
	uint16_t port = 0;
	const char *s, *s2, *r;
	size_t n, n2, rn;

	if (ft->mode == VG_FILTER_ALL)
		return true;
	if (ft->mode != VG_FILTER_MATCH)
		return false;
	if (k->domain == EVENT_DOM_FILE) {
		ret = e->f.ret;
		write = e->h.type != VG_EV_OPEN || (e->f.flags & (01 | 02 | 0100 | 01000));
	} else if (k->domain == EVENT_DOM_NET) {
		ret = e->n.ret;
		if (e->n.family == AF_INET || e->n.family == AF_INET6)
			port = k->flags & EVENT_KF_PORT_REMOTE ? e->n.rport : e->n.lport;
	} else {
		ret = e->p.ret;
	}
	if ((c & VG_FC_WRITE_OPENS) && write)
		return true;
	if ((c & VG_FC_FAILED) && ret < 0)
		return true;
	if ((c & VG_FC_COMM) && model_item(f, slot, FILTER_ITEM_COMM, e->h.comm, 0))
		return true;
	if ((c & VG_FC_CGROUP) && model_item(f, slot, FILTER_ITEM_CGROUP, NULL, e->h.cgroup_id))
		return true;
	if ((c & VG_FC_PORT) && port && model_item(f, slot, FILTER_ITEM_PORT, NULL, port))
		return true;
	if (!(c & (VG_FC_PATH | VG_FC_LEAF)))
		return false;
	switch (k->domain) {
	case EVENT_DOM_PRIV:
		return true; /* no path criterion applies: FILTER_NEED_PATH sends */
	case EVENT_DOM_NET:
		if (!e->sock || e->n.family != AF_UNIX)
			return false;
		s = rec_str(e, e->n.unix_path, &n);
		return s && model_path(f, slot, s, n);
	}
	s = rec_str(e, e->f.path, &n);
	s2 = rec_str(e, e->f.path2, &n2);
	if (e->obj && !model_leaf(f, slot, s, n))
		return false;
	if (!(c & VG_FC_PATH))
		return true; /* leaves alone decide, and only for a file's own path */
	if (e->obj)
		return model_path(f, slot, s, n);
	if ((s && model_path(f, slot, s, n)) || (s2 && model_path(f, slot, s2, n2)))
		return true;
	/* a joined path the kernel leaves to user space, which may fold or resolve it */
	if (e->h.flags & VG_FL_RAW_TRUNC)
		return true;
	r = rec_str(e, e->f.raw, &rn);
	if ((e->h.flags & VG_FL_PATH_JOINED) && model_undecided(r, rn))
		return true;
	r = rec_str(e, e->f.raw2, &rn);
	return (e->h.flags & VG_FL_PATH2_JOINED) && model_undecided(r, rn);
}

/* ---- the property ---- */

struct fired {
	size_t rules[16];
	size_t n;
};

static void on_match(void *arg, size_t idx, const struct rule_info *rule)
{
	struct fired *fr = arg;

	if (fr->n < 16)
		fr->rules[fr->n++] = idx;
}

static char *spec_text(const struct filter_spec *f)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&buf, &n);

	cr_assert_not_null(m);
	filter_spec_print(f, m);
	fclose(m);
	return buf;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *s = getenv(name);

	return s && *s ? strtoull(s, NULL, 0) : def;
}

struct totals {
	long events, fired, dropped, model_checks;
};

/* Runs n generated events through eng alone and through its derived prefilter first;
 * what names the case in a failure is seed, idx and the rules' text g->yaml. */
static void check_events(struct rule_engine *eng, struct rule_engine *plain,
			 const struct gen_rules *g, int nevents, uint64_t seed, uint64_t idx,
			 struct field_ctx *fctx, struct totals *t)
{
	static struct gen_event e;
	struct filter_spec spec, wide;
	struct event ev;

	filter_spec_init(&spec);
	cr_assert_eq(detect_derive_prefilter(eng, &spec), 0);
	/* the agent with --events: the default's sensitive set merged in; only ever wider */
	filter_spec_init(&wide);
	cr_assert_eq(filter_spec_default(&wide), 0);
	cr_assert_eq(filter_spec_merge(&wide, &spec), 0);

	for (int i = 0; i < nevents; i++) {
		struct fired fr = {0};
		bool pass;
		int m;

		gen_event(&e, g);
		cr_assert_eq(event_decode(&ev, e.buf, e.off), 0, "%s", e.desc);
		field_ctx_reset(fctx, &ev);
		m = rule_engine__eval(eng, field_event_code(&ev), fctx, on_match, &fr);
		cr_assert_geq(m, 0);
		if (plain) {
			/* the guards skip only rules that cannot match: the same alerts, in order
			 */
			struct fired all = {0};

			field_ctx_reset(fctx, &ev);
			cr_assert_eq(
			    rule_engine__eval(plain, field_event_code(&ev), fctx, on_match, &all),
			    m,
			    "seed 0x%llx case %llu event %d: guards changed the matches\n"
			    "event: %s\nrules:\n%s",
			    (unsigned long long)seed, (unsigned long long)idx, i, e.desc, g->yaml);
			cr_assert_arr_eq(all.rules, fr.rules, sizeof(all.rules[0]) * fr.n, "%s",
					 e.desc);
			field_ctx_reset(fctx, &ev);
		}
		pass = filter_spec_pass(&spec, &ev);
		t->events++;
		t->dropped += !pass;

		/* the mirror is the sensors' decision */
		cr_assert_eq(pass, model_kernel(&spec, &e),
			     "seed 0x%llx case %llu event %d: the mirror says %s, the sensors %s\n"
			     "event: %s\nrules:\n%s\nprefilter:\n%s",
			     (unsigned long long)seed, (unsigned long long)idx, i,
			     pass ? "pass" : "drop", pass ? "drop" : "pass", e.desc, g->yaml,
			     spec_text(&spec));
		cr_assert_eq(filter_spec_pass(&wide, &ev), model_kernel(&wide, &e), "%s", e.desc);
		t->model_checks += 2;
		cr_assert(!pass || filter_spec_pass(&wide, &ev),
			  "merging the default narrowed the prefilter: %s", e.desc);
		if (!m)
			continue;
		t->fired++;
		if (pass)
			continue;
		cr_assert_fail(
		    "seed 0x%llx case %llu event %d: the prefilter drops an event rule '%s' "
		    "fires on (reproduce: VIGIL_SOUND_SEED=0x%llx VIGIL_SOUND_CASE=%llu)\n"
		    "event: %s\nfd.name as the rules see it: '%.*s'\nrules:\n%s\nprefilter:\n%s",
		    (unsigned long long)seed, (unsigned long long)idx, i,
		    rule_engine__rule(eng, fr.rules[0])->name, (unsigned long long)seed,
		    (unsigned long long)idx, e.desc, ev.path.ptr ? (int)ev.path.len : 6,
		    ev.path.ptr ? ev.path.ptr : "<none>", g->yaml, spec_text(&spec));
		break;
	}
	filter_spec_free(&wide);
	filter_spec_free(&spec);
}

static struct rule_engine *engine_with(const char *name, const char *text, size_t len,
				       bool no_guards)
{
	struct rule_engine_opts o = {.no_guards = no_guards};
	struct rule_engine *eng;

	fields_bind(&o);
	eng = rule_engine__new(&o);
	cr_assert_not_null(eng);
	if (rule_engine__load_buf(eng, name, text, len) || rule_engine__compile(eng)) {
		rule_engine__print_diags(eng, stderr);
		cr_assert_fail("%s: rules do not compile:\n%.*s", name, (int)len, text);
	}
	return eng;
}

static struct rule_engine *engine_of(const char *name, const char *text, size_t len)
{
	return engine_with(name, text, len, false);
}

static void run_case(uint64_t seed, uint64_t idx, struct field_ctx *fctx, struct totals *t)
{
	static struct gen_rules g;
	struct rule_engine *eng, *plain;

	rs = seed ^ (idx * 0xd1b54a32d192ed03ull);
	gen_rules(&g);
	eng = engine_of("<generated>", g.yaml, g.off);
	plain = engine_with("<generated>", g.yaml, g.off, true);
	check_events(eng, plain, &g, EVENTS_PER_CASE, seed, idx, fctx, t);
	rule_engine__free(plain);
	rule_engine__free(eng);
}

Test(prefilter_sound, derived_prefilter_drops_nothing_a_rule_fires_on, .timeout = 120)
{
	uint64_t seed = env_u64("VIGIL_SOUND_SEED", DEFAULT_SEED);
	uint64_t cases = env_u64("VIGIL_SOUND_CASES", DEFAULT_CASES);
	uint64_t only = env_u64("VIGIL_SOUND_CASE", UINT64_MAX);
	struct field_ctx *fctx = calloc(1, sizeof(*fctx));
	struct totals t = {0};

	cr_assert_not_null(fctx);
	pools_init();
	cr_log_info("prefilter soundness: seed 0x%llx, %llu rule sets x %d events",
		    (unsigned long long)seed, (unsigned long long)cases, EVENTS_PER_CASE);
	for (uint64_t i = 0; i < cases; i++)
		if (only == UINT64_MAX || only == i)
			run_case(seed, i, fctx, &t);
	free(fctx);
	cr_log_info("prefilter soundness: %ld events, %ld fired a rule, %ld dropped by the "
		    "prefilter, %ld model checks",
		    t.events, t.fired, t.dropped, t.model_checks);
	if (only != UINT64_MAX)
		return;
	/* not vacuous: many events fire rules, and the prefilter does drop events */
	cr_assert_gt(t.fired, t.events / 20, "only %ld of %ld events fired a rule", t.fired,
		     t.events);
	cr_assert_gt(t.dropped, t.events / 10, "only %ld of %ld events dropped", t.dropped,
		     t.events);
}

/* A random `--filter` argument for a type: paths, comms, ports, cgroups, write, failed. */
static void gen_filter_arg(char *out, size_t n, const char *type)
{
	size_t off = (size_t)snprintf(out, n, "%s=", type);

	for (unsigned i = 0, k = 1 + rnd(4); i < k; i++) {
		const char *sep = i ? "," : "";

		switch (rnd(7)) {
		case 0:
		case 1: {
			const char *p = rule_path();

			if (p[0] != '/')
				p = "/tmp/";
			off += (size_t)snprintf(out + off, n - off, "%s%s%s", sep, p,
						rnd(4) ? "" : "*");
			break;
		}
		case 2: {
			const char *c = PICK(comms);

			off += (size_t)snprintf(out + off, n - off, "%scomm=%.15s", sep,
						c[0] ? c : "cat");
			break;
		}
		case 3:
			off +=
			    (size_t)snprintf(out + off, n - off, "%sport=%u", sep, 1 + rnd(5000));
			break;
		case 4:
			off += (size_t)snprintf(out + off, n - off, "%scgroup=%u", sep, 1 + rnd(2));
			break;
		case 5:
			off += (size_t)snprintf(out + off, n - off, "%swrite", sep);
			break;
		default:
			off += (size_t)snprintf(out + off, n - off, "%sfailed", sep);
		}
	}
}

/* Operator-written specs (`--filter`) reach every criterion on every type, which the
 * derivation never does: the mirror must still decide as the sensors do. */
Test(prefilter_sound, mirror_decides_as_the_sensors_for_any_spec, .timeout = 60)
{
	uint64_t seed = env_u64("VIGIL_SOUND_SEED", DEFAULT_SEED);
	static struct gen_rules g; /* empty: events are not biased */
	static struct gen_event e;
	char arg[2048], err[256];
	long checks = 0;

	pools_init();
	memset(&g, 0, sizeof(g));
	for (uint64_t c = 0; c < 2000; c++) {
		struct filter_spec f;
		struct event ev;

		rs = seed ^ ((c + 1) * 0x9e6c63d0676a9a99ull);
		filter_spec_init(&f);
		for (unsigned i = 0, n = 1 + rnd(4); i < n; i++) {
			const char *name = event_type_name(
			    (uint16_t)(VG_EV_OPEN + rnd(VG_EV_TYPE_MAX - VG_EV_OPEN)));

			if (!name)
				continue;
			gen_filter_arg(arg, sizeof(arg), name);
			cr_assert_eq(filter_spec_parse(&f, arg, err, sizeof(err)), 0, "%s: %s", arg,
				     err);
		}
		for (int i = 0; i < 32; i++) {
			gen_event(&e, &g);
			cr_assert_eq(event_decode(&ev, e.buf, e.off), 0);
			bool mirror = filter_spec_pass(&f, &ev), kernel = model_kernel(&f, &e);

			cr_assert_eq(mirror, kernel,
				     "seed 0x%llx spec %llu: the mirror says %s, the sensors %s\n"
				     "event: %s\nprefilter:\n%s",
				     (unsigned long long)seed, (unsigned long long)c,
				     mirror ? "pass" : "drop", kernel ? "pass" : "drop", e.desc,
				     spec_text(&f));
			checks++;
		}
		filter_spec_free(&f);
	}
	cr_log_info("mirror against the sensors' model: %ld checks", checks);
}

/* The shipped rules (the ones the agent runs by default) against generated events. */
Test(prefilter_sound, default_rules_lose_nothing_to_their_prefilter, .timeout = 120)
{
	uint64_t seed = env_u64("VIGIL_SOUND_SEED", DEFAULT_SEED);
	struct field_ctx *fctx = calloc(1, sizeof(*fctx));
	static struct gen_rules g;
	struct rule_engine *eng, *plain;
	struct totals t = {0};

	cr_assert_not_null(fctx);
	pools_init();
	memset(&g, 0, sizeof(g));
	snprintf(g.yaml, sizeof(g.yaml), "<built-in rules>");
	eng = engine_of("<built-in rules>", vigil_builtin_rules, vigil_builtin_rules_len);
	plain = engine_with("<built-in rules>", vigil_builtin_rules, vigil_builtin_rules_len, true);
	rs = seed;
	check_events(eng, plain, &g, 50000, seed, 0, fctx, &t);
	rule_engine__free(plain);
	rule_engine__free(eng);
	free(fctx);
	cr_log_info("default rules: seed 0x%llx, %ld events, %ld fired a rule, %ld dropped by "
		    "the prefilter",
		    (unsigned long long)seed, t.events, t.fired, t.dropped);
	cr_assert_gt(t.fired, 100, "only %ld events fired a default rule", t.fired);
	cr_assert_gt(t.dropped, t.events / 10, "only %ld of %ld events dropped", t.dropped,
		     t.events);
}
