// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * event.c - validation, decoding (once per record: kind, syscall fields, paths
 * copied and folded) and rendering of kernel records for the live event stream.
 * The JSON shape is documented in docs/EVENTS.md; keep the two in step.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "event.h"
#include "util/json.h"
#include "util/text.h"
#include "state/proctable.h"

const char *event_type_name(uint16_t type)
{
	const struct event_kind *k = event_kind(type);

	return k ? k->name : NULL;
}

size_t event_path_fold(char *path, size_t len)
{
	size_t in = 0, out = 0;

	if (!len || path[0] != '/')
		return len;
	while (in < len) {
		size_t n;

		while (in < len && path[in] == '/')
			in++;
		n = 0;
		while (in + n < len && path[in + n] != '/')
			n++;
		if (n == 0)
			break;
		if (n == 1 && path[in] == '.') {
			/* "." names the same directory */
		} else if (n == 2 && path[in] == '.' && path[in + 1] == '.') {
			while (out > 0 && path[out - 1] != '/')
				out--;
			if (out > 0)
				out--;
		} else {
			path[out++] = '/';
			memmove(path + out, path + in, n);
			out += n;
		}
		in += n;
	}
	if (out == 0)
		path[out++] = '/';
	if (out < len)
		path[out] = 0;
	return out;
}

bool event_name_undecided(const char *raw, size_t len)
{
	return !raw || !len || raw[0] == '.' || memchr(raw, '/', len);
}

/* The kind of a coherent record (header, size and type agree), else NULL. */
static const struct event_kind *checked_kind(const void *rec, size_t size)
{
	const struct vg_hdr *h = rec;
	const struct event_kind *k;

	if (size < sizeof(*h))
		return NULL;
	k = event_kind(h->type);
	if (!k || size < k->size || h->size > size || h->size < k->size)
		return NULL;
	return k;
}

int event_validate(const void *rec, size_t size)
{
	return checked_kind(rec, size) ? 0 : -EINVAL;
}

const char *event_str(const struct vg_hdr *rec, size_t size, struct vg_str s, size_t *len)
{
	/* the bytes and their NUL must lie inside the record */
	if (!s.off || (size_t)s.off + s.len >= size) {
		*len = 0;
		return NULL;
	}
	*len = s.len;
	return (const char *)rec + s.off;
}

