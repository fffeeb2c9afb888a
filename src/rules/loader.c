/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * loader.c - reads Falco rules files (YAML, via libyaml's document API) into the
 * engine's definitions: lists, macros and rules, applying Falco's append, override
 * and enabled-toggle semantics in load order. Nothing is resolved here: later files
 * may still redefine a macro or list a rule uses, so conditions are parsed and
 * checked by the compiler once everything is loaded. Like Falco, a file stops at
 * its first error; other files still load so check mode can report them all.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "rules/rules_int.h"

#define TREE_DEPTH_MAX	32	    /* deeper YAML reads as an empty scalar (ytree) */
#define ALIAS_NODES_MAX 100000	    /* nodes aliases may add to a document, all reads */
#define ALIAS_BYTES_MAX (16u << 20) /* scalar bytes they may add */

struct yctx {
	struct rule_engine *e;	/* engine */
	yaml_document_t *doc;	/* current document */
	const struct rsrc *src; /* file */
};

/* ---- source bookkeeping ---- */

static const struct rsrc *src_add(struct rule_engine *e, const char *name, const char *buf,
				  size_t len)
{
	struct rsrc *s = ar_alloc(&e->ar, sizeof(*s));
	uint32_t lines = 1;

	s->name = ar_strdup(&e->ar, name);
	s->text = ar_strndup(&e->ar, buf, len);
	s->len = len;
	for (size_t i = 0; i < len; i++)
		lines += buf[i] == '\n';
	s->line_off = ar_alloc(&e->ar, sizeof(size_t) * lines);
	s->n_lines = 1;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n')
			s->line_off[s->n_lines++] = i + 1;
	}
	return s;
}

void src_pos_of(const struct rsrc *src, int line, int col, size_t *off)
{
	size_t o;

	if (line < 1)
		line = 1;
	if ((uint32_t)line > src->n_lines)
		line = (int)src->n_lines;
	o = src->line_off[line - 1];
	/* libyaml columns count characters, not bytes */
	for (int c = 1; c < col && o < src->len && src->text[o] != '\n'; c++) {
		o++;
		while (o < src->len && ((unsigned char)src->text[o] & 0xc0) == 0x80)
			o++;
	}
	*off = o;
}

/* ---- YAML helpers ---- */

static yaml_node_t *ynode(struct yctx *y, int id)
{
	return yaml_document_get_node(y->doc, id);
}

static void ypos(struct yctx *y, const yaml_node_t *n, struct rpos *pos)
{
	pos->file = y->src->name;
	pos->line = (int)n->start_mark.line + 1;
	pos->col = (int)n->start_mark.column + 1;
}

static void __attribute__((format(printf, 4, 5)))
ydiag(struct yctx *y, enum rule_diag_level lvl, const yaml_node_t *n, const char *fmt, ...)
{
	struct rpos pos;
	va_list ap;
	char *msg;

	ypos(y, n, &pos);
	va_start(ap, fmt);
	msg = ar_vprintf(&y->e->ar, fmt, ap);
	va_end(ap);
	rdiag(y->e, lvl, &pos, "%s", msg);
}

#define yerr(y, n, ...)	 ydiag(y, RULE_DIAG_ERROR, n, __VA_ARGS__)
#define ywarn(y, n, ...) ydiag(y, RULE_DIAG_WARNING, n, __VA_ARGS__)

static bool yis_scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE;
}

