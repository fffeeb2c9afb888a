// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_filter.c - the prefilter description: --filter arguments parsed into it,
 * the default, typed values the kernel can and cannot compare, failing closed
 * (per type, with a reason), and the rules' derivation into it with vigil's own
 * fields, including under injected allocation failures; the user-space mirror
 * deciding as the sensors do.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "alloc_inject.h"
#include "detect/detect.h"
#include "detect/fields.h"
#include "detect/filter.h"
#include "events/event.h"

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

/* ---- typed values: what the kernel can compare, and nothing else ---- */

Test(filter, typed_values_the_kernel_cannot_compare_are_refused)
{
	char nul[] = "/etc/a\0b";

	cr_assert_eq(filter_spec_add_port(&f, VG_EV_CONNECT, 0), -ERANGE,
		     "port 0 is never looked up");
	cr_assert_eq(filter_spec_add_port(&f, VG_EV_CONNECT, 65536), -ERANGE);
	cr_assert_eq(filter_spec_add_port(&f, VG_EV_CONNECT, (uint64_t)-1), -ERANGE);
	cr_assert_eq(filter_spec_add_path(&f, VG_EV_OPEN, "etc/passwd", 10, false), -ERANGE);
	cr_assert_eq(filter_spec_add_path(&f, VG_EV_OPEN, "", 0, true), -ERANGE);
	cr_assert_eq(filter_spec_add_path(&f, VG_EV_OPEN, nul, sizeof(nul) - 1, false), -ERANGE);
	cr_assert_eq(filter_spec_add_comm(&f, VG_EV_OPEN, "sixteen-bytes-xx", 16), -ERANGE);
	cr_assert_eq(filter_spec_add_flags(&f, VG_EV_OPEN, VG_FC_PATH), -EINVAL);
	cr_assert_eq(filter_spec_add_port(&f, VG_EV_TYPE_MAX, 80), -EINVAL);
	cr_assert_eq(f.nitems, 0);
	cr_assert_eq(f.types[VG_EV_CONNECT].mode, VG_FILTER_ALL, "nothing refused narrows a type");
	cr_assert_eq(f.types[VG_EV_OPEN].mode, VG_FILTER_ALL);
}

Test(filter, typed_values_are_added_once)
{
	cr_assert_eq(filter_spec_add_port(&f, VG_EV_CONNECT, 443), 0);
	cr_assert_eq(filter_spec_add_port(&f, VG_EV_CONNECT, 443), 0);
	cr_assert_eq(filter_spec_add_comm(&f, VG_EV_OPEN, "", 0), 0, "an empty comm is a key");
	cr_assert_eq(filter_spec_add_comm(&f, VG_EV_OPEN, "cat", 3), 0);
	cr_assert_eq(filter_spec_add_comm(&f, VG_EV_OPEN, "cat", 3), 0);
	cr_assert_eq(filter_spec_add_path(&f, VG_EV_OPEN, "/etc/", 5, true), 0);
	cr_assert_eq(filter_spec_add_path(&f, VG_EV_OPEN, "/etc/", 5, true), 0);
	cr_assert_eq(f.nitems, 4);
	cr_assert_eq(f.types[VG_EV_CONNECT].mode, VG_FILTER_MATCH);
	cr_assert_eq(f.types[VG_EV_CONNECT].criteria, VG_FC_PORT);
	cr_assert_eq(f.types[VG_EV_OPEN].criteria, VG_FC_COMM | VG_FC_PATH);
}

