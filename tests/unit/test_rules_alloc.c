/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * test_rules_alloc.c - evaluation must never allocate. This binary interposes
 * malloc/calloc/realloc (forwarding to glibc) and counts calls made while rules are
 * evaluated: ~50 rules using every kind of constant (hash sets, prefix arrays,
 * pmatch, globs, regexes, numbers, networks, multi-valued fields). It also logs a
 * rough events/s figure; no timing is asserted.
 *
 * The same interposer injects allocation failures for other tests (alloc_inject.h).
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <time.h>

#include "alloc_inject.h"
#include "rules/fake.h"

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t m);
void *__libc_realloc(void *p, size_t n);
void *malloc(size_t n);
void *calloc(size_t n, size_t m);
void *realloc(void *p, size_t n);

static volatile int counting;
static volatile long allocs;

volatile long alloc_fail_countdown;
volatile long alloc_failed;

/* Whether this malloc or realloc is the one to fail. */
static int inject(void)
{
	if (alloc_fail_countdown <= 0 || --alloc_fail_countdown)
		return 0;
	alloc_failed++;
	errno = ENOMEM;
	return 1;
}

void *malloc(size_t n)
{
	if (counting)
		allocs++;
	return inject() ? NULL : __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
	if (counting)
		allocs++;
	return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
	if (counting)
		allocs++;
	return inject() ? NULL : __libc_realloc(p, n);
}

static const char *const conds[] = {
    "evt.type in (open, openat) and fd.name pmatch (/etc, /root/.ssh, /var/lib/*/keys)",
    "evt.type = execve and proc.name in (bash, sh, zsh, dash, ksh, csh, fish)",
    "evt.type = execve and proc.cmdline icontains \"base64 -d\"",
    "fd.name startswith /etc/ or fd.name startswith /boot or fd.name startswith /usr/lib",
    "proc.name = nc or proc.name = ncat or proc.name = socat or proc.name = netcat",
    "fd.name glob \"/home/*/.ssh/*\" and not proc.name in (ssh, sshd, scp)",
    "proc.cmdline regex \".*curl.*\\\\|.*sh\"",
    "evt.type = connect and fd.sport in (4444, 1337, 31337) and fd.sip = \"10.0.0.0/8\"",
    "evt.type = connect and not fd.net in (\"127.0.0.0/8\", \"192.168.0.0/16\")",
    "proc.aname in (nginx, httpd, apache2) and proc.name in (bash, sh)",
    "proc.aname[2] = sshd and user.name != root",
    "evt.arg.flags contains O_TRUNC and fd.directory in (/var/log, /var/adm)",
    "evt.is_open_write = true and fd.name endswith .so",
    "proc.pid < 0 or evt.rawres < -1",
    "proc.name = val(proc.pname) and proc.name exists",
    "user.uid = 0 and not user.name = root",
};

Test(rules_alloc, evaluation_does_not_allocate)
{
	char y[65536];
	size_t off = 0;
	int n_rules = 0;

	for (int rep = 0; rep < 3; rep++) {
		for (size_t i = 0; i < sizeof(conds) / sizeof(conds[0]); i++) {
			off += (size_t)snprintf(y + off, sizeof(y) - off,
						"- rule: r%d\n  desc: d\n  condition: '%s'\n"
						"  output: o %%proc.name\n  priority: INFO\n",
						n_rules++, conds[i]);
		}
	}
	struct rule_engine *e = fake_engine(y);
	cr_assert_eq(rule_engine__error_count(e), 0, "%s", fake_diags(e));
	cr_assert_geq(rule_engine__rule_count(e), 48);

	static const char *const names[] = {"bash", "nginx", "ssh", "cat", "nc", "python3"};
	static const char *const files[] = {"/etc/shadow",	   "/home/bob/.ssh/id_rsa",
					    "/var/lib/app/keys/k", "/tmp/x.so",
					    "/usr/bin/ls",	   "/var/log/syslog"};
	static const char *const ips[] = {"10.1.2.3", "127.0.0.1", "8.8.8.8", "::1"};
	struct fake_event evs[64];

	for (int i = 0; i < 64; i++) {
		struct fake_event ev = {
		    .type = (uint32_t)(i % FE__COUNT),
		    .proc_name = names[i % 6],
		    .proc_pname = names[(i / 6) % 6],
		    .cmdline = i % 3 ? "bash -c 'curl x | sh'" : "ls -l",
		    .pid = i - 5,
		    .has_pid = true,
		    .anames = {"sshd", "nginx", "systemd"},
		    .n_anames = i % 4,
		    .fd_name = files[i % 6],
		    .fd_dir = "/var/log",
		    .sport = (uint64_t)(i % 2 ? 4444 : 80),
		    .has_sport = true,
		    .sip = ips[i % 4],
		    .arg_flags = "O_WRONLY|O_TRUNC",
		    .is_write = i % 2,
		    .user = i % 5 ? "bob" : "root",
		    .rawres = -i,
		    .has_rawres = true,
		    .uid = (uint64_t)(i % 3),
		    .has_uid = true,
		};
		evs[i] = ev;
	}

	/* warm up: lazily created library state (PCRE2 frames, stdio) is not ours */
	long matches = 0;
	for (int i = 0; i < 1000; i++)
		matches += rule_engine__eval(e, evs[i % 64].type, &evs[i % 64], NULL, NULL);

	const long iters = 400000;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	allocs = 0;
	counting = 1;
	for (long i = 0; i < iters; i++)
		matches += rule_engine__eval(e, evs[i % 64].type, &evs[i % 64], NULL, NULL);
	counting = 0;
	clock_gettime(CLOCK_MONOTONIC, &b);

	cr_assert_eq(allocs, 0, "evaluation allocated %ld times", allocs);
	cr_assert_gt(matches, 0, "the events should match some rules");

	double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	/* a report, not a warning: Criterion fails the run on warnings */
	fprintf(stderr, "[INFO] %d rules: %.2f M events/s on one core (%ld matches)\n", n_rules,
		(double)iters / secs / 1e6, matches);
	rule_engine__free(e);
}

/* The interposer itself must see allocations, or the test above proves nothing. */
Test(rules_alloc, counter_works)
{
	allocs = 0;
	counting = 1;
	void *volatile p = malloc(16);
	counting = 0;
	free(p);
	cr_assert_eq(allocs, 1);
}
