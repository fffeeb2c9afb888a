// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * main.c - vigil's command line: parses the command and its options and hands
 * over to the agent. Every error names the input and what to do.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "agent.h"
#include "config.h"
#include "detect/detect.h"
#include "detect/fields.h"
#include "detect/filter.h"
#include "replay.h"

static const char usage_text[] =
    "usage: vigil <command> [options]\n"
    "\n"
    "vigil watches processes in the kernel with eBPF and reports what they do.\n"
    "\n"
    "commands:\n"
    "  run                 monitor this host with the rules (needs root)\n"
    "  rules check FILE... validate rule files: file:line:col: message per problem\n"
    "  rules list [FILE...] the rules (built-in set by default) with priority, tags\n"
    "                      and event types\n"
    "  rules prefilter [FILE...] what the kernel sends up for these rules\n"
    "  replay FILE         run a recording (vigil run --record) through the rules,\n"
    "                      offline: --rules FILE, --min-priority P, --prefilter\n"
    "                      (apply the derived prefilter first), --events, --stats\n"
    "  version             print the version\n"
    "  help                print this help\n"
    "\n"
    "run options:\n"
    "  -e, --events[=FMT]  print every event on stdout; FMT is json (one object per\n"
    "                      line) or text; default: text on a terminal, else json\n"
    "      --ringbuf-size=BYTES  kernel ring buffer size, a power of two (default 4M)\n"
    "      --tick-ms=N     longest a batched event waits before it is read (default 1)\n"
    "      --ancestry=N    ancestors named in each JSON event (default 8)\n"
    "      --rules=FILE    load this rule file (repeatable, in order; default: the\n"
    "                      built-in ruleset). Reloaded on SIGHUP and when it changes\n"
    "      --no-rules      evaluate no rules\n"
    "      --min-priority=P  skip rules less severe than P (e.g. warning)\n"
    "      --skip-unknown-fields  a rule naming a field vigil cannot supply is\n"
    "                      disabled with a warning instead of failing the load\n"
    "      --no-prefilter  send every event to user space (for measurements)\n"
    "      --record=FILE   write every event vigil receives to FILE (see replay)\n"
    "      --config=FILE   outputs, metrics, rules and more (see deploy/vigil.yaml)\n"
    "      --btf=FILE      kernel BTF for a kernel without /sys/kernel/btf/vmlinux\n"
    "      --metrics-listen=HOST:PORT|off  the Prometheus endpoint (default\n"
    "                      127.0.0.1:9376; port 0 picks a free one)\n"
    "      --filter=TYPE=SPEC  what the kernel sends for an event type (repeatable):\n"
    "                      all, none, or a comma list of paths (\"/etc/\" or \"/usr/*\"\n"
    "                      are prefixes, \"/etc/shadow\" is exact), comm=NAME, port=N,\n"
    "                      cgroup=ID, write (opens for writing), failed (errors).\n"
    "                      Default: derived from the rules; with --events: everything\n"
    "                      except opens, which go up only for writing or under /etc/,\n"
    "                      /root/, /home/, /boot/ and other sensitive paths\n";

static int parse_size(const char *arg, const char *opt, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 0);
	if (errno || end == arg)
		goto bad;
	switch (*end) {
	case 'k':
	case 'K':
		v <<= 10;
		end++;
		break;
	case 'm':
	case 'M':
		v <<= 20;
		end++;
		break;
	case 'g':
	case 'G':
		v <<= 30;
		end++;
		break;
	}
	if (*end)
		goto bad;
	*out = v;
	return 0;
