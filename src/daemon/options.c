// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * options.c - the engine behind option tables: defaults, YAML mappings (with
 * libyaml's document API, so every value keeps its place for messages), the
 * command line (getopt_long built from the rows), --help and Markdown for the
 * docs. Reading goes on after an error, so one run reports every problem.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "options.h"
#include "rules/engine.h"

#define HELP_COL   22 /* where help text starts */
#define HELP_WIDTH 80 /* where it wraps */

/* ---- messages ---- */

static void err_vat(struct opt_ctx *x, const yaml_node_t *n, const char *fmt, va_list ap)
{
	char msg[512];
	int k;

	x->errors++;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (!x->err || x->used + 1 >= x->errlen)
		return;
	if (x->cli)
		k = snprintf(x->err + x->used, x->errlen - x->used, "%s%s", x->used ? "\n" : "",
			     msg);
	else
		k = snprintf(x->err + x->used, x->errlen - x->used, "%s%s:%zu:%zu: %s",
			     x->used ? "\n" : "", x->name, n ? n->start_mark.line + 1 : 0,
			     n ? n->start_mark.column + 1 : 0, msg);
	if (k > 0)
		x->used = (size_t)k >= x->errlen - x->used ? x->errlen - 1 : x->used + k;
}

static void __attribute__((format(printf, 3, 4)))
err_at(struct opt_ctx *x, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vat(x, n, fmt, ap);
	va_end(ap);
}

void opt_error(struct opt_ctx *x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vat(x, x->at, fmt, ap);
	va_end(ap);
}

void opt_error_key(struct opt_ctx *x, const char *key, const char *fmt, ...)
{
	yaml_node_t *n = x->cli ? NULL : options__map_get(x, x->map, key);
	va_list ap;

	va_start(ap, fmt);
	err_vat(x, n ? n : x->map, fmt, ap);
	va_end(ap);
}

/* ---- scalar parsers ---- */

int options__parse_duration(const char *s, uint64_t *ns)
{
	static const struct {
		const char *unit; /* suffix */
		double scale;	  /* ns per unit */
	} units[] = {{"ns", 1},	      {"us", 1e3},	 {"ms", 1e6}, {"s", 1e9},
		     {"m", 60 * 1e9}, {"h", 3600 * 1e9}, {"", 1e9}};
	char *end;
	double v;

	if (!s || !*s || isspace((unsigned char)*s))
		return -EINVAL;
	v = strtod(s, &end);
	if (end == s || !isfinite(v) || v < 0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit))
			continue;
		if (v * units[i].scale > 1e18)
			return -EINVAL;
		*ns = (uint64_t)llround(v * units[i].scale);
		return 0;
	}
	return -EINVAL;
}

int options__parse_size(const char *s, uint64_t *bytes)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	}
	if (shift) {
		end++;
		if (!strcmp(end, "iB") || !strcmp(end, "B"))
			end += strlen(end);
	} else if (!strcmp(end, "B")) {
		end++;
	}
	if (*end || v > (~0ull >> shift))
		return -EINVAL;
	*bytes = (uint64_t)v << shift;
	return 0;
}

/* ---- storing values ---- */

static void *dst_of(void *const *bases, const struct opt *o)
{
	return (char *)bases[o->base] + o->off;
}

static void put_uint(void *dst, size_t size, uint64_t v)
{
	switch (size) {
	case 1:
		*(uint8_t *)dst = v;
		break;
	case 2:
		*(uint16_t *)dst = v;
		break;
	case 4:
		*(uint32_t *)dst = v;
		break;
	default:
		*(uint64_t *)dst = v;
	}
}

static int list_add(struct opt_list *l, const char *s)
{
	char **items = realloc(l->items, (l->n + 1) * sizeof(*items));

	if (!items)
		return -ENOMEM;
	l->items = items;
	items[l->n] = strdup(s);
	if (!items[l->n])
		return -ENOMEM;
	l->n++;
	return 0;
}

static void list_clear(struct opt_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

static void kv_clear(struct opt_kv_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].key);
		free(l->items[i].value);
	}
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

