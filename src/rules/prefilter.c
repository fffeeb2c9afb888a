/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * prefilter.c - what the kernel may drop. For one event type and one field, an
 * abstract interpretation of every active rule's resolved tree computes two value
 * sets per node: where it may be true (T) and where it may be false (F), each
 * "every value" or a finite set of exact strings, string prefixes or integers, plus
 * whether the field being absent is possible. `and` intersects T, `or` unions it,
 * `not` swaps T and F, evt.type tests use the event type, and anything not about
 * the field (or not reducible: contains, endswith, regex, !=, ...) is "every value".
 * The union of the rules' T is an over-approximation: a value outside it cannot
 * make any rule match.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules_int.h"

struct dom {
	bool all;	   /* every present value */
	bool absent;	   /* the field may be missing */
	struct vec exact;  /* struct rstr */
	struct vec prefix; /* struct rstr */
	struct vec nums;   /* uint64_t */
};

struct pfctx {
	struct rule_engine *e; /* engine */
	struct arena ar;       /* scratch */
	uint32_t slot;	       /* the field's slot, or UINT32_MAX if no rule uses it */
	uint32_t slot2;	       /* "a|b": the second field's slot, or UINT32_MAX */
	uint32_t leaf_of;      /* slot of a path field whose last component the field is */
	uint32_t dir_of;       /* slot of a field holding the directory of the field's path */
	uint32_t known[RULE_PF_ASSUME_MAX]; /* slots of boolean fields with a known value */
	bool known_val[RULE_PF_ASSUME_MAX]; /* their values */
	uint32_t code;			    /* event type */
	bool is_signed;			    /* INT64 field */
};

struct pf_priv {
	struct rule_prefilter pub; /* what callers see; first member */
	struct rstr *exact;	   /* same strings, for lookups */
	struct prefixes pfx;	   /* same prefixes, for lookups */
};

static void dom_all(struct dom *d, bool absent)
{
	memset(d, 0, sizeof(*d));
	d->all = true;
	d->absent = absent;
}

static void dom_none(struct dom *d, bool absent)
{
	memset(d, 0, sizeof(*d));
	d->absent = absent;
}

static void push_str(struct pfctx *c, struct vec *v, const char *p, size_t n)
{
	struct rstr *s = vec_push(&c->ar, v, sizeof(*s));

	s->p = p;
	s->n = n;
}

static void push_num(struct pfctx *c, struct vec *v, uint64_t x)
{
	*(uint64_t *)vec_push(&c->ar, v, sizeof(x)) = x;
}

static bool has_prefix(const struct rstr *s, const struct rstr *p)
{
	return s->n >= p->n && !memcmp(s->p, p->p, p->n);
}

/* Could value x be in d's finite set? */
static bool dom_has_str(const struct dom *d, const struct rstr *x)
{
	for (uint32_t i = 0; i < d->exact.n; i++) {
		if (!rstr_cmp(&VEC_AT(d->exact, struct rstr, i), x))
			return true;
	}
	for (uint32_t i = 0; i < d->prefix.n; i++) {
		if (has_prefix(x, &VEC_AT(d->prefix, struct rstr, i)))
			return true;
	}
	return false;
}

static void dom_union(struct pfctx *c, struct dom *a, const struct dom *b)
{
	a->absent |= b->absent;
	if (a->all || b->all) {
		bool absent = a->absent;

		dom_all(a, absent);
		return;
	}
	for (uint32_t i = 0; i < b->exact.n; i++)
		*(struct rstr *)vec_push(&c->ar, &a->exact, sizeof(struct rstr)) =
		    VEC_AT(b->exact, struct rstr, i);
	for (uint32_t i = 0; i < b->prefix.n; i++)
		*(struct rstr *)vec_push(&c->ar, &a->prefix, sizeof(struct rstr)) =
		    VEC_AT(b->prefix, struct rstr, i);
	for (uint32_t i = 0; i < b->nums.n; i++)
		push_num(c, &a->nums, VEC_AT(b->nums, uint64_t, i));
}

