// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * main.c - vigil's command line: parses the command and its options and hands
 * over to the agent. Every error names the input and what to do.
 */
#include <errno.h>
#include <stddef.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "agent.h"
#include "config.h"
#include "control.h"
#include "detect/detect.h"
#include "detect/fields.h"
#include "detect/filter.h"
#include "kernel/loader.h"
#include "replay.h"
#include "respond/policy.h"
#include "util/json.h"

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
    "  status [--json]     ask the running agent for its state: mode, programs and\n"
    "                      hooks, rules, counters, maps, recent actions\n"
    "  reload              make the running agent reload its rules; answers once they\n"
    "                      are in force (exit 1, and why, when they did not load)\n"
    "  actions [N] [--json] the last N actions the agent took (default 20)\n"
    "  block add CIDR [--for DURATION] [--reason TEXT]\n"
    "                      drop traffic from and to an address or prefix (until\n"
    "                      removed without --for)\n"
    "  block del CIDR      lift a block; block list: the blocks in force\n"
    "  isolate CONTAINER [--reason TEXT]\n"
    "                      cut a container's network (actions.isolate_allow aside)\n"
    "  release CONTAINER   give an isolated container its network back\n"
    "  quarantine [--for DURATION] [--reason TEXT]\n"
    "                      cut the node's network but actions.quarantine_allow and\n"
    "                      loopback, for DURATION (at most actions.quarantine_max)\n"
    "  release --node      lift the quarantine\n"
    "  release --all       remove every block and isolation vigil put in place\n"
    "  top [--once] [--json] [--rows N]\n"
    "                      the busiest ports and sources (traffic.enabled), redrawn\n"
    "                      every second; --once: one table, --json: one reply\n"
    "                      (status, reload, actions, block, isolate, release, top:\n"
    "                      --socket PATH, default " CONTROL_DEFAULT_PATH ";\n"
    "                      root only)\n"
    "  config keys         the configuration file's keys as Markdown (docs/OUTPUTS.md)\n"
    "  version             print the version\n"
    "  help                print this help\n"
    "\n"
    "run options:\n";

/* --events[=FMT]: without FMT, text on a terminal, else JSON */
static int parse_events(struct opt_ctx *x, const struct opt *opt, const char *s, void *base)
{
	struct agent_opts *o = base;

	if (!s)
		o->events = isatty(STDOUT_FILENO) ? AGENT_FMT_TEXT : AGENT_FMT_JSON;
	else if (!strcmp(s, "json"))
		o->events = AGENT_FMT_JSON;
	else if (!strcmp(s, "text"))
		o->events = AGENT_FMT_TEXT;
	else {
		opt_error(x, "--events=%s: expected json or text", s);
		return -EINVAL;
	}
	return 0;
}

/* --filter=TYPE=SPEC, parsed once here into the description the agent applies last */
static int parse_filter(struct opt_ctx *x, const struct opt *opt, const char *s, void *base)
{
	struct agent_opts *o = base;
	char err[256];

	if (filter_spec_parse(o->filter, s, err, sizeof(err))) {
		opt_error(x, "--filter %s", err);
		return -EINVAL;
	}
	return 0;
}

#define AGENT(field) .base = 1, .off = offsetof(struct agent_opts, field)

