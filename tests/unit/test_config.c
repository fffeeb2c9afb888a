// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_config.c - unit tests for the YAML configuration: defaults, every output
 * type's options, the shipped example, durations and sizes, and error messages
 * that name file:line:col and what to do (several errors reported at once).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "output/sink.h"
#include "rules/engine.h"

static struct vigil_config *load(const char *yaml, char *err, size_t errlen, int *ret)
{
	struct vigil_config *c = config__new();

	cr_assert_not_null(c);
	*ret = config__load_buf(c, "test.yaml", yaml, strlen(yaml), err, errlen);
	return c;
}

static struct vigil_config *load_ok(const char *yaml)
{
	char err[2048];
	int ret;
	struct vigil_config *c = load(yaml, err, sizeof(err), &ret);

	cr_assert_eq(ret, 0, "unexpected error: %s", err);
	return c;
}

/* Loads yaml expecting failure and checks that err holds want. */
static void expect_error(const char *yaml, const char *want)
{
	char err[4096];
	int ret;
	struct vigil_config *c = load(yaml, err, sizeof(err), &ret);

	cr_assert_eq(ret, -EINVAL, "expected an error for:\n%s", yaml);
	cr_assert_not_null(strstr(err, want), "error\n  %s\ndoes not contain\n  %s", err, want);
	config__free(c);
}

Test(config, defaults)
{
	struct vigil_config *c = config__new();

	cr_assert_eq(c->n_outputs, 1);
	cr_assert_str_eq(c->outputs[0].sink->name, "stdout");
	cr_assert_str_eq(c->outputs[0].name, "stdout");
	cr_assert_eq(((struct stdout_settings *)c->outputs[0].settings)->format, SINK_FMT_AUTO);
	cr_assert(c->metrics.enabled);
	cr_assert_str_eq(c->metrics.listen, "127.0.0.1:9376");
	cr_assert(c->metrics.health);
	cr_assert_eq(c->min_priority, RULE_PRIO_ANY);
	cr_assert_not(c->rate_limit.enabled);
	cr_assert_eq(c->rules_files.n, 0);
	config__free(c);
}

Test(config, empty_file_keeps_defaults)
{
	struct vigil_config *c = load_ok("");

	cr_assert_eq(c->n_outputs, 1);
	cr_assert_str_eq(c->metrics.listen, "127.0.0.1:9376");
	config__free(c);
	c = load_ok("# only a comment\n");
	cr_assert_eq(c->n_outputs, 1);
	config__free(c);
}

Test(config, top_level)
{
	struct vigil_config *c = load_ok("rules_files:\n"
					 "  - /etc/vigil/rules.yaml\n"
					 "  - /etc/vigil/rules.d/local.yaml\n"
					 "priority: warning\n"
					 "hostname: node-7\n"
					 "queue_size: 100\n"
					 "shutdown_timeout: 2500ms\n"
					 "metrics:\n"
					 "  enabled: false\n"
					 "  listen: '[::1]:9999'\n"
					 "  health: no\n"
					 "  stall_timeout: 1m\n");

	cr_assert_eq(c->rules_files.n, 2);
	cr_assert_str_eq(c->rules_files.items[1], "/etc/vigil/rules.d/local.yaml");
	cr_assert_eq(c->min_priority, RULE_PRIO_WARNING);
	cr_assert_str_eq(c->hostname, "node-7");
	cr_assert_eq(c->queue_size, 100);
	cr_assert_eq(c->drain_ns, 2500000000ull);
	cr_assert_not(c->metrics.enabled);
	cr_assert_str_eq(c->metrics.listen, "[::1]:9999");
	cr_assert_not(c->metrics.health);
	cr_assert_eq(c->metrics.stall_ns, 60000000000ull);
	config__free(c);
}

Test(config, rules_file_as_scalar)
{
	struct vigil_config *c = load_ok("rules_file: /etc/vigil/rules.yaml\n");

	cr_assert_eq(c->rules_files.n, 1);
	cr_assert_str_eq(c->rules_files.items[0], "/etc/vigil/rules.yaml");
	config__free(c);
}

