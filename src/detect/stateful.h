/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * stateful.h - the runtime of stateful rules (threshold, aggregate, sequence; the
 * keys are typed by the rule engine, rules/state.c). Windows run on the events'
 * own timestamps, so a replay decides as the live agent did. Each rule has one
 * bounded table (LRU); what it evicts is counted. detect.c asks it about each match
 * of a stateful rule and renders what it says to alert.
 */
#ifndef VIGIL_DETECT_STATEFUL_H
#define VIGIL_DETECT_STATEFUL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules/engine.h"

struct event;
struct proctable;

struct stateful_opts {
	size_t max_entries; /* groups, partial sequences or pending aggregates per rule */
	size_t max_values;  /* distinct values a threshold alert lists */
};

/* What to do about one match. */
enum stateful_do {
	STATEFUL_NOTHING = 0, /* counted or remembered: no alert, no action */
	STATEFUL_FIRE = 1,    /* alert (and act) now, with the extra fields */
	STATEFUL_FIRST = 2,   /* aggregate: alert (and act) now, then stateful__keep it */
	STATEFUL_ACT = 3,     /* aggregate: merged into a pending alert; act only */
};

#define STATEFUL_EXTRA_MAX 6

struct stateful_verdict {
	enum stateful_do what;				 /* what to do */
	struct rule_out_field extra[STATEFUL_EXTRA_MAX]; /* vigil.* fields to add */
	size_t n_extra;					 /* entries in extra */
	const char *suffix;				 /* appended to the text line; NULL: none */
	void *entry;					 /* STATEFUL_FIRST: for stateful__keep */
};

/* A pending aggregate's summary, handed to the emit callback. */
struct stateful_summary {
	const struct rule_info *rule;	     /* the rule */
	size_t rule_idx;		     /* its index in the running engine */
	const char *output;		     /* text line, with the summary appended */
	const struct rule_out_field *fields; /* the first alert's, with vigil.* added, by name */
	size_t n_fields;		     /* entries in fields */
	const char *container_id;	     /* the first match's container ("host") */
	uint64_t time_ns;		     /* the last match's time */
};

typedef void (*stateful_emit_fn)(void *arg, const struct stateful_summary *s);

/* Per stateful rule, for status and metrics. */
struct stateful_rule_stats {
	const char *rule;   /* name */
	const char *kind;   /* "threshold", "aggregate", "sequence" */
	size_t entries;	    /* live entries */
	uint64_t evictions; /* entries pushed out while their window was open */
};

struct stateful;

struct stateful *stateful__new(const struct stateful_opts *o, stateful_emit_fn emit, void *arg);
/* Flushes pending aggregates (emit), then frees. */
void stateful__free(struct stateful *s);

/*
 * Binds to a newly compiled engine (the first one, or a reload's before the old one
 * is freed): a rule whose fingerprint is unchanged keeps its state; the state of a
 * changed or removed rule is dropped, its pending aggregates emitted first.
 */
void stateful__bind(struct stateful *s, struct rule_engine *e);

/*
 * One match of a stateful rule, from rule_engine__eval's callback (fctx is the
 * getter's event, ev the event). *v says what to do; its pointers hold until the
 * next call.
 */
void stateful__match(struct stateful *s, struct rule_engine *e, size_t rule_idx, void *fctx,
		     const struct event *ev, struct proctable *procs, struct stateful_verdict *v);

/* Keeps a copy of the alert just emitted for an aggregate's STATEFUL_FIRST. */
void stateful__keep(struct stateful *s, void *entry, const char *output,
		    const struct rule_out_field *fields, size_t n_fields, const char *container_id);

/* Emits the aggregates whose window closed before now_ns (event or wall time). */
void stateful__expire(struct stateful *s, uint64_t now_ns);
/* Emits every pending aggregate (stop, reload). */
void stateful__flush(struct stateful *s);

/* Fills up to max entries of out; returns the number of stateful rules. */
size_t stateful__stats(const struct stateful *s, struct stateful_rule_stats *out, size_t max);

#endif /* VIGIL_DETECT_STATEFUL_H */
