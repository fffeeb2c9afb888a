// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_paths.c - the one canonical form of a path (event_path_fold), the
 * chroot-relative part of a record's path, and the prefilter's agreement with
 * the rules on every spelling of a name: a record built as the kernel builds it
 * (base directory joined with the name as given) must pass filter_spec_pass
 * whenever its canonical path, which the rules see, lies under a watched prefix.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "detect/filter.h"
#include "events/event.h"
#include "events/records.h"

static void fold_is(const char *in, const char *want)
{
	char buf[512];
	size_t n;

	strcpy(buf, in);
	n = event_path_fold(buf, strlen(buf));
	cr_assert(n == strlen(want) && !memcmp(buf, want, n), "%s -> %.*s, want %s", in, (int)n,
		  buf, want);
}

Test(paths, every_spelling_folds_to_one_form)
{
	fold_is("/var//log/syslog", "/var/log/syslog");
	fold_is("/var/tmp/../log/syslog", "/var/log/syslog");
	fold_is("/etc/cron.d/", "/etc/cron.d");
	fold_is("/etc/cron.d//", "/etc/cron.d");
	fold_is("/etc/./cron.d/.", "/etc/cron.d");
	fold_is("//var/log", "/var/log");
	fold_is("/var/log/..", "/var");
	fold_is("/../..//", "/");
	fold_is("/./", "/");
	fold_is("/a/b/c/../../d/./e//", "/a/d/e");
	fold_is("/.hidden/..name/...", "/.hidden/..name/...");
	fold_is("relative//x/", "relative//x/");
}

/* The canonical form is a fixed point and has no "//", "/./", "/../" or trailing '/'. */
static void check_canonical(const char *p, size_t n)
{
	char again[512];

	cr_assert(n >= 1 && p[0] == '/', "%.*s", (int)n, p);
	cr_assert(n == 1 || p[n - 1] != '/', "%.*s", (int)n, p);
	for (size_t i = 0; i + 1 < n; i++) {
		cr_assert(!(p[i] == '/' && p[i + 1] == '/'), "%.*s", (int)n, p);
		if (p[i] == '/' && p[i + 1] == '.') {
			bool dot = i + 2 == n || p[i + 2] == '/';
			bool dotdot = p[i + 2] == '.' && (i + 3 == n || p[i + 3] == '/');

			cr_assert(!dot && !dotdot, "%.*s", (int)n, p);
		}
	}
	memcpy(again, p, n);
	cr_assert_eq(event_path_fold(again, n), n, "%.*s", (int)n, p);
	cr_assert(!memcmp(again, p, n));
}

/*
 * The record the kernel writes for a call naming its object: the task's root
 * ("/" here) for an absolute name, else the resolved base directory, joined with
 * the name as given (joined_append in bpf/core/path.bpf.h).
 */
static void kernel_record(struct frec *r, const char *base, const char *name)
{
	char joined[1024];

	if (name[0] == '/')
		snprintf(joined, sizeof(joined), "%s", name);
	else if (!strcmp(base, "/"))
		snprintf(joined, sizeof(joined), "/%s", name);
	else
		snprintf(joined, sizeof(joined), "%s/%s", base, name);
	frec_init(r, VG_EV_UNLINK, VG_SYS_UNLINKAT, 0);
	frec_str(r, &r->f.path, joined);
	frec_str(r, &r->f.raw, name);
	r->f.hdr.flags |= VG_FL_PATH_JOINED;
}

/* What the rules see under the derived prefilter's items: the canonical path. */
static bool rules_match(const char *p, size_t n)
{
	static const char *const prefixes[] = {"/var/log/", "/root/"};

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (n >= strlen(prefixes[i]) && !memcmp(p, prefixes[i], strlen(prefixes[i])))
			return true;
	return n == strlen("/etc/shadow") && !memcmp(p, "/etc/shadow", n);
}

static void spec_for_unlink(struct filter_spec *f)
{
	filter_spec_init(f);
	f->types[VG_EV_UNLINK].mode = VG_FILTER_MATCH;
	cr_assert_eq(filter_spec_add_path(f, VG_EV_UNLINK, "/var/log/", 9, true), 0);
	cr_assert_eq(filter_spec_add_path(f, VG_EV_UNLINK, "/root/", 6, true), 0);
	cr_assert_eq(filter_spec_add_path(f, VG_EV_UNLINK, "/etc/shadow", 11, false), 0);
}

/* One name: the prefilter passes whatever the rules could match, and decides plain
 * names exactly. */
static void check_agreement(const struct filter_spec *f, const char *base, const char *name)
{
	struct frec r;
	struct event ev;
	bool pass, match;

	kernel_record(&r, base, name);
	cr_assert_eq(event_decode(&ev, r.buf, r.off), 0);
	cr_assert(ev.path.ptr, "%s + %s", base, name);
	check_canonical(ev.path.ptr, ev.path.len);
	pass = filter_spec_pass(f, &ev);
	match = rules_match(ev.path.ptr, ev.path.len);
	cr_assert(pass || !match, "dropped %s + %s although the rules see %.*s", base, name,
		  (int)ev.path.len, ev.path.ptr);
	if (!event_name_undecided(name, strlen(name)))
		cr_assert_eq(pass, match, "plain name %s + %s judged wrong", base, name);
}

