// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sink_exec.c - runs a program for each alert, the hook for playbooks (Ansible, a
 * cloud API that cordons the instance, a ticket). The program gets the alert's JSON
 * and a newline on stdin, then EOF. No shell: argv is the configured program and
 * args, the environment a clean minimal one plus the configured entries, every fd
 * but 0-2 closed, stdout /dev/null, stderr kept (its last bytes) for the log.
 *
 * Each run is the leader of its own process group: at its timeout the whole group
 * gets SIGKILL, so what it started dies with it. Up to `concurrency` programs run
 * at once; the sink's queue holds the rest, and a slot that frees takes the next
 * queued alert (sink__take) without waiting for the others. Every child is reaped
 * by pid (never waitpid(-1): other children of vigil are not ours). A zero exit is
 * a delivery; a program that cannot be started (deleted since start-up), a
 * non-zero exit or a signal, and a timeout are failures counted by reason. At the
 * shutdown deadline what still runs is killed and counted as dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/metrics.h"
#include "output/sink.h"
#include "rules/engine.h"
#include "util/text.h"

#define EXEC_STDERR_KEEP 4096	      /* last bytes of a run's stderr kept */
#define EXEC_STDERR_LOG	 200	      /* of which the failure log line shows */
#define EXEC_POLL_MAX_NS 100000000ull /* wake at least this often: the shutdown abort */
#define EXEC_POLL_NOPID	 10000000ull  /* without pidfds, how often exits are checked */
#define EXEC_ENV_RUN	 3	      /* per-run entries: VIGIL_RULE, _PRIORITY, _OUTPUT */
#define EXEC_PATH	 "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* One program running for one alert. */
struct exec_run {
	struct alert *rec;	       /* the alert it carries */
	bool owned;		       /* taken with sink__take: put when done */
	pid_t pid;		       /* the program, leader of its process group; 0: free */
	int pidfd;		       /* readable once it exits; -1 without pidfd_open */
	int in;			       /* write end of its stdin; -1 once the alert is written */
	size_t in_off;		       /* bytes of the alert line written */
	int err;		       /* read end of its stderr; -1 at EOF */
	char errbuf[EXEC_STDERR_KEEP]; /* the last bytes of its stderr */
	size_t errlen;		       /* bytes in errbuf */
	uint64_t started;	       /* CLOCK_MONOTONIC ns */
	uint64_t deadline;	       /* CLOCK_MONOTONIC ns: killed then */
	bool timed_out;		       /* killed at its deadline */
};

struct exec_sink {
	char **argv;	       /* program, args..., NULL */
	char **envp;	       /* clean environment, EXEC_ENV_RUN free slots first, NULL */
	struct exec_run *runs; /* concurrency slots */
	unsigned n_runs;       /* slots */
	struct pollfd *pfd;    /* poll set: up to 3 per run */
	struct exec_run **who; /* the run of each pfd entry */
};

static bool env_name_ok(const char *s, size_t len)
{
	if (!len || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

/* The configured env entry overriding NAME, if any. */
static bool env_configured(const struct exec_settings *c, const char *name)
{
	size_t len = strcspn(name, "=");

	for (size_t i = 0; i < c->env.n; i++)
		if (!strncmp(c->env.items[i], name, len) && c->env.items[i][len] == '=')
			return true;
	return false;
}

/* A 0 or -errno check that the program can be run, with the message in err. */
static int exec_check_program(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st)) {
		int ret = -errno;

		snprintf(err, errlen, "program: cannot use %s: %s; install it or fix the path",
			 path, strerror(-ret));
		return ret;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "program: %s is not a regular file; give the program itself",
			 path);
		return -EINVAL;
	}
	if (!(st.st_mode & 0111) || access(path, X_OK)) {
		snprintf(err, errlen, "program: %s is not executable; chmod +x it", path);
		return -EACCES;
	}
	return 0;
}

