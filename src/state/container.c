/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * container.c - container identity from a cgroup path. Every runtime puts a
 * container's processes in a cgroup whose name carries the 64-hex container id,
 * with a runtime-specific prefix (libpod-, docker-, cri-containerd-, crio-) or
 * under a telling parent (/docker/<id>, /kubepods/.../pod<uid>/<id>). Processes
 * may sit in sub-cgroups below it (podman's ".../container", a containerised
 * systemd), so the path is read from the leaf upwards and the nearest id wins.
 * The runtimes' conmon monitors carry the id too but run on the host.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state/container.h"

#define POD_UID_LEN	 36	  /* 8-4-4-4-12 */
#define POD_UID_HASH_LEN 32	  /* static pods: an md5 in hex, no dashes */
#define SCOPE_SUFFIX	 ".scope" /* systemd unit of a container */

struct cg_prefix {
	const char *name;		/* before the id, separator excluded */
	enum container_runtime runtime; /* CONTAINER_HOST for a conmon monitor */
};

static const struct cg_prefix cg_prefixes[] = {
    {"libpod-conmon", CONTAINER_HOST},
    {"crio-conmon", CONTAINER_HOST},
    {"libpod", CONTAINER_PODMAN},
    {"docker", CONTAINER_DOCKER},
    {"cri-containerd", CONTAINER_CONTAINERD},
    {"crio", CONTAINER_CRIO},
    {"cri-o", CONTAINER_CRIO},
};

enum cg_match {
	CG_NONE,   /* no container id in this component */
	CG_FOUND,  /* a container: *rt and the id are set */
	CG_MONITOR /* a runtime's monitor (conmon): the host, stop looking */
};

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_hex(s[i]))
			return false;
	return true;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool has_prefix(const char *s, size_t n, const char *prefix)
{
	size_t pn = strlen(prefix);

	return n >= pn && memcmp(s, prefix, pn) == 0;
}

static bool has_suffix(const char *s, size_t n, const char *suffix)
{
	size_t sn = strlen(suffix);

	return n >= sn && memcmp(s + n - sn, suffix, sn) == 0;
}

static bool equals(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(s, word, n) == 0;
}

static void set_host(struct container_ident *out)
{
	memset(out, 0, sizeof(*out));
	out->runtime = CONTAINER_HOST;
	strcpy(out->short_id, "host");
}

/*
 * Steps to the component before *end (exclusive) of path; false when none is left.
 * Trailing slashes and a newline are skipped.
 */
static bool prev_component(const char *path, size_t *end, const char **comp, size_t *n)
{
	size_t e = *end, b;

	while (e > 0 && (path[e - 1] == '/' || path[e - 1] == '\n'))
		e--;
	if (e == 0)
		return false;
	b = e;
	while (b > 0 && path[b - 1] != '/')
		b--;
	*comp = path + b;
	*n = e - b;
	*end = b;
	return true;
}

/*
 * Reads a pod uid at s: 36 chars 8-4-4-4-12 with '-' or '_' (the systemd driver
 * escapes dashes), or a 32-hex static pod hash. Writes it with dashes into uid.
 */
static bool parse_pod_uid(const char *s, size_t n, char uid[POD_UID_LEN + 1])
{
	size_t len = 0, i;

	while (len < n && (is_hex(s[len]) || s[len] == '-' || s[len] == '_'))
		len++;
	if (len == POD_UID_HASH_LEN && all_hex(s, len))
		goto ok;
	if (len != POD_UID_LEN)
		return false;
	for (i = 0; i < len; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash != (s[i] == '-' || s[i] == '_'))
			return false;
	}
ok:
	for (i = 0; i < len; i++)
		uid[i] = s[i] == '_' ? '-' : lower(s[i]);
	uid[len] = '\0';
	return true;
}

/* A pod uid in one component: "pod<uid>" or "kubepods-<qos>-pod<uid>.slice". */
static bool component_pod_uid(const char *c, size_t n, char uid[POD_UID_LEN + 1])
{
	for (size_t i = 0; i + 3 <= n; i++) {
		if ((i == 0 || c[i - 1] == '-') && memcmp(c + i, "pod", 3) == 0 &&
		    parse_pod_uid(c + i + 3, n - i - 3, uid))
			return true;
	}
	return false;
}

/* Whether a component belongs to Kubernetes' cgroup tree. */
static bool is_kube_component(const char *c, size_t n)
{
	char uid[POD_UID_LEN + 1];

	return has_prefix(c, n, "kubepods") || component_pod_uid(c, n, uid);
}

/*
 * Looks for "[prefix-]<64hex>[.scope]" or containerd's systemd form
 * "<slice>:<prefix>:<64hex>" in component c, whose parent component is p.
 */
