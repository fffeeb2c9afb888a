// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_stateful.c - vigil's stateful rule keys (threshold, aggregate, sequence) over
 * hand-built file records with chosen times: windows, groups, distinct values,
 * merged alerts and their summaries, steps joined by process or container and by
 * the same file, bounded tables and their evictions, state kept or dropped on reload,
 * the kernel prefilter of a sequence, and the errors of bad keys.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect/detect.h"
#include "detect/fields.h"
#include "detect/filter.h"
#include "detect/stateful.h"
#include "events/event.h"
#include "events/records.h"
#include "rules/engine.h"
#include "state/proctable.h"

#define S  1000000000ull
#define T0 (1700000000ull * S)

struct got {
	char rule[64];
	char output[2048];
	char count[32];	    /* vigil.count, "" when none */
	char distinct[512]; /* vigil.distinct */
	char steps[2048];   /* vigil.steps */
	bool aggregated;    /* vigil.aggregated */
	bool held;	    /* merged: act only */
	bool has_ev;	    /* the alert has an event */
};

static struct got got[512];
static int n_got;

static void capture(void *arg, const struct detect_alert *a)
{
	struct got *g;

	(void)arg;
	if (n_got >= 512)
		return;
	g = &got[n_got++];
	memset(g, 0, sizeof(*g));
	snprintf(g->rule, sizeof(g->rule), "%s", a->rule->name);
	snprintf(g->output, sizeof(g->output), "%s", a->output);
	g->held = a->held;
	g->has_ev = a->ev != NULL;
	for (size_t i = 0; i < a->n_fields; i++) {
		const struct rule_out_field *f = &a->fields[i];

		if (!strcmp(f->name, "vigil.count"))
			snprintf(g->count, sizeof(g->count), "%s", f->value);
		else if (!strcmp(f->name, "vigil.distinct"))
			snprintf(g->distinct, sizeof(g->distinct), "%s", f->value);
		else if (!strcmp(f->name, "vigil.steps"))
			snprintf(g->steps, sizeof(g->steps), "%s", f->value);
		else if (!strcmp(f->name, "vigil.aggregated"))
			g->aggregated = true;
		if (i)
			cr_assert_lt(strcmp(a->fields[i - 1].name, f->name), 0,
				     "fields out of order: %s, %s", a->fields[i - 1].name, f->name);
	}
}

/* Alerts sent (not merged) since the last reset. */
static int sent(void)
{
	int n = 0;

	for (int i = 0; i < n_got; i++)
		n += !got[i].held;
	return n;
}

static char rules_path[64];

static void write_rules(const char *yaml)
{
	FILE *f;

	if (!rules_path[0]) {
		int fd;

		snprintf(rules_path, sizeof(rules_path), "/tmp/vigil-stateful-XXXXXX");
		fd = mkstemp(rules_path);
		cr_assert_geq(fd, 0);
		close(fd);
	}
	f = fopen(rules_path, "w");
	cr_assert_not_null(f);
	fputs(yaml, f);
	fclose(f);
}

static struct detect *detect_with(const char *yaml, size_t max_entries)
{
	static const char *files[1];
	struct detect_opts o = {.on_alert = capture, .state_max_entries = max_entries};
	struct detect *d;

	write_rules(yaml);
	files[0] = rules_path;
	o.files = files;
	o.n_files = 1;
	d = detect__new(&o);
	cr_assert_not_null(d);
	n_got = 0;
	return d;
}

static struct proctable *procs; /* when set, events find their process there */

/* One file event: type/syscall, open flags, path, by pid with comm, at time t. */
static void feed(struct detect *d, uint16_t type, uint16_t sys, uint32_t flags, const char *path,
		 uint32_t pid, const char *comm, uint64_t t)
{
	struct frec r;
	struct event ev;

	frec_init(&r, type, sys, type == VG_EV_OPEN ? 3 : 0);
	r.f.hdr.pid = r.f.hdr.tid = pid;
	r.f.hdr.ppid = 1;
	snprintf(r.f.hdr.comm, sizeof(r.f.hdr.comm), "%s", comm);
	r.f.flags = flags;
	frec_str(&r, &r.f.path, path);
	frec_str(&r, &r.f.raw, path);
	cr_assert_eq(event_decode(&ev, r.buf, r.off), 0);
	ev.time_ns = t;
	ev.proc = procs ? proctable__find(procs, pid) : NULL;
	detect__eval(d, &ev, procs, "host");
}