Test(filter, fall_back_sends_the_type_whole_and_keeps_the_first_reason)
{
	cr_assert_eq(filter_spec_parse(&f, "connect=port=443,comm=nc", err, sizeof(err)), 0);
	cr_assert_eq(filter_spec_parse(&f, "open=/etc/", err, sizeof(err)), 0);
	filter_spec_fall_back(&f, VG_EV_CONNECT, FILTER_FB_MAP_FULL, "map %s", "filter_ports");
	filter_spec_fall_back(&f, VG_EV_CONNECT, FILTER_FB_NOMEM, "later");
	cr_assert_eq(f.types[VG_EV_CONNECT].mode, VG_FILTER_ALL);
	cr_assert_eq(f.types[VG_EV_CONNECT].criteria, 0);
	cr_assert_null(find(VG_EV_CONNECT, FILTER_ITEM_PORT, NULL));
	cr_assert_null(find(VG_EV_CONNECT, FILTER_ITEM_COMM, NULL));
	cr_assert_not_null(find(VG_EV_OPEN, FILTER_ITEM_PREFIX, "/etc/"), "other types stay");
	cr_assert_eq(f.fallback[VG_EV_CONNECT].reason, FILTER_FB_MAP_FULL);
	cr_assert_str_eq(f.fallback[VG_EV_CONNECT].what, "map filter_ports");
	cr_assert_str_eq(filter_fallback_name(FILTER_FB_MAP_FULL), "map_full");
	/* a later --filter for the type is the operator's word: it replaces the fallback */
	cr_assert_eq(filter_spec_parse(&f, "connect=port=80", err, sizeof(err)), 0);
	cr_assert_eq(f.fallback[VG_EV_CONNECT].reason, FILTER_FB_NONE);
}

Test(filter, merge_keeps_fallbacks)
{
	struct filter_spec d;

	filter_spec_init(&d);
	cr_assert_eq(filter_spec_default(&d), 0);
	cr_assert_eq(filter_spec_parse(&f, "open=/srv/", err, sizeof(err)), 0);
	filter_spec_fall_back(&f, VG_EV_OPEN, FILTER_FB_VALUE, "fd.name \"x\"");
	cr_assert_eq(filter_spec_merge(&d, &f), 0);
	cr_assert_eq(d.types[VG_EV_OPEN].mode, VG_FILTER_ALL, "whole wins over the default set");
	cr_assert_eq(d.fallback[VG_EV_OPEN].reason, FILTER_FB_VALUE);
	filter_spec_free(&d);
}

Test(filter, parsed_arguments_override_the_types_they_name)
{
	struct filter_spec args;

	filter_spec_init(&args);
	cr_assert_eq(filter_spec_parse(&args, "connect=port=80", err, sizeof(err)), 0);
	cr_assert_eq(filter_spec_parse(&args, "chmod=none", err, sizeof(err)), 0);
	cr_assert_eq(filter_spec_default(&f), 0);
	cr_assert_eq(filter_spec_parse(&f, "connect=port=443,comm=nc", err, sizeof(err)), 0);
	filter_spec_fall_back(&f, VG_EV_UNLINK, FILTER_FB_VALUE, "x");
	filter_spec_fall_back(&f, VG_EV_CHMOD, FILTER_FB_VALUE, "y");
	cr_assert_eq(filter_spec_override(&f, &args), 0);
	cr_assert_eq(f.types[VG_EV_CONNECT].criteria, VG_FC_PORT);
	cr_assert_null(find(VG_EV_CONNECT, FILTER_ITEM_COMM, NULL), "the type is replaced whole");
	cr_assert_eq(find(VG_EV_CONNECT, FILTER_ITEM_PORT, NULL)->num, 80);
	cr_assert_eq(f.types[VG_EV_CHMOD].mode, VG_FILTER_NONE);
	cr_assert_eq(f.fallback[VG_EV_CHMOD].reason, FILTER_FB_NONE, "the operator's word");
	cr_assert_eq(f.fallback[VG_EV_UNLINK].reason, FILTER_FB_VALUE, "other types untouched");
	cr_assert_not_null(find(VG_EV_OPEN, FILTER_ITEM_PREFIX, "/etc/"));
	filter_spec_free(&args);
}

/* ---- the rules' derivation, with vigil's own fields ---- */

