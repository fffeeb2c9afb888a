// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fields.c - the Falco fields vigil supplies, read from a decoded kernel record
 * and the process table. Strings the record holds are handed out in place;
 * strings that must be computed (cmdline, folded paths, flag names, addresses)
 * are built in the context's scratch, which lives until the next event.
 *
 * Semantics follow Falco's field reference: proc.name is the task's comm,
 * proc.exe is argv[0], proc.exepath the executable's path, proc.cmdline is
 * "name args", user.uid the effective uid, fd.name a path or "cip:cport->sip:sport".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "events/dns.h"
#include "events/event.h"
#include "fields.h"
#include "state/dnscache.h"
#include "state/cgroup.h"
#include "state/proctable.h"
#include "state/runtime.h"

enum field_id {
	F_EVT_TIME = 1,
	F_EVT_RAWTIME,
	F_EVT_NUM,
	F_EVT_HOSTNAME,
	F_EVT_DIR,
	F_EVT_RES,
	F_EVT_RAWRES,
	F_EVT_FAILED,
	F_EVT_IS_OPEN_READ,
	F_EVT_IS_OPEN_WRITE,
	F_EVT_IS_OPEN_EXEC,
	F_EVT_IS_OPEN_CREATE,
	F_EVT_ARG,
	F_EVT_ARGS,
	F_EVT_SOURCE,
	F_PROC_PID,
	F_PROC_PPID,
	F_PROC_NAME,
	F_PROC_EXE,
	F_PROC_EXEPATH,
	F_PROC_ARGS,
	F_PROC_CMDLINE,
	F_PROC_PNAME,
	F_PROC_PEXE,
	F_PROC_PEXEPATH,
	F_PROC_PCMDLINE,
	F_PROC_ANAME,
	F_PROC_APID,
	F_PROC_AEXE,
	F_PROC_AEXEPATH,
	F_PROC_ACMDLINE,
	F_PROC_CWD,
	F_PROC_TTY,
	F_PROC_SID,
	F_PROC_VPID,
	F_PROC_VPGID,
	F_PROC_IS_VPGID_LEADER,
	F_PROC_ENV,
	F_PROC_STDIN_TYPE,
	F_PROC_STDOUT_TYPE,
	F_PROC_STDERR_TYPE,
	F_PROC_STDIN_NAME,
	F_PROC_STDOUT_NAME,
	F_PROC_STDERR_NAME,
	F_PROC_SNAME,
	F_PROC_IS_EXE_FROM_MEMFD,
	F_PROC_IS_EXE_DELETED,
	F_PROC_EXE_INO,
	F_PROC_DURATION,
	F_PROC_START_TS,
	F_THREAD_TID,
	F_THREAD_CAP_EFFECTIVE,
	F_THREAD_CAP_PERMITTED,
	F_USER_UID,
	F_USER_NAME,
	F_USER_LOGINUID,
	F_USER_LOGINNAME,
	F_GROUP_GID,
	F_GROUP_NAME,
	F_CONTAINER_ID,
	F_CONTAINER_FULL_ID,
	F_CONTAINER_NAME,
	F_CONTAINER_IMAGE_REPOSITORY,
	F_CONTAINER_RUNTIME,
	F_CONTAINER_IMAGE,
	F_CONTAINER_IMAGE_TAG,
	F_CONTAINER_IMAGE_ID,
	F_CONTAINER_PRIVILEGED,
	F_CONTAINER_LABELS,
	F_CONTAINER_LABEL,
	F_CONTAINER_MOUNTS,
	F_CONTAINER_MOUNT,
	F_CONTAINER_MOUNT_SOURCE,
	F_CONTAINER_MOUNT_DEST,
	F_CONTAINER_MOUNT_MODE,
	F_CONTAINER_MOUNT_RDWR,
	F_CONTAINER_MOUNT_PROPAGATION,
	F_K8S_POD_NAME,
	F_K8S_NS_NAME,
	F_K8S_POD_UID,
	F_K8S_POD_LABELS,
	F_K8S_POD_LABEL,
	F_K8S_CONTAINER_NAME,
	F_FD_NAME,
	F_FD_NAMERAW,
	F_FD_CHROOT_NAME,
	F_FD_DIRECTORY,
	F_FD_FILENAME,
	F_FD_NUM,
	F_FD_INO,
	F_FD_TYPE,
	F_FD_TYPECHAR,
	F_FD_SIP,
	F_FD_SPORT,
	F_FD_CIP,
	F_FD_CPORT,
	F_FD_RIP,
	F_FD_RPORT,
	F_FD_LIP,
	F_FD_LPORT,
	F_FD_L4PROTO,
	F_FD_SOCKFAMILY,
	F_FD_NET,
	F_FD_SNET,
	F_FD_CNET,
	F_FD_RNET,
	F_FD_LNET,
	F_FD_IP,
	F_FD_PORT,
	F_FD_CONNECTED,
	F_FS_PATH_NAME,
	F_FS_PATH_SOURCE,
	F_FS_PATH_TARGET,
	F_PROC_IS_EXE_UPPER_LAYER,
	F_PROC_EXE_CTIME,
	F_PROC_EXE_MTIME,
	F_PROC_EXE_CTIME_TO_START,
	F_FD_NAME_CHANGED,
	F_CONTAINER_START_TS,
	F_PROC_ANCESTRY_UNKNOWN,
	F_EVT_IS_COMPAT,
	F_PROC_IS_COMPAT,
	F_EVT_IS_IO_URING,
	/* DNS: the record's message, and names of addresses from recent answers */
	F_DNS_QUERY,
	F_DNS_TYPE,
	F_DNS_RCODE,
	F_DNS_ANSWERS,
	F_DNS_IS_ANSWER,
	F_DNS_QUERY_LEN,
	F_DNS_QUERY_LABELS,
	F_DNS_MAX_LABEL,
	F_DNS_LABEL_ENTROPY,
	F_DNS_TXT_COUNT,
	F_DNS_SUFFIXES,
	F_DNS_SERVER,
	F_FD_SIP_NAME,
	F_FD_CIP_NAME,
	F_FD_RIP_NAME,
	F_FD_LIP_NAME,
	/* the process a kill or ptrace names, from the process table */
	F_EVT_TARGET_NAME,
	F_EVT_TARGET_EXEPATH,
	/* utimes and chattr (struct vg_fattr) */
	F_FS_TIMES_EXPLICIT,
	F_FS_TIMES_AGE,
	F_FS_ATTR_NEW,
	F_FS_ATTR_OLD,
	/* a file event on /proc/PID/mem */
	F_FS_PROCMEM_PID,
	F_FS_PROCMEM_OTHER,
	/* the exe's history: new since the agent started, written by a process vigil saw */
	F_PROC_EXE_NEW,
	F_PROC_EXE_AGE,
	F_PROC_EXE_WRITTEN,
	F_PROC_EXE_WRITER_PID,
	F_PROC_EXE_WRITER_NAME,
	F_PROC_EXE_WRITER_EXEPATH,
	F_PROC_EXE_WRITER_UID,
};

#define S   RULE_FT_STRING
#define I   RULE_FT_INT64
#define U   RULE_FT_UINT64
#define B   RULE_FT_BOOL
#define IP  RULE_FT_IPADDR
#define NET RULE_FT_IPNET

/* RULE_FF_COMM fields are the kernel comm, which the rules check literals against */
_Static_assert(RULE_COMM_MAX == VG_COMM_LEN - 1, "RULE_COMM_MAX is the comm without its NUL");

