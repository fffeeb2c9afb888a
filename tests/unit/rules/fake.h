/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fake.h - a small fake host for the rule engine's unit tests: a field registry, a
 * few event types, an event struct with those fields and its getter, plus helpers
 * to build an engine from inline YAML and list which rules an event matches.
 * Included by each tests/unit/test_rules_*.c (static functions only).
 */
#ifndef VIGIL_TEST_RULES_FAKE_H
#define VIGIL_TEST_RULES_FAKE_H

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/engine.h"

/* Each test uses a different subset of these helpers. */
#define FAKE_FN static __attribute__((unused))

enum fake_field {
	FF_PROC_NAME = 1,
	FF_PROC_PNAME,
	FF_PROC_CMDLINE,
	FF_PROC_PID,
	FF_PROC_ANAME,
	FF_FD_NAME,
	FF_FD_DIRECTORY,
	FF_FD_SPORT,
	FF_FD_SIP,
	FF_FD_NET,
	FF_EVT_ARG,
	FF_EVT_IS_OPEN_WRITE,
	FF_USER_NAME,
	FF_EVT_RES,
	FF_EVT_RAWRES,
	FF_USER_UID,
};

enum fake_evtype {
	FE_OPEN = 0,
	FE_OPENAT = 1,
	FE_EXECVE = 2,
	FE_CONNECT = 3,
	FE_EXECVEAT = 4,
	FE_OPENAT2 = 5,
	FE_PTRACE = 6,
	FE__COUNT = 7,
};

static const struct rule_field_def fake_fields[] = {
    {"proc.name", RULE_FT_STRING, RULE_FARG_NONE, RULE_FF_COMM, FF_PROC_NAME},
    {"proc.pname", RULE_FT_STRING, RULE_FARG_NONE, RULE_FF_COMM, FF_PROC_PNAME},
    {"proc.cmdline", RULE_FT_STRING, RULE_FARG_NONE, 0, FF_PROC_CMDLINE},
    {"proc.pid", RULE_FT_INT64, RULE_FARG_NONE, 0, FF_PROC_PID},
    {"proc.aname", RULE_FT_STRING, RULE_FARG_INDEX, RULE_FF_MULTI | RULE_FF_COMM, FF_PROC_ANAME},
    {"fd.name", RULE_FT_STRING, RULE_FARG_NONE, 0, FF_FD_NAME},
    {"fd.directory", RULE_FT_STRING, RULE_FARG_NONE, 0, FF_FD_DIRECTORY},
    {"fd.sport", RULE_FT_UINT64, RULE_FARG_NONE, 0, FF_FD_SPORT},
    {"fd.sip", RULE_FT_IPADDR, RULE_FARG_NONE, 0, FF_FD_SIP},
    {"fd.net", RULE_FT_IPNET, RULE_FARG_NONE, 0, FF_FD_NET},
    {"evt.arg", RULE_FT_STRING, RULE_FARG_KEY, RULE_FF_ARG_REQUIRED, FF_EVT_ARG},
    {"evt.is_open_write", RULE_FT_BOOL, RULE_FARG_NONE, 0, FF_EVT_IS_OPEN_WRITE},
    {"user.name", RULE_FT_STRING, RULE_FARG_NONE, 0, FF_USER_NAME},
    {"evt.res", RULE_FT_STRING, RULE_FARG_NONE, 0, FF_EVT_RES},
    {"evt.rawres", RULE_FT_INT64, RULE_FARG_NONE, 0, FF_EVT_RAWRES},
    {"user.uid", RULE_FT_UINT64, RULE_FARG_NONE, 0, FF_USER_UID},
};

static const struct rule_evtype_def fake_evtypes[] = {
    {"open", FE_OPEN},	     {"openat", FE_OPENAT},	{"execve", FE_EXECVE},
    {"connect", FE_CONNECT}, {"execveat", FE_EXECVEAT}, {"openat2", FE_OPENAT2},
    {"ptrace", FE_PTRACE},
};

