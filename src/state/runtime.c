/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * runtime.c - the container metadata worker (see runtime.h): finds a container's
 * OCI runtime spec through the runtimes' state directories, reads it, and asks a
 * Docker-compatible API for what the spec does not say. It runs on its own thread;
 * the event loop never waits for it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "state/runtime.h"
#include "util/json.h"

#define SPEC_MAX   (4u << 20) /* largest state.json / config.json read */
#define ANSWER_MAX (4u << 20) /* largest API answer read */
#define STR_MAX	   4096	      /* longest metadata string kept */

/* runc's root for each runtime that drives it, and crun's */
static const char *const default_state_dirs[] = {
    "/run/runc",		/* podman, runc by hand */
    "/run/containerd/runc",	/* containerd: <namespace>/<id> */
    "/run/docker/runtime-runc", /* docker: moby/<id> */
    "/run/crun",		/* podman, CRI-O with crun */
};

static const char *const default_api_sockets[] = {
    "/run/podman/podman.sock",
    "/run/docker.sock",
};

struct runtime {
	struct containers *ct;	/* whose jobs */
	struct runtime_opts o;	/* lists resolved to the defaults where NULL */
	int efd;		/* the table's eventfd: jobs waiting */
	int stop_efd;		/* written once to stop the worker */
	pthread_t thread;	/* the worker */
	_Atomic uint64_t st[6]; /* struct runtime_stats, in its order */
};

enum { ST_JOBS, ST_SPEC_READ, ST_SPEC_MISSING, ST_API_OK, ST_API_FAILED, ST_API_NOT_FOUND };

static void count(struct runtime *rt, int which)
{
	atomic_fetch_add_explicit(&rt->st[which], 1, memory_order_relaxed);
}

/* ---- small helpers ---- */

static char *dup_bounded(const char *s)
{
	return s ? strndup(s, STR_MAX) : NULL;
}

/* Replaces *dst with a copy of s when s is a non-empty string. */
static void set_str(char **dst, const char *s)
{
	char *c;

	if (!s || !*s || !(c = dup_bounded(s)))
		return;
	free(*dst);
	*dst = c;
}

/* The whole file at path, NUL-terminated, up to max bytes; NULL with errno. */
static char *read_text(const char *path, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	size_t len = 0, cap = 16384;
	char *buf = NULL, *nb;
	ssize_t n;

	if (fd < 0)
		return NULL;
	for (;;) {
		if (len + 1 >= cap || !buf) {
			if (buf)
				cap *= 2;
			if (cap > max + 1)
				cap = max + 1;
			if (len + 1 >= cap) {
				errno = EFBIG;
				goto err;
			}
			nb = realloc(buf, cap);
			if (!nb)
				goto err;
			buf = nb;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto err;
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	close(fd);
	return buf;
err:
	free(buf);
	close(fd);
	return NULL;
}

uint64_t runtime_parse_time(const char *s)
{
	struct tm tm = {0};
	const char *p;
	uint64_t frac = 0, scale = 1000000000ull;
	long off = 0;
	time_t t;

	if (!s || !(p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)))
		return 0;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(*p - '0') * scale;
			}
		}
	}
	if ((*p == '+' || *p == '-') && strlen(p) >= 6 && p[3] == ':') {
		off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 +
		      ((p[4] - '0') * 10 + (p[5] - '0')) * 60;
		if (*p == '-')
			off = -off;
	} else if (*p != 'Z') {
		return 0;
	}
	t = timegm(&tm);
	if (t <= 0)
		return 0; /* "0001-01-01T00:00:00Z": the zero time, never started */
	return (uint64_t)(t - off) * 1000000000ull + frac;
}

void runtime_image_split(const char *image, size_t *repo_len, const char **tag, size_t *tag_len)
{
	const char *at = strchr(image, '@');
	size_t end = at ? (size_t)(at - image) : strlen(image);
	const char *slash = memrchr(image, '/', end);
	const char *colon = memrchr(image, ':', end);

	*tag = NULL;
	*tag_len = 0;
	*repo_len = end;
	if (colon && (!slash || colon > slash)) {
		*repo_len = (size_t)(colon - image);
		*tag = colon + 1;
		*tag_len = end - *repo_len - 1;
	}
}

/* The hex of an image id without its "sha256:" prefix. */
static void set_image_id(struct container_meta *m, const char *id)
{
	if (id && !strncmp(id, "sha256:", 7))
		id += 7;
	set_str(&m->image_id, id);
}

