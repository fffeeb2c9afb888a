// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sink_file.c - alerts as JSON lines in a file, rotated by size: path.1 is the
 * newest backup, path.N the oldest kept. Lines are only ever written whole: a batch
 * goes out in one write() of complete lines, rotation happens between lines, and
 * when a write fails part-way (disk full) the partial tail is cut off again, so a
 * reader never sees a torn line. A failure is counted and logged; the sink goes on
 * with the next alerts. A file moved or deleted by someone else (logrotate) is
 * noticed and reopened.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output/sink.h"

struct file_sink {
	int fd;	       /* open on cfg->path, O_APPEND */
	uint64_t size; /* bytes in the file */
	bool regular;  /* a regular file: sizes and rotation apply */
	dev_t dev;     /* identity of the file we write, to notice a move */
	ino_t ino;     /* ... */
	char *buf;     /* pending complete lines */
	size_t len;    /* bytes in buf */
	size_t cap;    /* bytes allocated */
	size_t lines;  /* lines in buf */
};

static int file_open(struct sink *s, struct file_sink *f)
{
	const struct file_settings *c = s->cfg->settings;
	struct stat st;
	int fd;

	fd = open(c->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	if (f->fd >= 0)
		close(f->fd);
	f->fd = fd;
	f->regular = S_ISREG(st.st_mode);
	f->size = f->regular ? (uint64_t)st.st_size : 0;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	return 0;
}

static int file_init(struct sink *s, char *err, size_t errlen)
{
	const struct file_settings *c = s->cfg->settings;
	struct file_sink *f = calloc(1, sizeof(*f));
	int ret;

	if (!f)
		return -ENOMEM;
	f->fd = -1;
	/* a file size limit must fail the write, not kill vigil */
	signal(SIGXFSZ, SIG_IGN);
	ret = file_open(s, f);
	if (ret) {
		snprintf(err, errlen, "cannot open %s: %s; create its directory or change 'path'",
			 c->path, strerror(-ret));
		free(f);
		return ret;
	}
	s->priv = f;
	return 0;
}

static void file_fini(struct sink *s)
{
	struct file_sink *f = s->priv;

	if (f->fd >= 0)
		close(f->fd);
	free(f->buf);
	free(f);
}

/* path.N into buf */
static void backup_name(const char *path, unsigned n, char *buf, size_t len)
{
	if (n)
		snprintf(buf, len, "%s.%u", path, n);
	else
		snprintf(buf, len, "%s", path);
}

static void file_rotate(struct sink *s, struct file_sink *f)
{
	const struct file_settings *c = s->cfg->settings;
	const char *path = c->path;
	char from[PATH_MAX + 16], to[PATH_MAX + 16];
	int ret;

	if (!c->backups) {
		if (ftruncate(f->fd, 0) == 0)
			f->size = 0;
		return;
	}
	for (unsigned i = c->backups; i > 0; i--) {
		backup_name(path, i - 1, from, sizeof(from));
		backup_name(path, i, to, sizeof(to));
		if (rename(from, to) && errno != ENOENT && i == 1) {
			sink__log(s, "cannot rotate %s to %s: %s; writing on past max_size", from,
				  to, strerror(errno));
			return;
		}
	}
	ret = file_open(s, f);
	if (ret)
		sink__log(s, "cannot reopen %s after rotation: %s; writing to %s", path,
			  strerror(-ret), to);
}

/* Reopens the path when the file we hold is no longer there (moved or deleted). */
static void file_check_moved(struct sink *s, struct file_sink *f)
{
	const struct file_settings *c = s->cfg->settings;
	struct stat st;

	if (!f->regular)
		return;
	if (stat(c->path, &st) == 0 && st.st_dev == f->dev && st.st_ino == f->ino)
		return;
	file_open(s, f);
}

/* Writes the pending lines in one go, or none of them. Returns lines written. */
static size_t file_flush(struct sink *s, struct file_sink *f)
{
	const struct file_settings *c = s->cfg->settings;
	size_t done = 0, lines = f->lines;
	int err = 0;

	while (done < f->len) {
		ssize_t k = write(f->fd, f->buf + done, f->len - done);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			err = k < 0 ? errno : EIO;
			break;
		}
		done += k;
	}
	f->len = 0;
	f->lines = 0;
	if (!err) {
		f->size += done;
		return lines;
	}
	if (done && f->regular && ftruncate(f->fd, f->size))
		sink__log(s, "cannot remove a partly written line from %s: %s", c->path,
			  strerror(errno));
	sink__failed(s, lines, err == ENOSPC || err == EDQUOT || err == EFBIG ? "disk_full" : "io",
		     "cannot write to %s: %s; %zu alerts lost%s", c->path, strerror(err), lines,
		     err == ENOSPC || err == EDQUOT || err == EFBIG
			 ? " - free space on its filesystem, vigil keeps trying"
			 : "");
	return 0;
}

