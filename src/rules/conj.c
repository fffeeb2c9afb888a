/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * conj.c - a rule's resolved condition as an `and` of single-field tests, when it
 * is one: what a kernel can decide alone with one lookup per field. evt.type tests
 * narrow the event set; `not` is pushed inwards (De Morgan over `or`, so an
 * exception list `not (a or b)` is two negated tests); an `or` of tests on one
 * field is one test whose sets are united. Anything else (an `or` across fields,
 * contains, regex, comparisons of two fields, multi-valued fields) is not a
 * conjunction, and why says so in words a rule author recognises.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules_int.h"

struct cset {
	uint32_t slot;	  /* field slot */
	struct vec exact; /* struct rule_pf_str */
	struct vec prefix;
	struct vec num; /* uint64_t */
	struct vec net; /* struct rule_net */
	uint8_t bools;
};

struct conj_priv {
	struct rule_conj pub; /* first member */
	struct arena ar;      /* everything it points to */
};

struct cctx {
	struct rule_engine *e;
	struct arena *ar;
	struct vec atoms; /* struct rule_atom */
	uint64_t *ev;	  /* allowed event codes; NULL: all */
	const char *why;  /* first reason it is not a conjunction */
};

static struct slot *slot_of(struct cctx *c, uint32_t i)
{
	return ((struct slot **)c->e->slots.v)[i];
}

static bool fail(struct cctx *c, const char *why)
{
	if (!c->why)
		c->why = why;
	return false;
}

static void push_pf(struct cctx *c, struct vec *v, const char *p, size_t n)
{
	struct rule_pf_str *s = vec_push(c->ar, v, sizeof(*s));

	s->ptr = ar_strndup(c->ar, p, n);
	s->len = n;
}

static void push_net(struct cctx *c, struct vec *v, const struct rnet *n)
{
	struct rule_net *o = vec_push(c->ar, v, sizeof(*o));

	o->family = n->family;
	o->bits = n->bits;
	memcpy(o->addr, n->addr, sizeof(o->addr));
}

/* The constant of a test as sets; op is EQ for `!=` (the caller negates). */
static bool cmp_set(struct cctx *c, const struct rnode *n, enum cmp_op op, struct cset *out)
{
	struct slot *s = slot_of(c, n->slot);
	const struct rconst *k;
	const char *name = s->ref.text;

	if (n->kind != RN_CMP)
		return fail(c, ar_printf(c->ar, "%s is compared with another field", name));
	if (s->ref.index >= 0 || s->ref.multi)
		return fail(c, ar_printf(c->ar, "%s has several values or an index", name));
	if (op == CMP_EXISTS)
		return fail(c, ar_printf(c->ar, "'exists' on %s", name));
	k = const_at(c->e, n->arg);
	out->slot = n->slot;
	switch (op) {
	case CMP_EQ:
	case CMP_IN:
		switch (k->kind) {
		case K_STR:
			push_pf(c, &out->exact, k->s.p, k->s.n);
			return true;
		case K_I64:
			*(uint64_t *)vec_push(c->ar, &out->num, 8) = (uint64_t)k->i64;
			return true;
		case K_U64:
			*(uint64_t *)vec_push(c->ar, &out->num, 8) = k->u64;
			return true;
		case K_BOOL:
			out->bools |= k->b ? 2 : 1;
			return true;
		case K_NET:
			push_net(c, &out->net, &k->net);
			return true;
		case K_STRSET:
			for (uint32_t i = 0; i < k->set->cap; i++)
				if (k->set->slots[i].p)
					push_pf(c, &out->exact, k->set->slots[i].p,
						k->set->slots[i].n);
			return true;
		case K_NUMSET:
			for (uint32_t i = 0; i < k->nums.n; i++)
				*(uint64_t *)vec_push(c->ar, &out->num, 8) = k->nums.v[i];
			return true;
		case K_NETSET:
			for (uint32_t i = 0; i < k->nets.n; i++)
				push_net(c, &out->net, &k->nets.v[i]);
			return true;
		case K_BOOLSET:
			out->bools |= k->bools;
			return true;
		default:
			break;
		}
		break;
	case CMP_STARTSWITH:
		if (k->kind == K_STR) {
			push_pf(c, &out->prefix, k->s.p, k->s.n);
			return true;
		}
		if (k->kind == K_PREFIXES) {
			for (uint32_t i = 0; i < k->pfx->n; i++)
				push_pf(c, &out->prefix, k->pfx->v[i].p, k->pfx->v[i].n);
			return true;
		}
		break;
	case CMP_PMATCH:
		if (k->pm->n_globs)
			return fail(c, ar_printf(c->ar, "'pmatch' with wildcards on %s", name));
		/* a literal matches itself and what lies under it */
		for (uint32_t i = 0; i < k->pm->exact.cap; i++) {
			const struct rstr *x = &k->pm->exact.slots[i];
			char *under;

			if (!x->p)
				continue;
			push_pf(c, &out->exact, x->p, x->n);
			under = ar_printf(c->ar, "%.*s/", (int)x->n, x->p);
			push_pf(c, &out->prefix, under, x->n + 1);
		}
		return true;
	case CMP_GLOB: {
		bool meta;
		size_t l = glob_literal_prefix(k->s.p, k->s.n, &meta);

		if (!meta) {
			push_pf(c, &out->exact, k->s.p, l);
			return true;
		}
		break;
	}
	default:
		break;
	}
	return fail(c, ar_printf(c->ar, "'%s' on %s", cmp_op_name(op), name));
}