static int label_add(struct container_label **l, size_t *n, uint32_t *truncated, const char *key,
		     const char *value)
{
	struct container_label *nl;

	if (!key || !value)
		return 0;
	if (*n >= CONTAINER_META_LABELS) {
		(*truncated)++;
		return 0;
	}
	nl = realloc(*l, (*n + 1) * sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	*l = nl;
	nl[*n].key = dup_bounded(key);
	nl[*n].value = dup_bounded(value);
	if (!nl[*n].key || !nl[*n].value) {
		free(nl[*n].key);
		free(nl[*n].value);
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

/* Every string member of obj as a label (obj may be NULL or not an object). */
static void labels_from(struct container_label **l, size_t *n, uint32_t *truncated,
			const struct json_value *obj)
{
	if (!obj || obj->type != JSON_OBJ)
		return;
	for (size_t i = 0; i < obj->n; i++)
		if (obj->kids[i].type == JSON_STR)
			label_add(l, n, truncated, obj->kids[i].key, obj->kids[i].s);
}

static int mount_add(struct container_meta *m, const char *source, const char *dest,
		     const char *mode, const char *propagation, bool rw)
{
	struct container_mount *nm, *x;

	if (!dest)
		return 0;
	if (m->n_mounts >= CONTAINER_META_MOUNTS) {
		m->truncated++;
		return 0;
	}
	nm = realloc(m->mounts, (m->n_mounts + 1) * sizeof(*nm));
	if (!nm)
		return -ENOMEM;
	m->mounts = nm;
	x = &nm[m->n_mounts];
	x->source = dup_bounded(source ? source : "");
	x->dest = dup_bounded(dest);
	x->mode = dup_bounded(mode ? mode : "");
	x->propagation = dup_bounded(propagation ? propagation : "");
	x->rw = rw;
	if (!x->source || !x->dest || !x->mode || !x->propagation) {
		free(x->source);
		free(x->dest);
		free(x->mode);
		free(x->propagation);
		return -ENOMEM;
	}
	m->n_mounts++;
	return 0;
}

static bool json_true(const struct json_value *v)
{
	return v && v->type == JSON_SCALAR && !strcmp(v->s, "true");
}

/* ---- the OCI runtime spec ---- */

/* The runtime's own files a container gets bound in (hosts, resolv.conf, secrets):
 * not mounts a user asked for, so not what container.mount* shows */
static bool runtime_own_source(const char *src)
{
	static const char *const own[] = {
	    "/var/lib/containers/",
	    "/run/containers/",
	    "/run/containerd/",
	    "/var/lib/containerd/",
	    "/var/lib/docker/containers/",
	    "/run/docker/",
	    "/run/crun/",
	    "/run/runc/",
	    "/run/libpod/",
	};

	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (!strncmp(src, own[i], strlen(own[i])))
			return true;
	return false;
}

static const char *const propagations[] = {"rprivate", "private", "rshared",	 "shared",
					   "rslave",   "slave",	  "runbindable", "unbindable"};

static void spec_mounts(struct container_meta *m, const struct json_value *mounts)
{
	if (!mounts || mounts->type != JSON_ARR)
		return;
	for (size_t i = 0; i < mounts->n; i++) {
		const struct json_value *mt = &mounts->kids[i], *opts = json_member(mt, "options");
		const char *type = json_member_str(mt, "type"),
			   *src = json_member_str(mt, "source");
		const char *prop = NULL;
		bool bind = type && !strcmp(type, "bind"), rw = true;

		for (size_t k = 0; opts && opts->type == JSON_ARR && k < opts->n; k++) {
			const char *o = opts->kids[k].type == JSON_STR ? opts->kids[k].s : "";

			if (!strcmp(o, "bind") || !strcmp(o, "rbind"))
				bind = true;
			else if (!strcmp(o, "ro"))
				rw = false;
			for (size_t p = 0; p < sizeof(propagations) / sizeof(propagations[0]); p++)
				if (!strcmp(o, propagations[p]))
					prop = propagations[p];
		}
		if (!bind || !src || runtime_own_source(src))
			continue;
		mount_add(m, src, json_member_str(mt, "destination"), rw ? "rw" : "ro", prop, rw);
	}
}

/* Whether a spec grants what a privileged container has: CAP_SYS_ADMIN in its
 * bounding set and every device */
static int spec_privileged(const struct json_value *spec)
{
	const struct json_value *caps =
	    json_member(json_member(json_member(spec, "process"), "capabilities"), "bounding");
	const struct json_value *devs =
	    json_member(json_member(json_member(spec, "linux"), "resources"), "devices");
	bool sys_admin = false, all_devices = false;

	for (size_t i = 0; caps && caps->type == JSON_ARR && i < caps->n; i++)
		if (caps->kids[i].type == JSON_STR && !strcmp(caps->kids[i].s, "CAP_SYS_ADMIN"))
			sys_admin = true;
	for (size_t i = 0; devs && devs->type == JSON_ARR && i < devs->n; i++) {
		const struct json_value *d = &devs->kids[i];
		const char *access = json_member_str(d, "access");

		/* later rules win: the last rule for every device decides */
		if (!json_member(d, "type") && !json_member(d, "major") && access &&
		    !strcmp(access, "rwm"))
			all_devices = json_true(json_member(d, "allow"));
	}
	return sys_admin && all_devices;
}

int runtime_parse_spec(const char *json, struct container_meta *m)
{
	struct json_value spec = {0};
	const struct json_value *ann;
	const char *v;
	int ret = json_parse_object(json, &spec);

	if (ret)
		goto out;
	ann = json_member(&spec, "annotations");
	/* containerd's CRI plugin */
	set_str(&m->pod_name, json_member_str(ann, "io.kubernetes.cri.sandbox-name"));
	set_str(&m->pod_ns, json_member_str(ann, "io.kubernetes.cri.sandbox-namespace"));
	set_str(&m->pod_uid, json_member_str(ann, "io.kubernetes.cri.sandbox-uid"));
	set_str(&m->k8s_container, json_member_str(ann, "io.kubernetes.cri.container-name"));
	set_str(&m->image, json_member_str(ann, "io.kubernetes.cri.image-name"));
	/* CRI-O */
	set_str(&m->pod_name, json_member_str(ann, "io.kubernetes.pod.name"));
	set_str(&m->pod_ns, json_member_str(ann, "io.kubernetes.pod.namespace"));
	set_str(&m->pod_uid, json_member_str(ann, "io.kubernetes.pod.uid"));
	set_str(&m->k8s_container, json_member_str(ann, "io.kubernetes.container.name"));
	set_str(&m->image, json_member_str(ann, "io.kubernetes.cri-o.ImageName"));
	set_image_id(m, json_member_str(ann, "io.kubernetes.cri-o.ImageRef"));
	v = json_member_str(ann, "io.kubernetes.cri-o.Labels");
	if (v) {
		struct json_value labels = {0};

		if (!json_parse_object(v, &labels))
			labels_from(&m->pod_labels, &m->n_pod_labels, &m->truncated, &labels);
		json_value_free(&labels);
	}
	/* in Kubernetes the container's name is the one its pod spec gives */
	set_str(&m->name, m->k8s_container);
	m->privileged = spec_privileged(&spec);
	v = json_member_str(ann, "io.podman.annotations.privileged");
	if (v)
		m->privileged = !strcasecmp(v, "true");
	spec_mounts(m, json_member(&spec, "mounts"));
	m->sources |= CONTAINER_META_SPEC;
out:
	json_value_free(&spec);
	return ret;
}

/* The bundle a runtime state file names: runc's config.labels "bundle=DIR", or a
 * top-level "bundle" (crun). Also the creation time. */
static char *state_bundle(const char *json, uint64_t *created_ns)
{
	struct json_value st = {0};
	const struct json_value *labels;
	char *bundle = NULL;

	if (json_parse_object(json, &st))
		goto out;
	*created_ns = runtime_parse_time(json_member_str(&st, "created"));
	bundle = dup_bounded(json_member_str(&st, "bundle"));
	labels = json_member(json_member(&st, "config"), "labels");
	for (size_t i = 0; !bundle && labels && labels->type == JSON_ARR && i < labels->n; i++) {
		const struct json_value *l = &labels->kids[i];

		if (l->type == JSON_STR && !strncmp(l->s, "bundle=", 7))
			bundle = dup_bounded(l->s + 7);
	}
out:
	json_value_free(&st);
	return bundle;
}

/* The state file of container id below one state root: ROOT/ID/state.json (runc),
 * ROOT/ID/status (crun), or one namespace level down (containerd, docker). */
static char *state_find(const char *root, const char *id, char *path, size_t cap)
{
	static const char *const names[] = {"state.json", "status"};
	struct dirent *de;
	DIR *d;

	for (size_t i = 0; i < 2; i++) {
		if ((size_t)snprintf(path, cap, "%s/%s/%s", root, id, names[i]) < cap &&
		    !access(path, R_OK))
			return path;
	}
	d = opendir(root);
	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, id))
			continue;
		if ((size_t)snprintf(path, cap, "%s/%s/%s/state.json", root, de->d_name, id) <
			cap &&
		    !access(path, R_OK)) {
			closedir(d);
			return path;
		}
	}
	closedir(d);
	return NULL;
}

