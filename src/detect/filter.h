/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * filter.h - the in-kernel prefilter as user space describes it: per event type,
 * send all, nothing, or what matches path prefixes, exact paths, comms, ports or
 * cgroups. The rules' derivation (detect.c) fills it with typed values, `--filter`
 * arguments are parsed into it, the map writer and the user-space simulation used
 * by replays read it, and `vigil rules prefilter` prints it.
 *
 * It fails closed: a value the kernel cannot check, an allocation or a map update
 * that fails sends the type up unfiltered (mode all) and records why, so the
 * agent can say so and count it.
 */
#ifndef VIGIL_FILTER_H
#define VIGIL_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vigil/events.h"

struct event;

enum filter_item_kind {
	FILTER_ITEM_PREFIX, /* path prefix */
	FILTER_ITEM_EXACT,  /* exact path */
	FILTER_ITEM_COMM,   /* task comm */
	FILTER_ITEM_PORT,   /* port */
	FILTER_ITEM_CGROUP, /* cgroup v2 id */
};

struct filter_item {
	uint8_t type;			  /* enum vg_type */
	uint8_t kind;			  /* enum filter_item_kind */
	uint64_t num;			  /* port or cgroup id */
	char str[VG_FILTER_PATH_MAX + 1]; /* path or comm, NUL-terminated */
};

/* Why a type goes up unfiltered although it was meant to be filtered. */
enum filter_fallback {
	FILTER_FB_NONE = 0,  /* it does not: the type is as derived or set */
	FILTER_FB_VALUE,     /* a value the kernel cannot check (port 0, relative path, ...) */
	FILTER_FB_NOMEM,     /* out of memory while building the description */
	FILTER_FB_ERROR,     /* the derivation failed otherwise */
	FILTER_FB_MAP_FULL,  /* more entries than the kernel's map holds */
	FILTER_FB_MAP_ERROR, /* writing the kernel's map failed otherwise */
	FILTER_FB__COUNT,
};

struct filter_fallback_info {
	uint8_t reason; /* enum filter_fallback; FILTER_FB_NONE when the type is fine */
	char what[160]; /* the value or error behind it, for the notice */
};

struct filter_spec {
	struct vg_filter_type types[VG_EV_TYPE_MAX];	      /* mode and criteria per type */
	struct filter_item *items;			      /* criteria values */
	size_t nitems;					      /* items in use */
	size_t cap;					      /* items allocated */
	struct filter_fallback_info fallback[VG_EV_TYPE_MAX]; /* why a type goes up whole */
	bool set[VG_EV_TYPE_MAX]; /* types a filter_spec_parse argument set */
};

struct filter_maps {
	int types;   /* filter_types array */
	int paths;   /* filter_paths LPM trie */
	int comms;   /* filter_comms hash */
	int ports;   /* filter_ports hash */
	int cgroups; /* filter_cgroups hash */
};

void filter_spec_init(struct filter_spec *f);
void filter_spec_free(struct filter_spec *f);

/* vigil's default: every type is sent except opens, which are sent when they
 * open for writing or touch a built-in list of sensitive paths. */
int filter_spec_default(struct filter_spec *f);

/*
 * Applies one `--filter` argument: "TYPE=all", "TYPE=none", or "TYPE=ITEM,ITEM,..."
 * where an ITEM is a path ("/etc/" or "/usr" + "*": prefix; "/etc/shadow": exact),
 * "comm=NAME", "port=N", "cgroup=ID", "write" (opens for writing pass) or
 * "failed" (failed calls pass). TYPE is an event type name (open, connect, ...).
 * On error returns -EINVAL with a message naming the part that is wrong in err.
 */
int filter_spec_parse(struct filter_spec *f, const char *arg, char *err, size_t errlen);

/*
 * Gives each type that a filter_spec_parse argument set in src (`--filter`) src's
 * setting in dst, replacing what dst had. 0, or -ENOMEM (the type then falls back).
 */