static const struct rule_field_def registry[] = {
    {"evt.time", U, RULE_FARG_NONE, 0, F_EVT_TIME},
    {"evt.rawtime", U, RULE_FARG_NONE, 0, F_EVT_RAWTIME},
    {"evt.num", U, RULE_FARG_NONE, 0, F_EVT_NUM},
    {"evt.hostname", S, RULE_FARG_NONE, 0, F_EVT_HOSTNAME},
    {"evt.dir", S, RULE_FARG_NONE, 0, F_EVT_DIR},
    {"evt.res", S, RULE_FARG_NONE, 0, F_EVT_RES},
    {"evt.rawres", I, RULE_FARG_NONE, 0, F_EVT_RAWRES},
    {"evt.failed", B, RULE_FARG_NONE, 0, F_EVT_FAILED},
    {"evt.is_open_read", B, RULE_FARG_NONE, 0, F_EVT_IS_OPEN_READ},
    {"evt.is_open_write", B, RULE_FARG_NONE, 0, F_EVT_IS_OPEN_WRITE},
    {"evt.is_open_exec", B, RULE_FARG_NONE, 0, F_EVT_IS_OPEN_EXEC},
    {"evt.is_open_create", B, RULE_FARG_NONE, 0, F_EVT_IS_OPEN_CREATE},
    {"evt.is_compat", B, RULE_FARG_NONE, 0, F_EVT_IS_COMPAT},
    {"evt.arg", S, RULE_FARG_KEY, RULE_FF_ARG_REQUIRED, F_EVT_ARG},
    {"evt.args", S, RULE_FARG_NONE, 0, F_EVT_ARGS},
    {"evt.source", S, RULE_FARG_NONE, 0, F_EVT_SOURCE},
    {"evt.is_io_uring", B, RULE_FARG_NONE, 0, F_EVT_IS_IO_URING},
    {"proc.pid", I, RULE_FARG_NONE, 0, F_PROC_PID},
    {"proc.ppid", I, RULE_FARG_NONE, 0, F_PROC_PPID},
    {"proc.name", S, RULE_FARG_NONE, RULE_FF_COMM, F_PROC_NAME},
    {"proc.exe", S, RULE_FARG_NONE, 0, F_PROC_EXE},
    {"proc.exepath", S, RULE_FARG_NONE, 0, F_PROC_EXEPATH},
    {"proc.args", S, RULE_FARG_NONE, 0, F_PROC_ARGS},
    {"proc.cmdline", S, RULE_FARG_NONE, 0, F_PROC_CMDLINE},
    {"proc.pname", S, RULE_FARG_NONE, RULE_FF_COMM, F_PROC_PNAME},
    {"proc.pexe", S, RULE_FARG_NONE, 0, F_PROC_PEXE},
    {"proc.pexepath", S, RULE_FARG_NONE, 0, F_PROC_PEXEPATH},
    {"proc.pcmdline", S, RULE_FARG_NONE, 0, F_PROC_PCMDLINE},
    {"proc.aname", S, RULE_FARG_INDEX, RULE_FF_MULTI | RULE_FF_COMM, F_PROC_ANAME},
    {"proc.apid", I, RULE_FARG_INDEX, RULE_FF_MULTI, F_PROC_APID},
    {"proc.aexe", S, RULE_FARG_INDEX, RULE_FF_MULTI, F_PROC_AEXE},
    {"proc.aexepath", S, RULE_FARG_INDEX, RULE_FF_MULTI, F_PROC_AEXEPATH},
    {"proc.acmdline", S, RULE_FARG_INDEX, RULE_FF_MULTI, F_PROC_ACMDLINE},
    {"proc.cwd", S, RULE_FARG_NONE, 0, F_PROC_CWD},
    {"proc.tty", I, RULE_FARG_NONE, 0, F_PROC_TTY},
    {"proc.sid", I, RULE_FARG_NONE, 0, F_PROC_SID},
    {"proc.vpid", I, RULE_FARG_NONE, 0, F_PROC_VPID},
    {"proc.vpgid", I, RULE_FARG_NONE, 0, F_PROC_VPGID},
    {"proc.is_vpgid_leader", B, RULE_FARG_NONE, 0, F_PROC_IS_VPGID_LEADER},
    {"proc.env", S, RULE_FARG_KEY, 0, F_PROC_ENV},
    {"proc.stdin.type", S, RULE_FARG_NONE, 0, F_PROC_STDIN_TYPE},
    {"proc.stdout.type", S, RULE_FARG_NONE, 0, F_PROC_STDOUT_TYPE},
    {"proc.stderr.type", S, RULE_FARG_NONE, 0, F_PROC_STDERR_TYPE},
    {"proc.stdin.name", S, RULE_FARG_NONE, 0, F_PROC_STDIN_NAME},
    {"proc.stdout.name", S, RULE_FARG_NONE, 0, F_PROC_STDOUT_NAME},
    {"proc.stderr.name", S, RULE_FARG_NONE, 0, F_PROC_STDERR_NAME},
    {"proc.sname", S, RULE_FARG_NONE, RULE_FF_COMM, F_PROC_SNAME},
    {"proc.is_exe_from_memfd", B, RULE_FARG_NONE, 0, F_PROC_IS_EXE_FROM_MEMFD},
    {"proc.is_exe_deleted", B, RULE_FARG_NONE, 0, F_PROC_IS_EXE_DELETED},
    {"proc.is_compat", B, RULE_FARG_NONE, 0, F_PROC_IS_COMPAT},
    {"proc.exe_ino", U, RULE_FARG_NONE, 0, F_PROC_EXE_INO},
    {"proc.is_exe_upper_layer", B, RULE_FARG_NONE, 0, F_PROC_IS_EXE_UPPER_LAYER},
    {"proc.ancestry_unknown", B, RULE_FARG_NONE, 0, F_PROC_ANCESTRY_UNKNOWN},
    {"proc.exe_ino.ctime", U, RULE_FARG_NONE, 0, F_PROC_EXE_CTIME},
    {"proc.exe_ino.mtime", U, RULE_FARG_NONE, 0, F_PROC_EXE_MTIME},
    {"proc.exe_ino.ctime_duration_proc_start", U, RULE_FARG_NONE, 0, F_PROC_EXE_CTIME_TO_START},
    {"proc.duration", U, RULE_FARG_NONE, 0, F_PROC_DURATION},
    {"proc.start_ts", U, RULE_FARG_NONE, 0, F_PROC_START_TS},
    {"thread.tid", I, RULE_FARG_NONE, 0, F_THREAD_TID},
    {"thread.cap_effective", S, RULE_FARG_NONE, 0, F_THREAD_CAP_EFFECTIVE},
    {"thread.cap_permitted", S, RULE_FARG_NONE, 0, F_THREAD_CAP_PERMITTED},
    {"user.uid", I, RULE_FARG_NONE, 0, F_USER_UID},
    {"user.name", S, RULE_FARG_NONE, 0, F_USER_NAME},
    {"user.loginuid", I, RULE_FARG_NONE, 0, F_USER_LOGINUID},
    {"user.loginname", S, RULE_FARG_NONE, 0, F_USER_LOGINNAME},
    {"group.gid", I, RULE_FARG_NONE, 0, F_GROUP_GID},
    {"group.name", S, RULE_FARG_NONE, 0, F_GROUP_NAME},
    {"container.id", S, RULE_FARG_NONE, 0, F_CONTAINER_ID},
    {"container.full_id", S, RULE_FARG_NONE, 0, F_CONTAINER_FULL_ID},
    {"container.name", S, RULE_FARG_NONE, 0, F_CONTAINER_NAME},
    {"container.image.repository", S, RULE_FARG_NONE, 0, F_CONTAINER_IMAGE_REPOSITORY},
    {"container.runtime", S, RULE_FARG_NONE, 0, F_CONTAINER_RUNTIME},
    {"container.image", S, RULE_FARG_NONE, 0, F_CONTAINER_IMAGE},
    {"container.image.tag", S, RULE_FARG_NONE, 0, F_CONTAINER_IMAGE_TAG},
    {"container.image.id", S, RULE_FARG_NONE, 0, F_CONTAINER_IMAGE_ID},
    {"container.privileged", B, RULE_FARG_NONE, 0, F_CONTAINER_PRIVILEGED},
    {"container.labels", S, RULE_FARG_NONE, 0, F_CONTAINER_LABELS},
    {"container.label", S, RULE_FARG_KEY, RULE_FF_ARG_REQUIRED, F_CONTAINER_LABEL},
    {"container.mounts", S, RULE_FARG_NONE, 0, F_CONTAINER_MOUNTS},
    {"container.mount", S, RULE_FARG_KEY, RULE_FF_ARG_REQUIRED, F_CONTAINER_MOUNT},
    {"container.mount.source", S, RULE_FARG_KEY, RULE_FF_ARG_REQUIRED, F_CONTAINER_MOUNT_SOURCE},
    {"container.mount.dest", S, RULE_FARG_KEY, RULE_FF_ARG_REQUIRED, F_CONTAINER_MOUNT_DEST},
    {"container.mount.mode", S, RULE_FARG_KEY, RULE_FF_ARG_REQUIRED, F_CONTAINER_MOUNT_MODE},
    {"container.mount.rdwr", S, RULE_FARG_KEY, RULE_FF_ARG_REQUIRED, F_CONTAINER_MOUNT_RDWR},
    {"container.mount.propagation", S, RULE_FARG_KEY, RULE_FF_ARG_REQUIRED,
     F_CONTAINER_MOUNT_PROPAGATION},
    {"k8s.pod.name", S, RULE_FARG_NONE, 0, F_K8S_POD_NAME},
    {"k8s.ns.name", S, RULE_FARG_NONE, 0, F_K8S_NS_NAME},
    {"k8s.pod.uid", S, RULE_FARG_NONE, 0, F_K8S_POD_UID},
    {"k8s.pod.id", S, RULE_FARG_NONE, 0, F_K8S_POD_UID},
    {"k8s.pod.labels", S, RULE_FARG_NONE, 0, F_K8S_POD_LABELS},
    {"k8s.pod.label", S, RULE_FARG_KEY, RULE_FF_ARG_REQUIRED, F_K8S_POD_LABEL},
    {"k8s.container.name", S, RULE_FARG_NONE, 0, F_K8S_CONTAINER_NAME},
    {"container.start_ts", U, RULE_FARG_NONE, 0, F_CONTAINER_START_TS},
    {"fd.name", S, RULE_FARG_NONE, 0, F_FD_NAME},
    {"fd.nameraw", S, RULE_FARG_NONE, 0, F_FD_NAMERAW},
    {"fd.chroot_name", S, RULE_FARG_NONE, 0, F_FD_CHROOT_NAME},
    {"fd.directory", S, RULE_FARG_NONE, 0, F_FD_DIRECTORY},
    {"fd.filename", S, RULE_FARG_NONE, 0, F_FD_FILENAME},
    {"fd.num", I, RULE_FARG_NONE, 0, F_FD_NUM},
    {"fd.ino", I, RULE_FARG_NONE, 0, F_FD_INO},
    {"fd.type", S, RULE_FARG_NONE, 0, F_FD_TYPE},
    {"fd.typechar", S, RULE_FARG_NONE, 0, F_FD_TYPECHAR},
    {"fd.sip", IP, RULE_FARG_NONE, 0, F_FD_SIP},
    {"fd.sport", U, RULE_FARG_NONE, 0, F_FD_SPORT},
    {"fd.cip", IP, RULE_FARG_NONE, 0, F_FD_CIP},
    {"fd.cport", U, RULE_FARG_NONE, 0, F_FD_CPORT},
    {"fd.rip", IP, RULE_FARG_NONE, 0, F_FD_RIP},
    {"fd.rport", U, RULE_FARG_NONE, 0, F_FD_RPORT},
    {"fd.lip", IP, RULE_FARG_NONE, 0, F_FD_LIP},
    {"fd.lport", U, RULE_FARG_NONE, 0, F_FD_LPORT},
    {"fd.l4proto", S, RULE_FARG_NONE, 0, F_FD_L4PROTO},
    {"fd.sockfamily", S, RULE_FARG_NONE, 0, F_FD_SOCKFAMILY},
    {"fd.net", NET, RULE_FARG_NONE, RULE_FF_MULTI, F_FD_NET},
    {"fd.snet", NET, RULE_FARG_NONE, 0, F_FD_SNET},
    {"fd.cnet", NET, RULE_FARG_NONE, 0, F_FD_CNET},
    {"fd.rnet", NET, RULE_FARG_NONE, 0, F_FD_RNET},
    {"fd.lnet", NET, RULE_FARG_NONE, 0, F_FD_LNET},
    {"fd.ip", IP, RULE_FARG_NONE, RULE_FF_MULTI, F_FD_IP},
    {"fd.port", U, RULE_FARG_NONE, RULE_FF_MULTI, F_FD_PORT},
    {"fd.connected", B, RULE_FARG_NONE, 0, F_FD_CONNECTED},
    {"fd.name_changed", B, RULE_FARG_NONE, 0, F_FD_NAME_CHANGED},
    {"dns.query", S, RULE_FARG_NONE, 0, F_DNS_QUERY},
    {"dns.type", S, RULE_FARG_NONE, 0, F_DNS_TYPE},
    {"dns.rcode", S, RULE_FARG_NONE, 0, F_DNS_RCODE},
    {"dns.answers", S, RULE_FARG_NONE, RULE_FF_MULTI, F_DNS_ANSWERS},
    {"dns.is_answer", B, RULE_FARG_NONE, 0, F_DNS_IS_ANSWER},
    {"dns.query.len", U, RULE_FARG_NONE, 0, F_DNS_QUERY_LEN},
    {"dns.query.labels", U, RULE_FARG_NONE, 0, F_DNS_QUERY_LABELS},
    {"dns.query.max_label", U, RULE_FARG_NONE, 0, F_DNS_MAX_LABEL},
    {"dns.query.entropy", U, RULE_FARG_NONE, 0, F_DNS_LABEL_ENTROPY},
    {"dns.txt_count", U, RULE_FARG_NONE, 0, F_DNS_TXT_COUNT},
    {"dns.query.suffixes", S, RULE_FARG_NONE, RULE_FF_MULTI, F_DNS_SUFFIXES},
    {"dns.server", IP, RULE_FARG_NONE, 0, F_DNS_SERVER},
    {"fd.sip.name", S, RULE_FARG_NONE, 0, F_FD_SIP_NAME},
    {"fd.cip.name", S, RULE_FARG_NONE, 0, F_FD_CIP_NAME},
    {"fd.rip.name", S, RULE_FARG_NONE, 0, F_FD_RIP_NAME},
    {"fd.lip.name", S, RULE_FARG_NONE, 0, F_FD_LIP_NAME},
    {"fs.path.name", S, RULE_FARG_NONE, 0, F_FS_PATH_NAME},
    {"fs.path.source", S, RULE_FARG_NONE, 0, F_FS_PATH_SOURCE},
    {"fs.path.target", S, RULE_FARG_NONE, 0, F_FS_PATH_TARGET},
    {"evt.target.name", S, RULE_FARG_NONE, RULE_FF_COMM, F_EVT_TARGET_NAME},
    {"evt.target.exepath", S, RULE_FARG_NONE, 0, F_EVT_TARGET_EXEPATH},
    {"fs.times.explicit", B, RULE_FARG_NONE, 0, F_FS_TIMES_EXPLICIT},
    {"fs.times.age", I, RULE_FARG_NONE, 0, F_FS_TIMES_AGE},
    {"fs.attr.new", S, RULE_FARG_NONE, 0, F_FS_ATTR_NEW},
    {"fs.attr.old", S, RULE_FARG_NONE, 0, F_FS_ATTR_OLD},
    {"fs.procmem.pid", I, RULE_FARG_NONE, 0, F_FS_PROCMEM_PID},
    {"fs.procmem.other", B, RULE_FARG_NONE, 0, F_FS_PROCMEM_OTHER},
    {"proc.exe_new", B, RULE_FARG_NONE, 0, F_PROC_EXE_NEW},
    {"proc.exe_age", U, RULE_FARG_NONE, 0, F_PROC_EXE_AGE},
    {"proc.exe_written", B, RULE_FARG_NONE, 0, F_PROC_EXE_WRITTEN},
    {"proc.exe_writer.pid", I, RULE_FARG_NONE, 0, F_PROC_EXE_WRITER_PID},
    {"proc.exe_writer.name", S, RULE_FARG_NONE, RULE_FF_COMM, F_PROC_EXE_WRITER_NAME},
    {"proc.exe_writer.exepath", S, RULE_FARG_NONE, 0, F_PROC_EXE_WRITER_EXEPATH},
    {"proc.exe_writer.uid", I, RULE_FARG_NONE, 0, F_PROC_EXE_WRITER_UID},
};

