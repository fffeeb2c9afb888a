// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * config.c - vigil's configuration file: the table of its keys (the top level,
 * rate limits, metrics and the keys every output has) and the reading of the
 * `outputs` list, where each entry's `type` picks a sink from output/sinks.c and
 * that sink's own table reads the rest. The option engine (options.c) does the
 * reading; checks that involve several keys run once their mapping is read.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "config.h"
#include "control.h"
#include "metrics.h"
#include "output/sink.h"
#include "rules/engine.h"

#define CFG(field)  .off = offsetof(struct vigil_config, field)
#define RATE(field) .off = offsetof(struct config_rate_limit, field)
#define MET(field)  .off = offsetof(struct config_metrics, field)
#define PT(field)   .off = offsetof(struct config_process_table, field)
#define ACT(field)  .off = offsetof(struct config_actions, field)
#define CTR(field)  .off = offsetof(struct config_containers, field)
#define OUT(field)  .off = offsetof(struct config_output, field)
#define TRF(field)  .off = offsetof(struct config_traffic, field)

static bool is_null(const yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

/* ---- rate limits ---- */

static const struct opt rate_rule_keys[] = {
    {.key = "rate",
     .type = OPT_DOUBLE,
     .off = offsetof(struct config_rate_rule, rate),
     .help = "alerts per second of this rule"},
    {.key = "burst",
     .type = OPT_DOUBLE,
     .min = 1,
     .off = offsetof(struct config_rate_rule, burst),
     .help = "its bucket size"},
    {0},
};

/* rules: {NAME: {rate, burst}}: a rule's own bucket; what it leaves out is the default */
static void read_rate_rules(struct opt_ctx *x, const struct opt *o, void *node, void *base)
{
	struct config_rate_limit *rl = base;
	yaml_node_t *n = node;

	if (n->type != YAML_MAPPING_NODE) {
		options__read_map(x, rate_rule_keys, node, "rate_limit.rules", "", NULL);
		return;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(x->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
		const char *name =
		    k->type == YAML_SCALAR_NODE ? (char *)k->data.scalar.value : NULL;
		struct config_rate_rule *r;
		void *const *saved = x->bases;

		x->at = k;
		if (!name) {
			opt_error(x, "rate_limit.rules: keys must be rule names");
			continue;
		}
		for (size_t i = 0; i < rl->n_rules && name; i++)
			if (!strcmp(rl->rules[i].rule, name)) {
				opt_error(x, "rate_limit.rules: key '%s' is given twice; keep one",
					  name);
				name = NULL;
			}
		if (!name)
			continue;
		r = realloc(rl->rules, (rl->n_rules + 1) * sizeof(*r));
		if (!r) {
			opt_error(x, "out of memory");
			return;
		}
		rl->rules = r;
		r = &r[rl->n_rules];
		*r = (struct config_rate_rule){.rule = strdup(name), .rate = -1, .burst = -1};
		if (!r->rule) {
			opt_error(x, "out of memory");
			return;
		}
		rl->n_rules++;
		x->bases = (void *const[]){r, NULL};
		options__read_map(x, rate_rule_keys, v, "rate_limit.rules", "a rule's rate limit",
				  NULL);
		x->bases = saved;
	}
}

static void rate_limit_validate(struct opt_ctx *x, void *base)
{
	struct config_rate_limit *rl = base;

	if (rl->enabled && rl->rate <= 0)
		opt_error_key(x, "rate",
			      "rate_limit.rate must be above 0 when rate limiting is enabled");
	if (rl->enabled && !rl->summary_ns)
		opt_error_key(x, "summary_interval", "rate_limit.summary_interval must be above 0");
	for (size_t i = 0; i < rl->n_rules; i++) {
		if (rl->rules[i].rate < 0)
			rl->rules[i].rate = rl->rate;
		if (rl->rules[i].burst < 0)
			rl->rules[i].burst = rl->burst;
	}
}

static const struct opt rate_limit_keys[] = {
    {.key = "enabled",
     .type = OPT_BOOL,
     RATE(enabled),
     .def = "false",
     .help = "per-rule token buckets on"},
    {.key = "rate",
     .type = OPT_DOUBLE,
     RATE(rate),
     .def = "10",
     .help = "alerts per second per rule"},
    {.key = "burst",
     .type = OPT_DOUBLE,
     .min = 1,
     RATE(burst),
     .def = "50",
     .help = "bucket size: alerts let through at once"},
    {.key = "summary_interval",
     .type = OPT_DURATION,
     RATE(summary_ns),
     .def = "60s",
     .help = "how often suppressed alerts are summarised (a log line and an alert)"},
    {.key = "rules",
     .type = OPT_CUSTOM,
     .node = read_rate_rules,
     .expected = "rule name: {rate, burst}",
     .help = "per-rule `rate` and `burst`; what a rule leaves out is the default"},
    {0},
};

/* ---- metrics ---- */

static int parse_listen(struct opt_ctx *x, const struct opt *o, const char *s, void *base)
{
	struct config_metrics *m = base;
	const char *colon = strrchr(s, ':');
	char *dup;

	if (x->cli && !strcmp(s, "off")) {
		m->enabled = false;
		return 0;
	}
	if (!colon || colon == s || !colon[1] ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1)) {
		opt_error(x, "%s: '%s' is not HOST:PORT (e.g. %s)", x->label, s,
			  METRICS_DEFAULT_LISTEN);
		return -EINVAL;
	}
	dup = strdup(s);
	if (!dup) {
		opt_error(x, "%s: out of memory", x->label);
		return -ENOMEM;
	}
	free(m->listen);
	m->listen = dup;
	if (x->cli)
		m->enabled = true;
	return 0;
}

static void free_listen(void *base)
{
	struct config_metrics *m = base;

	free(m->listen);
	m->listen = NULL;
}

static const struct opt metrics_keys[] = {
    {.key = "enabled", .type = OPT_BOOL, MET(enabled), .def = "true", .help = "serve /metrics"},
    {.key = "listen",
     .flag = "metrics-listen",
     .type = OPT_CUSTOM,
     .parse = parse_listen,
     .release = free_listen,
     MET(listen),
     .def = METRICS_DEFAULT_LISTEN,
     .arg = "HOST:PORT|off",
     .expected = "HOST:PORT",
     .help = "the Prometheus endpoint (port 0 picks a free one; off: none)"},
    {.key = "health",
     .type = OPT_BOOL,
     MET(health),
     .def = "true",
     .help = "serve /healthz and /readyz too (same server)"},
    {.key = "stall_timeout",
     .type = OPT_DURATION,
     MET(stall_ns),
     .def = "30s",
     .help = "/healthz fails after the event loop stalls this long"},
    {0},
};

/* ---- process table ---- */

static const struct opt process_table_keys[] = {
    {.key = "max_entries",
     .flag = "proc-max",
     .type = OPT_UINT,
     .size = sizeof(size_t),
     .min = 1,
     .max = 1 << 24,
     PT(max_entries),
     .def = "65536",
     .help = "processes known at once; when full, the oldest exited one, then the live one "
	     "seen least recently, is forgotten (counted in "
	     "vigil_process_table_evictions_total); events of a forgotten process keep "
	     "their container, from their cgroup"},
    {0},
};

/* ---- rules: stateful rules' state ---- */

#define RST(field) .off = offsetof(struct config_rules_state, field)

static const struct opt rules_state_keys[] = {
    {.key = "max_entries",
     .type = OPT_UINT,
     .size = sizeof(size_t),
     .min = 1,
     .max = 1 << 22,
     RST(max_entries),
     .def = "4096",
     .help = "entries each stateful rule (threshold, aggregate, sequence) keeps: groups, "
	     "partial sequences or pending aggregates; when full, the least recently used "
	     "goes (an open one is counted in vigil_rule_state_evictions_total; a pending "
	     "aggregate is summarised first)"},
    {.key = "max_values",
     .type = OPT_UINT,
     .size = sizeof(size_t),
     .min = 1,
     .max = 4096,
     RST(max_values),
     .def = "32",
     .help = "distinct values a threshold alert lists in vigil.distinct"},
    {0},
};

static const struct opt rules_keys[] = {
    {.key = "state",
     .type = OPT_TABLE,
     .off = offsetof(struct config_rules, state),
     .sub = rules_state_keys},
    {0},
};

/* ---- DNS ---- */

static const struct opt dns_keys[] = {
    {.key = "answer_cache",
     .flag = "dns-answer-cache",
     .type = OPT_UINT,
     .size = sizeof(size_t),
     .min = 1,
     .max = 1 << 20,
     .off = offsetof(struct config_dns, answer_cache),
     .def = "4096",
     .help = "addresses from DNS answers kept at once for fd.sip.name, fd.cip.name, "
	     "fd.rip.name and fd.lip.name, each for its TTL (at least 60 s, at most a day); "
	     "when full, the least recently used goes (counted in "
	     "vigil_dns_answer_cache_evictions_total)"},
    {0},
};

/* ---- detect ---- */

static const struct opt detect_keys[] = {
    {.key = "new_exe_age",
     .type = OPT_DURATION,
     .off = offsetof(struct config_detect, new_exe_age_ns),
     .def = "10m",
     .help = "proc.exe_new is true for a program whose file changed (ctime or mtime) after "
	     "vigil started or within this before it was run (0: only after the start); "
	     "proc.exe_age says how long ago"},
    {0},
};

/* ---- containers ---- */

static const struct opt containers_keys[] = {
    {.key = "metadata",
     .type = OPT_BOOL,
     CTR(metadata),
     .def = "true",
     .help = "read each new container's OCI runtime spec and ask its runtime's API for its "
	     "name, image, labels and pod (off: container.id and container.runtime only)"},
    {.key = "host_root",
     .type = OPT_STR,
     CTR(host_root),
     .help = "where the host's file system is seen: \"\" on the host, /proc/1/root in a "
	     "container with the host's PID namespace"},
    {.key = "state_dirs",
     .type = OPT_LIST,
     CTR(state_dirs),
     .expected = "directories",
     .help = "runtime state roots to find a container's spec in (default: /run/runc, "
	     "/run/containerd/runc, /run/docker/runtime-runc, /run/crun)"},
    {.key = "api_sockets",
     .flag = "container-socket",
     .type = OPT_LIST,
     CTR(api_sockets),
     .arg = "PATH",
     .expected = "unix socket paths",
     .help = "Docker-compatible API sockets asked about podman and docker containers "
	     "(repeatable; default: /run/podman/podman.sock, /run/docker.sock)"},
    {.key = "api_timeout",
     .type = OPT_DURATION,
     CTR(api_timeout_ns),
     .def = "1s",
     .help = "deadline of one API request; a slow runtime costs its containers' names, "
	     "never an event"},
    {0},
};

/* ---- actions ---- */

static const char *const action_modes[] = {"enforce", "monitor", NULL};

static const struct opt actions_keys[] = {
    {.key = "mode",
     .flag = "mode",
     .type = OPT_ENUM,
     ACT(mode),
     .words = action_modes,
     .min = 1,
     .expected = "enforce or monitor",
     .def = "enforce",
     .arg = "enforce|monitor",
     .help = "`enforce`: rules with actions kill and deny; `monitor`: nothing is acted on and "
	     "each alert says what would have been done (a rule's own `mode:` wins)"},
    {.key = "allow_exe",
     .type = OPT_LIST,
     ACT(allow_exe),
     .expected = "exe paths",
     .help = "processes running these programs (a path ending in '/': any under it) are never "
	     "acted on, nor their children until they exec something else"},
    {.key = "allow_cgroup",
     .type = OPT_LIST,
     ACT(allow_cgroup),
     .expected = "cgroup v2 paths",
     .help = "processes in these cgroups (e.g. /system.slice/sshd.service) are never acted on"},
    {.key = "allow_container",
     .type = OPT_LIST,
     ACT(allow_container),
     .expected = "container ids (12 hex digits)",
     .help = "processes in these containers (container.id, e.g. 3f2a9c01b7d4) are never acted "
	     "on, from their first instruction when they start after vigil"},
    {.key = "rate_limit",
     .type = OPT_UINT,
     .size = sizeof(unsigned),
     .max = 1000000,
     ACT(per_sec),
     .def = "0",
     .help = "most actions one rule takes a second, in the kernel and in user space alike "
	     "(0: no limit); those held back are counted and said in the alert. A limit "
	     "protects the host from a rule that matches too much, at a price: whoever "
	     "repeats the action faster than the limit gets through"},
    {.key = "block_for",
     .type = OPT_DURATION,
     ACT(block_for_ns),
     .def = "10m",
     .help = "how long a block holds when its rule gives no `block_for:` or `for:`"},
    {.key = "allow_cidr",
     .type = OPT_LIST,
     ACT(allow_cidr),
     .expected = "IP addresses or prefixes",
     .help = "addresses never blocked, by a rule or by hand (loopback never is): your "
	     "management network, the resolvers, the alert sinks"},
    {.key = "interfaces",
     .type = OPT_LIST,
     ACT(interfaces),
     .expected = "interface names",
     .help = "where a block drops incoming traffic before the stack (XDP); empty: every "
	     "interface that is up but loopback. Traffic that reaches a local socket another "
	     "way is dropped at the root cgroup's ingress"},
    {.key = "isolate_allow",
     .type = OPT_LIST,
     ACT(isolate_allow),
     .expected = "CIDR or CIDR:PORT[,PORT...]",
     .help = "what an isolated container may still reach, e.g. 10.0.0.53/32:53 for the "
	     "node's resolver (IPv6: [ADDR]:PORT); everything else it sends or receives is "
	     "dropped"},
    {.key = "quarantine_max",
     .type = OPT_DURATION,
     ACT(quarantine_max_ns),
     .def = "1h",
     .help = "how long a quarantine holds at most: the kernel lifts it then by itself, agent "
	     "or not, so a false positive never locks the administrators out for good"},
    {.key = "quarantine_allow",
     .type = OPT_LIST,
     ACT(quarantine_allow),
     .expected = "CIDR or CIDR:PORT[,PORT...]",
     .help = "what a quarantined node may still reach and be reached from: the management "
	     "network, e.g. 10.0.0.0/24:22 (a port matches either end); loopback always"},
    {.key = "quarantine_cgroup",
     .flag = "quarantine-scope",
     .arg = "CGROUP",
     .type = OPT_STR,
     ACT(quarantine_cgroup),
     .help = "the cgroup v2 path (e.g. /system.slice) whose sockets a quarantine cuts off; "
	     "empty: every socket of the node. The interfaces are actions.interfaces"},
    {.key = "pin_dir",
     .type = OPT_STR,
     ACT(pin_dir),
     .def = "/sys/fs/bpf/vigil",
     .help = "a directory on bpffs where blocks and their programs are pinned, so that they "
	     "hold while vigil restarts or after it died (\"\": not pinned; they end with "
	     "vigil)"},
    {0},
};

/* ---- traffic ---- */

static const char *const traffic_responses[] = {"alert", "block", NULL};

static const struct opt traffic_keys[] = {
    {.key = "enabled",
     .type = OPT_BOOL,
     TRF(enabled),
     .def = "false",
     .help = "count packets and bytes per port and source in XDP (ingress) and at the root "
	     "cgroup's egress, and run the flood and scan detectors on the counts"},
    {.key = "interfaces",
     .type = OPT_LIST,
     TRF(interfaces),
     .expected = "interface names",
     .help = "interfaces counted besides actions.interfaces (or, when that is empty, every "
	     "interface that is up but loopback): one XDP program counts and blocks"},
    {.key = "interval",
     .type = OPT_DURATION,
     TRF(interval_ns),
     .def = "500ms",
     .help = "how often the counters are read and the detectors run (rates are over it; at "
	     "least 100ms)"},
    {.key = "syn_flood_pps",
     .type = OPT_DOUBLE,
     TRF(syn_pps),
     .def = "5000",
     .help = "SYN flood: opening SYNs a second to one TCP port (0: off)"},
    {.key = "udp_flood_pps",
     .type = OPT_DOUBLE,
     TRF(udp_pps),
     .def = "20000",
     .help = "UDP flood: packets a second to one UDP port (0: off)"},
    {.key = "source_pps",
     .type = OPT_DOUBLE,
     TRF(source_pps),
     .def = "20000",
     .help = "one source's packets a second to this node, all ports together (0: off)"},
    {.key = "scan_ports",
     .type = OPT_UINT,
     .size = sizeof(unsigned),
     .max = 65536,
     TRF(scan_ports),
     .def = "100",
     .help = "a port scan: one source reaching this many distinct ports within scan_window "
	     "(0: off)"},
    {.key = "scan_window",
     .type = OPT_DURATION,
     TRF(scan_window_ns),
     .def = "10s",
     .help = "the port scan's window"},
    {.key = "realert",
     .type = OPT_DURATION,
     TRF(realert_ns),
     .def = "1m",
     .help = "one alert per flood and port, or per detector and source, per this while it "
	     "lasts"},
    {.key = "metrics_ports",
     .type = OPT_UINT,
     .size = sizeof(unsigned),
     .max = 1000,
     TRF(metrics_ports),
     .def = "20",
     .help = "ports with series of their own in vigil_traffic_*_total (the first busiest "
	     "ones); the rest are summed as port=\"other\""},
    {.key = "response",
     .type = OPT_ENUM,
     TRF(response),
     .words = traffic_responses,
     .min = 1,
     .expected = "alert or block",
     .def = "alert",
     .help = "`block`: a detector blocks the source it names (XDP drop, actions.allow_cidr "
	     "and actions.mode apply: in monitor mode the alert says what would have been done)"},
    {.key = "block_for",
     .type = OPT_DURATION,
     TRF(block_for_ns),
     .def = "0s",
     .help = "how long a detector's block holds (0: actions.block_for)"},
    {0},
};

/* ---- outputs ---- */

static int parse_type(struct opt_ctx *x, const struct opt *o, const char *s, void *base)
{
	return 0; /* read first, by read_output */
}

/* The keys every output has; the sink's own follow (output/sink_*.c). */
static const struct opt output_keys[] = {
    {.key = "type",
     .type = OPT_CUSTOM,
     .parse = parse_type,
     .expected = "stdout, file, syslog, webhook, alertmanager or exec",
     .help = "which sink"},
    {.key = "name",
     .type = OPT_STR,
     OUT(name),
     .help = "unique; the metrics' `sink` label (default: the type, numbered when repeated)"},
    {.key = "priority",
     .type = OPT_PRIORITY,
     OUT(min_priority),
     .help = "less severe alerts skip this output"},
    {.key = "queue_size",
     .type = OPT_UINT,
     .size = sizeof(size_t),
     .min = 1,
     .max = 1 << 24,
     OUT(queue_size),
     .help = "alerts held while it is busy (default: the top-level one)"},
    {0},
};

/* "stdout, file, syslog, webhook, alertmanager or exec", from the sink table */
static void sink_names(char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; sink_table[i] && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%s",
				 !i		     ? ""
				 : sink_table[i + 1] ? ", "
						     : " or ",
				 sink_table[i]->name);
}

