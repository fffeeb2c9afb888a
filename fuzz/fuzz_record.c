// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_record.c - kernel records, never trusted by the agent: a recording
 * (vigil run --record's format, so a crash replays with `vigil replay`)
 * goes through the agent's pipeline: decode, process table, the text and JSON
 * event renderers, the user-space prefilter, the default ruleset, and a rule that
 * renders every field vigil has (each index and evt.arg key), whose alerts, like
 * the default rules', go through every sink's renderer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/detect.h"
#include "detect/fields.h"
#include "detect/filter.h"
#include "events/kinds.h"
#include "fuzz.h"

static struct fuzz_replay opts;
static struct filter_spec spec;

/* One rule, always true, whose output names every field of the registry. */
static char *every_field_rule(void)
{
	static const char *const index[] = {"0", "1", "2", "5"};
	const struct rule_field_def *f;
	char *s = NULL;
	size_t n, len;
	FILE *m = open_memstream(&s, &len);

	if (!m)
		abort();
	fputs("- rule: every field\n  desc: every field\n  condition: evt.num > 0\n"
	      "  priority: DEBUG\n  output: \"",
	      m);
	f = fields_registry(&n);
	for (size_t i = 0; i < n; i++) {
		if (f[i].arg != RULE_FARG_KEY)
			fprintf(m, " %%%s", f[i].name);
		if (f[i].arg == RULE_FARG_INDEX)
			for (size_t k = 0; k < sizeof(index) / sizeof(index[0]); k++)
				fprintf(m, " %%%s[%s]", f[i].name, index[k]);
		/* brackets: container.mount.mode is a field, not container.mount[mode] */
		if (f[i].arg == RULE_FARG_KEY)
			for (unsigned int k = 1; k < EVENT_ARG_MAX; k++)
				fprintf(m, " %%%s[%s]", f[i].name, event_arg_name(k));
	}
	fputs("\"\n", m);
	if (fclose(m))
		abort();
	return s;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct detect_opts dflt = {.on_alert = fuzz_alert};
	char *rule = every_field_rule();
	const char *path = fuzz_file("fields", rule, strlen(rule));
	struct detect_opts fields = {.files = &path, .n_files = 1, .on_alert = fuzz_alert};

	free(rule);
	opts.detect = detect__new(&dflt);
	opts.extra = detect__new(&fields);
	if (!opts.detect || !opts.extra)
		abort();
	filter_spec_init(&spec);
	if (detect__derive_filter(opts.detect, &spec))
		abort();
	opts.spec = &spec;
	opts.show = 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_replay(&opts, data, size);
	return 0;
}