static int spec_lookup(struct runtime *rt, const char *id, struct container_meta *m)
{
	char path[4096], root[4096];
	uint64_t created = 0;
	char *text, *bundle = NULL;
	int ret = -ENOENT;

	for (size_t i = 0; i < rt->o.n_state_dirs && !bundle; i++) {
		if ((size_t)snprintf(root, sizeof(root), "%s%s", rt->o.host_root,
				     rt->o.state_dirs[i]) >= sizeof(root) ||
		    !state_find(root, id, path, sizeof(path)))
			continue;
		text = read_text(path, SPEC_MAX);
		if (text)
			bundle = state_bundle(text, &created);
		free(text);
	}
	if (!bundle)
		return -ENOENT;
	text = (size_t)snprintf(path, sizeof(path), "%s%s/config.json", rt->o.host_root, bundle) <
		       sizeof(path)
		   ? read_text(path, SPEC_MAX)
		   : NULL;
	if (text)
		ret = runtime_parse_spec(text, m);
	if (!ret && created)
		m->start_ns = created;
	free(text);
	free(bundle);
	return ret;
}

/* ---- the Docker-compatible API ---- */

int runtime_parse_inspect(const char *json, struct container_meta *m)
{
	struct json_value c = {0};
	const struct json_value *cfg, *host, *mounts, *labels;
	const char *name, *v;
	int ret = json_parse_object(json, &c);

	if (ret)
		goto out;
	cfg = json_member(&c, "Config");
	host = json_member(&c, "HostConfig");
	name = json_member_str(&c, "Name");
	if (name && *name == '/')
		name++; /* docker's names are paths below the daemon's root */
	set_str(&m->name, name);
	set_str(&m->image, json_member_str(cfg, "Image"));
	set_image_id(m, json_member_str(&c, "Image"));
	if (json_member(host, "Privileged"))
		m->privileged = json_true(json_member(host, "Privileged"));
	v = json_member_str(json_member(&c, "State"), "StartedAt");
	if (runtime_parse_time(v))
		m->start_ns = runtime_parse_time(v);
	labels = json_member(cfg, "Labels");
	labels_from(&m->labels, &m->n_labels, &m->truncated, labels);
	/* dockershim's labels name the pod; then the other labels are the pod's */
	set_str(&m->pod_name,
		container_label_get(m->labels, m->n_labels, "io.kubernetes.pod.name"));
	set_str(&m->pod_ns,
		container_label_get(m->labels, m->n_labels, "io.kubernetes.pod.namespace"));
	set_str(&m->pod_uid, container_label_get(m->labels, m->n_labels, "io.kubernetes.pod.uid"));
	set_str(&m->k8s_container,
		container_label_get(m->labels, m->n_labels, "io.kubernetes.container.name"));
	for (size_t i = 0; m->pod_name && !m->n_pod_labels && labels && i < labels->n; i++) {
		const struct json_value *l = &labels->kids[i];

		if (l->type == JSON_STR && strncmp(l->key, "io.kubernetes.", 14))
			label_add(&m->pod_labels, &m->n_pod_labels, &m->truncated, l->key, l->s);
	}
	/* the API lists the mounts a user asked for: they replace the spec's guess */
	mounts = json_member(&c, "Mounts");
	if (mounts && mounts->type == JSON_ARR) {
		struct container_meta keep = {.mounts = m->mounts, .n_mounts = m->n_mounts};

		m->mounts = NULL;
		m->n_mounts = 0;
		for (size_t i = 0; i < mounts->n; i++) {
			const struct json_value *mt = &mounts->kids[i];

			mount_add(m, json_member_str(mt, "Source"),
				  json_member_str(mt, "Destination"), json_member_str(mt, "Mode"),
				  json_member_str(mt, "Propagation"),
				  json_true(json_member(mt, "RW")));
		}
		container_meta_clear(&keep);
	}
	m->sources |= CONTAINER_META_API;
out:
	json_value_free(&c);
	return ret;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or the deadline passes. 0 or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	int64_t left;
	int n;

	do {
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)left);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

