// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * detect.c - runs vigil's events through the rule engine. A reload builds a whole
 * new engine and swaps it in only when it compiled, so a broken rule file never
 * leaves the agent without rules. The prefilter derived from the rules is an
 * over-approximation: the engine computes, per event code and field, every value
 * any rule could match; an event type gets the union over its syscalls.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detect.h"
#include "events/event.h"
#include "fields.h"
#include "filter.h"
#include "util/json.h"
#include "daemon/metrics.h"
#include "state/proctable.h"

struct detect {
	struct detect_opts opts;     /* as given */
	struct rule_engine *eng;     /* the running rules */
	struct field_ctx *fctx;	     /* getter context, reused per event */
	struct json_buf alert;	     /* alert rendering, reused */
	struct rule_text text;	     /* text line rendering, reused */
	const char *hostname;	     /* for the alert being built */
	struct metric *eval_seconds; /* sampled evaluation times; NULL: not timed */
	struct detect_stats stats;   /* counters */
};

static struct rule_engine *build(const struct detect_opts *o)
{
	struct rule_engine_opts eo = {
	    .min_priority = o->min_priority,
	    .unknown_field_warn = o->unknown_field_warn,
	    .time_iso8601 = true,
	};
	struct rule_engine *e;
	size_t i;
	int ret = 0;

	fields_bind(&eo);
	e = rule_engine__new(&eo);
	if (!e)
		return NULL;
	if (!o->files)
		ret = rule_engine__load_buf(e, "<built-in rules>", vigil_builtin_rules,
					    vigil_builtin_rules_len);
	for (i = 0; o->files && i < o->n_files && !ret; i++)
		ret = rule_engine__load_file(e, o->files[i]);
	if (!ret)
		ret = rule_engine__compile(e);
	rule_engine__print_diags(e, stderr);
	if (ret) {
		rule_engine__free(e);
		return NULL;
	}
	return e;
}

static void count_rules(struct detect *d)
{
	size_t i, n = rule_engine__rule_count(d->eng);

	d->stats.rules_loaded = n;
	d->stats.rules_active = 0;
	for (i = 0; i < n; i++)
		if (rule_engine__rule(d->eng, i)->active)
			d->stats.rules_active++;
}

struct detect *detect__new(const struct detect_opts *opts)
{
	struct detect *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->opts = *opts;
	d->fctx = calloc(1, sizeof(*d->fctx));
	if (!d->fctx)
		goto err_free;
	d->eng = build(opts);
	if (!d->eng)
		goto err_free;
	json_init(&d->alert);
	count_rules(d);
	return d;

err_free:
	free(d->fctx);
	free(d);
	return NULL;
}

void detect__free(struct detect *d)
{
	if (!d)
		return;
	rule_engine__free(d->eng);
	json_free(&d->alert);
	rule_text__free(&d->text);
	free(d->fctx);
	free(d);
}

int detect__reload(struct detect *d)
{
	struct rule_engine *e = build(&d->opts);

	if (!e) {
		d->stats.reload_errors++;
		return -EINVAL;
	}
	rule_engine__free(d->eng);
	d->eng = e;
	d->stats.reloads++;
	count_rules(d);
	return 0;
}

static void on_match(void *arg, size_t idx, const struct rule_info *rule)
{
	struct detect *d = arg;
	const struct event *ev = d->fctx->ev;
	uint32_t code = field_event_code(ev);
	struct detect_alert a = {.rule = rule, .ev = ev, .time_ns = ev->time_ns};

	d->stats.alerts++;
	json_reset(&d->alert);
	if (rule_engine__format_alert(d->eng, idx, code, d->fctx, ev->time_ns, d->hostname,
				      &d->alert))
		return;
	d->text.len = 0;
	if (rule_engine__format_output(d->eng, idx, code, d->fctx, ev->time_ns, &d->text))
		return;
	a.json = d->alert.buf;
	a.json_len = d->alert.len;
	a.text = d->text.buf;
	if (d->opts.on_alert)
		d->opts.on_alert(d->opts.arg, &a);
}

