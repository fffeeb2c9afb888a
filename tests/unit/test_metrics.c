// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_metrics.c - unit tests for the metrics registry: the exact exposition text
 * (HELP/TYPE, labels and their escapes, histograms, number formats), name rules,
 * collectors, concurrent updates, and the HTTP endpoint on loopback (/metrics with
 * its content type, /healthz with a stalled heartbeat, /readyz, errors).
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/metrics.h"

static struct metrics *new_metrics(void)
{
	struct metrics *m = metrics__new(&(struct metrics_opts){.version = "1.2.3"});

	cr_assert_not_null(m);
	return m;
}

static char *render(struct metrics *m)
{
	char *text = metrics__render(m, NULL);

	cr_assert_not_null(text);
	return text;
}

static void assert_has(const char *text, const char *want)
{
	cr_assert_not_null(strstr(text, want), "exposition lacks\n%s\n--- got:\n%s", want, text);
}

Test(metrics, counter_and_gauge_text)
{
	struct metrics *m = new_metrics();
	struct metric *c = metrics__counter(m, "vigil_test_things_total", "Things counted.");
	struct metric *g = metrics__gauge(m, "vigil_test_level_ratio", "A level.");
	char *text;

	metric__inc(c);
	metric__add(c, 41);
	metric__set(g, 0.25);
	metric__gauge_add(g, 0.5);
	text = render(m);
	assert_has(text, "# HELP vigil_test_things_total Things counted.\n"
			 "# TYPE vigil_test_things_total counter\n"
			 "vigil_test_things_total 42\n");
	assert_has(text, "# HELP vigil_test_level_ratio A level.\n"
			 "# TYPE vigil_test_level_ratio gauge\n"
			 "vigil_test_level_ratio 0.75\n");
	cr_assert_float_eq(metric__value(c), 42, 0);
	cr_assert_float_eq(metric__value(g), 0.75, 0);
	free(text);
	metrics__free(m);
}

Test(metrics, labels_and_escapes)
{
	static const char *const labels[] = {"rule", "priority", NULL};
	struct metrics *m = new_metrics();
	struct metric_family *f = metrics__family(m, METRIC_COUNTER, "vigil_test_alerts_total",
						  "Help with \\ and\nnewline.", labels);
	struct metric *a =
	    metric_family__series(f, (const char *const[]){"say \"hi\"\\\n", "Warning"});
	struct metric *b = metric_family__series(f, (const char *const[]){"plain", "Error"});
	char *text;

	cr_assert_eq(a,
		     metric_family__series(f, (const char *const[]){"say \"hi\"\\\n", "Warning"}),
		     "the same labels give the same series");
	cr_assert_neq(a, b);
	metric__add(a, 3);
	text = render(m);
	assert_has(text, "# HELP vigil_test_alerts_total Help with \\\\ and\\nnewline.\n");
	assert_has(
	    text,
	    "vigil_test_alerts_total{rule=\"say \\\"hi\\\"\\\\\\n\",priority=\"Warning\"} 3\n");
	assert_has(text, "vigil_test_alerts_total{rule=\"plain\",priority=\"Error\"} 0\n");
	free(text);
	metrics__free(m);
}

Test(metrics, histogram_text)
{
	static const double bounds[] = {0.001, 0.01, 1};
	static const char *const labels[] = {"sink", NULL};
	struct metrics *m = new_metrics();
	struct metric *h = metric_family__series(
	    metrics__histogram(m, "vigil_test_seconds", "Durations.", labels, bounds, 3),
	    (const char *const[]){"a"});
	char *text;

	metric__observe(h, 0.0005);
	metric__observe(h, 0.001); /* on a bound: counted in it (le) */
	metric__observe(h, 0.5);
	metric__observe(h, 7);
	text = render(m);
	assert_has(text, "# TYPE vigil_test_seconds histogram\n"
			 "vigil_test_seconds_bucket{sink=\"a\",le=\"0.001\"} 2\n"
			 "vigil_test_seconds_bucket{sink=\"a\",le=\"0.01\"} 2\n"
			 "vigil_test_seconds_bucket{sink=\"a\",le=\"1\"} 3\n"
			 "vigil_test_seconds_bucket{sink=\"a\",le=\"+Inf\"} 4\n"
			 "vigil_test_seconds_sum{sink=\"a\"} 7.5015\n"
			 "vigil_test_seconds_count{sink=\"a\"} 4\n");
	cr_assert_float_eq(metric__value(h), 4, 0);
	free(text);
	metrics__free(m);
}

