/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * test_respond_action.c - a rule's `actions:` typed by respond/: each action name
 * and its parameters through action__parse and action_list__parse, durations, the
 * kinds' table, and through the rule engine: unknown actions, bad parameters and
 * unimplemented actions as errors at file:line:col, `block_for`, and rules without
 * actions loading exactly as before.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>

#include "respond/action.h"
#include "rules/fake.h"

#define SEC 1000000000ull

/* ---- hand-built YAML values, as the loader hands them over ---- */

static struct rule_node *scalar_at(const char *s, int line, int col)
{
	struct rule_node *n = calloc(1, sizeof(*n));

	n->kind = RULE_NODE_SCALAR;
	n->scalar = s;
	n->file = "t.yaml";
	n->line = line;
	n->col = col;
	return n;
}

static struct rule_node *scalar(const char *s)
{
	return scalar_at(s, 1, 1);
}

/* kind with n items (for a map: key, value, key, value, ...) */
static struct rule_node *nodes(enum rule_node_kind kind, size_t n, ...)
{
	struct rule_node *r = calloc(1, sizeof(*r));
	va_list ap;

	r->kind = kind;
	r->items = calloc(n ? n : 1, sizeof(*r->items));
	r->n_items = n;
	r->file = "t.yaml";
	r->line = 1;
	r->col = 1;
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		r->items[i] = va_arg(ap, struct rule_node *);
	va_end(ap);
	return r;
}

static void node_free(struct rule_node *n)
{
	for (size_t i = 0; i < n->n_items; i++)
		node_free(n->items[i]);
	free(n->items);
	free(n);
}

/* {name: {key: value}} */
static struct rule_node *with_param(const char *name, const char *key, const char *value)
{
	return nodes(RULE_NODE_MAP, 2, scalar(name),
		     nodes(RULE_NODE_MAP, 2, scalar(key), scalar(value)));
}

/* ---- the table ---- */

Test(respond_action, table_names_every_kind_once)
{
	for (int k = 1; k <= ACTION_KIND_MAX; k++) {
		const struct action_kind_def *d = action_kind__def((enum action_kind)k);

		cr_assert_not_null(d, "kind %d", k);
		cr_assert_eq((int)d->kind, k);
		cr_assert_eq(action_kind__find(d->name), d);
		cr_assert_str_eq(action_kind__name((enum action_kind)k), d->name);
		/* every kind is carried out */
		cr_assert(d->implemented, "%s", d->name);
	}
	cr_assert_null(action_kind__find("webhook"));
	cr_assert_null(action_kind__def(0));
	cr_assert_str_eq(action_kind__name(ACTION_KIND_MAX + 1), "?");
}

/* ---- one action ---- */

Test(respond_action, each_name_bare)
{
	static const struct {
		const char *name;
		enum action_kind kind;
	} cases[] = {
	    {"kill", ACTION_KILL},
	    {"deny", ACTION_DENY},
	    {"block", ACTION_BLOCK},
	    {"isolate", ACTION_ISOLATE},
	    {"quarantine", ACTION_QUARANTINE},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rule_node *n = scalar_at(cases[i].name, 7, 9);
		struct action_error err = {0};
		struct action a;

		cr_assert_eq(action__parse(n, &a, &err), 0, "%s: %s", cases[i].name, err.msg);
		cr_assert_eq(a.kind, cases[i].kind, "%s", cases[i].name);
		cr_assert_str_eq(a.file, "t.yaml");
		cr_assert_eq(a.line, 7);
		cr_assert_eq(a.col, 9);
		node_free(n);
	}
}

Test(respond_action, bare_defaults)
{
	struct rule_node *n = scalar("block");
	struct action_error err;
	struct action a;

	cr_assert_eq(action__parse(n, &a, &err), 0);
	cr_assert_eq(a.block.for_ns, 0, "0: the configured default");
	cr_assert_null(a.block.address, "NULL: the event's remote address");
	node_free(n);
	n = scalar("isolate");
	cr_assert_eq(action__parse(n, &a, &err), 0);
	cr_assert_eq(a.isolate.scope, ACTION_SCOPE_CONTAINER);
	node_free(n);
}