static void output_free(struct config_output *o)
{
	free(o->name);
	if (o->sink && o->settings)
		options__free(o->sink->keys, (void *const[]){o->settings, NULL}, -1);
	free(o->settings);
	memset(o, 0, sizeof(*o));
}

/* o as a sink of type d with every default; 0 or -ENOMEM. */
static int output_init(struct config_output *o, const struct sink_desc *d, size_t queue_size)
{
	memset(o, 0, sizeof(*o));
	o->sink = d;
	o->queue_size = queue_size;
	o->settings = calloc(1, d->settings_size ? d->settings_size : 1);
	if (!o->settings)
		return -ENOMEM;
	return options__defaults(d->keys, (void *const[]){o->settings, NULL}, -1);
}

static void read_output(struct opt_ctx *x, yaml_node_t *n, struct config_output *o,
			size_t queue_size)
{
	const struct sink_desc *d;
	yaml_node_t *t;
	const char *type;
	char names[128], where[64];

	sink_names(names, sizeof(names));
	x->at = n;
	if (n->type != YAML_MAPPING_NODE) {
		opt_error(x, "outputs: each entry is a mapping with a 'type' key, found %s",
			  n->type == YAML_SEQUENCE_NODE ? "a list" : "a scalar");
		return;
	}
	t = options__map_get(x, n, "type");
	if (!t) {
		opt_error(x, "output without 'type'; use %s", names);
		return;
	}
	x->at = t;
	type = t->type == YAML_SCALAR_NODE ? (const char *)t->data.scalar.value : NULL;
	if (!type) {
		opt_error(x, "type: expected %s, found %s", names,
			  t->type == YAML_MAPPING_NODE ? "a mapping" : "a list");
		return;
	}
	d = sink_desc__find(type);
	if (!d) {
		opt_error(x, "type: unknown value '%s'; use %s", type, names);
		return;
	}
	if (output_init(o, d, queue_size)) {
		opt_error(x, "out of memory");
		return;
	}
	o->line = n->start_mark.line + 1;
	o->col = n->start_mark.column + 1;
	snprintf(where, sizeof(where), "%s %s output", strchr("aeiou", d->name[0]) ? "an" : "a",
		 d->name);
	x->bases = (void *const[]){o, o->settings};
	options__read_map(x,
			  (const struct opt[]){{.type = OPT_INLINE, .sub = output_keys},
					       {.type = OPT_INLINE, .sub = d->keys, .base = 1},
					       {0}},
			  n, "output", where, NULL);
	if (d->validate)
		d->validate(x, o->settings);
}

