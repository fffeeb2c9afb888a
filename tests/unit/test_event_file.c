// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_event_file.c - decoding and rendering of file records: folding of joined
 * paths, pseudo files, hostile bytes, absent and out-of-bounds strings.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/event.h"
#include "events/records.h"
#include "util/json.h"

static void fold_is(const char *in, const char *want)
{
	char buf[256];
	size_t n;

	strcpy(buf, in);
	n = event_path_fold(buf, strlen(buf));
	cr_assert_eq(n, strlen(want), "%s -> %.*s", in, (int)n, buf);
	cr_assert(!memcmp(buf, want, n), "%s -> %.*s, want %s", in, (int)n, buf, want);
}

Test(event_file, fold_dot_and_dotdot)
{
	fold_is("/a/b/../c", "/a/c");
	fold_is("/a/./b//c/", "/a/b/c");
	fold_is("/../../etc/shadow", "/etc/shadow");
	fold_is("/a/b/..", "/a");
	fold_is("/..", "/");
	fold_is("/", "/");
	fold_is("/a/..b/.c", "/a/..b/.c");
	fold_is("relative/../x", "relative/../x");
}

Test(event_file, joined_path_is_folded_and_raw_kept)
{
	struct frec r;
	struct json_buf j;
	char *s;

	frec_init(&r, VG_EV_OPEN, VG_SYS_OPENAT, -2);
	r.f.hdr.flags = VG_FL_PATH_JOINED;
	frec_str(&r, &r.f.path, "/srv/www/../../etc/shadow");
	frec_str(&r, &r.f.raw, "../../etc/shadow");
	s = record_json(r.buf, r.off, &j);
	cr_assert(strstr(s, "\"type\":\"open\",\"proc\""), "%s", s);
	cr_assert(strstr(s, "\"syscall\":\"openat\",\"ret\":-2,\"error\":\"ENOENT\""), "%s", s);
	cr_assert(strstr(s, "\"path\":\"/etc/shadow\""), "%s", s);
	cr_assert(strstr(s, "\"raw\":\"../../etc/shadow\""), "%s", s);
	cr_assert(strstr(s, "\"joined\":true"), "%s", s);
	cr_assert(strstr(s, "\"path2\":null"), "%s", s);
	json_free(&j);
}

Test(event_file, kernel_path_is_not_folded)
{
	struct frec r;
	struct json_buf j;
	char *s;

	/* a resolved name may itself be "..": only joined paths are folded */
	frec_init(&r, VG_EV_OPEN, VG_SYS_OPEN, 3);
	frec_str(&r, &r.f.path, "/weird/../name");
	s = record_json(r.buf, r.off, &j);
	cr_assert(strstr(s, "\"path\":\"/weird/../name\""), "%s", s);
	cr_assert(strstr(s, "\"error\":null"), "%s", s);
	json_free(&j);
}

Test(event_file, pseudo_files_are_named_by_kind)
{
	struct frec r;
	struct event ev;

	frec_init(&r, VG_EV_TRUNCATE, VG_SYS_FTRUNCATE, 0);
	r.f.hdr.flags = VG_FL_PSEUDO;
	r.f.fs_magic = 0x50495045;
	r.f.ino = 1234;
	frec_str(&r, &r.f.path, "/pipe:[1234]");
	cr_assert_eq(event_decode(&ev, r.buf, r.off), 0);
	cr_assert_eq(ev.path.len, strlen("pipe:[1234]"));
	cr_assert(!memcmp(ev.path.ptr, "pipe:[1234]", ev.path.len));
}

Test(event_file, rename_and_chown_fields)
{
	struct frec r;
	struct json_buf j;
	char *s;

	frec_init(&r, VG_EV_RENAME, VG_SYS_RENAMEAT2, 0);
	r.f.flags = 1;
	r.f.hdr.flags = VG_FL_PATH_JOINED | VG_FL_PATH2_JOINED | VG_FL_PATH2_TRUNC;
	frec_str(&r, &r.f.path, "/tmp/./a");
	frec_str(&r, &r.f.raw, "a");
	frec_str(&r, &r.f.path2, "/tmp/x/../b\n\xff");
	frec_str(&r, &r.f.raw2, "x/../b\n\xff");
	s = record_json(r.buf, r.off, &j);
	cr_assert(strstr(s, "\"path\":\"/tmp/a\""), "%s", s);
	cr_assert(strstr(s, "\"path2\":\"/tmp/b\\n\\udcff\""), "%s", s);
	cr_assert(strstr(s, "\"truncated\":[\"path2\"]"), "%s", s);
	json_free(&j);

	frec_init(&r, VG_EV_CHOWN, VG_SYS_FCHOWN, -1);
	r.f.uid = 0;
	r.f.gid = UINT32_MAX;
	s = record_json(r.buf, r.off, &j);
	cr_assert(strstr(s, "\"uid\":0,\"gid\":-1"), "%s", s);
	cr_assert(strstr(s, "\"error\":\"EPERM\""), "%s", s);
	cr_assert(strstr(s, "\"path\":null"), "%s", s);
	json_free(&j);
}

Test(event_file, out_of_bounds_strings_are_absent)
{
	struct frec r;
	struct json_buf j;
	char *s;

	frec_init(&r, VG_EV_UNLINK, VG_SYS_UNLINK, 0);
	r.f.path = (struct vg_str){.off = 2000, .len = 100};
	r.f.raw = (struct vg_str){.off = sizeof(struct vg_file), .len = 65000};
	s = record_json(r.buf, r.off, &j);
	cr_assert(strstr(s, "\"path\":null,\"raw\":null"), "%s", s);
	json_free(&j);
}

Test(event_file, io_uring_operations_are_flagged)
{
	struct frec r;
	struct json_buf j;
	struct event ev;
	char *s, *text = NULL;
	size_t n = 0;
	FILE *out;

	frec_init(&r, VG_EV_UNLINK, VG_SYS_UNLINKAT, 0);
	frec_str(&r, &r.f.path, "/var/log/x.log");
	s = record_json(r.buf, r.off, &j);
	cr_assert_null(strstr(s, "is_io_uring"), "%s", s);
	json_free(&j);
	r.f.hdr.flags = VG_HF_IO_URING;
	s = record_json(r.buf, r.off, &j);
	cr_assert(strstr(s, "\"error\":null,\"compat\":false,\"is_io_uring\":true,\"file\""), "%s",
		  s);
	json_free(&j);
	cr_assert_eq(event_decode(&ev, r.buf, r.off), 0);
	out = open_memstream(&text, &n);
	event_to_text(&ev, out);
	fclose(out);
	cr_assert(strstr(text, " unlinkat(io_uring) "), "%s", text);
	free(text);
}
