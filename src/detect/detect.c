// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * detect.c - runs vigil's events through the rule engine. A reload builds a whole
 * new engine and swaps it in only when it compiled, so a broken rule file never
 * leaves the agent without rules. The prefilter derived from the rules is an
 * over-approximation: the engine computes, per event code and field, every value
 * any rule could match; an event type gets the union over its syscalls, added to
 * the filter description as typed values. A value the kernel cannot compare or a
 * failed derivation sends the type whole (failing closed) and says why. A rules
 * file others could write is refused, at start and on reload alike.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "detect.h"
#include "events/event.h"
#include "fields.h"
#include "filter.h"
#include "daemon/metrics.h"
#include "state/container.h"
#include "state/proctable.h"
#include "stateful.h"

struct detect {
	struct detect_opts opts;       /* as given */
	struct rule_engine *eng;       /* the running rules */
	struct field_ctx *fctx;	       /* getter context, reused per event */
	struct rule_alert alert;       /* the parts of the alert being built, reused */
	const char *hostname;	       /* for the alert being built */
	struct metric *eval_seconds;   /* sampled evaluation times; NULL: not timed */
	struct detect_stats stats;     /* counters */
	struct stateful *st;	       /* stateful rules' windows */
	struct rule_out_field *merged; /* an alert's fields with the vigil.* ones */
	size_t merged_cap;	       /* entries allocated in merged */
	struct rule_text line;	       /* an alert's text line with its stateful suffix */
};

/* True when uid may own a rules file or its directory: root or the agent's own user. */
static bool trusted_owner(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/*
 * Refuses a rules file someone else could change, as sshd's StrictModes does: it is
 * reloaded automatically, so whoever can write it decides what vigil watches. The
 * file (symbolic links followed) and its directory must belong to root or the
 * agent's user and not be writable by group or others; a directory such as /tmp
 * (root's, sticky) is accepted, as only a file's owner may replace it there.
 * Returns 0 (also when the file cannot be found: loading says why) or -EPERM,
 * having said why and what to do.
 */
static int rules_file_trusted(const char *path, FILE *diag)
{
	char real[PATH_MAX], *slash;
	struct stat st;

	if (!realpath(path, real) || stat(real, &st))
		return 0;
	if (!trusted_owner(st.st_uid)) {
		fprintf(diag,
			"%s: error: rules file owned by uid %u, not root or vigil's user: refused; "
			"run `chown root %s`\n",
			path, (unsigned)st.st_uid, path);
		return -EPERM;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		fprintf(diag,
			"%s: error: rules file writable by group or others (mode %04o): refused; "
			"run `chmod go-w %s`\n",
			path, (unsigned)(st.st_mode & 07777), path);
		return -EPERM;
	}
	slash = strrchr(real, '/');
	if (slash == real)
		slash++;
	*slash = '\0';
	if (stat(real, &st))
		return 0;
	if (!trusted_owner(st.st_uid)) {
		fprintf(diag,
			"%s: error: its directory %s is owned by uid %u, not root or vigil's user: "
			"refused; run `chown root %s`\n",
			path, real, (unsigned)st.st_uid, real);
		return -EPERM;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_uid == 0 && (st.st_mode & S_ISVTX))) {
		fprintf(diag,
			"%s: error: its directory %s is writable by group or others (mode %04o): "
			"refused; run `chmod go-w %s`\n",
			path, real, (unsigned)(st.st_mode & 07777), real);
		return -EPERM;
	}
	return 0;
}

static struct rule_engine *build(const struct detect_opts *o, FILE *diag)
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
	for (i = 0; o->files && i < o->n_files && !ret; i++) {
		ret = rules_file_trusted(o->files[i], diag);
		if (!ret)
			ret = rule_engine__load_file(e, o->files[i]);
	}
	if (!ret)
		ret = rule_engine__compile(e);
	rule_engine__print_diags(e, diag);
	if (!ret && o->check)
		ret = o->check(o->arg, e, diag);
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

static void emit_summary(void *arg, const struct stateful_summary *s);

