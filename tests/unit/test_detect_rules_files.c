// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_detect_rules_files.c - unit tests for the agent's rules files as hostile
 * input: a file or directory others could write is refused with what to do, at
 * start and on reload (the running rules stay); a file in a root-owned sticky
 * directory such as /tmp is accepted; a file whose aliases expand without bound
 * does not replace the running rules either.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "detect/detect.h"

static const char good[] = "- rule: r\n  desc: d\n  condition: proc.name = x\n  output: o\n"
			   "  priority: WARNING\n";

static void put(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
	cr_assert_eq(chmod(path, mode), 0);
}

/* detect__new's result for one file, with what it wrote on stderr in err. */
static struct detect *start(const char *path, char *err, size_t len)
{
	static const char *files[1]; /* detect keeps the pointer, for reloads */
	struct detect_opts o = {.files = files, .n_files = 1, .min_priority = RULE_PRIO_DEBUG};
	char tmp[] = "/tmp/vigil-stderr-XXXXXX";
	int fd = mkstemp(tmp), saved = dup(STDERR_FILENO);
	struct detect *d;
	ssize_t n;

	files[0] = path;
	cr_assert_geq(fd, 0);
	dup2(fd, STDERR_FILENO);
	d = detect__new(&o);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, err, len - 1, 0);
	err[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(tmp);
	return d;
}

static char *tmpdir(void)
{
	static char dir[64];

	strcpy(dir, "/tmp/vigil-rulesfile-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	return dir;
}

Test(detect_rules_files, world_writable_file_is_refused)
{
	char *dir = tmpdir(), path[128], err[4096], want[512];
	struct detect *d;

	snprintf(path, sizeof(path), "%s/rules.yaml", dir);
	put(path, good, 0646);
	d = start(path, err, sizeof(err));
	cr_assert_null(d);
	snprintf(want, sizeof(want),
		 "%s: error: rules file writable by group or others (mode 0646): refused; run "
		 "`chmod go-w %s`\n",
		 path, path);
	cr_assert_str_eq(err, want);
	chmod(path, 0620);
	cr_assert_null(start(path, err, sizeof(err)), "group-writable too");
	chmod(path, 0644);
	d = start(path, err, sizeof(err));
	cr_assert_not_null(d, "%s", err);
	detect__free(d);
	unlink(path);
	rmdir(dir);
}

Test(detect_rules_files, writable_directory_is_refused_sticky_root_one_accepted)
{
	char *dir = tmpdir(), path[128], err[4096], want[512];
	struct detect *d;

	snprintf(path, sizeof(path), "%s/rules.yaml", dir);
	put(path, good, 0600);
	chmod(dir, 0777);
	cr_assert_null(start(path, err, sizeof(err)));
	snprintf(want, sizeof(want),
		 "%s: error: its directory %s is writable by group or others (mode 0777): "
		 "refused; run `chmod go-w %s`\n",
		 path, dir, dir);
	cr_assert_str_eq(err, want);
	chmod(dir, 01777);
	d = start(path, err, sizeof(err));
	if (geteuid() == 0) {
		cr_assert_not_null(d, "root's sticky directory, like /tmp: %s", err);
		detect__free(d);
	} else {
		cr_assert_null(d, "sticky, but not root's: others' files could be swapped");
	}
	unlink(path);
	rmdir(dir);
	/* /tmp itself: root's and sticky */
	snprintf(path, sizeof(path), "/tmp/vigil-rules-%d.yaml", (int)getpid());
	put(path, good, 0644);
	d = start(path, err, sizeof(err));
	cr_assert_not_null(d, "%s", err);
	detect__free(d);
	unlink(path);
}

Test(detect_rules_files, foreign_owner_is_refused)
{
	char *dir = tmpdir(), path[128], err[4096];
	struct detect *d;

	snprintf(path, sizeof(path), "%s/rules.yaml", dir);
	put(path, good, 0644);
	if (geteuid() == 0) {
		cr_assert_eq(chown(path, 65534, 65534), 0);
		cr_assert_null(start(path, err, sizeof(err)));
		cr_assert(strstr(err, "rules file owned by uid 65534, not root or vigil's user: "
				      "refused"),
			  "%s", err);
	} else {
		/* as a user: my own file is fine, root's /etc directory too */
		d = start(path, err, sizeof(err));
		cr_assert_not_null(d, "%s", err);
		detect__free(d);
	}
	unlink(path);
	rmdir(dir);
}

Test(detect_rules_files, reload_keeps_the_running_rules)
{
	char *dir = tmpdir(), path[128], err[4096];
	struct detect_stats st;
	struct detect *d;

	snprintf(path, sizeof(path), "%s/rules.yaml", dir);
	put(path, good, 0644);
	d = start(path, err, sizeof(err));
	cr_assert_not_null(d, "%s", err);
	chmod(path, 0666);
	cr_assert_eq(detect__reload(d), -EINVAL);
	/* billion laughs: refused fast, before anything is expanded */
	put(path,
	    "- rule: r\n  desc: d\n  condition: proc.name = x\n  output: o\n  priority: WARNING\n"
	    "  actions:\n    - &a [l, l, l, l, l, l, l, l, l, l]\n    - &b [*a, *a, *a, *a, *a, "
	    "*a, "
	    "*a, *a, *a, *a]\n    - &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n    - &d [*c, *c, "
	    "*c, *c, *c, *c, *c, *c, *c, *c]\n    - &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
	    "    - &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n    - &g [*f, *f, *f, *f, *f, *f, "
	    "*f, *f, *f, *f]\n",
	    0644);
	cr_assert_eq(detect__reload(d), -EINVAL);
	detect__stats(d, &st);
	cr_assert_eq(st.reload_errors, 2);
	cr_assert_eq(st.rules_loaded, 1, "the running rule stays");
	put(path, good, 0644);
	cr_assert_eq(detect__reload(d), 0);
	detect__free(d);
	unlink(path);
	rmdir(dir);
}
