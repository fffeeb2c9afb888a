// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_output_core.c - unit tests for what all sinks share and for the HTTP
 * sinks: queue overflow (oldest dropped), token buckets, backoff, alert copies,
 * per-sink priority, per-rule rate limits and their summary, draining at shutdown,
 * a webhook that never answers not holding up another sink, and the webhook and
 * Alertmanager sinks against a small HTTP server on loopback (retries, batches,
 * labels, re-sending while firing).
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/metrics.h"
#include "output/helpers.h"

/* ---- queue, token bucket, backoff, records ---- */

Test(output_core, queue_drops_oldest_when_full)
{
	struct alert_queue q;
	struct alert *r[5], *out[5];

	cr_assert_eq(alert_queue__init(&q, 3), 0);
	for (int i = 0; i < 5; i++)
		r[i] = test_rec("q", RULE_PRIO_WARNING, i);
	cr_assert_null(alert_queue__push(&q, r[0]));
	cr_assert_null(alert_queue__push(&q, r[1]));
	cr_assert_null(alert_queue__push(&q, r[2]));
	cr_assert_eq(alert_queue__push(&q, r[3]), r[0], "full: the oldest comes back");
	cr_assert_eq(alert_queue__push(&q, r[4]), r[1]);
	cr_assert_eq(q.len, 3);
	cr_assert_eq(alert_queue__pop(&q, out, 2), 2);
	cr_assert_eq(out[0], r[2]);
	cr_assert_eq(out[1], r[3]);
	cr_assert_eq(alert_queue__pop(&q, out, 5), 1);
	cr_assert_eq(out[0], r[4]);
	cr_assert_eq(alert_queue__pop(&q, out, 5), 0);
	for (int i = 0; i < 5; i++)
		alert__put(r[i]);
	alert_queue__fini(&q);
}

Test(output_core, queue_wraps_around)
{
	struct alert_queue q;
	struct alert *r = test_rec("q", RULE_PRIO_WARNING, 1), *out;

	cr_assert_eq(alert_queue__init(&q, 2), 0);
	for (int i = 0; i < 7; i++) {
		cr_assert_null(alert_queue__push(&q, alert__get(r)));
		cr_assert_eq(alert_queue__pop(&q, &out, 1), 1);
		alert__put(out);
	}
	cr_assert_null(alert_queue__push(&q, alert__get(r)));
	alert_queue__fini(&q); /* puts what is left */
	cr_assert_eq(atomic_load(&r->refs), 1);
	alert__put(r);
}

Test(output_core, token_bucket)
{
	struct token_bucket tb;
	uint64_t t = 1000000000ull;

	token_bucket__init(&tb, 2, 3, t); /* 2/s, burst 3 */
	for (int i = 0; i < 3; i++)
		cr_assert(token_bucket__take(&tb, t));
	cr_assert_not(token_bucket__take(&tb, t));
	cr_assert_not(token_bucket__take(&tb, t + 400000000ull), "0.8 of a token");
	cr_assert(token_bucket__take(&tb, t + 500000000ull), "one token after 0.5 s");
	cr_assert_not(token_bucket__take(&tb, t + 500000000ull));
	t += 100ull * 1000000000ull;
	for (int i = 0; i < 3; i++)
		cr_assert(token_bucket__take(&tb, t), "refills up to the burst only");
	cr_assert_not(token_bucket__take(&tb, t));
	cr_assert_not(token_bucket__take(&tb, t - 1000), "time going back gives nothing");
}

Test(output_core, backoff_doubles_up_to_the_cap)
{
	cr_assert_eq(output_backoff_ns(100, 1000, 0), 100);
	cr_assert_eq(output_backoff_ns(100, 1000, 1), 200);
	cr_assert_eq(output_backoff_ns(100, 1000, 3), 800);
	cr_assert_eq(output_backoff_ns(100, 1000, 4), 1000);
	cr_assert_eq(output_backoff_ns(100, 1000, 200), 1000);
	cr_assert_eq(output_backoff_ns(~0ull / 2, ~0ull, 5), ~0ull);
}

