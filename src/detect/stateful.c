// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * stateful.c - windows, groups and partial sequences of stateful rules.
 *
 * Each stateful rule has one table: a hash of entries keyed by bytes, and a list in
 * least-recently-used order. At max_entries the oldest entry goes: an expired one
 * silently, an open one counted as an eviction (a pending aggregate is emitted
 * first, so nothing is lost). Time is always the event's.
 *
 * threshold: key = the `by` values. The entry keeps the matches (time, and the
 *   `distinct` value) of the last `within`; when they reach `count` (distinct
 *   values with `distinct`), the rule fires and the entry starts over.
 * aggregate: key = the `by` values. The first match alerts at once and opens a
 *   window of `within`; later matches in it are counted (their actions run); when
 *   the window closes (a later event, the agent's tick, a reload of the rule, stop)
 *   one summary alert with the count and the first and last times follows if more
 *   than one match came.
 * sequence: a partial match that reached step k is keyed by k, its scope (pid, or
 *   container) and the previous-step values step k+1's `same` compares; a match
 *   of step k+1 looks itself up (for a tree: under its own pid and each ancestor's),
 *   within `within` of step 1. The last step fires with every step's event.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events/event.h"
#include "state/container.h"
#include "state/proctable.h"
#include "stateful.h"
#include "util/json.h"

#define ANCESTRY_MAX 32

struct sval {
	uint64_t ns; /* when */
	char *v;     /* distinct value; NULL when counting matches */
};

struct held {
	char *output;		       /* the first alert's text line */
	struct rule_out_field *fields; /* its fields, owned */
	size_t n_fields;	       /* entries in fields */
	char container[16];	       /* its container short id */
};

struct sentry {
	struct sentry *hnext;	    /* hash chain */
	struct sentry *prev, *next; /* LRU list: head is the most recent */
	uint64_t hash;		    /* of key */
	char *key;		    /* bytes */
	size_t keylen;		    /* bytes in key */
	uint64_t first_ns, last_ns; /* window start, last match */
	uint64_t count;		    /* matches (aggregate) */
	struct sval *vals;	    /* threshold: matches in the window */
	size_t n_vals, cap_vals;    /* entries, allocated */
	struct held *held;	    /* aggregate: the alert to summarise */
	char *steps_json;	    /* sequence: the steps so far, as JSON objects joined by ',' */
	char *steps_text;	    /* sequence: the steps so far, as text joined by "; " */
	size_t step;		    /* sequence: the step reached (0-based) */
};

struct srule {
	char *name;	      /* rule name */
	uint64_t fingerprint; /* of the compiled rule */
	const struct rule_info *info;
	size_t idx;		 /* index in the bound engine */
	struct sentry **buckets; /* hash */
	size_t n_buckets;	 /* power of two */
	struct sentry *head, *tail;
	size_t n;	  /* entries */
	uint64_t evicted; /* entries pushed out while open */
};

struct stateful {
	struct stateful_opts o; /* bounds */
	stateful_emit_fn emit;	/* where aggregate summaries go */
	void *arg;		/* passed to emit */
	struct srule **rules;	/* per stateful rule of the bound engine */
	size_t n_rules;		/* entries in rules */
	size_t n_aggregates;	/* of them, aggregates: what expiring looks at */
	struct srule **by_idx;	/* engine rule index -> srule, NULL for plain rules */
	size_t n_idx;		/* entries in by_idx */
	char num[3][32];	/* a verdict's numbers, as text */
	struct rule_text list;	/* a verdict's JSON list or text suffix */
	struct rule_text text;	/* a value or a step's text */
	struct rule_text key;	/* the key being looked up */
	struct json_buf js;	/* a step's or the distinct values' JSON */
};

/* ---- entries ---- */

static uint64_t hash_key(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
	return h;
}

static void held_free(struct held *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n_fields; i++) {
		free((char *)h->fields[i].name);
		free((char *)h->fields[i].value);
	}
	free(h->fields);
	free(h->output);
	free(h);
}

static void entry_free(struct sentry *en)
{
	for (size_t i = 0; i < en->n_vals; i++)
		free(en->vals[i].v);
	free(en->vals);
	held_free(en->held);
	free(en->steps_json);
	free(en->steps_text);
	free(en->key);
	free(en);
}

static void lru_unlink(struct srule *r, struct sentry *en)
{
	if (en->prev)
		en->prev->next = en->next;
	else
		r->head = en->next;
	if (en->next)
		en->next->prev = en->prev;
	else
		r->tail = en->prev;
	en->prev = en->next = NULL;
}

static void lru_front(struct srule *r, struct sentry *en)
{
	en->next = r->head;
	en->prev = NULL;
	if (r->head)
		r->head->prev = en;
	r->head = en;
	if (!r->tail)
		r->tail = en;
}

static struct sentry *lookup(struct srule *r, const char *k, size_t n)
{
	uint64_t h = hash_key(k, n);

	for (struct sentry *en = r->buckets[h & (r->n_buckets - 1)]; en; en = en->hnext)
		if (en->hash == h && en->keylen == n && !memcmp(en->key, k, n))
			return en;
	return NULL;
}

static void remove_entry(struct srule *r, struct sentry *en)
{
	struct sentry **pp = &r->buckets[en->hash & (r->n_buckets - 1)];

	while (*pp && *pp != en)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = en->hnext;
	lru_unlink(r, en);
	r->n--;
	entry_free(en);
}

static void summarise(struct stateful *s, struct srule *r, struct sentry *en);

/* Makes room for one more entry: the least recent goes. */
static void make_room(struct stateful *s, struct srule *r, uint64_t now_ns)
{
	while (r->n >= s->o.max_entries && r->tail) {
		struct sentry *old = r->tail;
		const struct rule_stateful *st = r->info->state;
		bool open = now_ns <= old->first_ns + st->within_ns;

		if (st->kind == RULE_STATE_THRESHOLD)
			open = old->n_vals && now_ns <= old->last_ns + st->within_ns;
		if (st->kind == RULE_STATE_AGGREGATE)
			summarise(s, r, old);
		if (open)
			r->evicted++;
		remove_entry(r, old);
	}
}

static struct sentry *insert(struct stateful *s, struct srule *r, const char *k, size_t n,
			     uint64_t now_ns)
{
	struct sentry *en;
	uint64_t h = hash_key(k, n);

	make_room(s, r, now_ns);
	en = calloc(1, sizeof(*en));
	if (!en)
		return NULL;
	en->key = malloc(n ? n : 1);
	if (!en->key) {
		free(en);
		return NULL;
	}
	memcpy(en->key, k, n);
	en->keylen = n;
	en->hash = h;
	en->hnext = r->buckets[h & (r->n_buckets - 1)];
	r->buckets[h & (r->n_buckets - 1)] = en;
	lru_front(r, en);
	r->n++;
	return en;
}

/* ---- rules ---- */

static void srule_free(struct srule *r)
{
	while (r->head)
		remove_entry(r, r->head);
	free(r->buckets);
	free(r->name);
	free(r);
}

static struct srule *srule_new(const struct stateful *s, const struct rule_info *in)
{
	struct srule *r = calloc(1, sizeof(*r));
	size_t nb = 16;

	while (nb < s->o.max_entries && nb < (1u << 20))
		nb <<= 1;
	if (!r)
		return NULL;
	r->buckets = calloc(nb, sizeof(*r->buckets));
	r->name = strdup(in->name);
	if (!r->buckets || !r->name) {
		free(r->buckets);
		free(r->name);
		free(r);
		return NULL;
	}
	r->n_buckets = nb;
	r->fingerprint = in->state->fingerprint;
	return r;
}

struct stateful *stateful__new(const struct stateful_opts *o, stateful_emit_fn emit, void *arg)
{
	struct stateful *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->o = *o;
	if (!s->o.max_entries)
		s->o.max_entries = 4096;
	if (!s->o.max_values)
		s->o.max_values = 32;
	s->emit = emit;
	s->arg = arg;
	json_init(&s->js);
	return s;
}

void stateful__free(struct stateful *s)
{
	if (!s)
		return;
	stateful__flush(s);
	for (size_t i = 0; i < s->n_rules; i++)
		srule_free(s->rules[i]);
	free(s->rules);
	free(s->by_idx);
	rule_text__free(&s->list);
	rule_text__free(&s->text);
	rule_text__free(&s->key);
	json_free(&s->js);
	free(s);
}

void stateful__bind(struct stateful *s, struct rule_engine *e)
{
	size_t n = rule_engine__rule_count(e), m = 0;
	struct srule **rules = calloc(n ? n : 1, sizeof(*rules));
	struct srule **by_idx = calloc(n ? n : 1, sizeof(*by_idx));

	if (!rules || !by_idx) {
		/* no memory for the new binding: every state goes (pending aggregates sent
		 * first, while the old rules still exist); matches then alert plainly */
		free(rules);
		free(by_idx);
		stateful__flush(s);
		for (size_t j = 0; j < s->n_rules; j++)
			srule_free(s->rules[j]);
		s->n_rules = s->n_idx = s->n_aggregates = 0;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct rule_info *in = rule_engine__rule(e, i);
		struct srule *r = NULL;

		if (!in->state)
			continue;
		for (size_t j = 0; j < s->n_rules && !r; j++)
			if (s->rules[j] && !strcmp(s->rules[j]->name, in->name) &&
			    s->rules[j]->fingerprint == in->state->fingerprint) {
				r = s->rules[j];
				s->rules[j] = NULL; /* kept */
			}
		if (!r) {
			r = srule_new(s, in);
			/* a changed rule's evictions go on counting (the counter is monotonic) */
			for (size_t j = 0; r && j < s->n_rules; j++)
				if (s->rules[j] && !strcmp(s->rules[j]->name, in->name))
					r->evicted = s->rules[j]->evicted;
		}
		if (!r)
			continue;
		r->info = in;
		r->idx = i;
		rules[m++] = r;
		by_idx[i] = r;
	}
	/* what was not kept: changed or gone; its pending aggregates go out first */
	for (size_t j = 0; j < s->n_rules; j++) {
		struct srule *r = s->rules[j];

		if (!r)
			continue;
		while (r->head) {
			if (r->info->state->kind == RULE_STATE_AGGREGATE)
				summarise(s, r, r->head);
			remove_entry(r, r->head);
		}
		srule_free(r);
	}
	free(s->rules);
	free(s->by_idx);
	s->rules = rules;
	s->n_rules = m;
	s->n_aggregates = 0;
	for (size_t j = 0; j < m; j++)
		s->n_aggregates += rules[j]->info->state->kind == RULE_STATE_AGGREGATE;
	s->by_idx = by_idx;
	s->n_idx = n;
}

/* ---- helpers ---- */

static int text_put(struct rule_text *t, const char *p, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 256;
		char *b;

		while (cap < t->len + n + 1)
			cap *= 2;
		b = realloc(t->buf, cap);
		if (!b)
			return -ENOMEM;
		t->buf = b;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, p, n);
	t->len += n;
	t->buf[t->len] = '\0';
	return 0;
}

