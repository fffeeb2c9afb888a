/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * output.h - where alerts go once a rule has matched: stdout, a rotated JSON lines
 * file, syslog (RFC 5424 over UDP, TCP or the local socket), an HTTP webhook,
 * Alertmanager and a program run per alert, several at once as the configuration
 * lists them.
 *
 * outputs__emit() is called on the event loop and never blocks on a sink: it copies
 * the alert once (rendering what the caller left out) and queues a reference to
 * that one copy for each sink. Each sink has a bounded queue
 * and a worker thread; a slow or unreachable sink fills its own queue, its oldest
 * alerts are dropped and counted, and the other sinks go on. An optional per-rule
 * token bucket keeps one noisy rule from flooding the sinks; what it suppresses is
 * counted and summarised (a log line and a "vigil rate limit" alert per interval).
 */
#ifndef VIGIL_OUTPUT_H
#define VIGIL_OUTPUT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rules/engine.h"

struct vigil_config;
struct metrics;
struct json_buf;

/* What was done about an alert, one per action of its rule (`"actions"` in its JSON). */
struct alert_action {
	const char *kind;    /* "kill", "deny", "block" */
	bool taken;	     /* it happened */
	const char *where;   /* "kernel" or "user" */
	const char *reason;  /* !taken: why not ("monitor mode", "pid 1", ...); else NULL */
	uint64_t latency_us; /* event capture to the action, when has_latency */
	bool has_latency;    /* latency_us is known */
	const char *target;  /* block: the address or prefix; NULL: none */
	uint64_t for_s;	     /* block: how long it holds, seconds; 0: until removed */
};

/*
 * One alert, as its parts. A caller fills one with borrowed pointers and hands it
 * to outputs__emit, which makes the one owned copy every sink shares (refs counts
 * its holders). The JSON object is rendered once, at that copy, from the parts
 * (alert__json), and so is the text line when the caller did not give it.
 */
struct alert {
	atomic_uint refs;		     /* holders of an owned copy; unused by callers */
	const char *rule;		     /* rule name */
	int priority;			     /* enum rule_priority: 1 emergency .. 8 debug */
	const char *source;		     /* "syscall" when NULL; "internal" for vigil's own */
	const char *message;		     /* the rendered template alone; NULL: output */
	const char *const *tags;	     /* rule tags */
	size_t n_tags;			     /* entries in tags */
	const char *hostname;		     /* NULL: the configured or system host name */
	uint64_t time_ns;		     /* event wall time, ns since the epoch */
	const char *container_id;	     /* "host", 12 hex characters, or NULL */
	const struct rule_out_field *fields; /* output_fields, in the order written */
	size_t n_fields;		     /* entries in fields */
	const char *output;		     /* Falco's text line "<time>: <Priority> <message>";
						NULL: rendered from time, priority, message;
						owned copy: control bytes escaped */
	const char *json;		     /* owned copy only: the Falco-shaped alert object,
						one line, no newline; callers leave it NULL */
	size_t json_len;		     /* bytes in json */
	bool ancestry_unknown;		     /* the process's parents are not all known */
	const struct alert_action *actions;  /* what was done; rendered into json, not copied */
	size_t n_actions;		     /* entries in actions */
};

/*
 * Appends a's Falco-shaped JSON object to j, from its parts; a->output must be
 * set, and a->hostname (NULL writes ""). The one renderer of an alert's JSON:
 * outputs__emit uses it for its copy, vigil replay for what it prints. Returns 0
 * or j->err.
 */
int alert__json(const struct alert *a, struct json_buf *j);

struct detect_alert;

/* Fills *out from what detection gave (the live agent and vigil replay alike). */
void alert_from_detect(struct alert *out, const struct detect_alert *a);

struct outputs;

/*
 * Starts one worker per configured output. c must outlive the outputs; m may be
 * NULL (no metrics). Returns NULL with errno set and the reason, naming the output
 * and what to do, in err.
 */
struct outputs *outputs__new(const struct vigil_config *c, struct metrics *m, char *err,
			     size_t errlen);

/*
 * Hands an alert to every sink whose priority threshold it meets. Never blocks on a
 * sink. Returns 0 (also when rate limiting suppressed it), -ENOMEM, or
 * -ESHUTDOWN after outputs__close.
 */
int outputs__emit(struct outputs *o, const struct alert *a);

/*
 * Stops accepting alerts (emit then returns -ESHUTDOWN), lets each sink deliver
 * what it holds for up to the configured shutdown_timeout (one deadline shared by
 * all sinks) and abandons the rest, counted as dropped. Stats stay readable.
 * Call it from the thread that emits.
 */
void outputs__close(struct outputs *o);
/* Closes (if not done yet) and frees everything. */
void outputs__free(struct outputs *o);

struct output_sink_stats {
	const char *name;   /* configured name */
	const char *type;   /* "stdout", "file", ... */
	uint64_t queued;    /* alerts waiting now */
	uint64_t delivered; /* alerts the sink accepted */
	uint64_t failed;    /* alerts that could not be delivered */
	uint64_t dropped;   /* alerts dropped from a full queue or at shutdown */
	bool up;	    /* the last delivery attempt succeeded */
};

struct outputs_stats {
	uint64_t emitted;    /* alerts passed to outputs__emit */
	uint64_t suppressed; /* of those, held back by the rate limit */
	size_t n_sinks;	     /* configured sinks */
};

/* Totals into st, and the first max sinks into sinks (may be NULL). */
void outputs__stats(struct outputs *o, struct outputs_stats *st, struct output_sink_stats *sinks,
		    size_t max);
/* One line per sink, for the agent's exit summary. */
void outputs__print_stats(struct outputs *o, FILE *out);

#endif /* VIGIL_OUTPUT_H */
