// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * outputs.c - the part of the outputs every sink shares: alert records, bounded
 * queues, one worker thread per sink, per-rule rate limits with their summaries,
 * metrics, and a shutdown that drains within one deadline.
 *
 * The event loop's cost per alert is one copy of the alert, a mutex per sink to
 * queue a pointer, and atomic counter updates. A worker holds its sink's mutex only
 * to take a batch out of the queue, never while delivering.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/config.h"
#include "util/json.h"
#include "util/text.h"
#include "daemon/metrics.h"
#include "detect/detect.h"
#include "events/event.h"
#include "state/container.h"
#include "output/sink.h"
#include "rules/engine.h"

#define RULE_BUCKETS	   256	/* rule-state hash chains */
#define RULE_STATES_MAX	   4096 /* distinct rules tracked; later ones share one state */
#define WORKER_BATCH_MAX   256	/* records taken from a queue at once */
#define FAIL_LOG_PERIOD_NS (60ull * 1000000000ull) /* repeat a failing sink's log line */
#define SUMMARY_RULE	   "vigil rate limit"
#define OVERFLOW_RULE	   "(other rules)"

/* Per rule: its counters and token bucket. */
struct rule_state {
	char *rule;		   /* rule name */
	int priority;		   /* the priority it was first seen with */
	struct metric *alerts;	   /* vigil_alerts_total{rule,priority} */
	struct metric *suppressed; /* vigil_alerts_suppressed_total{rule} */
	struct token_bucket tb;	   /* rate limit */
	uint64_t window;	   /* suppressed since the last summary */
	struct rule_state *next;   /* hash chain */
};

struct outputs {
	const struct vigil_config *cfg;		/* configuration */
	struct metrics *metrics;		/* NULL without metrics */
	char hostname[256];			/* default host name of alerts */
	struct sink *sinks;			/* one per configured output */
	size_t n_sinks;				/* entries in sinks */
	pthread_mutex_t lock;			/* rule states, housekeeper state */
	pthread_cond_t cond;			/* wakes the housekeeper */
	struct rule_state *rules[RULE_BUCKETS]; /* by rule name hash */
	size_t n_rules;				/* states created */
	struct rule_state *overflow;		/* shared by rules past RULE_STATES_MAX */
	struct rule_state fallback;		/* when even that cannot be allocated */
	struct metric_family *alerts_fam;	/* vigil_alerts_total */
	struct metric_family *suppressed_fam;	/* vigil_alerts_suppressed_total */
	pthread_t housekeeper;			/* rate-limit summaries */
	bool housekeeping;			/* housekeeper thread exists */
	bool stopping;				/* housekeeper: finish */
	atomic_bool closed;			/* outputs__close ran: emit refuses */
	_Atomic uint64_t emitted;		/* outputs__emit calls */
	_Atomic uint64_t suppressed;		/* held back by rate limits */
};

uint64_t sink__now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * Workers block every signal: the agent takes SIGINT/SIGTERM on its own thread
 * (signalfd), and a signal delivered to a worker would kill the process undrained.
 */
static int thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int ret;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -ret;
}

/* ns of either clock as a timespec for that clock's waits */
static struct timespec ns_ts(uint64_t ns)
{
	return (struct timespec){.tv_sec = ns / 1000000000ull, .tv_nsec = ns % 1000000000ull};
}

static int cond_init_mono(pthread_cond_t *c)
{
	pthread_condattr_t a;
	int ret;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	ret = pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
	return -ret;
}