Test(config, outputs_of_every_type)
{
	struct vigil_config *c = load_ok("queue_size: 77\n"
					 "outputs:\n"
					 "  - type: stdout\n"
					 "    format: json\n"
					 "  - type: file\n"
					 "    path: /var/log/vigil/alerts.jsonl\n"
					 "    max_size: 10M\n"
					 "    backups: 3\n"
					 "    priority: error\n"
					 "  - type: file\n"
					 "    path: /tmp/second.jsonl\n"
					 "    queue_size: 9\n"
					 "  - type: syslog\n"
					 "    transport: tcp\n"
					 "    address: 10.1.2.3:6514\n"
					 "    facility: local3\n"
					 "    app_name: sec\n"
					 "    sd_id: sec@1\n"
					 "    format: json\n"
					 "    max_message: 16K\n"
					 "  - type: webhook\n"
					 "    name: sidekick\n"
					 "    url: https://collector:2801/\n"
					 "    headers:\n"
					 "      Authorization: Bearer abc\n"
					 "      X-Env: prod\n"
					 "    timeout: 3s\n"
					 "    connect_timeout: 500ms\n"
					 "    retries: 5\n"
					 "    backoff: 100ms\n"
					 "    max_backoff: 2s\n"
					 "    batch: 20\n"
					 "    tls:\n"
					 "      ca_file: /etc/ssl/ca.pem\n"
					 "      cert_file: /etc/ssl/c.pem\n"
					 "      key_file: /etc/ssl/c.key\n"
					 "  - type: alertmanager\n"
					 "    url: http://127.0.0.1:9093\n"
					 "    labels:\n"
					 "      cluster: prod\n"
					 "    resend_interval: 30s\n"
					 "    resolve_after: 10m\n"
					 "    max_active: 50\n");
	const struct config_output *o = c->outputs;

	const struct stdout_settings *out = o[0].settings;
	const struct file_settings *f = o[1].settings;
	const struct syslog_settings *y = o[3].settings;
	const struct webhook_settings *w = o[4].settings;
	const struct alertmanager_settings *am = o[5].settings;

	cr_assert_eq(c->n_outputs, 6);
	cr_assert_str_eq(o[0].sink->name, "stdout");
	cr_assert_eq(out->format, SINK_FMT_JSON);
	cr_assert_eq(o[0].queue_size, 77, "outputs inherit queue_size");

	cr_assert_str_eq(o[1].name, "file");
	cr_assert_str_eq(f->path, "/var/log/vigil/alerts.jsonl");
	cr_assert_eq(f->max_bytes, 10ull << 20);
	cr_assert_eq(f->backups, 3);
	cr_assert_eq(o[1].min_priority, RULE_PRIO_ERROR);
	cr_assert_eq(o[1].line, 5);
	cr_assert_eq(o[1].col, 5);
	cr_assert_str_eq(o[2].name, "file-2", "a repeated type gets a numbered name");
	cr_assert_eq(o[2].queue_size, 9);

	cr_assert_eq(y->transport, SYSLOG_TCP);
	cr_assert_str_eq(y->host, "10.1.2.3");
	cr_assert_str_eq(y->port, "6514");
	cr_assert_eq(y->facility, 19);
	cr_assert_str_eq(y->app_name, "sec");
	cr_assert_str_eq(y->sd_id, "sec@1");
	cr_assert_eq(y->format, SINK_FMT_JSON);
	cr_assert_eq(y->max_message, 16384);

	cr_assert_str_eq(o[4].name, "sidekick");
	cr_assert_str_eq(w->http.url, "https://collector:2801/");
	cr_assert_eq(w->http.headers.n, 2);
	cr_assert_str_eq(w->http.headers.items[0].key, "Authorization");
	cr_assert_str_eq(w->http.headers.items[0].value, "Bearer abc");
	cr_assert_eq(w->http.timeout_ns, 3000000000ull);
	cr_assert_eq(w->http.connect_timeout_ns, 500000000ull);
	cr_assert_eq(w->http.retries, 5);
	cr_assert_eq(w->http.backoff_ns, 100000000ull);
	cr_assert_eq(w->http.backoff_max_ns, 2000000000ull);
	cr_assert_eq(w->batch, 20);
	cr_assert_str_eq(w->http.tls.ca_file, "/etc/ssl/ca.pem");
	cr_assert_str_eq(w->http.tls.key_file, "/etc/ssl/c.key");
	cr_assert_not(w->http.tls.insecure);

	cr_assert_eq(am->labels.n, 1);
	cr_assert_str_eq(am->labels.items[0].key, "cluster");
	cr_assert_eq(am->resend_ns, 30000000000ull);
	cr_assert_eq(am->resolve_ns, 600000000000ull);
	cr_assert_eq(am->max_active, 50);
	config__free(c);
}