Test(metrics, number_formats)
{
	struct metrics *m = new_metrics();
	struct metric *g = metrics__gauge(m, "vigil_test_g", "G.");
	struct {
		double v;
		const char *text;
	} cases[] = {
	    {0, "vigil_test_g 0\n"},
	    {-3, "vigil_test_g -3\n"},
	    {0.1, "vigil_test_g 0.1\n"},
	    {1e-6, "vigil_test_g 1e-06\n"},
	    {1.0 / 0.0, "vigil_test_g +Inf\n"},
	    {1e300, "vigil_test_g 1e+300\n"},
	    {0.0 / 0.0, "vigil_test_g NaN\n"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text;

		metric__set(g, cases[i].v);
		text = render(m);
		assert_has(text, cases[i].text);
		free(text);
	}
	metrics__free(m);
}

Test(metrics, names_are_checked)
{
	static const char *const bad_label[] = {"1x", NULL};
	static const char *const reserved[] = {"__x", NULL};
	static const char *const le[] = {"le", NULL};
	static const double bounds[] = {2, 1};
	struct metrics *m = new_metrics();

	errno = 0;
	cr_assert_null(metrics__family(m, METRIC_COUNTER, "vigil_no_suffix", "x", NULL));
	cr_assert_eq(errno, EINVAL);
	cr_assert_null(metrics__family(m, METRIC_GAUGE, "9bad", "x", NULL));
	cr_assert_null(metrics__family(m, METRIC_GAUGE, "vigil-dash", "x", NULL));
	cr_assert_null(metrics__family(m, METRIC_GAUGE, "vigil_x", "x", bad_label));
	cr_assert_null(metrics__family(m, METRIC_GAUGE, "vigil_x", "x", reserved));
	cr_assert_null(metrics__histogram(m, "vigil_h", "x", le, (double[]){1}, 1));
	cr_assert_null(metrics__histogram(m, "vigil_h", "x", NULL, bounds, 2), "unsorted bounds");
	cr_assert_not_null(metrics__family(m, METRIC_GAUGE, "vigil_x", "x", NULL));
	cr_assert_null(metrics__family(m, METRIC_COUNTER, "vigil_x", "x", NULL),
		       "same name, other type");
	metrics__free(m);
}

Test(metrics, same_family_twice)
{
	static const char *const labels[] = {"a", NULL};
	static const char *const other[] = {"b", NULL};
	struct metrics *m = new_metrics();
	struct metric_family *f = metrics__family(m, METRIC_GAUGE, "vigil_x", "x", labels);

	cr_assert_eq(metrics__family(m, METRIC_GAUGE, "vigil_x", "x", labels), f);
	cr_assert_null(metrics__family(m, METRIC_GAUGE, "vigil_x", "x", other));
	cr_assert_null(metrics__family(m, METRIC_GAUGE, "vigil_x", "x", NULL));
	metrics__free(m);
}

Test(metrics, series_are_bounded)
{
	static const char *const labels[] = {"n", NULL};
	struct metrics *m = new_metrics();
	struct metric_family *f =
	    metrics__family(m, METRIC_COUNTER, "vigil_many_total", "x", labels);
	char v[16];

	for (int i = 0; i < METRICS_MAX_SERIES; i++) {
		snprintf(v, sizeof(v), "%d", i);
		cr_assert_not_null(metric_family__series(f, (const char *const[]){v}));
	}
	errno = 0;
	cr_assert_null(metric_family__series(f, (const char *const[]){"one more"}));
	cr_assert_eq(errno, E2BIG);
	cr_assert_not_null(metric_family__series(f, (const char *const[]){"7"}), "existing ok");
	metrics__free(m);
}

Test(metrics, null_handles_are_harmless)
{
	metric__inc(NULL);
	metric__add(NULL, 5);
	metric__set(NULL, 1);
	metric__gauge_add(NULL, 1);
	metric__observe(NULL, 1);
	cr_assert_float_eq(metric__value(NULL), 0, 0);
	cr_assert_null(metric_family__series(NULL, NULL));
}

Test(metrics, wrong_kind_updates_are_ignored)
{
	struct metrics *m = new_metrics();
	struct metric *c = metrics__counter(m, "vigil_c_total", "c");
	struct metric *g = metrics__gauge(m, "vigil_g", "g");

	metric__set(c, 100);
	metric__add(g, 100);
	cr_assert_float_eq(metric__value(c), 0, 0);
	cr_assert_float_eq(metric__value(g), 0, 0);
	metrics__free(m);
}

static void collect(struct metrics_writer *w, void *arg)
{
	struct metrics_event_counts c[] = {
	    {"exec", 10, 0, 10, 0},
	    {"open", 1000, 900, 100, 3},
	};
	const char *labels[] = {"cpu", "0", NULL};

	(*(int *)arg)++;
	metrics__write_event_counts(w, c, 2);
	metrics_writer__family(w, METRIC_GAUGE, "vigil_test_percpu_ratio", "Per CPU.");
	metrics_writer__sample(w, labels, 0.5);
	metrics_writer__family(w, METRIC_COUNTER, "vigil_bad_name", "ignored: no _total");
	metrics_writer__sample(w, NULL, 1);
}

Test(metrics, collectors_and_event_counts)
{
	struct metrics *m = new_metrics();
	int calls = 0;
	char *text;

	cr_assert_eq(metrics__add_collector(m, collect, &calls), 0);
	text = render(m);
	cr_assert_eq(calls, 1);
	assert_has(text, "# TYPE vigil_events_seen_total counter\n"
			 "vigil_events_seen_total{type=\"exec\"} 10\n"
			 "vigil_events_seen_total{type=\"open\"} 1000\n");
	assert_has(text, "vigil_events_filtered_total{type=\"open\"} 900\n");
	assert_has(text, "vigil_events_sent_total{type=\"open\"} 100\n");
	assert_has(text, "vigil_events_lost_total{type=\"open\"} 3\n");
	assert_has(text, "vigil_test_percpu_ratio{cpu=\"0\"} 0.5\n");
	cr_assert_null(strstr(text, "vigil_bad_name"));
	free(text);
	metrics__free(m);
}

Test(metrics, standard_families)
{
	struct metrics *m = new_metrics();
	const struct metrics_agent *a = metrics__agent(m);
	char *text;

	metric__set(a->procs, 12);
	metric__observe(a->rule_eval_seconds, 3e-6);
	metrics__rules_loaded(m, true, 40);
	metrics__rules_loaded(m, false, 0);
	metrics__prefilter_fallback(m, "connect", "value");
	metrics__prefilter_fallback(m, "connect", "value");
	metrics__prefilter_fallback(m, "open", "map_full");
	metrics__prefilter_fallback(NULL, "open", "map_full");
	text = render(m);
	assert_has(text, "vigil_prefilter_fallbacks_total{type=\"connect\",reason=\"value\"} 2\n");
	assert_has(text, "vigil_prefilter_fallbacks_total{type=\"open\",reason=\"map_full\"} 1\n");
	assert_has(text, "vigil_build_info{version=\"1.2.3\"} 1\n");
	assert_has(text, "vigil_process_table_entries 12\n");
	assert_has(text, "vigil_rule_evaluation_seconds_bucket{le=\"5e-06\"} 1\n");
	assert_has(text, "vigil_rules_loaded 40\n");
	assert_has(text, "vigil_rules_reloads_total{result=\"success\"} 1\n");
	assert_has(text, "vigil_rules_reloads_total{result=\"failure\"} 1\n");
	assert_has(text, "vigil_rules_last_reload_success 0\n");
	assert_has(text, "# TYPE process_cpu_seconds_total counter\n");
	assert_has(text, "process_resident_memory_bytes ");
	assert_has(text, "process_open_fds ");
	assert_has(text, "process_start_time_seconds ");
	free(text);
	metrics__free(m);
}

struct hammer {
	struct metric *c; /* counter */
	struct metric *h; /* histogram */
};

static void *hammer(void *arg)
{
	struct hammer *x = arg;

	for (int i = 0; i < 100000; i++) {
		metric__inc(x->c);
		metric__observe(x->h, 1);
	}
	return NULL;
}

Test(metrics, concurrent_updates_are_not_lost)
{
	static const double bounds[] = {0.5};
	struct metrics *m = new_metrics();
	struct hammer x = {
	    metrics__counter(m, "vigil_c_total", "c"),
	    metric_family__series(metrics__histogram(m, "vigil_h", "h", NULL, bounds, 1), NULL),
	};
	pthread_t t[4];
	char *text;

	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, hammer, &x);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	cr_assert_float_eq(metric__value(x.c), 400000, 0);
	text = render(m);
	assert_has(text, "vigil_h_sum 400000\n");
	assert_has(text, "vigil_h_count 400000\n");
	free(text);
	metrics__free(m);
}

