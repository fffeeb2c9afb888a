// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * filter.c - builds the prefilter description from typed values (the rules'
 * derivation, `--filter` parsed once here, the default set) and writes it into
 * the sensor maps, type by type: a type whose entries do not fit or cannot be
 * written is sent whole instead. An exact path that also lies under a prefix of
 * the same type is marked covered, because the kernel's trie returns only the
 * longest matching entry.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <bpf/bpf.h>

#include "events/event.h"
#include "state/proctable.h"
#include "filter.h"

/* Opens of these are sent by default: credentials, system configuration, boot,
 * persistence and logs. Opens for writing are sent wherever they happen. */
static const char *const default_open_prefixes[] = {
    "/etc/",
    "/root/",
    "/boot/",
    "/home/",
    "/var/spool/cron/",
    "/var/log/",
    "/usr/lib/systemd/",
    "/lib/systemd/",
    "/usr/local/bin/",
    "/dev/mem",
    "/dev/kmem",
    "/proc/kcore",
    "/sys/kernel/",
    "/var/run/secrets/",
};

void filter_spec_init(struct filter_spec *f)
{
	memset(f, 0, sizeof(*f));
}

void filter_spec_free(struct filter_spec *f)
{
	free(f->items);
	memset(f, 0, sizeof(*f));
}

const char *filter_slot_name(int slot)
{
	return slot == VG_FS_OPEN_READ ? "open.read" : event_type_name(slot);
}

int filter_type_by_name(const char *name)
{
	int t;

	for (t = 1; t < VG_EV_TYPE_MAX; t++) {
		const char *n = filter_slot_name(t);

		if (n && !strcmp(n, name))
			return t;
	}
	return -1;
}

/* The slot an item belongs to: leaf entries are numbered above it. */
static int item_slot(const struct filter_item *it)
{
	return it->type & ~VG_FS_LEAF;
}

static struct filter_item *add_item(struct filter_spec *f, int type, enum filter_item_kind kind)
{
	struct filter_item *it;

	if (f->nitems == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 32;
		struct filter_item *n = realloc(f->items, cap * sizeof(*n));

		if (!n)
			return NULL;
		f->items = n;
		f->cap = cap;
	}
	it = &f->items[f->nitems++];
	memset(it, 0, sizeof(*it));
	it->type = type;
	it->kind = kind;
	return it;
}

/* Whether the type already has this item (str of len bytes, or num when str is NULL). */
static bool has_item(const struct filter_spec *f, int type, enum filter_item_kind kind,
		     const char *str, size_t len, uint64_t num)
{
	for (size_t i = 0; i < f->nitems; i++) {
		const struct filter_item *o = &f->items[i];

		if (o->type == type && o->kind == kind &&
		    (str ? !strncmp(o->str, str, len) && !o->str[len] : o->num == num))
			return true;
	}
	return false;
}

static bool type_ok(int type)
{
	return type > 0 && type < VG_EV_TYPE_MAX;
}

static void set_match(struct filter_spec *f, int type, uint32_t criteria)
{
	f->types[type].mode = VG_FILTER_MATCH;
	f->types[type].criteria |= criteria;
}

bool filter_path_ok(const char *path, size_t len)
{
	/* the sensors resolve absolute paths; a trie key holds no NUL */
	return len && path[0] == '/' && !memchr(path, 0, len);
}

bool filter_comm_ok(const char *comm, size_t len)
{
	return len < VG_COMM_LEN && !memchr(comm, 0, len);
}

bool filter_port_ok(uint64_t port)
{
	/* the sensors skip the port lookup for port 0 */
	return port && port <= 65535;
}

/* A trie entry of a slot: a path, or a leaf (item type slot | VG_FS_LEAF), and its criterion. */
static int add_trie_item(struct filter_spec *f, int type, int item_type, uint32_t criterion,
			 const char *s, size_t len, bool prefix)
{
	enum filter_item_kind kind = prefix ? FILTER_ITEM_PREFIX : FILTER_ITEM_EXACT;
	struct filter_item *it;

	if (len > VG_FILTER_PATH_MAX) {
		/* the trie sees the first bytes only: a longer string can only be a prefix */
		len = VG_FILTER_PATH_MAX;
		kind = FILTER_ITEM_PREFIX;
	}
	if (has_item(f, item_type, kind, s, len, 0))
		goto done;
	it = add_item(f, item_type, kind);
	if (!it)
		return -ENOMEM;
	memcpy(it->str, s, len);
	it->str[len] = 0;
done:
	set_match(f, type, criterion);
	return 0;
}