static struct rule_engine *rules(const char *cond)
{
	char y[8192];
	struct rule_engine_opts o = {0};
	struct rule_engine *e;

	snprintf(y, sizeof(y),
		 "- rule: r\n  desc: d\n  condition: %s\n  output: o\n  priority: WARNING\n", cond);
	fields_bind(&o);
	e = rule_engine__new(&o);
	cr_assert_not_null(e);
	cr_assert_eq(rule_engine__load_buf(e, "<test>", y, strlen(y)), 0);
	cr_assert_eq(rule_engine__compile(e), 0, "%s", cond);
	return e;
}

/* The line `vigil rules prefilter` prints for type. */
static const char *line_of(const struct filter_spec *s, int type)
{
	static char buf[8192];
	const char *name = filter_slot_name(type);
	char *all = NULL, *l;
	size_t n = 0;
	FILE *m;

	buf[0] = 0;
	if (!name)
		return buf;
	m = open_memstream(&all, &n);
	cr_assert_not_null(m);
	filter_spec_print(s, m);
	fclose(m);
	for (l = strtok(all, "\n"); l; l = strtok(NULL, "\n")) {
		size_t k = strcspn(l, " ");

		if (!strncmp(l, name, k) && !name[k])
			snprintf(buf, sizeof(buf), "%s", l);
	}
	free(all);
	return buf;
}

/* Derives cond; the type must come out whole, counted as a value the kernel cannot compare. */
static void expect_fallback(const char *cond, int type, const char *what)
{
	struct rule_engine *e = rules(cond);

	filter_spec_free(&f);
	filter_spec_init(&f);
	cr_assert_eq(detect_derive_prefilter(e, &f), 0, "%s", cond);
	cr_assert_eq(f.types[type].mode, VG_FILTER_ALL, "%s: %s", cond, line_of(&f, type));
	cr_assert_eq(f.fallback[type].reason, FILTER_FB_VALUE, "%s: not counted", cond);
	cr_assert(strstr(f.fallback[type].what, what), "%s: '%s'", cond, f.fallback[type].what);
	cr_assert(strstr(line_of(&f, type), "(unfiltered: "), "%s", line_of(&f, type));
	for (size_t i = 0; i < f.nitems; i++)
		cr_assert_neq(f.items[i].type, type, "%s: an item left for the type", cond);
	rule_engine__free(e);
}

Test(filter, derived_values_the_kernel_cannot_compare_send_the_type_whole)
{
	/* never only 4444: port 0 goes up too */
	expect_fallback("evt.type = connect and fd.sport in (0, 4444)", VG_EV_CONNECT,
			"fd.sport 0");
	expect_fallback("evt.type = bind and fd.sport in (65536, 80)", VG_EV_BIND, "65536");
	expect_fallback("evt.type = listen and fd.lport = 70000", VG_EV_LISTEN, "70000");
	expect_fallback(
	    "evt.type = unlink and (fd.name = relative.txt or fd.name startswith /tmp/)",
	    VG_EV_UNLINK, "relative.txt");
	expect_fallback("evt.type = truncate and fd.name startswith tmp/", VG_EV_TRUNCATE, "tmp/");
	expect_fallback("evt.type in (open, openat) and fd.name = \"\"", VG_EV_OPEN,
			"fd.name \"\"");
	expect_fallback("evt.type = mkdir and proc.name startswith ssh", VG_EV_MKDIR, "\"ssh\"");
	expect_fallback("evt.type = chmod and proc.name glob \"ssh*\"", VG_EV_CHMOD, "\"ssh\"");
}

/* Derives cond; the type must be filtered with exactly want's items (a printed line). */
static void expect_line(const char *cond, int type, const char *want)
{
	struct rule_engine *e = rules(cond);

	filter_spec_free(&f);
	filter_spec_init(&f);
	cr_assert_eq(detect_derive_prefilter(e, &f), 0, "%s", cond);
	cr_assert_str_eq(line_of(&f, type), want, "%s", cond);
	cr_assert_eq(f.fallback[type].reason, FILTER_FB_NONE, "%s", cond);
	rule_engine__free(e);
}