/* What a scalar of this row looks like, for "expected ..." messages. */
static const char *expected(const struct opt *o)
{
	switch (o->type) {
	case OPT_BOOL:
		return "true or false";
	case OPT_UINT:
		return "a whole number";
	case OPT_DOUBLE:
		return "a number";
	case OPT_DURATION:
		return "a duration";
	case OPT_BYTES:
		return "a size";
	case OPT_PRIORITY:
		return "a priority";
	case OPT_ENUM:
	case OPT_CUSTOM:
		return o->expected ? o->expected : "a value";
	default:
		return "a string";
	}
}

/* Sets a row from text (a YAML scalar, a flag's argument or a default). */
static int set_text(struct opt_ctx *x, const struct opt *o, void *const *bases, const char *s)
{
	static const char *const yes[] = {"true", "yes", "on", "True", "TRUE", "Yes", "On"};
	static const char *const no[] = {"false", "no", "off", "False", "FALSE", "No", "Off"};
	const char *key = x->label;
	void *dst = dst_of(bases, o);
	unsigned long long u;
	uint64_t v;
	char *end, *dup;
	double d;

	switch (o->type) {
	case OPT_STR:
		dup = strdup(s);
		if (!dup)
			goto nomem;
		free(*(char **)dst);
		*(char **)dst = dup;
		return 0;
	case OPT_FLAG:
		*(bool *)dst = true;
		return 0;
	case OPT_BOOL:
		for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
			if (!strcmp(s, yes[i]) || !strcmp(s, no[i])) {
				*(bool *)dst = !strcmp(s, yes[i]);
				return 0;
			}
		}
		opt_error(x, "%s: '%s' is not a boolean; use true or false", key, s);
		return -EINVAL;
	case OPT_UINT:
		errno = 0;
		u = strtoull(s, &end, 10);
		if (errno || end == s || *end || *s == '-' || u < o->min || u > o->max) {
			opt_error(x, "%s: '%s' is not a whole number from %llu to %llu", key, s,
				  (unsigned long long)o->min, (unsigned long long)o->max);
			return -EINVAL;
		}
		put_uint(dst, o->size, u);
		return 0;
	case OPT_DOUBLE:
		d = strtod(s, &end);
		if (end == s || *end || !isfinite(d) || d < (double)o->min) {
			opt_error(x, "%s: '%s' is not a number of at least %g", key, s,
				  (double)o->min);
			return -EINVAL;
		}
		*(double *)dst = d;
		return 0;
	case OPT_DURATION:
		if (options__parse_duration(s, &v)) {
			opt_error(x, "%s: '%s' is not a duration; use e.g. 500ms, 5s, 2m or 1h",
				  key, s);
			return -EINVAL;
		}
		*(uint64_t *)dst = v;
		return 0;
	case OPT_BYTES:
		if (options__parse_size(s, &v)) {
			opt_error(x, "%s: '%s' is not a size; use e.g. 4096, 512K, 100M or 1G", key,
				  s);
			return -EINVAL;
		}
		if (o->max && (v < o->min || v > o->max)) {
			opt_error(x, "%s: use %llu to %llu bytes", key, (unsigned long long)o->min,
				  (unsigned long long)o->max);
			return -EINVAL;
		}
		put_uint(dst, o->size, v);
		return 0;
	case OPT_PRIORITY: {
		enum rule_priority p;

		if (rule_priority__parse(s, &p)) {
			opt_error(x,
				  "%s: unknown priority '%s'; use emergency, alert, critical, "
				  "error, warning, notice, informational or debug",
				  key, s);
			return -EINVAL;
		}
		*(int *)dst = p;
		return 0;
	}
	case OPT_ENUM:
		for (int i = 0; o->words[i]; i++) {
			if (!strcasecmp(s, o->words[i])) {
				*(int *)dst = (int)o->min + i;
				return 0;
			}
		}
		opt_error(x, "%s: unknown value '%s'; use %s", key, s, o->expected);
		return -EINVAL;
	case OPT_LIST:
		if (list_add(dst, s))
			goto nomem;
		return 0;
	case OPT_CUSTOM:
		return o->parse ? o->parse(x, o, s, bases[o->base]) : 0;
	default:
		opt_error(x, "%s: expected a mapping, not '%s'", key, s);
		return -EINVAL;
	}
nomem:
	opt_error(x, "%s: out of memory", key);
	return -ENOMEM;
}

/* ---- defaults and freeing ---- */