int filter_spec_add_path(struct filter_spec *f, int type, const char *path, size_t len, bool prefix)
{
	if (!type_ok(type))
		return -EINVAL;
	if (!filter_path_ok(path, len))
		return -ERANGE;
	return add_trie_item(f, type, type, VG_FC_PATH, path, len, prefix);
}

bool filter_leaf_ok(const char *leaf, size_t len)
{
	/* a file's own name: no '/', and no NUL for a trie key */
	return !memchr(leaf, '/', len) && !memchr(leaf, 0, len);
}

int filter_spec_add_leaf(struct filter_spec *f, int type, const char *leaf, size_t len, bool prefix)
{
	if (!type_ok(type))
		return -EINVAL;
	if (!filter_leaf_ok(leaf, len))
		return -ERANGE;
	return add_trie_item(f, type, type | VG_FS_LEAF, VG_FC_LEAF, leaf, len, prefix);
}

int filter_spec_add_comm(struct filter_spec *f, int type, const char *comm, size_t len)
{
	struct filter_item *it;

	if (!type_ok(type))
		return -EINVAL;
	if (!filter_comm_ok(comm, len))
		return -ERANGE;
	if (has_item(f, type, FILTER_ITEM_COMM, comm, len, 0))
		goto done;
	it = add_item(f, type, FILTER_ITEM_COMM);
	if (!it)
		return -ENOMEM;
	memcpy(it->str, comm, len);
done:
	set_match(f, type, VG_FC_COMM);
	return 0;
}

int filter_spec_add_port(struct filter_spec *f, int type, uint64_t port)
{
	struct filter_item *it;

	if (!type_ok(type))
		return -EINVAL;
	if (!filter_port_ok(port))
		return -ERANGE;
	if (has_item(f, type, FILTER_ITEM_PORT, NULL, 0, port))
		goto done;
	it = add_item(f, type, FILTER_ITEM_PORT);
	if (!it)
		return -ENOMEM;
	it->num = port;
done:
	set_match(f, type, VG_FC_PORT);
	return 0;
}

int filter_spec_add_cgroup(struct filter_spec *f, int type, uint64_t cgroup_id)
{
	struct filter_item *it;

	if (!type_ok(type))
		return -EINVAL;
	if (has_item(f, type, FILTER_ITEM_CGROUP, NULL, 0, cgroup_id))
		goto done;
	it = add_item(f, type, FILTER_ITEM_CGROUP);
	if (!it)
		return -ENOMEM;
	it->num = cgroup_id;
done:
	set_match(f, type, VG_FC_CGROUP);
	return 0;
}

int filter_spec_add_flags(struct filter_spec *f, int type, uint32_t criteria)
{
	if (!type_ok(type) || !criteria || (criteria & ~(VG_FC_WRITE_OPENS | VG_FC_FAILED)))
		return -EINVAL;
	set_match(f, type, criteria);
	return 0;
}

/* Drops every item of a slot, its leaf entries included. */
static void drop_items(struct filter_spec *f, int type)
{
	for (size_t i = 0; i < f->nitems;) {
		if (item_slot(&f->items[i]) == type)
			f->items[i] = f->items[--f->nitems];
		else
			i++;
	}
}

/* Gives slot dst the setting of slot src, items included. 0 or -ENOMEM. */
static int copy_slot(struct filter_spec *f, int src, int dst)
{
	drop_items(f, dst);
	f->types[dst] = f->types[src];
	f->fallback[dst] = f->fallback[src];
	f->set[dst] = f->set[src];
	for (size_t i = 0, n = f->nitems; i < n; i++) {
		struct filter_item *it;

		if (item_slot(&f->items[i]) != src)
			continue;
		it = add_item(f, f->items[i].type, f->items[i].kind);
		if (!it)
			return -ENOMEM;
		*it = f->items[i];
		it->type = dst | (it->type & VG_FS_LEAF);
	}
	return 0;
}