bad:
	fprintf(stderr, "vigil: %s: '%s' is not a size (examples: 4096, 512K, 8M)\n", opt, arg);
	return -EINVAL;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"events", optional_argument, NULL, 'e'},
	    {"ringbuf-size", required_argument, NULL, 'r'},
	    {"tick-ms", required_argument, NULL, 't'},
	    {"ancestry", required_argument, NULL, 'a'},
	    {"filter", required_argument, NULL, 'f'},
	    {"no-prefilter", no_argument, NULL, 'P'},
	    {"rules", required_argument, NULL, 'R'},
	    {"no-rules", no_argument, NULL, 'N'},
	    {"min-priority", required_argument, NULL, 'm'},
	    {"record", required_argument, NULL, 'w'},
	    {"config", required_argument, NULL, 'c'},
	    {"btf", required_argument, NULL, 'B'},
	    {"skip-unknown-fields", no_argument, NULL, 'U'},
	    {"metrics-listen", required_argument, NULL, 'M'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	struct vigil_config *cfg = config__new();
	const char *config_path = NULL, *metrics_listen = NULL;
	bool min_prio_given = false;
	struct filter_spec filter; /* --filter arguments, parsed here once */
	const char **rules = calloc(argc, sizeof(char *));
	struct agent_opts o;
	char err[256];
	size_t v;
	int c, ret = 2;

	agent_opts_default(&o);
	filter_spec_init(&filter);
	if (!rules || !cfg) {
		fprintf(stderr, "vigil run: out of memory\n");
		goto out;
	}
	o.filter = &filter;
	o.rule_files = rules;
	optind = 1;
	while ((c = getopt_long(argc, argv, "e::h", longopts, NULL)) != -1) {
		switch (c) {
		case 'e':
			if (!optarg)
				o.events = isatty(STDOUT_FILENO) ? AGENT_FMT_TEXT : AGENT_FMT_JSON;
			else if (!strcmp(optarg, "json"))
				o.events = AGENT_FMT_JSON;
			else if (!strcmp(optarg, "text"))
				o.events = AGENT_FMT_TEXT;
			else {
				fprintf(stderr, "vigil run: --events=%s: expected json or text\n",
					optarg);
				goto out;
			}
			break;
		case 'r':
			if (parse_size(optarg, "--ringbuf-size", &v))
				goto out;
			o.ringbuf_bytes = v;
			break;
		case 't':
			if (parse_size(optarg, "--tick-ms", &v) || v < 1 || v > 1000) {
				fprintf(stderr, "vigil run: --tick-ms takes 1 to 1000\n");
				goto out;
			}
			o.tick_ms = v;
			break;
		case 'a':
			if (parse_size(optarg, "--ancestry", &v) || v > 64) {
				fprintf(stderr, "vigil run: --ancestry takes 0 to 64\n");
				goto out;
			}
			o.ancestry_max = v;
			break;
		case 'f':
			if (filter_spec_parse(&filter, optarg, err, sizeof(err))) {
				fprintf(stderr, "vigil run: --filter %s\n", err);
				goto out;
			}
			break;
		case 'P':
			o.no_prefilter = true;
			break;
		case 'w':
			o.record = optarg;
			break;
		case 'c':
			config_path = optarg;
			break;
		case 'B':
			o.btf_path = optarg;
			break;
		case 'U':
			o.skip_unknown_fields = true;
			break;
		case 'M':
			metrics_listen = optarg;
			break;
		case 'R':
			rules[o.n_rule_files++] = optarg;
			break;
		case 'N':
			o.no_rules = true;
			break;
		case 'm':
			if (rule_priority__parse(optarg, &o.min_priority)) {
				fprintf(stderr,
					"vigil run: --min-priority %s: expected emergency, "
					"alert, critical, error, warning, notice, "
					"informational or debug\n",
					optarg);
				goto out;
			}
			min_prio_given = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			ret = 0;
			goto out;
		default:
			fputs(usage_text, stderr);
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vigil run: unexpected argument '%s'\n", argv[optind]);
		goto out;
	}
	if (config_path && config__load_file(cfg, config_path, err, sizeof(err))) {
		fprintf(stderr, "vigil run: %s\n", err);
		goto out;
	}
	/* the command line wins over the configuration file */
	if (!o.n_rule_files) {
		o.rule_files = (const char *const *)cfg->rules_files;
		o.n_rule_files = cfg->n_rules_files;
	}
	if (!min_prio_given)
		o.min_priority = cfg->min_priority;
	if (metrics_listen && !strcmp(metrics_listen, "off")) {
		cfg->metrics.enabled = false;
	} else if (metrics_listen) {
		char *dup = strdup(metrics_listen);

		if (!dup)
			goto out;
		free(cfg->metrics.listen);
		cfg->metrics.listen = dup;
		cfg->metrics.enabled = true;
	}
	o.cfg = cfg;
	ret = agent_run(&o) ? 1 : 0;
out:
	filter_spec_free(&filter);
	free(rules);
	config__free(cfg);
	return ret;
}

static int cmd_replay(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"rules", required_argument, NULL, 'R'}, {"min-priority", required_argument, NULL, 'm'},
	    {"prefilter", no_argument, NULL, 'p'},   {"events", no_argument, NULL, 'e'},
	    {"stats", no_argument, NULL, 's'},	     {},
	};
	const char **rules = calloc(argc, sizeof(char *));
	struct replay_opts o = {.rule_files = rules};
	int c, ret = 2;

	if (!rules)
		return 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'R':
			rules[o.n_rule_files++] = optarg;
			break;
		case 'm':
			if (rule_priority__parse(optarg, &o.min_priority)) {
				fprintf(stderr,
					"vigil replay: --min-priority %s: unknown priority\n",
					optarg);
				goto out;
			}
			break;
		case 'p':
			o.prefilter = true;
			break;
		case 'e':
			o.events = true;
			break;
		case 's':
			o.stats = true;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;
	o.file = argv[optind];
	ret = replay_run(&o);
	goto out;
