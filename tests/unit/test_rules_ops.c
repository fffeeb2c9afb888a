/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * test_rules_ops.c - every comparison operator on every field type, on missing
 * fields (false, and true under `not`), multi-valued and indexed fields, key
 * arguments, val(), type errors, and randomized cross-checks of the glob matcher
 * against fnmatch(3), of the prefix array and of merged `=`/`startswith` chains
 * against a direct computation.
 */
#include <criterion/criterion.h>
#include <fnmatch.h>

#include "rules/fake.h"
#include "rules/rules_int.h"

static struct fake_event ev_full(void)
{
	struct fake_event ev = {
	    .type = FE_OPENAT,
	    .proc_name = "bash",
	    .proc_pname = "sshd",
	    .cmdline = "bash -c 'Echo HELLO'",
	    .pid = -42,
	    .has_pid = true,
	    .anames = {"sshd", "systemd", "init"},
	    .n_anames = 3,
	    .fd_name = "/etc/shadow",
	    .fd_dir = "/etc",
	    .sport = 443,
	    .has_sport = true,
	    .sip = "10.1.2.3",
	    .arg_flags = "O_RDWR|O_TRUNC",
	    .is_write = 1,
	    .user = "root",
	    .rawres = 3,
	    .has_rawres = true,
	};
	return ev;
}

#define YES(c) cr_assert(fake_cond((c), &ev), "should match: %s", (c))
#define NO(c)  cr_assert_not(fake_cond((c), &ev), "should not match: %s", (c))

Test(rules_ops, string_equality_and_order)
{
	struct fake_event ev = ev_full();

	YES("proc.name = bash");
	YES("proc.name == \"bash\"");
	NO("proc.name = bas");
	YES("proc.name != zsh");
	NO("proc.name != bash");
	YES("proc.name < bashx and proc.name > bas and proc.name <= bash and proc.name >= bash");
	YES("proc.name > B");
	NO("proc.name < b");
}

Test(rules_ops, string_matching)
{
	struct fake_event ev = ev_full();

	YES("proc.cmdline contains \"-c \"");
	NO("proc.cmdline contains hello");
	YES("proc.cmdline icontains hello");
	YES("proc.cmdline icontains \"ECHO hello\"");
	YES("proc.cmdline startswith \"bash -c\"");
	NO("proc.cmdline startswith \"-c\"");
	YES("proc.cmdline endswith \"HELLO''\"");
	YES("fd.name endswith shadow");
	NO("fd.name endswith /etc");
	YES("proc.name bcontains 6173");   /* "as" */
	YES("proc.name bstartswith 6261"); /* "ba" */
	NO("proc.name bstartswith 6173");
	YES("fd.name glob \"/etc/*\"");
	YES("fd.name glob \"/e?c/s[a-h]adow\"");
	NO("fd.name glob \"/etc\"");
	NO("fd.name glob \"/ETC/*\"");
	YES("fd.name iglob \"/ETC/*\"");
	YES("fd.name regex \"/etc/[a-z]+\"");
	NO("fd.name regex \"etc\""); /* full match only */
	YES("fd.name regex \"/e(tc|xx)/sha.ow\"");
}

Test(rules_ops, string_sets)
{
	struct fake_event ev = ev_full();

	YES("proc.name in (zsh, bash)");
	NO("proc.name in (zsh, ba)");
	YES("proc.name intersects (bash)");
	YES("fd.name pmatch (/etc)");
	YES("fd.name pmatch (/usr, /etc/)");
	YES("fd.name pmatch (/etc/shadow)");
	YES("fd.name pmatch (/)");
	NO("fd.name pmatch (/et)");
	NO("fd.name pmatch (/etc/shadow/x)");
	YES("fd.name pmatch (/e*)");
	NO("fd.name pmatch (/x*)");
}

Test(rules_ops, pmatch_boundaries)
{
	struct fake_event ev = ev_full();

	ev.fd_name = "/etcx";
	NO("fd.name pmatch (/etc)");
	ev.fd_name = "/etc";
	YES("fd.name pmatch (/etc)");
	ev.fd_name = "/etc/x/y";
	YES("fd.name pmatch (/etc/x)");
	YES("fd.name pmatch (/var/run, /etc)");
}

