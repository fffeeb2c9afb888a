// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sink_alertmanager.c - alerts pushed to Alertmanager's v2 API. Alertmanager
 * identifies an alert by its label set (rule, priority, host, container, MITRE
 * tags), so repeated matches of a rule in one container are one firing alert whose
 * annotations show the latest output. Each alert is sent with endsAt = last match
 * + resolve_after and re-sent every resend_interval while it keeps matching:
 * Alertmanager resolves alerts that are not refreshed, and this also restores them
 * after an Alertmanager restart. Once a rule stops matching the alert resolves on
 * its own at endsAt.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/json.h"
#include "daemon/metrics.h"
#include "output/sink.h"
#include "rules/engine.h"

struct am_entry {
	char *labels;	    /* label set as a JSON object, sorted: the identity */
	uint64_t hash;	    /* of labels */
	char *annotations;  /* JSON object of the latest match */
	uint64_t starts_ns; /* first match, wall clock */
	uint64_t last_ns;   /* latest match, wall clock */
	bool dirty;	    /* changed since Alertmanager last accepted it */
};

struct am_sink {
	struct http_client h;	 /* connection */
	char *url;		 /* base URL + /api/v2/alerts */
	struct am_entry *active; /* firing alerts */
	size_t n_active;	 /* entries in active */
	struct json_buf body;	 /* request body, reused */
	bool evict_logged;	 /* the max_active warning was printed */
};

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t fnv64(const char *s)
{
	uint64_t h = 14695981039346656037ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* ---- labels ---- */

struct am_label {
	const char *name; /* label name */
	char *value;	  /* owned */
};

static int label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct am_label *)a)->name, ((const struct am_label *)b)->name);
}

static bool is_technique(const char *t)
{
	/* T1059 or T1059.004 */
	if ((t[0] != 'T' && t[0] != 't') || strspn(t + 1, "0123456789") != 4)
		return false;
	return !t[5] || (t[5] == '.' && strspn(t + 6, "0123456789") == 3 && !t[9]);
}

/* Appends word to a comma-separated list (*list may be NULL). */
static bool join(char **list, const char *word)
{
	size_t old = *list ? strlen(*list) : 0;
	char *p = realloc(*list, old + strlen(word) + 2);

	if (!p)
		return false;
	if (old)
		p[old++] = ',';
	strcpy(p + old, word);
	*list = p;
	return true;
}

char *am_labels_json(const struct alert *r, const struct opt_kv_list *labels)
{
	const struct opt_kv *extra = labels ? labels->items : NULL;
	size_t n_extra = labels ? labels->n : 0;
	const char *prio = rule_priority__name(r->priority);
	struct am_label l[16 + n_extra];
	char *tactic = NULL, *technique = NULL, *tags = NULL, *out = NULL, sev[32];
	size_t n = 0;
	struct json_buf j;
	bool ok = true;

	for (size_t i = 0; i < r->n_tags && ok; i++) {
		const char *t = r->tags[i];

		ok = join(&tags, t);
		if (!strncasecmp(t, "mitre_", 6) && t[6]) {
			const char *rest = t + 6;

			if (is_technique(rest))
				ok = ok && join(&technique, rest);
			else
				ok = ok && join(&tactic, rest);
		} else if (is_technique(t)) {
			ok = ok && join(&technique, t);
		}
	}
	snprintf(sev, sizeof(sev), "%s", prio ? prio : "unknown");
	for (char *p = sev; *p; p++)
		*p = tolower((unsigned char)*p);
	l[n++] = (struct am_label){"alertname", strdup(r->rule)};
	l[n++] = (struct am_label){"priority", strdup(prio ? prio : "Unknown")};
	l[n++] = (struct am_label){"severity", strdup(sev)};
	l[n++] = (struct am_label){"hostname", strdup(r->hostname)};
	l[n++] = (struct am_label){"source", strdup("vigil")};
	if (r->container_id)
		l[n++] = (struct am_label){"container_id", strdup(r->container_id)};
	if (r->ancestry_unknown)
		l[n++] = (struct am_label){"ancestry_unknown", strdup("true")};
	if (tactic)
		l[n++] = (struct am_label){"mitre_tactic", tactic};
	if (technique)
		l[n++] = (struct am_label){"mitre_technique", technique};
	if (tags)
		l[n++] = (struct am_label){"tags", tags};
	for (size_t i = 0; i < n_extra; i++) {
		bool taken = false;

		for (size_t k = 0; k < n && !taken; k++)
			taken = !strcmp(l[k].name, extra[i].key); /* built-in labels win */
		if (!taken)
			l[n++] = (struct am_label){extra[i].key, strdup(extra[i].value)};
	}
	for (size_t i = 0; i < n; i++)
		ok = ok && l[i].value;
	if (ok) {
		qsort(l, n, sizeof(l[0]), label_cmp);
		json_init(&j);
		json_obj_begin(&j);
		for (size_t i = 0; i < n; i++) {
			json_key(&j, l[i].name);
			json_str(&j, l[i].value);
		}
		json_obj_end(&j);
		if (!j.err)
			out = j.buf;
		else
			json_free(&j);
	}
	for (size_t i = 0; i < n; i++)
		free(l[i].value); /* tactic, technique and tags among them */
	return out;
}