static void text_reset(struct rule_text *t)
{
	t->len = 0;
	if (t->buf)
		t->buf[0] = '\0';
}

/* The text of each ref, each ended by a NUL byte, appended to s->key. */
static int key_fields(struct stateful *s, struct rule_engine *e, void *fctx,
		      const struct rule_field_ref *const *refs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (rule_engine__ref_text(e, refs[i], fctx, &s->key) < 0 ||
		    text_put(&s->key, "", 1))
			return -ENOMEM;
	return 0;
}

static const char *time_text(uint64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%02d:%02d:%02d.%06u", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(ns % 1000000000ull / 1000));
	return buf;
}

static void extra(struct stateful_verdict *v, const char *name, const char *value,
		  enum rule_out_type type)
{
	if (v->n_extra < STATEFUL_EXTRA_MAX)
		v->extra[v->n_extra++] =
		    (struct rule_out_field){.name = name, .value = value, .type = type};
}

/* ---- threshold ---- */

static void on_threshold(struct stateful *s, struct srule *r, struct rule_engine *e, void *fctx,
			 const struct event *ev, struct stateful_verdict *v)
{
	const struct rule_stateful *st = r->info->state;
	uint64_t now = ev->time_ns, since = now > st->within_ns ? now - st->within_ns : 0;
	struct sentry *en;
	char *val = NULL;
	size_t i, k;

	text_reset(&s->key);
	if (key_fields(s, e, fctx, st->by, st->n_by))
		return;
	en = lookup(r, s->key.buf ? s->key.buf : "", s->key.len);
	if (!en && !(en = insert(s, r, s->key.buf ? s->key.buf : "", s->key.len, now)))
		return;
	lru_unlink(r, en);
	lru_front(r, en);
	/* the window slides: matches older than within are forgotten */
	for (i = k = 0; i < en->n_vals; i++) {
		if (en->vals[i].ns >= since)
			en->vals[k++] = en->vals[i];
		else
			free(en->vals[i].v);
	}
	en->n_vals = k;
	if (!en->n_vals)
		en->first_ns = now;
	en->last_ns = now;
	if (st->distinct) {
		text_reset(&s->text);
		if (rule_engine__ref_text(e, st->distinct, fctx, &s->text) < 0)
			return;
		for (i = 0; i < en->n_vals; i++)
			if (!strcmp(en->vals[i].v, s->text.buf)) {
				en->vals[i].ns = now;
				break;
			}
		if (i < en->n_vals)
			return; /* a value seen in the window: not one more */
		val = strdup(s->text.buf);
		if (!val)
			return;
	}
	if (en->n_vals == en->cap_vals) {
		size_t cap = en->cap_vals ? en->cap_vals * 2 : 8;
		struct sval *nv;

		if (cap > st->count)
			cap = st->count;
		nv = realloc(en->vals, cap * sizeof(*nv));
		if (!nv) {
			free(val);
			return;
		}
		en->vals = nv;
		en->cap_vals = cap;
	}
	en->vals[en->n_vals++] = (struct sval){.ns = now, .v = val};
	if (en->n_vals < st->count)
		return;

	/* fires: the count, the window, the distinct values (bounded) */
	uint64_t oldest = now;

	for (i = 0; i < en->n_vals; i++)
		if (en->vals[i].ns < oldest)
			oldest = en->vals[i].ns;
	v->what = STATEFUL_FIRE;
	snprintf(s->num[0], sizeof(s->num[0]), "%zu", en->n_vals);
	snprintf(s->num[1], sizeof(s->num[1]), "%" PRIu64, oldest);
	extra(v, "vigil.count", s->num[0], RULE_OUT_RAW);
	extra(v, "vigil.first_time", s->num[1], RULE_OUT_RAW);
	json_reset(&s->js);
	text_reset(&s->text);
	if (st->distinct) {
		json_arr_begin(&s->js);
		for (i = 0; i < en->n_vals && i < s->o.max_values; i++) {
			json_str(&s->js, en->vals[i].v);
			if (i)
				text_put(&s->text, ",", 1);
			text_put(&s->text, en->vals[i].v, strlen(en->vals[i].v));
		}
		json_arr_end(&s->js);
		if (en->n_vals > s->o.max_values)
			text_put(&s->text, ",...", 4);
		if (!s->js.err)
			extra(v, "vigil.distinct", s->js.buf, RULE_OUT_LIST);
	}
	text_reset(&s->list);
	{
		char b[160];
		int n = snprintf(b, sizeof(b), " (threshold: %zu %s%s in %.3gs%s", en->n_vals,
				 st->distinct ? "distinct " : "matches",
				 st->distinct ? st->distinct->text : "",
				 (double)(now - oldest) / 1e9, st->distinct ? ": " : ")");

		text_put(&s->list, b, (size_t)n < sizeof(b) ? (size_t)n : sizeof(b) - 1);
		if (st->distinct) {
			text_put(&s->list, s->text.buf ? s->text.buf : "", s->text.len);
			text_put(&s->list, ")", 1);
		}
	}
	v->suffix = s->list.buf;
	remove_entry(r, en); /* starts over */
}