static void read_outputs(struct opt_ctx *x, const struct opt *opt, void *node, void *base)
{
	struct vigil_config *c = base;
	yaml_node_t *n = node;
	struct config_output *outs;
	void *const *saved = x->bases;
	size_t n_items;

	if (n->type != YAML_SEQUENCE_NODE) {
		opt_error(x, "outputs: expected a list of outputs, found %s",
			  n->type == YAML_MAPPING_NODE ? "a mapping" : "a scalar");
		return;
	}
	n_items = n->data.sequence.items.top - n->data.sequence.items.start;
	outs = calloc(n_items ? n_items : 1, sizeof(*outs));
	if (!outs) {
		opt_error(x, "outputs: out of memory");
		return;
	}
	for (size_t i = 0; i < c->n_outputs; i++)
		output_free(&c->outputs[i]);
	free(c->outputs);
	c->outputs = outs;
	c->n_outputs = n_items;
	for (size_t i = 0; i < n_items; i++) {
		yaml_node_t *item = yaml_document_get_node(x->doc, n->data.sequence.items.start[i]);
		struct config_output *o = &outs[i];
		size_t same = 0;

		read_output(x, item, o, c->queue_size);
		x->bases = saved;
		if (!o->sink || o->name)
			continue;
		for (size_t j = 0; j <= i; j++)
			same += outs[j].sink == o->sink;
		if (same == 1)
			o->name = strdup(o->sink->name);
		else if (asprintf(&o->name, "%s-%zu", o->sink->name, same) < 0)
			o->name = NULL;
	}
	for (size_t i = 0; i < n_items; i++)
		for (size_t j = 0; j < i; j++)
			if (outs[i].name && outs[j].name && !strcmp(outs[i].name, outs[j].name)) {
				x->map =
				    yaml_document_get_node(x->doc, n->data.sequence.items.start[i]);
				opt_error_key(x, "name",
					      "output name '%s' is used twice; names label the "
					      "metrics and must be unique",
					      outs[i].name);
			}
}

