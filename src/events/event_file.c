// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * event_file.c - rendering of file events (struct vg_file). Joined paths (base
 * directory resolved in the kernel + the caller's name) have their "." and ".."
 * folded here; paths that came from a kernel object are shown as they are.
 */
#include <limits.h>
#include <string.h>

#include "event.h"
#include "util/json.h"

/* Names of pseudo filesystems whose files have no path, by superblock magic. */
static const char *pseudo_name(uint32_t magic)
{
	switch (magic) {
	case 0x50495045:
		return "pipe";
	case 0x534f434b:
		return "socket";
	case 0x09041934:
		return "anon_inode";
	default:
		return NULL;
	}
}

size_t event_file_path(const struct event *ev, char *buf, size_t len)
{
	const struct vg_file *f = (const struct vg_file *)ev->hdr;
	char tmp[PATH_MAX + 1];
	const char *pseudo = f->hdr.flags & VG_FL_PSEUDO ? pseudo_name(f->fs_magic) : NULL;
	long n;

	if (pseudo)
		return snprintf(buf, len, "%s:[%llu]", pseudo, (unsigned long long)f->ino);
	n = event_str_path(ev, f->path, f->hdr.flags & VG_FL_PATH_JOINED, tmp);
	if (n < 0)
		return 0;
	if ((size_t)n >= len)
		n = len - 1;
	memcpy(buf, tmp, n);
	buf[n] = 0;
	return n;
}

static void json_path(struct json_buf *j, const char *key, const struct event *ev, struct vg_str s,
		      bool joined)
{
	char buf[PATH_MAX + 1];
	long n = event_str_path(ev, s, joined, buf);

	json_key(j, key);
	if (n < 0)
		json_null(j);
	else
		json_strn(j, buf, n);
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
	char buf[PATH_MAX + 1];
	size_t i;

	json_key(j, "file");
	json_obj_begin(j);
	json_key(j, "path");
	if (event_file_path(ev, buf, sizeof(buf)))
		json_str(j, buf);
	else
		json_null(j);
	event_json_rstr(j, "raw", ev, f->raw);
	json_path(j, "path2", ev, f->path2, f->hdr.flags & VG_FL_PATH2_JOINED);
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
	const struct vg_file *f = (const struct vg_file *)ev->hdr;
	char buf[PATH_MAX + 1];
	long n;

	n = event_file_path(ev, buf, sizeof(buf));
	event_text_bytes(out, buf, n);
	n = event_str_path(ev, f->path2, f->hdr.flags & VG_FL_PATH2_JOINED, buf);
	if (n >= 0) {
		fputs(" -> ", out);
		event_text_bytes(out, buf, n);
	}
	fputc(' ', out);
}
