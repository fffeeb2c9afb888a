/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * test_rules_loader.c - rules files as Falco reads them: macros and lists (nested,
 * expanded inside `in`), append and override, enabled toggling, redefinition across
 * files, exceptions in both forms, priorities and the minimum priority, other
 * sources, unknown keys, the `actions` extension, and every kind of load error
 * reported at file:line:col.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "respond/action.h"
#include "rules/fake.h"

#define SEC 1000000000ull

static const char *first_error(struct rule_engine *e)
{
	static char buf[1024];

	for (size_t i = 0; i < rule_engine__diag_count(e); i++) {
		if (rule_engine__diag(e, i)->level == RULE_DIAG_ERROR) {
			rule_diag__format(rule_engine__diag(e, i), buf, sizeof(buf));
			return buf;
		}
	}
	return "";
}

#define assert_error(yaml, prefix)                                                                 \
	do {                                                                                       \
		struct rule_engine *e_ = fake_engine(yaml);                                        \
		const char *got_ = first_error(e_);                                                \
		cr_assert(!strncmp(got_, (prefix), strlen(prefix)), "got:  %s\nwant: %s...", got_, \
			  (prefix));                                                               \
		rule_engine__free(e_);                                                             \
	} while (0)

Test(rules_loader, macros_nested)
{
	struct rule_engine *e =
	    engine_ok("- macro: is_open\n"
		      "  condition: evt.type in (open, openat)\n"
		      "- macro: shell\n"
		      "  condition: proc.name in (bash, sh)\n"
		      "- macro: shell_open\n"
		      "  condition: is_open and shell\n" RULE("r", "shell_open and not "
								   "proc.pname = x"));
	struct fake_event ev = {.type = FE_OPENAT, .proc_name = "sh", .proc_pname = "y"};

	cr_assert_str_eq(fake_eval(e, &ev), "r,");
	ev.type = FE_EXECVE;
	cr_assert_str_eq(fake_eval(e, &ev), "");
	rule_engine__free(e);
}

Test(rules_loader, macro_defined_after_use)
{
	struct rule_engine *e = engine_ok(RULE("r", "later") "- macro: later\n"
							     "  condition: proc.name = a\n");
	struct fake_event ev = {.proc_name = "a"};

	cr_assert_str_eq(fake_eval(e, &ev), "r,");
	rule_engine__free(e);
}

Test(rules_loader, lists_nested_and_quoted)
{
	struct rule_engine *e =
	    engine_ok("- list: shells\n"
		      "  items: [bash, sh]\n"
		      "- list: more\n"
		      "  items: [shells, zsh, '\"(systemd)\"', \"sh -c\"]\n"
		      "- list: empty\n"
		      "  items: []\n" RULE("r", "proc.name in (more, empty, fish)")
			  RULE("bare", "proc.name in shells"));
	struct fake_event ev = {.proc_name = "bash"};

	cr_assert_str_eq(fake_eval(e, &ev), "r,bare,");
	ev.proc_name = "(systemd)";
	cr_assert_str_eq(fake_eval(e, &ev), "r,");
	ev.proc_name = "sh -c";
	cr_assert_str_eq(fake_eval(e, &ev), "r,");
	ev.proc_name = "fish";
	cr_assert_str_eq(fake_eval(e, &ev), "r,");
	ev.proc_name = "more";
	cr_assert_str_eq(fake_eval(e, &ev), "");
	rule_engine__free(e);
}

Test(rules_loader, quoted_item_is_not_a_list_name)
{
	struct rule_engine *e =
	    engine_ok("- list: shells\n"
		      "  items: [bash]\n" RULE("r", "proc.name in (\"shells\")"));
	struct fake_event ev = {.proc_name = "shells"};

	cr_assert_str_eq(fake_eval(e, &ev), "r,");
	rule_engine__free(e);
}

Test(rules_loader, numeric_list)
{
	struct rule_engine *e =
	    engine_ok("- list: ports\n"
		      "  items: [80, 443]\n" RULE("r", "fd.sport in (ports, 22)"));
	struct fake_event ev = {.sport = 22, .has_sport = true};

	cr_assert_str_eq(fake_eval(e, &ev), "r,");
	ev.sport = 443;
	cr_assert_str_eq(fake_eval(e, &ev), "r,");
	ev.sport = 8080;
	cr_assert_str_eq(fake_eval(e, &ev), "");
	rule_engine__free(e);
}

