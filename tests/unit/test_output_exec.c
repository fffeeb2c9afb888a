// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_output_exec.c - unit tests for the exec sink with real /bin/sh scripts in a
 * temporary directory: the alert JSON arrives intact on stdin with a clean
 * environment and no inherited fd; a script that sleeps past its timeout is
 * killed with what it started and counted; a failing script's status and stderr
 * are logged; concurrency never passes its bound; a program deleted after start
 * is a counted failure; the shutdown deadline kills what still runs; and the
 * configuration and start-up errors name the place.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/metrics.h"
#include "output/helpers.h"

struct exec_env {
	char dir[64];		/* temp directory: the script and what it records */
	char script[128];	/* the program */
	struct vigil_config *c; /* configuration */
	struct outputs *o;	/* running outputs */
	struct metrics *m;	/* metrics of o */
};

static void write_script(const char *path, const char *body)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fprintf(f, "#!/bin/sh\n%s", body);
	fclose(f);
	cr_assert_eq(chmod(path, 0755), 0);
}

/* A script with body in a fresh directory and an exec output running it with extra keys. */
static void env_start(struct exec_env *e, const char *body, const char *extra)
{
	char err[512];

	test_tmpdir(e->dir, sizeof(e->dir));
	snprintf(e->script, sizeof(e->script), "%s/hook.sh", e->dir);
	write_script(e->script, body);
	e->c = test_config("shutdown_timeout: 10s\noutputs:\n  - type: exec\n    program: %s\n"
			   "    args: ['%s']\n%s",
			   e->script, e->dir, extra);
	e->m = metrics__new(NULL);
	e->o = outputs__new(e->c, e->m, err, sizeof(err));
	cr_assert_not_null(e->o, "%s", err);
}