/* ---- top level ---- */

const struct opt config_options[] = {
    {.key = "rules_files",
     .flag = "rules",
     .type = OPT_LIST,
     CFG(rules_files),
     .arg = "FILE",
     .expected = "file names",
     .help = "load this rule file (repeatable, in order; default: the built-in ruleset); "
	     "reloaded on SIGHUP and when it changes"},
    {.key = "rules_file",
     .type = OPT_LIST,
     CFG(rules_files),
     .flags = OPT_HIDDEN,
     .expected = "file names"},
    {.key = "priority",
     .flag = "min-priority",
     .type = OPT_PRIORITY,
     CFG(min_priority),
     .help = "skip rules less severe than P (e.g. warning)"},
    {.key = "hostname",
     .type = OPT_STR,
     CFG(hostname),
     .help = "host name in alerts (default: the system's)"},
    {.key = "queue_size",
     .type = OPT_UINT,
     .size = sizeof(size_t),
     .min = 1,
     .max = 1 << 24,
     CFG(queue_size),
     .def = "4096",
     .help = "alerts each output holds while it is busy"},
    {.key = "shutdown_timeout",
     .type = OPT_DURATION,
     CFG(drain_ns),
     .def = "5s",
     .help = "at exit, longest wait for the outputs to deliver what they hold"},
    {.key = "outputs",
     .type = OPT_CUSTOM,
     .node = read_outputs,
     .flags = OPT_LATE,
     .expected = "a list of outputs",
     .help = "where alerts go (default: stdout); see below"},
    {.key = "rate_limit",
     .type = OPT_TABLE,
     CFG(rate_limit),
     .sub = rate_limit_keys,
     .validate = rate_limit_validate},
    {.key = "metrics", .type = OPT_TABLE, CFG(metrics), .sub = metrics_keys},
    {.key = "process_table", .type = OPT_TABLE, CFG(process_table), .sub = process_table_keys},
    {.key = "actions", .type = OPT_TABLE, CFG(actions), .sub = actions_keys},
    {.key = "containers", .type = OPT_TABLE, CFG(containers), .sub = containers_keys},
    {.key = "dns", .type = OPT_TABLE, CFG(dns), .sub = dns_keys},
    {.key = "detect", .type = OPT_TABLE, CFG(detect), .sub = detect_keys},
    {.key = "traffic", .type = OPT_TABLE, CFG(traffic), .sub = traffic_keys},
    {.key = "rules", .type = OPT_TABLE, CFG(rules), .sub = rules_keys},
    {.key = "control_socket",
     .flag = "control-socket",
     .type = OPT_STR,
     CFG(control_socket),
     .def = CONTROL_DEFAULT_PATH,
     .arg = "PATH",
     .help = "the unix socket `vigil status`, `vigil reload` and `vigil actions` talk to: "
	     "root only, mode 0600, its directory made 0700 when missing; empty: none"},
    {0},
};

