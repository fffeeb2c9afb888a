/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * test_rules_output.c - output templates: %field tokens with index and key
 * arguments, <NA> for missing values, %% and width modifiers, Falco's text line
 * with local or RFC 3339 time, and the JSON alert in Falco's shape with typed
 * output_fields (template, condition and exception fields), null for missing,
 * arrays for multi-valued fields, and hostile values escaped.
 */
#include <criterion/criterion.h>
#include <time.h>

#include "output/output.h"
#include "util/json.h"
#include "rules/fake.h"

#define TS 1700000000123456789ull /* 2023-11-14T22:13:20.123456789Z */

static void utc(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
}

TestSuite(rules_output, .init = utc);

/* The alert's parts from the engine, as JSON by the outputs' one renderer. */
static int format_alert(struct rule_engine *e, size_t idx, struct fake_event *ev, const char *host,
			struct json_buf *j)
{
	const struct rule_info *ri = rule_engine__rule(e, idx);
	struct rule_alert parts = {0};
	int ret = rule_engine__format_alert(e, idx, ev->type, ev, TS, &parts);

	if (!ret)
		ret = alert__json(&(struct alert){.rule = ri->name,
						  .priority = ri->priority,
						  .tags = ri->tags,
						  .n_tags = ri->n_tags,
						  .hostname = host,
						  .time_ns = TS,
						  .output = parts.output.buf,
						  .fields = parts.fields,
						  .n_fields = parts.n_fields},
				  j);
	rule_alert__free(&parts);
	return ret;
}

static struct rule_engine *one_rule(const char *output, const char *cond)
{
	char y[4096];
	struct rule_engine *e;

	snprintf(y, sizeof(y),
		 "- rule: r\n  desc: d\n  condition: %s\n  output: '%s'\n  priority: WARNING\n"
		 "  tags: [b, a, b]\n",
		 cond, output);
	e = fake_engine(y);
	cr_assert_eq(rule_engine__error_count(e), 0, "%s", fake_diags(e));
	return e;
}

static const char *message(const char *output, struct fake_event *ev)
{
	static char buf[4096];
	struct rule_engine *e = one_rule(output, "proc.name exists or not proc.name exists");
	struct rule_text t = {0};

	cr_assert_eq(rule_engine__format_message(e, 0, ev->type, ev, &t), 0);
	snprintf(buf, sizeof(buf), "%s", t.buf);
	rule_text__free(&t);
	rule_engine__free(e);
	return buf;
}

static struct fake_event ev_full(void)
{
	struct fake_event ev = {
	    .type = FE_OPEN,
	    .proc_name = "bash",
	    .proc_pname = "sshd",
	    .pid = 7,
	    .has_pid = true,
	    .anames = {"sshd", "systemd"},
	    .n_anames = 2,
	    .fd_name = "/etc/x",
	    .sip = "10.1.2.3",
	    .arg_flags = "O_TRUNC",
	    .is_write = 1,
	    .user = "bob",
	};
	return ev;
}

Test(rules_output, tokens)
{
	struct fake_event ev = ev_full();

	cr_assert_str_eq(message("shell %proc.name (%proc.pid) by %user.name", &ev),
			 "shell bash (7) by bob");
	cr_assert_str_eq(message("p=%proc.aname[1] g=%proc.aname[2] x=%proc.aname[5]", &ev),
			 "p=sshd g=systemd x=<NA>");
	cr_assert_str_eq(message("all=%proc.aname", &ev), "all=sshd,systemd");
	cr_assert_str_eq(message("f=%evt.arg.flags f2=%evt.arg[flags] t=%evt.arg.target", &ev),
			 "f=O_TRUNC f2=O_TRUNC t=<NA>");
	cr_assert_str_eq(message("type=%evt.type ip=%fd.sip w=%evt.is_open_write", &ev),
			 "type=open ip=10.1.2.3 w=true");
	cr_assert_str_eq(message("file=%fd.name.", &ev), "file=/etc/x.");
	cr_assert_str_eq(message("(%proc.name)", &ev), "(bash)");
	cr_assert_str_eq(message("missing %fd.directory here", &ev), "missing <NA> here");
}

Test(rules_output, literal_percent_width_and_star)
{
	struct fake_event ev = ev_full();

	cr_assert_str_eq(message("100%% sure %", &ev), "100% sure %");
	cr_assert_str_eq(message("a %.x b %1 c", &ev), "a %.x b %1 c");
	cr_assert_str_eq(message("[%6proc.name][%2proc.name]", &ev), "[bash  ][ba]");
	cr_assert_str_eq(message("*star %proc.name", &ev), "star bash");
}

