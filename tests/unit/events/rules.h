/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * rules.h - shared by the event unit tests that run rules over hand-built records:
 * a detector from rule files or from one YAML text, a record decoded and evaluated
 * as if in a container or on the host, and the alerts it raised.
 * Header-only (static functions) because all unit tests link into one binary.
 */
#ifndef VIGIL_TEST_EVENTS_RULES_H
#define VIGIL_TEST_EVENTS_RULES_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect/detect.h"
#include "events/event.h"
#include "state/container.h"
#include "state/proctable.h"

/* The same 64-hex container id every such test puts its pod in. */
#define RULES_POD_ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char fired[16][64];	 /* rule names of the last evaluation's alerts */
static char fired_out[16][1024]; /* and their outputs */
static int nfired;

static void on_alert(void *arg, const struct detect_alert *a)
{
	if (nfired < 16) {
		snprintf(fired[nfired], sizeof(fired[0]), "%s", a->rule->name);
		snprintf(fired_out[nfired++], sizeof(fired_out[0]), "%s", a->output);
	}
}

/* The output of the last evaluation's alert of that rule, or NULL when it did not fire. */
static inline const char *fired_rule(const char *name)
{
	for (int i = 0; i < nfired; i++)
		if (!strcmp(fired[i], name))
			return fired_out[i];
	return NULL;
}

static inline struct detect *detect_files(const char *const *files, size_t n)
{
	struct detect_opts o = {.on_alert = on_alert, .unknown_field_warn = true};
	struct detect *d;

	o.files = files;
	o.n_files = n;
	d = detect__new(&o);
	cr_assert_not_null(d);
	return d;
}

/* A detector of the rules in yaml (written to a temporary file), or of none when NULL. */
static inline struct detect *detect_of(const char *yaml)
{
	static const char *files[1];
	static char path[64];
	int fd;

	if (!yaml)
		return detect_files(NULL, 0);
	snprintf(path, sizeof(path), "/tmp/vigil-rules-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
	close(fd);
	files[0] = path;
	return detect_files(files, 1);
}

/* Decodes the record in buf and runs the rules on it, in container `in` (NULL: the host). */
static inline void eval_record(struct detect *d, struct proctable *procs, const void *buf,
			       size_t len, const struct container_ident *in)
{
	struct event ev;

	nfired = 0;
	cr_assert_eq(event_decode(&ev, buf, len), 0);
	ev.container = in;
	detect__eval(d, &ev, procs, "host");
}

/* The podman container RULES_POD_ID, as its cgroup names it. */
static inline void pod_of(struct container_ident *pod)
{
	const char *cg = "/libpod_parent/libpod-" RULES_POD_ID;

	cr_assert(container_parse_cgroup(cg, strlen(cg), pod));
}

#endif /* VIGIL_TEST_EVENTS_RULES_H */