void filter_spec_fall_back(struct filter_spec *f, int type, enum filter_fallback reason,
			   const char *fmt, ...)
{
	struct filter_fallback_info *fb;
	va_list ap;

	if (!type_ok(type))
		return;
	fb = &f->fallback[type];
	f->types[type].mode = VG_FILTER_ALL;
	f->types[type].criteria = 0;
	drop_items(f, type);
	if (fb->reason != FILTER_FB_NONE)
		return;
	fb->reason = reason;
	va_start(ap, fmt);
	vsnprintf(fb->what, sizeof(fb->what), fmt, ap);
	va_end(ap);
}

const char *filter_fallback_name(enum filter_fallback reason)
{
	static const char *const names[FILTER_FB__COUNT] = {
	    [FILTER_FB_NONE] = "none",	       [FILTER_FB_VALUE] = "value",
	    [FILTER_FB_NOMEM] = "nomem",       [FILTER_FB_ERROR] = "error",
	    [FILTER_FB_MAP_FULL] = "map_full", [FILTER_FB_MAP_ERROR] = "map_error",
	};

	return reason < FILTER_FB__COUNT ? names[reason] : "unknown";
}

int filter_spec_default(struct filter_spec *f)
{
	size_t i;
	int ret;

	for (i = 0; i < sizeof(default_open_prefixes) / sizeof(default_open_prefixes[0]); i++) {
		const char *p = default_open_prefixes[i];

		ret = filter_spec_add_path(f, VG_EV_OPEN, p, strlen(p), true);
		if (ret)
			return ret;
	}
	ret = filter_spec_add_flags(f, VG_EV_OPEN, VG_FC_WRITE_OPENS);
	return ret ? ret : copy_slot(f, VG_EV_OPEN, VG_FS_OPEN_READ);
}

/* One `--filter` item into typed criteria. */
static int parse_item(struct filter_spec *f, int type, const char *s, size_t len, char *err,
		      size_t errlen)
{
	char num[32];
	char *end;
	int ret;

	if (len == 0) {
		snprintf(err, errlen, "empty item");
		return -EINVAL;
	}
	if (s[0] == '/') {
		/* "/usr*" and "/etc/" are prefixes, anything else an exact path */
		bool star = s[len - 1] == '*';

		ret = filter_spec_add_path(f, type, s, star ? len - 1 : len,
					   star || s[len - 1] == '/');
		goto out;
	}
	if (len == 5 && !strncmp(s, "write", 5))
		return filter_spec_add_flags(f, type, VG_FC_WRITE_OPENS);
	if (len == 6 && !strncmp(s, "failed", 6))
		return filter_spec_add_flags(f, type, VG_FC_FAILED);
	if (len > 5 && !strncmp(s, "comm=", 5)) {
		if (len - 5 >= VG_COMM_LEN) {
			snprintf(err, errlen, "'%.*s': a comm has at most %d bytes", (int)len, s,
				 VG_COMM_LEN - 1);
			return -EINVAL;
		}
		ret = filter_spec_add_comm(f, type, s + 5, len - 5);
		goto out;
	}
	if ((len > 5 && !strncmp(s, "port=", 5)) || (len > 7 && !strncmp(s, "cgroup=", 7))) {
		bool port = s[0] == 'p';
		size_t skip = port ? 5 : 7;
		unsigned long long v;

		snprintf(num, sizeof(num), "%.*s", (int)(len - skip), s + skip);
		errno = 0;
		v = strtoull(num, &end, 0);
		ret = errno || *end || end == num ? -ERANGE
		      : port			  ? filter_spec_add_port(f, type, v)
						  : filter_spec_add_cgroup(f, type, v);
		if (ret == -ERANGE) {
			snprintf(err, errlen, "'%.*s': expected %s", (int)len, s,
				 port ? "a port from 1 to 65535" : "a cgroup id");
			return -EINVAL;
		}
		goto out;
	}
	snprintf(err, errlen,
		 "'%.*s': expected a path, comm=NAME, port=N, cgroup=ID, write or failed", (int)len,
		 s);
	return -EINVAL;
out:
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	else if (ret)
		snprintf(err, errlen, "'%.*s': the kernel cannot check this", (int)len, s);
	return ret ? (ret == -ENOMEM ? ret : -EINVAL) : 0;
}