static bool file_append(struct file_sink *f, const char *s, size_t n)
{
	if (f->len + n + 1 > f->cap) {
		size_t cap = f->cap ? f->cap : 65536;
		char *p;

		while (cap < f->len + n + 1)
			cap *= 2;
		p = realloc(f->buf, cap);
		if (!p)
			return false;
		f->buf = p;
		f->cap = cap;
	}
	memcpy(f->buf + f->len, s, n);
	f->buf[f->len + n] = '\n';
	f->len += n + 1;
	f->lines++;
	return true;
}

static size_t file_deliver(struct sink *s, struct alert *const *recs, size_t n)
{
	const struct file_settings *c = s->cfg->settings;
	struct file_sink *f = s->priv;
	uint64_t max = c->max_bytes;
	size_t done = 0, failed_before = atomic_load(&s->failed);

	file_check_moved(s, f);
	for (size_t i = 0; i < n; i++) {
		size_t line = recs[i]->json_len + 1;

		if (f->regular && max && f->size + f->len + line > max && f->size + f->len > 0) {
			if (f->len)
				done += file_flush(s, f);
			if (f->size)
				file_rotate(s, f);
		}
		if (!file_append(f, recs[i]->json, recs[i]->json_len)) {
			sink__failed(s, 1, "io", "out of memory formatting an alert");
			continue;
		}
	}
	done += file_flush(s, f);
	if (atomic_load(&s->failed) == failed_before)
		sink__ok(s);
	return done;
}

static void file_validate(struct opt_ctx *x, void *settings)
{
	const struct file_settings *c = settings;

	if (!c->path || !*c->path)
		opt_error(x, "a file output needs 'path': the JSON lines file to write");
	if (c->max_bytes && c->max_bytes < 4096)
		opt_error_key(x, "max_size",
			      "max_size: %llu bytes is too small; use at least 4K (or 0 for no "
			      "rotation)",
			      (unsigned long long)c->max_bytes);
}

#define FILE_KEY(field) .off = offsetof(struct file_settings, field)

static const struct opt file_keys[] = {
    {.key = "path", .type = OPT_STR, FILE_KEY(path), .help = "the JSON lines file (required)"},
    {.key = "max_size",
     .type = OPT_BYTES,
     .size = sizeof(uint64_t),
     FILE_KEY(max_bytes),
     .def = "100M",
     .help = "rotate before a write would pass this; 0: never"},
    {.key = "backups",
     .type = OPT_UINT,
     .size = sizeof(unsigned),
     .max = 1000,
     FILE_KEY(backups),
     .def = "5",
     .help = "rotated files kept (path.1 is the newest)"},
    {0},
};

static const char *const reasons[] = {"io", "disk_full", NULL};

const struct sink_desc sink_file = {
    .name = "file",
    .help = "JSON lines in a file, rotated by size",
    .keys = file_keys,
    .settings_size = sizeof(struct file_settings),
    .reasons = reasons,
    .validate = file_validate,
    .init = file_init,
    .deliver = file_deliver,
    .fini = file_fini,
};
