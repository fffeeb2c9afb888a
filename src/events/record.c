// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * record.c - writes and reads recordings of the raw event stream. Records are
 * stored exactly as the kernel sent them, so a replay exercises the same decoding
 * and rule evaluation as the live agent.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "state/container.h"
#include "state/proctable.h"
#include "record.h"

#define MAGIC "VIGILREC"
#define VERSION                                                                                    \
	4 /* 2: exec records carry the environment and vpgid; 3: and stdio; 4: and                 \
	   * the exe's last writer */

struct rec_header {
	char magic[8];		 /* "VIGILREC" */
	uint32_t version;	 /* VERSION */
	uint32_t hdr_size;	 /* sizeof(struct vg_hdr): catches an ABI mismatch */
	int64_t boot_to_real_ns; /* CLOCK_REALTIME - CLOCK_BOOTTIME at recording */
};

struct recorder {
	FILE *f;      /* the recording */
	int err;      /* first write error, 0 none */
	uint8_t *buf; /* synthetic records */
};

static int put(struct recorder *r, const void *p, size_t n)
{
	if (r->err)
		return r->err;
	if (fwrite(p, 1, n, r->f) != n)
		r->err = errno ? -errno : -EIO;
	return r->err;
}

int recorder__write(struct recorder *r, const void *rec, size_t size)
{
	uint32_t len = size;

	put(r, &len, sizeof(len));
	return put(r, rec, size);
}

/* A cgroup tail that container_parse_cgroup() reads back as the same container. */
static int cgroup_tail(const struct container_ident *c, char *buf, size_t len)
{
	switch (c->runtime) {
	case CONTAINER_DOCKER:
		return snprintf(buf, len, "docker/%s", c->id);
	case CONTAINER_PODMAN:
		return snprintf(buf, len, "libpod_parent/libpod-%s", c->id);
	case CONTAINER_CONTAINERD:
		return snprintf(buf, len, "cri-containerd-%s.scope", c->id);
	case CONTAINER_CRIO:
		return snprintf(buf, len, "crio-%s.scope", c->id);
	case CONTAINER_KUBEPODS:
		return snprintf(buf, len, "kubepods/pod%s/%s", c->pod_uid[0] ? c->pod_uid : "x",
				c->id);
	default:
		return 0;
	}
}

static void add_str(uint8_t *rec, size_t *off, struct vg_str *s, const char *p, size_t n)
{
	if (n > VG_PATH_MAX - 1)
		n = VG_PATH_MAX - 1;
	s->off = *off;
	s->len = n;
	memcpy(rec + *off, p, n);
	rec[*off + n] = 0;
	*off += n + 1;
}

static void write_seed(void *arg, const struct proc_info *p)
{
	struct recorder *r = arg;
	struct vg_exec *e = (struct vg_exec *)r->buf;
	char cg[VG_CGROUP_MAX];
	size_t off = sizeof(*e);
	int n;

	if (p->flags & PROC_F_EXITED)
		return;
	memset(e, 0, sizeof(*e));
	e->hdr.type = VG_EV_EXEC;
	e->hdr.ts_ns = p->start_ns;
	e->hdr.start_ns = p->start_ns;
	e->hdr.cgroup_id = p->cgroup_id;
	e->hdr.flags = VG_XF_SEED | (p->flags & PROC_F_EXE_MEMFD ? VG_XF_EXE_MEMFD : 0) |
		       (p->flags & PROC_F_EXE_DELETED ? VG_XF_EXE_DELETED : 0) |
		       (p->flags & PROC_F_COMPAT ? VG_HF_COMPAT : 0);
	e->hdr.pid = e->hdr.tid = p->pid;
	e->hdr.ppid = p->ppid;
	e->hdr.uid = p->uid;
	e->hdr.gid = p->gid;
	e->hdr.euid = p->euid;
	e->hdr.egid = p->egid;
	e->hdr.loginuid = p->loginuid;
	memcpy(e->hdr.comm, p->comm, VG_COMM_LEN);
	e->cap_eff = p->cap_eff;
	e->exe_ino = p->exe_ino;
	e->tty = p->tty;
	e->sid = p->sid;
	add_str(r->buf, &off, &e->exe, p->exe, strlen(p->exe));
	add_str(r->buf, &off, &e->filename, p->exe, strlen(p->exe));
	/* args keep their own NULs: copy them whole */
	e->args.off = off;
	e->args.len = p->args_len > VG_ARGS_MAX - 1 ? VG_ARGS_MAX - 1 : p->args_len;
	if (p->args)
		memcpy(r->buf + off, p->args, e->args.len);
	r->buf[off + e->args.len] = 0;
	off += e->args.len + 1;
	add_str(r->buf, &off, &e->cwd, p->cwd, strlen(p->cwd));
	n = cgroup_tail(&p->container, cg, sizeof(cg));
	if (n > 0)
		add_str(r->buf, &off, &e->cgroup, cg, n);
	e->hdr.size = off;
	recorder__write(r, r->buf, off);
}