static void exec_fini(struct sink *s)
{
	struct exec_sink *x = s->priv;

	if (!x)
		return;
	free(x->argv);
	free(x->envp); /* its strings are static or the configuration's */
	free(x->runs);
	free(x->pfd);
	free(x->who);
	free(x);
	s->priv = NULL;
}

static int exec_init(struct sink *s, char *err, size_t errlen)
{
	const struct exec_settings *c = s->cfg->settings;
	static char *const defaults[] = {EXEC_PATH, "HOME=/", "LANG=C.UTF-8"};
	struct exec_sink *x;
	size_t n = 0;
	int ret;

	ret = exec_check_program(c->program, err, errlen);
	if (ret)
		return ret;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	s->priv = x;
	x->n_runs = c->concurrency ? c->concurrency : 1;
	x->argv = calloc(c->args.n + 2, sizeof(*x->argv));
	x->envp = calloc(EXEC_ENV_RUN + 3 + c->env.n + 1, sizeof(*x->envp));
	x->runs = calloc(x->n_runs, sizeof(*x->runs));
	x->pfd = calloc(x->n_runs * 3, sizeof(*x->pfd));
	x->who = calloc(x->n_runs * 3, sizeof(*x->who));
	if (!x->argv || !x->envp || !x->runs || !x->pfd || !x->who) {
		exec_fini(s);
		return -ENOMEM;
	}
	x->argv[0] = c->program;
	for (size_t i = 0; i < c->args.n; i++)
		x->argv[i + 1] = c->args.items[i];
	n = EXEC_ENV_RUN; /* filled per run */
	for (size_t i = 0; i < 3; i++)
		if (!env_configured(c, defaults[i]))
			x->envp[n++] = defaults[i];
	for (size_t i = 0; i < c->env.n; i++)
		x->envp[n++] = c->env.items[i];
	/* the worker takes as many alerts at once as may run at once */
	s->batch_max = x->n_runs;
	return 0;
}

static void fd_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Starts the program for rec in slot r; 0 or -errno (nothing left open). */
static int exec_spawn(struct sink *s, struct exec_sink *x, struct exec_run *r, struct alert *rec)
{
	const struct exec_settings *c = s->cfg->settings;
	const char *prio = rule_priority__name(rec->priority);
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int in[2], err[2], ret;
	sigset_t none, all;
	char *envp_run[EXEC_ENV_RUN];
	pid_t pid;

	if (pipe2(in, O_CLOEXEC))
		return -errno;
	if (pipe2(err, O_CLOEXEC)) {
		ret = -errno;
		close(in[0]);
		close(in[1]);
		return ret;
	}
	if (asprintf(&envp_run[0], "VIGIL_RULE=%s", rec->rule) < 0)
		envp_run[0] = NULL;
	if (asprintf(&envp_run[1], "VIGIL_PRIORITY=%s", prio ? prio : "Unknown") < 0)
		envp_run[1] = NULL;
	if (asprintf(&envp_run[2], "VIGIL_OUTPUT=%s", s->cfg->name) < 0)
		envp_run[2] = NULL;
	ret = -ENOMEM;
	if (!envp_run[0] || !envp_run[1] || !envp_run[2])
		goto err_env;
	for (size_t i = 0; i < EXEC_ENV_RUN; i++)
		x->envp[i] = envp_run[i];

	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, err[1], STDERR_FILENO);
	posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
	/* its own process group, default signal dispositions, nothing blocked (the
	 * worker thread blocks every signal, a child would inherit that) */
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
					  POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	ret = -posix_spawn(&pid, c->program, &fa, &at, x->argv, x->envp);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(err[1]);
	in[0] = err[1] = -1;
	if (ret)
		goto err_env;

	/* the child has exec'd (or failed to) when posix_spawn returns */
	for (size_t i = 0; i < EXEC_ENV_RUN; i++) {
		free(envp_run[i]);
		x->envp[i] = NULL;
	}
	r->rec = rec;
	r->owned = false;
	r->pid = pid;
	r->in = in[1];
	r->in_off = 0;
	r->err = err[0];
	r->errlen = 0;
	r->started = sink__now();
	r->deadline = r->started + c->timeout_ns;
	r->timed_out = false;
	fcntl(r->in, F_SETFL, O_NONBLOCK);
	fcntl(r->err, F_SETFL, O_NONBLOCK);
	/* not yet reaped, so pid still names our child */
	r->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	return 0;

