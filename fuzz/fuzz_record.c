// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_record.c - kernel records, the input vigil trusts least after the rules: a
 * recording (vigil run --record's format, so a crash replays with `vigil replay`)
 * goes through the agent's pipeline: decode, process table, the text and JSON
 * event renderers, the user-space prefilter, the default ruleset, and a rule that
 * renders every field vigil has (each index and evt.arg key), whose alerts, like
 * the default rules', go through every sink's renderer.
 */
#include <stdlib.h>
#include <string.h>

#include "detect/detect.h"
#include "detect/fields.h"
#include "detect/filter.h"
#include "events/kinds.h"
#include "fuzz.h"

static struct fuzz_replay opts;
static struct filter_spec spec;

static void put(char **s, size_t *len, size_t *cap, const char *fmt, const char *name,
		const char *arg)
{
	int n;

	for (;;) {
		n = snprintf(*s + *len, *cap - *len, fmt, name, arg);
		if (n >= 0 && (size_t)n < *cap - *len)
			break;
		*cap *= 2;
		*s = realloc(*s, *cap);
		if (!*s)
			abort();
	}
	*len += n;
}

/* One rule, always true, whose output names every field of the registry. */
static char *every_field_rule(void)
{
	static const char *const index[] = {"0", "1", "2", "5"};
	size_t n, len = 0, cap = 4096;
	const struct rule_field_def *f = fields_registry(&n);
	char *s = malloc(cap);

	if (!s)
		abort();
	s[0] = '\0';
	put(&s, &len, &cap,
	    "- rule: %s%s\n  desc: every field\n  condition: evt.num > 0\n"
	    "  priority: DEBUG\n  output: \"",
	    "every field", "");
	for (size_t i = 0; i < n; i++) {
		switch (f[i].arg) {
		case RULE_FARG_NONE:
			put(&s, &len, &cap, " %%%s%s", f[i].name, "");
			break;
		case RULE_FARG_INDEX:
			put(&s, &len, &cap, " %%%s%s", f[i].name, "");
			for (size_t k = 0; k < sizeof(index) / sizeof(index[0]); k++)
				put(&s, &len, &cap, " %%%s[%s]", f[i].name, index[k]);
			break;
		case RULE_FARG_KEY:
			for (unsigned int k = 1; k < EVENT_ARG_MAX; k++)
				put(&s, &len, &cap, " %%%s.%s", f[i].name, event_arg_name(k));
			break;
		}
	}
	put(&s, &len, &cap, "%s%s\"\n", "", "");
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