struct recorder *recorder__open(const char *path, struct proctable *procs, int64_t boot_to_real_ns)
{
	struct rec_header h = {.version = VERSION,
			       .hdr_size = sizeof(struct vg_hdr),
			       .boot_to_real_ns = boot_to_real_ns};
	struct recorder *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->buf = malloc(VG_EVENT_MAX + 4 * VG_PATH_MAX);
	r->f = fopen(path, "wbe");
	if (!r->buf || !r->f) {
		int e = errno;

		if (r->f)
			fclose(r->f);
		free(r->buf);
		free(r);
		errno = e;
		return NULL;
	}
	memcpy(h.magic, MAGIC, 8);
	put(r, &h, sizeof(h));
	if (procs)
		proctable__foreach(procs, write_seed, r);
	return r;
}

int recorder__close(struct recorder *r)
{
	int ret;

	if (!r)
		return 0;
	if (fclose(r->f) && !r->err)
		r->err = -errno;
	ret = r->err;
	free(r->buf);
	free(r);
	return ret;
}

int replay_reader__open(struct replay_reader *r, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rbe");
	int ret = -errno;

	if (!f) {
		memset(r, 0, sizeof(*r));
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	return replay_reader__fopen(r, f, path, err, errlen);
}

int replay_reader__fopen(struct replay_reader *r, FILE *f, const char *name, char *err,
			 size_t errlen)
{
	struct rec_header h;

	memset(r, 0, sizeof(*r));
	r->f = f;
	if (fread(&h, sizeof(h), 1, r->f) != 1 || memcmp(h.magic, MAGIC, 8)) {
		snprintf(err, errlen, "%s: not a vigil recording (made with vigil run --record)",
			 name);
		goto bad;
	}
	if (h.version != VERSION || h.hdr_size != sizeof(struct vg_hdr)) {
		snprintf(err, errlen,
			 "%s: recording format %u (header %u bytes) is not the one "
			 "this vigil reads (%u, %zu bytes)",
			 name, h.version, h.hdr_size, VERSION, sizeof(struct vg_hdr));
		goto bad;
	}
	r->boot_to_real_ns = h.boot_to_real_ns;
	r->offset = sizeof(h);
	return 0;
bad:
	fclose(r->f);
	r->f = NULL;
	return -EINVAL;
}

int replay_reader__next(struct replay_reader *r, const void **rec, size_t *size)
{
	uint32_t len;

	if (fread(&len, sizeof(len), 1, r->f) != 1)
		return 0;
	if (len > VG_EVENT_MAX + 4 * VG_PATH_MAX)
		return -EINVAL;
	if (len > r->cap) {
		uint8_t *n = realloc(r->buf, len);

		if (!n)
			return -ENOMEM;
		r->buf = n;
		r->cap = len;
	}
	if (fread(r->buf, 1, len, r->f) != len)
		return -EINVAL;
	*rec = r->buf;
	*size = len;
	r->offset += sizeof(len) + len;
	return 1;
}

void replay_reader__close(struct replay_reader *r)
{
	if (r->f)
		fclose(r->f);
	free(r->buf);
	memset(r, 0, sizeof(*r));
}