Test(rules_loader, list_item_type_error_points_at_item)
{
	assert_error("- list: ports\n"
		     "  items: [80, http]\n" RULE("r", "fd.sport in (ports)"),
		     "test.yaml:2:15: error: invalid value 'http' for field 'fd.sport'");
}

Test(rules_loader, append_flag)
{
	struct rule_engine *e =
	    engine_ok("- list: l\n"
		      "  items: [a]\n"
		      "- list: l\n"
		      "  items: [b]\n"
		      "  append: true\n"
		      "- macro: m\n"
		      "  condition: proc.name in (l)\n"
		      "- macro: m\n"
		      "  condition: or proc.name = c\n"
		      "  append: true\n" RULE("r", "m") "- rule: r\n"
							"  condition: and not user.name = root\n"
							"  append: true\n");
	struct fake_event ev = {.proc_name = "b", .user = "bob"};

	cr_assert_str_eq(fake_eval(e, &ev), "r,");
	ev.proc_name = "c";
	cr_assert_str_eq(fake_eval(e, &ev), "r,");
	ev.user = "root";
	/* appended text joins the condition: "m and not user.name = root" where m is
	 * "proc.name in (l) or proc.name = c", so root still matches through "c" */
	ev.proc_name = "a";
	cr_assert_str_eq(fake_eval(e, &ev), "");
	rule_engine__free(e);
}

Test(rules_loader, override_append_and_replace)
{
	struct rule_engine *e = engine_ok("- list: l\n"
					  "  items: [a]\n"
					  "- list: l\n"
					  "  items: [b]\n"
					  "  override:\n"
					  "    items: append\n"
					  "- rule: r\n"
					  "  desc: first\n"
					  "  condition: proc.name in (l)\n"
					  "  output: out %proc.name\n"
					  "  priority: WARNING\n"
					  "  tags: [t1]\n"
					  "- rule: r\n"
					  "  desc: more\n"
					  "  condition: and user.name = u\n"
					  "  output: new %user.name\n"
					  "  priority: error\n"
					  "  tags: [t0]\n"
					  "  override:\n"
					  "    desc: append\n"
					  "    condition: append\n"
					  "    output: replace\n"
					  "    priority: replace\n"
					  "    tags: append\n");
	const struct rule_info *r = rule_engine__rule(e, 0);
	struct fake_event ev = {.proc_name = "b", .user = "u"};

	cr_assert_str_eq(r->desc, "first more");
	cr_assert_str_eq(r->condition, "proc.name in (l) and user.name = u");
	cr_assert_str_eq(r->output, "new %user.name");
	cr_assert_eq(r->priority, RULE_PRIO_ERROR);
	cr_assert_eq(r->n_tags, 2);
	cr_assert_str_eq(r->tags[0], "t0");
	cr_assert_str_eq(r->tags[1], "t1");
	cr_assert_str_eq(fake_eval(e, &ev), "r,");
	ev.user = "x";
	cr_assert_str_eq(fake_eval(e, &ev), "");
	rule_engine__free(e);
}

Test(rules_loader, override_replace_list_and_macro)
{
	struct rule_engine *e =
	    engine_ok("- list: l\n"
		      "  items: [a]\n"
		      "- list: l\n"
		      "  items: [b]\n"
		      "  override: {items: replace}\n"
		      "- macro: m\n"
		      "  condition: proc.name in (l)\n"
		      "- macro: m\n"
		      "  condition: proc.name = z\n"
		      "  override: {condition: replace}\n" RULE("r", "m or proc.name in "
								     "(l)"));
	struct fake_event ev = {.proc_name = "a"};

	cr_assert_str_eq(fake_eval(e, &ev), "");
	ev.proc_name = "b";
	cr_assert_str_eq(fake_eval(e, &ev), "r,");
	ev.proc_name = "z";
	cr_assert_str_eq(fake_eval(e, &ev), "r,");
	rule_engine__free(e);
}