Test(config, syslog_defaults_to_dev_log)
{
	struct vigil_config *c = load_ok("outputs:\n  - type: syslog\n");

	const struct syslog_settings *y = c->outputs[0].settings;

	cr_assert_eq(y->transport, SYSLOG_UNIX);
	cr_assert_str_eq(y->socket, "/dev/log");
	cr_assert_eq(y->facility, 1);
	cr_assert_str_eq(y->sd_id, "vigil@32473");
	config__free(c);
}

Test(config, rate_limit_rules_inherit_defaults)
{
	struct vigil_config *c = load_ok("rate_limit:\n"
					 "  enabled: true\n"
					 "  rules:\n"
					 "    Noisy rule:\n"
					 "      rate: 0.5\n"
					 "    Other:\n"
					 "      burst: 3\n"
					 "  rate: 4\n"
					 "  burst: 8\n"
					 "  summary_interval: 10s\n");

	cr_assert(c->rate_limit.enabled);
	cr_assert_eq(c->rate_limit.n_rules, 2);
	cr_assert_str_eq(c->rate_limit.rules[0].rule, "Noisy rule");
	cr_assert_float_eq(c->rate_limit.rules[0].rate, 0.5, 1e-9);
	cr_assert_float_eq(c->rate_limit.rules[0].burst, 8, 1e-9, "default written after");
	cr_assert_float_eq(c->rate_limit.rules[1].rate, 4, 1e-9);
	cr_assert_float_eq(c->rate_limit.rules[1].burst, 3, 1e-9);
	cr_assert_eq(c->rate_limit.summary_ns, 10000000000ull);
	config__free(c);
}

Test(config, shipped_example_loads)
{
	struct vigil_config *c = config__new();
	char err[4096];
	int ret = config__load_file(c, "deploy/vigil.yaml", err, sizeof(err));

	cr_assert_eq(ret, 0, "deploy/vigil.yaml (run from the repository root): %s", err);
	cr_assert_geq(c->n_outputs, 1);
	cr_assert_str_eq(c->path, "deploy/vigil.yaml");
	config__free(c);
}

Test(config, missing_file)
{
	struct vigil_config *c = config__new();
	char err[512];

	cr_assert_eq(config__load_file(c, "/nonexistent/vigil.yaml", err, sizeof(err)), -ENOENT);
	cr_assert_not_null(strstr(err, "/nonexistent/vigil.yaml: cannot open"));
	config__free(c);
}