/*
 * GET path over the unix socket sock, HTTP/1.0 so that the answer ends with the
 * connection. Returns the HTTP status and the body in *body (NUL-terminated), or
 * -errno (the socket is missing, refuses, or misses the deadline).
 */
static int http_get(const char *sock, const char *path, int timeout_ms, char **body)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int64_t deadline = now_ms() + timeout_ms;
	size_t len = 0, cap = 65536, sent = 0, reqlen;
	char req[512], *buf = NULL, *nb, *p;
	int fd, ret, status;
	ssize_t n;

	*body = NULL;
	if (strlen(sock) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		if (ret != -EINPROGRESS && ret != -EAGAIN)
			goto out;
		if ((ret = wait_fd(fd, POLLOUT, deadline)))
			goto out;
	}
	reqlen =
	    (size_t)snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path);
	while (sent < reqlen) {
		n = send(fd, req + sent, reqlen - sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN) {
			if ((ret = wait_fd(fd, POLLOUT, deadline)))
				goto out;
			continue;
		}
		if (n < 0) {
			ret = -errno;
			goto out;
		}
		sent += n;
	}
	for (;;) {
		if (!buf || len + 1 >= cap) {
			if (buf)
				cap *= 2;
			if (cap > ANSWER_MAX) {
				ret = -EFBIG;
				goto out;
			}
			nb = realloc(buf, cap);
			if (!nb) {
				ret = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n < 0 && errno == EAGAIN) {
			if ((ret = wait_fd(fd, POLLIN, deadline)))
				goto out;
			continue;
		}
		if (n < 0 && errno != EINTR) {
			ret = -errno;
			goto out;
		}
		if (n == 0)
			break;
		if (n > 0)
			len += n;
	}
	buf[len] = '\0';
	p = strstr(buf, "\r\n\r\n");
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1 || !p) {
		ret = -EPROTO;
		goto out;
	}
	memmove(buf, p + 4, len - (size_t)(p + 4 - buf) + 1);
	*body = buf;
	buf = NULL;
	ret = status;
