/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * helpers.h - shared by the output unit tests: a configuration from inline YAML,
 * Falco-shaped test alerts, reading files back and waiting for a condition.
 * Header-only (static functions) because all unit tests link into one binary.
 */
#ifndef VIGIL_TEST_OUTPUT_HELPERS_H
#define VIGIL_TEST_OUTPUT_HELPERS_H

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/config.h"
#include "util/json.h"
#include "output/output.h"
#include "output/sink.h"
#include "rules/engine.h"

/* A configuration from YAML (printf-style); fails the test on any error. */
static __attribute__((unused, format(printf, 1, 2))) struct vigil_config *
test_config(const char *fmt, ...)
{
	struct vigil_config *c = config__new();
	char yaml[4096], err[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(yaml, sizeof(yaml), fmt, ap);
	va_end(ap);
	cr_assert_not_null(c);
	cr_assert_eq(config__load_buf(c, "test.yaml", yaml, strlen(yaml), err, sizeof(err)), 0,
		     "%s\n--- in:\n%s", err, yaml);
	return c;
}

/* One test alert and the storage its strings live in. */
struct test_alert {
	struct alert a;		    /* what outputs__emit takes */
	struct json_buf j;	    /* the JSON the outputs must render from a */
	struct rule_out_field f[3]; /* a's fields */
	char num[24];		    /* evt.num's value */
	char output[256];	    /* text line */
	char message[200];	    /* template alone */
};

static const char *const test_tags[] = {"container", "mitre_credential_access", "T1555"};

static __attribute__((unused)) void test_alert_init(struct test_alert *t, const char *rule,
						    int priority, unsigned long seq)
{
	const char *prio = rule_priority__name(priority);

	snprintf(t->message, sizeof(t->message), "Sensitive file opened (file=/etc/shadow seq=%lu)",
		 seq);
	snprintf(t->output, sizeof(t->output), "2026-01-02T03:04:05.123456789Z: %s %s", prio,
		 t->message);
	json_init(&t->j);
	json_obj_begin(&t->j);
	json_key(&t->j, "hostname");
	json_str(&t->j, "node-1");
	json_key(&t->j, "output");
	json_str(&t->j, t->output);
	json_key(&t->j, "output_fields");
	json_obj_begin(&t->j);
	json_key(&t->j, "evt.num");
	json_uint(&t->j, seq);
	json_key(&t->j, "fd.name");
	json_str(&t->j, "/etc/shadow");
	json_key(&t->j, "proc.name");
	json_str(&t->j, "cat");
	json_obj_end(&t->j);
	json_key(&t->j, "priority");
	json_str(&t->j, prio);
	json_key(&t->j, "rule");
	json_str(&t->j, rule);
	json_key(&t->j, "source");
	json_str(&t->j, "syscall");
	json_key(&t->j, "tags");
	json_arr_begin(&t->j);
	for (size_t i = 0; i < 3; i++)
		json_str(&t->j, test_tags[i]);
	json_arr_end(&t->j);
	json_key(&t->j, "time");
	json_str(&t->j, "2026-01-02T03:04:05.123456789Z");
	json_obj_end(&t->j);
	cr_assert_eq(t->j.err, 0);
	snprintf(t->num, sizeof(t->num), "%lu", seq);
	t->f[0] = (struct rule_out_field){"evt.num", t->num, 0, RULE_OUT_RAW};
	t->f[1] = (struct rule_out_field){"fd.name", "/etc/shadow", 0, RULE_OUT_STRING};
	t->f[2] = (struct rule_out_field){"proc.name", "cat", 0, RULE_OUT_STRING};
	t->a = (struct alert){
	    .rule = rule,
	    .priority = priority,
	    .output = t->output,
	    .message = t->message,
	    .tags = test_tags,
	    .n_tags = 3,
	    .hostname = "node-1",
	    .time_ns = 1767323045123456789ull,
	    .container_id = "0123456789ab",
	    .fields = t->f,
	    .n_fields = 3,
	};
}

static __attribute__((unused)) void test_alert_fini(struct test_alert *t)
{
	json_free(&t->j);
}

/* Emits n alerts of rule with evt.num 1..n. */
static __attribute__((unused)) void test_emit(struct outputs *o, const char *rule, int priority,
					      unsigned long n)
{
	for (unsigned long i = 1; i <= n; i++) {
		struct test_alert t;

		test_alert_init(&t, rule, priority, i);
		cr_assert_eq(outputs__emit(o, &t.a), 0);
		test_alert_fini(&t);
	}
}

/* A record of a test alert, as a sink sees it. */
static __attribute__((unused)) struct alert *test_rec(const char *rule, int priority,
						      unsigned long seq)
{
	struct test_alert t;
	struct alert *r;

	test_alert_init(&t, rule, priority, seq);
	r = alert__dup(&t.a, "fallback-host");
	cr_assert_not_null(r);
	cr_assert_str_eq(r->json, t.j.buf, "the JSON rendered from the parts");
	test_alert_fini(&t);
	return r;
}

/* The whole file (malloc'd, NUL-terminated), or NULL if it does not exist. */
static __attribute__((unused)) char *test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n + 1);
	cr_assert_eq(fread(buf, 1, n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = n;
	return buf;
}

static __attribute__((unused)) size_t test_count(const char *s, const char *needle)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static __attribute__((unused)) double test_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A fresh directory under /tmp for one test. */
static __attribute__((unused)) void test_tmpdir(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/vigil-unit-XXXXXX");
	cr_assert_not_null(mkdtemp(buf));
}

#endif /* VIGIL_TEST_OUTPUT_HELPERS_H */
