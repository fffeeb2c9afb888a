/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * test_rules_lexer.c - the condition lexer: names vs fields vs keywords, field
 * arguments, every operator spelling, quoted strings and their escapes, bare values
 * holding characters that are operators elsewhere, and lexical errors with offsets.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "rules/rules_int.h"

static struct arena ar;

static void teardown(void)
{
	ar_release(&ar);
}

TestSuite(rules_lexer, .fini = teardown);

static struct tok expr1(const char *s)
{
	struct lexer lx;
	struct tok t;

	lex_init(&lx, &ar, s, strlen(s));
	lex_expr(&lx, &t);
	return t;
}

static struct tok value1(const char *s)
{
	struct lexer lx;
	struct tok t;

	lex_init(&lx, &ar, s, strlen(s));
	lex_value(&lx, &t);
	return t;
}

Test(rules_lexer, names_fields_keywords)
{
	const char *in = "  not notable and or_x or ( proc.name ) evt.arg.flags";
	enum tok_kind want[] = {TK_NOT,	   TK_IDENT, TK_AND,	TK_IDENT, TK_OR,
				TK_LPAREN, TK_FIELD, TK_RPAREN, TK_FIELD, TK_EOF};
	const char *text[] = {"not", "notable",	  "and", "or_x",	  "or",
			      NULL,  "proc.name", NULL,	 "evt.arg.flags", NULL};
	struct lexer lx;

	lex_init(&lx, &ar, in, strlen(in));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct tok t;

		lex_expr(&lx, &t);
		cr_assert_eq(t.kind, want[i], "token %zu: kind %d, want %d", i, t.kind, want[i]);
		if (text[i])
			cr_assert_str_eq(t.text, text[i]);
	}
}

Test(rules_lexer, token_offsets)
{
	struct lexer lx;
	struct tok t;
	const char *in = "a and\n  proc.name";

	lex_init(&lx, &ar, in, strlen(in));
	lex_expr(&lx, &t);
	cr_assert_eq(t.off, 0);
	lex_expr(&lx, &t);
	cr_assert_eq(t.off, 2);
	cr_assert_eq(t.end, 5);
	lex_expr(&lx, &t);
	cr_assert_eq(t.off, 8);
	cr_assert_eq(t.end, 17);
}

Test(rules_lexer, field_arguments)
{
	struct tok t = expr1("proc.aname[2]");

	cr_assert_eq(t.kind, TK_FIELD);
	cr_assert_str_eq(t.text, "proc.aname");
	cr_assert_str_eq(t.arg, "2");

	t = expr1("evt.arg[flags]=x");
	cr_assert_eq(t.kind, TK_FIELD);
	cr_assert_str_eq(t.arg, "flags");
	cr_assert_eq(t.end, 14);

	t = expr1("evt.arg[\"a b\"]");
	cr_assert_eq(t.kind, TK_FIELD);
	cr_assert_str_eq(t.arg, "a b");

	t = expr1("k8s.ns.name");
	cr_assert_eq(t.kind, TK_FIELD);
	cr_assert_str_eq(t.text, "k8s.ns.name");
	cr_assert_null(t.arg);

	t = expr1("proc.aname[2");
	cr_assert_eq(t.kind, TK_ERR);
	t = expr1("proc.");
	cr_assert_eq(t.kind, TK_ERR);
	t = expr1("proc.1x");
	cr_assert_eq(t.kind, TK_ERR);
}

Test(rules_lexer, operators)
{
	static const struct {
		const char *s;
		enum cmp_op op;
		size_t len;
	} cases[] = {
	    {"=x", CMP_EQ, 1},
	    {"==x", CMP_EQ, 2},
	    {"!=x", CMP_NE, 2},
	    {"<x", CMP_LT, 1},
	    {"<=x", CMP_LE, 2},
	    {">x", CMP_GT, 1},
	    {">=x", CMP_GE, 2},
	    {"contains x", CMP_CONTAINS, 8},
	    {"icontains x", CMP_ICONTAINS, 9},
	    {"bcontains x", CMP_BCONTAINS, 9},
	    {"startswith x", CMP_STARTSWITH, 10},
	    {"bstartswith x", CMP_BSTARTSWITH, 11},
	    {"endswith x", CMP_ENDSWITH, 8},
	    {"glob x", CMP_GLOB, 4},
	    {"iglob x", CMP_IGLOB, 5},
	    {"regex x", CMP_REGEX, 5},
	    {"in (x)", CMP_IN, 2},
	    {"in(x)", CMP_IN, 2},
	    {"intersects (x)", CMP_INTERSECTS, 10},
	    {"pmatch (x)", CMP_PMATCH, 6},
	    {"exists", CMP_EXISTS, 6},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lexer lx;
		struct tok t;

		lex_init(&lx, &ar, cases[i].s, strlen(cases[i].s));
		lex_op(&lx, &t);
		cr_assert_eq(t.kind, TK_OP, "%s", cases[i].s);
		cr_assert_eq(t.op, cases[i].op, "%s", cases[i].s);
		cr_assert_eq(t.end, cases[i].len, "%s", cases[i].s);
	}

	const char *bad[] = {"~= x", "!x", "contain x", "like x", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct lexer lx;
		struct tok t;

		lex_init(&lx, &ar, bad[i], strlen(bad[i]));
		lex_op(&lx, &t);
		cr_assert_eq(t.kind, TK_ERR, "'%s' should not be an operator", bad[i]);
	}
}

