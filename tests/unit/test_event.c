// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_event.c - record validation and the live stream's JSON rendering, from
 * records built by hand the way the BPF sensors lay them out.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "events/event.h"
#include "util/json.h"
#include "state/proctable.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct rec {
	union {
		struct vg_exec exec;
		char buf[1024];
	};
	size_t off; /* next free byte */
};

static void rec_init(struct rec *r, uint16_t type)
{
	memset(r, 0, sizeof(*r));
	r->exec.hdr.type = type;
	r->exec.hdr.pid = 42;
	r->exec.hdr.tid = 42;
	r->exec.hdr.ppid = 1;
	r->exec.hdr.loginuid = UINT32_MAX;
	strcpy(r->exec.hdr.comm, "ls");
	r->off = sizeof(struct vg_exec);
}

static void rec_str(struct rec *r, struct vg_str *s, const char *bytes, size_t n)
{
	s->off = r->off;
	s->len = n;
	memcpy(r->buf + r->off, bytes, n);
	r->buf[r->off + n] = 0;
	r->off += n + 1;
	r->exec.hdr.size = r->off;
}

Test(event, validate_rejects_short_and_unknown)
{
	struct rec r;

	rec_init(&r, VG_EV_EXEC);
	r.exec.hdr.size = sizeof(struct vg_exec);
	cr_assert_eq(event_validate(r.buf, sizeof(struct vg_exec)), 0);
	cr_assert_neq(event_validate(r.buf, sizeof(struct vg_hdr)), 0,
		      "exec shorter than its struct");
	r.exec.hdr.size = sizeof(struct vg_exec) + 10;
	cr_assert_neq(event_validate(r.buf, sizeof(struct vg_exec)), 0, "size beyond the record");
	r.exec.hdr.type = 99;
	cr_assert_neq(event_validate(r.buf, sizeof(r.buf)), 0, "unknown type");
	cr_assert_neq(event_validate(r.buf, 3), 0);
}

Test(event, strings_are_bounds_checked)
{
	struct rec r;
	const char *s;
	size_t n;

	rec_init(&r, VG_EV_EXEC);
	rec_str(&r, &r.exec.filename, "/bin/ls", 7);
	s = event_str(&r.exec.hdr, r.off, r.exec.filename, &n);
	cr_assert(s && n == 7 && !memcmp(s, "/bin/ls", 7));
	cr_assert_null(event_str(&r.exec.hdr, r.off, (struct vg_str){0, 3}, &n), "absent");
	cr_assert_null(event_str(&r.exec.hdr, r.off, (struct vg_str){r.off - 2, 5}, &n),
		       "runs past the record");
	cr_assert_null(event_str(&r.exec.hdr, r.off, (struct vg_str){60000, 1}, &n));
}

Test(event, exec_json_has_fields_and_exact_bytes)
{
	static const char args[] = "ls\0-la\0new\nline\0\xff\xfe";
	struct proc_info p = {.pid = 42,
			      .exe = "/usr/bin/ls",
			      .cwd = "/tmp",
			      .args = (char *)args,
			      .args_len = sizeof(args)};
	struct proc_info parent = {.pid = 1,
				   .exe = "/sbin/init",
				   .cwd = "/",
				   .args = "init",
				   .args_len = 5,
				   .comm = "init"};
	const struct proc_info *anc[] = {&parent};
	struct rec r;
	struct event ev;
	struct json_buf j;

	rec_init(&r, VG_EV_EXEC);
	strcpy(p.container.short_id, "host");
	r.exec.hdr.flags = VG_XF_EXE_MEMFD | VG_XF_ARGS_TRUNC;
	r.exec.cap_eff = 0x1ff;
	rec_str(&r, &r.exec.filename, "./l\"s", 5);
	rec_str(&r, &r.exec.cgroup, "a/b", 3);
	cr_assert_eq(event_decode(&ev, r.buf, r.off), 0);
	ev.time_ns = 1700000000123456789ull;
	ev.proc = &p;
	json_init(&j);
	event_to_json(&ev, anc, 1, false, &j);
	cr_assert_eq(j.err, 0);
	cr_assert(strstr(j.buf, "\"time\":\"2023-11-14T22:13:20.123456789Z\""), "%s", j.buf);
	cr_assert(strstr(j.buf, "\"type\":\"exec\""));
	cr_assert(strstr(j.buf, "\"exe\":\"/usr/bin/ls\""));
	cr_assert(strstr(j.buf, "\"args\":[\"ls\",\"-la\",\"new\\nline\",\"\\udcff\\udcfe\"]"),
		  "%s", j.buf);
	cr_assert(strstr(j.buf, "\"filename\":\"./l\\\"s\""), "%s", j.buf);
	cr_assert(strstr(j.buf, "\"exe_memfd\":true"));
	cr_assert(strstr(j.buf, "\"truncated\":[\"args\"]"), "%s", j.buf);
	cr_assert(strstr(j.buf, "\"cap_eff\":\"0x1ff\""));
	cr_assert(strstr(j.buf, "\"loginuid\":-1"));
	cr_assert(strstr(j.buf, "\"container\":{\"id\":\"host\"}"), "%s", j.buf);
	cr_assert(strstr(j.buf, "\"ancestry\":[{\"pid\":1,\"comm\":\"init\",\"exe\":\"/sbin/init\","
				"\"args\":[\"init\"]}]"),
		  "%s", j.buf);
	cr_assert_null(strstr(j.buf, "ancestry_unknown"), "complete: the bytes are unchanged");
	/* a chain that stops at an unknown parent says so, after the list */
	json_reset(&j);
	event_to_json(&ev, anc, 1, true, &j);
	cr_assert(strstr(j.buf, "\"args\":[\"init\"]}],\"ancestry_unknown\":true}"), "%s", j.buf);
	json_free(&j);
}