Test(respond_action, map_form_with_parameters)
{
	struct rule_node *n = nodes(RULE_NODE_MAP, 2, scalar("block"),
				    nodes(RULE_NODE_MAP, 4, scalar("for"), scalar("1h30m"),
					  scalar("address"), scalar("fd.sip")));
	struct action_error err = {0};
	struct action a;

	cr_assert_eq(action__parse(n, &a, &err), 0, "%s", err.msg);
	cr_assert_eq(a.kind, ACTION_BLOCK);
	cr_assert_eq(a.block.for_ns, 90 * 60 * SEC);
	cr_assert_str_eq(a.block.address, "fd.sip");
	node_free(n);

	n = with_param("isolate", "scope", "container");
	cr_assert_eq(action__parse(n, &a, &err), 0, "%s", err.msg);
	cr_assert_eq(a.kind, ACTION_ISOLATE);
	cr_assert_eq(a.isolate.scope, ACTION_SCOPE_CONTAINER);
	node_free(n);

	/* `kill:` with a null value or an empty mapping is plain kill */
	n = nodes(RULE_NODE_MAP, 2, scalar("kill"), scalar(""));
	cr_assert_eq(action__parse(n, &a, &err), 0, "%s", err.msg);
	cr_assert_eq(a.kind, ACTION_KILL);
	node_free(n);
	n = nodes(RULE_NODE_MAP, 2, scalar("quarantine"), nodes(RULE_NODE_MAP, 0));
	cr_assert_eq(action__parse(n, &a, &err), 0, "%s", err.msg);
	cr_assert_eq(a.kind, ACTION_QUARANTINE);
	node_free(n);
}

/* Parses n, which must fail at (line, col) with a message containing want. */
static void assert_bad(struct rule_node *n, int line, int col, const char *want)
{
	struct action_error err = {0};
	struct action a;

	cr_assert_eq(action__parse(n, &a, &err), -EINVAL, "accepted; want: %s", want);
	cr_assert_not_null(err.at);
	cr_assert(strstr(err.msg, want), "got:  %s\nwant: %s", err.msg, want);
	cr_assert_eq(err.at->line, line, "%s", err.msg);
	cr_assert_eq(err.at->col, col, "%s", err.msg);
	node_free(n);
}

Test(respond_action, unknown_and_malformed)
{
	struct rule_node *bad_value = scalar_at("10x", 3, 20);
	struct rule_node *bad_key = scalar_at("signal", 4, 12);

	assert_bad(scalar_at("webhook", 2, 5), 2, 5,
		   "unknown action 'webhook': expected kill, deny, block, isolate or quarantine");
	assert_bad(scalar_at("Kill", 2, 5), 2, 5, "unknown action 'Kill'");
	assert_bad(scalar_at("", 2, 5), 2, 5, "an action must be named");
	assert_bad(nodes(RULE_NODE_SEQ, 1, scalar("kill")), 1, 1, "an action must be named");
	assert_bad(nodes(RULE_NODE_MAP, 4, scalar("kill"), scalar(""), scalar("deny"), scalar("")),
		   1, 1, "each item of 'actions' is one action");
	assert_bad(nodes(RULE_NODE_MAP, 2, scalar("block"),
			 nodes(RULE_NODE_MAP, 2, scalar("for"), bad_value)),
		   3, 20, "invalid duration '10x' for block");
	assert_bad(
	    nodes(RULE_NODE_MAP, 2, scalar("kill"), nodes(RULE_NODE_MAP, 2, bad_key, scalar("9"))),
	    4, 12, "action 'kill' takes no parameters");
	assert_bad(nodes(RULE_NODE_MAP, 2, scalar("block"), scalar_at("true", 5, 14)), 5, 14,
		   "parameters of action 'block' must be a mapping");
	assert_bad(with_param("block", "duration", "10m"), 1, 1,
		   "unknown parameter 'duration' of action 'block': expected for or address");
	assert_bad(with_param("block", "address", "10.0.0.1"), 1, 1,
		   "invalid address '10.0.0.1' for block");
	assert_bad(with_param("block", "for", "0s"), 1, 1, "invalid duration '0s'");
	assert_bad(with_param("isolate", "scope", "node"), 1, 1,
		   "invalid scope 'node' for isolate: the scope is 'container'");
	assert_bad(nodes(RULE_NODE_MAP, 2, scalar("block"),
			 nodes(RULE_NODE_MAP, 2, scalar("for"), nodes(RULE_NODE_SEQ, 0))),
		   1, 1, "'for' of block must be a single value");
}

/* ---- lists and block_for ---- */

