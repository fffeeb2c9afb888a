/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * test_rules_prefilter.c - derivation of the kernel prefilter: per event type and
 * field, exact strings, prefixes and numbers, unions over `or`, intersections over
 * `and`, `not` and `!=`, non-reducible operators, the absent-field flag,
 * normalisation, inactive rules ignored; and a randomized property test: for random
 * rules and events, every event some rule matches passes the derived filters.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "rules/fake.h"

/* "all", "none", or "=a =b ^p #1 #2" plus " +absent" */
static const char *pf_text(struct rule_engine *e, uint32_t type, const char *field)
{
	static char buf[2048];
	struct rule_prefilter *pf = rule_engine__prefilter(e, type, field);
	size_t off = 0;

	cr_assert_not_null(pf, "prefilter(%u, %s)", type, field);
	buf[0] = '\0';
	if (pf->all)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "all");
	for (size_t i = 0; i < pf->n_exact; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s=%s", off ? " " : "",
					pf->exact[i].ptr);
	for (size_t i = 0; i < pf->n_prefix; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s^%s", off ? " " : "",
					pf->prefix[i].ptr);
	for (size_t i = 0; i < pf->n_num; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s#%lld", off ? " " : "",
					pf->type == RULE_FT_INT64 ? (long long)(int64_t)pf->num[i]
								  : (long long)pf->num[i]);
	if (!off)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "none");
	if (pf->absent)
		snprintf(buf + off, sizeof(buf) - off, " +absent");
	rule_prefilter__free(pf);
	return buf;
}

Test(rules_prefilter, per_event_type)
{
	struct rule_engine *e =
	    engine_ok(RULE("a", "evt.type = open and fd.name startswith /etc")
			  RULE("b", "evt.type = connect and fd.sport in (80, 22)"));

	cr_assert_str_eq(pf_text(e, FE_OPEN, "fd.name"), "^/etc");
	cr_assert_str_eq(pf_text(e, FE_CONNECT, "fd.name"), "all +absent");
	cr_assert_str_eq(pf_text(e, FE_CONNECT, "fd.sport"), "#22 #80");
	cr_assert_str_eq(pf_text(e, FE_OPEN, "fd.sport"), "all +absent");
	cr_assert_str_eq(pf_text(e, FE_EXECVE, "fd.name"), "none");
	rule_engine__free(e);
}

Test(rules_prefilter, or_and_not)
{
	struct rule_engine *e =
	    engine_ok(RULE("u", "evt.type = open and (fd.name = /a or fd.name startswith /b/)")
			  RULE("i", "evt.type = openat and fd.name startswith /etc and fd.name in "
				    "(/etc/passwd, /var/x)")
			      RULE("n", "evt.type = execve and not fd.name startswith /tmp")
				  RULE("nn", "evt.type = connect and not fd.name != /x")
				      RULE("ex", "evt.type = ptrace and fd.name exists")
					  RULE("nex", "evt.type = openat2 and not fd.name exists"));

	cr_assert_str_eq(pf_text(e, FE_OPEN, "fd.name"), "=/a ^/b/");
	cr_assert_str_eq(pf_text(e, FE_OPENAT, "fd.name"), "=/etc/passwd");
	cr_assert_str_eq(pf_text(e, FE_EXECVE, "fd.name"), "all +absent");
	cr_assert_str_eq(pf_text(e, FE_CONNECT, "fd.name"), "=/x +absent");
	cr_assert_str_eq(pf_text(e, FE_PTRACE, "fd.name"), "all");
	cr_assert_str_eq(pf_text(e, FE_OPENAT2, "fd.name"), "none +absent");
	rule_engine__free(e);
}

