/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * netblock.c - blocked addresses: the trie's entries and the links that make them
 * drop traffic, made with the first block and pinned under opts.pin_dir
 * (link_xdp_IFNAME, link_block_ingress, link_block_egress) so that they outlive the
 * agent; removed with the last block. All through fds (bpf_link_create, bpf_obj_pin,
 * bpf_link_update): an adopted link gets this agent's program in place of the old
 * one, with no moment where neither drops.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "respond/netblock.h"
#include "state/cgroup.h"
#include "state/container.h"

#define MAX_IFACES 32

struct link {
	int fd;		     /* -1: none */
	char name[IFNAMSIZ]; /* XDP: the interface; else "" */
	char path[512];	     /* its pin, "" when not pinned */
};

struct netblock {
	struct netblock_opts o;
	struct link xdp[MAX_IFACES];
	size_t n_xdp;
	struct link in, eg;
	bool active;
	bool held; /* traffic monitoring keeps the programs attached (netblock__hold) */
};

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ---- addresses ---- */

int netblock_cidr_parse(const char *s, struct netblock_cidr *out)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	struct in6_addr a6;
	struct in_addr a4;
	long bits = -1;
	char *end;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash) {
		*slash = 0;
		errno = 0;
		bits = strtol(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || bits < 0)
			return -EINVAL;
	}
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, &a4) == 1) {
		if (bits > 32)
			return -EINVAL;
		out->addr[10] = out->addr[11] = 0xff;
		memcpy(out->addr + 12, &a4, 4);
		out->bits = 96 + (bits < 0 ? 32 : bits);
	} else if (inet_pton(AF_INET6, buf, &a6) == 1) {
		if (bits > 128)
			return -EINVAL;
		memcpy(out->addr, &a6, 16);
		out->bits = bits < 0 ? 128 : bits;
	} else {
		return -EINVAL;
	}
	/* the bits past the prefix are zero, so one prefix has one spelling */
	for (int i = out->bits; i < 128; i++)
		out->addr[i / 8] &= ~(0x80 >> (i % 8));
	return 0;
}

static bool is_v4(const struct netblock_cidr *c)
{
	static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return c->bits >= 96 && !memcmp(c->addr, pfx, sizeof(pfx));
}

const char *netblock_cidr_str(const struct netblock_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (is_v4(c))
		inet_ntop(AF_INET, c->addr + 12, a, sizeof(a));
	else
		inet_ntop(AF_INET6, c->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, is_v4(c) ? c->bits - 96 : c->bits);
	return buf;
}

bool netblock_cidr_contains(const struct netblock_cidr *p, const struct netblock_cidr *x)
{
	int full = p->bits / 8, rest = p->bits % 8;

	if (p->bits > x->bits || memcmp(p->addr, x->addr, full))
		return false;
	return !rest || ((p->addr[full] ^ x->addr[full]) & (0xff << (8 - rest))) == 0;
}

/* Whether c covers or is covered by loopback or an allowlisted prefix. */
static bool cidr_allowed(const struct netblock *nb, const struct netblock_cidr *c)
{
	struct netblock_cidr lo4, lo6;

	netblock_cidr_parse("127.0.0.0/8", &lo4);
	netblock_cidr_parse("::1", &lo6);
	if (netblock_cidr_contains(&lo4, c) || netblock_cidr_contains(c, &lo4) ||
	    netblock_cidr_contains(c, &lo6))
		return true;
	for (size_t i = 0; i < nb->o.n_allow; i++)
		if (netblock_cidr_contains(&nb->o.allow[i], c) ||
		    netblock_cidr_contains(c, &nb->o.allow[i]))
			return true;
	return false;
}

/* ---- links ---- */

static void link_path(const struct netblock *nb, struct link *l, const char *name)
{
	l->path[0] = 0;
	if (nb->o.pin_dir && nb->o.pin_dir[0])
		snprintf(l->path, sizeof(l->path), "%s/%s", nb->o.pin_dir, name);
}

/*
 * Makes link l of prog_fd on target (an ifindex or a cgroup fd), or adopts the pinned
 * one (its program replaced). 0 or -errno.
 */
