// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_output_syslog.c - unit tests for the syslog sink: the exact RFC 5424 line,
 * severity mapping, structured-data escaping and name cleaning, truncation that
 * keeps the message well formed, output_fields read back from the alert JSON, and
 * delivery over UDP, TCP (octet counting) and a unix datagram socket on loopback.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "output/helpers.h"

static const struct syslog_opts base_opts = {
    .facility = 1,
    .app_name = "vigil",
    .sd_id = "vigil@32473",
    .procid = 77,
    .max_message = 8192,
};

static char *format(const struct syslog_opts *o, struct alert *r)
{
	static char buf[70000];
	size_t n = syslog_format(o, r, buf, sizeof(buf));

	cr_assert_eq(n, strlen(buf));
	cr_assert_leq(n, o->max_message);
	return buf;
}

/* Checks RFC 5424 structure: header, one SD element with balanced quoting, MSG. */
static void assert_well_formed(const char *m)
{
	const char *p = strchr(m, '[');
	bool quoted = false;

	cr_assert_eq(m[0], '<');
	cr_assert_not_null(strstr(m, ">1 "));
	cr_assert_not_null(p, "no structured data in %s", m);
	for (p++; *p; p++) {
		if (quoted && *p == '\\') {
			p++;
			continue;
		}
		if (*p == '"')
			quoted = !quoted;
		else if (*p == ']' && !quoted)
			break;
	}
	cr_assert_eq(*p, ']', "structured data not closed: %s", m);
	cr_assert_eq(p[1], ' ');
}

Test(syslog, severity_follows_priority)
{
	cr_assert_eq(syslog_severity(RULE_PRIO_EMERGENCY), 0);
	cr_assert_eq(syslog_severity(RULE_PRIO_CRITICAL), 2);
	cr_assert_eq(syslog_severity(RULE_PRIO_WARNING), 4);
	cr_assert_eq(syslog_severity(RULE_PRIO_INFORMATIONAL), 6);
	cr_assert_eq(syslog_severity(RULE_PRIO_DEBUG), 7);
	cr_assert_eq(syslog_severity(0), 5);
	cr_assert_eq(syslog_severity(42), 5);
}

Test(syslog, exact_message)
{
	struct alert *r = test_rec("Read shadow", RULE_PRIO_WARNING, 1);
	char *m = format(&base_opts, r);

	cr_assert_str_eq(m, "<12>1 2026-01-02T03:04:05.123456Z node-1 vigil 77 alert "
			    "[vigil@32473 rule=\"Read shadow\" priority=\"Warning\" "
			    "tags=\"container,mitre_credential_access,T1555\" "
			    "container_id=\"0123456789ab\" evt.num=\"1\" fd.name=\"/etc/shadow\" "
			    "proc.name=\"cat\"] 2026-01-02T03:04:05.123456789Z: Warning "
			    "Sensitive file opened (file=/etc/shadow seq=1)");
	alert__put(r);
}

Test(syslog, facility_and_severity_in_pri)
{
	struct syslog_opts o = base_opts;
	struct alert *r = test_rec("x", RULE_PRIO_CRITICAL, 1);

	o.facility = 16; /* local0 */
	cr_assert_eq(strncmp(format(&o, r), "<130>1 ", 7), 0);
	alert__put(r);
}

Test(syslog, json_msg)
{
	struct syslog_opts o = base_opts;
	struct alert *r = test_rec("x", RULE_PRIO_ERROR, 3);
	char *m;

	o.json = true;
	m = format(&o, r);
	cr_assert_not_null(strstr(m, "] {\"hostname\":\"node-1\""));
	cr_assert_eq(strcmp(m + strlen(m) - r->json_len, r->json), 0);
	alert__put(r);
}

Test(syslog, sd_values_are_escaped)
{
	struct rule_out_field f[] = {
	    {"proc.cmdline", "echo \"a]b\\c\""},
	    {"bad name=x]\"y", "v"},
	    {"bytes", "ok\xff\xfe"
		      "end"},
	    {"a.very.long.field.name.longer.than.thirty.two", "v"},
	};
	struct alert a = {
	    .rule = "R", .priority = RULE_PRIO_NOTICE, .output = "out", .fields = f, .n_fields = 4};
	struct alert *r = alert__dup(&a, "h");
	char *m = format(&base_opts, r);

	cr_assert_not_null(strstr(m, " proc.cmdline=\"echo \\\"a\\]b\\\\c\\\"\""), "%s", m);
	cr_assert_not_null(strstr(m, " bad_name_x__y=\"v\""), "%s", m);
	cr_assert_not_null(strstr(m, " bytes=\"ok\xef\xbf\xbd\xef\xbf\xbd"
				     "end\""),
			   "%s", m);
	cr_assert_not_null(strstr(m, " a.very.long.field.name.longer.th=\"v\""), "%s", m);
	cr_assert_not_null(strstr(m, "<13>1 "), "notice is severity 5");
	cr_assert_not_null(strstr(m, " h vigil 77 alert "), "the fallback host name: %s", m);
	cr_assert_null(strstr(m, "tags="), "no tags, no empty parameter");
	assert_well_formed(m);
	alert__put(r);
}

