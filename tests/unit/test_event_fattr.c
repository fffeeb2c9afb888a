// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_event_fattr.c - utimes and chattr records (struct vg_fattr), built by hand as
 * bpf/sensors/file.bpf.c lays them out: their JSON, the rule fields (evt.arg.atime,
 * evt.arg.mtime, evt.arg.flags, evt.arg.request, fs.times.explicit, fs.times.age,
 * fs.attr.new, fs.attr.old), the default rules on them, and hostile sizes.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/detect.h"
#include "detect/fields.h"
#include "events/event.h"
#include "events/records.h"
#include "events/rules.h"
#include "state/proctable.h"
#include "util/json.h"

#define FS_IOC_SETFLAGS_   0x40086602u
#define FS_IOC32_SETFLAGS_ 0x40046602u
#define FS_IOC_FSSETXATTR_ 0x401c5820u

struct arec {
	union {
		struct vg_fattr a;
		char buf[512];
	};
	size_t off; /* bytes of the record */
};

static void arec_init(struct arec *r, uint16_t type, uint16_t sys, const char *path)
{
	size_t n = strlen(path);

	memset(r, 0, sizeof(*r));
	r->a.file.hdr.type = type;
	r->a.file.hdr.pid = 77;
	r->a.file.hdr.loginuid = UINT32_MAX;
	strcpy(r->a.file.hdr.comm, "touch");
	r->a.file.syscall = sys;
	r->a.file.fd = -1;
	r->a.file.dirfd = -100;
	r->a.file.uid = UINT32_MAX;
	r->a.file.gid = UINT32_MAX;
	r->off = sizeof(struct vg_fattr);
	r->a.file.path.off = r->off;
	r->a.file.path.len = n;
	memcpy(r->buf + r->off, path, n + 1);
	r->off += n + 1;
	r->a.file.hdr.size = r->off;
}

static void times_set(struct arec *r, int64_t as, int64_t an, int64_t ms, int64_t mn)
{
	r->a.atime_sec = as;
	r->a.atime_nsec = an;
	r->a.mtime_sec = ms;
	r->a.mtime_nsec = mn;
}

static struct event ev;

static void assert_field(const char *name, const char *want)
{
	char out[256];
	const char *got = field_text(name, out, sizeof(out), -1);

	if (want)
		cr_assert(got && !strcmp(got, want), "%s: %s, want %s", name, got ? got : "(none)",
			  want);
	else
		cr_assert_null(got, "%s: %s, want none", name, got);
}

static char *json_of(struct arec *r, struct json_buf *j)
{
	return record_json(r->buf, r->off, j);
}

Test(event_fattr, utimes_fields_and_json)
{
	struct arec r;
	struct json_buf j;
	char *s;

	arec_init(&r, VG_EV_UTIMES, VG_SYS_UTIMENSAT, "/usr/bin/ls");
	times_set(&r, 978307200, 5, 978307200, 0);
	fields_of_record(r.buf, r.off, &ev);
	ev.time_ns = 978307200ull * 1000000000ull + 3600ull * 1000000000ull;
	cr_assert_str_eq(fields_evtype_name(field_event_code(&ev)), "utimensat");
	assert_field("evt.arg.atime", "978307200.000000005");
	assert_field("evt.arg.mtime", "978307200.000000000");
	assert_field("fs.times.age", "3600");
	assert_field("fd.name", "/usr/bin/ls");
	assert_field("fs.attr.new", NULL);
	s = json_of(&r, &j);
	cr_assert(strstr(s, "\"atime\":\"978307200.000000005\""), "%s", s);
	cr_assert(strstr(s, "\"explicit\":true"), "%s", s);
	cr_assert(strstr(s, "\"times_null\":false"), "%s", s);
	json_free(&j);

	/* UTIME_OMIT for one, a time for the other: explicit; its age counts */
	times_set(&r, 0, VG_UTIME_OMIT, 978307200 + 7200, 0);
	fields_of_record(r.buf, r.off, &ev);
	ev.time_ns = (978307200ull + 3600) * 1000000000ull;
	assert_field("evt.arg.atime", "UTIME_OMIT");
	assert_field("fs.times.age", "-3600");

	/* NULL times: now, not explicit */
	times_set(&r, 0, VG_UTIME_NOW, 0, VG_UTIME_NOW);
	r.a.file.hdr.flags |= VG_FA_TIMES_NULL;
	fields_of_record(r.buf, r.off, &ev);
	assert_field("evt.arg.mtime", "UTIME_NOW");
	assert_field("fs.times.age", "0");
	s = json_of(&r, &j);
	cr_assert(strstr(s, "\"explicit\":false"), "%s", s);
	cr_assert(strstr(s, "\"times_null\":true"), "%s", s);
	json_free(&j);

	/* unreadable times: no value at all */
	r.a.file.hdr.flags = VG_FA_TIMES_BAD;
	fields_of_record(r.buf, r.off, &ev);
	assert_field("evt.arg.atime", NULL);
	s = json_of(&r, &j);
	cr_assert(strstr(s, "\"atime\":null"), "%s", s);
	json_free(&j);
}