/* `vigil run`: the configuration's keys (base 0) and the agent's own flags (base 1). */
static const struct opt run_options[] = {
    {.flag = "events",
     .short_flag = 'e',
     .type = OPT_CUSTOM,
     .parse = parse_events,
     .base = 1,
     .flags = OPT_OPTARG,
     .arg = "FMT",
     .help = "print every event on stdout; FMT is json (one object per line) or text; "
	     "default: text on a terminal, else json"},
    {.flag = "ringbuf-size",
     .type = OPT_BYTES,
     .size = sizeof(size_t),
     AGENT(ringbuf_bytes),
     .def = "4M", /* mapped twice by the reader: counts 8 MiB of RSS */
     .help = "kernel ring buffer size, a power of two"},
    {.flag = "tick-ms",
     .type = OPT_UINT,
     .size = sizeof(int),
     .min = 1,
     .max = 1000,
     AGENT(tick_ms),
     .def = "1",
     .help = "longest a batched event waits before it is read"},
    {.flag = "ancestry",
     .type = OPT_UINT,
     .size = sizeof(size_t),
     .max = 64,
     AGENT(ancestry_max),
     .def = "8",
     .help = "ancestors named in each JSON event"},
    {.type = OPT_INLINE, .sub = config_options},
    {.flag = "no-rules", .type = OPT_FLAG, AGENT(no_rules), .help = "evaluate no rules"},
    {.flag = "skip-unknown-fields",
     .type = OPT_FLAG,
     AGENT(skip_unknown_fields),
     .help = "a rule naming a field vigil cannot supply is disabled with a warning instead "
	     "of failing the load"},
    {.flag = "no-prefilter",
     .type = OPT_FLAG,
     AGENT(no_prefilter),
     .help = "send every event to user space (for measurements)"},
    {.flag = "record",
     .type = OPT_STR,
     AGENT(record),
     .help = "write every event vigil receives to FILE (see replay)"},
    {.flag = "config",
     .type = OPT_STR,
     .off = offsetof(struct vigil_config, path),
     .help = "outputs, metrics, rules and more (see deploy/vigil.yaml); the flags win over it"},
    {.flag = "btf",
     .type = OPT_STR,
     AGENT(btf_path),
     .help = "kernel BTF for a kernel without /sys/kernel/btf/vmlinux"},
    {.flag = "filter",
     .type = OPT_CUSTOM,
     .parse = parse_filter,
     .base = 1,
     .arg = "TYPE=SPEC",
     .help = "what the kernel sends for an event type (repeatable): all, none, or a comma "
	     "list of paths (\"/etc/\" or \"/usr/*\" are prefixes, \"/etc/shadow\" is exact), "
	     "comm=NAME, port=N, cgroup=ID, write (opens for writing), failed (errors). "
	     "open sets every open; open.read only the O_RDONLY ones. Default: derived from the "
	     "rules; with --events: everything except opens, which "
	     "go up only for writing or under /etc/, /root/, /home/, /boot/ and other "
	     "sensitive paths"},
    {0},
};

static void usage(FILE *out)
{
	fputs(usage_text, out);
	options__print_help(run_options, out);
}

/*
 * The defaults, then the configuration file (--config), then the other flags:
 * a flag wins over the file, the file over the defaults.
 */