Test(rules_loader, override_errors)
{
	assert_error(RULE("r", "proc.name = a") "- rule: r\n"
						"  condition: and x\n"
						"  override:\n"
						"    priority: append\n",
		     "test.yaml:9:5: error: key 'priority' cannot be appended to");
	assert_error(RULE("r", "proc.name = a") "- rule: r\n"
						"  condition: and user.name = x\n"
						"  output: o\n"
						"  override:\n"
						"    condition: append\n",
		     "test.yaml:8:11: error: unexpected key 'output'");
	assert_error(RULE("r", "proc.name = a") "- rule: r\n"
						"  override:\n"
						"    condition: append\n",
		     "test.yaml:6:3: error: an override for 'condition' was specified but");
	assert_error("- rule: nope\n"
		     "  condition: and a\n"
		     "  override:\n"
		     "    condition: append\n",
		     "test.yaml:1:3: error: rule 'nope' overrides a rule that is not defined");
	assert_error(RULE("r", "proc.name = a") "- rule: r\n"
						"  condition: and a\n"
						"  append: true\n"
						"  override:\n"
						"    condition: append\n",
		     "test.yaml:6:3: error: rule 'r': 'append' and 'override' cannot be used");
	assert_error("- list: l\n"
		     "  items: [a]\n"
		     "  override: {items: merge}\n",
		     "test.yaml:3:21: error: invalid override operation 'merge'");
}

Test(rules_loader, append_to_undefined_is_error)
{
	assert_error("- list: l\n  items: [a]\n  append: true\n",
		     "test.yaml:1:3: error: list 'l' appends to a list that is not defined");
	assert_error("- macro: m\n  condition: or a\n  append: true\n",
		     "test.yaml:1:3: error: macro 'm' appends to a macro that is not defined");
	assert_error("- rule: r\n  condition: or a\n  append: true\n",
		     "test.yaml:1:3: error: rule 'r' has 'append: true' but no rule");
	assert_error("- rule: r\n  enabled: false\n",
		     "test.yaml:1:3: error: rule 'r' has only 'enabled' but no rule");
}

Test(rules_loader, enabled_toggle)
{
	struct rule_engine *e =
	    engine_ok(RULE("a", "proc.name = x")
			  RULE("b", "proc.name = x") "- rule: a\n"
						     "  enabled: false\n"
						     "- rule: b\n"
						     "  enabled: false\n"
						     "- rule: b\n"
						     "  enabled: true\n"
						     "  override: {enabled: replace}\n");
	struct fake_event ev = {.proc_name = "x"};

	cr_assert_str_eq(fake_eval(e, &ev), "b,");
	cr_assert_not(rule_engine__rule(e, 0)->enabled);
	cr_assert_not(rule_engine__rule(e, 0)->active);
	cr_assert(rule_engine__rule(e, 1)->active);
	rule_engine__free(e);
}

Test(rules_loader, disabled_rule_still_checked)
{
	assert_error("- rule: r\n  desc: d\n  condition: nosuch.field = 1\n  output: o\n"
		     "  priority: INFO\n  enabled: false\n",
		     "test.yaml:3:14: error: unknown field 'nosuch.field'");
}

Test(rules_loader, redefinition_across_files_keeps_order)
{
	struct rule_engine_opts o = fake_opts();
	struct rule_engine *e = rule_engine__new(&o);
	const char *f1 =
	    "- list: l\n  items: [a]\n"
	    "- macro: m\n  condition: proc.name in (l)\n" RULE("one", "m") RULE("two", "m");
	const char *f2 = "- list: l\n  items: [b]\n" RULE("one", "proc.pname = p");
	struct fake_event ev = {.proc_name = "b", .proc_pname = "p"};

	cr_assert_eq(rule_engine__load_buf(e, "base.yaml", f1, strlen(f1)), 0);
	cr_assert_eq(rule_engine__load_buf(e, "local.yaml", f2, strlen(f2)), 0);
	cr_assert_eq(rule_engine__compile(e), 0, "%s", fake_diags(e));
	cr_assert_str_eq(rule_engine__rule(e, 0)->name, "one");
	cr_assert_str_eq(rule_engine__rule(e, 0)->file, "local.yaml");
	cr_assert_str_eq(fake_eval(e, &ev), "one,two,");
	ev.proc_name = "a";
	cr_assert_str_eq(fake_eval(e, &ev), "one,");
	rule_engine__free(e);
}

