/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * parser.c - recursive descent parser for Falco conditions, producing an AST whose
 * every node carries the file:line:col it came from.
 *
 *   Expr      ::= OrExpr
 *   OrExpr    ::= AndExpr ('or' AndExpr)*
 *   AndExpr   ::= NotExpr ('and' NotExpr)*
 *   NotExpr   ::= 'not' NotExpr | Primary
 *   Primary   ::= '(' Expr ')' | Identifier | Field Check
 *   Check     ::= 'exists'
 *               | ListOp ( '(' [Value (',' Value)*] ')' | Identifier )
 *               | Op ( Value | 'val(' Field ')' )
 *   ListOp    ::= 'in' | 'intersects' | 'pmatch'
 *   Op        ::= '=' | '==' | '!=' | '<' | '<=' | '>' | '>=' | 'contains' | 'icontains'
 *               | 'bcontains' | 'startswith' | 'bstartswith' | 'endswith' | 'glob'
 *               | 'iglob' | 'regex'
 *   Value     ::= QuotedStr | BareStr
 *
 * Precedence is Falco's: not binds tighter than and, and tighter than or. An
 * Identifier is a macro reference; inside a list, a bare item naming a list is
 * expanded later by the compiler (lists may be redefined by later files).
 */
#include <string.h>

#include "rules/rules_int.h"

#define PARSE_MAX_DEPTH 500

struct parser {
	struct rule_engine *e; /* diagnostics, arena */
	struct lexer lx;       /* input */
	struct posmap pm;      /* offsets -> positions */
	struct tok peek;       /* lookahead in expression mode */
	bool has_peek;	       /* peek is valid */
	bool failed;	       /* an error was reported */
	int depth;	       /* nesting, bounded */
	const char *what;      /* "rule 'x'" or "macro 'y'", for messages */
};

static void pos_at(struct parser *p, size_t off, struct rpos *out)
{
	posmap_get(&p->pm, off, out);
}

static void __attribute__((format(printf, 3, 4)))
perr(struct parser *p, size_t off, const char *fmt, ...)
{
	struct rpos pos;
	va_list ap;
	char *msg;

	if (p->failed)
		return;
	p->failed = true;
	pos_at(p, off, &pos);
	va_start(ap, fmt);
	msg = ar_vprintf(&p->e->ar, fmt, ap);
	va_end(ap);
	rdiag(p->e, RULE_DIAG_ERROR, &pos, "%s (in %s)", msg, p->what);
}

static const char *tok_desc(struct parser *p, const struct tok *t)
{
	switch (t->kind) {
	case TK_EOF:
		return "the end of the condition";
	case TK_LPAREN:
		return "'('";
	case TK_RPAREN:
		return "')'";
	case TK_COMMA:
		return "','";
	case TK_AND:
		return "'and'";
	case TK_OR:
		return "'or'";
	case TK_NOT:
		return "'not'";
	default:
		return ar_printf(&p->e->ar, "'%.*s'",
				 (int)(t->end - t->off > 40 ? 40 : t->end - t->off),
				 p->lx.s + t->off);
	}
}

static void next_expr(struct parser *p, struct tok *t)
{
	if (p->has_peek) {
		*t = p->peek;
		p->has_peek = false;
		return;
	}
	lex_expr(&p->lx, t);
	if (t->kind == TK_ERR)
		perr(p, t->off, "%s", t->err);
}

/* Lookahead; a lexical error is left for the caller, who knows what was expected. */
static const struct tok *peek_expr(struct parser *p)
{
	if (!p->has_peek) {
		lex_expr(&p->lx, &p->peek);
		p->has_peek = true;
	}
	return &p->peek;
}

/* After a complete operand only 'and', 'or', ')' or the end may follow. */
static void after_operand_err(struct parser *p, const struct tok *t, bool in_parens)
{
	const char *want = in_parens ? "'and', 'or' or ')'" : "'and', 'or' or the end";

	if (t->kind == TK_ERR)
		perr(p, t->off, "expected %s, found '%c'", want, p->lx.s[t->off]);
	else
		perr(p, t->off, "expected %s, found %s", want, tok_desc(p, t));
}

struct ast *ast_new(struct arena *a, enum ast_kind kind, const struct rpos *pos)
{
	struct ast *n = ar_alloc(a, sizeof(*n));

	n->kind = kind;
	if (pos)
		n->pos = *pos;
	return n;
}

static struct ast *parse_or(struct parser *p);

static bool next_is_paren(struct parser *p)
{
	size_t i = p->lx.pos;

	while (i < p->lx.len && (p->lx.s[i] == ' ' || p->lx.s[i] == '\t' || p->lx.s[i] == '\n' ||
				 p->lx.s[i] == '\r'))
		i++;
	return i < p->lx.len && p->lx.s[i] == '(';
}