static int defaults(const struct opt *t, void *const *bases, int base)
{
	struct opt_ctx x = {.label = "default"};
	int ret = 0;

	for (const struct opt *o = t; o->type && !ret; o++) {
		if (o->type == OPT_TABLE || o->type == OPT_INLINE) {
			void *sub[2] = {dst_of(bases, o), NULL};

			if (base < 0 || (int)o->base == base)
				ret = defaults(o->sub, sub, -1);
			continue;
		}
		if (!o->def || (base >= 0 && (int)o->base != base))
			continue;
		x.label = o->key ? o->key : o->flag;
		ret = set_text(&x, o, bases, o->def);
	}
	return ret;
}

int options__defaults(const struct opt *t, void *const *bases, int base)
{
	return defaults(t, bases, base);
}

void options__free(const struct opt *t, void *const *bases, int base)
{
	for (const struct opt *o = t; o->type; o++) {
		void *dst;

		if ((base >= 0 && (int)o->base != base) || (o->flags & OPT_HIDDEN))
			continue; /* a hidden row is an alias of one freed already */
		dst = dst_of(bases, o);
		switch (o->type) {
		case OPT_STR:
			free(*(char **)dst);
			*(char **)dst = NULL;
			break;
		case OPT_LIST:
			list_clear(dst);
			break;
		case OPT_KV:
			kv_clear(dst);
			break;
		case OPT_TABLE:
		case OPT_INLINE:
			options__free(o->sub, (void *const[]){dst, NULL}, -1);
			break;
		case OPT_CUSTOM:
			if (o->release)
				o->release(bases[o->base]);
			break;
		default:
			break;
		}
	}
}

/* ---- YAML ---- */

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static bool is_null(const yaml_node_t *n)
{
	const char *s = scalar(n);

	if (!s || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a scalar";
	}
}

static yaml_node_t *node_at(struct opt_ctx *x, int i)
{
	return yaml_document_get_node(x->doc, i);
}

void *options__map_get(struct opt_ctx *x, void *node, const char *key)
{
	yaml_node_t *n = node;

	if (!n || n->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		const char *k = scalar(node_at(x, p->key));

		if (k && !strcmp(k, key))
			return node_at(x, p->value);
	}
	return NULL;
}

/* The row for key among t's rows (inlined ones too); *sub receives its bases. */
static const struct opt *find_key(const struct opt *t, void *const *bases, const char *key,
				  void **sub)
{
	for (const struct opt *o = t; o->type; o++) {
		if (o->type == OPT_INLINE) {
			void *in[2] = {bases ? dst_of(bases, o) : NULL, NULL};
			const struct opt *r = find_key(o->sub, in, key, sub);

			if (r)
				return r;
		} else if (o->key && !strcmp(o->key, key)) {
			sub[0] = bases ? bases[0] : NULL;
			sub[1] = bases ? bases[1] : NULL;
			return o;
		}
	}
	return NULL;
}

const struct opt *options__find_key(const struct opt *t, const char *key)
{
	void *sub[2];

	return find_key(t, NULL, key, sub);
}

static void known_keys(const struct opt *t, char *buf, size_t len, size_t *used)
{
	for (const struct opt *o = t; o->type; o++) {
		if (o->type == OPT_INLINE) {
			known_keys(o->sub, buf, len, used);
			continue;
		}
		if (!o->key || (o->flags & OPT_HIDDEN) || *used >= len)
			continue;
		*used += snprintf(buf + *used, len - *used, "%s%s", *used ? ", " : "", o->key);
	}
	if (*used >= len)
		*used = len - 1;
}

static void read_kv(struct opt_ctx *x, const struct opt *o, yaml_node_t *n, struct opt_kv_list *l)
{
	if (n->type != YAML_MAPPING_NODE) {
		if (!is_null(n))
			err_at(x, n, "%s: expected a mapping of keys to values, found %s", o->key,
			       node_kind(n));
		return;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = node_at(x, p->key), *v = node_at(x, p->value);
		const char *key = scalar(k), *val = scalar(v);
		struct opt_kv *items;

		if (!key) {
			err_at(x, k, "%s: keys must be plain words, found %s", o->key,
			       node_kind(k));
			continue;
		}
		if (!val) {
			err_at(x, v, "%s: expected a string, found %s", key, node_kind(v));
			continue;
		}
		x->at = k;
		if (o->check_pair && o->check_pair(x, key, val))
			continue;
		items = realloc(l->items, (l->n + 1) * sizeof(*items));
		if (!items) {
			err_at(x, k, "out of memory");
			continue;
		}
		l->items = items;
		items[l->n].key = strdup(key);
		items[l->n].value = strdup(val);
		if (!items[l->n].key || !items[l->n].value) {
			free(items[l->n].key);
			free(items[l->n].value);
			err_at(x, k, "out of memory");
			continue;
		}
		l->n++;
	}
}