static int cmd_run(int argc, char **argv)
{
	struct vigil_config *cfg = config__new();
	struct agent_opts o;
	const char *config_path = NULL;
	char err[1024] = "";
	struct opt_ctx x = {.cli = true, .err = err, .errlen = sizeof(err)};
	struct filter_spec filter; /* --filter arguments */
	void *bases[2] = {cfg, &o};
	int ret = 2;

	agent_opts_default(&o);
	filter_spec_init(&filter);
	o.filter = &filter;
	x.bases = bases;
	if (!cfg || options__defaults(run_options, bases, 1)) {
		fprintf(stderr, "vigil run: out of memory\n");
		goto out;
	}
	ret = options__parse_argv(&x, run_options, argc, argv, "config", &config_path, NULL);
	if (ret == 1) {
		usage(stdout);
		ret = 0;
		goto out;
	}
	ret = 2;
	if (config_path && config__load_file(cfg, config_path, err, sizeof(err))) {
		fprintf(stderr, "vigil run: %s\n", err);
		goto out;
	}
	if (options__parse_argv(&x, run_options, argc, argv, NULL, NULL, "config")) {
		if (err[0])
			fprintf(stderr, "vigil run: %s\n", err);
		else
			usage(stderr);
		goto out;
	}
	o.rule_files = (const char *const *)cfg->rules_files.items;
	o.n_rule_files = cfg->rules_files.n;
	o.min_priority = cfg->min_priority;
	o.proc_max = cfg->process_table.max_entries;
	o.cfg = cfg;
	ret = agent_run(&o) ? 1 : 0;
out:
	options__free(run_options, bases, 1);
	filter_spec_free(&filter);
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

/*
 * What `vigil run` checks after the language: whether the rules' actions can be
 * carried out here (a deny the kernel cannot do is an error). Errors on stdout, as
 * rule_engine__check prints them; returns how many files failed (0 or 1).
 */
static int check_actions(const struct rule_engine_opts *eo, char **files, int n)
{
	struct policy_opts po = {.mode = RESPOND_ENFORCE, .entry_kill = true};
	struct rule_engine *e = rule_engine__new(eo);

	policy_opts_lsm(&po, geteuid() ? -EACCES : loader_probe_lsm(NULL));
	struct policy *p;
	int ret = 0;

	if (!e)
		return 1;
	for (int i = 0; i < n && !ret; i++)
		ret = rule_engine__load_file(e, files[i]);
	if (!ret)
		ret = rule_engine__compile(e);
	p = ret ? NULL : policy__new(e, &po, stdout);
	ret = !p;
	policy__free(p);
	rule_engine__free(e);
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
			n = check_actions(&eo, argv + 2, argc - 2);
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
	if (!strcmp(sub, "list")) {
		struct policy_opts po = {.mode = RESPOND_ENFORCE, .entry_kill = true};
		struct policy *p;

		policy_opts_lsm(&po, geteuid() ? -EACCES : loader_probe_lsm(NULL));
		p = policy__new(e, &po, stderr);
		char where[320];

		if (!p) {
			rule_engine__free(e);
			return 1;
		}
		detect_print_rules(e, stdout);
		if (policy__n_rules(p))
			printf("\nactions:\n");
		for (size_t i = 0; i < policy__n_rules(p); i++) {
			const struct policy_rule *r = policy__rule(p, i);

			char acts[32];

			printf("  %s: %s in %s\n", r->info->name,
			       policy_rule__actions(r, acts, sizeof(acts)),
			       policy_rule__where(r, where, sizeof(where)));
		}
		policy__free(p);
	} else
		detect_print_prefilter(e, stdout);
	rule_engine__free(e);
	return 0;
}

static const char *control_usage(const char *verb)
{
	if (!strcmp(verb, "actions"))
		return " [N]";
	if (!strcmp(verb, "block"))
		return " add CIDR [--for DURATION] [--reason TEXT] | del CIDR | list";
	if (!strcmp(verb, "release"))
		return " --all | --node | CONTAINER";
	if (!strcmp(verb, "quarantine"))
		return " [--for DURATION] [--reason TEXT]";
	if (!strcmp(verb, "isolate"))
		return " CONTAINER [--reason TEXT]";
	return "";
}

/*
 * vigil status|reload|actions [N]|block ...|release --all [--socket PATH] [--json]: a
 * request to the running agent
 */
static int cmd_control(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"socket", required_argument, NULL, 's'}, {"json", no_argument, NULL, 'j'},
	    {"for", required_argument, NULL, 'f'},    {"reason", required_argument, NULL, 'r'},
	    {"all", no_argument, NULL, 'a'},	      {"node", no_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},	      {},
	};
	const char *verb = argv[0], *path = CONTROL_DEFAULT_PATH, *reason = "";
	bool json = false, all = false, block = !strcmp(verb, "block");
	bool isolate = !strcmp(verb, "isolate"), quarantine = !strcmp(verb, "quarantine");
	bool node = false;
	char line[CONTROL_LINE_MAX], err[4096], *reply = NULL;
	uint64_t for_ns = 0;
	struct control_request req;
	int c, ret, npos;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'f':
			if ((!block && !quarantine) || action_duration__parse(optarg, &for_ns)) {
				fprintf(stderr,
					"vigil %s: --for takes a duration, e.g. 30s, 10m, 1h\n",
					verb);
				return 2;
			}
			break;
		case 'r':
			if (!block && !isolate && !quarantine)
				goto usage;
			reason = optarg;
			break;
		case 'a':
		case 'n':
			if (strcmp(verb, "release"))
				goto usage;
			if (c == 'a')
				all = true;
			else
				node = true;
			break;
		case 'h':
			printf("usage: vigil %s%s [--socket PATH] [--json]\n", verb,
			       control_usage(verb));
			return 0;
		default:
			goto usage;
		}
	}
	npos = argc - optind;
	if (!strcmp(verb, "release")) {
		if (all + node + npos != 1)
			goto usage;
		snprintf(line, sizeof(line), "release %s",
			 all	? "all"
			 : node ? "node"
				: argv[optind]);
	} else if (quarantine) {
		if (npos)
			goto usage;
		snprintf(line, sizeof(line), "quarantine %llu %s",
			 (unsigned long long)(for_ns / 1000000000ull), reason);
	} else if (isolate) {
		if (npos != 1)
			goto usage;
		snprintf(line, sizeof(line), "isolate %s %s", argv[optind], reason);
	} else if (block) {
		if (npos < 1 || npos > 2)
			goto usage;
		if (!strcmp(argv[optind], "add") && npos == 2)
			snprintf(line, sizeof(line), "block add %s %llu %s", argv[optind + 1],
				 (unsigned long long)(for_ns / 1000000000ull), reason);
		else
			snprintf(line, sizeof(line), "block %s%s%s", argv[optind],
				 npos == 2 ? " " : "", npos == 2 ? argv[optind + 1] : "");
	} else {
		if (npos > (!strcmp(verb, "actions") ? 1 : 0))
			goto usage;
		snprintf(line, sizeof(line), "%s%s%s", verb, npos ? " " : "",
			 npos ? argv[optind] : "");
	}
	if (control_parse_request(line, strlen(line), &req, err, sizeof(err))) {
		fprintf(stderr, "vigil %s: %s\n", verb, err);
		return 2;
	}
	/* a reload compiles the rules and rewrites the prefilter: give it time */
	ret = control_call(path, line, req.verb == CONTROL_RELOAD ? 120000 : 10000, &reply, err,
			   sizeof(err));
	if (ret) {
		fprintf(stderr, "vigil %s: %s\n", verb, err);
		return 1;
	}
	ret = control_reply_ok(reply, err, sizeof(err));
	if (json)
		fputs(reply, stdout);
	else if (ret == 1 && req.verb == CONTROL_RELOAD)
		printf("rules reloaded and in force\n");
	if (!json && ret >= 0 && control_render(reply, stdout))
		ret = -EINVAL;
	if (ret != 1)
		fprintf(stderr, "vigil %s: %s\n", verb, err);
	free(reply);
	return ret == 1 ? 0 : 1;