static int link_up(struct link *l, int prog_fd, int target, enum bpf_attach_type type)
{
	LIBBPF_OPTS(bpf_link_create_opts, generic, .flags = XDP_FLAGS_SKB_MODE);
	int fd;

	if (l->fd >= 0)
		return 0;
	if (l->path[0]) {
		fd = bpf_obj_get(l->path);
		if (fd >= 0) {
			if (!bpf_link_update(fd, prog_fd, NULL)) {
				l->fd = fd;
				return 0;
			}
			/* a link we cannot update is left to go: make a new one */
			close(fd);
			unlink(l->path);
		}
	}
	fd = bpf_link_create(prog_fd, target, type, NULL);
	/* a driver without XDP of its own (or refusing it as set up): the generic hook */
	if (fd < 0 && type == BPF_XDP && (errno == EOPNOTSUPP || errno == EINVAL))
		fd = bpf_link_create(prog_fd, target, type, &generic);
	if (fd < 0)
		return -errno;
	if (l->path[0] && bpf_obj_pin(fd, l->path)) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	l->fd = fd;
	return 0;
}

static void link_down(struct link *l)
{
	if (l->path[0])
		unlink(l->path);
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

/* Every interface that is up, loopback aside. */
static size_t default_ifaces(struct netblock *nb)
{
	struct if_nameindex *v = if_nameindex(), *p;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	size_t n = 0;

	for (p = v; p && p->if_index && n < MAX_IFACES; p++) {
		struct ifreq r = {0};

		snprintf(r.ifr_name, sizeof(r.ifr_name), "%s", p->if_name);
		if (s < 0 || ioctl(s, SIOCGIFFLAGS, &r) || !(r.ifr_flags & IFF_UP) ||
		    (r.ifr_flags & IFF_LOOPBACK))
			continue;
		snprintf(nb->xdp[n].name, sizeof(nb->xdp[n].name), "%s", p->if_name);
		n++;
	}
	if (s >= 0)
		close(s);
	if (v)
		if_freenameindex(v);
	return n;
}

static void down_all(struct netblock *nb)
{
	for (size_t i = 0; i < nb->n_xdp; i++)
		link_down(&nb->xdp[i]);
	link_down(&nb->in);
	link_down(&nb->eg);
	nb->active = false;
}

/* Attaches (or adopts) every link; all or none. 0 or -errno with err. */
static int up_all(struct netblock *nb, char *err, size_t errlen)
{
	int cg, ret = 0;

	if (nb->active)
		return 0;
	cg = open(nb->o.cgroup_root ? nb->o.cgroup_root : "", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open the cgroup v2 root %s: %s",
			 nb->o.cgroup_root ? nb->o.cgroup_root : "(none)", strerror(-ret));
		return ret;
	}
	ret = link_up(&nb->in, nb->o.ingress_fd, cg, BPF_CGROUP_INET_INGRESS);
	if (!ret)
		ret = link_up(&nb->eg, nb->o.egress_fd, cg, BPF_CGROUP_INET_EGRESS);
	close(cg);
	if (ret) {
		snprintf(err, errlen, "cannot attach the block programs to the cgroup v2 root: %s",
			 strerror(-ret));
		down_all(nb);
		return ret;
	}
	for (size_t i = 0; i < nb->n_xdp && nb->o.xdp_fd >= 0; i++) {
		unsigned idx = if_nametoindex(nb->xdp[i].name);

		ret = idx ? link_up(&nb->xdp[i], nb->o.xdp_fd, (int)idx, BPF_XDP) : -ENODEV;
		if (ret) {
			snprintf(err, errlen, "cannot attach the block program to %s (XDP): %s",
				 nb->xdp[i].name, strerror(-ret));
			down_all(nb);
			return ret;
		}
	}
	nb->active = true;
	return 0;
}

static size_t map_count(int fd, size_t key_size)
{
	uint8_t k[64], next[64];
	void *prev = NULL;
	size_t n = 0;

	if (fd < 0 || key_size > sizeof(k))
		return 0;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(k, next, key_size);
		prev = k;
		n++;
	}
	return n;
}

static bool quarantine_get(const struct netblock *nb, struct vg_quarantine *q)
{
	uint32_t zero = 0;

	return nb->o.quarantine_fd >= 0 && !bpf_map_lookup_elem(nb->o.quarantine_fd, &zero, q) &&
	       q->until_ns > now_ns(CLOCK_BOOTTIME);
}