Test(paths, prefilter_passes_every_spelling_the_rules_could_match)
{
	static const char *const forms[] = {
	    "var//log/syslog",
	    "/var/tmp/../log/syslog",
	    "/var/log/",
	    "/var/log/./x",
	    "../log/syslog",
	    "../../etc/shadow",
	    "shadow/",
	    "./shadow",
	    "",
	    "/etc//shadow",
	    "/etc/shadow/.",
	    "/root/.bash_history/",
	    "syslog",
	    "shadow",
	    ".bash_history",
	};
	static const char *const bases[] = {"/", "/var/log", "/var/tmp", "/etc", "/root"};
	struct filter_spec f;

	spec_for_unlink(&f);
	for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++)
		for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
			check_agreement(&f, bases[b], forms[i]);
	filter_spec_free(&f);
}

Test(paths, prefilter_agrees_on_generated_names)
{
	static const char *const parts[] = {"var",	    "log", "tmp", "etc", "shadow", "syslog",
					    "root",	    ".",   ".",	  "..",	 "..",	   "",
					    ".bash_history"};
	static const char *const bases[] = {"/", "/var", "/var/log", "/tmp", "/etc", "/root"};
	struct filter_spec f;
	unsigned int seed = 13;

	spec_for_unlink(&f);
	for (int k = 0; k < 20000; k++) {
		char name[512] = "";
		int n = 1 + rand_r(&seed) % 6;

		if (rand_r(&seed) % 2)
			strcat(name, "/");
		for (int i = 0; i < n; i++) {
			if (i)
				strcat(name, "/");
			strcat(name, parts[rand_r(&seed) % (sizeof(parts) / sizeof(parts[0]))]);
		}
		if (rand_r(&seed) % 4 == 0)
			strcat(name, "/");
		check_agreement(&f, bases[rand_r(&seed) % (sizeof(bases) / sizeof(bases[0]))],
				name);
	}
	filter_spec_free(&f);
}

Test(paths, undecided_names_are_the_kernels)
{
	/* the twin of filter_name_undecided() in bpf/core/filter.bpf.h */
	cr_assert(event_name_undecided(NULL, 0));
	cr_assert(event_name_undecided("", 0));
	cr_assert(event_name_undecided(".", 1));
	cr_assert(event_name_undecided("..", 2));
	cr_assert(event_name_undecided(".bashrc", 7));
	cr_assert(event_name_undecided("/etc/shadow", 11));
	cr_assert(event_name_undecided("log/syslog", 10));
	cr_assert(event_name_undecided("shadow/", 7));
	cr_assert(!event_name_undecided("shadow", 6));
	cr_assert(!event_name_undecided("a.b..", 5));
}

static void chroot_record(struct frec *r, const char *path, uint16_t skip, bool chrooted)
{
	frec_init(r, VG_EV_UNLINK, VG_SYS_UNLINK, 0);
	frec_str(r, &r->f.path, path);
	r->f.path_skip = skip;
	if (chrooted)
		r->f.hdr.flags |= VG_HF_CHROOT;
}

Test(paths, chroot_path_is_the_suffix_the_task_saw)
{
	struct frec r;
	struct event ev;

	chroot_record(&r, "/var/log/syslog", 4, true);
	cr_assert_eq(event_decode(&ev, r.buf, r.off), 0);
	cr_assert_eq(ev.path.len, 15);
	cr_assert(ev.chroot_path.ptr && !strcmp(ev.chroot_path.ptr, "/log/syslog"));

	chroot_record(&r, "/var", 4, true); /* the root itself */
	cr_assert_eq(event_decode(&ev, r.buf, r.off), 0);
	cr_assert(ev.chroot_path.ptr && !strcmp(ev.chroot_path.ptr, "/"));

	chroot_record(&r, "/etc/shadow", VG_SKIP_OUTSIDE, true); /* outside the root */
	cr_assert_eq(event_decode(&ev, r.buf, r.off), 0);
	cr_assert_null(ev.chroot_path.ptr);

	chroot_record(&r, "/var/log/syslog", 0, false); /* not chrooted */
	cr_assert_eq(event_decode(&ev, r.buf, r.off), 0);
	cr_assert_null(ev.chroot_path.ptr);

	chroot_record(&r, "/var/log", 40, true); /* a skip past the end is refused */
	cr_assert_eq(event_decode(&ev, r.buf, r.off), 0);
	cr_assert_null(ev.chroot_path.ptr);

	/* a joined name inside the chroot is folded in both forms */
	chroot_record(&r, "/var/tmp/../log//x/", 4, true);
	r.f.hdr.flags |= VG_FL_PATH_JOINED;
	cr_assert_eq(event_decode(&ev, r.buf, r.off), 0);
	cr_assert(!strcmp(ev.path.ptr, "/var/log/x"), "%s", ev.path.ptr);
	cr_assert(!strcmp(ev.chroot_path.ptr, "/log/x"), "%s", ev.chroot_path.ptr);
}