/* pid forks child (both start at their pid, in ns) into the table. */
static void forked(uint32_t pid, uint32_t child)
{
	struct vg_fork f;

	memset(&f, 0, sizeof(f));
	f.hdr.type = VG_EV_FORK;
	f.hdr.size = sizeof(f);
	f.hdr.pid = f.hdr.tid = pid;
	f.hdr.start_ns = pid;
	f.hdr.ts_ns = child;
	snprintf(f.hdr.comm, sizeof(f.hdr.comm), "sh");
	f.child_pid = f.child_tid = child;
	f.child_start_ns = child;
	cr_assert_not_null(proctable__on_fork(procs, &f));
}

static void open_w(struct detect *d, const char *path, uint32_t pid, uint64_t t)
{
	feed(d, VG_EV_OPEN, VG_SYS_OPENAT, O_WRONLY | O_CREAT, path, pid, "curl", t);
}

static void open_r(struct detect *d, const char *path, uint32_t pid, uint64_t t)
{
	feed(d, VG_EV_OPEN, VG_SYS_OPENAT, O_RDONLY, path, pid, "cat", t);
}

static void chmod_of(struct detect *d, const char *path, uint32_t pid, uint64_t t)
{
	feed(d, VG_EV_CHMOD, VG_SYS_CHMOD, 0, path, pid, "chmod", t);
}

static const struct stateful_rule_stats *state_of(struct detect *d, const char *rule)
{
	static struct stateful_rule_stats st[16];
	size_t n = detect__state_stats(d, st, 16);

	for (size_t i = 0; i < n && i < 16; i++)
		if (!strcmp(st[i].rule, rule))
			return &st[i];
	return NULL;
}

#define HEAD "- rule: R\n  desc: d\n  priority: WARNING\n  output: \"%proc.name wrote %fd.name\"\n"

#define THRESHOLD(keys)                                                                            \
	HEAD "  condition: evt.type = openat and evt.is_open_write = true and fd.name startswith " \
	     "/tmp/t\n  threshold: " keys "\n"

Test(stateful, threshold_counts_per_group_within_the_window)
{
	struct detect *d = detect_with(THRESHOLD("{count: 3, within: 5s, by: [proc.pid]}"), 0);

	open_w(d, "/tmp/t1", 10, T0);
	open_w(d, "/tmp/t1", 10, T0 + 1 * S);
	open_w(d, "/tmp/t1", 11, T0 + 1 * S); /* another group */
	cr_assert_eq(n_got, 0);
	open_w(d, "/tmp/t1", 10, T0 + 2 * S);
	cr_assert_eq(n_got, 1);
	cr_assert_str_eq(got[0].count, "3");
	cr_assert(strstr(got[0].output, "(threshold: 3 matches in 2s)"), "%s", got[0].output);
	/* it starts over */
	open_w(d, "/tmp/t1", 10, T0 + 3 * S);
	cr_assert_eq(n_got, 1);
	/* the window slides: 3 s and 9 s are 6 s apart, 3 s is forgotten */
	open_w(d, "/tmp/t1", 10, T0 + 9 * S);
	open_w(d, "/tmp/t1", 10, T0 + 10 * S);
	cr_assert_eq(n_got, 1);
	open_w(d, "/tmp/t1", 10, T0 + 11 * S);
	cr_assert_eq(n_got, 2);
	/* a match that is not one does not count */
	open_r(d, "/tmp/t1", 11, T0 + 11 * S);
	open_w(d, "/tmp/t1", 11, T0 + 12 * S);
	cr_assert_eq(n_got, 2);
	detect__free(d);
}

Test(stateful, threshold_counts_distinct_values_and_lists_them)
{
	struct detect *d =
	    detect_with(THRESHOLD("{count: 3, within: 10s, by: proc.pid, distinct: fd.name}"), 0);

	for (int i = 0; i < 5; i++)
		open_w(d, "/tmp/t-same", 20, T0 + i * S);
	open_w(d, "/tmp/t-b", 20, T0 + 5 * S);
	cr_assert_eq(n_got, 0, "one value five times and another are 2 distinct");
	open_w(d, "/tmp/t-c", 20, T0 + 6 * S);
	cr_assert_eq(n_got, 1);
	cr_assert_str_eq(got[0].count, "3");
	cr_assert(strstr(got[0].distinct, "\"/tmp/t-same\""), "%s", got[0].distinct);
	cr_assert(strstr(got[0].distinct, "\"/tmp/t-b\""), "%s", got[0].distinct);
	cr_assert(strstr(got[0].distinct, "\"/tmp/t-c\""), "%s", got[0].distinct);
	cr_assert(strstr(got[0].output, "3 distinct fd.name"), "%s", got[0].output);
	detect__free(d);
}

