/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * eval.c - the hot path. One switch loop runs a rule's op array with a single
 * boolean accumulator; `and`/`or` are conditional jumps, so evaluation stops as
 * soon as the outcome is known. Field values come from the host getter at most
 * once per event per distinct field (a generation-stamped cache in each slot).
 * Nothing here allocates.
 */
#include <errno.h>
#include <string.h>

#include "rules/rules_int.h"

int slot_fetch_slow(struct rule_engine *e, struct slot *s, void *event)
{
	int n;

	s->gen = e->gen;
	if (s->evtype) {
		const char *name = e->cur_code < e->n_codes ? e->code_names[e->cur_code] : NULL;

		s->n = name ? 1 : 0;
		if (name) {
			s->vals[0].str.ptr = name;
			s->vals[0].str.len = e->code_name_lens[e->cur_code];
		}
		return s->n;
	}
	n = e->opts.get(event, &s->ref, s->vals, s->ref.multi ? RULE_MAX_VALUES : 1);
	if (n < 0)
		n = 0;
	if (n > (s->ref.multi ? RULE_MAX_VALUES : 1))
		n = s->ref.multi ? RULE_MAX_VALUES : 1;
	s->n = n;
	return n;
}

static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	if (c)
		return c;
	return an < bn ? -1 : an > bn;
}

static bool ci_contains(const char *h, size_t hn, const char *lower_needle, size_t nn)
{
	if (!nn)
		return true;
	for (size_t i = 0; i + nn <= hn; i++) {
		size_t j = 0;

		while (j < nn) {
			unsigned char c = (unsigned char)h[i + j];

			if (c >= 'A' && c <= 'Z')
				c += 32;
			if (c != (unsigned char)lower_needle[j])
				break;
			j++;
		}
		if (j == nn)
			return true;
	}
	return false;
}

static bool order_ok(enum cmp_op op, int c)
{
	switch (op) {
	case CMP_EQ:
		return c == 0;
	case CMP_NE:
		return c != 0;
	case CMP_LT:
		return c < 0;
	case CMP_LE:
		return c <= 0;
	case CMP_GT:
		return c > 0;
	case CMP_GE:
		return c >= 0;
	default:
		return false;
	}
}

static bool str_cmp(const struct rconst *k, enum cmp_op op, const char *p, size_t n)
{
	switch (op) {
	case CMP_EQ:
	case CMP_NE:
	case CMP_LT:
	case CMP_LE:
	case CMP_GT:
	case CMP_GE:
		return order_ok(op, bytes_cmp(p, n, k->s.p, k->s.n));
	case CMP_CONTAINS:
	case CMP_BCONTAINS:
		return memmem(p, n, k->s.p, k->s.n) != NULL || !k->s.n;
	case CMP_ICONTAINS:
		return ci_contains(p, n, k->s.p, k->s.n);
	case CMP_STARTSWITH:
	case CMP_BSTARTSWITH:
		if (k->kind == K_PREFIXES)
			return prefixes_match(k->pfx, p, n);
		return n >= k->s.n && !memcmp(p, k->s.p, k->s.n);
	case CMP_ENDSWITH:
		return n >= k->s.n && !memcmp(p + n - k->s.n, k->s.p, k->s.n);
	case CMP_GLOB:
	case CMP_IGLOB:
		return glob_match(k->s.p, k->s.n, p, n, op == CMP_IGLOB);
	case CMP_REGEX:
		return pcre2_match(k->re.code, (PCRE2_SPTR)p, n, 0, 0, k->re.md, NULL) >= 0;
	case CMP_IN:
	case CMP_INTERSECTS:
		return strset_has(k->set, p, n);
	case CMP_PMATCH:
		return pmatch_match(k->pm, p, n);
	default:
		return false;
	}
}