usage:
	fprintf(stderr, "usage: vigil %s%s [--socket PATH] [--json]\n", verb, control_usage(verb));
	return 2;
}

/* A member of v as a number (0 when absent). */
static double num(const struct json_value *v, const char *key)
{
	const struct json_value *m = json_member(v, key);

	return m && m->s ? strtod(m->s, NULL) : 0;
}

/* "1.2k", "3.4M": a rate in 6 columns. */
static const char *human(double v, char *buf, size_t len)
{
	if (v >= 1e9)
		snprintf(buf, len, "%.1fG", v / 1e9);
	else if (v >= 1e6)
		snprintf(buf, len, "%.1fM", v / 1e6);
	else if (v >= 1e4)
		snprintf(buf, len, "%.1fk", v / 1e3);
	else
		snprintf(buf, len, "%.0f", v);
	return buf;
}

/* One screen of vigil top from the agent's traffic reply. 0 or -EINVAL. */
static int top_draw(const char *reply, bool clear, FILE *out)
{
	struct json_value v = {0};
	const struct json_value *ports, *srcs, *alerts;
	char a[16], b[16], c[16];
	int ret = json_parse_object(reply, &v);

	if (ret)
		goto out;
	ports = json_member(&v, "ports");
	srcs = json_member(&v, "sources");
	alerts = json_member(&v, "alerts");
	if (!ports || !srcs || ports->type != JSON_ARR || srcs->type != JSON_ARR) {
		ret = -EINVAL;
		goto out;
	}
	if (clear)
		fputs("\033[H\033[2J", out);
	fprintf(out, "\033[1mvigil top\033[0m  interval %.2f s", num(&v, "interval_s"));
	for (size_t i = 0; alerts && alerts->type == JSON_OBJ && i < alerts->n; i++)
		fprintf(out, "  %s: %s", alerts->kids[i].key, alerts->kids[i].s);
	fprintf(out, "\n\n\033[7m%-4s %-6s %6s %9s %9s %9s %12s\033[0m\n", "DIR", "PROTO", "PORT",
		"PKT/S", "BYTES/S", "SYN/S", "PACKETS");
	for (size_t i = 0; i < ports->n; i++) {
		const struct json_value *p = &ports->kids[i];

		fprintf(out, "%-4s %-6s %6.0f %9s %9s %9s %12.0f\n",
			json_member_str(p, "direction"), json_member_str(p, "proto"),
			num(p, "port"), human(num(p, "pps"), a, 16), human(num(p, "bps"), b, 16),
			human(num(p, "syn_pps"), c, 16), num(p, "packets"));
	}
	fprintf(out, "\n\033[7m%-4s %-39s %9s %9s %6s %-10s\033[0m\n", "DIR", "PEER", "PKT/S",
		"BYTES/S", "PORTS", "TOP PORT");
	for (size_t i = 0; i < srcs->n; i++) {
		const struct json_value *p = &srcs->kids[i];

		fprintf(out, "%-4s %-39s %9s %9s %6.0f %.0f/%s\n", json_member_str(p, "direction"),
			json_member_str(p, "addr"), human(num(p, "pps"), a, 16),
			human(num(p, "bps"), b, 16), num(p, "ports"), num(p, "top_port"),
			json_member_str(p, "top_proto"));
	}
	fflush(out);
out:
	json_value_free(&v);
	return ret;
}