/* one evaluation in EVAL_SAMPLE is timed: two clock reads per event would cost more */
#define EVAL_SAMPLE 64

void detect__eval(struct detect *d, const struct event *ev, struct proctable *procs,
		  const char *hostname)
{
	struct timespec t0, t1;
	bool timed = d->eval_seconds && d->stats.evaluated % EVAL_SAMPLE == 0;

	field_ctx_reset(d->fctx, ev);
	d->fctx->procs = procs;
	d->fctx->hostname = hostname;
	d->fctx->evt_num = ++d->stats.evaluated;
	d->hostname = hostname;
	if (timed)
		clock_gettime(CLOCK_MONOTONIC, &t0);
	rule_engine__eval(d->eng, field_event_code(ev), d->fctx, on_match, d);
	if (timed) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		metric__observe(d->eval_seconds,
				(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	}
}

void detect__time_evaluations(struct detect *d, struct metric *h)
{
	d->eval_seconds = h;
}

const struct rule_engine *detect__engine(const struct detect *d)
{
	return d->eng;
}

void detect__stats(const struct detect *d, struct detect_stats *out)
{
	*out = d->stats;
}

enum reach {
	REACH_NONE, /* no active rule is indexed for any of the type's codes */
	REACH_SOME, /* the union of value sets below */
	REACH_ALL,  /* some rule may match any value */
};

/* Unions field's prefilter over the codes into out; returns how far it reaches. */
static enum reach derive_field(const struct rule_engine *eng, const uint8_t *codes,
			       const char *field, int type, struct filter_spec *out, bool commit)
{
	enum reach r = REACH_NONE;
	char err[64], num[32];
	size_t i;

	for (; *codes; codes++) {
		struct rule_prefilter *pf = rule_engine__prefilter(eng, *codes, field);

		if (!pf)
			return REACH_ALL;
		if (pf->all || pf->absent)
			r = REACH_ALL;
		else if (pf->n_exact || pf->n_prefix || pf->n_num)
			r = r == REACH_ALL ? r : REACH_SOME;
		/* the kernel sees absolute paths only: anything else cannot be checked there */
		for (i = 0; r != REACH_ALL && pf->type == RULE_FT_STRING && i < pf->n_exact; i++)
			if (strcmp(field, "proc.name") && pf->exact[i].ptr[0] != '/')
				r = REACH_ALL;
		for (i = 0; r != REACH_ALL && pf->type == RULE_FT_STRING && i < pf->n_prefix; i++)
			if (!strcmp(field, "proc.name") || pf->prefix[i].ptr[0] != '/')
				r = REACH_ALL; /* comms are matched whole in the kernel */
		for (i = 0; commit && r == REACH_SOME && i < pf->n_exact; i++) {
			if (pf->type == RULE_FT_STRING && !strcmp(field, "proc.name")) {
				if (pf->exact[i].len < VG_COMM_LEN) {
					char item[VG_COMM_LEN + 8];

					snprintf(item, sizeof(item), "comm=%s", pf->exact[i].ptr);
					filter_spec_add(out, type, item, err, sizeof(err));
				}
			} else {
				filter_spec_add(out, type, pf->exact[i].ptr, err, sizeof(err));
			}
		}
		for (i = 0; commit && r == REACH_SOME && i < pf->n_prefix; i++) {
			char item[VG_FILTER_PATH_MAX + 2];

			snprintf(item, sizeof(item), "%s*", pf->prefix[i].ptr);
			filter_spec_add(out, type, item, err, sizeof(err));
		}
		for (i = 0; commit && r == REACH_SOME && i < pf->n_num; i++) {
			snprintf(num, sizeof(num), "port=%llu", (unsigned long long)pf->num[i]);
			filter_spec_add(out, type, num, err, sizeof(err));
		}
		rule_prefilter__free(pf);
	}
	return r;
}

/* Whether the rules may see any event of the type at all. */
static bool type_reached(const struct rule_engine *eng, const uint8_t *codes)
{
	size_t i, n = rule_engine__rule_count(eng);

	for (i = 0; i < n; i++) {
		const struct rule_info *r = rule_engine__rule(eng, i);
		const uint8_t *c;

		if (!r->active)
			continue;
		if (r->all_evtypes)
			return true;
		for (c = codes; *c; c++)
			for (size_t k = 0; k < r->n_evtypes; k++)
				if (r->evtypes[k] == *c)
					return true;
	}
	return false;
}

static void derive(const struct rule_engine *eng, struct filter_spec *out)
{
	size_t i;

	for (i = 0; i < VG_EV_TYPE_MAX; i++) {
		const struct event_kind *k = event_kind(i);
		uint8_t codes[VG_SYS_MAX];
		const char *fields[] = {k ? k->pf_fields[0] : NULL, k ? k->pf_fields[1] : NULL,
					"proc.name"};
		int type = i;
		size_t f;

		/* the process lifecycle always goes up: the process table needs it */
		if (!k || (k->flags & EVENT_KF_LIFECYCLE))
			continue;
		event_kind_codes(type, codes);

		if (!type_reached(eng, codes)) {
			out->types[type].mode = VG_FILTER_NONE;
			continue;
		}
		out->types[type].mode = VG_FILTER_ALL;
		/* the first field every rule constrains is enough: each derivation covers
		 * every rule of the type */
		for (f = 0; f < 3; f++) {
			if (!fields[f] ||
			    derive_field(eng, codes, fields[f], type, out, false) != REACH_SOME)
				continue;
			derive_field(eng, codes, fields[f], type, out, true);
			break;
		}
	}
}

int detect__derive_filter(const struct detect *d, struct filter_spec *out)
{
	derive(d->eng, out);
	return 0;
}

void detect_print_prefilter(const struct rule_engine *e, FILE *out)
{
	static const char *const modes[] = {"all", "match", "none"};
	struct filter_spec spec;
	int t;

	filter_spec_init(&spec);
	derive(e, &spec);
	for (t = 1; t < VG_EV_TYPE_MAX; t++) {
		const char *name = event_type_name(t);

		if (!name)
			continue;
		fprintf(out, "%-9s %s", name, modes[spec.types[t].mode]);
		for (size_t i = 0; i < spec.nitems; i++) {
			const struct filter_item *it = &spec.items[i];

			if (it->type != t)
				continue;
			switch (it->kind) {
			case FILTER_ITEM_PREFIX:
				fprintf(out, " %s*", it->str);
				break;
			case FILTER_ITEM_EXACT:
				fprintf(out, " %s", it->str);
				break;
			case FILTER_ITEM_COMM:
				fprintf(out, " comm=%s", it->str);
				break;
			case FILTER_ITEM_PORT:
				fprintf(out, " port=%llu", (unsigned long long)it->num);
				break;
			case FILTER_ITEM_CGROUP:
				fprintf(out, " cgroup=%llu", (unsigned long long)it->num);
				break;
			}
		}
		fputc('\n', out);
	}
	filter_spec_free(&spec);
}

void detect_print_rules(const struct rule_engine *e, FILE *out)
{
	size_t i, k, n = rule_engine__rule_count(e);

	for (i = 0; i < n; i++) {
		const struct rule_info *r = rule_engine__rule(e, i);

		fprintf(out, "%s\n  priority: %s%s\n  tags:", r->name,
			rule_priority__name(r->priority), r->active ? "" : " (inactive)");
		for (k = 0; k < r->n_tags; k++)
			fprintf(out, " %s", r->tags[k]);
		fprintf(out, "\n  events:");
		if (r->all_evtypes)
			fprintf(out, " all");
		for (k = 0; k < r->n_evtypes; k++)
			fprintf(out, " %s", fields_evtype_name(r->evtypes[k]));
		fprintf(out, "\n");
	}
}