static const char *ystr(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static size_t ylen(const yaml_node_t *n)
{
	return n->data.scalar.length;
}

static bool yis_null(const yaml_node_t *n)
{
	if (!yis_scalar(n) || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return ylen(n) == 0 || !strcmp(ystr(n), "~") || !strcasecmp(ystr(n), "null");
}

/* Value for key in a mapping, NULL if absent; *key_node gets the key if asked. */
static yaml_node_t *yget(struct yctx *y, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = ynode(y, p->key);

		if (yis_scalar(k) && !strcmp(ystr(k), key))
			return ynode(y, p->value);
	}
	return NULL;
}

static char *ydup(struct yctx *y, const yaml_node_t *n)
{
	return ar_strndup(&y->e->ar, ystr(n), ylen(n));
}

/* A required, non-empty scalar string. */
static const char *yreq_str(struct yctx *y, yaml_node_t *item, const char *key, const char *what)
{
	yaml_node_t *v = yget(y, item, key);

	if (!v) {
		yerr(y, item, "%s has no '%s' key", what, key);
		return NULL;
	}
	if (!yis_scalar(v) || yis_null(v) || ylen(v) == 0) {
		yerr(y, v, "'%s' of %s must be a non-empty string", key, what);
		return NULL;
	}
	return ydup(y, v);
}

static int ybool(struct yctx *y, yaml_node_t *v, const char *key, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on"};
	static const char *const no[] = {"false", "no", "off"};

	if (yis_scalar(v)) {
		for (int i = 0; i < 3; i++) {
			if (!strcasecmp(ystr(v), yes[i])) {
				*out = true;
				return 0;
			}
			if (!strcasecmp(ystr(v), no[i])) {
				*out = false;
				return 0;
			}
		}
	}
	yerr(y, v, "'%s' must be true or false", key);
	return -EINVAL;
}

static int yopt_bool(struct yctx *y, yaml_node_t *item, const char *key, bool *out)
{
	yaml_node_t *v = yget(y, item, key);

	return v ? ybool(y, v, key, out) : 0;
}

static void seg_from(struct yctx *y, const yaml_node_t *n, struct cseg *sg)
{
	sg->text = ydup(y, n);
	sg->len = ylen(n);
	sg->src = y->src;
	ypos(y, n, &sg->pos);
	switch (n->data.scalar.style) {
	case YAML_SINGLE_QUOTED_SCALAR_STYLE:
		sg->style = SEG_SQUOTE;
		break;
	case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
		sg->style = SEG_DQUOTE;
		break;
	case YAML_LITERAL_SCALAR_STYLE:
	case YAML_FOLDED_SCALAR_STYLE:
		sg->style = SEG_BLOCK;
		break;
	default:
		sg->style = SEG_PLAIN;
	}
}

/* A condition/output text: non-empty scalar; pushed onto segs. */
static int ytext(struct yctx *y, yaml_node_t *item, const char *key, const char *what,
		 struct vec *segs)
{
	yaml_node_t *v = yget(y, item, key);
	struct cseg *sg;

	if (!v) {
		yerr(y, item, "%s has no '%s' key", what, key);
		return -EINVAL;
	}
	if (!yis_scalar(v) || yis_null(v)) {
		yerr(y, v, "'%s' of %s must be a string", key, what);
		return -EINVAL;
	}
	sg = vec_push(&y->e->ar, segs, sizeof(*sg));
	seg_from(y, v, sg);
	/* Falco trims outputs; blanks never matter to conditions either */
	while (sg->len && strchr(" \t\r\n", sg->text[sg->len - 1]))
		sg->len--;
	if (!sg->len) {
		segs->n--;
		yerr(y, v, "'%s' of %s must not be empty", key, what);
		return -EINVAL;
	}
	return 0;
}

static void warn_unknown_keys(struct yctx *y, yaml_node_t *item, const char *const *known,
			      const char *what)
{
	for (yaml_node_pair_t *p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = ynode(y, p->key);
		bool ok = false;

		if (!yis_scalar(k)) {
			yerr(y, k, "keys of %s must be strings", what);
			continue;
		}
		for (int i = 0; known[i]; i++)
			ok |= !strcmp(known[i], ystr(k));
		if (!ok)
			ywarn(y, k, "unknown key '%s' in %s: ignored", ystr(k), what);
	}
}

static struct rule_node *ytree(struct yctx *y, yaml_node_t *n, int depth)
{
	struct rule_node *r = ar_alloc(&y->e->ar, sizeof(*r));
	struct rpos pos;

	ypos(y, n, &pos);
	r->file = pos.file;
	r->line = pos.line;
	r->col = pos.col;
	if (depth > TREE_DEPTH_MAX || n->type == YAML_SCALAR_NODE || n->type == YAML_NO_NODE) {
		r->kind = RULE_NODE_SCALAR;
		r->scalar = n->type == YAML_SCALAR_NODE ? ydup(y, n) : "";
		return r;
	}
	if (n->type == YAML_SEQUENCE_NODE) {
		size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);

		r->kind = RULE_NODE_SEQ;
		r->items = ar_alloc(&y->e->ar, sizeof(*r->items) * (cnt ? cnt : 1));
		for (size_t i = 0; i < cnt; i++)
			r->items[i] =
			    ytree(y, ynode(y, n->data.sequence.items.start[i]), depth + 1);
		r->n_items = cnt;
		return r;
	}
	size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	r->kind = RULE_NODE_MAP;
	r->items = ar_alloc(&y->e->ar, sizeof(*r->items) * (cnt ? 2 * cnt : 1));
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_pair_t *p = &n->data.mapping.pairs.start[i];

		r->items[2 * i] = ytree(y, ynode(y, p->key), depth + 1);
		r->items[2 * i + 1] = ytree(y, ynode(y, p->value), depth + 1);
	}
	r->n_items = 2 * cnt;
	return r;
}

/* ---- override: { key: append|replace } ---- */

#define OV_MAX 12

struct overrides {
	const char *append[OV_MAX];  /* keys to append */
	int n_append;		     /* entries in append */
	const char *replace[OV_MAX]; /* keys to replace */
	int n_replace;		     /* entries in replace */
};

static bool in_set(const char *const *set, const char *k)
{
	for (int i = 0; set[i]; i++) {
		if (!strcmp(set[i], k))
			return true;
	}
	return false;
}

static bool ov_has(const char *const *keys, int n, const char *k)
{
	for (int i = 0; i < n; i++) {
		if (!strcmp(keys[i], k))
			return true;
	}
	return false;
}

