/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * action.c - the table of action kinds and the parser from a rule's raw `actions:`
 * value to typed actions. Each fact about an action (its name, its parameters and
 * how they are read, whether it is carried out yet) is written once, in
 * action_kinds[]; the messages listing what may be written are built from it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "respond/action.h"

#define NSEC_PER_MSEC 1000000ull
#define NSEC_PER_SEC  1000000000ull

static void __attribute__((format(printf, 3, 4)))
fail(struct action_error *err, const struct rule_node *at, const char *fmt, ...)
{
	va_list ap;

	err->at = at;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

/* A plain YAML null: `kill:` or `kill: ~` (the loader keeps scalars as text). */
static bool node_is_null(const struct rule_node *n)
{
	return n->kind == RULE_NODE_SCALAR &&
	       (!n->scalar[0] || !strcmp(n->scalar, "~") || !strcmp(n->scalar, "null"));
}

/* ---- parameters ---- */

static bool is_field_name(const char *s)
{
	bool dot = false;

	if (!(*s >= 'a' && *s <= 'z'))
		return false;
	for (; *s; s++) {
		if (*s == '.')
			dot = true;
		else if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	}
	return dot;
}

static int parse_block(struct action *a, const char *key, const struct rule_node *val,
		       struct action_error *err)
{
	if (val->kind != RULE_NODE_SCALAR) {
		fail(err, val, "'%s' of block must be a single value", key);
		return -EINVAL;
	}
	if (!strcmp(key, "for")) {
		if (action_duration__parse(val->scalar, &a->block.for_ns)) {
			fail(err, val,
			     "invalid duration '%s' for block: write a number and a unit, e.g. "
			     "30s, 10m, 1h30m (units: ms, s, m, h, d)",
			     val->scalar);
			return -EINVAL;
		}
		return 0;
	}
	/* address */
	if (!is_field_name(val->scalar)) {
		fail(err, val,
		     "invalid address '%s' for block: name an IP address field, e.g. fd.rip "
		     "(leave it out for the event's remote address)",
		     val->scalar);
		return -EINVAL;
	}
	a->block.address = val->scalar;
	return 0;
}

static int parse_isolate(struct action *a, const char *key, const struct rule_node *val,
			 struct action_error *err)
{
	/* scope, the only parameter */
	if (val->kind != RULE_NODE_SCALAR || strcmp(val->scalar, "container")) {
		fail(err, val, "invalid scope '%s' for isolate: the scope is 'container'",
		     val->kind == RULE_NODE_SCALAR ? val->scalar : "(not a word)");
		return -EINVAL;
	}
	a->isolate.scope = ACTION_SCOPE_CONTAINER;
	return 0;
}

static const char *const block_params[] = {"for", "address", NULL};
static const char *const isolate_params[] = {"scope", NULL};
static const char *const no_params[] = {NULL};

static const struct action_kind_def action_kinds[] = {
    {ACTION_KILL, "kill", no_params, true, "SIGKILL the process that caused the event", NULL},
    {ACTION_DENY, "deny", no_params, true, "the operation fails with EPERM", NULL},
    {ACTION_BLOCK, "block", block_params, true, "drop traffic from and to an address for a while",
     parse_block},
    {ACTION_ISOLATE, "isolate", isolate_params, true, "cut the offending container's network",
     parse_isolate},
    {ACTION_QUARANTINE, "quarantine", no_params, true, "cut the node's network except an allowlist",
     NULL},
};

#define N_KINDS (sizeof(action_kinds) / sizeof(action_kinds[0]))

_Static_assert(N_KINDS == ACTION_KIND_MAX, "one action_kinds[] entry per enum action_kind");

const struct action_kind_def *action_kind__find(const char *name)
{
	for (size_t i = 0; i < N_KINDS; i++) {
		if (!strcmp(action_kinds[i].name, name))
			return &action_kinds[i];
	}
	return NULL;
}

const struct action_kind_def *action_kind__def(enum action_kind kind)
{
	for (size_t i = 0; i < N_KINDS; i++) {
		if (action_kinds[i].kind == kind)
			return &action_kinds[i];
	}
	return NULL;
}

const char *action_kind__name(enum action_kind kind)
{
	const struct action_kind_def *d = action_kind__def(kind);

	return d ? d->name : "?";
}

/* "a, b or c" from a NULL-terminated list or from the kinds' names. */
static void join_names(char *buf, size_t cap, const char *const *names, size_t n)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && off < cap; i++) {
		const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";

		off += (size_t)snprintf(buf + off, cap - off, "%s%s", sep, names[i]);
	}
}

static void kind_names(char *buf, size_t cap)
{
	const char *names[N_KINDS];

	for (size_t i = 0; i < N_KINDS; i++)
		names[i] = action_kinds[i].name;
	join_names(buf, cap, names, N_KINDS);
}

/* ---- one action ---- */

