/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * test_rules_comm.c - literals longer than a comm: proc.name, proc.pname and proc.aname
 * hold at most RULE_COMM_MAX (15) bytes, so a longer literal compared with them (inline,
 * through a list or macro, in an exception) is reported as a warning at the literal's
 * file:line:col, naming the rule, the field and the literal. Matching stays as written.
 */
#include <criterion/criterion.h>

#include "rules/fake.h"

/* Warnings whose text holds needle. */
static int count_diags(const struct rule_engine *e, const char *needle)
{
	char buf[1024];
	int n = 0;

	for (size_t i = 0; i < rule_engine__diag_count(e); i++) {
		rule_diag__format(rule_engine__diag(e, i), buf, sizeof(buf));
		if (strstr(buf, needle))
			n++;
	}
	return n;
}

#define COMM_WARN "is the task comm, at most 15 bytes"

Test(rules_comm, equality_warns_at_the_literal)
{
	struct rule_engine *e = engine_ok(RULE("sysusers", "proc.name = systemd-sysusers"));

	cr_assert_eq(rule_engine__diag_count(e), 1, "%s", fake_diags(e));
	cr_assert_eq(count_diags(e, "test.yaml:3:26: warning: rule 'sysusers': proc.name " COMM_WARN
				    ", so comparing it with 'systemd-sysusers' (16 bytes) cannot "
				    "match as written: compare proc.exepath or proc.exe, or the "
				    "first 15 bytes ('systemd-sysuser')"),
		     1, "%s", fake_diags(e));
	rule_engine__free(e);
}

Test(rules_comm, matching_is_unchanged)
{
	struct fake_event ev = {.type = FE_OPENAT, .proc_name = "systemd-sysusers"};
	struct fake_event cut = {.type = FE_OPENAT, .proc_name = "systemd-sysuser"};

	/* a warning, not a rewrite: the literal is compared whole, as Falco does */
	cr_assert(fake_cond("proc.name = systemd-sysusers", &ev));
	cr_assert_not(fake_cond("proc.name = systemd-sysusers", &cut));
	cr_assert(fake_cond("proc.name in (systemd-sysusers, x)", &ev));
}

Test(rules_comm, in_lists_and_macros)
{
	struct rule_engine *e = engine_ok("- list: tools\n"
					  "  items: [useradd, systemd-tmpfiles]\n"
					  "- macro: tool_procs\n"
					  "  condition: proc.pname in (tools)\n" RULE(
					      "r", "proc.name in (ok, update-ca-certificates) and "
						   "not tool_procs"));

	cr_assert_eq(rule_engine__diag_count(e), 2, "%s", fake_diags(e));
	cr_assert_eq(count_diags(e, "test.yaml:7:32: warning: rule 'r': proc.name " COMM_WARN
				    ", so comparing it with 'update-ca-certificates' (22 bytes)"),
		     1, "%s", fake_diags(e));
	/* the list item's own position, and the macro that compares it */
	cr_assert_eq(count_diags(e, "test.yaml:2:20: warning: rule 'r' (macro 'tool_procs'): "
				    "proc.pname " COMM_WARN
				    ", so comparing it with 'systemd-tmpfiles' (16 bytes)"),
		     1, "%s", fake_diags(e));
	cr_assert_eq(count_diags(e, "'useradd'"), 0);
	rule_engine__free(e);
}

Test(rules_comm, exceptions)
{
	struct rule_engine *e = engine_ok(RULE(
	    "x",
	    "evt.type = openat and fd.name startswith /etc/") "  exceptions:\n"
							      "    - name: own\n"
							      "      fields: [proc.name, fd.name]\n"
							      "      comps: [in, startswith]\n"
							      "      values:\n"
							      "        - [[ldconfig, "
							      "systemd-machine-id-setup], "
							      "/etc/machine-id]\n"
							      "    - name: one\n"
							      "      fields: proc.aname[1]\n"
							      "      values: "
							      "[unattended-upgrades]\n");

	cr_assert_eq(rule_engine__diag_count(e), 2, "%s", fake_diags(e));
	cr_assert_eq(count_diags(e, "test.yaml:11:23: warning: rule 'x': proc.name " COMM_WARN
				    ", so comparing it with 'systemd-machine-id-setup' (24 bytes)"),
		     1, "%s", fake_diags(e));
	cr_assert_eq(count_diags(e, "test.yaml:14:16: warning: rule 'x': proc.aname[1] " COMM_WARN
				    ", so comparing it with 'unattended-upgrades' (19 bytes)"),
		     1, "%s", fake_diags(e));
	rule_engine__free(e);
}

Test(rules_comm, prefix_suffix_and_substring)
{
	struct rule_engine *e =
	    engine_ok(RULE("p", "proc.name startswith systemd-sysusers or proc.name endswith "
				"abcdefghijklmnop or proc.name contains abcdefghijklmnop or "
				"proc.name != abcdefghijklmnop"));

	cr_assert_eq(count_diags(e, COMM_WARN), 4, "%s", fake_diags(e));
	rule_engine__free(e);
}

Test(rules_comm, none_for_15_bytes_other_fields_or_patterns)
{
	struct rule_engine *e = engine_ok(
	    "- list: comms\n"
	    "  items: [systemd-sysuser, '\"runc:[0:PARENT]\"']\n" RULE(
		"q", "(proc.name in (comms, update-ca-certi) or proc.name = \"runc:[2:INIT]\""
		     " or proc.cmdline = /usr/bin/systemd-sysusers"
		     " or fd.name in (/etc/systemd/system/a-very-long-unit-name.service)"
		     " or proc.name glob \"systemd-sysusers*\""
		     " or proc.name regex \"systemd-sysusers.*\"" /* patterns: not literals */
		     " or proc.name pmatch (/usr/lib/systemd/systemd-sysusers))"));

	cr_assert_eq(rule_engine__diag_count(e), 0, "%s", fake_diags(e));
	rule_engine__free(e);
}