err_env:
	for (size_t i = 0; i < EXEC_ENV_RUN; i++) {
		free(envp_run[i]);
		x->envp[i] = NULL;
	}
	fd_close(&in[0]);
	fd_close(&in[1]);
	fd_close(&err[0]);
	fd_close(&err[1]);
	return ret;
}

/* Writes what the pipe takes of the alert line; closes stdin when all is written. */
static void exec_feed(struct exec_run *r)
{
	size_t len = r->rec->json_len + 1;

	while (r->in >= 0 && r->in_off < len) {
		const char *p = r->in_off < r->rec->json_len ? r->rec->json + r->in_off : "\n";
		size_t n = r->in_off < r->rec->json_len ? r->rec->json_len - r->in_off : 1;
		ssize_t k = write(r->in, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN)
			return;
		if (k < 0) {
			/* EPIPE: it stopped reading; its exit status decides. Consume the
			 * SIGPIPE this thread has blocked, where vigil does not ignore it. */
			if (errno == EPIPE) {
				sigset_t pipe_set;

				sigemptyset(&pipe_set);
				sigaddset(&pipe_set, SIGPIPE);
				sigtimedwait(&pipe_set, NULL, &(struct timespec){0});
			}
			break;
		}
		r->in_off += k;
	}
	fd_close(&r->in);
}

/* Reads what its stderr holds now, keeping the last EXEC_STDERR_KEEP bytes. */
static void exec_drain(struct exec_run *r)
{
	char buf[4096];

	while (r->err >= 0) {
		ssize_t k = read(r->err, buf, sizeof(buf));

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN)
			return;
		if (k <= 0) {
			fd_close(&r->err);
			return;
		}
		if ((size_t)k >= sizeof(r->errbuf)) {
			memcpy(r->errbuf, buf + k - sizeof(r->errbuf), sizeof(r->errbuf));
			r->errlen = sizeof(r->errbuf);
			continue;
		}
		if (r->errlen + k > sizeof(r->errbuf)) {
			size_t drop = r->errlen + k - sizeof(r->errbuf);

			memmove(r->errbuf, r->errbuf + drop, r->errlen - drop);
			r->errlen -= drop;
		}
		memcpy(r->errbuf + r->errlen, buf, k);
		r->errlen += k;
	}
}

/* The end of its stderr, trimmed and escaped, for one log line. */
static void stderr_tail(const struct exec_run *r, char *out, size_t len)
{
	size_t n = r->errlen, from;
	char esc[EXEC_STDERR_LOG * TEXT_ESC_MAX + 1];
	size_t k;

	while (n &&
	       (r->errbuf[n - 1] == '\n' || r->errbuf[n - 1] == '\r' || r->errbuf[n - 1] == ' '))
		n--;
	if (!n) {
		snprintf(out, len, "; no stderr");
		return;
	}
	from = n > EXEC_STDERR_LOG ? n - EXEC_STDERR_LOG : 0;
	k = text_escape(esc, r->errbuf + from, n - from);
	esc[k] = '\0';
	snprintf(out, len, "; stderr: %s%s", from ? "..." : "", esc);
}

/* Frees slot r after its program was reaped (or never started). */
static void exec_release(struct exec_run *r)
{
	fd_close(&r->in);
	fd_close(&r->err);
	fd_close(&r->pidfd);
	if (r->owned)
		alert__put(r->rec);
	r->rec = NULL;
	r->pid = 0;
}

