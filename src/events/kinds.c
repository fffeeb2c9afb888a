// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * kinds.c - the event descriptor table and the syscall table's user-space view.
 * A new event kind is one row here (plus its record struct in vigil/events.h and
 * its rows in vigil/syscalls.h); tests/unit/test_event_kinds.c checks the table
 * against both headers and docs/EVENTS.md.
 */
#include <string.h>

#include "event.h"
#include "kinds.h"

#define FILE_PF (VG_FC_PATH | VG_FC_COMM | VG_FC_CGROUP | VG_FC_FAILED)
#define NET_PF	(VG_FC_PATH | VG_FC_COMM | VG_FC_CGROUP | VG_FC_FAILED | VG_FC_PORT)
#define PRIV_PF (VG_FC_COMM | VG_FC_CGROUP | VG_FC_FAILED)

#define FILE_ARGS                                                                                  \
	{                                                                                          \
		EVENT_ARG_FD, EVENT_ARG_DIRFD, EVENT_ARG_NAME, EVENT_ARG_FLAGS, EVENT_ARG_MODE,    \
		    EVENT_ARG_NEWPATH                                                              \
	}
#define NET_ARGS                                                                                   \
	{                                                                                          \
		EVENT_ARG_FD, EVENT_ARG_TUPLE, EVENT_ARG_BACKLOG                                   \
	}
#define PRIV_ARGS                                                                                  \
	{                                                                                          \
		EVENT_ARG_TARGET, EVENT_ARG_FLAGS, EVENT_ARG_NAME, EVENT_ARG_DIR, EVENT_ARG_TYPE   \
	}

/* a file kind whose path the prefilter checks, one it cannot check, a net kind, a priv kind */
#define FILE_KIND(n, pf)                                                                           \
	{                                                                                          \
		.name = n, .size = sizeof(struct vg_file), .domain = EVENT_DOM_FILE,               \
		.prefilter = pf, .pf_fields = {"fd.name", "fs.path.name"}, .args = FILE_ARGS,      \
		.json = event_file_json, .text = event_file_text                                   \
	}
#define FILE_KIND_NOPATH(n)                                                                        \
	{                                                                                          \
		.name = n, .size = sizeof(struct vg_file), .domain = EVENT_DOM_FILE,               \
		.prefilter = FILE_PF, .args = FILE_ARGS, .json = event_file_json,                  \
		.text = event_file_text                                                            \
	}
/* a file attribute set explicitly: a file event's record with more after it */
#define FATTR_KIND(n, ...)                                                                         \
	{                                                                                          \
		.name = n, .size = sizeof(struct vg_fattr), .domain = EVENT_DOM_FILE,              \
		.prefilter = FILE_PF, .pf_fields = {"fd.name", "fs.path.name"},                    \
		.args = {__VA_ARGS__}, .json = event_file_json, .text = event_file_text            \
	}
#define NET_KIND(n, port, fl)                                                                      \
	{                                                                                          \
		.name = n, .size = sizeof(struct vg_net), .domain = EVENT_DOM_NET, .flags = fl,    \
		.prefilter = NET_PF, .pf_fields = {"fd.sport", port}, .pf_same = true,             \
		.args = NET_ARGS, .json = event_net_json, .text = event_net_text                   \
	}
#define PRIV_KIND(n, fl)                                                                           \
	{                                                                                          \
		.name = n, .size = sizeof(struct vg_priv), .domain = EVENT_DOM_PRIV, .flags = fl,  \
		.prefilter = PRIV_PF, .args = PRIV_ARGS, .json = event_priv_json,                  \
		.text = event_priv_text                                                            \
	}

