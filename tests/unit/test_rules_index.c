/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * test_rules_index.c - rules indexed by event type: the set derived from each
 * condition (through macros, `not`, `!=`, `or` of different types), unsupported
 * event names, evaluation running only the indexed rules in load order, codes
 * outside the table, names sharing a code, the per-event field cache, and
 * comparisons written alike answered once per event for every rule that asks.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "rules/fake.h"
#include "rules/rules_int.h"

/* "all", or codes joined by ',' */
static const char *types_of(struct rule_engine *e, const char *name)
{
	static char buf[256];
	const struct rule_info *r = rule_engine__rule(e, (size_t)rule_engine__rule_index(e, name));
	size_t off = 0;

	if (r->all_evtypes)
		return "all";
	buf[0] = '\0';
	for (size_t i = 0; i < r->n_evtypes; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%u", i ? "," : "",
					r->evtypes[i]);
	return buf;
}

Test(rules_index, derived_sets)
{
	struct rule_engine *e = engine_ok(
	    "- macro: open_any\n  condition: evt.type in (open, openat, openat2)\n"
	    "- macro: exec\n  condition: (evt.type=execve or evt.type=execveat)\n" RULE(
		"one", "evt.type = open") RULE("macro", "open_any and proc.name = x")
		RULE("not", "not evt.type = open") RULE("ne", "evt.type != open and proc.name = x")
		    RULE("none", "proc.name = x")
			RULE("mixed", "(open_any and fd.name = a) or (exec and proc.name = b)")
			    RULE("notand", "not (open_any and proc.name = x)")
				RULE("notor", "not (evt.type = open or evt.type = connect)")
				    RULE("dbl", "not not exec")
					RULE("contra", "evt.type = open and evt.type = connect"));

	cr_assert_str_eq(types_of(e, "one"), "0");
	cr_assert_str_eq(types_of(e, "macro"), "0,1,5");
	cr_assert_str_eq(types_of(e, "not"), "1,2,3,4,5,6");
	cr_assert_str_eq(types_of(e, "ne"), "1,2,3,4,5,6");
	cr_assert_str_eq(types_of(e, "none"), "all");
	cr_assert_str_eq(types_of(e, "mixed"), "0,1,2,4,5");
	cr_assert_str_eq(types_of(e, "notand"), "all");
	cr_assert_str_eq(types_of(e, "notor"), "1,2,4,5,6");
	cr_assert_str_eq(types_of(e, "dbl"), "2,4");
	cr_assert_str_eq(types_of(e, "contra"), "");
	rule_engine__free(e);
}

Test(rules_index, unsupported_event_names)
{
	struct rule_engine *e = fake_engine(RULE("r", "evt.type in (open, memfd_create)")
						RULE("never", "evt.type = bpf"));
	const char *d = fake_diags(e);

	cr_assert_eq(rule_engine__error_count(e), 0, "%s", d);
	cr_assert(strstr(d, "test.yaml:3:33: warning: event type 'memfd_create' is not supported"),
		  "%s", d);
	cr_assert(strstr(d, "test.yaml:6:3: warning: rule 'never' can never match"), "%s", d);
	cr_assert_str_eq(types_of(e, "r"), "0");
	cr_assert_str_eq(types_of(e, "never"), "");
	rule_engine__free(e);
}

Test(rules_index, only_indexed_rules_run)
{
	struct rule_engine *e = engine_ok(RULE("open_r", "evt.type = open and proc.name = x") RULE(
	    "exec_r", "evt.type = execve and fd.name = y") RULE("any_r", "user.name = z"));
	struct fake_event ev = {.type = FE_OPEN, .proc_name = "x", .fd_name = "y", .user = "z"};

	cr_assert_str_eq(fake_eval(e, &ev), "open_r,any_r,");
	cr_assert_eq(ev.gets, 2, "fd.name must not be fetched for open events (%d gets)", ev.gets);
	ev.type = FE_EXECVE;
	ev.gets = 0;
	cr_assert_str_eq(fake_eval(e, &ev), "exec_r,any_r,");
	cr_assert_eq(ev.gets, 2);
	ev.type = FE_CONNECT;
	cr_assert_str_eq(fake_eval(e, &ev), "any_r,");
	ev.type = 1000; /* outside the table: only rules for every type */
	cr_assert_str_eq(fake_eval(e, &ev), "any_r,");
	rule_engine__free(e);
}

Test(rules_index, load_order_kept)
{
	struct rule_engine *e = engine_ok(RULE("c", "proc.name = x") RULE("a", "evt.type = open")
					      RULE("b", "proc.name exists"));
	struct fake_event ev = {.type = FE_OPEN, .proc_name = "x"};

	cr_assert_str_eq(fake_eval(e, &ev), "c,a,b,");
	rule_engine__free(e);
}

