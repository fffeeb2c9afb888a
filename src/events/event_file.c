// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * event_file.c - rendering of file events (struct vg_file). Paths come decoded
 * (event_decode): joined ones (base directory resolved in the kernel + the
 * caller's name) folded, paths that came from a kernel object as they are.
 */
#include <string.h>

#include "event.h"
#include "util/json.h"
#include "util/text.h"

/* Writes key and a decoded path, or null when absent. */
static void json_path(struct json_buf *j, const char *key, struct event_path p)
{
	json_key(j, key);
	if (p.ptr)
		json_strn(j, p.ptr, p.len);
	else
		json_null(j);
}

void event_file_json(struct json_buf *j, const struct event *ev)
{
	const struct vg_file *f = (const struct vg_file *)ev->hdr;
	static const struct {
		uint32_t flag;	  /* VG_FL_*_TRUNC */
		const char *name; /* what was cut */
	} cuts[] = {
	    {VG_FL_PATH_TRUNC, "path"},
	    {VG_FL_PATH2_TRUNC, "path2"},
	    {VG_FL_RAW_TRUNC, "raw"},
	};
	size_t i;

	json_key(j, "file");
	json_obj_begin(j);
	json_path(j, "path", ev->path);
	event_json_rstr(j, "raw", ev, f->raw);
	json_path(j, "path2", ev->path2);
	event_json_rstr(j, "raw2", ev, f->raw2);
	json_key(j, "flags");
	json_uint(j, f->flags);
	json_key(j, "mode");
	json_uint(j, f->mode);
	json_key(j, "fd");
	json_int(j, f->fd);
	json_key(j, "dirfd");
	json_int(j, f->dirfd);
	if (f->hdr.type == VG_EV_CHOWN) {
		json_key(j, "uid");
		json_int(j, f->uid == UINT32_MAX ? -1 : (int64_t)f->uid);
		json_key(j, "gid");
		json_int(j, f->gid == UINT32_MAX ? -1 : (int64_t)f->gid);
	}
	if (f->hdr.type == VG_EV_TRUNCATE) {
		json_key(j, "length");
		json_int(j, f->length);
	}
	json_key(j, "ino");
	json_uint(j, f->ino);
	json_key(j, "dev");
	json_uint(j, f->dev);
	json_key(j, "created");
	json_bool(j, f->hdr.flags & VG_FL_CREATED);
	json_key(j, "directory");
	json_bool(j, f->hdr.flags & VG_FL_DIR);
	json_key(j, "joined");
	json_bool(j, f->hdr.flags & VG_FL_PATH_JOINED);
	if (f->hdr.flags & VG_HF_CHROOT)
		json_path(j, "chroot_path", ev->chroot_path);
	json_key(j, "user_resolved");
	json_arr_begin(j);
	if (ev->resolved & EVENT_RESOLVED_PATH)
		json_str(j, "path");
	if (ev->resolved & EVENT_RESOLVED_PATH2)
		json_str(j, "path2");
	json_arr_end(j);
	json_key(j, "truncated");
	json_arr_begin(j);
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
		if (f->hdr.flags & cuts[i].flag)
			json_str(j, cuts[i].name);
	json_arr_end(j);
	json_obj_end(j);
}

void event_file_text(FILE *out, const struct event *ev)
{
	text_escape_write(out, ev->path.ptr, ev->path.len);
	if (ev->path2.ptr) {
		fputs(" -> ", out);
		text_escape_write(out, ev->path2.ptr, ev->path2.len);
	}
	fputc(' ', out);
}