static const struct event_kind kinds[VG_EV_TYPE_MAX] = {
    [VG_EV_EXEC] = {.name = "exec",
		    .size = sizeof(struct vg_exec),
		    .domain = EVENT_DOM_PROC,
		    .flags = EVENT_KF_LIFECYCLE,
		    .code = VG_SYS_EXECVE,
		    .args = {EVENT_ARG_FILENAME, EVENT_ARG_EXE, EVENT_ARG_ARGS, EVENT_ARG_CWD},
		    .json = event_exec_json,
		    .text = event_exec_text},
    [VG_EV_FORK] = {.name = "fork",
		    .size = sizeof(struct vg_fork),
		    .domain = EVENT_DOM_PROC,
		    .flags = EVENT_KF_LIFECYCLE,
		    .code = VG_CODE_CLONE,
		    .json = event_fork_json,
		    .text = event_fork_text},
    [VG_EV_EXIT] = {.name = "exit",
		    .size = sizeof(struct vg_exit),
		    .domain = EVENT_DOM_PROC,
		    .flags = EVENT_KF_LIFECYCLE,
		    .code = VG_CODE_PROCEXIT,
		    .json = event_exit_json,
		    .text = event_exit_text},
    [VG_EV_OPEN] = FILE_KIND("open", FILE_PF | VG_FC_WRITE_OPENS),
    [VG_EV_UNLINK] = FILE_KIND("unlink", FILE_PF),
    [VG_EV_RENAME] = FILE_KIND_NOPATH("rename"),
    [VG_EV_MKDIR] = FILE_KIND("mkdir", FILE_PF),
    [VG_EV_CHMOD] = FILE_KIND("chmod", FILE_PF),
    [VG_EV_CHOWN] = FILE_KIND("chown", FILE_PF),
    [VG_EV_LINK] = FILE_KIND_NOPATH("link"),
    [VG_EV_SYMLINK] = FILE_KIND_NOPATH("symlink"),
    [VG_EV_TRUNCATE] = FILE_KIND("truncate", FILE_PF),
    [VG_EV_UTIMES] = FATTR_KIND("utimes", EVENT_ARG_DIRFD, EVENT_ARG_NAME, EVENT_ARG_ATIME,
				EVENT_ARG_MTIME, EVENT_ARG_FLAGS),
    [VG_EV_CHATTR] = FATTR_KIND("chattr", EVENT_ARG_FD, EVENT_ARG_REQUEST, EVENT_ARG_FLAGS),
    [VG_EV_CONNECT] = NET_KIND("connect", "fd.rport", EVENT_KF_PORT_REMOTE),
    [VG_EV_ACCEPT] = NET_KIND("accept", "fd.lport", 0),
    [VG_EV_BIND] = NET_KIND("bind", "fd.lport", 0),
    [VG_EV_LISTEN] = NET_KIND("listen", "fd.lport", 0),
    [VG_EV_SEND] = NET_KIND("send", "fd.rport", EVENT_KF_PORT_REMOTE),
    [VG_EV_RECV] = NET_KIND("recv", "fd.rport", EVENT_KF_PORT_REMOTE),
    /* a new socket has no port or name yet: its arguments are Falco's */
    [VG_EV_SOCKET] = {.name = "socket",
		      .size = sizeof(struct vg_net),
		      .domain = EVENT_DOM_NET,
		      .prefilter = VG_FC_COMM | VG_FC_CGROUP | VG_FC_FAILED,
		      .args = {EVENT_ARG_FD, EVENT_ARG_DOMAIN, EVENT_ARG_TYPE, EVENT_ARG_PROTO,
			       EVENT_ARG_FLAGS},
		      .json = event_net_json,
		      .text = event_net_text},
    /* a copied fd: what it refers to; no port the kernel checks */
    [VG_EV_DUP] = {.name = "dup",
		   .size = sizeof(struct vg_net),
		   .domain = EVENT_DOM_NET,
		   .prefilter = VG_FC_COMM | VG_FC_CGROUP | VG_FC_FAILED,
		   .args = {EVENT_ARG_RES, EVENT_ARG_OLDFD, EVENT_ARG_NEWFD, EVENT_ARG_FLAGS},
		   .json = event_net_json,
		   .text = event_net_text},
    /* a DNS message, seen at the packet hooks: the kernel checks only whether a rule
     * needs DNS at all */
    [VG_EV_DNS] = {.name = "dns",
		   .size = sizeof(struct vg_dns),
		   .domain = EVENT_DOM_DNS,
		   .code = VG_CODE_DNS,
		   .json = event_dns_json,
		   .text = event_dns_text},
    [VG_EV_SETID] = PRIV_KIND("setid", 0),
    [VG_EV_CAPSET] = PRIV_KIND("capset", 0),
    [VG_EV_PTRACE] = PRIV_KIND("ptrace", 0),
    [VG_EV_MODULE] = PRIV_KIND("module", 0),
    [VG_EV_MOUNT] = PRIV_KIND("mount", EVENT_KF_S2_PATH),
    [VG_EV_UMOUNT] = PRIV_KIND("umount", EVENT_KF_S2_PATH),
    [VG_EV_UNSHARE] = PRIV_KIND("unshare", 0),
    [VG_EV_SETNS] = PRIV_KIND("setns", 0),
    [VG_EV_BPF] = PRIV_KIND("bpf", 0),
    [VG_EV_MEMFD] = PRIV_KIND("memfd", 0),
    [VG_EV_CHROOT] = PRIV_KIND("chroot", 0),
    [VG_EV_KILL] = PRIV_KIND("kill", 0),
    [VG_EV_IO_URING] = PRIV_KIND("io_uring", 0),
    [VG_EV_PROCMEM] = PRIV_KIND("procmem", 0),
};