Test(respond_action, list_in_order_and_no_duplicates)
{
	struct rule_node *l = nodes(RULE_NODE_SEQ, 3, scalar("kill"),
				    with_param("block", "for", "30s"), scalar("quarantine"));
	struct rule_node *dup = nodes(RULE_NODE_SEQ, 2, scalar("deny"), scalar_at("deny", 9, 7));
	struct action_error err = {0};
	struct action v[3];
	size_t n;

	cr_assert_eq(action_list__parse(l, v, 3, &n, &err), 0, "%s", err.msg);
	cr_assert_eq(n, 3);
	cr_assert_eq(v[0].kind, ACTION_KILL);
	cr_assert_eq(v[1].kind, ACTION_BLOCK);
	cr_assert_eq(v[1].block.for_ns, 30 * SEC);
	cr_assert_eq(v[2].kind, ACTION_QUARANTINE);

	cr_assert_eq(action_list__parse(dup, v, 3, &n, &err), -EINVAL);
	cr_assert(strstr(err.msg, "action 'deny' is given twice"), "%s", err.msg);
	cr_assert_eq(err.at->line, 9);

	cr_assert_eq(action_list__parse(scalar("kill"), v, 3, &n, &err), -EINVAL);
	cr_assert(strstr(err.msg, "'actions' must be a sequence, e.g. actions: [kill]"), "%s",
		  err.msg);
	cr_assert_eq(action_list__parse(l, v, 2, &n, &err), -EINVAL, "cap is checked");
	node_free(l);
	node_free(dup);
}

Test(respond_action, block_for)
{
	struct rule_node *l = nodes(RULE_NODE_SEQ, 2, scalar("kill"), scalar("block"));
	struct rule_node *bf = scalar_at("10m", 8, 14);
	struct action_error err = {0};
	struct action v[2];
	size_t n;

	cr_assert_eq(action_list__parse(l, v, 2, &n, &err), 0);
	cr_assert_eq(action_list__block_for(v, n, bf, &err), 0, "%s", err.msg);
	cr_assert_eq(v[1].block.for_ns, 600 * SEC);
	/* now the block has a duration: giving it twice is an error */
	cr_assert_eq(action_list__block_for(v, n, bf, &err), -EINVAL);
	cr_assert(strstr(err.msg, "keep one"), "%s", err.msg);
	cr_assert_eq(err.at, bf);
	/* without a block action */
	cr_assert_eq(action_list__block_for(v, 1, bf, &err), -EINVAL);
	cr_assert(strstr(err.msg, "'block_for' needs a block action"), "%s", err.msg);
	node_free(l);
	node_free(bf);
}

Test(respond_action, durations)
{
	static const struct {
		const char *s;
		uint64_t ns;
	} ok[] = {
	    {"500ms", 500000000ull},
	    {"1s", SEC},
	    {"90s", 90 * SEC},
	    {"10m", 600 * SEC},
	    {"1h30m", 5400 * SEC},
	    {"2d", 2 * 86400 * SEC},
	    {"1m1ms", 60 * SEC + 1000000ull},
	};
	static const char *const bad[] = {
	    "",
	    "10",
	    "m",
	    "10 m",
	    "-1s",
	    "1.5h",
	    "10min",
	    "0s",
	    "0h0m",
	    "10M",
	    "1s ",
	    "99999999999999999999s",
	    "999999999999d",
	};
	uint64_t ns;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_assert_eq(action_duration__parse(ok[i].s, &ns), 0, "%s", ok[i].s);
		cr_assert_eq(ns, ok[i].ns, "%s", ok[i].s);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(action_duration__parse(bad[i], &ns), -EINVAL, "'%s' accepted", bad[i]);
}

/* ---- through the rule engine: file:line:col ---- */

#define RULE_WITH(extra)                                                                           \
	"- rule: r\n  desc: d\n  condition: proc.name = a\n  output: o\n  priority: INFO\n" extra

/* The first error of yaml, formatted; "" when it loads. */
static const char *first_error(const char *yaml)
{
	static char buf[1024];
	struct rule_engine *e = fake_engine(yaml);

	buf[0] = '\0';
	for (size_t i = 0; i < rule_engine__diag_count(e); i++) {
		if (rule_engine__diag(e, i)->level == RULE_DIAG_ERROR) {
			rule_diag__format(rule_engine__diag(e, i), buf, sizeof(buf));
			break;
		}
	}
	rule_engine__free(e);
	return buf;
}

#define assert_load_error(yaml, want)                                                              \
	do {                                                                                       \
		const char *got_ = first_error(yaml);                                              \
		cr_assert(!strcmp(got_, (want)), "got:  %s\nwant: %s", got_, (want));              \
	} while (0)

