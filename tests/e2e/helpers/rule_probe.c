// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rule_probe - test helper for the default ruleset's end-to-end tests: performs one
 * of the actions a rule watches for, harmlessly, and prints one line of JSON saying
 * what happened, {"action": A, "pid": P, "ret": R, ...}, R being -errno on failure.
 *
 *   rule_probe ptrace-attach       PTRACE_ATTACH a child of its own, then detach
 *   rule_probe ptrace-poke         attach a child and PTRACE_POKEDATA a word it already has
 *   rule_probe traceme             PTRACE_TRACEME on itself, then exit
 *   rule_probe bpf-prog            load a two-instruction socket filter ("return 0")
 *   rule_probe bpf-map             create a one-entry array map
 *   rule_probe memfd-exec PATH ARG...  copy PATH into a memfd and execute it from there
 *   rule_probe memfd-only          create a memfd and exit
 *   rule_probe setuid UID          setuid(UID)
 *   rule_probe masq-bind NAME      rename its task to NAME, then bind a socket to 127.0.0.1:0
 *
 * Anything that must not outlive the helper (children, programs, maps, memfds) goes
 * away when it exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A word the child owns at the same address as ours, for the poke. */
static volatile long poke_target = 0x5641474c;

static long result(long r)
{
	return r < 0 ? -errno : r;
}

static void say(const char *action, long ret, const char *extra_key, long extra)
{
	printf("{\"action\": \"%s\", \"pid\": %d, \"ret\": %ld", action, getpid(), ret);
	if (extra_key)
		printf(", \"%s\": %ld", extra_key, extra);
	printf("}\n");
	fflush(stdout);
}

static void fail(const char *what)
{
	fprintf(stderr, "rule_probe: %s: %s\n", what, strerror(errno));
	exit(2);
}

/*
 * Events of different kinds can reach the agent out of order: give it time to read
 * the exec that made this process before the event whose rule needs to know it.
 */
static void let_agent_catch_up(void)
{
	struct timespec ts = {0, 150 * 1000 * 1000};

	nanosleep(&ts, NULL);
}

/* A child that waits to be killed. */
static pid_t sleeper(void)
{
	pid_t pid = fork();

	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

static void bury(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, __WALL);
}

static int attach_and_stop(pid_t pid)
{
	long r = result(ptrace(PTRACE_ATTACH, pid, NULL, NULL));

	if (r == 0 && waitpid(pid, NULL, __WALL) < 0)
		fail("waitpid");
	return r;
}

static int do_ptrace(int poke)
{
	pid_t child = sleeper();
	long r;

	let_agent_catch_up();
	r = attach_and_stop(child);
	say("ptrace-attach", r, "target", child);
	if (r == 0 && poke) {
		long word = ptrace(PTRACE_PEEKDATA, child, (void *)&poke_target, NULL);

		r = result(ptrace(PTRACE_POKEDATA, child, (void *)&poke_target, (void *)word));
		say("ptrace-poke", r, "target", child);
	}
	if (r == 0)
		ptrace(PTRACE_DETACH, child, NULL, NULL);
	bury(child);
	return 0;
}

static int do_traceme(void)
{
	let_agent_catch_up();
	say("traceme", result(ptrace(PTRACE_TRACEME, 0, NULL, NULL)), NULL, 0);
	return 0;
}

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return result(syscall(SYS_bpf, cmd, attr, sizeof(*attr)));
}

static int do_bpf_prog(void)
{
	struct bpf_insn insns[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	static const char license[] = "GPL";
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (unsigned long)insns;
	attr.insn_cnt = sizeof(insns) / sizeof(insns[0]);
	attr.license = (unsigned long)license;
	let_agent_catch_up();
	say("bpf-prog", sys_bpf(BPF_PROG_LOAD, &attr), NULL, 0);
	return 0;
}

static int do_bpf_map(void)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 8;
	attr.max_entries = 1;
	let_agent_catch_up();
	say("bpf-map", sys_bpf(BPF_MAP_CREATE, &attr), NULL, 0);
	return 0;
}

/* Copies the file at path into a new memfd; returns the memfd. */
static int memfd_copy(const char *path)
{
	char buf[65536];
	int in, mfd;
	ssize_t n;

	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		fail(path);
	mfd = memfd_create("vigil-e2e-payload", MFD_CLOEXEC);
	if (mfd < 0)
		fail("memfd_create");
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(mfd, buf, n) != n)
			fail("write to memfd");
	}
	if (n < 0)
		fail("read");
	close(in);
	return mfd;
}

static int do_memfd_exec(char **argv)
{
	extern char **environ;
	int mfd = memfd_copy(argv[0]);

	say("memfd-exec", mfd, NULL, 0);
	fexecve(mfd, argv, environ);
	fail("fexecve");
	return 2;
}

static int do_memfd_only(void)
{
	let_agent_catch_up();
	say("memfd-only", result(memfd_create("vigil-e2e-data", MFD_CLOEXEC)), NULL, 0);
	return 0;
}

static int do_setuid(const char *uid)
{
	long r;

	let_agent_catch_up();
	r = result(syscall(SYS_setuid, atol(uid)));
	say("setuid", r, "uid", (long)getuid());
	return 0;
}

static int do_masq_bind(const char *name)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int s;

	if (prctl(PR_SET_NAME, name, 0, 0, 0))
		fail("prctl");
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		fail("socket");
	let_agent_catch_up();
	say("masq-bind", result(bind(s, (struct sockaddr *)&sa, sizeof(sa))), NULL, 0);
	close(s);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (!strcmp(cmd, "ptrace-attach"))
		return do_ptrace(0);
	if (!strcmp(cmd, "ptrace-poke"))
		return do_ptrace(1);
	if (!strcmp(cmd, "traceme"))
		return do_traceme();
	if (!strcmp(cmd, "bpf-prog"))
		return do_bpf_prog();
	if (!strcmp(cmd, "bpf-map"))
		return do_bpf_map();
	if (!strcmp(cmd, "memfd-exec") && argc > 2)
		return do_memfd_exec(argv + 2);
	if (!strcmp(cmd, "memfd-only"))
		return do_memfd_only();
	if (!strcmp(cmd, "setuid") && argc > 2)
		return do_setuid(argv[2]);
	if (!strcmp(cmd, "masq-bind") && argc > 2)
		return do_masq_bind(argv[2]);
	fprintf(stderr, "usage: rule_probe ptrace-attach|ptrace-poke|traceme|bpf-prog|bpf-map|"
			"memfd-exec PATH ARG...|memfd-only|setuid UID|masq-bind NAME\n");
	return 2;
}
