// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * event.c - validation and rendering of kernel records for the live event stream.
 * The JSON shape is documented in docs/EVENTS.md; keep the two in step.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "event.h"
#include "util/json.h"
#include "state/proctable.h"

struct type_info {
	const char *name;					  /* as shown in the stream */
	size_t min_size;					  /* fixed part of the record */
	void (*json)(struct json_buf *j, const struct event *ev); /* type-specific object */
	void (*text)(FILE *out, const struct event *ev);	  /* type-specific words */
};

#define FILE_TYPE(n)                                                                               \
	{                                                                                          \
		n, sizeof(struct vg_file), event_file_json, event_file_text                        \
	}
#define NET_TYPE(n)                                                                                \
	{                                                                                          \
		n, sizeof(struct vg_net), event_net_json, event_net_text                           \
	}
#define PRIV_TYPE(n)                                                                               \
	{                                                                                          \
		n, sizeof(struct vg_priv), event_priv_json, event_priv_text                        \
	}

static void exec_json(struct json_buf *j, const struct event *ev);
static void exec_text(FILE *out, const struct event *ev);
static void fork_json(struct json_buf *j, const struct event *ev);
static void fork_text(FILE *out, const struct event *ev);
static void exit_json(struct json_buf *j, const struct event *ev);
static void exit_text(FILE *out, const struct event *ev);

static const struct type_info types[VG_EV_TYPE_MAX] = {
    [VG_EV_EXEC] = {"exec", sizeof(struct vg_exec), exec_json, exec_text},
    [VG_EV_FORK] = {"fork", sizeof(struct vg_fork), fork_json, fork_text},
    [VG_EV_EXIT] = {"exit", sizeof(struct vg_exit), exit_json, exit_text},
    [VG_EV_OPEN] = FILE_TYPE("open"),
    [VG_EV_UNLINK] = FILE_TYPE("unlink"),
    [VG_EV_RENAME] = FILE_TYPE("rename"),
    [VG_EV_MKDIR] = FILE_TYPE("mkdir"),
    [VG_EV_CHMOD] = FILE_TYPE("chmod"),
    [VG_EV_CHOWN] = FILE_TYPE("chown"),
    [VG_EV_LINK] = FILE_TYPE("link"),
    [VG_EV_SYMLINK] = FILE_TYPE("symlink"),
    [VG_EV_TRUNCATE] = FILE_TYPE("truncate"),
    [VG_EV_CONNECT] = NET_TYPE("connect"),
    [VG_EV_ACCEPT] = NET_TYPE("accept"),
    [VG_EV_BIND] = NET_TYPE("bind"),
    [VG_EV_LISTEN] = NET_TYPE("listen"),
    [VG_EV_SETID] = PRIV_TYPE("setid"),
    [VG_EV_CAPSET] = PRIV_TYPE("capset"),
    [VG_EV_PTRACE] = PRIV_TYPE("ptrace"),
    [VG_EV_MODULE] = PRIV_TYPE("module"),
    [VG_EV_MOUNT] = PRIV_TYPE("mount"),
    [VG_EV_UMOUNT] = PRIV_TYPE("umount"),
    [VG_EV_UNSHARE] = PRIV_TYPE("unshare"),
    [VG_EV_SETNS] = PRIV_TYPE("setns"),
    [VG_EV_BPF] = PRIV_TYPE("bpf"),
    [VG_EV_MEMFD] = PRIV_TYPE("memfd"),
    [VG_EV_CHROOT] = PRIV_TYPE("chroot"),
    [VG_EV_KILL] = PRIV_TYPE("kill"),
};