void output_format_time(uint64_t ns, int digits, char *buf, size_t len)
{
	time_t sec = ns / 1000000000ull;
	uint64_t frac = ns % 1000000000ull;
	struct tm tm;
	char base[32];

	gmtime_r(&sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	if (digits <= 0) {
		snprintf(buf, len, "%sZ", base);
		return;
	}
	if (digits > 9)
		digits = 9;
	for (int i = digits; i < 9; i++)
		frac /= 10;
	snprintf(buf, len, "%s.%0*lluZ", base, digits, (unsigned long long)frac);
}

uint64_t output_backoff_ns(uint64_t base_ns, uint64_t max_ns, unsigned k)
{
	uint64_t d = base_ns;

	for (unsigned i = 0; i < k && d < max_ns; i++)
		d = d > max_ns / 2 ? max_ns : d * 2;
	return d < max_ns ? d : max_ns;
}

/* ---- alert records ---- */

/* Falco's text line, for an alert given without one: "<time>: <Priority> <message>". */
static char *render_text(const struct alert *a)
{
	const char *prio = rule_priority__name(a->priority);
	char when[48], *s;

	output_format_time(a->time_ns, 9, when, sizeof(when));
	if (asprintf(&s, "%s: %s %s", when, prio ? prio : "Unknown", a->message ? a->message : "") <
	    0)
		return NULL;
	return s;
}

int alert__json(const struct alert *a, struct json_buf *j)
{
	const char *prio = rule_priority__name(a->priority);
	char when[48];

	output_format_time(a->time_ns, 9, when, sizeof(when));
	json_obj_begin(j);
	if (a->n_actions) {
		json_key(j, "actions");
		json_arr_begin(j);
		for (size_t i = 0; i < a->n_actions; i++) {
			const struct alert_action *x = &a->actions[i];

			json_obj_begin(j);
			json_key(j, "kind");
			json_str(j, x->kind);
			json_key(j, "taken");
			json_bool(j, x->taken);
			json_key(j, "where");
			json_str(j, x->where);
			if (x->has_latency) {
				json_key(j, "latency_us");
				json_uint(j, x->latency_us);
			}
			if (x->reason) {
				json_key(j, "reason");
				json_str(j, x->reason);
			}
			if (x->target) {
				json_key(j, "target");
				json_str(j, x->target);
				json_key(j, "for_s");
				json_uint(j, x->for_s);
			}
			json_obj_end(j);
		}
		json_arr_end(j);
	}
	if (a->ancestry_unknown) {
		json_key(j, "ancestry_unknown");
		json_bool(j, true);
	}
	json_key(j, "hostname");
	json_str(j, a->hostname ? a->hostname : "");
	json_key(j, "output");
	json_str(j, a->output);
	json_key(j, "output_fields");
	json_obj_begin(j);
	for (size_t i = 0; i < a->n_fields; i++) {
		const struct rule_out_field *f = &a->fields[i];

		json_key(j, f->name);
		switch (f->type) {
		case RULE_OUT_STRING:
			json_strn(j, f->value, f->len ? f->len : strlen(f->value));
			break;
		case RULE_OUT_RAW:
		case RULE_OUT_LIST:
			json_raw(j, f->value);
			break;
		case RULE_OUT_NULL:
			json_null(j);
			break;
		}
	}
	json_obj_end(j);
	json_key(j, "priority");
	json_str(j, prio ? prio : "Unknown");
	json_key(j, "rule");
	json_str(j, a->rule ? a->rule : "");
	json_key(j, "source");
	json_str(j, a->source ? a->source : "syscall");
	json_key(j, "tags");
	json_arr_begin(j);
	for (size_t i = 0; i < a->n_tags; i++)
		json_str(j, a->tags[i]);
	json_arr_end(j);
	json_key(j, "time");
	json_str(j, when);
	json_obj_end(j);
	return j->err;
}

void alert_from_detect(struct alert *out, const struct detect_alert *a)
{
	const struct container_ident *c = a->ev ? event_container(a->ev) : NULL;
	const char *cid = c ? (c->short_id[0] ? c->short_id : "host")
			    : (a->container_id ? a->container_id : "host");

	*out = (struct alert){
	    .rule = a->rule->name,
	    .priority = a->rule->priority,
	    .output = a->output,
	    .tags = a->rule->tags,
	    .n_tags = a->rule->n_tags,
	    .hostname = a->hostname,
	    .time_ns = a->time_ns,
	    .container_id = cid,
	    .fields = a->fields,
	    .n_fields = a->n_fields,
	    .ancestry_unknown = a->ancestry_unknown,
	};
}

static size_t field_len(const struct rule_out_field *f)
{
	if (!f->value)
		return 0;
	return f->len ? f->len : strlen(f->value);
}

struct alert *alert__dup(const struct alert *a, const char *hostname)
{
	const char *host = a->hostname ? a->hostname : hostname ? hostname : "";
	const char *source = a->source ? a->source : "syscall";
	size_t strs, ptrs;
	struct rule_out_field *rf;
	struct alert *r = NULL, parts = *a;
	struct json_buf j = {0};
	char *text = NULL, *line = NULL, *msg = NULL, *p;
	const char **tags;

	if (!parts.output) {
		text = render_text(a);
		if (!text)
			goto out;
		parts.output = text;
	}
	parts.hostname = host;
	json_init(&j);
	if (alert__json(&parts, &j))
		goto out;
	/* the text forms: field values may hold newlines or terminal escapes */
	line = text_escape_dup(parts.output);
	msg = a->message ? text_escape_dup(a->message) : NULL;
	if (!line || (a->message && !msg))
		goto out;

	/* strings (each NUL-terminated) after the record, pointer arrays first */
	strs = j.len + 1 + strlen(a->rule ? a->rule : "") + 1 + strlen(line) + 1 +
	       (msg ? strlen(msg) + 1 : 0) + strlen(host) + 1 + strlen(source) + 1 +
	       (a->container_id ? strlen(a->container_id) + 1 : 0);
	for (size_t i = 0; i < a->n_tags; i++)
		strs += strlen(a->tags[i]) + 1;
	for (size_t i = 0; i < a->n_fields; i++)
		strs += strlen(a->fields[i].name) + 1 + field_len(&a->fields[i]) + 1;
	ptrs = a->n_tags * sizeof(char *) + a->n_fields * sizeof(struct rule_out_field);
	r = calloc(1, sizeof(*r) + ptrs + strs);
	if (!r)
		goto out;
	atomic_init(&r->refs, 1);
	tags = (const char **)(r + 1);
	rf = a->n_fields ? (struct rule_out_field *)(tags + a->n_tags) : NULL;
	p = (char *)(r + 1) + ptrs;
#define COPY(dst, src, n)                                                                          \
	do {                                                                                       \
		memcpy(p, (src), (n));                                                             \
		p[n] = '\0';                                                                       \
		(dst) = p;                                                                         \
		p += (n) + 1;                                                                      \
	} while (0)
#define COPYS(dst, src) COPY(dst, src, strlen(src))
	COPY(r->json, j.buf, j.len);
	r->json_len = j.len;
	COPYS(r->rule, a->rule ? a->rule : "");
	COPYS(r->source, source);
	COPYS(r->output, line);
	if (msg)
		COPYS(r->message, msg);
	else
		r->message = r->output;
	COPYS(r->hostname, host);
	if (a->container_id)
		COPYS(r->container_id, a->container_id);
	for (size_t i = 0; i < a->n_tags; i++)
		COPYS(tags[i], a->tags[i]);
	for (size_t i = 0; i < a->n_fields; i++) {
		const struct rule_out_field *f = &a->fields[i];

		COPYS(rf[i].name, f->name);
		rf[i].len = field_len(f);
		rf[i].type = f->type;
		if (f->value)
			COPY(rf[i].value, f->value, rf[i].len);
	}
#undef COPYS
#undef COPY
	r->tags = tags;
	r->n_tags = a->n_tags;
	r->fields = rf;
	r->n_fields = a->n_fields;
	r->priority = a->priority;
	r->time_ns = a->time_ns;
	r->ancestry_unknown = a->ancestry_unknown;
out:
	free(text);
	free(line);
	free(msg);
	json_free(&j);
	return r;
}

struct alert *alert__get(struct alert *r)
{
	atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
	return r;
}

void alert__put(struct alert *r)
{
	if (r && atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1)
		free(r);
}

/* ---- queue ---- */

int alert_queue__init(struct alert_queue *q, size_t cap)
{
	memset(q, 0, sizeof(*q));
	q->items = calloc(cap ? cap : 1, sizeof(*q->items));
	if (!q->items)
		return -ENOMEM;
	q->cap = cap ? cap : 1;
	return 0;
}

void alert_queue__fini(struct alert_queue *q)
{
	struct alert *r;

	while (alert_queue__pop(q, &r, 1))
		alert__put(r);
	free(q->items);
	q->items = NULL;
}

struct alert *alert_queue__push(struct alert_queue *q, struct alert *r)
{
	struct alert *old = NULL;

	if (q->len == q->cap) {
		old = q->items[q->head];
		q->head = (q->head + 1) % q->cap;
		q->len--;
	}
	q->items[(q->head + q->len) % q->cap] = r;
	q->len++;
	return old;
}

size_t alert_queue__pop(struct alert_queue *q, struct alert **out, size_t max)
{
	size_t n = 0;

	while (n < max && q->len) {
		out[n++] = q->items[q->head];
		q->head = (q->head + 1) % q->cap;
		q->len--;
	}
	return n;
}

/* ---- token bucket ---- */

void token_bucket__init(struct token_bucket *tb, double rate, double burst, uint64_t now_ns)
{
	tb->rate = rate;
	tb->burst = burst < 1 ? 1 : burst;
	tb->tokens = tb->burst;
	tb->last_ns = now_ns;
}

bool token_bucket__take(struct token_bucket *tb, uint64_t now_ns)
{
	if (now_ns > tb->last_ns) {
		tb->tokens += (now_ns - tb->last_ns) / 1e9 * tb->rate;
		if (tb->tokens > tb->burst)
			tb->tokens = tb->burst;
		tb->last_ns = now_ns;
	}
	if (tb->tokens < 1)
		return false;
	tb->tokens -= 1;
	return true;
}

/* ---- sink helpers ---- */

void sink__log(struct sink *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "vigil: output %s (%s): %s\n", s->cfg->name, s->desc->name, msg);
}