static void dom_inter(struct pfctx *c, struct dom *a, const struct dom *b)
{
	struct dom r;

	dom_none(&r, a->absent && b->absent);
	if (a->all && b->all) {
		r.all = true;
	} else if (a->all || b->all) {
		const struct dom *f = a->all ? b : a;

		r.exact = f->exact;
		r.prefix = f->prefix;
		r.nums = f->nums;
	} else {
		for (uint32_t i = 0; i < a->exact.n; i++) {
			const struct rstr *x = &VEC_AT(a->exact, struct rstr, i);

			if (dom_has_str(b, x))
				push_str(c, &r.exact, x->p, x->n);
		}
		for (uint32_t i = 0; i < b->exact.n; i++) {
			const struct rstr *x = &VEC_AT(b->exact, struct rstr, i);

			if (dom_has_str(a, x))
				push_str(c, &r.exact, x->p, x->n);
		}
		for (uint32_t i = 0; i < a->prefix.n; i++) {
			const struct rstr *pa = &VEC_AT(a->prefix, struct rstr, i);

			for (uint32_t j = 0; j < b->prefix.n; j++) {
				const struct rstr *pb = &VEC_AT(b->prefix, struct rstr, j);

				if (has_prefix(pa, pb))
					push_str(c, &r.prefix, pa->p, pa->n);
				else if (has_prefix(pb, pa))
					push_str(c, &r.prefix, pb->p, pb->n);
			}
		}
		for (uint32_t i = 0; i < a->nums.n; i++) {
			uint64_t x = VEC_AT(a->nums, uint64_t, i);

			for (uint32_t j = 0; j < b->nums.n; j++) {
				if (VEC_AT(b->nums, uint64_t, j) == x) {
					push_num(c, &r.nums, x);
					break;
				}
			}
		}
	}
	*a = r;
}

/* T and F of a comparison on the field itself. */
static void leaf(struct pfctx *c, const struct rnode *n, struct dom *t, struct dom *f)
{
	/* `exists` has no operand: a rule set may hold no constant at all */
	const struct rconst *k =
	    n->kind == RN_CMP && n->op != CMP_EXISTS ? const_at(c->e, n->arg) : NULL;

	dom_all(t, false); /* a comparison needs the value... */
	dom_all(f, true);  /* ...and is false without it */
	if (n->kind != RN_CMP)
		return;
	switch (n->op) {
	case CMP_EXISTS:
		dom_none(f, true);
		return;
	case CMP_EQ:
	case CMP_NE: {
		struct dom *d = n->op == CMP_EQ ? t : f;

		dom_none(d, n->op == CMP_NE);
		if (k->kind == K_STR)
			push_str(c, &d->exact, k->s.p, k->s.n);
		else if (k->kind == K_I64)
			push_num(c, &d->nums, (uint64_t)k->i64);
		else if (k->kind == K_U64)
			push_num(c, &d->nums, k->u64);
		else
			dom_all(d, n->op == CMP_NE);
		return;
	}
	case CMP_IN:
	case CMP_INTERSECTS:
		dom_none(t, false);
		if (k->kind == K_STRSET) {
			for (uint32_t i = 0; i < k->set->cap; i++) {
				if (k->set->slots[i].p)
					push_str(c, &t->exact, k->set->slots[i].p,
						 k->set->slots[i].n);
			}
		} else if (k->kind == K_NUMSET) {
			for (uint32_t i = 0; i < k->nums.n; i++)
				push_num(c, &t->nums, k->nums.v[i]);
		} else {
			dom_all(t, false);
		}
		return;
	case CMP_STARTSWITH:
	case CMP_BSTARTSWITH:
		dom_none(t, false);
		if (k->kind == K_PREFIXES) {
			for (uint32_t i = 0; i < k->pfx->n; i++)
				push_str(c, &t->prefix, k->pfx->v[i].p, k->pfx->v[i].n);
		} else {
			push_str(c, &t->prefix, k->s.p, k->s.n);
		}
		return;
	case CMP_PMATCH:
		dom_none(t, false);
		for (uint32_t i = 0; i < k->pm->exact.cap; i++) {
			const struct rstr *s = &k->pm->exact.slots[i];

			if (s->p)
				push_str(c, &t->prefix, s->p, s->n);
		}
		for (uint32_t i = 0; i < k->pm->n_globs; i++)
			push_str(c, &t->prefix, k->pm->globs[i].pat.p, k->pm->globs[i].lit);
		return;
	case CMP_GLOB: {
		bool meta;
		size_t l = glob_literal_prefix(k->s.p, k->s.n, &meta);

		if (meta && !l)
			return;
		dom_none(t, false);
		push_str(c, meta ? &t->prefix : &t->exact, k->s.p, l);
		return;
	}
	default:
		return;
	}
}

