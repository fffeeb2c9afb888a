/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * kinds.h - the event descriptor table: per event kind (enum vg_type) its name,
 * record size, domain, the syscalls behind it (from vigil/syscalls.h), what the
 * in-kernel prefilter can check for it, the evt.arg keys it lists and its
 * renderers. Everything that needs a per-kind fact reads it here.
 */
#ifndef VIGIL_KINDS_H
#define VIGIL_KINDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vigil/events.h"

struct event;
struct json_buf;

enum event_domain {
	EVENT_DOM_PROC = 1, /* process lifecycle: vg_exec, vg_fork, vg_exit */
	EVENT_DOM_FILE = 2, /* struct vg_file */
	EVENT_DOM_NET = 3,  /* struct vg_net */
	EVENT_DOM_PRIV = 4, /* struct vg_priv */
	EVENT_DOM_DNS = 5,  /* struct vg_dns: a packet, not a syscall */
};

enum event_kind_flags {
	EVENT_KF_LIFECYCLE = 1u << 0,	/* always sent: the process table needs it */
	EVENT_KF_PORT_REMOTE = 1u << 1, /* the prefilter's port is the remote one */
	EVENT_KF_S2_PATH = 1u << 2,	/* vg_priv s2 is a path joined to the cwd: folded */
};

/*
 * Keys of evt.arg.KEY (Falco's argument names), resolved to an id when a rule is
 * compiled. X(ID, "name").
 */
#define EVENT_ARGS(X)                                                                              \
	X(RES, "res")                                                                              \
	X(FD, "fd")                                                                                \
	X(DIRFD, "dirfd")                                                                          \
	X(FLAGS, "flags")                                                                          \
	X(MODE, "mode")                                                                            \
	X(UID, "uid")                                                                              \
	X(GID, "gid")                                                                              \
	X(LENGTH, "length")                                                                        \
	X(TARGET, "target")                                                                        \
	X(LINKPATH, "linkpath")                                                                    \
	X(NEWPATH, "newpath")                                                                      \
	X(NAME, "name")                                                                            \
	X(PATH, "path")                                                                            \
	X(PATHNAME, "pathname")                                                                    \
	X(FILENAME, "filename")                                                                    \
	X(OLDPATH, "oldpath")                                                                      \
	X(TUPLE, "tuple")                                                                          \
	X(ADDR, "addr")                                                                            \
	X(BACKLOG, "backlog")                                                                      \
	X(DOMAIN, "domain")                                                                        \
	X(PID, "pid")                                                                              \
	X(REQUEST, "request")                                                                      \
	X(SIG, "sig")                                                                              \
	X(CMD, "cmd")                                                                              \
	X(NSTYPE, "nstype")                                                                        \
	X(RUID, "ruid")                                                                            \
	X(EUID, "euid")                                                                            \
	X(SUID, "suid")                                                                            \
	X(RGID, "rgid")                                                                            \
	X(EGID, "egid")                                                                            \
	X(SGID, "sgid")                                                                            \
	X(DEV, "dev")                                                                              \
	X(SOURCE, "source")                                                                        \
	X(UARGS, "uargs")                                                                          \
	X(DIR, "dir")                                                                              \
	X(TYPE, "type")                                                                            \
	X(FSTYPE, "fstype")                                                                        \
	X(EXE, "exe")                                                                              \
	X(ARGS, "args")                                                                            \
	X(CWD, "cwd")                                                                              \
	X(STATUS, "status")                                                                        \
	X(OLDUID, "olduid")                                                                        \
	X(OLDEUID, "oldeuid")                                                                      \
	X(OLDSUID, "oldsuid")                                                                      \
	X(OLDGID, "oldgid")                                                                        \
	X(OLDEGID, "oldegid")                                                                      \
	X(OLDSGID, "oldsgid")                                                                      \
	X(PROTO, "proto")                                                                          \
	X(OLDFD, "oldfd")                                                                          \
	X(NEWFD, "newfd")                                                                          \
	X(ATIME, "atime")                                                                          \
	X(MTIME, "mtime")

#define EVENT_ARG_ENUM_(id, name) EVENT_ARG_##id,
/* clang-format off */
enum event_arg {
	EVENT_ARG_NONE = 0,
	EVENT_ARGS(EVENT_ARG_ENUM_)
	EVENT_ARG_MAX,
};
/* clang-format on */
#undef EVENT_ARG_ENUM_

#define EVENT_KIND_ARGS 8 /* evt.args keys of one kind, at most */

struct event_kind {
	const char *name;	  /* as shown in the stream; NULL: no such kind */
	uint16_t size;		  /* the record struct, header included */
	uint8_t domain;		  /* enum event_domain */
	uint8_t flags;		  /* enum event_kind_flags */
	uint16_t code;		  /* rule-engine code of its records; 0: their syscall field */
	uint16_t prefilter;	  /* VG_FC_* criteria the sensor checks for it */
	const char *pf_fields[2]; /* rule fields holding the value the kernel checks by path
				     or port (the comm is proc.name for every kind) */
	bool pf_same; /* pf_fields hold the same value: a rule may test either (net kinds) */
	uint8_t args[EVENT_KIND_ARGS]; /* enum event_arg keys evt.args lists, 0-terminated */
	void (*json)(struct json_buf *j, const struct event *ev); /* kind-specific object */
	void (*text)(FILE *out, const struct event *ev);	  /* kind-specific words */
};

/* The descriptor of a kind, or NULL for a type vigil does not know. */
const struct event_kind *event_kind(uint16_t type);

/* An event kind by its stream name, or -1. */
int event_kind_by_name(const char *name);

/*
 * The rule-engine codes of a kind (its syscalls and their Falco aliases, each
 * once) into codes, 0-terminated; returns how many. codes holds VG_SYS_MAX bytes.
 */
size_t event_kind_codes(uint16_t type, uint8_t *codes);

/* One Falco event name and the code it stands for. */
struct event_syscall {
	const char *falco; /* evt.type name */
	uint16_t code;	   /* enum vg_syscall, or a VG_CODE_* */
	uint16_t kind;	   /* enum vg_type of the records */
	int16_t nr64;	   /* x86-64 syscall number, -1 none */
	int16_t nr32;	   /* ia32 syscall number, -1 none */
};

/* The syscall table then its aliases, in that order: n rows. */
const struct event_syscall *event_syscalls(size_t *n);

/* Falco's name of a syscall ("openat", "connect", ...), or NULL. */
const char *event_syscall_name(uint16_t sys);

/* The first Falco name of a rule-engine code, or NULL. */
const char *event_code_name(uint16_t code);

/* "fd", "flags", ... for an enum event_arg; NULL out of range. */
const char *event_arg_name(unsigned int arg);

/* The enum event_arg of a key, or EVENT_ARG_NONE. */
unsigned int event_arg_by_name(const char *name);

#endif /* VIGIL_KINDS_H */