Test(filter, a_connect_port_tested_as_sport_or_rport_is_one_value)
{
	/* on a connect or a send, fd.sport (the server's) is fd.rport: rules may mix them */
	expect_line("evt.type = connect and (fd.sport = 80 or fd.rport = 4444)", VG_EV_CONNECT,
		    "connect   match port=80 port=4444");
	expect_line("evt.type = sendto and fd.rport = 53 and fd.sport = 53", VG_EV_SEND,
		    "send      match port=53");
}

Test(filter, derived_values_are_widened_to_what_the_kernel_sees_never_narrowed)
{
	char cond[512], want[1024], path[301];

	/* proc.name is the kernel's comm: a longer name is cut to what the kernel sees */
	expect_line("evt.type = open and proc.name in (averyveryverylongname, cat) and fd.name "
		    "contains zz",
		    VG_EV_OPEN, "open      match comm=averyveryverylo comm=cat");
	expect_line("evt.type = open and proc.name = \"\" and fd.name contains zz", VG_EV_OPEN,
		    "open      match comm=");
	/* a glob's literal part is a prefix; one with nothing literal says every path */
	expect_line("evt.type = open and fd.name glob \"/etc/*.conf\"", VG_EV_OPEN,
		    "open      match /etc/*");
	expect_line("evt.type = open and fd.name glob \"*.conf\"", VG_EV_OPEN, "open      all");
	/* the trie sees 252 bytes: a longer prefix or path becomes a prefix of those */
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = 0;
	snprintf(want, sizeof(want), "open      match %.*s*", VG_FILTER_PATH_MAX, path);
	snprintf(cond, sizeof(cond), "evt.type = open and fd.name startswith %s", path);
	expect_line(cond, VG_EV_OPEN, want);
	/* an exact path's file name is a leaf entry, cut the same way */
	snprintf(cond, sizeof(cond), "evt.type = open and fd.name = %s", path);
	snprintf(want, sizeof(want), "open      match %.*s* leaf=%.*s*", VG_FILTER_PATH_MAX, path,
		 VG_FILTER_PATH_MAX, path + 1);
	expect_line(cond, VG_EV_OPEN, want);
	expect_line("evt.type = connect and fd.sport in (4444, 80)", VG_EV_CONNECT,
		    "connect   match port=80 port=4444");
}

Test(filter, opens_for_reading_and_for_writing_get_what_their_rules_need)
{
	/* a read rule: O_RDWR opens read too, O_WRONLY ones never reach it */
	expect_line("evt.type = open and evt.is_open_read = true and fd.name = /etc/shadow",
		    VG_FS_OPEN_READ, "open.read match /etc/shadow leaf=shadow");
	expect_line("evt.type = open and evt.is_open_read = true and fd.name = /etc/shadow",
		    VG_EV_OPEN, "open      match /etc/shadow leaf=shadow");
	/* a write rule: nothing read-only can match it */
	expect_line("evt.type = openat and evt.is_open_write = true and fd.name startswith /etc/",
		    VG_FS_OPEN_READ, "open.read none");
	expect_line("evt.type = openat and evt.is_open_write = true and fd.name startswith /etc/",
		    VG_EV_OPEN, "open      match /etc/*");
	expect_line("evt.type = openat and not evt.is_open_write = false and fd.name = /a/b",
		    VG_FS_OPEN_READ, "open.read none");
}

