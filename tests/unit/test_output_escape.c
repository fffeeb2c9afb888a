// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_output_escape.c - unit tests for hostile bytes in alerts: the escaping
 * function itself, and each text form of an alert (the record's text line and
 * message, stdout in text mode, the syslog MSG and structured data, Alertmanager's
 * annotations) shows a file name's newline, carriage return, ESC and DEL as \xNN,
 * while the JSON forms keep the exact bytes, escaped by the JSON writer.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output/helpers.h"
#include "util/text.h"

/* a file name forging a second alert line and colouring the terminal */
#define HOSTILE	     "/tmp/x\n2026-01-01T00:00:00Z: Critical forged\r\x1b[2J\x7f\\"
#define HOSTILE_TEXT "/tmp/x\\x0a2026-01-01T00:00:00Z: Critical forged\\x0d\\x1b[2J\\x7f\\x5c"

static void no_control_bytes(const char *s)
{
	for (size_t i = 0; s[i]; i++)
		cr_assert(((unsigned char)s[i] >= 0x20 && s[i] != 0x7f),
			  "raw byte 0x%02x at %zu: %s", (unsigned char)s[i], i, s);
}

static struct alert *hostile_rec(void)
{
	static const struct rule_out_field f[] = {{"fd.name", HOSTILE, 0, RULE_OUT_STRING}};
	struct alert *r = alert__dup(&(struct alert){.rule = "Read shadow",
						     .priority = RULE_PRIO_WARNING,
						     .message = "opened " HOSTILE,
						     .time_ns = 1767323045123456789ull,
						     .fields = f,
						     .n_fields = 1},
				     "node-1");

	cr_assert_not_null(r);
	return r;
}

Test(output_escape, text_escape_writes_control_bytes_as_hex)
{
	static const char in[] = "a\0b\x01\x1f \x7f\x80\xff\\~";
	char out[sizeof(in) * TEXT_ESC_MAX];
	size_t n = text_escape(out, in, sizeof(in) - 1);

	cr_assert_eq(n, text_escape(NULL, in, sizeof(in) - 1), "counting agrees with writing");
	out[n] = '\0';
	cr_assert_str_eq(out, "a\\x00b\\x01\\x1f \\x7f\x80\xff\\x5c~");
	char *d = text_escape_dup("\n\x1b");
	cr_assert_str_eq(d, "\\x0a\\x1b");
	free(d);
}

Test(output_escape, record_text_forms_escaped_json_exact)
{
	struct alert *r = hostile_rec();

	cr_assert_str_eq(r->output, "2026-01-02T03:04:05.123456789Z: Warning opened " HOSTILE_TEXT);
	cr_assert_str_eq(r->message, "opened " HOSTILE_TEXT);
	no_control_bytes(r->json);
	cr_assert_not_null(strstr(r->json, "\"output\":\"2026-01-02T03:04:05.123456789Z: Warning "
					   "opened /tmp/x\\n2026-01-01T00:00:00Z: Critical "
					   "forged\\r\\u001b[2J\\u007f\\\\\""),
			   "%s", r->json);
	cr_assert_not_null(strstr(r->json, "\"fd.name\":\"/tmp/x\\n2026"), "%s", r->json);
	cr_assert_str_eq(r->fields[0].value, HOSTILE, "the fields keep the exact bytes");
	alert__put(r);
}

Test(output_escape, given_text_line_is_escaped_too)
{
	struct alert *r = alert__dup(&(struct alert){.rule = "R",
						     .priority = RULE_PRIO_ERROR,
						     .output = "line\nnext\x1b]0;title\x07"},
				     "h");

	cr_assert_not_null(r);
	cr_assert_str_eq(r->output, "line\\x0anext\\x1b]0;title\\x07");
	cr_assert_eq(r->message, r->output);
	cr_assert_not_null(strstr(r->json, "\"output\":\"line\\nnext\\u001b]0;title\\u0007\""));
	alert__put(r);
}

Test(output_escape, stdout_text_is_one_line)
{
	struct vigil_config *c = test_config("outputs:\n  - type: stdout\n    format: text\n");
	char path[] = "/tmp/vigil-escape-XXXXXX", buf[4096], err[512];
	int fd = mkstemp(path), saved = dup(STDOUT_FILENO);
	struct outputs *o;
	ssize_t n;
	struct test_alert t;

	cr_assert_geq(fd, 0);
	fflush(stdout);
	cr_assert_eq(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
	o = outputs__new(c, NULL, err, sizeof(err));
	cr_assert_not_null(o, "%s", err);
	test_alert_init(&t, "Read shadow", RULE_PRIO_WARNING, 1);
	t.a.output = NULL;
	t.a.message = "opened " HOSTILE;
	cr_assert_eq(outputs__emit(o, &t.a), 0);
	test_alert_fini(&t);
	outputs__close(o);
	outputs__free(o);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	unlink(path);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert_str_eq(buf, "2026-01-02T03:04:05.123456789Z: Warning opened " HOSTILE_TEXT "\n");
	config__free(c);
}

Test(output_escape, syslog_msg_and_structured_data)
{
	static const struct syslog_opts o = {.facility = 1,
					     .app_name = "vigil",
					     .sd_id = "vigil@32473",
					     .procid = 7,
					     .max_message = 8192};
	static char buf[16384];
	struct alert *r = hostile_rec();
	size_t n = syslog_format(&o, r, buf, sizeof(buf));

	cr_assert_eq(n, strlen(buf));
	no_control_bytes(buf);
	cr_assert_not_null(
	    strstr(buf, "] 2026-01-02T03:04:05.123456789Z: Warning opened " HOSTILE_TEXT), "%s",
	    buf);
	cr_assert_not_null(strstr(buf, " fd.name=\"/tmp/x\\x0a2026-01-01T00:00:00Z: Critical "
				       "forged\\x0d\\x1b[2J\\x7f\\\\\"]"),
			   "%s", buf);
	alert__put(r);
}

Test(output_escape, alertmanager_annotations)
{
	struct alert *r = hostile_rec();
	char *a = am_annotations_json(r);

	cr_assert_not_null(a);
	no_control_bytes(a);
	cr_assert_str_eq(a, "{\"summary\":\"opened /tmp/x\\\\x0a2026-01-01T00:00:00Z: Critical "
			    "forged\\\\x0d\\\\x1b[2J\\\\x7f\\\\x5c\","
			    "\"description\":\"2026-01-02T03:04:05.123456789Z: Warning opened "
			    "/tmp/x\\\\x0a2026-01-01T00:00:00Z: Critical "
			    "forged\\\\x0d\\\\x1b[2J\\\\x7f\\\\x5c\"}");
	free(a);
	alert__put(r);
}
