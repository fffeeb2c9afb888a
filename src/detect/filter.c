// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * filter.c - builds the prefilter description and writes it into the sensor
 * maps. An exact path that also lies under a prefix of the same type is marked
 * covered, because the kernel's trie returns only the longest matching entry.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int filter_type_by_name(const char *name)
{
	int t;

	for (t = 1; t < VG_EV_TYPE_MAX; t++) {
		const char *n = event_type_name(t);

		if (n && !strcmp(n, name))
			return t;
	}
	return -1;
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

static int add_path(struct filter_spec *f, int type, const char *path, size_t len, char *err,
		    size_t errlen)
{
	enum filter_item_kind kind = FILTER_ITEM_EXACT;
	struct filter_item *it;

	if (len && path[len - 1] == '*') {
		len--;
		kind = FILTER_ITEM_PREFIX;
	} else if (len && path[len - 1] == '/') {
		kind = FILTER_ITEM_PREFIX;
	}
	if (len > VG_FILTER_PATH_MAX) {
		/* the trie sees the first bytes only: a longer path can only be a prefix */
		len = VG_FILTER_PATH_MAX;
		kind = FILTER_ITEM_PREFIX;
	}
	for (size_t i = 0; i < f->nitems; i++) {
		const struct filter_item *o = &f->items[i];

		if (o->type == type && o->kind == kind && !strncmp(o->str, path, len) &&
		    !o->str[len])
			goto done; /* already there */
	}
	it = add_item(f, type, kind);
	if (!it) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memcpy(it->str, path, len);
	it->str[len] = 0;
done:
	f->types[type].mode = VG_FILTER_MATCH;
	f->types[type].criteria |= VG_FC_PATH;
	return 0;
}

int filter_spec_default(struct filter_spec *f)
{
	char err[64];
	size_t i;
	int ret;

	for (i = 0; i < sizeof(default_open_prefixes) / sizeof(default_open_prefixes[0]); i++) {
		const char *p = default_open_prefixes[i];

		ret = add_path(f, VG_EV_OPEN, p, strlen(p), err, sizeof(err));
		if (ret)
			return ret;
	}
	f->types[VG_EV_OPEN].criteria |= VG_FC_WRITE_OPENS;
	return 0;
}

static int parse_item(struct filter_spec *f, int type, const char *s, size_t len, char *err,
		      size_t errlen)
{
	if (len == 0) {
		snprintf(err, errlen, "empty item");
		return -EINVAL;
	}
	struct filter_item *it;
	char num[32];
	char *end;

	if (len && s[0] == '/')
		return add_path(f, type, s, len, err, errlen);
	if (len == 5 && !strncmp(s, "write", 5)) {
		f->types[type].criteria |= VG_FC_WRITE_OPENS;
		goto match;
	}
	if (len == 6 && !strncmp(s, "failed", 6)) {
		f->types[type].criteria |= VG_FC_FAILED;
		goto match;
	}
	if (len > 5 && !strncmp(s, "comm=", 5)) {
		if (len - 5 >= VG_COMM_LEN) {
			snprintf(err, errlen, "'%.*s': a comm has at most %d bytes", (int)len, s,
				 VG_COMM_LEN - 1);
			return -EINVAL;
		}
		it = add_item(f, type, FILTER_ITEM_COMM);
		if (!it)
			return -ENOMEM;
		memcpy(it->str, s + 5, len - 5);
		f->types[type].criteria |= VG_FC_COMM;
		goto match;
	}
	if ((len > 5 && !strncmp(s, "port=", 5)) || (len > 7 && !strncmp(s, "cgroup=", 7))) {
		bool port = s[0] == 'p';
		size_t skip = port ? 5 : 7;
		unsigned long long v;

		snprintf(num, sizeof(num), "%.*s", (int)(len - skip), s + skip);
		errno = 0;
		v = strtoull(num, &end, 0);
		if (errno || *end || end == num || (port && (v == 0 || v > 65535))) {
			snprintf(err, errlen, "'%.*s': expected %s", (int)len, s,
				 port ? "a port from 1 to 65535" : "a cgroup id");
			return -EINVAL;
		}
		it = add_item(f, type, port ? FILTER_ITEM_PORT : FILTER_ITEM_CGROUP);
		if (!it)
			return -ENOMEM;
		it->num = v;
		f->types[type].criteria |= port ? VG_FC_PORT : VG_FC_CGROUP;
		goto match;
	}
	snprintf(err, errlen,
		 "'%.*s': expected a path, comm=NAME, port=N, cgroup=ID, write or failed", (int)len,
		 s);
	return -EINVAL;
match:
	f->types[type].mode = VG_FILTER_MATCH;
	return 0;
}

int filter_spec_add(struct filter_spec *f, int type, const char *item, char *err, size_t errlen)
{
	if (type <= 0 || type >= VG_EV_TYPE_MAX) {
		snprintf(err, errlen, "event type %d out of range", type);
		return -EINVAL;
	}
	return parse_item(f, type, item, strlen(item), err, errlen);
}

int filter_spec_parse(struct filter_spec *f, const char *arg, char *err, size_t errlen)
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
	/* a new setting for a type replaces what was there, defaults included */
	for (size_t i = 0; i < f->nitems;) {
		if (f->items[i].type == type)
			f->items[i] = f->items[--f->nitems];
		else
			i++;
	}
	f->types[type].criteria = 0;
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
		d->criteria |= s->criteria;
	}
	for (i = 0; i < src->nitems; i++) {
		const struct filter_item *it = &src->items[i];
		struct filter_item *n;

		if (dst->types[it->type].mode != VG_FILTER_MATCH)
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

static int put_item(const struct filter_spec *f, const struct filter_item *it,
		    const struct filter_maps *m)
{
	uint8_t one = 1;

	switch (it->kind) {
	case FILTER_ITEM_PREFIX:
	case FILTER_ITEM_EXACT: {
		struct vg_path_key k = {.type = it->type};
		struct vg_path_val v = {.len = strlen(it->str)};

		memcpy(k.path, it->str, v.len);
		k.prefixlen = 8 + 8 * v.len;
		if (it->kind == FILTER_ITEM_EXACT)
			v.flags = VG_PV_EXACT | (covered(f, it) ? VG_PV_COVERED : 0);
		return bpf_map_update_elem(m->paths, &k, &v, BPF_ANY) ? -errno : 0;
	}
	case FILTER_ITEM_COMM: {
		struct vg_comm_key k = {.type = it->type};

		memcpy(k.comm, it->str, strnlen(it->str, sizeof(k.comm) - 1));
		return bpf_map_update_elem(m->comms, &k, &one, BPF_ANY) ? -errno : 0;
	}
	case FILTER_ITEM_PORT: {
		struct vg_port_key k = {.type = it->type, .port = it->num};

		return bpf_map_update_elem(m->ports, &k, &one, BPF_ANY) ? -errno : 0;
	}
	case FILTER_ITEM_CGROUP: {
		struct vg_cgroup_key k = {.cgroup_id = it->num, .type = it->type};

		return bpf_map_update_elem(m->cgroups, &k, &one, BPF_ANY) ? -errno : 0;
	}
	}
	return -EINVAL;
}

int filter_spec_apply(const struct filter_spec *f, const struct filter_maps *m)
{
	struct vg_filter_type all = {.mode = VG_FILTER_ALL};
	uint32_t t;
	size_t i;
	int ret;

	/* open the gates first so nothing is dropped while the sets are rewritten */
	for (t = 0; t < VG_EV_TYPE_MAX; t++)
		if (bpf_map_update_elem(m->types, &t, &all, BPF_ANY))
			return -errno;
	if ((ret = map_clear(m->paths, sizeof(struct vg_path_key))) ||
	    (ret = map_clear(m->comms, sizeof(struct vg_comm_key))) ||
	    (ret = map_clear(m->ports, sizeof(struct vg_port_key))) ||
	    (ret = map_clear(m->cgroups, sizeof(struct vg_cgroup_key))))
		return ret;
	for (i = 0; i < f->nitems; i++) {
		ret = put_item(f, &f->items[i], m);
		if (ret)
			return ret;
	}
	for (t = 0; t < VG_EV_TYPE_MAX; t++)
		if (bpf_map_update_elem(m->types, &t, &f->types[t], BPF_ANY))
			return -errno;
	return 0;
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

/* "/." followed by '/', '.' or the end: a component the kernel did not fold. */
static bool has_dot_component(const char *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++)
		if (p[i] == '/' && p[i + 1] == '.' &&
		    (i + 2 >= len || p[i + 2] == '/' || p[i + 2] == '.'))
			return true;
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

bool filter_spec_pass(const struct filter_spec *f, const struct event *ev)
{
	const struct vg_hdr *h = ev->hdr;
	const struct vg_filter_type *ft;
	char comm[VG_COMM_LEN + 1];
	const char *s;
	size_t n;
	bool failed;

	if (ev->kind->flags & EVENT_KF_LIFECYCLE)
		return true;
	ft = &f->types[h->type];
	if (ft->mode == VG_FILTER_ALL)
		return true;
	if (ft->mode != VG_FILTER_MATCH)
		return false;
	failed = ev->sys && ev->ret < 0;
	if ((ft->criteria & VG_FC_FAILED) && failed)
		return true;
	if (ft->criteria & VG_FC_WRITE_OPENS) {
		const struct vg_file *fl = (const struct vg_file *)h;

		if (h->type != VG_EV_OPEN || (fl->flags & (01 | 02 | 0100 | 01000)))
			return true;
	}
	snprintf(comm, sizeof(comm), "%.*s", VG_COMM_LEN, h->comm);
	if ((ft->criteria & VG_FC_COMM) && item_is(f, h->type, FILTER_ITEM_COMM, comm, 0))
		return true;
	if ((ft->criteria & VG_FC_CGROUP) &&
	    item_is(f, h->type, FILTER_ITEM_CGROUP, NULL, h->cgroup_id))
		return true;
	if (ev->kind->domain == EVENT_DOM_NET) {
		const struct vg_net *nt = (const struct vg_net *)h;
		uint16_t port = ev->kind->flags & EVENT_KF_PORT_REMOTE ? nt->rport : nt->lport;

		if ((ft->criteria & VG_FC_PORT) && port &&
		    item_is(f, h->type, FILTER_ITEM_PORT, NULL, port))
			return true;
		s = event_str(h, ev->size, nt->unix_path, &n);
		return (ft->criteria & VG_FC_PATH) && s && path_matches(f, h->type, s, n);
	}
	if (!(ft->criteria & VG_FC_PATH) || ev->kind->domain != EVENT_DOM_FILE)
		return false;
	{
		const struct vg_file *fl = (const struct vg_file *)h;
		const char *s2;
		size_t n2;

		s = event_str(h, ev->size, fl->path, &n);
		s2 = event_str(h, ev->size, fl->path2, &n2);
		if ((h->flags & (VG_FL_PATH_JOINED | VG_FL_PATH2_JOINED)) &&
		    ((s && has_dot_component(s, n)) || (s2 && has_dot_component(s2, n2))))
			return true;
		return (s && path_matches(f, h->type, s, n)) ||
		       (s2 && path_matches(f, h->type, s2, n2));
	}
}