/* The last component of a path: what follows its last '/'. */
static struct rstr last_component(const char *p, size_t n)
{
	const char *slash = memrchr(p, '/', n);

	if (!slash)
		return (struct rstr){.p = p, .n = n};
	return (struct rstr){.p = slash + 1, .n = n - (size_t)(slash + 1 - p)};
}

/*
 * A path's value set as the set of its last components: exact paths give exact
 * names, a prefix gives every name (what follows it may hold more components).
 */
static void dom_to_leaf(struct pfctx *c, struct dom *d)
{
	struct vec exact = {0};

	if (d->all)
		return;
	if (d->prefix.n || d->nums.n) {
		dom_all(d, d->absent);
		return;
	}
	for (uint32_t i = 0; i < d->exact.n; i++) {
		const struct rstr *x = &VEC_AT(d->exact, struct rstr, i);
		struct rstr l = last_component(x->p, x->n);

		push_str(c, &exact, l.p, l.n);
	}
	d->exact = exact;
}

/*
 * The last component a glob or a suffix fixes, if any: when the text after the
 * pattern's last '/' is literal, every path it matches ends with "/" + that text.
 */
static bool fixed_leaf(const struct rstr *s, bool glob, struct rstr *out)
{
	const char *slash = memrchr(s->p, '/', s->n);
	size_t n;

	if (!slash)
		return false;
	*out = (struct rstr){.p = slash + 1, .n = s->n - (size_t)(slash + 1 - s->p)};
	if (!glob)
		return true;
	/* a '/' inside a bracket expression is no separator: no ']' after it either */
	for (n = 0; n < out->n; n++)
		if (strchr("*?[]\\", out->p[n]))
			return false;
	return true;
}

/* T and F of a comparison on the path field whose last component the field is. */
static void leaf_of_path(struct pfctx *c, const struct rnode *n, struct dom *t, struct dom *f)
{
	const struct rconst *k = n->op != CMP_EXISTS ? const_at(c->e, n->arg) : NULL;
	struct rstr l;

	if ((n->op == CMP_GLOB || n->op == CMP_ENDSWITH) && k->kind == K_STR &&
	    fixed_leaf(&k->s, n->op == CMP_GLOB, &l)) {
		dom_none(t, false);
		push_str(c, &t->exact, l.p, l.n);
		dom_all(f, true);
		return;
	}
	leaf(c, n, t, f);
	dom_to_leaf(c, t);
	dom_to_leaf(c, f);
}

/*
 * A directory's value set as the set of the paths in it: directory D holds the paths
 * that start with D + "/" ("/" holds those starting with "/").
 */
static void dom_dir_to_path(struct pfctx *c, struct dom *d)
{
	struct vec prefix = {0};

	if (d->all)
		return;
	if (d->nums.n) {
		dom_all(d, d->absent);
		return;
	}
	for (uint32_t i = 0; i < d->exact.n; i++) {
		const struct rstr *x = &VEC_AT(d->exact, struct rstr, i);
		bool slash = x->n && x->p[x->n - 1] == '/';
		char *p = ar_alloc(&c->ar, x->n + 1);

		memcpy(p, x->p, x->n);
		p[x->n] = '/';
		push_str(c, &prefix, p, x->n + !slash);
	}
	for (uint32_t i = 0; i < d->prefix.n; i++)
		*(struct rstr *)vec_push(&c->ar, &prefix, sizeof(struct rstr)) =
		    VEC_AT(d->prefix, struct rstr, i);
	d->exact = (struct vec){0};
	d->prefix = prefix;
}

