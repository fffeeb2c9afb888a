/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * state.c - the stateful keys of a rule (vigil's extension to Falco's language),
 * typed at compile time:
 *
 *   threshold: {count: 20, within: 5s, by: [proc.pid], distinct: fd.rport}
 *   aggregate: {within: 60s, by: [proc.exepath, fd.name]}
 *   sequence:  {by: process|tree|container, within: 5m,
 *               steps: [{condition: ...}, {condition: ..., same: {PREV_FIELD: THIS_FIELD}}]}
 *
 * A rule has at most one of them. A sequence's rule condition becomes its own
 * `condition` (optional) and any of its steps, so the event types, the index and the
 * kernel prefilter see every step; each step also gets its own program, run when the
 * rule matched. The runtime (windows, groups, partial sequences) is the host's
 * (detect/stateful.c). Every problem is an error naming the rule and the place.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "respond/action.h"
#include "rules/rules_int.h"

#define THRESHOLD_COUNT_MAX 100000
#define BY_MAX		    8
#define STEPS_MAX	    8
#define SAME_MAX	    4

static void serr(struct rule_engine *e, const struct crule *cr, const struct rule_node *at,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void serr(struct rule_engine *e, const struct crule *cr, const struct rule_node *at,
		 const char *fmt, ...)
{
	struct rpos pos =
	    at ? (struct rpos){.file = at->file, .line = at->line, .col = at->col} : cr->def->pos;
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = ar_vprintf(&e->ar, fmt, ap);
	va_end(ap);
	rdiag(e, RULE_DIAG_ERROR, &pos, "rule '%s': %s", cr->def->name, msg);
}

static const struct rule_node *map_get(const struct rule_node *m, const char *key)
{
	for (size_t i = 0; m && m->kind == RULE_NODE_MAP && i + 1 < m->n_items; i += 2)
		if (m->items[i]->kind == RULE_NODE_SCALAR && !strcmp(m->items[i]->scalar, key))
			return m->items[i + 1];
	return NULL;
}

/* Every key of m is one of known; else an error naming the first that is not. */
static int map_keys_ok(struct rule_engine *e, const struct crule *cr, const struct rule_node *m,
		       const char *what, const char *const *known)
{
	for (size_t i = 0; i + 1 < m->n_items; i += 2) {
		const struct rule_node *k = m->items[i];
		bool ok = false;

		for (size_t j = 0; known[j] && k->kind == RULE_NODE_SCALAR; j++)
			ok |= !strcmp(known[j], k->scalar);
		if (!ok) {
			char list[128] = "";

			for (size_t j = 0; known[j]; j++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
					 j ? ", " : "", known[j]);
			serr(e, cr, k, "unknown key '%s' in '%s' (expected one of: %s)",
			     k->kind == RULE_NODE_SCALAR ? k->scalar : "?", what, list);
			return -EINVAL;
		}
	}
	return 0;
}

static int need_map(struct rule_engine *e, const struct crule *cr, const struct rule_node *n,
		    const char *what, const char *example)
{
	if (n->kind == RULE_NODE_MAP)
		return 0;
	serr(e, cr, n, "'%s' must be a mapping, e.g. %s", what, example);
	return -EINVAL;
}

static int read_within(struct rule_engine *e, const struct crule *cr, const struct rule_node *m,
		       const char *what, uint64_t *ns)
{
	const struct rule_node *w = map_get(m, "within");

	if (!w) {
		serr(e, cr, m, "'%s' needs 'within', the window (e.g. within: 60s)", what);
		return -EINVAL;
	}
	if (w->kind != RULE_NODE_SCALAR || action_duration__parse(w->scalar, ns)) {
		serr(e, cr, w,
		     "'%s.within' must be a positive duration such as 500ms, 10s, 5m or 1h, not "
		     "'%s'",
		     what, w->kind == RULE_NODE_SCALAR ? w->scalar : "(a collection)");
		return -EINVAL;
	}
	return 0;
}

/* A field for a key (by, distinct, same): a registry field, resolved to a slot. */
static const struct rule_field_ref *read_field(struct rule_engine *e, const struct crule *cr,
					       const struct rule_node *n, const char *what)
{
	const char *name, *arg, *err = NULL;
	bool unknown = false;
	struct slot *s;

	if (n->kind != RULE_NODE_SCALAR || !*n->scalar) {
		serr(e, cr, n, "'%s' must name a field (e.g. proc.pid)", what);
		return NULL;
	}
	if (!lex_field_text(&e->ar, n->scalar, strlen(n->scalar), &name, &arg)) {
		serr(e, cr, n, "'%s': '%s' is not a field name", what, n->scalar);
		return NULL;
	}
	s = slot_resolve(e, name, arg, &unknown, &err);
	if (!s) {
		if (err)
			serr(e, cr, n, "'%s': %s", what, err);
		else
			serr(e, cr, n, "'%s': %s field '%s'", what, unknown ? "unknown" : "bad",
			     n->scalar);
		return NULL;
	}
	return &s->ref;
}

/* by: one field or a list of them (at most BY_MAX). */
static int read_by(struct rule_engine *e, struct crule *cr, const struct rule_node *m,
		   const char *what, struct rule_stateful *st)
{
	const struct rule_node *by = map_get(m, "by");
	const struct rule_field_ref **v;
	size_t n;

	if (!by)
		return 0;
	n = by->kind == RULE_NODE_SEQ ? by->n_items : 1;
	if (by->kind == RULE_NODE_MAP || n > BY_MAX) {
		serr(e, cr, by, "'%s.by' must be a field or a list of at most %d fields", what,
		     BY_MAX);
		return -EINVAL;
	}
	v = ar_alloc(&e->ar, sizeof(*v) * (n ? n : 1));
	for (size_t i = 0; i < n; i++) {
		v[i] = read_field(e, cr, by->kind == RULE_NODE_SEQ ? by->items[i] : by,
				  ar_printf(&e->ar, "%s.by", what));
		if (!v[i])
			return -EINVAL;
	}
	st->by = v;
	st->n_by = n;
	return 0;
}

static int parse_threshold(struct rule_engine *e, struct crule *cr, const struct rule_node *m,
			   struct rule_stateful *st)
{
	static const char *const known[] = {"count", "within", "by", "distinct", NULL};
	const struct rule_node *c, *d;
	char *end;

	if (need_map(e, cr, m, "threshold", "{count: 20, within: 5s, by: [proc.pid]}") ||
	    map_keys_ok(e, cr, m, "threshold", known))
		return -EINVAL;
	st->kind = RULE_STATE_THRESHOLD;
	c = map_get(m, "count");
	if (!c) {
		serr(e, cr, m,
		     "'threshold' needs 'count', the matches that fire it (e.g. count: 20)");
		return -EINVAL;
	}
	errno = 0;
	st->count = c->kind == RULE_NODE_SCALAR ? strtoull(c->scalar, &end, 10) : 0;
	if (c->kind != RULE_NODE_SCALAR || !*c->scalar || *end || errno || c->scalar[0] == '-' ||
	    st->count < 1 || st->count > THRESHOLD_COUNT_MAX) {
		serr(e, cr, c, "'threshold.count' must be a whole number from 1 to %d, not '%s'",
		     THRESHOLD_COUNT_MAX,
		     c->kind == RULE_NODE_SCALAR ? c->scalar : "(a collection)");
		return -EINVAL;
	}
	if (read_within(e, cr, m, "threshold", &st->within_ns) ||
	    read_by(e, cr, m, "threshold", st))
		return -EINVAL;
	d = map_get(m, "distinct");
	if (d && !(st->distinct = read_field(e, cr, d, "threshold.distinct")))
		return -EINVAL;
	return 0;
}

static int parse_aggregate(struct rule_engine *e, struct crule *cr, const struct rule_node *m,
			   struct rule_stateful *st)
{
	static const char *const known[] = {"within", "by", NULL};

	if (need_map(e, cr, m, "aggregate", "{within: 60s, by: [proc.exepath, fd.name]}") ||
	    map_keys_ok(e, cr, m, "aggregate", known))
		return -EINVAL;
	st->kind = RULE_STATE_AGGREGATE;
	return read_within(e, cr, m, "aggregate", &st->within_ns) ||
		       read_by(e, cr, m, "aggregate", st)
		   ? -EINVAL
		   : 0;
}

static int parse_same(struct rule_engine *e, struct crule *cr, const struct rule_node *s,
		      size_t step, struct rule_step *out)
{
	struct rule_same *v;
	size_t n;

	if (s->kind != RULE_NODE_MAP || !s->n_items || s->n_items / 2 > SAME_MAX) {
		serr(e, cr, s,
		     "'same' of step %zu must map fields of the previous step to fields of this "
		     "one (at most %d), e.g. same: {fd.name: proc.exepath}",
		     step + 1, SAME_MAX);
		return -EINVAL;
	}
	if (!step) {
		serr(e, cr, s, "the first step has no previous step to be the 'same' as");
		return -EINVAL;
	}
	n = s->n_items / 2;
	v = ar_alloc(&e->ar, sizeof(*v) * n);
	for (size_t i = 0; i < n; i++) {
		v[i].prev = read_field(e, cr, s->items[2 * i], "same");
		v[i].cur = v[i].prev ? read_field(e, cr, s->items[2 * i + 1], "same") : NULL;
		if (!v[i].cur)
			return -EINVAL;
		if (v[i].prev->multi || v[i].cur->multi) {
			serr(e, cr, s->items[2 * i],
			     "'same': '%s' has several values; compare fields with one",
			     v[i].prev->multi ? v[i].prev->text : v[i].cur->text);
			return -EINVAL;
		}
	}
	out->same = v;
	out->n_same = n;
	return 0;
}

/* `a or b or ...` of the steps, and the rule's own condition (if any) before it. */
static struct ast *join(struct rule_engine *e, enum ast_kind kind, struct ast **kids, uint32_t n,
			const struct rpos *pos)
{
	struct ast *a = ast_new(&e->ar, kind, pos);

	a->bin.kids = kids;
	a->bin.n = n;
	return a;
}

static int parse_sequence(struct rule_engine *e, struct crule *cr, const struct rule_node *m,
			  struct rule_stateful *st, struct ast **cond)
{
	static const char *const known[] = {"by", "within", "steps", NULL};
	const struct rule_def *d = cr->def;
	const struct rule_node *by, *steps;
	struct rule_step *sv;
	struct ast **asts;
	int bad = 0;

	if (need_map(e, cr, m, "sequence",
		     "{by: tree, within: 5m, steps: [{condition: ...}, {condition: ...}]}") ||
	    map_keys_ok(e, cr, m, "sequence", known))
		return -EINVAL;
	st->kind = RULE_STATE_SEQUENCE;
	by = map_get(m, "by");
	if (!by || by->kind != RULE_NODE_SCALAR ||
	    (strcmp(by->scalar, "process") && strcmp(by->scalar, "tree") &&
	     strcmp(by->scalar, "container"))) {
		serr(e, cr, by ? by : m, "'sequence.by' must be process, tree or container%s%s%s",
		     by && by->kind == RULE_NODE_SCALAR ? ", not '" : "",
		     by && by->kind == RULE_NODE_SCALAR ? by->scalar : "",
		     by && by->kind == RULE_NODE_SCALAR ? "'" : "");
		return -EINVAL;
	}
	st->scope = !strcmp(by->scalar, "process") ? RULE_SEQ_PROCESS
		    : !strcmp(by->scalar, "tree")  ? RULE_SEQ_TREE
						   : RULE_SEQ_CONTAINER;
	if (read_within(e, cr, m, "sequence", &st->within_ns))
		return -EINVAL;
	steps = map_get(m, "steps");
	if (!steps || steps->kind != RULE_NODE_SEQ || steps->n_items < 2 ||
	    steps->n_items > STEPS_MAX) {
		serr(e, cr, steps ? steps : m,
		     "'sequence.steps' must be a list of 2 to %d steps (each {condition: ...}); "
		     "a single step is a plain rule",
		     STEPS_MAX);
		return -EINVAL;
	}
	st->n_steps = steps->n_items;
	sv = ar_alloc(&e->ar, sizeof(*sv) * st->n_steps);
	asts = ar_alloc(&e->ar, sizeof(*asts) * st->n_steps);
	for (size_t i = 0; i < st->n_steps; i++) {
		static const char *const skeys[] = {"condition", "same", NULL};
		const struct rule_node *s = steps->items[i], *c, *same;
		const struct vec *segs = &VEC_AT(d->step_conds, struct vec, i);

		if (need_map(e, cr, s, "sequence step", "{condition: ...}") ||
		    map_keys_ok(e, cr, s, "sequence step", skeys))
			return -EINVAL;
		c = map_get(s, "condition");
		if (!c || c->kind != RULE_NODE_SCALAR || !segs->n) {
			serr(e, cr, c ? c : s, "sequence step %zu needs a 'condition' (a string)",
			     i + 1);
			return -EINVAL;
		}
		sv[i].condition = c->scalar;
		same = map_get(s, "same");
		if (same && parse_same(e, cr, same, i, &sv[i]))
			return -EINVAL;
		asts[i] = cond_parse(e, segs->v, segs->n,
				     ar_printf(&e->ar, "rule '%s' step %zu", d->name, i + 1));
		bad |= !asts[i];
	}
	if (bad)
		return -EINVAL;
	st->steps = sv;
	cr->step_ast = asts;

	/* the rule's condition: its own (if any) and any step */
	struct ast *any = join(e, AST_OR, asts, (uint32_t)st->n_steps, &d->pos);
	if (*cond) {
		struct ast **k = ar_alloc(&e->ar, sizeof(*k) * 2);

		k[0] = *cond;
		k[1] = any;
		*cond = join(e, AST_AND, k, 2, &(*cond)->pos);
	} else {
		*cond = any;
	}

	/* what each step's event is remembered by in the alert */
	static const char *const rec[] = RULE_STEP_FIELDS;
	const struct rule_field_ref **r =
	    ar_alloc(&e->ar, sizeof(*r) * (sizeof(rec) / sizeof(*rec)));
	size_t nr = 0;
	for (size_t i = 0; i < sizeof(rec) / sizeof(*rec); i++) {
		const char *err;
		bool unknown;
		struct slot *s;

		if (strcmp(rec[i], "evt.type") && !strmap_get(&e->fieldmap, rec[i], strlen(rec[i])))
			continue;
		s = slot_resolve(e, rec[i], NULL, &unknown, &err);
		if (s)
			r[nr++] = &s->ref;
	}
	st->record = r;
	st->n_record = nr;
	return 0;
}

int state_parse(struct rule_engine *e, struct crule *cr, struct ast **cond)
{
	const struct rule_def *d = cr->def;
	const struct rule_node *keys[] = {d->threshold, d->aggregate, d->sequence};
	const char *names[] = {"threshold", "aggregate", "sequence"};
	struct rule_stateful *st;
	int n = 0, first = -1, ret;

	for (int i = 0; i < 3; i++)
		if (keys[i]) {
			n++;
			if (first < 0)
				first = i;
			else
				serr(e, cr, keys[i],
				     "'%s' and '%s' cannot be used together: a rule has one of "
				     "threshold, aggregate and sequence",
				     names[first], names[i]);
		}
	if (n > 1)
		return -EINVAL;
	if (!n) {
		if (!*cond) {
			rdiag(e, RULE_DIAG_ERROR, &d->pos, "rule '%s' has no 'condition' key",
			      d->name);
			return -EINVAL;
		}
		return 0;
	}
	st = ar_alloc(&e->ar, sizeof(*st));
	if (first == 0)
		ret = parse_threshold(e, cr, d->threshold, st);
	else if (first == 1)
		ret = parse_aggregate(e, cr, d->aggregate, st);
	else
		ret = parse_sequence(e, cr, d->sequence, st, cond);
	if (ret)
		return ret;
	if (!*cond) {
		rdiag(e, RULE_DIAG_ERROR, &d->pos, "rule '%s' has no 'condition' key", d->name);
		return -EINVAL;
	}
	cr->state = st;
	cr->info.state = st;
	return 0;
}

/* ---- fingerprint: whether a rule is the same across two compiles ---- */

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h * 0x100000001b3ull;
}