static int read_overrides(struct yctx *y, yaml_node_t *item, const char *const *can_append,
			  const char *const *can_replace, struct overrides *ov)
{
	yaml_node_t *m = yget(y, item, "override");

	memset(ov, 0, sizeof(*ov));
	if (!m)
		return 0;
	if (m->type != YAML_MAPPING_NODE) {
		yerr(y, m, "'override' must be a mapping of key: append|replace");
		return -EINVAL;
	}
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = ynode(y, p->key), *v = ynode(y, p->value);

		if (!yis_scalar(k) || !yis_scalar(v)) {
			yerr(y, k, "'override' must be a mapping of key: append|replace");
			return -EINVAL;
		}
		if (!strcmp(ystr(v), "append")) {
			if (!in_set(can_append, ystr(k))) {
				yerr(y, k, "key '%s' cannot be appended to, use 'replace' instead",
				     ystr(k));
				return -EINVAL;
			}
			if (ov->n_append < OV_MAX)
				ov->append[ov->n_append++] = ydup(y, k);
		} else if (!strcmp(ystr(v), "replace")) {
			if (!in_set(can_replace, ystr(k))) {
				yerr(y, k, "key '%s' cannot be replaced", ystr(k));
				return -EINVAL;
			}
			if (ov->n_replace < OV_MAX)
				ov->replace[ov->n_replace++] = ydup(y, k);
		} else {
			yerr(y, v,
			     "invalid override operation '%s' for key '%s': use append or replace",
			     ystr(v), ystr(k));
			return -EINVAL;
		}
	}
	return 0;
}

static int read_append(struct yctx *y, yaml_node_t *item, bool *append)
{
	*append = false;
	return yopt_bool(y, item, "append", append);
}

/* ---- lists ---- */

static int read_items(struct yctx *y, yaml_node_t *item, struct vec *out)
{
	yaml_node_t *v = yget(y, item, "items");

	if (!v) {
		yerr(y, item, "list has no 'items' key");
		return -EINVAL;
	}
	if (v->type != YAML_SEQUENCE_NODE) {
		yerr(y, v, "'items' must be a sequence, as in items: [a, b]");
		return -EINVAL;
	}
	for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
	     i++) {
		yaml_node_t *n = ynode(y, *i);
		struct item_str *it;

		if (!yis_scalar(n)) {
			yerr(y, n, "list items must be strings");
			return -EINVAL;
		}
		it = vec_push(&y->e->ar, out, sizeof(*it));
		it->s = ydup(y, n);
		it->len = ylen(n);
		ypos(y, n, &it->pos);
	}
	return 0;
}

static bool valid_list_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		if (strchr(" \t\r\n(),=\"'", *s))
			return false;
	}
	return true;
}

static bool valid_macro_name(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
		return false;
	for (s++; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	}
	return true;
}

/*
 * What lists and macros share: unknown-key warnings, a valid name, and `append:
 * true` or `override: {<key>: append|replace}` (not both); append is set for either
 * form of appending.
 */
static int read_head(struct yctx *y, yaml_node_t *item, const char *kind, const char *const *known,
		     const char *const *ovk, bool (*valid)(const char *), const char *naming,
		     const char **name, bool *append)
{
	struct overrides ov;

	warn_unknown_keys(y, item, known, ar_printf(&y->e->ar, "a %s", kind));
	*name = yreq_str(y, item, kind, kind);
	if (!*name)
		return -EINVAL;
	if (!valid(*name)) {
		yerr(y, yget(y, item, kind), "invalid %s name '%s': %s", kind, *name, naming);
		return -EINVAL;
	}
	if (read_append(y, item, append) || read_overrides(y, item, ovk, ovk, &ov))
		return -EINVAL;
	if (*append && (ov.n_append || ov.n_replace)) {
		yerr(y, item, "%s '%s': 'append' and 'override' cannot be used together", kind,
		     *name);
		return -EINVAL;
	}
	*append |= ov.n_append > 0;
	return 0;
}

static int do_list(struct yctx *y, yaml_node_t *item)
{
	static const char *const known[] = {"list", "items", "append", "override", NULL};
	static const char *const ovk[] = {"items", NULL};
	struct rule_engine *e = y->e;
	struct vec items = {0};
	struct list_def *l;
	const char *name;
	bool append;

	if (read_head(y, item, "list", known, ovk, valid_list_name,
		      "no blanks, quotes, parentheses, commas or '='", &name, &append) ||
	    read_items(y, item, &items))
		return -EINVAL;

	l = strmap_get(&e->list_map, name, strlen(name));
	if (append) {
		if (!l) {
			yerr(y, item, "list '%s' appends to a list that is not defined before it",
			     name);
			return -EINVAL;
		}
		for (uint32_t i = 0; i < items.n; i++)
			*(struct item_str *)vec_push(&e->ar, &l->items, sizeof(struct item_str)) =
			    VEC_AT(items, struct item_str, i);
		return 0;
	}
	if (!l) {
		l = ar_alloc(&e->ar, sizeof(*l));
		l->name = name;
		strmap_put(&e->ar, &e->list_map, name, strlen(name), l);
		*(struct list_def **)vec_push(&e->ar, &e->lists, sizeof(l)) = l;
	}
	l->items = items;
	ypos(y, item, &l->pos);
	return 0;
}