Test(rules_loader, exceptions_tuple_form)
{
	struct rule_engine *e = engine_ok("- list: allowed_files\n"
					  "  items: [/etc/a, /etc/b]\n"
					  "- rule: r\n"
					  "  desc: d\n"
					  "  condition: fd.name startswith /etc\n"
					  "  output: o\n"
					  "  priority: INFO\n"
					  "  exceptions:\n"
					  "    - name: proc_writer\n"
					  "      fields: [proc.name, fd.directory]\n"
					  "      values:\n"
					  "        - [yum, /etc/yum]\n"
					  "        - ['\"my app\"', /etc/app]\n"
					  "    - name: proc_files\n"
					  "      fields: [proc.name, fd.name]\n"
					  "      comps: [=, in]\n"
					  "      values:\n"
					  "        - [apt, [allowed_files]]\n"
					  "        - [rpm, [/etc/c, /etc/d]]\n"
					  "        - [dnf, allowed_files]\n"
					  "    - name: prefixes\n"
					  "      fields: [proc.name, fd.name]\n"
					  "      comps: [startswith, pmatch]\n"
					  "    - name: cmd\n"
					  "      fields: [proc.cmdline, fd.name]\n"
					  "      comps: [startswith, pmatch]\n"
					  "      values:\n"
					  "        - [\"vi \", [/etc/vim]]\n");
	struct fake_event ev = {.proc_name = "yum", .fd_name = "/etc/yum/x", .fd_dir = "/etc/yum"};

	cr_assert_str_eq(fake_eval(e, &ev), "");
	ev.fd_dir = "/etc";
	cr_assert_str_eq(fake_eval(e, &ev), "r,");
	ev.proc_name = "my app";
	ev.fd_dir = "/etc/app";
	cr_assert_str_eq(fake_eval(e, &ev), "");
	ev.proc_name = "apt";
	ev.fd_name = "/etc/b";
	cr_assert_str_eq(fake_eval(e, &ev), "");
	ev.fd_name = "/etc/c";
	cr_assert_str_eq(fake_eval(e, &ev), "r,");
	ev.proc_name = "rpm";
	cr_assert_str_eq(fake_eval(e, &ev), "");
	ev.proc_name = "dnf";
	ev.fd_name = "/etc/a";
	cr_assert_str_eq(fake_eval(e, &ev), "");
	ev.proc_name = "x";
	ev.cmdline = "vi /etc/vim/vimrc";
	ev.fd_name = "/etc/vim/vimrc";
	cr_assert_str_eq(fake_eval(e, &ev), "");
	ev.fd_name = "/etc/vimx";
	cr_assert_str_eq(fake_eval(e, &ev), "r,");
	rule_engine__free(e);
}

Test(rules_loader, exceptions_single_field_and_append)
{
	struct rule_engine *e = engine_ok("- rule: r\n"
					  "  desc: d\n"
					  "  condition: proc.name exists\n"
					  "  output: o\n"
					  "  priority: INFO\n"
					  "  exceptions:\n"
					  "    - name: names\n"
					  "      fields: proc.name\n"
					  "      values: [a, b]\n"
					  "    - name: pairs\n"
					  "      fields: [proc.name, user.name]\n"
					  "- rule: r\n"
					  "  exceptions:\n"
					  "    - name: names\n"
					  "      values: [c]\n"
					  "    - name: pairs\n"
					  "      values: [[d, root]]\n"
					  "    - name: dirs\n"
					  "      fields: fd.name\n"
					  "      comps: pmatch\n"
					  "      values: [/tmp]\n"
					  "  append: true\n");
	struct fake_event ev = {.proc_name = "a"};

	cr_assert_str_eq(fake_eval(e, &ev), "");
	ev.proc_name = "c";
	cr_assert_str_eq(fake_eval(e, &ev), "");
	ev.proc_name = "d";
	cr_assert_str_eq(fake_eval(e, &ev), "r,");
	ev.user = "root";
	cr_assert_str_eq(fake_eval(e, &ev), "");
	ev.user = NULL;
	ev.fd_name = "/tmp/x";
	cr_assert_str_eq(fake_eval(e, &ev), "");
	ev.fd_name = "/tmpx";
	cr_assert_str_eq(fake_eval(e, &ev), "r,");
	rule_engine__free(e);
}