static int parse_one(struct filter_spec *f, const char *arg, char *err, size_t errlen)
{
	const char *eq = strchr(arg, '='), *p;
	char name[32];
	int type, ret;

	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(name)) {
		snprintf(err, errlen, "'%s': expected TYPE=all, TYPE=none or TYPE=ITEM,...", arg);
		return -EINVAL;
	}
	snprintf(name, sizeof(name), "%.*s", (int)(eq - arg), arg);
	type = filter_type_by_name(name);
	if (type < 0) {
		snprintf(err, errlen, "'%s': unknown event type '%s'", arg, name);
		return -EINVAL;
	}
	if (type == VG_EV_EXEC || type == VG_EV_FORK || type == VG_EV_EXIT) {
		snprintf(err, errlen, "'%s': %s events always go up (the process table needs them)",
			 arg, name);
		return -EINVAL;
	}
	p = eq + 1;
	/* a new setting for a type replaces what was there, defaults and fallbacks included */
	drop_items(f, type);
	f->types[type].criteria = 0;
	f->fallback[type] = (struct filter_fallback_info){0};
	f->set[type] = true;
	if (!strcmp(p, "all")) {
		f->types[type].mode = VG_FILTER_ALL;
		return 0;
	}
	if (!strcmp(p, "none")) {
		f->types[type].mode = VG_FILTER_NONE;
		return 0;
	}
	while (*p) {
		size_t len = strcspn(p, ",");

		if (len == 0) {
			snprintf(err, errlen, "'%s': empty item", arg);
			return -EINVAL;
		}
		ret = parse_item(f, type, p, len, err, errlen);
		if (ret)
			return ret;
		p += len;
		if (*p == ',')
			p++;
	}
	if (f->types[type].mode != VG_FILTER_MATCH) {
		snprintf(err, errlen, "'%s': no items", arg);
		return -EINVAL;
	}
	return 0;
}

/* The slot an argument names (the text before '='), or -1. */
static int filter_type_by_name_len(const char *arg)
{
	char name[32];
	const char *eq = strchr(arg, '=');

	if (!eq || (size_t)(eq - arg) >= sizeof(name))
		return -1;
	snprintf(name, sizeof(name), "%.*s", (int)(eq - arg), arg);
	return filter_type_by_name(name);
}

int filter_spec_parse(struct filter_spec *f, const char *arg, char *err, size_t errlen)
{
	int ret = parse_one(f, arg, err, errlen);

	/* "open=..." is about every open: the slot of O_RDONLY opens gets the same */
	if (!ret && filter_type_by_name_len(arg) == VG_EV_OPEN &&
	    (ret = copy_slot(f, VG_EV_OPEN, VG_FS_OPEN_READ)))
		snprintf(err, errlen, "out of memory");
	return ret;
}

int filter_spec_override(struct filter_spec *dst, const struct filter_spec *src)
{
	for (int t = 0; t < VG_EV_TYPE_MAX; t++) {
		if (!src->set[t])
			continue;
		drop_items(dst, t);
		dst->types[t] = src->types[t];
		dst->fallback[t] = src->fallback[t];
		dst->set[t] = true;
		for (size_t i = 0; i < src->nitems; i++) {
			struct filter_item *n;

			if (item_slot(&src->items[i]) != t)
				continue;
			n = add_item(dst, src->items[i].type, src->items[i].kind);
			if (!n) {
				filter_spec_fall_back(dst, t, FILTER_FB_NOMEM,
						      "applying --filter: out of memory");
				return -ENOMEM;
			}
			*n = src->items[i];
		}
	}
	return 0;
}

/* Whether an item is consulted under its slot's mode and criteria. */
static bool item_wanted(const struct filter_spec *f, const struct filter_item *it)
{
	const struct vg_filter_type *ft = &f->types[item_slot(it)];

	if (ft->mode != VG_FILTER_MATCH)
		return false;
	if (it->kind != FILTER_ITEM_PREFIX && it->kind != FILTER_ITEM_EXACT)
		return true;
	return ft->criteria & (it->type & VG_FS_LEAF ? VG_FC_LEAF : VG_FC_PATH);
}

