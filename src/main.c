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
#include "filter.h"

static const char usage_text[] =
	"usage: vigil <command> [options]\n"
	"\n"
	"vigil watches processes in the kernel with eBPF and reports what they do.\n"
	"\n"
	"commands:\n"
	"  run                 monitor this host (needs root)\n"
	"  version             print the version\n"
	"  help                print this help\n"
	"\n"
	"run options:\n"
	"  -e, --events[=FMT]  print every event on stdout; FMT is json (one object per\n"
	"                      line) or text; default: text on a terminal, else json\n"
	"      --ringbuf-size=BYTES  kernel ring buffer size, a power of two (default 8M)\n"
	"      --tick-ms=N     longest a batched event waits before it is read (default 1)\n"
	"      --ancestry=N    ancestors named in each JSON event (default 8)\n"
	"      --filter=TYPE=SPEC  what the kernel sends for an event type (repeatable):\n"
	"                      all, none, or a comma list of paths (\"/etc/\" or \"/usr/*\"\n"
	"                      are prefixes, \"/etc/shadow\" is exact), comm=NAME, port=N,\n"
	"                      cgroup=ID, write (opens for writing), failed (errors).\n"
	"                      Default: everything, except opens: only for writing or\n"
	"                      under /etc/, /root/, /home/, /boot/ and other sensitive paths\n";

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
		{ "events", optional_argument, NULL, 'e' },
		{ "ringbuf-size", required_argument, NULL, 'r' },
		{ "tick-ms", required_argument, NULL, 't' },
		{ "ancestry", required_argument, NULL, 'a' },
		{ "filter", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct filter_spec filter;
	struct agent_opts o;
	char err[256];
	size_t v;
	int c, ret = 2;

	agent_opts_default(&o);
	filter_spec_init(&filter);
	if (filter_spec_default(&filter)) {
		fprintf(stderr, "vigil run: out of memory\n");
		goto out;
	}
	o.filter = &filter;
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
	ret = agent_run(&o) ? 1 : 0;
out:
	filter_spec_free(&filter);
	return ret;
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
	fprintf(stderr, "vigil: unknown command '%s' (see vigil --help)\n", cmd);
	return 2;
}
