/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * test_rules_parser.c - the condition grammar: precedence (not > and > or),
 * parentheses, lists, val(), and rejected conditions reported at the exact
 * file:line:col, including inside folded and literal block scalars, quoted
 * scalars and conditions appended by a later item.
 */
#include <criterion/criterion.h>

#include "rules/fake.h"

/* The one diagnostic a bad condition produces, formatted. */
static char *diag_of(const char *yaml)
{
	static char buf[1024];
	struct rule_engine *e = fake_engine(yaml);

	cr_assert_not_null(e);
	cr_assert_geq(rule_engine__error_count(e), 1, "expected an error for:\n%s", yaml);
	rule_diag__format(rule_engine__diag(e, 0), buf, sizeof(buf));
	rule_engine__free(e);
	return buf;
}

static char *cond_diag(const char *cond)
{
	static char yaml[16384];

	snprintf(yaml, sizeof(yaml),
		 "- rule: r\n  desc: d\n  condition: %s\n  output: o\n  priority: INFO\n", cond);
	return diag_of(yaml);
}

#define assert_starts(s, prefix)                                                                   \
	cr_assert(!strncmp((s), (prefix), strlen(prefix)), "got:  %s\nwant: %s...", (s), (prefix))

Test(rules_parser, precedence_not_and_or)
{
	/* ((not name=a) and pname=b) or user=c */
	const char *c = "not proc.name = a and proc.pname = b or user.name = c";
	struct fake_event e1 = {.proc_name = "x", .proc_pname = "b", .user = "z"};
	struct fake_event e2 = {.proc_name = "a", .proc_pname = "b", .user = "z"};
	struct fake_event e3 = {.proc_name = "a", .proc_pname = "q", .user = "c"};
	struct fake_event e4 = {.proc_name = "x", .proc_pname = "q", .user = "z"};

	cr_assert(fake_cond(c, &e1));
	cr_assert_not(fake_cond(c, &e2));
	cr_assert(fake_cond(c, &e3));
	cr_assert_not(fake_cond(c, &e4));
}

Test(rules_parser, parentheses_and_double_not)
{
	struct fake_event ev = {.proc_name = "a", .proc_pname = "b"};

	cr_assert(fake_cond("not (proc.name = x or proc.name = y)", &ev));
	cr_assert(fake_cond("not(proc.name=x)", &ev));
	cr_assert(fake_cond("not not proc.name = a", &ev));
	cr_assert_not(fake_cond("not (proc.name = a and (proc.pname = b))", &ev));
	cr_assert(fake_cond("((((proc.name = a))))", &ev));
	cr_assert(fake_cond("proc.name=a and(proc.pname=b)", &ev));
}

Test(rules_parser, list_forms)
{
	struct fake_event ev = {.proc_name = "sh -c", .proc_pname = "(systemd)"};

	cr_assert(fake_cond("proc.name in (\"sh -c\", bash)", &ev));
	cr_assert(fake_cond("proc.pname in (x,\"(systemd)\")", &ev));
	cr_assert_not(fake_cond("proc.name in ()", &ev));
	cr_assert(fake_cond("proc.name in(x, \"sh -c\" )", &ev));
}

Test(rules_parser, accepted_spellings)
{
	struct fake_event ev = {.proc_name = "a", .pid = 5, .has_pid = true};

	cr_assert(fake_cond("proc.name==a", &ev));
	cr_assert(fake_cond("proc.pid>=5 and proc.pid<=5 and proc.pid>4 and proc.pid<6", &ev));
	cr_assert(fake_cond("proc.pid != -5", &ev));
	cr_assert(fake_cond("proc.name exists and not user.name exists", &ev));
	cr_assert(fake_cond("proc.name\n = \ta", &ev));
}

Test(rules_parser, missing_value)
{
	assert_starts(cond_diag("proc.name ="),
		      "test.yaml:3:25: error: expected a value after '='");
}

Test(rules_parser, missing_operator)
{
	assert_starts(cond_diag("proc.name bash"), "test.yaml:3:24: error: expected an operator");
}

Test(rules_parser, unknown_operator)
{
	assert_starts(cond_diag("proc.name ~= bash"),
		      "test.yaml:3:24: error: expected an operator");
	assert_starts(cond_diag("proc.name like bash"),
		      "test.yaml:3:24: error: expected an operator");
}

Test(rules_parser, unbalanced_open_paren)
{
	assert_starts(cond_diag("proc.name = a and (user.name = b or user.name = c"),
		      "test.yaml:3:32: error: unbalanced parentheses: missing ')'");
}

Test(rules_parser, unbalanced_close_paren)
{
	assert_starts(cond_diag("proc.name = a)"),
		      "test.yaml:3:27: error: unbalanced parentheses: ')' without");
}

