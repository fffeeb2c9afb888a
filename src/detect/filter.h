/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * filter.h - the in-kernel prefilter as user space describes it: per event type,
 * send all, nothing, or what matches path prefixes, exact paths, comms, ports or
 * cgroups. Parsed from `--filter` options (later derived from the rules) and
 * written into the sensor maps.
 */
#ifndef VIGIL_FILTER_H
#define VIGIL_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/events.h"

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

struct filter_spec {
	struct vg_filter_type types[VG_EV_TYPE_MAX]; /* mode and criteria per type */
	struct filter_item *items;		     /* criteria values */
	size_t nitems;				     /* items in use */
	size_t cap;				     /* items allocated */
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

/* Makes dst send what either dst or src sends. 0 or -ENOMEM. */
int filter_spec_merge(struct filter_spec *dst, const struct filter_spec *src);

/* Adds one ITEM (as in filter_spec_parse) to type's criteria. 0 or -EINVAL. */
int filter_spec_add(struct filter_spec *f, int type, const char *item, char *err, size_t errlen);

/*
 * Whether the kernel would send this event under f: the same checks the sensors
 * make, in user space, for replaying a recording through a prefilter and for
 * proving that a derived prefilter drops nothing a rule matches.
 */
struct event;
bool filter_spec_pass(const struct filter_spec *f, const struct event *ev);

/* Looks up an event type by its stream name; -1 when unknown. */
int filter_type_by_name(const char *name);

/* Writes the spec into the maps, replacing what they held. Returns 0 or -errno. */
int filter_spec_apply(const struct filter_spec *f, const struct filter_maps *m);

#endif /* VIGIL_FILTER_H */