void event_format_time(uint64_t ns, char *buf, size_t len)
{
	time_t sec = ns / 1000000000ull;
	struct tm tm;
	size_t n;

	gmtime_r(&sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%09lluZ", (unsigned long long)(ns % 1000000000ull));
}

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

/* n bytes at p as a canonical path in buf. */
static struct event_path canon_path(const char *p, size_t n, char *buf)
{
	if (n > PATH_MAX)
		n = PATH_MAX;
	memcpy(buf, p, n);
	buf[n] = 0;
	return (struct event_path){buf, event_path_fold(buf, n)};
}

/*
 * The record's string s as a path: copied into buf in its canonical form when
 * fold (joined from a name the caller gave), else in place: a path the kernel
 * resolved from an object is canonical already (a dentry's name is never empty,
 * "." or "..", and holds no '/'). ptr NULL when absent.
 */
static struct event_path str_path(const struct event *ev, struct vg_str s, bool fold, char *buf)
{
	size_t n;
	const char *p = event_str(ev->hdr, ev->size, s, &n);

	if (!p)
		return (struct event_path){NULL, 0};
	if (!fold)
		return (struct event_path){p, n > PATH_MAX ? PATH_MAX : n};
	return canon_path(p, n, buf);
}

struct event_path event_chroot_part(const struct event *ev, struct vg_str s, uint16_t skip,
				    char *buf)
{
	size_t n;
	const char *p = event_str(ev->hdr, ev->size, s, &n);

	if (!(ev->hdr->flags & VG_HF_CHROOT) || !p || skip == VG_SKIP_OUTSIDE || skip > n)
		return (struct event_path){NULL, 0};
	if (skip == n)
		return canon_path("/", 1, buf);
	return canon_path(p + skip, n - skip, buf);
}

static void decode_paths(struct event *ev)
{
	const struct vg_file *f = (const struct vg_file *)ev->hdr;
	const struct vg_priv *p = (const struct vg_priv *)ev->hdr;
	uint32_t fl = ev->hdr->flags;
	const char *pseudo;
	int n;

	switch (ev->kind->domain) {
	case EVENT_DOM_FILE:
		pseudo = fl & VG_FL_PSEUDO ? pseudo_name(f->fs_magic) : NULL;
		if (pseudo) {
			n = snprintf(ev->buf[0], sizeof(ev->buf[0]), "%s:[%llu]", pseudo,
				     (unsigned long long)f->ino);
			ev->path = (struct event_path){ev->buf[0], n};
		} else {
			ev->path = str_path(ev, f->path, fl & VG_FL_PATH_JOINED, ev->buf[0]);
			if (!ev->path.len)
				ev->path.ptr = NULL;
			ev->chroot_path = event_chroot_part(ev, f->path, f->path_skip, ev->buf[2]);
		}
		ev->path2 = str_path(ev, f->path2, fl & VG_FL_PATH2_JOINED, ev->buf[1]);
		break;
	case EVENT_DOM_PRIV:
		/* a mount target is the caller's string joined to its cwd, never resolved
		 * through symlinks: "." and ".." are folded as the kernel would */
		if (ev->kind->flags & EVENT_KF_S2_PATH)
			ev->path = str_path(ev, p->s2, true, ev->buf[0]);
		break;
	}
}

_Static_assert(offsetof(struct vg_file, ret) == offsetof(struct vg_net, ret) &&
		   offsetof(struct vg_file, ret) == offsetof(struct vg_priv, ret) &&
		   offsetof(struct vg_file, syscall) == offsetof(struct vg_net, syscall) &&
		   offsetof(struct vg_file, syscall) == offsetof(struct vg_priv, syscall),
	       "syscall records share their leading fields");

int event_decode(struct event *ev, const void *rec, size_t size)
{
	const struct vg_hdr *h = rec;
	const struct vg_file *f = rec; /* ret and syscall: see the assertion above */
	const struct event_kind *k = checked_kind(rec, size);

	if (!k)
		return -EINVAL;
	ev->hdr = h;
	ev->size = h->size;
	ev->time_ns = 0;
	ev->proc = NULL;
	ev->container = NULL;
	ev->kind = k;
	ev->sys = ev->kind->domain != EVENT_DOM_PROC && ev->kind->domain != EVENT_DOM_DNS;
	ev->ret = ev->sys ? f->ret : 0;
	ev->syscall = ev->sys ? f->syscall : 0;
	ev->code = ev->kind->code ? ev->kind->code : ev->syscall;
	ev->path = (struct event_path){NULL, 0};
	ev->path2 = (struct event_path){NULL, 0};
	ev->chroot_path = (struct event_path){NULL, 0};
	ev->resolved = 0;
	ev->dns = NULL;
	ev->dns_txt = 0;
	ev->names = NULL;
	decode_paths(ev);
	return 0;
}

void event_json_rstr(struct json_buf *j, const char *key, const struct event *ev, struct vg_str s)
{
	size_t n;
	const char *p = event_str(ev->hdr, ev->size, s, &n);

	json_key(j, key);
	if (p)
		json_strn(j, p, n);
	else
		json_null(j);
}

void event_json_args(struct json_buf *j, const char *args, size_t len)
{
	size_t i = 0;

	json_arr_begin(j);
	while (args && i < len) {
		const char *a = args + i;
		size_t n = strnlen(a, len - i);

		json_strn(j, a, n);
		i += n + 1;
	}
	json_arr_end(j);
}

static void json_container(struct json_buf *j, const struct container_ident *c)
{
	json_key(j, "container");
	json_obj_begin(j);
	json_key(j, "id");
	json_str(j, c->short_id[0] ? c->short_id : "host");
	if (c->runtime != CONTAINER_HOST) {
		json_key(j, "full_id");
		json_str(j, c->id);
		json_key(j, "runtime");
		json_str(j, container_runtime_name(c->runtime));
		if (c->pod_uid[0]) {
			json_key(j, "pod_uid");
			json_str(j, c->pod_uid);
		}
	}
	json_obj_end(j);
}

void event_json_hex(struct json_buf *j, const char *key, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)v);
	json_key(j, key);
	json_str(j, buf);
}