int config__load_buf(struct vigil_config *c, const char *name, const char *buf, size_t len,
		     char *err, size_t errlen)
{
	struct opt_ctx x = {
	    .name = name, .err = err, .errlen = errlen, .bases = (void *[]){c, NULL}};
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	int ret = 0;

	if (err && errlen)
		err[0] = '\0';
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		yaml_node_t at = {.start_mark = parser.problem_mark};

		x.at = &at;
		opt_error(&x, "YAML syntax error: %s%s%s; fix the syntax", parser.problem,
			  parser.context ? " " : "", parser.context ? parser.context : "");
		ret = -EINVAL;
		goto out_parser;
	}
	x.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (!root || is_null(root))
		goto out_doc; /* empty file: defaults */
	if (root->type != YAML_MAPPING_NODE) {
		x.at = root;
		opt_error(&x, "the configuration must be a mapping of keys to values");
		goto out_doc;
	}
	options__read_map(&x, config_options, root, "configuration", "the configuration", NULL);
out_doc:
	yaml_document_delete(&doc);
	if (x.errors)
		ret = -EINVAL;
out_parser:
	yaml_parser_delete(&parser);
	return ret;
}

int config__load_file(struct vigil_config *c, const char *path, char *err, size_t errlen)
{
	char *buf = NULL, *p;
	size_t len = 0, cap = 0, n;
	FILE *f;
	int ret;

	f = fopen(path, "r");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot open the configuration: %s", path,
			 strerror(-ret));
		return ret;
	}
	do {
		if (len + 4096 > cap) {
			cap = cap ? cap * 2 : 8192;
			p = realloc(buf, cap);
			if (!p) {
				ret = -ENOMEM;
				snprintf(err, errlen, "%s: out of memory", path);
				goto out;
			}
			buf = p;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n);
	if (ferror(f)) {
		ret = -EIO;
		snprintf(err, errlen, "%s: cannot read the configuration", path);
		goto out;
	}
	free(c->path);
	c->path = strdup(path);
	ret = config__load_buf(c, path, buf, len, err, errlen);
out:
	free(buf);
	fclose(f);
	return ret;
}