static bool is_transformer(const char *s, size_t n)
{
	static const char *const names[] = {"tolower", "toupper", "b64", "basename", "len"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(names[i]) == n && !memcmp(names[i], s, n))
			return true;
	}
	return false;
}

static bool is_identifier(const char *s, size_t n)
{
	if (!n || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

static void set_val(struct parser *p, struct ast_val *v, const struct tok *t)
{
	v->text = t->text;
	v->len = t->len;
	v->quoted = t->kind == TK_STR;
	pos_at(p, t->off, &v->pos);
}

static void set_field(struct parser *p, struct ast_field *f, const struct tok *t)
{
	f->name = t->text;
	f->arg = t->arg;
	pos_at(p, t->off, &f->pos);
}

/* '(' already consumed at lparen_off. */
static bool parse_list(struct parser *p, struct ast *n, size_t lparen_off)
{
	struct vec vals = {0};
	struct tok t;

	for (;;) {
		lex_value(&p->lx, &t);
		if (t.kind == TK_ERR) {
			perr(p, t.off, "%s", t.err);
			return false;
		}
		if (t.kind == TK_RPAREN && vals.n == 0)
			break;
		if (t.kind != TK_STR && t.kind != TK_BARE) {
			if (t.kind == TK_EOF)
				perr(p, lparen_off, "missing ')' to close this list");
			else
				perr(p, t.off, "expected a list item, found %s", tok_desc(p, &t));
			return false;
		}
		set_val(p, vec_push(&p->e->ar, &vals, sizeof(struct ast_val)), &t);
		lex_value(&p->lx, &t);
		if (t.kind == TK_RPAREN)
			break;
		if (t.kind == TK_COMMA)
			continue;
		if (t.kind == TK_ERR)
			perr(p, t.off, "%s", t.err);
		else if (t.kind == TK_EOF)
			perr(p, lparen_off, "missing ')' to close this list");
		else
			perr(p, t.off, "expected ',' or ')' in the list, found %s",
			     tok_desc(p, &t));
		return false;
	}
	n->cmp.vals = vals.v;
	n->cmp.n_vals = vals.n;
	n->cmp.list = true;
	return true;
}

/* After 'val(' : Field ')'. */
static bool parse_val_field(struct parser *p, struct ast *n)
{
	struct tok t;

	lex_expr(&p->lx, &t);
	if (t.kind != TK_FIELD) {
		perr(p, t.off, "val() takes a field name, found %s", tok_desc(p, &t));
		return false;
	}
	n->cmp.rhs = ar_alloc(&p->e->ar, sizeof(*n->cmp.rhs));
	set_field(p, n->cmp.rhs, &t);
	lex_value(&p->lx, &t);
	if (t.kind != TK_RPAREN) {
		perr(p, t.off, "expected ')' to close val(");
		return false;
	}
	return true;
}

static struct ast *parse_check(struct parser *p, const struct tok *field)
{
	struct ast *n;
	struct tok t;

	n = ast_new(&p->e->ar, AST_CMP, NULL);
	set_field(p, &n->cmp.field, field);
	n->pos = n->cmp.field.pos;

	lex_op(&p->lx, &t);
	if (t.kind == TK_ERR) {
		perr(p, t.off, "%s", t.err);
		return NULL;
	}
	n->cmp.op = t.op;
	if (t.op == CMP_EXISTS)
		return n;

	size_t op_end = t.end;
	lex_value(&p->lx, &t);
	if (t.kind == TK_ERR) {
		perr(p, t.off, "%s", t.err);
		return NULL;
	}
	if (cmp_op_takes_list(n->cmp.op)) {
		if (t.kind == TK_LPAREN)
			return parse_list(p, n, t.off) ? n : NULL;
		if (t.kind == TK_BARE && is_identifier(t.text, t.len)) {
			n->cmp.vals = ar_alloc(&p->e->ar, sizeof(struct ast_val));
			set_val(p, n->cmp.vals, &t);
			n->cmp.n_vals = 1;
			n->cmp.list = true;
			n->cmp.list_name = true;
			return n;
		}
		perr(p, t.kind == TK_EOF ? op_end : t.off,
		     "'%s' takes a list: '(' item, ... ')' or a list name, found %s",
		     cmp_op_name(n->cmp.op), tok_desc(p, &t));
		return NULL;
	}
	if (t.kind == TK_BARE && p->lx.pos < p->lx.len && p->lx.s[p->lx.pos] == '(') {
		if (t.len == 3 && !memcmp(t.text, "val", 3)) {
			p->lx.pos++;
			return parse_val_field(p, n) ? n : NULL;
		}
		if (is_transformer(t.text, t.len)) {
			perr(p, t.off, "field transformer '%s()' is not supported", t.text);
			return NULL;
		}
	}
	if (t.kind != TK_STR && t.kind != TK_BARE) {
		perr(p, t.kind == TK_EOF ? op_end : t.off, "expected a value after '%s', found %s",
		     cmp_op_name(n->cmp.op), tok_desc(p, &t));
		return NULL;
	}
	n->cmp.vals = ar_alloc(&p->e->ar, sizeof(struct ast_val));
	set_val(p, n->cmp.vals, &t);
	n->cmp.n_vals = 1;
	return n;
}

static struct ast *parse_primary(struct parser *p)
{
	struct tok t;
	struct ast *n;

	next_expr(p, &t);
	if (p->failed)
		return NULL;
	switch (t.kind) {
	case TK_LPAREN: {
		size_t lparen = t.off;

		if (++p->depth > PARSE_MAX_DEPTH) {
			perr(p, t.off, "condition nested too deeply");
			return NULL;
		}
		n = parse_or(p);
		p->depth--;
		if (!n)
			return NULL;
		if (peek_expr(p)->kind == TK_ERR) {
			after_operand_err(p, peek_expr(p), true);
			return NULL;
		}
		next_expr(p, &t);
		if (t.kind != TK_RPAREN) {
			if (t.kind == TK_EOF)
				perr(p, lparen,
				     "unbalanced parentheses: missing ')' to close this '('");
			else
				after_operand_err(p, &t, true);
			return NULL;
		}
		return n;
	}
	case TK_IDENT:
		if (next_is_paren(p)) {
			if (is_transformer(t.text, t.len))
				perr(p, t.off, "field transformer '%s()' is not supported", t.text);
			else
				perr(p, t.off,
				     "'%s' is not a field (fields have a dot, as in proc.name)",
				     t.text);
			return NULL;
		}
		n = ast_new(&p->e->ar, AST_MACRO, NULL);
		pos_at(p, t.off, &n->pos);
		n->macro.name = t.text;
		return n;
	case TK_FIELD:
		return parse_check(p, &t);
	case TK_RPAREN:
		perr(p, t.off, "unbalanced parentheses: ')' without a matching '('");
		return NULL;
	case TK_EOF:
		perr(p, t.off, "unexpected end of the condition: expected a field, a macro or '('");
		return NULL;
	default:
		perr(p, t.off, "expected a field, a macro name, 'not' or '(', found %s",
		     tok_desc(p, &t));
		return NULL;
	}
}

static struct ast *parse_not(struct parser *p)
{
	const struct tok *t = peek_expr(p);

	if (t->kind == TK_ERR) {
		perr(p, t->off, "%s", t->err);
		return NULL;
	}
	if (t->kind == TK_NOT) {
		struct ast *n = ast_new(&p->e->ar, AST_NOT, NULL);

		pos_at(p, t->off, &n->pos);
		p->has_peek = false;
		if (++p->depth > PARSE_MAX_DEPTH) {
			perr(p, t->off, "condition nested too deeply");
			return NULL;
		}
		n->kid = parse_not(p);
		p->depth--;
		return n->kid ? n : NULL;
	}
	return parse_primary(p);
}

static struct ast *parse_chain(struct parser *p, enum tok_kind sep, enum ast_kind kind,
			       struct ast *(*sub)(struct parser *p))
{
	struct ast *first = sub(p);
	struct vec kids = {0};

	if (!first)
		return NULL;
	for (;;) {
		const struct tok *t = peek_expr(p);

		if (t->kind == TK_ERR) {
			after_operand_err(p, t, p->depth > 0);
			return NULL;
		}
		if (t->kind != sep)
			break;
		p->has_peek = false;
		if (!kids.n)
			*(struct ast **)vec_push(&p->e->ar, &kids, sizeof(struct ast *)) = first;
		struct ast *k = sub(p);
		if (!k)
			return NULL;
		*(struct ast **)vec_push(&p->e->ar, &kids, sizeof(struct ast *)) = k;
	}
	if (!kids.n)
		return first;

	struct ast *n = ast_new(&p->e->ar, kind, &first->pos);
	n->bin.kids = kids.v;
	n->bin.n = kids.n;
	return n;
}

static struct ast *parse_and(struct parser *p)
{
	return parse_chain(p, TK_AND, AST_AND, parse_not);
}

static struct ast *parse_or(struct parser *p)
{
	return parse_chain(p, TK_OR, AST_OR, parse_and);
}

struct ast *cond_parse(struct rule_engine *e, const struct cseg *segs, uint32_t n, const char *what)
{
	struct parser p = {.e = e, .what = what};
	size_t len;
	const char *text = posmap_init(&p.pm, &e->ar, segs, n, &len);
	struct ast *root;

	lex_init(&p.lx, &e->ar, text, len);
	root = parse_or(&p);
	if (!root)
		return NULL;

	const struct tok *t = peek_expr(&p);
	if (t->kind == TK_RPAREN) {
		perr(&p, t->off, "unbalanced parentheses: ')' without a matching '('");
		return NULL;
	}
	if (t->kind != TK_EOF) {
		after_operand_err(&p, t, false);
		return NULL;
	}
	return root;
}