static enum cg_match match_component(const char *c, size_t n, const char *p, size_t pn,
				     enum container_runtime *rt, const char **id)
{
	const char *pre, *colon;
	size_t pre_n;

	if (has_suffix(c, n, SCOPE_SUFFIX))
		n -= strlen(SCOPE_SUFFIX);
	if (n < CONTAINER_ID_LEN || !all_hex(c + n - CONTAINER_ID_LEN, CONTAINER_ID_LEN))
		return CG_NONE;
	*id = c + n - CONTAINER_ID_LEN;
	pre = c;
	pre_n = n - CONTAINER_ID_LEN;
	if (pre_n > 0) {
		/* the id must be a whole token: "<prefix>-<id>" or "...:<prefix>:<id>" */
		if (pre[pre_n - 1] != '-' && pre[pre_n - 1] != ':')
			return CG_NONE;
		pre_n--;
		colon = memrchr(pre, ':', pre_n);
		if (colon) {
			pre_n -= (size_t)(colon + 1 - pre);
			pre = colon + 1;
		}
	}
	for (size_t i = 0; pre_n > 0 && i < sizeof(cg_prefixes) / sizeof(cg_prefixes[0]); i++) {
		if (!equals(pre, pre_n, cg_prefixes[i].name))
			continue;
		*rt = cg_prefixes[i].runtime;
		return *rt == CONTAINER_HOST ? CG_MONITOR : CG_FOUND;
	}
	/* No runtime named: only a telling parent makes a bare id a container. */
	if (pre_n == 0 && equals(p, pn, "docker")) {
		*rt = CONTAINER_DOCKER;
		return CG_FOUND;
	}
	if (is_kube_component(p, pn) || is_kube_component(c, n)) {
		*rt = CONTAINER_KUBEPODS;
		return CG_FOUND;
	}
	return CG_NONE;
}

bool container_parse_cgroup(const char *path, size_t len, struct container_ident *out)
{
	const char *c, *p = "", *id = NULL;
	size_t n, pn = 0, end = len, pend;
	enum container_runtime rt = CONTAINER_HOST;
	enum cg_match m = CG_NONE;
	char uid[POD_UID_LEN + 1];

	set_host(out);
	if (!path)
		return false;
	while (m == CG_NONE && prev_component(path, &end, &c, &n)) {
		pend = end;
		if (!prev_component(path, &pend, &p, &pn)) {
			p = "";
			pn = 0;
		}
		m = match_component(c, n, p, pn, &rt, &id);
	}
	if (m != CG_FOUND)
		return false;

	out->runtime = rt;
	for (size_t i = 0; i < CONTAINER_ID_LEN; i++)
		out->id[i] = lower(id[i]);
	out->id[CONTAINER_ID_LEN] = '\0';
	memcpy(out->short_id, out->id, CONTAINER_SHORT_ID_LEN);
	out->short_id[CONTAINER_SHORT_ID_LEN] = '\0';

	/* The pod is the container's own component or one of its ancestors. */
	end = (size_t)(c - path) + n;
	while (prev_component(path, &end, &c, &n)) {
		if (component_pod_uid(c, n, uid)) {
			strcpy(out->pod_uid, uid);
			break;
		}
	}
	return true;
}

int container_from_proc(const char *procfs, int pid, struct container_ident *out)
{
	char path[256];
	char *line = NULL, *p;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int err = 0;

	set_host(out);
	snprintf(path, sizeof(path), "%s/%d/cgroup", procfs, pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	/* "hierarchy-id:controllers:path"; the path itself may hold ':' */
	while ((n = getline(&line, &cap, f)) > 0) {
		p = memchr(line, ':', (size_t)n);
		if (p)
			p = memchr(p + 1, ':', (size_t)n - (size_t)(p + 1 - line));
		if (!p)
			continue;
		p++;
		if (container_parse_cgroup(p, (size_t)n - (size_t)(p - line), out))
			break;
	}
	if (ferror(f))
		err = -EIO;
	free(line);
	fclose(f);
	return err;
}

const char *container_runtime_name(enum container_runtime rt)
{
	switch (rt) {
	case CONTAINER_HOST:
		return "host";
	case CONTAINER_DOCKER:
		return "docker";
	case CONTAINER_PODMAN:
		return "podman";
	case CONTAINER_CONTAINERD:
		return "containerd";
	case CONTAINER_CRIO:
		return "cri-o";
	case CONTAINER_KUBEPODS:
		return "cri"; /* Falco's name for a CRI runtime it cannot tell apart */
	}
	return "unknown";
}

bool container_id_valid(const char *s, size_t n, size_t min, size_t max)
{
	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}
