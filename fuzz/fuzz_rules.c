// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_rules.c - rule files through the agent's loader (detect__new: the file's
 * trust check, YAML, lists, macros, exceptions, append/override, conditions,
 * output templates, actions, compile), the agent's check of the set (the actions
 * planned for the kernel or user space, a deny it cannot do refused), then what the
 * agent and `vigil rules` do with a loaded set: derive the kernel prefilter, list
 * the rules, and run a small
 * recording (fuzz/corpus/record/mixed.rec, built in) through the rules, rendering
 * each alert as the sinks do.
 */
#include <stdint.h>
#include <stdlib.h>

#include "detect/detect.h"
#include "detect/filter.h"
#include "fuzz.h"
#include "respond/policy.h"

static struct policy *plan; /* the set's plan, as the agent keeps it */

static int plan_actions(void *arg, const struct rule_engine *e, FILE *diag)
{
	struct policy_opts po = {.mode = RESPOND_ENFORCE};

	policy__free(plan);
	plan = policy__new(e, &po, diag);
	return plan ? 0 : -1;
}

extern const char fuzz_events[];
extern const unsigned int fuzz_events_len;

__asm__(".section .rodata\n"
	".global fuzz_events\n"
	".type fuzz_events, @object\n"
	"fuzz_events:\n"
	".incbin \"fuzz/corpus/record/mixed.rec\"\n"
	"fuzz_events_end:\n"
	".global fuzz_events_len\n"
	".type fuzz_events_len, @object\n"
	".balign 4\n"
	"fuzz_events_len:\n"
	".int fuzz_events_end - fuzz_events\n"
	".previous\n");

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file("rules", data, size);
	struct detect_opts o = {
	    .files = &path, .n_files = 1, .on_alert = fuzz_alert, .check = plan_actions};
	struct filter_spec spec;
	struct detect *d = detect__new(&o);

	if (!d) {
		policy__free(plan);
		plan = NULL;
		return 0;
	}
	filter_spec_init(&spec);
	detect__derive_filter(d, &spec);
	filter_spec_print(&spec, fuzz_null());
	detect_print_rules(detect__engine(d), fuzz_null());
	fuzz_replay(&(struct fuzz_replay){.detect = d, .spec = &spec}, fuzz_events,
		    fuzz_events_len);
	filter_spec_free(&spec);
	detect__free(d);
	policy__free(plan);
	plan = NULL;
	return 0;
}
