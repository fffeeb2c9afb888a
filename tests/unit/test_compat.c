// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_compat.c - Falco's stable ruleset against vigil's real field registry:
 * how many of its rules compile, and for each that does not, the field vigil
 * cannot supply. A failure for any other reason fails the test.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "detect/fields.h"

/* Fields vigil has no honest source for, with the reason. */
static const struct {
	const char *field; /* Falco field */
	const char *why;   /* what would be needed */
} cannot[] = {
    {"fd.sip.name", "reverse DNS of the server address (vigil does no name lookups)"},
};

static const char *compat_path(void)
{
	const char *env = getenv("VIGIL_FALCO_RULES");

	if (env)
		return env;
	return "../shared/compat/falco_rules.yaml";
}

Test(compat, falco_stable_ruleset)
{
	struct rule_engine_opts o = {.unknown_field_warn = true};
	const char *path = compat_path();
	struct rule_engine *e;
	size_t i, n, active = 0, failed = 0;

	cr_assert_eq(access(path, R_OK), 0,
		     "%s is missing (run from the repository, beside ../shared)", path);
	fields_bind(&o);
	e = rule_engine__new(&o);
	cr_assert_not_null(e);
	cr_assert_eq(rule_engine__load_file(e, path), 0);
	cr_assert_eq(rule_engine__compile(e), 0);
	/* every diagnostic must be an unknown field we know we cannot supply */
	for (i = 0; i < rule_engine__diag_count(e); i++) {
		const struct rule_diag *d = rule_engine__diag(e, i);
		bool explained = d->level == RULE_DIAG_WARNING && !strstr(d->msg, "unknown field");

		for (size_t k = 0; !explained && k < sizeof(cannot) / sizeof(cannot[0]); k++) {
			char quoted[64];

			snprintf(quoted, sizeof(quoted), "'%s'", cannot[k].field);
			if (strstr(d->msg, quoted)) {
				explained = true;
				fprintf(stderr,
					"[INFO] compat: %s:%d: %s — vigil cannot supply %s: %s\n",
					"falco_rules.yaml", d->line, d->msg, cannot[k].field,
					cannot[k].why);
			}
		}
		cr_expect(explained, "unexplained diagnostic: %s:%d:%d: %s", d->file, d->line,
			  d->col, d->msg);
	}
	n = rule_engine__rule_count(e);
	for (i = 0; i < n; i++) {
		const struct rule_info *r = rule_engine__rule(e, i);

		if (!r->enabled)
			continue;
		if (r->active)
			active++;
		else
			failed++;
	}
	fprintf(stderr,
		"[INFO] compat: %zu of %zu enabled Falco rules compile with vigil's "
		"fields; %zu do not (fields listed above)\n",
		active, active + failed, failed);
	cr_assert_eq(active + failed, 25, "Falco's stable ruleset has 25 rules");
	cr_assert_geq(active, 24);
	rule_engine__free(e);
}