#define AGGREGATE                                                                                  \
	HEAD "  condition: evt.type = openat and evt.is_open_write = true and fd.name startswith " \
	     "/tmp/a\n  aggregate: {within: 60s, by: [fd.name]}\n"

Test(stateful, aggregate_merges_a_burst_into_one_alert_and_a_summary)
{
	struct detect *d = detect_with(AGGREGATE, 0);
	int held = 0;

	for (int i = 0; i < 200; i++)
		open_w(d, "/tmp/a1", 30 + i, T0 + i * (S / 10));
	open_w(d, "/tmp/a2", 99, T0 + S);
	for (int i = 0; i < n_got; i++)
		held += got[i].held;
	/* the first of each key alerts at once; the rest only act */
	cr_assert_eq(sent(), 2);
	cr_assert_eq(held, 199);
	cr_assert(got[0].has_ev);
	/* stop: the summary of the burst; none for the key that matched once */
	n_got = 0;
	detect__flush(d);
	cr_assert_eq(n_got, 1);
	cr_assert(got[0].aggregated);
	cr_assert(!got[0].has_ev);
	cr_assert_str_eq(got[0].count, "200");
	cr_assert(strstr(got[0].output, "/tmp/a1"), "%s", got[0].output);
	cr_assert(strstr(got[0].output, "aggregated: 200 matches"), "%s", got[0].output);
	detect__free(d);
}

Test(stateful, aggregate_summary_goes_out_when_the_window_closes)
{
	struct detect *d = detect_with(AGGREGATE, 0);

	open_w(d, "/tmp/a1", 30, T0);
	open_w(d, "/tmp/a1", 30, T0 + 10 * S);
	open_w(d, "/tmp/a1", 30, T0 + 20 * S);
	cr_assert_eq(sent(), 1);
	n_got = 0;
	/* any event past the window closes it (event time, as a replay sees it) */
	open_r(d, "/etc/hostname", 1, T0 + 61 * S);
	cr_assert_eq(n_got, 1);
	cr_assert(got[0].aggregated);
	cr_assert_str_eq(got[0].count, "3");
	/* a new window starts with an alert of its own */
	n_got = 0;
	open_w(d, "/tmp/a1", 30, T0 + 62 * S);
	cr_assert_eq(sent(), 1);
	cr_assert(!got[0].aggregated);
	/* the wall-clock tick closes a window no event closes */
	open_w(d, "/tmp/a1", 30, T0 + 63 * S);
	n_got = 0;
	detect__tick(d, T0 + 200 * S);
	cr_assert_eq(n_got, 1);
	cr_assert_str_eq(got[0].count, "2");
	n_got = 0;
	detect__free(d); /* nothing left to summarise */
	cr_assert_eq(n_got, 0);
}

#define SEQUENCE(by, within)                                                                       \
	HEAD "  sequence:\n    by: " by "\n    within: " within "\n    steps:\n"                   \
	     "      - condition: evt.type = openat and evt.is_open_write = true and fd.name "      \
	     "startswith /tmp/s\n"                                                                 \
	     "      - condition: evt.type = chmod and fd.name startswith /tmp/s\n"                 \
	     "        same: {fd.name: fd.name}\n"                                                  \
	     "      - condition: evt.type = openat and evt.is_open_read = true and fd.name "       \
	     "startswith /tmp/s\n"                                                                 \
	     "        same: {fd.name: fd.name}\n"

Test(stateful, sequence_fires_on_the_same_file_in_order)
{
	struct detect *d = detect_with(SEQUENCE("process", "5m"), 0);

	open_w(d, "/tmp/s1", 40, T0);
	chmod_of(d, "/tmp/s1", 40, T0 + S);
	cr_assert_eq(n_got, 0);
	open_r(d, "/tmp/s1", 40, T0 + 2 * S);
	cr_assert_eq(n_got, 1);
	cr_assert(strstr(got[0].steps, "\"step\":1"), "%s", got[0].steps);
	cr_assert(strstr(got[0].steps, "\"evt.type\":\"chmod\""), "%s", got[0].steps);
	cr_assert(strstr(got[0].steps, "\"step\":3"), "%s", got[0].steps);
	cr_assert(strstr(got[0].steps, "\"proc.pid\":40"), "%s", got[0].steps);
	cr_assert(strstr(got[0].steps, "\"fd.name\":\"/tmp/s1\""), "%s", got[0].steps);
	cr_assert(strstr(got[0].output, "(sequence: 1) "), "%s", got[0].output);
	/* consumed: the last step again does not fire again */
	open_r(d, "/tmp/s1", 40, T0 + 3 * S);
	cr_assert_eq(n_got, 1);
	detect__free(d);
}

