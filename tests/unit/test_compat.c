// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_compat.c - Falco's stable ruleset against vigil's real field registry: every
 * rule compiles with no diagnostic at all (no unknown field, no event type this host
 * cannot see), so all 25 can fire.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "detect/fields.h"

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
	for (i = 0; i < rule_engine__diag_count(e); i++) {
		const struct rule_diag *d = rule_engine__diag(e, i);

		cr_expect(false, "diagnostic: %s:%d:%d: %s", d->file, d->line, d->col, d->msg);
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
	cr_assert_eq(active + failed, 25, "Falco's stable ruleset has 25 rules");
	cr_assert_eq(active, 25, "%zu of 25 Falco rules compile with vigil's fields", active);
	rule_engine__free(e);
}