Test(output_core, record_is_a_deep_copy)
{
	struct test_alert t;
	struct alert *r;
	char rule[] = "Mutable rule";
	const char *tags[] = {"a", "b"};

	test_alert_init(&t, rule, RULE_PRIO_ERROR, 9);
	t.a.tags = tags;
	t.a.n_tags = 2;
	t.a.hostname = NULL;
	t.a.message = NULL;
	r = alert__dup(&t.a, "fallback");
	memset(rule, 'x', sizeof(rule) - 1);
	tags[0] = "changed";
	test_alert_fini(&t);
	cr_assert_str_eq(r->rule, "Mutable rule");
	cr_assert_str_eq(r->tags[0], "a");
	cr_assert_str_eq(r->hostname, "fallback");
	cr_assert_eq(r->message, r->output, "no message: the text line");
	cr_assert_eq(r->json_len, strlen(r->json));
	cr_assert_not_null(strstr(r->json, "\"evt.num\":9"));
	cr_assert_str_eq(r->container_id, "0123456789ab");
	alert__put(r);
}

Test(output_core, record_renders_json_and_text_once_from_fields)
{
	struct rule_out_field f[] = {{"evt.num", "7", 0, RULE_OUT_RAW},
				     {"fd.name", "/etc/\"shadow\"", 0, RULE_OUT_STRING},
				     {"proc.is_root", "true", 0, RULE_OUT_RAW}};
	const char *tags[] = {"T1555", "host"};
	struct alert *r = alert__dup(&(struct alert){.rule = "Read shadow",
						     .priority = RULE_PRIO_WARNING,
						     .message = "shadow read",
						     .tags = tags,
						     .n_tags = 2,
						     .time_ns = 1767323045123456789ull,
						     .fields = f,
						     .n_fields = 3},
				     "node-1");

	cr_assert_not_null(r);
	cr_assert_str_eq(r->output, "2026-01-02T03:04:05.123456789Z: Warning shadow read");
	cr_assert_str_eq(r->json,
			 "{\"hostname\":\"node-1\","
			 "\"output\":\"2026-01-02T03:04:05.123456789Z: Warning shadow read\","
			 "\"output_fields\":{\"evt.num\":7,\"fd.name\":\"/etc/\\\"shadow\\\"\","
			 "\"proc.is_root\":true},\"priority\":\"Warning\",\"rule\":\"Read shadow\","
			 "\"source\":\"syscall\",\"tags\":[\"T1555\",\"host\"],"
			 "\"time\":\"2026-01-02T03:04:05.123456789Z\"}");
	cr_assert_eq(r->json_len, strlen(r->json));
	cr_assert_eq(r->n_fields, 3, "the fields stay with the record");
	cr_assert_str_eq(r->fields[1].value, "/etc/\"shadow\"");
	alert__put(r);
}

Test(output_core, record_says_when_ancestry_is_unknown)
{
	static const char head[] = "{\"ancestry_unknown\":true,\"hostname\":";
	struct alert a = {.rule = "Read shadow", .priority = RULE_PRIO_WARNING, .message = "m"};
	struct alert *known = alert__dup(&a, "node-1"), *unknown;
	struct opt_kv_list none = {NULL, 0};
	char *l;

	a.ancestry_unknown = true;
	unknown = alert__dup(&a, "node-1");
	cr_assert_not_null(known);
	cr_assert_not_null(unknown);
	cr_assert_null(strstr(known->json, "ancestry_unknown"), "%s", known->json);
	cr_assert(unknown->ancestry_unknown);
	cr_assert(!strncmp(unknown->json, head, sizeof(head) - 1), "%s", unknown->json);
	l = am_labels_json(unknown, &none);
	cr_assert_not_null(strstr(l, "\"ancestry_unknown\":\"true\""), "%s", l);
	free(l);
	alert__put(known);
	alert__put(unknown);
}