Test(rules_lexer, bare_values)
{
	struct tok t = value1("runc:[0:PARENT], x");

	cr_assert_eq(t.kind, TK_BARE);
	cr_assert_str_eq(t.text, "runc:[0:PARENT]");

	t = value1("-1)");
	cr_assert_str_eq(t.text, "-1");
	t = value1("/etc/shadow and");
	cr_assert_str_eq(t.text, "/etc/shadow");
	t = value1("a!b<c>d");
	cr_assert_str_eq(t.text, "a!b<c>d");
	t = value1("x=y");
	cr_assert_str_eq(t.text, "x");
	t = value1(",");
	cr_assert_eq(t.kind, TK_COMMA);
	t = value1("   ");
	cr_assert_eq(t.kind, TK_EOF);
	t = value1("=");
	cr_assert_eq(t.kind, TK_ERR);
}

Test(rules_lexer, quoted_strings_and_escapes)
{
	struct tok t = value1("\"a b\\\"c\\\\d\\n\\t\\/\\x41\"");

	cr_assert_eq(t.kind, TK_STR);
	cr_assert_eq(t.len, 11);
	cr_assert_eq(memcmp(t.text, "a b\"c\\d\n\t/A", 11), 0);

	t = value1("'it\\'s'");
	cr_assert_eq(t.kind, TK_STR);
	cr_assert_str_eq(t.text, "it's");

	t = value1("'(systemd)'");
	cr_assert_str_eq(t.text, "(systemd)");

	t = value1("\"\"");
	cr_assert_eq(t.kind, TK_STR);
	cr_assert_eq(t.len, 0);
}

Test(rules_lexer, string_errors)
{
	struct tok t = value1("  \"abc");

	cr_assert_eq(t.kind, TK_ERR);
	cr_assert_eq(t.off, 2);
	cr_assert(strstr(t.err, "unterminated"));

	t = value1("\"a\\qb\"");
	cr_assert_eq(t.kind, TK_ERR);
	cr_assert_eq(t.off, 2, "error at the backslash, got %zu", t.off);

	t = value1("'a\\\"b'");
	cr_assert_eq(t.kind, TK_ERR, "\\\" is not valid in a '-quoted string");

	t = value1("\"\\x4\"");
	cr_assert_eq(t.kind, TK_ERR);
	t = value1("\"\\x00\"");
	cr_assert_eq(t.kind, TK_ERR);
}

Test(rules_lexer, field_text_for_exceptions)
{
	const char *name, *arg;

	cr_assert(lex_field_text(&ar, "proc.aname[3]", 13, &name, &arg));
	cr_assert_str_eq(name, "proc.aname");
	cr_assert_str_eq(arg, "3");
	cr_assert(lex_field_text(&ar, " fd.name ", 9, &name, &arg));
	cr_assert_null(arg);
	cr_assert_not(lex_field_text(&ar, "fd.name x", 9, &name, &arg));
	cr_assert_not(lex_field_text(&ar, "macro", 5, &name, &arg));
}

Test(rules_lexer, op_names_roundtrip)
{
	for (int op = CMP_NONE + 1; op < CMP__COUNT; op++) {
		const char *n = cmp_op_name((enum cmp_op)op);

		cr_assert_eq((int)cmp_op_lookup(n, strlen(n)), op, "%s", n);
	}
	cr_assert(cmp_op_takes_list(CMP_IN));
	cr_assert(cmp_op_takes_list(CMP_PMATCH));
	cr_assert_not(cmp_op_takes_list(CMP_EQ));
}