struct vigil_config *config__new(void)
{
	struct vigil_config *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (options__defaults(config_options, (void *const[]){c, NULL}, -1))
		goto err_free;
	c->outputs = calloc(1, sizeof(*c->outputs));
	if (!c->outputs)
		goto err_free;
	c->n_outputs = 1;
	if (output_init(&c->outputs[0], sink_desc__find("stdout"), c->queue_size))
		goto err_free;
	c->outputs[0].name = strdup("stdout");
	if (!c->outputs[0].name)
		goto err_free;
	return c;

err_free:
	config__free(c);
	errno = ENOMEM;
	return NULL;
}

void config__free(struct vigil_config *c)
{
	if (!c)
		return;
	options__free(config_options, (void *const[]){c, NULL}, -1);
	free(c->path);
	for (size_t i = 0; i < c->n_outputs; i++)
		output_free(&c->outputs[i]);
	free(c->outputs);
	for (size_t i = 0; i < c->rate_limit.n_rules; i++)
		free(c->rate_limit.rules[i].rule);
	free(c->rate_limit.rules);
	free(c);
}

void config__print_markdown(FILE *out)
{
	fputs("| key | value | default | meaning |\n| --- | --- | --- | --- |\n", out);
	options__print_markdown(config_options, "", out);
	fputs("\nEvery entry of `outputs`:\n\n| key | value | default | meaning |\n"
	      "| --- | --- | --- | --- |\n",
	      out);
	options__print_markdown(output_keys, "", out);
	for (size_t i = 0; sink_table[i]; i++) {
		fprintf(out, "\n`type: %s`: %s\n\n", sink_table[i]->name, sink_table[i]->help);
		if (!sink_table[i]->keys[0].type)
			continue;
		fputs("| key | value | default | meaning |\n| --- | --- | --- | --- |\n", out);
		options__print_markdown(sink_table[i]->keys, "", out);
	}
}