int filter_spec_override(struct filter_spec *dst, const struct filter_spec *src);

/* Makes dst send what either dst or src sends. 0 or -ENOMEM. */
int filter_spec_merge(struct filter_spec *dst, const struct filter_spec *src);

/*
 * Typed criteria for one type (1 .. VG_EV_TYPE_MAX-1); each makes the type
 * VG_FILTER_MATCH. Return 0, -ENOMEM, or -ERANGE for a value the kernel cannot
 * check (the *_ok predicates tell beforehand): a path that is not absolute (or holds a NUL byte), a
 * comm of VG_COMM_LEN bytes or more, a port outside 1..65535 (the kernel never looks up port 0). A
 * path longer than the trie sees becomes a prefix of what it sees, which lets more through, never
 * less.
 */
bool filter_path_ok(const char *path, size_t len);
bool filter_comm_ok(const char *comm, size_t len);
bool filter_port_ok(uint64_t port);
int filter_spec_add_path(struct filter_spec *f, int type, const char *path, size_t len,
			 bool prefix);
/*
 * A leaf entry of a slot (VG_FC_LEAF): a file's own name, or the start of one, that
 * the opened file's name must match before its path is looked at. -ERANGE for a
 * name holding '/' or NUL.
 */
bool filter_leaf_ok(const char *leaf, size_t len);
int filter_spec_add_leaf(struct filter_spec *f, int type, const char *leaf, size_t len,
			 bool prefix);
int filter_spec_add_comm(struct filter_spec *f, int type, const char *comm, size_t len);
int filter_spec_add_port(struct filter_spec *f, int type, uint64_t port);
int filter_spec_add_cgroup(struct filter_spec *f, int type, uint64_t cgroup_id);
/* VG_FC_WRITE_OPENS and/or VG_FC_FAILED. 0 or -EINVAL. */
int filter_spec_add_flags(struct filter_spec *f, int type, uint32_t criteria);

/*
 * Fails closed for one type: sends all of it, forgets its criteria and records why
 * (printf-style what). The first reason recorded for a type is kept.
 */
void filter_spec_fall_back(struct filter_spec *f, int type, enum filter_fallback reason,
			   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Short name of a reason, for metrics labels: "value", "nomem", "map_full", ... */
const char *filter_fallback_name(enum filter_fallback reason);

/* Prints one line per event type: "open      match /etc/ (prefix) comm=cat ...", a type that
 * fell back with "(unfiltered: WHY)" after its mode. */
void filter_spec_print(const struct filter_spec *f, FILE *out);
/* One notice line per type that fell back ("vigil: prefilter: ..."); returns how many. */
size_t filter_spec_print_fallbacks(const struct filter_spec *f, FILE *out);

/*
 * Whether the kernel would send this event under f: the same checks the sensors
 * make, in user space, for replaying a recording through a prefilter and for
 * proving that a derived prefilter drops nothing a rule matches.
 */
bool filter_spec_pass(const struct filter_spec *f, const struct event *ev);

/*
 * Looks up a slot by name: an event type's stream name, or "open.read" (the slot of
 * O_RDONLY opens; "open" is that of opens with a write access mode); -1 when unknown.
 */
int filter_type_by_name(const char *name);
/* A slot's name: its event type's, or "open.read". NULL for none. */
const char *filter_slot_name(int slot);
/* The slot whose criteria an event meets: its type's, or VG_FS_OPEN_READ's. */
int filter_event_slot(const struct event *ev);

/*
 * Writes the spec into the maps, replacing what they held. A type whose entries do
 * not fit or cannot be written falls back in f (and is written as all). Returns 0,
 * or -errno when the type array itself cannot be written: then every type whose
 * entry was not rewritten still sends all (the gates open first).
 */
int filter_spec_apply(struct filter_spec *f, const struct filter_maps *m);

#endif /* VIGIL_FILTER_H */