#undef S
#undef I
#undef U
#undef B
#undef IP
#undef NET

/* Falco's event names, from the syscall table and its aliases (vigil/syscalls.h):
 * several names share the code of the one event vigil has. */
#define EVTYPE_ROW_(name, code, falco, kind, nr64, nr32) {falco, code},
#define EVTYPE_ALIAS_(falco, code, kind, nr64, nr32)	 {falco, code},
/* clang-format off */
static const struct rule_evtype_def evtypes[] = {
	VG_SYSCALLS(EVTYPE_ROW_)
	VG_SYSCALL_ALIASES(EVTYPE_ALIAS_)
};
/* clang-format on */
#undef EVTYPE_ROW_
#undef EVTYPE_ALIAS_

const char *fields_evtype_name(uint32_t code)
{
	const char *name = code < FIELD_EV_MAX ? event_code_name(code) : NULL;

	return name ? name : "?";
}

const struct rule_field_def *fields_registry(size_t *n)
{
	*n = sizeof(registry) / sizeof(registry[0]);
	return registry;
}

void field_ctx_reset(struct field_ctx *c, const struct event *ev)
{
	c->ev = ev;
	c->used = 0;
}

uint32_t field_event_code(const struct event *ev)
{
	return ev->code;
}

/* ---- scratch and value helpers ---- */

static char *scratch(struct field_ctx *c, size_t n)
{
	char *p;

	if (n > sizeof(c->scratch) - c->used)
		return NULL;
	p = c->scratch + c->used;
	c->used += n;
	return p;
}

static int put_str(struct rule_value *v, const char *s, size_t n)
{
	if (!s)
		return 0;
	v->str.ptr = s;
	v->str.len = n;
	return 1;
}

static int put_cstr(struct rule_value *v, const char *s)
{
	return s ? put_str(v, s, strlen(s)) : 0;
}

static int put_i64(struct rule_value *v, int64_t x)
{
	v->i64 = x;
	return 1;
}

static int put_u64(struct rule_value *v, uint64_t x)
{
	v->u64 = x;
	return 1;
}

static int put_bool(struct rule_value *v, bool x)
{
	v->b = x;
	return 1;
}

/* printf into scratch; the value points at it. */
static int put_fmt(struct field_ctx *c, struct rule_value *v, const char *fmt, ...)
{
	size_t room = sizeof(c->scratch) - c->used;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->scratch + c->used, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		return 0;
	v->str.ptr = c->scratch + c->used;
	v->str.len = n;
	c->used += n + 1;
	return 1;
}

/* ---- process fields ---- */

/* argv[0] of an entry, or NULL. */
static const char *argv0(const struct proc_info *p, size_t *n)
{
	if (!p || !p->args || !p->args_len)
		return NULL;
	*n = strnlen(p->args, p->args_len);
	return p->args;
}

/* The arguments after argv[0], joined by spaces, into scratch. */
static int put_args(struct field_ctx *c, struct rule_value *v, const struct proc_info *p,
		    const char *prefix)
{
	size_t n0, i, plen = prefix ? strlen(prefix) : 0;
	char *out;

	if (!p)
		return 0;
	out = scratch(c, plen + p->args_len + 2);
	if (!out)
		return 0;
	memcpy(out, prefix, plen);
	v->str.ptr = out;
	v->str.len = plen;
	if (!argv0(p, &n0))
		return 1;
	for (i = n0 + 1; i < p->args_len; i++) {
		char ch = p->args[i];

		/* the terminator of the last argument is not a separator */
		if (ch == 0 && i + 1 == p->args_len)
			break;
		out[v->str.len++] = ch ? ch : ' ';
	}
	if (plen && v->str.len == plen)
		v->str.len--; /* no args: drop the space after the name */
	return 1;
}

static int put_cmdline(struct field_ctx *c, struct rule_value *v, const struct proc_info *p)
{
	char name[VG_COMM_LEN + 2];

	if (!p)
		return 0;
	snprintf(name, sizeof(name), "%.*s ", VG_COMM_LEN, p->comm);
	return put_args(c, v, p, name);
}

static int put_proc_str(struct field_ctx *c, struct rule_value *v, const struct proc_info *p,
			enum field_id what)
{
	size_t n;
	const char *s;

	if (!p)
		return 0;
	switch (what) {
	case F_PROC_NAME:
		return put_str(v, p->comm, strnlen(p->comm, VG_COMM_LEN));
	case F_PROC_EXE:
		s = argv0(p, &n);
		return s ? put_str(v, s, n) : put_str(v, p->comm, strnlen(p->comm, VG_COMM_LEN));
	case F_PROC_EXEPATH:
		return p->exe[0] ? put_cstr(v, p->exe) : 0;
	case F_PROC_CMDLINE:
		return put_cmdline(c, v, p);
	default:
		return 0;
	}
}

static struct proc_info *parent_of(struct field_ctx *c)
{
	const struct vg_hdr *h = c->ev->hdr;

	return c->procs ? proctable__find(c->procs, h->ppid) : NULL;
}

static int ancestors(struct field_ctx *c, const struct rule_field_ref *ref, struct rule_value *out,
		     int max, enum field_id what)
{
	const struct proc_info *anc[RULE_MAX_VALUES];
	const struct proc_info *self = c->ev->proc;
	size_t n, i;
	int got = 0;

	if (ref->index == 0) {
		if (what == F_PROC_APID)
			return put_i64(out, c->ev->hdr->pid);
		return put_proc_str(c, out, self, what);
	}
	if (!c->procs || !self)
		return 0;
	n = proctable__ancestry(c->procs, self->pid, anc, RULE_MAX_VALUES, NULL);
	for (i = 0; i < n && got < max; i++) {
		if (ref->index > 0 && (size_t)ref->index != i + 1)
			continue;
		if (what == F_PROC_APID)
			got += put_i64(&out[got], anc[i]->pid);
		else
			got += put_proc_str(c, &out[got], anc[i], what);
		if (ref->index > 0)
			break;
	}
	return got;
}

/* Capability names, in Linux's numbering. */
static const char *const cap_names[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

static int put_caps(struct field_ctx *c, struct rule_value *v, uint64_t caps)
{
	char *out = scratch(c, 1024);
	size_t i, n = 0;

	if (!out)
		return 0;
	for (i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++) {
		if (!(caps & (1ull << i)))
			continue;
		n += snprintf(out + n, 1024 - n, "%s%s", n ? " " : "", cap_names[i]);
	}
	return put_str(v, out, n);
}

/* Names from the host's user and group databases, cached by id. */
#define NAME_CACHE 64

struct name_cache {
	uint32_t id[NAME_CACHE];   /* ids, (uint32_t)-1 for empty slots */
	char name[NAME_CACHE][64]; /* their names, "" when unknown */
	bool used[NAME_CACHE];	   /* slot filled */
};

static struct name_cache users, groups;

static const char *cached_name(struct name_cache *nc, uint32_t id, bool user)
{
	size_t slot = id % NAME_CACHE;

	if (!nc->used[slot] || nc->id[slot] != id) {
		const char *n = NULL;

		if (user) {
			struct passwd *pw = getpwuid(id);

			n = pw ? pw->pw_name : NULL;
		} else {
			struct group *gr = getgrgid(id);

			n = gr ? gr->gr_name : NULL;
		}
		snprintf(nc->name[slot], sizeof(nc->name[slot]), "%s", n ? n : "");
		nc->id[slot] = id;
		nc->used[slot] = true;
	}
	return nc->name[slot][0] ? nc->name[slot] : NULL;
}

/* ---- file and network helpers ---- */

/* The record as its domain's struct, or NULL for another domain. */
static const struct vg_file *as_file(const struct event *ev)
{
	return ev->kind->domain == EVENT_DOM_FILE ? (const struct vg_file *)ev->hdr : NULL;
}

static const struct vg_net *as_net(const struct event *ev)
{
	return ev->kind->domain == EVENT_DOM_NET ? (const struct vg_net *)ev->hdr : NULL;
}

static const struct vg_priv *as_priv(const struct event *ev)
{
	return ev->kind->domain == EVENT_DOM_PRIV ? (const struct vg_priv *)ev->hdr : NULL;
}

/* The path a file event names, decoded once; NULL when none. */
static const char *file_path(struct field_ctx *c, size_t *n)
{
	if (!as_file(c->ev) || !c->ev->path.ptr)
		return NULL;
	*n = c->ev->path.len;
	return c->ev->path.ptr;
}

/* Reads a decimal pid at *p (advanced past it); -1 when there is none or it is too big. */
static long long path_pid(const char **p, const char *end)
{
	long long v = 0;
	const char *s = *p;

	while (*p < end && **p >= '0' && **p <= '9' && v <= INT32_MAX)
		v = v * 10 + (*(*p)++ - '0');
	return *p == s || v > INT32_MAX ? -1 : v;
}

/*
 * The pid whose memory a file event's path names: /proc/PID/mem or
 * /proc/PID/task/TID/mem (the pid as the procfs's pid namespace numbers it), or -1.
 */
static long long procmem_pid(struct field_ctx *c)
{
	size_t n = 0;
	const char *p = file_path(c, &n), *end;
	long long pid;

	if (!p || n < 11 || strncmp(p, "/proc/", 6))
		return -1;
	end = p + n;
	p += 6;
	pid = path_pid(&p, end);
	if (pid < 0)
		return -1;
	if ((size_t)(end - p) > 6 && !strncmp(p, "/task/", 6)) {
		p += 6;
		if (path_pid(&p, end) < 0)
			return -1;
	}
	return end - p == 4 && !strncmp(p, "/mem", 4) ? pid : -1;
}

static int rstr(struct field_ctx *c, struct rule_value *v, struct vg_str s)
{
	size_t n;
	const char *p = event_str(c->ev->hdr, c->ev->size, s, &n);

	return put_str(v, p, n);
}

static bool is_inet(const struct vg_net *n)
{
	return n && (n->family == AF_INET || n->family == AF_INET6);
}

static int put_ip(struct rule_value *v, const struct vg_net *n, const uint8_t *a)
{
	if (!is_inet(n))
		return 0;
	memset(&v->ip, 0, sizeof(v->ip));
	v->ip.family = n->family == AF_INET ? 4 : 6;
	memcpy(v->ip.addr, a, n->family == AF_INET ? 4 : 16);
	return 1;
}

/*
 * connect, and a send or receive naming its peer: we are the client (the peer is
 * the server: fd.sport is the remote port); accept/bind/listen: we are the server.
 */
static bool local_is_server(const struct vg_net *n)
{
	return n->hdr.type != VG_EV_CONNECT && n->hdr.type != VG_EV_SEND &&
	       n->hdr.type != VG_EV_RECV && n->hdr.type != VG_EV_DUP;
}

/*
 * Falco's fd.type (and fd.typechar) of an fd of kind k (enum vg_fd_kind) and socket
 * family af. A terminal or another device is a "file" to Falco; tty says terminal
 * (proc.stdin.type and the like only). NULL: none of Falco's types (no open file,
 * an anonymous inode, a socket of another family).
 */
static const char *fd_type_name(unsigned int k, unsigned int af, bool tty, bool ch)
{
	switch (k) {
	case VG_FD_FILE:
	case VG_FD_CHAR:
		return ch ? "f" : "file";
	case VG_FD_TTY:
		return ch ? "f" : tty ? "tty" : "file";
	case VG_FD_DIR:
		return ch ? "d" : "directory";
	case VG_FD_PIPE:
		return ch ? "p" : "pipe";
	case VG_FD_SOCKET:
		switch (af) {
		case AF_INET:
			return ch ? "4" : "ipv4";
		case AF_INET6:
			return ch ? "6" : "ipv6";
		case AF_UNIX:
			return ch ? "u" : "unix";
		case AF_NETLINK:
			return ch ? "n" : "netlink";
		}
	}
	return NULL;
}

static int put_tuple(struct field_ctx *c, struct rule_value *v, const struct vg_net *n)
{
	char l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN];
	int af = n->family == AF_INET ? AF_INET : AF_INET6;

	/* a socket just made has no name (Falco's is empty until a bind or connect) */
	if (n->hdr.type == VG_EV_SOCKET)
		return 0;
	if (n->hdr.type == VG_EV_DUP && n->fd_kind != VG_FD_SOCKET)
		return n->fd_kind == VG_FD_FILE || n->fd_kind == VG_FD_DIR
			   ? rstr(c, v, n->unix_path)
			   : 0;
	if (!is_inet(n)) {
		size_t len;
		const char *s = event_str(&n->hdr, c->ev->size, n->unix_path, &len);

		return put_str(v, s, len);
	}
	inet_ntop(af, n->laddr, l, sizeof(l));
	inet_ntop(af, n->raddr, r, sizeof(r));
	if (n->hdr.type == VG_EV_BIND || n->hdr.type == VG_EV_LISTEN)
		return put_fmt(c, v, "%s:%u", l, n->lport);
	if (local_is_server(n))
		return put_fmt(c, v, "%s:%u->%s:%u", r, n->rport, l, n->lport);
	return put_fmt(c, v, "%s:%u->%s:%u", l, n->lport, r, n->rport);
}