Test(event_fattr, chattr_fields_and_json)
{
	struct arec r;
	struct json_buf j;
	char *s;

	arec_init(&r, VG_EV_CHATTR, VG_SYS_IOCTL, "/etc/passwd");
	r.a.file.fd = 3;
	r.a.file.mode = FS_IOC_SETFLAGS_;
	r.a.attr_flags = 0x10 | 0x80000; /* immutable | extents */
	r.a.file.hdr.flags |= VG_FA_OLD_KNOWN;
	fields_of_record(r.buf, r.off, &ev);
	cr_assert_str_eq(fields_evtype_name(field_event_code(&ev)), "ioctl");
	assert_field("evt.arg.request", "FS_IOC_SETFLAGS");
	assert_field("evt.arg.flags", "FS_IMMUTABLE_FL|0x80000");
	assert_field("fs.attr.new", "i");
	assert_field("fs.attr.old", "");
	assert_field("evt.arg.fd", "3");
	s = json_of(&r, &j);
	cr_assert(strstr(s, "\"request\":\"FS_IOC_SETFLAGS\""), "%s", s);
	cr_assert(strstr(s, "\"protect\":\"i\""), "%s", s);
	cr_assert(strstr(s, "\"protect_old\":\"\""), "%s", s);
	json_free(&j);

	/* -i -a: nothing asked, both were set */
	r.a.attr_flags = 0;
	r.a.attr_old = 0x30;
	fields_of_record(r.buf, r.off, &ev);
	assert_field("evt.arg.flags", "0");
	assert_field("fs.attr.new", "");
	assert_field("fs.attr.old", "ia");

	/* the xattr form: FS_XFLAG_APPEND is append-only; old flags unknown (ia32) */
	r.a.file.mode = FS_IOC_FSSETXATTR_;
	r.a.attr_flags = 0x10;
	r.a.file.hdr.flags = VG_FA_XATTR;
	fields_of_record(r.buf, r.off, &ev);
	assert_field("evt.arg.request", "FS_IOC_FSSETXATTR");
	assert_field("evt.arg.flags", "FS_XFLAG_APPEND");
	assert_field("fs.attr.new", "a");
	assert_field("fs.attr.old", "?");
	s = json_of(&r, &j);
	cr_assert(strstr(s, "\"protect_old\":null"), "%s", s);
	json_free(&j);

	r.a.file.mode = FS_IOC32_SETFLAGS_;
	r.a.file.hdr.flags = 0;
	r.a.attr_flags = 0x20;
	fields_of_record(r.buf, r.off, &ev);
	assert_field("evt.arg.request", "FS_IOC32_SETFLAGS");
	assert_field("evt.arg.flags", "FS_APPEND_FL");
}