/* Blocks, isolated cgroups, a quarantine: the attachments stay while there is one. */
static size_t count(const struct netblock *nb)
{
	struct vg_quarantine q;

	return map_count(nb->o.map_fd, sizeof(struct vg_block_key)) +
	       map_count(nb->o.isolated_fd, sizeof(uint64_t)) + quarantine_get(nb, &q) + nb->held;
}

struct netblock *netblock__new(const struct netblock_opts *o, char *err, size_t errlen)
{
	struct netblock *nb = calloc(1, sizeof(*nb));
	char name[64];

	if (!nb) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	nb->o = *o;
	nb->in.fd = nb->eg.fd = -1;
	for (size_t i = 0; i < MAX_IFACES; i++)
		nb->xdp[i].fd = -1;
	if (o->ifaces) {
		for (size_t i = 0; i < o->n_ifaces && i < MAX_IFACES; i++)
			snprintf(nb->xdp[nb->n_xdp++].name, IFNAMSIZ, "%s", o->ifaces[i]);
	} else {
		nb->n_xdp = default_ifaces(nb);
	}
	for (size_t i = 0; i < o->n_extra_ifaces && nb->n_xdp < MAX_IFACES; i++) {
		size_t j;

		for (j = 0; j < nb->n_xdp && strcmp(nb->xdp[j].name, o->extra_ifaces[i]); j++)
			;
		if (j == nb->n_xdp)
			snprintf(nb->xdp[nb->n_xdp++].name, IFNAMSIZ, "%s", o->extra_ifaces[i]);
	}
	for (size_t i = 0; i < nb->n_xdp; i++) {
		snprintf(name, sizeof(name), "link_xdp_%s", nb->xdp[i].name);
		link_path(nb, &nb->xdp[i], name);
	}
	link_path(nb, &nb->in, "link_block_ingress");
	link_path(nb, &nb->eg, "link_block_egress");
	/* blocks a previous agent left (the trie is pinned): keep them dropping */
	if (count(nb) && up_all(nb, err, errlen)) {
		free(nb);
		return NULL;
	}
	if (!nb->active)
		down_all(nb); /* stale pins of a previous agent, with no block left */
	return nb;
}

void netblock__free(struct netblock *nb)
{
	if (!nb)
		return;
	for (size_t i = 0; i < nb->n_xdp; i++)
		if (nb->xdp[i].fd >= 0)
			close(nb->xdp[i].fd);
	if (nb->in.fd >= 0)
		close(nb->in.fd);
	if (nb->eg.fd >= 0)
		close(nb->eg.fd);
	free(nb);
}

int netblock__add(struct netblock *nb, const struct netblock_cidr *c, uint64_t for_ns,
		  uint32_t rule, const char *reason, char *err, size_t errlen)
{
	struct vg_block_key k = {.prefixlen = c->bits};
	struct vg_block_val v = {0}, old;
	int ret;

	if (cidr_allowed(nb, c)) {
		char b[64];

		snprintf(err, errlen, "%s is loopback or on the allowlist (actions.allow_cidr)",
			 netblock_cidr_str(c, b, sizeof(b)));
		return -EPERM;
	}
	memcpy(k.addr, c->addr, sizeof(k.addr));
	v.until_ns = for_ns ? now_ns(CLOCK_BOOTTIME) + for_ns : 0;
	v.added_ns = now_ns(CLOCK_REALTIME);
	v.rule = rule;
	snprintf(v.reason, sizeof(v.reason), "%s", reason ? reason : "");
	if (!bpf_map_lookup_elem(nb->o.map_fd, &k, &old)) {
		/* extended, never shortened; the first reason and count stay */
		if (!old.until_ns || (v.until_ns && v.until_ns < old.until_ns))
			v.until_ns = old.until_ns;
		v.added_ns = old.added_ns;
		v.dropped = old.dropped;
		v.rule = old.rule;
		memcpy(v.reason, old.reason, sizeof(v.reason));
	}
	/* the programs first: an entry without them would be a block that drops nothing */
	ret = up_all(nb, err, errlen);
	if (ret)
		return ret;
	if (bpf_map_update_elem(nb->o.map_fd, &k, &v, BPF_ANY)) {
		ret = -errno;
		snprintf(err, errlen, "cannot write the block: %s", strerror(-ret));
		if (!count(nb))
			down_all(nb);
		return ret;
	}
	return 0;
}