Test(rules_output, text_line)
{
	struct rule_engine_opts o = fake_opts();
	struct fake_event ev = ev_full();
	struct rule_text t = {0};
	struct rule_engine *e = one_rule("hi %proc.name", "proc.name = bash");

	cr_assert_eq(rule_engine__format_output(e, 0, ev.type, &ev, TS, &t), 0);
	cr_assert_str_eq(t.buf, "22:13:20.123456789: Warning hi bash");
	rule_engine__free(e);

	o.time_iso8601 = true;
	e = fake_engine_opts("- rule: r\n  desc: d\n  condition: proc.name = bash\n"
			     "  output: hi\n  priority: info\n",
			     &o);
	cr_assert_eq(rule_engine__format_output(e, 0, ev.type, &ev, TS, &t), 0);
	cr_assert_str_eq(t.buf, "2023-11-14T22:13:20.123456789Z: Informational hi");
	rule_text__free(&t);
	rule_engine__free(e);
}

Test(rules_output, json_alert_shape)
{
	struct fake_event ev = ev_full();
	struct json_buf j;
	struct rule_engine *e = one_rule("shell %proc.name (%proc.pid) file=%fd.directory",
					 "evt.type = open and proc.name = bash and not user.name = "
					 "root");

	json_init(&j);
	cr_assert_eq(format_alert(e, 0, &ev, "h1", &j), 0);
	cr_assert_str_eq(j.buf,
			 "{\"hostname\":\"h1\","
			 "\"output\":\"22:13:20.123456789: Warning shell bash (7) file=<NA>\","
			 "\"output_fields\":{\"evt.time\":1700000000123456789,"
			 "\"evt.type\":\"open\",\"fd.directory\":null,\"proc.name\":\"bash\","
			 "\"proc.pid\":7,\"user.name\":\"bob\"},"
			 "\"priority\":\"Warning\",\"rule\":\"r\",\"source\":\"syscall\","
			 "\"tags\":[\"a\",\"b\"],\"time\":\"2023-11-14T22:13:20.123456789Z\"}");
	json_free(&j);
	rule_engine__free(e);
}

Test(rules_output, json_typed_values)
{
	struct fake_event ev = ev_full();
	struct json_buf j;
	struct rule_engine *e =
	    one_rule("%proc.aname %fd.sip %evt.is_open_write %fd.sport", "proc.name = bash");

	json_init(&j);
	cr_assert_eq(format_alert(e, 0, &ev, "h", &j), 0);
	cr_assert(strstr(j.buf, "\"proc.aname\":[\"sshd\",\"systemd\"]"), "%s", j.buf);
	cr_assert(strstr(j.buf, "\"fd.sip\":\"10.1.2.3\""), "%s", j.buf);
	cr_assert(strstr(j.buf, "\"evt.is_open_write\":true"), "%s", j.buf);
	cr_assert(strstr(j.buf, "\"fd.sport\":null"), "%s", j.buf);
	ev.n_anames = 0;
	ev.sport = 22;
	ev.has_sport = true;
	json_reset(&j);
	cr_assert_eq(format_alert(e, 0, &ev, "h", &j), 0);
	cr_assert(strstr(j.buf, "\"proc.aname\":null"), "%s", j.buf);
	cr_assert(strstr(j.buf, "\"fd.sport\":22"), "%s", j.buf);
	json_free(&j);
	rule_engine__free(e);
}

Test(rules_output, alert_parts_typed_and_text_line_once)
{
	struct fake_event ev = ev_full();
	struct rule_alert a = {0};
	struct rule_text line = {0};
	struct rule_engine *e = one_rule(
	    "%proc.aname %fd.sip %evt.is_open_write %fd.sport %proc.pid", "proc.name = bash");
	static const struct {
		const char *name, *value;
		enum rule_out_type type;
	} want[] = {
	    {"evt.is_open_write", "true", RULE_OUT_RAW},
	    {"evt.time", "1700000000123456789", RULE_OUT_RAW},
	    {"fd.sip", "10.1.2.3", RULE_OUT_STRING},
	    {"fd.sport", NULL, RULE_OUT_NULL},
	    {"proc.aname", "[\"sshd\",\"systemd\"]", RULE_OUT_LIST},
	    {"proc.name", "bash", RULE_OUT_STRING},
	    {"proc.pid", "7", RULE_OUT_RAW},
	};

	cr_assert_eq(rule_engine__format_alert(e, 0, ev.type, &ev, TS, &a), 0);
	cr_assert_eq(rule_engine__format_output(e, 0, ev.type, &ev, TS, &line), 0);
	cr_assert_str_eq(a.output.buf, line.buf, "the alert's text line is Falco's");
	cr_assert_eq(a.n_fields, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < a.n_fields; i++) {
		cr_assert_str_eq(a.fields[i].name, want[i].name);
		cr_assert_eq(a.fields[i].type, want[i].type, "%s", want[i].name);
		if (want[i].value)
			cr_assert_str_eq(a.fields[i].value, want[i].value);
		else
			cr_assert_null(a.fields[i].value);
	}
	rule_text__free(&line);
	rule_alert__free(&a);
	rule_engine__free(e);
}

