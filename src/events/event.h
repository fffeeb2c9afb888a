/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * event.h - user-space view of one kernel record: validation, decoding once into
 * struct event (kind, syscall fields, folded paths) that every reader shares,
 * typed access to its strings, and rendering. A record is never trusted: every size and
 * string offset is checked before use.
 */
#ifndef VIGIL_EVENT_H
#define VIGIL_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>

#include "kinds.h"
#include "vigil/events.h"

struct proc_info;
struct json_buf;
struct dns_msg;
struct dnscache;
struct container_ident;

/* A path of an event: bytes in the record, or a folded copy in the event. */
struct event_path {
	const char *ptr; /* NULL when absent */
	size_t len;	 /* bytes, no NUL counted */
};

/*
 * One record, decoded once (event_decode) for every reader: renderers, fields,
 * the prefilter check and the rule engine.
 */
struct event {
	const struct vg_hdr *hdr;		 /* the record, validated */
	size_t size;				 /* bytes in the record */
	uint64_t time_ns;			 /* wall clock (CLOCK_REALTIME) of capture */
	struct proc_info *proc;			 /* process table entry, NULL when unknown */
	const struct container_ident *container; /* from the record's cgroup id when the
						    process is unknown or has moved since
						    its entry was made; else NULL */
	const struct event_kind *kind;		 /* its descriptor */
	uint32_t code;		       /* rule-engine code: its syscall, clone, procexit */
	bool sys;		       /* a syscall record: ret and syscall below are set */
	int64_t ret;		       /* syscall return value */
	uint16_t syscall;	       /* enum vg_syscall */
	struct event_path path;	       /* file: the object's path, canonical (event_path_fold;
					  "pipe:[ino]" for pseudo files), NULL when none or
					  empty; mount/umount: the target, folded */
	struct event_path path2;       /* file: the second path, canonical */
	struct event_path chroot_path; /* file, VG_HF_CHROOT: path as the chrooted task saw
					  it, canonical; NULL when none or outside its root */
	uint8_t resolved;	       /* bits EVENT_RESOLVED_PATH/PATH2: user space resolved
					  the name's directory (event_resolve_dirs) */
	const struct dns_msg *dns;     /* VG_EV_DNS: the message parsed, NULL when it did not
					  parse or nobody parsed it */
	uint32_t dns_txt;	       /* VG_EV_DNS TXT query: the process's TXT queries in
					  the current window (dnscache__txt), else 0 */
	struct dnscache *names;	       /* recent answers, for fd.sip.name and its kin; NULL
					  when none are kept */
	char buf[3][PATH_MAX + 1];     /* canonical copies path, path2, chroot_path point at */
};

enum event_resolved {
	EVENT_RESOLVED_PATH = 1u << 0,	/* path's directory resolved through symlinks */
	EVENT_RESOLVED_PATH2 = 1u << 1, /* path2's likewise */
};

/* 0 when the record's header, size and type are coherent, else -EINVAL. */
int event_validate(const void *rec, size_t size);

/*
 * Validates rec and decodes it into ev (time_ns 0, proc and container NULL: the
 * caller's to set). ev points into rec, which must outlive it. 0 or -EINVAL.
 */
int event_decode(struct event *ev, const void *rec, size_t size);

/* The bytes of string s inside the record, or NULL when absent or out of bounds. */
const char *event_str(const struct vg_hdr *rec, size_t size, struct vg_str s, size_t *len);

/*
 * The part of the record's path s that a chrooted task saw (VG_HF_CHROOT): the
 * suffix after skip bytes (its root's path in the namespace), "/" for the root
 * itself, canonical, copied into buf (PATH_MAX + 1). ptr NULL when the task is not
 * chrooted or the object lies outside its root.
 */
struct event_path event_chroot_part(const struct event *ev, struct vg_str s, uint16_t skip,
				    char *buf);

/* "exec", "fork", ... or NULL for an unknown type. */
const char *event_type_name(uint16_t type);

/*
 * The canonical form of a path, the one place it is defined: folds "." and ".."
 * components, repeated slashes and a trailing slash of an absolute path in place,
 * as the kernel would if no component were a symlink ("/.." stays "/"). A relative
 * path is left as it is. Returns the new length (a NUL follows when it shrank).
 */
size_t event_path_fold(char *path, size_t len);

/*
 * Whether a file event's joined path (a base directory resolved in the kernel and
 * raw, the name the caller gave, NULL when absent) is one the kernel prefilter
 * must not judge: user space may fold or resolve it into another path. The twin of
 * filter_name_undecided() in bpf/core/filter.bpf.h; the two must agree.
 */
bool event_name_undecided(const char *raw, size_t len);