int netblock__del(struct netblock *nb, const struct netblock_cidr *c)
{
	struct vg_block_key k = {.prefixlen = c->bits};

	memcpy(k.addr, c->addr, sizeof(k.addr));
	if (bpf_map_delete_elem(nb->o.map_fd, &k))
		return -errno;
	if (!count(nb))
		down_all(nb);
	return 0;
}

size_t netblock__list(struct netblock *nb, struct netblock_entry *out, size_t cap)
{
	struct vg_block_key k, next;
	void *prev = NULL;
	size_t n = 0;

	while (!bpf_map_get_next_key(nb->o.map_fd, prev, &next)) {
		k = next;
		prev = &k;
		if (n < cap) {
			memcpy(out[n].cidr.addr, k.addr, sizeof(k.addr));
			out[n].cidr.bits = (uint8_t)k.prefixlen;
			if (bpf_map_lookup_elem(nb->o.map_fd, &k, &out[n].val))
				continue;
		}
		n++;
	}
	return n;
}

size_t netblock__expire(struct netblock *nb)
{
	struct vg_block_key k, next;
	struct vg_block_val v;
	uint64_t now = now_ns(CLOCK_BOOTTIME);
	void *prev = NULL;
	size_t n = 0;

	while (!bpf_map_get_next_key(nb->o.map_fd, prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(nb->o.map_fd, &k, &v) || !v.until_ns || v.until_ns > now)
			continue;
		if (!bpf_map_delete_elem(nb->o.map_fd, &k)) {
			n++;
			prev = NULL; /* the walk starts over after a delete */
		}
	}
	if (nb->o.quarantine_fd >= 0) {
		struct vg_quarantine q = {0};
		uint32_t zero = 0;

		/* the kernel stopped dropping at until_ns: forget it */
		if (!bpf_map_lookup_elem(nb->o.quarantine_fd, &zero, &q) && q.until_ns &&
		    q.until_ns <= now) {
			memset(&q, 0, sizeof(q));
			bpf_map_update_elem(nb->o.quarantine_fd, &zero, &q, BPF_ANY);
			n++;
		}
	}
	if (nb->active && !count(nb))
		down_all(nb);
	return n;
}

int netblock__release_all(struct netblock *nb)
{
	struct vg_block_key k;
	uint64_t cg;
	int ret = 0;

	while (!bpf_map_get_next_key(nb->o.map_fd, NULL, &k))
		if (bpf_map_delete_elem(nb->o.map_fd, &k)) {
			ret = -errno;
			break;
		}
	while (nb->o.isolated_fd >= 0 && !bpf_map_get_next_key(nb->o.isolated_fd, NULL, &cg))
		if (bpf_map_delete_elem(nb->o.isolated_fd, &cg)) {
			ret = -errno;
			break;
		}
	netblock__lift(nb);
	if (!nb->held)
		down_all(nb);
	return ret;
}

/* ---- quarantine ---- */