static _Thread_local size_t failed_in_call; /* failures the running deliver reported */
static _Thread_local size_t taken_in_call;  /* records the running deliver took (sink__take) */

void sink__failed(struct sink *s, size_t n, const char *reason, const char *fmt, ...)
{
	const char *labels[] = {s->cfg->name, s->desc->name, reason};
	uint64_t now = sink__now();
	char msg[400];
	va_list ap;

	failed_in_call += n;
	atomic_fetch_add(&s->failed, n);
	metric__add(metric_family__series(s->m.failures, labels), n);
	metric__set(s->m.up, 0);
	if (atomic_exchange(&s->up, false) || now - s->last_log_ns >= FAIL_LOG_PERIOD_NS) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		sink__log(s, "%s (%llu alerts failed so far)", msg,
			  (unsigned long long)(s->down_since + n));
		s->last_log_ns = now;
	}
	s->down_since += n;
}

void sink__ok(struct sink *s)
{
	metric__set(s->m.up, 1);
	if (atomic_exchange(&s->up, true))
		return;
	sink__log(s, "delivering again after %llu failed alerts",
		  (unsigned long long)s->down_since);
	s->down_since = 0;
}

size_t sink__take(struct sink *s, struct alert **out, size_t max)
{
	size_t n;

	if (atomic_load(&s->abort))
		return 0;
	pthread_mutex_lock(&s->lock);
	n = alert_queue__pop(&s->q, out, max);
	metric__set(s->m.queue_len, s->q.len);
	pthread_mutex_unlock(&s->lock);
	taken_in_call += n;
	return n;
}