Test(rules_ops, missing_fields_are_false)
{
	struct fake_event ev = {.type = FE_OPENAT, .is_write = -1};
	const char *ops[] = {"proc.name = a",
			     "proc.name != a",
			     "proc.name < a",
			     "proc.name contains a",
			     "proc.name icontains a",
			     "proc.name startswith a",
			     "proc.name endswith a",
			     "proc.name glob *",
			     "proc.name regex \".*\"",
			     "proc.name in (a)",
			     "proc.name pmatch (/)",
			     "proc.name exists",
			     "proc.pid = 1",
			     "proc.pid != 1",
			     "proc.pid > -100",
			     "fd.sport in (1, 2)",
			     "fd.sip = 10.0.0.1",
			     "fd.sip != 10.0.0.1",
			     "evt.is_open_write = false",
			     "evt.is_open_write != true",
			     "proc.aname = x",
			     "proc.aname[1] = x",
			     "evt.arg.flags contains O",
			     "proc.name = val(proc.pname)"};
	char neg[256];

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		NO(ops[i]);
		snprintf(neg, sizeof(neg), "not %s", ops[i]);
		YES(neg);
	}
}

Test(rules_ops, integers)
{
	struct fake_event ev = ev_full();

	YES("proc.pid = -42");
	YES("proc.pid < 0 and proc.pid > -43 and proc.pid >= -42 and proc.pid <= -42");
	YES("proc.pid != 42");
	YES("proc.pid in (1, -42, 7)");
	NO("proc.pid in (1, 42)");
	YES("evt.rawres = 0x3");
	YES("fd.sport = 443");
	YES("fd.sport in (80, 443, 8443)");
	YES("fd.sport > 442");
	NO("fd.sport intersects (80)");
	ev.sport = UINT64_MAX;
	YES("fd.sport > 9223372036854775807");
}

Test(rules_ops, booleans)
{
	struct fake_event ev = ev_full();

	YES("evt.is_open_write = true");
	YES("evt.is_open_write = TRUE");
	NO("evt.is_open_write = false");
	YES("evt.is_open_write != false");
	YES("evt.is_open_write in (true)");
	ev.is_write = 0;
	YES("evt.is_open_write = false");
	NO("evt.is_open_write in (true)");
}

Test(rules_ops, addresses_and_networks)
{
	struct fake_event ev = ev_full();

	YES("fd.sip = 10.1.2.3");
	YES("fd.sip = \"10.0.0.0/8\"");
	NO("fd.sip = \"10.1.3.0/24\"");
	YES("fd.sip != 10.1.2.4");
	YES("fd.sip in (\"192.168.0.0/16\", \"10.1.2.0/23\")");
	YES("fd.net = \"10.0.0.0/8\"");
	NO("fd.net != \"10.0.0.0/8\"");
	YES("not fd.net in (\"127.0.0.0/8\", \"172.16.0.0/12\")");
	ev.sip = "2001:db8::1";
	YES("fd.sip = \"2001:db8::/32\"");
	NO("fd.sip = 10.1.2.3");
	YES("fd.sip = \"2001:db8::1\"");
}

Test(rules_ops, multi_valued_and_indexed)
{
	struct fake_event ev = ev_full();

	YES("proc.aname = systemd");
	YES("proc.aname in (init, x)");
	NO("proc.aname = bash");
	YES("proc.aname startswith sys");
	YES("proc.aname[1] = sshd");
	YES("proc.aname[2] = systemd");
	NO("proc.aname[2] = sshd");
	YES("proc.aname[0] = bash");
	NO("proc.aname[4] exists");
	YES("proc.aname[3] exists");
}

Test(rules_ops, key_arguments)
{
	struct fake_event ev = ev_full();

	YES("evt.arg.flags contains O_TRUNC");
	YES("evt.arg[flags] contains O_TRUNC");
	NO("evt.arg.target exists");
	ev.arg_target = "/etc/shadow";
	YES("evt.arg.target in (/etc/shadow)");
}

