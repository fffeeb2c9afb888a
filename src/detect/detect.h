/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * detect.h - detection: owns the rule engine bound to vigil's events, evaluates
 * each event, renders each alert's parts (text line, typed fields) once, reloads rules without
 * losing the running set on error, and derives the kernel prefilter from the rules.
 */
#ifndef VIGIL_DETECT_H
#define VIGIL_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rules/engine.h"

struct event;
struct proctable;
struct filter_spec;
struct metric;

/* An alert's parts, rendered once; the outputs render its JSON (alert__json). */
struct detect_alert {
	const struct rule_info *rule;	     /* the rule that fired: name, priority, tags */
	size_t rule_idx;		     /* its index in the engine */
	const struct event *ev;		     /* the event it fired on; NULL for an aggregate's
						summary, whose actions ran with each match */
	uint64_t time_ns;		     /* event time, wall clock */
	const char *hostname;		     /* as given to detect__eval */
	const char *output;		     /* Falco's text line: "<time>: <Priority> <message>" */
	const struct rule_out_field *fields; /* output_fields, typed, in name order */
	size_t n_fields;		     /* entries in fields */
	bool ancestry_unknown;	  /* the process, or a parent before pid 1, is not in the table */
	bool held;		  /* merged into a pending aggregate: act on it, do not send it */
	const char *container_id; /* when ev is NULL: the container's short id, or "host" */
};

typedef void (*detect_alert_fn)(void *arg, const struct detect_alert *a);

struct detect_opts {
	const char *const *files;	 /* rule files, in load order; NULL: the built-in set */
	size_t n_files;			 /* entries in files */
	enum rule_priority min_priority; /* skip less severe rules */
	bool unknown_field_warn;  /* a rule with an unknown field is disabled, not an error */
	detect_alert_fn on_alert; /* called for each alert */
	void *arg;		  /* passed to on_alert and check */
	/* Called with each newly compiled set before it is used (its actions planned),
	 * with where its diagnostics go; nonzero refuses the set, as a compile error
	 * would. NULL: none. */
	int (*check)(void *arg, const struct rule_engine *e, FILE *diag);
	size_t state_max_entries; /* per stateful rule: groups or partial matches (0: 4096) */
	size_t state_max_values;  /* distinct values a threshold alert lists (0: 32) */
};

struct detect_stats {
	uint64_t evaluated;	/* events run through the engine */
	uint64_t alerts;	/* rules that fired */
	uint64_t reloads;	/* successful reloads */
	uint64_t reload_errors; /* reloads that failed (old rules kept) */
	size_t rules_loaded;	/* rules in the running set */
	size_t rules_active;	/* of which evaluated */
};

struct detect;

/* Loads and compiles the rules; on error prints every diagnostic to stderr
 * ("file:line:col: error: ...") and returns NULL. */
struct detect *detect__new(const struct detect_opts *opts);
void detect__free(struct detect *d);

/* Loads the files again; swaps the new set in only if it compiled. 0 or -EINVAL. */
int detect__reload(struct detect *d);
/* The same, with the diagnostics ("file:line:col: error: ...") written to diag. */
int detect__reload_diag(struct detect *d, FILE *diag);

/* Runs the rules on one event. hostname names this machine in alerts. */
void detect__eval(struct detect *d, const struct event *ev, struct proctable *procs,
		  const char *hostname);

/*
 * Derives the prefilter from the active rules into out (which should start as
 * filter_spec_init): per event type, nothing when no rule can see it, the path
 * prefixes/exact paths, ports or comms the rules compare, or everything. A type
 * with a value the kernel cannot compare, or whose derivation fails, is sent
 * whole and its reason recorded in out->fallback. Returns 0, or the first -errno
 * a derivation failed with (ENOMEM, ...); out is complete and safe to apply
 * either way.
 */
int detect__derive_filter(const struct detect *d, struct filter_spec *out);
/* The same from an engine (vigil rules prefilter, tests). */
int detect_derive_prefilter(const struct rule_engine *e, struct filter_spec *out);

/* Emits every pending aggregate (before the outputs close, at stop). */
void detect__flush(struct detect *d);
/* Emits the aggregates whose window closed before now_ns (wall time, for quiet periods). */
void detect__tick(struct detect *d, uint64_t now_ns);
struct stateful_rule_stats;
/* Per stateful rule: live entries and evictions; returns how many rules there are. */
size_t detect__state_stats(const struct detect *d, struct stateful_rule_stats *out, size_t max);

/* Observes a sample of evaluation times into the histogram h. */
void detect__time_evaluations(struct detect *d, struct metric *h);

const struct rule_engine *detect__engine(const struct detect *d);
void detect__stats(const struct detect *d, struct detect_stats *out);

/* Lists rules with priority, tags and event types (vigil rules list). */
void detect_print_rules(const struct rule_engine *e, FILE *out);

/* Prints the prefilter derived from e, one line per event type (filter_spec_print). */
void detect_print_prefilter(const struct rule_engine *e, FILE *out);

/* The ruleset compiled into the binary from the rules/ directory at build time. */
extern const char vigil_builtin_rules[];
extern const unsigned int vigil_builtin_rules_len;

#endif /* VIGIL_DETECT_H */