Test(rules_loader, exception_errors)
{
	const char *head = "- rule: r\n  desc: d\n  condition: proc.name exists\n  output: o\n"
			   "  priority: INFO\n  exceptions:\n";
	char y[2048];

	snprintf(y, sizeof(y),
		 "%s    - name: x\n      fields: [proc.name, fd.name]\n"
		 "      values: [[a]]\n",
		 head);
	assert_error(y, "test.yaml:9:16: error: exception 'x': each value must be a list of 2");
	snprintf(y, sizeof(y),
		 "%s    - name: x\n      fields: [proc.name]\n      comps: [=, =]\n"
		 "      values: [[a]]\n",
		 head);
	assert_error(y, "test.yaml:9:14: error: exception 'x': comps must be a list as long");
	snprintf(y, sizeof(y),
		 "%s    - name: x\n      fields: [proc.name]\n      comps: [like]\n"
		 "      values: [[a]]\n",
		 head);
	assert_error(y, "test.yaml:9:15: error: invalid comparison operator 'like'");
	snprintf(y, sizeof(y),
		 "%s    - name: x\n      fields: proc.name\n      comps: =\n"
		 "      values: [a]\n",
		 head);
	assert_error(y, "test.yaml:9:14: error: exception 'x' has a single field: comps must");
	snprintf(y, sizeof(y),
		 "%s    - name: x\n      fields: [nope.field]\n"
		 "      values: [[a]]\n",
		 head);
	assert_error(y, "test.yaml:8:16: error: unknown field 'nope.field'");
	snprintf(y, sizeof(y), "%s    - name: x\n      values: [[a]]\n", head);
	assert_error(y, "test.yaml:7:7: error: exception 'x' has no 'fields' key");
	snprintf(y, sizeof(y),
		 "%s    - name: x\n      fields: [proc.name]\n"
		 "    - name: x\n      fields: [proc.name]\n",
		 head);
	assert_error(y, "test.yaml:9:7: error: exception names must be unique");
	snprintf(y, sizeof(y),
		 "%s    - name: x\n      fields: [proc.name]\n      comps: [=]\n"
		 "      values: [[[a, b]]]\n",
		 head);
	assert_error(y, "test.yaml:10:17: error: exception 'x': a list of values needs 'in'");
}

Test(rules_loader, priorities)
{
	enum rule_priority p;
	static const struct {
		const char *s;
		enum rule_priority p;
	} ok[] = {{"EMERGENCY", RULE_PRIO_EMERGENCY},
		  {"alert", RULE_PRIO_ALERT},
		  {"Critical", RULE_PRIO_CRITICAL},
		  {"error", RULE_PRIO_ERROR},
		  {"WARNING", RULE_PRIO_WARNING},
		  {"notice", RULE_PRIO_NOTICE},
		  {"informational", RULE_PRIO_INFORMATIONAL},
		  {"INFO", RULE_PRIO_INFORMATIONAL},
		  {"debug", RULE_PRIO_DEBUG}};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_assert_eq(rule_priority__parse(ok[i].s, &p), 0, "%s", ok[i].s);
		cr_assert_eq(p, ok[i].p, "%s", ok[i].s);
	}
	cr_assert_neq(rule_priority__parse("warn", &p), 0);
	cr_assert_neq(rule_priority__parse("", &p), 0);
	cr_assert_str_eq(rule_priority__name(RULE_PRIO_WARNING), "Warning");
	cr_assert_str_eq(rule_priority__name(RULE_PRIO_INFORMATIONAL), "Informational");
	cr_assert_str_eq(rule_priority__name(RULE_PRIO_EMERGENCY), "Emergency");
	assert_error("- rule: r\n  desc: d\n  condition: proc.name = a\n  output: o\n"
		     "  priority: loud\n",
		     "test.yaml:5:13: error: invalid priority 'loud'");
}

Test(rules_loader, min_priority_filters)
{
	const char *y = "- rule: crit\n  desc: d\n  condition: proc.name = a\n  output: o\n"
			"  priority: CRITICAL\n"
			"- rule: warn\n  desc: d\n  condition: proc.name = a\n  output: o\n"
			"  priority: WARNING\n"
			"- rule: dbg\n  desc: d\n  condition: proc.name = a\n  output: o\n"
			"  priority: DEBUG\n";
	struct rule_engine_opts o = fake_opts();
	struct fake_event ev = {.proc_name = "a"};
	struct rule_engine *e;

	e = fake_engine_opts(y, &o);
	cr_assert_str_eq(fake_eval(e, &ev), "crit,warn,dbg,");
	rule_engine__free(e);
	o.min_priority = RULE_PRIO_WARNING;
	e = fake_engine_opts(y, &o);
	cr_assert_str_eq(fake_eval(e, &ev), "crit,warn,");
	cr_assert_not(rule_engine__rule(e, 2)->active);
	rule_engine__free(e);
	o.min_priority = RULE_PRIO_EMERGENCY;
	e = fake_engine_opts(y, &o);
	cr_assert_str_eq(fake_eval(e, &ev), "");
	rule_engine__free(e);
}