Test(rules_index, field_fetched_once_per_event)
{
	struct rule_engine *e = engine_ok(RULE("a", "proc.name = x") RULE(
	    "b", "proc.name = y") RULE("c", "proc.name startswith x and proc.name != q"));
	struct fake_event ev = {.type = FE_OPEN, .proc_name = "x"};

	cr_assert_str_eq(fake_eval(e, &ev), "a,c,");
	cr_assert_eq(ev.gets, 1);
	cr_assert_str_eq(fake_eval(e, &ev), "a,c,");
	cr_assert_eq(ev.gets, 2, "a new event fetches again");
	rule_engine__free(e);
}

Test(rules_index, comparisons_written_alike_are_answered_once)
{
	struct rule_engine *e = engine_ok(
	    "- list: names\n  items: [x, y]\n"
	    "- macro: named\n  condition: proc.name in (names)\n" RULE("a", "named and fd.name = f")
		RULE("b", "not named and fd.name = f") RULE("c", "named and fd.name != f")
		    RULE("d", "proc.name in (x, y) and user.name = u") RULE("e", "proc.name = x")
			RULE("re", "fd.name regex 'f.*'")
			    RULE("re2", "fd.name regex 'f.*' and proc.name = x"));
	struct fake_event ev = {.type = FE_OPEN, .proc_name = "x", .fd_name = "f", .user = "u"};

	/* proc.name in (x, y) [the macro's 3 rules and d], fd.name = f [a, b],
	 * fd.name != f, user.name = u, proc.name = x [e, re2], the regex [re, re2] */
	cr_assert_eq(e->cmp_consts.n - 1, 6, "%u comparisons", e->cmp_consts.n - 1);
	cr_assert_str_eq(fake_eval(e, &ev), "a,d,e,re,re2,");
	ev.proc_name = "z";
	cr_assert_str_eq(fake_eval(e, &ev), "b,re,", "a new event is answered afresh");
	ev.fd_name = "g";
	cr_assert_str_eq(fake_eval(e, &ev), "", "a new event is answered afresh");
	ev.proc_name = "y";
	cr_assert_str_eq(fake_eval(e, &ev), "c,d,");
	rule_engine__free(e);
}

Test(rules_index, short_circuit)
{
	struct rule_engine *e =
	    engine_ok(RULE("r", "proc.name = x and (fd.name = a or user.name = b)"));
	struct fake_event ev = {.type = FE_OPEN, .proc_name = "nope"};

	cr_assert_str_eq(fake_eval(e, &ev), "");
	cr_assert_eq(ev.gets, 1, "and stops at the first false operand");
	ev.proc_name = "x";
	ev.fd_name = "a";
	ev.gets = 0;
	cr_assert_str_eq(fake_eval(e, &ev), "r,");
	cr_assert_eq(ev.gets, 2, "or stops at the first true operand");
	rule_engine__free(e);
}

Test(rules_index, shared_codes_and_evt_type_strings)
{
	static const struct rule_evtype_def types[] = {
	    {"open", 0}, {"openat", 0}, {"openat2", 0}, {"execve", 1}};
	struct rule_engine_opts o = fake_opts();
	struct rule_engine *e;
	struct fake_event ev = {.type = 0};

	o.evtypes = types;
	o.n_evtypes = 4;
	e = fake_engine_opts(RULE("r", "evt.type = openat") RULE("s", "evt.type startswith op")
				 RULE("t", "evt.type exists"),
			     &o);
	cr_assert_eq(rule_engine__error_count(e), 0, "%s", fake_diags(e));
	cr_assert_str_eq(fake_eval(e, &ev), "r,s,t,");
	ev.type = 1;
	cr_assert_str_eq(fake_eval(e, &ev), "t,");
	rule_engine__free(e);
}

Test(rules_index, eval_before_compile_fails)
{
	struct rule_engine_opts o = fake_opts();
	struct rule_engine *e = rule_engine__new(&o);
	struct fake_event ev = {0};

	cr_assert_eq(rule_engine__eval(e, 0, &ev, NULL, NULL), -EINVAL);
	rule_engine__free(e);
}

Test(rules_index, bad_options)
{
	struct rule_engine_opts o = fake_opts();
	static const struct rule_field_def nodot[] = {{"name", RULE_FT_STRING, 0, 0, 1}};

	o.get = NULL;
	cr_assert_null(rule_engine__new(&o));
	cr_assert_eq(errno, EINVAL);
	o = fake_opts();
	o.fields = nodot;
	o.n_fields = 1;
	cr_assert_null(rule_engine__new(&o));
}