static const char *l4proto(const struct vg_net *n)
{
	if (!is_inet(n))
		return NULL;
	/* socket: the arguments, as Falco reads them (a raw socket is raw whatever its
	 * protocol; protocol 0 is the type's default) */
	if (n->hdr.type == VG_EV_SOCKET && n->sock_type == SOCK_RAW)
		return "raw";
	if (n->hdr.type == VG_EV_SOCKET && n->protocol == 0)
		return n->sock_type == SOCK_STREAM  ? "tcp"
		       : n->sock_type == SOCK_DGRAM ? "udp"
						    : NULL;
	switch (n->protocol) {
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 1:
	case 58:
		return "icmp";
	}
	return n->sock_type == SOCK_DGRAM ? "udp" : n->sock_type == SOCK_STREAM ? "tcp" : "raw";
}

/* ---- stdio at exec ---- */

/* proc.stdin.type and the like: Falco's fd.type of the fd, tty for a terminal. */
static int put_stdio_type(struct rule_value *v, const struct vg_fdinfo *d)
{
	return put_cstr(v, fd_type_name(d->kind, d->family, true, false));
}

/*
 * proc.stdin.name and the like: like fd.name, a file's path, an inet socket's ends
 * as "local:port->remote:port", /dev/pts/N or /dev/ttyN for a terminal.
 */
static int put_stdio_name(struct field_ctx *c, struct rule_value *v, const struct vg_fdinfo *d)
{
	char l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN];
	unsigned int major = d->rdev >> 20, minor = d->rdev & 0xfffff;

	switch (d->kind) {
	case VG_FD_FILE:
	case VG_FD_DIR:
		return rstr(c, v, d->name);
	case VG_FD_TTY:
		if (major >= 136 && major <= 143)
			return put_fmt(c, v, "/dev/pts/%u", (major - 136) * 256 + minor);
		if (major == 4 && minor < 64)
			return put_fmt(c, v, "/dev/tty%u", minor);
		if (major == 4)
			return put_fmt(c, v, "/dev/ttyS%u", minor - 64);
		if (major == 5)
			return put_cstr(v, minor == 0	? "/dev/tty"
					   : minor == 1 ? "/dev/console"
					   : minor == 2 ? "/dev/ptmx"
							: NULL);
		return 0;
	case VG_FD_SOCKET:
		if (d->family != AF_INET && d->family != AF_INET6)
			return 0;
		inet_ntop(d->family, d->laddr, l, sizeof(l));
		inet_ntop(d->family, d->raddr, r, sizeof(r));
		return put_fmt(c, v, "%s:%u->%s:%u", l, d->lport, r, d->rport);
	}
	return 0;
}

/* ---- evt.arg ---- */

static const struct {
	uint32_t bit;	  /* O_* bit */
	const char *name; /* Falco's spelling */
} open_flag_names[] = {
    {01, "O_WRONLY"},	     {02, "O_RDWR"},	       {0100, "O_CREAT"},
    {0200, "O_EXCL"},	     {0400, "O_NOCTTY"},       {01000, "O_TRUNC"},
    {02000, "O_APPEND"},     {04000, "O_NONBLOCK"},    {010000, "O_DSYNC"},
    {040000, "O_DIRECT"},    {0200000, "O_DIRECTORY"}, {0400000, "O_NOFOLLOW"},
    {01000000, "O_NOATIME"}, {02000000, "O_CLOEXEC"},  {04010000, "O_SYNC"},
    {010000000, "O_PATH"},   {020200000, "O_TMPFILE"},
};

static int put_open_flags(struct field_ctx *c, struct rule_value *v, uint32_t flags)
{
	char *out = scratch(c, 256);
	size_t i, n = 0;

	if (!out)
		return 0;
	if (!(flags & 03))
		n += snprintf(out, 256, "O_RDONLY");
	for (i = 0; i < sizeof(open_flag_names) / sizeof(open_flag_names[0]); i++) {
		uint32_t b = open_flag_names[i].bit;

		if ((flags & b) == b)
			n += snprintf(out + n, 256 - n, "%s%s", n ? "|" : "",
				      open_flag_names[i].name);
	}
	return put_str(v, out, n);
}

/* A utimes or chattr record, else NULL. */
static const struct vg_fattr *as_fattr(const struct event *ev)
{
	uint16_t t = ev->hdr->type;

	return (t == VG_EV_UTIMES || t == VG_EV_CHATTR) && ev->size >= sizeof(struct vg_fattr)
		   ? (const struct vg_fattr *)ev->hdr
		   : NULL;
}

/* utimes: atime, mtime; chattr: request, flags (FS_*_FL or FS_XFLAG_* names) */
static int fattr_arg(struct field_ctx *c, struct rule_value *v, const struct vg_fattr *fa,
		     unsigned int key)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} fl[] = {{0x10, "FS_IMMUTABLE_FL"}, {0x20, "FS_APPEND_FL"}, {0x40, "FS_NODUMP_FL"},
		  {0x80, "FS_NOATIME_FL"},   {0x8, "FS_SYNC_FL"},    {0x800000, "FS_NOCOW_FL"}},
	  xfl[] = {{0x8, "FS_XFLAG_IMMUTABLE"},
		   {0x10, "FS_XFLAG_APPEND"},
		   {0x20, "FS_XFLAG_SYNC"},
		   {0x40, "FS_XFLAG_NOATIME"},
		   {0x80, "FS_XFLAG_NODUMP"}};
	bool xattr = fa->file.hdr.flags & VG_FA_XATTR;
	uint32_t rest = fa->attr_flags;
	char *out;
	size_t i, n = 0, cnt = xattr ? sizeof(xfl) / sizeof(xfl[0]) : sizeof(fl) / sizeof(fl[0]);

	if (fa->file.hdr.type == VG_EV_UTIMES) {
		if ((key != EVENT_ARG_ATIME && key != EVENT_ARG_MTIME) ||
		    (fa->file.hdr.flags & VG_FA_TIMES_BAD))
			return 0;
		out = scratch(c, 48);
		if (!out)
			return 0;
		n = key == EVENT_ARG_ATIME
			? event_utime_text(fa->atime_sec, fa->atime_nsec, out, 48)
			: event_utime_text(fa->mtime_sec, fa->mtime_nsec, out, 48);
		return put_str(v, out, n);
	}
	if (key == EVENT_ARG_REQUEST) {
		const char *r = event_chattr_request(fa->file.mode);

		return r ? put_cstr(v, r) : put_fmt(c, v, "%u", fa->file.mode);
	}
	if (key != EVENT_ARG_FLAGS || !(out = scratch(c, 256)))
		return 0;
	for (i = 0; i < cnt; i++) {
		uint32_t b = xattr ? xfl[i].bit : fl[i].bit;

		if (!(fa->attr_flags & b))
			continue;
		n += snprintf(out + n, 256 - n, "%s%s", n ? "|" : "",
			      xattr ? xfl[i].name : fl[i].name);
		rest &= ~b;
	}
	if (rest)
		n += snprintf(out + n, 256 - n, "%s0x%x", n ? "|" : "", rest);
	if (!n)
		n = snprintf(out, 256, "0");
	return put_str(v, out, n);
}

static int file_arg(struct field_ctx *c, struct rule_value *v, const struct vg_file *f,
		    unsigned int key)
{
	const struct vg_fattr *fa = as_fattr(c->ev);
	size_t n = 0;
	const char *p;

	if (fa && (key == EVENT_ARG_ATIME || key == EVENT_ARG_MTIME || key == EVENT_ARG_REQUEST ||
		   (key == EVENT_ARG_FLAGS && f->hdr.type == VG_EV_CHATTR)))
		return fattr_arg(c, v, fa, key);
	switch (key) {
	case EVENT_ARG_FD:
		return f->fd >= 0 ? put_fmt(c, v, "%d", f->fd) : 0;
	case EVENT_ARG_DIRFD:
		return put_fmt(c, v, "%d", f->dirfd);
	case EVENT_ARG_FLAGS:
		return f->hdr.type == VG_EV_OPEN ? put_open_flags(c, v, f->flags)
						 : put_fmt(c, v, "%u", f->flags);
	case EVENT_ARG_MODE:
		return put_fmt(c, v, "0%o", f->mode);
	case EVENT_ARG_UID:
		return put_fmt(c, v, "%d", (int32_t)f->uid);
	case EVENT_ARG_GID:
		return put_fmt(c, v, "%d", (int32_t)f->gid);
	case EVENT_ARG_LENGTH:
		return put_fmt(c, v, "%lld", (long long)f->length);
	case EVENT_ARG_TARGET:
		if (f->hdr.type == VG_EV_SYMLINK)
			return rstr(c, v, f->raw2);
		/* fall through */
	case EVENT_ARG_NEWPATH:
		if (c->ev->path2.ptr)
			return put_str(v, c->ev->path2.ptr, c->ev->path2.len);
		return rstr(c, v, f->raw2);
	case EVENT_ARG_LINKPATH:
		if (f->hdr.type != VG_EV_SYMLINK)
			return 0;
		/* fall through */
	case EVENT_ARG_NAME:
	case EVENT_ARG_PATH:
	case EVENT_ARG_PATHNAME:
	case EVENT_ARG_FILENAME:
	case EVENT_ARG_OLDPATH:
		p = file_path(c, &n);
		return put_str(v, p, n);
	}
	return 0;
}