Test(rules_loader, other_sources_skipped)
{
	struct rule_engine *e =
	    fake_engine("- rule: k8s\n  desc: d\n  condition: ka.verb = get\n"
			"  output: o\n  priority: INFO\n  source: k8s_audit\n"
			"- rule: k8s\n  condition: and ka.user = x\n  append: true\n" RULE(
			    "mine", "proc.name = a"));

	cr_assert_eq(rule_engine__error_count(e), 0, "%s", fake_diags(e));
	cr_assert_eq(rule_engine__rule_count(e), 1);
	cr_assert_str_eq(rule_engine__rule(e, 0)->name, "mine");
	cr_assert(strstr(fake_diags(e), "test.yaml:6:11: warning: rule 'k8s' has source "
					"'k8s_audit'"));
	rule_engine__free(e);
}

Test(rules_loader, unknown_keys_warn)
{
	struct rule_engine *e = fake_engine("- rule: r\n  desc: d\n  condition: proc.name = a\n"
					    "  output: o\n  priority: INFO\n  colour: blue\n"
					    "- macro: m\n  condition: proc.name = b\n  extra: 1\n"
					    "- required_engine_version: 0.57.0\n"
					    "- required_plugin_versions:\n    - name: container\n"
					    "      version: 0.4.0\n"
					    "- something: else\n");
	const char *d = fake_diags(e);

	cr_assert_eq(rule_engine__error_count(e), 0, "%s", d);
	cr_assert(strstr(d, "test.yaml:6:3: warning: unknown key 'colour' in a rule"), "%s", d);
	cr_assert(strstr(d, "test.yaml:9:3: warning: unknown key 'extra' in a macro"), "%s", d);
	cr_assert(strstr(d, "test.yaml:14:3: warning: unknown top-level item"), "%s", d);
	rule_engine__free(e);
}

Test(rules_loader, actions_typed_and_appended)
{
	/* loads and types the actions, then refuses them: none is carried out yet */
	struct rule_engine *e = fake_engine("- rule: r\n  desc: d\n  condition: proc.name = a\n"
					    "  output: o\n  priority: INFO\n"
					    "  actions:\n"
					    "    - kill\n"
					    "    - block: {for: 10m}\n"
					    "- rule: r\n"
					    "  actions: [isolate]\n"
					    "  override: {actions: append}\n");
	const struct rule_info *r = rule_engine__rule(e, 0);
	const char *d = fake_diags(e);

	cr_assert_eq(r->n_actions, 3, "%s", d);
	cr_assert_eq(r->actions[0].kind, ACTION_KILL);
	cr_assert_eq(r->actions[1].kind, ACTION_BLOCK);
	cr_assert_eq(r->actions[1].block.for_ns, 600 * SEC);
	cr_assert_eq(r->actions[1].line, 8);
	cr_assert_eq(r->actions[2].kind, ACTION_ISOLATE);
	cr_assert_eq(r->actions[2].line, 10);
	cr_assert_eq(rule_engine__error_count(e), 0, "%s", d); /* all three are carried out */
	rule_engine__free(e);
}

Test(rules_loader, error_bad_yaml)
{
	assert_error("- rule: r\n  desc: [unclosed\n  condition: x\n",
		     "test.yaml:3:12: error: invalid YAML");
	assert_error("rule: r\n", "test.yaml:1:1: error: a rules file must be a YAML sequence");
	assert_error("- just a string\n", "test.yaml:1:3: error: each item must be a mapping");
}

Test(rules_loader, error_missing_keys)
{
	assert_error("- rule: r\n  desc: d\n  output: o\n  priority: INFO\n",
		     "test.yaml:1:3: error: rule has no 'condition' key");
	assert_error("- rule: r\n  desc: d\n  condition: proc.name = a\n  priority: INFO\n",
		     "test.yaml:1:3: error: rule has no 'output' key");
	assert_error("- list: l\n", "test.yaml:1:3: error: list has no 'items' key");
	assert_error("- list: l\n  items: a\n",
		     "test.yaml:2:10: error: 'items' must be a sequence");
	assert_error("- macro: 1m\n  condition: a\n", "test.yaml:1:10: error: invalid macro name");
}

Test(rules_loader, error_unknown_field)
{
	assert_error(RULE("r", "proc.name = a and proc.nmae = b"),
		     "test.yaml:3:32: error: unknown field 'proc.nmae' (rule 'r')");
}

Test(rules_loader, error_unknown_field_in_output)
{
	assert_error("- rule: r\n  desc: d\n  condition: proc.name = a\n"
		     "  output: \"x=%proc.name y=%proc.bogus\"\n  priority: INFO\n",
		     "test.yaml:4:27: error: unknown field 'proc.bogus' in the output of rule 'r'");
}