Test(syslog, header_fields_are_cleaned)
{
	struct alert a = {
	    .rule = "R", .priority = RULE_PRIO_ALERT, .output = "o", .hostname = "bad host\n"};
	struct alert *r = alert__dup(&a, "h");
	struct syslog_opts o = base_opts;

	o.app_name = "";
	cr_assert_not_null(strstr(format(&o, r), " bad_host_ - 77 alert "));
	alert__put(r);
}

Test(syslog, truncation_keeps_the_structure)
{
	struct syslog_opts o = base_opts;
	char big[3000], *m;
	struct rule_out_field f[] = {{"huge", big}, {"small", "s"}};
	struct alert a = {.rule = "R", .priority = RULE_PRIO_NOTICE, .fields = f, .n_fields = 2};
	struct alert *r;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	a.output = big; /* a long MSG too */
	r = alert__dup(&a, "h");
	o.max_message = 480;
	m = format(&o, r);
	cr_assert_eq(strlen(m), 480, "filled to the limit: %zu", strlen(m));
	assert_well_formed(m);
	cr_assert_null(strstr(m, "huge="), "a value that does not fit is left out");
	cr_assert_not_null(strstr(m, " small=\"s\""));
	o.max_message = 8192;
	m = format(&o, r);
	cr_assert_not_null(strstr(m, " huge=\"xxxx"), "with room it is kept, cut at 1 KiB");
	assert_well_formed(m);
	alert__put(r);
}

Test(syslog, msg_is_cut_on_a_character_boundary)
{
	struct syslog_opts o = base_opts;
	char text[2000], *m;
	struct alert a = {.rule = "R", .priority = RULE_PRIO_NOTICE, .output = text};
	struct alert *r;
	size_t n;

	for (size_t i = 0; i + 2 < sizeof(text); i += 2)
		memcpy(text + i, "\xc3\xa9", 2); /* é */
	text[sizeof(text) - 2] = '\0';
	r = alert__dup(&a, "h");
	o.max_message = 501;
	m = format(&o, r);
	n = strlen(m);
	cr_assert_leq(n, 501);
	cr_assert_neq((unsigned char)m[n - 1], 0xc3, "a sequence was split");
	cr_assert_eq((unsigned char)m[n - 1], 0xa9);
	alert__put(r);
}

/* ---- output_fields as structured data ---- */

Test(syslog, sd_has_the_scalar_fields_only)
{
	struct rule_out_field f[] = {
	    {"a", "x\xc3\xa9\n", 0, RULE_OUT_STRING}, {"b", "12", 0, RULE_OUT_RAW},
	    {"c", "true", 0, RULE_OUT_RAW},	      {"d", NULL, 0, RULE_OUT_NULL},
	    {"e", "[1,2]", 0, RULE_OUT_LIST},	      {"raw", "\xff\x80", 0, RULE_OUT_STRING},
	    {"h", "-1.5e3", 0, RULE_OUT_RAW},
	};
	struct alert a = {.rule = "R",
			  .priority = RULE_PRIO_NOTICE,
			  .output = "o",
			  .fields = f,
			  .n_fields = sizeof(f) / sizeof(f[0])};
	struct alert *r = alert__dup(&a, "h");
	char *m = format(&base_opts, r);

	cr_assert_not_null(
	    strstr(m, "[vigil@32473 rule=\"R\" priority=\"Notice\" a=\"x\xc3\xa9\\x0a\" "
		      "b=\"12\" c=\"true\" raw=\"\xef\xbf\xbd\xef\xbf\xbd\" "
		      "h=\"-1.5e3\"] o"),
	    "%s", m);
	cr_assert_null(strstr(m, " d="), "a null is left out");
	cr_assert_null(strstr(m, " e="), "a list is left out");
	assert_well_formed(m);
	alert__put(r);
}

/* ---- transports, through the public API ---- */

static int bind_inet(int type, int *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, type, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	*port = ntohs(sa.sin_port);
	if (type == SOCK_STREAM)
		listen(fd, 4);
	return fd;
}

static ssize_t recv_timeout(int fd, char *buf, size_t len)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	cr_assert_eq(poll(&p, 1, 5000), 1, "nothing received within 5 s");
	return recv(fd, buf, len, 0);
}