usage:
	fprintf(stderr, "usage: vigil replay FILE [--rules FILE]... [--min-priority P] "
			"[--prefilter] [--events] [--stats]\n");
out:
	free(rules);
	return ret;
}

/* vigil rules check FILE... | vigil rules list [FILE...] */
static int cmd_rules(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";
	struct rule_engine_opts eo = {0};
	struct rule_engine *e;
	int n, ret;

	fields_bind(&eo);
	if (!strcmp(sub, "check")) {
		if (argc < 3) {
			fprintf(stderr, "usage: vigil rules check FILE...\n");
			return 2;
		}
		n = rule_engine__check(&eo, (const char *const *)argv + 2, argc - 2, stdout);
		if (n < 0) {
			fprintf(stderr, "vigil rules check: %s\n", strerror(-n));
			return 1;
		}
		if (n == 0)
			printf("%d file(s) OK\n", argc - 2);
		return n ? 1 : 0;
	}
	if (strcmp(sub, "list") && strcmp(sub, "prefilter")) {
		fprintf(stderr, "usage: vigil rules check FILE... | vigil rules list [FILE...] | "
				"vigil rules prefilter [FILE...]\n");
		return 2;
	}
	e = rule_engine__new(&eo);
	if (!e)
		return 1;
	ret = argc > 2 ? 0
		       : rule_engine__load_buf(e, "<built-in rules>", vigil_builtin_rules,
					       vigil_builtin_rules_len);
	for (int i = 2; i < argc && !ret; i++)
		ret = rule_engine__load_file(e, argv[i]);
	if (!ret)
		ret = rule_engine__compile(e);
	rule_engine__print_diags(e, stderr);
	if (ret) {
		rule_engine__free(e);
		return 1;
	}
	if (!strcmp(sub, "list"))
		detect_print_rules(e, stdout);
	else
		detect_print_prefilter(e, stdout);
	rule_engine__free(e);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd || !strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		fputs(usage_text, cmd ? stdout : stderr);
		return cmd ? 0 : 2;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("vigil %s (libbpf %s)\n", VIGIL_VERSION, libbpf_version_string());
		return 0;
	}
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "rules"))
		return cmd_rules(argc - 1, argv + 1);
	if (!strcmp(cmd, "replay"))
		return cmd_replay(argc - 1, argv + 1);
	fprintf(stderr, "vigil: unknown command '%s' (see vigil --help)\n", cmd);
	return 2;
}
