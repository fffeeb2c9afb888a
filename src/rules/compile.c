/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * compile.c - from loaded definitions to runnable rules. For each rule: parse the
 * condition, build the exceptions, inline macros (recursion is an error), expand
 * lists, resolve every field against the host registry, type-check and prepare
 * constants (hash sets, prefix arrays, compiled regexes) into a resolved tree;
 * simplify it (flatten, fold, merge `=`/`startswith` chains on one field into one
 * set lookup); derive the event types it can match; and emit the op array. A
 * rule's `actions:` are typed by respond/ (respond/action.h); one this version does
 * not carry out is an error, never silently ignored. Last, index active rules by
 * event code.
 *
 * A comparison node inside a macro is resolved once and shared by every rule that
 * uses the macro, errors included, so each problem is reported once.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "respond/action.h"
#include "rules/rules_int.h"

static const struct rule_field_def evtype_def = {
    .name = "evt.type",
    .type = RULE_FT_STRING,
    .arg = RULE_FARG_NONE,
    .id = UINT32_MAX,
};

struct rctx {
	struct rule_engine *e;	 /* engine */
	struct rule_def *def;	 /* rule being compiled */
	bool lenient;		 /* unknown fields disable the rule instead of failing */
	bool failed;		 /* the rule cannot run */
	const char *unknown;	 /* first unknown field, when lenient */
	struct rpos unknown_pos; /* where */
};

static uint32_t const_add(struct rule_engine *e, const struct rconst *k)
{
	*(struct rconst *)vec_push(&e->ar, &e->consts, sizeof(*k)) = *k;
	return e->consts.n - 1;
}

static struct rnode *rn_new(struct rule_engine *e, enum rnode_kind kind)
{
	struct rnode *n = ar_alloc(&e->ar, sizeof(*n));

	n->kind = kind;
	return n;
}

static const char *type_name(enum rule_ftype t)
{
	switch (t) {
	case RULE_FT_STRING:
		return "string";
	case RULE_FT_INT64:
		return "int64";
	case RULE_FT_UINT64:
		return "uint64";
	case RULE_FT_BOOL:
		return "bool";
	case RULE_FT_IPADDR:
		return "ipaddr";
	case RULE_FT_IPNET:
		return "ipnet";
	}
	return "?";
}

/* ---- fields ---- */

static bool is_word_str(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	}
	return true;
}

static struct slot *slot_new(struct rule_engine *e, const char *key,
			     const struct rule_field_def *def)
{
	struct slot *s = ar_alloc(&e->ar, sizeof(*s));

	s->ref.def = def;
	s->ref.id = def->id;
	s->ref.index = -1;
	s->type = def->type;
	s->ref.slot = e->slots.n;
	*(struct slot **)vec_push(&e->ar, &e->slots, sizeof(s)) = s;
	strmap_put(&e->ar, &e->slot_map, key, strlen(key), s);
	return s;
}

struct slot *slot_resolve(struct rule_engine *e, const char *name, const char *arg, bool *unknown,
			  const char **err)
{
	const struct rule_field_def *def;
	const char *key = NULL;
	long idx = -1;
	char *canon;
	struct slot *s;

	*unknown = false;
	if (!strcmp(name, "evt.type") && !arg) {
		s = strmap_get(&e->slot_map, "evt.type", 8);
		if (!s) {
			s = slot_new(e, "evt.type", &evtype_def);
			s->evtype = true;
			s->ref.text = "evt.type";
		}
		return s;
	}
	def = strmap_get(&e->fieldmap, name, strlen(name));
	if (!def) {
		/* evt.arg.flags: the longest registered prefix taking a key */
		for (const char *p = strrchr(name, '.'); p && p > name;) {
			const struct rule_field_def *d =
			    strmap_get(&e->fieldmap, name, (size_t)(p - name));

			if (d && d->arg == RULE_FARG_KEY) {
				def = d;
				key = p + 1;
				break;
			}
			do
				p--;
			while (p > name && *p != '.');
			if (p == name)
				break;
		}
	}
	if (!def) {
		*unknown = true;
		*err = ar_printf(&e->ar, "unknown field '%s'", name);
		return NULL;
	}
	if (arg) {
		if (def->arg == RULE_FARG_NONE || key) {
			*err = ar_printf(&e->ar, "field '%s' takes no argument", name);
			return NULL;
		}
		if (def->arg == RULE_FARG_INDEX) {
			char *end;

			idx = strtol(arg, &end, 10);
			if (*end || end == arg || idx < 0 || idx > 1000000) {
				*err = ar_printf(
				    &e->ar, "field '%s' takes a non-negative number, as in %s[2]",
				    def->name, def->name);
				return NULL;
			}
		} else {
			key = arg;
		}
	}
	if ((def->flags & RULE_FF_ARG_REQUIRED) && idx < 0 && !key) {
		*err = ar_printf(&e->ar, "field '%s' needs an argument, as in %s%s", def->name,
				 def->name, def->arg == RULE_FARG_INDEX ? "[1]" : ".name");
		return NULL;
	}
	if (idx >= 0)
		canon = ar_printf(&e->ar, "%s[%ld]", def->name, idx);
	else if (key && is_word_str(key))
		canon = ar_printf(&e->ar, "%s.%s", def->name, key);
	else if (key)
		canon = ar_printf(&e->ar, "%s[%s]", def->name, key);
	else
		canon = ar_strdup(&e->ar, def->name);

	s = strmap_get(&e->slot_map, canon, strlen(canon));
	if (s)
		return s;
	s = slot_new(e, canon, def);
	s->ref.text = canon;
	s->ref.index = (int32_t)idx;
	s->ref.key = key ? ar_strdup(&e->ar, key) : NULL;
	s->ref.multi = (def->flags & RULE_FF_MULTI) && idx < 0 && !key;
	if (e->opts.bind) {
		char buf[256] = "";

		if (e->opts.bind(e->opts.host, &s->ref, buf, sizeof(buf)) < 0) {
			*err = ar_printf(&e->ar, "field '%s': %s", canon,
					 buf[0] ? buf : "rejected by the host");
			/* keep the slot: the same spelling must fail the same way next time */
			s->type = 0;
			return NULL;
		}
	}
	return s;
}

/* ---- values ---- */

static int parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	if (*s == '-' || *s == '+')
		v = strtoll(s, &end, (s[1] == '0' && (s[2] == 'x' || s[2] == 'X')) ? 16 : 10);
	else
		v = strtoll(s, &end, (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? 16 : 10);
	if (errno || end == s || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? 16 : 10);
	if (errno || end == s || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_net(const char *s, struct rnet *out)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	long bits = -1;

	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1)
		out->family = 4;
	else if (inet_pton(AF_INET6, buf, out->addr) == 1)
		out->family = 6;
	else
		return -EINVAL;
	if (slash) {
		char *end;

		bits = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || bits < 0 || bits > (out->family == 4 ? 32 : 128))
			return -EINVAL;
	}
	out->bits = (uint8_t)(bits >= 0 ? bits : out->family == 4 ? 32 : 128);
	return 0;
}

