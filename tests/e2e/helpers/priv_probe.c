// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * priv_probe - test helper: makes privilege and kernel syscalls exactly as named
 * (raw syscall(2)) and prints one JSON object per call, so a test knows what the
 * sensor must have seen: {"op": NAME, "pid": P, "ret": R, "errno": E, ...}.
 *
 *   priv_probe setid            setresuid down and back, setgid, setreuid, setuid (EPERM last)
 *   priv_probe capset           drop CAP_NET_RAW, then fail to get it back
 *   priv_probe ptrace           PTRACE_ATTACH, PEEKUSER, DETACH on one child, SEIZE another
 *   priv_probe unshare          unshare(CLONE_NEWUSER)
 *   priv_probe setns            setns into a child's new UTS namespace, a wrong nstype, a pidfd
 *   priv_probe mount DIR        in a private mount namespace: tmpfs on DIR, umount2, a failure
 *                               (mount_private: the remount that makes it private, when refused)
 *   priv_probe memfd NAME       memfd_create(NAME, MFD_CLOEXEC | MFD_ALLOW_SEALING)
 *   priv_probe chroot DIR       chroot(DIR), then a failing chroot
 *   priv_probe kill             signal 0 to itself, then 0, SIGCONT (tgkill), SIGKILL to a child
 *   priv_probe bpf              BPF_MAP_CREATE of a 1-entry array, a refused BPF_PROG_LOAD
 *   priv_probe module FILE      finit_module(FILE), init_module(junk), delete_module(no such)
 * It never loads a module: FILE must not be one.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOBODY 65534

static long ret_of(long r)
{
	return r < 0 ? -errno : r;
}