static int parse_params(const struct action_kind_def *d, struct action *out,
			const struct rule_node *params, struct action_error *err)
{
	size_t n_params = 0;
	char list[128];

	while (d->params[n_params])
		n_params++;
	if (node_is_null(params))
		return 0;
	if (params->kind != RULE_NODE_MAP) {
		if (!n_params)
			fail(err, params, "action '%s' takes no parameters: write '- %s'", d->name,
			     d->name);
		else
			fail(err, params,
			     "parameters of action '%s' must be a mapping, e.g. {%s: ...}", d->name,
			     d->params[0]);
		return -EINVAL;
	}
	for (size_t i = 0; i + 1 < params->n_items; i += 2) {
		const struct rule_node *k = params->items[i], *v = params->items[i + 1];
		size_t p;

		for (p = 0; p < n_params; p++) {
			if (k->kind == RULE_NODE_SCALAR && !strcmp(k->scalar, d->params[p]))
				break;
		}
		if (p == n_params) {
			join_names(list, sizeof(list), d->params, n_params);
			if (n_params)
				fail(err, k, "unknown parameter '%s' of action '%s': expected %s",
				     k->kind == RULE_NODE_SCALAR ? k->scalar : "?", d->name, list);
			else
				fail(err, k, "action '%s' takes no parameters: write '- %s'",
				     d->name, d->name);
			return -EINVAL;
		}
		if (d->param(out, d->params[p], v, err))
			return -EINVAL;
	}
	return 0;
}

int action__parse(const struct rule_node *item, struct action *out, struct action_error *err)
{
	const struct rule_node *name = item, *params = NULL;
	const struct action_kind_def *d;
	char list[128];

	memset(out, 0, sizeof(*out));
	if (item->kind == RULE_NODE_MAP) {
		if (item->n_items != 2) {
			fail(err, item,
			     "each item of 'actions' is one action: write '- kill' and "
			     "'- block: {for: 10m}' as separate items");
			return -EINVAL;
		}
		name = item->items[0];
		params = item->items[1];
	}
	if (name->kind != RULE_NODE_SCALAR || !name->scalar[0]) {
		kind_names(list, sizeof(list));
		fail(err, name, "an action must be named: expected %s", list);
		return -EINVAL;
	}
	d = action_kind__find(name->scalar);
	if (!d) {
		kind_names(list, sizeof(list));
		fail(err, name, "unknown action '%s': expected %s", name->scalar, list);
		return -EINVAL;
	}
	out->kind = d->kind;
	out->file = item->file;
	out->line = item->line;
	out->col = item->col;
	if (d->kind == ACTION_ISOLATE)
		out->isolate.scope = ACTION_SCOPE_CONTAINER;
	return params ? parse_params(d, out, params, err) : 0;
}

int action_list__parse(const struct rule_node *list, struct action *out, size_t cap, size_t *n,
		       struct action_error *err)
{
	*n = 0;
	if (list->kind != RULE_NODE_SEQ) {
		fail(err, list, "'actions' must be a sequence, e.g. actions: [kill]");
		return -EINVAL;
	}
	if (cap < list->n_items) {
		fail(err, list, "too many actions");
		return -EINVAL;
	}
	for (size_t i = 0; i < list->n_items; i++) {
		if (action__parse(list->items[i], &out[i], err))
			return -EINVAL;
		for (size_t j = 0; j < i; j++) {
			if (out[j].kind == out[i].kind) {
				fail(err, list->items[i],
				     "action '%s' is given twice (first at line %d)",
				     action_kind__name(out[i].kind), out[j].line);
				return -EINVAL;
			}
		}
		*n = i + 1;
	}
	return 0;
}

int action_list__block_for(struct action *v, size_t n, const struct rule_node *block_for,
			   struct action_error *err)
{
	struct action *block = NULL;

	for (size_t i = 0; i < n; i++) {
		if (v[i].kind == ACTION_BLOCK)
			block = &v[i];
	}
	if (!block) {
		fail(err, block_for, "'block_for' needs a block action: add 'actions: [block]'");
		return -EINVAL;
	}
	if (block->block.for_ns) {
		fail(err, block_for,
		     "'block_for' and the block action's 'for' both give its duration: keep one");
		return -EINVAL;
	}
	if (block_for->kind != RULE_NODE_SCALAR ||
	    action_duration__parse(block_for->scalar, &block->block.for_ns)) {
		fail(err, block_for,
		     "invalid duration for 'block_for': write a number and a unit, e.g. 30s, "
		     "10m, 1h30m (units: ms, s, m, h, d)");
		return -EINVAL;
	}
	return 0;
}

int action_duration__parse(const char *s, uint64_t *ns)
{
	static const struct {
		const char *unit;
		uint64_t ns;
	} units[] = {
	    /* "ms" before "m" */
	    {"ms", NSEC_PER_MSEC},	{"s", NSEC_PER_SEC},	     {"m", 60 * NSEC_PER_SEC},
	    {"h", 3600 * NSEC_PER_SEC}, {"d", 86400 * NSEC_PER_SEC},
	};
	uint64_t total = 0;

	if (!*s)
		return -EINVAL;
	while (*s) {
		uint64_t num = 0, mul = 0;
		size_t u;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		for (; *s >= '0' && *s <= '9'; s++) {
			if (num > (UINT64_MAX - 9) / 10)
				return -EINVAL;
			num = num * 10 + (uint64_t)(*s - '0');
		}
		for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
			size_t l = strlen(units[u].unit);

			if (!strncmp(s, units[u].unit, l) && !(s[l] >= 'a' && s[l] <= 'z')) {
				mul = units[u].ns;
				s += l;
				break;
			}
		}
		if (!mul || num > (UINT64_MAX - total) / mul)
			return -EINVAL;
		total += num * mul;
	}
	if (!total)
		return -EINVAL;
	*ns = total;
	return 0;
}