Test(syslog, udp_delivery)
{
	int port, fd = bind_inet(SOCK_DGRAM, &port);
	struct vigil_config *c = test_config("outputs:\n  - type: syslog\n    transport: udp\n"
					     "    address: 127.0.0.1:%d\n    facility: local7\n",
					     port);
	char err[256], buf[9000];
	struct outputs *o = outputs__new(c, NULL, err, sizeof(err));
	ssize_t n;

	cr_assert_not_null(o, "%s", err);
	test_emit(o, "UDP rule", RULE_PRIO_ERROR, 2);
	for (int i = 1; i <= 2; i++) {
		char want[64];

		n = recv_timeout(fd, buf, sizeof(buf) - 1);
		cr_assert_gt(n, 0);
		buf[n] = '\0';
		cr_assert_eq(strncmp(buf, "<187>1 ", 7), 0, "local7.err: %s", buf);
		snprintf(want, sizeof(want), "evt.num=\"%d\"", i);
		cr_assert_not_null(strstr(buf, want), "one datagram per alert, in order: %s", buf);
		cr_assert_not_null(strstr(buf, "rule=\"UDP rule\""));
	}
	outputs__free(o);
	config__free(c);
	close(fd);
}

Test(syslog, tcp_octet_counting)
{
	int port, lfd = bind_inet(SOCK_STREAM, &port), fd;
	struct vigil_config *c = test_config("outputs:\n  - type: syslog\n    transport: tcp\n"
					     "    address: 127.0.0.1:%d\n",
					     port);
	char err[256], buf[20000];
	struct outputs *o = outputs__new(c, NULL, err, sizeof(err));
	size_t len = 0, off = 0;
	int frames = 0;

	cr_assert_not_null(o, "%s", err);
	test_emit(o, "TCP rule", RULE_PRIO_WARNING, 3);
	fd = accept(lfd, NULL, NULL);
	while (frames < 3) {
		ssize_t k = recv_timeout(fd, buf + len, sizeof(buf) - 1 - len);
		char *sp;

		cr_assert_gt(k, 0);
		len += k;
		buf[len] = '\0';
		/* parse as many complete "LEN SP MSG" frames as arrived */
		while ((sp = memchr(buf + off, ' ', len - off))) {
			size_t flen = strtoul(buf + off, NULL, 10);

			if (sp + 1 + flen > buf + len)
				break;
			cr_assert_eq(strncmp(sp + 1, "<12>1 ", 6), 0, "frame %d: %.40s", frames,
				     sp + 1);
			cr_assert(sp[flen] != '\n', "no newline framing mixed in");
			off = sp + 1 + flen - buf;
			frames++;
		}
	}
	cr_assert_eq(off, len, "nothing after the third frame");
	outputs__free(o);
	config__free(c);
	close(fd);
	close(lfd);
}

Test(syslog, unix_datagram_socket)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char dir[64], err[256], buf[9000];
	struct vigil_config *c;
	struct outputs *o;
	ssize_t n;
	int fd;

	test_tmpdir(dir, sizeof(dir));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/log", dir);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	c = test_config("outputs:\n  - type: syslog\n    socket: %s\n", sun.sun_path);
	o = outputs__new(c, NULL, err, sizeof(err));
	cr_assert_not_null(o, "%s", err);
	test_emit(o, "Local rule", RULE_PRIO_CRITICAL, 1);
	n = recv_timeout(fd, buf, sizeof(buf) - 1);
	buf[n] = '\0';
	cr_assert_eq(strncmp(buf, "<10>1 ", 6), 0, "%s", buf);
	cr_assert_not_null(strstr(buf, "[vigil@32473 rule=\"Local rule\" priority=\"Critical\""));
	outputs__free(o);
	config__free(c);
	close(fd);
	unlink(sun.sun_path);
	rmdir(dir);
}

Test(syslog, unreachable_server_is_counted_not_fatal)
{
	struct vigil_config *c = test_config("shutdown_timeout: 1s\n"
					     "outputs:\n  - type: syslog\n"
					     "    socket: /nonexistent/vigil-test.sock\n");
	struct output_sink_stats ss;
	struct outputs_stats st;
	char err[256];
	struct outputs *o = outputs__new(c, NULL, err, sizeof(err));

	cr_assert_not_null(o, "a missing socket is retried later, not a start-up error: %s", err);
	test_emit(o, "R", RULE_PRIO_WARNING, 3);
	outputs__close(o);
	outputs__stats(o, &st, &ss, 1);
	cr_assert_eq(ss.delivered, 0);
	cr_assert_eq(ss.failed + ss.dropped, 3, "failed %llu dropped %llu",
		     (unsigned long long)ss.failed, (unsigned long long)ss.dropped);
	cr_assert_geq(ss.failed, 1);
	cr_assert_not(ss.up);
	outputs__free(o);
	config__free(c);
}
