// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * alert_driver.c - build/alert-driver, a stand-in for the daemon in the
 * integration tests: it reads a vigil configuration, starts the outputs and the
 * metrics endpoint exactly as the agent does, and emits synthetic Falco-shaped
 * alerts through outputs__emit. With --fake-agent it also fills the agent's
 * metrics (kernel event counters, rule timing, ring buffer, process table) with
 * synthetic values, so every dashboard query has data.
 *
 * Status lines go to stderr, prefixed "alert-driver: ":
 *   listening HOST:PORT        the metrics endpoint is up
 *   ready                      outputs started, signals handled
 *   emitted N                  after each burst
 *   stats {json}               at exit, after the outputs drained
 *   drain_ms N                 how long outputs__free took
 *
 * With --stdin it reads commands, one per line:
 *   emit COUNT RULE [PRIORITY [TAGS [CONTAINER]]]   TAGS comma-separated, "-" for none
 *   quit
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/config.h"
#include "util/json.h"
#include "daemon/metrics.h"
#include "output/output.h"
#include "output/sink.h"
#include "rules/engine.h"

#ifndef VIGIL_VERSION
#define VIGIL_VERSION "unknown"
#endif

#define MAX_TAGS 16

static volatile sig_atomic_t stop;
static uint64_t seq;	  /* evt.num of the next alert */
static uint64_t start_ns; /* for the synthetic event counters */

static void on_signal(int sig)
{
	stop = 1;
}

static uint64_t now_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

struct burst {
	unsigned long count;	    /* alerts */
	const char *rule;	    /* rule name */
	int priority;		    /* enum rule_priority */
	const char *tags[MAX_TAGS]; /* rule tags */
	size_t n_tags;		    /* entries in tags */
	const char *container;	    /* container id or NULL */
	unsigned interval_ms;	    /* pause between alerts */
};

static void split_tags(struct burst *b, char *list)
{
	b->n_tags = 0;
	if (!list || !strcmp(list, "-"))
		return;
	for (char *t = strtok(list, ","); t && b->n_tags < MAX_TAGS; t = strtok(NULL, ","))
		b->tags[b->n_tags++] = t;
}

static int emit_one(struct outputs *o, const struct burst *b, const char *host)
{
	uint64_t t = now_ns(CLOCK_REALTIME), n = ++seq;
	const char *container = b->container ? b->container : "host";
	char message[512], num[24], time_s[24];
	struct rule_out_field fields[] = {
	    {"container.id", container, 0, RULE_OUT_STRING},
	    {"evt.num", num, 0, RULE_OUT_RAW},
	    {"evt.time", time_s, 0, RULE_OUT_RAW},
	    {"fd.name", "/etc/shadow", 0, RULE_OUT_STRING},
	    {"proc.cmdline", "cat /etc/shadow", 0, RULE_OUT_STRING},
	    {"proc.name", "cat", 0, RULE_OUT_STRING},
	    {"proc.pid", "4242", 0, RULE_OUT_RAW},
	    {"user.name", "root", 0, RULE_OUT_STRING},
	};

	snprintf(message, sizeof(message),
		 "Sensitive file opened for reading (user=root command=cat /etc/shadow "
		 "file=/etc/shadow container=%s seq=%llu)",
		 container, (unsigned long long)n);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)n);
	snprintf(time_s, sizeof(time_s), "%llu", (unsigned long long)t);
	/* the outputs render the JSON object and the text line from these */
	return outputs__emit(o, &(struct alert){
				    .rule = b->rule,
				    .priority = b->priority,
				    .message = message,
				    .tags = b->tags,
				    .n_tags = b->n_tags,
				    .hostname = host,
				    .time_ns = t,
				    .container_id = b->container,
				    .fields = fields,
				    .n_fields = sizeof(fields) / sizeof(fields[0]),
				});
}

static int emit_burst(struct outputs *o, const struct burst *b, const char *host)
{
	for (unsigned long i = 0; i < b->count && !stop; i++) {
		int ret = emit_one(o, b, host);

		if (ret)
			return ret;
		if (b->interval_ms)
			usleep(b->interval_ms * 1000);
	}
	fprintf(stderr, "alert-driver: emitted %lu\n", b->count);
	return 0;
}