#define SYSCALL_ROW_(name, code, falco, kind, nr64, nr32) {falco, code, kind, nr64, nr32},
#define ALIAS_ROW_(falco, code, kind, nr64, nr32)	  {falco, code, kind, nr64, nr32},
/* clang-format off */
static const struct event_syscall syscalls[] = {
	VG_SYSCALLS(SYSCALL_ROW_)
	VG_SYSCALL_ALIASES(ALIAS_ROW_)
};
/* clang-format on */
#undef SYSCALL_ROW_
#undef ALIAS_ROW_

/* names by code, for the records' syscall field: the main table only */
static const char *const syscall_names[VG_SYS_MAX] = {
#define SYSCALL_NAME_(name, code, falco, kind, nr64, nr32) [code] = falco,
    VG_SYSCALLS(SYSCALL_NAME_)
#undef SYSCALL_NAME_
};

static const char *const arg_names[EVENT_ARG_MAX] = {
#define ARG_NAME_(id, name) [EVENT_ARG_##id] = name,
    EVENT_ARGS(ARG_NAME_)
#undef ARG_NAME_
};

const struct event_kind *event_kind(uint16_t type)
{
	return type < VG_EV_TYPE_MAX && kinds[type].name ? &kinds[type] : NULL;
}

int event_kind_by_name(const char *name)
{
	int t;

	for (t = 1; t < VG_EV_TYPE_MAX; t++)
		if (kinds[t].name && !strcmp(kinds[t].name, name))
			return t;
	return -1;
}

size_t event_kind_codes(uint16_t type, uint8_t *codes)
{
	bool seen[VG_SYS_MAX] = {false};
	size_t i, n = 0;

	for (i = 0; i < sizeof(syscalls) / sizeof(syscalls[0]); i++) {
		const struct event_syscall *s = &syscalls[i];

		if (s->kind != type || s->code >= VG_SYS_MAX || seen[s->code])
			continue;
		seen[s->code] = true;
		codes[n++] = s->code;
	}
	codes[n] = 0;
	return n;
}

const struct event_syscall *event_syscalls(size_t *n)
{
	*n = sizeof(syscalls) / sizeof(syscalls[0]);
	return syscalls;
}

const char *event_syscall_name(uint16_t sys)
{
	return sys < VG_SYS_MAX ? syscall_names[sys] : NULL;
}

const char *event_code_name(uint16_t code)
{
	size_t i;

	for (i = 0; i < sizeof(syscalls) / sizeof(syscalls[0]); i++)
		if (syscalls[i].code == code)
			return syscalls[i].falco;
	return NULL;
}

const char *event_arg_name(unsigned int arg)
{
	return arg < EVENT_ARG_MAX ? arg_names[arg] : NULL;
}

unsigned int event_arg_by_name(const char *name)
{
	unsigned int i;

	for (i = 1; i < EVENT_ARG_MAX; i++)
		if (!strcmp(arg_names[i], name))
			return i;
	return EVENT_ARG_NONE;
}
