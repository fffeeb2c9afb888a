/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * metrics.h - vigil's own metrics: a small registry of counters, gauges and
 * histograms rendered in the Prometheus text format 0.0.4, and an HTTP endpoint
 * (libmicrohttpd, its own thread) serving /metrics, /healthz and /readyz.
 *
 * Threads: families and series are created under a mutex (do it at start-up or once
 * per new label value and keep the handle); values are C11 atomics, so the event
 * loop updates them without locks while the HTTP thread reads them. Every mutator
 * accepts NULL and does nothing, so callers need not check whether metrics are on.
 *
 * Values that live elsewhere (the kernel's per-type counters in BPF maps) are read
 * at scrape time by collectors: callbacks run on the HTTP thread that write whole
 * families through a struct metrics_writer.
 */
#ifndef VIGIL_METRICS_H
#define VIGIL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum metric_type {
	METRIC_COUNTER = 1,   /* name must end in _total; only goes up */
	METRIC_GAUGE = 2,     /* any value */
	METRIC_HISTOGRAM = 3, /* buckets, _sum and _count */
};

#define METRICS_MAX_LABELS     4    /* label names per family */
#define METRICS_MAX_SERIES     4096 /* series per family; later label sets are not recorded */
#define METRICS_DEFAULT_LISTEN "127.0.0.1:9376"

struct metrics;
struct metric_family;
struct metric;
struct metrics_writer;

struct metrics_opts {
	const char *version; /* vigil_build_info{version=...} */
	uint64_t stall_ns;   /* /healthz fails when the last heartbeat is older; 0: never */
	bool no_health;	     /* serve /metrics only: /healthz and /readyz answer 404 */
};

/* The registry, with the families every vigil has (see struct metrics_agent). */
struct metrics *metrics__new(const struct metrics_opts *opts);
/* Stops the HTTP server (if any), then frees every family and series. */
void metrics__free(struct metrics *m);

/*
 * Registers a family, or returns the one already registered under that name when
 * type and label names agree. labels is NULL-terminated (NULL: no labels). Returns
 * NULL with errno EINVAL (bad name, counter without _total, mismatch) or ENOMEM.
 */
struct metric_family *metrics__family(struct metrics *m, enum metric_type type, const char *name,
				      const char *help, const char *const *labels);
/* Same for a histogram with sorted, finite upper bounds (+Inf is implicit). */
struct metric_family *metrics__histogram(struct metrics *m, const char *name, const char *help,
					 const char *const *labels, const double *bounds,
					 size_t n_bounds);
/*
 * The series of f for these label values (one per label name; NULL when the family
 * has none), created on first use. Valid until metrics__free. NULL with errno
 * ENOMEM or E2BIG (family full); f may be NULL (returns NULL).
 */
struct metric *metric_family__series(struct metric_family *f, const char *const *values);
/* Unlabelled shorthands: family and its one series. */
struct metric *metrics__counter(struct metrics *m, const char *name, const char *help);
struct metric *metrics__gauge(struct metrics *m, const char *name, const char *help);

void metric__inc(struct metric *s);		    /* counter += 1 */
void metric__add(struct metric *s, uint64_t n);	    /* counter += n */
void metric__set(struct metric *s, double v);	    /* gauge = v */
void metric__gauge_add(struct metric *s, double d); /* gauge += d */
void metric__observe(struct metric *s, double v);   /* histogram */
double metric__value(const struct metric *s); /* counter, gauge; histogram: count. 0 if NULL */

/* ---- collectors: families computed at scrape time, on the HTTP thread ---- */

typedef void (*metrics_collect_fn)(struct metrics_writer *w, void *arg);

/* Adds a collector; it must stay valid until metrics__free. 0 or -ENOMEM. */
int metrics__add_collector(struct metrics *m, metrics_collect_fn fn, void *arg);
/* Starts a family in the exposition: its HELP and TYPE lines (not for histograms). */
void metrics_writer__family(struct metrics_writer *w, enum metric_type type, const char *name,
			    const char *help);
/* One sample of the current family; labels is name, value, name, value, ..., NULL. */
void metrics_writer__sample(struct metrics_writer *w, const char *const *labels, double v);

