/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * engine.c - the rule engine's public face: life cycle, loading files, compiling,
 * diagnostics and check mode, rule and field listings, and Falco's priorities.
 * The work itself is in loader.c (YAML), parser.c (conditions), compile.c, eval.c,
 * output.c and prefilter.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules/rules_int.h"

#define RULES_FILE_MAX (16u << 20) /* bytes a rules file may have */

static const char *const prio_names[] = {
    [RULE_PRIO_EMERGENCY] = "Emergency",
    [RULE_PRIO_ALERT] = "Alert",
    [RULE_PRIO_CRITICAL] = "Critical",
    [RULE_PRIO_ERROR] = "Error",
    [RULE_PRIO_WARNING] = "Warning",
    [RULE_PRIO_NOTICE] = "Notice",
    [RULE_PRIO_INFORMATIONAL] = "Informational",
    [RULE_PRIO_DEBUG] = "Debug",
};

const char *rule_priority__name(enum rule_priority p)
{
	if (p < RULE_PRIO_EMERGENCY || p > RULE_PRIO_DEBUG)
		return "Debug";
	return prio_names[p];
}

int rule_priority__parse(const char *s, enum rule_priority *out)
{
	if (!strcasecmp(s, "info")) {
		*out = RULE_PRIO_INFORMATIONAL;
		return 0;
	}
	for (int p = RULE_PRIO_EMERGENCY; p <= RULE_PRIO_DEBUG; p++) {
		if (!strcasecmp(s, prio_names[p])) {
			*out = (enum rule_priority)p;
			return 0;
		}
	}
	return -EINVAL;
}

struct rule_engine *rule_engine__new(const struct rule_engine_opts *opts)
{
	struct rule_engine *e;
	uint32_t max = 0;

	if (!opts || !opts->get || (opts->n_fields && !opts->fields) ||
	    (opts->n_evtypes && !opts->evtypes)) {
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		errno = ENOMEM;
		return NULL;
	}
	e->opts = *opts;
	for (size_t i = 0; i < opts->n_fields; i++) {
		const struct rule_field_def *d = &opts->fields[i];

		if (!d->name || !strchr(d->name, '.') || !d->type) {
			ar_release(&e->ar);
			free(e);
			errno = EINVAL;
			return NULL;
		}
		strmap_put(&e->ar, &e->fieldmap, d->name, strlen(d->name), (void *)d);
	}
	for (size_t i = 0; i < opts->n_evtypes; i++) {
		if (opts->evtypes[i].code + 1 > max)
			max = opts->evtypes[i].code + 1;
	}
	if (max > 65536) {
		ar_release(&e->ar);
		free(e);
		errno = ERANGE;
		return NULL;
	}
	e->n_codes = max;
	e->ev_words = (max + 63) / 64 ? (max + 63) / 64 : 1;
	e->code_names = ar_alloc(&e->ar, sizeof(char *) * (max ? max : 1));
	e->code_name_lens = ar_alloc(&e->ar, sizeof(size_t) * (max ? max : 1));
	for (size_t i = 0; i < opts->n_evtypes; i++) {
		const struct rule_evtype_def *d = &opts->evtypes[i];

		strmap_put(&e->ar, &e->evmap, d->name, strlen(d->name),
			   (void *)((uintptr_t)d->code + 1));
		if (!e->code_names[d->code]) {
			e->code_names[d->code] = d->name;
			e->code_name_lens[d->code] = strlen(d->name);
		}
	}
	return e;
}

void rule_engine__free(struct rule_engine *e)
{
	if (!e)
		return;
	for (uint32_t i = 0; e->compiled && i < e->regexes.n; i++) {
		struct rconst *k = VEC_AT(e->regexes, struct rconst *, i);

		pcre2_match_data_free(k->re.md);
		pcre2_code_free(k->re.code);
	}
	ar_release(&e->ar);
	free(e);
}

int rule_engine__load_buf(struct rule_engine *e, const char *name, const char *buf, size_t len)
{
	if (e->compiled)
		return -EBUSY;
	return loader_load(e, name, buf, len);
}