/* Whether a comparison on a boolean field of known value holds: 1, 0, or -1 (unknown). */
static int known_cmp(struct pfctx *c, const struct rnode *n)
{
	const struct rconst *k;
	bool v;
	size_t i;

	for (i = 0; i < RULE_PF_ASSUME_MAX && c->known[i] != n->slot; i++)
		;
	if (i == RULE_PF_ASSUME_MAX)
		return -1;
	v = c->known_val[i];
	if (n->op == CMP_EXISTS)
		return 1;
	k = const_at(c->e, n->arg);
	if (k->kind == K_BOOL && (n->op == CMP_EQ || n->op == CMP_NE))
		return (k->b == v) == (n->op == CMP_EQ);
	if (k->kind == K_BOOLSET && n->op == CMP_IN)
		return (k->bools >> v) & 1;
	return -1;
}

static void analyse(struct pfctx *c, const struct rnode *n, struct dom *t, struct dom *f)
{
	switch (n->kind) {
	case RN_TRUE:
		dom_all(t, true);
		dom_none(f, false);
		return;
	case RN_FALSE:
		dom_none(t, false);
		dom_all(f, true);
		return;
	case RN_EVT: {
		const uint64_t *b = const_at(c->e, n->arg)->ev;
		bool in = c->code < c->e->n_codes && ((b[c->code / 64] >> (c->code % 64)) & 1);

		if (in) {
			dom_all(t, true);
			dom_none(f, false);
		} else {
			dom_none(t, false);
			dom_all(f, true);
		}
		return;
	}
	case RN_NOT:
		analyse(c, n->kids[0], f, t);
		return;
	case RN_AND:
	case RN_OR: {
		bool and = n->kind == RN_AND;

		for (uint32_t i = 0; i < n->n; i++) {
			struct dom kt, kf;

			analyse(c, n->kids[i], &kt, &kf);
			if (!i) {
				*t = kt;
				*f = kf;
				continue;
			}
			if (and) {
				dom_inter(c, t, &kt);
				dom_union(c, f, &kf);
			} else {
				dom_union(c, t, &kt);
				dom_inter(c, f, &kf);
			}
		}
		return;
	}
	case RN_CMP:
	case RN_CMPF:
		if (n->kind == RN_CMP && n->slot != UINT32_MAX) {
			int v = known_cmp(c, n);

			if (v >= 0) {
				dom_all(v ? t : f, true);
				dom_none(v ? f : t, false);
				return;
			}
		}
		if (n->kind == RN_CMP && n->slot == c->leaf_of && n->slot != c->slot) {
			leaf_of_path(c, n, t, f);
			return;
		}
		if (n->kind == RN_CMP && n->slot == c->dir_of && n->slot != c->slot) {
			leaf(c, n, t, f);
			dom_dir_to_path(c, t);
			dom_dir_to_path(c, f);
			return;
		}
		if (n->slot == c->slot || n->slot == c->slot2 ||
		    (n->kind == RN_CMPF && (n->arg == c->slot || n->arg == c->slot2))) {
			if (n->kind == RN_CMPF) {
				dom_all(t, false);
				dom_all(f, true);
			} else {
				leaf(c, n, t, f);
			}
			return;
		}
		dom_all(t, true);
		dom_all(f, true);
		return;
	}
}

static int str_qcmp(const void *a, const void *b)
{
	return rstr_cmp(a, b);
}

static struct rule_prefilter *pf_build(struct pfctx *c, const struct dom *d, enum rule_ftype type)
{
	struct rstr *ex = d->exact.v, *px = d->prefix.v;
	uint64_t *nums = d->nums.v;
	uint32_t ne = 0, np = 0, nn = 0;
	size_t bytes = 0;