/* Kernel counters for one event type, as the agent reads them from its BPF maps. */
struct metrics_event_counts {
	const char *type;  /* "exec", "open", ... */
	uint64_t seen;	   /* events the sensors saw */
	uint64_t filtered; /* dropped by the in-kernel prefilter */
	uint64_t sent;	   /* written to the ring buffer */
	uint64_t lost;	   /* lost because the ring buffer was full */
};

/* Writes vigil_events_{seen,filtered,sent,lost}_total{type} from a collector. */
void metrics__write_event_counts(struct metrics_writer *w, const struct metrics_event_counts *c,
				 size_t n);

/* ---- families the agent updates (registered by metrics__new) ---- */

struct metrics_agent {
	struct metric *rule_eval_seconds;    /* histogram: rule engine time per event */
	struct metric *ringbuf_used;	     /* gauge: bytes pending in the ring buffer */
	struct metric *ringbuf_size;	     /* gauge: ring buffer size in bytes */
	struct metric *procs;		     /* gauge: entries in the process table */
	struct metric *procs_max;	     /* gauge: the process table's bound */
	struct metric *procs_evicted_exited; /* counter: exited entries forgotten */
	struct metric *procs_evicted_live;   /* counter: live ones forgotten for room */
	struct metric *procs_refused;	     /* counter: /proc entries that did not fit */
	struct metric *exe_writers_made;     /* counter: inodes entered in exe_writers */
	struct metric *rules_loaded;	     /* gauge: rules active after the last (re)load */
	struct metric *reload_ok;	     /* counter: rule (re)loads that compiled */
	struct metric *reload_failed;	     /* counter: rule reloads rejected (old rules kept) */
	struct metric *reload_success;	     /* gauge: 1 if the last (re)load compiled */
	struct metric *reload_time;	     /* gauge: when the last (re)load ended, Unix seconds */
	struct metric_family *prefilter_fallbacks; /* counter: types sent unfiltered, by reason */
	struct metric *containers;		   /* gauge: cgroups the container table holds */
	struct metric *containers_gone;		   /* counter: entries dropped, cgroup gone */
	struct metric *containers_room;		   /* counter: entries dropped for room */
	struct metric *meta_spec_read;		   /* counter: OCI runtime specs read */
	struct metric *meta_spec_missing;	   /* counter: specs not found */
	struct metric *meta_api_ok;		   /* counter: API answers used */
	struct metric *meta_api_failed;		   /* counter: API lookups nobody answered */
	struct metric *meta_api_not_found;	   /* counter: APIs that did not know it */
	struct metric *meta_lost;		   /* counter: lookups not made or dropped */
};

const struct metrics_agent *metrics__agent(const struct metrics *m);
/* Records a rule (re)load outcome: counters, last outcome, its time, rules loaded. */
void metrics__rules_loaded(struct metrics *m, bool ok, size_t n_rules);

/* vigil_program_enabled{program,kind}: 1 when the BPF program runs, 0 switched off. */
void metrics__bpf_program(struct metrics *m, const char *program, const char *kind, bool enabled);
/* vigil_kernel_feature{feature}: what the loader's probes found at start. */
void metrics__kernel_feature(struct metrics *m, const char *feature, bool available, bool used);
/* Counts one event type sent up unfiltered because its prefilter could not be set
 * (vigil_prefilter_fallbacks_total{type,reason}); m may be NULL. */
void metrics__prefilter_fallback(struct metrics *m, const char *type, const char *reason);

/* The whole exposition as text (malloc'd, NUL-terminated), or NULL with errno. */
char *metrics__render(struct metrics *m, size_t *len);

/* ---- HTTP: /metrics, /healthz, /readyz ---- */

/*
 * Serves on listen ("127.0.0.1:9376", "[::1]:9376", port 0 picks one). Returns 0,
 * or -errno with a message naming the address and what to do in err.
 */
int metrics__serve(struct metrics *m, const char *listen, char *err, size_t errlen);
/* The port being served, 0 when not serving. */
int metrics__port(const struct metrics *m);
/* /readyz answers 200 once ready, else 503 with reason (copied; NULL: "starting"). */
void metrics__set_ready(struct metrics *m, bool ready, const char *reason); /* m may be NULL */
/* The event loop calls this each iteration; /healthz fails if it stops (stall_ns). */
void metrics__heartbeat(struct metrics *m);
/* Whether /healthz would answer 200; why not into why. */
bool metrics__healthy(struct metrics *m, char *why, size_t len);

#endif /* VIGIL_METRICS_H */