Test(rules_loader, error_undefined_macro)
{
	assert_error(RULE("r", "proc.name = a and not nosuch"),
		     "test.yaml:3:36: error: undefined macro 'nosuch'");
	assert_error("- macro: m\n  condition: other\n",
		     "test.yaml:2:14: error: undefined macro 'other' (in macro 'm')");
}

Test(rules_loader, error_macro_recursion)
{
	assert_error("- macro: a\n  condition: proc.name = x or b\n"
		     "- macro: b\n  condition: not a\n" RULE("r", "a"),
		     "test.yaml:4:18: error: macro recursion: 'b' uses 'a'");
	assert_error("- macro: self\n  condition: self\n",
		     "test.yaml:2:14: error: macro recursion: 'self' uses 'self'");
}

Test(rules_loader, error_type_mismatch)
{
	assert_error(RULE("r", "proc.pid = abc"),
		     "test.yaml:3:25: error: invalid value 'abc' for field 'proc.pid' (int64)");
}

Test(rules_loader, errors_are_all_reported)
{
	struct rule_engine *e = fake_engine(RULE("a", "proc.nope = 1") RULE("b", "proc.pid = x")
						RULE("c", "proc.name = ok"));

	cr_assert_eq(rule_engine__error_count(e), 2, "%s", fake_diags(e));
	cr_assert_eq(rule_engine__compile(e), -EBUSY);
	rule_engine__free(e);
}

Test(rules_loader, macro_errors_reported_once)
{
	struct rule_engine *e = fake_engine("- macro: m\n  condition: proc.pid = x\n" RULE("a", "m")
						RULE("b", "m") RULE("c", "not m"));

	cr_assert_eq(rule_engine__error_count(e), 1, "%s", fake_diags(e));
	rule_engine__free(e);
}

Test(rules_loader, lenient_unknown_fields)
{
	struct rule_engine_opts o = fake_opts();
	const char *y = RULE("bad", "proc.nope = 1")
	    RULE("good", "proc.name = a") "- rule: skip\n  desc: d\n  condition: x.y = 1\n  "
					  "output: o\n  priority: INFO\n"
					  "  skip-if-unknown-filter: true\n";
	struct fake_event ev = {.proc_name = "a"};
	struct rule_engine *e;

	e = fake_engine(y);
	cr_assert_eq(rule_engine__error_count(e), 1, "strict: only 'bad' fails\n%s", fake_diags(e));
	rule_engine__free(e);

	o.unknown_field_warn = true;
	e = fake_engine_opts(y, &o);
	cr_assert_eq(rule_engine__error_count(e), 0, "%s", fake_diags(e));
	cr_assert(strstr(fake_diags(e), "test.yaml:1:3: warning: rule 'bad' disabled: unknown "
					"field 'proc.nope' at test.yaml:3:14"),
		  "%s", fake_diags(e));
	cr_assert_str_eq(fake_eval(e, &ev), "good,");
	cr_assert_not(rule_engine__rule(e, 0)->active);
	rule_engine__free(e);
}

static int bind_args(void *host, struct rule_field_ref *ref, char *err, size_t len)
{
	if (ref->key && strcmp(ref->key, "flags") && strcmp(ref->key, "target")) {
		snprintf(err, len, "no argument '%s' here", ref->key);
		return -EINVAL;
	}
	ref->host_data = 7;
	return 0;
}

Test(rules_loader, host_bind_rejects_argument)
{
	struct rule_engine_opts o = fake_opts();
	struct rule_engine *e;

	o.bind = bind_args;
	e = fake_engine_opts(RULE("r", "evt.arg.flags = x and evt.arg.mode = y"), &o);
	cr_assert(strstr(fake_diags(e), "test.yaml:3:36: error: field 'evt.arg.mode': no argument "
					"'mode' here"),
		  "%s", fake_diags(e));
	cr_assert_eq(rule_engine__ref(e, 0)->host_data, 7);
	rule_engine__free(e);
}

Test(rules_loader, load_file_errors)
{
	struct rule_engine_opts o = fake_opts();
	struct rule_engine *e = rule_engine__new(&o);

	cr_assert_eq(rule_engine__load_file(e, "/nonexistent/rules.yaml"), -ENOENT);
	cr_assert(strstr(fake_diags(e), "/nonexistent/rules.yaml: error: cannot open rules file"));
	rule_engine__free(e);
}

