// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * metrics.c - the metrics registry, its Prometheus text rendering and the HTTP
 * endpoint. Writers (the event loop, output workers) only touch atomics; the
 * registry mutex guards the family and series lists, which grow but never shrink,
 * so a handle stays valid for the registry's life.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "metrics.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metric {
	struct metric_family *f;	  /* owner */
	char *values[METRICS_MAX_LABELS]; /* label values, f->n_labels of them */
	_Atomic uint64_t v;		  /* counter: count; gauge: double bits; hist: unused */
	_Atomic uint64_t sum;		  /* histogram: double bits of the sum */
	_Atomic uint64_t *buckets;	  /* histogram: per-bucket (not cumulative), n_bounds+1 */
	struct metric *next;		  /* next series of the family, creation order */
};

struct metric_family {
	struct metrics *m;		  /* registry */
	enum metric_type type;		  /* counter, gauge, histogram */
	char *name;			  /* full name; counters end in _total */
	char *help;			  /* HELP text */
	char *labels[METRICS_MAX_LABELS]; /* label names */
	size_t n_labels;		  /* entries in labels */
	double *bounds;			  /* histogram upper bounds, sorted */
	size_t n_bounds;		  /* entries in bounds */
	struct metric *series;		  /* first series */
	struct metric **tail;		  /* where the next series is linked */
	size_t n_series;		  /* entries in series */
	struct metric_family *next;	  /* next family, registration order */
};

struct metrics_collector {
	metrics_collect_fn fn; /* callback */
	void *arg;	       /* its argument */
};

struct metrics {
	pthread_mutex_t lock;		      /* families, series, collectors, ready_reason */
	struct metric_family *families;	      /* registration order */
	struct metric_family **tail;	      /* where the next family is linked */
	struct metrics_collector *collectors; /* scrape-time callbacks */
	size_t n_collectors;		      /* entries in collectors */
	struct metrics_agent agent;	      /* the agent's handles */
	struct MHD_Daemon *httpd;	      /* NULL when not serving */
	int port;			      /* served port */
	atomic_bool ready;		      /* /readyz answers 200 */
	char ready_reason[128];		      /* why not ready */
	_Atomic uint64_t heartbeat_ns;	      /* CLOCK_MONOTONIC of the last heartbeat, 0: none */
	uint64_t stall_ns;		      /* heartbeat age that fails /healthz, 0: never */
	bool health;			      /* serve /healthz and /readyz */
};

/* A growable text buffer; the first allocation failure sticks. */
struct mbuf {
	char *p;    /* heap, NUL-terminated */
	size_t len; /* bytes used */
	size_t cap; /* bytes allocated */
	bool err;   /* out of memory */
};

struct metrics_writer {
	struct mbuf *b;	       /* output */
	char name[128];	       /* current family, "" when none */
	enum metric_type type; /* its type */
};

static const double rule_eval_bounds[] = {
    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 1e-2,
};

/* ---- text buffer and formatting ---- */

