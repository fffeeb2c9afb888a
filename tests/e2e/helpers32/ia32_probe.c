// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ia32_probe.c - a static 32-bit x86 program with no libc that makes every call
 * through the ia32 syscall ABI (int $0x80), as an attacker's tool dodging 64-bit
 * syscall monitors would. Built by the e2e tests with
 *   clang -m32 -nostdlib -static -ffreestanding -fno-pic -DPORT=N -DSRC='"DIR"'
 * and run as root. In order it reads /etc/shadow (open and openat), connects to
 * 127.0.0.1:PORT (socketcall and socket+connect), has a child call
 * PTRACE_TRACEME, attaches to another child and pokes its memory, has a child
 * unshare a user namespace, unshares a mount namespace and bind-mounts SRC over
 * the traced child's /proc/PID, tries bpf(BPF_PROG_LOAD) and init_module with
 * garbage, then becomes nobody and asks for root with the 16-bit setuid.
 * Built with -DEXIT_ONLY it only exits.
 */
#define NR_EXIT	       1
#define NR_FORK	       2
#define NR_OPEN	       5
#define NR_WAITPID     7
#define NR_SETUID16    23
#define NR_PTRACE      26
#define NR_PAUSE       29
#define NR_KILL	       37
#define NR_MOUNT       21
#define NR_SOCKETCALL  102
#define NR_INIT_MODULE 128
#define NR_SETUID32    213
#define NR_OPENAT      295
#define NR_UNSHARE     310
#define NR_BPF	       357
#define NR_SOCKET      359
#define NR_CONNECT     362

#define SYS_SOCKET_  1
#define SYS_CONNECT_ 3

#define PTRACE_TRACEME_	 0
#define PTRACE_POKEDATA_ 5
#define PTRACE_ATTACH_	 16

#define CLONE_NEWNS_   0x00020000
#define CLONE_NEWUSER_ 0x10000000
#define MS_BIND_       4096
#define MS_REC_	       16384
#define MS_PRIVATE_    (1 << 18)

#include "ia32.h"

static volatile long poked; /* the word written into the traced child */

static void child_exit(long code)
{
	sys(NR_EXIT, code, 0, 0, 0, 0);
}

static void connect_loopback(int via_socketcall)
{
	static const unsigned char sa[16] = {2, 0, (PORT >> 8) & 0xff, PORT & 0xff, 127, 0, 0, 1};
	long fd, args[3];

	if (via_socketcall) {
		args[0] = 2; /* AF_INET */
		args[1] = 1; /* SOCK_STREAM */
		args[2] = 0;
		fd = sys(NR_SOCKETCALL, SYS_SOCKET_, (long)args, 0, 0, 0);
		args[0] = fd;
		args[1] = (long)sa;
		args[2] = sizeof(sa);
		sys(NR_SOCKETCALL, SYS_CONNECT_, (long)args, 0, 0, 0);
	} else {
		fd = sys(NR_SOCKET, 2, 1, 0, 0, 0);
		sys(NR_CONNECT, fd, (long)sa, sizeof(sa), 0, 0);
	}
}

__attribute__((force_align_arg_pointer)) void _start(void)
{
	static const char shadow[] = "/etc/shadow";
	static char proc_dir[32] = "/proc/";
	static unsigned char attr[72] = {1}; /* prog_type SOCKET_FILTER, no instructions */
	static unsigned char image[16];	     /* no ELF module */
	long tracee, pid, status, n, i;

#ifdef EXIT_ONLY
	child_exit(0);
#endif
	sys(NR_OPEN, (long)shadow, 0, 0, 0, 0);
	sys(NR_OPENAT, -100, (long)shadow, 0, 0, 0);

	connect_loopback(1);
	connect_loopback(0);

	pid = sys(NR_FORK, 0, 0, 0, 0, 0);
	if (pid == 0) {
		sys(NR_PTRACE, PTRACE_TRACEME_, 0, 0, 0, 0);
		child_exit(0);
	}
	sys(NR_WAITPID, pid, (long)&status, 0, 0, 0);

	tracee = sys(NR_FORK, 0, 0, 0, 0, 0);
	if (tracee == 0) {
		for (;;)
			sys(NR_PAUSE, 0, 0, 0, 0, 0);
	}
	sys(NR_PTRACE, PTRACE_ATTACH_, tracee, 0, 0, 0);
	sys(NR_WAITPID, tracee, (long)&status, 0, 0, 0);
	sys(NR_PTRACE, PTRACE_POKEDATA_, tracee, (long)&poked, 0x41, 0);

	pid = sys(NR_FORK, 0, 0, 0, 0, 0);
	if (pid == 0) {
		sys(NR_UNSHARE, CLONE_NEWUSER_, 0, 0, 0, 0);
		child_exit(0);
	}
	sys(NR_WAITPID, pid, (long)&status, 0, 0, 0);

	/* in a private mount namespace of its own: nothing outside sees the mount */
	sys(NR_UNSHARE, CLONE_NEWNS_, 0, 0, 0, 0);
	sys(NR_MOUNT, 0, (long)"/", 0, MS_REC_ | MS_PRIVATE_, 0);
	n = 6;
	for (i = 1000000000; i > tracee; i /= 10)
		;
	for (; i > 0; i /= 10)
		proc_dir[n++] = '0' + (tracee / i) % 10;
	sys(NR_MOUNT, (long)SRC, (long)proc_dir, 0, MS_BIND_, 0);
	sys(NR_KILL, tracee, 9, 0, 0, 0);
	sys(NR_WAITPID, tracee, (long)&status, 0, 0, 0);

	sys(NR_BPF, 5 /* BPF_PROG_LOAD */, (long)attr, sizeof(attr), 0, 0);
	sys(NR_INIT_MODULE, (long)image, sizeof(image), (long)"", 0, 0);

	sys(NR_SETUID32, 65534, 0, 0, 0, 0);
	sys(NR_SETUID16, 0, 0, 0, 0, 0);
	child_exit(0);
}