int netblock__quarantine(struct netblock *nb, uint64_t for_ns, const char *reason, char *err,
			 size_t errlen)
{
	const char *scope = nb->o.quarantine_cgroup;
	struct vg_quarantine q = {0}, old;
	uint32_t zero = 0;
	int ret;

	if (nb->o.quarantine_fd < 0) {
		snprintf(err, errlen, "quarantine is not available (its map did not load)");
		return -EOPNOTSUPP;
	}
	if (!for_ns) {
		snprintf(err, errlen, "a quarantine needs a duration (actions.quarantine_max)");
		return -EINVAL;
	}
	if (scope && scope[0] && strcmp(scope, "/")) {
		char full[4096];
		struct stat st;

		snprintf(full, sizeof(full), "%s%s", nb->o.cgroup_root ? nb->o.cgroup_root : "",
			 scope);
		if (stat(full, &st)) {
			snprintf(err, errlen,
				 "actions.quarantine_cgroup %s: no such cgroup under %s", scope,
				 nb->o.cgroup_root ? nb->o.cgroup_root : "(none)");
			return -ENOENT;
		}
		q.scope_cg = (uint64_t)st.st_ino;
		for (const char *c = scope; *c; c++)
			q.scope_lvl += *c == '/' && c[1] && c[1] != '/';
	}
	q.until_ns = now_ns(CLOCK_BOOTTIME) + for_ns;
	q.added_ns = now_ns(CLOCK_REALTIME);
	snprintf(q.reason, sizeof(q.reason), "%s", reason ? reason : "");
	if (quarantine_get(nb, &old)) {
		if (old.until_ns > q.until_ns)
			q.until_ns = old.until_ns;
		q.added_ns = old.added_ns;
		q.dropped = old.dropped;
		memcpy(q.reason, old.reason, sizeof(q.reason));
	}
	ret = up_all(nb, err, errlen);
	if (ret)
		return ret;
	if (bpf_map_update_elem(nb->o.quarantine_fd, &zero, &q, BPF_ANY)) {
		ret = -errno;
		snprintf(err, errlen, "cannot write the quarantine: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

int netblock__lift(struct netblock *nb)
{
	struct vg_quarantine q, none = {0};
	uint32_t zero = 0;
	bool was = quarantine_get(nb, &q);

	if (nb->o.quarantine_fd >= 0)
		bpf_map_update_elem(nb->o.quarantine_fd, &zero, &none, BPF_ANY);
	if (nb->active && !count(nb))
		down_all(nb);
	return was ? 0 : -ENOENT;
}

bool netblock__quarantined(struct netblock *nb, struct vg_quarantine *out)
{
	return quarantine_get(nb, out);
}

/* ---- isolation ---- */

struct iso_walk {
	int fd;
	const char *id;		   /* short id */
	struct vg_isolate_val val; /* what each cgroup gets */
	size_t n;		   /* cgroups cut off */
	int ret;
};

/* A cgroup of the container (its own, or below one) enters net_isolated. */
static uint64_t iso_visit(void *arg, const char *path, uint64_t id, uint64_t parent)
{
	struct iso_walk *w = arg;
	struct container_ident ci;

	if (!parent &&
	    (!container_parse_cgroup(path, strlen(path), &ci) || strcmp(ci.short_id, w->id)))
		return 0;
	if (bpf_map_update_elem(w->fd, &id, &w->val, BPF_ANY))
		w->ret = -errno;
	else
		w->n++;
	return 1;
}

int netblock__isolate(struct netblock *nb, const char *id, const char *reason, char *err,
		      size_t errlen)
{
	const char *cg2 = nb->o.cgroup_root;
	struct iso_walk w = {.fd = nb->o.isolated_fd};
	char sid[CONTAINER_SHORT_ID_LEN + 1];
	int ret;

	if (nb->o.isolated_fd < 0) {
		snprintf(err, errlen, "isolation is not available (its map did not load)");
		return -EOPNOTSUPP;
	}
	snprintf(sid, sizeof(sid), "%s", id);
	w.id = sid;
	snprintf(w.val.id, sizeof(w.val.id), "%s", sid);
	snprintf(w.val.reason, sizeof(w.val.reason), "%s", reason ? reason : "");
	w.val.added_ns = now_ns(CLOCK_REALTIME);
	/* the programs first: an entry without them would cut nothing */
	ret = up_all(nb, err, errlen);
	if (ret)
		return ret;
	ret = cgroup_walk(cg2, iso_visit, &w);
	if (!ret)
		ret = w.ret;
	if (ret || !w.n) {
		if (!ret)
			snprintf(err, errlen, "no cgroup of container %s under %s (is it running?)",
				 sid, cg2);
		else
			snprintf(err, errlen, "cannot isolate container %s: %s", sid,
				 strerror(-ret));
		netblock__release(nb, sid);
		return ret ? ret : -ENOENT;
	}
	return 0;
}

int netblock__release(struct netblock *nb, const char *id)
{
	struct vg_isolate_val v;
	uint64_t k, next;
	void *prev = NULL;
	int found = 0;

	while (nb->o.isolated_fd >= 0 && !bpf_map_get_next_key(nb->o.isolated_fd, prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(nb->o.isolated_fd, &k, &v) || strncmp(v.id, id, 12))
			continue;
		if (!bpf_map_delete_elem(nb->o.isolated_fd, &k)) {
			found = 1;
			prev = NULL;
		}
	}
	if (nb->active && !count(nb))
		down_all(nb);
	return found ? 0 : -ENOENT;
}

size_t netblock__isolated(struct netblock *nb, struct netblock_isolated *out, size_t cap)
{
	struct vg_isolate_val v;
	uint64_t k, next;
	void *prev = NULL;
	size_t n = 0, i;

	while (nb->o.isolated_fd >= 0 && !bpf_map_get_next_key(nb->o.isolated_fd, prev, &next)) {
		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(nb->o.isolated_fd, &k, &v))
			continue;
		for (i = 0; i < n && i < cap && strcmp(out[i].id, v.id); i++)
			;
		if (i < n) {
			if (i < cap) {
				out[i].cgroups++;
				out[i].val.dropped += v.dropped;
			}
			continue;
		}
		if (n < cap) {
			snprintf(out[n].id, sizeof(out[n].id), "%s", v.id);
			out[n].val = v;
			out[n].cgroups = 1;
		}
		n++;
	}
	return n;
}

/* "CIDR" or "CIDR:PORT[,PORT...]", IPv6 with ports in brackets, into the allow trie. */
static int allow_entry(int fd, const char *e)
{
	struct vg_isolate_allow a = {0};
	struct vg_block_key k;
	struct netblock_cidr c;
	char buf[128], *ports = NULL, *addr = buf, *p;

	if (strlen(e) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, e);
	if (buf[0] == '[') {
		addr = buf + 1;
		p = strchr(addr, ']');
		if (!p || (p[1] && p[1] != ':'))
			return -EINVAL;
		*p = 0;
		ports = p[1] ? p + 2 : NULL;
	} else if ((p = strchr(buf, ':')) && !strchr(p + 1, ':')) {
		*p = 0;
		ports = p + 1;
	}
	if (netblock_cidr_parse(addr, &c))
		return -EINVAL;
	for (char *save = NULL, *w = ports ? strtok_r(ports, ",", &save) : NULL; w;
	     w = strtok_r(NULL, ",", &save)) {
		char *end;
		long v = strtol(w, &end, 10);

		if (*end || v < 1 || v > 65535 || a.n == VG_ISOLATE_PORTS)
			return -EINVAL;
		a.port[a.n++] = (uint16_t)v;
	}
	if (ports && !a.n)
		return -EINVAL;
	k.prefixlen = c.bits;
	memcpy(k.addr, c.addr, sizeof(k.addr));
	return bpf_map_update_elem(fd, &k, &a, BPF_ANY) ? -errno : 0;
}

static int allow_write(int fd, const char *key, const char *const *entries, size_t n, char *err,
		       size_t errlen)
{
	for (size_t i = 0; i < n; i++)
		if (allow_entry(fd, entries[i])) {
			snprintf(err, errlen,
				 "actions.%s: '%s' is not CIDR or CIDR:PORT[,PORT...] (IPv6 as "
				 "[ADDR]:PORT; at most %d ports)",
				 key, entries[i], VG_ISOLATE_PORTS);
			return -EINVAL;
		}
	return 0;
}

int netblock__isolate_allow(struct netblock *nb, const char *const *entries, size_t n, char *err,
			    size_t errlen)
{
	return allow_write(nb->o.isolate_allow_fd, "isolate_allow", entries, n, err, errlen);
}

int netblock__quarantine_allow(struct netblock *nb, const char *const *entries, size_t n, char *err,
			       size_t errlen)
{
	return allow_write(nb->o.quarantine_allow_fd, "quarantine_allow", entries, n, err, errlen);
}

int netblock__hold(struct netblock *nb, bool on, char *err, size_t errlen)
{
	int ret = 0;

	nb->held = on;
	if (on) {
		ret = up_all(nb, err, errlen);
		if (ret)
			nb->held = false;
	} else if (nb->active && !count(nb)) {
		down_all(nb);
	}
	return ret;
}

size_t netblock__ifaces(const struct netblock *nb, const char **out, size_t cap)
{
	for (size_t i = 0; i < nb->n_xdp && i < cap; i++)
		out[i] = nb->xdp[i].name;
	return nb->n_xdp;
}

bool netblock__active(const struct netblock *nb, char *where, size_t len)
{
	if (where && len)
		snprintf(where, len, "%s", "");
	if (!nb || !nb->active)
		return false;
	if (where)
		snprintf(where, len, "xdp on %zu interface%s, cgroup ingress and egress", nb->n_xdp,
			 nb->n_xdp == 1 ? "" : "s");
	return true;
}
