/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fields.h - binds the rule engine to vigil's events: the Falco field names vigil
 * supplies, the Falco event type names it produces (mapped to host codes), and
 * the getter that reads a field from a decoded event and the process table.
 */
#ifndef VIGIL_FIELDS_H
#define VIGIL_FIELDS_H

#include <stddef.h>
#include <stdint.h>

#include "rules/engine.h"
#include "vigil/events.h"

struct event;
struct proctable;

/* Host event codes: enum vg_syscall values, and VG_CODE_CLONE / VG_CODE_PROCEXIT
 * for the process lifecycle (vigil/syscalls.h). */
enum field_evcode {
	FIELD_EV_MAX = VG_SYS_MAX, /* codes stay below this */
};

#define FIELD_SCRATCH 65536 /* bytes of computed strings one event may need */

/* What the getter reads. Reset with field_ctx_reset() before each event. */
struct field_ctx {
	const struct event *ev;	     /* the event */
	struct proctable *procs;     /* for ancestry fields; may be NULL */
	const char *hostname;	     /* evt.hostname */
	uint64_t evt_num;	     /* evt.num: sequence number */
	size_t used;		     /* bytes of scratch in use */
	char scratch[FIELD_SCRATCH]; /* computed strings live here until the next reset */
};

void field_ctx_reset(struct field_ctx *c, const struct event *ev);

/* The host code an event is evaluated under (its syscall; clone; procexit). */
uint32_t field_event_code(const struct event *ev);

/* Fills the registry, event types, getter and bind callback of opts. */
void fields_bind(struct rule_engine_opts *opts);

/* The first Falco name of a host event code ("openat", "clone", ...). */
const char *fields_evtype_name(uint32_t code);

/* The registry, for listing (vigil rules fields). */
const struct rule_field_def *fields_registry(size_t *n);

#endif /* VIGIL_FIELDS_H */