/* {"op": op, "pid": P, "ret": R (-errno on failure), then the caller's extra fields */
static void report(const char *op, long r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report(const char *op, long r, const char *fmt, ...)
{
	va_list ap;

	printf("{\"op\": \"%s\", \"pid\": %d, \"ret\": %ld", op, getpid(), r);
	if (fmt) {
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	printf("}\n");
	fflush(stdout);
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static pid_t child_pause(void)
{
	pid_t c = fork();

	if (c < 0)
		die("fork");
	if (c == 0) {
		for (;;)
			pause();
	}
	return c;
}

static void reap(pid_t c)
{
	kill(c, SIGKILL);
	waitpid(c, NULL, __WALL);
}

struct ids {
	unsigned int r, e, s;
};

static struct ids ids_now(bool gid)
{
	struct ids i;

	if (gid ? getresgid(&i.r, &i.e, &i.s) : getresuid(&i.r, &i.e, &i.s))
		die("getresid");
	return i;
}

/* Runs one set*id call and reports the ids around it. */
static void setid(const char *op, long nr, bool gid, long a0, long a1, long a2)
{
	struct ids before = ids_now(gid), after;
	long r = ret_of(syscall(nr, a0, a1, a2));

	after = ids_now(gid);
	report(op, r, ", \"old\": [%u, %u, %u], \"new\": [%u, %u, %u]", before.r, before.e,
	       before.s, after.r, after.e, after.s);
}

static int do_setid(void)
{
	setid("setresuid", SYS_setresuid, false, NOBODY, NOBODY, 0);
	setid("setresuid", SYS_setresuid, false, 0, 0, 0);
	setid("setgid", SYS_setgid, true, NOBODY, 0, 0);
	setid("setreuid", SYS_setreuid, false, -1, NOBODY, 0);
	setid("setuid", SYS_setuid, false, 0, 0, 0);
	setid("setuid", SYS_setuid, false, NOBODY, 0, 0);
	setid("setuid", SYS_setuid, false, 0, 0, 0);
	return 0;
}

static uint64_t cap64(const struct __user_cap_data_struct *d, int which)
{
	const uint32_t *lo = which == 0	  ? &d[0].effective
			     : which == 1 ? &d[0].permitted
					  : &d[0].inheritable;
	const uint32_t *hi = which == 0	  ? &d[1].effective
			     : which == 1 ? &d[1].permitted
					  : &d[1].inheritable;

	return (uint64_t)*hi << 32 | *lo;
}

static void report_caps(const char *op, long r, const struct __user_cap_data_struct *old,
			const struct __user_cap_data_struct *now)
{
	report(op, r,
	       ", \"old\": {\"effective\": \"0x%llx\", \"permitted\": \"0x%llx\", "
	       "\"inheritable\": \"0x%llx\"}, \"new\": {\"effective\": \"0x%llx\", "
	       "\"permitted\": \"0x%llx\", \"inheritable\": \"0x%llx\"}",
	       (unsigned long long)cap64(old, 0), (unsigned long long)cap64(old, 1),
	       (unsigned long long)cap64(old, 2), (unsigned long long)cap64(now, 0),
	       (unsigned long long)cap64(now, 1), (unsigned long long)cap64(now, 2));
}

static int do_capset(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct old[2], want[2], now[2];
	long r;

	if (syscall(SYS_capget, &h, old))
		die("capget");
	memcpy(want, old, sizeof(want));
	want[0].effective &= ~(1u << CAP_NET_RAW);
	want[0].permitted &= ~(1u << CAP_NET_RAW);
	r = ret_of(syscall(SYS_capset, &h, want));
	syscall(SYS_capget, &h, now);
	report_caps("capset", r, old, now);
	/* a permitted capability once dropped cannot come back */
	memcpy(old, now, sizeof(old));
	want[0].permitted |= 1u << CAP_NET_RAW;
	r = ret_of(syscall(SYS_capset, &h, want));
	syscall(SYS_capget, &h, now);
	report_caps("capset", r, old, now);
	return 0;
}

static int do_ptrace(void)
{
	pid_t c1 = child_pause(), c2 = child_pause();
	long r;

	r = ret_of(syscall(SYS_ptrace, PTRACE_ATTACH, c1, 0, 0));
	report("ptrace_attach", r, ", \"target\": %d", c1);
	/* a refused attach leaves nothing to wait for */
	if (r == 0 && waitpid(c1, NULL, __WALL) != c1)
		die("waitpid");
	/* reads and detaching are not sent: the test checks they never show */
	r = ret_of(syscall(SYS_ptrace, PTRACE_PEEKUSER, c1, 0, 0));
	report("ptrace_peekuser", r, ", \"target\": %d", c1);
	r = ret_of(syscall(SYS_ptrace, PTRACE_DETACH, c1, 0, 0));
	report("ptrace_detach", r, ", \"target\": %d", c1);
	r = ret_of(syscall(SYS_ptrace, PTRACE_SEIZE, c2, 0, PTRACE_O_EXITKILL));
	report("ptrace_seize", r, ", \"target\": %d, \"data\": %d", c2, PTRACE_O_EXITKILL);
	reap(c1);
	reap(c2);
	return 0;
}

static int do_unshare(void)
{
	report("unshare", ret_of(syscall(SYS_unshare, CLONE_NEWUSER)), ", \"flags\": %d",
	       CLONE_NEWUSER);
	return 0;
}

static int do_setns(void)
{
	char path[64], link[128];
	int p[2], fd;
	pid_t c;
	ssize_t n;
	char b;

	if (pipe(p))
		die("pipe");
	c = fork();
	if (c < 0)
		die("fork");
	if (c == 0) {
		if (unshare(CLONE_NEWUTS))
			die("unshare");
		if (write(p[1], "x", 1) != 1)
			die("write");
		for (;;)
			pause();
	}
	if (read(p[0], &b, 1) != 1)
		die("read");
	snprintf(path, sizeof(path), "/proc/%d/ns/uts", c);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		die(path);
	link[n] = 0;
	fd = open(path, O_RDONLY);
	if (fd < 0)
		die(path);
	report("setns", ret_of(syscall(SYS_setns, fd, CLONE_NEWUTS)),
	       ", \"ns\": \"%s\", \"nstype\": %d", link, CLONE_NEWUTS);
	/* the fd is a UTS namespace, not a network one */
	report("setns", ret_of(syscall(SYS_setns, fd, CLONE_NEWNET)),
	       ", \"ns\": \"%s\", \"nstype\": %d", link, CLONE_NEWNET);
	/* a pidfd names the process whose namespaces to join */
	fd = syscall(SYS_pidfd_open, c, 0);
	if (fd < 0)
		die("pidfd_open");
	report("setns", ret_of(syscall(SYS_setns, fd, CLONE_NEWUTS)),
	       ", \"ns\": \"pidfd:[%d]\", \"nstype\": %d", c, CLONE_NEWUTS);
	reap(c);
	return 0;
}

static int do_mount(const char *dir)
{
	const char *slash = strrchr(dir, '/');
	char parent[4096];
	long r;

	if (!slash || slash == dir || (size_t)(slash - dir) >= sizeof(parent))
		die("mount: DIR must be an absolute path below /");
	/* the host's mount table is never touched: a refused remount (a deny rule on mount)
	 * is reported and nothing else is tried */
	if (unshare(CLONE_NEWNS))
		die("private mount namespace");
	r = ret_of(mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL));
	if (r) {
		report("mount_private", r, NULL);
		return 0;
	}
	memcpy(parent, dir, slash - dir);
	parent[slash - dir] = 0;
	if (chdir(parent))
		die(parent);
	/* relative target: the sensor joins it to the cwd */
	r = ret_of(
	    syscall(SYS_mount, "vigil-tmpfs", slash + 1, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m"));
	report("mount", r,
	       ", \"source\": \"vigil-tmpfs\", \"target\": \"%s\", \"fstype\": "
	       "\"tmpfs\", \"flags\": %d",
	       dir, MS_NOSUID | MS_NODEV);
	r = ret_of(syscall(SYS_umount2, dir, MNT_DETACH));
	report("umount2", r, ", \"target\": \"%s\", \"flags\": %d", dir, MNT_DETACH);
	r = ret_of(
	    syscall(SYS_mount, "vigil-none", "/vigil-no-such-dir", "tmpfs", MS_RDONLY, NULL));
	report("mount", r, ", \"target\": \"/vigil-no-such-dir\"");
	return 0;
}

static int do_memfd(const char *name)
{
	report("memfd_create",
	       ret_of(syscall(SYS_memfd_create, name, MFD_CLOEXEC | MFD_ALLOW_SEALING)),
	       ", \"name\": \"%s\", \"flags\": %d", name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	return 0;
}

static int do_chroot(const char *dir)
{
	report("chroot", ret_of(syscall(SYS_chroot, dir)), ", \"path\": \"%s\"", dir);
	report("chroot", ret_of(syscall(SYS_chroot, "/vigil-no-such-root")),
	       ", \"path\": \"/vigil-no-such-root\"");
	return 0;
}

static int do_kill(void)
{
	pid_t c = child_pause();

	report("kill_self", ret_of(syscall(SYS_kill, getpid(), 0)), ", \"target\": %d", getpid());
	report("kill", ret_of(syscall(SYS_kill, c, 0)), ", \"target\": %d, \"signal\": 0", c);
	report("tgkill", ret_of(syscall(SYS_tgkill, c, c, SIGCONT)),
	       ", \"target\": %d, \"tid\": %d, \"signal\": %d", c, c, SIGCONT);
	report("kill", ret_of(syscall(SYS_kill, c, SIGKILL)), ", \"target\": %d, \"signal\": %d", c,
	       SIGKILL);
	waitpid(c, NULL, 0);
	return 0;
}

static int do_bpf(void)
{
	union bpf_attr a;
	long r;

	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_ARRAY;
	a.key_size = 4;
	a.value_size = 8;
	a.max_entries = 1;
	strcpy(a.map_name, "vg_probe_map");
	r = ret_of(syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof(a)));
	report("bpf_map_create", r, ", \"map_type\": %d, \"name\": \"vg_probe_map\"",
	       BPF_MAP_TYPE_ARRAY);
	/* no instructions: the kernel refuses it before verifying anything */
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insn_cnt = 0;
	a.license = (uintptr_t) "GPL";
	strcpy(a.prog_name, "vg_probe_prog");
	r = ret_of(syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a)));
	report("bpf_prog_load", r, ", \"prog_type\": %d, \"name\": \"vg_probe_prog\"",
	       BPF_PROG_TYPE_SOCKET_FILTER);
	return 0;
}

static int do_module(const char *file)
{
	/* longer than an ELF header: the kernel reads it (and asks the LSMs) before it
	 * finds it is no module */
	static const char junk[128] = "this is not an ELF module";
	int fd = open(file, O_RDONLY);

	if (fd < 0)
		die(file);
	report("finit_module", ret_of(syscall(SYS_finit_module, fd, "vigil_param=1", 0)),
	       ", \"fd\": %d, \"params\": \"vigil_param=1\"", fd);
	report("init_module", ret_of(syscall(SYS_init_module, junk, sizeof(junk), "vigil_param=2")),
	       ", \"length\": %zu, \"params\": \"vigil_param=2\"", sizeof(junk));
	report("delete_module",
	       ret_of(syscall(SYS_delete_module, "vigil_no_such_module", O_NONBLOCK)),
	       ", \"name\": \"vigil_no_such_module\", \"flags\": %d", O_NONBLOCK);
	return 0;
}

int main(int argc, char **argv)
{
	const char *op = argc > 1 ? argv[1] : "";

	if (!strcmp(op, "setid"))
		return do_setid();
	if (!strcmp(op, "capset"))
		return do_capset();
	if (!strcmp(op, "ptrace"))
		return do_ptrace();
	if (!strcmp(op, "unshare"))
		return do_unshare();
	if (!strcmp(op, "setns"))
		return do_setns();
	if (!strcmp(op, "mount") && argc == 3)
		return do_mount(argv[2]);
	if (!strcmp(op, "memfd") && argc == 3)
		return do_memfd(argv[2]);
	if (!strcmp(op, "chroot") && argc == 3)
		return do_chroot(argv[2]);
	if (!strcmp(op, "kill"))
		return do_kill();
	if (!strcmp(op, "bpf"))
		return do_bpf();
	if (!strcmp(op, "module") && argc == 3)
		return do_module(argv[2]);
	fprintf(stderr, "usage: priv_probe setid|capset|ptrace|unshare|setns|kill|bpf\n"
			"       priv_probe mount|chroot DIR | memfd NAME | module FILE\n");
	return 2;
}
