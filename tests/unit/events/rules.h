/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * rules.h - shared by the event unit tests that run rules over hand-built records:
 * a detector from rule files or from one YAML text, a record decoded and evaluated
 * as if in a container or on the host, the alerts it raised, and a field of it by name.
 * Header-only (static functions) because all unit tests link into one binary.
 */
#ifndef VIGIL_TEST_EVENTS_RULES_H
#define VIGIL_TEST_EVENTS_RULES_H

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect/detect.h"
#include "detect/fields.h"
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

static struct field_ctx *fctx; /* the fields of the record fields_of_record decoded */

static inline void fields_of_record(const void *buf, size_t len, struct event *ev)
{
	cr_assert_eq(event_decode(ev, buf, len), 0);
	if (!fctx)
		fctx = calloc(1, sizeof(*fctx));
	field_ctx_reset(fctx, ev);
}

/*
 * The value of a field of that record by name (evt.arg.KEY included) as text, or NULL
 * when it has none; fails unless the field's type is want (-1: any).
 */
static inline const char *field_text(const char *name, char *out, size_t len, int want)
{
	struct rule_engine_opts o = {0};
	struct rule_field_ref ref = {0};
	struct rule_value v[2];
	const struct rule_field_def *def = NULL;
	const char *key = NULL;
	char err[128];
	size_t i, n;

	fields_bind(&o);
	if (!strncmp(name, "evt.arg.", 8))
		key = name + 8;
	for (i = 0; i < o.n_fields; i++)
		if (!strcmp(o.fields[i].name, key ? "evt.arg" : name))
			def = &o.fields[i];
	cr_assert_not_null(def, "%s", name);
	ref.def = def;
	ref.id = def->id;
	ref.key = key;
	cr_assert_eq(o.bind(o.host, &ref, err, sizeof(err)), 0, "%s: %s", name, err);
	n = o.get(fctx, &ref, v, 2);
	if (!n)
		return NULL;
	if (want >= 0)
		cr_assert_eq((int)def->type, want, "%s", name);
	switch (def->type) {
	case RULE_FT_STRING:
		snprintf(out, len, "%.*s", (int)v[0].str.len, v[0].str.ptr);
		break;
	case RULE_FT_INT64:
		snprintf(out, len, "%lld", (long long)v[0].i64);
		break;
	case RULE_FT_UINT64:
		snprintf(out, len, "%llu", (unsigned long long)v[0].u64);
		break;
	case RULE_FT_IPADDR:
		inet_ntop(v[0].ip.family == 4 ? AF_INET : AF_INET6, v[0].ip.addr, out, len);
		break;
	default:
		cr_assert_fail("%s: type %d", name, def->type);
	}
	return out;
}

#endif /* VIGIL_TEST_EVENTS_RULES_H */