/*
 * Falco's socket families (driver/flags_table.c, socket_families), in its order: a
 * domain is rendered as every name whose value it equals, joined by '|' (1 is
 * "AF_LOCAL|AF_UNIX", 16 "AF_ROUTE|AF_NETLINK"). Falco's driver turns a family
 * it has no name for into AF_UNSPEC; vigil shows its number instead.
 */
static const struct {
	const char *name; /* Falco's spelling */
	uint16_t af;	  /* its value: Linux's */
} socket_families[] = {
    {"AF_NFC", 39},	  {"AF_ALG", 38},      {"AF_CAIF", 37},	   {"AF_IEEE802154", 36},
    {"AF_PHONET", 35},	  {"AF_ISDN", 34},     {"AF_RXRPC", 33},   {"AF_IUCV", 32},
    {"AF_BLUETOOTH", 31}, {"AF_TIPC", 30},     {"AF_CAN", 29},	   {"AF_LLC", 26},
    {"AF_WANPIPE", 25},	  {"AF_PPPOX", 24},    {"AF_IRDA", 23},	   {"AF_SNA", 22},
    {"AF_RDS", 21},	  {"AF_ATMSVC", 20},   {"AF_ECONET", 19},  {"AF_ASH", 18},
    {"AF_PACKET", 17},	  {"AF_ROUTE", 16},    {"AF_NETLINK", 16}, {"AF_KEY", 15},
    {"AF_SECURITY", 14},  {"AF_NETBEUI", 13},  {"AF_DECnet", 12},  {"AF_ROSE", 11},
    {"AF_INET6", 10},	  {"AF_X25", 9},       {"AF_ATMPVC", 8},   {"AF_BRIDGE", 7},
    {"AF_NETROM", 6},	  {"AF_APPLETALK", 5}, {"AF_IPX", 4},	   {"AF_AX25", 3},
    {"AF_INET", 2},	  {"AF_LOCAL", 1},     {"AF_UNIX", 1},	   {"AF_UNSPEC", 0},
};

static int put_socket_family(struct field_ctx *c, struct rule_value *v, uint16_t af)
{
	char *out = scratch(c, 64);
	size_t i, n = 0;

	if (!out)
		return 0;
	for (i = 0; i < sizeof(socket_families) / sizeof(socket_families[0]); i++)
		if (socket_families[i].af == af)
			n += snprintf(out + n, 64 - n, "%s%s", n ? "|" : "",
				      socket_families[i].name);
	if (!n)
		n = snprintf(out, 64, "%u", af);
	return put_str(v, out, n);
}

/*
 * A socket's flags as Falco renders them (its file_flags names of SOCK_NONBLOCK and
 * SOCK_CLOEXEC, O_NONE for neither).
 */
static int put_socket_flags(struct rule_value *v, uint32_t flags)
{
	bool nb = flags & VG_NF_NONBLOCK, ce = flags & VG_NF_CLOEXEC;

	return put_cstr(v, nb && ce ? "O_NONBLOCK|O_CLOEXEC"
			   : nb	    ? "O_NONBLOCK"
			   : ce	    ? "O_CLOEXEC"
				    : "O_NONE");
}

/* socket: Falco's arguments fd (the result), domain, type (as passed: the flags
 * included), proto and flags */
static int socket_arg(struct field_ctx *c, struct rule_value *v, const struct vg_net *n,
		      unsigned int key)
{
	uint32_t type = n->sock_type;

	switch (key) {
	case EVENT_ARG_FD:
		return put_fmt(c, v, "%lld", (long long)n->ret);
	case EVENT_ARG_DOMAIN:
		return put_socket_family(c, v, n->family);
	case EVENT_ARG_TYPE:
		if (n->hdr.flags & VG_NF_NONBLOCK)
			type |= SOCK_NONBLOCK;
		if (n->hdr.flags & VG_NF_CLOEXEC)
			type |= SOCK_CLOEXEC;
		return put_fmt(c, v, "%u", type);
	case EVENT_ARG_PROTO:
		return put_fmt(c, v, "%u", n->protocol);
	case EVENT_ARG_FLAGS:
		return put_socket_flags(v, n->hdr.flags);
	}
	return 0;
}

/* dup: Falco's arguments oldfd, newfd (dup2, dup3) and flags (dup3); fd is oldfd */
static int dup_arg(struct field_ctx *c, struct rule_value *v, const struct vg_net *n,
		   unsigned int key)
{
	switch (key) {
	case EVENT_ARG_FD:
	case EVENT_ARG_OLDFD:
		return put_fmt(c, v, "%d", n->fd);
	case EVENT_ARG_NEWFD:
		return n->syscall == VG_SYS_DUP2 || n->syscall == VG_SYS_DUP3
			   ? put_fmt(c, v, "%d", n->backlog)
			   : 0;
	case EVENT_ARG_FLAGS:
		if (n->syscall != VG_SYS_DUP3)
			return 0;
		return put_cstr(v, n->hdr.flags & VG_NF_CLOEXEC ? "O_CLOEXEC" : "0");
	}
	return 0;
}

static int net_arg(struct field_ctx *c, struct rule_value *v, const struct vg_net *n,
		   unsigned int key)
{
	if (n->hdr.type == VG_EV_SOCKET)
		return socket_arg(c, v, n, key);
	if (n->hdr.type == VG_EV_DUP)
		return dup_arg(c, v, n, key);
	switch (key) {
	case EVENT_ARG_FD:
		return put_fmt(c, v, "%d", n->fd);
	case EVENT_ARG_TUPLE:
	case EVENT_ARG_ADDR:
	case EVENT_ARG_NAME:
		return put_tuple(c, v, n);
	case EVENT_ARG_BACKLOG:
		return put_fmt(c, v, "%d", n->backlog);
	case EVENT_ARG_DOMAIN:
		return put_cstr(v, n->family == AF_INET	   ? "AF_INET"
				   : n->family == AF_INET6 ? "AF_INET6"
				   : n->family == AF_UNIX  ? "AF_UNIX"
							   : NULL);
	}
	return 0;
}

static int priv_arg(struct field_ctx *c, struct rule_value *v, const struct vg_priv *p,
		    unsigned int key)
{
	char *out;
	int i;

	switch (key) {
	case EVENT_ARG_TARGET:
		/* a mount's target is its s2 path; everyone else's a pid */
		if (p->hdr.type == VG_EV_MOUNT || p->hdr.type == VG_EV_UMOUNT)
			return c->ev->path.ptr ? put_str(v, c->ev->path.ptr, c->ev->path.len)
					       : rstr(c, v, p->s2);
		/* fall through */
	case EVENT_ARG_PID:
		return p->target ? put_fmt(c, v, "%d", p->target) : 0;
	case EVENT_ARG_REQUEST:
	case EVENT_ARG_SIG:
	case EVENT_ARG_CMD:
	case EVENT_ARG_OPTION:
		if ((key == EVENT_ARG_REQUEST && p->hdr.type != VG_EV_PTRACE) ||
		    (key == EVENT_ARG_SIG && p->hdr.type != VG_EV_KILL) ||
		    (key == EVENT_ARG_CMD && p->hdr.type != VG_EV_BPF) ||
		    (key == EVENT_ARG_OPTION && p->hdr.type != VG_EV_PRCTL))
			return 0;
		/* fall through */
	case EVENT_ARG_FLAGS:
	case EVENT_ARG_NSTYPE:
		out = scratch(c, 512);
		return out ? put_str(v, out, event_priv_describe(p->syscall, p->arg0, out, 512))
			   : 0;
	case EVENT_ARG_OLDUID:
	case EVENT_ARG_OLDGID:
	case EVENT_ARG_OLDPATH: /* "old" + a key that is no id: the real one, as it always was */
	case EVENT_ARG_OLDEUID:
	case EVENT_ARG_OLDEGID:
	case EVENT_ARG_OLDSUID:
	case EVENT_ARG_OLDSGID:
		/* the ids the call replaced, captured at syscall entry */
		i = key == EVENT_ARG_OLDEUID || key == EVENT_ARG_OLDEGID   ? 1
		    : key == EVENT_ARG_OLDSUID || key == EVENT_ARG_OLDSGID ? 2
									   : 0;
		if (p->hdr.type != VG_EV_SETID || !(p->hdr.flags & VG_PF_OLD_KNOWN))
			return 0;
		return put_fmt(c, v, "%u", p->ids_old[i]);
	case EVENT_ARG_UID:
	case EVENT_ARG_RUID:
	case EVENT_ARG_GID:
	case EVENT_ARG_RGID:
		return put_fmt(c, v, "%u", p->ids_new[0]);
	case EVENT_ARG_EUID:
	case EVENT_ARG_EGID:
		return put_fmt(c, v, "%u", p->ids_new[1]);
	case EVENT_ARG_SUID:
	case EVENT_ARG_SGID:
		return put_fmt(c, v, "%u", p->ids_new[2]);
	case EVENT_ARG_NAME:
	case EVENT_ARG_DEV:
	case EVENT_ARG_SOURCE:
	case EVENT_ARG_PATH:
	case EVENT_ARG_UARGS:
		return rstr(c, v, p->s1);
	case EVENT_ARG_DIR:
		return rstr(c, v, p->s2);
	case EVENT_ARG_TYPE:
	case EVENT_ARG_FSTYPE:
		return rstr(c, v, p->s3);
	}
	return 0;
}

static int proc_arg(struct field_ctx *c, struct rule_value *v, unsigned int key)
{
	const struct event *ev = c->ev;
	const struct proc_info *p = ev->proc;

	switch (ev->hdr->type) {
	case VG_EV_EXEC:
		switch (key) {
		case EVENT_ARG_FILENAME:
			return rstr(c, v, ((const struct vg_exec *)ev->hdr)->filename);
		case EVENT_ARG_EXE:
			return put_proc_str(c, v, p, F_PROC_EXE);
		case EVENT_ARG_ARGS:
			return put_args(c, v, p, "");
		case EVENT_ARG_CWD:
			return p ? put_cstr(v, p->cwd) : 0;
		}
		return 0;
	case VG_EV_FORK:
		return key == EVENT_ARG_RES
			   ? put_fmt(c, v, "%u", ((const struct vg_fork *)ev->hdr)->child_pid)
			   : 0;
	case VG_EV_EXIT:
		return key == EVENT_ARG_STATUS
			   ? put_fmt(c, v, "%u", ((const struct vg_exit *)ev->hdr)->status)
			   : 0;
	}
	return 0;
}

/* evt.arg.KEY, the key resolved to an enum event_arg when the rule was compiled. */
static int evt_arg(struct field_ctx *c, struct rule_value *v, unsigned int key)
{
	const struct event *ev = c->ev;

	if (key == EVENT_ARG_RES && ev->sys)
		return put_fmt(c, v, "%lld", (long long)ev->ret);
	switch (ev->kind->domain) {
	case EVENT_DOM_FILE:
		return file_arg(c, v, as_file(ev), key);
	case EVENT_DOM_NET:
		return net_arg(c, v, as_net(ev), key);
	case EVENT_DOM_PRIV:
		return priv_arg(c, v, as_priv(ev), key);
	case EVENT_DOM_PROC:
		return proc_arg(c, v, key);
	}
	return 0;
}