int rule_engine__load_file(struct rule_engine *e, const char *path)
{
	FILE *f;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int ret;

	if (e->compiled)
		return -EBUSY;
	f = fopen(path, "r");
	if (!f) {
		struct rpos pos = {.file = ar_strdup(&e->ar, path)};

		ret = -errno;
		rdiag(e, RULE_DIAG_ERROR, &pos, "cannot open rules file: %s", strerror(-ret));
		return ret;
	}
	for (;;) {
		if (len + 4096 > cap) {
			cap = cap ? cap * 2 : 65536;
			buf = x_realloc(buf, cap);
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0 || len > RULES_FILE_MAX)
			break;
	}
	if (len > RULES_FILE_MAX) {
		struct rpos pos = {.file = ar_strdup(&e->ar, path)};

		ret = -EFBIG;
		rdiag(e, RULE_DIAG_ERROR, &pos,
		      "rules file larger than %u MiB: refused (split it into several files)",
		      RULES_FILE_MAX >> 20);
	} else if (ferror(f)) {
		struct rpos pos = {.file = ar_strdup(&e->ar, path)};

		ret = -EIO;
		rdiag(e, RULE_DIAG_ERROR, &pos, "cannot read rules file");
	} else {
		ret = loader_load(e, path, buf, len);
	}
	fclose(f);
	free(buf);
	return ret;
}

int rule_engine__compile(struct rule_engine *e)
{
	if (e->compiled)
		return -EBUSY;
	return compile_all(e);
}

/* ---- diagnostics ---- */

size_t rule_engine__diag_count(const struct rule_engine *e)
{
	return e->diags.n;
}

const struct rule_diag *rule_engine__diag(const struct rule_engine *e, size_t i)
{
	return i < e->diags.n ? &VEC_AT(e->diags, struct rule_diag, i) : NULL;
}

size_t rule_engine__error_count(const struct rule_engine *e)
{
	return e->n_errors;
}

int rule_diag__format(const struct rule_diag *d, char *buf, size_t len)
{
	const char *lvl = d->level == RULE_DIAG_ERROR ? "error" : "warning";

	if (d->line > 0)
		return snprintf(buf, len, "%s:%d:%d: %s: %s", d->file ? d->file : "<rules>",
				d->line, d->col, lvl, d->msg);
	return snprintf(buf, len, "%s: %s: %s", d->file ? d->file : "<rules>", lvl, d->msg);
}

void rule_engine__print_diags(const struct rule_engine *e, FILE *out)
{
	for (size_t i = 0; i < e->diags.n; i++) {
		char buf[1024];

		rule_diag__format(&VEC_AT(e->diags, struct rule_diag, i), buf, sizeof(buf));
		fprintf(out, "%s\n", buf);
	}
}

int rule_engine__check(const struct rule_engine_opts *opts, const char *const *paths, size_t n,
		       FILE *out)
{
	struct rule_engine *e = rule_engine__new(opts);
	int errors;

	if (!e)
		return -errno;
	for (size_t i = 0; i < n; i++)
		rule_engine__load_file(e, paths[i]);
	rule_engine__compile(e);
	if (out)
		rule_engine__print_diags(e, out);
	errors = (int)e->n_errors;
	rule_engine__free(e);
	return errors;
}

/* ---- listings ---- */

size_t rule_engine__rule_count(const struct rule_engine *e)
{
	return e->n_crules;
}

const struct rule_info *rule_engine__rule(const struct rule_engine *e, size_t i)
{
	return i < e->n_crules ? &e->crules[i].info : NULL;
}

int rule_engine__rule_index(const struct rule_engine *e, const char *name)
{
	for (uint32_t i = 0; i < e->n_crules; i++) {
		if (!strcmp(e->crules[i].info.name, name))
			return (int)i;
	}
	return -ENOENT;
}

size_t rule_engine__ref_count(const struct rule_engine *e)
{
	return e->slots.n;
}

const struct rule_field_ref *rule_engine__ref(const struct rule_engine *e, size_t i)
{
	return i < e->slots.n ? &VEC_AT(e->slots, struct slot *, i)->ref : NULL;
}