	if (d->prefix.n > 1)
		qsort(px, d->prefix.n, sizeof(*px), str_qcmp);
	for (uint32_t i = 0; i < d->prefix.n; i++) {
		/* sorted: a covering prefix is always the last one kept */
		if (np && has_prefix(&px[i], &px[np - 1]))
			continue;
		px[np++] = px[i];
	}
	struct prefixes kept = {.v = px, .n = np};
	if (d->exact.n > 1)
		qsort(ex, d->exact.n, sizeof(*ex), str_qcmp);
	for (uint32_t i = 0; i < d->exact.n; i++) {
		if ((ne && !rstr_cmp(&ex[ne - 1], &ex[i])) ||
		    prefixes_match(&kept, ex[i].p, ex[i].n))
			continue;
		ex[ne++] = ex[i];
	}
	if (d->nums.n > 1)
		qsort(nums, d->nums.n, sizeof(*nums), c->is_signed ? num_cmp_i64 : num_cmp_u64);
	for (uint32_t i = 0; i < d->nums.n; i++) {
		if (!nn || nums[nn - 1] != nums[i])
			nums[nn++] = nums[i];
	}
	if (d->all)
		ne = np = nn = 0;
	for (uint32_t i = 0; i < ne; i++)
		bytes += ex[i].n + 1;
	for (uint32_t i = 0; i < np; i++)
		bytes += px[i].n + 1;

	size_t sz = sizeof(struct pf_priv) +
		    (ne + np) * (sizeof(struct rule_pf_str) + sizeof(struct rstr)) +
		    nn * sizeof(uint64_t) + bytes;
	struct pf_priv *p = malloc(sz); /* every byte used is written below */
	if (!p)
		return NULL;
	*p = (struct pf_priv){0};

	char *cur = (char *)(p + 1);
	struct rule_pf_str *pe = (struct rule_pf_str *)cur;
	cur += ne * sizeof(*pe);
	struct rule_pf_str *pp = (struct rule_pf_str *)cur;
	cur += np * sizeof(*pp);
	p->exact = (struct rstr *)cur;
	cur += ne * sizeof(struct rstr);
	p->pfx.v = (struct rstr *)cur;
	cur += np * sizeof(struct rstr);
	uint64_t *pn = (uint64_t *)cur;
	cur += nn * sizeof(uint64_t);

	for (uint32_t i = 0; i < ne; i++) {
		memcpy(cur, ex[i].p, ex[i].n);
		cur[ex[i].n] = 0;
		pe[i].ptr = p->exact[i].p = cur;
		pe[i].len = p->exact[i].n = ex[i].n;
		cur += ex[i].n + 1;
	}
	for (uint32_t i = 0; i < np; i++) {
		memcpy(cur, px[i].p, px[i].n);
		cur[px[i].n] = 0;
		pp[i].ptr = p->pfx.v[i].p = cur;
		pp[i].len = p->pfx.v[i].n = px[i].n;
		cur += px[i].n + 1;
	}
	if (nn)
		memcpy(pn, nums, nn * sizeof(uint64_t));
	p->pfx.n = np;
	p->pub.type = type;
	p->pub.all = d->all;
	p->pub.absent = d->absent;
	p->pub.exact = pe;
	p->pub.n_exact = ne;
	p->pub.prefix = pp;
	p->pub.n_prefix = np;
	p->pub.num = pn;
	p->pub.n_num = nn;
	return &p->pub;
}

/* The slot of a field no rule uses is UINT32_MAX, which no node has. */
static uint32_t slot_of(struct rule_engine *e, const char *field)
{
	const struct rule_field_def *def =
	    field ? strmap_get(&e->fieldmap, field, strlen(field)) : NULL;
	struct slot *s = def ? strmap_get(&e->slot_map, def->name, strlen(def->name)) : NULL;

	return s ? s->ref.slot : UINT32_MAX;
}

