/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * replay.h - `vigil replay`: a recording through the rules, offline.
 */
#ifndef VIGIL_REPLAY_H
#define VIGIL_REPLAY_H

#include <stdbool.h>
#include <stddef.h>

#include "rules/engine.h"

struct replay_opts {
	const char *file;		 /* the recording */
	const char *const *rule_files;	 /* rule files; none: the built-in ruleset */
	size_t n_rule_files;		 /* entries in rule_files */
	enum rule_priority min_priority; /* skip less severe rules */
	bool prefilter;			 /* pass events through the derived prefilter first */
	bool events;			 /* print the events too */
	bool stats;			 /* print throughput to stderr */
};

/* Returns the process exit code: 0, or 1 with the cause on stderr. */
int replay_run(const struct replay_opts *o);

#endif /* VIGIL_REPLAY_H */
