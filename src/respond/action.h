/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * action.h - the responses a rule may ask for (vigil's `actions:` extension to
 * Falco's rule format) as typed values, and the one table of action kinds: name,
 * parameters, how they parse, and whether this version carries them out.
 *
 * Syntax (a sequence; each item one action, bare or with a mapping of parameters):
 *
 *     actions: [kill]
 *     actions:
 *       - block: {for: 10m, address: fd.rip}
 *       - isolate: {scope: container}
 *     block_for: 10m            # rule key (issue 15's spelling): the block's duration
 *
 * The rule compiler hands the raw YAML value (struct rule_node) to action_list__parse
 * and reports a failure at the place action_error names, as file:line:col. Typed
 * actions point into the rule_node tree they came from (strings are not copied), so
 * they live as long as the engine that loaded them.
 */
#ifndef VIGIL_RESPOND_ACTION_H
#define VIGIL_RESPOND_ACTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules/engine.h"

/* Explicit values: they will name actions in metrics and maps; never renumber. */
enum action_kind {
	ACTION_KILL = 1,       /* SIGKILL the process that caused the event */
	ACTION_DENY = 2,       /* the operation fails with EPERM */
	ACTION_BLOCK = 3,      /* drop traffic from and to an address, for a while */
	ACTION_ISOLATE = 4,    /* cut the offending container's network */
	ACTION_QUARANTINE = 5, /* cut the node's network except an allowlist */
};

#define ACTION_KIND_MAX 5 /* highest enum action_kind */

enum action_scope {
	ACTION_SCOPE_CONTAINER = 1, /* the container of the process (the only scope today) */
};

struct action_block {
	uint64_t for_ns;     /* how long the block holds; 0: the configured default */
	const char *address; /* IP field whose value is blocked; NULL: the event's remote address */
};

struct action_isolate {
	enum action_scope scope; /* what is cut off */
};

struct action {
	enum action_kind kind; /* which action */
	const char *file;      /* where it was written */
	int line, col;	       /* 1-based */
	union {
		struct action_block block;     /* ACTION_BLOCK */
		struct action_isolate isolate; /* ACTION_ISOLATE */
	};
};

struct action_error {
	const struct rule_node *at; /* the YAML value at fault: file, line, col */
	char msg[256];		    /* what is wrong and what to write instead */
};

struct action_kind_def {
	enum action_kind kind;	   /* its value */
	const char *name;	   /* as written in rules */
	const char *const *params; /* accepted parameter names, NULL-terminated */
	bool implemented;	   /* this version carries it out; else a load error */
	const char *what;	   /* one line: what it does */
	/* Parses one parameter into a; 0, or -EINVAL with err filled. NULL: no params. */
	int (*param)(struct action *a, const char *key, const struct rule_node *val,
		     struct action_error *err);
};

/* The table entry for a name ("kill") or a kind; NULL when there is none. */
const struct action_kind_def *action_kind__find(const char *name);
const struct action_kind_def *action_kind__def(enum action_kind kind);
/* "kill", ..., or "?" for a value outside the table. */
const char *action_kind__name(enum action_kind kind);

/*
 * Parses one item of an `actions:` sequence ("kill", {block: {for: 10m}}) into *out.
 * Returns 0, or -EINVAL with err naming the value at fault. Does not look at the
 * implemented flag: the caller decides what an unimplemented action means.
 */
int action__parse(const struct rule_node *item, struct action *out, struct action_error *err);

/*
 * Parses an `actions:` value (a sequence) into out[0..cap); *n gets the count.
 * An action given twice is an error. cap must be at least list->n_items.
 */
int action_list__parse(const struct rule_node *list, struct action *out, size_t cap, size_t *n,
		       struct action_error *err);

/*
 * Applies the rule key `block_for:` to the list: the duration of its block action.
 * An error when the list has no block action or the block gives `for` as well.
 */
int action_list__block_for(struct action *v, size_t n, const struct rule_node *block_for,
			   struct action_error *err);

/* "10m", "1h30m", "90s", "500ms", "2d": a positive duration in ns. 0 or -EINVAL. */
int action_duration__parse(const char *s, uint64_t *ns);

#endif /* VIGIL_RESPOND_ACTION_H */