struct rule_prefilter *rule_engine__prefilter(const struct rule_engine *e, uint32_t evtype,
					      const char *field)
{
	return rule_engine__prefilter_with(e, evtype, field, NULL);
}

struct rule_prefilter *rule_engine__prefilter_with(const struct rule_engine *ce, uint32_t evtype,
						   const char *field, const struct rule_pf_opts *o)
{
	struct rule_engine *e = (struct rule_engine *)ce;
	const char *bar = strchr(field, '|');
	size_t n1 = bar ? (size_t)(bar - field) : strlen(field);
	const struct rule_field_def *def = strmap_get(&e->fieldmap, field, n1);
	const struct rule_field_def *def2 =
	    bar ? strmap_get(&e->fieldmap, bar + 1, strlen(bar + 1)) : NULL;
	struct pfctx c = {.e = e, .code = evtype, .slot = UINT32_MAX, .slot2 = UINT32_MAX};
	struct rule_prefilter *pf;
	struct dom acc;
	const uint32_t *list;
	uint32_t n;

	if (!def || (bar && !def2) || !e->compiled) {
		errno = def && (!bar || def2) ? EINVAL : ENOENT;
		return NULL;
	}
	if (def2 && (def2->type != def->type || def2->flags != def->flags)) {
		errno = EINVAL;
		return NULL;
	}
	struct slot *s = strmap_get(&e->slot_map, def->name, strlen(def->name));
	if (s)
		c.slot = s->ref.slot;
	s = def2 ? strmap_get(&e->slot_map, def2->name, strlen(def2->name)) : NULL;
	if (s)
		c.slot2 = s->ref.slot;
	c.is_signed = def->type == RULE_FT_INT64;
	c.leaf_of = o ? slot_of(e, o->leaf_of) : UINT32_MAX;
	c.dir_of = o ? slot_of(e, o->dir_of) : UINT32_MAX;
	for (size_t i = 0; i < RULE_PF_ASSUME_MAX; i++) {
		c.known[i] = o ? slot_of(e, o->assume[i].field) : UINT32_MAX;
		c.known_val[i] = o && o->assume[i].value;
	}
	list = rules_for(e, evtype, &n);

	dom_none(&acc, false);
	bool reducible = def->type == RULE_FT_STRING || def->type == RULE_FT_INT64 ||
			 def->type == RULE_FT_UINT64;
	if (!reducible || (def->flags & RULE_FF_MULTI)) {
		dom_all(&acc, true);
		if (!n)
			dom_none(&acc, false);
	} else {
		for (uint32_t i = 0; i < n && !(acc.all && acc.absent); i++) {
			struct dom t, f;

			analyse(&c, e->crules[list[i]].rt, &t, &f);
			dom_union(&c, &acc, &t);
		}
	}
	pf = pf_build(&c, &acc, def->type);
	ar_release(&c.ar);
	if (!pf)
		errno = ENOMEM;
	return pf;
}

void rule_prefilter__free(struct rule_prefilter *pf)
{
	free(pf);
}

bool rule_prefilter__match(const struct rule_prefilter *pf, const struct rule_value *v)
{
	const struct pf_priv *p = (const struct pf_priv *)pf;

	if (!v)
		return pf->absent;
	if (pf->all)
		return true;
	if (pf->type == RULE_FT_STRING) {
		struct rstr key = {.p = v->str.ptr, .n = v->str.len};
		size_t lo = 0, hi = pf->n_exact;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			int c = rstr_cmp(&p->exact[mid], &key);

			if (!c)
				return true;
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		return p->pfx.n && prefixes_match(&p->pfx, v->str.ptr, v->str.len);
	}
	if (pf->type == RULE_FT_INT64 || pf->type == RULE_FT_UINT64) {
		bool sgn = pf->type == RULE_FT_INT64;
		uint64_t x = sgn ? (uint64_t)v->i64 : v->u64;
		size_t lo = 0, hi = pf->n_num;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			uint64_t m = pf->num[mid];

			if (m == x)
				return true;
			if (sgn ? (int64_t)m < (int64_t)x : m < x)
				lo = mid + 1;
			else
				hi = mid;
		}
		return false;
	}
	return true;
}