struct detect *detect__new(const struct detect_opts *opts)
{
	struct detect *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->opts = *opts;
	d->fctx = calloc(1, sizeof(*d->fctx));
	if (!d->fctx)
		goto err_free;
	d->eng = build(opts, stderr);
	if (!d->eng)
		goto err_free;
	d->st = stateful__new(&(struct stateful_opts){.max_entries = opts->state_max_entries,
						      .max_values = opts->state_max_values},
			      emit_summary, d);
	if (!d->st) {
		rule_engine__free(d->eng);
		goto err_free;
	}
	stateful__bind(d->st, d->eng);
	count_rules(d);
	return d;

err_free:
	free(d->fctx);
	free(d);
	return NULL;
}

void detect__flush(struct detect *d)
{
	stateful__flush(d->st);
}

void detect__tick(struct detect *d, uint64_t now_ns)
{
	stateful__expire(d->st, now_ns);
}

size_t detect__state_stats(const struct detect *d, struct stateful_rule_stats *out, size_t max)
{
	return stateful__stats(d->st, out, max);
}

void detect__free(struct detect *d)
{
	if (!d)
		return;
	stateful__free(d->st); /* pending aggregates go out first */
	rule_engine__free(d->eng);
	rule_alert__free(&d->alert);
	rule_text__free(&d->line);
	free(d->merged);
	free(d->fctx);
	free(d);
}

int detect__reload(struct detect *d)
{
	return detect__reload_diag(d, stderr);
}

int detect__reload_diag(struct detect *d, FILE *diag)
{
	struct rule_engine *e = build(&d->opts, diag);

	if (!e) {
		d->stats.reload_errors++;
		return -EINVAL;
	}
	/* unchanged stateful rules keep their state; the old rules' names hold until here */
	stateful__bind(d->st, e);
	rule_engine__free(d->eng);
	d->eng = e;
	d->stats.reloads++;
	count_rules(d);
	return 0;
}

/* The alert's fields with extra ones, in name order (both are sorted). */
static const struct rule_out_field *merge_fields(struct detect *d, const struct rule_out_field *a,
						 size_t na, const struct rule_out_field *b,
						 size_t nb, size_t *n)
{
	size_t i = 0, j = 0, k = 0;

	if (!nb) {
		*n = na;
		return a;
	}
	if (na + nb > d->merged_cap) {
		struct rule_out_field *m = realloc(d->merged, (na + nb) * sizeof(*m));

		if (!m) {
			*n = na;
			return a;
		}
		d->merged = m;
		d->merged_cap = na + nb;
	}
	while (i < na || j < nb) {
		if (j < nb && (i >= na || strcmp(b[j].name, a[i].name) < 0))
			d->merged[k++] = b[j++];
		else
			d->merged[k++] = a[i++];
	}
	*n = k;
	return d->merged;
}

static int cmp_field(const void *x, const void *y)
{
	return strcmp(((const struct rule_out_field *)x)->name,
		      ((const struct rule_out_field *)y)->name);
}

/* A pending aggregate's summary: no event any more, no actions (they ran per match). */
static void emit_summary(void *arg, const struct stateful_summary *s)
{
	struct detect *d = arg;

	d->stats.alerts++;
	if (d->opts.on_alert)
		d->opts.on_alert(d->opts.arg, &(struct detect_alert){
						  .rule = s->rule,
						  .rule_idx = s->rule_idx,
						  .ev = NULL,
						  .time_ns = s->time_ns,
						  .hostname = d->hostname,
						  .output = s->output,
						  .fields = s->fields,
						  .n_fields = s->n_fields,
						  .container_id = s->container_id,
					      });
}

