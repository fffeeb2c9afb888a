/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fuzz.h - what the libFuzzer harnesses share: inputs handed to the agent's file
 * readers through a file, alerts rendered as every sink renders them, and a
 * recording run through the agent's pipeline (decode, process table, event
 * renderers, rules, alerts). Built with clang only: `make fuzz`.
 */
#ifndef VIGIL_FUZZ_H
#define VIGIL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct detect;
struct detect_alert;
struct filter_spec;

/* /dev/null, opened once: where rendered text goes. */
FILE *fuzz_null(void);

/*
 * Writes data to this process's scratch file for tag (created once under $TMPDIR or
 * /tmp, mode 0600, so the rules loader trusts it) and returns its path. Aborts on
 * I/O errors: a harness that cannot write its input tests nothing.
 */
const char *fuzz_file(const char *tag, const void *data, size_t size);

/* A detect_opts.on_alert that renders the alert as the agent's outputs do: the owned
 * copy (alert__dup: JSON, escaped text), syslog frames (text and JSON, whole and
 * cut short), Alertmanager labels and annotations, the stdout line. */
void fuzz_alert(void *arg, const struct detect_alert *a);

struct fuzz_replay {
	struct detect *detect;		/* the rules the pipeline runs (as the agent's) */
	struct detect *extra;		/* more rules run on each event; NULL for none */
	const struct filter_spec *spec; /* replay --prefilter's check; NULL for none */
	int show;			/* render each event as text and as JSON */
};

/* Runs a recording (vigil run --record's format) held in memory through the
 * pipeline, as `vigil replay` and the live agent do, with a fresh process table. */
void fuzz_replay(const struct fuzz_replay *o, const void *data, size_t size);

#endif /* VIGIL_FUZZ_H */
