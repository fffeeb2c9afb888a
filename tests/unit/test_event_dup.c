// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_event_dup.c - dup records and the stdio of an exec record, built by hand as
 * bpf/sensors/net.bpf.c and proc.bpf.c lay them out (struct vg_net with fd_kind, the
 * file's path in unix_path; struct vg_fdinfo per stdio fd): their rendering, the rule
 * fields (evt.rawres, evt.arg.oldfd/newfd/flags, fd.type, fd.name, fd.sip, ...;
 * proc.stdin.type/.name and the stdout and stderr twins), Falco's redirect rule
 * loaded unchanged, the default Reverse shell rule, and the prefilter for the type.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect/detect.h"
#include "detect/fields.h"
#include "detect/filter.h"
#include "events/event.h"
#include "events/records.h"
#include "events/rules.h"
#include "state/container.h"
#include "state/proctable.h"
#include "util/json.h"

struct drec {
	union {
		struct vg_net n;
		struct vg_exec x;
		char buf[1024];
	};
	size_t off; /* bytes of the record */
};

static void str_add(struct drec *r, struct vg_str *s, const char *bytes)
{
	size_t n = strlen(bytes);

	s->off = r->off;
	s->len = n;
	memcpy(r->buf + r->off, bytes, n + 1);
	r->off += n + 1;
	r->n.hdr.size = r->off;
}

/* A dup record: oldfd copied to ret, of kind k. */
static void dup_init(struct drec *r, uint16_t sys, int oldfd, int64_t ret, uint16_t k)
{
	memset(r, 0, sizeof(*r));
	r->n.hdr.type = VG_EV_DUP;
	r->n.hdr.pid = 88;
	r->n.hdr.loginuid = UINT32_MAX;
	strcpy(r->n.hdr.comm, "bash");
	r->n.syscall = sys;
	r->n.ret = ret;
	r->n.fd = oldfd;
	r->n.backlog = sys == VG_SYS_DUP ? -1 : (int32_t)ret;
	r->n.fd_kind = k;
	r->off = sizeof(struct vg_net);
	r->n.hdr.size = r->off;
}

/* The copied fd is a TCP socket from 10.0.0.2:38000 to 10.0.0.1:4444. */
static void dup_tcp(struct drec *r, uint16_t sys, int oldfd, int64_t ret)
{
	dup_init(r, sys, oldfd, ret, VG_FD_SOCKET);
	r->n.family = AF_INET;
	r->n.sock_type = SOCK_STREAM;
	r->n.protocol = IPPROTO_TCP;
	r->n.lport = 38000;
	r->n.rport = 4444;
	inet_pton(AF_INET, "10.0.0.2", r->n.laddr);
	inet_pton(AF_INET, "10.0.0.1", r->n.raddr);
}

static void fd_tcp(struct vg_fdinfo *d)
{
	memset(d, 0, sizeof(*d));
	d->kind = VG_FD_SOCKET;
	d->family = AF_INET;
	d->sock_type = SOCK_STREAM;
	d->protocol = IPPROTO_TCP;
	d->lport = 38000;
	d->rport = 4444;
	inet_pton(AF_INET, "10.0.0.2", d->laddr);
	inet_pton(AF_INET, "10.0.0.1", d->raddr);
}

/* An exec record of comm with stdio of kinds in, out, err (sockets: fd_tcp()). */
static void exec_init(struct drec *r, const char *comm, uint8_t in, uint8_t out, uint8_t err)
{
	uint8_t k[3] = {in, out, err};

	memset(r, 0, sizeof(*r));
	r->x.hdr.type = VG_EV_EXEC;
	r->x.hdr.pid = 99;
	r->x.hdr.loginuid = UINT32_MAX;
	strcpy(r->x.hdr.comm, comm);
	r->off = sizeof(struct vg_exec);
	r->x.hdr.size = r->off;
	for (int i = 0; i < 3; i++) {
		if (k[i] == VG_FD_SOCKET)
			fd_tcp(&r->x.stdio[i]);
		r->x.stdio[i].kind = k[i];
	}
}

#define assert_has(hay, needle) cr_assert(strstr(hay, needle), "want %s in\n%s", needle, hay)

/* ---- rendering ---- */

Test(event_dup, socket_and_file_render)
{
	struct drec r;
	struct json_buf j;
	char *s;

	dup_tcp(&r, VG_SYS_DUP2, 3, 0);
	s = record_json(r.buf, r.off, &j);
	assert_has(s, "\"type\":\"dup\"");
	assert_has(s, "\"syscall\":\"dup2\",\"ret\":0,\"error\":null");
	assert_has(s, "\"fd\":3,\"newfd\":0,\"kind\":\"socket\",\"path\":null,\"cloexec\":false,"
		      "\"fcntl\":false,\"local\":{\"ip\":\"10.0.0.2\",\"port\":38000},"
		      "\"remote\":{\"ip\":\"10.0.0.1\",\"port\":4444}");
	record_text_is(r.buf, r.off, event_net_text,
		       "fd=3 -> 0 socket 10.0.0.2:38000 -> 10.0.0.1:4444 ");
	json_free(&j);

	dup_init(&r, VG_SYS_DUP3, 4, 1, VG_FD_FILE);
	r.n.hdr.flags |= VG_NF_CLOEXEC;
	str_add(&r, &r.n.unix_path, "/tmp/out.log");
	s = record_json(r.buf, r.off, &j);
	assert_has(s, "\"fd\":4,\"newfd\":1,\"kind\":\"file\",\"path\":\"/tmp/out.log\","
		      "\"cloexec\":true,\"fcntl\":false}");
	record_text_is(r.buf, r.off, event_net_text, "fd=4 -> 1 file /tmp/out.log ");
	json_free(&j);

	/* fcntl(F_DUPFD) is recorded as a dup */
	dup_init(&r, VG_SYS_DUP, 5, 2, VG_FD_PIPE);
	r.n.hdr.flags |= VG_NF_FCNTL;
	s = record_json(r.buf, r.off, &j);
	assert_has(s, "\"syscall\":\"dup\"");
	assert_has(s, "\"kind\":\"pipe\",\"path\":null,\"cloexec\":false,\"fcntl\":true}");
	record_text_is(r.buf, r.off, event_net_text, "fd=5 fcntl -> 2 pipe ");
	json_free(&j);
}

/* ---- fields ---- */

static void fields_of(struct drec *r, struct event *ev)
{
	fields_of_record(r->buf, r->off, ev);
}

static const char *field(const char *name, char *out, size_t len)
{
	return field_text(name, out, len, -1);
}

#define assert_field(name, want)                                                                   \
	do {                                                                                       \
		char buf_[256];                                                                    \
		const char *got_ = field(name, buf_, sizeof(buf_));                                \
		if (want)                                                                          \
			cr_assert(got_ && !strcmp(got_, (want) ? (want) : ""), "%s: %s, want %s",  \
				  name, got_ ? got_ : "(none)", (want) ? (want) : "(none)");       \
		else                                                                               \
			cr_assert_null(got_, "%s: %s, want none", name, got_);                     \
	} while (0)

Test(event_dup, fields_of_a_socket_copied_onto_stdin)
{
	struct drec r;
	struct event ev;

	dup_tcp(&r, VG_SYS_DUP2, 3, 0);
	fields_of(&r, &ev);
	cr_assert_str_eq(fields_evtype_name(field_event_code(&ev)), "dup2");
	assert_field("evt.rawres", "0");
	assert_field("evt.arg.oldfd", "3");
	assert_field("evt.arg.newfd", "0");
	assert_field("evt.arg.flags", NULL);
	assert_field("fd.num", "3");
	assert_field("fd.type", "ipv4");
	assert_field("fd.typechar", "4");
	assert_field("fd.l4proto", "tcp");
	/* the local end first, as for a connect: the remote end is the server */
	assert_field("fd.name", "10.0.0.2:38000->10.0.0.1:4444");
	assert_field("fd.sip", "10.0.0.1");
	assert_field("fd.sport", "4444");
	assert_field("fd.cip", "10.0.0.2");
	assert_field("fd.lport", "38000");
	assert_field("fd.rport", "4444");
	assert_field("evt.args", "res=0 oldfd=3 newfd=0");

	dup_tcp(&r, VG_SYS_DUP3, 7, 2);
	r.n.hdr.flags |= VG_NF_CLOEXEC;
	fields_of(&r, &ev);
	cr_assert_str_eq(fields_evtype_name(field_event_code(&ev)), "dup3");
	assert_field("evt.arg.flags", "O_CLOEXEC");

	/* fcntl(F_DUPFD): Falco's name of the plain dup, so its dup macro sees it */
	dup_tcp(&r, VG_SYS_DUP, 3, 1);
	r.n.hdr.flags |= VG_NF_FCNTL;
	fields_of(&r, &ev);
	cr_assert_str_eq(fields_evtype_name(field_event_code(&ev)), "dup");
	assert_field("evt.rawres", "1");
	assert_field("evt.arg.newfd", NULL);
}

Test(event_dup, fields_of_files_pipes_and_terminals)
{
	struct drec r;
	struct event ev;

	dup_init(&r, VG_SYS_DUP2, 4, 1, VG_FD_FILE);
	str_add(&r, &r.n.unix_path, "/var/log/app.log");
	fields_of(&r, &ev);
	assert_field("fd.type", "file");
	assert_field("fd.name", "/var/log/app.log");
	assert_field("fd.sip", NULL);
	assert_field("fd.lport", NULL);
	assert_field("fd.l4proto", NULL);

	dup_init(&r, VG_SYS_DUP2, 4, 1, VG_FD_PIPE);
	fields_of(&r, &ev);
	assert_field("fd.type", "pipe");
	assert_field("fd.typechar", "p");
	assert_field("fd.name", NULL);

	/* Falco calls a terminal or another device a file */
	dup_init(&r, VG_SYS_DUP2, 4, 2, VG_FD_TTY);
	fields_of(&r, &ev);
	assert_field("fd.type", "file");

	dup_init(&r, VG_SYS_DUP, 9, 10, VG_FD_OTHER);
	fields_of(&r, &ev);
	assert_field("fd.type", NULL);

	/* a failed dup2 of a closed fd */
	dup_init(&r, VG_SYS_DUP2, 40, -EBADF, VG_FD_NONE);
	fields_of(&r, &ev);
	assert_field("evt.res", "EBADF");
	assert_field("fd.type", NULL);
}

Test(event_dup, stdio_fields_at_exec)
{
	struct drec r;
	struct event ev;

	exec_init(&r, "sh", VG_FD_SOCKET, VG_FD_SOCKET, VG_FD_TTY);
	r.x.stdio[2].rdev = 136u << 20 | 3;
	fields_of(&r, &ev);
	assert_field("proc.stdin.type", "ipv4");
	assert_field("proc.stdout.type", "ipv4");
	assert_field("proc.stderr.type", "tty");
	assert_field("proc.stdin.name", "10.0.0.2:38000->10.0.0.1:4444");
	assert_field("proc.stderr.name", "/dev/pts/3");
	{
		struct json_buf j;
		char *js = record_json(r.buf, r.off, &j);

		assert_has(js, "\"stdio\":[{\"kind\":\"socket\",\"path\":null,\"family\":2,"
			       "\"local\":\"10.0.0.2:38000\",\"remote\":\"10.0.0.1:4444\"},");
		assert_has(js, "{\"kind\":\"tty\",\"path\":null}]");
		json_free(&j);
	}

	exec_init(&r, "bash", VG_FD_PIPE, VG_FD_FILE, VG_FD_NONE);
	str_add(&r, &r.x.stdio[1].name, "/tmp/x.out");
	fields_of(&r, &ev);
	assert_field("proc.stdin.type", "pipe");
	assert_field("proc.stdin.name", NULL);
	assert_field("proc.stdout.type", "file");
	assert_field("proc.stdout.name", "/tmp/x.out");
	assert_field("proc.stderr.type", NULL);

	exec_init(&r, "bash", VG_FD_CHAR, VG_FD_DIR, VG_FD_TTY);
	r.x.stdio[0].rdev = 1u << 20 | 3;
	r.x.stdio[2].rdev = 5u << 20;
	str_add(&r, &r.x.stdio[1].name, "/");
	fields_of(&r, &ev);
	assert_field("proc.stdin.type", "file");
	assert_field("proc.stdout.type", "directory");
	assert_field("proc.stdout.name", "/");
	assert_field("proc.stderr.name", "/dev/tty");

	/* only exec records carry stdio */
	dup_tcp(&r, VG_SYS_DUP2, 3, 0);
	fields_of(&r, &ev);
	assert_field("proc.stdin.type", NULL);
}

/* ---- rules ---- */

static void eval(struct detect *d, struct proctable *procs, struct drec *r,
		 const struct container_ident *in)
{
	eval_record(d, procs, r->buf, r->off, in);
}

Test(event_dup, falcos_redirect_rule_fires_unchanged)
{
	static const char rule[] = "Redirect STDOUT/STDIN to Network Connection in Container";
	const char *files[] = {"../shared/compat/falco_rules.yaml"};
	struct proctable *procs = proctable__new(16, 0);
	struct container_ident pod;
	struct detect *d;
	struct drec r;
	const char *out;

	if (access(files[0], R_OK))
		cr_skip_test("%s is missing (run from the repository, beside ../shared)", files[0]);
	pod_of(&pod);
	d = detect_files(files, 1);
	dup_tcp(&r, VG_SYS_DUP2, 3, 1);
	eval(d, procs, &r, &pod);
	out = fired_rule(rule);
	cr_assert_not_null(out, "fired %d", nfired);
	assert_has(out, "fd.sip=10.0.0.1 connection=10.0.0.2:38000->10.0.0.1:4444 lport=38000 "
			"rport=4444 fd_type=ipv4 fd_proto=tcp evt_type=dup2");
	/* the fcntl spelling of the same */
	r.n.syscall = VG_SYS_DUP;
	r.n.hdr.flags |= VG_NF_FCNTL;
	eval(d, procs, &r, &pod);
	cr_assert_not_null(fired_rule(rule), "fcntl(F_DUPFD)");
	eval(d, procs, &r, NULL);
	cr_assert_null(fired_rule(rule), "not on the host");
	dup_tcp(&r, VG_SYS_DUP2, 3, 5);
	eval(d, procs, &r, &pod);
	cr_assert_null(fired_rule(rule), "not onto fd 5");
	dup_init(&r, VG_SYS_DUP2, 3, 1, VG_FD_FILE);
	str_add(&r, &r.n.unix_path, "/tmp/out");
	eval(d, procs, &r, &pod);
	cr_assert_null(fired_rule(rule), "not a file");
	detect__free(d);
	proctable__free(procs);
}

Test(event_dup, default_reverse_shell_rule)
{
	static const char rule[] = "Reverse shell";
	struct proctable *procs = proctable__new(16, 0);
	struct detect *d = detect_of(NULL);
	struct container_ident pod;
	struct drec r;

	pod_of(&pod);
	exec_init(&r, "bash", VG_FD_SOCKET, VG_FD_SOCKET, VG_FD_SOCKET);
	eval(d, procs, &r, NULL);
	cr_assert_not_null(fired_rule(rule), "on the host");
	assert_has(fired_rule(rule), "stdin=10.0.0.2:38000->10.0.0.1:4444");
	eval(d, procs, &r, &pod);
	cr_assert_not_null(fired_rule(rule), "in a container");
	exec_init(&r, "python3", VG_FD_SOCKET, VG_FD_PIPE, VG_FD_SOCKET);
	eval(d, procs, &r, NULL);
	cr_assert_not_null(fired_rule(rule), "stdin and stderr");
	/* near misses */
	exec_init(&r, "sh", VG_FD_PIPE, VG_FD_PIPE, VG_FD_TTY);
	eval(d, procs, &r, NULL);
	cr_assert_null(fired_rule(rule), "pipes");
	exec_init(&r, "sh", VG_FD_SOCKET, VG_FD_PIPE, VG_FD_FILE);
	eval(d, procs, &r, NULL);
	cr_assert_null(fired_rule(rule), "only stdin");
	exec_init(&r, "sh", VG_FD_SOCKET, VG_FD_SOCKET, VG_FD_SOCKET);
	r.x.stdio[0].family = r.x.stdio[1].family = AF_UNIX;
	eval(d, procs, &r, NULL);
	cr_assert_null(fired_rule(rule), "a unix socket (a supervisor's)");
	exec_init(&r, "nginx", VG_FD_SOCKET, VG_FD_SOCKET, VG_FD_SOCKET);
	eval(d, procs, &r, NULL);
	cr_assert_null(fired_rule(rule), "not a shell (inetd-style servers)");
	detect__free(d);
	proctable__free(procs);
}

/* ---- the prefilter ---- */

Test(event_dup, prefilter_keeps_dups_in_the_kernel_unless_a_rule_wants_them)
{
	static const char comm_rule[] = "- rule: r\n  desc: d\n  output: o\n  priority: WARNING\n"
					"  condition: evt.type = dup2 and proc.name = bash\n";
	struct filter_spec f;
	struct detect *d;
	struct event ev;
	struct drec r;

	/* the default rules have none on dup: none goes up */
	d = detect_of(NULL);
	filter_spec_init(&f);
	cr_assert_eq(detect__derive_filter(d, &f), 0);
	cr_assert_eq(f.types[VG_EV_DUP].mode, VG_FILTER_NONE);
	dup_tcp(&r, VG_SYS_DUP2, 3, 0);
	cr_assert_eq(event_decode(&ev, r.buf, r.off), 0);
	cr_assert_not(filter_spec_pass(&f, &ev));
	filter_spec_free(&f);
	detect__free(d);

	/* a comm: only that comm's */
	d = detect_of(comm_rule);
	filter_spec_init(&f);
	cr_assert_eq(detect__derive_filter(d, &f), 0);
	cr_assert_eq(f.types[VG_EV_DUP].mode, VG_FILTER_MATCH);
	cr_assert_eq(f.types[VG_EV_DUP].criteria, VG_FC_COMM);
	cr_assert(filter_spec_pass(&f, &ev), "comm bash");
	strcpy(r.n.hdr.comm, "python3");
	cr_assert_eq(event_decode(&ev, r.buf, r.off), 0);
	cr_assert_not(filter_spec_pass(&f, &ev));
	filter_spec_free(&f);
	detect__free(d);
}