static void env_stop(struct exec_env *e)
{
	char cmd[128];

	outputs__free(e->o);
	config__free(e->c);
	metrics__free(e->m);
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

static struct output_sink_stats wait_handled(struct outputs *o, uint64_t n, double secs)
{
	double end = test_now() + secs;
	struct output_sink_stats ss;

	do {
		ss = sink_stats(o);
		if (ss.delivered + ss.failed + ss.dropped >= n)
			return ss;
		usleep(2000);
	} while (test_now() < end);
	cr_assert_fail("only %llu delivered, %llu failed of %llu alerts",
		       (unsigned long long)ss.delivered, (unsigned long long)ss.failed,
		       (unsigned long long)n);
	return ss;
}

static int open_fds(void)
{
	FILE *p = popen("ls /proc/$PPID/fd | wc -l", "r");
	int n = -1;

	cr_assert_not_null(p);
	cr_assert_eq(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

static char *file_in(const struct exec_env *e, const char *name)
{
	char path[192];

	snprintf(path, sizeof(path), "%s/%s", e->dir, name);
	return test_read_file(path, NULL);
}

/* Sends stderr to a file until stderr_end; returns the saved fd. */
static int stderr_begin(const char *path)
{
	int saved = dup(STDERR_FILENO), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	cr_assert_geq(fd, 0);
	dup2(fd, STDERR_FILENO);
	close(fd);
	return saved;
}

static void stderr_end(int saved)
{
	dup2(saved, STDERR_FILENO);
	close(saved);
}

/* The log file once it holds needle (the count comes before the log line). */
static char *wait_log(const char *path, const char *needle)
{
	double end = test_now() + 10;
	char *text;

	for (;;) {
		text = test_read_file(path, NULL);
		if (text && strstr(text, needle))
			return text;
		if (test_now() > end)
			cr_assert_fail("'%s' not in the log: %s", needle, text ? text : "");
		free(text);
		usleep(5000);
	}
}

static bool pid_gone(pid_t pid, double secs)
{
	double end = test_now() + secs;

	do {
		char path[64], state = 0;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		f = fopen(path, "r");
		if (!f)
			return true;
		if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1)
			state = 0;
		fclose(f);
		if (state == 'Z') /* dead, waiting for init to reap it */
			return true;
		usleep(10000);
	} while (test_now() < end);
	return false;
}

Test(output_exec, alert_json_arrives_intact_with_a_clean_environment)
{
	struct exec_env e;
	struct test_alert t;
	char *got, *env, *fds, want[4096];
	char extra[128];
	int leak = 3;

	/* an fd of vigil without O_CLOEXEC, below the 10 the shell keeps for itself */
	while (leak < 10 && fcntl(leak, F_GETFD) >= 0)
		leak++;
	cr_assert_lt(leak, 10);
	cr_assert_eq(dup2(STDOUT_FILENO, leak), leak);
	setenv("VIGIL_TEST_SECRET", "must-not-leak", 1);
	snprintf(extra, sizeof(extra), "    env: [PLAYBOOK=cordon, 'EMPTY=', LEAK_FD=%d]\n", leak);
	env_start(&e,
		  "cat > \"$1/alert.json\"\n"
		  "env | sort > \"$1/env\"\n"
		  "for fd in 3 4 5 6 7 8 9 $LEAK_FD; do [ -e /proc/$$/fd/$fd ] && echo $fd; done "
		  "> \"$1/fds\"\n"
		  "exit 0\n",
		  extra);
	test_emit(e.o, "Read shadow", RULE_PRIO_WARNING, 1);
	wait_handled(e.o, 1, 10);
	cr_assert_eq(sink_stats(e.o).delivered, 1);
	cr_assert_eq(sink_stats(e.o).failed, 0);

	test_alert_init(&t, "Read shadow", RULE_PRIO_WARNING, 1);
	snprintf(want, sizeof(want), "%s\n", t.j.buf);
	test_alert_fini(&t);
	got = file_in(&e, "alert.json");
	cr_assert_not_null(got);
	cr_assert_str_eq(got, want, "the alert JSON and a newline on stdin");

	env = file_in(&e, "env");
	cr_assert_not_null(strstr(env, "PLAYBOOK=cordon\n"), "%s", env);
	cr_assert_not_null(strstr(env, "EMPTY=\n"), "%s", env);
	cr_assert_not_null(strstr(env, "VIGIL_RULE=Read shadow\n"), "%s", env);
	cr_assert_not_null(strstr(env, "VIGIL_PRIORITY=Warning\n"), "%s", env);
	cr_assert_not_null(strstr(env, "VIGIL_OUTPUT=exec\n"), "%s", env);
	cr_assert_not_null(strstr(env, "PATH=/usr/local/sbin:"), "%s", env);
	cr_assert_null(strstr(env, "VIGIL_TEST_SECRET"), "vigil's own environment leaked: %s", env);
	fds = file_in(&e, "fds");
	cr_assert_str_eq(fds, "", "fds inherited beyond stdin, stdout, stderr: %s", fds);
	free(got);
	free(env);
	free(fds);
	close(leak);
	env_stop(&e);
}

Test(output_exec, every_alert_runs_the_program_once)
{
	struct exec_env e;
	char *log;
	int fds = open_fds(), now;

	/* ... and a count taken at such a moment is one too many */
	for (int i = 0; i < 4; i++) {
		usleep(5000);
		now = open_fds();
		fds = now < fds ? now : fds;
	}

	env_start(&e, "read -r line; echo \"$line\" | grep -o '\"evt.num\":[0-9]*' >> \"$1/log\"\n",
		  "    concurrency: 1\n");
	test_emit(e.o, "Many", RULE_PRIO_WARNING, 20);
	outputs__close(e.o);
	cr_assert_eq(sink_stats(e.o).delivered, 20);
	log = file_in(&e, "log");
	for (int i = 1; i <= 20; i++) {
		char want[32];

		snprintf(want, sizeof(want), "\"evt.num\":%d\n", i);
		cr_assert_not_null(strstr(log, want), "alert %d missing: %s", i, log);
	}
	cr_assert_eq(test_count(log, "\n"), 20);
	free(log);
	env_stop(&e);
	now = open_fds();
	/* the test framework's own threads hold an fd for a moment now and then: a leak
	 * is a count that stays off */
	for (int i = 0; i < 50 && now != fds; i++) {
		usleep(20000);
		now = open_fds();
	}
	cr_assert_eq(now, fds, "fds left open: %d, before %d", now, fds);
}

Test(output_exec, a_hanging_program_is_killed_at_its_timeout_with_its_children)
{
	struct exec_env e;
	struct output_sink_stats ss;
	char *pid_s, *text, log[192];
	double t0;
	int saved;
	pid_t child;

	snprintf(log, sizeof(log), "/tmp/vigil-unit-exec-timeout-%d.log", getpid());
	saved = stderr_begin(log);
	env_start(&e, "sleep 60 &\necho $! > \"$1/child\"\necho waiting >&2\nwait\n",
		  "    timeout: 300ms\n");
	t0 = test_now();
	test_emit(e.o, "Hang", RULE_PRIO_WARNING, 1);
	ss = wait_handled(e.o, 1, 5);
	cr_assert_eq(ss.failed, 1);
	cr_assert_eq(ss.delivered, 0);
	cr_assert_lt(test_now() - t0, 3, "killed at its timeout");
	pid_s = file_in(&e, "child");
	cr_assert_not_null(pid_s);
	child = atoi(pid_s);
	cr_assert_gt(child, 1);
	cr_assert(pid_gone(child, 2), "the program's child %d survived the timeout", child);
	text = metrics__render(e.m, NULL);
	cr_assert_not_null(strstr(text, "vigil_output_failures_total{sink=\"exec\",type=\"exec\","
					"reason=\"timeout\"} 1\n"),
			   "%s", text);
	free(text);
	text = wait_log(log, "ran past its timeout of 0.3 s");
	stderr_end(saved);
	cr_assert_not_null(strstr(text, "vigil: output exec (exec): "), "%s", text);
	cr_assert_not_null(strstr(text, "stderr: waiting"), "%s", text);
	free(text);
	free(pid_s);
	unlink(log);
	env_stop(&e);
}

Test(output_exec, a_failing_program_is_counted_with_its_status_and_stderr)
{
	struct exec_env e;
	struct output_sink_stats ss;
	char *text, log[192];
	int saved;

	snprintf(log, sizeof(log), "/tmp/vigil-unit-exec-fail-%d.log", getpid());
	saved = stderr_begin(log);
	env_start(&e, "cat > /dev/null\necho 'playbook cordon: host not found' >&2\nexit 3\n", "");
	test_emit(e.o, "Fail", RULE_PRIO_WARNING, 3);
	ss = wait_handled(e.o, 3, 10);
	cr_assert_eq(ss.failed, 3);
	cr_assert_not(ss.up);
	text =
	    wait_log(log, "hook.sh exited with status 3; stderr: playbook cordon: host not found");
	stderr_end(saved);
	free(text);
	text = metrics__render(e.m, NULL);
	cr_assert_not_null(strstr(text, "vigil_output_failures_total{sink=\"exec\",type=\"exec\","
					"reason=\"exit\"} 3\n"),
			   "%s", text);
	cr_assert_not_null(strstr(text, "vigil_output_up{sink=\"exec\",type=\"exec\"} 0\n"));
	cr_assert_not_null(
	    strstr(text, "vigil_output_delivery_seconds_count{sink=\"exec\",type=\"exec\"} 3\n"),
	    "one observation per program: %s", text);
	free(text);
	unlink(log);
	env_stop(&e);
}

Test(output_exec, a_program_that_does_not_read_stdin_still_succeeds)
{
	struct exec_env e;
	struct test_alert t;

	/* an alert bigger than a pipe's buffer, to a program that never reads it */
	env_start(&e, "exit 0\n", "");
	test_alert_init(&t, "Big", RULE_PRIO_WARNING, 1);
	{
		static char big[200000];

		memset(big, 'x', sizeof(big) - 1);
		t.f[1].value = big;
		cr_assert_eq(outputs__emit(e.o, &t.a), 0);
	}
	test_alert_fini(&t);
	wait_handled(e.o, 1, 10);
	cr_assert_eq(sink_stats(e.o).delivered, 1);
	env_stop(&e);
}

Test(output_exec, concurrency_is_bounded_and_used)
{
	struct exec_env e;
	char *counts;
	int max = 0;

	/* each run marks itself running, records how many are, and unmarks itself */
	env_start(&e,
		  "mkdir -p \"$1/running\"\n"
		  "touch \"$1/running/$$\"\n"
		  "ls \"$1/running\" | wc -l >> \"$1/counts\"\n"
		  "sleep 0.3\n"
		  "ls \"$1/running\" | wc -l >> \"$1/counts\"\n"
		  "rm \"$1/running/$$\"\n",
		  "    concurrency: 3\n");
	test_emit(e.o, "Burst", RULE_PRIO_WARNING, 12);
	wait_handled(e.o, 12, 20);
	cr_assert_eq(sink_stats(e.o).delivered, 12);
	counts = file_in(&e, "counts");
	for (char *p = counts, *end; *p; p = end) {
		int n = strtol(p, &end, 10);

		if (end == p)
			break;
		max = n > max ? n : max;
	}
	cr_assert_leq(max, 3, "more than 3 programs ran at once: %s", counts);
	cr_assert_eq(max, 3, "the bound was never reached: %s", counts);
	free(counts);
	env_stop(&e);
}

Test(output_exec, a_program_deleted_after_start_is_a_counted_failure)
{
	struct exec_env e;
	struct output_sink_stats ss;
	char *text;
	int saved;
	char log[192];

	snprintf(log, sizeof(log), "/tmp/vigil-unit-exec-gone-%d.log", getpid());
	env_start(&e, "cat > \"$1/alert.json\"\n", "");
	cr_assert_eq(unlink(e.script), 0);
	saved = stderr_begin(log);
	test_emit(e.o, "Gone", RULE_PRIO_WARNING, 2);
	ss = wait_handled(e.o, 2, 10);
	cr_assert_eq(ss.failed, 2);
	text = wait_log(log, "hook.sh: No such file or directory");
	stderr_end(saved);
	free(text);
	text = metrics__render(e.m, NULL);
	cr_assert_not_null(strstr(text, "vigil_output_failures_total{sink=\"exec\",type=\"exec\","
					"reason=\"exec\"} 2\n"),
			   "%s", text);
	free(text);
	/* it comes back: the sink goes on */
	write_script(e.script, "cat > \"$1/alert.json\"\n");
	test_emit(e.o, "Back", RULE_PRIO_WARNING, 1);
	ss = wait_handled(e.o, 3, 10);
	cr_assert_eq(ss.delivered, 1);
	cr_assert(ss.up);
	unlink(log);
	env_stop(&e);
}

Test(output_exec, shutdown_deadline_kills_what_still_runs)
{
	struct exec_env e;
	struct output_sink_stats ss;
	char cfg[512], err[512], *pid_s;
	double t0;
	pid_t pid;

	test_tmpdir(e.dir, sizeof(e.dir));
	snprintf(e.script, sizeof(e.script), "%s/hook.sh", e.dir);
	write_script(e.script, "echo $$ > \"$1/pid\"\nexec sleep 60\n");
	snprintf(cfg, sizeof(cfg),
		 "shutdown_timeout: 300ms\noutputs:\n  - type: exec\n    program: %s\n"
		 "    args: ['%s']\n    timeout: 60s\n    concurrency: 1\n",
		 e.script, e.dir);
	e.c = test_config("%s", cfg);
	e.m = NULL;
	e.o = outputs__new(e.c, NULL, err, sizeof(err));
	cr_assert_not_null(e.o, "%s", err);
	test_emit(e.o, "Hang", RULE_PRIO_WARNING, 3);
	for (t0 = test_now(); !(pid_s = file_in(&e, "pid")) && test_now() - t0 < 5;)
		usleep(10000);
	cr_assert_not_null(pid_s, "the program started");
	pid = atoi(pid_s);
	t0 = test_now();
	outputs__close(e.o);
	cr_assert_lt(test_now() - t0, 2, "shutdown waited for the program");
	ss = sink_stats(e.o);
	cr_assert_eq(ss.dropped, 3, "the running one and the queued ones are dropped");
	cr_assert_eq(ss.failed, 0);
	cr_assert(pid_gone(pid, 2), "the program survived shutdown");
	free(pid_s);
	env_stop(&e);
}

/* ---- configuration and start-up errors ---- */

static void config_error(const char *yaml, const char *want)
{
	struct vigil_config *c = config__new();
	char err[2048];

	cr_assert_not_null(c);
	cr_assert_neq(config__load_buf(c, "test.yaml", yaml, strlen(yaml), err, sizeof(err)), 0,
		      "accepted:\n%s", yaml);
	cr_assert_not_null(strstr(err, want), "want '%s' in:\n%s", want, err);
	config__free(c);
}

Test(output_exec, config_errors_name_the_place)
{
	config_error("outputs:\n  - type: exec\n",
		     "test.yaml:2:5: an exec output needs 'program': the absolute path");
	config_error("outputs:\n  - type: exec\n    program: bin/hook\n",
		     "test.yaml:3:14: program: 'bin/hook' is not an absolute path");
	config_error("outputs:\n  - type: exec\n    program: /bin/true\n    env: [NOEQUALS]\n",
		     "test.yaml:4:10: env: 'NOEQUALS' is not NAME=VALUE");
	config_error("outputs:\n  - type: exec\n    program: /bin/true\n    env: ['1X=a']\n",
		     "env: '1X=a' is not NAME=VALUE");
	config_error("outputs:\n  - type: exec\n    program: /bin/true\n    timeout: 0\n",
		     "test.yaml:4:14: timeout must be above 0");
	config_error("outputs:\n  - type: exec\n    program: /bin/true\n    concurrency: 0\n",
		     "test.yaml:4:18: concurrency:");
	config_error("outputs:\n  - type: exec\n    program: /bin/true\n    shell: true\n",
		     "unknown key 'shell' in a");
	config_error("outputs:\n  - type: exec\n    program: /bin/true\n    shell: true\n",
		     "exec output; known keys: type, name, priority, "
		     "queue_size, program, args, env, timeout, concurrency");
}

static void start_error(const char *program, const char *want)
{
	struct vigil_config *c =
	    test_config("outputs:\n  - type: exec\n    name: playbook\n    program: %s\n", program);
	char err[512];
	struct outputs *o = outputs__new(c, NULL, err, sizeof(err));

	cr_assert_null(o, "started with program %s", program);
	cr_assert_not_null(strstr(err, want), "want '%s' in: %s", want, err);
	config__free(c);
}

Test(output_exec, start_refuses_a_program_it_cannot_run)
{
	char dir[64], path[128];

	test_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/missing", dir);
	start_error(path, "output playbook (exec, line 2): program: cannot use ");
	start_error(path, "missing: No such file or directory; install it or fix the path");
	start_error(dir, "is not a regular file");
	snprintf(path, sizeof(path), "%s/plain", dir);
	write_script(path, "exit 0\n");
	cr_assert_eq(chmod(path, 0644), 0);
	start_error(path, "plain is not executable; chmod +x it");
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(rmdir(dir), 0);
}
