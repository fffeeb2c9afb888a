// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_output_file.c - unit tests for the file sink: JSON lines, size rotation
 * that loses and tears no line, the number of backups kept, a full disk (/dev/full
 * and a file size limit that makes a write stop half-way) counted without stopping
 * the sink, a file moved away by logrotate, and the start-up error.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/metrics.h"
#include "output/helpers.h"

struct file_env {
	char dir[64];		/* temp directory */
	char path[128];		/* the alerts file */
	struct vigil_config *c; /* configuration */
	struct outputs *o;	/* running outputs */
};

static void env_start(struct file_env *e, const char *extra, struct metrics *m)
{
	char err[512];

	test_tmpdir(e->dir, sizeof(e->dir));
	snprintf(e->path, sizeof(e->path), "%s/alerts.jsonl", e->dir);
	e->c = test_config("outputs:\n  - type: file\n    path: %s\n%s", e->path, extra);
	e->o = outputs__new(e->c, m, err, sizeof(err));
	cr_assert_not_null(e->o, "%s", err);
}

static void env_stop(struct file_env *e)
{
	char cmd[128];

	outputs__free(e->o);
	config__free(e->c);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
	cr_assert_eq(system(cmd), 0);
}

static struct output_sink_stats sink_stats(struct outputs *o)
{
	struct output_sink_stats ss;
	struct outputs_stats st;

	outputs__stats(o, &st, &ss, 1);
	return ss;
}

static void wait_handled(struct outputs *o, uint64_t n)
{
	double end = test_now() + 10;
	struct output_sink_stats ss;

	do {
		ss = sink_stats(o);
		if (ss.delivered + ss.failed + ss.dropped >= n)
			return;
		usleep(1000);
	} while (test_now() < end);
	cr_assert_fail("only %llu of %llu alerts handled", (unsigned long long)ss.delivered,
		       (unsigned long long)n);
}

/* Checks every line of path is a whole alert; appends their evt.num to nums. */
static void read_lines(const char *path, unsigned long *nums, size_t *n, size_t max_bytes)
{
	size_t len;
	char *buf = test_read_file(path, &len), *line, *save;

	cr_assert_not_null(buf, "%s missing", path);
	if (max_bytes)
		cr_assert_leq(len, max_bytes, "%s has %zu bytes", path, len);
	cr_assert(len == 0 || buf[len - 1] == '\n', "%s ends in a partial line", path);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *num = strstr(line, "\"evt.num\":");

		cr_assert_eq(line[0], '{', "torn line in %s: %.40s", path, line);
		cr_assert_eq(line[strlen(line) - 1], '}', "torn line in %s", path);
		cr_assert_not_null(num);
		nums[(*n)++] = strtoul(num + 10, NULL, 10);
	}
	free(buf);
}

Test(output_file, json_lines)
{
	struct file_env e;
	unsigned long nums[16];
	size_t n = 0;
	char *buf;

	env_start(&e, "", NULL);
	test_emit(e.o, "File rule", RULE_PRIO_WARNING, 10);
	outputs__close(e.o);
	read_lines(e.path, nums, &n, 0);
	cr_assert_eq(n, 10);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(nums[i], i + 1, "in order");
	buf = test_read_file(e.path, NULL);
	cr_assert_eq(strncmp(buf, "{\"hostname\":\"node-1\",\"output\":", 30), 0);
	free(buf);
	env_stop(&e);
}

Test(output_file, rotation_loses_and_tears_no_line)
{
	struct file_env e;
	static unsigned long nums[2000];
	char name[160];
	size_t n = 0, files = 0;

	env_start(&e, "    max_size: 4K\n    backups: 200\n", NULL);
	test_emit(e.o, "Burst", RULE_PRIO_WARNING, 1500);
	outputs__close(e.o);
	cr_assert_eq(sink_stats(e.o).delivered, 1500);
	/* oldest backup first, the live file last: evt.num must count up without gaps */
	for (unsigned i = 200; i > 0; i--) {
		snprintf(name, sizeof(name), "%s.%u", e.path, i);
		if (access(name, F_OK))
			continue;
		read_lines(name, nums, &n, 4096);
		files++;
	}
	read_lines(e.path, nums, &n, 4096);
	cr_assert_gt(files, 50, "rotated %zu times", files);
	cr_assert_eq(n, 1500, "lines found: %zu", n);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(nums[i], i + 1, "line %zu holds alert %lu", i, nums[i]);
	env_stop(&e);
}