/* ---- guards: rules an event's field value rules out are not evaluated ---- */

/* The values of slot for which rule r of code may hold, into t; false when not finite. */
static bool rule_guard(struct pfctx *c, const struct crule *r, uint32_t slot, struct dom *t)
{
	struct dom f;

	c->slot = slot;
	analyse(c, r->rt, t, &f);
	return !t->all && !t->absent && !t->nums.n;
}

/* Adds rule r under value v of map m; a new prefix is also listed in pfx. */
static void guard_put(struct rule_engine *e, struct strmap *m, struct vec *pfx,
		      const struct rstr *v, uint32_t r)
{
	struct vec *rules = strmap_get(m, v->p, v->n);

	if (!rules) {
		rules = ar_alloc(&e->ar, sizeof(*rules));
		strmap_put(&e->ar, m, v->p, v->n, rules);
		if (pfx) {
			struct guard_pfx *gp = vec_push(&e->ar, pfx, sizeof(*gp));

			gp->p = (struct rstr){.p = ar_strndup(&e->ar, v->p, v->n), .n = v->n};
			gp->rules = rules;
		}
	}
	*(uint32_t *)vec_push(&e->ar, rules, sizeof(uint32_t)) = r;
}

/* Adds rule r's values t to g. */
static void guard_add(struct rule_engine *e, struct guard_group *g, const struct dom *t, uint32_t r)
{
	for (uint32_t i = 0; i < t->exact.n; i++)
		guard_put(e, &g->exact, NULL, &VEC_AT(t->exact, struct rstr, i), r);
	for (uint32_t i = 0; i < t->prefix.n; i++)
		guard_put(e, &g->prefix, &g->pfx, &VEC_AT(t->prefix, struct rstr, i), r);
}

static int guard_pfx_cmp(const void *a, const void *b)
{
	return rstr_cmp(&((const struct guard_pfx *)a)->p, &((const struct guard_pfx *)b)->p);
}

/* g's prefixes as an indexed set for prefixes_each(), each with its rules. */
static void guard_prefixes(struct rule_engine *e, struct guard_group *g)
{
	struct guard_pfx *v = g->pfx.v;
	uint32_t n = g->pfx.n;

	if (n > 1)
		qsort(v, n, sizeof(*v), guard_pfx_cmp);
	g->pfx_set.v = ar_alloc(&e->ar, sizeof(struct rstr) * (n ? n : 1));
	g->pfx_rules = ar_alloc(&e->ar, sizeof(struct vec *) * (n ? n : 1));
	for (uint32_t i = 0; i < n; i++) {
		g->pfx_set.v[i] = v[i].p;
		g->pfx_rules[i] = v[i].rules;
	}
	g->pfx_set.n = n;
	prefixes_index(&e->ar, &g->pfx_set);
}

/* String fields of one value that some rule compares with a constant: the candidates. */
static void guard_slots(const struct rule_engine *e, const struct rnode *n, uint8_t *used)
{
	if (n->kind == RN_CMP && n->op != CMP_EXISTS) {
		const struct slot *s = VEC_AT(e->slots, struct slot *, n->slot);

		if (s->type == RULE_FT_STRING && !s->ref.multi && !s->evtype)
			used[n->slot] = 1;
	}
	for (uint32_t i = 0; i < n->n; i++)
		guard_slots(e, n->kids[i], used);
}

/*
 * Per code, greedily: the field the most unguarded rules can be guarded on becomes a
 * group, until GUARD_GROUPS_MAX groups or no field guards a rule.
 */