/* ---- macros ---- */

static int do_macro(struct yctx *y, yaml_node_t *item)
{
	static const char *const known[] = {"macro", "condition", "append", "override", NULL};
	static const char *const ovk[] = {"condition", NULL};
	struct rule_engine *e = y->e;
	struct vec segs = {0};
	struct macro_def *m;
	const char *name;
	bool append;

	if (read_head(y, item, "macro", known, ovk, valid_macro_name,
		      "use letters, digits and '_', starting with a letter", &name, &append) ||
	    ytext(y, item, "condition", "macro", &segs))
		return -EINVAL;

	m = strmap_get(&e->macro_map, name, strlen(name));
	if (append) {
		if (!m) {
			yerr(y, item, "macro '%s' appends to a macro that is not defined before it",
			     name);
			return -EINVAL;
		}
		*(struct cseg *)vec_push(&e->ar, &m->segs, sizeof(struct cseg)) =
		    VEC_AT(segs, struct cseg, 0);
		return 0;
	}
	if (!m) {
		m = ar_alloc(&e->ar, sizeof(*m));
		m->name = name;
		strmap_put(&e->ar, &e->macro_map, name, strlen(name), m);
		*(struct macro_def **)vec_push(&e->ar, &e->macros, sizeof(m)) = m;
	}
	m->segs = segs;
	ypos(y, item, &m->pos);
	return 0;
}

/* ---- exceptions ---- */

static int read_exc_entry(struct yctx *y, yaml_node_t *n, struct exc_entry *out, int depth)
{
	ypos(y, n, &out->pos);
	if (yis_scalar(n)) {
		out->item.s = ydup(y, n);
		out->item.len = ylen(n);
		out->item.pos = out->pos;
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE || depth > 1) {
		yerr(y, n, "exception entries must be strings or lists of strings");
		return -EINVAL;
	}
	out->is_list = true;
	for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top;
	     i++) {
		if (read_exc_entry(y, ynode(y, *i),
				   vec_push(&y->e->ar, &out->items, sizeof(struct exc_entry)),
				   depth + 1))
			return -EINVAL;
	}
	return 0;
}

static int read_exceptions(struct yctx *y, yaml_node_t *item, bool append, struct vec *out)
{
	static const char *const known[] = {"name", "fields", "comps", "values", NULL};
	yaml_node_t *exs = yget(y, item, "exceptions");

	if (!exs || yis_null(exs))
		return 0;
	if (exs->type != YAML_SEQUENCE_NODE) {
		yerr(y, exs, "'exceptions' must be a sequence of mappings");
		return -EINVAL;
	}
	for (yaml_node_item_t *i = exs->data.sequence.items.start; i < exs->data.sequence.items.top;
	     i++) {
		yaml_node_t *ex = ynode(y, *i), *v;
		struct exc_def *d;
		const char *name;

		if (ex->type != YAML_MAPPING_NODE) {
			yerr(y, ex,
			     "each exception must be a mapping with name, fields, comps, values");
			return -EINVAL;
		}
		warn_unknown_keys(y, ex, known, "an exception");
		name = yreq_str(y, ex, "name", "exception");
		if (!name)
			return -EINVAL;
		for (uint32_t j = 0; j < out->n; j++) {
			if (!strcmp(VEC_AT(*out, struct exc_def, j).name, name)) {
				yerr(y, ex, "exception names must be unique within a rule: '%s'",
				     name);
				return -EINVAL;
			}
		}
		d = vec_push(&y->e->ar, out, sizeof(*d));
		d->name = name;
		ypos(y, ex, &d->pos);
		v = yget(y, ex, "fields");
		if (v) {
			d->has_fields = true;
			if (read_exc_entry(y, v, &d->fields, 1))
				return -EINVAL;
		} else if (!append) {
			yerr(y, ex, "exception '%s' has no 'fields' key", name);
			return -EINVAL;
		}
		v = yget(y, ex, "comps");
		if (v) {
			d->has_comps = true;
			if (read_exc_entry(y, v, &d->comps, 1))
				return -EINVAL;
		}
		v = yget(y, ex, "values");
		if (v && !yis_null(v)) {
			if (v->type != YAML_SEQUENCE_NODE) {
				yerr(y, v, "exception values must be a sequence");
				return -EINVAL;
			}
			for (yaml_node_item_t *k = v->data.sequence.items.start;
			     k < v->data.sequence.items.top; k++) {
				if (read_exc_entry(
					y, ynode(y, *k),
					vec_push(&y->e->ar, &d->values, sizeof(struct exc_entry)),
					0))
					return -EINVAL;
			}
		}
	}
	return 0;
}

