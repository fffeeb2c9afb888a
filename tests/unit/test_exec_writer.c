// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_exec_writer.c - the exe's history at exec, from hand-built exec records run
 * through the process table and the rules as the pipeline runs them: the writer the
 * record carries (proc.exe_written, proc.exe_writer.*, its exe looked up in the table,
 * kept by a fork), and proc.exe_new / proc.exe_age from the exe's times against the
 * agent's start and detect.new_exe_age. prctl records' option and name decode too.
 */
#include "events/rules.h"

#define NS 1000000000ull

static const char exec_rules[] =
    "- rule: exec facts\n  desc: d\n  condition: evt.type = execve\n"
    "  output: \"w=%proc.exe_written pid=%proc.exe_writer.pid name=%proc.exe_writer.name "
    "exe=%proc.exe_writer.exepath uid=%proc.exe_writer.uid new=%proc.exe_new "
    "age=%proc.exe_age\"\n  priority: WARNING\n"
    "- rule: forked facts\n  desc: d\n  condition: evt.type = procexit\n"
    "  output: \"w=%proc.exe_written pid=%proc.exe_writer.pid\"\n  priority: WARNING\n"
    "- rule: renamed\n  desc: d\n  condition: evt.type = prctl and evt.arg.option = PR_SET_NAME\n"
    "  output: \"name=%evt.arg.name comm=%proc.name\"\n  priority: WARNING\n";

/* An exec record of pid running exe, into buf; returns its size. */
static size_t exec_record(void *buf, uint32_t pid, uint64_t start_ns, const char *exe)
{
	struct vg_exec *e = buf;
	size_t n = strlen(exe), off = sizeof(*e);

	memset(e, 0, sizeof(*e));
	e->hdr.type = VG_EV_EXEC;
	e->hdr.pid = e->hdr.tid = pid;
	e->hdr.ppid = 1;
	e->hdr.ts_ns = start_ns + 1000;
	e->hdr.start_ns = start_ns;
	e->hdr.loginuid = (uint32_t)-1;
	memcpy(e->hdr.comm, "x", 2);
	e->exe.off = off;
	e->exe.len = n;
	memcpy((char *)buf + off, exe, n + 1);
	off += n + 1;
	e->hdr.size = off;
	return off;
}

/* Runs an exec record through the table and the rules, the exe's times set from the
 * event's time: changed `ago` ns before it (0: times unknown). */
static void run_exec(struct detect *d, struct proctable *pt, void *buf, size_t len, uint64_t now,
		     uint64_t ago)
{
	struct event ev;

	nfired = 0;
	if (ago) {
		((struct vg_exec *)buf)->exe_ctime_ns = now - ago;
		((struct vg_exec *)buf)->exe_mtime_ns = now - ago - NS;
	}
	cr_assert_eq(event_decode(&ev, buf, len), 0);
	ev.time_ns = now;
	ev.proc = proctable__on_exec(pt, buf, len);
	cr_assert_not_null(ev.proc);
	detect__eval(d, &ev, pt, "host");
}

Test(exec_writer, writer_and_newness)
{
	struct detect *d = detect_of(exec_rules);
	struct proctable *pt = proctable__new(64, 0);
	uint64_t now = 1800000000ull * NS;
	char buf[1024];
	struct vg_exec *e = (struct vg_exec *)buf;
	const char *out;
	size_t n;

	cr_assert_not_null(pt);
	/* the writer, known to the table by its exec */
	n = exec_record(buf, 4242, 77, "/usr/bin/curl");
	run_exec(d, pt, buf, n, now, 0);
	out = fired_rule("exec facts");
	cr_assert_not_null(out);
	cr_assert(strstr(out, "w=false pid=<NA> name=<NA> exe=<NA> uid=<NA>"), "%s", out);
	cr_assert(strstr(out, "new=<NA> age=<NA>"), "no times, no answer: %s", out);

	/* a program it wrote, run a few seconds later */
	n = exec_record(buf, 5000, 99, "/var/lib/x/dropped");
	e->hdr.flags |= VG_XF_EXE_WRITTEN;
	e->writer.pid = 4242;
	e->writer.tid = 4243;
	e->writer.uid = 1000;
	e->writer.start_ns = 77;
	memcpy(e->writer.comm, "curl", 5);
	run_exec(d, pt, buf, n, now, 5 * NS);
	out = fired_rule("exec facts");
	cr_assert_not_null(out);
	cr_assert(strstr(out, "w=true pid=4242 name=curl exe=/usr/bin/curl uid=1000"), "%s", out);
	cr_assert(strstr(out, "new=true age=5"), "within the default age: %s", out);

	/* the writer exited and its entry was evicted long before the program runs: its
	 * executable is still known */
	{
		struct vg_exit x = {.hdr = {.type = VG_EV_EXIT,
					    .size = sizeof(x),
					    .pid = 4242,
					    .tid = 4242,
					    .start_ns = 77,
					    .ts_ns = now}};

		cr_assert_not_null(proctable__on_exit(pt, &x));
		proctable__evict(pt, now + 3600 * NS);
		cr_assert_null(proctable__find(pt, 4242), "evicted after its linger");
		run_exec(d, pt, buf, n, now + 3600 * NS, 5 * NS);
		out = fired_rule("exec facts");
		cr_assert(strstr(out, "w=true pid=4242 name=curl exe=/usr/bin/curl"), "%s", out);
	}

	/* a writer of another start is another process: its exe is not this one's */
	e->writer.start_ns = 78;
	run_exec(d, pt, buf, n, now, 5 * NS);
	out = fired_rule("exec facts");
	cr_assert(strstr(out, "w=true pid=4242 name=curl exe=<NA>"), "%s", out);

	/* an old exe: older than the age and than the agent's start */
	e->hdr.flags &= ~VG_XF_EXE_WRITTEN;
	proctable__set_new_exe(pt, now - 60 * NS, 600 * NS);
	run_exec(d, pt, buf, n, now, 3600 * NS);
	out = fired_rule("exec facts");
	cr_assert(strstr(out, "w=false") && strstr(out, "new=false age=3600"), "%s", out);
	/* changed after the start, though older than the age */
	proctable__set_new_exe(pt, now - 60 * NS, 10 * NS);
	run_exec(d, pt, buf, n, now, 30 * NS);
	out = fired_rule("exec facts");
	cr_assert(strstr(out, "new=true age=30"), "%s", out);
	run_exec(d, pt, buf, n, now, 90 * NS);
	out = fired_rule("exec facts");
	cr_assert(strstr(out, "new=false age=90"), "%s", out);
	/* a time ahead of the event (a clock set back) is age 0 */
	run_exec(d, pt, buf, n, now, 0);
	e->exe_ctime_ns = now + 10 * NS;
	e->exe_mtime_ns = 0;
	run_exec(d, pt, buf, n, now, 0);
	out = fired_rule("exec facts");
	cr_assert(strstr(out, "new=true age=0"), "%s", out);

	detect__free(d);
	proctable__free(pt);
}