Test(rules_ops, field_to_field)
{
	struct fake_event ev = ev_full();

	ev.proc_pname = "bash";
	YES("proc.name = val(proc.pname)");
	YES("proc.cmdline startswith val(proc.name)");
	NO("proc.name != val(proc.pname)");
	YES("evt.rawres < val(fd.sport)");
	YES("proc.pid < val(fd.sport)");
	NO("proc.pid > val(fd.sport)");
}

static void expect_error(const char *cond, const char *want)
{
	char yaml[2048];
	struct rule_engine *e;

	snprintf(yaml, sizeof(yaml),
		 "- rule: r\n  desc: d\n  condition: '%s'\n  output: o\n  priority: INFO\n", cond);
	e = fake_engine(yaml);
	cr_assert_eq(rule_engine__error_count(e), 1, "%s:\n%s", cond, fake_diags(e));
	cr_assert(strstr(fake_diags(e), want), "%s: want '%s' in:\n%s", cond, want, fake_diags(e));
	rule_engine__free(e);
}

Test(rules_ops, type_errors)
{
	expect_error("proc.pid = abc",
		     "test.yaml:3:26: error: invalid value 'abc' for field 'proc.pid' (int64)");
	expect_error("fd.sport = -1", "invalid value '-1' for field 'fd.sport' (uint64)");
	expect_error("fd.sport in (80, http)", "test.yaml:3:32: error: invalid value 'http'");
	expect_error("evt.is_open_write = yes", "expected true or false");
	expect_error("fd.sip = 300.1.1.1", "expected an IP address or CIDR network");
	expect_error("fd.sip = \"10.0.0.0/33\"", "invalid value");
	expect_error("proc.pid contains 1",
		     "test.yaml:3:15: error: operator 'contains' cannot be used with field "
		     "'proc.pid' (int64)");
	expect_error("fd.sport pmatch (1)", "cannot be used with field 'fd.sport'");
	expect_error("proc.name regex \"a(\"", "invalid regex 'a('");
	expect_error("proc.name bcontains 6", "even number of hex digits");
	expect_error("proc.name bcontains zz", "takes hex digits");
	expect_error("proc.name = val(proc.pid)", "cannot compare 'proc.name' (string)");
	expect_error("proc.name[1] = a", "field 'proc.name' takes no argument");
	expect_error("proc.aname[x] = a", "takes a non-negative number");
	expect_error("evt.arg = a", "field 'evt.arg' needs an argument");
	expect_error("proc.name in nolist", "'nolist' is not a defined list");
}

/* ---- randomized cross-checks ---- */

static unsigned rnd_state = 12345;

static unsigned rnd(unsigned n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 16) % n;
}

static void rnd_str(char *out, size_t max, const char *alphabet)
{
	size_t n = rnd((unsigned)max);
	size_t al = strlen(alphabet);

	for (size_t i = 0; i < n; i++)
		out[i] = alphabet[rnd((unsigned)al)];
	out[n] = '\0';
}

/* Pieces: literals, '*', '?', and closed bracket expressions with ranges and negation. */
static void rnd_glob(char *out, size_t max)
{
	size_t n = 0;

	while (n + 6 < max && rnd(4)) {
		switch (rnd(5)) {
		case 0:
			out[n++] = '*';
			break;
		case 1:
			out[n++] = '?';
			break;
		case 2: {
			out[n++] = '[';
			if (rnd(3) == 0)
				out[n++] = '!';
			out[n++] = "ab]-c"[rnd(5)];
			if (rnd(2)) {
				out[n++] = '-';
				out[n++] = "abc"[rnd(3)];
			}
			out[n++] = ']';
			break;
		}
		default:
			out[n++] = "ab/-!"[rnd(5)];
		}
	}
	out[n] = '\0';
}