static int append_exceptions(struct yctx *y, yaml_node_t *item, struct rule_def *r, struct vec *add)
{
	for (uint32_t i = 0; i < add->n; i++) {
		struct exc_def *n = &VEC_AT(*add, struct exc_def, i), *old = NULL;

		for (uint32_t j = 0; j < r->excs.n; j++) {
			if (!strcmp(VEC_AT(r->excs, struct exc_def, j).name, n->name))
				old = &VEC_AT(r->excs, struct exc_def, j);
		}
		if (!old) {
			if (!n->has_fields) {
				yerr(y, item,
				     "exception '%s' of rule '%s' is not defined: a new exception "
				     "needs 'fields'",
				     n->name, r->name);
				return -EINVAL;
			}
			*(struct exc_def *)vec_push(&y->e->ar, &r->excs, sizeof(*n)) = *n;
			continue;
		}
		if (n->has_fields || n->has_comps) {
			yerr(y, item,
			     "exception '%s' of rule '%s' already exists: appending can only add "
			     "values, not fields or comps",
			     n->name, r->name);
			return -EINVAL;
		}
		for (uint32_t k = 0; k < n->values.n; k++)
			*(struct exc_entry *)vec_push(&y->e->ar, &old->values,
						      sizeof(struct exc_entry)) =
			    VEC_AT(n->values, struct exc_entry, k);
	}
	return 0;
}

/* ---- rules ---- */

static int read_tags(struct yctx *y, yaml_node_t *item, struct vec *tags)
{
	yaml_node_t *v = yget(y, item, "tags");

	if (!v || yis_null(v))
		return 0;
	if (v->type != YAML_SEQUENCE_NODE) {
		yerr(y, v, "'tags' must be a sequence of strings");
		return -EINVAL;
	}
	for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
	     i++) {
		yaml_node_t *t = ynode(y, *i);

		if (!yis_scalar(t)) {
			yerr(y, t, "tags must be strings");
			return -EINVAL;
		}
		*(const char **)vec_push(&y->e->ar, tags, sizeof(char *)) = ydup(y, t);
	}
	return 0;
}

static int read_priority(struct yctx *y, yaml_node_t *item, enum rule_priority *out)
{
	yaml_node_t *v = yget(y, item, "priority");

	if (!v) {
		yerr(y, item, "rule has no 'priority' key");
		return -EINVAL;
	}
	if (!yis_scalar(v) || rule_priority__parse(ystr(v), out)) {
		yerr(y, v,
		     "invalid priority '%s': use emergency, alert, critical, error, warning, "
		     "notice, "
		     "informational (or info) or debug",
		     yis_scalar(v) ? ystr(v) : "");
		return -EINVAL;
	}
	return 0;
}

static int read_desc(struct yctx *y, yaml_node_t *item, const char **out)
{
	yaml_node_t *v = yget(y, item, "desc");

	if (!v) {
		yerr(y, item, "rule has no 'desc' key");
		return -EINVAL;
	}
	if (!yis_scalar(v)) {
		yerr(y, v, "'desc' must be a string");
		return -EINVAL;
	}
	*out = ydup(y, v);
	return 0;
}

static struct rule_def *rule_lookup(struct rule_engine *e, const char *name)
{
	return strmap_get(&e->rule_map, name, strlen(name));
}

static void add_tags(struct rule_engine *e, struct rule_def *r, struct vec *tags)
{
	for (uint32_t i = 0; i < tags->n; i++)
		*(const char **)vec_push(&e->ar, &r->tags, sizeof(char *)) =
		    VEC_AT(*tags, const char *, i);
}

static const struct rule_node *append_actions(struct yctx *y, const struct rule_node *old,
					      const struct rule_node *add)
{
	struct rule_node *n;

	if (!old || old->kind != RULE_NODE_SEQ || add->kind != RULE_NODE_SEQ)
		return add;
	n = ar_alloc(&y->e->ar, sizeof(*n));
	*n = *old;
	n->n_items = old->n_items + add->n_items;
	n->items = ar_alloc(&y->e->ar, sizeof(*n->items) * (n->n_items ? n->n_items : 1));
	memcpy(n->items, old->items, sizeof(*n->items) * old->n_items);
	memcpy(n->items + old->n_items, add->items, sizeof(*n->items) * add->n_items);
	return n;
}

/*
 * The stateful keys (state.c types them): kept as written; a sequence's step
 * conditions are also kept as condition text, with their places.
 */
static int read_state_keys(struct yctx *y, yaml_node_t *item, struct rule_def *r)
{
	yaml_node_t *seq = yget(y, item, "sequence"), *steps;

	if (yget(y, item, "threshold"))
		r->threshold = ytree(y, yget(y, item, "threshold"), 0);
	if (yget(y, item, "aggregate"))
		r->aggregate = ytree(y, yget(y, item, "aggregate"), 0);
	if (!seq)
		return 0;
	r->sequence = ytree(y, seq, 0);
	r->step_conds = (struct vec){0};
	steps = seq->type == YAML_MAPPING_NODE ? yget(y, seq, "steps") : NULL;
	if (!steps || steps->type != YAML_SEQUENCE_NODE)
		return 0; /* state.c says what is wrong */
	for (yaml_node_item_t *i = steps->data.sequence.items.start;
	     i < steps->data.sequence.items.top; i++) {
		yaml_node_t *st = ynode(y, *i), *c;
		struct vec *segs = vec_push(&y->e->ar, &r->step_conds, sizeof(*segs));

		c = st && st->type == YAML_MAPPING_NODE ? yget(y, st, "condition") : NULL;
		if (c && ytext(y, st, "condition", "a sequence step", segs))
			return -EINVAL;
	}
	return 0;
}