Test(stateful, sequence_near_misses)
{
	struct detect *d = detect_with(SEQUENCE("process", "60s"), 0);

	/* another file at step 2 */
	open_w(d, "/tmp/s1", 40, T0);
	chmod_of(d, "/tmp/s2", 40, T0 + S);
	open_r(d, "/tmp/s2", 40, T0 + 2 * S);
	/* out of order */
	chmod_of(d, "/tmp/s3", 40, T0);
	open_w(d, "/tmp/s3", 40, T0 + S);
	open_r(d, "/tmp/s3", 40, T0 + 2 * S);
	/* another process */
	open_w(d, "/tmp/s4", 40, T0);
	chmod_of(d, "/tmp/s4", 41, T0 + S);
	open_r(d, "/tmp/s4", 41, T0 + 2 * S);
	/* too late */
	open_w(d, "/tmp/s5", 40, T0);
	chmod_of(d, "/tmp/s5", 40, T0 + S);
	open_r(d, "/tmp/s5", 40, T0 + 61 * S);
	/* a file chmod'ed and never read */
	open_w(d, "/tmp/s6", 40, T0);
	chmod_of(d, "/tmp/s6", 40, T0 + S);
	cr_assert_eq(n_got, 0, "%s", n_got ? got[0].output : "");
	detect__free(d);
}

Test(stateful, sequence_by_container_joins_processes)
{
	struct detect *d = detect_with(SEQUENCE("container", "60s"), 0);

	open_w(d, "/tmp/s1", 40, T0);
	chmod_of(d, "/tmp/s1", 41, T0 + S);
	open_r(d, "/tmp/s1", 42, T0 + 2 * S);
	cr_assert_eq(n_got, 1);
	cr_assert(strstr(got[0].steps, "\"proc.pid\":41"), "%s", got[0].steps);
	detect__free(d);
}

Test(stateful, sequence_by_tree_joins_descendants_only)
{
	struct detect *d = detect_with(SEQUENCE("tree", "60s"), 0);

	procs = proctable__new(64, 0);
	forked(1, 500); /* the writer */
	forked(500, 501);
	forked(501, 502); /* its grandchild */
	forked(1, 600);	  /* a stranger */
	/* the grandchild goes on from its grandparent's first step */
	open_w(d, "/tmp/s1", 500, T0);
	chmod_of(d, "/tmp/s1", 501, T0 + S);
	open_r(d, "/tmp/s1", 502, T0 + 2 * S);
	cr_assert_eq(n_got, 1);
	cr_assert(strstr(got[0].steps, "\"proc.pid\":502"), "%s", got[0].steps);
	/* not a stranger, nor a parent after its child */
	open_w(d, "/tmp/s2", 500, T0);
	chmod_of(d, "/tmp/s2", 600, T0 + S);
	open_r(d, "/tmp/s2", 600, T0 + 2 * S);
	open_w(d, "/tmp/s3", 501, T0);
	chmod_of(d, "/tmp/s3", 500, T0 + S);
	open_r(d, "/tmp/s3", 500, T0 + 2 * S);
	cr_assert_eq(n_got, 1);
	detect__free(d);
	proctable__free(procs);
	procs = NULL;
}

Test(stateful, tables_are_bounded_and_evictions_counted)
{
	struct detect *d = detect_with(THRESHOLD("{count: 2, within: 60s, by: [proc.pid]}"), 4);
	const struct stateful_rule_stats *st;

	for (uint32_t pid = 100; pid < 110; pid++)
		open_w(d, "/tmp/t1", pid, T0 + pid);
	st = state_of(d, "R");
	cr_assert_not_null(st);
	cr_assert_str_eq(st->kind, "threshold");
	cr_assert_eq(st->entries, 4);
	cr_assert_eq(st->evictions, 6);
	/* pid 100 was evicted: its second match is a first one */
	open_w(d, "/tmp/t1", 100, T0 + S);
	cr_assert_eq(n_got, 0);
	/* pid 109 was kept */
	open_w(d, "/tmp/t1", 109, T0 + S);
	cr_assert_eq(n_got, 1);
	detect__free(d);
}