/* ---- aggregate ---- */

static void summarise(struct stateful *s, struct srule *r, struct sentry *en)
{
	struct held *h = en->held;
	struct rule_out_field *f;
	char first[32], last[32], cnt[32], tf[32], tl[32], *out = NULL;
	size_t n = 0;

	if (!h || en->count < 2 || !s->emit)
		return;
	f = calloc(h->n_fields + 4, sizeof(*f));
	if (!f)
		return;
	snprintf(cnt, sizeof(cnt), "%" PRIu64, en->count);
	snprintf(first, sizeof(first), "%" PRIu64, en->first_ns);
	snprintf(last, sizeof(last), "%" PRIu64, en->last_ns);
	/* the first alert's fields, the vigil.* ones in their name order */
	struct rule_out_field add[] = {
	    {.name = "vigil.aggregated", .value = "true", .type = RULE_OUT_RAW},
	    {.name = "vigil.count", .value = cnt, .type = RULE_OUT_RAW},
	    {.name = "vigil.first_time", .value = first, .type = RULE_OUT_RAW},
	    {.name = "vigil.last_time", .value = last, .type = RULE_OUT_RAW},
	};
	size_t a = 0;
	for (size_t i = 0; i < h->n_fields || a < 4;) {
		if (a < 4 && (i >= h->n_fields || strcmp(add[a].name, h->fields[i].name) < 0))
			f[n++] = add[a++];
		else
			f[n++] = h->fields[i++];
	}
	if (asprintf(&out, "%s (aggregated: %" PRIu64 " matches from %s to %s)", h->output,
		     en->count, time_text(en->first_ns, tf, sizeof(tf)),
		     time_text(en->last_ns, tl, sizeof(tl))) < 0)
		out = NULL;
	s->emit(s->arg, &(struct stateful_summary){
			    .rule = r->info,
			    .rule_idx = r->idx,
			    .output = out ? out : h->output,
			    .fields = f,
			    .n_fields = n,
			    .container_id = h->container,
			    .time_ns = en->last_ns,
			});
	free(out);
	free(f);
	en->count = 1; /* summarised once */
}