/* evt.args: the kind's keys (its descriptor lists them) as "key=value ...". */
static int put_evt_args(struct field_ctx *c, struct rule_value *v)
{
	const uint8_t *keys = c->ev->kind->args;
	char *out = scratch(c, 8192);
	size_t i, n = 0;

	if (!out)
		return 0;
	for (i = 0; i < EVENT_KIND_ARGS && keys[i]; i++) {
		const char *name = event_arg_name(keys[i]);
		struct rule_value kv;

		if (!evt_arg(c, &kv, keys[i]) || n + strlen(name) + kv.str.len + 2 >= 8192)
			continue;
		n += snprintf(out + n, 8192 - n, "%s%s=", n ? " " : "", name);
		memcpy(out + n, kv.str.ptr, kv.str.len);
		n += kv.str.len;
	}
	return put_str(v, out, n);
}

/* ---- the getter ---- */

static int get_fd(struct field_ctx *c, const struct rule_field_ref *ref, struct rule_value *out,
		  int max)
{
	const struct vg_file *f = as_file(c->ev);
	const struct vg_net *n = as_net(c->ev);
	const char *p, *slash;
	size_t len;
	bool srv;

	switch (ref->id) {
	case F_FD_NAME:
		if (f) {
			p = file_path(c, &len);
			return put_str(out, p, len);
		}
		return n ? put_tuple(c, out, n) : 0;
	case F_FD_NAMERAW:
		return f ? rstr(c, out, f->raw) : n ? put_tuple(c, out, n) : 0;
	case F_FD_CHROOT_NAME:
		return f && c->ev->chroot_path.ptr
			   ? put_str(out, c->ev->chroot_path.ptr, c->ev->chroot_path.len)
			   : 0;
	case F_FD_DIRECTORY:
	case F_FD_FILENAME:
		p = f ? file_path(c, &len) : NULL;
		if (!p)
			return 0;
		slash = memrchr(p, '/', len);
		if (!slash)
			return 0;
		if (ref->id == F_FD_FILENAME)
			return put_str(out, slash + 1, len - (slash + 1 - p));
		return put_str(out, p, slash == p ? 1 : (size_t)(slash - p));
	case F_FD_INO:
		return f && f->ino ? put_i64(out, (int64_t)f->ino) : 0;
	case F_FD_NUM:
		if (f)
			return f->fd >= 0 ? put_i64(out, f->fd) : 0;
		return n ? put_i64(out, n->hdr.type == VG_EV_ACCEPT ? n->ret : n->fd) : 0;
	case F_FD_TYPE:
	case F_FD_TYPECHAR: {
		const char *t = NULL, *ch = NULL;

		if (f) {
			bool dir = f->hdr.flags & VG_FL_DIR;

			t = dir ? "directory" : "file";
			ch = dir ? "d" : "f";
			if (f->hdr.flags & VG_FL_PSEUDO) {
				t = f->fs_magic == 0x50495045 ? "pipe" : "file";
				ch = f->fs_magic == 0x50495045 ? "p" : "f";
			}
		} else if (n && n->hdr.type == VG_EV_DUP) {
			t = fd_type_name(n->fd_kind, n->family, false, false);
			ch = fd_type_name(n->fd_kind, n->family, false, true);
		} else if (n) {
			/* Falco's types; a socket of another family is none of them */
			t = n->family == AF_INET			     ? "ipv4"
			    : n->family == AF_INET6			     ? "ipv6"
			    : n->family == AF_NETLINK			     ? "netlink"
			    : n->family == AF_UNIX || n->family == AF_UNSPEC ? "unix"
									     : NULL;
			ch = n->family == AF_INET			      ? "4"
			     : n->family == AF_INET6			      ? "6"
			     : n->family == AF_NETLINK			      ? "n"
			     : n->family == AF_UNIX || n->family == AF_UNSPEC ? "u"
									      : NULL;
		}
		return put_cstr(out, ref->id == F_FD_TYPE ? t : ch);
	}
	}
	if (n && n->hdr.type == VG_EV_DUP && n->fd_kind != VG_FD_SOCKET)
		return 0;
	if (!is_inet(n))
		return ref->id == F_FD_SOCKFAMILY && n &&
			       (n->family == AF_UNIX || n->family == AF_UNSPEC)
			   ? put_cstr(out, "unix")
			   : 0;
	srv = local_is_server(n);
	switch (ref->id) {
	case F_FD_SIP:
	case F_FD_SNET:
		return put_ip(out, n, srv ? n->laddr : n->raddr);
	case F_FD_CIP:
	case F_FD_CNET:
		return put_ip(out, n, srv ? n->raddr : n->laddr);
	case F_FD_RIP:
	case F_FD_RNET:
		return put_ip(out, n, n->raddr);
	case F_FD_LIP:
	case F_FD_LNET:
		return put_ip(out, n, n->laddr);
	case F_FD_SPORT:
		return put_u64(out, srv ? n->lport : n->rport);
	case F_FD_CPORT:
		return put_u64(out, srv ? n->rport : n->lport);
	case F_FD_RPORT:
		return put_u64(out, n->rport);
	case F_FD_LPORT:
		return put_u64(out, n->lport);
	case F_FD_L4PROTO:
		return put_cstr(out, l4proto(n));
	case F_FD_SOCKFAMILY:
		return put_cstr(out, "ip");
	case F_FD_NET:
	case F_FD_IP:
		if (max < 2)
			return put_ip(out, n, n->raddr);
		return put_ip(&out[0], n, n->laddr) + put_ip(&out[1], n, n->raddr);
	case F_FD_PORT:
		if (max < 2)
			return put_u64(out, n->rport);
		return put_u64(&out[0], n->lport) + put_u64(&out[1], n->rport);
	case F_FD_CONNECTED:
		return put_bool(out, n->hdr.type == VG_EV_CONNECT && n->ret == 0);
	case F_FD_NAME_CHANGED:
		/* a connect gives its socket a (new) peer, so the fd's name changes */
		return put_bool(out, n->hdr.type == VG_EV_CONNECT &&
					 (n->ret == 0 || n->ret == -EINPROGRESS));
	}
	return 0;
}

/*
 * dns.query.suffixes: the name and each of its parents that is still a name
 * ("a.pool.example.com", "pool.example.com", "example.com", "com"), the shortest
 * max of them when there are more. A dot escaped inside a label (written "\\.") is no
 * boundary.
 */
static int put_suffixes(struct rule_value *out, const char *name, int max)
{
	size_t starts[128], n = 0, len = strlen(name);
	int got = 0;

	if (!len)
		return 0;
	starts[n++] = 0;
	for (size_t i = 0; i < len && n < sizeof(starts) / sizeof(starts[0]); i++) {
		if (name[i] == '\\')
			i++; /* an escape: the next byte is part of the label */
		else if (name[i] == '.' && i + 1 < len)
			starts[n++] = i + 1;
	}
	while (n && got < max) {
		n--;
		got += put_str(&out[got], name + starts[n], len - starts[n]);
	}
	return got;
}

/*
 * DNS fields: from the record's parsed message (absent on other events, and on a
 * record whose message did not parse); rcode and answers only on answers.
 */
static int get_dns(struct field_ctx *c, const struct rule_field_ref *ref, struct rule_value *out,
		   int max)
{
	const struct event *ev = c->ev;
	const struct dns_msg *m = ev->dns;
	const struct vg_dns *d =
	    ev->kind->domain == EVENT_DOM_DNS ? (const struct vg_dns *)ev->hdr : NULL;
	char a[INET6_ADDRSTRLEN];
	int got = 0;

	if (!d)
		return 0;
	switch (ref->id) {
	case F_DNS_IS_ANSWER:
		return put_bool(out, d->hdr.flags & VG_DF_ANSWER);
	case F_DNS_SERVER:
		memset(&out->ip, 0, sizeof(out->ip));
		out->ip.family = d->family == AF_INET6 ? 6 : 4;
		memcpy(out->ip.addr, d->raddr, d->family == AF_INET6 ? 16 : 4);
		return 1;
	}
	if (!m)
		return 0;
	switch (ref->id) {
	case F_DNS_QUERY:
		return put_cstr(out, m->qname);
	case F_DNS_TYPE: {
		const char *t = dns_type_name(m->qtype);

		return t ? put_cstr(out, t) : put_fmt(c, out, "TYPE%u", m->qtype);
	}
	case F_DNS_RCODE: {
		const char *r = dns_rcode_name(m->rcode);

		if (!m->response)
			return 0;
		return r ? put_cstr(out, r) : put_fmt(c, out, "RCODE%u", m->rcode);
	}
	case F_DNS_ANSWERS:
		if (!m->response)
			return 0;
		for (size_t i = 0; i < m->n_an && got < max; i++) {
			const struct dns_rr *r = &m->an[i];

			if (r->family)
				got += put_fmt(c, &out[got], "%s",
					       inet_ntop(r->family == 4 ? AF_INET : AF_INET6,
							 r->addr, a, sizeof(a)));
			else if (r->target[0])
				got += put_cstr(&out[got], r->target);
		}
		return got;
	case F_DNS_QUERY_LEN:
		return put_u64(out, strlen(m->qname));
	case F_DNS_QUERY_LABELS:
		return put_u64(out, m->labels);
	case F_DNS_MAX_LABEL:
		return put_u64(out, m->max_label);
	case F_DNS_LABEL_ENTROPY:
		return put_u64(out, m->entropy);
	case F_DNS_TXT_COUNT:
		return put_u64(out, ev->dns_txt);
	case F_DNS_SUFFIXES:
		return put_suffixes(out, m->qname, max);
	}
	return 0;
}

/*
 * evt.target.name, evt.target.exepath: the process a kill or ptrace event names, looked
 * up in the process table. The record's pid is as the caller's pid namespace numbers
 * it, the table's are the host's: only a caller known to number pids as the host does
 * (its pid there is its host pid, or, not knowing that, a process outside containers)
 * has its target looked up; a thread id (tkill) names no table entry.
 */
static int get_target(struct field_ctx *c, const struct rule_field_ref *ref, struct rule_value *out)
{
	const struct vg_hdr *h = c->ev->hdr;
	const struct proc_info *self = c->ev->proc;
	const struct vg_priv *p = (const struct vg_priv *)h;
	struct proc_info *t;

	if ((h->type != VG_EV_KILL && h->type != VG_EV_PTRACE) || !c->procs || !self ||
	    p->target <= 0)
		return 0;
	if (self->vpid ? self->vpid != h->pid : self->container.runtime != CONTAINER_HOST)
		return 0;
	t = proctable__find(c->procs, (uint32_t)p->target);
	if (!t || (t->flags & PROC_F_EXITED))
		return 0;
	return put_proc_str(c, out, t, ref->id == F_EVT_TARGET_NAME ? F_PROC_NAME : F_PROC_EXEPATH);
}

/*
 * fd.sip.name and its kin: the name a recent DNS answer gave for the address (the
 * name that was asked), absent when no answer kept gave it.
 */
static int get_ip_name(struct field_ctx *c, const struct rule_field_ref *ref,
		       struct rule_value *out)
{
	static const uint32_t ip_of[] = {[F_FD_SIP_NAME - F_FD_SIP_NAME] = F_FD_SIP,
					 [F_FD_CIP_NAME - F_FD_SIP_NAME] = F_FD_CIP,
					 [F_FD_RIP_NAME - F_FD_SIP_NAME] = F_FD_RIP,
					 [F_FD_LIP_NAME - F_FD_SIP_NAME] = F_FD_LIP};
	struct rule_field_ref ip = {.id = ip_of[ref->id - F_FD_SIP_NAME]};
	struct rule_value v;
	const char *name;