Test(output_core, record_keeps_typed_fields_nulls_and_lists)
{
	static const char nul_inside[] = "a\0b";
	struct rule_out_field f[] = {{"fd.sip", NULL, 0, RULE_OUT_NULL},
				     {"proc.aname", "[\"bash\",\"sshd\"]", 0, RULE_OUT_LIST},
				     {"proc.args", nul_inside, 3, RULE_OUT_STRING},
				     {"proc.pid", "12", 0, RULE_OUT_RAW}};
	struct alert *r = alert__dup(&(struct alert){.rule = "R",
						     .priority = RULE_PRIO_ERROR,
						     .output = "line",
						     .time_ns = 1767323045123456789ull,
						     .fields = f,
						     .n_fields = 4},
				     "h");

	cr_assert_not_null(r);
	cr_assert_str_eq(r->json, "{\"hostname\":\"h\",\"output\":\"line\",\"output_fields\":"
				  "{\"fd.sip\":null,\"proc.aname\":[\"bash\",\"sshd\"],"
				  "\"proc.args\":\"a\\u0000b\",\"proc.pid\":12},"
				  "\"priority\":\"Error\",\"rule\":\"R\",\"source\":\"syscall\","
				  "\"tags\":[],\"time\":\"2026-01-02T03:04:05.123456789Z\"}");
	cr_assert_eq(r->n_fields, 4);
	cr_assert_null(r->fields[0].value, "a null stays without a value");
	cr_assert_eq(r->fields[0].type, RULE_OUT_NULL);
	cr_assert_eq(r->fields[1].type, RULE_OUT_LIST);
	cr_assert_eq(r->fields[2].len, 3, "a value's length is kept with its bytes");
	cr_assert_eq(memcmp(r->fields[2].value, "a\0b", 4), 0);
	cr_assert_str_eq(r->fields[3].value, "12");
	cr_assert_eq(r->fields[3].type, RULE_OUT_RAW);
	alert__put(r);
}

/* ---- through outputs with file sinks ---- */

static char *tmp_path(char *dir, size_t len, const char *name)
{
	static char path[4][160];
	static int k;

	if (!dir[0])
		test_tmpdir(dir, len);
	k = (k + 1) % 4;
	snprintf(path[k], sizeof(path[k]), "%s/%s", dir, name);
	return path[k];
}

static size_t lines_in(const char *path, const char *needle)
{
	char *buf = test_read_file(path, NULL);
	size_t n;

	cr_assert_not_null(buf, "%s missing", path);
	n = test_count(buf, needle);
	free(buf);
	return n;
}

Test(output_core, priority_per_sink)
{
	char dir[64] = "", err[256];
	char *all = tmp_path(dir, sizeof(dir), "all"), *errors = tmp_path(dir, sizeof(dir), "err");
	struct vigil_config *c = test_config("outputs:\n"
					     "  - type: file\n    path: %s\n"
					     "  - type: file\n    path: %s\n    priority: error\n",
					     all, errors);
	struct outputs *o = outputs__new(c, NULL, err, sizeof(err));

	cr_assert_not_null(o, "%s", err);
	test_emit(o, "W", RULE_PRIO_WARNING, 3);
	test_emit(o, "E", RULE_PRIO_ERROR, 2);
	test_emit(o, "C", RULE_PRIO_CRITICAL, 1);
	outputs__free(o);
	cr_assert_eq(lines_in(all, "\n"), 6);
	cr_assert_eq(lines_in(errors, "\n"), 3);
	cr_assert_eq(lines_in(errors, "\"rule\":\"W\""), 0);
	config__free(c);
}

Test(output_core, rate_limit_suppresses_and_summarises)
{
	char dir[64] = "", err[256], *text;
	char *path = tmp_path(dir, sizeof(dir), "a");
	struct vigil_config *c = test_config("rate_limit:\n  enabled: true\n  rate: 0.001\n"
					     "  burst: 3\n  rules:\n    Free:\n      rate: 1000\n"
					     "      burst: 1000\n"
					     "outputs:\n  - type: file\n    path: %s\n",
					     path);
	struct metrics *m = metrics__new(NULL);
	struct outputs *o = outputs__new(c, m, err, sizeof(err));
	struct outputs_stats st;
	char *buf;

	cr_assert_not_null(o, "%s", err);
	test_emit(o, "Noisy", RULE_PRIO_WARNING, 10);
	test_emit(o, "Free", RULE_PRIO_NOTICE, 10);
	outputs__close(o); /* the last summary is written before the sinks drain */
	outputs__stats(o, &st, NULL, 0);
	cr_assert_eq(st.emitted, 20);
	cr_assert_eq(st.suppressed, 7);
	cr_assert_eq(lines_in(path, "\"rule\":\"Noisy\""), 3);
	cr_assert_eq(lines_in(path, "\"rule\":\"Free\""), 10);
	buf = test_read_file(path, NULL);
	cr_assert_not_null(strstr(buf, "\"rule\":\"vigil rate limit\""), "%s", buf);
	cr_assert_not_null(strstr(buf, "rate limit suppressed 7 alerts of rule \\\"Noisy\\\""));
	cr_assert_not_null(strstr(buf, "\"rule.name\":\"Noisy\",\"suppressed\":7}"));
	free(buf);
	text = metrics__render(m, NULL);
	cr_assert_not_null(
	    strstr(text, "vigil_alerts_total{rule=\"Noisy\",priority=\"Warning\"} 10\n"));
	cr_assert_not_null(strstr(text, "vigil_alerts_suppressed_total{rule=\"Noisy\"} 7\n"));
	cr_assert_not_null(strstr(text, "vigil_alerts_suppressed_total{rule=\"Free\"} 0\n"));
	free(text);
	outputs__free(o);
	metrics__free(m);
	config__free(c);
}

