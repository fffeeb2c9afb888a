/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * agent.h - the daemon's event loop: one thread owns the ring buffer, the process
 * table and (later) the rule engine; epoll wakes it for records, signals and a
 * short timer that collects batched records.
 */
#ifndef VIGIL_AGENT_H
#define VIGIL_AGENT_H

#include <stddef.h>
#include <stdint.h>

enum agent_format {
	AGENT_FMT_NONE = 0, /* print no events */
	AGENT_FMT_JSON,	    /* one JSON object per line */
	AGENT_FMT_TEXT,	    /* one human-readable line per event */
};

#include "rules/engine.h"

struct vigil_config;
struct filter_spec;

struct agent_opts {
	const struct vigil_config *cfg;	 /* outputs, metrics, host name (required) */
	struct filter_spec *filter;	 /* --filter arguments, parsed; applied last (NULL: none) */
	bool no_prefilter;		 /* send every event of every type to user space */
	bool no_rules;			 /* evaluate no rules */
	const char *const *rule_files;	 /* rule files; none: the built-in ruleset */
	size_t n_rule_files;		 /* entries in rule_files */
	enum rule_priority min_priority; /* skip less severe rules */
	bool skip_unknown_fields;	 /* disable rules with unknown fields, warn only */
	const char *record;		 /* write the raw event stream here; NULL: don't */
	const char *btf_path;		 /* --btf: kernel BTF file; NULL: the running kernel's */
	enum agent_format events;	 /* how to print every event on stdout */
	size_t ringbuf_bytes;		 /* ring buffer size */
	uint32_t wake_bytes;		 /* pending bytes that wake the reader for bulk events */
	int tick_ms;			 /* longest a batched record waits to be read */
	size_t proc_max;		 /* process table bound (cfg's process_table) */
	uint64_t proc_linger_ns;	 /* how long exited processes stay known */
	size_t ancestry_max;		 /* ancestors named in each event */
};

/*
 * Zeroes o and sets what no flag sets; ringbuf_bytes, tick_ms and ancestry_max
 * then come from the option table's defaults (options__defaults in main.c).
 */
void agent_opts_default(struct agent_opts *o);

/* Runs until SIGINT or SIGTERM. Returns 0 or -errno (the cause printed to stderr). */
int agent_run(const struct agent_opts *opts);

#endif /* VIGIL_AGENT_H */