out:
	free(buf);
	close(fd);
	return ret;
}

/* Asks each API socket in turn; the first that knows the container answers. */
static void api_lookup(struct runtime *rt, const char *id, struct container_meta *m)
{
	char path[4096], url[128];
	bool not_found = false;

	snprintf(url, sizeof(url), "/v1.24/containers/%s/json", id);
	for (size_t i = 0; i < rt->o.n_api_sockets; i++) {
		char *body = NULL;
		int status;

		status = (size_t)snprintf(path, sizeof(path), "%s%s", rt->o.host_root,
					  rt->o.api_sockets[i]) < sizeof(path)
			     ? http_get(path, url, rt->o.timeout_ms, &body)
			     : -ENAMETOOLONG;
		if (status == 200 && !runtime_parse_inspect(body, m)) {
			free(body);
			count(rt, ST_API_OK);
			return;
		}
		not_found |= status == 404;
		free(body);
	}
	count(rt, not_found ? ST_API_NOT_FOUND : ST_API_FAILED);
}

/* ---- the worker ---- */

/* A container's spec may not be on disk yet when its first process runs (the
 * runtime's init runs in the cgroup before the state file is written): look again
 * after these delays before answering without it */
static const int spec_retry_ms[] = {100, 500, 2000};

#define SPEC_TRIES (int)(sizeof(spec_retry_ms) / sizeof(spec_retry_ms[0]))

/* Fills what it can; false when the spec is missing and worth another look (when
 * the job can wait). */
static bool job_fill(struct runtime *rt, struct container_job *j, int tries, bool can_wait)
{
	enum container_runtime r = j->ident.runtime;

	if (!tries)
		count(rt, ST_JOBS);
	if (!spec_lookup(rt, j->ident.id, &j->meta)) {
		count(rt, ST_SPEC_READ);
	} else if (can_wait && tries < SPEC_TRIES) {
		return false;
	} else {
		count(rt, ST_SPEC_MISSING);
	}
	/* a CRI runtime answers gRPC only; the spec said what it could */
	if ((r == CONTAINER_PODMAN || r == CONTAINER_DOCKER) && rt->o.n_api_sockets)
		api_lookup(rt, j->ident.id, &j->meta);
	return true;
}

