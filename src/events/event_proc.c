// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * event_proc.c - rendering of process lifecycle events: exec (struct vg_exec),
 * fork (struct vg_fork) and exit (struct vg_exit). The process fields common to
 * every event are written by event.c from the header and the process table.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "event.h"
#include "util/json.h"

/* enum vg_fd_kind as the stream names it */
static const char *const stdio_kinds[] = {"none", "file",   "directory", "pipe",
					  "tty",  "socket", "char",	 "other"};

/* One inet end as "ip:port" ("[ip6]:port"). */
static void json_end(struct json_buf *j, const char *key, uint16_t family, const uint8_t *addr,
		     uint16_t port)
{
	char a[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN + 16];

	json_key(j, key);
	if (family != AF_INET && family != AF_INET6) {
		json_null(j);
		return;
	}
	inet_ntop(family, addr, a, sizeof(a));
	snprintf(buf, sizeof(buf), family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, port);
	json_str(j, buf);
}

/* fds 0, 1 and 2 of the new image: what each is, a file's path, a socket's ends. */
static void json_stdio(struct json_buf *j, const struct event *ev, const struct vg_exec *e)
{
	json_key(j, "stdio");
	json_arr_begin(j);
	for (int i = 0; i < 3; i++) {
		const struct vg_fdinfo *d = &e->stdio[i];
		const char *path;
		size_t len = 0;

		json_obj_begin(j);
		json_key(j, "kind");
		json_str(j, d->kind < sizeof(stdio_kinds) / sizeof(stdio_kinds[0])
				? stdio_kinds[d->kind]
				: "other");
		json_key(j, "path");
		path = event_str(ev->hdr, ev->size, d->name, &len);
		if (path)
			json_strn(j, path, len);
		else
			json_null(j);
		if (d->kind == VG_FD_SOCKET) {
			json_key(j, "family");
			json_uint(j, d->family);
			json_end(j, "local", d->family, d->laddr, d->lport);
			json_end(j, "remote", d->family, d->raddr, d->rport);
		}
		json_obj_end(j);
	}
	json_arr_end(j);
}

void event_exec_json(struct json_buf *j, const struct event *ev)
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
	if (e->hdr.flags & VG_HF_CHROOT) {
		/* what the chrooted process saw; exe and cwd are the namespace's view */
		char buf[PATH_MAX + 1];
		struct event_path p = event_chroot_part(ev, e->exe, e->exe_skip, buf);

		json_key(j, "exe_chroot");
		if (p.ptr)
			json_strn(j, p.ptr, p.len);
		else
			json_null(j);
		p = event_chroot_part(ev, e->cwd, e->cwd_skip, buf);
		json_key(j, "cwd_chroot");
		if (p.ptr)
			json_strn(j, p.ptr, p.len);
		else
			json_null(j);
	}
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
	if (e->hdr.flags & VG_XF_DENIED) {
		/* refused at the BPF-LSM hook: the process kept its image */
		json_key(j, "denied");
		json_bool(j, true);
	}
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
	json_stdio(j, ev, e);
	json_key(j, "exe_writer");
	if (e->hdr.flags & VG_XF_EXE_WRITTEN) {
		char comm[VG_COMM_LEN];

		memcpy(comm, e->writer.comm, VG_COMM_LEN);
		comm[VG_COMM_LEN - 1] = '\0';
		json_obj_begin(j);
		json_key(j, "pid");
		json_uint(j, e->writer.pid);
		json_key(j, "tid");
		json_uint(j, e->writer.tid);
		json_key(j, "uid");
		json_uint(j, e->writer.uid);
		json_key(j, "comm");
		json_str(j, comm);
		json_key(j, "start_ns");
		json_uint(j, e->writer.start_ns);
		json_key(j, "ts_ns");
		json_uint(j, e->writer.ts_ns);
		json_key(j, "created");
		json_bool(j, e->writer.flags & VG_WF_CREATED);
		json_key(j, "io_uring");
		json_bool(j, e->writer.flags & VG_WF_IO_URING);
		json_obj_end(j);
	} else {
		json_null(j);
	}
	json_key(j, "truncated");
	json_arr_begin(j);
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
		if (e->hdr.flags & cuts[i].flag)
			json_str(j, cuts[i].name);
	json_arr_end(j);
	json_obj_end(j);
}

void event_exit_json(struct json_buf *j, const struct event *ev)
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

void event_fork_json(struct json_buf *j, const struct event *ev)
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

void event_exec_text(FILE *out, const struct event *ev)
{
	const struct vg_exec *e = (const struct vg_exec *)ev->hdr;

	if (e->hdr.flags & VG_XF_EXE_MEMFD)
		fputs("memfd ", out);
	if (e->hdr.flags & VG_XF_EXE_DELETED)
		fputs("deleted ", out);
	if (e->hdr.flags & VG_XF_EXE_WRITTEN)
		fprintf(out, "written_by=%u(%.*s) ", e->writer.pid, VG_COMM_LEN - 1,
			e->writer.comm);
}

void event_fork_text(FILE *out, const struct event *ev)
{
	const struct vg_fork *f = (const struct vg_fork *)ev->hdr;

	fprintf(out, "%s=%u ", f->hdr.flags & VG_FF_THREAD ? "thread" : "child",
		f->hdr.flags & VG_FF_THREAD ? f->child_tid : f->child_pid);
}

void event_exit_text(FILE *out, const struct event *ev)
{
	const struct vg_exit *x = (const struct vg_exit *)ev->hdr;

	if (x->status & 0x7f)
		fprintf(out, "signal=%u ", x->status & 0x7f);
	else
		fprintf(out, "code=%u ", (x->status >> 8) & 0xff);
}
