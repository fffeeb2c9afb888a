// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_filter.c - parsing of --filter arguments into the prefilter description,
 * and the default description.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "detect/filter.h"

static struct filter_spec f;
static char err[256];

static void setup(void)
{
	filter_spec_init(&f);
	err[0] = 0;
}

static void teardown(void)
{
	filter_spec_free(&f);
}

TestSuite(filter, .init = setup, .fini = teardown);

static const struct filter_item *find(int type, enum filter_item_kind kind, const char *s)
{
	for (size_t i = 0; i < f.nitems; i++)
		if (f.items[i].type == type && f.items[i].kind == kind &&
		    (!s || !strcmp(f.items[i].str, s)))
			return &f.items[i];
	return NULL;
}

Test(filter, default_watches_sensitive_opens_and_writes)
{
	cr_assert_eq(filter_spec_default(&f), 0);
	cr_assert_eq(f.types[VG_EV_OPEN].mode, VG_FILTER_MATCH);
	cr_assert(f.types[VG_EV_OPEN].criteria & VG_FC_WRITE_OPENS);
	cr_assert(f.types[VG_EV_OPEN].criteria & VG_FC_PATH);
	cr_assert_not_null(find(VG_EV_OPEN, FILTER_ITEM_PREFIX, "/etc/"));
	cr_assert_not_null(find(VG_EV_OPEN, FILTER_ITEM_PREFIX, "/root/"));
	cr_assert_eq(f.types[VG_EV_CONNECT].mode, VG_FILTER_ALL, "other types send everything");
	cr_assert_eq(f.types[VG_EV_UNLINK].mode, VG_FILTER_ALL);
}

Test(filter, items_of_every_kind)
{
	cr_assert_eq(filter_spec_parse(&f, "open=/etc/,/usr/*,/etc/shadow,comm=nc,cgroup=77,write",
				       err, sizeof(err)),
		     0, "%s", err);
	cr_assert_not_null(find(VG_EV_OPEN, FILTER_ITEM_PREFIX, "/etc/"));
	cr_assert_not_null(find(VG_EV_OPEN, FILTER_ITEM_PREFIX, "/usr/"), "'*' makes a prefix");
	cr_assert_not_null(find(VG_EV_OPEN, FILTER_ITEM_EXACT, "/etc/shadow"));
	cr_assert_not_null(find(VG_EV_OPEN, FILTER_ITEM_COMM, "nc"));
	cr_assert_eq(find(VG_EV_OPEN, FILTER_ITEM_CGROUP, NULL)->num, 77);
	cr_assert_eq(f.types[VG_EV_OPEN].criteria,
		     VG_FC_PATH | VG_FC_COMM | VG_FC_CGROUP | VG_FC_WRITE_OPENS);
	cr_assert_eq(filter_spec_parse(&f, "connect=port=443,port=0x50", err, sizeof(err)), 0);
	cr_assert_not_null(find(VG_EV_CONNECT, FILTER_ITEM_PORT, NULL));
	cr_assert_eq(f.types[VG_EV_CONNECT].mode, VG_FILTER_MATCH);
}

Test(filter, later_setting_replaces_the_type)
{
	cr_assert_eq(filter_spec_default(&f), 0);
	cr_assert_eq(filter_spec_parse(&f, "open=/srv/", err, sizeof(err)), 0);
	cr_assert_null(find(VG_EV_OPEN, FILTER_ITEM_PREFIX, "/etc/"), "defaults replaced");
	cr_assert_not_null(find(VG_EV_OPEN, FILTER_ITEM_PREFIX, "/srv/"));
	cr_assert_eq(f.types[VG_EV_OPEN].criteria, VG_FC_PATH);
	cr_assert_eq(filter_spec_parse(&f, "open=all", err, sizeof(err)), 0);
	cr_assert_eq(f.types[VG_EV_OPEN].mode, VG_FILTER_ALL);
	cr_assert_null(find(VG_EV_OPEN, FILTER_ITEM_PREFIX, "/srv/"));
	cr_assert_eq(filter_spec_parse(&f, "chmod=none", err, sizeof(err)), 0);
	cr_assert_eq(f.types[VG_EV_CHMOD].mode, VG_FILTER_NONE);
}

Test(filter, long_exact_path_becomes_a_prefix)
{
	char arg[400] = "open=/";

	memset(arg + 6, 'a', 300);
	cr_assert_eq(filter_spec_parse(&f, arg, err, sizeof(err)), 0);
	cr_assert_eq(f.items[0].kind, FILTER_ITEM_PREFIX);
	cr_assert_eq(strlen(f.items[0].str), VG_FILTER_PATH_MAX);
}

Test(filter, errors_name_the_bad_part)
{
	static const struct {
		const char *arg;  /* input */
		const char *want; /* in the message */
	} bad[] = {
	    {"open", "expected TYPE=all"},
	    {"=all", "expected TYPE=all"},
	    {"frob=all", "unknown event type 'frob'"},
	    {"exec=none", "always go up"},
	    {"open=", "no items"},
	    {"open=/etc/,,/x", "empty item"},
	    {"open=etc", "'etc': expected a path"},
	    {"connect=port=70000", "'port=70000': expected a port"},
	    {"connect=port=", "expected a path"},
	    {"open=comm=averyveryverylongcomm", "at most 15 bytes"},
	    {"open=cgroup=x1", "expected a cgroup id"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		filter_spec_free(&f);
		filter_spec_init(&f);
		err[0] = 0;
		cr_assert_neq(filter_spec_parse(&f, bad[i].arg, err, sizeof(err)), 0, "%s",
			      bad[i].arg);
		cr_assert(strstr(err, bad[i].want), "%s: got '%s'", bad[i].arg, err);
	}
}

Test(filter, type_names)
{
	cr_assert_eq(filter_type_by_name("open"), VG_EV_OPEN);
	cr_assert_eq(filter_type_by_name("connect"), VG_EV_CONNECT);
	cr_assert_eq(filter_type_by_name("kill"), VG_EV_KILL);
	cr_assert_eq(filter_type_by_name("nope"), -1);
}