Test(output_core, close_drains_and_refuses_more)
{
	char dir[64] = "", err[256];
	char *path = tmp_path(dir, sizeof(dir), "a");
	struct vigil_config *c = test_config("outputs:\n  - type: file\n    path: %s\n", path);
	struct outputs *o = outputs__new(c, NULL, err, sizeof(err));
	struct test_alert t;

	cr_assert_not_null(o, "%s", err);
	test_emit(o, "Drain", RULE_PRIO_WARNING, 2000);
	outputs__close(o);
	cr_assert_eq(lines_in(path, "\n"), 2000,
		     "everything queued is written before close returns");
	test_alert_init(&t, "Late", RULE_PRIO_WARNING, 1);
	cr_assert_eq(outputs__emit(o, &t.a), -ESHUTDOWN);
	test_alert_fini(&t);
	outputs__free(o);
	config__free(c);
}

/* ---- a small HTTP server on loopback ---- */

struct http_srv {
	int lfd;	      /* listening socket */
	int port;	      /* its port */
	pthread_t thread;     /* server */
	atomic_bool stop;     /* ask the server to finish */
	bool silent;	      /* accept nothing, answer nothing */
	int statuses[32];     /* answer for request i (0: 200) */
	unsigned delay_ms;    /* before answering the first request */
	pthread_mutex_t lock; /* guards what follows */
	char *bodies[256];    /* request bodies */
	char *heads[256];     /* request lines and headers */
	size_t n;	      /* requests seen */
};

static void srv_answer(struct http_srv *s, int fd)
{
	char buf[1 << 16];
	size_t len = 0;

	while (!atomic_load(&s->stop)) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char *end, *cl, resp[128];
		size_t body, i;
		ssize_t k;

		end = len ? memmem(buf, len, "\r\n\r\n", 4) : NULL;
		cl = end ? strcasestr(buf, "Content-Length:") : NULL;
		body = cl ? strtoul(cl + 15, NULL, 10) : 0;
		if (!end || (size_t)(end + 4 - buf) + body > len) {
			if (poll(&p, 1, 100) <= 0)
				continue;
			k = read(fd, buf + len, sizeof(buf) - 1 - len);
			if (k <= 0)
				return;
			len += k;
			buf[len] = '\0';
			continue;
		}
		pthread_mutex_lock(&s->lock);
		i = s->n++;
		s->heads[i] = strndup(buf, end - buf);
		s->bodies[i] = strndup(end + 4, body);
		pthread_mutex_unlock(&s->lock);
		if (i == 0 && s->delay_ms)
			usleep(s->delay_ms * 1000);
		snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\nContent-Length: 4\r\n\r\nnope",
			 i < 32 && s->statuses[i] ? s->statuses[i] : 200);
		if (write(fd, resp, strlen(resp)) < 0)
			return;
		memmove(buf, end + 4 + body, len - (end + 4 + body - buf));
		len -= end + 4 + body - buf;
		buf[len] = '\0';
	}
}

static void *srv_main(void *arg)
{
	struct http_srv *s = arg;

	while (!atomic_load(&s->stop)) {
		struct pollfd p = {.fd = s->lfd, .events = POLLIN};
		int fd;

		if (s->silent || poll(&p, 1, 100) <= 0) {
			usleep(10000);
			continue;
		}
		fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		srv_answer(s, fd);
		close(fd);
	}
	return NULL;
}