bool sink__aborting(struct sink *s)
{
	return atomic_load(&s->abort);
}

bool sink__sleep(struct sink *s, uint64_t ns)
{
	uint64_t until = sink__now() + ns;
	struct timespec ts = ns_ts(until);

	pthread_mutex_lock(&s->lock);
	while (!atomic_load(&s->abort) && sink__now() < until)
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	pthread_mutex_unlock(&s->lock);
	return !atomic_load(&s->abort);
}

static void *sink_worker(void *arg)
{
	struct sink *s = arg;
	struct alert *batch[WORKER_BATCH_MAX];
	size_t max = s->batch_max ? s->batch_max : s->desc->batch_max;
	uint64_t next_tick = 0, t0;
	size_t n, done;

	if (max < 1)
		max = 1;
	if (max > WORKER_BATCH_MAX)
		max = WORKER_BATCH_MAX;
	if (s->desc->tick)
		next_tick = s->desc->tick(s, sink__now());
	pthread_mutex_lock(&s->lock);
	for (;;) {
		if (atomic_load(&s->abort))
			break;
		if (next_tick && sink__now() >= next_tick) {
			pthread_mutex_unlock(&s->lock);
			next_tick = s->desc->tick(s, sink__now());
			pthread_mutex_lock(&s->lock);
			continue;
		}
		if (!s->q.len) {
			struct timespec ts = ns_ts(next_tick);

			if (s->stopping)
				break;
			if (next_tick)
				pthread_cond_timedwait(&s->cond, &s->lock, &ts);
			else
				pthread_cond_wait(&s->cond, &s->lock);
			continue;
		}
		n = alert_queue__pop(&s->q, batch, max);
		metric__set(s->m.queue_len, s->q.len);
		pthread_mutex_unlock(&s->lock);

		failed_in_call = 0;
		taken_in_call = 0;
		t0 = sink__now();
		done = s->desc->deliver(s, batch, n);
		if (!s->desc->own_latency)
			metric__observe(s->m.latency, (sink__now() - t0) / 1e9);
		atomic_fetch_add(&s->delivered, done);
		metric__add(s->m.delivered, done);
		for (size_t i = 0; i < n; i++)
			alert__put(batch[i]);
		n += taken_in_call;
		if (done + failed_in_call < n) { /* given up at the deadline */
			atomic_fetch_add(&s->dropped, n - done - failed_in_call);
			metric__add(s->m.dropped_shutdown, n - done - failed_in_call);
		}
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	atomic_store(&s->exited, true);
	return NULL;
}

static const double latency_bounds[] = {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05,
					0.1,	0.5,	1,     5,     10,   30};

static int sink_metrics(struct outputs *o, struct sink *s)
{
	static const char *const sink_labels[] = {"sink", "type", NULL};
	static const char *const reason_labels[] = {"sink", "type", "reason", NULL};
	struct metrics *m = o->metrics;
	const char *name = s->cfg->name, *type = s->desc->name;
	const char *v[] = {name, type, NULL};
	struct metric_family *drops;

	if (!m)
		return 0;
	s->m.delivered = metric_family__series(
	    metrics__family(m, METRIC_COUNTER, "vigil_output_deliveries_total",
			    "Alerts an output delivered.", sink_labels),
	    v);
	drops = metrics__family(m, METRIC_COUNTER, "vigil_output_drops_total",
				"Alerts an output dropped: oldest ones when its queue was full, "
				"or left over at shutdown.",
				reason_labels);
	s->m.dropped_full =
	    metric_family__series(drops, (const char *const[]){name, type, "queue_full"});
	s->m.dropped_shutdown =
	    metric_family__series(drops, (const char *const[]){name, type, "shutdown"});
	s->m.failures =
	    metrics__family(m, METRIC_COUNTER, "vigil_output_failures_total",
			    "Alerts an output failed to deliver, by reason.", reason_labels);
	for (const char *const *r = s->desc->reasons; r && *r; r++)
		metric_family__series(s->m.failures, (const char *const[]){name, type, *r});
	s->m.queue_len = metric_family__series(
	    metrics__family(m, METRIC_GAUGE, "vigil_output_queue_length",
			    "Alerts waiting in an output's queue.", sink_labels),
	    v);
	metric__set(metric_family__series(
			metrics__family(m, METRIC_GAUGE, "vigil_output_queue_capacity",
					"Alerts an output's queue holds at most.", sink_labels),
			v),
		    (double)s->cfg->queue_size);
	s->m.up = metric_family__series(
	    metrics__family(m, METRIC_GAUGE, "vigil_output_up",
			    "1 if the output's last delivery attempt worked, else 0.", sink_labels),
	    v);
	s->m.latency = metric_family__series(
	    metrics__histogram(m, "vigil_output_delivery_seconds",
			       "Time an output took to deliver one batch, retries included.",
			       sink_labels, latency_bounds,
			       sizeof(latency_bounds) / sizeof(latency_bounds[0])),
	    v);
	s->m.retries = metric_family__series(
	    metrics__family(m, METRIC_COUNTER, "vigil_output_retries_total",
			    "Delivery attempts an output repeated after a failure.", sink_labels),
	    v);
	metric__set(s->m.up, 1);
	if (!s->m.delivered || !s->m.dropped_full || !s->m.dropped_shutdown || !s->m.failures ||
	    !s->m.queue_len || !s->m.up || !s->m.latency || !s->m.retries)
		return -ENOMEM;
	return 0;
}

struct metric *sink__gauge(struct sink *s, const char *name, const char *help)
{
	static const char *const sink_labels[] = {"sink", "type", NULL};
	const char *v[] = {s->cfg->name, s->desc->name, NULL};

	if (!s->outs->metrics)
		return NULL;
	return metric_family__series(
	    metrics__family(s->outs->metrics, METRIC_GAUGE, name, help, sink_labels), v);
}

static int sink_start(struct outputs *o, struct sink *s, const struct config_output *cfg, char *err,
		      size_t errlen)
{
	char why[400] = "";
	int ret;

	s->outs = o;
	s->cfg = cfg;
	s->desc = cfg->sink;
	atomic_init(&s->up, true);
	pthread_mutex_init(&s->lock, NULL);
	ret = cond_init_mono(&s->cond);
	if (ret)
		goto err;
	ret = alert_queue__init(&s->q, cfg->queue_size);
	if (ret)
		goto err;
	ret = sink_metrics(o, s);
	if (ret)
		goto err;
	ret = s->desc->init ? s->desc->init(s, why, sizeof(why)) : 0;
	if (ret)
		goto err;
	s->opened = true;
	ret = thread_start(&s->thread, sink_worker, s);
	if (ret)
		goto err;
	s->started = true;
	return 0;

err:
	snprintf(err, errlen, "output %s (%s, line %d): %s", cfg->name, cfg->sink->name, cfg->line,
		 why[0] ? why : strerror(-ret));
	return ret;
}

/* ---- rule states and rate limits ---- */

static uint32_t str_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static struct rule_state *rule_state_new(struct outputs *o, const char *rule, int priority)
{
	const struct config_rate_limit *rl = &o->cfg->rate_limit;
	const char *prio = rule_priority__name(priority);
	double rate = rl->rate, burst = rl->burst;
	struct rule_state *rs = calloc(1, sizeof(*rs));

	if (!rs)
		return NULL;
	rs->rule = strdup(rule);
	if (!rs->rule) {
		free(rs);
		return NULL;
	}
	rs->priority = priority;
	for (size_t i = 0; i < rl->n_rules; i++)
		if (!strcmp(rl->rules[i].rule, rule)) {
			rate = rl->rules[i].rate;
			burst = rl->rules[i].burst;
		}
	token_bucket__init(&rs->tb, rate, burst, sink__now());
	rs->alerts = metric_family__series(o->alerts_fam,
					   (const char *const[]){rule, prio ? prio : "Unknown"});
	rs->suppressed = metric_family__series(o->suppressed_fam, (const char *const[]){rule});
	return rs;
}

/* Called with o->lock held. */
static struct rule_state *rule_state(struct outputs *o, const char *rule, int priority)
{
	uint32_t b = str_hash(rule) % RULE_BUCKETS;
	struct rule_state *rs;

	for (rs = o->rules[b]; rs; rs = rs->next)
		if (rs->priority == priority && !strcmp(rs->rule, rule))
			return rs;
	if (o->n_rules >= RULE_STATES_MAX)
		goto overflow;
	rs = rule_state_new(o, rule, priority);
	if (!rs)
		goto overflow;
	rs->next = o->rules[b];
	o->rules[b] = rs;
	o->n_rules++;
	return rs;

overflow:
	if (!o->overflow)
		o->overflow = rule_state_new(o, OVERFLOW_RULE, priority);
	return o->overflow ? o->overflow : &o->fallback;
}

static void dispatch(struct outputs *o, struct alert *r)
{
	for (size_t i = 0; i < o->n_sinks; i++) {
		struct sink *s = &o->sinks[i];
		struct alert *old;
		bool wake;

		if (s->cfg->min_priority && r->priority > s->cfg->min_priority)
			continue;
		pthread_mutex_lock(&s->lock);
		if (!s->q.items) { /* closed */
			pthread_mutex_unlock(&s->lock);
			continue;
		}
		wake = !s->q.len;
		old = alert_queue__push(&s->q, alert__get(r));
		metric__set(s->m.queue_len, s->q.len);
		if (wake)
			pthread_cond_signal(&s->cond);
		pthread_mutex_unlock(&s->lock);
		if (old) {
			atomic_fetch_add(&s->dropped, 1);
			metric__inc(s->m.dropped_full);
			alert__put(old);
		}
	}
}

int outputs__emit(struct outputs *o, const struct alert *a)
{
	const char *rule = a->rule ? a->rule : "";
	struct rule_state *rs;
	struct alert *r;
	bool pass = true;

	if (atomic_load_explicit(&o->closed, memory_order_relaxed))
		return -ESHUTDOWN;
	atomic_fetch_add_explicit(&o->emitted, 1, memory_order_relaxed);
	pthread_mutex_lock(&o->lock);
	rs = rule_state(o, rule, a->priority);
	metric__inc(rs->alerts);
	if (o->cfg->rate_limit.enabled && !token_bucket__take(&rs->tb, sink__now())) {
		rs->window++;
		metric__inc(rs->suppressed);
		pass = false;
	}
	pthread_mutex_unlock(&o->lock);
	if (!pass) {
		atomic_fetch_add_explicit(&o->suppressed, 1, memory_order_relaxed);
		return 0;
	}
	r = alert__dup(a, o->hostname);
	if (!r)
		return -ENOMEM;
	dispatch(o, r);
	alert__put(r);
	return 0;
}

/* An alert saying how many alerts of a rule the rate limit held back. */
static void emit_summary(struct outputs *o, const char *rule, uint64_t count, double secs)
{
	static const char *const tags[] = {"vigil", "rate_limit"};
	char now_s[24], count_s[24], *message = NULL;
	struct rule_out_field fields[3];
	struct timespec ts;
	struct alert *r;
	uint64_t now;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	if (asprintf(&message,
		     "rate limit suppressed %llu alerts of rule \"%s\" in the last %.1f s",
		     (unsigned long long)count, rule, secs) < 0)
		return;
	snprintf(now_s, sizeof(now_s), "%llu", (unsigned long long)now);
	snprintf(count_s, sizeof(count_s), "%llu", (unsigned long long)count);
	fields[0] = (struct rule_out_field){"evt.time", now_s, 0, RULE_OUT_RAW};
	fields[1] = (struct rule_out_field){"rule.name", rule, 0, RULE_OUT_STRING};
	fields[2] = (struct rule_out_field){"suppressed", count_s, 0, RULE_OUT_RAW};
	r = alert__dup(&(struct alert){.rule = SUMMARY_RULE,
				       .priority = RULE_PRIO_NOTICE,
				       .source = "internal",
				       .message = message,
				       .tags = tags,
				       .n_tags = 2,
				       .time_ns = now,
				       .fields = fields,
				       .n_fields = 3},
		       o->hostname);
	if (r) {
		dispatch(o, r);
		alert__put(r);
	}
	free(message);
}

/* Logs and emits one summary per rule that had alerts suppressed since the last one. */
static void summarise(struct outputs *o, double secs)
{
	struct {
		char *rule;	/* copy, the state may be freed meanwhile only at shutdown */
		uint64_t count; /* suppressed */
	} *items = NULL;
	size_t n = 0, cap = 0;

	pthread_mutex_lock(&o->lock);
	for (size_t b = 0; b <= RULE_BUCKETS; b++) {
		struct rule_state *rs = b < RULE_BUCKETS ? o->rules[b] : o->overflow;

		for (; rs; rs = b < RULE_BUCKETS ? rs->next : NULL) {
			if (!rs->window)
				continue;
			if (n == cap) {
				void *p =
				    realloc(items, (cap = cap ? cap * 2 : 16) * sizeof(*items));

				if (!p)
					break;
				items = p;
			}
			items[n].rule = strdup(rs->rule);
			items[n].count = rs->window;
			rs->window = 0;
			if (items[n].rule)
				n++;
		}
	}
	pthread_mutex_unlock(&o->lock);
	for (size_t i = 0; i < n; i++) {
		fprintf(stderr,
			"vigil: rate limit: suppressed %llu alerts of rule \"%s\" in the last "
			"%.1f s\n",
			(unsigned long long)items[i].count, items[i].rule, secs);
		emit_summary(o, items[i].rule, items[i].count, secs);
		free(items[i].rule);
	}
	free(items);
}

static void *housekeeper(void *arg)
{
	struct outputs *o = arg;
	uint64_t period = o->cfg->rate_limit.summary_ns, last = sink__now(), next;
	bool stop;

	do {
		struct timespec ts;

		next = last + period;
		ts = ns_ts(next);
		pthread_mutex_lock(&o->lock);
		while (!o->stopping && sink__now() < next)
			pthread_cond_timedwait(&o->cond, &o->lock, &ts);
		stop = o->stopping;
		pthread_mutex_unlock(&o->lock);
		summarise(o, (sink__now() - last) / 1e9);
		last = sink__now();
	} while (!stop);
	return NULL;
}

/* ---- lifecycle ---- */

static void stop_sinks(struct outputs *o)
{
	uint64_t deadline_ns;
	struct timespec deadline;

	for (size_t i = 0; i < o->n_sinks; i++) {
		struct sink *s = &o->sinks[i];

		pthread_mutex_lock(&s->lock);
		s->stopping = true;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
	}
	/* pthread_timedjoin_np measures against CLOCK_REALTIME */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline_ns =
	    (uint64_t)deadline.tv_sec * 1000000000ull + deadline.tv_nsec + o->cfg->drain_ns;
	deadline = ns_ts(deadline_ns);
	for (size_t i = 0; i < o->n_sinks; i++) {
		struct sink *s = &o->sinks[i];

		if (!s->started || !pthread_timedjoin_np(s->thread, NULL, &deadline)) {
			s->started = false;
			continue;
		}
		atomic_store(&s->abort, true);
	}
	for (size_t i = 0; i < o->n_sinks; i++) {
		struct sink *s = &o->sinks[i];

		if (!s->started)
			continue;
		pthread_mutex_lock(&s->lock);
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
		s->started = false;
	}
}

/* After its worker stopped: what is still queued will not be delivered. */
static void sink_abandon(struct sink *s)
{
	size_t n;

	if (!s->desc || !s->q.items || !s->q.len)
		return;
	n = s->q.len;
	sink__log(s, "shutdown deadline passed: %zu queued alerts not delivered", n);
	atomic_fetch_add(&s->dropped, n);
	metric__add(s->m.dropped_shutdown, n);
	metric__set(s->m.queue_len, 0);
	alert_queue__fini(&s->q);
}

static void sink_free(struct sink *s)
{
	if (!s->desc)
		return;
	if (s->desc->fini && s->opened)
		s->desc->fini(s);
	alert_queue__fini(&s->q);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
}

void outputs__close(struct outputs *o)
{
	if (atomic_exchange(&o->closed, true))
		return;
	if (o->housekeeping) {
		pthread_mutex_lock(&o->lock);
		o->stopping = true;
		pthread_cond_broadcast(&o->cond);
		pthread_mutex_unlock(&o->lock);
		pthread_join(o->housekeeper, NULL); /* its last summary goes to the sinks */
		o->housekeeping = false;
	}
	stop_sinks(o);
	for (size_t i = 0; i < o->n_sinks; i++)
		sink_abandon(&o->sinks[i]);
}

void outputs__free(struct outputs *o)
{
	if (!o)
		return;
	outputs__close(o);
	for (size_t i = 0; i < o->n_sinks; i++)
		sink_free(&o->sinks[i]);
	free(o->sinks);
	for (size_t b = 0; b < RULE_BUCKETS; b++) {
		struct rule_state *rs, *next;

		for (rs = o->rules[b]; rs; rs = next) {
			next = rs->next;
			free(rs->rule);
			free(rs);
		}
	}
	if (o->overflow) {
		free(o->overflow->rule);
		free(o->overflow);
	}
	pthread_cond_destroy(&o->cond);
	pthread_mutex_destroy(&o->lock);
	free(o);
}

struct outputs *outputs__new(const struct vigil_config *c, struct metrics *m, char *err,
			     size_t errlen)
{
	static const char *const rule_prio[] = {"rule", "priority", NULL};
	static const char *const rule_only[] = {"rule", NULL};
	struct outputs *o;
	int ret = -ENOMEM;

	o = calloc(1, sizeof(*o));
	if (!o) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	o->cfg = c;
	o->metrics = m;
	pthread_mutex_init(&o->lock, NULL);
	cond_init_mono(&o->cond);
	if (c->hostname)
		snprintf(o->hostname, sizeof(o->hostname), "%s", c->hostname);
	else if (gethostname(o->hostname, sizeof(o->hostname) - 1))
		snprintf(o->hostname, sizeof(o->hostname), "localhost");
	if (m) {
		o->alerts_fam = metrics__family(m, METRIC_COUNTER, "vigil_alerts_total",
						"Alerts raised by rules, by rule and priority "
						"(before rate limiting).",
						rule_prio);
		o->suppressed_fam =
		    metrics__family(m, METRIC_COUNTER, "vigil_alerts_suppressed_total",
				    "Alerts the per-rule rate limit held back.", rule_only);
		if (!o->alerts_fam || !o->suppressed_fam)
			goto err_nomem;
	}
	token_bucket__init(&o->fallback.tb, c->rate_limit.rate, c->rate_limit.burst, sink__now());
	o->sinks = calloc(c->n_outputs ? c->n_outputs : 1, sizeof(*o->sinks));
	if (!o->sinks)
		goto err_nomem;
	for (size_t i = 0; i < c->n_outputs; i++) {
		ret = sink_start(o, &o->sinks[i], &c->outputs[i], err, errlen);
		o->n_sinks = i + 1;
		if (ret)
			goto err_free;
	}
	if (c->rate_limit.enabled) {
		ret = thread_start(&o->housekeeper, housekeeper, o);
		if (ret) {
			snprintf(err, errlen, "cannot start the rate limit thread: %s",
				 strerror(-ret));
			goto err_free;
		}
		o->housekeeping = true;
	}
	return o;

err_nomem:
	snprintf(err, errlen, "out of memory");
	ret = -ENOMEM;
err_free:
	outputs__free(o);
	errno = -ret;
	return NULL;
}

void outputs__stats(struct outputs *o, struct outputs_stats *st, struct output_sink_stats *sinks,
		    size_t max)
{
	st->emitted = atomic_load(&o->emitted);
	st->suppressed = atomic_load(&o->suppressed);
	st->n_sinks = o->n_sinks;
	for (size_t i = 0; sinks && i < o->n_sinks && i < max; i++) {
		struct sink *s = &o->sinks[i];

		pthread_mutex_lock(&s->lock);
		sinks[i].queued = s->q.len;
		pthread_mutex_unlock(&s->lock);
		sinks[i].name = s->cfg->name;
		sinks[i].type = s->desc->name;
		sinks[i].delivered = atomic_load(&s->delivered);
		sinks[i].failed = atomic_load(&s->failed);
		sinks[i].dropped = atomic_load(&s->dropped);
		sinks[i].up = atomic_load(&s->up);
	}
}

void outputs__print_stats(struct outputs *o, FILE *out)
{
	struct output_sink_stats *ss = calloc(o->n_sinks ? o->n_sinks : 1, sizeof(*ss));
	struct outputs_stats st;

	outputs__stats(o, &st, ss, ss ? o->n_sinks : 0);
	fprintf(out, "vigil: alerts emitted=%llu suppressed=%llu\n", (unsigned long long)st.emitted,
		(unsigned long long)st.suppressed);
	for (size_t i = 0; ss && i < o->n_sinks; i++)
		fprintf(
		    out,
		    "vigil: output %s (%s) delivered=%llu failed=%llu dropped=%llu queued=%llu\n",
		    ss[i].name, ss[i].type, (unsigned long long)ss[i].delivered,
		    (unsigned long long)ss[i].failed, (unsigned long long)ss[i].dropped,
		    (unsigned long long)ss[i].queued);
	free(ss);
}
