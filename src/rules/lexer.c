/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * lexer.c - tokens of Falco's condition language. The grammar is context
 * dependent: a bare value may hold characters that elsewhere are operators
 * ("runc:[0:PARENT]", "-1", "/etc/x!"), so the parser asks for the kind of token it
 * expects next: an expression token, an operator, or a value.
 *
 *   Identifier ::= [a-zA-Z][a-zA-Z0-9_]*              (macro or list name)
 *   FieldName  ::= Identifier ('.' Identifier)+ ('[' FieldArg ']')?
 *   FieldArg   ::= QuotedStr | [^ \t\n\r\[\]"']+
 *   QuotedStr  ::= "..." | '...'   escapes \b \f \n \r \t \\ \/ \xHH \" (in "") \' (in '')
 *   BareStr    ::= [^ \t\n\r\b(),="']+
 */
#include <string.h>

#include "rules/rules_int.h"

static const char *const op_names[CMP__COUNT] = {
    [CMP_EQ] = "=",
    [CMP_NE] = "!=",
    [CMP_LT] = "<",
    [CMP_LE] = "<=",
    [CMP_GT] = ">",
    [CMP_GE] = ">=",
    [CMP_CONTAINS] = "contains",
    [CMP_ICONTAINS] = "icontains",
    [CMP_BCONTAINS] = "bcontains",
    [CMP_STARTSWITH] = "startswith",
    [CMP_BSTARTSWITH] = "bstartswith",
    [CMP_ENDSWITH] = "endswith",
    [CMP_GLOB] = "glob",
    [CMP_IGLOB] = "iglob",
    [CMP_REGEX] = "regex",
    [CMP_IN] = "in",
    [CMP_INTERSECTS] = "intersects",
    [CMP_PMATCH] = "pmatch",
    [CMP_EXISTS] = "exists",
};

const char *cmp_op_name(enum cmp_op op)
{
	return op > CMP_NONE && op < CMP__COUNT ? op_names[op] : "?";
}

enum cmp_op cmp_op_lookup(const char *s, size_t n)
{
	if (n == 2 && !memcmp(s, "==", 2))
		return CMP_EQ;
	for (int i = CMP_NONE + 1; i < CMP__COUNT; i++) {
		if (strlen(op_names[i]) == n && !memcmp(op_names[i], s, n))
			return (enum cmp_op)i;
	}
	return CMP_NONE;
}

bool cmp_op_takes_list(enum cmp_op op)
{
	return op == CMP_IN || op == CMP_INTERSECTS || op == CMP_PMATCH;
}

void lex_init(struct lexer *lx, struct arena *a, const char *s, size_t len)
{
	lx->s = s;
	lx->len = len;
	lx->pos = 0;
	lx->a = a;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\b' || c == '\f' ||
	       c == '\v';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_word(char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '_';
}

static void skip_blanks(struct lexer *lx)
{
	while (lx->pos < lx->len && is_blank(lx->s[lx->pos]))
		lx->pos++;
}

static void tok_start(struct lexer *lx, struct tok *t, enum tok_kind kind)
{
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->off = lx->pos;
	t->end = lx->pos;
}

static void tok_err(struct tok *t, size_t off, const char *msg)
{
	t->kind = TK_ERR;
	t->off = off;
	t->err = msg;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Single-character escapes; "\ " stays a backslash, as Falco keeps it for old rules. */
static const char esc_from[] = "bfnrt\\/ ";
static const char esc_to[] = "\b\f\n\r\t\\/\\";

char *lex_unquote(struct arena *a, const char *s, size_t n, size_t *out_len, const char **err,
		  size_t *err_off)
{
	char q = s[0];
	char *out = ar_alloc(a, n + 1);
	size_t o = 0;

	for (size_t i = 1; i + 1 < n; i++) {
		char c = s[i];

		if (c != '\\') {
			out[o++] = c;
			continue;
		}
		*err_off = i;
		c = s[++i];
		const char *simple = c ? strchr(esc_from, c) : NULL;
		if (simple) {
			out[o++] = esc_to[simple - esc_from];
			continue;
		}
		switch (c) {
		case '"':
		case '\'':
			if (c != q) {
				*err = c == '"' ? "invalid \\\" escape in a '-quoted string"
						: "invalid \\' escape in a \"-quoted string";
				return NULL;
			}
			out[o++] = c;
			break;
		case 'x': {
			int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
			int lo = i + 2 < n ? hexval(s[i + 2]) : -1;

			if (hi < 0 || lo < 0) {
				*err = "\\x needs exactly two hexadecimal digits";
				return NULL;
			}
			if (!hi && !lo) {
				*err = "\\x00 is not allowed in a string";
				return NULL;
			}
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
			break;
		}
		default:
			*err = "unsupported escape sequence (use \\\\ for a backslash)";
			return NULL;
		}
	}
	out[o] = '\0';
	*out_len = o;
	return out;
}

/* A quoted string at lx->pos; fills t as TK_STR or TK_ERR. */
static void lex_quoted(struct lexer *lx, struct tok *t)
{
	size_t start = lx->pos;
	char q = lx->s[start];
	size_t i = start + 1;

	while (i < lx->len && lx->s[i] != q) {
		if (lx->s[i] == '\\' && i + 1 < lx->len)
			i++;
		i++;
	}
	if (i >= lx->len) {
		tok_err(t, start,
			q == '"' ? "unterminated \"-quoted string"
				 : "unterminated '-quoted string");
		return;
	}
	lx->pos = i + 1;

	const char *err = NULL;
	size_t err_off = 0;
	t->text = lex_unquote(lx->a, lx->s + start, i + 1 - start, &t->len, &err, &err_off);
	if (!t->text) {
		tok_err(t, start + err_off, err);
		return;
	}
	t->kind = TK_STR;
	t->off = start;
	t->end = lx->pos;
}

/* [a-zA-Z][a-zA-Z0-9_]* segments joined by dots, then an optional [argument]. */
static void lex_name(struct lexer *lx, struct tok *t)
{
	size_t start = lx->pos, i = lx->pos;
	bool dotted = false;

	for (;;) {
		while (i < lx->len && is_word(lx->s[i]))
			i++;
		if (i + 1 < lx->len && lx->s[i] == '.' && is_alpha(lx->s[i + 1])) {
			dotted = true;
			i++;
			continue;
		}
		break;
	}
	if (i < lx->len && lx->s[i] == '.') {
		tok_err(t, i, "a field name segment must start with a letter");
		return;
	}
	t->text = ar_strndup(lx->a, lx->s + start, i - start);
	t->len = i - start;
	lx->pos = i;
	if (!dotted) {
		t->kind = TK_IDENT;
		if (t->len == 3 && !memcmp(t->text, "and", 3))
			t->kind = TK_AND;
		else if (t->len == 2 && !memcmp(t->text, "or", 2))
			t->kind = TK_OR;
		else if (t->len == 3 && !memcmp(t->text, "not", 3))
			t->kind = TK_NOT;
		t->end = lx->pos;
		return;
	}
	t->kind = TK_FIELD;
	if (lx->pos < lx->len && lx->s[lx->pos] == '[') {
		size_t a = lx->pos + 1;

		if (a < lx->len && (lx->s[a] == '"' || lx->s[a] == '\'')) {
			struct tok q;
			size_t save = lx->pos;

			lx->pos = a;
			tok_start(lx, &q, TK_STR);
			lex_quoted(lx, &q);
			if (q.kind == TK_ERR) {
				*t = q;
				return;
			}
			if (lx->pos >= lx->len || lx->s[lx->pos] != ']') {
				tok_err(t, save, "expected ']' after the field argument");
				return;
			}
			t->arg = q.text;
			t->arg_off = a;
			lx->pos++;
		} else {
			size_t j = a;

			while (j < lx->len && !is_blank(lx->s[j]) && lx->s[j] != '[' &&
			       lx->s[j] != ']' && lx->s[j] != '"' && lx->s[j] != '\'')
				j++;
			if (j == a || j >= lx->len || lx->s[j] != ']') {
				tok_err(t, lx->pos,
					"malformed field argument: expected [argument]");
				return;
			}
			t->arg = ar_strndup(lx->a, lx->s + a, j - a);
			t->arg_off = a;
			lx->pos = j + 1;
		}
	}
	t->end = lx->pos;
}

void lex_expr(struct lexer *lx, struct tok *t)
{
	skip_blanks(lx);
	tok_start(lx, t, TK_EOF);
	if (lx->pos >= lx->len)
		return;

	char c = lx->s[lx->pos];
	if (c == '(' || c == ')') {
		t->kind = c == '(' ? TK_LPAREN : TK_RPAREN;
		lx->pos++;
		t->end = lx->pos;
		return;
	}
	if (is_alpha(c)) {
		lex_name(lx, t);
		return;
	}
	tok_err(t, lx->pos, "expected a field, a macro name, 'not' or '('");
}

void lex_op(struct lexer *lx, struct tok *t)
{
	skip_blanks(lx);
	tok_start(lx, t, TK_OP);
	if (lx->pos >= lx->len) {
		tok_err(t, lx->pos, "expected an operator after the field, found the end");
		return;
	}

	const char *s = lx->s + lx->pos;
	size_t left = lx->len - lx->pos, n = 0;

	if (s[0] == '=' || s[0] == '!' || s[0] == '<' || s[0] == '>') {
		n = 1;
		if (left > 1 && s[1] == '=')
			n = 2;
		if (s[0] == '!' && n == 1) {
			tok_err(t, lx->pos, "unknown operator '!' (did you mean '!='?)");
			return;
		}
	} else if (is_alpha(s[0])) {
		while (n < left && is_word(s[n]))
			n++;
	}
	t->op = n ? cmp_op_lookup(s, n) : CMP_NONE;
	if (t->op == CMP_NONE) {
		tok_err(t, lx->pos,
			"expected an operator (=, !=, <, <=, >, >=, contains, icontains, "
			"startswith, endswith, glob, in, intersects, pmatch, regex, "
			"exists, ...)");
		return;
	}
	lx->pos += n;
	t->end = lx->pos;
}

static bool is_bare(char c)
{
	return !is_blank(c) && c != '(' && c != ')' && c != ',' && c != '=' && c != '"' &&
	       c != '\'';
}

void lex_value(struct lexer *lx, struct tok *t)
{
	skip_blanks(lx);
	tok_start(lx, t, TK_EOF);
	if (lx->pos >= lx->len)
		return;

	char c = lx->s[lx->pos];
	if (c == '(' || c == ')' || c == ',') {
		t->kind = c == '(' ? TK_LPAREN : c == ')' ? TK_RPAREN : TK_COMMA;
		lx->pos++;
		t->end = lx->pos;
		return;
	}
	if (c == '"' || c == '\'') {
		lex_quoted(lx, t);
		return;
	}
	if (c == '=') {
		tok_err(t, lx->pos, "unexpected '=' where a value was expected");
		return;
	}
	size_t start = lx->pos;
	while (lx->pos < lx->len && is_bare(lx->s[lx->pos]))
		lx->pos++;
	t->kind = TK_BARE;
	t->text = ar_strndup(lx->a, lx->s + start, lx->pos - start);
	t->len = lx->pos - start;
	t->end = lx->pos;
}

bool lex_field_text(struct arena *a, const char *s, size_t n, const char **name, const char **arg)
{
	struct lexer lx;
	struct tok t;

	lex_init(&lx, a, s, n);
	lex_expr(&lx, &t);
	if (t.kind != TK_FIELD)
		return false;
	skip_blanks(&lx);
	if (lx.pos != lx.len)
		return false;
	*name = t.text;
	*arg = t.arg;
	return true;
}