static void on_aggregate(struct stateful *s, struct srule *r, struct rule_engine *e, void *fctx,
			 const struct event *ev, struct stateful_verdict *v)
{
	const struct rule_stateful *st = r->info->state;
	uint64_t now = ev->time_ns;
	struct sentry *en;

	text_reset(&s->key);
	if (key_fields(s, e, fctx, st->by, st->n_by)) {
		v->what = STATEFUL_FIRE; /* cannot key it: alert rather than lose it */
		return;
	}
	en = lookup(r, s->key.buf ? s->key.buf : "", s->key.len);
	if (en && now > en->first_ns + st->within_ns) {
		summarise(s, r, en);
		remove_entry(r, en);
		en = NULL;
	}
	if (en) {
		en->count++;
		if (now > en->last_ns)
			en->last_ns = now;
		v->what = STATEFUL_ACT;
		return;
	}
	en = insert(s, r, s->key.buf ? s->key.buf : "", s->key.len, now);
	v->what = en ? STATEFUL_FIRST : STATEFUL_FIRE;
	if (!en)
		return;
	en->first_ns = en->last_ns = now;
	en->count = 1;
	v->entry = en;
}

void stateful__keep(struct stateful *s, void *entry, const char *output,
		    const struct rule_out_field *fields, size_t n_fields, const char *container_id)
{
	struct sentry *en = entry;
	struct held *h = calloc(1, sizeof(*h));

	(void)s;
	if (!h)
		return;
	h->output = strdup(output ? output : "");
	h->fields = calloc(n_fields ? n_fields : 1, sizeof(*h->fields));
	if (!h->output || !h->fields) {
		held_free(h);
		return;
	}
	for (size_t i = 0; i < n_fields; i++) {
		const struct rule_out_field *f = &fields[i];
		size_t len = f->value ? (f->len ? f->len : strlen(f->value)) : 0;
		char *val = f->value ? malloc(len + 1) : NULL;

		if (val) {
			memcpy(val, f->value, len);
			val[len] = '\0';
		}
		h->fields[i] = (struct rule_out_field){
		    .name = strdup(f->name), .value = val, .len = len, .type = f->type};
		h->n_fields++;
		if (!h->fields[i].name || (f->value && !val)) {
			held_free(h);
			return;
		}
	}
	snprintf(h->container, sizeof(h->container), "%s", container_id ? container_id : "host");
	held_free(en->held);
	en->held = h;
}

