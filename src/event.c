// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * event.c - validation and rendering of kernel records for the live event stream.
 * The JSON shape is documented in docs/EVENTS.md; keep the two in step.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "event.h"
#include "json.h"
#include "proctable.h"

struct type_info {
	const char *name; /* as shown in the stream */
	size_t min_size;  /* fixed part of the record */
};

static const struct type_info types[VG_EV_TYPE_MAX] = {
	[VG_EV_EXEC] = { "exec", sizeof(struct vg_exec) },
	[VG_EV_FORK] = { "fork", sizeof(struct vg_fork) },
	[VG_EV_EXIT] = { "exit", sizeof(struct vg_exit) },
};

const char *event_type_name(uint16_t type)
{
	return type < VG_EV_TYPE_MAX ? types[type].name : NULL;
}

size_t event_min_size(uint16_t type)
{
	return type < VG_EV_TYPE_MAX ? types[type].min_size : 0;
}

int event_validate(const void *rec, size_t size)
{
	const struct vg_hdr *h = rec;
	size_t min;

	if (size < sizeof(*h))
		return -EINVAL;
	min = event_min_size(h->type);
	if (!min || size < min || h->size > size || h->size < min)
		return -EINVAL;
	return 0;
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

static void json_hex(struct json_buf *j, const char *key, uint64_t v)
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
	}
	json_key(j, "cgroup_id");
	json_uint(j, h->cgroup_id);
	json_obj_end(j);
}

static void json_exec(struct json_buf *j, const struct event *ev)
{
	const struct vg_exec *e = (const struct vg_exec *)ev->hdr;
	static const struct {
		uint32_t flag;	  /* VG_XF_*_TRUNC */
		const char *name; /* what was cut */
	} cuts[] = {
		{ VG_XF_EXE_TRUNC, "exe" },
		{ VG_XF_ARGS_TRUNC, "args" },
		{ VG_XF_CWD_TRUNC, "cwd" },
		{ VG_XF_FILENAME_TRUNC, "filename" },
	};
	const char *s;
	size_t n, i;

	json_key(j, "exec");
	json_obj_begin(j);
	s = event_str(ev->hdr, ev->size, e->filename, &n);
	json_key(j, "filename");
	json_strn(j, s, n);
	s = event_str(ev->hdr, ev->size, e->cgroup, &n);
	json_key(j, "cgroup");
	json_strn(j, s, n);
	json_key(j, "exe_ino");
	json_uint(j, e->exe_ino);
	json_key(j, "exe_dev");
	json_uint(j, e->exe_dev);
	json_key(j, "exe_memfd");
	json_bool(j, e->hdr.flags & VG_XF_EXE_MEMFD);
	json_key(j, "exe_deleted");
	json_bool(j, e->hdr.flags & VG_XF_EXE_DELETED);
	json_key(j, "exe_nopath");
	json_bool(j, e->hdr.flags & VG_XF_EXE_NOPATH);
	json_key(j, "setuid");
	json_bool(j, e->hdr.flags & VG_XF_SETUID_EXEC);
	json_hex(j, "cap_eff", e->cap_eff);
	json_hex(j, "cap_prm", e->cap_prm);
	json_key(j, "vpid");
	json_uint(j, e->vpid);
	json_key(j, "old_tid");
	json_uint(j, e->old_pid);
	json_key(j, "ns");
	json_obj_begin(j);
	json_key(j, "pid");
	json_uint(j, e->pidns);
	json_key(j, "mnt");
	json_uint(j, e->mntns);
	json_key(j, "net");
	json_uint(j, e->netns);
	json_key(j, "user");
	json_uint(j, e->userns);
	json_obj_end(j);
	json_key(j, "truncated");
	json_arr_begin(j);
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
		if (e->hdr.flags & cuts[i].flag)
			json_str(j, cuts[i].name);
	json_arr_end(j);
	json_obj_end(j);
}

static void json_exit(struct json_buf *j, const struct vg_exit *e)
{
	json_key(j, "exit");
	json_obj_begin(j);
	json_key(j, "status");
	json_uint(j, e->status);
	json_key(j, "code");
	json_uint(j, (e->status >> 8) & 0xff);
	json_key(j, "signal");
	json_uint(j, e->status & 0x7f);
	json_key(j, "core");
	json_bool(j, e->status & 0x80);
	json_obj_end(j);
}

static void json_fork(struct json_buf *j, const struct vg_fork *e)
{
	json_key(j, "child");
	json_obj_begin(j);
	json_key(j, "pid");
	json_uint(j, e->child_pid);
	json_key(j, "tid");
	json_uint(j, e->child_tid);
	json_key(j, "start_ns");
	json_uint(j, e->child_start_ns);
	json_key(j, "thread");
	json_bool(j, e->hdr.flags & VG_FF_THREAD);
	json_obj_end(j);
}

void event_to_json(const struct event *ev, const struct proc_info *const *ancestry, size_t n,
		   struct json_buf *j)
{
	static const struct container_ident host = { .short_id = "host" };
	const struct vg_hdr *h = ev->hdr;
	char when[40];
	size_t i;

	event_format_time(ev->time_ns, when, sizeof(when));
	json_obj_begin(j);
	json_key(j, "time");
	json_str(j, when);
	json_key(j, "type");
	json_str(j, event_type_name(h->type));
	json_proc(j, h, ev->proc);
	json_container(j, ev->proc ? &ev->proc->container : &host);
	switch (h->type) {
	case VG_EV_EXEC:
		json_exec(j, ev);
		break;
	case VG_EV_FORK:
		json_fork(j, (const struct vg_fork *)h);
		break;
	case VG_EV_EXIT:
		json_exit(j, (const struct vg_exit *)h);
		break;
	}
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
	json_obj_end(j);
}

static void text_bytes(FILE *out, const char *s, size_t n)
{
	size_t i;

	for (i = 0; s && i < n; i++) {
		unsigned char c = s[i];

		if (c < 0x20 || c == 0x7f || c == '\\')
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
}

void event_to_text(const struct event *ev, FILE *out)
{
	const struct vg_hdr *h = ev->hdr;
	const struct proc_info *p = ev->proc;
	char when[40];
	size_t i;

	event_format_time(ev->time_ns, when, sizeof(when));
	fprintf(out, "%.12s %-5s %-12s pid=%u ppid=%u uid=%u ", when + 11, event_type_name(h->type),
		p && p->container.short_id[0] ? p->container.short_id : "host", h->pid, h->ppid,
		h->uid);
	switch (h->type) {
	case VG_EV_FORK: {
		const struct vg_fork *f = (const struct vg_fork *)h;

		fprintf(out, "%s=%u ", h->flags & VG_FF_THREAD ? "thread" : "child",
			h->flags & VG_FF_THREAD ? f->child_tid : f->child_pid);
		break;
	}
	case VG_EV_EXIT: {
		const struct vg_exit *x = (const struct vg_exit *)h;

		if (x->status & 0x7f)
			fprintf(out, "signal=%u ", x->status & 0x7f);
		else
			fprintf(out, "code=%u ", (x->status >> 8) & 0xff);
		break;
	}
	}
	if (p) {
		text_bytes(out, p->exe, strlen(p->exe));
		for (i = 0; p->args && i < p->args_len;) {
			size_t n = strnlen(p->args + i, p->args_len - i);

			fputc(i ? ' ' : '\t', out);
			text_bytes(out, p->args + i, n);
			i += n + 1;
		}
	} else {
		text_bytes(out, h->comm, strnlen(h->comm, sizeof(h->comm)));
	}
	fputc('\n', out);
}