/* The process fields: from the header (always right) and the table (exe, args, cwd). */
static void json_proc(struct json_buf *j, const struct vg_hdr *h, const struct proc_info *p)
{
	json_key(j, "proc");
	json_obj_begin(j);
	json_key(j, "pid");
	json_uint(j, h->pid);
	json_key(j, "tid");
	json_uint(j, h->tid);
	json_key(j, "ppid");
	json_uint(j, h->ppid);
	json_key(j, "start_ns");
	json_uint(j, h->start_ns);
	json_key(j, "comm");
	json_strn(j, h->comm, strnlen(h->comm, sizeof(h->comm)));
	json_key(j, "exe");
	json_str(j, p ? p->exe : NULL);
	json_key(j, "args");
	if (p && p->args)
		event_json_args(j, p->args, p->args_len);
	else
		json_null(j);
	json_key(j, "cwd");
	json_str(j, p && p->cwd[0] ? p->cwd : NULL);
	json_key(j, "uid");
	json_uint(j, h->uid);
	json_key(j, "gid");
	json_uint(j, h->gid);
	json_key(j, "euid");
	json_uint(j, h->euid);
	json_key(j, "egid");
	json_uint(j, h->egid);
	json_key(j, "loginuid");
	json_int(j, h->loginuid == UINT32_MAX ? -1 : (int64_t)h->loginuid);
	if (p) {
		json_key(j, "tty");
		json_uint(j, p->tty);
		json_key(j, "sid");
		json_uint(j, p->sid);
		json_key(j, "compat");
		json_bool(j, p->flags & PROC_F_COMPAT);
	}
	json_key(j, "cgroup_id");
	json_uint(j, h->cgroup_id);
	json_obj_end(j);
}

const struct container_ident *event_container(const struct event *ev)
{
	static const struct container_ident host = {.short_id = "host"};

	if (ev->container)
		return ev->container;
	return ev->proc ? &ev->proc->container : &host;
}

void event_to_json(const struct event *ev, const struct proc_info *const *ancestry, size_t n,
		   bool ancestry_unknown, struct json_buf *j)
{
	const struct vg_hdr *h = ev->hdr;
	char when[40];
	size_t i;

	event_format_time(ev->time_ns, when, sizeof(when));
	json_obj_begin(j);
	json_key(j, "time");
	json_str(j, when);
	json_key(j, "type");
	json_str(j, ev->kind->name);
	json_proc(j, h, ev->proc);
	json_container(j, event_container(ev));
	if (ev->sys) {
		json_key(j, "syscall");
		json_str(j, event_syscall_name(ev->syscall));
		json_key(j, "ret");
		json_int(j, ev->ret);
		json_key(j, "error");
		if (ev->ret < 0 && ev->ret > -4096)
			json_str(j, strerrorname_np(-ev->ret));
		else
			json_null(j);
	}
	/* made through the 32-bit ABI (evt.is_compat) */
	json_key(j, "compat");
	json_bool(j, h->flags & VG_HF_COMPAT);
	if (h->flags & VG_HF_IO_URING) {
		json_key(j, "is_io_uring");
		json_bool(j, true);
	}
	ev->kind->json(j, ev);
	json_key(j, "ancestry");
	json_arr_begin(j);
	for (i = 0; i < n; i++) {
		json_obj_begin(j);
		json_key(j, "pid");
		json_uint(j, ancestry[i]->pid);
		json_key(j, "comm");
		json_strn(j, ancestry[i]->comm, strnlen(ancestry[i]->comm, VG_COMM_LEN));
		json_key(j, "exe");
		json_str(j, ancestry[i]->exe);
		json_key(j, "args");
		event_json_args(j, ancestry[i]->args, ancestry[i]->args_len);
		json_obj_end(j);
	}
	json_arr_end(j);
	if (ancestry_unknown) {
		json_key(j, "ancestry_unknown");
		json_bool(j, true);
	}
	json_obj_end(j);
}

void event_to_text(const struct event *ev, FILE *out)
{
	const struct vg_hdr *h = ev->hdr;
	const struct proc_info *p = ev->proc;
	const struct container_ident *c = event_container(ev);
	char when[40];
	size_t i;

	event_format_time(ev->time_ns, when, sizeof(when));
	fprintf(out, "%.12s %-5s %-12s pid=%u ppid=%u uid=%u ", when + 11, ev->kind->name,
		c->short_id[0] ? c->short_id : "host", h->pid, h->ppid, h->uid);
	if (ev->sys) {
		fprintf(out, "%s%s ", event_syscall_name(ev->syscall),
			h->flags & VG_HF_IO_URING ? "(io_uring)" : "");
		if (ev->ret < 0 && ev->ret > -4096)
			fprintf(out, "%s ", strerrorname_np(-ev->ret));
	}
	ev->kind->text(out, ev);
	if (p) {
		text_escape_write(out, p->exe, strlen(p->exe));
		for (i = 0; p->args && i < p->args_len;) {
			size_t n = strnlen(p->args + i, p->args_len - i);

			fputc(i ? ' ' : '\t', out);
			text_escape_write(out, p->args + i, n);
			i += n + 1;
		}
	} else {
		text_escape_write(out, h->comm, strnlen(h->comm, sizeof(h->comm)));
	}
	fputc('\n', out);
}