static void read_list(struct opt_ctx *x, const struct opt *o, yaml_node_t *v, struct opt_list *l)
{
	size_t n;

	if (v->type == YAML_SCALAR_NODE && !is_null(v)) {
		n = 1;
	} else if (v->type == YAML_SEQUENCE_NODE) {
		n = v->data.sequence.items.top - v->data.sequence.items.start;
	} else {
		err_at(x, v, "%s: expected a list of %s", o->key,
		       o->expected ? o->expected : "strings");
		return;
	}
	list_clear(l);
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *item =
		    v->type == YAML_SCALAR_NODE ? v : node_at(x, v->data.sequence.items.start[i]);
		const char *s = scalar(item);

		if (is_null(item))
			continue;
		if (!s) {
			err_at(x, item, "%s: expected a string, found %s", o->key, node_kind(item));
			continue;
		}
		if (list_add(l, s))
			err_at(x, item, "out of memory");
	}
}

static void read_map(struct opt_ctx *x, const struct opt *t, void *const *bases, yaml_node_t *n,
		     const char *what, const char *where,
		     void (*validate)(struct opt_ctx *x, void *base));

static void read_value(struct opt_ctx *x, const struct opt *o, void *const *bases, yaml_node_t *v)
{
	const char *s;

	x->at = v;
	x->label = o->key;
	switch (o->type) {
	case OPT_TABLE: {
		void *sub[2] = {dst_of(bases, o), NULL};
		void *map = x->map;

		read_map(x, o->sub, sub, v, o->key, o->key, o->validate);
		x->map = map;
		return;
	}
	case OPT_KV:
		read_kv(x, o, v, dst_of(bases, o));
		return;
	case OPT_LIST:
		read_list(x, o, v, dst_of(bases, o));
		return;
	case OPT_CUSTOM:
		if (o->node) {
			o->node(x, o, v, bases[o->base]);
			return;
		}
		break;
	case OPT_STR:
		if (is_null(v))
			return;
		break;
	default:
		break;
	}
	s = scalar(v);
	if (!s) {
		err_at(x, v, "%s: expected %s, found %s", o->key, expected(o), node_kind(v));
		return;
	}
	set_text(x, o, bases, s);
}

void options__read_value(struct opt_ctx *x, const struct opt *o, void *node)
{
	read_value(x, o, x->bases, node);
}

static void read_map(struct opt_ctx *x, const struct opt *t, void *const *bases, yaml_node_t *n,
		     const char *what, const char *where,
		     void (*validate)(struct opt_ctx *x, void *base))
{
	yaml_node_pair_t *p, *q;
	void *const *saved = x->bases;

	if (n->type != YAML_MAPPING_NODE) {
		if (!is_null(n))
			err_at(x, n, "%s: expected a mapping of keys to values, found %s", what,
			       node_kind(n));
		return;
	}
	x->bases = bases;
	for (int late = 0; late < 2; late++) {
		for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = node_at(x, p->key), *v = node_at(x, p->value);
			const char *key = scalar(k);
			const struct opt *o;
			void *sub[2];
			bool dup = false;

			if (!key) {
				if (!late)
					err_at(x, k, "%s: keys must be plain words, found %s", what,
					       node_kind(k));
				continue;
			}
			for (q = n->data.mapping.pairs.start; q < p && !dup; q++)
				dup = !strcmp(key, scalar(node_at(x, q->key)) ?: "");
			if (dup) {
				if (!late)
					err_at(x, k, "%s: key '%s' is given twice; keep one", what,
					       key);
				continue;
			}
			o = find_key(t, bases, key, sub);
			if (!o) {
				char known[512];
				size_t used = 0;

				if (late)
					continue;
				known[0] = '\0';
				known_keys(t, known, sizeof(known), &used);
				err_at(x, k, "unknown key '%s' in %s; known keys: %s", key, where,
				       known);
				continue;
			}
			if (!!(o->flags & OPT_LATE) != late)
				continue;
			x->map = n;
			read_value(x, o, sub, v);
			x->bases = bases;
		}
	}
	x->map = n;
	x->at = n;
	if (validate)
		validate(x, bases[0]);
	x->bases = saved;
}