static const char *const syscall_names[VG_SYS_MAX] = {
    [VG_SYS_EXECVE] = "execve",
    [VG_SYS_OPEN] = "open",
    [VG_SYS_OPENAT] = "openat",
    [VG_SYS_OPENAT2] = "openat2",
    [VG_SYS_CREAT] = "creat",
    [VG_SYS_UNLINK] = "unlink",
    [VG_SYS_UNLINKAT] = "unlinkat",
    [VG_SYS_RMDIR] = "rmdir",
    [VG_SYS_RENAME] = "rename",
    [VG_SYS_RENAMEAT] = "renameat",
    [VG_SYS_RENAMEAT2] = "renameat2",
    [VG_SYS_MKDIR] = "mkdir",
    [VG_SYS_MKDIRAT] = "mkdirat",
    [VG_SYS_CHMOD] = "chmod",
    [VG_SYS_FCHMOD] = "fchmod",
    [VG_SYS_FCHMODAT] = "fchmodat",
    [VG_SYS_FCHMODAT2] = "fchmodat2",
    [VG_SYS_CHOWN] = "chown",
    [VG_SYS_FCHOWN] = "fchown",
    [VG_SYS_LCHOWN] = "lchown",
    [VG_SYS_FCHOWNAT] = "fchownat",
    [VG_SYS_LINK] = "link",
    [VG_SYS_LINKAT] = "linkat",
    [VG_SYS_SYMLINK] = "symlink",
    [VG_SYS_SYMLINKAT] = "symlinkat",
    [VG_SYS_TRUNCATE] = "truncate",
    [VG_SYS_FTRUNCATE] = "ftruncate",
    [VG_SYS_CONNECT] = "connect",
    [VG_SYS_ACCEPT] = "accept",
    [VG_SYS_ACCEPT4] = "accept4",
    [VG_SYS_BIND] = "bind",
    [VG_SYS_LISTEN] = "listen",
    [VG_SYS_SETUID] = "setuid",
    [VG_SYS_SETGID] = "setgid",
    [VG_SYS_SETREUID] = "setreuid",
    [VG_SYS_SETREGID] = "setregid",
    [VG_SYS_SETRESUID] = "setresuid",
    [VG_SYS_SETRESGID] = "setresgid",
    [VG_SYS_CAPSET] = "capset",
    [VG_SYS_PTRACE] = "ptrace",
    [VG_SYS_INIT_MODULE] = "init_module",
    [VG_SYS_FINIT_MODULE] = "finit_module",
    [VG_SYS_DELETE_MODULE] = "delete_module",
    [VG_SYS_MOUNT] = "mount",
    [VG_SYS_UMOUNT2] = "umount2",
    [VG_SYS_UNSHARE] = "unshare",
    [VG_SYS_SETNS] = "setns",
    [VG_SYS_BPF] = "bpf",
    [VG_SYS_MEMFD_CREATE] = "memfd_create",
    [VG_SYS_CHROOT] = "chroot",
    [VG_SYS_KILL] = "kill",
    [VG_SYS_TKILL] = "tkill",
    [VG_SYS_TGKILL] = "tgkill",
};

const char *event_type_name(uint16_t type)
{
	return type < VG_EV_TYPE_MAX ? types[type].name : NULL;
}

size_t event_min_size(uint16_t type)
{
	return type < VG_EV_TYPE_MAX ? types[type].min_size : 0;
}

const char *event_syscall_name(uint16_t sys)
{
	return sys < VG_SYS_MAX ? syscall_names[sys] : NULL;
}

bool event_sys_fields(const struct event *ev, struct event_sys *out)
{
	const struct type_info *ti = &types[ev->hdr->type];

	/* vg_file, vg_net and vg_priv all start with ret, then syscall */
	if (ti->json != event_file_json && ti->json != event_net_json &&
	    ti->json != event_priv_json)
		return false;
	out->ret = ((const struct vg_file *)ev->hdr)->ret;
	out->syscall = ((const struct vg_file *)ev->hdr)->syscall;
	return true;
}

_Static_assert(offsetof(struct vg_file, ret) == offsetof(struct vg_net, ret) &&
		   offsetof(struct vg_file, ret) == offsetof(struct vg_priv, ret) &&
		   offsetof(struct vg_file, syscall) == offsetof(struct vg_net, syscall) &&
		   offsetof(struct vg_file, syscall) == offsetof(struct vg_priv, syscall),
	       "syscall records share their leading fields");

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