/* emit COUNT RULE [PRIORITY [TAGS [CONTAINER]]] */
static int command(struct outputs *o, char *line, const char *host)
{
	struct burst b = {.priority = RULE_PRIO_WARNING};
	char *words[6] = {0};
	size_t n = 0;
	enum rule_priority p;

	line[strcspn(line, "\r\n")] = '\0';
	for (char *w = strtok(line, " "); w && n < 6; w = strtok(NULL, " "))
		words[n++] = w;
	if (!n)
		return 0;
	if (!strcmp(words[0], "quit")) {
		stop = 1;
		return 0;
	}
	if (strcmp(words[0], "emit") || n < 3) {
		fprintf(stderr, "alert-driver: bad command '%s'\n", words[0]);
		return 0;
	}
	b.count = strtoul(words[1], NULL, 10);
	b.rule = words[2];
	if (n > 3 && !rule_priority__parse(words[3], &p))
		b.priority = p;
	split_tags(&b, n > 4 ? words[4] : NULL);
	b.container = n > 5 && strcmp(words[5], "-") ? words[5] : NULL;
	return emit_burst(o, &b, host);
}

/* ---- synthetic agent metrics ---- */

static void fake_events(struct metrics_writer *w, void *arg)
{
	double secs = (now_ns(CLOCK_MONOTONIC) - start_ns) / 1e9 + 1;
	struct metrics_event_counts c[] = {
	    {"exec", 50 * secs, 0, 50 * secs, 0},
	    {"fork", 80 * secs, 0, 80 * secs, 0},
	    {"exit", 80 * secs, 0, 80 * secs, 0},
	    {"open", 4000 * secs, 3600 * secs, 400 * secs, 2 * secs},
	    {"connect", 30 * secs, 10 * secs, 20 * secs, 0},
	};

	metrics__write_event_counts(w, c, sizeof(c) / sizeof(c[0]));
}

static void fake_agent(struct metrics *m)
{
	const struct metrics_agent *a = metrics__agent(m);

	metric__set(a->ringbuf_size, 8 << 20);
	metric__set(a->ringbuf_used, 12345);
	metric__set(a->procs, 321);
	metric__set(a->procs_max, 65536);
	metrics__rules_loaded(m, true, 3);
	for (int i = 0; i < 100; i++)
		metric__observe(a->rule_eval_seconds, (i % 10 + 1) * 1e-6);
	metrics__add_collector(m, fake_events, NULL);
}

static void fake_tick(struct metrics *m)
{
	const struct metrics_agent *a = metrics__agent(m);

	for (int i = 0; i < 50; i++)
		metric__observe(a->rule_eval_seconds, (i % 10 + 1) * 1e-6);
}

/* stats {"emitted":N,"suppressed":N,"sinks":{"NAME":{"delivered":N,...},...}} */
static void print_stats(struct outputs *o)
{
	struct output_sink_stats ss[32];
	struct outputs_stats st;
	struct json_buf j;

	outputs__stats(o, &st, ss, 32);
	json_init(&j);
	json_obj_begin(&j);
	json_key(&j, "emitted");
	json_uint(&j, st.emitted);
	json_key(&j, "suppressed");
	json_uint(&j, st.suppressed);
	json_key(&j, "sinks");
	json_obj_begin(&j);
	for (size_t i = 0; i < st.n_sinks && i < 32; i++) {
		json_key(&j, ss[i].name);
		json_obj_begin(&j);
		json_key(&j, "type");
		json_str(&j, ss[i].type);
		json_key(&j, "delivered");
		json_uint(&j, ss[i].delivered);
		json_key(&j, "failed");
		json_uint(&j, ss[i].failed);
		json_key(&j, "dropped");
		json_uint(&j, ss[i].dropped);
		json_key(&j, "queued");
		json_uint(&j, ss[i].queued);
		json_obj_end(&j);
	}
	json_obj_end(&j);
	json_obj_end(&j);
	if (!j.err)
		fprintf(stderr, "alert-driver: stats %s\n", j.buf);
	json_free(&j);
}

/* ---- main ---- */