void options__read_map(struct opt_ctx *x, const struct opt *t, void *node, const char *what,
		       const char *where, void (*validate)(struct opt_ctx *x, void *base))
{
	read_map(x, t, x->bases, node, what, where, validate);
}

/* ---- command line ---- */

struct flag_row {
	const struct opt *o; /* the row */
	void *bases[2];	     /* its storage */
	bool used;	     /* given on this command line already */
};

static size_t collect_flags(const struct opt *t, void *const *bases, struct flag_row *rows,
			    size_t n, size_t max)
{
	for (const struct opt *o = t; o->type; o++) {
		if (o->type == OPT_TABLE || o->type == OPT_INLINE) {
			void *sub[2] = {bases ? dst_of(bases, o) : NULL, NULL};

			n = collect_flags(o->sub, sub, rows, n, max);
			continue;
		}
		if (!o->flag)
			continue;
		if (n < max)
			rows[n] = (struct flag_row){
			    .o = o, .bases = {bases ? bases[0] : NULL, bases ? bases[1] : NULL}};
		n++;
	}
	return n;
}

#define FLAGS_MAX 64

int options__parse_argv(struct opt_ctx *x, const struct opt *t, int argc, char **argv,
			const char *only, const char **only_arg, const char *skip)
{
	struct flag_row rows[FLAGS_MAX];
	struct option longopts[FLAGS_MAX + 2];
	char shorts[2 * FLAGS_MAX + 4] = "h", label[64];
	size_t n = collect_flags(t, x->bases, rows, 0, FLAGS_MAX), ns = 1;
	int c;

	if (n > FLAGS_MAX)
		return -E2BIG;
	for (size_t i = 0; i < n; i++) {
		const struct opt *o = rows[i].o;
		int has = o->type == OPT_FLAG	  ? no_argument
			  : o->flags & OPT_OPTARG ? optional_argument
						  : required_argument;

		longopts[i] = (struct option){o->flag, has, NULL, 256 + (int)i};
		if (o->short_flag) {
			shorts[ns++] = o->short_flag;
			if (has != no_argument)
				shorts[ns++] = ':';
			if (has == optional_argument)
				shorts[ns++] = ':';
		}
	}
	longopts[n] = (struct option){"help", no_argument, NULL, 'h'};
	longopts[n + 1] = (struct option){0};
	x->cli = true;
	opterr = !only;
	optind = 1;
	while ((c = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
		struct flag_row *r = NULL;

		if (c == 'h')
			return 1;
		if (c >= 256)
			r = &rows[c - 256];
		for (size_t i = 0; !r && i < n; i++)
			if (rows[i].o->short_flag == c)
				r = &rows[i];
		if (!r) {
			if (only)
				continue;
			x->errors++;
			return -EINVAL;
		}
		if (only) {
			if (!strcmp(r->o->flag, only))
				*only_arg = optarg;
			continue;
		}
		if (skip && !strcmp(r->o->flag, skip))
			continue;
		snprintf(label, sizeof(label), "--%s", r->o->flag);
		x->label = label;
		x->at = NULL;
		if (r->o->type == OPT_LIST && !r->used)
			list_clear(dst_of(r->bases, r->o));
		r->used = true;
		if (r->o->type == OPT_CUSTOM || optarg || r->o->type == OPT_FLAG)
			set_text(x, r->o, r->bases, optarg);
		if (x->errors)
			return -EINVAL;
	}
	if (!only && optind < argc) {
		opt_error(x, "unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* ---- help and docs ---- */

static const char *arg_name(const struct opt *o)
{
	if (o->arg)
		return o->arg;
	switch (o->type) {
	case OPT_UINT:
		return "N";
	case OPT_BYTES:
		return "BYTES";
	case OPT_DURATION:
		return "DURATION";
	case OPT_PRIORITY:
		return "P";
	case OPT_STR:
	case OPT_LIST:
		return "FILE";
	default:
		return "VALUE";
	}
}

/*
 * Writes words from s, wrapping at HELP_WIDTH; *col is the current column, *sep
 * whether a space goes before the next word.
 */
static void wrap(FILE *out, const char *s, int *col, bool *sep)
{
	while (*s) {
		size_t w = strcspn(s, " ");

		if (*col > HELP_COL && *col + 1 + (int)w > HELP_WIDTH) {
			fprintf(out, "\n%*s", HELP_COL, "");
			*col = HELP_COL;
		} else if (*sep) {
			fputc(' ', out);
			(*col)++;
		}
		*sep = true;
		fprintf(out, "%.*s", (int)w, s);
		*col += w;
		s += w;
		while (*s == ' ')
			s++;
	}
}

static void print_flags(const struct opt *t, FILE *out)
{
	for (const struct opt *o = t; o->type; o++) {
		char left[80], def[96];
		bool sep = false;
		int col;

		if (o->type == OPT_TABLE || o->type == OPT_INLINE) {
			print_flags(o->sub, out);
			continue;
		}
		if (!o->flag)
			continue;
		col = snprintf(
		    left, sizeof(left), "  %c%c%s--%s%s%s%s%s", o->short_flag ? '-' : ' ',
		    o->short_flag ? o->short_flag : ' ', o->short_flag ? ", " : "  ", o->flag,
		    o->type == OPT_FLAG	    ? ""
		    : o->flags & OPT_OPTARG ? "[="
					    : "=",
		    o->type == OPT_FLAG ? "" : arg_name(o), o->flags & OPT_OPTARG ? "]" : "", "");
		fputs(left, out);
		if (col + 2 > HELP_COL) {
			fputs("  ", out);
			col += 2;
		} else {
			fprintf(out, "%*s", HELP_COL - col, "");
			col = HELP_COL;
		}
		wrap(out, o->help ? o->help : "", &col, &sep);
		if (o->def && o->type != OPT_FLAG) {
			snprintf(def, sizeof(def), "(default %s)", o->def);
			wrap(out, def, &col, &sep);
		}
		fputc('\n', out);
	}
}

void options__print_help(const struct opt *t, FILE *out)
{
	print_flags(t, out);
}

static void type_text(const struct opt *o, char *buf, size_t len)
{
	size_t used = 0;

	switch (o->type) {
	case OPT_STR:
		snprintf(buf, len, "string");
		break;
	case OPT_BOOL:
		snprintf(buf, len, "true or false");
		break;
	case OPT_UINT:
		snprintf(buf, len, "%llu to %llu", (unsigned long long)o->min,
			 (unsigned long long)o->max);
		break;
	case OPT_DOUBLE:
		snprintf(buf, len, "number, at least %g", (double)o->min);
		break;
	case OPT_DURATION:
		snprintf(buf, len, "duration");
		break;
	case OPT_BYTES:
		if (o->max)
			snprintf(buf, len, "size, %llu to %llu", (unsigned long long)o->min,
				 (unsigned long long)o->max);
		else
			snprintf(buf, len, "size");
		break;
	case OPT_PRIORITY:
		snprintf(buf, len, "priority");
		break;
	case OPT_ENUM:
		buf[0] = '\0';
		for (int i = 0; o->words[i] && used < len; i++)
			used +=
			    snprintf(buf + used, len - used, "%s`%s`", i ? ", " : "", o->words[i]);
		break;
	case OPT_LIST:
		snprintf(buf, len, "list of strings");
		break;
	case OPT_KV:
		snprintf(buf, len, "mapping of strings");
		break;
	default:
		snprintf(buf, len, "%s", o->expected ? o->expected : "see below");
	}
}

void options__print_markdown(const struct opt *t, const char *prefix, FILE *out)
{
	for (const struct opt *o = t; o->type; o++) {
		char name[128], type[256];

		if (o->type == OPT_INLINE) {
			options__print_markdown(o->sub, prefix, out);
			continue;
		}
		if (!o->key || (o->flags & OPT_HIDDEN))
			continue;
		snprintf(name, sizeof(name), "%s%s", prefix, o->key);
		if (o->type == OPT_TABLE) {
			char sub[160];

			snprintf(sub, sizeof(sub), "%s.", name);
			options__print_markdown(o->sub, sub, out);
			continue;
		}
		type_text(o, type, sizeof(type));
		fprintf(out, "| `%s` | %s | ", name, type);
		if (o->def)
			fprintf(out, "`%s`", o->def);
		fprintf(out, " | %s", o->help ? o->help : "");
		if (o->flag)
			fprintf(out, " (flag `--%s`)", o->flag);
		fputs(" |\n", out);
	}
}