static bool mbuf_reserve(struct mbuf *b, size_t extra)
{
	size_t cap;
	char *p;

	if (b->err)
		return false;
	if (b->len + extra + 1 <= b->cap)
		return true;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + extra + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->err = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void mbuf_put(struct mbuf *b, const char *s, size_t n)
{
	if (!mbuf_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void mbuf_puts(struct mbuf *b, const char *s)
{
	mbuf_put(b, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3))) mbuf_printf(struct mbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!mbuf_reserve(b, 64))
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		if (!mbuf_reserve(b, n))
			return;
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += n;
}

/* Shortest text that reads back as the same double; Go's parser takes all of it. */
static void fmt_double(char *buf, size_t len, double v)
{
	if (isnan(v)) {
		snprintf(buf, len, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (v == floor(v) && fabs(v) < 9007199254740992.0) {
		snprintf(buf, len, "%.0f", v);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

/* Label values escape backslash, double quote and newline; HELP only the first and last. */
static void put_escaped(struct mbuf *b, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			mbuf_puts(b, "\\\\");
		else if (*s == '\n')
			mbuf_puts(b, "\\n");
		else if (*s == '"' && quote)
			mbuf_puts(b, "\\\"");
		else
			mbuf_put(b, s, 1);
	}
}

static double bits_to_double(uint64_t u)
{
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

static uint64_t double_to_bits(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return u;
}

static void atomic_add_double(_Atomic uint64_t *p, double d)
{
	uint64_t old = atomic_load_explicit(p, memory_order_relaxed);

	while (!atomic_compare_exchange_weak_explicit(p, &old,
						      double_to_bits(bits_to_double(old) + d),
						      memory_order_relaxed, memory_order_relaxed))
		;
}

static uint64_t now_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ---- names ---- */

static bool valid_name(const char *s, bool colon)
{
	if (!s || !*s)
		return false;
	for (const char *p = s; *p; p++) {
		bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
			     (colon && *p == ':');
		if (!alpha && !(p != s && *p >= '0' && *p <= '9'))
			return false;
	}
	return true;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

/* ---- registry ---- */

static void family_free(struct metric_family *f)
{
	struct metric *s, *next;

	for (s = f->series; s; s = next) {
		next = s->next;
		for (size_t i = 0; i < f->n_labels; i++)
			free(s->values[i]);
		free(s->buckets);
		free(s);
	}
	for (size_t i = 0; i < f->n_labels; i++)
		free(f->labels[i]);
	free(f->name);
	free(f->help);
	free(f->bounds);
	free(f);
}

static bool family_matches(const struct metric_family *f, enum metric_type type,
			   const char *const *labels, const double *bounds, size_t n_bounds)
{
	size_t n = 0;

	if (f->type != type)
		return false;
	for (; labels && labels[n]; n++)
		if (n >= f->n_labels || strcmp(labels[n], f->labels[n]))
			return false;
	if (n != f->n_labels || n_bounds != f->n_bounds)
		return false;
	return !n_bounds || !memcmp(bounds, f->bounds, n_bounds * sizeof(*bounds));
}

static struct metric_family *family_add(struct metrics *m, enum metric_type type, const char *name,
					const char *help, const char *const *labels,
					const double *bounds, size_t n_bounds)
{
	struct metric_family *f;
	size_t n_labels = 0;

	if (!m || !valid_name(name, true) || !help)
		goto err_inval;
	if (type == METRIC_COUNTER && !has_suffix(name, "_total"))
		goto err_inval;
	for (; labels && labels[n_labels]; n_labels++)
		if (n_labels >= METRICS_MAX_LABELS || !valid_name(labels[n_labels], false) ||
		    !strncmp(labels[n_labels], "__", 2) ||
		    (type == METRIC_HISTOGRAM && !strcmp(labels[n_labels], "le")))
			goto err_inval;
	for (size_t i = 0; i < n_bounds; i++)
		if (!isfinite(bounds[i]) || (i && bounds[i] <= bounds[i - 1]))
			goto err_inval;

	pthread_mutex_lock(&m->lock);
	for (f = m->families; f; f = f->next) {
		if (strcmp(f->name, name))
			continue;
		pthread_mutex_unlock(&m->lock);
		if (!family_matches(f, type, labels, bounds, n_bounds))
			goto err_inval;
		return f;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		goto err_nomem;
	f->m = m;
	f->type = type;
	f->n_labels = n_labels;
	f->tail = &f->series;
	f->name = strdup(name);
	f->help = strdup(help);
	if (!f->name || !f->help)
		goto err_free;
	for (size_t i = 0; i < n_labels; i++)
		if (!(f->labels[i] = strdup(labels[i])))
			goto err_free;
	if (n_bounds) {
		f->bounds = malloc(n_bounds * sizeof(*bounds));
		if (!f->bounds)
			goto err_free;
		memcpy(f->bounds, bounds, n_bounds * sizeof(*bounds));
		f->n_bounds = n_bounds;
	}
	*m->tail = f;
	m->tail = &f->next;
	pthread_mutex_unlock(&m->lock);
	return f;

err_free:
	family_free(f);
err_nomem:
	pthread_mutex_unlock(&m->lock);
	errno = ENOMEM;
	return NULL;
err_inval:
	errno = EINVAL;
	return NULL;
}

struct metric_family *metrics__family(struct metrics *m, enum metric_type type, const char *name,
				      const char *help, const char *const *labels)
{
	if (type == METRIC_HISTOGRAM) {
		errno = EINVAL;
		return NULL;
	}
	return family_add(m, type, name, help, labels, NULL, 0);
}

struct metric_family *metrics__histogram(struct metrics *m, const char *name, const char *help,
					 const char *const *labels, const double *bounds,
					 size_t n_bounds)
{
	return family_add(m, METRIC_HISTOGRAM, name, help, labels, bounds, n_bounds);
}

static bool series_matches(const struct metric *s, const char *const *values)
{
	for (size_t i = 0; i < s->f->n_labels; i++)
		if (strcmp(s->values[i], values[i] ? values[i] : ""))
			return false;
	return true;
}

struct metric *metric_family__series(struct metric_family *f, const char *const *values)
{
	struct metric *s;
	int err = ENOMEM;

	if (!f) {
		errno = EINVAL;
		return NULL;
	}
	pthread_mutex_lock(&f->m->lock);
	for (s = f->series; s; s = s->next)
		if (series_matches(s, values))
			goto out;
	if (f->n_series >= METRICS_MAX_SERIES) {
		err = E2BIG;
		goto err_unlock;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		goto err_unlock;
	s->f = f;
	for (size_t i = 0; i < f->n_labels; i++)
		if (!(s->values[i] = strdup(values[i] ? values[i] : "")))
			goto err_free;
	if (f->type == METRIC_HISTOGRAM) {
		s->buckets = calloc(f->n_bounds + 1, sizeof(*s->buckets));
		if (!s->buckets)
			goto err_free;
	}
	*f->tail = s;
	f->tail = &s->next;
	f->n_series++;
out:
	pthread_mutex_unlock(&f->m->lock);
	return s;

err_free:
	for (size_t i = 0; i < f->n_labels; i++)
		free(s->values[i]);
	free(s);
err_unlock:
	pthread_mutex_unlock(&f->m->lock);
	errno = err;
	return NULL;
}

static struct metric *single(struct metrics *m, enum metric_type type, const char *name,
			     const char *help)
{
	return metric_family__series(metrics__family(m, type, name, help, NULL), NULL);
}

struct metric *metrics__counter(struct metrics *m, const char *name, const char *help)
{
	return single(m, METRIC_COUNTER, name, help);
}

struct metric *metrics__gauge(struct metrics *m, const char *name, const char *help)
{
	return single(m, METRIC_GAUGE, name, help);
}

void metric__inc(struct metric *s)
{
	metric__add(s, 1);
}

void metric__add(struct metric *s, uint64_t n)
{
	if (s && s->f->type == METRIC_COUNTER)
		atomic_fetch_add_explicit(&s->v, n, memory_order_relaxed);
}

void metric__set(struct metric *s, double v)
{
	if (s && s->f->type == METRIC_GAUGE)
		atomic_store_explicit(&s->v, double_to_bits(v), memory_order_relaxed);
}

void metric__gauge_add(struct metric *s, double d)
{
	if (s && s->f->type == METRIC_GAUGE)
		atomic_add_double(&s->v, d);
}

void metric__observe(struct metric *s, double v)
{
	size_t i = 0;

	if (!s || s->f->type != METRIC_HISTOGRAM || isnan(v))
		return;
	while (i < s->f->n_bounds && v > s->f->bounds[i])
		i++;
	atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
	atomic_add_double(&s->sum, v);
}

double metric__value(const struct metric *s)
{
	uint64_t n = 0;

	if (!s)
		return 0;
	switch (s->f->type) {
	case METRIC_COUNTER:
		return (double)atomic_load_explicit(&s->v, memory_order_relaxed);
	case METRIC_GAUGE:
		return bits_to_double(atomic_load_explicit(&s->v, memory_order_relaxed));
	case METRIC_HISTOGRAM:
		for (size_t i = 0; i <= s->f->n_bounds; i++)
			n += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
		return (double)n;
	}
	return 0;
}

int metrics__add_collector(struct metrics *m, metrics_collect_fn fn, void *arg)
{
	struct metrics_collector *c;
	int ret = 0;

	pthread_mutex_lock(&m->lock);
	c = realloc(m->collectors, (m->n_collectors + 1) * sizeof(*c));
	if (!c) {
		ret = -ENOMEM;
		goto out;
	}
	c[m->n_collectors++] = (struct metrics_collector){.fn = fn, .arg = arg};
	m->collectors = c;
out:
	pthread_mutex_unlock(&m->lock);
	return ret;
}

/* ---- rendering ---- */

static const char *type_name(enum metric_type t)
{
	switch (t) {
	case METRIC_COUNTER:
		return "counter";
	case METRIC_GAUGE:
		return "gauge";
	case METRIC_HISTOGRAM:
		return "histogram";
	}
	return "untyped";
}

static void put_header(struct mbuf *b, const char *name, const char *help, enum metric_type t)
{
	mbuf_printf(b, "# HELP %s ", name);
	put_escaped(b, help, false);
	mbuf_printf(b, "\n# TYPE %s %s\n", name, type_name(t));
}

/* name{l1="v1",...,extra="x"} value; extra may be NULL. */
static void put_sample(struct mbuf *b, const char *name, const char *suffix, const struct metric *s,
		       const char *extra_name, const char *extra, const char *value)
{
	size_t n = s ? s->f->n_labels : 0;

	mbuf_puts(b, name);
	mbuf_puts(b, suffix);
	if (n || extra) {
		mbuf_puts(b, "{");
		for (size_t i = 0; i < n; i++) {
			mbuf_printf(b, "%s%s=\"", i ? "," : "", s->f->labels[i]);
			put_escaped(b, s->values[i], true);
			mbuf_puts(b, "\"");
		}
		if (extra)
			mbuf_printf(b, "%s%s=\"%s\"", n ? "," : "", extra_name, extra);
		mbuf_puts(b, "}");
	}
	mbuf_printf(b, " %s\n", value);
}

static void render_histogram(struct mbuf *b, const struct metric *s)
{
	const struct metric_family *f = s->f;
	char le[32], val[32];
	uint64_t cum = 0;

	for (size_t i = 0; i <= f->n_bounds; i++) {
		cum += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
		if (i < f->n_bounds)
			fmt_double(le, sizeof(le), f->bounds[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		snprintf(val, sizeof(val), "%llu", (unsigned long long)cum);
		put_sample(b, f->name, "_bucket", s, "le", le, val);
	}
	fmt_double(val, sizeof(val),
		   bits_to_double(atomic_load_explicit(&s->sum, memory_order_relaxed)));
	put_sample(b, f->name, "_sum", s, NULL, NULL, val);
	snprintf(val, sizeof(val), "%llu", (unsigned long long)cum);
	put_sample(b, f->name, "_count", s, NULL, NULL, val);
}

static void render_family(struct mbuf *b, const struct metric_family *f)
{
	char val[32];

	put_header(b, f->name, f->help, f->type);
	for (const struct metric *s = f->series; s; s = s->next) {
		if (f->type == METRIC_HISTOGRAM) {
			render_histogram(b, s);
			continue;
		}
		if (f->type == METRIC_COUNTER)
			snprintf(
			    val, sizeof(val), "%llu",
			    (unsigned long long)atomic_load_explicit(&s->v, memory_order_relaxed));
		else
			fmt_double(val, sizeof(val), metric__value(s));
		put_sample(b, f->name, "", s, NULL, NULL, val);
	}
}

char *metrics__render(struct metrics *m, size_t *len)
{
	struct mbuf b = {0};
	struct metrics_writer w = {.b = &b};

	struct metrics_collector *cs = NULL;
	bool partial = false;
	size_t n = 0;

	if (!mbuf_reserve(&b, 0))
		goto err_nomem;
	pthread_mutex_lock(&m->lock);
	for (const struct metric_family *f = m->families; f; f = f->next)
		render_family(&b, f);
	/* collectors run unlocked: a slow one must not hold up series creation */
	if (m->n_collectors) {
		cs = malloc(m->n_collectors * sizeof(*cs));
		if (cs) {
			n = m->n_collectors;
			memcpy(cs, m->collectors, n * sizeof(*cs));
		}
		partial = !cs;
	}
	pthread_mutex_unlock(&m->lock);
	for (size_t i = 0; i < n; i++) {
		w.name[0] = '\0';
		cs[i].fn(&w, cs[i].arg);
	}
	free(cs);
	if (b.err || partial)
		goto err_nomem;
	if (len)
		*len = b.len;
	return b.p;

err_nomem:
	free(b.p);
	errno = ENOMEM;
	return NULL;
}

void metrics_writer__family(struct metrics_writer *w, enum metric_type type, const char *name,
			    const char *help)
{
	w->name[0] = '\0';
	if (type == METRIC_HISTOGRAM || !valid_name(name, true) || strlen(name) >= sizeof(w->name))
		return;
	if (type == METRIC_COUNTER && !has_suffix(name, "_total"))
		return;
	snprintf(w->name, sizeof(w->name), "%s", name);
	w->type = type;
	put_header(w->b, name, help ? help : "", type);
}

void metrics_writer__sample(struct metrics_writer *w, const char *const *labels, double v)
{
	char val[32];
	size_t i;

	if (!w->name[0])
		return;
	for (i = 0; labels && labels[i]; i += 2)
		if (!labels[i + 1] || !valid_name(labels[i], false))
			return;
	mbuf_puts(w->b, w->name);
	for (i = 0; labels && labels[i]; i += 2) {
		mbuf_printf(w->b, "%s%s=\"", i ? "," : "{", labels[i]);
		put_escaped(w->b, labels[i + 1], true);
		mbuf_puts(w->b, "\"");
	}
	if (i)
		mbuf_puts(w->b, "}");
	fmt_double(val, sizeof(val), v);
	mbuf_printf(w->b, " %s\n", val);
}

void metrics__write_event_counts(struct metrics_writer *w, const struct metrics_event_counts *c,
				 size_t n)
{
	static const struct {
		const char *name;
		const char *help;
		size_t off;
	} fams[] = {
	    {"vigil_events_seen_total", "Events the kernel sensors saw, by event type.",
	     offsetof(struct metrics_event_counts, seen)},
	    {"vigil_events_filtered_total",
	     "Events dropped in the kernel by the prefilter because no rule could match them.",
	     offsetof(struct metrics_event_counts, filtered)},
	    {"vigil_events_sent_total", "Events written to the ring buffer, by event type.",
	     offsetof(struct metrics_event_counts, sent)},
	    {"vigil_events_lost_total",
	     "Events lost because the ring buffer was full, by event type.",
	     offsetof(struct metrics_event_counts, lost)},
	};

	for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
		metrics_writer__family(w, METRIC_COUNTER, fams[f].name, fams[f].help);
		for (size_t i = 0; i < n; i++) {
			const char *labels[] = {"type", c[i].type, NULL};
			uint64_t v;

			memcpy(&v, (const char *)&c[i] + fams[f].off, sizeof(v));
			metrics_writer__sample(w, labels, (double)v);
		}
	}
}

/* ---- process metrics: the names every Prometheus client library exports ---- */

static void collect_process(struct metrics_writer *w, void *arg)
{
	long page = sysconf(_SC_PAGESIZE), ticks = sysconf(_SC_CLK_TCK);
	unsigned long long vsize_pages = 0, rss_pages = 0, start_ticks = 0, btime = 0;
	struct rusage ru;
	struct rlimit rl;
	char line[256];
	double fds = 0;
	DIR *d;
	FILE *f;

	if (!getrusage(RUSAGE_SELF, &ru)) {
		metrics_writer__family(w, METRIC_COUNTER, "process_cpu_seconds_total",
				       "Total user and system CPU time spent in seconds.");
		metrics_writer__sample(w, NULL,
				       ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
					   (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	}
	f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%llu %llu", &vsize_pages, &rss_pages) == 2) {
			metrics_writer__family(w, METRIC_GAUGE, "process_resident_memory_bytes",
					       "Resident memory size in bytes.");
			metrics_writer__sample(w, NULL, (double)rss_pages * page);
			metrics_writer__family(w, METRIC_GAUGE, "process_virtual_memory_bytes",
					       "Virtual memory size in bytes.");
			metrics_writer__sample(w, NULL, (double)vsize_pages * page);
		}
		fclose(f);
	}
	d = opendir("/proc/self/fd");
	if (d) {
		while (readdir(d))
			fds++;
		closedir(d);
		metrics_writer__family(w, METRIC_GAUGE, "process_open_fds",
				       "Number of open file descriptors.");
		metrics_writer__sample(w, NULL, fds - 3); /* ".", ".." and the directory's own */
	}
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY) {
		metrics_writer__family(w, METRIC_GAUGE, "process_max_fds",
				       "Maximum number of open file descriptors.");
		metrics_writer__sample(w, NULL, (double)rl.rlim_cur);
	}
	f = fopen("/proc/stat", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %llu", &btime) == 1)
			break;
	if (f)
		fclose(f);
	f = fopen("/proc/self/stat", "r");
	if (f) {
		char buf[1024], *p = NULL;
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);

		buf[n] = '\0';
		p = strrchr(buf, ')'); /* comm may hold spaces; fields restart after it */
		/* after ") " come state (field 3) ... starttime (field 22) */
		if (p && btime &&
		    sscanf(p + 2,
			   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
			   "%*d %*d %*d %llu",
			   &start_ticks) == 1) {
			metrics_writer__family(
			    w, METRIC_GAUGE, "process_start_time_seconds",
			    "Start time of the process since unix epoch in seconds.");
			metrics_writer__sample(w, NULL, btime + (double)start_ticks / ticks);
		}
		fclose(f);
	}
}

/* ---- lifecycle and the agent's families ---- */

static int register_agent(struct metrics *m, const char *version)
{
	struct metrics_agent *a = &m->agent;
	static const char *const result[] = {"result", NULL};
	static const char *const version_label[] = {"version", NULL};
	static const char *const fallback_labels[] = {"type", "reason", NULL};
	static const char *const reason[] = {"reason", NULL};
	static const char *const meta_labels[] = {"source", "result", NULL};
	struct metric_family *reloads, *build, *evictions, *meta, *forgot;

	a->rule_eval_seconds = metric_family__series(
	    metrics__histogram(m, "vigil_rule_evaluation_seconds",
			       "Time the rule engine spent on one event, in seconds.", NULL,
			       rule_eval_bounds,
			       sizeof(rule_eval_bounds) / sizeof(rule_eval_bounds[0])),
	    NULL);
	a->ringbuf_used = metrics__gauge(m, "vigil_ringbuf_used_bytes",
					 "Bytes written by the kernel and not yet read.");
	a->ringbuf_size = metrics__gauge(m, "vigil_ringbuf_size_bytes",
					 "Size of the kernel ring buffer in bytes.");
	a->procs =
	    metrics__gauge(m, "vigil_process_table_entries", "Processes the process table holds.");
	a->procs_max =
	    metrics__gauge(m, "vigil_process_table_max_entries", "The bound of the process table.");
	evictions = metrics__family(
	    m, METRIC_COUNTER, "vigil_process_table_evictions_total",
	    "Processes the process table forgot: exited ones (after lingering, or to make "
	    "room) and live ones (the least recently seen, to make room in a full table).",
	    reason);
	a->procs_evicted_exited = metric_family__series(evictions, (const char *const[]){"exited"});
	a->procs_evicted_live = metric_family__series(evictions, (const char *const[]){"live"});
	a->procs_refused = metrics__counter(
	    m, "vigil_process_table_refused_total",
	    "Processes found in /proc at start that did not fit the process table.");
	a->exe_writers_made = metrics__counter(
	    m, "vigil_exe_writers_made_total",
	    "Inodes entered in the kernel's map of files opened for writing (an LRU of 8192 "
	    "inodes, for proc.exe_writer.*): past 8192, each one pushed the least recently "
	    "written out.");
	a->rules_loaded = metrics__gauge(m, "vigil_rules_loaded",
					 "Rules active after the last successful (re)load.");
	reloads = metrics__family(m, METRIC_COUNTER, "vigil_rules_reloads_total",
				  "Rule loads and reloads, by result (a failed reload keeps the "
				  "old rules).",
				  result);
	a->reload_ok = metric_family__series(reloads, (const char *const[]){"success"});
	a->reload_failed = metric_family__series(reloads, (const char *const[]){"failure"});
	a->reload_success = metrics__gauge(m, "vigil_rules_last_reload_success",
					   "1 if the last rule (re)load compiled, else 0.");
	a->reload_time = metrics__gauge(m, "vigil_rules_last_reload_timestamp_seconds",
					"When the last rule (re)load ended, in Unix seconds.");
	build = metrics__family(m, METRIC_GAUGE, "vigil_build_info",
				"Always 1; the labels name the build.", version_label);
	metric__set(metric_family__series(build, (const char *const[]){version}), 1);
	a->prefilter_fallbacks = metrics__family(
	    m, METRIC_COUNTER, "vigil_prefilter_fallbacks_total",
	    "Event types sent up unfiltered because their prefilter could not be set (a value "
	    "the kernel cannot compare, memory, a full map), counted at each (re)load.",
	    fallback_labels);
	a->containers = metrics__gauge(m, "vigil_container_table_entries",
				       "Cgroups the container table holds (host and containers).");
	forgot = metrics__family(m, METRIC_COUNTER, "vigil_container_table_evictions_total",
				 "Container table entries dropped: their cgroup was removed "
				 "(gone), or the table was full (room).",
				 reason);
	a->containers_gone = metric_family__series(forgot, (const char *const[]){"gone"});
	a->containers_room = metric_family__series(forgot, (const char *const[]){"room"});
	meta = metrics__family(m, METRIC_COUNTER, "vigil_container_metadata_total",
			       "Container metadata lookups by source (spec: the OCI runtime spec "
			       "on disk; api: a Docker-compatible API) and result.",
			       meta_labels);
	a->meta_spec_read = metric_family__series(meta, (const char *const[]){"spec", "read"});
	a->meta_spec_missing =
	    metric_family__series(meta, (const char *const[]){"spec", "missing"});
	a->meta_api_ok = metric_family__series(meta, (const char *const[]){"api", "ok"});
	a->meta_api_failed = metric_family__series(meta, (const char *const[]){"api", "failed"});
	a->meta_api_not_found =
	    metric_family__series(meta, (const char *const[]){"api", "not_found"});
	a->meta_lost =
	    metrics__counter(m, "vigil_container_metadata_lost_total",
			     "Container metadata lookups not made (the worker too far "
			     "behind, no memory) or whose container was forgotten first.");
	if (!a->containers || !a->containers_gone || !a->containers_room || !a->meta_spec_read ||
	    !a->meta_spec_missing || !a->meta_api_ok || !a->meta_api_failed ||
	    !a->meta_api_not_found || !a->meta_lost)
		return -ENOMEM;
	if (!a->rule_eval_seconds || !a->ringbuf_used || !a->ringbuf_size || !a->procs ||
	    !a->procs_max || !a->procs_evicted_exited || !a->procs_evicted_live ||
	    !a->procs_refused || !a->exe_writers_made || !a->rules_loaded || !a->reload_ok ||
	    !a->reload_failed || !a->reload_success || !a->reload_time || !build ||
	    !a->prefilter_fallbacks)
		return -ENOMEM;
	return metrics__add_collector(m, collect_process, NULL);
}

struct metrics *metrics__new(const struct metrics_opts *opts)
{
	struct metrics *m = calloc(1, sizeof(*m));
	int err;

	if (!m)
		return NULL;
	pthread_mutex_init(&m->lock, NULL);
	m->tail = &m->families;
	m->stall_ns = opts ? opts->stall_ns : 0;
	m->health = !opts || !opts->no_health;
	snprintf(m->ready_reason, sizeof(m->ready_reason), "starting");
	err = register_agent(m, opts && opts->version ? opts->version : "unknown");
	if (err)
		goto err_free;
	return m;

err_free:
	metrics__free(m);
	errno = -err;
	return NULL;
}

void metrics__free(struct metrics *m)
{
	struct metric_family *f, *next;

	if (!m)
		return;
	if (m->httpd)
		MHD_stop_daemon(m->httpd);
	for (f = m->families; f; f = next) {
		next = f->next;
		family_free(f);
	}
	free(m->collectors);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void metrics__prefilter_fallback(struct metrics *m, const char *type, const char *reason)
{
	if (m)
		metric__inc(metric_family__series(m->agent.prefilter_fallbacks,
						  (const char *const[]){type, reason}));
}

const struct metrics_agent *metrics__agent(const struct metrics *m)
{
	return &m->agent;
}

void metrics__rules_loaded(struct metrics *m, bool ok, size_t n_rules)
{
	if (!m)
		return;
	metric__inc(ok ? m->agent.reload_ok : m->agent.reload_failed);
	metric__set(m->agent.reload_success, ok ? 1 : 0);
	metric__set(m->agent.reload_time, now_ns(CLOCK_REALTIME) / 1e9);
	if (ok)
		metric__set(m->agent.rules_loaded, (double)n_rules);
}

void metrics__bpf_program(struct metrics *m, const char *program, const char *kind, bool enabled)
{
	static const char *const labels[] = {"program", "kind", NULL};
	struct metric_family *f;

	if (!m)
		return;
	f = metrics__family(m, METRIC_GAUGE, "vigil_program_enabled",
			    "1 if the BPF program runs, 0 if it was switched off (see the "
			    "start-up notice)",
			    labels);
	metric__set(metric_family__series(f, (const char *const[]){program, kind}), enabled);
}

void metrics__kernel_feature(struct metrics *m, const char *feature, bool available, bool used)
{
	static const char *const labels[] = {"feature", NULL};
	struct metric_family *f;

	if (!m)
		return;
	f = metrics__family(m, METRIC_GAUGE, "vigil_kernel_feature",
			    "1 if the kernel accepted the start-up probe of this BPF feature",
			    labels);
	metric__set(metric_family__series(f, (const char *const[]){feature}), available);
	f = metrics__family(m, METRIC_GAUGE, "vigil_kernel_feature_used",
			    "1 if vigil uses this BPF feature here (vigil status says why not)",
			    labels);
	metric__set(metric_family__series(f, (const char *const[]){feature}), used);
}

/* ---- health ---- */

void metrics__set_ready(struct metrics *m, bool ready, const char *reason)
{
	if (!m)
		return; /* metrics disabled */
	pthread_mutex_lock(&m->lock);
	snprintf(m->ready_reason, sizeof(m->ready_reason), "%s", reason ? reason : "starting");
	atomic_store(&m->ready, ready);
	pthread_mutex_unlock(&m->lock);
}

void metrics__heartbeat(struct metrics *m)
{
	if (!m)
		return;
	atomic_store_explicit(&m->heartbeat_ns, now_ns(CLOCK_MONOTONIC), memory_order_relaxed);
}

bool metrics__healthy(struct metrics *m, char *why, size_t len)
{
	uint64_t hb = atomic_load_explicit(&m->heartbeat_ns, memory_order_relaxed);
	uint64_t now = now_ns(CLOCK_MONOTONIC);

	if (m->stall_ns && hb && now - hb > m->stall_ns) {
		snprintf(why, len, "the event loop has not run for %.1f s", (now - hb) / 1e9);
		return false;
	}
	snprintf(why, len, "ok");
	return true;
}

/* ---- HTTP ---- */

static enum MHD_Result respond(struct MHD_Connection *c, unsigned int status, char *body,
			       size_t len, const char *type)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result respond_text(struct MHD_Connection *c, unsigned int status, const char *msg)
{
	char *body;

	if (asprintf(&body, "%s\n", msg) < 0)
		return MHD_NO;
	return respond(c, status, body, strlen(body), "text/plain; charset=utf-8");
}

static enum MHD_Result metrics_http(void *cls, struct MHD_Connection *c, const char *url,
				    const char *method, const char *version,
				    const char *upload_data, size_t *upload_data_size,
				    void **con_cls)
{
	struct metrics *m = cls;
	char why[160];
	size_t len;
	char *text;
	bool ok;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return respond_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD");
	if (!strcmp(url, "/metrics")) {
		text = metrics__render(m, &len);
		if (!text)
			return respond_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
		return respond(c, MHD_HTTP_OK, text, len, METRICS_CONTENT_TYPE);
	}
	if (!strcmp(url, "/healthz") && m->health) {
		ok = metrics__healthy(m, why, sizeof(why));
		return respond_text(c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, why);
	}
	if (!strcmp(url, "/readyz") && m->health) {
		if (!atomic_load(&m->ready)) {
			pthread_mutex_lock(&m->lock);
			snprintf(why, sizeof(why), "not ready: %s", m->ready_reason);
			pthread_mutex_unlock(&m->lock);
			return respond_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, why);
		}
		ok = metrics__healthy(m, why, sizeof(why));
		return respond_text(c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
				    ok ? "ready" : why);
	}
	return respond_text(c, MHD_HTTP_NOT_FOUND, "not found; try /metrics, /healthz or /readyz");
}

/* Splits "host:port" or "[v6]:port" and binds a listening socket. */
static int listen_on(const char *listen_addr, int *fd_out, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char host[256];
	const char *colon, *port;
	int fd = -1, one = 1, ret;
	size_t hlen;

	colon = strrchr(listen_addr, ':');
	if (!colon || colon == listen_addr || !colon[1])
		goto err_syntax;
	port = colon + 1;
	hlen = colon - listen_addr;
	if (listen_addr[0] == '[') {
		if (hlen < 3 || listen_addr[hlen - 1] != ']')
			goto err_syntax;
		listen_addr++;
		hlen -= 2;
	}
	if (hlen >= sizeof(host))
		goto err_syntax;
	memcpy(host, listen_addr, hlen);
	host[hlen] = '\0';
	ret = getaddrinfo(host, port, &hints, &res);
	if (ret) {
		snprintf(err, errlen, "metrics listen address '%s': %s; use HOST:PORT, e.g. %s",
			 listen_addr, gai_strerror(ret), METRICS_DEFAULT_LISTEN);
		return -EINVAL;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto err_sys;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 64))
		goto err_sys;
	freeaddrinfo(res);
	*fd_out = fd;
	return 0;

err_sys:
	ret = -errno;
	snprintf(err, errlen,
		 "cannot serve metrics on %s:%s: %s; choose another metrics.listen address or "
		 "stop the process using it",
		 host, port, strerror(-ret));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return ret;
err_syntax:
	snprintf(err, errlen, "metrics listen address '%s': expected HOST:PORT, e.g. %s",
		 listen_addr, METRICS_DEFAULT_LISTEN);
	return -EINVAL;
}

int metrics__serve(struct metrics *m, const char *listen_addr, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	sigset_t all, old;
	int fd = -1, ret;

	if (m->httpd)
		return -EALREADY;
	ret = listen_on(listen_addr, &fd, err, errlen);
	if (ret)
		return ret;
	/* its thread inherits this mask: signals stay with the agent's own thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	m->httpd = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL, metrics_http, m,
	    MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)32,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10, MHD_OPTION_END);
	ret = m->httpd ? 0 : errno ? -errno : -EIO;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!m->httpd) {
		close(fd);
		snprintf(err, errlen, "cannot start the metrics HTTP server on %s: %s", listen_addr,
			 strerror(-ret));
		return ret;
	}
	if (!getsockname(fd, (struct sockaddr *)&ss, &sl))
		m->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							 : ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

int metrics__port(const struct metrics *m)
{
	return m->httpd ? m->port : 0;
}