static void srv_start(struct http_srv *s)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);

	pthread_mutex_init(&s->lock, NULL);
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(s->lfd, 16), 0);
	getsockname(s->lfd, (struct sockaddr *)&sa, &len);
	s->port = ntohs(sa.sin_port);
	pthread_create(&s->thread, NULL, srv_main, s);
}

static void srv_stop(struct http_srv *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
	close(s->lfd);
	for (size_t i = 0; i < s->n; i++) {
		free(s->bodies[i]);
		free(s->heads[i]);
	}
}

static size_t srv_count(struct http_srv *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static struct outputs *start(struct vigil_config *c, struct metrics *m)
{
	char err[512];
	struct outputs *o = outputs__new(c, m, err, sizeof(err));

	cr_assert_not_null(o, "%s", err);
	return o;
}

static struct output_sink_stats stats_of(struct outputs *o, size_t i)
{
	struct output_sink_stats ss[4];
	struct outputs_stats st;

	outputs__stats(o, &st, ss, 4);
	return ss[i];
}

Test(output_core, webhook_posts_the_alert_json)
{
	struct http_srv s = {0};
	struct vigil_config *c;
	struct outputs *o;
	struct test_alert t;

	srv_start(&s);
	c = test_config("outputs:\n  - type: webhook\n    url: http://127.0.0.1:%d/hook\n"
			"    headers:\n      Authorization: Bearer s3cret\n",
			s.port);
	o = start(c, NULL);
	test_alert_init(&t, "Hooked", RULE_PRIO_WARNING, 1);
	cr_assert_eq(outputs__emit(o, &t.a), 0);
	outputs__close(o);
	cr_assert_eq(srv_count(&s), 1);
	cr_assert_str_eq(s.bodies[0], t.j.buf, "the body is the Falco-shaped alert as is");
	cr_assert_eq(strncmp(s.heads[0], "POST /hook HTTP/1.1\r\n", 21), 0, "%s", s.heads[0]);
	cr_assert_not_null(strcasestr(s.heads[0], "\r\nContent-Type: application/json"));
	cr_assert_not_null(strstr(s.heads[0], "\r\nAuthorization: Bearer s3cret"));
	cr_assert_not_null(strstr(s.heads[0], "\r\nUser-Agent: vigil/"));
	cr_assert_eq(stats_of(o, 0).delivered, 1);
	test_alert_fini(&t);
	outputs__free(o);
	config__free(c);
	srv_stop(&s);
}

Test(output_core, webhook_retries_with_backoff)
{
	struct http_srv s = {.statuses = {503, 429}};
	struct metrics *m = metrics__new(NULL);
	struct vigil_config *c;
	struct outputs *o;
	double t0;
	char *text;

	srv_start(&s);
	c = test_config("outputs:\n  - type: webhook\n    url: http://127.0.0.1:%d/\n"
			"    retries: 3\n    backoff: 100ms\n",
			s.port);
	o = start(c, m);
	t0 = test_now();
	test_emit(o, "Retry", RULE_PRIO_WARNING, 1);
	outputs__close(o);
	cr_assert_geq(test_now() - t0, 0.3, "100 ms then 200 ms of backoff");
	cr_assert_eq(srv_count(&s), 3);
	cr_assert_str_eq(s.bodies[0], s.bodies[2], "the same alert each time");
	cr_assert_eq(stats_of(o, 0).delivered, 1);
	cr_assert_eq(stats_of(o, 0).failed, 0);
	text = metrics__render(m, NULL);
	cr_assert_not_null(
	    strstr(text, "vigil_output_retries_total{sink=\"webhook\",type=\"webhook\"} 2\n"));
	free(text);
	outputs__free(o);
	config__free(c);
	metrics__free(m);
	srv_stop(&s);
}

Test(output_core, webhook_gives_up_and_counts)
{
	struct http_srv s = {.statuses = {500, 500, 500, 400}};
	struct metrics *m = metrics__new(NULL);
	struct vigil_config *c;
	struct outputs *o;
	char *text;

	srv_start(&s);
	c = test_config("outputs:\n  - type: webhook\n    url: http://127.0.0.1:%d/\n"
			"    retries: 2\n    backoff: 10ms\n",
			s.port);
	o = start(c, m);
	test_emit(o, "Fail", RULE_PRIO_WARNING, 1);
	for (double end = test_now() + 5; stats_of(o, 0).failed < 1 && test_now() < end;)
		usleep(1000);
	test_emit(o, "Fail", RULE_PRIO_WARNING, 1); /* 400: not worth a retry */
	outputs__close(o);
	cr_assert_eq(srv_count(&s), 4, "3 attempts for the first, 1 for the second");
	cr_assert_eq(stats_of(o, 0).failed, 2);
	text = metrics__render(m, NULL);
	cr_assert_not_null(strstr(text, "vigil_output_failures_total{sink=\"webhook\","
					"type=\"webhook\",reason=\"http\"} 2\n"));
	cr_assert_not_null(strstr(text, "vigil_output_up{sink=\"webhook\",type=\"webhook\"} 0\n"));
	free(text);
	outputs__free(o);
	config__free(c);
	metrics__free(m);
	srv_stop(&s);
}

Test(output_core, webhook_batches_under_load)
{
	struct http_srv s = {.delay_ms = 300};
	struct vigil_config *c;
	struct outputs *o;
	size_t alerts = 0, arrays = 0;

	srv_start(&s);
	c = test_config("outputs:\n  - type: webhook\n    url: http://127.0.0.1:%d/\n"
			"    batch: 10\n",
			s.port);
	o = start(c, NULL);
	test_emit(o, "Batch", RULE_PRIO_WARNING, 1);
	usleep(100000); /* the first request is now being answered slowly */
	test_emit(o, "Batch", RULE_PRIO_WARNING, 20);
	outputs__close(o);
	cr_assert_eq(s.bodies[0][0], '{', "alone, an alert is sent as an object");
	for (size_t i = 0; i < s.n; i++) {
		alerts += test_count(s.bodies[i], "\"hostname\"");
		arrays += s.bodies[i][0] == '[';
	}
	cr_assert_eq(alerts, 21);
	cr_assert_geq(arrays, 2, "queued alerts go out as arrays of up to 10");
	cr_assert_leq(s.n, 5, "%zu requests for 21 alerts", s.n);
	outputs__free(o);
	config__free(c);
	srv_stop(&s);
}

Test(output_core, silent_webhook_does_not_hold_up_other_sinks)
{
	struct http_srv s = {.silent = true};
	char dir[64] = "", *path = tmp_path(dir, sizeof(dir), "a");
	struct vigil_config *c;
	struct output_sink_stats hook, file;
	struct outputs *o;
	double t0, t1;

	srv_start(&s);
	c = test_config("shutdown_timeout: 1s\n"
			"outputs:\n"
			"  - type: webhook\n    url: http://127.0.0.1:%d/\n    timeout: 3s\n"
			"    retries: 0\n    queue_size: 5\n"
			"  - type: file\n    path: %s\n",
			s.port, path);
	o = start(c, NULL);
	t0 = test_now();
	test_emit(o, "Slow", RULE_PRIO_WARNING, 50);
	while (stats_of(o, 1).delivered < 50 && test_now() - t0 < 5)
		usleep(1000);
	t1 = test_now();
	cr_assert_lt(t1 - t0, 1.0, "the file sink waited for the webhook: %.2f s", t1 - t0);
	outputs__close(o);
	cr_assert_lt(test_now() - t1, 2.0, "close waits the deadline, not the request timeout");
	hook = stats_of(o, 0);
	file = stats_of(o, 1);
	cr_assert_eq(file.delivered, 50);
	cr_assert_eq(file.dropped, 0);
	cr_assert_eq(hook.delivered, 0);
	cr_assert_eq(hook.delivered + hook.failed + hook.dropped, 50, "every alert accounted for");
	cr_assert_geq(hook.dropped, 44, "the oldest are dropped from the full queue");
	cr_assert_eq(lines_in(path, "\n"), 50);
	outputs__free(o);
	config__free(c);
	srv_stop(&s);
}

/* ---- Alertmanager ---- */

Test(output_core, alertmanager_labels)
{
	struct opt_kv extra[] = {{"cluster", "prod"}, {"alertname", "ignored"}};
	struct opt_kv_list labels = {extra, 2};
	struct alert *r = test_rec("Read shadow", RULE_PRIO_CRITICAL, 1);
	char *l = am_labels_json(r, &labels);

	cr_assert_str_eq(l,
			 "{\"alertname\":\"Read shadow\",\"cluster\":\"prod\","
			 "\"container_id\":\"0123456789ab\",\"hostname\":\"node-1\","
			 "\"mitre_tactic\":\"credential_access\",\"mitre_technique\":\"T1555\","
			 "\"priority\":\"Critical\",\"severity\":\"critical\",\"source\":\"vigil\","
			 "\"tags\":\"container,mitre_credential_access,T1555\"}");
	free(l);
	alert__put(r);
}

Test(output_core, alertmanager_pushes_and_resends_while_firing)
{
	struct http_srv s = {0};
	struct metrics *m = metrics__new(NULL);
	struct vigil_config *c;
	struct outputs *o;
	size_t first;
	char *text;

	srv_start(&s);
	c = test_config("outputs:\n  - type: alertmanager\n    url: http://127.0.0.1:%d/\n"
			"    resend_interval: 200ms\n    resolve_after: 1500ms\n"
			"    labels:\n      cluster: test\n",
			s.port);
	o = start(c, m);
	test_emit(o, "Read shadow", RULE_PRIO_WARNING, 3);
	for (double end = test_now() + 5; srv_count(&s) < 1 && test_now() < end;)
		usleep(1000);
	first = srv_count(&s);
	usleep(700000);
	cr_assert_geq(srv_count(&s), first + 2, "re-sent while firing: %zu requests",
		      srv_count(&s));
	text = metrics__render(m, NULL);
	cr_assert_not_null(strstr(text, "vigil_alertmanager_active_alerts{sink=\"alertmanager\","
					"type=\"alertmanager\"} 1\n"),
			   "three matches, one label set: %s", text);
	free(text);
	usleep(1500000); /* past resolve_after: Alertmanager resolves it, we stop sending */
	first = srv_count(&s);
	usleep(500000);
	cr_assert_eq(srv_count(&s), first, "no re-sends after resolve_after");
	outputs__close(o);
	cr_assert_eq(strncmp(s.heads[0], "POST /api/v2/alerts HTTP/1.1", 28), 0);
	cr_assert_eq(s.bodies[0][0], '[');
	cr_assert_not_null(
	    strstr(s.bodies[0], "\"labels\":{\"alertname\":\"Read shadow\",\"cluster\":\"test\","));
	cr_assert_not_null(
	    strstr(s.bodies[0], "\"annotations\":{\"summary\":\"Sensitive file opened "));
	cr_assert_not_null(
	    strstr(s.bodies[0], "\"startsAt\":\"2026-01-02T03:04:05.123Z\",\"endsAt\":\""));
	cr_assert_eq(test_count(s.bodies[1], "\"labels\""), 1, "one alert, re-sent");
	outputs__free(o);
	config__free(c);
	metrics__free(m);
	srv_stop(&s);
}

/* ---- threads and signals ---- */

static atomic_int handled;

static void on_usr1(int sig)
{
	atomic_fetch_add(&handled, 1);
}

Test(output_core, worker_threads_leave_signals_to_the_agent)
{
	char dir[64] = "", err[256], *path = tmp_path(dir, sizeof(dir), "a");
	struct vigil_config *c = test_config("rate_limit:\n  enabled: true\n"
					     "outputs:\n  - type: file\n    path: %s\n"
					     "  - type: webhook\n    url: http://127.0.0.1:1/\n",
					     path);
	struct metrics *m = metrics__new(NULL);
	struct outputs *o;
	sigset_t usr1;
	siginfo_t si;
	struct timespec zero = {0};

	signal(SIGUSR1, on_usr1);
	o = start(c, m); /* created while this thread accepts SIGUSR1 */
	cr_assert_eq(metrics__serve(m, "127.0.0.1:0", err, sizeof(err)), 0, "%s", err);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	kill(getpid(), SIGUSR1); /* only a thread that does not block it can take it */
	usleep(100000);
	cr_assert_eq(atomic_load(&handled), 0, "a worker or the HTTP thread took the signal");
	cr_assert_eq(sigtimedwait(&usr1, &si, &zero), SIGUSR1, "still pending for the agent");
	outputs__free(o);
	metrics__free(m);
	config__free(c);
}