/*
 * Live only (it looks at the filesystem now): resolves, through symlinks, the
 * directory of each joined path whose name has directories (/tmp/x/f with
 * /tmp/x -> /var/log gives /var/log/f), in the process's root, and sets ev->resolved.
 * A directory that no longer exists, or a process whose root cannot be reached,
 * leaves the folded path. Never blocks on anything but the lookups themselves.
 */
void event_resolve_dirs(struct event *ev);

/*
 * The readable form of a privilege event's value for syscall sys: a ptrace request
 * ("PTRACE_ATTACH"), a signal ("SIGKILL"), a bpf command ("BPF_PROG_LOAD"), or flag
 * names joined by '|' (unshare/setns/mount flags). Writes into buf; returns its
 * length (a number in decimal when there is no name).
 */
size_t event_priv_describe(uint16_t sys, uint64_t value, char *buf, size_t len);

/*
 * utimes and chattr records (struct vg_fattr). event_utime_text writes one time
 * asked as "UTIME_NOW", "UTIME_OMIT" or "SEC.NNNNNNNNN" (seconds since the epoch).
 * event_utimes_explicit says whether the call set at least one time to a value of
 * its own (not now, not omitted) and gives the earliest such time's seconds.
 * event_chattr_protect gives the immutable and append-only bits a chattr call asks
 * for as FS_IMMUTABLE_FL | FS_APPEND_FL (FS_XFLAG_* translated); event_chattr_letters
 * writes such bits as lsattr's letters ("ia", "i", "a" or ""); event_chattr_request
 * names the ioctl request.
 */
#define EVENT_FS_IMMUTABLE_FL 0x10
#define EVENT_FS_APPEND_FL    0x20
size_t event_utime_text(int64_t sec, int64_t nsec, char *buf, size_t len);
bool event_utimes_explicit(const struct vg_fattr *fa, int64_t *earliest_sec);
uint32_t event_chattr_protect(const struct vg_fattr *fa);
size_t event_chattr_letters(uint32_t flags, char *buf, size_t len);
const char *event_chattr_request(uint32_t cmd);

/* Per-domain renderers: the type-specific object of the JSON form, and the
 * type-specific words of the text form. */
void event_file_json(struct json_buf *j, const struct event *ev);
void event_file_text(FILE *out, const struct event *ev);
void event_net_json(struct json_buf *j, const struct event *ev);
void event_net_text(FILE *out, const struct event *ev);
void event_priv_json(struct json_buf *j, const struct event *ev);
void event_priv_text(FILE *out, const struct event *ev);
void event_exec_json(struct json_buf *j, const struct event *ev);
void event_exec_text(FILE *out, const struct event *ev);
void event_fork_json(struct json_buf *j, const struct event *ev);
void event_fork_text(FILE *out, const struct event *ev);
void event_exit_json(struct json_buf *j, const struct event *ev);
void event_exit_text(FILE *out, const struct event *ev);
void event_dns_json(struct json_buf *j, const struct event *ev);
void event_dns_text(FILE *out, const struct event *ev);

/*
 * A DNS record's message: its bytes in the record (TCP's length taken off, the
 * bytes cut to what the record holds), or NULL when it holds none.
 */
const uint8_t *event_dns_bytes(const struct event *ev, size_t *len);

/* Parses a DNS record's message into m (events/dns.h); DNS_OK or the error. */
int event_dns_parse(const struct event *ev, struct dns_msg *m);

/* Writes key and a hex string "0x..." for v. */
void event_json_hex(struct json_buf *j, const char *key, uint64_t v);

/* Writes key and the record's string s, or null when absent. */
void event_json_rstr(struct json_buf *j, const char *key, const struct event *ev, struct vg_str s);

/* Writes a NUL-separated argv as a JSON array of strings. */
void event_json_args(struct json_buf *j, const char *args, size_t len);

/* The event's container: ev->container, else its process's, else the host's. */
const struct container_ident *event_container(const struct event *ev);

/* Renders an event as one JSON object (the live stream's format). ancestry holds
 * n entries, parent first; ancestry_unknown (the chain stops at a process vigil does
 * not know) adds "ancestry_unknown": true after it. */
void event_to_json(const struct event *ev, const struct proc_info *const *ancestry, size_t n,
		   bool ancestry_unknown, struct json_buf *j);

/* Writes an event as one human-readable line; unprintable bytes come out as \xNN. */
void event_to_text(const struct event *ev, FILE *out);

/* Formats ns since the epoch as RFC 3339 UTC with nanoseconds into buf (>= 32 bytes). */
void event_format_time(uint64_t ns, char *buf, size_t len);

#endif /* VIGIL_EVENT_H */