	if (!c->ev->names || !get_fd(c, &ip, &v, 1))
		return 0;
	name = dnscache__lookup(c->ev->names, v.ip.family, v.ip.addr, c->ev->hdr->ts_ns);
	return name ? put_fmt(c, out, "%s", name) : 0;
}

/*
 * proc.env: the whole environment, its entries joined by spaces; proc.env[NAME]:
 * the value of NAME. Unknown (NULL) while no rule asked the table to keep it.
 */
static int put_env(struct field_ctx *c, struct rule_value *v, const struct proc_info *p,
		   const char *name)
{
	size_t nl = name ? strlen(name) : 0;

	if (!p->env)
		return 0;
	if (!name) {
		char *o = scratch(c, p->env_len + 1);

		if (!o)
			return 0;
		for (size_t i = 0; i < p->env_len; i++)
			o[i] = p->env[i] ? p->env[i] : ' ';
		o[p->env_len] = '\0';
		return put_str(v, o,
			       p->env_len && !p->env[p->env_len - 1] ? p->env_len - 1 : p->env_len);
	}
	for (size_t i = 0; i < p->env_len;) {
		const char *e = p->env + i;
		size_t n = strnlen(e, p->env_len - i);

		if (n > nl && !memcmp(e, name, nl) && e[nl] == '=')
			return put_str(v, e + nl + 1, n - nl - 1);
		i += n + 1;
	}
	return 0;
}

/* ---- container metadata (state/runtime.h fills it off the event path) ---- */

/* The metadata of the event's container, NULL while unknown (or for the host). */
static const struct container_meta *event_meta(struct field_ctx *c)
{
	const struct event *ev = c->ev;
	uint64_t cg = ev->container || !ev->proc ? ev->hdr->cgroup_id : ev->proc->cgroup_id;
	const struct container_entry *ce;

	if (!c->procs || !cg || event_container(ev)->runtime == CONTAINER_HOST)
		return NULL;
	ce = containers__lookup(proctable__containers(c->procs), cg);
	return ce ? ce->meta : NULL;
}

/* "k1:v1, k2:v2", as Falco lists labels, into scratch. */
static int put_labels(struct field_ctx *c, struct rule_value *v, const struct container_label *l,
		      size_t n)
{
	size_t start = c->used;

	for (size_t i = 0; i < n; i++) {
		struct rule_value part;

		if (!put_fmt(c, &part, "%s%s:%s", i ? ", " : "", l[i].key, l[i].value))
			return 0;
		c->used--; /* the next part overwrites the NUL */
	}
	c->scratch[c->used++] = '\0';
	v->str.ptr = c->scratch + start;
	v->str.len = c->used - start - 1;
	return 1;
}

static int put_mount(struct field_ctx *c, struct rule_value *v, const struct container_mount *m)
{
	return put_fmt(c, v, "%s:%s:%s:%s:%s", m->source, m->dest, m->mode,
		       m->rw ? "true" : "false", m->propagation);
}

/*
 * The mount container.mount*[key] names: an index ("0"), else a glob over the
 * mount's destination (by_dest) or source, the first that matches.
 */
static const struct container_mount *mount_by_key(const struct container_meta *m, const char *key,
						  bool by_dest)
{
	char *end;
	unsigned long i = strtoul(key, &end, 10);

	if (*key >= '0' && *key <= '9' && !*end)
		return i < m->n_mounts ? &m->mounts[i] : NULL;
	for (i = 0; i < m->n_mounts; i++)
		if (!fnmatch(key, by_dest ? m->mounts[i].dest : m->mounts[i].source, 0))
			return &m->mounts[i];
	return NULL;
}

static int get_container_meta(struct field_ctx *c, const struct rule_field_ref *ref,
			      struct rule_value *out)
{
	const struct container_meta *m = event_meta(c);
	const struct container_mount *mt;
	const char *tag;
	size_t n, tn;

	if (!m)
		return 0;
	switch (ref->id) {
	case F_CONTAINER_NAME:
		return put_cstr(out, m->name);
	case F_CONTAINER_IMAGE:
		return put_cstr(out, m->image);
	case F_CONTAINER_IMAGE_REPOSITORY:
		if (!m->image)
			return 0;
		runtime_image_split(m->image, &n, &tag, &tn);
		return put_str(out, m->image, n);
	case F_CONTAINER_IMAGE_TAG:
		if (!m->image)
			return 0;
		runtime_image_split(m->image, &n, &tag, &tn);
		return put_str(out, tag, tn);
	case F_CONTAINER_IMAGE_ID:
		return put_cstr(out, m->image_id);
	case F_CONTAINER_PRIVILEGED:
		return m->privileged < 0 ? 0 : put_bool(out, m->privileged);
	case F_CONTAINER_LABELS:
		return put_labels(c, out, m->labels, m->n_labels);
	case F_CONTAINER_LABEL:
		return put_cstr(out, container_label_get(m->labels, m->n_labels, ref->key));
	case F_CONTAINER_MOUNTS: {
		size_t start = c->used;

		for (size_t i = 0; i < m->n_mounts; i++) {
			if (i)
				c->scratch[c->used - 1] = ','; /* the last mount's NUL */
			if (!put_mount(c, out, &m->mounts[i]))
				return 0;
		}
		if (!m->n_mounts)
			return put_cstr(out, "");
		out->str.ptr = c->scratch + start;
		out->str.len = c->used - start - 1;
		return 1;
	}
	case F_CONTAINER_MOUNT:
		/* Falco's spelling of "no such mount" for this one field */
		mt = mount_by_key(m, ref->key, false);
		return mt ? put_mount(c, out, mt) : put_cstr(out, "none");
	case F_CONTAINER_MOUNT_SOURCE:
	case F_CONTAINER_MOUNT_DEST:
	case F_CONTAINER_MOUNT_MODE:
	case F_CONTAINER_MOUNT_RDWR:
	case F_CONTAINER_MOUNT_PROPAGATION:
		/* source[...] is looked up by destination, the others by source; no such
		 * mount is "N/A", which Falco's rules compare against */
		mt = mount_by_key(m, ref->key, ref->id == F_CONTAINER_MOUNT_SOURCE);
		if (!mt)
			return put_cstr(out, "N/A");
		switch (ref->id) {
		case F_CONTAINER_MOUNT_SOURCE:
			return put_cstr(out, mt->source);
		case F_CONTAINER_MOUNT_DEST:
			return put_cstr(out, mt->dest);
		case F_CONTAINER_MOUNT_MODE:
			return put_cstr(out, mt->mode);
		case F_CONTAINER_MOUNT_RDWR:
			return put_cstr(out, mt->rw ? "true" : "false");
		default:
			return put_cstr(out, mt->propagation);
		}
	case F_K8S_POD_NAME:
		return put_cstr(out, m->pod_name);
	case F_K8S_NS_NAME:
		return put_cstr(out, m->pod_ns);
	case F_K8S_POD_UID:
		return put_cstr(out, m->pod_uid);
	case F_K8S_POD_LABELS:
		return m->pod_name ? put_labels(c, out, m->pod_labels, m->n_pod_labels) : 0;
	case F_K8S_POD_LABEL:
		return put_cstr(out, container_label_get(m->pod_labels, m->n_pod_labels, ref->key));
	case F_K8S_CONTAINER_NAME:
		return put_cstr(out, m->k8s_container);
	}
	return 0;
}