Test(rules_ops, glob_agrees_with_fnmatch)
{
	char pat[32], s[16];

	for (int i = 0; i < 200000; i++) {
		if (i % 2)
			rnd_str(pat, 9, "ab/*?[]!");
		else
			rnd_glob(pat, sizeof(pat));
		rnd_str(s, 9, "abc/-[]!");
		bool want = fnmatch(pat, s, 0) == 0;
		bool got = glob_match(pat, strlen(pat), s, strlen(s), false);

		cr_assert_eq(got, want, "glob '%s' on '%s': got %d, fnmatch says %d", pat, s, got,
			     want);
	}
}

static void count_prefix(void *arg, uint32_t i)
{
	(void)i;
	++*(uint32_t *)arg;
}

/* prefixes_match() and prefixes_each(), with the trie and with bisection alike */
Test(rules_ops, prefixes_agree_with_naive)
{
	struct arena ar = {0};

	for (int round = 0; round < 2000; round++) {
		struct rstr v[8];
		char bufs[8][8], s[12];
		uint32_t n = rnd(8);

		for (uint32_t i = 0; i < n; i++) {
			rnd_str(bufs[i], 6, "abc");
			v[i].p = bufs[i];
			v[i].n = strlen(bufs[i]);
		}
		struct prefixes *ps = prefixes_build(&ar, v, n);
		struct prefixes searched = {.v = ps->v, .n = ps->n}; /* no trie: bisection */

		for (int k = 0; k < 20; k++) {
			bool want = false;
			uint32_t want_all = 0, seen = 0, seen_searched = 0;

			rnd_str(s, 10, "abc");
			for (uint32_t i = 0; i < n; i++)
				want |= !strncmp(s, bufs[i], strlen(bufs[i]));
			for (uint32_t i = 0; i < ps->n; i++)
				want_all += !strncmp(s, ps->v[i].p, ps->v[i].n);
			cr_assert_eq(prefixes_match(ps, s, strlen(s)), want, "'%s'", s);
			cr_assert_eq(prefixes_match(&searched, s, strlen(s)), want, "'%s'", s);
			cr_assert_eq(prefixes_each(ps, s, strlen(s), count_prefix, &seen), want_all,
				     "'%s'", s);
			cr_assert_eq(seen, want_all);
			cr_assert_eq(
			    prefixes_each(&searched, s, strlen(s), count_prefix, &seen_searched),
			    want_all, "'%s'", s);
		}
	}
	ar_release(&ar);
}

/* `or` chains of = and startswith on one field are merged into set lookups. */
Test(rules_ops, merged_chains_keep_semantics)
{
	for (int round = 0; round < 300; round++) {
		char cond[2048] = "", vals[6][8];
		bool sw[6];
		int n = 2 + (int)rnd(5);
		size_t off = 0;

		for (int i = 0; i < n; i++) {
			rnd_str(vals[i], 5, "ab/");
			if (!vals[i][0])
				strcpy(vals[i], "a");
			sw[i] = rnd(2);
			off += (size_t)snprintf(cond + off, sizeof(cond) - off,
						"%sproc.name %s \"%s\"", i ? " or " : "",
						sw[i] ? "startswith" : "=", vals[i]);
		}
		snprintf(cond + off, sizeof(cond) - off, " or user.name = u");

		char yaml[4096];
		snprintf(yaml, sizeof(yaml),
			 "- rule: r\n  desc: d\n  condition: '%s'\n  output: o\n  priority: INFO\n",
			 cond);
		struct rule_engine *e = fake_engine(yaml);
		cr_assert_eq(rule_engine__error_count(e), 0, "%s", fake_diags(e));
		for (int k = 0; k < 30; k++) {
			char s[12];
			bool want = false;
			struct fake_event ev = {.type = FE_OPEN, .proc_name = s, .user = "x"};

			rnd_str(s, 7, "ab/");
			for (int i = 0; i < n; i++)
				want |= sw[i] ? !strncmp(s, vals[i], strlen(vals[i]))
					      : !strcmp(s, vals[i]);
			cr_assert_eq(rule_engine__eval(e, FE_OPEN, &ev, NULL, NULL) == 1, want,
				     "%s on '%s'", cond, s);
		}
		rule_engine__free(e);
	}
}