Test(filter, a_files_own_name_is_derived_from_every_field_that_fixes_it)
{
	/* fd.directory restricts the path, fd.filename the name */
	expect_line("evt.type = open and fd.directory = /etc/ssh and fd.filename startswith "
		    "ssh_host_ and fd.filename endswith _key",
		    VG_EV_OPEN, "open      match /etc/ssh/* leaf=ssh_host_*");
	expect_line("evt.type = open and fd.directory in (/, /root) and fd.filename = x",
		    VG_EV_OPEN, "open      match /* leaf=x");
	/* a glob or a suffix whose last component is literal fixes the name */
	expect_line("evt.type = open and fd.name glob \"/home/*/.kube/config\"", VG_EV_OPEN,
		    "open      match /home/* leaf=config");
	expect_line("evt.type = open and fd.name glob \"/home/*/id_[rd]sa\"", VG_EV_OPEN,
		    "open      match /home/*");
	expect_line("evt.type = open and fd.name startswith /tmp/ and fd.name endswith /.env",
		    VG_EV_OPEN, "open      match /tmp/* leaf=.env");
	/* a name alone: the leaf test decides the opened files, the rest goes up */
	expect_line("evt.type = open and fd.filename in (credentials, config.json)", VG_EV_OPEN,
		    "open      match leaf=config.json leaf=credentials");
	/* where a comm decides, a leaf would let more through: none */
	expect_line("evt.type = open and proc.name = cat and fd.filename = x", VG_EV_OPEN,
		    "open      match comm=cat");
	/* a prefix says nothing of the name; nor does a name with a '/' */
	expect_line("evt.type = open and (fd.name = /etc/shadow or fd.name startswith /tmp/)",
		    VG_EV_OPEN, "open      match /etc/shadow /tmp/*");
	expect_line("evt.type = open and fd.filename in (x, \"a/b\")", VG_EV_OPEN, "open      all");
}

/* Every malloc/realloc of a derivation, failed in turn: each time the derivation says so,
 * and every type is either exactly as derived without failures or sent whole and counted. */
Test(filter, derivation_fails_closed_when_memory_runs_out)
{
	static const char *const conds[] = {
	    "evt.type in (open, openat) and fd.name in (/a/1, /a/2, /a/3, /a/4, /a/5, /a/6, /a/7, "
	    "/a/8, /a/9, /a/10, /a/11, /a/12, /a/13, /a/14, /a/15, /a/16, /a/17, /a/18, /a/19, "
	    "/a/20, /a/21, /a/22, /a/23, /a/24, /a/25, /a/26, /a/27, /a/28, /a/29, /a/30, /a/31, "
	    "/a/32, /a/33, /a/34)",
	    "evt.type = connect and fd.sport in (22, 80, 443, 4444)",
	    "evt.type = unlink and fd.name startswith /var/log/",
	};
	char y[4096], ref_lines[VG_EV_TYPE_MAX][1024];
	struct filter_spec ref;
	struct rule_engine_opts o = {0};
	struct rule_engine *e;
	size_t off = 0;
	long n, injected = 0;

	for (size_t i = 0; i < sizeof(conds) / sizeof(conds[0]); i++)
		off += (size_t)snprintf(y + off, sizeof(y) - off,
					"- rule: r%zu\n  desc: d\n  condition: %s\n  output: o\n"
					"  priority: WARNING\n",
					i, conds[i]);
	fields_bind(&o);
	e = rule_engine__new(&o);
	cr_assert_not_null(e);
	cr_assert_eq(rule_engine__load_buf(e, "<test>", y, strlen(y)), 0);
	cr_assert_eq(rule_engine__compile(e), 0);
	filter_spec_init(&ref);
	cr_assert_eq(detect_derive_prefilter(e, &ref), 0);
	cr_assert_eq(ref.types[VG_EV_OPEN].mode, VG_FILTER_MATCH);
	cr_assert_eq(ref.types[VG_EV_CONNECT].mode, VG_FILTER_MATCH);
	for (int t = 1; t < VG_EV_TYPE_MAX; t++)
		snprintf(ref_lines[t], sizeof(ref_lines[t]), "%s", line_of(&ref, t));

	for (n = 1;; n++) {
		int ret, fell = 0;

		filter_spec_free(&f);
		filter_spec_init(&f);
		alloc_failed = 0;
		alloc_fail_countdown = n;
		ret = detect_derive_prefilter(e, &f);
		alloc_fail_countdown = 0;
		if (!alloc_failed) {
			cr_assert_eq(ret, 0);
			break; /* the derivation makes fewer than n allocations */
		}
		injected++;
		cr_assert_eq(ret, -ENOMEM, "allocation %ld failed, the derivation said %d", n, ret);
		for (int t = 1; t < VG_EV_TYPE_MAX; t++) {
			if (!f.fallback[t].reason) {
				cr_assert_str_eq(line_of(&f, t), ref_lines[t], "allocation %ld", n);
				continue;
			}
			fell++;
			cr_assert_eq(f.fallback[t].reason, FILTER_FB_NOMEM);
			cr_assert_eq(f.types[t].mode, VG_FILTER_ALL, "allocation %ld", n);
			for (size_t i = 0; i < f.nitems; i++)
				cr_assert_neq(f.items[i].type & ~VG_FS_LEAF, t);
		}
		/* opens have two slots, which fall back together */
		if (f.fallback[VG_EV_OPEN].reason) {
			cr_assert(f.fallback[VG_FS_OPEN_READ].reason, "allocation %ld", n);
			fell--;
		}
		cr_assert_eq(fell, 1, "allocation %ld: one type fell back, not %d", n, fell);
	}
	cr_assert_geq(injected, 5, "the derivation allocates: %ld failures injected", injected);
	filter_spec_free(&ref);
	rule_engine__free(e);
}