long event_str_path(const struct event *ev, struct vg_str s, bool fold, char *buf)
{
	size_t n;
	const char *p = event_str(ev->hdr, ev->size, s, &n);

	if (!p)
		return -1;
	if (n > PATH_MAX)
		n = PATH_MAX;
	memcpy(buf, p, n);
	buf[n] = 0;
	return fold ? (long)event_path_fold(buf, n) : (long)n;
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
	}
	json_key(j, "cgroup_id");
	json_uint(j, h->cgroup_id);
	json_obj_end(j);
}

static void exec_json(struct json_buf *j, const struct event *ev)
{
	const struct vg_exec *e = (const struct vg_exec *)ev->hdr;
	static const struct {
		uint32_t flag;	  /* VG_XF_*_TRUNC */
		const char *name; /* what was cut */
	} cuts[] = {
	    {VG_XF_EXE_TRUNC, "exe"},
	    {VG_XF_ARGS_TRUNC, "args"},
	    {VG_XF_CWD_TRUNC, "cwd"},
	    {VG_XF_FILENAME_TRUNC, "filename"},
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
	event_json_hex(j, "cap_eff", e->cap_eff);
	event_json_hex(j, "cap_prm", e->cap_prm);
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

static void exit_json(struct json_buf *j, const struct event *ev)
{
	const struct vg_exit *e = (const struct vg_exit *)ev->hdr;

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

static void fork_json(struct json_buf *j, const struct event *ev)
{
	const struct vg_fork *e = (const struct vg_fork *)ev->hdr;

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
	static const struct container_ident host = {.short_id = "host"};
	const struct vg_hdr *h = ev->hdr;
	struct event_sys sys;
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
	if (event_sys_fields(ev, &sys)) {
		json_key(j, "syscall");
		json_str(j, event_syscall_name(sys.syscall));
		json_key(j, "ret");
		json_int(j, sys.ret);
		json_key(j, "error");
		if (sys.ret < 0 && sys.ret > -4096)
			json_str(j, strerrorname_np(-sys.ret));
		else
			json_null(j);
	}
	types[h->type].json(j, ev);
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

void event_text_bytes(FILE *out, const char *s, size_t n)
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
	struct event_sys sys;
	char when[40];
	size_t i;

	event_format_time(ev->time_ns, when, sizeof(when));
	fprintf(out, "%.12s %-5s %-12s pid=%u ppid=%u uid=%u ", when + 11, event_type_name(h->type),
		p && p->container.short_id[0] ? p->container.short_id : "host", h->pid, h->ppid,
		h->uid);
	if (event_sys_fields(ev, &sys)) {
		fprintf(out, "%s ", event_syscall_name(sys.syscall));
		if (sys.ret < 0 && sys.ret > -4096)
			fprintf(out, "%s ", strerrorname_np(-sys.ret));
	}
	types[h->type].text(out, ev);
	if (p) {
		event_text_bytes(out, p->exe, strlen(p->exe));
		for (i = 0; p->args && i < p->args_len;) {
			size_t n = strnlen(p->args + i, p->args_len - i);

			fputc(i ? ' ' : '\t', out);
			event_text_bytes(out, p->args + i, n);
			i += n + 1;
		}
	} else {
		event_text_bytes(out, h->comm, strnlen(h->comm, sizeof(h->comm)));
	}
	fputc('\n', out);
}

static void exec_text(FILE *out, const struct event *ev)
{
	const struct vg_exec *e = (const struct vg_exec *)ev->hdr;

	if (e->hdr.flags & VG_XF_EXE_MEMFD)
		fputs("memfd ", out);
	if (e->hdr.flags & VG_XF_EXE_DELETED)
		fputs("deleted ", out);
}

static void fork_text(FILE *out, const struct event *ev)
{
	const struct vg_fork *f = (const struct vg_fork *)ev->hdr;

	fprintf(out, "%s=%u ", f->hdr.flags & VG_FF_THREAD ? "thread" : "child",
		f->hdr.flags & VG_FF_THREAD ? f->child_tid : f->child_pid);
}

static void exit_text(FILE *out, const struct event *ev)
{
	const struct vg_exit *x = (const struct vg_exit *)ev->hdr;

	if (x->status & 0x7f)
		fprintf(out, "signal=%u ", x->status & 0x7f);
	else
		fprintf(out, "code=%u ", (x->status >> 8) & 0xff);
}