/* override: the keys named under `override`, appended or replaced. */
static int rule_override(struct yctx *y, yaml_node_t *item, const char *name,
			 const char *const *can_append, const char *const *can_replace,
			 const struct overrides *ov)
{
	struct rule_engine *e = y->e;
	struct rule_def *r = rule_lookup(e, name);

	/* every overridable key present must be named under override, and vice versa */
	for (int i = 0; can_replace[i]; i++) {
		const char *k = can_replace[i];
		bool present = yget(y, item, k) != NULL;
		bool named =
		    ov_has(ov->append, ov->n_append, k) || ov_has(ov->replace, ov->n_replace, k);

		if (present && !named) {
			yerr(y, yget(y, item, k),
			     "unexpected key '%s': no corresponding entry under 'override'", k);
			return -EINVAL;
		}
		if (named && !present) {
			yerr(y, item, "an override for '%s' was specified but '%s' is not defined",
			     k, k);
			return -EINVAL;
		}
	}
	if (!r) {
		yerr(y, item, "rule '%s' overrides a rule that is not defined before it", name);
		return -EINVAL;
	}
	for (int i = 0; i < ov->n_append; i++) {
		const char *k = ov->append[i];

		if (!strcmp(k, "condition")) {
			if (ytext(y, item, k, "rule", &r->cond))
				return -EINVAL;
		} else if (!strcmp(k, "output")) {
			if (ytext(y, item, k, "rule", &r->output))
				return -EINVAL;
		} else if (!strcmp(k, "desc")) {
			const char *d;

			if (read_desc(y, item, &d))
				return -EINVAL;
			r->desc = *r->desc ? ar_printf(&e->ar, "%s %s", r->desc, d) : d;
		} else if (!strcmp(k, "tags")) {
			struct vec tags = {0};

			if (read_tags(y, item, &tags))
				return -EINVAL;
			add_tags(e, r, &tags);
		} else if (!strcmp(k, "exceptions")) {
			struct vec add = {0};

			if (read_exceptions(y, item, true, &add) ||
			    append_exceptions(y, item, r, &add))
				return -EINVAL;
		} else if (!strcmp(k, "actions")) {
			r->actions = append_actions(y, r->actions, ytree(y, yget(y, item, k), 0));
		}
	}
	for (int i = 0; i < ov->n_replace; i++) {
		const char *k = ov->replace[i];

		if (!strcmp(k, "condition")) {
			r->cond = (struct vec){0};
			if (ytext(y, item, k, "rule", &r->cond))
				return -EINVAL;
		} else if (!strcmp(k, "output")) {
			r->output = (struct vec){0};
			if (ytext(y, item, k, "rule", &r->output))
				return -EINVAL;
		} else if (!strcmp(k, "desc")) {
			if (read_desc(y, item, &r->desc))
				return -EINVAL;
		} else if (!strcmp(k, "priority")) {
			if (read_priority(y, item, &r->prio))
				return -EINVAL;
		} else if (!strcmp(k, "tags")) {
			r->tags = (struct vec){0};
			if (read_tags(y, item, &r->tags))
				return -EINVAL;
		} else if (!strcmp(k, "exceptions")) {
			r->excs = (struct vec){0};
			if (read_exceptions(y, item, false, &r->excs))
				return -EINVAL;
		} else if (!strcmp(k, "enabled")) {
			if (yopt_bool(y, item, k, &r->enabled))
				return -EINVAL;
		} else if (!strcmp(k, "skip-if-unknown-filter")) {
			if (yopt_bool(y, item, k, &r->skip_unknown))
				return -EINVAL;
		} else if (!strcmp(k, "actions")) {
			r->actions = ytree(y, yget(y, item, k), 0);
		} else if (!strcmp(k, "block_for")) {
			r->block_for = ytree(y, yget(y, item, k), 0);
		} else if (!strcmp(k, "mode")) {
			r->mode = ytree(y, yget(y, item, k), 0);
		} else if (!strcmp(k, "threshold") || !strcmp(k, "aggregate") ||
			   !strcmp(k, "sequence")) {
			if (!strcmp(k, "threshold"))
				r->threshold = NULL;
			else if (!strcmp(k, "aggregate"))
				r->aggregate = NULL;
			else
				r->sequence = NULL;
			if (read_state_keys(y, item, r))
				return -EINVAL;
		}
	}
	return 0;
}