Test(rules_parser, unclosed_list)
{
	assert_starts(cond_diag("proc.name in (a, b"),
		      "test.yaml:3:27: error: missing ')' to close this list");
}

Test(rules_parser, dangling_and)
{
	assert_starts(cond_diag("proc.name = a and"),
		      "test.yaml:3:31: error: unexpected end of the condition");
}

Test(rules_parser, junk_after_check)
{
	assert_starts(cond_diag("proc.name = a, b"),
		      "test.yaml:3:27: error: expected 'and', 'or' or the end, found ','");
	assert_starts(cond_diag("proc.name = a user.name = b"),
		      "test.yaml:3:28: error: expected 'and', 'or' or the end, found 'user.name'");
}

Test(rules_parser, unterminated_string)
{
	assert_starts(cond_diag("'proc.name = \"abc'"),
		      "test.yaml:3:27: error: unterminated \"-quoted string");
}

Test(rules_parser, transformers_rejected)
{
	assert_starts(cond_diag("tolower(proc.name) = bash"),
		      "test.yaml:3:14: error: field transformer 'tolower()' is not supported");
}

Test(rules_parser, list_operator_needs_list)
{
	assert_starts(cond_diag("proc.name in \"x\""), "test.yaml:3:27: error: 'in' takes a list");
}

Test(rules_parser, folded_block_scalar_position)
{
	const char *y = "- rule: r\n"
			"  desc: d\n"
			"  condition: >\n"
			"    proc.name = a and\n"
			"      (proc.pname = b or\n"
			"       user.name = = c)\n"
			"  output: o\n"
			"  priority: INFO\n";

	assert_starts(diag_of(y), "test.yaml:6:20: error: unexpected '='");
}

Test(rules_parser, literal_block_scalar_position)
{
	const char *y = "- rule: r\n"
			"  desc: d\n"
			"  condition: |  # comment on the indicator line\n"
			"    proc.name = a\n"
			"    and proc.pname in (a, b\n"
			"  output: o\n"
			"  priority: INFO\n";

	assert_starts(diag_of(y), "test.yaml:5:23: error: missing ')' to close this list");
}

Test(rules_parser, plain_multiline_scalar_position)
{
	const char *y = "- rule: r\n"
			"  desc: d\n"
			"  condition: proc.name = a and\n"
			"     proc.pname startswith\n"
			"  output: o\n"
			"  priority: INFO\n";

	assert_starts(diag_of(y), "test.yaml:4:27: error: expected a value after 'startswith'");
}

Test(rules_parser, double_quoted_scalar_position)
{
	const char *y = "- rule: r\n"
			"  desc: d\n"
			"  condition: \"proc.name = a and \\\"x\\\" or\"\n"
			"  output: o\n"
			"  priority: INFO\n";

	assert_starts(diag_of(y), "test.yaml:3:33: error: expected a field");
}

Test(rules_parser, appended_condition_position)
{
	const char *y = "- rule: r\n"
			"  desc: d\n"
			"  condition: proc.name = a\n"
			"  output: o\n"
			"  priority: INFO\n"
			"\n"
			"- rule: r\n"
			"  condition: and (proc.pname = b\n"
			"  override:\n"
			"    condition: append\n";

	assert_starts(diag_of(y), "test.yaml:8:18: error: unbalanced parentheses");
}

Test(rules_parser, macro_parse_error_position)
{
	const char *y = "- macro: m\n"
			"  condition: proc.name in (a,\n"
			"- rule: r\n"
			"  desc: d\n"
			"  condition: m\n"
			"  output: o\n"
			"  priority: INFO\n";
	char *d = diag_of(y);

	assert_starts(d, "test.yaml:2:27: error: missing ')'");
	cr_assert(strstr(d, "macro 'm'"), "%s", d);
}

Test(rules_parser, val_syntax)
{
	struct fake_event ev = {.proc_name = "a", .proc_pname = "a"};

	cr_assert(fake_cond("proc.name = val(proc.pname)", &ev));
	assert_starts(cond_diag("proc.name = val(proc.pname"),
		      "test.yaml:3:40: error: expected ')' to close val(");
	assert_starts(cond_diag("proc.name = val(a)"),
		      "test.yaml:3:30: error: val() takes a field name");
}

Test(rules_parser, deep_nesting_bounded)
{
	char cond[8192];
	size_t n = 0;

	for (int i = 0; i < 1000; i++)
		cond[n++] = '(';
	n += (size_t)sprintf(cond + n, "proc.name = a");
	for (int i = 0; i < 1000; i++)
		cond[n++] = ')';
	cond[n] = '\0';
	cr_assert(strstr(cond_diag(cond), "nested too deeply"));
}
