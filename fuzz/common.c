// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * common.c - the harnesses' shared parts: input files, alert rendering as the
 * sinks do it, and a recording through the agent's pipeline. Nothing here
 * reimplements the agent: each step calls the function the agent calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/pipeline.h"
#include "detect/detect.h"
#include "detect/filter.h"
#include "events/event.h"
#include "events/record.h"
#include "output/sink.h"
#include "state/dnscache.h"
#include "state/proctable.h"
#include "util/json.h"
#include "fuzz.h"

#define PROCS_MAX    16 /* a small process table: inputs reach its eviction */
#define ANCESTRY_MAX 16 /* ancestors rendered per event, as --ancestry-max allows */
/* the syslog sink's max_message: its default and its minimum (sink_syslog.c) */
#define SYSLOG_DEFAULT_MAX  8192
#define SYSLOG_SMALLEST_MAX 480

FILE *fuzz_null(void)
{
	static FILE *null;

	if (!null)
		null = fopen("/dev/null", "we");
	if (!null)
		abort();
	return null;
}

struct scratch_file {
	const char *tag; /* which harness input */
	char path[256];	 /* its file */
	int fd;		 /* open for rewriting */
};

const char *fuzz_file(const char *tag, const void *data, size_t size)
{
	static struct scratch_file files[4];
	struct scratch_file *f = NULL;
	const char *dir = getenv("TMPDIR");

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]) && !f; i++)
		if (!files[i].tag || !strcmp(files[i].tag, tag))
			f = &files[i];
	if (!f)
		abort();
	if (!f->tag) {
		snprintf(f->path, sizeof(f->path), "%s/vigil-fuzz-%s-XXXXXX",
			 dir && *dir ? dir : "/tmp", tag);
		f->fd = mkstemp(f->path);
		if (f->fd < 0) {
			perror(f->path);
			abort();
		}
		f->tag = tag;
	}
	if (ftruncate(f->fd, 0) || pwrite(f->fd, data, size, 0) != (ssize_t)size) {
		perror(f->path);
		abort();
	}
	return f->path;
}

void fuzz_alert(void *arg, const struct detect_alert *al)
{
	struct alert out;
	struct syslog_opts so = {
	    .facility = 4, .app_name = "vigil", .sd_id = "vigil@32473", .procid = 1};
	static char frame[SYSLOG_DEFAULT_MAX + 1];
	struct alert *r;
	char *s;

	/* as the agent's on_alert hands it to outputs__emit */
	alert_from_detect(&out, al);
	r = alert__dup(&out, "fuzz-host");
	if (!r)
		return;
	/* stdout, file and webhook write these as they are */
	fwrite(r->output, 1, strlen(r->output), fuzz_null());
	fwrite(r->json, 1, r->json_len, fuzz_null());
	/* syslog: text and JSON, at the sink's default bound and at its smallest */
	for (int json = 0; json < 2; json++) {
		so.json = json;
		so.max_message = SYSLOG_DEFAULT_MAX;
		fwrite(frame, 1, syslog_format(&so, r, frame, sizeof(frame)), fuzz_null());
		so.max_message = SYSLOG_SMALLEST_MAX;
		fwrite(frame, 1, syslog_format(&so, r, frame, sizeof(frame)), fuzz_null());
	}
	s = am_labels_json(r, NULL);
	free(s);
	s = am_annotations_json(r);
	free(s);
	alert__put(r);
}

struct show_ctx {
	const struct fuzz_replay *o; /* options */
	struct proctable *procs;     /* the pipeline's table */
	struct json_buf out;	     /* JSON rendering */
};

/* The agent's event display (text, or JSON with ancestry), then the extra rules. */
static void show(void *arg, struct event *ev)
{
	struct show_ctx *x = arg;
	const struct proc_info *anc[ANCESTRY_MAX];
	bool unknown = true;
	size_t n = 0;

	if (x->o->show) {
		event_to_text(ev, fuzz_null());
		if (ev->proc)
			n = proctable__ancestry(x->procs, ev->proc->pid, anc, ANCESTRY_MAX,
						&unknown);
		json_reset(&x->out);
		event_to_json(ev, anc, n, unknown, &x->out);
		fwrite(x->out.buf, 1, x->out.len, fuzz_null());
	}
	if (x->o->extra)
		detect__eval(x->o->extra, ev, x->procs, "fuzz-host");
}

void fuzz_replay(const struct fuzz_replay *o, const void *data, size_t size)
{
	static struct event ev; /* 8 KiB of path buffers: not on the stack */
	struct show_ctx x = {.o = o};
	struct pipeline p = {.detect = o->detect, .hostname = "fuzz-host", .show = show, .arg = &x};
	struct replay_reader rd;
	const void *rec;
	size_t len;
	char err[512];
	FILE *f;

	if (!size)
		return;
	f = fmemopen((void *)data, size, "rb");
	if (!f)
		abort();
	if (replay_reader__fopen(&rd, f, "fuzz", err, sizeof(err)))
		return;
	x.procs = p.procs = proctable__new(PROCS_MAX, 1000000000ull);
	/* small: answers evict each other */
	p.names = dnscache__new(8);
	if (!p.procs || !p.names)
		abort();
	json_init(&x.out);
	p.boot_to_real_ns = rd.boot_to_real_ns;
	while (replay_reader__next(&rd, &rec, &len) > 0) {
		if (event_decode(&ev, rec, len))
			continue;
		/* replay --prefilter asks; the answer does not stop the rest */
		if (o->spec)
			filter_spec_pass(o->spec, &ev);
		pipeline_event(&p, &ev);
		proctable__evict(p.procs, ev.hdr->ts_ns);
	}
	json_free(&x.out);
	proctable__free(p.procs);
	dnscache__free(p.names);
	pipeline_free(&p);
	replay_reader__close(&rd);
}