/* Deprecated `append: true`: condition and exceptions are appended. */
static int rule_append(struct yctx *y, yaml_node_t *item, const char *name)
{
	static const char *const ignored[] = {"output",	 "desc",   "priority", "tags",
					      "enabled", "source", NULL};
	struct rule_def *r = rule_lookup(y->e, name);
	struct vec add = {0};

	if (!r) {
		yerr(y, item,
		     "rule '%s' has 'append: true' but no rule by that name is defined "
		     "before it",
		     name);
		return -EINVAL;
	}
	for (int i = 0; ignored[i]; i++) {
		if (yget(y, item, ignored[i]))
			ywarn(y, yget(y, item, ignored[i]),
			      "'%s' is ignored with 'append: true' (use override: { %s: replace })",
			      ignored[i], ignored[i]);
	}
	if (yget(y, item, "condition") && ytext(y, item, "condition", "rule", &r->cond))
		return -EINVAL;
	if (read_exceptions(y, item, true, &add) || append_exceptions(y, item, r, &add))
		return -EINVAL;
	if (yget(y, item, "actions"))
		r->actions = append_actions(y, r->actions, ytree(y, yget(y, item, "actions"), 0));
	return 0;
}

static int rule_define(struct yctx *y, yaml_node_t *item, const char *name)
{
	struct rule_engine *e = y->e;
	struct rule_def nr = {.name = name, .enabled = true};
	struct rule_def *r;
	yaml_node_t *src;

	ypos(y, item, &nr.pos);
	/* a sequence's condition may be its steps alone */
	if ((!yget(y, item, "sequence") || yget(y, item, "condition")) &&
	    ytext(y, item, "condition", "rule", &nr.cond))
		return -EINVAL;
	if (read_state_keys(y, item, &nr) || ytext(y, item, "output", "rule", &nr.output) ||
	    read_desc(y, item, &nr.desc) || read_priority(y, item, &nr.prio) ||
	    yopt_bool(y, item, "enabled", &nr.enabled) ||
	    yopt_bool(y, item, "skip-if-unknown-filter", &nr.skip_unknown) ||
	    read_tags(y, item, &nr.tags) || read_exceptions(y, item, false, &nr.excs))
		return -EINVAL;
	src = yget(y, item, "source");
	if (src) {
		if (!yis_scalar(src)) {
			yerr(y, src, "'source' must be a string");
			return -EINVAL;
		}
		if (strcmp(ystr(src), "syscall")) {
			nr.other_source = true;
			ywarn(y, src,
			      "rule '%s' has source '%s': only syscall rules are loaded, "
			      "skipped",
			      name, ystr(src));
		}
	}
	if (yget(y, item, "actions"))
		nr.actions = ytree(y, yget(y, item, "actions"), 0);
	if (yget(y, item, "block_for"))
		nr.block_for = ytree(y, yget(y, item, "block_for"), 0);
	if (yget(y, item, "mode"))
		nr.mode = ytree(y, yget(y, item, "mode"), 0);

	r = rule_lookup(e, name);
	if (!r) {
		r = ar_alloc(&e->ar, sizeof(*r));
		strmap_put(&e->ar, &e->rule_map, name, strlen(name), r);
		*(struct rule_def **)vec_push(&e->ar, &e->rules, sizeof(r)) = r;
	}
	*r = nr;
	return 0;
}

static int do_rule(struct yctx *y, yaml_node_t *item)
{
	static const char *const known[] = {
	    "rule",	"desc",	     "condition",  "output",	    "priority",
	    "tags",	"enabled",   "exceptions", "source",	    "append",
	    "override", "actions",   "block_for",  "warn_evttypes", "skip-if-unknown-filter",
	    "mode",	"threshold", "aggregate",  "sequence",	    NULL};
	static const char *const can_append[] = {"condition",  "output",  "desc", "tags",
						 "exceptions", "actions", NULL};
	static const char *const can_replace[] = {
	    "condition", "output",	  "desc",
	    "priority",	 "tags",	  "exceptions",
	    "enabled",	 "warn_evttypes", "skip-if-unknown-filter",
	    "actions",	 "block_for",	  "mode",
	    "threshold", "aggregate",	  "sequence",
	    NULL};
	struct overrides ov;
	const char *name;
	bool append;

	warn_unknown_keys(y, item, known, "a rule");
	name = yreq_str(y, item, "rule", "rule");
	if (!name || read_append(y, item, &append) ||
	    read_overrides(y, item, can_append, can_replace, &ov))
		return -EINVAL;
	if (append && (ov.n_append || ov.n_replace)) {
		yerr(y, item, "rule '%s': 'append' and 'override' cannot be used together", name);
		return -EINVAL;
	}
	if (ov.n_append || ov.n_replace)
		return rule_override(y, item, name, can_append, can_replace, &ov);
	if (append)
		return rule_append(y, item, name);
	if (!yget(y, item, "condition") && !yget(y, item, "output") && !yget(y, item, "desc") &&
	    !yget(y, item, "priority") && !yget(y, item, "sequence")) {
		/* only `enabled`: toggles a rule defined earlier */
		struct rule_def *r = rule_lookup(y->e, name);
		yaml_node_t *en = yget(y, item, "enabled");

		if (!en) {
			yerr(y, item, "rule '%s' has no 'condition' key", name);
			return -EINVAL;
		}
		if (!r) {
			yerr(y, item,
			     "rule '%s' has only 'enabled' but no rule by that name is "
			     "defined before it",
			     name);
			return -EINVAL;
		}
		return ybool(y, en, "enabled", &r->enabled);
	}
	return rule_define(y, item, name);
}