/* ---- HTTP ---- */

/* One request on loopback; returns the whole response (malloc'd). */
static char *http_get(int port, const char *method, const char *path)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	char req[256], *resp = malloc(1 << 20);
	size_t len = 0;
	ssize_t k;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect: %s",
		     strerror(errno));
	snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: x\r\n\r\n", method, path);
	cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while ((k = read(fd, resp + len, (1 << 20) - 1 - len)) > 0)
		len += k;
	resp[len] = '\0';
	close(fd);
	return resp;
}

static void assert_response(int port, const char *path, const char *status, const char *body)
{
	char *r = http_get(port, "GET", path);

	cr_assert_eq(strncmp(r, "HTTP/1.", 7), 0, "%s: got %.60s", path, r);
	cr_assert_eq(strncmp(r + 9, status, 3), 0, "%s: got %.60s", path, r);
	assert_has(r, body);
	free(r);
}

Test(metrics, http_endpoints)
{
	struct metrics *m =
	    metrics__new(&(struct metrics_opts){.version = "t", .stall_ns = 200000000});
	char err[256], *r;
	int port;

	cr_assert_eq(metrics__serve(m, "127.0.0.1:0", err, sizeof(err)), 0, "%s", err);
	port = metrics__port(m);
	cr_assert_gt(port, 0);
	metric__inc(metrics__counter(m, "vigil_test_total", "t"));

	r = http_get(port, "GET", "/metrics");
	cr_assert_eq(strncmp(r + 9, "200", 3), 0, "%.60s", r);
	assert_has(r, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n");
	assert_has(r, "\r\n\r\n# HELP ");
	assert_has(r, "vigil_test_total 1\n");
	free(r);
	r = http_get(port, "HEAD", "/metrics");
	cr_assert_eq(strncmp(r + 9, "200", 3), 0, "%.60s", r);
	cr_assert_null(strstr(r, "vigil_test_total"), "HEAD has no body");
	free(r);

	assert_response(port, "/healthz", "200", "ok\n");
	assert_response(port, "/readyz", "503", "not ready: starting\n");
	metrics__set_ready(m, false, "loading rules");
	assert_response(port, "/readyz", "503", "not ready: loading rules\n");
	metrics__set_ready(m, true, NULL);
	metrics__heartbeat(m);
	assert_response(port, "/readyz", "200", "ready\n");
	usleep(300000); /* heartbeat now older than stall_ns */
	assert_response(port, "/healthz", "503", "the event loop has not run for");
	assert_response(port, "/readyz", "503", "the event loop has not run for");
	metrics__heartbeat(m);
	assert_response(port, "/healthz", "200", "ok\n");
	assert_response(port, "/nope", "404", "try /metrics");
	r = http_get(port, "POST", "/metrics");
	cr_assert_eq(strncmp(r + 9, "405", 3), 0, "%.60s", r);
	free(r);
	metrics__free(m);
}

Test(metrics, http_without_health)
{
	struct metrics *m = metrics__new(&(struct metrics_opts){.no_health = true});
	char err[256];

	cr_assert_eq(metrics__serve(m, "127.0.0.1:0", err, sizeof(err)), 0, "%s", err);
	assert_response(metrics__port(m), "/healthz", "404", "not found");
	assert_response(metrics__port(m), "/metrics", "200", "vigil_build_info");
	metrics__free(m);
}

Test(metrics, http_listen_errors)
{
	struct metrics *a = new_metrics(), *b = new_metrics();
	char err[256], addr[64];

	cr_assert_eq(metrics__serve(a, "127.0.0.1:0", err, sizeof(err)), 0, "%s", err);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", metrics__port(a));
	cr_assert_eq(metrics__serve(b, addr, err, sizeof(err)), -EADDRINUSE);
	assert_has(err, "cannot serve metrics on 127.0.0.1:");
	assert_has(err, "Address already in use; choose another metrics.listen address");
	cr_assert_eq(metrics__serve(b, "9376", err, sizeof(err)), -EINVAL);
	assert_has(err, "expected HOST:PORT, e.g. 127.0.0.1:9376");
	cr_assert_eq(metrics__serve(b, "no.such.host.invalid:1", err, sizeof(err)), -EINVAL);
	assert_has(err, "metrics listen address");
	cr_assert_eq(metrics__port(b), 0);
	metrics__free(a);
	metrics__free(b);
}

Test(metrics, http_ipv6_loopback)
{
	struct metrics *m = new_metrics();
	char err[256];
	int ret = metrics__serve(m, "[::1]:0", err, sizeof(err));

	if (ret == -EADDRNOTAVAIL || ret == -EAFNOSUPPORT) {
		metrics__free(m); /* no IPv6 on this host: nothing to check */
		return;
	}
	cr_assert_eq(ret, 0, "%s", err);
	cr_assert_gt(metrics__port(m), 0);
	metrics__free(m);
}