/* NULL strings and has_* false mean "no value". */
struct fake_event {
	uint32_t type;		/* enum fake_evtype */
	const char *proc_name;	/* proc.name */
	const char *proc_pname; /* proc.pname */
	const char *cmdline;	/* proc.cmdline */
	int64_t pid;		/* proc.pid */
	bool has_pid;		/* pid set */
	const char *anames[8];	/* proc.aname[1..] = parent, grandparent, ... */
	int n_anames;		/* entries in anames */
	const char *fd_name;	/* fd.name */
	const char *fd_dir;	/* fd.directory */
	uint64_t sport;		/* fd.sport */
	bool has_sport;		/* sport set */
	const char *sip;	/* fd.sip and fd.net, as text */
	const char *arg_flags;	/* evt.arg.flags */
	const char *arg_target; /* evt.arg.target */
	int is_write;		/* -1 none, 0 false, 1 true */
	const char *user;	/* user.name */
	const char *res;	/* evt.res */
	int64_t rawres;		/* evt.rawres */
	bool has_rawres;	/* rawres set */
	uint64_t uid;		/* user.uid */
	bool has_uid;		/* uid set */
	int gets;		/* getter calls, for cache tests */
};

FAKE_FN int fake_str(const char *s, struct rule_value *out)
{
	if (!s)
		return 0;
	out->str.ptr = s;
	out->str.len = strlen(s);
	return 1;
}

FAKE_FN int fake_ip(const char *s, struct rule_value *out)
{
	if (!s)
		return 0;
	memset(&out->ip, 0, sizeof(out->ip));
	if (inet_pton(AF_INET, s, out->ip.addr) == 1) {
		out->ip.family = 4;
		return 1;
	}
	if (inet_pton(AF_INET6, s, out->ip.addr) == 1) {
		out->ip.family = 6;
		return 1;
	}
	return 0;
}

FAKE_FN int fake_get(void *event, const struct rule_field_ref *ref, struct rule_value *out, int max)
{
	struct fake_event *ev = event;

	ev->gets++;
	switch (ref->id) {
	case FF_PROC_NAME:
		return fake_str(ev->proc_name, out);
	case FF_PROC_PNAME:
		return fake_str(ev->proc_pname, out);
	case FF_PROC_CMDLINE:
		return fake_str(ev->cmdline, out);
	case FF_PROC_PID:
		out->i64 = ev->pid;
		return ev->has_pid;
	case FF_PROC_ANAME:
		if (ref->index >= 0) {
			if (ref->index == 0)
				return fake_str(ev->proc_name, out);
			return ref->index <= ev->n_anames
				   ? fake_str(ev->anames[ref->index - 1], out)
				   : 0;
		}
		for (int i = 0; i < ev->n_anames && i < max; i++)
			fake_str(ev->anames[i], &out[i]);
		return ev->n_anames < max ? ev->n_anames : max;
	case FF_FD_NAME:
		return fake_str(ev->fd_name, out);
	case FF_FD_DIRECTORY:
		return fake_str(ev->fd_dir, out);
	case FF_FD_SPORT:
		out->u64 = ev->sport;
		return ev->has_sport;
	case FF_FD_SIP:
	case FF_FD_NET:
		return fake_ip(ev->sip, out);
	case FF_EVT_ARG:
		if (ref->key && !strcmp(ref->key, "flags"))
			return fake_str(ev->arg_flags, out);
		if (ref->key && !strcmp(ref->key, "target"))
			return fake_str(ev->arg_target, out);
		return 0;
	case FF_EVT_IS_OPEN_WRITE:
		out->b = ev->is_write == 1;
		return ev->is_write >= 0;
	case FF_USER_NAME:
		return fake_str(ev->user, out);
	case FF_EVT_RES:
		return fake_str(ev->res, out);
	case FF_EVT_RAWRES:
		out->i64 = ev->rawres;
		return ev->has_rawres;
	case FF_USER_UID:
		out->u64 = ev->uid;
		return ev->has_uid;
	}
	return 0;
}

