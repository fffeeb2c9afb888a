// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * replay.c - `vigil replay FILE`: runs a recording through the same pipeline as
 * the live agent (process table, rules, alerts), offline and without root. With
 * --prefilter, each event first passes the prefilter derived from the rules, as
 * the kernel would apply it; --stats reports the engine's throughput.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "detect/detect.h"
#include "events/event.h"
#include "detect/filter.h"
#include "util/json.h"
#include "output/output.h"
#include "pipeline.h"
#include "state/dnscache.h"
#include "state/proctable.h"
#include "events/record.h"
#include "replay.h"

struct replay {
	struct filter_spec spec; /* derived prefilter, with --prefilter */
	bool prefilter;		 /* apply spec */
	bool events;		 /* print events too */
	struct json_buf out;	 /* event and alert rendering */
	uint64_t alerts;	 /* alerts written */
	uint64_t dropped;	 /* events the prefilter would have dropped */
};

static void print_alert(void *arg, const struct detect_alert *a)
{
	struct replay *r = arg;
	struct alert al;

	if (a->held)
		return; /* merged into a pending aggregate, whose summary is printed */
	alert_from_detect(&al, a);
	r->alerts++;
	json_reset(&r->out);
	if (alert__json(&al, &r->out))
		return;
	fwrite(r->out.buf, 1, r->out.len, stdout);
	fputc('\n', stdout);
}

static void show(void *arg, struct event *ev)
{
	struct replay *r = arg;

	json_reset(&r->out);
	event_to_json(ev, NULL, 0, false, &r->out);
	fwrite(r->out.buf, 1, r->out.len, stdout);
	fputc('\n', stdout);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int replay_run(const struct replay_opts *o)
{
	struct replay r = {.prefilter = o->prefilter, .events = o->events};
	struct detect_opts dopts = {
	    .files = o->n_rule_files ? o->rule_files : NULL,
	    .n_files = o->n_rule_files,
	    .min_priority = o->min_priority,
	    .on_alert = print_alert,
	    .arg = &r,
	};
	struct pipeline p = {.hostname = "replay", .show = o->events ? show : NULL, .arg = &r};
	struct replay_reader rd;
	struct event *ev = malloc(sizeof(*ev)); /* reused for each record */
	char err[512];
	uint64_t n = 0;
	double t0, dt;
	int ret;

	if (!ev) {
		fprintf(stderr, "vigil replay: out of memory\n");
		return 1;
	}
	ret = replay_reader__open(&rd, o->file, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "vigil replay: %s\n", err);
		free(ev);
		return 1;
	}
	json_init(&r.out);
	filter_spec_init(&r.spec);
	p.boot_to_real_ns = rd.boot_to_real_ns;
	p.procs = proctable__new(1 << 20, UINT64_MAX / 2);
	/* the recorded answers name the recorded connects, as they did live */
	p.names = dnscache__new(0);
	p.detect = detect__new(&dopts);
	if (!p.procs || !p.detect) {
		fprintf(stderr, "vigil replay: %s\n",
			p.procs ? "the rules did not load (errors above)" : "out of memory");
		ret = 1;
		goto out;
	}
	if (o->prefilter) {
		/* as the agent does: what cannot be derived is not filtered */
		ret = detect__derive_filter(p.detect, &r.spec);
		if (ret)
			fprintf(stderr, "vigil replay: deriving the prefilter: %s\n",
				strerror(-ret));
		filter_spec_print_fallbacks(&r.spec, stderr);
	}
	t0 = now_s();
	for (;;) {
		const void *rec;
		size_t size;

		ret = replay_reader__next(&rd, &rec, &size);
		if (ret <= 0)
			break;
		n++;
		/* decoded once, for the prefilter and the pipeline alike */
		if (event_decode(ev, rec, size)) {
			p.invalid++;
			continue;
		}
		if (o->prefilter && !filter_spec_pass(&r.spec, ev)) {
			r.dropped++;
			continue;
		}
		pipeline_event(&p, ev);
	}
	/* the recording ended: pending aggregates are summarised, as at an agent's stop */
	detect__flush(p.detect);
	dt = now_s() - t0;
	if (ret < 0)
		fprintf(stderr,
			"vigil replay: %s: torn or oversized record at offset %llu; the "
			"rest of the file is not read\n",
			o->file, (unsigned long long)rd.offset);
	if (o->stats)
		fprintf(stderr,
			"vigil replay: %llu records in %.3f s (%.0f records/s), %llu alerts, %llu "
			"invalid, %llu dropped by the prefilter\n",
			(unsigned long long)n, dt, dt > 0 ? n / dt : 0.0,
			(unsigned long long)r.alerts, (unsigned long long)p.invalid,
			(unsigned long long)r.dropped);
	ret = ret < 0 ? 1 : 0;
out:
	detect__free(p.detect);
	proctable__free(p.procs);
	dnscache__free(p.names);
	pipeline_free(&p);
	filter_spec_free(&r.spec);
	json_free(&r.out);
	replay_reader__close(&rd);
	free(ev);
	return ret;
}