static bool num_in(const struct rconst *k, uint64_t v, bool is_signed)
{
	uint32_t lo = 0, hi = k->nums.n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		uint64_t m = k->nums.v[mid];
		bool less = is_signed ? (int64_t)m < (int64_t)v : m < v;

		if (m == v)
			return true;
		if (less)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static bool one_cmp(const struct slot *s, const struct rconst *k, enum cmp_op op,
		    const struct rule_value *v)
{
	switch (s->type) {
	case RULE_FT_STRING:
		return str_cmp(k, op, v->str.ptr, v->str.len);
	case RULE_FT_INT64:
		if (k->kind == K_NUMSET)
			return num_in(k, (uint64_t)v->i64, true);
		return order_ok(op, v->i64 < k->i64 ? -1 : v->i64 > k->i64);
	case RULE_FT_UINT64:
		if (k->kind == K_NUMSET)
			return num_in(k, v->u64, false);
		return order_ok(op, v->u64 < k->u64 ? -1 : v->u64 > k->u64);
	case RULE_FT_BOOL:
		if (k->kind == K_BOOLSET)
			return (k->bools >> (v->b ? 1 : 0)) & 1;
		return order_ok(op, v->b != k->b);
	case RULE_FT_IPADDR:
	case RULE_FT_IPNET:
		if (k->kind == K_NETSET) {
			for (uint32_t i = 0; i < k->nets.n; i++) {
				if (net_contains(&k->nets.v[i], &v->ip))
					return true;
			}
			return false;
		}
		return order_ok(op, !net_contains(&k->net, &v->ip));
	}
	return false;
}

/* Field against field (val()): numbers compare as numbers, strings bytewise. */
static bool field_cmp(const struct slot *l, const struct rule_value *a, const struct slot *r,
		      const struct rule_value *b, enum cmp_op op)
{
	if (l->type == RULE_FT_STRING) {
		struct rconst k = {.kind = K_STR, .s = {b->str.ptr, b->str.len}};

		if (op == CMP_ICONTAINS) {
			char low[256];
			size_t n = b->str.len < sizeof(low) ? b->str.len : sizeof(low);

			for (size_t i = 0; i < n; i++) {
				unsigned char c = (unsigned char)b->str.ptr[i];

				low[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
			}
			return ci_contains(a->str.ptr, a->str.len, low, n);
		}
		return str_cmp(&k, op, a->str.ptr, a->str.len);
	}
	if (l->type == RULE_FT_INT64 || l->type == RULE_FT_UINT64) {
		bool ls = l->type == RULE_FT_INT64, rs = r->type == RULE_FT_INT64;
		int c;

		if (ls && a->i64 < 0 && !(rs && b->i64 < 0))
			c = -1;
		else if (rs && b->i64 < 0 && !(ls && a->i64 < 0))
			c = 1;
		else if (ls && rs)
			c = a->i64 < b->i64 ? -1 : a->i64 > b->i64;
		else
			c = a->u64 < b->u64 ? -1 : a->u64 > b->u64;
		return order_ok(op, c);
	}
	if (l->type == RULE_FT_BOOL)
		return order_ok(op, a->b != b->b);
	return order_ok(op, a->ip.family != b->ip.family ||
				memcmp(a->ip.addr, b->ip.addr, a->ip.family == 4 ? 4 : 16));
}

static inline bool rule_run(struct rule_engine *e, const struct crule *r, void *event)
{
	const struct op *base = r->ops, *op = base;
	struct slot **slots = e->slots.v;
	const struct rconst *consts = e->consts.v;
	bool acc = false;

	for (;;) {
		switch ((enum opcode)op->code) {
		case OPC_END:
			return acc;
		case OPC_CMP: {
			struct memo_cell *m = &e->memo[op->memo];
			struct slot *s;
			const struct rconst *k;
			int n;

			/* another rule asked this event the same question: its answer */
			if (op->memo && m->gen == e->gen) {
				acc = m->val;
				op++;
				break;
			}
			s = slots[op->a];
			k = &consts[op->b];
			n = slot_fetch(e, s, event);
			acc = false;
			for (int i = 0; i < n && !acc; i++)
				acc = one_cmp(s, k, (enum cmp_op)op->cmp, &s->vals[i]);
			m->gen = e->gen;
			m->val = acc;
			op++;
			break;
		}
		case OPC_CMPF: {
			struct slot *l = slots[op->a], *rs = slots[op->b];
			int n = slot_fetch(e, l, event);
			int m = n ? slot_fetch(e, rs, event) : 0;

			acc = false;
			for (int i = 0; i < n && m && !acc; i++)
				acc = field_cmp(l, &l->vals[i], rs, &rs->vals[0],
						(enum cmp_op)op->cmp);
			op++;
			break;
		}
		case OPC_EXISTS:
			acc = slot_fetch(e, slots[op->a], event) > 0;
			op++;
			break;
		case OPC_EVT: {
			const uint64_t *bits = consts[op->b].ev;
			uint32_t c = e->cur_code;

			acc = c < e->n_codes && ((bits[c / 64] >> (c % 64)) & 1);
			op++;
			break;
		}
		case OPC_NOT:
			acc = !acc;
			op++;
			break;
		case OPC_JF:
			op = acc ? op + 1 : base + op->a;
			break;
		case OPC_JT:
			op = acc ? base + op->a : op + 1;
			break;
		case OPC_TRUE:
			acc = true;
			op++;
			break;
		case OPC_FALSE:
			acc = false;
			op++;
			break;
		}
	}
}

int rule_engine__eval(struct rule_engine *e, uint32_t evtype, void *event, rule_match_fn on_match,
		      void *arg)
{
	const uint8_t *guarded = NULL;
	const uint32_t *list;
	uint32_t n;
	int matches = 0;

	if (!e->compiled)
		return -EINVAL;
	list = rules_for(e, evtype, &n);
	e->gen++;
	e->cur_code = evtype;
	e->in_eval = true;
	if (evtype < e->n_codes) {
		guarded = e->idx_guarded + e->idx_off[evtype];
		if (e->guards[evtype].n_groups)
			guards_mark(e, evtype, event);
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct crule *r = &e->crules[list[i]];

		/* a guarded rule its field's value ruled out cannot match: not run */
		if (guarded && guarded[i] && e->mark[list[i]] != e->gen)
			continue;
		if (rule_run(e, r, event)) {
			matches++;
			if (on_match)
				on_match(arg, list[i], &r->info);
		}
	}
	e->in_eval = false;
	return matches;
}

bool rule_engine__step_match(struct rule_engine *e, size_t rule_idx, size_t step, void *event)
{
	const struct crule *r;

	if (!e->in_eval || rule_idx >= e->n_crules)
		return false;
	r = &e->crules[rule_idx];
	if (!r->step_ops || !r->state || step >= r->state->n_steps)
		return false;
	return rule_run(e, &(struct crule){.ops = r->step_ops[step]}, event);
}
