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

#define FS_IOC_SETFLAGS_    0x40086602u
#define FS_IOC32_SETFLAGS_  0x40046602u
#define FS_IOC_FSSETXATTR_  0x401c5820u
#define FS_XFLAG_IMMUTABLE_ 0x8
#define FS_XFLAG_APPEND_    0x10

size_t event_utime_text(int64_t sec, int64_t nsec, char *buf, size_t len)
{
	int n;

	if (nsec == VG_UTIME_NOW)
		n = snprintf(buf, len, "UTIME_NOW");
	else if (nsec == VG_UTIME_OMIT)
		n = snprintf(buf, len, "UTIME_OMIT");
	else
		n = snprintf(buf, len, "%lld.%09lld", (long long)sec, (long long)nsec);
	return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

bool event_utimes_explicit(const struct vg_fattr *fa, int64_t *earliest_sec)
{
	const int64_t t[2][2] = {{fa->atime_sec, fa->atime_nsec}, {fa->mtime_sec, fa->mtime_nsec}};
	bool any = false;
	int i;

	if (fa->file.hdr.flags & (VG_FA_TIMES_NULL | VG_FA_TIMES_BAD))
		return false;
	for (i = 0; i < 2; i++) {
		if (t[i][1] == VG_UTIME_NOW || t[i][1] == VG_UTIME_OMIT)
			continue;
		if (!any || t[i][0] < *earliest_sec)
			*earliest_sec = t[i][0];
		any = true;
	}
	return any;
}

uint32_t event_chattr_protect(const struct vg_fattr *fa)
{
	uint32_t f = fa->attr_flags, out = 0;

	if (!(fa->file.hdr.flags & VG_FA_XATTR))
		return f & (EVENT_FS_IMMUTABLE_FL | EVENT_FS_APPEND_FL);
	if (f & FS_XFLAG_IMMUTABLE_)
		out |= EVENT_FS_IMMUTABLE_FL;
	if (f & FS_XFLAG_APPEND_)
		out |= EVENT_FS_APPEND_FL;
	return out;
}

size_t event_chattr_letters(uint32_t flags, char *buf, size_t len)
{
	size_t n = 0;

	if (len < 3)
		return 0;
	if (flags & EVENT_FS_IMMUTABLE_FL)
		buf[n++] = 'i';
	if (flags & EVENT_FS_APPEND_FL)
		buf[n++] = 'a';
	buf[n] = 0;
	return n;
}

const char *event_chattr_request(uint32_t cmd)
{
	switch (cmd) {
	case FS_IOC_SETFLAGS_:
		return "FS_IOC_SETFLAGS";
	case FS_IOC32_SETFLAGS_:
		return "FS_IOC32_SETFLAGS";
	case FS_IOC_FSSETXATTR_:
		return "FS_IOC_FSSETXATTR";
	}
	return NULL;
}

/* The utimes and chattr part of the file object. */
static void fattr_json(struct json_buf *j, const struct event *ev)
{
	const struct vg_fattr *fa = (const struct vg_fattr *)ev->hdr;
	int64_t earliest = 0;
	char buf[64];
	size_t n;

	if (fa->file.hdr.type == VG_EV_UTIMES) {
		bool bad = fa->file.hdr.flags & VG_FA_TIMES_BAD;

		json_key(j, "atime");
		if (bad) {
			json_null(j);
		} else {
			n = event_utime_text(fa->atime_sec, fa->atime_nsec, buf, sizeof(buf));
			json_strn(j, buf, n);
		}
		json_key(j, "mtime");
		if (bad) {
			json_null(j);
		} else {
			n = event_utime_text(fa->mtime_sec, fa->mtime_nsec, buf, sizeof(buf));
			json_strn(j, buf, n);
		}
		json_key(j, "times_null");
		json_bool(j, fa->file.hdr.flags & VG_FA_TIMES_NULL);
		json_key(j, "explicit");
		json_bool(j, event_utimes_explicit(fa, &earliest));
		return;
	}
	json_key(j, "request");
	if (event_chattr_request(fa->file.mode))
		json_str(j, event_chattr_request(fa->file.mode));
	else
		json_uint(j, fa->file.mode);
	event_json_hex(j, "attr_flags", fa->attr_flags);
	json_key(j, "xattr");
	json_bool(j, fa->file.hdr.flags & VG_FA_XATTR);
	n = event_chattr_letters(event_chattr_protect(fa), buf, sizeof(buf));
	json_key(j, "protect");
	json_strn(j, buf, n);
	json_key(j, "protect_old");
	if (fa->file.hdr.flags & VG_FA_OLD_KNOWN) {
		n = event_chattr_letters(fa->attr_old, buf, sizeof(buf));
		json_strn(j, buf, n);
	} else {
		json_null(j);
	}
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
	if (f->hdr.type == VG_EV_UTIMES || f->hdr.type == VG_EV_CHATTR)
		fattr_json(j, ev);
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
	if (f->hdr.flags & VG_FL_DENIED) {
		/* made at the BPF-LSM hook that refused the open */
		json_key(j, "denied");
		json_bool(j, true);
	}
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