/* Reports how the reaped run ended; true when it delivered. */
static bool exec_outcome(struct sink *s, struct exec_run *r, int status)
{
	const struct exec_settings *c = s->cfg->settings;
	char tail[EXEC_STDERR_LOG * TEXT_ESC_MAX + 32];

	metric__observe(s->m.latency, (sink__now() - r->started) / 1e9);
	exec_drain(r); /* what it wrote before exiting (a child may keep the pipe open) */
	stderr_tail(r, tail, sizeof(tail));
	if (r->timed_out) {
		sink__failed(s, 1, "timeout",
			     "%s ran past its timeout of %.3g s: its process group was killed%s",
			     c->program, c->timeout_ns / 1e9, tail);
		return false;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		sink__ok(s);
		return true;
	}
	if (WIFEXITED(status))
		sink__failed(s, 1, "exit", "%s exited with status %d%s", c->program,
			     WEXITSTATUS(status), tail);
	else
		sink__failed(s, 1, "exit", "%s was killed by signal %d (%s)%s", c->program,
			     WTERMSIG(status), strsignal(WTERMSIG(status)), tail);
	return false;
}

/* Kills every running program's process group and reaps them (shutdown deadline). */
static void exec_abort_all(struct exec_sink *x)
{
	for (unsigned i = 0; i < x->n_runs; i++) {
		struct exec_run *r = &x->runs[i];

		if (!r->pid)
			continue;
		kill(-r->pid, SIGKILL);
		while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
			;
		exec_release(r);
	}
}

/* One poll over the runs' pipes and pidfds, at most until the nearest deadline. */
static void exec_wait(struct exec_sink *x)
{
	uint64_t now = sink__now(), wait_ns = EXEC_POLL_MAX_NS;
	nfds_t n = 0;

	for (unsigned i = 0; i < x->n_runs; i++) {
		struct exec_run *r = &x->runs[i];

		if (!r->pid)
			continue;
		if (r->in >= 0) {
			x->pfd[n] = (struct pollfd){.fd = r->in, .events = POLLOUT};
			x->who[n++] = r;
		}
		if (r->err >= 0) {
			x->pfd[n] = (struct pollfd){.fd = r->err, .events = POLLIN};
			x->who[n++] = r;
		}
		if (r->pidfd >= 0) {
			x->pfd[n] = (struct pollfd){.fd = r->pidfd, .events = POLLIN};
			x->who[n++] = r;
		} else if (wait_ns > EXEC_POLL_NOPID) {
			wait_ns = EXEC_POLL_NOPID;
		}
		if (!r->timed_out)
			wait_ns = r->deadline <= now		? 0
				  : r->deadline - now < wait_ns ? r->deadline - now
								: wait_ns;
	}
	if (poll(x->pfd, n, (int)((wait_ns + 999999) / 1000000)) <= 0)
		return;
	for (nfds_t i = 0; i < n; i++) {
		struct exec_run *r = x->who[i];

		if (!x->pfd[i].revents)
			continue;
		if (x->pfd[i].fd == r->in)
			exec_feed(r);
		else if (x->pfd[i].fd == r->err)
			exec_drain(r);
	}
}