/* A positive set on one field: a test, or an `or` of tests on the same field. */
static bool node_set(struct cctx *c, const struct rnode *n, struct cset *out, bool *have)
{
	if (n->kind == RN_OR) {
		for (uint32_t i = 0; i < n->n; i++)
			if (!node_set(c, n->kids[i], out, have))
				return false;
		return true;
	}
	if (n->kind != RN_CMP && n->kind != RN_CMPF)
		return fail(c, "'or' of more than single-field tests");
	if (n->op == CMP_NE)
		return fail(c, ar_printf(c->ar, "'!=' inside an 'or' on %s",
					 slot_of(c, n->slot)->ref.text));
	if (*have && out->slot != n->slot)
		return fail(c, ar_printf(c->ar, "'or' across fields %s and %s",
					 slot_of(c, out->slot)->ref.text,
					 slot_of(c, n->slot)->ref.text));
	*have = true;
	return cmp_set(c, n, n->op, out);
}

static void add_atom(struct cctx *c, const struct cset *s, bool negated, bool absent_ok)
{
	struct rule_atom *a = vec_push(c->ar, &c->atoms, sizeof(*a));

	a->ref = &slot_of(c, s->slot)->ref;
	a->negated = negated;
	a->absent_ok = absent_ok;
	a->n_exact = s->exact.n;
	a->exact = s->exact.v;
	a->n_prefix = s->prefix.n;
	a->prefix = s->prefix.v;
	a->n_num = s->num.n;
	a->num = s->num.v;
	a->n_net = s->net.n;
	a->net = s->net.v;
	a->bools = s->bools;
}

/* Narrows the event set by an evt.type test (or, negated, by its complement). */
static void narrow_ev(struct cctx *c, const uint64_t *b, bool negated)
{
	uint32_t w = c->e->ev_words;

	if (!c->ev) {
		c->ev = ar_alloc(c->ar, w * 8);
		memset(c->ev, 0xff, w * 8);
	}
	for (uint32_t i = 0; i < w; i++)
		c->ev[i] &= negated ? ~b[i] : b[i];
}

static bool all_evt(const struct rnode *n)
{
	for (uint32_t i = 0; i < n->n; i++)
		if (n->kids[i]->kind != RN_EVT)
			return false;
	return true;
}

static bool conj_walk(struct cctx *c, const struct rnode *n, bool neg)
{
	struct cset s = {0};
	bool have = false;

	switch (n->kind) {
	case RN_TRUE:
		return neg ? fail(c, "the condition is never true") : true;
	case RN_FALSE:
		return neg ? true : fail(c, "the condition is never true");
	case RN_NOT:
		return conj_walk(c, n->kids[0], !neg);
	case RN_EVT:
		narrow_ev(c, const_at(c->e, n->arg)->ev, neg);
		return true;
	case RN_AND:
		if (neg && n->n != 1)
			return fail(c, "'not' of several tests");
		for (uint32_t i = 0; i < n->n; i++)
			if (!conj_walk(c, n->kids[i], neg))
				return false;
		return true;
	case RN_OR:
		if (neg) { /* not (a or b): not a and not b */
			for (uint32_t i = 0; i < n->n; i++)
				if (!conj_walk(c, n->kids[i], true))
					return false;
			return true;
		}
		if (all_evt(n)) {
			uint64_t *u = ar_alloc(c->ar, c->e->ev_words * 8);

			for (uint32_t i = 0; i < n->n; i++)
				for (uint32_t w = 0; w < c->e->ev_words; w++)
					u[w] |= const_at(c->e, n->kids[i]->arg)->ev[w];
			narrow_ev(c, u, false);
			return true;
		}
		if (!node_set(c, n, &s, &have))
			return false;
		add_atom(c, &s, false, false);
		return true;
	case RN_CMP:
	case RN_CMPF:
		if (n->op == CMP_NE) {
			/* f != x: present and not x; not (f != x): x or absent */
			if (!cmp_set(c, n, CMP_EQ, &s))
				return false;
			add_atom(c, &s, !neg, neg);
			return true;
		}
		if (!cmp_set(c, n, n->op, &s))
			return false;
		add_atom(c, &s, neg, neg);
		return true;
	}
	return fail(c, "an unknown node");
}

struct rule_conj *rule_engine__conjunction(const struct rule_engine *ce, size_t rule_idx)
{
	struct rule_engine *e = (struct rule_engine *)ce;
	struct conj_priv *p;
	struct cctx c = {.e = e};
	const struct crule *cr;

	if (!e->compiled) {
		errno = EINVAL;
		return NULL;
	}
	if (rule_idx >= e->n_crules) {
		errno = ENOENT;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	c.ar = &p->ar;
	cr = &e->crules[rule_idx];
	if (!cr->rt)
		c.why = "the rule did not compile";
	else if (cr->state && cr->state->kind != RULE_STATE_AGGREGATE)
		c.why = "a threshold or sequence fires on state kept in user space";
	else if (!conj_walk(&c, cr->rt, false))
		c.atoms.n = 0;
	p->pub.why = c.why;
	if (!c.why) {
		p->pub.atoms = c.atoms.v;
		p->pub.n_atoms = c.atoms.n;
		p->pub.all_evtypes = !c.ev;
		if (c.ev) {
			uint32_t *v = ar_alloc(c.ar, sizeof(*v) * (e->n_codes ? e->n_codes : 1));
			size_t n = 0;

			for (uint32_t code = 0; code < e->n_codes; code++)
				if ((c.ev[code / 64] >> (code % 64)) & 1)
					v[n++] = code;
			p->pub.evtypes = v;
			p->pub.n_evtypes = n;
		}
	}
	return &p->pub;
}

void rule_conj__free(struct rule_conj *c)
{
	struct conj_priv *p = (struct conj_priv *)c;

	if (!p)
		return;
	ar_release(&p->ar);
	free(p);
}