/* Sends and drops the aggregates whose window closed by now_ns, or all of them. */
static void close_aggregates(struct stateful *s, uint64_t now_ns, bool all)
{
	for (size_t i = 0; s->n_aggregates && i < s->n_rules; i++) {
		struct srule *r = s->rules[i];
		const struct rule_stateful *st = r->info->state;

		if (st->kind != RULE_STATE_AGGREGATE)
			continue;
		/* aggregates are never moved to the front: the tail opened first */
		while (r->tail && (all || now_ns > r->tail->first_ns + st->within_ns)) {
			summarise(s, r, r->tail);
			remove_entry(r, r->tail);
		}
	}
}

void stateful__expire(struct stateful *s, uint64_t now_ns)
{
	close_aggregates(s, now_ns, false); /* per event: nothing to do without aggregates */
}

void stateful__flush(struct stateful *s)
{
	close_aggregates(s, 0, true);
}

/* ---- sequence ---- */

/* The scope's part of a key: the pid, or the container. */
static int scope_key(struct stateful *s, enum rule_seq_scope sc, uint32_t pid,
		     const struct event *ev)
{
	char b[24];

	if (sc == RULE_SEQ_CONTAINER) {
		const struct container_ident *c = event_container(ev);
		const char *id = c && c->short_id[0] ? c->short_id : "host";

		return text_put(&s->key, id, strlen(id) + 1);
	}
	snprintf(b, sizeof(b), "%u", pid);
	return text_put(&s->key, b, strlen(b) + 1);
}