static void on_match(void *arg, size_t idx, const struct rule_info *rule)
{
	struct detect *d = arg;
	const struct event *ev = d->fctx->ev;
	struct stateful_verdict v = {.what = STATEFUL_FIRE};
	const struct rule_out_field *fields;
	const char *output;
	size_t n_fields;
	bool unknown = true;

	if (rule->state) {
		stateful__match(d->st, d->eng, idx, d->fctx, ev, d->fctx->procs, &v);
		if (v.what == STATEFUL_NOTHING)
			return;
	}
	if (v.what != STATEFUL_ACT)
		d->stats.alerts++;
	if (rule_engine__format_alert(d->eng, idx, field_event_code(ev), d->fctx, ev->time_ns,
				      &d->alert))
		return;
	output = d->alert.output.buf;
	qsort(v.extra, v.n_extra, sizeof(v.extra[0]), cmp_field);
	fields = merge_fields(d, d->alert.fields, d->alert.n_fields, v.extra, v.n_extra, &n_fields);
	if (v.suffix) {
		d->line.len = 0;
		if (!rule_text__append(&d->line, d->alert.output.buf, d->alert.output.len) &&
		    !rule_text__append(&d->line, v.suffix, strlen(v.suffix)))
			output = d->line.buf;
	}
	if (ev->proc && d->fctx->procs)
		proctable__ancestry(d->fctx->procs, ev->proc->pid, NULL, 0, &unknown);
	if (v.what == STATEFUL_FIRST) {
		const struct container_ident *c = event_container(ev);

		stateful__keep(d->st, v.entry, output, fields, n_fields,
			       c && c->short_id[0] ? c->short_id : "host");
	}
	if (d->opts.on_alert)
		d->opts.on_alert(d->opts.arg, &(struct detect_alert){
						  .rule = rule,
						  .rule_idx = idx,
						  .ev = ev,
						  .time_ns = ev->time_ns,
						  .hostname = d->hostname,
						  .output = output,
						  .fields = fields,
						  .n_fields = n_fields,
						  .ancestry_unknown = unknown,
						  .held = v.what == STATEFUL_ACT,
					      });
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
	/* aggregates whose window this event's time closed go out first */
	stateful__expire(d->st, ev->time_ns);
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

/* codes arrays from event_kind_codes(): 0-terminated, at most VG_SYS_MAX - 1 codes */
#define MAX_CODES VG_SYS_MAX

/* One field's prefilter over the codes of one type. */
struct field_pf {
	const char *field; /* the field */
	bool comm;	   /* it is the task's comm, which the kernel compares whole */
	bool leaf;	   /* it is a file's own name, for leaf entries */
	struct rule_prefilter *pf[MAX_CODES]; /* per code */
	size_t n;			      /* entries in pf */
};

static void field_pf_free(struct field_pf *fp)
{
	for (size_t i = 0; i < fp->n; i++)
		rule_prefilter__free(fp->pf[i]);
	fp->n = 0;
}

/*
 * Whether the kernel can compare every value of pf; why names the first it cannot.
 * A comm longer than the kernel's is cut to what the kernel sees (proc.name is the
 * kernel's comm, so a longer value matches nothing and the cut one lets more pass).
 */
static bool expressible(const struct field_pf *fp, const struct rule_prefilter *pf, char *why,
			size_t n)
{
	size_t i;

	if (pf->type == RULE_FT_STRING) {
		if (fp->comm && pf->n_prefix) {
			snprintf(why, n,
				 "%.20s starting with \"%.40s\" (the kernel compares whole comms)",
				 fp->field, pf->prefix[0].ptr);
			return false;
		}
		for (i = 0; !fp->comm && i < pf->n_prefix; i++) {
			if (!filter_path_ok(pf->prefix[i].ptr, pf->prefix[i].len)) {
				snprintf(
				    why, n,
				    "%.20s starting with \"%.40s\" (the kernel compares absolute "
				    "paths only)",
				    fp->field, pf->prefix[i].ptr);
				return false;
			}
		}
		for (i = 0; i < pf->n_exact; i++) {
			const struct rule_pf_str *s = &pf->exact[i];
			size_t len = s->len;

			if (fp->comm && len >= VG_COMM_LEN)
				len = VG_COMM_LEN - 1;
			if (fp->comm ? !filter_comm_ok(s->ptr, len)
				     : !filter_path_ok(s->ptr, len)) {
				snprintf(why, n, "%.20s \"%.40s\" (the kernel compares %s only)",
					 fp->field, s->ptr,
					 fp->comm ? "comms without NUL bytes" : "absolute paths");
				return false;
			}
		}
		return true;
	}
	for (i = 0; i < pf->n_num; i++) {
		if (filter_port_ok(pf->num[i]))
			continue;
		if (pf->type == RULE_FT_INT64)
			snprintf(why, n, "%.20s %lld (the kernel compares ports 1 to 65535)",
				 fp->field, (long long)pf->num[i]);
		else
			snprintf(why, n, "%.20s %llu (the kernel compares ports 1 to 65535)",
				 fp->field, (unsigned long long)pf->num[i]);
		return false;
	}
	return true;
}

/* Whether the kernel can compare every value of pf as a file's own name. */
static bool leaves_expressible(const struct field_pf *fp, const struct rule_prefilter *pf,
			       char *why, size_t n)
{
	const struct rule_pf_str *v[2] = {pf->exact, pf->prefix};
	size_t cnt[2] = {pf->n_exact, pf->n_prefix};

	for (size_t k = 0; k < 2; k++)
		for (size_t i = 0; i < cnt[k]; i++)
			if (!filter_leaf_ok(v[k][i].ptr, v[k][i].len)) {
				snprintf(why, n, "%.20s \"%.40s\" (a file name has no '/')",
					 fp->field, v[k][i].ptr);
				return false;
			}
	return true;
}

/*
 * Computes field's prefilter for each code into fp and how far it reaches. 0, or
 * -ERANGE with why set when REACH_SOME holds a value the kernel cannot compare, or
 * -errno when the engine could not compute it.
 */
static int derive_field(const struct rule_engine *eng, const uint8_t *codes,
			const struct rule_pf_opts *opts, struct field_pf *fp, enum reach *reach,
			char *why, size_t whylen)
{
	*reach = REACH_NONE;
	for (size_t c = 0; c < MAX_CODES && codes[c]; c++) {
		struct rule_prefilter *pf =
		    rule_engine__prefilter_with(eng, codes[c], fp->field, opts);

		if (!pf)
			return errno ? -errno : -ENOMEM;
		fp->pf[fp->n++] = pf;
		if (pf->all || pf->absent) {
			*reach = REACH_ALL;
			return 0;
		}
		if (pf->n_exact || pf->n_prefix || pf->n_num)
			*reach = REACH_SOME;
	}
	for (size_t i = 0; *reach == REACH_SOME && i < fp->n; i++)
		if (!(fp->leaf ? leaves_expressible : expressible)(fp, fp->pf[i], why, whylen))
			return -ERANGE;
	return 0;
}

/* Adds fp's values (all of which expressible() accepted) to type's criteria. */
static int commit_field(const struct field_pf *fp, int type, struct filter_spec *out)
{
	int ret = 0;

	for (size_t c = 0; c < fp->n && !ret; c++) {
		const struct rule_prefilter *pf = fp->pf[c];
		size_t i;

		for (i = 0; i < pf->n_exact && !ret; i++) {
			const struct rule_pf_str *s = &pf->exact[i];

			if (fp->comm)
				ret = filter_spec_add_comm(out, type, s->ptr,
							   s->len < VG_COMM_LEN ? s->len
										: VG_COMM_LEN - 1);
			else if (fp->leaf)
				ret = filter_spec_add_leaf(out, type, s->ptr, s->len, false);
			else
				ret = filter_spec_add_path(out, type, s->ptr, s->len, false);
		}
		for (i = 0; i < pf->n_prefix && !ret; i++)
			ret = (fp->leaf ? filter_spec_add_leaf : filter_spec_add_path)(
			    out, type, pf->prefix[i].ptr, pf->prefix[i].len, true);
		for (i = 0; i < pf->n_num && !ret; i++)
			ret = filter_spec_add_port(out, type, pf->num[i]);
	}
	return ret;
}

/* Whether the rules may see any event of the type at all. */
static bool type_reached(const struct rule_engine *eng, const uint8_t *codes)
{
	size_t i, n = rule_engine__rule_count(eng);

	for (i = 0; i < n; i++) {
		const struct rule_info *r = rule_engine__rule(eng, i);

		if (!r->active)
			continue;
		if (r->all_evtypes)
			return true;
		for (size_t c = 0; c < MAX_CODES && codes[c]; c++)
			for (size_t k = 0; k < r->n_evtypes; k++)
				if (r->evtypes[k] == codes[c])
					return true;
	}
	return false;
}

/*
 * One type: none when no rule can see it; else the values of the first field
 * every rule constrains (each derivation covers every rule of the type); else
 * all, which is a fallback when a field had values the kernel cannot compare.
 */
static int derive_slot(const struct rule_engine *eng, const struct event_kind *k, int type,
		       int slot, const struct rule_pf_opts *opts, struct filter_spec *out)
{
	char both[64];
	const char *fields[] = {k->pf_fields[0], k->pf_fields[1], NULL, "proc.name"};
	uint8_t codes[MAX_CODES];
	char why[sizeof(out->fallback[0].what)] = "", w[sizeof(why)];
	enum reach reach;
	int ret = 0;

	event_kind_codes(type, codes);
	if (!type_reached(eng, codes)) {
		out->types[slot].mode = VG_FILTER_NONE;
		return 0;
	}
	out->types[slot].mode = VG_FILTER_ALL;
	/* two fields with one value: rules that each test one of them still reduce */
	if (k->pf_same && fields[0] && fields[1]) {
		snprintf(both, sizeof(both), "%s|%s", fields[0], fields[1]);
		fields[2] = both;
	}
	for (size_t f = 0; f < 4; f++) {
		struct field_pf fp = {.field = fields[f], .comm = f == 3};
		struct rule_pf_opts o = opts ? *opts : (struct rule_pf_opts){0};

		if (!fields[f])
			continue;
		/* a test of a file's directory restricts its path */
		if (!strcmp(fields[f], "fd.name"))
			o.dir_of = "fd.directory";
		ret = derive_field(eng, codes, &o, &fp, &reach, w, sizeof(w));
		if (!ret && reach == REACH_SOME)
			ret = commit_field(&fp, slot, out);
		field_pf_free(&fp);
		if (ret == -ERANGE && !why[0])
			memcpy(why, w, sizeof(why)); /* the first field's reason is the one told */
		if (ret == -ERANGE)
			continue;
		if (ret) {
			filter_spec_fall_back(out, slot,
					      ret == -ENOMEM ? FILTER_FB_NOMEM : FILTER_FB_ERROR,
					      "deriving from %s: %s", fields[f], strerror(-ret));
			return ret;
		}
		if (reach == REACH_SOME)
			return 0;
		if (reach == REACH_NONE) {
			/* no value of the field lets a rule match: nothing can */
			out->types[slot].mode = VG_FILTER_NONE;
			return 0;
		}
	}
	if (why[0])
		filter_spec_fall_back(out, slot, FILTER_FB_VALUE, "%s", why);
	return 0;
}

/*
 * Leaf entries for an open slot whose paths the rules reduce (or do not reduce at
 * all): the file names fd.filename and fd.name leave possible. Not where a comm
 * decides: leaves would let more through there, not less.
 */
static int derive_leaves(const struct rule_engine *eng, const uint8_t *codes, int slot,
			 const struct rule_pf_opts *opts, struct filter_spec *out)
{
	struct rule_pf_opts o = *opts;
	struct field_pf fp = {.field = "fd.filename", .leaf = true};
	struct vg_filter_type *ft = &out->types[slot];
	char why[160];
	enum reach reach;
	int ret;

	if (!(ft->mode == VG_FILTER_MATCH && (ft->criteria & VG_FC_PATH)) &&
	    !(ft->mode == VG_FILTER_ALL && !out->fallback[slot].reason))
		return 0;
	o.leaf_of = "fd.name";
	ret = derive_field(eng, codes, &o, &fp, &reach, why, sizeof(why));
	if (!ret && reach == REACH_SOME)
		ret = commit_field(&fp, slot, out);
	field_pf_free(&fp);
	/* a name the kernel cannot hold as a leaf: the paths alone decide */
	return ret == -ERANGE ? 0 : ret;
}

/*
 * Opens have two slots: those with a write access mode, where evt.is_open_write
 * holds, and O_RDONLY ones, where evt.is_open_read holds and evt.is_open_write does
 * not. Each gets what the rules need under what it knows, and leaf entries.
 */
static int derive_type(const struct rule_engine *eng, const struct event_kind *k, int type,
		       struct filter_spec *out)
{
	static const struct rule_pf_opts write = {.assume = {{"evt.is_open_write", true}}},
					 read = {.assume = {{"evt.is_open_write", false},
							    {"evt.is_open_read", true}}};
	uint8_t codes[MAX_CODES];
	int ret;

	if (type != VG_EV_OPEN)
		return derive_slot(eng, k, type, type, NULL, out);
	event_kind_codes(type, codes);
	ret = derive_slot(eng, k, type, VG_EV_OPEN, &write, out);
	if (!ret)
		ret = derive_leaves(eng, codes, VG_EV_OPEN, &write, out);
	if (!ret)
		ret = derive_slot(eng, k, type, VG_FS_OPEN_READ, &read, out);
	if (!ret)
		ret = derive_leaves(eng, codes, VG_FS_OPEN_READ, &read, out);
	if (ret == -ENOMEM) {
		/* the two slots of opens fall back together */
		filter_spec_fall_back(out, VG_EV_OPEN, FILTER_FB_NOMEM, "out of memory");
		filter_spec_fall_back(out, VG_FS_OPEN_READ, FILTER_FB_NOMEM, "out of memory");
	}
	return ret;
}

/* Whether a rule uses a field that names an address from DNS answers. */
static bool uses_answer_names(const struct rule_engine *eng)
{
	for (size_t i = 0; i < rule_engine__ref_count(eng); i++) {
		const char *n = rule_engine__ref(eng, i)->def->name;

		if (!strcmp(n, "fd.sip.name") || !strcmp(n, "fd.cip.name") ||
		    !strcmp(n, "fd.rip.name") || !strcmp(n, "fd.lip.name"))
			return true;
	}
	return false;
}

int detect_derive_prefilter(const struct rule_engine *eng, struct filter_spec *out)
{
	int ret = 0, r;

	for (int t = 0; t < VG_EV_TYPE_MAX; t++) {
		const struct event_kind *k = event_kind(t);

		/* the process lifecycle always goes up: the process table needs it */
		if (!k || (k->flags & EVENT_KF_LIFECYCLE))
			continue;
		r = derive_type(eng, k, t, out);
		if (r && !ret)
			ret = r;
	}
	/* the DNS hooks check no criterion: DNS goes up whole or not at all; and a name
	 * from a DNS answer (fd.sip.name, ...) on any event needs the answers */
	if (out->types[VG_EV_DNS].mode != VG_FILTER_NONE || uses_answer_names(eng))
		out->types[VG_EV_DNS] = (struct vg_filter_type){.mode = VG_FILTER_ALL};
	return ret;
}

int detect__derive_filter(const struct detect *d, struct filter_spec *out)
{
	return detect_derive_prefilter(d->eng, out);
}

void detect_print_prefilter(const struct rule_engine *e, FILE *out)
{
	struct filter_spec spec;

	filter_spec_init(&spec);
	detect_derive_prefilter(e, &spec);
	filter_spec_print(&spec, out);
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
		if (r->state && r->state->kind == RULE_STATE_THRESHOLD)
			fprintf(out, "  state: threshold of %llu%s%s within %.3gs\n",
				(unsigned long long)r->state->count,
				r->state->distinct ? " distinct " : " matches",
				r->state->distinct ? r->state->distinct->text : "",
				r->state->within_ns / 1e9);
		else if (r->state && r->state->kind == RULE_STATE_AGGREGATE)
			fprintf(out, "  state: aggregate within %.3gs\n",
				r->state->within_ns / 1e9);
		else if (r->state)
			fprintf(out, "  state: sequence of %zu steps by %s within %.3gs\n",
				r->state->n_steps,
				r->state->scope == RULE_SEQ_PROCESS ? "process"
				: r->state->scope == RULE_SEQ_TREE  ? "tree"
								    : "container",
				r->state->within_ns / 1e9);
	}
}