static int hexnib(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void verr(struct rctx *c, const struct rpos *pos, struct ast *node, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void verr(struct rctx *c, const struct rpos *pos, struct ast *node, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = ar_vprintf(&c->e->ar, fmt, ap);
	va_end(ap);
	rdiag(c->e, RULE_DIAG_ERROR, pos, "%s (rule '%s')", msg, c->def->name);
	c->failed = true;
	if (node)
		node->cmp.state = -1;
}

/* One scalar constant of the slot's type. */
static int conv_scalar(struct rctx *c, struct ast *node, const struct slot *s, enum cmp_op op,
		       const struct ast_val *v, struct rconst *k)
{
	memset(k, 0, sizeof(*k));
	k->text = v->text;
	switch (s->type) {
	case RULE_FT_STRING:
		k->kind = K_STR;
		if (op == CMP_BCONTAINS || op == CMP_BSTARTSWITH) {
			char *b = ar_alloc(&c->e->ar, v->len / 2 + 1);

			if (v->len % 2) {
				verr(c, &v->pos, node,
				     "'%s' takes an even number of hex digits, got '%s'",
				     cmp_op_name(op), v->text);
				return -EINVAL;
			}
			for (size_t i = 0; i < v->len; i += 2) {
				int hi = hexnib(v->text[i]), lo = hexnib(v->text[i + 1]);

				if (hi < 0 || lo < 0) {
					verr(c, &v->pos, node, "'%s' takes hex digits, got '%s'",
					     cmp_op_name(op), v->text);
					return -EINVAL;
				}
				b[i / 2] = (char)(hi * 16 + lo);
			}
			k->s.p = b;
			k->s.n = v->len / 2;
			return 0;
		}
		if (op == CMP_ICONTAINS) {
			char *l = ar_strndup(&c->e->ar, v->text, v->len);

			for (size_t i = 0; i < v->len; i++)
				l[i] = (char)tolower((unsigned char)l[i]);
			k->s.p = l;
		} else {
			k->s.p = v->text;
		}
		k->s.n = v->len;
		return 0;
	case RULE_FT_INT64:
		k->kind = K_I64;
		if (!parse_i64(v->text, &k->i64))
			return 0;
		break;
	case RULE_FT_UINT64:
		k->kind = K_U64;
		if (!parse_u64(v->text, &k->u64))
			return 0;
		break;
	case RULE_FT_BOOL:
		k->kind = K_BOOL;
		if (!strcasecmp(v->text, "true")) {
			k->b = true;
			return 0;
		}
		if (!strcasecmp(v->text, "false")) {
			k->b = false;
			return 0;
		}
		break;
	case RULE_FT_IPADDR:
	case RULE_FT_IPNET:
		k->kind = K_NET;
		if (!parse_net(v->text, &k->net))
			return 0;
		break;
	}
	verr(c, &v->pos, node, "invalid value '%s' for field '%s' (%s): expected %s", v->text,
	     s->ref.text, type_name(s->type),
	     s->type == RULE_FT_BOOL	 ? "true or false"
	     : s->type == RULE_FT_INT64	 ? "an integer"
	     : s->type == RULE_FT_UINT64 ? "a non-negative integer"
					 : "an IP address or CIDR network");
	return -EINVAL;
}

/* A list item as written in YAML: '"quoted"' items are condition strings. */
static int item_to_val(struct rctx *c, const struct item_str *it, struct ast_val *v)
{
	v->pos = it->pos;
	if (it->len >= 2 && (it->s[0] == '"' || it->s[0] == '\'') &&
	    it->s[it->len - 1] == it->s[0]) {
		const char *err = NULL;
		size_t err_off = 0;

		v->text = lex_unquote(&c->e->ar, it->s, it->len, &v->len, &err, &err_off);
		if (!v->text) {
			verr(c, &it->pos, NULL, "list item %s: %s", it->s, err);
			return -EINVAL;
		}
		v->quoted = true;
		return 0;
	}
	v->text = it->s;
	v->len = it->len;
	v->quoted = false;
	return 0;
}

static int expand_into(struct rctx *c, const struct ast_val *v, struct vec *out, int depth)
{
	struct list_def *l = NULL;

	if (!v->quoted)
		l = strmap_get(&c->e->list_map, v->text, v->len);
	if (!l) {
		*(struct ast_val *)vec_push(&c->e->ar, out, sizeof(*v)) = *v;
		return 0;
	}
	if (l->visiting || depth > 64) {
		verr(c, &v->pos, NULL, "list '%s' contains itself", l->name);
		return -EINVAL;
	}
	l->visiting = 1;
	for (uint32_t i = 0; i < l->items.n; i++) {
		struct ast_val iv;

		if (item_to_val(c, &VEC_AT(l->items, struct item_str, i), &iv) ||
		    expand_into(c, &iv, out, depth + 1)) {
			l->visiting = 0;
			return -EINVAL;
		}
	}
	l->visiting = 0;
	return 0;
}

static int expand_list(struct rctx *c, struct ast *node, struct vec *out)
{
	const struct ast_val *vals = node->cmp.vals;

	if (node->cmp.list_name && !strmap_get(&c->e->list_map, vals[0].text, vals[0].len)) {
		verr(c, &vals[0].pos, node, "'%s' is not a defined list", vals[0].text);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < node->cmp.n_vals; i++) {
		if (expand_into(c, &vals[i], out, 0)) {
			node->cmp.state = -1;
			return -EINVAL;
		}
	}
	return 0;
}

static bool op_ok_for(enum rule_ftype t, enum cmp_op op)
{
	switch (t) {
	case RULE_FT_STRING:
		return true;
	case RULE_FT_INT64:
	case RULE_FT_UINT64:
		return op == CMP_EQ || op == CMP_NE || op == CMP_LT || op == CMP_LE ||
		       op == CMP_GT || op == CMP_GE || op == CMP_IN || op == CMP_INTERSECTS ||
		       op == CMP_EXISTS;
	default:
		return op == CMP_EQ || op == CMP_NE || op == CMP_IN || op == CMP_INTERSECTS ||
		       op == CMP_EXISTS;
	}
}

static int build_regex(struct rctx *c, struct ast *node, const struct ast_val *v, struct rconst *k)
{
	int errcode;
	PCRE2_SIZE erroff;

	k->kind = K_REGEX;
	k->text = v->text;
	k->re.code = pcre2_compile((PCRE2_SPTR)v->text, v->len,
				   PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_DOTALL, &errcode,
				   &erroff, NULL);
	if (!k->re.code) {
		PCRE2_UCHAR msg[160];

		pcre2_get_error_message(errcode, msg, sizeof(msg));
		verr(c, &v->pos, node, "invalid regex '%s': %s at offset %zu", v->text,
		     (const char *)msg, (size_t)erroff);
		return -EINVAL;
	}
	pcre2_jit_compile(k->re.code, PCRE2_JIT_COMPLETE);
	k->re.md = pcre2_match_data_create_from_pattern(k->re.code, NULL);
	if (!k->re.md) {
		pcre2_code_free(k->re.code);
		verr(c, &v->pos, node, "out of memory compiling regex");
		return -ENOMEM;
	}
	return 0;
}

/* evt.type comparisons become event-code set tests. */
static struct rnode *resolve_evtype(struct rctx *c, struct ast *node, struct vec *vals)
{
	struct rule_engine *e = c->e;
	uint64_t *bits = ar_alloc(&e->ar, sizeof(uint64_t) * e->ev_words);
	struct rconst k = {.kind = K_EVSET, .ev = bits, .text = "evt.type"};
	struct rnode *n;

	for (uint32_t i = 0; i < vals->n; i++) {
		const struct ast_val *v = &VEC_AT(*vals, struct ast_val, i);
		void *code = strmap_get(&e->evmap, v->text, v->len);

		if (!code) {
			rdiag(
			    e, RULE_DIAG_WARNING, &v->pos,
			    "event type '%s' is not supported by this host: this comparison never "
			    "matches it",
			    v->text);
			continue;
		}
		uint32_t cd = (uint32_t)((uintptr_t)code - 1);
		bits[cd / 64] |= 1ull << (cd % 64);
	}
	n = rn_new(e, RN_EVT);
	n->arg = const_add(e, &k);
	if (node->cmp.op == CMP_NE) {
		struct rnode *neg = rn_new(e, RN_NOT);

		neg->kids = ar_alloc(&e->ar, sizeof(*neg->kids));
		neg->kids[0] = n;
		neg->n = 1;
		return neg;
	}
	return n;
}

/*
 * A comm field (proc.name, pname, aname, sname) holds at most RULE_COMM_MAX bytes, so
 * comparing it whole, or by prefix, suffix or substring, with a longer literal cannot work
 * as written: warn at the literal (a list item's own line), naming the rule and, when the
 * comparison sits in a macro, the macro. Matching is left as written, as in Falco.
 */
static void warn_long_comm(struct rctx *c, const struct slot *s, enum cmp_op op,
			   const struct vec *vals)
{
	struct rule_engine *e = c->e;
	const struct macro_def *m =
	    e->mstack.n ? VEC_AT(e->mstack, struct macro_def *, e->mstack.n - 1) : NULL;

	switch (op) {
	case CMP_EQ:
	case CMP_NE:
	case CMP_IN:
	case CMP_INTERSECTS:
	case CMP_STARTSWITH:
	case CMP_ENDSWITH:
	case CMP_CONTAINS:
	case CMP_ICONTAINS:
		break;
	default:
		return;
	}
	for (uint32_t i = 0; i < vals->n; i++) {
		const struct ast_val *v = &VEC_AT(*vals, struct ast_val, i);

		if (v->len <= RULE_COMM_MAX)
			continue;
		rdiag(e, RULE_DIAG_WARNING, &v->pos,
		      "rule '%s'%s%s%s: %s is the task comm, at most %d bytes, so comparing it "
		      "with '%.*s' (%zu bytes) cannot match as written: compare proc.exepath or "
		      "proc.exe, or the first %d bytes ('%.*s')",
		      c->def->name, m ? " (macro '" : "", m ? m->name : "", m ? "')" : "",
		      s->ref.text, RULE_COMM_MAX, (int)v->len, v->text, v->len, RULE_COMM_MAX,
		      RULE_COMM_MAX, v->text);
	}
}

/*
 * Comparisons written alike once macros and lists are expanded (same field, operator
 * and values) are one comparison: they share one constant and one memo cell, so an
 * event answers it once however many rules ask (rule_run()). The key is the slot, the
 * operator and each value with its length; NULL when memory is short (no sharing).
 */
static char *cmp_key(uint32_t slot, enum cmp_op op, const struct vec *vals, size_t *len)
{
	uint32_t head[2] = {slot, (uint32_t)op};
	size_t n = sizeof(head);
	char *key, *p;

	for (uint32_t i = 0; i < vals->n; i++)
		n += sizeof(uint32_t) + VEC_AT(*vals, struct ast_val, i).len;
	key = malloc(n);
	if (!key)
		return NULL;
	memcpy(key, head, sizeof(head));
	p = key + sizeof(head);
	for (uint32_t i = 0; i < vals->n; i++) {
		const struct ast_val *v = &VEC_AT(*vals, struct ast_val, i);
		uint32_t vl = (uint32_t)v->len;

		memcpy(p, &vl, sizeof(vl));
		memcpy(p + sizeof(vl), v->text, v->len);
		p += sizeof(vl) + v->len;
	}
	*len = n;
	return key;
}

static struct rnode *resolve_cmp_const(struct rctx *c, struct ast *node, struct slot *s,
				       enum cmp_op op, const struct vec *vals);

static struct rnode *resolve_cmp(struct rctx *c, struct ast *node)
{
	struct rule_engine *e = c->e;
	struct slot *s;
	bool unknown;
	const char *err = NULL;
	enum cmp_op op = node->cmp.op;
	struct rnode *n;

	s = slot_resolve(e, node->cmp.field.name, node->cmp.field.arg, &unknown, &err);
	if (!s) {
		if (unknown) {
			node->cmp.state = -1;
			node->cmp.unknown_field = true;
			node->cmp.bad_field = node->cmp.field.name;
			return NULL; /* reported by the caller, per rule */
		}
		verr(c, &node->cmp.field.pos, node, "%s", err);
		return NULL;
	}
	if (!s->type) {
		verr(c, &node->cmp.field.pos, node, "field '%s' was rejected by the host",
		     s->ref.text);
		return NULL;
	}
	if (!op_ok_for(s->type, op)) {
		verr(c, &node->cmp.field.pos, node,
		     "operator '%s' cannot be used with field '%s' (%s)", cmp_op_name(op),
		     s->ref.text, type_name(s->type));
		return NULL;
	}
	if (op == CMP_EXISTS) {
		if (s->evtype)
			return rn_new(e, RN_TRUE);
		n = rn_new(e, RN_CMP);
		n->op = CMP_EXISTS;
		n->slot = s->ref.slot;
		return n;
	}
	if (node->cmp.rhs) {
		struct slot *r =
		    slot_resolve(e, node->cmp.rhs->name, node->cmp.rhs->arg, &unknown, &err);
		bool num_l = s->type == RULE_FT_INT64 || s->type == RULE_FT_UINT64;
		bool num_r;

		if (!r) {
			if (unknown) {
				node->cmp.state = -1;
				node->cmp.unknown_field = true;
				node->cmp.bad_field = node->cmp.rhs->name;
				return NULL;
			}
			verr(c, &node->cmp.rhs->pos, node, "%s", err);
			return NULL;
		}
		num_r = r->type == RULE_FT_INT64 || r->type == RULE_FT_UINT64;
		if (!(s->type == r->type || (num_l && num_r)) || cmp_op_takes_list(op) ||
		    op == CMP_REGEX || op == CMP_GLOB || op == CMP_IGLOB || op == CMP_BCONTAINS ||
		    op == CMP_BSTARTSWITH ||
		    (s->type != RULE_FT_STRING && op != CMP_EQ && op != CMP_NE && !num_l)) {
			verr(c, &node->cmp.rhs->pos, node,
			     "cannot compare '%s' (%s) %s val(%s) (%s)", s->ref.text,
			     type_name(s->type), cmp_op_name(op), r->ref.text, type_name(r->type));
			return NULL;
		}
		n = rn_new(e, RN_CMPF);
		n->op = op;
		n->slot = s->ref.slot;
		n->arg = r->ref.slot;
		return n;
	}

	struct vec vals = {0};
	if (node->cmp.list) {
		if (expand_list(c, node, &vals))
			return NULL;
	} else {
		*(struct ast_val *)vec_push(&e->ar, &vals, sizeof(struct ast_val)) =
		    node->cmp.vals[0];
	}
	if (s->ref.def->flags & RULE_FF_COMM)
		warn_long_comm(c, s, op, &vals);
	if (s->evtype && (op == CMP_EQ || op == CMP_NE || op == CMP_IN || op == CMP_INTERSECTS))
		return resolve_evtype(c, node, &vals);

	size_t key_len = 0;
	char *key = cmp_key(s->ref.slot, op, &vals, &key_len);
	uintptr_t cell = key ? (uintptr_t)strmap_get(&e->cmp_map, key, key_len) : 0;

	if (cell) {
		free(key);
		n = rn_new(e, RN_CMP);
		n->op = op;
		n->slot = s->ref.slot;
		n->arg = VEC_AT(e->cmp_consts, uint32_t, cell);
		n->memo = (uint32_t)cell;
		return n;
	}
	n = resolve_cmp_const(c, node, s, op, &vals);
	if (n && key) {
		if (!e->cmp_consts.n)
			*(uint32_t *)vec_push(&e->ar, &e->cmp_consts, sizeof(uint32_t)) = 0;
		n->memo = e->cmp_consts.n;
		*(uint32_t *)vec_push(&e->ar, &e->cmp_consts, sizeof(uint32_t)) = n->arg;
		strmap_put(&e->ar, &e->cmp_map, key, key_len, (void *)(uintptr_t)n->memo);
	}
	free(key);
	return n;
}

/* The constant of a comparison with literal values, and its node (resolve_cmp()). */
static struct rnode *resolve_cmp_const(struct rctx *c, struct ast *node, struct slot *s,
				       enum cmp_op op, const struct vec *vals_in)
{
	struct rule_engine *e = c->e;
	const struct vec vals = *vals_in;
	struct rnode *n;
	struct rconst k = {0};
	if (!cmp_op_takes_list(op)) {
		if (op == CMP_REGEX) {
			if (build_regex(c, node, &VEC_AT(vals, struct ast_val, 0), &k))
				return NULL;
			uint32_t ki = const_add(e, &k);
			*(struct rconst **)vec_push(&e->ar, &e->regexes, sizeof(void *)) =
			    (struct rconst *)(uintptr_t)ki;
			n = rn_new(e, RN_CMP);
			n->op = op;
			n->slot = s->ref.slot;
			n->arg = ki;
			return n;
		}
		if (conv_scalar(c, node, s, op, &VEC_AT(vals, struct ast_val, 0), &k))
			return NULL;
	} else if (s->type == RULE_FT_STRING) {
		struct rstr *v = ar_alloc(&e->ar, sizeof(*v) * (vals.n ? vals.n : 1));

		for (uint32_t i = 0; i < vals.n; i++) {
			v[i].p = VEC_AT(vals, struct ast_val, i).text;
			v[i].n = VEC_AT(vals, struct ast_val, i).len;
		}
		if (op == CMP_PMATCH) {
			k.kind = K_PMATCH;
			k.pm = pmatch_build(&e->ar, v, vals.n);
		} else {
			k.kind = K_STRSET;
			k.set = ar_alloc(&e->ar, sizeof(*k.set));
			strset_build(&e->ar, k.set, v, vals.n);
		}
	} else if (op == CMP_PMATCH) {
		verr(c, &node->cmp.field.pos, node, "'pmatch' needs a string field, '%s' is %s",
		     s->ref.text, type_name(s->type));
		return NULL;
	} else {
		/* numbers, booleans, networks: convert each item */
		struct rconst *items = ar_alloc(&e->ar, sizeof(*items) * (vals.n ? vals.n : 1));

		for (uint32_t i = 0; i < vals.n; i++) {
			if (conv_scalar(c, node, s, CMP_EQ, &VEC_AT(vals, struct ast_val, i),
					&items[i]))
				return NULL;
		}
		if (s->type == RULE_FT_INT64 || s->type == RULE_FT_UINT64) {
			k.kind = K_NUMSET;
			k.nums.v = ar_alloc(&e->ar, sizeof(uint64_t) * (vals.n ? vals.n : 1));
			for (uint32_t i = 0; i < vals.n; i++)
				k.nums.v[i] = s->type == RULE_FT_INT64 ? (uint64_t)items[i].i64
								       : items[i].u64;
			k.nums.n = vals.n;
			qsort(k.nums.v, vals.n, sizeof(uint64_t),
			      s->type == RULE_FT_INT64 ? num_cmp_i64 : num_cmp_u64);
		} else if (s->type == RULE_FT_BOOL) {
			k.kind = K_BOOLSET;
			for (uint32_t i = 0; i < vals.n; i++)
				k.bools |= (uint8_t)(1u << items[i].b);
		} else {
			k.kind = K_NETSET;
			k.nets.v = ar_alloc(&e->ar, sizeof(struct rnet) * (vals.n ? vals.n : 1));
			for (uint32_t i = 0; i < vals.n; i++)
				k.nets.v[i] = items[i].net;
			k.nets.n = vals.n;
		}
	}
	n = rn_new(e, RN_CMP);
	n->op = op;
	n->slot = s->ref.slot;
	n->arg = const_add(e, &k);
	return n;
}

/* ---- AST -> resolved tree ---- */

static struct rnode *resolve(struct rctx *c, struct ast *a);

static struct rnode *resolve_macro(struct rctx *c, struct ast *a)
{
	struct rule_engine *e = c->e;
	struct macro_def *m = strmap_get(&e->macro_map, a->macro.name, strlen(a->macro.name));
	struct rnode *n;

	if (!m) {
		verr(c, &a->pos, NULL, "undefined macro '%s': define it with - macro: %s",
		     a->macro.name, a->macro.name);
		return NULL;
	}
	if (m->state < 0 || !m->ast) {
		c->failed = true; /* the macro's own error was reported */
		return NULL;
	}
	for (uint32_t i = 0; i < e->mstack.n; i++) {
		if (VEC_AT(e->mstack, struct macro_def *, i) == m) {
			verr(c, &a->pos, NULL, "macro '%s' uses itself", m->name);
			return NULL;
		}
	}
	*(struct macro_def **)vec_push(&e->ar, &e->mstack, sizeof(m)) = m;
	n = resolve(c, m->ast);
	e->mstack.n--;
	return n;
}

static struct rnode *resolve(struct rctx *c, struct ast *a)
{
	struct rule_engine *e = c->e;
	struct rnode *n;

	switch (a->kind) {
	case AST_AND:
	case AST_OR:
		n = rn_new(e, a->kind == AST_AND ? RN_AND : RN_OR);
		n->kids = ar_alloc(&e->ar, sizeof(*n->kids) * a->bin.n);
		n->n = a->bin.n;
		for (uint32_t i = 0; i < a->bin.n; i++) {
			n->kids[i] = resolve(c, a->bin.kids[i]);
			if (!n->kids[i])
				c->failed = true;
		}
		return c->failed ? NULL : n;
	case AST_NOT:
		n = rn_new(e, RN_NOT);
		n->kids = ar_alloc(&e->ar, sizeof(*n->kids));
		n->n = 1;
		n->kids[0] = resolve(c, a->kid);
		return n->kids[0] ? n : NULL;
	case AST_MACRO:
		return resolve_macro(c, a);
	case AST_BOOL:
		return rn_new(e, a->value ? RN_TRUE : RN_FALSE);
	case AST_CMP:
		if (!a->cmp.state) {
			bool before = c->failed;

			c->failed = false;
			a->cmp.rt = resolve_cmp(c, a);
			c->failed = before;
			a->cmp.state = a->cmp.rt ? 1 : -1;
		}
		if (a->cmp.state > 0)
			return a->cmp.rt;
		c->failed = true;
		if (a->cmp.unknown_field) {
			const struct rpos *p = a->cmp.bad_field == a->cmp.field.name
						   ? &a->cmp.field.pos
						   : &a->cmp.rhs->pos;

			if (c->lenient) {
				if (!c->unknown) {
					c->unknown = a->cmp.bad_field;
					c->unknown_pos = *p;
				}
			} else if (!a->cmp.reported) {
				a->cmp.reported = true;
				rdiag(e, RULE_DIAG_ERROR, p,
				      "unknown field '%s' (rule '%s'): check the spelling, or mark "
				      "the rule skip-if-unknown-filter: true",
				      a->cmp.bad_field, c->def->name);
			}
		}
		return NULL;
	}
	return NULL;
}

/* ---- exceptions -> AST ---- */

static struct ast *exc_cmp(struct rctx *c, const struct exc_def *x, const struct item_str *field,
			   const struct item_str *comp, const struct exc_entry *val)
{
	struct rule_engine *e = c->e;
	struct ast *n = ast_new(&e->ar, AST_CMP, &field->pos);
	const char *name, *arg;

	if (!lex_field_text(&e->ar, field->s, field->len, &name, &arg)) {
		verr(c, &field->pos, NULL, "invalid field '%s' in exception '%s'", field->s,
		     x->name);
		return NULL;
	}
	n->cmp.field.name = name;
	n->cmp.field.arg = arg;
	n->cmp.field.pos = field->pos;
	n->cmp.op = comp ? cmp_op_lookup(comp->s, comp->len) : CMP_EQ;
	if (n->cmp.op == CMP_NONE || n->cmp.op == CMP_EXISTS) {
		verr(c, &comp->pos, NULL, "invalid comparison operator '%s' in exception '%s'",
		     comp->s, x->name);
		return NULL;
	}
	if (val->is_list && !cmp_op_takes_list(n->cmp.op)) {
		verr(c, &val->pos, NULL,
		     "exception '%s': a list of values needs 'in', 'intersects' or 'pmatch', not "
		     "'%s'",
		     x->name, cmp_op_name(n->cmp.op));
		return NULL;
	}
	if (val->is_list) {
		n->cmp.list = true;
		n->cmp.n_vals = val->items.n;
		n->cmp.vals =
		    ar_alloc(&e->ar, sizeof(struct ast_val) * (val->items.n ? val->items.n : 1));
		for (uint32_t i = 0; i < val->items.n; i++) {
			const struct exc_entry *it = &VEC_AT(val->items, struct exc_entry, i);

			if (it->is_list) {
				verr(c, &it->pos, NULL, "exception '%s': values nest too deeply",
				     x->name);
				return NULL;
			}
			if (item_to_val(c, &it->item, &n->cmp.vals[i]))
				return NULL;
		}
		return n;
	}
	n->cmp.vals = ar_alloc(&e->ar, sizeof(struct ast_val));
	n->cmp.n_vals = 1;
	if (item_to_val(c, &val->item, &n->cmp.vals[0]))
		return NULL;
	/* a scalar with a list operator is a one-item list, which may name a list */
	n->cmp.list = cmp_op_takes_list(n->cmp.op);
	return n;
}

static struct ast *ast_join(struct rule_engine *e, enum ast_kind kind, struct vec *kids,
			    const struct rpos *pos)
{
	struct ast *n;

	if (kids->n == 1)
		return VEC_AT(*kids, struct ast *, 0);
	n = ast_new(&e->ar, kind, pos);
	n->bin.kids = kids->v;
	n->bin.n = kids->n;
	return n;
}

/* One exception: OR over value tuples of AND over fields; NULL if it has no values. */
static struct ast *exc_build(struct rctx *c, const struct exc_def *x, bool *bad)
{
	struct rule_engine *e = c->e;
	struct vec ors = {0};

	if (!x->has_fields) {
		verr(c, &x->pos, NULL, "exception '%s' has no 'fields'", x->name);
		*bad = true;
		return NULL;
	}
	if (!x->values.n)
		return NULL;
	if (!x->fields.is_list) {
		const struct item_str *comp = x->has_comps ? &x->comps.item : NULL;
		static const struct item_str in = {.s = "in", .len = 2};
		struct exc_entry all = {.is_list = true, .pos = x->pos};

		if (x->has_comps &&
		    (x->comps.is_list || !cmp_op_takes_list(cmp_op_lookup(comp->s, comp->len)))) {
			verr(c, &x->comps.pos, NULL,
			     "exception '%s' has a single field: comps must be one of in, pmatch, "
			     "intersects",
			     x->name);
			*bad = true;
			return NULL;
		}
		for (uint32_t i = 0; i < x->values.n; i++) {
			const struct exc_entry *v = &VEC_AT(x->values, struct exc_entry, i);

			if (v->is_list) {
				verr(
				    c, &v->pos, NULL,
				    "exception '%s' has a single field: its values must be strings",
				    x->name);
				*bad = true;
				return NULL;
			}
			*(struct exc_entry *)vec_push(&e->ar, &all.items, sizeof(*v)) = *v;
		}
		struct ast *n = exc_cmp(c, x, &x->fields.item, comp ? comp : &in, &all);
		*bad = !n;
		return n;
	}

	uint32_t nf = x->fields.items.n;
	if (x->has_comps && (!x->comps.is_list || x->comps.items.n != nf)) {
		verr(c, &x->comps.pos, NULL,
		     "exception '%s': comps must be a list as long as fields (%u)", x->name, nf);
		*bad = true;
		return NULL;
	}
	for (uint32_t i = 0; i < nf; i++) {
		if (VEC_AT(x->fields.items, struct exc_entry, i).is_list ||
		    (x->has_comps && VEC_AT(x->comps.items, struct exc_entry, i).is_list)) {
			verr(c, &x->fields.pos, NULL,
			     "exception '%s': fields and comps are strings", x->name);
			*bad = true;
			return NULL;
		}
	}
	for (uint32_t t = 0; t < x->values.n; t++) {
		const struct exc_entry *tup = &VEC_AT(x->values, struct exc_entry, t);
		struct vec ands = {0};

		if (!tup->is_list || tup->items.n != nf) {
			verr(c, &tup->pos, NULL,
			     "exception '%s': each value must be a list of %u items, one per field",
			     x->name, nf);
			*bad = true;
			return NULL;
		}
		for (uint32_t i = 0; i < nf; i++) {
			const struct item_str *f =
			    &VEC_AT(x->fields.items, struct exc_entry, i).item;
			const struct item_str *cp =
			    x->has_comps ? &VEC_AT(x->comps.items, struct exc_entry, i).item : NULL;
			struct ast *n =
			    exc_cmp(c, x, f, cp, &VEC_AT(tup->items, struct exc_entry, i));

			if (!n) {
				*bad = true;
				return NULL;
			}
			*(struct ast **)vec_push(&e->ar, &ands, sizeof(n)) = n;
		}
		*(struct ast **)vec_push(&e->ar, &ors, sizeof(void *)) =
		    ast_join(e, AST_AND, &ands, &tup->pos);
	}
	return ast_join(e, AST_OR, &ors, &x->pos);
}

/* ---- simplification ---- */

static bool rn_mergeable(struct rule_engine *e, const struct rnode *n, enum cmp_op *kind)
{
	const struct slot *s;
	const struct rconst *k;

	if (n->kind != RN_CMP || n->op == CMP_EXISTS) /* no operand */
		return false;
	s = VEC_AT(e->slots, struct slot *, n->slot);
	if (s->type != RULE_FT_STRING)
		return false;
	k = const_at(e, n->arg);
	if ((n->op == CMP_EQ && k->kind == K_STR) || (n->op == CMP_IN && k->kind == K_STRSET)) {
		*kind = CMP_IN;
		return true;
	}
	if (n->op == CMP_STARTSWITH && k->kind == K_STR) {
		*kind = CMP_STARTSWITH;
		return true;
	}
	return false;
}

/* In an OR, several `f = x`/`f in (..)` (or `f startswith x`) on one field become one lookup. */
static void merge_or(struct rule_engine *e, struct rnode *n)
{
	bool *taken = ar_alloc(&e->ar, n->n);
	uint32_t out = 0;

	for (uint32_t i = 0; i < n->n; i++) {
		enum cmp_op ki, kj;
		struct vec strs = {0};
		uint32_t cnt = 1;

		if (taken[i])
			continue;
		if (!rn_mergeable(e, n->kids[i], &ki)) {
			n->kids[out++] = n->kids[i];
			continue;
		}
		for (uint32_t j = i + 1; j < n->n; j++) {
			if (!taken[j] && rn_mergeable(e, n->kids[j], &kj) && kj == ki &&
			    n->kids[j]->slot == n->kids[i]->slot)
				cnt++;
		}
		if (cnt == 1) {
			n->kids[out++] = n->kids[i];
			continue;
		}
		for (uint32_t j = i; j < n->n; j++) {
			const struct rconst *k;

			if (taken[j] || !rn_mergeable(e, n->kids[j], &kj) || kj != ki ||
			    n->kids[j]->slot != n->kids[i]->slot)
				continue;
			taken[j] = true;
			k = const_at(e, n->kids[j]->arg);
			if (k->kind == K_STR) {
				*(struct rstr *)vec_push(&e->ar, &strs, sizeof(struct rstr)) = k->s;
				continue;
			}
			for (uint32_t h = 0; h < k->set->cap; h++) {
				if (k->set->slots[h].p)
					*(struct rstr *)vec_push(
					    &e->ar, &strs, sizeof(struct rstr)) = k->set->slots[h];
			}
		}
		struct rconst k = {.text = "(merged)"};
		if (ki == CMP_IN) {
			k.kind = K_STRSET;
			k.set = ar_alloc(&e->ar, sizeof(*k.set));
			strset_build(&e->ar, k.set, strs.v, strs.n);
		} else {
			k.kind = K_PREFIXES;
			k.pfx = prefixes_build(&e->ar, strs.v, strs.n);
		}
		struct rnode *m = rn_new(e, RN_CMP);
		m->op = ki;
		m->slot = n->kids[i]->slot;
		m->arg = const_add(e, &k);
		n->kids[out++] = m;
	}
	n->n = out;
}

static struct rnode *simplify(struct rule_engine *e, struct rnode *n)
{
	if (n->kind == RN_NOT) {
		struct rnode *k = simplify(e, n->kids[0]);

		if (k->kind == RN_NOT)
			return k->kids[0];
		if (k->kind == RN_TRUE || k->kind == RN_FALSE)
			return rn_new(e, k->kind == RN_TRUE ? RN_FALSE : RN_TRUE);
		if (k == n->kids[0])
			return n;
		struct rnode *c = rn_new(e, RN_NOT);
		c->kids = ar_alloc(&e->ar, sizeof(*c->kids));
		c->kids[0] = k;
		c->n = 1;
		return c;
	}
	if (n->kind != RN_AND && n->kind != RN_OR)
		return n;

	bool is_and = n->kind == RN_AND;
	struct vec kids = {0};
	for (uint32_t i = 0; i < n->n; i++) {
		struct rnode *k = simplify(e, n->kids[i]);

		if (k->kind == (is_and ? RN_TRUE : RN_FALSE))
			continue;
		if (k->kind == (is_and ? RN_FALSE : RN_TRUE))
			return k;
		if (k->kind == n->kind) {
			for (uint32_t j = 0; j < k->n; j++)
				*(struct rnode **)vec_push(&e->ar, &kids, sizeof(k)) = k->kids[j];
			continue;
		}
		*(struct rnode **)vec_push(&e->ar, &kids, sizeof(k)) = k;
	}
	if (!kids.n)
		return rn_new(e, is_and ? RN_TRUE : RN_FALSE);

	struct rnode *c = rn_new(e, n->kind);
	c->kids = kids.v;
	c->n = kids.n;
	if (!is_and)
		merge_or(e, c);
	if (c->n == 1)
		return c->kids[0];
	return c;
}

/* ---- event types: where can each node be true (T) / false (F)? ---- */

static void ev_derive(struct rule_engine *e, const struct rnode *n, uint64_t *t, uint64_t *f)
{
	uint32_t w = e->ev_words;

	switch (n->kind) {
	case RN_EVT: {
		const uint64_t *b = const_at(e, n->arg)->ev;

		for (uint32_t i = 0; i < w; i++) {
			t[i] = b[i];
			f[i] = ~b[i];
		}
		break;
	}
	case RN_TRUE:
	case RN_FALSE:
		for (uint32_t i = 0; i < w; i++) {
			t[i] = n->kind == RN_TRUE ? ~0ull : 0;
			f[i] = n->kind == RN_TRUE ? 0 : ~0ull;
		}
		break;
	case RN_NOT:
		ev_derive(e, n->kids[0], f, t);
		break;
	case RN_AND:
	case RN_OR: {
		uint64_t *kt = ar_alloc(&e->ar, sizeof(uint64_t) * w);
		uint64_t *kf = ar_alloc(&e->ar, sizeof(uint64_t) * w);
		bool and = n->kind == RN_AND;

		for (uint32_t i = 0; i < w; i++) {
			t[i] = and? ~0ull : 0;
			f[i] = and? 0 : ~0ull;
		}
		for (uint32_t k = 0; k < n->n; k++) {
			ev_derive(e, n->kids[k], kt, kf);
			for (uint32_t i = 0; i < w; i++) {
				t[i] = and? (t[i] & kt[i]) : (t[i] | kt[i]);
				f[i] = and? (f[i] | kf[i]) : (f[i] & kf[i]);
			}
		}
		break;
	}
	default:
		for (uint32_t i = 0; i < w; i++)
			t[i] = f[i] = ~0ull;
	}
}

/* ---- code generation ---- */

/* Appends an op; returns its index. */
static uint32_t emit(struct rule_engine *e, struct vec *ops, uint8_t code, uint8_t cmp, uint32_t a,
		     uint32_t b)
{
	struct op *o = vec_push(&e->ar, ops, sizeof(*o));

	*o = (struct op){.code = code, .cmp = cmp, .a = a, .b = b};
	return ops->n - 1;
}

static void gen(struct rule_engine *e, struct vec *ops, const struct rnode *n)
{
	switch (n->kind) {
	case RN_AND:
	case RN_OR: {
		uint32_t *jumps = ar_alloc(&e->ar, sizeof(uint32_t) * n->n);

		for (uint32_t i = 0; i < n->n; i++) {
			gen(e, ops, n->kids[i]);
			if (i + 1 < n->n) {
				jumps[i] = ops->n;
				emit(e, ops, n->kind == RN_AND ? OPC_JF : OPC_JT, 0, 0, 0);
			}
		}
		for (uint32_t i = 0; i + 1 < n->n; i++)
			VEC_AT(*ops, struct op, jumps[i]).a = ops->n;
		break;
	}
	case RN_NOT:
		gen(e, ops, n->kids[0]);
		emit(e, ops, OPC_NOT, 0, 0, 0);
		break;
	case RN_CMP:
		if (n->op == CMP_EXISTS)
			emit(e, ops, OPC_EXISTS, 0, n->slot, 0);
		else {
			uint32_t at = emit(e, ops, OPC_CMP, (uint8_t)n->op, n->slot, n->arg);

			VEC_AT(*ops, struct op, at).memo = n->memo;
		}
		break;
	case RN_CMPF:
		emit(e, ops, OPC_CMPF, (uint8_t)n->op, n->slot, n->arg);
		break;
	case RN_EVT:
		emit(e, ops, OPC_EVT, 0, 0, n->arg);
		break;
	case RN_TRUE:
		emit(e, ops, OPC_TRUE, 0, 0, 0);
		break;
	case RN_FALSE:
		emit(e, ops, OPC_FALSE, 0, 0, 0);
		break;
	}
}

/* Marks the slots a tree reads; *evt is set when it tests the event type. */
static void collect_slots(const struct rnode *n, bool *used, bool *evt)
{
	switch (n->kind) {
	case RN_CMPF:
		used[n->arg] = true;
		/* fall through */
	case RN_CMP:
		used[n->slot] = true;
		break;
	case RN_EVT:
		*evt = true;
		break;
	default:
		for (uint32_t i = 0; i < n->n; i++)
			collect_slots(n->kids[i], used, evt);
	}
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_slot_text(const void *a, const void *b, void *arg)
{
	struct rule_engine *e = arg;
	const struct slot *x = VEC_AT(e->slots, struct slot *, *(const uint32_t *)a);
	const struct slot *y = VEC_AT(e->slots, struct slot *, *(const uint32_t *)b);

	return strcmp(x->ref.text, y->ref.text);
}

static void finish_info(struct rule_engine *e, struct crule *cr)
{
	struct rule_def *d = cr->def;
	struct rule_info *in = &cr->info;
	const char **tags = ar_alloc(&e->ar, sizeof(char *) * (d->tags.n ? d->tags.n : 1));
	size_t nt = 0;
	size_t len;
	struct posmap pm;

	in->name = d->name;
	in->desc = d->desc ? d->desc : "";
	in->condition = posmap_init(&pm, &e->ar, d->cond.v, d->cond.n, &len);
	in->output = posmap_init(&pm, &e->ar, d->output.v, d->output.n, &len);
	in->priority = d->prio;
	in->enabled = d->enabled;
	in->file = d->pos.file;
	in->line = d->pos.line;
	in->col = d->pos.col;
	in->all_evtypes = true;
	if (d->tags.n) {
		memcpy(tags, d->tags.v, sizeof(char *) * d->tags.n);
		qsort(tags, d->tags.n, sizeof(char *), cmp_cstr);
		for (size_t i = 0; i < d->tags.n; i++) {
			if (!nt || strcmp(tags[nt - 1], tags[i]))
				tags[nt++] = tags[i];
		}
	}
	in->tags = tags;
	in->n_tags = nt;
}

static void action_diag(struct rule_engine *e, const struct rule_def *d, const struct rule_node *at,
			const char *msg)
{
	struct rpos pos = {.file = at->file, .line = at->line, .col = at->col};

	rdiag(e, RULE_DIAG_ERROR, &pos, "rule '%s': %s", d->name, msg);
}

/* Types the rule's actions onto its info; each problem is an error at its place. */
static void compile_actions(struct rule_engine *e, struct crule *cr)
{
	struct rule_def *d = cr->def;
	struct action_error err;
	struct action *v;
	size_t n = 0;

	if (d->mode) {
		const char *m = d->mode->kind == RULE_NODE_SCALAR ? d->mode->scalar : "";

		if (!strcmp(m, "enforce"))
			cr->info.mode = RULE_MODE_ENFORCE;
		else if (!strcmp(m, "monitor"))
			cr->info.mode = RULE_MODE_MONITOR;
		else
			action_diag(e, d, d->mode, "'mode' must be 'enforce' or 'monitor'");
		if (!d->actions)
			action_diag(e, d, d->mode,
				    "'mode' needs actions: add e.g. 'actions: [kill]'");
	}
	if (!d->actions) {
		if (d->block_for)
			action_diag(e, d, d->block_for,
				    "'block_for' needs a block action: add 'actions: [block]'");
		return;
	}
	v = ar_alloc(&e->ar, sizeof(*v) * (d->actions->n_items ? d->actions->n_items : 1));
	if (action_list__parse(d->actions, v, d->actions->n_items, &n, &err) ||
	    (d->block_for && action_list__block_for(v, n, d->block_for, &err))) {
		action_diag(e, d, err.at, err.msg);
		return;
	}
	cr->info.actions = n ? v : NULL;
	cr->info.n_actions = n;
	for (size_t i = 0; i < n; i++) {
		const struct rpos pos = {.file = v[i].file, .line = v[i].line, .col = v[i].col};
		const char *addr = v[i].kind == ACTION_BLOCK ? v[i].block.address : NULL;
		const struct rule_field_def *f =
		    addr ? strmap_get(&e->fieldmap, addr, strlen(addr)) : NULL;

		if (addr && (!f || f->arg != RULE_FARG_NONE ||
			     (f->type != RULE_FT_IPADDR && f->type != RULE_FT_IPNET))) {
			rdiag(e, RULE_DIAG_ERROR, &pos,
			      "rule '%s': block address '%s' is not an IP address field: use "
			      "e.g. fd.rip, or leave it out for the event's remote address",
			      d->name, addr);
			continue;
		}
		if (!action_kind__def(v[i].kind)->implemented)
			rdiag(e, RULE_DIAG_ERROR, &pos,
			      "rule '%s': action '%s' is not implemented in this version of "
			      "vigil: remove it (the rule then only alerts)",
			      d->name, action_kind__name(v[i].kind));
	}
}

static void compile_rule(struct rule_engine *e, struct crule *cr)
{
	struct rule_def *d = cr->def;
	struct rctx c = {.e = e, .def = d};
	const char *what = ar_printf(&e->ar, "rule '%s'", d->name);
	struct ast *cond;
	struct rnode *rt;

	c.lenient = e->opts.unknown_field_warn || d->skip_unknown;
	finish_info(e, cr);
	compile_actions(e, cr);

	cond = d->cond.n ? cond_parse(e, d->cond.v, d->cond.n, what) : NULL;
	if (d->cond.n && !cond)
		return;
	if (state_parse(e, cr, &cond))
		return;

	struct vec excs = {0};
	bool bad = false;
	for (uint32_t i = 0; i < d->excs.n; i++) {
		struct ast *x = exc_build(&c, &VEC_AT(d->excs, struct exc_def, i), &bad);

		if (bad)
			return;
		if (x)
			*(struct ast **)vec_push(&e->ar, &excs, sizeof(x)) = x;
	}
	if (excs.n) {
		struct ast * or = ast_join(e, AST_OR, &excs, &d->pos);
		struct ast *not = ast_new(&e->ar, AST_NOT, &d->pos);
		struct ast *and = ast_new(&e->ar, AST_AND, &cond->pos);

		not ->kid = or ;
		and->bin.kids = ar_alloc(&e->ar, sizeof(struct ast *) * 2);
		and->bin.kids[0] = cond;
		and->bin.kids[1] = not ;
		and->bin.n = 2;
		cond = and;
	}

	e->mstack.n = 0;
	rt = resolve(&c, cond);

	const char *unknown_out = NULL;
	struct rpos unknown_out_pos = {0};
	int oret = output_compile(e, cr, c.lenient, &unknown_out, &unknown_out_pos);
	if (unknown_out && !c.unknown) {
		c.unknown = unknown_out;
		c.unknown_pos = unknown_out_pos;
	}

	if (c.unknown) {
		rdiag(e, RULE_DIAG_WARNING, &d->pos,
		      "rule '%s' disabled: unknown field '%s' at %s:%d:%d", d->name, c.unknown,
		      c.unknown_pos.file ? c.unknown_pos.file : d->pos.file, c.unknown_pos.line,
		      c.unknown_pos.col);
		return;
	}
	if (!rt || c.failed || oret)
		return;

	rt = simplify(e, rt);
	cr->rt = rt;

	/* event types */
	uint64_t *t = ar_alloc(&e->ar, sizeof(uint64_t) * e->ev_words);
	uint64_t *f = ar_alloc(&e->ar, sizeof(uint64_t) * e->ev_words);
	ev_derive(e, rt, t, f);
	uint32_t cnt = 0;
	for (uint32_t i = 0; i < e->n_codes; i++)
		cnt += (t[i / 64] >> (i % 64)) & 1;
	if (cnt < e->n_codes) {
		uint32_t *codes = ar_alloc(&e->ar, sizeof(uint32_t) * (cnt ? cnt : 1));

		cnt = 0;
		for (uint32_t i = 0; i < e->n_codes; i++) {
			if ((t[i / 64] >> (i % 64)) & 1)
				codes[cnt++] = i;
		}
		cr->info.all_evtypes = false;
		cr->info.evtypes = codes;
		cr->info.n_evtypes = cnt;
		if (!cnt)
			rdiag(e, RULE_DIAG_WARNING, &d->pos,
			      "rule '%s' can never match: none of its event types is supported by "
			      "this host",
			      d->name);
	}

	/* program */
	struct vec ops = {0};
	gen(e, &ops, rt);
	emit(e, &ops, OPC_END, 0, 0, 0);
	cr->ops = ops.v;
	cr->n_ops = ops.n;

	/* a sequence's steps: each its own program, run once the rule matched */
	if (cr->state && cr->state->kind == RULE_STATE_SEQUENCE) {
		size_t ns = cr->state->n_steps;
		struct rnode **srt = ar_alloc(&e->ar, sizeof(*srt) * ns);

		cr->step_ops = ar_alloc(&e->ar, sizeof(*cr->step_ops) * ns);
		for (size_t i = 0; i < ns; i++) {
			struct vec sops = {0};

			srt[i] = resolve(&c, cr->step_ast[i]);
			if (!srt[i] || c.failed)
				return;
			srt[i] = simplify(e, srt[i]);
			gen(e, &sops, srt[i]);
			emit(e, &sops, OPC_END, 0, 0, 0);
			cr->step_ops[i] = sops.v;
		}
		state_fingerprint(e, cr, srt);
	} else if (cr->state) {
		state_fingerprint(e, cr, NULL);
	}

	/* output_fields: template, condition and exception fields */
	bool *used = ar_alloc(&e->ar, e->slots.n + 1); /* + evt.type, if created below */
	bool evt = false, unknown;
	const char *err;

	collect_slots(rt, used, &evt);
	if (evt)
		used[slot_resolve(e, "evt.type", NULL, &unknown, &err)->ref.slot] = true;
	for (uint32_t i = 0; i < cr->n_otoks; i++) {
		if (!cr->otoks[i].lit)
			used[cr->otoks[i].slot] = true;
	}
	cr->ofields = ar_alloc(&e->ar, sizeof(uint32_t) * (e->slots.n + 1));
	for (uint32_t i = 0; i < e->slots.n; i++) {
		if (used[i])
			cr->ofields[cr->n_ofields++] = i;
	}
	qsort_r(cr->ofields, cr->n_ofields, sizeof(uint32_t), cmp_slot_text, e);

	cr->info.active = d->enabled && (!e->opts.min_priority || d->prio <= e->opts.min_priority);
}

/* Every macro parses on its own; undefined references and cycles are reported once. */
static void check_macro(struct rule_engine *e, struct macro_def *m, struct ast *a)
{
	struct macro_def *t;

	switch (a->kind) {
	case AST_AND:
	case AST_OR:
		for (uint32_t i = 0; i < a->bin.n; i++)
			check_macro(e, m, a->bin.kids[i]);
		break;
	case AST_NOT:
		check_macro(e, m, a->kid);
		break;
	case AST_MACRO:
		t = strmap_get(&e->macro_map, a->macro.name, strlen(a->macro.name));
		if (!t) {
			rdiag(e, RULE_DIAG_ERROR, &a->pos,
			      "undefined macro '%s' (in macro '%s'): define it with - macro: %s",
			      a->macro.name, m->name, a->macro.name);
			m->state = -1;
			break;
		}
		if (t->color == 1) {
			rdiag(e, RULE_DIAG_ERROR, &a->pos,
			      "macro recursion: '%s' uses '%s', which leads back to itself",
			      m->name, t->name);
			m->state = -1;
			t->state = -1;
			break;
		}
		if (t->color == 0 && t->ast) {
			t->color = 1;
			check_macro(e, t, t->ast);
			t->color = 2;
		}
		if (t->state < 0)
			m->state = -1;
		break;
	default:
		break;
	}
}

/* Counts (fill false) or places (fill true) each active rule under its event codes. */
static void index_pass(struct rule_engine *e, uint32_t *cnt, bool fill)
{
	uint32_t nc = e->n_codes;

	for (uint32_t r = 0; r < e->n_crules; r++) {
		const struct rule_info *in = &e->crules[r].info;
		size_t n = in->all_evtypes ? nc : in->n_evtypes;

		if (!in->active)
			continue;
		if (in->all_evtypes && fill)
			e->idx_any[e->n_idx_any++] = r;
		else if (in->all_evtypes)
			cnt[nc]++;
		for (size_t i = 0; i < n; i++) {
			uint32_t c = in->all_evtypes ? (uint32_t)i : in->evtypes[i];

			if (fill)
				e->idx_rules[e->idx_off[c] + cnt[c]] = r;
			cnt[c]++;
		}
	}
}

static void build_index(struct rule_engine *e)
{
	uint32_t nc = e->n_codes, total = 0;
	uint32_t *cnt = x_realloc(NULL, sizeof(uint32_t) * (nc + 1));

	memset(cnt, 0, sizeof(uint32_t) * (nc + 1));
	index_pass(e, cnt, false);
	e->idx_off = ar_alloc(&e->ar, sizeof(uint32_t) * (nc + 1));
	for (uint32_t c = 0; c < nc; c++) {
		e->idx_off[c] = total;
		total += cnt[c];
	}
	e->idx_off[nc] = total;
	e->idx_rules = ar_alloc(&e->ar, sizeof(uint32_t) * (total ? total : 1));
	e->idx_any = ar_alloc(&e->ar, sizeof(uint32_t) * (cnt[nc] ? cnt[nc] : 1));
	memset(cnt, 0, sizeof(uint32_t) * (nc + 1));
	index_pass(e, cnt, true);
	free(cnt);
}

int compile_all(struct rule_engine *e)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < e->macros.n; i++) {
		struct macro_def *m = VEC_AT(e->macros, struct macro_def *, i);
		const char *what = ar_printf(&e->ar, "macro '%s'", m->name);

		m->ast = cond_parse(e, m->segs.v, m->segs.n, what);
		m->state = m->ast ? 1 : -1;
	}
	for (uint32_t i = 0; i < e->macros.n; i++) {
		struct macro_def *m = VEC_AT(e->macros, struct macro_def *, i);

		if (m->ast && m->color == 0) {
			m->color = 1;
			check_macro(e, m, m->ast);
			m->color = 2;
		}
	}

	for (uint32_t i = 0; i < e->rules.n; i++)
		n += !VEC_AT(e->rules, struct rule_def *, i)->other_source;
	e->crules = ar_alloc(&e->ar, sizeof(struct crule) * (n ? n : 1));
	for (uint32_t i = 0; i < e->rules.n; i++) {
		struct rule_def *d = VEC_AT(e->rules, struct rule_def *, i);

		if (d->other_source)
			continue;
		e->crules[e->n_crules].def = d;
		compile_rule(e, &e->crules[e->n_crules]);
		e->n_crules++;
	}

	/* value caches, now that the slot set is final */
	for (uint32_t i = 0; i < e->slots.n; i++) {
		struct slot *s = VEC_AT(e->slots, struct slot *, i);

		s->vals = ar_alloc(&e->ar, sizeof(struct rule_value) *
					       (s->ref.multi ? RULE_MAX_VALUES : 1));
	}
	/* regex consts were recorded by index while the const array could still move */
	for (uint32_t i = 0; i < e->regexes.n; i++)
		VEC_AT(e->regexes, struct rconst *, i) =
		    const_at(e, (uint32_t)(uintptr_t)VEC_AT(e->regexes, struct rconst *, i));
	e->memo = ar_alloc(&e->ar, sizeof(*e->memo) * (e->cmp_consts.n ? e->cmp_consts.n : 1));
	build_index(e);
	guards_build(e);
	e->compiled = true;
	return e->n_errors ? -EINVAL : 0;
}