static void guards_code(struct rule_engine *e, uint32_t code, uint8_t *used, uint32_t *count)
{
	const uint32_t *list = e->idx_rules + e->idx_off[code];
	uint32_t n = e->idx_off[code + 1] - e->idx_off[code], ns = e->slots.n;
	uint8_t *guarded = e->idx_guarded + e->idx_off[code];
	struct code_guards *cg = &e->guards[code];
	struct pfctx c = {
	    .e = e, .code = code, .slot2 = UINT32_MAX, .leaf_of = UINT32_MAX, .dir_of = UINT32_MAX};

	for (uint32_t k = 0; k < RULE_PF_ASSUME_MAX; k++)
		c.known[k] = UINT32_MAX;
	memset(used, 0, ns);
	for (uint32_t i = 0; i < n; i++)
		guard_slots(e, e->crules[list[i]].rt, used);
	while (cg->n_groups < GUARD_GROUPS_MAX) {
		uint32_t best = UINT32_MAX, best_n = 0;
		struct guard_group *g = &cg->groups[cg->n_groups];

		memset(count, 0, ns * sizeof(uint32_t));
		for (uint32_t s = 0; s < ns; s++) {
			for (uint32_t i = 0; used[s] && i < n; i++) {
				struct dom t;

				if (!guarded[i] && rule_guard(&c, &e->crules[list[i]], s, &t))
					count[s]++;
				ar_release(&c.ar);
			}
			if (count[s] > best_n) {
				best = s;
				best_n = count[s];
			}
		}
		if (best == UINT32_MAX)
			break;
		*g = (struct guard_group){.slot = best};
		for (uint32_t i = 0; i < n; i++) {
			struct dom t;

			if (!guarded[i] && rule_guard(&c, &e->crules[list[i]], best, &t)) {
				guard_add(e, g, &t, list[i]);
				guarded[i] = 1;
			}
			ar_release(&c.ar);
		}
		guard_prefixes(e, g);
		used[best] = 0;
		cg->n_groups++;
	}
}

void guards_build(struct rule_engine *e)
{
	uint32_t total = e->idx_off[e->n_codes], ns = e->slots.n;
	uint8_t *used = x_realloc(NULL, ns ? ns : 1);
	uint32_t *count = x_realloc(NULL, (ns ? ns : 1) * sizeof(uint32_t));

	e->guards = ar_alloc(&e->ar, sizeof(*e->guards) * (e->n_codes ? e->n_codes : 1));
	e->idx_guarded = ar_alloc(&e->ar, total ? total : 1);
	e->mark = ar_alloc(&e->ar, sizeof(uint64_t) * (e->n_crules ? e->n_crules : 1));
	for (uint32_t code = 0; code < e->n_codes && !e->opts.no_guards; code++)
		if (e->idx_off[code + 1] > e->idx_off[code])
			guards_code(e, code, used, count);
	free(used);
	free(count);
}

static void mark_list(struct rule_engine *e, const struct vec *rules)
{
	for (uint32_t i = 0; rules && i < rules->n; i++)
		e->mark[VEC_AT(*rules, uint32_t, i)] = e->gen;
}

struct mark_arg {
	struct rule_engine *e;
	const struct guard_group *g;
};

static void mark_prefix(void *arg, uint32_t i)
{
	struct mark_arg *m = arg;

	mark_list(m->e, m->g->pfx_rules[i]);
}

void guards_mark(struct rule_engine *e, uint32_t code, void *event)
{
	const struct code_guards *cg = &e->guards[code];

	for (uint32_t k = 0; k < cg->n_groups; k++) {
		const struct guard_group *g = &cg->groups[k];
		struct slot *s = VEC_AT(e->slots, struct slot *, g->slot);
		int n = slot_fetch(e, s, event);

		for (int i = 0; i < n; i++) {
			const char *p = s->vals[i].str.ptr;
			size_t len = s->vals[i].str.len;

			if (g->exact.n)
				mark_list(e, strmap_get(&g->exact, p, len));
			if (g->pfx_set.n)
				prefixes_each(&g->pfx_set, p, len, mark_prefix,
					      &(struct mark_arg){.e = e, .g = g});
		}
	}
}