Test(exec_writer, fork_keeps_the_writer)
{
	struct detect *d = detect_of(exec_rules);
	struct proctable *pt = proctable__new(64, 0);
	uint64_t now = 1800000000ull * NS;
	char buf[1024];
	struct vg_exec *e = (struct vg_exec *)buf;
	struct vg_fork f = {0};
	struct vg_exit x = {0};
	struct event ev;
	const char *out;
	size_t n;

	cr_assert_not_null(pt);
	n = exec_record(buf, 6000, 100, "/var/lib/x/dropped");
	e->hdr.flags |= VG_XF_EXE_WRITTEN;
	e->writer.pid = 4242;
	memcpy(e->writer.comm, "wget", 5);
	run_exec(d, pt, buf, n, now, 0);
	f.hdr.type = VG_EV_FORK;
	f.hdr.size = sizeof(f);
	f.hdr.pid = f.hdr.tid = 6000;
	f.hdr.start_ns = 100;
	f.child_pid = f.child_tid = 6001;
	f.child_start_ns = 200;
	cr_assert_not_null(proctable__on_fork(pt, &f));
	x.hdr.type = VG_EV_EXIT;
	x.hdr.size = sizeof(x);
	x.hdr.pid = x.hdr.tid = 6001;
	x.hdr.start_ns = 200;
	nfired = 0;
	cr_assert_eq(event_decode(&ev, &x, sizeof(x)), 0);
	ev.proc = proctable__find(pt, 6001);
	cr_assert_not_null(ev.proc);
	detect__eval(d, &ev, pt, "host");
	out = fired_rule("forked facts");
	cr_assert_not_null(out);
	cr_assert(strstr(out, "w=true pid=4242"), "the child runs the same exe: %s", out);
	detect__free(d);
	proctable__free(pt);
}

Test(exec_writer, prctl_record_decodes)
{
	struct detect *d = detect_of(exec_rules);
	struct proctable *pt = proctable__new(16, 0);
	char buf[512];
	struct vg_priv *p = (struct vg_priv *)buf;
	const char *out;

	memset(buf, 0, sizeof(buf));
	p->hdr.type = VG_EV_PRCTL;
	p->hdr.pid = p->hdr.tid = 7000;
	memcpy(p->hdr.comm, "sshd", 5);
	p->syscall = VG_SYS_PRCTL;
	p->arg0 = 15;
	p->s1.off = sizeof(*p);
	p->s1.len = 4;
	memcpy(buf + sizeof(*p), "sshd", 5);
	p->hdr.size = sizeof(*p) + 5;
	eval_record(d, pt, buf, p->hdr.size, NULL);
	out = fired_rule("renamed");
	cr_assert_not_null(out);
	cr_assert(strstr(out, "name=sshd comm=sshd"), "%s", out);
	/* another option is not PR_SET_NAME */
	p->arg0 = 16;
	eval_record(d, pt, buf, p->hdr.size, NULL);
	cr_assert_null(fired_rule("renamed"));
	detect__free(d);
	proctable__free(pt);
}