/*
 * The criteria of a slot both specs filter, which sends what either sends. Leaf
 * entries narrow the path test instead of adding to it: they stay only when both
 * sides have them, and path entries then only when both sides have those too (the
 * union of the leaves and paths covers each side). A side that passes on its leaves
 * alone, merged with one without leaves, leaves nothing to narrow with: all.
 */
static void merge_leaf(struct filter_spec *dst, int t, uint32_t dc, uint32_t sc)
{
	struct vg_filter_type *d = &dst->types[t];
	uint32_t c = dc | sc;

	if ((dc & VG_FC_LEAF) && (sc & VG_FC_LEAF)) {
		if (!(dc & VG_FC_PATH) || !(sc & VG_FC_PATH))
			c &= ~VG_FC_PATH;
	} else if ((dc & VG_FC_LEAF) || (sc & VG_FC_LEAF)) {
		uint32_t leafy = (dc & VG_FC_LEAF) ? dc : sc;

		if (!(leafy & VG_FC_PATH)) {
			d->mode = VG_FILTER_ALL;
			d->criteria = 0;
			drop_items(dst, t);
			return;
		}
		c &= ~VG_FC_LEAF;
	}
	d->criteria = c;
	for (size_t i = 0; i < dst->nitems;) {
		if (item_slot(&dst->items[i]) == t && !item_wanted(dst, &dst->items[i]))
			dst->items[i] = dst->items[--dst->nitems];
		else
			i++;
	}
}

int filter_spec_merge(struct filter_spec *dst, const struct filter_spec *src)
{
	size_t i;

	for (int t = 0; t < VG_EV_TYPE_MAX; t++) {
		struct vg_filter_type *d = &dst->types[t];
		const struct vg_filter_type *s = &src->types[t];

		if (d->mode == VG_FILTER_ALL || s->mode == VG_FILTER_NONE)
			continue;
		if (s->mode == VG_FILTER_ALL || d->mode == VG_FILTER_NONE) {
			*d = *s;
			continue;
		}
		merge_leaf(dst, t, d->criteria, s->criteria);
	}
	for (int t = 0; t < VG_EV_TYPE_MAX; t++)
		if (src->fallback[t].reason && !dst->fallback[t].reason)
			dst->fallback[t] = src->fallback[t];
	for (i = 0; i < src->nitems; i++) {
		const struct filter_item *it = &src->items[i];
		struct filter_item *n;

		if (!item_wanted(dst, it))
			continue;
		n = add_item(dst, it->type, it->kind);
		if (!n)
			return -ENOMEM;
		*n = *it;
	}
	/* items of types that became "all" or stayed "none" are never consulted */
	return 0;
}

/* Deletes every key of a hash or trie map. */
static int map_clear(int fd, size_t key_size)
{
	char key[sizeof(struct vg_path_key)], next[sizeof(struct vg_path_key)];

	if (key_size > sizeof(key))
		return -EINVAL;
	while (bpf_map_get_next_key(fd, NULL, next) == 0) {
		memcpy(key, next, key_size);
		if (bpf_map_delete_elem(fd, key))
			return -errno;
	}
	return 0;
}

static bool covered(const struct filter_spec *f, const struct filter_item *exact)
{
	size_t i;

	for (i = 0; i < f->nitems; i++) {
		const struct filter_item *p = &f->items[i];

		if (p->type == exact->type && p->kind == FILTER_ITEM_PREFIX &&
		    !strncmp(exact->str, p->str, strlen(p->str)))
			return true;
	}
	return false;
}

union item_key {
	struct vg_path_key path;     /* prefixes and exact paths */
	struct vg_comm_key comm;     /* comms */
	struct vg_port_key port;     /* ports */
	struct vg_cgroup_key cgroup; /* cgroups */
};