char *am_annotations_json(const struct alert *r)
{
	struct json_buf j;

	json_init(&j);
	json_obj_begin(&j);
	json_key(&j, "summary");
	json_str(&j, r->message);
	json_key(&j, "description");
	json_str(&j, r->output);
	json_obj_end(&j);
	if (j.err) {
		json_free(&j);
		return NULL;
	}
	return j.buf;
}

/* ---- active alerts ---- */

static void entry_free(struct am_entry *e)
{
	free(e->labels);
	free(e->annotations);
}

static void entry_remove(struct am_sink *a, size_t i)
{
	entry_free(&a->active[i]);
	a->active[i] = a->active[--a->n_active];
}

/* Records one match; false when out of memory. */
static bool am_track(struct sink *s, struct am_sink *a, const struct alert *r, uint64_t now)
{
	const struct alertmanager_settings *c = s->cfg->settings;
	char *labels = am_labels_json(r, &c->labels);
	char *ann = am_annotations_json(r);
	struct am_entry *e = NULL;
	uint64_t h;

	if (!labels || !ann)
		goto err_free;
	h = fnv64(labels);
	for (size_t i = 0; i < a->n_active && !e; i++)
		if (a->active[i].hash == h && !strcmp(a->active[i].labels, labels))
			e = &a->active[i];
	if (e) {
		free(labels);
		free(e->annotations);
		e->annotations = ann;
		e->last_ns = now;
		e->dirty = true;
		return true;
	}
	if (a->n_active == c->max_active) {
		size_t oldest = 0;

		for (size_t i = 1; i < a->n_active; i++)
			if (a->active[i].last_ns < a->active[oldest].last_ns)
				oldest = i;
		if (!a->evict_logged)
			sink__log(s,
				  "more than max_active=%zu firing alerts: no longer re-sending "
				  "the least recent ones",
				  c->max_active);
		a->evict_logged = true;
		entry_remove(a, oldest);
	}
	a->active[a->n_active++] = (struct am_entry){
	    .labels = labels,
	    .hash = h,
	    .annotations = ann,
	    .starts_ns = r->time_ns ? r->time_ns : now,
	    .last_ns = now,
	    .dirty = true,
	};
	return true;

err_free:
	free(labels);
	free(ann);
	return false;
}

/* POSTs the dirty entries, or all of them; they are clean if Alertmanager took them. */
static bool am_send(struct sink *s, struct am_sink *a, bool all, size_t n_alerts)
{
	const struct alertmanager_settings *c = s->cfg->settings;
	char starts[48], ends[48];
	size_t sent = 0;

	json_reset(&a->body);
	json_arr_begin(&a->body);
	for (size_t i = 0; i < a->n_active; i++) {
		struct am_entry *e = &a->active[i];

		if (!all && !e->dirty)
			continue;
		output_format_time(e->starts_ns, 3, starts, sizeof(starts));
		output_format_time(e->last_ns + c->resolve_ns, 3, ends, sizeof(ends));
		json_obj_begin(&a->body);
		json_key(&a->body, "labels");
		json_raw(&a->body, e->labels);
		json_key(&a->body, "annotations");
		json_raw(&a->body, e->annotations);
		json_key(&a->body, "startsAt");
		json_str(&a->body, starts);
		json_key(&a->body, "endsAt");
		json_str(&a->body, ends);
		json_obj_end(&a->body);
		sent++;
	}
	json_arr_end(&a->body);
	if (!sent)
		return true;
	if (a->body.err) {
		sink__failed(s, n_alerts, "io", "out of memory building the request");
		return false;
	}
	if (!http_client__post(&a->h, a->url, a->body.buf, a->body.len, n_alerts))
		return false;
	for (size_t i = 0; i < a->n_active; i++)
		a->active[i].dirty = false;
	return true;
}