Test(event_fattr, default_rules)
{
	struct detect *d = detect_files(NULL, 0);
	struct proctable *procs = proctable__new(16, 0);
	struct arec r;

	arec_init(&r, VG_EV_UTIMES, VG_SYS_UTIMES, "/usr/sbin/sshd");
	times_set(&r, 978307200, 0, 978307200, 0);
	eval_record(d, procs, r.buf, r.off, NULL);
	cr_assert_not_null(fired_rule("Timestomping of system files"));
	/* times set to now, or a file outside the system directories: no */
	times_set(&r, 0, VG_UTIME_NOW, 0, VG_UTIME_OMIT);
	eval_record(d, procs, r.buf, r.off, NULL);
	cr_assert_null(fired_rule("Timestomping of system files"));
	arec_init(&r, VG_EV_UTIMES, VG_SYS_UTIMES, "/home/u/notes.txt");
	times_set(&r, 978307200, 0, 978307200, 0);
	eval_record(d, procs, r.buf, r.off, NULL);
	cr_assert_null(fired_rule("Timestomping of system files"));

	arec_init(&r, VG_EV_CHATTR, VG_SYS_IOCTL, "/etc/cron.d/job");
	r.a.file.mode = FS_IOC_SETFLAGS_;
	r.a.attr_flags = 0x10;
	r.a.file.hdr.flags |= VG_FA_OLD_KNOWN;
	eval_record(d, procs, r.buf, r.off, NULL);
	cr_assert_not_null(fired_rule("Immutable or append-only flag changed on a system file"));
	r.a.attr_flags = 0x40; /* +d on a file that had neither */
	eval_record(d, procs, r.buf, r.off, NULL);
	cr_assert_null(fired_rule("Immutable or append-only flag changed on a system file"));
	r.a.attr_old = 0x10; /* -i */
	eval_record(d, procs, r.buf, r.off, NULL);
	cr_assert_not_null(fired_rule("Immutable or append-only flag changed on a system file"));
	proctable__free(procs);
	detect__free(d);
}

/* An open of path for writing by pid 77 (tid 78). */
static void open_rec(struct arec *r, const char *path)
{
	size_t n = strlen(path);

	memset(r, 0, sizeof(*r));
	r->a.file.hdr.type = VG_EV_OPEN;
	r->a.file.hdr.pid = 77;
	r->a.file.hdr.tid = 78;
	r->a.file.hdr.loginuid = UINT32_MAX;
	strcpy(r->a.file.hdr.comm, "inject");
	r->a.file.syscall = VG_SYS_OPENAT;
	r->a.file.flags = 02;
	r->a.file.fd = 3;
	r->a.file.dirfd = -100;
	r->off = sizeof(struct vg_file);
	r->a.file.path.off = r->off;
	r->a.file.path.len = n;
	memcpy(r->buf + r->off, path, n + 1);
	r->off += n + 1;
	r->a.file.hdr.size = r->off;
}

Test(event_fattr, procmem_fields_and_rule)
{
	static const struct {
		const char *path;
		const char *pid; /* fs.procmem.pid, NULL none */
		bool fires;	 /* the default rule */
	} cases[] = {
	    {"/proc/1234/mem", "1234", true},	    {"/proc/1234/task/1240/mem", "1234", true},
	    {"/proc/77/mem", "77", false},	   /* its own */
	    {"/proc/78/task/78/mem", "78", false}, /* its own thread */
	    {"/proc/1234/maps", NULL, false},	    {"/proc/1234/memx", NULL, false},
	    {"/proc/self/mem", NULL, false},	    {"/proc//mem", NULL, false},
	    {"/proc/99999999999/mem", NULL, false}, {"/tmp/proc/1234/mem", NULL, false},
	};
	struct detect *d = detect_files(NULL, 0);
	struct proctable *procs = proctable__new(16, 0);
	struct arec r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		open_rec(&r, cases[i].path);
		fields_of_record(r.buf, r.off, &ev);
		assert_field("fs.procmem.pid", cases[i].pid);
		eval_record(d, procs, r.buf, r.off, NULL);
		cr_assert_eq(fired_rule("Process memory written through /proc/PID/mem") != NULL,
			     cases[i].fires, "%s", cases[i].path);
	}
	/* read-only: no */
	open_rec(&r, "/proc/1234/mem");
	r.a.file.flags = 0;
	eval_record(d, procs, r.buf, r.off, NULL);
	cr_assert_null(fired_rule("Process memory written through /proc/PID/mem"));
	proctable__free(procs);
	detect__free(d);
}

Test(event_fattr, short_records_are_refused)
{
	struct arec r;
	struct event e;

	arec_init(&r, VG_EV_UTIMES, VG_SYS_UTIME, "/bin/x");
	/* a record the size of a plain file event: too short for its type */
	r.a.file.hdr.size = sizeof(struct vg_file);
	cr_assert_neq(event_decode(&e, r.buf, sizeof(struct vg_file)), 0);
}