/* This step's event, as a JSON object and a text piece. */
static int step_record(struct stateful *s, struct rule_engine *e, void *fctx,
		       const struct rule_stateful *st, size_t step, const struct event *ev,
		       const struct sentry *from, char **json, char **text)
{
	char tb[32], b[64];

	json_reset(&s->js);
	text_reset(&s->text);
	if (from && from->steps_json) {
		text_put(&s->text, from->steps_text, strlen(from->steps_text));
		text_put(&s->text, "; ", 2);
	}
	json_obj_begin(&s->js);
	json_key(&s->js, "step");
	json_uint(&s->js, step + 1);
	json_key(&s->js, "time");
	json_uint(&s->js, ev->time_ns);
	snprintf(b, sizeof(b), "%zu) %s", step + 1, time_text(ev->time_ns, tb, sizeof(tb)));
	text_put(&s->text, b, strlen(b));
	for (size_t i = 0; i < st->n_record; i++) {
		const struct rule_field_ref *ref = st->record[i];
		enum rule_ftype t = ref->def->type;
		int n;

		text_reset(&s->list);
		n = rule_engine__ref_text(e, ref, fctx, &s->list);
		if (n < 0)
			return -ENOMEM;
		json_key(&s->js, ref->text);
		if (!n)
			json_null(&s->js);
		else if ((t == RULE_FT_INT64 || t == RULE_FT_UINT64) && !ref->multi)
			json_raw(&s->js, s->list.buf);
		else
			json_str(&s->js, s->list.buf);
		if (n && strcmp(ref->text, "proc.cmdline")) {
			text_put(&s->text, " ", 1);
			text_put(&s->text, s->list.buf, s->list.len);
		}
	}
	json_obj_end(&s->js);
	if (s->js.err)
		return -ENOMEM;
	if (from && from->steps_json) {
		if (asprintf(json, "%s,%s", from->steps_json, s->js.buf) < 0)
			*json = NULL;
	} else {
		*json = strdup(s->js.buf);
	}
	*text = strdup(s->text.buf);
	if (!*json || !*text) {
		free(*json);
		free(*text);
		return -ENOMEM;
	}
	return 0;
}

/* Key of a partial match at step k, to be found by step k + 1. */
static int partial_key(struct stateful *s, struct rule_engine *e, void *fctx,
		       const struct rule_stateful *st, size_t k, uint32_t pid,
		       const struct event *ev, bool as_next)
{
	const struct rule_step *nx = &st->steps[k + 1];
	char kb[8];

	text_reset(&s->key);
	snprintf(kb, sizeof(kb), "%zu", k);
	if (text_put(&s->key, kb, strlen(kb) + 1) || scope_key(s, st->scope, pid, ev))
		return -ENOMEM;
	for (size_t i = 0; i < nx->n_same; i++)
		if (rule_engine__ref_text(e, as_next ? nx->same[i].cur : nx->same[i].prev, fctx,
					  &s->key) < 0 ||
		    text_put(&s->key, "", 1))
			return -ENOMEM;
	return 0;
}

/* A partial match step k + 1 continues, or NULL; expired ones are dropped on the way. */
static struct sentry *find_partial(struct stateful *s, struct srule *r, struct rule_engine *e,
				   void *fctx, size_t k, const struct event *ev,
				   struct proctable *procs)
{
	const struct rule_stateful *st = r->info->state;
	const struct proc_info *anc[ANCESTRY_MAX];
	size_t n = 0;
	uint32_t pid = ev->proc ? ev->proc->pid : ev->hdr->pid;