static uint64_t mix_str(uint64_t h, const char *p, size_t n)
{
	return mix(h, hash_bytes(p, n) ^ n);
}

static uint64_t const_hash(struct rule_engine *e, uint32_t idx)
{
	const struct rconst *k = const_at(e, idx);
	uint64_t h = k->kind, x = 0;

	switch (k->kind) {
	case K_STR:
		return mix_str(h, k->s.p, k->s.n);
	case K_I64:
	case K_U64:
		return mix(h, k->u64);
	case K_BOOL:
		return mix(h, k->b);
	case K_NET:
		return mix_str(h, (const char *)&k->net, sizeof(k->net));
	case K_STRSET:
		/* order-free: the set's layout may differ */
		for (uint32_t i = 0; i < k->set->cap; i++)
			if (k->set->slots[i].p)
				x += hash_bytes(k->set->slots[i].p, k->set->slots[i].n);
		return mix(mix(h, x), k->set->n);
	case K_PREFIXES:
		for (uint32_t i = 0; i < k->pfx->n; i++)
			h = mix_str(h, k->pfx->v[i].p, k->pfx->v[i].n);
		return h;
	case K_NUMSET:
		for (uint32_t i = 0; i < k->nums.n; i++)
			h = mix(h, k->nums.v[i]);
		return h;
	case K_BOOLSET:
		return mix(h, k->bools);
	case K_NETSET:
		for (uint32_t i = 0; i < k->nets.n; i++)
			h = mix_str(h, (const char *)&k->nets.v[i], sizeof(k->nets.v[i]));
		return h;
	case K_EVSET:
		for (uint32_t i = 0; i < e->ev_words; i++)
			h = mix(h, k->ev[i]);
		return h;
	default: /* regexes, path matches: their source text */
		return k->text ? mix_str(h, k->text, strlen(k->text)) : mix(h, idx);
	}
}