/* A job waiting for its spec to appear. */
struct retry {
	struct container_job *job; /* taken from the table, not yet completed */
	int64_t due_ms;		   /* when to look again (CLOCK_MONOTONIC) */
	int tries;		   /* looks so far */
};

#define RETRY_MAX 256 /* jobs waiting for their spec at once; more answer without it */

static void job_run(struct runtime *rt, struct retry *w, size_t *n, struct container_job *j,
		    int tries)
{
	/* no room to wait: answer now with what there is */
	if (!job_fill(rt, j, tries, *n < RETRY_MAX)) {
		w[(*n)++] = (struct retry){j, now_ms() + spec_retry_ms[tries], tries + 1};
		return;
	}
	containers__complete(rt->ct, j);
}

static void *worker(void *arg)
{
	struct runtime *rt = arg;
	struct pollfd p[2] = {{.fd = rt->stop_efd, .events = POLLIN},
			      {.fd = rt->efd, .events = POLLIN}};
	struct retry waiting[RETRY_MAX];
	size_t n_waiting = 0;
	uint64_t v;

	for (;;) {
		struct container_job *j, *next;
		int64_t now, timeout = -1;

		for (size_t i = 0; i < n_waiting; i++) {
			int64_t left = waiting[i].due_ms - now_ms();

			if (timeout < 0 || left < timeout)
				timeout = left < 0 ? 0 : left;
		}
		if (poll(p, 2, (int)timeout) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		now = now_ms();
		for (size_t i = 0; i < n_waiting;) {
			struct retry r = waiting[i];

			if (r.due_ms > now) {
				i++;
				continue;
			}
			waiting[i] = waiting[--n_waiting];
			job_run(rt, waiting, &n_waiting, r.job, r.tries);
		}
		if (!p[1].revents)
			continue;
		if (read(rt->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			break;
		for (j = containers__take_jobs(rt->ct); j; j = next) {
			next = j->next;
			job_run(rt, waiting, &n_waiting, j, 0);
		}
	}
	/* the jobs in hand go back, so that the table frees them */
	for (size_t i = 0; i < n_waiting; i++)
		containers__complete(rt->ct, waiting[i].job);
	return NULL;
}

struct runtime *runtime__start(struct containers *ct, const struct runtime_opts *opts)
{
	struct runtime *rt = calloc(1, sizeof(*rt));
	int ret;

	if (!rt)
		return NULL;
	rt->ct = ct;
	rt->o = *opts;
	if (!rt->o.host_root)
		rt->o.host_root = "";
	if (!rt->o.state_dirs) {
		rt->o.state_dirs = default_state_dirs;
		rt->o.n_state_dirs = sizeof(default_state_dirs) / sizeof(default_state_dirs[0]);
	}
	if (!rt->o.api_sockets) {
		rt->o.api_sockets = default_api_sockets;
		rt->o.n_api_sockets = sizeof(default_api_sockets) / sizeof(default_api_sockets[0]);
	}
	if (rt->o.timeout_ms <= 0)
		rt->o.timeout_ms = 1000;
	rt->stop_efd = eventfd(0, EFD_CLOEXEC);
	if (rt->stop_efd < 0)
		goto err_free;
	rt->efd = containers__enable_jobs(ct);
	if (rt->efd < 0) {
		errno = -rt->efd;
		goto err_close;
	}
	ret = pthread_create(&rt->thread, NULL, worker, rt);
	if (ret) {
		errno = ret;
		goto err_close;
	}
	return rt;

err_close:
	close(rt->stop_efd);
err_free:
	free(rt);
	return NULL;
}

void runtime__stop(struct runtime *rt)
{
	uint64_t one = 1;

	if (!rt)
		return;
	if (write(rt->stop_efd, &one, sizeof(one)) == sizeof(one))
		pthread_join(rt->thread, NULL);
	close(rt->stop_efd);
	free(rt);
}

void runtime__stats(const struct runtime *rt, struct runtime_stats *out)
{
	uint64_t *o = (uint64_t *)out;

	_Static_assert(sizeof(*out) == sizeof(rt->st), "runtime_stats mirrors st");
	for (size_t i = 0; i < 6; i++)
		o[i] = atomic_load_explicit(&rt->st[i], memory_order_relaxed);
}