Test(config, durations)
{
	static const struct {
		const char *s;
		uint64_t ns;
	} ok[] = {
	    {"1", 1000000000ull},
	    {"1.5s", 1500000000ull},
	    {"250ms", 250000000ull},
	    {"2m", 120000000000ull},
	    {"1h", 3600000000000ull},
	    {"10us", 10000ull},
	    {"7ns", 7},
	    {"0", 0},
	};
	static const char *const bad[] = {"", "s", "-1s", "5 s", "5d", "1e30h", "abc", " 5"};
	uint64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_assert_eq(options__parse_duration(ok[i].s, &v), 0, "%s", ok[i].s);
		cr_assert_eq(v, ok[i].ns, "%s -> %llu", ok[i].s, (unsigned long long)v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(options__parse_duration(bad[i], &v), -EINVAL, "'%s' accepted", bad[i]);
}

Test(config, sizes)
{
	static const struct {
		const char *s;
		uint64_t b;
	} ok[] = {
	    {"4096", 4096},	{"512K", 512 << 10},  {"100M", 100ull << 20},
	    {"1G", 1ull << 30}, {"2MiB", 2ull << 20}, {"3kB", 3 << 10},
	    {"10B", 10},
	};
	static const char *const bad[] = {"", "M", "-1", "1T", "1.5M", "1 M", "99999999999999G"};
	uint64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_assert_eq(options__parse_size(ok[i].s, &v), 0, "%s", ok[i].s);
		cr_assert_eq(v, ok[i].b, "%s", ok[i].s);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(options__parse_size(bad[i], &v), -EINVAL, "'%s' accepted", bad[i]);
}

Test(config, error_unknown_top_key)
{
	expect_error("priority: notice\n\nbogus: 1\n",
		     "test.yaml:3:1: unknown key 'bogus' in the configuration; known keys: "
		     "rules_files");
}

Test(config, error_bad_priority_names_place_and_choices)
{
	expect_error("priority: loud\n",
		     "test.yaml:1:11: priority: unknown priority 'loud'; use emergency, alert");
}

Test(config, error_yaml_syntax)
{
	expect_error("outputs:\n  - type: file\n    path: [unclosed\n",
		     "test.yaml:4:1: YAML syntax error");
}

Test(config, error_not_a_mapping)
{
	expect_error("- a\n- b\n", "test.yaml:1:1: the configuration must be a mapping");
}

Test(config, error_output_without_type)
{
	expect_error("outputs:\n  - path: /x\n", "test.yaml:2:5: output without 'type'");
}

Test(config, error_unknown_output_type)
{
	expect_error("outputs:\n  - type: kafka\n",
		     "test.yaml:2:11: type: unknown value 'kafka'; use stdout, file, syslog, "
		     "webhook, alertmanager or exec");
}

Test(config, error_key_of_another_type)
{
	expect_error("outputs:\n  - type: stdout\n    url: http://x\n",
		     "test.yaml:3:5: unknown key 'url' in a stdout output; known keys: type, "
		     "name, priority, queue_size, format");
}

Test(config, error_file_without_path)
{
	expect_error("outputs:\n  - type: file\n", "test.yaml:2:5: a file output needs 'path'");
}

Test(config, error_webhook_url)
{
	expect_error("outputs:\n  - type: webhook\n", "a webhook output needs 'url'");
	expect_error("outputs:\n  - type: webhook\n    url: ftp://x\n",
		     "test.yaml:3:10: url: 'ftp://x' must start with http:// or https://");
}

Test(config, error_bad_values)
{
	expect_error("outputs:\n  - type: webhook\n    url: http://x\n    timeout: soon\n",
		     "test.yaml:4:14: timeout: 'soon' is not a duration; use e.g. 500ms");
	expect_error("outputs:\n  - type: file\n    path: /x\n    max_size: big\n",
		     "test.yaml:4:15: max_size: 'big' is not a size");
	expect_error("outputs:\n  - type: file\n    path: /x\n    backups: -2\n",
		     "backups: '-2' is not a whole number from 0 to 1000");
	expect_error("metrics:\n  enabled: maybe\n",
		     "test.yaml:2:12: enabled: 'maybe' is not a boolean; use true or false");
	expect_error("metrics:\n  listen: 9376\n", "listen: '9376' is not HOST:PORT");
	expect_error("outputs:\n  - type: syslog\n    transport: udp\n    address: nowhere\n",
		     "address: 'nowhere' is not HOST:PORT");
	expect_error("outputs:\n  - type: syslog\n    facility: local9\n",
		     "facility: unknown value 'local9'");
	expect_error("outputs: {type: file}\n", "outputs: expected a list of outputs");
}

Test(config, error_duplicate_names_and_keys)
{
	expect_error("outputs:\n"
		     "  - type: file\n"
		     "    path: /a\n"
		     "  - type: stdout\n"
		     "    name: file\n",
		     "test.yaml:5:11: output name 'file' is used twice");
	expect_error("priority: info\npriority: debug\n",
		     "test.yaml:2:1: configuration: key 'priority' is given twice");
}

Test(config, error_alertmanager_resend_vs_resolve)
{
	expect_error("outputs:\n  - type: alertmanager\n    url: http://am\n"
		     "    resend_interval: 10m\n    resolve_after: 5m\n",
		     "test.yaml:4:22: resend_interval must be shorter than resolve_after");
}

Test(config, error_tls_pair)
{
	expect_error("outputs:\n  - type: webhook\n    url: https://x\n    tls:\n"
		     "      cert_file: /c.pem\n",
		     "tls: give both cert_file and key_file");
}

Test(config, error_header_and_label_names)
{
	expect_error("outputs:\n  - type: webhook\n    url: http://x\n    headers:\n"
		     "      'Bad Header': 1\n",
		     "header 'Bad Header' may not hold");
	expect_error("outputs:\n  - type: alertmanager\n    url: http://x\n    labels:\n"
		     "      9lives: 1\n",
		     "label name '9lives' is not valid");
}

Test(config, all_errors_reported_at_once)
{
	char err[4096];
	int ret, lines = 1;
	struct vigil_config *c = load("priority: loud\n"
				      "bogus: 1\n"
				      "outputs:\n"
				      "  - type: file\n"
				      "  - type: webhook\n"
				      "    url: http://x\n"
				      "    retries: many\n",
				      err, sizeof(err), &ret);

	cr_assert_eq(ret, -EINVAL);
	for (const char *p = err; *p; p++)
		lines += *p == '\n';
	cr_assert_eq(lines, 4, "expected four problems, got:\n%s", err);
	cr_assert_not_null(strstr(err, "test.yaml:1:11:"));
	cr_assert_not_null(strstr(err, "test.yaml:2:1:"));
	cr_assert_not_null(strstr(err, "test.yaml:4:5:"));
	cr_assert_not_null(strstr(err, "test.yaml:7:14:"));
	config__free(c);
}

Test(config, error_buffer_is_bounded)
{
	char err[40];
	int ret;
	struct vigil_config *c = load("a: 1\nb: 2\nc: 3\n", err, sizeof(err), &ret);

	cr_assert_eq(ret, -EINVAL);
	cr_assert_lt(strlen(err), sizeof(err));
	cr_assert_eq(strlen(err), sizeof(err) - 1, "the first message fills the buffer");
	cr_assert_eq(strncmp(err, "test.yaml:1:1: unknown key 'a' in the", 37), 0, "%s", err);
	config__free(c);
}

Test(config, sink_table_names)
{
	cr_assert_str_eq(sink_desc__find("alertmanager")->name, "alertmanager");
	cr_assert_str_eq(sink_desc__find("file")->name, "file");
	cr_assert_null(sink_desc__find("kafka"));
}

/* ---- the option table on the command line, in --help and in the docs ---- */

static int parse_flags(struct vigil_config *c, char **argv, int argc, char *err, size_t errlen)
{
	struct opt_ctx x = {.cli = true, .err = err, .errlen = errlen};
	void *bases[2] = {c, NULL};

	err[0] = '\0';
	x.bases = bases;
	return options__parse_argv(&x, config_options, argc, argv, NULL, NULL, NULL);
}

Test(config, flags_win_over_the_file)
{
	struct vigil_config *c = load_ok("rules_files: [a.yaml, b.yaml]\n"
					 "priority: error\n"
					 "metrics:\n  listen: 10.0.0.1:9\n");
	char *argv[] = {"run", "--rules", "x.yaml", "--rules=y.yaml", "--metrics-listen", "off"};
	char err[256];

	cr_assert_eq(parse_flags(c, argv, 6, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c->rules_files.n, 2, "the flags replace the file's list");
	cr_assert_str_eq(c->rules_files.items[0], "x.yaml");
	cr_assert_str_eq(c->rules_files.items[1], "y.yaml");
	cr_assert_eq(c->min_priority, RULE_PRIO_ERROR, "what no flag sets stays the file's");
	cr_assert_not(c->metrics.enabled);
	config__free(c);

	c = load_ok("metrics:\n  enabled: false\n");
	{
		char *argv2[] = {"run", "--metrics-listen", "127.0.0.1:0", "--min-priority=notice"};

		cr_assert_eq(parse_flags(c, argv2, 4, err, sizeof(err)), 0, "%s", err);
	}
	cr_assert(c->metrics.enabled, "an address given on the command line turns metrics on");
	cr_assert_str_eq(c->metrics.listen, "127.0.0.1:0");
	cr_assert_eq(c->min_priority, RULE_PRIO_NOTICE);
	config__free(c);
}

Test(config, flag_errors_name_the_flag_and_the_choices)
{
	struct vigil_config *c = config__new();
	char *bad_prio[] = {"run", "--min-priority", "loud"};
	char *bad_listen[] = {"run", "--metrics-listen=9376"};
	char *extra[] = {"run", "stray"};
	char err[256];

	cr_assert_eq(parse_flags(c, bad_prio, 3, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "--min-priority: unknown priority 'loud'; use emergency"),
			   "%s", err);
	cr_assert_eq(parse_flags(c, bad_listen, 2, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "--metrics-listen: '9376' is not HOST:PORT"), "%s", err);
	cr_assert_eq(parse_flags(c, extra, 2, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "unexpected argument 'stray'"), "%s", err);
	config__free(c);
}

Test(config, help_lists_every_flag_of_the_table)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	options__print_help(config_options, f);
	fclose(f);
	cr_assert_not_null(strstr(buf, "--rules=FILE "));
	cr_assert_not_null(strstr(buf, "--min-priority=P "));
	cr_assert_not_null(strstr(buf, "--metrics-listen=HOST:PORT|off "));
	cr_assert_not_null(strstr(buf, "(default 127.0.0.1:9376)"), "defaults come from the table");
	free(buf);
}

Test(config, docs_hold_the_key_reference_of_the_table)
{
	char *want = NULL, *doc;
	size_t len = 0;
	FILE *f = open_memstream(&want, &len);
	FILE *d = fopen("docs/OUTPUTS.md", "r");
	long n;

	config__print_markdown(f);
	fclose(f);
	cr_assert_not_null(d, "run from the repository");
	fseek(d, 0, SEEK_END);
	n = ftell(d);
	rewind(d);
	doc = calloc(1, n + 1);
	cr_assert_eq(fread(doc, 1, n, d), (size_t)n);
	fclose(d);
	cr_assert_not_null(strstr(doc, want),
			   "docs/OUTPUTS.md is out of date: paste `vigil config keys` into its key "
			   "reference");
	free(doc);
	free(want);
}

Test(config, example_file_shows_every_key)
{
	char *keys = NULL, *yaml, *line, *save = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&keys, &len);
	FILE *d = fopen("deploy/vigil.yaml", "r");
	long n;

	config__print_markdown(f);
	fclose(f);
	cr_assert_not_null(d, "run from the repository");
	fseek(d, 0, SEEK_END);
	n = ftell(d);
	rewind(d);
	yaml = calloc(1, n + 1);
	cr_assert_eq(fread(yaml, 1, n, d), (size_t)n);
	fclose(d);
	for (line = strtok_r(keys, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char want[96];
		const char *key, *dot;
		size_t klen;

		if (strncmp(line, "| `", 3))
			continue;
		key = line + 3;
		klen = strcspn(key, "`");
		dot = memrchr(key, '.', klen);
		if (dot) {
			klen -= dot + 1 - key;
			key = dot + 1;
		}
		snprintf(want, sizeof(want), "\n%.*s:", (int)klen, key); /* top level */
		if (strstr(yaml, want))
			continue;
		want[0] = ' '; /* nested, or in a commented-out example */
		cr_assert_not_null(strstr(yaml, want), "deploy/vigil.yaml does not show '%s'",
				   want + 1);
	}
	free(yaml);
	free(keys);
}

/* Values a custom parser stores (the metrics address, syslog's host and port) are the
 * configuration's to free: options__free releases them as it does plain strings. */
Test(config, custom_values_are_released)
{
	struct vigil_config *c = load_ok("metrics:\n  listen: 127.0.0.1:9999\n"
					 "outputs:\n  - type: syslog\n    transport: udp\n"
					 "    address: '[::1]:514'\n");
	struct syslog_settings *y = c->outputs[0].settings;

	cr_assert_str_eq(c->metrics.listen, "127.0.0.1:9999");
	cr_assert_str_eq(y->host, "::1");
	cr_assert_str_eq(y->port, "514");
	options__free(c->outputs[0].sink->keys, (void *const[]){y, NULL}, -1);
	cr_assert_null(y->host);
	cr_assert_null(y->port);
	options__free(config_options, (void *const[]){c, NULL}, -1);
	cr_assert_null(c->metrics.listen);
	config__free(c);
}