static int do_item(struct yctx *y, yaml_node_t *item)
{
	if (item->type != YAML_MAPPING_NODE) {
		if (yis_null(item))
			return 0;
		yerr(y, item, "each item must be a mapping: - rule:, - macro: or - list:");
		return -EINVAL;
	}
	if (yget(y, item, "required_engine_version") || yget(y, item, "required_plugin_versions"))
		return 0;
	if (yget(y, item, "rule"))
		return do_rule(y, item);
	if (yget(y, item, "macro"))
		return do_macro(y, item);
	if (yget(y, item, "list"))
		return do_list(y, item);
	ywarn(y, item, "unknown top-level item (expected rule, macro or list): ignored");
	return 0;
}

/* ---- alias expansion bound ---- */

/* What a walk of a document costs when aliases are expanded. */
struct expansion {
	unsigned char *seen; /* per node id: visited once already */
	size_t nodes;	     /* node visits past the first of each node */
	size_t bytes;	     /* scalar bytes of those visits */
	yaml_node_t *where;  /* the node whose visit went past a bound */
};

/*
 * Walks n as the readers do (ytree, the deepest, stops at TREE_DEPTH_MAX), counting
 * every visit of a node after its first: what aliases add. libyaml keeps one node per
 * anchor, so a few hundred bytes of nested aliases ("billion laughs") read as
 * billions of nodes; an alias inside its own anchor is a cycle, cut by the depth.
 * Stops at the first bound passed; false then.
 */
static bool expand_within(struct yctx *y, struct expansion *x, int id, int depth)
{
	yaml_node_t *n = ynode(y, id);

	if (!n)
		return true;
	if (x->seen[id - 1]) {
		x->nodes++;
		if (n->type == YAML_SCALAR_NODE)
			x->bytes += n->data.scalar.length;
		if (x->nodes > ALIAS_NODES_MAX || x->bytes > ALIAS_BYTES_MAX) {
			x->where = n;
			return false;
		}
	}
	x->seen[id - 1] = 1;
	if (depth > TREE_DEPTH_MAX)
		return true;
	if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *i = n->data.sequence.items.start;
		     i < n->data.sequence.items.top; i++)
			if (!expand_within(y, x, *i, depth + 1))
				return false;
	} else if (n->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top; p++)
			if (!expand_within(y, x, p->key, depth + 1) ||
			    !expand_within(y, x, p->value, depth + 1))
				return false;
	}
	return true;
}

/* 0, or -EINVAL with the error at the node where the document's aliases went too far. */
static int check_expansion(struct yctx *y)
{
	size_t n = (size_t)(y->doc->nodes.top - y->doc->nodes.start);
	struct expansion x = {.seen = calloc(n ? n : 1, 1)};
	int ret = 0;

	if (!x.seen)
		return -ENOMEM;
	if (!expand_within(y, &x, 1, 0)) {
		if (x.nodes > ALIAS_NODES_MAX)
			yerr(y, x.where, "YAML aliases expand beyond %u nodes", ALIAS_NODES_MAX);
		else
			yerr(y, x.where, "YAML aliases expand beyond %u bytes", ALIAS_BYTES_MAX);
		ret = -EINVAL;
	}
	free(x.seen);
	return ret;
}

int loader_load(struct rule_engine *e, const char *name, const char *buf, size_t len)
{
	struct yctx y = {.e = e};
	yaml_parser_t parser;
	int ret = 0;

	y.src = src_add(e, name, buf, len);
	e->file_failed = false;
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)y.src->text, len);
	for (;;) {
		yaml_document_t doc;
		yaml_node_t *root;

		if (!yaml_parser_load(&parser, &doc)) {
			struct rpos pos = {.file = y.src->name,
					   .line = (int)parser.problem_mark.line + 1,
					   .col = (int)parser.problem_mark.column + 1};

			rdiag(e, RULE_DIAG_ERROR, &pos, "invalid YAML: %s%s%s",
			      parser.problem ? parser.problem : "parse error",
			      parser.context ? " " : "", parser.context ? parser.context : "");
			ret = -EINVAL;
			break;
		}
		y.doc = &doc;
		root = yaml_document_get_root_node(&doc);
		if (!root) {
			yaml_document_delete(&doc);
			break;
		}
		ret = check_expansion(&y);
		if (ret) {
			/* nothing of this file is read */
		} else if (root->type == YAML_SEQUENCE_NODE) {
			for (yaml_node_item_t *i = root->data.sequence.items.start;
			     i < root->data.sequence.items.top; i++) {
				if (do_item(&y, ynode(&y, *i)) || e->file_failed) {
					ret = -EINVAL;
					break;
				}
			}
		} else if (!yis_null(root)) {
			yerr(&y, root,
			     "a rules file must be a YAML sequence of items "
			     "(- rule:, - macro:, - list:)");
			ret = -EINVAL;
		}
		yaml_document_delete(&doc);
		if (ret)
			break;
	}
	yaml_parser_delete(&parser);
	return ret;
}