static int am_init(struct sink *s, char *err, size_t errlen)
{
	const struct alertmanager_settings *c = s->cfg->settings;
	struct am_sink *a = calloc(1, sizeof(*a));
	size_t ulen = strlen(c->http.url);
	int ret = -ENOMEM;

	if (!a)
		return -ENOMEM;
	json_init(&a->body);
	a->active = calloc(c->max_active, sizeof(*a->active));
	while (ulen && c->http.url[ulen - 1] == '/')
		ulen--;
	if (asprintf(&a->url, "%.*s/api/v2/alerts", (int)ulen, c->http.url) < 0)
		a->url = NULL;
	if (!a->active || !a->url)
		goto err_free;
	s->m.active = sink__gauge(s, "vigil_alertmanager_active_alerts",
				  "Firing alerts an Alertmanager output keeps re-sending.");
	ret = http_client__init(&a->h, s, &c->http, err, errlen);
	if (ret)
		goto err_free;
	s->priv = a;
	return 0;

err_free:
	free(a->active);
	free(a->url);
	free(a);
	return ret;
}

static void am_fini(struct sink *s)
{
	struct am_sink *a = s->priv;

	http_client__fini(&a->h);
	while (a->n_active)
		entry_remove(a, 0);
	free(a->active);
	free(a->url);
	json_free(&a->body);
	free(a);
}

static size_t am_deliver(struct sink *s, struct alert *const *recs, size_t n)
{
	struct am_sink *a = s->priv;
	uint64_t now = wall_ns();

	for (size_t i = 0; i < n; i++) {
		if (!am_track(s, a, recs[i], now)) {
			sink__failed(s, n, "io", "out of memory tracking an alert");
			return 0;
		}
	}
	metric__set(s->m.active, a->n_active);
	return am_send(s, a, false, n) ? n : 0;
}

static uint64_t am_tick(struct sink *s, uint64_t now_mono)
{
	const struct alertmanager_settings *c = s->cfg->settings;
	struct am_sink *a = s->priv;
	uint64_t now = wall_ns(), retry = 5000000000ull;

	for (size_t i = 0; i < a->n_active;) {
		if (a->active[i].last_ns + c->resolve_ns <= now)
			entry_remove(a, i); /* resolved by Alertmanager at its endsAt */
		else
			i++;
	}
	metric__set(s->m.active, a->n_active);
	if (am_send(s, a, true, 0))
		return now_mono + c->resend_ns;
	return now_mono + (retry < c->resend_ns ? retry : c->resend_ns);
}

/* ---- configuration ---- */

static int check_label(struct opt_ctx *x, const char *key, const char *value)
{
	bool ok = isalpha((unsigned char)key[0]) || key[0] == '_';

	for (const char *p = key; *p && ok; p++)
		ok = isalnum((unsigned char)*p) || *p == '_';
	if (ok)
		return 0;
	opt_error(x,
		  "label name '%s' is not valid for Alertmanager; use letters, digits and _, not "
		  "starting with a digit",
		  key);
	return -EINVAL;
}

static void am_validate(struct opt_ctx *x, void *settings)
{
	const struct alertmanager_settings *c = settings;

	http_validate(x, &c->http, "alertmanager", "http://127.0.0.1:9093");
	if (c->resend_ns >= c->resolve_ns)
		opt_error_key(x, "resend_interval",
			      "resend_interval must be shorter than resolve_after, or alerts "
			      "resolve between re-sends");
	if (!c->resend_ns)
		opt_error_key(x, "resend_interval", "resend_interval must be above 0");
}

#define AM_KEY(field) .off = offsetof(struct alertmanager_settings, field)

static const struct opt am_keys[] = {
    {.type = OPT_INLINE, .sub = http_keys, AM_KEY(http)},
    {.key = "labels",
     .type = OPT_KV,
     AM_KEY(labels),
     .check_pair = check_label,
     .help = "static labels added to every alert (never replace the built-in ones)"},
    {.key = "resend_interval",
     .type = OPT_DURATION,
     AM_KEY(resend_ns),
     .def = "60s",
     .help = "re-send period of firing alerts"},
    {.key = "resolve_after",
     .type = OPT_DURATION,
     AM_KEY(resolve_ns),
     .def = "5m",
     .help = "an alert resolves this long after its last match"},
    {.key = "max_active",
     .type = OPT_UINT,
     .size = sizeof(size_t),
     .min = 1,
     .max = 1000000,
     AM_KEY(max_active),
     .def = "10000",
     .help = "firing alerts tracked and re-sent"},
    {0},
};

const struct sink_desc sink_alertmanager = {
    .name = "alertmanager",
    .help = "Alertmanager's v2 API (`POST /api/v2/alerts`), re-sent while firing",
    .keys = am_keys,
    .settings_size = sizeof(struct alertmanager_settings),
    .reasons = http_reasons,
    .validate = am_validate,
    .init = am_init,
    .deliver = am_deliver,
    .tick = am_tick,
    .fini = am_fini,
    .batch_max = 64,
};