Test(rules_prefilter, operators)
{
	static const struct {
		const char *cond;
		const char *want;
	} cases[] = {
	    {"fd.name contains x", "all"},
	    {"fd.name endswith .so", "all"},
	    {"fd.name icontains x", "all"},
	    {"fd.name regex \"/etc/.*\"", "all"},
	    {"fd.name != /x", "all"},
	    {"fd.name glob \"/home/*/.ssh/*\"", "^/home/"},
	    {"fd.name glob /etc/passwd", "=/etc/passwd"},
	    {"fd.name glob \"*.pem\"", "all"},
	    {"fd.name iglob /etc/x", "all"},
	    {"fd.name pmatch (/etc, \"/usr/*/bin\")", "^/etc ^/usr/"},
	    {"fd.name bstartswith 2f", "^/"},
	    {"fd.name = val(proc.name)", "all"},
	    {"proc.name = val(fd.name)", "all"},
	    {"fd.name < /m", "all"},
	    {"proc.name = bash", "all +absent"},
	    {"fd.name startswith /etc or fd.name startswith /etc/ssh or fd.name = /etc/passwd "
	     "or fd.name = /var/a",
	     "=/var/a ^/etc"},
	    {"fd.name in (/a, /b) and fd.name in (/b, /c)", "=/b"},
	    {"fd.name startswith /a and fd.name startswith /a/b", "^/a/b"},
	    {"fd.name startswith /a and fd.name startswith /b", "none"},
	    {"(fd.name = /a or proc.name = x) and fd.name = /b", "=/b"},
	    {"fd.name = /a or proc.name = x", "all +absent"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char y[1024];
		struct rule_engine *e;

		snprintf(y, sizeof(y), RULE("r", "'%s'"), cases[i].cond);
		e = engine_ok(y);
		cr_assert_str_eq(pf_text(e, FE_OPEN, "fd.name"), cases[i].want, "%s",
				 cases[i].cond);
		rule_engine__free(e);
	}
}

Test(rules_prefilter, numbers)
{
	struct rule_engine *e = engine_ok(RULE("a", "proc.pid in (5, -1) or proc.pid = 0x10")
					      RULE("b", "evt.type = connect and fd.sport > 1024"));

	cr_assert_str_eq(pf_text(e, FE_OPEN, "proc.pid"), "#-1 #5 #16");
	cr_assert_str_eq(pf_text(e, FE_CONNECT, "proc.pid"), "all +absent");
	cr_assert_str_eq(pf_text(e, FE_OPEN, "fd.sip"), "all +absent");
	rule_engine__free(e);
}

/* The engine keeps every value, those the kernel cannot compare too: dropping one is
 * for the map writer's side to refuse (it sends the type whole), never silently here. */
Test(rules_prefilter, port_zero_and_odd_values_are_kept)
{
	struct rule_engine *e =
	    engine_ok(RULE("a", "evt.type = connect and fd.sport in (0, 4444, 70000)")
			  RULE("b", "evt.type = open and fd.name in (\"\", rel/x, /abs)"));

	cr_assert_str_eq(pf_text(e, FE_CONNECT, "fd.sport"), "#0 #4444 #70000");
	cr_assert_str_eq(pf_text(e, FE_OPEN, "fd.name"), "= =/abs =rel/x");
	rule_engine__free(e);
}

Test(rules_prefilter, exceptions_and_inactive_rules)
{
	struct rule_engine_opts o = fake_opts();
	struct rule_engine *e;

	o.min_priority = RULE_PRIO_WARNING;
	e = fake_engine_opts(
	    "- rule: r\n  desc: d\n  condition: fd.name startswith /etc\n  output: o\n"
	    "  priority: ERROR\n  exceptions:\n    - name: x\n      fields: [fd.name]\n"
	    "      values: [[/etc/hosts]]\n"
	    "- rule: off\n  desc: d\n  condition: fd.name contains x\n  output: o\n"
	    "  priority: ERROR\n  enabled: false\n"
	    "- rule: low\n  desc: d\n  condition: fd.name contains x\n  output: o\n"
	    "  priority: DEBUG\n",
	    &o);
	cr_assert_eq(rule_engine__error_count(e), 0, "%s", fake_diags(e));
	cr_assert_str_eq(pf_text(e, FE_OPEN, "fd.name"), "^/etc");
	rule_engine__free(e);
}

Test(rules_prefilter, match_and_errors)
{
	struct rule_engine *e = engine_ok(
	    RULE("a", "evt.type = open and (fd.name in (/x, /y) or fd.name startswith /p/)")
		RULE("b", "evt.type = connect and fd.sport = 22")
		    RULE("c", "evt.type = execve and not fd.name exists"));
	struct rule_prefilter *pf = rule_engine__prefilter(e, FE_OPEN, "fd.name");
	struct rule_value v;

	v.str.ptr = "/y";
	v.str.len = 2;
	cr_assert(rule_prefilter__match(pf, &v));
	v.str.ptr = "/p/q";
	v.str.len = 4;
	cr_assert(rule_prefilter__match(pf, &v));
	v.str.ptr = "/p";
	v.str.len = 2;
	cr_assert_not(rule_prefilter__match(pf, &v));
	cr_assert_not(rule_prefilter__match(pf, NULL));
	rule_prefilter__free(pf);

	pf = rule_engine__prefilter(e, FE_CONNECT, "fd.sport");
	v.u64 = 22;
	cr_assert(rule_prefilter__match(pf, &v));
	v.u64 = 23;
	cr_assert_not(rule_prefilter__match(pf, &v));
	rule_prefilter__free(pf);

	pf = rule_engine__prefilter(e, FE_EXECVE, "fd.name");
	cr_assert(rule_prefilter__match(pf, NULL));
	rule_prefilter__free(pf);

	cr_assert_null(rule_engine__prefilter(e, FE_OPEN, "no.such"));
	cr_assert_eq(errno, ENOENT);
	rule_engine__free(e);
}

/* ---- property: nothing a rule matches is ever filtered out ---- */

static unsigned rs = 7;

static unsigned rnd(unsigned n)
{
	rs = rs * 1103515245u + 12345u;
	return (rs >> 16) % n;
}

static const char *const paths[] = {"/a",   "/a/b", "/a/bc", "/ab",    "/b",
				    "/b/a", "a",    "/",     "/a/b/c", ""};
#define NPATHS (sizeof(paths) / sizeof(paths[0]))

static size_t gen_leaf(char *o, size_t n)
{
	static const char *const sops[] = {
	    "=",  "!=",	    "startswith", "endswith", "contains", "icontains",	"exists",
	    "in", "pmatch", "glob",	  "regex",    "<",	  "bstartswith"};
	static const char *const globs[] = {"/a/*", "/*", "*b", "/a?", "/b/[ab]", "/a/b", "*"};
	static const char *const types[] = {"open", "openat", "execve"};
	const char *field;

	switch (rnd(5)) {
	case 0:
		switch (rnd(3)) {
		case 0:
			return (size_t)snprintf(o, n, "evt.type = %s", types[rnd(3)]);
		case 1:
			return (size_t)snprintf(o, n, "evt.type in (%s, %s)", types[rnd(3)],
						types[rnd(3)]);
		default:
			return (size_t)snprintf(o, n, "evt.type != %s", types[rnd(3)]);
		}
	case 1: {
		static const char *const nops[] = {"=", "!=", ">", "<", "in", "exists"};
		const char *op = nops[rnd(6)];

		if (!strcmp(op, "exists"))
			return (size_t)snprintf(o, n, "fd.sport exists");
		if (!strcmp(op, "in"))
			return (size_t)snprintf(o, n, "fd.sport in (%u, %u)", rnd(4), rnd(4));
		return (size_t)snprintf(o, n, "fd.sport %s %u", op, rnd(4));
	}
	default:
		field = rnd(3) ? "fd.name" : "proc.name";
	}

	const char *op = sops[rnd(sizeof(sops) / sizeof(sops[0]))];
	if (!strcmp(op, "exists"))
		return (size_t)snprintf(o, n, "%s exists", field);
	if (!strcmp(op, "in") || !strcmp(op, "pmatch"))
		return (size_t)snprintf(
		    o, n, "%s %s (\"%s\", \"%s\")", field, op, paths[rnd(NPATHS - 1)],
		    !strcmp(op, "pmatch") && rnd(2) ? "/b/*" : paths[rnd(NPATHS - 1)]);
	if (!strcmp(op, "glob"))
		return (size_t)snprintf(o, n, "%s glob \"%s\"", field, globs[rnd(7)]);
	if (!strcmp(op, "regex"))
		return (size_t)snprintf(o, n, "%s regex \"/a.*\"", field);
	if (!strcmp(op, "bstartswith"))
		return (size_t)snprintf(o, n, "%s bstartswith 2f61", field);
	return (size_t)snprintf(o, n, "%s %s \"%s\"", field, op, paths[rnd(NPATHS - 1)]);
}

static size_t gen_cond(char *o, size_t n, int depth)
{
	unsigned r = rnd(10);

	if (depth > 3 || r < 4)
		return gen_leaf(o, n);
	if (r < 9) {
		size_t l = (size_t)snprintf(o, n, "(");

		l += gen_cond(o + l, n - l, depth + 1);
		l += (size_t)snprintf(o + l, n - l, r < 6 ? " and " : " or ");
		l += gen_cond(o + l, n - l, depth + 1);
		return l + (size_t)snprintf(o + l, n - l, ")");
	}
	size_t l = (size_t)snprintf(o, n, "not (");
	l += gen_cond(o + l, n - l, depth + 1);
	return l + (size_t)snprintf(o + l, n - l, ")");
}

static const char *rnd_path(char *buf)
{
	static const char *const extra[] = {"/a/x", "/abc", "/b/a/c", "/c", "/A/B", "b"};

	switch (rnd(4)) {
	case 0:
		return NULL;
	case 1:
		return extra[rnd(6)];
	default:
		strcpy(buf, paths[rnd(NPATHS)]);
		return buf;
	}
}

Test(rules_prefilter, property_no_false_negatives)
{
	static const char *const fields[] = {"fd.name", "proc.name", "fd.sport"};
	static const uint32_t types[] = {FE_OPEN, FE_OPENAT, FE_EXECVE};
	long checked = 0;

	for (int round = 0; round < 400; round++) {
		char y[16384];
		size_t off = 0;
		int nr = 1 + (int)rnd(5);

		for (int i = 0; i < nr; i++) {
			char c[4096];

			gen_cond(c, sizeof(c), 0);
			off += (size_t)snprintf(
			    y + off, sizeof(y) - off,
			    "- rule: r%d\n  desc: d\n  condition: '%s'\n  output: o\n"
			    "  priority: INFO\n",
			    i, c);
		}
		struct rule_engine *e = fake_engine(y);
		cr_assert_eq(rule_engine__error_count(e), 0, "%s\n%s", y, fake_diags(e));

		struct rule_prefilter *pf[3][3];
		for (int t = 0; t < 3; t++)
			for (int f = 0; f < 3; f++)
				pf[t][f] = rule_engine__prefilter(e, types[t], fields[f]);

		for (int k = 0; k < 300; k++) {
			char b1[16], b2[16];
			struct fake_event ev = {.type = types[rnd(3)]};
			int t = ev.type == FE_OPEN ? 0 : ev.type == FE_OPENAT ? 1 : 2;

			ev.fd_name = rnd_path(b1);
			ev.proc_name = rnd_path(b2);
			ev.has_sport = rnd(4) != 0;
			ev.sport = rnd(5);
			if (rule_engine__eval(e, ev.type, &ev, NULL, NULL) <= 0)
				continue;

			struct rule_value v[3];
			const struct rule_value *vp[3] = {NULL, NULL, NULL};
			if (ev.fd_name) {
				v[0].str.ptr = ev.fd_name;
				v[0].str.len = strlen(ev.fd_name);
				vp[0] = &v[0];
			}
			if (ev.proc_name) {
				v[1].str.ptr = ev.proc_name;
				v[1].str.len = strlen(ev.proc_name);
				vp[1] = &v[1];
			}
			if (ev.has_sport) {
				v[2].u64 = ev.sport;
				vp[2] = &v[2];
			}
			for (int f = 0; f < 3; f++) {
				cr_assert(rule_prefilter__match(pf[t][f], vp[f]),
					  "%s dropped a matching event: type %u fd.name=%s "
					  "proc.name=%s sport=%s%lu\nrules:\n%s",
					  fields[f], ev.type, ev.fd_name ? ev.fd_name : "<absent>",
					  ev.proc_name ? ev.proc_name : "<absent>",
					  ev.has_sport ? "" : "<absent>", (unsigned long)ev.sport,
					  y);
				checked++;
			}
		}
		for (int t = 0; t < 3; t++)
			for (int f = 0; f < 3; f++)
				rule_prefilter__free(pf[t][f]);
		rule_engine__free(e);
	}
	cr_assert_gt(checked, 10000, "too few matching events exercised (%ld)", checked);
}

/* The filter also has to be useful: a lone prefix rule drops what it cannot match. */
Test(rules_prefilter, property_is_reductive_for_simple_rules)
{
	struct rule_engine *e = engine_ok(RULE("r", "fd.name pmatch (/a/b) and proc.name = x"));
	struct rule_prefilter *pf = rule_engine__prefilter(e, FE_OPEN, "fd.name");
	struct rule_value v = {.str = {"/c", 2}};

	cr_assert_not(pf->all);
	cr_assert_not(rule_prefilter__match(pf, &v));
	rule_prefilter__free(pf);
	rule_engine__free(e);
}