Test(rules_loader, check_mode_reports_everything)
{
	char path[] = "/tmp/vigil_rules_check_XXXXXX";
	int fd = mkstemp(path);
	const char *y = RULE("a", "proc.nope = 1") RULE("b", "(proc.name = x");
	char *out = NULL;
	size_t outlen = 0;
	FILE *mem = open_memstream(&out, &outlen);
	const char *paths[] = {path};
	struct rule_engine_opts o = fake_opts();

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, y, strlen(y)), (ssize_t)strlen(y));
	close(fd);
	cr_assert_eq(rule_engine__check(&o, paths, 1, mem), 2);
	fclose(mem);
	unlink(path);
	cr_assert(strstr(out, ":3:14: error: unknown field 'proc.nope'"), "%s", out);
	cr_assert(strstr(out, ":8:14: error: unbalanced parentheses"), "%s", out);
	free(out);
}

/* ---- hostile files ---- */

/* "billion laughs" in a rule's actions: 9 levels of 10 aliases, 10^9 nodes if expanded */
static const char laughs[] = "- rule: laughs\n"
			     "  desc: d\n"
			     "  condition: proc.name = x\n"
			     "  output: o\n"
			     "  priority: WARNING\n"
			     "  actions:\n"
			     "    - &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
			     "    - &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
			     "    - &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
			     "    - &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
			     "    - &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
			     "    - &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
			     "    - &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
			     "    - &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
			     "    - &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n";

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

Test(rules_loader, alias_expansion_is_bounded, .timeout = 20)
{
	struct rlimit as = {.rlim_cur = 1ull << 30, .rlim_max = 1ull << 30};
	double t0;
	struct rule_engine *e;

	cr_assert_lt(sizeof(laughs), 700);
	/* expanded, this file would need far more than 1 GiB */
	cr_assert_eq(setrlimit(RLIMIT_AS, &as), 0);
	t0 = cpu_seconds();
	e = fake_engine(laughs);
	cr_assert_not_null(e);
	cr_assert_lt(cpu_seconds() - t0, 2.0, "bounded early, not after expanding");
	cr_assert_str_eq(first_error(e),
			 "test.yaml:7:21: error: YAML aliases expand beyond 100000 "
			 "nodes",
			 "%s", fake_diags(e));
	cr_assert_eq(rule_engine__rule_count(e), 0, "nothing of the file is read");
	rule_engine__free(e);
}

Test(rules_loader, alias_cycle_and_long_scalars_are_bounded, .timeout = 20)
{
	/* an alias inside its own anchor, expanded at every level down to the depth cut */
	assert_error("- rule: r\n  desc: d\n  condition: proc.name = x\n  output: o\n"
		     "  priority: WARNING\n  actions: &a [*a, *a, *a, *a]\n",
		     "test.yaml:6:12: error: YAML aliases expand beyond 100000 nodes");
	/* few nodes, each a long scalar */
	char *y = malloc(1 << 20), *p = y;

	p += sprintf(p, "- list: l\n  items: [&s ");
	memset(p, 'x', 500000);
	p += 500000;
	p += sprintf(p, "]\n- list: m\n  items: [");
	for (int i = 0; i < 40; i++)
		p += sprintf(p, "%s*s", i ? ", " : "");
	sprintf(p, "]\n");
	assert_error(y, "test.yaml:2:11: error: YAML aliases expand beyond 16777216 bytes");
	free(y);
}

Test(rules_loader, aliases_within_the_bound_still_load)
{
	struct rule_engine *e =
	    fake_engine("- list: l\n  items: &i [a, b]\n- list: m\n  items: *i\n" RULE(
		"r", "proc.name in (l) or proc.name in (m)"));

	cr_assert_eq(rule_engine__error_count(e), 0, "%s", fake_diags(e));
	rule_engine__free(e);
}

Test(rules_loader, oversized_file_is_refused)
{
	char path[] = "/tmp/vigil_rules_big_XXXXXX";
	int fd = mkstemp(path);
	struct rule_engine_opts o = fake_opts();
	struct rule_engine *e = rule_engine__new(&o);
	char want[128];

	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (16 << 20) + 1), 0);
	close(fd);
	cr_assert_eq(rule_engine__load_file(e, path), -EFBIG);
	snprintf(want, sizeof(want),
		 "%s: error: rules file larger than 16 MiB: refused (split it into several files)",
		 path);
	cr_assert_str_eq(first_error(e), want);
	unlink(path);
	rule_engine__free(e);
}