Test(rules_output, exception_fields_in_output_fields)
{
	struct fake_event ev = ev_full();
	struct json_buf j;
	struct rule_engine *e =
	    fake_engine("- rule: r\n  desc: d\n  condition: proc.name = bash\n"
			"  output: o\n  priority: INFO\n"
			"  exceptions:\n    - name: x\n      fields: [fd.name]\n"
			"      values: [[/tmp]]\n");

	json_init(&j);
	cr_assert_eq(format_alert(e, 0, &ev, "h", &j), 0);
	cr_assert(strstr(j.buf, "\"output_fields\":{\"evt.time\":1700000000123456789,"
				"\"fd.name\":\"/etc/x\",\"proc.name\":\"bash\"}"),
		  "%s", j.buf);
	json_free(&j);
	rule_engine__free(e);
}

Test(rules_output, hostile_values_escaped)
{
	struct fake_event ev = ev_full();
	struct json_buf j;
	struct rule_engine *e = one_rule("name=%proc.name", "proc.name exists");

	ev.proc_name = "evil\"},\"rule\":\"x\n\\\x01\xff";
	json_init(&j);
	cr_assert_eq(format_alert(e, 0, &ev, "h\"", &j), 0);
	cr_assert(
	    strstr(j.buf, "\"proc.name\":\"evil\\\"},\\\"rule\\\":\\\"x\\n\\\\\\u0001\\udcff\""),
	    "%s", j.buf);
	cr_assert(strstr(j.buf, "Warning name=evil\\\"},\\\"rule\\\""), "%s", j.buf);
	cr_assert(strstr(j.buf, "\"hostname\":\"h\\\"\""), "%s", j.buf);
	for (size_t i = 0; i < j.len; i++)
		cr_assert((unsigned char)j.buf[i] >= 0x20, "raw control byte at %zu", i);
	json_free(&j);
	rule_engine__free(e);
}

struct cb_ctx {
	struct rule_engine *e; /* engine */
	struct fake_event *ev; /* event being evaluated */
	struct rule_text t;    /* rendered */
	int gets_before;       /* getter calls before formatting */
	int gets_after;	       /* and after */
};

static void format_in_callback(void *arg, size_t idx, const struct rule_info *r)
{
	struct cb_ctx *c = arg;

	(void)r;
	c->gets_before = c->ev->gets;
	rule_engine__format_message(c->e, idx, c->ev->type, c->ev, &c->t);
	c->gets_after = c->ev->gets;
}

Test(rules_output, formatting_reuses_eval_values)
{
	struct fake_event ev = ev_full();
	struct cb_ctx c = {.ev = &ev};

	c.e = one_rule("%proc.name %user.name", "proc.name = bash");
	cr_assert_eq(rule_engine__eval(c.e, ev.type, &ev, format_in_callback, &c), 1);
	cr_assert_str_eq(c.t.buf, "bash bob");
	cr_assert_eq(c.gets_after - c.gets_before, 1, "only user.name is fetched anew");
	rule_text__free(&c.t);
	rule_engine__free(c.e);
}

Test(rules_output, format_outside_eval_fetches_fresh)
{
	struct fake_event a = ev_full(), b = ev_full();
	struct rule_engine *e = one_rule("%proc.name", "proc.name exists");
	struct rule_text t = {0};

	b.proc_name = "zsh";
	cr_assert_eq(rule_engine__eval(e, a.type, &a, NULL, NULL), 1);
	cr_assert_eq(rule_engine__format_message(e, 0, b.type, &b, &t), 0);
	cr_assert_str_eq(t.buf, "zsh");
	rule_text__free(&t);
	rule_engine__free(e);
}