/* vigil top [--once] [--json] [--rows N] [--socket PATH]: traffic, redrawn each second */
static int cmd_top(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"socket", required_argument, NULL, 's'}, {"json", no_argument, NULL, 'j'},
	    {"once", no_argument, NULL, 'o'},	      {"rows", required_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},	      {},
	};
	const char *path = CONTROL_DEFAULT_PATH;
	bool json = false, once = false;
	char line[64], err[1024], *end;
	long rows = 10;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'o':
			once = true;
			break;
		case 'n':
			rows = strtol(optarg, &end, 10);
			if (*end || rows < 1 || rows > CONTROL_ACTIONS_MAX) {
				fprintf(stderr, "vigil top: --rows takes a number from 1 to %d\n",
					CONTROL_ACTIONS_MAX);
				return 2;
			}
			break;
		case 'h':
			printf("usage: vigil top [--once] [--json] [--rows N] [--socket PATH]\n");
			return 0;
		default:
			goto usage;
		}
	}
	if (optind != argc)
		goto usage;
	snprintf(line, sizeof(line), "traffic %ld", rows);
	for (;;) {
		char *reply = NULL;
		int ret = control_call(path, line, 5000, &reply, err, sizeof(err));

		if (!ret && control_reply_ok(reply, err, sizeof(err)) != 1)
			ret = -EINVAL;
		if (ret) {
			fprintf(stderr, "vigil top: %s\n", err);
			free(reply);
			return 1;
		}
		if (json)
			printf("%s\n", reply);
		else if (top_draw(reply, !once, stdout))
			fprintf(stderr, "vigil top: the agent's reply is not a traffic table\n");
		free(reply);
		if (json || once)
			return 0;
		sleep(1);
	}
usage:
	fprintf(stderr, "usage: vigil top [--once] [--json] [--rows N] [--socket PATH]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd || !strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage(cmd ? stdout : stderr);
		return cmd ? 0 : 2;
	}
	if (!strcmp(cmd, "config") && argc == 3 && !strcmp(argv[2], "keys")) {
		config__print_markdown(stdout);
		return 0;
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
	if (!strcmp(cmd, "top"))
		return cmd_top(argc - 1, argv + 1);
	if (!strcmp(cmd, "status") || !strcmp(cmd, "reload") || !strcmp(cmd, "actions") ||
	    !strcmp(cmd, "block") || !strcmp(cmd, "release") || !strcmp(cmd, "isolate") ||
	    !strcmp(cmd, "quarantine"))
		return cmd_control(argc - 1, argv + 1);
	fprintf(stderr, "vigil: unknown command '%s' (see vigil --help)\n", cmd);
	return 2;
}