/* The map an item goes into (its fd) and its key there. */
static int item_key(const struct filter_item *it, const struct filter_maps *m, union item_key *k)
{
	size_t len;

	memset(k, 0, sizeof(*k));
	switch (it->kind) {
	case FILTER_ITEM_PREFIX:
	case FILTER_ITEM_EXACT:
		len = strlen(it->str);
		k->path.type = it->type;
		memcpy(k->path.path, it->str, len);
		k->path.prefixlen = 8 + 8 * len;
		return m->paths;
	case FILTER_ITEM_COMM:
		k->comm.type = it->type;
		memcpy(k->comm.comm, it->str, strnlen(it->str, sizeof(k->comm.comm) - 1));
		return m->comms;
	case FILTER_ITEM_PORT:
		k->port.type = it->type;
		k->port.port = it->num;
		return m->ports;
	case FILTER_ITEM_CGROUP:
		k->cgroup.cgroup_id = it->num;
		k->cgroup.type = it->type;
		return m->cgroups;
	}
	return -1;
}

static int put_item(const struct filter_spec *f, const struct filter_item *it,
		    const struct filter_maps *m)
{
	union item_key k;
	int fd = item_key(it, m, &k);
	struct vg_path_val v = {.len = strlen(it->str)};
	uint8_t one = 1;
	const void *val = &one;

	if (it->kind == FILTER_ITEM_PREFIX || it->kind == FILTER_ITEM_EXACT)
		val = &v;
	if (it->kind == FILTER_ITEM_EXACT)
		v.flags = VG_PV_EXACT | (covered(f, it) ? VG_PV_COVERED : 0);
	return bpf_map_update_elem(fd, &k, val, BPF_ANY) ? -errno : 0;
}

/* Deletes the map entry an item was written to, when a later one of its type fails. */
static void del_item(const struct filter_item *it, const struct filter_maps *m)
{
	union item_key k;

	bpf_map_delete_elem(item_key(it, m, &k), &k);
}

static const char *const item_maps[] = {
    [FILTER_ITEM_PREFIX] = "filter_paths",   [FILTER_ITEM_EXACT] = "filter_paths",
    [FILTER_ITEM_COMM] = "filter_comms",     [FILTER_ITEM_PORT] = "filter_ports",
    [FILTER_ITEM_CGROUP] = "filter_cgroups",
};

/* Writes the items of one type; if one fails, removes those written and falls back. */
static void put_type(struct filter_spec *f, int type, const struct filter_maps *m)
{
	size_t i, k;
	int ret = 0;

	for (i = 0; i < f->nitems && !ret; i++)
		if (item_slot(&f->items[i]) == type)
			ret = put_item(f, &f->items[i], m);
	if (!ret)
		return;
	const struct filter_item *bad = &f->items[i - 1];
	const char *map = item_maps[bad->kind];

	for (k = 0; k + 1 < i; k++)
		if (item_slot(&f->items[k]) == type)
			del_item(&f->items[k], m);
	/* a full hash answers E2BIG, a full trie ENOSPC */
	if (ret == -E2BIG || ret == -ENOSPC)
		filter_spec_fall_back(f, type, FILTER_FB_MAP_FULL,
				      "more entries than the kernel map %s holds", map);
	else
		filter_spec_fall_back(f, type, FILTER_FB_MAP_ERROR, "writing the kernel map %s: %s",
				      map, strerror(-ret));
}

int filter_spec_apply(struct filter_spec *f, const struct filter_maps *m)
{
	struct vg_filter_type all = {.mode = VG_FILTER_ALL};
	uint32_t t;
	int ret;

	/* open the gates first so nothing is dropped while the sets are rewritten, and so
	 * that whatever fails below leaves the types sending everything */
	for (t = 0; t < VG_EV_TYPE_MAX; t++)
		if (bpf_map_update_elem(m->types, &t, &all, BPF_ANY))
			return -errno;
	if ((ret = map_clear(m->paths, sizeof(struct vg_path_key))) ||
	    (ret = map_clear(m->comms, sizeof(struct vg_comm_key))) ||
	    (ret = map_clear(m->ports, sizeof(struct vg_port_key))) ||
	    (ret = map_clear(m->cgroups, sizeof(struct vg_cgroup_key))))
		return ret;
	/* type by type, so one that does not fit leaves room for the others */
	for (t = 0; t < VG_EV_TYPE_MAX; t++)
		if (f->types[t].mode == VG_FILTER_MATCH)
			put_type(f, t, m);
	for (t = 0; t < VG_EV_TYPE_MAX; t++)
		if (bpf_map_update_elem(m->types, &t, &f->types[t], BPF_ANY))
			return -errno;
	return 0;
}