Test(event, unknown_process_keeps_its_cgroups_container)
{
	struct container_ident pod;
	struct rec r;
	struct event ev;
	struct json_buf j;
	FILE *text;
	char line[512] = "";

	container_parse_cgroup("/libpod_parent/libpod-" ID, strlen("/libpod_parent/libpod-" ID),
			       &pod);
	rec_init(&r, VG_EV_EXEC);
	rec_str(&r, &r.exec.filename, "/bin/ls", 7);
	cr_assert_eq(event_decode(&ev, r.buf, r.off), 0);
	cr_assert_null(ev.proc);
	cr_assert_str_eq(event_container(&ev)->short_id, "host", "nothing known: the host");
	ev.container = &pod; /* what the pipeline sets from the record's cgroup id */
	json_init(&j);
	event_to_json(&ev, NULL, 0, true, &j);
	cr_assert(strstr(j.buf, "\"container\":{\"id\":\"0123456789ab\",\"full_id\":\"" ID
				"\",\"runtime\":\"podman\"}"),
		  "%s", j.buf);
	cr_assert(strstr(j.buf, "\"ancestry\":[],\"ancestry_unknown\":true}"), "%s", j.buf);
	json_free(&j);
	text = fmemopen(line, sizeof(line) - 1, "w");
	event_to_text(&ev, text);
	fclose(text);
	cr_assert(strstr(line, " 0123456789ab "), "%s", line);
}

Test(event, exit_status_decoding)
{
	struct vg_exit x = {.hdr = {.type = VG_EV_EXIT, .size = sizeof(x), .pid = 7}};
	struct event ev;
	struct json_buf j;

	cr_assert_eq(event_decode(&ev, &x, sizeof(x)), 0);
	json_init(&j);
	x.status = 3 << 8;
	event_to_json(&ev, NULL, 0, false, &j);
	cr_assert(strstr(j.buf, "\"exit\":{\"status\":768,\"code\":3,\"signal\":0,\"core\":false}"),
		  "%s", j.buf);
	json_reset(&j);
	x.status = 11 | 0x80;
	event_to_json(&ev, NULL, 0, false, &j);
	cr_assert(strstr(j.buf, "\"code\":0,\"signal\":11,\"core\":true"), "%s", j.buf);
	json_free(&j);
}

Test(event, text_line_escapes_control_bytes)
{
	struct proc_info p = {
	    .pid = 42, .exe = "/bin/e\x1b[31m", .cwd = "/", .args = "a\nb", .args_len = 4};
	struct vg_exec x = {.hdr = {.type = VG_EV_EXEC, .size = sizeof(x), .pid = 42}};
	struct event ev;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_eq(event_decode(&ev, &x, sizeof(x)), 0);
	ev.proc = &p;
	strcpy(p.container.short_id, "host");
	event_to_text(&ev, f);
	fclose(f);
	cr_assert(strstr(buf, "/bin/e\\x1b[31m\ta\\x0ab\n"), "%s", buf);
	cr_assert_eq(strchr(buf, '\n'), buf + len - 1, "one line");
	free(buf);
}