static size_t exec_deliver(struct sink *s, struct alert *const *recs, size_t n)
{
	const struct exec_settings *c = s->cfg->settings;
	struct exec_sink *x = s->priv;
	size_t next = 0, done = 0;
	unsigned running = 0;

	for (;;) {
		uint64_t now;

		/* fill the free slots: this batch first, then what queued up meanwhile */
		for (unsigned i = 0; i < x->n_runs && !sink__aborting(s); i++) {
			struct exec_run *r = &x->runs[i];

			while (!r->pid && !sink__aborting(s)) {
				struct alert *rec;
				bool owned = false;
				int ret;

				if (next < n)
					rec = recs[next++];
				else if (sink__take(s, &rec, 1))
					owned = true;
				else
					break;
				ret = exec_spawn(s, x, r, rec);
				if (ret) {
					sink__failed(s, 1, "exec", "cannot run %s: %s", c->program,
						     strerror(-ret));
					if (owned)
						alert__put(rec);
					continue; /* the slot is still free */
				}
				r->owned = owned;
				exec_feed(r);
				running++;
			}
		}
		if (!running)
			break;
		if (sink__aborting(s)) {
			exec_abort_all(x); /* the worker counts them as dropped at shutdown */
			break;
		}
		exec_wait(x);
		now = sink__now();
		for (unsigned i = 0; i < x->n_runs; i++) {
			struct exec_run *r = &x->runs[i];
			siginfo_t si = {0};
			int status = 0;

			if (!r->pid)
				continue;
			/* peek first: its group is killed while the zombie still holds the pid */
			if (waitid(P_PID, r->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
				if (errno == EINTR)
					continue;
				/* ECHILD: someone else reaped it; its outcome is unknown */
				status = W_EXITCODE(127, 0);
			} else if (!si.si_pid) {
				if (!r->timed_out && now >= r->deadline) {
					kill(-r->pid, SIGKILL);
					r->timed_out = true;
				}
				continue;
			} else {
				if (r->timed_out || si.si_code != CLD_EXITED || si.si_status)
					kill(-r->pid, SIGKILL); /* what it left in its group */
				while (waitpid(r->pid, &status, 0) < 0 && errno == EINTR)
					;
			}
			if (exec_outcome(s, r, status))
				done++;
			exec_release(r);
			running--;
		}
	}
	return done;
}

static void exec_validate(struct opt_ctx *x, void *settings)
{
	const struct exec_settings *c = settings;

	if (!c->program || !*c->program)
		opt_error(x, "an exec output needs 'program': the absolute path of the program to "
			     "run for each alert (e.g. /usr/local/bin/vigil-playbook)");
	else if (c->program[0] != '/')
		opt_error_key(x, "program",
			      "program: '%s' is not an absolute path; give the full path (no "
			      "shell and no PATH lookup are used)",
			      c->program);
	for (size_t i = 0; i < c->env.n; i++) {
		const char *e = c->env.items[i];
		const char *eq = strchr(e, '=');

		if (!eq || !env_name_ok(e, eq - e)) {
			opt_error_key(x, "env",
				      "env: '%s' is not NAME=VALUE (NAME: letters, digits and '_', "
				      "not starting with a digit)",
				      e);
			break;
		}
	}
	if (!c->timeout_ns)
		opt_error_key(x, "timeout", "timeout must be above 0");
}

#define EXEC_KEY(field) .off = offsetof(struct exec_settings, field)

static const struct opt exec_keys[] = {
    {.key = "program",
     .type = OPT_STR,
     EXEC_KEY(program),
     .help = "absolute path of the program run for each alert (required); it must exist and "
	     "be executable at start"},
    {.key = "args",
     .type = OPT_LIST,
     EXEC_KEY(args),
     .expected = "strings",
     .help = "its arguments (no shell: each is passed as it is)"},
    {.key = "env",
     .type = OPT_LIST,
     EXEC_KEY(env),
     .expected = "NAME=VALUE strings",
     .help = "NAME=VALUE added to its environment (PATH, HOME and LANG have defaults)"},
    {.key = "timeout",
     .type = OPT_DURATION,
     EXEC_KEY(timeout_ns),
     .def = "10s",
     .help = "one run; then its process group is killed (SIGKILL)"},
    {.key = "concurrency",
     .type = OPT_UINT,
     .size = sizeof(unsigned),
     .min = 1,
     .max = 256,
     EXEC_KEY(concurrency),
     .def = "4",
     .help = "programs running at once; the queue holds the next alerts"},
    {0},
};

static const char *const reasons[] = {"exec", "exit", "timeout", NULL};

const struct sink_desc sink_exec = {
    .name = "exec",
    .help = "runs a program with the alert JSON on stdin (playbooks, tickets), no shell",
    .keys = exec_keys,
    .settings_size = sizeof(struct exec_settings),
    .reasons = reasons,
    .validate = exec_validate,
    .init = exec_init,
    .deliver = exec_deliver,
    .fini = exec_fini,
    .own_latency = true,
};
