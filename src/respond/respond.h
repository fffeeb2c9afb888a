/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * respond.h - carrying out a rule's actions when it fires, and saying what was
 * done. A rule the kernel decides (policy.h) has already been acted on by the
 * time its alert is built: the kernel's VG_EV_ACTION record, read just before the
 * event's own, says whether and how fast; respond only reads it. A rule the
 * kernel cannot decide, or an event the kernel's tables did not catch (a path
 * spelled in a form only user space folds), is killed from here, after the same
 * safety checks: never pid 1, a kernel thread, vigil or its parents, an
 * allowlisted exe or cgroup; at most the rule's rate a second.
 */
#ifndef VIGIL_RESPOND_H
#define VIGIL_RESPOND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "output/output.h"
#include "respond/policy.h"

struct event;
struct netblock;
struct vg_action;
struct json_buf;

struct respond_opts {
	const char *const *allow_exe;	  /* exe paths (trailing '/': under it) never acted on */
	size_t n_allow_exe;		  /* entries */
	const uint64_t *allow_cgroups;	  /* cgroup ids never acted on */
	size_t n_allow_cgroups;		  /* entries */
	const struct policy_opts *policy; /* its container allowlist; NULL: none */
	unsigned per_sec;		  /* per-rule rate limit in user space, 0: none */
	struct netblock *blocks;	  /* where block puts addresses; NULL: block not taken */
	uint64_t block_for_ns;		  /* a block's duration when the rule gives none */
	uint64_t quarantine_ns;		  /* a quarantine's duration (the dead-man timer) */
};

/* What respond__act did, kept for `vigil actions` and status. */
struct respond_record {
	uint64_t time_ns;    /* wall clock of the event */
	char rule[128];	     /* rule name (cut) */
	char kind[12];	     /* "kill", "deny", "block", "isolate", "quarantine" */
	bool taken;	     /* it happened */
	char where[8];	     /* "kernel", "user" */
	char reason[64];     /* why not */
	uint64_t latency_us; /* event to action */
	uint32_t pid;	     /* the process */
	char comm[16];	     /* its comm */
	char output[256];    /* the alert's text line (cut) */
};

/* Totals by kind, where and result, for metrics. */
struct respond_stats {
	uint64_t taken[5][2];	   /* [kill, deny, block, isolate, quarantine][kernel, user] */
	uint64_t not_taken[5][2];  /* likewise */
	uint64_t kernel_reports;   /* VG_EV_ACTION records read */
	uint64_t kernel_unmatched; /* of those, never matched to an alert */
};

#define RESPOND_MAX_ACTIONS 5	/* kill, deny, block, isolate and quarantine */
#define RESPOND_RECENT	    256 /* records kept */

struct respond;

struct respond *respond__new(const struct respond_opts *o);
void respond__free(struct respond *r);

/* Where block actions put addresses, once the sensors are up (NULL: none). */
void respond__set_blocks(struct respond *r, struct netblock *nb);

/* Keeps the kernel's report on an event until that event's alerts are built. */
void respond__on_kernel(struct respond *r, const struct vg_action *a);

/*
 * Carries out (or reads what the kernel did about) the actions of plan pr for an
 * alert on ev, filling out[0..RESPOND_MAX_ACTIONS). Returns how many. output is the
 * alert's text line, for the log of recent actions.
 */
size_t respond__act(struct respond *r, const struct policy_rule *pr, const struct event *ev,
		    const char *output, struct alert_action *out);

/* The metrics label of an action's result: "taken", "monitor", "pid1", "kernel_thread",
 * "self", "allowlisted", "rate_limit", "exited", "missed" or "error". */
const char *respond_result_label(const struct alert_action *a);

/* The last n records, newest first, as a JSON array. */
void respond__recent_json(const struct respond *r, size_t n, struct json_buf *j);
void respond__stats(const struct respond *r, struct respond_stats *out);

#endif /* VIGIL_RESPOND_H */