FAKE_FN struct rule_engine_opts fake_opts(void)
{
	struct rule_engine_opts o = {
	    .fields = fake_fields,
	    .n_fields = sizeof(fake_fields) / sizeof(fake_fields[0]),
	    .evtypes = fake_evtypes,
	    .n_evtypes = sizeof(fake_evtypes) / sizeof(fake_evtypes[0]),
	    .get = fake_get,
	};
	return o;
}

/* Loads YAML text as "test.yaml" and compiles; returns the engine even on errors. */
FAKE_FN struct rule_engine *fake_engine_opts(const char *yaml, const struct rule_engine_opts *o)
{
	struct rule_engine *e = rule_engine__new(o);

	if (!e)
		return NULL;
	rule_engine__load_buf(e, "test.yaml", yaml, strlen(yaml));
	rule_engine__compile(e);
	return e;
}

FAKE_FN struct rule_engine *fake_engine(const char *yaml)
{
	struct rule_engine_opts o = fake_opts();

	return fake_engine_opts(yaml, &o);
}

/* All diagnostics, one per line, for assertions and failure messages. */
FAKE_FN const char *fake_diags(const struct rule_engine *e)
{
	static char buf[16384];
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < rule_engine__diag_count(e) && off < sizeof(buf) - 1; i++) {
		int n =
		    rule_diag__format(rule_engine__diag(e, i), buf + off, sizeof(buf) - off - 1);

		if (n < 0)
			break;
		off += (size_t)n < sizeof(buf) - off - 1 ? (size_t)n : sizeof(buf) - off - 2;
		buf[off++] = '\n';
		buf[off] = '\0';
	}
	return buf;
}

struct fake_matches {
	char names[4096]; /* "a,b," */
	int n;		  /* matches */
};

FAKE_FN void fake_on_match(void *arg, size_t idx, const struct rule_info *r)
{
	struct fake_matches *m = arg;
	size_t l = strlen(m->names);

	snprintf(m->names + l, sizeof(m->names) - l, "%s,", r->name);
	m->n++;
}

/* Names of matching rules joined by ',' (static buffer). */
FAKE_FN const char *fake_eval(struct rule_engine *e, struct fake_event *ev)
{
	static struct fake_matches m;

	memset(&m, 0, sizeof(m));
	rule_engine__eval(e, ev->type, ev, fake_on_match, &m);
	return m.names;
}

/* One rule "r" with the given condition; true if it matches ev. */
FAKE_FN bool fake_cond(const char *cond, struct fake_event *ev)
{
	char yaml[8192];
	struct rule_engine *e;
	bool hit;

	snprintf(yaml, sizeof(yaml),
		 "- rule: r\n  desc: d\n  condition: '%s'\n  output: o\n  priority: INFO\n", cond);
	e = fake_engine(yaml);
	if (!e)
		return false;
	if (rule_engine__error_count(e)) {
		fprintf(stderr, "condition failed to compile: %s\n%s", cond, fake_diags(e));
		rule_engine__free(e);
		return false;
	}
	hit = rule_engine__eval(e, ev->type, ev, NULL, NULL) == 1;
	rule_engine__free(e);
	return hit;
}

/* One WARNING rule as YAML, lines 1-5: rule, desc, condition (value at column 14), output,
 * priority. */
#define RULE(name, cond)                                                                           \
	"- rule: " name "\n  desc: d\n  condition: " cond "\n  output: o\n  priority: WARNING\n"

#ifdef CRITERION_H_
/* An engine that must have compiled without errors. */
FAKE_FN struct rule_engine *engine_ok(const char *yaml)
{
	struct rule_engine *e = fake_engine(yaml);

	cr_assert_not_null(e);
	cr_assert_eq(rule_engine__error_count(e), 0, "unexpected errors:\n%s", fake_diags(e));
	return e;
}
#endif

#endif /* VIGIL_TEST_RULES_FAKE_H */