static const char usage[] =
    "usage: alert-driver --config FILE [--listen HOST:PORT] [--count N] [--rule NAME]\n"
    "       [--priority P] [--tag T]... [--container ID] [--interval-ms MS]\n"
    "       [--fake-agent] [--stdin] [--hold]\n";

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"listen", required_argument, NULL, 'l'},
	    {"count", required_argument, NULL, 'n'},
	    {"rule", required_argument, NULL, 'r'},
	    {"priority", required_argument, NULL, 'p'},
	    {"tag", required_argument, NULL, 't'},
	    {"container", required_argument, NULL, 'C'},
	    {"interval-ms", required_argument, NULL, 'i'},
	    {"fake-agent", no_argument, NULL, 'f'},
	    {"stdin", no_argument, NULL, 's'},
	    {"hold", no_argument, NULL, 'H'},
	    {},
	};
	struct burst b = {.rule = "Read sensitive file untrusted", .priority = RULE_PRIO_WARNING};
	bool fake = false, use_stdin = false, hold = false;
	const char *config_path = NULL, *listen_addr = NULL;
	struct vigil_config *cfg = NULL;
	struct metrics *m = NULL;
	struct outputs *o = NULL;
	char err[4096], host[256], line[1024];
	enum rule_priority p;
	uint64_t t0;
	int c, ret = 1;

	while ((c = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'l':
			listen_addr = optarg;
			break;
		case 'n':
			b.count = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			b.rule = optarg;
			break;
		case 'p':
			if (rule_priority__parse(optarg, &p)) {
				fprintf(stderr, "alert-driver: bad priority %s\n", optarg);
				return 2;
			}
			b.priority = p;
			break;
		case 't':
			if (b.n_tags < MAX_TAGS)
				b.tags[b.n_tags++] = optarg;
			break;
		case 'C':
			b.container = optarg;
			break;
		case 'i':
			b.interval_ms = strtoul(optarg, NULL, 10);
			break;
		case 'f':
			fake = true;
			break;
		case 's':
			use_stdin = true;
			break;
		case 'H':
			hold = true;
			break;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!config_path) {
		fputs(usage, stderr);
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	start_ns = now_ns(CLOCK_MONOTONIC);

	cfg = config__new();
	if (!cfg || config__load_file(cfg, config_path, err, sizeof(err))) {
		fprintf(stderr, "%s\n", cfg ? err : "out of memory");
		goto out;
	}
	if (listen_addr) {
		free(cfg->metrics.listen);
		cfg->metrics.listen = strdup(listen_addr);
	}
	if (cfg->metrics.enabled) {
		m = metrics__new(&(struct metrics_opts){.version = VIGIL_VERSION,
							.stall_ns = cfg->metrics.stall_ns,
							.no_health = !cfg->metrics.health});
		if (!m || metrics__serve(m, cfg->metrics.listen, err, sizeof(err))) {
			fprintf(stderr, "alert-driver: %s\n", m ? err : "out of memory");
			goto out;
		}
		if (fake)
			fake_agent(m);
	}
	o = outputs__new(cfg, m, err, sizeof(err));
	if (!o) {
		fprintf(stderr, "alert-driver: %s\n", err);
		goto out;
	}
	if (m) {
		metrics__heartbeat(m);
		metrics__set_ready(m, true, NULL);
		fprintf(stderr, "alert-driver: listening 127.0.0.1:%d\n", metrics__port(m));
	}
	fprintf(stderr, "alert-driver: ready\n");
	snprintf(host, sizeof(host), "%s", cfg->hostname ? cfg->hostname : "");
	if (!host[0] && gethostname(host, sizeof(host) - 1))
		snprintf(host, sizeof(host), "localhost");
	if (b.count && emit_burst(o, &b, host))
		goto out;
	while (!stop && (use_stdin || hold)) {
		struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};

		if (m) {
			metrics__heartbeat(m);
			if (fake)
				fake_tick(m);
		}
		if (!use_stdin) {
			usleep(100000);
			continue;
		}
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if (!fgets(line, sizeof(line), stdin)) {
			if (!hold)
				break;
			use_stdin = false;
			continue;
		}
		if (command(o, line, host))
			goto out;
	}
	ret = 0;
out:
	if (o) {
		t0 = now_ns(CLOCK_MONOTONIC);
		outputs__close(o);
		fprintf(stderr, "alert-driver: drain_ms %llu\n",
			(unsigned long long)((now_ns(CLOCK_MONOTONIC) - t0) / 1000000));
		print_stats(o);
		outputs__free(o);
	}
	metrics__free(m);
	config__free(cfg);
	return ret;
}