	if (st->scope == RULE_SEQ_TREE && ev->proc && procs)
		n = proctable__ancestry(procs, pid, anc, ANCESTRY_MAX, NULL);
	for (size_t i = 0; i <= n; i++) {
		struct sentry *en;

		if (i)
			pid = anc[i - 1]->pid;
		if (partial_key(s, e, fctx, st, k, pid, ev, true))
			return NULL;
		en = lookup(r, s->key.buf, s->key.len);
		if (en && ev->time_ns > en->first_ns + st->within_ns) {
			remove_entry(r, en);
			en = NULL;
		}
		if (en)
			return en;
		if (st->scope != RULE_SEQ_TREE)
			break;
	}
	return NULL;
}

static void on_sequence(struct stateful *s, struct srule *r, struct rule_engine *e, void *fctx,
			const struct event *ev, struct proctable *procs, struct stateful_verdict *v)
{
	const struct rule_stateful *st = r->info->state;
	uint32_t pid = ev->proc ? ev->proc->pid : ev->hdr->pid;
	size_t last = st->n_steps - 1;

	/* later steps first: an event never continues a partial match it started */
	for (size_t k = last + 1; k-- > 0;) {
		struct sentry *from = NULL, *en;
		char *json, *text;

		if (!rule_engine__step_match(e, r->idx, k, fctx))
			continue;
		if (k && !(from = find_partial(s, r, e, fctx, k - 1, ev, procs)))
			continue;
		if (step_record(s, e, fctx, st, k, ev, from, &json, &text))
			return;
		if (k == last) {
			/* complete: every step's event in the alert */
			uint64_t first = from->first_ns;

			remove_entry(r, from);
			text_reset(&s->list);
			text_put(&s->list, "[", 1);
			text_put(&s->list, json, strlen(json));
			text_put(&s->list, "]", 1);
			text_reset(&s->key);
			text_put(&s->key, " (sequence: ", 12);
			text_put(&s->key, text, strlen(text));
			text_put(&s->key, ")", 1);
			free(json);
			free(text);
			snprintf(s->num[0], sizeof(s->num[0]), "%" PRIu64, first);
			extra(v, "vigil.first_time", s->num[0], RULE_OUT_RAW);
			extra(v, "vigil.steps", s->list.buf, RULE_OUT_LIST);
			v->suffix = s->key.buf;
			v->what = STATEFUL_FIRE;
			return;
		}
		uint64_t first = from ? from->first_ns : ev->time_ns;

		if (from)
			remove_entry(r, from); /* it moved on a step */
		if (partial_key(s, e, fctx, st, k, pid, ev, false)) {
			free(json);
			free(text);
			return;
		}
		en = lookup(r, s->key.buf, s->key.len);
		if (en) {
			lru_unlink(r, en);
			lru_front(r, en);
			free(en->steps_json);
			free(en->steps_text);
		} else if (!(en = insert(s, r, s->key.buf, s->key.len, ev->time_ns))) {
			free(json);
			free(text);
			return;
		}
		en->steps_json = json;
		en->steps_text = text;
		en->first_ns = first;
		en->last_ns = ev->time_ns;
		en->step = k;
	}
}

void stateful__match(struct stateful *s, struct rule_engine *e, size_t rule_idx, void *fctx,
		     const struct event *ev, struct proctable *procs, struct stateful_verdict *v)
{
	struct srule *r = rule_idx < s->n_idx ? s->by_idx[rule_idx] : NULL;

	*v = (struct stateful_verdict){.what = STATEFUL_NOTHING};
	if (!r) {
		v->what = STATEFUL_FIRE; /* not bound (out of memory): a plain alert */
		return;
	}
	switch (r->info->state->kind) {
	case RULE_STATE_THRESHOLD:
		on_threshold(s, r, e, fctx, ev, v);
		break;
	case RULE_STATE_AGGREGATE:
		on_aggregate(s, r, e, fctx, ev, v);
		break;
	case RULE_STATE_SEQUENCE:
		on_sequence(s, r, e, fctx, ev, procs, v);
		break;
	default:
		v->what = STATEFUL_FIRE;
	}
}

size_t stateful__stats(const struct stateful *s, struct stateful_rule_stats *out, size_t max)
{
	static const char *const kinds[] = {"", "threshold", "aggregate", "sequence"};

	for (size_t i = 0; out && i < s->n_rules && i < max; i++)
		out[i] = (struct stateful_rule_stats){
		    .rule = s->rules[i]->name,
		    .kind = kinds[s->rules[i]->info->state->kind],
		    .entries = s->rules[i]->n,
		    .evictions = s->rules[i]->evicted,
		};
	return s->n_rules;
}