static int get_field(void *event, const struct rule_field_ref *ref, struct rule_value *out, int max)
{
	struct field_ctx *c = event;
	const struct event *ev = c->ev;
	const struct vg_hdr *h = ev->hdr;
	const struct proc_info *p = ev->proc;
	const struct container_ident *ci = event_container(ev);
	const struct vg_file *f = as_file(ev);

	switch (ref->id) {
	case F_EVT_TIME:
	case F_EVT_RAWTIME:
		return put_u64(out, ev->time_ns);
	case F_EVT_NUM:
		return put_u64(out, c->evt_num);
	case F_EVT_HOSTNAME:
		return put_cstr(out, c->hostname);
	case F_EVT_DIR:
		return put_cstr(out, "<");
	case F_EVT_SOURCE:
		return put_cstr(out, "syscall");
	case F_EVT_IS_IO_URING:
		return put_bool(out, h->flags & VG_HF_IO_URING);
	case F_EVT_RES:
		if (!ev->sys && h->type == VG_EV_EXEC)
			return put_cstr(out, h->flags & VG_XF_DENIED ? "EPERM" : "SUCCESS");
		if (!ev->sys)
			return 0;
		if (ev->ret < 0 && ev->ret > -4096)
			return put_cstr(out, strerrorname_np(-ev->ret));
		return put_cstr(out, "SUCCESS");
	case F_EVT_RAWRES:
		if (h->type == VG_EV_EXEC)
			return put_i64(out, h->flags & VG_XF_DENIED ? -EPERM : 0);
		return ev->sys ? put_i64(out, ev->ret) : 0;
	case F_EVT_FAILED:
		return put_bool(out, (ev->sys && ev->ret < 0) ||
					 (h->type == VG_EV_EXEC && (h->flags & VG_XF_DENIED)));
	case F_EVT_IS_OPEN_READ:
		return put_bool(out, h->type == VG_EV_OPEN && (f->flags & 03) != 01);
	case F_EVT_IS_OPEN_WRITE:
		return put_bool(out, h->type == VG_EV_OPEN && (f->flags & 03) != 0);
	case F_EVT_IS_OPEN_EXEC:
		return put_bool(out,
				h->type == VG_EV_OPEN && (f->mode & 0111) && (f->flags & 0100));
	case F_EVT_IS_OPEN_CREATE:
		return put_bool(out, h->type == VG_EV_OPEN && (f->hdr.flags & VG_FL_CREATED));
	case F_EVT_IS_COMPAT:
		return put_bool(out, h->flags & VG_HF_COMPAT);
	case F_EVT_ARG:
		return evt_arg(c, out, (unsigned int)ref->host_data);
	case F_EVT_ARGS:
		return put_evt_args(c, out);
	case F_PROC_PID:
		return put_i64(out, h->pid);
	case F_PROC_PPID:
		return put_i64(out, h->ppid);
	case F_PROC_NAME:
		return put_str(out, h->comm, strnlen(h->comm, VG_COMM_LEN));
	case F_PROC_EXE:
	case F_PROC_EXEPATH:
	case F_PROC_CMDLINE:
		return put_proc_str(c, out, p, ref->id);
	case F_PROC_ARGS:
		return put_args(c, out, p, "");
	case F_PROC_PNAME:
		return put_proc_str(c, out, parent_of(c), F_PROC_NAME);
	case F_PROC_PEXE:
		return put_proc_str(c, out, parent_of(c), F_PROC_EXE);
	case F_PROC_PEXEPATH:
		return put_proc_str(c, out, parent_of(c), F_PROC_EXEPATH);
	case F_PROC_PCMDLINE:
		return put_proc_str(c, out, parent_of(c), F_PROC_CMDLINE);
	case F_PROC_ANAME:
		return ancestors(c, ref, out, max, F_PROC_NAME);
	case F_PROC_APID:
		return ancestors(c, ref, out, max, F_PROC_APID);
	case F_PROC_AEXE:
		return ancestors(c, ref, out, max, F_PROC_EXE);
	case F_PROC_AEXEPATH:
		return ancestors(c, ref, out, max, F_PROC_EXEPATH);
	case F_PROC_ACMDLINE:
		return ancestors(c, ref, out, max, F_PROC_CMDLINE);
	case F_PROC_CWD:
		return p && p->cwd[0] ? put_cstr(out, p->cwd) : 0;
	case F_PROC_TTY:
		return p ? put_i64(out, p->tty) : 0;
	case F_PROC_SID:
		return p ? put_i64(out, p->sid) : 0;
	case F_PROC_VPID:
		return p && p->vpid ? put_i64(out, p->vpid) : 0;
	case F_PROC_VPGID:
		return p && p->vpgid ? put_i64(out, p->vpgid) : 0;
	case F_PROC_IS_VPGID_LEADER:
		return p && p->vpid && p->vpgid ? put_bool(out, p->vpid == p->vpgid) : 0;
	case F_PROC_ENV:
		return p ? put_env(c, out, p, ref->key) : 0;
	case F_PROC_STDIN_TYPE:
	case F_PROC_STDOUT_TYPE:
	case F_PROC_STDERR_TYPE:
		if (h->type != VG_EV_EXEC)
			return 0;
		return put_stdio_type(
		    out, &((const struct vg_exec *)h)->stdio[ref->id - F_PROC_STDIN_TYPE]);
	case F_PROC_STDIN_NAME:
	case F_PROC_STDOUT_NAME:
	case F_PROC_STDERR_NAME:
		if (h->type != VG_EV_EXEC)
			return 0;
		return put_stdio_name(
		    c, out, &((const struct vg_exec *)h)->stdio[ref->id - F_PROC_STDIN_NAME]);
	case F_PROC_SNAME: {
		struct proc_info *s = p && c->procs ? proctable__find(c->procs, p->sid) : NULL;

		return put_proc_str(c, out, s, F_PROC_NAME);
	}
	case F_PROC_IS_EXE_FROM_MEMFD:
		return p ? put_bool(out, p->flags & PROC_F_EXE_MEMFD) : 0;
	case F_PROC_IS_EXE_DELETED:
		return p ? put_bool(out, p->flags & PROC_F_EXE_DELETED) : 0;
	case F_PROC_IS_COMPAT:
		return p ? put_bool(out, p->flags & PROC_F_COMPAT) : 0;
	case F_PROC_EXE_INO:
		return p ? put_u64(out, p->exe_ino) : 0;
	case F_PROC_IS_EXE_UPPER_LAYER:
		return p ? put_bool(out, p->flags & PROC_F_EXE_UPPER) : 0;
	case F_PROC_EXE_CTIME:
		return p && p->exe_ctime_ns ? put_u64(out, p->exe_ctime_ns) : 0;
	case F_PROC_EXE_MTIME:
		return p && p->exe_mtime_ns ? put_u64(out, p->exe_mtime_ns) : 0;
	case F_PROC_EXE_CTIME_TO_START: {
		uint64_t start = ev->time_ns - (h->ts_ns - h->start_ns);

		if (!p || !p->exe_ctime_ns || start < p->exe_ctime_ns)
			return 0;
		return put_u64(out, start - p->exe_ctime_ns);
	}
	case F_PROC_EXE_NEW:
	case F_PROC_EXE_AGE: {
		uint64_t age;
		bool is_new;

		if (!p || !c->procs || (!p->exe_ctime_ns && !p->exe_mtime_ns))
			return 0;
		is_new = proctable__exe_new(c->procs, p, ev->time_ns, &age);
		return ref->id == F_PROC_EXE_NEW ? put_bool(out, is_new)
						 : put_u64(out, age / 1000000000ull);
	}
	case F_PROC_EXE_WRITTEN:
		return p ? put_bool(out, p->writer != NULL) : 0;
	case F_PROC_EXE_WRITER_PID:
		return p && p->writer ? put_i64(out, p->writer->pid) : 0;
	case F_PROC_EXE_WRITER_UID:
		return p && p->writer ? put_i64(out, p->writer->uid) : 0;
	case F_PROC_EXE_WRITER_NAME:
		return p && p->writer ? put_cstr(out, p->writer->comm) : 0;
	case F_PROC_EXE_WRITER_EXEPATH:
		return p && p->writer && p->writer->exe[0] ? put_cstr(out, p->writer->exe) : 0;
	case F_PROC_DURATION:
		return put_u64(out, h->ts_ns > h->start_ns ? h->ts_ns - h->start_ns : 0);
	case F_PROC_START_TS:
		return put_u64(out, ev->time_ns - (h->ts_ns - h->start_ns));
	case F_THREAD_TID:
		return put_i64(out, h->tid);
	case F_THREAD_CAP_EFFECTIVE:
		if (h->type == VG_EV_EXEC)
			return put_caps(c, out, ((const struct vg_exec *)h)->cap_eff);
		return p ? put_caps(c, out, p->cap_eff) : 0;
	case F_THREAD_CAP_PERMITTED:
		return h->type == VG_EV_EXEC
			   ? put_caps(c, out, ((const struct vg_exec *)h)->cap_prm)
			   : 0;
	case F_USER_UID:
		return put_i64(out, h->euid);
	case F_USER_NAME:
		return put_cstr(out, cached_name(&users, h->euid, true));
	case F_USER_LOGINUID:
		return put_i64(out, h->loginuid == UINT32_MAX ? -1 : (int64_t)h->loginuid);
	case F_USER_LOGINNAME:
		return h->loginuid == UINT32_MAX
			   ? 0
			   : put_cstr(out, cached_name(&users, h->loginuid, true));
	case F_GROUP_GID:
		return put_i64(out, h->egid);
	case F_GROUP_NAME:
		return put_cstr(out, cached_name(&groups, h->egid, false));
	case F_PROC_ANCESTRY_UNKNOWN: {
		bool unknown = true;

		if (p && c->procs)
			proctable__ancestry(c->procs, p->pid, NULL, 0, &unknown);
		return put_bool(out, unknown);
	}
	/* container.*: the process's, or for one the table does not know, its record's
	 * cgroup's (event_container) */
	case F_CONTAINER_ID:
		return put_cstr(out, ci->short_id[0] ? ci->short_id : "host");
	case F_CONTAINER_FULL_ID:
		return ci->id[0] ? put_cstr(out, ci->id) : 0;
	case F_CONTAINER_NAME:
		if (ci->runtime == CONTAINER_HOST)
			return put_cstr(out, "host");
		return get_container_meta(c, ref, out);
	case F_CONTAINER_IMAGE:
	case F_CONTAINER_IMAGE_REPOSITORY:
	case F_CONTAINER_IMAGE_TAG:
	case F_CONTAINER_IMAGE_ID:
	case F_CONTAINER_PRIVILEGED:
	case F_CONTAINER_LABELS:
	case F_CONTAINER_LABEL:
	case F_CONTAINER_MOUNTS:
	case F_CONTAINER_MOUNT:
	case F_CONTAINER_MOUNT_SOURCE:
	case F_CONTAINER_MOUNT_DEST:
	case F_CONTAINER_MOUNT_MODE:
	case F_CONTAINER_MOUNT_RDWR:
	case F_CONTAINER_MOUNT_PROPAGATION:
	case F_K8S_POD_NAME:
	case F_K8S_NS_NAME:
	case F_K8S_POD_UID:
	case F_K8S_POD_LABELS:
	case F_K8S_POD_LABEL:
	case F_K8S_CONTAINER_NAME:
		return get_container_meta(c, ref, out);
	case F_CONTAINER_RUNTIME:
		return ci->runtime != CONTAINER_HOST
			   ? put_cstr(out, container_runtime_name(ci->runtime))
			   : 0;
	case F_CONTAINER_START_TS: {
		/* the container's cgroup is created by its runtime as it starts it */
		static uint64_t cached_id, cached_ns;
		uint64_t cg = ev->container || !p ? h->cgroup_id : p->cgroup_id, ns;

		if (ci->runtime == CONTAINER_HOST || !cg)
			return 0;
		if (cached_id == cg)
			return put_u64(out, cached_ns);
		if (cgroup_birth_ns(cg, &ns))
			return 0;
		cached_id = cg;
		cached_ns = ns;
		return put_u64(out, ns);
	}
	case F_FS_TIMES_EXPLICIT:
	case F_FS_TIMES_AGE: {
		const struct vg_fattr *fa = as_fattr(ev);
		int64_t earliest = 0;
		bool ex;

		if (!fa || h->type != VG_EV_UTIMES)
			return 0;
		ex = event_utimes_explicit(fa, &earliest);
		if (ref->id == F_FS_TIMES_EXPLICIT)
			return put_bool(out, ex);
		return put_i64(out, ex ? (int64_t)(ev->time_ns / 1000000000ull) - earliest : 0);
	}
	case F_FS_ATTR_NEW:
	case F_FS_ATTR_OLD: {
		const struct vg_fattr *fa = as_fattr(ev);
		char *s;
		size_t n;

		if (!fa || h->type != VG_EV_CHATTR || !(s = scratch(c, 4)))
			return 0;
		if (ref->id == F_FS_ATTR_OLD && !(h->flags & VG_FA_OLD_KNOWN))
			return put_cstr(out, "?");
		n = event_chattr_letters(
		    ref->id == F_FS_ATTR_NEW ? event_chattr_protect(fa) : fa->attr_old, s, 4);
		return put_str(out, s, n);
	}
	case F_FS_PROCMEM_PID:
	case F_FS_PROCMEM_OTHER: {
		long long pid = procmem_pid(c);

		if (pid < 0)
			return 0;
		if (ref->id == F_FS_PROCMEM_PID)
			return put_i64(out, pid);
		/* its own memory: by its pid or a thread's, in the host's or its namespace's
		 * numbering (a container's procfs numbers them its way) */
		return put_bool(out, pid != h->pid && pid != h->tid && (!p || pid != p->vpid));
	}
	case F_FS_PATH_NAME: {
		size_t n = 0;
		const char *s = f ? file_path(c, &n) : NULL;

		return put_str(out, s, n);
	}
	case F_FS_PATH_SOURCE:
		if (!f)
			return 0;
		if (f->hdr.type == VG_EV_SYMLINK)
			return rstr(c, out, f->raw2);
		return get_field(event, &(struct rule_field_ref){.id = F_FS_PATH_NAME}, out, max);
	case F_FS_PATH_TARGET:
		if (!f)
			return 0;
		if (f->hdr.type == VG_EV_SYMLINK)
			return get_field(event, &(struct rule_field_ref){.id = F_FS_PATH_NAME}, out,
					 max);
		return f->path2.off ? file_arg(c, out, f, EVENT_ARG_NEWPATH) : 0;
	}
	if (ref->id >= F_DNS_QUERY && ref->id <= F_DNS_SERVER)
		return get_dns(c, ref, out, max);
	if (ref->id >= F_FD_SIP_NAME && ref->id <= F_FD_LIP_NAME)
		return get_ip_name(c, ref, out);
	if (ref->id == F_EVT_TARGET_NAME || ref->id == F_EVT_TARGET_EXEPATH)
		return get_target(c, ref, out);
	return get_fd(c, ref, out, max);
}

/* Resolves evt.arg.KEY to its id once, when the rule is compiled. */
static int bind_field(void *host, struct rule_field_ref *ref, char *err, size_t errlen)
{
	if (ref->id != F_EVT_ARG || !ref->key)
		return 0;
	ref->host_data = event_arg_by_name(ref->key);
	if (ref->host_data != EVENT_ARG_NONE)
		return 0;
	snprintf(err, errlen, "vigil's events have no argument '%s'", ref->key);
	return -EINVAL;
}

void fields_bind(struct rule_engine_opts *opts)
{
	opts->fields = registry;
	opts->n_fields = sizeof(registry) / sizeof(registry[0]);
	opts->evtypes = evtypes;
	opts->n_evtypes = sizeof(evtypes) / sizeof(evtypes[0]);
	opts->get = get_field;
	opts->bind = bind_field;
	opts->host = NULL;
}