static uint64_t tree_hash(struct rule_engine *e, const struct rnode *n)
{
	uint64_t h = mix(n->kind, n->op);
	const struct slot *s;

	switch (n->kind) {
	case RN_CMPF:
		s = VEC_AT(e->slots, struct slot *, n->arg);
		h = mix_str(h, s->ref.text, strlen(s->ref.text));
		/* fall through */
	case RN_CMP:
		s = VEC_AT(e->slots, struct slot *, n->slot);
		h = mix_str(h, s->ref.text, strlen(s->ref.text));
		return n->kind == RN_CMP && n->op != CMP_EXISTS ? mix(h, const_hash(e, n->arg)) : h;
	case RN_EVT:
		return mix(h, const_hash(e, n->arg));
	default:
		for (uint32_t i = 0; i < n->n; i++)
			h = mix(h, tree_hash(e, n->kids[i]));
		return h;
	}
}

static uint64_t ref_hash(uint64_t h, const struct rule_field_ref *r)
{
	return r ? mix_str(h, r->text, strlen(r->text)) : mix(h, 0);
}

void state_fingerprint(struct rule_engine *e, struct crule *cr, struct rnode *const *step_rt)
{
	struct rule_stateful *st = cr->state;
	uint64_t h = mix(st->kind, st->within_ns);

	h = mix(mix(h, st->count), st->scope);
	h = mix(h, tree_hash(e, cr->rt));
	for (size_t i = 0; i < st->n_by; i++)
		h = ref_hash(h, st->by[i]);
	h = ref_hash(h, st->distinct);
	for (size_t i = 0; i < st->n_steps; i++) {
		h = mix(h, tree_hash(e, step_rt[i]));
		for (size_t j = 0; j < st->steps[i].n_same; j++)
			h = ref_hash(ref_hash(h, st->steps[i].same[j].prev),
				     st->steps[i].same[j].cur);
	}
	st->fingerprint = h;
}