void filter_spec_print(const struct filter_spec *f, FILE *out)
{
	static const char *const modes[] = {"all", "match", "none"};
	int t;

	for (t = 1; t < VG_EV_TYPE_MAX; t++) {
		const char *name = filter_slot_name(t);
		uint32_t c = f->types[t].criteria;

		if (!name)
			continue;
		fprintf(out, "%-9s %s", name, modes[f->types[t].mode % 3]);
		if (f->fallback[t].reason)
			fprintf(out, " (unfiltered: %s)", f->fallback[t].what);
		for (size_t i = 0; i < f->nitems; i++) {
			const struct filter_item *it = &f->items[i];

			if (item_slot(it) != t)
				continue;
			switch (it->kind) {
			case FILTER_ITEM_PREFIX:
				fprintf(out, " %s%s*", it->type & VG_FS_LEAF ? "leaf=" : "",
					it->str);
				break;
			case FILTER_ITEM_EXACT:
				fprintf(out, " %s%s", it->type & VG_FS_LEAF ? "leaf=" : "",
					it->str);
				break;
			case FILTER_ITEM_COMM:
				fprintf(out, " comm=%s", it->str);
				break;
			case FILTER_ITEM_PORT:
				fprintf(out, " port=%llu", (unsigned long long)it->num);
				break;
			case FILTER_ITEM_CGROUP:
				fprintf(out, " cgroup=%llu", (unsigned long long)it->num);
				break;
			}
		}
		if (f->types[t].mode == VG_FILTER_MATCH && (c & VG_FC_WRITE_OPENS))
			fprintf(out, " write");
		if (f->types[t].mode == VG_FILTER_MATCH && (c & VG_FC_FAILED))
			fprintf(out, " failed");
		fputc('\n', out);
	}
}

size_t filter_spec_print_fallbacks(const struct filter_spec *f, FILE *out)
{
	size_t n = 0;

	for (int t = 1; t < VG_EV_TYPE_MAX; t++) {
		if (!f->fallback[t].reason)
			continue;
		fprintf(out, "vigil: prefilter: every %s event goes up, unfiltered: %s\n",
			filter_slot_name(t), f->fallback[t].what);
		n++;
	}
	return n;
}

/* The trie's answer for a path: longest entry that is a prefix, exact ones whole. */
static bool path_matches(const struct filter_spec *f, int type, const char *path, size_t len)
{
	size_t i, n = len > VG_FILTER_PATH_MAX ? VG_FILTER_PATH_MAX : len;

	for (i = 0; i < f->nitems; i++) {
		const struct filter_item *it = &f->items[i];
		size_t l = strlen(it->str);

		if (it->type != type || l > n || memcmp(it->str, path, l))
			continue;
		if (it->kind == FILTER_ITEM_PREFIX || (it->kind == FILTER_ITEM_EXACT && l == len))
			return true;
	}
	return false;
}

static bool item_is(const struct filter_spec *f, int type, enum filter_item_kind kind,
		    const char *str, uint64_t num)
{
	for (size_t i = 0; i < f->nitems; i++) {
		const struct filter_item *it = &f->items[i];

		if (it->type == type && it->kind == kind &&
		    (str ? !strncmp(it->str, str, VG_COMM_LEN) : it->num == num))
			return true;
	}
	return false;
}

int filter_event_slot(const struct event *ev)
{
	const struct vg_hdr *h = ev->hdr;

	if (h->type == VG_EV_OPEN && ev->size >= sizeof(struct vg_file) &&
	    !(((const struct vg_file *)h)->flags & 03))
		return VG_FS_OPEN_READ;
	return h->type;
}

/*
 * The leaf test of filter_leaf() (core/filter.bpf.h) on a path the kernel resolved
 * from the file: its last component against the slot's leaf entries. The kernel
 * skips a mount root, which a record does not tell; "/" is one.
 */