Test(output_file, backups_are_bounded)
{
	struct file_env e;
	char name[160];
	unsigned long nums[64];
	size_t n = 0;

	env_start(&e, "    max_size: 4K\n    backups: 2\n", NULL);
	test_emit(e.o, "Burst", RULE_PRIO_WARNING, 300);
	outputs__close(e.o);
	snprintf(name, sizeof(name), "%s.2", e.path);
	cr_assert_eq(access(name, F_OK), 0);
	snprintf(name, sizeof(name), "%s.3", e.path);
	cr_assert_neq(access(name, F_OK), 0, "only 2 backups are kept");
	read_lines(e.path, nums, &n, 4096);
	cr_assert_eq(nums[n - 1], 300, "the newest alert is in the live file");
	env_stop(&e);
}

Test(output_file, no_backups_truncates)
{
	struct file_env e;
	char name[160];
	unsigned long nums[64];
	size_t n = 0;

	env_start(&e, "    max_size: 4K\n    backups: 0\n", NULL);
	test_emit(e.o, "Burst", RULE_PRIO_WARNING, 100);
	outputs__close(e.o);
	snprintf(name, sizeof(name), "%s.1", e.path);
	cr_assert_neq(access(name, F_OK), 0);
	read_lines(e.path, nums, &n, 4096);
	cr_assert_eq(nums[n - 1], 100);
	env_stop(&e);
}

Test(output_file, disk_full_is_counted_and_survived)
{
	struct metrics *m = metrics__new(NULL);
	struct vigil_config *c = test_config("outputs:\n  - type: file\n    path: /dev/full\n");
	char err[256], *text;
	struct outputs *o = outputs__new(c, m, err, sizeof(err));
	struct output_sink_stats ss;

	cr_assert_not_null(o, "%s", err);
	test_emit(o, "Full", RULE_PRIO_WARNING, 5);
	wait_handled(o, 5);
	test_emit(o, "Full", RULE_PRIO_WARNING, 5); /* still running after the failure */
	outputs__close(o);
	ss = sink_stats(o);
	cr_assert_eq(ss.failed, 10);
	cr_assert_eq(ss.delivered, 0);
	cr_assert_not(ss.up);
	text = metrics__render(m, NULL);
	cr_assert_not_null(strstr(text, "vigil_output_failures_total{sink=\"file\",type=\"file\","
					"reason=\"disk_full\"} 10\n"),
			   "%s", text);
	cr_assert_not_null(strstr(text, "vigil_output_up{sink=\"file\",type=\"file\"} 0\n"));
	free(text);
	outputs__free(o);
	config__free(c);
	metrics__free(m);
}

Test(output_file, partial_write_is_cut_back)
{
	struct rlimit rl = {.rlim_cur = 1000, .rlim_max = 1000};
	struct file_env e;
	unsigned long nums[64];
	struct output_sink_stats ss;
	size_t n = 0, len;
	char *buf;

	env_start(&e, "", NULL);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0); /* this test runs in its own process */
	test_emit(e.o, "Limit", RULE_PRIO_WARNING, 20);
	outputs__close(e.o);
	ss = sink_stats(e.o);
	cr_assert_eq(ss.delivered + ss.failed, 20);
	cr_assert_gt(ss.failed, 0, "the limit must have been hit");
	buf = test_read_file(e.path, &len);
	cr_assert_leq(len, 1000);
	free(buf);
	read_lines(e.path, nums, &n, 1000); /* whole lines only */
	cr_assert_eq(n, ss.delivered, "every delivered alert is a whole line");
	env_stop(&e);
}

Test(output_file, moved_file_is_reopened)
{
	struct file_env e;
	char old[160];
	unsigned long nums[16];
	size_t n = 0;

	env_start(&e, "", NULL);
	test_emit(e.o, "Move", RULE_PRIO_WARNING, 5);
	wait_handled(e.o, 5);
	snprintf(old, sizeof(old), "%s.old", e.path);
	cr_assert_eq(rename(e.path, old), 0);
	test_emit(e.o, "Move", RULE_PRIO_WARNING, 5);
	outputs__close(e.o);
	read_lines(old, nums, &n, 0);
	cr_assert_eq(n, 5);
	n = 0;
	read_lines(e.path, nums, &n, 0);
	cr_assert_eq(n, 5, "new alerts go to a new file at the configured path");
	env_stop(&e);
}

Test(output_file, open_error_names_output_and_fix)
{
	struct vigil_config *c = test_config(
	    "outputs:\n  - type: stdout\n  - type: file\n    path: /nonexistent/d/a.jsonl\n");
	char err[512];

	errno = 0;
	cr_assert_null(outputs__new(c, NULL, err, sizeof(err)));
	cr_assert_eq(errno, ENOENT);
	cr_assert_str_eq(err, "output file (file, line 3): cannot open /nonexistent/d/a.jsonl: No "
			      "such file or directory; create its directory or change 'path'");
	config__free(c);
}