Test(stateful, expired_entries_make_room_without_eviction)
{
	struct detect *d = detect_with(THRESHOLD("{count: 2, within: 1s, by: [proc.pid]}"), 2);

	for (uint32_t pid = 100; pid < 110; pid++)
		open_w(d, "/tmp/t1", pid, T0 + pid * 2 * S);
	cr_assert_eq(state_of(d, "R")->evictions, 0);
	detect__free(d);
}

Test(stateful, reload_keeps_unchanged_rules_state_and_drops_changed)
{
	struct detect *d = detect_with(THRESHOLD("{count: 3, within: 60s, by: [proc.pid]}"), 0);

	open_w(d, "/tmp/t1", 10, T0);
	open_w(d, "/tmp/t1", 10, T0 + S);
	/* another rule added: R is unchanged and keeps its two matches */
	write_rules(
	    THRESHOLD("{count: 3, within: 60s, by: [proc.pid]}") "- rule: other\n  desc: d\n  "
								 "priority: WARNING\n  output: o\n"
								 "  condition: evt.type = mkdir\n");
	cr_assert_eq(detect__reload(d), 0);
	open_w(d, "/tmp/t1", 10, T0 + 2 * S);
	cr_assert_eq(n_got, 1, "state was kept");

	open_w(d, "/tmp/t1", 10, T0 + 3 * S);
	open_w(d, "/tmp/t1", 10, T0 + 4 * S);
	/* R changed (its window): its state is dropped */
	write_rules(THRESHOLD("{count: 3, within: 61s, by: [proc.pid]}"));
	cr_assert_eq(detect__reload(d), 0);
	open_w(d, "/tmp/t1", 10, T0 + 5 * S);
	cr_assert_eq(n_got, 1, "state was dropped");
	open_w(d, "/tmp/t1", 10, T0 + 6 * S);
	open_w(d, "/tmp/t1", 10, T0 + 7 * S);
	cr_assert_eq(n_got, 2);
	detect__free(d);
}

Test(stateful, reload_of_a_changed_aggregate_flushes_it)
{
	struct detect *d = detect_with(AGGREGATE, 0);

	open_w(d, "/tmp/a1", 30, T0);
	open_w(d, "/tmp/a1", 30, T0 + S);
	n_got = 0;
	/* a change elsewhere in the file (a macro the rule does not use): kept */
	write_rules("- macro: m\n  condition: proc.name = x\n" AGGREGATE);
	cr_assert_eq(detect__reload(d), 0);
	cr_assert_eq(n_got, 0);
	/* the rule itself changed: its pending summary goes out at the reload */
	write_rules(HEAD "  condition: evt.type = openat and evt.is_open_write = true and fd.name "
			 "startswith /tmp/a\n  aggregate: {within: 30s, by: [fd.name]}\n");
	cr_assert_eq(detect__reload(d), 0);
	cr_assert_eq(n_got, 1);
	cr_assert(got[0].aggregated);
	cr_assert_str_eq(got[0].count, "2");
	detect__free(d);
}