static bool leaf_passes(const struct filter_spec *f, int slot, const char *p, size_t n)
{
	const char *slash = memrchr(p, '/', n);

	if (!(f->types[slot].criteria & VG_FC_LEAF) || (n == 1 && p[0] == '/') || !slash)
		return true;
	return path_matches(f, slot | VG_FS_LEAF, slash + 1, n - (size_t)(slash + 1 - p));
}

bool filter_spec_pass(const struct filter_spec *f, const struct event *ev)
{
	const struct vg_hdr *h = ev->hdr;
	const struct vg_filter_type *ft;
	int slot;
	char comm[VG_COMM_LEN + 1];
	const char *s;
	size_t n;
	bool failed;

	if (ev->kind->flags & EVENT_KF_LIFECYCLE)
		return true;
	slot = filter_event_slot(ev);
	ft = &f->types[slot];
	if (ft->mode == VG_FILTER_ALL)
		return true;
	if (ft->mode != VG_FILTER_MATCH)
		return false;
	failed = ev->sys && ev->ret < 0;
	if ((ft->criteria & VG_FC_FAILED) && failed)
		return true;
	if ((ft->criteria & VG_FC_WRITE_OPENS) && ev->kind->domain == EVENT_DOM_FILE) {
		/* the file sensor counts every call but an open for reading as a write; the
		 * others never pass on this criterion */
		const struct vg_file *fl = (const struct vg_file *)h;

		if (h->type != VG_EV_OPEN || (fl->flags & (01 | 02 | 0100 | 01000)))
			return true;
	}
	snprintf(comm, sizeof(comm), "%.*s", VG_COMM_LEN, h->comm);
	if ((ft->criteria & VG_FC_COMM) && item_is(f, slot, FILTER_ITEM_COMM, comm, 0))
		return true;
	if ((ft->criteria & VG_FC_CGROUP) &&
	    item_is(f, slot, FILTER_ITEM_CGROUP, NULL, h->cgroup_id))
		return true;
	if (ev->kind->domain == EVENT_DOM_NET) {
		const struct vg_net *nt = (const struct vg_net *)h;
		uint16_t port = ev->kind->flags & EVENT_KF_PORT_REMOTE ? nt->rport : nt->lport;

		if ((ft->criteria & VG_FC_PORT) && port &&
		    item_is(f, slot, FILTER_ITEM_PORT, NULL, port))
			return true;
		/* only a unix socket's name can meet a path criterion; without a socket (no
		 * socket type) the sensor drops before it reads the caller's name */
		if (!(ft->criteria & VG_FC_PATH) || nt->family != AF_UNIX || !nt->sock_type)
			return false;
		s = event_str(h, ev->size, nt->unix_path, &n);
		return s && path_matches(f, slot, s, n);
	}
	/* no path criterion applies to a privilege event: the sensor sends it */
	if (ev->kind->domain == EVENT_DOM_PRIV)
		return ft->criteria & VG_FC_PATH;
	if (!(ft->criteria & (VG_FC_PATH | VG_FC_LEAF)) || ev->kind->domain != EVENT_DOM_FILE)
		return false;
	{
		const struct vg_file *fl = (const struct vg_file *)h;
		const char *s2, *r;
		size_t n2, rn;

		/* a path resolved from the file (not joined from a name): the leaf test first */
		s = event_str(h, ev->size, fl->path, &n);
		if (s && !(h->flags & VG_FL_PATH_JOINED) && !leaf_passes(f, slot, s, n))
			return false;
		if (!(ft->criteria & VG_FC_PATH))
			return true;
		/* the kernel's order: a cut name, then joined paths user space may change */
		if (h->flags & VG_FL_RAW_TRUNC)
			return true;
		r = event_str(h, ev->size, fl->raw, &rn);
		if ((h->flags & VG_FL_PATH_JOINED) && event_name_undecided(r, rn))
			return true;
		r = event_str(h, ev->size, fl->raw2, &rn);
		if ((h->flags & VG_FL_PATH2_JOINED) && event_name_undecided(r, rn))
			return true;
		s = event_str(h, ev->size, fl->path, &n);
		s2 = event_str(h, ev->size, fl->path2, &n2);
		return (s && path_matches(f, slot, s, n)) || (s2 && path_matches(f, slot, s2, n2));
	}
}