/* ---- the user-space mirror decides as the sensors do ---- */

/* A record of type with comm "x" and, for a unix connect, the name path (no socket when
 * sock_type is 0); decoded into ev. */
static void mirror_event(struct event *ev, void *buf, uint16_t type, uint16_t sock_type,
			 const char *path)
{
	const struct event_kind *k = event_kind(type);
	struct vg_hdr *h = buf;

	memset(buf, 0, 512);
	h->type = type;
	h->size = k->size;
	strcpy(h->comm, "x");
	if (k->domain == EVENT_DOM_NET) {
		struct vg_net *n = buf;

		n->family = AF_UNIX;
		n->sock_type = sock_type;
		n->unix_path.off = h->size;
		n->unix_path.len = strlen(path);
		strcpy((char *)buf + h->size, path);
		h->size += strlen(path) + 1;
	}
	cr_assert_eq(event_decode(ev, buf, h->size), 0);
}

Test(filter, mirror_decides_as_the_sensors_for_operator_specs)
{
	static char buf[512];
	struct event ev;

	/* no path criterion applies to a privilege event: the sensor sends it */
	cr_assert_eq(filter_spec_parse(&f, "mount=/mnt/", err, sizeof(err)), 0);
	mirror_event(&ev, buf, VG_EV_MOUNT, 0, "");
	cr_assert(filter_spec_pass(&f, &ev));
	/* "write" is about files: a connect or a kill does not pass on it */
	cr_assert_eq(filter_spec_parse(&f, "kill=write", err, sizeof(err)), 0);
	mirror_event(&ev, buf, VG_EV_KILL, 0, "");
	cr_assert_not(filter_spec_pass(&f, &ev));
	cr_assert_eq(filter_spec_parse(&f, "connect=write,/run/", err, sizeof(err)), 0);
	mirror_event(&ev, buf, VG_EV_CONNECT, SOCK_STREAM, "/tmp/s");
	cr_assert_not(filter_spec_pass(&f, &ev));
	/* a unix name passes on a path criterion, unless the call had no socket */
	mirror_event(&ev, buf, VG_EV_CONNECT, SOCK_STREAM, "/run/s");
	cr_assert(filter_spec_pass(&f, &ev));
	mirror_event(&ev, buf, VG_EV_CONNECT, 0, "/run/s");
	cr_assert_not(filter_spec_pass(&f, &ev), "the sensor drops before reading the name");
}