Test(stateful, sequence_prefilter_lets_every_step_through)
{
	struct detect *d = detect_with(SEQUENCE("process", "5m"), 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	detect_print_prefilter(detect__engine(d), f);
	fclose(f);
	cr_assert(strstr(buf, "chmod     match /tmp/s*"), "%s", buf);
	cr_assert(strstr(buf, "open      match /tmp/s*"), "%s", buf);
	free(buf);
	detect__free(d);
}

/* Compiles yaml; the diagnostics, one a line, in a static buffer. */
static const char *diags_of(const char *yaml)
{
	static char out[4096];
	struct rule_engine_opts o = {0};
	struct rule_engine *e;

	fields_bind(&o);
	e = rule_engine__new(&o);
	cr_assert_not_null(e);
	out[0] = '\0';
	if (!rule_engine__load_buf(e, "s.yaml", yaml, strlen(yaml)))
		rule_engine__compile(e);
	for (size_t i = 0; i < rule_engine__diag_count(e); i++) {
		char line[512];

		rule_diag__format(rule_engine__diag(e, i), line, sizeof(line));
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s\n", line);
	}
	rule_engine__free(e);
	return out;
}

#define COND "  condition: evt.type = openat\n"

Test(stateful, bad_keys_are_errors_with_place_and_rule)
{
	cr_assert(strstr(diags_of(HEAD COND "  threshold: {count: 0, within: 5s}\n"),
			 "s.yaml:6:22: error: rule 'R': 'threshold.count' must be a whole number"));
	cr_assert(strstr(diags_of(HEAD COND "  threshold: {count: 5, within: banana}\n"),
			 "s.yaml:6:33: error: rule 'R': 'threshold.within' must be a positive "
			 "duration"));
	cr_assert(strstr(diags_of(HEAD COND "  threshold: {count: 5}\n"),
			 "error: rule 'R': 'threshold' needs 'within'"));
	cr_assert(strstr(diags_of(HEAD COND "  aggregate: {within: 5s, by: [proc.nosuch]}\n"),
			 "s.yaml:6:32: error: rule 'R': 'aggregate.by': unknown field"));
	cr_assert(strstr(diags_of(HEAD COND "  aggregate: {within: 5s, every: 3}\n"),
			 "error: rule 'R': unknown key 'every' in 'aggregate'"));
	cr_assert(
	    strstr(diags_of(HEAD "  sequence: {by: tree, within: 5s, steps: [{condition: evt.type "
				 "= execve}]}\n"),
		   "s.yaml:5:43: error: rule 'R': 'sequence.steps' must be a list of 2"));
	cr_assert(strstr(diags_of(HEAD "  sequence: {by: family, within: 5s, steps: "
				       "[{condition: evt.type = execve}, {condition: evt.type = "
				       "chmod}]}\n"),
			 "error: rule 'R': 'sequence.by' must be process, tree or container, "
			 "not 'family'"));
	cr_assert(strstr(diags_of(HEAD "  sequence: {by: tree, within: 5s, steps: "
				       "[{condition: evt.type = execve}, {condition: proc.nme = "
				       "x}]}\n"),
			 "unknown field 'proc.nme' (rule 'R')"));
	cr_assert(strstr(diags_of(HEAD "  sequence: {by: tree, within: 5s, steps: "
				       "[{condition: evt.type = execve}, {condition: evt.type = "
				       "chmod, same: {fd.nme: fd.name}}]}\n"),
			 "error: rule 'R': 'same': unknown field 'fd.nme'"));
	cr_assert(strstr(diags_of(HEAD COND "  threshold: {count: 2, within: 5s}\n"
					    "  aggregate: {within: 5s}\n"),
			 "'threshold' and 'aggregate' cannot be used together"));
	cr_assert(strstr(diags_of(HEAD "  threshold: {count: 2, within: 5s}\n"),
			 "has no 'condition' key"));
	/* and good ones have none */
	cr_assert_str_eq(diags_of(SEQUENCE("tree", "5m")), "");
	cr_assert_str_eq(diags_of(AGGREGATE), "");
}

Test(stateful, falco_rules_are_not_stateful)
{
	struct rule_engine_opts o = {0};
	struct rule_engine *e;
	const char *y = HEAD COND;

	fields_bind(&o);
	e = rule_engine__new(&o);
	cr_assert_eq(rule_engine__load_buf(e, "p.yaml", y, strlen(y)), 0);
	cr_assert_eq(rule_engine__compile(e), 0);
	cr_assert_null(rule_engine__rule(e, 0)->state);
	rule_engine__free(e);
}

Test(stateful, fingerprint_is_stable_across_compiles_and_sees_changes)
{
	const char *a = THRESHOLD("{count: 3, within: 60s, by: [proc.pid]}");
	const char *b = THRESHOLD("{count: 4, within: 60s, by: [proc.pid]}");
	uint64_t fp[3];
	const char *y[3] = {a, a, b};

	for (int i = 0; i < 3; i++) {
		struct rule_engine_opts o = {0};
		struct rule_engine *e;

		fields_bind(&o);
		e = rule_engine__new(&o);
		cr_assert_eq(rule_engine__load_buf(e, "f.yaml", y[i], strlen(y[i])), 0);
		cr_assert_eq(rule_engine__compile(e), 0);
		fp[i] = rule_engine__rule(e, 0)->state->fingerprint;
		rule_engine__free(e);
	}
	cr_assert_eq(fp[0], fp[1]);
	cr_assert_neq(fp[0], fp[2]);
}