Test(respond_action, load_errors_at_their_place)
{
	assert_load_error(RULE_WITH("  actions: [kill]\n"), "");
	/* deny is typed here; where it is possible is the policy's question (test_policy.c) */
	assert_load_error(RULE_WITH("  actions:\n    - deny\n"), "");
	assert_load_error(RULE_WITH("  actions: [{block: {for: 10m}}]\n"), "");
	assert_load_error(RULE_WITH("  actions:\n    - isolate: {scope: container}\n"), "");
	assert_load_error(RULE_WITH("  actions: [quarantine]\n"), "");
	/* the example: accepted silently before */
	assert_load_error(RULE_WITH("  actions: [kill, {block: true}]\n"),
			  "test.yaml:6:27: error: rule 'r': parameters of action 'block' must be "
			  "a mapping, e.g. {for: ...}");
	assert_load_error(RULE_WITH("  actions: [kill, webhook]\n"),
			  "test.yaml:6:19: error: rule 'r': unknown action 'webhook': expected "
			  "kill, deny, block, isolate or quarantine");
	assert_load_error(
	    RULE_WITH("  actions:\n    - block:\n        for: soon\n"),
	    "test.yaml:8:14: error: rule 'r': invalid duration 'soon' for block: "
	    "write a number and a unit, e.g. 30s, 10m, 1h30m (units: ms, s, m, h, d)");
	assert_load_error(RULE_WITH("  actions: [{block: {address: proc.name}}]\n"),
			  "test.yaml:6:13: error: rule 'r': block address 'proc.name' is not an "
			  "IP address field: use e.g. fd.rip, or leave it out for the event's "
			  "remote address");
	assert_load_error(RULE_WITH("  actions: kill\n"),
			  "test.yaml:6:12: error: rule 'r': 'actions' must be a sequence, e.g. "
			  "actions: [kill]");
	assert_load_error(RULE_WITH("  block_for: 10m\n"),
			  "test.yaml:6:14: error: rule 'r': 'block_for' needs a block action: add "
			  "'actions: [block]'");
	assert_load_error(
	    RULE_WITH("  actions: [block]\n  block_for: ages\n"),
	    "test.yaml:7:14: error: rule 'r': invalid duration for 'block_for': "
	    "write a number and a unit, e.g. 30s, 10m, 1h30m (units: ms, s, m, h, d)");
	/* a disabled rule is checked too: enabling it later must not surprise */
	assert_load_error(
	    RULE_WITH("  enabled: false\n  actions: [quarantine, kill, quarantine]\n"),
	    "test.yaml:7:31: error: rule 'r': action 'quarantine' is given twice "
	    "(first at line 7)");
}

Test(respond_action, typed_on_the_rule_with_its_override)
{
	struct rule_engine *e = fake_engine(RULE_WITH("  actions: [block, kill]\n"
						      "  block_for: 1h\n"
						      "- rule: r\n"
						      "  actions: [{block: {address: fd.sip}}]\n"
						      "  override: {actions: replace, block_for: "
						      "replace}\n"
						      "  block_for: 5m\n"));
	const struct rule_info *r = rule_engine__rule(e, 0);

	cr_assert_eq(r->n_actions, 1, "%s", fake_diags(e));
	cr_assert_eq(r->actions[0].kind, ACTION_BLOCK);
	cr_assert_eq(r->actions[0].block.for_ns, 300 * SEC);
	cr_assert_str_eq(r->actions[0].block.address, "fd.sip");
	cr_assert_eq(r->actions[0].line, 9);
	cr_assert_eq(rule_engine__error_count(e), 0, "%s", fake_diags(e));
	rule_engine__free(e);
}

Test(respond_action, rules_without_actions_unchanged)
{
	struct rule_engine *e =
	    engine_ok(RULE_WITH("") RULE_WITH("  actions: []\n") RULE("other", "proc.name = b"));
	struct fake_event ev = {.proc_name = "a"};

	cr_assert_eq(rule_engine__diag_count(e), 0, "%s", fake_diags(e));
	for (size_t i = 0; i < rule_engine__rule_count(e); i++) {
		cr_assert_eq(rule_engine__rule(e, i)->n_actions, 0);
		cr_assert_null(rule_engine__rule(e, i)->actions);
	}
	cr_assert_str_eq(fake_eval(e, &ev), "r,");
	rule_engine__free(e);
}
